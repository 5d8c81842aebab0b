//! `entente verify FILE|- --key FINGERPRINT…`: the provenance of a bundle's
//! or envelope's objects, offline. Exit 0 when every object is verified by
//! a pinned key (and every document signature holds), 1 when one is not,
//! 2 on an error. A manifest or signature validly made by a key that is not
//! pinned vouches for nothing and is listed, but fails nothing: a bundle
//! relayed by another node carries that node's manifests too.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use provenance::{Assessed, PinnedKeys, ProvenanceState, VerificationError};

#[derive(clap::Args)]
pub struct Args {
    /// A STIX bundle, a TAXII envelope, a JSON array or JSON lines; `-` reads standard input.
    pub file: PathBuf,
    /// A signing key to trust (repeatable): only what it signed is verified.
    #[arg(long = "key", value_name = "FINGERPRINT", required = true)]
    pub keys: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut pinned = PinnedKeys::new();
    for k in &args.keys {
        pinned.insert(
            k.parse()
                .map_err(|e| anyhow::anyhow!("--key {k:?} is not a key fingerprint: {e}"))?,
        );
    }
    let bytes = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        buf
    } else {
        std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?
    };
    let envelope = stix::split_envelope(&bytes)
        .with_context(|| format!("{} is not STIX JSON", args.file.display()))?;
    if envelope.objects.is_empty() {
        bail!("{} holds no objects", args.file.display());
    }
    let raws: Vec<&str> = envelope.objects.iter().map(|o| o.get()).collect();
    let (mut verified, mut other) = (0usize, 0usize);
    for assessed in provenance::assess(&raws, &pinned) {
        match assessed {
            Assessed::Content {
                id,
                state,
                signatures,
            } => {
                let id = id.unwrap_or_else(|| "(no id)".into());
                match &state {
                    ProvenanceState::Verified {
                        origin,
                        origin_name,
                        ..
                    } => {
                        verified += 1;
                        println!("verified  {id}  by {origin_name} ({origin})");
                    }
                    ProvenanceState::Unsigned => {
                        other += 1;
                        println!("unsigned  {id}");
                    }
                    ProvenanceState::Invalid { why } => {
                        other += 1;
                        println!("INVALID   {id}  {why}");
                    }
                }
                for s in signatures {
                    match &s.result {
                        Ok(v) => println!(
                            "          signed by {} ({})",
                            v.signer_name.as_deref().unwrap_or("an unnamed signer"),
                            v.signer
                        ),
                        Err(VerificationError::NotPinned { key }) => {
                            println!("          also signed by {key}, not pinned");
                        }
                        Err(e) => {
                            other += 1;
                            println!("          a signature does not hold: {e}");
                        }
                    }
                }
            }
            Assessed::Manifest { id, verdict } => {
                let id = id.unwrap_or_else(|| "(no id)".into());
                match verdict {
                    Ok(m) => println!(
                        "manifest  {id}  signed by {} ({}), {} entries",
                        m.origin_name, m.origin, m.entries
                    ),
                    Err(VerificationError::NotPinned { key }) => {
                        println!(
                            "manifest  {id}  signed by {key}, not pinned: vouches for nothing"
                        );
                    }
                    Err(e) => {
                        other += 1;
                        println!("manifest  {id}  NOT ACCEPTED: {e}");
                    }
                }
            }
            Assessed::Signature { id, verdict } => {
                let id = id.unwrap_or_else(|| "(no id)".into());
                match verdict {
                    Ok(_) => {}
                    Err(VerificationError::NotPinned { key }) => {
                        println!(
                            "signature {id}  signed by {key}, not pinned: vouches for nothing"
                        );
                    }
                    Err(e) => {
                        other += 1;
                        println!("signature {id}  NOT ACCEPTED: {e}");
                    }
                }
            }
        }
    }
    eprintln!("{verified} verified, {other} not verified");
    Ok(if other == 0 && verified > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! `entente validate FILE...`: check STIX content offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Bundles, JSON arrays or JSON lines of STIX objects; `-` for standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let validator = stix::Validator::new()
        .with_pattern_check(std::sync::Arc::new(patterning::StixPatternCheck::default()));
    let mut invalid = 0usize;
    let mut valid = 0usize;
    for file in &args.files {
        let bytes = if file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
            buf
        } else {
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        };
        let envelope = stix::split_envelope(&bytes)
            .with_context(|| format!("{} is not STIX content", file.display()))?;
        for (index, raw) in envelope.objects.iter().enumerate() {
            match validator.validate(index, raw) {
                Ok(_) => valid += 1,
                Err(rejection) => {
                    invalid += 1;
                    println!("{}: {rejection}", file.display());
                }
            }
        }
    }
    println!("{valid} valid, {invalid} invalid");
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

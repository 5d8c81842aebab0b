//! `entente node keys`: this node's signing identity.

use std::path::Path;
use std::process::ExitCode;

use crate::site;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print this node's signing key fingerprint(s): the current one, then
    /// retired ones (still used to verify what they signed). Peers pin the
    /// current one with `entente peer add … --key FINGERPRINT`.
    Keys {
        /// Make a new current key first; the old public key is kept for
        /// verification and its private key deleted. Peers must pin the new one.
        #[arg(long)]
        rotate: bool,
    },
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Keys { rotate } => {
            if !site::database_path(dir).exists() {
                anyhow::bail!(
                    "no Entente node in {}; create one with: entente --data {} init",
                    dir.display(),
                    dir.display()
                );
            }
            let mut ring = site::signing_keys(dir)?;
            if rotate {
                let fp = ring.rotate()?.fingerprint.to_string();
                eprintln!(
                    "new current key {fp}; peers must pin it (entente peer keys NAME --key {fp} --key OLD, keeping the old key for what it signed)"
                );
            }
            let current = ring.current_info().fingerprint;
            // The current key first (what `node keys | head -1` pins), then
            // the retired ones, the most recently retired first.
            let mut keys: Vec<_> = ring.keys().iter().collect();
            keys.sort_by_key(|k| (k.fingerprint != current, std::cmp::Reverse(k.retired)));
            for k in keys {
                let state = if k.fingerprint == current {
                    "current".to_string()
                } else {
                    match &k.retired {
                        Some(at) => format!("retired {at}"),
                        None => "retired".to_string(),
                    }
                };
                println!("{}  {state}  created {}", k.fingerprint, k.created);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

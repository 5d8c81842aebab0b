//! `entente`: run a node, import and export STIX, scan with shared indicators,
//! and assess incidents against reporting regimes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

#[derive(Parser)]
#[command(name = "entente", version, about = "Threat-intelligence and incident sharing hub (STIX 2.1 over TAXII 2.1)")]
struct Cli {
    /// The node's data directory (database, configuration).
    #[arg(long, global = true, env = "ENTENTE_DATA", default_value = "./entente-data")]
    data: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check STIX objects without a node: exit 0 when all are valid, 1 otherwise.
    Validate(commands::validate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

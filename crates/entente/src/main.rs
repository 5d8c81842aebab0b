//! `entente`: run a node, import and export STIX, scan with shared indicators,
//! and assess incidents against reporting regimes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod config;
mod site;

#[derive(Parser)]
#[command(
    name = "entente",
    version,
    about = "Threat-intelligence and incident sharing hub (STIX 2.1 over TAXII 2.1)"
)]
struct Cli {
    /// The node's data directory (database, configuration).
    #[arg(
        long,
        global = true,
        env = "ENTENTE_DATA",
        default_value = "./entente-data"
    )]
    data: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node in the data directory; prints the admin token once.
    Init(commands::init::Args),
    /// Manage collections.
    #[command(subcommand)]
    Collection(commands::collection::Command),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::token::Command),
    /// Manage organisations.
    #[command(subcommand)]
    Org(commands::org::OrgCommand),
    /// Manage users of organisations.
    #[command(subcommand)]
    User(commands::org::UserCommand),
    /// Manage communities of organisations.
    #[command(subcommand)]
    Community(commands::community::Command),
    /// Verify and read the audit log.
    #[command(subcommand)]
    Audit(commands::audit::Command),
    /// Run the TAXII 2.1 server.
    Serve(commands::serve::Args),
    /// Import STIX objects into a collection.
    Import(commands::import::Args),
    /// Assess an incident against reporting regimes, write notifications, export STIX (no node
    /// needed); record, track and share incidents on the node.
    #[command(subcommand)]
    Incident(commands::incident::Command),
    /// Export a collection as a STIX bundle.
    Export(commands::export::Args),
    /// Check STIX objects without a node: exit 0 when all are valid, 1 otherwise.
    Validate(commands::validate::Args),
    /// Check STIX patterns and evaluate them against observed data.
    Pattern(commands::pattern::Args),
    /// This node's signing identity.
    #[command(subcommand)]
    Node(commands::node::Command),
    /// Federation: peers, and pulls and pushes of collections over TAXII 2.1.
    #[command(subcommand)]
    Peer(commands::peer::Command),
    /// Check the signed provenance of a bundle's objects offline: exit 0 when all are verified.
    Verify(commands::verify::Args),
    /// Scan logs and observed data with shared indicators: exit 0 when nothing matched, 1 when something did, 2 on error.
    Scan(commands::scan::Args),
}

/// Logs to standard error; `RUST_LOG` filters (default `info`). Client IP
/// addresses are never logged.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data = cli.data.as_path();
    let result = match cli.command {
        Command::Init(args) => commands::init::run(data, args),
        Command::Collection(command) => commands::collection::run(data, command),
        Command::Token(command) => commands::token::run(data, command),
        Command::Org(command) => commands::org::run_org(data, command),
        Command::User(command) => commands::org::run_user(data, command),
        Command::Community(command) => commands::community::run(data, command),
        Command::Audit(command) => commands::audit::run(data, command),
        Command::Serve(args) => {
            init_logging();
            commands::serve::run(data, args)
        }
        Command::Import(args) => commands::import::run(data, args),
        Command::Incident(command) => commands::incident::run(data, command),
        Command::Export(args) => commands::export::run(data, args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Pattern(args) => commands::pattern::run(args),
        Command::Scan(args) => commands::scan::run(data, args),
        Command::Node(command) => commands::node::run(data, command),
        Command::Peer(command) => {
            init_logging();
            commands::peer::run(data, command)
        }
        Command::Verify(args) => commands::verify::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! `entente`: run a node, import and export STIX, scan with shared indicators,
//! and assess incidents against reporting regimes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod config;
mod logging;
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
    /// How fresh shared indicators are: `stale` lists those to review or
    /// revoke by their decay score; `model` prints the decay model.
    #[command(subcommand)]
    Indicators(commands::indicators::Command),
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

/// The status of a command whose standard output was closed by its reader
/// (`entente … | head`): that of a process ended by SIGPIPE, as shells
/// report it.
const CLOSED_STDOUT: u8 = 128 + 13;

/// Whether a panic is `println!` finding standard output closed. Rust
/// ignores SIGPIPE (the server's sockets need that), so a reader that has
/// gone shows up as this panic.
fn is_closed_stdout(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe"))
}

/// A command whose reader has gone ends quietly with [`CLOSED_STDOUT`]:
/// the panic prints nothing and unwinds, so that what the command holds is
/// dropped in order (the audit queue writes its entries) before it exits.
fn quiet_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_stdout(info.payload_as_str()) {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_when_stdout_closes();
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if is_closed_stdout(message) {
                ExitCode::from(CLOSED_STDOUT)
            } else {
                // The hook has printed it.
                ExitCode::from(101)
            }
        }
    }
}

fn run() -> ExitCode {
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
        // It sets up its logging once it knows the format.
        Command::Serve(args) => commands::serve::run(data, args),
        Command::Import(args) => commands::import::run(data, args),
        Command::Incident(command) => commands::incident::run(data, command),
        Command::Export(args) => commands::export::run(data, args),
        Command::Indicators(command) => commands::indicators::run(data, command),
        Command::Validate(args) => commands::validate::run(args),
        Command::Pattern(args) => commands::pattern::run(args),
        Command::Scan(args) => commands::scan::run(data, args),
        Command::Node(command) => commands::node::run(data, command),
        Command::Peer(command) => {
            // The configured format; a node that cannot be read is
            // reported by the command itself.
            let format = config::Config::load(data)
                .map(|c| c.log.format)
                .unwrap_or_default();
            logging::init(format);
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

#[cfg(test)]
mod tests {
    use super::is_closed_stdout;

    #[test]
    fn only_a_closed_stdout_is_quiet() {
        assert!(is_closed_stdout(Some(
            "failed printing to stdout: Broken pipe (os error 32)"
        )));
        assert!(!is_closed_stdout(Some(
            "failed printing to stdout: No space left on device (os error 28)"
        )));
        assert!(!is_closed_stdout(Some("index out of bounds")));
        assert!(!is_closed_stdout(None));
    }
}

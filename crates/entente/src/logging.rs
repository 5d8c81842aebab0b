//! Logging of the long-running commands (`serve`, `peer`) to standard
//! error, as text (coloured only on a terminal) or as JSON lines;
//! `RUST_LOG` filters (default `info`).
//!
//! What is logged never holds a token, a password, a client's address or
//! an object's content: events carry fixed messages and a few fields
//! (a route template, a status, a peer's name, an error's text). The HTTP
//! client's own logs (which dump request headers, a peer's token among
//! them, and bodies at `trace`) stay at `info` or above whatever
//! `RUST_LOG` says.

use crate::config::LogFormat;

/// Installs the process's log subscriber (once; later calls do nothing).
pub fn init(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for quiet in ["ureq=info", "ureq_proto=info"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    // Colours only on a terminal: journald, files and CI logs get plain
    // text (and JSON lines never carry escape codes).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // One object per line: timestamp, level, target, message and the
        // event's fields at the top level, for log shippers.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// Tells the operator something about the node as a whole (where it
/// listens, that it stopped): a plain line on standard error for text
/// logs, an event like any other for JSON logs, so that every line there
/// is JSON.
pub fn notice(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => eprintln!("{message}"),
        LogFormat::Json => tracing::info!(target: "entente", "{message}"),
    }
}

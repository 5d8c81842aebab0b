//! `entente serve`: run the TAXII 2.1 server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use entente_http::{AppState, ServeOptions, TlsFiles};

use crate::commands::demo;
use crate::site::{self, Site};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (default 127.0.0.1:9000, or the configuration's).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Load the demo dataset (creating the node if needed) and print a token to explore it.
    #[arg(long)]
    pub demo: bool,
    /// PEM certificate chain: serve HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS proxy only).
    #[arg(long)]
    pub allow_plain_http: bool,
}

pub fn run(dir: &Path, args: Args) -> anyhow::Result<ExitCode> {
    if args.demo {
        // Where the curl examples should point (the configured address
        // when --listen is not given).
        let listen = match args.listen {
            Some(a) => a,
            None if site::database_path(dir).exists() => Site::open(dir)?.config.server.listen,
            None => crate::config::Config::default().server.listen,
        };
        demo::prepare(dir, listen)?;
    }
    let mut node = Site::open(dir)?;
    if let Some(listen) = args.listen {
        node.config.server.listen = listen;
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        node.config.server.tls_cert = Some(cert);
        node.config.server.tls_key = Some(key);
    }
    node.config.server.allow_plain_http |= args.allow_plain_http;
    let server = &node.config.server;
    let tls = match (&server.tls_cert, &server.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let options = ServeOptions {
        listen: server.listen,
        tls: tls.clone(),
        allow_plain_http: server.allow_plain_http,
    };
    entente_http::serve::check(&options)?;
    // What was posted while no server ran (imports, the demo) is signed now;
    // what is posted from here on, within moments of being stored.
    node.node.sign_pending()?;
    node.node.start_signing()?;
    let peers = federation::Runner::start(
        node.node.clone(),
        dir.to_path_buf(),
        std::time::Duration::from_secs(node.config.federation.interval_seconds),
    )?;
    if peers.peers() > 0 {
        eprintln!("Running the pulls and pushes of {} peer(s).", peers.peers());
    }
    let state = AppState::new(node.node.clone(), node.config.http_config(), tls.is_some());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    runtime.block_on(entente_http::serve(
        state,
        options,
        node.config.connection_limits(),
        |addr| {
            eprintln!("Entente node serving TAXII 2.1 at {scheme}://{addr}/taxii2/");
            eprintln!("Web console at {scheme}://{addr}/");
        },
        shutdown_signal(),
    ))?;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

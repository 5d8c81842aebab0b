//! `entente serve`: run the TAXII 2.1 server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use entente_http::{AppState, MetricsListener, ServeOptions, TlsFiles};
use entente_metrics::Metrics;

use crate::commands::demo;
use crate::config::{Config, LogFormat};
use crate::logging::{self, notice};
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
    /// Serve Prometheus metrics at GET /metrics on this separate address
    /// (plain HTTP, no authentication; loopback unless [metrics]
    /// allow_non_loopback = true). Default: the configuration's.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Log as text or as JSON lines (default: the configuration's [log] format).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

pub fn run(dir: &Path, args: Args) -> anyhow::Result<ExitCode> {
    // A configuration that cannot be read is reported by Site::open below.
    let format = match args.log_format {
        Some(f) => f,
        None => Config::load(dir).map(|c| c.log.format).unwrap_or_default(),
    };
    if args.demo && format == LogFormat::Json {
        bail!(
            "--demo prints API tokens for people to read, and JSON logs must never carry a token: run the demo with --log-format text"
        );
    }
    logging::init(format);
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
    if let Some(listen) = args.metrics_listen {
        node.config.metrics.listen = Some(listen);
    }
    let metrics_config = node.config.metrics.clone();
    let metrics = metrics_config
        .enabled()
        .then(|| Arc::new(Metrics::new(env!("CARGO_PKG_VERSION"))));
    if let Some(m) = &metrics {
        // Before anything clones the node: every clone records.
        node.node = node.node.clone().with_metrics(m.clone());
    }
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
    let metrics_listener = match (&metrics, metrics_config.listen) {
        (Some(m), Some(listen)) => {
            let listener = MetricsListener::bind(listen, metrics_config.allow_non_loopback)?;
            let addr = listener.local_addr()?;
            Some((listener, m.clone(), addr))
        }
        _ => None,
    };
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
        notice(
            format,
            &format!("Running the pulls and pushes of {} peer(s).", peers.peers()),
        );
    }
    let mut state = AppState::new(node.node.clone(), node.config.http_config(), tls.is_some());
    if let Some(m) = &metrics {
        let monitor = peers.monitor();
        m.add_collector(move |scrape| match monitor.report(node::now()) {
            Ok(states) => {
                for s in states {
                    scrape.peer(entente_metrics::PeerSync {
                        peer: s.peer,
                        direction: s.direction.as_str(),
                        jobs: s.jobs,
                        failing_jobs: s.failing_jobs,
                        lag_seconds: Some(s.lag.as_secs_f64()),
                        pending: s.pending,
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the peers' sync state for the metrics")
            }
        });
        state = state.with_metrics(m.clone(), metrics_config.on_main_listener);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let limits = node.config.connection_limits();
    runtime.block_on(async move {
        // One signal stops both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Some((listener, m, addr)) = metrics_listener {
            notice(format, &format!("Metrics at http://{addr}/metrics"));
            let stopping = until_stopped(stopped.clone());
            tokio::spawn(async move {
                if let Err(e) = entente_http::serve_metrics(listener, m, stopping).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        entente_http::serve(
            state,
            options,
            limits,
            |addr| {
                notice(
                    format,
                    &format!("Entente node serving TAXII 2.1 at {scheme}://{addr}/taxii2/"),
                );
                // The address is told once (metrics test: logs name no
                // address but the listener's, once).
                notice(format, "Web console at / on the same address");
            },
            until_stopped(stopped),
        )
        .await
    })?;
    notice(format, "stopped");
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

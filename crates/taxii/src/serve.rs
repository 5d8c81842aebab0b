//! Serving the API: HTTPS with rustls when a certificate is configured, plain
//! HTTP otherwise, but only on loopback unless explicitly allowed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::{AppState, router};

/// Certificate chain and private key, PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    /// Permit plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub allow_plain_http: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve plain HTTP on {0}: TAXII content must travel over TLS. Configure tls_cert and tls_key, listen on 127.0.0.1, or set allow_plain_http = true if a TLS proxy fronts this node"
    )]
    PlainHttpOffLoopback(SocketAddr),
    #[error("cannot load the TLS certificate or key ({cert}, {key}): {source}")]
    Tls {
        cert: String,
        key: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks the options before anything is bound.
pub fn check(options: &ServeOptions) -> Result<(), ServeError> {
    if options.tls.is_none() && !options.listen.ip().is_loopback() && !options.allow_plain_http {
        return Err(ServeError::PlainHttpOffLoopback(options.listen));
    }
    Ok(())
}

/// Serves until `shutdown` completes. `ready` receives the bound address.
pub async fn serve(
    state: AppState,
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check(&options)?;
    spawn_status_purge(state.clone());
    let app = router(state);
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let listener =
        std::net::TcpListener::bind(options.listen).map_err(|source| ServeError::Bind {
            addr: options.listen,
            source,
        })?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    ready(addr);
    let service = app.into_make_service();
    match options.tls {
        Some(files) => {
            let config =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                    .await
                    .map_err(|source| ServeError::Tls {
                        cert: files.cert.display().to_string(),
                        key: files.key.display().to_string(),
                        source,
                    })?;
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(service)
                .await?;
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(service)
                .await?;
        }
    }
    Ok(())
}

/// Drops status resources past their retention, hourly.
fn spawn_status_purge(state: AppState) {
    let retention = state
        .config()
        .status_retention
        .max(Duration::from_secs(24 * 3600));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let cutoff = crate::handlers::now().as_micros() - retention.as_micros() as i64;
            let result = state
                .blocking(move |s| {
                    Ok(s.store()
                        .purge_statuses(stix::Timestamp::from_micros(cutoff))?)
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = ?e.description, "status purge failed");
            }
        }
    });
}

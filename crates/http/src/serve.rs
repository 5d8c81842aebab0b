//! Serving the API: HTTPS with rustls when a certificate is configured, plain
//! HTTP otherwise, but only on loopback unless explicitly allowed.
//!
//! Connections are bounded in number and in idle time, so that clients that
//! open sockets and then send nothing, or headers or bodies a byte at a time,
//! cannot exhaust the file descriptors and memory of the node.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use entente_metrics::Metrics;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// Bounds on what one client can hold on to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; further ones are closed as soon as they
    /// are accepted. Kept well below the usual 1,024 open files per process.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, from the moment the
    /// connection is open or idle (keep-alive) until the headers are complete.
    pub header_timeout: Duration,
    /// Longest pause while a request body arrives (408 after it).
    pub body_idle_timeout: Duration,
    /// Longest time an answer may wait for the client to read it before the
    /// connection is dropped.
    pub write_stall_timeout: Duration,
    /// POST bodies read and ingested at once; further writers wait before
    /// their body is read. Each costs up to `max_content_length` and a few
    /// times that while parsed, and the store has one writer anyway.
    pub concurrent_writes: usize,
    /// Of those, how many one API token may hold, so that one writer that
    /// sends slowly cannot keep every other writer waiting.
    pub writes_per_token: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            write_stall_timeout: Duration::from_secs(60),
            concurrent_writes: std::thread::available_parallelism()
                .map_or(8, |n| (2 * n.get()).max(8)),
            writes_per_token: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve plain HTTP on {0}: TAXII content must travel over TLS. Configure tls_cert and tls_key, listen on 127.0.0.1, or set allow_plain_http = true if a TLS proxy fronts this node"
    )]
    PlainHttpOffLoopback(SocketAddr),
    #[error(
        "refusing to serve metrics on {0}: the metrics listener has no authentication, so anyone who reaches it could read them. Listen on 127.0.0.1, or set allow_non_loopback = true in [metrics] if a firewall admits only your scrapers"
    )]
    MetricsOffLoopback(SocketAddr),
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

/// Serves until `shutdown` completes, within `limits`. `ready` receives the
/// bound address.
pub async fn serve(
    state: AppState,
    options: ServeOptions,
    limits: ConnectionLimits,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check(&options)?;
    spawn_status_purge(state.clone());
    let idle = limits.body_idle_timeout;
    let writes = WritePermits {
        all: Arc::new(Semaphore::new(limits.concurrent_writes.max(1))),
        per_token: Arc::default(),
        per_token_limit: limits.writes_per_token.max(1),
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    if let Some(metrics) = state.metrics() {
        let (permits, max) = (permits.clone(), limits.max_connections.max(1));
        metrics.add_collector(move |scrape| {
            let open = max.saturating_sub(permits.available_permits());
            scrape.connections(open as u64, max as u64);
        });
    }
    let app = router(state)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                next.run(request.map(|body| axum::body::Body::new(PausingBody::new(body, idle))))
            },
        ))
        .layer(axum::Extension(writes));
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
            // HTTP/1.1 only: hyper bounds how long an HTTP/1 connection
            // may sit idle, but an HTTP/2 connection could stay open for
            // ever and hold one of the bounded connection slots.
            let mut tls = (*config.get_inner()).clone();
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls));
            let mut server = axum_server::from_tcp_rustls(listener, config)?
                .map(|tls| Bounded {
                    inner: tls,
                    permits,
                    write_stall: limits.write_stall_timeout,
                })
                .handle(handle)
                .first_request_timeout(limits.header_timeout)
                .http1_only();
            server
                .http_builder()
                .http1()
                .header_read_timeout(limits.header_timeout);
            server.serve(service).await?;
        }
        None => {
            let mut server = axum_server::from_tcp(listener)?
                .map(|plain| Bounded {
                    inner: plain,
                    permits,
                    write_stall: limits.write_stall_timeout,
                })
                .handle(handle)
                .first_request_timeout(limits.header_timeout)
                .http1_only();
            server
                .http_builder()
                .http1()
                .header_read_timeout(limits.header_timeout);
            server.serve(service).await?;
        }
    }
    Ok(())
}

/// Connections the metrics listener serves at once (scrapers are few).
const METRICS_CONNECTIONS: usize = 16;
/// How long a scraper has to send its request, and to read the answer.
const METRICS_TIMEOUT: Duration = Duration::from_secs(10);

/// The metrics listener, bound: plain HTTP, no authentication, `GET
/// /metrics` only.
pub struct MetricsListener {
    listener: std::net::TcpListener,
}

impl MetricsListener {
    /// Binds `listen`; an address off loopback only if `allow_non_loopback`,
    /// since anyone who reaches the listener reads the metrics.
    pub fn bind(listen: SocketAddr, allow_non_loopback: bool) -> Result<Self, ServeError> {
        if !listen.ip().is_loopback() && !allow_non_loopback {
            return Err(ServeError::MetricsOffLoopback(listen));
        }
        let listener = std::net::TcpListener::bind(listen).map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;
        listener.set_nonblocking(true)?;
        Ok(MetricsListener { listener })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Serves `metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: MetricsListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let render = move || {
        let metrics = metrics.clone();
        async move {
            match tokio::task::spawn_blocking(move || metrics.render()).await {
                Ok(text) => crate::metrics::exposition(text),
                Err(e) => axum::response::IntoResponse::into_response(crate::ApiError::internal(
                    format!("rendering the metrics failed: {e}"),
                )),
            }
        }
    };
    let app = axum::Router::new()
        .route(crate::metrics::PATH, axum::routing::get(render))
        .fallback(crate::metrics::elsewhere)
        .layer(axum::middleware::from_fn(crate::error::error_resources));
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(2)));
    });
    let permits = Arc::new(Semaphore::new(METRICS_CONNECTIONS));
    let mut server = axum_server::from_tcp(listener.listener)?
        .map(|plain| Bounded {
            inner: plain,
            permits,
            write_stall: METRICS_TIMEOUT,
        })
        .handle(handle)
        .first_request_timeout(METRICS_TIMEOUT)
        .http1_only();
    server
        .http_builder()
        .http1()
        .header_read_timeout(METRICS_TIMEOUT);
    server.serve(app.into_make_service()).await?;
    Ok(())
}

/// The slots for reading and ingesting POST bodies, see
/// [`ConnectionLimits::concurrent_writes`].
#[derive(Clone)]
pub(crate) struct WritePermits {
    all: Arc<Semaphore>,
    per_token: Arc<std::sync::Mutex<std::collections::HashMap<Option<i64>, Arc<Semaphore>>>>,
    per_token_limit: usize,
}

impl WritePermits {
    /// Waits for a slot of `token` and one of the node; the write may go on
    /// while both permits live.
    pub(crate) async fn acquire(
        &self,
        token: Option<i64>,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), tokio::sync::AcquireError> {
        let own = {
            let mut slots = self.per_token.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry(token)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_token_limit)))
                .clone()
        };
        let own = own.acquire_owned().await?;
        let shared = self.all.clone().acquire_owned().await?;
        Ok((own, shared))
    }
}

/// An acceptor that admits a connection only while fewer than
/// `max_connections` are open; the permit travels with the stream and is
/// returned when the connection closes.
#[derive(Clone)]
struct Bounded<A> {
    inner: A,
    permits: Arc<Semaphore>,
    write_stall: Duration,
}

type AcceptFuture<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

impl<A, I, S> axum_server::accept::Accept<I, S> for Bounded<A>
where
    A: axum_server::accept::Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Permitted<A::Stream>;
    type Service = A::Service;
    type Future = AcceptFuture<(Self::Stream, Self::Service)>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            // Dropping the stream closes it: the client may retry later.
            drop(stream);
            return Box::pin(std::future::ready(Err(io::Error::other(
                "connection limit reached",
            ))));
        };
        let accepted = self.inner.accept(stream, service);
        let write_stall = self.write_stall;
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((
                Permitted {
                    stream,
                    _permit: permit,
                    write_stall,
                    stalled: None,
                },
                service,
            ))
        })
    }
}

/// A connection holding one of the [`Bounded`] permits. A write that cannot
/// proceed for `write_stall` (the client stopped reading) fails, which
/// closes the connection.
struct Permitted<S> {
    stream: S,
    _permit: OwnedSemaphorePermit,
    write_stall: Duration,
    /// Since when writes are blocked, as the deadline to give up.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Permitted<S> {
    /// Tracks whether a write made progress; `Pending` past the deadline
    /// becomes an error.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.write_stall;
        let deadline = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the answer",
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Permitted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Permitted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A request body that fails with [`BodyStalled`] when no data arrives for
/// `idle` while a handler waits for it.
struct PausingBody {
    inner: axum::body::Body,
    idle: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl PausingBody {
    fn new(inner: axum::body::Body, idle: Duration) -> Self {
        PausingBody {
            inner,
            idle,
            deadline: None,
        }
    }
}

/// The client paused sending a request body for longer than allowed.
#[derive(Debug, thiserror::Error)]
#[error("the request body stopped arriving for {} s", .0.as_secs_f64())]
pub struct BodyStalled(pub Duration);

impl http_body::Body for PausingBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.deadline = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(Box::new(BodyStalled(idle)))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Drops status resources past their retention, and console sessions
/// past their limits, hourly.
fn spawn_status_purge(state: AppState) {
    let retention = state
        .config()
        .status_retention
        .max(Duration::from_secs(24 * 3600));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let cutoff = node::now().as_micros() - retention.as_micros() as i64;
            let result = state
                .blocking(move |s| {
                    Ok(s.node()
                        .purge_statuses(stix::Timestamp::from_micros(cutoff))?)
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = ?e.description, "status purge failed");
            }
            let limits = state.config().console.sessions;
            let ended = state
                .blocking(move |s| Ok(s.node().purge_sessions(node::now(), limits)?))
                .await;
            if let Err(e) = ended {
                tracing::warn!(error = ?e.description, "console session purge failed");
            }
        }
    });
}

//! The HTTP surface of an Entente node (axum), one router per audience:
//!
//! - [`taxii`]: TAXII 2.1 (negotiated media types, 406/415/413), for any
//!   TAXII client;
//! - [`api`]: Entente's own JSON API under `/entente/v1/` (communities,
//!   incidents) and its OpenAPI 3.1 document;
//! - [`console`]: the web console (HTML) at `/` and under `/console/`, with
//!   its own session sign-in.
//!
//! Handlers are thin: extract, call one `node` use case on a blocking
//! thread, shape the answer. Authentication ([`auth`]), request body limits
//! and the shape of every error are layers around the routers, so no
//! handler can forget them. This crate never talks to the store and never
//! decides who may see or change what: `node` and `sharing` do.

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod metrics;
mod response;
pub mod serve;
pub mod taxii;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use entente_metrics::Metrics;
use node::Node;

pub use error::ApiError;
pub use serve::{ConnectionLimits, MetricsListener, ServeOptions, TlsFiles, serve, serve_metrics};

/// Settings of the HTTP service.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub title: String,
    pub description: Option<String>,
    pub contact: Option<String>,
    /// Page size when the client gives no `limit`.
    pub default_page_size: usize,
    /// Largest page served, whatever `limit` asks for.
    pub max_page_size: usize,
    /// How long status resources are kept (at least 24 hours).
    pub status_retention: Duration,
    /// Base URL clients reach this server at (e.g. `https://cti.example.org`),
    /// used for the API root URLs of the discovery resource. When unset, the
    /// request's `Host` header and the listener's scheme are used.
    pub public_url: Option<String>,
    /// Sessions and uploads of the web console.
    pub console: console::ConsoleConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            title: "Entente node".into(),
            description: None,
            contact: None,
            default_page_size: 1000,
            max_page_size: 10_000,
            status_retention: Duration::from_secs(7 * 24 * 3600),
            public_url: None,
            console: console::ConsoleConfig::default(),
        }
    }
}

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    /// Where request metrics are recorded, if anywhere.
    metrics: Option<Arc<Metrics>>,
    /// Whether node administrators may read them at `GET /metrics` here.
    metrics_on_main_listener: bool,
}

struct Inner {
    node: Node,
    config: HttpConfig,
    /// Whether the listener speaks TLS (for self-referencing URLs).
    tls: bool,
    /// Last time each token's `last_used` was written, to write it at most once a minute.
    token_touched: Mutex<HashMap<i64, Instant>>,
}

impl AppState {
    pub fn new(node: Node, config: HttpConfig, tls: bool) -> Self {
        AppState {
            inner: Arc::new(Inner {
                node,
                config,
                tls,
                token_touched: Mutex::new(HashMap::new()),
            }),
            metrics: None,
            metrics_on_main_listener: false,
        }
    }

    /// Records request metrics into `metrics`; with `on_main_listener`,
    /// node administrators' tokens may also read them at `GET /metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>, on_main_listener: bool) -> Self {
        self.metrics = Some(metrics);
        self.metrics_on_main_listener = on_main_listener;
        self
    }

    pub fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.metrics.as_ref()
    }

    pub(crate) fn metrics_on_main_listener(&self) -> bool {
        self.metrics_on_main_listener
    }

    pub fn node(&self) -> &Node {
        &self.inner.node
    }

    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Runs a blocking use case off the async executor.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| ApiError::internal(format!("request task failed: {e}")))?
    }
}

/// Every route of the node: the web console (session sign-in), then the
/// TAXII 2.1 API and Entente's own JSON API (token authentication).
pub fn router(state: AppState) -> Router {
    let console = console::routes(state.clone()).with_state(state.clone());
    let routes = Router::new()
        .merge(taxii::routes(state.clone()))
        .merge(api::routes())
        .fallback(taxii::not_found)
        // Inside authentication: it needs the caller.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::endpoint,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Outside it: the status counted is the one the client gets (an
        // anonymous caller's 404 becomes 401 there). A layer of the router
        // runs after routing, so the matched route template is known.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .with_state(state);
    // Around the whole router, not each route: the 405 answers (and their
    // Allow header) are made outside the routes' own layers.
    let machines = Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(error::error_resources));
    // The console's paths first; anything else is TAXII's or the API's.
    console.fallback_service(machines)
}

/// Registers `path` with and without its trailing slash.
fn both(
    mut app: Router<AppState>,
    routes: Vec<(&str, axum::routing::MethodRouter<AppState>)>,
) -> Router<AppState> {
    for (path, route) in routes {
        app = app
            .route(path.trim_end_matches('/'), route.clone())
            .route(path, route);
    }
    app
}

//! The TAXII 2.1 HTTP API of an Entente node.
//!
//! Handlers are thin: extract, authorise through the principal, make one
//! store call on a blocking thread, shape the answer. Media-type negotiation
//! and authentication are middleware, so no handler can forget them.

pub mod cursor;
pub mod error;
pub mod filters;
mod handlers;
pub mod media;
mod middleware;
pub mod serve;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use node::Node;
use store::Store;

pub use error::ApiError;
pub use serve::{ConnectionLimits, ServeOptions, TlsFiles, serve, serve_with_limits};

/// Settings of the TAXII service.
#[derive(Clone, Debug)]
pub struct TaxiiConfig {
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
}

impl Default for TaxiiConfig {
    fn default() -> Self {
        TaxiiConfig {
            title: "Entente node".into(),
            description: None,
            contact: None,
            default_page_size: 1000,
            max_page_size: 10_000,
            status_retention: Duration::from_secs(7 * 24 * 3600),
            public_url: None,
        }
    }
}

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    node: Node,
    config: TaxiiConfig,
    /// Whether the listener speaks TLS (for self-referencing URLs).
    tls: bool,
    /// Last time each token's `last_used` was written, to write it at most once a minute.
    token_touched: Mutex<HashMap<i64, Instant>>,
}

impl AppState {
    pub fn new(node: Node, config: TaxiiConfig, tls: bool) -> Self {
        AppState {
            inner: Arc::new(Inner {
                node,
                config,
                tls,
                token_touched: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.inner.node.store()
    }

    pub fn node(&self) -> &Node {
        &self.inner.node
    }

    pub fn config(&self) -> &TaxiiConfig {
        &self.inner.config
    }

    /// Runs a blocking store call off the async executor.
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

/// Every route of the node: the TAXII 2.1 API (media-type negotiated) and
/// Entente's own JSON API under `/entente/v1/`, both authenticated.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(taxii_routes())
        .merge(api_routes())
        .fallback(handlers::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .with_state(state);
    // Around the whole router, not each route: the 405 answers (and their
    // Allow header) are made outside the routes' own layers.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(middleware::error_resources))
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

/// The TAXII 2.1 routes.
fn taxii_routes() -> Router<AppState> {
    use handlers::{discovery, objects};
    both(
        Router::new(),
        vec![
            ("/taxii2/", get(discovery::discovery)),
            ("/{root}/", get(discovery::api_root)),
            ("/{root}/status/{status_id}/", get(discovery::status)),
            ("/{root}/collections/", get(discovery::collections)),
            (
                "/{root}/collections/{collection}/",
                get(discovery::collection),
            ),
            (
                "/{root}/collections/{collection}/manifest/",
                get(objects::manifest),
            ),
            (
                "/{root}/collections/{collection}/objects/",
                get(objects::get_objects).post(objects::add_objects),
            ),
            (
                "/{root}/collections/{collection}/objects/{object}/",
                get(objects::get_object).delete(objects::delete_object),
            ),
            (
                "/{root}/collections/{collection}/objects/{object}/versions/",
                get(objects::versions),
            ),
        ],
    )
    .route_layer(axum::middleware::from_fn(middleware::negotiate))
}

/// Entente's own JSON API (not TAXII): plain `application/json`.
fn api_routes() -> Router<AppState> {
    use handlers::{api, incidents};
    both(
        Router::new(),
        vec![
            ("/entente/v1/communities/", get(api::communities)),
            (
                "/entente/v1/incidents/",
                get(incidents::list).post(incidents::create),
            ),
            (
                "/entente/v1/incidents/{id}/",
                get(incidents::show).put(incidents::update),
            ),
            (
                "/entente/v1/incidents/{id}/versions/",
                get(incidents::versions),
            ),
            (
                "/entente/v1/incidents/{id}/submissions/",
                post(incidents::submit),
            ),
            ("/entente/v1/incidents/{id}/share/", post(incidents::share)),
        ],
    )
}

//! Entente's own JSON API under `/entente/v1/` (not TAXII; plain
//! `application/json`): the communities a member belongs to, incidents,
//! the provenance and freshness of shared objects,
//! and the OpenAPI 3.1 document that describes it all
//! (`/entente/v1/openapi.json`, kept true by a schemathesis test).
//!
//! Request bodies are bounded by [`MAX_BODY`] in one layer around these
//! routes; callers must be signed in ([`crate::auth::SignedIn`]) except for
//! the OpenAPI document.

mod communities;
mod incidents;
mod indicators;
mod openapi;
mod provenance;

use axum::Router;
use axum::routing::{MethodRouter, get, post, put};

use crate::AppState;

pub use openapi::DOCUMENT as OPENAPI_DOCUMENT;

/// Largest request body of the Entente API: an incident record is a few kilobytes.
pub const MAX_BODY: usize = 1 << 20;

/// The media type of every request and answer body.
pub(crate) const JSON: &str = "application/json";

/// Makes the routing of one method of a path to its handler.
pub type Handler = fn() -> MethodRouter<AppState>;

/// One path of the API and the handler of each method it answers.
pub struct Route {
    /// The canonical path, as the OpenAPI document names it. A path that
    /// ends in `/` is also served without it.
    pub path: &'static str,
    /// `(method, handler)`: the method name beside the routing function
    /// that registers it, so that the two cannot drift apart unseen.
    pub methods: &'static [(&'static str, Handler)],
}

/// Every route of the Entente API. The router is built from this table
/// alone, and `tests/openapi.rs` checks that the OpenAPI document names
/// exactly these paths and methods, so a route cannot be added to one and
/// forgotten in the other.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/entente/v1/openapi.json",
        methods: &[("GET", || get(openapi::document))],
    },
    Route {
        path: "/entente/v1/communities/",
        methods: &[("GET", || get(communities::communities))],
    },
    Route {
        path: "/entente/v1/incidents/",
        methods: &[
            ("GET", || get(incidents::list)),
            ("POST", || post(incidents::create)),
        ],
    },
    Route {
        path: "/entente/v1/incidents/{id}/",
        methods: &[
            ("GET", || get(incidents::show)),
            ("PUT", || put(incidents::update)),
        ],
    },
    Route {
        path: "/entente/v1/incidents/{id}/versions/",
        methods: &[("GET", || get(incidents::versions))],
    },
    Route {
        path: "/entente/v1/incidents/{id}/submissions/",
        methods: &[("POST", || post(incidents::submit))],
    },
    Route {
        path: "/entente/v1/incidents/{id}/share/",
        methods: &[("POST", || post(incidents::share))],
    },
    Route {
        path: "/entente/v1/collections/{collection}/objects/{object}/provenance/",
        methods: &[("GET", || get(provenance::provenance))],
    },
    Route {
        path: "/entente/v1/collections/{collection}/indicators/",
        methods: &[("GET", || get(indicators::indicators))],
    },
];

pub(crate) fn routes() -> Router<AppState> {
    let mut app = Router::new();
    for route in ROUTES {
        let handlers = route
            .methods
            .iter()
            .fold(MethodRouter::new(), |all, (_, handler)| {
                all.merge(handler())
            });
        if let Some(unslashed) = route.path.strip_suffix('/') {
            app = app.route(unslashed, handlers.clone());
        }
        app = app.route(route.path, handlers);
    }
    app.route_layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
}

//! Entente's own JSON API under `/entente/v1/` (not TAXII; plain
//! `application/json`): the communities a member belongs to, incidents,
//! and the OpenAPI 3.1 document that describes it all
//! (`/entente/v1/openapi.json`, kept true by a schemathesis test).
//!
//! Request bodies are bounded by [`MAX_BODY`] in one layer around these
//! routes; callers must be signed in ([`crate::auth::SignedIn`]) except for
//! the OpenAPI document.

mod communities;
mod incidents;
mod openapi;

use axum::Router;
use axum::routing::{get, post};

use crate::{AppState, both};

/// Largest request body of the Entente API: an incident record is a few kilobytes.
pub const MAX_BODY: usize = 1 << 20;

/// The media type of every request and answer body.
pub(crate) const JSON: &str = "application/json";

pub(crate) fn routes() -> Router<AppState> {
    both(
        Router::new().route("/entente/v1/openapi.json", get(openapi::document)),
        vec![
            ("/entente/v1/communities/", get(communities::communities)),
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
    .route_layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
}

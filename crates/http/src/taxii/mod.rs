//! TAXII 2.1: discovery, API roots, collections, status resources,
//! objects, manifests and versions. Every route negotiates the TAXII media
//! type (406 otherwise) and reads request bodies through the API root's
//! `max_content_length` ([`limit_body`], 413 beyond it).

pub mod cursor;
mod discovery;
pub mod filters;
pub mod media;
mod objects;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, body::Body};
use node::{ApiRoot, Collection, Need};
use sharing::Principal;
use stix::Timestamp;

use crate::error::ApiError;
use crate::{AppState, both};
use media::TAXII_JSON;

/// Every TAXII 2.1 path (a path that ends in `/` is also served without
/// it) and the routing of its methods.
pub(crate) const ROUTES: &[(&str, crate::api::Handler)] = &[
    ("/taxii2/", || get(discovery::discovery)),
    ("/{root}/", || get(discovery::api_root)),
    ("/{root}/status/{status_id}/", || get(discovery::status)),
    ("/{root}/collections/", || get(discovery::collections)),
    ("/{root}/collections/{collection}/", || {
        get(discovery::collection)
    }),
    ("/{root}/collections/{collection}/manifest/", || {
        get(objects::manifest)
    }),
    ("/{root}/collections/{collection}/objects/", || {
        get(objects::get_objects).post(objects::add_objects)
    }),
    ("/{root}/collections/{collection}/objects/{object}/", || {
        get(objects::get_object).delete(objects::delete_object)
    }),
    (
        "/{root}/collections/{collection}/objects/{object}/versions/",
        || get(objects::versions),
    ),
];

/// The TAXII 2.1 routes.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    both(
        Router::new(),
        ROUTES
            .iter()
            .map(|(path, route)| (*path, route()))
            .collect(),
    )
    .route_layer(axum::middleware::from_fn_with_state(state, limit_body))
    .route_layer(axum::middleware::from_fn(negotiate))
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no TAXII resource at this URL; discovery is at /taxii2/")
}

/// 406 unless the client accepts TAXII 2.1 JSON.
async fn negotiate(request: Request, next: Next) -> Response {
    if !media::accepts_taxii(request.headers()) {
        return ApiError::not_acceptable().into_response();
    }
    next.run(request).await
}

/// Bounds every request body by its API root's `max_content_length`: 413
/// at once when `Content-Length` says more, and 413 as soon as the body
/// passes it while it is read (handlers see a body that cannot grow past
/// the bound).
async fn limit_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let root = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    if root == "taxii2" || root.is_empty() {
        return next.run(request).await;
    }
    let found = state
        .blocking(move |s| Ok(s.node().api_root(&root).ok()))
        .await;
    let limit = match found {
        Ok(Some(r)) => r.max_content_length,
        // An unknown root: the handler answers 404 without reading a body.
        Ok(None) => 0,
        Err(e) => return e.into_response(),
    };
    if let Some(len) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit
        && limit > 0
    {
        return ApiError::too_large(limit).into_response();
    }
    let (parts, body) = request.into_parts();
    let limited = Body::new(http_body_util::Limited::new(
        body,
        usize::try_from(limit).unwrap_or(usize::MAX),
    ));
    next.run(Request::from_parts(parts, limited)).await
}

/// A TAXII JSON response.
pub(crate) fn taxii(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    crate::response::with_type(status, TAXII_JSON, body)
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Result<Response, ApiError> {
    crate::response::json(status, TAXII_JSON, value)
}

pub(crate) fn add_date_headers(
    r: &mut Response,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
) {
    for (name, value) in [
        ("x-taxii-date-added-first", first),
        ("x-taxii-date-added-last", last),
    ] {
        if let Some(v) = value
            && let Ok(hv) = HeaderValue::from_str(&v.to_string())
        {
            r.headers_mut().insert(HeaderName::from_static(name), hv);
        }
    }
}

pub(crate) async fn api_root(state: &AppState, path: String) -> Result<ApiRoot, ApiError> {
    state.blocking(move |s| Ok(s.node().api_root(&path)?)).await
}

/// Loads a collection of `root` the principal may use for `need`; see
/// [`node::Node::collection_for`] for the 404/403 rule.
pub(crate) async fn collection_for(
    state: &AppState,
    principal: &Principal,
    root: String,
    id: String,
    need: Need,
) -> Result<(Collection, sharing::Access), ApiError> {
    let principal = principal.clone();
    state
        .blocking(move |s| {
            Ok(s.node()
                .collection_for(&principal, Some(&root), &id, need)?)
        })
        .await
}

/// The base URL of this server as the client sees it.
pub(crate) fn base_url(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &state.config().public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b".-:[]".contains(&c))
        })
        .unwrap_or("localhost");
    let scheme = if state.inner.tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

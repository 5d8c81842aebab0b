//! Request handlers, one module per resource family.

pub mod api;
pub mod discovery;
pub mod incidents;
pub mod objects;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sharing::Principal;
use stix::Timestamp;
use store::{ApiRoot, Collection};

use crate::AppState;
use crate::error::ApiError;
use crate::media::TAXII_JSON;

pub(crate) use store::now;

pub async fn not_found() -> ApiError {
    ApiError::not_found("no TAXII resource at this URL; discovery is at /taxii2/")
}

/// A TAXII JSON response.
pub(crate) fn taxii(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_JSON));
    r
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    taxii(status, serde_json::to_vec(value).unwrap_or_default())
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

/// An object version as STIX writes it: milliseconds when that is exact,
/// microseconds otherwise.
pub(crate) fn stix_time(t: Timestamp) -> String {
    if t.as_micros().rem_euclid(1000) == 0 {
        t.format_with_precision(3)
    } else {
        t.format_with_precision(6)
    }
}

pub(crate) async fn api_root(state: &AppState, path: String) -> Result<ApiRoot, ApiError> {
    state
        .blocking(move |s| {
            s.store()
                .api_root(&path)?
                .ok_or_else(|| ApiError::not_found(format!("API root /{path}/ does not exist")))
        })
        .await
}

/// Loads a collection of `root` the principal may use for `need`; see
/// [`node::Node::collection_for`] for the 404/403 rule.
pub(crate) async fn collection_for(
    state: &AppState,
    principal: &Principal,
    root: String,
    id: String,
    need: node::Need,
) -> Result<(Collection, sharing::Access), ApiError> {
    let principal = principal.clone();
    state
        .blocking(move |s| {
            if s.store().api_root(&root)?.is_none() {
                return Err(ApiError::not_found(format!(
                    "API root /{root}/ does not exist"
                )));
            }
            Ok(s.node().collection_for(&principal, &root, &id, need)?)
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

//! Metrics of the HTTP surface and their exposition.
//!
//! [`observe`] times every request and counts it by route *template* (the
//! pattern the router matched, such as
//! `/{root}/collections/{collection}/objects/`), method and status; a
//! request that matched no route counts as `unmatched`. The raw path, the
//! query, the caller and its address are never recorded. It also writes
//! one access event per request to the log (target `entente::access`) with
//! the same four facts and the duration, nothing else.
//!
//! [`endpoint`] answers `GET /metrics` on the main listener to node
//! administrators' tokens when the node is configured to; anyone else's
//! request goes on through the router exactly as if the endpoint did not
//! exist, so it gets the answer such a path always gets (404 to a token,
//! 401 without one). [`crate::serve::serve_metrics`] serves the same text
//! on a separate listener.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sharing::Principal;
use sharing::administration::may_administer_node;

use crate::AppState;
use crate::error::ApiError;

/// The path of the metrics text, on either listener.
pub const PATH: &str = "/metrics";

/// The route a response was made for, when no router pattern says it.
#[derive(Clone, Copy)]
struct RouteLabel(&'static str);

/// Every route template of the node, by each path the router registers
/// for it (with and without its trailing slash).
static TEMPLATES: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let mut all = HashMap::new();
    let paths = crate::taxii::ROUTES
        .iter()
        .map(|(path, _)| *path)
        .chain(crate::api::ROUTES.iter().map(|r| r.path));
    for path in paths {
        all.insert(path, path);
        if let Some(unslashed) = path.strip_suffix('/') {
            all.insert(unslashed, path);
        }
    }
    all
});

/// The template a matched pattern stands for (the form with the trailing
/// slash), or `other` for a pattern the tables do not list.
fn route_label(matched: &str) -> &'static str {
    TEMPLATES.get(matched).copied().unwrap_or("other")
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Times and counts a request, and logs its access event.
pub(crate) async fn observe(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| route_label(m.as_str()));
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0)
        .or(matched)
        .unwrap_or("unmatched");
    let status = response.status().as_u16();
    let took = started.elapsed();
    if let Some(metrics) = state.metrics() {
        metrics.request(route, method, status, took);
    }
    tracing::info!(
        target: "entente::access",
        method,
        route,
        status,
        duration_ms = took.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// `GET /metrics` on the main listener, for node administrators only.
pub(crate) async fn endpoint(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let asked = request.uri().path() == PATH
        && (request.method() == Method::GET || request.method() == Method::HEAD);
    let admin = request
        .extensions()
        .get::<Principal>()
        .is_some_and(may_administer_node);
    match state.metrics() {
        Some(metrics) if asked && admin && state.metrics_on_main_listener() => {
            let metrics = metrics.clone();
            let text = state.blocking(move |_| Ok(metrics.render())).await;
            let mut response = match text {
                Ok(text) => exposition(text),
                Err(e) => e.into_response(),
            };
            response.extensions_mut().insert(RouteLabel(PATH));
            response
        }
        _ => next.run(request).await,
    }
}

/// The metrics text as an answer.
pub(crate) fn exposition(text: String) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(entente_metrics::CONTENT_TYPE),
    );
    response
}

/// What the metrics listener answers anywhere but [`PATH`].
pub(crate) async fn elsewhere() -> ApiError {
    ApiError::not_found(format!("this listener serves only GET {PATH}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_pattern_has_a_template() {
        assert_eq!(route_label("/taxii2/"), "/taxii2/");
        assert_eq!(route_label("/taxii2"), "/taxii2/");
        assert_eq!(
            route_label("/{root}/collections/{collection}/objects"),
            "/{root}/collections/{collection}/objects/"
        );
        assert_eq!(
            route_label("/entente/v1/openapi.json"),
            "/entente/v1/openapi.json"
        );
        assert_eq!(
            route_label("/entente/v1/incidents/{id}"),
            "/entente/v1/incidents/{id}/"
        );
        for (path, _) in crate::taxii::ROUTES {
            assert_eq!(route_label(path), *path);
        }
        for r in crate::api::ROUTES {
            assert_eq!(route_label(r.path), r.path);
        }
        // A path is not a template.
        assert_eq!(route_label("/api1/collections/"), "other");
    }
}

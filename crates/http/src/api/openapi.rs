//! The OpenAPI 3.1 document of the Entente JSON API, served as written in
//! `openapi.json` beside this file. A schemathesis run against a live node
//! (`tests/api/test_openapi.py`) keeps it true: every answer must match it.

use axum::http::StatusCode;
use axum::response::Response;

use super::JSON;

/// The document, as shipped in the binary.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /entente/v1/openapi.json`: readable without a token.
pub async fn document() -> Response {
    crate::response::with_type(StatusCode::OK, JSON, DOCUMENT)
}

//! The one way handlers write JSON answers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// A response with `body` and the given media type.
pub(crate) fn with_type(
    status: StatusCode,
    media_type: &'static str,
    body: impl Into<axum::body::Body>,
) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    r
}

/// `value` serialised as JSON with the given media type.
pub(crate) fn json<T: Serialize + ?Sized>(
    status: StatusCode,
    media_type: &'static str,
    value: &T,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::internal(format!("response encoding failed: {e}")))?;
    Ok(with_type(status, media_type, body))
}

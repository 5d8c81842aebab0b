//! TAXII error resources. Every failure leaves the server as one of these,
//! with the TAXII media type, so clients can always parse what they get.

use axum::extract::Request;
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::taxii::media::TAXII_JSON;

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub description: String,
    /// Per-problem details (e.g. which query parameter), when useful.
    pub details: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    title: &'a str,
    description: &'a str,
    http_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, title: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            title,
            description: description.into(),
            details: None,
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", description)
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", description)
    }

    pub fn unauthorized(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authentication required",
            description,
        )
    }

    pub fn unprocessable(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable content",
            description,
        )
    }

    pub fn internal(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            description,
        )
    }

    pub fn not_acceptable() -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!("this server answers in {TAXII_JSON}; send an Accept header that admits it"),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("send the request body as Content-Type: {TAXII_JSON}"),
        )
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            format!(
                "the request body exceeds this API root's max_content_length of {limit} bytes; split it into smaller envelopes"
            ),
        )
    }

    /// The answer to a request body that could not be read to its end:
    /// 408 when the client paused too long, else 400.
    pub fn unreadable_body(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(stalled) = e.downcast_ref::<crate::serve::BodyStalled>() {
                return Self::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "Request timeout",
                    format!("{stalled}; send it without pauses"),
                );
            }
            cause = e.source();
        }
        Self::bad_request(format!("could not read the request body: {error}"))
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl From<node::NodeError> for ApiError {
    fn from(e: node::NodeError) -> Self {
        match e {
            node::NodeError::NotFound(m) => ApiError::not_found(m),
            node::NodeError::Forbidden(m) => ApiError::forbidden(m),
            node::NodeError::Malformed(m) => ApiError::bad_request(m),
            node::NodeError::Unprocessable(m) => ApiError::unprocessable(m),
            node::NodeError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "Conflict", m),
            node::NodeError::Store(s) => s.into(),
        }
    }
}

impl From<node::StoreError> for ApiError {
    fn from(e: node::StoreError) -> Self {
        match e {
            node::StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            node::StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "Conflict", m),
            node::StoreError::Invalid(m) => ApiError::bad_request(m),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal("the node could not complete the request; see its log")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            title: self.title,
            description: &self.description,
            http_status: self.status.as_u16().to_string(),
            details: self.details.as_ref(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, json).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"entente\", Bearer realm=\"entente\""),
            );
        }
        response
    }
}

/// Largest framework-made error text worth reading into an error resource.
const MAX_PLAIN_ERROR: usize = 4096;

/// Turns the answers the framework makes on its own (405 for a method a
/// route lacks, 400 for a path segment that is not UTF-8) into error
/// resources, so that every failure a client sees is one.
pub async fn error_resources(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().get(CONTENT_TYPE).is_some_and(|ct| {
            ct.to_str().is_ok_and(|ct| {
                ct.starts_with("application/taxii+json") || ct.starts_with("application/json")
            })
        })
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = parts
            .headers
            .get(ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut answer = ApiError::new(
            status,
            "Method not allowed",
            format!("{method} is not allowed on this resource; it allows {allow}"),
        )
        .into_response();
        if let Some(v) = parts.headers.get(ALLOW) {
            answer.headers_mut().insert(ALLOW, v.clone());
        }
        return answer;
    }
    let text = match axum::body::to_bytes(body, MAX_PLAIN_ERROR).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let description = if text.is_empty() {
        title.to_string()
    } else {
        text
    };
    ApiError::new(status, "Request refused", description).into_response()
}

//! Negotiation and authentication, applied to every route.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sharing::{Access, Principal};

use crate::error::ApiError;
use crate::{AppState, media};

/// 406 unless the client accepts TAXII 2.1 JSON.
pub async fn negotiate(request: Request, next: Next) -> Response {
    if !media::accepts_taxii(request.headers()) {
        return ApiError::not_acceptable().into_response();
    }
    next.run(request).await
}

/// The secret a request presents: `Bearer <token>` (or `Token <token>`), or HTTP Basic with the
/// token as password (any user name) or, with an empty password, as user name.
fn presented_secret(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if rest.len() > 512 {
        return None;
    }
    // `Token` is what taxii2-client's TokenAuth sends.
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        return Some(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        return Some(if password.is_empty() { user } else { password }.to_string());
    }
    None
}

const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Resolves the caller to a [`Principal`] or answers 401.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(secret) = presented_secret(request.headers()) else {
        return ApiError::unauthorized(
            "send an API token as 'Authorization: Bearer <token>' or as the HTTP Basic password",
        )
        .into_response();
    };
    let digest = sharing::token::digest(&secret);
    let found = state
        .blocking(move |s| Ok(s.store().token_by_hash(&digest)?))
        .await;
    let record = match found {
        Ok(Some(r)) => r,
        Ok(None) => return ApiError::unauthorized("the API token is not valid").into_response(),
        Err(e) => return e.into_response(),
    };
    let now = crate::handlers::now();
    if record.revoked.is_some() {
        return ApiError::unauthorized("the API token has been revoked").into_response();
    }
    if record.expires.is_some_and(|e| e <= now) {
        return ApiError::unauthorized("the API token has expired").into_response();
    }
    let due = {
        let mut touched = state
            .inner
            .token_touched
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let due = touched
            .get(&record.id)
            .is_none_or(|t| t.elapsed() >= TOUCH_EVERY);
        if due {
            touched.insert(record.id, Instant::now());
        }
        due
    };
    if due && request.method() != Method::OPTIONS {
        let id = record.id;
        let store = state.store().clone();
        // Bookkeeping only: the request does not wait for it.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.touch_token(id, now) {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
    let principal = Principal::new(
        record.id,
        record.admin,
        record.grants.into_iter().map(|g| {
            (
                g.collection_id,
                Access {
                    read: g.can_read,
                    write: g.can_write,
                },
            )
        }),
    );
    request.extensions_mut().insert(principal);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn secrets_from_bearer_and_basic() {
        assert_eq!(
            presented_secret(&auth("Bearer abc")).as_deref(),
            Some("abc")
        );
        let basic = STANDARD.encode("anyone:tok");
        assert_eq!(
            presented_secret(&auth(&format!("Basic {basic}"))).as_deref(),
            Some("tok")
        );
        let user_only = STANDARD.encode("tok:");
        assert_eq!(
            presented_secret(&auth(&format!("Basic {user_only}"))).as_deref(),
            Some("tok")
        );
        assert_eq!(presented_secret(&auth("Basic !!!")), None);
        assert_eq!(presented_secret(&auth("Digest x")), None);
        assert_eq!(presented_secret(&HeaderMap::new()), None);
    }
}

//! Authentication, one layer around every route: the request's credentials
//! become a [`Principal`] in its extensions (anonymous without any), and
//! handlers take it with [`Caller`] or, where a token is required,
//! [`SignedIn`].

use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sharing::Principal;

use crate::AppState;
use crate::error::ApiError;

/// Whoever made the request, anonymous included.
pub struct Caller(pub Principal);

/// A caller that presented a valid API token (401 otherwise).
pub struct SignedIn(pub Principal);

fn principal_of(parts: &Parts) -> Principal {
    parts
        .extensions
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(Principal::anonymous)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Caller(principal_of(parts)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let principal = principal_of(parts);
        if principal.is_authenticated() {
            Ok(SignedIn(principal))
        } else {
            Err(ApiError::unauthorized(
                "this resource needs an API token: send it as 'Authorization: Bearer <token>'",
            ))
        }
    }
}

/// The secret a request presents: `Bearer <token>` (or `Token <token>`), or HTTP Basic with the
/// token as password (any user name) or, with an empty password, as user name. `Ok(None)`
/// without an Authorization header; `Err` says what is wrong with a malformed one.
fn presented_secret(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not plain ASCII text".to_string())?
        .trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if rest.len() > 512 {
        return Err(format!(
            "the {scheme} credentials are {} characters long; API tokens have far fewer than 512",
            rest.len()
        ));
    }
    // `Token` is what taxii2-client's TokenAuth sends.
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        if rest.is_empty() {
            return Err(format!("'{scheme}' is followed by no token"));
        }
        return Ok(Some(rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .map_err(|_| "the Basic credentials are not base64".to_string())?;
        let text = String::from_utf8(decoded)
            .map_err(|_| "the Basic credentials are not UTF-8 once decoded".to_string())?;
        let (user, password) = text.split_once(':').ok_or_else(|| {
            "the Basic credentials have no ':'; encode user:password with the token as password"
                .to_string()
        })?;
        let secret = if password.is_empty() { user } else { password };
        if secret.is_empty() {
            return Err("the Basic credentials are empty".into());
        }
        return Ok(Some(secret.to_string()));
    }
    Err(format!(
        "the {scheme:?} authentication scheme is not supported"
    ))
}

const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Resolves the caller to a [`Principal`]. A request without credentials
/// proceeds as anonymous (it can reach public collections only); if it then
/// meets a resource it may not see, it is told to authenticate (401) rather
/// than that the resource does not exist.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = match presented_secret(request.headers()) {
        Ok(presented) => presented,
        Err(why) => {
            return ApiError::unauthorized(format!(
                "{why}: send an API token as 'Authorization: Bearer <token>' or as the HTTP Basic password"
            ))
            .into_response();
        }
    };
    let Some(secret) = presented else {
        request.extensions_mut().insert(Principal::anonymous());
        let response = next.run(request).await;
        return match response.status() {
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => ApiError::unauthorized(
                "this resource needs an API token: send it as 'Authorization: Bearer <token>' or as the HTTP Basic password",
            )
            .into_response(),
            _ => response,
        };
    };
    let now = node::now();
    let found = state
        .blocking(move |s| Ok(s.node().authenticate(&secret, now)?))
        .await;
    let (principal, record) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(failure)) => return ApiError::unauthorized(failure.message()).into_response(),
        Err(e) => return e.into_response(),
    };
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
        let node = state.node().clone();
        let who = principal.clone();
        // Bookkeeping only: the request does not wait for it.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = node.token_used(&who, now) {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
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
        let secret = |v: &str| presented_secret(&auth(v)).ok().flatten();
        assert_eq!(secret("Bearer abc").as_deref(), Some("abc"));
        let basic = STANDARD.encode("anyone:tok");
        assert_eq!(secret(&format!("Basic {basic}")).as_deref(), Some("tok"));
        let user_only = STANDARD.encode("tok:");
        assert_eq!(
            secret(&format!("Basic {user_only}")).as_deref(),
            Some("tok")
        );
        assert!(presented_secret(&auth("Basic !!!")).is_err());
        assert!(presented_secret(&auth("Digest x")).is_err());
        assert!(presented_secret(&auth("Bearer")).is_err());
        assert_eq!(presented_secret(&HeaderMap::new()), Ok(None));
    }
}

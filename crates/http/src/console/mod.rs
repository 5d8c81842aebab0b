//! The web console: server-rendered HTML (maud) for people who will never
//! run a TAXII client, at `/` and under `/console/`.
//!
//! Pages call the same `node` use cases as TAXII and the CLI, so a page
//! shows nothing its user could not fetch over TAXII. Everything works
//! without JavaScript; htmx (shipped inside the binary, see `assets.rs`)
//! only makes some forms answer in place, and `console.js` adds an upload
//! progress bar.
//!
//! Sign-in is its own (a session cookie, not an API token): one layer
//! ([`session_layer`]) resolves the cookie into a `node::ConsoleSession`
//! for every route but the sign-in pages and static files, sends anyone
//! without one to the sign-in page, and refuses any POST whose anti-forgery
//! token (form field `csrf`, or `?csrf=` on uploads) is not the session's.
//! Another layer ([`security_headers`]) sets a strict Content-Security-Policy
//! and friends on every answer. Request bodies are bounded per route.

mod admin;
mod assets;
mod charts;
mod incidents;
mod objects;
mod overview;
mod page;
mod share;
mod signin;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use node::ConsoleSession;
use sharing::console::SessionLimits;

use crate::AppState;

/// Largest form body (every form but uploads).
pub const MAX_FORM_BODY: usize = 1 << 20;

/// Settings of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleConfig {
    pub sessions: SessionLimits,
    /// Largest file the upload form takes, in bytes.
    pub max_upload_bytes: usize,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            sessions: SessionLimits::default(),
            max_upload_bytes: 64 << 20,
        }
    }
}

/// The console's routes, with their layers; merged before the TAXII routes.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let max_upload = state.config().console.max_upload_bytes;
    let signed_in = Router::new()
        .route("/", get(overview::page))
        .route("/console", get(overview::page))
        .route("/console/", get(overview::page))
        .route("/console/objects", get(objects::list))
        .route("/console/objects/export", post(objects::export))
        .route(
            "/console/collections/{collection}/objects/{object}",
            get(objects::show),
        )
        .route("/console/share", get(share::page))
        .route("/console/share/pattern", post(share::check_pattern))
        .route("/console/share/indicator", post(share::indicator))
        .route("/console/share/note", post(share::note))
        .route("/console/share/report", post(share::report))
        .route("/console/share/find", get(share::find))
        .route(
            "/console/incidents",
            get(incidents::list).post(incidents::create),
        )
        .route("/console/incidents/new", get(incidents::new_form))
        .route(
            "/console/incidents/{id}",
            get(incidents::show).post(incidents::update),
        )
        .route(
            "/console/incidents/{id}/submissions",
            post(incidents::submit),
        )
        .route(
            "/console/incidents/{id}/notification",
            get(incidents::notification),
        )
        .route("/console/admin", get(admin::page))
        .route("/console/admin/orgs", post(admin::create_org))
        .route("/console/admin/users", post(admin::create_user))
        .route("/console/admin/communities", post(admin::create_community))
        .route("/console/admin/members", post(admin::add_member))
        .route("/console/admin/tokens", post(admin::create_token))
        .route("/console/admin/tokens/revoke", post(admin::revoke_token))
        .route("/console/admin/passwords", post(admin::set_password))
        .route("/console/admin/links", post(admin::create_link))
        .route("/console/admin/audit/verify", post(admin::verify_audit))
        .route("/console/sign-out", post(signin::sign_out))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_FORM_BODY))
        .merge(
            Router::new()
                .route("/console/share/upload", post(share::upload))
                .layer(axum::extract::DefaultBodyLimit::max(max_upload))
                .layer(tower_http::limit::RequestBodyLimitLayer::new(
                    max_upload + (64 << 10),
                )),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session_layer,
        ));
    let public = Router::new()
        .route("/console/sign-in", get(signin::form).post(signin::password))
        .route("/console/sign-in/token", post(signin::token))
        .route(
            "/console/link/{secret}",
            get(signin::link_form).post(signin::link),
        )
        .route("/console/static/{file}", get(assets::file))
        // Browsers ask for it on every site; the console has none.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_FORM_BODY));
    Router::new()
        .merge(signed_in)
        .merge(public)
        .route("/console/{*rest}", axum::routing::any(not_found))
        .layer(axum::middleware::from_fn(security_headers))
}

/// The cookie that carries the session secret. Under TLS the `__Host-`
/// prefix makes browsers insist on Secure, Path=/ and no Domain.
pub(crate) fn cookie_name(tls: bool) -> &'static str {
    if tls {
        "__Host-entente_session"
    } else {
        "entente_session"
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The signed-in session of a request, put there by [`session_layer`].
#[derive(Clone)]
pub(crate) struct Signed {
    pub session: ConsoleSession,
    /// The cookie's secret (for sign-out).
    pub secret: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Signed {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(|| Redirect::to("/console/sign-in").into_response())
    }
}

/// Where a sign-in may send the user back to: a path of this site, never
/// another site (`//host`, `/\host`, schemes) — no open redirect.
pub(crate) fn safe_return(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 512
        && !path.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(path)
}

/// Resolves the session cookie (see the module doc) and checks the
/// anti-forgery token of every POST.
async fn session_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let name = cookie_name(state.inner.tls);
    let secret = cookie(request.headers(), name).unwrap_or_default();
    let limits = state.config().console.sessions;
    let now = node::now();
    let lookup = secret.clone();
    let found = state
        .blocking(move |s| Ok(s.node().console_session(&lookup, now, limits)?))
        .await;
    let session = match found {
        Ok(Some(session)) => session,
        Ok(None) => {
            let back = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .filter(|p| request.method() == Method::GET && safe_return(p).is_some() && p != "/")
                .map(|p| {
                    format!(
                        "?next={}",
                        form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                    )
                })
                .unwrap_or_default();
            let expired = if secret.is_empty() {
                ""
            } else if back.is_empty() {
                "?expired=1"
            } else {
                "&expired=1"
            };
            if request.method() == Method::GET {
                return Redirect::to(&format!("/console/sign-in{back}{expired}")).into_response();
            }
            return page::problem(
                StatusCode::UNAUTHORIZED,
                "Your session has ended",
                "You were signed out (after a while without activity, or for good after some hours). Sign in again, then repeat what you were doing.",
            );
        }
        Err(e) => return page::from_api_error(e),
    };
    let mut request = request;
    if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let from_query = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.into_owned())
        });
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let (presented, body) = match from_query {
            Some(token) => (Some(token), body),
            None if is_form => {
                let bytes = match read_form(body, &parts.headers).await {
                    Ok(b) => b,
                    Err(status) => {
                        return page::problem(
                            status,
                            "The form is too large",
                            "This form takes at most 1 MiB. Shorten the text, or upload large content as a file on the Share page.",
                        );
                    }
                };
                let token = form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned());
                (token, axum::body::Body::from(bytes))
            }
            None => (None, body),
        };
        let matches = presented.is_some_and(|p| {
            use subtle::ConstantTimeEq;
            p.as_bytes().ct_eq(session.csrf.as_bytes()).into()
        });
        if !matches {
            return page::problem(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from this session's own page (its anti-forgery token is missing or stale). Reload the page and send it again.",
            );
        }
        request = Request::from_parts(parts, body);
    }
    request.extensions_mut().insert(Signed { session, secret });
    next.run(request).await
}

/// Bytes of an oversized form read and dropped before it is refused, so
/// that the browser (which sends the whole body before it reads an answer)
/// gets the refusal page rather than a connection reset. Past this, or
/// with a declared length past it, the connection is simply closed.
const MAX_DRAINED_FORM: usize = 16 << 20;

/// A form's body, at most [`MAX_FORM_BODY`] bytes; over it, 413 once the
/// rest was drained (up to [`MAX_DRAINED_FORM`]); 400 if the body breaks off.
async fn read_form(
    body: axum::body::Body,
    headers: &HeaderMap,
) -> Result<axum::body::Bytes, StatusCode> {
    use http_body_util::BodyExt;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_DRAINED_FORM) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(StatusCode::BAD_REQUEST);
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > MAX_DRAINED_FORM {
                break;
            }
            if seen <= MAX_FORM_BODY {
                kept.extend_from_slice(&data);
            }
        }
    }
    if seen > MAX_FORM_BODY {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    Ok(kept.into())
}

/// Headers on every console answer: no framing, no sniffing, no referrer
/// (sign-in links must not leak), no caching of pages, and a policy that
/// lets only this site's own scripts and styles run.
async fn security_headers(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/console/static/");
    let mut response = next.run(request).await;
    if !is_asset {
        response = readable_refusal(response);
    }
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A refusal written by the framework rather than by a console page (a
/// path or body that is not UTF-8, a form cut short or of the wrong kind,
/// a body over its limit, a method the address does not take) comes as
/// bare text or nothing; the console answers it as a page that says what
/// to do, with the same status.
fn readable_refusal(response: Response) -> Response {
    let status = response.status();
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !status.is_client_error() || html {
        return response;
    }
    let (title, what_to_do) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "What you sent is too large",
            "Forms take at most 1 MiB, and files the size this node's max_upload_mib allows. Shorten the text, or split the file and upload the parts one by one.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => (
            "This form was not sent as the console sends it",
            "Reload the console's page and send the form from it again (forms are sent as the page encodes them, files as a multipart upload).",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "This address does not take that request",
            "Open the page from the console's navigation, and send forms with their own buttons.",
        ),
        _ => (
            "The request could not be read",
            "The address or the form held something the console cannot read: bytes that are not UTF-8 text, a damaged %-escape, or a form cut short. Go back and reload the page; if you typed or pasted the address, check it.",
        ),
    };
    let mut page = page::problem(status, title, what_to_do);
    // Keep what the framework said about the method (Allow).
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}

async fn not_found() -> Response {
    page::problem(
        StatusCode::NOT_FOUND,
        "No such page",
        "There is no console page at this address. Start again from the overview.",
    )
}

//! Signing in and out: password, one-time link, API token.
//!
//! Before there is a session, the sign-in forms are protected against
//! cross-site posting by a double-submit token: a random value set as a
//! SameSite=Strict cookie when the form is shown, which the form must echo.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use node::SignIn;
use serde::Deserialize;

use super::page::{Page, Section, notice};
use super::{Signed, cookie, cookie_name, safe_return};
use crate::AppState;

const PRE_COOKIE: &str = "entente_signin";

#[derive(Deserialize, Default)]
pub(crate) struct FormQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    pre: String,
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    pre: String,
}

#[derive(Deserialize)]
pub(crate) struct LinkForm {
    #[serde(default)]
    pre: String,
}

fn secure(state: &AppState) -> &'static str {
    if state.inner.tls { "; Secure" } else { "" }
}

/// A fresh double-submit value and the cookie that carries it.
fn pre_token(state: &AppState) -> (String, HeaderValue) {
    let value = sharing::token::generate().unwrap_or_default();
    let cookie = format!(
        "{PRE_COOKIE}={value}; Path=/console/; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure(state)
    );
    (
        value,
        HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static("")),
    )
}

fn pre_ok(headers: &HeaderMap, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    match cookie(headers, PRE_COOKIE) {
        Some(c) if !c.is_empty() => c.as_bytes().ct_eq(presented.as_bytes()).into(),
        _ => false,
    }
}

fn sign_in_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    message: Option<Markup>,
) -> Response {
    let (pre, cookie) = pre_token(state);
    let page = Page {
        title: "Sign in",
        section: Section::None,
        signed: None,
    };
    let mut r = page.render(html! {
        @if let Some(m) = message { (m) }
        div.grid {
            section.panel aria-labelledby="with-password" {
                h2 id="with-password" { "With your password" }
                form method="post" action="/console/sign-in" {
                    input type="hidden" name="pre" value=(pre);
                    input type="hidden" name="next" value=(next);
                    label for="account" { "User" }
                    p.hint id="account-hint" { "ORGANISATION/USER, as your administrator gave it, e.g. Example National CERT/analyst" }
                    input type="text" id="account" name="account" autocomplete="username" required aria-describedby="account-hint" maxlength="300";
                    label for="password" { "Password" }
                    input type="password" id="password" name="password" autocomplete="current-password" required maxlength="256";
                    p { button type="submit" { "Sign in" } }
                }
                p.hint { "No password yet? Ask your administrator for a sign-in link (entente user link ORG/USER)." }
            }
            section.panel aria-labelledby="with-token" {
                h2 id="with-token" { "With an API token" }
                p.hint { "Node administrators, and anyone holding a token: the console then acts with the token's rights." }
                form method="post" action="/console/sign-in/token" {
                    input type="hidden" name="pre" value=(pre);
                    input type="hidden" name="next" value=(next);
                    label for="token" { "API token" }
                    input type="password" id="token" name="token" autocomplete="off" required maxlength="512";
                    p { button type="submit" { "Sign in with the token" } }
                }
            }
        }
    });
    *r.status_mut() = status;
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

pub(crate) async fn form(State(state): State<AppState>, Query(q): Query<FormQuery>) -> Response {
    let next = q
        .next
        .as_deref()
        .and_then(safe_return)
        .unwrap_or("/")
        .to_string();
    let message = if q.expired.is_some() {
        Some(notice(
            "error",
            html! { "Your session has ended (after a while without activity, or some hours after you signed in). Sign in again to go on." },
        ))
    } else if q.signed_out.is_some() {
        Some(notice("ok", html! { "You are signed out." }))
    } else {
        None
    };
    sign_in_page(&state, StatusCode::OK, &next, message)
}

/// The answer to a sign-in attempt.
fn after_sign_in(state: &AppState, outcome: SignIn, next: &str) -> Response {
    let next = safe_return(next).unwrap_or("/");
    match outcome {
        SignIn::Opened { secret } => {
            let cookie = format!(
                "{}={secret}; Path=/; HttpOnly; SameSite=Strict{}",
                cookie_name(state.inner.tls),
                secure(state)
            );
            let mut r = Redirect::to(next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            // The double-submit cookie has done its job.
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static("entente_signin=; Path=/console/; Max-Age=0"),
            );
            r
        }
        SignIn::Refused(why) => sign_in_page(
            state,
            StatusCode::UNAUTHORIZED,
            next,
            Some(notice("error", html! { (why) })),
        ),
        SignIn::Wait(seconds) => {
            let mut r = sign_in_page(
                state,
                StatusCode::TOO_MANY_REQUESTS,
                next,
                Some(notice(
                    "error",
                    html! { "Too many failed sign-ins for this user. Wait " (seconds) " seconds, then try again; if you have forgotten the password, ask your administrator for a sign-in link." },
                )),
            );
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}

fn stale_form(state: &AppState, next: &str) -> Response {
    sign_in_page(
        state,
        StatusCode::FORBIDDEN,
        next,
        Some(notice(
            "error",
            html! { "This sign-in form has expired or was not sent from this site. It has been renewed: sign in again." },
        )),
    )
}

pub(crate) async fn password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    if !pre_ok(&headers, &f.pre) {
        return stale_form(&state, &f.next);
    }
    let now = node::now();
    let (account, password) = (f.account, f.password);
    let outcome = state
        .blocking(move |s| Ok(s.node().sign_in_with_password(&account, &password, now)?))
        .await;
    match outcome {
        Ok(o) => after_sign_in(&state, o, &f.next),
        Err(e) => super::page::from_api_error(e),
    }
}

pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    if !pre_ok(&headers, &f.pre) {
        return stale_form(&state, &f.next);
    }
    let now = node::now();
    let token = f.token;
    let outcome = state
        .blocking(move |s| Ok(s.node().sign_in_with_token(&token, now)?))
        .await;
    match outcome {
        Ok(o) => after_sign_in(&state, o, &f.next),
        Err(e) => super::page::from_api_error(e),
    }
}

/// A sign-in link shows a button rather than signing in on GET: mail
/// scanners and link previews fetch links, and must not use them up.
pub(crate) async fn link_form(
    State(state): State<AppState>,
    Path(secret): Path<String>,
) -> Response {
    let (pre, cookie) = pre_token(&state);
    let page = Page {
        title: "Sign in with a link",
        section: Section::None,
        signed: None,
    };
    let action = format!("/console/link/{}", super::page::urlencode(&secret));
    let mut r = page.render(html! {
        p { "This link signs you in to the Entente console once. It stops working when used or when it expires." }
        form method="post" action=(action) {
            input type="hidden" name="pre" value=(pre);
            button type="submit" { "Sign in" }
        }
    });
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

pub(crate) async fn link(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    Form(f): Form<LinkForm>,
) -> Response {
    if !pre_ok(&headers, &f.pre) {
        return stale_form(&state, "/");
    }
    let now = node::now();
    let outcome = state
        .blocking(move |s| Ok(s.node().sign_in_with_link(&secret, now)?))
        .await;
    match outcome {
        Ok(o) => after_sign_in(&state, o, "/"),
        Err(e) => super::page::from_api_error(e),
    }
}

pub(crate) async fn sign_out(State(state): State<AppState>, signed: Signed) -> Response {
    let Signed { session, secret } = signed;
    let _ = state
        .blocking(move |s| Ok(s.node().sign_out(&session, &secret)?))
        .await;
    let mut r = Redirect::to("/console/sign-in?signed_out=1").into_response();
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        cookie_name(state.inner.tls),
        secure(&state)
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

//! The console's page frame, its error pages, and the small pieces every
//! page uses (TLP badges, times, links). maud escapes every value it
//! writes, so text from objects, users and requests cannot become markup.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sharing::Tlp;
use stix::Timestamp;

use super::Signed;
use crate::error::ApiError;

/// Which section of the navigation a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Objects,
    Share,
    Incidents,
    Admin,
    None,
}

/// A page being answered: title, section, and who is signed in.
pub(crate) struct Page<'a> {
    pub title: &'a str,
    pub section: Section,
    pub signed: Option<&'a Signed>,
}

impl Page<'_> {
    /// The whole HTML document around `body`.
    pub fn render(&self, body: Markup) -> Response {
        let doc = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    // htmx must not inject inline styles (the policy forbids them).
                    meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
                    title { (self.title) " · Entente" }
                    link rel="stylesheet" href=(super::assets::CSS_PATH);
                    script src=(super::assets::HTMX_PATH) defer {}
                    script src=(super::assets::JS_PATH) defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        a.brand href="/" { "Entente" }
                        @if let Some(s) = self.signed {
                            nav aria-label="Main" {
                                ul {
                                    (nav_item("/", "Overview", self.section == Section::Overview))
                                    (nav_item("/console/objects", "Objects", self.section == Section::Objects))
                                    (nav_item("/console/share", "Share", self.section == Section::Share))
                                    (nav_item("/console/incidents", "Incidents", self.section == Section::Incidents))
                                    (nav_item("/console/admin", "Administration", self.section == Section::Admin))
                                }
                            }
                            form.signout method="post" action="/console/sign-out" {
                                input type="hidden" name="csrf" value=(s.session.csrf);
                                span.who { "Signed in as " strong { (s.session.who) } }
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                    main id="main" tabindex="-1" {
                        h1 { (self.title) }
                        (body)
                    }
                }
            }
        };
        html_response(StatusCode::OK, doc)
    }
}

fn nav_item(href: &str, label: &str, current: bool) -> Markup {
    html! {
        li {
            @if current {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    }
}

pub(crate) fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A page that says what went wrong and what to do.
pub(crate) fn problem(status: StatusCode, title: &str, what_to_do: &str) -> Response {
    let page = Page {
        title,
        section: Section::None,
        signed: None,
    };
    let mut r = page.render(html! {
        p.problem role="alert" { (what_to_do) }
        p { a href="/" { "Back to the overview" } }
    });
    *r.status_mut() = status;
    r
}

/// An error of a use case as a page (the same words TAXII would give).
pub(crate) fn from_api_error(e: ApiError) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::CONFLICT => "Conflict",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            "This cannot be done as asked"
        }
        _ => "Something went wrong",
    };
    problem(e.status, title, &e.description)
}

/// A fragment (for htmx) or a message box in a page.
pub(crate) fn notice(kind: &str, body: Markup) -> Markup {
    html! {
        div class={"notice " (kind)} role=(if kind == "error" { "alert" } else { "status" }) { (body) }
    }
}

/// The TLP badge in FIRST's TLP 2.0 colours (text on black).
pub(crate) fn tlp_badge(tlp: Option<Tlp>) -> Markup {
    match tlp {
        Some(t) => {
            let class = match t {
                Tlp::Clear => "tlp tlp-clear",
                Tlp::Green => "tlp tlp-green",
                Tlp::Amber => "tlp tlp-amber",
                Tlp::AmberStrict => "tlp tlp-amber",
                Tlp::Red => "tlp tlp-red",
            };
            html! { span class=(class) { (t.marking_name()) } }
        }
        None => {
            html! { span.tlp.tlp-none title="No TLP: only its source organisation sees it" { "no TLP" } }
        }
    }
}

/// A time as the console writes it: `2026-12-03 06:41 UTC`.
pub(crate) fn when(t: Timestamp) -> String {
    let (y, mo, d, h, mi, _, _) = t.to_parts();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// The date of a day number (days since the epoch).
pub(crate) fn day_label(day: i64) -> String {
    let (y, mo, d, ..) = Timestamp::from_micros(day * 86_400_000_000).to_parts();
    format!("{y:04}-{mo:02}-{d:02}")
}

/// The link to an object's page.
pub(crate) fn object_href(collection: &str, id: &str) -> String {
    format!(
        "/console/collections/{}/objects/{}",
        urlencode(collection),
        urlencode(id)
    )
}

pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The hidden anti-forgery field of a form.
pub(crate) fn csrf_field(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.session.csrf); }
}

/// Text shortened to `n` characters for a list.
pub(crate) fn short(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(n).collect();
        s.push('…');
        s
    }
}

/// JSON pretty-printed for the raw view (the stored bytes when not JSON).
pub(crate) fn pretty_json(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| raw.to_string())
}

/// Raw markup that we wrote ourselves (SVG built with escaped values).
pub(crate) fn trusted(markup: String) -> PreEscaped<String> {
    PreEscaped(markup)
}

//! The console's static files, compiled into the binary: its stylesheet,
//! its own script, and htmx (a third-party file; licence and origin beside
//! it in `static/vendor/`). Their names carry a version, so browsers may
//! keep them for a year.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(crate) const CSS_PATH: &str = "/console/static/console-1.css";
pub(crate) const JS_PATH: &str = "/console/static/console-1.js";
pub(crate) const HTMX_PATH: &str = "/console/static/htmx-2.0.11.min.js";

const FILES: [(&str, &str, &str); 4] = [
    (
        "console-1.css",
        "text/css; charset=utf-8",
        include_str!("static/console.css"),
    ),
    (
        "console-1.js",
        "text/javascript; charset=utf-8",
        include_str!("static/console.js"),
    ),
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_str!("static/vendor/htmx-2.0.11.min.js"),
    ),
    (
        "htmx-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_str!("static/vendor/htmx-LICENSE.txt"),
    ),
];

pub(crate) async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, media_type, body)) => {
            let mut r = (StatusCode::OK, *body).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

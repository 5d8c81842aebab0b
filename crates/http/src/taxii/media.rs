//! Media types and version negotiation.
//!
//! TAXII 2.1 speaks `application/taxii+json;version=2.1`. A request whose
//! `Accept` header admits it (explicitly, through `application/taxii+json`
//! without a version, or through a wildcard) is served; one that admits only
//! other types gets 406. A POST must declare the TAXII type as its
//! `Content-Type`, or gets 415.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};

pub const TAXII_JSON: &str = "application/taxii+json;version=2.1";
pub const STIX_JSON: &str = "application/stix+json;version=2.1";

/// One media range of an Accept header or a Content-Type, lowercased.
struct MediaRange<'a> {
    essence: String,
    version: Option<&'a str>,
    q_zero: bool,
}

fn parse(item: &str) -> MediaRange<'_> {
    let mut parts = item.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let mut version = None;
    let mut q_zero = false;
    for p in parts {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim().trim_matches('"'));
        if k.eq_ignore_ascii_case("version") {
            version = Some(v);
        } else if k.eq_ignore_ascii_case("q") {
            q_zero = v.parse::<f32>().is_ok_and(|q| q <= 0.0);
        }
    }
    MediaRange {
        essence,
        version,
        q_zero,
    }
}

/// Does this `Accept` header admit TAXII 2.1 JSON? A missing header does.
pub fn accepts_taxii(headers: &HeaderMap) -> bool {
    let values: Vec<&str> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(parse)
        .filter(|m| !m.q_zero)
        .any(|m| match m.essence.as_str() {
            "application/taxii+json" => m.version.is_none_or(|v| v == "2.1"),
            "*/*" | "application/*" => true,
            _ => false,
        })
}

/// Is the request body declared as TAXII 2.1 JSON (or STIX 2.1 JSON, which
/// some clients send for envelopes)?
pub fn is_taxii_content(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let m = parse(ct);
    matches!(
        m.essence.as_str(),
        "application/taxii+json" | "application/stix+json"
    ) && m.version.is_none_or(|v| v == "2.1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_negotiation() {
        assert!(accepts_taxii(&HeaderMap::new()));
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=2.1",
            "application/taxii+json",
            "*/*",
            "text/html, application/taxii+json;version=2.1;q=0.9",
            "application/json, */*",
        ] {
            assert!(accepts_taxii(&with(ACCEPT, ok)), "{ok}");
        }
        for bad in [
            "application/taxii+json;version=2.0",
            "application/json",
            "text/html",
            "application/taxii+json;version=2.1;q=0",
        ] {
            assert!(!accepts_taxii(&with(ACCEPT, bad)), "{bad}");
        }
    }

    #[test]
    fn content_type_check() {
        assert!(is_taxii_content(&with(CONTENT_TYPE, TAXII_JSON)));
        assert!(is_taxii_content(&with(
            CONTENT_TYPE,
            "application/taxii+json"
        )));
        assert!(!is_taxii_content(&with(CONTENT_TYPE, "application/json")));
        assert!(!is_taxii_content(&with(
            CONTENT_TYPE,
            "application/taxii+json;version=2.0"
        )));
        assert!(!is_taxii_content(&HeaderMap::new()));
    }
}

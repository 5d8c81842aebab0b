//! Where indicators come from: STIX bundles and MVT indicator files (`.stix2`,
//! which are STIX 2.1 bundles, often with custom objects such as `app:id`),
//! and TAXII 2.1 collections.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use serde_json::Value;

use crate::input::InputError;

/// An indicator to scan with.
#[derive(Clone, Debug, PartialEq)]
pub struct Indicator {
    pub id: String,
    /// The indicator's name, else the name of the malware it indicates (as
    /// MVT files relate them), else `None`.
    pub name: Option<String>,
    pub pattern: String,
    pub pattern_type: String,
    pub pattern_version: Option<String>,
}

/// Indicators in STIX content (a bundle, a TAXII envelope, a JSON list or
/// JSON lines). Objects other than indicators only contribute names.
pub fn from_stix(bytes: &[u8], source_name: &str) -> Result<Vec<Indicator>, InputError> {
    Ok(from_objects(&objects_from_stix(bytes, source_name)?))
}

/// The objects of STIX content (a bundle, a TAXII envelope, a JSON list or
/// JSON lines), for callers that want more of them than the indicators
/// (their validity, the sightings among them).
pub fn objects_from_stix(bytes: &[u8], source_name: &str) -> Result<Vec<Value>, InputError> {
    let envelope = stix::split_envelope(bytes).map_err(|e| InputError {
        source_name: source_name.to_owned(),
        line: None,
        message: format!("not STIX content: {e}"),
    })?;
    let mut objects = Vec::with_capacity(envelope.objects.len());
    for (i, raw) in envelope.objects.iter().enumerate() {
        let value: Value = serde_json::from_str(raw.get()).map_err(|e| InputError {
            source_name: source_name.to_owned(),
            line: Some(i as u64 + 1),
            message: format!("object {i} is not JSON: {e}"),
        })?;
        objects.push(value);
    }
    Ok(objects)
}

/// The indicators among `objects`, named as [`from_stix`] names them.
pub fn from_objects(objects: &[Value]) -> Vec<Indicator> {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let names: HashMap<String, String> = objects
        .iter()
        .filter(|o| o.get("type").and_then(Value::as_str) != Some("indicator"))
        .filter_map(|o| Some((str_of(o, "id")?, str_of(o, "name")?)))
        .collect();
    let mut indicates: HashMap<String, String> = HashMap::new();
    for o in objects {
        if o.get("type").and_then(Value::as_str) == Some("relationship")
            && o.get("relationship_type").and_then(Value::as_str) == Some("indicates")
            && let (Some(src), Some(dst)) = (str_of(o, "source_ref"), str_of(o, "target_ref"))
            && let Some(name) = names.get(&dst)
        {
            indicates.entry(src).or_insert_with(|| name.clone());
        }
    }
    objects
        .iter()
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("indicator"))
        .filter_map(|o| {
            let id = str_of(o, "id")?;
            Some(Indicator {
                name: str_of(o, "name").or_else(|| indicates.get(&id).cloned()),
                pattern: str_of(o, "pattern")?,
                // MVT files predating STIX 2.1 omit pattern_type.
                pattern_type: str_of(o, "pattern_type").unwrap_or_else(|| "stix".into()),
                pattern_version: str_of(o, "pattern_version"),
                id,
            })
        })
        .collect()
}

/// A TAXII 2.1 collection to read indicators from.
#[derive(Clone, Debug)]
pub struct TaxiiSource {
    /// The collection's URL (`…/collections/{id}/`) or its objects URL.
    pub url: String,
    pub token: Option<String>,
}

/// Largest response body accepted from a TAXII server.
const MAX_BODY: u64 = 256 << 20;

/// Reads every indicator of the collection, following `next` (and
/// `X-TAXII-Date-Added-Last` when a server pages without `next`).
pub fn from_taxii(source: &TaxiiSource) -> Result<Vec<Indicator>, InputError> {
    Ok(from_objects(&objects_from_taxii(source)?))
}

/// Every indicator and sighting of the collection, following `next` (and
/// `X-TAXII-Date-Added-Last` when a server pages without `next`).
pub fn objects_from_taxii(source: &TaxiiSource) -> Result<Vec<Value>, InputError> {
    let fail = |message: String| InputError {
        source_name: source.url.clone(),
        line: None,
        message,
    };
    let base = objects_url(&source.url);
    let agent = agent();
    let mut objects: Vec<Value> = Vec::new();
    let mut cursor: Option<(&str, String)> = None;
    for page in 0.. {
        if page > 100_000 {
            return Err(fail(
                "more than 100,000 pages: giving up (is the server repeating itself?)".into(),
            ));
        }
        let mut url = format!("{base}?match[type]=indicator,sighting");
        if let Some((name, value)) = &cursor {
            url.push_str(&format!("&{name}={}", percent_encode(value)));
        }
        let mut request = agent
            .get(&url)
            .header("Accept", "application/taxii+json;version=2.1");
        if let Some(token) = &source.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .call()
            .map_err(|e| fail(format!("request failed: {e}")))?;
        let status = response.status().as_u16();
        let date_added_last = response
            .headers()
            .get("X-TAXII-Date-Added-Last")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = String::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_BODY)
            .read_to_string(&mut body)
            .map_err(|e| fail(format!("cannot read the response: {e}")))?;
        if status != 200 {
            let detail: String = body.chars().take(300).collect();
            return Err(fail(match status {
                401 => "the server wants a valid token (--token)".into(),
                403 => "the token may not read this collection".into(),
                404 => "no such collection (check the URL: …/collections/<id>/)".into(),
                406 => "the server does not speak TAXII 2.1".into(),
                _ => format!("HTTP {status}: {detail}"),
            }));
        }
        let envelope: Value = serde_json::from_str(&body)
            .map_err(|e| fail(format!("the response is not JSON: {e}")))?;
        if let Some(Value::Array(page_objects)) = envelope.get("objects") {
            objects.extend(page_objects.iter().cloned());
        }
        let more = envelope
            .get("more")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !more {
            break;
        }
        cursor = match (
            envelope.get("next").and_then(Value::as_str),
            date_added_last,
        ) {
            (Some(next), _) => Some(("next", next.to_owned())),
            (None, Some(last)) => Some(("added_after", last)),
            (None, None) => {
                return Err(fail(
                    "the server says there is more but gives no way to ask for it".into(),
                ));
            }
        };
    }
    Ok(objects)
}

fn objects_url(url: &str) -> String {
    let trimmed = url.split('?').next().unwrap_or(url);
    let with_slash = if trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    };
    if with_slash.ends_with("/objects/") {
        with_slash
    } else {
        format!("{with_slash}objects/")
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A blocking HTTP client: rustls with the aws-lc-rs provider (the one the
/// server side uses too) and the platform's trust store.
pub(crate) fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_indicated_malware() {
        let bundle = br#"{"type":"bundle","id":"bundle--1","objects":[
            {"type":"malware","id":"malware--1","name":"Pegasus"},
            {"type":"indicator","id":"indicator--1","pattern":"[domain-name:value='x.example']"},
            {"type":"relationship","id":"relationship--1","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"malware--1"}]}"#;
        let found = from_stix(bundle, "mvt.stix2").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name.as_deref(), Some("Pegasus"));
        assert_eq!(found[0].pattern_type, "stix");
    }

    #[test]
    fn objects_url_forms() {
        assert_eq!(
            objects_url("https://h/api/collections/c1"),
            "https://h/api/collections/c1/objects/"
        );
        assert_eq!(
            objects_url("https://h/api/collections/c1/objects/"),
            "https://h/api/collections/c1/objects/"
        );
    }
}

//! A TAXII 2.1 client for one peer: pages of objects, posts of envelopes,
//! status resources. Every answer is classified so that the caller knows
//! whether to wait and retry (429, 5xx, network), split (413) or give up
//! (anything else), and no peer can make it wait longer than its timeouts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use stix::Timestamp;

const TAXII: &str = "application/taxii+json;version=2.1";

/// Largest answer read from a peer. A page is asked for at most `limit`
/// objects; this node's own pages stop at 32 MiB (one larger object comes
/// alone), so twice that is room for any honest page.
const MAX_ANSWER: u64 = 64 << 20;

/// Why a request to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Worth retrying after `after` (429, 503 with `Retry-After`, other 5xx,
    /// a network failure or a timeout).
    #[error("{why} (retrying after {}s)", after.as_secs())]
    Retry { after: Duration, why: String },
    /// 413: the envelope is larger than the peer takes.
    #[error("the peer refused the request as too large: {0}")]
    TooLarge(String),
    /// Anything else: the request will not succeed as it is.
    #[error("{0}")]
    Failed(String),
}

/// One page of a collection.
pub struct ObjectsPage {
    pub objects: Vec<Box<RawValue>>,
    pub more: bool,
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-Last`, when the peer sends it.
    pub date_added_last: Option<Timestamp>,
}

/// A TAXII status resource, as far as a push needs it.
#[derive(Debug, Default)]
pub struct Status {
    pub id: String,
    pub complete: bool,
    pub success_count: u64,
    pub failures: Vec<(String, Option<String>, String)>,
}

/// How to reach one peer.
pub struct Client {
    base: String,
    /// The `Authorization` header: `Bearer <token>`, or HTTP Basic when the
    /// credential is `user:password` (servers such as medallion take only
    /// Basic; Entente tokens never hold a colon).
    authorization: String,
    agent: ureq::Agent,
}

impl Client {
    /// `base` is the peer's API root URL (with a trailing slash); `ca_pem`
    /// pins the CA its certificate must chain to (else the platform's roots).
    pub fn new(
        base: &str,
        token: String,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let roots = match ca_pem {
            Some(pem) => {
                let mut certs = Vec::new();
                for item in ureq::tls::parse_pem(pem) {
                    match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c.to_owned()),
                        Ok(_) => {}
                        Err(e) => {
                            return Err(ClientError::Failed(format!(
                                "the peer's CA file is not PEM: {e}"
                            )));
                        }
                    }
                }
                if certs.is_empty() {
                    return Err(ClientError::Failed(
                        "the peer's CA file holds no certificate".into(),
                    ));
                }
                ureq::tls::RootCerts::Specific(Arc::new(certs))
            }
            None => ureq::tls::RootCerts::PlatformVerifier,
        };
        // rustls with aws-lc-rs prefers the hybrid X25519MLKEM768 key
        // exchange, as the node's own server does.
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            // A redirect is never followed: it could move a pull or a push
            // from the configured (TLS-pinned) origin to another one, or
            // turn a POST into a GET whose answer would read as delivered.
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .into();
        let authorization = if token.contains(':') {
            use base64::Engine;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(token.as_bytes())
            )
        } else {
            format!("Bearer {token}")
        };
        Ok(Client {
            base: if base.ends_with('/') {
                base.to_string()
            } else {
                format!("{base}/")
            },
            authorization,
            agent,
        })
    }

    fn objects_url(&self, collection: &str) -> String {
        format!("{}collections/{}/objects/", self.base, encode(collection))
    }

    /// A page of `collection`'s objects added after `added_after`; with
    /// `next`, the following page of that same request (servers such as
    /// medallion require the same parameters with `next`).
    pub fn objects(
        &self,
        collection: &str,
        added_after: Option<Timestamp>,
        next: Option<&str>,
        limit: usize,
    ) -> Result<ObjectsPage, ClientError> {
        let mut url = format!("{}?limit={limit}", self.objects_url(collection));
        if let Some(t) = added_after {
            url.push_str(&format!("&added_after={}", encode(&t.to_string())));
        }
        if let Some(n) = next {
            url.push_str(&format!("&next={}", encode(n)));
        }
        let response = self
            .agent
            .get(&url)
            .header("Accept", TAXII)
            .header("Authorization", &self.authorization)
            .call()
            .map_err(network)?;
        let status = response.status().as_u16();
        let date_last = response
            .headers()
            .get("x-taxii-date-added-last")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Timestamp::parse(v).ok());
        let retry_after = retry_after(response.headers());
        let body = read_body(response)?;
        classify(status, retry_after, &body)?;
        #[derive(serde::Deserialize)]
        struct Envelope {
            #[serde(default)]
            more: bool,
            #[serde(default)]
            next: Option<String>,
            #[serde(default)]
            objects: Vec<Box<RawValue>>,
        }
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
            ClientError::Failed(format!("the peer's answer is not a TAXII envelope: {e}"))
        })?;
        if envelope.objects.len() > limit {
            return Err(ClientError::Failed(format!(
                "the peer answered a page of {} objects when asked for at most {limit}",
                envelope.objects.len()
            )));
        }
        Ok(ObjectsPage {
            objects: envelope.objects,
            more: envelope.more,
            next: envelope.next.filter(|n| !n.is_empty()),
            date_added_last: date_last,
        })
    }

    /// Posts `objects` as one envelope; the status resource it answers with.
    pub fn post(&self, collection: &str, objects: &[&str]) -> Result<Status, ClientError> {
        let mut body =
            String::with_capacity(objects.iter().map(|o| o.len() + 1).sum::<usize>() + 16);
        body.push_str("{\"objects\":[");
        for (i, o) in objects.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(o);
        }
        body.push_str("]}");
        let response = self
            .agent
            .post(&self.objects_url(collection))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .header("Authorization", &self.authorization)
            .send(body.as_bytes())
            .map_err(network)?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let answer = read_body(response)?;
        if status == 413 {
            return Err(ClientError::TooLarge(short(&answer)));
        }
        classify(status, retry_after, &answer)?;
        parse_status(&answer)
    }

    /// The status resource `id`.
    pub fn status(&self, id: &str) -> Result<Status, ClientError> {
        let url = format!("{}status/{}/", self.base, encode(id));
        let response = self
            .agent
            .get(&url)
            .header("Accept", TAXII)
            .header("Authorization", &self.authorization)
            .call()
            .map_err(network)?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let answer = read_body(response)?;
        classify(status, retry_after, &answer)?;
        parse_status(&answer)
    }
}

fn parse_status(body: &[u8]) -> Result<Status, ClientError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ClientError::Failed(format!("the peer's status resource is not JSON: {e}")))?;
    let failures = v["failures"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| {
                    (
                        printable(f["id"].as_str().unwrap_or_default()),
                        f["version"].as_str().map(printable),
                        printable(f["message"].as_str().unwrap_or_default()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Status {
        id: printable(v["id"].as_str().unwrap_or_default()),
        complete: v["status"].as_str() == Some("complete"),
        success_count: v["success_count"].as_u64().unwrap_or(0),
        failures,
    })
}

/// Percent-encodes what goes into a URL path segment or query value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn network(e: ureq::Error) -> ClientError {
    ClientError::Retry {
        after: Duration::from_secs(2),
        why: format!("the peer could not be reached: {e}"),
    }
}

fn read_body(response: ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, ClientError> {
    let mut body = response.into_body();
    body.with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .map_err(|e| ClientError::Retry {
            after: Duration::from_secs(2),
            why: format!("the peer's answer could not be read: {e}"),
        })
}

/// `Retry-After` in seconds (an HTTP date is read as "a minute").
fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let v = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .to_string();
    Some(match v.parse::<u64>() {
        Ok(s) => Duration::from_secs(s.min(3600)),
        Err(_) => Duration::from_secs(60),
    })
}

/// The first bytes of an answer, as text, for an error message.
fn short(body: &[u8]) -> String {
    printable(&String::from_utf8_lossy(&body[..body.len().min(300)]))
}

/// Text a peer sent, safe to print and store: control characters (terminal
/// escapes, line breaks that would forge report lines) removed, at most
/// 1,000 characters.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(1_000)
        .collect()
}

fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Result<(), ClientError> {
    match status {
        200..=299 => Ok(()),
        300..=399 => Err(ClientError::Failed(format!(
            "the peer answered a redirect ({status}); redirects are not followed: give entente peer add the final URL"
        ))),
        429 | 503 => Err(ClientError::Retry {
            after: retry_after.unwrap_or(Duration::from_secs(5)),
            why: format!("the peer is busy ({status}): {}", short(body)),
        }),
        500..=599 => Err(ClientError::Retry {
            after: retry_after.unwrap_or(Duration::from_secs(2)),
            why: format!("the peer failed ({status}): {}", short(body)),
        }),
        401 | 403 => Err(ClientError::Failed(format!(
            "the peer refused our credentials ({status}): {}; check the token file given to entente peer add",
            short(body)
        ))),
        404 => Err(ClientError::Failed(format!(
            "the peer has no such collection or API root (404): {}",
            short(body)
        ))),
        _ => Err(ClientError::Failed(format!(
            "the peer answered {status}: {}",
            short(body)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        assert!(classify(202, None, b"").is_ok());
        assert!(matches!(
            classify(429, Some(Duration::from_secs(7)), b""),
            Err(ClientError::Retry { after, .. }) if after == Duration::from_secs(7)
        ));
        assert!(matches!(
            classify(500, None, b"boom"),
            Err(ClientError::Retry { .. })
        ));
        assert!(
            matches!(classify(401, None, b""), Err(ClientError::Failed(m)) if m.contains("token"))
        );
        assert!(matches!(
            classify(404, None, b""),
            Err(ClientError::Failed(_))
        ));
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(short(b"x\ny"), "xy");
    }
}

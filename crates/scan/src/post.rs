//! Posting what a scan found (sightings, observed data and the observables
//! they refer to) to a TAXII 2.1 collection: envelopes cut to fit the API
//! root's `max_content_length`, and each envelope's status resource followed
//! until the server has finished with it.

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::indicators::agent;

const TAXII: &str = "application/taxii+json;version=2.1";

/// Largest response body read from the server (a status lists every object).
const MAX_BODY: u64 = 64 << 20;

/// `{"objects":[` and `]}` around the objects of an envelope.
const ENVELOPE_HEAD: &str = r#"{"objects":["#;
const ENVELOPE_TAIL: &str = "]}";

/// A TAXII 2.1 collection to post objects to.
#[derive(Clone, Debug)]
pub struct TaxiiTarget {
    /// The collection's URL (`…/collections/{id}/`) or its objects URL.
    pub url: String,
    pub token: Option<String>,
}

/// How envelopes are cut and how long a pending status is waited for.
#[derive(Clone, Debug)]
pub struct PostLimits {
    /// Most objects in one envelope, whatever their size.
    pub max_objects: usize,
    /// How long to keep asking while a status stays `pending`.
    pub status_wait: Duration,
}

impl Default for PostLimits {
    fn default() -> Self {
        PostLimits {
            max_objects: 1_000,
            status_wait: Duration::from_secs(600),
        }
    }
}

/// Why objects could not be posted (the status of an envelope that was
/// received is an [`EnvelopeReport`], failures included, not an error).
#[derive(Debug, thiserror::Error)]
#[error("{url}: {message}")]
pub struct PostError {
    pub url: String,
    pub message: String,
}

/// What the server did with one envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvelopeReport {
    /// Position among the envelopes of the post, from 1.
    pub number: usize,
    /// How many envelopes the post was cut into.
    pub of: usize,
    pub objects: usize,
    pub bytes: usize,
    pub status_id: String,
    pub success_count: u64,
    pub failures: Vec<Failure>,
}

/// An object the server did not store, with its reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub id: String,
    pub message: String,
}

/// The URLs a post needs, from a collection URL.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionUrls {
    pub api_root: String,
    pub objects: String,
}

/// Splits `…/{api-root}/collections/{id}/[objects/]` into the API root and
/// the objects URL.
pub fn collection_urls(url: &str) -> Result<CollectionUrls, String> {
    let bare = url.split(['?', '#']).next().unwrap_or(url);
    if !(bare.starts_with("http://") || bare.starts_with("https://")) {
        return Err("give an http:// or https:// URL of a collection".into());
    }
    let mut path = bare.trim_end_matches('/');
    if let Some(collection) = path.strip_suffix("/objects") {
        path = collection;
    }
    let shape = "expected a collection URL such as https://host/api1/collections/<id>/";
    let Some(at) = path.rfind("/collections/") else {
        return Err(shape.into());
    };
    let id = &path[at + "/collections/".len()..];
    if id.is_empty() || id.contains('/') {
        return Err(shape.into());
    }
    Ok(CollectionUrls {
        api_root: path[..=at].to_owned(),
        objects: format!("{path}/objects/"),
    })
}

/// Cuts serialised objects into envelopes of at most `max_bytes` bytes and
/// `max_objects` objects each, keeping their order. Returns each envelope's
/// body and object count.
pub fn split_envelopes(
    objects: &[String],
    max_bytes: u64,
    max_objects: usize,
) -> Result<Vec<(String, usize)>, String> {
    let fixed = (ENVELOPE_HEAD.len() + ENVELOPE_TAIL.len()) as u64;
    let max_objects = max_objects.max(1);
    let mut envelopes = Vec::new();
    let mut body = String::from(ENVELOPE_HEAD);
    let mut count = 0usize;
    for object in objects {
        let alone = fixed + object.len() as u64;
        if alone > max_bytes {
            return Err(format!(
                "{} is {} bytes in an envelope, more than the API root's max_content_length of {max_bytes} bytes",
                object_name(object),
                alone
            ));
        }
        let with = body.len() as u64 + u64::from(count > 0) + object.len() as u64 + 2;
        if count > 0 && (count >= max_objects || with > max_bytes) {
            body.push_str(ENVELOPE_TAIL);
            envelopes.push((std::mem::replace(&mut body, ENVELOPE_HEAD.into()), count));
            count = 0;
        }
        if count > 0 {
            body.push(',');
        }
        body.push_str(object);
        count += 1;
    }
    if count > 0 {
        body.push_str(ENVELOPE_TAIL);
        envelopes.push((body, count));
    }
    Ok(envelopes)
}

fn object_name(object: &str) -> String {
    serde_json::from_str::<Value>(object)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "an object without an id".into())
}

/// Posts `objects` (each one serialised STIX object) to the collection:
/// reads the API root's `max_content_length`, posts envelopes that fit it in
/// order, and waits for each envelope's status to be complete before the
/// next. `on_envelope` hears of each envelope as soon as it is done.
pub fn post_objects(
    target: &TaxiiTarget,
    objects: &[String],
    limits: &PostLimits,
    mut on_envelope: impl FnMut(&EnvelopeReport),
) -> Result<Vec<EnvelopeReport>, PostError> {
    let fail = |message: String| PostError {
        url: target.url.clone(),
        message,
    };
    let urls = collection_urls(&target.url).map_err(fail)?;
    let agent = agent();
    let client = Client {
        agent: &agent,
        token: target.token.as_deref(),
    };
    let max_bytes = client.max_content_length(&urls.api_root)?;
    let envelopes = split_envelopes(objects, max_bytes, limits.max_objects).map_err(fail)?;
    let of = envelopes.len();
    let mut reports = Vec::with_capacity(of);
    for (i, (body, count)) in envelopes.iter().enumerate() {
        let stored_before = if i == 0 {
            String::new()
        } else {
            format!(" (envelopes 1-{i} of {of} were posted before it)")
        };
        let status = client
            .post_envelope(&urls.objects, body)
            .and_then(|status| client.wait(&urls.api_root, status, limits.status_wait))
            .map_err(|e| PostError {
                url: e.url,
                message: format!("envelope {} of {of}: {}{stored_before}", i + 1, e.message),
            })?;
        let report = EnvelopeReport {
            number: i + 1,
            of,
            objects: *count,
            bytes: body.len(),
            status_id: status.id,
            success_count: status.success_count,
            failures: status.failures,
        };
        on_envelope(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// A status resource as far as a poster cares.
#[derive(Debug, PartialEq)]
struct Status {
    id: String,
    pending: bool,
    success_count: u64,
    pending_count: u64,
    failures: Vec<Failure>,
}

fn parse_status(body: &str) -> Result<Status, String> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| format!("the status is not JSON: {e}"))?;
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or("the status resource has no id")?
        .to_owned();
    let state = v
        .get("status")
        .and_then(Value::as_str)
        .ok_or("the status resource has no status")?;
    let count = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let failures = v
        .get("failures")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|f| Failure {
                    id: f
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("(no id)")
                        .to_owned(),
                    message: f
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("(no reason given)")
                        .to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Status {
        id,
        pending: state == "pending",
        success_count: count("success_count"),
        pending_count: count("pending_count"),
        failures,
    })
}

struct Client<'a> {
    agent: &'a ureq::Agent,
    token: Option<&'a str>,
}

impl Client<'_> {
    fn max_content_length(&self, api_root: &str) -> Result<u64, PostError> {
        let fail = |message: String| PostError {
            url: api_root.to_owned(),
            message,
        };
        let (status, body) = self.get(api_root).map_err(fail)?;
        if status != 200 {
            return Err(fail(match status {
                401 => "the server wants a valid token to post (--post-token or --token)".into(),
                403 => format!("the token may not use this API root{}", detail(&body)),
                404 => "no such API root (check the collection URL)".into(),
                406 => "the server does not speak TAXII 2.1".into(),
                _ => format!("reading the API root: HTTP {status}{}", detail(&body)),
            }));
        }
        let root: Value = serde_json::from_str(&body)
            .map_err(|e| fail(format!("the API root is not JSON: {e}")))?;
        match root.get("max_content_length").and_then(Value::as_u64) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(fail(
                "the API root gives no max_content_length: is this a TAXII 2.1 API root?".into(),
            )),
        }
    }

    fn post_envelope(&self, objects_url: &str, body: &str) -> Result<Status, PostError> {
        let fail = |message: String| PostError {
            url: objects_url.to_owned(),
            message,
        };
        let mut request = self
            .agent
            .post(objects_url)
            .header("Accept", TAXII)
            .header("Content-Type", TAXII);
        if let Some(token) = self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let (status, reply) = read_reply(request.send(body)).map_err(fail)?;
        match status {
            200..=202 => parse_status(&reply).map_err(fail),
            401 => Err(fail(
                "the server wants a valid token to post (--post-token or --token)".into(),
            )),
            403 => Err(fail(format!(
                "the token may not write to this collection{}",
                detail(&reply)
            ))),
            404 => Err(fail(format!(
                "no such collection for this token (check the URL and that the token's organisation may use it){}",
                detail(&reply)
            ))),
            413 => Err(fail(format!(
                "the server refused an envelope of {} bytes as too large{}",
                body.len(),
                detail(&reply)
            ))),
            415 => Err(fail(
                "the server does not accept TAXII 2.1 envelopes at this URL".into(),
            )),
            _ => Err(fail(format!("HTTP {status}{}", detail(&reply)))),
        }
    }

    /// Asks for the status again while it is pending, backing off up to 5 s
    /// between requests, for at most `patience`.
    fn wait(&self, api_root: &str, first: Status, patience: Duration) -> Result<Status, PostError> {
        let mut status = first;
        let started = Instant::now();
        let mut pause = Duration::from_millis(200);
        while status.pending {
            let url = format!("{api_root}status/{}/", status.id);
            let fail = |message: String| PostError {
                url: url.clone(),
                message,
            };
            if started.elapsed() >= patience {
                return Err(fail(format!(
                    "still pending after {} s ({} objects not yet processed); ask the status resource later",
                    patience.as_secs(),
                    status.pending_count
                )));
            }
            std::thread::sleep(pause.min(patience.saturating_sub(started.elapsed())));
            pause = (pause * 2).min(Duration::from_secs(5));
            let (code, body) = self.get(&url).map_err(fail)?;
            if code != 200 {
                return Err(fail(format!(
                    "reading the status: HTTP {code}{}",
                    detail(&body)
                )));
            }
            status = parse_status(&body).map_err(fail)?;
        }
        Ok(status)
    }

    fn get(&self, url: &str) -> Result<(u16, String), String> {
        let mut request = self.agent.get(url).header("Accept", TAXII);
        if let Some(token) = self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        read_reply(request.call())
    }
}

fn read_reply(
    reply: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, String), String> {
    let mut response = reply.map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let mut body = String::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_BODY)
        .read_to_string(&mut body)
        .map_err(|e| format!("cannot read the response: {e}"))?;
    Ok((status, body))
}

/// The server's own words from a TAXII error resource, as ` (server: …)`.
fn detail(body: &str) -> String {
    let words = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.get("description")
            .or_else(|| v.get("title"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    match words {
        Some(w) => format!(" (server: {w})"),
        None if body.trim().is_empty() => String::new(),
        None => format!(" (server: {})", body.chars().take(300).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_url_forms() {
        let want = CollectionUrls {
            api_root: "https://h/api1/".into(),
            objects: "https://h/api1/collections/c1/objects/".into(),
        };
        for url in [
            "https://h/api1/collections/c1/",
            "https://h/api1/collections/c1",
            "https://h/api1/collections/c1/objects/",
            "https://h/api1/collections/c1/objects/?limit=3",
        ] {
            assert_eq!(collection_urls(url).as_ref(), Ok(&want), "{url}");
        }
        assert!(collection_urls("https://h/api1/").is_err());
        assert!(collection_urls("https://h/api1/collections/").is_err());
        assert!(collection_urls("https://h/api1/collections/c1/manifest/").is_err());
        assert!(collection_urls("h/api1/collections/c1/").is_err());
    }

    fn objects(n: usize, size: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let head = format!(r#"{{"id":"x--{i}","p":""#);
                let pad = "a".repeat(size - head.len() - 2);
                format!(r#"{head}{pad}"}}"#)
            })
            .collect()
    }

    #[test]
    fn envelopes_stay_within_both_limits_and_keep_order() {
        let all = objects(10, 100);
        // 14 bytes of envelope, 100 per object, 1 per comma: 3 fit in 316.
        let cut = split_envelopes(&all, 316, 1_000).unwrap();
        assert_eq!(
            cut.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        assert!(cut.iter().all(|(body, _)| body.len() <= 316));
        assert_eq!(cut[0].0.len(), 316);
        let back: Vec<String> = cut
            .iter()
            .flat_map(|(body, _)| {
                let v: Value = serde_json::from_str(body).unwrap();
                v["objects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(back, all);
        assert_eq!(split_envelopes(&all, 315, 1_000).unwrap()[0].1, 2);

        let cut = split_envelopes(&all, 1 << 20, 4).unwrap();
        assert_eq!(cut.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [4, 4, 2]);
        assert!(split_envelopes(&[], 100, 10).unwrap().is_empty());
    }

    #[test]
    fn an_object_larger_than_the_limit_is_named() {
        let all = objects(2, 100);
        let e = split_envelopes(&all, 113, 10).unwrap_err();
        assert!(e.contains("x--0") && e.contains("114 bytes"), "{e}");
    }

    #[test]
    fn status_failures_and_pending() {
        let s = parse_status(
            r#"{"id":"s1","status":"pending","total_count":3,"success_count":1,"failure_count":1,"pending_count":1,
                "failures":[{"id":"sighting--1","version":"2026-01-01T00:00:00.000Z","message":"refused: TLP"}]}"#,
        )
        .unwrap();
        assert_eq!(
            s,
            Status {
                id: "s1".into(),
                pending: true,
                success_count: 1,
                pending_count: 1,
                failures: vec![Failure {
                    id: "sighting--1".into(),
                    message: "refused: TLP".into()
                }],
            }
        );
        assert!(parse_status(r#"{"status":"complete"}"#).is_err());
    }

    #[test]
    fn error_details_come_from_taxii_error_resources() {
        assert_eq!(
            detail(r#"{"title":"Forbidden","description":"no write access"}"#),
            " (server: no write access)"
        );
        assert_eq!(detail(""), "");
        assert_eq!(detail("plain words"), " (server: plain words)");
    }
}

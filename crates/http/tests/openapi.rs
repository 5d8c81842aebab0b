//! The OpenAPI document of the Entente API against the code it describes:
//! the routes the router registers, the published incident record schema,
//! the reporting rules' regimes and stages, and the server answering on
//! loopback. The answers themselves are checked against the document by
//! schemathesis (`tests/api/test_openapi.py`); this test keeps the parts a
//! live run cannot see (a route nobody documented, a copied schema that
//! drifted) from going stale.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use entente_http::api::{OPENAPI_DOCUMENT, ROUTES};
use entente_http::{AppState, ConnectionLimits, HttpConfig};
use serde_json::Value;

const OPERATIONS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The media type of every error resource the node answers.
const ERROR_TYPE: &str = "application/taxii+json;version=2.1";

fn document() -> Value {
    serde_json::from_str(OPENAPI_DOCUMENT)
        .unwrap_or_else(|e| panic!("crates/http/src/api/openapi.json is not JSON: {e}"))
}

/// Every (path, METHOD) of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("the document has no paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for method in OPERATIONS {
            if item.get(method).is_some() {
                out.insert((path.clone(), method.to_ascii_uppercase()));
            }
        }
    }
    out
}

/// Every operation of the document: (path, method, operation, path item).
fn operations(doc: &Value) -> Vec<(String, String, &Value, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in OPERATIONS {
            if let Some(op) = item.get(method) {
                out.push((path.clone(), method.to_string(), op, item));
            }
        }
    }
    out
}

/// Follows `#/a/b` JSON pointers within the document.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// `value`, with a `$ref` followed (once is enough: no reference of the
/// document points at another reference).
fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(doc, r).unwrap_or_else(|| panic!("{r} does not resolve")),
        None => value,
    }
}

#[test]
fn the_document_is_openapi_3_1_of_this_release() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0", "the document must be OpenAPI 3.1");
    assert_eq!(
        doc["info"]["version"],
        env!("CARGO_PKG_VERSION"),
        "info.version of openapi.json must be the release it ships in"
    );
    assert!(
        doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()),
        "the document needs info.title"
    );
}

#[test]
fn the_document_names_exactly_the_routes_the_router_registers() {
    let doc = document();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|r| {
            r.methods
                .iter()
                .map(|(m, _)| (r.path.to_string(), m.to_string()))
        })
        .collect();
    let documented = documented(&doc);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routed in api::ROUTES but missing from openapi.json: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "in openapi.json but not routed by api::ROUTES: {unrouted:?}"
    );
}

#[test]
fn every_reference_resolves() {
    fn walk(doc: &Value, at: &Value, trail: &str, broken: &mut Vec<String>) {
        match at {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        let target = v.as_str().unwrap_or("");
                        if resolve(doc, target).is_none() {
                            broken.push(format!("{trail}: {target}"));
                        }
                    } else {
                        walk(doc, v, &format!("{trail}/{k}"), broken);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(doc, v, &format!("{trail}/{i}"), broken);
                }
            }
            _ => {}
        }
    }
    let doc = document();
    let mut broken = Vec::new();
    walk(&doc, &doc, "", &mut broken);
    assert!(
        broken.is_empty(),
        "references that resolve to nothing: {broken:#?}"
    );
}

#[test]
fn operation_ids_are_unique_and_links_name_real_operations() {
    let doc = document();
    let mut ids = BTreeMap::new();
    for (path, method, op, _) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        if let Some(other) = ids.insert(id.to_string(), format!("{method} {path}")) {
            panic!("operationId {id} is used by {other} and {method} {path}");
        }
    }
    for (path, method, op, _) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let response = deref(&doc, response);
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap_or("");
                assert!(
                    ids.contains_key(target),
                    "{method} {path} {status}: link {name} names no operation ({target:?})"
                );
            }
        }
    }
}

/// What every operation can be answered, whatever it does: the statuses
/// that layers and extractors produce before a handler runs.
#[test]
fn every_operation_documents_the_answers_its_extractors_make() {
    let doc = document();
    for (path, method, op, item) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let has = |status: &str| responses.contains_key(status);
        let params: Vec<&Value> = item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(op["parameters"].as_array().into_iter().flatten())
            .map(|p| deref(&doc, p))
            .collect();
        let named = |name: &str| params.iter().any(|p| p["name"] == name);
        let what = format!("{} {path}", method.to_ascii_uppercase());
        // The authentication layer refuses bad credentials on every route.
        assert!(has("401"), "{what}: no 401");
        assert!(has("500"), "{what}: no 500");
        if path.contains("{id}") {
            assert!(named("id"), "{what}: the {{id}} parameter is not declared");
            assert!(has("400"), "{what}: no 400 for an id that is not UTF-8");
            assert!(has("404"), "{what}: no 404 for an incident it cannot see");
        }
        if named("at") {
            assert!(has("400"), "{what}: no 400 for a bad `at`");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "408", "413", "415", "422"] {
                assert!(has(status), "{what} takes a body but documents no {status}");
            }
            let body = deref(&doc, &op["requestBody"]);
            let types: Vec<&String> = body["content"].as_object().unwrap().keys().collect();
            assert_eq!(types, ["application/json"], "{what}: request media types");
        }
        for (status, response) in responses {
            let response = deref(&doc, response);
            let content = response["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{what} {status}: no content"));
            let types: Vec<&String> = content.keys().collect();
            let expected = if status.starts_with('2') {
                "application/json"
            } else {
                ERROR_TYPE
            };
            assert_eq!(types, [expected], "{what} {status}: media types");
            if !status.starts_with('2') {
                let schema = deref(&doc, &content[expected]["schema"]);
                let pinned = &schema["properties"]["http_status"]["const"];
                assert_eq!(pinned, status.as_str(), "{what} {status}: http_status");
            }
        }
    }
}

/// The record schema is published once, in `crates/reporting/schema/`; the
/// document carries a copy (a document served to clients must stand
/// alone), with its `$defs` references pointing into the copy.
#[test]
fn the_embedded_record_schema_is_the_published_one() {
    fn rewrite(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => {
                            *r =
                                r.replace("#/$defs/", "#/components/schemas/IncidentRecord/$defs/");
                        }
                        (_, v) => rewrite(v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(rewrite),
            _ => {}
        }
    }
    let mut published: Value = serde_json::from_str(reporting::schema::INCIDENT_SCHEMA).unwrap();
    let fields = published.as_object_mut().unwrap();
    // `$id` would make the copy's references resolve against the published
    // schema's URN instead of the document.
    fields.remove("$id");
    fields.remove("$schema");
    rewrite(&mut published);
    let doc = document();
    let embedded = &doc["components"]["schemas"]["IncidentRecord"];
    if *embedded != published {
        let mut differing: Vec<String> = Vec::new();
        for key in ["properties", "$defs"] {
            let (a, b) = (&embedded[key], &published[key]);
            let names: BTreeSet<&String> = a
                .as_object()
                .into_iter()
                .flatten()
                .chain(b.as_object().into_iter().flatten())
                .map(|(k, _)| k)
                .collect();
            differing.extend(
                names
                    .into_iter()
                    .filter(|n| a.get(n.as_str()) != b.get(n.as_str()))
                    .map(|n| format!("{key}.{n}")),
            );
        }
        panic!(
            "components.schemas.IncidentRecord of openapi.json differs from crates/reporting/schema/incident.schema.json \
             (without $id and $schema, `#/$defs/` references as `#/components/schemas/IncidentRecord/$defs/`); \
             copy the schema again. Differing: {differing:?}"
        );
    }
}

#[test]
fn submission_regimes_and_stages_are_those_of_the_reporting_rules() {
    let rules = reporting::RuleSet::embedded().expect("the embedded reporting rules load");
    let expected: BTreeMap<String, Vec<String>> = rules
        .regimes()
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.stages.iter().map(|s| s.id.clone()).collect(),
            )
        })
        .collect();
    let doc = document();
    let choices = doc["components"]["schemas"]["SubmissionRequest"]["oneOf"]
        .as_array()
        .expect("SubmissionRequest has a oneOf of regime and stage pairs");
    let mut documented = BTreeMap::new();
    for choice in choices {
        let regime = choice["properties"]["regime"]["const"]
            .as_str()
            .unwrap_or_else(|| {
                panic!("a SubmissionRequest choice without a regime const: {choice}")
            });
        let stages: Vec<String> = choice["properties"]["stage"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{regime}: no stage enum"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert!(
            documented.insert(regime.to_string(), stages).is_none(),
            "{regime} appears twice in SubmissionRequest.oneOf"
        );
    }
    assert_eq!(
        documented, expected,
        "SubmissionRequest.oneOf of openapi.json must list the regimes and stages of crates/reporting/regimes"
    );
}

// ------------------------------------------------------------ the router

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One request without credentials, on its own connection.
fn anonymous(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status line in {text:?}"));
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Reply {
        status,
        headers: headers.to_string(),
        body: body.to_string(),
    }
}

fn serve() -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = node::Node::open(
        &node::Database::Sqlite {
            path: dir.path().join("node.db"),
            options: node::SqliteOptions::default(),
        },
        stix::Validator::new(),
    )
    .unwrap();
    let state = AppState::new(node, HttpConfig::default(), false);
    (
        common::serve_on_loopback(state, ConnectionLimits::default()),
        dir,
    )
}

/// The router answers every method of [`ROUTES`], with and without the
/// trailing slash, and refuses the others with 405 naming exactly those:
/// the table the document is checked against is the router's own.
#[test]
fn the_router_answers_exactly_the_routes_of_the_table() {
    let (addr, _dir) = serve();
    for route in ROUTES {
        let path = route
            .path
            .replace("{id}", "0b7f3c5e-2d4a-4e8b-9c1d-000000000001");
        let mut forms = vec![path.clone()];
        if let Some(unslashed) = path.strip_suffix('/') {
            forms.push(unslashed.to_string());
        }
        let listed: Vec<&str> = route.methods.iter().map(|(m, _)| *m).collect();
        for form in &forms {
            for method in &listed {
                let reply = anonymous(addr, method, form);
                // The document is public; everything else needs a token.
                let expected = if route.path.ends_with("openapi.json") {
                    200
                } else {
                    401
                };
                assert_eq!(
                    reply.status, expected,
                    "{method} {form} without a token: {}",
                    reply.body
                );
            }
            let unlisted = ["GET", "PUT", "POST", "DELETE", "PATCH"]
                .into_iter()
                .find(|m| !listed.contains(m))
                .unwrap();
            let refused = anonymous(addr, unlisted, form);
            assert_eq!(refused.status, 405, "{unlisted} {form}: {}", refused.body);
            let mut allowed: Vec<&str> = refused
                .header("allow")
                .unwrap_or_else(|| panic!("{unlisted} {form}: 405 without Allow"))
                .split(',')
                .map(str::trim)
                .filter(|m| *m != "HEAD")
                .collect();
            allowed.sort_unstable();
            let mut want = listed.clone();
            want.sort_unstable();
            assert_eq!(allowed, want, "Allow of {form}");
        }
    }
}

#[test]
fn the_document_is_served_as_shipped_without_a_token() {
    let (addr, _dir) = serve();
    let reply = anonymous(addr, "GET", "/entente/v1/openapi.json");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body, OPENAPI_DOCUMENT);
}

/// The web console is HTML for people, outside the API and its document:
/// the document describes `/entente/v1/` only and says so, the console's
/// pages answer HTML (or send an anonymous visitor to sign in), and nothing
/// of the console answers under `/entente/v1/`.
#[test]
fn the_console_is_html_outside_the_document() {
    let doc = document();
    for (path, _) in documented(&doc) {
        assert!(
            path.starts_with("/entente/v1/"),
            "{path} is documented outside /entente/v1/"
        );
    }
    for route in ROUTES {
        assert!(route.path.starts_with("/entente/v1/"), "{}", route.path);
    }
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(
        description.contains("web console") && description.contains("`/console/`"),
        "the document must say the console is not part of it"
    );
    let (addr, _dir) = serve();
    let page = anonymous(addr, "GET", "/console/sign-in");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.header("content-type")
    );
    for path in ["/", "/console/", "/console/objects", "/console/admin"] {
        let reply = anonymous(addr, "GET", path);
        assert!(
            (300..400).contains(&reply.status)
                && reply
                    .header("location")
                    .is_some_and(|l| l.starts_with("/console/sign-in")),
            "GET {path} anonymously: {} {:?}",
            reply.status,
            reply.header("location")
        );
    }
    // The API's own answers there (asked to authenticate, as for any path
    // of it), never a console page.
    for path in ["/entente/v1/console/", "/entente/v1/console/sign-in"] {
        let reply = anonymous(addr, "GET", path);
        assert!(
            [401, 404].contains(&reply.status),
            "GET {path}: {}",
            reply.body
        );
        assert_eq!(reply.header("content-type"), Some(ERROR_TYPE), "{path}");
    }
}

//! Objects, manifests and versions of a collection.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use node::{Collection, Need, ObjectQuery, Outcome, ReadPage, VersionMatch};
use serde_json::json;
use sharing::Principal;
use stix::Timestamp;

use super::cursor::Cursor;
use super::filters::{Endpoint, Filters};
use super::media::{STIX_JSON, is_taxii_content};
use super::{add_date_headers, collection_for, json, taxii};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::serve::WritePermits;

/// Turns filters into a store query, resolving `next` against this query.
fn store_query(
    state: &AppState,
    filters: &Filters,
    endpoint: Endpoint,
    collection: &str,
    object: &str,
) -> Result<(ObjectQuery, u64), ApiError> {
    let fingerprint = filters.fingerprint(endpoint, collection, object);
    let mut after = filters.added_after;
    if let Some(next) = &filters.next {
        let cursor =
            Cursor::decode(next, fingerprint).map_err(|e| ApiError::bad_request(e.to_string()))?;
        after = Some(after.map_or(cursor.after, |a| a.max(cursor.after)));
    }
    let config = state.config();
    let limit = filters
        .limit
        .unwrap_or(config.default_page_size)
        .min(config.max_page_size)
        .max(1);
    let mut ids = filters.ids.clone();
    if !object.is_empty() {
        ids = vec![object.to_string()];
    }
    Ok((
        ObjectQuery {
            added_after: after,
            ids,
            types: filters.types.clone(),
            versions: filters.versions.clone(),
            spec_versions: filters.spec_versions.clone(),
            limit,
            with_raw: matches!(endpoint, Endpoint::Objects | Endpoint::Object),
            audience: None,
            max_bytes: None,
            max_tlp: None,
            relay_guard: Vec::new(),
        },
        fingerprint,
    ))
}

fn next_cursor(page: &ReadPage, fingerprint: u64) -> Option<String> {
    match (page.more, page.resume_after) {
        (true, Some(after)) => Some(Cursor { after, fingerprint }.encode()),
        _ => None,
    }
}

/// An envelope written straight from the stored bytes: objects are never
/// re-encoded, so what is served is exactly what was sent.
fn envelope(page: &ReadPage, next: Option<&str>) -> Response {
    if page.items.is_empty() && !page.more {
        // TAXII: an empty result is an empty envelope.
        return taxii(StatusCode::OK, "{}");
    }
    let size: usize = page.items.iter().map(|o| o.raw.len() + 1).sum();
    let mut body = String::with_capacity(size + 96);
    body.push_str(r#"{"more":"#);
    body.push_str(if page.more { "true" } else { "false" });
    if let Some(n) = next {
        body.push_str(r#","next":""#);
        body.push_str(n);
        body.push('"');
    }
    if !page.items.is_empty() {
        body.push_str(r#","objects":["#);
        for (i, o) in page.items.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&o.raw);
        }
        body.push(']');
    }
    body.push('}');
    let mut r = taxii(StatusCode::OK, body);
    add_date_headers(
        &mut r,
        page.items.first().map(|o| o.date_added),
        page.items.last().map(|o| o.date_added),
    );
    r
}

/// Reads a page as the principal sees it.
async fn run_query(
    state: &AppState,
    principal: &Principal,
    collection: &Collection,
    query: ObjectQuery,
) -> Result<ReadPage, ApiError> {
    let (principal, collection) = (principal.clone(), collection.clone());
    state
        .blocking(move |s| Ok(s.node().read(&principal, &collection, &query)?))
        .await
}

/// The versions of `object` the principal may see, at most `limit`. An
/// object with none is answered 404 whether it is absent or hidden.
async fn visible_versions(
    state: &AppState,
    principal: &Principal,
    collection: &Collection,
    object: &str,
    limit: usize,
) -> Result<ReadPage, ApiError> {
    let probe = ObjectQuery {
        ids: vec![object.to_string()],
        versions: VersionMatch::all(),
        limit,
        ..Default::default()
    };
    run_query(state, principal, collection, probe).await
}

async fn object_exists(
    state: &AppState,
    principal: &Principal,
    collection: &Collection,
    object: &str,
) -> Result<bool, ApiError> {
    Ok(!visible_versions(state, principal, collection, object, 1)
        .await?
        .items
        .is_empty())
}

fn object_not_found(object: &str) -> ApiError {
    ApiError::not_found(format!("object {object} is not in this collection"))
}

fn check_object_id(object: &str) -> Result<(), ApiError> {
    stix::Identifier::parse(object)
        .map(|_| ())
        .map_err(|e| ApiError::not_found(format!("no such object: {e}")))
}

pub async fn get_objects(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, collection)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filters = Filters::parse(q.as_deref(), Endpoint::Objects)?;
    let (c, _) = collection_for(&state, &principal, root, collection, Need::Read).await?;
    let (query, fp) = store_query(&state, &filters, Endpoint::Objects, &c.id, "")?;
    let page = run_query(&state, &principal, &c, query).await?;
    Ok(envelope(&page, next_cursor(&page, fp).as_deref()))
}

pub async fn get_object(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, collection, object)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filters = Filters::parse(q.as_deref(), Endpoint::Object)?;
    let (c, _) = collection_for(&state, &principal, root, collection, Need::Read).await?;
    check_object_id(&object)?;
    let (query, fp) = store_query(&state, &filters, Endpoint::Object, &c.id, &object)?;
    let page = run_query(&state, &principal, &c, query).await?;
    if page.items.is_empty() && !object_exists(&state, &principal, &c, &object).await? {
        return Err(object_not_found(&object));
    }
    Ok(envelope(&page, next_cursor(&page, fp).as_deref()))
}

pub async fn delete_object(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, collection, object)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filters = Filters::parse(q.as_deref(), Endpoint::ObjectDelete)?;
    let (c, _) = collection_for(&state, &principal, root, collection, Need::ReadWrite).await?;
    check_object_id(&object)?;
    state
        .blocking(move |s| {
            Ok(s.node().delete_object(
                &principal,
                &c,
                &object,
                &filters.versions,
                &filters.spec_versions,
            )?)
        })
        .await?;
    Ok(taxii(StatusCode::OK, Body::empty()))
}

pub async fn manifest(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, collection)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filters = Filters::parse(q.as_deref(), Endpoint::Manifest)?;
    let (c, _) = collection_for(&state, &principal, root, collection, Need::Read).await?;
    let (query, fp) = store_query(&state, &filters, Endpoint::Manifest, &c.id, "")?;
    let page = run_query(&state, &principal, &c, query).await?;
    let next = next_cursor(&page, fp);
    let records: Vec<_> = page
        .items
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "date_added": o.date_added.to_string(),
                "version": o.version.to_stix(),
                "media_type": STIX_JSON,
            })
        })
        .collect();
    let mut body = json!({});
    if !records.is_empty() || page.more {
        body["more"] = json!(page.more);
    }
    if let Some(n) = next {
        body["next"] = json!(n);
    }
    if !records.is_empty() {
        body["objects"] = json!(records);
    }
    let mut r = json(StatusCode::OK, &body)?;
    add_date_headers(
        &mut r,
        page.items.first().map(|o| o.date_added),
        page.items.last().map(|o| o.date_added),
    );
    Ok(r)
}

pub async fn versions(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, collection, object)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut filters = Filters::parse(q.as_deref(), Endpoint::Versions)?;
    filters.versions = VersionMatch::all();
    let (c, _) = collection_for(&state, &principal, root, collection, Need::Read).await?;
    check_object_id(&object)?;
    let (query, fp) = store_query(&state, &filters, Endpoint::Versions, &c.id, &object)?;
    let page = run_query(&state, &principal, &c, query).await?;
    if page.items.is_empty() && !object_exists(&state, &principal, &c, &object).await? {
        return Err(object_not_found(&object));
    }
    let next = next_cursor(&page, fp);
    let mut body = json!({});
    if !page.items.is_empty() || page.more {
        body["more"] = json!(page.more);
    }
    if let Some(n) = next {
        body["next"] = json!(n);
    }
    if !page.items.is_empty() {
        body["versions"] = json!(
            page.items
                .iter()
                .map(|o| o.version.to_stix())
                .collect::<Vec<_>>()
        );
    }
    let mut r = json(StatusCode::OK, &body)?;
    add_date_headers(
        &mut r,
        page.items.first().map(|o| o.date_added),
        page.items.last().map(|o| o.date_added),
    );
    Ok(r)
}

/// Reads the body, which the API root's limit layer (`super::limit_body`)
/// cuts off as soon as it passes `limit` bytes.
async fn read_body(body: Body, limit: u64) -> Result<Vec<u8>, ApiError> {
    match body.collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e)
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) =>
        {
            Err(ApiError::too_large(limit))
        }
        Err(e) => Err(ApiError::unreadable_body(&e)),
    }
}

/// One status detail: `{id, version, message}`.
/// Appends one status detail, `{"id", "version", "message"?}`, to `out`.
/// Written by hand: a status can list a hundred thousand objects.
fn push_detail(out: &mut String, id: &str, version: Option<Timestamp>, message: &str) {
    if !out.ends_with('[') {
        out.push(',');
    }
    out.push_str("{\"id\":");
    push_json_string(out, id);
    out.push_str(",\"version\":");
    push_json_string(out, &version.map(Timestamp::to_stix).unwrap_or_default());
    if !message.is_empty() {
        out.push_str(",\"message\":");
        push_json_string(out, message);
    }
    out.push('}');
}

fn push_json_string(out: &mut String, text: &str) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

pub async fn add_objects(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, collection)): Path<(String, String)>,
    writes: Option<Extension<WritePermits>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !is_taxii_content(&headers) {
        return Err(ApiError::unsupported_media_type());
    }
    if let Some(encoding) = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
        .filter(|e| !e.eq_ignore_ascii_case("identity"))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!(
                "this node does not decode Content-Encoding {encoding:?}; send the envelope uncompressed"
            ),
        ));
    }
    let api_root = super::api_root(&state, root.clone()).await?;
    let (c, _) = collection_for(&state, &principal, root, collection, Need::Write).await?;
    // Held until the envelope is ingested: the body and its parse are the
    // memory a write costs.
    let _write = match writes {
        Some(Extension(permits)) => Some(
            permits
                .acquire(principal.token_id)
                .await
                .map_err(|_| ApiError::internal("the node is shutting down"))?,
        ),
        None => None,
    };
    let bytes = read_body(body, api_root.max_content_length).await?;
    let request_timestamp = node::now();
    let status_body = state
        .blocking(move |s| {
            let report = s.node().ingest_envelope(&principal, &c, &bytes)?;
            let mut successes = String::from("[");
            let mut failures = String::from("[");
            let (mut success_count, mut failure_count) = (0usize, 0usize);
            for o in &report.outcomes {
                let id = o
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("(object {} has no valid id)", o.index));
                match &o.outcome {
                    Outcome::Stored(_) => {
                        success_count += 1;
                        push_detail(&mut successes, &id, o.version, "");
                    }
                    Outcome::Duplicate => {
                        success_count += 1;
                        push_detail(
                            &mut successes,
                            &id,
                            o.version,
                            "this version was already in the collection",
                        );
                    }
                    Outcome::Refused { message: why, .. } => {
                        failure_count += 1;
                        push_detail(&mut failures, &id, o.version, why);
                    }
                }
            }
            let status_id = uuid::Uuid::new_v4().to_string();
            let mut text = format!(
                r#"{{"id":"{status_id}","status":"complete","request_timestamp":"{request_timestamp}","total_count":{},"success_count":{success_count},"failure_count":{failure_count},"pending_count":0"#,
                report.outcomes.len()
            );
            // TAXII forbids empty lists: a details list is present only when it has entries.
            if success_count > 0 {
                text.push_str(",\"successes\":");
                text.push_str(&successes);
                text.push(']');
            }
            if failure_count > 0 {
                text.push_str(",\"failures\":");
                text.push_str(&failures);
                text.push(']');
            }
            text.push('}');
            s.node().record_status(
                &principal,
                &c.api_root,
                &status_id,
                request_timestamp,
                text.clone(),
            )?;
            Ok(text)
        })
        .await?;
    Ok(taxii(StatusCode::ACCEPTED, status_body))
}

//! Discovery, API roots, collections and status resources.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use node::Collection;
use serde_json::{Value, json};

use super::media::{STIX_JSON, TAXII_JSON};
use super::{api_root as load_root, base_url, collection_for, json};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn discovery(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let roots = state.blocking(|s| Ok(s.node().api_roots()?)).await?;
    let base = base_url(&state, &headers);
    let urls: Vec<String> = roots
        .iter()
        .map(|r| format!("{base}/{}/", r.path))
        .collect();
    let config = state.config();
    let mut body = json!({ "title": config.title, "api_roots": urls });
    if let Some(d) = &config.description {
        body["description"] = json!(d);
    }
    if let Some(c) = &config.contact {
        body["contact"] = json!(c);
    }
    if let Some(first) = urls.first() {
        body["default"] = json!(first);
    }
    json(StatusCode::OK, &body)
}

pub async fn api_root(
    State(state): State<AppState>,
    Path(root): Path<String>,
) -> Result<Response, ApiError> {
    let root = load_root(&state, root).await?;
    let mut body = json!({
        "title": root.title,
        "versions": [TAXII_JSON],
        "max_content_length": root.max_content_length,
    });
    if let Some(d) = root.description {
        body["description"] = json!(d);
    }
    json(StatusCode::OK, &body)
}

fn collection_resource(c: &Collection, access: sharing::Access) -> Value {
    let mut body = json!({
        "id": c.id,
        "title": c.title,
        "can_read": access.read,
        "can_write": access.write,
        "media_types": [STIX_JSON],
    });
    if let Some(d) = &c.description {
        body["description"] = json!(d);
    }
    if let Some(a) = &c.alias {
        body["alias"] = json!(a);
    }
    body
}

pub async fn collections(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(root): Path<String>,
) -> Result<Response, ApiError> {
    let root = load_root(&state, root).await?;
    let visible = state
        .blocking(move |s| Ok(s.node().visible_collections(&principal, &root.path)?))
        .await?;
    let resources: Vec<Value> = visible
        .iter()
        .map(|(c, access)| collection_resource(c, *access))
        .collect();
    if resources.is_empty() {
        return json(StatusCode::OK, &json!({}));
    }
    json(StatusCode::OK, &json!({ "collections": resources }))
}

pub async fn collection(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (c, access) = collection_for(&state, &principal, root, id, node::Need::Any).await?;
    json(StatusCode::OK, &collection_resource(&c, access))
}

pub async fn status(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((root, status_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let found = state
        .blocking(move |s| Ok(s.node().status(&principal, &root, &status_id)?))
        .await?;
    Ok(super::taxii(StatusCode::OK, found.body))
}

//! Where an object came from: each version the caller may see, with its
//! provenance (`local`, `local-signed`, `unsigned`, `verified`, `invalid`)
//! and, when verified, the fingerprint of the node that signed it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::JSON;
use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// `GET /entente/v1/collections/{collection}/objects/{object}/provenance/`.
pub async fn provenance(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path((collection, object)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    stix::Identifier::parse(&object)
        .map_err(|e| ApiError::not_found(format!("no such object: {e}")))?;
    let versions = state
        .blocking(move |s| {
            let (c, _) =
                s.node()
                    .collection_for(&principal, None, &collection, node::Need::Read)?;
            Ok(s.node().provenance_of(&principal, &c, &object)?)
        })
        .await?;
    let id = versions.first().map(|v| v.id.clone()).unwrap_or_default();
    let list: Vec<serde_json::Value> = versions
        .iter()
        .map(|v| {
            let mut entry = json!({
                "version": v.version.to_stix(),
                "date_added": v.date_added.to_string(),
                "provenance": v.provenance.as_str(),
            });
            if let Some(node) = &v.origin_node {
                entry["origin_node"] = json!(node);
            }
            entry
        })
        .collect();
    crate::response::json(
        StatusCode::OK,
        JSON,
        &json!({ "object": id, "versions": list }),
    )
}

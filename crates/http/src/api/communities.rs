//! Entente's own JSON API, beside TAXII: what a member needs to know about
//! the communities it belongs to.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::JSON;
use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// `GET /entente/v1/communities/`: the caller's communities and their
/// collections. Member organisations are listed only for communities
/// configured to show them: membership is private by default.
pub async fn communities(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
) -> Result<Response, ApiError> {
    let views = state
        .blocking(move |s| Ok(s.node().communities_of(&principal)?))
        .await?;
    let list: Vec<serde_json::Value> = views
        .into_iter()
        .map(|v| {
            let mut c = serde_json::json!({ "name": v.name, "collections": v.collections });
            if let Some(members) = v.members {
                c["members"] = serde_json::json!(members);
            }
            c
        })
        .collect();
    crate::response::json(
        StatusCode::OK,
        JSON,
        &serde_json::json!({ "communities": list }),
    )
}

//! Entente's own JSON API, beside TAXII: what a member needs to know about
//! the communities it belongs to.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sharing::Principal;

use crate::AppState;
use crate::error::ApiError;

fn json(value: &serde_json::Value) -> Response {
    let mut r = (
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `GET /entente/v1/communities/`: the caller's communities and their
/// collections. Member organisations are listed only for communities
/// configured to show them: membership is private by default.
pub async fn communities(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    if !principal.is_authenticated() {
        return Err(ApiError::unauthorized("this resource needs an API token"));
    }
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
    Ok(json(&serde_json::json!({ "communities": list })))
}

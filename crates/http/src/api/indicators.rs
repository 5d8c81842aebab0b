//! How fresh a collection's indicators are: each indicator the caller may
//! read, with its decay score and whether it has expired (crate
//! `freshness`, built-in model), lowest score first.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use stix::Timestamp;

use super::JSON;
use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// `GET /entente/v1/collections/{collection}/indicators/[?below=&at=]`.
pub async fn indicators(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (below, at) = parameters(query)?;
    let (id, assessed) = state
        .blocking(move |s| {
            let (c, _) =
                s.node()
                    .collection_for(&principal, None, &collection, node::Need::Read)?;
            let model = node::freshness::Model::default();
            let list = s.node().indicator_freshness(&principal, &c, &model, at)?;
            Ok((c.id, list))
        })
        .await?;
    let list: Vec<serde_json::Value> = assessed
        .iter()
        .filter(|a| below.is_none_or(|b| a.score < b))
        .map(|a| a.to_json())
        .collect();
    crate::response::json(
        StatusCode::OK,
        JSON,
        &json!({ "collection": id, "at": at.to_stix(), "indicators": list }),
    )
}

/// `below` (a score, 0 to 100) and `at` (a STIX timestamp, default now).
fn parameters(query: Option<String>) -> Result<(Option<f64>, Timestamp), ApiError> {
    let bad = |name: &str, message: String| {
        ApiError::bad_request(format!("query parameter {name}: {message}"))
            .with_details(json!({ "errors": [{ "path": name, "message": message }] }))
    };
    let (mut below, mut at) = (None, None);
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "below" => match value.parse::<f64>() {
                Ok(b) if (0.0..=100.0).contains(&b) => below = Some(b),
                _ => {
                    return Err(bad(
                        "below",
                        format!("{value:?} is not a score from 0 to 100"),
                    ));
                }
            },
            "at" => {
                at =
                    Some(Timestamp::parse(&value).map_err(|e| {
                        bad("at", format!("{value:?} is not a STIX timestamp: {e}"))
                    })?);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{other}`; this resource takes `below` (a score from 0 to 100) and `at` (a STIX timestamp, e.g. 2026-11-16T20:00:00Z)"
                )));
            }
        }
    }
    Ok((below, at.unwrap_or_else(node::now)))
}

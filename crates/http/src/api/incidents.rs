//! Entente's incident API (JSON, beside TAXII): record an incident, keep it
//! up to date, list what is due, record reports made to authorities, and
//! share the STIX export into a collection.
//!
//! Every handler extracts, calls one `node` use case on a blocking thread,
//! and shapes the answer; who may see what is decided in `node`. Bodies are
//! `application/json` of at most [`super::MAX_BODY`] bytes (a layer bounds them). Errors keep the TAXII
//! error shape (`title`, `description`, `http_status`), with every problem
//! and its field path under `details.errors` when a record or request is
//! invalid.

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use jiff::Timestamp;
use node::{IncidentError, ShareRequest, SubmissionRequest};
use reporting::{FieldError, Moment, Tlp};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{JSON, MAX_BODY};

impl From<IncidentError> for ApiError {
    fn from(e: IncidentError) -> Self {
        let problems = |errors: &[FieldError]| json!({ "errors": errors });
        match e {
            IncidentError::NotFound(m) => ApiError::not_found(m),
            IncidentError::Forbidden(m) => ApiError::forbidden(m),
            IncidentError::InvalidRecord(invalid) => {
                let details = problems(&invalid.errors);
                ApiError::unprocessable(invalid.to_string()).with_details(details)
            }
            IncidentError::InvalidRequest(errors) => {
                let details = problems(&errors);
                ApiError::unprocessable(IncidentError::InvalidRequest(errors).to_string())
                    .with_details(details)
            }
            stale @ IncidentError::Stale { .. } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "Precondition failed",
                stale.to_string(),
            ),
            IncidentError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "Conflict", m),
            IncidentError::Refused(m) => ApiError::unprocessable(m),
            unavailable @ IncidentError::Unavailable => {
                tracing::error!(error = %unavailable, "incident request on a node without incidents");
                ApiError::internal(unavailable.to_string())
            }
            IncidentError::Node(e) => e.into(),
            IncidentError::Store(e) => e.into(),
        }
    }
}

fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    crate::response::json(status, JSON, value)
}

fn invalid_request(path: &str, message: impl Into<String>) -> ApiError {
    ApiError::from(IncidentError::InvalidRequest(vec![FieldError {
        path: path.to_string(),
        message: message.into(),
    }]))
}

/// Reads a JSON body: 415 unless it is declared `application/json`, 413
/// as soon as it passes [`MAX_BODY`] (the layer's bound), 400 unless it is UTF-8.
async fn json_body(headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(JSON));
    if !declared {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("send the request body as Content-Type: {JSON}"),
        ));
    }
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) =>
        {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request too large",
                format!(
                    "the request body exceeds {MAX_BODY} bytes; an incident record is far smaller"
                ),
            ));
        }
        Err(e) => return Err(ApiError::unreadable_body(&e)),
    };
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The instant to assess at: `?at=` (RFC 3339 with an offset), else now.
fn assessed_at(query: Option<String>) -> Result<Timestamp, ApiError> {
    let mut at = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "at" => {
                let moment = value.parse::<Moment>().map_err(|e| {
                    ApiError::bad_request(format!("query parameter at: {e}")).with_details(
                        json!({ "errors": [{ "path": "at", "message": e.to_string() }] }),
                    )
                })?;
                at = Some(moment.timestamp());
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{other}`; this resource takes only `at` (RFC 3339, e.g. 2026-11-16T20:00:00Z)"
                )));
            }
        }
    }
    Ok(at.unwrap_or_else(Timestamp::now))
}

/// `If-Match: "3"` (or `3`): the version the change was made against.
fn expected_version(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "If-Match `{text}` is not an incident version; send the ETag of the version you changed, e.g. If-Match: \"3\""
            ))
        })
}

fn with_etag(mut response: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// `POST /entente/v1/incidents/`: records an incident for the caller's
/// organisation. 201 with the stored incident and its assessment.
pub async fn create(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let at = assessed_at(query)?;
    let record = json_body(&headers, body).await?;
    let view = state
        .blocking(move |s| Ok(s.node().create_incident(&principal, &record, at)?))
        .await?;
    let location = format!("/entente/v1/incidents/{}/", view.id);
    let version = view.version;
    let mut response = json_response(StatusCode::CREATED, &view)?;
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(with_etag(response, version))
}

/// `GET /entente/v1/incidents/[?at=]`: the caller's organisation's
/// incidents, each with what is overdue and what is due next.
pub async fn list(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let at = assessed_at(query)?;
    let list = state
        .blocking(move |s| Ok(s.node().list_incidents(&principal, at)?))
        .await?;
    json_response(StatusCode::OK, &list)
}

/// `GET /entente/v1/incidents/{id}/[?at=]`: the record and its assessment.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let at = assessed_at(query)?;
    let view = state
        .blocking(move |s| Ok(s.node().show_incident(&principal, &id, at)?))
        .await?;
    let version = view.version;
    Ok(with_etag(json_response(StatusCode::OK, &view)?, version))
}

/// `PUT /entente/v1/incidents/{id}/`: replaces the record (a new version);
/// with `If-Match`, only if that is still the current version (412 otherwise).
pub async fn update(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let at = assessed_at(query)?;
    let expected = expected_version(&headers)?;
    let record = json_body(&headers, body).await?;
    let view = state
        .blocking(move |s| {
            Ok(s.node()
                .update_incident(&principal, &id, &record, expected, at)?)
        })
        .await?;
    let version = view.version;
    Ok(with_etag(json_response(StatusCode::OK, &view)?, version))
}

/// `GET /entente/v1/incidents/{id}/versions/`: every version of the record.
pub async fn versions(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let versions = state
        .blocking(move |s| Ok(s.node().incident_versions(&principal, &id)?))
        .await?;
    json_response(StatusCode::OK, &json!({ "versions": versions }))
}

/// Reads a JSON object body's fields, collecting every problem with its path.
struct Fields {
    map: Map<String, Value>,
    problems: Vec<FieldError>,
}

impl Fields {
    fn parse(text: &str, known: &[&str]) -> Result<Fields, ApiError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            invalid_request(
                "",
                format!(
                    "the body is not JSON: {e}; send an object such as {{\"regime\": \"nis2\", …}}"
                ),
            )
        })?;
        let Value::Object(map) = value else {
            return Err(invalid_request("", "the body must be a JSON object"));
        };
        let problems = map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| FieldError {
                path: k.clone(),
                message: format!("unknown field; the fields are: {}", known.join(", ")),
            })
            .collect();
        Ok(Fields { map, problems })
    }

    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(FieldError {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn text(&mut self, name: &str, required: bool) -> Option<String> {
        match self.map.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.problem(name, "required");
                None
            }
            Some(_) => {
                self.problem(name, "must be a string");
                None
            }
        }
    }

    fn texts(&mut self, name: &str) -> Vec<String> {
        match self.map.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                let mut bad = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => bad.push(i),
                    }
                }
                for i in bad {
                    self.problem(&format!("{name}[{i}]"), "must be a string");
                }
                out
            }
            Some(_) => {
                self.problem(name, "must be a list of strings");
                Vec::new()
            }
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.map.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.problem(name, "must be true or false");
                false
            }
        }
    }

    fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(IncidentError::InvalidRequest(self.problems).into())
        }
    }
}

/// `POST /entente/v1/incidents/{id}/submissions/` with `{"regime", "stage",
/// "submitted_at", "reference"?}`: records a report made to an authority.
/// 201 with the submission, the deadlines it made firm, and the incident.
pub async fn submit(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let at = assessed_at(query)?;
    let text = json_body(&headers, body).await?;
    let mut fields = Fields::parse(&text, &["regime", "stage", "submitted_at", "reference"])?;
    let regime = fields.text("regime", true);
    let stage = fields.text("stage", true);
    let submitted_at = match fields.text("submitted_at", true) {
        Some(t) => match t.parse::<Moment>() {
            Ok(m) => Some(m),
            Err(e) => {
                fields.problem("submitted_at", e.to_string());
                None
            }
        },
        None => None,
    };
    let reference = fields.text("reference", false);
    fields.finish()?;
    let (Some(regime), Some(stage), Some(submitted_at)) = (regime, stage, submitted_at) else {
        return Err(invalid_request(
            "",
            "regime, stage and submitted_at are required",
        ));
    };
    let request = SubmissionRequest {
        regime,
        stage,
        submitted_at,
        reference,
    };
    let outcome = state
        .blocking(move |s| Ok(s.node().record_submission(&principal, &id, &request, at)?))
        .await?;
    let version = outcome.incident.version;
    Ok(with_etag(
        json_response(StatusCode::CREATED, &outcome)?,
        version,
    ))
}

/// `POST /entente/v1/incidents/{id}/share/` with `{"collection", "tlp"?,
/// "recipient_orgs"?, "recipient_users"?, "identify_entity"?}`: shares the
/// current version as STIX into the collection. 201 when stored, 200 when
/// this version was already there.
pub async fn share(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let text = json_body(&headers, body).await?;
    let mut fields = Fields::parse(
        &text,
        &[
            "collection",
            "tlp",
            "recipient_orgs",
            "recipient_users",
            "identify_entity",
        ],
    )?;
    let collection = fields.text("collection", true);
    let tlp = match fields.text("tlp", false) {
        Some(label) => match label.parse::<Tlp>().ok() {
            Some(tlp) => Some(tlp),
            None => {
                fields.problem(
                    "tlp",
                    format!(
                        "`{label}` is not a TLP 2.0 label; use clear, green, amber, amber+strict or red"
                    ),
                );
                None
            }
        },
        None => None,
    };
    let recipient_orgs = fields.texts("recipient_orgs");
    let recipient_users = fields.texts("recipient_users");
    let identify_entity = fields.flag("identify_entity");
    fields.finish()?;
    let Some(collection) = collection else {
        return Err(invalid_request("collection", "required"));
    };
    let request = ShareRequest {
        collection,
        tlp,
        recipient_orgs,
        recipient_users,
        identify_entity,
    };
    let outcome = state
        .blocking(move |s| {
            Ok(s.node()
                .share_incident(&principal, &id, &request, Timestamp::now())?)
        })
        .await?;
    let status = if outcome.shared {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, &outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn if_match(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn if_match_names_the_version_changed() {
        assert_eq!(expected_version(&HeaderMap::new()).unwrap(), None);
        assert_eq!(expected_version(&if_match("\"3\"")).unwrap(), Some(3));
        assert_eq!(expected_version(&if_match("W/\"4\"")).unwrap(), Some(4));
        assert_eq!(expected_version(&if_match("5")).unwrap(), Some(5));
        assert_eq!(expected_version(&if_match("*")).unwrap(), None);
        let refused = expected_version(&if_match("\"abc\"")).unwrap_err();
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn at_is_an_instant_with_an_offset_and_the_only_parameter() {
        let at = assessed_at(Some("at=2026-11-16T21:00:00%2B01:00".into())).unwrap();
        assert_eq!(at.to_string(), "2026-11-16T20:00:00Z");
        let local = assessed_at(Some("at=2026-11-16T20:00:00".into())).unwrap_err();
        assert_eq!(local.status, StatusCode::BAD_REQUEST);
        assert_eq!(local.details.unwrap()["errors"][0]["path"], "at");
        assert!(assessed_at(Some("when=2026-11-16T20:00:00Z".into())).is_err());
        assert!(assessed_at(None).is_ok());
    }

    #[test]
    fn invalid_records_carry_every_field_path() {
        let invalid = reporting::InvalidRecord {
            errors: vec![
                FieldError {
                    path: "aware_at".into(),
                    message: "before occurred.start".into(),
                },
                FieldError {
                    path: "entity.nis2_class".into(),
                    message: "unknown value".into(),
                },
            ],
        };
        let e = ApiError::from(IncidentError::InvalidRecord(invalid));
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let details = e.details.unwrap();
        assert_eq!(details["errors"][1]["path"], "entity.nis2_class");
        assert!(e.description.contains("aware_at: before occurred.start"));
    }
}

//! Incidents: the organisation's incidents with what is due next, the
//! record as a form (partial records are saved and assessed as they are),
//! which regimes apply and why, a deadline timeline, what each report still
//! lacks, notifications to read or download, and submissions recorded.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use node::{IncidentError, IncidentView, SubmissionRequest};
use reporting::Moment;
use serde_json::{Map, Value};

use super::Signed;
use super::page::{Page, Section, csrf_field, notice, pretty_json};
use crate::AppState;

/// The record fields the form shows one by one: (JSON path, label, kind, hint).
/// Everything else is edited in the record's JSON below them.
const FIELDS: [(&str, &str, &str, &str); 17] = [
    ("title", "Title", "text", "A short name for the incident"),
    (
        "entity.legal_name",
        "Your organisation's legal name",
        "text",
        "",
    ),
    (
        "entity.eu_establishments",
        "EU Member States where you are established",
        "list",
        "ISO codes, main establishment first, e.g. DE, FR",
    ),
    (
        "entity.nis2_class",
        "NIS2 class",
        "text",
        "essential, important or none",
    ),
    (
        "entity.gdpr_role",
        "GDPR role",
        "text",
        "controller, processor or none",
    ),
    (
        "entity.us_ci_sector",
        "US critical infrastructure sector (CIRCIA)",
        "text",
        "e.g. energy, or none",
    ),
    ("entity.circia_covered", "Covered by CIRCIA", "bool", ""),
    (
        "entity.sec_filer",
        "SEC filer",
        "text",
        "domestic, foreign_private_issuer or none",
    ),
    ("detected_at", "Detected at (UTC)", "time", ""),
    (
        "aware_at",
        "Became aware at (UTC)",
        "time",
        "Most deadlines count from here",
    ),
    (
        "personal_data_aware_at",
        "Aware of a personal data breach at (UTC)",
        "time",
        "",
    ),
    (
        "ransom_paid_at",
        "Ransom paid at (UTC)",
        "time",
        "Leave empty if no ransom was paid",
    ),
    ("significant", "Significant incident (NIS2)", "bool", ""),
    (
        "severity",
        "Severity",
        "text",
        "low, medium, high or critical",
    ),
    ("description", "What happened", "area", ""),
    ("impact", "Impact", "area", ""),
    (
        "measures_taken",
        "Measures taken",
        "list",
        "Separate with commas",
    ),
];

fn at_path<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(record, |v, k| v.get(k))
}

fn set_path(record: &mut Map<String, Value>, path: &str, value: Option<Value>) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut here = record;
    for p in parts {
        let next = here
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(m) = next else { return };
        here = m;
    }
    match value {
        Some(v) => {
            here.insert(last.to_string(), v);
        }
        None => {
            here.remove(last);
        }
    }
}

/// The value of a form field as the record holds it (`None`: leave it out).
fn field_value(kind: &str, text: &str) -> Option<Value> {
    let text = text.trim();
    match kind {
        "bool" => (text == "on").then_some(Value::Bool(true)),
        _ if text.is_empty() => None,
        "list" => Some(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
        // `datetime-local` gives minutes without a zone: the form says UTC.
        "time" if text.len() == 16 => Some(Value::String(format!("{text}:00Z"))),
        _ => Some(Value::String(text.to_string())),
    }
}

/// What the form shows for a field of the record.
fn shown(kind: &str, v: Option<&Value>) -> String {
    match (kind, v) {
        (_, None) => String::new(),
        ("list", Some(Value::Array(items))) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        ("time", Some(Value::String(s))) => s.get(..16).unwrap_or(s).to_string(),
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(other)) => other.to_string(),
    }
}

/// The record a submitted form describes: the JSON field (or `{}`) with
/// the form's fields on top.
fn record_from_form(fields: &[(String, String)]) -> Result<String, String> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let json = get("record");
    let mut record = if json.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("the record's JSON must be an object ({ … })".into()),
            Err(e) => {
                return Err(format!(
                    "the record's JSON does not parse at line {}, column {}: {e}; fix it or empty the field",
                    e.line(),
                    e.column()
                ));
            }
        }
    };
    for (path, _, kind, _) in FIELDS {
        set_path(&mut record, path, field_value(kind, get(path)));
    }
    if !record.contains_key("entity") {
        record.insert("entity".into(), Value::Object(Map::new()));
    }
    serde_json::to_string_pretty(&Value::Object(record)).map_err(|e| e.to_string())
}

fn form(signed: &Signed, action: &str, record: &Value, version: Option<i64>) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_field(signed))
            @if let Some(v) = version { input type="hidden" name="version" value=(v); }
            p.hint { "Fill in what you know now; you can save a partial record and complete it later. The assessment tells you what each report still lacks." }
            @for (path, label, kind, hint) in FIELDS {
                @let id = format!("f-{}", path.replace('.', "-"));
                @let value = shown(kind, at_path(record, path));
                @match kind {
                    "bool" => {
                        div { input type="checkbox" id=(id) name=(path) checked[value == "true"]; " " label.inline for=(id) { (label) } }
                    }
                    "area" => {
                        label for=(id) { (label) }
                        textarea id=(id) name=(path) rows="3" maxlength="20000" { (value) }
                    }
                    "time" => {
                        label for=(id) { (label) }
                        input type="datetime-local" id=(id) name=(path) value=(value);
                    }
                    _ => {
                        label for=(id) { (label) }
                        @if !hint.is_empty() { p.hint { (hint) } }
                        input type="text" id=(id) name=(path) value=(value) maxlength="2000";
                    }
                }
            }
            details {
                summary { "Everything else: the whole record as JSON" }
                p.hint { "The schema is crates/reporting/schema/incident.schema.json. The fields above replace the same fields here." }
                label for="f-record" { "Record (JSON)" }
                textarea id="f-record" name="record" rows="16" maxlength="500000" { (pretty_json(&record.to_string())) }
            }
            p { button type="submit" { "Save the record" } }
        }
    }
}

fn problems(e: &IncidentError) -> Markup {
    match e {
        IncidentError::InvalidRecord(invalid) => html! {
            p { "The record was not saved. Fix these fields:" }
            ul id="record-problems" {
                @for p in &invalid.errors { li { @if !p.path.is_empty() { code { (p.path) } ": " } (p.message) } }
            }
        },
        IncidentError::InvalidRequest(errors) => html! {
            ul { @for p in errors { li { code { (p.path) } ": " (p.message) } } }
        },
        other => html! { (other.to_string()) },
    }
}

fn status_of(e: &IncidentError) -> StatusCode {
    match e {
        IncidentError::NotFound(_) => StatusCode::NOT_FOUND,
        IncidentError::Forbidden(_) => StatusCode::FORBIDDEN,
        IncidentError::Conflict(_) => StatusCode::CONFLICT,
        IncidentError::Stale { .. } => StatusCode::PRECONDITION_FAILED,
        IncidentError::InvalidRecord(_)
        | IncidentError::InvalidRequest(_)
        | IncidentError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        IncidentError::Node(node::NodeError::NotFound(_)) => StatusCode::NOT_FOUND,
        IncidentError::Node(node::NodeError::Forbidden(_)) => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    let principal = signed.session.principal.clone();
    let at = jiff::Timestamp::now();
    let found = state
        .blocking(move |s| Ok(s.node().list_incidents(&principal, at)))
        .await;
    let page = Page {
        title: "Incidents",
        section: Section::Incidents,
        signed: Some(&signed),
    };
    match found {
        Ok(Ok(list)) => page.render(html! {
            p { a.button href="/console/incidents/new" { "Record an incident" } }
            @if list.incidents.is_empty() {
                p.muted { "No incidents recorded for your organisation." }
            } @else {
                table id="incident-list" {
                    thead { tr { th scope="col" { "Incident" } th scope="col" { "Regimes" } th scope="col" { "Next deadline" } th scope="col" { "Version" } } }
                    tbody {
                        @for i in &list.incidents {
                            tr {
                                td { a href={"/console/incidents/" (i.id)} { (i.title.clone().unwrap_or_else(|| i.id.clone())) } br; span.muted { (i.organisation) } }
                                td { (i.applicable_regimes.join(", ")) @if let Some(p) = &i.problem { span.pattern-error { (p) } } }
                                td {
                                    @if let Some(d) = &i.next_deadline {
                                        span class={"deadline" @if !i.overdue.is_empty() { " overdue" }} {
                                            @if !i.overdue.is_empty() { "Overdue: " }
                                            (d.regime) " " (d.name) ", due " (d.due.to_string())
                                        }
                                    } @else { "—" }
                                }
                                td { (i.version) }
                            }
                        }
                    }
                }
            }
        }),
        Ok(Err(e)) => {
            let mut r = page.render(notice("error", problems(&e)));
            *r.status_mut() = status_of(&e);
            r
        }
        Err(e) => super::page::from_api_error(e),
    }
}

pub(crate) async fn new_form(signed: Signed) -> Response {
    Page {
        title: "Record an incident",
        section: Section::Incidents,
        signed: Some(&signed),
    }
    .render(form(
        &signed,
        "/console/incidents",
        &Value::Object(Map::new()),
        None,
    ))
}

fn fields_of(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) async fn create(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let fields = fields_of(&body);
    let record = match record_from_form(&fields) {
        Ok(r) => r,
        Err(why) => {
            return refused_form(
                &signed,
                "/console/incidents",
                &fields,
                None,
                notice("error", html! { (why) }),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let principal = signed.session.principal.clone();
    let text = record.clone();
    let at = jiff::Timestamp::now();
    let result = state
        .blocking(move |s| Ok(s.node().create_incident(&principal, &text, at)))
        .await;
    match result {
        Ok(Ok(view)) => Redirect::to(&format!("/console/incidents/{}", view.id)).into_response(),
        Ok(Err(e)) => refused_form(
            &signed,
            "/console/incidents",
            &fields,
            None,
            notice("error", problems(&e)),
            status_of(&e),
        ),
        Err(e) => super::page::from_api_error(e),
    }
}

/// The form again, as it was sent, with what was wrong.
fn refused_form(
    signed: &Signed,
    action: &str,
    fields: &[(String, String)],
    version: Option<i64>,
    message: Markup,
    status: StatusCode,
) -> Response {
    let mut record = Map::new();
    if let Some((_, json)) = fields.iter().find(|(k, _)| k == "record")
        && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(json)
    {
        record = m;
    }
    for (path, _, kind, _) in FIELDS {
        let text = fields
            .iter()
            .find(|(k, _)| k == path)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        set_path(&mut record, path, field_value(kind, text));
    }
    let mut r = Page {
        title: "The record was not saved",
        section: Section::Incidents,
        signed: Some(signed),
    }
    .render(html! { (message) (form(signed, action, &Value::Object(record), version)) });
    *r.status_mut() = status;
    r
}

pub(crate) async fn update(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let fields = fields_of(&body);
    let action = format!("/console/incidents/{}", super::page::urlencode(&id));
    let version = fields
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let record = match record_from_form(&fields) {
        Ok(r) => r,
        Err(why) => {
            return refused_form(
                &signed,
                &action,
                &fields,
                version,
                notice("error", html! { (why) }),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let principal = signed.session.principal.clone();
    let at = jiff::Timestamp::now();
    let target = id.clone();
    let result = state
        .blocking(move |s| {
            Ok(s.node()
                .update_incident(&principal, &target, &record, version, at))
        })
        .await;
    match result {
        Ok(Ok(view)) => Redirect::to(&format!(
            "/console/incidents/{}",
            super::page::urlencode(&view.id)
        ))
        .into_response(),
        Ok(Err(e)) => refused_form(
            &signed,
            &action,
            &fields,
            version,
            notice("error", problems(&e)),
            status_of(&e),
        ),
        Err(e) => super::page::from_api_error(e),
    }
}

async fn load(state: &AppState, signed: &Signed, id: String) -> Result<IncidentView, Response> {
    let principal = signed.session.principal.clone();
    let at = jiff::Timestamp::now();
    match state
        .blocking(move |s| Ok(s.node().show_incident(&principal, &id, at)))
        .await
    {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(super::page::problem(
            status_of(&e),
            "Incident",
            &e.to_string(),
        )),
        Err(e) => Err(super::page::from_api_error(e)),
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let view = match load(&state, &signed, id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let title = view
        .record
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(&view.id)
        .to_string();
    Page {
        title: &title,
        section: Section::Incidents,
        signed: Some(&signed),
    }
    .render(incident_body(&signed, &view))
}

fn incident_body(signed: &Signed, v: &IncidentView) -> Markup {
    let action = format!("/console/incidents/{}", super::page::urlencode(&v.id));
    let mut timeline: Vec<(Moment, String, String, String, bool, bool)> = Vec::new();
    for r in v.assessment.regimes.iter().filter(|r| r.applies) {
        for s in &r.stages {
            if let Some(due) = s.due {
                timeline.push((
                    due,
                    r.name.clone(),
                    s.name.clone(),
                    s.recipient.clone(),
                    s.overdue,
                    s.submitted_at.is_some(),
                ));
            }
        }
    }
    timeline.sort_by_key(|a| a.0);
    html! {
        p { "Organisation: " (v.organisation) ". Version " (v.version) ", updated " (v.updated.to_string()) "." }
        section aria-labelledby="timeline" {
            h2 id="timeline" { "Deadlines" }
            @if timeline.is_empty() {
                p.muted { "No deadline yet: record when you became aware of the incident." }
            } @else {
                ol.timeline id="deadline-timeline" {
                    @for (due, regime, stage, recipient, overdue, submitted) in &timeline {
                        li class={"deadline" @if *overdue { " overdue" }} {
                            strong { (due.to_string()) } " — " (regime) ": " (stage) " to " (recipient)
                            @if *submitted { " ✓ submitted" } @else if *overdue { " — overdue" }
                        }
                    }
                }
            }
        }
        section aria-labelledby="regimes" {
            h2 id="regimes" { "Which regimes apply, and why" }
            @for r in &v.assessment.regimes {
                details open[r.applies] data-regime=(r.id) data-applies=(r.applies) {
                    summary { strong { (r.name) } ": " @if r.applies { "applies" } @else { "does not apply" } }
                    p { (r.reason) }
                    @if r.applies {
                        table {
                            thead { tr { th scope="col" { "Report" } th scope="col" { "Due" } th scope="col" { "Still lacks" } th scope="col" { "Notification" } } }
                            tbody {
                                @for s in &r.stages {
                                    tr {
                                        td { (s.name) br; span.muted { (s.article) } }
                                        td {
                                            @if let Some(d) = s.due { (d.to_string()) } @else { "—" }
                                            br; span.muted { (format!("{:?}", s.deadline_status).to_lowercase()) }
                                            @if let Some(at) = s.submitted_at { br; "submitted " (at.to_string()) }
                                        }
                                        td { @if s.missing.is_empty() { span.ok { "nothing" } } @else { ul { @for m in &s.missing { li { code { (m) } } } } } }
                                        td {
                                            @let base = format!("{action}/notification?regime={}&stage={}", super::page::urlencode(&r.id), super::page::urlencode(&s.id));
                                            a href=(base) { "Read" } " · "
                                            a href={(base) "&download=md"} { "Markdown" } " · "
                                            a href={(base) "&download=json"} { "JSON" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="submissions" {
            h2 id="submissions" { "Reports made" }
            @if v.submissions.is_empty() {
                p.muted { "No report recorded yet." }
            } @else {
                ul id="submission-list" {
                    @for s in &v.submissions {
                        li { (s.regime) " " (s.stage) " submitted " (s.submitted_at.to_string())
                            @if let Some(r) = &s.reference { " (reference " (r) ")" }
                            @if let Some(by) = &s.recorded_by { ", recorded by " (by) } }
                    }
                }
            }
            form method="post" action={(action) "/submissions"} {
                (csrf_field(signed))
                fieldset {
                    legend { "Record a report you made" }
                    label for="s-regime" { "Regime" }
                    select id="s-regime" name="regime" {
                        @for r in v.assessment.regimes.iter().filter(|r| r.applies) { option value=(r.id) { (r.name) } }
                    }
                    label for="s-stage" { "Stage" }
                    select id="s-stage" name="stage" {
                        @for r in v.assessment.regimes.iter().filter(|r| r.applies) {
                            @for s in &r.stages { option value=(s.id) { (r.id) ": " (s.name) } }
                        }
                    }
                    label for="s-at" { "Submitted at (UTC)" }
                    input type="datetime-local" id="s-at" name="submitted_at" required;
                    label for="s-ref" { "Authority's reference (optional)" }
                    input type="text" id="s-ref" name="reference" maxlength="256";
                    p { button type="submit" { "Record the report" } }
                }
            }
        }
        section aria-labelledby="edit" {
            h2 id="edit" { "The record" }
            (form(signed, &action, &v.record, Some(v.version)))
        }
        section aria-labelledby="history" {
            h2 id="history" { "Versions" }
            ul { @for h in &v.history { li { "Version " (h.version) ", " (h.recorded_at.to_string()) @if let Some(by) = &h.recorded_by { " by " (by) } } } }
        }
    }
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let fields = fields_of(&body);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let at_text = get("submitted_at");
    let at_text = if at_text.len() == 16 {
        format!("{at_text}:00Z")
    } else {
        at_text
    };
    let Ok(submitted_at) = at_text.parse::<jiff::Timestamp>() else {
        return super::page::problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The report was not recorded",
            "Give the time the report was submitted (date and time, UTC).",
        );
    };
    let request = SubmissionRequest {
        regime: get("regime"),
        stage: get("stage"),
        submitted_at: Moment(submitted_at),
        reference: Some(get("reference")).filter(|r| !r.is_empty()),
    };
    let principal = signed.session.principal.clone();
    let target = id.clone();
    let now = jiff::Timestamp::now();
    let result = state
        .blocking(move |s| {
            Ok(s.node()
                .record_submission(&principal, &target, &request, now))
        })
        .await;
    match result {
        Ok(Ok(_)) => Redirect::to(&format!(
            "/console/incidents/{}#submissions",
            super::page::urlencode(&id)
        ))
        .into_response(),
        Ok(Err(e)) => {
            let mut r = Page { title: "The report was not recorded", section: Section::Incidents, signed: Some(&signed) }
                .render(html! { (notice("error", problems(&e))) p { a href={"/console/incidents/" (super::page::urlencode(&id))} { "Back to the incident" } } });
            *r.status_mut() = status_of(&e);
            r
        }
        Err(e) => super::page::from_api_error(e),
    }
}

pub(crate) async fn notification(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = q.unwrap_or_default();
    let get = |k: &str| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (regime, stage, download) = (get("regime"), get("stage"), get("download"));
    let view = match load(&state, &signed, id.clone()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let rules = state.node().reporting_rules();
    let text = view.record.to_string();
    let incident = match reporting::parse_record(rules, &text) {
        Ok(i) => i,
        Err(e) => {
            return super::page::problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The record cannot be rendered",
                &e.to_string(),
            );
        }
    };
    let n = match reporting::render::notification(
        rules,
        &incident,
        &view.assessment,
        &regime,
        &stage,
    ) {
        Ok(n) => n,
        Err(e) => {
            return super::page::problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "No such notification",
                &format!("{e}. Choose one from the incident's page."),
            );
        }
    };
    let markdown = reporting::render::markdown(&n);
    let file = |body: String, media: &'static str, ext: &str| {
        let mut r = (StatusCode::OK, body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
        let name = format!(
            "attachment; filename=\"{}-{}-{}.{ext}\"",
            safe_name(&view.id),
            safe_name(&regime),
            safe_name(&stage)
        );
        if let Ok(v) = HeaderValue::from_str(&name) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        r
    };
    match download.as_str() {
        "md" => file(markdown, "text/markdown; charset=utf-8", "md"),
        "json" => file(serde_json::to_string_pretty(&n).unwrap_or_default(), "application/json", "json"),
        _ => Page { title: &format!("{}: {}", n.regime_name, n.stage_name), section: Section::Incidents, signed: Some(&signed) }.render(html! {
            p { a href={"/console/incidents/" (super::page::urlencode(&id))} { "← Back to the incident" } }
            @if !n.ready { (notice("error", html! { "Not ready to send: it still lacks " (n.missing.join(", ")) "." })) }
            p.hint { "Select the text to copy it, or download it as Markdown or JSON." }
            pre id="notification-text" { (markdown) }
        }),
    }
}

fn safe_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect()
}

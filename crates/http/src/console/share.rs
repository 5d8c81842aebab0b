//! Sharing from the console: an indicator written from a pattern (checked
//! as it is typed), a note, a report linking objects, or a file of STIX
//! content. Everything goes through the same ingest as a TAXII POST; the
//! page offers only the collections the user may write to and the
//! recipients it may name there, and says plainly how recipients will see
//! the source.

use axum::extract::{Multipart, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use node::{IngestReport, Outcome, ShareTarget};
use serde::Deserialize;
use sharing::Tlp;
use sharing::recipients::NamedRecipients;

use super::Signed;
use super::page::{
    Page, Section, csrf_field, html_response, notice, object_href, short, urlencode,
};
use crate::AppState;

/// The checks the ingest validator applies to an indicator's pattern
/// (`patterning::StixPatternCheck`: custom objects and properties allowed,
/// one qualifier of each kind per observation expression).
fn pattern_rules() -> patterning::Rules {
    patterning::Rules {
        objects: patterning::ObjectRules::Ignore,
        operand_formats: true,
        version: patterning::StixVersion::V21,
        one_qualifier_per_kind: true,
    }
}

#[derive(Deserialize)]
pub(crate) struct PatternForm {
    #[serde(default)]
    pattern: String,
}

/// The result of checking a pattern, as a fragment: where the first
/// problem is (line, column, a caret under it) and what is wrong.
fn pattern_verdict(pattern: &str) -> Markup {
    if pattern.trim().is_empty() {
        return html! { p.hint { "Write a STIX pattern, e.g. [domain-name:value = 'c2.example.org']" } };
    }
    match patterning::parse_and_validate(pattern, &pattern_rules()) {
        Ok(_) => html! { p.ok role="status" { "✓ This is a valid STIX 2.1 pattern." } },
        Err(problems) => {
            let first = &problems[0];
            let line = pattern
                .lines()
                .nth(first.line.saturating_sub(1))
                .unwrap_or("");
            let caret = format!("{}^", " ".repeat(first.column.saturating_sub(1)));
            html! {
                div.pattern-error role="alert" data-line=(first.line) data-column=(first.column) {
                    p { "Line " (first.line) ", column " (first.column) ": " (first.message) }
                    pre { (short(line, 400)) "\n" span.caret { (caret) } }
                    @if problems.len() > 1 { p { "and " (problems.len() - 1) " more problem(s) after it." } }
                }
            }
        }
    }
}

pub(crate) async fn check_pattern(axum::Form(f): axum::Form<PatternForm>) -> Response {
    html_response(StatusCode::OK, pattern_verdict(&f.pattern))
}

#[derive(Deserialize, Default)]
pub(crate) struct Which {
    #[serde(default)]
    collection: Option<String>,
}

async fn targets(state: &AppState, signed: &Signed) -> Result<Vec<ShareTarget>, Response> {
    let principal = signed.session.principal.clone();
    state
        .blocking(move |s| Ok(s.node().share_targets(&principal)?))
        .await
        .map_err(super::page::from_api_error)
}

pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(w): Query<Which>,
) -> Response {
    let targets = match targets(&state, &signed).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    render(
        &signed,
        &targets,
        w.collection.as_deref(),
        None,
        StatusCode::OK,
    )
}

fn render(
    signed: &Signed,
    targets: &[ShareTarget],
    chosen: Option<&str>,
    outcome: Option<Markup>,
    status: StatusCode,
) -> Response {
    let target = chosen
        .and_then(|c| targets.iter().find(|t| t.collection.id == c))
        .or(targets.first());
    let mut r = Page {
        title: "Share",
        section: Section::Share,
        signed: Some(signed),
    }
    .render(html! {
        div id="share-result" { @if let Some(o) = outcome { (o) } }
        @match target {
            None => p { "You may not write to any collection. Ask your administrator: readers only read, and node-level tokens write only where they were granted." },
            Some(t) => (forms(signed, targets, t)),
        }
    });
    *r.status_mut() = status;
    r
}

fn tlp_choice(id: &str) -> Markup {
    html! {
        label for=(id) { "TLP" }
        p.hint { "Who may see it. AMBER and RED are limited to the recipients below (RED: named users only)." }
        select id=(id) name="tlp" {
            option value="" { "The collection's default" }
            @for t in [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
                option value=(t.as_str()) selected[t == Tlp::Green] { (t.marking_name()) }
            }
        }
    }
}

fn recipients(prefix: &str, t: &ShareTarget) -> Markup {
    html! {
        fieldset {
            legend { "Recipients (for AMBER and RED)" }
            p.hint { "Leave empty for the collection's members. You may name only these." }
            @for (i, (value, label)) in t.organisations.iter().enumerate() {
                @let id = format!("{prefix}-org-{i}");
                div { input type="checkbox" id=(id) name="recipient_org" value=(value); label for=(id) { (label) } }
            }
            label for={(prefix) "-users"} { "Recipient users (TLP:RED), ORG/USER, one per line" }
            textarea id={(prefix) "-users"} name="recipient_users" rows="2" maxlength="4000" {}
        }
    }
}

fn forms(signed: &Signed, targets: &[ShareTarget], t: &ShareTarget) -> Markup {
    let cid = &t.collection.id;
    html! {
        form.filters method="get" action="/console/share" {
            div {
                label for="s-collection" { "Share into" }
                select id="s-collection" name="collection" {
                    @for x in targets {
                        option value=(x.collection.id) selected[x.collection.id == *cid] { (short(&x.collection.title, 80)) }
                    }
                }
            }
            div { button type="submit" class="secondary" { "Choose" } }
        }
        p.notice id="shown-as" {
            "Recipients will see: " strong { (t.shown_as) }
            @if t.pseudonymous { " — your organisation is a pseudonymous member here: nobody else learns it was you, unless you name yourself in the content." }
        }
        div.grid {
            section.panel aria-labelledby="new-indicator" {
                h2 id="new-indicator" { "An indicator" }
                form method="post" action="/console/share/indicator" {
                    (csrf_field(signed))
                    input type="hidden" name="collection" value=(cid);
                    label for="i-name" { "Name" }
                    input type="text" id="i-name" name="name" required maxlength="300";
                    label for="i-pattern" { "Pattern" }
                    p.hint id="i-pattern-hint" { "STIX patterning, e.g. [domain-name:value = 'c2.example.org']. It is checked as you type." }
                    textarea id="i-pattern" name="pattern" required rows="3" maxlength="20000" aria-describedby="i-pattern-hint pattern-check"
                        hx-post="/console/share/pattern" hx-trigger="input changed delay:300ms" hx-target="#pattern-check" hx-include="[name=csrf]" {}
                    div id="pattern-check" aria-live="polite" {}
                    label for="i-desc" { "Description" }
                    textarea id="i-desc" name="description" rows="3" maxlength="20000" {}
                    (tlp_choice("i-tlp"))
                    (recipients("i", t))
                    p { button type="submit" { "Share the indicator" } }
                }
            }
            section.panel aria-labelledby="new-note" {
                h2 id="new-note" { "A note" }
                form method="post" action="/console/share/note" {
                    (csrf_field(signed))
                    input type="hidden" name="collection" value=(cid);
                    label for="n-abstract" { "Summary" }
                    input type="text" id="n-abstract" name="abstract" maxlength="300";
                    label for="n-content" { "Text" }
                    textarea id="n-content" name="content" required rows="4" maxlength="20000" {}
                    label for="n-refs" { "About these objects (ids, one per line)" }
                    textarea id="n-refs" name="object_refs" required rows="2" maxlength="20000" {}
                    (tlp_choice("n-tlp"))
                    (recipients("n", t))
                    p { button type="submit" { "Share the note" } }
                }
            }
        }
        section.panel aria-labelledby="new-report" {
            h2 id="new-report" { "A report linking objects" }
            form method="post" action="/console/share/report" {
                (csrf_field(signed))
                input type="hidden" name="collection" value=(cid);
                label for="r-name" { "Title" }
                input type="text" id="r-name" name="name" required maxlength="300";
                label for="r-desc" { "Summary" }
                textarea id="r-desc" name="description" rows="3" maxlength="20000" {}
                label for="r-find" { "Find objects to link" }
                p.hint { "Type a few letters of a name; copy the ids you want into the list below." }
                input type="search" id="r-find" name="q" maxlength="200" autocomplete="off"
                    hx-get="/console/share/find" hx-trigger="input changed delay:300ms" hx-target="#find-results";
                div id="find-results" aria-live="polite" {}
                label for="r-refs" { "Linked objects (ids, one per line)" }
                textarea id="r-refs" name="object_refs" required rows="4" maxlength="100000" {}
                (tlp_choice("r-tlp"))
                (recipients("r", t))
                p { button type="submit" { "Share the report" } }
            }
        }
        section.panel aria-labelledby="upload" {
            h2 id="upload" { "A file" }
            p.hint id="u-hint" { "What entente import reads: a STIX 2.1 bundle, a JSON array of objects or JSON lines; MISP JSON events; CSV rows of indicators (columns named in the first row: value, type, comment, tlp, first_seen…). Objects keep their own markings; recipients apply to the AMBER and RED ones." }
            form method="post" enctype="multipart/form-data"
                action={"/console/share/upload?csrf=" (urlencode(&signed.session.csrf))}
                hx-post={"/console/share/upload?csrf=" (urlencode(&signed.session.csrf))}
                hx-encoding="multipart/form-data" hx-target="#share-result" hx-select="#share-result" hx-swap="outerHTML" {
                input type="hidden" name="collection" value=(cid);
                label for="u-file" { "File" }
                input type="file" id="u-file" name="file" required accept=".json,.jsonl,.ndjson,.csv,.tsv,application/json,text/csv" aria-describedby="u-hint";
                label for="u-format" { "Format" }
                select id="u-format" name="format" {
                    option value="" selected { "told by the file (.csv and .tsv are CSV; MISP events are recognised)" }
                    option value="stix" { "STIX 2.1" }
                    option value="misp" { "MISP JSON events" }
                    option value="csv" { "CSV" }
                }
                (recipients("u", t))
                progress id="u-progress" max="100" value="0" hidden { "0%" }
                p { button type="submit" { "Upload and share" } }
            }
        }
    }
}

/// The outcome of an ingest as the console shows it: counts, then every
/// object not stored with the reason (as `entente import` prints them).
fn outcome(report: &IngestReport, collection: &str) -> Markup {
    outcome_of(report, collection, &Converted::default())
}

/// [`outcome`] of converted content: refusals say the record (CSV line,
/// MISP event and attribute) each object came from, and the records that
/// could not be converted are refused too.
fn outcome_of(report: &IngestReport, collection: &str, converted: &Converted) -> Markup {
    let not_converted = converted.errors.len();
    let refused: Vec<_> = report
        .outcomes
        .iter()
        .filter_map(|o| match &o.outcome {
            Outcome::Refused { message: why, .. } => Some((o.index, o.id.clone(), why.clone())),
            _ => None,
        })
        .collect();
    let kind = if refused.is_empty() && not_converted == 0 {
        "ok"
    } else {
        "error"
    };
    notice(
        kind,
        html! {
            p id="share-counts" data-stored=(report.stored()) data-duplicates=(report.duplicates()) data-refused=(report.refused() + not_converted) {
                (report.stored()) " stored, " (report.duplicates()) " already there, " (report.refused() + not_converted) " refused."
            }
            @let stored: Vec<_> = report.outcomes.iter().filter(|o| matches!(o.outcome, Outcome::Stored(_))).filter_map(|o| o.id.clone()).take(20).collect();
            @if !stored.is_empty() {
                ul { @for id in &stored { li { a href=(object_href(collection, id)) { (id) } } } }
            }
            @if !refused.is_empty() || not_converted > 0 {
                p { "Not stored (fix these objects and share them again):" }
                ol id="refusals" {
                    @for why in converted.errors.iter().take(200) {
                        li data-converted="false" { (why) }
                    }
                    @for (index, id, why) in refused.iter().take(200) {
                        li data-index=(index) {
                            @if let Some(from) = converted.sources.get(*index) { (from) ": " }
                            @if let Some(id) = id { code { (id) } ": " }
                            (why)
                        }
                    }
                }
            }
        },
    )
}

/// The fields every share form has.
struct Common {
    collection: String,
    tlp: Option<Tlp>,
    recipients: NamedRecipients,
}

fn common(fields: &[(String, String)]) -> Result<Common, String> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let tlp = match get("tlp") {
        "" => None,
        t => Some(
            t.parse::<Tlp>()
                .map_err(|_| format!("{t:?} is not a TLP level; choose one from the list"))?,
        ),
    };
    Ok(Common {
        collection: get("collection").to_string(),
        tlp,
        recipients: NamedRecipients {
            organizations: fields
                .iter()
                .filter(|(k, _)| k == "recipient_org")
                .map(|(_, v)| v.clone())
                .collect(),
            users: get("recipient_users")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        },
    })
}

fn stix_now() -> String {
    node::now().truncated_to_millis().format_with_precision(3)
}

/// A new STIX object of `kind` with the form's TLP marking.
fn new_object(
    kind: &str,
    tlp: Option<Tlp>,
    mut fields: serde_json::Map<String, serde_json::Value>,
) -> String {
    let now = stix_now();
    fields.insert("type".into(), kind.into());
    fields.insert("spec_version".into(), "2.1".into());
    fields.insert(
        "id".into(),
        format!("{kind}--{}", uuid::Uuid::new_v4()).into(),
    );
    fields.insert("created".into(), now.clone().into());
    fields.insert("modified".into(), now.into());
    if let Some(t) = tlp {
        fields.insert(
            "object_marking_refs".into(),
            serde_json::json!([t.marking_id()]),
        );
    }
    serde_json::Value::Object(fields).to_string()
}

fn ids(text: &str) -> Vec<serde_json::Value> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .take(10_000)
        .map(|s| serde_json::Value::String(s.to_string()))
        .collect()
}

async fn share(
    state: AppState,
    signed: Signed,
    fields: Vec<(String, String)>,
    build: impl FnOnce(&dyn Fn(&str) -> String, Option<Tlp>) -> Result<String, String>,
) -> Response {
    let targets = match targets(&state, &signed).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let c = match common(&fields) {
        Ok(c) => c,
        Err(why) => {
            return render(
                &signed,
                &targets,
                None,
                Some(notice("error", html! { (why) })),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let object = match build(&get, c.tlp) {
        Ok(o) => o,
        Err(why) => {
            return render(
                &signed,
                &targets,
                Some(&c.collection),
                Some(notice("error", html! { (why) })),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let principal = signed.session.principal.clone();
    let (collection, recipients) = (c.collection.clone(), c.recipients);
    let result = state
        .blocking(move |s| {
            Ok(s.node()
                .share_objects(&principal, &collection, &[object], &recipients)?)
        })
        .await;
    match result {
        Ok(report) => {
            let status = if report.refused() > 0 {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            render(
                &signed,
                &targets,
                Some(&c.collection),
                Some(outcome(&report, &c.collection)),
                status,
            )
        }
        Err(e) => render(
            &signed,
            &targets,
            Some(&c.collection),
            Some(notice("error", html! { (e.description) })),
            e.status,
        ),
    }
}

fn form_fields(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn required(value: &str, what: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("{what} is empty; fill it in"))
    } else {
        Ok(())
    }
}

pub(crate) async fn indicator(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    share(state, signed, form_fields(&body), |get, tlp| {
        let (name, pattern) = (get("name"), get("pattern"));
        required(&name, "The name")?;
        required(&pattern, "The pattern")?;
        if let Err(problems) = patterning::parse_and_validate(&pattern, &pattern_rules()) {
            let p = &problems[0];
            return Err(format!(
                "the pattern is not valid STIX at line {}, column {}: {}",
                p.line, p.column, p.message
            ));
        }
        let mut f = serde_json::Map::new();
        f.insert("name".into(), name.trim().into());
        f.insert("pattern".into(), pattern.into());
        f.insert("pattern_type".into(), "stix".into());
        f.insert("valid_from".into(), stix_now().into());
        let description = get("description");
        if !description.trim().is_empty() {
            f.insert("description".into(), description.into());
        }
        Ok(new_object("indicator", tlp, f))
    })
    .await
}

pub(crate) async fn note(State(state): State<AppState>, signed: Signed, body: String) -> Response {
    share(state, signed, form_fields(&body), |get, tlp| {
        let content = get("content");
        required(&content, "The text")?;
        let refs = ids(&get("object_refs"));
        if refs.is_empty() {
            return Err("a note is about objects: list at least one id".into());
        }
        let mut f = serde_json::Map::new();
        let summary = get("abstract");
        if !summary.trim().is_empty() {
            f.insert("abstract".into(), summary.trim().into());
        }
        f.insert("content".into(), content.into());
        f.insert("object_refs".into(), refs.into());
        Ok(new_object("note", tlp, f))
    })
    .await
}

pub(crate) async fn report(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    share(state, signed, form_fields(&body), |get, tlp| {
        let name = get("name");
        required(&name, "The title")?;
        let refs = ids(&get("object_refs"));
        if refs.is_empty() {
            return Err("a report links objects: list at least one id".into());
        }
        let mut f = serde_json::Map::new();
        f.insert("name".into(), name.trim().into());
        let description = get("description");
        if !description.trim().is_empty() {
            f.insert("description".into(), description.into());
        }
        f.insert("published".into(), stix_now().into());
        f.insert("object_refs".into(), refs.into());
        Ok(new_object("report", tlp, f))
    })
    .await
}

/// Objects to link, found by their words: the same gated search as the
/// list (so it suggests nothing the user could not fetch over TAXII).
pub(crate) async fn find(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(q): RawQuery,
) -> Response {
    let text = q
        .as_deref()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    if text.trim().is_empty() {
        return html_response(StatusCode::OK, html! {});
    }
    let principal = signed.session.principal.clone();
    let found = state
        .blocking(move |s| {
            Ok(s.node().list_objects(
                &principal,
                &node::ObjectFilter {
                    text: Some(text),
                    limit: 10,
                    ..Default::default()
                },
            )?)
        })
        .await;
    match found {
        Ok(list) if list.items.is_empty() => {
            html_response(StatusCode::OK, html! { p.muted { "Nothing found." } })
        }
        Ok(list) => html_response(
            StatusCode::OK,
            html! {
                ul id="find-list" {
                    @for l in &list.items {
                        li data-id=(l.object.id) { (short(&l.name, 80)) " (" (l.object.object_type) "): " code { (l.object.id) } }
                    }
                }
            },
        ),
        Err(e) => html_response(e.status, notice("error", html! { (e.description) })),
    }
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    signed: Signed,
    mut multipart: Multipart,
) -> Response {
    let targets = match targets(&state, &signed).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut file: Option<Vec<u8>> = None;
    let mut file_name = String::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                if name == "file" {
                    file_name = field.file_name().unwrap_or_default().to_string();
                    match field.bytes().await {
                        Ok(b) => file = Some(b.to_vec()),
                        Err(e) => {
                            return upload_problem(
                                &signed,
                                &targets,
                                &format!(
                                    "the file could not be read whole ({e}); it may be larger than this node takes"
                                ),
                            );
                        }
                    }
                } else if fields.len() < 1_000 {
                    match field.text().await {
                        Ok(t) => fields.push((name, t.chars().take(10_000).collect())),
                        Err(e) => {
                            return upload_problem(
                                &signed,
                                &targets,
                                &format!("the form could not be read: {e}"),
                            );
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                return upload_problem(
                    &signed,
                    &targets,
                    &format!(
                        "the upload could not be read ({e}); files up to the node's limit are taken"
                    ),
                );
            }
        }
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return upload_problem(&signed, &targets, "choose a file to upload");
    };
    let c = match common(&fields) {
        Ok(c) => c,
        Err(why) => return upload_problem(&signed, &targets, &why),
    };
    let asked = fields
        .iter()
        .find(|(k, _)| k == "format")
        .map_or("", |(_, v)| v.as_str());
    let format = match UploadFormat::chosen(asked, &file_name, &bytes) {
        Ok(f) => f,
        Err(why) => return upload_problem(&signed, &targets, &why),
    };
    let principal = signed.session.principal.clone();
    let (collection, recipients) = (c.collection.clone(), c.recipients);
    let result = state
        .blocking(move |s| {
            let node = s.node();
            if format == UploadFormat::Stix {
                let report = node.import_file(&principal, &collection, &bytes, &recipients)?;
                return Ok((report, Converted::default()));
            }
            let seed = format!(
                "{collection}/{}",
                principal
                    .org()
                    .map_or("node".to_string(), |o| o.to_string())
            );
            let converted = convert_upload(format, &bytes, &file_name, &seed)
                .map_err(node::NodeError::Unprocessable)?;
            let mut report = IngestReport::default();
            for (n, chunk) in converted.objects.chunks(UPLOAD_BATCH).enumerate() {
                let mut part = node.share_objects(&principal, &collection, chunk, &recipients)?;
                for o in &mut part.outcomes {
                    o.index += n * UPLOAD_BATCH;
                }
                report.outcomes.extend(part.outcomes);
            }
            Ok((report, converted))
        })
        .await;
    match result {
        Ok((report, converted)) => render(
            &signed,
            &targets,
            Some(&c.collection),
            Some(outcome_of(&report, &c.collection, &converted)),
            StatusCode::OK,
        ),
        Err(e) => render(
            &signed,
            &targets,
            Some(&c.collection),
            Some(notice("error", html! { (e.description) })),
            e.status,
        ),
    }
}

/// Objects per ingest of a converted upload (as `entente import` batches).
const UPLOAD_BATCH: usize = 5_000;

/// What an uploaded file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UploadFormat {
    Stix,
    Misp,
    Csv,
}

impl UploadFormat {
    /// The format the form chose, else told by the file as `entente
    /// import` tells it: `.csv`/`.tsv` is CSV, JSON that opens with
    /// `{"Event"`, `{"response"` or `[{"Event"` is MISP, anything else STIX.
    fn chosen(asked: &str, file_name: &str, bytes: &[u8]) -> Result<UploadFormat, String> {
        match asked {
            "stix" => return Ok(UploadFormat::Stix),
            "misp" => return Ok(UploadFormat::Misp),
            "csv" => return Ok(UploadFormat::Csv),
            "" => {}
            other => {
                return Err(format!(
                    "{:?} is not a format this form knows: choose STIX 2.1, MISP or CSV",
                    short(other, 40)
                ));
            }
        }
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".tsv") {
            return Ok(UploadFormat::Csv);
        }
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]);
        let compact: String = head
            .trim_start_matches('\u{feff}')
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(16)
            .collect();
        let misp = ["{\"Event\"", "{\"response\"", "[{\"Event\""]
            .iter()
            .any(|p| compact.starts_with(p));
        Ok(if misp {
            UploadFormat::Misp
        } else {
            UploadFormat::Stix
        })
    }
}

/// A MISP or CSV file as STIX objects: each object's JSON, where it came
/// from (for refusals), and the records that could not be converted.
#[derive(Default)]
struct Converted {
    objects: Vec<String>,
    sources: Vec<String>,
    errors: Vec<String>,
}

/// Converts an upload as `entente import --format misp|csv` does (the
/// same converters, the same ids for the same rows of the same user's
/// organisation in the same collection).
fn convert_upload(
    format: UploadFormat,
    bytes: &[u8],
    file_name: &str,
    id_seed: &str,
) -> Result<Converted, String> {
    let mut out = Converted::default();
    match format {
        UploadFormat::Stix => {}
        UploadFormat::Misp => {
            let events = convert::misp::read(bytes)
                .map_err(|e| format!("the file is not MISP JSON events: {e}"))?;
            for event in events.iter() {
                out.errors
                    .extend(event.errors.iter().map(ToString::to_string));
                for o in event.objects {
                    out.objects.push(o.stix.json);
                    out.sources.push(o.origin.to_string());
                }
            }
        }
        UploadFormat::Csv => {
            let now = node::now();
            let options = convert::csv::CsvOptions {
                delimiter: if file_name.to_ascii_lowercase().ends_with(".tsv") {
                    b'\t'
                } else {
                    b','
                },
                ..convert::csv::CsvOptions::new(
                    stix::Timestamp::from_micros(now.as_micros() / 1000 * 1000),
                    id_seed,
                )
            };
            let rows = convert::csv::read(bytes, options)
                .map_err(|e| format!("the file cannot be read as CSV rows of indicators: {e}"))?;
            for row in rows {
                match row {
                    Ok(row) => {
                        out.objects.push(row.indicator.json);
                        out.sources.push(format!("line {}", row.line));
                    }
                    Err(e) => out.errors.push(e.to_string()),
                }
            }
        }
    }
    Ok(out)
}

fn upload_problem(signed: &Signed, targets: &[ShareTarget], why: &str) -> Response {
    render(
        signed,
        targets,
        None,
        Some(notice("error", html! { (why) })),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

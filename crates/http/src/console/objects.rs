//! Collections and objects: a filtered, searchable list (newest first),
//! an object's page, and the export of a selection as a STIX bundle.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::HashMap;

use node::freshness::Assessment;
use node::{Listed, ObjectDetail, ObjectFilter, ObjectList};
use sharing::Tlp;
use stix::Timestamp;

use super::Signed;
use super::charts::{GraphNode, relationship_graph};
use super::page::{
    Page, Section, csrf_field, notice, object_href, pretty_json, short, tlp_badge, trusted,
    urlencode, when,
};
use crate::AppState;

/// Types offered in the filter (any other can be typed).
const COMMON_TYPES: [&str; 14] = [
    "indicator",
    "malware",
    "intrusion-set",
    "attack-pattern",
    "campaign",
    "threat-actor",
    "report",
    "note",
    "relationship",
    "sighting",
    "identity",
    "infrastructure",
    "domain-name",
    "ipv4-addr",
];

/// Most objects one export takes.
const MAX_EXPORT: usize = 1_000;

/// The list's filters as the request gave them, with what was wrong.
#[derive(Default)]
struct Filters {
    collection: String,
    object_type: String,
    tlp: String,
    since: String,
    q: String,
    before: Option<Timestamp>,
    problems: Vec<String>,
}

fn parse_tlp(text: &str) -> Result<Option<Option<Tlp>>, String> {
    match text {
        "" | "any" => Ok(None),
        "none" => Ok(Some(None)),
        other => other
            .parse::<Tlp>()
            .map(|t| Some(Some(t)))
            .map_err(|_| format!("{other:?} is not a TLP level; choose one from the list")),
    }
}

fn parse_day(text: &str) -> Result<Option<Timestamp>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    Timestamp::parse(&format!("{text}T00:00:00Z"))
        .map(Some)
        .map_err(|_| format!("{text:?} is not a date; write it as YYYY-MM-DD"))
}

fn filters(query: Option<String>) -> Filters {
    let mut f = Filters::default();
    let query = query.unwrap_or_default();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v: String = v.chars().take(300).collect();
        match k.as_ref() {
            "collection" => f.collection = v,
            "type" => f.object_type = v.trim().to_string(),
            "tlp" => f.tlp = v,
            "since" => f.since = v,
            "q" => f.q = v,
            "before" => match v.parse::<i64>() {
                Ok(n) => f.before = Some(Timestamp::from_micros(n)),
                Err(_) => f
                    .problems
                    .push("the page cursor is damaged; start from the first page".into()),
            },
            _ => {}
        }
    }
    f
}

pub(crate) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> Response {
    let mut f = filters(query);
    let tlp = parse_tlp(&f.tlp).unwrap_or_else(|e| {
        f.problems.push(e);
        None
    });
    let since = parse_day(&f.since).unwrap_or_else(|e| {
        f.problems.push(e);
        None
    });
    let types: Vec<String> = f
        .object_type
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(64).collect())
        .take(10)
        .collect();
    let filter = ObjectFilter {
        collection: (!f.collection.is_empty()).then(|| f.collection.clone()),
        types,
        tlps: tlp.into_iter().collect(),
        added_since: since,
        added_before: f.before,
        text: (!f.q.trim().is_empty()).then(|| f.q.clone()),
        limit: 50,
    };
    let principal = signed.session.principal.clone();
    let found = state
        .blocking(move |s| {
            let node = s.node();
            let collections = node.console_collections(&principal)?;
            let list = node.list_objects(&principal, &filter)?;
            let fresh = node.freshness_of(&principal, &list.items, node::now())?;
            Ok((collections, list, fresh))
        })
        .await;
    let (collections, list, fresh) = match found {
        Ok(x) => x,
        Err(e) => return super::page::from_api_error(e),
    };
    Page {
        title: "Collections and objects",
        section: Section::Objects,
        signed: Some(&signed),
    }
    .render(list_body(&signed, &f, &collections, &list, &fresh))
}

/// Indicators' freshness, by (collection id, object id).
type Freshness = HashMap<(String, String), Assessment>;

fn list_body(
    signed: &Signed,
    f: &Filters,
    collections: &[(node::Collection, sharing::Access)],
    list: &ObjectList,
    fresh: &Freshness,
) -> Markup {
    let next = list.resume_before.map(|t| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("collection", &f.collection),
            ("type", &f.object_type),
            ("tlp", &f.tlp),
            ("since", &f.since),
            ("q", &f.q),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.append_pair("before", &t.as_micros().to_string());
        format!("/console/objects?{}", q.finish())
    });
    html! {
        section aria-labelledby="collections" {
            h2 id="collections" { "Your collections" }
            table id="collection-list" {
                thead { tr { th scope="col" { "Title" } th scope="col" { "Id" } th scope="col" { "You may" } } }
                tbody {
                    @for (c, access) in collections {
                        tr data-id=(c.id) {
                            td { a href={"/console/objects?collection=" (urlencode(&c.id))} { (c.title) } }
                            td { code { (c.id) } }
                            td { (match (access.read, access.write) { (true, true) => "read and write", (true, false) => "read", _ => "write" }) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="objects" {
            h2 id="objects" { "Objects" }
            @for p in &f.problems { (notice("error", html! { (p) })) }
            form.filters method="get" action="/console/objects" role="search" {
                div {
                    label for="f-q" { "Text" }
                    input type="search" id="f-q" name="q" value=(f.q) placeholder="name, description or pattern" maxlength="200";
                }
                div {
                    label for="f-collection" { "Collection" }
                    select id="f-collection" name="collection" {
                        option value="" { "All" }
                        @for (c, _) in collections {
                            option value=(c.id) selected[c.id == f.collection] { (short(&c.title, 60)) }
                        }
                    }
                }
                div {
                    label for="f-type" { "Type" }
                    input type="text" id="f-type" name="type" value=(f.object_type) list="types" placeholder="any" maxlength="200";
                    datalist id="types" { @for t in COMMON_TYPES { option value=(t) {} } }
                }
                div {
                    label for="f-tlp" { "TLP" }
                    select id="f-tlp" name="tlp" {
                        @for (v, label) in [("", "Any"), ("clear", "TLP:CLEAR"), ("green", "TLP:GREEN"), ("amber", "TLP:AMBER"), ("amber+strict", "TLP:AMBER+STRICT"), ("red", "TLP:RED"), ("none", "No TLP")] {
                            option value=(v) selected[f.tlp == v] { (label) }
                        }
                    }
                }
                div {
                    label for="f-since" { "Added since" }
                    input type="date" id="f-since" name="since" value=(f.since);
                }
                div { button type="submit" { "Show" } }
            }
            @if list.search_incomplete {
                (notice("note", html! {
                    span id="search-incomplete" {
                        "The search index is still taking in the newest objects (after a large import, or while it is rebuilt), so some recent matches may be missing. Search again in a minute for complete results."
                    }
                }))
            }
            @if list.items.is_empty() {
                p.muted id="no-objects" { "Nothing matches these filters among what is shared with you." }
            } @else {
                form method="post" action="/console/objects/export" {
                    (csrf_field(signed))
                    table id="object-list" {
                        thead {
                            tr {
                                th scope="col" { span.muted { "Export" } }
                                th scope="col" { "Name" }
                                th scope="col" { "Type" }
                                th scope="col" { "TLP" }
                                th scope="col" { "Collection" }
                                th scope="col" { "Added" }
                                th scope="col" { abbr title="Indicators: validity, and the decay score (0–100) from age, kind and sightings" { "Freshness" } }
                            }
                        }
                        tbody {
                            @for item in &list.items {
                                (row(item, fresh.get(&(item.collection_id.clone(), item.object.id.clone()))))
                            }
                        }
                    }
                    p { button type="submit" { "Export the chosen objects as a STIX bundle" } }
                }
            }
            @if let Some(href) = next {
                p { a href=(href) rel="next" { "Older objects →" } }
            }
        }
    }
}

fn row(item: &Listed, fresh: Option<&Assessment>) -> Markup {
    let value = format!("{}|{}", item.collection_id, item.object.id);
    let label_id = format!("n-{}", item.object.date_added.as_micros());
    html! {
        tr data-id=(item.object.id) data-type=(item.object.object_type) {
            td { input type="checkbox" name="pick" value=(value) aria-labelledby=(label_id); }
            td id=(label_id) { a href=(object_href(&item.collection_id, &item.object.id)) { (short(&item.name, 90)) } }
            td { (item.object.object_type) }
            td { (tlp_badge(item.object.tlp)) }
            td { (short(&item.collection_title, 40)) }
            td { (when(item.object.date_added)) }
            td { @if let Some(a) = fresh { (freshness_cell(a)) } }
        }
    }
}

/// An indicator's freshness in a list: expired or revoked, else its score
/// (and "stale" below its kind's threshold), with its end of validity.
fn freshness_cell(a: &Assessment) -> Markup {
    let score = format!("{:.2}", a.score);
    html! {
        span.fresh data-score=(score) data-expired=(a.expired) data-revoked=(a.revoked) {
            @if a.revoked {
                strong.stale { "revoked" }
            } @else if a.expired {
                strong.stale { "expired" }
            } @else {
                "score " (format!("{:.0}", a.score))
                @if a.is_stale(None) { " · " strong.stale { "stale" } }
            }
            @if let Some(until) = a.valid_until {
                br; span.muted { (if a.expired { "since " } else { "until " }) (day(until)) }
            }
        }
    }
}

/// The date of a time.
fn day(t: Timestamp) -> String {
    when(t).chars().take(10).collect()
}

/// An indicator's freshness on its page.
fn freshness_section(a: &Assessment) -> Markup {
    html! {
        section aria-labelledby="freshness" {
            h2 id="freshness" { "Freshness" }
            @if a.revoked {
                (notice("error", html! { "Revoked by its source: do not act on it." }))
            } @else if a.expired {
                (notice("error", html! { "Expired: its source said it is valid until " (a.valid_until.map(when).unwrap_or_default()) ". Scanners skip it unless asked." }))
            } @else if a.is_stale(None) {
                (notice("error", html! { "Stale: its score is below " (format!("{:.0}", a.threshold)) ", the review threshold for its kind. Review it, sight it again, or revoke it." }))
            }
            dl.props id="freshness-figures" data-score=(format!("{:.2}", a.score)) data-expired=(a.expired) data-revoked=(a.revoked) data-sightings=(a.sightings) {
                dt { "Score" }
                dd { strong { (format!("{:.0}", a.score)) } " of 100 (stale below " (format!("{:.0}", a.threshold)) ")" }
                dt { "Kind" } dd { (a.kind.as_str()) }
                dt { "Valid from" } dd { (a.valid_from.map(when).unwrap_or_else(|| "not said".into())) }
                dt { "Valid until" }
                dd {
                    @match a.valid_until {
                        Some(t) => { (when(t)) @if a.expired { " " strong.stale { "(expired)" } } }
                        None => "not said (it decays by age alone)",
                    }
                }
                dt { "Age" } dd { (format!("{:.0}", a.age_days.floor())) " days" }
                dt { "Sightings" }
                dd {
                    (a.sightings) " in this collection"
                    @if let Some(t) = a.last_sighted { ", last seen " (when(t)) }
                }
            }
            p.hint { "The decay score falls with age by the indicator's kind and rises with sightings (the built-in model, as " code { "entente indicators stale" } " and the Entente API score it)." }
        }
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path((collection, object)): Path<(String, String)>,
) -> Response {
    let principal = signed.session.principal.clone();
    let found = state
        .blocking(move |s| Ok(s.node().object_detail(&principal, &collection, &object)?))
        .await;
    let detail = match found {
        Ok(d) => d,
        Err(e) => return super::page::from_api_error(e),
    };
    let name = node::display_name(&detail.current.raw, &detail.current.id);
    Page {
        title: &short(&name, 120),
        section: Section::Objects,
        signed: Some(&signed),
    }
    .render(object_body(&detail))
}

fn properties(raw: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, short(&text, 2_000))
        })
        .collect()
}

fn linked(l: &Option<Listed>, id: &str) -> Markup {
    match l {
        Some(l) => {
            html! { a href=(object_href(&l.collection_id, &l.object.id)) { (short(&l.name, 80)) } " " span.muted { "(" (l.object.object_type) ")" } }
        }
        None => html! { code { (id) } },
    }
}

fn object_body(d: &ObjectDetail) -> Markup {
    let o = &d.current;
    let name = node::display_name(&o.raw, &o.id);
    let mut graph: Vec<GraphNode> = Vec::new();
    for (rel, other, other_id) in d.outgoing.iter().chain(&d.incoming) {
        let inward = d
            .incoming
            .iter()
            .any(|(r, _, _)| r.object.id == rel.object.id);
        graph.push(GraphNode {
            label: other.as_ref().map_or(other_id.clone(), |l| l.name.clone()),
            href: other
                .as_ref()
                .map(|l| object_href(&l.collection_id, &l.object.id)),
            edge: rel_type(&rel.object.raw),
            inward,
        });
    }
    // Beyond this many the circle gets crowded; the tables list them all.
    graph.truncate(16);
    html! {
        p {
            (tlp_badge(o.tlp)) " "
            strong { (o.object_type) } " in "
            a href={"/console/objects?collection=" (urlencode(&d.collection.id))} { (d.collection.title) }
        }
        p { "Id: " code id="object-id" { (o.id) } }
        @if let Some(a) = &d.freshness { (freshness_section(a)) }
        section aria-labelledby="props" {
            h2 id="props" { "Properties" }
            dl.props {
                @for (k, v) in properties(&o.raw) {
                    dt { (k) } dd { (v) }
                }
            }
        }
        section aria-labelledby="rels" {
            h2 id="rels" { "Relationships" }
            @if graph.is_empty() {
                p.muted { "No relationships to or from this object that you may see." }
            } @else {
                (trusted(relationship_graph(&name, &graph)))
                @if !d.outgoing.is_empty() {
                    h3 { "From this object" }
                    table id="rels-out" {
                        tbody {
                            @for (rel, other, id) in &d.outgoing {
                                tr data-id=(rel.object.id) {
                                    td { a href=(object_href(&rel.collection_id, &rel.object.id)) { (rel_type(&rel.object.raw)) } }
                                    td { (linked(other, id)) }
                                }
                            }
                        }
                    }
                }
                @if !d.incoming.is_empty() {
                    h3 { "To this object" }
                    table id="rels-in" {
                        tbody {
                            @for (rel, other, id) in &d.incoming {
                                tr data-id=(rel.object.id) {
                                    td { (linked(other, id)) }
                                    td { a href=(object_href(&rel.collection_id, &rel.object.id)) { (rel_type(&rel.object.raw)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="sightings" {
            h2 id="sightings" { "Sightings" }
            @if d.sightings.is_empty() {
                p.muted { "No sightings of this object shared with you." }
            } @else {
                ul {
                    @for s in &d.sightings {
                        li data-id=(s.object.id) { a href=(object_href(&s.collection_id, &s.object.id)) { (s.name) } " " (tlp_badge(s.object.tlp)) " " span.muted { (when(s.object.date_added)) } }
                    }
                }
            }
        }
        @if !d.referred_by.is_empty() {
            section aria-labelledby="refby" {
                h2 id="refby" { "Mentioned in" }
                ul {
                    @for r in &d.referred_by {
                        li data-id=(r.object.id) { a href=(object_href(&r.collection_id, &r.object.id)) { (r.name) } " (" (r.object.object_type) ")" }
                    }
                }
            }
        }
        @if !d.refers_to.is_empty() {
            section aria-labelledby="refs" {
                h2 id="refs" { "Refers to" }
                ul { @for (id, l) in &d.refers_to { li { (linked(l, id)) } } }
            }
        }
        section aria-labelledby="versions" {
            h2 id="versions" { "Versions" }
            table {
                thead { tr { th scope="col" { "Version" } th scope="col" { "Added" } th scope="col" { "TLP" } } }
                tbody {
                    @for v in d.versions.iter().rev() {
                        tr { td { (v.version.to_string()) } td { (when(v.date_added)) } td { (tlp_badge(v.tlp)) } }
                    }
                }
            }
        }
        section aria-labelledby="raw" {
            h2 id="raw" { "JSON" }
            p.hint { "As a TAXII client receives it." }
            pre id="raw-json" { (pretty_json(&o.raw)) }
        }
    }
}

fn rel_type(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("relationship_type")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "related".into())
}

pub(crate) async fn export(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let mut chosen = Vec::new();
    for (k, v) in form_urlencoded::parse(body.as_bytes()) {
        if k == "pick"
            && let Some((c, id)) = v.split_once('|')
        {
            chosen.push((c.to_string(), id.to_string()));
        }
    }
    if chosen.is_empty() {
        return super::page::problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing to export",
            "Tick the objects to export in the list first, then press Export.",
        );
    }
    if chosen.len() > MAX_EXPORT {
        return super::page::problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Too many objects",
            "Export at most 1,000 objects at a time here; for whole collections use TAXII or entente export.",
        );
    }
    let principal = signed.session.principal.clone();
    let found = state
        .blocking(move |s| Ok(s.node().export_selection(&principal, &chosen)?))
        .await;
    match found {
        Ok((bundle, withheld)) => {
            let mut r = (StatusCode::OK, bundle).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/stix+json;version=2.1"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"entente-export.json\""),
            );
            if let Ok(v) = HeaderValue::from_str(&withheld.to_string()) {
                h.insert("x-entente-withheld", v);
            }
            r
        }
        Err(e) => super::page::from_api_error(e),
    }
}

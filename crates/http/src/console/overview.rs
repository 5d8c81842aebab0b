//! The overview: what was shared with this user over the last 7, 30 or
//! 90 days, as charts and tables; the most referenced threats and targeted
//! sectors; the latest reports; the user's organisation's incidents.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};
use node::{Overview, Ranked};
use sharing::Tlp;

use super::Signed;
use super::charts::{Series, stacked_bars};
use super::page::{Page, Section, day_label, notice, object_href, tlp_badge, trusted, when};
use crate::AppState;

/// The window a query asks for (`days=7|30|90`), 30 days when it names
/// none, or the problem with what it names (the page then shows 30 days
/// and says so).
fn window(query: Option<&str>) -> (u32, Option<String>) {
    let asked = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "days")
            .map(|(_, v)| v.into_owned())
    });
    match asked {
        None => (30, None),
        Some(text) => match text.trim().parse::<u32>() {
            Ok(d) if node::OVERVIEW_WINDOWS.contains(&d) => (d, None),
            _ => (
                30,
                Some(format!(
                    "The overview covers 7, 30 or 90 days, not {:?}: showing 30 days. Pick a window below.",
                    super::page::short(&text, 40)
                )),
            ),
        },
    }
}

const TYPE_COLOURS: [&str; 6] = ["c0", "c1", "c2", "c3", "c4", "c5"];

fn tlp_class(t: Option<Tlp>) -> &'static str {
    match t {
        Some(Tlp::Clear) => "t-clear",
        Some(Tlp::Green) => "t-green",
        Some(Tlp::Amber) => "t-amber",
        Some(Tlp::AmberStrict) => "t-amber-strict",
        Some(Tlp::Red) => "t-red",
        None => "t-none",
    }
}

fn tlp_name(t: Option<Tlp>) -> &'static str {
    t.map_or("no TLP", |t| t.marking_name())
}

pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> Response {
    let (days, problem) = window(query.as_deref());
    let principal = signed.session.principal.clone();
    let now = node::now();
    let found = state
        .blocking(move |s| Ok(s.node().overview(&principal, days, now)?))
        .await;
    let overview = match found {
        Ok(o) => o,
        Err(e) => return super::page::from_api_error(e),
    };
    Page {
        title: "Overview",
        section: Section::Overview,
        signed: Some(&signed),
    }
    .render(html! {
        @if let Some(p) = problem { (notice("error", html! { (p) })) }
        (body(&overview))
    })
}

fn body(o: &Overview) -> Markup {
    let labels: Vec<String> = (0..o.days as i64)
        .map(|d| day_label(o.first_day + d))
        .collect();
    // The six most frequent types, the rest as "other".
    let mut types: Vec<(&String, u64)> = o
        .by_type
        .iter()
        .map(|(t, counts)| (t, counts.iter().sum()))
        .collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut type_series: Vec<Series> = types
        .iter()
        .take(6)
        .zip(TYPE_COLOURS)
        .map(|((t, _), class)| Series {
            name: (*t).clone(),
            class,
            counts: o.by_type[*t].clone(),
        })
        .collect();
    if types.len() > 6 {
        let mut other = vec![0u64; o.days as usize];
        for (t, _) in types.iter().skip(6) {
            for (slot, n) in other.iter_mut().zip(&o.by_type[*t]) {
                *slot += n;
            }
        }
        type_series.push(Series {
            name: "other types".into(),
            class: "c6",
            counts: other,
        });
    }
    let tlp_series: Vec<Series> = o
        .by_tlp
        .iter()
        .map(|(t, counts)| Series {
            name: tlp_name(*t).to_string(),
            class: tlp_class(*t),
            counts: counts.clone(),
        })
        .collect();
    let sightings = o.by_type.get("sighting");
    html! {
        nav aria-label="Time window" {
            p {
                "Window: "
                @for d in node::OVERVIEW_WINDOWS {
                    @if d == o.days {
                        strong aria-current="true" { (d) " days" } " "
                    } @else {
                        a href={"/?days=" (d)} { (d) " days" } " "
                    }
                }
            }
        }
        @if o.partial {
            (notice("error", html! { "Some figures leave out objects: more objects than one page can check are waiting for their visibility to be settled. Reload in a minute." }))
        }
        p.lead {
            "In the last " (o.days) " days, " strong id="total-new" data-count=(o.total) { (o.total) } " objects (counting each version) were shared where you can read them."
            " Every figure here counts only what you may see over TAXII."
        }
        section aria-labelledby="by-type" {
            h2 id="by-type" { "New objects per day, by type" }
            (trusted(stacked_bars("New objects per day by type", &labels, &type_series)))
            (legend(&type_series))
            details {
                summary { "Figures by type" }
                table id="counts-by-type" {
                    thead { tr { th scope="col" { "Type" } th.num scope="col" { "Objects" } } }
                    tbody {
                        @for (t, n) in &types {
                            tr data-type=(t) data-count=(n) { td { (t) } td.num { (n) } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="by-tlp" {
            h2 id="by-tlp" { "New objects per day, by TLP" }
            (trusted(stacked_bars("New objects per day by TLP", &labels, &tlp_series)))
            (legend(&tlp_series))
            details {
                summary { "Figures by TLP" }
                table id="counts-by-tlp" {
                    thead { tr { th scope="col" { "TLP" } th.num scope="col" { "Objects" } } }
                    tbody {
                        @for (t, counts) in &o.by_tlp {
                            @let n: u64 = counts.iter().sum();
                            tr data-tlp=(tlp_name(*t)) data-count=(n) { td { (tlp_badge(*t)) } td.num { (n) } }
                        }
                    }
                }
            }
        }
        div.grid {
            (ranked("Most referenced malware", "top-malware", &o.malware))
            (ranked("Most referenced intrusion sets", "top-intrusion-sets", &o.intrusion_sets))
            (ranked("Most referenced ATT&CK techniques", "top-techniques", &o.techniques))
            section.panel aria-labelledby="top-sectors" {
                h2 id="top-sectors" { "Targeted sectors" }
                @if o.sectors.is_empty() {
                    p.muted { "No targets relationships to identities with sectors in this window." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Sector" } th.num scope="col" { "References" } } }
                        tbody {
                            @for (s, n) in &o.sectors {
                                tr data-sector=(s) data-count=(n) { td { (s) } td.num { (n) } }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="sightings" {
            h2 id="sightings" { "Sightings over time" }
            @match sightings {
                Some(counts) => {
                    @let series = [Series { name: "sightings".into(), class: "c1", counts: counts.clone() }];
                    (trusted(stacked_bars("Sightings per day", &labels, &series)))
                }
                None => { p.muted { "No sightings shared with you in this window." } }
            }
        }
        div.grid {
            section.panel aria-labelledby="latest-reports" {
                h2 id="latest-reports" { "Latest reports" }
                @if o.latest_reports.is_empty() {
                    p.muted { "No reports shared with you yet." }
                } @else {
                    ul id="latest-report-list" {
                        @for r in &o.latest_reports {
                            li data-id=(r.object.id) {
                                a href=(object_href(&r.collection_id, &r.object.id)) { (r.name) }
                                " " (tlp_badge(r.object.tlp))
                                span.muted { " added " (when(r.object.date_added)) }
                            }
                        }
                    }
                }
            }
            section.panel aria-labelledby="my-incidents" {
                h2 id="my-incidents" { "Your organisation's incidents" }
                @match &o.incidents {
                    None => p.muted { "Incidents belong to organisations; this session has none." },
                    Some(list) if list.incidents.is_empty() => p.muted { "No incidents recorded. " a href="/console/incidents/new" { "Record one" } },
                    Some(list) => {
                        ul {
                            @for i in &list.incidents {
                                li {
                                    a href={"/console/incidents/" (i.id)} { (i.title.clone().unwrap_or_else(|| i.id.clone())) }
                                    @if let Some(d) = &i.next_deadline {
                                        br;
                                        span class={"deadline" @if !i.overdue.is_empty() { " overdue" }} {
                                            @if !i.overdue.is_empty() { "Overdue: " } @else { "Next: " }
                                            (d.regime) " " (d.name) " due " (d.due.to_string())
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn legend(series: &[Series<'_>]) -> Markup {
    html! {
        ul.legend {
            @for s in series {
                li { span class={"swatch " (s.class)} aria-hidden="true" {} (s.name) }
            }
        }
    }
}

fn ranked(title: &str, id: &str, items: &[Ranked]) -> Markup {
    html! {
        section.panel aria-labelledby=(id) {
            h2 id=(id) { (title) }
            @if items.is_empty() {
                p.muted { "Nothing referenced in this window." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th.num scope="col" { "References" } } }
                    tbody {
                        @for r in items {
                            tr data-id=(r.id) data-count=(r.count) {
                                td {
                                    @let name = r.name.clone().unwrap_or_else(|| r.id.clone());
                                    @match &r.collection_id {
                                        Some(c) => a href=(object_href(c, &r.id)) { (name) },
                                        None => span { (name) },
                                    }
                                    @if let Some(x) = &r.external_id { " " span.muted { "(" (x) ")" } }
                                }
                                td.num { (r.count) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn the_window_is_one_of_three_and_a_bad_one_is_said() {
        assert_eq!(window(None), (30, None));
        assert_eq!(window(Some("days=7")), (7, None));
        assert_eq!(window(Some("x=1&days=90")), (90, None));
        for bad in [
            "days=abc",
            "days=-1",
            "days=14",
            "days=99999999999",
            "days=%FF",
        ] {
            let (d, problem) = window(Some(bad));
            assert_eq!(d, 30, "{bad}");
            assert!(problem.is_some_and(|p| p.contains("7, 30 or 90")), "{bad}");
        }
    }
}

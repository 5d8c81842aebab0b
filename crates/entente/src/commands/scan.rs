//! `entente scan`: match logs and observed data against shared indicators.
//!
//! Exit status as clamscan's: 0 when nothing matched, 1 when something did,
//! 2 on an error (no usable indicators, an input that cannot be read, a post
//! of the sightings that the server did not fully store).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use patterning::{EngineBuilder, EngineOptions, ScanResult};
use scan::{Format, Indicator, TaxiiSource};
use serde_json::{Value, json};
use stix::Timestamp;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["indicators", "collection", "taxii"])))]
pub struct Args {
    /// Indicators from a STIX bundle or an MVT indicator file (.stix2).
    #[arg(long, value_name = "FILE")]
    indicators: Option<PathBuf>,
    /// Indicators from a collection of this node (see --data).
    #[arg(long, value_name = "ID")]
    collection: Option<String>,
    /// Indicators from a TAXII 2.1 collection: its URL (…/collections/ID/).
    #[arg(long, value_name = "URL")]
    taxii: Option<String>,
    /// Bearer token for --taxii (and for --post unless --post-token is given).
    #[arg(long, env = "ENTENTE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// When something matched, post the sightings (with the observed data
    /// they rest on) to this TAXII 2.1 collection: its URL (…/collections/ID/).
    #[arg(long, value_name = "URL")]
    post: Option<String>,
    /// Bearer token for --post (default: the ENTENTE_POST_TOKEN environment
    /// variable, else --token). The variable is read only with --post, so
    /// that it can stay set for scans that post nothing.
    #[arg(long, requires = "post")]
    post_token: Option<String>,
    /// STIX identity of the organisation that saw the matches
    /// (identity--…): the sightings' created_by_ref and where_sighted_refs.
    /// On an Entente node, a pseudonymous member of the collection's
    /// community is shown to other readers under its pseudonym instead.
    #[arg(long, value_name = "IDENTITY_ID")]
    identity: Option<String>,
    /// What to print: a readable summary, JSON lines, or a STIX bundle of
    /// sightings (with the observed data that matched).
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
    /// Input format (detected per file when omitted): stix, sco-jsonl, zeek,
    /// zeek-json, suricata, list.
    #[arg(long)]
    format: Option<Format>,
    /// Observations kept per multi-observation pattern (FOLLOWEDBY, AND,
    /// REPEATS across observations).
    #[arg(long, default_value_t = 64)]
    max_retained: usize,
    /// Also scan with indicators whose `valid_until` has passed (by default
    /// they are skipped, and counted on standard error).
    #[arg(long)]
    include_expired: bool,
    /// Scan only with indicators whose decay score (0–100, from their age,
    /// kind and the sightings in the source; see `entente indicators stale`)
    /// is at least SCORE.
    #[arg(long, value_name = "SCORE")]
    min_score: Option<f64>,
    /// Decay model parameters (TOML or JSON) replacing the built-in ones for
    /// --min-score.
    #[arg(long, value_name = "FILE", requires = "min_score")]
    model: Option<PathBuf>,
    /// Files to scan (gzip is read too); `-` is standard input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Jsonl,
    Stix,
}

/// What is remembered of an observation for the report.
#[derive(Clone)]
struct Seen {
    input: usize,
    line: u64,
    first: i64,
    last: i64,
    observed_data_id: Option<String>,
    objects: Vec<(String, Value)>,
}

/// Everything one indicator matched.
struct Hits {
    count: u64,
    first_seen: i64,
    last_seen: i64,
    places: Vec<(usize, u64)>,
    observations: Vec<Seen>,
}

const KEPT_OBSERVATIONS: usize = 4_096;
const OBSERVATIONS_PER_SIGHTING: usize = 1_000;

pub fn run(data: &Path, args: Args) -> anyhow::Result<ExitCode> {
    check_sharing_args(&args)?;
    if let Some(s) = args.min_score
        && !(0.0..=100.0).contains(&s)
    {
        bail!("--min-score {s}: a score is between 0 and 100");
    }
    let model = super::indicators::load_model(args.model.as_deref())?;
    let objects = load_objects(data, &args)?;
    let indicators = fresh_indicators(&objects, &args, &model)?;
    drop(objects);
    let mut builder = EngineBuilder::new(EngineOptions {
        max_retained: args.max_retained,
    });
    let mut skipped = Vec::new();
    for (i, indicator) in indicators.iter().enumerate() {
        if indicator.pattern_type != "stix" {
            continue;
        }
        if let Err(e) = builder.add(i, &indicator.pattern) {
            skipped.push(format!("{}: {e}", indicator.id));
        }
    }
    if !skipped.is_empty() {
        eprintln!(
            "warning: {} indicators skipped (invalid STIX patterns):",
            skipped.len()
        );
        for s in skipped.iter().take(5) {
            eprintln!("  {s}");
        }
    }
    if builder.is_empty() {
        bail!(
            "no usable STIX indicators in the source ({} objects read)",
            indicators.len()
        );
    }
    let usable = builder.len();
    let mut engine = builder.build();

    let now = now_micros();
    let mut hits: HashMap<usize, Hits> = HashMap::new();
    let mut recent: VecDeque<(u64, Seen)> = VecDeque::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut seq = 0u64;
    let mut read_errors = 0u64;
    let mut eval_errors = 0u64;
    let mut unreadable = 0usize;
    let mut result = ScanResult::default();
    let names: Vec<String> = args
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();

    for (input_index, path) in args.inputs.iter().enumerate() {
        let mut input = match scan::input::open(path) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("error: {e}");
                unreadable += 1;
                continue;
            }
        };
        let format = match args.format {
            Some(f) => f,
            None => scan::input::detect(&mut input)?,
        };
        let progress = progress_bar(&input, path);
        let counter = input.progress.clone();
        for (n, record) in scan::input::records(input, format, now).enumerate() {
            if n % 4096 == 0
                && let Some(bar) = &progress
            {
                bar.set_position(counter.load(Ordering::Relaxed));
            }
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    read_errors += 1;
                    if read_errors <= 10 {
                        eprintln!("warning: {e}");
                    }
                    continue;
                }
            };
            seq += 1;
            let seen = Seen {
                input: input_index,
                line: record.line,
                first: record.observation.first,
                last: record.observation.last,
                observed_data_id: record.observed_data_id.clone(),
                objects: Vec::new(),
            };
            engine.scan(seq, &record.observation, &mut result);
            eval_errors += result.errors.len() as u64;
            result.errors.clear();
            let mut seen = seen;
            if !result.matches.is_empty() || engine.retained() > 0 {
                seen.objects = record.observation.objects.clone();
            }
            recent.push_back((seq, seen));
            if recent.len() > KEPT_OBSERVATIONS {
                recent.pop_front();
            }
            for m in result.matches.drain(..) {
                let involved: Vec<Seen> = m
                    .observations
                    .iter()
                    .filter_map(|s| {
                        recent
                            .iter()
                            .rev()
                            .find(|(q, _)| q == s)
                            .map(|(_, seen)| seen.clone())
                    })
                    .collect();
                let indicator = &indicators[m.key];
                if args.output == Output::Jsonl {
                    let line = json!({
                        "indicator_id": indicator.id,
                        "indicator_name": indicator.name,
                        "pattern": indicator.pattern,
                        "observations": involved.iter().map(|s| json!({
                            "input": names[s.input],
                            "line": s.line,
                            "first_observed": format_time(s.first),
                            "last_observed": format_time(s.last),
                            "observed_data_ref": s.observed_data_id,
                        })).collect::<Vec<_>>(),
                    });
                    writeln!(out, "{line}")?;
                }
                let entry = hits.entry(m.key).or_insert_with(|| Hits {
                    count: 0,
                    first_seen: i64::MAX,
                    last_seen: i64::MIN,
                    places: Vec::new(),
                    observations: Vec::new(),
                });
                entry.count += 1;
                for s in involved {
                    entry.first_seen = entry.first_seen.min(s.first);
                    entry.last_seen = entry.last_seen.max(s.last);
                    if entry.places.len() < 5 {
                        entry.places.push((s.input, s.line));
                    }
                    if entry.observations.len() < OBSERVATIONS_PER_SIGHTING {
                        entry.observations.push(s);
                    }
                }
            }
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
    }

    let sightings = if args.output == Output::Stix || args.post.is_some() {
        sighting_objects(&indicators, &hits, args.identity.as_deref())
    } else {
        Vec::new()
    };
    match args.output {
        Output::Text => write_text(&mut out, &indicators, &hits, &names)?,
        Output::Jsonl => {}
        Output::Stix => write_bundle(&mut out, &sightings)?,
    }
    out.flush()?;
    eprintln!(
        "scanned {seq} observations from {} inputs with {usable} indicators: {} matched",
        args.inputs.len() - unreadable,
        hits.len()
    );
    if read_errors > 0 {
        eprintln!("warning: {read_errors} records could not be read");
    }
    if eval_errors > 0 {
        eprintln!(
            "warning: {eval_errors} evaluations failed (values of the wrong form for a pattern)"
        );
    }
    if let Some(url) = &args.post {
        if unreadable > 0 {
            bail!(
                "{unreadable} of {} inputs could not be read: nothing posted to {url} (fix the inputs and scan again)",
                args.inputs.len()
            );
        }
        if hits.is_empty() {
            eprintln!("nothing matched: nothing posted to {url}");
        } else if sightings.is_empty() {
            eprintln!(
                "nothing posted to {url}: the matched indicators have no valid STIX identifiers to sight"
            );
        } else {
            let token = args
                .post_token
                .clone()
                .or_else(|| {
                    std::env::var("ENTENTE_POST_TOKEN")
                        .ok()
                        .filter(|t| !t.is_empty())
                })
                .or_else(|| args.token.clone());
            post_sightings(url, token, &sightings)?;
        }
    }
    Ok(if unreadable > 0 {
        ExitCode::from(2)
    } else if hits.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Refuses a malformed --identity or --post before any scanning is done.
fn check_sharing_args(args: &Args) -> anyhow::Result<()> {
    if let Some(identity) = &args.identity {
        match stix::Identifier::parse(identity) {
            Ok(id) if id.object_type() == "identity" => {}
            Ok(id) => bail!(
                "--identity {identity}: a {} is not an identity; give the identity id of your organisation (entente org list shows it)",
                id.object_type()
            ),
            Err(e) => bail!(
                "--identity {identity:?} is not a STIX identifier ({e}); give identity--<uuid> (entente org list shows it)"
            ),
        }
    }
    if let Some(url) = &args.post
        && let Err(e) = scan::post::collection_urls(url)
    {
        bail!("--post {url}: {e}");
    }
    Ok(())
}

/// Posts the sightings and what they refer to, observables first and
/// sightings last, so that a reader of a partly posted result never meets a
/// sighting whose observed data has not arrived yet. Every object the server
/// did not store makes the post an error.
fn post_sightings(url: &str, token: Option<String>, objects: &[Value]) -> anyhow::Result<()> {
    let rank = |o: &Value| match o.get("type").and_then(Value::as_str) {
        Some("sighting") => 2,
        Some("observed-data") => 1,
        _ => 0,
    };
    let mut ordered: Vec<&Value> = objects.iter().collect();
    ordered.sort_by_key(|o| rank(o));
    let serialised = ordered
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()?;
    let target = scan::TaxiiTarget {
        url: url.to_owned(),
        token,
    };
    let limits = scan::post::PostLimits::default();
    let reports = scan::post::post_objects(&target, &serialised, &limits, |r| {
        eprintln!(
            "posted envelope {}/{} ({} object{}, {} bytes) to {url}: {} stored, {} failed (status {})",
            r.number,
            r.of,
            r.objects,
            if r.objects == 1 { "" } else { "s" },
            r.bytes,
            r.success_count,
            r.failures.len(),
            r.status_id
        );
        for f in r.failures.iter().take(SHOWN_FAILURES) {
            eprintln!("  failed {}: {}", f.id, f.message);
        }
        if r.failures.len() > SHOWN_FAILURES {
            eprintln!("  … and {} more", r.failures.len() - SHOWN_FAILURES);
        }
    })
    .context("posting the sightings failed")?;
    let failures: Vec<&scan::post::Failure> =
        reports.iter().flat_map(|r| r.failures.iter()).collect();
    if !failures.is_empty() {
        let named: Vec<String> = failures
            .iter()
            .take(SHOWN_FAILURES)
            .map(|f| format!("{}: {}", f.id, f.message))
            .collect();
        bail!(
            "{} of {} objects were not stored in {url}: {}{}",
            failures.len(),
            serialised.len(),
            named.join("; "),
            if failures.len() > SHOWN_FAILURES {
                "; …"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Failures printed per envelope and named in the final error.
const SHOWN_FAILURES: usize = 20;

/// The indicators among `objects` to scan with: without those whose
/// `valid_until` has passed (unless --include-expired) and those scoring
/// below --min-score, each left out counted on standard error.
fn fresh_indicators(
    objects: &[Value],
    args: &Args,
    model: &freshness::Model,
) -> anyhow::Result<Vec<Indicator>> {
    let mut indicators = scan::indicators::from_objects(objects);
    let now = Timestamp::from_micros(now_micros());
    if !args.include_expired {
        // An indicator is expired when its latest version is.
        let mut latest: HashMap<&str, (Option<&str>, bool)> = HashMap::new();
        for o in objects
            .iter()
            .filter(|o| o.get("type").and_then(Value::as_str) == Some("indicator"))
        {
            let (Some(id), modified) = (
                o.get("id").and_then(Value::as_str),
                o.get("modified").and_then(Value::as_str),
            ) else {
                continue;
            };
            let expired = freshness::is_expired(o, now);
            match latest.get(id) {
                Some((m, _)) if *m >= modified => {}
                _ => {
                    latest.insert(id, (modified, expired));
                }
            }
        }
        let before = indicators.len();
        indicators.retain(|i| !latest.get(i.id.as_str()).is_some_and(|(_, e)| *e));
        let skipped = before - indicators.len();
        if skipped > 0 {
            eprintln!(
                "skipped {skipped} expired indicator{} (valid_until has passed; --include-expired scans with them)",
                if skipped == 1 { "" } else { "s" }
            );
        }
    }
    if let Some(min) = args.min_score {
        let assessed = freshness::assess(objects, model, now);
        let low: std::collections::HashSet<&str> = assessed
            .iter()
            // Expired ones kept by --include-expired are judged by age.
            .filter(|a| {
                let score = if a.expired && !a.revoked {
                    a.decay_score
                } else {
                    a.score
                };
                score < min
            })
            .map(|a| a.id.as_str())
            .collect();
        let before = indicators.len();
        indicators.retain(|i| !low.contains(i.id.as_str()));
        let skipped = before - indicators.len();
        if skipped > 0 {
            eprintln!(
                "skipped {skipped} indicator{} scoring below {min}",
                if skipped == 1 { "" } else { "s" }
            );
        }
    }
    Ok(indicators)
}

fn load_objects(data: &Path, args: &Args) -> anyhow::Result<Vec<Value>> {
    if let Some(file) = &args.indicators {
        let bytes = if file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
            buf
        } else {
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        };
        return Ok(scan::indicators::objects_from_stix(
            &bytes,
            &file.display().to_string(),
        )?);
    }
    if let Some(url) = &args.taxii {
        return Ok(scan::indicators::objects_from_taxii(&TaxiiSource {
            url: url.clone(),
            token: args.token.clone(),
        })?);
    }
    let Some(collection) = &args.collection else {
        bail!("give --indicators FILE, --collection ID or --taxii URL");
    };
    local_collection(data, collection)
}

/// The indicators and sightings of a collection of this node, as the
/// operator sees them.
fn local_collection(data: &Path, id: &str) -> anyhow::Result<Vec<Value>> {
    let site = crate::site::Site::open(data)?;
    let service = &site.node;
    let collection = site.collection(id)?;
    let principal = site.operator();
    let mut query = node::ObjectQuery {
        added_after: None,
        ids: Vec::new(),
        types: vec!["indicator".into(), "sighting".into()],
        versions: node::VersionMatch::last_only(),
        spec_versions: Vec::new(),
        limit: 5_000,
        with_raw: true,
        audience: None,
        max_bytes: None,
        max_tlp: None,
        relay_guard: Vec::new(),
    };
    let mut objects = Vec::new();
    loop {
        // Expired indicators are skipped here (unless --include-expired),
        // whatever the collection hides from TAXII readers.
        let page = service.read_with(&principal, &collection, &query, node::Expired::Include)?;
        for o in &page.items {
            objects.push(o.raw.as_bytes().to_vec());
        }
        match (page.more, page.resume_after) {
            (true, Some(after)) => query.added_after = Some(after),
            _ => break,
        }
    }
    let mut bundle = b"[".to_vec();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            bundle.push(b',');
        }
        bundle.extend_from_slice(o);
    }
    bundle.push(b']');
    if objects.is_empty() {
        bail!("collection {id} holds no indicators");
    }
    Ok(scan::indicators::objects_from_stix(
        &bundle,
        &format!("collection {id}"),
    )?)
}

fn progress_bar(input: &scan::Input, path: &Path) -> Option<indicatif::ProgressBar> {
    let size = input.size?;
    if size < 8 << 20 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(size),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    Some(bar)
}

fn now_micros() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    since.as_micros() as i64
}

fn format_time(micros: i64) -> String {
    Timestamp::from_micros(micros).format_with_precision(3)
}

fn write_text(
    out: &mut impl Write,
    indicators: &[Indicator],
    hits: &HashMap<usize, Hits>,
    names: &[String],
) -> anyhow::Result<()> {
    if hits.is_empty() {
        writeln!(out, "no indicator matched")?;
        return Ok(());
    }
    let mut sorted: Vec<(&usize, &Hits)> = hits.iter().collect();
    sorted.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    for (key, h) in sorted {
        let indicator = &indicators[*key];
        match &indicator.name {
            Some(name) => writeln!(out, "MATCH {} ({name})", indicator.id)?,
            None => writeln!(out, "MATCH {}", indicator.id)?,
        }
        writeln!(out, "  pattern:    {}", indicator.pattern)?;
        writeln!(
            out,
            "  matched:    {} time{}, first seen {}, last seen {}",
            h.count,
            if h.count == 1 { "" } else { "s" },
            format_time(h.first_seen),
            format_time(h.last_seen)
        )?;
        let places: Vec<String> = h
            .places
            .iter()
            .map(|(i, line)| format!("{}:{line}", names[*i]))
            .collect();
        writeln!(
            out,
            "  where:      {}{}",
            places.join(", "),
            if h.count > 5 { ", …" } else { "" }
        )?;
    }
    writeln!(
        out,
        "{} indicator{} matched",
        hits.len(),
        if hits.len() == 1 { "" } else { "s" }
    )?;
    Ok(())
}

/// Sightings of each matched indicator, with observed-data for what came
/// from logs (STIX input is referred to by its observed-data identifiers).
/// `identity` is who saw them: creator of the sightings and observed data,
/// and where they were sighted.
fn sighting_objects(
    indicators: &[Indicator],
    hits: &HashMap<usize, Hits>,
    identity: Option<&str>,
) -> Vec<Value> {
    let created = format_time(now_micros());
    let mut objects: Vec<Value> = Vec::new();
    let mut emitted: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut keys: Vec<&usize> = hits.keys().collect();
    keys.sort();
    for key in keys {
        let h = &hits[key];
        let indicator = &indicators[*key];
        if stix::Identifier::parse(&indicator.id).is_err() {
            continue;
        }
        let mut refs = Vec::new();
        for s in &h.observations {
            if let Some(id) = &s.observed_data_id {
                refs.push(id.clone());
                continue;
            }
            let scos: Vec<&(String, Value)> = s
                .objects
                .iter()
                .filter(|(id, _)| stix::Identifier::parse(id).is_ok())
                .collect();
            if scos.is_empty() {
                continue;
            }
            let id = format!("observed-data--{}", uuid::Uuid::new_v4());
            let mut observed = json!({
                "type": "observed-data",
                "spec_version": "2.1",
                "id": id,
                "created": created,
                "modified": created,
                "first_observed": format_time(s.first),
                "last_observed": format_time(s.last),
                "number_observed": 1,
                "object_refs": scos.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
            });
            if let Some(identity) = identity {
                observed["created_by_ref"] = json!(identity);
            }
            objects.push(observed);
            for (sco_id, sco) in scos {
                if emitted.insert(sco_id.clone()) {
                    objects.push(sco.clone());
                }
            }
            refs.push(id);
        }
        let mut sighting = json!({
            "type": "sighting",
            "spec_version": "2.1",
            "id": format!("sighting--{}", uuid::Uuid::new_v4()),
            "created": created,
            "modified": created,
            "sighting_of_ref": indicator.id,
            "count": h.count.min(999_999_999),
            "first_seen": format_time(h.first_seen),
            "last_seen": format_time(h.last_seen.max(h.first_seen)),
        });
        if !refs.is_empty() {
            refs.sort();
            refs.dedup();
            sighting["observed_data_refs"] = json!(refs);
        }
        if let Some(identity) = identity {
            sighting["created_by_ref"] = json!(identity);
            sighting["where_sighted_refs"] = json!([identity]);
        }
        objects.push(sighting);
    }
    objects
}

fn write_bundle(out: &mut impl Write, objects: &[Value]) -> anyhow::Result<()> {
    let bundle = json!({
        "type": "bundle",
        "id": format!("bundle--{}", uuid::Uuid::new_v4()),
        "objects": objects,
    });
    serde_json::to_writer_pretty(&mut *out, &bundle)?;
    writeln!(out)?;
    Ok(())
}

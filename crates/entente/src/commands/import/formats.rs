//! `entente import --format misp|csv`: inputs converted to STIX (crate
//! `convert`), then validated and ingested exactly like STIX input (same
//! validator, same `Node::ingest`, so markings, TLP, onward rules and the
//! audit log apply), with the same progress bar and summary; `run` then has
//! the node sign what was stored, whatever the input format.
//!
//! A record the converter cannot convert, and a converted object the node
//! refuses, are reported with the record it came from (`line 12`, `event …,
//! attribute … (ip-dst)`), so the summary points into the file the analyst
//! has. CSV is streamed: rows are read, converted and sent to the writer in
//! batches, so a million rows never sit in memory at once.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use node::Collection;
use node::{IngestOutcome, Outcome};
use sharing::Principal;
use sharing::recipients::NamedRecipients;
use stix::{StixObject, Validator};

use super::{Args, BATCH, Summary, progress, read_input};
use crate::site::{self, Site};

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// STIX 2.1: a bundle, a TAXII envelope, a JSON array or JSON lines.
    Stix,
    /// MISP JSON events: {"Event": …}, a list of them, or a restSearch
    /// {"response": […]}.
    Misp,
    /// CSV rows of indicators.
    Csv,
}

/// The format of each input file: `--format`, else told by the file.
pub fn resolve(args: &Args) -> anyhow::Result<Vec<Format>> {
    let formats: Vec<Format> = match args.format {
        Some(f) => vec![f; args.files.len()],
        None => args
            .files
            .iter()
            .map(|f| sniff(f))
            .collect::<anyhow::Result<_>>()?,
    };
    if !args.columns.is_empty() && !formats.contains(&Format::Csv) {
        bail!("--column maps CSV columns, and no input is CSV (name it *.csv or use --format csv)");
    }
    Ok(formats)
}

/// `.csv`/`.tsv` is CSV; JSON that opens with `{"Event"`, `{"response"` or
/// `[{"Event"` is MISP; anything else (and standard input, which cannot be
/// read twice) is STIX.
fn sniff(file: &Path) -> anyhow::Result<Format> {
    if file.as_os_str() == "-" {
        return Ok(Format::Stix);
    }
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "csv" || ext == "tsv" {
        return Ok(Format::Csv);
    }
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .take(512)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let text = String::from_utf8_lossy(&head);
    let compact: String = text
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(16)
        .collect();
    let misp = ["{\"Event\"", "{\"response\"", "[{\"Event\""]
        .iter()
        .any(|p| compact.starts_with(p));
    Ok(if misp { Format::Misp } else { Format::Stix })
}

/// A batch for the writer thread: valid objects with their position in the
/// file and the record each comes from.
struct Batch {
    file: String,
    objects: Vec<(usize, StixObject)>,
    /// The position of each object in its file, increasing (kept when the
    /// objects go to the writer).
    indices: Vec<usize>,
    origins: Vec<Source>,
}

/// Where an object came from, kept as is and written out only for the
/// objects the node refuses: formatting one per object would cost more than
/// a million-row import can spare.
enum Source {
    /// Position in a STIX input.
    Object(usize),
    /// Line of a CSV row.
    Line(u64),
    Misp(convert::misp::Origin),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Object(i) => write!(f, "object {i}"),
            Source::Line(l) => write!(f, "line {l}"),
            Source::Misp(o) => o.fmt(f),
        }
    }
}

/// Converts, validates and ingests `args.files` (`formats` given per file).
pub fn import(
    site: &Site,
    principal: &Principal,
    collection: &Collection,
    args: &Args,
    recipients: &NamedRecipients,
    formats: &[Format],
) -> anyhow::Result<Summary> {
    let service = &site.node;
    let validator = site::validator();
    let columns = if args.columns.is_empty() {
        convert::csv::ColumnSpec::FromHeader
    } else {
        convert::csv::ColumnSpec::parse(&args.columns.join(","))?
    };
    let now = node::now();
    // STIX wants milliseconds; the converter prints what it is given.
    let now = stix::Timestamp::from_micros(now.as_micros() / 1000 * 1000);
    let id_seed = format!(
        "{}/{}",
        collection.id,
        principal
            .org()
            .map_or("node".to_string(), |o| o.to_string())
    );
    let mut summary = Summary::default();
    let mut feed = Feed {
        validator: &validator,
        summary: &mut summary,
        strict: args.strict,
        held: Vec::new(),
        batch: None,
        closed: false,
    };

    let (tx, rx) = mpsc::sync_channel::<Batch>(2);
    let writer = {
        let service = service.clone();
        let principal = principal.clone();
        let collection = collection.clone();
        let recipients = recipients.clone();
        // Outcomes are counted as batches come back, and dropped: a
        // million-row file keeps only its refusals.
        std::thread::spawn(move || -> anyhow::Result<Summary> {
            let mut stored = Summary::default();
            for mut batch in rx {
                let objects = std::mem::take(&mut batch.objects);
                let report =
                    service.ingest(&principal, &collection, objects, Vec::new(), &recipients)?;
                tally(&mut stored, &batch, &report.outcomes);
            }
            Ok(stored)
        })
    };
    // In strict mode nothing is sent until every file converted cleanly.
    let sink = if args.strict { None } else { Some(&tx) };

    for (file, format) in args.files.iter().zip(formats) {
        let name = file.display().to_string();
        match format {
            Format::Stix => {
                let bytes = read_input(file)?;
                let env = stix::split_envelope(&bytes).with_context(|| {
                    format!("{name} is not STIX content (a bundle, a JSON array or JSON lines); for MISP events or CSV use --format")
                })?;
                let bar = progress(env.objects.len(), args.quiet, "importing");
                for (i, raw) in env.objects.iter().enumerate() {
                    if feed.closed {
                        break;
                    }
                    feed.object(&name, i, raw.get(), Source::Object(i), sink);
                    bar.inc(1);
                }
                bar.finish_and_clear();
            }
            Format::Misp => {
                let bytes = read_input(file)?;
                let events = convert::misp::read(&bytes).with_context(|| name.clone())?;
                // Event by event, so that converting one overlaps with
                // storing the previous ones on the writer thread.
                let bar = event_progress(events.len(), args.quiet);
                let mut i = 0;
                for event in events.iter() {
                    for e in event.errors {
                        feed.error(&name, i, e.to_string());
                    }
                    for o in event.objects {
                        if feed.closed {
                            break;
                        }
                        feed.object(&name, i, &o.stix.json, Source::Misp(o.origin), sink);
                        i += 1;
                    }
                    bar.inc(1);
                    bar.set_message(format!("{i} objects"));
                }
                bar.finish_and_clear();
            }
            Format::Csv => {
                let options = convert::csv::CsvOptions {
                    columns: columns.clone(),
                    delimiter: if name.to_ascii_lowercase().ends_with(".tsv") {
                        b'\t'
                    } else {
                        b','
                    },
                    ..convert::csv::CsvOptions::new(now, id_seed.clone())
                };
                let (input, size): (Box<dyn Read>, Option<u64>) = if file.as_os_str() == "-" {
                    (Box::new(std::io::stdin().lock()), None)
                } else {
                    let f =
                        std::fs::File::open(file).with_context(|| format!("cannot read {name}"))?;
                    let size = f.metadata().ok().map(|m| m.len());
                    (Box::new(f), size)
                };
                let mut rows = convert::csv::read(input, options).with_context(|| name.clone())?;
                let bar = byte_progress(size, args.quiet);
                let mut i = 0;
                let mut indicators = 0u64;
                while let Some(row) = rows.next() {
                    if feed.closed {
                        break;
                    }
                    match row {
                        Ok(row) => {
                            let line = row.line;
                            feed.object(&name, i, &row.indicator.json, Source::Line(line), sink);
                            indicators += 1;
                        }
                        Err(e) => feed.error(&name, i, e.to_string()),
                    }
                    i += 1;
                    if i % 1024 == 0 {
                        bar.set_position(rows.bytes_read());
                        bar.set_message(format!("{indicators} indicators"));
                    }
                }
                bar.finish_and_clear();
            }
        }
        feed.flush(sink);
        if feed.closed {
            break;
        }
    }

    let held = std::mem::take(&mut feed.held);
    drop(feed);
    if args.strict {
        if let Some((file, _, _, why)) = summary.refused.first() {
            let message = format!("{file}: {why}\n--strict: nothing was imported");
            drop(tx);
            let _ = writer.join();
            bail!(message);
        }
        for batch in held {
            tx.send(batch)
                .map_err(|_| anyhow::anyhow!("the storage thread failed"))?;
        }
    }
    drop(tx);
    let stored = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the storage thread failed"))??;
    summary.stored += stored.stored;
    summary.duplicates += stored.duplicates;
    summary.refused.extend(stored.refused);
    let order: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    summary
        .refused
        .sort_by_key(|(f, i, _, _)| (order.iter().position(|n| n == f), *i));
    Ok(summary)
}

/// The reading side: validates objects into batches, notes what is refused.
struct Feed<'a> {
    validator: &'a Validator,
    summary: &'a mut Summary,
    strict: bool,
    /// Batches held back until the end (strict mode).
    held: Vec<Batch>,
    batch: Option<Batch>,
    /// The writer stopped (its error is what joining it returns): reading
    /// further is pointless.
    closed: bool,
}

impl Feed<'_> {
    /// One converted object at position `index` of `file`.
    fn object(
        &mut self,
        file: &str,
        index: usize,
        json: &str,
        origin: Source,
        sink: Option<&mpsc::SyncSender<Batch>>,
    ) {
        match self.validator.validate_str(index, json) {
            Ok(object) => {
                let batch = self.batch.get_or_insert_with(|| Batch {
                    file: file.to_string(),
                    objects: Vec::with_capacity(BATCH),
                    indices: Vec::with_capacity(BATCH),
                    origins: Vec::with_capacity(BATCH),
                });
                batch.objects.push((index, object));
                batch.indices.push(index);
                batch.origins.push(origin);
                if batch.objects.len() == BATCH {
                    self.flush(sink);
                }
            }
            Err(r) => {
                let why = format!("{origin}: {}", r.message());
                self.summary
                    .refused
                    .push((file.to_string(), index, r.id, why));
            }
        }
    }

    /// A record the converter could not convert.
    fn error(&mut self, file: &str, index: usize, why: String) {
        self.summary
            .refused
            .push((file.to_string(), index, None, why));
    }

    fn flush(&mut self, sink: Option<&mpsc::SyncSender<Batch>>) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        match sink {
            Some(tx) => self.closed = tx.send(batch).is_err(),
            None if self.strict => self.held.push(batch),
            None => {}
        }
    }
}

/// Counts outcomes; a refusal names the record the object came from.
fn tally(summary: &mut Summary, batch: &Batch, outcomes: &[IngestOutcome]) {
    for o in outcomes {
        match &o.outcome {
            Outcome::Stored(_) => summary.stored += 1,
            Outcome::Duplicate => summary.duplicates += 1,
            Outcome::Refused { message: why, .. } => {
                let origin = batch
                    .objects_index(o.index)
                    .and_then(|k| batch.origins.get(k))
                    .map_or(String::new(), |s| format!("{s}: "));
                summary.refused.push((
                    batch.file.clone(),
                    o.index,
                    o.id.clone(),
                    format!("{origin}{why}"),
                ));
            }
        }
    }
}

impl Batch {
    /// Where the object at file position `index` is in this batch.
    fn objects_index(&self, index: usize) -> Option<usize> {
        self.indices.binary_search(&index).ok()
    }
}

fn event_progress(events: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(events as u64);
    bar.set_style(
        ProgressStyle::with_template("importing [{bar:40}] {pos}/{len} events  {msg}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

fn byte_progress(size: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    match size {
        Some(len) => {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template(
                    "importing [{bar:40}] {bytes}/{total_bytes}  {msg}  {bytes_per_sec}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("importing {spinner} {bytes}  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    }
}

//! `entente import`: load STIX content into a collection.
//!
//! Objects are validated on one thread and stored on another, in
//! transactions of a few thousand objects, with a progress bar. With
//! `--strict`, everything is validated first and nothing is stored unless
//! every object is valid.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use stix::{Rejection, StixObject};
use store::{AddOutcome, Store};

use crate::node::{self, Node};

#[derive(clap::Args)]
pub struct Args {
    /// Collection id to import into.
    #[arg(long)]
    pub collection: String,
    /// STIX bundles, JSON arrays or JSON lines of objects; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Stop at the first invalid object and store nothing.
    #[arg(long)]
    pub strict: bool,
    /// Write every rejection as a JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

const BATCH: usize = 5_000;
const SHOWN_REJECTIONS: usize = 20;

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    pub stored: usize,
    pub duplicates: usize,
    pub conflicts: Vec<String>,
    pub rejected: Vec<(String, Rejection)>,
}

fn read_input(file: &Path) -> anyhow::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
    }
}

fn progress(total: usize, quiet: bool, label: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:40}] {pos}/{len} objects  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

/// Imports `files` into collection `key`.
pub fn import(node: &Node, key: i64, args: &Args) -> anyhow::Result<Summary> {
    let validator = node::validator();
    let mut summary = Summary::default();
    let inputs: Vec<(String, Vec<u8>)> = args
        .files
        .iter()
        .map(|f| Ok((f.display().to_string(), read_input(f)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut envelopes = Vec::with_capacity(inputs.len());
    for (name, bytes) in &inputs {
        let env = stix::split_envelope(bytes).with_context(|| {
            format!("{name} is not STIX content (a bundle, a JSON array or JSON lines)")
        })?;
        envelopes.push((name.as_str(), env));
    }
    let total: usize = envelopes.iter().map(|(_, e)| e.objects.len()).sum();

    if args.strict {
        let bar = progress(total, args.quiet, "validating");
        let mut all = Vec::with_capacity(total);
        for (name, env) in &envelopes {
            for (i, raw) in env.objects.iter().enumerate() {
                match validator.validate(i, raw) {
                    Ok(o) => all.push(o),
                    Err(r) => {
                        bar.abandon();
                        bail!("{name}: {r}\n--strict: nothing was imported");
                    }
                }
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        let bar = progress(total, args.quiet, "storing");
        for chunk in all.chunks(BATCH) {
            tally(&mut summary, chunk, &node.store.add_objects(key, chunk)?);
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        return Ok(summary);
    }

    let bar = progress(total, args.quiet, "importing");
    let store = node.store.clone();
    // Validation (this thread) and storage (the writer thread) overlap.
    let (tx, rx) = mpsc::sync_channel::<Vec<StixObject>>(2);
    let writer = std::thread::spawn(
        move || -> anyhow::Result<Vec<(Vec<StixObject>, Vec<AddOutcome>)>> {
            let mut done = Vec::new();
            for batch in rx {
                let outcomes = store.add_objects(key, &batch)?;
                done.push((batch, outcomes));
            }
            Ok(done)
        },
    );
    let mut send_failed = false;
    for (name, env) in &envelopes {
        let mut batch = Vec::with_capacity(BATCH);
        for (i, raw) in env.objects.iter().enumerate() {
            match validator.validate(i, raw) {
                Ok(o) => batch.push(o),
                Err(r) => summary.rejected.push((name.to_string(), r)),
            }
            if batch.len() == BATCH {
                bar.inc(batch.len() as u64);
                if tx.send(std::mem::take(&mut batch)).is_err() {
                    send_failed = true;
                    break;
                }
            }
        }
        bar.inc(batch.len() as u64);
        if !batch.is_empty() && tx.send(batch).is_err() {
            send_failed = true;
        }
        bar.set_position(bar.position().max(0));
        if send_failed {
            break;
        }
    }
    drop(tx);
    let stored = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the storage thread failed"))??;
    for (batch, outcomes) in &stored {
        tally(&mut summary, batch, outcomes);
    }
    bar.finish_and_clear();
    Ok(summary)
}

fn tally(summary: &mut Summary, batch: &[StixObject], outcomes: &[AddOutcome]) {
    for (o, outcome) in batch.iter().zip(outcomes) {
        match outcome {
            AddOutcome::Added(_) => summary.stored += 1,
            AddOutcome::Duplicate(_) => summary.duplicates += 1,
            AddOutcome::Conflict(_) => summary.conflicts.push(o.id.clone()),
        }
    }
}

pub fn run(dir: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let node = Node::open(dir)?;
    let collection = node.collection(&args.collection)?;
    let started = std::time::Instant::now();
    let summary = import(&node, collection.key, &args)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "stored {}, duplicates {}, conflicts {}, rejected {} ({:.2} s)",
        summary.stored,
        summary.duplicates,
        summary.conflicts.len(),
        summary.rejected.len(),
        secs
    );
    for id in summary.conflicts.iter().take(SHOWN_REJECTIONS) {
        println!("  conflict: {id}: a different object with this id and version is already stored");
    }
    for (file, r) in summary.rejected.iter().take(SHOWN_REJECTIONS) {
        println!("  rejected: {file}: {r}");
    }
    let hidden = summary.rejected.len().saturating_sub(SHOWN_REJECTIONS);
    if hidden > 0 {
        println!("  … and {hidden} more rejections (write them all with --errors FILE)");
    }
    if let Some(path) = &args.errors {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        );
        for (file, r) in &summary.rejected {
            let line = serde_json::json!({
                "file": file,
                "index": r.index,
                "id": r.id,
                "problems": r.problems.iter().map(|p| serde_json::json!({"path": p.path, "reason": p.reason})).collect::<Vec<_>>(),
            });
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
    Ok(
        if summary.rejected.is_empty() && summary.conflicts.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

//! `entente import`: load STIX content into a collection.
//!
//! Objects are validated on one thread and ingested on another (through the
//! same policy path as a TAXII POST), in batches of a few thousand, with a
//! progress bar. With `--strict`, everything is validated first and nothing
//! is stored unless every object is valid. MISP events and CSV files are
//! converted to STIX first (`formats`), then take the same path.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use node::Collection;
use node::{IngestOutcome, Outcome};
use sharing::Principal;
use sharing::recipients::NamedRecipients;
use stix::{Rejection, StixObject};

use crate::site::{self, Site};

mod formats;

pub use formats::Format;

#[derive(clap::Args)]
pub struct Args {
    /// Collection id to import into.
    #[arg(long)]
    pub collection: String,
    /// STIX bundles, JSON arrays or JSON lines of objects, MISP JSON events,
    /// or CSV files of indicators; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Input format; default: csv for *.csv and *.tsv files, misp for
    /// MISP JSON ({"Event": …}, {"response": […]}, a list of events), stix
    /// otherwise.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV columns, FIELD=COLUMN: a 1-based position or a header name
    /// (repeatable or comma-separated, e.g. value=2,type=1). Fields: value,
    /// type, comment, tlp, first_seen, last_seen, labels, name, confidence.
    /// Default: the first row names the columns.
    #[arg(long = "column", value_name = "FIELD=COLUMN")]
    pub columns: Vec<String>,
    /// Stop at the first invalid object and store nothing.
    #[arg(long)]
    pub strict: bool,
    /// Write every rejection as a JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Import as this user (ORG/USER): the objects' source is the user's
    /// organisation, with its rights. Default: the node operator.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
    /// Recipient organisation of the AMBER and RED objects (repeatable).
    #[arg(long = "recipient-org", value_name = "ORG")]
    pub recipient_orgs: Vec<String>,
    /// Recipient user of the AMBER and RED objects, ORG/USER (repeatable; TLP:RED needs at least one).
    #[arg(long = "recipient-user", value_name = "USER")]
    pub recipient_users: Vec<String>,
}

const BATCH: usize = 5_000;
const SHOWN_REJECTIONS: usize = 20;

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    pub stored: usize,
    pub duplicates: usize,
    /// (file, index, id, why) of every object not stored.
    pub refused: Vec<(String, usize, Option<String>, String)>,
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

fn tally(summary: &mut Summary, file: &str, outcomes: &[IngestOutcome]) {
    for o in outcomes {
        match &o.outcome {
            Outcome::Stored(_) => summary.stored += 1,
            Outcome::Duplicate => summary.duplicates += 1,
            Outcome::Refused { message: why, .. } => {
                summary
                    .refused
                    .push((file.to_string(), o.index, o.id.clone(), why.clone()))
            }
        }
    }
}

/// Imports `args.files` into `collection` as `principal`.
pub fn import(
    site: &Site,
    principal: &Principal,
    collection: &Collection,
    args: &Args,
    recipients: &NamedRecipients,
) -> anyhow::Result<Summary> {
    let formats = formats::resolve(args)?;
    if formats.iter().any(|f| *f != Format::Stix) {
        return formats::import(site, principal, collection, args, recipients, &formats);
    }
    let service = &site.node;
    let validator = site::validator();
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
        let mut all = Vec::with_capacity(envelopes.len());
        for (name, env) in &envelopes {
            let mut valid = Vec::with_capacity(env.objects.len());
            for (i, raw) in env.objects.iter().enumerate() {
                match validator.validate(i, raw) {
                    Ok(o) => valid.push((i, o)),
                    Err(r) => {
                        bar.abandon();
                        bail!("{name}: {r}\n--strict: nothing was imported");
                    }
                }
                bar.inc(1);
            }
            all.push((name.to_string(), valid));
        }
        bar.finish_and_clear();
        let bar = progress(total, args.quiet, "storing");
        for (name, valid) in all {
            let mut rest = valid;
            while !rest.is_empty() {
                let tail = rest.split_off(rest.len().min(BATCH));
                let n = rest.len();
                let report = service.ingest(principal, collection, rest, Vec::new(), recipients)?;
                service.sign_pending()?;
                tally(&mut summary, &name, &report.outcomes);
                bar.inc(n as u64);
                rest = tail;
            }
        }
        bar.finish_and_clear();
        return Ok(summary);
    }

    let bar = progress(total, args.quiet, "importing");
    type Batch = (String, Vec<(usize, StixObject)>, Vec<Rejection>);
    let (tx, rx) = mpsc::sync_channel::<Batch>(2);
    // Validation (this thread) and ingestion (the writer thread) overlap.
    let writer = {
        let service = service.clone();
        let principal = principal.clone();
        let collection = collection.clone();
        let recipients = recipients.clone();
        std::thread::spawn(
            move || -> anyhow::Result<Vec<(String, Vec<IngestOutcome>)>> {
                let mut done = Vec::new();
                for (name, batch, rejected) in rx {
                    let report =
                        service.ingest(&principal, &collection, batch, rejected, &recipients)?;
                    // Each batch's manifest follows it, as a serving node's
                    // would: a peer pulling the collection receives a
                    // manifest right after what it lists.
                    service.sign_pending()?;
                    done.push((name, report.outcomes));
                }
                Ok(done)
            },
        )
    };
    'files: for (name, env) in &envelopes {
        let mut batch = Vec::with_capacity(BATCH);
        let mut rejected = Vec::new();
        for (i, raw) in env.objects.iter().enumerate() {
            match validator.validate(i, raw) {
                Ok(o) => batch.push((i, o)),
                Err(r) => rejected.push(r),
            }
            if batch.len() + rejected.len() == BATCH {
                bar.inc(BATCH as u64);
                let send = (
                    name.to_string(),
                    std::mem::take(&mut batch),
                    std::mem::take(&mut rejected),
                );
                if tx.send(send).is_err() {
                    break 'files;
                }
            }
        }
        bar.inc((batch.len() + rejected.len()) as u64);
        if (!batch.is_empty() || !rejected.is_empty())
            && tx.send((name.to_string(), batch, rejected)).is_err()
        {
            break;
        }
    }
    drop(tx);
    let done = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the storage thread failed"))??;
    for (name, outcomes) in &done {
        tally(&mut summary, name, outcomes);
    }
    bar.finish_and_clear();
    // Keep input order within the report: files in order, then positions.
    let order: Vec<&str> = envelopes.iter().map(|(n, _)| *n).collect();
    summary
        .refused
        .sort_by_key(|(f, i, _, _)| (order.iter().position(|n| n == f), *i));
    Ok(summary)
}

pub fn run(dir: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    let collection = site.collection(&args.collection)?;
    let principal = site.acting_as(args.as_user.as_deref())?;
    if !principal.can_write(&collection.policy()) {
        bail!(
            "{} may not write to collection {}",
            args.as_user.as_deref().unwrap_or("this user"),
            collection.id
        );
    }
    // Whether each recipient may be named is the node's rule: a name the
    // importer may not address stops the import before anything is stored.
    let recipients = NamedRecipients {
        organizations: args.recipient_orgs.clone(),
        users: args.recipient_users.clone(),
    };
    // Open the rejections file first: a path that cannot be written must
    // stop the import before anything is stored, not after.
    let errors_file = match &args.errors {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => None,
    };
    let started = std::time::Instant::now();
    let summary = import(&site, &principal, &collection, &args, &recipients)?;
    // This node vouches for what was posted here, as a serving node would
    // within moments.
    site.node.sign_pending()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "stored {}, duplicates {}, rejected {} ({:.2} s)",
        summary.stored,
        summary.duplicates,
        summary.refused.len(),
        secs
    );
    for (file, _, _, why) in summary.refused.iter().take(SHOWN_REJECTIONS) {
        println!("  rejected: {file}: {why}");
    }
    let hidden = summary.refused.len().saturating_sub(SHOWN_REJECTIONS);
    if hidden > 0 {
        println!("  … and {hidden} more rejections (write them all with --errors FILE)");
    }
    if let Some(mut out) = errors_file {
        for (file, index, id, why) in &summary.refused {
            let line = serde_json::json!({ "file": file, "index": index, "id": id, "reason": why });
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
    Ok(if summary.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! `entente export`: write a collection (or part of it) as a STIX bundle.
//! Objects are written as stored, never re-encoded. `--format mvt` writes
//! the `.stix2` indicator file Amnesty's MVT loads instead (`convert::mvt`),
//! and reports every indicator it cannot carry.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use node::{ObjectQuery, VersionMatch};
use stix::Timestamp;

use crate::site::Site;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub collection: String,
    /// Only objects of this type (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only this object (repeatable).
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// Only objects added after this STIX timestamp.
    #[arg(long)]
    pub added_after: Option<String>,
    /// Which versions: last (default), first, all.
    #[arg(long, default_value = "last")]
    pub versions: String,
    /// Output file (default: standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Export what this user (ORG/USER) may see and share onward: the
    /// sharing policy applies, and TLP:RED objects are never included.
    /// Without it, the operator exports everything (a backup).
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
    /// stix: a STIX bundle of the objects as stored; mvt: the .stix2
    /// indicator file of Amnesty's Mobile Verification Toolkit (indicators
    /// it can read, their malware, reports), listing on standard error the
    /// indicators it cannot read.
    #[arg(long, value_enum, default_value = "stix")]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Stix,
    Mvt,
}

/// Indicators MVT cannot read shown on standard error (all go to the count).
const SHOWN_SKIPPED: usize = 20;

pub fn run(dir: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    let collection = site.collection(&args.collection)?;
    let principal = site.acting_as(args.as_user.as_deref())?;
    if !principal.can_read(&collection.policy()) {
        bail!(
            "{} may not read collection {}",
            args.as_user.as_deref().unwrap_or("this user"),
            collection.id
        );
    }
    let versions = match args.versions.as_str() {
        "last" => VersionMatch::last_only(),
        "first" => VersionMatch {
            first: true,
            ..Default::default()
        },
        "all" => VersionMatch::all(),
        other => bail!("--versions {other:?}: use last, first or all"),
    };
    for t in &args.types {
        if !stix::is_valid_type_name(t) {
            bail!("--type {t:?} is not a STIX type name");
        }
    }
    for id in &args.ids {
        stix::Identifier::parse(id).with_context(|| format!("--id {id:?}"))?;
    }
    let added_after = match &args.added_after {
        Some(t) => Some(Timestamp::parse(t).context("--added-after")?),
        None => None,
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut query = ObjectQuery {
        added_after,
        ids: args.ids,
        types: args.types,
        versions,
        spec_versions: Vec::new(),
        limit: 5_000,
        with_raw: true,
        audience: None,
        max_bytes: None,
        max_tlp: None,
        relay_guard: Vec::new(),
    };
    let mvt = args.format == Format::Mvt;
    // MVT's file is built from the whole selection at once.
    let mut collected: Vec<String> = Vec::new();
    if !mvt {
        write!(
            out,
            "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
            uuid::Uuid::new_v4()
        )?;
    }
    let mut count = 0usize;
    let mut withheld_red = 0usize;
    loop {
        // An export leaves the node: the node withholds what may not.
        let page = site.node.export_page(&principal, &collection, &query)?;
        withheld_red += page.withheld;
        for o in &page.items {
            if mvt {
                collected.push(o.raw.to_string());
                continue;
            }
            if count > 0 {
                out.write_all(b",\n")?;
            } else {
                out.write_all(b"\n")?;
            }
            out.write_all(o.raw.as_bytes())?;
            count += 1;
        }
        match (page.more, page.resume_after) {
            (true, Some(after)) => query.added_after = Some(after),
            _ => break,
        }
    }
    if mvt {
        let export = convert::mvt::export(collected.iter().map(String::as_str));
        out.write_all(export.json.as_bytes())?;
        out.flush()?;
        eprintln!("exported {} MVT indicators", export.indicators);
        if !export.skipped.is_empty() {
            eprintln!(
                "{} indicators were left out: MVT cannot read them",
                export.skipped.len()
            );
            for s in export.skipped.iter().take(SHOWN_SKIPPED) {
                match &s.pattern {
                    Some(p) => eprintln!("  {} {p}: {}", s.id, s.reason),
                    None => eprintln!("  {}: {}", s.id, s.reason),
                }
            }
            let hidden = export.skipped.len().saturating_sub(SHOWN_SKIPPED);
            if hidden > 0 {
                eprintln!("  … and {hidden} more");
            }
        }
    } else {
        out.write_all(b"\n]}\n")?;
        out.flush()?;
        if args.output.is_some() {
            eprintln!("exported {count} objects");
        }
    }
    if withheld_red > 0 {
        eprintln!(
            "{withheld_red} TLP:RED or unshareable objects were not exported: they are never shared onward"
        );
    }
    Ok(ExitCode::SUCCESS)
}

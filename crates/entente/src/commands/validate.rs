//! `entente validate FILE...`: check STIX content offline, as the node would
//! on import or TAXII add, and say exactly what is wrong where.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;
use stix::{InputShape, Problem, Rejection, Validator};

#[derive(clap::Args)]
pub struct Args {
    /// Bundles, TAXII envelopes, JSON arrays or JSON lines of STIX objects; `-` for standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,

    /// `human`: one block per invalid object and a summary; `json`: one JSON
    /// document with every rejection and warning, for scripts.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Json,
}

/// What validating one input found.
struct FileReport {
    name: String,
    /// The input could not be split into objects at all.
    unreadable: Option<String>,
    shape: Option<InputShape>,
    objects: usize,
    rejections: Vec<Rejection>,
    /// (object index, object id, warning).
    warnings: Vec<(usize, String, Problem)>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let validator =
        Validator::new().with_pattern_check(Arc::new(patterning::StixPatternCheck::default()));
    let mut reports = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let (name, bytes) = if file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            ("<stdin>".to_owned(), buf)
        } else {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            (file.display().to_string(), bytes)
        };
        reports.push(check(&validator, name, &bytes));
    }

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Human => write_human(&mut out, &reports)?,
        Format::Json => write_json(&mut out, &reports)?,
    }
    out.flush()?;
    let all_valid = reports
        .iter()
        .all(|r| r.unreadable.is_none() && r.rejections.is_empty());
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check(validator: &Validator, name: String, bytes: &[u8]) -> FileReport {
    let mut report = FileReport {
        name,
        unreadable: None,
        shape: None,
        objects: 0,
        rejections: Vec::new(),
        warnings: Vec::new(),
    };
    let envelope = match stix::split_envelope(bytes) {
        Ok(envelope) => envelope,
        Err(e) => {
            report.unreadable = Some(e.to_string());
            return report;
        }
    };
    report.shape = Some(envelope.shape);
    report.objects = envelope.objects.len();
    for (index, raw) in envelope.objects.iter().enumerate() {
        match validator.validate(index, raw) {
            Ok(object) => report.warnings.extend(
                object
                    .warnings
                    .into_iter()
                    .map(|w| (index, object.id.clone(), w)),
            ),
            Err(rejection) => report.rejections.push(rejection),
        }
    }
    report
}

fn shape_name(shape: InputShape) -> &'static str {
    match shape {
        InputShape::Bundle => "bundle",
        InputShape::TaxiiEnvelope => "TAXII envelope",
        InputShape::Array => "JSON array",
        InputShape::JsonLines => "JSON lines",
        InputShape::Single => "single object",
    }
}

fn write_human(out: &mut impl Write, reports: &[FileReport]) -> std::io::Result<()> {
    let (mut objects, mut invalid, mut unreadable) = (0, 0, 0);
    for report in reports {
        if let Some(reason) = &report.unreadable {
            unreadable += 1;
            writeln!(out, "{}: not STIX content: {reason}", report.name)?;
            continue;
        }
        objects += report.objects;
        invalid += report.rejections.len();
        for rejection in &report.rejections {
            match &rejection.id {
                Some(id) => writeln!(
                    out,
                    "{}: object {} ({id}) is invalid:",
                    report.name, rejection.index
                )?,
                None => writeln!(
                    out,
                    "{}: object {} is invalid:",
                    report.name, rejection.index
                )?,
            }
            for problem in &rejection.problems {
                writeln!(out, "  {}: {}", problem.path, problem.reason)?;
            }
        }
        for (index, id, warning) in &report.warnings {
            writeln!(
                out,
                "{}: object {index} ({id}): note: {}: {}",
                report.name, warning.path, warning.reason
            )?;
        }
    }
    let files = reports.len();
    let plural = if files == 1 { "" } else { "s" };
    write!(
        out,
        "checked {files} file{plural}: {objects} objects, {} valid, {invalid} invalid",
        objects - invalid
    )?;
    if unreadable > 0 {
        write!(out, ", {unreadable} file(s) not STIX content")?;
    }
    writeln!(out)
}

fn write_json(out: &mut impl Write, reports: &[FileReport]) -> std::io::Result<()> {
    let problem = |p: &Problem| json!({"path": p.path, "reason": p.reason});
    let files: Vec<_> = reports
        .iter()
        .map(|r| {
            json!({
                "file": r.name,
                "error": r.unreadable,
                "shape": r.shape.map(shape_name),
                "objects": r.objects,
                "valid": r.objects - r.rejections.len(),
                "invalid": r.rejections.len(),
                "rejections": r.rejections.iter().map(|rej| json!({
                    "index": rej.index,
                    "id": rej.id,
                    "problems": rej.problems.iter().map(problem).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "warnings": r.warnings.iter().map(|(index, id, w)| json!({
                    "index": index,
                    "id": id,
                    "path": w.path,
                    "reason": w.reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let objects: usize = reports.iter().map(|r| r.objects).sum();
    let invalid: usize = reports.iter().map(|r| r.rejections.len()).sum();
    let document = json!({
        "objects": objects,
        "valid": objects - invalid,
        "invalid": invalid,
        "unreadable_files": reports.iter().filter(|r| r.unreadable.is_some()).count(),
        "files": files,
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

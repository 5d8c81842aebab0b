//! `entente incident assess|render|export FILE`: one incident record, every
//! reporting regime. Works without a node: the record is a JSON file
//! (schema: crates/reporting/schema/incident.schema.json).
//!
//! Exit status: 0 on success, 1 when the record is invalid (each problem is
//! printed with its field path), 2 for usage or rule-file errors.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use jiff::Timestamp;
use reporting::render::{markdown, notification};
use reporting::stix_export::{ExportOptions, export_bundle};
use reporting::{
    Assessment, DeadlineStatus, Incident, InvalidRecord, Moment, RuleSet, RuleSetBuilder, Tlp,
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Which regimes apply and why, every stage's deadline and status, and
    /// what each report still lacks.
    Assess(AssessArgs),
    /// Write one stage's notification, marking what is missing.
    Render(RenderArgs),
    /// Write the incident as a STIX 2.1 bundle (incident with the reporting
    /// extension, marked with TLP 2.0).
    Export(ExportArgs),
}

#[derive(clap::Args)]
pub struct Common {
    /// The incident record (JSON); `-` for standard input.
    file: PathBuf,
    /// The instant to assess at (RFC 3339, e.g. 2026-11-16T20:00:00Z); default now.
    #[arg(long)]
    at: Option<String>,
    /// A directory of extra regime files (*.toml, e.g. a national variant or
    /// a final rule replacing a proposed one by id), with holiday calendars
    /// under its `calendars/` subdirectory.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AssessFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RenderFormat {
    Md,
    Json,
}

#[derive(clap::Args)]
pub struct AssessArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, value_enum, default_value = "text")]
    format: AssessFormat,
}

#[derive(clap::Args)]
pub struct RenderArgs {
    #[command(flatten)]
    common: Common,
    /// Regime id: nis2, cra, gdpr, dora, circia, sec-8k, hipaa.
    #[arg(long)]
    regime: String,
    /// Stage id, e.g. early-warning, notification, final, 8-k.
    #[arg(long)]
    stage: String,
    #[arg(long, value_enum, default_value = "md")]
    format: RenderFormat,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    common: Common,
    /// TLP 2.0 marking: clear, green, amber, amber+strict, red.
    #[arg(long, default_value = "amber+strict")]
    tlp: String,
    /// Name the reporting entity in the export (default: it stays anonymous).
    #[arg(long)]
    identify_entity: bool,
    /// Write the bundle here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Assess(args) => {
            let Some((_, incident, assessment)) = load(&args.common)? else {
                return Ok(ExitCode::from(1));
            };
            let text = match args.format {
                AssessFormat::Json => serde_json::to_string_pretty(&assessment)?,
                AssessFormat::Text => assessment_text(&incident, &assessment),
            };
            write_stdout(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Render(args) => {
            let Some((rules, incident, assessment)) = load(&args.common)? else {
                return Ok(ExitCode::from(1));
            };
            let document = notification(&rules, &incident, &assessment, &args.regime, &args.stage)?;
            let text = match args.format {
                RenderFormat::Md => markdown(&document),
                RenderFormat::Json => serde_json::to_string_pretty(&document)?,
            };
            write_stdout(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export(args) => {
            let tlp = Tlp::parse_label(&args.tlp).with_context(|| {
                format!(
                    "--tlp `{}` is not a TLP 2.0 label; use clear, green, amber, amber+strict or red",
                    args.tlp
                )
            })?;
            let Some((_, incident, assessment)) = load(&args.common)? else {
                return Ok(ExitCode::from(1));
            };
            let options = ExportOptions {
                tlp,
                identify_entity: args.identify_entity,
                now: assessment.assessed_at.timestamp(),
            };
            let bundle = export_bundle(&incident, &assessment, &options);
            let text = serde_json::to_string_pretty(&bundle)?;
            match &args.output {
                Some(path) => std::fs::write(path, format!("{text}\n"))
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => write_stdout(&text)?,
            }
            if incident.id.is_none() {
                eprintln!(
                    "note: the record has no `id`; the export uses {} (derived from the entity and first timestamp). Add it to the record to keep it stable.",
                    reporting::stix_export::incident_id(&incident)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn rule_set(extra: Option<&Path>) -> anyhow::Result<RuleSet> {
    let mut builder = RuleSetBuilder::embedded();
    if let Some(dir) = extra {
        for (path, text) in toml_files(dir)? {
            builder = builder.regime_file(path, text);
        }
        let calendars = dir.join("calendars");
        if calendars.is_dir() {
            for (path, text) in toml_files(&calendars)? {
                builder = builder.calendar_file(path, text);
            }
        }
    }
    builder.build().map_err(|errors| {
        anyhow::anyhow!(
            "the reporting rules do not load:\n  {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    })
}

fn toml_files(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read --rules {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    Ok(files)
}

fn read_input(file: &Path) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the record from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

fn print_invalid(file: &Path, invalid: &InvalidRecord) {
    eprintln!("{}: {invalid}", file.display());
    eprintln!("Fix the fields above; the schema is crates/reporting/schema/incident.schema.json.");
}

/// Reads, checks and assesses the record; `None` after printing why the
/// record is invalid.
fn load(common: &Common) -> anyhow::Result<Option<(RuleSet, Incident, Assessment)>> {
    let at = match &common.at {
        Some(text) => text
            .parse::<Moment>()
            .map_err(|e| anyhow::anyhow!("--at: {e}"))?
            .timestamp(),
        None => Timestamp::now(),
    };
    let rules = rule_set(common.rules.as_deref())?;
    let text = read_input(&common.file)?;
    let incident = match reporting::parse_record(&rules, &text) {
        Ok(incident) => incident,
        Err(invalid) => {
            print_invalid(&common.file, &invalid);
            return Ok(None);
        }
    };
    match reporting::assess(&rules, &incident, at) {
        Ok(assessment) => Ok(Some((rules, incident, assessment))),
        Err(invalid) => {
            print_invalid(&common.file, &invalid);
            Ok(None)
        }
    }
}

fn status_word(status: DeadlineStatus) -> &'static str {
    match status {
        DeadlineStatus::Binding => "binding",
        DeadlineStatus::Proposed => "proposed",
        DeadlineStatus::Provisional => "provisional",
        DeadlineStatus::OnRequest => "on request",
        DeadlineStatus::NotTriggered => "not triggered",
        DeadlineStatus::NotApplicable => "not applicable",
    }
}

fn assessment_text(incident: &Incident, assessment: &Assessment) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let title = incident.title.as_deref().unwrap_or("Incident");
    let _ = writeln!(
        out,
        "{title} — assessed at {} (local times: {})",
        assessment.assessed_at, assessment.time_zone
    );
    for regime in &assessment.regimes {
        let _ = writeln!(out);
        if !regime.applies {
            let _ = writeln!(out, "{} [{}]: does not apply", regime.name, regime.id);
            let _ = writeln!(out, "  {}", regime.reason);
            continue;
        }
        let _ = writeln!(
            out,
            "{} [{}]: APPLIES ({})",
            regime.name, regime.id, regime.legal_status
        );
        let _ = writeln!(out, "  {}", regime.reason);
        for stage in &regime.stages {
            let when = match (&stage.due, &stage.due_local) {
                (Some(due), Some(local)) => format!("due {due} ({local})"),
                _ => "no deadline".to_string(),
            };
            let mut flags = vec![status_word(stage.deadline_status).to_string()];
            if let Some(sent) = &stage.submitted_at {
                flags.push(format!(
                    "submitted {sent}{}",
                    if stage.late { ", late" } else { "" }
                ));
            }
            if stage.overdue {
                flags.push("OVERDUE".into());
            }
            let _ = writeln!(out, "  - {:<15} {when} [{}]", stage.id, flags.join("; "));
            if let Some(relief) = &stage.relief {
                let _ = writeln!(out, "      relief: {relief}");
            }
            if !stage.missing.is_empty() && stage.submitted_at.is_none() {
                let _ = writeln!(out, "      missing: {}", stage.missing.join(", "));
            }
            for note in &stage.notes {
                let _ = writeln!(out, "      note: {note}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tlp_labels_are_refused_by_the_parser() {
        assert!(Tlp::parse_label("amber+strict").is_some());
        assert!(Tlp::parse_label("purple").is_none());
    }

    #[test]
    fn the_embedded_rules_load_in_the_binary() {
        assert!(rule_set(None).is_ok());
    }
}

//! `entente incident`: one incident record, every reporting regime.
//!
//! `assess`, `render` and `export` work without a node: the record is a JSON
//! file (schema: crates/reporting/schema/incident.schema.json). `create`,
//! `update`, `list`, `show`, `submit` and `share` keep incidents on the node
//! in `--data`, acting as a user (`--as ORG/USER`) or, where allowed, as the
//! node's operator.
//!
//! Exit status: 0 on success, 1 when the record (or a request field) is
//! invalid (each problem is printed with its field path), 2 for usage,
//! rule-file, access and other errors.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use jiff::Timestamp;
use node::{
    DeadlineItem, IncidentError, IncidentList, IncidentView, ShareOutcome, ShareRequest,
    SubmissionOutcome, SubmissionRequest,
};
use reporting::render::{markdown, notification};
use reporting::stix_export::{ExportOptions, export_bundle};
use reporting::{
    Assessment, DeadlineStatus, FieldError, Incident, InvalidRecord, Moment, RuleSet,
    RuleSetBuilder, Tlp,
};
use sharing::Principal;

use crate::site::Site;

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
    /// Record an incident on the node for the user's organisation.
    Create(CreateArgs),
    /// Replace an incident's record on the node (a new version).
    Update(UpdateArgs),
    /// The incidents you may see, with what is overdue and what is due next.
    List(ListArgs),
    /// One incident: its assessment, the reports recorded, its versions.
    Show(ShowArgs),
    /// Record that a report was made to an authority (firms the deadlines
    /// counted from it).
    Submit(SubmitArgs),
    /// Share the incident as STIX 2.1 into a collection, under the sharing policy.
    Share(ShareArgs),
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

/// Acting on the node: who, and how to print.
#[derive(clap::Args)]
pub struct Acting {
    /// Act as this user (ORG/USER); default: the node operator, who sees
    /// every organisation's incidents.
    #[arg(long = "as", value_name = "USER")]
    as_user: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: AssessFormat,
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// The incident record (JSON); `-` for standard input.
    file: PathBuf,
    /// The user recording it (ORG/USER): the incident belongs to their organisation.
    #[arg(long = "as", value_name = "USER")]
    as_user: String,
    /// The instant to assess at (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: AssessFormat,
}

#[derive(clap::Args)]
pub struct UpdateArgs {
    /// The incident's id (from create or list).
    id: String,
    /// The new record (JSON); `-` for standard input.
    file: PathBuf,
    /// Refuse the update unless the incident is still at this version.
    #[arg(long, value_name = "N")]
    expect_version: Option<i64>,
    /// The instant to assess at (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    acting: Acting,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// The instant to assess at (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    acting: Acting,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    id: String,
    /// The instant to assess at (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    acting: Acting,
}

#[derive(clap::Args)]
pub struct SubmitArgs {
    id: String,
    /// Regime id: nis2, cra, gdpr, dora, circia, sec-8k, hipaa.
    #[arg(long)]
    regime: String,
    /// Stage id, e.g. early-warning, notification, final, 8-k.
    #[arg(long)]
    stage: String,
    /// When the report was made (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    /// The authority's reference for the report (case number, receipt).
    #[arg(long)]
    reference: Option<String>,
    #[command(flatten)]
    acting: Acting,
}

#[derive(clap::Args)]
pub struct ShareArgs {
    id: String,
    /// Collection id (or alias) to share into.
    #[arg(long)]
    collection: String,
    /// TLP 2.0 marking: clear, green, amber, amber+strict, red (default: the
    /// record's `tlp`, else amber+strict).
    #[arg(long)]
    tlp: Option<String>,
    /// An organisation the AMBER/RED export is for (repeatable); default:
    /// the collection's members.
    #[arg(long = "recipient-org", value_name = "ORG")]
    recipient_orgs: Vec<String>,
    /// A user a RED export is for, as ORG/USER (repeatable).
    #[arg(long = "recipient-user", value_name = "USER")]
    recipient_users: Vec<String>,
    /// Name the reporting entity in the export (default: it stays anonymous).
    #[arg(long)]
    identify_entity: bool,
    /// The user sharing (ORG/USER): only the incident's organisation shares it.
    #[arg(long = "as", value_name = "USER")]
    as_user: String,
    #[arg(long, value_enum, default_value = "text")]
    format: AssessFormat,
}

pub fn run(data: &Path, command: Command) -> anyhow::Result<ExitCode> {
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
            let tlp = args.tlp.parse::<Tlp>().ok().with_context(|| {
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
                created: None,
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
        Command::Create(args) => on_node(data, Some(&args.as_user), |node, who| {
            let at = instant(args.at.as_deref(), "--at")?;
            let record = read_input(&args.file)?;
            let view = match node.create_incident(who, &record, at) {
                Err(IncidentError::InvalidRecord(invalid)) => {
                    print_invalid(&args.file, &invalid);
                    return Ok(ExitCode::from(1));
                }
                other => other?,
            };
            match args.format {
                AssessFormat::Json => write_stdout(&serde_json::to_string_pretty(&view)?)?,
                AssessFormat::Text => write_stdout(&format!(
                    "{}\nRecorded for {} as version 1. Incident id:\n{}",
                    incident_text(&view),
                    view.organisation,
                    view.id
                ))?,
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Update(args) => on_node(data, args.acting.as_user.as_deref(), |node, who| {
            let at = instant(args.at.as_deref(), "--at")?;
            let record = read_input(&args.file)?;
            let view = match node.update_incident(who, &args.id, &record, args.expect_version, at) {
                Err(IncidentError::InvalidRecord(invalid)) => {
                    print_invalid(&args.file, &invalid);
                    return Ok(ExitCode::from(1));
                }
                other => other?,
            };
            match args.acting.format {
                AssessFormat::Json => write_stdout(&serde_json::to_string_pretty(&view)?)?,
                AssessFormat::Text => {
                    let mut text = incident_text(&view);
                    for note in &view.notes {
                        text.push_str(&format!("note: {note}\n"));
                    }
                    text.push_str(&format!(
                        "Incident {} is at version {}.",
                        view.id, view.version
                    ));
                    write_stdout(&text)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::List(args) => on_node(data, args.acting.as_user.as_deref(), |node, who| {
            let at = instant(args.at.as_deref(), "--at")?;
            let list = node.list_incidents(who, at)?;
            match args.acting.format {
                AssessFormat::Json => write_stdout(&serde_json::to_string_pretty(&list)?)?,
                AssessFormat::Text => write_stdout(list_text(&list).trim_end())?,
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Show(args) => on_node(data, args.acting.as_user.as_deref(), |node, who| {
            let at = instant(args.at.as_deref(), "--at")?;
            let view = node.show_incident(who, &args.id, at)?;
            match args.acting.format {
                AssessFormat::Json => write_stdout(&serde_json::to_string_pretty(&view)?)?,
                AssessFormat::Text => write_stdout(incident_text(&view).trim_end())?,
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Submit(args) => on_node(data, args.acting.as_user.as_deref(), |node, who| {
            let submitted_at = Moment(instant(args.at.as_deref(), "--at")?);
            let request = SubmissionRequest {
                regime: args.regime.clone(),
                stage: args.stage.clone(),
                submitted_at,
                reference: args.reference.clone(),
            };
            let outcome = match node.record_submission(who, &args.id, &request, Timestamp::now()) {
                Err(IncidentError::InvalidRequest(problems)) => {
                    print_problems(&problems);
                    return Ok(ExitCode::from(1));
                }
                other => other?,
            };
            match args.acting.format {
                AssessFormat::Json => write_stdout(&serde_json::to_string_pretty(&outcome)?)?,
                AssessFormat::Text => write_stdout(submission_text(&outcome).trim_end())?,
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Share(args) => on_node(data, Some(&args.as_user), |node, who| {
            let tlp = match &args.tlp {
                Some(label) => Some(label.parse::<Tlp>().ok().with_context(|| {
                    format!(
                        "--tlp `{label}` is not a TLP 2.0 label; use clear, green, amber, amber+strict or red"
                    )
                })?),
                None => None,
            };
            let request = ShareRequest {
                collection: args.collection.clone(),
                tlp,
                recipient_orgs: args.recipient_orgs.clone(),
                recipient_users: args.recipient_users.clone(),
                identify_entity: args.identify_entity,
            };
            let outcome = match node.share_incident(who, &args.id, &request, Timestamp::now()) {
                Err(IncidentError::InvalidRequest(problems)) => {
                    print_problems(&problems);
                    return Ok(ExitCode::from(1));
                }
                other => other?,
            };
            match args.format {
                AssessFormat::Json => write_stdout(&serde_json::to_string_pretty(&outcome)?)?,
                AssessFormat::Text => write_stdout(share_text(&outcome).trim_end())?,
            }
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// Opens the node in `data` and runs `f` as `as_user` (or the operator).
fn on_node(
    data: &Path,
    as_user: Option<&str>,
    f: impl FnOnce(&node::Node, &Principal) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let site = Site::open(data)?;
    let principal = site.acting_as(as_user)?;
    f(&site.node, &principal)
}

fn instant(text: Option<&str>, flag: &str) -> anyhow::Result<Timestamp> {
    Ok(match text {
        Some(text) => text
            .parse::<Moment>()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))?
            .timestamp(),
        None => Timestamp::now(),
    })
}

fn print_problems(problems: &[FieldError]) {
    eprintln!(
        "the request has {} problem{}:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        eprintln!("  {problem}");
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

/// The embedded regimes, plus (or replaced by) the files of `extra`.
pub(crate) fn rule_set(extra: Option<&Path>) -> anyhow::Result<RuleSet> {
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

/// The largest record the CLI reads: what the HTTP API accepts, so that a
/// record made here can be sent there too, and so that a wrong file or an
/// endless stream is refused instead of filling the memory.
const MAX_RECORD_BYTES: u64 = 1 << 20;

fn read_input(file: &Path) -> anyhow::Result<String> {
    let (source, reader): (String, Box<dyn std::io::Read>) = if file.as_os_str() == "-" {
        ("standard input".into(), Box::new(std::io::stdin()))
    } else {
        let opened =
            std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        (file.display().to_string(), Box::new(opened))
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {source}"))?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        anyhow::bail!(
            "{source} is larger than 1 MiB; an incident record is a small JSON document (is this the right file?)"
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {source}: it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn print_invalid(file: &Path, invalid: &InvalidRecord) {
    if file.as_os_str() == "-" {
        eprintln!("standard input: {invalid}");
    } else {
        eprintln!("{}: {invalid}", file.display());
    }
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

fn deadline_line(label: &str, d: &DeadlineItem) -> String {
    format!(
        "    {label:<8} {:<7} {:<15} due {}{} [{}]",
        d.regime,
        d.stage,
        d.due,
        d.due_local
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default(),
        status_word(d.deadline_status)
    )
}

/// How many upcoming deadlines a text list shows per incident.
const UPCOMING_SHOWN: usize = 3;

fn list_text(list: &IncidentList) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if list.incidents.is_empty() {
        let _ = writeln!(out, "No incidents (assessed at {}).", list.assessed_at);
        return out;
    }
    let _ = writeln!(
        out,
        "{} incident{}, most pressing first (assessed at {}):",
        list.incidents.len(),
        if list.incidents.len() == 1 { "" } else { "s" },
        list.assessed_at
    );
    for incident in &list.incidents {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}  {} — {} (version {}, updated {})",
            incident.id,
            incident.title.as_deref().unwrap_or("(untitled)"),
            incident.organisation,
            incident.version,
            incident.updated
        );
        if let Some(problem) = &incident.problem {
            let _ = writeln!(out, "    cannot be assessed: {problem}");
            continue;
        }
        if incident.applicable_regimes.is_empty() {
            let _ = writeln!(out, "    no regime applies");
        } else {
            let _ = writeln!(
                out,
                "    regimes: {}",
                incident.applicable_regimes.join(", ")
            );
        }
        for d in &incident.overdue {
            let _ = writeln!(out, "{}", deadline_line("OVERDUE", d));
        }
        for d in incident.upcoming.iter().take(UPCOMING_SHOWN) {
            let _ = writeln!(out, "{}", deadline_line("next", d));
        }
        let more = incident.upcoming.len().saturating_sub(UPCOMING_SHOWN);
        if more > 0 {
            let _ = writeln!(
                out,
                "    … and {more} later (entente incident show {})",
                incident.id
            );
        }
    }
    out
}

fn incident_text(view: &IncidentView) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Incident {} of {} — version {} (created {}, updated {}), shared as {}",
        view.id, view.organisation, view.version, view.created, view.updated, view.stix_id
    );
    let record = Incident::parse(&view.record.to_string()).unwrap_or_default();
    let _ = writeln!(out, "{}", assessment_text(&record, &view.assessment));
    if !view.submissions.is_empty() {
        let _ = writeln!(out, "Reports recorded:");
        for s in &view.submissions {
            let _ = writeln!(
                out,
                "  - {} {} submitted {}{}{} (version {})",
                s.regime,
                s.stage,
                s.submitted_at,
                s.reference
                    .as_deref()
                    .map(|r| format!(", reference {r}"))
                    .unwrap_or_default(),
                s.recorded_by
                    .as_deref()
                    .map(|u| format!(", recorded by {u}"))
                    .unwrap_or_default(),
                s.version
            );
        }
    }
    let _ = writeln!(out, "Versions:");
    for v in &view.history {
        let _ = writeln!(
            out,
            "  {} at {}{}",
            v.version,
            v.recorded_at,
            v.recorded_by
                .as_deref()
                .map(|u| format!(" by {u}"))
                .unwrap_or_else(|| " by the node operator".into())
        );
    }
    out
}

fn submission_text(outcome: &SubmissionOutcome) -> String {
    use std::fmt::Write as _;
    let s = &outcome.submission;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Recorded: {} {} submitted at {}{}; incident {} is at version {}.",
        s.regime,
        s.stage,
        s.submitted_at,
        s.reference
            .as_deref()
            .map(|r| format!(" (reference {r})"))
            .unwrap_or_default(),
        outcome.incident.id,
        outcome.incident.version
    );
    for f in &outcome.firmed {
        let _ = writeln!(
            out,
            "No longer provisional: {} {} now due {} [{}] (was {} while the report was outstanding)",
            f.regime,
            f.stage,
            f.due.map_or_else(|| "—".to_string(), |d| d.to_string()),
            status_word(f.deadline_status),
            f.provisional_due
                .map_or_else(|| "—".to_string(), |d| d.to_string())
        );
    }
    out
}

fn share_text(outcome: &ShareOutcome) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if outcome.shared {
        let _ = writeln!(
            out,
            "Shared incident {} version {} as {} into collection {} at {}.",
            outcome.incident, outcome.version, outcome.stix_id, outcome.collection, outcome.tlp
        );
    } else {
        let _ = writeln!(
            out,
            "Version {} of incident {} was already in collection {}; nothing changed.",
            outcome.version, outcome.incident, outcome.collection
        );
    }
    for o in outcome.objects.iter().filter(|o| o.outcome == "refused") {
        let _ = writeln!(
            out,
            "  not stored: {}: {}",
            o.id,
            o.message.as_deref().unwrap_or("")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tlp_labels_are_refused_by_the_parser() {
        assert!("amber+strict".parse::<Tlp>().ok().is_some());
        assert!("purple".parse::<Tlp>().ok().is_none());
    }

    #[test]
    fn the_embedded_rules_load_in_the_binary() {
        assert!(rule_set(None).is_ok());
    }
}

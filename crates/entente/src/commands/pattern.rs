//! `entente pattern`: check STIX patterns and try them on observed data.
//!
//! `validate` checks against the STIX 2.1 definitions; `match` evaluates with
//! the semantics of the OASIS reference matcher (and checks patterns only as
//! far as the OASIS tools do), so that its verdicts can be compared with it.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use patterning::{ObjectRules, Rules, StixVersion};
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Check patterns: prints `ok` or each problem with its position. Exit 0
    /// when all are valid, 1 otherwise.
    Validate(ValidateArgs),
    /// Evaluate a pattern against observed data. Exit 0 on a match, 1 on none,
    /// 2 on an error (invalid pattern or observations).
    Match(MatchArgs),
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Patterns to check (quote each one).
    #[arg(required = true)]
    patterns: Vec<String>,
    /// Accept object types, properties and extensions that STIX 2.1 does not
    /// define (custom ones, MVT's `app:id` …).
    #[arg(long)]
    allow_custom: bool,
}

#[derive(clap::Args)]
struct MatchArgs {
    /// The pattern.
    #[arg(long, required_unless_present = "batch", conflicts_with = "batch")]
    pattern: Option<String>,
    /// A JSON file of observed data: for STIX 2.1 a bundle, a list of bundles,
    /// or a list of observed-data with the objects they refer to; for 2.0 a
    /// list of observed-data with inline objects. `-` reads standard input.
    #[arg(long, required_unless_present = "batch", conflicts_with = "batch")]
    observed: Option<PathBuf>,
    /// The STIX version of the observed data (detected when omitted).
    #[arg(long, value_parser = ["2.0", "2.1"])]
    stix_version: Option<String>,
    /// Read cases as JSON lines on standard input, each
    /// `{"pattern", "observed_data_list", "stix_version"}`, and print one line
    /// per case: `true`, `false` or `error`.
    #[arg(long)]
    batch: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Validate(a) => validate(a),
        Command::Match(a) if a.batch => batch(),
        Command::Match(a) => match_one(a),
    }
}

fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let rules = Rules {
        objects: if args.allow_custom {
            ObjectRules::AllowCustom
        } else {
            ObjectRules::Strict
        },
        ..Rules::strict()
    };
    let several = args.patterns.len() > 1;
    let mut all_valid = true;
    let mut out = std::io::stdout().lock();
    for text in &args.patterns {
        let prefix = if several {
            format!("{text}: ")
        } else {
            String::new()
        };
        match patterning::parse_and_validate(text, &rules) {
            Ok(_) => writeln!(out, "{prefix}ok")?,
            Err(problems) => {
                all_valid = false;
                for p in problems {
                    writeln!(out, "{prefix}error {p}")?;
                    if p.line == 1 && !several {
                        writeln!(out, "  {}", text.replace(['\n', '\r', '\t'], " "))?;
                        writeln!(out, "  {}^", " ".repeat(p.column - 1))?;
                    }
                }
            }
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn match_one(args: MatchArgs) -> anyhow::Result<ExitCode> {
    let (Some(pattern), Some(file)) = (args.pattern, args.observed) else {
        anyhow::bail!("--pattern and --observed are required without --batch");
    };
    let bytes = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let observed: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", file.display()))?;
    let version = match args.stix_version.as_deref() {
        Some(v) => v.parse::<StixVersion>().map_err(anyhow::Error::msg)?,
        None => detect_version(&observed),
    };
    let verdict = evaluate(&pattern, &observed, version, true)
        .with_context(|| format!("cannot evaluate the pattern against {}", file.display()))?;
    println!("{}", if verdict { "match" } else { "no match" });
    Ok(if verdict {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// STIX 2.0 when observed-data carry their objects inline, 2.1 otherwise.
fn detect_version(observed: &Value) -> StixVersion {
    let items: Vec<&Value> = match observed {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let inline = items.iter().any(|v| {
        v.get("type").and_then(Value::as_str) == Some("observed-data")
            && v.get("objects").is_some_and(Value::is_object)
    });
    if inline {
        StixVersion::V20
    } else {
        StixVersion::V21
    }
}

fn evaluate(
    pattern: &str,
    observed: &Value,
    version: StixVersion,
    lenient: bool,
) -> anyhow::Result<bool> {
    let parsed = patterning::parse_and_validate(pattern, &Rules::reference(version)).map_err(
        |problems| {
            let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            anyhow::anyhow!("invalid pattern {}", shown.join("; "))
        },
    )?;
    let observations = patterning::read_observations(observed, version, lenient)?;
    Ok(patterning::evaluate(&parsed, &observations, version)?)
}

fn batch() -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lines() {
        let line = line.context("cannot read standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let verdict = batch_case(&line);
        writeln!(
            out,
            "{}",
            match verdict {
                Some(true) => "true",
                Some(false) => "false",
                None => "error",
            }
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn batch_case(line: &str) -> Option<bool> {
    let case: Value = serde_json::from_str(line).ok()?;
    let pattern = case.get("pattern")?.as_str()?;
    let observed = case.get("observed_data_list")?;
    let version = match case.get("stix_version") {
        Some(Value::String(v)) => v.parse::<StixVersion>().ok()?,
        None | Some(Value::Null) => detect_version(observed),
        Some(_) => return None,
    };
    evaluate(pattern, observed, version, false).ok()
}

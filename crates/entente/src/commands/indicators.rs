//! `entente indicators stale|model`: which shared indicators to review or
//! revoke, by their decay score (crate `freshness`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use freshness::Model;
use stix::Timestamp;

use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum Command {
    /// List a collection's indicators that score below a threshold, lowest
    /// first: score, kind, age, expiry and sightings.
    Stale(StaleArgs),
    /// Print the decay model: lifetime, decay speed, base score and
    /// threshold per indicator kind (with --model's overrides applied).
    Model(ModelArgs),
}

#[derive(clap::Args)]
pub struct StaleArgs {
    /// The collection (id or alias).
    #[arg(long)]
    pub collection: String,
    /// List indicators scoring below SCORE (0–100); default: below their
    /// kind's threshold in the model. Expired and revoked ones score 0.
    #[arg(long, value_name = "SCORE")]
    pub below: Option<f64>,
    /// Act as this user (ORG/USER): only what it may read is assessed and
    /// listed (its sightings too). Without it, the operator sees everything.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Decay model parameters (TOML or JSON) replacing the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Assess at this time (a STIX timestamp) instead of now.
    #[arg(long, value_name = "TIMESTAMP")]
    pub at: Option<String>,
}

#[derive(clap::Args)]
pub struct ModelArgs {
    /// Decay model parameters (TOML or JSON) replacing the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// The built-in model, with the overrides of `file` when given.
pub fn load_model(file: Option<&Path>) -> anyhow::Result<Model> {
    match file {
        None => Ok(Model::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the model {}", path.display()))?;
            Model::with_overrides(&text).with_context(|| format!("model {}", path.display()))
        }
    }
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Stale(args) => stale(dir, args),
        Command::Model(args) => {
            let model = load_model(args.model.as_deref())?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<12} {:>14} {:>12} {:>10} {:>9}",
                "KIND", "LIFETIME_DAYS", "DECAY_SPEED", "BASE", "THRESHOLD"
            )?;
            for (kind, p) in model.table() {
                writeln!(
                    out,
                    "{:<12} {:>14} {:>12} {:>10} {:>9}",
                    kind.as_str(),
                    p.lifetime_days,
                    p.decay_speed,
                    p.base_score,
                    p.threshold
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn stale(dir: &Path, args: StaleArgs) -> anyhow::Result<ExitCode> {
    if let Some(b) = args.below
        && !(0.0..=100.0).contains(&b)
    {
        bail!("--below {b}: a score is between 0 and 100");
    }
    let at = match &args.at {
        Some(t) => Timestamp::parse(t).map_err(|e| anyhow::anyhow!("--at {t:?}: {e}"))?,
        None => node::now(),
    };
    let model = load_model(args.model.as_deref())?;
    let site = Site::open(dir)?;
    let principal = site.acting_as(args.as_user.as_deref())?;
    let collection = match &args.as_user {
        None => site.collection(&args.collection)?,
        // As a user, a collection it may not read does not exist.
        Some(user) => {
            match site
                .node
                .collection_for(&principal, None, &args.collection, node::Need::Read)
            {
                Ok((c, _)) => c,
                Err(node::NodeError::NotFound(_)) => {
                    bail!("collection {} does not exist for {user}", args.collection)
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let all = site
        .node
        .indicator_freshness(&principal, &collection, &model, at)?;
    let total = all.len();
    let stale: Vec<_> = all.into_iter().filter(|a| a.is_stale(args.below)).collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let list: Vec<_> = stale.iter().map(|a| a.to_json()).collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(
                out,
                "{:>6}  {:<11}  {:>8}  {:<26}  {:>9}  {:<50}  NAME",
                "SCORE", "KIND", "AGE_DAYS", "EXPIRY", "SIGHTINGS", "ID"
            )?;
            for a in &stale {
                let expiry = match (a.revoked, a.valid_until) {
                    (true, _) => "revoked".to_string(),
                    (false, Some(u)) if a.expired => format!("expired {}", u.to_stix()),
                    (false, Some(u)) => u.to_stix(),
                    (false, None) => "-".to_string(),
                };
                writeln!(
                    out,
                    "{:>6.1}  {:<11}  {:>8.1}  {:<26}  {:>9}  {:<50}  {}",
                    a.score,
                    a.kind.as_str(),
                    a.age_days,
                    expiry,
                    a.sightings,
                    a.id,
                    a.name.as_deref().unwrap_or(&a.pattern)
                )?;
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{} of {total} indicator{} in {} {} below {}",
        stale.len(),
        if total == 1 { "" } else { "s" },
        collection.id,
        if stale.len() == 1 { "scores" } else { "score" },
        args.below
            .map_or("their kind's threshold".to_string(), |b| b.to_string())
    );
    Ok(ExitCode::SUCCESS)
}

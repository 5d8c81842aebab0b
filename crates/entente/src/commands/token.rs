//! `entente token create|list|revoke`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use node::TokenRequest;
use stix::Timestamp;

use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an API token; prints it once.
    Create(CreateArgs),
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by name or id.
    Revoke { name_or_id: String },
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// A name for the token (default: the user's name and a timestamp).
    #[arg(long)]
    pub name: Option<String>,
    /// The user the token acts for (ORG/USER, or USER when unique): it gets
    /// the user's rights through the user's organisation and communities;
    /// with --read/--write, only those rights on those collections.
    #[arg(long)]
    pub user: Option<String>,
    /// Collection (id or alias) this token may read (repeatable). For a user's token:
    /// narrows it to reading this collection (which the user must be able to read).
    #[arg(long = "read", value_name = "COLLECTION")]
    pub read: Vec<String>,
    /// Collection (id or alias) this token may write (repeatable). For a user's token:
    /// narrows it to writing this collection (which the user must be able to write).
    #[arg(long = "write", value_name = "COLLECTION")]
    pub write: Vec<String>,
    /// Node administrator: every right on every collection (so not with
    /// --read or --write, which would not narrow it).
    #[arg(long, conflicts_with = "user")]
    pub admin: bool,
    /// Lifetime, e.g. 90d, 12h, 30m (default: no expiry).
    #[arg(long)]
    pub expires: Option<String>,
    /// The most restrictive TLP the token may read (clear, green, amber,
    /// amber+strict): e.g. the token a federation peer pulls with.
    #[arg(long)]
    pub max_tlp: Option<String>,
}

/// Parses `90d`, `12h`, `30m`, `45s` into seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = digits
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a duration such as 90d, 12h or 30m"))?;
    let scale = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => bail!("{text:?} is not a duration such as 90d, 12h or 30m"),
    };
    // The limit is on the duration, whatever its unit.
    const HUNDRED_YEARS: i64 = 100 * 365 * 86_400;
    match n.checked_mul(scale) {
        Some(seconds) if n > 0 && seconds <= HUNDRED_YEARS => Ok(seconds),
        _ => bail!("{text:?}: give a positive duration of at most a hundred years"),
    }
}

/// Creates a token and returns its name and its secret.
pub fn create(site: &Site, args: &CreateArgs) -> anyhow::Result<(String, String)> {
    let expires = match &args.expires {
        Some(d) => Some(Timestamp::from_micros(
            node::now().as_micros() + parse_duration(d)? * 1_000_000,
        )),
        None => None,
    };
    let (record, secret) = site.node.create_token(
        &site.operator(),
        &TokenRequest {
            name: args.name.clone(),
            user: args.user.clone(),
            admin: args.admin,
            read: args.read.clone(),
            write: args.write.clone(),
            expires,
            max_tlp: match &args.max_tlp {
                Some(t) => Some(t.parse::<sharing::Tlp>()?),
                None => None,
            },
        },
    )?;
    Ok((record.name, secret))
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    match command {
        Command::Create(args) => {
            let (name, secret) = create(&site, &args)?;
            let for_user = args
                .user
                .as_deref()
                .map(|u| format!(" for {u}"))
                .unwrap_or_default();
            let scope = if args.user.is_some() && !(args.read.is_empty() && args.write.is_empty()) {
                ", narrowed to the collections named"
            } else {
                ""
            };
            eprintln!(
                "Token {name:?} created{for_user}{scope}. It is shown once; store it safely:"
            );
            println!("{secret}");
        }
        Command::List => {
            let show = |t: Option<Timestamp>| {
                t.map(|t| t.format_with_precision(0))
                    .unwrap_or_else(|| "-".into())
            };
            for t in site.node.tokens(&site.operator())? {
                let state = if t.revoked.is_some() {
                    "revoked"
                } else if t.expires.is_some_and(|e| e <= node::now()) {
                    "expired"
                } else {
                    "active"
                };
                let rights: Vec<String> = t
                    .grants
                    .iter()
                    .map(|g| {
                        let r = match (g.can_read, g.can_write) {
                            (true, true) => "rw",
                            (true, false) => "r",
                            (false, true) => "w",
                            (false, false) => "-",
                        };
                        format!("{}:{r}", g.collection_id)
                    })
                    .collect();
                let who = match (&t.user, t.admin) {
                    (_, true) => "node admin".to_string(),
                    (Some(u), _) => format!("{}/{} ({})", u.org_name, u.name, u.role.as_str()),
                    (None, false) => "service".to_string(),
                };
                // A user's token with collections named is narrowed to them;
                // a service token is granted them.
                let mut rights = match (&t.user, rights.is_empty()) {
                    (_, true) => String::new(),
                    (Some(_), false) => format!("only {}", rights.join(" ")),
                    (None, false) => rights.join(" "),
                };
                if let Some(ceiling) = t.max_tlp {
                    rights.push_str(&format!(" (reads at most {ceiling})"));
                }
                println!(
                    "{:>4}  {:<28} {:<8} {:<24} created {}  expires {}  last used {}  {}",
                    t.id,
                    t.name,
                    state,
                    who,
                    show(Some(t.created)),
                    show(t.expires),
                    show(t.last_used),
                    rights
                );
            }
        }
        Command::Revoke { name_or_id } => {
            let t = site.node.revoke_token(&site.operator(), &name_or_id)?;
            println!("revoked token {} ({})", t.id, t.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d").unwrap(), 90 * 86_400);
        assert_eq!(parse_duration("12h").unwrap(), 12 * 3_600);
        // The hundred-year limit counts the unit: 40000 h is about 4.6 years.
        assert_eq!(parse_duration("40000h").unwrap(), 40_000 * 3_600);
        assert_eq!(parse_duration("1000000m").unwrap(), 60_000_000);
        assert_eq!(parse_duration("36500d").unwrap(), 36_500 * 86_400);
        for bad in [
            "",
            "d",
            "12",
            "1w",
            "0d",
            "-1d",
            "99999999999999999999d",
            "36501d",
            "876001h",
            "9223372036854775807s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

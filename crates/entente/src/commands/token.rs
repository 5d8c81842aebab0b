//! `entente token create|list|revoke`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use stix::Timestamp;
use store::{Grant, NewToken, Store};

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
    /// the user's rights through the user's organisation and communities.
    #[arg(long)]
    pub user: Option<String>,
    /// Collection id this token may read (repeatable).
    #[arg(long = "read", value_name = "COLLECTION")]
    pub read: Vec<String>,
    /// Collection id this token may write (repeatable).
    #[arg(long = "write", value_name = "COLLECTION")]
    pub write: Vec<String>,
    /// Node administrator: every right on every collection.
    #[arg(long, conflicts_with = "user")]
    pub admin: bool,
    /// Lifetime, e.g. 90d, 12h, 30m (default: no expiry).
    #[arg(long)]
    pub expires: Option<String>,
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
    if n == 0 || n > 100 * 365 {
        bail!("{text:?}: give a positive duration of at most a hundred years");
    }
    Ok(n * scale)
}

pub use store::now;

/// Creates a token and returns its name and its secret.
pub fn create(node: &Site, args: &CreateArgs) -> anyhow::Result<(String, String)> {
    let user = match &args.user {
        Some(path) => match node.store.user(path)? {
            Some(u) => Some(u),
            None => bail!(
                "no user {path:?} (create one with: entente user create --org ORG --role ROLE NAME)"
            ),
        },
        None => None,
    };
    let name = match (&args.name, &user) {
        (Some(n), _) if n.trim().is_empty() => bail!("--name must not be empty"),
        (Some(n), _) => n.clone(),
        (None, Some(u)) => format!("{}/{}-{}", u.org_name, u.name, now().as_micros()),
        (None, None) => bail!("give the token a --name (or a --user to act for)"),
    };
    let mut grants: Vec<Grant> = Vec::new();
    for id in &args.read {
        node.collection(id)?;
        grants.push(Grant {
            collection_id: id.clone(),
            can_read: true,
            can_write: false,
        });
    }
    for id in &args.write {
        node.collection(id)?;
        grants.push(Grant {
            collection_id: id.clone(),
            can_read: false,
            can_write: true,
        });
    }
    if grants.is_empty() && !args.admin && user.is_none() {
        bail!(
            "this token could do nothing: give --user USER, --read COLLECTION, --write COLLECTION or --admin"
        );
    }
    let expires = match &args.expires {
        Some(d) => Some(Timestamp::from_micros(
            now().as_micros() + parse_duration(d)? * 1_000_000,
        )),
        None => None,
    };
    let secret = sharing::token::generate()?;
    node.store.create_token(&NewToken {
        name: name.clone(),
        secret_hash: sharing::token::digest(&secret),
        admin: args.admin,
        user: user.map(|u| u.id),
        expires,
        grants,
    })?;
    Ok((name, secret))
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let node = Site::open(dir)?;
    match command {
        Command::Create(args) => {
            let (name, secret) = create(&node, &args)?;
            let for_user = args
                .user
                .as_deref()
                .map(|u| format!(" for {u}"))
                .unwrap_or_default();
            eprintln!("Token {name:?} created{for_user}. It is shown once; store it safely:");
            println!("{secret}");
        }
        Command::List => {
            let show = |t: Option<Timestamp>| {
                t.map(|t| t.format_with_precision(0))
                    .unwrap_or_else(|| "-".into())
            };
            for t in node.store.tokens()? {
                let state = if t.revoked.is_some() {
                    "revoked"
                } else if t.expires.is_some_and(|e| e <= now()) {
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
                println!(
                    "{:>4}  {:<28} {:<8} {:<24} created {}  expires {}  last used {}  {}",
                    t.id,
                    t.name,
                    state,
                    who,
                    show(Some(t.created)),
                    show(t.expires),
                    show(t.last_used),
                    rights.join(" ")
                );
            }
        }
        Command::Revoke { name_or_id } => {
            let t = node.store.revoke_token(&name_or_id, now())?;
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
        for bad in ["", "d", "12", "1w", "0d", "-1d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

//! `entente audit verify|show`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use node::{AuditFilter, AuditVerdict};
use stix::Timestamp;

use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the hash chain; names the first broken entry.
    Verify,
    /// List entries.
    Show {
        /// Only entries of this organisation.
        #[arg(long)]
        org: Option<String>,
        /// Only entries of this user (ORG/USER).
        #[arg(long)]
        user: Option<String>,
        /// Only entries about this object id.
        #[arg(long)]
        object: Option<String>,
        /// From this STIX timestamp on.
        #[arg(long)]
        since: Option<String>,
        /// Up to this STIX timestamp.
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    let operator = site.operator();
    match command {
        Command::Verify => match site.node.verify_audit(&operator)? {
            AuditVerdict::Intact(n) => {
                println!("audit log intact: {n} entries");
                Ok(ExitCode::SUCCESS)
            }
            AuditVerdict::Broken { seq, why } => {
                println!("audit log BROKEN at entry {seq}: {why}");
                Ok(ExitCode::from(1))
            }
        },
        Command::Show {
            org,
            user,
            object,
            since,
            until,
            limit,
        } => {
            let orgs = site.node.orgs(&operator)?;
            let users = site.node.users(&operator)?;
            let org = match org {
                Some(name) => match orgs
                    .iter()
                    .find(|o| o.name.eq_ignore_ascii_case(&name) || o.identity_id == name)
                {
                    Some(o) => Some(o.id),
                    None => bail!("no organisation named {name:?} (entente org list shows them)"),
                },
                None => None,
            };
            let user = match user {
                Some(path) => Some(site.node.user_named(&path)?.id),
                None => None,
            };
            let parse = |t: Option<String>| -> anyhow::Result<Option<Timestamp>> {
                Ok(match t {
                    Some(t) => Some(Timestamp::parse(&t)?),
                    None => None,
                })
            };
            let records = site.node.audit_records(
                &operator,
                &AuditFilter {
                    org,
                    user,
                    object,
                    since: parse(since)?,
                    until: parse(until)?,
                    limit,
                },
            )?;
            for r in records {
                let e = &r.entry;
                let who = match (e.user, e.org, e.token) {
                    (Some(u), _, _) => users
                        .iter()
                        .find(|x| x.id == u)
                        .map_or(format!("user {u}"), |x| {
                            format!("{}/{}", x.org_name, x.name)
                        }),
                    (None, Some(o), _) => orgs
                        .iter()
                        .find(|x| x.id == o)
                        .map_or(format!("org {o}"), |x| x.name.clone()),
                    (None, None, Some(t)) => format!("token {t}"),
                    (None, None, None) => "operator".to_string(),
                };
                let objects = match e.objects.len() {
                    0 => String::new(),
                    1..=3 => format!(" {}", e.objects.join(" ")),
                    n => format!(" {} … ({n} objects)", e.objects[0]),
                };
                println!(
                    "{:>6} {} {:<16} {:<24} {}{}{}",
                    r.seq,
                    r.at.format_with_precision(3),
                    e.action,
                    who,
                    e.collection
                        .as_deref()
                        .map(|c| format!("collection {c}"))
                        .unwrap_or_default(),
                    objects,
                    if e.detail.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", e.detail)
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! `entente community create|add|list|members`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use store::Store;

use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a community of organisations.
    Create {
        name: String,
        /// Let members see which organisations belong to it (hidden by default).
        #[arg(long)]
        show_members: bool,
    },
    /// Add an organisation to a community.
    Add {
        community: String,
        org: String,
        /// Its objects reach this community under a stable pseudonym, never its real identity.
        #[arg(long)]
        pseudonymous: bool,
    },
    /// List communities.
    List,
    /// List a community's members (an operator's view).
    Members { community: String },
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    let anyone = sharing::Principal::anonymous();
    match command {
        Command::Create { name, show_members } => {
            if name.trim().is_empty() || name.len() > 128 {
                bail!("community names are 1-128 characters");
            }
            let c = site.store.create_community(&name, show_members)?;
            site.service()?.audit(
                &anyone,
                "community-create",
                None,
                Vec::new(),
                format!("community {}", c.name),
            )?;
            println!("{}", c.name);
        }
        Command::Add {
            community,
            org,
            pseudonymous,
        } => {
            let Some(c) = site.store.community(&community)? else {
                bail!("no community named {community:?} (entente community create {community:?})");
            };
            let Some(o) = site.store.org(&org)? else {
                bail!("no organisation named {org:?} (entente org create {org:?})");
            };
            site.store.add_member(c.id, o.id, pseudonymous)?;
            site.service()?.audit(
                &anyone,
                "membership",
                None,
                Vec::new(),
                format!(
                    "{} joins {}{}",
                    o.name,
                    c.name,
                    if pseudonymous { " (pseudonymous)" } else { "" }
                ),
            )?;
            println!(
                "{} is a member of {}{}",
                o.name,
                c.name,
                if pseudonymous { " (pseudonymous)" } else { "" }
            );
        }
        Command::List => {
            for c in site.store.communities()? {
                let n = site.store.members(c.id)?.len();
                println!(
                    "{:<32} {n} members{}",
                    c.name,
                    if c.show_members {
                        ", member list visible to members"
                    } else {
                        ", member list private"
                    }
                );
            }
        }
        Command::Members { community } => {
            let Some(c) = site.store.community(&community)? else {
                bail!("no community named {community:?}");
            };
            let orgs = site.store.orgs()?;
            for m in site.store.members(c.id)? {
                let name = orgs
                    .iter()
                    .find(|o| o.id == m.org)
                    .map_or("?", |o| o.name.as_str());
                println!(
                    "{name}{}",
                    if m.pseudonymous {
                        "  (pseudonymous)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

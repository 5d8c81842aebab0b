//! `entente community create|add|list|members`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

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
    /// Add an organisation to a community. Whether it is pseudonymous there
    /// is fixed when it joins: adding it again on other terms is refused.
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
    let operator = site.operator();
    match command {
        Command::Create { name, show_members } => {
            let c = site.node.create_community(&operator, &name, show_members)?;
            println!("{}", c.name);
        }
        Command::Add {
            community,
            org,
            pseudonymous,
        } => {
            let (c, o, added) = site
                .node
                .add_member(&operator, &community, &org, pseudonymous)?;
            println!(
                "{} is {}a member of {}{}",
                o.name,
                if added { "" } else { "already " },
                c.name,
                if pseudonymous { " (pseudonymous)" } else { "" }
            );
        }
        Command::List => {
            for view in site.node.communities_admin(&operator)? {
                println!(
                    "{:<32} {} members{}",
                    view.community.name,
                    view.members.len(),
                    if view.community.show_members {
                        ", member list visible to members"
                    } else {
                        ", member list private"
                    }
                );
            }
        }
        Command::Members { community } => {
            let views = site.node.communities_admin(&operator)?;
            let Some(view) = views
                .iter()
                .find(|v| v.community.name.eq_ignore_ascii_case(&community))
            else {
                bail!("no community named {community:?} (entente community list shows them)");
            };
            for (org, pseudonymous) in &view.members {
                println!(
                    "{}{}",
                    org.name,
                    if *pseudonymous {
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

//! `entente org create|list` and `entente user create|list`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use sharing::Role;
use store::Store;

use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum OrgCommand {
    /// Create an organisation (with its own STIX identity id).
    Create {
        name: String,
        /// Its STIX identity id, if it already has one (default: a new one).
        #[arg(long)]
        identity: Option<String>,
    },
    /// List organisations.
    List,
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a user in an organisation.
    Create {
        #[arg(long)]
        org: String,
        /// admin (manages the organisation), analyst (reads and writes) or reader.
        #[arg(long)]
        role: String,
        name: String,
    },
    /// List users.
    List,
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && !name.contains('/')
        && name.trim() == name
        && !name.chars().any(char::is_control)
}

pub fn run_org(dir: &Path, command: OrgCommand) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    match command {
        OrgCommand::Create { name, identity } => {
            if !valid_name(&name) {
                bail!("organisation names are 1-128 characters, without '/' or surrounding spaces");
            }
            let identity = match identity {
                Some(id) => {
                    let parsed = stix::Identifier::parse(&id)?;
                    if parsed.object_type() != "identity" {
                        bail!("--identity must be an identity--UUID id");
                    }
                    id
                }
                None => format!("identity--{}", uuid::Uuid::new_v4()),
            };
            let org = site.store.create_org(&name, &identity)?;
            let service = site.service()?;
            service.audit(
                &sharing::Principal::anonymous(),
                "org-create",
                None,
                vec![identity.clone()],
                format!("organisation {}", org.name),
            )?;
            println!("{}", org.identity_id);
        }
        OrgCommand::List => {
            for o in site.store.orgs()? {
                println!("{:<32} {}", o.name, o.identity_id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_user(dir: &Path, command: UserCommand) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    match command {
        UserCommand::Create { org, role, name } => {
            if !valid_name(&name) {
                bail!("user names are 1-128 characters, without '/' or surrounding spaces");
            }
            let role: Role = role.parse()?;
            let Some(o) = site.store.org(&org)? else {
                bail!("no organisation named {org:?} (create it with: entente org create {org:?})");
            };
            let user = site.store.create_user(o.id, &name, role)?;
            site.service()?.audit(
                &sharing::Principal::anonymous(),
                "user-create",
                None,
                Vec::new(),
                format!("user {}/{} ({})", o.name, user.name, role.as_str()),
            )?;
            println!("{}/{}", o.name, user.name);
        }
        UserCommand::List => {
            for u in site.store.users()? {
                println!("{}/{}  {}", u.org_name, u.name, u.role.as_str());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

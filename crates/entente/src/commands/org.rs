//! `entente org create|list` and `entente user create|list`.

use std::path::Path;
use std::process::ExitCode;

use sharing::Role;

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

pub fn run_org(dir: &Path, command: OrgCommand) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    let operator = site.operator();
    match command {
        OrgCommand::Create { name, identity } => {
            let org = site
                .node
                .create_org(&operator, &name, identity.as_deref())?;
            println!("{}", org.identity_id);
        }
        OrgCommand::List => {
            for o in site.node.orgs(&operator)? {
                println!("{:<32} {}", o.name, o.identity_id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_user(dir: &Path, command: UserCommand) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    let operator = site.operator();
    match command {
        UserCommand::Create { org, role, name } => {
            let role: Role = role.parse()?;
            let user = site.node.create_user(&operator, &org, &name, role)?;
            println!("{}/{}", user.org_name, user.name);
        }
        UserCommand::List => {
            for u in site.node.users(&operator)? {
                println!("{}/{}  {}", u.org_name, u.name, u.role.as_str());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

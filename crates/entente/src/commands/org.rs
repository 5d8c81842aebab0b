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
    /// Set a user's web console password (read from standard input: a
    /// prompt without echo on a terminal, else the first line).
    Passwd {
        /// ORG/USER
        user: String,
    },
    /// Print a one-time sign-in link to the web console for a user.
    Link {
        /// ORG/USER
        user: String,
        /// Hours the link works (it works once), at most 168.
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
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
        UserCommand::Passwd { user } => {
            let password = read_password(&user)?;
            site.node.set_password(&operator, &user, &password)?;
            eprintln!("The console password of {user} is set; their sessions have ended.");
        }
        UserCommand::Link { user, hours } => {
            let (u, secret, expires) = site.node.create_sign_in_link(
                &operator,
                &user,
                Some(hours.saturating_mul(3_600_000_000)),
                node::now(),
            )?;
            eprintln!(
                "A sign-in link for {}/{}, valid once until {expires}:",
                u.org_name, u.name
            );
            println!("{}", sign_in_url(&site, &secret));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the console of this node is reached: the configured public URL,
/// else the listening address.
pub fn console_base(site: &Site) -> String {
    match &site.config.server.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let scheme = if site.config.server.tls_cert.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", site.config.server.listen)
        }
    }
}

pub fn sign_in_url(site: &Site, secret: &str) -> String {
    format!("{}/console/link/{secret}", console_base(site))
}

/// A new password from standard input: asked twice without echo on a
/// terminal, else the first line (for scripts).
fn read_password(user: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New console password for {user}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was changed");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

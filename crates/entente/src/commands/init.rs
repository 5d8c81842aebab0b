//! `entente init`: create a node in the data directory.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use node::{ApiRoot, TokenRequest};

use crate::config::{Config, FILE_NAME};
use crate::site::{Site, database_path};

#[derive(clap::Args)]
pub struct Args {
    /// Path segment of the node's API root (`/<name>/`).
    #[arg(long, default_value = "api1")]
    pub api_root: String,
    /// Title of the API root.
    #[arg(long, default_value = "Entente API root")]
    pub title: String,
    /// Largest request body the API root accepts, in bytes.
    #[arg(long, default_value_t = 100 * 1024 * 1024)]
    pub max_content_length: u64,
}

/// Creates the node and returns the admin token (shown once).
pub fn create_node(dir: &Path, args: &Args) -> anyhow::Result<String> {
    if database_path(dir).exists() {
        bail!(
            "{} already holds an Entente node; use it, or choose another --data directory",
            dir.display()
        );
    }
    if args.max_content_length == 0 {
        bail!("--max-content-length must be at least 1 byte");
    }
    if !is_valid_root_name(&args.api_root) {
        bail!(
            "--api-root {:?} must be 1-64 characters of a-z, 0-9, '-' and '_'",
            args.api_root
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    restrict_permissions(dir);
    let config_path = dir.join(FILE_NAME);
    if !config_path.exists() {
        std::fs::write(&config_path, Config::template()?)
            .with_context(|| format!("cannot write {}", config_path.display()))?;
    }
    let site = Site::open_or_create(dir)?;
    let operator = site.operator();
    site.node.create_api_root(
        &operator,
        &ApiRoot {
            path: args.api_root.clone(),
            title: args.title.clone(),
            description: None,
            max_content_length: args.max_content_length,
        },
    )?;
    let (_, secret) = site.node.create_token(
        &operator,
        &TokenRequest {
            name: Some("admin".into()),
            admin: true,
            ..Default::default()
        },
    )?;
    Ok(secret)
}

fn is_valid_root_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
        && name != "taxii2"
        && name != "entente"
}

#[cfg(unix)]
fn restrict_permissions(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // The directory holds token digests and possibly RED material.
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict_permissions(_dir: &Path) {}

pub fn run(dir: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let secret = create_node(dir, &args)?;
    println!("Created an Entente node in {}", dir.display());
    println!("API root: /{}/  (discovery at /taxii2/)", args.api_root);
    println!();
    println!("Admin token (shown once; store it safely):");
    println!("{secret}");
    Ok(ExitCode::SUCCESS)
}

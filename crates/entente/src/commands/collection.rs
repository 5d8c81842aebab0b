//! `entente collection create|list`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use store::{NewCollection, Store};

use crate::node::Node;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a collection; prints its id.
    Create(CreateArgs),
    /// List the node's collections.
    List,
}

#[derive(clap::Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub title: String,
    /// Collection id (a UUID); a random one by default.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// Short name, usable in place of the id in URLs.
    #[arg(long)]
    pub alias: Option<String>,
    /// API root to create it in (default: the node's first).
    #[arg(long)]
    pub api_root: Option<String>,
}

pub fn create(node: &Node, args: CreateArgs) -> anyhow::Result<store::Collection> {
    let id = match args.id {
        Some(id) => match uuid::Uuid::parse_str(&id) {
            Ok(u) if u.hyphenated().to_string() == id => id,
            _ => bail!(
                "--id {id:?} is not a lowercase hyphenated UUID such as 91a7b528-80eb-42ed-a74d-c6fbd5a26116"
            ),
        },
        None => uuid::Uuid::new_v4().to_string(),
    };
    if args.title.trim().is_empty() {
        bail!("--title must not be empty");
    }
    let roots = node.store.api_roots()?;
    let api_root = match args.api_root {
        Some(r) if roots.iter().any(|x| x.path == r) => r,
        Some(r) => bail!(
            "API root {r:?} does not exist; this node has: {}",
            roots
                .iter()
                .map(|r| r.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => match roots.first() {
            Some(r) => r.path.clone(),
            None => bail!("this node has no API root; was it created with entente init?"),
        },
    };
    Ok(node.store.create_collection(&NewCollection {
        id,
        api_root,
        title: args.title,
        description: args.description,
        alias: args.alias,
    })?)
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let node = Node::open(dir)?;
    match command {
        Command::Create(args) => {
            let c = create(&node, args)?;
            println!("{}", c.id);
        }
        Command::List => {
            let all = node.store.all_collections()?;
            if all.is_empty() {
                println!("no collections (create one with: entente collection create --title ...)");
            }
            for c in all {
                println!(
                    "{}  /{}/  {}{}",
                    c.id,
                    c.api_root,
                    c.title,
                    c.description.map(|d| format!(" — {d}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

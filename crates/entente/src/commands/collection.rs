//! `entente collection create|list`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use sharing::{Owner, Tlp};
use store::{NewCollection, Store};

use crate::site::Site;

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
    /// The organisation that owns it (its users read it; analysts and admins write).
    #[arg(long, conflicts_with = "community")]
    pub org: Option<String>,
    /// The community that owns it (users of member organisations read and write).
    #[arg(long)]
    pub community: Option<String>,
    /// TLP for objects posted without a TLP marking: clear, green, amber,
    /// amber+strict or red. Without one, unmarked objects are seen only by
    /// their source organisation (node-level collections default to green).
    #[arg(long)]
    pub default_tlp: Option<String>,
    /// Let anyone, without a token, read its TLP:CLEAR objects.
    #[arg(long)]
    pub public: bool,
}

pub fn create(node: &Site, args: CreateArgs) -> anyhow::Result<store::Collection> {
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
    let owner = match (&args.org, &args.community) {
        (Some(org), _) => match node.store.org(org)? {
            Some(o) => Owner::Org(o.id),
            None => {
                bail!("no organisation named {org:?} (create it with: entente org create {org:?})")
            }
        },
        (None, Some(c)) => match node.store.community(c)? {
            Some(c) => Owner::Community(c.id),
            None => {
                bail!("no community named {c:?} (create it with: entente community create {c:?})")
            }
        },
        (None, None) => Owner::Node,
    };
    let default_tlp = match &args.default_tlp {
        Some(t) => Some(t.parse::<Tlp>()?),
        // Node-level collections keep the TAXII-core behaviour: every token
        // granted read sees unmarked objects.
        None if owner == Owner::Node => Some(Tlp::Green),
        None => None,
    };
    if args.public && default_tlp.is_some_and(|t| t != Tlp::Clear) {
        eprintln!("note: a public collection shows anonymous readers only its TLP:CLEAR objects");
    }
    Ok(node.store.create_collection(&NewCollection {
        id,
        api_root,
        title: args.title,
        description: args.description,
        alias: args.alias,
        owner,
        default_tlp,
        public: args.public,
    })?)
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let node = Site::open(dir)?;
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
            let orgs = node.store.orgs()?;
            let communities = node.store.communities()?;
            for c in all {
                let owner = match c.owner {
                    Owner::Node => "node".to_string(),
                    Owner::Org(o) => format!(
                        "org {}",
                        orgs.iter()
                            .find(|x| x.id == o)
                            .map_or("?", |x| x.name.as_str())
                    ),
                    Owner::Community(k) => format!(
                        "community {}",
                        communities
                            .iter()
                            .find(|x| x.id == k)
                            .map_or("?", |x| x.name.as_str())
                    ),
                };
                println!(
                    "{}  /{}/  {}  [{owner}; default {}{}]{}",
                    c.id,
                    c.api_root,
                    c.title,
                    c.default_tlp
                        .map_or("none (source only)".to_string(), |t| t.to_string()),
                    if c.public { "; public" } else { "" },
                    c.description.map(|d| format!(" — {d}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

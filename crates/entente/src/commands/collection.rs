//! `entente collection create|set|list`.

use std::path::Path;
use std::process::ExitCode;

use node::{Collection, CollectionRequest};
use sharing::{Owner, Tlp};

use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a collection; prints its id.
    Create(CreateArgs),
    /// Change a setting of an existing collection.
    Set(SetArgs),
    /// List the node's collections.
    List,
}

#[derive(clap::Args)]
pub struct SetArgs {
    /// The collection (id or alias).
    pub collection: String,
    /// true: TAXII readers do not see its indicators whose valid_until has
    /// passed; false: they do.
    #[arg(long, value_name = "BOOL", required = true, action = clap::ArgAction::Set)]
    pub hide_expired: Option<bool>,
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
    /// Short name, usable in place of the id in URLs and commands; unique
    /// on the node.
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
    /// Do not list what is posted into it in the node's signed manifests
    /// (no x-entente-manifest objects in it; its objects reach peers unsigned).
    #[arg(long)]
    pub unsigned: bool,
    /// Hide its indicators whose valid_until has passed from TAXII readers
    /// (objects, object, versions, manifest), decided at each read.
    #[arg(long)]
    pub hide_expired: bool,
}

pub fn create(site: &Site, args: CreateArgs) -> anyhow::Result<Collection> {
    let default_tlp = match &args.default_tlp {
        Some(t) => Some(t.parse::<Tlp>()?),
        None => None,
    };
    if args.public && default_tlp.is_some_and(|t| t != Tlp::Clear) {
        eprintln!("note: a public collection shows anonymous readers only its TLP:CLEAR objects");
    }
    Ok(site.node.create_collection(
        &site.operator(),
        CollectionRequest {
            title: args.title,
            id: args.id,
            description: args.description,
            alias: args.alias,
            api_root: args.api_root,
            org: args.org,
            community: args.community,
            default_tlp,
            public: args.public,
            unsigned: args.unsigned,
            hide_expired: args.hide_expired,
        },
    )?)
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let node = Site::open(dir)?;
    match command {
        Command::Create(args) => {
            let c = create(&node, args)?;
            println!("{}", c.id);
        }
        Command::Set(args) => {
            if let Some(hide) = args.hide_expired {
                let c = node
                    .node
                    .set_hide_expired(&node.operator(), &args.collection, hide)?;
                println!(
                    "{}: expired indicators {} TAXII readers",
                    c.id,
                    if c.hide_expired {
                        "hidden from"
                    } else {
                        "shown to"
                    }
                );
            }
        }
        Command::List => {
            let operator = node.operator();
            let all = node.node.all_collections(&operator)?;
            if all.is_empty() {
                println!("no collections (create one with: entente collection create --title ...)");
            }
            let orgs = node.node.orgs(&operator)?;
            let communities: Vec<_> = node
                .node
                .communities_admin(&operator)?
                .into_iter()
                .map(|v| v.community)
                .collect();
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
                    "{}  /{}/  {}{}  [{owner}; default {}{}{}{}]{}",
                    c.id,
                    c.api_root,
                    c.title,
                    c.alias
                        .as_deref()
                        .map(|a| format!("  (alias {a})"))
                        .unwrap_or_default(),
                    c.default_tlp
                        .map_or("none (source only)".to_string(), |t| t.to_string()),
                    if c.public { "; public" } else { "" },
                    if c.signed { "" } else { "; unsigned" },
                    if c.hide_expired {
                        "; hides expired indicators"
                    } else {
                        ""
                    },
                    c.description.map(|d| format!(" — {d}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! A node's data directory: its configuration and its database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use node::{Collection, Database, Node, SqliteOptions};
use sharing::Principal;

use crate::config::{Config, DATABASE_NAME};

/// An initialised node's data directory, opened.
pub struct Site {
    pub config: Config,
    /// The node's use cases over this directory's database.
    pub node: Node,
}

pub fn database_path(dir: &Path) -> PathBuf {
    dir.join(DATABASE_NAME)
}

impl Site {
    /// Opens an initialised node; tells the user how to create one otherwise.
    pub fn open(dir: &Path) -> anyhow::Result<Site> {
        let db = database_path(dir);
        if !db.exists() {
            bail!(
                "no Entente node in {} (no {DATABASE_NAME}); create one with: entente --data {} init",
                dir.display(),
                dir.display()
            );
        }
        Self::open_or_create(dir)
    }

    /// Opens the node, creating the database if needed.
    pub fn open_or_create(dir: &Path) -> anyhow::Result<Site> {
        let config = Config::load(dir)?;
        let database = Database::Sqlite {
            path: database_path(dir),
            options: SqliteOptions {
                synchronous_full: config.database.synchronous_full,
                cache_mib: config.database.cache_mib,
            },
        };
        let rules = crate::commands::incident::rule_set(None)?;
        let ring = signing_keys(dir)?;
        let origin = provenance::Origin {
            name: config.taxii.title.clone(),
            url: config.server.public_url.clone(),
        };
        let node = Node::open(&database, validator())
            .with_context(|| format!("cannot open the database in {}", dir.display()))?
            .with_reporting_rules(rules)
            .with_signer(node::Signer::new(ring.into_current(), origin));
        Ok(Site { config, node })
    }

    /// The operator at this console: a node administrator without a token.
    pub fn operator(&self) -> Principal {
        Principal::operator()
    }

    /// The principal for `--as ORG/USER`, or the operator without it.
    pub fn acting_as(&self, user: Option<&str>) -> anyhow::Result<Principal> {
        match user {
            Some(path) => Ok(self.node.principal_named(path)?),
            None => Ok(self.operator()),
        }
    }

    /// A collection by id or alias, or an error that lists what exists.
    pub fn collection(&self, id: &str) -> anyhow::Result<Collection> {
        let operator = self.operator();
        match self
            .node
            .collection_for(&operator, None, id, node::Need::Any)
        {
            Ok((c, _)) => Ok(c),
            Err(node::NodeError::NotFound(_)) => {
                let known: Vec<String> = self
                    .node
                    .all_collections(&operator)?
                    .into_iter()
                    .map(|c| format!("{} ({})", c.id, c.title))
                    .collect();
                if known.is_empty() {
                    bail!(
                        "collection {id} does not exist; this node has no collections yet (entente collection create --title ...)"
                    );
                }
                bail!(
                    "collection {id} does not exist; collections on this node: {}",
                    known.join(", ")
                )
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Where the node's signing identity lives.
pub fn keys_dir(dir: &Path) -> PathBuf {
    dir.join("keys")
}

/// The node's signing identity (an Ed25519 and an ML-DSA-65 key), created
/// with the node; a data directory from before signing gets one on first use.
pub fn signing_keys(dir: &Path) -> anyhow::Result<provenance::KeyRing> {
    let keys = keys_dir(dir);
    if keys.join("ring.json").exists() {
        provenance::KeyRing::open(&keys)
            .with_context(|| format!("cannot open the node's signing keys in {}", keys.display()))
    } else {
        provenance::KeyRing::create(&keys).with_context(|| {
            format!(
                "cannot create the node's signing keys in {}",
                keys.display()
            )
        })
    }
}

/// The validator every ingest path uses: STIX 2.1 rules, and indicator
/// patterns of type `stix` parsed and checked when they are stored.
pub fn validator() -> stix::Validator {
    stix::Validator::new().with_pattern_check(Arc::new(patterning::StixPatternCheck::default()))
}

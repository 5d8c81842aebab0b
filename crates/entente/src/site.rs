//! A node's data directory: its configuration and its database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use store::{SqliteOptions, SqliteStore, Store};

use crate::config::{Config, DATABASE_NAME};

/// An initialised node's data directory, opened.
pub struct Site {
    pub config: Config,
    pub store: Arc<SqliteStore>,
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
        let store = SqliteStore::open(
            database_path(dir),
            SqliteOptions {
                synchronous_full: config.database.synchronous_full,
                cache_mib: config.database.cache_mib,
            },
        )
        .with_context(|| format!("cannot open the database in {}", dir.display()))?;
        Ok(Site {
            config,
            store: Arc::new(store),
        })
    }

    pub fn dyn_store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The node's use cases (ingest, read, audit, incidents) over this directory's store.
    pub fn service(&self) -> anyhow::Result<node::Node> {
        let rules = crate::commands::incident::rule_set(None)?;
        Ok(node::Node::new(self.dyn_store(), validator())?
            .with_incidents(self.store.clone(), rules))
    }

    /// A collection by id, or an error that lists what exists.
    pub fn collection(&self, id: &str) -> anyhow::Result<store::Collection> {
        if let Some(c) = self.store.collection(id)? {
            return Ok(c);
        }
        let known: Vec<String> = self
            .store
            .all_collections()?
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
}

/// The validator every ingest path uses: STIX 2.1 rules, and indicator
/// patterns of type `stix` parsed and checked when they are stored.
pub fn validator() -> stix::Validator {
    stix::Validator::new().with_pattern_check(Arc::new(patterning::StixPatternCheck::default()))
}

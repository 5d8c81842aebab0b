//! How fresh a collection's indicators are, as one reader sees them.

use freshness::{Assessment, Model};
use serde_json::Value;
use sharing::Principal;
use stix::Timestamp;
use store::{Collection, ObjectQuery, VersionMatch};

use crate::{Expired, Node, Result};

/// Objects read per page while assessing.
const PAGE: usize = 5_000;

impl Node {
    /// Every indicator of `collection` that `principal` may read, scored at
    /// `at` under `model` with the sightings of the collection it may read
    /// (see `freshness::assess`); lowest score first. Expired indicators are
    /// included, marked, even where the collection hides them from TAXII
    /// readers: this is how they are found for review. Reads pass the one
    /// read gate (`Node::read_with`), so an indicator the reader may not
    /// see is neither listed nor counted, nor are sightings it may not see.
    pub fn indicator_freshness(
        &self,
        principal: &Principal,
        collection: &Collection,
        model: &Model,
        at: Timestamp,
    ) -> Result<Vec<Assessment>> {
        let mut query = ObjectQuery {
            types: vec!["indicator".into(), "sighting".into()],
            versions: VersionMatch::last_only(),
            limit: PAGE,
            with_raw: true,
            ..Default::default()
        };
        let mut objects: Vec<Value> = Vec::new();
        loop {
            let page = self.read_with(principal, collection, &query, Expired::Include)?;
            for o in &page.items {
                // Stored objects were validated as JSON on the way in.
                if let Ok(v) = serde_json::from_str(&o.raw) {
                    objects.push(v);
                }
            }
            match (page.more, page.resume_after) {
                (true, Some(after)) => query.added_after = Some(after),
                _ => break,
            }
        }
        Ok(freshness::assess(&objects, model, at))
    }
}

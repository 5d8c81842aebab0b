//! Reads under the sharing policy.
//!
//! The store narrows a query to the reader's audience keys through an
//! index; what keys cannot express is decided here on the page itself:
//! pointer objects whose targets are hidden from the reader are withheld,
//! and pseudonymous sources are shown under their pseudonym.

use std::collections::{HashMap, HashSet};

use sharing::pseudonym::{pseudonym_id, substitute};
use sharing::{CollectionPolicy, Owner, Principal, ReadKeys, Tlp, read_keys};
use stix::Timestamp;
use store::{Collection, ObjectQuery, StoredObject};

use crate::{Node, NodeError, Result};

/// One page of what a reader may see.
#[derive(Clone, Debug, Default)]
pub struct ReadPage {
    pub items: Vec<StoredObject>,
    /// More objects may follow (possibly none visible).
    pub more: bool,
    /// Where the next page starts: the last object examined, which may be
    /// later than the last one returned when trailing objects were withheld.
    pub resume_after: Option<Timestamp>,
}

/// Bound on how far one request looks for visible objects, so that a reader
/// who may see little of a large collection gets short pages (with `more`)
/// instead of making the node scan it.
const MAX_ROUNDS: usize = 8;

impl Node {
    /// Reads a page of `collection` as `principal` sees it.
    pub fn read(
        &self,
        principal: &Principal,
        collection: &Collection,
        query: &ObjectQuery,
    ) -> Result<ReadPage> {
        let policy = collection.policy();
        let keys = read_keys(principal, &policy).ok_or_else(|| {
            NodeError::Forbidden("this token may not read this collection".into())
        })?;
        let limit = query.limit.max(1);
        let mut q = query.clone();
        q.audience = match &keys {
            ReadKeys::All => None,
            ReadKeys::Keys(k) => Some(k.clone()),
        };
        let masks = self.pseudonym_masks(principal, &policy)?;
        let mut page = ReadPage::default();
        for _ in 0..MAX_ROUNDS {
            q.limit = limit - page.items.len();
            let batch = self.store.query_objects(collection.key, &q)?;
            let last_examined = batch.items.last().map(|o| o.date_added);
            let examined = batch.items;
            let hidden = self.hidden_targets(principal, &keys, &examined)?;
            for mut item in examined {
                if item.refs.iter().any(|r| hidden.contains(r)) {
                    continue;
                }
                if masks.iter().any(|m| m.real == item.id) {
                    continue;
                }
                for m in &masks {
                    if let std::borrow::Cow::Owned(s) = substitute(&item.raw, &m.real, &m.pseudonym)
                    {
                        item.raw = s;
                    }
                }
                page.items.push(item);
            }
            page.more = batch.more;
            page.resume_after = last_examined.or(page.resume_after);
            if !batch.more || page.items.len() >= limit {
                break;
            }
            q.added_after = last_examined;
        }
        if !page.more {
            page.resume_after = None;
        }
        let restricted: Vec<String> = page
            .items
            .iter()
            .filter(|o| o.tlp.is_none_or(|t| t >= Tlp::Amber))
            .map(|o| o.id.clone())
            .collect();
        if !restricted.is_empty() {
            self.audit(
                principal,
                "read-restricted",
                Some(&collection.id),
                restricted,
                String::new(),
            )?;
        }
        Ok(page)
    }

    /// Targets of the page's pointer objects that this node holds but the
    /// reader may not see.
    fn hidden_targets(
        &self,
        principal: &Principal,
        keys: &ReadKeys,
        items: &[StoredObject],
    ) -> Result<HashSet<String>> {
        if matches!(keys, ReadKeys::All) {
            return Ok(HashSet::new());
        }
        let targets: Vec<String> = items
            .iter()
            .flat_map(|o| o.refs.iter().cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if targets.is_empty() {
            return Ok(HashSet::new());
        }
        let copies = self.store.copies(&targets)?;
        let collections: HashMap<i64, CollectionPolicy> = self
            .store
            .all_collections()?
            .into_iter()
            .map(|c| (c.key, c.policy()))
            .collect();
        let mut keys_by_collection: HashMap<i64, Option<ReadKeys>> = HashMap::new();
        let mut present = HashSet::new();
        let mut visible = HashSet::new();
        for c in &copies {
            present.insert(c.id.clone());
            let k = keys_by_collection.entry(c.collection).or_insert_with(|| {
                collections
                    .get(&c.collection)
                    .and_then(|p| read_keys(principal, p))
            });
            if k.as_ref().is_some_and(|k| k.admits(&c.audience)) {
                visible.insert(c.id.clone());
            }
        }
        Ok(present.difference(&visible).cloned().collect())
    }

    /// The pseudonymous sources of a community collection whose identities
    /// this reader must see masked.
    fn pseudonym_masks(
        &self,
        principal: &Principal,
        policy: &CollectionPolicy,
    ) -> Result<Vec<Mask>> {
        let Owner::Community(community) = policy.owner else {
            return Ok(Vec::new());
        };
        if principal.node_admin {
            return Ok(Vec::new());
        }
        let mut masks = Vec::new();
        for m in self.store.members(community)? {
            if !m.pseudonymous || principal.org() == Some(m.org) {
                continue;
            }
            if let Some(org) = self.store.orgs()?.into_iter().find(|o| o.id == m.org) {
                masks.push(Mask {
                    real: org.identity_id,
                    pseudonym: pseudonym_id(&self.pseudonym_secret, m.org, community),
                });
            }
        }
        Ok(masks)
    }
}

struct Mask {
    real: String,
    pseudonym: String,
}

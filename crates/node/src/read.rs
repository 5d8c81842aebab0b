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
use store::{Collection, ObjectQuery, StoredObject, VersionMatch};

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

/// Whether a read hides indicators whose `valid_until` has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// As the collection says (`Collection::hide_expired`): what TAXII
    /// readers, peers and exports as a user get.
    AsCollection,
    /// Shown whatever the collection says: for reviewing them
    /// (`indicators stale`, the Entente API marks them), deleting them,
    /// backups, and scans asked to include them.
    Include,
}

impl Node {
    /// Reads a page of `collection` as `principal` sees it.
    pub fn read(
        &self,
        principal: &Principal,
        collection: &Collection,
        query: &ObjectQuery,
    ) -> Result<ReadPage> {
        self.read_gated(principal, collection, query, Expired::AsCollection, true)
    }

    /// [`Node::read`], saying whether expired indicators are hidden. In a
    /// collection that hides them, an indicator whose latest version the
    /// reader may see has a `valid_until` at or before now reads exactly
    /// like an absent one, all its versions included (judged at read time,
    /// so it vanishes the moment it expires). Objects that point at it
    /// (relationships, sightings, reports) stay: they are not expired, and
    /// a reference to an unknown id is ordinary in STIX.
    pub fn read_with(
        &self,
        principal: &Principal,
        collection: &Collection,
        query: &ObjectQuery,
        expired: Expired,
    ) -> Result<ReadPage> {
        self.read_gated(principal, collection, query, expired, true)
    }

    /// [`Node::read`] for a figure: the same gate (expired indicators
    /// hidden as the collection says), without the audit entry of a
    /// restricted read, since nothing of the objects leaves the node but
    /// their number (which the reader may learn over TAXII).
    pub(crate) fn read_for_counting(
        &self,
        principal: &Principal,
        collection: &Collection,
        query: &ObjectQuery,
    ) -> Result<ReadPage> {
        self.read_gated(principal, collection, query, Expired::AsCollection, false)
    }

    fn read_gated(
        &self,
        principal: &Principal,
        collection: &Collection,
        query: &ObjectQuery,
        expired: Expired,
        audited: bool,
    ) -> Result<ReadPage> {
        let hide_expired = expired == Expired::AsCollection && collection.hide_expired;
        let now = store::now();
        let policy = collection.policy();
        let keys = read_keys(principal, &policy).ok_or_else(|| {
            NodeError::Forbidden("this token may not read this collection".into())
        })?;
        let limit = query.limit.max(1);
        let mut q = query.clone();
        q.max_tlp = match (query.max_tlp, principal.ceiling()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        q.relay_guard = principal.relay_guard().to_vec();
        // Expiry is read from the objects themselves.
        q.with_raw = query.with_raw || hide_expired;
        q.audience = match &keys {
            ReadKeys::All => None,
            ReadKeys::Keys(k) => Some(k.clone()),
        };
        let masks = self.pseudonym_masks(principal, &policy)?;
        let explicit_tlp = principal.takes_tlp_explicit() && query.with_raw;
        // The store marks the first and last version of an object among all
        // its versions; a reader who may not see them all needs the first and
        // last of those it may see, or a hidden version would show by making
        // a visible one vanish (or stop being first) from a read by id.
        let selector = if query.versions == VersionMatch::default() {
            VersionMatch::last_only()
        } else {
            query.versions.clone()
        };
        // Listings keep the store's flags: comparing versions there costs a
        // second pass over every page (a third of the read rate), so an
        // object whose latest version is hidden from a reader is missing
        // from its listings, though never from reads by id.
        let per_reader = !query.ids.is_empty()
            && matches!(keys, ReadKeys::Keys(_))
            && !selector.all
            && (selector.first || selector.last);
        if per_reader {
            q.versions = VersionMatch::all();
        }
        // A manifest of an indicator that has expired since (see `signer`).
        let expired_manifest = |o: &StoredObject| {
            hide_expired && signed_manifest(o) && o.expires.is_some_and(|t| t <= now)
        };
        let masked_identity = |o: &StoredObject| {
            masks
                .iter()
                .any(|m| m.covers(o.origin_org) && m.real == o.id)
        };
        let mut page = ReadPage::default();
        // The JSON of the objects kept so far: the page stops at
        // `store::PAGE_BYTES` (or one larger object) however many rounds it takes.
        let mut kept_bytes = 0usize;
        for round in 0..MAX_ROUNDS {
            q.limit = limit - page.items.len();
            let room = store::PAGE_BYTES - kept_bytes;
            q.max_bytes = Some(room);
            let batch = self.store.query_objects(collection.key, &q)?;
            // The store gives the first object whatever its size: when it
            // does not fit what this page has room for, it starts the next.
            if !page.items.is_empty() && batch.items.first().is_some_and(|o| o.raw.len() > room) {
                page.more = true;
                break;
            }
            let last_examined = batch.items.last().map(|o| o.date_added);
            let examined = batch.items;
            // A read by id whose first batch holds every version of those ids
            // the reader's audience admits compares them right here (the
            // common case: one object, one query).
            let whole = per_reader
                && round == 0
                && !batch.more
                && query.added_after.is_none()
                && query.spec_versions.is_empty();
            // Otherwise, rows the store's flags select are right for this
            // reader too when it may see them; the others belong to objects
            // with several versions, whose visible versions are compared below.
            let flagged: HashSet<i64> = if per_reader && !whole {
                let flags = ObjectQuery {
                    versions: selector.clone(),
                    with_raw: false,
                    ..q.clone()
                };
                self.store
                    .query_objects(collection.key, &flags)?
                    .items
                    .iter()
                    .map(|o| o.date_added.as_micros())
                    .collect()
            } else {
                HashSet::new()
            };
            let compared: HashSet<&str> = examined
                .iter()
                .filter(|o| whole || (per_reader && !flagged.contains(&o.date_added.as_micros())))
                .map(|o| o.id.as_str())
                .collect();
            let versions = if whole {
                Vec::new()
            } else {
                self.visible_versions_of(collection, &q, &compared)?
            };
            // Observables stored while other sources' copies were in the
            // collection: earlier copies of them, which the reader may see.
            let later_copies: Vec<&StoredObject> = examined
                .iter()
                .chain(&versions)
                .filter(|o| o.prior_copies && !signed_manifest(o))
                .collect();
            // This node's manifests that list a later copy (see `signer`):
            // the rows each lists, as (manifest, row, id).
            let gated: Vec<Timestamp> = examined
                .iter()
                .filter(|o| o.prior_copies && signed_manifest(o))
                .map(|o| o.date_added)
                .collect();
            let listing = if gated.is_empty() {
                Vec::new()
            } else {
                self.store.manifest_listing(&gated)?
            };
            let earlier = self.earlier_copies(
                collection,
                later_copies
                    .iter()
                    .map(|o| o.id.as_str())
                    .chain(listing.iter().map(|(_, _, id)| id.as_str())),
            )?;
            let expired: HashSet<String> = if hide_expired {
                self.expired_indicators(collection, &q, &examined, now)?
            } else {
                HashSet::new()
            };
            let hidden = self.hidden_targets(
                principal,
                &keys,
                examined
                    .iter()
                    .chain(&versions)
                    .map(|o| o.refs.as_slice())
                    .chain(earlier.iter().map(|c| c.refs.as_slice())),
            )?;
            // One copy of an observable per reader: the earliest it may see.
            // (Copies of observables only: a manifest lists other objects
            // too, whose earlier versions shadow nothing.)
            let shadowed: HashSet<i64> = later_copies
                .iter()
                .map(|o| (o.id.as_str(), o.date_added))
                .chain(listing.iter().map(|(_, row, id)| (id.as_str(), *row)))
                .filter(|(id, at)| {
                    earlier.iter().any(|c| {
                        c.id == *id
                            && c.version.is_none()
                            && c.date_added < *at
                            && keys.admits(&c.audience)
                            && principal.sees_copy(c.tlp, c.origin_org)
                            && ((c.origin_org.is_some() && c.origin_org == principal.org())
                                || !c.refs.iter().any(|r| hidden.contains(r)))
                    })
                })
                .map(|(_, at)| at.as_micros())
                .collect();
            // A manifest of a copy the reader is not served goes with it.
            let shadowed: HashSet<i64> = listing
                .iter()
                .filter(|(_, row, _)| shadowed.contains(&row.as_micros()))
                .map(|(m, _, _)| m.as_micros())
                .chain(shadowed.iter().copied())
                .collect();
            // What the reader's organisation posted it always reads back: its
            // own references tell it nothing, and withholding them would tell
            // it which of the ids it wrote are held and hidden.
            let shown = |o: &StoredObject| {
                let own = o.origin_org.is_some() && o.origin_org == principal.org();
                (own || !o.refs.iter().any(|r| hidden.contains(r)))
                    && !expired.contains(&o.id)
                    && !expired_manifest(o)
                    && !masked_identity(o)
                    && !shadowed.contains(&o.date_added.as_micros())
            };
            let mut bounds: HashMap<&str, (Timestamp, Timestamp)> = HashMap::new();
            let candidates = if whole { &examined } else { &versions };
            for v in candidates.iter().filter(|v| shown(v)) {
                let b = bounds
                    .entry(v.id.as_str())
                    .or_insert((v.version, v.version));
                b.0 = b.0.min(v.version);
                b.1 = b.1.max(v.version);
            }
            let selected = |o: &StoredObject| {
                if !per_reader {
                    return true;
                }
                if !compared.contains(o.id.as_str()) {
                    return flagged.contains(&o.date_added.as_micros());
                }
                selector.at.contains(&o.version)
                    || bounds.get(o.id.as_str()).is_some_and(|(first, last)| {
                        (selector.first && o.version == *first)
                            || (selector.last && o.version == *last)
                    })
            };
            let keep: Vec<bool> = examined.iter().map(|o| shown(o) && selected(o)).collect();
            drop((bounds, compared, expired));
            for (mut item, keep) in examined.into_iter().zip(keep) {
                if !keep {
                    continue;
                }
                if !query.with_raw {
                    item.raw = String::new();
                }
                for m in masks.iter().filter(|m| m.covers(item.origin_org)) {
                    if let std::borrow::Cow::Owned(s) = substitute(&item.raw, &m.real, &m.pseudonym)
                    {
                        item.raw = s;
                    }
                }
                // A peer node (or a capped token's system) stores what it
                // receives under its own defaults: the TLP an object is
                // handled at here travels in it (the manifests that list it
                // hash it as posted; `provenance::verify` knows this form).
                if explicit_tlp
                    && let Some(tlp) = item.tlp
                    && let Some(s) = stix::tlp::with_explicit_marking(&item.raw, tlp)
                {
                    item.raw = s;
                }
                kept_bytes += item.raw.len();
                page.items.push(item);
            }
            page.more = batch.more;
            page.resume_after = last_examined.or(page.resume_after);
            if !batch.more || page.items.len() >= limit || kept_bytes >= store::PAGE_BYTES {
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
        if audited && !restricted.is_empty() {
            self.audit_read(principal, &collection.id, restricted)?;
        }
        Ok(page)
    }

    /// The indicators among `examined` whose latest version that `query`'s
    /// reader may see is expired at `now`.
    fn expired_indicators(
        &self,
        collection: &Collection,
        query: &ObjectQuery,
        examined: &[StoredObject],
        now: Timestamp,
    ) -> Result<HashSet<String>> {
        let ids: Vec<String> = examined
            .iter()
            .filter(|o| o.object_type == "indicator")
            .map(|o| o.id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut latest: HashMap<String, (Timestamp, bool)> = HashMap::new();
        for chunk in ids.chunks(16) {
            let by_id = ObjectQuery {
                ids: chunk.to_vec(),
                versions: VersionMatch::all(),
                limit: MAX_VERSIONS_COMPARED,
                audience: query.audience.clone(),
                max_tlp: query.max_tlp,
                relay_guard: query.relay_guard.clone(),
                with_raw: true,
                ..Default::default()
            };
            for v in self.store.query_objects(collection.key, &by_id)?.items {
                let expired = serde_json::from_str::<serde_json::Value>(&v.raw)
                    .is_ok_and(|o| freshness::is_expired(&o, now));
                match latest.get(&v.id) {
                    Some((version, _)) if *version >= v.version => {}
                    _ => {
                        latest.insert(v.id.clone(), (v.version, expired));
                    }
                }
            }
        }
        Ok(latest
            .into_iter()
            .filter(|(_, (_, expired))| *expired)
            .map(|(id, _)| id)
            .collect())
    }

    /// Every version of `ids` in `collection` that `query`'s audience admits.
    fn visible_versions_of(
        &self,
        collection: &Collection,
        query: &ObjectQuery,
        ids: &HashSet<&str>,
    ) -> Result<Vec<StoredObject>> {
        let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        let mut out = Vec::new();
        // A few ids per query: the store matches rows against ids pairwise.
        for chunk in ids.chunks(16) {
            let by_id = ObjectQuery {
                ids: chunk.to_vec(),
                versions: VersionMatch::all(),
                limit: MAX_VERSIONS_COMPARED,
                audience: query.audience.clone(),
                max_tlp: query.max_tlp,
                ..Default::default()
            };
            out.extend(self.store.query_objects(collection.key, &by_id)?.items);
        }
        Ok(out)
    }

    /// The copies in `collection` of observables that were stored after
    /// other sources' copies of them (see [`StoredObject::prior_copies`]).
    fn earlier_copies<'i>(
        &self,
        collection: &Collection,
        later: impl Iterator<Item = &'i str>,
    ) -> Result<Vec<store::CopyRecord>> {
        let ids: Vec<String> = later
            .map(str::to_owned)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .copies(&ids)?
            .into_iter()
            .filter(|c| c.collection == collection.key)
            .collect())
    }

    /// Targets of the page's pointer objects that this node holds but the
    /// reader may not see. A target is visible when one of its copies is
    /// visible by its audience *and* every target of that copy is visible in
    /// turn: a report about a withheld relationship is withheld too.
    fn hidden_targets<'i>(
        &self,
        principal: &Principal,
        keys: &ReadKeys,
        refs: impl Iterator<Item = &'i [String]>,
    ) -> Result<HashSet<String>> {
        if matches!(keys, ReadKeys::All)
            && principal.ceiling().is_none()
            && principal.relay_guard().is_empty()
        {
            return Ok(HashSet::new());
        }
        let mut frontier: Vec<String> = refs
            .flat_map(|r| r.iter().cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if frontier.is_empty() {
            return Ok(HashSet::new());
        }
        let roots: Vec<String> = frontier.clone();
        // Load the graph of targets, a few levels deep.
        let mut copies: HashMap<String, Vec<store::CopyRecord>> = HashMap::new();
        for _ in 0..MAX_POINTER_DEPTH {
            if frontier.is_empty() {
                break;
            }
            let found = self.store.copies(&frontier)?;
            let mut next = HashSet::new();
            for c in found {
                for r in &c.refs {
                    if !copies.contains_key(r) && !frontier.contains(r) {
                        next.insert(r.clone());
                    }
                }
                copies.entry(c.id.clone()).or_default().push(c);
            }
            frontier = next
                .into_iter()
                .filter(|id| !copies.contains_key(id))
                .collect();
        }
        let mut collections: HashMap<i64, CollectionPolicy> = HashMap::new();
        for key in copies
            .values()
            .flatten()
            .map(|c| c.collection)
            .collect::<HashSet<_>>()
        {
            if let Some(c) = self.store.collection_by_key(key)? {
                collections.insert(key, c.policy());
            }
        }
        let mut resolver = Resolver {
            principal,
            copies: &copies,
            collections: &collections,
            keys: HashMap::new(),
            memo: HashMap::new(),
        };
        Ok(roots
            .into_iter()
            .filter(|id| copies.contains_key(id) && !resolver.visible(id, 0))
            .collect())
    }

    /// The pseudonymous sources of a community collection whose identities
    /// this reader must see masked.
    pub(crate) fn pseudonym_masks(
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
            if let Some(org) = self.store.org_by_id(m.org)? {
                masks.push(Mask {
                    org: m.org,
                    real: org.identity_id,
                    pseudonym: pseudonym_id(&self.pseudonym_secret, m.org, community),
                });
            }
        }
        Ok(masks)
    }
}

/// A manifest this node signed (not a member's manifest-shaped object).
fn signed_manifest(o: &StoredObject) -> bool {
    o.provenance == store::Provenance::LocalSigned
        && o.object_type == provenance::extension::MANIFEST_TYPE
}

/// At most this many versions of a page's objects are compared to find the
/// first and last a reader may see.
const MAX_VERSIONS_COMPARED: usize = 100_000;

/// How many pointer hops a visibility decision follows.
const MAX_POINTER_DEPTH: usize = 8;

/// Decides, with memory, whether stored objects are visible to a reader.
struct Resolver<'a> {
    principal: &'a Principal,
    copies: &'a HashMap<String, Vec<store::CopyRecord>>,
    collections: &'a HashMap<i64, CollectionPolicy>,
    keys: HashMap<i64, Option<ReadKeys>>,
    memo: HashMap<String, bool>,
}

impl Resolver<'_> {
    fn visible(&mut self, id: &str, depth: usize) -> bool {
        if let Some(v) = self.memo.get(id) {
            return *v;
        }
        let Some(copies) = self.copies.get(id) else {
            // Not held by this node: nothing to hide.
            return true;
        };
        // Optimistic while in progress, so that a cycle of objects that are
        // visible by their audiences stays visible.
        self.memo.insert(id.to_string(), true);
        let mut any = false;
        let source = copies.first().and_then(|c| c.origin_org);
        for c in copies {
            // A copy the reader's organisation added after another source's
            // first one does not uncover what points at that source's: it
            // may be planted, its id taken from a hidden object.
            let reader_org = self.principal.org();
            if reader_org.is_some() && c.origin_org == reader_org && source != reader_org {
                continue;
            }
            let keys = self.keys.entry(c.collection).or_insert_with(|| {
                self.collections
                    .get(&c.collection)
                    .and_then(|p| read_keys(self.principal, p))
            });
            if !keys.as_ref().is_some_and(|k| k.admits(&c.audience))
                || !self.principal.sees_copy(c.tlp, c.origin_org)
            {
                continue;
            }
            // The reader's own organisation's copies are shown whatever they
            // point at (see `Node::read`).
            let own = c.origin_org.is_some() && c.origin_org == self.principal.org();
            let refs_visible = own
                || depth >= MAX_POINTER_DEPTH
                || c.refs.iter().all(|r| self.visible(r, depth + 1));
            if refs_visible {
                any = true;
                break;
            }
        }
        self.memo.insert(id.to_string(), any);
        any
    }
}

impl Mask {
    /// Whether objects posted by `origin` are masked. Only what the
    /// pseudonymous source itself posted is (and what node-level tokens and
    /// the operator posted, who may post for it): masking members' text too
    /// would turn its real id into the pseudonym wherever a member writes
    /// it, and so name it.
    pub(crate) fn covers(&self, origin: Option<sharing::OrgId>) -> bool {
        origin.is_none() || origin == Some(self.org)
    }
}

impl Mask {
    /// `raw` as readers under this mask see it.
    pub(crate) fn apply<'a>(&self, raw: &'a str) -> std::borrow::Cow<'a, str> {
        substitute(raw, &self.real, &self.pseudonym)
    }
}

pub(crate) struct Mask {
    /// The pseudonymous source (see [`Mask::covers`]).
    pub(crate) org: sharing::OrgId,
    pub(crate) real: String,
    pseudonym: String,
}

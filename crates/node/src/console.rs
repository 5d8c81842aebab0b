//! What the web console shows: the overview's figures, object lists and
//! full-text search, an object with its versions and what refers to it,
//! exports of a selection, and what a user may share where.
//!
//! Every object shown passes [`Node::read`], the gate TAXII uses, so the
//! console shows nothing its user could not fetch over TAXII. Figures come
//! from counts the store keeps per *count class* as objects are written
//! (`store::ConsoleStore`): which readers see a row, exactly as the gate
//! decides (`sharing::console::CountClass`). The classes a reader is
//! admitted to are decided here over the node's few distinct classes, and
//! their counts summed; the rows without a class (pointer objects not yet
//! settled or left to the gate, later copies of observables) are read
//! through the gate one by one, and the pseudonymous sources' identities
//! the gate masks and, where a collection hides them, the expired
//! indicators are taken out. The cost is a few index ranges plus the rows
//! left to the gate in the window, never a scan of the objects.
//!
//! Deciding a pointer row's class ([`Node::settle_counts`]) is
//! `sharing::console::class_of` over the classes of its targets' stored
//! copies.

use std::collections::{BTreeMap, HashMap, HashSet};

use freshness::Assessment;
use serde::Deserialize;
use sharing::console::{CopyFacts, CountClass, admitted_classes, class_of};
use sharing::recipients::{MemberOrg, NamedRecipients};
use sharing::{Access, AudienceKey, Owner, Principal, ReadKeys, Tlp, read_keys};
use stix::Timestamp;
use store::{
    Collection, ConsoleFacts, CountScope, ListQuery, ObjectQuery, StoredObject, VersionMatch,
    day_of,
};

use crate::{IncidentList, IngestReport, Need, Node, NodeError, Result};

/// Days an overview may cover.
pub const OVERVIEW_WINDOWS: [u32; 3] = [7, 30, 90];
/// Rows left to the gate that one overview reads at most; past it the
/// figures say they are partial.
const MAX_GATED_ROWS: usize = 50_000;
/// Ids read through the gate per query.
const GATE_CHUNK: usize = 200;
/// Most versions one gated read by ids returns (a chunk's ids rarely have
/// more than a few each).
const GATE_LIMIT: usize = 100_000;
/// Rows one list page examines at most (see `store::ListQuery`).
const LIST_EXAMINED: usize = 1_000;
/// Most objects referring to one object that its page shows (the newest).
pub const MAX_REFERRERS: usize = 200;
/// Longest search text taken, in characters.
const MAX_SEARCH_CHARS: usize = 200;
/// Pending rows settled per store call.
const SETTLE_BATCH: usize = 2_000;

/// The target types the overview ranks, by id prefix.
pub const RANKED_PREFIXES: [&str; 4] = [
    "malware--",
    "intrusion-set--",
    "attack-pattern--",
    "identity--",
];

/// The parts of an object the console's indexes need.
#[derive(Deserialize, Default)]
struct IndexedFields {
    #[serde(default, rename = "type")]
    object_type: Option<String>,
    #[serde(default)]
    relationship_type: Option<String>,
    #[serde(default)]
    target_ref: Option<String>,
}

/// Whether the console lists objects of a type: not the signed manifests
/// that this node and its peers write for provenance (records of the
/// nodes' machinery, one per batch, listing thousands of objects). They are
/// still served over TAXII, and their provenance shows on each object's
/// page; a manifest's own page opens by its id.
pub fn listed_type(object_type: &str) -> bool {
    object_type != provenance::extension::MANIFEST_TYPE
}

/// What the console indexes of an object at write: the targets the
/// overview ranks it as referring to (malware, intrusion sets and ATT&CK
/// techniques it references, and the identity a `targets` relationship
/// points at, whose sectors are the targeted sectors), and whether it is
/// listed at all ([`listed_type`]). Its search text the store's full-text
/// index reads from the stored bytes ([`store::search_text`]).
pub(crate) fn indexed_facts(raw: &str, refs: &[String]) -> ConsoleFacts {
    let fields: IndexedFields = serde_json::from_str(raw).unwrap_or_default();
    if !fields.object_type.as_deref().is_none_or(listed_type) {
        return ConsoleFacts {
            ranked: Vec::new(),
            listed: false,
        };
    }
    let mut ranked: Vec<String> = refs
        .iter()
        .filter(|r| RANKED_PREFIXES[..3].iter().any(|p| r.starts_with(p)))
        .cloned()
        .collect();
    if fields.relationship_type.as_deref() == Some("targets")
        && let Some(target) = fields.target_ref
        && target.starts_with("identity--")
        && refs.contains(&target)
    {
        ranked.push(target);
    }
    ConsoleFacts {
        ranked,
        listed: true,
    }
}

/// The store's count classes and audiences, as far as read (see
/// [`Node::admitted_classes`]).
#[derive(Default)]
pub(crate) struct ClassCache {
    classes: HashMap<i64, CountClass>,
    audiences: HashMap<i64, Vec<AudienceKey>>,
    last_class: i64,
    last_audience: i64,
}

/// What a list shows of an object.
#[derive(Clone, Debug)]
pub struct Listed {
    pub collection_id: String,
    pub collection_title: String,
    pub object: StoredObject,
    pub name: String,
}

/// A ranked target of the overview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked {
    pub id: String,
    /// Its name, when the reader can see it.
    pub name: Option<String>,
    /// The ATT&CK id of a technique (`T1566`…).
    pub external_id: Option<String>,
    /// A collection where the reader can open it.
    pub collection_id: Option<String>,
    pub count: u64,
}

/// The overview's figures for one reader and one window.
#[derive(Clone, Debug)]
pub struct Overview {
    pub days: u32,
    /// The window's first day (days since the Unix epoch).
    pub first_day: i64,
    /// New objects (versions) per type, one count per day of the window.
    pub by_type: BTreeMap<String, Vec<u64>>,
    /// The same per TLP (`None`: private to their source, no TLP).
    pub by_tlp: BTreeMap<Option<Tlp>, Vec<u64>>,
    pub total: u64,
    pub malware: Vec<Ranked>,
    pub intrusion_sets: Vec<Ranked>,
    pub techniques: Vec<Ranked>,
    /// Targeted sectors: sectors of the identities `targets` relationships point at.
    pub sectors: Vec<(String, u64)>,
    pub latest_reports: Vec<Listed>,
    /// Incidents of the reader's organisation (all, for node administrators).
    pub incidents: Option<IncidentList>,
    /// More rows than one overview reads were left to the gate: the
    /// figures leave some out.
    pub partial: bool,
}

/// Filters of an object list.
#[derive(Clone, Debug, Default)]
pub struct ObjectFilter {
    /// One collection (id or alias); `None`: every collection the reader reads.
    pub collection: Option<String>,
    pub types: Vec<String>,
    pub tlps: Vec<Option<Tlp>>,
    pub added_since: Option<Timestamp>,
    pub added_before: Option<Timestamp>,
    /// Words to find (names, descriptions, patterns).
    pub text: Option<String>,
    pub limit: usize,
}

/// A page of a list.
#[derive(Clone, Debug, Default)]
pub struct ObjectList {
    pub items: Vec<Listed>,
    /// Continue with `added_before` = this; `None` at the end.
    pub resume_before: Option<Timestamp>,
    /// A search ran while the full-text index was far behind the newest
    /// writes (a bulk import, a rebuild): newer matches may be missing.
    pub search_incomplete: bool,
}

/// An object as its page shows it.
#[derive(Clone, Debug)]
pub struct ObjectDetail {
    pub collection: Collection,
    /// The latest version the reader sees (JSON as served over TAXII).
    pub current: StoredObject,
    /// Every version the reader sees, oldest first.
    pub versions: Vec<StoredObject>,
    /// Relationships whose source is this object, with their targets.
    pub outgoing: Vec<(Listed, Option<Listed>, String)>,
    /// Relationships whose target is this object, with their sources.
    pub incoming: Vec<(Listed, Option<Listed>, String)>,
    pub sightings: Vec<Listed>,
    /// Reports, notes, groupings and other objects that refer to it.
    pub referred_by: Vec<Listed>,
    /// What this object refers to (its gating references), where visible.
    pub refers_to: Vec<(String, Option<Listed>)>,
    /// An indicator's validity and decay score now (see [`Node::freshness_of`]).
    pub freshness: Option<Assessment>,
}

/// Where a user may share, and how recipients will see them.
#[derive(Clone, Debug)]
pub struct ShareTarget {
    pub collection: Collection,
    /// Organisations the user may name as recipients: (value to send, label).
    pub organisations: Vec<(String, String)>,
    /// How recipients see the source: the organisation's name and identity,
    /// or its pseudonym identity in this community.
    pub shown_as: String,
    pub pseudonymous: bool,
}

/// The parts of an object its name in a list is made of.
#[derive(Deserialize, Default)]
struct NamedFields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default)]
    relationship_type: Option<String>,
}

/// Facts of a row's name, for lists.
pub fn display_name(raw: &str, id: &str) -> String {
    let fields: NamedFields = serde_json::from_str(raw).unwrap_or_default();
    fields
        .name
        .or(match fields.value {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        })
        .or(fields.pattern)
        .or_else(|| {
            fields
                .relationship_type
                .map(|t| format!("{t} relationship"))
        })
        .unwrap_or_else(|| id.to_string())
}

/// A user's words as an FTS5 query: each word quoted (so nothing the user
/// types is FTS syntax), all required, the last one also as a prefix (for
/// searching as one types). `None` when there is no word.
pub fn search_expression(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .chars()
        .take(MAX_SEARCH_CHARS)
        .collect::<String>()
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(12)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut out = rest.join(" ");
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(last);
    out.push('*');
    Some(out)
}

impl Node {
    /// Every collection (of any API root) the principal has a right on.
    pub fn console_collections(&self, principal: &Principal) -> Result<Vec<(Collection, Access)>> {
        let mut out: Vec<(Collection, Access)> = self
            .store
            .all_collections()?
            .into_iter()
            .filter_map(|c| principal.access(&c.policy()).map(|a| (c, a)))
            .collect();
        out.sort_by(|a, b| a.0.title.cmp(&b.0.title));
        Ok(out)
    }

    /// The collections the principal reads, each with what the store's
    /// figures and lists need to narrow to what it may see.
    fn readable(&self, principal: &Principal) -> Result<Vec<(Collection, CountScope, ReadKeys)>> {
        Ok(self
            .console_collections(principal)?
            .into_iter()
            .filter_map(|(c, _)| {
                let keys = read_keys(principal, &c.policy())?;
                let scope = CountScope {
                    collection: c.key,
                    audience: match &keys {
                        ReadKeys::All => None,
                        ReadKeys::Keys(k) => Some(k.clone()),
                    },
                    // A narrowed token's ceiling, as the read gate applies it.
                    max_tlp: principal.ceiling(),
                };
                Some((c, scope, keys))
            })
            .collect())
    }

    /// Of `rows` (all in `collection`), the ones `principal` may see, as
    /// the gate serves them (pseudonyms substituted); `audited` as
    /// [`Node::read`] when their content will be shown.
    fn gate_rows(
        &self,
        principal: &Principal,
        collection: &Collection,
        rows: &[StoredObject],
        audited: bool,
    ) -> Result<HashMap<i64, StoredObject>> {
        let mut out = HashMap::new();
        let wanted: HashSet<i64> = rows.iter().map(|r| r.date_added.as_micros()).collect();
        let ids: Vec<String> = rows
            .iter()
            .map(|r| r.id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for chunk in ids.chunks(GATE_CHUNK) {
            let query = ObjectQuery {
                ids: chunk.to_vec(),
                versions: VersionMatch::all(),
                limit: GATE_LIMIT,
                with_raw: audited,
                ..Default::default()
            };
            let page = if audited {
                self.read(principal, collection, &query)?
            } else {
                self.read_for_counting(principal, collection, &query)?
            };
            for o in page.items {
                if wanted.contains(&o.date_added.as_micros()) {
                    out.insert(o.date_added.as_micros(), o);
                }
            }
        }
        Ok(out)
    }

    /// The overview of the last `days` days (ending today, at `now`) as
    /// `principal` may see it.
    pub fn overview(&self, principal: &Principal, days: u32, now: Timestamp) -> Result<Overview> {
        if !OVERVIEW_WINDOWS.contains(&days) {
            return Err(NodeError::Unprocessable(format!(
                "the overview covers 7, 30 or 90 days, not {days}"
            )));
        }
        let today = day_of(now);
        let first_day = today - i64::from(days) + 1;
        let since = Timestamp::from_micros(first_day * 86_400_000_000);
        let readable = self.readable(principal)?;
        let width = days as usize;
        let mut by_type: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut by_tlp: BTreeMap<Option<Tlp>, Vec<u64>> = BTreeMap::new();
        let mut add = |day: i64, object_type: &str, tlp: Option<Tlp>, n: i64| {
            let Ok(at) = usize::try_from(day - first_day) else {
                return;
            };
            if at >= width {
                return;
            }
            for slot in [
                &mut by_type
                    .entry(object_type.to_string())
                    .or_insert_with(|| vec![0; width])[at],
                &mut by_tlp.entry(tlp).or_insert_with(|| vec![0; width])[at],
            ] {
                *slot = slot.saturating_add_signed(n);
            }
        };
        // Counted rows: the classes the reader is admitted to (ceilings and
        // relay guards included), summed from the store's counts.
        let admitted = self.admitted_classes(principal, &readable)?;
        let wanted: Vec<i64> = admitted.iter().copied().collect();
        for c in self.store.day_counts(&wanted, first_day)? {
            add(c.day, &c.object_type, c.tlp, c.count as i64);
        }
        let mut ranked: HashMap<String, u64> = self
            .store
            .ranked_counts(&wanted, first_day)?
            .into_iter()
            .collect();
        let counted_for_reader = |rows: Vec<(Timestamp, Option<i64>, bool)>| -> HashSet<i64> {
            rows.into_iter()
                .filter(|(_, class, counted)| {
                    *counted && class.is_some_and(|c| admitted.contains(&c))
                })
                .map(|(at, _, _)| at.as_micros())
                .collect()
        };
        let mut partial = false;
        let mut gated_budget = MAX_GATED_ROWS;
        for (collection, scope, _) in &readable {
            // Rows the gate decides one by one: pointer rows without a
            // class, later copies of observables.
            let rows = self.store.uncounted(scope, since, gated_budget + 1)?;
            if rows.len() > gated_budget {
                partial = true;
            }
            let rows: Vec<(StoredObject, Vec<String>)> =
                rows.into_iter().take(gated_budget).collect();
            gated_budget -= rows.len();
            let objects: Vec<StoredObject> = rows.iter().map(|(o, _)| o.clone()).collect();
            let visible = self.gate_rows(principal, collection, &objects, false)?;
            for (o, targets) in &rows {
                if visible.contains_key(&o.date_added.as_micros()) {
                    add(day_of(o.date_added), &o.object_type, o.tlp, 1);
                    for t in targets {
                        *ranked.entry(t.clone()).or_default() += 1;
                    }
                }
            }
            // Counted rows the gate masks: a pseudonymous source's own identity.
            for mask in self.pseudonym_masks(principal, &collection.policy())? {
                let copies = self.store.copies(std::slice::from_ref(&mask.real))?;
                let here: Vec<&store::CopyRecord> = copies
                    .iter()
                    .filter(|c| {
                        c.collection == collection.key
                            && c.date_added >= since
                            && mask.covers(c.origin_org)
                    })
                    .collect();
                let counted = counted_for_reader(
                    self.store
                        .row_classes(&here.iter().map(|c| c.date_added).collect::<Vec<_>>())?,
                );
                for c in here {
                    if counted.contains(&c.date_added.as_micros()) {
                        add(day_of(c.date_added), "identity", c.tlp, -1);
                    }
                }
            }
            // Counted indicators the gate hides: in a collection that hides
            // expired indicators, one whose latest version the reader sees
            // has expired reads like an absent one, all versions included
            // (judged now, so no count kept at write time can know it).
            // That version has expired itself: the ids of indicators with
            // an expired version, from an index of `valid_until`, are the
            // only candidates; their versions in the window that were
            // counted for this reader go through the gate.
            if collection.hide_expired {
                // A second ahead: the gate judges a moment later.
                let at = Timestamp::from_micros(store::now().as_micros() + 1_000_000);
                let ids = self
                    .store
                    .expired_indicators(collection.key, at, gated_budget + 1)?;
                if ids.len() > gated_budget {
                    partial = true;
                }
                let ids: Vec<String> = ids.into_iter().take(gated_budget).collect();
                gated_budget -= ids.len();
                for chunk in ids.chunks(GATE_CHUNK) {
                    let page = self.store.query_objects(
                        collection.key,
                        &ObjectQuery {
                            ids: chunk.to_vec(),
                            versions: VersionMatch::all(),
                            added_after: Some(Timestamp::from_micros(since.as_micros() - 1)),
                            audience: scope.audience.clone(),
                            max_tlp: scope.max_tlp,
                            relay_guard: principal.relay_guard().to_vec(),
                            limit: GATE_LIMIT,
                            ..Default::default()
                        },
                    )?;
                    let counted = counted_for_reader(self.store.row_classes(
                        &page.items.iter().map(|o| o.date_added).collect::<Vec<_>>(),
                    )?);
                    let rows: Vec<StoredObject> = page
                        .items
                        .into_iter()
                        .filter(|o| counted.contains(&o.date_added.as_micros()))
                        .collect();
                    let visible = self.gate_rows(principal, collection, &rows, false)?;
                    for o in rows
                        .iter()
                        .filter(|o| !visible.contains_key(&o.date_added.as_micros()))
                    {
                        add(day_of(o.date_added), &o.object_type, o.tlp, -1);
                        for t in o
                            .refs
                            .iter()
                            .filter(|r| RANKED_PREFIXES[..3].iter().any(|p| r.starts_with(p)))
                        {
                            if let Some(n) = ranked.get_mut(t) {
                                *n = n.saturating_sub(1);
                            }
                        }
                    }
                }
            }
        }
        by_type.retain(|_, v| v.iter().any(|n| *n > 0));
        by_tlp.retain(|_, v| v.iter().any(|n| *n > 0));
        let total = by_type.values().flatten().sum();

        // Names of what is ranked, through the gate.
        let mut tops: Vec<(String, u64)> = ranked.into_iter().filter(|(_, n)| *n > 0).collect();
        tops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let pick = |prefix: &str, n: usize| -> Vec<(String, u64)> {
            tops.iter()
                .filter(|(id, _)| id.starts_with(prefix))
                .take(n)
                .cloned()
                .collect()
        };
        let (malware, intrusion_sets, techniques, identities) = (
            pick("malware--", 10),
            pick("intrusion-set--", 10),
            pick("attack-pattern--", 10),
            pick("identity--", 500),
        );
        let wanted: Vec<String> = malware
            .iter()
            .chain(&intrusion_sets)
            .chain(&techniques)
            .chain(&identities)
            .map(|(id, _)| id.clone())
            .collect();
        let found = self.visible_objects(principal, &readable, &wanted)?;
        let rank = |list: Vec<(String, u64)>| -> Vec<Ranked> {
            list.into_iter()
                .map(|(id, count)| {
                    let seen = found.get(&id);
                    Ranked {
                        name: seen.map(|l| l.name.clone()),
                        external_id: seen.and_then(|l| attack_id(&l.object.raw)),
                        collection_id: seen.map(|l| l.collection_id.clone()),
                        id,
                        count,
                    }
                })
                .collect()
        };
        let mut sectors: HashMap<String, u64> = HashMap::new();
        for (id, n) in &identities {
            if let Some(l) = found.get(id) {
                for s in sectors_of(&l.object.raw) {
                    *sectors.entry(s).or_default() += n;
                }
            }
        }
        let mut sectors: Vec<(String, u64)> = sectors.into_iter().collect();
        sectors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        sectors.truncate(10);

        let latest_reports = self
            .list_objects(
                principal,
                &ObjectFilter {
                    types: vec!["report".into()],
                    limit: 8,
                    ..Default::default()
                },
            )?
            .items;
        let incidents = if principal.member.is_some() || principal.node_admin {
            match self.list_incidents(principal, jiff_now(now)) {
                Ok(list) => Some(list),
                Err(crate::IncidentError::Forbidden(_)) => None,
                Err(crate::IncidentError::Node(e)) => return Err(e),
                Err(crate::IncidentError::Store(e)) => return Err(e.into()),
                Err(other) => return Err(NodeError::Unprocessable(other.to_string())),
            }
        } else {
            None
        };
        Ok(Overview {
            days,
            first_day,
            by_type,
            by_tlp,
            total,
            malware: rank(malware),
            intrusion_sets: rank(intrusion_sets),
            techniques: rank(techniques),
            sectors,
            latest_reports,
            incidents,
            partial,
        })
    }

    /// The latest visible version of each of `ids`, in whichever readable
    /// collection the reader sees one (read through the gate, audited).
    fn visible_objects(
        &self,
        principal: &Principal,
        readable: &[(Collection, CountScope, ReadKeys)],
        ids: &[String],
    ) -> Result<HashMap<String, Listed>> {
        let mut out: HashMap<String, Listed> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let by_key: HashMap<i64, &Collection> =
            readable.iter().map(|(c, _, _)| (c.key, c)).collect();
        let mut per_collection: BTreeMap<i64, HashSet<String>> = BTreeMap::new();
        for copy in self.store.copies(ids)? {
            if by_key.contains_key(&copy.collection) {
                per_collection
                    .entry(copy.collection)
                    .or_default()
                    .insert(copy.id);
            }
        }
        for (key, wanted) in per_collection {
            let collection = by_key[&key];
            let wanted: Vec<String> = wanted
                .into_iter()
                .filter(|id| !out.contains_key(id))
                .collect();
            for chunk in wanted.chunks(GATE_CHUNK) {
                let page = self.read(
                    principal,
                    collection,
                    &ObjectQuery {
                        ids: chunk.to_vec(),
                        limit: GATE_LIMIT,
                        with_raw: true,
                        ..Default::default()
                    },
                )?;
                for o in page.items {
                    out.entry(o.id.clone())
                        .or_insert_with(|| listed(collection, o));
                }
            }
        }
        Ok(out)
    }

    /// A page of the latest versions of objects, newest first, that the
    /// principal may see (see [`ObjectFilter`]). Search text goes through
    /// the full-text index.
    pub fn list_objects(&self, principal: &Principal, filter: &ObjectFilter) -> Result<ObjectList> {
        let mut readable = self.readable(principal)?;
        if let Some(wanted) = &filter.collection {
            let (c, _) = self.collection_for(principal, None, wanted, Need::Read)?;
            readable.retain(|(x, _, _)| x.key == c.key);
        }
        if readable.is_empty() {
            return Ok(ObjectList::default());
        }
        let text = match &filter.text {
            Some(t) if !t.trim().is_empty() => match search_expression(t) {
                Some(expr) => Some(expr),
                // Only punctuation: nothing can match.
                None => return Ok(ObjectList::default()),
            },
            _ => None,
        };
        let limit = filter.limit.clamp(1, 200);
        let scopes: Vec<CountScope> = readable.iter().map(|(_, s, _)| s.clone()).collect();
        let by_key: HashMap<i64, &Collection> =
            readable.iter().map(|(c, _, _)| (c.key, c)).collect();
        let mut items = Vec::new();
        let mut before = filter.added_before;
        let mut search_incomplete = false;
        // The gate may withhold some candidates: look further, once more,
        // to fill the page; past that the page is short and says "older".
        for _ in 0..2 {
            let page = self.store.list_newest(
                &scopes,
                &ListQuery {
                    added_before: before,
                    added_since: filter.added_since,
                    types: filter.types.clone(),
                    tlps: filter.tlps.clone(),
                    text: text.clone(),
                    limit: limit - items.len(),
                    max_examined: LIST_EXAMINED,
                    with_raw: false,
                },
            )?;
            let mut per_collection: BTreeMap<i64, Vec<StoredObject>> = BTreeMap::new();
            for (key, o) in &page.items {
                per_collection.entry(*key).or_default().push(o.clone());
            }
            let mut visible: HashMap<i64, StoredObject> = HashMap::new();
            for (key, rows) in &per_collection {
                if let Some(c) = by_key.get(key) {
                    visible.extend(self.gate_rows(principal, c, rows, true)?);
                }
            }
            for (key, o) in page.items {
                if let (Some(shown), Some(c)) =
                    (visible.remove(&o.date_added.as_micros()), by_key.get(&key))
                {
                    items.push(listed(c, shown));
                }
            }
            before = page.resume_before;
            search_incomplete |= page.search_incomplete;
            if before.is_none() || items.len() >= limit {
                break;
            }
        }
        Ok(ObjectList {
            items,
            resume_before: before,
            search_incomplete,
        })
    }

    /// An object of a collection with everything its page shows, or 404
    /// when the principal cannot see it there.
    pub fn object_detail(
        &self,
        principal: &Principal,
        collection_id: &str,
        object_id: &str,
    ) -> Result<ObjectDetail> {
        let (collection, _) = self.collection_for(principal, None, collection_id, Need::Read)?;
        let versions = self
            .read(
                principal,
                &collection,
                &ObjectQuery {
                    ids: vec![object_id.to_string()],
                    versions: VersionMatch::all(),
                    limit: 1_000,
                    with_raw: true,
                    ..Default::default()
                },
            )?
            .items;
        let Some(current) = versions
            .iter()
            .max_by_key(|o| (o.version, o.date_added))
            .cloned()
        else {
            return Err(NodeError::NotFound(format!(
                "object {object_id} is not in this collection, or not shared with you"
            )));
        };
        let readable = self.readable(principal)?;
        let by_key: HashMap<i64, &Collection> =
            readable.iter().map(|(c, _, _)| (c.key, c)).collect();
        // What refers to it, through the gate, latest versions only.
        let mut per_collection: BTreeMap<i64, Vec<StoredObject>> = BTreeMap::new();
        for (key, o) in self.store.referrers(object_id, MAX_REFERRERS)? {
            if by_key.contains_key(&key) {
                per_collection.entry(key).or_default().push(o);
            }
        }
        let mut referrers: Vec<Listed> = Vec::new();
        for (key, rows) in per_collection {
            let c = by_key[&key];
            let mut latest: HashMap<String, StoredObject> = HashMap::new();
            for o in self.gate_rows(principal, c, &rows, true)?.into_values() {
                match latest.get(&o.id) {
                    Some(seen) if (seen.version, seen.date_added) >= (o.version, o.date_added) => {}
                    _ => {
                        latest.insert(o.id.clone(), o);
                    }
                }
            }
            referrers.extend(latest.into_values().map(|o| listed(c, o)));
        }
        referrers.sort_by_key(|r| std::cmp::Reverse(r.object.date_added));
        // The other end of each relationship, and what this object refers to.
        let mut ends: Vec<String> = current.refs.clone();
        for r in &referrers {
            if r.object.object_type == "relationship" {
                let (source, target, _) = relationship_ends(&r.object.raw);
                ends.extend([source, target]);
            }
        }
        ends.retain(|id| id != object_id && !id.is_empty());
        ends.sort_unstable();
        ends.dedup();
        let found = self.visible_objects(principal, &readable, &ends)?;
        let (mut outgoing, mut incoming, mut sightings, mut referred_by) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in referrers {
            match r.object.object_type.as_str() {
                "relationship" => {
                    let (source, target, kind) = relationship_ends(&r.object.raw);
                    if source == object_id {
                        let other = found.get(&target).cloned();
                        outgoing.push((r, other, target));
                    } else if target == object_id {
                        let other = found.get(&source).cloned();
                        incoming.push((r, other, source));
                    } else {
                        let _ = kind;
                        referred_by.push(r);
                    }
                }
                "sighting" => sightings.push(r),
                _ => referred_by.push(r),
            }
        }
        let refers_to = current
            .refs
            .iter()
            .map(|id| (id.clone(), found.get(id).cloned()))
            .collect();
        let mut versions = versions;
        versions.sort_by_key(|o| (o.version, o.date_added));
        let freshness = (current.object_type == "indicator").then(|| {
            let here = sightings
                .iter()
                .filter(|s| s.collection_id == collection.id)
                .map(|s| &s.object);
            assess_one(&current, here, store::now())
        });
        Ok(ObjectDetail {
            collection,
            current,
            versions,
            outgoing,
            incoming,
            sightings,
            referred_by,
            refers_to,
            freshness: freshness.flatten(),
        })
    }

    /// How fresh each indicator among `items` is at `now`: its validity and
    /// its decay score under the built-in model, raised by the sightings of
    /// it in its own collection that the principal may see (the newest
    /// [`MAX_REFERRERS`] objects referring to it) — what
    /// [`Node::indicator_freshness`], the Entente API and `entente
    /// indicators stale` say of it. Keyed by (collection id, object id);
    /// other types have none.
    pub fn freshness_of(
        &self,
        principal: &Principal,
        items: &[Listed],
        now: Timestamp,
    ) -> Result<HashMap<(String, String), Assessment>> {
        let mut out = HashMap::new();
        let indicators: Vec<&Listed> = items
            .iter()
            .filter(|l| l.object.object_type == "indicator")
            .collect();
        if indicators.is_empty() {
            return Ok(out);
        }
        let readable = self.readable(principal)?;
        let by_id: HashMap<&str, &Collection> = readable
            .iter()
            .map(|(c, _, _)| (c.id.as_str(), c))
            .collect();
        // The sightings referring to each, per collection, through the gate.
        let mut rows: BTreeMap<i64, Vec<StoredObject>> = BTreeMap::new();
        for l in &indicators {
            let Some(c) = by_id.get(l.collection_id.as_str()) else {
                continue;
            };
            for (key, o) in self.store.referrers(&l.object.id, MAX_REFERRERS)? {
                if key == c.key && o.object_type == "sighting" {
                    rows.entry(key).or_default().push(o);
                }
            }
        }
        let mut seen: HashMap<(i64, String), Vec<StoredObject>> = HashMap::new();
        for (key, rows) in rows {
            let Some((c, _, _)) = readable.iter().find(|(c, _, _)| c.key == key) else {
                continue;
            };
            for o in self.gate_rows(principal, c, &rows, true)?.into_values() {
                let target = sighting_of(&o.raw);
                seen.entry((key, target)).or_default().push(o);
            }
        }
        for l in indicators {
            let Some(c) = by_id.get(l.collection_id.as_str()) else {
                continue;
            };
            let sightings = seen
                .get(&(c.key, l.object.id.clone()))
                .into_iter()
                .flatten();
            if let Some(a) = assess_one(&l.object, sightings, now) {
                out.insert((l.collection_id.clone(), l.object.id.clone()), a);
            }
        }
        Ok(out)
    }

    /// A STIX bundle of the chosen objects (collection id, object id) as
    /// the principal may take them off the node (`Node::export_page`'s
    /// rule), with how many it may read but not take.
    pub fn export_selection(
        &self,
        principal: &Principal,
        chosen: &[(String, String)],
    ) -> Result<(String, usize)> {
        let mut per_collection: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (c, id) in chosen {
            per_collection
                .entry(c.clone())
                .or_default()
                .push(id.clone());
        }
        let mut objects: Vec<String> = Vec::new();
        let mut withheld = 0;
        for (collection_id, ids) in per_collection {
            let (collection, _) =
                self.collection_for(principal, None, &collection_id, Need::Read)?;
            for chunk in ids.chunks(GATE_CHUNK) {
                let page = self.export_page(
                    principal,
                    &collection,
                    &ObjectQuery {
                        ids: chunk.to_vec(),
                        limit: GATE_LIMIT,
                        with_raw: true,
                        ..Default::default()
                    },
                )?;
                withheld += page.withheld;
                objects.extend(page.items.into_iter().map(|o| o.raw));
            }
        }
        let bundle = format!(
            "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[{}]}}",
            uuid::Uuid::new_v4(),
            objects.join(",")
        );
        Ok((bundle, withheld))
    }

    /// The collections the principal may write to, with the recipients it
    /// may name there and how its objects will be shown.
    pub fn share_targets(&self, principal: &Principal) -> Result<Vec<ShareTarget>> {
        let mut out = Vec::new();
        let own = match principal.org() {
            Some(org) => self.store.org_by_id(org)?,
            None => None,
        };
        for (collection, access) in self.console_collections(principal)? {
            if !access.write {
                continue;
            }
            let policy = collection.policy();
            let addressable = self.addressable_in(principal, &policy)?;
            let members: Vec<MemberOrg> = match policy.owner {
                Owner::Community(k) => self
                    .store
                    .members(k)?
                    .into_iter()
                    .map(|m| MemberOrg {
                        org: m.org,
                        pseudonymous: m.pseudonymous,
                    })
                    .collect(),
                Owner::Org(o) => vec![MemberOrg {
                    org: o,
                    pseudonymous: false,
                }],
                Owner::Node => Vec::new(),
            };
            let mut organisations = Vec::new();
            let mut pseudonymous = false;
            for m in &members {
                let Some(org) = self.store.org_by_id(m.org)? else {
                    continue;
                };
                if principal.org() == Some(m.org) {
                    pseudonymous = m.pseudonymous;
                    organisations.push((
                        org.name.clone(),
                        format!("{} (your organisation)", org.name),
                    ));
                } else if m.pseudonymous && addressable.by_pseudonym(m.org) {
                    if let Owner::Community(k) = policy.owner {
                        let pid =
                            sharing::pseudonym::pseudonym_id(&self.pseudonym_secret, m.org, k);
                        organisations.push((pid.clone(), format!("a pseudonymous member ({pid})")));
                    }
                } else if addressable.by_name(m.org) {
                    organisations.push((org.name.clone(), org.name.clone()));
                }
            }
            let shown_as = match (&own, policy.owner) {
                (Some(o), Owner::Community(k)) if pseudonymous => {
                    let _ = o;
                    sharing::pseudonym::pseudonym_id(
                        &self.pseudonym_secret,
                        principal.org().unwrap_or_default(),
                        k,
                    )
                }
                (Some(o), _) => format!("{} ({})", o.name, o.identity_id),
                (None, _) => "the node itself (no organisation)".to_string(),
            };
            out.push(ShareTarget {
                collection,
                organisations,
                shown_as,
                pseudonymous,
            });
        }
        Ok(out)
    }

    /// Shares objects the console composed (each a STIX JSON object) into a
    /// collection: the same validation and ingest as a TAXII POST, with
    /// `recipients` for the AMBER and RED ones.
    pub fn share_objects(
        &self,
        principal: &Principal,
        collection_id: &str,
        objects: &[String],
        recipients: &NamedRecipients,
    ) -> Result<IngestReport> {
        let (collection, _) = self.collection_for(principal, None, collection_id, Need::Write)?;
        let mut valid = Vec::new();
        let mut rejected = Vec::new();
        for (index, text) in objects.iter().enumerate() {
            match self.validator.validate_str(index, text) {
                Ok(o) => valid.push((index, o)),
                Err(r) => rejected.push(r),
            }
        }
        self.ingest(principal, &collection, valid, rejected, recipients)
    }

    /// Imports a file's content (a STIX bundle, a TAXII envelope, a JSON
    /// array or JSON lines: what `entente import` reads) into a collection,
    /// with the same per-object outcomes.
    pub fn import_file(
        &self,
        principal: &Principal,
        collection_id: &str,
        bytes: &[u8],
        recipients: &NamedRecipients,
    ) -> Result<IngestReport> {
        let (collection, _) = self.collection_for(principal, None, collection_id, Need::Write)?;
        let envelope = stix::split_envelope(bytes).map_err(|e| {
            NodeError::Unprocessable(format!(
                "the file is not STIX content (a bundle, a JSON array or JSON lines): {e}"
            ))
        })?;
        if envelope.objects.is_empty() {
            return Err(NodeError::Unprocessable("the file holds no objects".into()));
        }
        if envelope.objects.len() > crate::MAX_ENVELOPE_OBJECTS {
            return Err(NodeError::Unprocessable(format!(
                "the file holds {} objects; upload at most {} at a time (entente import takes any number)",
                envelope.objects.len(),
                crate::MAX_ENVELOPE_OBJECTS
            )));
        }
        let (valid, rejected) = self.validate_all(&envelope.objects);
        self.ingest(principal, &collection, valid, rejected, recipients)
    }

    /// The newest `limit` audit records, newest first, each with at most
    /// the first few ids it names (node administrators).
    pub fn latest_audit(
        &self,
        principal: &Principal,
        limit: usize,
    ) -> Result<Vec<store::AuditRecord>> {
        if !sharing::administration::may_administer_node(principal) {
            return Err(NodeError::Forbidden(
                "only node administrators may read the audit log".into(),
            ));
        }
        Ok(self.store.latest_audit(limit.min(1_000))?)
    }

    /// Decides the pending rows of the console's figures (see
    /// `store::ConsoleStore`). Returns how many became counted.
    pub fn settle_counts(&self) -> Result<usize> {
        let mut counted = 0;
        // Bounded: each round settles or skips every row it read.
        for _ in 0..10_000 {
            let pending = self.store.pending_counts(SETTLE_BATCH)?;
            if pending.is_empty() {
                break;
            }
            let targets: Vec<String> = pending
                .iter()
                .flat_map(|p| p.refs.iter().cloned())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let copies = self.store.copies(&targets)?;
            let classes: HashMap<i64, Option<i64>> = self
                .store
                .row_classes(&copies.iter().map(|c| c.date_added).collect::<Vec<_>>())?
                .into_iter()
                .map(|(at, class, _)| (at.as_micros(), class))
                .collect();
            let depths = self.class_depths(classes.values().flatten().copied())?;
            let mut by_id: HashMap<&str, Vec<CopyFacts>> = HashMap::new();
            for c in &copies {
                let class = classes.get(&c.date_added.as_micros()).copied().flatten();
                by_id.entry(c.id.as_str()).or_default().push(CopyFacts {
                    origin_org: c.origin_org,
                    class: class.and_then(|id| depths.get(&id).map(|d| (id, *d))),
                });
            }
            let decisions: Vec<(Timestamp, i64, Option<CountClass>)> = pending
                .iter()
                .map(|p| {
                    let of_targets: Vec<Vec<CopyFacts>> = p
                        .refs
                        .iter()
                        .map(|r| by_id.get(r.as_str()).cloned().unwrap_or_default())
                        .collect();
                    (
                        p.date_added,
                        p.mark,
                        class_of(
                            p.collection,
                            p.audience_id,
                            p.tlp,
                            p.origin_org,
                            &of_targets,
                        ),
                    )
                })
                .collect();
            counted += self.store.settle_counts(&decisions)?;
            if pending.len() < SETTLE_BATCH {
                break;
            }
        }
        Ok(counted)
    }

    /// The depth of each of `ids` (count classes), from the cache.
    fn class_depths(&self, ids: impl Iterator<Item = i64>) -> Result<HashMap<i64, u8>> {
        let mut cache = self
            .console_classes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut out = HashMap::new();
        for id in ids {
            if !cache.classes.contains_key(&id) {
                self.refresh_classes(&mut cache)?;
            }
            if let Some(c) = cache.classes.get(&id) {
                out.insert(id, c.depth);
            }
        }
        Ok(out)
    }

    /// Reads the classes and audiences interned since the cache last looked.
    fn refresh_classes(&self, cache: &mut ClassCache) -> Result<()> {
        for (id, class) in self.store.count_classes(cache.last_class)? {
            cache.last_class = cache.last_class.max(id);
            cache.classes.insert(id, class);
        }
        for (id, keys) in self.store.audiences(cache.last_audience)? {
            cache.last_audience = cache.last_audience.max(id);
            cache.audiences.insert(id, keys);
        }
        Ok(())
    }

    /// The count classes of `readable`'s collections whose rows
    /// `principal` sees (`sharing::console::admitted_classes`, over every
    /// collection its targets may be in).
    fn admitted_classes(
        &self,
        principal: &Principal,
        readable: &[(Collection, CountScope, ReadKeys)],
    ) -> Result<HashSet<i64>> {
        let mut policies: HashMap<i64, sharing::CollectionPolicy> = HashMap::new();
        for c in self.store.all_collections()? {
            policies.insert(c.key, c.policy());
        }
        let mut cache = self
            .console_classes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.refresh_classes(&mut cache)?;
        let mut keys_of = |key: i64| policies.get(&key).and_then(|p| read_keys(principal, p));
        let mine: HashSet<i64> = readable.iter().map(|(c, _, _)| c.key).collect();
        let admitted = admitted_classes(principal, &cache.classes, &cache.audiences, &mut keys_of);
        Ok(admitted
            .into_iter()
            .filter(|id| {
                cache
                    .classes
                    .get(id)
                    .is_some_and(|c| mine.contains(&c.collection))
            })
            .collect())
    }

    /// Fills the console's indexes for objects stored before they existed,
    /// then settles the figures. Run once when the node opens.
    pub(crate) fn prepare_console(&self) -> Result<()> {
        self.store.backfill_console(&mut |raw: &str| {
            let refs: Vec<String> = match self.validator.validate_str(0, raw) {
                Ok(o) => sharing::audience::gating_refs(&o.references, o.created_by_ref.as_deref()),
                Err(_) => Vec::new(),
            };
            indexed_facts(raw, &refs)
        })?;
        self.settle_counts()?;
        Ok(())
    }
}

/// The assessment of one indicator (its stored JSON) with `sightings` of it.
fn assess_one<'a>(
    indicator: &'a StoredObject,
    sightings: impl Iterator<Item = &'a StoredObject>,
    now: Timestamp,
) -> Option<Assessment> {
    let mut objects: Vec<serde_json::Value> = Vec::new();
    for o in std::iter::once(indicator).chain(sightings) {
        // Stored objects were validated as JSON on the way in.
        if let Ok(v) = serde_json::from_str(&o.raw) {
            objects.push(v);
        }
    }
    freshness::assess(&objects, &freshness::Model::default(), now)
        .into_iter()
        .next()
}

/// The indicator (or other object) a sighting is of.
fn sighting_of(raw: &str) -> String {
    #[derive(Deserialize, Default)]
    struct Of {
        #[serde(default)]
        sighting_of_ref: String,
    }
    serde_json::from_str::<Of>(raw)
        .unwrap_or_default()
        .sighting_of_ref
}

fn listed(collection: &Collection, object: StoredObject) -> Listed {
    Listed {
        collection_id: collection.id.clone(),
        collection_title: collection.title.clone(),
        name: display_name(&object.raw, &object.id),
        object,
    }
}

/// A relationship's source, target and type.
fn relationship_ends(raw: &str) -> (String, String, String) {
    #[derive(Deserialize, Default)]
    struct Ends {
        #[serde(default)]
        source_ref: String,
        #[serde(default)]
        target_ref: String,
        #[serde(default)]
        relationship_type: String,
    }
    let e: Ends = serde_json::from_str(raw).unwrap_or_default();
    (e.source_ref, e.target_ref, e.relationship_type)
}

/// The MITRE ATT&CK id of an attack pattern, if it carries one.
pub fn attack_id(raw: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    v.get("external_references")?
        .as_array()?
        .iter()
        .find(|r| {
            r.get("source_name")
                .and_then(|s| s.as_str())
                .is_some_and(|s| s.starts_with("mitre-"))
        })
        .and_then(|r| r.get("external_id")?.as_str().map(str::to_owned))
}

fn sectors_of(raw: &str) -> Vec<String> {
    #[derive(Deserialize, Default)]
    struct Sectors {
        #[serde(default)]
        sectors: Vec<String>,
    }
    serde_json::from_str::<Sectors>(raw)
        .map(|s| s.sectors)
        .unwrap_or_default()
}

fn jiff_now(now: Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(now.as_micros()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_are_quoted_and_the_last_is_a_prefix() {
        assert_eq!(
            search_expression("nightowl c2"),
            Some("\"nightowl\" \"c2\"*".into())
        );
        assert_eq!(
            search_expression("a\"b OR NEAR("),
            Some("\"a\"\"b\" \"OR\" \"NEAR(\"*".into())
        );
        assert_eq!(search_expression("  ** ( ) "), None);
    }

    #[test]
    fn ranked_targets_are_threats_and_targeted_identities() {
        let refs = vec![
            "intrusion-set--1".to_string(),
            "identity--2".to_string(),
            "indicator--3".to_string(),
        ];
        let facts = indexed_facts(
            r#"{"type":"relationship","relationship_type":"targets","source_ref":"intrusion-set--1","target_ref":"identity--2"}"#,
            &refs,
        );
        assert_eq!(facts.ranked, ["intrusion-set--1", "identity--2"]);
        assert!(facts.listed);
        let facts = indexed_facts(
            r#"{"type":"indicator","name":"C2","pattern":"[domain-name:value = 'x']"}"#,
            &["identity--2".to_string()],
        );
        assert!(facts.ranked.is_empty());
    }

    #[test]
    fn signed_manifests_are_not_listed_nor_indexed() {
        let facts = indexed_facts(
            r#"{"type":"x-entente-manifest","name":"batch","id":"x-entente-manifest--1"}"#,
            &["malware--1".to_string()],
        );
        assert!(!facts.listed);
        assert!(facts.ranked.is_empty());
        // Other custom objects are analyst content like any other.
        let facts = indexed_facts(r#"{"type":"x-acme-note","name":"n"}"#, &[]);
        assert!(facts.listed);
    }
}

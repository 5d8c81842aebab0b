//! Ingest: validated objects enter a collection under the sharing policy.

use std::collections::{BTreeSet, HashMap, HashSet};

use sharing::audience::{Origin, Recipients, effective_tlp, gating_refs, object_keys};
use sharing::onward::{Copy, Target, check_onward};
use sharing::recipients::{NamedRecipients, named_recipients};
use sharing::{CollectionPolicy, OrgId, Owner, Principal, Tlp};
use stix::{ObjectKind, Rejection, StixObject, Timestamp};
use store::{AddOutcome, Collection, CopyRecord, Ingest};

use crate::{Node, NodeError, Result};

/// What happened to one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now, with this `date_added`.
    Stored(Timestamp),
    /// Already there; nothing changed.
    Duplicate,
    /// Not stored, and why.
    Refused(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Position in the input.
    pub index: usize,
    pub id: Option<String>,
    /// The object's version (`modified`, else `created`, else its `date_added`).
    pub version: Option<Timestamp>,
    pub outcome: Outcome,
}

/// Outcomes in input order.
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    pub outcomes: Vec<IngestOutcome>,
}

impl IngestReport {
    pub fn stored(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Stored(_)))
    }
    pub fn duplicates(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Duplicate))
    }
    pub fn refused(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Refused(_)))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.outcome)).count()
    }
}

fn refused(
    index: usize,
    id: Option<String>,
    version: Option<Timestamp>,
    why: String,
) -> IngestOutcome {
    IngestOutcome {
        index,
        id,
        version,
        outcome: Outcome::Refused(why),
    }
}

impl Node {
    /// Splits, validates and ingests one request body (envelope, bundle,
    /// array or JSON lines). An unreadable body stores nothing.
    pub fn ingest_envelope(
        &self,
        principal: &Principal,
        collection: &Collection,
        body: &[u8],
    ) -> Result<IngestReport> {
        let envelope = stix::split_envelope(body).map_err(|e| {
            NodeError::Unprocessable(format!("the request body is not a TAXII envelope: {e}"))
        })?;
        if envelope.objects.is_empty() {
            return Err(NodeError::Unprocessable(
                "the envelope holds no objects; send at least one STIX object in \"objects\""
                    .into(),
            ));
        }
        if envelope.objects.len() > MAX_ENVELOPE_OBJECTS {
            return Err(NodeError::Unprocessable(format!(
                "the envelope holds {} objects; this node takes at most {MAX_ENVELOPE_OBJECTS} per request: split them into several envelopes",
                envelope.objects.len()
            )));
        }
        let (valid, rejected) = self.validate_all(&envelope.objects);
        self.ingest(
            principal,
            collection,
            valid,
            rejected,
            &NamedRecipients::default(),
        )
    }

    /// Validates every object of an input, on two threads when there are
    /// many (validation and pattern parsing are a third of an add).
    pub fn validate_all(
        &self,
        objects: &[&serde_json::value::RawValue],
    ) -> (Vec<(usize, StixObject)>, Vec<Rejection>) {
        let validate_range = |start: usize, part: &[&serde_json::value::RawValue]| {
            let mut valid = Vec::with_capacity(part.len());
            let mut rejected = Vec::new();
            for (offset, raw) in part.iter().enumerate() {
                match self.validator.validate(start + offset, raw) {
                    Ok(o) => valid.push((start + offset, o)),
                    Err(r) => rejected.push(r),
                }
            }
            (valid, rejected)
        };
        if objects.len() < PARALLEL_VALIDATION_FROM {
            return validate_range(0, objects);
        }
        let half = objects.len() / 2;
        let (first, second) = objects.split_at(half);
        let (mut a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| validate_range(half, second));
            let mine = validate_range(0, first);
            (mine, other.join())
        });
        match b {
            Ok((valid, rejected)) => {
                a.0.extend(valid);
                a.1.extend(rejected);
                a
            }
            // A panic on the helper thread would be a validator bug; redo
            // that half here rather than lose objects.
            Err(_) => {
                let (valid, rejected) = validate_range(half, second);
                a.0.extend(valid);
                a.1.extend(rejected);
                a
            }
        }
    }

    /// Ingests validated objects (with the rejections of the same input, so
    /// that outcomes come back in input order). `extra` names recipients for
    /// every AMBER and RED object, as `entente import --recipient-*` does.
    pub fn ingest(
        &self,
        principal: &Principal,
        collection: &Collection,
        objects: Vec<(usize, StixObject)>,
        rejected: Vec<Rejection>,
        extra: &NamedRecipients,
    ) -> Result<IngestReport> {
        let policy = collection.policy();
        let origin = Origin {
            org: principal.org(),
            user: principal.user_id(),
        };
        let mut outcomes: Vec<IngestOutcome> = rejected
            .into_iter()
            .map(|r| {
                let message = format!("object {}: {}", r.index, r.message());
                refused(r.index, r.id.clone(), r.version, message)
            })
            .collect();

        // Marking definitions: those of this input, and stored ones referenced.
        let in_input: HashMap<String, String> = objects
            .iter()
            .filter(|(_, o)| o.kind == ObjectKind::MarkingDefinition)
            .map(|(_, o)| (o.id.clone(), o.raw.to_string()))
            .collect();
        let wanted: Vec<String> = objects
            .iter()
            .flat_map(|(_, o)| o.object_marking_refs.iter().chain(&o.granular_marking_refs))
            .filter(|m| Tlp::from_marking(m).is_none() && !in_input.contains_key(m.as_str()))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut stored_markings: HashMap<String, String> = self
            .store
            .marking_definitions(&wanted)?
            .into_iter()
            .collect();
        // One the poster may not see is unknown to it: accepting it would
        // tell that it exists (and apply recipients it was never shown).
        let unseen =
            self.markings_unseen_by(principal, stored_markings.keys().cloned().collect())?;
        stored_markings.retain(|id, _| !unseen.contains(id));
        let mut recipients_of: HashMap<String, Recipients> = HashMap::new();
        let mut bad_markings: HashMap<String, String> = HashMap::new();
        let raw_markings = in_input
            .iter()
            .chain(stored_markings.iter())
            .map(|(k, v)| (k.clone(), v.clone()));
        for (id, raw) in raw_markings {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&raw) else {
                continue;
            };
            match named_recipients(&value) {
                Ok(Some(named)) => {
                    recipients_of.insert(id, self.resolve(&named)?);
                }
                Ok(None) => {}
                Err(e) => {
                    bad_markings.insert(id, e.to_string());
                }
            }
        }
        let extra = self.resolve(extra)?;

        let mut ingests: Vec<(usize, Ingest)> = Vec::with_capacity(objects.len());
        'objects: for (index, object) in objects {
            let id = Some(object.id.clone());
            let version = object.version();
            if let Some(why) = bad_markings.get(&object.id) {
                outcomes.push(refused(
                    index,
                    id,
                    version,
                    format!("object {index}: {why}"),
                ));
                continue;
            }
            let markings: Vec<&str> = object
                .object_marking_refs
                .iter()
                .chain(&object.granular_marking_refs)
                .map(String::as_str)
                .collect();
            for (i, m) in object.object_marking_refs.iter().enumerate() {
                if !is_known(m, &in_input, &stored_markings) {
                    outcomes.push(refused(
                        index,
                        id,
                        version,
                        unknown_marking(index, &format!("$.object_marking_refs[{i}]"), m),
                    ));
                    continue 'objects;
                }
            }
            for m in &object.granular_marking_refs {
                if !is_known(m, &in_input, &stored_markings) {
                    outcomes.push(refused(
                        index,
                        id,
                        version,
                        unknown_marking(index, "$.granular_markings", m),
                    ));
                    continue 'objects;
                }
            }
            let is_recipients_marking =
                recipients_of.contains_key(&object.id) && in_input.contains_key(object.id.as_str());
            let tlp = effective_tlp(markings.iter().copied(), &policy);
            let keys = if is_recipients_marking {
                // Policy metadata: its source alone sees it.
                origin
                    .org
                    .map(|o| vec![format!("org:{o}")])
                    .unwrap_or_default()
            } else {
                let mut named = Recipients::default();
                for m in &markings {
                    if let Some(r) = recipients_of.get(*m) {
                        named.orgs.extend(&r.orgs);
                        named.users.extend(&r.users);
                    }
                }
                if tlp.is_some_and(|t| t >= Tlp::Amber) {
                    named.orgs.extend(&extra.orgs);
                    named.users.extend(&extra.users);
                }
                match object_keys(tlp, origin, &named) {
                    Ok(k) => k,
                    Err(refusal) => {
                        outcomes.push(refused(
                            index,
                            id,
                            version,
                            format!("object {index}: {refusal}"),
                        ));
                        continue;
                    }
                }
            };
            let refs = gating_refs(&object.references, object.created_by_ref.as_deref());
            ingests.push((
                index,
                Ingest {
                    object,
                    audience: keys,
                    origin_org: origin.org,
                    origin_user: origin.user,
                    tlp: if is_recipients_marking { None } else { tlp },
                    refs,
                },
            ));
        }

        // A pseudonymous source's pseudonym identity, so recipients can resolve it.
        let mut batch: Vec<Ingest> = Vec::with_capacity(ingests.len() + 1);
        if let (Owner::Community(community), Some(org)) = (policy.owner, origin.org)
            && !ingests.is_empty()
            && self
                .store
                .memberships(org)?
                .iter()
                .any(|m| m.community == community && m.pseudonymous)
        {
            let pid = sharing::pseudonym::pseudonym_id(&self.pseudonym_secret, org, community);
            let identity = sharing::pseudonym::pseudonym_identity(&pid, PSEUDONYM_IDENTITY_CREATED);
            if let Ok(object) = self.validator.validate_str(0, &identity) {
                batch.push(Ingest::open(object));
            }
        }
        let pseudonym_slots = batch.len();
        let indexes: Vec<usize> = ingests.iter().map(|(i, _)| *i).collect();
        batch.extend(ingests.into_iter().map(|(_, i)| i));
        // Objects the node already holds: onward-sharing rules, decided
        // while the store probes each id (no second lookup).
        // Stored rows of those objects, by `date_added`: whether the poster
        // sees them (by audience, anywhere), and who posted them.
        let mut rows_seen: HashMap<i64, (bool, Option<OrgId>)> = HashMap::new();
        let masks = self.pseudonym_masks(principal, &policy)?;
        let mut collections: HashMap<i64, Option<CollectionPolicy>> = HashMap::new();
        let mut members_cache: HashMap<i64, Vec<OrgId>> = HashMap::new();
        let target_members = self.member_orgs(&policy, &mut members_cache)?;
        // A poster that is a pseudonymous member somewhere: its real identity
        // and the communities where it posts under a pseudonym.
        let faces: Option<(String, Vec<i64>)> = match origin.org {
            Some(org) => {
                let pseudonymous: Vec<i64> = self
                    .store
                    .memberships(org)?
                    .into_iter()
                    .filter(|m| m.pseudonymous)
                    .map(|m| m.community)
                    .collect();
                match self.store.org_by_id(org)? {
                    Some(o) if !pseudonymous.is_empty() => Some((o.identity_id, pseudonymous)),
                    _ => None,
                }
            }
            None => None,
        };
        let results = if batch.is_empty() {
            Vec::new()
        } else {
            let mut guard = |position: usize, copies: &[CopyRecord]| -> Option<String> {
                let index = position
                    .checked_sub(pseudonym_slots)
                    .and_then(|p| indexes.get(p).copied())
                    .unwrap_or(position);
                let decision = self.onward_decision(
                    principal,
                    &policy,
                    &target_members,
                    copies,
                    &mut collections,
                    &mut members_cache,
                );
                match decision {
                    Ok((seen, verdict)) => {
                        let seen_anywhere = seen.iter().any(|v| *v);
                        for (c, v) in copies.iter().zip(seen) {
                            rows_seen.insert(c.date_added.as_micros(), (v, c.origin_org));
                        }
                        let source = copies.first().and_then(|c| c.origin_org);
                        let here = copies.iter().any(|c| c.collection == collection.key);
                        if !seen_anywhere && principal.org() != source {
                            if here {
                                // A version of an object the poster may not
                                // see would stand in for the source's as the
                                // latest one its recipients read.
                                return Some(cannot_store(index));
                            }
                            // Not onward sharing: the poster cannot have it
                            // from this node (observables' ids follow from
                            // their values). Refusing would tell it what
                            // others hold, and at which TLP.
                            return None;
                        }
                        if let Some((real, pseudonymous)) = &faces
                            && let Some(ingest) = batch.get(position)
                            && mentions(&ingest.object.raw, real)
                        {
                            let here = face(&policy, pseudonymous);
                            let elsewhere = copies
                                .iter()
                                .filter(|c| c.origin_org == origin.org)
                                .filter_map(|c| collections.get(&c.collection).cloned().flatten());
                            for p in elsewhere {
                                if face(&p, pseudonymous) != here {
                                    return Some(format!(
                                        "object {index}: your organisation shared this object in another collection under {}; sharing it here under {} would show readers of both that the pseudonym and your organisation are one source (or two pseudonyms are): post it under a new id instead",
                                        face_name(face(&p, pseudonymous)),
                                        face_name(here)
                                    ));
                                }
                            }
                        }
                        verdict.err().map(|refusal| {
                            if seen_anywhere {
                                format!("object {index}: {refusal}")
                            } else {
                                // Neither that it exists nor its TLP is told
                                // to someone who may not see any copy of it.
                                cannot_store(index)
                            }
                        })
                    }
                    Err(e) => Some(format!(
                        "object {index}: could not check onward sharing: {e}"
                    )),
                }
            };
            self.store.add_objects(collection.key, &batch, &mut guard)?
        };
        let mut written = Vec::new();
        for ((index, ingest), result) in indexes
            .into_iter()
            .zip(batch.iter().skip(pseudonym_slots))
            .zip(results.iter().skip(pseudonym_slots))
        {
            let id = ingest.object.id.clone();
            let row_seen = |at: &Timestamp| {
                rows_seen
                    .get(&at.as_micros())
                    .copied()
                    .unwrap_or((true, None))
            };
            // What the poster sees of a stored version: nothing, or a copy
            // that may differ from the stored bytes by a pseudonym.
            let result = match result {
                AddOutcome::Duplicate(at) => {
                    let (seen, origin) = row_seen(at);
                    let masked = masks
                        .iter()
                        .any(|m| m.covers(origin) && mentions(&ingest.object.raw, &m.real));
                    if !seen {
                        &AddOutcome::Refused(cannot_store(index))
                    } else if masked {
                        // The poster sees this version under a pseudonym: bytes
                        // naming the real identity are not what it sees, and
                        // calling them a duplicate would confirm a guess.
                        &AddOutcome::Conflict(*at)
                    } else {
                        result
                    }
                }
                other => other,
            };
            let outcome = match result {
                AddOutcome::Added(at) => {
                    written.push(id.clone());
                    IngestOutcome {
                        index,
                        id: Some(id),
                        version: Some(ingest.object.version().unwrap_or(*at)),
                        outcome: Outcome::Stored(*at),
                    }
                }
                AddOutcome::Duplicate(at) => IngestOutcome {
                    index,
                    id: Some(id),
                    version: Some(ingest.object.version().unwrap_or(*at)),
                    outcome: Outcome::Duplicate,
                },
                AddOutcome::Refused(why) => {
                    refused(index, Some(id), ingest.object.version(), why.clone())
                }
                AddOutcome::Conflict(at) => refused(
                    index,
                    Some(id),
                    // An observable's version is when it was added: not told
                    // of a row the poster may not see.
                    if row_seen(at).0 {
                        Some(ingest.object.version().unwrap_or(*at))
                    } else {
                        ingest.object.version()
                    },
                    if row_seen(at).0 {
                        format!(
                            "object {index}: a different object with this id and version is already stored; a changed object needs a new modified timestamp"
                        )
                    } else {
                        // Do not tell what is stored to someone who may not see it.
                        cannot_store(index)
                    },
                ),
            };
            outcomes.push(outcome);
        }
        outcomes.sort_by_key(|o| o.index);
        if !written.is_empty() {
            self.audit(
                principal,
                "write",
                Some(&collection.id),
                written,
                String::new(),
            )?;
        }
        Ok(IngestReport { outcomes })
    }

    /// Those of `ids` (stored marking definitions) of which `principal` may
    /// see no copy: not its own organisation's, not admitted by audience.
    fn markings_unseen_by(
        &self,
        principal: &Principal,
        ids: Vec<String>,
    ) -> Result<HashSet<String>> {
        if ids.is_empty() || principal.node_admin {
            return Ok(HashSet::new());
        }
        let copies = self.store.copies(&ids)?;
        let mut policies: HashMap<i64, Option<CollectionPolicy>> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        for c in &copies {
            if seen.contains(&c.id) {
                continue;
            }
            let own = c.origin_org.is_some() && c.origin_org == principal.org();
            let policy = self.policy_of(c.collection, &mut policies)?;
            let admitted = policy
                .as_ref()
                .and_then(|p| sharing::read_keys(principal, p))
                .is_some_and(|k| k.admits(&c.audience));
            if own || admitted {
                seen.insert(c.id.clone());
            }
        }
        Ok(ids.into_iter().filter(|id| !seen.contains(id)).collect())
    }

    /// The policy of the collection stored under `key`, through `cache`.
    fn policy_of(
        &self,
        key: i64,
        cache: &mut HashMap<i64, Option<CollectionPolicy>>,
    ) -> Result<Option<CollectionPolicy>> {
        if let Some(p) = cache.get(&key) {
            return Ok(p.clone());
        }
        let p = self.store.collection_by_key(key)?.map(|c| c.policy());
        cache.insert(key, p.clone());
        Ok(p)
    }

    /// The onward-sharing verdict for an object with stored `copies`, and
    /// whether the poster may see each copy (by its audience).
    fn onward_decision(
        &self,
        principal: &Principal,
        target: &CollectionPolicy,
        target_members: &[OrgId],
        copies: &[CopyRecord],
        collections: &mut HashMap<i64, Option<CollectionPolicy>>,
        members_cache: &mut HashMap<i64, Vec<OrgId>>,
    ) -> Result<(Vec<bool>, std::result::Result<(), sharing::Refusal>)> {
        let mut policies: Vec<(CollectionPolicy, Vec<OrgId>)> = Vec::with_capacity(copies.len());
        for c in copies {
            let p = self.policy_of(c.collection, collections)?;
            let p = p.unwrap_or(CollectionPolicy {
                id: String::new(),
                owner: Owner::Node,
                default_tlp: None,
                public: false,
            });
            let m = self.member_orgs(&p, members_cache)?;
            policies.push((p, m));
        }
        let seen: Vec<bool> = copies
            .iter()
            .zip(&policies)
            .map(|(c, (p, _))| {
                sharing::read_keys(principal, p).is_some_and(|k| k.admits(&c.audience))
            })
            .collect();
        let view: Vec<Copy<'_>> = copies
            .iter()
            .zip(&policies)
            .map(|(c, (p, m))| Copy {
                collection: p,
                origin_org: c.origin_org,
                tlp: c.tlp,
                keys: &c.audience,
                member_orgs: m,
            })
            .collect();
        let verdict = check_onward(
            principal.org(),
            &view,
            &Target {
                collection: target,
                member_orgs: target_members,
            },
        );
        Ok((seen, verdict))
    }

    /// Organisations that read `policy`'s collection as members.
    pub(crate) fn member_orgs(
        &self,
        policy: &CollectionPolicy,
        cache: &mut HashMap<i64, Vec<OrgId>>,
    ) -> Result<Vec<OrgId>> {
        Ok(match policy.owner {
            Owner::Node => Vec::new(),
            Owner::Org(o) => vec![o],
            Owner::Community(k) => {
                if let Some(m) = cache.get(&k) {
                    return Ok(m.clone());
                }
                let m: Vec<OrgId> = self.store.members(k)?.into_iter().map(|m| m.org).collect();
                cache.insert(k, m.clone());
                m
            }
        })
    }

    /// Turns recipient names into ids. Names that match nothing are dropped
    /// silently: refusing them would let a member probe which organisations
    /// and users exist on the node.
    fn resolve(&self, named: &NamedRecipients) -> Result<Recipients> {
        let mut r = Recipients::default();
        for o in &named.organizations {
            if let Some(org) = self.store.org(o)? {
                r.orgs.push(org.id);
            }
        }
        for u in &named.users {
            if let Ok(Some(user)) = self.store.user(u) {
                r.users.push(user.id);
            }
        }
        Ok(r)
    }
}

/// The one version of every pseudonym identity. Re-posting it is a
/// duplicate; a version per post would tell every reader of the collection
/// when the pseudonymous source posted, hidden objects included.
const PSEUDONYM_IDENTITY_CREATED: &str = "2020-01-01T00:00:00.000Z";

/// Inputs this large are validated on two threads.
const PARALLEL_VALIDATION_FROM: usize = 256;

/// Most objects one request may carry. Each object, however small its
/// text (`0,` is two bytes), costs an outcome, a status detail and about a
/// kilobyte of memory while it is processed, so the count is bounded as
/// well as the bytes.
pub const MAX_ENVELOPE_OBJECTS: usize = 100_000;

fn is_known(
    marking: &str,
    in_input: &HashMap<String, String>,
    stored: &HashMap<String, String>,
) -> bool {
    Tlp::from_marking(marking).is_some()
        || in_input.contains_key(marking)
        || stored.contains_key(marking)
}

/// The community in which a poster with pseudonymous memberships
/// `pseudonymous` appears under a pseudonym in `collection`; `None`: under
/// its own name.
fn face(collection: &CollectionPolicy, pseudonymous: &[i64]) -> Option<i64> {
    match collection.owner {
        Owner::Community(k) if pseudonymous.contains(&k) => Some(k),
        _ => None,
    }
}

fn face_name(face: Option<i64>) -> &'static str {
    match face {
        Some(_) => "a pseudonym",
        None => "your organisation's name",
    }
}

/// The refusal of an object whose id the node holds in a version the poster
/// may not see: the same words whatever is stored, so that a re-post tells
/// nothing about it.
fn cannot_store(index: usize) -> String {
    format!("object {index}: this id and version cannot be stored in this collection")
}

/// Whether an object's JSON names `id` anywhere (escaped or not).
fn mentions(raw: &str, id: &str) -> bool {
    raw.contains(id)
        || serde_json::from_str::<serde_json::Value>(raw).is_ok_and(|v| v.to_string().contains(id))
}

fn unknown_marking(index: usize, path: &str, marking: &str) -> String {
    format!(
        "object {index}: {path}: marking definition {marking} is not known on this node; send its marking-definition object first or in the same envelope (unknown markings are refused so that no restriction is silently dropped)"
    )
}

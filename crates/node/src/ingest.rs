//! Ingest: validated objects enter a collection under the sharing policy.

use std::collections::{BTreeSet, HashMap, HashSet};

use sharing::audience::{
    AudienceKey, Origin, Recipients, Refusal, effective_tlp, gating_refs, object_keys,
    object_keys_from_node,
};
use sharing::authorship::{may_claim_creator, may_version};
use sharing::onward::{StoredCopy, Target, check_onward};
use sharing::recipients::{
    Addressable, MemberOrg, NamedRecipients, addressable, named_recipients, not_addressable,
    recipients_fit,
};
use sharing::{CollectionPolicy, OrgId, Owner, Principal, Tlp};
use stix::{InputShape, ObjectKind, Rejection, StixObject, Timestamp};
use store::{AddOutcome, Collection, CopyRecord, Ingest, Provenance, SyncStats};

use crate::read::Mask;
use crate::{Node, NodeError, Result};

/// What happened to one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now, with this `date_added`.
    Stored(Timestamp),
    /// Already there; nothing changed.
    Duplicate,
    /// Not stored: why, for the poster (`message`), and which of a few
    /// kinds of refusal it is (`reason`, what the node's metrics count).
    Refused {
        reason: RefusalReason,
        message: String,
    },
}

/// The kinds of refusal of an object: a small fixed set, so that refusals
/// can be counted without their messages (which name ids and recipients).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// Not valid STIX 2.1 (a pattern that does not parse included).
    Invalid,
    /// It references a marking definition the node does not know (or the
    /// poster may not see).
    UnknownMarking,
    /// It names recipients its poster may not address, or relies on a
    /// recipients marking that is malformed or refused.
    Recipients,
    /// TLP:RED without named recipients.
    RedWithoutRecipients,
    /// Authorship: a new version of another organisation's object, or
    /// another organisation named as its creator.
    Authorship,
    /// Onward sharing: the object may not be shared into this collection.
    Onward,
    /// Posting it here would tie a pseudonym to its organisation.
    Pseudonym,
    /// Different content under a version already stored.
    Conflict,
    /// A copy the poster may not see holds this id and version.
    Hidden,
    /// The node could not decide (an error while checking).
    Error,
}

impl RefusalReason {
    /// Every reason, in a fixed order.
    pub const ALL: [RefusalReason; 10] = [
        RefusalReason::Invalid,
        RefusalReason::UnknownMarking,
        RefusalReason::Recipients,
        RefusalReason::RedWithoutRecipients,
        RefusalReason::Authorship,
        RefusalReason::Onward,
        RefusalReason::Pseudonym,
        RefusalReason::Conflict,
        RefusalReason::Hidden,
        RefusalReason::Error,
    ];

    /// Its name as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Invalid => "invalid",
            RefusalReason::UnknownMarking => "unknown_marking",
            RefusalReason::Recipients => "recipients",
            RefusalReason::RedWithoutRecipients => "red_without_recipients",
            RefusalReason::Authorship => "authorship",
            RefusalReason::Onward => "onward",
            RefusalReason::Pseudonym => "pseudonym",
            RefusalReason::Conflict => "conflict",
            RefusalReason::Hidden => "hidden",
            RefusalReason::Error => "error",
        }
    }

    /// The kind of a refusal by the sharing rules.
    fn of(refusal: &Refusal) -> RefusalReason {
        match refusal {
            Refusal::RedWithoutRecipients => RefusalReason::RedWithoutRecipients,
            Refusal::Onward(_) => RefusalReason::Onward,
            Refusal::NotTheCreator | Refusal::ForeignCreator => RefusalReason::Authorship,
            Refusal::NotAddressable(_) => RefusalReason::Recipients,
        }
    }
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
        self.count(|o| matches!(o, Outcome::Refused { .. }))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.outcome)).count()
    }
}

fn refused(
    index: usize,
    id: Option<String>,
    version: Option<Timestamp>,
    reason: RefusalReason,
    message: String,
) -> IngestOutcome {
    IngestOutcome {
        index,
        id,
        version,
        outcome: Outcome::Refused { reason, message },
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
        let envelope = stix::split_envelope(body).map_err(|e| match e {
            stix::EnvelopeError::NotUtf8(_)
            | stix::EnvelopeError::Empty
            | stix::EnvelopeError::Json(_) => {
                NodeError::Malformed(format!("the request body is not JSON: {e}"))
            }
            other => NodeError::Unprocessable(format!(
                "the request body is not a TAXII envelope: {other}"
            )),
        })?;
        // A STIX bundle carries its objects the same way (`{"objects": [...]}`
        // with a `type`), and real clients send one: the stix2 library's
        // TAXII sink posts bundles as they are.
        if !matches!(
            envelope.shape,
            InputShape::TaxiiEnvelope | InputShape::Bundle
        ) {
            let what = match envelope.shape {
                InputShape::Array => "a bare JSON array",
                InputShape::JsonLines => "JSON lines",
                _ => "a single object",
            };
            return Err(NodeError::Unprocessable(format!(
                "the request body is {what}; this endpoint takes a TAXII 2.1 envelope: {{\"objects\": [ ... ]}}"
            )));
        }
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
    /// every AMBER and RED object, as `entente import --recipient-*` does; a
    /// name there that the principal may not address fails the whole call.
    pub fn ingest(
        &self,
        principal: &Principal,
        collection: &Collection,
        objects: Vec<(usize, StixObject)>,
        rejected: Vec<Rejection>,
        extra: &NamedRecipients,
    ) -> Result<IngestReport> {
        // An organisation that stands for a peer posts what that node sent
        // (a push): its objects keep the provenance their origin's
        // manifests prove, as pulled ones do, and this node never signs
        // them as its own.
        let mut pushed = self.pushed_provenance(principal, &objects)?;
        let objects = match &pushed {
            Some(p) => objects
                .into_iter()
                .map(|(i, o)| {
                    let state = p.found.get(&i).map_or(Provenance::Unsigned, |f| f.0);
                    (i, self.with_handled_tlp(o, state, &p.index))
                })
                .collect(),
            None => objects,
        };
        let report = self.ingest_with(
            principal,
            collection,
            objects,
            rejected,
            extra,
            match &pushed {
                Some(p) => Arrival::Pushed(&p.found),
                None => Arrival::Local,
            },
        )?;
        if let Some(p) = &mut pushed {
            self.upgrade_provenance(collection, p.org, &mut p.index, &p.manifests, &p.settled)?;
        }
        Ok(report)
    }

    /// [`Node::ingest`], the objects arriving as `arrival` says. Pulled
    /// from a federation peer: the origin node's recipients markings are
    /// not resolved here (they name its organisations; it does not serve
    /// them to peers, so they read as unknown); each object gets the
    /// provenance the pull found, and the pull's cursor moves in the same
    /// transaction. Pushed (posted by an organisation standing for a peer):
    /// each object gets the provenance found for it instead of being this
    /// node's to sign.
    pub(crate) fn ingest_with(
        &self,
        principal: &Principal,
        collection: &Collection,
        objects: Vec<(usize, StixObject)>,
        rejected: Vec<Rejection>,
        extra: &NamedRecipients,
        arrival: Arrival<'_>,
    ) -> Result<IngestReport> {
        let (peer, pushed) = match arrival {
            Arrival::Local => (None, None),
            Arrival::Pushed(found) => (None, Some(found)),
            Arrival::Pulled(p) => (Some(p), None),
        };
        let policy = collection.policy();
        let origin = Origin {
            org: principal.org(),
            user: principal.user_id(),
        };
        let mut outcomes: Vec<IngestOutcome> = rejected
            .into_iter()
            .map(|r| {
                let message = format!("object {}: {}", r.index, r.message());
                refused(
                    r.index,
                    r.id.clone(),
                    r.version,
                    RefusalReason::Invalid,
                    message,
                )
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
        let mut lookups = Lookups::default();
        let addressable_here = self.addressable_in(principal, &policy)?;
        let mut recipients_of: HashMap<String, Recipients> = HashMap::new();
        let mut bad_markings: HashMap<String, String> = HashMap::new();
        let raw_markings = in_input
            .iter()
            .chain(stored_markings.iter())
            .map(|(k, v)| (k.clone(), v.clone()));
        for (id, raw) in raw_markings {
            if peer.is_some() {
                break;
            }
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&raw) else {
                continue;
            };
            match named_recipients(&value) {
                Ok(Some(named)) => match self.resolve(&named, &addressable_here, &policy)? {
                    Ok(r) => {
                        recipients_of.insert(id, r);
                    }
                    Err(refusal) => {
                        bad_markings.insert(id, refusal.to_string());
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    bad_markings.insert(id, e.to_string());
                }
            }
        }
        let extra = self
            .resolve(extra, &addressable_here, &policy)?
            .map_err(|refusal| NodeError::Unprocessable(refusal.to_string()))?;
        // Peers too: a pulled object may not name one of this node's
        // organisations (by its identity or a pseudonym) as its creator,
        // unless it is an unchanged copy of that organisation's own version.
        let creators = CreatorIndex::new(self, &objects, origin.org)?;
        // Content another node sent (pulled from a peer, or posted as an
        // organisation that stands for one): its TLP:AMBER+STRICT reaches
        // the organisations designated for that peer (`peer add
        // --strict-recipient`), not every member organisation.
        let node_recipients: Option<Vec<OrgId>> = match origin.org {
            Some(org) => {
                let peers: Vec<store::Peer> = self
                    .store
                    .peers()?
                    .into_iter()
                    .filter(|p| p.org == org)
                    .collect();
                (!peers.is_empty())
                    .then(|| peers.iter().filter_map(|p| p.strict_recipient).collect())
            }
            None => None,
        };

        let mut ingests: Vec<(usize, Ingest)> = Vec::with_capacity(objects.len());
        'objects: for (index, object) in objects {
            let id = Some(object.id.clone());
            let version = object.version();
            if let Some(why) = bad_markings.get(&object.id) {
                outcomes.push(refused(
                    index,
                    id,
                    version,
                    RefusalReason::Recipients,
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
                if peer.is_none() && !is_known(m, &in_input, &stored_markings) {
                    outcomes.push(refused(
                        index,
                        id,
                        version,
                        RefusalReason::UnknownMarking,
                        unknown_marking(index, &format!("$.object_marking_refs[{i}]"), m),
                    ));
                    continue 'objects;
                }
            }
            for m in &object.granular_marking_refs {
                if peer.is_none() && !is_known(m, &in_input, &stored_markings) {
                    outcomes.push(refused(
                        index,
                        id,
                        version,
                        RefusalReason::UnknownMarking,
                        unknown_marking(index, "$.granular_markings", m),
                    ));
                    continue 'objects;
                }
            }
            // An object that relies on recipients its poster may not name
            // is refused, never widened to the default recipients.
            if let Some(why) = markings.iter().find_map(|m| bad_markings.get(*m)) {
                outcomes.push(refused(
                    index,
                    id,
                    version,
                    RefusalReason::Recipients,
                    format!("object {index}: {why}"),
                ));
                continue;
            }
            let is_recipients_marking =
                recipients_of.contains_key(&object.id) && in_input.contains_key(object.id.as_str());
            let tlp = effective_tlp(markings.iter().copied(), &policy);
            let keys = if is_recipients_marking {
                // Policy metadata: its source alone sees it.
                origin.org.map(AudienceKey::Org).into_iter().collect()
            } else {
                let mut named = Recipients::default();
                let mut names_recipients = false;
                for m in &markings {
                    if let Some(r) = recipients_of.get(*m) {
                        names_recipients = true;
                        named.orgs.extend(&r.orgs);
                        named.users.extend(&r.users);
                    }
                }
                // Recipients named with the input (`import --recipient-org`)
                // are for its AMBER and RED objects; an object without a TLP
                // marking of its own takes them too, whatever the
                // collection's default, so that they are never dropped in
                // silence.
                let extra_named = !extra.orgs.is_empty() || !extra.users.is_empty();
                let own_tlp = markings.iter().any(|m| Tlp::from_marking(m).is_some());
                if extra_named && !own_tlp && object.kind != ObjectKind::MarkingDefinition {
                    names_recipients = true;
                }
                if names_recipients && object.kind != ObjectKind::MarkingDefinition {
                    // Named recipients narrow AMBER and RED only: below
                    // AMBER the object would reach everyone they leave out.
                    let refusal = match tlp {
                        None => Some(format!(
                            "object {index}: recipients are named for TLP:AMBER, TLP:AMBER+STRICT or TLP:RED; this object has no TLP marking and the collection no default TLP: mark it TLP:AMBER, AMBER+STRICT or RED"
                        )),
                        Some(t) => recipients_fit(t, true, true).err().map(|why| {
                            let fallback = if own_tlp {
                                String::new()
                            } else {
                                format!(
                                    " (it has no TLP marking and takes the collection's default {t}: mark it TLP:AMBER, AMBER+STRICT or RED)"
                                )
                            };
                            format!("object {index}: {why}{fallback}")
                        }),
                    };
                    if let Some(why) = refusal {
                        outcomes.push(refused(index, id, version, RefusalReason::Recipients, why));
                        continue;
                    }
                }
                if tlp.is_some_and(|t| t >= Tlp::Amber) {
                    named.orgs.extend(&extra.orgs);
                    named.users.extend(&extra.users);
                }
                let keys = match &node_recipients {
                    Some(designated) => object_keys_from_node(tlp, origin, &named, designated),
                    None => object_keys(tlp, origin, &named),
                };
                match keys {
                    Ok(k) => k,
                    Err(refusal) => {
                        outcomes.push(refused(
                            index,
                            id,
                            version,
                            RefusalReason::of(&refusal),
                            format!("object {index}: {refusal}"),
                        ));
                        continue;
                    }
                }
            };
            let refs = gating_refs(&object.references, object.created_by_ref.as_deref());
            let vouched = peer.map(|p| &p.provenance).or(pushed);
            let (provenance, origin_node) = match vouched {
                Some(found) => found
                    .get(&index)
                    .cloned()
                    .unwrap_or((Provenance::Unsigned, None)),
                None if collection.signed => (Provenance::LocalPending, None),
                // No manifest will list it.
                None => (Provenance::Unsigned, None),
            };
            let console = crate::console::indexed_facts(&object.raw, &refs);
            ingests.push((
                index,
                Ingest {
                    object,
                    audience: keys,
                    origin_org: origin.org,
                    origin_user: origin.user,
                    tlp: if is_recipients_marking { None } else { tlp },
                    refs,
                    provenance,
                    origin_node,
                    console,
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
        // Stored rows of those objects, by `date_added`: whether the poster
        // sees them (by audience, anywhere), and who posted them.
        let mut rows_seen: HashMap<i64, (bool, Option<OrgId>)> = HashMap::new();
        let masks = self.pseudonym_masks(principal, &policy)?;
        let target_members = self.member_orgs(&policy, &mut lookups.members)?;
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
        let entry = Node::entry(
            principal,
            "write",
            Some(&collection.id),
            Vec::new(),
            String::new(),
        );
        // The kind of each refusal the guard makes, by position in `batch`
        // (the store hands back its message only).
        let mut guard_reasons: HashMap<usize, RefusalReason> = HashMap::new();
        let results = if batch.is_empty() {
            Vec::new()
        } else {
            let mut decide = |position: usize,
                              copies: &[CopyRecord]|
             -> Option<(RefusalReason, String)> {
                if position < pseudonym_slots {
                    // The node's own pseudonym identity: identical in every version.
                    return None;
                }
                let index = indexes
                    .get(position - pseudonym_slots)
                    .copied()
                    .unwrap_or(position);
                let ingest = batch.get(position)?;
                let claimed = creators.claimed(&ingest.object);
                if copies.is_empty() {
                    // A new object: its poster is its creator.
                    return claimed
                        .and_then(|c| may_claim_creator(origin.org, c, false).err())
                        .map(|refusal| policy_refusal(index, &refusal));
                }
                let decision =
                    self.onward_decision(principal, &policy, &target_members, copies, &mut lookups);
                let (seen, verdict) = match decision {
                    Ok(d) => d,
                    Err(e) => {
                        return Some((
                            RefusalReason::Error,
                            format!("object {index}: could not check onward sharing: {e}"),
                        ));
                    }
                };
                for (c, v) in copies.iter().zip(&seen) {
                    rows_seen.insert(c.date_added.as_micros(), (*v, c.origin_org));
                }
                // What the poster may know of: copies it sees, and its
                // organisation's own. Hidden copies decide nothing, so that
                // a post never tells what others hold.
                let own = |c: &CopyRecord| origin.org.is_some() && c.origin_org == origin.org;
                let known: Vec<&CopyRecord> = copies
                    .iter()
                    .zip(&seen)
                    .filter(|(c, v)| **v || own(c))
                    .map(|(c, _)| c)
                    .collect();
                let versioned = ingest.object.kind != ObjectKind::Observable;
                let Some(first) = known.first() else {
                    let here = copies.iter().any(|c| c.collection == collection.key);
                    if versioned && here {
                        // A version of an object the poster may not see
                        // would stand in for the source's as the latest one
                        // its recipients read.
                        return Some((RefusalReason::Hidden, cannot_store(index)));
                    }
                    // The poster's own object: it cannot have it from this
                    // node (observables' ids follow from their values, and
                    // each source keeps its own copy).
                    return claimed
                        .and_then(|c| may_claim_creator(origin.org, c, false).err())
                        .map(|refusal| policy_refusal(index, &refusal));
                };
                // An organisation's own identity object is its to version,
                // whoever planted a copy of the id first.
                let own_identity =
                    origin.org.is_some() && creators.identity_of(&ingest.object) == origin.org;
                if versioned && !own_identity {
                    let unchanged_from =
                        |by: Option<Option<OrgId>>, lookups: &mut Lookups| -> bool {
                            known
                                .iter()
                                .filter(|c| c.version == ingest.object.version())
                                .filter(|c| by.is_none_or(|o| c.origin_org == o))
                                .any(|c| self.unchanged(principal, c, &ingest.object.raw, lookups))
                        };
                    // A manifest is signed once: no one, its objects'
                    // source included, makes another version of it.
                    let allowed =
                        if ingest.object.object_type == provenance::extension::MANIFEST_TYPE {
                            Err(Refusal::NotTheCreator)
                        } else {
                            may_version(origin.org, first.origin_org)
                        };
                    if let Err(refusal) = allowed
                        && !unchanged_from(None, &mut lookups)
                    {
                        return Some(policy_refusal(index, &refusal));
                    }
                    if let Some(c) = claimed {
                        let copy =
                            origin.org != Some(c) && unchanged_from(Some(Some(c)), &mut lookups);
                        if let Err(refusal) = may_claim_creator(origin.org, c, copy) {
                            return Some(policy_refusal(index, &refusal));
                        }
                    }
                } else if !versioned
                    && let Some(c) = claimed
                    && let Err(refusal) = may_claim_creator(origin.org, c, false)
                {
                    return Some(policy_refusal(index, &refusal));
                }
                if let Some((real, pseudonymous)) = &faces
                    && mentions(&ingest.object.raw, real)
                {
                    let here = face(&policy, pseudonymous);
                    let elsewhere = copies
                        .iter()
                        .filter(|c| c.origin_org == origin.org)
                        .filter_map(|c| lookups.policies.get(&c.collection).cloned().flatten());
                    for p in elsewhere {
                        if face(&p, pseudonymous) != here {
                            return Some((
                                RefusalReason::Pseudonym,
                                format!(
                                    "object {index}: your organisation shared this object in another collection under {}; sharing it here under {} would show readers of both that the pseudonym and your organisation are one source (or two pseudonyms are): post it under a new id instead",
                                    face_name(face(&p, pseudonymous)),
                                    face_name(here)
                                ),
                            ));
                        }
                    }
                }
                verdict.err().map(|refusal| policy_refusal(index, &refusal))
            };
            let mut guard = |position: usize, copies: &[CopyRecord]| -> Option<String> {
                let (reason, message) = decide(position, copies)?;
                guard_reasons.insert(position, reason);
                Some(message)
            };
            let results = match peer {
                None => self
                    .store
                    .add_objects(collection.key, &batch, &mut guard, &entry)?,
                Some(p) => {
                    let provenance: Vec<Provenance> = batch.iter().map(|i| i.provenance).collect();
                    let stats = |outcomes: &[AddOutcome]| peer_stats(&provenance, outcomes);
                    self.store.add_pulled(
                        collection.key,
                        &batch,
                        &mut guard,
                        &entry,
                        &store::PullProgress {
                            job: p.job,
                            cursor: p.cursor,
                            stats: &stats,
                        },
                    )?
                }
            };
            // The write is committed (a post or a pull alike); the console's
            // figures for its pointer objects are decided now. Should that
            // fail, they stay pending, and pending rows are decided by the
            // read gate one by one: the figures stay right, only slower to
            // compute.
            let _ = self.settle_counts();
            results
        };
        for (position, ((index, ingest), result)) in indexes
            .into_iter()
            .zip(batch.iter().skip(pseudonym_slots))
            .zip(results.iter().skip(pseudonym_slots))
            .enumerate()
        {
            let position = position + pseudonym_slots;
            let id = ingest.object.id.clone();
            let row_seen = |at: &Timestamp| {
                rows_seen
                    .get(&at.as_micros())
                    .copied()
                    .unwrap_or((true, None))
            };
            let own_row =
                |row_origin: Option<OrgId>| origin.org.is_some() && row_origin == origin.org;
            let known_row = |at: &Timestamp| {
                let (seen, row_origin) = row_seen(at);
                seen || own_row(row_origin)
            };
            // What the poster sees of a stored version: nothing, or a copy
            // that may differ from the stored bytes by a pseudonym.
            let hidden_duplicate;
            let result = match result {
                AddOutcome::Duplicate(at) => {
                    let (seen, row_origin) = row_seen(at);
                    // Its organisation's own copies are always known to
                    // the poster, even with a token that cannot read.
                    let seen = seen || own_row(row_origin);
                    let origin = row_origin;
                    let masked = masks
                        .iter()
                        .any(|m| m.covers(origin) && mentions(&ingest.object.raw, &m.real));
                    if !seen {
                        guard_reasons.insert(position, RefusalReason::Hidden);
                        hidden_duplicate = AddOutcome::Refused(cannot_store(index));
                        &hidden_duplicate
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
                AddOutcome::Added(at) => IngestOutcome {
                    index,
                    id: Some(id),
                    version: Some(ingest.object.version().unwrap_or(*at)),
                    outcome: Outcome::Stored(*at),
                },
                AddOutcome::Duplicate(at) => IngestOutcome {
                    index,
                    id: Some(id),
                    version: Some(ingest.object.version().unwrap_or(*at)),
                    outcome: Outcome::Duplicate,
                },
                AddOutcome::Refused(why) => refused(
                    index,
                    Some(id),
                    ingest.object.version(),
                    guard_reasons
                        .get(&position)
                        .copied()
                        .unwrap_or(RefusalReason::Error),
                    why.clone(),
                ),
                AddOutcome::Conflict(at) => refused(
                    index,
                    Some(id),
                    // An observable's version is when it was added: not told
                    // of a row the poster may not see.
                    if known_row(at) {
                        Some(ingest.object.version().unwrap_or(*at))
                    } else {
                        ingest.object.version()
                    },
                    if known_row(at) {
                        RefusalReason::Conflict
                    } else {
                        RefusalReason::Hidden
                    },
                    if known_row(at) {
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
        self.count_ingested(&outcomes, peer.is_some());
        if peer.is_none()
            && outcomes
                .iter()
                .any(|o| matches!(o.outcome, Outcome::Stored(_)))
        {
            self.ring_signer();
        }
        Ok(IngestReport { outcomes })
    }

    /// Whether `posted` is the stored copy `copy` as the poster sees it:
    /// the same JSON, or the same once the pseudonyms the poster reads in
    /// that copy's collection stand in for real identities.
    fn unchanged(
        &self,
        principal: &Principal,
        copy: &CopyRecord,
        posted: &str,
        lookups: &mut Lookups,
    ) -> bool {
        let Some(stored) = copy.raw.as_deref() else {
            return false;
        };
        let masks = match self.masks_of(principal, copy.collection, lookups) {
            Ok(m) => m,
            Err(_) => return false,
        };
        // What the poster was served: the pseudonym form when the copy's
        // source is a pseudonymous member hidden from it. Only that form is
        // a copy; the stored bytes hold the real identity, and accepting
        // them would confirm a guessed name (and publish it onward).
        let mut seen = std::borrow::Cow::Borrowed(stored);
        for m in masks.iter().filter(|m| m.covers(copy.origin_org)) {
            if let std::borrow::Cow::Owned(s) = m.apply(&seen) {
                seen = std::borrow::Cow::Owned(s);
            }
        }
        // A node is served the object with the TLP it is handled at made
        // explicit (see `Node::read`): that form is what it received.
        let explicit = || {
            principal.takes_tlp_explicit()
                && copy
                    .tlp
                    .and_then(|t| stix::tlp::with_explicit_marking(&seen, t))
                    .is_some_and(|served| same_json(&served, posted))
        };
        same_json(&seen, posted) || explicit()
    }

    /// The pseudonym masks `principal` reads the collection `key` through.
    fn masks_of<'l>(
        &self,
        principal: &Principal,
        key: i64,
        lookups: &'l mut Lookups,
    ) -> Result<&'l [Mask]> {
        if let std::collections::hash_map::Entry::Vacant(slot) = lookups.masks.entry(key) {
            let masks = match self.policy_of(key, &mut lookups.policies)? {
                Some(p) => self.pseudonym_masks(principal, &p)?,
                None => Vec::new(),
            };
            slot.insert(masks);
        }
        Ok(lookups
            .masks
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    /// Whom `principal` may name as recipients in the collection `policy`.
    pub(crate) fn addressable_in(
        &self,
        principal: &Principal,
        policy: &CollectionPolicy,
    ) -> Result<Addressable> {
        let members: Vec<MemberOrg> = match policy.owner {
            Owner::Node => Vec::new(),
            Owner::Org(o) => vec![MemberOrg {
                org: o,
                pseudonymous: false,
            }],
            Owner::Community(k) => self
                .store
                .members(k)?
                .into_iter()
                .map(|m| MemberOrg {
                    org: m.org,
                    pseudonymous: m.pseudonymous,
                })
                .collect(),
        };
        Ok(addressable(principal, &members))
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
                .is_some_and(|k| k.admits(&c.audience))
                && principal.sees_copy(c.tlp, c.origin_org);
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
        lookups: &mut Lookups,
    ) -> Result<(Vec<bool>, std::result::Result<(), sharing::Refusal>)> {
        let mut policies: Vec<(CollectionPolicy, Vec<OrgId>)> = Vec::with_capacity(copies.len());
        for c in copies {
            let p = self.policy_of(c.collection, &mut lookups.policies)?;
            let p = p.unwrap_or(CollectionPolicy {
                id: String::new(),
                owner: Owner::Node,
                default_tlp: None,
                public: false,
            });
            let m = self.member_orgs(&p, &mut lookups.members)?;
            policies.push((p, m));
        }
        let mut seen: Vec<bool> = Vec::with_capacity(copies.len());
        for (c, (p, _)) in copies.iter().zip(&policies) {
            let admitted = sharing::read_keys(principal, p).is_some_and(|k| k.admits(&c.audience))
                && principal.sees_copy(c.tlp, c.origin_org);
            // A pseudonymous source's own identity object reads as absent to
            // those who see it under its pseudonym: it is not seen either.
            let masked = admitted
                && self
                    .masks_of(principal, c.collection, lookups)?
                    .iter()
                    .any(|m| m.covers(c.origin_org) && m.real == c.id);
            seen.push(admitted && !masked);
        }
        // Onward sharing is about what the poster received: the copies it
        // sees and its organisation's own, never copies hidden from it.
        let view: Vec<StoredCopy<'_>> = copies
            .iter()
            .zip(&policies)
            .zip(&seen)
            .filter(|((c, _), v)| {
                **v || (c.origin_org.is_some() && c.origin_org == principal.org())
            })
            .map(|((c, (p, m)), _)| StoredCopy {
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

    /// [`Node::resolve`] in `collection` for `principal`, naming the first
    /// refused name by its list (`recipient_orgs` or `recipient_users`) and
    /// position.
    pub(crate) fn resolve_for(
        &self,
        principal: &Principal,
        collection: &Collection,
        named: &NamedRecipients,
    ) -> Result<std::result::Result<Recipients, (&'static str, usize, Refusal)>> {
        let policy = collection.policy();
        let may = self.addressable_in(principal, &policy)?;
        for (i, org) in named.organizations.iter().enumerate() {
            let one = NamedRecipients {
                organizations: vec![org.clone()],
                users: Vec::new(),
            };
            if let Err(refusal) = self.resolve(&one, &may, &policy)? {
                return Ok(Err(("recipient_orgs", i, refusal)));
            }
        }
        for (i, user) in named.users.iter().enumerate() {
            let one = NamedRecipients {
                organizations: Vec::new(),
                users: vec![user.clone()],
            };
            if let Err(refusal) = self.resolve(&one, &may, &policy)? {
                return Ok(Err(("recipient_users", i, refusal)));
            }
        }
        Ok(self
            .resolve(named, &may, &policy)?
            .map_err(|refusal| ("recipient_orgs", 0, refusal)))
    }

    /// Turns recipient names into ids, by the addressing rule of
    /// `sharing::recipients`: organisations by name or identity id (a
    /// pseudonymous member by its pseudonym identity id in the collection's
    /// community), users as `ORG/USER`. The first name that may not be
    /// addressed refuses the whole list, with the same words whether or not
    /// it exists on the node.
    fn resolve(
        &self,
        named: &NamedRecipients,
        may: &Addressable,
        policy: &CollectionPolicy,
    ) -> Result<std::result::Result<Recipients, Refusal>> {
        let mut r = Recipients::default();
        for name in &named.organizations {
            let by_name = self.store.org(name)?.filter(|o| may.by_name(o.id));
            let by_pseudonym = || -> Result<Option<OrgId>> {
                let Owner::Community(community) = policy.owner else {
                    return Ok(None);
                };
                Ok(self
                    .store
                    .members(community)?
                    .into_iter()
                    .filter(|m| m.pseudonymous)
                    .map(|m| m.org)
                    .find(|org| {
                        sharing::pseudonym::pseudonym_id(&self.pseudonym_secret, *org, community)
                            == *name
                    })
                    .filter(|org| may.by_pseudonym(*org)))
            };
            match by_name.map(|o| o.id) {
                Some(org) => r.orgs.push(org),
                None => match by_pseudonym()? {
                    Some(org) => r.orgs.push(org),
                    None => return Ok(Err(not_addressable(name))),
                },
            }
        }
        for name in &named.users {
            match self.store.user(name) {
                Ok(Some(user)) if may.by_name(user.org) => r.users.push(user.id),
                Ok(_) | Err(store::StoreError::Invalid(_)) => {
                    return Ok(Err(not_addressable(name)));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Ok(r))
    }
}

/// The provenance of each object of an input, by its position there, and
/// the fingerprint of the node that signed it when verified.
pub(crate) type Vouched = HashMap<usize, (Provenance, Option<String>)>;

/// How the objects of an input arrive at [`Node::ingest_with`].
pub(crate) enum Arrival<'a> {
    /// Posted or imported here: this node signs what it stores (in a
    /// signed collection).
    Local,
    /// Posted by an organisation that stands for a peer (a push): each
    /// object's provenance as its origin's manifests prove it.
    Pushed(&'a Vouched),
    /// Pulled from a peer by one of its jobs.
    Pulled(&'a PeerIngest),
}

/// What a pull adds to an ingest: the provenance found for each object (by
/// its index in the input), and the pull's job and cursor.
pub(crate) struct PeerIngest {
    pub(crate) provenance: Vouched,
    pub(crate) job: i64,
    pub(crate) cursor: Option<Timestamp>,
}

/// What one batch of a pull adds to its job's totals.
fn peer_stats(provenance: &[Provenance], outcomes: &[AddOutcome]) -> SyncStats {
    let mut stats = SyncStats::default();
    for (p, o) in provenance.iter().zip(outcomes) {
        match o {
            AddOutcome::Added(_) => {
                stats.stored += 1;
                match p {
                    Provenance::Verified => stats.verified += 1,
                    Provenance::Invalid => stats.invalid += 1,
                    _ => stats.unsigned += 1,
                }
            }
            AddOutcome::Duplicate(_) => stats.duplicates += 1,
            AddOutcome::Conflict(_) | AddOutcome::Refused(_) => stats.refused += 1,
        }
    }
    stats
}

/// What one ingest looks up about the collections holding copies of its
/// objects, once each.
#[derive(Default)]
struct Lookups {
    policies: HashMap<i64, Option<CollectionPolicy>>,
    members: HashMap<i64, Vec<OrgId>>,
    masks: HashMap<i64, Vec<Mask>>,
}

/// Which organisation of this node an object names as its creator: the
/// owner of its `created_by_ref` identity, real or pseudonym. Built only
/// when an input names creators other than the poster's own identity.
#[derive(Default)]
struct CreatorIndex {
    owners: HashMap<String, OrgId>,
}

impl CreatorIndex {
    fn new(node: &Node, objects: &[(usize, StixObject)], poster: Option<OrgId>) -> Result<Self> {
        let own_identity = match poster {
            Some(org) => node.store.org_by_id(org)?.map(|o| o.identity_id),
            None => None,
        };
        let mut owners = HashMap::new();
        // The identities the input names as creators, or is: each looked
        // up by its index, never by listing the node's organisations.
        let named: BTreeSet<&str> = objects
            .iter()
            .flat_map(|(_, o)| {
                let claim = o
                    .created_by_ref
                    .as_deref()
                    .filter(|c| Some(*c) != own_identity.as_deref());
                let is = (o.object_type == "identity").then_some(o.id.as_str());
                claim.into_iter().chain(is)
            })
            .collect();
        if named.is_empty() {
            return Ok(CreatorIndex { owners });
        }
        let mut unresolved = Vec::new();
        for id in named {
            match node.store.org(id)? {
                Some(org) if org.identity_id == id => {
                    owners.insert(org.identity_id, org.id);
                }
                _ => unresolved.push(id),
            }
        }
        if !unresolved.is_empty() {
            for m in node.store.pseudonymous_memberships()? {
                let pid =
                    sharing::pseudonym::pseudonym_id(&node.pseudonym_secret, m.org, m.community);
                if unresolved.contains(&pid.as_str()) {
                    owners.insert(pid, m.org);
                }
            }
        }
        Ok(CreatorIndex { owners })
    }

    fn claimed(&self, object: &StixObject) -> Option<OrgId> {
        object
            .created_by_ref
            .as_deref()
            .and_then(|c| self.owners.get(c).copied())
    }

    /// The organisation whose identity (real or pseudonym) this object is:
    /// its creator, whoever stored a copy of the id first.
    fn identity_of(&self, object: &StixObject) -> Option<OrgId> {
        self.owners.get(&object.id).copied()
    }
}

/// Equal as JSON values (key order and whitespace do not matter).
fn same_json(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
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
/// A refusal by the sharing rules, with its kind.
fn policy_refusal(index: usize, refusal: &Refusal) -> (RefusalReason, String) {
    (
        RefusalReason::of(refusal),
        format!("object {index}: {refusal}"),
    )
}

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

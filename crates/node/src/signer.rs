//! Signing what this node publishes: every object posted here is listed, by
//! the SHA-256 of its canonical form, in a manifest the node signs with its
//! hybrid key (see `provenance`). Manifests travel as ordinary STIX objects
//! in the same collection, so peers, relays and any TAXII client carry them
//! along, and the node at the end of the chain can tell whether an object is
//! still what its origin published.
//!
//! Objects are signed in batches shortly after they are stored (one
//! signature per manifest of at most [`MANIFEST`] objects: ML-DSA costs
//! about 125 µs, a manifest's signatures 7.7 KB, an entry 170 bytes), by a
//! thread of the serving process or, at the CLI, when an import ends. A
//! batch is cut per collection, audience, TLP and source
//! organisation, and the manifest is stored with that audience, TLP and
//! source: every check a read makes of a row (audience, ceiling, relay
//! guard) then gives the manifest the answer it gives each object it lists.
//! What is left is the pointer gate, which hides an object from a reader
//! who may not see what it references: the manifest's gating references
//! are those of its objects together, so a reader who may not see one
//! object's targets does not get the manifest either. (Gating a manifest
//! on its entries themselves gave the same answer at the price of loading
//! thousands of rows for every page that holds one.) What a reader receives of an object posted by a
//! pseudonymous source carries the pseudonym, so that form is what is
//! hashed. A crash between storing and signing leaves objects pending; the
//! next signer run signs them.
//!
//! A manifest lists only what its readers read now. When that changes
//! after signing, the manifests concerned are withdrawn (deleted, their
//! other objects pending again, see `store::ObjectStore::withdraw_manifests`)
//! and the next run lists those objects anew: a delete (in the store's
//! delete transaction), a member joining a community as pseudonymous
//! (`admin.rs`: what its mask now changes), and expiry in a collection that
//! hides expired indicators: there an expired indicator is not listed, a
//! manifest carries when the first indicator it lists stops being served
//! (`expires`, which the read gate honours at once and each run
//! withdraws), and indicators are listed in order of expiry. Since a
//! manifest lists at most [`MANIFEST`] objects, one delete or one expiry
//! re-signs at most that many others, however many were posted together.
//!
//! A reader is served one copy of an observable, the earliest it may see
//! (`read.rs`), and no manifest entry of another: a manifest that lists a
//! later copy (stored while another source's copy was in the collection)
//! is withheld from readers served an earlier one. Which manifest lists a
//! later copy must not tell anyone that an earlier one exists, so a later
//! copy is signed alone only when every reader of it may read an earlier
//! copy (and is served that instead); otherwise it is signed with what was
//! posted with it, as if the earlier copy did not exist.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use provenance::manifest::ManifestOptions;
use provenance::{Origin, SigningKey};
use sharing::Principal;
use store::{Ingest, PendingObject, Provenance};

use crate::{Node, NodeError, Result};

/// What a manifest's objects share: collection, audience keys, TLP, source.
type Batch = (i64, Vec<String>, Option<u8>, Option<sharing::OrgId>);

/// How long the signer waits for more objects before it signs a batch.
const GATHER: Duration = Duration::from_millis(200);
/// Most pending objects one round of the signer loads.
const BATCH: usize = 5_000;
/// Most objects one manifest of indicators that expire lists. Whatever
/// withdraws a manifest (a delete, an indicator's expiry) has the signer
/// list its other objects again, so this bounds the work one expiry
/// causes: at most 49 objects hashed again under one new signature.
const MANIFEST: usize = 50;
/// Most objects one manifest lists of what a withdrawal queued again:
/// after the first delete among objects posted together (which re-signs
/// the rest of their manifest once), each further delete re-signs at most
/// 24 objects.
const MANIFEST_AGAIN: usize = 25;
/// Most objects one manifest of what was just posted lists: one signature
/// (7.7 KB) per batch, not per 50 objects (a manifest per 50 objects
/// served 20,000 manifests with a million objects and cost reads of a
/// signed collection three times the CPU of an unsigned one).
const MANIFEST_POSTED: usize = BATCH;

/// One stored version of an indicator, as [`Node::expiry_of`] weighs it.
struct IndicatorVersion {
    version: stix::Timestamp,
    row: stix::Timestamp,
    /// Its `valid_until`.
    until: Option<stix::Timestamp>,
    /// Listed in a manifest this node signed.
    signed: bool,
}

/// When the indicators of a batch stop being served (see
/// [`Node::expiry_of`]).
#[derive(Default)]
struct Expiry {
    /// Rows no reader may receive any more: not listed.
    hidden: std::collections::HashSet<stix::Timestamp>,
    /// Rows that readers stop receiving at that time.
    at: std::collections::HashMap<stix::Timestamp, stix::Timestamp>,
    /// Signed rows of earlier versions whose manifests must expire with a
    /// later version: withdrawn, to be signed again.
    earlier_versions: Vec<stix::Timestamp>,
}

impl Expiry {
    /// When a manifest of `objects` stops being served: at the first expiry.
    fn of(&self, objects: &[&PendingObject]) -> Option<stix::Timestamp> {
        objects
            .iter()
            .filter_map(|o| self.at.get(&o.date_added))
            .min()
            .copied()
    }
}

/// The node's signing identity.
#[derive(Clone)]
pub struct Signer {
    key: Arc<SigningKey>,
    origin: Origin,
}

impl Signer {
    pub fn new(key: SigningKey, origin: Origin) -> Signer {
        Signer {
            key: Arc::new(key),
            origin,
        }
    }

    pub fn fingerprint(&self) -> String {
        self.key.fingerprint().to_string()
    }
}

#[derive(Default)]
struct Wake {
    state: Mutex<(bool, bool)>,
    bell: Condvar,
}

/// The signing thread; dropping it signs what is pending and stops it.
pub(crate) struct SignerThread {
    wake: Arc<Wake>,
    thread: Option<JoinHandle<()>>,
}

impl SignerThread {
    pub(crate) fn ring(&self) {
        let mut s = self.wake.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 = true;
        self.wake.bell.notify_one();
    }
}

impl Drop for SignerThread {
    fn drop(&mut self) {
        {
            let mut s = self.wake.state.lock().unwrap_or_else(|p| p.into_inner());
            s.1 = true;
        }
        self.wake.bell.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Node {
    /// Signs what this node publishes with `signer`: in the background
    /// (call [`Node::start_signing`] in a long-running process) or at once
    /// ([`Node::sign_pending`]).
    pub fn with_signer(mut self, signer: Signer) -> Node {
        self.signer = Some(signer);
        self
    }

    /// The fingerprint of this node's signing key, if it has one.
    pub fn signing_fingerprint(&self) -> Option<String> {
        self.signer.as_ref().map(Signer::fingerprint)
    }

    /// Starts the background signer (a serving process): objects are signed
    /// within about [`GATHER`] of being stored.
    pub fn start_signing(&self) -> Result<()> {
        if self.signer.is_none() {
            return Ok(());
        }
        let mut slot = self.signer_thread.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let wake = Arc::new(Wake::default());
        // The worker's own slot is empty: it must not keep itself alive.
        let mut node = self.clone();
        node.signer_thread = Arc::new(Mutex::new(None));
        let shared = wake.clone();
        let thread = std::thread::Builder::new()
            .name("signer".into())
            .spawn(move || {
                loop {
                    let closing = {
                        let mut s = shared.state.lock().unwrap_or_else(|p| p.into_inner());
                        if !s.0 && !s.1 {
                            s = shared
                                .bell
                                .wait_timeout(s, Duration::from_secs(1))
                                .map(|(g, _)| g)
                                .unwrap_or_else(|p| p.into_inner().0);
                        }
                        s.0 = false;
                        s.1
                    };
                    if !closing {
                        std::thread::sleep(GATHER);
                    }
                    if let Err(e) = node.sign_pending() {
                        tracing::warn!(error = %e, "signing published objects failed; retrying");
                    }
                    if closing {
                        return;
                    }
                }
            })
            .map_err(|e| NodeError::Unprocessable(format!("cannot start the signer: {e}")))?;
        *slot = Some(SignerThread {
            wake,
            thread: Some(thread),
        });
        Ok(())
    }

    /// Asks the background signer to look for new objects now.
    pub(crate) fn ring_signer(&self) {
        if let Some(t) = self
            .signer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            t.ring();
        }
    }

    /// Has the objects of withdrawn manifests signed again: by the
    /// background signer when this process runs one, else at once.
    pub(crate) fn sign_again(&self) -> Result<()> {
        if self.signer.is_none() {
            return Ok(());
        }
        let running = self
            .signer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if running {
            self.ring_signer();
        } else {
            self.sign_pending()?;
        }
        Ok(())
    }

    /// Signs every object posted here that no manifest lists yet; returns
    /// how many. Without a signing key, does nothing. First withdraws the
    /// manifests that list an indicator expired since (see
    /// [`Node::expiry_of`]), so that their other objects are signed again.
    pub fn sign_pending(&self) -> Result<usize> {
        let Some(signer) = &self.signer else {
            return Ok(0);
        };
        let entry = Node::entry(
            &Principal::operator(),
            "unsign",
            None,
            Vec::new(),
            "indicators expired".into(),
        );
        self.store
            .withdraw_expired_manifests(store::now(), &entry)?;
        let mut signed = 0;
        loop {
            let pending = self.store.pending_signature(BATCH)?;
            if pending.is_empty() {
                return Ok(signed);
            }
            let mut groups: BTreeMap<Batch, Vec<PendingObject>> = BTreeMap::new();
            for p in pending {
                let mut keys: Vec<String> = p.audience.iter().map(ToString::to_string).collect();
                keys.sort();
                let tlp = p.tlp.map(|t| t as u8);
                groups
                    .entry((p.collection, keys, tlp, p.origin_org))
                    .or_default()
                    .push(p);
            }
            for ((collection, ..), objects) in groups {
                signed += objects.len();
                self.sign_group(signer, collection, &objects)?;
            }
        }
    }

    /// Signs one batch of one collection, audience, TLP and source, and
    /// stores its manifest.
    fn sign_group(
        &self,
        signer: &Signer,
        collection: i64,
        objects: &[PendingObject],
    ) -> Result<()> {
        let Some(c) = self.store.collection_by_key(collection)? else {
            return Ok(());
        };
        // What any reader other than a pseudonymous source itself receives.
        let masks = self.pseudonym_masks(&Principal::anonymous(), &c.policy())?;
        self.sign_masked(signer, &c, &masks, objects)?;
        // A member that joined as pseudonymous meanwhile may have looked for
        // what to sign again before these manifests were stored (`admin.rs`):
        // they are withdrawn, and the next run hashes them with its mask.
        let now = self.pseudonym_masks(&Principal::anonymous(), &c.policy())?;
        let faces = |m: &[crate::read::Mask]| -> Vec<(sharing::OrgId, String)> {
            m.iter().map(|m| (m.org, m.real.clone())).collect()
        };
        if faces(&now) != faces(&masks) {
            let rows: Vec<stix::Timestamp> = objects.iter().map(|o| o.date_added).collect();
            let entry = Node::entry(
                &Principal::operator(),
                "unsign",
                Some(&c.id),
                Vec::new(),
                "a member joined as pseudonymous while they were signed".into(),
            );
            self.store.withdraw_manifests(&rows, &entry)?;
        }
        Ok(())
    }

    /// [`Node::sign_group`] with the masks readers receive.
    fn sign_masked(
        &self,
        signer: &Signer,
        c: &store::Collection,
        masks: &[crate::read::Mask],
        objects: &[PendingObject],
    ) -> Result<()> {
        let collection = c.key;
        // A pseudonymous source's own identity object is withheld from every
        // reader: no manifest may list it, or the hash of its canonical form
        // (which holds the real name) would confirm a guess of that name.
        // Nor does a manifest list a manifest-shaped object a member posted:
        // it stays the member's (see `objects::author`), unsigned.
        let (withheld, objects): (Vec<&PendingObject>, Vec<&PendingObject>) =
            objects.iter().partition(|o| {
                o.id.starts_with(provenance::extension::MANIFEST_TYPE)
                    || masks
                        .iter()
                        .any(|m| m.covers(o.origin_org) && m.real == o.id)
            });
        // In a collection that hides expired indicators, an indicator
        // readers no longer receive is not listed either, and the others
        // are listed in manifests that expire with them.
        let expiry = if c.hide_expired {
            self.expiry_of(c, &objects)?
        } else {
            Expiry::default()
        };
        let (expired, objects): (Vec<&PendingObject>, Vec<&PendingObject>) = objects
            .into_iter()
            .partition(|o| expiry.hidden.contains(&o.date_added));
        let withheld: Vec<&PendingObject> = withheld.into_iter().chain(expired).collect();
        if !withheld.is_empty() {
            let rows: Vec<_> = withheld
                .iter()
                .map(|o| (o.date_added, Provenance::Unsigned, None))
                .collect();
            self.store.set_provenance(&rows)?;
        }
        if !expiry.earlier_versions.is_empty() {
            let entry = Node::entry(
                &Principal::operator(),
                "unsign",
                Some(&c.id),
                Vec::new(),
                "later versions of indicators that expire".into(),
            );
            self.store
                .withdraw_manifests(&expiry.earlier_versions, &entry)?;
        }
        // A pseudonymous source's objects are signed one per manifest: which
        // objects share a manifest would otherwise tell a reader of this
        // collection and of one where the source is named that the
        // pseudonym is that organisation (an object it posts to both is
        // listed with its pseudonymous objects here and its named ones there).
        let pseudonymous = objects
            .first()
            .and_then(|o| o.origin_org)
            .is_some_and(|org| masks.iter().any(|m| m.org == org));
        if pseudonymous && objects.len() > 1 {
            for o in objects {
                let expires = expiry.of(&[o]);
                self.sign_batch(signer, c, masks, collection, &[o], expires)?;
            }
            return Ok(());
        }
        // A later copy of an observable is signed alone when no reader is
        // served it (see `served_to_no_reader`); any other is signed like
        // the rest.
        let alone = self.served_to_no_reader(c, &objects)?;
        let (later, objects): (Vec<&PendingObject>, Vec<&PendingObject>) = objects
            .into_iter()
            .partition(|o| alone.contains(&o.date_added));
        for o in later {
            let expires = expiry.of(&[o]);
            self.sign_batch(signer, c, masks, collection, &[o], expires)?;
        }
        // Indicators that expire are listed in order of expiry, apart from
        // what does not, so that manifest-mates expire close together, in
        // manifests of `MANIFEST`; what a withdrawal queued again goes in
        // small manifests, what was just posted in large ones.
        let (mut expiring, lasting): (Vec<&PendingObject>, Vec<&PendingObject>) = objects
            .into_iter()
            .partition(|o| expiry.at.contains_key(&o.date_added));
        expiring.sort_by_key(|o| (expiry.at.get(&o.date_added).copied(), o.date_added));
        let (again, posted): (Vec<&PendingObject>, Vec<&PendingObject>) =
            lasting.into_iter().partition(|o| o.again);
        for objects in expiring
            .chunks(MANIFEST)
            .chain(again.chunks(MANIFEST_AGAIN))
            .chain(posted.chunks(MANIFEST_POSTED))
        {
            let expires = expiry.of(objects);
            self.sign_batch(signer, c, masks, collection, objects, expires)?;
        }
        Ok(())
    }

    /// The later copies of observables among `objects` (of `c`) that no
    /// reader is served: each has an earlier copy, by another source, that
    /// every reader of it may read too
    /// ([`sharing::earlier_copy_reaches_every_reader`]). These are signed
    /// alone, so that no reader served an earlier copy receives their entry;
    /// their manifest is gated on that copy too (`read.rs`), and is served
    /// if the earlier copies go.
    ///
    /// Any other later copy is signed with the objects posted with it:
    /// signing it alone would tell the readers who cannot see the earlier
    /// copy, its poster among them, that another organisation holds the
    /// observable. Its manifest is withheld from readers served an earlier
    /// copy instead (`read.rs`: the manifest lists a later copy).
    fn served_to_no_reader(
        &self,
        c: &store::Collection,
        objects: &[&PendingObject],
    ) -> Result<std::collections::HashSet<stix::Timestamp>> {
        let later: Vec<&PendingObject> =
            objects.iter().copied().filter(|o| o.prior_copies).collect();
        if later.is_empty() {
            return Ok(Default::default());
        }
        let ids: Vec<String> = later
            .iter()
            .map(|o| o.id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let copies: Vec<store::CopyRecord> = self
            .store
            .copies(&ids)?
            .into_iter()
            .filter(|k| k.collection == c.key)
            .collect();
        let members = self.member_orgs(&c.policy(), &mut Default::default())?;
        let peer_orgs: Vec<sharing::OrgId> = self.store.peers()?.iter().map(|p| p.org).collect();
        Ok(later
            .into_iter()
            .filter(|o| {
                let this = sharing::CopyReach {
                    audience: &o.audience,
                    tlp: o.tlp,
                    origin: o.origin_org,
                    refs: &o.refs,
                };
                copies.iter().any(|k| {
                    k.id == o.id
                        && k.date_added < o.date_added
                        && k.origin_org != o.origin_org
                        && sharing::earlier_copy_reaches_every_reader(
                            sharing::CopyReach {
                                audience: &k.audience,
                                tlp: k.tlp,
                                origin: k.origin_org,
                                refs: &k.refs,
                            },
                            this,
                            &members,
                            &peer_orgs,
                        )
                })
            })
            .map(|o| o.date_added)
            .collect())
    }

    /// When readers stop receiving each indicator among `objects` (of
    /// `c`, which hides expired indicators): an indicator is hidden from a
    /// reader whose latest version of it has expired (`read::Node::read`),
    /// so a version is withdrawn when it or any later version expires.
    fn expiry_of(&self, c: &store::Collection, objects: &[&PendingObject]) -> Result<Expiry> {
        let pending: Vec<&PendingObject> = objects
            .iter()
            .copied()
            .filter(|o| o.id.starts_with("indicator--"))
            .collect();
        let ids: Vec<String> = pending
            .iter()
            .map(|o| o.id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // Every version of each id.
        let mut versions: std::collections::HashMap<String, Vec<IndicatorVersion>> =
            std::collections::HashMap::new();
        for chunk in ids.chunks(16) {
            let q = store::ObjectQuery {
                ids: chunk.to_vec(),
                versions: store::VersionMatch::all(),
                limit: 100_000,
                with_raw: true,
                ..Default::default()
            };
            for v in self.store.query_objects(c.key, &q)?.items {
                let until = serde_json::from_str::<serde_json::Value>(&v.raw)
                    .ok()
                    .and_then(|o| freshness::expires_at(&o));
                versions
                    .entry(v.id.clone())
                    .or_default()
                    .push(IndicatorVersion {
                        version: v.version,
                        row: v.date_added,
                        until,
                        signed: v.provenance == Provenance::LocalSigned,
                    });
            }
        }
        let now = store::now();
        let mut out = Expiry::default();
        for o in pending {
            let Some(all) = versions.get(&o.id) else {
                continue;
            };
            let Some(this) = all.iter().find(|v| v.row == o.date_added) else {
                continue;
            };
            let (version, own) = (this.version, this.until);
            let at = all
                .iter()
                .filter(|v| v.version >= version)
                .filter_map(|v| v.until)
                .min();
            match at {
                Some(t) if t <= now => {
                    out.hidden.insert(o.date_added);
                }
                Some(t) => {
                    out.at.insert(o.date_added, t);
                }
                None => {}
            }
            // Earlier versions already signed now expire with this one when
            // it expires before every version that their manifests counted.
            if let Some(own) = own {
                out.earlier_versions.extend(
                    all.iter()
                        .filter(|v| v.version < version && v.signed)
                        .filter(|v| {
                            all.iter()
                                .filter(|w| w.version >= v.version && w.row != o.date_added)
                                .filter_map(|w| w.until)
                                .min()
                                .is_none_or(|counted| own < counted)
                        })
                        .map(|v| v.row),
                );
            }
        }
        out.earlier_versions.sort_unstable();
        out.earlier_versions.dedup();
        Ok(out)
    }

    /// Signs `objects` (one collection, audience, TLP and source) in one
    /// manifest and stores it.
    fn sign_batch(
        &self,
        signer: &Signer,
        c: &store::Collection,
        masks: &[crate::read::Mask],
        collection: i64,
        objects: &[&PendingObject],
        expires: Option<stix::Timestamp>,
    ) -> Result<()> {
        let Some(first) = objects.first().copied() else {
            return Ok(());
        };
        let served: Vec<String> = objects
            .iter()
            .map(|o| {
                let mut text = std::borrow::Cow::Borrowed(o.raw.as_str());
                for m in masks.iter().filter(|m| m.covers(o.origin_org)) {
                    if let std::borrow::Cow::Owned(s) = m.apply(&text) {
                        text = std::borrow::Cow::Owned(s);
                    }
                }
                text.into_owned()
            })
            .collect();
        let raws: Vec<&str> = served.iter().map(String::as_str).collect();
        let options = ManifestOptions {
            created: jiff::Timestamp::now(),
            created_by_ref: None,
            object_marking_refs: first
                .tlp
                .map(|t| vec![t.marking_id().to_string()])
                .unwrap_or_default(),
        };
        let manifest = provenance::sign_manifest(&signer.key, &signer.origin, &raws, &options)
            .map_err(|e| NodeError::Unprocessable(format!("cannot sign a manifest: {e}")))?;
        let object = self
            .validator
            .validate_str(0, &manifest.json)
            .map_err(|r| {
                NodeError::Unprocessable(format!("the signed manifest is not valid STIX: {r}"))
            })?;
        // The targets of what it lists, not what it lists (see the module's
        // documentation).
        let listed: std::collections::HashSet<&str> =
            manifest.entries.iter().map(|e| e.id.as_str()).collect();
        let refs: Vec<String> = objects
            .iter()
            .filter(|o| listed.contains(o.id.as_str()))
            .flat_map(|o| o.refs.iter())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        // Not listed by the console (see `console::listed_type`).
        let console = crate::console::indexed_facts(&manifest.json, &refs);
        let ingest = Ingest {
            object,
            audience: first.audience.clone(),
            origin_org: first.origin_org,
            origin_user: None,
            tlp: first.tlp,
            refs,
            provenance: Provenance::LocalSigned,
            origin_node: None,
            console,
        };
        let covers: Vec<stix::Timestamp> = objects.iter().map(|o| o.date_added).collect();
        let entry = Node::entry(
            &Principal::operator(),
            "sign",
            Some(&c.id),
            vec![manifest.id.clone()],
            format!("manifest of {} objects", objects.len()),
        );
        self.store
            .add_manifest(collection, &ingest, &covers, expires, &entry)?;
        Ok(())
    }
}

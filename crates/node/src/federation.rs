//! Federation, as this node sees it: peers (remote TAXII servers, each
//! standing for a local organisation), the pulls and pushes configured for
//! them, what a pull stores and with which provenance, and what a push may
//! send. The network side (requests, paging, retries) is `federation`'s;
//! every rule of who may receive what is the same gate as any read:
//!
//! - a peer reads as its organisation would (TLP, named recipients,
//!   communities, pseudonyms), never above its own TLP ceiling, and never
//!   TLP:RED, nor objects private to a source;
//! - nothing goes back to the peer it came from, nor to the node that signed it;
//! - what a peer sends is posted as the peer's organisation (through a user
//!   of it that acts for the peer), so authorship, onward sharing and the
//!   audit log apply as to any post; each object keeps the provenance its
//!   origin's signed manifest proves (`verified`), or `unsigned`/`invalid`.

use std::collections::HashMap;

use provenance::{Fingerprint, PinnedKeys, ProvenanceIndex, ProvenanceState};
use serde_json::value::RawValue;
use sharing::{Principal, Role, Tlp};
use stix::Timestamp;
use store::{
    Collection, Direction, NewPeer, ObjectQuery, Peer, Provenance, PushFailure, SyncJob, SyncStats,
    VersionMatch,
};

use crate::export::ExportPage;
use crate::ingest::PeerIngest;
use crate::{IngestReport, Need, Node, NodeError, Result};

/// A new peer as the operator describes it.
#[derive(Clone, Debug)]
pub struct PeerRequest {
    /// A short name: letters, digits, `-` and `_` (it names its credential file).
    pub name: String,
    /// The peer's TAXII 2.1 API root URL (`https://…/api1/`).
    pub url: String,
    /// The local organisation that stands for it.
    pub org: String,
    /// Fingerprints of the signing keys whose content counts as verified.
    pub keys: Vec<String>,
    /// The highest TLP it may receive (default AMBER+STRICT; never RED).
    pub max_tlp: Option<Tlp>,
    pub refuse_unsigned: bool,
    pub ca_file: Option<String>,
}

/// What one run of a job did.
#[derive(Clone, Debug, Default)]
pub struct SyncRun {
    pub stats: SyncStats,
    /// Objects left for the next run (a push the peer did not take yet,
    /// pulled objects waiting for their manifest).
    pub pending: usize,
}

/// A peer's name also names a file: keep it to a safe alphabet.
pub fn valid_peer_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

impl Node {
    /// Adds a peer (node administrators): the organisation must exist; a
    /// user `peer-<name>` of it is created to act for the peer.
    pub fn create_peer(&self, principal: &Principal, request: &PeerRequest) -> Result<Peer> {
        if !sharing::administration::may_administer_node(principal) {
            return Err(NodeError::Forbidden(
                "only node administrators may add peers".into(),
            ));
        }
        if !valid_peer_name(&request.name) {
            return Err(NodeError::Unprocessable(format!(
                "peer name {:?}: use 1-64 letters, digits, '-' and '_'",
                request.name
            )));
        }
        let url = request.url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.len() > 2048 || url.chars().any(char::is_whitespace) {
            return Err(NodeError::Unprocessable(format!(
                "--url {url:?} is not an http(s) URL of a TAXII API root, such as https://cti.example.org/api1/"
            )));
        }
        let mut keys = Vec::new();
        for k in &request.keys {
            let fp: Fingerprint = k.parse().map_err(|e| {
                NodeError::Unprocessable(format!(
                    "--key {k:?} is not a key fingerprint ({e}); `entente node keys` on the peer prints it"
                ))
            })?;
            keys.push(fp.to_string());
        }
        let max_tlp = request.max_tlp.unwrap_or(Tlp::AmberStrict);
        if max_tlp == Tlp::Red {
            return Err(NodeError::Unprocessable(
                "--max-tlp red: TLP:RED never leaves the node; use amber+strict or below".into(),
            ));
        }
        let org = self.org_named(&request.org)?;
        let user_name = format!("peer-{}", request.name);
        let user = match self.store.user(&format!("{}/{user_name}", org.name)) {
            Ok(Some(u)) => u,
            _ => self.create_user(principal, &org.name, &user_name, Role::Analyst)?,
        };
        let base = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        let entry = Node::entry(
            principal,
            "peer-create",
            None,
            Vec::new(),
            format!(
                "peer {} at {base} for {} (at most {max_tlp}{})",
                request.name,
                org.name,
                if request.refuse_unsigned {
                    ", verified content only"
                } else {
                    ""
                }
            ),
        );
        Ok(self.store.create_peer(
            &NewPeer {
                name: request.name.clone(),
                url: base,
                org: org.id,
                user: user.id,
                keys,
                max_tlp,
                refuse_unsigned: request.refuse_unsigned,
                ca_file: request.ca_file.clone(),
            },
            &entry,
        )?)
    }

    /// Every peer (node administrators).
    pub fn peers(&self, principal: &Principal) -> Result<Vec<Peer>> {
        self.peer_admin(principal)?;
        Ok(self.store.peers()?)
    }

    /// A peer by name (node administrators), or 404.
    pub fn peer(&self, principal: &Principal, name: &str) -> Result<Peer> {
        self.peer_admin(principal)?;
        self.store.peer(name)?.ok_or_else(|| {
            NodeError::NotFound(format!(
                "no peer named {name:?} (entente peer add creates one; entente peer status lists them)"
            ))
        })
    }

    fn peer_admin(&self, principal: &Principal) -> Result<()> {
        if sharing::administration::may_administer_node(principal) {
            Ok(())
        } else {
            Err(NodeError::Forbidden(
                "only node administrators may see and run peers".into(),
            ))
        }
    }

    /// The principal a peer acts as here: its user, bounded by its ceiling.
    pub fn peer_principal(&self, peer: &Peer) -> Result<Principal> {
        let user = self
            .store
            .users()?
            .into_iter()
            .find(|u| u.id == peer.user)
            .ok_or_else(|| {
                NodeError::NotFound(format!(
                    "the user acting for peer {} no longer exists",
                    peer.name
                ))
            })?;
        Ok(self
            .user_principal(&user)?
            .with_ceiling(peer.max_tlp.min(Tlp::AmberStrict)))
    }

    /// Adds a pull (remote collection into local `collection`) or a push
    /// (local `collection` to the remote one). The peer's organisation must
    /// be able to write (pull) or read (push) the local collection.
    pub fn add_sync_job(
        &self,
        principal: &Principal,
        peer: &str,
        direction: Direction,
        remote_collection: &str,
        collection: &str,
    ) -> Result<SyncJob> {
        let peer = self.peer(principal, peer)?;
        if remote_collection.trim().is_empty() || remote_collection.len() > 256 {
            return Err(NodeError::Unprocessable(
                "--remote-collection needs the remote collection's id".into(),
            ));
        }
        let acting = self.peer_principal(&peer)?;
        let need = match direction {
            Direction::Pull => Need::Write,
            Direction::Push => Need::Read,
        };
        let (local, _) = self
            .collection_for(principal, None, collection, Need::Any)
            .map_err(|_| NodeError::NotFound(crate::collections::collection_missing(collection)))?;
        self.collection_for(&acting, None, &local.id, need)
            .map_err(|_| {
                NodeError::Forbidden(format!(
                    "the organisation standing for peer {} may not {} collection {}: make it a member of the collection's community (or its owner)",
                    peer.name,
                    if direction == Direction::Pull { "write to" } else { "read" },
                    local.id
                ))
            })?;
        let entry = Node::entry(
            principal,
            "peer-job-create",
            Some(&local.id),
            Vec::new(),
            format!(
                "{} {} remote collection {remote_collection}",
                peer.name,
                direction.as_str()
            ),
        );
        Ok(self
            .store
            .create_job(peer.id, direction, remote_collection, local.key, &entry)?)
    }

    /// A peer's jobs (node administrators).
    pub fn sync_jobs(&self, principal: &Principal, peer: &Peer) -> Result<Vec<SyncJob>> {
        self.peer_admin(principal)?;
        Ok(self.store.jobs(peer.id)?)
    }

    /// The local collection of a job.
    pub fn job_collection(&self, job: &SyncJob) -> Result<Collection> {
        self.store
            .collection_by_key(job.collection)?
            .ok_or_else(|| {
                NodeError::NotFound("the job's local collection no longer exists".into())
            })
    }

    /// The keys a peer's content is verified with.
    pub fn pinned_keys(peer: &Peer) -> PinnedKeys {
        peer.keys.iter().filter_map(|k| k.parse().ok()).collect()
    }

    /// Stores a page pulled from `peer` for `job`, moving the job's cursor
    /// to `cursor` in the same transaction. `index` holds every manifest
    /// seen so far in this run (this page's are added first), so objects get
    /// the provenance their origin signed; objects stored earlier without a
    /// manifest are upgraded when it arrives. With `refuse_unsigned`, objects
    /// that are not verified are refused.
    pub fn ingest_pulled(
        &self,
        peer: &Peer,
        job: &SyncJob,
        objects: &[&RawValue],
        cursor: Option<Timestamp>,
        index: &mut ProvenanceIndex,
    ) -> Result<IngestReport> {
        let collection = self.job_collection(job)?;
        let acting = self.peer_principal(peer)?;
        let (valid, rejected) = self.validate_all(objects);
        let pinned = Node::pinned_keys(peer);
        let mut manifests = Vec::new();
        for (_, o) in &valid {
            if o.object_type == provenance::extension::MANIFEST_TYPE
                && index.add_manifest(&o.raw).is_ok()
                && let Ok(verified) = provenance::verify_manifest(&o.raw, &pinned)
            {
                manifests.push(verified);
            }
        }
        let mut found: HashMap<usize, (Provenance, Option<String>)> = HashMap::new();
        let mut kept = Vec::with_capacity(valid.len());
        let mut refused = rejected;
        for (i, o) in valid {
            let is_manifest = o.object_type == provenance::extension::MANIFEST_TYPE;
            let signed_by = manifests.iter().find(|m| m.id == o.id);
            let state = match index.state_of(&o.raw) {
                // A manifest is not listed in itself: its own signature is
                // what vouches for it.
                _ if signed_by.is_some() => (
                    Provenance::Verified,
                    signed_by.map(|m| m.origin.to_string()),
                ),
                ProvenanceState::Verified { origin, .. } => {
                    (Provenance::Verified, Some(origin.to_string()))
                }
                ProvenanceState::Unsigned => (Provenance::Unsigned, None),
                ProvenanceState::Invalid { .. } => (Provenance::Invalid, None),
            };
            let vouched = is_manifest && signed_by.is_some();
            if peer.refuse_unsigned && state.0 != Provenance::Verified && !vouched {
                refused.push(stix::Rejection {
                    index: i,
                    id: Some(o.id.clone()),
                    version: o.version(),
                    problems: vec![stix::Problem {
                        path: "$".into(),
                        reason: format!(
                            "its provenance is {} and peer {} takes verified content only",
                            state.0.as_str(),
                            peer.name
                        ),
                    }],
                });
                continue;
            }
            found.insert(i, state);
            kept.push((i, o));
        }
        let report = self.ingest_with(
            &acting,
            &collection,
            kept,
            refused,
            &Default::default(),
            Some(&PeerIngest {
                provenance: found,
                job: job.id,
                cursor,
            }),
        )?;
        if !manifests.is_empty() {
            self.upgrade_provenance(&collection, peer, index, &manifests)?;
        }
        Ok(report)
    }

    /// Objects of `peer` stored before the manifests that list them arrived:
    /// their provenance now.
    fn upgrade_provenance(
        &self,
        collection: &Collection,
        peer: &Peer,
        index: &ProvenanceIndex,
        manifests: &[provenance::VerifiedManifest],
    ) -> Result<()> {
        let ids: Vec<String> = manifests
            .iter()
            .flat_map(|m| m.entries.iter().map(|e| e.id.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut updates = Vec::new();
        for chunk in ids.chunks(200) {
            let query = ObjectQuery {
                ids: chunk.to_vec(),
                versions: VersionMatch::all(),
                limit: 10_000,
                with_raw: true,
                ..Default::default()
            };
            let page = self.store.query_objects(collection.key, &query)?;
            for o in page.items {
                if o.origin_org != Some(peer.org) || o.provenance != Provenance::Unsigned {
                    continue;
                }
                match index.state_of(&o.raw) {
                    ProvenanceState::Verified { origin, .. } => {
                        updates.push((o.date_added, Provenance::Verified, Some(origin.to_string())))
                    }
                    ProvenanceState::Invalid { .. } => {
                        updates.push((o.date_added, Provenance::Invalid, None))
                    }
                    ProvenanceState::Unsigned => {}
                }
            }
        }
        Ok(self.store.set_provenance(&updates)?)
    }

    /// A page of what `peer` may receive from `job`'s local collection after
    /// `after`: the read gate as the peer's organisation, within its ceiling,
    /// less what came from that peer or was signed by it.
    pub fn outgoing_page(
        &self,
        peer: &Peer,
        job: &SyncJob,
        after: Option<Timestamp>,
        limit: usize,
    ) -> Result<ExportPage> {
        let collection = self.job_collection(job)?;
        let acting = self.peer_principal(peer)?;
        let query = ObjectQuery {
            added_after: after,
            versions: VersionMatch::all(),
            limit: limit.max(1),
            with_raw: true,
            ..Default::default()
        };
        let page = self.export_page(&acting, &collection, &query)?;
        let mut out = ExportPage {
            more: page.more,
            resume_after: page
                .resume_after
                .or(page.items.last().map(|o| o.date_added)),
            withheld: page.withheld,
            items: Vec::with_capacity(page.items.len()),
        };
        for o in page.items {
            let from_peer = o.origin_org == Some(peer.org);
            let signed_by_peer = o
                .origin_node
                .as_ref()
                .is_some_and(|n| peer.keys.contains(n));
            if from_peer || signed_by_peer {
                out.withheld += 1;
            } else {
                out.items.push(o);
            }
        }
        Ok(out)
    }

    /// Records a run of a job.
    pub fn record_sync_run(
        &self,
        job: &SyncJob,
        cursor: Option<Timestamp>,
        stats: SyncStats,
        error: Option<&str>,
    ) -> Result<()> {
        Ok(self
            .store
            .record_run(job.id, cursor, stats, error, store::now())?)
    }

    pub fn record_push_failures(&self, failures: &[PushFailure]) -> Result<()> {
        Ok(self.store.record_push_failures(failures)?)
    }

    /// The latest push failures of a job.
    pub fn push_failures(&self, job: &SyncJob, limit: usize) -> Result<Vec<PushFailure>> {
        Ok(self.store.push_failures(job.id, limit)?)
    }

    /// Every version of `id` in `collection` the principal may see, with
    /// its provenance (newest first is the caller's choice).
    pub fn provenance_of(
        &self,
        principal: &Principal,
        collection: &Collection,
        id: &str,
    ) -> Result<Vec<store::StoredObject>> {
        let query = ObjectQuery {
            ids: vec![id.to_string()],
            versions: VersionMatch::all(),
            limit: 1000,
            ..Default::default()
        };
        let page = self.read(principal, collection, &query)?;
        if page.items.is_empty() {
            return Err(NodeError::NotFound(format!(
                "object {id} is not in this collection"
            )));
        }
        Ok(page.items)
    }
}

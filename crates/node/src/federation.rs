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
//!   origin's signed manifest proves (`verified`), or `unsigned`/`invalid`,
//!   whether it was pulled or pushed here (posted by a peer's organisation,
//!   see [`Node::pushed_provenance`]): this node never signs it as its own.

use provenance::{Fingerprint, PinnedKeys, ProvenanceIndex, ProvenanceState};
use serde_json::value::RawValue;
use sharing::{OrgId, Principal, Role, Tlp};
use stix::{StixObject, Timestamp};
use store::{
    Collection, Direction, NewPeer, ObjectQuery, Peer, Provenance, PushFailure, SyncJob, SyncStats,
    VersionMatch,
};

use crate::export::ExportPage;
use crate::ingest::{Arrival, PeerIngest, Vouched};
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
    /// Allow `http://` to a host other than loopback (the token and the
    /// content would travel in clear text).
    pub allow_plain_http: bool,
    /// The local organisation that receives the TLP:AMBER+STRICT content
    /// the peer sends without naming recipients here (`None`: node
    /// administrators only).
    pub strict_recipient: Option<String>,
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

/// Key fingerprints as an operator gives them, checked and in one spelling.
fn fingerprints(given: &[String]) -> Result<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    for k in given {
        let fp: Fingerprint = k.parse().map_err(|e| {
            NodeError::Unprocessable(format!(
                "--key {k:?} is not a key fingerprint ({e}); `entente node keys` on the peer prints it"
            ))
        })?;
        let fp = fp.to_string();
        if !keys.contains(&fp) {
            keys.push(fp);
        }
    }
    Ok(keys)
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
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // The URL is printed, listed and written to the append-only audit
        // log: credentials in it would be there for good. (Not echoed here.)
        if authority.contains('@') {
            return Err(NodeError::Unprocessable(
                "--url holds a user name or password: give the URL without them, and the credentials in --token-file (a token, or user:password)".into(),
            ));
        }
        if scheme == "http" && !request.allow_plain_http && !loopback_url(url) {
            return Err(NodeError::Unprocessable(format!(
                "--url {url:?}: plain HTTP to another host would send the token and the content in clear text; use https, or --allow-plain-http for a network you trust"
            )));
        }
        let keys = fingerprints(&request.keys)?;
        let max_tlp = request.max_tlp.unwrap_or(Tlp::AmberStrict);
        if max_tlp == Tlp::Red {
            return Err(NodeError::Unprocessable(
                "--max-tlp red: TLP:RED never leaves the node; use amber+strict or below".into(),
            ));
        }
        let org = self.org_named(&request.org)?;
        self.may_stand_for_a_peer(&org)?;
        let strict_recipient = match &request.strict_recipient {
            Some(name) => Some(self.strict_recipient_org(name, org.id)?),
            None => None,
        };
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
                "peer {} at {base} for {} (at most {max_tlp}{}; its TLP:AMBER+STRICT for {})",
                request.name,
                org.name,
                if request.refuse_unsigned {
                    ", verified content only"
                } else {
                    ""
                },
                strict_recipient
                    .as_ref()
                    .map_or("node administrators only", |o| o.name.as_str())
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
                strict_recipient: strict_recipient.map(|o| o.id),
            },
            &entry,
        )?)
    }

    /// The organisation named to receive a peer's TLP:AMBER+STRICT: an
    /// organisation of this node that does not stand for a peer itself
    /// (what a node receives there is never relayed to another node).
    fn strict_recipient_org(&self, name: &str, peer_org: OrgId) -> Result<store::Org> {
        let org = self.org_named(name)?;
        let stands_for_a_peer =
            org.id == peer_org || self.store.peers()?.iter().any(|p| p.org == org.id);
        if stands_for_a_peer {
            return Err(NodeError::Unprocessable(format!(
                "--strict-recipient {:?} stands for a peer node; name the local organisation that receives TLP:AMBER+STRICT here (the one that runs this node, typically)",
                org.name
            )));
        }
        Ok(org)
    }

    /// Refuses to let `org` stand for a peer when it is some peer's strict
    /// recipient: the rule of [`Node::strict_recipient_org`] from the other
    /// side, so that it holds whichever is set first. (An organisation that
    /// stood for a peer would receive another node's AMBER+STRICT, which is
    /// never relayed: the relay guard would keep it from its own users too.)
    fn may_stand_for_a_peer(&self, org: &store::Org) -> Result<()> {
        let receives: Vec<String> = self
            .store
            .peers()?
            .into_iter()
            .filter(|p| p.strict_recipient == Some(org.id))
            .map(|p| p.name)
            .collect();
        if receives.is_empty() {
            return Ok(());
        }
        let peers = receives.join(", ");
        Err(NodeError::Unprocessable(format!(
            "--org {:?} receives the TLP:AMBER+STRICT content of peer {peers} and so may not stand for a peer node (what it receives is never relayed); name another organisation, or first give peer {peers} another strict recipient (`peer strict-recipient`)",
            org.name
        )))
    }

    /// Sets (or, with `None`, clears) the local organisation that receives
    /// the TLP:AMBER+STRICT content `name` sends without naming recipients
    /// here (node administrators). Objects already stored keep the
    /// audience they were stored with.
    pub fn set_peer_strict_recipient(
        &self,
        principal: &Principal,
        name: &str,
        org: Option<&str>,
    ) -> Result<Peer> {
        let mut peer = self.peer(principal, name)?;
        let org = match org {
            Some(o) => Some(self.strict_recipient_org(o, peer.org)?),
            None => None,
        };
        if let Some(o) = &org {
            for job in self.store.jobs(peer.id)? {
                if job.direction == Direction::Pull {
                    let local = self.job_collection(&job)?;
                    self.strict_recipient_reads(&peer, o, &local)?;
                }
            }
        }
        let entry = Node::entry(
            principal,
            "peer-strict-recipient",
            None,
            Vec::new(),
            format!(
                "peer {}: its TLP:AMBER+STRICT for {}",
                peer.name,
                org.as_ref()
                    .map_or("node administrators only", |o| o.name.as_str())
            ),
        );
        self.store
            .set_peer_strict_recipient(peer.id, org.as_ref().map(|o| o.id), &entry)?;
        peer.strict_recipient = org.map(|o| o.id);
        Ok(peer)
    }

    /// Refuses a pull into `local` whose designated AMBER+STRICT recipient
    /// could not read it (what it is to receive would reach no one).
    fn strict_recipient_reads(
        &self,
        peer: &Peer,
        recipient: &store::Org,
        local: &Collection,
    ) -> Result<()> {
        let members = self.member_orgs(&local.policy(), &mut Default::default())?;
        if members.contains(&recipient.id) {
            Ok(())
        } else {
            Err(NodeError::Forbidden(format!(
                "{:?}, which receives the TLP:AMBER+STRICT content of peer {}, may not read collection {}: make it a member of the collection's community (or its owner)",
                recipient.name, peer.name, local.id
            )))
        }
    }

    /// Replaces the signing keys pinned for a peer (node administrators):
    /// after the peer rotates its key, pin the new one (and keep the old one
    /// for what it signed before, or drop it).
    pub fn pin_peer_keys(
        &self,
        principal: &Principal,
        name: &str,
        keys: &[String],
    ) -> Result<Peer> {
        let mut peer = self.peer(principal, name)?;
        let keys = fingerprints(keys)?;
        let entry = Node::entry(
            principal,
            "peer-keys",
            None,
            Vec::new(),
            format!(
                "peer {} pins {}",
                peer.name,
                if keys.is_empty() {
                    "no key".to_string()
                } else {
                    keys.join(", ")
                }
            ),
        );
        self.store.set_peer_keys(peer.id, &keys, &entry)?;
        peer.keys = keys;
        Ok(peer)
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
        self.guard_relays(
            self.user_principal(&user)?
                .with_ceiling(peer.max_tlp.min(Tlp::AmberStrict)),
        )
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
        // A TAXII collection id is a UUID; an Entente node also answers to
        // an alias. Anything else is a typo that would fail on every run.
        let uuid = uuid::Uuid::parse_str(remote_collection).is_ok();
        let alias = (1..=64).contains(&remote_collection.len())
            && remote_collection
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
            && !remote_collection.bytes().all(|c| c == b'.');
        if !uuid && !alias {
            return Err(NodeError::Unprocessable(format!(
                "--remote-collection {:?} is not a collection id (a UUID such as 91a7b528-80eb-42ed-a74d-c6fbd5a26116, or an Entente node's alias)",
                remote_collection.chars().take(80).collect::<String>()
            )));
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
        if direction == Direction::Pull
            && let Some(recipient) = peer.strict_recipient
        {
            let org = self.store.org_by_id(recipient)?.ok_or_else(|| {
                NodeError::NotFound(format!(
                    "the organisation that receives peer {}'s TLP:AMBER+STRICT no longer exists",
                    peer.name
                ))
            })?;
            self.strict_recipient_reads(&peer, &org, &local)?;
        }
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
        let (manifests, found) = vouched_for(&valid, index, &Node::pinned_keys(peer));
        let settled = settled(&valid, &found);
        let mut kept = Vec::with_capacity(valid.len());
        let mut refused = rejected;
        for (i, o) in valid {
            let state = found
                .get(&i)
                .cloned()
                .unwrap_or((Provenance::Unsigned, None));
            // A manifest signed by a pinned key is verified by its own
            // signature.
            if peer.refuse_unsigned && state.0 != Provenance::Verified {
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
            kept.push((i, self.with_handled_tlp(o, state.0, index)));
        }
        let report = self.ingest_with(
            &acting,
            &collection,
            kept,
            refused,
            &Default::default(),
            Arrival::Pulled(&PeerIngest {
                provenance: found,
                job: job.id,
                cursor,
            }),
        )?;
        self.upgrade_provenance(&collection, peer.org, index, &manifests, &settled)?;
        Ok(report)
    }

    /// What a peer's organisation posts (a push to this node, or an import
    /// as one of its users): the provenance of each object as a pull from
    /// that peer would find it, from the manifests among `objects` signed by
    /// a key pinned for it (for any peer of that organisation). `None` for
    /// any other poster: what it posts is this node's to sign.
    pub(crate) fn pushed_provenance(
        &self,
        principal: &Principal,
        objects: &[(usize, StixObject)],
    ) -> Result<Option<Pushed>> {
        let Some(org) = principal.org() else {
            return Ok(None);
        };
        let peers: Vec<Peer> = self
            .store
            .peers()?
            .into_iter()
            .filter(|p| p.org == org)
            .collect();
        if peers.is_empty() {
            return Ok(None);
        }
        let pinned: PinnedKeys = peers
            .iter()
            .flat_map(|p| p.keys.iter().filter_map(|k| k.parse().ok()))
            .collect();
        let mut index = ProvenanceIndex::new(pinned.clone());
        let (manifests, found) = vouched_for(objects, &mut index, &pinned);
        Ok(Some(Pushed {
            org,
            index,
            manifests,
            settled: settled(objects, &found),
            found,
        }))
    }

    /// Objects of `org` (a peer's organisation) stored before the manifests
    /// that list them arrived: their provenance now. The index kept the digests of what it assessed
    /// in this run, so most need only their rows; the others (stored by an
    /// earlier run, or past the index's bound) are read and hashed again.
    pub(crate) fn upgrade_provenance(
        &self,
        collection: &Collection,
        org: OrgId,
        index: &mut ProvenanceIndex,
        manifests: &[provenance::VerifiedManifest],
        settled: &Settled,
    ) -> Result<()> {
        if manifests.is_empty() {
            return Ok(());
        }
        // What the same arrival stored verified needs nothing (in a pull,
        // most of what a manifest lists: see `federation::sync`).
        let ids: Vec<String> = manifests
            .iter()
            .flat_map(|m| m.entries.iter())
            .filter(|e| {
                let version = e.version.as_deref().and_then(|v| Timestamp::parse(v).ok());
                !settled.contains(&(e.id.clone(), version))
            })
            .map(|e| e.id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // Per id, each version assessed and its state now.
        type Versions = Vec<(Option<Timestamp>, ProvenanceState)>;
        let mut known: std::collections::HashMap<String, Versions> =
            std::collections::HashMap::new();
        for id in &ids {
            let parsed: Option<Versions> = index.take_unclaimed(id).and_then(|states| {
                states
                    .into_iter()
                    .map(|(v, s)| match v {
                        None => Some((None, s)),
                        Some(v) => Timestamp::parse(&v).ok().map(|t| (Some(t), s)),
                    })
                    .collect()
            });
            // Several unversioned copies: which row is which takes the text.
            if let Some(v) = parsed
                && !(v.len() > 1 && v.iter().any(|(t, _)| t.is_none()))
            {
                known.insert(id.clone(), v);
            }
        }
        let provenance_of = |state: &ProvenanceState| match state {
            ProvenanceState::Verified { origin, .. } => {
                Some((Provenance::Verified, Some(origin.to_string())))
            }
            ProvenanceState::Invalid { .. } => Some((Provenance::Invalid, None)),
            ProvenanceState::Unsigned => None,
        };
        let rows = |ids: &[String], with_raw: bool| {
            let query = ObjectQuery {
                ids: ids.to_vec(),
                versions: VersionMatch::all(),
                limit: 10_000,
                with_raw,
                ..Default::default()
            };
            Ok::<_, NodeError>(
                self.store
                    .query_objects(collection.key, &query)?
                    .items
                    .into_iter()
                    .filter(|o| o.origin_org == Some(org) && o.provenance == Provenance::Unsigned),
            )
        };
        // The rows still unsigned, by key; those the index kept no digest
        // of are read again with their text.
        let mut updates = Vec::new();
        let mut need_text = std::collections::BTreeSet::new();
        for chunk in ids.chunks(200) {
            for o in rows(chunk, false)? {
                match known.get(&o.id) {
                    Some(versions) => {
                        let now = versions
                            .iter()
                            .find(|(v, _)| v.is_none_or(|v| v == o.version))
                            .and_then(|(_, s)| provenance_of(s));
                        if let Some((p, node)) = now {
                            updates.push((o.date_added, p, node));
                        }
                    }
                    None => {
                        need_text.insert(o.id);
                    }
                }
            }
        }
        let need_text: Vec<String> = need_text.into_iter().collect();
        for chunk in need_text.chunks(200) {
            for o in rows(chunk, true)? {
                if let Some((p, node)) = provenance_of(&index.state_of(&o.raw)) {
                    updates.push((o.date_added, p, node));
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

impl Node {
    /// A verified object that has no TLP marking of its own, with the TLP
    /// its origin's signed manifest handles it at made explicit: the form
    /// its origin serves to peers. A relay that took the marking off leaves
    /// an object the origin signed as posted, which this node would
    /// otherwise store at its own collection's default. For pulls and
    /// pushes alike.
    pub(crate) fn with_handled_tlp(
        &self,
        object: StixObject,
        provenance: Provenance,
        index: &ProvenanceIndex,
    ) -> StixObject {
        if provenance != Provenance::Verified
            || object.object_type == provenance::extension::MANIFEST_TYPE
        {
            return object;
        }
        let markings = index.handling_markings(&object.raw);
        let Some(tlp) = stix::Tlp::most_restrictive(markings.iter().map(String::as_str)) else {
            return object;
        };
        let Some(marked) = stix::tlp::with_explicit_marking(&object.raw, tlp) else {
            return object;
        };
        match self.validator.validate_str(0, &marked) {
            Ok(valid) => valid,
            Err(_) => object,
        }
    }
}

/// What a peer's organisation posted: the provenance found for each object,
/// and what upgrades the objects it posted earlier.
pub(crate) struct Pushed {
    pub(crate) org: OrgId,
    pub(crate) index: ProvenanceIndex,
    pub(crate) manifests: Vec<provenance::VerifiedManifest>,
    pub(crate) found: Vouched,
    pub(crate) settled: Settled,
}

/// What the manifests among `objects` prove, once added to `index` (which
/// may hold manifests seen earlier): the manifests a `pinned` key signed,
/// and each object's provenance by its position in the input. A manifest
/// is not listed in itself: its own signature vouches for it.
/// The (id, version) pairs among `objects` that `found` stored verified:
/// a manifest that lists them has nothing to upgrade there.
pub(crate) fn settled(objects: &[(usize, StixObject)], found: &Vouched) -> Settled {
    objects
        .iter()
        .filter(|(i, _)| found.get(i).is_some_and(|s| s.0 == Provenance::Verified))
        .map(|(_, o)| (o.id.clone(), o.version()))
        .collect()
}

/// See [`settled`].
pub(crate) type Settled = std::collections::HashSet<(String, Option<Timestamp>)>;

fn vouched_for(
    objects: &[(usize, StixObject)],
    index: &mut ProvenanceIndex,
    pinned: &PinnedKeys,
) -> (Vec<provenance::VerifiedManifest>, Vouched) {
    let mut manifests = Vec::new();
    for (_, o) in objects {
        if o.object_type == provenance::extension::MANIFEST_TYPE
            && index.add_manifest(&o.raw).is_ok()
            && let Ok(verified) = provenance::verify_manifest(&o.raw, pinned)
        {
            manifests.push(verified);
        }
    }
    let found = objects
        .iter()
        .map(|(i, o)| {
            // A manifest is not listed in itself: its own signature is what
            // vouches for it. Other objects are hashed once (`assess` keeps
            // the digest of what no manifest lists yet).
            let signed_by = manifests.iter().find(|m| m.id == o.id);
            let state = match signed_by {
                Some(m) => (Provenance::Verified, Some(m.origin.to_string())),
                None => match index.assess(&o.raw) {
                    ProvenanceState::Verified { origin, .. } => {
                        (Provenance::Verified, Some(origin.to_string()))
                    }
                    ProvenanceState::Unsigned => (Provenance::Unsigned, None),
                    ProvenanceState::Invalid { .. } => (Provenance::Invalid, None),
                },
            };
            (*i, state)
        })
        .collect();
    (manifests, found)
}

/// Whether an `http://` URL names this machine (`localhost`, 127.0.0.0/8, `[::1]`).
fn loopback_url(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    // The authority ends at the path, the query or the fragment (and at a
    // backslash, which WHATWG parsers read as a slash): in
    // `http://192.0.2.10?@127.0.0.1/` the host is 192.0.2.10.
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::loopback_url;

    #[test]
    fn only_loopback_urls_count_as_loopback() {
        for url in [
            "http://127.0.0.1:8080/api1/",
            "http://localhost/api1/",
            "http://[::1]:9000/api1/",
            "http://127.1.2.3/",
        ] {
            assert!(loopback_url(url), "{url}");
        }
        for url in [
            "http://192.0.2.10/api1/",
            "http://127.0.0.1.evil.example/api1/",
            "http://localhost.evil.example/",
            "http://user@192.0.2.1/",
            "http://[2001:db8::1]/",
            // The authority ends at `?` or `#`: what follows is not the host.
            "http://192.0.2.10?@127.0.0.1/api1/",
            "http://cti.example.org#@localhost/api1/",
            "http://cti.example.org?x=127.0.0.1",
            "http://cti.example.org\\@127.0.0.1/api1/",
        ] {
            assert!(!loopback_url(url), "{url}");
        }
    }
}

//! The node's metrics: how long each store operation takes (measured
//! here, over any backend, by wrapping the store), what ingest did with
//! each object, and how busy the database connections are.
//!
//! Only fixed vocabularies become labels: the store operation's name, the
//! ingest outcome, the refusal reason, where objects came from (a client or
//! a peer). Never a collection, an object, an organisation or a TLP.

use std::sync::Arc;
use std::time::Instant;

use entente_metrics::Metrics;
use sharing::{CommunityId, OrgId, Role, UserId};
use stix::Timestamp;
use store::*;

use crate::{IngestOutcome, Node, Outcome, RefusalReason};

/// Reports how busy the database connections are.
pub(crate) type ConnectionUse = Arc<dyn Fn() -> Vec<PoolUse> + Send + Sync>;

impl Node {
    /// Records metrics into `metrics` from now on: every store operation's
    /// latency, every ingest outcome, and (at scrape time) the database
    /// connections' use. Call before cloning the node for its workers.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Node {
        self.store = Arc::new(TimedStore {
            inner: self.store,
            metrics: metrics.clone(),
        });
        if let Some(connections) = self.connection_use.clone() {
            metrics.add_collector(move |scrape| {
                for p in connections() {
                    scrape.pool(entente_metrics::PoolUse {
                        pool: p.pool,
                        busy: p.busy,
                        idle: p.idle,
                        waiting: p.waiting,
                    });
                }
            });
        }
        self.metrics = Some(metrics);
        self
    }

    /// Counts what ingest did with each object.
    pub(crate) fn count_ingested(&self, outcomes: &[IngestOutcome], from_peer: bool) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let via = if from_peer { "peer" } else { "client" };
        let (mut stored, mut duplicates) = (0u64, 0u64);
        let mut refused = [0u64; RefusalReason::ALL.len()];
        for o in outcomes {
            match &o.outcome {
                Outcome::Stored(_) => stored += 1,
                Outcome::Duplicate => duplicates += 1,
                Outcome::Refused { reason, .. } => {
                    let i = RefusalReason::ALL
                        .iter()
                        .position(|r| r == reason)
                        .unwrap_or(0);
                    refused[i] += 1;
                }
            }
        }
        metrics.ingested(via, "stored", stored);
        metrics.ingested(via, "duplicate", duplicates);
        for (reason, n) in RefusalReason::ALL.iter().zip(refused) {
            metrics.rejected(via, reason.as_str(), n);
        }
    }
}

/// A store that times every call of the store it wraps.
struct TimedStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

/// Calls the wrapped store's method and records how long it took under
/// the method's name.
macro_rules! timed {
    ($self:ident . $op:ident ( $($arg:expr),* )) => {{
        let started = Instant::now();
        let result = $self.inner.$op($($arg),*);
        $self.metrics.store_operation(stringify!($op), started.elapsed());
        result
    }};
}

impl ObjectStore for TimedStore {
    fn add_objects(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
        audit: &AuditEntry,
    ) -> Result<Vec<AddOutcome>> {
        timed!(self.add_objects(collection, objects, guard, audit))
    }
    fn query_objects(&self, collection: i64, query: &ObjectQuery) -> Result<Page> {
        timed!(self.query_objects(collection, query))
    }
    fn delete_rows(
        &self,
        collection: i64,
        id: &str,
        rows: &[Timestamp],
        audit: &AuditEntry,
    ) -> Result<usize> {
        timed!(self.delete_rows(collection, id, rows, audit))
    }
    fn copies(&self, ids: &[String]) -> Result<Vec<CopyRecord>> {
        timed!(self.copies(ids))
    }
    fn marking_definitions(&self, ids: &[String]) -> Result<Vec<(String, String)>> {
        timed!(self.marking_definitions(ids))
    }
    fn pending_signature(&self, limit: usize) -> Result<Vec<PendingObject>> {
        timed!(self.pending_signature(limit))
    }
    fn add_manifest(
        &self,
        collection: i64,
        manifest: &Ingest,
        covers: &[Timestamp],
        expires: Option<Timestamp>,
        audit: &AuditEntry,
    ) -> Result<()> {
        timed!(self.add_manifest(collection, manifest, covers, expires, audit))
    }
    fn set_provenance(&self, rows: &[(Timestamp, Provenance, Option<String>)]) -> Result<()> {
        timed!(self.set_provenance(rows))
    }
    fn withdraw_manifests(&self, rows: &[Timestamp], audit: &AuditEntry) -> Result<Vec<String>> {
        timed!(self.withdraw_manifests(rows, audit))
    }
    fn withdraw_expired_manifests(
        &self,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<String>> {
        timed!(self.withdraw_expired_manifests(now, audit))
    }
    fn manifest_listing(
        &self,
        manifests: &[Timestamp],
    ) -> Result<Vec<(Timestamp, Timestamp, String)>> {
        timed!(self.manifest_listing(manifests))
    }
    fn signed_rows_mentioning(
        &self,
        collection: i64,
        text: &str,
    ) -> Result<Vec<(Timestamp, Option<sharing::OrgId>)>> {
        timed!(self.signed_rows_mentioning(collection, text))
    }
}

impl PeerStore for TimedStore {
    fn create_peer(&self, new: &NewPeer, audit: &AuditEntry) -> Result<Peer> {
        timed!(self.create_peer(new, audit))
    }
    fn peers(&self) -> Result<Vec<Peer>> {
        timed!(self.peers())
    }
    fn peer(&self, name: &str) -> Result<Option<Peer>> {
        timed!(self.peer(name))
    }
    fn set_peer_keys(&self, peer: i64, keys: &[String], audit: &AuditEntry) -> Result<()> {
        timed!(self.set_peer_keys(peer, keys, audit))
    }
    fn set_peer_strict_recipient(
        &self,
        peer: i64,
        org: Option<OrgId>,
        audit: &AuditEntry,
    ) -> Result<()> {
        timed!(self.set_peer_strict_recipient(peer, org, audit))
    }
    fn create_job(
        &self,
        peer: i64,
        direction: Direction,
        remote_collection: &str,
        collection: i64,
        audit: &AuditEntry,
    ) -> Result<SyncJob> {
        timed!(self.create_job(peer, direction, remote_collection, collection, audit))
    }
    fn jobs(&self, peer: i64) -> Result<Vec<SyncJob>> {
        timed!(self.jobs(peer))
    }
    fn add_pulled(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
        audit: &AuditEntry,
        progress: &PullProgress<'_>,
    ) -> Result<Vec<AddOutcome>> {
        timed!(self.add_pulled(collection, objects, guard, audit, progress))
    }
    fn record_run(
        &self,
        job: i64,
        cursor: Option<Timestamp>,
        stats: SyncStats,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        timed!(self.record_run(job, cursor, stats, error, at))
    }
    fn record_push_failures(&self, failures: &[PushFailure]) -> Result<()> {
        timed!(self.record_push_failures(failures))
    }
    fn push_failures(&self, job: i64, limit: usize) -> Result<Vec<PushFailure>> {
        timed!(self.push_failures(job, limit))
    }
}

impl DirectoryStore for TimedStore {
    fn api_roots(&self) -> Result<Vec<ApiRoot>> {
        timed!(self.api_roots())
    }
    fn api_root(&self, path: &str) -> Result<Option<ApiRoot>> {
        timed!(self.api_root(path))
    }
    fn create_api_root(&self, root: &ApiRoot, audit: &AuditEntry) -> Result<()> {
        timed!(self.create_api_root(root, audit))
    }
    fn collections(&self, api_root: &str) -> Result<Vec<Collection>> {
        timed!(self.collections(api_root))
    }
    fn all_collections(&self) -> Result<Vec<Collection>> {
        timed!(self.all_collections())
    }
    fn collection(&self, id: &str) -> Result<Option<Collection>> {
        timed!(self.collection(id))
    }
    fn collection_by_key(&self, key: i64) -> Result<Option<Collection>> {
        timed!(self.collection_by_key(key))
    }
    fn create_collection(&self, new: &NewCollection, audit: &AuditEntry) -> Result<Collection> {
        timed!(self.create_collection(new, audit))
    }
    fn set_hide_expired(&self, collection: i64, hide: bool, audit: &AuditEntry) -> Result<()> {
        timed!(self.set_hide_expired(collection, hide, audit))
    }
    fn create_org(&self, name: &str, identity_id: &str, audit: &AuditEntry) -> Result<Org> {
        timed!(self.create_org(name, identity_id, audit))
    }
    fn orgs(&self) -> Result<Vec<Org>> {
        timed!(self.orgs())
    }
    fn org_by_id(&self, id: OrgId) -> Result<Option<Org>> {
        timed!(self.org_by_id(id))
    }
    fn org(&self, name_or_identity: &str) -> Result<Option<Org>> {
        timed!(self.org(name_or_identity))
    }
    fn create_user(&self, org: OrgId, name: &str, role: Role, audit: &AuditEntry) -> Result<User> {
        timed!(self.create_user(org, name, role, audit))
    }
    fn users(&self) -> Result<Vec<User>> {
        timed!(self.users())
    }
    fn user(&self, path: &str) -> Result<Option<User>> {
        timed!(self.user(path))
    }
    fn create_community(
        &self,
        name: &str,
        show_members: bool,
        audit: &AuditEntry,
    ) -> Result<Community> {
        timed!(self.create_community(name, show_members, audit))
    }
    fn communities(&self) -> Result<Vec<Community>> {
        timed!(self.communities())
    }
    fn community(&self, name: &str) -> Result<Option<Community>> {
        timed!(self.community(name))
    }
    fn add_member(
        &self,
        community: CommunityId,
        org: OrgId,
        pseudonymous: bool,
        audit: &AuditEntry,
    ) -> Result<()> {
        timed!(self.add_member(community, org, pseudonymous, audit))
    }
    fn members(&self, community: CommunityId) -> Result<Vec<Membership>> {
        timed!(self.members(community))
    }
    fn memberships(&self, org: OrgId) -> Result<Vec<Membership>> {
        timed!(self.memberships(org))
    }
    fn pseudonymous_memberships(&self) -> Result<Vec<Membership>> {
        timed!(self.pseudonymous_memberships())
    }
    fn node_secret(&self) -> Result<Vec<u8>> {
        timed!(self.node_secret())
    }
    fn create_token(&self, new: &NewToken, audit: &AuditEntry) -> Result<TokenRecord> {
        timed!(self.create_token(new, audit))
    }
    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        timed!(self.token_by_hash(secret_hash))
    }
    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        timed!(self.tokens())
    }
    fn revoke_token(
        &self,
        id_or_name: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> Result<TokenRecord> {
        timed!(self.revoke_token(id_or_name, at, audit))
    }
    fn touch_token(&self, id: i64, at: Timestamp, audit: &AuditEntry) -> Result<()> {
        timed!(self.touch_token(id, at, audit))
    }
}

impl AuditStore for TimedStore {
    fn append_audit_batch(&self, entries: &[AuditEntry]) -> Result<()> {
        timed!(self.append_audit_batch(entries))
    }
    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        timed!(self.audit(filter))
    }
    fn audit_chain(&self) -> Result<Vec<AuditRecord>> {
        timed!(self.audit_chain())
    }
}

impl StatusStore for TimedStore {
    fn put_status(&self, status: &StatusRecord) -> Result<()> {
        timed!(self.put_status(status))
    }
    fn status(&self, id: &str) -> Result<Option<StatusRecord>> {
        timed!(self.status(id))
    }
    fn purge_statuses(&self, before: Timestamp) -> Result<usize> {
        timed!(self.purge_statuses(before))
    }
}

impl IncidentStore for TimedStore {
    fn create_incident(&self, new: &NewIncident, audit: &AuditEntry) -> Result<StoredIncident> {
        timed!(self.create_incident(new, audit))
    }
    fn incident(&self, id: &str) -> Result<Option<StoredIncident>> {
        timed!(self.incident(id))
    }
    fn incidents(&self, org: Option<OrgId>) -> Result<Vec<StoredIncident>> {
        timed!(self.incidents(org))
    }
    fn update_incident(
        &self,
        change: &RecordChange<'_>,
        audit: &AuditEntry,
    ) -> Result<StoredIncident> {
        timed!(self.update_incident(change, audit))
    }
    fn record_submission(
        &self,
        change: &RecordChange<'_>,
        submission: &NewSubmission,
        audit: &AuditEntry,
    ) -> Result<(StoredIncident, SubmissionRecord)> {
        timed!(self.record_submission(change, submission, audit))
    }
    fn submissions(&self, incident: &str) -> Result<Vec<SubmissionRecord>> {
        timed!(self.submissions(incident))
    }
    fn incident_versions(&self, incident: &str) -> Result<Vec<IncidentVersion>> {
        timed!(self.incident_versions(incident))
    }
}

impl ConsoleStore for TimedStore {
    fn day_counts(&self, classes: &[i64], since_day: i64) -> Result<Vec<DayCount>> {
        timed!(self.day_counts(classes, since_day))
    }
    fn ranked_counts(&self, classes: &[i64], since_day: i64) -> Result<Vec<(String, u64)>> {
        timed!(self.ranked_counts(classes, since_day))
    }
    fn expired_indicators(
        &self,
        collection: i64,
        at: Timestamp,
        limit: usize,
    ) -> Result<Vec<String>> {
        timed!(self.expired_indicators(collection, at, limit))
    }
    fn count_classes(&self, after: i64) -> Result<Vec<(i64, sharing::console::CountClass)>> {
        timed!(self.count_classes(after))
    }
    fn audiences(&self, after: i64) -> Result<Vec<(i64, Vec<sharing::AudienceKey>)>> {
        timed!(self.audiences(after))
    }
    fn uncounted(
        &self,
        scope: &CountScope,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<(StoredObject, Vec<String>)>> {
        timed!(self.uncounted(scope, since, limit))
    }
    fn pending_counts(&self, limit: usize) -> Result<Vec<PendingCount>> {
        timed!(self.pending_counts(limit))
    }
    fn settle_counts(
        &self,
        decisions: &[(Timestamp, i64, Option<sharing::console::CountClass>)],
    ) -> Result<usize> {
        timed!(self.settle_counts(decisions))
    }
    fn backfill_console(&self, extract: &mut dyn FnMut(&str) -> ConsoleFacts) -> Result<usize> {
        timed!(self.backfill_console(extract))
    }
    fn row_classes(&self, rows: &[Timestamp]) -> Result<Vec<(Timestamp, Option<i64>, bool)>> {
        timed!(self.row_classes(rows))
    }
    fn list_newest(&self, scopes: &[CountScope], query: &ListQuery) -> Result<ListPage> {
        timed!(self.list_newest(scopes, query))
    }
    fn referrers(&self, id: &str, limit: usize) -> Result<Vec<(i64, StoredObject)>> {
        timed!(self.referrers(id, limit))
    }
    fn latest_audit(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        timed!(self.latest_audit(limit))
    }
}

impl SessionStore for TimedStore {
    fn set_password(&self, user: UserId, phc: &str, audit: &AuditEntry) -> Result<()> {
        timed!(self.set_password(user, phc, audit))
    }
    fn password(&self, user: UserId) -> Result<Option<String>> {
        timed!(self.password(user))
    }
    fn create_session(&self, new: &NewSession, audit: &AuditEntry) -> Result<()> {
        timed!(self.create_session(new, audit))
    }
    fn session(&self, secret_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        timed!(self.session(secret_hash))
    }
    fn touch_session(&self, secret_hash: &[u8; 32], at: Timestamp) -> Result<()> {
        timed!(self.touch_session(secret_hash, at))
    }
    fn end_session(&self, secret_hash: &[u8; 32], audit: Option<&AuditEntry>) -> Result<bool> {
        timed!(self.end_session(secret_hash, audit))
    }
    fn end_sessions_of(&self, user: Option<UserId>, token: Option<i64>) -> Result<usize> {
        timed!(self.end_sessions_of(user, token))
    }
    fn purge_sessions(&self, idle_before: Timestamp, created_before: Timestamp) -> Result<usize> {
        timed!(self.purge_sessions(idle_before, created_before))
    }
    fn create_sign_in_link(&self, new: &NewSignInLink, audit: &AuditEntry) -> Result<()> {
        timed!(self.create_sign_in_link(new, audit))
    }
    fn use_sign_in_link(
        &self,
        secret_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<SignInLinkRecord>> {
        timed!(self.use_sign_in_link(secret_hash, at))
    }
    fn sign_in_failures(&self, account: &str) -> Result<SignInFailures> {
        timed!(self.sign_in_failures(account))
    }
    fn record_sign_in_failure(
        &self,
        account: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> Result<SignInFailures> {
        timed!(self.record_sign_in_failure(account, at, audit))
    }
    fn clear_sign_in_failures(&self, account: &str) -> Result<()> {
        timed!(self.clear_sign_in_failures(account))
    }
}

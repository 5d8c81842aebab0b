//! Federation: this node and its peers exchange objects over TAXII 2.1,
//! without a central hub.
//!
//! A peer is a remote TAXII 2.1 server (another Entente node, or any other:
//! medallion, OpenCTI, a vendor feed) reached with a token kept in a 0600
//! file ([`credentials`]), standing for a local organisation. [`sync`] runs
//! one pull or push; [`Runner`] runs every configured job of every peer
//! continuously, one thread per peer (peers added while it runs too), so
//! that a peer that answers slowly, with garbage or with errors delays only
//! its own jobs, and a failing job backs off alone.
//!
//! This crate decides no policy: what a peer may receive, how pulled
//! objects are stored and with which provenance, are `node` use cases over
//! `sharing`'s rules. It never touches the store.

pub mod client;
pub mod credentials;
pub mod sync;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use node::{Direction, Node, Peer, SyncJob, SyncRun};
use sharing::Principal;

pub use client::{Client, ClientError};
pub use sync::SyncError;

/// How long one request to a peer may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A client for `peer`, with the token kept under `data`.
pub fn client_for(data: &Path, peer: &Peer) -> Result<Client, SyncError> {
    let token = credentials::load(data, &peer.name)
        .map_err(|e| SyncError::Peer(ClientError::Failed(e.to_string())))?;
    let ca = match &peer.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            SyncError::Peer(ClientError::Failed(format!(
                "the CA file {path} of peer {} cannot be read: {e}",
                peer.name
            )))
        })?),
        None => None,
    };
    Ok(Client::new(
        &peer.url,
        token,
        ca.as_deref(),
        REQUEST_TIMEOUT,
    )?)
}

/// The outcome of one job's run, for reports.
#[derive(Debug)]
pub struct JobOutcome {
    pub job: SyncJob,
    pub result: Result<SyncRun, SyncError>,
}

/// Runs one job of `peer` with `client` (or the reason there is none),
/// recording the run.
fn run_job(
    node: &Node,
    peer: &Peer,
    job: SyncJob,
    client: &Result<Client, SyncError>,
    stop: &dyn Fn() -> bool,
) -> JobOutcome {
    let result = match client {
        Ok(client) => match job.direction {
            Direction::Pull => sync::pull(node, peer, &job, client, stop),
            Direction::Push => sync::push(node, peer, &job, client, stop),
        },
        Err(e) => Err(SyncError::Peer(ClientError::Failed(e.to_string()))),
    };
    let error = result.as_ref().err().map(ToString::to_string);
    if let Err(e) = node.record_sync_run(&job, None, Default::default(), error.as_deref()) {
        tracing::warn!(peer = %peer.name, error = %e, "could not record a sync run");
    }
    JobOutcome { job, result }
}

/// Runs every job of `peer` once, recording each run; stops early when
/// `stop` says so.
pub fn sync_once(
    node: &Node,
    data: &Path,
    peer: &Peer,
    stop: &dyn Fn() -> bool,
) -> Result<Vec<JobOutcome>, SyncError> {
    let jobs = node.sync_jobs(&Principal::operator(), peer)?;
    let client = client_for(data, peer);
    Ok(jobs
        .into_iter()
        .map(|job| run_job(node, peer, job, &client, stop))
        .collect())
}

/// The longest a failing job waits before its next run.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Every peer's jobs, run continuously in the background.
pub struct Runner {
    stop: Arc<AtomicBool>,
    supervisor: Option<JoinHandle<()>>,
    peers: usize,
    monitor: SyncMonitor,
}

/// Objects left for the next run by each job's last successful run in
/// this process, by job id.
type Pending = Arc<Mutex<HashMap<i64, usize>>>;

/// How far behind each peer is, for monitoring: from the node's records of
/// every job (which outlive the process) and the runner's last runs.
#[derive(Clone)]
pub struct SyncMonitor {
    node: Node,
    pending: Pending,
}

/// The sync state of a peer's jobs in one direction.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerSyncState {
    /// The peer's name (the operator's, never its organisation or URL).
    pub peer: String,
    pub direction: Direction,
    pub jobs: u64,
    /// Jobs whose last run ended with an error.
    pub failing_jobs: u64,
    /// Time since the least recently successful of these jobs last
    /// succeeded; a job that never did counts from the peer's creation.
    pub lag: Duration,
    /// Objects the last successful runs (in this process) left for the
    /// next: pulled objects waiting for their signed manifest. `None`
    /// until one of these jobs has succeeded here.
    pub pending: Option<u64>,
}

impl SyncMonitor {
    /// The state of every peer with jobs, per direction, at `now`.
    pub fn report(&self, now: stix::Timestamp) -> Result<Vec<PeerSyncState>, SyncError> {
        let operator = Principal::operator();
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = Vec::new();
        for peer in self.node.peers(&operator)? {
            let jobs = self.node.sync_jobs(&operator, &peer)?;
            for direction in [Direction::Pull, Direction::Push] {
                let these: Vec<&SyncJob> =
                    jobs.iter().filter(|j| j.direction == direction).collect();
                let Some(oldest) = these
                    .iter()
                    .map(|j| j.last_success.unwrap_or(peer.created).as_micros())
                    .min()
                else {
                    continue;
                };
                let known: Vec<usize> = these
                    .iter()
                    .filter_map(|j| pending.get(&j.id).copied())
                    .collect();
                out.push(PeerSyncState {
                    peer: peer.name.clone(),
                    direction,
                    jobs: these.len() as u64,
                    failing_jobs: these.iter().filter(|j| j.last_error.is_some()).count() as u64,
                    lag: Duration::from_micros(now.as_micros().saturating_sub(oldest).max(0) as u64),
                    pending: (!known.is_empty()).then(|| known.iter().sum::<usize>() as u64),
                });
            }
        }
        Ok(out)
    }
}

impl Runner {
    /// Runs every job of every peer every `interval`, one thread per peer,
    /// so that a slow peer delays only its own jobs; a failing job waits
    /// longer (doubling, up to five minutes) without holding back the
    /// other jobs of its peer. Peers added while it runs are started within
    /// `interval`; each run reads its peer's settings (pinned keys) afresh.
    pub fn start(node: Node, data: PathBuf, interval: Duration) -> Result<Runner, SyncError> {
        let stop = Arc::new(AtomicBool::new(false));
        let peers = node.peers(&Principal::operator())?.len();
        let pending = Pending::default();
        let monitor = SyncMonitor {
            node: node.clone(),
            pending: pending.clone(),
        };
        let flag = stop.clone();
        let supervisor = std::thread::Builder::new()
            .name("peers".into())
            .spawn(move || supervise(&node, &data, interval, &flag, &pending))
            .map_err(|e| {
                SyncError::Peer(ClientError::Failed(format!(
                    "cannot start the thread that runs the peers: {e}"
                )))
            })?;
        Ok(Runner {
            stop,
            supervisor: Some(supervisor),
            peers,
            monitor,
        })
    }

    /// How many peers there were when it started.
    pub fn peers(&self) -> usize {
        self.peers
    }

    /// What it knows of the peers' sync state, for monitoring.
    pub fn monitor(&self) -> SyncMonitor {
        self.monitor.clone()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.supervisor.take() {
            let _ = t.join();
        }
    }
}

/// Starts a thread for each peer as it appears; joins them when stopped.
fn supervise(
    node: &Node,
    data: &Path,
    interval: Duration,
    stop: &Arc<AtomicBool>,
    pending: &Pending,
) {
    let stopped = || stop.load(Ordering::Relaxed);
    let mut threads: HashMap<String, JoinHandle<()>> = HashMap::new();
    while !stopped() {
        match node.peers(&Principal::operator()) {
            Ok(peers) => {
                for peer in peers {
                    if threads.contains_key(&peer.name) {
                        continue;
                    }
                    let (node, data, flag) = (node.clone(), data.to_path_buf(), stop.clone());
                    let (name, pending) = (peer.name.clone(), pending.clone());
                    let spawned = std::thread::Builder::new()
                        .name(format!("peer-{name}"))
                        .spawn(move || run_peer(&node, &data, &name, interval, &flag, &pending));
                    match spawned {
                        Ok(t) => {
                            tracing::info!(peer = %peer.name, "running the pulls and pushes of a peer");
                            threads.insert(peer.name, t);
                        }
                        Err(e) => {
                            tracing::warn!(peer = %peer.name, error = %e, "cannot start the thread of a peer");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list the peers"),
        }
        sync::sleep_unless(interval, &stopped);
    }
    for (_, t) in threads.drain() {
        let _ = t.join();
    }
}

/// When a job that failed `failures` times in a row runs next.
fn backoff(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        interval
    } else {
        (interval * 2u32.pow(failures.min(8))).min(MAX_BACKOFF)
    }
}

fn run_peer(
    node: &Node,
    data: &Path,
    name: &str,
    interval: Duration,
    stop: &AtomicBool,
    pending: &Pending,
) {
    let stopped = || stop.load(Ordering::Relaxed);
    // Per job: failures in a row, and when it may run next.
    let mut state: HashMap<i64, (u32, Instant)> = HashMap::new();
    while !stopped() {
        let started = Instant::now();
        let run = node.peer(&Principal::operator(), name).and_then(|peer| {
            let jobs = node.sync_jobs(&Principal::operator(), &peer)?;
            Ok((peer, jobs))
        });
        match run {
            Ok((peer, jobs)) => {
                let due: Vec<SyncJob> = jobs
                    .into_iter()
                    .filter(|j| state.get(&j.id).is_none_or(|(_, at)| *at <= started))
                    .collect();
                if !due.is_empty() {
                    let client = client_for(data, &peer);
                    for job in due {
                        if stopped() {
                            return;
                        }
                        let outcome = run_job(node, &peer, job, &client, &stopped);
                        let failures = state.get(&outcome.job.id).map_or(0, |(f, _)| *f);
                        let failures = match &outcome.result {
                            Ok(run) => {
                                pending
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .insert(outcome.job.id, run.pending);
                                0
                            }
                            Err(e) => {
                                tracing::warn!(peer = %peer.name, job = outcome.job.id, error = %e, "sync run failed");
                                failures.saturating_add(1)
                            }
                        };
                        state.insert(
                            outcome.job.id,
                            (failures, Instant::now() + backoff(interval, failures)),
                        );
                    }
                }
            }
            Err(e) => tracing::warn!(peer = %name, error = %e, "cannot read the peer's jobs"),
        }
        sync::sleep_unless(interval, &stopped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_job_waits_longer_each_time_up_to_five_minutes() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 0), second);
        assert_eq!(backoff(second, 1), 2 * second);
        assert_eq!(backoff(second, 3), 8 * second);
        // The doubling stops at 2^8 intervals, and never passes five minutes.
        assert_eq!(backoff(second, 30), 256 * second);
        assert_eq!(backoff(Duration::from_secs(60), 4), MAX_BACKOFF);
    }
}

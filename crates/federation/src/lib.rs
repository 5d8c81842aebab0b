//! Federation: this node and its peers exchange objects over TAXII 2.1,
//! without a central hub.
//!
//! A peer is a remote TAXII 2.1 server (another Entente node, or any other:
//! medallion, OpenCTI, a vendor feed) reached with a token kept in a 0600
//! file ([`credentials`]), standing for a local organisation. [`sync`] runs
//! one pull or push; [`Runner`] runs every configured job of every peer
//! continuously, one thread per peer, so that a peer that answers slowly,
//! with garbage or with errors delays only its own jobs.
//!
//! This crate decides no policy: what a peer may receive, how pulled
//! objects are stored and with which provenance, are `node` use cases over
//! `sharing`'s rules. It never touches the store.

pub mod client;
pub mod credentials;
pub mod sync;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

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
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let result = match &client {
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
        out.push(JobOutcome { job, result });
    }
    Ok(out)
}

/// Every peer's jobs, run continuously in the background.
pub struct Runner {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Runner {
    /// Starts one thread per configured peer: each runs its jobs every
    /// `interval` (waiting longer after failures, up to five minutes).
    pub fn start(node: Node, data: PathBuf, interval: Duration) -> Result<Runner, SyncError> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for peer in node.peers(&Principal::operator())? {
            let (node, data, flag) = (node.clone(), data.clone(), stop.clone());
            let name = peer.name.clone();
            let thread = std::thread::Builder::new()
                .name(format!("peer-{name}"))
                .spawn(move || run_peer(&node, &data, &peer, interval, &flag))
                .map_err(|e| {
                    SyncError::Peer(ClientError::Failed(format!(
                        "cannot start the thread of peer {name}: {e}"
                    )))
                })?;
            threads.push(thread);
        }
        Ok(Runner { stop, threads })
    }

    /// How many peers it runs.
    pub fn peers(&self) -> usize {
        self.threads.len()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn run_peer(node: &Node, data: &Path, peer: &Peer, interval: Duration, stop: &AtomicBool) {
    let stopped = || stop.load(Ordering::Relaxed);
    let mut failures = 0u32;
    while !stopped() {
        let ok = match sync_once(node, data, peer, &stopped) {
            Ok(outcomes) => {
                for o in &outcomes {
                    if let Err(e) = &o.result {
                        tracing::warn!(peer = %peer.name, job = o.job.id, error = %e, "sync run failed");
                    }
                }
                outcomes.iter().all(|o| o.result.is_ok())
            }
            Err(e) => {
                tracing::warn!(peer = %peer.name, error = %e, "sync failed");
                false
            }
        };
        failures = if ok { 0 } else { (failures + 1).min(8) };
        let wait = if failures == 0 {
            interval
        } else {
            (interval * 2u32.pow(failures)).min(Duration::from_secs(300))
        };
        sync::sleep_unless(wait, &stopped);
    }
}

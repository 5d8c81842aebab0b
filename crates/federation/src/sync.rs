//! One run of a pull or a push.
//!
//! **Pull**: pages from `added_after` (the stored cursor, less a
//! millisecond: servers whose `date_added` values repeat across a page
//! boundary must not make the node skip one; identical versions arriving
//! twice are no-ops) and then `next`; each page is stored with the cursor
//! that covers it in one transaction, so a `kill -9` at any moment resumes
//! with no gap and no duplicate. Manifests seen anywhere in the run vouch
//! for the objects they list. For a peer that takes verified content only,
//! an object whose manifest has not arrived yet holds the cursor back (the
//! origin signs moments after it stores), and is fetched again next run.
//!
//! **Push**: pages of what the peer may receive (`node::Node::outgoing_page`)
//! after the push cursor, posted as envelopes (split in half on 413), their
//! status resources followed to completion; the peer's per-object refusals
//! are recorded; the cursor moves only past what the peer answered for.

use std::time::{Duration, Instant};

use node::{Node, Peer, PushFailure, SyncJob, SyncRun, SyncStats};
use provenance::{ProvenanceIndex, ProvenanceState};
use serde_json::value::RawValue;
use stix::Timestamp;

use crate::client::{Client, ClientError};

/// Objects asked for per page.
pub const PAGE: usize = 5_000;
/// Attempts of one request before the run gives up.
const ATTEMPTS: u32 = 5;
/// Longest wait for one retry, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Longest a push waits for a status resource to complete.
const STATUS_WAIT: Duration = Duration::from_secs(120);

/// Pages in a row without progress after which a pull run stops.
const MAX_STALLED_PAGES: usize = 5;

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Peer(#[from] ClientError),
    #[error("{0}")]
    Node(#[from] node::NodeError),
}

/// Runs `request`, waiting and retrying what is worth retrying.
fn with_retries<T>(
    mut request: impl FnMut() -> Result<T, ClientError>,
    stop: &dyn Fn() -> bool,
) -> Result<T, ClientError> {
    let mut attempt = 0;
    loop {
        match request() {
            Err(ClientError::Retry { after, why }) if attempt + 1 < ATTEMPTS && !stop() => {
                attempt += 1;
                let backoff = Duration::from_millis(500 << attempt.min(6));
                let wait = after.max(backoff).min(MAX_WAIT);
                tracing::info!(%why, wait_secs = wait.as_secs(), "peer request will be retried");
                sleep_unless(wait, stop);
            }
            other => return other,
        }
    }
}

/// Sleeps `d`, waking early when `stop` says so.
pub(crate) fn sleep_unless(d: Duration, stop: &dyn Fn() -> bool) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
    }
}

/// One run of a pull job.
pub fn pull(
    node: &Node,
    peer: &Peer,
    job: &SyncJob,
    client: &Client,
    stop: &dyn Fn() -> bool,
) -> Result<SyncRun, SyncError> {
    let mut run = SyncRun::default();
    let mut index = ProvenanceIndex::new(Node::pinned_keys(peer));
    let start = job
        .cursor
        .map(|c| Timestamp::from_micros(c.as_micros().saturating_sub(1_000)));
    let mut cursor = job.cursor;
    // Objects waiting for their manifest (verified-only peers), and the
    // cursor that must not move past them.
    let mut held: Vec<Box<RawValue>> = Vec::new();
    let mut hold_at: Option<Option<Timestamp>> = None;
    let mut next: Option<String> = None;
    let mut added_after = start;
    let mut last_seen: Option<Timestamp> = None;
    // Pages that brought nothing new and no later date: a peer that keeps
    // answering `more` without progress is given up on, not followed forever.
    let mut stalled = 0;
    let mut latest: Option<Timestamp> = job.cursor;
    loop {
        if stop() {
            break;
        }
        let page = with_retries(
            || client.objects(&job.remote_collection, added_after, next.as_deref(), PAGE),
            stop,
        )?;
        let before = cursor;
        let page_cursor = page.date_added_last.or(cursor);
        let mut batch: Vec<Box<RawValue>> = Vec::with_capacity(page.objects.len());
        if peer.refuse_unsigned {
            for raw in &page.objects {
                if is_manifest(raw.get()) {
                    let _ = index.add_manifest(raw.get());
                }
            }
            let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut held)
                .into_iter()
                .partition(|o| !matches!(index.state_of(o.get()), ProvenanceState::Unsigned));
            batch.extend(ready);
            held = waiting;
            for raw in page.objects {
                if is_manifest(raw.get())
                    || !matches!(index.state_of(raw.get()), ProvenanceState::Unsigned)
                {
                    batch.push(raw);
                } else {
                    if hold_at.is_none() {
                        hold_at = Some(before);
                    }
                    held.push(raw);
                }
            }
        } else {
            // Objects are stored with the provenance they have when stored,
            // and a manifest comes after what it lists: an object no
            // manifest lists yet waits (up to HOLD_MAX objects) for one to
            // arrive, so that it is stored verified rather than stored and
            // then rewritten. What none lists by then is stored unsigned
            // (and still upgraded if its manifest comes later).
            for raw in &page.objects {
                if is_manifest(raw.get()) {
                    let _ = index.add_manifest(raw.get());
                }
            }
            let listed = |o: &RawValue| id_of(o.get()).is_none_or(|id| index.lists(id));
            let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut held)
                .into_iter()
                .partition(|o| listed(o));
            batch.extend(ready);
            held = waiting;
            for raw in page.objects {
                if is_manifest(raw.get()) || listed(&raw) {
                    batch.push(raw);
                } else {
                    if hold_at.is_none() {
                        hold_at = Some(before);
                    }
                    held.push(raw);
                }
            }
            if held.len() > HOLD_MAX || !page.more {
                batch.append(&mut held);
                hold_at = None;
            }
            if held.is_empty() {
                hold_at = None;
            }
        }
        let stored_cursor = match hold_at {
            Some(at) => at,
            None => page_cursor,
        };
        let refs: Vec<&RawValue> = batch.iter().map(|b| b.as_ref()).collect();
        let mut stored = 0;
        if !refs.is_empty() {
            let report = node.ingest_pulled(peer, job, &refs, stored_cursor, &mut index)?;
            stored = report.stored();
            run.stats.stored += report.stored() as u64;
            run.stats.duplicates += report.duplicates() as u64;
            run.stats.refused += report.refused() as u64;
        } else if stored_cursor != cursor {
            node.record_sync_run(job, stored_cursor, SyncStats::default(), None)?;
        }
        cursor = stored_cursor;
        if !page.more {
            break;
        }
        let later = page
            .date_added_last
            .is_some_and(|d| latest.is_none_or(|l| d > l));
        if later {
            latest = page.date_added_last;
        }
        if stored > 0 || later {
            stalled = 0;
        } else {
            stalled += 1;
            if stalled >= MAX_STALLED_PAGES {
                return Err(SyncError::Peer(ClientError::Failed(format!(
                    "the peer answered {MAX_STALLED_PAGES} pages in a row with `more` but no new object and no later date; stopped this run"
                ))));
            }
        }
        match page.next {
            Some(n) => next = Some(n),
            None => {
                // A server that pages without `next`: ask again from the
                // last date it reported; stop when that does not move.
                if page.date_added_last.is_none() || page.date_added_last == last_seen {
                    break;
                }
                next = None;
                added_after = page
                    .date_added_last
                    .map(|t| Timestamp::from_micros(t.as_micros().saturating_sub(1)));
            }
        }
        last_seen = page.date_added_last;
    }
    run.pending = held.len();
    Ok(run)
}

/// How many objects a pull keeps waiting for the manifest that lists them
/// (a manifest lists up to 5,000; about 400 bytes each).
const HOLD_MAX: usize = 20_000;

/// The `id` of a STIX object's JSON text (`None` when it has none).
fn id_of(raw: &str) -> Option<&str> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Option<&'a str>,
    }
    serde_json::from_str::<Id>(raw).ok().and_then(|o| o.id)
}

fn is_manifest(raw: &str) -> bool {
    raw.contains(provenance::extension::MANIFEST_TYPE)
        && serde_json::from_str::<serde_json::Value>(raw)
            .is_ok_and(|v| v["type"] == provenance::extension::MANIFEST_TYPE)
}

/// One run of a push job.
pub fn push(
    node: &Node,
    peer: &Peer,
    job: &SyncJob,
    client: &Client,
    stop: &dyn Fn() -> bool,
) -> Result<SyncRun, SyncError> {
    let mut run = SyncRun::default();
    let mut after = job.cursor;
    loop {
        if stop() {
            break;
        }
        let page = node.outgoing_page(peer, job, after, PAGE)?;
        let raws: Vec<&str> = page.items.iter().map(|o| o.raw.as_str()).collect();
        let mut stats = SyncStats::default();
        let mut failures = Vec::new();
        post_all(
            client,
            &job.remote_collection,
            &raws,
            &mut stats,
            &mut failures,
            stop,
        )?;
        let now = node::now();
        let recorded: Vec<PushFailure> = failures
            .into_iter()
            .map(|(id, version, message)| PushFailure {
                job: job.id,
                id,
                version,
                message,
                at: now,
            })
            .collect();
        node.record_push_failures(&recorded)?;
        stats.refused = recorded.len() as u64;
        after = page.resume_after.or(after);
        node.record_sync_run(job, after, stats, None)?;
        run.stats += stats;
        if !page.more {
            break;
        }
    }
    Ok(run)
}

/// Posts `objects`, halving envelopes the peer finds too large.
fn post_all(
    client: &Client,
    collection: &str,
    objects: &[&str],
    stats: &mut SyncStats,
    failures: &mut Vec<(String, Option<String>, String)>,
    stop: &dyn Fn() -> bool,
) -> Result<(), SyncError> {
    if objects.is_empty() {
        return Ok(());
    }
    match with_retries(|| client.post(collection, objects), stop) {
        Ok(status) => {
            let status = follow(client, status, stop)?;
            stats.stored += status.success_count;
            failures.extend(status.failures);
            Ok(())
        }
        Err(ClientError::TooLarge(why)) if objects.len() > 1 => {
            let half = objects.len() / 2;
            tracing::info!(%why, objects = objects.len(), "splitting a push envelope");
            post_all(client, collection, &objects[..half], stats, failures, stop)?;
            post_all(client, collection, &objects[half..], stats, failures, stop)
        }
        Err(e) => Err(e.into()),
    }
}

/// Polls a status resource until it is complete.
fn follow(
    client: &Client,
    mut status: crate::client::Status,
    stop: &dyn Fn() -> bool,
) -> Result<crate::client::Status, SyncError> {
    let started = Instant::now();
    let mut wait = Duration::from_millis(200);
    while !status.complete {
        if started.elapsed() > STATUS_WAIT || stop() {
            return Err(ClientError::Retry {
                after: Duration::from_secs(5),
                why: format!("status {} did not complete in time", status.id),
            }
            .into());
        }
        sleep_unless(wait, stop);
        wait = (wait * 2).min(Duration::from_secs(5));
        let id = status.id.clone();
        status = with_retries(|| client.status(&id), stop)?;
    }
    Ok(status)
}

//! Audit entries of reads, written in the background.
//!
//! Every read of AMBER or RED material is audited. Writing each entry in its
//! own transaction made such reads wait for a commit (a fifth of their
//! latency); here they are queued and written together, in order, within
//! [`FLUSH_AFTER`]. Audit entries of writes and administration are not
//! queued: they commit with what they record.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use store::{AuditEntry, Store};

/// How long an entry may wait before it is written.
pub const FLUSH_AFTER: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Queue {
    pending: Mutex<(Vec<AuditEntry>, bool)>,
    wake: Condvar,
}

/// Owns the writer thread; dropping it writes what is left and stops it.
pub(crate) struct AuditQueue {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
}

impl AuditQueue {
    pub(crate) fn start(store: Arc<dyn Store>) -> AuditQueue {
        let queue = Arc::new(Queue::default());
        let shared = queue.clone();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(&shared, store.as_ref()))
            .ok();
        AuditQueue { queue, thread }
    }

    /// Queues an entry (written synchronously if the thread could not start).
    pub(crate) fn push(&self, store: &dyn Store, entry: AuditEntry) -> store::Result<()> {
        if self.thread.is_none() {
            return store.append_audit_batch(std::slice::from_ref(&entry));
        }
        let mut pending = self.queue.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.0.push(entry);
        self.queue.wake.notify_one();
        Ok(())
    }
}

fn run(queue: &Queue, store: &dyn Store) {
    loop {
        let batch = {
            let mut pending = queue.pending.lock().unwrap_or_else(|p| p.into_inner());
            while pending.0.is_empty() && !pending.1 {
                pending = queue.wake.wait(pending).unwrap_or_else(|p| p.into_inner());
            }
            if pending.0.is_empty() && pending.1 {
                return;
            }
            let closing = pending.1;
            drop(pending);
            if !closing {
                // Let entries of concurrent reads join this batch.
                std::thread::sleep(FLUSH_AFTER);
            }
            let mut pending = queue.pending.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut pending.0)
        };
        if store.append_audit_batch(&batch).is_err() {
            // Keep the entries (in order, ahead of newer ones) and try again.
            std::thread::sleep(FLUSH_AFTER);
            let mut pending = queue.pending.lock().unwrap_or_else(|p| p.into_inner());
            let newer = std::mem::take(&mut pending.0);
            pending.0 = batch;
            pending.0.extend(newer);
            if pending.1 {
                // Closing and the store refuses: nothing more can be done.
                return;
            }
        }
    }
}

impl Drop for AuditQueue {
    fn drop(&mut self) {
        {
            let mut pending = self.queue.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.1 = true;
        }
        self.queue.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! The audit log's hash chain: each record's hash covers its content and the
//! previous record's hash, so editing, deleting or reordering any record
//! breaks every later link.

use sha2::{Digest, Sha256};
use stix::Timestamp;

use crate::{AuditEntry, AuditRecord};

/// The hash of one record.
pub fn entry_hash(prev: &[u8; 32], seq: i64, at: Timestamp, e: &AuditEntry) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(prev);
    field(&seq.to_le_bytes());
    field(&at.as_micros().to_le_bytes());
    let opt = |v: Option<i64>| v.map_or_else(|| b"-".to_vec(), |n| n.to_le_bytes().to_vec());
    field(&opt(e.token));
    field(&opt(e.user));
    field(&opt(e.org));
    field(e.action.as_bytes());
    field(e.collection.as_deref().unwrap_or("-").as_bytes());
    field(e.objects.join(" ").as_bytes());
    field(e.detail.as_bytes());
    h.finalize().into()
}

/// Checks the chain; returns the first record that does not hold, with why.
pub fn verify_chain(records: &[AuditRecord]) -> Result<usize, (i64, String)> {
    let mut prev = [0u8; 32];
    let mut expected_seq = None;
    for r in records {
        if let Some(s) = expected_seq
            && r.seq != s
        {
            return Err((
                r.seq,
                format!(
                    "sequence jumps from {} to {}: records were removed",
                    s - 1,
                    r.seq
                ),
            ));
        }
        if r.prev_hash != prev {
            return Err((
                r.seq,
                "does not link to the previous record (a record before it was changed or removed)"
                    .into(),
            ));
        }
        if entry_hash(&prev, r.seq, r.at, &r.entry) != r.hash {
            return Err((
                r.seq,
                "its content does not match its hash (it was changed)".into(),
            ));
        }
        prev = r.hash;
        expected_seq = Some(r.seq + 1);
    }
    Ok(records.len())
}

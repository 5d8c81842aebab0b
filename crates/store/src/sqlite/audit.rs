//! The audit log on SQLite: appended in the transaction of the write it
//! records (see [`append_in`]), read in order for verification.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use stix::Timestamp;

use super::{SqliteStore, cached_exec, cached_row, db, now, ts};
use crate::{AuditEntry, AuditFilter, AuditRecord, AuditStore, Result};

/// Appends `entries` to the chain inside the caller's open write
/// transaction, so that they commit (or roll back) with what they record.
/// The chain's head is read inside that transaction: concurrent writers,
/// in this process or another, are serialised by SQLite's write lock.
pub(crate) fn append_in(tx: &Connection, entries: &[AuditEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let last: Option<(i64, Vec<u8>, i64)> = cached_row(
        tx,
        "SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
    .map_err(db)?;
    let (mut seq, mut prev, last_at) = match last {
        Some((seq, hash, at)) => {
            let mut prev = [0u8; 32];
            if hash.len() == 32 {
                prev.copy_from_slice(&hash);
            }
            (seq + 1, prev, at)
        }
        None => (1, [0u8; 32], 0),
    };
    let at = Timestamp::from_micros(now().as_micros().max(last_at));
    for entry in entries {
        let hash = crate::audit::entry_hash(&prev, seq, at, entry);
        cached_exec(
                tx,
                "INSERT INTO audit (seq, at, token, user, org, action, collection, objects, detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    seq,
                    at.as_micros(),
                    entry.token,
                    entry.user,
                    entry.org,
                    entry.action,
                    entry.collection,
                    entry.objects.join(" "),
                    entry.detail,
                    &prev[..],
                    &hash[..]
                ],
            )
            .map_err(db)?;
        prev = hash;
        seq += 1;
    }
    Ok(())
}

impl SqliteStore {
    /// Runs `write` in an immediate transaction of the writer connection and
    /// commits it together with its audit entry.
    pub(crate) fn audited<T>(
        &self,
        audit: &AuditEntry,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let out = write(&tx)?;
        append_in(&tx, std::slice::from_ref(audit))?;
        tx.commit().map_err(db)?;
        Ok(out)
    }
}

impl AuditStore for SqliteStore {
    fn append_audit_batch(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        append_in(&tx, entries)?;
        tx.commit().map_err(db)
    }

    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let conn = self.reader()?;
        let mut clauses = vec!["1".to_string()];
        let mut params: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(o) = filter.org {
            clauses.push("org = ?".into());
            params.push(o.into());
        }
        if let Some(u) = filter.user {
            clauses.push("user = ?".into());
            params.push(u.into());
        }
        if let Some(obj) = &filter.object {
            // Audit queries are an operator's tool, not a request path: a scan is fine.
            clauses.push("instr(objects, ?) > 0".into());
            params.push(obj.clone().into());
        }
        if let Some(t) = filter.since {
            clauses.push("at >= ?".into());
            params.push(t.as_micros().into());
        }
        if let Some(t) = filter.until {
            clauses.push("at <= ?".into());
            params.push(t.as_micros().into());
        }
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE {} ORDER BY seq LIMIT {}",
            clauses.join(" AND "),
            filter.limit.max(1)
        );
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        stmt.query_map(params_from_iter(params), audit_from_row)
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    fn audit_chain(&self) -> Result<Vec<AuditRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"))
            .map_err(db)?;
        stmt.query_map([], audit_from_row)
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }
}

const AUDIT_COLUMNS: &str =
    "seq, at, token, user, org, action, collection, objects, detail, prev_hash, hash";

fn audit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    let hash32 = |v: Vec<u8>| {
        let mut out = [0u8; 32];
        if v.len() == 32 {
            out.copy_from_slice(&v);
        }
        out
    };
    let objects: String = r.get(7)?;
    Ok(AuditRecord {
        seq: r.get(0)?,
        at: ts(r.get(1)?),
        entry: AuditEntry {
            token: r.get(2)?,
            user: r.get(3)?,
            org: r.get(4)?,
            action: r.get(5)?,
            collection: r.get(6)?,
            objects: objects
                .split(' ')
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            detail: r.get(8)?,
        },
        prev_hash: hash32(r.get(9)?),
        hash: hash32(r.get(10)?),
    })
}

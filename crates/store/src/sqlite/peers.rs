//! Peers, their pull and push jobs, and push failures.

use rusqlite::{OptionalExtension, params};
use sharing::Tlp;
use stix::Timestamp;

use super::{SqliteStore, cached_exec, cached_row, cached_rows, db, now, opt_ts, ts};
use crate::{
    AddOutcome, AuditEntry, CopyGuard, Direction, Ingest, NewPeer, OrgId, Peer, PeerStore,
    PullProgress, PushFailure, Result, StoreError, SyncJob, SyncStats,
};

const PEER_COLUMNS: &str =
    "id, name, url, org, user, keys, max_tlp, refuse_unsigned, ca_file, created, strict_recipient";

fn peer_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Peer> {
    let keys: String = r.get(5)?;
    Ok(Peer {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        org: r.get(3)?,
        user: r.get(4)?,
        keys: keys
            .split(' ')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        max_tlp: super::tlp_from(r.get(6)?).unwrap_or(Tlp::Clear),
        refuse_unsigned: r.get(7)?,
        ca_file: r.get(8)?,
        created: ts(r.get(9)?),
        strict_recipient: r.get(10)?,
    })
}

const JOB_COLUMNS: &str = "id, peer, direction, remote_collection, collection, cursor, stored, duplicates, refused, verified, unsigned, invalid, last_run, last_success, last_error";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SyncJob> {
    let direction: String = r.get(2)?;
    let count = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    Ok(SyncJob {
        id: r.get(0)?,
        peer: r.get(1)?,
        direction: if direction == "push" {
            Direction::Push
        } else {
            Direction::Pull
        },
        remote_collection: r.get(3)?,
        collection: r.get(4)?,
        cursor: opt_ts(r.get(5)?),
        stats: SyncStats {
            stored: count(6)?,
            duplicates: count(7)?,
            refused: count(8)?,
            verified: count(9)?,
            unsigned: count(10)?,
            invalid: count(11)?,
        },
        last_run: opt_ts(r.get(12)?),
        last_success: opt_ts(r.get(13)?),
        last_error: r.get(14)?,
    })
}

/// Adds `stats` to a job's totals and sets its cursor, in `tx`.
fn advance(
    tx: &rusqlite::Connection,
    job: i64,
    cursor: Option<Timestamp>,
    stats: &SyncStats,
) -> Result<()> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    cached_exec(
        tx,
        "UPDATE sync_jobs SET cursor = coalesce(?2, cursor),
             stored = stored + ?3, duplicates = duplicates + ?4, refused = refused + ?5,
             verified = verified + ?6, unsigned = unsigned + ?7, invalid = invalid + ?8
         WHERE id = ?1",
        params![
            job,
            cursor.map(Timestamp::as_micros),
            n(stats.stored),
            n(stats.duplicates),
            n(stats.refused),
            n(stats.verified),
            n(stats.unsigned),
            n(stats.invalid)
        ],
    )
    .map_err(db)?;
    Ok(())
}

impl PeerStore for SqliteStore {
    fn create_peer(&self, new: &NewPeer, audit: &AuditEntry) -> Result<Peer> {
        let created = now();
        self.audited(audit, |tx| {
            cached_exec(
                tx,
                "INSERT INTO peers (name, url, org, user, keys, max_tlp, refuse_unsigned, ca_file, created, strict_recipient)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    new.name,
                    new.url,
                    new.org,
                    new.user,
                    new.keys.join(" "),
                    super::tlp_rank(Some(new.max_tlp)),
                    new.refuse_unsigned,
                    new.ca_file,
                    created.as_micros(),
                    new.strict_recipient
                ],
            )
            .map_err(|e| match db(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a peer named {:?} already exists (entente peer keys {} --key … pins other keys)", new.name, new.name))
                }
                other => other,
            })?;
            Ok(Peer {
                id: tx.last_insert_rowid(),
                name: new.name.clone(),
                url: new.url.clone(),
                org: new.org,
                user: new.user,
                keys: new.keys.clone(),
                max_tlp: new.max_tlp,
                refuse_unsigned: new.refuse_unsigned,
                ca_file: new.ca_file.clone(),
                created,
                strict_recipient: new.strict_recipient,
            })
        })
    }

    fn peers(&self) -> Result<Vec<Peer>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!("SELECT {PEER_COLUMNS} FROM peers ORDER BY name"),
            [],
            peer_from_row,
        )
        .map_err(db)
    }

    fn peer(&self, name: &str) -> Result<Option<Peer>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            &format!("SELECT {PEER_COLUMNS} FROM peers WHERE name = ?1"),
            [name],
            peer_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn set_peer_keys(&self, peer: i64, keys: &[String], audit: &AuditEntry) -> Result<()> {
        self.audited(audit, |tx| {
            let changed = cached_exec(
                tx,
                "UPDATE peers SET keys = ?2 WHERE id = ?1",
                params![peer, keys.join(" ")],
            )
            .map_err(db)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("peer {peer}")));
            }
            Ok(())
        })
    }

    fn set_peer_strict_recipient(
        &self,
        peer: i64,
        org: Option<OrgId>,
        audit: &AuditEntry,
    ) -> Result<()> {
        self.audited(audit, |tx| {
            let changed = cached_exec(
                tx,
                "UPDATE peers SET strict_recipient = ?2 WHERE id = ?1",
                params![peer, org],
            )
            .map_err(db)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("peer {peer}")));
            }
            Ok(())
        })
    }

    fn create_job(
        &self,
        peer: i64,
        direction: Direction,
        remote_collection: &str,
        collection: i64,
        audit: &AuditEntry,
    ) -> Result<SyncJob> {
        self.audited(audit, |tx| {
            cached_exec(
                tx,
                "INSERT INTO sync_jobs (peer, direction, remote_collection, collection)
                 VALUES (?1, ?2, ?3, ?4)",
                params![peer, direction.as_str(), remote_collection, collection],
            )
            .map_err(|e| match db(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "this {} is already configured",
                    direction.as_str()
                )),
                other => other,
            })?;
            cached_row(
                tx,
                &format!("SELECT {JOB_COLUMNS} FROM sync_jobs WHERE id = ?1"),
                [tx.last_insert_rowid()],
                job_from_row,
            )
            .map_err(db)
        })
    }

    fn jobs(&self, peer: i64) -> Result<Vec<SyncJob>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!("SELECT {JOB_COLUMNS} FROM sync_jobs WHERE peer = ?1 ORDER BY id"),
            [peer],
            job_from_row,
        )
        .map_err(db)
    }

    fn add_pulled(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
        audit: &AuditEntry,
        progress: &PullProgress<'_>,
    ) -> Result<Vec<AddOutcome>> {
        self.add_with(collection, objects, guard, audit, |tx, outcomes| {
            advance(
                tx,
                progress.job,
                progress.cursor,
                &(progress.stats)(outcomes),
            )
        })
    }

    fn record_run(
        &self,
        job: i64,
        cursor: Option<Timestamp>,
        stats: SyncStats,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        advance(&tx, job, cursor, &stats)?;
        cached_exec(
            &tx,
            "UPDATE sync_jobs SET last_run = ?2, last_error = ?3,
                 last_success = CASE WHEN ?3 IS NULL THEN ?2 ELSE last_success END
             WHERE id = ?1",
            params![job, at.as_micros(), error],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn record_push_failures(&self, failures: &[PushFailure]) -> Result<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        for f in failures {
            cached_exec(
                &tx,
                "INSERT INTO push_failures (job, stix_id, version, message, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![f.job, f.id, f.version, f.message, f.at.as_micros()],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn push_failures(&self, job: i64, limit: usize) -> Result<Vec<PushFailure>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT job, stix_id, version, message, at FROM push_failures
             WHERE job = ?1 ORDER BY seq DESC LIMIT ?2",
            params![job, limit as i64],
            |r| {
                Ok(PushFailure {
                    job: r.get(0)?,
                    id: r.get(1)?,
                    version: r.get(2)?,
                    message: r.get(3)?,
                    at: ts(r.get(4)?),
                })
            },
        )
        .map_err(db)
    }
}

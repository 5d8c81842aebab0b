//! Incidents on SQLite (see [`crate::IncidentStore`]).

use rusqlite::{Connection, OptionalExtension, params};
use sharing::{OrgId, UserId};
use stix::Timestamp;

use super::audit::append_in;
use super::{SqliteStore, cached_rows, db, now};
use crate::{
    AuditEntry, IncidentStore, IncidentVersion, NewIncident, NewSubmission, RecordChange, Result,
    StoreError, StoredIncident, SubmissionRecord,
};

const INCIDENT_COLUMNS: &str = "id, org, created, created_by, updated, updated_by, version, record";

fn incident_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredIncident> {
    Ok(StoredIncident {
        id: r.get(0)?,
        org: r.get(1)?,
        created: Timestamp::from_micros(r.get(2)?),
        created_by: r.get(3)?,
        updated: Timestamp::from_micros(r.get(4)?),
        updated_by: r.get(5)?,
        version: r.get(6)?,
        record: r.get(7)?,
    })
}

const SUBMISSION_COLUMNS: &str = "s.incident, s.regime, s.stage, s.submitted_at, s.reference, s.recorded_by, o.name || '/' || u.name, s.recorded_at, s.version";

fn submission_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SubmissionRecord> {
    Ok(SubmissionRecord {
        incident: r.get(0)?,
        regime: r.get(1)?,
        stage: r.get(2)?,
        submitted_at: Timestamp::from_micros(r.get(3)?),
        reference: r.get(4)?,
        recorded_by: r.get(5)?,
        recorded_by_name: r.get(6)?,
        recorded_at: Timestamp::from_micros(r.get(7)?),
        version: r.get(8)?,
    })
}

const MILLI: i64 = 1000;

/// Now, to the millisecond, and later than `after` by at least one.
fn stamp(after: Option<Timestamp>) -> Timestamp {
    let now = now().as_micros().div_euclid(MILLI) * MILLI;
    let floor = after.map_or(i64::MIN, |t| {
        t.as_micros().div_euclid(MILLI) * MILLI + MILLI
    });
    Timestamp::from_micros(now.max(floor))
}

fn load(conn: &Connection, id: &str) -> Result<Option<StoredIncident>> {
    conn.query_row(
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1"),
        [id],
        incident_from_row,
    )
    .optional()
    .map_err(db)
}

/// Writes a new version inside `tx`, checking the expected version first.
fn write_version(
    tx: &rusqlite::Transaction<'_>,
    change: &RecordChange<'_>,
) -> Result<StoredIncident> {
    let current = load(tx, change.id)?
        .ok_or_else(|| StoreError::NotFound(format!("incident {}", change.id)))?;
    if current.version != change.expected_version {
        return Err(StoreError::Conflict(format!(
            "incident {} is at version {}, not {}: it was changed meanwhile; read it again and reapply the change",
            change.id, current.version, change.expected_version
        )));
    }
    let updated = stamp(Some(current.updated));
    let version = current.version + 1;
    tx.execute(
        "UPDATE incidents SET updated = ?2, updated_by = ?3, version = ?4, record = ?5 WHERE id = ?1",
        params![change.id, updated.as_micros(), change.by, version, change.record],
    )
    .map_err(db)?;
    tx.execute(
        "INSERT INTO incident_versions (incident, version, recorded_at, recorded_by, record)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            change.id,
            version,
            updated.as_micros(),
            change.by,
            change.record
        ],
    )
    .map_err(db)?;
    Ok(StoredIncident {
        updated,
        updated_by: change.by,
        version,
        record: change.record.to_string(),
        ..current
    })
}

fn user_name(conn: &Connection, user: Option<UserId>) -> Result<Option<String>> {
    let Some(user) = user else {
        return Ok(None);
    };
    conn.query_row(
        "SELECT o.name || '/' || u.name FROM users u JOIN orgs o ON o.id = u.org WHERE u.id = ?1",
        [user],
        |r| r.get(0),
    )
    .optional()
    .map_err(db)
}

impl IncidentStore for SqliteStore {
    fn create_incident(&self, new: &NewIncident, audit: &AuditEntry) -> Result<StoredIncident> {
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let created = stamp(None);
        tx.execute(
            "INSERT INTO incidents (id, org, created, created_by, updated, updated_by, version, record)
             VALUES (?1, ?2, ?3, ?4, ?3, ?4, 1, ?5)",
            params![new.id, new.org, created.as_micros(), new.created_by, new.record],
        )
        .map_err(db)?;
        tx.execute(
            "INSERT INTO incident_versions (incident, version, recorded_at, recorded_by, record)
             VALUES (?1, 1, ?2, ?3, ?4)",
            params![new.id, created.as_micros(), new.created_by, new.record],
        )
        .map_err(db)?;
        append_in(&tx, std::slice::from_ref(audit))?;
        tx.commit().map_err(db)?;
        Ok(StoredIncident {
            id: new.id.clone(),
            org: new.org,
            created,
            created_by: new.created_by,
            updated: created,
            updated_by: new.created_by,
            version: 1,
            record: new.record.clone(),
        })
    }

    fn incident(&self, id: &str) -> Result<Option<StoredIncident>> {
        let conn = self.read_connection()?;
        load(&conn, id)
    }

    fn incidents(&self, org: Option<OrgId>) -> Result<Vec<StoredIncident>> {
        let conn = self.read_connection()?;
        let rows = match org {
            Some(org) => cached_rows(
                &conn,
                &format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE org = ?1 ORDER BY updated DESC"
                ),
                [org],
                incident_from_row,
            ),
            None => cached_rows(
                &conn,
                &format!("SELECT {INCIDENT_COLUMNS} FROM incidents ORDER BY updated DESC"),
                [],
                incident_from_row,
            ),
        };
        rows.map_err(db)
    }

    fn update_incident(
        &self,
        change: &RecordChange<'_>,
        audit: &AuditEntry,
    ) -> Result<StoredIncident> {
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let stored = write_version(&tx, change)?;
        append_in(&tx, std::slice::from_ref(audit))?;
        tx.commit().map_err(db)?;
        Ok(stored)
    }

    fn record_submission(
        &self,
        change: &RecordChange<'_>,
        submission: &NewSubmission,
        audit: &AuditEntry,
    ) -> Result<(StoredIncident, SubmissionRecord)> {
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let stored = write_version(&tx, change)?;
        tx.execute(
            "INSERT INTO incident_submissions
                 (incident, regime, stage, submitted_at, reference, recorded_by, recorded_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                change.id,
                submission.regime,
                submission.stage,
                submission.submitted_at.as_micros(),
                submission.reference,
                submission.recorded_by,
                stored.updated.as_micros(),
                stored.version
            ],
        )
        .map_err(db)?;
        let recorded_by_name = user_name(&tx, submission.recorded_by)?;
        append_in(&tx, std::slice::from_ref(audit))?;
        tx.commit().map_err(db)?;
        let record = SubmissionRecord {
            incident: change.id.to_string(),
            regime: submission.regime.clone(),
            stage: submission.stage.clone(),
            submitted_at: submission.submitted_at,
            reference: submission.reference.clone(),
            recorded_by: submission.recorded_by,
            recorded_by_name,
            recorded_at: stored.updated,
            version: stored.version,
        };
        Ok((stored, record))
    }

    fn submissions(&self, incident: &str) -> Result<Vec<SubmissionRecord>> {
        let conn = self.read_connection()?;
        cached_rows(
            &conn,
            &format!(
                "SELECT {SUBMISSION_COLUMNS} FROM incident_submissions s
                 LEFT JOIN users u ON u.id = s.recorded_by LEFT JOIN orgs o ON o.id = u.org
                 WHERE s.incident = ?1 ORDER BY s.seq"
            ),
            [incident],
            submission_from_row,
        )
        .map_err(db)
    }

    fn incident_versions(&self, incident: &str) -> Result<Vec<IncidentVersion>> {
        let conn = self.read_connection()?;
        cached_rows(
            &conn,
            "SELECT v.version, v.recorded_at, v.recorded_by, o.name || '/' || u.name, v.record
                 FROM incident_versions v
                 LEFT JOIN users u ON u.id = v.recorded_by LEFT JOIN orgs o ON o.id = u.org
                 WHERE v.incident = ?1 ORDER BY v.version",
            [incident],
            |r| {
                Ok(IncidentVersion {
                    version: r.get(0)?,
                    recorded_at: Timestamp::from_micros(r.get(1)?),
                    recorded_by: r.get(2)?,
                    recorded_by_name: r.get(3)?,
                    record: r.get(4)?,
                })
            },
        )
        .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditEntry, DirectoryStore, SqliteOptions};
    use sharing::Role;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path().join("db.sqlite"), SqliteOptions::default()).unwrap();
        (dir, store)
    }

    fn new(id: &str, org: OrgId, record: &str) -> NewIncident {
        NewIncident {
            id: id.into(),
            org,
            created_by: None,
            record: record.into(),
        }
    }

    #[test]
    fn versions_are_kept_and_each_is_at_least_a_millisecond_later() {
        let (_dir, s) = store();
        let org = s
            .create_org(
                "Org",
                "identity--00000000-0000-4000-8000-000000000001",
                &AuditEntry::default(),
            )
            .unwrap();
        let user = s
            .create_user(org.id, "ana", Role::Analyst, &AuditEntry::default())
            .unwrap();
        let first = s
            .create_incident(&new("a", org.id, "{\"v\":1}"), &AuditEntry::default())
            .unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(first.created.as_micros() % MILLI, 0);
        let mut last = first.clone();
        for n in 2..=4 {
            let record = format!("{{\"v\":{n}}}");
            last = s
                .update_incident(
                    &RecordChange {
                        id: "a",
                        expected_version: last.version,
                        record: &record,
                        by: Some(user.id),
                    },
                    &AuditEntry::default(),
                )
                .unwrap();
            assert_eq!(last.version, n);
        }
        let versions = s.incident_versions("a").unwrap();
        assert_eq!(versions.len(), 4);
        for pair in versions.windows(2) {
            assert!(pair[1].recorded_at.as_micros() >= pair[0].recorded_at.as_micros() + MILLI);
        }
        assert_eq!(versions[3].recorded_by_name.as_deref(), Some("Org/ana"));
        assert_eq!(versions[0].record, "{\"v\":1}");
        let stored = s.incident("a").unwrap().unwrap();
        assert_eq!(stored, last);
        assert_eq!(stored.created, first.created);
    }

    #[test]
    fn a_stale_version_is_a_conflict_and_changes_nothing() {
        let (_dir, s) = store();
        let org = s
            .create_org(
                "Org",
                "identity--00000000-0000-4000-8000-000000000001",
                &AuditEntry::default(),
            )
            .unwrap();
        s.create_incident(&new("a", org.id, "{}"), &AuditEntry::default())
            .unwrap();
        let change = RecordChange {
            id: "a",
            expected_version: 1,
            record: "{\"x\":1}",
            by: None,
        };
        s.update_incident(&change, &AuditEntry::default()).unwrap();
        let stale = s.update_incident(&change, &AuditEntry::default());
        assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
        let submission = NewSubmission {
            regime: "nis2".into(),
            stage: "notification".into(),
            submitted_at: Timestamp::from_micros(1),
            reference: None,
            recorded_by: None,
        };
        assert!(matches!(
            s.record_submission(&change, &submission, &AuditEntry::default()),
            Err(StoreError::Conflict(_))
        ));
        assert!(s.submissions("a").unwrap().is_empty());
        assert_eq!(s.incident("a").unwrap().unwrap().version, 2);
        let missing = RecordChange { id: "b", ..change };
        assert!(matches!(
            s.update_incident(&missing, &AuditEntry::default()),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn submissions_are_logged_with_the_version_they_made() {
        let (_dir, s) = store();
        let org = s
            .create_org(
                "Org",
                "identity--00000000-0000-4000-8000-000000000001",
                &AuditEntry::default(),
            )
            .unwrap();
        let user = s
            .create_user(org.id, "ana", Role::Analyst, &AuditEntry::default())
            .unwrap();
        s.create_incident(&new("a", org.id, "{}"), &AuditEntry::default())
            .unwrap();
        let (stored, logged) = s
            .record_submission(
                &RecordChange {
                    id: "a",
                    expected_version: 1,
                    record: "{\"submissions\":{}}",
                    by: Some(user.id),
                },
                &NewSubmission {
                    regime: "nis2".into(),
                    stage: "early-warning".into(),
                    submitted_at: Timestamp::from_micros(1_000_000),
                    reference: Some("CSIRT-42".into()),
                    recorded_by: Some(user.id),
                },
                &AuditEntry::default(),
            )
            .unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(logged.version, 2);
        assert_eq!(logged.recorded_by_name.as_deref(), Some("Org/ana"));
        assert_eq!(s.submissions("a").unwrap(), vec![logged]);
    }

    #[test]
    fn listing_by_organisation_uses_the_index_and_sees_only_that_organisation() {
        let (_dir, s) = store();
        let a = s
            .create_org(
                "A",
                "identity--00000000-0000-4000-8000-000000000001",
                &AuditEntry::default(),
            )
            .unwrap();
        let b = s
            .create_org(
                "B",
                "identity--00000000-0000-4000-8000-000000000002",
                &AuditEntry::default(),
            )
            .unwrap();
        s.create_incident(&new("a1", a.id, "{}"), &AuditEntry::default())
            .unwrap();
        s.create_incident(&new("b1", b.id, "{}"), &AuditEntry::default())
            .unwrap();
        s.create_incident(&new("a2", a.id, "{}"), &AuditEntry::default())
            .unwrap();
        let ids = |org| -> Vec<String> {
            s.incidents(org)
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect()
        };
        assert_eq!(ids(Some(a.id)), ["a2", "a1"]);
        assert_eq!(ids(Some(b.id)), ["b1"]);
        assert_eq!(ids(None), ["a2", "b1", "a1"]);

        let conn = s.read_connection().unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT {INCIDENT_COLUMNS} FROM incidents WHERE org = ?1 ORDER BY updated DESC"
            ))
            .unwrap()
            .query_map([a.id], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX incidents_by_org")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
        // Unused here, but the trait object must stay usable.
        let _: &dyn IncidentStore = &s;
        let _: &dyn crate::Store = &s;
    }
}

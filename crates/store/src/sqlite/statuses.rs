//! TAXII status resources.

use rusqlite::{OptionalExtension, params};
use stix::Timestamp;

use super::{SqliteStore, cached_exec, cached_row, db, ts};
use crate::{Result, StatusRecord, StatusStore};

impl StatusStore for SqliteStore {
    fn put_status(&self, status: &StatusRecord) -> Result<()> {
        let conn = self.write_connection();
        cached_exec(&conn,
            "INSERT INTO statuses (id, api_root, owner_token, created, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            params![
                status.id,
                status.api_root,
                status.owner_token,
                status.created.as_micros(),
                status.body
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    fn status(&self, id: &str) -> Result<Option<StatusRecord>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, api_root, owner_token, created, body FROM statuses WHERE id = ?1",
            [id],
            |r| {
                Ok(StatusRecord {
                    id: r.get(0)?,
                    api_root: r.get(1)?,
                    owner_token: r.get(2)?,
                    created: ts(r.get(3)?),
                    body: r.get(4)?,
                })
            },
        )
        .optional()
        .map_err(db)
    }

    fn purge_statuses(&self, before: Timestamp) -> Result<usize> {
        let conn = self.write_connection();
        cached_exec(
            &conn,
            "DELETE FROM statuses WHERE created < ?1",
            [before.as_micros()],
        )
        .map_err(db)
    }
}

//! Versioned schema migrations. Each entry moves the schema from version
//! `index` to `index + 1`; `PRAGMA user_version` records where a database is.
//! Never edit a shipped migration: append a new one.

use rusqlite::Connection;

use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: the TAXII core.
    "
    CREATE TABLE api_roots (
        path TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        description TEXT,
        max_content_length INTEGER NOT NULL
    );
    CREATE TABLE collections (
        key INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        api_root TEXT NOT NULL REFERENCES api_roots(path),
        title TEXT NOT NULL,
        description TEXT,
        alias TEXT,
        created INTEGER NOT NULL
    );
    CREATE INDEX collections_by_root ON collections(api_root);

    -- date_added is unique across the database and is the row key.
    -- version: modified, else created, in microseconds; 0 for unversioned objects,
    -- whose reported version is their date_added.
    CREATE TABLE objects (
        date_added INTEGER PRIMARY KEY,
        collection INTEGER NOT NULL,
        stix_id TEXT NOT NULL,
        type TEXT NOT NULL,
        version INTEGER NOT NULL,
        versioned INTEGER NOT NULL,
        is_latest INTEGER NOT NULL,
        is_first INTEGER NOT NULL,
        spec_version TEXT NOT NULL,
        raw TEXT NOT NULL
    );
    CREATE UNIQUE INDEX objects_by_version ON objects(collection, stix_id, version);
    CREATE INDEX objects_by_added ON objects(collection, date_added);
    CREATE INDEX objects_by_type ON objects(collection, type, date_added);

    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        secret_hash BLOB NOT NULL UNIQUE,
        admin INTEGER NOT NULL,
        created INTEGER NOT NULL,
        expires INTEGER,
        revoked INTEGER,
        last_used INTEGER
    );
    CREATE TABLE token_grants (
        token INTEGER NOT NULL REFERENCES tokens(id),
        collection INTEGER NOT NULL REFERENCES collections(key),
        can_read INTEGER NOT NULL,
        can_write INTEGER NOT NULL,
        PRIMARY KEY (token, collection)
    ) WITHOUT ROWID;

    CREATE TABLE statuses (
        id TEXT PRIMARY KEY,
        api_root TEXT NOT NULL,
        owner_token INTEGER,
        created INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX statuses_by_created ON statuses(created);
    ",
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT`], one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let db = |e: rusqlite::Error| StoreError::Database(e.to_string());
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if found > CURRENT {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: CURRENT,
        });
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        if now > step as i64 {
            continue;
        }
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", step as i64 + 1)
            .map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
}

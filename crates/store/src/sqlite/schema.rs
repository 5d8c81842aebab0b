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
    // 2: organisations, users, communities, TLP audiences, audit.
    // Objects stored under schema 1 had no policy: they keep being visible to
    // every reader of their collection (the `clear` audience).
    "
    CREATE TABLE node_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
    INSERT INTO node_meta (key, value) VALUES ('pseudonym_secret', randomblob(32));

    CREATE TABLE orgs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        identity_id TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        org INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'reader')),
        created INTEGER NOT NULL,
        UNIQUE (org, name)
    );
    CREATE TABLE communities (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        show_members INTEGER NOT NULL,
        created INTEGER NOT NULL
    );
    CREATE TABLE community_members (
        community INTEGER NOT NULL REFERENCES communities(id),
        org INTEGER NOT NULL REFERENCES orgs(id),
        pseudonymous INTEGER NOT NULL,
        added INTEGER NOT NULL,
        PRIMARY KEY (community, org)
    ) WITHOUT ROWID;
    CREATE INDEX community_members_by_org ON community_members(org, community);

    ALTER TABLE collections ADD COLUMN owner_org INTEGER REFERENCES orgs(id);
    ALTER TABLE collections ADD COLUMN owner_community INTEGER REFERENCES communities(id);
    ALTER TABLE collections ADD COLUMN default_tlp INTEGER;
    ALTER TABLE collections ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tokens ADD COLUMN user INTEGER REFERENCES users(id);

    -- An audience is a set of keys, interned: many objects share one.
    CREATE TABLE audiences (id INTEGER PRIMARY KEY, keys TEXT NOT NULL UNIQUE);
    CREATE TABLE audience_keys (
        key TEXT NOT NULL,
        audience INTEGER NOT NULL REFERENCES audiences(id),
        PRIMARY KEY (key, audience)
    ) WITHOUT ROWID;
    INSERT INTO audiences (id, keys) VALUES (1, 'clear');
    INSERT INTO audience_keys (key, audience) VALUES ('clear', 1);

    ALTER TABLE objects ADD COLUMN audience INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE objects ADD COLUMN origin_org INTEGER;
    ALTER TABLE objects ADD COLUMN origin_user INTEGER;
    ALTER TABLE objects ADD COLUMN tlp INTEGER DEFAULT 0;
    ALTER TABLE objects ADD COLUMN refs TEXT;
    -- Lookups by id across collections (onward sharing, references) and
    -- within one collection both use this index.
    DROP INDEX objects_by_version;
    CREATE UNIQUE INDEX objects_by_version ON objects(stix_id, collection, version);

    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        token INTEGER,
        user INTEGER,
        org INTEGER,
        action TEXT NOT NULL,
        collection TEXT,
        objects TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL
    );
    CREATE INDEX audit_by_org ON audit(org, seq);
    CREATE INDEX audit_by_user ON audit(user, seq);
    CREATE INDEX audit_by_time ON audit(at);
    CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    ",
    // 3: incidents recorded on the node (see incidents.rs).
    // Times are microseconds, kept to whole milliseconds so that each version
    // has its own STIX `modified` when the incident is exported.
    "
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        org INTEGER NOT NULL REFERENCES orgs(id),
        created INTEGER NOT NULL,
        created_by INTEGER REFERENCES users(id),
        updated INTEGER NOT NULL,
        updated_by INTEGER REFERENCES users(id),
        version INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    -- An organisation's incidents, most recently updated first, without
    -- touching any other organisation's rows.
    CREATE INDEX incidents_by_org ON incidents(org, updated);
    CREATE INDEX incidents_by_updated ON incidents(updated);

    -- Every version of every record, the current one included.
    CREATE TABLE incident_versions (
        incident TEXT NOT NULL REFERENCES incidents(id),
        version INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        recorded_by INTEGER REFERENCES users(id),
        record TEXT NOT NULL,
        PRIMARY KEY (incident, version)
    );

    -- Reports made to authorities, as recorded (append-only log; the
    -- record's `submissions` is what assessments read).
    CREATE TABLE incident_submissions (
        seq INTEGER PRIMARY KEY,
        incident TEXT NOT NULL REFERENCES incidents(id),
        regime TEXT NOT NULL,
        stage TEXT NOT NULL,
        submitted_at INTEGER NOT NULL,
        reference TEXT,
        recorded_by INTEGER REFERENCES users(id),
        recorded_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX incident_submissions_by_incident ON incident_submissions(incident, seq);
    ",
    // 4: ids are found through the in-memory index (id_index.rs), not a
    // B-tree of random UUIDs that every add would dirty at a random page.
    // The date index covers stix_id so that index can be rebuilt quickly.
    "
    DROP INDEX objects_by_version;
    DROP INDEX objects_by_added;
    CREATE INDEX objects_by_added ON objects(collection, date_added, stix_id);
    ",
    // 5: each source organisation keeps its own copy of an observable; a
    // copy stored while other sources' copies were in the collection is
    // marked, so that a reader who may see several receives one.
    "
    ALTER TABLE objects ADD COLUMN prior_copies INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX community_members_pseudonymous ON community_members(pseudonymous)
        WHERE pseudonymous = 1;
    ",
    // 6: federation. Each object's provenance (0 posted here, awaiting its
    // manifest; 1 posted here and signed; 2 received unsigned; 3 received
    // and verified; 4 received and invalid) and the node that vouches for
    // it; peers, their pull and push jobs, and push failures.
    "
    ALTER TABLE tokens ADD COLUMN max_tlp INTEGER;
    ALTER TABLE collections ADD COLUMN signed INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE objects ADD COLUMN provenance INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE objects ADD COLUMN origin_node TEXT;
    CREATE INDEX objects_pending_signature ON objects(date_added) WHERE provenance = 0;

    CREATE TABLE peers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        org INTEGER NOT NULL REFERENCES orgs(id),
        user INTEGER NOT NULL REFERENCES users(id),
        keys TEXT NOT NULL,
        max_tlp INTEGER NOT NULL,
        refuse_unsigned INTEGER NOT NULL,
        ca_file TEXT,
        created INTEGER NOT NULL
    );
    CREATE TABLE sync_jobs (
        id INTEGER PRIMARY KEY,
        peer INTEGER NOT NULL REFERENCES peers(id),
        direction TEXT NOT NULL CHECK (direction IN ('pull', 'push')),
        remote_collection TEXT NOT NULL,
        collection INTEGER NOT NULL REFERENCES collections(key),
        cursor INTEGER,
        stored INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        refused INTEGER NOT NULL DEFAULT 0,
        verified INTEGER NOT NULL DEFAULT 0,
        unsigned INTEGER NOT NULL DEFAULT 0,
        invalid INTEGER NOT NULL DEFAULT 0,
        last_run INTEGER,
        last_success INTEGER,
        last_error TEXT,
        UNIQUE (peer, direction, remote_collection, collection)
    );
    CREATE TABLE push_failures (
        seq INTEGER PRIMARY KEY,
        job INTEGER NOT NULL REFERENCES sync_jobs(id),
        stix_id TEXT NOT NULL,
        version TEXT,
        message TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX push_failures_by_job ON push_failures(job, seq);
    ",
    // 7: the web console. Figures kept as rows are written (see
    // console.rs): a row is `counted` when the policy has declared its
    // visibility to be exactly its audience. Rows without gating references
    // that are not later copies start counted; pointer rows wait in
    // `count_pending` for `node` to decide. A row that is not `listed` (the
    // node's signed manifests: `node` says which) is never counted, listed,
    // searched or shown as a referrer. `object_refs` finds the rows that
    // refer to an id (keyed by a 64-bit hash of the id; the row's `refs`
    // confirm). `object_text` was the full-text index (contentless: the
    // text lives in `raw`) until step 12 moved it to a file of its own.
    // Sessions, passwords, sign-in links and failures (sessions.rs). The
    // Rust step after this migration fills `object_refs` and `ranked` for
    // rows already stored, and takes the rows `node` does not list out of
    // the figures.
    "
    ALTER TABLE objects ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE objects ADD COLUMN ranked TEXT;
    ALTER TABLE objects ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;
    UPDATE objects SET counted = 1 WHERE refs IS NULL AND prior_copies = 0;
    CREATE INDEX objects_uncounted ON objects(collection, date_added)
        WHERE counted = 0 AND listed = 1;
    CREATE TABLE object_counts (
        collection INTEGER NOT NULL,
        day INTEGER NOT NULL,
        audience INTEGER NOT NULL,
        type TEXT NOT NULL,
        tlp INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (collection, day, audience, type, tlp)
    ) WITHOUT ROWID;
    INSERT INTO object_counts (collection, day, audience, type, tlp, n)
        SELECT collection, date_added / 86400000000, audience, type, coalesce(tlp, -1), count(*)
        FROM objects WHERE counted = 1 GROUP BY 1, 2, 3, 4, 5;
    CREATE TABLE ranked_counts (
        collection INTEGER NOT NULL,
        day INTEGER NOT NULL,
        audience INTEGER NOT NULL,
        tlp INTEGER NOT NULL,
        target TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (collection, day, audience, tlp, target)
    ) WITHOUT ROWID;
    -- mark: when the row became pending; a decision taken on an older mark is stale.
    CREATE TABLE count_pending (row INTEGER PRIMARY KEY, mark INTEGER NOT NULL);
    INSERT INTO count_pending (row, mark) SELECT date_added, 0 FROM objects WHERE refs IS NOT NULL AND prior_copies = 0;
    CREATE TABLE object_refs (
        target INTEGER NOT NULL,
        row INTEGER NOT NULL,
        PRIMARY KEY (target, row)
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE object_text USING fts5(
        name, description, pattern, content = '', contentless_delete = 1
    );
    INSERT INTO node_meta (key, value) VALUES ('console_backfill', x'01');

    CREATE TABLE user_passwords (
        user INTEGER PRIMARY KEY REFERENCES users(id),
        phc TEXT NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        secret_hash BLOB PRIMARY KEY,
        user INTEGER REFERENCES users(id),
        token INTEGER REFERENCES tokens(id),
        csrf TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
    );
    CREATE INDEX sessions_by_user ON sessions(user);
    CREATE INDEX sessions_by_token ON sessions(token);
    CREATE INDEX sessions_by_last_seen ON sessions(last_seen);
    CREATE TABLE sign_in_links (
        secret_hash BLOB PRIMARY KEY,
        user INTEGER NOT NULL REFERENCES users(id),
        created INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        used INTEGER
    );
    CREATE INDEX sign_in_links_by_expiry ON sign_in_links(expires);
    CREATE TABLE sign_in_failures (
        account TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last INTEGER NOT NULL
    );
    ",
    // 8: the rule that counts a pointer by its audience now also asks that
    // TLP ceilings and relay guards admit its targets with it (see
    // `sharing::console::counts_by_audience`): every pointer row counted
    // under the old rule waits for a new decision. Only pointer rows have
    // ranked references, so their figures leave `ranked_counts` entirely,
    // and `object_counts` is summed again from the rows still counted.
    "
    UPDATE objects SET counted = 0 WHERE counted = 1 AND refs IS NOT NULL;
    INSERT OR REPLACE INTO count_pending (row, mark)
        SELECT date_added, 0 FROM objects
        WHERE refs IS NOT NULL AND counted = 0 AND prior_copies = 0 AND listed = 1;
    DELETE FROM object_counts;
    INSERT INTO object_counts (collection, day, audience, type, tlp, n)
        SELECT collection, date_added / 86400000000, audience, type, coalesce(tlp, -1), count(*)
        FROM objects WHERE counted = 1 GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM ranked_counts;
    ",
    // 9: the local organisation that receives the TLP:AMBER+STRICT content
    // a peer sends without naming recipients here (none: node
    // administrators only, see `sharing::audience::object_keys_from_node`).
    "
    ALTER TABLE peers ADD COLUMN strict_recipient INTEGER REFERENCES orgs(id);
    ",
    // 10: which rows each manifest this node signed lists (by `date_added`
    // on both sides), so that a delete, or anything else that changes what
    // readers receive of a row, finds the manifests to withdraw and re-sign
    // (see `ObjectStore::withdraw_manifests`). Keyed by manifest, whose
    // rows are the newest: signing appends. Manifests signed before this
    // migration are matched to their rows by id, source and version (the
    // index on ids lives only as long as the migration).
    "
    CREATE TABLE manifest_entries (
        manifest INTEGER NOT NULL,
        row INTEGER NOT NULL,
        PRIMARY KEY (manifest, row)
    ) WITHOUT ROWID;
    CREATE INDEX manifest_entries_by_row ON manifest_entries(row);
    ALTER TABLE objects ADD COLUMN expires INTEGER;
    CREATE INDEX objects_manifests_expiring ON objects(expires) WHERE expires IS NOT NULL;
    CREATE INDEX objects_by_id_for_migration_10 ON objects(stix_id, collection);
    INSERT OR IGNORE INTO manifest_entries (manifest, row)
        SELECT m.date_added, o.date_added
        FROM objects m, json_each(m.raw, '$.entries') e, objects o
        WHERE m.type = 'x-entente-manifest' AND m.provenance = 1 AND json_valid(m.raw)
          AND o.stix_id = json_extract(e.value, '$.object_ref')
          AND o.collection = m.collection
          AND o.origin_org IS m.origin_org
          AND o.provenance = 1
          AND o.date_added <> m.date_added
          AND json_valid(o.raw)
          AND json_extract(e.value, '$.object_version') IS
              coalesce(json_extract(o.raw, '$.modified'), json_extract(o.raw, '$.created'));
    DROP INDEX objects_by_id_for_migration_10;
    -- Manifests that list what readers do not read are withdrawn, and what
    -- they listed waits for the signer: those listing an object deleted
    -- since (entries without a row); a later copy of an observable (which
    -- reached readers served an earlier copy; the signer now lists later
    -- copies one per manifest); an indicator that may expire in a
    -- collection that hides expired ones (listed after it expired; the
    -- signer now gives manifests their `expires`); or text naming a
    -- pseudonymous member of the collection's community in what its mask
    -- covers (hashed before it joined, unmasked).
    CREATE TEMP TABLE withdrawn_10 AS
        SELECT m.date_added AS manifest FROM objects m
        WHERE m.type = 'x-entente-manifest' AND m.provenance = 1 AND json_valid(m.raw)
          AND json_array_length(m.raw, '$.entries') >
              (SELECT count(*) FROM manifest_entries e WHERE e.manifest = m.date_added)
        UNION
        SELECT e.manifest FROM manifest_entries e
        JOIN objects o ON o.date_added = e.row
        WHERE o.prior_copies = 1
           OR (o.type = 'indicator'
               AND EXISTS (SELECT 1 FROM node_meta
                           WHERE node_meta.key = 'collection.hide_expired.' || o.collection)
               AND json_valid(o.raw)
               AND json_extract(o.raw, '$.valid_until') IS NOT NULL)
           OR EXISTS (
               SELECT 1 FROM collections c
               JOIN community_members cm
                   ON cm.community = c.owner_community AND cm.pseudonymous = 1
               JOIN orgs g ON g.id = cm.org
               WHERE c.key = o.collection
                 AND (o.origin_org IS NULL OR o.origin_org = cm.org)
                 AND instr(o.raw, g.identity_id) > 0);
    UPDATE objects SET provenance = 0
        WHERE provenance = 1 AND date_added IN (
            SELECT e.row FROM manifest_entries e
            WHERE e.manifest IN (SELECT manifest FROM withdrawn_10));
    DELETE FROM objects WHERE date_added IN (SELECT manifest FROM withdrawn_10);
    DELETE FROM manifest_entries WHERE manifest IN (SELECT manifest FROM withdrawn_10);
    DROP TABLE withdrawn_10;
    ",
    // 11: what awaits the signer is a queue of row keys, not a flag on the
    // row. Marking a signed row meant rewriting it (and its partial index
    // entry) in the signer's write transaction: as many pages again as the
    // objects themselves, and the write lock held while posts waited. A
    // row posted here keeps provenance 0 ("posted here"); it is signed once
    // it has left the queue. Rows that go leave the queue with them.
    "
    CREATE TABLE IF NOT EXISTS sign_queue (row INTEGER PRIMARY KEY);
    INSERT OR IGNORE INTO sign_queue (row) SELECT date_added FROM objects WHERE provenance = 0
        AND (SELECT count(*) FROM sqlite_master WHERE name = 'objects_pending_signature') = 1;
    DROP INDEX IF EXISTS objects_pending_signature;
    CREATE TRIGGER IF NOT EXISTS sign_queue_forget AFTER DELETE ON objects WHEN old.provenance = 0
    BEGIN
        DELETE FROM sign_queue WHERE row = old.date_added;
    END;
    ",
    // 12: the console counts every row under its *class* (see
    // `sharing::console::CountClass`): who sees it, exactly as the read
    // gate decides, written as its collection, audience, TLP, source and
    // the classes of its targets' copies. Classes are interned in
    // `count_classes` (their text: `console::encode_class`); `row_classes`
    // keeps each row's, so that what a row added is taken back exactly.
    // Figures are kept per class instead of per audience. Rows without
    // references get the class of their facts here; pointer rows wait for
    // `node` to decide theirs again (their figures start empty). Written
    // so that running it on a database that has it changes no figure.
    // Indicators also keep their `valid_until` (microseconds; 0 when SQLite
    // cannot read it, so that the read gate, which judges expiry from the
    // JSON, decides it) behind a partial index: in a collection that hides
    // expired indicators, the figures find the expired ones through it.
    // (Not `expires`: that is a manifest's, and withdrawals find due
    // manifests by it.)
    "
    ALTER TABLE objects ADD COLUMN valid_until INTEGER;
    UPDATE objects SET valid_until = coalesce(
            CAST(round((julianday(json_extract(raw, '$.valid_until')) - 2440587.5) * 86400000.0) AS INTEGER) * 1000,
            0)
        WHERE type = 'indicator' AND valid_until IS NULL AND json_valid(raw)
          AND json_type(raw, '$.valid_until') = 'text';
    CREATE INDEX objects_expiring ON objects(collection, valid_until) WHERE valid_until IS NOT NULL;
    CREATE TABLE IF NOT EXISTS count_classes (id INTEGER PRIMARY KEY, spec TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS row_classes (row INTEGER PRIMARY KEY, class INTEGER NOT NULL);
    INSERT OR IGNORE INTO count_classes (spec)
        SELECT DISTINCT collection || '|' || audience || '|' || coalesce(tlp, -1) || '|'
                        || coalesce(origin_org, '') || '|0|'
        FROM objects WHERE refs IS NULL AND listed = 1;
    INSERT OR IGNORE INTO row_classes (row, class)
        SELECT o.date_added, c.id FROM objects o JOIN count_classes c
            ON c.spec = o.collection || '|' || o.audience || '|' || coalesce(o.tlp, -1) || '|'
                        || coalesce(o.origin_org, '') || '|0|'
        WHERE o.refs IS NULL AND o.listed = 1;
    UPDATE objects SET counted = 0 WHERE counted = 1 AND refs IS NOT NULL;
    INSERT OR REPLACE INTO count_pending (row, mark)
        SELECT date_added, 0 FROM objects WHERE refs IS NOT NULL AND listed = 1;
    DROP TABLE object_counts;
    CREATE TABLE object_counts (
        class INTEGER NOT NULL,
        day INTEGER NOT NULL,
        type TEXT NOT NULL,
        tlp INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (class, day, type, tlp)
    ) WITHOUT ROWID;
    INSERT INTO object_counts (class, day, type, tlp, n)
        SELECT r.class, o.date_added / 86400000000, o.type, coalesce(o.tlp, -1), count(*)
        FROM objects o JOIN row_classes r ON r.row = o.date_added
        WHERE o.counted = 1 GROUP BY 1, 2, 3, 4;
    DROP TABLE ranked_counts;
    CREATE TABLE ranked_counts (
        class INTEGER NOT NULL,
        day INTEGER NOT NULL,
        target TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (class, day, target)
    ) WITHOUT ROWID;
    ",
    // 13: the console's full-text index moves to a file of its own beside
    // this one, kept up by a thread of its own from the rows' stored bytes
    // (`search.rs`): its upkeep no longer runs in the write transactions.
    // Deleted rows reach it through `text_deletes`; `search_epoch` ties
    // the index file to this database (another database's is rebuilt).
    "
    DROP TABLE IF EXISTS object_text;
    CREATE TABLE IF NOT EXISTS text_deletes (row INTEGER PRIMARY KEY);
    INSERT OR IGNORE INTO node_meta (key, value) VALUES ('search_epoch', randomblob(16));
    ",
    // 14: what a withdrawal queues for the signer again is marked, so that
    // the signer lists it in small manifests (what is posted goes in large
    // ones): one later delete or expiry then re-signs few objects.
    "
    ALTER TABLE sign_queue ADD COLUMN again INTEGER NOT NULL DEFAULT 0;
    ",
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT`], one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, CURRENT)
}

/// Brings the database to `target` (at most [`CURRENT`]); a database
/// already past [`CURRENT`] is refused whatever the target.
fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
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
    for (step, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConsoleFacts, ConsoleStore, CountScope, ListQuery};
    use rusqlite::OptionalExtension;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Step 12 gives rows without references their class and indicators
    /// their `valid_until` (0 when SQLite cannot read it: the gate decides).
    #[test]
    fn migration_twelve_classes_plain_rows_and_times_indicators() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 11).unwrap();
        conn.execute_batch(
            "INSERT INTO audiences (id, keys) VALUES (2, 'green');
             INSERT INTO objects (date_added, collection, stix_id, type, version, versioned,
                                  is_latest, is_first, spec_version, raw, audience, tlp, origin_org)
             VALUES
               (1000, 1, 'indicator--1', 'indicator', 1, 1, 1, 1, '2.1',
                '{\"valid_until\":\"2026-11-03T00:00:00.250Z\"}', 2, 1, 7),
               (2000, 1, 'indicator--2', 'indicator', 1, 1, 1, 1, '2.1',
                '{\"valid_until\":\"soon\"}', 2, 1, 7),
               (3000, 1, 'malware--3', 'malware', 1, 1, 1, 1, '2.1', '{}', 2, 1, NULL);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let until: Vec<Option<i64>> = conn
            .prepare("SELECT valid_until FROM objects ORDER BY date_added")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let expected = stix::Timestamp::parse("2026-11-03T00:00:00.250Z")
            .unwrap()
            .as_micros();
        assert_eq!(until, vec![Some(expected), Some(0), None]);
        let specs: Vec<String> = conn
            .prepare(
                "SELECT c.spec FROM row_classes r JOIN count_classes c ON c.id = r.class ORDER BY r.row",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        use crate::sqlite::console::encode_class;
        use sharing::console::CountClass;
        let green = Some(stix::Tlp::Green);
        assert_eq!(
            specs,
            vec![
                encode_class(&CountClass::plain(1, 2, green, Some(7))),
                encode_class(&CountClass::plain(1, 2, green, Some(7))),
                encode_class(&CountClass::plain(1, 2, green, None)),
            ]
        );
    }

    #[test]
    fn migration_nine_gives_peers_no_strict_recipient() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 8).unwrap();
        conn.execute_batch(
            "INSERT INTO orgs (id, name, identity_id, created) VALUES (1, 'o', 'identity--1', 0);
             INSERT INTO users (id, org, name, role, created) VALUES (1, 1, 'u', 'analyst', 0);
             INSERT INTO peers (name, url, org, user, keys, max_tlp, refuse_unsigned, created)
                 VALUES ('p', 'https://p.example/api1/', 1, 1, '', 3, 0, 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let recipient: Option<i64> = conn
            .query_row(
                "SELECT strict_recipient FROM peers WHERE name = 'p'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            recipient, None,
            "a peer added before: node administrators only"
        );
    }

    #[test]
    fn federation_is_six_the_console_seven_and_eight_and_newer_schemas_are_refused() {
        assert_eq!(CURRENT, 14);
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 6).unwrap();
        let at_six = tables(&conn);
        assert!(at_six.contains(&"peers".to_string()));
        assert!(!at_six.contains(&"sessions".to_string()));
        migrate(&mut conn).unwrap();
        let at_seven = tables(&conn);
        for t in [
            "sessions",
            "object_counts",
            "ranked_counts",
            "count_pending",
            "sign_queue",
            "count_classes",
            "row_classes",
            "text_deletes",
        ] {
            assert!(at_seven.contains(&t.to_string()), "{t}");
        }
        // Step 12 moved the full-text index to a file of its own.
        assert!(!at_seven.contains(&"object_text".to_string()));
        // Migrating again is a no-op.
        migrate(&mut conn).unwrap();
        conn.pragma_update(None, "user_version", CURRENT + 1)
            .unwrap();
        match migrate(&mut conn) {
            Err(StoreError::SchemaTooNew { found, supported }) => {
                assert_eq!((found, supported), (CURRENT + 1, CURRENT));
            }
            other => panic!("a newer schema was not refused: {other:?}"),
        }
    }

    /// A node of the federation release (schema 6) holding an object, a
    /// pointer to it and a signed manifest listing both: after migration 7
    /// and the backfill, the manifest is out of the console, the object is
    /// counted, the pointer waits for `node`, and search and referrers work.
    #[test]
    fn a_federation_database_gains_the_console_without_its_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.db");
        let malware = "malware--00000000-0000-4000-8000-000000000001";
        let relationship = "relationship--00000000-0000-4000-8000-000000000002";
        let manifest = "x-entente-manifest--00000000-0000-4000-8000-000000000003";
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 6).unwrap();
            conn.execute_batch(&format!(
                "INSERT INTO api_roots (path, title, max_content_length) VALUES ('api1', 't', 1000);
                 INSERT INTO collections (key, id, api_root, title, created, default_tlp)
                     VALUES (1, '91a7b528-80eb-42ed-a74d-c6fbd5a26116', 'api1', 'c', 0, 1);
                 INSERT INTO audiences (id, keys) VALUES (2, 'green');
                 INSERT INTO audience_keys (key, audience) VALUES ('green', 2);
                 INSERT INTO objects (date_added, collection, stix_id, type, version, versioned,
                                      is_latest, is_first, spec_version, raw, audience, tlp, refs,
                                      provenance)
                 VALUES
                   (1000, 1, '{malware}', 'malware', 1, 1, 1, 1, '2.1',
                    '{{\"type\":\"malware\",\"id\":\"{malware}\",\"name\":\"Nightowl\"}}', 2, 1, NULL, 1),
                   (2000, 1, '{relationship}', 'relationship', 1, 1, 1, 1, '2.1',
                    '{{\"type\":\"relationship\",\"id\":\"{relationship}\"}}', 2, 1, '{malware}', 1),
                   (3000, 1, '{manifest}', 'x-entente-manifest', 1, 1, 1, 1, '2.1',
                    '{{\"type\":\"x-entente-manifest\",\"id\":\"{manifest}\",\"name\":\"batch\"}}', 2, 1,
                    '{malware} {relationship}', 1);"
            ))
            .unwrap();
        }
        let store = crate::SqliteStore::open(&path, crate::SqliteOptions::default()).unwrap();
        // What `node` extracts: manifests are not listed; the relationship
        // ranks the malware; names are searchable.
        let filled = store
            .backfill_console(&mut |raw: &str| {
                let v: serde_json::Value = serde_json::from_str(raw).unwrap();
                let listed = v["type"] != "x-entente-manifest";
                ConsoleFacts {
                    ranked: if v["type"] == "relationship" {
                        vec![malware.to_string()]
                    } else {
                        Vec::new()
                    },
                    listed,
                }
            })
            .unwrap();
        assert_eq!(filled, 3);
        assert_eq!(store.backfill_console(&mut |_| unreachable!()).unwrap(), 0);
        let scope = CountScope {
            collection: 1,
            audience: None,
            max_tlp: None,
        };
        let classes = |store: &crate::SqliteStore| -> Vec<i64> {
            store
                .count_classes(0)
                .unwrap()
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        let total = || -> u64 {
            store
                .day_counts(&classes(&store), 0)
                .unwrap()
                .iter()
                .map(|d| d.count)
                .sum()
        };
        assert_eq!(total(), 1);
        let pending = store.pending_counts(10).unwrap();
        assert_eq!(
            pending.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            vec![relationship]
        );
        let p = &pending[0];
        let class = sharing::console::CountClass {
            depth: 1,
            ..sharing::console::CountClass::plain(p.collection, p.audience_id, p.tlp, p.origin_org)
        };
        assert_eq!(
            store
                .settle_counts(&[(p.date_added, p.mark, Some(class))])
                .unwrap(),
            1
        );
        assert_eq!(total(), 2);
        assert_eq!(
            store.ranked_counts(&classes(&store), 0).unwrap(),
            vec![(malware.to_string(), 1)]
        );
        let list = |text: Option<&str>| -> Vec<String> {
            store
                .list_newest(
                    std::slice::from_ref(&scope),
                    &ListQuery {
                        text: text.map(str::to_owned),
                        limit: 10,
                        max_examined: 100,
                        ..Default::default()
                    },
                )
                .unwrap()
                .items
                .into_iter()
                .map(|(_, o)| o.id)
                .collect()
        };
        assert_eq!(
            list(None),
            vec![relationship.to_string(), malware.to_string()]
        );
        assert_eq!(list(Some("\"nightowl\"")), vec![malware.to_string()]);
        assert!(list(Some("\"batch\"")).is_empty());
        let referrers: Vec<String> = store
            .referrers(malware, 10)
            .unwrap()
            .into_iter()
            .map(|(_, o)| o.id)
            .collect();
        assert_eq!(referrers, vec![relationship.to_string()]);

        // A console database of schema 7 with that pointer counted: migration
        // 8 re-opens the decision (the pointer waits again, out of the
        // figures and rankings; the object stays counted), and so does
        // migration 12, which counts the object under its class.
        drop(store);
        {
            let mut conn = Connection::open(&path).unwrap();
            // What migrations 10 and 12 made: a database of schema 7 has
            // none of it, and counts per audience.
            conn.execute_batch(
                "DROP TABLE manifest_entries;
                 DROP INDEX objects_manifests_expiring;
                 ALTER TABLE objects DROP COLUMN expires;
                 DROP INDEX objects_expiring;
                 ALTER TABLE objects DROP COLUMN valid_until;
                 DROP TABLE count_classes;
                 DROP TABLE row_classes;
                 DROP TABLE object_counts;
                 DROP TABLE ranked_counts;
                 CREATE TABLE object_counts (
                     collection INTEGER NOT NULL, day INTEGER NOT NULL, audience INTEGER NOT NULL,
                     type TEXT NOT NULL, tlp INTEGER NOT NULL, n INTEGER NOT NULL,
                     PRIMARY KEY (collection, day, audience, type, tlp)) WITHOUT ROWID;
                 CREATE TABLE ranked_counts (
                     collection INTEGER NOT NULL, day INTEGER NOT NULL, audience INTEGER NOT NULL,
                     tlp INTEGER NOT NULL, target TEXT NOT NULL, n INTEGER NOT NULL,
                     PRIMARY KEY (collection, day, audience, tlp, target)) WITHOUT ROWID;",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 7).unwrap();
            migrate_to(&mut conn, 8).unwrap();
            // Steps 9 to 11 are in place already (this database was made
            // at the current schema); 12 and 13 run (14 added a column
            // this database has).
            conn.pragma_update(None, "user_version", 11).unwrap();
            migrate_to(&mut conn, 13).unwrap();
            conn.pragma_update(None, "user_version", CURRENT).unwrap();
        }
        let store = crate::SqliteStore::open(&path, crate::SqliteOptions::default()).unwrap();
        let total: u64 = store
            .day_counts(&classes(&store), 0)
            .unwrap()
            .iter()
            .map(|d| d.count)
            .sum();
        assert_eq!(total, 1);
        // The object's class is the one a write gives it.
        let (_, class) = store.count_classes(0).unwrap().remove(0);
        assert_eq!(
            super::super::console::encode_class(&class),
            super::super::console::encode_class(&sharing::console::CountClass::plain(
                1,
                2,
                Some(stix::Tlp::Green),
                None
            ))
        );
        assert!(store.ranked_counts(&classes(&store), 0).unwrap().is_empty());
        let pending = store.pending_counts(10).unwrap();
        assert_eq!(
            pending.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            vec![relationship]
        );
        assert_eq!(pending[0].tlp, Some(stix::Tlp::Green));
    }

    /// A node of schema 8 holding two signed manifests (one of a versioned
    /// object's first version and an observable, one of its second), a
    /// manifest a peer signed and another source's copy of the observable:
    /// migration 10 finds the rows each of this node's manifests lists by id,
    /// source and version, and nothing else.
    #[test]
    fn migration_ten_indexes_the_rows_of_existing_manifests() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 8).unwrap();
        let ind = "indicator--00000000-0000-4000-8000-000000000001";
        let dom = "domain-name--00000000-0000-5000-8000-000000000002";
        let entry = |id: &str, v: Option<&str>| match v {
            Some(v) => format!(r#"{{"object_ref":"{id}","object_version":"{v}","sha256":"00"}}"#),
            None => format!(r#"{{"object_ref":"{id}","sha256":"00"}}"#),
        };
        let manifest = |entries: Vec<String>| {
            format!(
                r#"{{"type":"x-entente-manifest","id":"x-entente-manifest--m","entries":[{}]}}"#,
                entries.join(",")
            )
        };
        let v1 = "2020-01-01T00:00:00.000Z";
        let v2 = "2021-01-01T00:00:00.000Z";
        let m1 = manifest(vec![entry(ind, Some(v1)), entry(dom, None)]);
        let m2 = manifest(vec![entry(ind, Some(v2))]);
        let ind2 = "indicator--00000000-0000-4000-8000-000000000003";
        let m3 = manifest(vec![entry(dom, None), entry(ind2, Some(v1))]);
        let (ind4, ind5, ind6, deleted) = (
            "indicator--00000000-0000-4000-8000-000000000004",
            "indicator--00000000-0000-4000-8000-000000000005",
            "indicator--00000000-0000-4000-8000-000000000006",
            "indicator--00000000-0000-4000-8000-000000000007",
        );
        let p_identity = "identity--00000000-0000-4000-8000-0000000000aa";
        let n_identity = "identity--00000000-0000-4000-8000-0000000000bb";
        let m5 = manifest(vec![entry(ind4, Some(v1))]);
        let m6 = manifest(vec![entry(ind5, Some(v1))]);
        let m7 = manifest(vec![entry(ind6, Some(v1)), entry(deleted, Some(v1))]);
        // (date_added, id, type, raw, source, provenance)
        type Row<'a> = (i64, &'a str, &'a str, String, Option<i64>, i64);
        let rows: Vec<Row> = vec![
            (
                10,
                ind,
                "indicator",
                format!(r#"{{"id":"{ind}","modified":"{v1}"}}"#),
                Some(1),
                1,
            ),
            (
                20,
                ind,
                "indicator",
                format!(r#"{{"id":"{ind}","modified":"{v2}"}}"#),
                Some(1),
                1,
            ),
            (
                30,
                dom,
                "domain-name",
                format!(r#"{{"id":"{dom}"}}"#),
                Some(1),
                1,
            ),
            (
                40,
                dom,
                "domain-name",
                format!(r#"{{"id":"{dom}"}}"#),
                Some(2),
                1,
            ),
            (
                50,
                "x-entente-manifest--a",
                "x-entente-manifest",
                m1,
                Some(1),
                1,
            ),
            (
                60,
                "x-entente-manifest--b",
                "x-entente-manifest",
                m2.clone(),
                Some(1),
                1,
            ),
            // A peer's manifest (verified): not this node's to withdraw.
            (
                70,
                "x-entente-manifest--c",
                "x-entente-manifest",
                m2,
                Some(1),
                3,
            ),
            // The second source's indicator, signed with its copy of the
            // observable (row 40, a later copy): withdrawn (see below).
            (
                90,
                ind2,
                "indicator",
                format!(r#"{{"id":"{ind2}","modified":"{v1}"}}"#),
                Some(2),
                1,
            ),
            (
                100,
                "x-entente-manifest--d",
                "x-entente-manifest",
                m3,
                Some(2),
                1,
            ),
            // A node-level import naming organisation 7, pseudonymous in the
            // collection's community since it was signed (manifest 130), and
            // one naming organisation 1, a named member (manifest 150).
            (
                120,
                ind4,
                "indicator",
                format!(r#"{{"id":"{ind4}","modified":"{v1}","description":"by {p_identity}"}}"#),
                None,
                1,
            ),
            (
                130,
                "x-entente-manifest--f",
                "x-entente-manifest",
                m5,
                None,
                1,
            ),
            (
                140,
                ind5,
                "indicator",
                format!(r#"{{"id":"{ind5}","modified":"{v1}","description":"by {n_identity}"}}"#),
                None,
                1,
            ),
            (
                150,
                "x-entente-manifest--g",
                "x-entente-manifest",
                m6,
                None,
                1,
            ),
            // An object deleted after it was signed: its manifest lists it
            // with another that stays.
            (
                160,
                ind6,
                "indicator",
                format!(r#"{{"id":"{ind6}","modified":"{v1}"}}"#),
                Some(1),
                1,
            ),
            (
                170,
                "x-entente-manifest--h",
                "x-entente-manifest",
                m7,
                Some(1),
                1,
            ),
        ];
        conn.execute_batch(
            "INSERT INTO api_roots (path, title, max_content_length) VALUES ('api1', 't', 1000);
             INSERT INTO collections (key, id, api_root, title, created, default_tlp)
                 VALUES (1, '91a7b528-80eb-42ed-a74d-c6fbd5a26116', 'api1', 'c', 0, 1);
             INSERT INTO audiences (id, keys) VALUES (2, 'green');",
        )
        .unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO orgs (id, name, identity_id, created) VALUES
                 (1, 'Named', '{n_identity}', 0), (2, 'Other', 'identity--x', 0),
                 (7, 'Helpdesk', '{p_identity}', 0);
             INSERT INTO communities (id, name, show_members, created) VALUES (1, 'c', 0, 0);
             INSERT INTO community_members (community, org, pseudonymous, added)
                 VALUES (1, 1, 0, 0), (1, 7, 1, 0);
             UPDATE collections SET owner_community = 1 WHERE key = 1;"
        ))
        .unwrap();
        for (at, id, kind, raw, org, provenance) in rows {
            let prior_copies = at == 40;
            conn.execute(
                "INSERT INTO objects (date_added, collection, stix_id, type, version, versioned,
                                      is_latest, is_first, spec_version, raw, audience, origin_org,
                                      tlp, provenance, prior_copies)
                 VALUES (?1, 1, ?2, ?3, ?1, 1, 1, 1, '2.1', ?4, 2, ?5, 1, ?6, ?7)",
                rusqlite::params![at, id, kind, raw, org, provenance, prior_copies],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT manifest, row FROM manifest_entries ORDER BY manifest, row")
            .unwrap();
        let found: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(found, [(50, 10), (50, 30), (60, 20), (150, 140)]);
        // Manifest 100 listed a later copy (row 40): it is gone, and the
        // rows it listed wait for the signer.
        let state = |at: i64| -> Option<i64> {
            conn.query_row(
                "SELECT provenance FROM objects WHERE date_added = ?1",
                [at],
                |r| r.get(0),
            )
            .optional()
            .unwrap()
        };
        assert_eq!(state(100), None);
        assert_eq!((state(40), state(90)), (Some(0), Some(0)));
        // So are the manifests of the text naming the pseudonymous member
        // and of the deleted object; not that of the named member's.
        assert_eq!((state(130), state(170)), (None, None));
        assert_eq!((state(120), state(160)), (Some(0), Some(0)));
        assert_eq!((state(140), state(150)), (Some(1), Some(1)));
        assert_eq!(
            [state(10), state(30), state(50), state(70)],
            [Some(1), Some(1), Some(1), Some(3)]
        );
        let plan: Vec<String> = conn
            .prepare("EXPLAIN QUERY PLAN SELECT manifest FROM manifest_entries WHERE row = 1")
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("manifest_entries_by_row")),
            "{plan:?}"
        );
    }
}

//! Objects: adds, index-ordered queries, deletes and copy lookups.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use sharing::AudienceKey;
use stix::{ObjectKind, Timestamp, Tlp};

use super::audit::append_in;
use super::console;
use super::{SqliteStore, cached_exec, cached_row, db, now, same_json, tlp_from, tlp_rank, ts};
use crate::{
    AddOutcome, AuditEntry, CopyGuard, CopyRecord, Ingest, ObjectQuery, ObjectStore, PAGE_BYTES,
    Page, PendingObject, Provenance, Result, StoreError, StoredObject, VersionMatch,
};

/// An indicator's `valid_until` (microseconds), as the console's figures
/// find expired indicators by it; `None` for other objects and for a value
/// that is not a STIX timestamp (which never expires).
fn valid_until(object: &stix::StixObject) -> Option<i64> {
    if object.object_type != "indicator" {
        return None;
    }
    // Only the one member: building the whole object as a `Value` tree
    // took 7.6% of the server's CPU in a profile of adds.
    #[derive(serde::Deserialize)]
    struct Until {
        #[serde(default)]
        valid_until: Option<String>,
    }
    let until: Until = serde_json::from_str(&object.raw).ok()?;
    stix::Timestamp::parse(&until.valid_until?)
        .ok()
        .map(stix::Timestamp::as_micros)
}

/// Interns audience key sets within one write transaction.
#[derive(Default)]
struct AudienceInterner {
    known: std::collections::HashMap<String, i64>,
}

impl AudienceInterner {
    fn id(&mut self, tx: &rusqlite::Transaction<'_>, keys: &[AudienceKey]) -> Result<i64> {
        let mut sorted: Vec<String> = keys.iter().map(AudienceKey::to_string).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let text = sorted.join(" ");
        if let Some(id) = self.known.get(&text) {
            return Ok(*id);
        }
        let found: Option<i64> = cached_row(
            tx,
            "SELECT id FROM audiences WHERE keys = ?1",
            [&text],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
        let id = match found {
            Some(id) => id,
            None => {
                cached_exec(tx, "INSERT INTO audiences (keys) VALUES (?1)", [&text]).map_err(db)?;
                let id = tx.last_insert_rowid();
                for k in &sorted {
                    cached_exec(
                        tx,
                        "INSERT INTO audience_keys (key, audience) VALUES (?1, ?2)",
                        params![k, id],
                    )
                    .map_err(db)?;
                }
                id
            }
        };
        self.known.insert(text, id);
        Ok(id)
    }
}
/// The index each query shape must use. Left to itself, SQLite may prefer
/// the `date_added` index to satisfy `ORDER BY` and then test every row of
/// the collection for an id: a scan. Naming the index keeps every shape an
/// index range.
fn index_for(restriction: Option<(&str, &[String])>) -> &'static str {
    match restriction {
        Some(("type", _)) => "objects_by_type",
        _ => "objects_by_added",
    }
}

/// SQL for a version selector, with its parameters appended to `params`.
fn version_sql(v: &VersionMatch, params: &mut Vec<rusqlite::types::Value>) -> String {
    let v = if v.is_empty() {
        std::borrow::Cow::Owned(VersionMatch::last_only())
    } else {
        std::borrow::Cow::Borrowed(v)
    };
    if v.all {
        return "1".into();
    }
    let mut parts = Vec::new();
    if v.last {
        parts.push("is_latest = 1".to_string());
    }
    if v.first {
        parts.push("is_first = 1".to_string());
    }
    if !v.at.is_empty() {
        let marks = vec!["?"; v.at.len()].join(",");
        parts.push(format!(
            "(versioned = 1 AND version IN ({marks})) OR (versioned = 0 AND date_added IN ({marks}))"
        ));
        for t in &v.at {
            params.push(t.as_micros().into());
        }
        for t in &v.at {
            params.push(t.as_micros().into());
        }
    }
    format!("({})", parts.join(" OR "))
}

fn in_list(column: &str, values: &[String], params: &mut Vec<rusqlite::types::Value>) -> String {
    let marks = vec!["?"; values.len()].join(",");
    params.extend(
        values
            .iter()
            .map(|v| rusqlite::types::Value::from(v.clone())),
    );
    format!("{column} IN ({marks})")
}

/// Rows a manifest marks signed per statement (SQLite allows 32,766
/// parameters; a full chunk's statement stays in the statement cache).
const COVER_CHUNK: usize = 500;

/// A row posted here (provenance 0) is pending while it waits in
/// `sign_queue`, and signed once it has left it (see schema step 11).
const STORED_COLUMNS: &str = "date_added, stix_id, type, version, versioned, spec_version, origin_org, tlp, refs, prior_copies,
     CASE WHEN provenance = 0 AND NOT EXISTS (SELECT 1 FROM sign_queue WHERE row = objects.date_added)
          THEN 1 ELSE provenance END,
     origin_node, expires";

/// Takes `rows` out of the signer's queue, many per statement.
fn dequeue(tx: &rusqlite::Transaction<'_>, rows: impl Iterator<Item = i64>) -> Result<()> {
    let rows: Vec<i64> = rows.collect();
    for chunk in rows.chunks(COVER_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        cached_exec(
            tx,
            &format!("DELETE FROM sign_queue WHERE row IN ({marks})"),
            params_from_iter(chunk.iter()),
        )
        .map_err(db)?;
    }
    Ok(())
}

fn stored_from_row(r: &rusqlite::Row<'_>, with_raw: bool) -> rusqlite::Result<StoredObject> {
    let date_added: i64 = r.get(0)?;
    let versioned: bool = r.get(4)?;
    let version: i64 = r.get(3)?;
    let refs: Option<String> = r.get(8)?;
    Ok(StoredObject {
        date_added: ts(date_added),
        id: r.get(1)?,
        object_type: r.get(2)?,
        version: ts(if versioned { version } else { date_added }),
        spec_version: r.get(5)?,
        origin_org: r.get(6)?,
        tlp: tlp_from(r.get(7)?),
        refs: refs
            .map(|t| t.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
        prior_copies: r.get(9)?,
        provenance: Provenance::from_code(r.get(10)?),
        origin_node: r.get(11)?,
        expires: r.get::<_, Option<i64>>(12)?.map(ts),
        raw: if with_raw { r.get(13)? } else { String::new() },
    })
}
impl SqliteStore {
    /// Brings the id index up to what `conn` sees: rows appended since the
    /// last one indexed, by this process or another.
    fn catch_up(&self, conn: &Connection) -> Result<()> {
        let from = self
            .ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .high_water;
        let mut stmt = conn
            .prepare_cached("SELECT date_added, stix_id FROM objects WHERE date_added > ?1")
            .map_err(db)?;
        let mut rows = stmt.query([from]).map_err(db)?;
        let mut fresh = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            fresh.push((
                r.get::<_, i64>(0).map_err(db)?,
                r.get::<_, String>(1).map_err(db)?,
            ));
        }
        if !fresh.is_empty() {
            let mut ids = self.ids.write().unwrap_or_else(|p| p.into_inner());
            for (at, id) in fresh {
                ids.insert(&id, at);
                ids.advance(at);
            }
        }
        Ok(())
    }

    /// Rows that may hold any of `ids` (every collection), up to date with `conn`.
    fn rows_of(&self, conn: &Connection, ids: &[String]) -> Result<Vec<i64>> {
        self.catch_up(conn)?;
        let index = self.ids.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for id in ids {
            index.candidates(id, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Runs one query shape: `restriction` narrows to an index prefix
    /// (collection, and maybe one type) or to the rows of a set of ids.
    /// The SQL and parameters of one index-ordered query shape, or `None`
    /// when it cannot match anything.
    fn query_shape(
        &self,
        conn: &Connection,
        collection: i64,
        restriction: Option<(&str, &[String])>,
        query: &ObjectQuery,
        limit: usize,
    ) -> Result<Option<(String, Vec<rusqlite::types::Value>)>> {
        let mut params: Vec<rusqlite::types::Value> = vec![collection.into()];
        let mut clauses = vec!["collection = ?".to_string()];
        let mut by_rows = false;
        if let Some((column, values)) = restriction {
            if column == "stix_id" {
                let rows = self.rows_of(conn, values)?;
                if rows.is_empty() {
                    return Ok(None);
                }
                let marks = vec!["?"; rows.len()].join(",");
                clauses.push(format!("date_added IN ({marks})"));
                params.extend(rows.into_iter().map(rusqlite::types::Value::from));
                by_rows = true;
            }
            clauses.push(in_list(column, values, &mut params));
        }
        if let Some(after) = query.added_after {
            clauses.push("date_added > ?".into());
            params.push(after.as_micros().into());
        }
        if !query.types.is_empty() && restriction.is_none_or(|(c, _)| c != "type") {
            clauses.push(in_list("type", &query.types, &mut params));
        }
        clauses.push(version_sql(&query.versions, &mut params));
        if !query.spec_versions.is_empty() {
            clauses.push(in_list("spec_version", &query.spec_versions, &mut params));
        }
        if let Some(ceiling) = query.max_tlp {
            clauses.push("tlp <= ?".into());
            params.push(tlp_rank(Some(ceiling)).unwrap_or(0).into());
        }
        if !query.relay_guard.is_empty() {
            params.push(tlp_rank(Some(Tlp::Green)).unwrap_or(1).into());
            params.extend(query.relay_guard.iter().map(|o| (*o).into()));
            clauses.push(format!(
                "NOT (coalesce(tlp, 99) > ? AND coalesce(origin_org, -1) IN ({}))",
                vec!["?"; query.relay_guard.len()].join(",")
            ));
        }
        if let Some(keys) = &query.audience {
            if keys.is_empty() {
                return Ok(None);
            }
            // The reader's audiences form a small set SQLite builds once per statement.
            let keys: Vec<String> = keys.iter().map(AudienceKey::to_string).collect();
            clauses.push(format!(
                "audience IN (SELECT audience FROM audience_keys WHERE {})",
                in_list("key", &keys, &mut params)
            ));
        }
        let raw_col = if query.with_raw { ", raw" } else { "" };
        // Rows of known ids are read by their key; other shapes name the
        // index that bounds them.
        // (`NOT INDEXED`: with many ids the planner may otherwise walk a
        // collection's whole index to keep `date_added` order, testing each
        // row against the lists.)
        let index = if by_rows {
            "NOT INDEXED".to_string()
        } else {
            format!("INDEXED BY {}", index_for(restriction))
        };
        let sql = format!(
            "SELECT {STORED_COLUMNS}{raw_col}
             FROM objects {index} WHERE {} ORDER BY date_added LIMIT {}",
            clauses.join(" AND "),
            limit
        );
        Ok(Some((sql, params)))
    }

    fn explain(&self, collection: i64, query: &ObjectQuery) -> Vec<String> {
        // The very statements query_objects runs, with their plans.
        let conn = self.reader().expect("reader");
        let types = distinct(&query.types);
        let mut plans = Vec::new();
        for restriction in restrictions(query, &types) {
            let Some((sql, params)) = self
                .query_shape(
                    &conn,
                    collection,
                    restriction,
                    query,
                    query.limit.max(1) + 1,
                )
                .expect("shape")
            else {
                continue;
            };
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("prepare");
            let rows = stmt
                .query_map(params_from_iter(params), |r| r.get::<_, String>(3))
                .expect("plan")
                .collect::<rusqlite::Result<Vec<_>>>()
                .expect("rows");
            plans.push(rows.join(" | "));
        }
        plans
    }
}
/// `values` sorted, each once.
fn distinct(values: &[String]) -> Vec<String> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// The index-ordered shapes a query reads, merged by `date_added`: the rows
/// of its ids, or one index range per type (a single `type IN (…)` would
/// make SQLite sort every matching row before applying the limit), or the
/// whole collection's range.
fn restrictions<'q>(
    query: &'q ObjectQuery,
    types: &'q [String],
) -> Vec<Option<(&'static str, &'q [String])>> {
    if !query.ids.is_empty() {
        vec![Some(("stix_id", &query.ids))]
    } else if types.is_empty() {
        vec![None]
    } else {
        types
            .iter()
            .map(|t| Some(("type", std::slice::from_ref(t))))
            .collect()
    }
}

impl SqliteStore {
    /// [`ObjectStore::add_objects`], with `also` run in the same
    /// transaction once the outcomes are known (a pull's cursor).
    pub(crate) fn add_with(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
        audit: &AuditEntry,
        also: impl FnOnce(&rusqlite::Transaction<'_>, &[AddOutcome]) -> Result<()>,
    ) -> Result<Vec<AddOutcome>> {
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut outcomes = Vec::with_capacity(objects.len());
        let mut added: Vec<String> = Vec::new();
        {
            let last: i64 = cached_row(
                &tx,
                "SELECT coalesce(max(date_added), 0) FROM objects",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
            let mut next = now().as_micros().max(last + 1);
            // Inside the write transaction no other process can append, so
            // after this the id index knows every stored row.
            self.catch_up(&tx)?;
            let mut probe = tx
                .prepare_cached(
                    "SELECT o.collection, o.version, o.date_added, o.origin_org, o.tlp, a.keys, o.refs, o.stix_id
                     FROM objects o JOIN audiences a ON a.id = o.audience
                     WHERE o.date_added = ?1",
                )
                .map_err(db)?;
            let mut raw_of = tx
                .prepare_cached("SELECT raw FROM objects WHERE date_added = ?1")
                .map_err(db)?;
            let mut clear_latest = tx
                .prepare_cached(
                    "UPDATE objects SET is_latest = 0 WHERE date_added = ?1 AND is_latest = 1",
                )
                .map_err(db)?;
            let mut clear_first = tx
                .prepare_cached(
                    "UPDATE objects SET is_first = 0 WHERE date_added = ?1 AND is_first = 1",
                )
                .map_err(db)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO objects (date_added, collection, stix_id, type, version, versioned,
                                          is_latest, is_first, spec_version, raw,
                                          audience, origin_org, origin_user, tlp, refs, prior_copies,
                                          provenance, origin_node, counted, ranked, listed, valid_until)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                             ?17, ?18, ?19, ?20, ?21, ?22)",
                )
                .map_err(db)?;
            let mut enqueue = tx
                .prepare_cached("INSERT INTO sign_queue (row) VALUES (?1)")
                .map_err(db)?;
            let mut audiences = AudienceInterner::default();
            let mut tally = console::Tally::default();
            let mut classes = console::ClassInterner::default();
            let mut candidates: Vec<i64> = Vec::new();
            for (position, ingest) in objects.iter().enumerate() {
                let object = &ingest.object;
                let versioned = object.kind != ObjectKind::Observable;
                let version = match (versioned, object.version()) {
                    (true, Some(v)) => v.as_micros(),
                    _ => 0,
                };
                // Every stored copy of this id, in any collection, oldest first.
                candidates.clear();
                self.ids
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .candidates(&object.id, &mut candidates);
                candidates.sort_unstable();
                let mut copies: Vec<CopyRecord> = Vec::new();
                // Rows of this object in this collection that share its
                // version flags: every version of a versioned object; the
                // poster's own copy of an observable.
                let mut here: Vec<i64> = Vec::new();
                let mut others_here = false;
                let (mut max, mut min, mut existing) = (None::<i64>, None::<i64>, None::<i64>);
                for row in &candidates {
                    let mut rows = probe.query([row]).map_err(db)?;
                    while let Some(r) = rows.next().map_err(db)? {
                        let stored_id: String = r.get(7).map_err(db)?;
                        if stored_id != object.id {
                            continue;
                        }
                        let c: i64 = r.get(0).map_err(db)?;
                        let v: i64 = r.get(1).map_err(db)?;
                        let at: i64 = r.get(2).map_err(db)?;
                        let origin: Option<i64> = r.get(3).map_err(db)?;
                        // Each source organisation keeps its own copy of an
                        // observable: another source's copy is not this one.
                        let same_object = versioned || origin == ingest.origin_org;
                        if c == collection && same_object {
                            here.push(at);
                            max = Some(max.map_or(v, |m: i64| m.max(v)));
                            min = Some(min.map_or(v, |m: i64| m.min(v)));
                            if v == version {
                                existing = Some(at);
                            }
                        } else if c == collection {
                            others_here = true;
                        }
                        let keys: String = r.get(5).map_err(db)?;
                        let refs: Option<String> = r.get(6).map_err(db)?;
                        // The guard compares the very version being added.
                        let raw = if versioned && v == version {
                            Some(raw_of.query_row([at], |r| r.get(0)).map_err(db)?)
                        } else {
                            None
                        };
                        copies.push(CopyRecord {
                            id: object.id.clone(),
                            collection: c,
                            date_added: ts(at),
                            version: versioned.then_some(ts(v)),
                            origin_org: origin,
                            tlp: tlp_from(r.get(4).map_err(db)?),
                            audience: AudienceKey::parse_set(&keys),
                            refs: refs
                                .map(|t| t.split(' ').map(str::to_owned).collect())
                                .unwrap_or_default(),
                            raw,
                        });
                    }
                }
                // The guard sees every object, re-posts too.
                let refusal = guard(position, &copies);
                if let Some(at) = existing {
                    let copy = copies.iter().find(|c| c.date_added.as_micros() == at);
                    let stored_tlp = copy.and_then(|c| c.tlp);
                    let stored = match copy.and_then(|c| c.raw.clone()) {
                        Some(raw) => raw,
                        None => raw_of.query_row([at], |r| r.get(0)).map_err(db)?,
                    };
                    // As served to another node, with the TLP it is handled
                    // at made explicit, it is the same version too.
                    let explicit = || {
                        stored_tlp
                            .and_then(|t| stix::tlp::with_explicit_marking(&stored, t))
                            .is_some_and(|served| same_json(&served, &object.raw))
                    };
                    outcomes.push(if same_json(&stored, &object.raw) || explicit() {
                        AddOutcome::Duplicate(ts(at))
                    } else {
                        AddOutcome::Conflict(ts(at))
                    });
                    continue;
                }
                if let Some(reason) = refusal {
                    outcomes.push(AddOutcome::Refused(reason));
                    continue;
                }
                let is_latest = max.is_none_or(|m| version > m);
                let is_first = min.is_none_or(|m| version < m);
                for row in &here {
                    if is_latest {
                        clear_latest.execute([row]).map_err(db)?;
                    }
                    if is_first {
                        clear_first.execute([row]).map_err(db)?;
                    }
                }
                let date_added = next;
                next += 1;
                let audience = audiences.id(&tx, &ingest.audience)?;
                let refs = (!ingest.refs.is_empty()).then(|| ingest.refs.join(" "));
                let later_copy = !versioned && others_here;
                // Visible exactly to its audience by construction; pointer
                // rows wait for node's decision (see console.rs). Rows the
                // console does not list are never counted.
                let counted = ingest.console.listed && ingest.refs.is_empty() && !later_copy;
                let ranked =
                    (!ingest.console.ranked.is_empty()).then(|| ingest.console.ranked.join(" "));
                insert
                    .execute(params![
                        date_added,
                        collection,
                        object.id,
                        object.object_type,
                        version,
                        versioned,
                        is_latest,
                        is_first,
                        object.effective_spec_version(),
                        &*object.raw,
                        audience,
                        ingest.origin_org,
                        ingest.origin_user,
                        tlp_rank(ingest.tlp),
                        refs,
                        later_copy,
                        ingest.provenance.code(),
                        ingest.origin_node,
                        counted,
                        ranked,
                        ingest.console.listed,
                        valid_until(object),
                    ])
                    .map_err(db)?;
                if ingest.provenance == Provenance::LocalPending {
                    enqueue.execute([date_added]).map_err(db)?;
                }
                if ingest.console.listed {
                    // Its readers are its audience's (see console.rs): a
                    // later copy of an observable has that class too, for
                    // what points at it, but the gate decides its count.
                    let class = if ingest.refs.is_empty() {
                        Some(classes.id(
                            &tx,
                            &sharing::console::CountClass::plain(
                                collection,
                                audience,
                                ingest.tlp,
                                ingest.origin_org,
                            ),
                        )?)
                    } else {
                        None
                    };
                    let new = class.map(|class| console::NewRow {
                        class,
                        object_type: &object.object_type,
                        tlp: tlp_rank(ingest.tlp),
                        ranked: &ingest.console.ranked,
                    });
                    console::after_insert(
                        &tx,
                        date_added,
                        &ingest.refs,
                        class,
                        match (&new, counted) {
                            (Some(new), true) => Some((new, &mut tally)),
                            _ => None,
                        },
                    )?;
                }
                // Later objects of this batch must find this one. Should the
                // transaction fail, the entry points at no row and is ignored.
                self.ids
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(&object.id, date_added);
                added.push(object.id.clone());
                outcomes.push(AddOutcome::Added(ts(date_added)));
            }
            tally.flush(&tx)?;
        }
        if !added.is_empty() {
            console::demote_referrers(&tx, added.clone())?;
            let mut entry = audit.clone();
            entry.objects = added;
            append_in(&tx, std::slice::from_ref(&entry))?;
        }
        also(&tx, &outcomes)?;
        tx.commit().map_err(db)?;
        if outcomes.iter().any(|o| matches!(o, AddOutcome::Added(_))) {
            self.wake_indexer();
        }
        // Committed while holding the write lock, after catching up: every
        // row up to the last one written here is now indexed.
        if let Some(AddOutcome::Added(at)) = outcomes
            .iter()
            .rev()
            .find(|o| matches!(o, AddOutcome::Added(_)))
        {
            self.ids
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .advance(at.as_micros());
        }
        Ok(outcomes)
    }
}

impl ObjectStore for SqliteStore {
    fn add_objects(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
        audit: &AuditEntry,
    ) -> Result<Vec<AddOutcome>> {
        self.add_with(collection, objects, guard, audit, |_, _| Ok(()))
    }

    fn pending_signature(&self, limit: usize) -> Result<Vec<PendingObject>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.date_added, o.collection, o.stix_id, o.raw, a.keys, o.tlp, o.origin_org,
                        o.refs, o.prior_copies, q.again
                 FROM sign_queue q
                 JOIN objects o ON o.date_added = q.row
                 JOIN audiences a ON a.id = o.audience
                 ORDER BY q.row LIMIT ?1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let keys: String = r.get(4)?;
                Ok(PendingObject {
                    date_added: ts(r.get(0)?),
                    collection: r.get(1)?,
                    id: r.get(2)?,
                    raw: r.get(3)?,
                    audience: AudienceKey::parse_set(&keys),
                    tlp: tlp_from(r.get(5)?),
                    origin_org: r.get(6)?,
                    refs: r
                        .get::<_, Option<String>>(7)?
                        .map(|t| t.split(' ').map(str::to_owned).collect())
                        .unwrap_or_default(),
                    prior_copies: r.get(8)?,
                    again: r.get(9)?,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    fn add_manifest(
        &self,
        collection: i64,
        manifest: &Ingest,
        covers: &[Timestamp],
        expires: Option<Timestamp>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut signed = manifest.clone();
        signed.provenance = Provenance::LocalSigned;
        self.add_with(
            collection,
            std::slice::from_ref(&signed),
            &mut |_, _| None,
            audit,
            |tx, outcomes| {
                let Some(AddOutcome::Added(row)) = outcomes.first() else {
                    return Err(StoreError::Conflict(
                        "a manifest with this id is stored already".into(),
                    ));
                };
                // The rows leave the signer's queue; they themselves are not
                // rewritten (see schema step 11).
                dequeue(tx, covers.iter().map(|t| t.as_micros()))?;
                // A few statements of many rows each rather than one per row.
                for chunk in covers.chunks(COVER_CHUNK) {
                    let pairs = vec!["(?, ?)"; chunk.len()].join(",");
                    cached_exec(
                        tx,
                        &format!(
                            "INSERT OR IGNORE INTO manifest_entries (manifest, row) VALUES {pairs}"
                        ),
                        params_from_iter(
                            chunk.iter().flat_map(|t| [row.as_micros(), t.as_micros()]),
                        ),
                    )
                    .map_err(db)?;
                }
                if let Some(at) = expires {
                    cached_exec(
                        tx,
                        "UPDATE objects SET expires = ?2 WHERE date_added = ?1",
                        params![row.as_micros(), at.as_micros()],
                    )
                    .map_err(db)?;
                }
                // A manifest that lists a later copy of an observable is
                // marked as one, so that the read gate compares the copies.
                for chunk in covers.chunks(COVER_CHUNK) {
                    let marks = vec!["?"; chunk.len()].join(",");
                    cached_exec(
                        tx,
                        &format!(
                            "UPDATE objects SET prior_copies = 1 WHERE date_added = ?
                             AND EXISTS (SELECT 1 FROM objects
                                         WHERE date_added IN ({marks}) AND prior_copies = 1)"
                        ),
                        params_from_iter(
                            std::iter::once(row.as_micros())
                                .chain(chunk.iter().map(|t| t.as_micros())),
                        ),
                    )
                    .map_err(db)?;
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    fn set_provenance(&self, rows: &[(Timestamp, Provenance, Option<String>)]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        // Rows that get the same values are set together, many per statement.
        let mut groups: std::collections::BTreeMap<(i64, Option<&str>), Vec<i64>> =
            std::collections::BTreeMap::new();
        for (row, provenance, node) in rows {
            groups
                .entry((provenance.code(), node.as_deref()))
                .or_default()
                .push(row.as_micros());
        }
        dequeue(&tx, rows.iter().map(|(row, _, _)| row.as_micros()))?;
        for ((code, node), rows) in groups {
            for chunk in rows.chunks(COVER_CHUNK) {
                let marks = vec!["?"; chunk.len()].join(",");
                let mut values: Vec<rusqlite::types::Value> =
                    vec![code.into(), node.map(str::to_owned).into()];
                values.extend(chunk.iter().map(|r| rusqlite::types::Value::from(*r)));
                cached_exec(
                    &tx,
                    &format!(
                        "UPDATE objects SET provenance = ?, origin_node = ? WHERE date_added IN ({marks})"
                    ),
                    params_from_iter(values),
                )
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    fn query_objects(&self, collection: i64, query: &ObjectQuery) -> Result<Page> {
        let limit = query.limit.max(1);
        let conn = self.reader()?;
        let types = distinct(&query.types);
        let restrictions = restrictions(query, &types);
        let mut shapes = Vec::with_capacity(restrictions.len());
        for restriction in restrictions {
            if let Some(shape) =
                self.query_shape(&conn, collection, restriction, query, limit + 1)?
            {
                shapes.push(shape);
            }
        }
        let mut statements = Vec::with_capacity(shapes.len());
        for (sql, _) in &shapes {
            statements.push(conn.prepare_cached(sql).map_err(db)?);
        }
        let mut streams = Vec::with_capacity(shapes.len());
        for (statement, (_, params)) in statements.iter_mut().zip(&shapes) {
            streams.push(
                statement
                    .query(params_from_iter(params.iter()))
                    .map_err(db)?,
            );
        }
        let next_of = |rows: &mut rusqlite::Rows<'_>| -> Result<Option<StoredObject>> {
            match rows.next().map_err(db)? {
                Some(row) => Ok(Some(stored_from_row(row, query.with_raw).map_err(db)?)),
                None => Ok(None),
            }
        };
        // The head of each stream, smallest `date_added` first (it is the
        // row key: no two rows share it).
        let mut heads: Vec<Option<StoredObject>> = Vec::with_capacity(streams.len());
        let mut order = BinaryHeap::new();
        for (i, rows) in streams.iter_mut().enumerate() {
            let head = next_of(rows)?;
            if let Some(o) = &head {
                order.push(Reverse((o.date_added, i)));
            }
            heads.push(head);
        }
        let budget = query.max_bytes.unwrap_or(PAGE_BYTES);
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let mut more = false;
        while let Some(Reverse((_, i))) = order.pop() {
            let Some(item) = heads[i].take() else {
                continue;
            };
            if items.len() == limit || (!items.is_empty() && bytes + item.raw.len() > budget) {
                more = true;
                break;
            }
            bytes += item.raw.len();
            items.push(item);
            heads[i] = next_of(&mut streams[i])?;
            if let Some(o) = &heads[i] {
                order.push(Reverse((o.date_added, i)));
            }
        }
        Ok(Page { items, more })
    }

    fn delete_rows(
        &self,
        collection: i64,
        id: &str,
        rows: &[Timestamp],
        audit: &AuditEntry,
    ) -> Result<usize> {
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut deleted = 0;
        // The manifests that list what goes, and the rows that are
        // manifests themselves: withdrawn with it (see `withdraw_in`).
        let mut listing: Vec<i64> = Vec::new();
        for row in rows {
            let here: Option<i64> = cached_row(
                &tx,
                "SELECT 1 FROM objects WHERE date_added = ?1 AND collection = ?2 AND stix_id = ?3",
                params![row.as_micros(), collection, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
            if here.is_none() {
                continue;
            }
            listing.extend(manifests_listing(&tx, &[row.as_micros()])?);
            listing.push(row.as_micros());
            console::before_delete(&tx, row.as_micros())?;
            deleted += cached_exec(
                &tx,
                "DELETE FROM objects WHERE date_added = ?1 AND collection = ?2 AND stix_id = ?3",
                params![row.as_micros(), collection, id],
            )
            .map_err(db)?;
        }
        if deleted > 0 {
            // Re-mark the first and last of what remains: of each versioned
            // object's versions, and of each source's copy of an observable.
            let remaining = self.rows_of(&tx, std::slice::from_ref(&id.to_string()))?;
            let mut lineage: Vec<(i64, i64, bool, Option<i64>)> = Vec::new();
            for row in remaining {
                let found: Option<(i64, i64, bool, Option<i64>)> = cached_row(
                    &tx,
                    "SELECT date_added, version, versioned, origin_org FROM objects
                     WHERE date_added = ?1 AND collection = ?2 AND stix_id = ?3",
                    params![row, collection, id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(db)?;
                lineage.extend(found);
            }
            for &(at, version, versioned, origin) in &lineage {
                let same = lineage
                    .iter()
                    .filter(|(_, _, _, o)| versioned || *o == origin)
                    .map(|(_, v, _, _)| *v);
                let (lo, hi) =
                    same.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
                cached_exec(
                    &tx,
                    "UPDATE objects SET is_latest = ?2, is_first = ?3 WHERE date_added = ?1",
                    params![at, version == hi, version == lo],
                )
                .map_err(db)?;
            }
            console::demote_referrers(&tx, vec![id.to_string()])?;
            append_in(&tx, std::slice::from_ref(audit))?;
            let withdrawn = withdraw_in(&tx, listing)?;
            if !withdrawn.is_empty() {
                append_in(&tx, &[withdrawal_entry(audit, withdrawn)])?;
            }
        }
        tx.commit().map_err(db)?;
        if deleted > 0 {
            self.wake_indexer();
        }
        Ok(deleted)
    }

    fn withdraw_manifests(&self, rows: &[Timestamp], audit: &AuditEntry) -> Result<Vec<String>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let rows: Vec<i64> = rows.iter().map(|t| t.as_micros()).collect();
        let manifests = manifests_listing(&tx, &rows)?;
        let withdrawn = withdraw_in(&tx, manifests)?;
        if !withdrawn.is_empty() {
            append_in(&tx, &[withdrawal_entry(audit, withdrawn.clone())])?;
        }
        tx.commit().map_err(db)?;
        Ok(withdrawn)
    }

    fn withdraw_expired_manifests(
        &self,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<String>> {
        // Most calls find nothing: look before taking the write lock.
        let due = |conn: &Connection| -> Result<Vec<i64>> {
            super::cached_rows(
                conn,
                "SELECT date_added FROM objects INDEXED BY objects_manifests_expiring
                 WHERE expires IS NOT NULL AND expires <= ?1",
                [now.as_micros()],
                |r| r.get(0),
            )
            .map_err(db)
        };
        if due(&*self.reader()?)?.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.write_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let manifests = due(&tx)?;
        let withdrawn = withdraw_in(&tx, manifests)?;
        if !withdrawn.is_empty() {
            append_in(&tx, &[withdrawal_entry(audit, withdrawn.clone())])?;
        }
        tx.commit().map_err(db)?;
        Ok(withdrawn)
    }

    fn manifest_listing(
        &self,
        manifests: &[Timestamp],
    ) -> Result<Vec<(Timestamp, Timestamp, String)>> {
        let conn = self.reader()?;
        let mut out = Vec::new();
        for m in manifests {
            let found: Vec<(i64, String)> = super::cached_rows(
                &conn,
                "SELECT e.row, o.stix_id FROM manifest_entries e
                 JOIN objects o ON o.date_added = e.row
                 WHERE e.manifest = ?1 ORDER BY e.row",
                [m.as_micros()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
            out.extend(found.into_iter().map(|(row, id)| (*m, ts(row), id)));
        }
        Ok(out)
    }

    fn signed_rows_mentioning(
        &self,
        collection: i64,
        text: &str,
    ) -> Result<Vec<(Timestamp, Option<sharing::OrgId>)>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reader()?;
        // A scan of the collection: for rare administrative changes only.
        let mut stmt = conn
            .prepare_cached(
                "SELECT date_added, origin_org FROM objects INDEXED BY objects_by_added
                 WHERE collection = ?1 AND provenance IN (0, 1) AND instr(raw, ?2) > 0
                 ORDER BY date_added",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![collection, text], |r| {
                Ok((ts(r.get(0)?), r.get(1)?))
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    fn copies(&self, ids: &[String]) -> Result<Vec<CopyRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reader()?;
        let rows = self.rows_of(&conn, ids)?;
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.stix_id, o.collection, o.date_added, o.origin_org, o.tlp, a.keys, o.refs,
                        o.versioned, o.version
                 FROM objects o JOIN audiences a ON a.id = o.audience WHERE o.date_added = ?1",
            )
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let mut found = stmt.query([row]).map_err(db)?;
            while let Some(r) = found.next().map_err(db)? {
                let id: String = r.get(0).map_err(db)?;
                if !wanted.contains(id.as_str()) {
                    continue;
                }
                let keys: String = r.get(5).map_err(db)?;
                let refs: Option<String> = r.get(6).map_err(db)?;
                let versioned: bool = r.get(7).map_err(db)?;
                out.push(CopyRecord {
                    id,
                    collection: r.get(1).map_err(db)?,
                    date_added: ts(r.get(2).map_err(db)?),
                    version: versioned
                        .then(|| r.get(8).map(ts))
                        .transpose()
                        .map_err(db)?,
                    origin_org: r.get(3).map_err(db)?,
                    tlp: tlp_from(r.get(4).map_err(db)?),
                    audience: AudienceKey::parse_set(&keys),
                    refs: refs
                        .map(|t| t.split(' ').map(str::to_owned).collect())
                        .unwrap_or_default(),
                    raw: None,
                });
            }
        }
        out.sort_by_key(|c| c.date_added);
        Ok(out)
    }

    fn marking_definitions(&self, ids: &[String]) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reader()?;
        let rows = self.rows_of(&conn, ids)?;
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut stmt = conn
            .prepare_cached(
                "SELECT stix_id, raw FROM objects WHERE date_added = ?1 AND type = 'marking-definition'",
            )
            .map_err(db)?;
        let mut out: Vec<(String, String)> = Vec::new();
        for row in rows {
            let found: Option<(String, String)> = stmt
                .query_row([row], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db)?;
            if let Some((id, raw)) = found
                && wanted.contains(id.as_str())
                && !out.iter().any(|(seen, _)| *seen == id)
            {
                out.push((id, raw));
            }
        }
        Ok(out)
    }
}

/// This node's manifests (rows) that list any of `rows`.
fn manifests_listing(tx: &Connection, rows: &[i64]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for row in rows {
        let found: Vec<i64> = super::cached_rows(
            tx,
            "SELECT manifest FROM manifest_entries WHERE row = ?1",
            [row],
            |r| r.get(0),
        )
        .map_err(db)?;
        out.extend(found);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Withdraws manifests (by row; rows that are no manifest this node signed
/// are ignored): each is deleted, and every row it listed that is still
/// stored becomes pending signature again, so that the signer lists it
/// anew with what readers receive now. Returns the withdrawn manifests' ids.
fn withdraw_in(tx: &Connection, manifests: Vec<i64>) -> Result<Vec<String>> {
    let mut withdrawn = Vec::new();
    for manifest in manifests {
        let listed: Vec<i64> = super::cached_rows(
            tx,
            "SELECT row FROM manifest_entries WHERE manifest = ?1",
            [manifest],
            |r| r.get(0),
        )
        .map_err(db)?;
        for chunk in listed.chunks(COVER_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            // Rows signed before schema step 11 say so in their own column.
            cached_exec(
                tx,
                &format!(
                    "UPDATE objects SET provenance = 0
                     WHERE date_added IN ({marks}) AND provenance = 1"
                ),
                params_from_iter(chunk.iter()),
            )
            .map_err(db)?;
            cached_exec(
                tx,
                &format!(
                    "INSERT OR IGNORE INTO sign_queue (row, again)
                     SELECT date_added, 1 FROM objects
                     WHERE date_added IN ({marks}) AND provenance = 0"
                ),
                params_from_iter(chunk.iter()),
            )
            .map_err(db)?;
        }
        cached_exec(
            tx,
            "DELETE FROM manifest_entries WHERE manifest = ?1",
            [manifest],
        )
        .map_err(db)?;
        let id: Option<String> = cached_row(
            tx,
            "SELECT stix_id FROM objects
             WHERE date_added = ?1 AND type = 'x-entente-manifest' AND provenance = 1",
            [manifest],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
        let Some(id) = id else {
            continue;
        };
        console::before_delete(tx, manifest)?;
        cached_exec(tx, "DELETE FROM objects WHERE date_added = ?1", [manifest]).map_err(db)?;
        withdrawn.push(id);
    }
    Ok(withdrawn)
}

/// The audit entry of a withdrawal, on behalf of whoever caused it.
fn withdrawal_entry(cause: &AuditEntry, manifests: Vec<String>) -> AuditEntry {
    AuditEntry {
        action: "unsign".into(),
        detail: format!(
            "{} manifests withdrawn (their objects are signed again without what readers no longer receive)",
            manifests.len()
        ),
        objects: manifests,
        ..cause.clone()
    }
}

impl SqliteStore {
    /// The query plans SQLite chooses for each statement `query_objects`
    /// would run: lets tests prove that no request path scans a collection.
    #[doc(hidden)]
    pub fn query_plans(&self, collection: i64, query: &ObjectQuery) -> Vec<String> {
        self.explain(collection, query)
    }
}

//! The console's figures, listings and search on SQLite (see `console.rs`
//! at the crate root for the counting scheme), and the upkeep that
//! `objects.rs` calls inside its write transactions.

use std::collections::{BinaryHeap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use sharing::AudienceKey;
use sharing::console::{CountClass, TargetClass};
use stix::{Timestamp, Tlp};

use super::{
    SqliteStore, cached_exec, cached_row, cached_rows, db, lock, now, tlp_from, tlp_rank, ts,
};
use crate::{
    ConsoleFacts, ConsoleStore, CountScope, DayCount, ListPage, ListQuery, PendingCount,
    Provenance, Result, StoredObject, day_of,
};

/// How many pointer hops a demotion follows: the read gate's own depth.
const DEMOTION_DEPTH: usize = 8;

/// The key `object_refs` files a referenced id under: FNV-1a of its text.
/// Collisions only add candidates; the referring row's `refs` confirm.
pub(crate) fn ref_key(id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

fn split_refs(text: Option<String>) -> Vec<String> {
    text.map(|t| t.split(' ').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The text a class is interned under in `count_classes`:
/// `collection|audience|tlp|origin|depth|targets`, the TLP by its stored
/// rank (-1: none), no origin as nothing, each target as
/// `source:class,class…`, targets joined by `;`. Migration 12 writes the
/// classes of rows without references in the same form.
pub(crate) fn encode_class(c: &CountClass) -> String {
    let opt = |o: Option<i64>| o.map(|v| v.to_string()).unwrap_or_default();
    let targets: Vec<String> = c
        .targets
        .iter()
        .map(|t| {
            let copies: Vec<String> = t.copies.iter().map(i64::to_string).collect();
            format!("{}:{}", opt(t.source), copies.join(","))
        })
        .collect();
    format!(
        "{}|{}|{}|{}|{}|{}",
        c.collection,
        c.audience,
        tlp_rank(c.tlp).unwrap_or(-1),
        opt(c.origin_org),
        c.depth,
        targets.join(";")
    )
}

/// The class [`encode_class`] wrote (`None`: not one).
pub(crate) fn decode_class(spec: &str) -> Option<CountClass> {
    let parts: Vec<&str> = spec.split('|').collect();
    let [collection, audience, tlp, origin, depth, targets] = parts[..] else {
        return None;
    };
    let opt = |s: &str| -> Option<Option<i64>> {
        if s.is_empty() {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    let mut out = Vec::new();
    for t in targets.split(';').filter(|t| !t.is_empty()) {
        let (source, copies) = t.split_once(':')?;
        out.push(TargetClass {
            source: opt(source)?,
            copies: copies
                .split(',')
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .ok()?,
        });
    }
    Some(CountClass {
        collection: collection.parse().ok()?,
        audience: audience.parse().ok()?,
        tlp: tlp_from(Some(tlp.parse().ok()?)),
        origin_org: opt(origin)?,
        depth: depth.parse().ok()?,
        targets: out,
    })
}

/// Interns classes within one write transaction.
#[derive(Default)]
pub(crate) struct ClassInterner {
    known: HashMap<String, i64>,
}

impl ClassInterner {
    pub(crate) fn id(&mut self, tx: &Connection, class: &CountClass) -> Result<i64> {
        let spec = encode_class(class);
        if let Some(id) = self.known.get(&spec) {
            return Ok(*id);
        }
        cached_exec(
            tx,
            "INSERT OR IGNORE INTO count_classes (spec) VALUES (?1)",
            [&spec],
        )
        .map_err(db)?;
        let id: i64 = cached_row(
            tx,
            "SELECT id FROM count_classes WHERE spec = ?1",
            [&spec],
            |r| r.get(0),
        )
        .map_err(db)?;
        self.known.insert(spec, id);
        Ok(id)
    }
}

fn db_text(message: String) -> crate::StoreError {
    crate::StoreError::Database(message)
}

/// Ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: one
/// statement whatever their number.
fn json_ids(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", ids.join(","))
}

/// What the figures need to know about one row.
struct RowFacts {
    /// Its class (`None`: it has none, and is not counted).
    class: Option<i64>,
    day: i64,
    object_type: String,
    tlp: i64,
    ranked: Vec<String>,
}

/// Adds `delta` (±1) to the figures of one row of class `class`.
fn adjust(tx: &Connection, class: i64, facts: &RowFacts, delta: i64) -> Result<()> {
    cached_exec(
        tx,
        "INSERT INTO object_counts (class, day, type, tlp, n) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (class, day, type, tlp) DO UPDATE SET n = n + excluded.n",
        params![class, facts.day, facts.object_type, facts.tlp, delta],
    )
    .map_err(db)?;
    for target in &facts.ranked {
        add_ranked(tx, class, facts.day, target, delta)?;
    }
    Ok(())
}

fn add_ranked(tx: &Connection, class: i64, day: i64, target: &str, delta: i64) -> Result<()> {
    cached_exec(
        tx,
        "INSERT INTO ranked_counts (class, day, target, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (class, day, target) DO UPDATE SET n = n + excluded.n",
        params![class, day, target, delta],
    )
    .map_err(db)?;
    Ok(())
}

/// Takes a row out of the figures and forgets its class (it waits for a
/// new one, or has none any more).
fn unclass(tx: &Connection, row: i64, facts: &RowFacts, counted: bool) -> Result<()> {
    if let Some(class) = facts.class {
        if counted {
            adjust(tx, class, facts, -1)?;
        }
        cached_exec(tx, "DELETE FROM row_classes WHERE row = ?1", [row]).map_err(db)?;
    }
    if counted {
        cached_exec(
            tx,
            "UPDATE objects SET counted = 0 WHERE date_added = ?1",
            [row],
        )
        .map_err(db)?;
    }
    Ok(())
}

fn facts_of(tx: &Connection, row: i64) -> Result<Option<(RowFacts, bool)>> {
    cached_row(
        tx,
        "SELECT (SELECT class FROM row_classes WHERE row = ?1), type, coalesce(tlp, -1), ranked, counted
         FROM objects WHERE date_added = ?1",
        [row],
        |r| {
            Ok((
                RowFacts {
                    class: r.get(0)?,
                    day: day_of(ts(row)),
                    object_type: r.get(1)?,
                    tlp: r.get(2)?,
                    ranked: split_refs(r.get(3)?),
                },
                r.get::<_, bool>(4)?,
            ))
        },
    )
    .optional()
    .map_err(db)
}

/// The figures a write transaction adds, summed per figure and written
/// once at its end (a post of a thousand indicators of one type and TLP
/// adds to one row of `object_counts`, not a thousand times).
#[derive(Default)]
pub(crate) struct Tally {
    objects: HashMap<(i64, i64, String, i64), i64>,
    ranked: HashMap<(i64, i64, String), i64>,
}

impl Tally {
    fn add(&mut self, row: &NewRow<'_>, day: i64) {
        let tlp = row.tlp.unwrap_or(-1);
        *self
            .objects
            .entry((row.class, day, row.object_type.to_owned(), tlp))
            .or_default() += 1;
        for target in row.ranked {
            *self
                .ranked
                .entry((row.class, day, target.clone()))
                .or_default() += 1;
        }
    }

    /// Writes the sums (before the transaction commits).
    pub(crate) fn flush(self, tx: &Connection) -> Result<()> {
        for ((class, day, object_type, tlp), n) in self.objects {
            adjust(
                tx,
                class,
                &RowFacts {
                    class: Some(class),
                    day,
                    object_type,
                    tlp,
                    ranked: Vec::new(),
                },
                n,
            )?;
        }
        for ((class, day, target), n) in self.ranked {
            add_ranked(tx, class, day, &target, n)?;
        }
        Ok(())
    }
}

/// What a row just inserted is counted under.
pub(crate) struct NewRow<'a> {
    /// Its class's id.
    pub(crate) class: i64,
    pub(crate) object_type: &'a str,
    /// Its TLP's rank (`None`: no TLP).
    pub(crate) tlp: Option<i64>,
    pub(crate) ranked: &'a [String],
}

/// Upkeep of a row just inserted: its references, its class when it has
/// one (a row without references), and either its figures (counted, into
/// `tally`) or a place in the pending queue. (Its search text is taken in
/// by the full-text index's own thread: `search.rs`.)
pub(crate) fn after_insert(
    tx: &Connection,
    row: i64,
    refs: &[String],
    class: Option<i64>,
    counted: Option<(&NewRow<'_>, &mut Tally)>,
) -> Result<()> {
    if let Some(class) = class {
        cached_exec(
            tx,
            "INSERT OR REPLACE INTO row_classes (row, class) VALUES (?1, ?2)",
            params![row, class],
        )
        .map_err(db)?;
    }
    for r in refs {
        cached_exec(
            tx,
            "INSERT OR IGNORE INTO object_refs (target, row) VALUES (?1, ?2)",
            params![ref_key(r), row],
        )
        .map_err(db)?;
    }
    if let Some((new, tally)) = counted {
        tally.add(new, day_of(ts(row)));
    }
    if !refs.is_empty() {
        cached_exec(
            tx,
            "INSERT OR REPLACE INTO count_pending (row, mark) VALUES (?1, ?2)",
            params![row, now().as_micros()],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// Upkeep of a row about to be deleted (its `refs` as stored).
pub(crate) fn before_delete(tx: &Connection, row: i64) -> Result<()> {
    let Some((facts, counted)) = facts_of(tx, row)? else {
        return Ok(());
    };
    unclass(tx, row, &facts, counted)?;
    let (refs, listed): (Option<String>, bool) = cached_row(
        tx,
        "SELECT refs, listed FROM objects WHERE date_added = ?1",
        [row],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(db)?;
    if !listed {
        // Never indexed, counted nor pending (see `after_insert`).
        return Ok(());
    }
    for r in split_refs(refs) {
        cached_exec(
            tx,
            "DELETE FROM object_refs WHERE target = ?1 AND row = ?2",
            params![ref_key(&r), row],
        )
        .map_err(db)?;
    }
    cached_exec(tx, "DELETE FROM count_pending WHERE row = ?1", [row]).map_err(db)?;
    // The full-text index, in its own file, takes it out (see `search.rs`).
    cached_exec(
        tx,
        "INSERT OR IGNORE INTO text_deletes (row) VALUES (?1)",
        [row],
    )
    .map_err(db)?;
    Ok(())
}

/// Rows (any collection) whose gating references include `id`, newest first.
fn referring_rows(conn: &Connection, id: &str, limit: usize) -> Result<Vec<i64>> {
    rows_referring_to_any(conn, &[id], limit)
}

/// Rows (any collection) whose gating references include any of `ids`,
/// each once, newest first; at most `limit` per id.
fn rows_referring_to_any<S: AsRef<str>>(
    conn: &Connection,
    ids: &[S],
    limit: usize,
) -> Result<Vec<i64>> {
    let mut named: std::collections::BTreeMap<i64, Vec<&str>> = std::collections::BTreeMap::new();
    for id in ids.iter().map(AsRef::as_ref) {
        let candidates: Vec<i64> = cached_rows(
            conn,
            "SELECT row FROM object_refs WHERE target = ?1 ORDER BY row DESC LIMIT ?2",
            params![ref_key(id), limit as i64],
            |r| r.get(0),
        )
        .map_err(db)?;
        for row in candidates {
            named.entry(row).or_default().push(id);
        }
    }
    let mut out = Vec::with_capacity(named.len());
    for (row, ids) in named.into_iter().rev() {
        let refs: Option<Option<String>> = cached_row(
            conn,
            "SELECT refs FROM objects WHERE date_added = ?1",
            [row],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
        let Some(refs) = refs.flatten() else {
            continue;
        };
        // The keys are hashes: a row is a referrer only if it names one.
        let hit = if ids.len() == 1 {
            refs.split(' ').any(|r| r == ids[0])
        } else {
            let held: std::collections::HashSet<&str> = refs.split(' ').collect();
            ids.iter().any(|id| held.contains(id))
        };
        if hit {
            out.push(row);
        }
    }
    Ok(out)
}

/// Most referring rows one write looks at when it un-counts them; past it
/// the rest are still un-counted (their figures fall back to the gate).
const DEMOTION_BATCH: usize = 1 << 20;

/// A write or delete of `ids` changed facts that decisions about the rows
/// referring to them rested on: those rows stop being counted and wait for
/// a new decision, and so, in turn, do the rows referring to them.
pub(crate) fn demote_referrers(tx: &Connection, ids: Vec<String>) -> Result<()> {
    let mark = now().as_micros();
    let mut frontier = ids;
    for _ in 0..DEMOTION_DEPTH {
        if frontier.is_empty() {
            break;
        }
        let mut next = Vec::new();
        // Each referring row once, however many ids of the frontier it
        // names: a report of a thousand objects written with them was
        // otherwise loaded, and its references split, a thousand times.
        for row in rows_referring_to_any(tx, &frontier, DEMOTION_BATCH)? {
            let Some((facts, counted)) = facts_of(tx, row)? else {
                continue;
            };
            if facts.class.is_none() {
                // Pending or left to the gate: re-decide it too, since a
                // decision being taken may have seen the old facts.
                cached_exec(
                    tx,
                    "UPDATE count_pending SET mark = max(?2, mark + 1) WHERE row = ?1",
                    params![row, mark],
                )
                .map_err(db)?;
                continue;
            }
            // Its class named what changed (or not yet what was added):
            // take back what it added, and decide it again, and so, in
            // turn, the rows whose classes name its class.
            unclass(tx, row, &facts, counted)?;
            cached_exec(
                tx,
                "INSERT OR REPLACE INTO count_pending (row, mark) VALUES (?1, ?2)",
                params![row, mark],
            )
            .map_err(db)?;
            let id: String = cached_row(
                tx,
                "SELECT stix_id FROM objects WHERE date_added = ?1",
                [row],
                |r| r.get(0),
            )
            .map_err(db)?;
            next.push(id);
        }
        next.sort_unstable();
        next.dedup();
        frontier = next;
    }
    Ok(())
}

/// `audience IN (…)` for a scope, with its parameters.
fn audience_clause(
    audience: &Option<Vec<AudienceKey>>,
    params: &mut Vec<rusqlite::types::Value>,
) -> Option<String> {
    match audience {
        None => Some(String::new()),
        Some(keys) if keys.is_empty() => None,
        Some(keys) => {
            let marks = vec!["?"; keys.len()].join(",");
            params.extend(keys.iter().map(|k| k.to_string().into()));
            Some(format!(
                " AND audience IN (SELECT audience FROM audience_keys WHERE key IN ({marks}))"
            ))
        }
    }
}

/// ` AND tlp …` for a scope's ceiling, with its parameter: rows at the
/// ceiling or below (rows without a TLP, stored as NULL or -1, are above
/// any ceiling).
fn ceiling_clause(max_tlp: Option<Tlp>, params: &mut Vec<rusqlite::types::Value>) -> String {
    match max_tlp {
        None => String::new(),
        Some(t) => {
            params.push(tlp_rank(Some(t)).unwrap_or(0).into());
            " AND tlp BETWEEN 0 AND ?".into()
        }
    }
}

/// Whether a row's TLP is within a scope's ceiling (as [`ceiling_clause`]).
fn within_ceiling(tlp: Option<Tlp>, max_tlp: Option<Tlp>) -> bool {
    match max_tlp {
        None => true,
        Some(ceiling) => tlp.is_some_and(|t| t <= ceiling),
    }
}

/// The columns [`object_from_row`] reads (then the raw JSON, or `''`).
const ROW_COLUMNS: &str = "o.date_added, o.stix_id, o.type, o.version, o.versioned, o.spec_version, o.origin_org, o.tlp, o.refs, o.prior_copies, o.provenance, o.origin_node";
/// The index of the first column after [`ROW_COLUMNS`] and the raw JSON.
const AFTER_ROW: usize = 13;

fn object_from_row(r: &rusqlite::Row<'_>, with_raw: bool) -> rusqlite::Result<StoredObject> {
    let date_added: i64 = r.get(0)?;
    let versioned: bool = r.get(4)?;
    let version: i64 = r.get(3)?;
    Ok(StoredObject {
        date_added: ts(date_added),
        id: r.get(1)?,
        object_type: r.get(2)?,
        version: ts(if versioned { version } else { date_added }),
        spec_version: r.get(5)?,
        origin_org: r.get(6)?,
        tlp: tlp_from(r.get(7)?),
        refs: split_refs(r.get(8)?),
        prior_copies: r.get(9)?,
        provenance: Provenance::from_code(r.get(10)?),
        origin_node: r.get(11)?,
        // The console lists no manifest.
        expires: None,
        raw: if with_raw { r.get(12)? } else { String::new() },
    })
}

/// Whether a row passes a list's filters (the index walk applies the rest).
/// `shown`: the row is its object's latest version and the console lists it.
fn listed(o: &StoredObject, shown: bool, keys: &str, scope: &CountScope, q: &ListQuery) -> bool {
    shown
        && within_ceiling(o.tlp, scope.max_tlp)
        && (q.types.is_empty() || q.types.contains(&o.object_type))
        && (q.tlps.is_empty() || q.tlps.contains(&o.tlp))
        && q.added_since.is_none_or(|s| o.date_added >= s)
        && match &scope.audience {
            None => true,
            Some(mine) => AudienceKey::parse_set(keys)
                .iter()
                .any(|k| mine.contains(k)),
        }
}

impl SqliteStore {
    /// One row by key with its list facts: (object, whether it is the
    /// latest version and listed, audience keys, collection).
    fn list_row(
        conn: &Connection,
        row: i64,
        with_raw: bool,
    ) -> Result<Option<(StoredObject, bool, String, i64)>> {
        let raw = if with_raw { "o.raw" } else { "''" };
        let sql = format!(
            "SELECT {ROW_COLUMNS}, {raw}, o.is_latest AND o.listed, a.keys, o.collection
             FROM objects o JOIN audiences a ON a.id = o.audience WHERE o.date_added = ?1"
        );
        cached_row(conn, &sql, [row], |r| {
            Ok((
                object_from_row(r, with_raw)?,
                r.get(AFTER_ROW)?,
                r.get(AFTER_ROW + 1)?,
                r.get(AFTER_ROW + 2)?,
            ))
        })
        .optional()
        .map_err(db)
    }
}

impl ConsoleStore for SqliteStore {
    fn day_counts(&self, classes: &[i64], since_day: i64) -> Result<Vec<DayCount>> {
        let conn = self.reader()?;
        let wanted = json_ids(classes);
        let mut out: Vec<DayCount> = cached_rows(
            &conn,
            "SELECT day, type, tlp, sum(n) FROM object_counts
             WHERE class IN (SELECT value FROM json_each(?1)) AND day >= ?2
             GROUP BY day, type, tlp",
            params![wanted, since_day],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .map_err(db)?
        .into_iter()
        .filter(|(_, _, _, n)| *n > 0)
        .map(|(day, object_type, tlp, n)| DayCount {
            day,
            object_type,
            tlp: tlp_from(Some(tlp)),
            count: n as u64,
        })
        .collect();
        out.sort_by(|a, b| (a.day, &a.object_type, a.tlp).cmp(&(b.day, &b.object_type, b.tlp)));
        Ok(out)
    }

    fn ranked_counts(&self, classes: &[i64], since_day: i64) -> Result<Vec<(String, u64)>> {
        let conn = self.reader()?;
        let wanted = json_ids(classes);
        let mut out: Vec<(String, u64)> = cached_rows(
            &conn,
            "SELECT target, sum(n) FROM ranked_counts
             WHERE class IN (SELECT value FROM json_each(?1)) AND day >= ?2
             GROUP BY target",
            params![wanted, since_day],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .map_err(db)?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| (t, n as u64))
        .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    fn expired_indicators(
        &self,
        collection: i64,
        at: Timestamp,
        limit: usize,
    ) -> Result<Vec<String>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT DISTINCT stix_id FROM objects INDEXED BY objects_expiring
             WHERE collection = ?1 AND valid_until IS NOT NULL AND valid_until <= ?2 LIMIT ?3",
            params![collection, at.as_micros(), limit as i64],
            |r| r.get(0),
        )
        .map_err(db)
    }

    fn count_classes(&self, after: i64) -> Result<Vec<(i64, CountClass)>> {
        let conn = self.reader()?;
        let specs: Vec<(i64, String)> = cached_rows(
            &conn,
            "SELECT id, spec FROM count_classes WHERE id > ?1 ORDER BY id",
            [after],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db)?;
        specs
            .into_iter()
            .map(|(id, spec)| {
                decode_class(&spec)
                    .map(|c| (id, c))
                    .ok_or_else(|| db_text(format!("count class {id} cannot be read: {spec}")))
            })
            .collect()
    }

    fn audiences(&self, after: i64) -> Result<Vec<(i64, Vec<AudienceKey>)>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT id, keys FROM audiences WHERE id > ?1 ORDER BY id",
            [after],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    AudienceKey::parse_set(&r.get::<_, String>(1)?),
                ))
            },
        )
        .map_err(db)
    }

    fn uncounted(
        &self,
        scope: &CountScope,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<(StoredObject, Vec<String>)>> {
        let conn = self.reader()?;
        let mut params: Vec<rusqlite::types::Value> =
            vec![scope.collection.into(), since.as_micros().into()];
        let Some(audience) = audience_clause(&scope.audience, &mut params) else {
            return Ok(Vec::new());
        };
        let ceiling = ceiling_clause(scope.max_tlp, &mut params);
        let sql = format!(
            "SELECT {ROW_COLUMNS}, '', o.ranked FROM objects o INDEXED BY objects_uncounted
             WHERE o.collection = ? AND o.counted = 0 AND o.listed = 1 AND o.date_added >= ?{audience}{ceiling}
             ORDER BY o.date_added LIMIT {limit}"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok((object_from_row(r, false)?, split_refs(r.get(AFTER_ROW)?)))
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    fn pending_counts(&self, limit: usize) -> Result<Vec<PendingCount>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT p.row, p.mark, o.collection, o.stix_id, a.keys, o.origin_org, o.refs, o.tlp, o.audience
             FROM count_pending p JOIN objects o ON o.date_added = p.row
             JOIN audiences a ON a.id = o.audience ORDER BY p.row LIMIT ?1",
            [limit as i64],
            |r| {
                Ok(PendingCount {
                    date_added: ts(r.get(0)?),
                    mark: r.get(1)?,
                    collection: r.get(2)?,
                    id: r.get(3)?,
                    audience: AudienceKey::parse_set(&r.get::<_, String>(4)?),
                    origin_org: r.get(5)?,
                    refs: split_refs(r.get(6)?),
                    tlp: tlp_from(r.get(7)?),
                    audience_id: r.get(8)?,
                })
            },
        )
        .map_err(db)
    }

    fn settle_counts(&self, decisions: &[(Timestamp, i64, Option<CountClass>)]) -> Result<usize> {
        if decisions.is_empty() {
            return Ok(0);
        }
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut classes = ClassInterner::default();
        let mut counted = 0;
        for (row, mark, class) in decisions {
            let row = row.as_micros();
            let current: Option<i64> = cached_row(
                &tx,
                "SELECT mark FROM count_pending WHERE row = ?1",
                [row],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
            if current != Some(*mark) {
                continue;
            }
            cached_exec(&tx, "DELETE FROM count_pending WHERE row = ?1", [row]).map_err(db)?;
            let Some(class) = class else {
                continue;
            };
            let Some((mut facts, false)) = facts_of(&tx, row)? else {
                continue;
            };
            if facts.class.is_some() {
                continue;
            }
            let id = classes.id(&tx, class)?;
            cached_exec(
                &tx,
                "INSERT INTO row_classes (row, class) VALUES (?1, ?2)",
                params![row, id],
            )
            .map_err(db)?;
            facts.class = Some(id);
            // A later copy of an observable has a class (what points at
            // it needs it) but is not counted: which copy a reader is
            // served is decided by the gate.
            let (later_copy, listed, stix_id): (bool, bool, String) = cached_row(
                &tx,
                "SELECT prior_copies, listed, stix_id FROM objects WHERE date_added = ?1",
                [row],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(db)?;
            if listed && !later_copy {
                adjust(&tx, id, &facts, 1)?;
                cached_exec(
                    &tx,
                    "UPDATE objects SET counted = 1 WHERE date_added = ?1",
                    [row],
                )
                .map_err(db)?;
                counted += 1;
            }
            // Rows referring to this one were decided while it had no
            // class: decide them again (a row that gained a class can only
            // let others gain one, so this converges).
            let mark = now().as_micros();
            for referrer in referring_rows(&tx, &stix_id, DEMOTION_BATCH)? {
                cached_exec(
                    &tx,
                    // A new mark also voids a decision about it taken
                    // earlier in this same call.
                    "INSERT OR REPLACE INTO count_pending (row, mark)
                     SELECT date_added, max(?2, coalesce((SELECT mark FROM count_pending WHERE row = ?1), 0) + 1)
                     FROM objects WHERE date_added = ?1 AND listed = 1
                       AND NOT EXISTS (SELECT 1 FROM row_classes WHERE row = ?1)",
                    params![referrer, mark],
                )
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(counted)
    }

    fn backfill_console(&self, extract: &mut dyn FnMut(&str) -> ConsoleFacts) -> Result<usize> {
        let mut conn = lock(&self.writer);
        let marked: Option<Vec<u8>> = cached_row(
            &conn,
            "SELECT value FROM node_meta WHERE key = 'console_backfill'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
        if marked.is_none() {
            return Ok(0);
        }
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut filled = 0;
        {
            let mut rows = tx
                .prepare("SELECT date_added, refs, raw FROM objects ORDER BY date_added")
                .map_err(db)?;
            let mut cursor = rows.query([]).map_err(db)?;
            while let Some(r) = cursor.next().map_err(db)? {
                let row: i64 = r.get(0).map_err(db)?;
                let refs = split_refs(r.get(1).map_err(db)?);
                let raw: String = r.get(2).map_err(db)?;
                let ConsoleFacts { ranked, listed } = extract(&raw);
                filled += 1;
                if !listed {
                    // Counted by the migration if it had no references.
                    if let Some((facts, counted)) = facts_of(&tx, row)? {
                        unclass(&tx, row, &facts, counted)?;
                    }
                    cached_exec(
                        &tx,
                        "UPDATE objects SET listed = 0, counted = 0 WHERE date_added = ?1",
                        [row],
                    )
                    .map_err(db)?;
                    cached_exec(&tx, "DELETE FROM count_pending WHERE row = ?1", [row])
                        .map_err(db)?;
                    continue;
                }
                for target in &refs {
                    cached_exec(
                        &tx,
                        "INSERT OR IGNORE INTO object_refs (target, row) VALUES (?1, ?2)",
                        params![ref_key(target), row],
                    )
                    .map_err(db)?;
                }
                if !ranked.is_empty() {
                    // Pointer rows are all pending after the migration: their
                    // figures are added, with these, when they are settled.
                    cached_exec(
                        &tx,
                        "UPDATE objects SET ranked = ?2 WHERE date_added = ?1",
                        params![row, ranked.join(" ")],
                    )
                    .map_err(db)?;
                }
            }
        }
        cached_exec(
            &tx,
            "DELETE FROM node_meta WHERE key = 'console_backfill'",
            [],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(filled)
    }

    fn row_classes(&self, rows: &[Timestamp]) -> Result<Vec<(Timestamp, Option<i64>, bool)>> {
        let conn = self.reader()?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let found: Option<(Option<i64>, bool)> = cached_row(
                &conn,
                "SELECT (SELECT class FROM row_classes WHERE row = ?1), counted
                 FROM objects WHERE date_added = ?1",
                [row.as_micros()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
            if let Some((class, counted)) = found {
                out.push((*row, class, counted));
            }
        }
        Ok(out)
    }

    fn list_newest(&self, scopes: &[CountScope], query: &ListQuery) -> Result<ListPage> {
        let conn = self.reader()?;
        let limit = query.limit.max(1);
        let budget = query.max_examined.max(limit);
        let before = query.added_before.map_or(i64::MAX, |t| t.as_micros());
        let since = query.added_since.map_or(i64::MIN, |t| t.as_micros());
        let by_collection: HashMap<i64, &CountScope> =
            scopes.iter().map(|s| (s.collection, s)).collect();
        let mut items = Vec::new();
        // The last row examined, and whether rows older than it may match.
        let mut examined_to: Option<i64> = None;
        let more;
        let mut search_incomplete = false;
        if let Some(text) = &query.text {
            // The full-text index is one for the node: walk its matches
            // newest first and keep those of the scopes. It first takes in
            // what was written before this query, if that is not too much.
            let collections: Vec<i64> = scopes.iter().map(|s| s.collection).collect();
            search_incomplete = self.search_catch_up(&conn, &collections)?;
            let rows = self
                .search
                .matches(text, &collections, before, since, budget)?;
            let mut full = rows.len() == budget;
            for row in rows {
                examined_to = Some(row);
                let Some((o, latest, keys, collection)) =
                    Self::list_row(&conn, row, query.with_raw)?
                else {
                    continue;
                };
                let Some(scope) = by_collection.get(&collection) else {
                    continue;
                };
                if listed(&o, latest, &keys, scope, query) {
                    items.push((collection, o));
                    if items.len() == limit {
                        full = true;
                        break;
                    }
                }
            }
            more = full;
        } else {
            // One newest-first walk per collection, merged; each examines
            // at most its share of the budget, reading every column it
            // filters on in the same pass.
            let single_type = (query.types.len() == 1).then(|| query.types[0].clone());
            let raw = if query.with_raw { "o.raw" } else { "''" };
            let sql = match &single_type {
                Some(_) => format!(
                    "SELECT {ROW_COLUMNS}, {raw}, o.is_latest AND o.listed, a.keys FROM objects o INDEXED BY objects_by_type
                     JOIN audiences a ON a.id = o.audience
                     WHERE o.collection = ?1 AND o.type = ?4 AND o.date_added < ?2 AND o.date_added >= ?3
                     ORDER BY o.date_added DESC LIMIT ?5"
                ),
                None => format!(
                    "SELECT {ROW_COLUMNS}, {raw}, o.is_latest AND o.listed, a.keys FROM objects o INDEXED BY objects_by_added
                     JOIN audiences a ON a.id = o.audience
                     WHERE o.collection = ?1 AND o.date_added < ?2 AND o.date_added >= ?3 AND ?4 IS NOT NULL
                       AND o.listed = 1
                     ORDER BY o.date_added DESC LIMIT ?5"
                ),
            };
            let share = budget.div_ceil(scopes.len().max(1)).max(limit);
            let mut heap: BinaryHeap<(i64, usize)> = BinaryHeap::new();
            let mut candidates: Vec<std::vec::IntoIter<(StoredObject, bool, String)>> = Vec::new();
            let mut heads: Vec<Option<(StoredObject, bool, String)>> = Vec::new();
            // A walk that filled its share stopped at its oldest row: below
            // the newest such row, not every row was examined.
            let mut floor: Option<i64> = None;
            for (i, scope) in scopes.iter().enumerate() {
                let rows: Vec<(StoredObject, bool, String)> = cached_rows(
                    &conn,
                    &sql,
                    params![
                        scope.collection,
                        before,
                        since,
                        single_type.clone().unwrap_or_default(),
                        share as i64
                    ],
                    |r| {
                        Ok((
                            object_from_row(r, query.with_raw)?,
                            r.get(AFTER_ROW)?,
                            r.get(AFTER_ROW + 1)?,
                        ))
                    },
                )
                .map_err(db)?;
                if rows.len() == share
                    && let Some(last) = rows.last()
                {
                    let last = last.0.date_added.as_micros();
                    floor = Some(floor.map_or(last, |f: i64| f.max(last)));
                }
                let mut it = rows.into_iter();
                let head = it.next();
                if let Some(h) = &head {
                    heap.push((h.0.date_added.as_micros(), i));
                }
                heads.push(head);
                candidates.push(it);
            }
            let mut full = false;
            while let Some((row, i)) = heap.pop() {
                if floor.is_some_and(|f| row < f) {
                    break;
                }
                let Some((o, latest, keys)) = heads[i].take() else {
                    continue;
                };
                if let Some(next) = candidates[i].next() {
                    heap.push((next.0.date_added.as_micros(), i));
                    heads[i] = Some(next);
                }
                examined_to = Some(row);
                let scope = &scopes[i];
                if listed(&o, latest, &keys, scope, query) {
                    items.push((scope.collection, o));
                    if items.len() == limit {
                        full = true;
                        break;
                    }
                }
            }
            if !full && floor.is_some() {
                examined_to = floor;
            }
            more = full || floor.is_some();
        }
        Ok(ListPage {
            items,
            resume_before: if more { examined_to.map(ts) } else { None },
            search_incomplete,
        })
    }

    fn latest_audit(&self, limit: usize) -> Result<Vec<crate::AuditRecord>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT seq, at, token, user, org, action, collection, substr(objects, 1, 400), detail, prev_hash, hash
             FROM audit ORDER BY seq DESC LIMIT ?1",
            [limit as i64],
            |r| {
                let ids: String = r.get(7)?;
                let mut objects: Vec<String> = ids.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if ids.len() == 400 {
                    // The last id was cut.
                    objects.pop();
                }
                let hash = |b: Vec<u8>| {
                    let mut h = [0u8; 32];
                    if b.len() == 32 {
                        h.copy_from_slice(&b);
                    }
                    h
                };
                Ok(crate::AuditRecord {
                    seq: r.get(0)?,
                    at: ts(r.get(1)?),
                    entry: crate::AuditEntry {
                        token: r.get(2)?,
                        user: r.get(3)?,
                        org: r.get(4)?,
                        action: r.get(5)?,
                        collection: r.get(6)?,
                        objects,
                        detail: r.get(8)?,
                    },
                    prev_hash: hash(r.get(9)?),
                    hash: hash(r.get(10)?),
                })
            },
        )
        .map_err(db)
    }

    fn referrers(&self, id: &str, limit: usize) -> Result<Vec<(i64, StoredObject)>> {
        let conn = self.reader()?;
        let mut out = Vec::new();
        for row in referring_rows(&conn, id, limit)? {
            if let Some((o, _, _, collection)) = Self::list_row(&conn, row, false)? {
                out.push((collection, o));
            }
        }
        Ok(out)
    }
}

//! Benchmark preparation (bench/console): moves every object of a stopped
//! node's database back in time so that the objects look added evenly over
//! the last DAYS days, in their original order, and rebuilds what is keyed by
//! `date_added` (references, pending decisions, the console's figures; the
//! full-text index file is removed, to be built again). A node imports a million objects in a minute; the
//! overview must be measured on figures spread over months, as on a node
//! that has been running that long.
//!
//! Usage: `cargo run --release -p store --example spread_over_days -- DB DAYS`
//!
//! Never run this on a node anyone uses: it rewrites the row keys that
//! TAXII paging cursors point at.

use rusqlite::{Connection, params};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(days)) = (args.get(1), args.get(2).and_then(|d| d.parse::<i64>().ok()))
    else {
        eprintln!("usage: spread_over_days DB DAYS");
        std::process::exit(2);
    };
    let mut conn = Connection::open(path)?;
    let tx = conn.transaction()?;
    let (n, last): (i64, i64) = tx.query_row(
        "SELECT count(*), coalesce(max(date_added), 0) FROM objects",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if n == 0 {
        return Ok(());
    }
    let span = days * 86_400_000_000;
    let start = last - span;
    let step = (span / n).max(1);
    // Two passes through negative keys: the new keys are earlier than the
    // old ones and would collide with rows not yet moved.
    tx.execute_batch(
        "CREATE TEMP TABLE moved (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
         UPDATE objects SET date_added = -date_added;",
    )?;
    {
        let mut insert = tx.prepare("INSERT INTO moved (old, new) VALUES (?1, ?2)")?;
        let mut rows = tx.prepare("SELECT -date_added FROM objects ORDER BY date_added DESC")?;
        let olds: Vec<i64> = rows
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for (i, old) in olds.iter().enumerate() {
            insert.execute(params![old, start + i as i64 * step])?;
        }
    }
    tx.execute_batch(
        "UPDATE objects SET date_added = (SELECT new FROM moved WHERE old = -objects.date_added);
         UPDATE object_refs SET row = -row;
         UPDATE object_refs SET row = (SELECT new FROM moved WHERE old = -object_refs.row);
         UPDATE count_pending SET row = -row;
         UPDATE count_pending SET row = (SELECT new FROM moved WHERE old = -count_pending.row);
         UPDATE row_classes SET row = -row;
         UPDATE row_classes SET row = (SELECT new FROM moved WHERE old = -row_classes.row);
         DROP TABLE IF EXISTS object_text;
         DELETE FROM object_counts;
         INSERT INTO object_counts (class, day, type, tlp, n)
             SELECT r.class, o.date_added / 86400000000, o.type, coalesce(o.tlp, -1), count(*)
             FROM objects o JOIN row_classes r ON r.row = o.date_added
             WHERE o.counted = 1 GROUP BY 1, 2, 3, 4;
         DELETE FROM ranked_counts;
         INSERT INTO ranked_counts (class, day, target, n)
             SELECT r.class, o.date_added / 86400000000, j.value, count(*)
             FROM objects o JOIN row_classes r ON r.row = o.date_added,
                  json_each('[\"' || replace(o.ranked, ' ', '\",\"') || '\"]') j
             WHERE o.counted = 1 AND o.ranked IS NOT NULL GROUP BY 1, 2, 3;",
    )?;
    // The full-text index (a file of its own since schema step 13) is keyed
    // by row: remove it, and the node builds it again when it next opens.
    let queued: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'text_deletes'",
        [],
        |r| r.get(0),
    )?;
    if queued == 1 {
        tx.execute("DELETE FROM text_deletes", [])?;
    }
    tx.commit()?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}.search{suffix}"));
    }
    eprintln!("{n} objects now spread over {days} days, one every {step} µs");
    Ok(())
}

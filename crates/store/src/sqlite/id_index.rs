//! An in-memory index from STIX id to the rows that hold it.
//!
//! STIX ids are random UUIDs. Kept in a B-tree on disk, every added object
//! dirties a random page of that index, and every commit writes each dirty
//! page to the log: at a million objects that was most of the cost of an
//! add, and it grew with the collection. In memory the lookup is a hash
//! probe and an add costs the same at any size. The database stays the
//! source of truth: the index is rebuilt from it at start-up, catches up on
//! rows other processes appended (rows are keyed by a strictly increasing
//! `date_added`, so "everything after the last row seen" is exact), and
//! every candidate row is re-read from the table, so rows deleted elsewhere
//! simply drop out.

use std::collections::HashMap;

/// `type--uuid`, packed: the UUID's bytes and the interned type (20 bytes,
/// so an entry with its first row is 32: about 37 MB for a million ids).
type Key = ([u8; 16], u32);

#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    types: HashMap<Box<str>, u32>,
    /// The first row (`date_added`) of each id, in any collection.
    first: HashMap<Key, i64>,
    /// Further rows of the ids that have several (versions, other collections).
    more: HashMap<Key, Vec<i64>>,
    /// The highest `date_added` incorporated.
    pub(crate) high_water: i64,
}

fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let mut value: u128 = 0;
    let mut digits = 0;
    for c in text.bytes() {
        if c == b'-' {
            continue;
        }
        let d = (c as char).to_digit(16)?;
        value = (value << 4) | u128::from(d);
        digits += 1;
    }
    (digits == 32).then_some(value.to_be_bytes())
}

impl IdIndex {
    fn key(&mut self, id: &str) -> Option<Key> {
        let (ty, uuid) = id.split_once("--")?;
        let uuid = parse_uuid(uuid)?;
        let next = self.types.len() as u32;
        let t = *self.types.entry(ty.into()).or_insert(next);
        Some((uuid, t))
    }

    fn existing_key(&self, id: &str) -> Option<Key> {
        let (ty, uuid) = id.split_once("--")?;
        Some((parse_uuid(uuid)?, *self.types.get(ty)?))
    }

    /// Records that row `date_added` holds `id`. Does not move the high-water
    /// mark: a row written inside a transaction that may still roll back is
    /// not proof that every earlier row is known (see [`IdIndex::advance`]).
    pub(crate) fn insert(&mut self, id: &str, date_added: i64) {
        if let Some(key) = self.key(id) {
            match self.first.get(&key) {
                None => {
                    self.first.insert(key, date_added);
                }
                Some(first) if *first == date_added => {}
                Some(_) => {
                    let more = self.more.entry(key).or_default();
                    if !more.contains(&date_added) {
                        more.push(date_added);
                    }
                }
            }
        }
    }

    /// Every committed row up to `date_added` is indexed.
    pub(crate) fn advance(&mut self, date_added: i64) {
        self.high_water = self.high_water.max(date_added);
    }

    /// Rows that may hold `id` (to be checked against the table).
    pub(crate) fn candidates(&self, id: &str, out: &mut Vec<i64>) {
        if let Some(key) = self.existing_key(id)
            && let Some(first) = self.first.get(&key)
        {
            out.push(*first);
            if let Some(more) = self.more.get(&key) {
                out.extend_from_slice(more);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.first.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_row_of_an_id() {
        let mut ix = IdIndex::default();
        let a = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
        let b = "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
        ix.insert(a, 10);
        ix.insert(a, 12);
        ix.insert(a, 12);
        ix.insert(b, 11);
        let mut out = Vec::new();
        ix.candidates(a, &mut out);
        assert_eq!(out, [10, 12]);
        out.clear();
        ix.candidates(b, &mut out);
        assert_eq!(out, [11]);
        out.clear();
        ix.candidates("report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", &mut out);
        assert!(out.is_empty());
        assert_eq!(
            ix.high_water, 0,
            "inserting alone proves nothing about earlier rows"
        );
        ix.advance(12);
        assert_eq!(ix.high_water, 12);
        assert_eq!(ix.len(), 2);
    }
}

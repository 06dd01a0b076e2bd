//! The previous quarter, indexed by household id for `adjust`.

use crate::adjust::{self, Kept, Row};
use crate::household::Cell;
use crate::ruleset::lists::Side;
use crate::ruleset::RuleSet;

/// The previous quarter as compared: each household's id (all ids in one arena), row and the
/// values the lists read of it (`adjust::keep`, in flat arenas), found by id through a table of
/// indices: no `String` or `Vec` per household.
#[derive(Default)]
pub struct PrevIndex {
    ids: String,
    pub entries: Vec<Prev>,
    table: hashbrown::HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
    /// Per household, `sizes` values of each kind.
    cells: Vec<Cell>,
    bools: Vec<Option<bool>>,
    decisions: Vec<u16>,
    sizes: (usize, usize, usize),
}

pub struct Prev {
    start: usize,
    len: u32,
    pub row: u64,
}

impl PrevIndex {
    pub fn with_capacity(n: usize, sizes: (usize, usize, usize)) -> PrevIndex {
        PrevIndex {
            entries: Vec::with_capacity(n),
            table: hashbrown::HashTable::with_capacity(n),
            cells: Vec::with_capacity(n * sizes.0),
            bools: Vec::with_capacity(n * sizes.1),
            decisions: Vec::with_capacity(n * sizes.2),
            sizes,
            ..PrevIndex::default()
        }
    }

    /// Add a household (its id is not in the index yet: repeated ids were left out) with the
    /// values kept of it.
    pub fn push(&mut self, id: &str, row: u64, kept: Kept) {
        use std::hash::BuildHasher;
        self.cells.extend_from_slice(kept.cells);
        self.bools.extend_from_slice(kept.bools);
        self.decisions.extend_from_slice(kept.decisions);
        let PrevIndex { ids, entries, table, hasher, .. } = self;
        let k = entries.len() as u32;
        entries.push(Prev { start: ids.len(), len: id.len() as u32, row });
        ids.push_str(id);
        let id_of = |i: u32| {
            let e = &entries[i as usize];
            &ids[e.start..e.start + e.len as usize]
        };
        table.insert_unique(hasher.hash_one(id), k, |&i| hasher.hash_one(id_of(i)));
    }

    pub fn id(&self, e: &Prev) -> &str {
        &self.ids[e.start..e.start + e.len as usize]
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        use std::hash::BuildHasher;
        let PrevIndex { ids, entries, table, hasher, .. } = self;
        let k = *table.find(hasher.hash_one(id), |&i| {
            let e = &entries[i as usize];
            &ids[e.start..e.start + e.len as usize] == id
        })?;
        Some(k as usize)
    }

    /// The values kept of household `k`.
    pub fn kept(&self, k: usize) -> Kept<'_> {
        let (c, b, d) = self.sizes;
        Kept {
            cells: &self.cells[k * c..(k + 1) * c],
            bools: &self.bools[k * b..(k + 1) * b],
            decisions: &self.decisions[k * d..(k + 1) * d],
        }
    }
}

/// Owned values of one side, before they go into the index.
#[derive(Default)]
pub struct KeptBuf {
    cells: Vec<Cell>,
    bools: Vec<Option<bool>>,
    decisions: Vec<u16>,
}

impl KeptBuf {
    pub fn of(rs: &RuleSet, row: Row) -> KeptBuf {
        let mut k = KeptBuf::default();
        adjust::keep(rs, Side::Previous, row, &mut k.cells, &mut k.bools, &mut k.decisions);
        k
    }
    pub fn view(&self) -> Kept<'_> {
        Kept { cells: &self.cells, bools: &self.bools, decisions: &self.decisions }
    }
}

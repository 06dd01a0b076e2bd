//! The previous quarter, indexed by household id for `adjust`.

use std::hash::BuildHasher;

use crate::adjust::packed::PackedCells;
use crate::adjust::{self, Kept, Row};
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
    hasher: IdHasher,
    /// Per household, `sizes` values of each kind (the cells packed: 9 bytes a cell, where a
    /// `Cell` is 32).
    cells: PackedCells,
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
            cells: PackedCells::with_capacity(n * sizes.0),
            bools: Vec::with_capacity(n * sizes.1),
            decisions: Vec::with_capacity(n * sizes.2),
            sizes,
            ..PrevIndex::default()
        }
    }

    /// The index, its ids hashed with `seed` (that of the current quarter's [`IdSet`], so that
    /// the hash of an id is asked of it as it is: [`IdSet::may_have_hashed`]).
    ///
    /// [`IdSet`]: crate::input::IdSet
    /// [`IdSet::may_have_hashed`]: crate::input::IdSet::may_have_hashed
    pub fn seeded(self, seed: u64) -> PrevIndex {
        PrevIndex { hasher: IdHasher { seed }, ..self }
    }

    /// The hasher of the ids (for [`PrevChunk::push`], on any thread).
    pub fn hasher(&self) -> &IdHasher {
        &self.hasher
    }

    /// Add a chunk's households (their ids are not in the index yet: repeated ids were left out)
    /// with the values kept of them, in order.
    pub fn append(&mut self, chunk: &mut PrevChunk) {
        // (The cells moved, not cloned.)
        self.cells.append(&mut chunk.kept.cells);
        self.bools.extend_from_slice(&chunk.kept.bools);
        self.decisions.extend_from_slice(&chunk.kept.decisions);
        let PrevIndex { ids, entries, table, hasher, .. } = self;
        // The ids' arena is sized once, from the first chunk's ids (the other arrays were sized
        // for every household): grown by doubling, it would be copied again and again, each time
        // into fresh pages that the kernel must zero first (in `perf`, 2 % of `adjust` at 1M).
        if ids.capacity() == 0 && !chunk.entries.is_empty() {
            let per_id = chunk.ids.len().div_ceil(chunk.entries.len()) + 1;
            ids.reserve(entries.capacity().saturating_mul(per_id));
        }
        let mut start = ids.len();
        ids.push_str(&chunk.ids);
        for &(row, len, hash) in &chunk.entries {
            let k = entries.len() as u32;
            entries.push(Prev { start, len, row });
            start += len as usize;
            // (The hasher again only when the table grows: it was sized for every id.)
            table.insert_unique(hash, k, |&i| {
                let e = &entries[i as usize];
                hasher.hash(&ids[e.start..e.start + e.len as usize])
            });
        }
    }

    pub fn id(&self, e: &Prev) -> &str {
        &self.ids[e.start..e.start + e.len as usize]
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        let PrevIndex { ids, entries, table, hasher, .. } = self;
        let k = *table.find(hasher.hash(id), |&i| {
            let e = &entries[i as usize];
            &ids[e.start..e.start + e.len as usize] == id
        })?;
        Some(k as usize)
    }

    /// As [`PrevIndex::find`], trying household `near` first: consecutive quarters usually list
    /// their households in the same order, so the household after the last one matched is most
    /// often the one, and comparing it reads memory next to the last comparison instead of a
    /// random place of a table of a million (ids are unique in the index, so a household whose
    /// id is `id` is the one `find` would give).
    pub fn find_near(&self, id: &str, near: usize) -> Option<usize> {
        if let Some(e) = self.entries.get(near) {
            if self.id(e) == id {
                return Some(near);
            }
        }
        self.find(id)
    }

    /// The values kept of household `k`.
    pub fn kept(&self, k: usize) -> Kept<'_> {
        let (c, b, d) = self.sizes;
        Kept {
            cells: self.cells.view(k * c..(k + 1) * c),
            bools: &self.bools[k * b..(k + 1) * b],
            decisions: &self.decisions[k * d..(k + 1) * d],
        }
    }
}

/// The hash of a household id in the index, seeded per run ([`crate::input::seeded_hash`]: eight
/// bytes at a time, where SipHash took some 20 instructions a byte). Any hash will do for what is
/// found (the ids themselves are compared); the seed keeps a file's ids from being chosen to
/// collide.
#[derive(Debug, Clone, Copy)]
pub struct IdHasher {
    seed: u64,
}

impl Default for IdHasher {
    fn default() -> IdHasher {
        IdHasher { seed: std::collections::hash_map::RandomState::new().hash_one(0u64) }
    }
}

impl IdHasher {
    #[inline]
    pub fn hash(&self, id: &str) -> u64 {
        crate::input::seeded_hash(self.seed, id.as_bytes())
    }
}

/// What the workers gather of a chunk of the previous quarter's households for the index, with
/// no allocation per household: the ids in one arena, each one's row, length and hash, and the
/// values kept, flat.
#[derive(Default)]
pub struct PrevChunk {
    ids: String,
    entries: Vec<(u64, u32, u64)>,
    kept: KeptBuf,
}

impl PrevChunk {
    /// Households a chunk makes room for at its first (a chunk of the pipeline has some 200).
    const ROOM: usize = 256;

    fn reserve(&mut self, rs: &RuleSet, n: usize, id_len: usize) {
        let (c, b, d) = adjust::kept_sizes(rs, Side::Previous);
        self.ids.reserve(n * id_len);
        self.entries.reserve(n);
        self.kept.cells.reserve(n * c);
        self.kept.bools.reserve(n * b);
        self.kept.decisions.reserve(n * d);
    }

    /// How many households the chunk holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add a household with id `id`, whose hash by the index's hasher is `hash`.
    pub fn push(&mut self, rs: &RuleSet, id: &str, hash: u64, row: Row) {
        if self.entries.capacity() == 0 {
            // Room for a chunk's households at once, not grown by doubling from nothing.
            self.reserve(rs, PrevChunk::ROOM, id.len());
        }
        self.ids.push_str(id);
        self.entries.push((row.hh.row, id.len() as u32, hash));
        let k = &mut self.kept;
        adjust::keep(rs, Side::Previous, row, &mut k.cells, &mut k.bools, &mut k.decisions);
    }
}

/// Owned values of one side, before they go into the index.
#[derive(Default)]
pub struct KeptBuf {
    cells: PackedCells,
    bools: Vec<Option<bool>>,
    decisions: Vec<u16>,
}

#[cfg(test)]
impl KeptBuf {
    pub fn of(rs: &RuleSet, row: Row) -> KeptBuf {
        let mut k = KeptBuf::default();
        adjust::keep(rs, Side::Previous, row, &mut k.cells, &mut k.bools, &mut k.decisions);
        k
    }
    pub fn view(&self) -> Kept<'_> {
        Kept { cells: self.cells.view(0..self.cells.len()), bools: &self.bools, decisions: &self.decisions }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index of `ids` (nothing kept of them), in order.
    fn index(ids: &[&str]) -> PrevIndex {
        let mut index = PrevIndex::with_capacity(ids.len(), (0, 0, 0));
        let mut chunk = PrevChunk::default();
        for (row, id) in ids.iter().enumerate() {
            chunk.ids.push_str(id);
            chunk.entries.push((row as u64 + 2, id.len() as u32, index.hasher().hash(id)));
        }
        index.append(&mut chunk);
        index
    }

    #[test]
    fn find_near_gives_what_find_gives_whatever_the_hint() {
        let ids = ["A1", "A2", "B", "A12", "", "C3"];
        let index = index(&ids);
        for probe in ["A1", "A2", "B", "A12", "C3", "A", "A123", "X", "a1"] {
            for near in 0..ids.len() + 2 {
                assert_eq!(index.find_near(probe, near), index.find(probe), "{probe:?} near {near}");
            }
        }
        assert_eq!(index.find_near("A12", 3), Some(3));
        assert_eq!(index.find_near("A12", 0), Some(3));
        assert_eq!(index.id(&index.entries[3]), "A12");
    }

    /// Ids of the usual shapes (long numbers counting up, short codes, texts) hash apart: no two
    /// of 200,000 distinct ids share a hash, and their low bits (where the table looks first)
    /// fill the buckets about evenly.
    #[test]
    fn ids_hash_apart() {
        let h = IdHasher::default();
        let mut ids: Vec<String> = (0..100_000u64).map(|k| format!("52262{:013}", k * 7)).collect();
        ids.extend((0..50_000u64).map(|k| format!("H{k}")));
        ids.extend((0..50_000u64).map(|k| format!("户{k}号")));
        let hashes: Vec<u64> = ids.iter().map(|id| h.hash(id)).collect();
        let mut sorted = hashes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), hashes.len());
        let mut buckets = vec![0u32; 1 << 10];
        for x in &hashes {
            buckets[(x & 1023) as usize] += 1;
        }
        let (lo, hi) = (buckets.iter().min().unwrap(), buckets.iter().max().unwrap());
        assert!(*lo > 120 && *hi < 280, "{lo}..{hi}");
        // The top seven bits (hashbrown's tag) too.
        let mut tags = vec![0u32; 128];
        for x in &hashes {
            tags[(x >> 57) as usize] += 1;
        }
        assert!(tags.iter().all(|&n| n > 1300 && n < 1850), "{tags:?}");
    }
}

//! 精准比对: department lists (`[departments.*]`, read with `--with`) matched with households by
//! normalised ID number.
//!
//! Each list given is read whole before the ledger (the build side of a hash join): its records
//! sorted by ID key (`crate::value::idnum`, a `u64`), a table from key to the records with it,
//! the carried columns stored compactly (numbers as `i64`, texts in one arena). The ledger is then
//! streamed: [`Matcher::fill`] looks up each member's ID (a ledger row: the head's), records the
//! matches in `Household::matches` and sets the evidence fields conditions read
//! (`ruleset::departments`). Lists not given leave their fields unknown (`缺少比对名单：…`).

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::household::{Cell, Household, Match, RecordHead, Scalar};
use crate::ruleset::departments::Department;
use crate::ruleset::file::FieldType;
use crate::ruleset::RuleSet;
use crate::value::idnum::{self, Id};
use crate::value::Num;

/// Most records shown in one household's reasons (the 比对结果 sheet lists every one).
pub const SHOWN: usize = 8;

/// Department rows whose ID is invalid or lost that are listed by row (the rest are counted).
pub const LISTED: usize = 20;

/// A multiplicative hash for ID keys (already well spread in their low digits).
#[derive(Clone, Copy, Default)]
pub struct KeyHash(u64);

impl Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = (k ^ (k >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[derive(Clone, Copy, Default)]
pub struct BuildKeyHash;

impl BuildHasher for BuildKeyHash {
    type Hasher = KeyHash;
    fn build_hasher(&self) -> KeyHash {
        KeyHash(0)
    }
}

/// Where a column's values are kept.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// `nums[record * n_num + k]`: an int or money column as `Num`'s raw value, a month as its index.
    Num(usize),
    /// `texts[offsets[record * n_text + k] .. offsets[record * n_text + k + 1]]`.
    Text(usize),
}

/// What reading a department file found.
#[derive(Debug, Clone, Default)]
pub struct ListStats {
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    /// Rows with a valid ID number (records).
    pub valid: u64,
    /// Rows without an ID number.
    pub blank_id: u64,
    /// Rows whose ID Excel turned into a number, and the first [`LISTED`] of their row numbers.
    pub mangled: u64,
    pub mangled_rows: Vec<u64>,
    /// Rows whose ID is not an ID number: (row, ID as shown — masked —, why), the first [`LISTED`].
    pub invalid: u64,
    pub invalid_rows: Vec<(u64, String, String)>,
    /// Cells of carried columns that could not be read (blank in the record).
    pub bad_cells: u64,
    /// Carried columns the file lacks (blank in every record).
    pub missing_columns: Vec<String>,
}

/// One department list, read.
pub struct List {
    pub dept: u16,
    /// The file, as messages show it.
    pub path: String,
    pub stats: ListStats,
    slots: Vec<Slot>,
    n_num: usize,
    n_text: usize,
    keys: Vec<u64>,
    rows: Vec<u32>,
    nums: Vec<i64>,
    offsets: Vec<u32>,
    texts: String,
    index: hashbrown::HashMap<u64, (u32, u32), BuildKeyHash>,
    matched: Vec<AtomicBool>,
}

/// A blank or unreadable number.
const NONE: i64 = i64::MIN;

impl List {
    pub fn new(dept: &Department, d: u16, path: String) -> List {
        let (mut n_num, mut n_text) = (0, 0);
        let slots = dept
            .columns
            .iter()
            .map(|c| match c.ty {
                FieldType::Text | FieldType::Id => {
                    n_text += 1;
                    Slot::Text(n_text - 1)
                }
                _ => {
                    n_num += 1;
                    Slot::Num(n_num - 1)
                }
            })
            .collect();
        List {
            dept: d,
            path,
            stats: ListStats::default(),
            slots,
            n_num,
            n_text,
            keys: Vec::new(),
            rows: Vec::new(),
            nums: Vec::new(),
            offsets: vec![0],
            texts: String::new(),
            index: hashbrown::HashMap::with_hasher(BuildKeyHash),
            matched: Vec::new(),
        }
    }

    /// Add a record: its ID key, file row and the cells of the carried columns (in the
    /// department's column order; `None` for a column the file lacks). A cell that cannot be read
    /// is kept blank and counted.
    pub fn push(&mut self, dept: &Department, key: u64, row: u64, cells: &[Option<&str>]) {
        self.keys.push(key);
        self.rows.push(u32::try_from(row).unwrap_or(u32::MAX));
        let mut texts: smallvec::SmallVec<[&str; 8]> = smallvec::SmallVec::new();
        let mut nums: smallvec::SmallVec<[i64; 8]> = smallvec::SmallVec::new();
        for (c, col) in dept.columns.iter().enumerate() {
            let raw = cells.get(c).copied().flatten().unwrap_or("");
            let blank = crate::value::cell::is_blank(raw);
            match self.slots[c] {
                Slot::Text(_) => texts.push(if blank { "" } else { raw.trim() }),
                Slot::Num(_) => {
                    let t = crate::value::cell::normalize(raw);
                    let v = if blank {
                        Ok(NONE)
                    } else {
                        match col.ty {
                            FieldType::Int => crate::value::cell::int(&t)
                                .and_then(|i| Num::from_int(i).map(|n| n.0).ok_or_else(|| "数值过大".into())),
                            FieldType::Money => crate::value::cell::money(&t).map(|n| n.0),
                            _ => crate::value::cell::month(&t).map(i64::from),
                        }
                    };
                    nums.push(v.unwrap_or_else(|_| {
                        self.stats.bad_cells += 1;
                        NONE
                    }));
                }
            }
        }
        for t in texts {
            self.texts.push_str(t);
            self.offsets.push(self.texts.len() as u32);
        }
        self.nums.extend(nums);
    }

    /// Sort the records by key and index them.
    pub fn finish(&mut self) {
        let n = self.keys.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| (self.keys[i as usize], self.rows[i as usize]));
        let keys: Vec<u64> = order.iter().map(|&i| self.keys[i as usize]).collect();
        let rows: Vec<u32> = order.iter().map(|&i| self.rows[i as usize]).collect();
        let mut nums = Vec::with_capacity(self.nums.len());
        let mut offsets = Vec::with_capacity(self.offsets.len());
        let mut texts = String::with_capacity(self.texts.len());
        offsets.push(0u32);
        for &i in &order {
            let i = i as usize;
            nums.extend_from_slice(&self.nums[i * self.n_num..(i + 1) * self.n_num]);
            for k in 0..self.n_text {
                let (a, b) = (self.offsets[i * self.n_text + k], self.offsets[i * self.n_text + k + 1]);
                texts.push_str(&self.texts[a as usize..b as usize]);
                offsets.push(texts.len() as u32);
            }
        }
        (self.keys, self.rows, self.nums, self.offsets, self.texts) = (keys, rows, nums, offsets, texts);
        self.index.clear();
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && self.keys[end] == self.keys[start] {
                end += 1;
            }
            self.index.insert(self.keys[start], (start as u32, (end - start) as u32));
            start = end;
        }
        self.matched = (0..n).map(|_| AtomicBool::new(false)).collect();
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The records with this key.
    pub fn lookup(&self, key: u64) -> std::ops::Range<u32> {
        match self.index.get(&key) {
            Some(&(start, len)) => start..start + len,
            None => 0..0,
        }
    }

    /// Records no household matched.
    pub fn unmatched(&self) -> u64 {
        self.matched.iter().filter(|m| !m.load(Ordering::Relaxed)).count() as u64
    }

    /// The rows of up to `n` unmatched records.
    pub fn unmatched_rows(&self, n: usize) -> Vec<u64> {
        let mut rows: Vec<u64> = (0..self.len())
            .filter(|&r| !self.matched[r].load(Ordering::Relaxed))
            .map(|r| self.rows[r] as u64)
            .collect();
        rows.sort_unstable();
        rows.truncate(n);
        rows
    }

    pub fn key(&self, r: u32) -> u64 {
        self.keys[r as usize]
    }
    pub fn row(&self, r: u32) -> u64 {
        self.rows[r as usize] as u64
    }

    /// Column `c`'s number in record `r` (`Num` raw value; a month index), `None` when blank.
    pub fn num(&self, r: u32, c: usize) -> Option<i64> {
        match self.slots[c] {
            Slot::Num(k) => Some(self.nums[r as usize * self.n_num + k]).filter(|&v| v != NONE),
            Slot::Text(_) => None,
        }
    }

    /// Column `c` of record `r` as a cell conditions read (`r.plate` in `cars.exists(r, …)`).
    pub fn cell(&self, dept: &Department, r: u32, c: usize) -> Cell {
        match self.slots[c] {
            Slot::Text(k) => {
                let i = r as usize * self.n_text + k;
                let t = &self.texts[self.offsets[i] as usize..self.offsets[i + 1] as usize];
                if t.is_empty() {
                    Cell::Blank
                } else {
                    Cell::Value(Scalar::Text(t.into()))
                }
            }
            Slot::Num(_) => match (self.num(r, c), dept.columns[c].ty) {
                (None, _) => Cell::Blank,
                (Some(m), FieldType::Month) => Cell::Value(Scalar::Month(m as i32)),
                (Some(v), _) => Cell::Value(Scalar::Num(Num(v))),
            },
        }
    }

    /// Column `c` of record `r` as shown (blank: empty), unmasked.
    pub fn write_value(&self, out: &mut String, dept: &Department, r: u32, c: usize) {
        match self.slots[c] {
            Slot::Text(k) => {
                let i = r as usize * self.n_text + k;
                out.push_str(&self.texts[self.offsets[i] as usize..self.offsets[i + 1] as usize]);
            }
            Slot::Num(_) => match (self.num(r, c), dept.columns[c].ty) {
                (None, _) => {}
                (Some(m), FieldType::Month) => out.push_str(&crate::value::fmt_month(m as i32)),
                (Some(v), _) => Num(v).write_to(out),
            },
        }
    }
}

/// A matched record as JSON Lines show it (`matches`): the list, its row, the member, the ID
/// (masked unless `--show-ids`) and the carried values by their labels.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evidence {
    pub list: String,
    pub row: u64,
    /// The member's row in the person export; absent for a ledger row's head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_row: Option<u64>,
    pub id: String,
    pub values: std::collections::BTreeMap<String, String>,
}

/// The department lists of a run, by the rule set's department order (`None`: not given).
pub struct Matcher {
    pub lists: Vec<Option<List>>,
}

fn set_num(cell: &mut Cell, v: Num) {
    *cell = Cell::Value(Scalar::Num(v));
}

fn add_num(cell: &mut Cell, v: Num) {
    if let Cell::Value(Scalar::Num(n)) = cell {
        *n = n.checked_add(v).unwrap_or(*n);
    }
}

impl Matcher {
    /// Whether list `d` was given.
    pub fn given(&self, d: u16) -> bool {
        self.lists.get(d as usize).is_some_and(Option::is_some)
    }

    /// Match a household: `ids(k)` is member `k`'s ID cell (of `n` members; a ledger row has one,
    /// its head, `head` true). Sets `hh.matches` and the evidence fields of every list given.
    /// `ids(k)` also gives member `k`'s row in the file (ignored for the head).
    pub fn fill<'a>(
        &self,
        rules: &RuleSet,
        hh: &mut Household,
        n: usize,
        head: bool,
        ids: impl Fn(usize) -> (Option<&'a str>, u64),
    ) {
        hh.matches.clear();
        hh.records.clear();
        for (d, dept) in rules.departments.iter().enumerate() {
            if self.lists[d].is_none() {
                continue;
            }
            set_num(&mut hh.cells[dept.count_field as usize], Num(0));
            for f in dept.sum_fields.iter().flatten() {
                set_num(&mut hh.cells[*f as usize], Num(0));
            }
        }
        let mut compared = false;
        for k in 0..n {
            let (id, row) = ids(k);
            let key = match id.and_then(idnum::parse) {
                Some(Id::Valid(key)) => Some(key),
                _ => None,
            };
            compared |= key.is_some();
            self.member(rules, hh, (k, if head { Match::HEAD } else { row }), key);
        }
        // No ID could be compared: the household's evidence is unknown, not none.
        if !compared {
            for (d, dept) in rules.departments.iter().enumerate() {
                if self.lists[d].is_some() {
                    hh.cells[dept.count_field as usize] = Cell::Blank;
                    for f in dept.sum_fields.iter().flatten() {
                        hh.cells[*f as usize] = Cell::Blank;
                    }
                }
            }
        }
    }

    /// Match a household given cell by cell (`check --set`): by its head's ID field.
    pub fn fill_head(&self, rules: &RuleSet, hh: &mut Household) {
        let head = rules.matching.head_id.map(|f| std::mem::take(&mut hh.cells[f as usize]));
        let text = match &head {
            Some(Cell::Value(Scalar::Text(t)) | Cell::Invalid(t)) => Some(&**t),
            _ => None,
        };
        self.fill(rules, hh, usize::from(text.is_some()), true, |_| (text, Match::HEAD));
        if let (Some(f), Some(cell)) = (rules.matching.head_id, head) {
            hh.cells[f as usize] = cell;
        }
    }

    /// One member's (or the head's) records in every list given.
    /// `who`: the member's index and file row (a ledger row's head: [`Match::HEAD`]).
    fn member(&self, rules: &RuleSet, hh: &mut Household, who: (usize, u64), key: Option<u64>) {
        let (k, row) = who;
        let head = row == Match::HEAD;
        for (d, dept) in rules.departments.iter().enumerate() {
            let Some(list) = &self.lists[d] else { continue };
            let range = key.map(|key| list.lookup(key)).unwrap_or(0..0);
            // The member's own evidence: unknown when its ID cannot be compared.
            if let (false, Some(ms)) = (head, hh.members.as_mut()) {
                let width = ms.width;
                let cells = &mut ms.cells[k * width..(k + 1) * width];
                let value = |v: Num| if key.is_some() { Cell::Value(Scalar::Num(v)) } else { Cell::Blank };
                if let Some(f) = dept.member_count {
                    cells[f as usize] = value(Num::from_int(range.len() as i64).unwrap_or(Num(0)));
                }
                for (c, f) in dept.member_sums.iter().enumerate() {
                    let Some(f) = f else { continue };
                    let sum = range
                        .clone()
                        .filter_map(|r| list.num(r, c))
                        .fold(Num(0), |a, v| a.checked_add(Num(v)).unwrap_or(a));
                    cells[*f as usize] = value(sum);
                }
            }
            for r in range {
                list.matched[r as usize].store(true, Ordering::Relaxed);
                hh.matches.push(Match { list: d as u16, record: r, member: row });
                let start = hh.records.cells.len() as u32;
                for c in 0..dept.columns.len() {
                    // Only the columns some condition reads (a text read is an allocation).
                    let cell = if dept.read[c] { list.cell(dept, r, c) } else { Cell::Blank };
                    hh.records.cells.push(cell);
                }
                let member = if head { RecordHead::HEAD } else { k as u32 };
                let len = dept.columns.len() as u32;
                hh.records.heads.push(RecordHead { list: d as u16, member, start, len });
                add_num(&mut hh.cells[dept.count_field as usize], Num::from_int(1).unwrap_or(Num(0)));
                for (c, f) in dept.sum_fields.iter().enumerate() {
                    if let (Some(f), Some(v)) = (f, list.num(r, c)) {
                        add_num(&mut hh.cells[*f as usize], Num(v));
                    }
                }
            }
        }
    }

    /// Every match of `hh` ([`Evidence`]), texts masked unless `show_ids`.
    pub fn evidence(&self, rules: &RuleSet, hh: &Household, show_ids: bool) -> Vec<Evidence> {
        let shown = |t: String| if show_ids { t } else { crate::privacy::mask_text(&t).into_owned() };
        let mut out = Vec::with_capacity(hh.matches.len());
        for m in &hh.matches {
            let Some(list) = &self.lists[m.list as usize] else { continue };
            let dept = &rules.departments[m.list as usize];
            let mut values = std::collections::BTreeMap::new();
            for (c, col) in dept.columns.iter().enumerate() {
                let mut v = String::new();
                list.write_value(&mut v, dept, m.record, c);
                if !v.is_empty() {
                    values.insert(col.label.clone(), shown(v));
                }
            }
            out.push(Evidence {
                list: dept.label.clone(),
                row: list.row(m.record),
                member_row: (m.member != Match::HEAD).then_some(m.member),
                id: shown(idnum::key_text(list.key(m.record))),
                values,
            });
        }
        out
    }

    /// The evidence of `hh`'s matches, for its reasons: `比对：车辆登记（第 3 行）户主 520101********123X：
    /// 车辆类型 小型轿车，登记年月 2023-05`. ID numbers and phones in it are masked unless `show_ids`.
    pub fn write_evidence(&self, out: &mut String, rules: &RuleSet, hh: &Household, show_ids: bool) {
        let start = out.len();
        for (i, m) in hh.matches.iter().enumerate() {
            if i == SHOWN {
                let _ = write!(out, "；……共 {} 条比对记录", hh.matches.len());
                break;
            }
            let Some(list) = &self.lists[m.list as usize] else { continue };
            let dept = &rules.departments[m.list as usize];
            out.push_str(if i == 0 { "比对：" } else { "；" });
            let _ = write!(out, "{}（第 {} 行）", dept.label, list.row(m.record));
            if m.member == Match::HEAD {
                out.push_str("户主 ");
            } else {
                let _ = write!(out, "成员（第 {} 行）", m.member);
            }
            out.push_str(&idnum::key_text(list.key(m.record)));
            let mut first = true;
            for (c, col) in dept.columns.iter().enumerate() {
                let at = out.len();
                out.push_str(if first { "：" } else { "，" });
                out.push_str(&col.label);
                out.push(' ');
                let value_at = out.len();
                list.write_value(out, dept, m.record, c);
                if out.len() == value_at {
                    out.truncate(at);
                } else {
                    first = false;
                }
            }
        }
        if !show_ids && out.len() > start {
            let masked = crate::privacy::mask_text(&out[start..]).into_owned();
            out.truncate(start);
            out.push_str(&masked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_sorted_indexed_and_looked_up() {
        let rs = crate::ruleset::load("national").expect("national");
        let d = rs.departments.iter().position(|d| d.key == "cars").expect("cars");
        let dept = &rs.departments[d];
        let mut list = List::new(dept, d as u16, "cars.csv".into());
        let ids = ["52000020140901003X", "520000201409010000", "52000020140901003x"];
        for (i, id) in ids.iter().enumerate() {
            if let Some(Id::Valid(k)) = idnum::parse(id) {
                list.push(dept, k, 2 + i as u64, &[]);
            }
        }
        list.finish();
        assert_eq!(list.len(), 2);
        let Some(Id::Valid(k)) = idnum::parse("520000 20140901 003x") else { panic!() };
        assert_eq!(list.lookup(k), 0..2);
        assert_eq!((list.row(0), list.row(1)), (2, 4));
        assert_eq!(list.lookup(k + 1), 0..0);
        assert_eq!(list.unmatched(), 2);
    }
}

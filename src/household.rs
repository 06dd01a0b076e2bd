//! A household as the engine sees it: one typed cell per declared field, plus the data problems
//! found while reading its row.

use serde::Serialize;

use crate::value::Num;

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Num(Num),
    /// Index into the field's allowed values.
    Enum(u16),
    /// Month index (see `Date::month_index`).
    Month(i32),
    Text(Box<str>),
}

/// Which column a file lacks, for the reason of a cell that has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The field's own column (and its alternative sources, if any).
    Field(u16),
    /// The column of a member field (`[persons.*]`, by index) that a field computed from the
    /// members (`from_members`) reads (`劳动技能`).
    Member(u16),
    /// A department list (`[departments.*]`) not given with `--with`.
    List(u16),
}

/// One cell, as read.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    /// Blank: unknown.
    #[default]
    Blank,
    /// The file has no column for it: unknown for every household, and `blank()` is unknown too.
    Absent(Missing),
    /// No column, standing for the rule file's `absent = …` value.
    AbsentAs(Scalar),
    /// Could not be parsed, or out of range: unknown, and reported as a problem.
    Invalid(Box<str>),
    Value(Scalar),
    /// Blank, standing for the rule file's `blank = …` value.
    BlankAs(Scalar),
    /// Blank, computed by the field's `derive` expression.
    Derived(Scalar),
}

impl Cell {
    /// Become `blank` (a cell an empty cell sets: `Blank` or `BlankAs`), written in place: the
    /// copyable kinds without a call, a text only when it is not already the same text (compared
    /// by [`same_text`], not through a `memcmp` call) — what the reader does for most empty cells.
    #[inline(always)]
    pub fn set_blank(&mut self, blank: &Cell) {
        match blank {
            Cell::Blank => *self = Cell::Blank,
            Cell::BlankAs(Scalar::Num(n)) => *self = Cell::BlankAs(Scalar::Num(*n)),
            Cell::BlankAs(Scalar::Bool(b)) => *self = Cell::BlankAs(Scalar::Bool(*b)),
            Cell::BlankAs(Scalar::Enum(e)) => *self = Cell::BlankAs(Scalar::Enum(*e)),
            Cell::BlankAs(Scalar::Month(m)) => *self = Cell::BlankAs(Scalar::Month(*m)),
            Cell::BlankAs(Scalar::Text(t)) => {
                let same = matches!(self, Cell::BlankAs(Scalar::Text(old)) if same_text(old.as_bytes(), t.as_bytes()));
                if !same {
                    *self = Cell::BlankAs(Scalar::Text(t.clone()));
                }
            }
            other => *self = other.clone(),
        }
    }

    /// Become a copy of `src`, written in place: the kinds that hold no text without a call (what
    /// `adjust` does for every slot of every household), a text by `clone_from`.
    #[inline(always)]
    pub fn copy_from(&mut self, src: &Cell) {
        let s = match src {
            Cell::Blank => return *self = Cell::Blank,
            Cell::Absent(m) => return *self = Cell::Absent(*m),
            Cell::Invalid(_) => return self.clone_from(src),
            Cell::Value(s) | Cell::BlankAs(s) | Cell::Derived(s) | Cell::AbsentAs(s) => s,
        };
        let s = match s {
            Scalar::Bool(b) => Scalar::Bool(*b),
            Scalar::Num(n) => Scalar::Num(*n),
            Scalar::Enum(e) => Scalar::Enum(*e),
            Scalar::Month(m) => Scalar::Month(*m),
            Scalar::Text(_) => return self.clone_from(src),
        };
        *self = match src {
            Cell::Value(_) => Cell::Value(s),
            Cell::BlankAs(_) => Cell::BlankAs(s),
            Cell::Derived(_) => Cell::Derived(s),
            _ => Cell::AbsentAs(s),
        };
    }

    /// A copy, made as [`Cell::copy_from`] makes it (no call for the kinds that hold no text).
    #[inline(always)]
    pub fn copied(&self) -> Cell {
        let mut c = Cell::Blank;
        c.copy_from(self);
        c
    }

    #[inline(always)]
    pub fn value(&self) -> Option<&Scalar> {
        match self {
            Cell::Value(s) | Cell::BlankAs(s) | Cell::Derived(s) | Cell::AbsentAs(s) => Some(s),
            Cell::Blank | Cell::Invalid(_) | Cell::Absent(_) => None,
        }
    }
    /// Whether the cell as written was blank (whatever the rule file makes of a blank).
    pub fn is_blank(&self) -> bool {
        matches!(self, Cell::Blank | Cell::BlankAs(_) | Cell::Derived(_))
    }
    /// `present(field)` of a condition: the file has a column for it (or its value was derived).
    #[inline(always)]
    pub fn present(&self) -> bool {
        !matches!(self, Cell::Absent(_) | Cell::AbsentAs(_))
    }

    /// `blank(field)` of a condition: whether the cell was blank; unknown when the file has no
    /// column for it (and the rule file says nothing about an absent column).
    #[inline(always)]
    pub fn blank_test(&self) -> Option<bool> {
        match self {
            Cell::Absent(_) => None,
            c => Some(c.is_blank()),
        }
    }
}

/// Whether two texts are the same, a short one (up to 16 bytes: most blanks, `无`, and most names
/// and places) compared as two words that overlap (the first and the last 8, 4 or 2 bytes),
/// without a `memcmp` call.
#[inline(always)]
pub(crate) fn same_text(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w4 = |x: &[u8], i: usize| x.get(i..i + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    let w2 = |x: &[u8], i: usize| x.get(i..i + 2).map(|w| u16::from_le_bytes([w[0], w[1]]));
    let w8 = |x: &[u8], i: usize| x.get(i..i + 8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => w2(a, 0) == w2(b, 0) && w2(a, n - 2) == w2(b, n - 2),
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

/// A data problem: where, what was found, what was expected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Row number in the file (the header is row 1 when it is the first line).
    pub row: u64,
    /// The column header as written in the file (or the field's header when no column exists).
    pub column: String,
    /// The canonical field key, when the problem belongs to a field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub value: String,
    pub message: String,
}

/// The members of a household read from a person export: one row of cells per member, in the
/// rule set's member-field order (`[persons.*]`), stored flat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    /// Cells per member (the number of member fields).
    pub width: usize,
    pub cells: Vec<Cell>,
    /// Each member's row in the file.
    pub rows: Vec<u64>,
}

impl Members {
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Member `k`'s cells.
    #[inline]
    pub fn get(&self, k: usize) -> &[Cell] {
        &self.cells[k * self.width..(k + 1) * self.width]
    }
}

#[derive(Debug, Clone, Default)]
pub struct Household {
    pub row: u64,
    /// Input rows it was read from: 1 for a ledger row, the members' rows for a person export.
    pub source_rows: u64,
    /// One cell per field of the rule set, in the rule set's field order.
    pub cells: Vec<Cell>,
    pub problems: Vec<Problem>,
    /// The members, from a person export; `None` for a ledger row (member conditions are then
    /// unknown).
    pub members: Option<Members>,
    /// Department records matched to its members by ID number (`--with`), in member order.
    pub matches: Vec<Match>,
    /// The same records as cells, for conditions over them (`cars.exists(r, …)`).
    pub records: Records,
    /// What the reader may skip when it reads the next row into this household.
    pub(crate) kept: Kept,
}

/// What a household read by `input::Layout::household_into` tells the next read into it: the
/// columns whose empty cell set its field's blank and whose cell nothing has written since
/// (`Layout::kept`). An empty cell there in the next row is skipped: its blank is there
/// already (about 60 % of a usual ledger's cells, empty row after row). A household that is new,
/// cloned or was read by another layout knows of none.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    /// The layout that read the household (0: none).
    pub(crate) layout: u64,
    /// Bit `c`: column `c` (of the first 64).
    pub(crate) columns: u64,
}

impl Clone for Kept {
    /// None: a copy of a household may be changed and read into again.
    fn clone(&self) -> Kept {
        Kept::default()
    }
}

/// The department records matched to a household, as cells (one row of its list's columns per
/// record, stored flat), for record macros (`cars.size()`, `m.xueji.exists(r, …)`): the matches of
/// [`Household::matches`] in the same order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    pub heads: Vec<RecordHead>,
    pub cells: Vec<Cell>,
}

/// Where one record's cells are, and whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead {
    /// The department list (`[departments.*]`, in the rule set's order).
    pub list: u16,
    /// The matched member's index in [`Household::members`]; [`RecordHead::HEAD`] for a ledger
    /// row's head.
    pub member: u32,
    pub start: u32,
    pub len: u32,
}

impl RecordHead {
    pub const HEAD: u32 = u32::MAX;
}

/// No records: what a condition outside any household sees.
pub static NO_RECORDS: Records = Records { heads: Vec::new(), cells: Vec::new() };

impl Records {
    pub fn clear(&mut self) {
        self.heads.clear();
        self.cells.clear();
    }
    /// A record's cells.
    #[inline]
    pub fn get(&self, h: &RecordHead) -> &[Cell] {
        &self.cells[h.start as usize..(h.start + h.len) as usize]
    }
}

/// A department record matched to a household (精准比对, `crate::matching`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// The department list (`[departments.*]`, in the rule set's order).
    pub list: u16,
    /// The record, in the list's order.
    pub record: u32,
    /// The matched member's row in the person export, or [`Match::HEAD`].
    pub member: u64,
}

impl Match {
    /// A ledger row's head (户主证件号码).
    pub const HEAD: u64 = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two texts compared word by word are the same exactly when their bytes are, at every length
    /// up to past the short ones, differing anywhere.
    #[test]
    fn same_text_is_byte_equality() {
        let mut rng = crate::test_rng::Lcg(7);
        for _ in 0..50_000 {
            let n = rng.below(22);
            let a: Vec<u8> = (0..n).map(|_| [b'a', b'b', 0xE6, 0x97, 0xA0, 0][rng.below(6)]).collect();
            let mut b = a.clone();
            match rng.below(4) {
                0 if n > 0 => {
                    let i = rng.below(n);
                    b[i] ^= 1 << rng.below(8);
                }
                1 => b.push(b'a'),
                2 if n > 0 => {
                    b.pop();
                }
                _ => {}
            }
            assert_eq!(same_text(&a, &b), a == b, "{a:?} {b:?}");
            assert_eq!(same_text(&b, &a), a == b, "{a:?} {b:?}");
        }
        let mut c = Cell::BlankAs(Scalar::Text("无".into()));
        c.set_blank(&Cell::BlankAs(Scalar::Text("否".into())));
        assert_eq!(c, Cell::BlankAs(Scalar::Text("否".into())));
    }
}

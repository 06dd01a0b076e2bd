//! Household ledgers in: open a file, find its encoding and delimiter, map its headers to the rule
//! set's fields, and turn each row into a [`Household`] with its problems.
//!
//! Rows are streamed in batches; nothing holds the whole file. The one exception is the
//! duplicate-id check, which needs every id before the first row is reported: it is a separate
//! quick pass (a CSV file's parts side by side) that keeps 8 bytes per row (a hash) up to 1M
//! rows, then Bloom filters of about 12 bits a row (`Seen`), plus the exact ids of the few
//! hashes seen twice.

#[cfg(test)]
mod absent_tests;
pub mod departments;
pub mod persons;
pub mod record;
pub mod source;
mod spool;
pub mod stdin;
pub mod tap;
mod xlsx;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use source::Rows;
pub use source::{Kind, OpenOptions};

use crate::engine::specialise::Needs;
use crate::error::InputError;
use crate::household::{Cell, Household, Kept, Missing, Problem, Scalar};
use crate::ruleset::{Bound, RuleSet};
use crate::value::cell;
pub use crate::value::cell::{clip, header_key};
use persons::PersonColumns;

/// Text encodings of CSV files found in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    #[value(name = "gbk", alias = "gb18030", alias = "gb2312")]
    Gbk,
    #[value(name = "utf-16", alias = "utf16")]
    Utf16,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gbk => "GBK/GB18030",
            Encoding::Utf16 => "UTF-16",
        }
    }
}

/// How much of the file is looked at to guess the encoding.
pub(crate) const SNIFF: usize = 1 << 16;

/// Decide the encoding from the first bytes: a BOM, else valid UTF-8, else GB18030 (which also
/// reads GBK and GB2312).
pub fn sniff(head: &[u8]) -> Encoding {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Encoding::Utf8;
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Encoding::Utf16;
    }
    match std::str::from_utf8(head) {
        Ok(_) => Encoding::Utf8,
        // A multi-byte character cut off by the end of the sniffed block is still UTF-8.
        Err(e) if e.error_len().is_none() => Encoding::Utf8,
        // A bad sequence after a valid, non-ASCII UTF-8 header line is a damaged cell in a UTF-8
        // file (reported per cell), not a GBK file: GBK headers are never valid UTF-8.
        Err(e) => {
            let header_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
            if e.valid_up_to() >= header_end && !head[..header_end].is_ascii() {
                Encoding::Utf8
            } else {
                Encoding::Gbk
            }
        }
    }
}

/// Show at most 20 column names, then how many there are. A "header" may be a data row (a file
/// without one): what looks like an ID or phone number is masked.
pub fn column_list(columns: &[String]) -> String {
    let shown: Vec<String> =
        columns.iter().take(20).map(|c| format!("“{}”", clip(&crate::privacy::mask_text(c), 40))).collect();
    if columns.len() > 20 {
        format!("{} …（共 {} 列）", shown.join("、"), columns.len())
    } else {
        shown.join("、")
    }
}

/// Where things are in a ledger: what kind of file, the header row, which column holds which
/// field.
pub struct Layout {
    pub path: PathBuf,
    pub options: OpenOptions,
    pub kind: Kind,
    /// Column headers as written.
    pub columns: Vec<String>,
    /// For each column, the field it maps to.
    pub column_field: Vec<Option<u16>>,
    /// For each field, the header of its column (None: no column).
    pub field_column: Vec<Option<String>>,
    field_col_index: Vec<Option<usize>>,
    /// Headers that map to no field (ignored).
    pub unmapped: Vec<String>,
    /// Row number of the header (1-based, as the spreadsheet shows it).
    pub header_row: u64,
    /// Whether the header row was found by matching headers (not given, not the first row).
    pub header_detected: bool,
    /// A person export: where the person columns are.
    pub persons: Option<PersonColumns>,
    /// For each member field (`[persons.*]`), its column in a person export (None: no column).
    pub member_columns: Vec<Option<usize>>,
    /// In a person export, per field computed from the members (`from_members`): whether the
    /// member columns it reads are there ([`persons::member_inputs`]); empty for a ledger.
    member_inputs: Vec<Option<Option<u16>>>,
    id_field: u16,
    /// Columns read as a field's alternative source: (column, field, alternative).
    alt_columns: Vec<(usize, u16, u16)>,
    /// Columns the rules need that the file lacks (what the warning lists).
    pub absent: Vec<AbsentColumn>,
    /// In a person export, the member fields (`[persons.*]`) some rule reads that have no column
    /// (and cannot be derived from one): (member field, its header). Unknown for every member.
    pub absent_members: Vec<(u16, String)>,
    /// The cell of every field the file has no column for: unknown, or the rule file's `absent`
    /// value (set on every household before its cells are read).
    absent_cells: Vec<(u16, Cell)>,
    /// The cells of `absent_cells` put back before each row; the others are set once, when a
    /// household's cells are made.
    absent_reset: AbsentReset,
    /// The fields a row does not set (neither a column, an alternative column nor an absent
    /// cell: derived fields): made blank before each row.
    unset_fields: Vec<u16>,
    /// Per field: the cell an empty cell of its column sets, where that takes no more than a copy
    /// ([`RuleSet::blank_cell`]); `None`: through [`RuleSet::set_cell`].
    blank_cells: Vec<Option<Cell>>,
    /// The department lists given with `--with` (精准比对), matched with every household.
    pub matcher: Option<std::sync::Arc<crate::matching::Matcher>>,
    /// Per column: how its cells are read ([`ColumnRead`]) and what an empty one sets
    /// ([`BlankRead`]), chosen once at open.
    plans: Vec<ColumnPlan>,
    /// Whether a department list's evidence can be blank after a row's cells are read (only when
    /// the file has a column for one): [`RuleSet::finish_row`] then marks it unknown.
    lists_from_columns: bool,
    /// What is needed of each household when not all of it ([`Layout::restrict`]).
    pub needs: Option<Needs>,
    /// Whether the cells of fields with fixed bounds can hold a number out of them other than
    /// through a cell read (an alternative column, an absent or blank cell's value): then every
    /// row's are checked after its cells ([`RuleSet::finish_row_as`]); else only a row whose
    /// cells did not all check as they were read.
    ranges_unread: bool,
    /// Per column: its field's fixed bounds where [`ColumnPlan::ranged`] (kept apart from the
    /// plans, which every cell looks at).
    ranges: Vec<(crate::value::Num, crate::value::Num)>,
    /// The columns (of the first 64, bit `c` for column `c`) whose empty cell's blank, once set,
    /// stays in its field's cell until the next row is read ([`blanks_kept`]), and this layout
    /// among those of the run: what a household this layout reads may keep.
    kept: Kept,
    /// The first 64 columns by how their cells are read, for the cell loop's passes.
    passes: Box<Passes>,
}

/// Bits `0..n` (all 64 from 64 on).
#[inline]
fn low_bits(n: usize) -> u64 {
    1u64.checked_shl(n as u32).map_or(u64::MAX, |b| b - 1)
}

/// The empty cells among the first 64 (bit `c`: cell `c`), of cells ending at `ends` with `gap`
/// bytes between them ([`record::Record::parts_read`]). (Not inlined: a loop of few registers,
/// apart from the cell loop's many.)
#[inline(never)]
fn empty_cells(ends: &[usize], gap: usize) -> u64 {
    let ends = &ends[..ends.len().min(64)];
    // Four cells at a time (bits `at..at + 4`), then the rest one by one. (A cell ends at least
    // `gap` after the one before: four cells that end `3 * gap` after the first one's start
    // are all empty, as most runs of a ledger's empty columns are, found with one look.)
    let (mut empty, mut start, mut at) = (0u64, 0, 0);
    let mut fours = ends.chunks_exact(4);
    for e in &mut fours {
        debug_assert!(e[0] >= start && e[1] >= e[0] + gap && e[2] >= e[1] + gap && e[3] >= e[2] + gap);
        if e[3] == start + 3 * gap {
            empty |= 0xF << at;
            (start, at) = (e[3] + gap, at + 4);
            continue;
        }
        let four = u64::from(e[0] == start)
            | u64::from(e[1] == e[0] + gap) << 1
            | u64::from(e[2] == e[1] + gap) << 2
            | u64::from(e[3] == e[2] + gap) << 3;
        empty |= four << at;
        (start, at) = (e[3] + gap, at + 4);
    }
    for &end in fours.remainder() {
        empty |= u64::from(end == start) << at;
        (start, at) = (end + gap, at + 1);
    }
    empty
}

/// The set bits of a word, lowest first (column numbers among the first 64).
struct Bits(u64);

impl Iterator for Bits {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        (self.0 != 0).then(|| {
            let c = self.0.trailing_zeros() as usize;
            self.0 &= self.0 - 1;
            c
        })
    }
}

/// The first 64 columns by how their cells are read (bit `c`: column `c`), chosen at open from
/// [`Layout::plans`] for the cell loop of [`Layout::read_household`]: one pass a kind of column,
/// each knowing its kind (no dispatch a cell), what it needs of a column in a table of 64 (no
/// bounds check) and fewer things to keep in registers than one loop over every kind.
#[derive(Debug, Clone)]
struct Passes {
    bools: u64,
    money: u64,
    ints: u64,
    texts: u64,
    ids: u64,
    enums: u64,
    /// [`ColumnRead::Other`]: a cell with something in it goes through `set_cell`.
    other: u64,
    /// [`ColumnRead::Skip`]: not looked at (most columns of a layout [`Layout::restrict`]ed).
    skipped: u64,
    /// The columns whose field has fixed bounds ([`ColumnPlan::ranged`]).
    ranged: u64,
    /// Per column: its field (0 for none).
    field: [u16; 64],
    /// Per column: its enum (for [`ColumnRead::Enum`]).
    enum_of: [u16; 64],
    /// Per column: its field's fixed bounds ([`Layout::ranges`]).
    bounds: [(crate::value::Num, crate::value::Num); 64],
}

impl Passes {
    fn of(plans: &[ColumnPlan], ranges: &[(crate::value::Num, crate::value::Num)]) -> Passes {
        let none = crate::value::Num(0);
        let mut p = Passes {
            bools: 0,
            money: 0,
            ints: 0,
            texts: 0,
            ids: 0,
            enums: 0,
            other: 0,
            skipped: 0,
            ranged: 0,
            field: [0; 64],
            enum_of: [0; 64],
            bounds: [(none, none); 64],
        };
        for (c, plan) in plans.iter().enumerate().take(64) {
            let bit = 1u64 << c;
            let kind = match plan.read {
                ColumnRead::Skip => &mut p.skipped,
                ColumnRead::Bool(_) => &mut p.bools,
                ColumnRead::Number(_, true) => &mut p.money,
                ColumnRead::Number(_, false) => &mut p.ints,
                ColumnRead::Text(_) => &mut p.texts,
                ColumnRead::Id(_) => &mut p.ids,
                ColumnRead::Enum(_, e) => {
                    p.enum_of[c] = e;
                    &mut p.enums
                }
                ColumnRead::Other(_) => &mut p.other,
            };
            *kind |= bit;
            if plan.ranged && plan.read != ColumnRead::Skip {
                p.ranged |= bit;
            }
            p.field[c] = plan.f;
            p.bounds[c] = ranges.get(c).copied().unwrap_or((none, none));
        }
        p
    }
}

/// One row's cells as [`Layout::read_household`] reads them: the bytes, where each cell ends
/// ([`record::Record::parts_read`]), the bytes between cells, the longest cell read straight.
#[derive(Clone, Copy)]
struct RowCells<'a> {
    all: &'a [u8],
    ends: &'a [usize],
    gap: usize,
    max_cell: usize,
}

impl<'a> RowCells<'a> {
    /// Where cell `c` starts and ends in the row's bytes (`(0, 0)`: after a sheet row's last
    /// cell, empty).
    #[inline(always)]
    fn span(&self, c: usize) -> (usize, usize) {
        match self.ends.get(c) {
            Some(&end) => (if c == 0 { 0 } else { self.ends[c - 1] + self.gap }, end),
            None => (0, 0),
        }
    }
}

/// The columns (of the first 64) whose empty cell's blank stays in its field's cell, once set by
/// the cell loop of [`Layout::read_household`], until the next row is read into the household:
/// nothing else in [`Layout::household_into`] writes the field. Not: a field that is derived
/// (derived when blank), range-checked with a blank that can be out of range (then invalid),
/// written by department matching (a list's evidence, its count and sums, the head's ID
/// number), or read from an alternative column; none in a person export (its households are
/// built whole from the members). A required field without `blank` goes through `set_cell`
/// every time (a problem).
fn blanks_kept(rules: &RuleSet, layout: &Layout) -> u64 {
    if layout.persons.is_some() {
        return 0;
    }
    let kept = |c: usize| {
        let (Some(f), Some(plan)) = (layout.column_field[c], layout.plans.get(c)) else { return false };
        let field = &rules.fields[f as usize];
        let blank = layout.blank_cells.get(f as usize).cloned().flatten();
        let in_range = match blank.as_ref().and_then(Cell::value) {
            Some(Scalar::Num(n)) => rules.fixed_range(f).is_some_and(|(min, max)| min <= *n && *n <= max),
            _ => true,
        };
        let matched = field.department.is_some()
            || rules.matching.head_id == Some(f)
            || rules.departments.iter().any(|d| d.count_field == f || d.sum_fields.contains(&Some(f)));
        plan.read != ColumnRead::Skip
            && plan.blank != BlankRead::SetCell
            && field.derive.is_none()
            && (in_range || (field.min.is_none() && field.max.is_none()))
            && !matched
            && !layout.alt_columns.iter().any(|a| a.1 == f)
    };
    (0..layout.columns.len().min(64)).filter(|&c| kept(c)).fold(0, |m, c| m | 1 << c)
}

/// How the cells of a column are read: the usual spellings of its field's type straight from
/// the bytes (what [`RuleSet::set_cell`] would make of them, without decoding the cell first),
/// anything else through `set_cell`. An empty cell is the field's blank ([`Layout::blank_cells`]).
#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnRead {
    /// A column no field reads.
    Skip,
    /// 是/否.
    Bool(u16),
    /// Digits, with up to two decimals for money (`true`).
    Number(u16, bool),
    /// A text kept as written ([`cell::plain_text`]), written into the household before's text
    /// where that is the same (kept) or as long (its allocation reused).
    Text(u16),
    /// An ID number of the usual form ([`cell::id18`]), written as a text is.
    Id(u16),
    /// One of the values of enum `.1`, as written in the rule file.
    Enum(u16, u16),
    /// Through [`RuleSet::set_cell`].
    Other(u16),
}

impl ColumnRead {
    /// How column cells of field `f` are read (`None`: no field).
    fn of(rules: &RuleSet, f: Option<u16>, max_cell: usize) -> ColumnRead {
        use crate::ruleset::file::FieldType;
        let Some(f) = f else { return ColumnRead::Skip };
        let field = &rules.fields[f as usize];
        match (field.ty, field.enum_id) {
            (FieldType::Bool, _) => ColumnRead::Bool(f),
            (FieldType::Money, _) => ColumnRead::Number(f, true),
            (FieldType::Int, _) => ColumnRead::Number(f, false),
            (FieldType::Text, _) => ColumnRead::Text(f),
            (FieldType::Id, _) => ColumnRead::Id(f),
            // A value that `set_cell` would not be given as it is (a problem of its cell) is not
            // read straight.
            (FieldType::Enum, Some(e))
                if rules.enums[e as usize].values.iter().all(|v| v.len() <= max_cell && clean(v.as_bytes())) =>
            {
                ColumnRead::Enum(f, e)
            }
            _ => ColumnRead::Other(f),
        }
    }
}

/// What an empty cell of a column sets: its field's blank ([`Layout::blank_cells`]), the kinds
/// that are a copy without a look at `blank_cells`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BlankRead {
    /// `Cell::Blank`.
    Blank,
    /// `Cell::BlankAs` of a number.
    Num(crate::value::Num),
    /// `Cell::BlankAs` of 是/否.
    Bool(bool),
    /// `Cell::BlankAs` of an enum value.
    Enum(u16),
    /// The cell of `blank_cells` through [`Cell::set_blank`] (a text).
    Stored,
    /// Through [`RuleSet::set_cell`] (a required field: a problem).
    SetCell,
}

impl BlankRead {
    fn of(blank: Option<&Cell>) -> BlankRead {
        match blank {
            None => BlankRead::SetCell,
            Some(Cell::Blank) => BlankRead::Blank,
            Some(Cell::BlankAs(Scalar::Num(n))) => BlankRead::Num(*n),
            Some(Cell::BlankAs(Scalar::Bool(b))) => BlankRead::Bool(*b),
            Some(Cell::BlankAs(Scalar::Enum(e))) => BlankRead::Enum(*e),
            Some(_) => BlankRead::Stored,
        }
    }

    /// `slot` becomes the blank (`stored`: the cell of `blank_cells`, looked at for
    /// [`BlankRead::Stored`] only), written only where it is not there already. `false`: through
    /// `set_cell`.
    #[inline(always)]
    fn set<'a>(self, slot: &mut Cell, stored: impl FnOnce() -> Option<&'a Cell>) -> bool {
        match self {
            BlankRead::Blank => {
                if !matches!(slot, Cell::Blank) {
                    *slot = Cell::Blank;
                }
            }
            BlankRead::Num(n) => {
                if !matches!(slot, Cell::BlankAs(Scalar::Num(m)) if *m == n) {
                    *slot = Cell::BlankAs(Scalar::Num(n));
                }
            }
            BlankRead::Bool(b) => {
                if !matches!(slot, Cell::BlankAs(Scalar::Bool(c)) if *c == b) {
                    *slot = Cell::BlankAs(Scalar::Bool(b));
                }
            }
            BlankRead::Enum(e) => {
                if !matches!(slot, Cell::BlankAs(Scalar::Enum(d)) if *d == e) {
                    *slot = Cell::BlankAs(Scalar::Enum(e));
                }
            }
            BlankRead::Stored => match stored() {
                Some(blank) => slot.set_blank(blank),
                None => return false,
            },
            BlankRead::SetCell => return false,
        }
        true
    }
}

/// How one column is read, chosen at open: its field (none for [`ColumnRead::Skip`]), how a cell
/// with something in it is read, what an empty one sets.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ColumnPlan {
    f: u16,
    read: ColumnRead,
    blank: BlankRead,
    /// Whether the field has fixed bounds ([`RuleSet::fixed_range`]), which a number read
    /// straight is checked against as it is read ([`Layout::ranges`]).
    ranged: bool,
}

impl ColumnPlan {
    fn of(rules: &RuleSet, f: Option<u16>, max_cell: usize) -> ColumnPlan {
        let read = ColumnRead::of(rules, f, max_cell);
        let blank = f.map_or(BlankRead::SetCell, |f| BlankRead::of(rules.blank_cell(f).as_ref()));
        let ranged = f.is_some_and(|f| rules.fixed_range(f).is_some());
        ColumnPlan { f: f.unwrap_or(0), read, blank, ranged }
    }
}

/// A cell (not empty, not too long) read straight from its bytes into `slot`, as
/// [`RuleSet::set_cell`] reads its text: 是/否, a plain number, a text kept as written, a valid
/// ID number of the usual form, an enum value as written. `false`: none of these (nothing is
/// changed).
#[inline(always)]
fn read_straight(rules: &RuleSet, read: ColumnRead, bytes: &[u8], slot: &mut Cell) -> bool {
    match read {
        ColumnRead::Bool(_) => {
            let yes = bytes == "是".as_bytes();
            if yes || bytes == "否".as_bytes() {
                // (Often what the household before had: no write, no drop of the cell there.)
                if !matches!(slot, Cell::Value(Scalar::Bool(b)) if *b == yes) {
                    *slot = Cell::Value(Scalar::Bool(yes));
                }
                return true;
            }
            false
        }
        ColumnRead::Number(_, money) => match cell::plain_number_inline(bytes, money) {
            Some(n) => {
                // (Mostly a number already, written over without a look at what to drop.)
                match slot {
                    Cell::Value(Scalar::Num(m)) => *m = n,
                    _ => *slot = Cell::Value(Scalar::Num(n)),
                }
                true
            }
            None => false,
        },
        ColumnRead::Text(_) => {
            if matches!(slot, Cell::Value(Scalar::Text(old)) if crate::household::same_text(old.as_bytes(), bytes)) {
                return true;
            }
            match cell::plain_text(bytes) {
                Some(t) => {
                    set_text(slot, t, false);
                    true
                }
                None => false,
            }
        }
        // (Digits and `X`/`x`: ASCII, valid UTF-8.)
        ColumnRead::Id(_) => match cell::id18(bytes).and_then(Result::ok).and_then(|()| cell::ascii_or_cjk(bytes)) {
            Some(t) => {
                // (Digits but the last: only an `x` there to upper-case.)
                set_text(slot, t, bytes.last() == Some(&b'x'));
                true
            }
            None => false,
        },
        // (Compared without a `memcmp` call: enum values are short.)
        ColumnRead::Enum(_, e) => {
            match rules.enums[e as usize].values.iter().position(|v| crate::household::same_text(v.as_bytes(), bytes)) {
                Some(i) => {
                    *slot = Cell::Value(Scalar::Enum(i as u16));
                    true
                }
                None => false,
            }
        }
        ColumnRead::Skip | ColumnRead::Other(_) => false,
    }
}

/// `slot` becomes the text `t` (upper-cased if `upper`), written into the text there when that is
/// as long (no allocation), as [`RuleSet::set_cell`] writes a text.
#[inline]
fn set_text(slot: &mut Cell, t: &str, upper: bool) {
    match slot {
        Cell::Value(Scalar::Text(old)) if old.len() == t.len() => {
            let mut s = String::from(std::mem::take(old));
            s.clear();
            s.push_str(t);
            if upper {
                s.make_ascii_uppercase();
            }
            *old = s.into_boxed_str();
        }
        _ if upper => *slot = Cell::Value(Scalar::Text(t.to_ascii_uppercase().into())),
        _ => *slot = Cell::Value(Scalar::Text(t.into())),
    }
}

/// Whether a file has a column (its own or an alternative) for a department list's evidence.
fn lists_from_columns(rules: &RuleSet, field_col_index: &[Option<usize>]) -> bool {
    rules.fields.iter().enumerate().any(|(f, x)| x.department.is_some() && field_col_index[f].is_some())
}

/// Whether a field with fixed bounds can get a number from elsewhere than its column's cells as
/// read (which [`Layout::read_household`] checks against the bounds): an alternative column, or
/// an absent or blank cell that stands for a value (checked here once, against the bounds, for
/// a blank: in bounds, it passes every time). Then every row is checked after its cells.
fn ranges_unread(rules: &RuleSet, layout: &Layout) -> bool {
    let out = |f: u16, v: Option<&Scalar>| {
        let Some((min, max)) = rules.fixed_range(f) else { return false };
        matches!(v, Some(Scalar::Num(n)) if !(min <= *n && *n <= max))
    };
    layout.alt_columns.iter().any(|a| rules.fixed_range(a.1).is_some())
        || layout.absent_cells.iter().any(|(f, c)| rules.fixed_range(*f).is_some() && c.value().is_some())
        || layout.plans.iter().any(|p| {
            p.ranged && p.read != ColumnRead::Skip && {
                let blank = layout.blank_cells.get(p.f as usize).cloned().flatten();
                out(p.f, blank.as_ref().and_then(Cell::value))
            }
        })
}

/// No NUL and no byte that can start U+FFFD (`EF`): a cell whose text needs no look for either.
#[inline]
fn clean(b: &[u8]) -> bool {
    !b.iter().any(|&c| c == 0 || c == 0xEF)
}

/// A column the rules need that the file lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct AbsentColumn {
    pub field: u16,
    /// The column as reasons name it: the field's header (with its alternatives), or the person
    /// column a member-derived field is computed from.
    pub header: String,
    /// The rule file's `absent` value it stands for; `None`: unknown.
    pub stands_for: Option<String>,
}

/// A ledger opened for reading: its layout and the rows still to read.
pub struct Ledger {
    pub layout: Layout,
    pub reader: RowReader,
}

/// The rows of a ledger still to read, apart from its layout, so that one thread can read while
/// others parse with the layout.
pub struct RowReader {
    path: PathBuf,
    rows: Source,
    /// Rows read while looking for the header, not yet handed out; for a person export, every
    /// household's members, grouped.
    pending: VecDeque<RawRow>,
    /// Parses blocks for [`RowReader::fill`], and its block buffer.
    parser: Option<source::BlockReader>,
    block: Vec<u8>,
}

/// Where the rows after the header come from.
enum Source {
    /// Row by row (a worksheet, a person export).
    Rows(Rows),
    /// A CSV ledger: blocks of whole records, parsed where they are used.
    Blocks(Box<source::Blocks>),
    /// A person export whose households' rows are contiguous: grouped as they stream by, by the
    /// id column; `ahead` holds rows read but not grouped yet.
    Persons { rows: Rows, col: usize, ahead: VecDeque<RawRow> },
    /// Nothing (left) to read.
    Done,
}

impl Source {
    /// A ledger's rows after its header: a CSV ledger's as blocks, parsed where they are assessed.
    fn after_header(rows: Rows, persons: bool) -> Source {
        if persons {
            Source::Rows(rows)
        } else {
            rows.into_blocks().map_or_else(Source::Rows, |b| Source::Blocks(Box::new(b)))
        }
    }
}

/// What [`RowReader::next_work`] handed out.
pub enum Work {
    /// Rows, in `rows`.
    Rows,
    /// A block of CSV text, in `block`, starting on this line: parse it with
    /// [`BlockParser::parse`].
    Block(u64),
    /// Nothing left.
    End,
}

impl RowReader {
    /// Refill `batch` with `n` data rows (a CSV ledger: whole blocks, so a few more), reusing the
    /// rows' buffers; fewer only at the end.
    /// A record that cannot be read at all (bad quoting) comes back as a row with an error, so
    /// that it is reported and counted.
    pub fn fill(&mut self, batch: &mut Vec<RawRow>, n: usize) -> Result<(), InputError> {
        let mut k = 0;
        while k < n {
            if k == batch.len() {
                batch.push(RawRow::default());
            }
            if let Some(r) = self.pending.pop_front() {
                batch[k] = r;
                k += 1;
                continue;
            }
            match &mut self.rows {
                Source::Rows(rows) => match rows.read_into(&self.path, &mut batch[k]) {
                    Some(Ok(())) => k += 1,
                    Some(Err(e)) => return Err(e),
                    None => break,
                },
                Source::Persons { rows, col, ahead } => match next_group(rows, *col, ahead, &self.path) {
                    Some(Ok(g)) => {
                        batch[k] = g;
                        k += 1;
                    }
                    Some(Err(e)) => return Err(e),
                    None => break,
                },
                Source::Done => break,
                // Whole blocks, parsed straight into the batch (which may so get a few more than
                // `n` rows).
                Source::Blocks(blocks) => {
                    let block = &mut self.block;
                    let Some(line) = blocks.next(block)? else { break };
                    let parser = self.parser.get_or_insert_with(|| blocks.reader());
                    k = parser.parse_at(block, line, &self.path, batch, k)?;
                }
            }
        }
        batch.truncate(k);
        Ok(())
    }

    /// The next piece of work for the pipeline: up to `n` rows into `rows`, or, for a CSV ledger
    /// once the rows read with the header are handed out, a block of text into `block` (both
    /// buffers reused), to be parsed by whoever assesses it.
    pub fn next_work(&mut self, rows: &mut Vec<RawRow>, block: &mut Vec<u8>, n: usize) -> Result<Work, InputError> {
        if let (Source::Blocks(blocks), true) = (&mut self.rows, self.pending.is_empty()) {
            return Ok(match blocks.next(block)? {
                Some(line) => Work::Block(line),
                None => Work::End,
            });
        }
        // A CSV ledger's rows read with the header go out on their own, before its blocks.
        let k = if matches!(self.rows, Source::Blocks(_)) { n.min(self.pending.len()) } else { n };
        self.fill(rows, k)?;
        Ok(if rows.is_empty() { Work::End } else { Work::Rows })
    }

    /// The rows whose row numbers are in `wanted` (sorted), in order, each handed to `f`. A CSV
    /// ledger parses only those rows' lines in its blocks that have no `"` (the others whole),
    /// and skips blocks with none of them.
    pub fn each_row_in(&mut self, wanted: &[u64], f: &mut dyn FnMut(&RawRow)) -> Result<(), InputError> {
        let want = |row: u64| wanted.binary_search(&row).is_ok();
        for r in std::mem::take(&mut self.pending) {
            if want(r.row) {
                f(&r);
            }
        }
        let path = &self.path;
        match &mut self.rows {
            Source::Rows(rows) => {
                let mut raw = RawRow::default();
                while let Some(read) = rows.read_into(path, &mut raw) {
                    read?;
                    if want(raw.row) {
                        f(&raw);
                    }
                }
            }
            Source::Persons { rows, col, ahead } => {
                while let Some(g) = next_group(rows, *col, ahead, path) {
                    let g = g?;
                    if want(g.row) {
                        f(&g);
                    }
                }
            }
            Source::Done => {}
            Source::Blocks(blocks) => {
                let parser = self.parser.get_or_insert_with(|| blocks.reader());
                let (block, mut rows, mut one) = (&mut self.block, Vec::new(), Vec::new());
                while let Some(first) = blocks.next(block)? {
                    // Rows numbered first..=last start in this block (the last only when the
                    // block does not end with a line break: the end of the file).
                    let last = blocks.line() - u64::from(block.last() == Some(&b'\n'));
                    let lo = wanted.partition_point(|&r| r < first);
                    let hi = wanted.partition_point(|&r| r <= last);
                    if lo == hi {
                        continue;
                    }
                    if memchr::memchr(b'"', block).is_some() {
                        parser.parse(block, first, path, &mut rows)?;
                        rows.iter().filter(|r| want(r.row)).for_each(&mut *f);
                        continue;
                    }
                    // Quote-free: every line that is not empty is a record, numbered by its line.
                    let mut targets = wanted[lo..hi].iter().copied().peekable();
                    let (mut line, mut start) = (first, 0);
                    for end in memchr::memchr_iter(b'\n', block).chain([block.len()]) {
                        if targets.peek() == Some(&line) {
                            targets.next();
                            if start < end {
                                one.clear();
                                one.extend_from_slice(&block[start..(end + 1).min(block.len())]);
                                parser.parse(&one, line, path, &mut rows)?;
                                rows.iter().for_each(&mut *f);
                            }
                        }
                        if targets.peek().is_none() {
                            break;
                        }
                        line += 1;
                        start = end + 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// What parses the blocks that [`RowReader::next_work`] hands out (on any thread).
    pub fn block_parser(&self) -> BlockParser {
        let (delimiter, limits) = match &self.rows {
            Source::Blocks(b) => (b.delimiter, b.limits),
            _ => (b',', source::Limits::default()),
        };
        BlockParser { path: self.path.clone(), delimiter, limits }
    }
}

/// Parses blocks of a CSV ledger's text into rows (one per thread: [`BlockParser::reader`]).
pub struct BlockParser {
    path: PathBuf,
    delimiter: u8,
    limits: source::Limits,
}

impl BlockParser {
    pub fn reader(&self) -> source::BlockReader {
        source::BlockReader::new(self.delimiter, &self.limits)
    }
    /// A block handed out by [`RowReader::next_work`] into `rows` (their buffers reused).
    pub fn parse(
        &self,
        reader: &mut source::BlockReader,
        block: &[u8],
        line: u64,
        rows: &mut Vec<RawRow>,
    ) -> Result<(), InputError> {
        reader.parse(block, line, &self.path, rows)
    }

    /// As [`BlockParser::parse`], each row handed to `each` as soon as it is read, in `rows[0]`
    /// (reused: no row kept per record); how many rows.
    pub fn parse_each(
        &self,
        reader: &mut source::BlockReader,
        block: &[u8],
        line: u64,
        rows: &mut Vec<RawRow>,
        each: &mut dyn FnMut(&RawRow),
    ) -> Result<usize, InputError> {
        reader.parse_each(block, line, &self.path, rows, each)
    }
}

/// How many rows are looked at to find the header (exports put one to three title rows above).
const HEADER_SEARCH: usize = 10;

/// Decode a cell: UTF-8 (GBK files are already transcoded); invalid bytes become U+FFFD and the
/// caller reports a problem.
pub(crate) fn text(b: &[u8]) -> (std::borrow::Cow<'_, str>, bool) {
    match std::str::from_utf8(b) {
        Ok(s) => (s.into(), true),
        Err(_) => (String::from_utf8_lossy(b), false),
    }
}

fn header_lookup(rules: &RuleSet) -> HashMap<String, u16> {
    let mut lookup: HashMap<String, u16> = HashMap::new();
    for (i, f) in rules.fields.iter().enumerate().filter(|(_, f)| f.department.is_none()) {
        for h in std::iter::once(&f.header).chain(&f.aliases).chain(std::iter::once(&f.key)) {
            lookup.entry(header_key(h)).or_insert(i as u16);
        }
    }
    lookup
}

impl Ledger {
    /// Open a ledger and map its header row onto the rule set's fields (a field without a column
    /// of its own is read from the first of its alternatives the file has). Fails before any row
    /// is handed out if there is no household-id column, or, with `strict`, if a field the rules
    /// need has no column; otherwise such fields are listed in `layout.absent` (unknown for every
    /// household, or the rule file's `absent` value).
    pub fn open(path: &Path, rules: &RuleSet, options: &OpenOptions) -> Result<Ledger, InputError> {
        let p = crate::value::shown_path(path);
        let (mut rows, kind) = source::open(path, options)?;
        let lookup = header_lookup(rules);
        let (pending, header, detected) = find_header(&mut rows, path, rules, &lookup, options)?;
        let columns: Vec<String> =
            header.record.iter().map(|c| text(c).0.trim_matches('\u{feff}').trim().to_string()).collect();
        // Member fields: read from any column of a person export (a household field of the same
        // header reads it in a ledger: 证件号码 is the head's there, each member's here).
        let member_columns = member_columns(rules, &columns);
        let persons = PersonColumns::find(rules, &member_columns, options.persons);
        let (column_field, mut field_col_index, mut unmapped) =
            map_columns(&columns, persons.as_ref(), &lookup, rules, &p)?;
        let alt_columns = alternative_columns(rules, &columns, &column_field, persons.as_ref(), &mut field_col_index);
        unmapped.retain(|h| !alt_columns.iter().any(|&(c, _, _)| columns[c] == *h));
        let member_inputs = if persons.is_some() { persons::member_inputs(rules, &member_columns) } else { Vec::new() };
        if persons.is_some() {
            unmapped.retain(|h| !member_columns.iter().flatten().any(|&c| columns[c] == *h));
        }
        let id_field = rules.field_index["household_id"];
        if field_col_index[id_field as usize].is_none() {
            return Err(InputError::NoId {
                path: p,
                found: format!("第 {} 行：{}", header.row, column_list(&columns)),
            });
        }
        let (absent, absent_cells) = absent_columns(rules, &field_col_index, persons.is_some(), &member_inputs);
        let absent_members =
            if persons.is_some() { persons::absent_member_columns(rules, &member_columns) } else { Vec::new() };
        if options.strict && !(absent.is_empty() && absent_members.is_empty()) {
            let message = strict_message(rules, (&absent, &absent_members), header.row, &columns);
            return Err(InputError::Header { path: p, message });
        }
        let field_column = field_col_index.iter().map(|c| c.map(|c| columns[c].clone())).collect();
        let unset_fields = unset_fields(rules.fields.len(), &column_field, &alt_columns, &absent_cells);
        let layout = Layout {
            plans: column_field.iter().map(|&f| ColumnPlan::of(rules, f, options.limits.max_cell_bytes)).collect(),
            absent_reset: AbsentReset::of(rules, &absent_cells, &alt_columns, persons.is_some()),
            path: path.to_path_buf(),
            options: options.clone(),
            kind,
            columns,
            column_field,
            field_column,
            lists_from_columns: lists_from_columns(rules, &field_col_index),
            needs: None,
            field_col_index,
            unmapped,
            header_row: header.row,
            header_detected: detected,
            persons,
            member_columns,
            member_inputs,
            id_field,
            alt_columns,
            absent,
            absent_members,
            unset_fields,
            absent_cells,
            blank_cells: (0..rules.fields.len() as u16).map(|f| rules.blank_cell(f)).collect(),
            matcher: None,
            ranges_unread: true,
            ranges: Vec::new(),
            kept: Kept::default(),
            passes: Box::new(Passes::of(&[], &[])),
        }
        .with_ranges(rules);
        let rows = Source::after_header(rows, layout.persons.is_some());
        let mut ledger = Ledger {
            layout,
            reader: RowReader { path: path.to_path_buf(), rows, pending, parser: None, block: Vec::new() },
        };
        if ledger.layout.persons.is_some() {
            ledger.group_members()?;
        }
        Ok(ledger)
    }

    /// Person export: group members by household id, households in order of their first member.
    /// Rows without an id are kept as households of their own (reported). When every household's
    /// rows are contiguous (a first pass over the ids says so), households are grouped as they
    /// stream by; otherwise every row is read and held first.
    fn group_members(&mut self) -> Result<(), InputError> {
        let col = self.layout.field_col_index[self.layout.id_field as usize].expect("checked at open");
        if let Source::Rows(rows) = &mut self.reader.rows {
            // A workbook is let go while the file is read again.
            rows.suspend();
        }
        if contiguous(&self.layout, col)? {
            let Source::Rows(rows) = std::mem::replace(&mut self.reader.rows, Source::Done) else {
                unreachable!("a person export is read row by row")
            };
            let ahead = std::mem::take(&mut self.reader.pending);
            self.reader.rows = Source::Persons { rows, col, ahead };
            return Ok(());
        }
        let mut groups: Vec<Vec<RawRow>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut rows: Vec<RawRow> = self.reader.pending.drain(..).collect();
        let Source::Rows(source) = &mut self.reader.rows else { unreachable!("a person export is read row by row") };
        while let Some(r) = source.next_row(&self.layout.path) {
            rows.push(r?);
        }
        for r in rows {
            match self.layout.id_of(&r).filter(|id| !id.is_empty()) {
                Some(id) => match index.get(&id) {
                    Some(&g) => groups[g].push(r),
                    None => {
                        index.insert(id, groups.len());
                        groups.push(vec![r]);
                    }
                },
                None => groups.push(vec![r]),
            }
        }
        self.reader.pending = groups
            .into_iter()
            .map(|members| RawRow { row: members[0].row, record: members[0].record.clone(), members })
            .collect();
        Ok(())
    }

    /// Read up to `n` data rows (see [`RowReader::fill`]).
    pub fn next_batch(&mut self, n: usize) -> Result<Vec<RawRow>, InputError> {
        let mut out = Vec::with_capacity(n);
        self.reader.fill(&mut out, n)?;
        Ok(out)
    }
}

/// Read the first rows and pick the header among them: `--header-row`, or the row with most
/// known headers (alternative columns' too), or the first non-blank row. The rows before and
/// after it that were read, the header, and whether it was found below title rows.
fn find_header(
    rows: &mut source::Rows,
    path: &Path,
    rules: &RuleSet,
    lookup: &HashMap<String, u16>,
    options: &OpenOptions,
) -> Result<(VecDeque<RawRow>, RawRow, bool), InputError> {
    let p = crate::value::shown_path(path);
    // Alternative columns are known headers too (an export may have more of them than of the
    // fields' own).
    let alternative: HashSet<String> = rules
        .fields
        .iter()
        .flat_map(|f| f.alternatives.iter().flat_map(|a| std::iter::once(&a.header).chain(&a.aliases)))
        .map(|h| header_key(h))
        .collect();
    let known = |k: &String| lookup.contains_key(k) || alternative.contains(k);
    let score = |r: &RawRow| r.record.iter().filter(|c| known(&header_key(&text(c).0))).count();
    // Read the first rows; pick the header among them.
    let mut pending: VecDeque<RawRow> = VecDeque::new();
    let blank = |r: &RawRow| r.record.iter().all(|c| cell::is_blank(&text(c).0));
    // Blank rows are kept: above the header they go with the title rows; below it they are
    // rows like any other, as they would be after the first ten (every row is accounted for).
    let mut nonblank = 0;
    while nonblank < HEADER_SEARCH {
        match rows.next_row(path) {
            Some(r) => {
                let r = r?;
                if !blank(&r) {
                    nonblank += 1;
                }
                pending.push_back(r);
            }
            None => break,
        }
    }
    let candidates: Vec<usize> = (0..pending.len()).filter(|&i| !blank(&pending[i])).collect();
    let Some(&first) = candidates.first() else {
        return Err(InputError::Unreadable { path: p, message: "文件中没有内容（没有表头行）".into() });
    };
    let (at, detected) = match options.header_row {
        Some(n) => {
            let at = candidates.iter().copied().find(|&i| pending[i].row == n).ok_or_else(|| InputError::Header {
                path: p.clone(),
                message: format!("--header-row {n}：前 {HEADER_SEARCH} 个非空行中没有第 {n} 行"),
            })?;
            (at, false)
        }
        None => {
            // The row with most known headers; the first such row wins a tie.
            let best =
                candidates.iter().copied().max_by_key(|&i| (score(&pending[i]), std::cmp::Reverse(i))).unwrap_or(first);
            if score(&pending[best]) >= 2 {
                (best, best > first)
            } else {
                (first, false)
            }
        }
    };
    let header = pending.drain(..=at).next_back().expect("at is in range");
    Ok((pending, header, detected))
}

/// Each column's field, each field's column, the headers no field reads.
type ColumnMap = (Vec<Option<u16>>, Vec<Option<usize>>, Vec<String>);

/// Which field each column is (none for a person column or an unknown header), which column each
/// field is, and the headers no field reads; two columns of one field are an error.
fn map_columns(
    columns: &[String],
    persons: Option<&PersonColumns>,
    lookup: &HashMap<String, u16>,
    rules: &RuleSet,
    p: &str,
) -> Result<ColumnMap, InputError> {
    let mut column_field = Vec::with_capacity(columns.len());
    let mut field_col_index: Vec<Option<usize>> = vec![None; rules.fields.len()];
    let mut unmapped = Vec::new();
    for (c, h) in columns.iter().enumerate() {
        if persons.as_ref().is_some_and(|p| p.is_person_column(c)) {
            column_field.push(None);
            continue;
        }
        let f = lookup.get(&header_key(h)).copied();
        if let Some(f) = f {
            if let Some(prev) = field_col_index[f as usize] {
                return Err(InputError::Header {
                    path: p.to_string(),
                    message: format!(
                        "第 {} 列“{}”和第 {} 列“{}”都对应字段 {}（{}）：请删除或改名其中一列",
                        prev + 1,
                        clip(&columns[prev], 40),
                        c + 1,
                        clip(h, 40),
                        rules.fields[f as usize].key,
                        rules.fields[f as usize].label
                    ),
                });
            }
            field_col_index[f as usize] = Some(c);
        } else if !h.is_empty() {
            unmapped.push(h.clone());
        }
        column_field.push(f);
    }
    Ok((column_field, field_col_index, unmapped))
}

/// Alternative sources: a field without a column of its own is read from the first of its
/// alternatives the file has (a column that no field reads as its own); `(column, field,
/// alternative)` each.
/// The fields that no cell of a row sets: not mapped from a column or an alternative column, not
/// absent (derived fields).
fn unset_fields(
    fields: usize,
    column_field: &[Option<u16>],
    alt_columns: &[(usize, u16, u16)],
    absent_cells: &[(u16, Cell)],
) -> Vec<u16> {
    (0..fields as u16)
        .filter(|f| !column_field.contains(&Some(*f)))
        .filter(|f| !alt_columns.iter().any(|&(_, g, _)| g == *f))
        .filter(|f| !absent_cells.iter().any(|(g, _)| g == f))
        .collect()
}

/// The absent cells (of [`Layout::absent_cells`]) that reading a household may change after they
/// are set, so that they are put back before each row.
struct AbsentReset {
    /// A field that is derived, range-checked or read from an alternative column (all of them in
    /// a person export, whose households are built from the members).
    always: Vec<(u16, Cell)>,
    /// The others that department matching writes (a list's evidence, its count and sums, the
    /// head's ID number): put back when lists are matched ([`Layout::matcher`]) or read from
    /// columns.
    matched: Vec<(u16, Cell)>,
}

impl AbsentReset {
    fn of(
        rules: &RuleSet,
        absent_cells: &[(u16, Cell)],
        alt_columns: &[(usize, u16, u16)],
        persons: bool,
    ) -> AbsentReset {
        let changed = |f: u16| {
            let field = &rules.fields[f as usize];
            persons
                || field.derive.is_some()
                || field.min.is_some()
                || field.max.is_some()
                || alt_columns.iter().any(|a| a.1 == f)
        };
        let matched = |f: u16| {
            rules.fields[f as usize].department.is_some()
                || rules.matching.head_id == Some(f)
                || rules.departments.iter().any(|d| d.count_field == f || d.sum_fields.contains(&Some(f)))
        };
        let pick = |keep: &dyn Fn(u16) -> bool| absent_cells.iter().filter(|(f, _)| keep(*f)).cloned().collect();
        AbsentReset { always: pick(&changed), matched: pick(&|f| !changed(f) && matched(f)) }
    }

    fn retain(&mut self, kept: impl Fn(u16) -> bool) {
        self.always.retain(|a| kept(a.0));
        self.matched.retain(|a| kept(a.0));
    }
}

fn alternative_columns(
    rules: &RuleSet,
    columns: &[String],
    column_field: &[Option<u16>],
    persons: Option<&PersonColumns>,
    field_col_index: &mut [Option<usize>],
) -> Vec<(usize, u16, u16)> {
    let mut alt_columns = Vec::new();
    for (f, field) in rules.fields.iter().enumerate() {
        if field_col_index[f].is_some() {
            continue;
        }
        let found = field.alternatives.iter().enumerate().find_map(|(k, a)| {
            let keys: Vec<String> = std::iter::once(&a.header).chain(&a.aliases).map(|h| header_key(h)).collect();
            let free = |c: usize| column_field[c].is_none() && !persons.as_ref().is_some_and(|p| p.is_person_column(c));
            (0..columns.len()).find(|&c| free(c) && keys.contains(&header_key(&columns[c]))).map(|c| (c, k))
        });
        if let Some((c, k)) = found {
            alt_columns.push((c, f as u16, k as u16));
            field_col_index[f] = Some(c);
        }
    }
    alt_columns
}

/// The column of each member field (`[persons.*]`), by its header or aliases.
fn member_columns(rules: &RuleSet, columns: &[String]) -> Vec<Option<usize>> {
    rules
        .persons
        .iter()
        .map(|f| {
            let keys: Vec<String> = std::iter::once(&f.header).chain(&f.aliases).map(|h| header_key(h)).collect();
            // A department list's evidence has no column: matching fills it.
            let own = f.department.is_none();
            (0..columns.len()).find(|&c| own && keys.contains(&header_key(&columns[c])))
        })
        .collect()
}

impl Layout {
    /// The layout with its fields' fixed bounds ([`Layout::ranges`], [`Layout::ranges_unread`]),
    /// the blanks kept between rows and its id ([`Layout::kept`]).
    fn with_ranges(mut self, rules: &RuleSet) -> Layout {
        self.ranges_unread = ranges_unread(rules, &self);
        let (min, max) = (crate::value::Num(i64::MIN), crate::value::Num(i64::MAX));
        self.ranges =
            self.column_field.iter().map(|f| f.and_then(|f| rules.fixed_range(f)).unwrap_or((min, max))).collect();
        static LAYOUTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let layout = LAYOUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.kept = Kept { layout, columns: blanks_kept(rules, &self) };
        *self.passes = Passes::of(&self.plans, &self.ranges);
        self
    }

    /// Turn one raw row into a household: every cell parsed, problems recorded.
    pub fn household(&self, b: &Bound, raw: &RawRow, dups: &Duplicates) -> Household {
        let mut hh = Household::default();
        self.household_into(b, raw, dups, &mut hh);
        hh
    }

    /// As [`Layout::household`], into a household whose buffers are reused (a new one, or the
    /// one this layout read last: the cells of absent columns are kept from it); then matched
    /// with the department lists given (`--with`).
    pub fn household_into(&self, b: &Bound, raw: &RawRow, dups: &Duplicates, hh: &mut Household) {
        self.read_household(b, raw, dups, hh);
        if let Some(m) = &self.matcher {
            self.compare(m, b.rules, raw, hh);
        }
    }

    /// Match `hh` with the department lists: every member of a person export (by the member ID
    /// field of `[matching]`), the head of a ledger row (its head ID field).
    fn compare(&self, m: &crate::matching::Matcher, rules: &RuleSet, raw: &RawRow, hh: &mut Household) {
        let member_col = rules.matching.member_id.and_then(|i| self.member_columns.get(i as usize).copied().flatten());
        match (&self.persons, member_col) {
            (Some(_), Some(c)) if !raw.members.is_empty() => {
                let ids = |k: usize| {
                    let m = &raw.members[k];
                    (m.record.get(c).and_then(|b| std::str::from_utf8(b).ok()), m.row)
                };
                m.fill(rules, hh, raw.members.len(), false, ids);
            }
            _ => m.fill_head(rules, hh),
        }
    }

    fn read_household(&self, b: &Bound, raw: &RawRow, dups: &Duplicates, hh: &mut Household) {
        let rules = b.rules;
        if let (Some(cols), false) = (&self.persons, raw.members.is_empty()) {
            *hh = self.household_of_members(b, raw, cols, dups);
            return;
        }
        self.reset_cells(rules, raw, hh);
        self.row_problems(raw, hh);
        // Longer cells are data problems (no real ledger cell comes close).
        let max_cell = self.options.limits.max_cell_bytes;
        // The row as text, checked when a cell first needs its text (`Some(None)`: not valid as
        // a whole, or with a NUL or an `EF` byte somewhere: each such cell is checked alone).
        let mut whole: Option<Option<&str>> = None;
        // The cells in order, up to the shorter of the row and the header: each cut from the
        // row's bytes where the one before ended (no iterator state per cell). A sheet row's
        // cells after its last value are empty cells, read as the ones before them.
        let (all, ends, gap) = raw.record.parts_read();
        let sheet = matches!(self.kind, Kind::Sheet { .. });
        let n = if sheet { self.plans.len() } else { ends.len().min(self.plans.len()) };
        // Whether a field with fixed bounds may hold a number out of them (see `ranges_unread`):
        // a cell not read straight, a short CSV line (its missing cells set after these).
        let mut unchecked = self.ranges_unread || (!sheet && ends.len() < self.columns.len());
        // The cells read through `set_cell` (or found to be a problem): (column, start, end),
        // after the others, in column order. Each field has one column, and these calls touch
        // their field's cell and the problems only, so the household comes out as if read in
        // one pass; the loop below then holds the cells alone, with no call that could change
        // the household's other parts. (Allocated only for a row that has such a cell.)
        let mut slow: Vec<(usize, usize, usize)> = Vec::new();
        // The cells to look at: every cell but the empty ones whose blank the row before left in
        // its field's cell ([`Kept`]); the empty cells among the first 64 found first, in a loop
        // of their own.
        let row = RowCells { all, ends, gap, max_cell };
        let empty = if n == 0 { 0 } else { empty_cells(ends, gap) | !low_bits(ends.len()) };
        let kept = if hh.kept.layout == self.kept.layout { hh.kept.columns & low_bits(n) } else { 0 };
        let skipped = kept & empty;
        #[cfg(debug_assertions)]
        self.assert_kept(skipped, &hh.cells);
        // (Then, bit `c`: the empty cells of column `c` whose field's blank is in its cell.)
        let mut fresh = skipped;
        let cells = &mut hh.cells[..];
        // (Nor the columns read as `Skip`.)
        let p = &*self.passes;
        let todo = !skipped & !p.skipped & low_bits(n);
        for c in Bits(todo & empty) {
            // Most empty cells: the field's blank, often already there from the household before.
            let f = p.field[c & 63];
            let Some(slot) = cells.get_mut(f as usize) else { continue };
            let stored = || self.blank_cells.get(f as usize).and_then(Option::as_ref);
            if self.plans.get(c).is_some_and(|plan| plan.blank.set(slot, stored)) {
                fresh |= 1 << c;
            } else {
                let (start, end) = row.span(c);
                slow.push((c, start, end));
                unchecked |= p.ranged >> c & 1 != 0;
            }
        }
        // The cells with something in them, a pass a kind of column (each reading a cell as
        // [`read_straight`] does), then those that go through `set_cell` whatever they hold.
        let full = todo & !empty;
        let (slow_, unchecked_) = (&mut slow, &mut unchecked);
        self.read_pass(rules, row, full & p.bools, |_| ColumnRead::Bool(0), cells, slow_, unchecked_);
        self.read_pass(rules, row, full & p.money, |_| ColumnRead::Number(0, true), cells, slow_, unchecked_);
        self.read_pass(rules, row, full & p.ints, |_| ColumnRead::Number(0, false), cells, slow_, unchecked_);
        self.read_pass(rules, row, full & p.texts, |_| ColumnRead::Text(0), cells, slow_, unchecked_);
        self.read_pass(rules, row, full & p.ids, |_| ColumnRead::Id(0), cells, slow_, unchecked_);
        self.read_pass(rules, row, full & p.enums, |c| ColumnRead::Enum(0, p.enum_of[c]), cells, slow_, unchecked_);
        for c in Bits(full & p.other) {
            let (start, end) = row.span(c);
            slow.push((c, start, end));
            unchecked |= p.ranged >> c & 1 != 0;
        }
        // The columns after the first 64.
        self.read_wide(rules, row, n, cells, &mut slow, &mut unchecked);
        // (In column order, as one loop over the columns would have found them.)
        slow.sort_unstable_by_key(|s| s.0);
        hh.kept = Kept { layout: self.kept.layout, columns: fresh & self.kept.columns };
        for (c, start, end) in slow {
            let f = self.plans[c].f;
            if start == end {
                rules.set_cell(hh, f, "", &self.columns[c]);
                continue;
            }
            let whole = *whole.get_or_insert_with(|| {
                memchr::memchr2(0, 0xEF, all).is_none().then(|| simdutf8::basic::from_utf8(all).ok()).flatten()
            });
            // A cell between two character boundaries of a valid row is valid.
            match whole.and_then(|w| w.get(start..end)).filter(|t| t.len() <= max_cell) {
                Some(t) => rules.set_cell(hh, f, t, &self.columns[c]),
                None => self.read_cell(rules, raw.row, c, f, &all[start..end], hh),
            }
        }
        self.finish_row(b, raw, dups, hh, unchecked);
    }

    /// The cells of columns 64 to `width`, in one loop over every kind of column, each read as
    /// [`read_straight`] reads it; a cell not read straight into `slow`.
    fn read_wide(
        &self,
        rules: &RuleSet,
        row: RowCells<'_>,
        width: usize,
        cells: &mut [Cell],
        slow: &mut Vec<(usize, usize, usize)>,
        unchecked: &mut bool,
    ) {
        for c in 64..width {
            let plan = &self.plans[c];
            let (start, end) = row.span(c);
            let Some(bytes) = row.all.get(start..end) else { break };
            if plan.read == ColumnRead::Skip {
                continue;
            }
            let f = plan.f;
            let Some(slot) = cells.get_mut(f as usize) else { continue };
            if bytes.is_empty() {
                if !plan.blank.set(slot, || self.blank_cells.get(f as usize).and_then(Option::as_ref)) {
                    slow.push((c, start, end));
                    *unchecked |= plan.ranged;
                }
                continue;
            }
            if bytes.len() <= row.max_cell && read_straight(rules, plan.read, bytes, slot) {
                if plan.ranged {
                    *unchecked |= match (self.ranges.get(c), &*slot) {
                        (Some(&(min, max)), Cell::Value(Scalar::Num(n))) => !(min <= *n && *n <= max),
                        (Some(_), _) => false,
                        (None, _) => true,
                    };
                }
                continue;
            }
            // (Not read straight: the cell is as it was.)
            slow.push((c, start, end));
            *unchecked |= plan.ranged;
        }
    }

    /// The cells of columns `cols` (among the first 64, none empty), each read as `read` gives
    /// for its column, as [`read_straight`] reads it: a number checked against its field's fixed
    /// bounds (`unchecked` when out of them); a cell not read straight into `slow`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn read_pass(
        &self,
        rules: &RuleSet,
        row: RowCells<'_>,
        cols: u64,
        read: impl Fn(usize) -> ColumnRead,
        cells: &mut [Cell],
        slow: &mut Vec<(usize, usize, usize)>,
        unchecked: &mut bool,
    ) {
        let p = &*self.passes;
        for c in Bits(cols) {
            let c = c & 63;
            let (start, end) = row.span(c);
            let Some(bytes) = row.all.get(start..end) else { continue };
            let Some(slot) = cells.get_mut(p.field[c] as usize) else { continue };
            if bytes.len() <= row.max_cell && read_straight(rules, read(c), bytes, slot) {
                if p.ranged >> c & 1 != 0 {
                    if let Cell::Value(Scalar::Num(n)) = slot {
                        let (min, max) = p.bounds[c];
                        *unchecked |= !(min <= *n && *n <= max);
                    }
                }
                continue;
            }
            // (Not read straight: the cell is as it was.)
            slow.push((c, start, end));
            *unchecked |= p.ranged >> c & 1 != 0;
        }
    }

    /// (Debug builds.) The empty cells skipped as [`Kept`] (bit `c`: column `c`): their fields'
    /// cells are what the cell loop would set.
    #[cfg(debug_assertions)]
    fn assert_kept(&self, skipped: u64, cells: &[Cell]) {
        for (c, plan) in self.plans.iter().enumerate().take(64).filter(|(c, _)| skipped >> c & 1 != 0) {
            let cell = &cells[plan.f as usize];
            let mut set = cell.clone();
            let stored = || self.blank_cells.get(plan.f as usize).and_then(Option::as_ref);
            assert!(plan.blank.set(&mut set, stored) && set == *cell, "kept blank changed: column {c} {cell:?}");
        }
    }

    /// Cell `c` of row `row` (field `f`) through [`RuleSet::set_cell`], or, when it is not
    /// valid UTF-8, holds a NUL or U+FFFD (a GBK decoding failure) or is too long, a problem.
    fn read_cell(&self, rules: &RuleSet, row: u64, c: usize, f: u16, bytes: &[u8], hh: &mut Household) {
        let max_cell = self.options.limits.max_cell_bytes;
        if let Ok(t) = std::str::from_utf8(bytes) {
            if t.len() <= max_cell && clean(bytes) {
                return rules.set_cell(hh, f, t, &self.columns[c]);
            }
        }
        let (t, valid) = text(bytes);
        let (mut ef, mut nul) = (false, false);
        for &b in bytes {
            ef |= b == 0xEF;
            nul |= b == 0;
        }
        let bad = if !valid || (ef && t.contains('\u{FFFD}')) {
            Some("含有无效的字符编码（不是完整的 UTF-8/GBK 文本）".to_string())
        } else if nul {
            Some("含有 NUL（\\0）字符".to_string())
        } else if t.len() > max_cell {
            Some(format!("单元格过长（{} 字节，超过上限 {max_cell} 字节；可用 --max-cell-bytes 调整）", t.len()))
        } else {
            None
        };
        let Some(message) = bad else { return rules.set_cell(hh, f, &t, &self.columns[c]) };
        let shown = clip(&t.replace('\0', "\\0"), 100);
        hh.problems.push(Problem {
            row,
            column: self.columns[c].clone(),
            field: Some(rules.fields[f as usize].key.clone()),
            value: shown.clone(),
            message,
        });
        hh.cells[f as usize] = Cell::Invalid(shown.into());
    }

    /// Start household `hh` (the one before, or new) as row `raw`: cells blank, the absent
    /// columns' cells set.
    #[inline]
    fn reset_cells(&self, rules: &RuleSet, raw: &RawRow, hh: &mut Household) {
        hh.row = raw.row;
        hh.source_rows = 1;
        if hh.cells.len() == rules.fields.len() {
            // The cells of absent columns stay from the household before (same file: same cells),
            // and so do the cells of present columns, which every row sets again (below: a short
            // row's missing cells are set blank; a repeated text is not allocated again). The
            // rest (derived fields) start blank.
            for &f in &self.unset_fields {
                let c = &mut hh.cells[f as usize];
                if !matches!(c, Cell::Blank | Cell::Value(Scalar::Text(_)) | Cell::BlankAs(Scalar::Text(_))) {
                    *c = Cell::Blank;
                }
            }
        } else {
            hh.cells.clear();
            hh.cells.resize(rules.fields.len(), Cell::Blank);
            hh.kept = Kept::default();
            for (f, c) in &self.absent_cells {
                hh.cells[*f as usize] = c.clone();
            }
        }
        // The absent cells that stay as set (nothing of a household changes them) are not looked
        // at again.
        let reset = &self.absent_reset;
        let matched = if self.matcher.is_some() || self.lists_from_columns { &reset.matched[..] } else { &[] };
        for (f, c) in reset.always.iter().chain(matched) {
            let cell = &mut hh.cells[*f as usize];
            // Only where the household before changed it (a derived value) or left another cell;
            // the usual unknown compared inline.
            let same = match (&*cell, c) {
                (Cell::Absent(a), Cell::Absent(b)) => a == b,
                _ => cell == c,
            };
            if !same {
                *cell = c.clone();
            }
        }
    }

    /// The problems of a row as a whole: more or fewer cells than the header (a
    /// sheet row holds its cells up to the last one with a value: one that ends early is not
    /// short, as a CSV line with fewer delimiters is).
    #[inline]
    fn row_problems(&self, raw: &RawRow, hh: &mut Household) {
        let sheet = matches!(self.kind, Kind::Sheet { .. });
        hh.problems.clear();
        let (width, got) = (self.columns.len(), raw.record.len());
        if got != width && !(sheet && got < width) {
            let open_quote = got < width && raw.record.iter().next_back().is_some_and(|c| c.contains(&b'\n'));
            let message = if open_quote {
                format!("本行只有 {got} 列，表头有 {width} 列，且最后一格跨越多行：可能有未闭合的引号（\"）；缺少的列按空白处理")
            } else if got < width {
                format!("本行只有 {got} 列，表头有 {width} 列：缺少的列按空白处理")
            } else {
                format!("本行有 {got} 列，表头只有 {width} 列：多出的列已忽略")
            };
            hh.problems.push(Problem {
                row: raw.row,
                column: String::new(),
                field: None,
                value: String::new(),
                message,
            });
        }
    }

    /// After the row's cells: the cells a short row lacks, the alternative columns, required
    /// fields of a short row, derivations and checks of the cells, a repeated id.
    #[inline]
    fn finish_row(&self, b: &Bound, raw: &RawRow, dups: &Duplicates, hh: &mut Household, unchecked: bool) {
        let rules = b.rules;
        let (width, got) = (self.columns.len(), raw.record.len());
        let sheet = matches!(self.kind, Kind::Sheet { .. });
        // A short CSV line: its missing cells are blank (a text cell kept from the household
        // before is not theirs). (A sheet row's cells after its last value were read as empty
        // cells.)
        for c in (got..width).filter(|_| !sheet) {
            if let Some(f) = self.column_field[c] {
                hh.cells[f as usize] = Cell::Blank;
            }
        }
        for &(c, f, k) in &self.alt_columns {
            let t = raw.record.get(c).map(|b| text(b).0).unwrap_or_default();
            rules.set_alt_cell(hh, f, k, &t, &self.columns[c]);
        }
        // Required fields whose column is absent from a short row.
        if got < width && !sheet {
            for (f, field) in rules.fields.iter().enumerate() {
                if field.required
                    && got <= self.field_col_index[f].unwrap_or(usize::MAX)
                    && self.field_col_index[f].is_some()
                {
                    rules.set_cell(hh, f as u16, "", self.field_column[f].as_deref().unwrap_or(&field.header));
                }
            }
        }
        rules.finish_row_as(hh, &self.field_column, b.as_of, self.lists_from_columns, !unchecked);
        if let Some(repeats) = (dups.count() > 0).then(|| self.id_of(raw)).flatten().and_then(|id| dups.rows(&id)) {
            hh.problems.push(Problem {
                row: raw.row,
                column: self.field_column[self.id_field as usize].clone().unwrap_or_default(),
                field: Some("household_id".into()),
                value: self.id_of(raw).unwrap_or_default(),
                message: repeats.message(raw.row),
            });
        }
    }

    /// A household of a person export: household columns from its members' rows (they must
    /// agree), member-based facts derived.
    fn household_of_members(&self, b: &Bound, raw: &RawRow, cols: &PersonColumns, dups: &Duplicates) -> Household {
        let rules = b.rules;
        let mut hh = Household {
            row: raw.row,
            source_rows: raw.members.len() as u64,
            cells: vec![Cell::Blank; rules.fields.len()],
            problems: Vec::new(),
            members: None,
            matches: Vec::new(),
            records: Default::default(),
            kept: Default::default(),
        };
        for (f, c) in &self.absent_cells {
            hh.cells[*f as usize] = c.clone();
        }
        self.member_row_problems(raw, cols, dups, &mut hh);
        let own = self.column_field.iter().enumerate().filter_map(|(c, f)| f.map(|f| (c, f, None)));
        for (c, f, alt) in own.chain(self.alt_columns.iter().map(|&(c, f, k)| (c, f, Some(k)))) {
            let mut value: Option<(String, u64)> = None;
            let mut conflict = None;
            for m in &raw.members {
                let t = m.record.get(c).map(|b| cell::normalize(&text(b).0).into_owned()).unwrap_or_default();
                if t.is_empty() {
                    continue;
                }
                match &value {
                    None => value = Some((t, m.row)),
                    Some((v, _)) if *v != t => conflict = Some((t, m.row)),
                    _ => {}
                }
            }
            match (value, conflict) {
                (Some((a, ra)), Some((b2, rb))) => {
                    // The value is masked where it is shown (unless --show-ids); the message
                    // quotes both values, so ID numbers are masked in it here.
                    let is_id = rules.fields[f as usize].ty == crate::ruleset::file::FieldType::Id;
                    let quote = |v: &str| if is_id { crate::privacy::mask_id(v) } else { v.to_string() };
                    hh.problems.push(Problem {
                        row: rb,
                        column: self.columns[c].clone(),
                        field: Some(rules.fields[f as usize].key.clone()),
                        value: b2.clone(),
                        message: format!(
                            "同一户的成员行不一致：第 {ra} 行为“{}”，第 {rb} 行为“{}”",
                            quote(&a),
                            quote(&b2)
                        ),
                    });
                    hh.cells[f as usize] = Cell::Invalid(b2.into());
                }
                (v, _) => {
                    let t = v.as_ref().map(|x| x.0.as_str()).unwrap_or("");
                    match alt {
                        None => rules.set_cell(&mut hh, f, t, &self.columns[c]),
                        Some(k) => rules.set_alt_cell(&mut hh, f, k, t, &self.columns[c]),
                    }
                }
            }
        }
        if rules.members_used {
            persons::read_members(b, &mut hh, &raw.members, &self.member_columns, &self.columns);
        }
        let inputs = &self.member_inputs;
        rules.from_members(&mut hh, &b.params, b.as_of, &|f| inputs.get(f as usize).copied().flatten().flatten());
        rules.finish(&mut hh, &self.field_column, b.as_of);
        hh
    }

    /// The problems of a person export's member rows as rows: a member ID number that another row
    /// has too.
    fn member_row_problems(&self, raw: &RawRow, cols: &PersonColumns, dups: &Duplicates, hh: &mut Household) {
        if let (Some(c), true) = (cols.id_column(), dups.member_count() > 0) {
            for m in &raw.members {
                let id = m.record.get(c).map(|b| cell::normalize(&text(b).0).into_owned()).unwrap_or_default();
                if let Some(r) = dups.member_rows(&id) {
                    hh.problems.push(Problem {
                        row: m.row,
                        column: self.columns[c].clone(),
                        field: None,
                        value: id.clone(),
                        message: r.member_message(m.row),
                    });
                }
            }
        }
    }

    /// The household id of a raw row, normalised as cells are.
    pub fn id_of(&self, raw: &RawRow) -> Option<String> {
        let c = self.field_col_index[self.id_field as usize]?;
        raw.record.get(c).map(|b| cell::normalize(&String::from_utf8_lossy(b)).into_owned())
    }

    /// The household id of a parsed household, as text.
    pub fn id_text(rules: &RuleSet, hh: &Household) -> String {
        Layout::id_str(hh, rules.field_index["household_id"]).to_string()
    }

    /// As [`Layout::id_text`], borrowed, with the id field's index (`field_index["household_id"]`).
    pub fn id_str(hh: &Household, id_field: u16) -> &str {
        match &hh.cells[id_field as usize] {
            Cell::Value(crate::household::Scalar::Text(t)) | Cell::Invalid(t) => t,
            _ => "",
        }
    }
}

/// The fields a file has no column for (after alternatives): each one's cell for every household
/// (unknown, naming the column, or the rule file's `absent` value), and those the rules need, for
/// the warning. A person export's fields computed from the members are absent when a member
/// column they read is (their cells are set by [`RuleSet::from_members`]; `member_inputs`).
fn absent_columns(
    rules: &RuleSet,
    col: &[Option<usize>],
    person_export: bool,
    member_inputs: &[Option<Option<u16>>],
) -> (Vec<AbsentColumn>, Vec<(u16, Cell)>) {
    let mut cells = Vec::new();
    // Per field without a column: the column reasons name, and the `absent` value.
    let mut state: Vec<Option<(String, Option<String>)>> = vec![None; rules.fields.len()];
    for (f, field) in rules.fields.iter().enumerate() {
        if col[f].is_some() {
            continue;
        }
        match member_inputs.get(f).copied().flatten() {
            Some(None) => continue,
            Some(Some(j)) => {
                state[f] = Some((rules.persons[j as usize].header.clone(), None));
                continue;
            }
            None => {}
        }
        cells.push((f as u16, absent_cell(rules, f as u16)));
        // A department list's evidence: not a column (`--with` gives it).
        if field.department.is_some() {
            continue;
        }
        let mut header = String::new();
        field.write_column_names(&mut header);
        state[f] = Some((header, field.absent.clone()));
    }
    let unknown = |g: u16| state[g as usize].as_ref().is_some_and(|s| s.1.is_none());
    let mut needed = Vec::new();
    for (f, _) in rules.needed_fields() {
        let Some((header, stands_for)) = &state[f as usize] else { continue };
        let field = &rules.fields[f as usize];
        // (One that reads the member list only in a person export.)
        let derivable = stands_for.is_none()
            && col[f as usize].is_none()
            && field.derive.as_ref().is_some_and(|d| {
                (person_export || !crate::ruleset::expr::reads_members(d))
                    && crate::ruleset::expr::refs(d).fields.iter().all(|&g| !unknown(g))
            });
        if !derivable {
            needed.push(AbsentColumn { field: f, header: header.clone(), stands_for: stands_for.clone() });
        }
    }
    // The unknown ones first: they are what leaves decisions undecided.
    needed.sort_by_key(|a| a.stands_for.is_some());
    (needed, cells)
}

/// The cell of a field whose column a file lacks: unknown, naming the column, or what the rule
/// file's `absent` stands for (`""`: a blank cell, as `set_cell` reads one).
pub fn absent_cell(rules: &RuleSet, f: u16) -> Cell {
    let field = &rules.fields[f as usize];
    if let Some(d) = field.department {
        return Cell::Absent(Missing::List(d));
    }
    match field.absent.as_deref() {
        None => Cell::Absent(Missing::Field(f)),
        Some("") => {
            let mut tmp = Household { cells: vec![Cell::Blank; rules.fields.len()], ..Household::default() };
            rules.set_cell(&mut tmp, f, "", &field.header);
            std::mem::take(&mut tmp.cells[f as usize])
        }
        // Checked when the rule file was loaded.
        Some(t) => match crate::ruleset::parse_scalar(field, &rules.enums, t) {
            Ok(v) => Cell::AbsentAs(v),
            Err(_) => Cell::Absent(Missing::Field(f)),
        },
    }
}

/// What `--strict` says of a file lacking columns the rules need (`absent`, `absent_members`),
/// its header at row `row`.
fn strict_message(
    rules: &RuleSet,
    (absent, absent_members): (&[AbsentColumn], &[(u16, String)]),
    row: u64,
    columns: &[String],
) -> String {
    format!(
        "缺少规则所需的列（--strict）：\n{}{}（第 {} 行表头：{}）",
        absent_list(rules, absent),
        absent_member_list(rules, absent_members),
        row,
        column_list(columns)
    )
}

/// The lines of the absent-column warning for member fields: each column, and the criteria,
/// decisions and checks it leaves unknown.
fn absent_member_list(rules: &RuleSet, absent: &[(u16, String)]) -> String {
    let mut out = String::new();
    for (i, header) in absent {
        let (crits, decisions, checks) = rules.member_dependents(*i);
        let mut reads = Vec::new();
        for (kind, labels) in [("标准", crits), ("判定", decisions), ("核查", checks)] {
            if !labels.is_empty() {
                reads.push(format!("{kind} {}", labels.join("、")));
            }
        }
        let _ = writeln!(out, "  {header}（成员）：{}", reads.join("；"));
    }
    out
}

/// The absent columns with what they leave undecided, one line per kind: columns that stand for
/// the same thing and leave the same criteria and decisions undecided share a line (the fourteen
/// 帮扶措施 columns of a ledger that has none are one line, not fourteen).
fn absent_list(rules: &RuleSet, absent: &[AbsentColumn]) -> String {
    let mut lines: Vec<(String, Vec<&str>)> = Vec::new();
    for a in absent {
        let (crits, decisions) = rules.dependents(a.field);
        // One format string for each case: each is a message of the English catalogue.
        let reads = match (crits.is_empty(), decisions.is_empty()) {
            (false, false) => format!("标准 {}；判定 {}", crits.join("、"), decisions.join("、")),
            (false, true) => format!("标准 {}", crits.join("、")),
            (true, false) => format!("判定 {}", decisions.join("、")),
            (true, true) => String::new(),
        };
        let what = match &a.stands_for {
            None => reads,
            Some(v) if v.is_empty() => format!("按规则文件视为空白（{reads}）"),
            Some(v) => format!("按规则文件取“{v}”（{reads}）"),
        };
        match lines.iter_mut().find(|(w, _)| *w == what) {
            Some((_, headers)) => headers.push(&a.header),
            None => lines.push((what, vec![&a.header])),
        }
    }
    let mut out = String::new();
    for (what, headers) in lines {
        let _ = writeln!(out, "  {}：{}", headers.join("、"), what);
    }
    out
}

impl Layout {
    /// The one warning of a run about columns the rules need that the file lacks (`None`: it has
    /// them all).
    pub fn absent_warning(&self, rules: &RuleSet) -> Option<String> {
        self.absent_warning_as(rules, &crate::value::shown_path(&self.path))
    }

    /// As [`Layout::absent_warning`], naming the file(s) as `name`.
    pub fn absent_warning_as(&self, rules: &RuleSet, name: &str) -> Option<String> {
        if self.absent.is_empty() && self.absent_members.is_empty() {
            return None;
        }
        // The rule set's labels for an undecided decision.
        let mut undecided: Vec<&str> = Vec::new();
        for d in &rules.decisions {
            let l = d.labels[d.undecided as usize].as_str();
            if !l.is_empty() && !undecided.contains(&l) {
                undecided.push(l);
            }
        }
        Some(format!(
            "注意：{} 缺少规则所需的 {} 列。这些字段对每一户都按未知处理（规则文件规定了取值的除外），\
             依赖它们的判定为“{}”，理由为“缺少列：…”；加 --strict 则缺列时停止：\n{}",
            name,
            self.absent.len() + self.absent_members.len(),
            undecided.join("”或“"),
            absent_list(rules, &self.absent) + &absent_member_list(rules, &self.absent_members)
        ))
    }

    /// Which fields are read from an alternative column, and how its cells translate (reasons
    /// show the translated value and the column). `None` when there are none.
    pub fn alternatives_note(&self, rules: &RuleSet) -> Option<String> {
        if self.alt_columns.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .alt_columns
            .iter()
            .map(|&(c, f, k)| {
                let field = &rules.fields[f as usize];
                let map: Vec<String> =
                    field.alternatives[k as usize].map.iter().map(|(a, b)| format!("{a}→{b}")).collect();
                let map = if map.is_empty() { String::new() } else { format!("（{}）", map.join("，")) };
                let members = matches!(self.member_inputs.get(f as usize), Some(Some(None)));
                let members = if members { "，成员行能推算时以成员行为准" } else { "" };
                format!("{} 读自“{}”列{map}{members}", field.label, self.columns[c])
            })
            .collect();
        Some(format!("替代列：{}\n", parts.join("；")))
    }

    /// Per field, the cell every household of this file has (`None`: it varies), for the
    /// engine's specialised conditions ([`crate::engine::specialise`]): the cell of a column the
    /// file lacks, as [`Layout::household_into`] puts it back for each household, unless
    /// something of the household can still change it (an alternative column, a `derive`, a range
    /// whose check may turn a value into an invalid cell). None for a person export, whose
    /// households are built another way.
    pub fn fixed_cells(&self, rules: &RuleSet) -> Vec<Option<Cell>> {
        let mut out = vec![None; rules.fields.len()];
        if self.persons.is_some() {
            return out;
        }
        for (f, c) in &self.absent_cells {
            let field = &rules.fields[*f as usize];
            // Set for each household by matching.
            if field.department.is_some_and(|d| self.matcher.as_ref().is_some_and(|m| m.given(d))) {
                continue;
            }
            let ranged = (field.min.is_some() || field.max.is_some()) && c.value().is_some();
            let alternative = self.alt_columns.iter().any(|a| a.1 == *f);
            // (A ledger row has no members: a derive reading them leaves the cell as it is.)
            let derived = field.derive.as_ref().is_some_and(|d| !crate::ruleset::expr::reads_members(d));
            if !ranged && !alternative && !derived {
                out[*f as usize] = Some(c.clone());
            }
        }
        out
    }

    /// Where each field's cells come from (what [`crate::ruleset::Bound::read_from`] holds).
    pub fn read_from(&self, rules: &RuleSet) -> Vec<crate::ruleset::ReadFrom> {
        use crate::ruleset::ReadFrom;
        let mut out = vec![ReadFrom::Own; rules.fields.len()];
        for &(f, _) in &self.absent_cells {
            out[f as usize] = ReadFrom::Absent;
        }
        for &(_, f, k) in &self.alt_columns {
            out[f as usize] = ReadFrom::Alternative(k);
        }
        out
    }

    /// Read only what `needs` marks, as `adjust` reads the previous quarter for its matched
    /// households: the fields marked (and the id) are read as before; every other column is
    /// skipped (its field's cell stays blank: nothing evaluated reads it); department lists are
    /// no longer matched; the pipeline evaluates only the criteria and decisions marked
    /// ([`Layout::needs`]), which read only fields marked. A person export is read whole (its
    /// households are built from the members).
    pub fn restrict(&mut self, needs: Needs) {
        if self.persons.is_some() {
            return;
        }
        let (id, keep) = (self.id_field, &needs.fields);
        let kept = |f: u16| keep[f as usize] || f == id;
        for c in 0..self.columns.len() {
            match self.column_field[c] {
                Some(f) if !kept(f) => {
                    self.plans[c].read = ColumnRead::Skip;
                    self.kept.columns &= !1u64.checked_shl(c as u32).unwrap_or(0);
                    self.column_field[c] = None;
                    self.field_col_index[f as usize] = None;
                }
                _ => {}
            }
        }
        *self.passes = Passes::of(&self.plans, &self.ranges);
        self.alt_columns.retain(|a| kept(a.1));
        self.absent_cells.retain(|a| kept(a.0));
        self.absent_reset.retain(kept);
        self.matcher = None;
        self.needs = Some(needs);
    }

    /// How many columns are read (as a field's own column or as an alternative source).
    pub fn mapped_columns(&self) -> usize {
        let own = self.column_field.iter().filter(|f| f.is_some()).count();
        let mut alt: Vec<usize> = self.alt_columns.iter().map(|a| a.0).collect();
        alt.sort_unstable();
        alt.dedup();
        own + alt.len()
    }
}

/// A person row's household id (normalised), `None` when blank.
fn group_id(raw: &RawRow, col: usize) -> Option<String> {
    raw.record.get(col).map(|b| cell::normalize(&String::from_utf8_lossy(b)).into_owned()).filter(|id| !id.is_empty())
}

/// The next household of a person export whose households' rows are contiguous: the rows that
/// follow with the same id (a row without an id is a household of its own).
fn next_group(
    rows: &mut Rows,
    col: usize,
    ahead: &mut VecDeque<RawRow>,
    path: &Path,
) -> Option<Result<RawRow, InputError>> {
    let mut take = |ahead: &mut VecDeque<RawRow>| ahead.pop_front().map(Ok).or_else(|| rows.next_row(path));
    let first = match take(ahead)? {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let id = group_id(&first, col);
    let mut members = vec![first];
    while id.is_some() {
        let Some(r) = take(ahead) else { break };
        let r = match r {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        if group_id(&r, col) != id {
            ahead.push_front(r);
            break;
        }
        members.push(r);
    }
    Some(Ok(RawRow { row: members[0].row, record: members[0].record.clone(), members }))
}

/// Whether every household's rows of a person export are contiguous (a row without an id ends a
/// household's rows), from a pass over the ids that keeps 8 bytes per household.
fn contiguous(layout: &Layout, col: usize) -> Result<bool, InputError> {
    let state = std::collections::hash_map::RandomState::new();
    let (mut closed, mut last): (HashSet<u64>, Option<u64>) = (HashSet::new(), None);
    each_data_row(layout, |r| {
        let id = group_id(r, col).map(|id| state.hash_one(id));
        if id != last {
            if let Some(l) = last {
                closed.insert(l);
            }
            // A hash seen before (a repeat, or rarely another id's): read whole.
            if id.is_some_and(|h| closed.contains(&h)) {
                return ControlFlow::Break(());
            }
            last = id;
        }
        ControlFlow::Continue(())
    })
}

/// One row as read.
#[derive(Default)]
pub struct RawRow {
    pub row: u64,
    pub record: record::Record,
    /// Person export: the rows of all the household's members (this row is the first).
    pub members: Vec<RawRow>,
}

impl RawRow {
    /// No cell with anything but spaces (a row of only delimiters, of formula cells that evaluate
    /// to "", of spaces): no household, skipped and counted.
    pub fn is_blank(&self) -> bool {
        self.members.iter().all(RawRow::is_blank) && self.record.iter().all(cell_is_blank)
    }
}

/// Whether a cell has nothing but spaces ([`cell::is_blank`] of its text). Most cells that are
/// not empty start with a visible ASCII character or the first byte of a CJK ideograph (`E4`–`E9`):
/// not blank, whatever follows (an invalid sequence is read as U+FFFD, no space either), so their
/// text is not decoded.
#[inline]
fn cell_is_blank(c: &[u8]) -> bool {
    match c.first() {
        None => true,
        Some(&b) if (b > b' ' && b < 0x7F) || (0xE4..=0xE9).contains(&b) => false,
        Some(_) => cell::is_blank(&text(c).0),
    }
}

/// Household ids that occur more than once: where each first occurs, and how often. A repeated
/// row refers to the first occurrence only (and the first to the second), so that what is
/// reported grows with the rows, not with their square.
#[derive(Debug, Default)]
pub struct Duplicates {
    rows: HashMap<String, Repeats>,
    /// In a person export: members' ID numbers (证件号码) that occur on more than one row — the same
    /// person twice, in one household or in two.
    members: HashMap<String, Repeats>,
    /// How many rows had an id (a capacity hint for indexes of the whole file).
    ids_seen: u64,
    /// Every id of the file, as a set that may answer "maybe" for an id it lacks but never "no"
    /// for one it has: kept by [`Duplicates::scan_keeping_ids`] only.
    ids: Option<IdSet>,
}

/// The household ids of a file, hashed ([`Duplicates::scan_keeping_ids`]): what `adjust` asks of
/// the current quarter to know, while it reads the previous one, which of its households are
/// certainly gone.
pub struct IdSet {
    hash: IdHash,
    /// Every id's hash when the scan kept them all ([`Seen::EXACT`] at most): an exact test, so
    /// that every id not in the file is known to be gone (`adjust` lists those while the current
    /// quarter is read; a "maybe" for one of them left it to a pass over the whole previous file
    /// afterwards).
    exact: Option<ExactIds>,
    /// Beyond that, blocked Bloom filters (one cache line a lookup, about 0.2 % "maybe" for an
    /// id not in the file): a binary search of a million exact hashes would miss the cache ten
    /// times a lookup.
    filters: Vec<Filter>,
}

impl IdSet {
    /// Whether `id` (as a household's id reads: normalised) may be one of the file's ids; `false`
    /// only when it is certainly not (a blank id is never one).
    pub fn may_have(&self, id: &str) -> bool {
        self.hash.of_cell(id.as_bytes()).is_some_and(|h| self.has(h))
    }

    /// The seed of the hash the ids are kept by ([`seeded_hash`]): an index of ids hashed with
    /// it asks [`IdSet::may_have_hashed`], without hashing an id again.
    pub fn seed(&self) -> u64 {
        self.hash.seed
    }

    /// [`IdSet::may_have`] of `id`, given `h`, its [`seeded_hash`] by [`IdSet::seed`]: used as
    /// it is for an id that `IdHash::of_cell` hashes as it is (the usual id), else `id` hashed
    /// as `may_have` hashes it.
    pub fn may_have_hashed(&self, id: &str, h: u64) -> bool {
        if IdHash::as_is(id.as_bytes()) {
            self.has(h)
        } else {
            self.may_have(id)
        }
    }

    #[inline]
    fn has(&self, h: u64) -> bool {
        match &self.exact {
            Some(exact) => exact.has(h),
            None => self.filters.iter().any(|f| f.has(h)),
        }
    }

    fn new(hash: IdHash, seen: Seen) -> IdSet {
        if seen.filters.is_empty() {
            return IdSet { hash, exact: Some(ExactIds::new(seen.exact)), filters: Vec::new() };
        }
        IdSet { hash, exact: None, filters: seen.filters }
    }
}

/// Hashes (spread evenly over the `u64`s by a seeded hash), sorted, with where those of each
/// value of their top `bits` bits start (`fences`, about one for eight hashes: half a byte a
/// hash): a lookup reads one fence pair and some eight hashes next to each other (two cache
/// misses where a binary search of a million takes ten).
struct ExactIds {
    hashes: Vec<u64>,
    fences: Vec<u32>,
    bits: u32,
}

impl ExactIds {
    fn new(mut hashes: Vec<u64>) -> ExactIds {
        // (Sorted already by `Seen::twice`, which a sort finds in one pass; at most `Seen::EXACT`
        // of them, so a fence fits a u32.)
        hashes.sort_unstable();
        hashes.dedup();
        hashes.shrink_to_fit();
        let bits = if hashes.len() >= 16 { (hashes.len() / 8).ilog2() } else { 0 };
        let mut fences = Vec::with_capacity((1 << bits) + 1);
        let mut k = 0;
        for j in 0..1u64 << bits {
            while k < hashes.len() && ExactIds::top(hashes[k], bits) < j {
                k += 1;
            }
            fences.push(k as u32);
        }
        fences.push(hashes.len() as u32);
        ExactIds { hashes, fences, bits }
    }

    #[inline(always)]
    fn top(h: u64, bits: u32) -> u64 {
        h.checked_shr(64 - bits).unwrap_or(0)
    }

    #[inline]
    fn has(&self, h: u64) -> bool {
        let j = ExactIds::top(h, self.bits) as usize;
        let (Some(&a), Some(&b)) = (self.fences.get(j), self.fences.get(j + 1)) else { return false };
        self.hashes.get(a as usize..b as usize).is_some_and(|some| some.contains(&h))
    }
}

impl std::fmt::Debug for IdSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let exact = self.exact.as_ref().map_or(0, |e| e.hashes.len());
        f.debug_struct("IdSet").field("exact", &exact).field("filters", &self.filters.len()).finish()
    }
}

/// What a scan of one column finds: the values on more than one row, how many rows had one, every
/// value (when kept).
type Scanned = (HashMap<String, Repeats>, u64, Option<IdSet>);

/// The rows of one repeated household id.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Repeats {
    pub first: u64,
    pub second: u64,
    pub count: u64,
}

impl Repeats {
    fn add(&mut self, row: u64) {
        match self.count {
            0 => self.first = row,
            1 => self.second = row,
            _ => {}
        }
        self.count += 1;
    }

    /// The data problem of row `row`, one of these rows.
    pub fn message(&self, row: u64) -> String {
        let all = if self.count == 2 { "两行".to_string() } else { format!("共 {} 行，", self.count) };
        self.same_as(row, "户编号重复", &format!("{all}都已评估，请核实"))
    }

    /// The data problem of member row `row`, one of these rows of a person export.
    pub fn member_message(&self, row: u64) -> String {
        self.same_as(row, "成员证件号码重复", "同一人出现两次，或列在两户中，请核实")
    }

    fn same_as(&self, row: u64, what: &str, then: &str) -> String {
        if row == self.first && self.count > 2 {
            format!("{what}：与第 {} 行等其后 {} 行相同（{then}）", self.second, self.count - 1)
        } else {
            let other = if row == self.first { self.second } else { self.first };
            format!("{what}：与第 {other} 行相同（{then}）")
        }
    }
}

impl Duplicates {
    pub fn rows(&self, id: &str) -> Option<&Repeats> {
        if id.is_empty() {
            return None;
        }
        self.rows.get(id)
    }
    pub fn count(&self) -> usize {
        self.rows.len()
    }
    /// The rows of a member ID number that repeats in a person export.
    pub fn member_rows(&self, id: &str) -> Option<&Repeats> {
        self.members.get(id)
    }
    /// How many member ID numbers repeat.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }
    pub fn ids_seen(&self) -> u64 {
        self.ids_seen
    }

    /// The file's ids, when they were kept ([`Duplicates::scan_keeping_ids`]).
    pub fn ids(&self) -> Option<&IdSet> {
        self.ids.as_ref()
    }

    /// As [`Duplicates::scan`], keeping every id of a ledger's rows as an [`IdSet`] (not of a
    /// person export's: its scan reads members' ID numbers). Memory: 8 bytes an id up to 2^20
    /// ids, then about 1.5 (the scan's own filters).
    pub fn scan_keeping_ids(ledger: &Ledger) -> Result<Duplicates, InputError> {
        Self::scan_with(ledger, true)
    }

    /// Scan a ledger's id column. Two passes at most: hashes first, exact ids only for the
    /// hashes that may have been seen twice.
    pub fn scan(ledger: &Ledger) -> Result<Duplicates, InputError> {
        Self::scan_with(ledger, false)
    }

    fn scan_with(ledger: &Ledger, keep: bool) -> Result<Duplicates, InputError> {
        let layout = &ledger.layout;
        // In a person export every member repeats the household id; each member's ID number is
        // what must not repeat.
        if let Some(p) = &layout.persons {
            let Some(col) = p.id_column() else { return Ok(Duplicates::default()) };
            let (members, _, _) = Self::scan_column(ledger, col, false)?;
            return Ok(Duplicates { members, ..Duplicates::default() });
        }
        let col = layout.field_col_index[layout.id_field as usize].expect("checked at open");
        let (rows, ids_seen, ids) = Self::scan_column(ledger, col, keep)?;
        Ok(Duplicates { rows, ids_seen, ids, ..Duplicates::default() })
    }

    /// The values of column `col` that occur on more than one row, with their rows; how many
    /// rows had a value; and, when `keep`, every value as an [`IdSet`].
    fn scan_column(ledger: &Ledger, col: usize, keep: bool) -> Result<Scanned, InputError> {
        let layout = &ledger.layout;
        let hash = IdHash::new();
        let utf8_csv = match &layout.kind {
            Kind::Csv { encoding: Encoding::Utf8, delimiter } => Some(*delimiter),
            _ => None,
        };
        let first = match utf8_csv {
            Some(delimiter) => unquoted_hashes(layout, delimiter, col, &hash)?,
            None => None,
        };
        // The second pass reads the file as the first did: by memchr when it had no quote.
        let unquoted = utf8_csv.filter(|_| first.is_some());
        let (seen, ids_seen) = match first {
            Some(found) => found,
            None => {
                // Quotes somewhere (or another encoding): the csv reader, from the start.
                let (mut seen, mut ids_seen) = (Seen::default(), 0);
                each_id(ledger, col, |_, id| {
                    if let Some(h) = hash.of_cell(id) {
                        ids_seen += 1;
                        seen.add(h);
                    }
                })?;
                (seen, ids_seen)
            }
        };
        let mut seen = seen;
        let twice = seen.twice();
        let ids = keep.then(|| IdSet::new(hash, seen));
        if twice.is_empty() {
            return Ok((HashMap::new(), ids_seen, ids));
        }
        // The exact ids of the hashes seen twice: a second pass, by memchr where the first could.
        let mut seen: HashMap<String, Repeats> = HashMap::new();
        let mut exact = |row: u64, id: &[u8]| {
            let id = String::from_utf8_lossy(id);
            if cell::is_blank(&id) {
                return;
            }
            let id = cell::normalize(&id);
            if twice.contains(&hash.of(&id)) {
                seen.entry(id.into_owned()).or_default().add(row);
            }
        };
        let fast = match unquoted {
            Some(delimiter) => {
                let limits = &layout.options.limits;
                source::each_unquoted_field(&layout.path, layout.header_row, delimiter, col, limits, &mut exact)?
            }
            None => false,
        };
        if !fast {
            each_id(ledger, col, exact)?;
        }
        Ok((seen.into_iter().filter(|(_, r)| r.count > 1).collect(), ids_seen, ids))
    }
}

/// A hash of a normalised id, seeded per run ([`seeded_hash`]: eight bytes at a time; FNV-1a a
/// byte at a time was a tenth of adjust's id scans, SipHash more). Any hash will do: the second
/// pass compares the ids themselves.
#[derive(Clone, Copy)]
struct IdHash {
    seed: u64,
}

impl IdHash {
    fn new() -> IdHash {
        IdHash { seed: std::collections::hash_map::RandomState::new().hash_one(0u64) }
    }

    fn of(&self, id: &str) -> u64 {
        self.of_bytes(id.as_bytes())
    }

    #[inline]
    fn of_bytes(&self, id: &[u8]) -> u64 {
        seeded_hash(self.seed, id)
    }

    /// Whether [`IdHash::of_cell`] hashes `id` as it is. Most ids: visible ASCII at both ends and
    /// ASCII between, which is text, not blank, and normalised already (what `normalize` keeps
    /// as it is).
    #[inline]
    fn as_is(id: &[u8]) -> bool {
        let plain = |c: &u8| *c > b' ' && *c < 0x7F;
        id.first().is_some_and(plain) && id.last().is_some_and(plain) && id.is_ascii()
    }

    /// The hash of an id cell; `None` for a blank one (no id).
    fn of_cell(&self, id: &[u8]) -> Option<u64> {
        if IdHash::as_is(id) {
            return Some(self.of_bytes(id));
        }
        let id = String::from_utf8_lossy(id);
        (!cell::is_blank(&id)).then(|| self.of(&cell::normalize(&id)))
    }
}

/// A hash of `b` under `seed`, eight bytes at a time: each word mixed in by a folded multiply
/// (the high and low halves of a 128-bit product xored, as foldhash and wyhash do), the last
/// (or only) bytes read as words that may overlap the ones before, the length in the seed, and
/// splitmix64's finaliser at the end, so that every bit of the input reaches every bit a table or
/// filter uses. A few instructions a word; the seed keeps a file's ids from being chosen to
/// collide.
#[inline]
pub(crate) fn seeded_hash(seed: u64, b: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let fold = |a: u64, w: u64| {
        let p = (a ^ w) as u128 * K as u128;
        (p as u64) ^ (p >> 64) as u64
    };
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let half = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes")) as u64;
    let n = b.len();
    let mut h = seed ^ (n as u64).wrapping_mul(K);
    let mut i = 0;
    while i + 8 <= n {
        h = fold(h, word(i));
        i += 8;
    }
    if i < n {
        let last = match n {
            8.. => word(n - 8),
            4..=7 => half(0) | half(n - 4) << 32,
            _ => b[0] as u64 | (b[n / 2] as u64) << 8 | (b[n - 1] as u64) << 16,
        };
        h = fold(h, last);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The first pass over a UTF-8 CSV file by memchr (no csv parse): the id hashes in a [`Seen`],
/// and how many rows had an id. A file of some megabytes is cut into parts read side by side (one
/// per worker thread, at most 4), each hashing its ids into batches that go into the one `Seen`
/// under a lock: the order they go in does not matter (a hash added twice is found whichever
/// comes second). `None`: the file has a quote (the csv reader must read it).
fn unquoted_hashes(
    layout: &Layout,
    delimiter: u8,
    col: usize,
    hash: &IdHash,
) -> Result<Option<(Seen, u64)>, InputError> {
    const BATCH: usize = 1 << 14;
    const PART_BYTES: u64 = 4 << 20;
    let (path, limits) = (&layout.path, &layout.options.limits);
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let threads = rayon::current_num_threads().clamp(1, 4).min((size / PART_BYTES).max(1) as usize);
    let whole = [source::Part { start: 0, end: None, header_row: layout.header_row }];
    let parts = if threads > 1 {
        source::line_parts(path, threads, layout.header_row).unwrap_or_else(|_| whole.to_vec())
    } else {
        whole.to_vec()
    };
    let shared = std::sync::Mutex::new((Seen::default(), 0u64));
    let scan = |part: source::Part| -> Result<Option<u64>, InputError> {
        let mut batch = Vec::with_capacity(BATCH);
        let flush = |batch: &mut Vec<u64>| {
            let mut s = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            s.1 += batch.len() as u64;
            s.0.add_all(batch);
            batch.clear();
        };
        let lines = source::each_unquoted_field_of(path, part, delimiter, col, limits, &mut |_, id| {
            if let Some(h) = hash.of_cell(id) {
                batch.push(h);
                if batch.len() == BATCH {
                    flush(&mut batch);
                }
            }
        })?;
        flush(&mut batch);
        Ok(lines)
    };
    let results: Vec<_> = std::thread::scope(|s| {
        let others: Vec<_> = parts[1..].iter().map(|&p| s.spawn(move || scan(p))).collect();
        let mut all = vec![scan(parts[0])];
        all.extend(others.into_iter().map(|t| t.join().expect("the id scan does not panic")));
        all
    });
    // The first part that did not end well, in the file's order, is where one scan would have
    // stopped: at a quote (`None`), or at an error — named by its line in the file, which only
    // the first part knows (a later part's error: the whole file again, in one part).
    let mut lines = Vec::with_capacity(results.len());
    let mut later_error = false;
    for (k, r) in results.into_iter().enumerate() {
        match r {
            Ok(Some(n)) => lines.push(n),
            Ok(None) => return Ok(None),
            Err(e) if k == 0 => return Err(e),
            Err(_) => {
                later_error = true;
                break;
            }
        }
    }
    // The header (and the title rows above it) must lie in the first part; else the whole file
    // again, in one part.
    if later_error || (parts.len() > 1 && lines[0] <= layout.header_row) {
        let mut seen = (Seen::default(), 0u64);
        let one = source::each_unquoted_field_of(path, whole[0], delimiter, col, limits, &mut |_, id| {
            if let Some(h) = hash.of_cell(id) {
                seen.1 += 1;
                seen.0.add(h);
            }
        })?;
        return Ok(one.map(|_| seen));
    }
    Ok(Some(shared.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)))
}

/// The id hashes of the first pass, in memory that grows with the number of ids by about 12 bits
/// an id: the exact hashes while there are at most [`Seen::EXACT`] of them (8 MiB), then Bloom
/// filters, each twice the size of the one before, a new one started when the last holds
/// [`Seen::BITS_PER_ID`] bits an id. What may have been seen twice (exactly, or as a filter
/// says) is checked exactly in a second pass.
struct Seen {
    exact: Vec<u64>,
    /// At most this many exact hashes ([`Seen::EXACT`]), then a first filter of `first_bits`
    /// ([`Seen::FIRST_BITS`]); smaller in a test.
    exact_max: usize,
    first_bits: usize,
    /// The filters, oldest first (none until the exact hashes are too many).
    filters: Vec<Filter>,
    /// Hashes a filter had (probably) seen before: true repeats and a few false positives.
    maybe_twice: HashSet<u64>,
}

/// A blocked Bloom filter: each hash sets [`Filter::PROBES`] bits in one 512-bit block (a cache
/// line), so that adding or testing a hash costs one memory access.
struct Filter {
    blocks: Vec<[u64; 8]>,
    ids: usize,
    capacity: usize,
}

impl Filter {
    const PROBES: u32 = 6;

    fn new(bits: usize) -> Filter {
        Filter { blocks: vec![[0; 8]; bits / 512], ids: 0, capacity: bits / Seen::BITS_PER_ID }
    }

    /// The block of `h` and the bits in it (word, bit) as six 9-bit fields of a second hash.
    #[inline]
    fn place(&self, h: u64) -> (usize, u64) {
        let block = ((h >> 32) * self.blocks.len() as u64) >> 32;
        (block as usize, h.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Whether every bit of `h` is set (`h`, or hashes that cover it, were added).
    fn has(&self, h: u64) -> bool {
        let (b, mut bits) = self.place(h);
        let block = &self.blocks[b];
        (0..Self::PROBES).all(|_| {
            let (w, bit) = ((bits >> 6) & 7, bits & 63);
            bits >>= 9;
            block[w as usize] & (1 << bit) != 0
        })
    }

    fn add(&mut self, h: u64) {
        let (b, mut bits) = self.place(h);
        let block = &mut self.blocks[b];
        for _ in 0..Self::PROBES {
            let (w, bit) = ((bits >> 6) & 7, bits & 63);
            bits >>= 9;
            block[w as usize] |= 1 << bit;
        }
        self.ids += 1;
    }
}

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            exact: Vec::new(),
            exact_max: Self::EXACT,
            first_bits: Self::FIRST_BITS,
            filters: Vec::new(),
            maybe_twice: HashSet::new(),
        }
    }
}

impl Seen {
    /// 1M hashes (8 MiB); then filters of 2^26 bits (8 MiB, 5.6M ids), 2^27 (16 MiB, 11M ids), …:
    /// about 0.2 % false positives a filter when full, fewer before. Memory: at most about 3
    /// bytes an id (10^7 ids: 24 MiB; 10^8: 248 MiB).
    const EXACT: usize = 1 << 20;
    const FIRST_BITS: usize = 1 << 26;
    const BITS_PER_ID: usize = 12;

    fn add(&mut self, h: u64) {
        if self.filters.is_empty() {
            if self.exact.capacity() == 0 {
                // All at once: pages not yet written take no memory, and growing by doubling would
                // leave the smaller copies behind in the allocator (up to 8 MiB more at the peak).
                self.exact.reserve_exact(self.exact_max);
            }
            self.exact.push(h);
            if self.exact.len() < self.exact_max {
                return;
            }
            // Too many to keep: what repeats so far is remembered, the rest goes into the filter.
            self.maybe_twice.extend(repeats(&mut self.exact));
            let mut filter = Filter::new(self.first_bits);
            for h in std::mem::take(&mut self.exact) {
                filter.add(h);
            }
            self.filters.push(filter);
            return;
        }
        if self.filters.iter().any(|f| f.has(h)) {
            self.maybe_twice.insert(h);
            return;
        }
        let last = self.filters.last_mut().expect("a filter");
        if last.ids >= last.capacity {
            let bits = last.blocks.len() * 512 * 2;
            self.filters.push(Filter::new(bits));
        }
        self.filters.last_mut().expect("a filter").add(h);
    }

    /// As [`Seen::add`] for each of `hs` in turn: while the hashes are kept exact, as many as fit
    /// are copied at once (a batch of the scan: no call and no test a hash).
    fn add_all(&mut self, hs: &[u64]) {
        let mut rest = hs;
        if self.filters.is_empty() && !rest.is_empty() {
            if self.exact.capacity() == 0 {
                // (As `add` makes room: all at once.)
                self.exact.reserve_exact(self.exact_max);
            }
            // All but the one that fills the exact hashes up: `add` turns them into a filter.
            let fit = rest.len().min(self.exact_max.saturating_sub(self.exact.len() + 1));
            self.exact.extend_from_slice(&rest[..fit]);
            rest = &rest[fit..];
        }
        rest.iter().for_each(|&h| self.add(h));
    }

    /// The hashes that may have been added more than once.
    fn twice(&mut self) -> HashSet<u64> {
        let mut out = std::mem::take(&mut self.maybe_twice);
        out.extend(repeats(&mut self.exact));
        out
    }
}

/// The hashes that occur more than once (`hashes` left sorted). Sorted in place: a filter of the
/// hashes whose slot in a bit table is taken twice, sorting only those (2026-12-04, s11-I), saved
/// 0.07 k instructions a household but raised the scan's peak memory by 8.6 MiB at 1M ids (two
/// bit tables and the filtered copy, next to the hashes), which at 5M households left 0.4 MiB
/// under the 64 MiB line; fresh pages also cost time on this host (zeroed at about 0.8 GB/s).
fn repeats(hashes: &mut [u64]) -> Vec<u64> {
    radix_sort(hashes, 56);
    hashes.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect()
}

/// `v` sorted in place (as `sort_unstable` sorts it), by its byte at `shift` first: an American
/// flag sort, each value carried to its bucket's next free place and the one there taken on, then
/// each bucket by the next byte; buckets of at most 256 by `sort_unstable`. No memory beyond two
/// 256-entry tables a level (eight levels at most); about 60 % of `sort_unstable`'s instructions
/// for 20,000 hashes, 50 % for a million (hashes spread evenly: ids through `seeded_hash`; other
/// values are sorted as well, only less quickly).
fn radix_sort(v: &mut [u64], shift: u32) {
    if v.len() <= 256 {
        v.sort_unstable();
        return;
    }
    let byte = |h: u64| (h >> shift) as usize & 0xFF;
    let mut heads = [0usize; 256];
    for &h in v.iter() {
        heads[byte(h)] += 1;
    }
    // `heads[b]`: the next place of bucket `b` not yet holding one of its values; `ends[b]`: where
    // the bucket ends.
    let mut ends = [0usize; 256];
    let mut at = 0;
    for (head, end) in heads.iter_mut().zip(ends.iter_mut()) {
        at += *head;
        *head = at - *head;
        *end = at;
    }
    for b in 0..256 {
        while heads[b] < ends[b] {
            let mut h = v[heads[b]];
            let mut d = byte(h);
            // Carried from bucket to bucket until one of bucket `b` comes back.
            while d != b {
                let place = heads[d];
                heads[d] += 1;
                std::mem::swap(&mut h, &mut v[place]);
                d = byte(h);
            }
            v[heads[b]] = h;
            heads[b] += 1;
        }
    }
    if shift == 0 {
        return;
    }
    let mut start = 0;
    for end in ends {
        radix_sort(&mut v[start..end], shift - 8);
        start = end;
    }
}

/// Every data row's id cell: the file is read again from the start (streamed; a worksheet too, so
/// that it is never held whole).
fn each_id(ledger: &Ledger, col: usize, mut f: impl FnMut(u64, &[u8])) -> Result<(), InputError> {
    each_data_row(&ledger.layout, |r| {
        if let Some(id) = r.record.get(col) {
            f(r.row, id);
        }
        ControlFlow::Continue(())
    })
    .map(|_| ())
}

/// Every data row of the file, read again from the start (streamed; a worksheet too, so that it is
/// never held whole), until `f` breaks. `Ok(true)`: every row was seen.
fn each_data_row(layout: &Layout, mut f: impl FnMut(&RawRow) -> ControlFlow<()>) -> Result<bool, InputError> {
    let (mut rows, _) = source::open(&layout.path, &layout.options)?;
    let mut r = RawRow::default();
    while let Some(read) = rows.read_into(&layout.path, &mut r) {
        read?;
        if r.row > layout.header_row && f(&r).is_break() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Picking rows by number from blocks (parsing only their lines where a block has no quote)
    /// gives the rows the csv reader gives for those numbers, for generated texts cut into small
    /// blocks (quoted line breaks, empty lines, no final line break).
    #[test]
    fn rows_picked_by_number_are_the_rows_read_in_full() {
        let palette: [&[u8]; 7] = [b"a", b",", b"\"", b"\n", b"\n\n", "户".as_bytes(), b"1,2\n"];
        let mut rng = crate::test_rng::Lcg(5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let rows_of = |r: &RawRow| (r.row, r.record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        for case in 0..2000 {
            let Some(text) = rng.text(&palette, 100, case) else { continue };
            std::fs::write(&path, &text).unwrap();
            let (mut whole, _) = source::open(&path, &OpenOptions::default()).unwrap();
            let mut all = Vec::new();
            while let Some(r) = whole.next_row(&path) {
                all.push(rows_of(&r.unwrap()));
            }
            let numbers: Vec<u64> = all.iter().map(|r| r.0).collect();
            assert_eq!(
                numbers,
                source::reference_rows(&text, b','),
                "case {case}: {:?}",
                String::from_utf8_lossy(&text)
            );
            let mut wanted: Vec<u64> = all.iter().map(|r| r.0).filter(|_| rng.below(3) == 0).collect();
            wanted.push(1 + rng.below(40) as u64);
            wanted.sort_unstable();
            wanted.dedup();
            let want: Vec<_> = all.iter().filter(|r| wanted.contains(&r.0)).cloned().collect();
            let (rows, _) = source::open(&path, &OpenOptions::default()).unwrap();
            let Ok(mut blocks) = rows.into_blocks() else { panic!("a CSV file") };
            blocks.set_size([1, 4, 16, 1 << 10][rng.below(4)]);
            let mut reader = RowReader {
                path: path.clone(),
                rows: Source::Blocks(Box::new(blocks)),
                pending: VecDeque::new(),
                parser: None,
                block: Vec::new(),
            };
            let mut got = Vec::new();
            reader.each_row_in(&wanted, &mut |r| got.push(rows_of(r))).unwrap();
            assert_eq!(got, want, "case {case}: {:?}, rows {wanted:?}", String::from_utf8_lossy(&text));
        }
    }

    /// A file of several megabytes, scanned in parts side by side, gives the repeats (and rows) a
    /// scan in one part gives, and an over-long line in a later part is named by its line in the
    /// file.
    #[test]
    fn a_file_scanned_in_parts_gives_what_one_scan_gives() {
        let rules = crate::ruleset::load("national").unwrap();
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/户表.csv")).unwrap();
        let mut lines = text.lines();
        let (header, row) = (lines.next().unwrap(), lines.next().unwrap());
        let rest = &row[row.find(',').unwrap()..];
        let mut body = String::from(header);
        let n = 70_000;
        for k in 0..n {
            // Ids repeated: A at rows 2 and 69,002 (either side of a cut), B at three rows.
            let id = match k {
                0 | 69_000 => "A".to_string(),
                10 | 40_000 | 60_000 => "B".to_string(),
                _ => format!("H{k}"),
            };
            body.push_str(&format!("\n{id}{rest}"));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, &body).unwrap();
        assert!(body.len() > 8 << 20, "big enough for parts");
        let ledger = Ledger::open(&path, &rules, &OpenOptions::default()).unwrap();
        let dups = Duplicates::scan(&ledger).unwrap();
        assert_eq!(dups.ids_seen(), n);
        assert_eq!(dups.count(), 2);
        assert_eq!(dups.rows("A"), Some(&Repeats { first: 2, second: 69_002, count: 2 }));
        assert_eq!(dups.rows("B"), Some(&Repeats { first: 12, second: 40_002, count: 3 }));
        // A line over the limit near the end: the error names line 65,002.
        let limits = source::Limits { max_record_bytes: 64 << 10, ..source::Limits::default() };
        // (Found when the scan's 1 MiB buffer fills with one line.)
        let long = format!("X,{}", "9".repeat(1_100_000));
        let mut rows: Vec<&str> = body.split('\n').collect();
        rows[65_001] = &long;
        std::fs::write(&path, rows.join("\n")).unwrap();
        let options = OpenOptions { limits, ..OpenOptions::default() };
        let ledger = Ledger::open(&path, &rules, &options).unwrap();
        let whole = source::each_unquoted_field(&path, 1, b',', 0, &limits, &mut |_, _| {}).unwrap_err();
        assert_eq!(Duplicates::scan(&ledger).unwrap_err().to_string(), whole.to_string());
        assert!(whole.to_string().contains("65002") || whole.to_string().contains("65,002"), "{whole}");
    }

    /// A person export is grouped as it streams by only when its households' rows are contiguous.
    #[test]
    fn person_exports_stream_when_households_are_contiguous() {
        let rules = crate::ruleset::load("national").unwrap();
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/人员表.csv")).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let header = lines.remove(0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let streams = |rows: &[&str]| {
            std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
            let ledger = Ledger::open(&path, &rules, &OpenOptions::default()).unwrap();
            matches!(ledger.reader.rows, Source::Persons { .. })
        };
        assert!(!streams(&lines), "P004 and P005 interleave");
        let mut sorted = lines.clone();
        sorted.sort_by_key(|l| l.split(',').next().unwrap().to_string());
        assert!(streams(&sorted));
    }

    #[test]
    fn encodings_are_sniffed() {
        assert_eq!(sniff(b"\xEF\xBB\xBFabc"), Encoding::Utf8);
        assert_eq!(sniff("户编号,人数".as_bytes()), Encoding::Utf8);
        let (gbk, _, _) = encoding_rs::GBK.encode("户编号,人数");
        assert_eq!(sniff(&gbk), Encoding::Gbk);
        assert_eq!(sniff(b"\xFF\xFEa\x00"), Encoding::Utf16);
        // A UTF-8 character cut by the sniff window is not mistaken for GBK.
        let s = "户编号".as_bytes();
        assert_eq!(sniff(&s[..4]), Encoding::Utf8);
    }

    /// `add_all` leaves what `add` of each hash in turn leaves: batches of every size around the
    /// exact hashes' limit (copied, then the one that fills them up, then the filters), repeats
    /// in and across batches.
    #[test]
    fn hashes_added_in_batches_are_as_added_one_by_one() {
        let spread = |h: u64| h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let hs: Vec<u64> = (0..3000u64).map(|i| spread(i % 2500)).collect();
        for batch in [1, 2, 7, 999, 1000, 1001, 3000] {
            let [mut one, mut all] = [(); 2].map(|_| Seen { exact_max: 1000, first_bits: 1 << 16, ..Seen::default() });
            hs.iter().for_each(|&h| one.add(h));
            all.add_all(&[]);
            assert_eq!(all.exact.capacity(), 0);
            hs.chunks(batch).for_each(|b| all.add_all(b));
            assert_eq!(all.exact, one.exact, "batch {batch}");
            assert_eq!(all.filters.len(), one.filters.len());
            for (a, b) in all.filters.iter().zip(&one.filters) {
                assert!(a.blocks == b.blocks && a.ids == b.ids && a.capacity == b.capacity);
            }
            assert_eq!(all.twice(), one.twice(), "batch {batch}");
        }
    }

    #[test]
    fn repeated_hashes_are_found_before_and_after_the_filters_take_over() {
        let spread = |h: u64| h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // 1,000 exact hashes, then a first filter of 2^16 bits (5,461 ids), then more.
        let mut seen = Seen { exact_max: 1000, first_bits: 1 << 16, ..Seen::default() };
        let n = 50_000;
        for h in 0..n {
            // Spread the values like hashes; 7, one added to the first filter and the last come
            // twice.
            seen.add(spread(h));
        }
        for h in [7, 2000, n - 1] {
            seen.add(spread(h));
        }
        assert!(seen.filters.len() >= 4, "{} filters", seen.filters.len());
        let twice = seen.twice();
        for h in [7, 2000, n - 1] {
            assert!(twice.contains(&spread(h)), "{h}");
        }
        // Candidates are checked exactly in the second pass; false positives stay few.
        assert!(twice.len() < 500, "{} candidates", twice.len());
    }

    /// `Passes` puts each of the first 64 columns in the pass of its kind, and only there, with
    /// its field, enum and bounds; a skipped column's bounds are not looked at.
    #[test]
    fn passes_split_the_first_64_columns_by_kind() {
        use crate::value::Num;
        let reads = [
            ColumnRead::Skip,
            ColumnRead::Bool(1),
            ColumnRead::Number(2, true),
            ColumnRead::Number(3, false),
            ColumnRead::Text(4),
            ColumnRead::Id(5),
            ColumnRead::Enum(6, 9),
            ColumnRead::Other(7),
        ];
        let plans: Vec<ColumnPlan> = (0..70)
            .map(|c| {
                let read = reads[c % reads.len()];
                ColumnPlan { f: c as u16, read, blank: BlankRead::Blank, ranged: c % 3 == 0 }
            })
            .collect();
        let ranges: Vec<(Num, Num)> = (0..70).map(|c| (Num(c), Num(c + 100))).collect();
        let p = Passes::of(&plans, &ranges);
        let kinds = [p.skipped, p.bools, p.money, p.ints, p.texts, p.ids, p.enums, p.other];
        for (c, plan) in plans.iter().enumerate().take(64) {
            let k = c % reads.len();
            for (i, kind) in kinds.iter().enumerate() {
                assert_eq!(kind >> c & 1 != 0, i == k, "column {c} kind {i}");
            }
            assert_eq!(p.field[c], plan.f);
            assert_eq!(p.ranged >> c & 1 != 0, plan.ranged && plan.read != ColumnRead::Skip, "column {c}");
            assert_eq!(p.bounds[c], ranges[c]);
            if let ColumnRead::Enum(_, e) = plan.read {
                assert_eq!(p.enum_of[c], e);
            }
        }
        assert_eq!(kinds.iter().fold(0, |m, k| m | k), u64::MAX);
    }

    /// `empty_cells` marks the cells that start where they end, the first 64, at every count of
    /// cells (the fours and the rest), for lines kept whole (a gap of 1) and cells pushed (0).
    #[test]
    fn empty_cells_are_those_of_no_bytes() {
        let mut rng = crate::test_rng::Lcg(9);
        for n in 0..80 {
            for gap in [0, 1] {
                for _ in 0..50 {
                    let mut ends = Vec::with_capacity(n);
                    let mut at = 0;
                    for _ in 0..n {
                        let start = if ends.is_empty() { 0 } else { at + gap };
                        at = start + [0, 0, 1, 3][rng.below(4)];
                        ends.push(at);
                    }
                    let want = (0..n.min(64)).fold(0u64, |m, c| {
                        let start = if c == 0 { 0 } else { ends[c - 1] + gap };
                        m | u64::from(ends[c] == start) << c
                    });
                    assert_eq!(empty_cells(&ends, gap), want, "{ends:?} gap {gap}");
                }
            }
        }
    }

    /// `radix_sort` sorts as `sort_unstable` does: every size around its cut-over to
    /// `sort_unstable`, values spread evenly, sharing their top bytes, all the same, few distinct.
    #[test]
    fn radix_sort_sorts_as_sort_unstable_does() {
        let mut rng = crate::test_rng::Lcg(5);
        let spread = |h: u64| h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for n in [0, 1, 2, 255, 256, 257, 300, 1000, 5000, 70_000] {
            for case in 0..5 {
                let v: Vec<u64> = (0..n as u64)
                    .map(|i| match case {
                        0 => spread(i),
                        1 => spread(i) >> 20,
                        2 => 7,
                        3 => spread(rng.below(5) as u64),
                        _ => spread(i / 3) & !0xFFFF | (i & 0xFF),
                    })
                    .collect();
                let mut want = v.clone();
                want.sort_unstable();
                let mut got = v;
                radix_sort(&mut got, 56);
                assert_eq!(got, want, "n {n} case {case}");
            }
        }
    }

    /// `repeats` finds the hashes a sort of them all finds, at every size (sorted below 64),
    /// repeated twice or more, next to each other or not, with many hashes that share their top
    /// bits (a slot) but are not the same.
    #[test]
    fn repeats_are_those_a_sort_finds() {
        let mut rng = crate::test_rng::Lcg(3);
        let spread = |h: u64| h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for n in [0, 1, 2, 63, 64, 65, 100, 1000, 4097, 30_000] {
            for case in 0..4 {
                let mut hashes: Vec<u64> = (0..n as u64)
                    .map(|i| match case {
                        // Distinct, then one in ten taken again; slots shared (low bits differ).
                        0 => spread(i),
                        1 => spread(i % (n as u64 * 9 / 10).max(1)),
                        2 => spread(rng.below(n.max(1)) as u64),
                        _ => spread(i / 3) & !0xFFFF | (i & 0xFF),
                    })
                    .collect();
                let mut sorted = hashes.clone();
                sorted.sort_unstable();
                let want: HashSet<u64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
                let got: HashSet<u64> = repeats(&mut hashes).into_iter().collect();
                assert_eq!(got, want, "{n} hashes, case {case}");
            }
        }
    }

    /// `may_have` never says no to an id added, kept exact by the scan or in its filters, and
    /// says no to most others.
    #[test]
    fn may_have_has_every_id_added() {
        let hash = IdHash::new();
        let id = |i: u64| format!("H{i:08}");
        for n in [0u64, 1, 999, 1000, 20_000] {
            let mut seen = Seen { exact_max: 1000, first_bits: 1 << 16, ..Seen::default() };
            (0..n).for_each(|i| seen.add(hash.of(&id(i))));
            seen.twice();
            let ids = IdSet::new(hash, seen);
            assert!((0..n).all(|i| ids.may_have(&id(i))), "{n}");
            let others = (n..n + 10_000).filter(|&i| ids.may_have(&id(i))).count();
            assert!(others < 300, "{n}: {others}");
        }
        // Ids as a household's id reads, and a blank one.
        let mut seen = Seen::default();
        for id in ["A1", "5201", "户 1"] {
            seen.add(hash.of_cell(id.as_bytes()).unwrap());
        }
        seen.twice();
        let ids = IdSet::new(hash, seen);
        assert!(ids.may_have("A1") && ids.may_have("5201") && ids.may_have("户 1"));
        assert!(!ids.may_have("A2") && !ids.may_have(""));
        // Asked with an id's hash by the set's seed: the same answers, for ids hashed as they
        // are and for the others (blank, not ASCII, spaces at an end).
        for id in ["A1", "5201", "户 1", "A2", "", " A1", "A1 ", "户 2"] {
            let h = seeded_hash(ids.seed(), id.as_bytes());
            assert_eq!(ids.may_have_hashed(id, h), ids.may_have(id), "{id:?}");
        }
    }

    /// Kept exact (as many ids as the scan keeps exactly), `may_have` says yes to every id added
    /// and no to every other; and the fences find any value in any sorted list.
    #[test]
    fn ids_kept_exact_have_no_maybe() {
        let hash = IdHash::new();
        let id = |i: u64| format!("52262{i:013}");
        for n in [0u64, 1, 2, 8, 9, 100, 5000, 70_000] {
            let mut seen = Seen { exact_max: 1 << 20, first_bits: 1 << 16, ..Seen::default() };
            (0..n).for_each(|i| seen.add(hash.of(&id(i * 3))));
            seen.twice();
            let ids = IdSet::new(hash, seen);
            assert!(ids.filters.is_empty() && ids.exact.is_some());
            assert!((0..n).all(|i| ids.may_have(&id(i * 3))), "{n}");
            assert!((0..n.max(1000)).all(|i| !ids.may_have(&id(i * 3 + 1))), "{n}");
        }
        // Uneven values too (crowded fences, empty ones): all found, none else.
        let mut rng = crate::test_rng::Lcg(3);
        for len in [0usize, 1, 5, 9, 17, 300, 5000] {
            let mut v: Vec<u64> = (0..len).map(|_| (rng.below(1000) as u64).pow(6)).collect();
            v.extend([0, 1, u64::MAX]);
            v.sort_unstable();
            v.dedup();
            let exact = ExactIds::new(v.clone());
            for &x in &v {
                assert!(exact.has(x));
                for y in [x.wrapping_add(1), x.wrapping_sub(1), x ^ (1 << 63)] {
                    assert_eq!(exact.has(y), v.binary_search(&y).is_ok());
                }
            }
        }
    }

    /// A filter at its capacity (12 bits an id) answers "seen" for about 0.2 % of new hashes.
    #[test]
    fn a_full_filter_has_few_false_positives() {
        let spread = |h: u64| h.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (h >> 7);
        let mut f = Filter::new(1 << 20);
        for h in 0..f.capacity as u64 {
            f.add(spread(h));
        }
        let n = 200_000u64;
        let false_pos = (0..n).filter(|&h| f.has(spread(h + (1 << 40)))).count();
        assert!((false_pos as f64) < n as f64 * 0.005, "{false_pos} of {n}");
        assert!((0..f.capacity as u64).all(|h| f.has(spread(h))), "no false negative");
    }

    /// Cut into parts, a file gives the same ids as read whole; the header only in the first.
    #[test]
    fn parts_read_side_by_side_give_the_whole_files_ids() {
        let mut text = String::from("title\r\nid,a\r\n");
        for k in 0..5000 {
            text.push_str(&format!("A{k},x\r\n"));
            if k % 7 == 0 {
                text.push('\n');
            }
            if k % 11 == 0 {
                text.push_str(&format!("B{k},y\rC{k}\r\n"));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, &text).unwrap();
        let mut whole = Vec::new();
        assert!(source::each_unquoted_field(&path, 2, b',', 0, &Default::default(), &mut |_, id| {
            whole.push(id.to_vec())
        })
        .unwrap());
        for n in [1, 2, 3, 7] {
            let parts = source::line_parts(&path, n, 2).unwrap();
            assert_eq!(parts.len(), n, "{n} parts");
            let mut got = Vec::new();
            let mut lines = 0;
            for p in parts {
                lines += source::each_unquoted_field_of(&path, p, b',', 0, &Default::default(), &mut |_, id| {
                    got.push(id.to_vec())
                })
                .unwrap()
                .unwrap();
            }
            assert_eq!(got, whole, "{n} parts");
            assert_eq!(lines as usize, text.matches('\n').count() + text.matches("\rC").count());
        }
    }

    /// The memchr scan of the id column gives exactly what the csv reader gives, line breaks,
    /// blank lines, short rows, title rows and a last line without a break included.
    #[test]
    fn unquoted_scan_matches_the_csv_reader() {
        let files: [&[u8]; 6] = [
            b"title\r\n\r\nid,a\r\nA1,x\r\n\r\nA2,y\r\n,z\r\nA3",
            b"\xEF\xBB\xBFid,a\nA1,1\rA2,2\r\r\nA1,3\n",
            b"a,id,b\n1,A1,2\n1\n1,,\n1,A2\n\n\n1,A3,4,5\n",
            "a\tid\nx\tA1\ny\t户１\n".as_bytes(),
            b"id\n",
            b"id,a\nA1,1\nA2,\"2\"\n",
        ];
        for (k, bytes) in files.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.csv");
            std::fs::write(&path, bytes).unwrap();
            let delim = if k == 3 { b'\t' } else { b',' };
            let col = if k == 2 || k == 3 { 1 } else { 0 };
            let header_row = if k == 0 { 3 } else { 1 };
            let mut fast = Vec::new();
            let whole =
                source::each_unquoted_field(&path, header_row, delim, col, &Default::default(), &mut |row, id| {
                    fast.push((row, id.to_vec()))
                })
                .unwrap();
            assert_eq!(whole, k != 5, "file {k}: a quote ends the fast scan");
            if !whole {
                continue;
            }
            let (mut rows, kind) = source::open(&path, &OpenOptions::default()).unwrap();
            assert_eq!(kind, Kind::Csv { encoding: Encoding::Utf8, delimiter: delim }, "file {k}");
            let mut slow = Vec::new();
            let mut r = RawRow::default();
            while let Some(read) = rows.read_into(&path, &mut r) {
                read.unwrap();
                if r.row > header_row {
                    if let Some(id) = r.record.get(col) {
                        slow.push((r.row, id.to_vec()));
                    }
                }
            }
            assert_eq!(fast, slow, "file {k}");
        }
    }

    /// A cell read straight from its bytes ([`read_straight`]) is the cell [`RuleSet::set_cell`]
    /// makes of its text, with no problem, whatever the household before left in the slot; and
    /// the usual spellings of each kind are read straight.
    #[test]
    fn straight_reads_are_what_set_cell_reads() {
        let rules = crate::ruleset::load_str(crate::ruleset::embedded("national").unwrap(), "national").unwrap();
        let texts = [
            "是",
            "否",
            "√",
            "3500",
            "3500.5",
            "3500.505",
            "３５００",
            "3,500",
            "0",
            "12",
            "4.0",
            "张某华",
            "张某",
            "李某芳",
            "D000000001",
            "D000000002",
            " 张某华",
            "张某华 ",
            "张\u{3000}华",
            "（张）",
            "Ｄ1",
            "é",
            "𝄞",
            "a\u{a0}b",
            "\u{7f}x",
            "x\u{1}y",
            "520000196803120313",
            "11010519491231002x",
            "11010519491231002X",
            "520000196803120314",
            "440524188001010014",
            "130503670401001",
            "A",
            "B",
            "C",
            "脱贫户",
            "一般农户",
            "鉴定安全",
            "2023-06",
            "202306",
            "不详",
            "\u{feff}x",
            "x\u{fffd}",
        ];
        let before = [
            Cell::Blank,
            Cell::Value(Scalar::Text("张某华".into())),
            Cell::Value(Scalar::Text("D000000009".into())),
            Cell::Value(Scalar::Text("x".into())),
            Cell::Value(Scalar::Num(crate::value::Num(5))),
            Cell::Invalid("y".into()),
        ];
        let mut straight = 0;
        for (f, field) in rules.fields.iter().enumerate() {
            let read = ColumnRead::of(&rules, Some(f as u16), 1000);
            for t in texts {
                for old in &before {
                    let mut hh = Household { cells: vec![Cell::Blank; rules.fields.len()], ..Household::default() };
                    hh.cells[f] = old.clone();
                    let mut want = hh.clone();
                    rules.set_cell(&mut want, f as u16, t, "列");
                    if read_straight(&rules, read, t.as_bytes(), &mut hh.cells[f]) {
                        straight += 1;
                        assert!(want.problems.is_empty(), "{} {t:?}", field.key);
                        assert_eq!(hh.cells, want.cells, "{} {t:?} after {old:?}", field.key);
                    } else {
                        assert_eq!(&hh.cells[f], old, "{} {t:?}: nothing changed", field.key);
                    }
                }
            }
        }
        assert!(straight > 1000, "{straight}");
    }

    /// The usual names, ids and numbers are read straight; a text `normalize` would change, an
    /// invalid ID number, is not.
    #[test]
    fn usual_cells_are_read_straight() {
        let rules = crate::ruleset::load_str(crate::ruleset::embedded("national").unwrap(), "national").unwrap();
        let key = |k: &str| rules.field_index[k];
        for (k, t, yes) in [
            ("household_id", "D000000001", true),
            ("head_name", "张某华", true),
            ("head_name", " 张某华", false),
            ("head_name", "Ｄ1", false),
            ("head_id", "11010519491231002x", true),
            ("head_id", "520000196803120314", false),
            ("income_wage", "3500.5", true),
        ] {
            let mut slot = Cell::Blank;
            let read = ColumnRead::of(&rules, Some(key(k)), 1000);
            assert_eq!(read_straight(&rules, read, t.as_bytes(), &mut slot), yes, "{k} {t:?}");
        }
    }

    #[test]
    fn headers_match_across_widths_and_spaces() {
        assert_eq!(header_key(" 人均纯收入（元） "), header_key("人均纯收入(元)"));
        assert_eq!(header_key("\u{feff}户编号"), "户编号");
        assert_eq!(header_key("县（市、区、旗）"), header_key("县(市、区、旗)"));
    }

    /// Random cells of the bytes that matter to the fast paths: visible ASCII, spaces, the lead
    /// and continuation bytes of CJK, full-width and space characters, `EF` (BOM, U+FFFD), NUL,
    /// bytes that are never UTF-8.
    fn messy_cells(seed: u64, n: usize) -> Vec<Vec<u8>> {
        let pieces: [&[u8]; 14] = [
            b"D1",
            b"x",
            b" ",
            b"\t",
            "张".as_bytes(),
            "\u{3000}".as_bytes(),
            "\u{feff}".as_bytes(),
            "Ｄ".as_bytes(),
            "\u{a0}".as_bytes(),
            b"\xE4\xB8",
            b"\xFF",
            b"\0",
            b"\xEF\xBF\xBD",
            b"~",
        ];
        let mut rng = crate::test_rng::Lcg(seed);
        (0..n)
            .map(|_| (0..rng.below(5)).flat_map(|_| pieces[rng.below(pieces.len())].iter().copied()).collect())
            .collect()
    }

    /// A cell's blankness without decoding it is what decoding it tells.
    #[test]
    fn blank_cells_are_found_as_their_text_says() {
        for c in messy_cells(3, 20_000) {
            assert_eq!(cell_is_blank(&c), c.is_empty() || cell::is_blank(&text(&c).0), "{c:?}");
        }
    }

    /// An id hashed straight from its bytes hashes as its decoded, normalised text does.
    #[test]
    fn plain_ids_hash_as_their_normalised_text() {
        let hash = IdHash::new();
        for c in messy_cells(4, 20_000) {
            let id = String::from_utf8_lossy(&c);
            let want = (!cell::is_blank(&id)).then(|| hash.of(&cell::normalize(&id)));
            assert_eq!(hash.of_cell(&c), want, "{c:?}");
        }
    }

    /// An empty cell read by its column's plan sets what the field's blank (or `set_cell` of an
    /// empty text) sets, from whatever cell the household before left, for every field of every
    /// built-in rule set.
    #[test]
    fn empty_cells_read_by_plan_are_the_fields_blank() {
        use crate::household::Missing;
        for name in ["national", "guizhou-2023", "hubei-2023", "yunnan-2025", "dehua-2024", "lanzhou-xinqu-2025"] {
            let rules = crate::ruleset::load(name).unwrap();
            let blanks: Vec<Option<Cell>> = (0..rules.fields.len() as u16).map(|f| rules.blank_cell(f)).collect();
            let before = [
                Cell::Blank,
                Cell::Value(Scalar::Text("无".into())),
                Cell::BlankAs(Scalar::Text("无".into())),
                Cell::BlankAs(Scalar::Text("否".into())),
                Cell::BlankAs(Scalar::Num(crate::value::Num(0))),
                Cell::BlankAs(Scalar::Num(crate::value::Num(1))),
                Cell::BlankAs(Scalar::Bool(false)),
                Cell::BlankAs(Scalar::Bool(true)),
                Cell::BlankAs(Scalar::Enum(0)),
                Cell::BlankAs(Scalar::Enum(1)),
                Cell::Value(Scalar::Num(crate::value::Num(0))),
                Cell::Invalid("x".into()),
                Cell::Absent(Missing::Field(0)),
            ];
            for f in 0..rules.fields.len() as u16 {
                let plan = ColumnPlan::of(&rules, Some(f), 1000);
                for old in &before {
                    let mut want = Household { cells: vec![old.clone(); rules.fields.len()], ..Household::default() };
                    rules.set_cell(&mut want, f, "", "列");
                    let mut got = want.cells.clone();
                    got[f as usize] = old.clone();
                    if plan.blank.set(&mut got[f as usize], || blanks[f as usize].as_ref()) {
                        assert!(want.problems.is_empty(), "{name} {f}");
                        assert_eq!(got[f as usize], want.cells[f as usize], "{name} field {f} after {old:?}");
                    } else {
                        assert_eq!(plan.blank, BlankRead::SetCell, "{name} {f}");
                    }
                }
            }
        }
    }
}

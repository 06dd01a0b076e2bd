//! Cells kept compactly: what `adjust` keeps of each previous-quarter household until its current
//! row comes (a million households, a few cells each).
//!
//! A [`Cell`] is 32 bytes (its largest value, a text, is a box and a length), though most kept
//! cells are a number, an option or a blank. Kept as they are, three a household took 96 MB at
//! a million households, in fresh pages that the kernel must zero first (in `perf`, about 7 % of
//! `adjust`'s CPU). Here each cell is one tag byte (its kind and its value's kind) and one 8-byte
//! word (the value itself, or where its text is in one arena of the texts kept): 9 bytes a cell,
//! whatever kinds of fields a rule file's lists keep.

use crate::household::{Cell, Missing, Scalar};
use crate::value::Num;

/// Cells, each as a tag and a word ([`PackedCells::push`]), texts in one arena.
#[derive(Default, Clone)]
pub struct PackedCells {
    tags: Vec<u8>,
    words: Vec<u64>,
    /// The texts, each after its length (8 bytes, little-endian); a text's word is where its
    /// length starts.
    texts: Vec<u8>,
}

/// A run of packed cells (one household's), as [`PackedCells::view`] gives it.
#[derive(Clone, Copy)]
pub struct PackedView<'a> {
    tags: &'a [u8],
    words: &'a [u64],
    texts: &'a [u8],
}

// The tag: the cell's kind in the high bits, its value's kind in the low three.
const BLANK: u8 = 0;
const ABSENT: u8 = 1 << 3;
const ABSENT_AS: u8 = 2 << 3;
const INVALID: u8 = 3 << 3;
const VALUE: u8 = 4 << 3;
const BLANK_AS: u8 = 5 << 3;
const DERIVED: u8 = 6 << 3;
// The value's kind (of `ABSENT`: which column is missing).
const BOOL: u8 = 0;
const NUM: u8 = 1;
const ENUM: u8 = 2;
const MONTH: u8 = 3;
const TEXT: u8 = 4;
const ABSENT_FIELD: u8 = ABSENT;
const ABSENT_MEMBER: u8 = ABSENT | 1;
const ABSENT_LIST: u8 = ABSENT | 2;

impl PackedCells {
    pub fn with_capacity(n: usize) -> PackedCells {
        PackedCells { tags: Vec::with_capacity(n), words: Vec::with_capacity(n), texts: Vec::new() }
    }

    pub fn reserve(&mut self, n: usize) {
        self.tags.reserve(n);
        self.words.reserve(n);
    }

    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// Add a copy of `c`.
    #[inline]
    pub fn push(&mut self, c: &Cell) {
        let (kind, s) = match c {
            Cell::Blank => return self.put(BLANK, 0),
            Cell::Absent(m) => {
                return match *m {
                    Missing::Field(i) => self.put(ABSENT_FIELD, i.into()),
                    Missing::Member(i) => self.put(ABSENT_MEMBER, i.into()),
                    Missing::List(i) => self.put(ABSENT_LIST, i.into()),
                };
            }
            Cell::Invalid(t) => return self.put_text(INVALID, t),
            Cell::AbsentAs(s) => (ABSENT_AS, s),
            Cell::Value(s) => (VALUE, s),
            Cell::BlankAs(s) => (BLANK_AS, s),
            Cell::Derived(s) => (DERIVED, s),
        };
        match s {
            Scalar::Bool(b) => self.put(kind | BOOL, (*b).into()),
            Scalar::Num(n) => self.put(kind | NUM, n.0 as u64),
            Scalar::Enum(e) => self.put(kind | ENUM, (*e).into()),
            Scalar::Month(m) => self.put(kind | MONTH, *m as u32 as u64),
            Scalar::Text(t) => self.put_text(kind | TEXT, t),
        }
    }

    #[inline(always)]
    fn put(&mut self, tag: u8, word: u64) {
        self.tags.push(tag);
        self.words.push(word);
    }

    fn put_text(&mut self, tag: u8, t: &str) {
        let at = self.texts.len() as u64;
        self.texts.extend_from_slice(&(t.len() as u64).to_le_bytes());
        self.texts.extend_from_slice(t.as_bytes());
        self.put(tag, at);
    }

    /// Move `other`'s cells after these (its texts' places moved with them).
    pub fn append(&mut self, other: &mut PackedCells) {
        if !other.texts.is_empty() {
            let base = self.texts.len() as u64;
            for (&tag, w) in other.tags.iter().zip(&mut other.words) {
                if has_text(tag) {
                    *w += base;
                }
            }
            self.texts.append(&mut other.texts);
        }
        self.tags.append(&mut other.tags);
        self.words.append(&mut other.words);
    }

    /// Cells `range`.
    pub fn view(&self, range: std::ops::Range<usize>) -> PackedView<'_> {
        PackedView { tags: &self.tags[range.clone()], words: &self.words[range], texts: &self.texts }
    }
}

/// Whether a cell of tag `tag` is a text (its word is where the text is).
#[inline(always)]
fn has_text(tag: u8) -> bool {
    tag == INVALID || (tag >= ABSENT_AS && tag & 7 == TEXT)
}

impl<'a> PackedView<'a> {
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The text at `at` of the arena.
    fn text(&self, at: u64) -> &'a str {
        let at = at as usize;
        let (len, rest) = self.texts[at..].split_at(8);
        let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
        // (Bytes copied from a `str`, whole: valid UTF-8 again.)
        std::str::from_utf8(&rest[..len]).expect("a text kept whole")
    }

    /// Make `to` a copy of cell `k`: in place, without a call, unless it is a text (then
    /// allocated only when `to` does not hold that text already).
    #[inline(always)]
    pub fn set(&self, k: usize, to: &mut Cell) {
        self.set_one(self.tags[k], self.words[k], to);
    }

    /// Make `to[slot]` a copy of each cell in turn, for the `(slot, _)`s of `slots` (those
    /// past the end of `to`, or past these cells, are left out), as [`PackedView::set`].
    #[inline(always)]
    pub fn set_slots(&self, slots: &[(u16, u16)], to: &mut [Cell]) {
        for ((&(slot, _), &tag), &w) in slots.iter().zip(self.tags).zip(self.words) {
            if let Some(c) = to.get_mut(slot as usize) {
                self.set_one(tag, w, c);
            }
        }
    }

    #[inline(always)]
    fn set_one(&self, tag: u8, w: u64, to: &mut Cell) {
        match tag {
            BLANK => return *to = Cell::Blank,
            ABSENT_FIELD => return *to = Cell::Absent(Missing::Field(w as u16)),
            ABSENT_MEMBER => return *to = Cell::Absent(Missing::Member(w as u16)),
            ABSENT_LIST => return *to = Cell::Absent(Missing::List(w as u16)),
            _ if has_text(tag) => return self.set_text(tag, self.text(w), to),
            _ => {}
        }
        let s = match tag & 7 {
            BOOL => Scalar::Bool(w != 0),
            NUM => Scalar::Num(Num(w as i64)),
            ENUM => Scalar::Enum(w as u16),
            _ => Scalar::Month(w as u32 as i32),
        };
        *to = match tag & !7 {
            ABSENT_AS => Cell::AbsentAs(s),
            VALUE => Cell::Value(s),
            BLANK_AS => Cell::BlankAs(s),
            _ => Cell::Derived(s),
        };
    }

    #[cold]
    fn set_text(&self, tag: u8, t: &str, to: &mut Cell) {
        let same = match (&*to, tag & !7) {
            (Cell::Invalid(old), _) if tag == INVALID => **old == *t,
            (Cell::AbsentAs(Scalar::Text(old)), ABSENT_AS)
            | (Cell::Value(Scalar::Text(old)), VALUE)
            | (Cell::BlankAs(Scalar::Text(old)), BLANK_AS)
            | (Cell::Derived(Scalar::Text(old)), DERIVED) => **old == *t,
            _ => false,
        };
        if same {
            return;
        }
        if tag == INVALID {
            return *to = Cell::Invalid(t.into());
        }
        let s = Scalar::Text(t.into());
        *to = match tag & !7 {
            ABSENT_AS => Cell::AbsentAs(s),
            VALUE => Cell::Value(s),
            BLANK_AS => Cell::BlankAs(s),
            _ => Cell::Derived(s),
        };
    }

    /// Cell `k`, as it was pushed.
    pub fn get(&self, k: usize) -> Cell {
        let mut c = Cell::Blank;
        self.set(k, &mut c);
        c
    }
}

impl std::fmt::Debug for PackedView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries((0..self.len()).map(|k| self.get(k))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of cell comes back as it was pushed, after chunks are appended (texts moved),
    /// and a cell set over another of any kind becomes it.
    #[test]
    fn cells_come_back_as_pushed() {
        let scalars = [
            Scalar::Bool(true),
            Scalar::Bool(false),
            Scalar::Num(Num(0)),
            Scalar::Num(Num(-1)),
            Scalar::Num(Num(i64::MIN)),
            Scalar::Num(Num(i64::MAX)),
            Scalar::Enum(0),
            Scalar::Enum(u16::MAX),
            Scalar::Month(-5),
            Scalar::Month(i32::MAX),
            Scalar::Month(i32::MIN),
            Scalar::Text("".into()),
            Scalar::Text("户主 张三".into()),
        ];
        let mut cells = vec![
            Cell::Blank,
            Cell::Absent(Missing::Field(7)),
            Cell::Absent(Missing::Member(u16::MAX)),
            Cell::Absent(Missing::List(0)),
            Cell::Invalid("".into()),
            Cell::Invalid("三口人".into()),
        ];
        for s in scalars {
            cells.extend([
                Cell::AbsentAs(s.clone()),
                Cell::Value(s.clone()),
                Cell::BlankAs(s.clone()),
                Cell::Derived(s.clone()),
            ]);
        }
        // Two chunks, the second appended to the first (its texts' places moved).
        let mut all = PackedCells::default();
        for part in [&cells[..], &cells[..]] {
            let mut chunk = PackedCells::with_capacity(4);
            for c in part.iter().rev() {
                chunk.push(c);
            }
            all.append(&mut chunk);
            assert!(chunk.is_empty());
        }
        let n = cells.len();
        assert_eq!(all.len(), 2 * n);
        let expected: Vec<&Cell> = cells.iter().rev().chain(cells.iter().rev()).collect();
        let view = all.view(0..2 * n);
        for (k, want) in expected.iter().enumerate() {
            assert_eq!(&view.get(k), *want, "cell {k}");
            for over in &cells {
                let mut to = over.clone();
                view.set(k, &mut to);
                assert_eq!(&to, *want, "cell {k} over {over:?}");
            }
        }
        assert_eq!(format!("{:?}", all.view(n..n + 2)), format!("{:?}", [expected[n], expected[n + 1]]));
        // Into slots given in another order (one past the end of the cells set: left out).
        let slots: Vec<(u16, u16)> = (0..n as u16).rev().map(|k| (k, 0)).chain([(n as u16, 0)]).collect();
        let mut to = vec![Cell::Invalid("x".into()); n];
        all.view(n..2 * n).set_slots(&slots, &mut to);
        for k in 0..n {
            assert_eq!(&to[n - 1 - k], expected[n + k], "slot {}", n - 1 - k);
        }
    }
}

//! The cells of one row as read: its bytes and where each cell ends in them.
//!
//! A CSV line without quotes is kept as it is, delimiters and all, each cell found by its
//! delimiter ([`Record::set_line`]: no copy per cell, no CSV state machine); the cells of a quoted
//! record (unescaped by csv-core) and of a worksheet row are kept one after another, with nothing
//! between them ([`Record::push_field`]).

/// One row's cells (what `csv::ByteRecord` held until 2026-12-04, with the methods the readers
/// use).
#[derive(Clone, Default)]
pub struct Record {
    /// The bytes the cells are cut from.
    bytes: Vec<u8>,
    /// Where each cell ends in `bytes`: the first `n` (the rest is room kept from longer rows,
    /// written over, so that a line's cells are stored without a check of the room for each).
    ends: Vec<usize>,
    n: usize,
    /// Bytes between a cell's end and the next cell's start: 1 for a line kept whole (the
    /// delimiter), 0 for cells pushed one after another.
    gap: usize,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    /// No cells, with room for `bytes` bytes of `cells` cells.
    pub fn with_capacity(bytes: usize, cells: usize) -> Record {
        Record { bytes: Vec::with_capacity(bytes), ends: Vec::with_capacity(cells), n: 0, gap: 0 }
    }

    /// No cells.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.n = 0;
        self.gap = 0;
    }

    /// How many cells.
    #[inline]
    pub fn len(&self) -> usize {
        self.n
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The bytes the cells are cut from: the line itself (delimiters included) for a line kept
    /// whole, else the cells one after another.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// Cell `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends[..self.n].get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] + self.gap };
        self.bytes.get(start..end)
    }

    /// What the cells are cut from: the bytes ([`Record::as_slice`]), where each cell ends in
    /// them, and the bytes between a cell's end and the next cell's start (cell `i` is
    /// `bytes[start..ends[i]]`, `start` being 0 for the first cell and `ends[i - 1] + gap` after).
    #[inline]
    pub(crate) fn parts_read(&self) -> (&[u8], &[usize], usize) {
        (&self.bytes, &self.ends[..self.n], self.gap)
    }

    /// The cells in order.
    #[inline]
    pub fn iter(&self) -> Cells<'_> {
        Cells { record: self, front: 0, back: self.n, start: 0 }
    }

    /// Add a cell after the others (a record being built cell by cell has no gap).
    #[inline]
    pub fn push_field(&mut self, cell: &[u8]) {
        if self.gap != 0 {
            self.unline();
        }
        self.bytes.extend_from_slice(cell);
        self.ends.truncate(self.n);
        self.ends.push(self.bytes.len());
        self.n += 1;
    }

    /// Cells after a whole line: the line's cells are copied without their delimiters.
    #[cold]
    fn unline(&mut self) {
        let cells: Vec<Vec<u8>> = self.iter().map(<[u8]>::to_vec).collect();
        self.clear();
        cells.iter().for_each(|c| self.push_field(c));
    }

    /// The record of one CSV line without quotes (no line break in it): the line kept whole, its
    /// cells split at `delimiter` (a trailing delimiter ends an empty last cell), exactly as a CSV
    /// reader splits such a line.
    pub fn set_line(&mut self, line: &[u8], delimiter: u8) {
        self.bytes.clear();
        self.bytes.extend_from_slice(line);
        self.gap = 1;
        let n = delimiters(line, delimiter, &mut self.ends);
        self.ends[n] = line.len();
        self.n = n + 1;
    }

    /// The buffers a csv-core parse writes a record into: the cells' bytes (one after another)
    /// and their ends, both to be filled from the start, grown by the caller when full and
    /// truncated to what was written.
    pub(crate) fn parts(&mut self) -> (&mut Vec<u8>, &mut Vec<usize>) {
        self.gap = 0;
        // No cells until [`Record::parsed`].
        self.n = 0;
        (&mut self.bytes, &mut self.ends)
    }

    /// After a csv-core parse into [`Record::parts`]: the cells are the ends written.
    pub(crate) fn parsed(&mut self) {
        self.n = self.ends.len();
    }
}

/// The positions of `d` in `line`, in order, into `out[..n]`, returning `n`; `out` is grown
/// to hold one more. Eight bytes at a time: a word whose bytes equal to `d` become zero bytes,
/// found exactly (without a borrow between bytes); room for a word's eight is made before it.
#[inline]
fn delimiters(line: &[u8], d: u8, out: &mut Vec<usize>) -> usize {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let pattern = u64::from_le_bytes([d; 8]);
    let mut words = line.chunks_exact(8);
    let (mut base, mut n) = (0, 0);
    for w in &mut words {
        if out.len() < n + 9 {
            out.resize(2 * out.len() + 9, 0);
        }
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ pattern;
        // High bit of each byte: set where the byte of `x` is zero.
        let mut zero = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
        while zero != 0 {
            out[n] = base + (zero.trailing_zeros() / 8) as usize;
            n += 1;
            zero &= zero - 1;
        }
        base += 8;
    }
    if out.len() < n + 9 {
        out.resize(n + 9, 0);
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == d {
            out[n] = base + i;
            n += 1;
        }
    }
    n
}

impl PartialEq for Record {
    /// The same cells (however they are kept).
    fn eq(&self, other: &Record) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

/// The cells of a [`Record`], from either end.
pub struct Cells<'a> {
    record: &'a Record,
    front: usize,
    back: usize,
    /// Where cell `front` starts.
    start: usize,
}

impl<'a> Iterator for Cells<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        let r = self.record;
        let (start, end) = (self.start, r.ends[self.front]);
        self.start = end + r.gap;
        self.front += 1;
        r.bytes.get(start..end)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.back - self.front, Some(self.back - self.front))
    }
}

impl DoubleEndedIterator for Cells<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.record.get(self.back)
    }
}

impl ExactSizeIterator for Cells<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(r: &Record) -> Vec<&[u8]> {
        r.iter().collect()
    }

    /// A line's cells are what splitting it at the delimiter gives, at every length and place
    /// (the eight-byte words and the bytes after them).
    #[test]
    fn a_line_splits_as_split_does() {
        let mut rng = crate::test_rng::Lcg(11);
        let mut r = Record::new();
        for _ in 0..20_000 {
            let n = rng.below(40);
            let line: Vec<u8> = (0..n).map(|_| [b'a', b',', b'\t', 0xE6, 0x80, 0xFF, 0][rng.below(7)]).collect();
            for d in [b',', b'\t'] {
                r.set_line(&line, d);
                let want: Vec<&[u8]> = line.split(|&b| b == d).collect();
                assert_eq!(cells(&r), want, "{line:?}");
                assert_eq!(r.len(), want.len());
                assert_eq!(r.iter().rev().collect::<Vec<_>>(), want.iter().rev().copied().collect::<Vec<_>>());
                for (i, c) in want.iter().enumerate() {
                    assert_eq!(r.get(i), Some(*c));
                }
                assert_eq!(r.get(want.len()), None);
                assert_eq!(r.as_slice(), &line[..]);
            }
        }
    }

    #[test]
    fn cells_pushed_after_a_line_follow_its_cells() {
        let mut r = Record::new();
        r.set_line(b"a,,bc", b',');
        r.push_field(b"d");
        let mut want = Record::new();
        for c in [&b"a"[..], b"", b"bc", b"d"] {
            want.push_field(c);
        }
        assert_eq!(r, want);
        assert_eq!(r.as_slice(), b"abcd");
        assert_eq!(format!("{r:?}"), r#"["a", "", "bc", "d"]"#);
        r.clear();
        assert!(r.is_empty() && r.iter().next().is_none());
    }
}

//! A worksheet's rows kept after its first whole reading, so that it is read from the workbook
//! once: the duplicate-id scan (and a person export's grouping pass) read every row before the
//! assessment reads them again, and reading an .xlsx sheet (inflating it, scanning its XML, looking
//! up its shared strings) costs several times what the rest of a row's work does.
//!
//! The rows go, as they are read, into an unnamed temporary file (removed by the system when it is
//! closed, and when the program ends however it ends) in a compact form: for each row its number,
//! the length of the rest, its number of cells, each cell's length, then the cells' bytes one after
//! another (written and read back in one piece, as a [`crate::input::record::Record`] keeps them).
//! Once the sheet has been read to its end without error, the file is kept for the run (the last
//! few, keyed by the workbook's path, size and modification time, the sheet and the limits it was
//! read within); any later reading of that sheet reads the spool. Memory stays bounded: the spool
//! is on disk, and read through a buffer.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::source::Limits;
use super::RawRow;

/// What a spool was read from: the same file, unchanged, the same sheet and limits.
#[derive(Clone, PartialEq)]
struct Key {
    path: PathBuf,
    len: u64,
    modified: Option<std::time::SystemTime>,
    limits: Limits,
    sheet: String,
}

impl Key {
    fn of(path: &Path, sheet: &str, limits: &Limits) -> Option<Key> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Key {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: meta.modified().ok(),
            limits: *limits,
            sheet: sheet.into(),
        })
    }
}

/// A sheet's rows, whole, in a temporary file.
pub struct Spool {
    file: Mutex<File>,
    key: Key,
    /// The sheet is the workbook's first (what a run without `--sheet` reads).
    first: bool,
}

/// Spools kept for the run: a run reads one or two workbooks (adjust: two quarters).
static SPOOLS: Mutex<Vec<Arc<Spool>>> = Mutex::new(Vec::new());
const KEPT: usize = 4;

/// The spool of sheet `sheet` (the first sheet when `None`) of the workbook at `path`, read within
/// `limits`, if one was written this run; with the sheet's name.
pub fn find(path: &Path, sheet: Option<&str>, limits: &Limits) -> Option<(String, Arc<Spool>)> {
    let spools = SPOOLS.lock().unwrap_or_else(|p| p.into_inner());
    let found = spools
        .iter()
        .rev()
        .find(|s| s.key.path == path && s.key.limits == *limits && sheet.map_or(s.first, |n| n == s.key.sheet))?;
    // The file as it is now: changed since, it is read again.
    let now = Key::of(path, &found.key.sheet, limits)?;
    (now == found.key).then(|| (found.key.sheet.clone(), Arc::clone(found)))
}

/// Rows being written to a spool as a sheet is read from its first row.
pub struct Writer {
    out: BufWriter<File>,
    key: Key,
    first: bool,
    /// A row's cells' lengths, before they are written.
    lens: Vec<u8>,
}

impl Writer {
    /// A spool for sheet `sheet` of `path` (`first`: the workbook's first sheet); `None` if no
    /// temporary file can be made (the sheet is then read from the workbook each time).
    pub fn new(path: &Path, sheet: &str, first: bool, limits: &Limits) -> Option<Writer> {
        let key = Key::of(path, sheet, limits)?;
        let file = tempfile::tempfile().ok()?;
        Some(Writer { out: BufWriter::with_capacity(256 << 10, file), key, first, lens: Vec::new() })
    }

    /// Add a row; an error (a full disk) gives the spool up.
    pub fn row(&mut self, r: &RawRow) -> io::Result<()> {
        let (bytes, ends, gap) = r.record.parts_read();
        let lens = &mut self.lens;
        lens.clear();
        let (mut start, mut len) = (0, 0);
        for &end in ends {
            let mut v = [0u8; 10];
            match end - start {
                n @ 0..0x80 => lens.push(n as u8),
                n => {
                    let k = varint(&mut v, n as u64);
                    lens.extend_from_slice(&v[..k]);
                }
            }
            len += end - start;
            start = end + gap;
        }
        let cells = ends.len() as u64;
        let mut head = [0u8; 30];
        let mut n = varint(&mut head, r.row);
        n += varint(&mut head[n..], varint_len(cells) + (lens.len() + len) as u64);
        n += varint(&mut head[n..], cells);
        self.out.write_all(&head[..n])?;
        self.out.write_all(lens)?;
        if gap == 0 {
            // The cells one after another, as they are kept.
            return self.out.write_all(&bytes[..len]);
        }
        r.record.iter().try_for_each(|cell| self.out.write_all(cell))
    }

    /// The sheet was read to its end: the spool is kept for the run's later readings.
    pub fn finish(self) {
        let Writer { out, key, first, .. } = self;
        let Ok(file) = out.into_inner() else { return };
        let spool = Arc::new(Spool { file: Mutex::new(file), key, first });
        let mut spools = SPOOLS.lock().unwrap_or_else(|p| p.into_inner());
        spools.retain(|s| s.key != spool.key);
        if spools.len() >= KEPT {
            spools.remove(0);
        }
        spools.push(spool);
    }
}

/// The bytes of a varint (LEB128) of `v` written into `out`.
fn varint(out: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

fn varint_len(v: u64) -> u64 {
    u64::from((64 - (v | 1).leading_zeros()).div_ceil(7))
}

/// A spool read from its start, with its own position (readers do not share one).
struct At {
    spool: Arc<Spool>,
    at: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut f = self.spool.file.lock().unwrap_or_else(|p| p.into_inner());
        f.seek(SeekFrom::Start(self.at))?;
        let n = f.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// The rows of a spool, in order.
pub struct Reader {
    src: BufReader<At>,
    body: Vec<u8>,
}

impl Reader {
    pub fn new(spool: Arc<Spool>) -> Reader {
        Reader { src: BufReader::with_capacity(256 << 10, At { spool, at: 0 }), body: Vec::new() }
    }

    fn varint(&mut self) -> io::Result<Option<u64>> {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let mut b = [0u8];
            if self.src.read(&mut b)? == 0 {
                return if shift == 0 { Ok(None) } else { Err(io::ErrorKind::UnexpectedEof.into()) };
            }
            v |= u64::from(b[0] & 0x7f) << shift;
            if b[0] & 0x80 == 0 {
                return Ok(Some(v));
            }
            shift += 7;
            if shift > 63 {
                return Err(io::ErrorKind::InvalidData.into());
            }
        }
    }

    /// The next row into `raw` (its buffers reused); `false` at the end. With `skip`, the row is
    /// passed over, not decoded.
    pub fn next(&mut self, raw: &mut RawRow, skip: bool) -> io::Result<bool> {
        let Some(row) = self.varint()? else { return Ok(false) };
        let len = self.varint()?.ok_or(io::ErrorKind::UnexpectedEof)? as usize;
        if skip {
            io::copy(&mut (&mut self.src).take(len as u64), &mut io::sink())?;
            return Ok(true);
        }
        self.body.resize(len, 0);
        self.src.read_exact(&mut self.body)?;
        raw.row = row;
        raw.members.clear();
        raw.record.clear();
        let b = &self.body[..];
        let bad = || io::Error::from(io::ErrorKind::InvalidData);
        let (cells, mut at) = read_varint(b, 0).ok_or_else(bad)?;
        let (bytes, ends) = raw.record.parts();
        ends.clear();
        ends.reserve(usize::try_from(cells).map_err(|_| bad())?.min(b.len()));
        let mut end = 0usize;
        for _ in 0..cells {
            let (n, k) = read_varint(b, at).ok_or_else(bad)?;
            end = end.checked_add(usize::try_from(n).map_err(|_| bad())?).ok_or_else(bad)?;
            ends.push(end);
            at = k;
        }
        let cells = b.get(at..).filter(|c| c.len() == end).ok_or_else(bad)?;
        bytes.clear();
        bytes.extend_from_slice(cells);
        raw.record.parsed();
        Ok(true)
    }
}

/// A varint of `b` at `at`: its value and where it ends.
#[inline]
fn read_varint(b: &[u8], mut at: usize) -> Option<(u64, usize)> {
    // One byte (a cell shorter than 128 bytes).
    if let Some(&x @ 0..0x80) = b.get(at) {
        return Some((u64::from(x), at + 1));
    }
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let x = *b.get(at)?;
        at += 1;
        v |= u64::from(x & 0x7f) << shift;
        if x & 0x80 == 0 {
            return Some((v, at));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written to a spool come back as they were, skipped rows passed over, and the spool
    /// is found again only for the same file, sheet and limits.
    #[test]
    fn rows_come_back_from_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.xlsx");
        std::fs::write(&path, b"x").unwrap();
        let limits = Limits::default();
        let mut w = Writer::new(&path, "户表", true, &limits).unwrap();
        let long = "长".repeat(100);
        let rows: Vec<RawRow> = (0..300u64)
            .map(|i| {
                let mut r = RawRow { row: i * 3 + 1, ..RawRow::default() };
                for c in ["", "a", &long, &i.to_string()].iter().take(1 + i as usize % 4) {
                    r.record.push_field(c.as_bytes());
                }
                r
            })
            .collect();
        let mut rows = rows;
        // A record kept as a line (its cells cut at delimiters), and one with cells after a line.
        for (i, tail) in [(300u64, None), (301, Some("尾"))] {
            let mut r = RawRow { row: i * 3 + 1, ..RawRow::default() };
            r.record.set_line("a,,长,".as_bytes(), b',');
            if let Some(t) = tail {
                r.record.push_field(t.as_bytes());
            }
            rows.push(r);
        }
        for r in &rows {
            w.row(r).unwrap();
        }
        assert!(find(&path, None, &limits).is_none());
        w.finish();
        assert!(find(&path, Some("其他"), &limits).is_none());
        assert!(find(&path, None, &Limits { max_columns: 9, ..limits }).is_none());
        let (name, spool) = find(&path, None, &limits).unwrap();
        assert_eq!(name, "户表");
        for skip in [0, 1, 299, 300, 302] {
            let mut r = Reader::new(Arc::clone(&spool));
            let mut raw = RawRow::default();
            for _ in 0..skip {
                assert!(r.next(&mut raw, true).unwrap());
            }
            for want in &rows[skip..] {
                assert!(r.next(&mut raw, false).unwrap());
                assert_eq!((raw.row, &raw.record), (want.row, &want.record));
            }
            assert!(!r.next(&mut raw, false).unwrap());
        }
        // The file changed: read again.
        std::fs::write(&path, b"xy").unwrap();
        assert!(find(&path, Some("户表"), &limits).is_none());
    }
}

//! A large sheet's rows parsed on worker threads while the sheet is inflated: the reading thread
//! inflates the part and cuts it, after each megabyte or so, just after the last `</row>`; each
//! block goes to a worker, which reads its cells with the same code as a sheet read cell by cell
//! ([`super::read_cells`]) and builds its rows; the reading thread takes the blocks back in order
//! and hands their rows on whole ([`super::Sink::row`]). The blocks in flight are few (two a
//! worker), so memory stays bounded whatever the sheet's size.
//!
//! A block is read as if on its own: from the first row after the cut, with rows counted from
//! there until a row or cell says its number. What a worker cannot be sure of it does not guess:
//! a block whose cut was not between two tags (a `</row>` in a comment, say), with an error of any
//! kind (a damaged reference, a text over the limit), with a `</sheetData>`, with a row over the
//! limits or numbered both ways, or whose first row continues the row before it, is read again —
//! it and the rest of the sheet — cell by cell on the reading thread, from where the blocks before
//! it left off: such a sheet gives exactly the cells, rows and errors it gives read cell by cell.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::mpsc;

use super::{read_cells, CellsError, Context, Ended, Pos, Sink, Xml};
use crate::input::record::Record;

/// Bytes of XML a block holds at least (the last one excepted).
pub const BLOCK: usize = 1 << 20;
/// A sheet part this large (inflated, as the zip says) is read in blocks; a smaller one cell by cell.
pub const MIN_PART: u64 = 4 << 20;
/// How far a block may grow looking for a `</row>` before the rest of the part is read cell by cell.
const MAX_BLOCKS: usize = 8;

/// A block's rows, as a worker read them.
struct Parsed {
    /// The block's buffer (its first `len` bytes are the block), back for a reading cell by cell
    /// or for another block.
    bytes: Vec<u8>,
    len: usize,
    /// (row, whether the sheet's row number or rows since the block's start, cells).
    rows: Vec<(u32, bool, Record)>,
    /// Where the reading was at the block's end (the row as in `rows`).
    end: Pos,
    /// Read to its end as a sheet read cell by cell would read it.
    clean: bool,
}

/// The rows of a sheet from `xml`, just after its `<sheetData>` (`pos`), into `sink`.
pub fn read<R: Read, S: Sink>(
    xml: &mut Xml<R>,
    ctx: &Context,
    mut pos: Pos,
    sink: &mut S,
    block: usize,
) -> Result<(), CellsError<S::Error>> {
    let workers = rayon::current_num_threads().clamp(1, 4);
    let (part, max_run, limits) = (xml.part.clone(), xml.max_run, sink.limits());
    let mut cut = Cutter {
        src: &mut xml.src,
        carry: xml.buf[xml.pos..xml.end].to_vec(),
        filled: xml.end - xml.pos,
        spare: Vec::new(),
        eof: xml.eof,
        err: None,
        block,
        at: xml.base + xml.pos as u64,
    };
    let (rest, base) = std::thread::scope(|s| -> Result<(Vec<u8>, u64), CellsError<S::Error>> {
        let (mut jobs, mut results) = (Vec::new(), Vec::new());
        for _ in 0..workers {
            let (job_tx, job_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(2);
            let (done_tx, done_rx) = mpsc::channel::<Parsed>();
            let part = &part;
            s.spawn(move || {
                for (bytes, len) in job_rx {
                    if done_tx.send(parse(bytes, len, ctx, part, max_run, limits)).is_err() {
                        break;
                    }
                }
            });
            jobs.push(job_tx);
            results.push(done_rx);
        }
        // Offsets (in the part) of the blocks in flight.
        let mut starts = VecDeque::new();
        let (mut sent, mut got) = (0usize, 0usize);
        loop {
            while sent - got < 2 * workers {
                let Some((b, len, at)) = cut.next() else { break };
                starts.push_back(at);
                jobs[sent % workers].send((b, len)).expect("a worker of the sheet stopped");
                sent += 1;
            }
            if sent == got {
                return Ok((Vec::new(), cut.at));
            }
            let p = results[got % workers].recv().expect("a worker of the sheet stopped");
            got += 1;
            let at = starts.pop_front().expect("a block in flight");
            match apply(p, &mut pos, sink).map_err(CellsError::Cell)? {
                Applied::Rows(bytes) => cut.spare.push(bytes),
                Applied::Stopped => return Ok((Vec::new(), u64::MAX)),
                Applied::Again(mut bytes) => {
                    // This block and those after it, read cell by cell.
                    while got < sent {
                        let p = results[got % workers].recv().expect("a worker of the sheet stopped");
                        bytes.extend_from_slice(&p.bytes[..p.len]);
                        got += 1;
                    }
                    return Ok((bytes, at));
                }
            }
        }
    })?;
    if base == u64::MAX {
        return Ok(());
    }
    // The rest of the part (and its read error, if one stopped it), cell by cell.
    let mut head = rest;
    head.extend_from_slice(&cut.carry[..cut.filled]);
    let err = cut.err.take();
    let tail: Box<dyn Read + '_> = match err {
        Some(e) => Box::new(io::Cursor::new(head).chain(Failed(Some(e)))),
        None => Box::new(io::Cursor::new(head).chain(&mut *cut.src)),
    };
    let mut xml = Xml::new(tail, &part, max_run);
    xml.base = base;
    pos.abs = true;
    read_cells(&mut xml, ctx, &mut pos, false, &mut |r, c, _, t: &str| sink.cell(r, c, t)).map(|_| ())
}

/// What became of a block's rows.
enum Applied {
    /// Taken: the block's buffer, for another.
    Rows(Vec<u8>),
    Stopped,
    /// Not taken: the block, to be read cell by cell.
    Again(Vec<u8>),
}

/// A block's rows into `sink`, numbered from where the reading is (`pos`), which moves on to the
/// block's end.
fn apply<S: Sink>(p: Parsed, pos: &mut Pos, sink: &mut S) -> Result<Applied, S::Error> {
    let number = |row: u32, abs: bool| if abs { row } else { pos.row.saturating_add(row) };
    let continues = p.rows.first().is_some_and(|&(r, abs, _)| sink.open_row() == Some(number(r, abs)));
    if !p.clean || pos.col != 0 || continues {
        let mut bytes = p.bytes;
        bytes.truncate(p.len);
        return Ok(Applied::Again(bytes));
    }
    for (r, abs, record) in p.rows {
        if !sink.row(number(r, abs), record)? {
            return Ok(Applied::Stopped);
        }
    }
    (pos.row, pos.col) = (number(p.end.row, p.end.abs), p.end.col);
    Ok(Applied::Rows(p.bytes))
}

/// A block read by a worker: its cells by [`read_cells`], from the first row after the cut, into
/// rows as [`Sink::cell`] builds them.
fn parse(bytes: Vec<u8>, len: usize, ctx: &Context, part: &str, max_run: usize, limits: (usize, usize)) -> Parsed {
    let mut xml = Xml::whole(bytes, len, part, max_run);
    let mut pos = Pos { row: 0, col: 0, in_data: true, abs: false };
    let mut rows = Rows { rows: Vec::new(), open: None, sure: true, limits };
    let ended = read_cells(&mut xml, ctx, &mut pos, false, &mut |r, c, abs, text: &str| rows.cell(r, c, abs, text));
    let Rows { mut rows, open, sure, .. } = rows;
    rows.extend(open);
    Parsed { clean: sure && matches!(ended, Ok(Ended::Part)), bytes: xml.buf, len, rows, end: pos }
}

/// A block's rows as a worker builds them from their cells.
struct Rows {
    rows: Vec<(u32, bool, Record)>,
    /// The row being built: (row, whether the sheet's row number, cells).
    open: Option<(u32, bool, Record)>,
    /// Built as [`Sink::cell`] would build them (else the block is read again cell by cell).
    sure: bool,
    /// (columns, bytes) a row may have.
    limits: (usize, usize),
}

impl Rows {
    /// A cell (`Ok(false)`: not sure of it; the block is read again cell by cell).
    #[inline(always)]
    fn cell(&mut self, r: u32, c: u32, abs: bool, text: &str) -> Result<bool, ()> {
        // A cell of the open row after its last one, within the limits (the usual case):
        // [`Rows::other`] gives the same, with more checks.
        if let Some((row, was_abs, record)) = &mut self.open {
            let (max_columns, max_bytes) = self.limits;
            let c = c as usize;
            if *row == r
                && *was_abs == abs
                && c >= record.len()
                && c < max_columns
                && record.as_slice().len() + text.len() <= max_bytes
            {
                if c > record.len() {
                    gap(record, c);
                }
                record.push_field(text.as_bytes());
                return Ok(true);
            }
        }
        self.other(r, c, abs, text)
    }

    /// Any other cell: the first of a row, given twice, or over a limit.
    #[inline(never)]
    fn other(&mut self, r: u32, c: u32, abs: bool, text: &str) -> Result<bool, ()> {
        let (max_columns, max_bytes) = self.limits;
        let open_row = self.open.as_ref().map(|(row, was_abs, x)| (*row, *was_abs, x.len(), x.as_slice().len()));
        if let Some((row, was_abs, fields, len)) = open_row {
            if was_abs != abs {
                // Rows counted from the cut, then numbered: which is which is not known here.
                self.sure = false;
                return Ok(false);
            }
            if row != r {
                self.rows.extend(self.open.take());
                self.open = Some((r, abs, Record::with_capacity(len, fields)));
            }
        }
        let (_, _, record) = self.open.get_or_insert_with(|| (r, abs, Record::new()));
        let c = c as usize;
        if c >= max_columns || (c >= record.len() && record.as_slice().len() + text.len() > max_bytes) {
            self.sure = false;
            return Ok(false);
        }
        if c < record.len() {
            return Ok(true);
        }
        gap(record, c);
        record.push_field(text.as_bytes());
        Ok(true)
    }
}

/// Empty cells up to column `c` (a gap in the row, as [`Sink::cell`] fills it).
#[cold]
fn gap(record: &mut Record, c: usize) {
    while record.len() < c {
        record.push_field(b"");
    }
}

/// The part cut into blocks, each ending just after a `</row>`. Buffers go round (a block's
/// comes back once its rows are taken): bytes are inflated into them without clearing them first.
struct Cutter<'a, R> {
    src: &'a mut R,
    /// `carry[..filled]`: inflated, not yet in a block.
    carry: Vec<u8>,
    filled: usize,
    /// Buffers back from the workers.
    spare: Vec<Vec<u8>>,
    eof: bool,
    /// The error that stopped the part's reading, for the reading cell by cell to meet.
    err: Option<io::Error>,
    block: usize,
    /// The offset in the part of `carry`'s first byte.
    at: u64,
}

impl<R: Read> Cutter<'_, R> {
    /// The next block (its buffer, of which its first bytes are the block, and their number) and
    /// its offset; `None` when the rest of the part (`carry` and on) is to be read cell by cell:
    /// at its end, or with no `</row>` for a long way.
    fn next(&mut self) -> Option<(Vec<u8>, usize, u64)> {
        loop {
            if self.filled >= self.block || self.eof {
                // The last `</row>` within a block's length, else the first after it.
                let head = self.filled.min(self.block);
                let end = memchr::memmem::rfind(&self.carry[..head], b"</row>")
                    .or_else(|| memchr::memmem::find(&self.carry[head..self.filled], b"</row>").map(|i| head + i));
                if let Some(i) = end {
                    let cut = i + b"</row>".len();
                    let rest = self.filled - cut;
                    let mut next = self.spare.pop().unwrap_or_default();
                    if next.len() < rest + self.block {
                        next.resize(rest + self.block + (self.block >> 1), 0);
                    }
                    next[..rest].copy_from_slice(&self.carry[cut..self.filled]);
                    let b = std::mem::replace(&mut self.carry, next);
                    let at = self.at;
                    (self.filled, self.at) = (rest, self.at + cut as u64);
                    return Some((b, cut, at));
                }
                if self.eof || self.filled > MAX_BLOCKS * self.block.max(4096) {
                    return None;
                }
            }
            // A quarter of a block at a time (a few rows when a test makes blocks small).
            let want = self.filled + (self.block >> 2).max(64);
            if self.carry.len() < want {
                self.carry.resize(want.max(self.carry.len() * 2), 0);
            }
            match self.src.read(&mut self.carry[self.filled..want]) {
                Ok(n) => {
                    self.filled += n;
                    self.eof = n == 0;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => (self.eof, self.err) = (true, Some(e)),
            }
        }
    }
}

/// A reader that fails with an error once, then ends.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Book;
    use super::*;
    use std::io::Write;
    use std::path::Path;

    /// Rows as `input::source`'s sheet builder makes them: cells grouped by row number, the first
    /// of a cell given twice kept, empty cells filled in, a cell past the column limit an error.
    #[derive(Default)]
    struct Rows {
        rows: Vec<(u32, Vec<String>)>,
        open: Option<(u32, Vec<String>)>,
        max_columns: usize,
        /// Rows handed over whole (read by a worker).
        whole: usize,
    }

    impl Sink for Rows {
        type Error = String;
        fn cell(&mut self, r: u32, c: u32, text: &str) -> Result<bool, String> {
            if self.open.as_ref().is_some_and(|(row, _)| *row != r) {
                self.rows.extend(self.open.take());
            }
            let (_, cells) = self.open.get_or_insert_with(|| (r, Vec::new()));
            let c = c as usize;
            if c >= self.max_columns {
                return Err(format!("row {r}: column {c}"));
            }
            if c < cells.len() {
                return Ok(true);
            }
            cells.resize(c, String::new());
            cells.push(text.to_string());
            Ok(true)
        }
        fn row(&mut self, r: u32, record: Record) -> Result<bool, String> {
            self.rows.extend(self.open.take());
            let cells = record.iter().map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
            self.open = Some((r, cells));
            self.whole += 1;
            Ok(true)
        }
        fn open_row(&self) -> Option<u32> {
            self.open.as_ref().map(|(r, _)| *r)
        }
        fn limits(&self) -> (usize, usize) {
            (self.max_columns, 1 << 20)
        }
    }

    type Read = (Vec<(u32, Vec<String>)>, String, usize);

    /// The rows of a workbook's first sheet: cell by cell, or in blocks of `block` bytes.
    fn read(path: &Path, block: Option<usize>, max_columns: usize) -> Read {
        let mut sink = Rows { max_columns, ..Rows::default() };
        let result = Book::open(path, 1 << 20).map_err(|e| format!("{e:?}")).and_then(|mut book| {
            let name = book.sheet_names().into_iter().next().ok_or("no sheet")?;
            let read = match block {
                None => book.cells(&name, |r, c, t| sink.cell(r, c, t)),
                Some(b) => book.rows_in(&name, &mut sink, 0, b),
            };
            read.map_err(|e| format!("{e:?}"))
        });
        sink.rows.extend(sink.open.take());
        (sink.rows, result.err().unwrap_or_default(), sink.whole)
    }

    fn workbook(path: &Path, sheet: &str) {
        let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let rels = r#"<Relationships><Relationship Id="rId1" Type="x/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
        let wb = r#"<workbook><sheets><sheet name="户表" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
        let wb_rels = r#"<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="x/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
        let sst = r#"<sst><si><t>甲</t></si><si><t>乙</t></si></sst>"#;
        for (name, text) in [
            ("_rels/.rels", rels),
            ("xl/workbook.xml", wb),
            ("xl/_rels/workbook.xml.rels", wb_rels),
            ("xl/sharedStrings.xml", sst),
            ("xl/worksheets/sheet1.xml", sheet),
        ] {
            z.start_file(name, opts).unwrap();
            z.write_all(text.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }

    /// A workbook whose parts' CRCs (in both their headers) do not match their bytes reads as the
    /// same workbook with the right ones, cell by cell and in blocks: the CRC is not checked (the
    /// shared strings are read to their end; a sheet, to its `</sheetData>`).
    #[test]
    fn a_wrong_crc_is_not_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.xlsx");
        super::super::tests::write_cell_shapes(&good);
        let mut bytes = std::fs::read(&good).unwrap();
        let mut patched = 0;
        // Local header (signature, then the CRC at 14, the name at 30) and central directory
        // header (the CRC at 16, the name at 46).
        for name in [&b"xl/worksheets/sheet1.xml"[..], b"xl/sharedStrings.xml"] {
            for (sig, crc, at) in [(b"PK\x03\x04", 14, 30), (b"PK\x01\x02", 16, 46)] {
                for i in memchr::memmem::find_iter(&bytes.clone(), sig) {
                    if bytes.get(i + at..i + at + name.len()) == Some(name) {
                        bytes[i + crc] ^= 0xFF;
                        patched += 1;
                    }
                }
            }
        }
        assert_eq!(patched, 4);
        let bad = dir.path().join("bad.xlsx");
        std::fs::write(&bad, bytes).unwrap();
        let want = read(&good, None, 20);
        assert!(want.0.len() > 5 && want.1.is_empty(), "{want:?}");
        for block in [None, Some(1), Some(64)] {
            let got = read(&bad, block, 20);
            assert_eq!((&got.0, &got.1), (&want.0, &want.1), "blocks of {block:?}");
        }
    }

    fn inline(r: &str, t: &str) -> String {
        format!(r#"<c r="{r}" t="inlineStr"><is><t>{t}</t></is></c>"#)
    }

    /// Sheets whose rows a worker reads, and sheets with what a worker leaves to the reading cell by
    /// cell (a `</row>` in a comment, CDATA or a quoted attribute, rows numbered both ways, a row
    /// continued across a cut, a damaged reference, a row over the column limit, rows after
    /// `</sheetData>`): in blocks of any size they read as cell by cell, rows and errors alike.
    #[test]
    fn blocks_read_as_cells_do() {
        let dir = tempfile::tempdir().unwrap();
        let plain: String = (1..=40)
            .map(|n| {
                let cells = format!(
                    r#"{}<c r="B{n}" t="s"><v>{}</v></c><c r="C{n}"><v>{n}.5</v></c>{}"#,
                    inline(&format!("A{n}"), &format!("户{n}")),
                    n % 2,
                    inline(&format!("E{n}"), "  e  ")
                );
                format!(r#"<row r="{n}">{cells}</row>"#)
            })
            .collect();
        let unnumbered: String = (1..=30)
            .map(|n| format!(r#"<row><c t="inlineStr"><is><t>{n}</t></is></c><c><v>{n}</v></c></row>"#))
            .collect();
        let tricky = [
            format!(
                r#"<row r="3">{}</row><row r="3">{}{}</row>"#,
                inline("A3", "a"),
                inline("A3", "x"),
                inline("B3", "b")
            ),
            format!(r#"<!-- </row> --><row r="7">{}</row>"#, inline("A7", "c")),
            r#"<row r="8"><c r="A8" t="str"><v><![CDATA[x</row>y]]></v></c></row>"#.to_string(),
            r#"<row r="9"><c r="A9" x="</row>" t="inlineStr"><is><t>q</t></is></c></row>"#.to_string(),
            format!(
                r#"<row>{}</row><row r="12">{}</row><row>{}</row>"#,
                inline("B", "d"),
                inline("A12", "e"),
                inline("C", "f")
            ),
            format!(r#"<row r="14">{}</row><row r="13">{}</row>"#, inline("A14", "g"), inline("A13", "h")),
        ];
        let mut sheets = vec![plain.clone(), unnumbered.clone(), format!("{unnumbered}{plain}")];
        for t in &tricky {
            sheets.push(format!("{plain}{t}{unnumbered}"));
        }
        sheets.push(format!("{plain}<row r=\"50\">{}</row>", inline("A5x", "bad")));
        sheets.push(format!("{plain}</sheetData><sheetData>{unnumbered}"));
        sheets.push(format!("{plain}<row r=\"60\">{}</row>", inline("Z60", "wide")));
        let mut whole = 0;
        for (i, rows) in sheets.iter().enumerate() {
            let path = dir.path().join(format!("{i}.xlsx"));
            let sheet = format!(r#"<?xml version="1.0"?><worksheet><sheetData>{rows}</sheetData></worksheet>"#);
            workbook(&path, &sheet);
            let want = read(&path, None, 20);
            assert!(!want.0.is_empty(), "sheet {i}");
            for block in [1, 60, 500, 1 << 20] {
                let got = read(&path, Some(block), 20);
                assert_eq!((&got.0, &got.1), (&want.0, &want.1), "sheet {i}, blocks of {block}");
                whole += got.2;
            }
        }
        assert!(whole > 1000, "{whole} rows read by workers");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus = std::fs::read_dir(root.join("fuzz/corpus/xlsx_ledger")).unwrap();
        let shapes = dir.path().join("shapes.xlsx");
        super::super::tests::write_cell_shapes(&shapes);
        for f in corpus.map(|e| e.unwrap().path()).chain([root.join("examples/户表.xlsx"), shapes]) {
            let want = std::panic::catch_unwind(|| read(&f, None, 200));
            let got = std::panic::catch_unwind(|| read(&f, Some(64), 200));
            match (want, got) {
                (Ok(want), Ok(got)) => assert_eq!((got.0, got.1), (want.0, want.1), "{}", f.display()),
                (want, got) => assert_eq!(want.is_ok(), got.is_ok(), "{}", f.display()),
            }
        }
    }
}

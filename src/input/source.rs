//! Where rows come from: a CSV file (any of the encodings found in the field, comma or tab) or a
//! worksheet of an Excel/WPS workbook (.xlsx, .xls, .xlsb, .ods). Both give [`RawRow`]s of cell
//! texts with their row numbers as the user sees them, so everything after this point (header
//! mapping, cell parsing) is the same for both.
//!
//! CSV is streamed in blocks of whole records ([`Blocks`]), each record numbered in one place
//! ([`BlockReader`]) by the physical line its first character is on, as a text editor shows it.
//! An .xlsx/.xlsb sheet is streamed cell by cell (calamine's cell reader, on a thread of its
//! own), never allocated by its declared dimension; .xls and .ods are read whole by calamine.
//!
//! Every input is read within [`Limits`] (cell, record and sheet sizes, columns, a workbook's
//! decompressed size and ratio, shared strings), so that no file, however made, can take more
//! than a bounded amount of memory: past a limit, the run stops with a message naming the file,
//! where in it, the limit and the option that raises it.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use calamine::{open_workbook_auto, Data, DataRef, Reader, Sheets};

use super::{sniff, Encoding, RawRow, SNIFF};
use crate::error::InputError;
use crate::value::Date;

/// How to open an input file: what `--encoding`, `--sheet` and `--header-row` say.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub encoding: Option<Encoding>,
    pub sheet: Option<String>,
    /// The header's row number (1-based, as the spreadsheet shows it); detected when absent.
    pub header_row: Option<u64>,
    /// Read as a person export even without 人编号/与户主关系 columns.
    pub persons: bool,
    /// A column the rules need that the file lacks stops the run (`--strict`).
    pub strict: bool,
    pub limits: Limits,
}

/// Bounds on what an input may hold (`--max-…`); the defaults are far above any real export and
/// keep the peak memory of any input file well under 512 MiB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// A longer cell is a data problem of its row (Excel's own cell limit, 32,767 characters, is
    /// at most 128 KiB in UTF-8).
    pub max_cell_bytes: usize,
    /// A CSV record (or a sheet row) longer than this stops the run: a file without line breaks
    /// is not read whole.
    pub max_record_bytes: usize,
    /// Columns of a row (a national ledger has about 60).
    pub max_columns: usize,
    /// The decompressed size of a workbook's parts together.
    pub max_xlsx_bytes: u64,
    /// How many times larger than stored a workbook part (over 1 MiB) may decompress: a real sheet
    /// is 5–30×; a zip bomb is about 1,000×.
    pub max_xlsx_ratio: u64,
    /// Shared strings of a workbook (held in memory while it is read).
    pub max_shared_strings: u64,
    /// Decompressed size of the shared-strings part.
    pub max_shared_strings_bytes: u64,
    /// Cells of the grids calamine builds whole for an .ods workbook (every sheet, from its first
    /// to its last cell with a value, repeated rows and cells spelled out): about 56 bytes each.
    pub max_grid_cells: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_cell_bytes: 128 << 10,
            max_record_bytes: 1 << 20,
            max_columns: 1024,
            max_xlsx_bytes: 4 << 30,
            max_xlsx_ratio: 100,
            max_shared_strings: 5_000_000,
            max_shared_strings_bytes: 160 << 20,
            max_grid_cells: 4_000_000,
        }
    }
}

/// A limit hit: the run stops with this message.
fn over(path: &Path, message: String) -> crate::error::InputError {
    crate::error::InputError::Limit { path: crate::value::shown_path(path), message }
}

/// What kind of file it turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Csv { encoding: Encoding, delimiter: u8 },
    Sheet { name: String },
}

impl Kind {
    pub fn describe(&self) -> String {
        match self {
            Kind::Csv { encoding, delimiter } => {
                format!("CSV（{}{}）", encoding.name(), if *delimiter == b'\t' { "，制表符分隔" } else { "" })
            }
            Kind::Sheet { name } => format!("工作表“{name}”"),
        }
    }
}

/// Rows of a file, in order.
pub enum Rows {
    Csv(Box<CsvRows>),
    Sheet(Box<SheetRows>),
}

/// A CSV file read record by record: the blocks of [`Blocks`], each parsed whole by a
/// [`BlockReader`] (so that rows are numbered in one place, whether read one by one or in blocks).
pub struct CsvRows {
    blocks: Blocks,
    reader: BlockReader,
    block: Vec<u8>,
    /// The line `block` starts on.
    line: u64,
    rows: Vec<RawRow>,
    /// Where each of `rows` ends in `block`.
    ends: Vec<usize>,
    /// How many of `rows` were handed out.
    next: usize,
}

/// A worksheet's rows, read on a thread of their own and handed over in batches (a bounded
/// channel: the sheet is never held whole). Suspended ([`Rows::into_blocks`], once the header is
/// found), the thread and its workbook (calamine holds every shared string) are let go until the
/// next row is wanted: then the sheet is opened again and read on from where it was, so that the
/// duplicate-id scan's own reading of the file never has a second workbook beside it. A sheet read
/// to its end once is read from its spool after that ([`super::spool`]), not from the workbook.
pub struct SheetRows {
    /// `None`: suspended.
    rx: Option<mpsc::Receiver<Result<Vec<RawRow>, InputError>>>,
    batch: std::vec::IntoIter<RawRow>,
    path: PathBuf,
    sheet: String,
    limits: Limits,
    /// Rows taken from the sheet so far (handed out, or waiting in `batch`).
    taken: u64,
}

impl SheetRows {
    fn suspend(&mut self) {
        // The thread stops at its next batch, and drops the workbook.
        self.rx = None;
    }
}

/// Bytes per block of [`Blocks`] (a few hundred households).
const BLOCK: usize = 32 << 10;

/// The text of a CSV file (decoded, line breaks folded to `\n`) as blocks of whole records, so
/// that the blocks can be parsed in parallel ([`BlockReader`]), each with the line number it
/// starts on. A block ends at a line break when it has no `"` (every line break is then a
/// record's end); otherwise where a csv-core parse of the block says its last whole record ends
/// (a quoted cell may hold line breaks). A record longer than `--max-record-bytes` (a file
/// without line breaks, an unclosed quote) stops the reading there: it is never read whole.
pub struct Blocks {
    /// The text, decoded, not yet folded ([`fold_crs`]).
    src: Box<dyn Read + Send>,
    /// The last byte read was a CR (an LF first in the next read is its LF).
    cr: bool,
    /// Read, not yet handed out: the start of the next block.
    carry: Vec<u8>,
    /// Line number of the first byte of `carry`.
    line: u64,
    eof: bool,
    pub delimiter: u8,
    pub limits: Limits,
    path: PathBuf,
    core: csv_core::Reader,
    /// Bytes a block aims at ([`BLOCK`]; small in tests, to cut records everywhere).
    size: usize,
}

impl Blocks {
    /// The next block into `out` (reused), with the line number it starts on; `None` at the end.
    /// The text is read straight into `out` and its line breaks folded there, with no copy
    /// through a reader's buffer (a 1M ledger's 168 MB copied once less). `out` is read into
    /// where it stands: its bytes up to its length were written before (the block it held), so
    /// only the room beyond them is zeroed first.
    pub fn next(&mut self, out: &mut Vec<u8>) -> Result<Option<u64>, InputError> {
        let mut len = self.carry.len();
        if out.len() < len {
            out.resize(len, 0);
        }
        out[..len].copy_from_slice(&self.carry);
        self.carry.clear();
        let mut want = self.size;
        loop {
            if out.len() < want {
                out.resize(want, 0);
            }
            while len < want && !self.eof {
                let n = match self.src.read(&mut out[len..want]) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        out.truncate(len);
                        return Err(unreadable(&self.path, e));
                    }
                };
                self.eof = n == 0;
                if n > 0 {
                    len += fold_crs(&mut out[len..len + n], &mut self.cr);
                }
            }
            if len == 0 {
                out.clear();
                return Ok(None);
            }
            let cut = if self.eof { Some(len) } else { self.records_end(&out[..len]) };
            match cut {
                Some(cut) => {
                    self.carry.extend_from_slice(&out[cut..len]);
                    out.truncate(cut);
                    let line = self.line;
                    self.line += memchr::memchr_iter(b'\n', out).count() as u64;
                    return Ok(Some(line));
                }
                // Not one whole record yet (a record longer than a block): read more, up to the
                // limit.
                None => {
                    let max = self.limits.max_record_bytes;
                    if len > max {
                        let first = self.line + out[..len].iter().take_while(|&&b| b == b'\n').count() as u64;
                        out.truncate(len);
                        return Err(record_too_long(&self.path, first, max));
                    }
                    want = (len * 2).min(max + 1);
                }
            }
        }
    }

    /// Aim at blocks of `n` bytes (tests: to cut records everywhere).
    #[cfg(test)]
    pub fn set_size(&mut self, n: usize) {
        self.size = n;
    }

    /// The line number the next block starts on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// A parser for these blocks.
    pub fn reader(&self) -> BlockReader {
        BlockReader::new(self.delimiter, &self.limits)
    }

    /// Where the last whole record of `data` ends (it starts at a record's start).
    fn records_end(&mut self, data: &[u8]) -> Option<usize> {
        if memchr::memchr(b'"', data).is_none() {
            return memchr::memrchr(b'\n', data).map(|i| i + 1);
        }
        use csv_core::ReadRecordResult as R;
        self.core.reset();
        let (mut fields, mut ends) = ([0u8; 4096], [0usize; 128]);
        let (mut at, mut last) = (0, None);
        loop {
            let (res, nin, _, _) = self.core.read_record(&data[at..], &mut fields, &mut ends);
            at += nin;
            match res {
                R::Record => last = Some(at),
                // The parsed cells are not needed here: the buffers are written over.
                R::OutputFull | R::OutputEndsFull => {}
                R::InputEmpty | R::End => return last,
            }
        }
    }
}

fn record_too_long(path: &Path, line: u64, max: usize) -> InputError {
    over(
        path,
        format!(
            "第 {line} 行起的一条记录超过上限 {max} 字节仍未结束，已停止读取（是否缺少换行，或有未闭合的引号？）；\
             如确为正常数据，可用 --max-record-bytes 调高上限"
        ),
    )
}

fn unreadable(path: &Path, e: io::Error) -> InputError {
    InputError::Unreadable {
        path: crate::value::shown_path(path),
        message: format!("无法读取：{}", crate::error::io_text(&e)),
    }
}

/// A parser for blocks of [`Blocks`], one per thread, pointed at each block in turn. This is
/// where CSV rows get their numbers: the physical line of the record's first character (empty
/// lines before a record are not part of it; line breaks inside quoted cells count).
///
/// A block without `"` (almost every block of a real export) is split by hand: each line that is
/// not empty is a record, its cells split at the delimiter ([`super::record::Record::set_line`]), which is what
/// a CSV reader makes of such a line. A block with quotes is parsed by csv-core, as the csv crate
/// parsed every block until 2026-12-04 (flexible records, no header, a UTF-8 BOM dropped at the
/// start of a block: the first block of a file with a BOM, and rarely another, go this way too).
pub struct BlockReader {
    core: csv_core::Reader,
    delimiter: u8,
    limits: Limits,
}

impl BlockReader {
    pub fn new(delimiter: u8, limits: &Limits) -> BlockReader {
        BlockReader { core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(), delimiter, limits: *limits }
    }

    /// Parse `block` into `rows` (their buffers reused), numbered from `line`.
    pub fn parse(&mut self, block: &[u8], line: u64, path: &Path, rows: &mut Vec<RawRow>) -> Result<(), InputError> {
        let end = self.parse_at(block, line, path, rows, 0)?;
        rows.truncate(end);
        Ok(())
    }

    /// As [`BlockReader::parse`], into `rows[start..]` (reusing the rows there, adding more as
    /// needed); the rows after the returned index are left as they were.
    pub fn parse_at(
        &mut self,
        block: &[u8],
        line: u64,
        path: &Path,
        rows: &mut Vec<RawRow>,
        start: usize,
    ) -> Result<usize, InputError> {
        self.parse_into(block, line, path, rows, start, None)
    }

    /// As [`BlockReader::parse`], each row handed to `each` as soon as it is read, in `rows[0]`
    /// (reused for every row: no row is kept, and no buffers are made, per record); how many rows.
    pub fn parse_each(
        &mut self,
        block: &[u8],
        line: u64,
        path: &Path,
        rows: &mut Vec<RawRow>,
        each: &mut dyn FnMut(&RawRow),
    ) -> Result<usize, InputError> {
        let mut out = Parsed { path, limits: &self.limits, rows, k: 0, ends: None, each: Some(each), count: 0 };
        parse_block(&mut self.core, self.delimiter, block, line, &mut out)?;
        Ok(out.count)
    }

    /// As [`BlockReader::parse_at`]; with `ends`, also where each row ends in the block (after
    /// its line break).
    fn parse_into(
        &mut self,
        block: &[u8],
        line: u64,
        path: &Path,
        rows: &mut Vec<RawRow>,
        start: usize,
        ends: Option<&mut Vec<usize>>,
    ) -> Result<usize, InputError> {
        let mut out = Parsed { path, limits: &self.limits, rows, k: start, ends, each: None, count: 0 };
        parse_block(&mut self.core, self.delimiter, block, line, &mut out)?;
        Ok(out.k)
    }
}

/// A block's rows into `out`: split by hand when it has no quote, else by csv-core.
fn parse_block(
    core: &mut csv_core::Reader,
    delimiter: u8,
    block: &[u8],
    line: u64,
    out: &mut Parsed,
) -> Result<(), InputError> {
    if memchr::memchr(b'"', block).is_none() && !block.starts_with(BOM) {
        split_lines(block, line, delimiter, out)
    } else {
        parse_quoted(core, block, line, out)
    }
}

/// A UTF-8 byte order mark, which csv-core drops at the start of its input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a block's rows go: `rows[k..]`, and where each ends in `ends`.
struct Parsed<'a> {
    path: &'a Path,
    limits: &'a Limits,
    rows: &'a mut Vec<RawRow>,
    k: usize,
    ends: Option<&'a mut Vec<usize>>,
    /// Where each row goes as soon as it is read, instead of staying in `rows` (`k` then stays).
    each: Option<&'a mut dyn FnMut(&RawRow)>,
    /// Rows read.
    count: usize,
}

impl Parsed<'_> {
    /// The next row to fill, cleared, numbered `row`.
    #[inline]
    fn row(&mut self, row: u64) -> &mut RawRow {
        if self.k == self.rows.len() {
            self.rows.push(RawRow::default());
        }
        let raw = &mut self.rows[self.k];
        raw.row = row;
        raw.members.clear();
        raw
    }

    /// The row just filled, bytes `first..end` of its block: checked against the limits and
    /// counted.
    #[inline]
    fn done(&mut self, first: usize, end: usize) -> Result<(), InputError> {
        let (raw, limits) = (&self.rows[self.k], self.limits);
        if end - first > limits.max_record_bytes {
            let (row, max) = (raw.row, limits.max_record_bytes);
            return Err(over(
                self.path,
                format!(
                    "第 {row} 行的记录长 {} 字节，超过上限 {max} 字节；如确为正常数据，可用 --max-record-bytes 调高上限",
                    end - first
                ),
            ));
        }
        if raw.record.len() > limits.max_columns {
            return Err(too_many_columns(self.path, raw.row, raw.record.len(), limits.max_columns));
        }
        if let Some(ends) = self.ends.as_deref_mut() {
            ends.push(end);
        }
        self.count += 1;
        match self.each.as_deref_mut() {
            Some(each) => each(&self.rows[self.k]),
            None => self.k += 1,
        }
        Ok(())
    }
}

/// A block without quotes: every line that is not empty is a record, numbered by its line.
fn split_lines(block: &[u8], line: u64, delimiter: u8, out: &mut Parsed) -> Result<(), InputError> {
    let (mut row, mut at) = (line, 0);
    while at < block.len() {
        let (end, next) = match memchr::memchr(b'\n', &block[at..]) {
            Some(i) => (at + i, at + i + 1),
            None => (block.len(), block.len()),
        };
        if end > at {
            out.row(row).record.set_line(&block[at..end], delimiter);
            out.done(at, next)?;
        }
        row += 1;
        at = next;
    }
    Ok(())
}

/// A block with quotes, parsed by csv-core from its start.
fn parse_quoted(core: &mut csv_core::Reader, block: &[u8], line: u64, out: &mut Parsed) -> Result<(), InputError> {
    use csv_core::ReadRecordResult as R;
    core.reset();
    // `row`: the line of byte `counted` of the block.
    let (mut at, mut counted, mut row) = (0, 0, line);
    loop {
        // The record's first character: after the empty lines before it (none after a BOM at
        // the block's start, which csv-core drops).
        let first = at + block[at..].iter().take_while(|&&b| b == b'\n').count();
        row += memchr::memchr_iter(b'\n', &block[counted..first]).count() as u64;
        counted = first;
        let (bytes, ends) = out.row(row).record.parts();
        // Room from an earlier row is reused, written over.
        bytes.resize(bytes.capacity().max(256), 0);
        ends.resize(ends.capacity().max(64), 0);
        let (mut nout, mut nend) = (0, 0);
        loop {
            // At the end of the block csv-core is given an empty input: it ends its last record.
            let (res, nin, o, e) = core.read_record(&block[at..], &mut bytes[nout..], &mut ends[nend..]);
            (at, nout, nend) = (at + nin, nout + o, nend + e);
            match res {
                R::InputEmpty => {}
                R::OutputFull => bytes.resize(2 * bytes.len(), 0),
                R::OutputEndsFull => ends.resize(2 * ends.len(), 0),
                R::Record => break,
                R::End => {
                    bytes.clear();
                    ends.clear();
                    out.rows[out.k].record.parsed();
                    return Ok(());
                }
            }
        }
        bytes.truncate(nout);
        ends.truncate(nend);
        out.rows[out.k].record.parsed();
        out.done(first, at)?;
    }
}

fn too_many_columns(path: &Path, row: u64, n: usize, max: usize) -> InputError {
    over(path, format!("第 {row} 行有 {n} 列，超过上限 {max} 列；如确为正常数据，可用 --max-columns 调高上限"))
}

impl Rows {
    /// The next row; `None` at the end. A CSV record that cannot be read (bad quoting) is
    /// returned as a row with an error, to be reported and counted; an I/O error ends the run.
    pub fn next_row(&mut self, path: &Path) -> Option<Result<RawRow, InputError>> {
        let mut raw = RawRow::default();
        self.read_into(path, &mut raw).map(|r| r.map(|()| raw))
    }

    /// As [`Rows::next_row`], into a row whose buffers are reused.
    pub fn read_into(&mut self, path: &Path, raw: &mut RawRow) -> Option<Result<(), InputError>> {
        match self {
            Rows::Sheet(s) => loop {
                if let Some(r) = s.batch.next() {
                    *raw = r;
                    return Some(Ok(()));
                }
                let rx = s.rx.get_or_insert_with(|| spawn_sheet(&s.path, &s.sheet, &s.limits, None, s.taken));
                match rx.recv() {
                    Ok(Ok(batch)) => {
                        s.taken += batch.len() as u64;
                        s.batch = batch.into_iter();
                    }
                    Ok(Err(e)) => return Some(Err(e)),
                    // The reading thread is done.
                    Err(_) => return None,
                }
            },
            Rows::Csv(c) => loop {
                if c.next < c.rows.len() {
                    std::mem::swap(raw, &mut c.rows[c.next]);
                    c.next += 1;
                    return Some(Ok(()));
                }
                let line = match c.blocks.next(&mut c.block) {
                    Ok(Some(line)) => line,
                    Ok(None) => return None,
                    Err(e) => return Some(Err(e)),
                };
                (c.line, c.next) = (line, 0);
                c.ends.clear();
                if let Err(e) = c.reader.parse_into(&c.block, line, path, &mut c.rows, 0, Some(&mut c.ends)) {
                    return Some(Err(e));
                }
                c.rows.truncate(c.ends.len());
            },
        }
    }

    /// Let a workbook go until the next row is wanted ([`SheetRows`]); a CSV file stays as it is.
    pub fn suspend(&mut self) {
        if let Rows::Sheet(s) = self {
            s.suspend();
        }
    }

    /// The rest of a CSV file, from the record after the last one read, as [`Blocks`]; a
    /// worksheet stays rows, suspended until its next row is wanted ([`SheetRows`]).
    pub fn into_blocks(self) -> Result<Blocks, Rows> {
        match self {
            Rows::Csv(c) => {
                let CsvRows { mut blocks, block, line, ends, next, .. } = *c;
                // No block read yet, or all of them.
                if block.is_empty() {
                    return Ok(blocks);
                }
                // The rest of the current block goes back in front of what is not read yet.
                let at = if next == 0 { 0 } else { ends[next - 1] };
                let mut carry = block[at..].to_vec();
                carry.append(&mut blocks.carry);
                blocks.carry = carry;
                blocks.line = line + memchr::memchr_iter(b'\n', &block[..at]).count() as u64;
                Ok(blocks)
            }
            Rows::Sheet(mut s) => {
                s.suspend();
                Err(Rows::Sheet(s))
            }
        }
    }
}

fn is_workbook(path: &Path, head: &[u8]) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    matches!(ext.as_deref(), Some("xlsx" | "xlsm" | "xls" | "xlsb" | "ods"))
        || head.starts_with(b"PK\x03\x04")
        || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// Open a file's rows.
pub fn open(path: &Path, opts: &OpenOptions) -> Result<(Rows, Kind), InputError> {
    // The bytes of CSV text are handed to the thread hashing the file (`tap`), if one waits for
    // them; dropped unused, the offer lets that thread read the file itself (a workbook, an error).
    let feed = super::tap::take(path);
    let p = crate::value::shown_path(path);
    let unreadable = |e: io::Error| InputError::Unreadable {
        path: p.clone(),
        message: format!("无法读取：{}", crate::error::io_text(&e)),
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut head = vec![0u8; SNIFF];
    let mut n = 0;
    while n < head.len() {
        let k = file.read(&mut head[n..]).map_err(unreadable)?;
        if k == 0 {
            break;
        }
        n += k;
    }
    head.truncate(n);
    if n == 0 {
        return Err(InputError::Unreadable { path: p, message: "文件为空（0 字节）".into() });
    }
    if is_workbook(path, &head) {
        drop(file);
        return open_sheet(path, opts);
    }
    if opts.sheet.is_some() {
        return Err(InputError::Unreadable {
            path: p,
            message: "--sheet 只用于 Excel/WPS 工作簿（.xlsx/.xls），此文件是文本（CSV）".into(),
        });
    }
    let encoding = opts.encoding.unwrap_or_else(|| sniff(&head));
    // Text has almost no control bytes; a binary file (an image, a zip without the extension,
    // random bytes) has many.
    let sample = &head[..head.len().min(4096)];
    let control = sample.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')).count();
    if encoding != Encoding::Utf16 && control * 20 > sample.len() {
        return Err(InputError::Unreadable {
            path: p,
            message: "看起来不是文本（CSV）文件：含有大量控制字符；如为工作簿，请使用 .xlsx 扩展名".into(),
        });
    }
    let delimiter = delimiter_of(&head);
    let body = io::Cursor::new(head).chain(file);
    // The file's bytes, before decoding, hashed as they are read when a thread waits for the hash.
    let body: Box<dyn Read + Send> = match feed {
        Some(feed) => Box::new(super::tap::Tap::new(body, feed)),
        None => Box::new(body),
    };
    let blocks = Blocks {
        src: decoder(encoding, body),
        cr: false,
        carry: Vec::new(),
        line: 1,
        eof: false,
        delimiter,
        limits: opts.limits,
        path: path.to_path_buf(),
        core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
        size: BLOCK,
    };
    let rows = CsvRows {
        reader: blocks.reader(),
        blocks,
        block: Vec::new(),
        line: 1,
        rows: Vec::new(),
        ends: Vec::new(),
        next: 0,
    };
    Ok((Rows::Csv(Box::new(rows)), Kind::Csv { encoding, delimiter }))
}

/// The delimiter of a CSV file: tab when its first line has more tabs than commas.
fn delimiter_of(head: &[u8]) -> u8 {
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let tabs = first_line.iter().filter(|&&b| b == b'\t').count();
    let commas = first_line.iter().filter(|&&b| b == b',').count();
    // UTF-16 has NUL bytes between ASCII characters; the counts still compare.
    if tabs > commas {
        b'\t'
    } else {
        b','
    }
}

/// A file's bytes, decoded from `encoding` to UTF-8 as they are read.
fn decoder(encoding: Encoding, body: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    match encoding {
        Encoding::Utf8 => body,
        Encoding::Gbk => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::GB18030))
                .bom_override(true)
                .build(body),
        ),
        Encoding::Utf16 => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::UTF_16LE))
                .bom_override(true)
                .build(body),
        ),
    }
}

/// Open a worksheet: the workbook's parts are checked against the limits first (sizes, ratios,
/// shared strings: calamine reads the shared strings whole when it opens a workbook), then the
/// sheet is read on a thread of its own. calamine 0.38 can panic on a damaged workbook (found by
/// fuzzing: a cell reference such as `AAAAAAAAAAAAA1` overflows its column arithmetic); such a
/// file is unreadable, like any other calamine error, not a crash.
fn open_sheet(path: &Path, opts: &OpenOptions) -> Result<(Rows, Kind), InputError> {
    check_workbook(path, &opts.limits)?;
    let damaged = || InputError::Unreadable {
        path: crate::value::shown_path(path),
        message: "无法读取工作簿：文件已损坏（读取时出错）".into(),
    };
    // Read to its end before in this run: its rows are in a spool.
    let (wb, name) = match super::spool::find(path, opts.sheet.as_deref(), &opts.limits) {
        Some((name, _)) => (None, name),
        None => {
            let opened = std::panic::catch_unwind(|| open_workbook_sheet(path, opts.sheet.as_deref(), &opts.limits));
            let (wb, name) = opened.unwrap_or_else(|_| Err(damaged()))?;
            (Some(wb), name)
        }
    };
    let rows = SheetRows {
        rx: Some(spawn_sheet(path, &name, &opts.limits, wb, 0)),
        batch: Vec::new().into_iter(),
        path: path.to_path_buf(),
        sheet: name.clone(),
        limits: opts.limits,
        taken: 0,
    };
    Ok((Rows::Sheet(Box::new(rows)), Kind::Sheet { name }))
}

/// Read a sheet on a thread of its own (from its spool when it has one, else from the workbook,
/// opened there when `wb` is `None`), its first `skip` rows left out. A reading from the first row
/// writes the spool ([`super::spool`]).
fn spawn_sheet(
    path: &Path,
    name: &str,
    limits: &Limits,
    wb: Option<Workbook>,
    skip: u64,
) -> mpsc::Receiver<Result<Vec<RawRow>, InputError>> {
    let (tx, rx) = mpsc::sync_channel(2);
    let (p, limits, sheet) = (path.to_path_buf(), *limits, name.to_string());
    std::thread::spawn(move || {
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let wb = match wb {
                Some(wb) => wb,
                None => match super::spool::find(&p, Some(&sheet), &limits) {
                    Some((_, spool)) => return read_spool(spool, &p, &tx, skip),
                    None => open_workbook_sheet(&p, Some(&sheet), &limits)?.0,
                },
            };
            let first = wb.sheet_names().first() == Some(&sheet);
            let spool = if skip == 0 { super::spool::Writer::new(&p, &sheet, first, &limits) } else { None };
            read_sheet(wb, &sheet, &p, &limits, &tx, skip, spool)
        }));
        let err = match read {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => InputError::Unreadable {
                path: crate::value::shown_path(&p),
                message: "无法读取工作簿：文件已损坏（读取时出错）".into(),
            },
        };
        let _ = tx.send(Err(err));
    });
    rx
}

/// An open workbook: an .xlsx read by tuopin's own streaming reader ([`super::xlsx`]), any other
/// kind by calamine.
enum Workbook {
    Xlsx(Box<super::xlsx::Book>),
    Other(Box<Sheets<BufReader<File>>>),
}

impl Workbook {
    fn sheet_names(&self) -> Vec<String> {
        match self {
            Workbook::Xlsx(b) => b.sheet_names(),
            Workbook::Other(wb) => wb.sheet_names(),
        }
    }
}

/// The message of an .xlsx part with a text or tag over the limit (the same as the check before
/// reading gives for the other kinds of workbook).
fn run_too_long(path: &Path, part: &str, at: u64, max: usize) -> InputError {
    over(
        path,
        format!(
            "工作簿部件“{}”在解压后第 {at} 字节处有一段超过 {max} 字节的文本或标签（单元格内容过长，或是空白填充），已停止读取；如确为正常数据，可用 --max-record-bytes 调高上限",
            crate::input::clip(part, 80)
        ),
    )
}

fn xlsx_error(path: &Path, e: super::xlsx::XlsxError, limits: &Limits, what: String) -> InputError {
    match e {
        super::xlsx::XlsxError::Run { part, at } => run_too_long(path, &part, at, limits.max_record_bytes),
        super::xlsx::XlsxError::Damaged(m) => {
            InputError::Unreadable { path: crate::value::shown_path(path), message: format!("{what}{m}") }
        }
    }
}

fn open_workbook_sheet(path: &Path, sheet: Option<&str>, limits: &Limits) -> Result<(Workbook, String), InputError> {
    let p = crate::value::shown_path(path);
    let wb = if super::xlsx::is_xlsx(path) {
        let book = super::xlsx::Book::open(path, limits.max_record_bytes)
            .map_err(|e| xlsx_error(path, e, limits, "无法打开工作簿：".into()))?;
        Workbook::Xlsx(Box::new(book))
    } else {
        let wb = open_workbook_auto(path)
            .map_err(|e| InputError::Unreadable { path: p.clone(), message: format!("无法打开工作簿：{e}") })?;
        Workbook::Other(Box::new(wb))
    };
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names.iter().find(|n| n.as_str() == s).cloned().ok_or_else(|| InputError::Unreadable {
            path: p.clone(),
            message: format!("没有名为“{s}”的工作表；工作表有：{}", names.join("、")),
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| InputError::Unreadable { path: p.clone(), message: "工作簿中没有工作表".into() })?,
    };
    Ok((wb, name))
}

/// Rows per batch handed over by the sheet's reading thread.
const SHEET_BATCH: usize = 256;

/// Read a sheet into `tx`, in batches of rows. An .xlsx or .xlsb sheet is streamed cell by cell
/// (nothing is allocated by its declared dimension or its last cell); .xls and .ods are read
/// whole by calamine. Rows without a value are skipped (as a CSV export has no line for them).
fn read_sheet(
    wb: Workbook,
    name: &str,
    path: &Path,
    limits: &Limits,
    tx: &mpsc::SyncSender<Result<Vec<RawRow>, InputError>>,
    skip: u64,
    spool: Option<super::spool::Writer>,
) -> Result<(), InputError> {
    let cannot = |e: &dyn std::fmt::Display| InputError::Unreadable {
        path: crate::value::shown_path(path),
        message: format!("无法读取工作表“{name}”：{e}"),
    };
    let mut rows = SheetBuilder {
        path,
        name,
        limits,
        tx,
        batch: Vec::with_capacity(SHEET_BATCH),
        row: None,
        skip,
        spool,
        stopped: false,
        size: (0, 0),
    };
    let mut wb = match wb {
        Workbook::Xlsx(mut book) => {
            return match book.rows(name, &mut rows) {
                Ok(()) => {
                    rows.finish();
                    Ok(())
                }
                Err(super::xlsx::CellsError::Cell(e)) => Err(e),
                Err(super::xlsx::CellsError::Read(e)) => {
                    Err(xlsx_error(path, e, limits, format!("无法读取工作表“{name}”：")))
                }
            };
        }
        Workbook::Other(wb) => *wb,
    };
    if let Sheets::Xlsx(x) = &mut wb {
        let mut cells = x.worksheet_cells_reader(name).map_err(|e| cannot(&e))?;
        while let Some(c) = cells.next_cell().map_err(|e| cannot(&e))? {
            let (r, col) = c.get_position();
            if matches!(c.get_value(), DataRef::Empty) {
                continue;
            }
            if !rows.cell(r, col, &cell_ref_text(c.get_value()))? {
                return Ok(());
            }
        }
    } else if let Sheets::Xlsb(x) = &mut wb {
        let mut cells = x.worksheet_cells_reader(name).map_err(|e| cannot(&e))?;
        while let Some(c) = cells.next_cell().map_err(|e| cannot(&e))? {
            let (r, col) = c.get_position();
            if matches!(c.get_value(), DataRef::Empty) {
                continue;
            }
            if !rows.cell(r, col, &cell_ref_text(c.get_value()))? {
                return Ok(());
            }
        }
    } else {
        // .xls and .ods: read whole by calamine (an .xls sheet is at most 65,536 × 256).
        let range = wb.worksheet_range(name).map_err(|e| cannot(&e))?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (i, cells) in range.rows().enumerate() {
            for (j, c) in cells.iter().enumerate() {
                let v = match c {
                    Data::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                    Data::Empty => continue,
                    other => std::borrow::Cow::Owned(cell_text(other)),
                };
                if !rows.cell(r0 + i as u32, c0 + j as u32, &v)? {
                    return Ok(());
                }
            }
        }
    }
    rows.finish();
    Ok(())
}

/// Rows of a sheet built from its cells, in order, and sent in batches.
struct SheetBuilder<'a> {
    path: &'a Path,
    name: &'a str,
    limits: &'a Limits,
    tx: &'a mpsc::SyncSender<Result<Vec<RawRow>, InputError>>,
    batch: Vec<RawRow>,
    row: Option<RawRow>,
    /// Rows still to leave out (read before, by a suspended reader).
    skip: u64,
    /// Where the rows are kept for the run's later readings of the sheet, if read from its start.
    spool: Option<super::spool::Writer>,
    /// Nobody reads the rows any more: the sheet was not read to its end.
    stopped: bool,
    /// (bytes, cells) of the last row built: a new row's buffers are made that size.
    size: (usize, usize),
}

impl SheetBuilder<'_> {
    /// Add a cell (0-based row and column); `false` when nobody reads the rows any more.
    fn cell(&mut self, r: u32, c: u32, text: &str) -> Result<bool, InputError> {
        let row = u64::from(r) + 1;
        if self.row.as_ref().is_some_and(|x| x.row != row) && !self.flush() {
            return Ok(false);
        }
        let (bytes, cells) = self.size;
        let raw = self.row.get_or_insert_with(|| RawRow {
            row,
            record: crate::input::record::Record::with_capacity(bytes, cells),
            ..RawRow::default()
        });
        let c = c as usize;
        if c >= self.limits.max_columns {
            return Err(over(
                self.path,
                format!(
                    "工作表“{}”第 {row} 行第 {} 列有内容，超过列数上限 {} 列；如确为正常数据，可用 --max-columns 调高上限",
                    self.name,
                    c + 1,
                    self.limits.max_columns
                ),
            ));
        }
        // A cell given twice, or out of order (a damaged sheet): the first one counts.
        if c < raw.record.len() {
            return Ok(true);
        }
        if raw.record.as_slice().len() + text.len() > self.limits.max_record_bytes {
            return Err(over(
                self.path,
                format!(
                    "工作表“{}”第 {row} 行超过 {} 字节；如确为正常数据，可用 --max-record-bytes 调高上限",
                    self.name, self.limits.max_record_bytes
                ),
            ));
        }
        while raw.record.len() < c {
            raw.record.push_field(b"");
        }
        raw.record.push_field(text.as_bytes());
        Ok(true)
    }

    /// The row being built goes into the batch, the batch to the reader when full.
    fn flush(&mut self) -> bool {
        if let Some(r) = self.row.take() {
            self.size = (r.record.as_slice().len(), r.record.len());
            if self.spool.as_mut().is_some_and(|s| s.row(&r).is_err()) {
                // A full disk: the sheet is read from the workbook again when it is wanted again.
                self.spool = None;
            }
            if self.skip > 0 {
                self.skip -= 1;
            } else {
                self.batch.push(r);
            }
        }
        let sent = self.batch.len() < SHEET_BATCH
            || self.tx.send(Ok(std::mem::replace(&mut self.batch, Vec::with_capacity(SHEET_BATCH)))).is_ok();
        self.stopped |= !sent;
        sent
    }

    fn finish(mut self) {
        self.flush();
        if !self.stopped {
            if let Some(spool) = self.spool.take() {
                spool.finish();
            }
        }
        if !self.batch.is_empty() {
            let _ = self.tx.send(Ok(self.batch));
        }
    }
}

impl super::xlsx::Sink for SheetBuilder<'_> {
    type Error = InputError;

    fn cell(&mut self, r: u32, c: u32, text: &str) -> Result<bool, InputError> {
        SheetBuilder::cell(self, r, c, text)
    }

    fn row(&mut self, r: u32, record: crate::input::record::Record) -> Result<bool, InputError> {
        if self.row.is_some() && !self.flush() {
            return Ok(false);
        }
        self.row = Some(RawRow { row: u64::from(r) + 1, record, ..RawRow::default() });
        Ok(true)
    }

    fn open_row(&self) -> Option<u32> {
        self.row.as_ref().map(|x| (x.row - 1) as u32)
    }

    fn limits(&self) -> (usize, usize) {
        (self.limits.max_columns, self.limits.max_record_bytes)
    }
}

/// The rows of a sheet's spool into `tx`, in batches, the first `skip` left out.
fn read_spool(
    spool: std::sync::Arc<super::spool::Spool>,
    path: &Path,
    tx: &mpsc::SyncSender<Result<Vec<RawRow>, InputError>>,
    skip: u64,
) -> Result<(), InputError> {
    let mut reader = super::spool::Reader::new(spool);
    let mut batch = Vec::with_capacity(SHEET_BATCH);
    let mut raw = RawRow::default();
    let mut skip = skip;
    while reader.next(&mut raw, skip > 0).map_err(|e| unreadable(path, e))? {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        batch.push(std::mem::take(&mut raw));
        if batch.len() == SHEET_BATCH
            && tx.send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(SHEET_BATCH)))).is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
    Ok(())
}

/// A cell of calamine's streaming reader as text (see [`cell_text`]); `""` for an empty one,
/// which [`SheetBuilder::cell`] is never given.
fn cell_ref_text<'a>(c: &'a DataRef<'_>) -> std::borrow::Cow<'a, str> {
    match c {
        DataRef::Empty => "".into(),
        DataRef::SharedString(s) => (*s).into(),
        DataRef::String(s) => s.as_str().into(),
        other => cell_text(&Data::from(other.clone())).into(),
    }
}

/// Check a workbook that is a zip (.xlsx, .xlsb, .ods) against the limits before calamine opens
/// it, from its directory (sizes as declared: the zip reader stops any part that decompresses to
/// more) and its shared-strings part (counted as it streams by, in a fixed buffer). calamine holds
/// a text node or a tag whole (twice, while it is read): one longer than `--max-record-bytes`
/// (no cell comes close: Excel's longest, escaped, is under 1 MiB) is looked for in every XML part
/// large enough to hold one, as it streams by, so that a huge cell that compresses only as well as
/// a real sheet (under the ratio limit) is refused too.
fn check_workbook(path: &Path, limits: &Limits) -> Result<(), InputError> {
    // A file is opened again for the duplicate-id scan: checked once (the same file, unchanged,
    // with the same limits).
    type Checked = Vec<(PathBuf, u64, Option<std::time::SystemTime>, Limits)>;
    static CHECKED: std::sync::Mutex<Checked> = std::sync::Mutex::new(Vec::new());
    let Ok(meta) = std::fs::metadata(path) else { return Ok(()) };
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok(), *limits);
    let mut checked = CHECKED.lock().unwrap_or_else(|p| p.into_inner());
    if checked.contains(&key) {
        return Ok(());
    }
    check_parts(path, limits)?;
    checked.push(key);
    Ok(())
}

fn check_parts(path: &Path, limits: &Limits) -> Result<(), InputError> {
    let Ok(file) = File::open(path) else { return Ok(()) };
    // Not a zip (.xls), or a damaged one: calamine says what it makes of it.
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(file)) else { return Ok(()) };
    let (shared, mut long, ods) = size_parts(&mut zip, path, limits)?;
    // An .xlsx is read by tuopin's own reader, which stops at the first text or tag over the
    // limit as it reads (`super::xlsx`): no separate pass over its parts.
    if zip.file_names().any(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case("xl/workbook.xml"))) {
        long.clear();
    }
    for i in shared {
        let Ok(part) = zip.by_index(i) else { continue };
        count_shared_strings(part, path, limits.max_shared_strings)?;
    }
    for i in long {
        let Ok(part) = zip.by_index(i) else { continue };
        let name = part.name().map(|n| n.into_owned()).unwrap_or_default();
        if let Some(at) = longest_run(part, limits.max_record_bytes as u64) {
            return Err(over(
                path,
                format!(
                    "工作簿部件“{}”在解压后第 {at} 字节处有一段超过 {} 字节的文本或标签（单元格内容过长，或是空白填充），已停止读取；如确为正常数据，可用 --max-record-bytes 调高上限",
                    crate::input::clip(&name, 80),
                    limits.max_record_bytes
                ),
            ));
        }
    }
    for i in ods {
        let Ok(part) = zip.by_index(i) else { continue };
        if let Some((sheet, cells)) = ods_grid(part, limits.max_grid_cells) {
            return Err(over(
                path,
                format!(
                    "工作簿的工作表“{}”展开后有 {cells} 个单元格（从第一个到最后一个有内容的单元格，重复的行和列展开），超过上限 {} 个；如确为正常数据，可用 --max-grid-cells 调高上限，或另存为 .xlsx",
                    crate::input::clip(&sheet, 40),
                    limits.max_grid_cells
                ),
            ));
        }
    }
    Ok(())
}

/// The indices of the parts of a workbook to read: shared strings, XML long enough to hold a
/// too-long run, an .ods `content.xml`.
type PartsToRead = (Vec<usize>, Vec<usize>, Vec<usize>);

/// The parts' sizes against the limits (total, ratio, shared strings); which parts to read for
/// the shared strings, long runs and an .ods grid.
fn size_parts<R: Read + io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &Path,
    limits: &Limits,
) -> Result<PartsToRead, InputError> {
    let mut total = 0u64;
    let (mut shared, mut long, mut ods) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..zip.len() {
        let Ok(part) = zip.by_index_raw(i) else { continue };
        let (name, size, stored) =
            (part.name().map(|n| n.into_owned()).unwrap_or_default(), part.size(), part.compressed_size());
        total = total.saturating_add(size);
        if total > limits.max_xlsx_bytes {
            return Err(over(
                path,
                format!(
                    "工作簿解压后超过 {} 字节（到部件“{}”为止），已停止读取；如确为正常数据，可用 --max-xlsx-bytes 调高上限",
                    limits.max_xlsx_bytes,
                    crate::input::clip(&name, 80)
                ),
            ));
        }
        if size > 1 << 20 && size / stored.max(1) > limits.max_xlsx_ratio {
            return Err(over(
                path,
                format!(
                    "工作簿部件“{}”压缩了 {}:1（{stored} 字节解压为 {size} 字节），超过上限 {}:1，疑为压缩炸弹，已停止读取；如确为正常数据，可用 --max-xlsx-ratio 调高上限",
                    crate::input::clip(&name, 80),
                    size / stored.max(1),
                    limits.max_xlsx_ratio
                ),
            ));
        }
        let lower = name.to_ascii_lowercase();
        if lower == "content.xml" {
            ods.push(i);
        }
        if lower.ends_with(".xml") && size > limits.max_record_bytes as u64 {
            long.push(i);
        }
        if lower.ends_with("sharedstrings.xml") || lower.ends_with("sharedstrings.bin") {
            if size > limits.max_shared_strings_bytes {
                return Err(over(
                    path,
                    format!(
                        "工作簿的共享字符串（“{}”）解压后 {size} 字节，超过上限 {} 字节；如确为正常数据，可用 --max-shared-strings-bytes 调高上限",
                        crate::input::clip(&name, 80),
                        limits.max_shared_strings_bytes
                    ),
                ));
            }
            if lower.ends_with(".xml") {
                shared.push(i);
            }
        }
    }
    Ok((shared, long, ods))
}

/// The first sheet of an .ods `content.xml` whose grid, as calamine builds it (from the first to
/// the last row with a value, the first to the last column with one, repeated rows and cells
/// spelled out, capped as calamine caps them), has more than `max` cells, with that number;
/// `None` if none (or the part is damaged: calamine reports that).
fn ods_grid(part: impl Read, max: u64) -> Option<(String, u64)> {
    use quick_xml::events::Event;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part));
    let mut buf = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> Option<String> {
        e.try_get_attribute(name).ok().flatten().map(|a| a.value.into_owned())
    };
    let number = |v: Option<String>, cap: u64| -> u64 {
        v.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(1).clamp(1, cap)
    };
    // The sheet: its name; the row and column being read; the rows and columns with values.
    let mut name = String::new();
    let (mut row, mut col, mut repeat) = (0u64, 0u64, 1u64);
    // First and last (row or column).
    type Span = Option<(u64, u64)>;
    let (mut rows, mut cols, mut row_cols): (Span, Span, Span) = (None, None, None);
    loop {
        buf.clear();
        let (e, empty) = match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                match e.name().as_ref() {
                    "table:table-row" => {
                        if let Some((a, b)) = row_cols.take() {
                            rows = Some((rows.map_or(row, |r| r.0), row + repeat - 1));
                            cols = Some(cols.map_or((a, b), |c| (c.0.min(a), c.1.max(b))));
                        }
                        row = (row + repeat).min(1 << 20);
                    }
                    "table:table" => {
                        if let (Some(r), Some(c)) = (rows, cols) {
                            let cells = (r.1 - r.0 + 1) * (c.1 - c.0 + 1);
                            if cells > max {
                                return Some((name, cells));
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => continue,
        };
        match e.name().as_ref() {
            "table:table" => {
                name = attr(&e, "table:name").unwrap_or_default();
                (row, rows, cols) = (0, None, None);
            }
            "table:table-row" => {
                (col, row_cols) = (0, None);
                repeat = number(attr(&e, "table:number-rows-repeated"), 1 << 20);
                if empty {
                    row = (row + repeat).min(1 << 20);
                }
            }
            "table:table-cell" | "table:covered-table-cell" => {
                let n = number(attr(&e, "table:number-columns-repeated"), 1 << 14);
                // A cell with a value, or with content (counted as one, to be safe).
                if attr(&e, "office:value-type").is_some() || !empty {
                    let (a, b) = (col, col + n - 1);
                    row_cols = Some(row_cols.map_or((a, b), |c| (c.0.min(a), c.1.max(b))));
                }
                col = (col + n).min(1 << 14);
            }
            _ => {}
        }
    }
}

/// Where (in bytes from the start) an XML text streaming by first has more than `max` bytes
/// between two of `<` and `>` (a text node, or a tag); `None` if nowhere (or the part is damaged:
/// calamine reports that).
fn longest_run(mut r: impl Read, max: u64) -> Option<u64> {
    let mut buf = vec![0u8; 256 << 10];
    let (mut offset, mut last) = (0u64, 0u64);
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        for i in memchr::memchr2_iter(b'<', b'>', &buf[..n]) {
            let at = offset + i as u64;
            if at - last > max {
                return Some(last);
            }
            last = at;
        }
        offset += n as u64;
        if offset - last > max {
            return Some(last);
        }
    }
}

/// Count the `<si>` elements of a shared-strings part as it streams by (and check the
/// `uniqueCount` it declares, which calamine reserves room for), stopping past `max`.
fn count_shared_strings(mut r: impl Read, path: &Path, max: u64) -> Result<(), InputError> {
    let too_many = |n: String| {
        over(
            path,
            format!(
                "工作簿的共享字符串有 {n} 个，超过上限 {max} 个；如确为正常数据，可用 --max-shared-strings 调高上限"
            ),
        )
    };
    // A tag is looked at when WINDOW bytes of it (or the end of the part) are in the buffer.
    const WINDOW: usize = 1024;
    let mut buf = vec![0u8; 64 << 10];
    let (mut kept, mut count, mut eof) = (0, 0u64, false);
    while !eof {
        // A damaged part: calamine reports it.
        let Ok(n) = r.read(&mut buf[kept..]) else { return Ok(()) };
        eof = n == 0;
        let end = kept + n;
        let (mut at, mut keep_from) = (0, end);
        while let Some(i) = memchr::memchr(b'<', &buf[at..end]) {
            let tag = at + i + 1;
            if !eof && end - tag < WINDOW {
                keep_from = tag - 1;
                break;
            }
            let t = &buf[tag..end.min(tag + WINDOW)];
            let name_len =
                t.iter().position(|b| matches!(b, b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r')).unwrap_or(t.len());
            let local = t[..name_len].rsplit(|&b| b == b':').next().unwrap_or_default();
            if local == b"si" {
                count += 1;
                if count > max {
                    return Err(too_many(format!("{count}+")));
                }
            } else if local == b"sst" {
                let t = &t[..t.iter().position(|&b| b == b'>').unwrap_or(t.len())];
                let declared = memchr::memmem::find(t, b"uniqueCount=").and_then(|k| {
                    let digits: Vec<u8> = t
                        .get(k + 13..)
                        .unwrap_or_default()
                        .iter()
                        .copied()
                        .take_while(u8::is_ascii_digit)
                        .take(20)
                        .collect();
                    std::str::from_utf8(&digits).ok()?.parse::<u128>().ok()
                });
                if let Some(d) = declared.filter(|&d| d > u128::from(max)) {
                    return Err(too_many(format!("{d}（声明）")));
                }
            }
            at = tag;
        }
        buf.copy_within(keep_from..end, 0);
        kept = end - keep_from;
    }
    Ok(())
}

/// A worksheet cell as the text a CSV export would hold: numbers without float noise, dates as
/// `YYYY-MM-DD`, booleans as 是/否, errors (`#DIV/0!`) as written (they become data problems).
pub fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => (if *b { "是" } else { "否" }).to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            // A workbook in the 1904 date system (.xls, .xlsb; calamine keeps the flag inside the
            // value): its serials count from 1904-01-01, 1462 days after the 1900 system's.
            let is_1904 = *dt == calamine::ExcelDateTime::new(dt.as_f64(), calamine::ExcelDateTimeType::DateTime, true);
            let serial = dt.as_f64().floor() as i64 + if is_1904 { 1462 } else { 0 };
            Date::from_excel_serial(serial).map(|d| d.to_string()).unwrap_or_else(|| float_text(dt.as_f64()))
        }
        Data::DateTime(dt) => float_text(dt.as_f64()),
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_string(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Shortest text of a stored number: `3500`, `3500.5`, `1234.56`.
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Folds `\r\n` into `\n`, and turns a lone `\r` into `\n` too. The csv crate counts a
/// CRLF-terminated record's line one short (the next record starts on the `\n`), and it ends a
/// record at a lone `\r` (old Mac line endings) without counting a line, so that every record of
/// such a file, or two records split by a stray CR, had the same row number. Every problem must
/// name its row as Excel shows it.
/// Field `col` of every line after the header of a UTF-8 text file with no quote character,
/// for the duplicate-id scan, with the line's number: such a file's records are its lines (a
/// record's row is its line) and its fields are split by the delimiter alone, exactly as the csv
/// reader would split them, so a plain byte search (memchr) can stand in for a full CSV parse.
/// Line breaks are those of [`fold_crs`] (CRLF, LF, lone CR). Returns `false`, having called `f` for
/// some lines, as soon as it meets a `"`: the caller must then start again with the csv reader.
pub fn each_unquoted_field(
    path: &Path,
    header_row: u64,
    delimiter: u8,
    col: usize,
    limits: &Limits,
    f: &mut dyn FnMut(u64, &[u8]),
) -> Result<bool, InputError> {
    let part = Part { start: 0, end: None, header_row };
    each_unquoted_field_of(path, part, delimiter, col, limits, f).map(|lines| lines.is_some())
}

/// A part of a text file for [`each_unquoted_field_of`]: bytes `start..end` (the end of the file
/// when `None`), `start` the first byte of a line; lines up to `header_row` (counted from the
/// part's start) are not data.
#[derive(Debug, Clone, Copy)]
pub struct Part {
    pub start: u64,
    pub end: Option<u64>,
    pub header_row: u64,
}

/// The file cut into up to `n` parts of about equal size, each starting just after a `\n` (the
/// first at the start), for scanning them side by side; one part for a small file.
pub fn line_parts(path: &Path, n: usize, header_row: u64) -> io::Result<Vec<Part>> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut starts = vec![0u64];
    let mut buf = vec![0u8; 1 << 16];
    for k in 1..n as u64 {
        let from = (len * k / n as u64).max(starts[starts.len() - 1] + 1);
        file.seek(SeekFrom::Start(from - 1))?;
        let mut at = from - 1;
        let next = loop {
            let got = file.read(&mut buf)?;
            if got == 0 {
                break None;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..got]) {
                break Some(at + i as u64 + 1);
            }
            at += got as u64;
        };
        match next {
            Some(s) if s < len => starts.push(s),
            _ => break,
        }
    }
    let parts = starts.iter().enumerate().map(|(k, &start)| Part {
        start,
        end: starts.get(k + 1).copied(),
        // Only the first part holds the header (the caller checks that it holds that many lines).
        header_row: if k == 0 { header_row } else { 0 },
    });
    Ok(parts.collect())
}

/// As [`each_unquoted_field`] for one part of the file, its lines numbered from 1 at the part's
/// start; `Some(lines)`: the part had no quote and this many lines. (Generic over `f`, so that
/// the caller's closure is compiled into the line loop: no call through a pointer a line.)
pub fn each_unquoted_field_of<F: FnMut(u64, &[u8]) + ?Sized>(
    path: &Path,
    part: Part,
    delimiter: u8,
    col: usize,
    limits: &Limits,
    f: &mut F,
) -> Result<Option<u64>, InputError> {
    use std::io::{Seek, SeekFrom};
    let unreadable = |e: io::Error| InputError::Unreadable {
        path: crate::value::shown_path(path),
        message: format!("无法读取：{}", crate::error::io_text(&e)),
    };
    let mut file = File::open(path).map_err(unreadable)?;
    file.seek(SeekFrom::Start(part.start)).map_err(unreadable)?;
    // Read straight into `buf` (no copy through a reader's buffer), line breaks folded there.
    let mut body = file.take(part.end.map_or(u64::MAX, |e| e - part.start));
    let mut cr = false;
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK];
    // buf[..kept] is the start of a line whose end has not been read yet.
    let (mut kept, mut line) = (0usize, 0u64);
    let header_row = part.header_row;
    let mut field = |line_bytes: &[u8], line: u64| {
        // An empty line is no record to the csv reader either.
        if line <= header_row || line_bytes.is_empty() {
            return;
        }
        let mut rest = line_bytes;
        for _ in 0..col {
            match memchr::memchr(delimiter, rest) {
                Some(i) => rest = &rest[i + 1..],
                None => return,
            }
        }
        f(line, &rest[..memchr::memchr(delimiter, rest).unwrap_or(rest.len())]);
    };
    loop {
        if kept == buf.len() {
            if kept > limits.max_record_bytes {
                return Err(record_too_long(path, line + 1, limits.max_record_bytes));
            }
            // A line longer than the buffer (a huge cell): make room.
            buf.resize(buf.len() * 2, 0);
        }
        let n = body.read(&mut buf[kept..]).map_err(unreadable)?;
        let n = if n == 0 { 0 } else { fold_crs(&mut buf[kept..kept + n], &mut cr) };
        if n == 0 {
            if kept > 0 {
                line += 1;
                field(&buf[..kept], line);
            }
            return Ok(Some(line));
        }
        if memchr::memchr(b'"', &buf[kept..kept + n]).is_some() {
            return Ok(None);
        }
        let end = kept + n;
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[start..end]) {
            line += 1;
            field(&buf[start..start + i], line);
            start += i + 1;
        }
        buf.copy_within(start..end, 0);
        kept = end - start;
    }
}

/// Line breaks folded in place, as [`Blocks`] and the id scan read text (a CRLF becomes its LF, a lone CR an LF),
/// in bytes read one piece after another; `cr`: the piece before ended with a CR (so that an LF
/// starting this one is its LF). The length of what is left, at the start of `bytes`.
fn fold_crs(bytes: &mut [u8], cr: &mut bool) -> usize {
    let (mut r, mut w) = (0, 0);
    if std::mem::take(cr) && bytes.first() == Some(&b'\n') {
        r = 1;
    }
    loop {
        let Some(i) = memchr::memchr(b'\r', &bytes[r..]) else {
            // (Most text has no CR: nothing moves.)
            if r != w {
                bytes.copy_within(r.., w);
            }
            return w + bytes.len() - r;
        };
        if r != w {
            bytes.copy_within(r..r + i, w);
        }
        w += i;
        bytes[w] = b'\n';
        w += 1;
        r += i + 1;
        match bytes.get(r) {
            None => {
                *cr = true;
                return w;
            }
            Some(b'\n') => r += 1,
            Some(_) => {}
        }
    }
}

/// Reference for tests: the physical line each record of a CSV text starts on, as a text editor
/// shows it, found by a hand-written state machine (CRLF, LF and a lone CR are each one line
/// break; empty lines are no records; a quoted cell may hold line breaks).
#[cfg(test)]
pub(crate) fn reference_rows(text: &[u8], delimiter: u8) -> Vec<u64> {
    #[derive(PartialEq)]
    enum S {
        RecordStart,
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut folded = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\r' {
            folded.push(b'\n');
            i += 1 + usize::from(text.get(i + 1) == Some(&b'\n'));
        } else {
            folded.push(text[i]);
            i += 1;
        }
    }
    let (mut line, mut rows, mut state) = (1, Vec::new(), S::RecordStart);
    for b in folded {
        if state == S::RecordStart && b != b'\n' {
            rows.push(line);
            state = S::FieldStart;
        }
        state = match (state, b) {
            (S::RecordStart, _) => S::RecordStart,
            (S::FieldStart, b'"') => S::Quoted,
            (S::Quoted, b'"') => S::QuoteInQuoted,
            (S::Quoted, _) => S::Quoted,
            (S::QuoteInQuoted, b'"') => S::Quoted,
            (_, b'\n') => S::RecordStart,
            (_, b) if b == delimiter => S::FieldStart,
            _ => S::Unquoted,
        };
        line += u64::from(b == b'\n');
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worksheet_cells_read_like_csv_cells() {
        assert_eq!(cell_text(&Data::Float(3500.0)), "3500");
        assert_eq!(cell_text(&Data::Float(1234.56)), "1234.56");
        assert_eq!(cell_text(&Data::Int(4)), "4");
        assert_eq!(cell_text(&Data::String("３,５００元".into())), "３,５００元");
        assert_eq!(cell_text(&Data::Bool(true)), "是");
        assert_eq!(cell_text(&Data::Empty), "");
    }

    /// A date of an .xls/.xlsb workbook in the 1904 date system is the date Excel shows, as the
    /// .xlsx reader gives it (serial 43466 is 2023-01-02 there, 2019-01-01 in the 1900 system).
    #[test]
    fn dates_of_the_1904_system_are_the_dates_shown() {
        use calamine::{ExcelDateTime, ExcelDateTimeType::DateTime};
        assert_eq!(cell_text(&Data::DateTime(ExcelDateTime::new(43466.0, DateTime, false))), "2019-01-01");
        assert_eq!(cell_text(&Data::DateTime(ExcelDateTime::new(43466.0, DateTime, true))), "2023-01-02");
        assert_eq!(cell_text(&Data::DateTime(ExcelDateTime::new(43466.5, DateTime, true))), "2023-01-02");
    }

    #[test]
    fn crlf_is_folded_even_across_reads() {
        struct OneByte(Vec<u8>, usize);
        impl Read for OneByte {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 >= self.0.len() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            }
        }
        for input in [&b"a,b\r\n1,2\r\n\"x\ry\"\r"[..], b"\r\n\r\r\n"] {
            // Since the fuzzer found two records numbered alike, a lone CR becomes a line break too.
            let want: Vec<u8> = String::from_utf8_lossy(input).replace("\r\n", "\n").replace('\r', "\n").into_bytes();
            // Read by `Blocks` from a source giving a byte a read, into blocks of every size (a
            // CR at the end of one read, its LF in the next), into a buffer holding other text.
            for size in 1..=input.len() + 1 {
                let mut blocks = Blocks {
                    src: Box::new(OneByte(input.to_vec(), 0)),
                    cr: false,
                    carry: Vec::new(),
                    line: 1,
                    eof: false,
                    delimiter: b',',
                    limits: Limits::default(),
                    path: "crlf.csv".into(),
                    core: csv_core::ReaderBuilder::new().build(),
                    size,
                };
                let (mut got, mut block) = (Vec::new(), b"written before".to_vec());
                while blocks.next(&mut block).unwrap().is_some() {
                    got.extend_from_slice(&block);
                }
                assert_eq!(got, want, "blocks of {size}");
            }
            // Folded in place in pieces, as the id scan reads: the same text.
            for room in 1..=input.len() {
                let (mut got, mut cr) = (Vec::new(), false);
                for piece in input.chunks(room) {
                    let mut piece = piece.to_vec();
                    let n = fold_crs(&mut piece, &mut cr);
                    got.extend_from_slice(&piece[..n]);
                }
                assert_eq!(got, want, "folded in place: pieces of {room}");
            }
        }
    }

    /// Blocks cut anywhere a record ends (quoted line breaks, blank lines, lone CRs, no final line
    /// break, records longer than a block), parsed one by one, give the rows and row numbers the
    /// csv reader gives reading the whole file, whichever row the header was on.
    #[test]
    fn blocks_parse_as_the_whole_file_does() {
        let palette: [&[u8]; 9] = [b"a", b",", b"\"", b"\n", b"\r", "户".as_bytes(), b" ", b"\"\"", b"1,2\n"];
        let mut rng = crate::test_rng::Lcg(7);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let rows_of = |r: &RawRow| (r.row, r.record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        for case in 0..3000 {
            // Every other case without quotes: blocks cut at line breaks.
            let Some(text) = rng.text(&palette, 120, case) else { continue };
            std::fs::write(&path, &text).unwrap();
            let (mut whole, _) = open(&path, &OpenOptions::default()).unwrap();
            let mut want = Vec::new();
            while let Some(r) = whole.next_row(&path) {
                want.push(rows_of(&r.unwrap()));
            }
            // Rows are numbered by the physical line of their first character.
            let numbers: Vec<u64> = want.iter().map(|r| r.0).collect();
            assert_eq!(numbers, reference_rows(&text, b','), "case {case}: {:?}", String::from_utf8_lossy(&text));
            // Their cells are what the csv crate reads (line breaks folded as `fold_crs` folds them).
            let folded = String::from_utf8_lossy(&text).replace("\r\n", "\n").replace('\r', "\n");
            let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(folded.as_bytes());
            let cells: Vec<Vec<Vec<u8>>> =
                csv.byte_records().map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect()).collect();
            assert_eq!(
                want.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
                cells,
                "case {case}: {:?}",
                String::from_utf8_lossy(&text)
            );
            let before = rng.below(4);
            let size = [1, 2, 5, 16, 1 << 10][rng.below(5)];
            let (mut rows, _) = open(&path, &OpenOptions::default()).unwrap();
            let mut got = Vec::new();
            for _ in 0..before {
                if let Some(r) = rows.next_row(&path) {
                    got.push(rows_of(&r.unwrap()));
                }
            }
            let Ok(mut blocks) = rows.into_blocks() else { panic!("a CSV file") };
            blocks.size = size;
            let mut reader = blocks.reader();
            let (mut block, mut parsed) = (Vec::new(), Vec::new());
            while let Some(line) = blocks.next(&mut block).unwrap() {
                reader.parse(&block, line, &path, &mut parsed).unwrap();
                got.extend(parsed.iter().map(rows_of));
            }
            assert_eq!(
                got,
                want,
                "case {case}: {:?}, {before} rows first, blocks of {size}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    /// A block without quotes split by hand gives what csv-core gives: the same rows, numbers,
    /// ends and errors (a record or a row over a limit), blocks starting anywhere.
    #[test]
    fn lines_split_by_hand_read_as_csv_core_reads_them() {
        let palette: [&[u8]; 7] = [b"a", b",", b"\n", b"\n\n", "户".as_bytes(), b" ", b"1,2\n"];
        let mut rng = crate::test_rng::Lcg(5);
        let path = Path::new("x.csv");
        let rows_of = |r: &RawRow| (r.row, r.record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        for case in 0..5000 {
            let Some(block) = rng.text(&palette, 40, 1) else { continue };
            let limits = Limits {
                max_record_bytes: [1 << 20, 3, 6, 10][rng.below(4)],
                max_columns: [1024, 1, 2, 4][rng.below(4)],
                ..Limits::default()
            };
            let line = 1 + rng.below(3) as u64;
            let parse = |quoted: bool| {
                let (mut rows, mut ends) = (Vec::new(), Vec::new());
                let mut out = Parsed {
                    path,
                    limits: &limits,
                    rows: &mut rows,
                    k: 0,
                    ends: Some(&mut ends),
                    each: None,
                    count: 0,
                };
                let result = if quoted {
                    parse_quoted(&mut csv_core::Reader::new(), &block, line, &mut out)
                } else {
                    split_lines(&block, line, b',', &mut out)
                };
                let k = out.k;
                let result = result.map_err(|e| e.to_string());
                (result, rows[..k].iter().map(rows_of).collect::<Vec<_>>(), ends)
            };
            assert_eq!(parse(false), parse(true), "case {case}: {:?}", String::from_utf8_lossy(&block));
        }
    }

    /// A line that never ends (an endless reader: a 1 GiB line is no different) is stopped once
    /// it is longer than the record limit, quoted or not, having read little more than that.
    #[test]
    fn an_endless_line_is_stopped_at_the_record_limit() {
        struct Counting<R>(R, u64);
        impl<R: Read> Read for Counting<R> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.read(buf)?;
                self.1 += n as u64;
                Ok(n)
            }
        }
        for (start, limit, line) in [(&b"a,b\n1,"[..], 1 << 20, 2), (b"a,b\n\n\"1,", 1 << 20, 3), (b"a,b\n1,", 1000, 2)]
        {
            let counting = Counting(io::Cursor::new(start.to_vec()).chain(io::repeat(b'x')), 0);
            let (tx, rx) = mpsc::channel();
            // The reader is moved into the blocks; its count comes back through a channel.
            struct Report<R>(Counting<R>, mpsc::Sender<u64>);
            impl<R: Read> Read for Report<R> {
                fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                    let n = self.0.read(buf)?;
                    let _ = self.1.send(self.0 .1);
                    Ok(n)
                }
            }
            let limits = Limits { max_record_bytes: limit, ..Limits::default() };
            let mut blocks = Blocks {
                src: Box::new(Report(counting, tx)),
                cr: false,
                carry: Vec::new(),
                line: 1,
                eof: false,
                delimiter: b',',
                limits,
                path: "endless.csv".into(),
                core: csv_core::ReaderBuilder::new().build(),
                size: BLOCK,
            };
            let mut block = Vec::new();
            let err = loop {
                match blocks.next(&mut block) {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("an endless reader has no end"),
                    Err(e) => break e.to_string(),
                }
            };
            let read = rx.try_iter().last().unwrap();
            assert!(err.contains(&format!("第 {line} 行起的一条记录超过上限 {limit} 字节仍未结束")), "{err}");
            assert!(read <= 2 * limit as u64 + BLOCK as u64, "{read} bytes read for a limit of {limit}");
        }
    }

    #[test]
    fn shared_strings_are_counted_as_they_stream_by() {
        let path = Path::new("x.xlsx");
        let mut xml = br#"<?xml version="1.0"?><sst xmlns="main" count="3" uniqueCount="3">"#.to_vec();
        for i in 0..3000 {
            // Tags cut by the buffer's end, prefixes, empty strings, rich text.
            xml.extend(format!("<si><t>{}</t></si><x:si/><si><r><t>{i}</t></r></si>", "长".repeat(i % 50)).bytes());
        }
        xml.extend(b"</sst>");
        assert!(count_shared_strings(&xml[..], path, 9000).is_ok());
        let err = count_shared_strings(&xml[..], path, 8999).unwrap_err().to_string();
        assert!(err.contains("9000+ 个，超过上限 8999 个"), "{err}");
        let declared = br#"<sst xmlns="main" count="1" uniqueCount="99999999999999999999999"><si><t/></si></sst>"#;
        let err = count_shared_strings(&declared[..], path, 10).unwrap_err().to_string();
        assert!(err.contains("99999999999999999999（声明）"), "{err}");
    }

    /// Rows are numbered by the physical line their first character is on: after empty lines,
    /// after a quoted cell holding line breaks (CRLF, LF or a lone CR), whatever the block size.
    #[test]
    fn rows_are_numbered_by_their_first_physical_line() {
        let text = "a,b\n\n\n1,\"x\r\ny\rz\"\n\n2,2\r\n\r\n\"3\",3";
        assert_eq!(row_numbers(text), [1, 4, 8, 10]);
        assert_eq!(reference_rows(text.as_bytes(), b','), [1, 4, 8, 10]);
    }

    /// Found by the fuzzer: a stray CR ended a record without a new line, so the next record had
    /// the same row number; a file with old Mac line endings had every row numbered 1.
    #[test]
    fn rows_split_by_a_lone_cr_have_their_own_row_numbers() {
        for text in ["a,b\r1,2\r3,4\r", "a,b\n1,2\r3,4\n"] {
            assert_eq!(row_numbers(text), [1, 2, 3], "{text:?}");
        }
    }

    /// The row numbers `open` gives the records of `text`, read as a CSV file.
    fn row_numbers(text: &str) -> Vec<u64> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, text).unwrap();
        let (mut rows, _) = open(&path, &OpenOptions::default()).unwrap();
        let mut numbers = Vec::new();
        while let Some(r) = rows.next_row(&path) {
            numbers.push(r.unwrap().row);
        }
        numbers
    }
}

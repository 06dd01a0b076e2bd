//! Where rows come from: a CSV file (any of the encodings found in the field, comma or tab) or a
//! worksheet of an Excel/WPS workbook (.xlsx, .xls, .xlsb, .ods). Both give [`RawRow`]s of cell
//! texts with their row numbers as the user sees them, so everything after this point (header
//! mapping, cell parsing) is the same for both.
//!
//! CSV is streamed. A workbook is read whole by calamine (the format is a zip of XML; Excel itself
//! caps a sheet at 1,048,576 rows), then handed out row by row.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

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
    Csv(Box<csv::Reader<Tap>>, u8),
    Sheet(std::vec::IntoIter<RawRow>),
}

/// The decoded text under the csv reader of [`Rows::Csv`], keeping a copy of what it hands the
/// reader while `keeping`: when the header has been found, the reader's buffered bytes after the
/// last record it returned are recovered from the copy ([`Rows::into_blocks`]).
pub struct Tap {
    inner: Box<dyn Read + Send>,
    kept: Vec<u8>,
    keeping: bool,
}

impl Read for Tap {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        if self.keeping {
            self.kept.extend_from_slice(&out[..n]);
        }
        Ok(n)
    }
}

/// The csv reader's settings for tuopin's CSV input (also for each block of [`Blocks`]).
fn csv_reader<R: Read>(delimiter: u8, r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(r)
}

/// Bytes per block of [`Blocks`] (a few hundred households).
const BLOCK: usize = 32 << 10;

/// The rest of a CSV file's text as blocks of whole records, so that the blocks can be parsed in
/// parallel ([`BlockReader`]), each with the line number it starts on. A block ends at a line
/// break when it has no `"` (every line break is then a record's end); otherwise where a csv-core
/// parse of the block says its last whole record ends (a quoted cell may hold line breaks).
pub struct Blocks {
    src: Box<dyn Read + Send>,
    /// Read, not yet handed out: the start of the next block.
    carry: Vec<u8>,
    /// Line number of the first byte of `carry`.
    line: u64,
    eof: bool,
    pub delimiter: u8,
    core: csv_core::Reader,
    /// Bytes a block aims at ([`BLOCK`]; small in tests, to cut records everywhere).
    size: usize,
}

impl Blocks {
    /// The next block into `out` (reused), with the line number it starts on; `None` at the end.
    pub fn next(&mut self, out: &mut Vec<u8>) -> io::Result<Option<u64>> {
        out.clear();
        out.append(&mut self.carry);
        let mut want = self.size;
        loop {
            while out.len() < want && !self.eof {
                let start = out.len();
                out.resize(start.max(want), 0);
                let n = self.src.read(&mut out[start..])?;
                out.truncate(start + n);
                self.eof = n == 0;
            }
            if out.is_empty() {
                return Ok(None);
            }
            let cut = if self.eof { Some(out.len()) } else { self.records_end(out) };
            match cut {
                Some(cut) => {
                    self.carry.extend_from_slice(&out[cut..]);
                    out.truncate(cut);
                    let line = self.line;
                    self.line += memchr::memchr_iter(b'\n', out).count() as u64;
                    return Ok(Some(line));
                }
                // Not one whole record yet (a record longer than a block): read more.
                None => want = out.len() * 2,
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

    /// Where the last whole record of `data` ends (it starts at a record's start).
    fn records_end(&mut self, data: &[u8]) -> Option<usize> {
        if memchr::memchr(b'"', data).is_none() {
            // The line break of the last line that is not empty: the csv reader skips empty lines
            // as part of the record after them, which is then numbered from the first of them.
            let mut i = memchr::memrchr(b'\n', data)?;
            while i > 0 && data[i - 1] == b'\n' {
                i -= 1;
            }
            return (i > 0).then_some(i + 1);
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

/// A csv reader for blocks of [`Blocks`], built once per thread (building one costs about as much
/// as parsing a thousand rows) and pointed at each block in turn.
pub struct BlockReader(csv::Reader<io::Cursor<Vec<u8>>>);

impl BlockReader {
    pub fn new(delimiter: u8) -> BlockReader {
        BlockReader(csv_reader(delimiter, io::Cursor::new(Vec::new())))
    }

    /// Parse `block` (borrowed for the parse, then given back) into `rows` (their buffers
    /// reused), numbered from `line`, exactly as the csv reader would have read them from the
    /// whole file.
    pub fn parse(
        &mut self,
        block: &mut Vec<u8>,
        line: u64,
        path: &Path,
        rows: &mut Vec<RawRow>,
    ) -> Result<(), InputError> {
        let end = self.parse_at(block, line, path, rows, 0)?;
        rows.truncate(end);
        Ok(())
    }

    /// As [`BlockReader::parse`], into `rows[start..]` (reusing the rows there, adding more as
    /// needed); the rows after the returned index are left as they were.
    pub fn parse_at(
        &mut self,
        block: &mut Vec<u8>,
        line: u64,
        path: &Path,
        rows: &mut Vec<RawRow>,
        start: usize,
    ) -> Result<usize, InputError> {
        std::mem::swap(self.0.get_mut().get_mut(), block);
        let result = self
            .0
            .seek_raw(io::SeekFrom::Start(0), csv::Position::new())
            .map_err(|e| InputError::Unreadable { path: path.display().to_string(), message: e.to_string() })
            .and_then(|()| {
                let mut k = start;
                loop {
                    if k == rows.len() {
                        rows.push(RawRow::default());
                    }
                    match read_record(&mut self.0, path, &mut rows[k], line - 1) {
                        Some(Ok(())) => k += 1,
                        Some(Err(e)) => return Err(e),
                        None => return Ok(k),
                    }
                }
            });
        std::mem::swap(self.0.get_mut().get_mut(), block);
        result
    }
}

/// One record of a csv reader into `raw`; row numbers are the reader's line numbers plus `lines_before`.
fn read_record<R: Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
    raw: &mut RawRow,
    lines_before: u64,
) -> Option<Result<(), InputError>> {
    raw.error = None;
    raw.members.clear();
    match reader.read_byte_record(&mut raw.record) {
        Ok(true) => {
            raw.row = raw.record.position().map(|p| p.line()).unwrap_or(0) + lines_before;
            Some(Ok(()))
        }
        Ok(false) => None,
        Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
            Some(Err(InputError::Unreadable { path: path.display().to_string(), message: e.to_string() }))
        }
        Err(e) => {
            raw.row = e.position().map(|p| p.line()).unwrap_or(0) + lines_before;
            raw.record.clear();
            raw.error = Some(e.to_string());
            Some(Ok(()))
        }
    }
}

impl Rows {
    /// The next row; `None` at the end. A CSV record that cannot be read (bad quoting) is
    /// returned as a row with an error, to be reported and counted; an I/O error ends the run.
    pub fn next_row(&mut self, path: &Path) -> Option<Result<RawRow, InputError>> {
        let mut raw = RawRow::default();
        self.read_into(path, &mut raw).map(|r| r.map(|()| raw))
    }

    /// As [`Rows::next_row`], into a row whose buffers are reused (the streaming hot path).
    pub fn read_into(&mut self, path: &Path, raw: &mut RawRow) -> Option<Result<(), InputError>> {
        match self {
            Rows::Sheet(it) => it.next().map(|r| {
                *raw = r;
                Ok(())
            }),
            Rows::Csv(reader, _) => read_record(reader, path, raw, 0),
        }
    }

    /// Keep a copy of the text the csv reader takes in, for [`Rows::into_blocks`] (while the
    /// header is looked for: a few rows).
    pub fn keep(&mut self, on: bool) {
        if let Rows::Csv(reader, _) = self {
            let tap = reader.get_mut();
            tap.keeping = on;
            if !on {
                tap.kept = Vec::new();
            }
        }
    }

    /// The rest of a CSV file, from the record after the last one read, as [`Blocks`] (it must
    /// have been kept since it was opened); a worksheet stays as it is.
    pub fn into_blocks(self) -> Result<Blocks, Rows> {
        match self {
            Rows::Csv(reader, delimiter) => {
                let (byte, line) = (reader.position().byte() as usize, reader.position().line());
                let tap = reader.into_inner();
                debug_assert!(tap.keeping && byte <= tap.kept.len());
                Ok(Blocks {
                    src: tap.inner,
                    carry: tap.kept.get(byte..).unwrap_or_default().to_vec(),
                    line,
                    eof: false,
                    delimiter,
                    core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
                    size: BLOCK,
                })
            }
            sheet => Err(sheet),
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
    let p = path.display().to_string();
    let unreadable = |e: io::Error| InputError::Unreadable { path: p.clone(), message: format!("无法读取：{e}") };
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
        return open_sheet(path, opts.sheet.as_deref());
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
    let delimiter = {
        let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let tabs = first_line.iter().filter(|&&b| b == b'\t').count();
        let commas = first_line.iter().filter(|&&b| b == b',').count();
        // UTF-16 has NUL bytes between ASCII characters; the counts still compare.
        if tabs > commas {
            b'\t'
        } else {
            b','
        }
    };
    let body = io::Cursor::new(head).chain(file);
    let reader: Box<dyn Read + Send> = match encoding {
        Encoding::Utf8 => Box::new(body),
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
    };
    let reader = Tap {
        inner: Box::new(Crlf { inner: BufReader::with_capacity(1 << 16, reader) }),
        kept: Vec::new(),
        keeping: false,
    };
    Ok((Rows::Csv(Box::new(csv_reader(delimiter, reader)), delimiter), Kind::Csv { encoding, delimiter }))
}

/// Open a worksheet. calamine 0.38 can panic on a damaged workbook (found by fuzzing: a cell
/// reference such as `AAAAAAAAAAAAA1` overflows its column arithmetic); such a file is
/// unreadable, like any other calamine error, not a crash.
fn open_sheet(path: &Path, sheet: Option<&str>) -> Result<(Rows, Kind), InputError> {
    std::panic::catch_unwind(|| read_sheet(path, sheet)).unwrap_or_else(|_| {
        Err(InputError::Unreadable {
            path: path.display().to_string(),
            message: "无法读取工作簿：文件已损坏（读取时出错）".into(),
        })
    })
}

fn read_sheet(path: &Path, sheet: Option<&str>) -> Result<(Rows, Kind), InputError> {
    let p = path.display().to_string();
    let mut wb = open_workbook_auto(path)
        .map_err(|e| InputError::Unreadable { path: p.clone(), message: format!("无法打开工作簿：{e}") })?;
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
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| InputError::Unreadable {
            path: p.clone(), message: format!("无法读取工作表“{name}”：{e}")
        })?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
    let mut rows = Vec::with_capacity(range.height());
    for (i, cells) in range.rows().enumerate() {
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let mut record = csv::ByteRecord::new();
        // Columns left of the used range are empty; keep positions as the sheet shows them.
        for _ in 0..first_col {
            record.push_field(b"");
        }
        for c in cells {
            record.push_field(cell_text(c).as_bytes());
        }
        rows.push(RawRow { row: first_row + i as u64 + 1, record, error: None, members: Vec::new() });
    }
    Ok((Rows::Sheet(rows.into_iter()), Kind::Sheet { name }))
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
            let serial = dt.as_f64().floor() as i64;
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
/// for the duplicate-id scan: such a file's records are its lines and its fields are split by the
/// delimiter alone, exactly as the csv reader would split them, so a plain byte search (memchr)
/// can stand in for a full CSV parse. Line breaks are those of [`Crlf`] (CRLF, LF, lone CR).
/// Returns `false`, having called `f` for some lines, as soon as it meets a `"`: the caller must
/// then start again with the csv reader.
pub fn each_unquoted_field(
    path: &Path,
    header_row: u64,
    delimiter: u8,
    col: usize,
    f: &mut dyn FnMut(&[u8]),
) -> Result<bool, InputError> {
    let unreadable = |e: io::Error| InputError::Unreadable {
        path: path.display().to_string(),
        message: format!("无法读取：{e}"),
    };
    let file = File::open(path).map_err(unreadable)?;
    let mut text = Crlf { inner: BufReader::with_capacity(1 << 16, file) };
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK];
    // buf[..kept] is the start of a line whose end has not been read yet.
    let (mut kept, mut line) = (0usize, 0u64);
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
        f(&rest[..memchr::memchr(delimiter, rest).unwrap_or(rest.len())]);
    };
    loop {
        if kept == buf.len() {
            // A line longer than the buffer (a huge cell): make room.
            buf.resize(buf.len() * 2, 0);
        }
        let n = text.read(&mut buf[kept..]).map_err(unreadable)?;
        if n == 0 {
            if kept > 0 {
                field(&buf[..kept], line + 1);
            }
            return Ok(true);
        }
        if memchr::memchr(b'"', &buf[kept..kept + n]).is_some() {
            return Ok(false);
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

struct Crlf<R> {
    inner: R,
}

impl<R: BufRead> Read for Crlf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut w = 0;
        while w < out.len() {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            // Copy up to the next CR (or as much as fits) in one piece.
            let room = out.len() - w;
            let window = &buf[..buf.len().min(room)];
            match memchr::memchr(b'\r', window) {
                None => {
                    out[w..w + window.len()].copy_from_slice(window);
                    w += window.len();
                    let n = window.len();
                    self.inner.consume(n);
                }
                Some(i) => {
                    out[w..w + i].copy_from_slice(&window[..i]);
                    w += i;
                    if i + 1 < buf.len() {
                        // CRLF: keep the LF only; a lone CR is a line break too.
                        let crlf = buf[i + 1] == b'\n';
                        self.inner.consume(i + 1);
                        if !crlf {
                            out[w] = b'\n';
                            w += 1;
                        }
                    } else {
                        // A CR at the end of the buffer: decided with the next byte.
                        self.inner.consume(i);
                        if w > 0 {
                            break; // return what we have; the CR is looked at on the next call
                        }
                        self.inner.consume(1);
                        if self.inner.fill_buf()?.first() == Some(&b'\n') {
                            self.inner.consume(1);
                        }
                        out[0] = b'\n';
                        return Ok(1);
                    }
                }
            }
        }
        Ok(w)
    }
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
            let mut got = Vec::new();
            Crlf { inner: BufReader::with_capacity(1, OneByte(input.to_vec(), 0)) }.read_to_end(&mut got).unwrap();
            assert_eq!(got, want);
            let mut got = Vec::new();
            Crlf { inner: input }.read_to_end(&mut got).unwrap();
            assert_eq!(got, want);
            // Small output buffers against a larger input buffer: a CR just past what fits.
            for (cap, room) in [(3, 2), (4, 1), (7, 3)] {
                let mut r = Crlf { inner: BufReader::with_capacity(cap, input) };
                let (mut got, mut buf) = (Vec::new(), vec![0u8; room]);
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(got, want, "buffer {cap}, reads of {room}");
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
        let rows_of = |r: &RawRow| (r.row, r.record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), r.error.clone());
        for case in 0..3000 {
            // Every other case without quotes: blocks cut at line breaks.
            let Some(text) = rng.text(&palette, 120, case) else { continue };
            std::fs::write(&path, &text).unwrap();
            let (mut whole, _) = open(&path, &OpenOptions::default()).unwrap();
            let mut want = Vec::new();
            while let Some(r) = whole.next_row(&path) {
                want.push(rows_of(&r.unwrap()));
            }
            let before = rng.below(4);
            let size = [1, 2, 5, 16, 1 << 10][rng.below(5)];
            let (mut rows, _) = open(&path, &OpenOptions::default()).unwrap();
            rows.keep(true);
            let mut got = Vec::new();
            for _ in 0..before {
                if let Some(r) = rows.next_row(&path) {
                    got.push(rows_of(&r.unwrap()));
                }
            }
            let Ok(mut blocks) = rows.into_blocks() else { panic!("a CSV file") };
            blocks.size = size;
            let mut reader = BlockReader::new(b',');
            let (mut block, mut parsed) = (Vec::new(), Vec::new());
            while let Some(line) = blocks.next(&mut block).unwrap() {
                reader.parse(&mut block, line, &path, &mut parsed).unwrap();
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

    /// Found by the fuzzer: a stray CR ended a record without a new line, so the next record had
    /// the same row number; a file with old Mac line endings had every row numbered 1.
    #[test]
    fn rows_split_by_a_lone_cr_have_their_own_row_numbers() {
        for text in ["a,b\r1,2\r3,4\r", "a,b\n1,2\r3,4\n"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.csv");
            std::fs::write(&path, text).unwrap();
            let (mut rows, _) = open(&path, &OpenOptions::default()).unwrap();
            let mut numbers = Vec::new();
            while let Some(r) = rows.next_row(&path) {
                numbers.push(r.unwrap().row);
            }
            assert_eq!(numbers, [1, 2, 3], "{text:?}");
        }
    }
}

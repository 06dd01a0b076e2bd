//! An .xlsx worksheet streamed as it is inflated: the workbook's parts are read with a small
//! byte scanner over SpreadsheetML (`<row>`, `<c r= t= s=>`, `<v>`, `<is>`), not a general XML
//! parser, because reading the sheet was most of the cost of an .xlsx ledger (calamine's cell
//! reader took about 14 times what the whole assessment of a CSV row takes; BENCHMARKS.md).
//!
//! What a cell reads as is what calamine 0.38 gave for it, so that the same workbook gives the
//! same rows (`tests`: both readers over generated and damaged workbooks): shared and inline
//! strings with rich-text runs joined and phonetic runs left out, trimmed of ASCII white space
//! unless `xml:space="preserve"`, `_xHHHH_` escapes decoded; numbers as text without float noise;
//! numbers in a date format (built-in ids, or a custom code with d, m, y, h or s outside quotes
//! and brackets) as dates; booleans, errors and ISO dates as [`super::source::cell_text`] writes
//! them. Two differences, both for damaged or unusual files: an element it does not know inside a
//! cell is skipped (calamine refused the sheet), and a workbook in the 1904 date system gives its
//! dates as Excel shows them (calamine's serials were read as 1900-based: four years early).
//!
//! Cells and rows in the shapes spreadsheets write most (an inline or shared string, a number, no
//! value; `<row r="N">`) are read in one pass over their bytes ([`fast`]), the rest token by token.
//!
//! Memory: the shared strings (in one buffer), a byte per cell style, and the scanner's window,
//! which holds at most one text or tag of at most `max_run` bytes (`--max-record-bytes`) beside
//! what it has inflated ahead; for a sheet of 4 MiB or more, the blocks of rows in flight between
//! the reading thread and its workers (two a worker, of about 1 MiB each: [`blocks`]).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use calamine::{Data, ExcelDateTime, ExcelDateTimeType};

mod blocks;
mod fast;

/// Why a workbook or sheet cannot be read.
#[derive(Debug)]
pub enum XlsxError {
    /// Damaged or not what an .xlsx holds (the message says what).
    Damaged(String),
    /// A text or tag longer than the limit, in `part`, at `at` bytes after inflating.
    Run { part: String, at: u64 },
}

impl From<io::Error> for XlsxError {
    fn from(e: io::Error) -> XlsxError {
        XlsxError::Damaged(e.to_string())
    }
}

type Result<T, E = XlsxError> = std::result::Result<T, E>;

/// How a cell style shows a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Number,
    DateTime,
    TimeDelta,
}

/// An open .xlsx workbook: its sheets, shared strings and the cell styles that show dates.
pub struct Book {
    zip: zip::ZipArchive<BufReader<File>>,
    /// (name, part) of each sheet, in the workbook's order.
    sheets: Vec<(String, String)>,
    strings: Strings,
    styles: Vec<Shown>,
    date1904: bool,
    max_run: usize,
}

/// Shared strings, one after the other in one buffer.
#[derive(Default)]
struct Strings {
    text: String,
    ends: Vec<usize>,
}

impl Strings {
    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }
}

/// Whether a file is an .xlsx (a zip with a workbook part), not an .xlsb or .ods.
pub fn is_xlsx(path: &Path) -> bool {
    let Ok(f) = File::open(path) else { return false };
    let Ok(zip) = zip::ZipArchive::new(BufReader::new(f)) else { return false };
    let found = zip.file_names().any(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case("xl/workbook.xml")));
    found
}

impl Book {
    /// Open a workbook: its sheets, shared strings and styles. Every part is read within `max_run`.
    pub fn open(path: &Path, max_run: usize) -> Result<Book> {
        let f = File::open(path)?;
        let zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| XlsxError::Damaged(e.to_string()))?;
        let mut book =
            Book { zip, sheets: Vec::new(), strings: Strings::default(), styles: Vec::new(), date1904: false, max_run };
        let workbook = book.main_part()?;
        let rels = book.relationships(&workbook)?;
        let target = |kind: &str| rels.iter().find(|(_, t, _)| t.ends_with(kind)).map(|(_, _, p)| p.clone());
        let (shared, styles) = (target("/sharedStrings"), target("/styles"));
        book.read_workbook(&workbook, &rels)?;
        if let Some(p) = styles {
            book.read_styles(&p)?;
        }
        if let Some(p) = shared {
            book.read_strings(&p)?;
        }
        Ok(book)
    }

    pub fn sheet_names(&self) -> Vec<String> {
        self.sheets.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The zip entry of a part (case-insensitive, as Excel treats them).
    fn entry(&self, part: &str) -> Option<usize> {
        let part = part.trim_start_matches('/');
        self.zip.index_for_name(part).or_else(|| {
            (0..self.zip.len())
                .find(|&i| self.zip.name_for_index(i).is_some_and(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case(part))))
        })
    }

    fn part(&mut self, part: &str) -> Result<Option<Xml<zip::read::ZipFile<'_, BufReader<File>>>>> {
        let Some(i) = self.entry(part) else { return Ok(None) };
        // Without its CRC: a part that does not match it is read as it is, as calamine did (the
        // zip reader checks it at the part's end, once every byte has been read anyway).
        let options = zip::read::ZipReadOptions::new().ignore_crc32(true);
        let file = self.zip.by_index_with_options(i, options).map_err(|e| XlsxError::Damaged(e.to_string()))?;
        Ok(Some(Xml::new(file, part, self.max_run)))
    }

    /// The workbook part, from the package's relationships (`xl/workbook.xml` if they do not say).
    fn main_part(&mut self) -> Result<String> {
        let rels = self.relationships("")?;
        Ok(rels
            .into_iter()
            .find(|(_, t, _)| t.ends_with("/officeDocument"))
            .map(|(_, _, p)| p)
            .unwrap_or_else(|| "xl/workbook.xml".into()))
    }

    /// The relationships of `part` ("" for the package): (id, type, target part).
    fn relationships(&mut self, part: &str) -> Result<Vec<(String, String, String)>> {
        let (dir, file) = part.rsplit_once('/').unwrap_or(("", part));
        let rels_part = if dir.is_empty() { format!("_rels/{file}.rels") } else { format!("{dir}/_rels/{file}.rels") };
        let Some(mut xml) = self.part(&rels_part)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        while let Some(t) = xml.next()? {
            if let Tok::Start { name, attrs, .. } = t {
                if xml.local(name) == b"Relationship" {
                    let a = xml.slice(attrs);
                    let get = |k: &[u8]| attr(a, k).map(|v| unescape(v).into_owned()).unwrap_or_default();
                    let target = get(b"Target");
                    let path =
                        if let Some(abs) = target.strip_prefix('/') { abs.to_string() } else { join(dir, &target) };
                    out.push((get(b"Id"), get(b"Type"), path));
                }
            }
        }
        Ok(out)
    }

    fn read_workbook(&mut self, workbook: &str, rels: &[(String, String, String)]) -> Result<()> {
        let Some(mut xml) = self.part(workbook)? else {
            return Err(XlsxError::Damaged(format!("缺少工作簿部件 {workbook}")));
        };
        let (mut sheets, mut date1904) = (Vec::new(), false);
        while let Some(t) = xml.next()? {
            if let Tok::Start { name, attrs, .. } = t {
                let a = xml.slice(attrs);
                match xml.local(name) {
                    b"workbookPr" => {
                        if let Some(v) = attr(a, b"date1904") {
                            date1904 = v == b"1" || v == b"true";
                        }
                    }
                    b"sheet" => {
                        let name = attr(a, b"name").map(|v| unescape(v).into_owned()).unwrap_or_default();
                        let id = attr(a, b"r:id").or_else(|| attr_local(a, b"id")).map(|v| unescape(v).into_owned());
                        let part = id.and_then(|id| rels.iter().find(|(i, _, _)| *i == id)).map(|(_, _, p)| p.clone());
                        if let Some(part) = part {
                            sheets.push((name, part));
                        }
                    }
                    _ => {}
                }
            }
        }
        drop(xml);
        (self.sheets, self.date1904) = (sheets, date1904);
        Ok(())
    }

    /// Which cell styles show a number as a date or a duration (`cellXfs`, by index).
    fn read_styles(&mut self, part: &str) -> Result<()> {
        let Some(mut xml) = self.part(part)? else { return Ok(()) };
        let (mut custom, mut styles, mut in_xfs) = (Vec::<(u32, Shown)>::new(), Vec::new(), false);
        while let Some(t) = xml.next()? {
            match t {
                Tok::Start { name, attrs, empty } => {
                    let a = xml.slice(attrs);
                    match xml.local(name) {
                        b"numFmt" => {
                            let id = attr(a, b"numFmtId").and_then(number::<u32>);
                            let code = attr(a, b"formatCode").map(unescape).unwrap_or_default();
                            if let Some(id) = id {
                                custom.push((id, custom_format(&code)));
                            }
                        }
                        b"cellXfs" => in_xfs = !empty,
                        b"xf" if in_xfs => {
                            let id = attr(a, b"numFmtId").and_then(number::<u32>).unwrap_or(0);
                            let shown = custom
                                .iter()
                                .find(|(i, _)| *i == id)
                                .map(|(_, s)| *s)
                                .unwrap_or_else(|| builtin_format(id));
                            styles.push(shown);
                        }
                        _ => {}
                    }
                }
                Tok::End { name } if xml.local(name) == b"cellXfs" => in_xfs = false,
                _ => {}
            }
        }
        drop(xml);
        self.styles = styles;
        Ok(())
    }

    fn read_strings(&mut self, part: &str) -> Result<()> {
        let Some(mut xml) = self.part(part)? else { return Ok(()) };
        let mut strings = Strings::default();
        let mut text = String::new();
        loop {
            // `<si><t>TEXT</t></si>` as spreadsheets write it, without a token for `<si>`.
            if xml.buf[xml.pos..xml.end].starts_with(b"<si>") {
                xml.pos += 4;
                if xml.plain_t(b"</t></si>", &mut text) {
                    strings.text.push_str(&text);
                    strings.ends.push(strings.text.len());
                    continue;
                }
                xml.pos -= 4;
            }
            let Some(t) = xml.next()? else { break };
            if let Tok::Start { name, empty, .. } = t {
                if xml.local(name) == b"si" {
                    text.clear();
                    if !empty && !xml.plain_t(b"</t></si>", &mut text) {
                        xml.string(b"si", &mut text)?;
                    }
                    strings.text.push_str(&text);
                    strings.ends.push(strings.text.len());
                }
            }
        }
        drop(xml);
        self.strings = strings;
        Ok(())
    }

    /// Every cell of sheet `name` with a value, in the order of the sheet: `cell(row, column,
    /// text)` (0-based), until it returns `Ok(false)`.
    #[cfg(test)]
    pub fn cells<E>(
        &mut self,
        name: &str,
        mut cell: impl FnMut(u32, u32, &str) -> std::result::Result<bool, E>,
    ) -> std::result::Result<(), CellsError<E>> {
        self.with_sheet(name, |xml, ctx| {
            let mut pos = Pos { row: 0, col: 0, in_data: false, abs: true };
            read_cells(xml, ctx, &mut pos, false, &mut |r, c, _, t: &str| cell(r, c, t)).map(|_| ())
        })
    }

    /// The rows of sheet `name` into `sink`, in the order of the sheet, as [`Book::cells`] gives
    /// their cells to [`Sink::cell`]; a large sheet's rows are parsed on worker threads while it
    /// is inflated, and handed over whole ([`Sink::row`], see [`blocks`]).
    pub fn rows<S: Sink>(&mut self, name: &str, sink: &mut S) -> std::result::Result<(), CellsError<S::Error>> {
        self.rows_in(name, sink, blocks::MIN_PART, blocks::BLOCK)
    }

    /// [`Book::rows`], in blocks of `block` bytes when the part has at least `min_part`.
    fn rows_in<S: Sink>(
        &mut self,
        name: &str,
        sink: &mut S,
        min_part: u64,
        block: usize,
    ) -> std::result::Result<(), CellsError<S::Error>> {
        self.with_sheet(name, |xml, ctx| {
            let big = xml.src.size() >= min_part;
            let mut pos = Pos { row: 0, col: 0, in_data: false, abs: true };
            let ended = read_cells(xml, ctx, &mut pos, big, &mut |r, c, _, t: &str| sink.cell(r, c, t))?;
            match ended {
                Ended::Rows => blocks::read(xml, ctx, pos, sink, block),
                _ => Ok(()),
            }
        })
    }

    /// `read` over the part of sheet `name`, with the shared strings and styles.
    fn with_sheet<E>(
        &mut self,
        name: &str,
        read: impl FnOnce(
            &mut Xml<zip::read::ZipFile<'_, BufReader<File>>>,
            &Context,
        ) -> std::result::Result<(), CellsError<E>>,
    ) -> std::result::Result<(), CellsError<E>> {
        let part = self.sheets.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone());
        let part = part.ok_or_else(|| CellsError::Read(XlsxError::Damaged(format!("没有名为“{name}”的工作表"))))?;
        let (strings, styles, date1904) =
            (std::mem::take(&mut self.strings), std::mem::take(&mut self.styles), self.date1904);
        let ctx = Context { strings: &strings, styles: &styles, date1904 };
        let result = match self.part(&part) {
            Ok(Some(mut xml)) => read(&mut xml, &ctx),
            Ok(None) => Err(CellsError::Read(XlsxError::Damaged(format!("缺少工作表部件 {part}")))),
            Err(e) => Err(CellsError::Read(e)),
        };
        (self.strings, self.styles) = (strings, styles);
        result
    }
}

/// Where rows read from a sheet go: cells one by one, or rows built whole by a worker.
pub trait Sink {
    type Error: Send;
    /// A cell with a value (0-based row and column); `Ok(false)`: nobody reads on.
    fn cell(&mut self, r: u32, c: u32, text: &str) -> std::result::Result<bool, Self::Error>;
    /// A row (0-based) built from its cells as [`Sink::cell`] would build it, given the same cells,
    /// when no row is open with that number; `Ok(false)`: nobody reads on.
    fn row(&mut self, r: u32, record: crate::input::record::Record) -> std::result::Result<bool, Self::Error>;
    /// The row (0-based) being built from cells, if any: a row with that number goes cell by cell.
    fn open_row(&self) -> Option<u32>;
    /// The rows' limits: (columns, bytes); a row over one goes cell by cell, for its error.
    fn limits(&self) -> (usize, usize);
}

/// Why reading cells stopped: the workbook, or the caller's own error.
#[derive(Debug)]
pub enum CellsError<E> {
    Read(XlsxError),
    Cell(E),
}

impl<E> From<XlsxError> for CellsError<E> {
    fn from(e: XlsxError) -> Self {
        CellsError::Read(e)
    }
}

struct Context<'a> {
    strings: &'a Strings,
    styles: &'a [Shown],
    date1904: bool,
}

/// Where the reading of a sheet's cells is: the row and column of a cell without a reference,
/// whether inside `<sheetData>`, and whether `row` is the sheet's row (else: rows since the start of
/// a block of rows, [`blocks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    row: u32,
    col: u32,
    in_data: bool,
    abs: bool,
}

/// How the reading of cells ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// At the end of the part.
    Part,
    /// At `</sheetData>`, or told to stop.
    Data,
    /// Just after `<sheetData>` (asked to stop there): the rows follow.
    Rows,
}

/// The cells of a sheet part from `pos`: `cell(row, column, row is the sheet's, text)`. With
/// `rows_apart`, it stops just after `<sheetData>`.
fn read_cells<R: Read, E>(
    xml: &mut Xml<R>,
    ctx: &Context,
    pos: &mut Pos,
    rows_apart: bool,
    cell: &mut impl FnMut(u32, u32, bool, &str) -> std::result::Result<bool, E>,
) -> std::result::Result<Ended, CellsError<E>> {
    let (mut value, mut text) = (String::new(), String::new());
    let mut row = fast::Row::of(pos.row);
    loop {
        if pos.in_data {
            // A cell in a shape spreadsheets write most, read in one pass.
            if row.row != pos.row {
                row = fast::Row::of(pos.row);
            }
            if let Some(c) = fast::cell(&xml.buf[xml.pos..xml.end], &row, xml.utf8, xml.max_run, ctx) {
                let go = match c.text {
                    Some(t) => cell(c.row, c.col, true, t).map_err(CellsError::Cell)?,
                    None => true,
                };
                xml.pos += c.len;
                (pos.row, pos.col, pos.abs) = (c.row, c.col + 1, true);
                if !go {
                    return Ok(Ended::Data);
                }
                continue;
            }
            // A row's start or end tag, as spreadsheets write them.
            if let Some(len) = fast::row_tag(&xml.buf[xml.pos..xml.end], xml.max_run, pos) {
                xml.pos += len;
                continue;
            }
            // A cell's start tag as spreadsheets write it, read without a token.
            if let Some((r, s, t, empty, len)) = plain_c(&xml.buf[xml.pos..xml.end], xml.max_run) {
                let tag = CellTag::of(r, s, t, pos, ctx)?;
                xml.pos += len;
                if !read_cell(xml, ctx, pos, tag, empty, (&mut value, &mut text), cell)? {
                    return Ok(Ended::Data);
                }
                continue;
            }
        }
        let Some(t) = xml.next()? else { break };
        match t {
            Tok::Start { name, attrs, empty } => match xml.local(name) {
                b"sheetData" => {
                    pos.in_data = true;
                    if rows_apart && !empty {
                        return Ok(Ended::Rows);
                    }
                }
                b"row" if pos.in_data => {
                    if let Some(r) = attr(xml.slice(attrs), b"r") {
                        pos.row = cell_ref(r).and_then(|(r, _)| r).ok_or_else(|| damaged_ref(r))?;
                        pos.abs = true;
                    }
                    if empty {
                        (pos.row, pos.col) = (pos.row.saturating_add(1), 0);
                    }
                }
                b"c" if pos.in_data => {
                    let (mut r, mut s, mut t) = (None, None, None);
                    for (k, v) in attrs_iter(xml.slice(attrs)) {
                        match k {
                            b"r" => r = Some(v),
                            b"s" => s = Some(v),
                            b"t" => t = Some(v),
                            _ => {}
                        }
                    }
                    let tag = CellTag::of(r, s, t, pos, ctx)?;
                    if !read_cell(xml, ctx, pos, tag, empty, (&mut value, &mut text), cell)? {
                        return Ok(Ended::Data);
                    }
                }
                _ => {}
            },
            Tok::End { name } => match xml.local(name) {
                b"row" if pos.in_data => (pos.row, pos.col) = (pos.row.saturating_add(1), 0),
                b"sheetData" => return Ok(Ended::Data),
                _ => {}
            },
            _ => {}
        }
    }
    Ok(Ended::Part)
}

/// What a cell's start tag says: where the cell is, whether that row is the sheet's, its type and
/// how its style shows a number.
#[derive(Clone, Copy)]
struct CellTag {
    at: (u32, u32),
    abs: bool,
    kind: Kind,
    style: Option<Shown>,
}

impl CellTag {
    fn of(r: Option<&[u8]>, s: Option<&[u8]>, t: Option<&[u8]>, pos: &Pos, ctx: &Context) -> Result<CellTag> {
        let at = match r {
            Some(r) => match cell_ref(r) {
                Some((Some(rr), Some(cc))) => (rr, cc),
                _ => return Err(damaged_ref(r)),
            },
            None => (pos.row, pos.col),
        };
        let abs = pos.abs || r.is_some();
        let kind = Kind::of(t)?;
        let style = match s {
            Some(s) => number::<usize>(s).and_then(|i| ctx.styles.get(i).copied()),
            None => Some(Shown::Number),
        };
        Ok(CellTag { at, abs, kind, style })
    }
}

/// A cell's content after its start tag, given to `cell` if it has a value; `false` when `cell`
/// says to stop.
fn read_cell<R: Read, E>(
    xml: &mut Xml<R>,
    ctx: &Context,
    pos: &mut Pos,
    tag: CellTag,
    empty: bool,
    (value, text): (&mut String, &mut String),
    cell: &mut impl FnMut(u32, u32, bool, &str) -> std::result::Result<bool, E>,
) -> std::result::Result<bool, CellsError<E>> {
    let CellTag { at, abs, kind, style } = tag;
    let got = match empty {
        true => Got::Empty,
        false => match xml.plain_cell(kind, value, text) {
            Some(got) => got,
            None => cell_value(xml, kind, value, text)?,
        },
    };
    (pos.row, pos.col, pos.abs) = (at.0, at.1.saturating_add(1), abs);
    let shown = match got {
        Got::Empty => None,
        Got::Value => shown_value(value, kind, style, ctx, text)?,
        Got::Inline => Some(Cow::Borrowed(text.as_str())),
    };
    match shown {
        Some(s) => cell(at.0, at.1, abs, &s).map_err(CellsError::Cell),
        None => Ok(true),
    }
}

/// A cell's start tag at the start of `b`, whole, as spreadsheets write it: `<c` and a space,
/// then attributes `name="value"` apart by spaces (names of letters, digits, `:`, `_`, `-`), then
/// `>` or `/>`, at most `max_run` bytes: its `r`, `s` and `t` (the last of each), whether it is
/// empty, and its length; `None` for anything else (read as a token, which gives the same).
type PlainC<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Option<&'a [u8]>, bool, usize);

fn plain_c(b: &[u8], max_run: usize) -> Option<PlainC<'_>> {
    let b = b.strip_prefix(b"<c ")?;
    let (mut r, mut s, mut t) = (None, None, None);
    let mut i = 0;
    loop {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        let (empty, len) = match *b.get(i)? {
            b'>' => (false, i + 4),
            b'/' if b.get(i + 1) == Some(&b'>') => (true, i + 5),
            _ => (false, 0),
        };
        if len > 0 {
            return (len - 1 <= max_run).then_some((r, s, t, empty, len));
        }
        let k = i;
        i += b[i..].iter().position(|&c| !NAME_BYTE[usize::from(c)]).unwrap_or(b.len() - i);
        if i == k || b.get(i..i + 2)? != b"=\"" {
            return None;
        }
        let v = &b[i + 2..];
        let v = &v[..v.iter().position(|&c| c == b'"')?];
        match &b[k..i] {
            b"r" => r = Some(v),
            b"s" => s = Some(v),
            b"t" => t = Some(v),
            _ => {}
        }
        i += 3 + v.len();
    }
}

/// A cell's text as shown: XML white space trimmed at both ends unless `xml:space="preserve"`.
#[inline]
fn trim_text(t: &str, preserve: bool) -> &str {
    match t.as_bytes() {
        _ if preserve => t,
        // Nothing to trim (the usual case): no search for the pattern.
        [first, .., last] if !XML_SPACE[usize::from(*first)] && !XML_SPACE[usize::from(*last)] => t,
        [one] if !XML_SPACE[usize::from(*one)] => t,
        [] => t,
        _ => t.trim_matches([' ', '\t', '\r', '\n']),
    }
}

/// The bytes an inline string's text is trimmed of (without `xml:space="preserve"`).
static XML_SPACE: [bool; 256] = crate::byte_set(b" \t\r\n");

/// The bytes of an attribute's name in a tag [`plain_c`] reads: ASCII letters, digits, `:`, `_`, `-`.
static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-');
        c += 1;
    }
    t
};

fn damaged_ref(r: &[u8]) -> XlsxError {
    XlsxError::Damaged(format!("单元格位置“{}”无法识别", String::from_utf8_lossy(r)))
}

/// A cell's `t` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shared,
    Inline,
    Bool,
    IsoDate,
    Error,
    Formula,
    Number,
    Untyped,
}

impl Kind {
    fn of(t: Option<&[u8]>) -> Result<Kind> {
        Ok(match t {
            None => Kind::Untyped,
            Some([b's']) => Kind::Shared,
            Some([b'i', b's'] | [b'i', b'n', b'l', b'i', b'n', b'e', b'S', b't', b'r']) => Kind::Inline,
            Some([b'b']) => Kind::Bool,
            Some([b'd']) => Kind::IsoDate,
            Some([b'e']) => Kind::Error,
            Some([b's', b't', b'r']) => Kind::Formula,
            Some([b'n']) => Kind::Number,
            Some(t) => return Err(XlsxError::Damaged(format!("单元格类型“{}”无法识别", String::from_utf8_lossy(t)))),
        })
    }
}

/// What a cell element held: nothing, a `<v>` (in `value`), or an inline string (in `text`).
enum Got {
    Empty,
    Value,
    Inline,
}

/// Read a cell's children up to `</c>`; as calamine does, the last child decides.
fn cell_value<R: Read>(xml: &mut Xml<R>, kind: Kind, value: &mut String, text: &mut String) -> Result<Got> {
    let mut got = Got::Empty;
    while let Some(t) = xml.next()? {
        match t {
            Tok::Start { name, empty, .. } => match xml.local(name) {
                b"v" if kind == Kind::Inline => {
                    if !empty {
                        xml.skip(b"v")?;
                    }
                    got = Got::Empty;
                }
                b"v" => {
                    value.clear();
                    if !empty {
                        xml.text(b"v", value)?;
                    }
                    got = if empty { Got::Empty } else { Got::Value };
                }
                b"is" => {
                    text.clear();
                    if !empty {
                        xml.string(b"is", text)?;
                    }
                    got = Got::Inline;
                }
                other => {
                    let other = other.to_vec();
                    if !empty {
                        xml.skip(&other)?;
                    }
                    got = Got::Empty;
                }
            },
            Tok::End { name } if xml.local(name) == b"c" => return Ok(got),
            _ => {}
        }
    }
    Err(XlsxError::Damaged("工作表在单元格中途结束".into()))
}

/// The text of a `<v>` as [`super::source::cell_text`] writes the value calamine reads from it.
fn shown_value<'a>(
    v: &'a str,
    kind: Kind,
    style: Option<Shown>,
    ctx: &'a Context,
    buf: &'a mut String,
) -> Result<Option<Cow<'a, str>>> {
    let text = |d: Data| Some(Cow::Owned(super::source::cell_text(&d)));
    Ok(match kind {
        Kind::Shared => {
            if v.is_empty() {
                return Ok(None);
            }
            let i = number::<usize>(v.as_bytes()).unwrap_or(0);
            let s = ctx.strings.get(i).ok_or_else(|| XlsxError::Damaged(format!("共享字符串第 {i} 项不存在")))?;
            Some(Cow::Borrowed(s))
        }
        Kind::Bool => match v.trim() {
            "" => None,
            "0" => text(Data::Bool(false)),
            "1" => text(Data::Bool(true)),
            t if t.eq_ignore_ascii_case("false") => text(Data::Bool(false)),
            t if t.eq_ignore_ascii_case("true") => text(Data::Bool(true)),
            _ => return Err(XlsxError::Damaged(format!("逻辑值“{v}”无法识别"))),
        },
        Kind::IsoDate => text(Data::DateTimeIso(v.to_string())),
        Kind::Error => {
            let e = v.parse().map_err(|_| XlsxError::Damaged(format!("错误值“{v}”无法识别")))?;
            text(Data::Error(e))
        }
        Kind::Formula => {
            buf.clear();
            buf.push_str(&unescape_x(v));
            Some(Cow::Borrowed(buf.as_str()))
        }
        Kind::Inline => None,
        Kind::Number | Kind::Untyped => {
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<f64>() {
                Ok(f) => {
                    let d = match style {
                        Some(Shown::DateTime) => {
                            let f = if ctx.date1904 { f + 1462.0 } else { f };
                            Data::DateTime(ExcelDateTime::new(f, ExcelDateTimeType::DateTime, false))
                        }
                        Some(Shown::TimeDelta) => {
                            Data::DateTime(ExcelDateTime::new(f, ExcelDateTimeType::TimeDelta, false))
                        }
                        _ => Data::Float(f),
                    };
                    text(d)
                }
                Err(_) if kind == Kind::Untyped => Some(Cow::Borrowed(v)),
                Err(_) => return Err(XlsxError::Damaged(format!("数值“{v}”无法识别"))),
            }
        }
    })
}

/// A cell reference `B12` as (0-based row, 0-based column); a part may be absent (`B`, `12`).
/// `None` if it is neither letters then digits; past the sheet's size saturates (the caller's
/// column limit reports it).
fn cell_ref(r: &[u8]) -> Option<(Option<u32>, Option<u32>)> {
    let (mut i, mut col, mut row) = (0, 0u32, 0u32);
    while let Some(b) = r.get(i).filter(|b| b.is_ascii_alphabetic()) {
        col = col.saturating_mul(26).saturating_add(u32::from(b.to_ascii_uppercase() - b'A') + 1);
        i += 1;
    }
    let letters = i;
    while let Some(&b) = r.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        row = row.saturating_mul(10).saturating_add(u32::from(d));
        i += 1;
    }
    let col = (letters > 0).then(|| col - 1);
    let row = if i == letters { None } else { Some(row.checked_sub(1)?) };
    Some((row, col))
}

fn number<T: std::str::FromStr + TryFrom<u32>>(b: &[u8]) -> Option<T> {
    // Up to nine ASCII digits (a style's or a shared string's index, as written): read here;
    // anything else as `str::parse` reads it (spaces around, a sign, leading zeros, overflow).
    if (1..=9).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return T::try_from(b.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))).ok();
    }
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

/// Built-in number formats that show dates and times (ECMA-376 18.8.30, and the East Asian ones).
fn builtin_format(id: u32) -> Shown {
    match id {
        14..=22 | 27..=36 | 45 | 47 | 50..=58 => Shown::DateTime,
        46 => Shown::TimeDelta,
        _ => Shown::Number,
    }
}

/// A custom number format: a date or time if its first section has a date or time letter outside
/// quotes, brackets and escapes (`yyyy"年"m"月"`); a duration for `[h]`, `[mm]`, `[ss]`.
fn custom_format(code: &str) -> Shown {
    let (mut escaped, mut quoted, mut brackets, mut ampm) = (false, false, 0u32, false);
    let (mut prev, mut elapsed) = (' ', false);
    for c in code.chars() {
        if escaped {
            escaped = false;
        } else if quoted {
            quoted = c != '"';
        } else {
            match c {
                '_' | '\\' | '*' => escaped = true,
                '"' => quoted = true,
                ';' => return Shown::Number,
                '[' => brackets += 1,
                ']' if brackets == 1 && elapsed => return Shown::TimeDelta,
                ']' => brackets = brackets.saturating_sub(1),
                'a' | 'A' if brackets == 0 && !ampm => ampm = true,
                'p' | 'm' | '/' | 'P' | 'M' if brackets == 0 && ampm => return Shown::DateTime,
                'd' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S' if brackets == 0 => return Shown::DateTime,
                _ => {
                    if !(elapsed && c.eq_ignore_ascii_case(&prev)) {
                        elapsed = prev == '[' && matches!(c, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                    }
                }
            }
        }
        prev = c;
    }
    Shown::Number
}

/// `dir/target`, with `..` resolved.
fn join(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The value of attribute `key` (its full name, prefix included) in a tag's attribute text.
fn attr<'a>(attrs: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    attrs_iter(attrs).find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// The value of the attribute whose local name is `key`, whatever its prefix.
fn attr_local<'a>(attrs: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    attrs_iter(attrs).find(|(k, _)| k.rsplit(|&b| b == b':').next() == Some(key)).map(|(_, v)| v)
}

/// The (name, raw value) pairs of a tag's attribute text; stops at anything malformed.
fn attrs_iter(mut a: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let start = a.iter().position(|b| !b.is_ascii_whitespace())?;
        a = &a[start..];
        let eq = a.iter().position(|&b| b == b'=')?;
        let key = a[..eq].trim_ascii_end();
        let rest = a[eq + 1..].trim_ascii_start();
        let q = *rest.first()?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let end = memchr::memchr(q, &rest[1..])?;
        let value = &rest[1..1 + end];
        a = &rest[end + 2..];
        Some((key, value))
    })
}

/// XML character references and the five entities decoded; an unknown one is kept as written.
fn unescape(raw: &[u8]) -> Cow<'_, str> {
    let s = String::from_utf8_lossy(raw);
    if !s.contains('&') {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest: &str = &s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.as_bytes()[..rest.len().min(12)].iter().position(|&b| b == b';');
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let n = if let Some(h) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        name.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    n.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// OOXML's `_xHHHH_` escapes (a character Excel cannot store in XML as it is, such as `_x000D_`),
/// surrogate pairs joined, a lone surrogate as U+FFFD.
fn unescape_x(s: &str) -> Cow<'_, str> {
    let unit = |s: &str, i: usize| -> Option<u16> {
        let b = s.as_bytes().get(i..i + 7)?;
        if b[0] == b'_' && b[1] == b'x' && b[6] == b'_' {
            u16::from_str_radix(std::str::from_utf8(&b[2..6]).ok()?, 16).ok()
        } else {
            None
        }
    };
    // The first `_x` (a byte search for `_`: most texts have none), if it starts an escape.
    let b = s.as_bytes();
    let mut from = 0;
    let first = loop {
        let Some(i) = memchr::memchr(b'_', &b[from..]).map(|i| from + i) else { return Cow::Borrowed(s) };
        if b.get(i + 1) == Some(&b'x') {
            break i;
        }
        from = i + 1;
    };
    if unit(s, first).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut i = first;
    while i < s.len() {
        match unit(s, i) {
            Some(u @ 0xD800..=0xDBFF) => match unit(s, i + 7) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let c = 0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                    i += 14;
                }
                _ => {
                    out.push(char::REPLACEMENT_CHARACTER);
                    i += 7;
                }
            },
            Some(0xDC00..=0xDFFF) => {
                out.push(char::REPLACEMENT_CHARACTER);
                i += 7;
            }
            Some(u) => {
                out.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER));
                i += 7;
            }
            None => {
                let c = s[i..].chars().next().expect("in bounds");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    Cow::Owned(out)
}

/// A token of the scanner: byte ranges into its window, valid until the next call.
#[derive(Debug, Clone, Copy)]
enum Tok {
    Start { name: (usize, usize), attrs: (usize, usize), empty: bool },
    End { name: (usize, usize) },
    Text((usize, usize)),
    CData((usize, usize)),
}

/// A forward-only scanner over XML as it is inflated: a window of bytes that holds at least the
/// current token; a token longer than `max_run` stops it.
struct Xml<R> {
    src: R,
    part: String,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Bytes dropped from the front of `buf` so far.
    base: u64,
    eof: bool,
    max_run: usize,
    /// `buf[..end]` is valid UTF-8, checked whole (a block of rows, which no reading changes).
    utf8: bool,
}

const WINDOW: usize = 64 << 10;

impl Xml<io::Empty> {
    /// Over `bytes[..end]`, all of it already in the window (a block of rows, [`blocks`]).
    fn whole(bytes: Vec<u8>, end: usize, part: &str, max_run: usize) -> Xml<io::Empty> {
        let utf8 = simdutf8::basic::from_utf8(&bytes[..end]).is_ok();
        Xml { src: io::empty(), part: part.to_string(), buf: bytes, pos: 0, end, base: 0, eof: true, max_run, utf8 }
    }
}

impl<R: Read> Xml<R> {
    fn new(src: R, part: &str, max_run: usize) -> Xml<R> {
        let buf = vec![0; WINDOW];
        Xml { src, part: part.to_string(), buf, pos: 0, end: 0, base: 0, eof: false, max_run, utf8: false }
    }

    fn slice(&self, r: (usize, usize)) -> &[u8] {
        &self.buf[r.0..r.1]
    }

    /// A name's local part (after its prefix).
    fn local(&self, r: (usize, usize)) -> &[u8] {
        let n = self.slice(r);
        match n.iter().rposition(|&b| b == b':') {
            Some(i) => &n[i + 1..],
            None => n,
        }
    }

    /// Read more after what is unread (moved to the front first); `false` at the end of the part.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let unread = self.end - self.pos;
        if unread > self.max_run {
            return Err(XlsxError::Run {
                part: self.part.clone(),
                at: self.base + self.pos as u64 + self.max_run as u64,
            });
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            (self.pos, self.end) = (0, unread);
        }
        if self.buf.len() - self.end < WINDOW / 2 {
            self.buf.resize(self.buf.len() + WINDOW, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Find `pat` at or after `from` bytes past `pos`, reading more as needed: its offset from
    /// `pos`; `None` at the end of the part. With `resume`, a search that failed goes on from
    /// where it stopped (a plain byte search); else it starts again from `from` (a tag's end,
    /// where quotes matter).
    fn find(&mut self, from: usize, resume: bool, pat: impl Fn(&[u8]) -> Option<usize>) -> Result<Option<usize>> {
        let start = from;
        let mut from = from;
        loop {
            if let Some(i) = pat(&self.buf[self.pos + from..self.end]) {
                return Ok(Some(from + i));
            }
            from = if resume { (self.end - self.pos).max(from) } else { start };
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// The next token; `None` at the end of the part.
    #[allow(clippy::should_implement_trait)]
    fn next(&mut self) -> Result<Option<Tok>> {
        if self.pos == self.end && !self.fill()? {
            return Ok(None);
        }
        if self.buf[self.pos] != b'<' {
            let len = match self.find(0, true, find_lt)? {
                Some(i) => i,
                None => self.end - self.pos,
            };
            if len > self.max_run {
                return Err(XlsxError::Run { part: self.part.clone(), at: self.base + self.pos as u64 });
            }
            let r = (self.pos, self.pos + len);
            self.pos += len;
            return Ok(Some(Tok::Text(r)));
        }
        // Comments, CDATA sections and declarations end with their own markers.
        if self.end - self.pos < 9 {
            self.fill()?;
        }
        let head = &self.buf[self.pos..self.end.min(self.pos + 9)];
        let (close, skip): (&[u8], usize) = if head.starts_with(b"<!--") {
            (b"-->", 4)
        } else if head.starts_with(b"<![CDATA[") {
            (b"]]>", 9)
        } else {
            (b">", 1)
        };
        let found = if close.len() == 1 {
            self.find(1, false, tag_end)?
        } else {
            self.find(skip, false, |b| memchr::memmem::find(b, close))?
        };
        let Some(i) = found else {
            return Err(XlsxError::Damaged(format!("部件 {} 在标签中途结束", self.part)));
        };
        if i > self.max_run {
            return Err(XlsxError::Run { part: self.part.clone(), at: self.base + self.pos as u64 });
        }
        let (start, stop) = (self.pos, self.pos + i);
        self.pos = stop + close.len();
        let tag = &self.buf[start + 1..stop];
        Ok(Some(match tag.first() {
            _ if skip == 9 => Tok::CData((start + 9, stop)),
            Some(b'!' | b'?') => Tok::Text((stop, stop)),
            Some(b'/') => {
                let n = tag[1..].iter().position(u8::is_ascii_whitespace).unwrap_or(tag.len() - 1);
                Tok::End { name: (start + 2, start + 2 + n) }
            }
            _ => {
                let empty = tag.last() == Some(&b'/');
                let body = if empty { tag.len() - 1 } else { tag.len() };
                let n = tag[..body].iter().position(u8::is_ascii_whitespace).unwrap_or(body);
                Tok::Start { name: (start + 1, start + 1 + n), attrs: (start + 1 + n, start + 1 + body), empty }
            }
        }))
    }

    /// A cell's content as Excel, WPS and openpyxl write it, read straight from the window when it
    /// is all there: `<v>VALUE</v></c>` or `<is><t>TEXT</t></is></c>` (`<t xml:space="preserve">`
    /// too), the text valid UTF-8 without `&` or CR. It gives what [`cell_value`] gives for such
    /// a cell, without a token for each tag; `None` (nothing read) for anything else.
    fn plain_cell(&mut self, kind: Kind, value: &mut String, text: &mut String) -> Option<Got> {
        let b = &self.buf[self.pos..self.end];
        let plain = |rest: &[u8], close: &[u8]| -> Option<usize> {
            let (i, special, _) = text_end(rest)?;
            let ok = i <= self.max_run && rest[i..].starts_with(close) && !special;
            ok.then_some(i)
        };
        if let Some(rest) = b.strip_prefix(b"<v>") {
            if kind == Kind::Inline {
                return None;
            }
            let i = plain(rest, b"</v></c>")?;
            let v = simdutf8::basic::from_utf8(&rest[..i]).ok()?;
            value.clear();
            value.push_str(v);
            self.pos += 3 + i + 8;
            return Some(Got::Value);
        }
        if !b.starts_with(b"<is>") {
            return None;
        }
        // plain_t reads nothing more into the window: the position goes back as it was.
        self.pos += 4;
        if self.plain_t(b"</t></is></c>", text) {
            return Some(Got::Inline);
        }
        self.pos -= 4;
        None
    }

    /// A string item's one `<t>` (`<t xml:space="preserve">` too) and `close` after it, read
    /// straight from the window when all there, as [`Xml::string`] reads it into `out` (cleared):
    /// `false` (nothing read) for anything else.
    fn plain_t(&mut self, close: &[u8], out: &mut String) -> bool {
        let b = &self.buf[self.pos..self.end];
        let (rest, preserve) = match b.strip_prefix(b"<t>") {
            Some(rest) => (rest, false),
            None => match b.strip_prefix(b"<t xml:space=\"preserve\">") {
                Some(rest) => (rest, true),
                None => return false,
            },
        };
        let Some((i, special, escapes)) = text_end(rest) else { return false };
        let plain = i <= self.max_run && rest[i..].starts_with(close) && !special;
        let Some(t) = plain.then(|| simdutf8::basic::from_utf8(&rest[..i]).ok()).flatten() else { return false };
        let t = trim_text(t, preserve);
        out.clear();
        match escapes {
            true => out.push_str(&unescape_x(t)),
            false => out.push_str(t),
        }
        self.pos += (b.len() - rest.len()) + i + close.len();
        true
    }

    /// Skip to the end of element `name` (just opened), nested ones included.
    fn skip(&mut self, name: &[u8]) -> Result<()> {
        let mut depth = 0u32;
        while let Some(t) = self.next()? {
            match t {
                Tok::Start { name: n, empty: false, .. } if self.local(n) == name => depth += 1,
                Tok::End { name: n } if self.local(n) == name => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
        Err(XlsxError::Damaged(format!("部件 {} 中途结束", self.part)))
    }

    /// The text of element `name` (just opened) into `out`: entities decoded, line breaks as `\n`.
    fn text(&mut self, name: &[u8], out: &mut String) -> Result<()> {
        while let Some(t) = self.next()? {
            match t {
                Tok::Text(r) => push_text(out, self.slice(r), true),
                Tok::CData(r) => push_text(out, self.slice(r), false),
                Tok::End { name: n } if self.local(n) == name => return Ok(()),
                Tok::Start { name: n, empty: false, .. } => {
                    let n = self.local(n).to_vec();
                    self.skip(&n)?;
                }
                _ => {}
            }
        }
        Err(XlsxError::Damaged(format!("部件 {} 中途结束", self.part)))
    }

    /// A string item (`<si>`, `<is>`, just opened) into `out`: its `<t>` texts, rich-text runs
    /// joined, phonetic runs (`<rPh>`) left out; each `<t>` trimmed of ASCII white space unless
    /// `xml:space="preserve"`, then its `_xHHHH_` escapes decoded.
    fn string(&mut self, name: &[u8], out: &mut String) -> Result<()> {
        let mut t = String::new();
        while let Some(tok) = self.next()? {
            match tok {
                Tok::Start { name: n, attrs, empty } => match self.local(n) {
                    b"t" if !empty => {
                        let preserve = attr(self.slice(attrs), b"xml:space") == Some(b"preserve");
                        t.clear();
                        self.text(b"t", &mut t)?;
                        let s = if preserve { &t[..] } else { t.trim_matches([' ', '\t', '\r', '\n']) };
                        out.push_str(&unescape_x(s));
                    }
                    b"rPh" if !empty => self.skip(b"rPh")?,
                    _ => {}
                },
                Tok::End { name: n } if self.local(n) == name => return Ok(()),
                _ => {}
            }
        }
        Err(XlsxError::Damaged(format!("部件 {} 中途结束", self.part)))
    }
}

/// The first `<` in `b`, whether an `&` or a CR comes before it, and whether a `_` does (an
/// `_xHHHH_` escape can only start at one): a cell's text is usually a few bytes, which a loop
/// reads in less than the three vector searches take to set up.
fn text_end(b: &[u8]) -> Option<(usize, bool, bool)> {
    const SHORT: usize = 64;
    let (mut special, mut under) = (false, false);
    for (i, &c) in b.iter().take(SHORT).enumerate() {
        match c {
            b'<' => return Some((i, special, under)),
            b'&' | b'\r' => special = true,
            b'_' => under = true,
            _ => {}
        }
    }
    let i = SHORT + memchr::memchr(b'<', b.get(SHORT..)?)?;
    Some((i, memchr::memchr2(b'&', b'\r', &b[..i]).is_some(), memchr::memchr(b'_', &b[..i]).is_some()))
}

/// The first `<` in `b`: a text between tags is usually a few bytes, shorter than a vector
/// search takes to set up.
fn find_lt(b: &[u8]) -> Option<usize> {
    match b.iter().take(32).position(|&c| c == b'<') {
        Some(i) => Some(i),
        None if b.len() > 32 => memchr::memchr(b'<', &b[32..]).map(|i| i + 32),
        None => None,
    }
}

/// The end of a tag (its `>`, quotes respected) in `b`, which starts inside the tag.
fn tag_end(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let i = at + memchr::memchr3(b'>', b'"', b'\'', &b[at..])?;
        match b[i] {
            b'>' => return Some(i),
            // A quoted value: on past its closing quote.
            q => at = i + 1 + memchr::memchr(q, &b[i + 1..])? + 1,
        }
    }
}

/// Text as XML gives it: references decoded (`raw`), `\r\n` and `\r` as `\n`.
fn push_text(out: &mut String, bytes: &[u8], raw: bool) {
    if !bytes.iter().any(|&b| b == b'&' || b == b'\r') {
        match simdutf8::basic::from_utf8(bytes) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
        }
        return;
    }
    let s = if raw { unescape(bytes) } else { String::from_utf8_lossy(bytes) };
    if s.contains('\r') {
        out.push_str(&s.replace("\r\n", "\n").replace('\r', "\n"));
    } else {
        out.push_str(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(xml: &str, max_run: usize) -> Vec<String> {
        let mut x = Xml::new(xml.as_bytes(), "t.xml", max_run);
        let mut out = Vec::new();
        while let Some(t) = x.next().unwrap() {
            out.push(match t {
                Tok::Start { name, attrs, empty } => format!(
                    "<{}|{}|{empty}",
                    String::from_utf8_lossy(x.slice(name)),
                    String::from_utf8_lossy(x.slice(attrs)).trim()
                ),
                Tok::End { name } => format!("/{}", String::from_utf8_lossy(x.slice(name))),
                Tok::Text(r) => format!("'{}", String::from_utf8_lossy(x.slice(r))),
                Tok::CData(r) => format!("#{}", String::from_utf8_lossy(x.slice(r))),
            });
        }
        out
    }

    #[test]
    fn scanner_tokens() {
        let t = tokens(r#"<?xml v?><a x="1>2" y='q'><b/>hi<!-- <c> --><![CDATA[<z>]]></a>"#, 100);
        assert_eq!(t, ["'", "<a|x=\"1>2\" y='q'|false", "<b||true", "'hi", "'", "#<z>", "/a"]);
    }

    #[test]
    fn scanner_run_limit() {
        let long = format!("<a>{}</a>", "x".repeat(200));
        let mut x = Xml::new(long.as_bytes(), "p.xml", 100);
        x.next().unwrap();
        assert!(matches!(x.next(), Err(XlsxError::Run { .. })));
    }

    #[test]
    fn references_and_escapes() {
        assert_eq!(unescape(b"a&amp;b&lt;&#x4E2D;&#25991;&bogus;"), "a&b<中文&bogus;");
        assert_eq!(unescape_x("a_x000D_b_x0041__xD83D__xDE00_"), "a\rbA😀");
        assert_eq!(unescape_x("_xD800_x"), "\u{FFFD}x");
        assert_eq!(unescape_x("_x00"), "_x00");
    }

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref(b"A1"), Some((Some(0), Some(0))));
        assert_eq!(cell_ref(b"AB12"), Some((Some(11), Some(27))));
        assert_eq!(cell_ref(b"12"), Some((Some(11), None)));
        assert_eq!(cell_ref(b"A0"), None);
        assert_eq!(cell_ref(b"A1B"), None);
        assert!(cell_ref(b"AAAAAAAAAAAAA1").is_some_and(|(_, c)| c.unwrap() > 1 << 20));
    }

    /// `number` reads as `str::parse` after a trim, its digits-only shortcut included.
    #[test]
    fn numbers_read_as_parse_does() {
        let parse = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|s| s.trim().parse::<usize>().ok());
        let mut rng = crate::test_rng::Lcg(5);
        for _ in 0..20000 {
            let b: Vec<u8> = (0..rng.below(13)).map(|_| b"0123456789 +-x"[rng.below(14)]).collect();
            assert_eq!(number::<usize>(&b), parse(&b), "{:?}", String::from_utf8_lossy(&b));
            assert_eq!(number::<u32>(&b), std::str::from_utf8(&b).ok().and_then(|s| s.trim().parse::<u32>().ok()));
        }
        for b in [&b"999999999"[..], b"4294967295", b"4294967296", b"0000000001", b"007", b""] {
            assert_eq!(number::<usize>(b), parse(b));
        }
    }

    /// `cell_ref` (one pass) reads as the iterator version it replaced, on references of every
    /// shape; `plain_c` reads a start tag as the token path does, or leaves it to the token path.
    #[test]
    fn cell_refs_and_plain_cell_tags() {
        let old = |r: &[u8]| -> Option<(Option<u32>, Option<u32>)> {
            let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let (col, row) = r.split_at(letters);
            if !row.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let col = (!col.is_empty()).then(|| {
                col.iter().fold(0u32, |n, b| {
                    n.saturating_mul(26).saturating_add(u32::from(b.to_ascii_uppercase() - b'A') + 1)
                }) - 1
            });
            let row = match row {
                [] => None,
                d => Some(
                    d.iter()
                        .fold(0u32, |n, b| n.saturating_mul(10).saturating_add(u32::from(b - b'0')))
                        .checked_sub(1)?,
                ),
            };
            Some((row, col))
        };
        let palette: [&[u8]; 8] = [b"A", b"z", b"0", b"1", b"9", b"99999", b"ZZZZ", b"-"];
        let mut rng = crate::test_rng::Lcg(7);
        for case in 0..5000 {
            let Some(r) = rng.text(&palette, 8, case) else { continue };
            assert_eq!(cell_ref(&r), old(&r), "{:?}", String::from_utf8_lossy(&r));
        }
        let tags = [
            (r#"<c r="A1" t="s">"#, true),
            (r#"<c r="B2" s="3"/>"#, true),
            (r#"<c  r="C3"  t="inlineStr" >"#, true),
            (r#"<c r="A1" r="B1" x:y-z_1="q>w">"#, true),
            (r#"<c>"#, false),
            (r#"<c r='A1'>"#, false),
            (r#"<c r="A1" / >"#, false),
            (r#"<c r="A1"	t="s">"#, false),
            (r#"<c r="A1" a"b="1">"#, false),
            (r#"<c r="A1" t="s""#, false),
            (r#"<cc r="A1">"#, false),
        ];
        for (tag, plain) in tags {
            let b = format!("{tag}<v>1</v></c>");
            let mut x = Xml::new(b.as_bytes(), "s.xml", 1000);
            let Ok(Some(Tok::Start { attrs, empty, .. })) = x.next() else {
                assert!(!plain && plain_c(b.as_bytes(), 1000).is_none(), "{tag}");
                continue;
            };
            let (mut r, mut s, mut t) = (None, None, None);
            for (k, v) in attrs_iter(x.slice(attrs)) {
                match k {
                    b"r" => r = Some(v.to_vec()),
                    b"s" => s = Some(v.to_vec()),
                    b"t" => t = Some(v.to_vec()),
                    _ => {}
                }
            }
            let got = plain_c(b.as_bytes(), 1000)
                .map(|(r, s, t, e, len)| (r.map(<[u8]>::to_vec), s.map(<[u8]>::to_vec), t.map(<[u8]>::to_vec), e, len));
            assert_eq!(got.is_some(), plain, "{tag}");
            if let Some(got) = got {
                assert_eq!(got, (r, s, t, empty, x.pos), "{tag}");
            }
            assert!(plain_c(&b.as_bytes()[..tag.len() - 1], 1000).is_none(), "{tag} cut");
            assert!(plain_c(b.as_bytes(), tag.len() - 2).is_none(), "{tag} over the limit");
        }
    }

    /// `text_end` (a loop for short texts) finds what the vector searches find.
    #[test]
    fn text_ends() {
        let palette: [&[u8]; 7] = [b"a", b"<", b"&", b"\r", b"_", "户".as_bytes(), &[b'x'; 40]];
        let mut rng = crate::test_rng::Lcg(11);
        for case in 0..5000 {
            let Some(b) = rng.text(&palette, 10, case) else { continue };
            let want = memchr::memchr(b'<', &b)
                .map(|i| (i, memchr::memchr2(b'&', b'\r', &b[..i]).is_some(), memchr::memchr(b'_', &b[..i]).is_some()));
            assert_eq!(text_end(&b), want, "{:?}", String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn date_formats() {
        assert_eq!(custom_format("yyyy\"年\"m\"月\"d\"日\""), Shown::DateTime);
        assert_eq!(custom_format("DD/MM/YY"), Shown::DateTime);
        assert_eq!(custom_format("[h]:mm:ss"), Shown::TimeDelta);
        assert_eq!(custom_format("#,##0\\ [$\\u20bd-46D]"), Shown::Number);
        assert_eq!(custom_format("0.00\"元\""), Shown::Number);
        assert_eq!(custom_format("[Red]0.00;[Blue]-0.00"), Shown::Number);
        assert_eq!(builtin_format(14), Shown::DateTime);
        assert_eq!(builtin_format(4), Shown::Number);
    }

    /// Every cell with a value, as (row, column, text), by this reader.
    fn ours(path: &Path) -> std::result::Result<Vec<(u32, u32, String)>, String> {
        let mut book = Book::open(path, 1 << 20).map_err(|e| format!("{e:?}"))?;
        let name = book.sheet_names().into_iter().next().ok_or("no sheet")?;
        let mut out = Vec::new();
        book.cells(&name, |r, c, t| {
            out.push((r, c, t.to_string()));
            Ok::<_, ()>(true)
        })
        .map_err(|e| format!("{e:?}"))?;
        Ok(out)
    }

    /// The same by calamine's cell reader, as `input::source` read sheets with it.
    fn calamines(path: &Path) -> Option<Vec<(u32, u32, String)>> {
        use calamine::Reader;
        let read = std::panic::catch_unwind(|| {
            let mut wb = calamine::open_workbook_auto(path).ok()?;
            let name = wb.sheet_names().first()?.clone();
            let calamine::Sheets::Xlsx(x) = &mut wb else { return None };
            let mut cells = x.worksheet_cells_reader(&name).ok()?;
            let mut out = Vec::new();
            while let Some(c) = cells.next_cell().ok()? {
                let (r, col) = c.get_position();
                let v = c.get_value();
                if !matches!(v, calamine::DataRef::Empty) {
                    let text = match v {
                        calamine::DataRef::SharedString(s) => s.to_string(),
                        calamine::DataRef::String(s) => s.clone(),
                        other => super::super::source::cell_text(&Data::from(other.clone())),
                    };
                    out.push((r, col, text));
                }
            }
            Some(out)
        });
        read.ok().flatten()
    }

    /// What calamine reads from a workbook, this reader reads the same, cell for cell; where
    /// calamine cannot read one (or panics), this reader does not panic either. The workbooks:
    /// the example ledger, the fuzzing corpus of damaged workbooks, and one written here with
    /// every kind of cell (shared and rich strings, numbers, dates in built-in and custom formats,
    /// booleans, formulas with cached values, errors).
    #[test]
    fn reads_what_calamine_reads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("kinds.xlsx");
        write_every_kind(&made);
        let shapes = dir.path().join("shapes.xlsx");
        write_cell_shapes(&shapes);
        let mine = ours(&shapes).unwrap();
        assert_eq!(Some(&mine), calamines(&shapes).as_ref(), "the cell shapes");
        assert_eq!(mine.len(), 30, "{mine:?}");
        let mut files = vec![root.join("examples/户表.xlsx"), made, shapes];
        let corpus = root.join("fuzz/corpus/xlsx_ledger");
        let mut fuzz: Vec<_> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
        fuzz.sort();
        files.extend(fuzz);
        let (mut same, mut refused, mut stricter) = (0, 0, 0);
        for f in &files {
            let mine = std::panic::catch_unwind(|| ours(f));
            let mine = mine.unwrap_or_else(|_| panic!("{}: this reader panicked", f.display()));
            match (calamines(f), mine) {
                (Some(theirs), Ok(mine)) => {
                    assert_eq!(mine, theirs, "{}", f.display());
                    same += 1;
                }
                // Damaged XML that calamine made something of: refused, never read differently.
                (Some(_), Err(_)) => stricter += 1,
                (None, _) => refused += 1,
            }
        }
        eprintln!("{same} read the same, {stricter} refused here only, {refused} refused by calamine");
        assert!(same >= 30 && stricter <= 2, "{same} read the same, {stricter} refused here only");
    }

    /// A sheet written by hand: cells in the shapes [`fast`] reads (inline and shared strings,
    /// numbers, empty cells, styles, rows with and without other attributes) among cells and rows
    /// it leaves to the general reading (entities, rich text, escapes, CR, other types, dates, no
    /// `r`, white space between tags, shared strings' indices with leading zeros), with gaps in
    /// rows and columns, so that both readings, side by side in one sheet, read as calamine does.
    pub(super) fn write_cell_shapes(path: &Path) {
        use std::io::Write;
        let inline = |r: &str, t: &str| format!(r#"<c r="{r}" t="inlineStr"><is><t>{t}</t></is></c>"#);
        let rows = [
            format!(
                r#"<row r="1" spans="1:6">{}{}{}{}<c r="E1" t="inlineStr"><is><t xml:space="preserve"> b </t></is></c><c r="F1" t="inlineStr"/></row>"#,
                inline("A1", "户编号"),
                inline("B1", " 两端 "),
                inline("C1", ""),
                inline("D1", "a&amp;b")
            ),
            r#"<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" s="0" t="s"><v>2</v></c><c r="C2"><v>3500</v></c><c r="D2" s="1"><v>45000</v></c><c r="E2" s="2"><v>0.5</v></c><c r="F2" t="n"><v>-12</v></c><c r="G2"><v>3500.25</v></c><c r="H2" s="3"><v>0</v></c></row>"#.to_string(),
            format!(
                r#"<row r="3">{}<c r="B3" t="inlineStr"><is><r><t>红</t></r><r><rPr><b/></rPr><t>色</t></r></is></c>{}<c r="D3" t="b"><v>1</v></c><c r="E3" t="str"><f>A1</f><v>x_x000D_y</v></c><c r="F3" t="e"><v>#N/A</v></c><c r="G3" t="inlineStr"><is><t>a_b</t></is></c></row>"#,
                inline("A3", "x_x000D_"),
                "<c r=\"C3\" t=\"inlineStr\"><is><t>c\r\nd</t></is></c>"
            ),
            format!(r#"<row r="5">{}{}<c r="F5"><v>7</v></c></row>"#, inline("A5", "有"), inline("D5", "空隔")),
            format!(r#"<row><c t="inlineStr"><is><t>无位置</t></is></c><c><v>8</v></c>{}</row>"#, inline("D6", "d")),
            format!("<row r=\"8\">\n  {}\n  <c r=\"B8\" t=\"s\"><v>1</v></c>\n</row>", inline("A8", "缩进")),
            format!(r#"<row r="9"><c r="A9" s="3" t="s"/>{}<c r="C9" t="s"><v>00001</v></c></row>"#, inline("B9", "9")),
        ];
        let sheet = format!(
            r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{}</sheetData></worksheet>"#,
            rows.concat()
        );
        let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
        let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
        let parts = [
            ("[Content_Types].xml".to_string(), r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string()),
            ("_rels/.rels".into(), format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#)),
            ("xl/workbook.xml".into(), format!(r#"<workbook {ns} xmlns:r="{rel}"><sheets><sheet name="户表" sheetId="1" r:id="rId1"/></sheets></workbook>"#)),
            ("xl/_rels/workbook.xml.rels".into(), format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/></Relationships>"#)),
            ("xl/sharedStrings.xml".into(), format!(r#"<sst {ns}><si><t>甲</t></si><si><t>乙</t></si><si><t xml:space="preserve"> 丙 </t></si></sst>"#)),
            ("xl/styles.xml".into(), format!(r#"<styleSheet {ns}><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="46"/><xf numFmtId="4"/></cellXfs></styleSheet>"#)),
            ("xl/worksheets/sheet1.xml".into(), sheet),
        ];
        let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in parts {
            z.start_file(name, opts).unwrap();
            z.write_all(text.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }

    fn write_every_kind(path: &Path) {
        use rust_xlsxwriter::{Color, ExcelDateTime as XDate, Format, Formula, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let cn_date = Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
        let money = Format::new().set_num_format("#,##0.00\"元\"");
        let red = Format::new().set_font_color(Color::Red);
        ws.write_string(0, 0, "户编号").unwrap();
        ws.write_string(0, 1, "  两端空格  ").unwrap();
        ws.write_string(0, 2, "a&b<c>\"d\"").unwrap();
        ws.write_string(0, 3, "换行\r\n和\t制表").unwrap();
        ws.write_number(1, 0, 522_601_000_001.0).unwrap();
        ws.write_number(1, 1, 3500.5).unwrap();
        ws.write_number_with_format(1, 2, 3500.0, &money).unwrap();
        ws.write_number(1, 3, 0.1 + 0.2).unwrap();
        ws.write_number(1, 4, -1e20).unwrap();
        ws.write_datetime_with_format(2, 0, XDate::from_ymd(2024, 2, 29).unwrap(), &date).unwrap();
        ws.write_datetime_with_format(2, 1, XDate::from_ymd(2023, 4, 1).unwrap(), &cn_date).unwrap();
        ws.write_number_with_format(2, 2, 45000.75, &date).unwrap();
        ws.write_boolean(3, 0, true).unwrap();
        ws.write_boolean(3, 1, false).unwrap();
        ws.write_formula(3, 2, Formula::new("=1+1").set_result("2")).unwrap();
        ws.write_formula(3, 3, Formula::new("=\"a\"&\"b\"").set_result("ab")).unwrap();
        ws.write_formula(3, 4, Formula::new("=1/0").set_result("#DIV/0!")).unwrap();
        ws.write_rich_string(4, 0, &[(&Format::default(), "红"), (&red, "色"), (&Format::default(), " 字 ")]).unwrap();
        ws.write_string(4, 1, "").unwrap();
        ws.write_string(6, 30, "远处").unwrap();
        ws.write_string(7, 0, "_x000D_ 转义").unwrap();
        wb.save(path).unwrap();
    }

    #[test]
    fn strings_and_values() {
        let xml = r#"<si><r><t xml:space="preserve"> a </t></r><r><t>b_x000D_</t></r><rPh><t>x</t></rPh></si>"#;
        let mut x = Xml::new(xml.as_bytes(), "s.xml", 1000);
        x.next().unwrap();
        let mut s = String::new();
        x.string(b"si", &mut s).unwrap();
        assert_eq!(s, " a b\r");
    }

    /// `tag_end` (byte searches) finds what a byte-by-byte walk with quotes finds, and
    /// `unescape_x` decodes only when the first `_x` starts an escape.
    #[test]
    fn tag_ends_and_escapes() {
        let walk = |b: &[u8]| {
            let mut quote = 0u8;
            for (i, &c) in b.iter().enumerate() {
                if quote != 0 {
                    quote = if c == quote { 0 } else { quote };
                } else if c == b'>' {
                    return Some(i);
                } else if c == b'"' || c == b'\'' {
                    quote = c;
                }
            }
            None
        };
        let palette: [&[u8]; 6] = [b"a", b">", b"\"", b"'", b" ", "户".as_bytes()];
        let mut rng = crate::test_rng::Lcg(3);
        for case in 0..5000 {
            let Some(text) = rng.text(&palette, 12, case) else { continue };
            assert_eq!(tag_end(&text), walk(&text), "{:?}", String::from_utf8_lossy(&text));
        }
        assert_eq!(unescape_x("a_x000D_b"), "a\rb");
        assert_eq!(unescape_x("a_b_x000A_"), "a_b\n");
        assert_eq!(unescape_x("_xyz_x000D_"), "_xyz_x000D_");
        assert_eq!(unescape_x("x_"), "x_");
    }

    /// A shared string item read straight from the window (`plain_t`) reads as `string` does.
    #[test]
    fn plain_string_items_read_as_tokens_do() {
        let items = [
            ("<t>a</t></si>", true),
            ("<t> a b </t></si>", true),
            ("<t xml:space=\"preserve\"> a </t></si>", true),
            ("<t>x_x000D_y</t></si>", true),
            ("<t></t></si>", true),
            ("<t>a&lt;b</t></si>", false),
            ("<t>a</t> </si>", false),
            ("<r><t>a</t></r><r><t>b</t></r></si>", false),
            ("<t>a</t><rPh><t>x</t></rPh></si>", false),
        ];
        for (body, taken) in items {
            let mut x = Xml::new(body.as_bytes(), "s.xml", 1000);
            let mut want = String::new();
            x.string(b"si", &mut want).unwrap();
            let end = x.base + x.pos as u64;
            let mut x = Xml::new(body.as_bytes(), "s.xml", 1000);
            x.fill().unwrap();
            let mut got = String::from("old");
            assert_eq!(x.plain_t(b"</t></si>", &mut got), taken, "{body}");
            if taken {
                assert_eq!((got, x.base + x.pos as u64), (want, end), "{body}");
            } else {
                assert_eq!((got.as_str(), x.pos), ("old", 0), "{body}");
            }
        }
    }

    /// A cell read straight from the window (`plain_cell`) reads as the token path reads it, and
    /// anything it does not take (entities, CR, other children, white space between tags, a cell
    /// cut by the window's end) is left to the token path.
    #[test]
    fn plain_cells_read_as_tokens_do() {
        // (t, the cell's content, taken by plain_cell)
        let cells = [
            ("s", "<v>1</v></c>", true),
            ("", "<v>12.5</v></c>", true),
            ("", "<v></v></c>", true),
            ("inlineStr", "<is><t> a b </t></is></c>", true),
            ("inlineStr", "<is><t xml:space=\"preserve\"> a </t></is></c>", true),
            ("inlineStr", "<is><t>x_x000D_y</t></is></c>", true),
            ("inlineStr", "<is><t></t></is></c>", true),
            ("inlineStr", "<is><t>a\t</t></is></c>", true),
            ("inlineStr", "<is><t>\nab</t></is></c>", true),
            ("inlineStr", "<is><t> </t></is></c>", true),
            ("inlineStr", "<is><t>a</t></is></c>", true),
            ("str", "<is><t>户</t></is></c>", true),
            ("inlineStr", "<is><t>a&amp;b</t></is></c>", false),
            ("inlineStr", "<is><t>a\rb</t></is></c>", false),
            ("inlineStr", "<v>1</v></c>", false),
            ("", "<v>1</v> </c>", false),
            ("", "<f>A1</f><v>2</v></c>", false),
            ("inlineStr", "<is><r><t>a</t></r></is></c>", false),
        ];
        for (t, body, taken) in cells {
            let kind = Kind::of((!t.is_empty()).then_some(t.as_bytes())).unwrap();
            let tokens = {
                let mut x = Xml::new(body.as_bytes(), "s.xml", 1000);
                let (mut v, mut text) = (String::new(), String::new());
                let got = cell_value(&mut x, kind, &mut v, &mut text).unwrap();
                (std::mem::discriminant(&got), v, text, x.base + x.pos as u64)
            };
            // Whole, and cut short (the window's end): taken whole or not at all.
            for cut in [body.len(), body.len() - 1, 3] {
                let mut x = Xml::new(&body.as_bytes()[..cut], "s.xml", 1000);
                x.fill().unwrap();
                let (mut v, mut text) = (String::new(), String::new());
                match x.plain_cell(kind, &mut v, &mut text) {
                    Some(got) => {
                        assert!(taken && cut == body.len(), "{body}: taken when cut at {cut}");
                        assert_eq!((std::mem::discriminant(&got), v, text, x.base + x.pos as u64), tokens, "{body}");
                    }
                    None => {
                        assert!(!taken || cut < body.len(), "{body}: not taken");
                        assert_eq!(x.pos, 0, "{body}");
                    }
                }
            }
        }
    }
}

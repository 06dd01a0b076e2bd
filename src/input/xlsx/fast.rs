//! Cells and rows in the shapes spreadsheets write most, each read in one pass over its bytes:
//!
//! ```text
//! <c r="AB12" t="inlineStr"><is><t>TEXT</t></is></c>     (<t xml:space="preserve"> too)
//! <c r="AB12" t="s"><v>INDEX</v></c>                     (a shared string)
//! <c r="AB12" s="3"><v>-3500.25</v></c>                   (t="n" too; a style that shows no date)
//! <c r="AB12" s="3" t="s"/>                               (no value)
//! <row r="12" spans="1:53">   </row>
//! ```
//!
//! with `s` and `t` in either order, one space before each. Anything else — a cell without `r` or
//! with another attribute, a text with an entity, a CR, an `_xHHHH_` escape or a child other than
//! the one `<t>` (rich text, CDATA, white space), a number written otherwise than as its shortest
//! text (leading zeros, `1.50`, `1e3`, more than fifteen digits), a number in a date format, a
//! boolean, an error, a formula, a tag cut by the end of the window, a text or tag over the limit —
//! is left to [`super::read_cells`]'s general reading (`None`, nothing read). What is read here is
//! what that reading gives for the same bytes (tests: `fast_cells_read_as_the_general_way_does`
//! and the others below): the row, column and text, found without a token, a copy or a search for
//! each part; a reference's row is compared with the row being read, eight bytes at once.

use super::{trim_text, Context, Kind, Pos, Shown};

/// A cell read by [`cell`]: its row and column (0-based), its text (`None`: the cell has no
/// value) and its length in bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Cell<'a> {
    pub row: u32,
    pub col: u32,
    pub text: Option<&'a str>,
    pub len: usize,
}

/// The cell at the start of `b` (see the module), if it has one of the shapes read here and is
/// whole in `b`; `utf8`: `b` is known to be valid UTF-8 (a block of rows checked whole), so that a
/// text between two tags is too. A tag or text longer than `max_run` is left to the general reading
/// (which reports it).
#[inline]
pub(super) fn cell<'a>(b: &'a [u8], row: &Row, utf8: bool, max_run: usize, ctx: &'a Context) -> Option<Cell<'a>> {
    let rest = b.strip_prefix(b"<c r=\"")?;
    let (row, col, r) = reference(rest, row)?;
    // The attributes after `r` (the commonest first, each compared whole), and `>` or `/>`.
    let after = &rest[r..];
    let (kind, s, empty, tag) = match after.first()? {
        b'>' => (Kind::Untyped, None, false, 1),
        _ if after.starts_with(b" t=\"inlineStr\">") => (Kind::Inline, None, false, 15),
        _ if after.starts_with(b" t=\"s\">") => (Kind::Shared, None, false, 7),
        _ => attributes(after)?,
    };
    let i = r + tag;
    // The tag's `>` is at `5 + i`: within the limit, as the general reading would find it.
    if 5 + i > max_run {
        return None;
    }
    let head = 6 + i;
    if empty {
        return Some(Cell { row, col, text: None, len: head });
    }
    let (text, body) = match kind {
        Kind::Inline => inline(&rest[i..], utf8, max_run)?,
        _ => value(&rest[i..], kind, s, max_run, ctx)?,
    };
    Some(Cell { row, col, text: Some(text), len: head + body })
}

/// A row's end tag `</row>`, or its start tag as [`row_start`] reads it, at the start of `b`: `pos`
/// moved on as the general reading moves it, and the tag's length; `None` for anything else.
#[inline]
pub(super) fn row_tag(b: &[u8], max_run: usize, pos: &mut Pos) -> Option<usize> {
    if b.starts_with(b"</row>") && max_run >= 5 {
        (pos.row, pos.col) = (pos.row.saturating_add(1), 0);
        return Some(6);
    }
    let (row, len) = row_start(b, max_run)?;
    (pos.row, pos.abs) = (row, true);
    Some(len)
}

/// A row's start tag at the start of `b`, `<row r="12">` or `<row r="12" ...>` (not empty): the
/// row's number (0-based) and the tag's length; `None` for anything else, or a tag over `max_run`.
#[inline]
pub(super) fn row_start(b: &[u8], max_run: usize) -> Option<(u32, usize)> {
    let rest = b.strip_prefix(b"<row r=\"")?;
    let first = rest.first()?.wrapping_sub(b'1');
    if first > 8 {
        return None;
    }
    let mut row = u32::from(first) + 1;
    let mut i = 1;
    let end = loop {
        let c = *rest.get(i)?;
        i += 1;
        match c.wrapping_sub(b'0') {
            d @ 0..=9 if row < 100_000_000 => row = row * 10 + u32::from(d),
            _ if c == b'"' => match *rest.get(i)? {
                b'>' => break i,
                b' ' => break i + super::tag_end(&rest[i..])?,
                _ => return None,
            },
            _ => return None,
        }
    };
    // `end`: the tag's `>`, after `<row r="`.
    (rest[end - 1] != b'/' && 8 + end <= max_run).then_some((row - 1, 8 + end + 1))
}

/// Attributes `s` and `t` (one space before each, in either order), then `>` or `/>`, at the start
/// of `b`: the cell's kind, its `s`, whether it is empty, and their length.
fn attributes(b: &[u8]) -> Option<(Kind, Option<&[u8]>, bool, usize)> {
    let (mut s, mut t) = (None, None);
    let mut i = 0;
    let empty = loop {
        match *b.get(i)? {
            b'>' => {
                i += 1;
                break false;
            }
            b'/' if b.get(i + 1) == Some(&b'>') => {
                i += 2;
                break true;
            }
            b' ' if b.get(i + 2..i + 4)? == b"=\"" => {
                let v = &b[i + 4..];
                let n = v.iter().position(|&c| c == b'"')?;
                match b[i + 1] {
                    b's' => s = Some(&v[..n]),
                    b't' => t = Some(&v[..n]),
                    _ => return None,
                }
                i += 5 + n;
            }
            _ => return None,
        }
    };
    let kind = match t {
        None => Kind::Untyped,
        Some(b"inlineStr") => Kind::Inline,
        Some(b"s") => Kind::Shared,
        Some(b"n") => Kind::Number,
        Some(_) => return None,
    };
    Some((kind, s, empty, i))
}

/// The row a cell is expected in (the one the reading is in), its number as a reference writes it
/// and the reference's closing quote, for eight bytes of the reference to be compared with at once:
/// cells of a row name it in every reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Row {
    pub row: u32,
    /// The digits and the quote, little-endian, the mask of their bytes (0: none expected, a
    /// number of eight digits or more) and their number.
    word: u64,
    mask: u64,
    len: usize,
}

impl Row {
    /// Row `row` (0-based).
    pub(super) fn of(row: u32) -> Row {
        let mut n = u64::from(row) + 1;
        let mut digits = 0;
        let mut word = u64::from(b'"');
        while n > 0 {
            word = (word << 8) | (n % 10 + u64::from(b'0'));
            n /= 10;
            digits += 1;
        }
        // The last digit shifted in (the first written) is the word's first byte.
        match digits {
            1..=7 => Row { row, word, mask: u64::MAX >> (8 * (7 - digits)), len: digits + 1 },
            _ => Row { row, word: 0, mask: 0, len: 0 },
        }
    }
}

/// A reference `AB12"` at the start of `r` (at most three capital letters, then a row number of at
/// most nine digits without a leading zero): its (0-based) row and column and its length (the
/// closing quote included); `None` for anything else (lower case, no letters or no digits: read by
/// [`super::cell_ref`], which also reports a damaged one). The row is compared with `expected`'s
/// first, eight bytes at once, and read digit by digit only if it is another.
#[inline]
fn reference(r: &[u8], expected: &Row) -> Option<(u32, u32, usize)> {
    let mut col = 0u32;
    let mut i = 0;
    while let Some(&c @ b'A'..=b'Z') = r.get(i) {
        if i == 3 {
            return None;
        }
        col = col * 26 + u32::from(c - b'A') + 1;
        i += 1;
    }
    if i == 0 {
        return None;
    }
    if let Some(w) = r.get(i..i + 8) {
        let w = u64::from_le_bytes(w.try_into().expect("eight bytes"));
        if expected.mask != 0 && w & expected.mask == expected.word {
            return Some((expected.row, col - 1, i + expected.len));
        }
    }
    let first = r.get(i)?.wrapping_sub(b'1');
    if first > 8 {
        return None;
    }
    let mut row = u32::from(first) + 1;
    i += 1;
    loop {
        let c = *r.get(i)?;
        i += 1;
        match c.wrapping_sub(b'0') {
            d @ 0..=9 if row < 100_000_000 => row = row * 10 + u32::from(d),
            _ if c == b'"' => return Some((row - 1, col - 1, i)),
            _ => return None,
        }
    }
}

/// An inline string's content after the cell's start tag, `<is><t>TEXT</t></is></c>`: its text (as
/// [`super::Xml::plain_t`] gives it) and the content's length.
#[inline]
fn inline(b: &[u8], utf8: bool, max_run: usize) -> Option<(&str, usize)> {
    const PRESERVE: &[u8] = b"<is><t xml:space=\"preserve\">";
    let (open, preserve) = match b {
        _ if b.starts_with(b"<is><t>") => (7, false),
        _ if b.starts_with(PRESERVE) => (PRESERVE.len(), true),
        _ => return None,
    };
    let rest = &b[open..];
    // The first `<`, with no `&`, CR or `_` before it.
    let n = rest.iter().position(|&c| STOPS[usize::from(c)])?;
    if rest[n] != b'<' || n > max_run || !rest[n..].starts_with(b"</t></is></c>") {
        return None;
    }
    let t = text(&rest[..n], utf8)?;
    let t = trim_text(t, preserve);
    Some((t, open + n + 13))
}

/// `<`, which ends a text, and what a text read here has none of: `&` (an entity), CR (a line
/// break XML reads as LF) and `_` (an `_xHHHH_` escape).
static STOPS: [bool; 256] = crate::byte_set(b"<&\r_");

/// A value's content after the cell's start tag, `<v>VALUE</v></c>`: a shared string's text, or a
/// number's as [`super::shown_value`] writes it — its own text, when that is the shortest that
/// reads as the number (`-`, then `0` or digits without a leading zero, then perhaps `.` and
/// digits not ending in zero; fifteen digits at most, so that they read back as written; not
/// `-0`) — and the content's length.
#[inline]
fn value<'a>(b: &'a [u8], kind: Kind, s: Option<&[u8]>, max_run: usize, ctx: &'a Context) -> Option<(&'a str, usize)> {
    let rest = b.strip_prefix(b"<v>")?;
    if kind == Kind::Shared {
        let n = rest.iter().take(10).position(|c| !c.is_ascii_digit())?;
        if n > max_run || !rest[n..].starts_with(b"</v></c>") {
            return None;
        }
        let i = index(&rest[..n])?;
        return Some((ctx.strings.get(i as usize)?, 3 + n + 8));
    }
    // A number: shown as a date or a duration by its style, or as written if written shortest.
    let shown = match s {
        None => Some(Shown::Number),
        Some(s) => ctx.styles.get(index(s)? as usize).copied(),
    };
    if matches!(shown, Some(Shown::DateTime | Shown::TimeDelta)) {
        return None;
    }
    let minus = usize::from(rest.first() == Some(&b'-'));
    let int = rest[minus..].iter().take(16).position(|c| !c.is_ascii_digit())?;
    let mut n = minus + int;
    if int == 0 || (rest[minus] == b'0' && int > 1) {
        return None;
    }
    if rest[n] == b'.' {
        let frac = rest[n + 1..].iter().take(16).position(|c| !c.is_ascii_digit())?;
        if frac == 0 || rest[n + frac] == b'0' {
            return None;
        }
        n += 1 + frac;
    } else if minus == 1 && rest[1] == b'0' {
        return None;
    }
    if n - minus > 15 + usize::from(n > minus + int) || n > max_run || !rest[n..].starts_with(b"</v></c>") {
        return None;
    }
    // ASCII digits, `-` and `.`: valid UTF-8.
    Some((text(&rest[..n], true)?, 3 + n + 8))
}

/// One to nine ASCII digits as a number (as [`super::number`] reads them).
#[inline]
fn index(d: &[u8]) -> Option<u32> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    d.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
}

/// `b` as text: without a check when `utf8` says it is valid UTF-8 (a text between a tag's `>`
/// and the next `<` in a block checked whole, or ASCII).
#[inline]
fn text(b: &[u8], utf8: bool) -> Option<&str> {
    if !utf8 {
        return simdutf8::basic::from_utf8(b).ok();
    }
    debug_assert!(std::str::from_utf8(b).is_ok());
    // SAFETY: `utf8` is true only for ASCII bytes (a number's digits, `-` and `.`, checked by
    // `value`) or for a text of the window of a block of rows, checked whole (`Xml::whole`) and not
    // changed after, cut from it between a `>` and a `<`: ASCII bytes, which are never within a
    // character, so the text starts and ends on character boundaries.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

#[cfg(test)]
mod tests {
    use super::super::{attr, attrs_iter, cell_ref, plain_c, read_cell, CellTag, Strings, Tok, Xml};
    use super::*;

    /// Shared strings 甲, 乙, " 丙 "; styles: a number, a date, a duration, a number.
    fn context() -> (Strings, Vec<Shown>) {
        let mut strings = Strings::default();
        for s in ["甲", "乙", " 丙 "] {
            strings.text.push_str(s);
            strings.ends.push(strings.text.len());
        }
        (strings, vec![Shown::Number, Shown::DateTime, Shown::TimeDelta, Shown::Number])
    }

    /// One cell at the start of `b` as [`super::super::read_cells`] reads it without this module
    /// (its start tag by `plain_c` or as a token, then `CellTag::of` and `read_cell`), the reading
    /// in row `row`: (row, column, text if it has a value, bytes read), or the error.
    type General = Result<(u32, u32, Option<String>, usize), String>;

    fn general(b: &[u8], row: u32, max_run: usize, ctx: &Context) -> General {
        let mut x = Xml::new(b, "s.xml", max_run);
        let mut pos = Pos { row, col: 0, in_data: true, abs: true };
        x.fill().map_err(|e| format!("{e:?}"))?;
        let (tag, empty) = match plain_c(&x.buf[x.pos..x.end], x.max_run) {
            Some((r, s, t, empty, len)) => {
                let tag = CellTag::of(r, s, t, &pos, ctx).map_err(|e| format!("{e:?}"))?;
                x.pos += len;
                (tag, empty)
            }
            None => match x.next().map_err(|e| format!("{e:?}"))? {
                Some(Tok::Start { name, attrs, empty }) if x.local(name) == b"c" => {
                    let (mut r, mut s, mut t) = (None, None, None);
                    for (k, v) in attrs_iter(x.slice(attrs)) {
                        match k {
                            b"r" => r = Some(v),
                            b"s" => s = Some(v),
                            b"t" => t = Some(v),
                            _ => {}
                        }
                    }
                    (CellTag::of(r, s, t, &pos, ctx).map_err(|e| format!("{e:?}"))?, empty)
                }
                _ => return Err("not a cell".into()),
            },
        };
        let mut got = None;
        let (mut value, mut text) = (String::new(), String::new());
        let mut cell = |_, _, _, t: &str| {
            got = Some(t.to_string());
            Ok::<_, ()>(true)
        };
        read_cell(&mut x, ctx, &mut pos, tag, empty, (&mut value, &mut text), &mut cell)
            .map_err(|e| format!("{e:?}"))?;
        Ok((pos.row, pos.col - 1, got, (x.base + x.pos as u64) as usize))
    }

    /// What [`cell`] reads, as [`general`] gives it; `None` if it leaves the cell to the general way.
    fn fast(b: &[u8], row: u32, max_run: usize, ctx: &Context) -> Option<General> {
        let utf8 = std::str::from_utf8(b).is_ok();
        let mut got = None;
        for (utf8, expected) in [(false, Row::of(row)), (utf8, Row::of(row)), (false, Row::of(row.wrapping_add(1)))] {
            let c =
                cell(b, &expected, utf8, max_run, ctx).map(|c| Ok((c.row, c.col, c.text.map(str::to_string), c.len)));
            if let Some(g) = &got {
                assert_eq!(
                    &c,
                    g,
                    "{:?}: the same whatever the row expected or known UTF-8",
                    String::from_utf8_lossy(b)
                );
            }
            got = Some(c);
        }
        got.flatten()
    }

    /// (cell, taken here): what is taken reads as the general way reads it, and as many bytes.
    const CELLS: &[(&str, bool)] = &[
        (r#"<c r="A1" t="inlineStr"><is><t>户编号</t></is></c>"#, true),
        (r#"<c r="AB12" t="inlineStr"><is><t></t></is></c>"#, true),
        (r#"<c r="B2" t="inlineStr"><is><t> a b </t></is></c>"#, true),
        (r#"<c r="B2" t="inlineStr"><is><t xml:space="preserve"> a </t></is></c>"#, true),
        ("<c r=\"B2\" t=\"inlineStr\"><is><t>\n x\t</t></is></c>", true),
        (r#"<c r="B2" t="inlineStr"><is><t> </t></is></c>"#, true),
        (r#"<c r="B2" t="inlineStr"><is><t>x</t></is></c>"#, true),
        (r#"<c r="XFD1048576" t="inlineStr"><is><t>远</t></is></c>"#, true),
        (r#"<c r="ZZZ999999999" t="inlineStr"><is><t>远</t></is></c>"#, true),
        (r#"<c r="C3" t="s"><v>1</v></c>"#, true),
        (r#"<c r="C3" s="2" t="s"><v>0</v></c>"#, true),
        (r#"<c r="C3" t="s" s="1"><v>2</v></c>"#, true),
        (r#"<c r="C3" t="s"><v>000000002</v></c>"#, true),
        (r#"<c r="D4"><v>3500</v></c>"#, true),
        (r#"<c r="D4" t="n"><v>0</v></c>"#, true),
        (r#"<c r="D4" s="0"><v>123456789012345</v></c>"#, true),
        (r#"<c r="D4" s="3"><v>42</v></c>"#, true),
        (r#"<c r="D4" s="9"><v>42</v></c>"#, true),
        (r#"<c r="D4"><v>-12</v></c>"#, true),
        (r#"<c r="D4"><v>3500.25</v></c>"#, true),
        (r#"<c r="D4"><v>-0.5</v></c>"#, true),
        (r#"<c r="D4"><v>0.000001</v></c>"#, true),
        (r#"<c r="D4" t="n"><v>12345678901234.5</v></c>"#, true),
        (r#"<c r="D4"><v>-999999999999999</v></c>"#, true),
        (r#"<c r="E5" s="1"/>"#, true),
        (r#"<c r="E5"/>"#, true),
        (r#"<c r="E5" t="inlineStr"/>"#, true),
        // Entities, CDATA, rich text, phonetic runs, CR, `_xHHHH_` escapes and `_`.
        (r#"<c r="A1" t="inlineStr"><is><t>a&amp;b</t></is></c>"#, false),
        (r#"<c r="A1" t="inlineStr"><is><t><![CDATA[a<b]]></t></is></c>"#, false),
        (r#"<c r="A1" t="inlineStr"><is><r><t>a</t></r><r><rPr/><t>b</t></r></is></c>"#, false),
        (r#"<c r="A1" t="inlineStr"><is><t>a</t><rPh><t>x</t></rPh></is></c>"#, false),
        ("<c r=\"A1\" t=\"inlineStr\"><is><t>a\rb</t></is></c>", false),
        (r#"<c r="A1" t="inlineStr"><is><t>a_x000D_b</t></is></c>"#, false),
        (r#"<c r="A1" t="inlineStr"><is><t>a_b</t></is></c>"#, false),
        (r#"<c r="A1" t="inlineStr"><is><t/></is></c>"#, false),
        (r#"<c r="A1" t="inlineStr"> <is><t>a</t></is></c>"#, false),
        (r#"<c r="A1" t="inlineStr"><is><t>a</t></is> </c>"#, false),
        (r#"<c r="A1" t="inlineStr"><v>1</v></c>"#, false),
        (r#"<c r="A1" t="inlineStr"><is><t xml:space="default"> a </t></is></c>"#, false),
        // No `r`, a reference of another shape, a damaged one.
        (r#"<c t="inlineStr"><is><t>a</t></is></c>"#, false),
        (r#"<c><v>1</v></c>"#, false),
        (r#"<c r="a1"><v>1</v></c>"#, false),
        (r#"<c r="A01"><v>1</v></c>"#, false),
        (r#"<c r="A0"><v>1</v></c>"#, false),
        (r#"<c r="1"><v>1</v></c>"#, false),
        (r#"<c r="A"><v>1</v></c>"#, false),
        (r#"<c r="AAAA1"><v>1</v></c>"#, false),
        (r#"<c r="A1B"><v>1</v></c>"#, false),
        (r#"<c r="A1234567890"><v>1</v></c>"#, false),
        // Other types: formulas, booleans, errors, ISO dates, an unknown one.
        (r#"<c r="A1" t="str"><v>ab</v></c>"#, false),
        (r#"<c r="A1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>"#, false),
        (r#"<c r="A1" t="b"><v>1</v></c>"#, false),
        (r#"<c r="A1" t="e"><v>#DIV/0!</v></c>"#, false),
        (r#"<c r="A1" t="d"><v>2024-01-02T00:00:00</v></c>"#, false),
        (r#"<c r="A1" t="q"><v>1</v></c>"#, false),
        (r#"<c r="A1" t=""><v>1</v></c>"#, false),
        // Numbers in a date or duration format, or not as the digits are shown.
        (r#"<c r="A1" s="1"><v>45000</v></c>"#, false),
        (r#"<c r="A1" s="2"><v>1</v></c>"#, false),
        (r#"<c r="A1"><v>-0</v></c>"#, false),
        (r#"<c r="A1"><v>-0.0</v></c>"#, false),
        (r#"<c r="A1"><v>-</v></c>"#, false),
        (r#"<c r="A1"><v>+1</v></c>"#, false),
        (r#"<c r="A1"><v>007</v></c>"#, false),
        (r#"<c r="A1"><v>-01</v></c>"#, false),
        (r#"<c r="A1"><v>1.50</v></c>"#, false),
        (r#"<c r="A1"><v>1.</v></c>"#, false),
        (r#"<c r="A1"><v>.5</v></c>"#, false),
        (r#"<c r="A1"><v>1.2.3</v></c>"#, false),
        (r#"<c r="A1"><v>1e3</v></c>"#, false),
        (r#"<c r="A1"><v>1.5E-3</v></c>"#, false),
        (r#"<c r="A1"><v>0.30000000000000004</v></c>"#, false),
        (r#"<c r="A1"><v>0.000000000000001</v></c>"#, false),
        (r#"<c r="A1"><v>1234567890123456</v></c>"#, false),
        (r#"<c r="A1"><v>123456789012345.5</v></c>"#, false),
        (r#"<c r="A1"><v></v></c>"#, false),
        (r#"<c r="A1"><v> 1</v></c>"#, false),
        (r#"<c r="A1" s=""><v>1</v></c>"#, false),
        (r#"<c r="A1" s="x"><v>1</v></c>"#, false),
        (r#"<c r="A1"><f>1+1</f><v>2</v></c>"#, false),
        (r#"<c r="A1"><v>2</v><f>1+1</f></c>"#, false),
        // Shared strings out of range or written otherwise.
        (r#"<c r="A1" t="s"><v>9</v></c>"#, false),
        (r#"<c r="A1" t="s"><v>0000000001</v></c>"#, false),
        (r#"<c r="A1" t="s"><v></v></c>"#, false),
        (r#"<c r="A1" t="s"><v>1 </v></c>"#, false),
        // Attributes otherwise.
        (r#"<c  r="A1" t="s"><v>1</v></c>"#, false),
        (r#"<c r="A1"  t="s"><v>1</v></c>"#, false),
        (r#"<c r='A1' t="s"><v>1</v></c>"#, false),
        (r#"<c r="A1" t='s'><v>1</v></c>"#, false),
        (r#"<c r="A1" t = "s"><v>1</v></c>"#, false),
        (r#"<c r="A1" cm="1" t="s"><v>1</v></c>"#, false),
        (r#"<c r="A1" x:t="s"><v>1</v></c>"#, false),
        (r#"<c r="A1" t="s" ><v>1</v></c>"#, false),
        (r#"<c r="A1" t="s" /><v>1</v></c>"#, false),
        (r#"<c r="A1"	t="s"><v>1</v></c>"#, false),
        (r#"<x:c r="A1" t="s"><v>1</v></x:c>"#, false),
    ];

    /// Every cell of [`CELLS`], whole, cut short and within limits of every length, in rows before,
    /// at and after its own: what [`cell`] takes reads as the general way reads it, and what it is
    /// meant to take, it takes.
    #[test]
    fn fast_cells_read_as_the_general_way_does() {
        let (strings, styles) = context();
        let ctx = Context { strings: &strings, styles: &styles, date1904: false };
        for &(c, taken) in CELLS {
            let b = format!("{c}<c r=\"A2\"/></row>");
            for row in [0, 1, 11, 41, 1_048_575] {
                let want = general(b.as_bytes(), row, 1000, &ctx);
                match fast(b.as_bytes(), row, 1000, &ctx) {
                    Some(got) => assert_eq!(got, want, "{c}"),
                    None => assert!(!taken, "{c}: not taken ({want:?})"),
                }
            }
            assert_eq!(fast(b.as_bytes(), 0, 1000, &ctx).is_some(), taken, "{c}");
            for cut in 0..c.len() {
                assert_eq!(fast(&b.as_bytes()[..cut], 0, 1000, &ctx), None, "{c} cut at {cut}");
            }
            for max_run in 0..c.len() {
                if let Some(got) = fast(b.as_bytes(), 0, max_run, &ctx) {
                    assert_eq!(got, general(b.as_bytes(), 0, max_run, &ctx), "{c} within {max_run}");
                }
            }
        }
        // Bytes that are not UTF-8: left to the general way (which reads them as U+FFFD).
        let b = b"<c r=\"A1\" t=\"inlineStr\"><is><t>a\xff</t></is></c>";
        assert!(cell(b, &Row::of(0), false, 1000, &ctx).is_none());
    }

    /// Cells made of pieces at random, and changed a byte here and there: what [`cell`] takes
    /// reads as the general way reads it.
    #[test]
    fn random_cells_read_as_the_general_way_does() {
        let (strings, styles) = context();
        let ctx = Context { strings: &strings, styles: &styles, date1904: false };
        let refs = ["A1", "B1", "AB1", "A2", "Z9", "A10", "A01", "a1", "", "A", "1", "ZZZ1"];
        let attrs = [
            "",
            " t=\"s\"",
            " t=\"inlineStr\"",
            " s=\"1\"",
            " s=\"3\" t=\"s\"",
            " t=\"n\" s=\"0\"",
            " t=\"str\"",
            " t=\"b\"",
            " s=\"2\"",
            " t=\"s\" s=\"x\"",
            "  t=\"s\"",
            " cm=\"1\"",
        ];
        let texts =
            ["", "户", " a ", "a&lt;b", "_x0041_", "x\r", "\t", "07", "1", "2", "12", "-3", "1.5", "9", "-0", "0.10"];
        let bodies =
            ["<v>{}</v>", "<is><t>{}</t></is>", "<is><t xml:space=\"preserve\">{}</t></is>", "<f>x</f><v>{}</v>"];
        let mut rng = crate::test_rng::Lcg(13);
        let (mut taken, mut cases) = (0, 0);
        for _ in 0..20_000 {
            let pick = |rng: &mut crate::test_rng::Lcg, xs: &[&'static str]| xs[rng.below(xs.len())];
            let body = pick(&mut rng, &bodies).replace("{}", pick(&mut rng, &texts));
            let (r, a) = (pick(&mut rng, &refs), pick(&mut rng, &attrs));
            let mut b = match rng.below(8) {
                0 => format!("<c r=\"{r}\"{a}/>"),
                _ => format!("<c r=\"{r}\"{a}>{body}</c>"),
            }
            .into_bytes();
            if rng.below(3) == 0 {
                let i = rng.below(b.len());
                match rng.below(3) {
                    0 => drop(b.remove(i)),
                    1 => b.insert(i, b" <>\"/=_"[rng.below(7)]),
                    _ => b[i] = b"As1 \"<>"[rng.below(7)],
                }
            }
            b.extend_from_slice(b"</row>");
            let row = rng.below(3) as u32;
            cases += 1;
            if let Some(got) = fast(&b, row, 1000, &ctx) {
                taken += 1;
                assert_eq!(got, general(&b, row, 1000, &ctx), "{:?}", String::from_utf8_lossy(&b));
            }
        }
        assert!(taken > cases / 25, "{taken} of {cases} taken");
    }

    /// Numbers of every shape, read here or left to the general way: what is read here is what
    /// the general way writes for them (the shortest text of the number read).
    #[test]
    fn numbers_read_as_the_general_way_does() {
        let (strings, styles) = context();
        let ctx = Context { strings: &strings, styles: &styles, date1904: false };
        let palette: [&[u8]; 9] = [b"0", b"1", b"5", b"9", b"00", b"-", b".", b"123456", b"e"];
        let mut rng = crate::test_rng::Lcg(23);
        let mut taken = 0;
        for case in 0..30_000 {
            let Some(v) = rng.text(&palette, 8, case) else { continue };
            let c = format!("<c r=\"A1\"><v>{}</v></c></row>", String::from_utf8(v).unwrap());
            if let Some(got) = fast(c.as_bytes(), 0, 1000, &ctx) {
                taken += 1;
                assert_eq!(got, general(c.as_bytes(), 0, 1000, &ctx), "{c}");
            }
        }
        assert!(taken > 3000, "{taken} taken");
    }

    /// A reference's row compared eight bytes at once reads as digit by digit, and as `cell_ref`,
    /// whichever row is expected.
    #[test]
    fn expected_rows_read_as_digits_do() {
        let mut rng = crate::test_rng::Lcg(17);
        let rows: Vec<u32> = (0..3000)
            .map(|_| {
                let bits = rng.below(33);
                rng.below(1usize << bits) as u32
            })
            .collect();
        for row in rows.into_iter().chain([0, 8, 9, 98, 99, 9_999_998, 9_999_999, 99_999_999, u32::MAX - 1, u32::MAX]) {
            let text = format!("AB{}", u64::from(row) + 1);
            // Up to nine digits (more are left to `cell_ref`).
            let want = match cell_ref(text.as_bytes()) {
                Some((Some(r), Some(c))) if text.len() <= 2 + 9 => Some((r, c, text.len() + 1)),
                _ => None,
            };
            let b = format!("{text}\">xxxxxxxx");
            for expected in [Row::of(row), Row::of(row.wrapping_add(1)), Row::of(row / 2)] {
                assert_eq!(reference(b.as_bytes(), &expected), want, "{text} expecting {}", expected.row);
            }
        }
    }

    /// A row's start tag read here reads as a token does, and one of another shape is left to it.
    #[test]
    fn row_tags_read_as_tokens_do() {
        let tags = [
            (r#"<row r="1">"#, true),
            (r#"<row r="12" spans="1:53" x14ac:dyDescent="0.25">"#, true),
            (r#"<row r="12" ht="a>b">"#, true),
            (r#"<row r="999999999">"#, true),
            (r#"<row r="12" >"#, true),
            (r#"<row r="1"/>"#, false),
            (r#"<row r="1" />"#, false),
            (r#"<row r="012">"#, false),
            (r#"<row r="0">"#, false),
            (r#"<row r='1'>"#, false),
            (r#"<row  r="1">"#, false),
            (r#"<row r="A1">"#, false),
            (r#"<row r="1234567890">"#, false),
            (r#"<row spans="1:2" r="3">"#, false),
            (r#"<row r="1""#, false),
            (r#"<row r="1" a="b"#, false),
        ];
        for (tag, taken) in tags {
            let b = format!("{tag}<c/>");
            let got = row_start(b.as_bytes(), 1000);
            assert_eq!(got.is_some(), taken, "{tag}");
            if let Some((row, len)) = got {
                let mut x = Xml::new(b.as_bytes(), "s.xml", 1000);
                let Ok(Some(Tok::Start { name, attrs, empty: false })) = x.next() else { panic!("{tag}") };
                assert_eq!(x.local(name), b"row");
                let r = attr(x.slice(attrs), b"r").unwrap();
                assert_eq!(Some(row), cell_ref(r).and_then(|(r, _)| r), "{tag}");
                assert_eq!(len, x.pos, "{tag}");
                for max_run in [len - 2, len - 1] {
                    let over = Xml::new(b.as_bytes(), "s.xml", max_run).next().is_err();
                    assert_eq!(row_start(b.as_bytes(), max_run).is_none(), over, "{tag} within {max_run}");
                }
            }
            for cut in 0..tag.len() {
                assert_eq!(row_start(&b.as_bytes()[..cut], 1000), None, "{tag} cut at {cut}");
            }
        }
        // `</row>`, as a token: the next row, from its first column; over the limit, left to it.
        for max_run in [4, 5, 1000] {
            let mut pos = Pos { row: 6, col: 3, in_data: true, abs: false };
            let over = Xml::new(&b"</row><c/>"[..], "s.xml", max_run).next().is_err();
            let got = row_tag(b"</row><c/>", max_run, &mut pos);
            assert_eq!(got.is_none(), over, "within {max_run}");
            if got.is_some() {
                assert_eq!((got, pos.row, pos.col, pos.abs), (Some(6), 7, 0, false));
            }
        }
        let mut pos = Pos { row: 6, col: 3, in_data: true, abs: false };
        assert_eq!(row_tag(br#"<row r="3" spans="1:2"><c/>"#, 1000, &mut pos), Some(23));
        assert_eq!((pos.row, pos.col, pos.abs), (2, 3, true));
    }
}

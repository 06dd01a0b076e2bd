//! Cell spellings found in real exports (data-dictionary.md, "Value spellings").
//!
//! Each parser takes the cell text and returns the value or a message saying what was expected.
//! A blank cell never reaches these functions.

use crate::value::{Date, Num};

/// A value as shown in messages: at most `n` characters.
pub fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…（共 {} 字符）", &s[..i], s.chars().count()),
        None => s.to_string(),
    }
}

/// Normalise a header for matching: full-width to half-width, no spaces, no BOM.
pub fn header_key(h: &str) -> String {
    normalize(h).chars().filter(|c| !c.is_whitespace() && *c != '\u{feff}').collect()
}

/// Trim (including the ideographic space) and fold full-width ASCII (`３５００`, `（`) to
/// half-width, so that `３,５００元 ` reads like `3,500元`.
pub fn normalize(s: &str) -> std::borrow::Cow<'_, str> {
    // Most cells: plain ASCII with nothing to trim.
    let b = s.as_bytes();
    let plain = |c: u8| c > b' ' && c < 0x7F;
    if b.first().copied().is_some_and(plain) && b.last().copied().is_some_and(plain) && s.is_ascii() {
        return s.into();
    }
    // Most other cells (Chinese names and places): no byte that can start a Unicode space
    // (C2, E1, E2, E3), a full-width form or a BOM (EF), and no ASCII space at either end.
    let ends = |c: Option<&u8>| c.is_some_and(|&c| c > b' ' && c != 0x7F);
    if ends(b.first()) && ends(b.last()) && !b.iter().any(|&c| matches!(c, 0xC2 | 0xE1 | 0xE2 | 0xE3 | 0xEF)) {
        return s.into();
    }
    normalize_general(s)
}

/// [`normalize`] without its fast paths (a test checks that they agree).
fn normalize_general(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}' || c == '\u{feff}');
    if t.is_ascii() || t.chars().all(|c| c.is_ascii() || !is_fullwidth(c)) {
        return t.into();
    }
    t.chars()
        .map(|c| {
            if is_fullwidth(c) {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            } else if c == '\u{3000}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .into()
}

fn is_fullwidth(c: char) -> bool {
    ('\u{FF01}'..='\u{FF5E}').contains(&c)
}

pub fn is_blank(s: &str) -> bool {
    // Most cells start with a visible ASCII character or the first byte of a CJK ideograph
    // (U+4000..U+9FFF, no space among them).
    if s.as_bytes().first().is_some_and(|&c| (c > b' ' && c < 0x7F) || (0xE4..=0xE9).contains(&c)) {
        return false;
    }
    s.chars().all(|c| c.is_whitespace() || c == '\u{3000}' || c == '\u{feff}')
}

/// Money in yuan: `3500`, `3500.5`, `3,500`, `3500元`, `３５００`, ` 3500 `; at most two decimals.
pub fn money(s: &str) -> Result<Num, String> {
    if let Some(n) = plain_decimal(s.as_bytes(), 2) {
        return Ok(n);
    }
    let n = normalize(s);
    let body = n.strip_suffix('元').unwrap_or(&n).trim();
    let plain = strip_thousands(body).ok_or_else(expected_money)?;
    match plain.split_once('.') {
        Some((_, f)) if f.len() > 2 => return Err(expected_money()),
        _ => {}
    }
    Num::parse_decimal(&plain).ok_or_else(expected_money)
}

/// The spelling of almost every number cell, read in one pass: digits, then at most `decimals`
/// decimals after a point (`3500`, `3500.5`). Anything else (`None`) goes the general way, which
/// gives the same value for these spellings.
/// A plain amount (`money`: up to two decimals) or integer as the fast path of [`money`] and
/// [`int`] read it; `None` for anything else (those functions then give the value or the error).
pub fn plain_number(s: &str, money: bool) -> Option<Num> {
    plain_decimal(s.as_bytes(), if money { 2 } else { 0 })
}

/// [`plain_number`] of a cell's bytes (not yet decoded: anything but ASCII digits and a point is
/// `None`).
#[inline]
pub fn plain_number_bytes(b: &[u8], money: bool) -> Option<Num> {
    plain_decimal(b, if money { 2 } else { 0 })
}

/// [`plain_number_bytes`] in one pass over the bytes, for the reader's loop over a row's cells
/// (inline, no call): ASCII digits, at most 12 of them, then for money a point and one or two
/// decimals; `None` for anything else, as `plain_number_bytes` gives (a test checks that they
/// agree).
#[inline(always)]
pub fn plain_number_inline(b: &[u8], money: bool) -> Option<Num> {
    if b.is_empty() || b.len() > 15 {
        return None;
    }
    let mut v: i64 = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + d as i64;
        i += 1;
    }
    if i == 0 || i > 12 {
        return None;
    }
    let v = v * crate::value::SCALE;
    match (money, &b[i..]) {
        (_, []) => Some(Num(v)),
        (true, [b'.', d]) if d.is_ascii_digit() => Some(Num(v + (d - b'0') as i64 * 100_000)),
        (true, [b'.', d, e]) if d.is_ascii_digit() && e.is_ascii_digit() => {
            Some(Num(v + (d - b'0') as i64 * 100_000 + (e - b'0') as i64 * 10_000))
        }
        _ => None,
    }
}

fn plain_decimal(b: &[u8], decimals: usize) -> Option<Num> {
    if b.is_empty() || b.len() > 15 {
        return None;
    }
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[..0]),
    };
    let point = int.len() < b.len();
    // At most 12 integer digits: no overflow in millionths (the general way checks larger ones).
    if int.is_empty() || int.len() > 12 || (point && (frac.is_empty() || frac.len() > decimals)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in int {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    let mut f: i64 = 0;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        f = f * 10 + (c - b'0') as i64;
    }
    Some(Num(v * crate::value::SCALE + f * 10i64.pow(6 - frac.len() as u32)))
}

fn expected_money() -> String {
    "应为金额（元），如 3500、3500.5、3,500 或 3500元".into()
}

/// Remove thousands separators, accepting them only in their proper places (`3,500`, `12,345.6`).
fn strip_thousands(s: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !s.contains(',') {
        return Some(s.into());
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = int.strip_prefix('-').unwrap_or(int);
    let groups: Vec<&str> = digits.split(',').collect();
    let ok = !groups[0].is_empty()
        && groups[0].len() <= 3
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    if int.starts_with('-') {
        out.push('-');
    }
    out.extend(groups);
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out.into())
}

/// A whole number: like money, without decimals (`4.0` is 4; `4.5` is not); `人`/`户` allowed.
pub fn int(s: &str) -> Result<i64, String> {
    if let Some(n) = plain_decimal(s.as_bytes(), 0) {
        return Ok(n.0 / crate::value::SCALE);
    }
    let n = normalize(s);
    let body = n.trim_end_matches(['人', '户', '个', '名']).trim();
    let expected = || "应为整数，如 4".to_string();
    let plain = strip_thousands(body).ok_or_else(expected)?;
    let v = Num::parse_decimal(&plain).ok_or_else(expected)?;
    v.as_int().ok_or_else(expected)
}

/// 是/否 and the other spellings of data-dictionary.md.
pub fn boolean(s: &str) -> Result<bool, String> {
    let n = normalize(s);
    match n.as_ref() {
        "是" | "有" | "Y" | "y" | "1" | "TRUE" | "true" | "True" | "√" | "✓" | "✔" | "yes" | "Yes" | "YES" => {
            Ok(true)
        }
        "否" | "无" | "N" | "n" | "0" | "FALSE" | "false" | "False" | "×" | "✗" | "✘" | "x" | "X" | "no" | "No"
        | "NO" => Ok(false),
        _ => Err("应为 是/否（也可写 有/无、Y/N、1/0、√/×）".into()),
    }
}

/// A month: `202306`, `2023-06`, `2023/6`, `2023.6`, `2023年6月`, a date `2023-06-15`, or an Excel
/// serial date (`45078`). Returns the month index.
pub fn month(s: &str) -> Result<i32, String> {
    let n = normalize(s);
    let t = n.as_ref();
    let err = || "应为年月，如 202306、2023-06、2023年6月".to_string();
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    // Every spelling accepts the same years (a month shown as `2023-06` reads back).
    let ymd = |y: &str, m: &str, d: Option<&str>| -> Result<i32, String> {
        let y: i32 = y.parse().map_err(|_| err())?;
        let m: u32 = m.parse().map_err(|_| err())?;
        let d: u32 = d.map_or(Ok(1), str::parse).map_err(|_| err())?;
        if !(1900..=2200).contains(&y) {
            return Err(err());
        }
        Date::new(y, m, d).map(Date::month_index).ok_or_else(err)
    };
    let ym = |y: &str, m: &str| ymd(y, m, None);
    if let Some(rest) = t.strip_suffix('月') {
        let (y, m) = rest.split_once('年').ok_or_else(err)?;
        return ym(y.trim(), m.trim());
    }
    if let Some(y) = t.strip_suffix('年') {
        let _ = y;
        return Err(err());
    }
    for sep in ['-', '/', '.'] {
        if t.contains(sep) {
            let parts: Vec<&str> = t.split(sep).collect();
            return match parts.as_slice() {
                [y, m] if digits(y) && digits(m) && y.len() == 4 => ym(y, m),
                [y, m, d] if digits(y) && digits(m) && digits(d) && y.len() == 4 => ymd(y, m, Some(d)),
                _ => Err(err()),
            };
        }
    }
    if digits(t) && t.len() == 6 {
        return ym(&t[..4], &t[4..]);
    }
    if digits(t) && t.len() == 8 {
        return ymd(&t[..4], &t[4..6], Some(&t[6..]));
    }
    // Excel serial date, five digits (1927–2173; a float such as 45078.0 also appears). Shorter
    // numbers would be years or typos, not dates.
    let serial = t.strip_suffix(".0").unwrap_or(t);
    if digits(serial) && serial.len() == 5 {
        if let Some(d) = serial.parse().ok().and_then(Date::from_excel_serial) {
            return Ok(d.month_index());
        }
    }
    Err(err())
}

/// A resident ID number (GB 11643): 18 characters — a six-digit area code, a real birth date
/// `YYYYMMDD`, three sequence digits and the check character — or the old 15-digit form (birth
/// date `YYMMDD` in the 1900s, no check character). Returns it with a lower-case `x` upper-cased.
pub fn id_number(s: &str) -> Result<String, String> {
    if let Some(checked) = id18(s.as_bytes()) {
        return checked.map(|()| s.to_ascii_uppercase()).map_err(String::from);
    }
    let t = normalize(s).to_ascii_uppercase();
    if !t.is_ascii() {
        return Err("身份证号码只能含数字（18 位的末位可为 X）".into());
    }
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let (birth, body_ok) = match t.len() {
        18 => (&t[6..14], digits(&t[..17]) && (t.as_bytes()[17].is_ascii_digit() || t.ends_with('X'))),
        15 => ("", digits(&t)),
        n => return Err(format!("身份证号码应为 18 位（或旧式 15 位），此处为 {n} 位")),
    };
    if !body_ok {
        return Err("身份证号码只能含数字（18 位的末位可为 X）".into());
    }
    let (y, m, d): (i32, u32, u32) = if t.len() == 18 {
        (birth[..4].parse().unwrap_or(0), birth[4..6].parse().unwrap_or(0), birth[6..].parse().unwrap_or(0))
    } else {
        (1900 + t[6..8].parse::<i32>().unwrap_or(0), t[8..10].parse().unwrap_or(0), t[10..12].parse().unwrap_or(0))
    };
    if y < 1900 || Date::new(y, m, d).is_none() {
        return Err("身份证号码中的出生日期无效".into());
    }
    if t.len() == 18 {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = t.bytes().take(17).zip(W).map(|(b, w)| (b - b'0') as u32 * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize];
        if t.as_bytes()[17] != check {
            return Err("身份证号码校验位不符（GB 11643）".into());
        }
    }
    Ok(t)
}

/// The usual form of an ID number, 17 digits and a digit or `X`/`x`, checked on the bytes (the
/// same checks, in the same order, as the general way of [`id_number`]): `Ok` a valid number (upper-cased it is
/// [`id_number`]'s value), `Err` its message; `None`: not of that form (the general way decides).
#[inline]
pub fn id18(b: &[u8]) -> Option<Result<(), &'static str>> {
    let head = b.first_chunk::<16>().filter(|_| b.len() == 18)?;
    // The first 16 bytes as two words: digits each (`3` high nibble, and a low nibble that
    // takes 6 without a carry), the usual ID number's 16 of its 17 digits in a few instructions.
    let digits8 = |w: u64| {
        const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
        const THREES: u64 = 0x3030_3030_3030_3030;
        w & HIGH == THREES && w.wrapping_add(0x0606_0606_0606_0606) & HIGH == THREES
    };
    let (w0, w1) = head.split_at(8);
    let word = |w: &[u8]| u64::from_le_bytes(w.try_into().expect("8 bytes"));
    if !(digits8(word(w0)) && digits8(word(w1)) && b[16].is_ascii_digit() && matches!(b[17], b'0'..=b'9' | b'X' | b'x'))
    {
        return None;
    }
    Some(id18_date_and_check(b))
}

/// The birth date and the check digit of an 18-byte ID number whose first 17 bytes are digits and
/// whose last is a digit or X ([`id18`]).
#[inline]
fn id18_date_and_check(b: &[u8]) -> Result<(), &'static str> {
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |v, &c| v * 10 + (c - b'0') as u32);
    if num(6..10) < 1900 || Date::new(num(6..10) as i32, num(10..12), num(12..14)).is_none() {
        return Err("身份证号码中的出生日期无效");
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = b[..17].iter().zip(W).map(|(c, w)| (c - b'0') as u32 * w).sum();
    if b[17].to_ascii_uppercase() != b"10X98765432"[(sum % 11) as usize] {
        return Err("身份证号码校验位不符（GB 11643）");
    }
    Ok(())
}

/// Per byte, for [`plain_text`]: 1 outside ASCII; 2 a byte that makes a cell's text need a closer
/// look — NUL, and C2, E1, E2, E3 and EF, the bytes that can start a Unicode space, a full-width
/// form, a BOM or U+FFFD (what [`normalize`] and the cell checks look for).
const TEXT_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0x80;
    while i < 256 {
        t[i] = 1;
        i += 1;
    }
    t[0] = 2;
    t[0xC2] = 3;
    t[0xE1] = 3;
    t[0xE2] = 3;
    t[0xE3] = 3;
    t[0xEF] = 3;
    t
};

/// A cell's bytes as the text a text field keeps exactly as written, checked in one pass: valid
/// UTF-8 without a NUL or a byte that can start U+FFFD, nothing for [`normalize`] to change (no
/// space or control character at either end, no Unicode space, full-width form or BOM), so not
/// blank either ([`is_blank`]). `None`: any other cell (the general way decides). (Inlined
/// always: the reader's pass over text columns calls it for most of their cells.)
#[inline(always)]
pub fn plain_text(b: &[u8]) -> Option<&str> {
    let ends = |c: u8| c > b' ' && c != 0x7F;
    if !(ends(*b.first()?) && ends(*b.last()?)) {
        return None;
    }
    // (ASCII but NUL and CJK leads E4–EC, EE hold none of the bytes `TEXT_BYTE` looks for: most
    // texts need no other look.)
    if let Some(t) = ascii_or_cjk_as::<false>(b) {
        return Some(t);
    }
    let seen = b.iter().fold(0u8, |seen, &c| seen | TEXT_BYTE[c as usize]);
    match seen {
        0 | 1 => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// `b` as text when it is ASCII and three-byte characters led by E4–EC or EE (the CJK ideographs
/// and most other BMP characters; their two further bytes 80–BF), checked here in a few
/// instructions a byte; `None` for anything else, valid UTF-8 or not (the caller checks that the
/// slow way: a standard check of a short cell costs more than the cell's bytes).
#[inline]
pub fn ascii_or_cjk(b: &[u8]) -> Option<&str> {
    ascii_or_cjk_as::<true>(b)
}

/// [`ascii_or_cjk`], taking a NUL only if `NUL` (else `None` for a text with one).
#[inline(always)]
fn ascii_or_cjk_as<const NUL: bool>(b: &[u8]) -> Option<&str> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Eight ASCII bytes (and no zero byte, unless `NUL`: a word of ASCII bytes has one exactly
    // when `w - 0x01…01` borrows into a high bit that `w` does not have).
    let ascii8 = |w: &[u8]| {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        w & HIGH == 0 && (NUL || w.wrapping_sub(0x0101_0101_0101_0101) & !w & HIGH == 0)
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if !NUL && c == 0 {
                return None;
            }
            // Eight ASCII bytes at once where they are (an ID number, a code), else this one.
            i += if b.get(i..i + 8).is_some_and(ascii8) { 8 } else { 1 };
        } else if matches!(c, 0xE4..=0xEC | 0xEE)
            && b.get(i + 1).is_some_and(|&x| x & 0xC0 == 0x80)
            && b.get(i + 2).is_some_and(|&x| x & 0xC0 == 0x80)
        {
            i += 3;
        } else {
            return None;
        }
    }
    // SAFETY: every byte was checked above (alone or in a word of eight ASCII bytes, all of whose
    // high bits are clear) to be ASCII or one of a three-byte sequence whose
    // lead (E4–EC, EE) takes any two continuation bytes 80–BF (RFC 3629: only E0, ED, F0 and F4
    // restrict their second byte), so `b` is valid UTF-8; test `plain_texts_are_what_the_general_way_keeps`
    // checks this against `std::str::from_utf8` on every byte string of a palette.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

/// The birth date in a valid ID number (`None` for any other text).
pub fn birth_date(id: &str) -> Option<Date> {
    fn part<T: std::str::FromStr>(id: &str, r: std::ops::Range<usize>) -> Option<T> {
        id.get(r)?.parse().ok()
    }
    match id.len() {
        18 => Date::new(part(id, 6..10)?, part(id, 10..12)?, part(id, 12..14)?),
        15 => Date::new(1900 + part::<i32>(id, 6..8)?, part(id, 8..10)?, part(id, 10..12)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to four characters from a palette of the characters that matter
    /// (ASCII, spaces of every kind, CJK, full-width forms, BOM, quotes, controls): the fast
    /// paths of `normalize` give what the general way gives.
    #[test]
    fn normalize_fast_paths_agree_with_the_general_way() {
        let palette = [
            'a', '3', ' ', '\t', '\u{7f}', '户', '村', '\u{3000}', '３', '（', '\u{feff}', '\u{a0}', '“', '、',
            '\u{2003}',
        ];
        let mut level = vec![String::new()];
        for _ in 0..4 {
            level = level.iter().flat_map(|s| palette.iter().map(move |c| format!("{s}{c}"))).collect();
            for s in &level {
                assert_eq!(normalize(s), normalize_general(s), "{s:?}");
            }
        }
    }

    /// `id18` with its digits checked as it was written first (each byte alone), against which
    /// its word-wise digit check is tested.
    fn id18_bytewise(b: &[u8]) -> Option<Result<(), &'static str>> {
        if !(b.len() == 18 && b[..17].iter().all(u8::is_ascii_digit) && matches!(b[17], b'0'..=b'9' | b'X' | b'x')) {
            return None;
        }
        Some(id18_date_and_check(b))
    }

    /// The word-wise digit check of `id18` takes what the byte-wise one takes: valid ID numbers
    /// with one byte changed to every value, at every place, and random 17- to 19-byte strings.
    #[test]
    fn id18_reads_digits_as_the_bytewise_check_does() {
        let mut rng = crate::test_rng::Lcg(33);
        let valid = [&b"520000196803120313"[..], b"11010519491231002x", b"11010519491231002X", b"440524188001010014"];
        let mut n = 0;
        for id in valid {
            for i in 0..18 {
                for v in 0..=255u8 {
                    let mut c = id.to_vec();
                    c[i] = v;
                    assert_eq!(id18(&c), id18_bytewise(&c), "{c:?}");
                    n += id18(&c).is_some() as usize;
                }
            }
        }
        for _ in 0..100_000 {
            let len = 17 + rng.below(3);
            let c: Vec<u8> =
                (0..len).map(|_| [b'0', b'5', b'9', b'/', b':', b'X', 0xB9, b'\x30' ^ 0x80][rng.below(8)]).collect();
            assert_eq!(id18(&c), id18_bytewise(&c), "{c:?}");
        }
        assert!(n > 100, "{n}");
    }

    /// The reader's inline number parse gives what `plain_number_bytes` gives, for every cell
    /// of random digits, points, signs, commas, spaces, full-width digits and `元`, up to 17
    /// bytes, and for the edges (12 and 13 digits, one to three decimals).
    #[test]
    fn inline_numbers_are_plain_numbers() {
        let pieces: [&[u8]; 12] =
            [b"0", b"1", b"9", b"5", b"7", b".", b",", b"-", b" ", "３".as_bytes(), "元".as_bytes(), b"e"];
        let mut rng = crate::test_rng::Lcg(21);
        let mut cells: Vec<Vec<u8>> = Vec::new();
        for _ in 0..200_000 {
            let n = rng.below(18);
            let mut c = Vec::new();
            while c.len() < n {
                // Mostly digits, so that long numbers come up.
                let k = if rng.below(3) == 0 { rng.below(pieces.len()) } else { rng.below(5) };
                c.extend_from_slice(pieces[k]);
            }
            cells.push(c);
        }
        for s in [
            "",
            "0",
            "00",
            "5.",
            ".5",
            "1.2",
            "1.23",
            "1.234",
            "123456789012",
            "1234567890123",
            "123456789012.34",
            "999999999999.99",
            "1..2",
            "1.2.3",
            "١٢",
        ] {
            cells.push(s.as_bytes().to_vec());
        }
        let mut some = 0;
        for c in &cells {
            for money in [false, true] {
                let want = plain_number_bytes(c, money);
                some += want.is_some() as usize;
                assert_eq!(plain_number_inline(c, money), want, "{:?} money {money}", String::from_utf8_lossy(c));
            }
        }
        assert!(some > 10_000, "{some}");
    }

    /// A text read as kept as written ([`plain_text`]) is what the general way keeps: valid, the
    /// same text, nothing for `normalize` to change, not blank, no NUL or U+FFFD; and the usual
    /// names and ids are read so. Over every string of up to four characters of a palette.
    #[test]
    fn plain_texts_are_what_the_general_way_keeps() {
        let palette = [
            'a', '3', ' ', '\t', '\0', '\u{7f}', '户', '村', '\u{3000}', '３', '（', '\u{feff}', '\u{a0}', '“', '、',
            '\u{2003}', 'é', '𝄞', '\u{fffd}', '\u{d7ff}', '\u{e000}', '\u{1680}',
        ];
        let mut level = vec![String::new()];
        let mut kept = 0;
        for _ in 0..4 {
            level = level.iter().flat_map(|s| palette.iter().map(move |c| format!("{s}{c}"))).collect();
            for s in &level {
                if let Some(t) = plain_text(s.as_bytes()) {
                    kept += 1;
                    assert_eq!(t, s);
                    assert_eq!(normalize(s), normalize_general(s), "{s:?}");
                    assert_eq!(normalize(s), *s, "{s:?}");
                    assert!(!is_blank(s) && !s.contains(['\0', '\u{fffd}']), "{s:?}");
                }
            }
        }
        assert!(kept > 5_000, "{kept}");
        for s in ["张某华", "D000000001", "鉴定安全", "a户b", "é1"] {
            assert_eq!(plain_text(s.as_bytes()), Some(s), "{s:?}");
        }
        for s in ["", " 张", "张 ", "张\u{3000}", "\u{feff}张", "３", "a\0b", "x\u{fffd}"] {
            assert_eq!(plain_text(s.as_bytes()), None, "{s:?}");
        }
    }

    /// `ascii_or_cjk` takes only valid UTF-8 (its `from_utf8_unchecked` is sound), and takes the
    /// ASCII and CJK texts it is for: every byte string of up to four bytes of a palette of lead,
    /// continuation and invalid bytes.
    #[test]
    fn ascii_or_cjk_takes_only_valid_utf8() {
        let palette = [
            0x00u8, 0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE4, 0xE9, 0xEC, 0xED, 0xEE, 0xEF,
            0xF0, 0xF4, 0xFF,
        ];
        let mut level = vec![Vec::new()];
        let mut taken = 0;
        for _ in 0..4 {
            level = level.iter().flat_map(|s| palette.iter().map(move |&c| [s.as_slice(), &[c]].concat())).collect();
            for b in &level {
                if let Some(t) = ascii_or_cjk(b) {
                    taken += 1;
                    assert_eq!(std::str::from_utf8(b), Ok(t), "{b:x?}");
                }
            }
        }
        assert!(taken > 500, "{taken}");
        // Longer strings, mostly ASCII (the eight-byte words) with a byte of the palette here
        // and there, at every place in and between the words.
        let mut rng = crate::test_rng::Lcg(5);
        for _ in 0..100_000 {
            let n = rng.below(26);
            let b: Vec<u8> =
                (0..n).map(|_| if rng.below(4) == 0 { palette[rng.below(palette.len())] } else { b'7' }).collect();
            match ascii_or_cjk(&b) {
                Some(t) => assert_eq!(std::str::from_utf8(&b), Ok(t), "{b:x?}"),
                None => assert!(!b.is_ascii(), "{b:x?}"),
            }
            assert_eq!(ascii_or_cjk_as::<false>(&b), ascii_or_cjk(&b).filter(|_| !b.contains(&0)), "{b:x?}");
        }
        for s in ["张某华", "D000000001", "a户b\u{e000}", "52000019560707006X", "12345678张某华12345678x"] {
            assert_eq!(ascii_or_cjk(s.as_bytes()), Some(s));
        }
    }

    fn yuan(s: &str) -> String {
        money(s).map(|n| n.to_string()).unwrap_or_else(|_| "ERR".into())
    }

    #[test]
    fn money_spellings_of_the_data_dictionary() {
        assert_eq!(yuan("3500"), "3500");
        assert_eq!(yuan("3500.5"), "3500.5");
        assert_eq!(yuan("3,500"), "3500");
        assert_eq!(yuan("3500元"), "3500");
        assert_eq!(yuan("３５００"), "3500");
        assert_eq!(yuan(" 3500 "), "3500");
        assert_eq!(yuan("３，５００元"), "3500");
        assert_eq!(yuan("12,345.67"), "12345.67");
        assert_eq!(yuan("-120"), "-120");
        for bad in ["约3000", "N/A", "-", "3,50", "35,00", "1.234", "3500美元", "1e3", "."] {
            assert_eq!(yuan(bad), "ERR", "{bad}");
        }
    }

    #[test]
    fn plain_numbers_read_as_the_general_way_reads_them() {
        let general = |s: &str, decimals: usize| {
            let plain = strip_thousands(s)?;
            (plain.split_once('.').is_none_or(|(_, f)| f.len() <= decimals)).then_some(())?;
            Num::parse_decimal(&plain)
        };
        for s in [
            "0",
            "7",
            "3500",
            "3500.5",
            "3500.50",
            "0.05",
            "00012",
            "999999999999.99",
            "9999999999999",
            "123456789012345",
            "3500.",
            ".5",
            "3500.123",
            "-12",
            "+3",
            "1.2.3",
            "3,500",
            " 35",
            "3５",
            "",
            "1234567890123456",
        ] {
            for decimals in [0, 2] {
                if let Some(fast) = plain_decimal(s.as_bytes(), decimals) {
                    assert_eq!(Some(fast), general(s, decimals), "{s:?} with {decimals} decimals");
                }
            }
        }
        assert_eq!(int("4.0"), Ok(4), "the general way still reads 4.0");
        assert_eq!(int("12"), Ok(12));
        assert_eq!(money("3500.55").map(|n| n.to_string()), Ok("3500.55".to_string()));
    }

    #[test]
    fn blank_is_whitespace_only_whatever_the_first_byte() {
        for blank in ["", " ", "\t", "\u{3000}", "\u{feff}", "\u{a0}", " \u{3000} "] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in ["a", "户", "鿿", "䀀", " 户", "\u{3000}户", "０"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }

    #[test]
    fn ints_allow_point_zero_only() {
        assert_eq!(int("4"), Ok(4));
        assert_eq!(int("4.0"), Ok(4));
        assert_eq!(int("４"), Ok(4));
        assert_eq!(int("4人"), Ok(4));
        assert!(int("4.5").is_err());
        assert!(int("四").is_err());
    }

    #[test]
    fn bool_spellings() {
        for t in ["是", "有", "Y", "y", "1", "TRUE", "true", "√", "✓", " 是 "] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for f in ["否", "无", "N", "n", "0", "FALSE", "false", "×", "✗"] {
            assert_eq!(boolean(f), Ok(false), "{f}");
        }
        assert!(boolean("不详").is_err());
    }

    #[test]
    fn id_number_fast_path_agrees_with_the_general_way() {
        // A leading space sends a number through `normalize` and the general checks.
        let mut seed = 11u64;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut id: String = (0..17).map(|k| char::from(b'0' + ((seed >> (k * 3 % 60)) % 10) as u8)).collect();
            // Plausible birth dates often, so that the checksum is reached.
            if !seed.is_multiple_of(3) {
                id.replace_range(
                    6..14,
                    ["19680312", "20000229", "19000101", "18991231", "20230230"][(seed % 5) as usize],
                );
            }
            id.push(['0', '7', 'X', 'x', '9'][(seed >> 40) as usize % 5]);
            assert_eq!(id_number(&id), id_number(&format!(" {id}")), "{id}");
        }
    }

    #[test]
    fn id_numbers_are_checked() {
        assert_eq!(id_number("11010519491231002x"), Ok("11010519491231002X".into()));
        assert_eq!(id_number("520000196803120313"), Ok("520000196803120313".into()));
        assert_eq!(id_number("130503670401001"), Ok("130503670401001".into()), "old 15-digit form");
        assert!(id_number("520000196803120314").unwrap_err().contains("校验位"));
        assert!(id_number("440524188001010014").unwrap_err().contains("出生日期"), "born before 1900");
        assert!(id_number("440524188002300014").unwrap_err().contains("出生日期"));
        assert!(id_number("4405241880010100").unwrap_err().contains("18 位"));
        assert!(id_number("44052418800101001Y").is_err());
        // Found by the property tests: 18 bytes, not 18 characters (a slice inside '业' panicked).
        assert!(id_number("I:SJE(\n丘丁业HB").is_err());
        // Found by the fuzzer: 15 or 18 bytes of text that is not an ID number panicked in a slice.
        assert_eq!(birth_date("普通劳动力"), None);
        assert_eq!(birth_date("普通劳动力力"), None);
        assert_eq!(birth_date("11010519491231002X"), Date::new(1949, 12, 31));
        assert_eq!(birth_date("130503670401001"), Date::new(1967, 4, 1));
    }

    #[test]
    fn month_spellings() {
        let m = Date { year: 2023, month: 6, day: 1 }.month_index();
        for s in ["202306", "2023-06", "2023/6", "2023年6月", "2023-06-15", "45078", "2023.6", "２０２３年６月"]
        {
            assert_eq!(month(s), Ok(m), "{s}");
        }
        // Found by the fuzzer: dates outside the years of `2023-06` were taken (`9999-12-31`).
        for bad in ["2023", "202313", "2023-13", "六月", "2023年", "9999-12-31", "00010101", "1899-12-31"] {
            assert!(month(bad).is_err(), "{bad}");
        }
    }
}

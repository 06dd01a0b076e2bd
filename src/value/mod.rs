//! Exact numbers and calendar months.
//!
//! Money is read in fen and never touches binary floating point. While conditions are evaluated,
//! every number (money, counts, ratios) is a fixed-point `Num` in millionths: money in fen is
//! exact in it, and a ratio such as `0.7 × 上年人均纯收入` is exact too, so a comparison at a
//! boundary ("exactly 70 % of last year") is decided exactly.

pub mod cell;
pub mod idnum;

use std::fmt;

/// Millionths per unit.
pub const SCALE: i64 = 1_000_000;
/// Millionths per fen.
pub const FEN: i64 = SCALE / 100;

/// A fixed-point number in millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Num(pub i64);

impl Num {
    pub fn from_int(i: i64) -> Option<Num> {
        i.checked_mul(SCALE).map(Num)
    }
    pub fn from_fen(f: i64) -> Option<Num> {
        f.checked_mul(FEN).map(Num)
    }
    pub fn checked_add(self, o: Num) -> Option<Num> {
        self.0.checked_add(o.0).map(Num)
    }
    pub fn checked_sub(self, o: Num) -> Option<Num> {
        self.0.checked_sub(o.0).map(Num)
    }
    pub fn checked_mul(self, o: Num) -> Option<Num> {
        // The product in 64 bits when it fits (the usual case): the same quotient, without the
        // 128-bit division's library call.
        if let Some(p) = self.0.checked_mul(o.0) {
            return Some(Num(div_round64(p, SCALE)?));
        }
        let p = self.0 as i128 * o.0 as i128;
        i64::try_from(div_round(p, SCALE as i128)).ok().map(Num)
    }
    pub fn checked_div(self, o: Num) -> Option<Num> {
        if o.0 == 0 {
            return None;
        }
        if let Some(q) = self.0.checked_mul(SCALE).and_then(|p| div_round64(p, o.0)) {
            return Some(Num(q));
        }
        let p = self.0 as i128 * SCALE as i128;
        i64::try_from(div_round(p, o.0 as i128)).ok().map(Num)
    }
    pub fn checked_neg(self) -> Option<Num> {
        self.0.checked_neg().map(Num)
    }
    /// Rounded half away from zero to the fen ("half up" for the positive amounts of incomes).
    pub fn round_fen(self) -> Num {
        Num(div_round(self.0 as i128, FEN as i128) as i64 * FEN)
    }
    /// Whole units, if this is an integer.
    pub fn as_int(self) -> Option<i64> {
        (self.0 % SCALE == 0).then_some(self.0 / SCALE)
    }

    /// Parse a plain decimal (`-12`, `3937.50`, `0.3`) exactly; at most six decimals.
    pub fn parse_decimal(s: &str) -> Option<Num> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if frac.len() > 6 || (body.contains('.') && (int.is_empty() || frac.is_empty())) {
            return None;
        }
        let mut v: i64 = 0;
        for b in int.bytes() {
            v = v.checked_mul(10)?.checked_add((b - b'0') as i64)?;
        }
        v = v.checked_mul(SCALE)?;
        let mut f: i64 = 0;
        for b in frac.bytes() {
            f = f * 10 + (b - b'0') as i64;
        }
        f *= 10i64.pow(6 - frac.len() as u32);
        v = v.checked_add(f)?;
        Some(Num(if neg { -v } else { v }))
    }

    /// Number of decimals needed to show this value exactly.
    fn decimals(self) -> usize {
        let mut frac = (self.0 % SCALE).abs();
        if frac == 0 {
            return 0;
        }
        let mut d = 6;
        while frac % 10 == 0 {
            frac /= 10;
            d -= 1;
        }
        d
    }
}

/// [`div_round`] in 64 bits: `None` where a step would overflow (the caller then takes 128).
#[inline]
fn div_round64(n: i64, d: i64) -> Option<i64> {
    let (q, r) = (n.checked_div(d)?, n.checked_rem(d)?);
    if r.unsigned_abs() * 2 >= d.unsigned_abs() {
        if (n < 0) != (d < 0) {
            q.checked_sub(1)
        } else {
            q.checked_add(1)
        }
    } else {
        Some(q)
    }
}

fn div_round(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if r.abs() * 2 >= d.abs() {
        if (n < 0) != (d < 0) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

impl Num {
    /// Append the shortest exact form (as `Display`) without going through `fmt`.
    pub fn write_to(self, out: &mut String) {
        let a = self.0.unsigned_abs();
        if self.0 < 0 {
            out.push('-');
        }
        push_digits(out, a / SCALE as u64, 1);
        let d = self.decimals();
        if d > 0 {
            out.push('.');
            push_digits(out, a % SCALE as u64 / 10u64.pow(6 - d as u32), d);
        }
    }
}

/// Decimal digits of `n`, zero-padded to at least `width`.
pub fn push_digits(out: &mut String, mut n: u64, width: usize) {
    // One digit (a count, a zero): one character.
    if n < 10 && width <= 1 {
        return out.push((b'0' + n as u8) as char);
    }
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 || buf.len() - i < width {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // ASCII digits: valid UTF-8, copied at once (fewer instructions than a character at a time).
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

impl fmt::Display for Num {
    /// The shortest exact form: `4000`, `3937.5`, `0.3`, `-12.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let int = a / SCALE as u64;
        let d = self.decimals();
        if d == 0 {
            write!(f, "{sign}{int}")
        } else {
            let frac = a % SCALE as u64 / 10u64.pow(6 - d as u32);
            write!(f, "{sign}{int}.{frac:0d$}")
        }
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        (1..=12).contains(&month).then_some(())?;
        (day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }
    /// `YYYY-MM-DD`, a four-digit year (a larger one overflowed month arithmetic).
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().split('-');
        let y = it.next().filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        Date::new(y, m, d)
    }
    pub fn last_of_year(year: i32) -> Date {
        Date { year, month: 12, day: 31 }
    }
    /// Months since year 0: the unit in which months monitored are counted.
    pub fn month_index(self) -> i32 {
        self.year * 12 + self.month as i32 - 1
    }
    /// From an Excel serial day number (1900 date system; 1 = 1900-01-01, with Excel's
    /// fictitious 1900-02-29 accounted for).
    pub fn from_excel_serial(serial: i64) -> Option<Date> {
        if !(61..=2_958_465).contains(&serial) {
            return None;
        }
        // Days from 1970-01-01: Excel serial 25569 is 1970-01-01.
        Some(civil_from_days(serial - 25569))
    }
    /// From days since 1970-01-01 (for today's date, read from the clock by the caller).
    pub fn from_unix_days(days: i64) -> Date {
        civil_from_days(days)
    }
    /// Days since 1970-01-01.
    pub fn unix_days(self) -> i64 {
        let (y, m, d) = (self.year as i64 - i64::from(self.month <= 2), self.month as i64, self.day as i64);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
    /// The date `n` days later (earlier when negative).
    pub fn plus_days(self, n: i64) -> Date {
        civil_from_days(self.unix_days() + n)
    }
    /// The date of the last day of a quarter (`2024Q3` → 2024-09-30).
    pub fn quarter_end(year: i32, q: u32) -> Option<Date> {
        let month = match q {
            1..=4 => q * 3,
            _ => return None,
        };
        Date::new(year, month, days_in_month(year, month))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Bytes as lower-case hexadecimal (a SHA-256 digest as it is shown).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        push_digits_hex(&mut s, *b);
    }
    s
}

fn push_digits_hex(s: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    s.push(DIGITS[(b >> 4) as usize] as char);
    s.push(DIGITS[(b & 15) as usize] as char);
}

/// Show a month index (see [`Date::month_index`]) as `2024-06`.
pub fn fmt_month(m: i32) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

pub fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Date { year: (if m <= 2 { y + 1 } else { y }) as i32, month: m, day: d }
}

/// A count with thousands separators (`1234567` → `1,234,567`), for summaries people read; never
/// for a data cell of CSV, JSONL or XLSX output.
pub fn grouped(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    /// Multiplication and division in 64 bits where they fit: the 128-bit results, rounding and
    /// overflow included.
    #[test]
    fn products_and_quotients_in_64_bits_are_the_128_bit_ones() {
        let wide_mul =
            |a: Num, b: Num| i64::try_from(div_round(a.0 as i128 * b.0 as i128, SCALE as i128)).ok().map(Num);
        let wide_div = |a: Num, b: Num| {
            (b.0 != 0)
                .then(|| i64::try_from(div_round(a.0 as i128 * SCALE as i128, b.0 as i128)).ok().map(Num))
                .flatten()
        };
        let mut edges = vec![0, 1, -1, 2, -2, 499_999, 500_000, -500_000, 500_001, 1_500_000, -2_500_000, 3, 7];
        edges.extend([SCALE, -SCALE, 3 * SCALE, 4_000 * SCALE, 123_456_789, -987_654_321]);
        edges.extend([i64::MAX, i64::MIN, i64::MAX / SCALE, i64::MIN / SCALE, i64::MAX / SCALE + 1, i64::MAX / 2]);
        edges.extend([3_037_000_499, 3_037_000_500, -3_037_000_500, 9_223_372_036_854, 9_223_372_036_855]);
        for &a in &edges {
            for &b in &edges {
                let (a, b) = (Num(a), Num(b));
                assert_eq!(a.checked_mul(b), wide_mul(a, b), "{a:?} * {b:?}");
                assert_eq!(a.checked_div(b), wide_div(a, b), "{a:?} / {b:?}");
            }
        }
    }

    use super::*;

    #[test]
    fn days_round_trip_and_add() {
        for days in [-800_000i64, -1, 0, 59, 60, 11_016, 19_722, 20_000, 2_000_000] {
            assert_eq!(Date::from_unix_days(days).unix_days(), days);
        }
        let d = Date::new(2024, 2, 27).unwrap();
        assert_eq!(d.plus_days(4).to_string(), "2024-03-02");
        assert_eq!(Date::new(2024, 12, 29).unwrap().plus_days(4).to_string(), "2025-01-02");
    }

    #[test]
    fn write_to_prints_as_display() {
        for v in [0i64, 1, -1, 5, 40_000_000, 3_937_500_000, 300_000, -12_050_000, 123_456, i64::MAX, i64::MIN + 1] {
            let n = Num(v);
            let mut s = String::new();
            n.write_to(&mut s);
            assert_eq!(s, n.to_string(), "{v}");
        }
    }

    #[test]
    fn decimals_parse_and_print_exactly() {
        assert_eq!(Num::parse_decimal("3937.50"), Some(Num(3_937_500_000)));
        assert_eq!(Num::parse_decimal("0.3").unwrap().to_string(), "0.3");
        assert_eq!(Num::parse_decimal("-12.05").unwrap().to_string(), "-12.05");
        assert_eq!(Num::parse_decimal("4000").unwrap().to_string(), "4000");
        assert_eq!(Num::parse_decimal("1."), None);
        assert_eq!(Num::parse_decimal(".5"), None);
        assert_eq!(Num::parse_decimal("1.2345678"), None);
        assert_eq!(Num::parse_decimal("1e3"), None);
    }

    #[test]
    fn seventy_percent_of_last_year_is_exact() {
        let ratio = Num::parse_decimal("0.7").unwrap();
        let prev = Num::parse_decimal("5714.29").unwrap();
        assert_eq!(ratio.checked_mul(prev).unwrap(), Num::parse_decimal("4000.003").unwrap());
    }

    #[test]
    fn rounding_to_the_fen_is_half_up() {
        let third = Num::from_int(10000).unwrap().checked_div(Num::from_int(3).unwrap());
        assert_eq!(third.unwrap().round_fen().to_string(), "3333.33");
        let x = Num::parse_decimal("2.005").unwrap();
        assert_eq!(x.round_fen().to_string(), "2.01");
        assert_eq!(Num::parse_decimal("-2.005").unwrap().round_fen().to_string(), "-2.01");
    }

    #[test]
    fn excel_serials_and_quarters() {
        assert_eq!(Date::from_excel_serial(45078), Date::new(2023, 6, 1));
        assert_eq!(Date::from_excel_serial(25569), Date::new(1970, 1, 1));
        assert_eq!(Date::quarter_end(2024, 3), Date::new(2024, 9, 30));
        assert_eq!(Date::quarter_end(2024, 1), Date::new(2024, 3, 31));
        assert_eq!(Date::new(2023, 2, 29), None);
        assert_eq!(Date::parse("2024-02-29"), Date::new(2024, 2, 29));
        assert_eq!(Date::parse("2147483647-01-01"), None);
        assert_eq!(Date::parse("+2024-01-01"), None);
        assert_eq!(fmt_month(Date::new(2024, 6, 3).unwrap().month_index()), "2024-06");
    }
}

/// A stand-in file's name as messages give it (`标准输入` for the spool of standard input, see
/// `input::stdin`), in place of its temporary path.
static NAMED: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

/// Messages name the file at `path` `name` from now on ([`shown_path`]), until [`forget_path`].
pub fn name_path(path: &std::path::Path, name: &str) {
    NAMED.lock().unwrap_or_else(|p| p.into_inner()).push((path.to_path_buf(), name.to_string()));
}

/// The name [`name_path`] gave the file at `path`, if any.
pub fn path_name(path: &std::path::Path) -> Option<String> {
    NAMED.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(q, _)| q == path).map(|(_, n)| n.clone())
}

/// Undo [`name_path`] (the stand-in file is gone).
pub fn forget_path(path: &std::path::Path) {
    NAMED.lock().unwrap_or_else(|p| p.into_inner()).retain(|(p, _)| p != path);
}

/// A path as people write it. On Windows `canonicalize` gives the verbatim form `\\?\C:\…`
/// (`\\?\UNC\server\…` for a share), shown as `C:\…` (`\\server\…`); a stand-in file by its
/// name ([`name_path`]); any other path as it is.
pub fn shown_path(p: &std::path::Path) -> String {
    if let Some((_, name)) = NAMED.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(q, _)| q == p) {
        return name.clone();
    }
    let s = p.display().to_string();
    if let Some(share) = s.strip_prefix(r"\\?\UNC\") {
        return format!(r"\\{share}");
    }
    match s.strip_prefix(r"\\?\") {
        Some(drive) if drive.as_bytes().get(1) == Some(&b':') => drive.to_string(),
        _ => s,
    }
}

#[cfg(test)]
mod path_tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn verbatim_windows_paths_are_shown_as_people_write_them() {
        for (path, shown) in [
            (r"\\?\C:\台账\规则.toml", r"C:\台账\规则.toml"),
            (r"\\?\UNC\server\share\a.toml", r"\\server\share\a.toml"),
            (r"\\?\Volume{x}\a.toml", r"\\?\Volume{x}\a.toml"),
            ("/tmp/扶贫 台账/a.toml", "/tmp/扶贫 台账/a.toml"),
        ] {
            assert_eq!(shown_path(Path::new(path)), shown, "{path}");
        }
    }
}

//! Personal numbers out: the one place that knows what an ID number or a mobile number looks like
//! and how it is masked. Every text that leaves the program (output cells, reasons, problems,
//! `check` screens, `adjust` lists, messages) passes through [`mask_text`] unless `--show-ids`;
//! an ID column's own cells are masked whole by [`mask_id`]. The 户编号 column is never masked.
//!
//! In free text an ID number is a group of 15 or 18 digits (the 18th may be X) whose birth date is
//! plausible (positions 7–14 `yyyymmdd`, or 7–12 `yymmdd` for 15 digits), also as the first 18 of
//! the 20- and 22-digit 残疾人证 numbers; a mobile number is 11 digits starting 13–19 (optionally
//! after 86). Digits may be ASCII or full-width, X upper or lower case or full-width, and single
//! spaces (ASCII or ideographic) or hyphens may stand between digits. Masked: ID numbers keep their
//! first 6 and last 4 characters, mobile numbers their first 3 and last 4; separators stay.

use std::borrow::Cow;

/// Mask an ID column's cell: `430524********1234`. A value shorter than an ID (an invalid one, cut
/// off) keeps only its first 6 characters, so that no more than 10 of its characters ever show;
/// one shorter than 10 is masked whole.
pub fn mask_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    mask_id_into(&mut out, s);
    out
}

/// As [`mask_id`], appended to `out` (the CSV writer's reused buffer).
pub fn mask_id_into(out: &mut String, s: &str) {
    if s.is_ascii() {
        let n = s.len();
        let (head, tail) = keep(n);
        out.push_str(&s[..head]);
        let stars = n - head - tail;
        match STARS.get(..stars) {
            Some(run) => out.push_str(run),
            None => out.extend(std::iter::repeat_n('*', stars)),
        }
        out.push_str(&s[n - tail..]);
        return;
    }
    let n = s.chars().count();
    let (head, tail) = keep(n);
    for (i, c) in s.chars().enumerate() {
        out.push(if i < head || i >= n - tail { c } else { '*' });
    }
}

/// The stars of a masked ID number (8 in an 18-digit one), copied at once.
const STARS: &str = "****************";

fn keep(n: usize) -> (usize, usize) {
    match n {
        15.. => (6, 4),
        10.. => (6, 0),
        _ => (0, 0),
    }
}

/// `s` with every ID and mobile number in it masked; borrowed when there is none (the usual case,
/// found by looking at one byte in eleven).
pub fn mask_text(s: &str) -> Cow<'_, str> {
    mask_text_keeping(s, "")
}

/// As [`mask_text`], but a group of digits that is exactly `keep` (the household's 户编号, shown
/// in a `check` screen) is left as it is.
pub fn mask_text_keeping<'s>(s: &'s str, keep: &str) -> Cow<'s, str> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `s` already in `out`
    let mut i = 0;
    while let Some((start, end)) = next_run(b, i) {
        i = end;
        // Every digit of a group (ASCII, or full-width: EF BC 90–99) has one byte in 30–39 or
        // 90–99, and a personal number has at least 11 digits: a run with fewer such bytes (a
        // date, `〔2021〕7`) holds none, and is not taken apart.
        if b[start..end].iter().filter(|&&c| matches!(c, b'0'..=b'9' | 0x90..=0x99)).count() < MIN_DIGITS {
            continue;
        }
        for g in Groups::new(b, start, end) {
            let Some((kind, with_x)) = classify(&g) else { continue };
            let units = if g.x && !with_x { &g.units[..g.units.len() - 1] } else { &g.units[..] };
            let (last, last_len) = units[units.len() - 1];
            let text = &s[units[0].0 as usize..last as usize + last_len as usize];
            if !keep.is_empty() && text == keep {
                continue;
            }
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            let (head, tail) = match kind {
                Kind::Id => (6, 4),
                Kind::Mobile => (3, 4),
                Kind::Mobile86 => (5, 4),
            };
            let n = units.len();
            for (k, &(pos, len)) in units.iter().enumerate() {
                if k >= head && k + tail < n {
                    o.push_str(&s[copied..pos as usize]);
                    o.push('*');
                    copied = pos as usize + len as usize;
                }
            }
        }
    }
    match out {
        None => Cow::Borrowed(s),
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Bytes that can be part of a group: ASCII digits, space, `-`, x, X, and the bytes of full-width
/// digits (EF BC 90–99), full-width X (EF BC B8, EF BD 98) and the ideographic space (E3 80 80).
static IN_RUN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    let mut c = 0x90;
    while c <= 0x99 {
        t[c] = true;
        c += 1;
    }
    let extra = [b' ', b'-', b'x', b'X', 0xEF, 0xBC, 0xBD, 0xB8, 0xE3, 0x80];
    let mut k = 0;
    while k < extra.len() {
        t[extra[k] as usize] = true;
        k += 1;
    }
    t
};

/// The shortest group that can be a personal number: 11 digits, each at least a byte. A shorter
/// text needs no look.
pub const SHORTEST: usize = 11;
const MIN_RUN: usize = SHORTEST;
/// The fewest digits of a personal number (a mobile number; [`kind_of`] names none shorter).
const MIN_DIGITS: usize = 11;

/// The next maximal run of [`IN_RUN`] bytes of at least [`MIN_RUN`] bytes at or after `i`, as a
/// byte range. Probes one byte in eleven: a byte outside the set rules out every run through it.
#[inline]
fn next_run(b: &[u8], mut i: usize) -> Option<(usize, usize)> {
    while i + MIN_RUN <= b.len() {
        let p = i + MIN_RUN - 1;
        // A byte outside the set, or inside a character that cannot be part of a group (the
        // Chinese text around the numbers: a fifth of its continuation bytes are in the set),
        // rules out every group through it; a group that starts in i..=p would run through p.
        if !IN_RUN[b[p] as usize] || !in_group_char(b, p) {
            i = p + 1;
            continue;
        }
        let mut start = p;
        while start > i && IN_RUN[b[start - 1] as usize] {
            start -= 1;
        }
        let mut end = p + 1;
        while end < b.len() && IN_RUN[b[end] as usize] {
            end += 1;
        }
        if end - start >= MIN_RUN {
            return Some((start, end));
        }
        i = end + 1;
    }
    None
}

/// Whether the character holding byte `p` (one of [`IN_RUN`]) can be part of a group: an ASCII
/// byte, or a byte of a full-width digit or X (EF BC 90–99, EF BC B8, EF BD 98) or of the
/// ideographic space (E3 80 80).
#[inline]
fn in_group_char(b: &[u8], p: usize) -> bool {
    let c = b[p];
    if c < 0x80 {
        return true;
    }
    // The character's first byte: a group character has three bytes, led by EF or E3.
    let lead = if c >= 0xC0 {
        p
    } else if p >= 1 && b[p - 1] >= 0xC0 {
        p - 1
    } else if p >= 2 && b[p - 2] >= 0xC0 {
        p - 2
    } else {
        return false;
    };
    matches!(
        (b[lead], b.get(lead + 1), b.get(lead + 2)),
        (0xEF, Some(0xBC), Some(0x90..=0x99 | 0xB8)) | (0xEF, Some(0xBD), Some(0x98)) | (0xE3, Some(0x80), Some(0x80))
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Digit(u8),
    Sep,
    X,
    Other,
}

/// The token at `k` and its length in bytes.
fn tok(b: &[u8], k: usize) -> (Tok, usize) {
    match b[k] {
        c @ b'0'..=b'9' => (Tok::Digit(c - b'0'), 1),
        b' ' | b'-' => (Tok::Sep, 1),
        b'x' | b'X' => (Tok::X, 1),
        0xEF => match (b.get(k + 1), b.get(k + 2)) {
            (Some(0xBC), Some(&c @ 0x90..=0x99)) => (Tok::Digit(c - 0x90), 3),
            (Some(0xBC), Some(0xB8)) | (Some(0xBD), Some(0x98)) => (Tok::X, 3),
            _ => (Tok::Other, 1),
        },
        0xE3 if b.get(k + 1) == Some(&0x80) && b.get(k + 2) == Some(&0x80) => (Tok::Sep, 3),
        _ => (Tok::Other, 1),
    }
}

/// A group: digits with single separators between them, maybe ending in X. `units` holds each
/// digit's (and the X's) byte position and length; `digits` the digit values, `parts` where the
/// separator-free parts start (indices into `units`).
struct Group {
    units: Vec<(u32, u8)>,
    digits: Vec<u8>,
    x: bool,
    parts: Vec<usize>,
}

struct Groups<'b> {
    b: &'b [u8],
    k: usize,
    end: usize,
}

impl Groups<'_> {
    fn new(b: &[u8], start: usize, end: usize) -> Groups<'_> {
        Groups { b, k: start, end }
    }
}

impl Groups<'_> {
    /// Walk the group that starts with a digit at `k`: `visit(token, position, length, starts a
    /// new part)` for each of its digits and its final X; returns where it ends.
    #[inline]
    fn walk(b: &[u8], mut k: usize, mut visit: impl FnMut(Tok, usize, usize, bool)) -> usize {
        let mut new_part = false;
        while k < b.len() {
            match tok(b, k) {
                (t @ Tok::Digit(_), l) => {
                    visit(t, k, l, new_part);
                    new_part = false;
                    k += l;
                }
                (Tok::Sep, l) if k + l < b.len() && matches!(tok(b, k + l).0, Tok::Digit(_)) => {
                    new_part = true;
                    k += l;
                }
                (Tok::X, l) => {
                    visit(Tok::X, k, l, false);
                    return k + l;
                }
                _ => break,
            }
        }
        k
    }
}

impl Iterator for Groups<'_> {
    type Item = Group;

    fn next(&mut self) -> Option<Group> {
        let b = &self.b[..self.end];
        while self.k < b.len() {
            let (t, len) = tok(b, self.k);
            if !matches!(t, Tok::Digit(_)) {
                self.k += len;
                continue;
            }
            // Count first: most groups are short numbers, kept without building anything.
            let mut units = 0;
            let end = Groups::walk(b, self.k, |_, _, _, _| units += 1);
            let start = std::mem::replace(&mut self.k, end);
            if units < MIN_RUN {
                continue;
            }
            let mut g =
                Group { units: Vec::with_capacity(units), digits: Vec::with_capacity(units), x: false, parts: vec![0] };
            Groups::walk(b, start, |t, k, l, new_part| {
                if new_part {
                    g.parts.push(g.units.len());
                }
                g.units.push((k as u32, l as u8));
                match t {
                    Tok::Digit(d) => g.digits.push(d),
                    _ => g.x = true,
                }
            });
            return Some(g);
        }
        None
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Id,
    Mobile,
    Mobile86,
}

/// What a group is, and whether its final X belongs to the number: judged on the whole group,
/// then on each of its separator-free parts (an ID written after a year and a space is still an
/// ID; the whole group is then masked as one, since the separators do not tell where it starts).
fn classify(g: &Group) -> Option<(Kind, bool)> {
    if let Some(k) = kind_of(&g.digits, g.x) {
        return Some(k);
    }
    if g.parts.len() > 1 {
        let ends = g.parts[1..].iter().copied().chain([g.digits.len()]);
        for (&s, e) in g.parts.iter().zip(ends) {
            if let Some((_, x)) = kind_of(&g.digits[s..e], e == g.digits.len() && g.x) {
                return Some((Kind::Id, x));
            }
        }
    }
    None
}

/// The kind of a number of these digits, followed by an X or not; and whether the X is part of it
/// (17 digits and X: an ID; any other number followed by an x is judged without it).
fn kind_of(d: &[u8], x: bool) -> Option<(Kind, bool)> {
    let n = d.len();
    let birth8 = |d: &[u8]| {
        let y = num(&d[6..10]);
        (1880..=2100).contains(&y) && month_day(num(&d[10..12]), num(&d[12..14]))
    };
    if x && n == 17 && birth8(d) {
        return Some((Kind::Id, true));
    }
    let kind = match n {
        18 | 20 | 22 if birth8(d) => Kind::Id,
        15 if month_day(num(&d[8..10]), num(&d[10..12])) => Kind::Id,
        23.. => Kind::Id,
        11 if d[0] == 1 && d[1] >= 3 => Kind::Mobile,
        13 if d[0] == 8 && d[1] == 6 && d[2] == 1 && d[3] >= 3 => Kind::Mobile86,
        _ => return None,
    };
    Some((kind, false))
}

fn num(d: &[u8]) -> u32 {
    d.iter().fold(0, |n, &x| n * 10 + x as u32)
}

fn month_day(m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_masked_whatever_their_characters() {
        assert_eq!(mask_id("520000196803120313"), "520000********0313");
        assert_eq!(mask_id("130503670401001"), "130503*****1001");
        assert_eq!(mask_id("5200001968"), "520000****", "an ID cut to 10 characters shows 6");
        assert_eq!(mask_id("52000019680312"), "520000********");
        assert_eq!(mask_id("123456789"), "*********");
        assert_eq!(mask_id("５２００００１９６８０３１２０３１３"), "５２００００********０３１３");
        assert_eq!(mask_id("户编号１２３"), "******");
    }

    #[test]
    fn personal_numbers_in_free_text_are_masked() {
        assert_eq!(mask_text("520000196803120313"), "520000********0313");
        assert_eq!(mask_text("11010519491231002X"), "110105********002X");
        assert_eq!(mask_text("11010519491231002x"), "110105********002x");
        assert_eq!(mask_text("13812345678"), "138****5678");
        assert_eq!(mask_text("电话：138 1234 5678。"), "电话：138 **** 5678。");
        assert_eq!(mask_text("+86 13812345678"), "+86 138****5678");
        assert_eq!(
            mask_text("户主 ５２００００１９６８０３１２０３１Ｘ 已核"),
            "户主 ５２００００********０３１Ｘ 已核"
        );
        assert_eq!(mask_text("130503670401001"), "130503*****1001");
        assert_eq!(mask_text("证号 5200 0019 6803 1203 13"), "证号 5200 00** **** **03 13");
        assert_eq!(mask_text("2020 520000196803120313"), "2020 52************0313");
        assert_eq!(mask_text("残疾人证 52000019680312031342"), "残疾人证 520000**********1342");
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for s in [
            "户编号",
            "5200010101001",
            "人均纯收入 3850 ≤ 扶贫标准 4000（2020年）",
            "第12345678901行",
            "12345678901",
            "520000000000000000",
            "1500 2000 3000 4000",
            "合规自付医疗支出+教育支出+其他刚性支出 12000 > 家庭人口数×上年人均纯收入 11000",
            "",
            "１２３４５",
        ] {
            assert_eq!(mask_text(s), s, "{s}");
            assert!(matches!(mask_text(s), Cow::Borrowed(_)));
        }
        assert_eq!(mask_text_keeping("户 13812345678 的", "13812345678"), "户 13812345678 的");
    }

    /// A plausible ID number: a region, a birth date, a sequence, a check character.
    fn id_number() -> impl Strategy<Value = String> {
        (110000u32..660000, 1900u32..2026, 1u32..=12, 1u32..=28, 0u32..1000, prop_oneof!["[0-9]", "[xX]"])
            .prop_map(|(r, y, m, d, s, c)| format!("{r:06}{y:04}{m:02}{d:02}{s:03}{c}"))
    }

    fn mobile() -> impl Strategy<Value = String> {
        (3u8..=9, 0u64..1_000_000_000).prop_map(|(b, r)| format!("1{b}{r:09}"))
    }

    /// The number spelt as people type it: each digit ASCII or full-width, x as x, X, ｘ or Ｘ,
    /// single spaces (ASCII or ideographic) or hyphens at some places between digits.
    fn spelt(n: String, wide: Vec<bool>, seps: Vec<u8>) -> String {
        let mut out = String::new();
        let chars: Vec<char> = n.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let w = wide[i % wide.len()];
            out.push(match (c, w) {
                (d @ '0'..='9', true) => char::from_u32(0xFF10 + (*d as u32 - '0' as u32)).unwrap(),
                ('x' | 'X', true) => {
                    if i % 2 == 0 {
                        'Ｘ'
                    } else {
                        'ｘ'
                    }
                }
                (c, _) => *c,
            });
            if i + 1 < chars.len() && chars[i + 1].is_ascii_digit() {
                match seps[i % seps.len()] {
                    1 => out.push(' '),
                    2 => out.push('\u{3000}'),
                    3 => out.push('-'),
                    _ => {}
                }
            }
        }
        out
    }

    /// Digits of a text, ASCII, separators dropped.
    fn digits(s: &str) -> String {
        s.chars()
            .filter_map(|c| match c {
                '0'..='9' => Some(c),
                '０'..='９' => char::from_u32(c as u32 - 0xFF10 + '0' as u32),
                _ => None,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn generated_ids_and_mobiles_never_survive(
            id in id_number(),
            phone in mobile(),
            wide in proptest::collection::vec(any::<bool>(), 1..4),
            seps in proptest::collection::vec(prop_oneof![6 => Just(0u8), 1 => 1u8..=3], 1..6),
            before in "[a-zX户主姓名电话：（），。 -]{0,6}",
            after in "[a-zX户主姓名电话：（），。 -]{0,6}",
        ) {
            for n in [id.clone(), phone.clone(), id[..6].to_string() + &id[8..17]] {
                let text = format!("{before}{}{after}", spelt(n.clone(), wide.clone(), seps.clone()));
                let masked = mask_text(&text);
                prop_assert!(digits(&masked).len() <= 10, "{text} → {masked}");
                prop_assert!(masked.contains(&before) || before.trim().is_empty());
            }
        }
    }
}

//! ID numbers as keys for comparing department lists with households (精准比对): every spelling
//! of a resident ID number that real lists hold brought to one integer.
//!
//! Accepted: the 18-character form with a valid birth date and check character (GB 11643),
//! the old 15-digit form (upgraded to 18: `19` inserted before the year, check character
//! computed), full-width digits, a lower-case `x`, spaces or hyphens between digits, Excel's
//! text marker `'` and a trailing `.0`. An ID that Excel has turned into a number
//! (`5.20101199001011E+17`, or 18 digits ending `000` whose check character fails) has lost its
//! last digits: [`Id::Mangled`], never matched. Anything else is [`Id::Invalid`] with the reason.

use crate::value::cell;

/// What a cell holding an ID number turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Id {
    /// A valid ID number, as its key ([`key_text`] gives the 18 characters back).
    Valid(u64),
    /// A number Excel made of an ID: its last digits are lost.
    Mangled,
    /// Not an ID number: why.
    Invalid(String),
}

/// The message for an ID that Excel turned into a number.
pub const MANGLED: &str = "Excel 已把身份证号变成数字，末几位已丢失，此行无法比对";

const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(W).map(|(c, w)| (c - b'0') as u32 * w).sum();
    b"10X98765432"[(sum % 11) as usize]
}

/// Normalise a cell that should hold an ID number. `None` for a blank cell.
pub fn parse(raw: &str) -> Option<Id> {
    let t = cell::normalize(raw);
    let mut s: String = t.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '\u{3000}').collect();
    if let Some(rest) = s.strip_prefix('\'') {
        s = rest.to_string();
    }
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_suffix(".0") {
        if rest.bytes().all(|b| b.is_ascii_digit()) {
            s.truncate(rest.len());
        }
    }
    s.make_ascii_uppercase();
    if scientific(&s) {
        return Some(Id::Mangled);
    }
    let b = s.as_bytes();
    let digits = |x: &[u8]| x.iter().all(u8::is_ascii_digit);
    let eighteen: Vec<u8> = match b.len() {
        15 if digits(b) => {
            let mut v = Vec::with_capacity(18);
            v.extend_from_slice(&b[..6]);
            v.extend_from_slice(b"19");
            v.extend_from_slice(&b[6..]);
            let c = check_char(&v);
            v.push(c);
            v
        }
        18 if digits(&b[..17]) && (b[17].is_ascii_digit() || b[17] == b'X') => b.to_vec(),
        n if digits(b) && n > 15 && n < 18 => {
            return Some(Id::Invalid(format!("身份证号码应为 18 位（或旧式 15 位），此处为 {n} 位")))
        }
        _ => {
            return Some(match cell::id_number(&s) {
                Err(m) => Id::Invalid(m),
                Ok(_) => Id::Invalid("不是身份证号码".into()),
            })
        }
    };
    let text = std::str::from_utf8(&eighteen).unwrap_or_default();
    match cell::id_number(text) {
        Ok(_) => Some(Id::Valid(key_of(&eighteen))),
        // Excel keeps 15 significant digits: the last three become 0.
        Err(_) if b.len() == 18 && b.ends_with(b"000") => Some(Id::Mangled),
        Err(m) => Some(Id::Invalid(m)),
    }
}

/// Whether `s` is a number in Excel's scientific notation (`5.20101199001011E+17`).
fn scientific(s: &str) -> bool {
    let Some((mantissa, exp)) = s.split_once('E') else { return false };
    let exp = exp.strip_prefix('+').unwrap_or(exp);
    !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().any(|b| b.is_ascii_digit())
        && !exp.is_empty()
        && exp.bytes().all(|b| b.is_ascii_digit())
}

/// The key of a valid 18-character ID: its first 17 digits times 11 plus the check character's
/// value (X is 10), below 1.1 × 10^18.
fn key_of(b: &[u8]) -> u64 {
    let body = b[..17].iter().fold(0u64, |v, &c| v * 10 + (c - b'0') as u64);
    let check = if b[17] == b'X' { 10 } else { (b[17] - b'0') as u64 };
    body * 11 + check
}

/// The 18 characters of a key.
pub fn key_text(key: u64) -> String {
    let (body, check) = (key / 11, key % 11);
    let mut s = format!("{body:017}");
    s.push(if check == 10 { 'X' } else { (b'0' + check as u8) as char });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "52000020140901003X";

    fn key(s: &str) -> u64 {
        match parse(s) {
            Some(Id::Valid(k)) => k,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn every_spelling_of_one_id_is_one_key() {
        // A valid check character for the test ID.
        let b = ID.as_bytes();
        assert_eq!(check_char(&b[..17]), b'X');
        let k = key(ID);
        assert_eq!(key_text(k), ID);
        for s in [
            "52000020140901003x",
            " 520000 20140901 003X ",
            "５２００００２０１４０９０１００３Ｘ",
            "'52000020140901003X",
            "520000-20140901-003X",
            "\t52000020140901003X\u{3000}",
        ] {
            assert_eq!(key(s), k, "{s}");
        }
    }

    #[test]
    fn fifteen_digits_upgrade_to_eighteen() {
        // 520000 680510 001 → 520000 19680510 001 + check 7.
        let k = key("520000680510001");
        assert_eq!(key_text(k), "520000196805100017");
        assert_eq!(key("520000680510001.0"), k);
        assert_eq!(key("520000196805100017"), k);
    }

    #[test]
    fn excel_numbers_are_mangled_not_invalid() {
        assert_eq!(parse("5.20101199001011E+17"), Some(Id::Mangled));
        assert_eq!(parse("5.20101E+17"), Some(Id::Mangled));
        assert_eq!(parse("520101199001011000"), Some(Id::Mangled));
        // 18 digits ending 000 whose check digit is right is a real ID.
        let mut v = b"52010119900101100".to_vec();
        let c = check_char(&v);
        v.push(c);
        if c == b'0' {
            assert!(matches!(parse(std::str::from_utf8(&v).unwrap()), Some(Id::Valid(_))));
        }
    }

    #[test]
    fn invalid_ids_say_why_and_blanks_are_none() {
        assert_eq!(parse("  "), None);
        assert_eq!(parse(""), None);
        for s in ["520000201409010031", "5200002014090100", "abc", "52000020141301003X", "张三", "52000020140901003Y"]
        {
            assert!(matches!(parse(s), Some(Id::Invalid(_))), "{s}: {:?}", parse(s));
        }
    }

    #[test]
    fn keys_are_distinct_and_round_trip() {
        let mut rng = crate::test_rng::Lcg(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let mut v: Vec<u8> = format!(
                "5201{:02}19{:02}{:02}{:02}{:03}",
                rng.below(99),
                50 + rng.below(50),
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(1000)
            )
            .into_bytes();
            let c = check_char(&v);
            v.push(c);
            let s = String::from_utf8(v).unwrap();
            let k = key(&s);
            assert_eq!(key_text(k), s);
            seen.insert((k, s));
        }
        let keys: std::collections::HashSet<u64> = seen.iter().map(|x| x.0).collect();
        assert_eq!(keys.len(), seen.len());
    }
}

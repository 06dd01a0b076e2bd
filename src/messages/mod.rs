//! The program's own words in English (`--lang en`, `TUOPIN_LANG=en`): a catalogue keyed by the
//! Chinese source text, applied where text leaves the program.
//!
//! # Design
//!
//! Messages are written in Chinese where they arise, as before, and translated on the way out:
//! gettext's design, with the Chinese template as the key (`"缺少列：{}" = "missing column: {}"`
//! in [`en.toml`](en.toml), the one file a translator edits). The places text leaves the program
//! are few: every `eprintln!`/`eprint!`/`println!`/`print!` of the crate is the crate's own macro
//! (src/lib.rs), which passes the line through [`tr`]; an error is translated cause by cause where
//! src/lib.rs prints it; `check`'s screen and its interview prompts, and the progress bar's
//! template, call [`tr`] themselves. No call site changes, so a message added anywhere needs only
//! its catalogue entry — and the tests fail until it has one: `messages::tests` scans the source
//! for the format strings of `eprintln!`, `bail!`, `anyhow!`, `#[error]`, `.context` … (and any
//! literal beginning 警告：/注意：) without an entry, and for entries whose message the source no
//! longer has; tests/cli/english.rs runs the error cases of tests/cli/language.rs with `--lang en`
//! and fails on a Chinese character outside the values. A `t!` macro at every call site was the
//! other design: it touches every message of some 60 files that other work edits at the same
//! time, and a message without the macro is silently Chinese. The module is the lowest layer, so
//! that the macros (and the rule-file parser, which keeps the TOML parser's English) may use it
//! from any module.
//!
//! # Matching
//!
//! A printed text is matched against the keys, the one with the most literal characters first: a
//! key's `{}` matches any text (shortest first, backtracking), and that text — a file name, a
//! column header, a rule file's label, or another message — is translated the same way when it is
//! itself a message, else carried unchanged. So nested messages (`无法读取规则文件 {}：{}` around
//! an operating-system error) translate piece by piece, and data and rule-file words (不愁吃, a
//! column named 人均纯收入) stay as the user wrote them. Details:
//! - Lines are matched without their indentation and line breaks at either end, which are kept
//!   (and colour codes: the words between them are matched alone); a key's own are left out too.
//! - A text of several lines is one message only when a key has several lines too; else each
//!   line is matched alone (`check`'s screen is many messages).
//! - A key without a Chinese word of its own (`{}：{}`, which joins a file name to a message) is
//!   tried on a whole line only, and used only when one of its values is a message: a rule
//!   file's text keeps its punctuation.
//! - A list of ASCII names the program joined with 、 is joined with ", ".
//! - A text that matches no key is printed as it is (in Chinese): the tests make that a failure,
//!   not the program. Two placeholders side by side (`{}{}`) split at the first possibility, so
//!   the second value of such a key may stay Chinese.
//!
//! Results (CSV and workbook columns, reasons, notices) are in the rule file's language and are
//! never translated.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The catalogue: TOML, each line `"中文模板" = "English"`.
pub const CATALOGUE: &str = include_str!("en.toml");

static ENGLISH: AtomicBool = AtomicBool::new(false);

/// Speak English from now on (`--lang en`), or Chinese.
pub fn set_english(on: bool) {
    ENGLISH.store(on, Ordering::Relaxed);
}

pub fn english() -> bool {
    ENGLISH.load(Ordering::Relaxed)
}

/// One piece of an English text: words, or the value of the key's placeholder `n`.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Arg(usize),
}

/// One catalogue entry: the key split at its placeholders, and the English.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key as written in the catalogue.
    pub key: String,
    /// The key's literal parts: one more than it has placeholders.
    pub parts: Vec<String>,
    english: Vec<Piece>,
    /// Characters of the key outside its placeholders: the more, the earlier it is tried.
    weight: usize,
    /// Whether the key has a Chinese word (not only punctuation around its placeholders).
    worded: bool,
}

/// The literal parts of a template: `{}` (or `{name}`, `{:02}` …) is a placeholder, `{{` and `}}`
/// are braces. Errors name an unpaired brace.
pub fn split_template(t: &str) -> Result<Vec<String>, String> {
    let mut parts = vec![String::new()];
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                parts.last_mut().unwrap().push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                parts.last_mut().unwrap().push('}');
            }
            '{' => {
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    if d == '{' {
                        return Err(format!("“{t}”：占位符中有“{{”"));
                    }
                }
                parts.push(String::new());
            }
            '}' => return Err(format!("“{t}”：多余的“}}”（字面的花括号写作 }}}}）")),
            c => parts.last_mut().unwrap().push(c),
        }
    }
    Ok(parts)
}

/// The English side: `{}` takes the next placeholder, `{0}`, `{1}` … a given one.
fn english_pieces(key: &str, e: &str, args: usize) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut next = 0;
    let mut chars = e.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut inside = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    inside.push(d);
                }
                let n = if inside.is_empty() {
                    next += 1;
                    next - 1
                } else {
                    inside.parse().map_err(|_| format!("“{key}”：英文中的占位符 {{{inside}}} 应为 {{}} 或 {{序号}}"))?
                };
                if n >= args {
                    return Err(format!("“{key}”：英文用了第 {} 个占位符，中文只有 {args} 个", n + 1));
                }
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Arg(n));
            }
            '}' => return Err(format!("“{key}”：英文中有多余的“}}”")),
            c => text.push(c),
        }
    }
    pieces.push(Piece::Text(text));
    for n in 0..args {
        if !pieces.contains(&Piece::Arg(n)) {
            return Err(format!("“{key}”：英文没有用第 {} 个占位符（值须原样带出）", n + 1));
        }
    }
    pieces.retain(|p| p != &Piece::Text(String::new()));
    Ok(pieces)
}

/// The catalogue read from its TOML text, the entries with the most literal characters first.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("en.toml：{e}"))?;
    let mut entries = Vec::new();
    for (key, value) in table {
        let toml::Value::String(e) = value else { return Err(format!("“{key}”：英文应为字符串")) };
        let mut parts = split_template(&key)?;
        // Lines are matched without their indentation and line breaks at either end (they are put
        // back as printed): a key's and its English's are left out there too.
        let lead = parts[0].len() - parts[0].trim_start().len();
        parts[0] = parts[0].trim_start().to_string();
        let last = parts.len() - 1;
        let trail = parts[last].len() - parts[last].trim_end().len();
        parts[last] = parts[last].trim_end().to_string();
        let e = match (lead > 0, trail > 0) {
            (true, true) => e.trim(),
            (true, false) => e.trim_start(),
            (false, true) => e.trim_end(),
            (false, false) => e.as_str(),
        }
        .to_string();
        let weight: usize = parts.iter().map(|p| p.chars().count()).sum();
        if weight == 0 {
            return Err(format!("“{key}”：只有占位符，匹配一切"));
        }
        let english = english_pieces(&key, &e, parts.len() - 1)?;
        let worded = key.chars().any(|c| matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}'));
        entries.push(Entry { key, parts, english, weight, worded });
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.weight));
    Ok(entries)
}

fn catalogue() -> &'static [Entry] {
    static C: OnceLock<Vec<Entry>> = OnceLock::new();
    // A broken catalogue fails the unit tests; a build with one speaks Chinese.
    C.get_or_init(|| parse(CATALOGUE).unwrap_or_default())
}

/// A Chinese character or Chinese punctuation (、。【】 and the full-width forms such as ：，（）):
/// what an English text must not have of its own.
pub fn is_chinese(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{3001}'..='\u{3011}' | '\u{ff01}'..='\u{ff60}')
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(is_chinese)
}

/// The values of a key's placeholders in `s`, when `s` is that key filled in.
fn captures<'a>(s: &'a str, parts: &[String]) -> Option<Vec<&'a str>> {
    let rest = s.strip_prefix(parts[0].as_str())?;
    if parts.len() == 1 {
        return rest.is_empty().then(Vec::new);
    }
    let mut caps = Vec::with_capacity(parts.len() - 1);
    fill(rest, &parts[1..], &mut caps, &mut 0).then_some(caps)
}

/// `s` is a placeholder's value followed by `parts[0]`, a value, `parts[1]` …; shortest values
/// first. `steps` bounds the backtracking on a long text with many separators.
fn fill<'a>(s: &'a str, parts: &[String], caps: &mut Vec<&'a str>, steps: &mut u32) -> bool {
    *steps += 1;
    if *steps > 10_000 {
        return false;
    }
    let lit = parts[0].as_str();
    if parts.len() == 1 {
        return match s.strip_suffix(lit) {
            Some(v) => {
                caps.push(v);
                true
            }
            None => false,
        };
    }
    let mut from = 0;
    loop {
        let Some(i) = s[from..].find(lit) else { return false };
        let at = from + i;
        caps.push(&s[..at]);
        if fill(&s[at + lit.len()..], &parts[1..], caps, steps) {
            return true;
        }
        caps.pop();
        match s[at..].chars().next() {
            Some(c) => from = at + c.len_utf8(),
            None => return false,
        }
    }
}

/// `s` in English when it is a message of the catalogue (its values translated when they are
/// messages themselves); `None` when no key matches.
fn translate(s: &str, depth: u8) -> Option<String> {
    if depth > 12 || !has_chinese(s) {
        return None;
    }
    // A text of several lines is one message only when a key has several lines too.
    let lines = depth == 0 && s.contains('\n');
    // A key with no Chinese word of its own (`{}：{}`) joins a message to its value: tried on a
    // whole line or cause only, never inside a value (a rule file's text keeps its punctuation).
    for e in catalogue().iter().filter(|e| depth == 0 || e.worded) {
        let (first, last) = (&e.parts[0], &e.parts[e.parts.len() - 1]);
        let literal = if e.parts.len() == 1 { first.len() } else { first.len() + last.len() };
        if s.len() < literal || !s.starts_with(first.as_str()) || !s.ends_with(last.as_str()) {
            continue;
        }
        let Some(caps) = captures(s, &e.parts) else { continue };
        // Several lines are one message only when the key has several lines too (a screen, a
        // note with a list, is translated line by line).
        if lines && !e.key.contains('\n') {
            continue;
        }
        // Each value in English where it is a message itself (`None`: carried as it is).
        let values: Vec<Option<String>> =
            caps.iter().enumerate().map(|(n, v)| value_in_english(v, e.parts[n].ends_with('\n'), depth)).collect();
        // A key without words of its own is worth using only for the message in one of its values
        // (else `{}：{}` would change the punctuation of a rule file's text).
        if !e.worded && values.iter().all(Option::is_none) {
            continue;
        }
        let mut out = String::new();
        for p in &e.english {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Arg(n) => match &values[*n] {
                    Some(t) => out.push_str(t),
                    None => out.push_str(&ascii_lists(caps[*n])),
                },
            }
        }
        return Some(out);
    }
    None
}

/// A placeholder's value in English when it is a message (each line on its own, as a line, when
/// it has several or begins a line); `None` when nothing in it is.
fn value_in_english(v: &str, starts_line: bool, depth: u8) -> Option<String> {
    if v.contains('\n') || starts_line {
        let mut changed = false;
        let lines: Vec<String> = v
            .split('\n')
            .map(|l| match translate(l.trim(), 0) {
                Some(t) => {
                    changed = true;
                    l.replacen(l.trim(), &t, 1)
                }
                None => l.to_string(),
            })
            .collect();
        return changed.then(|| lines.join("\n"));
    }
    translate(v.trim(), depth + 1).map(|t| v.replacen(v.trim(), &t, 1))
}

/// A list of names the program joined with 、 (`national、yunnan-2025`) joined with ", " where
/// both neighbours are ASCII; words of the data (`不愁吃、不愁穿`) keep theirs.
fn ascii_lists(v: &str) -> Cow<'_, str> {
    if !v.contains('、') {
        return Cow::Borrowed(v);
    }
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len());
    for (i, &c) in chars.iter().enumerate() {
        let ascii = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|x| x.is_ascii_graphic());
        if c == '、' && ascii(i.checked_sub(1)) && ascii(Some(i + 1)) {
            out.push_str(", ");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line: its indentation and the colour codes around its words kept.
fn translate_line(line: &str) -> Option<String> {
    if !line.contains('\u{1b}') {
        let core = line.trim();
        return translate(core, 0).map(|t| line.replacen(core, &t, 1));
    }
    // Colour codes: ESC [ … letter. Each stretch of words between them is translated alone.
    let mut out = String::new();
    let mut changed = false;
    let mut rest = line;
    while !rest.is_empty() {
        let text_end = rest.find('\u{1b}').unwrap_or(rest.len());
        let (text, after) = rest.split_at(text_end);
        match translate_line(text) {
            Some(t) => {
                out.push_str(&t);
                changed = true;
            }
            None => out.push_str(text),
        }
        if after.is_empty() {
            break;
        }
        let code_end = after.find(|c: char| c.is_ascii_alphabetic()).map_or(after.len(), |i| i + 1);
        out.push_str(&after[..code_end]);
        rest = &after[code_end..];
    }
    changed.then_some(out)
}

/// `s` in the run's language: as it is in Chinese; in English each message of the catalogue
/// translated (the whole text, else each line), anything else as it is.
pub fn tr(s: &str) -> Cow<'_, str> {
    if !english() || !has_chinese(s) {
        return Cow::Borrowed(s);
    }
    tr_english(s)
}

/// [`tr`] in English, whatever the run's language (for tests).
pub fn tr_english(s: &str) -> Cow<'_, str> {
    let whole = s.trim_end_matches('\n');
    let one = if whole.contains('\n') {
        translate(whole.trim(), 0).map(|t| whole.replacen(whole.trim(), &t, 1))
    } else {
        translate_line(whole)
    };
    if let Some(t) = one {
        let tail = &s[s.trim_end_matches('\n').len()..];
        return Cow::Owned(t + tail);
    }
    if !s.contains('\n') {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<str>> = s.split('\n').map(|l| translate_line(l).map_or(Cow::Borrowed(l), Cow::Owned)).collect();
    Cow::Owned(lines.join("\n"))
}

/// A separator the program puts between items of a list (`；`, `、`, `，`), or the English one
/// (`; `, `, `).
pub fn sep(zh: &'static str) -> &'static str {
    match (english(), zh) {
        (false, _) => zh,
        (true, "；") => "; ",
        (true, _) => ", ",
    }
}

/// `（text）` after a word, or ` (text)` in English: the brackets around a value (a unit, a
/// period's label) that are the program's own punctuation.
pub fn paren(text: &str) -> String {
    if english() {
        format!(" ({text})")
    } else {
        format!("（{text}）")
    }
}

/// The key's template filled with `args`, in the run's language: the Chinese of `key`, or its
/// English from the catalogue (the values unchanged, untranslated). For text whose pieces are
/// known where it is printed (the progress bar's template, an error's causes).
pub fn fill_key(key: &str, args: &[&str]) -> String {
    let entry = if english() { catalogue().iter().find(|e| e.key == key) } else { None };
    match entry {
        Some(e) => e
            .english
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.as_str(),
                Piece::Arg(n) => args.get(*n).copied().unwrap_or(""),
            })
            .collect(),
        None => {
            let parts = split_template(key).unwrap_or_else(|_| vec![key.to_string()]);
            let mut out = parts[0].clone();
            for (i, p) in parts[1..].iter().enumerate() {
                out.push_str(args.get(i).copied().unwrap_or(""));
                out.push_str(p);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests;

//! The catalogue reads, translates as documented, and keeps up with the source: every key is a
//! message the source still has, and every message the source prints or returns as an error has
//! a key.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::layers_tests::{code_only, rust_files, spans, test_items};

/// Literals that are the format string of these (the code before them, spaces collapsed) are
/// messages: printed, or an error's text.
const SINKS: &[&str] = &[
    "eprintln!(",
    "eprint!(",
    "println!(",
    "print!(",
    "bail!(",
    "anyhow!(",
    "#[error(",
    ".context(",
    "with_context(|| format!(",
    "Err(format!(",
    "err(format!(",
    "err(",
    "message: format!(",
    "note(&format!(",
    "Invalid(format!(",
    "rule: format!(",
    // Text handed to the catalogue where it is printed (`messages::tr`).
    " tr(&format!(",
    "(tr(&format!(",
    "::tr(&format!(",
    " tr(",
    "(tr(",
    "&tr(",
    "::tr(",
    // A template filled in the run's language where its pieces are known (`messages::fill_key`).
    "fill_key(",
];

/// A literal that begins with one of these is a message wherever it is written (a warning or a
/// note assembled before it is printed).
const MESSAGE_STARTS: &[&str] = &["警告：", "注意：", "提示：", "错误："];

/// Files (or folders) whose text is not the program's messages: generated demonstration data
/// (names, villages); the Chinese of the command line (src/lang: help and clap's errors, whose
/// English is clap's own and lang/english.rs); the help (cli.rs doc comments).
const NOT_MESSAGES: &[&str] = &["cmd/demo_data.rs", "lang/", "cli.rs"];

/// A Rust string literal's value (`\n`, `\"`, `\u{…}`, a line continuation …).
fn unescape(body: &str) -> String {
    let mut out = String::new();
    let mut c = body.chars().peekable();
    while let Some(ch) = c.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match c.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\n') => {
                while c.peek().is_some_and(|x| x.is_whitespace()) {
                    c.next();
                }
            }
            Some('u') => {
                let hex: String = c.by_ref().skip(1).take_while(|&x| x != '}').collect();
                out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            Some(x) => out.push(x),
            None => {}
        }
    }
    out
}

/// A format string with each placeholder written `{}` (`{name}`, `{:02}`, `{err:#}` …), as the
/// catalogue's keys are.
fn template(s: &str) -> String {
    let mut out = String::new();
    let mut c = s.chars().peekable();
    while let Some(ch) = c.next() {
        match ch {
            '{' if c.peek() == Some(&'{') => {
                c.next();
                out.push_str("{{");
            }
            '}' if c.peek() == Some(&'}') => {
                c.next();
                out.push_str("}}");
            }
            '{' => {
                for x in c.by_ref() {
                    if x == '}' {
                        break;
                    }
                }
                out.push_str("{}");
            }
            x => out.push(x),
        }
    }
    out
}

/// One string literal of the source outside test code.
struct Literal {
    file: String,
    line: usize,
    /// Its value as a template (placeholders `{}`).
    text: String,
    /// The format string of a message macro or an error (see `SINKS`).
    message: bool,
}

/// The string literals of `text` (char offset of the opening quote, raw body, raw or not).
fn literals_of(text: &str) -> Vec<(usize, String, bool)> {
    let c: Vec<char> = text.chars().collect();
    spans(&c)
        .into_iter()
        .filter_map(|s| {
            let (body, raw) = s.string?;
            Some((s.start, c[body].iter().collect(), raw))
        })
        .collect()
}

/// Every string literal of src/ outside test code, the catalogue and the files of `NOT_MESSAGES`.
fn source_literals() -> Vec<Literal> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().display().to_string().replace('\\', "/");
        let name = f.file_name().unwrap().to_string_lossy();
        if rel.starts_with("messages/") || name.ends_with("tests.rs") || NOT_MESSAGES.iter().any(|n| rel.starts_with(n))
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code = code_only(&text);
        // Char offsets to byte offsets of the blanked code (same chars, other widths).
        let byte_at: Vec<usize> = code.char_indices().map(|(b, _)| b).chain([code.len()]).collect();
        let tests = test_items(&code);
        let chars: Vec<char> = code.chars().collect();
        for (at, body, raw) in literals_of(&text) {
            let b = byte_at[at];
            if tests.iter().any(|&(s, e)| s <= b && b < e) {
                continue;
            }
            let before: String = chars[at.saturating_sub(80)..at].iter().collect();
            let before = before.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(");
            let value = if raw { body } else { unescape(&body) };
            let value = value.as_str();
            out.push(Literal {
                file: rel.clone(),
                line: text[..text.char_indices().nth(at).map_or(text.len(), |(b, _)| b)].matches('\n').count() + 1,
                text: template(value),
                message: SINKS.iter().any(|s| before.ends_with(s))
                    || MESSAGE_STARTS.iter().any(|s| value.starts_with(s) && value.len() > s.len()),
            });
        }
    }
    out
}

#[test]
fn the_catalogue_reads() {
    let entries = parse(CATALOGUE).unwrap();
    assert!(entries.len() > 200, "{}", entries.len());
    // A key of placeholders only, an English that drops a value, a placeholder out of range.
    assert!(parse(r#""{}{}" = "{}{}""#).is_err());
    assert!(parse(r#""缺少列：{}" = "missing column""#).is_err());
    assert!(parse(r#""缺少列：{}" = "missing column: {1}""#).is_err());
    assert!(parse(r#""缺少列：{}" = 3"#).is_err());
    assert!(parse(r#""{} 与 {} 相同" = "{1} is {0}""#).is_ok());
}

fn with(catalogue: &str, s: &str) -> Option<String> {
    let entries = parse(catalogue).unwrap();
    fn go(entries: &[Entry], s: &str) -> Option<String> {
        for e in entries {
            let Some(caps) = captures(s, &e.parts) else { continue };
            return Some(
                e.english
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.clone(),
                        Piece::Arg(n) => go(entries, caps[*n]).unwrap_or_else(|| caps[*n].to_string()),
                    })
                    .collect(),
            );
        }
        None
    }
    go(&entries, s)
}

#[test]
fn values_are_carried_and_messages_in_them_translated() {
    let cat = r#"
"无法读取规则文件 {}：{}" = "cannot read rule file {}: {}"
"文件或目录不存在" = "no such file or directory"
"{} 与 {} 相同" = "{1} is the same as {0}"
"#;
    assert_eq!(
        with(cat, "无法读取规则文件 规则/甲.toml：文件或目录不存在").as_deref(),
        Some("cannot read rule file 规则/甲.toml: no such file or directory")
    );
    // A value that is not a message (a rule file's label) stays as written.
    assert_eq!(with(cat, "不愁吃 与 不愁穿 相同").as_deref(), Some("不愁穿 is the same as 不愁吃"));
    assert_eq!(with(cat, "没有这条消息"), None);
}

#[test]
fn the_real_catalogue_translates_lines_colours_and_causes() {
    let t = tr_english("错误：无法读取规则文件 natonal：文件或目录不存在：请检查路径和文件名（含空格的路径请加引号；也可把文件拖进窗口得到完整路径）\n");
    assert!(t.starts_with("error: cannot read rule file natonal: ") && t.ends_with('\n'), "{t}");
    assert!(!t.chars().any(is_chinese), "{t}");
    // Line by line, with indentation and colour codes kept; a line of data words as it is.
    let t = tr_english("  无法读取：文件过大\n不愁吃\n\u{1b}[2m已取消\u{1b}[0m");
    assert_eq!(t, "  cannot read: file too large\n不愁吃\n\u{1b}[2mcancelled\u{1b}[0m");
    // Chinese unless --lang en.
    assert_eq!(tr("已取消"), "已取消");
    assert_eq!(fill_key("错误：{}", &["x"]), "错误：x");
}

/// Every key is still a message of the source: its literal text is a literal of the source (placeholders
/// as `{}`), or each of its parts with Chinese is found in one (a message assembled from pieces).
/// A key whose message was reworded or removed fails here: update or delete it.
#[test]
fn every_key_is_a_message_of_the_source() {
    let lits = source_literals();
    let texts: BTreeSet<&str> = lits.iter().map(|l| l.text.as_str()).collect();
    let entries = parse(CATALOGUE).unwrap();
    let stale: Vec<&str> = entries
        .iter()
        .filter(|e| {
            !texts.contains(e.key.as_str())
                && !e.parts.iter().filter(|p| p.chars().any(is_chinese)).all(|p| {
                    let p = p.replace('{', "{{").replace('}', "}}");
                    texts.iter().any(|t| t.contains(p.trim()))
                })
        })
        .map(|e| e.key.as_str())
        .collect();
    assert!(stale.is_empty(), "keys of src/messages/en.toml the source no longer has:\n{}", stale.join("\n"));
}

/// Every message of the source — the format string of an `eprintln!`, `bail!`, `anyhow!`,
/// `#[error]`, `.context` … with Chinese in it (`SINKS`) — has its English in the catalogue.
#[test]
fn every_message_of_the_source_has_english() {
    // Compared without the line breaks and indentation at either end, as texts are matched.
    let keys: BTreeSet<String> = parse(CATALOGUE).unwrap().into_iter().map(|e| e.key.trim().to_string()).collect();
    let lits = source_literals();
    let messages = lits.iter().filter(|l| l.message).count();
    assert!(messages > 200, "the scan finds too few messages ({messages}): has the source changed form?");
    let missing: Vec<String> = lits
        .iter()
        .filter(|l| l.message && l.text.chars().any(is_chinese) && !keys.contains(l.text.trim()))
        .map(|l| format!("{}:{}: {:?}", l.file, l.line, l.text))
        .collect();
    assert!(missing.is_empty(), "messages without English in src/messages/en.toml:\n{}", missing.join("\n"));
}

/// The scan sees a message in each form it takes, and only there.
#[test]
fn the_scan_finds_messages() {
    let text = "fn f() {\n    bail!(\"缺少列：{name}\");\n    let x = \"不愁吃\";\n    eprintln!(\n        \"第 {} 行\\\n         有误\", 3);\n}\n#[cfg(test)]\nmod tests {\n    fn g() { bail!(\"测试\"); }\n}\n";
    let code = code_only(text);
    let tests = test_items(&code);
    let lits = literals_of(text);
    assert_eq!(lits.len(), 4);
    assert_eq!(template(&unescape(&lits[0].1)), "缺少列：{}");
    assert_eq!(unescape(&lits[2].1), "第 {} 行有误");
    let in_test = |at: usize| tests.iter().any(|&(s, e)| s <= at && at < e);
    assert!(in_test(code.char_indices().nth(lits[3].0).unwrap().0));
    assert!(!in_test(code.char_indices().nth(lits[0].0).unwrap().0));
}

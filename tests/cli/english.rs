//! `--lang en`: what a run prints is English but for the values it carries (file names, what the
//! user typed, column headers, a rule file's labels and texts). Every error case of
//! tests/cli/language.rs is run in English and fails on a Chinese character of the program's own;
//! snapshots of a file error, a rule-file error, the missing-column note and `check`.

use tuopin::messages::is_chinese;

use crate::support::{file_in, tuopin};

/// `text` without the values its messages carry: what the user typed (each argument, and its
/// parts around `=` and `/`), names and code in backquotes, quoted values ("…" or “…”), and the
/// lines quoting a rule file (`  | …`).
fn own_words(text: &str, args: &[&str]) -> String {
    let mut t: String = text.lines().filter(|l| !l.trim_start().starts_with('|')).collect::<Vec<_>>().join("\n");
    let mut typed: Vec<&str> = args.iter().flat_map(|a| [*a].into_iter().chain(a.split(['=', '/']))).collect();
    typed.sort_by_key(|a| std::cmp::Reverse(a.len()));
    for a in typed.into_iter().filter(|a| !a.is_empty()) {
        t = t.replace(a, "");
    }
    let mut out = String::new();
    let mut open: Option<char> = None;
    for c in t.chars() {
        match (open, c) {
            (None, '`' | '"' | '“') => open = Some(if c == '“' { '”' } else { c }),
            (Some(close), c) if c == close => open = None,
            (None, c) => out.push(c),
            _ => {}
        }
    }
    out
}

fn chinese(text: &str) -> String {
    text.chars().filter(|&c| is_chinese(c)).collect()
}

#[test]
fn every_error_is_english_with_lang_en_and_as_committed() {
    let mut chinese_left = Vec::new();
    let mut all = String::new();
    for args in crate::language::ERRORS {
        let out = tuopin()
            .env("COLUMNS", "100")
            .env_remove("TUOPIN_LANG")
            .args(*args)
            .args(["--lang", "en"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "tuopin {} --lang en: {out:?}", args.join(" "));
        assert!(out.stdout.is_empty(), "tuopin {}: {out:?}", args.join(" "));
        let err = String::from_utf8(out.stderr).unwrap();
        // The error itself: the lines from error: on (warnings before it quote the rule file).
        let at =
            err.find("error: ").unwrap_or_else(|| panic!("tuopin {} --lang en: no error: in {err}", args.join(" ")));
        let said = &err[at..];
        let left = chinese(&own_words(said, args));
        if !left.is_empty() {
            chinese_left.push(format!("tuopin {} --lang en: {left}\n{said}", args.join(" ")));
        }
        all.push_str(&format!("$ tuopin {} --lang en\n{said}\n", args.join(" ")));
    }
    assert!(
        chinese_left.is_empty(),
        "Chinese in English errors (a message without English in src/messages/en.toml):\n{}",
        chinese_left.join("\n")
    );
    let root = format!("{}/", crate::support::root().display());
    insta::assert_snapshot!("errors-en", all.replace(&root, ""));
}

/// The scan is not blind: a Chinese message is found, the values it carries are not.
#[test]
fn the_scan_finds_chinese() {
    assert_eq!(chinese(&own_words("error: 没有这个文件.csv: 无法读取", &["没有这个文件.csv"])), "无法读取");
    assert_eq!(chinese(&own_words("error: unknown field `人均收入` in \"村\" “乡”\n  | 名称", &[])), "");
}

#[test]
fn the_missing_column_note_is_english() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out.csv");
    let out = tuopin()
        .env_remove("TUOPIN_LANG")
        .args(["assess", "examples/户表.csv", "--year", "2024", "--lang", "en", "-o"])
        .arg(&to)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    let at = err.find("note: examples/户表.csv lacks").unwrap_or_else(|| panic!("{err}"));
    let note: Vec<&str> =
        err[at..].lines().take_while(|l| l.starts_with("note: examples") || l.starts_with("  ")).collect();
    assert!(note.len() >= 2, "{err}");
    assert_eq!(chinese(&own_words(note[0], &["examples/户表.csv"])), "", "{}", note[0]);
    // Each line: the rule file's column names, then what they leave unknown, in its words.
    for l in &note[1..] {
        let (_, reads) = l.split_once(": ").unwrap_or_else(|| panic!("{l}"));
        assert!(reads.starts_with("criteria ") || reads.starts_with("decisions "), "{l}");
    }
    // The summary and the notes around it are the program's words.
    assert!(err.contains("read 41 rows, assessed 41 households;"), "{err}");
    insta::assert_snapshot!("missing-columns-en", note.join("\n"));
}

#[test]
fn check_speaks_english_and_keeps_the_rule_files_words() {
    let out = tuopin()
        .env_remove("TUOPIN_LANG")
        .args(["check", "examples/户表.csv", "--id", "5200010101003", "--year", "2024", "--lang", "en"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for heading in ["[Decisions]", "[Criteria]", "by: rule 1 holds → 不适用", "from: examples/户表.csv row 4"] {
        assert!(text.contains(heading), "{heading}: {text}");
    }
    assert!(!text.contains('【') && !text.contains("依据："), "{text}");
    insta::assert_snapshot!("check-en", text);
}

#[test]
fn chinese_is_unchanged_without_lang_en() {
    let out =
        tuopin().env_remove("TUOPIN_LANG").args(["assess", "没有这个文件.csv", "--year", "2024"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("错误：没有这个文件.csv：无法读取：文件或目录不存在"), "{err}");
    let out =
        tuopin().env("TUOPIN_LANG", "en").args(["assess", "没有这个文件.csv", "--year", "2024"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: 没有这个文件.csv: cannot read: no such file or directory"), "{err}");
}

/// `check`'s questions in English through a pseudo-terminal: the opening line, the help under a
/// list and under a typed answer, a refused spelling, and Ctrl-C; the fields are the rule file's
/// labels, as written.
#[test]
fn the_interview_speaks_english() {
    let bytewise = |s: &str| -> String { s.bytes().map(char::from).collect() };
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_tuopin"));
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 120 rows 40; exec \"$0\" check --year 2020 --quiet --lang en")
        .arg(bin)
        .current_dir(crate::support::root());
    cmd.env_remove("TUOPIN_LANG");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn in a pty");
    p.exp_string("Fill in each item (rule set national").expect("the opening line");
    p.exp_string(&bytewise("户编号")).expect("the household id first");
    p.exp_string("Enter leaves it blank").expect("the help of a typed answer");
    p.send("T-1").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string(&bytewise("户类型")).expect("the type");
    p.exp_string("to choose, type to filter, Enter to confirm").expect("the help of a list");
    p.send("贫困").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string(&bytewise("人均纯收入")).expect("the income");
    p.send("约4500").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("expected an amount in yuan").expect("a wrong spelling is refused in English");
    p.send("\x03").unwrap();
    p.flush().unwrap();
    let raw = p.exp_eof().expect("the end");
    let out = String::from_utf8(raw.chars().map(|c| c as u8).collect()).expect("UTF-8 from the terminal");
    assert!(out.contains("error: cancelled"), "{out}");
}

/// `rules check` in English: a rule file whose own words are all ASCII, so that any Chinese
/// character in the listing is the program's (the headings, the traits of a field, the periods,
/// the decisions' roles, the checks, the lists and their dates, the summary by area).
#[test]
fn the_rules_check_listing_is_english() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(
        dir.path(),
        "mini.toml",
        r#"[ruleset]
id = "mini"
name = "Mini"
description = "test"

[periods.before]
label = "before"
until = "2020-12-31"
source = "test"

[periods.after]
label = "after"
from = "2021-01-01"
source = "test"

[fields.household_id]
type = "text"
header = "hid"
label = "hid"
required = true

[fields.income]
type = "money"
header = "income"
aliases = ["inc", "earnings"]
label = "income"
blank = "0"
absent = "0"
action = "increase"
action_text = "raise {label}"

[fields.grade]
type = "enum"
header = "grade"
label = "grade"
values = ["A", "B"]
alternatives = [{ header = "unsafe", map = { "yes" = "B", "no" = "A" } }]

[parameters.line]
label = "line"
type = "money"
unit = "yuan"
values = [{ from = 2020, value = "4000", source = "test", note = "weak" }]

[criteria.poor]
label = "poor"
text = "income below the line"
source = "test"
condition = "income < line || grade == 'B'"

[decisions.status]
label = "status"
source = "test"
labels = ["yes", "no", "unknown"]
rules = [{ when = "poor", label = "yes" }]
otherwise = "no"
undecided = "unknown"

[checks.negative]
label = "negative income"
when = "income < 0"
severity = "警告"
message = "income {income} below zero"
source = "test"

[lists.poor_now]
label = "poor now"
from = "2021-01-01"
until = "2030-12-31"
when = "current.status == 'yes'"
reason = "{reasons.status}"
source = "test"
"#,
    );
    let out =
        tuopin().env_remove("TUOPIN_LANG").args(["rules", "check"]).arg(&file).args(["--lang", "en"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for want in [
        "rule set mini (Mini): check passed",
        "aliases inc, earnings; blank has a value; absent column: \"0\"; help can increase it; action text \"raise {label}\"",
        "values A/B; or read from column \"unsafe\" (",
        "  after        2021-01-01 to ……",
        "line line (yuan)",
        "from 2020-01-01",
        "otherwise → no; condition unknown → unknown",
        "[warning] negative income",
        "poor now (2021-01-01 to 2030-12-31)",
    ] {
        assert!(text.contains(want), "{want} not in:\n{text}");
    }
    assert_eq!(chinese(&text), "", "{text}");
    // The same listing in Chinese keeps its words.
    let out = tuopin().env_remove("TUOPIN_LANG").args(["rules", "check"]).arg(&file).output().unwrap();
    let zh = String::from_utf8(out.stdout).unwrap();
    assert!(zh.contains("规则集 mini（Mini）：检查通过") && zh.contains("〔警告〕negative income"), "{zh}");
    assert!(zh.contains("poor now（2021-01-01 至 2030-12-31）"), "{zh}");
}

/// `rules show --resolved`: the comments it writes are English; the rule files' text is theirs.
#[test]
fn rules_show_resolved_comments_in_english() {
    let out = tuopin()
        .env_remove("TUOPIN_LANG")
        .args(["rules", "show", "--resolved", "yunnan-2025", "--lang", "en"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("# merged rule set: "), "{}", &text[..200.min(text.len())]);
    assert!(text.contains("\n# from: "), "{text}");
    let comments: String =
        text.lines().filter(|l| l.starts_with("# ")).map(|l| l.split(": ").next().unwrap()).collect();
    assert_eq!(chinese(&comments), "", "{comments}");
}

/// `compare-rules`' summary on stderr: the program's words and separators English around the
/// decision labels and places; the workbook it writes keeps the rule file's language.
#[test]
fn the_compare_rules_summary_is_english_around_the_labels() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("变化.xlsx");
    let out = tuopin()
        .env_remove("TUOPIN_LANG")
        .args(["compare-rules", "--rules", "national", "--rules", "yunnan-2025", "examples/户表.csv", "--year", "2024"])
        .args(["--lang", "en", "-o"])
        .arg(&book)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    let villages: Vec<&str> = err.lines().filter(|l| l.contains(" households (")).collect();
    assert!(!villages.is_empty(), "{err}");
    for l in &villages {
        assert!(!l.contains('，') && !l.contains("（无）"), "{l}");
    }
    assert!(villages.iter().any(|l| l.contains("(none)→")), "{err}");
    let rows = crate::support::sheet_text(&book, "各村汇总");
    assert!(rows.iter().any(|r| r[2].contains("（无）→") && r[2].contains('，')), "{rows:?}");
}

/// A date with its period (`2024-12-31（过渡期）`) is bracketed in English too.
#[test]
fn the_period_after_a_date_is_bracketed_in_english() {
    let out = tuopin()
        .env_remove("TUOPIN_LANG")
        .args(["assess", "examples/户表.csv", "--year", "2024", "--format", "jsonl", "--lang", "en"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("2024-12-31 (过渡期)"), "{err}");
    assert!(!err.contains("2024-12-31（"), "{err}");
}

/// The rule file's list names stay as written; the program's own punctuation between them is
/// English (`工商登记 (business), 车辆登记 (cars)`, not `工商登记（business）、…`).
#[test]
fn unknown_list_names_are_listed_with_english_punctuation() {
    for args in
        [&["reconcile", "低保=x.csv", "dibao_roll=y.csv"][..], &["assess", "examples/户表.csv", "--with", "低保=x.csv"]]
    {
        let out = tuopin().env_remove("TUOPIN_LANG").args(args).args(["--lang", "en"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("available: 工商登记 (business), 车辆登记 (cars), "), "{err}");
        assert!(!err.contains('、') && !err.contains('（'), "{err}");
    }
}

//! Chinese throughout: every `--help` and `-h`, and clap's and tuopin's errors, are scanned for
//! English words and compared with committed snapshots (tests/cli/snapshots; a difference fails,
//! `cargo insta review` or `INSTA_UPDATE=always` to accept a change on purpose). `--lang en`
//! gives English help and clap's English errors.

use std::collections::BTreeSet;

use crate::support::tuopin;

/// Every command's path (`[]` for tuopin itself), from the command-line definition.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands() {
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            if sub.get_name() == "help" {
                out.push(p);
            } else {
                walk(sub, p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&tuopin::lang::command(tuopin::lang::Lang::Zh), Vec::new(), &mut out);
    out
}

/// Names the user types, which are not English prose: every command name and every possible value
/// of the command line, and the format, program and product names help and errors mention.
fn allowed() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        out.insert(cmd.get_name().to_lowercase());
        for a in cmd.get_arguments() {
            for v in a.get_possible_values() {
                out.insert(v.get_name().to_lowercase());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = BTreeSet::new();
    walk(&tuopin::lang::command(tuopin::lang::Lang::Zh), &mut out);
    let formats = [
        "csv",
        "jsonl",
        "json",
        "xlsx",
        "html",
        "xls",
        "xlsb",
        "ods",
        "toml",
        "utf",
        "bom",
        "gbk",
        "cel",
        "excel",
        "wps",
        "mib",
        "yyyy",
        "mm",
        "dd",
        "yyyyqn",
        "unicode",
        "printf",
        "man",
        "roff",
        "powershell",
        "tab",
        "ctrl",
        "esc",
    ];
    out.extend(formats.iter().map(|s| s.to_string()));
    out.extend(tuopin::ruleset::EMBEDDED.iter().map(|e| e.0.to_string()));
    out
}

/// ASCII words of two letters or more that are not option names (`--year`, `-o`), file names or
/// paths (`户表.csv`, `rules/national.toml`), keys and values (`per_capita_income`, `utf-8`,
/// `2024Q3`), code in backquotes, what the user typed quoted back (“xml”), a quoted line of a file,
/// or an allowed name.
fn english_words(text: &str, allowed: &BTreeSet<String>) -> Vec<String> {
    let mut prose = String::new();
    // Lines quoting a file (`  | name = …` under a rule-file error) are the file's words.
    let text: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with('|')).collect();
    for (i, part) in text.join("\n").split(['`', '“', '”']).enumerate() {
        if i % 2 == 0 {
            prose.push_str(part);
        }
        prose.push(' ');
    }
    let token_char = |c: char| c.is_ascii_alphanumeric() || "_.-/=$~*+:\\".contains(c);
    let mut found = Vec::new();
    for token in prose.split(|c: char| !token_char(c)) {
        let t = token.trim_matches(|c: char| c == '.' || c == ':');
        if t.len() < 2
            || t.starts_with('-')
            || t.chars().any(|c| c.is_ascii_digit() || "_./=$~*+\\-".contains(c))
            || !t.chars().any(|c| c.is_ascii_alphabetic())
        {
            continue;
        }
        if !allowed.contains(&t.to_lowercase()) {
            found.push(t.to_string());
        }
    }
    found
}

fn help_of(path: &[String], flag: &str, lang: Option<&str>) -> String {
    let mut cmd = tuopin();
    cmd.env("COLUMNS", "100").env_remove("TUOPIN_LANG").args(path).args((!flag.is_empty()).then_some(flag));
    if let Some(l) = lang {
        cmd.args(["--lang", l]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "tuopin {} {flag}: {:?}", path.join(" "), out);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_help_is_chinese_and_as_committed() {
    let allowed = allowed();
    let paths = command_paths();
    assert!(paths.len() >= 11, "{paths:?}");
    let mut english = Vec::new();
    let mut texts = Vec::new();
    for path in &paths {
        // `tuopin help` and `tuopin rules help` are the help themselves.
        let flags = if path.last().is_some_and(|p| p == "help") { &[""][..] } else { &["-h", "--help"][..] };
        for &flag in flags {
            let text = help_of(path, flag, None);
            let words = english_words(&text, &allowed);
            if !words.is_empty() {
                english.push(format!("tuopin {} {flag}: {words:?}", path.join(" ")));
            }
            let name = if path.is_empty() { "tuopin".to_string() } else { path.join("-") };
            texts.push((format!("help-{name}{}", if flag == "-h" { "-short" } else { "" }), text));
        }
    }
    assert!(english.is_empty(), "English words in the help:\n{}", english.join("\n"));
    for (name, text) in texts {
        insta::assert_snapshot!(name, text);
    }
}

/// Each error a user meets on the command line: clap's own (unknown option with its suggestion,
/// missing value, invalid value, unknown command, missing argument, conflict) and tuopin's
/// (a file that does not exist, a misspelt rule set, a broken rule file, a missing option).
pub const ERRORS: &[&[&str]] = &[
    &["assess", "examples/户表.csv", "--yaer", "2024"],
    &["assess", "examples/户表.csv", "--year"],
    &["assess", "examples/户表.csv", "--year", "abc"],
    &["assess", "examples/户表.csv", "--format", "xml"],
    &["assess", "examples/户表.csv", "--year", "2024", "--date", "2024-01-01"],
    &["assess", "examples/户表.csv", "extra.csv"],
    &["assess"],
    &["asess", "examples/户表.csv"],
    &["frobnicate"],
    &["rules", "tset"],
    &["check", "examples/户表.csv", "--year", "2024"],
    &["adjust", "--previous", "examples/2024Q2.csv"],
    &["demo-data", "-o", "演示.csv", "--messy", "abc"],
    &["completions", "tcsh"],
    &["assess", "没有这个文件.csv", "--year", "2024"],
    &["assess", "examples", "--year", "2024"],
    &["assess", "examples/户表.csv", "--rules", "natonal", "--year", "2024"],
    &["rules", "check", "tests/data/rules/syntax-error.toml"],
    &["rules", "check", "tests/data/rules/wrong-type.toml"],
    &["assess", "examples/户表.csv", "--year", "2024", "--format", "xlsx"],
    &["assess", "examples/户表.csv", "--date", "2024-13-01"],
    &["assess", "examples/户表.csv", "--year", "1800"],
    &["rules", "test"],
    &["rules", "test", "没有这个文件.toml"],
    &["check", "--year", "2024", "--set", "人均纯收入"],
    &["check", "--year", "2024", "--set", "人均收入=3000"],
    &["check", "examples/户表.csv", "--id", "000", "--year", "2024", "--quiet"],
];

#[test]
fn every_error_is_chinese_says_what_to_do_and_is_as_committed() {
    let allowed = allowed();
    let mut english = Vec::new();
    let mut all = String::new();
    for args in ERRORS {
        let out = tuopin().env("COLUMNS", "100").env_remove("TUOPIN_LANG").args(*args).output().unwrap();
        let code = out.status.code();
        assert_eq!(code, Some(2), "tuopin {}: {out:?}", args.join(" "));
        assert!(out.stdout.is_empty(), "tuopin {}: {out:?}", args.join(" "));
        let err = String::from_utf8(out.stderr).unwrap();
        // The error itself: the lines from 错误： on (warnings before it are not the error).
        let at = err.find("错误：").unwrap_or_else(|| panic!("tuopin {}: no 错误： in {err}", args.join(" ")));
        let said = &err[at..];
        // What the user typed (file names, values) may be said back.
        let mut allowed = allowed.clone();
        allowed.extend(args.iter().map(|a| a.to_lowercase()));
        let words = english_words(said, &allowed);
        if !words.is_empty() {
            english.push(format!("tuopin {}: {words:?}", args.join(" ")));
        }
        all.push_str(&format!("$ tuopin {}\n{said}\n", args.join(" ")));
    }
    assert!(english.is_empty(), "English words in errors:\n{}", english.join("\n"));
    // Rule files are named by their full path: the checkout's own is left out.
    let root = format!("{}/", crate::support::root().display());
    insta::assert_snapshot!("errors", all.replace(&root, ""));
}

#[test]
fn clap_errors_keep_the_suggestion() {
    let out = tuopin().args(["assess", "examples/户表.csv", "--yaer", "2024"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("没有 --yaer 这个选项。你是不是想用 --year？"), "{err}");
    assert!(err.contains("查看说明和示例：tuopin assess --help"), "{err}");
}

#[test]
fn the_scan_finds_english() {
    let allowed = allowed();
    assert_eq!(
        english_words("错误：unexpected argument '--yaer' found", &allowed),
        ["unexpected", "argument", "found"]
    );
    assert!(english_words("用法：tuopin assess [选项] <文件> --year 2024 -o 结果.xlsx `what_if` utf-8", &allowed)
        .is_empty());
}

#[test]
fn english_on_request() {
    for lang in [["--lang", "en"].as_slice(), ["--lang=en"].as_slice()] {
        let out = tuopin().args(["assess"]).args(lang).arg("--help").output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage: tuopin assess [OPTIONS] <FILE>"), "{text}");
        assert!(text.contains("Assess every household of a ledger"), "{text}");
        assert!(!text.contains("批量评估"), "{text}");
    }
    let out = tuopin().env("TUOPIN_LANG", "en").args(["assess", "x.csv", "--yaer", "1"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unexpected argument '--yaer' found") && err.contains("'--year'"), "{err}");
    assert_eq!(out.status.code(), Some(2));
}

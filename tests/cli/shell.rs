//! Shell comforts: completions and the manual page from the command-line definition, `--quiet`,
//! thousands separators in the summary (never in data cells).

use crate::support::{stderr_of, tuopin};

#[test]
fn completions_for_every_shell_name_the_commands_and_options() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = tuopin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        for want in ["assess", "adjust", "demo-data", "year", "show-ids", "next-quarter"] {
            assert!(text.contains(want), "{shell}: no {want}");
        }
        // Shells that show descriptions show the Chinese help.
        if shell != "bash" {
            assert!(text.contains("评估年度"), "{shell}: no description");
        }
    }
}

#[test]
fn the_manual_page_has_every_command_in_chinese() {
    let out = tuopin().arg("manpage").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with(".ie") && text.contains(".TH tuopin 1"), "{text}");
    for want in [
        ".SH 名称",
        ".SH 用法",
        ".SH 命令",
        "tuopin assess",
        "tuopin rules check",
        "批量评估",
        "\\-\\-max\\-cell\\-bytes",
    ] {
        assert!(text.contains(want), "no {want} in the manual page");
    }
    for english in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", "[OPTIONS]"] {
        assert!(!text.contains(english), "{english} in the manual page");
    }
    for en in
        [tuopin().args(["manpage", "--lang", "en"]).output(), tuopin().env("TUOPIN_LANG", "en").arg("manpage").output()]
    {
        let en = String::from_utf8(en.unwrap().stdout).unwrap();
        assert!(en.contains(".SH NAME") && en.contains("Assess every household"), "{en}");
    }
}

#[test]
fn quiet_leaves_warnings_and_drops_notes_and_the_summary() {
    let args = ["assess", "examples/户表.csv", "--year", "2024", "--format", "csv"];
    let loud = tuopin().args(args).output().unwrap();
    let quiet = tuopin().args(args).arg("--quiet").output().unwrap();
    assert_eq!(loud.stdout, quiet.stdout, "the results do not change");
    assert_eq!(loud.status.code(), quiet.status.code());
    let (loud, quiet) = (stderr_of(&loud), stderr_of(&quiet));
    assert!(loud.contains("读取 41 行") && loud.contains("注意："), "{loud}");
    assert!(!quiet.contains("读取") && !quiet.contains("注意：") && !quiet.contains("第 1 行为表头"), "{quiet}");
    assert!(quiet.contains("警告：监测范围 6000 元是全国底线"), "warnings stay: {quiet}");
}

#[test]
fn the_summary_groups_thousands_and_the_data_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("演示.csv");
    let out = tuopin().args(["demo-data", "-n", "1500", "-o"]).arg(&ledger).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = tuopin().args(["assess", "--year", "2024", "--format", "csv"]).arg(&ledger).output().unwrap();
    let err = stderr_of(&out);
    assert!(err.contains("读取 1,500 行，评估 1,500 户"), "{err}");
    let csv = String::from_utf8(out.stdout).unwrap();
    // Incomes of over a thousand yuan are written as plain numbers.
    assert!(csv.lines().skip(1).any(|l| l.split(',').any(|c| c.len() >= 4 && c.bytes().all(|b| b.is_ascii_digit()))));
    assert!(!csv.lines().skip(1).any(|l| l.contains("\"1,")), "no grouped number in a data cell");
}

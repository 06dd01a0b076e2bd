//! `assess --columns`: named sets and lists of columns are the default output's columns, cell for
//! cell, in the order asked; the default output is the set 全部; a wrong name is refused naming
//! the columns there are; `verify` re-runs with the columns recorded.

use std::path::Path;

use crate::support::*;

fn assess(args: &[&str]) -> std::process::Output {
    let mut a = vec!["assess", "examples/户表.csv", "--year", "2024"];
    a.extend_from_slice(args);
    tuopin().current_dir(root()).args(a).output().unwrap()
}

/// The rows of a CSV (BOM dropped), header first.
fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut r =
        csv::ReaderBuilder::new().has_headers(false).from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect()
}

/// The default output's rows, restricted to `names` in that order.
fn projected(all: &[Vec<String>], names: &[&str]) -> Vec<Vec<String>> {
    let at: Vec<usize> = names.iter().map(|n| all[0].iter().position(|h| h == n).expect(n)).collect();
    all.iter().map(|row| at.iter().map(|&i| row[i].clone()).collect()).collect()
}

#[test]
fn named_sets_and_lists_are_the_default_columns() {
    let default = assess(&[]);
    assert_eq!(default.status.code(), Some(1), "{}", stderr_of(&default));
    let all = rows(&default.stdout);
    assert_eq!(all.len(), 42);
    // 全部 is the default output, byte for byte.
    assert_eq!(assess(&["--columns", "全部"]).stdout, default.stdout);
    let decisions = ["户编号", "识别", "退出", "风险等级", "风险因素", "建议监测类型", "疑似返贫", "风险消除"];
    let with_reasons: Vec<&str> = decisions.iter().copied().chain(["判定理由"]).collect();
    for (spec, names) in [
        ("判定", decisions.to_vec()),
        ("decisions", decisions.to_vec()),
        ("判定+理由", with_reasons),
        ("风险等级,户编号，数据核查", vec!["风险等级", "户编号", "数据核查"]),
        (" 行号、户主证件号码 ", vec!["行号", "户主证件号码"]),
    ] {
        let o = assess(&["--columns", spec]);
        assert_eq!(o.status.code(), Some(1), "{spec}: {}", stderr_of(&o));
        assert!(o.stdout.starts_with("\u{feff}".as_bytes()), "{spec}");
        assert_eq!(rows(&o.stdout), projected(&all, &names), "{spec}");
    }
    // One column: an empty cell is `""` (as csv::Writer writes it), not a blank line.
    let o = assess(&["--columns", "数据问题"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 42);
    assert_eq!(text.lines().filter(|l| *l == "\"\"").count(), 37, "{text}");
    assert_eq!(rows(text.as_bytes()), projected(&all, &["数据问题"]));
}

#[test]
fn wrong_columns_are_refused() {
    let o = assess(&["--columns", "户编号,风险"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr_of(&o);
    assert!(e.contains("“风险”不是输出的列") && e.contains("判定+理由") && e.contains("风险等级"), "{e}");
    let o = assess(&["--columns", "户编号,户编号"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("写了两次"), "{}", stderr_of(&o));
    let o = assess(&["--columns", "判定", "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("只用于 CSV"), "{}", stderr_of(&o));
}

#[test]
fn verify_reruns_with_the_columns_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("判定.csv");
    let input = root().join("examples/户表.csv");
    let o = tuopin()
        .args(["assess", input.to_str().unwrap(), "--year", "2024", "--columns", "判定", "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let v = |out: &Path| tuopin().args(["verify", out.to_str().unwrap(), input.to_str().unwrap()]).output().unwrap();
    let ok = v(&out);
    assert_eq!(ok.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&ok.stdout), stderr_of(&ok));
    // The same file claimed to be the whole output is not what the recorded options give.
    let side = dir.path().join("判定.csv.说明.json");
    let text = std::fs::read_to_string(&side).unwrap();
    assert!(text.contains("\"--columns\""), "{text}");
    std::fs::write(&side, text.replace("\"判定\"", "\"全部\"")).unwrap();
    assert_ne!(v(&out).status.code(), Some(0));
}

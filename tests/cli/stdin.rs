//! `-` as an input file (standard input, spooled to a temporary file) and as `-o` (standard
//! output): the same results as the file itself, messages naming `标准输入`, nothing left behind.

use std::path::Path;

use crate::support::{root, stderr_of, tuopin};

/// A run of `args` with `stdin`, its temporary directory (TMPDIR) a fresh one: (status, stdout,
/// stderr), after checking that the spool was deleted.
fn piped(args: &[&str], stdin: Vec<u8>) -> (i32, Vec<u8>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tuopin().args(args).env("TMPDIR", tmp.path()).write_stdin(stdin).output().unwrap();
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "spool left behind: {left:?}");
    let err = stderr_of(&out);
    (out.status.code().unwrap(), out.stdout, err)
}

fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = tuopin().args(args).output().unwrap();
    let err = stderr_of(&out);
    (out.status.code().unwrap(), out.stdout, err)
}

fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap()
}

#[test]
fn a_csv_ledger_through_stdin_is_assessed_as_the_file_is() {
    let (code, out, err) = run(&["assess", "examples/户表.csv", "--year", "2024"]);
    let (code2, out2, err2) = piped(&["assess", "-", "--year", "2024"], bytes("examples/户表.csv"));
    assert_eq!((code, code2), (1, 1));
    assert!(out.len() > 1000);
    assert_eq!(out, out2);
    // Messages name standard input where they named the file; otherwise the same.
    assert!(err2.starts_with("标准输入：CSV（UTF-8），第 1 行为表头"), "{err2}");
    assert_eq!(err.replace("examples/户表.csv", "标准输入"), err2);
}

#[test]
fn a_workbook_through_stdin_is_found_by_its_content() {
    let (code, out, _) = run(&["assess", "examples/户表.xlsx", "--year", "2024", "--format", "jsonl"]);
    let (code2, out2, err2) =
        piped(&["assess", "-", "--year", "2024", "--format", "jsonl"], bytes("examples/户表.xlsx"));
    assert_eq!((code, code2), (1, 1));
    assert_eq!(out, out2);
    assert!(err2.starts_with("标准输入：工作表“户表”，第 3 行为表头"), "{err2}");
}

#[test]
fn a_gbk_ledger_through_stdin_is_decoded() {
    let text = String::from_utf8(bytes("examples/户表.csv")).unwrap();
    let (gbk, _, bad) = encoding_rs::GBK.encode(text.trim_start_matches('\u{feff}'));
    assert!(!bad);
    let (_, out, _) = run(&["assess", "examples/户表.csv", "--year", "2024", "-o", "-"]);
    let (code, out2, err2) = piped(&["assess", "-", "--year", "2024", "-o", "-"], gbk.into_owned());
    assert_eq!(code, 1);
    assert_eq!(out, out2);
    assert!(err2.starts_with("标准输入：CSV（GBK/GB18030）"), "{err2}");
}

#[test]
fn dash_as_output_is_standard_output() {
    let (_, plain, _) = run(&["assess", "examples/户表.csv", "--year", "2024", "--format", "csv"]);
    let (_, dashed, err) = run(&["assess", "examples/户表.csv", "--year", "2024", "-o", "-"]);
    assert_eq!(plain, dashed);
    assert!(!Path::new("-").exists() && !root().join("-").exists());
    assert!(err.contains("评估"), "{err}");
}

#[test]
fn an_empty_or_unreadable_stdin_is_named() {
    let (code, out, err) = piped(&["assess", "-", "--year", "2024"], Vec::new());
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("标准输入：文件为空（0 字节）"), "{err}");
    let (code, _, err) = piped(&["assess", "-", "--year", "2024"], [0u8, 1, 2, 3, 4, 5, 6, 7].repeat(100));
    assert_eq!(code, 2);
    assert!(err.contains("标准输入：看起来不是文本"), "{err}");
}

#[test]
fn check_reads_its_ledger_from_stdin() {
    let args = ["--id", "5200010101003", "--year", "2024"];
    let (code, out, _) = run(&[&["check", "examples/户表.csv"], &args[..]].concat());
    let (code2, out2, _) = piped(&[&["check", "-"], &args[..]].concat(), bytes("examples/户表.csv"));
    assert_eq!(code, code2);
    let (out, out2) = (String::from_utf8(out).unwrap(), String::from_utf8(out2).unwrap());
    assert!(out2.contains("来源：标准输入 第 4 行"), "{out2}");
    assert_eq!(out.replace("examples/户表.csv", "标准输入"), out2);
}

#[test]
fn adjust_reads_one_quarter_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.xlsx"), dir.path().join("b.xlsx"));
    let common = ["--quarter", "2024Q3", "--format", "table"];
    let (code, out, _) =
        run(&[&["adjust", "--previous", "examples/2024Q2.csv", "--current", "examples/2024Q3.csv"], &common[..]]
            .concat());
    let (code2, out2, _) = piped(
        &[&["adjust", "--previous", "-", "--current", "examples/2024Q3.csv"], &common[..]].concat(),
        bytes("examples/2024Q2.csv"),
    );
    assert_eq!(code, code2);
    assert!(!out.is_empty());
    assert_eq!(out, out2);
    // Workbooks too: every list the same.
    let to = |p: &Path| p.to_str().unwrap().to_string();
    run(&[
        "adjust",
        "--previous",
        "examples/2024Q2.csv",
        "--current",
        "examples/2024Q3.csv",
        "-q",
        "2024Q3",
        "-o",
        &to(&a),
    ]);
    piped(
        &["adjust", "--previous", "examples/2024Q2.csv", "--current", "-", "-q", "2024Q3", "-o", &to(&b)],
        bytes("examples/2024Q3.csv"),
    );
    // Every sheet but 说明, whose provenance names the input 标准输入.
    let but_provenance = |p: &Path| sheets(p).into_iter().filter(|(n, _)| n != "说明").collect::<Vec<_>>();
    assert_eq!(but_provenance(&a), but_provenance(&b));
    let (code, _, err) =
        piped(&["adjust", "--previous", "-", "--current", "-", "--quarter", "2024Q3"], bytes("examples/2024Q2.csv"));
    assert_eq!(code, 2);
    assert!(err.contains("--previous 和 --current 不能都是 -"), "{err}");
}

/// Every sheet of a workbook, as text.
fn sheets(path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto(path).unwrap();
    let names = book.sheet_names();
    let all: Vec<_> = names
        .iter()
        .map(|n| {
            let range = book.worksheet_range(n).unwrap();
            (n.clone(), range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect())
        })
        .collect();
    assert!(all.len() > 1);
    all
}

#[test]
fn rule_and_case_files_from_stdin() {
    let (code, out, _) = piped(&["rules", "check", "-"], bytes("rules/guizhou-2023.toml"));
    assert_eq!(code, 0);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("来源：标准输入 ← national（内置）"), "{out}");
    let (code, out, _) = piped(&["rules", "test", "-"], bytes("rules/national.cases.toml"));
    assert_eq!(code, 0);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("标准输入：") && out.contains("个通过，0 个失败"), "{out}");
    let (code, _, err) = piped(
        &["rules", "check", "-"],
        b"[ruleset]\nid = \"x\"\nname = \"x\"\nextends = \"rules/national.toml\"\n".to_vec(),
    );
    assert_eq!(code, 2);
    assert!(err.contains("只能扩展内置规则集"), "{err}");
}

/// `-` when standard input is a terminal: nothing is waiting there, so the run stops at once with
/// a message saying how to give the file, instead of waiting for typing that is not a ledger.
#[test]
fn dash_on_a_terminal_is_refused_at_once() {
    let bin = Path::new(env!("CARGO_BIN_EXE_tuopin"));
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["assess", "-", "--year", "2024"]).current_dir(root());
    let mut p = rexpect::session::spawn_command(cmd, Some(10_000)).expect("spawn in a pty");
    let bytewise = |s: &str| s.bytes().map(char::from).collect::<String>();
    p.exp_string(&bytewise("错误：标准输入：没有从管道或文件重定向得到内容（标准输入是终端）"))
        .expect("refused without waiting");
    p.exp_eof().expect("ended");
}

/// The provenance beside a CSV names standard input as such, with the hash of what came through
/// it (the same as the file's), so `verify` can check the output against the file.
#[test]
fn provenance_names_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let to = out.to_str().unwrap();
    let (code, _, err) = piped(&["assess", "-", "--year", "2024", "-o", to], bytes("examples/户表.csv"));
    assert_eq!(code, 1, "{err}");
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.csv.说明.json")).unwrap()).unwrap();
    let input = &side["inputs"][0];
    assert_eq!(input["name"], "标准输入");
    assert_eq!(input["size"], bytes("examples/户表.csv").len());
    let (code, _, err) = run(&["verify", to, "examples/户表.csv"]);
    assert_eq!(code, 0, "{err}");
}

/// `notice` and `compare-rules` read `-` as `assess` does: the same notice page and the same
/// differences as from the file, the input named 标准输入.
#[test]
fn notice_and_compare_rules_read_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.html"), dir.path().join("b.html"));
    let to = |p: &Path| p.to_str().unwrap().to_string();
    let (code, _, _) = run(&["notice", "examples/户表.csv", "--year", "2024", "-o", &to(&a)]);
    let (code2, _, err) = piped(&["notice", "-", "--year", "2024", "-o", &to(&b)], bytes("examples/户表.csv"));
    assert_eq!(code, code2, "{err}");
    assert!(err.contains("标准输入："), "{err}");
    let page = std::fs::read_to_string(&a).unwrap();
    assert!(page.contains("<tr><td>1</td>"), "a notice with rows");
    assert_eq!(page, std::fs::read_to_string(&b).unwrap());
    let args = ["compare-rules", "--rules", "national", "--rules", "yunnan-2025", "--year", "2024"];
    let (code, out, _) = run(&[&args[..], &["examples/户表.csv"]].concat());
    let (code2, out2, err) = piped(&[&args[..], &["-"]].concat(), bytes("examples/户表.csv"));
    assert_eq!(code, code2, "{err}");
    assert!(String::from_utf8_lossy(&out).lines().count() > 1, "some households differ");
    assert_eq!(out, out2);
}

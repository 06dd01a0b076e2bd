//! Provenance and `tuopin verify`: the same inputs and options give byte-identical outputs, whose
//! 说明 sheet or sidecar records what they were made from; verify detects a changed input byte, a
//! changed rule and a changed output.

use std::path::{Path, PathBuf};

use crate::support::*;

fn assess(input: &Path, rules: &str, out: &Path) {
    let o = tuopin()
        .args(["assess", input.to_str().unwrap(), "--year", "2024", "--rules", rules, "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr_of(&o));
}

fn verify(output: &Path, input: &Path) -> (Option<i32>, String) {
    let o = tuopin().args(["verify", output.to_str().unwrap(), input.to_str().unwrap()]).output().unwrap();
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr_of(&o)))
}

/// A copy of the example ledger and of the Yunnan rule file in a temporary directory.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let input = dir.join("户表.csv");
    std::fs::copy(root().join("examples/户表.csv"), &input).unwrap();
    let rules = dir.join("yunnan.toml");
    std::fs::copy(root().join("rules/yunnan-2025.toml"), &rules).unwrap();
    (input, rules)
}

#[test]
fn same_inputs_give_identical_bytes_and_provenance_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (input, rules) = setup(dir.path());
    for ext in ["csv", "jsonl", "xlsx"] {
        let (a, b) = (dir.path().join(format!("a.{ext}")), dir.path().join(format!("b.{ext}")));
        assess(&input, rules.to_str().unwrap(), &a);
        assess(&input, rules.to_str().unwrap(), &b);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{ext}");
        if ext == "xlsx" {
            assert!(!dir.path().join("a.xlsx.说明.json").exists());
            continue;
        }
        let side: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(format!("a.{ext}.说明.json"))).unwrap())
                .unwrap();
        assert_eq!(side["ruleset"], "yunnan-2025");
        assert_eq!(side["inputs"][0]["name"], "户表.csv");
        assert_eq!(side["inputs"][0]["size"], std::fs::metadata(&input).unwrap().len());
        assert_eq!(side["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(side["assessment_date"], "2024-12-31");
        assert!(side["written_at"].as_str().unwrap().ends_with('Z'));
        assert!(side["options"].as_array().unwrap().iter().any(|o| o == "--date"));
    }
    // JSON Lines stays one object per household (41 in the example).
    let lines = jsonl(&std::fs::read(dir.path().join("a.jsonl")).unwrap());
    assert_eq!(lines.len(), 41);
    assert!(lines.iter().all(|l| l.get("household_id").is_some() || l.get("户编号").is_some()), "{:?}", lines[0]);
}

#[test]
fn verify_detects_a_changed_input_byte_rule_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let (input, rules) = setup(dir.path());
    for ext in ["csv", "xlsx"] {
        let out = dir.path().join(format!("结果.{ext}"));
        assess(&input, rules.to_str().unwrap(), &out);
        let (code, text) = verify(&out, &input);
        assert_eq!(code, Some(0), "{ext}: {text}");
        assert!(text.contains("一致"), "{text}");

        // One byte of the input.
        let original = std::fs::read(&input).unwrap();
        let mut changed = original.clone();
        let at = changed.len() - 3;
        changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
        std::fs::write(&input, &changed).unwrap();
        let (code, text) = verify(&out, &input);
        assert_eq!(code, Some(1), "{ext}: {text}");
        assert!(text.contains("输入已变") && !text.contains("规则已变"), "{text}");
        std::fs::write(&input, &original).unwrap();

        // A rule: Yunnan's 2024 monitoring line.
        let text_rules = std::fs::read_to_string(&rules).unwrap();
        std::fs::write(&rules, text_rules.replacen("value = \"8700\"", "value = \"8800\"", 1)).unwrap();
        let (code, text) = verify(&out, &input);
        assert_eq!(code, Some(1), "{ext}: {text}");
        assert!(text.contains("规则已变") && !text.contains("输入已变"), "{text}");
        // A comment does not change the rules.
        std::fs::write(&rules, format!("# 注释\n{text_rules}")).unwrap();
        assert_eq!(verify(&out, &input).0, Some(0));
        std::fs::write(&rules, &text_rules).unwrap();

        // The output.
        let good = std::fs::read(&out).unwrap();
        let mut bad = good.clone();
        let at = bad.len() / 2;
        bad[at] ^= 1;
        std::fs::write(&out, &bad).unwrap();
        let (code, text) = verify(&out, &input);
        assert_eq!(code, Some(1), "{ext}: {text}");
        assert!(text.contains("输出已变") && !text.contains("输入已变") && !text.contains("规则已变"), "{text}");
        std::fs::write(&out, &good).unwrap();
        assert_eq!(verify(&out, &input).0, Some(0));
    }
}

#[test]
fn verify_without_provenance_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("别的.csv");
    std::fs::write(&out, "a,b\n").unwrap();
    let (code, text) = verify(&out, &root().join("examples/户表.csv"));
    assert_eq!(code, Some(2));
    assert!(text.contains("说明文件"), "{text}");
}

#[test]
fn an_edited_sidecar_cannot_add_options() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = setup(dir.path());
    let out = dir.path().join("结果.csv");
    assess(&input, "national", &out);
    let side = dir.path().join("结果.csv.说明.json");
    let text = std::fs::read_to_string(&side).unwrap();
    let victim = dir.path().join("别动.txt");
    std::fs::write(&victim, "原样").unwrap();
    let edited = text.replacen("\"--rules\",", &format!("\"-o\", {:?}, \"--rules\",", victim.to_str().unwrap()), 1);
    assert_ne!(edited, text);
    std::fs::write(&side, edited).unwrap();
    let (code, text) = verify(&out, &input);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("不是 assess 记录的选项"), "{text}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "原样");
}

/// `adjust` carries its provenance too: a 说明 sheet in the workbook, `说明.csv` beside the lists
/// in a CSV directory — both quarters by name, size and SHA-256, the rules and the date — and the
/// same quarters give the same bytes; a changed byte of a quarter changes its recorded hash.
#[test]
fn adjust_outputs_record_their_inputs() {
    use calamine::Reader;
    let dir = tempfile::tempdir().unwrap();
    let prev = dir.path().join("2024Q2.csv");
    let cur = dir.path().join("2024Q3.csv");
    std::fs::copy(root().join("examples/2024Q2.csv"), &prev).unwrap();
    std::fs::copy(root().join("examples/2024Q3.csv"), &cur).unwrap();
    let adjust = |out: &Path, extra: &[&str]| {
        let o = tuopin()
            .args(["adjust", "--previous", prev.to_str().unwrap(), "--current", cur.to_str().unwrap(), "-q", "2024Q3"])
            .args(["-o", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr_of(&o));
    };
    let sha = |p: &Path| {
        use sha2::Digest;
        sha2::Sha256::digest(std::fs::read(p).unwrap()).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let (a, b) = (dir.path().join("a.xlsx"), dir.path().join("b.xlsx"));
    adjust(&a, &[]);
    adjust(&b, &[]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same quarters, same bytes");
    let mut wb = calamine::open_workbook_auto(&a).unwrap();
    let sheet = wb.worksheet_range("说明").expect("a 说明 sheet");
    let text: Vec<String> =
        sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("=")).collect();
    for want in ["命令=adjust", "评估日期=2024-09-30", "输入文件=2024Q2.csv", "输入文件=2024Q3.csv"] {
        assert!(text.iter().any(|l| l == want), "{want} in {text:?}");
    }
    for q in [&prev, &cur] {
        assert!(text.iter().any(|l| *l == format!("输入文件 SHA-256={}", sha(q))), "{text:?}");
    }
    // The CSV directory: 说明.csv beside the lists, recording the same.
    let csv_dir = dir.path().join("名单");
    adjust(&csv_dir, &["-f", "csv"]);
    let record = std::fs::read_to_string(csv_dir.join("说明.csv")).unwrap();
    assert!(record.contains(&sha(&cur)) && record.contains("命令,adjust"), "{record}");
    // One byte of the current quarter changed: its recorded hash follows.
    let before = sha(&cur);
    let mut bytes = std::fs::read(&cur).unwrap();
    let at = bytes.len() - 2;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&cur, bytes).unwrap();
    let c = dir.path().join("c.xlsx");
    adjust(&c, &[]);
    let mut wb = calamine::open_workbook_auto(&c).unwrap();
    let sheet = wb.worksheet_range("说明").unwrap();
    let cells: Vec<String> = sheet.rows().flat_map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>()).collect();
    assert_ne!(sha(&cur), before);
    assert!(cells.contains(&sha(&cur)) && !cells.contains(&before) && cells.contains(&sha(&prev)), "{cells:?}");
}

/// assess --with records each department list (name, size, SHA-256, rows) beside the ledger;
/// verify re-runs with them and names a list whose byte changed.
#[test]
fn department_lists_are_recorded_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let persons = dir.path().join("人员表.csv");
    std::fs::copy(root().join("examples/人员表.csv"), &persons).unwrap();
    let cars = dir.path().join("车辆.csv");
    std::fs::copy(root().join("tests/data/comparison/cars.csv"), &cars).unwrap();
    for ext in ["csv", "xlsx"] {
        let out = dir.path().join(format!("结果.{ext}"));
        let o = tuopin()
            .args(["assess", persons.to_str().unwrap(), "--year", "2024", "-o", out.to_str().unwrap()])
            .args(["--with", &format!("cars={}", cars.display())])
            .output()
            .unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr_of(&o));
        let recorded = if ext == "csv" {
            std::fs::read_to_string(dir.path().join("结果.csv.说明.json")).unwrap()
        } else {
            xlsx_sheet_text(&out, "说明")
        };
        for want in ["车辆.csv", "车辆登记", "cars=车辆.csv"] {
            assert!(recorded.contains(want), "{ext}: {want} not in {recorded}");
        }
        assert!(recorded.contains("\"rows\": 8") || recorded.contains("车辆登记：车辆.csv，8 行"), "{recorded}");
        let run = |inputs: &[&Path]| {
            let o = tuopin().arg("verify").arg(&out).args(inputs).output().unwrap();
            (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr_of(&o)))
        };
        let (code, text) = run(&[&persons, &cars]);
        assert_eq!(code, Some(0), "{ext}: {text}");
        let (code, text) = run(&[&persons]);
        assert_eq!(code, Some(2), "{ext}: {text}");
        assert!(text.contains("由 2 个输入文件得出（人员表.csv、车辆.csv）"), "{text}");
        // One byte of the list changed (a plate): named, and the output differs.
        let changed = dir.path().join("车辆2.csv");
        std::fs::write(&changed, std::fs::read_to_string(&cars).unwrap().replace("贵A12345", "贵A12346")).unwrap();
        let (code, text) = run(&[&persons, &changed]);
        assert_eq!(code, Some(1), "{ext}: {text}");
        assert!(text.contains("输入已变：") && text.contains("车辆2.csv（记录的 车辆.csv"), "{ext}: {text}");
    }
}

/// A workbook sheet's cells, row by row, tab-separated.
fn xlsx_sheet_text(book: &Path, sheet: &str) -> String {
    sheet_text(book, sheet).iter().map(|r| r.join("\t")).collect::<Vec<_>>().join("\n")
}

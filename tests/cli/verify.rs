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

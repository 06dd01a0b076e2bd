//! `tuopin compare-rules`: exactly the households whose decisions differ between two rule sets,
//! checked against two separate `assess` runs.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;

/// The national decisions as `compare-rules` names them (their labels) and their JSON keys.
const DECISIONS: [(&str, &str); 5] = [
    ("识别", "/eligibility"),
    ("退出", "/exit"),
    ("返贫致贫风险", "/risk/level"),
    ("建议监测类型", "/risk/suggested_type"),
    ("风险消除", "/elimination"),
];

/// (户编号, decision label) → its label, from `assess --format jsonl`.
fn assessed(rules: &str, year: &str) -> BTreeMap<(String, String), String> {
    let o = tuopin()
        .args(["assess", "examples/户表.csv", "--year", year, "--rules", rules, "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr_of(&o));
    let mut out = BTreeMap::new();
    for h in jsonl(&o.stdout) {
        let id = h["household_id"].as_str().unwrap().to_string();
        for (label, ptr) in DECISIONS {
            let v = h.pointer(ptr).unwrap_or_else(|| panic!("{ptr} in {h}"));
            out.insert((id.clone(), label.to_string()), v.as_str().unwrap_or("").to_string());
        }
    }
    out
}

#[test]
fn lists_exactly_the_decisions_that_differ_between_two_assess_runs() {
    for year in ["2024", "2025"] {
        let (a, b) = (assessed("national", year), assessed("yunnan-2025", year));
        let expected: BTreeSet<(String, String, String, String)> = a
            .iter()
            .filter(|(k, v)| b[*k] != **v)
            .map(|(k, v)| (k.0.clone(), k.1.clone(), v.clone(), b[k].clone()))
            .collect();
        assert!(expected.len() >= 5, "{year}: the example differs under the Yunnan line: {expected:?}");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("变化.csv");
        let o = tuopin()
            .args([
                "compare-rules",
                "--rules",
                "national",
                "--rules",
                "yunnan-2025",
                "examples/户表.csv",
                "--year",
                year,
            ])
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
        let rows = expected_rows(&out);
        let got: BTreeSet<(String, String, String, String)> = rows
            .iter()
            .map(|r| {
                let id = shown(&r["行号"].clone()).to_string();
                assert!(!id.is_empty());
                (
                    shown(&r["户编号"]).to_string(),
                    r["判定"].clone(),
                    r["按 national"].clone(),
                    r["按 yunnan-2025"].clone(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{year}");
        assert_eq!(rows.len(), expected.len(), "one row per changed decision");
        // Why: the criterion that differs, and the threshold under the second rule set.
        assert!(rows.iter().all(|r| r["结果不同的标准"].contains("低于监测范围：否 → 是")), "{rows:?}");
        assert!(rows.iter().any(|r| r["按 yunnan-2025 的理由"].contains("监测范围 8700")));
        // ID numbers masked.
        assert!(rows.iter().all(|r| r["户主证件号码"].contains("********")));
        let err = stderr_of(&o);
        assert!(err.contains("参数不同：监测范围 6000 → 8700"), "{err}");
        let households: BTreeSet<&String> = expected.iter().map(|e| &e.0).collect();
        assert!(err.contains(&format!("其中 {} 户至少一项判定不同", households.len())), "{err}");
        assert!(err.contains("石桥村："), "per village: {err}");
        let side: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("变化.csv.说明.json")).unwrap()).unwrap();
        assert_eq!(side["command"], "compare-rules");
        assert_eq!(side["ruleset"], "national；yunnan-2025");
    }
}

#[test]
fn the_same_rule_set_twice_lists_nothing_and_rules_must_be_given_twice() {
    let o = tuopin()
        .args(["compare-rules", "-r", "national", "-r", "national", "examples/户表.csv", "--year", "2024"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1, "the header only");
    let o = tuopin().args(["compare-rules", "-r", "national", "examples/户表.csv"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("--rules 须给两次"));
}

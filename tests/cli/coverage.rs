//! `assess --coverage`: per criterion true/false/unknown and per decision rule fired, counted
//! over the batch; a criterion that never varies and a rule that never fires are flagged.

use std::collections::BTreeMap;

use crate::support::*;

#[test]
fn coverage_counts_add_up_and_flags_what_never_varies() {
    let dir = tempfile::tempdir().unwrap();
    let cov = dir.path().join("覆盖.csv");
    let o = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2024", "--format", "jsonl", "--coverage"])
        .arg(&cov)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let households = jsonl(&o.stdout);
    assert_eq!(households.len(), 41);
    let rows = expected_rows(&cov);
    let by: BTreeMap<String, &BTreeMap<String, String>> = rows.iter().map(|r| (r["项目"].clone(), r)).collect();
    let n = |r: &BTreeMap<String, String>, k: &str| r[k].parse::<u64>().unwrap_or(0);
    for r in rows.iter().filter(|r| r["类别"] == "标准") {
        assert_eq!(n(r, "是（或得出）") + n(r, "否") + n(r, "待核实（或因此待核实）"), 41, "{r:?}");
    }
    // In 2024 every household is past 2020: the criterion never varies and is flagged.
    let post = by["脱贫攻坚期后（2021年起：过渡期、常态化帮扶）（post_2020）"];
    assert_eq!((n(post, "是（或得出）"), n(post, "否")), (41, 0));
    assert!(post["提示"].contains("从未变化"));
    // Each decision: its rules and the households no rule decided add up to the batch; the
    // risk levels match the JSON output.
    let mut per_decision: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r["类别"].starts_with("判定规则：")) {
        *per_decision.entry(r["类别"].clone()).or_default() += n(r, "是（或得出）") + n(r, "待核实（或因此待核实）");
        if n(r, "是（或得出）") == 0 {
            assert!(r["提示"].contains("从未得出"), "{r:?}");
        }
    }
    assert!(per_decision.values().all(|&v| v == 41), "{per_decision:?}");
    let high_rule = rows
        .iter()
        .filter(|r| r["类别"] == "判定规则：返贫致贫风险" && r["项目"].ends_with("→ 高"))
        .map(|r| n(r, "是（或得出）"))
        .sum::<u64>();
    let high = households.iter().filter(|h| h["risk"]["level"] == "高").count() as u64;
    assert_eq!(high_rule, high);
    assert!(stderr_of(&o).contains("从未变化或从未得出"), "{}", stderr_of(&o));
}

#[test]
fn coverage_alone_goes_to_stderr() {
    let o = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2020", "--format", "csv", "--coverage"])
        .output()
        .unwrap();
    let err = stderr_of(&o);
    assert!(err.contains("规则覆盖（41 户）") && err.contains("post_2020"), "{err}");
}

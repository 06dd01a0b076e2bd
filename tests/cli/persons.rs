//! Person exports: households derived from their members' rows.

use crate::support::*;

fn decisions(v: &serde_json::Value) -> serde_json::Value {
    serde_json::json!([
        v["household_id"],
        v["head_name"],
        v["head_id"],
        v["eligibility"],
        v["exit"],
        v["risk"],
        v["elimination"]
    ])
}

/// examples/人员表.csv and tests/data/persons-as-ledger.csv hold the same households; the ledger's
/// member facts were worked out by hand (tests/data/make-persons.py). Same decisions.
#[test]
fn person_export_gives_the_decisions_of_the_equivalent_ledger() {
    let p = tuopin().args(["assess", "examples/人员表.csv", "--year", "2024", "--format", "jsonl"]).output().unwrap();
    let l = tuopin()
        .args(["assess", "tests/data/persons-as-ledger.csv", "--year", "2024", "--format", "jsonl"])
        .output()
        .unwrap();
    // Exit 1 only because P001 is a 贫困户 in 2024: default-rules.md §6.1, "from 2021 a household
    // whose type is 贫困户 is a data problem" (check poor_after_2020, the same in both files). The
    // members themselves are read without a problem.
    assert_eq!(p.status.code(), Some(1), "{}", stderr_of(&p));
    let (p, l) = (jsonl(&p.stdout), jsonl(&l.stdout));
    assert_eq!(p.len(), 5, "households in order of their first member, members not adjacent");
    for h in p.iter().chain(&l) {
        assert_eq!(h["problems"], serde_json::json!([]), "{h}");
        let errors: Vec<&serde_json::Value> =
            h["checks"].as_array().unwrap().iter().filter(|c| c["severity"] == "错误").map(|c| &c["check"]).collect();
        let want: Vec<&str> = if h["household_id"] == "P001" { vec!["poor_after_2020"] } else { vec![] };
        assert_eq!(errors, want, "{h}");
    }
    assert_eq!(p.iter().map(decisions).collect::<Vec<_>>(), l.iter().map(decisions).collect::<Vec<_>>());
    // The dropout (13, 非在校生, 厌学) and the uninsured spouse make P002's guarantees fail.
    assert_eq!(p[1]["risk"]["level"], "高");
    assert!(p[1]["risk"]["factors"].as_array().unwrap().contains(&serde_json::json!("guarantee_gap")));
}

#[test]
fn rows_read_count_members_and_households_are_assessed() {
    let out = tuopin().args(["assess", "examples/人员表.csv", "--year", "2024", "--format", "csv"]).output().unwrap();
    assert!(stderr_of(&out).contains("读取 14 行，评估 5 户"), "{}", stderr_of(&out));
}

#[test]
fn members_that_disagree_or_bad_member_ids_are_problems() {
    let out = tuopin()
        // 2020: from 2021 identification and exit are 不适用 for every household, whatever its type
        // (default-rules.md §6.1); in the 攻坚期 an unknown type leaves all three 待核实.
        .args(["assess", "tests/data/persons-conflict.csv", "--year", "2020", "--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = jsonl(&out.stdout);
    let p9 = &rows[0];
    assert_eq!(p9["household_id"], "P009");
    let msg = p9["problems"][0]["message"].as_str().unwrap();
    assert!(msg.contains("同一户的成员行不一致") && msg.contains("脱贫户") && msg.contains("一般农户"), "{msg}");
    for d in ["eligibility", "exit", "elimination"] {
        assert_eq!(p9[d], "待核实", "type unknown: {d}");
    }
    // In 2024 the unknown type leaves risk and elimination 待核实 (§6.1: §3, §4 as changed; an
    // unrecognised type gets 待核实), while identification and exit are 不适用 for everyone.
    let out = tuopin()
        .args(["assess", "tests/data/persons-conflict.csv", "--year", "2024", "--format", "jsonl"])
        .output()
        .unwrap();
    let later = &jsonl(&out.stdout)[0];
    assert_eq!(later["household_id"], "P009");
    assert_eq!((&later["eligibility"], &later["exit"]), (&"不适用".into(), &"不适用".into()), "{later}");
    assert_eq!((&later["risk"]["level"], &later["elimination"]), (&"待核实".into(), &"待核实".into()), "{later}");
    let p10 = &rows[1];
    let p = &p10["problems"][0];
    assert_eq!(p["column"], "证件号码");
    assert_eq!(p["row"], 4);
    assert!(!out.stdout.windows(18).any(|w| w == b"520000201104150000"), "member ID masked");
}

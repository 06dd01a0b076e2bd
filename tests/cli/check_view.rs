//! `check` as a village worker reads it (issue #18 item 6): each criterion in the rule file's words
//! for its kind (达标/未达标, 存在/不存在, 是/否, 待核实) with its `text`, only the criteria this
//! household's decisions reached, the conditions (CEL) only with --verbose, the documents sources
//! cite named by title and 文号. One household of each
//! type of examples/户表.csv, compared with committed snapshots (tests/cli/snapshots).

use crate::support::tuopin;

/// (snapshot, 户编号, year): a 贫困户 in the 攻坚期, and in 2024 a 脱贫户, a 一般农户, and monitored
/// households of the three monitoring types.
const HOUSEHOLDS: &[(&str, &str, &str)] = &[
    ("check-poor-2020", "5200010101003", "2020"),
    ("check-exited-2024", "5200010101004", "2024"),
    ("check-general-2024", "5200010101006", "2024"),
    ("check-unstable-2024", "5200010101008", "2024"),
    ("check-edge-2024", "5200010201007", "2024"),
    ("check-hardship-2024", "5200010102007", "2024"),
];

fn check(id: &str, year: &str, extra: &[&str]) -> String {
    let out = tuopin()
        .env_remove("TUOPIN_LANG")
        .args(["check", "examples/户表.csv", "--id", id, "--year", year, "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn one_household_of_each_type_reads_as_committed() {
    let all = tuopin::ruleset::load("national").unwrap().criteria.len();
    for (name, id, year) in HOUSEHOLDS {
        let text = check(id, year, &[]);
        assert!(!text.contains('\x1b'), "no colour when piped");
        assert!(!text.contains("条件："), "CEL only with --verbose:\n{text}");
        let shown = text.split("【相关标准】").nth(1).unwrap().split("\n\n").next().unwrap();
        let n = shown.lines().filter(|l| !l.starts_with(' ') && !l.is_empty()).count();
        assert!(n > 0 && n < all, "{name}: {n} of {all} criteria shown");
        // Every document a source cites by key is named (the rule file's [sources]).
        let named: String = text.lines().filter(|l| l.trim_start().starts_with("文件：")).collect();
        for line in text.lines().filter(|l| l.contains("来源：")) {
            for key in line
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.len() > 1 && w.starts_with('S') && w[1..].bytes().all(|b| b.is_ascii_digit()))
            {
                assert!(named.contains(&format!("{key} ")), "{name}: {key} not named in:\n{text}");
            }
        }
        insta::assert_snapshot!(*name, text);
    }
}

#[test]
fn verbose_adds_the_conditions() {
    let text = check("5200010101004", "2024", &["--verbose"]);
    assert!(text.contains("条件：per_capita_income < monitoring_line"), "{text}");
    assert!(text.contains("第 1 条规则 `post_2020` 成立 → 不适用"), "{text}");
}

/// The words follow what a result means for the household, whatever the criterion's result is as
/// a condition: a risk present is 存在 (and red on a terminal, src/cmd/check/render.rs), a standard
/// reached 达标, a risk absent 不存在.
#[test]
fn words_follow_good_and_bad_not_true_and_false() {
    let text = check("5200010101006", "2024", &[]);
    assert!(text.contains("存在 低于扶贫标准\n    标准：人均纯收入低于当年扶贫标准"), "{text}");
    assert!(text.contains("达标 不愁吃") && text.contains("不存在 因病"), "{text}");
    let criteria = text.split("【相关标准】").nth(1).unwrap().split("\n\n").next().unwrap();
    assert!(!criteria.contains("满足") && !criteria.contains('✓') && !criteria.contains('✗'), "{criteria}");
}

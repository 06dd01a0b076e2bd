//! Data-quality checks as rule data (`[checks.*]`): a province adds its own in a variant file,
//! without code, and sees them in every output.

use crate::support::*;

const VARIANT: &str = r#"
[ruleset]
id = "test-province"
name = "测试省规则集"
extends = "national"

[checks.rich_monitored]
label = "监测对象收入过高"
when = "!blank(monitor_type) && per_capita_income >= 20000"
severity = "错误"
message = "监测对象人均纯收入 {per_capita_income} ≥ 20000（监测范围 {monitoring_line}）"
source = "测试：贵州规则 1111_18 的同类检查"

[checks.large_household]
label = "家庭人口较多"
when = "members >= 6"
severity = "提示"
message = "家庭人口数 {members}：核实分户情况"
source = "测试"
"#;

/// A ledger of three households with the national columns (others blank): one monitored with a
/// high income, one of six members, one clean.
fn three_households() -> String {
    let text = std::fs::read_to_string(root().join("examples/户表.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().trim_start_matches('\u{feff}').split(',').collect();
    let rows: [&[(&str, &str)]; 3] = [
        &[
            ("户编号", "H1"),
            ("户类型", "脱贫户"),
            ("监测对象类别", "脱贫不稳定户"),
            ("识别监测时间", "202301"),
            ("风险是否消除", "否"),
            ("家庭人口数", "3"),
            ("劳动力人数", "2"),
            ("人均纯收入（元）", "25000"),
        ],
        &[
            ("户编号", "H2"),
            ("户类型", "一般农户"),
            ("家庭人口数", "6"),
            ("劳动力人数", "3"),
            ("人均纯收入（元）", "9000"),
        ],
        &[
            ("户编号", "H3"),
            ("户类型", "一般农户"),
            ("家庭人口数", "3"),
            ("劳动力人数", "2"),
            ("人均纯收入（元）", "9000"),
        ],
    ];
    let mut out = header.join(",") + "\n";
    for row in rows {
        let cells: Vec<&str> =
            header.iter().map(|h| row.iter().find(|(k, _)| k == h).map(|(_, v)| *v).unwrap_or("")).collect();
        out.push_str(&(cells.join(",") + "\n"));
    }
    out
}

#[test]
fn a_variant_adds_checks_seen_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rules = d.join("province.toml");
    std::fs::write(&rules, VARIANT).unwrap();
    let ledger = d.join("户表.csv");
    std::fs::write(&ledger, three_households()).unwrap();
    let run = |extra: &[&str]| {
        tuopin()
            .arg("assess")
            .arg(&ledger)
            .arg("--rules")
            .arg(&rules)
            .args(["--year", "2024"])
            .args(extra)
            .output()
            .unwrap()
    };
    // CSV: the 数据核查 column, the summary counts per check, exit 1 for the 错误.
    let out = run(&["--format", "csv"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let mut r = csv::Reader::from_reader(&out.stdout[3..]);
    assert_eq!(r.headers().unwrap().iter().next_back(), Some("数据核查"));
    let rows: Vec<Vec<String>> = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    let found = |i: usize| rows[i].last().unwrap().clone();
    assert!(
        found(0).contains("【错误】监测对象收入过高：监测对象人均纯收入 25000 ≥ 20000（监测范围 6000）"),
        "{}",
        found(0)
    );
    assert!(found(1).contains("【提示】家庭人口较多：家庭人口数 6：核实分户情况"), "{}", found(1));
    assert!(!found(2).contains("家庭人口较多") && !found(2).contains("监测对象收入过高"), "{}", found(2));
    let err = stderr_of(&out);
    assert!(err.contains("监测对象收入过高（错误）1 户") && err.contains("家庭人口较多（提示）1 户"), "{err}");
    // JSON Lines: the checks key.
    let out = run(&["--format", "jsonl"]);
    let lines = jsonl(&out.stdout);
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["checks"].as_array().unwrap().iter().map(|c| c["check"].as_str().unwrap().to_string()).collect()
    };
    assert!(ids(&lines[0]).contains(&"rich_monitored".to_string()));
    assert_eq!(
        lines[0]["checks"].as_array().unwrap().iter().find(|c| c["check"] == "rich_monitored").unwrap()["severity"],
        "错误"
    );
    assert!(ids(&lines[1]).contains(&"large_household".to_string()));
    // XLSX: the column, the 数据核查 sheet and the 汇总 counts.
    let book = d.join("结果.xlsx");
    let out = run(&["-o", book.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    let sheet = wb.worksheet_range("数据核查").unwrap();
    let cells: Vec<String> = sheet.rows().flat_map(|r| r.iter().map(|c| c.to_string())).collect();
    assert!(cells.iter().any(|c| c == "监测对象收入过高") && cells.iter().any(|c| c == "家庭人口较多"), "{cells:?}");
    let summary = wb.worksheet_range("汇总").unwrap();
    let rows: Vec<(String, String)> = summary.rows().map(|r| (r[0].to_string(), r[1].to_string())).collect();
    assert!(rows.contains(&("数据核查：监测对象收入过高（错误）".into(), "1".into())), "{rows:?}");
    // check: the finding on the screen and in JSON.
    let out = tuopin()
        .args(["check"])
        .arg(&ledger)
        .args(["--id", "H2", "--year", "2024", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("【数据核查】") && text.contains("〔提示〕家庭人口较多：家庭人口数 6"), "{text}");
    // rules check lists them.
    let out = tuopin().args(["rules", "check"]).arg(&rules).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rich_monitored") && text.contains("large_household"), "{text}");
}

#[test]
fn a_check_message_naming_an_unknown_field_is_a_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.toml");
    std::fs::write(&rules, VARIANT.replace("{members}", "{member}")).unwrap();
    let out = tuopin().args(["rules", "check"]).arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("large_household") && err.contains("{member} 不是字段或参数") && err.contains("members"),
        "{err}"
    );
}

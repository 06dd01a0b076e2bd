//! `tuopin assess` on real files.

use crate::support::*;

/// The example ledger against expectations computed by hand from default-rules.md
/// (tests/expected/examples-2024.csv, written independently of the engine).
#[test]
fn example_ledger_matches_hand_computed_decisions() {
    let out = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "--format", "jsonl"]).output().unwrap();
    // The ledger deliberately holds invalid cells: finished with data problems.
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let got = jsonl(&out.stdout);
    let want = expected_rows(&root().join("tests/expected/examples-2024.csv"));
    assert_eq!(got.len(), want.len(), "one output line per household");
    let mut failures = Vec::new();
    for (g, w) in got.iter().zip(&want) {
        let id = &w["household_id"];
        assert_eq!(g["household_id"], id.as_str(), "output in input order");
        let mut check = |what: &str, got: String, want: &str| {
            if got != want {
                failures.push(format!("{id} {what}: expected {want:?}, got {got:?}  ({})", w["note"]));
            }
        };
        let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
        check("eligibility", s(&g["eligibility"]), &w["eligibility"]);
        check("exit", s(&g["exit"]), &w["exit"]);
        check("risk.level", s(&g["risk"]["level"]), &w["risk_level"]);
        check("elimination", s(&g["elimination"]), &w["elimination"]);
        check("risk.suggested_type", s(&g["risk"]["suggested_type"]), &w["suggested_type"]);
        check("risk.returned", g["risk"]["returned"].to_string(), &w["returned"]);
        if w["risk_factors"] != "-" {
            let f: Vec<String> = g["risk"]["factors"].as_array().unwrap().iter().map(s).collect();
            check("risk.factors", f.join("|"), &w["risk_factors"]);
        }
        let mut p: Vec<String> = g["problems"].as_array().unwrap().iter().map(|p| s(&p["field"])).collect();
        p.dedup();
        check("problems", p.join("|"), &w["problems"]);
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Every decision value of default-rules.md is reached by the example (the README promises it):
/// identification and exit in the 攻坚期 (2020; from 2021 they are 不适用, §6.1), the monitoring
/// decisions in 2024 — and 可消除风险 once a 帮扶措施 column records the measures taken (§6.3: with
/// no measure column the example's monitored households stay 待核实).
#[test]
fn example_ledger_reaches_every_decision_value() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/户表.csv")).unwrap();
    let with_measures: String =
        text.lines().enumerate().map(|(i, l)| format!("{l},{}\n", if i == 0 { "产业帮扶" } else { "是" })).collect();
    let measured = dir.path().join("户表-帮扶措施.csv");
    std::fs::write(&measured, with_measures).unwrap();
    let mut got = Vec::new();
    for (file, year) in
        [(root().join("examples/户表.csv"), "2020"), (root().join("examples/户表.csv"), "2024"), (measured, "2024")]
    {
        let out = tuopin().arg("assess").arg(&file).args(["--year", year, "--format", "jsonl"]).output().unwrap();
        got.extend(jsonl(&out.stdout));
    }
    let seen = |path: &[&str]| -> Vec<String> {
        got.iter().map(|r| path.iter().fold(r, |v, k| &v[*k]).as_str().unwrap_or("").to_string()).collect()
    };
    for (path, labels) in [
        (&["eligibility"][..], &["符合识别条件", "不符合", "不符合（排除）", "待核实", "不适用"][..]),
        (&["exit"], &["可退出", "待履行程序", "未达退出标准", "待核实", "不适用"]),
        (&["risk", "level"], &["高", "中", "低", "无", "待核实", "不适用"]),
        (&["elimination"], &["可消除风险", "继续监测", "待核实", "不适用"]),
        (&["risk", "suggested_type"], &["突发严重困难户", "脱贫不稳定户", "边缘易致贫户"]),
    ] {
        let values = seen(path);
        for l in labels {
            assert!(values.iter().any(|v| v == l), "{path:?} never {l}");
        }
    }
}

/// Rows read = households assessed; each decision's counts add up to it.
#[test]
fn summary_adds_up() {
    let out = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "--format", "csv"]).output().unwrap();
    let err = stderr_of(&out);
    let rows = out.stdout.iter().filter(|&&b| b == b'\n').count() - 1;
    assert!(err.contains(&format!("读取 {rows} 行，评估 {rows} 户")), "{err}");
    for line in err.lines().filter(|l| l.contains(" · ")) {
        let total: usize = line
            .split('：')
            .nth(1)
            .unwrap()
            .split(" · ")
            .map(|p| p.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(total, rows, "{line}");
    }
}

#[test]
fn csv_output_is_for_excel_and_masks_ids() {
    let out = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "--format", "csv"]).output().unwrap();
    assert!(out.stdout.starts_with("\u{feff}行号,户编号".as_bytes()));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("520000********0313"));
    assert!(!text.contains("520000196803120313"), "full ID number leaked");
    let shown = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2024", "--format", "csv", "--show-ids", "--no-bom"])
        .output()
        .unwrap();
    assert!(shown.stdout.starts_with("行号".as_bytes()));
    assert!(String::from_utf8(shown.stdout).unwrap().contains("520000196803120313"));
}

#[test]
fn reasons_name_value_threshold_year_and_source() {
    let out =
        tuopin().args(["assess", "tests/data/reasons.csv", "--year", "2020", "--format", "jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let r = &jsonl(&out.stdout)[0];
    assert_eq!(r["exit"], "未达退出标准");
    let texts: Vec<&str> = r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["decision"] == "exit")
        .map(|x| x["text"].as_str().unwrap())
        .collect();
    assert!(texts.iter().any(|t| t.starts_with("人均纯收入 3850 ≤ 扶贫标准 4000（2020年，来源：")), "{texts:?}");
    assert!(texts.contains(&"饮水安全：否"), "{texts:?}");
    let income = r["reasons"].as_array().unwrap().iter().find(|x| x["criterion"] == "exit_income").unwrap();
    assert_eq!(income["status"], "unmet");
    assert_eq!(income["threshold"], "扶贫标准 4000（2020年）");
    assert!(income["source"].as_str().unwrap().contains("厅字〔2016〕16号"));
}

#[test]
fn gbk_file_gives_the_same_assessment_as_utf8() {
    let utf8 = std::fs::read_to_string(root().join("tests/data/reasons.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gbk_path = dir.path().join("gbk.csv");
    std::fs::write(&gbk_path, encoding_rs::GBK.encode(&utf8).0).unwrap();
    let a =
        tuopin().args(["assess", "tests/data/reasons.csv", "--year", "2020", "--format", "jsonl"]).output().unwrap();
    let b = tuopin().arg("assess").arg(&gbk_path).args(["--year", "2020", "--format", "jsonl"]).output().unwrap();
    assert_eq!(a.stdout, b.stdout);
    assert!(stderr_of(&b).contains("GBK"), "{}", stderr_of(&b));
}

#[test]
fn year_outside_the_rule_set_is_an_error_naming_the_years() {
    let out = tuopin().args(["assess", "examples/户表.csv", "--year", "2010"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("不涵盖 2010 年") && err.contains("2011 年起"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_id_column_is_an_error_before_any_row() {
    let out = tuopin().args(["assess", "tests/data/no-id.csv", "--year", "2024"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("户编号"), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
}

/// A column the rules need is unknown for every household, not fatal: decisions it settles are
/// 待核实 naming it, decisions settled without it stand, one warning lists it with what it
/// leaves undecided, and `--strict` stops with the same list.
#[test]
fn missing_needed_column_is_unknown_and_strict_makes_it_fatal() {
    // 2020 (攻坚期), so that exit is decided (from 2021 it is 不适用 for everyone, §6.1).
    let out =
        tuopin().args(["assess", "tests/data/no-water.csv", "--year", "2020", "--format", "jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    let line = "  是否解决安全饮用水：标准 保障缺口、两不愁三保障及饮水安全、饮水安全有保障、因安全饮水；判定 退出、返贫致贫风险、建议监测类型、风险消除、疑似返贫\n";
    // The water column, and the fourteen 帮扶措施 columns on one line (the file has none of them).
    assert_eq!(err.matches("缺少规则所需的 15 列").count(), 1, "{err}");
    assert!(err.contains("  产业帮扶、就业帮扶、公益性岗位帮扶、"), "{err}");
    assert!(err.contains(line), "{err}");
    let rows = jsonl(&out.stdout);
    assert_eq!(rows.len(), 3);
    // Below the line: not ready to exit whatever the water.
    assert_eq!(rows[0]["exit"], "未达退出标准");
    // Everything else met: the water decides, and it is unknown.
    assert_eq!(rows[1]["exit"], "待核实");
    let reasons: Vec<&str> =
        rows[1]["reasons"].as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"缺少列：是否解决安全饮用水"), "{reasons:?}");
    assert_eq!(rows[2]["eligibility"], "不符合");
    assert_eq!(rows[2]["risk"]["level"], "待核实");

    let strict = tuopin().args(["assess", "tests/data/no-water.csv", "--year", "2020", "--strict"]).output().unwrap();
    assert_eq!(strict.status.code(), Some(2));
    let err = stderr_of(&strict);
    assert!(err.contains("缺少规则所需的列（--strict）") && err.contains(line), "{err}");
    assert!(strict.stdout.is_empty());
}

/// A field computed from others (`derive`), its own column absent, is no missing column (the
/// warning does not name it): unknown, it says what it is computed from that is unknown — and a
/// column the warning does name is still `缺少列：…`.
#[test]
fn an_uncomputed_field_names_what_it_is_computed_from() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = std::fs::read_to_string(root().join("examples/户表.csv")).unwrap();
    let mut lines: Vec<Vec<String>> =
        ledger.trim_start_matches('\u{feff}').lines().map(|l| l.split(',').map(String::from).collect()).collect();
    let at = |name: &str| lines[0].iter().position(|h| h == name).unwrap();
    let (own, wage) = (at("人均纯收入（元）"), at("工资性收入"));
    for row in &mut lines[1..] {
        row[wage].clear();
    }
    let without = |cols: &[usize]| -> String {
        lines
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(i, _)| !cols.contains(i))
                    .map(|(_, c)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let values = |name: &str, text: String| -> (String, Vec<String>) {
        let path = file_in(dir.path(), name, &text);
        let out = tuopin().args(["assess"]).arg(&path).args(["--year", "2024", "--format", "jsonl"]).output().unwrap();
        let rows = jsonl(&out.stdout);
        let values = rows
            .iter()
            .flat_map(|r| r["reasons"].as_array().unwrap().iter().map(|x| x["value"].as_str().unwrap().to_string()))
            .filter(|v| v.contains("人均纯收入："))
            .collect();
        (stderr_of(&out), values)
    };
    // 人均纯收入 absent, derivable from the income columns: not named missing; blank 工资性收入 said.
    let (err, shown) = values("derived.csv", without(&[own]));
    assert!(!err.contains("  人均纯收入（元）："), "{err}");
    assert!(
        !shown.is_empty() && shown.iter().all(|v| v.contains("人均纯收入：无法计算（工资性收入：空白")),
        "{shown:?}"
    );
    assert!(shown.iter().all(|v| !v.contains("缺少列")), "{shown:?}");
    // 工资性收入 absent too: not derivable, named missing by the warning and by the reasons.
    let (err, shown) = values("missing.csv", without(&[own, wage]));
    assert!(err.contains("  人均纯收入（元）："), "{err}");
    assert!(!shown.is_empty() && shown.iter().all(|v| v.contains("人均纯收入：缺少列：人均纯收入（元）")), "{shown:?}");
}

#[test]
fn duplicate_household_id_is_a_problem_on_both_rows() {
    let out = tuopin()
        .args(["assess", "tests/data/duplicate-id.csv", "--year", "2024", "--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = jsonl(&out.stdout);
    assert_eq!(rows.len(), 3, "both rows are still assessed");
    for (r, other) in [(&rows[0], "4"), (&rows[2], "2")] {
        let p = &r["problems"][0];
        assert_eq!(p["field"], "household_id");
        assert!(p["message"].as_str().unwrap().contains(&format!("与第 {other} 行相同")), "{p}");
    }
    assert!(rows[1]["problems"].as_array().unwrap().is_empty());
}

#[test]
fn bad_cells_are_problems_with_row_column_value_and_expectation() {
    // 2020 (攻坚期): the exit is decided then (§6.1).
    let out =
        tuopin().args(["assess", "tests/data/bad-cells.csv", "--year", "2020", "--format", "jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = jsonl(&out.stdout);
    let p = &rows[0]["problems"][0];
    assert_eq!(p["row"], 2);
    assert_eq!(p["column"], "人均纯收入（元）");
    assert_eq!(p["value"], "约3000");
    assert!(p["message"].as_str().unwrap().contains("应为金额"));
    // The household is still assessed; the invalid income leaves the exit undecided.
    assert_eq!(rows[0]["exit"], "待核实");
    // Out of range: 劳动力人数 greater than 家庭人口数.
    let p = &rows[1]["problems"][0];
    assert_eq!(p["column"], "劳动力人数");
    assert!(p["message"].as_str().unwrap().contains("不应大于家庭人口数（3）"), "{p}");
    // A short row is accounted for, not dropped.
    assert!(rows[2]["problems"][0]["message"].as_str().unwrap().contains("列"));
}

#[test]
fn output_file_is_written_atomically_and_never_over_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::copy(root().join("tests/data/reasons.csv"), &input).unwrap();
    let out = tuopin().arg("assess").arg(&input).args(["--year", "2020", "-o"]).arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("拒绝覆盖输入"));
    assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(root().join("tests/data/reasons.csv")).unwrap());

    let target = dir.path().join("结果.jsonl");
    let ok = tuopin().arg("assess").arg(&input).args(["--year", "2020", "-o"]).arg(&target).output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", stderr_of(&ok));
    assert_eq!(jsonl(&std::fs::read(&target).unwrap()).len(), 1, "format taken from the .jsonl extension");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    // Enough households for many batches and chunks (the units of parallel work), with messy
    // cells and a repeated id, so that the order in which chunks finish would show.
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.csv");
    let next = dir.path().join("next.csv");
    tuopin()
        .args(["demo-data", "--households", "10000", "--seed", "7", "--messy", "0.05", "-o"])
        .arg(&ledger)
        .arg("--next-quarter")
        .arg(&next)
        .assert()
        .success();
    let mut text = std::fs::read_to_string(&ledger).unwrap();
    let second = text.lines().nth(2).unwrap().to_string();
    text.push_str(&second);
    text.push('\n');
    std::fs::write(&ledger, text).unwrap();
    let run = |threads: &str, format: &str| {
        let out = tuopin()
            .env("RAYON_NUM_THREADS", threads)
            .args(["assess", "--year", "2024", "--format", format])
            .arg(&ledger)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "messy rows are problems: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("读取 10,001 行，评估 10,001 户"), "{}", stderr_of(&out));
        (out.stdout, out.stderr)
    };
    for format in ["csv", "jsonl"] {
        let one = run("1", format);
        assert_eq!(one, run("2", format), "{format}: 1 thread vs 2");
        assert_eq!(one, run("4", format), "{format}: 1 thread vs 4");
    }
    let adjust = |threads: &str| {
        let out_dir = dir.path().join(format!("adjust-{threads}"));
        tuopin()
            .env("RAYON_NUM_THREADS", threads)
            .args(["adjust", "--quarter", "2024Q3", "--previous"])
            .arg(&ledger)
            .arg("--current")
            .arg(&next)
            .arg("-o")
            .arg(&out_dir)
            .output()
            .unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(files.len() > 3, "adjust wrote its lists");
        files.iter().map(|f| (f.file_name().unwrap().to_owned(), std::fs::read(f).unwrap())).collect::<Vec<_>>()
    };
    assert_eq!(adjust("1"), adjust("3"), "adjust lists: 1 thread vs 3");
}

/// The elimination's 帮扶措施 condition (`has_assistance`, a `c ? x : y`) is explained by the branch
/// it takes: no measure column at all → unknown, naming the column; columns present with none
/// recorded → the measures, each 无 — not a formula with "…".
#[test]
fn a_conditional_criterion_is_explained_by_the_branch_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let head = "户编号,户类型,脱贫年度,监测对象类别,识别监测时间,风险是否消除,家庭人口数,劳动力人数,人均纯收入（元）,不愁吃,不愁穿,失学辍学人数,参加基本医疗保险人数,危房等级,是否解决安全饮用水,是否受灾";
    let row = "X1,脱贫户,2019,脱贫不稳定户,202004,否,3,2,8000,是,是,0,3,A,是,否";
    let reasons = |name: &str, text: String| -> String {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = tuopin().arg("assess").arg(&path).args(["--year", "2024", "--format", "jsonl"]).output().unwrap();
        let r = &jsonl(&out.stdout)[0];
        r["reasons"].as_array().unwrap().iter().map(|x| x["text"].as_str().unwrap().to_string()).collect()
    };
    let none = reasons("无列.csv", format!("{head}\n{row}\n"));
    assert!(none.contains("已落实帮扶措施：未知（缺少列：产业帮扶）"), "{none}");
    let blank = reasons("有列.csv", format!("{head},产业帮扶,就业帮扶\n{row},,否\n"));
    assert!(blank.contains("已落实帮扶措施：否（记有帮扶措施：否（产业帮扶：无（空白），就业帮扶：否"), "{blank}");
    assert!(!blank.contains('…'), "{blank}");
}

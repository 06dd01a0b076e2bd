//! `tuopin adjust` and `tuopin demo-data`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::*;

fn summary(dir: &Path) -> BTreeMap<String, u64> {
    let mut r = csv::Reader::from_path(dir.join("汇总.csv")).unwrap();
    // Every row is a count, except the 评估日期.
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[0] != "评估日期")
        .map(|x| (x[0].trim_start_matches('\u{feff}').to_string(), x[1].parse().unwrap()))
        .collect()
}

/// The lists of an `adjust -o DIR` run: its CSV files but 汇总 and 说明 (the provenance), sorted.
fn list_names(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".csv").map(str::to_string))
        .filter(|n| n != "汇总" && n != "说明")
        .collect();
    names.sort();
    names
}

/// Every (list, household id) pair of an `adjust -o DIR` run.
fn memberships(out: &Path) -> Vec<(String, String)> {
    list_names(out).iter().flat_map(|l| list_ids(out, l).into_iter().map(|id| (l.clone(), id))).collect()
}

/// The (list, household id) pairs of a hand-written expectations file.
fn expected_memberships(path: &Path) -> Vec<(String, String)> {
    expected_rows(path).into_iter().map(|r| (r["list"].clone(), r["household_id"].clone())).collect()
}

fn list_ids(dir: &Path, list: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(dir.join(format!("{list}.csv"))).unwrap();
    r.records().map(|x| shown(x.unwrap()[0].trim_start_matches('\u{feff}')).to_string()).collect()
}

#[test]
fn demo_data_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.csv", "b.csv"] {
        let out = tuopin()
            .args(["demo-data", "-n", "500", "--seed", "9", "--messy", "0.1", "-o"])
            .arg(dir.path().join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    assert_eq!(std::fs::read(dir.path().join("a.csv")).unwrap(), std::fs::read(dir.path().join("b.csv")).unwrap());
    // An existing file is not replaced without --force (and nothing is written).
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "mine").unwrap();
    let out = tuopin().args(["demo-data", "-n", "5", "-o"]).arg(&a).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("已存在") && stderr_of(&out).contains("--force"), "{}", stderr_of(&out));
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "mine");
    let out = tuopin().args(["demo-data", "-n", "5", "--force", "-o"]).arg(&a).output().unwrap();
    assert!(out.status.success());
    assert_ne!(std::fs::read_to_string(&a).unwrap(), "mine");
}

/// Every household of both generated quarters is accounted for, and the lists agree with it.
#[test]
fn generated_quarters_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let (q2, q3, out) = (dir.path().join("q2.csv"), dir.path().join("q3.csv"), dir.path().join("out"));
    let gen = tuopin()
        .args(["demo-data", "-n", "3000", "--seed", "3", "--messy", "0.05", "-o"])
        .arg(&q2)
        .arg("--next-quarter")
        .arg(&q3)
        .output()
        .unwrap();
    assert!(gen.status.success());
    let run = tuopin()
        .arg("adjust")
        .arg("--previous")
        .arg(&q2)
        .arg("--current")
        .arg(&q3)
        .args(["--quarter", "2024Q3", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "messy cells are data problems: {}", stderr_of(&run));
    let s = summary(&out);
    assert_eq!(s["上季度户数（行）"], 3000);
    assert_eq!(s["上季度户数（行）"], s["两季度均有"] + s["减少户"] + s["上季度户编号重复（任一季度）的行"]);
    assert_eq!(s["本季度户数（行）"], s["两季度均有"] + s["新增户"] + s["本季度户编号重复（任一季度）的行"]);
    assert_eq!(list_ids(&out, "新增户").len() as u64, s["新增户"]);
    assert_eq!(list_ids(&out, "减少户").len() as u64, s["减少户"]);
    assert_eq!(list_ids(&out, "数据问题").len() as u64, s["本季度有数据问题的户"]);
    assert!(s["减少户"] > 0 && s["新增户"] > 0 && s["名单：人口变化"] > 0);
}

#[test]
fn xlsx_workbook_has_a_sheet_per_list() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("名单.xlsx");
    let run = tuopin()
        .args([
            "adjust",
            "--previous",
            "examples/户表.csv",
            "--current",
            "examples/户表.csv",
            "--quarter",
            "2024Q3",
            "-o",
        ])
        .arg(&book)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let bytes = std::fs::read(&book).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");
}

#[test]
fn quarter_or_date_is_required_and_checked() {
    let out = tuopin()
        .args(["adjust", "--previous", "examples/户表.csv", "--current", "examples/户表.csv", "--quarter", "2024Q5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("2024Q5"));
    let out = tuopin()
        .args(["adjust", "--previous", "examples/户表.csv", "--current", "examples/户表.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// tests/data/adjust: every list of version 1 (default-rules.md §5, declared for every date by
/// tests/data/rules/lists-v1.toml) reached, memberships worked out by hand (make.py explains each).
#[test]
fn hand_computed_quarter_lists() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = tuopin()
        .args(["adjust", "--rules", "tests/data/rules/lists-v1.toml"])
        .args(["--previous", "tests/data/adjust/2024Q2.csv", "--current", "tests/data/adjust/2024Q3.csv"])
        .args(["--quarter", "2024Q3", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let mut got = memberships(&out);
    let mut want = expected_memberships(&root().join("tests/data/adjust/expected.csv"));
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let s = summary(&out);
    assert_eq!(
        (s["上季度户数（行）"], s["两季度均有"], s["减少户"], s["上季度户编号重复（任一季度）的行"]),
        (16, 14, 1, 1)
    );
    assert_eq!((s["本季度户数（行）"], s["新增户"], s["本季度户编号重复（任一季度）的行"]), (17, 1, 2));
    // What changed, and why, in plain Chinese.
    let rows = |list: &str| -> Vec<csv::StringRecord> {
        csv::Reader::from_path(out.join(format!("{list}.csv"))).unwrap().records().map(|r| r.unwrap()).collect()
    };
    let returned = &rows("疑似返贫")[0];
    assert_eq!(&returned[7], "人均纯收入 6100 → 3900");
    assert!(returned[6].contains("人均纯收入 3900 < 扶贫标准 4000"), "{}", &returned[6]);
    assert_eq!(&rows("人口变化")[0][6], "自然减少：家庭人口数 4 → 3");
    assert!(rows("状态异常")[0][6].contains("脱贫户 → 贫困户"));
    let previous_a13 = rows("数据问题").into_iter().find(|r| &r[9] == "上季度").unwrap();
    assert!(previous_a13[6].contains("户编号在本季度重复出现"), "{}", &previous_a13[6]);
}

/// A second pair of quarters with expectations worked out by hand independently (version-1 lists,
/// as above)
/// (tests/data/adjust-helper: 24 → 26 rows, every list reached, notes per membership).
#[test]
fn second_hand_computed_quarter_pair() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let d = "tests/data/adjust-helper";
    let run = tuopin()
        .args([
            "adjust",
            "--rules",
            "tests/data/rules/lists-v1.toml",
            "--previous",
            &format!("{d}/2024Q2.csv"),
            "--current",
            &format!("{d}/2024Q3.csv"),
            "--quarter",
            "2024Q3",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let mut got = memberships(&out);
    let mut want = expected_memberships(&root().join(format!("{d}/adjust-2024Q3.csv")));
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let s = summary(&out);
    let w: std::collections::BTreeMap<String, u64> =
        expected_rows(&root().join(format!("{d}/adjust-2024Q3-summary.csv")))
            .into_iter()
            .map(|r| (r["item"].clone(), r["count"].parse().unwrap()))
            .collect();
    assert_eq!(s["上季度户数（行）"], w["previous_rows"]);
    assert_eq!(s["本季度户数（行）"], w["current_rows"]);
    assert_eq!(s["两季度均有"], w["matched"]);
    assert_eq!(s["新增户"], w["new"]);
    assert_eq!(s["减少户"], w["gone"]);
    assert_eq!(s["本季度户编号重复（任一季度）的行"], w["duplicated_current_rows"]);
    assert_eq!(s["本季度有数据问题的户"], w["households_with_problems"]);
}

/// The 过渡期 lists of default-rules.md §6.5 on the examples (2024Q3, national rule set): only
/// those lists, each non-empty, each row with 户类型, 监测对象类别, 家庭人口数, 识别监测时间 and the
/// risk factors; the summary in 户 and 人; one row of each list worked out by hand
/// (tests/data/adjust/make.py, expected-v2.csv).
#[test]
fn transition_period_lists_on_the_examples() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = adjust_examples().args(["--quarter", "2024Q3", "-o"]).arg(&out).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let lists = [
        "拟纳入监测",
        "重点关注",
        "拟风险消除",
        "疑似返贫",
        "比对疑点",
        "户类型变更",
        "人口变化",
        "新增户",
        "减少户",
        "数据问题",
    ];
    let mut want_names: Vec<String> = lists.iter().map(|s| s.to_string()).collect();
    want_names.sort();
    assert_eq!(list_names(&out), want_names, "only the 过渡期 lists: no 新识别, 拟退出, 待履行退出程序, 拟清退");
    let mut got = memberships(&out);
    let mut want = expected_memberships(&root().join("tests/data/adjust/expected-v2.csv"));
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let rows = |list: &str| -> Vec<BTreeMap<String, String>> {
        let mut r = csv::Reader::from_path(out.join(format!("{list}.csv"))).unwrap();
        let h: Vec<String> =
            r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
        r.records().map(|x| h.iter().cloned().zip(x.unwrap().iter().map(str::to_string)).collect()).collect()
    };
    for l in lists {
        let rs = rows(l);
        assert!(!rs.is_empty(), "{l} is non-empty on the examples");
        for k in ["户类型", "监测对象类别", "家庭人口数", "识别监测时间", "风险因素", "理由", "两季度变化"]
        {
            assert!(rs[0].contains_key(k), "{l} has a {k} column");
        }
    }
    let row =
        |l: &str, id: &str| rows(l).into_iter().find(|r| r["户编号"] == id).unwrap_or_else(|| panic!("{id} on {l}"));
    // Each list's row, by hand (make.py).
    let r = row("拟纳入监测", "A01");
    assert_eq!((r["户类型"].as_str(), r["家庭人口数"].as_str()), ("一般农户", "3"));
    assert_eq!(r["风险因素"], "低于扶贫标准、低于监测范围");
    assert_eq!(r["理由"], "风险高，建议类型：边缘易致贫户");
    assert_eq!(r["两季度变化"], "人均纯收入 4300 → 3500");
    // 回退: its risk had been eliminated (domain-review finding 7).
    let r = row("拟纳入监测", "A17");
    assert_eq!(r["理由"], "回退（风险消除后返贫致贫，重新纳入）：风险高，建议类型：脱贫不稳定户");
    assert_eq!((r["监测对象类别"].as_str(), r["识别监测时间"].as_str()), ("脱贫不稳定户", "2023-01"));
    let r = row("重点关注", "A16");
    assert_eq!((r["风险因素"].as_str(), r["理由"].as_str()), ("因病、因残", "入户核实：风险中，未达纳入监测条件"));
    let r = row("拟风险消除", "A07");
    assert_eq!((r["监测对象类别"].as_str(), r["识别监测时间"].as_str()), ("脱贫不稳定户", "2024-03"));
    assert!(r["理由"].contains("自识别监测时间起的月数 6 ≥ 风险消除最短监测月数 6"), "{}", r["理由"]);
    let r = row("疑似返贫", "A04");
    assert_eq!(r["理由"], "风险因素：低于扶贫标准、低于监测范围、收入骤减");
    let r = row("比对疑点", "A15");
    assert_eq!((r["户类型"].as_str(), r["理由"].as_str()), ("脱贫户", "清退情形：有小汽车：核实该情形是否早于脱贫"));
    assert_eq!(row("户类型变更", "A09")["理由"], "户类型 贫困户 → 一般农户");
    assert_eq!(row("户类型变更", "A08")["两季度变化"], "户类型 脱贫户 → 贫困户");
    let r = row("人口变化", "A05");
    assert_eq!(r["理由"], "减少：家庭人口数 4 → 3（原因待填）");
    assert!(!r["理由"].contains("自然"));
    assert_eq!(row("新增户", "A12")["理由"], "上季度无此户编号");
    let r = row("减少户", "A11");
    assert_eq!((r["来源"].as_str(), r["户类型"].as_str(), r["家庭人口数"].as_str()), ("上季度", "一般农户", "3"));
    let r = row("数据问题", "A14");
    assert!(r["理由"].contains("“人均纯收入（元）”列“约3000”"), "{}", r["理由"]);
    // 户 and 人 per list: every example household has 3 members.
    let s = summary(&out);
    for l in lists {
        let n = s[&format!("名单：{l}")];
        assert_eq!(s[&format!("名单：{l}（人）")], 3 * n, "{l}");
    }
    assert_eq!((s["名单：户类型变更"], s["名单：数据问题"]), (2, 7));
    assert!(stderr_of(&run).contains("名单：拟纳入监测 3 户 9 人 · 重点关注 1 户 3 人"), "{}", stderr_of(&run));
}

/// Before 2021 the national rule set files §5's lists (攻坚期), with none of §6.5's new ones.
#[test]
fn poverty_campaign_quarters_keep_the_version_1_lists() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = adjust_examples().args(["--quarter", "2020Q4", "-o"]).arg(&out).output().unwrap();
    assert!(run.status.code().unwrap() < 2, "{}", stderr_of(&run));
    let mut want: Vec<String> = [
        "新识别",
        "拟退出",
        "待履行退出程序",
        "疑似返贫",
        "拟纳入监测",
        "拟风险消除",
        "拟清退",
        "人口变化",
        "新增户",
        "减少户",
        "状态异常",
        "数据问题",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    want.sort();
    assert_eq!(list_names(&out), want);
    // A02: a 贫困户 with the procedure done and 5000 > 4000 in 2020 → 拟退出.
    assert_eq!(list_ids(&out, "拟退出"), ["A02"]);
    assert!(!summary(&out).keys().any(|k| k.ends_with("（人）")), "§5's summary counts households only");
}

/// A list declared in a variant file, with no code change: its CSV file, its XLSX sheet, its
/// column in the table of counts and its rows in the summary.
#[test]
fn a_list_added_by_a_variant_file_is_written_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "tests/data/rules/extra-list.toml";
    let args = ["adjust", "--rules", rules, "--previous", "examples/2024Q2.csv", "--current", "examples/2024Q3.csv"];
    let args = [&args[..], &["--quarter", "2024Q3"]].concat();
    let out = dir.path().join("out");
    let run = tuopin().args(&args).arg("-o").arg(&out).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    assert_eq!(list_names(&out).len(), 11, "the ten national lists and the new one");
    let text = std::fs::read_to_string(out.join("因病因残走访.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap().trim_start_matches('\u{feff}'),
        "户编号,县(市、区、旗),乡(镇),行政村,户主姓名,户主证件号码,户类型,家庭人口数,风险等级,理由,两季度变化,行号,来源"
    );
    assert_eq!(
        lines.next().unwrap(),
        "A16,示例县,青山镇,石桥村,某某,,一般农户,3,中,有大病慢性病或残疾成员（因病、因残）：入户走访,,17,本季度"
    );
    assert_eq!(lines.next(), None);
    let s = summary(&out);
    assert_eq!((s["名单：因病因残走访"], s["名单：因病因残走访（人）"]), (1, 3));
    assert!(stderr_of(&run).contains("因病因残走访 1 户 3 人"), "{}", stderr_of(&run));
    // XLSX: a sheet of its own, after the national ones.
    let book = dir.path().join("名单.xlsx");
    let run = tuopin().args(&args).arg("-o").arg(&book).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    // The list sheets, the provenance, then the summary by area and the charts.
    let names = wb.sheet_names();
    let area = names.iter().position(|n| n == "地区汇总").unwrap();
    assert_eq!(names[area - 2..area], ["因病因残走访", "说明"]);
    assert_eq!(&names[area..], ["地区汇总", "指标说明", "图表", "名单图表"]);
    let sheet = wb.worksheet_range("因病因残走访").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[1][0].as_str(), rows[1][8].as_str()), ("A16", "中"));
    // The table of counts per village (no -o): a column for it.
    let run = tuopin().args(&args).env("COLUMNS", "400").output().unwrap();
    let table = String::from_utf8(run.stdout).unwrap();
    assert!(table.contains("因病因残走访"), "{table}");
}

/// A list naming something unknown, or repeating a label, stops the run before anything is read
/// (exit 2), in Chinese, with the nearest name.
#[test]
fn list_errors_stop_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let run = |rules: &str| {
        tuopin()
            .args(["adjust", "--rules", rules, "--previous", "examples/2024Q2.csv", "--current", "examples/2024Q3.csv"])
            .args(["--quarter", "2024Q3", "-o"])
            .arg(dir.path().join("out"))
            .output()
            .unwrap()
    };
    let out = run("tests/data/rules/list-misspelled.toml");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("名单 `big_households`") && err.contains("current.membrs") && err.contains("current.members"),
        "{err}"
    );
    let twice = dir.path().join("twice.toml");
    let text = std::fs::read_to_string(root().join("tests/data/rules/extra-list.toml")).unwrap();
    std::fs::write(&twice, text.replace("label = \"因病因残走访\"", "label = \"重点关注\"")).unwrap();
    let out = run(twice.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("名单 `home_visit` 与名单 `watch` 同名（“重点关注”）且适用期间重叠"),
        "{}",
        stderr_of(&out)
    );
    assert!(!dir.path().join("out").exists(), "nothing written");
}

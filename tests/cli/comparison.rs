//! 精准比对 (issue #16): department lists given with `--with`, matched by normalised ID number
//! with the members of examples/人员表.csv (and the heads of its ledger form). The lists are written
//! by tests/data/comparison/make.py: they hit a known set of members with every messy spelling of
//! an ID, and hold rows that cannot match. The expected matches below are written by hand from
//! that script, not from the program's output.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;

const DIR: &str = "tests/data/comparison";
const PERSONS: &str = "examples/人员表.csv";
const LEDGER: &str = "tests/data/persons-as-ledger.csv";

fn with(list: &str, file: &str) -> [String; 2] {
    ["--with".to_string(), format!("{list}={DIR}/{file}")]
}

/// Every list of the fixture.
fn all_lists() -> Vec<String> {
    [
        ("车辆登记", "cars.csv"),
        ("财政供养人员", "public.csv"),
        ("学籍", "xueji.csv"),
        ("医保参保", "insured.csv"),
        ("医保大额自付", "medical.csv"),
    ]
    .iter()
    .flat_map(|(l, f)| with(l, f))
    .collect()
}

fn assess(args: &[String]) -> (Vec<serde_json::Value>, String, i32) {
    let out = tuopin().arg("assess").args(args).output().unwrap();
    (jsonl(&out.stdout), stderr_of(&out), out.status.code().unwrap_or(-1))
}

fn by_id(records: &[serde_json::Value]) -> BTreeMap<String, &serde_json::Value> {
    records.iter().map(|r| (r["household_id"].as_str().unwrap().to_string(), r)).collect()
}

/// (list, row in the list) of each match of a record.
fn matches(r: &serde_json::Value) -> BTreeSet<(String, u64)> {
    r["matches"]
        .as_array()
        .map(|a| a.iter().map(|m| (m["list"].as_str().unwrap().to_string(), m["row"].as_u64().unwrap())).collect())
        .unwrap_or_default()
}

fn checks(r: &serde_json::Value) -> BTreeSet<String> {
    r["checks"].as_array().unwrap().iter().map(|c| c["check"].as_str().unwrap().to_string()).collect()
}

fn set(items: &[(&str, u64)]) -> BTreeSet<(String, u64)> {
    items.iter().map(|(l, r)| (l.to_string(), *r)).collect()
}

#[test]
fn every_member_is_matched_by_normalised_id_with_the_expected_evidence() {
    let mut args: Vec<String> = vec![PERSONS.into(), "--year".into(), "2024".into(), "-f".into(), "jsonl".into()];
    args.extend(all_lists());
    let (records, err, _) = assess(&args);
    let r = by_id(&records);
    // P001: everyone insured (rows 2–5), the child in 学籍 (lower-case x).
    assert_eq!(
        matches(r["P001"]),
        set(&[("医保参保", 2), ("医保参保", 3), ("医保参保", 4), ("医保参保", 5), ("学籍", 2)])
    );
    // P002: 刘某英 in no list: not insured, and the person export says so too.
    assert_eq!(matches(r["P002"]), set(&[("医保参保", 6), ("医保参保", 7)]));
    assert_eq!(checks(r["P002"]), BTreeSet::from(["comparison_uninsured".to_string()]));
    // P003: the head's car (ID written with spaces); 杨某林 (14) missing from 学籍, dropouts 0.
    assert_eq!(matches(r["P003"]), set(&[("车辆登记", 3), ("医保大额自付", 4), ("医保参保", 8), ("医保参保", 9)]));
    assert_eq!(checks(r["P003"]), BTreeSet::from(["comparison_car".to_string(), "comparison_dropout".to_string()]));
    // P004: the head's car in the 15-digit form; the spouse a 财政供养人员 (Excel's ' marker).
    assert_eq!(
        matches(r["P004"]),
        set(&[("车辆登记", 5), ("医保参保", 10), ("医保参保", 12), ("医保参保", 14), ("财政供养人员", 2), ("学籍", 3)])
    );
    assert_eq!(
        checks(r["P004"]),
        BTreeSet::from(["comparison_car".to_string(), "comparison_public_employee".to_string()])
    );
    // P005: the head's car in full-width digits; the spouse's two settlements (x and X) 6000.50 > 6000.
    assert_eq!(
        matches(r["P005"]),
        set(&[("车辆登记", 4), ("医保参保", 11), ("医保参保", 13), ("医保大额自付", 2), ("医保大额自付", 3)])
    );
    assert_eq!(checks(r["P005"]), BTreeSet::from(["comparison_car".to_string()]));
    let factors: Vec<&str> =
        r["P005"]["risk"]["factors"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(factors, ["below_monitoring", "large_medical_self_pay"]);
    // P003's 300 is not a large self-payment.
    assert!(!r["P003"]["risk"]["factors"].as_array().unwrap().iter().any(|f| f == "large_medical_self_pay"));
    // The evidence: department, member row, masked ID, the record's values.
    let car = &r["P003"]["matches"].as_array().unwrap().iter().find(|m| m["list"] == "车辆登记").unwrap().clone();
    assert_eq!(car["member_row"], 9);
    assert_eq!(car["id"], "520000********0012");
    assert_eq!(car["values"]["号牌"], "贵A12345");
    assert_eq!(car["values"]["登记年月"], "2022-05");
    // Rows that cannot match are counted and listed; unmatched records too.
    for want in [
        "比对名单“车辆登记”：tests/data/comparison/cars.csv，读取 8 行，有效证件号码 4 行，证件号码为空 1 行",
        "警告：tests/data/comparison/cars.csv：2 行 Excel 已把身份证号变成数字，末几位已丢失，此行无法比对（第 6、7 行）",
        "警告：tests/data/comparison/cars.csv：1 行证件号码无效，无法比对：",
        "  第 8 行：520000*******8001：身份证号码应为 18 位（或旧式 15 位），此处为 17 位",
        "比对名单“车辆登记”：4 条记录中 3 条与台账成员相符，1 条未找到对应成员（第 10 行）",
        "比对名单“医保参保”：13 条记录中 13 条与台账成员相符，0 条未找到对应成员",
        "注意：未提供比对名单 工商登记、低保特困在册、残疾人证、个税纳税、城镇购房、社保缴费",
    ] {
        assert!(err.contains(want), "stderr lacks {want:?}:\n{err}");
    }
}

#[test]
fn csv_reasons_cite_the_records_and_the_workbook_lists_every_match() {
    let dir = tempfile::tempdir().unwrap();
    let csv_out = dir.path().join("结果.csv");
    let out = tuopin()
        .args(["assess", PERSONS, "--year", "2024", "-o"])
        .arg(&csv_out)
        .args(with("车辆登记", "cars.csv"))
        .output()
        .unwrap();
    // Exit 1: P001 is a 贫困户 after 2020 (an 错误-level finding).
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&csv_out).unwrap();
    let p003 = text.lines().find(|l| l.contains(",P003,")).unwrap();
    assert!(
        p003.contains("比对：车辆登记（第 3 行）成员（第 9 行）520000********0012：号牌 贵A12345，登记年月 2022-05，车辆类型 小型轿车"),
        "{p003}"
    );
    let book = dir.path().join("结果.xlsx");
    let mut args: Vec<String> = vec!["assess".into(), PERSONS.into(), "--year".into(), "2024".into(), "-o".into()];
    args.push(book.display().to_string());
    args.extend(all_lists());
    let out = tuopin().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let rows = sheet_text(&book, "比对结果");
    assert_eq!(rows[0], ["行号", "户编号", "行政村", "比对名单", "名单行号", "成员行号", "证件号码", "记录内容"]);
    // 5 + 2 + 4 + 6 + 5 matches (the JSON test above).
    assert_eq!(rows.len() - 1, 22);
    assert!(rows.iter().any(|r| r[1] == "P004" && r[3] == "财政供养人员" && r[6] == "520000********0029"));
}

#[test]
fn evidence_excludes_in_2020_and_nothing_changes_without_lists() {
    let csv = |extra: &[String]| {
        let out = tuopin().args(["assess", PERSONS, "--year", "2020", "-f", "csv"]).args(extra).output().unwrap();
        let mut r = csv::Reader::from_reader(&out.stdout[..]);
        r.records().map(|x| x.unwrap()).map(|x| (x[1].to_string(), x[8].to_string())).collect::<Vec<_>>()
    };
    let with_cars = csv(&with("车辆登记", "cars.csv"));
    let without = csv(&[]);
    let get = |v: &[(String, String)], id: &str| v.iter().find(|x| x.0 == id).unwrap().1.clone();
    assert_eq!(get(&with_cars, "P003"), "不符合（排除）");
    assert_eq!(get(&with_cars, "P005"), "不符合（排除）");
    assert_eq!(get(&without, "P003"), "不符合");
    assert_eq!(get(&without, "P005"), "不符合");
    // Without any list the output is what it was before lists existed: no 比对 text at all.
    let out = tuopin().args(["assess", PERSONS, "--year", "2024", "-f", "csv"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("比对"));
}

#[test]
fn a_rule_reading_a_list_not_given_is_undecided_naming_the_list() {
    let rules = format!("{DIR}/province.toml");
    let run = |extra: &[String]| {
        let out = tuopin()
            .args(["assess", PERSONS, "--year", "2024", "-f", "jsonl", "--rules", &rules])
            .args(extra)
            .output()
            .unwrap();
        jsonl(&out.stdout)
    };
    let without = run(&[]);
    for r in &without {
        assert_eq!(r["car_check"], "待核实");
        let why: Vec<String> =
            r["reasons"].as_array().unwrap().iter().map(|x| x["text"].as_str().unwrap_or("").to_string()).collect();
        assert!(why.iter().any(|t| t.contains("缺少比对名单：车辆登记")), "{why:?}");
    }
    let given = run(&with("车辆登记", "cars.csv"));
    let r = by_id(&given);
    for (id, want) in [("P001", "无车"), ("P002", "无车"), ("P003", "有车"), ("P004", "有车"), ("P005", "有车")]
    {
        assert_eq!(r[id]["car_check"], want, "{id}");
    }
}

#[test]
fn a_household_ledger_is_compared_by_its_head_with_a_warning() {
    let mut args: Vec<String> = vec![LEDGER.into(), "--year".into(), "2024".into(), "-f".into(), "jsonl".into()];
    args.extend(with("车辆登记", "cars.csv"));
    args.extend(with("财政供养人员", "public.csv"));
    let (records, err, _) = assess(&args);
    assert!(err.contains("是户表：只按户主证件号码比对了户主，家庭其他成员未与比对名单比对"), "{err}");
    let r = by_id(&records);
    assert_eq!(matches(r["P003"]), set(&[("车辆登记", 3)]));
    assert_eq!(matches(r["P004"]), set(&[("车辆登记", 5)]));
    assert_eq!(matches(r["P005"]), set(&[("车辆登记", 4)]));
    assert!(matches(r["P001"]).is_empty());
    // The spouse in 财政供养人员 is not the head: a ledger cannot see her.
    assert!(!checks(r["P004"]).contains("comparison_public_employee"));
    assert_eq!(r["P003"]["matches"][0].get("member_row"), None);
    assert!(
        err.contains("比对名单“财政供养人员”：1 条记录中 0 条与台账成员相符，1 条未找到对应成员（第 2 行）"),
        "{err}"
    );
}

#[test]
fn check_with_lists_every_match_of_the_household() {
    let out = tuopin()
        .args(["check", PERSONS, "--id", "P003", "--year", "2024"])
        .args(with("车辆登记", "cars.csv"))
        .args(with("学籍", "xueji.csv"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("比对结果（--with）："), "{text}");
    assert!(text.contains("车辆登记（第 3 行）成员（第 9 行）520000********0012：号牌 贵A12345"), "{text}");
    assert!(text.contains("信息比对：车辆登记有车，台账为无小汽车"), "{text}");
    assert!(text.contains("信息比对：适龄成员不在学籍中"), "{text}");
    let out = tuopin()
        .args(["check", PERSONS, "--id", "P002", "--year", "2024"])
        .args(with("车辆登记", "cars.csv"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("比对结果（--with）：所给比对名单中没有本户成员"));
}

#[test]
fn adjust_with_lists_puts_matched_households_on_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[String], to: &std::path::Path| {
        tuopin()
            .args(["adjust", "--previous", &format!("{DIR}/2024Q2.csv"), "--current", &format!("{DIR}/2024Q3.csv")])
            .args(["--quarter", "2024Q3", "--rules", &format!("{DIR}/province.toml"), "-o"])
            .arg(to)
            .args(extra)
            .output()
            .unwrap()
    };
    let given = dir.path().join("given");
    let out = run(&with("车辆登记", "cars.csv"), &given);
    assert!(given.join("信息比对清退核查.csv").is_file(), "{}", stderr_of(&out));
    let list = std::fs::read_to_string(given.join("信息比对清退核查.csv")).unwrap();
    let ids: Vec<&str> = list.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ids, ["P003", "P004", "P005"]);
    assert!(list.contains("信息比对：车辆登记记录数 1"));
    let none = dir.path().join("none");
    run(&[], &none);
    assert_eq!(std::fs::read_to_string(none.join("信息比对清退核查.csv")).unwrap().lines().count(), 1);
}

#[test]
fn a_bad_with_is_a_usage_error_naming_what_to_write() {
    let cases: [(&[&str], &str); 4] = [
        (&["--with", "不存在=x.csv"], "规则集没有名为“不存在”的比对名单：可用"),
        (&["--with", "车辆登记"], "--with 应写成 名单=文件"),
        (&["--with", "车辆登记=tests/data/comparison/make.py"], "找不到证件号码列"),
        (
            &["--with", "车辆登记=tests/data/comparison/cars.csv", "--with", "cars=tests/data/comparison/cars.csv"],
            "同一名单给了两次",
        ),
    ];
    for (extra, want) in cases {
        let out = tuopin().args(["assess", PERSONS, "--year", "2024"]).args(extra).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(stderr_of(&out).contains(want), "{extra:?}: {}", stderr_of(&out));
    }
}

/// Every full ID and the phone number planted in the department files, as 18 characters: none
/// reaches any output (files, stdout, stderr) of assess, check or adjust without `--show-ids`.
#[test]
fn nothing_from_a_department_file_leaves_unmasked() {
    let mut secrets: BTreeSet<String> = BTreeSet::from(["13812345678".to_string()]);
    for f in ["cars.csv", "public.csv", "xueji.csv", "insured.csv", "medical.csv"] {
        let text = std::fs::read_to_string(format!("{DIR}/{f}")).unwrap();
        for cell in text.split([',', '\n']) {
            if let Some(tuopin::value::idnum::Id::Valid(k)) = tuopin::value::idnum::parse(cell) {
                secrets.insert(tuopin::value::idnum::key_text(k));
            }
        }
    }
    assert!(secrets.len() > 14, "{secrets:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut seen = String::new();
    for (k, to) in ["结果.csv", "结果.jsonl", "结果.xlsx"].iter().enumerate() {
        let path = dir.path().join(to);
        let mut args: Vec<String> = vec!["assess".into(), if k == 0 { LEDGER.into() } else { PERSONS.into() }];
        args.extend(["--year".into(), "2024".into(), "-o".into(), path.display().to_string()]);
        args.extend(all_lists());
        let out = tuopin().args(&args).output().unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&stderr_of(&out));
        seen.push_str(&read_all(&path));
    }
    for id in ["P003", "P004"] {
        let mut args: Vec<String> =
            vec!["check".into(), PERSONS.into(), "--id".into(), id.into(), "--year".into(), "2024".into()];
        args.extend(all_lists());
        let out = tuopin().args(&args).output().unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&stderr_of(&out));
    }
    for s in &secrets {
        assert!(!seen.contains(s.as_str()), "{s} left unmasked");
    }
    // With --show-ids they are shown (the test can fail).
    let mut args: Vec<String> = vec![
        "assess".into(),
        PERSONS.into(),
        "--year".into(),
        "2024".into(),
        "-f".into(),
        "csv".into(),
        "--show-ids".into(),
    ];
    args.extend(all_lists());
    let out = tuopin().args(&args).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("520000198002020012") && shown.contains("13812345678"));
}

fn read_all(path: &std::path::Path) -> String {
    if path.extension().is_some_and(|e| e == "xlsx") {
        use calamine::Reader;
        let mut wb = calamine::open_workbook_auto(path).unwrap();
        let mut cells = Vec::new();
        for name in wb.sheet_names() {
            let range = wb.worksheet_range(&name).unwrap();
            cells.extend(range.rows().flat_map(|r| r.iter().map(|c| c.to_string())));
        }
        cells.join("\n")
    } else {
        std::fs::read_to_string(path).unwrap()
    }
}

#[test]
fn reconcile_lists_who_is_on_one_roster_and_not_another() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("差异.csv");
    let out = tuopin()
        .args(["reconcile", &format!("医保参保={DIR}/insured.csv"), &format!("车辆={DIR}/cars.csv"), "-o"])
        .arg(&to)
        .output()
        .unwrap();
    // Exit 1: cars.csv has rows that cannot be compared (listed on stderr).
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("2 行 Excel 已把身份证号变成数字"), "{err}");
    assert!(
        err.contains("不在“医保参保”中而在其他名单中：1 人") && err.contains("不在“车辆”中而在其他名单中：10 人"),
        "{err}"
    );
    let mut r = csv::Reader::from_path(&to).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["证件号码", "姓名", "医保参保（行号）", "车辆（行号）", "差异"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    // 13 insured + 1 car owner of nobody's ID, less the 3 on both.
    assert_eq!(rows.len(), 11);
    let nobody = rows.iter().find(|x| x[3] == *"10").unwrap();
    assert_eq!(&nobody[0], "110101********0011");
    assert_eq!(&nobody[4], "在车辆中，不在医保参保中");
    let yang = rows.iter().find(|x| &x[1] == "杨某林").unwrap();
    assert_eq!((&yang[2], &yang[3], &yang[4]), ("9", "", "在医保参保中，不在车辆中"));
    // Three people are on both (杨某平 with spaces, 吴某勇 full-width, 黄某秀 15 digits): not listed.
    assert!(!rows.iter().any(|x| ["杨某平", "吴某勇", "黄某秀"].contains(&&x[1])));
    let bad = tuopin().args(["reconcile", "低保", &format!("车辆={DIR}/cars.csv")]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr_of(&bad).contains("名单应写成 名称=文件"));
}

/// Rules read a list as the records matched to the household (`cars.exists(r, …)`,
/// `sum(medical.map(r, r.self_paid))`) and a member's own (`m.medical.size()`); without the list
/// each is 待核实, and a ledger row has no members to look at.
#[test]
fn rules_read_lists_as_records_with_cel_macros() {
    let rules = format!("{DIR}/records.toml");
    let run = |input: &str, extra: &[String]| {
        let args = ["assess", input, "--year", "2024", "-f", "jsonl", "--rules", &rules];
        let out = tuopin().args(args).args(extra).output().unwrap();
        // (Exit 1: the example has a check of level 错误.)
        assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
        jsonl(&out.stdout)
    };
    let mut lists = with("车辆登记", "cars.csv").to_vec();
    lists.extend(with("医保大额自付", "medical.csv"));
    let given = run(PERSONS, &lists);
    let r = by_id(&given);
    // cars.csv: P003's head a 小型轿车 (ID with spaces); P004's a 小型普通客车 (15 digits), P005's a
    // 小型越野客车 (full-width); P002's head lost to Excel, its 刘某英 row a different ID.
    // medical.csv: P005's spouse 5000 + 1000.50; P003's head 300.
    for (id, sedan, paid, patients) in [
        ("P001", "无轿车", "未超过", "无"),
        ("P002", "无轿车", "未超过", "无"),
        ("P003", "有轿车", "未超过", "有"),
        ("P004", "无轿车", "未超过", "无"),
        ("P005", "无轿车", "超过5000元", "有"),
    ] {
        assert_eq!(
            (&r[id]["sedan"], &r[id]["self_paid"], &r[id]["patients"]),
            (&sedan.into(), &paid.into(), &patients.into()),
            "{id}"
        );
    }
    let reasons = |r: &serde_json::Value| r["reasons"].to_string();
    assert!(reasons(r["P005"]).contains("医保大额自付个人自付合计 6000.5 > 5000"), "{}", reasons(r["P005"]));
    for rec in run(PERSONS, &[]) {
        assert_eq!(
            (&rec["sedan"], &rec["self_paid"], &rec["patients"]),
            (&"待核实".into(), &"待核实".into(), &"待核实".into())
        );
        assert!(reasons(&rec).contains("缺少比对名单：车辆登记"), "{}", reasons(&rec));
    }
    // A ledger row: its head's records; no member list for the member macro.
    let ledger = run(LEDGER, &lists);
    let r = by_id(&ledger);
    assert_eq!((&r["P003"]["sedan"], &r["P003"]["patients"]), (&"有轿车".into(), &"待核实".into()));
    assert_eq!(r["P005"]["self_paid"], "未超过", "the ledger compares the head only: the spouse's 6000.50 is not seen");
}

/// The 民政, 人社 and 税务 lists of the national rules (generated here): a 低保 record against a
/// ledger saying 否, 个人所得税 paid, an employee's social insurance — checks, not exclusions.
#[test]
fn civil_affairs_tax_and_social_insurance_lists_are_checks() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    // P001's head 王某华 in 农村低保 (its ledger row says 享受低保 blank: no finding); P003's head
    // 杨某平 in 农村低保 while P003 says nothing either; P004's 周某梅 in 特困.
    let dibao = write(
        "dibao.csv",
        "姓名,身份证号码,保障类别,纳入年月,月保障金额\n王某华,520000197903050011,农村低保,2021-03,420\n周某梅,520000197001010029,农村特困（分散供养）,2020-01,800\n",
    );
    // P005's spouse paid tax (lower-case x); P002's head paid none.
    let tax = write(
        "tax.csv",
        "纳税人姓名,身份证号码,所属年度,已缴税额\n吴某梅,52000019921010002x,2023,156.20\n陈某强,520000197408080010,2023,0\n",
    );
    let social = write(
        "social.csv",
        "身份证号码,险种,参保单位,缴费金额\n520000196805100017,企业职工基本养老保险,示例县某建材公司,3600\n520000198002020012,城乡居民基本养老保险,,200\n",
    );
    let args: Vec<String> = vec![PERSONS.into(), "--year".into(), "2024".into(), "-f".into(), "jsonl".into()];
    let lists = [
        "--with".to_string(),
        format!("低保特困在册={dibao}"),
        "--with".into(),
        format!("个税纳税={tax}"),
        "--with".into(),
        format!("社保缴费={social}"),
    ];
    let (records, err, _) = assess(&[args.clone(), lists.to_vec()].concat());
    let r = by_id(&records);
    let ours = |id: &str| -> BTreeSet<String> {
        checks(r[id])
            .into_iter()
            .filter(|c| {
                ["comparison_dibao", "comparison_tekun", "comparison_income_tax", "comparison_employee_insurance"]
                    .contains(&c.as_str())
            })
            .collect()
    };
    let set_of = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<BTreeSet<String>>();
    // examples/人员表.csv leaves 享受低保 and 享受特困供养 out: the ledger-side fields are unknown,
    // so the 民政 checks cannot find a contradiction.
    assert_eq!(ours("P001"), set_of(&[]));
    assert_eq!(ours("P002"), set_of(&[]));
    assert_eq!(ours("P004"), set_of(&["comparison_employee_insurance"]));
    assert_eq!(ours("P005"), set_of(&["comparison_income_tax"]));
    let text = r["P005"]["checks"].to_string();
    assert!(text.contains("已缴个人所得税合计 156.2 元"), "{text}");
    assert!(err.contains("比对名单“个税纳税”：2 条记录中 2 条与台账成员相符"), "{err}");
    // Not an exclusion: identification is what it is without the lists.
    let (plain, _, _) = assess(&args);
    let p = by_id(&plain);
    for id in ["P001", "P002", "P003", "P004", "P005"] {
        assert_eq!(r[id]["eligibility"], p[id]["eligibility"], "{id}");
    }
    // With the ledger saying 否, the 低保 and 特困 records contradict it.
    let ledger = write(
        "台账.csv",
        "户编号,户主姓名,户主证件号码,户类型,家庭人口数,人均纯收入（元）,是否享受低保,是否享受特困供养\nL1,王某华,520000197903050011,一般农户,3,8000,否,否\nL2,周某梅,520000197001010029,一般农户,1,8000,否,是\n",
    );
    let (records, err, _) =
        assess(&[vec![ledger, "--year".into(), "2024".into(), "-f".into(), "jsonl".into()], lists.to_vec()].concat());
    let r = by_id(&records);
    assert!(checks(r["L1"]).contains("comparison_dibao"), "{err}");
    assert!(!checks(r["L1"]).contains("comparison_tekun"));
    assert!(!checks(r["L2"]).contains("comparison_tekun"), "the ledger says 是");
    assert!(!checks(r["L2"]).contains("comparison_dibao"), "a 特困 record is not a 低保 one");
}

/// compare-rules and notice take --with as assess does: each rule set reads the lists, and the
/// outputs record them (name, size, SHA-256) as inputs.
#[test]
fn compare_rules_and_notice_read_the_lists_given() {
    let sedans = format!("{DIR}/sedans.toml");
    let compare = |extra: &[String]| {
        let out = tuopin()
            .args(["compare-rules", PERSONS, "--rules", "national", "--rules", &sedans, "--year", "2020"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        let mut r = csv::Reader::from_reader(&out.stdout[..]);
        r.records()
            .map(|x| x.unwrap())
            .map(|x| (x[1].to_string(), x[7].to_string(), x[8].to_string(), x[9].to_string()))
            .collect::<Vec<_>>()
    };
    // national excludes P005 for its 小型越野客车; the province only for a 小型轿车 (P003's, who is
    // 不符合 by income anyway): P005 alone differs. Without the list neither reads it.
    let with_cars = compare(&with("车辆登记", "cars.csv"));
    assert_eq!(with_cars, [("P005".into(), "识别".into(), "不符合（排除）".into(), "不符合".into())]);
    assert_eq!(compare(&[]), []);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("差异.csv");
    let o = tuopin()
        .args(["compare-rules", PERSONS, "--rules", "national", "--rules", &sedans, "--year", "2020", "-o"])
        .arg(&out)
        .args(with("车辆登记", "cars.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("差异.csv.说明.json")).unwrap()).unwrap();
    let names: Vec<&str> = side["inputs"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["人员表.csv", "cars.csv"]);
    // notice: the list is read and recorded.
    let page = dir.path().join("公示.html");
    let o = tuopin()
        .args(["notice", PERSONS, "--year", "2020", "-o"])
        .arg(&page)
        .args(with("车辆登记", "cars.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert!(
        stderr_of(&o).contains("比对名单“车辆登记”：4 条记录中 3 条与台账成员相符")
            || stderr_of(&o).contains("比对名单“车辆登记”：tests/data/comparison/cars.csv，读取 8 行"),
        "{}",
        stderr_of(&o)
    );
    let side = std::fs::read_to_string(dir.path().join("公示.html.说明.json")).unwrap();
    assert!(side.contains("\"cars.csv\"") && side.contains("车辆登记=tests/data/comparison/cars.csv"), "{side}");
}

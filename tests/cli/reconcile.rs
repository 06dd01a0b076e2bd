//! `tuopin reconcile`: the differences between rosters that the rule file says need action
//! (`[reconcile.*]`), on rosters generated here with the ID spellings real rosters hold (spaces,
//! full-width digits, lower-case x, the 15-digit form, an ID Excel turned into a number, an
//! invalid ID) and a phone number planted in a carried column.

use crate::support::{stderr_of, tuopin};

const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// A valid 18-character ID of someone born on `birth` (yyyymmdd), sequence `seq`.
fn id(birth: &str, seq: u32) -> String {
    let body = format!("520101{birth}{seq:03}");
    let sum: u32 = body.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() || c == 'X' { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c })
        .collect()
}

/// The masked form outputs show (`520101********123X`).
fn masked(id: &str) -> String {
    format!("{}********{}", &id[..6], &id[14..])
}

/// The people of the rosters: (name, ID).
struct People {
    a: String, // 低保, income 400/month: below the line, not monitored → listed
    b: String, // 低保, income 300, monitored (the monitoring roster has the 15-digit form) → not
    c: String, // 低保, income 900/month = 10800 a year: above the line → not
    d: String, // 特困, income 100: not 低保 → not
    e: String, // 低保, income blank: undecided, counted
    f: String, // 低保, income 350, written in the 15-digit form in the 低保 roster → listed
    g: String, // 脱贫户, income 5000 a year, not monitored → listed by the second rule
    h: String, // 脱贫户, income 5000, monitored → not
    x: String, // ends in x: 低保 written with a lower-case x, income 200 → listed
}

fn people() -> People {
    let mut x = String::new();
    for seq in 0..50 {
        let cand = id("19700101", 100 + seq);
        if cand.ends_with('X') {
            x = cand;
            break;
        }
    }
    People {
        a: id("19600101", 1),
        b: id("19610101", 2),
        c: id("19620101", 3),
        d: id("19630101", 4),
        e: id("19640101", 5),
        f: id("19650101", 6),
        g: id("19660101", 7),
        h: id("19670101", 8),
        x,
    }
}

fn fifteen(id: &str) -> String {
    format!("{}{}", &id[..6], &id[8..17])
}

/// Writes the three rosters into `dir`: (低保, 监测, 脱贫户).
fn rosters(dir: &std::path::Path, p: &People) -> [std::path::PathBuf; 3] {
    let spaced = |i: &str| format!("{} {} {}", &i[..6], &i[6..14], &i[14..]);
    let dibao = format!(
        "示例县低保特困在册人员（民政局导出）\n序号,姓名,身份证号码,保障类别,家庭月人均收入,联系电话\n\
         1,甲,{},农村低保,400,13812345678\n\
         2,乙,{},农村低保,300,\n\
         3,丙,{},农村低保,900,\n\
         4,丁,{},农村特困,100,\n\
         5,戊,{},农村低保,,\n\
         6,己,{},农村低保,350,\n\
         7,庚,5.20101196801E+17,农村低保,100,\n\
         8,辛,52010119690101001,农村低保,100,\n\
         9,壬,{},农村低保,200,\n",
        spaced(&p.a),
        fullwidth(&p.b),
        p.c,
        p.d,
        p.e,
        fifteen(&p.f),
        p.x.to_lowercase(),
    );
    let monitor = format!("证件号码,姓名,监测对象类别\n{},乙,边缘易致贫户\n{},辛,脱贫不稳定户\n", fifteen(&p.b), p.h);
    let exited = format!(
        "公民身份号码,姓名,人均纯收入,脱贫年度\n{},庚,5000,2019\n{},辛,5000,2018\n{},甲,12000,2019\n",
        p.g, p.h, p.a
    );
    let files = [dir.join("低保.csv"), dir.join("监测.csv"), dir.join("脱贫户.csv")];
    for (f, text) in files.iter().zip([dibao, monitor, exited]) {
        std::fs::write(f, text).unwrap();
    }
    files
}

fn run(args: &[String]) -> (Option<i32>, Vec<csv::StringRecord>, Vec<String>, String) {
    let out = tuopin().arg("reconcile").args(args).output().unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let head = r.headers().unwrap().iter().map(String::from).collect();
    (out.status.code(), r.records().map(|x| x.unwrap()).collect(), head, stderr_of(&out))
}

#[test]
fn reconcile_lists_the_differences_the_rule_file_says_need_action_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = people();
    let [dibao, monitor, exited] = rosters(dir.path(), &p);
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v = vec![
            format!("低保特困在册={}", dibao.display()),
            format!("防返贫监测对象={}", monitor.display()),
            format!("exited_roll={}", exited.display()),
            "--year".into(),
            "2024".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let (code, rows, head, err) = run(&args(&[]));
    // Exit 1: the 低保 roster has a row Excel turned into a number and an invalid ID (listed).
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("1 行 Excel 已把身份证号变成数字") && err.contains("1 行证件号码无效"), "{err}");
    assert_eq!(
        head,
        ["证件号码", "差异", "级别", "低保特困在册", "防返贫监测对象", "脱贫户名单", "说明", "措施", "来源"]
    );
    let got: Vec<(&str, &str)> = rows.iter().map(|r| (&r[0], &r[1])).collect();
    let dibao_rule = "低保户收入低于监测范围未纳入监测";
    let exited_rule = "脱贫户收入低于监测范围未纳入监测";
    // The 低保 roster's order (甲, 己 in the 15-digit form, 壬 with a lower-case x), then the
    // 脱贫户 roster's people not seen yet (庚's G).
    let want = [
        (masked(&p.a), dibao_rule),
        (masked(&p.f), dibao_rule),
        (masked(&p.x), dibao_rule),
        (masked(&p.g), exited_rule),
    ];
    let want: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_eq!(got, want, "{err}");
    // The reason each side gives: the row and values of each roster; the monitoring line in force.
    let a = &rows[0];
    assert_eq!(&a[2], "警告");
    assert!(
        a[3].starts_with("第 3 行：") && a[3].contains("家庭月人均收入 400") && a[3].contains("保障类别 农村低保"),
        "{:?}",
        a
    );
    assert_eq!(&a[4], "不在名单中");
    assert!(a[5].contains("人均纯收入 12000"), "{:?}", a);
    assert!(a[6].contains("6000"), "{:?}", a);
    assert!(a[7].contains("纳入防返贫监测") && a[8].contains("S8"), "{:?}", a);
    assert!(rows[3][3] == *"不在名单中" && rows[3][5].contains("人均纯收入 5000"), "{:?}", rows[3]);
    assert!(err.contains("名单比对“低保户收入低于监测范围未纳入监测”：3 人"), "{err}");
    assert!(err.contains("另有 1 人因名单中缺值无法判定"), "{err}");
    assert!(err.contains("名单比对“脱贫户收入低于监测范围未纳入监测”：1 人"), "{err}");
    // The phone planted in the 低保 roster is not carried; no full ID anywhere without --show-ids.
    let (_, shown_rows, _, _) = run(&args(&["--show-ids"]));
    assert_eq!(crate::support::shown(&shown_rows[0][0]), p.a.as_str());
    let all: String = rows.iter().flat_map(|r| r.iter().map(String::from)).collect::<Vec<_>>().join(",");
    for full in [&p.a, &p.f, &p.x, &p.g] {
        assert!(!all.contains(full.as_str()), "{full} unmasked");
    }
    assert!(!all.contains("13812345678"));
}

#[test]
fn reconcile_without_a_roster_a_rule_needs_does_not_evaluate_it_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = people();
    let [dibao, monitor, _] = rosters(dir.path(), &p);
    let (_, rows, head, err) = run(&[
        format!("低保特困在册={}", dibao.display()),
        format!("防返贫监测对象={}", monitor.display()),
        "--year".into(),
        "2024".into(),
    ]);
    assert_eq!(head[3..5], ["低保特困在册", "防返贫监测对象"]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(err.contains("名单比对“脱贫户收入低于监测范围未纳入监测”未评估：缺少名单 脱贫户名单"), "{err}");
    // Only rosters no rule reads together: nothing evaluated, and --all suggested.
    let (_, rows, _, err) = run(&[
        format!("脱贫户名单={}", dir.path().join("脱贫户.csv").display()),
        format!("低保特困在册={}", dibao.display()),
        "--year".into(),
        "2024".into(),
    ]);
    assert!(rows.is_empty());
    assert!(err.contains("没有可评估的名单比对规则") && err.contains("--all"), "{err}");
    // In English, the summary too.
    let out = tuopin()
        .args([
            "--lang",
            "en",
            "reconcile",
            &format!("低保特困在册={}", dibao.display()),
            &format!("防返贫监测对象={}", monitor.display()),
            "--year",
            "2024",
        ])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(err.contains("roster difference \"低保户收入低于监测范围未纳入监测\": 3 persons"), "{err}");
    assert!(err.contains("not evaluated: roster missing: 脱贫户名单"), "{err}");
}

/// A reconciliation written to a file has its provenance beside it: the rosters by name, size and
/// SHA-256, the rules, the date and the options; standard output gets none.
#[test]
fn reconcile_output_file_has_its_provenance() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let [dibao, monitor, _] = rosters(dir.path(), &people());
    let out = dir.path().join("比对.csv");
    let (code, _, _, err) = run(&[
        format!("dibao_roll={}", dibao.display()),
        format!("monitoring_roll={}", monitor.display()),
        "--year".into(),
        "2024".into(),
        "--all".into(),
        "-o".into(),
        out.display().to_string(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("比对.csv.说明.json")).unwrap()).unwrap();
    assert_eq!(side["command"], "reconcile");
    assert_eq!(side["output"], "比对.csv");
    assert_eq!(side["assessment_date"], "2024-12-31");
    assert_eq!(side["options"], serde_json::json!(["--rules", "national", "--date", "2024-12-31", "--all"]));
    let inputs = side["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    for (input, path) in inputs.iter().zip([&dibao, &monitor]) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(input["name"], path.file_name().unwrap().to_str().unwrap());
        assert_eq!(input["size"], bytes.len());
        let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(input["sha256"], hex);
    }
    std::fs::remove_file(&out).unwrap();
    std::fs::remove_file(dir.path().join("比对.csv.说明.json")).unwrap();
    // To standard output: no record anywhere.
    run(&[format!("dibao_roll={}", dibao.display()), format!("monitoring_roll={}", monitor.display()), "--all".into()]);
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("说明")));
}

#[test]
fn reconcile_all_lists_everyone_not_on_every_roster_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = people();
    let [dibao, monitor, _] = rosters(dir.path(), &p);
    let (_, rows, head, _) = run(&[
        format!("防返贫监测对象={}", monitor.display()),
        format!("低保特困在册={}", dibao.display()),
        "--all".into(),
    ]);
    assert_eq!(head, ["证件号码", "防返贫监测对象", "低保特困在册", "差异"]);
    let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    // 监测 first: 辛 (H) is on it only; 乙 (B) is on both. Then the 低保 roster's order.
    let want: Vec<String> = [&p.h, &p.a, &p.c, &p.d, &p.e, &p.f, &p.x].iter().map(|i| masked(i)).collect();
    assert_eq!(ids, want);
    assert_eq!(&rows[0][3], "在防返贫监测对象中，不在低保特困在册中");
    assert!(rows[0][1].starts_with("第 3 行：") && rows[0][2].is_empty(), "{:?}", rows[0]);
    // The output is never one of the rosters.
    let same = tuopin()
        .args([
            "reconcile",
            &format!("防返贫监测对象={}", monitor.display()),
            &format!("低保特困在册={}", dibao.display()),
            "-o",
        ])
        .arg(&dibao)
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(2));
    assert!(stderr_of(&same).contains("就是输入文件"), "{}", stderr_of(&same));
    assert!(std::fs::read_to_string(&dibao).unwrap().contains("示例县低保特困在册人员"));
    let bad =
        tuopin().args(["reconcile", "低保=x.csv", &format!("低保特困在册={}", dibao.display())]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr_of(&bad).contains("规则集没有名为“低保”的名单：可用")
            && stderr_of(&bad).contains("防返贫监测对象（monitoring_roll）")
    );
}

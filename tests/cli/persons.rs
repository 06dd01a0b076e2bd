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

/// A person export whose households' rows are contiguous is grouped as it streams by; one whose
/// members are scattered (examples/人员表.csv: P004's and P005's rows interleave) is read whole and
/// grouped the same way: the same households, in the order of their first member, whichever way
/// it is read. A blank row is skipped (between households: still streamed; among a household's
/// rows: then read whole).
#[test]
fn scattered_and_contiguous_members_give_the_same_households() {
    let text = std::fs::read_to_string(root().join("examples/人员表.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, rows: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        let o = tuopin().arg("assess").arg(&path).args(["--year", "2024", "--format", "jsonl"]).output().unwrap();
        assert_ne!(o.status.code(), Some(2), "{}", stderr_of(&o));
        let households: Vec<(String, serde_json::Value)> =
            jsonl(&o.stdout).iter().map(|r| (r["household_id"].as_str().unwrap().to_string(), decisions(r))).collect();
        (households, stderr_of(&o))
    };
    let (scattered, err) = run("scattered.csv", &lines);
    assert_eq!(scattered.len(), 5, "{err}");
    // Sorted by household, in the order of each household's first row (a stable sort).
    let id = |l: &str| l.split(',').next().unwrap().to_string();
    let first: Vec<String> = lines.iter().map(|l| id(l)).fold(Vec::new(), |mut v, i| {
        if !v.contains(&i) {
            v.push(i);
        }
        v
    });
    let mut sorted = lines.clone();
    sorted.sort_by_key(|l| first.iter().position(|i| *i == id(l)).unwrap());
    let (contiguous, err) = run("contiguous.csv", &sorted);
    assert_eq!(contiguous, scattered, "{err}");
    let blank = ",".repeat(header.matches(',').count());
    let between = sorted.iter().position(|l| id(l) != id(sorted[0])).unwrap();
    for (name, at) in [("blank-between.csv", between), ("blank-inside.csv", 1)] {
        let mut with_blank = sorted.clone();
        with_blank.insert(at, &blank);
        let (got, err) = run(name, &with_blank);
        assert_eq!(got, scattered, "{name}: {err}");
        assert!(err.contains("（其中空白行 1 行，已跳过）"), "{name}: {err}");
    }
}

fn checks_of(v: &serde_json::Value) -> Vec<(String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap().to_string(), c["message"].as_str().unwrap().to_string()))
        .collect()
}

/// Member macros in a variant rule file (tests/data/members-variant.toml) over examples/人员表.csv:
/// P004's son 黄某林 (born 2005-03-03, 普通劳动力) is 15 the day before his 16th birthday and found
/// by `members.exists(m, m.age < 16 && …)`, naming him by 人编号 and row; on the birthday he is 16.
/// The checks over members change no decision, and on a ledger (no member rows) they find nothing.
#[test]
fn member_checks_in_a_variant_rule_file_name_the_member() {
    let run = |file: &str, rules: &str, date: &str| {
        let o =
            tuopin().args(["assess", file, "--rules", rules, "--date", date, "--format", "jsonl"]).output().unwrap();
        assert_ne!(o.status.code(), Some(2), "{}", stderr_of(&o));
        jsonl(&o.stdout)
    };
    let variant = "tests/data/members-variant.toml";
    let before = run("examples/人员表.csv", variant, "2021-03-02");
    let p004 = checks_of(&before[3]);
    assert_eq!(before[3]["household_id"], "P004");
    let child = p004.iter().find(|(c, _)| c == "child_labour").expect("found the day before the birthday");
    assert_eq!(child.1, "P00403（15 周岁）未满 16 周岁，劳动技能却为 普通劳动力（成员：第 15 行）");
    // P002's spouse is in neither basic insurance: found by a filter(…).size().
    assert!(checks_of(&before[1])
        .iter()
        .any(|(c, m)| c == "members_without_basic_insurance" && m.starts_with("P00203 ")));
    // Every household has exactly one 户主.
    assert!(before.iter().all(|h| !checks_of(h).iter().any(|(c, _)| c == "one_head")));
    let on = run("examples/人员表.csv", variant, "2021-03-03");
    assert!(!checks_of(&on[3]).iter().any(|(c, _)| c == "child_labour"), "16 on the birthday");
    // Same decisions as the national rules.
    let national = run("examples/人员表.csv", "national", "2021-03-02");
    assert_eq!(before.iter().map(decisions).collect::<Vec<_>>(), national.iter().map(decisions).collect::<Vec<_>>());
    // A ledger has no member rows: member checks are unknown, and a check finds nothing on unknown.
    for h in run("examples/户表.csv", variant, "2024-12-31") {
        assert!(
            !checks_of(&h)
                .iter()
                .any(|(c, _)| ["child_labour", "one_head", "members_without_basic_insurance"].contains(&c.as_str())),
            "{h}"
        );
    }
    // The variant's own cases (members at the boundaries) pass.
    let o = tuopin().args(["rules", "test", "tests/data/members-variant.cases.toml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&o.stdout), stderr_of(&o));
}

/// A person export without a member column some rule reads (Guizhou's school-age check reads
/// 在校生状况 of each member): the one absent-column warning names it as a member column with the
/// check it leaves unknown, and `--strict` stops (exit 2) with the same line. The check then flags
/// no member (unknown is not a finding).
#[test]
fn an_absent_member_column_is_named_in_the_warning_and_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/人员表.csv")).unwrap();
    let mut rows =
        csv::ReaderBuilder::new().has_headers(false).from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let drop = records[0].iter().position(|h| h == "在校生状况").unwrap();
    let path = dir.path().join("人员表-无在校生状况.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    for r in &records {
        w.write_record(r.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, c)| c)).unwrap();
    }
    w.flush().unwrap();
    let line = "  在校生状况（成员）：核查 适龄成员在校状况未填";
    let run = |extra: &[&str]| {
        let mut args = vec!["assess", path.to_str().unwrap(), "--rules", "guizhou-2023", "--year", "2024"];
        args.extend_from_slice(extra);
        tuopin().args(&args).output().unwrap()
    };
    let out = run(&["--format", "jsonl"]);
    let err = stderr_of(&out);
    assert!(err.lines().any(|l| l == line), "{err}");
    assert!(err.contains("缺少规则所需的"), "{err}");
    for h in jsonl(&out.stdout) {
        let ids: Vec<&str> = h["checks"].as_array().unwrap().iter().filter_map(|c| c["check"].as_str()).collect();
        assert!(!ids.contains(&"gz_school_age_status_blank"), "{h}");
    }
    // With the column nothing is absent for the members.
    let full = tuopin()
        .args(["assess", "examples/人员表.csv", "--rules", "guizhou-2023", "--year", "2024", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(!stderr_of(&full).contains("（成员）"), "{}", stderr_of(&full));
    let strict = run(&["--strict", "-o", dir.path().join("out.csv").to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2), "{}", stderr_of(&strict));
    assert!(stderr_of(&strict).lines().any(|l| l == line), "{}", stderr_of(&strict));
    assert!(!dir.path().join("out.csv").exists());
}

/// One person's ID number on two rows of a person export — in another household, and the same
/// person listed twice in one — is a data problem on each of those rows, naming the other row;
/// the number itself is masked in the output (no --show-ids). Households stay assessed.
#[test]
fn a_member_id_number_on_two_rows_is_a_problem_on_both() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/人员表.csv")).unwrap();
    let mut rd =
        csv::ReaderBuilder::new().has_headers(false).from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut records: Vec<Vec<String>> = rd.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    let col = |h: &str| records[0].iter().position(|x| x == h).unwrap();
    let (id, name, hh) = (col("证件号码"), col("姓名"), col("户编号"));
    let row_of = |records: &Vec<Vec<String>>, n: &str| records.iter().position(|r| r[name] == n).unwrap();
    // 陈某军 (P002) also appears as 杨某林's number (P003); 吴某梅 (P005) is listed twice in P005.
    let (a, b) = (row_of(&records, "陈某军"), row_of(&records, "杨某林"));
    records[b][id] = records[a][id].clone();
    let twin = records[row_of(&records, "吴某梅")].clone();
    records.push(twin);
    let path = dir.path().join("人员表-重号.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    for r in &records {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    let out =
        tuopin().args(["assess", path.to_str().unwrap(), "--year", "2024", "--format", "jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("有 2 个成员证件号码重复出现"), "{}", stderr_of(&out));
    let rows = jsonl(&out.stdout);
    assert_eq!(rows.len(), 5);
    // File rows are 1-based with the header on row 1: record k is on row k + 1.
    let (ra, rb) = (a as u64 + 1, b as u64 + 1);
    let (rc, rd2) = (row_of(&records, "吴某梅") as u64 + 1, records.len() as u64);
    let mut seen = Vec::new();
    for h in &rows {
        for p in h["problems"].as_array().unwrap() {
            let m = p["message"].as_str().unwrap();
            if m.starts_with("成员证件号码重复") {
                seen.push((h["household_id"].as_str().unwrap().to_string(), p["row"].as_u64().unwrap(), m.to_string()));
                assert!(!p.to_string().contains(&records[a][id][..14]), "masked: {p}");
            }
        }
    }
    seen.sort();
    let want = |h: &str, row: u64, other: u64| {
        (h.to_string(), row, format!("成员证件号码重复：与第 {other} 行相同（同一人出现两次，或列在两户中，请核实）"))
    };
    let mut expected = vec![want("P002", ra, rb), want("P003", rb, ra), want("P005", rc, rd2), want("P005", rd2, rc)];
    expected.sort();
    assert_eq!(seen, expected);
    assert_eq!(records[b][hh], "P003");
}

//! Decisions are rule data: renamed, they give the same results under their new names; a sixth
//! one declared in a variant file shows up in every output with no code change.

use std::path::Path;

use crate::support::*;

/// Decision keys of rules/national.toml and the names a copy gives them.
const KEYS: [(&str, &str); 5] = [
    ("eligibility", "shibie"),
    ("exit", "tuichu"),
    ("risk", "fengxian"),
    ("suggested_type", "jianyi_leixing"),
    ("elimination", "xiaochu"),
];

/// Labels renamed in the copy.
const LABELS: [(&str, &str); 2] = [("不适用", "无需判定"), ("可退出", "达到退出条件")];

/// `text` with every identifier `from` (a whole run of ASCII letters, digits and `_`) replaced.
fn rename_ident(text: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(if word == from { to } else { word });
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// rules/national.toml with every decision key and two labels renamed. The JSON keys the file
/// declares (`json = …`) are kept: they are the output's names, not the decisions'; so is a
/// criterion's `kind = "risk"`, a word of the schema.
fn renamed_rules() -> String {
    let text = std::fs::read_to_string(root().join("rules/national.toml")).unwrap();
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut l = line.to_string();
        if !line.starts_with("json =") && !line.starts_with("factors_json =") && !line.starts_with("kind =") {
            for (from, to) in KEYS {
                l = rename_ident(&l, from, to);
            }
        }
        for (from, to) in LABELS {
            l = l.replace(from, to);
        }
        lines.push(l);
    }
    let out = lines.join("\n") + "\n";
    for (from, _) in KEYS {
        assert!(!out.contains(&format!("[decisions.{from}]")), "{from} renamed");
    }
    out
}

/// An output of the renamed rules, read back under the national names: labels, and keys where
/// they show (JSON keys of decisions that declare none, a reason's or a what-if's `decision`).
fn back(out: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(out).into_owned();
    for (from, to) in LABELS {
        s = s.replace(to, from);
    }
    for (from, to) in KEYS {
        s = s.replace(&format!("\"decision\":\"{to}\""), &format!("\"decision\":\"{from}\""));
        s = s.replace(&format!("\"{to}\":"), &format!("\"{from}\":"));
    }
    s
}

/// `got` and `want` are the same text; else the first line that differs.
fn same(got: &str, want: &str, what: &str) {
    if got != want {
        let (n, (g, w)) = got.lines().zip(want.lines()).enumerate().find(|(_, (g, w))| g != w).unwrap_or((0, ("", "")));
        panic!(
            "{what}: line {} differs:\n got: {g}\nwant: {w}\n({} vs {} lines)",
            n + 1,
            got.lines().count(),
            want.lines().count()
        );
    }
}

fn run(args: &[&str], rules: &str) -> (Vec<u8>, String) {
    let out = tuopin().args(args).args(["--rules", rules]).output().unwrap();
    (out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn household_ids() -> Vec<String> {
    let mut r = csv::Reader::from_path(root().join("examples/户表.csv")).unwrap();
    r.records().map(|rec| rec.unwrap()[0].trim_start_matches('\u{feff}').to_string()).collect()
}

#[test]
fn renamed_decisions_and_labels_give_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("renamed.toml");
    std::fs::write(&renamed, renamed_rules()).unwrap();
    let renamed = renamed.to_str().unwrap();
    let ledger = ["assess", "examples/户表.csv", "--year", "2024"];
    for format in ["csv", "jsonl"] {
        let args: Vec<&str> = ledger.iter().copied().chain(["--format", format]).collect();
        let (want, want_err) = run(&args, "national");
        let (got, got_err) = run(&args, renamed);
        assert!(!want.is_empty());
        same(&back(&got), &String::from_utf8(want).unwrap(), format);
        same(&back(got_err.as_bytes()), &want_err, "summary");
    }
    for id in household_ids() {
        for format in ["text", "json"] {
            let args = ["check", "examples/户表.csv", "--id", &id, "--year", "2024", "--format", format];
            let (want, _) = run(&args, "national");
            let (got, _) = run(&args, renamed);
            assert!(!want.is_empty());
            same(&back(&got), &String::from_utf8(want).unwrap(), &format!("check {id} {format}"));
        }
    }
    // adjust: the lists name decisions and labels (`current.exit == '可退出'`); renamed with them,
    // they file the same households, in the 攻坚期 (2020Q4: 拟退出 reads 可退出) and after.
    let adjusted = |rules: &str, quarter: &str, to: &Path| {
        let out = adjust_examples().args(["--quarter", quarter, "--rules", rules, "-o"]).arg(to).output().unwrap();
        assert!(out.status.code().unwrap() < 2, "{}", stderr_of(&out));
        // Every file but 说明.csv, the provenance, which names the rule file and its hash.
        let mut files: Vec<(String, String)> = std::fs::read_dir(to)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), back(&std::fs::read(e.path()).unwrap()))
            })
            .filter(|(name, _)| name != "说明.csv")
            .collect();
        files.sort();
        files
    };
    for quarter in ["2024Q3", "2020Q4"] {
        let want = adjusted("national", quarter, &dir.path().join(format!("want{quarter}")));
        assert!(want.iter().any(|(_, text)| text.lines().count() > 1), "some list has rows");
        if quarter == "2020Q4" {
            let exit = want.iter().find(|(n, _)| n == "拟退出.csv").expect("拟退出 in the 攻坚期");
            assert!(exit.1.contains("\nA02,"), "{}", exit.1);
        }
        let got = adjusted(renamed, quarter, &dir.path().join(format!("got{quarter}")));
        assert_eq!(got.len(), want.len());
        for ((gn, g), (wn, w)) in got.iter().zip(&want) {
            assert_eq!(gn, wn);
            same(g, w, wn);
        }
    }
}

#[test]
fn a_sixth_decision_shows_in_every_output() {
    let rules = "tests/data/rules/sixth-decision.toml";
    let ledger = ["assess", "examples/户表.csv", "--year", "2024"];
    // CSV: a column after the national decisions', before 判定理由.
    let (csv_out, err) = run(&[&ledger[..], &["--format", "csv"]].concat(), rules);
    let text = String::from_utf8(csv_out).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains(",风险消除,重点关注,判定理由,"), "{header}");
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let col = r.headers().unwrap().iter().position(|h| h == "重点关注").unwrap();
    let values: Vec<String> = r.records().map(|x| x.unwrap()[col].to_string()).collect();
    assert!(values.iter().any(|v| v == "重点关注户") && values.iter().any(|v| v == "一般"), "{values:?}");
    assert!(text.contains("【重点关注·重点关注户】"), "its reasons are in 判定理由");
    assert!(err.contains("重点关注：重点关注户 "), "summary counts it: {err}");
    // JSON Lines: its own key, after the national ones.
    let (out, _) = run(&[&ledger[..], &["--format", "jsonl"]].concat(), rules);
    let line = String::from_utf8(out).unwrap().lines().next().unwrap().to_string();
    let at = |k: &str| line.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k} in {line}"));
    assert!(at("elimination") < at("focus") && at("focus") < at("reasons"), "{line}");
    let rows = jsonl(line.as_bytes());
    assert!(rows[0]["focus"].is_string());
    // XLSX: a column with its header.
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("结果.xlsx");
    let out = tuopin().args(ledger).args(["--rules", rules, "-o"]).arg(&book).output().unwrap();
    assert!(out.status.code().unwrap() < 2, "{}", stderr_of(&out));
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    let sheet = wb.worksheet_range("评估结果").unwrap();
    let headers: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let col = headers.iter().position(|h| h == "重点关注").expect("a 重点关注 column");
    assert_eq!(headers[col - 1], "风险消除");
    assert!(sheet.rows().skip(1).any(|r| r[col] == "重点关注户"));
    // check: a line of its own, with the rule that gave it (its condition with --verbose).
    let id = household_ids().into_iter().zip(values).find(|(_, v)| v == "重点关注户").map(|(id, _)| id).unwrap();
    let (out, _) = run(&["check", "examples/户表.csv", "--id", &id, "--year", "2024", "--verbose"], rules);
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().any(|l| l.starts_with("重点关注") && l.contains("重点关注户")), "{text}");
    assert!(text.contains("risk == '高' && elimination != '可消除风险'"), "{text}");
    let (out, _) = run(&["check", "examples/户表.csv", "--id", &id, "--year", "2024", "--format", "json"], rules);
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["focus"], "重点关注户");
}

/// #14's second "done when": one variant file adds a sixth decision, a list of its own and two
/// checks (tests/data/rules/province-additions.toml, no code change); all of them reach CSV,
/// JSON Lines, XLSX, the summary, `check` and `adjust`.
#[test]
fn a_decision_a_list_and_two_checks_added_by_a_variant_show_everywhere() {
    use calamine::Reader;
    let rules = "tests/data/rules/province-additions.toml";
    let ledger = ["assess", "examples/户表.csv", "--year", "2024"];
    let (csv_out, err) = run(&[&ledger[..], &["--format", "csv"]].concat(), rules);
    let text = String::from_utf8(csv_out).unwrap();
    assert!(text.lines().next().unwrap().contains(",重点关注,"));
    assert!(text.contains("【警告】重点关注户未纳入监测：户类型 "), "the check's finding in 数据核查");
    assert!(text.contains("【提示】家庭人口较多：家庭人口数 "));
    assert!(err.contains("重点关注：重点关注户 ") && err.contains("重点关注户未纳入监测（警告）"), "{err}");
    assert!(err.contains("家庭人口较多（提示）"), "{err}");
    let (out, _) = run(&[&ledger[..], &["--format", "jsonl"]].concat(), rules);
    let rows = jsonl(&out);
    let flagged: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["checks"].as_array().unwrap().iter().any(|c| c["check"] == "focus_not_monitored"))
        .collect();
    assert!(!flagged.is_empty() && flagged.iter().all(|r| r["focus"] == "重点关注户"));
    assert!(rows.iter().any(|r| r["checks"].as_array().unwrap().iter().any(|c| c["check"] == "large_household")));
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("结果.xlsx");
    let out = tuopin().args(ledger).args(["--rules", rules, "-o"]).arg(&book).output().unwrap();
    assert!(out.status.code().unwrap() < 2, "{}", stderr_of(&out));
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    let findings = wb.worksheet_range("数据核查").unwrap();
    let labels: Vec<String> = findings.rows().skip(1).flat_map(|r| r.iter().map(|c| c.to_string())).collect();
    assert!(labels.iter().any(|c| c == "重点关注户未纳入监测") && labels.iter().any(|c| c == "家庭人口较多"));
    // check: the decision and both findings.
    let id = flagged[0]["household_id"].as_str().unwrap().to_string();
    let (out, _) = run(&["check", "examples/户表.csv", "--id", &id, "--year", "2024", "--verbose"], rules);
    let screen = String::from_utf8(out).unwrap();
    assert!(screen.lines().any(|l| l.starts_with("重点关注") && l.contains("重点关注户")), "{screen}");
    assert!(screen.contains("重点关注户未纳入监测"), "{screen}");
    // adjust: the list as a CSV file, an XLSX sheet and a line of the summary, in 户 and 人.
    let lists = dir.path().join("名单");
    let out =
        adjust_examples().args(["--quarter", "2024Q3"]).args(["--rules", rules, "-o"]).arg(&lists).output().unwrap();
    assert!(out.status.code().unwrap() < 2, "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("重点关注户走访 ") && err.contains(" 户 ") && err.contains(" 人"), "{err}");
    let list = std::fs::read_to_string(lists.join("重点关注户走访.csv")).unwrap();
    assert!(list.lines().next().unwrap().contains(",户类型,家庭人口数,重点关注,理由,"), "{list}");
    assert!(list.lines().skip(1).all(|l| l.contains(",重点关注户,返贫致贫风险：高")), "{list}");
    assert!(list.lines().count() > 1);
    let book = dir.path().join("名单.xlsx");
    let out =
        adjust_examples().args(["--quarter", "2024Q3"]).args(["--rules", rules, "-o"]).arg(&book).output().unwrap();
    assert!(out.status.code().unwrap() < 2, "{}", stderr_of(&out));
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    assert!(wb.worksheet_range("重点关注户走访").unwrap().rows().count() > 1);
}

//! `tuopin rules check` and `tuopin rules test`.

use crate::support::*;

#[test]
fn builtin_rule_cases_pass() {
    let out = tuopin().args(["rules", "test", "--builtin"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 个失败"), "{text}");
}

#[test]
fn shipped_case_files_are_the_embedded_ones() {
    let out = tuopin()
        .args(["rules", "test", "rules/national.cases.toml", "rules/guizhou-2023.cases.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_failing_case_is_reported_with_expected_and_actual() {
    let out = tuopin().args(["rules", "test", "tests/data/failing.cases.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("exit: expected 可退出, got 未达退出标准"), "{text}");
    assert!(text.contains("人均纯收入 4000 ≤ 扶贫标准 4000"), "{text}");
}

#[test]
fn check_lists_fields_parameters_by_year_and_criteria() {
    let out = tuopin().args(["rules", "check", "rules/guizhou-2023.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("guizhou-2023"));
    assert!(text.contains("2023-01-01 起      7300"), "{text}");
    assert!(text.contains("2021-01-01 起      6000"), "{text}");
    assert!(text.contains("per_capita_income"));
    assert!(text.contains("exit_income"));
}

#[test]
fn misspelled_field_fails_with_rule_id_name_and_suggestion() {
    let out = tuopin().args(["rules", "check", "tests/data/rules/misspelled.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("misspelled.toml 第 8 行 判定标准 `exit_income`：未知的名称 `per_capita_incom`；是否应为 `per_capita_income`？"),
        "{err}"
    );
}

#[test]
fn unknown_key_in_a_rule_file_is_rejected() {
    let out = tuopin().args(["rules", "check", "tests/data/rules/unknown-key.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("unknown-key.toml") && err.contains("第 7 行 [criteria.food]：未知的键 `conditon`"), "{err}");
    assert!(err.contains("是否应为 `condition`"), "{err}");
}

#[test]
fn comparing_money_with_text_is_a_type_error_naming_the_rule() {
    let out = tuopin().args(["rules", "check", "tests/data/rules/money-vs-text.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("判定标准 `odd`：无法比较金额 `per_capita_income`与文本 `village`"), "{err}");
}

#[test]
fn rule_files_extending_each_other_in_a_cycle_are_rejected() {
    let out = tuopin().args(["rules", "check", "tests/data/rules/cycle-a.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("互相扩展（extends），形成循环"), "{}", stderr_of(&out));
}

#[test]
fn a_provincial_file_extends_the_national_one_from_disk() {
    let out = tuopin().args(["rules", "check", "tests/data/rules/province.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("8700"));
}

/// The shipped cases, written by hand from default-rules.md, are all there and all pass.
#[test]
fn hand_written_boundary_cases_pass() {
    let out = tuopin().args(["rules", "test", "--builtin"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("346 个用例，346 个通过") && text.contains("123 个用例，123 个通过"), "{text}");
}

/// Derived fields of every type (bool, enum, text, month, as numbers; one reading the assessment
/// date) are honoured, in dependency order; a derivation cycle is a load error naming the fields.
#[test]
fn derived_fields_of_every_type() {
    let out = tuopin().args(["rules", "test", "tests/data/derive/derive-all-types.cases.toml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("6 个用例，6 个通过"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let cyclic = dir.path().join("cycle.toml");
    let rules = std::fs::read_to_string(root().join("tests/data/derive/derive-all-types.toml")).unwrap();
    std::fs::write(&cyclic, rules.replace("derive = \"housing_grade in ['C', 'D']\"", "derive = \"note == '需改造'\""))
        .unwrap();
    let out = tuopin().args(["rules", "check"]).arg(&cyclic).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("派生字段互相依赖") && err.contains("note") && err.contains("unsafe_housing"), "{err}");
}

/// `[warnings.*]`: the national rules say once per run, from 2021, that the monitoring line in
/// force is the national floor (default-rules.md §6.1); not in 2020, and not with a province's own
/// higher line.
#[test]
fn the_national_floor_is_named_once_per_run_from_2021() {
    let floor = "警告：监测范围 6000 元是全国底线";
    for (args, times) in [
        (&["assess", "examples/户表.csv", "--year", "2024", "--format", "jsonl"][..], 1),
        (&["assess", "examples/户表.csv", "--year", "2020", "--format", "jsonl"], 0),
        (&["assess", "examples/户表.csv", "--year", "2025", "--rules", "yunnan-2025", "--format", "jsonl"], 0),
        (&["check", "--set", "户类型=脱贫户", "--year", "2024"], 1),
    ] {
        let out = tuopin().args(args).output().unwrap();
        assert_eq!(stderr_of(&out).matches(floor).count(), times, "{args:?}: {}", stderr_of(&out));
    }
}

/// `extends` by key: one key of an inherited item, a rule appended, an item replaced whole, one
/// removed; `rules show --resolved` names the files each item came from.
#[test]
fn a_variant_changes_single_keys_appends_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let variant = file_in(
        dir.path(),
        "variant.toml",
        r#"[ruleset]
id = "v"
name = "变体"
extends = "national"

[criteria.illness]
label = "因病（变体）"

[decisions.risk.append]
rules = [ { when = "members >= 9", label = "低" } ]

[checks.production_expense_exceeds_business]
remove = true
"#,
    );
    let out = tuopin().args(["rules", "show", "--resolved"]).arg(&variant).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let item = |header: &str| {
        let at = text.find(header).unwrap_or_else(|| panic!("{header} in\n{text}"));
        let before = &text[..at];
        let made = before.lines().rev().find(|l| l.starts_with("# 来自：")).unwrap();
        (made.to_string(), text[at..].split("\n# ").next().unwrap().to_string())
    };
    let (made, body) = item("[criteria.illness]");
    assert!(made.contains("national（内置） + ") && made.ends_with("variant.toml"), "{made}");
    assert!(body.contains("因病（变体）") && body.contains("condition = \"ill > 0\""), "{body}");
    let (made, body) = item("[decisions.risk]");
    assert!(made.contains(" + "), "{made}");
    assert!(body.contains("members >= 9"), "{body}");
    assert!(!text.contains("[checks.production_expense_exceeds_business]"));
    assert_eq!(item("[criteria.disability]").0, "# 来自：national（内置）");
    // The variant decides with it: the new label of the criterion reaches the reasons.
    let out = tuopin()
        .args(["check", "--rules"])
        .arg(&variant)
        .args(["--year", "2024", "--set", "户类型=脱贫户", "--set", "大病慢性病人数=1", "--set", "人均纯收入=9000"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("因病（变体）"));
    // A misspelt key of a changed item: file, line and key.
    std::fs::write(
        &variant,
        "[ruleset]\nid = \"v\"\nname = \"v\"\nextends = \"national\"\n\n[criteria.illness]\nlable = \"x\"\n",
    )
    .unwrap();
    let out = tuopin().args(["rules", "check"]).arg(&variant).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("variant.toml") && err.contains("第 6 行 [criteria.illness]") && err.contains("lable"),
        "{err}"
    );
}

/// rules/README.md's worked example of a province's file is a real rule file: it loads, and a
/// run with it shows the decision, the check and the list it adds.
#[test]
fn the_readme_worked_example_is_a_working_rule_file() {
    let readme = std::fs::read_to_string(root().join("rules/README.md")).unwrap();
    let section = &readme[readme.find("## A province's own file, worked through").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my-province-2026.toml");
    std::fs::write(&file, example).unwrap();
    let out = tuopin().args(["rules", "check"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2026", "-o", "-", "--rules"])
        .arg(&file)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(err.contains("重点关注：重点关注户 ") && err.contains("家庭人口较多（提示）"), "{err}");
    assert!(!err.contains("生产经营性支出大于生产经营性收入"), "the removed check is gone: {err}");
    let lists = dir.path().join("名单");
    let out = adjust_examples()
        .args(["--date", "2026-03-31"])
        .arg("--rules")
        .arg(&file)
        .arg("-o")
        .arg(&lists)
        .output()
        .unwrap();
    assert!(out.status.code().unwrap() < 2, "{}", stderr_of(&out));
    assert!(lists.join("重点关注户走访.csv").exists());
}

/// A reader that stops after the first line (`tuopin rules test --builtin | head -1`): the run
/// ends quietly (it used to panic in println! on the broken pipe, exit 101).
#[test]
fn a_reader_that_stops_early_ends_the_run_quietly() {
    use std::io::BufRead;
    for args in [&["rules", "test", "--builtin"][..], &["rules", "check", "national"][..]] {
        let mut child = std::process::Command::new(tuopin().get_program())
            .current_dir(root())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?}");
        // The reading end is closed here: later writes meet a broken pipe.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

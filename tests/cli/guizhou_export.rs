//! The Guizhou checks over a person export in the real shape (tests/data/guizhou/export.csv,
//! written by tests/data/guizhou/make-export.py): every check that rules/guizhou-2023.toml declares
//! flags at least one household and leaves at least one unflagged. The list of checks is read from
//! the rule file, so a check added there without a planted household fails here.
//! tests/data/guizhou/compare.py compares the same findings with the original Python checker.

use std::collections::BTreeMap;

use crate::support::*;

const FILE: &str = "tests/data/guizhou/export.csv";

/// The ids of the `[checks.*]` tables of the Guizhou rule file itself (not those it inherits).
fn guizhou_checks() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("rules/guizhou-2023.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    doc["checks"].as_table().unwrap().keys().cloned().collect()
}

#[test]
fn every_guizhou_check_flags_one_household_and_passes_another() {
    let checks = guizhou_checks();
    assert!(checks.len() >= 45, "{checks:?}");
    let out = tuopin()
        .args(["assess", FILE, "--rules", "guizhou-2023", "--date", "2024-12-31", "--format", "jsonl"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    // The fixture's messy income cell (约3000) is a data problem: exit 1, every row assessed.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("读取 281 行，评估 94 户"), "{err}");
    let households = jsonl(&out.stdout);
    assert_eq!(households.len(), 94);

    let mut flagged: BTreeMap<&str, usize> = checks.iter().map(|c| (c.as_str(), 0)).collect();
    for h in &households {
        for f in h["checks"].as_array().into_iter().flatten() {
            if let Some(n) = flagged.get_mut(f["check"].as_str().unwrap()) {
                *n += 1;
            }
        }
    }
    let never: Vec<_> = flagged.iter().filter(|(_, n)| **n == 0).map(|(c, _)| *c).collect();
    let always: Vec<_> = flagged.iter().filter(|(_, n)| **n == households.len()).map(|(c, _)| *c).collect();
    assert!(never.is_empty(), "checks that flag no household of the fixture: {never:?}");
    assert!(always.is_empty(), "checks that flag every household of the fixture: {always:?}");
}

#[test]
fn a_member_check_names_the_member_rows() {
    let out = tuopin()
        .args(["assess", FILE, "--rules", "guizhou-2023", "--date", "2024-12-31", "--format", "jsonl"])
        .output()
        .unwrap();
    let households = jsonl(&out.stdout);
    let finding = households
        .iter()
        .flat_map(|h| h["checks"].as_array().into_iter().flatten())
        .find(|f| f["check"] == "gz_tuopin_id_checksum")
        .expect("the planted wrong check digit is found");
    // One member of the planted household has the wrong check digit: its 人编号 and row.
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains("的18位证件号码未通过 GB 11643 校验（成员：第 "), "{message}");
    assert_eq!(message.matches('、').count(), 0, "one member only: {message}");
}

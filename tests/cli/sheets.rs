//! Real spreadsheet files: XLSX with title rows, encodings, header detection, XLSX output, IDs.

use crate::support::*;

/// The assessments without row numbers (a workbook's rows sit below its title rows).
fn without_rows(stdout: &[u8]) -> Vec<serde_json::Value> {
    jsonl(stdout)
        .into_iter()
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("row");
            for p in r["problems"].as_array_mut().unwrap() {
                p.as_object_mut().unwrap().remove("row");
            }
            r
        })
        .collect()
}

fn assess_jsonl(file: &std::path::Path) -> std::process::Output {
    tuopin().arg("assess").arg(file).args(["--year", "2024", "--format", "jsonl"]).output().unwrap()
}

/// examples/户表.xlsx (two title rows, a merged title cell, numbers stored as numbers and as text,
/// Excel date cells) holds the households of examples/户表.csv: same assessments, and the same
/// again from a GBK copy of the CSV.
#[test]
fn csv_gbk_and_xlsx_give_identical_assessments() {
    let csv = assess_jsonl(&root().join("examples/户表.csv"));
    let xlsx = assess_jsonl(&root().join("examples/户表.xlsx"));
    assert!(stderr_of(&xlsx).contains("第 3 行为表头（其上的标题行已跳过）"), "{}", stderr_of(&xlsx));
    assert_eq!(without_rows(&csv.stdout), without_rows(&xlsx.stdout));
    let dir = tempfile::tempdir().unwrap();
    let gbk = dir.path().join("户表-gbk.csv");
    let text = std::fs::read_to_string(root().join("examples/户表.csv")).unwrap();
    std::fs::write(&gbk, encoding_rs::GBK.encode(text.trim_start_matches('\u{feff}')).0).unwrap();
    let g = assess_jsonl(&gbk);
    assert!(stderr_of(&g).contains("GBK"));
    assert_eq!(csv.stdout, g.stdout, "same rows, same bytes");
    // Problems name the row as the spreadsheet shows it: 3 title/header rows above the data.
    let first_problem_row = |out: &[u8]| {
        jsonl(out).iter().find(|r| !r["problems"].as_array().unwrap().is_empty()).unwrap()["problems"][0]["row"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(first_problem_row(&xlsx.stdout), first_problem_row(&csv.stdout) + 2);
}

#[test]
fn title_rows_above_a_csv_header_are_skipped_or_the_header_row_forced() {
    let out = tuopin()
        .args(["assess", "tests/data/sheets/title-rows.csv", "--year", "2020", "--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("第 3 行为表头"));
    let r = &jsonl(&out.stdout)[0];
    assert_eq!(r["household_id"], "R001");
    assert_eq!(r["row"], 4);
    let forced = tuopin()
        .args(["assess", "tests/data/sheets/title-rows.csv", "--year", "2020", "--header-row", "1"])
        .output()
        .unwrap();
    assert_eq!(forced.status.code(), Some(2));
    assert!(stderr_of(&forced).contains("户编号"), "{}", stderr_of(&forced));
}

#[test]
fn an_unknown_sheet_is_an_error_listing_the_sheets() {
    let out = tuopin().args(["assess", "examples/户表.xlsx", "--sheet", "Sheet9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("工作表有：户表"), "{}", stderr_of(&out));
}

/// The workbook written by `assess -o x.xlsx` holds the same cells as the CSV output.
#[test]
fn xlsx_output_holds_what_the_csv_holds() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("结果.xlsx");
    let out = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "-o"]).arg(&book).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let csv_out = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "--format", "csv"]).output().unwrap();
    let mut r = csv::Reader::from_reader(&csv_out.stdout[3..]);
    // The workbook's cells are text: no tab after a long number, which the CSV has.
    let want: Vec<Vec<String>> =
        r.records().map(|x| x.unwrap().iter().map(|c| shown(c).to_string()).collect()).collect();
    assert!(String::from_utf8_lossy(&csv_out.stdout).contains("\n2,5200010101001\t,"));
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    assert_eq!(wb.sheet_names(), vec!["评估结果", "数据核查", "说明", "汇总"]);
    let range = wb.worksheet_range("评估结果").unwrap();
    let got: Vec<Vec<String>> =
        range.rows().skip(1).map(|row| row.iter().map(tuopin::input::source::cell_text).collect()).collect();
    assert_eq!(got, want);
    // 数据核查: one row per finding, as many as the findings in the CSV's last column.
    let findings = wb.worksheet_range("数据核查").unwrap();
    let in_csv: usize = want.iter().map(|r| r[17].matches('【').count()).sum();
    assert!(in_csv > 0, "the examples have findings");
    assert_eq!(findings.rows().count() - 1, in_csv);
}

#[test]
fn invalid_id_numbers_are_problems_and_ids_are_masked() {
    let out =
        tuopin().args(["assess", "tests/data/bad-id.csv", "--year", "2020", "--format", "jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = jsonl(&out.stdout);
    let p = &rows[0]["problems"][0];
    assert_eq!(p["field"], "head_id");
    assert!(p["message"].as_str().unwrap().contains("校验位"), "{p}");
    assert_eq!(p["value"], "520000********0314", "masked in problems too");
    assert_eq!(rows[1]["head_id"], "520000********0313");
    assert!(rows[1]["problems"].as_array().unwrap().is_empty());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("196803120314") && !text.contains("196803120313"));
}

/// Excel's "Unicode text": UTF-16 with BOM, tab-separated.
#[test]
fn utf16_tab_separated_text_reads_like_csv() {
    let text = std::fs::read_to_string(root().join("tests/data/reasons.csv")).unwrap().replace(',', "\t");
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unicode.txt");
    std::fs::write(&path, bytes).unwrap();
    let a =
        tuopin().args(["assess", "tests/data/reasons.csv", "--year", "2020", "--format", "jsonl"]).output().unwrap();
    let b = tuopin().arg("assess").arg(&path).args(["--year", "2020", "--format", "jsonl"]).output().unwrap();
    assert!(stderr_of(&b).contains("UTF-16，制表符分隔"), "{}", stderr_of(&b));
    assert_eq!(a.stdout, b.stdout);
}

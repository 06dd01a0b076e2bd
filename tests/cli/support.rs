//! Running the binary and reading what it wrote.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn tuopin() -> Command {
    let mut c = Command::cargo_bin("tuopin").expect("binary built");
    c.current_dir(root());
    c
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Parse JSON Lines output.
pub fn jsonl(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// Read a CSV of expectations into rows of (header → value).
pub fn expected_rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).expect("expected file");
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

/// A CSV cell as a spreadsheet shows it: without the tab tuopin writes after a long number so
/// that the spreadsheet keeps it as text (`output::csv_safe`).
pub fn shown(cell: &str) -> &str {
    match cell.strip_suffix('\t') {
        Some(digits) if tuopin::output::long_digits(digits) => digits,
        _ => cell,
    }
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `adjust` of the example quarters (examples/2024Q2.csv → examples/2024Q3.csv); the quarter or
/// date and the rest are the caller's.
pub fn adjust_examples() -> Command {
    let mut c = tuopin();
    c.args(["adjust", "--previous", "examples/2024Q2.csv", "--current", "examples/2024Q3.csv"]);
    c
}

/// The rows of sheet `name` of workbook `book`, read by calamine.
pub fn sheet_rows(book: &Path, name: &str) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(book).unwrap();
    wb.worksheet_range(name).unwrap_or_else(|e| panic!("sheet {name}: {e}")).rows().map(|r| r.to_vec()).collect()
}

/// The rows of sheet `name` of workbook `book`, each cell as calamine displays it.
pub fn sheet_text(book: &Path, name: &str) -> Vec<Vec<String>> {
    sheet_rows(book, name).iter().map(|r| r.iter().map(ToString::to_string).collect()).collect()
}

/// The text of a part of a workbook (a zip archive), e.g. `xl/worksheets/sheet1.xml`.
pub fn part(book: &Path, name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(book).unwrap()).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap_or_else(|_| panic!("{name} in the workbook")).read_to_string(&mut s).unwrap();
    s
}

/// The names of a workbook's parts, in archive order.
pub fn part_names(book: &Path) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::fs::File::open(book).unwrap()).unwrap();
    zip.file_names().map(|n| n.unwrap().into_owned()).collect()
}

/// Write `text` to `name` in `dir` (a rule file, a ledger) and give its path.
pub fn file_in(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

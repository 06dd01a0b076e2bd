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

//! Files for Excel, WPS and LibreOffice: long numbers in a CSV kept as text (checked by opening
//! the CSV with LibreOffice headless), `-o NAME` without an extension, and a file dropped on the
//! program.

use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader};

use crate::support::{adjust_examples, jsonl, stderr_of, tuopin};

/// 17-digit 户编号, 18-digit ID numbers, a 20-digit 残疾人证 number in the ID column (an invalid
/// ID: a data problem, still shown whole with --show-ids) and an 11-digit mobile number typed
/// into the name column.
const LEDGER: &str = "\u{feff}户编号,户主姓名,户主证件号码,户类型,家庭人口数,人均纯收入（元）
52000101010010001,张某华,520000196803120313,脱贫户,4,9000
52000101010010002,李某芳,520000197509210427,一般农户,3,20000
52000101010010003,王某,52000019680312031342,脱贫户,2,8000
52000101010010004,13812345678,520000197509210427,一般农户,3,21000
";

/// (户编号, 户主姓名, 户主证件号码) of each row of [`LEDGER`].
const CELLS: [[&str; 3]; 4] = [
    ["52000101010010001", "张某华", "520000196803120313"],
    ["52000101010010002", "李某芳", "520000197509210427"],
    ["52000101010010003", "王某", "52000019680312031342"],
    ["52000101010010004", "13812345678", "520000197509210427"],
];

fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("soffice")).find(|p| p.is_file())
}

/// LibreOffice opens `csv` (comma-separated UTF-8, as its import dialog offers for this file)
/// and saves it as a workbook; the workbook's first sheet, as calamine reads it.
fn through_libreoffice(soffice: &Path, csv: &Path) -> Vec<Vec<Data>> {
    let dir = csv.parent().unwrap();
    // A profile of its own: several conversions may run at once.
    let profile = format!("file://{}", dir.join("lo-profile").display());
    let run = Command::new(soffice)
        .arg(format!("-env:UserInstallation={profile}"))
        .args(["--headless", "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir"])
        .arg(dir)
        .arg(csv)
        .output()
        .expect("soffice runs");
    let book = csv.with_extension("xlsx");
    assert!(book.is_file(), "LibreOffice wrote no workbook: {}", stderr_of(&run));
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    sheet.rows().map(|r| r.to_vec()).collect()
}

/// The cells of columns `headers`, row by row below the header row.
fn columns(rows: &[Vec<Data>], headers: [&str; 3]) -> Vec<[Data; 3]> {
    let at = |h: &str| rows[0].iter().position(|c| c.to_string().trim_start_matches('\u{feff}') == h).unwrap();
    let cols = headers.map(at);
    rows[1..].iter().map(|r| cols.map(|c| r[c].clone())).collect()
}

/// A CSV written with --show-ids opens in LibreOffice with every 户编号, ID number, 残疾人证
/// number and mobile number whole, as text: each cell is the number and the tab tuopin put after
/// it. The same file without those tabs (the CSV tuopin wrote before) loses them: numbers, the
/// digits after the 15th gone. The CSV fed back to tuopin reads the same ids. Skipped, saying so,
/// only where LibreOffice is not installed (`.ci/run` installs it).
#[test]
fn long_numbers_in_a_csv_survive_libreoffice() {
    let Some(soffice) = soffice() else {
        eprintln!("跳过：未安装 LibreOffice（soffice）；.ci/run 会安装 libreoffice-calc-nogui");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("台账.csv");
    std::fs::write(&ledger, LEDGER).unwrap();
    let csv = dir.path().join("结果.csv");
    let run =
        tuopin().arg("assess").arg(&ledger).args(["--year", "2024", "--show-ids", "-o"]).arg(&csv).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "the 残疾人证 number is an invalid ID: {}", stderr_of(&run));

    let headers = ["户编号", "户主姓名", "户主证件号码"];
    let read = columns(&through_libreoffice(&soffice, &csv), headers);
    assert_eq!(read.len(), CELLS.len());
    for (cells, want) in read.iter().zip(CELLS) {
        for (cell, want) in cells.iter().zip(want) {
            let kept = if want.len() >= 11 { format!("{want}\t") } else { want.to_string() };
            assert_eq!(cell, &Data::String(kept), "{want}: read back as {cell:?}");
        }
    }

    assert!(stderr_of(&run).contains("末尾加了一个制表符"), "{}", stderr_of(&run));
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(written.contains(",52000101010010001\t,,,,张某华,520000196803120313\t,"), "{written}");

    // Before: the same cells without the tab are numbers in LibreOffice, digits lost.
    let before = dir.path().join("以前.csv");
    std::fs::write(&before, written.replace('\t', "")).unwrap();
    let read = columns(&through_libreoffice(&soffice, &before), headers);
    for (cells, want) in read.iter().zip(CELLS) {
        for (cell, want) in cells.iter().zip(want) {
            if want.len() > 15 {
                assert!(matches!(cell, Data::Float(_)), "{want}: {cell:?}");
                assert_ne!(cell.to_string(), want, "{want} would have survived without the tab");
            }
        }
    }

    // Fed back as a ledger, the CSV's ids read as they were (the tab is trimmed); the 残疾人证
    // number is the same invalid ID as before (an invalid cell is echoed as it was written).
    let again =
        tuopin().arg("assess").arg(&csv).args(["--year", "2024", "--show-ids", "--format", "jsonl"]).output().unwrap();
    let records = jsonl(&again.stdout);
    assert_eq!(records.len(), CELLS.len(), "{}", stderr_of(&again));
    for (r, [id, name, head_id]) in records.iter().zip(CELLS) {
        assert_eq!((r["household_id"].as_str(), r["head_name"].as_str()), (Some(id), Some(name)));
        if head_id.len() == 18 {
            assert_eq!(r["head_id"].as_str(), Some(head_id));
            assert_eq!(r["problems"].as_array().map(Vec::len), Some(0), "{r}");
        } else {
            assert_eq!(r["problems"][0]["message"], "身份证号码应为 18 位（或旧式 15 位），此处为 20 位", "{r}");
        }
    }
}

/// Masked ID numbers are text already; the 户编号 is never masked and still gets its tab, and the
/// note; a CSV without such numbers gets no note.
#[test]
fn the_note_comes_with_long_numbers_only() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("台账.csv");
    std::fs::write(&ledger, LEDGER).unwrap();
    let run = tuopin().arg("assess").arg(&ledger).args(["--year", "2024", "--format", "csv"]).output().unwrap();
    let out = String::from_utf8(run.stdout.clone()).unwrap();
    assert!(out.contains(",52000101010010001\t,,,,张某华,520000********0313,"), "{out}");
    assert!(stderr_of(&run).contains("末尾加了一个制表符"));
    let short = dir.path().join("短.csv");
    std::fs::write(&short, "户编号,户类型\nA1,一般农户\n").unwrap();
    let run = tuopin().arg("assess").arg(&short).args(["--year", "2024", "--format", "csv"]).output().unwrap();
    assert!(!String::from_utf8(run.stdout.clone()).unwrap().contains('\t'));
    assert!(!stderr_of(&run).contains("制表符"), "{}", stderr_of(&run));
}

/// `-o 结果` (no extension) writes the workbook 结果.xlsx and says so; `--format csv -o 结果`
/// writes the CSV under that name.
#[test]
fn an_output_without_an_extension_is_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("结果");
    let run = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "-o"]).arg(&named).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    assert!(stderr_of(&run).contains("没有扩展名：写出 Excel 工作簿"), "{}", stderr_of(&run));
    assert!(!named.exists());
    let mut wb = calamine::open_workbook_auto(dir.path().join("结果.xlsx")).unwrap();
    assert_eq!(wb.worksheet_range("评估结果").unwrap().rows().count(), 42);
    let run = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2024", "--format", "csv", "-o"])
        .arg(&named)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    assert!(std::fs::read_to_string(&named).unwrap().starts_with("\u{feff}行号,户编号"));
}

/// A file dropped on the program (its only argument) is assessed to `<stem>_评估结果.xlsx` beside
/// it, then `(2)` …, never over an existing file; the run says where it went. A command name or
/// a path that is not a file is not taken for a dropped file.
#[test]
fn a_dropped_file_is_assessed_to_a_workbook_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("扶贫 台账");
    std::fs::create_dir(&folder).unwrap();
    let ledger = folder.join("户表 2024.csv");
    std::fs::copy(tuopin_root().join("examples/户表.csv"), &ledger).unwrap();
    let first = folder.join("户表 2024_评估结果.xlsx");
    let second = folder.join("户表 2024_评估结果(2).xlsx");
    for (n, want) in [(1, &first), (2, &second)] {
        let run = tuopin().arg(&ledger).output().unwrap();
        // The example ledger has data problems: exit 1, as `assess`.
        assert_eq!(run.status.code(), Some(1), "run {n}: {}", stderr_of(&run));
        let said = String::from_utf8(run.stdout).unwrap();
        assert_eq!(said, format!("评估结果已写到：{}（用 Excel 或 WPS 打开）\n", want.display()));
        let mut wb = calamine::open_workbook_auto(want).unwrap();
        assert_eq!(wb.worksheet_range("评估结果").unwrap().rows().count(), 42, "run {n}");
    }
    let first_bytes = std::fs::read(&first).unwrap();
    let run = tuopin().arg(&ledger).output().unwrap();
    assert!(String::from_utf8(run.stdout).unwrap().contains("户表 2024_评估结果(3).xlsx"));
    assert_eq!(std::fs::read(&first).unwrap(), first_bytes, "the first result is left as it was");
    // A directory is no dropped file: a usage error as before.
    let run = tuopin().arg(&folder).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 4, "nothing more written");
    // A command name, even with a file of that name in the working directory.
    std::fs::write(folder.join("rules"), "").unwrap();
    let run = tuopin().current_dir(&folder).arg("rules").output().unwrap();
    assert_eq!(run.status.code(), Some(2), "`rules` alone needs a subcommand: {}", stderr_of(&run));
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 5);
}

fn tuopin_root() -> PathBuf {
    crate::support::root()
}

/// The pages of a PDF: its page objects (LibreOffice writes no object streams).
fn pdf_pages(pdf: &Path) -> usize {
    let bytes = std::fs::read(pdf).unwrap();
    let needle = b"/Type/Page";
    let spaced = b"/Type /Page";
    let count = |n: &[u8]| {
        bytes.windows(n.len() + 1).filter(|w| &w[..n.len()] == n && !w[n.len()].is_ascii_alphanumeric()).count()
    };
    count(needle) + count(spaced)
}

/// The example workbooks, converted to PDF by LibreOffice headless without error, print on the
/// pages README documents ("Print layout"): `assess` of examples/户表.csv in 2024 on 8 pages,
/// `adjust` of the example quarters on 17. Skipped, saying so, only where LibreOffice is not
/// installed (`.ci/run` installs it).
#[test]
fn example_workbooks_print_on_the_documented_pages() {
    let Some(soffice) = soffice() else {
        eprintln!("跳过：未安装 LibreOffice（soffice）；.ci/run 会安装 libreoffice-calc-nogui");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let assess = dir.path().join("评估结果.xlsx");
    let run = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "-o"]).arg(&assess).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let adjust = dir.path().join("三季度名单.xlsx");
    let run = adjust_examples().args(["--quarter", "2024Q3"]).arg("-o").arg(&adjust).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    for (book, pages) in [(&assess, 8), (&adjust, 17)] {
        let profile = format!("file://{}", dir.path().join("lo-profile").display());
        let run = Command::new(&soffice)
            .arg(format!("-env:UserInstallation={profile}"))
            .args(["--headless", "--convert-to", "pdf", "--outdir"])
            .arg(dir.path())
            .arg(book)
            .output()
            .expect("soffice runs");
        assert!(run.status.success(), "{}", stderr_of(&run));
        let pdf = book.with_extension("pdf");
        assert!(pdf.is_file(), "LibreOffice wrote no PDF: {}", stderr_of(&run));
        assert_eq!(pdf_pages(&pdf), pages, "{}", book.display());
    }
}

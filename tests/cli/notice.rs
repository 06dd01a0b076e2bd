//! `tuopin notice`: 公示 per village. The privacy test plants ID, phone and bank numbers and health
//! details in every column of a ledger and reads back everything the notices hold (the workbook's
//! XML parts unzipped, the HTML page, stdout, stderr).

use std::path::Path;

use crate::support::*;

/// What must never reach a notice: an ID number, phones, bank cards, health and disability.
const PLANTED: [&str; 9] = [
    "110101199003077777",
    "13812345678",
    "15900001111",
    "6222021234567890123",
    "尿毒症",
    "精神分裂症",
    "癌症晚期",
    "重度残疾",
    "患有大病",
];

/// The example ledger's real ID numbers (column 户主证件号码) must not appear either.
fn example_ids() -> Vec<String> {
    let mut r = csv::Reader::from_path(root().join("examples/户表.csv")).unwrap();
    let col = r.headers().unwrap().iter().position(|h| h.trim_start_matches('\u{feff}') == "户主证件号码").unwrap();
    r.records().map(|rec| rec.unwrap()[col].to_string()).filter(|v| v.len() >= 15).collect()
}

/// The example ledger with planted values: text columns of every other row carry a planted
/// value after their own (name, village, group…); extra columns 联系电话, 银行卡号, 健康状况,
/// 残疾类别, 村民小组 hold them on every row; and one more row holds a planted value in every column.
fn planted_ledger(dir: &Path) -> std::path::PathBuf {
    let mut r = csv::Reader::from_path(root().join("examples/户表.csv")).unwrap();
    let mut headers: Vec<String> =
        r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
    let text_cols: Vec<usize> = ["县(市、区、旗)", "乡(镇)", "行政村", "户主姓名"]
        .iter()
        .map(|h| headers.iter().position(|x| x == h).unwrap())
        .collect();
    headers.extend(["联系电话", "银行卡号", "健康状况", "残疾类别", "村民小组"].map(String::from));
    let path = dir.join("户表.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&headers).unwrap();
    let mut n = 0;
    for (k, rec) in r.records().enumerate() {
        let mut row: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        if k % 2 == 1 {
            for &c in &text_cols {
                row[c] = format!("{}{}", row[c], PLANTED[(k + c) % PLANTED.len()]);
            }
        }
        let p = |i: usize| PLANTED[(k + i) % PLANTED.len()].to_string();
        row.extend([p(0), p(1), p(2), p(3), if k % 3 == 0 { p(4) } else { "一组".to_string() }]);
        w.write_record(&row).unwrap();
        n += 1;
    }
    let every: Vec<String> = (0..headers.len()).map(|i| PLANTED[i % PLANTED.len()].to_string()).collect();
    w.write_record(&every).unwrap();
    w.flush().unwrap();
    assert!(n > 30);
    path
}

/// The text of every XML part of a workbook.
fn workbook_xml(path: &Path) -> String {
    part_names(path).iter().map(|name| part(path, name)).collect()
}

/// The longest run of ASCII digits in `s`.
fn longest_digits(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0)
}

#[test]
fn notices_hold_no_id_phone_bank_or_health_detail() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = planted_ledger(dir.path());
    for (year, start) in [("2020", "2021-01-04"), ("2024", "2025-01-06")] {
        let (xlsx, html) = (dir.path().join(format!("{year}.xlsx")), dir.path().join(format!("{year}.html")));
        let o = tuopin()
            .args(["notice", ledger.to_str().unwrap(), "--year", year, "--start", start, "-o"])
            .arg(&xlsx)
            .arg("-o")
            .arg(&html)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
        let page = std::fs::read_to_string(&html).unwrap();
        let seen = [
            ("html", page.clone()),
            ("xlsx", workbook_xml(&xlsx)),
            ("stdout", String::from_utf8_lossy(&o.stdout).into_owned()),
            ("stderr", stderr_of(&o)),
        ];
        for (what, text) in &seen {
            for p in PLANTED.iter().map(|s| s.to_string()).chain(example_ids()) {
                assert!(!text.contains(&p), "{year} {what} holds {p}");
            }
        }
        // Not vacuous: households are posted, some cells were withheld and named by row.
        let rows = page.matches("<tr><td>").count();
        assert!(rows >= 4, "{year}: {rows} rows\n{page}");
        assert!(page.contains("（需核实）") && stderr_of(&o).contains("含有不能公示的内容"), "{year}");
        assert!(page.contains("一组"), "the 村民小组 column is shown");
        // No long number at all in the tables (dates have at most 4 digits in a row).
        let body = &page[page.find("<body>").unwrap()..];
        assert!(longest_digits(body) <= 4, "{year}: a long number in\n{body}");
    }
}

#[test]
fn notice_columns_are_the_allow_list_and_html_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("户表.csv");
    let text = std::fs::read_to_string(root().join("examples/户表.csv")).unwrap();
    std::fs::write(&ledger, text.replacen("张某华", "<script>alert(1)</script>", 1)).unwrap();
    let html = dir.path().join("公示.html");
    let o = tuopin()
        .args(["notice", ledger.to_str().unwrap(), "--year", "2020", "--start", "2021-01-04", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("<script>") && page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(page.contains(
        "<thead><tr><th>序号</th><th>户主姓名</th><th>村民小组</th><th>家庭人口数</th><th>公示事项</th></tr></thead>"
    ));
    assert!(page.contains("公示期：2021-01-04 至 2021-01-08（共 5 天）"));
    assert!(page.contains("<h1>青山镇石桥村 新识别、拟退出公示</h1>"), "{page}");
    assert_eq!(page.matches("<section>").count(), page.matches("<h1>").count());
    // Provenance: a sidecar beside the page (the workbook has a 说明 sheet).
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("公示.html.说明.json")).unwrap()).unwrap();
    assert_eq!((side["command"].as_str(), side["inputs"][0]["name"].as_str()), (Some("notice"), Some("户表.csv")));
    assert!(side["options"].as_array().unwrap().iter().any(|o| o == "2021-01-04"));
    // Same inputs, same bytes.
    let again = dir.path().join("again.html");
    tuopin()
        .args(["notice", ledger.to_str().unwrap(), "--year", "2020", "--start", "2021-01-04", "-o"])
        .arg(&again)
        .output()
        .unwrap();
    assert_eq!(std::fs::read(&html).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn notice_outputs_must_be_xlsx_or_html() {
    let o = tuopin().args(["notice", "examples/户表.csv", "--year", "2020", "-o", "公示.csv"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("公示只能写成 .xlsx 工作簿或 .html 网页"), "{}", stderr_of(&o));
}

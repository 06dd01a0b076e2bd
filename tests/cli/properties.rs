//! Properties over generated ledgers (proptest): every row is accounted for, in input order,
//! nothing panics, and CSV and XLSX of the same rows give the same assessments.

use proptest::prelude::*;

use tuopin::input::{Duplicates, Ledger, OpenOptions};
use tuopin::output::Record;
use tuopin::value::Date;
use tuopin::{pipeline, ruleset};

use tuopin::cmd::demo_data::HEADERS;

/// A cell for a column: usually a plausible value, sometimes a messy spelling, blank or junk.
fn cell(header: &str) -> BoxedStrategy<String> {
    let plausible: Vec<&'static str> = match header {
        "户类型" => vec!["一般农户", "贫困户", "脱贫户", "已脱贫", "五保户", ""],
        "家庭人口数" | "劳动力人数" | "参加基本医疗保险人数" | "失学辍学人数" | "大病慢性病人数" | "残疾人数" =>
        {
            vec!["0", "1", "3", "4.0", "4.5", "-1", "", "四"]
        }
        h if h.contains("收入") || h.contains("支出") => {
            vec!["3999.99", "4000", "4000.01", "6000", "3,850元", "４２００", "约3000", "", "N/A", "0"]
        }
        "危房等级" => vec!["A", "B", "C", "D", "", "E"],
        "住房安全保障方式" => vec!["鉴定安全", "改造安全", "", "其他"],
        "监测对象类别" => vec!["脱贫不稳定户", "边缘易致贫户", "", "其他"],
        "识别监测时间" => vec!["202401", "2023-12", "2023年6月", "45078", "", "2023"],
        "户主证件号码" => vec!["520000196803120313", "520000196803120314", ""],
        "县(市、区、旗)" | "乡(镇)" | "行政村" | "户主姓名" => vec!["示例", ""],
        _ => vec!["是", "否", "√", "×", "", "不详", "Y"],
    };
    prop_oneof![
        8 => proptest::sample::select(plausible).prop_map(String::from),
        1 => "[ -~\\u{4e00}-\\u{4e20},\"\\n]{0,12}",
    ]
    .boxed()
}

fn ledger() -> impl Strategy<Value = Vec<Vec<String>>> {
    let row = HEADERS.iter().map(|h| cell(h)).collect::<Vec<_>>();
    proptest::collection::vec(row, 0..40)
}

fn write_csv(rows: &[Vec<String>], path: &std::path::Path) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(HEADERS).unwrap();
    for (i, r) in rows.iter().enumerate() {
        let mut r = r.clone();
        r[0] = format!("H{i:04}");
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
}

fn assess(path: &std::path::Path, options: &OpenOptions) -> Vec<serde_json::Value> {
    let rules = ruleset::load("national").unwrap();
    let bound = rules.at(Date::last_of_year(2024)).unwrap();
    let mut ledger = Ledger::open(path, &rules, options).unwrap();
    let dups = Duplicates::scan(&ledger).unwrap();
    let mut out = Vec::new();
    pipeline::stream(
        &mut ledger,
        &bound,
        &dups,
        |hh, a| Ok(Record::build(&bound, hh, a, true)),
        |r| {
            out.push(serde_json::to_value(&r).unwrap());
            Ok(())
        },
    )
    .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_row_is_assessed_once_in_input_order(rows in ledger()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.csv");
        write_csv(&rows, &path);
        let out = assess(&path, &OpenOptions::default());
        prop_assert_eq!(out.len(), rows.len());
        for (i, r) in out.iter().enumerate() {
            prop_assert_eq!(r["household_id"].as_str().unwrap(), format!("H{i:04}"));
            for d in ["eligibility", "exit", "elimination"] {
                prop_assert!(r[d].as_str().is_some_and(|s| !s.is_empty()));
            }
        }
    }

    #[test]
    fn csv_and_xlsx_of_the_same_rows_agree(rows in ledger()) {
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("l.csv");
        write_csv(&rows, &csv_path);
        let xlsx_path = dir.path().join("l.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(&csv_path).unwrap();
        for (i, rec) in r.records().enumerate() {
            for (j, v) in rec.unwrap().iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(i as u32, j as u16, v).unwrap();
                }
            }
        }
        wb.save(&xlsx_path).unwrap();
        let strip = |v: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
            v.into_iter().map(|mut r| {
                r.as_object_mut().unwrap().remove("row");
                r["problems"] = serde_json::json!(r["problems"].as_array().unwrap().iter().map(|p| p["message"].clone()).collect::<Vec<_>>());
                r
            }).collect()
        };
        let a = strip(assess(&csv_path, &OpenOptions::default()));
        let b = strip(assess(&xlsx_path, &OpenOptions::default()));
        // Rows that are blank in every cell are skipped by both; multi-line cells count one row.
        prop_assert_eq!(a, b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Generated pairs of quarters of any size and messiness: the accounting always adds up and
    /// the 新增户/减少户 lists have as many rows as it says.
    #[test]
    fn adjust_accounting_adds_up(seed in 0u64..10_000, n in 0u64..400, messy in 0.0f64..0.5) {
        let dir = tempfile::tempdir().unwrap();
        let (q2, q3, out) = (dir.path().join("q2.csv"), dir.path().join("q3.csv"), dir.path().join("out"));
        let gen = tuopin::cli::DemoArgs { households: n, seed, messy, year: 2024, output: q2.clone(), next_quarter: Some(q3.clone()), force: false };
        tuopin::cmd::demo_data::run(gen).unwrap();
        let code = tuopin::main_with_args(
            ["tuopin", "adjust", "--quarter", "2024Q3", "--previous"].iter().map(std::ffi::OsString::from)
                .chain([q2.into_os_string(), "--current".into(), q3.into_os_string(), "-o".into(), out.clone().into_os_string()]),
        );
        prop_assert!(code == std::process::ExitCode::SUCCESS || code == std::process::ExitCode::from(1));
        let mut r = csv::Reader::from_path(out.join("汇总.csv")).unwrap();
        let s: std::collections::HashMap<String, u64> = r.records().map(|x| x.unwrap()).filter(|x| &x[0] != "评估日期")
            .map(|x| (x[0].trim_start_matches('\u{feff}').to_string(), x[1].parse().unwrap())).collect();
        prop_assert_eq!(s["上季度户数（行）"], n);
        prop_assert_eq!(s["上季度户数（行）"], s["两季度均有"] + s["减少户"] + s["上季度户编号重复（任一季度）的行"]);
        prop_assert_eq!(s["本季度户数（行）"], s["两季度均有"] + s["新增户"] + s["本季度户编号重复（任一季度）的行"]);
        let rows = |list: &str| csv::Reader::from_path(out.join(format!("{list}.csv"))).unwrap().records().count() as u64;
        prop_assert_eq!(rows("新增户"), s["新增户"]);
        prop_assert_eq!(rows("减少户"), s["减少户"]);
    }
}

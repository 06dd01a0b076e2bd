//! The summary by area (issue #19 items 1–3): sheets 地区汇总, 指标说明 and 图表 read back with
//! calamine (numbers are numbers, villages add up to the total), charts and print settings in the
//! workbook's parts, `--summary FILE`, and an indicator declared in a variant rule file.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{Data, Reader};

use crate::support::{adjust_examples, file_in, part, part_names, sheet_rows as sheet, stderr_of, tuopin};

fn text(d: &Data) -> String {
    d.to_string()
}

fn number(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

fn assess_book(dir: &Path) -> std::path::PathBuf {
    let book = dir.join("结果.xlsx");
    let out = tuopin().args(["assess", "examples/户表.csv", "--year", "2024", "-o"]).arg(&book).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    book
}

/// 地区汇总: counts are numbers; the villages add up to each township's subtotal and to the
/// total, column by column; the total is the 汇总 sheet's (also numbers); shares are numbers.
#[test]
fn the_area_summary_holds_numbers_that_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let book = assess_book(dir.path());
    let wb = calamine::open_workbook_auto(&book).unwrap();
    assert_eq!(wb.sheet_names(), vec!["评估结果", "数据核查", "说明", "汇总", "地区汇总", "指标说明", "图表"]);
    let rows = sheet(&book, "地区汇总");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(&header[..7], ["层级", "县", "乡镇", "行政村", "户数", "人数", "人数不详（户）"]);
    assert!(header.contains(&"返贫致贫风险：高".to_string()) && header.contains(&"监测对象占比（户）".to_string()));
    let counts = 4..header.iter().position(|h| h == "监测对象占比（户）").unwrap();
    let level = |r: &[Data]| text(&r[0]);
    let villages: Vec<&Vec<Data>> = rows[1..].iter().filter(|r| level(r) == "行政村").collect();
    assert_eq!(villages.len(), 5);
    let total = rows.last().unwrap();
    assert_eq!(level(total), "合计");
    for c in counts.clone() {
        let sum: f64 = villages.iter().map(|r| number(&r[c])).sum();
        assert_eq!(sum, number(&total[c]), "column {}", header[c]);
        // Each township's subtotal is the sum of its villages.
        for t in rows[1..].iter().filter(|r| level(r) == "乡镇") {
            let of: f64 = villages.iter().filter(|v| v[2] == t[2]).map(|v| number(&v[c])).sum();
            assert_eq!(of, number(&t[c]), "{} of {}", header[c], t[2]);
        }
    }
    let at = |h: &str| header.iter().position(|x| x == h).unwrap();
    assert_eq!((number(&total[at("户数")]), number(&total[at("人数")])), (41.0, 138.0));
    assert_eq!(number(&total[at("返贫致贫风险：高")]), 9.0);
    // Shares are numbers: 9 monitored households of 41.
    let monitored = number(&total[at("监测对象占比（户）")]);
    assert!((monitored - 9.0 / 41.0).abs() < 1e-9, "{monitored}");
    let summary: BTreeMap<String, Data> =
        sheet(&book, "汇总").into_iter().map(|r| (text(&r[0]), r[1].clone())).collect();
    assert_eq!(number(&summary["评估户数"]), 41.0);
    assert_eq!(number(&summary["返贫致贫风险：高"]), 9.0);
    assert_eq!(text(&summary["规则集"]), "national");
    // 指标说明: each indicator with its definition, totals and source.
    let ind = sheet(&book, "指标说明");
    let monitored = ind.iter().find(|r| text(&r[0]) == "监测对象占比（户）").unwrap();
    assert_eq!(
        (text(&monitored[2]), number(&monitored[4]), number(&monitored[5])),
        ("!blank(monitor_type)".into(), 9.0, 41.0)
    );
    // The historic indicators apply to 2016–2020 only.
    assert!(ind.iter().all(|r| text(&r[0]) != "贫困发生率"));
}

/// Charts: stacked bars of decisions by township and a pie of risk levels; every sheet prints A4
/// landscape one page wide with a footer naming the rule set and date; every sheet with a header
/// repeats it on each page, freezes it and filters it.
#[test]
fn charts_and_print_settings_are_in_the_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let book = assess_book(dir.path());
    let names = part_names(&book);
    let charts: Vec<String> =
        names.iter().filter(|n| n.starts_with("xl/charts/chart")).map(|n| part(&book, n)).collect();
    assert_eq!(charts.len(), 3, "{names:?}");
    let stacked = charts.iter().filter(|c| c.contains("<c:barChart>") && c.contains("<c:grouping val=\"stacked\"/>"));
    assert_eq!(stacked.count(), 2);
    assert_eq!(charts.iter().filter(|c| c.contains("<c:pieChart>")).count(), 1);
    assert!(charts.iter().any(|c| c.contains("返贫致贫风险：按乡镇（户）")), "{charts:?}");
    let sheets: Vec<&String> = names.iter().filter(|n| n.starts_with("xl/worksheets/sheet")).collect();
    assert_eq!(sheets.len(), 7);
    for s in &sheets {
        let xml = part(&book, s);
        assert!(xml.contains("orientation=\"landscape\"") && xml.contains("paperSize=\"9\""), "{s}");
        assert!(xml.contains("<pageSetUpPr fitToPage=\"1\"/>") && xml.contains("fitToHeight=\"0\""), "{s}");
        assert!(xml.contains("&amp;L规则集 national&amp;C第 &amp;P 页，共 &amp;N 页&amp;R评估日期 2024-12-31"), "{s}");
    }
    let workbook = part(&book, "xl/workbook.xml");
    // Six sheets with a header row (all but 图表): repeated, frozen, filtered.
    assert_eq!(workbook.matches("_xlnm.Print_Titles").count(), 6, "{workbook}");
    assert_eq!(workbook.matches("_xlnm._FilterDatabase").count(), 6, "{workbook}");
    let frozen = sheets.iter().filter(|s| part(&book, s).contains("state=\"frozen\"")).count();
    assert_eq!(frozen, 6);
    // Widths from content: the 户编号 column fits its 13 digits, not a fixed width.
    let first = part(&book, "xl/worksheets/sheet1.xml");
    assert!(first.contains("<col min=\"2\" max=\"2\" width=\"15.7109375\""), "{}", &first[..first.len().min(1500)]);
}

/// `--summary FILE`: CSV (Excel-safe, as the sheet) or a workbook by its extension; never the
/// same file as -o.
#[test]
fn summary_files_csv_and_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("地区汇总.csv");
    let out = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2024", "--quiet", "--summary"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("\u{feff}层级,县,乡镇,行政村,户数,人数"), "{text}");
    assert!(text.contains("\n合计,,,,41,138,0,"), "{text}");
    assert!(text.contains("\n行政村,示例县,青山镇,石桥村,9,33,"), "{text}");
    assert_eq!(text.lines().count(), 1 + 5 + 3 + 1 + 1);
    let xlsx = dir.path().join("地区汇总.xlsx");
    let out = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2024", "--quiet", "--summary"])
        .arg(&xlsx)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let rows = sheet(&xlsx, "地区汇总");
    assert_eq!(rows.len(), 11);
    assert_eq!(number(&rows[10][4]), 41.0);
    let same = dir.path().join("x.xlsx");
    let out =
        tuopin().args(["assess", "examples/户表.csv", "-o"]).arg(&same).arg("--summary").arg(&same).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--summary 与 -o 是同一个文件"), "{}", stderr_of(&out));
    // adjust: the current quarter by area.
    let adj = dir.path().join("本季度.csv");
    let out = adjust_examples().args(["--quarter", "2024Q3"]).arg("--summary").arg(&adj).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&adj).unwrap();
    assert!(text.contains("\n合计,,,,17,51,"), "{text}");
    // Each list's rows per area (as the terminal table of README), adding up to the total.
    let mut r = csv::Reader::from_path(&adj).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<Vec<String>> = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    let lists: Vec<usize> = (0..header.len()).filter(|&c| header[c].starts_with("名单：")).collect();
    assert_eq!(lists.len(), 10, "{header:?}");
    let column = |row: &Vec<String>| lists.iter().map(|&c| row[c].clone()).collect::<Vec<_>>().join(" ");
    let of = |name: &str| column(rows.iter().find(|r| r[0] == "行政村" && r[3] == name).unwrap());
    assert_eq!(of("石桥村"), "3 1 1 2 1 2 1 1 1 6");
    assert_eq!(of("枫林村"), "0 0 0 0 0 0 0 0 0 1");
    assert_eq!(column(rows.last().unwrap()), "3 1 1 2 1 2 1 1 1 7");
}

/// An indicator and a figure per area declared in a variant rule file are computed: a share of
/// a condition, and a share of a registered population given per village (a township's own
/// figure wins over its villages'; no figure, no share).
#[test]
fn an_indicator_declared_in_a_variant_file_is_computed() {
    let dir = tempfile::tempdir().unwrap();
    let rules = file_in(
        dir.path(),
        "县.toml",
        r#"[ruleset]
id = "county-test"
name = "测试县"
extends = "national"

[indicators.low_income]
label = "人均纯收入不足一万元的户占比"
count = "households"
numerator = "per_capita_income < 10000"
denominator = "known(per_capita_income)"
source = "测试"

[indicators.covered]
label = "台账人口占户籍人口"
count = "persons"
numerator = "true"
denominator_data = "registered"
source = "测试"

[area_data.registered]
label = "户籍人口"
count = "persons"
values = { "石桥村" = 330, "河口乡" = 510, "青山镇/枫林村" = 48 }
source = "测试：乡镇上报"
"#,
    );
    let csv = dir.path().join("s.csv");
    let out = tuopin()
        .args(["assess", "examples/户表.csv", "--year", "2024", "--quiet", "--rules"])
        .arg(&rules)
        .arg("--summary")
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let mut r = csv::Reader::from_path(&csv).unwrap();
    let header: Vec<String> =
        r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
    let rows: Vec<Vec<String>> = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    let at = |h: &str| header.iter().position(|x| x == h).unwrap_or_else(|| panic!("{h} in {header:?}"));
    let (low, covered) = (at("人均纯收入不足一万元的户占比"), at("台账人口占户籍人口"));
    let row = |level: &str, name: &str| rows.iter().find(|r| r[0] == level && r.contains(&name.to_string())).unwrap();
    // 石桥村: 33 persons of 330; 枫林村 24 of 48; 青山镇 = 330 + 48 from its villages.
    assert_eq!(row("行政村", "石桥村")[covered], "10.00%");
    assert_eq!(row("行政村", "枫林村")[covered], "50.00%");
    assert_eq!(row("乡镇", "青山镇")[covered], format!("{:.2}%", 57.0 / 378.0 * 100.0));
    // 河口乡's own figure; its villages have none; 白云镇 has none at all.
    assert_eq!(row("乡镇", "河口乡")[covered], "10.00%");
    assert_eq!(row("行政村", "河口村")[covered], "");
    assert_eq!(row("乡镇", "白云镇")[covered], "");
    assert_eq!(rows.last().unwrap()[covered], "", "the county lacks 白云镇's figure");
    let low_total = &rows.last().unwrap()[low];
    assert!(low_total.ends_with('%') && low_total != "0.00%", "{low_total}");
    // `rules check` lists them, with their sources (⚠ where weak: the national historic ones).
    let out = tuopin().args(["rules", "check"]).arg(&rules).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("low_income") && text.contains("人均纯收入不足一万元的户占比（按户计）"), "{text}");
    assert!(text.contains("分子：per_capita_income < 10000；分母：known(per_capita_income)"), "{text}");
    assert!(text.contains("地区数据 registered 户籍人口（人，3 个地区）来源：测试：乡镇上报"), "{text}");
    assert!(text.contains("贫困发生率（按人计）（2016-01-01 至 2020-12-31）") && text.contains("⚠ 来源较弱"), "{text}");
}

/// Rule-file errors of the summary are Chinese and name the key.
#[test]
fn report_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (body, want) in [
        ("[indicators.x]\nlabel = \"x\"\ncount = \"households\"\nnumerator = \"true\"\ndenominator = \"true\"\nsource = \"s\"\ntarget = \"5%\"\n", "target"),
        ("[report]\nlevels = [\"town\"]\n", "levels 中的字段 `town` 不存在"),
        ("[indicators.x]\nlabel = \"x\"\ncount = \"households\"\nnumerator = \"true\"\nsource = \"s\"\n", "须给出 denominator"),
        ("[indicators.x]\nlabel = \"x\"\ncount = \"people\"\nnumerator = \"true\"\ndenominator = \"true\"\nsource = \"s\"\n", "count = \"people\""),
        ("[indicators.x]\nlabel = \"x\"\ncount = \"households\"\nnumerator = \"risk == '极高'\"\ndenominator = \"true\"\nsource = \"s\"\n", "指标 `x`"),
        ("[indicators.x]\nlabel = \"x\"\ncount = \"persons\"\nnumerator = \"true\"\ndenominator_data = \"pop\"\nsource = \"s\"\n", "没有这一项 [area_data.pop]"),
    ] {
        let rules = dir.path().join("r.toml");
        std::fs::write(&rules, format!("[ruleset]\nid = \"t\"\nname = \"t\"\nextends = \"national\"\n\n{body}")).unwrap();
        let out = tuopin().args(["rules", "check"]).arg(&rules).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{body}");
        assert!(stderr_of(&out).contains(want), "{body}: {}", stderr_of(&out));
    }
}

/// `adjust`'s 名单图表: the lists' sizes, the quarters' households (16 → 17), and per charted
/// decision its labels in both quarters, each block adding up to its quarter; a chart per block.
#[test]
fn adjust_charts_compare_the_quarters() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("名单.xlsx");
    let out = adjust_examples().args(["--quarter", "2024Q3"]).arg("-o").arg(&book).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let rows = sheet(&book, "名单图表");
    let block = |head: &str| -> Vec<Vec<Data>> {
        let at = rows.iter().position(|r| text(&r[0]) == head).unwrap_or_else(|| panic!("{head}"));
        rows[at + 1..].iter().take_while(|r| !matches!(r[0], Data::Empty)).cloned().collect()
    };
    let lists = block("名单");
    assert_eq!(lists.len(), 10);
    assert_eq!((text(&lists[0][0]), number(&lists[0][1]), number(&lists[0][2])), ("拟纳入监测".into(), 3.0, 9.0));
    let quarters = block("季度");
    assert_eq!(quarters.iter().map(|r| number(&r[1])).collect::<Vec<_>>(), [16.0, 17.0]);
    for decision in ["返贫致贫风险", "风险消除"] {
        let labels = block(decision);
        let (prev, cur): (f64, f64) =
            labels.iter().map(|r| (number(&r[1]), number(&r[2]))).fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!((prev, cur), (16.0, 17.0), "{decision}");
    }
    let charts = part_names(&book).iter().filter(|n| n.starts_with("xl/charts/chart")).count();
    assert_eq!(charts, 3 + 4, "by township, the pie, and 名单图表's four");
}

/// Figures per area from a CSV file beside the rule file (`file = "…"`): read into `values`
/// (a value written in the rule file wins); a bad cell stops the load naming file, row and value.
#[test]
fn figures_per_area_from_a_file_beside_the_rule_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = file_in(
        dir.path(),
        "县.toml",
        r#"[ruleset]
id = "county-file"
name = "测试县"
extends = "national"

[indicators.covered]
label = "台账人口占户籍人口"
count = "persons"
numerator = "true"
denominator_data = "registered"
source = "测试"

[area_data.registered]
label = "户籍人口"
count = "persons"
file = "户籍人口.csv"
values = { "枫林村" = 240 }
source = "测试：乡镇上报"
"#,
    );
    let figures = dir.path().join("户籍人口.csv");
    std::fs::write(&figures, "\u{feff}地区,户籍人口\n石桥村,330\n青山镇/枫林村,48\n\n河口村,\"1,000\"\n").unwrap();
    let csv = dir.path().join("s.csv");
    let run = |rules: &Path| {
        tuopin()
            .args(["assess", "examples/户表.csv", "--year", "2024", "--quiet", "--rules"])
            .arg(rules)
            .arg("--summary")
            .arg(&csv)
            .output()
            .unwrap()
    };
    let out = run(&rules);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&csv).unwrap();
    let share = |village: &str| {
        let line = text.lines().find(|l| l.starts_with("行政村,") && l.contains(&format!(",{village},"))).unwrap();
        line.rsplit(',').next().unwrap().to_string()
    };
    // 石桥村 33 of 330 (the file); 枫林村 24 of 48: the file's path key is longer than the rule
    // file's name key; 河口村 31 of 1000.
    assert_eq!((share("石桥村"), share("枫林村"), share("河口村")), ("10.00%".into(), "50.00%".into(), "3.10%".into()));
    std::fs::write(&figures, "地区,户籍人口\n石桥村,约300\n").unwrap();
    let out = run(&rules);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("[area_data.registered] file") && err.contains("户籍人口.csv"), "{err}");
    assert!(err.contains("第 2 行“石桥村”的数值“约300”应为非负整数"), "{err}");
    std::fs::remove_file(&figures).unwrap();
    let out = run(&rules);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("户籍人口.csv"), "{}", stderr_of(&out));
}

//! The summary by area in a workbook — sheets 地区汇总 (numbers as numbers, shares as
//! percentages), 指标说明 (what each indicator counts, its totals and source) and 图表 (decisions
//! by township as stacked bars, a decision's totals as a pie, `adjust`'s list sizes) — and as a
//! file of its own (`--summary FILE`: CSV, or a workbook by its extension).

use std::path::Path;

use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

use crate::output::areas::{AreaTable, SheetCell};
use crate::output::print::{print_layout, Footer, Widths};
use crate::output::AtomicFile;
use crate::ruleset::report::Denominator;
use crate::ruleset::Bound;

/// The sheet of `adjust`'s list charts.
const LIST_CHARTS: &str = "名单图表";

/// The most areas a chart shows (the first ones, in the table's order).
const CHART_AREAS: usize = 50;

fn header_format() -> Format {
    Format::new().set_bold().set_background_color("#DDEBF7").set_text_wrap()
}

/// The footer of the workbooks of a run.
pub fn footer(b: &Bound) -> Footer {
    Footer { rules: b.rules.id.clone(), date: b.as_of.to_string() }
}

/// Write a header row and rows of cells (counts as numbers, shares as percentages) on `ws`,
/// from row 0, with the print layout; `bold_rows`: which rows (of `rows`) are bold.
pub fn write_table(
    ws: &mut Worksheet,
    headers: &[String],
    rows: &[Vec<SheetCell>],
    bold_rows: &dyn Fn(usize) -> bool,
    footer: &Footer,
) -> Result<(), XlsxError> {
    let head = header_format();
    let percent = Format::new().set_num_format("0.00%");
    let bold = Format::new().set_bold();
    let bold_percent = Format::new().set_bold().set_num_format("0.00%");
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &head)?;
    }
    let hs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut widths = Widths::new(&hs);
    // Columns of numbers only: their (long) headers wrap instead of widening them.
    let mut numbers = vec![true; headers.len()];
    for (r, row) in rows.iter().enumerate() {
        let at = r as u32 + 1;
        let strong = bold_rows(r);
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match (cell, strong) {
                (SheetCell::Text(s), false) => ws.write_string(at, c, s)?,
                (SheetCell::Text(s), true) => ws.write_string_with_format(at, c, s, &bold)?,
                (SheetCell::Count(n), false) => ws.write_number(at, c, *n as f64)?,
                (SheetCell::Count(n), true) => ws.write_number_with_format(at, c, *n as f64, &bold)?,
                (SheetCell::Ratio(Some(x)), false) => ws.write_number_with_format(at, c, *x, &percent)?,
                (SheetCell::Ratio(Some(x)), true) => ws.write_number_with_format(at, c, *x, &bold_percent)?,
                (SheetCell::Ratio(None), _) => ws,
            };
        }
        let texts: Vec<String> = row.iter().map(SheetCell::text).collect();
        widths.sample(&texts);
        for (n, cell) in numbers.iter_mut().zip(row) {
            *n &= !matches!(cell, SheetCell::Text(t) if !t.is_empty());
        }
    }
    let w: Vec<f64> = (widths.get().into_iter().zip(&numbers)).map(|(w, &n)| if n { w.min(16.0) } else { w }).collect();
    print_layout(ws, 1, rows.len() as u32, &w, footer)
}

/// Sheets 地区汇总 and 指标说明 (when the rule file declares indicators) and 图表 (when it
/// declares charts) at the end of `wb`.
pub fn area_sheets(wb: &mut Workbook, t: &AreaTable, b: &Bound) -> Result<(), XlsxError> {
    let footer = footer(b);
    let rows: Vec<Vec<SheetCell>> = t.rows.iter().map(|r| r.cells.clone()).collect();
    let levels = t.levels.len();
    let ws = wb.add_worksheet();
    ws.set_name("地区汇总")?;
    write_table(ws, &t.headers, &rows, &|r| t.rows[r].depth < levels, &footer)?;
    if !t.indicators.is_empty() {
        let (headers, rows) = indicator_rows(t, b);
        let ws = wb.add_worksheet();
        ws.set_name("指标说明")?;
        write_table(ws, &headers, &rows, &|_| false, &footer)?;
    }
    let rep = &b.rules.report;
    if !rep.charts.is_empty() || !rep.pies.is_empty() {
        charts(wb, t, b, &footer)?;
    }
    Ok(())
}

/// What each indicator computed counts, with the total row's figures.
fn indicator_rows(t: &AreaTable, b: &Bound) -> (Vec<String>, Vec<Vec<SheetCell>>) {
    let rep = &b.rules.report;
    let headers = [
        "指标",
        "计",
        "分子（条件为真的）",
        "分母",
        "合计分子",
        "合计分母",
        "合计",
        "分子待核实（户）",
        "当时的标准（仅供参考，不作比较）",
        "适用期间",
        "来源",
        "说明",
    ];
    let text = |s: &str| SheetCell::Text(s.to_string());
    let rows = (t.indicators.iter().zip(&t.totals))
        .map(|(&k, &(num, den, unknown))| {
            let ind = &rep.indicators[k];
            let (den_text, den_note) = match &ind.denominator {
                Denominator::When(_, src, _) => (format!("条件为真的：{src}"), None),
                Denominator::Data(i) => {
                    let d = &rep.data[*i as usize];
                    (format!("地区数据：{}（来源：{}）", d.label, d.source), d.note.clone())
                }
            };
            let period = match (ind.from, ind.until) {
                (None, None) => "不限".to_string(),
                (f, u) => format!(
                    "{} 至 {}",
                    f.map_or("—".to_string(), |d| d.to_string()),
                    u.map_or("—".to_string(), |d| d.to_string())
                ),
            };
            let note: Vec<String> = ind.note.iter().cloned().chain(den_note).collect();
            vec![
                text(&ind.label),
                text(ind.count.unit()),
                text(&ind.numerator_text),
                SheetCell::Text(den_text),
                SheetCell::Count(num),
                den.map_or(text("（无数据）"), SheetCell::Count),
                SheetCell::Ratio(den.filter(|&d| d > 0).map(|d| num as f64 / d as f64)),
                SheetCell::Count(unknown),
                text(ind.standard.as_deref().unwrap_or("")),
                SheetCell::Text(period),
                text(&ind.source),
                SheetCell::Text(note.join("；")),
            ]
        })
        .collect();
    (headers.iter().map(|h| h.to_string()).collect(), rows)
}

/// Sheet 图表: per decision of `charts`, its labels by area of the level above the villages
/// (stacked bars); per decision of `pies`, its totals per label (a pie). Each chart's data is
/// written beside it, so that it reads its own block.
fn charts(wb: &mut Workbook, t: &AreaTable, b: &Bound, footer: &Footer) -> Result<(), XlsxError> {
    let rep = &b.rules.report;
    let levels = t.levels.len();
    // Decisions by township: the level above the villages (or the only level).
    let depth = if levels >= 2 { levels - 1 } else { levels };
    let areas: Vec<&crate::output::areas::AreaRow> =
        t.rows.iter().filter(|r| depth > 0 && r.depth == depth).take(CHART_AREAS).collect();
    let total = t.rows.iter().find(|r| r.depth == 0);
    let ws = wb.add_worksheet();
    ws.set_name("图表")?;
    let head = header_format();
    let mut row = 0u32;
    let count = |r: &crate::output::areas::AreaRow, c: usize| match r.cells[c] {
        SheetCell::Count(n) => n as f64,
        _ => 0.0,
    };
    for &d in &rep.charts {
        let Some(k) = rep.decisions.iter().position(|&x| x == d) else { continue };
        if areas.is_empty() {
            continue;
        }
        let dec = &b.rules.decisions[d as usize];
        let first = t.label_columns[k];
        ws.write_string_with_format(row, 0, &t.levels[depth - 1], &head)?;
        for (j, l) in dec.labels.iter().enumerate() {
            ws.write_string_with_format(row, 1 + j as u16, l, &head)?;
        }
        for (i, a) in areas.iter().enumerate() {
            let r = row + 1 + i as u32;
            let name = match &a.cells[depth] {
                SheetCell::Text(s) => s.clone(),
                _ => String::new(),
            };
            ws.write_string(r, 0, &name)?;
            for j in 0..dec.labels.len() {
                ws.write_number(r, 1 + j as u16, count(a, first + j))?;
            }
        }
        let last = row + areas.len() as u32;
        let mut chart = Chart::new(ChartType::BarStacked);
        chart.title().set_name(&format!("{}：按{}（户）", dec.label, t.levels[depth - 1]));
        for j in 0..dec.labels.len() as u16 {
            chart
                .add_series()
                .set_name(("图表", row, 1 + j))
                .set_categories(("图表", row + 1, 0, last, 0))
                .set_values(("图表", row + 1, 1 + j, last, 1 + j));
        }
        chart.set_width(720).set_height(360);
        ws.insert_chart(row, dec.labels.len() as u16 + 2, &chart)?;
        row = (last + 2).max(row + 20);
    }
    for &d in &rep.pies {
        let (Some(k), Some(total)) = (rep.decisions.iter().position(|&x| x == d), total) else { continue };
        let dec = &b.rules.decisions[d as usize];
        let first = t.label_columns[k];
        ws.write_string_with_format(row, 0, &dec.label, &head)?;
        ws.write_string_with_format(row, 1, "户数", &head)?;
        for (j, l) in dec.labels.iter().enumerate() {
            ws.write_string(row + 1 + j as u32, 0, l)?;
            ws.write_number(row + 1 + j as u32, 1, count(total, first + j))?;
        }
        let last = row + dec.labels.len() as u32;
        let mut chart = Chart::new(ChartType::Pie);
        chart.title().set_name(&format!("{}（合计，户）", dec.label));
        chart.add_series().set_categories(("图表", row + 1, 0, last, 0)).set_values(("图表", row + 1, 1, last, 1));
        chart.set_width(480).set_height(320);
        ws.insert_chart(row, 3, &chart)?;
        row = (last + 2).max(row + 18);
    }
    print_layout(ws, 0, 0, &[14.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0], footer)
}

/// What `adjust`'s chart sheet shows: per list (name, households, persons), the households of
/// the previous and the current quarter, and the charted decisions' labels in both.
pub struct ListCharts {
    pub lists: Vec<(String, u64, u64)>,
    pub quarters: [(String, u64); 2],
    pub decisions: Vec<QuarterLabels>,
}

/// A decision's households per label in the previous and the current snapshot (both assessed
/// on the run's date).
pub struct QuarterLabels {
    pub decision: String,
    pub labels: Vec<String>,
    pub previous: Vec<u64>,
    pub current: Vec<u64>,
}

/// Sheet 名单图表 of `adjust` (clustered columns, each beside its figures): each list's households
/// and persons this quarter; the households of the two quarters; per charted decision, its labels
/// in the two quarters.
pub fn list_charts(wb: &mut Workbook, c: &ListCharts, b: &Bound) -> Result<(), XlsxError> {
    let footer = footer(b);
    let ws = wb.add_worksheet();
    ws.set_name(LIST_CHARTS)?;
    let rows: Vec<(String, Vec<u64>)> = c.lists.iter().map(|(l, h, p)| (l.clone(), vec![*h, *p])).collect();
    let mut top = column_block(ws, 0, "本季度各名单规模", &["名单", "户数", "人数"], &rows)?;
    let rows: Vec<(String, Vec<u64>)> = c.quarters.iter().map(|(q, n)| (q.clone(), vec![*n])).collect();
    top = column_block(ws, top, "上季度与本季度的户数", &["季度", "户数"], &rows)?;
    for d in &c.decisions {
        let rows: Vec<(String, Vec<u64>)> =
            (d.labels.iter().enumerate()).map(|(j, l)| (l.clone(), vec![d.previous[j], d.current[j]])).collect();
        let title = format!("{}：上季度与本季度（户，均按本次评估日期）", d.decision);
        top = column_block(ws, top, &title, &[&d.decision, "上季度", "本季度"], &rows)?;
    }
    print_layout(ws, 0, 0, &[16.0, 10.0, 10.0], &footer)
}

/// A block of figures from row `top` (`headers`, then a row per category with its numbers) and a
/// clustered column chart of them beside it, a series per number column; the row after it.
fn column_block(
    ws: &mut Worksheet,
    top: u32,
    title: &str,
    headers: &[&str],
    rows: &[(String, Vec<u64>)],
) -> Result<u32, XlsxError> {
    let head = header_format();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(top, c as u16, *h, &head)?;
    }
    for (i, (name, values)) in rows.iter().enumerate() {
        let r = top + 1 + i as u32;
        ws.write_string(r, 0, name)?;
        for (c, v) in values.iter().enumerate() {
            ws.write_number(r, 1 + c as u16, *v as f64)?;
        }
    }
    let last = top + rows.len() as u32;
    if !rows.is_empty() {
        let mut chart = Chart::new(ChartType::Column);
        chart.title().set_name(title);
        for c in 1..headers.len() as u16 {
            chart
                .add_series()
                .set_name((LIST_CHARTS, top, c))
                .set_categories((LIST_CHARTS, top + 1, 0, last, 0))
                .set_values((LIST_CHARTS, top + 1, c, last, c));
        }
        chart.set_width(640).set_height(300);
        ws.insert_chart(top, 4, &chart)?;
    }
    Ok((last + 2).max(top + 17))
}

/// `--summary FILE`: the summary by area as CSV (UTF-8 with BOM; no formula, long numbers kept
/// as text, as every CSV of tuopin), or as a workbook when FILE ends in `.xlsx`.
pub fn write_summary_file(path: &Path, inputs: &[&Path], t: &AreaTable, b: &Bound) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(path, inputs)?;
    let to = path.display().to_string();
    let is_xlsx = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        let mut wb = Workbook::new();
        super::xlsx::guarded(&to, || area_sheets(&mut wb, t, b))?;
        super::xlsx::save(&mut wb, &mut file)?;
    } else {
        let mut out = String::from("\u{feff}");
        let mut w = super::CsvRow::new(&mut out);
        for h in &t.headers {
            w.safe(h);
        }
        w.end();
        for r in &t.rows {
            let mut w = super::CsvRow::new(&mut out);
            for c in &r.cells {
                w.safe(&c.text());
            }
            w.end();
        }
        file.writer().write_all(out.as_bytes()).map_err(|e| anyhow::anyhow!("无法写出地区汇总 {to}：{e}"))?;
    }
    file.commit()
}

//! Workbooks for staff: Chinese headers, frozen header row, autofilter, readable column widths,
//! reasons wrapped, and a summary sheet.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::output::areas::{AreaTable, SheetCell};
use crate::output::print::{print_layout, Widths};
use crate::output::report::{self, footer};
use crate::output::{AtomicFile, Record, Summary};
use crate::ruleset::file::Highlight;
use crate::ruleset::layout::{Item, LEADING_COLUMNS, TRAILING_COLUMNS};
use crate::ruleset::Bound;

/// A workbook error as an I/O error of the run, naming what was written. rust_xlsxwriter keeps the
/// rows of a large sheet in temporary files (in `TMPDIR`) until it saves.
fn write_error(to: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "无法写出工作簿 {to}：{e}（行数据先写入临时目录 {}，请检查其剩余空间，或用 TMPDIR 指向别处）",
        std::env::temp_dir().display()
    )
}

/// Run one step of writing a workbook; a panic inside rust_xlsxwriter (it panics when its
/// temporary files cannot be written, e.g. a full disk) becomes an error like any other.
pub(crate) fn guarded<T>(to: &str, f: impl FnOnce() -> Result<T, XlsxError>) -> anyhow::Result<T> {
    match crate::error::catch_panic(f) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(write_error(to, e)),
        Err(panic) => Err(write_error(to, panic)),
    }
}

/// Save the workbook into `file`: straight into its temporary file, or (a FIFO, a device,
/// standard output, which cannot seek) built in memory first and then written.
pub(crate) fn save(wb: &mut Workbook, file: &mut AtomicFile) -> anyhow::Result<()> {
    let to = file.path().display().to_string();
    match file.file() {
        Some(f) => guarded(&to, || wb.save_to_writer(f)),
        None => {
            let bytes = guarded(&to, || wb.save_to_buffer())?;
            file.writer().write_all(&bytes).map_err(|e| anyhow::anyhow!("无法写出工作簿 {to}：{e}"))
        }
    }
}

/// Rows of (项目, 数量) as a 汇总 sheet's cells: the counts as numbers.
fn summary_cells(rows: Vec<(String, SummaryValue)>) -> Vec<Vec<SheetCell>> {
    rows.into_iter()
        .map(|(k, v)| {
            let v = match v {
                SummaryValue::Text(t) => SheetCell::Text(t),
                SummaryValue::Count(n) => SheetCell::Count(n),
            };
            vec![SheetCell::Text(k), v]
        })
        .collect()
}

/// A value of the 汇总 sheet.
enum SummaryValue {
    Text(String),
    Count(u64),
}

/// The adjustment lists as a workbook: a 汇总 sheet first, then one sheet per list whose rows
/// are written as they are decided (constant memory).
pub struct AdjustBook {
    wb: Workbook,
    /// The output, for messages.
    to: String,
    rows: Vec<u32>,
    /// Per list sheet, its column widths (from its header and first rows).
    widths: Vec<Widths>,
    wrap: Format,
    /// The summary by area and the charts' figures, written after 汇总 when given.
    areas: Option<AreaTable>,
    charts: Option<ListCharts>,
}

pub use crate::output::report::{ListCharts, QuarterLabels};

/// Widths of the fixed list columns before a list's own, of its own, and after them.
const HEAD_WIDTHS: [f64; 6] = [16.0, 14.0, 10.0, 10.0, 10.0, 20.0];
const OWN_WIDTH: f64 = 14.0;
const TAIL_WIDTHS: [f64; 4] = [80.0, 36.0, 6.0, 8.0];

/// The widths of a list sheet's columns, before its rows are measured.
fn column_widths(n: usize) -> impl Iterator<Item = f64> {
    let own = n.saturating_sub(HEAD_WIDTHS.len() + TAIL_WIDTHS.len());
    HEAD_WIDTHS.iter().chain(std::iter::repeat_n(&OWN_WIDTH, own)).chain(&TAIL_WIDTHS).copied()
}

impl AdjustBook {
    /// A new workbook with a sheet per list (name, headers), to be saved to `to` (named in messages).
    pub fn new(to: &str, sheets: &[(&str, Vec<&str>)]) -> anyhow::Result<AdjustBook> {
        let wb = guarded(to, || AdjustBook::sheets(sheets))?;
        Ok(AdjustBook {
            wb,
            to: to.to_string(),
            rows: vec![0; sheets.len()],
            widths: sheets
                .iter()
                .map(|s| {
                    let mut w = Widths::new(&s.1);
                    for (c, least) in column_widths(s.1.len()).enumerate() {
                        w.at_least(c, least.min(16.0));
                    }
                    w
                })
                .collect(),
            wrap: Format::new().set_text_wrap(),
            areas: None,
            charts: None,
        })
    }

    /// Add sheets 地区汇总 (the lists per area) and 图表 when the workbook is finished.
    pub fn set_report(&mut self, areas: AreaTable, charts: ListCharts) {
        self.areas = Some(areas);
        self.charts = Some(charts);
    }

    fn sheets(sheets: &[(&str, Vec<&str>)]) -> Result<Workbook, XlsxError> {
        let mut wb = Workbook::new();
        wb.add_worksheet().set_name("汇总")?;
        let bold = Format::new().set_bold().set_background_color("#DDEBF7");
        for (name, headers) in sheets {
            let ws = wb.add_worksheet_with_constant_memory()?;
            ws.set_name(*name)?;
            for (c, (h, w)) in headers.iter().zip(column_widths(headers.len())).enumerate() {
                ws.set_column_width(c as u16, w)?;
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            ws.set_freeze_panes(1, 0)?;
        }
        Ok(wb)
    }

    /// One row of list number `list` (its sheet follows 汇总).
    pub fn add(&mut self, list: usize, cells: &[String]) -> anyhow::Result<()> {
        if self.rows[list] >= 1_048_575 {
            anyhow::bail!("XLSX 工作表最多 1,048,576 行：请改用 CSV 目录输出（-o 目录/）");
        }
        self.rows[list] += 1;
        let row = self.rows[list];
        self.widths[list].sample(cells);
        // The reason and the changes wrap: the 4th and 3rd columns from the end.
        let n = cells.len();
        let (wb, wrap) = (&mut self.wb, &self.wrap);
        guarded(&self.to, || {
            let ws = wb.worksheet_from_index(list + 1)?;
            for (c, v) in cells.iter().enumerate() {
                if c + 4 == n || c + 3 == n {
                    ws.write_string_with_format(row, c as u16, v, wrap)?;
                } else {
                    ws.write_string(row, c as u16, v)?;
                }
            }
            Ok(())
        })
    }

    pub fn finish(mut self, file: &mut AtomicFile, summary: &[(String, u64)], b: &Bound) -> anyhow::Result<()> {
        let footer = footer(b);
        for i in 0..self.rows.len() {
            let ws = self.wb.worksheet_from_index(i + 1)?;
            print_layout(ws, 1, self.rows[i], &self.widths[i].get(), &footer)?;
        }
        let mut rows = vec![("评估日期".to_string(), SummaryValue::Text(b.as_of.to_string()))];
        rows.extend(summary.iter().map(|(k, n)| (k.clone(), SummaryValue::Count(*n))));
        let headers = ["项目".to_string(), "数量".to_string()];
        report::write_table(self.wb.worksheet_from_index(0)?, &headers, &summary_cells(rows), &|_| false, &footer)?;
        if let Some(t) = &self.areas {
            report::area_sheets(&mut self.wb, t, b)?;
        }
        if let Some(c) = &self.charts {
            report::list_charts(&mut self.wb, c, b)?;
        }
        save(&mut self.wb, file)
    }
}

/// The assessment as a workbook: one row per household on the first sheet (written as they
/// come, in constant memory), then a 汇总 sheet.
pub struct AssessBook {
    wb: Workbook,
    /// The output, for messages.
    to: String,
    row: u32,
    /// Rows written on the 数据核查 sheet.
    finding_row: u32,
    wrap: Format,
    red: Format,
    yellow: Format,
    /// Per column, how its cells are written.
    styles: Vec<Style>,
    /// Column widths of the two streamed sheets, from their headers and first rows.
    widths: Widths,
    finding_widths: Widths,
    /// The summary by area, written after 汇总 when given.
    areas: Option<AreaTable>,
    /// Every sheet's footer: the rule set and the assessment date.
    footer: crate::output::print::Footer,
    /// Rows written on the 比对结果 sheet (the third), when department lists are given.
    match_row: Option<u32>,
}

/// How a cell of the assessment sheet is written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    /// A number (行号).
    Number,
    /// Wrapped text (reasons, problems, findings).
    Wrap,
    /// A decision's label, some of them coloured.
    Label(u16),
}

/// The 比对结果 sheet: one row per matched department record.
const MATCH_HEADERS: [&str; 8] =
    ["行号", "户编号", "行政村", "比对名单", "名单行号", "成员行号", "证件号码", "记录内容"];
const MATCH_WIDTHS: [f64; 8] = [6.0, 16.0, 10.0, 14.0, 8.0, 8.0, 20.0, 60.0];

/// The 数据核查 sheet: one row per finding.
const FINDING_HEADERS: [&str; 7] = ["行号", "户编号", "行政村", "检查", "级别", "说明", "来源"];
const FINDING_WIDTHS: [f64; 7] = [6.0, 16.0, 10.0, 24.0, 6.0, 60.0, 30.0];

impl AssessBook {
    /// A new workbook, to be saved to `to` (named in messages), with the columns of `b`'s rule set.
    pub fn new(to: &str, b: &Bound) -> anyhow::Result<AssessBook> {
        let rs = b.rules;
        let columns: Vec<(&str, f64, Style)> = (LEADING_COLUMNS.iter().enumerate())
            .map(|(k, &(h, w))| (h, w, if k == 0 { Style::Number } else { Style::Plain }))
            .chain(rs.layout.columns.iter().map(|c| {
                let style = match c.item {
                    Item::Label(d) if !rs.decisions[d as usize].highlight.is_empty() => Style::Label(d),
                    _ => Style::Plain,
                };
                (c.header.as_str(), c.width, style)
            }))
            .chain(TRAILING_COLUMNS.iter().map(|&(h, w)| (h, w, Style::Wrap)))
            .collect();
        let styles = columns.iter().map(|c| c.2).collect();
        let headers: Vec<&str> = columns.iter().map(|c| c.0).collect();
        let mut widths = Widths::new(&headers);
        // The wrapped columns keep their width, and a decision the width its rule file gives.
        let declared = LEADING_COLUMNS.len()..columns.len();
        for (c, col) in columns.iter().enumerate().filter(|(c, col)| declared.contains(c) || col.2 == Style::Wrap) {
            widths.at_least(c, col.1);
        }
        let mut finding_widths = Widths::new(&FINDING_HEADERS);
        finding_widths.at_least(5, FINDING_WIDTHS[5]);
        let wb = guarded(to, || {
            let mut wb = Workbook::new();
            let bold = Format::new().set_bold().set_background_color("#DDEBF7");
            let ws = wb.add_worksheet_with_constant_memory()?;
            ws.set_name("评估结果")?;
            for (c, (h, w, _)) in columns.iter().enumerate() {
                ws.set_column_width(c as u16, *w)?;
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            ws.set_freeze_panes(1, 0)?;
            let ws = wb.add_worksheet_with_constant_memory()?;
            ws.set_name("数据核查")?;
            for (c, h) in FINDING_HEADERS.iter().enumerate() {
                ws.set_column_width(c as u16, FINDING_WIDTHS[c])?;
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            ws.set_freeze_panes(1, 0)?;
            Ok(wb)
        })?;
        Ok(AssessBook {
            wb,
            to: to.to_string(),
            row: 0,
            finding_row: 0,
            wrap: Format::new().set_text_wrap().set_align(rust_xlsxwriter::FormatAlign::Top),
            red: Format::new().set_background_color("#FFC7CE").set_font_color("#9C0006").set_bold(),
            yellow: Format::new().set_background_color("#FFEB9C").set_font_color("#9C5700"),
            styles,
            widths,
            finding_widths,
            areas: None,
            footer: footer(b),
            match_row: None,
        })
    }

    /// Add the 比对结果 sheet (`--with`): one row per matched department record.
    pub fn with_match_sheet(&mut self) -> anyhow::Result<()> {
        let wb = &mut self.wb;
        guarded(&self.to, || {
            let bold = Format::new().set_bold().set_background_color("#DDEBF7");
            let ws = wb.add_worksheet_with_constant_memory()?;
            ws.set_name("比对结果")?;
            for (c, h) in MATCH_HEADERS.iter().enumerate() {
                ws.set_column_width(c as u16, MATCH_WIDTHS[c])?;
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            ws.set_freeze_panes(1, 0)?;
            Ok(())
        })?;
        self.match_row = Some(0);
        Ok(())
    }

    /// The household's matches on the 比对结果 sheet.
    fn add_matches(&mut self, r: &Record) -> anyhow::Result<()> {
        let Some(at) = self.match_row.as_mut() else { return Ok(()) };
        if *at + r.matches.len() as u32 >= 1_048_575 {
            anyhow::bail!("XLSX 工作表最多 1,048,576 行：比对结果过多，请改用 CSV 或 JSONL 输出");
        }
        let wb = &mut self.wb;
        guarded(&self.to, || {
            let ws = wb.worksheet_from_index(2)?;
            for m in &r.matches {
                *at += 1;
                let values: Vec<String> = m.values.iter().map(|(k, v)| format!("{k} {v}")).collect();
                ws.write_number(*at, 0, r.row as f64)?;
                ws.write_string(*at, 1, &r.household_id)?;
                ws.write_string(*at, 2, r.village.as_deref().unwrap_or(""))?;
                ws.write_string(*at, 3, &m.list)?;
                ws.write_number(*at, 4, m.row as f64)?;
                match m.member_row {
                    Some(row) => ws.write_number(*at, 5, row as f64)?,
                    None => ws.write_string(*at, 5, "户主")?,
                };
                ws.write_string(*at, 6, &m.id)?;
                ws.write_string(*at, 7, values.join("，"))?;
            }
            Ok(())
        })
    }

    /// Add sheets 地区汇总, 指标说明 and 图表 (the summary by area) when the workbook is finished.
    pub fn set_areas(&mut self, areas: AreaTable) {
        self.areas = Some(areas);
    }

    pub fn add(&mut self, r: &Record, b: &Bound) -> anyhow::Result<()> {
        if self.row >= 1_048_575 {
            anyhow::bail!("XLSX 工作表最多 1,048,576 行：请改用 CSV 输出（-o 结果.csv）");
        }
        self.row += 1;
        let AssessBook { wb, to, row, finding_row, wrap, red, yellow, styles, widths, finding_widths, .. } = self;
        let row = *row;
        let cells = crate::output::csv_cells(r);
        widths.sample(&cells);
        for f in &r.checks {
            if !finding_widths.wants() {
                break;
            }
            let village = r.village.as_deref().unwrap_or("");
            finding_widths.sample(&["", &r.household_id, village, &f.label, "", &f.message, &f.source]);
        }
        if !r.checks.is_empty() && *finding_row + r.checks.len() as u32 >= 1_048_575 {
            anyhow::bail!("XLSX 工作表最多 1,048,576 行：数据核查结果过多，请改用 CSV 输出（-o 结果.csv）");
        }
        guarded(to, || {
            let ws = wb.worksheet_from_index(0)?;
            for ((c, v), style) in cells.iter().enumerate().zip(styles.iter()) {
                let c = c as u16;
                let colour = match *style {
                    Style::Label(d) => {
                        let dec = &b.rules.decisions[d as usize];
                        let l = dec.labels.iter().position(|l| l == v);
                        dec.highlight.iter().find(|h| Some(h.0 as usize) == l).map(|h| h.1)
                    }
                    _ => None,
                };
                match (style, colour) {
                    (Style::Number, _) => {
                        ws.write_number(row, c, r.row as f64)?;
                    }
                    (_, Some(Highlight::Red)) => {
                        ws.write_string_with_format(row, c, v, red)?;
                    }
                    (_, Some(Highlight::Yellow)) => {
                        ws.write_string_with_format(row, c, v, yellow)?;
                    }
                    (Style::Wrap, _) => {
                        ws.write_string_with_format(row, c, v, wrap)?;
                    }
                    _ => {
                        ws.write_string(row, c, v)?;
                    }
                }
            }
            if !r.checks.is_empty() {
                let ws = wb.worksheet_from_index(1)?;
                for f in &r.checks {
                    *finding_row += 1;
                    let at = *finding_row;
                    ws.write_number(at, 0, r.row as f64)?;
                    ws.write_string(at, 1, &r.household_id)?;
                    ws.write_string(at, 2, r.village.as_deref().unwrap_or(""))?;
                    ws.write_string(at, 3, &f.label)?;
                    ws.write_string(at, 4, f.severity.word())?;
                    ws.write_string_with_format(at, 5, &f.message, wrap)?;
                    ws.write_string(at, 6, &f.source)?;
                }
            }
            Ok(())
        })?;
        self.add_matches(r)
    }

    pub fn finish(mut self, file: &mut AtomicFile, summary: &Summary, b: &Bound) -> anyhow::Result<()> {
        let footer = footer(b);
        print_layout(self.wb.worksheet_from_index(0)?, 1, self.row, &self.widths.get(), &footer)?;
        let findings = self.finding_widths.get();
        print_layout(self.wb.worksheet_from_index(1)?, 1, self.finding_row, &findings, &footer)?;
        if let Some(last) = self.match_row {
            print_layout(self.wb.worksheet_from_index(2)?, 1, last, &MATCH_WIDTHS, &footer)?;
        }
        let count = |k: &str, n: u64| (k.to_string(), SummaryValue::Count(n));
        let mut rows = vec![
            ("规则集".to_string(), SummaryValue::Text(b.rules.id.clone())),
            ("评估日期".to_string(), SummaryValue::Text(b.as_of.to_string())),
            count("读取行数", summary.rows_read + summary.blank_rows),
            count("评估户数", summary.households_assessed),
            count("有数据问题的户数", summary.households_with_problems),
            count("数据问题（处）", summary.problems),
        ];
        if summary.blank_rows > 0 {
            rows.insert(3, count("空白行（已跳过）", summary.blank_rows));
        }
        for ((_, labels), &d) in summary.counts.iter().zip(&summary.counted) {
            let d = &b.rules.decisions[d];
            for (l, n) in labels {
                rows.push(count(&format!("{}：{}", d.label, l), *n));
            }
        }
        for (c, n) in b.rules.checks.iter().zip(&summary.checks) {
            rows.push(count(&format!("数据核查：{}（{}）", c.label, c.severity.word()), *n));
        }
        let ws = self.wb.add_worksheet();
        ws.set_name("汇总")?;
        let headers = ["项目".to_string(), "数量".to_string()];
        report::write_table(ws, &headers, &summary_cells(rows), &|_| false, &footer)?;
        if let Some(t) = &self.areas {
            report::area_sheets(&mut self.wb, t, b)?;
        }
        save(&mut self.wb, file)
    }
}

impl AssessBook {
    /// A 说明 sheet with the output's provenance (`output::provenance`); see [`provenance_sheet`].
    pub fn provenance(&mut self, rows: &[(String, String)], as_of: crate::value::Date) -> anyhow::Result<()> {
        provenance_sheet(&mut self.wb, rows, as_of, &self.footer)
    }
}

impl AdjustBook {
    /// A 说明 sheet with the lists' provenance, as [`AssessBook::provenance`].
    pub fn provenance(&mut self, rows: &[(String, String)], b: &Bound) -> anyhow::Result<()> {
        provenance_sheet(&mut self.wb, rows, b.as_of, &footer(b))
    }
}

/// A 说明 sheet with an output's provenance (项目, 内容), and the workbook's creation date set to
/// the assessment date, so that the same inputs and options give the same bytes.
fn provenance_sheet(
    wb: &mut Workbook,
    rows: &[(String, String)],
    as_of: crate::value::Date,
    footer: &crate::output::print::Footer,
) -> anyhow::Result<()> {
    let created = rust_xlsxwriter::ExcelDateTime::from_ymd(
        as_of.year.clamp(1900, 9999) as u16,
        as_of.month as u8,
        as_of.day as u8,
    )?;
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
    let rows: Vec<Vec<SheetCell>> =
        rows.iter().map(|(k, v)| vec![SheetCell::Text(k.clone()), SheetCell::Text(v.clone())]).collect();
    let ws = wb.add_worksheet();
    ws.set_name("说明")?;
    let headers = ["项目".to_string(), "内容".to_string()];
    report::write_table(ws, &headers, &rows, &|_| false, footer)?;
    Ok(())
}

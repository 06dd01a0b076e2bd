//! Workbooks for staff: Chinese headers, frozen header row, autofilter, readable column widths,
//! reasons wrapped, and a summary sheet.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::adjust::List;
use crate::cmd::adjust::LIST_HEADERS;
use crate::output::{AtomicFile, Record, Summary, CSV_HEADERS};
use crate::ruleset::Bound;

/// Width of a column from its longest cell (CJK characters count double), clamped.
fn width(cells: impl Iterator<Item = usize>) -> f64 {
    cells.max().unwrap_or(4).clamp(4, 60) as f64 + 2.0
}

fn display_len(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn sheet(
    ws: &mut Worksheet,
    name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
    wrap: &[usize],
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold().set_background_color("#DDEBF7");
    let wrapped = Format::new().set_text_wrap();
    ws.set_name(name)?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if wrap.contains(&c) {
                ws.write_string_with_format(r as u32 + 1, c as u16, v, &wrapped)?;
            } else {
                ws.write_string(r as u32 + 1, c as u16, v)?;
            }
        }
    }
    for c in 0..headers.len() {
        let w = width(std::iter::once(display_len(headers[c])).chain(rows.iter().map(|r| display_len(&r[c]))));
        ws.set_column_width(c as u16, w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    if !headers.is_empty() {
        ws.autofilter(0, 0, rows.len() as u32, headers.len() as u16 - 1)?;
    }
    Ok(())
}

/// The adjustment lists as a workbook: a 汇总 sheet first, then one sheet per list whose rows
/// are written as they are decided (constant memory).
pub struct AdjustBook {
    wb: Workbook,
    rows: [u32; 12],
    wrap: Format,
}

/// Widths of the list columns.
const LIST_WIDTHS: [f64; 10] = [16.0, 14.0, 10.0, 10.0, 10.0, 20.0, 80.0, 36.0, 6.0, 8.0];

impl AdjustBook {
    pub fn new() -> Result<AdjustBook, XlsxError> {
        let mut wb = Workbook::new();
        wb.add_worksheet().set_name("汇总")?;
        let bold = Format::new().set_bold().set_background_color("#DDEBF7");
        for list in List::ALL {
            let ws = wb.add_worksheet_with_constant_memory()?;
            ws.set_name(list.name())?;
            for (c, h) in LIST_HEADERS.iter().enumerate() {
                ws.set_column_width(c as u16, LIST_WIDTHS[c])?;
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            ws.set_freeze_panes(1, 0)?;
        }
        Ok(AdjustBook { wb, rows: [0; 12], wrap: Format::new().set_text_wrap() })
    }

    /// One row of list number `list` (`List as usize`).
    pub fn add(&mut self, list: usize, cells: &[String]) -> anyhow::Result<()> {
        if self.rows[list] >= 1_048_575 {
            anyhow::bail!("XLSX 工作表最多 1,048,576 行：请改用 CSV 目录输出（-o 目录/）");
        }
        self.rows[list] += 1;
        let row = self.rows[list];
        let ws = self.wb.worksheet_from_index(list + 1)?;
        for (c, v) in cells.iter().enumerate() {
            if c == 6 || c == 7 {
                ws.write_string_with_format(row, c as u16, v, &self.wrap)?;
            } else {
                ws.write_string(row, c as u16, v)?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self, file: &mut AtomicFile, summary: &[(String, u64)], b: &Bound) -> anyhow::Result<()> {
        for i in 0..List::ALL.len() {
            let last = self.rows[i];
            self.wb.worksheet_from_index(i + 1)?.autofilter(0, 0, last, LIST_HEADERS.len() as u16 - 1)?;
        }
        let mut rows: Vec<Vec<String>> = vec![vec!["评估日期".into(), b.as_of.to_string()]];
        rows.extend(summary.iter().map(|(k, n)| vec![k.clone(), n.to_string()]));
        sheet(self.wb.worksheet_from_index(0)?, "汇总", &["项目", "数量"], &rows, &[])?;
        self.wb.save_to_writer(file.writer())?;
        Ok(())
    }
}

/// The assessment as a workbook: one row per household on the first sheet (written as they
/// come, in constant memory), then a 汇总 sheet.
pub struct AssessBook {
    wb: Workbook,
    row: u32,
    wrap: Format,
    high: Format,
    medium: Format,
}

/// Widths of the assessment columns (CJK characters count double).
const ASSESS_WIDTHS: [f64; 17] =
    [6.0, 16.0, 14.0, 10.0, 10.0, 10.0, 20.0, 10.0, 14.0, 12.0, 10.0, 24.0, 14.0, 10.0, 12.0, 80.0, 40.0];

impl AssessBook {
    pub fn new() -> Result<AssessBook, XlsxError> {
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold().set_background_color("#DDEBF7");
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name("评估结果")?;
        for (c, h) in CSV_HEADERS.iter().enumerate() {
            ws.set_column_width(c as u16, ASSESS_WIDTHS[c])?;
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        ws.set_freeze_panes(1, 0)?;
        Ok(AssessBook {
            wb,
            row: 0,
            wrap: Format::new().set_text_wrap().set_align(rust_xlsxwriter::FormatAlign::Top),
            high: Format::new().set_background_color("#FFC7CE").set_font_color("#9C0006").set_bold(),
            medium: Format::new().set_background_color("#FFEB9C").set_font_color("#9C5700"),
        })
    }

    pub fn add(&mut self, r: &Record) -> anyhow::Result<()> {
        if self.row >= 1_048_575 {
            anyhow::bail!("XLSX 工作表最多 1,048,576 行：请改用 CSV 输出（-o 结果.csv）");
        }
        self.row += 1;
        let ws = self.wb.worksheet_from_index(0)?;
        let cells = crate::output::csv_cells(r);
        for (c, v) in cells.iter().enumerate() {
            let c = c as u16;
            match c {
                0 => {
                    ws.write_number(self.row, c, r.row as f64)?;
                }
                10 if v == "高" => {
                    ws.write_string_with_format(self.row, c, v, &self.high)?;
                }
                10 if v == "中" => {
                    ws.write_string_with_format(self.row, c, v, &self.medium)?;
                }
                15 | 16 => {
                    ws.write_string_with_format(self.row, c, v, &self.wrap)?;
                }
                _ => {
                    ws.write_string(self.row, c, v)?;
                }
            }
        }
        Ok(())
    }

    pub fn finish(mut self, file: &mut AtomicFile, summary: &Summary, b: &Bound) -> anyhow::Result<()> {
        let last = self.row;
        let ws = self.wb.worksheet_from_index(0)?;
        ws.autofilter(0, 0, last, CSV_HEADERS.len() as u16 - 1)?;
        let mut rows: Vec<Vec<String>> = vec![
            vec!["规则集".into(), b.rules.id.clone()],
            vec!["评估日期".into(), b.as_of.to_string()],
            vec!["读取行数".into(), (summary.rows_read + summary.blank_rows).to_string()],
            vec!["评估户数".into(), summary.households_assessed.to_string()],
            vec!["有数据问题的户数".into(), summary.households_with_problems.to_string()],
            vec!["数据问题（处）".into(), summary.problems.to_string()],
        ];
        if summary.blank_rows > 0 {
            rows.insert(3, vec!["空白行（已跳过）".into(), summary.blank_rows.to_string()]);
        }
        for (id, labels) in &summary.counts {
            let d = b.rules.decision(id);
            for (l, n) in labels {
                rows.push(vec![format!("{}：{}", d.label, l), n.to_string()]);
            }
        }
        sheet(self.wb.add_worksheet(), "汇总", &["项目", "数量"], &rows, &[])?;
        self.wb.save_to_writer(file.writer())?;
        Ok(())
    }
}

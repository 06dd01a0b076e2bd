//! Workbooks for staff: Chinese headers, frozen header row, autofilter, readable column widths,
//! reasons wrapped, and a summary sheet.

use std::io::Write;

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::adjust::{Entry, List};
use crate::cmd::adjust::{entry_cells, summary_rows, Accounting, LIST_HEADERS};
use crate::output::AtomicFile;
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

/// One sheet per list and a 汇总 sheet first.
pub fn adjust_workbook(file: &mut AtomicFile, entries: &[Entry], acc: &Accounting, b: &Bound) -> anyhow::Result<()> {
    let mut wb = Workbook::new();
    let mut summary: Vec<Vec<String>> = vec![vec!["评估日期".into(), b.as_of.to_string()]];
    summary.extend(summary_rows(acc, entries).into_iter().map(|(k, n)| vec![k, n.to_string()]));
    sheet(wb.add_worksheet(), "汇总", &["项目", "数量"], &summary, &[])?;
    for list in List::ALL {
        let rows: Vec<Vec<String>> =
            entries.iter().filter(|e| e.list == list).map(|e| entry_cells(e).to_vec()).collect();
        sheet(wb.add_worksheet(), list.name(), &LIST_HEADERS, &rows, &[6, 7])?;
    }
    let bytes = wb.save_to_buffer()?;
    file.writer().write_all(&bytes)?;
    Ok(())
}

//! How every sheet of a workbook prints and shows: A4 landscape, one page wide, the header row
//! repeated on every page and frozen on screen, an autofilter, column widths from the content
//! (a CJK character counts two), and a footer with the page number, the rule set and the
//! assessment date. Every sheet a workbook writes — those of `assess` and `adjust`, and any added
//! later — calls [`print_layout`].

use rust_xlsxwriter::{Worksheet, XlsxError};

/// Rows of a streamed sheet whose cells set its column widths: the first ones written (a
/// constant-memory sheet cannot be read back, and a million rows need not all be measured).
pub const WIDTH_SAMPLE_ROWS: u32 = 1000;

/// The widest a column is made (characters); longer texts wrap or are cut off on screen.
const MAX_WIDTH: usize = 60;

/// What a sheet's footer says besides the page: the rule set and the assessment date.
#[derive(Debug, Clone)]
pub struct Footer {
    pub rules: String,
    pub date: String,
}

impl Footer {
    /// The footer as Excel codes it: `&L` left, `&C` centre (`第 &P 页，共 &N 页`), `&R` right; an
    /// `&` of the texts doubled so that it is not read as a code.
    pub fn code(&self) -> String {
        let esc = |s: &str| s.replace('&', "&&");
        format!("&L规则集 {}&C第 &P 页，共 &N 页&R评估日期 {}", esc(&self.rules), esc(&self.date))
    }
}

/// Width of a text on screen: an ASCII character one, any other (CJK) two.
pub fn display_len(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// Column widths measured from the header and a sample of the rows ([`WIDTH_SAMPLE_ROWS`]).
#[derive(Debug, Clone)]
pub struct Widths {
    widest: Vec<usize>,
    /// Per column, the least width (a rule file's `width`).
    least: Vec<f64>,
    sampled: u32,
}

impl Widths {
    pub fn new(headers: &[&str]) -> Widths {
        Widths { widest: headers.iter().map(|h| display_len(h)).collect(), least: vec![0.0; headers.len()], sampled: 0 }
    }

    /// At least `w` for column `c`.
    pub fn at_least(&mut self, c: usize, w: f64) {
        if let Some(l) = self.least.get_mut(c) {
            *l = w;
        }
    }

    /// Whether rows are still measured.
    pub fn wants(&self) -> bool {
        self.sampled < WIDTH_SAMPLE_ROWS
    }

    /// Measure one row, while the sample lasts.
    pub fn sample<S: AsRef<str>>(&mut self, cells: &[S]) {
        if self.sampled >= WIDTH_SAMPLE_ROWS {
            return;
        }
        self.sampled += 1;
        for (w, c) in self.widest.iter_mut().zip(cells) {
            // A wrapped cell shows its longest line.
            let len = c.as_ref().lines().map(display_len).max().unwrap_or(0);
            *w = (*w).max(len.min(MAX_WIDTH));
        }
    }

    /// Each column's width in Excel's character units.
    pub fn get(&self) -> Vec<f64> {
        self.widest.iter().zip(&self.least).map(|(&w, &l)| (w.clamp(4, MAX_WIDTH) as f64 + 2.0).max(l)).collect()
    }
}

/// The print and view settings of a sheet whose first `header_rows` rows are its header and
/// whose last row is `last_row` (0-based; the header's last row for an empty table), with the
/// column widths `widths` (one per column).
pub fn print_layout(
    ws: &mut Worksheet,
    header_rows: u32,
    last_row: u32,
    widths: &[f64],
    footer: &Footer,
) -> Result<(), XlsxError> {
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_landscape();
    // 9: A4 (Excel's paper codes).
    ws.set_paper_size(9);
    // One page wide, as many pages tall as the rows need.
    ws.set_print_fit_to_pages(1, 0);
    ws.set_footer(footer.code());
    if header_rows > 0 {
        ws.set_repeat_rows(0, header_rows - 1)?;
        ws.set_freeze_panes(header_rows, 0)?;
        if !widths.is_empty() {
            ws.autofilter(header_rows - 1, 0, last_row.max(header_rows - 1), widths.len() as u16 - 1)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{display_len, Footer, Widths, WIDTH_SAMPLE_ROWS};

    #[test]
    fn widths_count_cjk_twice_and_come_from_a_sample() {
        assert_eq!(display_len("户编号A1"), 8);
        let mut w = Widths::new(&["户编号", "x"]);
        w.sample(&["1", "一二三四五六七八九十"]);
        assert_eq!(w.get(), vec![8.0, 22.0]);
        for _ in 0..WIDTH_SAMPLE_ROWS {
            w.sample(&["1", ""]);
        }
        // Past the sample, rows are not measured.
        w.sample(&["一二三四五六七八九十一二三四五六七八九十", ""]);
        assert_eq!(w.get()[0], 8.0);
        w.sample(&["", &"长".repeat(100)]);
        assert_eq!(w.get()[1], 22.0);
        let mut w = Widths::new(&["说明"]);
        w.sample(&["第一行\n第二行很长很长很长"]);
        assert_eq!(w.get(), vec![20.0]);
        w.at_least(0, 30.0);
        assert_eq!(w.get(), vec![30.0]);
    }

    #[test]
    fn the_footer_escapes_ampersands() {
        let f = Footer { rules: "a&b".into(), date: "2024-12-31".into() };
        assert_eq!(f.code(), "&L规则集 a&&b&C第 &P 页，共 &N 页&R评估日期 2024-12-31");
    }
}

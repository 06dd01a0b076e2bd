//! 公示 notices: one per place (village), as a print-ready workbook (a sheet per village, A4
//! landscape, fitted to the page width, header rows repeated) and as a printable HTML page (a
//! page per village). They show only what [`NoticeRow`] holds: no other field reaches them.

use std::fmt::Write as _;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::value::Date;

/// One household on a notice: the allow-listed columns, already checked for what may be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRow {
    pub name: String,
    pub group: String,
    pub members: String,
    /// The list's label, as the rule file names it.
    pub item: String,
}

/// The notice of one place.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceNotice {
    pub place: String,
    pub rows: Vec<NoticeRow>,
}

/// Every notice of a run and what is printed on each.
#[derive(Debug, Clone)]
pub struct NoticeDoc {
    pub title: String,
    pub start: Date,
    pub end: Date,
    pub days: u32,
    pub contact: String,
    /// Column headers: name, group (none: no column), household size.
    pub name_header: String,
    pub group_header: Option<String>,
    pub members_header: String,
    /// The posted lists' labels, in the rule file's order (the order headings name them).
    pub items: Vec<String>,
    pub places: Vec<PlaceNotice>,
    /// The notices' provenance (项目, 内容), in the workbook's last sheet 说明 (no personal data).
    pub provenance: Vec<(String, String)>,
}

impl NoticeDoc {
    fn headers(&self) -> Vec<&str> {
        let mut h = vec!["序号", self.name_header.as_str()];
        h.extend(self.group_header.as_deref());
        h.extend([self.members_header.as_str(), "公示事项"]);
        h
    }

    fn cells<'a>(&self, k: usize, r: &'a NoticeRow) -> Vec<std::borrow::Cow<'a, str>> {
        let mut c = vec![(k + 1).to_string().into(), r.name.as_str().into()];
        if self.group_header.is_some() {
            c.push(r.group.as_str().into());
        }
        c.extend([r.members.as_str().into(), r.item.as_str().into()]);
        c
    }

    /// `<place> <list label>、<list label>…<title>`: the labels of the lists with a row there.
    pub fn heading(&self, p: &PlaceNotice) -> String {
        let items: Vec<&str> =
            self.items.iter().filter(|i| p.rows.iter().any(|r| &r.item == *i)).map(String::as_str).collect();
        format!("{} {}{}", p.place, items.join("、"), self.title)
    }

    pub fn period(&self) -> String {
        format!("公示期：{} 至 {}（共 {} 天）", self.start, self.end, self.days)
    }
}

/// `s` with `& < > " '` escaped for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HTML_STYLE: &str = "@page { size: A4 landscape; margin: 15mm; }\n\
body { font-family: \"SimSun\", \"宋体\", \"Songti SC\", serif; font-size: 12pt; }\n\
section { break-after: page; page-break-after: always; }\n\
section:last-child { break-after: auto; page-break-after: auto; }\n\
h1 { text-align: center; font-size: 18pt; margin: 0 0 6pt; }\n\
p.period { text-align: center; margin: 0 0 8pt; }\n\
table { width: 100%; border-collapse: collapse; }\n\
thead { display: table-header-group; }\n\
tr { break-inside: avoid; page-break-inside: avoid; }\n\
th, td { border: 1px solid #000; padding: 4pt 6pt; text-align: center; }\n\
p.contact { margin-top: 10pt; }\n";

/// The notices as one HTML page (UTF-8), a printed page per place; every text escaped.
pub fn html(doc: &NoticeDoc) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{HTML_STYLE}</style>\n</head>\n<body>\n",
        escape_html(&doc.title)
    );
    let headers = doc.headers();
    for p in &doc.places {
        let _ = write!(
            out,
            "<section>\n<h1>{}</h1>\n<p class=\"period\">{}</p>\n<table>\n<thead><tr>",
            escape_html(&doc.heading(p)),
            escape_html(&doc.period())
        );
        for h in &headers {
            let _ = write!(out, "<th>{}</th>", escape_html(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for (k, r) in p.rows.iter().enumerate() {
            out.push_str("<tr>");
            for c in doc.cells(k, r) {
                let _ = write!(out, "<td>{}</td>", escape_html(&c));
            }
            out.push_str("</tr>\n");
        }
        let _ = write!(out, "</tbody>\n</table>\n<p class=\"contact\">{}</p>\n</section>\n", escape_html(&doc.contact));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// A sheet name from a place: no `[ ] : * ? / \ '`, at most 28 characters, unique (`(2)`…).
fn sheet_name(place: &str, k: usize, used: &mut Vec<String>) -> String {
    let clean: String = place
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "[]:*?/\\'".contains(c) { '_' } else { c })
        .collect::<String>()
        .trim()
        .chars()
        .rev()
        .take(28)
        .collect::<Vec<char>>()
        .into_iter()
        .rev()
        .collect();
    let base = if clean.is_empty() { format!("公示{}", k + 1) } else { clean };
    let mut name = base.clone();
    let mut n = 2;
    while used.iter().any(|u| u.to_lowercase() == name.to_lowercase()) {
        name = format!("{base}({n})");
        n += 1;
    }
    used.push(name.clone());
    name
}

/// The notices as a workbook, a sheet per place, ready to print: A4 landscape, one page wide,
/// the title, period and header rows repeated on every page, page numbers in the footer. The
/// creation date is the first day of posting, so the same notices give the same bytes.
pub fn workbook(doc: &NoticeDoc) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let created =
        ExcelDateTime::from_ymd(doc.start.year.clamp(1900, 9999) as u16, doc.start.month as u8, doc.start.day as u8)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let title = Format::new().set_bold().set_font_size(16).set_align(FormatAlign::Center);
    let centre = Format::new().set_align(FormatAlign::Center);
    let head = Format::new().set_bold().set_border(FormatBorder::Thin).set_align(FormatAlign::Center);
    let cell = Format::new().set_border(FormatBorder::Thin).set_align(FormatAlign::Center);
    let wrap = Format::new().set_text_wrap();
    let headers = doc.headers();
    let last = headers.len() as u16 - 1;
    let mut used = Vec::new();
    for (k, p) in doc.places.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&p.place, k, &mut used))?;
        ws.merge_range(0, 0, 0, last, &doc.heading(p), &title)?;
        ws.merge_range(1, 0, 1, last, &doc.period(), &centre)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(2, c as u16, *h, &head)?;
        }
        for (r, row) in p.rows.iter().enumerate() {
            for (c, v) in doc.cells(r, row).iter().enumerate() {
                ws.write_string_with_format(3 + r as u32, c as u16, v.as_ref(), &cell)?;
            }
        }
        let end = 4 + p.rows.len() as u32;
        ws.merge_range(end, 0, end, last, &doc.contact, &wrap)?;
        ws.set_row_height(end, 36)?;
        ws.set_column_width(0, 6)?;
        for c in 1..=last {
            ws.set_column_width(c, if c == last { 24 } else { 16 })?;
        }
        ws.set_paper_size(9).set_landscape().set_print_fit_to_pages(1, 0).set_print_center_horizontally(true);
        ws.set_repeat_rows(0, 2)?;
        ws.set_footer("&C第 &P 页，共 &N 页");
    }
    if !doc.provenance.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name("说明", doc.places.len(), &mut used))?;
        ws.write_string_with_format(0, 0, "项目", &head)?;
        ws.write_string_with_format(0, 1, "内容", &head)?;
        for (r, (k, v)) in doc.provenance.iter().enumerate() {
            ws.write_string(r as u32 + 1, 0, k)?;
            ws.write_string(r as u32 + 1, 1, v)?;
        }
        ws.set_column_width(0, 24)?;
        ws.set_column_width(1, 80)?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(place: &str, name: &str) -> NoticeDoc {
        NoticeDoc {
            title: "公示".into(),
            start: Date::new(2024, 10, 8).unwrap(),
            end: Date::new(2024, 10, 12).unwrap(),
            days: 5,
            contact: "如有异议请联系村委会".into(),
            name_header: "户主姓名".into(),
            group_header: Some("村民小组".into()),
            members_header: "家庭人口数".into(),
            items: vec!["拟纳入监测".into()],
            provenance: vec![("程序".into(), "tuopin".into())],
            places: vec![PlaceNotice {
                place: place.into(),
                rows: vec![NoticeRow {
                    name: name.into(),
                    group: "一组".into(),
                    members: "4".into(),
                    item: "拟纳入监测".into(),
                }],
            }],
        }
    }

    #[test]
    fn html_escapes_every_text() {
        let page = html(&doc("<b>石桥村</b>", "<script>alert('x')</script>&"));
        assert!(!page.contains("<script>") && !page.contains("<b>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
        assert!(page.contains("size: A4 landscape") && page.contains("公示期：2024-10-08 至 2024-10-12（共 5 天）"));
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used = Vec::new();
        assert_eq!(sheet_name("石桥村", 0, &mut used), "石桥村");
        assert_eq!(sheet_name("石桥村", 1, &mut used), "石桥村(2)");
        assert_eq!(sheet_name("a/b:c", 2, &mut used), "a_b_c");
        assert_eq!(sheet_name("  ", 3, &mut used), "公示4");
        assert_eq!(sheet_name(&"村".repeat(40), 4, &mut used).chars().count(), 28);
    }

    #[test]
    fn the_same_notices_give_the_same_workbook() {
        assert_eq!(workbook(&doc("石桥村", "张某华")).unwrap(), workbook(&doc("石桥村", "张某华")).unwrap());
    }
}

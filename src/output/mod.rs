//! Results out: one record per household in input order, as a terminal table, a CSV for Excel, or
//! JSON Lines; plus the run summary. Columns and keys are fixed and documented in the README.
//!
//! Writers work on a [`Record`], a plain view of (household, assessment, reasons) built once per
//! household, so the formats cannot disagree about what a household's result is.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{self, Assessment, Reason};
use crate::household::{Cell, Household, Problem, Scalar};
use crate::ruleset::file::FieldType;
use crate::ruleset::{Bound, RuleSet, ELIGIBILITY, ELIMINATION, EXIT, RISK, SUGGESTED_TYPE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// CSV with Chinese headers, UTF-8 with BOM, for Excel/WPS.
    Csv,
    /// JSON Lines with English keys, one household per line.
    Jsonl,
    /// An Excel workbook (-o FILE.xlsx): frozen header, filters, risk levels coloured, a summary sheet.
    Xlsx,
}

/// One household's result, as every writer shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub row: u64,
    /// Input rows behind this household (members' rows for a person export).
    #[serde(skip)]
    pub source_rows: u64,
    pub household_id: String,
    pub county: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    pub head_name: Option<String>,
    pub head_id: Option<String>,
    pub household_type: Option<String>,
    pub eligibility: String,
    pub exit: String,
    pub risk: Risk,
    pub elimination: String,
    /// Every reason with its value, threshold and source (only when built with `detail`).
    pub reasons: Vec<Reason>,
    /// The reasons as one line of plain Chinese ([`engine::write_reasons`]).
    #[serde(skip)]
    pub reasons_text: String,
    /// The labels of the risk factors that are true, as CSV and XLSX show them.
    #[serde(skip)]
    pub factor_labels: String,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    pub level: String,
    pub factors: Vec<String>,
    pub suggested_type: Option<String>,
    pub returned: Option<bool>,
}

/// Mask an ID number: `430524********1234`. A value shorter than an ID (an invalid one, cut off)
/// keeps only its first 6 characters, so that no more than 10 of its characters ever show; one
/// shorter than 10 is masked whole.
pub fn mask_id(s: &str) -> String {
    if s.is_ascii() {
        let n = s.len();
        let (head, tail) = match n {
            15.. => (6, 4),
            10.. => (6, 0),
            _ => (0, 0),
        };
        let mut out = String::with_capacity(n);
        out.push_str(&s[..head]);
        out.extend(std::iter::repeat_n('*', n - head - tail));
        out.push_str(&s[n - tail..]);
        return out;
    }
    let n = s.chars().count();
    let (head, tail) = match n {
        15.. => (6, 4),
        10.. => (6, 0),
        _ => (0, 0),
    };
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        out.push(if i < head || i >= n - tail { c } else { '*' });
    }
    out
}

/// Mask what looks like a personal number in free text (a cell shown in a message, where the
/// column is not known): an ID number (15 or 18 characters, digits with a final X) or a mobile
/// number (11 digits starting with 1, shown `138****5678`).
pub fn mask_personal(s: &str) -> Cow<'_, str> {
    let t = s.trim();
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let body = t.strip_suffix(['X', 'x']).unwrap_or(t);
    if (t.len() == 15 || t.len() == 18) && digits(body) {
        return mask_id(t).into();
    }
    if t.len() == 11 && t.starts_with('1') && digits(t) {
        return format!("{}****{}", &t[..3], &t[7..]).into();
    }
    s.into()
}

/// The text of field `key` as outputs show it (ID numbers masked unless `show_ids`): text as
/// read, an enum's value, an invalid cell as written; `None` when blank or absent.
pub fn shown_field<'h>(rs: &'h RuleSet, hh: &'h Household, key: &str, show_ids: bool) -> Option<Cow<'h, str>> {
    shown_text(rs, hh, *rs.field_index.get(key)? as usize, show_ids)
}

/// As [`shown_field`], by field index.
fn shown_text<'h>(rs: &'h RuleSet, hh: &'h Household, i: usize, show_ids: bool) -> Option<Cow<'h, str>> {
    let f = &rs.fields[i];
    let s: &str = match &hh.cells[i] {
        Cell::Value(Scalar::Text(t)) => t,
        Cell::Value(Scalar::Enum(e)) => &rs.enums[f.enum_id? as usize].values[*e as usize],
        Cell::Invalid(raw) => raw,
        _ => return None,
    };
    Some(if f.ty == FieldType::Id && !show_ids { mask_id(s).into() } else { s.into() })
}

/// A problem's value as shown: unless `show_ids`, masked as an ID number in an ID column, and
/// with what looks like an ID or phone number masked in any other (a number typed into the wrong
/// column, a shifted row).
pub fn shown_problem_value<'p>(rs: &RuleSet, p: &'p Problem, show_ids: bool) -> Cow<'p, str> {
    if show_ids {
        return Cow::Borrowed(&p.value);
    }
    match p.field.as_deref().and_then(|k| rs.field(k)) {
        Some(f) if f.ty == FieldType::Id => mask_id(&p.value).into(),
        _ => mask_personal(&p.value),
    }
}

/// The problems of a household as one line: `第3行“人均纯收入（元）”列：“约3000” 应为金额…`.
fn write_problems(out: &mut String, problems: &[Problem], value: impl Fn(&Problem) -> Cow<'_, str>) {
    for (k, p) in problems.iter().enumerate() {
        if k > 0 {
            out.push('；');
        }
        let _ = write!(out, "第{}行", p.row);
        if p.column.is_empty() {
            out.push('：');
        } else {
            out.push('“');
            out.push_str(&p.column);
            out.push_str("”列：“");
            out.push_str(&value(p));
            out.push_str("” ");
        }
        out.push_str(&p.message);
    }
}

/// The labels of the risk factors that are true, joined by `、`.
fn write_factor_labels(out: &mut String, b: &Bound, a: &Assessment) {
    let rs = b.rules;
    let mut first = true;
    for &c in &rs.decisions[RISK].factors {
        if a.crits[c as usize] == Some(true) {
            if !first {
                out.push('、');
            }
            first = false;
            out.push_str(&rs.criteria[c as usize].label);
        }
    }
}

/// 疑似返贫 as shown: 是, 否, 待核实 (unknown).
fn returned_text(r: Option<bool>) -> &'static str {
    match r {
        Some(true) => "是",
        Some(false) => "否",
        None => "待核实",
    }
}

impl Record {
    /// The full record, every reason with its value, threshold and source (JSON Lines).
    pub fn build(b: &Bound, hh: &Household, a: &Assessment, show_ids: bool) -> Record {
        Record::build_with(b, hh, a, show_ids, true)
    }

    /// `detail` false: no [`Reason`] list, only the reasons line, which is what XLSX and tables show.
    pub fn build_with(b: &Bound, hh: &Household, a: &Assessment, show_ids: bool, detail: bool) -> Record {
        let text = |key: &str| shown_field(b.rules, hh, key, show_ids).map(Cow::into_owned);
        let suggested = a.label(b, SUGGESTED_TYPE);
        let mut problems = hh.problems.clone();
        for p in &mut problems {
            if let Cow::Owned(v) = shown_problem_value(b.rules, p, show_ids) {
                p.value = v;
            }
        }
        let mut reasons_text = String::new();
        engine::write_reasons(&mut reasons_text, b, hh, a);
        let mut factor_labels = String::new();
        write_factor_labels(&mut factor_labels, b, a);
        Record {
            row: hh.row,
            source_rows: hh.source_rows,
            household_id: text("household_id").unwrap_or_default(),
            county: text("county"),
            township: text("township"),
            village: text("village"),
            head_name: text("head_name"),
            head_id: text("head_id"),
            household_type: text("household_type"),
            eligibility: a.label(b, ELIGIBILITY).to_string(),
            exit: a.label(b, EXIT).to_string(),
            risk: Risk {
                level: a.label(b, RISK).to_string(),
                factors: a.factors(b, RISK).into_iter().map(String::from).collect(),
                suggested_type: (!suggested.is_empty()).then(|| suggested.to_string()),
                returned: a.returned,
            },
            elimination: a.label(b, ELIMINATION).to_string(),
            reasons: if detail { engine::explain(b, hh, a) } else { Vec::new() },
            reasons_text,
            factor_labels,
            problems,
        }
    }

    /// The problems as one line (values already masked when the record was built).
    pub fn problems_text(&self) -> String {
        let mut s = String::new();
        write_problems(&mut s, &self.problems, |p| Cow::Borrowed(&p.value));
        s
    }
}

/// CSV column headers, in order.
pub const CSV_HEADERS: [&str; 17] = [
    "行号",
    "户编号",
    "县(市、区、旗)",
    "乡(镇)",
    "行政村",
    "户主姓名",
    "户主证件号码",
    "户类型",
    "识别",
    "退出",
    "风险等级",
    "风险因素",
    "建议监测类型",
    "疑似返贫",
    "风险消除",
    "判定理由",
    "数据问题",
];

pub fn write_csv_header(w: &mut csv::Writer<&mut Vec<u8>>) -> csv::Result<()> {
    w.write_record(CSV_HEADERS)
}

/// The fields that CSV rows show, by index, resolved once per run.
pub struct CsvRows {
    shown: [Option<u16>; 7],
}

/// The keys of the identifying columns of `CSV_HEADERS` (户编号 … 户类型).
const SHOWN_KEYS: [&str; 7] =
    ["household_id", "county", "township", "village", "head_name", "head_id", "household_type"];

impl CsvRows {
    pub fn new(b: &Bound) -> CsvRows {
        CsvRows { shown: SHOWN_KEYS.map(|k| b.rules.field_index.get(k).copied()) }
    }

    /// One household's CSV row, appended to `out` straight from the household and its
    /// assessment (the hot path of `assess`: no [`Record`]); the same cells as [`csv_cells`].
    /// `scratch` is reused.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        b: &Bound,
        hh: &Household,
        a: &Assessment,
        show_ids: bool,
        scratch: &mut String,
    ) {
        let mut w = CsvRow::new(out);
        scratch.clear();
        crate::value::push_digits(scratch, hh.row, 1);
        w.field(scratch);
        for i in self.shown {
            w.field(i.and_then(|i| shown_text(b.rules, hh, i as usize, show_ids)).as_deref().unwrap_or(""));
        }
        w.field(a.label(b, ELIGIBILITY));
        w.field(a.label(b, EXIT));
        w.field(a.label(b, RISK));
        scratch.clear();
        write_factor_labels(scratch, b, a);
        w.field(scratch);
        w.field(a.label(b, SUGGESTED_TYPE));
        w.field(returned_text(a.returned));
        w.field(a.label(b, ELIMINATION));
        scratch.clear();
        engine::write_reasons(scratch, b, hh, a);
        w.field(scratch);
        scratch.clear();
        write_problems(scratch, &hh.problems, |p| shown_problem_value(b.rules, p, show_ids));
        w.field(scratch);
        w.end();
    }
}

/// One CSV row appended to a byte buffer, written exactly as `csv::Writer` writes it by default
/// (a test compares the two): fields separated by `,`, quoted only when they hold a comma, a
/// quote, CR or LF, with quotes doubled; the row ends with `\n`. Long fields are checked for those
/// bytes by vectorised searches instead of csv-core's byte-by-byte state machine.
pub struct CsvRow<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> CsvRow<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> CsvRow<'a> {
        CsvRow { out, first: true }
    }

    pub fn field(&mut self, s: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        let b = s.as_bytes();
        // Short fields byte by byte; long ones (the reasons) with vectorised searches, whose
        // set-up costs more than a short field's loop.
        let special = if b.len() < 32 {
            b.iter().any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r'))
        } else {
            memchr::memchr3(b',', b'"', b'\n', b).is_some() || memchr::memchr(b'\r', b).is_some()
        };
        if !special {
            self.out.extend_from_slice(b);
            return;
        }
        self.out.push(b'"');
        self.out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        self.out.push(b'"');
    }

    /// End the row. (A row of one empty field, which csv::Writer writes as `""`, never occurs:
    /// rows have 17 fields.)
    pub fn end(self) {
        self.out.push(b'\n');
    }
}

/// The cells of one household, in `CSV_HEADERS` order (CSV and XLSX).
pub fn csv_cells(r: &Record) -> [String; 17] {
    let o = |s: &Option<String>| s.clone().unwrap_or_default();
    [
        r.row.to_string(),
        r.household_id.clone(),
        o(&r.county),
        o(&r.township),
        o(&r.village),
        o(&r.head_name),
        o(&r.head_id),
        o(&r.household_type),
        r.eligibility.clone(),
        r.exit.clone(),
        r.risk.level.clone(),
        r.factor_labels.clone(),
        o(&r.risk.suggested_type),
        returned_text(r.risk.returned).to_string(),
        r.elimination.clone(),
        r.reasons_text.clone(),
        r.problems_text(),
    ]
}

pub fn write_jsonl(out: &mut Vec<u8>, r: &Record) -> io::Result<()> {
    serde_json::to_writer(&mut *out, r)?;
    out.push(b'\n');
    Ok(())
}

/// A terminal table of one batch of records.
pub fn table(records: &[Record]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if t.width().is_none() {
        t.set_width(120); // not a terminal: wrap at a readable width
    }
    t.set_header(["行", "户编号", "行政村", "户类型", "识别", "退出", "风险", "消除", "理由与问题"]);
    for r in records {
        let mut why = r.reasons_text.clone();
        if !r.problems.is_empty() {
            why.push_str(&format!(" ⚠ {}", r.problems_text()));
        }
        t.add_row([
            r.row.to_string(),
            r.household_id.clone(),
            r.village.clone().unwrap_or_default(),
            r.household_type.clone().unwrap_or_else(|| "？".into()),
            r.eligibility.clone(),
            r.exit.clone(),
            r.risk.level.clone(),
            r.elimination.clone(),
            why,
        ]);
    }
    t.to_string()
}

/// Counts that must add up: every row read belongs to a household assessed (one row each in a
/// ledger; a household's members in a person export); each decision's counts sum to the
/// households assessed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    /// Rows of the households assessed.
    pub rows_read: u64,
    /// Blank rows skipped (no household).
    pub blank_rows: u64,
    pub households_assessed: u64,
    pub households_with_problems: u64,
    pub problems: u64,
    /// Per decision (eligibility, exit, risk, elimination), per label, in label order.
    pub counts: Vec<(String, Vec<(String, u64)>)>,
}

impl Summary {
    pub fn new(b: &Bound) -> Summary {
        let counts = b
            .rules
            .decisions
            .iter()
            .filter(|d| d.id != "suggested_type")
            .map(|d| (d.id.to_string(), d.labels.iter().map(|l| (l.clone(), 0)).collect()))
            .collect();
        Summary { counts, ..Summary::default() }
    }

    pub fn add(&mut self, hh: &Household, a: &Assessment) {
        self.rows_read += hh.source_rows;
        self.households_assessed += 1;
        if !hh.problems.is_empty() {
            self.households_with_problems += 1;
            self.problems += hh.problems.len() as u64;
        }
        // `counts` holds the decisions but suggested_type, in order, each with all its labels.
        let shown = [ELIGIBILITY, EXIT, RISK, ELIMINATION];
        for ((_, labels), d) in self.counts.iter_mut().zip(shown) {
            labels[a.decisions[d] as usize].1 += 1;
        }
    }

    /// Add the counts of another part of the same run.
    pub fn merge(&mut self, other: &Summary) {
        self.rows_read += other.rows_read;
        self.blank_rows += other.blank_rows;
        self.households_assessed += other.households_assessed;
        self.households_with_problems += other.households_with_problems;
        self.problems += other.problems;
        for ((_, mine), (_, theirs)) in self.counts.iter_mut().zip(&other.counts) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.1 += t.1;
            }
        }
    }

    /// The summary in Chinese, for stderr.
    pub fn text(&self, b: &Bound) -> String {
        let blank = match self.blank_rows {
            0 => String::new(),
            n => format!("（其中空白行 {n} 行，已跳过）"),
        };
        let mut s = format!(
            "读取 {} 行{blank}，评估 {} 户；其中 {} 户有数据问题（共 {} 处）。\n",
            self.rows_read + self.blank_rows,
            self.households_assessed,
            self.households_with_problems,
            self.problems
        );
        for (id, labels) in &self.counts {
            let d = b.rules.decision(id);
            let parts: Vec<String> = labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
            s.push_str(&format!("{}：{}\n", d.label, parts.join(" · ")));
        }
        s
    }
}

/// Temporary output files of this process not yet renamed into place: removed by the Ctrl-C
/// handler, so that an interrupted run leaves nothing behind.
static IN_FLIGHT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Remove every temporary output file not yet renamed into place (called on SIGINT).
pub fn remove_in_flight() {
    let paths = match IN_FLIGHT.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// A temporary file that was renamed into place (or, on an error, deleted by `tempfile` when
/// dropped: a stale entry then only makes `remove_in_flight` try to remove a missing file).
fn forget_in_flight(path: &Path) {
    if let Ok(mut v) = IN_FLIGHT.lock() {
        v.retain(|p| p != path);
    }
}

/// An output file written atomically: to a temporary file beside it, renamed into place only
/// when the run finishes. Refuses to write over an input file.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path, inputs: &[&Path]) -> anyhow::Result<AtomicFile> {
        for input in inputs {
            if same_file(path, input) {
                anyhow::bail!("输出文件 {} 就是输入文件：拒绝覆盖输入，请换一个输出路径", path.display());
            }
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".tuopin-").suffix(".part");
        // A temporary file is private (0600); the result is an ordinary file (0644 before umask).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let tmp =
            builder.tempfile_in(&dir).map_err(|e| anyhow::anyhow!("无法在 {} 创建输出文件：{e}", dir.display()))?;
        if let Ok(mut v) = IN_FLIGHT.lock() {
            v.push(tmp.path().to_path_buf());
        }
        Ok(AtomicFile { tmp, path: path.to_path_buf() })
    }
    pub fn writer(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }
    pub fn commit(self) -> anyhow::Result<()> {
        let path = self.path.clone();
        let tmp_path = self.tmp.path().to_path_buf();
        let result = self.tmp.persist(&path);
        forget_in_flight(&tmp_path);
        result.map_err(|e| anyhow::anyhow!("无法写入 {}：{}", path.display(), e.error))?;
        Ok(())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{mask_id, mask_personal, CsvRow};

    #[test]
    fn csv_rows_are_written_as_the_csv_crate_writes_them() {
        let rows: [&[&str]; 4] = [
            &["1", "", "a,b", "say \"hi\"", "x\ny", "cr\rhere", "【识别·符合】收入 3,500 元；"],
            &["", ""],
            &["\"", ",", "\r\n", "plain"],
            &["户编号", "", "", "示例县"],
        ];
        for row in rows {
            let mut fast = Vec::new();
            let mut w = CsvRow::new(&mut fast);
            for f in row {
                w.field(f);
            }
            w.end();
            let mut slow = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
            slow.write_record(row).unwrap();
            assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(slow.into_inner().unwrap()).unwrap());
        }
    }

    #[test]
    fn ids_are_masked_whatever_their_characters() {
        assert_eq!(mask_id("520000196803120313"), "520000********0313");
        assert_eq!(mask_id("130503670401001"), "130503*****1001");
        assert_eq!(mask_id("5200001968"), "520000****", "an ID cut to 10 characters shows 6");
        assert_eq!(mask_id("52000019680312"), "520000********");
        assert_eq!(mask_id("123456789"), "*********");
        // Not ASCII (the general way, by characters): the same positions.
        assert_eq!(mask_id("５２００００１９６８０３１２０３１３"), "５２００００********０３１３");
        assert_eq!(mask_id("５２００００１９６８０３１２０３１３"), "５２００００********０３１３");
        assert_eq!(mask_id("户编号１２３"), "******");
    }

    #[test]
    fn personal_numbers_in_free_text_are_masked() {
        assert_eq!(mask_personal("520000196803120313"), "520000********0313");
        assert_eq!(mask_personal("11010519491231002X"), "110105********002X");
        assert_eq!(mask_personal("13812345678"), "138****5678");
        assert_eq!(mask_personal("户编号"), "户编号");
        assert_eq!(mask_personal("5200010101001"), "5200010101001", "a household id is not personal");
    }
}

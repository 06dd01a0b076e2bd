//! Results out: one record per household in input order, as a terminal table, a CSV for Excel, or
//! JSON Lines; plus the run summary. Columns and keys are fixed and documented in the README.
//!
//! Writers work on a [`Record`], a plain view of (household, assessment, reasons) built once per
//! household, so the formats cannot disagree about what a household's result is.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use serde::Serialize;

use crate::engine::{self, Assessment, Reason};
use crate::household::{Cell, Household, Problem, Scalar};
use crate::privacy;
use crate::ruleset::file::FieldType;
use crate::ruleset::layout::{self, Item, Json, Layout};
use crate::ruleset::{Bound, RuleSet};

pub mod areas;
mod atomic;
pub mod coverage;
pub mod gather;
pub mod notice;
pub mod print;
pub mod provenance;
pub mod report;
pub mod xlsx;
pub use atomic::{is_stdout, remove_in_flight, AtomicFile, AtomicSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// 终端上的表格
    Table,
    /// CSV，中文表头，UTF-8 带 BOM，供 Excel/WPS 打开
    Csv,
    /// JSONL：每户一行 JSON，键为英文字段名
    Jsonl,
    /// Excel 工作簿（-o 文件.xlsx）：冻结表头、筛选、按规则着色的判定、汇总表
    Xlsx,
}

/// One household's result, as every writer shows it. JSON Lines: the identifying keys, then the
/// decisions' keys as the rule set lays them out ([`Layout::json`]), then reasons, problems, checks.
#[derive(Debug, Clone)]
pub struct Record {
    pub row: u64,
    /// Input rows behind this household (members' rows for a person export).
    pub source_rows: u64,
    pub household_id: String,
    pub county: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    pub head_name: Option<String>,
    pub head_id: Option<String>,
    pub household_type: Option<String>,
    /// Each decision's label, in the rule set's order.
    pub labels: Vec<String>,
    /// Each decision's factors that are true (criterion ids), in the rule set's order.
    pub factors: Vec<Vec<String>>,
    /// The flag (疑似返贫): `None` when unknown.
    pub returned: Option<bool>,
    /// Every reason with its value, threshold and source (only when built with `detail`).
    pub reasons: Vec<Reason>,
    /// The reasons as one line of plain Chinese ([`engine::write_reasons`]).
    pub reasons_text: String,
    /// Per decision, the labels of its factors that are true, as CSV and XLSX show them.
    pub factor_labels: Vec<String>,
    pub problems: Vec<Problem>,
    /// Findings of the rule set's data-quality checks (JSON key `checks`).
    pub checks: Vec<engine::Finding>,
    /// The findings as one line ([`engine::write_findings`]), as CSV and XLSX show them.
    pub checks_text: String,
    /// Where the decisions go (the rule set's).
    pub layout: std::sync::Arc<Layout>,
    /// Department records matched to the household (`--with`; JSON key `matches`, left out when none).
    pub matches: Vec<crate::matching::Evidence>,
}

impl Record {
    /// The value of one item as a CSV/XLSX cell shows it.
    pub fn cell(&self, item: Item) -> String {
        match item {
            Item::Label(d) => self.labels[d as usize].clone(),
            Item::Factors(d) => self.factor_labels[d as usize].clone(),
            Item::Flag => returned_text(self.returned).to_string(),
        }
    }
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("row", &self.row)?;
        m.serialize_entry("household_id", &self.household_id)?;
        m.serialize_entry("county", &self.county)?;
        m.serialize_entry("township", &self.township)?;
        m.serialize_entry("village", &self.village)?;
        m.serialize_entry("head_name", &self.head_name)?;
        m.serialize_entry("head_id", &self.head_id)?;
        m.serialize_entry("household_type", &self.household_type)?;
        for node in &self.layout.json {
            serialize_json(&mut m, node, self)?;
        }
        m.serialize_entry("reasons", &self.reasons)?;
        m.serialize_entry("problems", &self.problems)?;
        m.serialize_entry("checks", &self.checks)?;
        if !self.matches.is_empty() {
            m.serialize_entry("matches", &self.matches)?;
        }
        m.end()
    }
}

/// One key of the decisions' part of a record (an object: its keys, in order).
fn serialize_json<M: serde::ser::SerializeMap>(m: &mut M, node: &Json, r: &Record) -> Result<(), M::Error> {
    struct Object<'a>(&'a [Json], &'a Record);
    impl Serialize for Object<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for node in self.0 {
                serialize_json(&mut m, node, self.1)?;
            }
            m.end()
        }
    }
    match node {
        Json::Object(key, nodes) => m.serialize_entry(key, &Object(nodes, r)),
        Json::Leaf(key, Item::Label(d)) => {
            let l = &r.labels[*d as usize];
            m.serialize_entry(key, &(!l.is_empty()).then_some(l))
        }
        Json::Leaf(key, Item::Factors(d)) => m.serialize_entry(key, &r.factors[*d as usize]),
        Json::Leaf(key, Item::Flag) => m.serialize_entry(key, &r.returned),
    }
}

pub use crate::privacy::mask_id;

/// The text of field `key` as outputs show it (ID numbers masked unless `show_ids`): text as
/// read, an enum's value, an invalid cell as written; `None` when blank or absent.
pub fn shown_field<'h>(rs: &'h RuleSet, hh: &'h Household, key: &str, show_ids: bool) -> Option<Cow<'h, str>> {
    shown_text(rs, hh, *rs.field_index.get(key)? as usize, show_ids)
}

/// As [`shown_field`], by field index.
pub fn shown_text<'h>(rs: &'h RuleSet, hh: &'h Household, i: usize, show_ids: bool) -> Option<Cow<'h, str>> {
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
        _ => crate::privacy::mask_text(&p.value),
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

/// The labels of decision `di`'s factors that are true, joined by `、`.
pub fn write_factor_labels(out: &mut String, b: &Bound, a: &Assessment, di: usize) {
    let rs = b.rules;
    if !a.lists_factors(b, di) {
        return;
    }
    let mut first = true;
    for &c in &rs.decisions[di].factors {
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
        let rs = b.rules;
        let text = |key: &str| shown_field(rs, hh, key, show_ids).map(Cow::into_owned);
        let mut problems = hh.problems.clone();
        for p in &mut problems {
            if let Cow::Owned(v) = shown_problem_value(b.rules, p, show_ids) {
                p.value = v;
            }
        }
        let mut reasons_text = String::new();
        engine::write_reasons(&mut reasons_text, b, hh, a);
        let factor_labels = (0..rs.decisions.len())
            .map(|di| {
                let mut s = String::new();
                write_factor_labels(&mut s, b, a, di);
                s
            })
            .collect();
        let mut checks_text = String::new();
        engine::write_findings(&mut checks_text, b, hh, a);
        let mut r = Record {
            row: hh.row,
            source_rows: hh.source_rows,
            household_id: text("household_id").unwrap_or_default(),
            county: text("county"),
            township: text("township"),
            village: text("village"),
            head_name: text("head_name"),
            head_id: text("head_id"),
            household_type: text("household_type"),
            labels: (0..rs.decisions.len()).map(|di| a.label(b, di).to_string()).collect(),
            factors: (0..rs.decisions.len())
                .map(|di| a.factors(b, di).into_iter().map(String::from).collect())
                .collect(),
            returned: a.returned,
            reasons: if detail { engine::explain(b, hh, a) } else { Vec::new() },
            reasons_text,
            factor_labels,
            problems,
            checks: engine::findings(b, hh, a),
            checks_text,
            layout: rs.layout.clone(),
            matches: Vec::new(),
        };
        if !show_ids {
            r.mask();
        }
        r
    }

    /// The department records matched to the household (`--with`), after its reasons.
    pub fn add_evidence(&mut self, m: &crate::matching::Matcher, b: &Bound, hh: &Household, show_ids: bool) {
        write_evidence(&mut self.reasons_text, m, b, hh, show_ids);
        self.matches = m.evidence(b.rules, hh, show_ids);
    }

    /// Every text of the record but the 户编号 through [`privacy::mask_text`]: a personal number
    /// typed into a name, a village, a free-text or a number column (echoed in reasons and
    /// problems) leaves the program masked.
    fn mask(&mut self) {
        fn m(s: &mut String) {
            if let Cow::Owned(t) = privacy::mask_text(s) {
                *s = t;
            }
        }
        fn mo(s: &mut Option<String>) {
            if let Some(s) = s {
                m(s);
            }
        }
        let Record { county, township, village, head_name, head_id, household_type, .. } = self;
        for s in [county, township, village, head_name, head_id, household_type] {
            mo(s);
        }
        // Decision labels and factor names are the rule file's words: nothing of a household.
        for r in &mut self.reasons {
            for s in [&mut r.label, &mut r.value, &mut r.threshold, &mut r.source, &mut r.text] {
                m(s);
            }
        }
        m(&mut self.reasons_text);
        for p in &mut self.problems {
            for s in [&mut p.column, &mut p.value, &mut p.message] {
                m(s);
            }
        }
        for f in &mut self.checks {
            m(&mut f.message);
        }
        m(&mut self.checks_text);
    }

    /// The problems as one line (values already masked when the record was built).
    pub fn problems_text(&self) -> String {
        let mut s = String::new();
        write_problems(&mut s, &self.problems, |p| Cow::Borrowed(&p.value));
        s
    }
}

/// CSV column headers, in order: the identifying columns, the decisions' (as the rule set lays
/// them out), then reasons, problems and findings.
pub fn csv_headers(rs: &RuleSet) -> Vec<&str> {
    let mut h: Vec<&str> = layout::LEADING_COLUMNS.iter().map(|c| c.0).collect();
    h.extend(rs.layout.columns.iter().map(|c| c.header.as_str()));
    h.extend(layout::TRAILING_COLUMNS.iter().map(|c| c.0));
    h
}

pub fn write_csv_header(w: &mut csv::Writer<&mut Vec<u8>>, rs: &RuleSet, columns: &[OutColumn]) -> csv::Result<()> {
    let all = csv_headers(rs);
    w.write_record(columns.iter().map(|c| all[c.position(rs)]))
}

/// One column of `assess`'s CSV rows, as `--columns` chooses them (default: all, in
/// [`csv_headers`] order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutColumn {
    /// 行号: the household's row in the input.
    Row,
    /// One of the identifying columns 户编号 … 户类型 (index into `SHOWN_KEYS`).
    Shown(u8),
    /// One of the rule set's decision columns (index into its layout's columns).
    Decision(u16),
    /// 判定理由.
    Reasons,
    /// 数据问题.
    Problems,
    /// 数据核查.
    Checks,
}

impl OutColumn {
    /// Every column, in [`csv_headers`] order: the default output.
    pub fn all(rs: &RuleSet) -> Vec<OutColumn> {
        let mut c = vec![OutColumn::Row];
        c.extend((0..SHOWN_KEYS.len() as u8).map(OutColumn::Shown));
        c.extend((0..rs.layout.columns.len() as u16).map(OutColumn::Decision));
        c.extend([OutColumn::Reasons, OutColumn::Problems, OutColumn::Checks]);
        c
    }

    /// Its place in [`csv_headers`].
    fn position(self, rs: &RuleSet) -> usize {
        let decisions = rs.layout.columns.len();
        match self {
            OutColumn::Row => 0,
            OutColumn::Shown(k) => 1 + k as usize,
            OutColumn::Decision(d) => 1 + SHOWN_KEYS.len() + d as usize,
            OutColumn::Reasons => 1 + SHOWN_KEYS.len() + decisions,
            OutColumn::Problems => 2 + SHOWN_KEYS.len() + decisions,
            OutColumn::Checks => 3 + SHOWN_KEYS.len() + decisions,
        }
    }
}

/// The named sets of `--columns`, with the English names `--lang en` users may type.
pub const COLUMN_SETS: [(&str, &str); 3] = [("判定", "decisions"), ("判定+理由", "decisions+reasons"), ("全部", "all")];

/// `--columns`: a named set ([`COLUMN_SETS`]: 户编号 and the decisions' columns; the same with
/// 判定理由; every column) or column names of the default output separated by commas, in the
/// order given. `Err` is a message in Chinese naming the columns there are.
pub fn choose_columns(spec: &str, rs: &RuleSet) -> Result<Vec<OutColumn>, String> {
    let all = OutColumn::all(rs);
    let decisions =
        || std::iter::once(OutColumn::Shown(0)).chain((0..rs.layout.columns.len() as u16).map(OutColumn::Decision));
    let spec = spec.trim();
    match COLUMN_SETS.iter().position(|(zh, en)| spec == *zh || spec.eq_ignore_ascii_case(en)) {
        Some(0) => return Ok(decisions().collect()),
        Some(1) => return Ok(decisions().chain([OutColumn::Reasons]).collect()),
        Some(_) => return Ok(all),
        None => {}
    }
    let headers = csv_headers(rs);
    let mut chosen = Vec::new();
    for name in spec.split([',', '，', '、']).map(str::trim) {
        let Some(i) = headers.iter().position(|h| *h == name) else {
            let sets: Vec<&str> = COLUMN_SETS.iter().map(|s| s.0).collect();
            return Err(format!(
                "--columns 中的“{name}”不是输出的列。可以写命名的组合（{}），或用逗号分隔的列名（{}）",
                sets.join("、"),
                headers.join("、")
            ));
        };
        if chosen.contains(&all[i]) {
            return Err(format!("--columns 中的列“{name}”写了两次"));
        }
        chosen.push(all[i]);
    }
    Ok(chosen)
}

/// The fields that CSV rows show, by index, resolved once per run.
pub struct CsvRows<'b> {
    shown: [Option<u16>; 7],
    /// Which of them go through the free-text mask: not the 户编号, not an ID column (masked whole).
    free_text: [bool; 7],
    /// Which of them are ID columns.
    id: [bool; 7],
    /// The columns written, in order (`--columns`); `None`: all, the default.
    columns: Option<Vec<OutColumn>>,
    /// Per decision and label: whether the label is written as it is (no quotes, no formula
    /// defence, not a long number: [`is_plain`]), known once for the run.
    plain_labels: Vec<Vec<bool>>,
    /// Per decision: whether every one of its factors' labels is, and so any of them joined by `、`.
    plain_factors: Vec<bool>,
    /// Per identifying column of an enum field: whether each of its values is written as it is
    /// ([`is_plain`]) and no personal number is masked in it.
    plain_enums: [Vec<bool>; 7],
    /// The department lists given (`--with`): their matches close the reasons.
    pub matcher: Option<std::sync::Arc<crate::matching::Matcher>>,
    /// The reasons line, prepared for the run.
    reasons: engine::Reasons<'b>,
    /// Whether the decisions' columns of the default output are kept in a [`RowMemo`]: every
    /// label and factor label plain, and their key ([`CsvRows::decisions_key`]) fits in fewer
    /// than 256 bits (an empty slot's key, all ones, is then no row's).
    memo_decisions: bool,
    /// Where [`CsvRows::decisions_key`] puts the factors: per decision, each factor's criterion
    /// and bit (when `memo_decisions`).
    key_factors: Vec<Box<[(u16, u8)]>>,
    /// The bit of the key where 疑似返贫's two bits start.
    key_returned: u8,
    /// A number no other `CsvRows` of the process has: a [`RowMemo`] filled for other rows
    /// (another run's rule set or columns) is forgotten rather than read.
    serial: u64,
}

/// The last [`CsvRows::serial`] given.
static ROWS_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// What consecutive CSV rows of `assess` repeat, kept from row to row by whoever writes them (one
/// per worker thread, from chunk to chunk: a chunk's few hundred rows would otherwise write most
/// of the decisions' forms again; [`CsvRows::write_memo`]): the decisions' columns, which depend
/// on a few small values only and take a handful of forms in a run, and the area columns (县,
/// 乡镇, 行政村), which a ledger sorted by village repeats. Bounded: [`MEMO_SLOTS`] blocks and one
/// row's areas. Every entry says what it was written from (the decisions' key, the area cells,
/// the row number), so that it is right after any row, in any chunk.
#[derive(Default)]
pub struct RowMemo {
    /// The [`CsvRows::serial`] of the rows it was filled for (0: none), and whether they showed
    /// the ID numbers.
    owner: (u64, bool),
    /// Decisions' columns as written (with their separators), by key, in slots chosen by the
    /// key's hash; empty until the first row.
    decisions: Vec<(DecisionsKey, String)>,
    /// The last row's area cells as read, and as written (with their separators); whether
    /// that kept a long number as text.
    areas: [String; 3],
    areas_written: String,
    areas_kept_as_text: bool,
    /// The last row's number (行号), and as written: the next row's is most often one more.
    row: u64,
    row_text: String,
    /// The reasons' sentences rows wrote ([`engine::ReasonsMemo`]).
    reasons: engine::ReasonsMemo,
}

/// The values the decisions' columns are written from ([`CsvRows::decisions_key`]), packed.
type DecisionsKey = [u64; 4];

/// Slots of [`RowMemo`]'s decisions' columns (a power of two).
const MEMO_SLOTS: usize = 256;

/// The columns of the default output that [`RowMemo`] keeps as areas (`SHOWN_KEYS` 1..=3).
const AREAS: std::ops::RangeInclusive<usize> = 1..=3;

/// The keys of the identifying columns of `CSV_HEADERS` (户编号 … 户类型).
const SHOWN_KEYS: [&str; 7] =
    ["household_id", "county", "township", "village", "head_name", "head_id", "household_type"];

impl<'b> CsvRows<'b> {
    /// Rows of every column (the default output).
    pub fn new(b: &'b Bound<'b>) -> CsvRows<'b> {
        CsvRows::with_columns(b, OutColumn::all(b.rules))
    }

    /// Rows of the `columns` chosen (`--columns`).
    pub fn with_columns(b: &'b Bound<'b>, columns: Vec<OutColumn>) -> CsvRows<'b> {
        let shown = SHOWN_KEYS.map(|k| b.rules.field_index.get(k).copied());
        let mut free_text = shown.map(|i| i.is_some_and(|i| b.rules.fields[i as usize].ty != FieldType::Id));
        free_text[0] = false;
        let id = shown.map(|i| i.is_some_and(|i| b.rules.fields[i as usize].ty == FieldType::Id));
        let columns = (columns != OutColumn::all(b.rules)).then_some(columns);
        let rs = b.rules;
        let plain_labels: Vec<Vec<bool>> =
            rs.decisions.iter().map(|d| d.labels.iter().map(|l| is_plain(l)).collect()).collect();
        // Not empty, and not a possible formula's first byte: joined, they stay plain.
        let plain_factor =
            |l: &str| is_plain(l) && l.as_bytes().first().is_some_and(|&c| !MAY_START_FORMULA[c as usize]);
        let plain_factors: Vec<bool> = rs
            .decisions
            .iter()
            .map(|d| d.factors.iter().all(|&c| plain_factor(&rs.criteria[c as usize].label)))
            .collect();
        let plain_enums = shown.map(|i| {
            let Some(f) = i.map(|i| &rs.fields[i as usize]).filter(|f| f.ty != FieldType::Id) else {
                return Vec::new();
            };
            let values = f.enum_id.map_or(&[][..], |e| &rs.enums[e as usize].values[..]);
            values.iter().map(|v| is_plain(v) && matches!(privacy::mask_text(v), Cow::Borrowed(_))).collect()
        });
        let reasons = engine::Reasons::new(b);
        let all_plain = plain_labels.iter().all(|d| d.iter().all(|&p| p)) && plain_factors.iter().all(|&p| p);
        // The key's layout: each decision's label in 8 bits from bit 8·d (the labels first, so
        // that none straddles two words), then a bit per factor, then 疑似返贫's 2 bits at an even
        // bit (neither straddles).
        let mut bit = 8 * rs.decisions.len();
        let key_factors: Vec<Box<[(u16, u8)]>> = (rs.decisions.iter())
            .map(|d| {
                (d.factors.iter())
                    .map(|&c| {
                        bit += 1;
                        (c, (bit - 1).min(255) as u8)
                    })
                    .collect()
            })
            .collect();
        let key_returned = bit + bit % 2;
        let memo_decisions = all_plain && key_returned + 2 < 256 && rs.decisions.iter().all(|d| d.labels.len() <= 256);
        CsvRows {
            shown,
            free_text,
            id,
            columns,
            plain_labels,
            plain_factors,
            plain_enums,
            matcher: None,
            reasons,
            memo_decisions,
            key_factors,
            key_returned: key_returned.min(254) as u8,
            serial: ROWS_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
        }
    }

    /// What the decisions' columns are written from, packed: each decision's label (8 bits),
    /// the factors it lists that are true (a bit each), 疑似返贫 (2 bits), at the bits worked out
    /// for the run (`key_factors`, `key_returned`). Only when `memo_decisions` (it fits).
    #[inline]
    fn decisions_key(&self, b: &Bound, a: &Assessment) -> DecisionsKey {
        let mut key = [0u64; 4];
        // A bit below 256: its word is below 4 (no bounds check), no value straddles two words.
        let mut put = |bit: u8, v: u64| key[usize::from(bit >> 6)] |= v << (bit & 63);
        for (di, &label) in a.decisions.iter().enumerate() {
            put((8 * di) as u8, u64::from(label));
        }
        for (di, factors) in self.key_factors.iter().enumerate() {
            if !factors.is_empty() && a.lists_factors(b, di) {
                for &(c, bit) in factors.iter() {
                    put(bit, u64::from(a.crits[c as usize] == Some(true)));
                }
            }
        }
        let returned = match a.returned {
            Some(true) => 1,
            Some(false) => 2,
            None => 3,
        };
        put(self.key_returned, returned);
        key
    }

    /// Decision `d`'s label in `a`, written plainly when it is plain.
    #[inline]
    fn label(&self, w: &mut CsvRow<'_>, b: &Bound, a: &Assessment, d: usize) {
        let l = a.label(b, d);
        if self.plain_labels[d][a.decisions[d] as usize] {
            w.plain(l)
        } else {
            w.safe(l)
        }
    }

    /// One of the rule set's decision columns. Labels are the rule file's words, not a
    /// household's: no personal number to mask.
    #[inline]
    fn decision(&self, w: &mut CsvRow<'_>, item: Item, b: &Bound, a: &Assessment) {
        match item {
            Item::Label(d) => self.label(w, b, a, d as usize),
            // Decision `d`'s factors that are true, joined by `、`, straight into the row.
            Item::Factors(d) if self.plain_factors[d as usize] => {
                w.plain_with(|o| write_factor_labels(o, b, a, d as usize))
            }
            Item::Factors(d) => w.text_in_place(false, |o| write_factor_labels(o, b, a, d as usize)),
            Item::Flag => w.plain(returned_text(a.returned)),
        }
    }

    /// Identifying column `k` (户编号 … 户类型): the text of its field as [`shown_text`] gives it,
    /// masked as [`CsvRow::text`] masks it (an ID column's cell masked whole).
    #[inline(always)]
    fn shown(&self, w: &mut CsvRow<'_>, k: usize, b: &Bound, hh: &Household, mask: bool) {
        let Some(i) = self.shown[k] else { return w.plain("") };
        let rs = b.rules;
        let s: &str = match &hh.cells[i as usize] {
            Cell::Value(Scalar::Text(t)) => t,
            Cell::Value(Scalar::Enum(e)) => {
                let (e, id) = (*e as usize, rs.fields[i as usize].enum_id);
                let text = id.map_or("", |id| rs.enums[id as usize].values[e].as_str());
                // A value of the rule file that is written as it is, masked or not.
                if self.plain_enums[k].get(e) == Some(&true) {
                    return w.plain(text);
                }
                text
            }
            Cell::Invalid(raw) => raw,
            _ => "",
        };
        if mask && self.id[k] {
            // An ASCII number of 10 characters or more keeps its first character and has stars:
            // neither a formula (its first byte says) nor a long number; plain when it holds no
            // byte below `0` (none to quote).
            if s.len() >= 10 && ascii_from_zero(s.as_bytes()) && !MAY_START_FORMULA[s.as_bytes()[0] as usize] {
                let (out, start) = w.open();
                privacy::mask_id_into(out, s);
                debug_assert!(is_plain_cell(&out[start..]));
                return;
            }
            return w.text_in_place(false, |o| privacy::mask_id_into(o, s));
        }
        w.text(s, mask && self.free_text[k]);
    }

    /// 判定理由: the reasons, then the matches with department lists (`--with`), straight into the
    /// row.
    #[inline]
    fn reasons(
        &self,
        w: &mut CsvRow<'_>,
        b: &Bound,
        hh: &Household,
        a: &Assessment,
        mask: bool,
        memo: Option<&mut engine::ReasonsMemo>,
    ) {
        // The usual line, of clean prepared pieces only, is a cell as it is: no look for personal
        // numbers or bytes to quote.
        if self.matcher.is_none() || hh.matches.is_empty() {
            let (out, start) = w.open();
            let clean = match memo {
                Some(m) => self.reasons.write_memo(out, hh, a, m),
                None => self.reasons.write(out, hh, a),
            };
            if clean {
                debug_assert!(
                    is_plain_cell(&out[start..]) && !matches!(privacy::mask_text(&out[start..]), Cow::Owned(_))
                );
                return;
            }
            return w.close_in_place(start, mask);
        }
        w.text_in_place(mask, |o| {
            let start = o.len();
            self.reasons.write(o, hh, a);
            // As `write_evidence`: `；` between the reasons and the matches.
            if let (Some(m), false) = (&self.matcher, hh.matches.is_empty()) {
                if o.len() > start {
                    o.push('；');
                }
                m.write_evidence(o, b.rules, hh, true);
            }
        });
    }

    /// One household's CSV row, appended to `out` straight from the household and its
    /// assessment (the hot path of `assess`: no [`Record`]); the same cells as [`csv_cells`]
    /// through [`csv_safe`], of the columns chosen. Returns whether a long number was kept as
    /// text.
    #[inline(always)]
    pub fn write(&self, out: &mut String, b: &Bound, hh: &Household, a: &Assessment, show_ids: bool) -> bool {
        self.write_with(None, out, b, hh, a, show_ids)
    }

    /// Whether [`CsvRows::write_memo`] reads its memo: the default columns only (the caller
    /// then need not fetch one).
    pub fn memoised(&self) -> bool {
        self.columns.is_none()
    }

    /// As [`CsvRows::write`], with what the rows before wrote (`memo`, kept by the caller from
    /// row to row) written again where it repeats. Not inlined where `assess` writes its rows,
    /// [`CsvRows::write`] is (for `--columns`): each keeps the row's code inlined in one place
    /// (callgrind, 20k: the other ways cost 20–50 instructions a row on one output or the other).
    #[inline(never)]
    pub fn write_memo(
        &self,
        memo: &mut RowMemo,
        out: &mut String,
        b: &Bound,
        hh: &Household,
        a: &Assessment,
        show_ids: bool,
    ) -> bool {
        if memo.owner != (self.serial, show_ids) {
            *memo = RowMemo { owner: (self.serial, show_ids), ..RowMemo::default() };
        }
        self.write_with(Some(memo), out, b, hh, a, show_ids)
    }

    #[inline(always)]
    fn write_with(
        &self,
        memo: Option<&mut RowMemo>,
        out: &mut String,
        b: &Bound,
        hh: &Household,
        a: &Assessment,
        show_ids: bool,
    ) -> bool {
        let mask = !show_ids;
        let Some(columns) = &self.columns else { return self.write_all(memo, out, b, hh, a, mask) };
        let mut w = CsvRow::new(out);
        for &c in columns {
            match c {
                OutColumn::Row => w.plain_with(|o| push_number(o, hh.row)),
                OutColumn::Shown(k) => self.shown(&mut w, k as usize, b, hh, mask),
                OutColumn::Decision(d) => self.decision(&mut w, b.rules.layout.columns[d as usize].item, b, a),
                OutColumn::Reasons => self.reasons(&mut w, b, hh, a, mask, None),
                OutColumn::Problems => problems(&mut w, b, hh, mask),
                OutColumn::Checks => w.text_in_place(mask, |o| engine::write_findings(o, b, hh, a)),
            }
        }
        w.end()
    }

    /// Every column, in order (the default output): straight-line code, without the dispatch by
    /// column of [`CsvRows::write`] (0.5 k instructions a household, callgrind, 20k).
    fn write_all(
        &self,
        mut memo: Option<&mut RowMemo>,
        out: &mut String,
        b: &Bound,
        hh: &Household,
        a: &Assessment,
        mask: bool,
    ) -> bool {
        let mut w = CsvRow::new(out);
        match memo.as_deref_mut() {
            Some(m) => w.plain(m.row_number(hh.row)),
            None => w.plain_with(|o| push_number(o, hh.row)),
        }
        self.shown(&mut w, 0, b, hh, mask);
        match memo.as_deref_mut() {
            Some(m) => self.areas(m, &mut w, b, hh, mask),
            None => AREAS.for_each(|k| self.shown(&mut w, k, b, hh, mask)),
        }
        for k in AREAS.end() + 1..SHOWN_KEYS.len() {
            self.shown(&mut w, k, b, hh, mask);
        }
        match memo.as_deref_mut() {
            Some(m) if self.memo_decisions && !b.rules.layout.columns.is_empty() => {
                self.memo_decision_columns(m, &mut w, b, a)
            }
            _ => {
                for c in &b.rules.layout.columns {
                    self.decision(&mut w, c.item, b, a);
                }
            }
        }
        self.reasons(&mut w, b, hh, a, mask, memo.map(|m| &mut m.reasons));
        // No problems, no findings (the usual case): empty cells, nothing to look at.
        match hh.problems.is_empty() {
            true => w.plain(""),
            false => problems(&mut w, b, hh, mask),
        }
        match a.checks.is_empty() {
            true => w.plain(""),
            false => w.text_in_place(mask, |o| engine::write_findings(o, b, hh, a)),
        }
        w.end()
    }
}

impl CsvRows<'_> {
    /// The decisions' columns (after the identifying ones: each with its separator), from the
    /// memo when a row before had the same key, else written and kept.
    #[inline]
    fn memo_decision_columns(&self, m: &mut RowMemo, w: &mut CsvRow<'_>, b: &Bound, a: &Assessment) {
        let key = self.decisions_key(b, a);
        let x = key[0] ^ key[1].rotate_left(17) ^ key[2].rotate_left(31) ^ key[3].rotate_left(47);
        // The high bits folded onto the low ones first: a product's top bits, which choose the
        // slot, depend little on a key's high bits (where the factors and 疑似返贫 are).
        let hash = (x ^ x >> 29).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (hash >> (64 - MEMO_SLOTS.trailing_zeros())) as usize % MEMO_SLOTS;
        if m.decisions.is_empty() {
            m.decisions.resize(MEMO_SLOTS, ([u64::MAX; 4], String::new()));
        }
        let (k, text) = &mut m.decisions[slot];
        if *k == key {
            debug_assert!(!w.first);
            w.out.push_str(text);
            return;
        }
        let start = w.out.len();
        for c in &b.rules.layout.columns {
            self.decision(w, c.item, b, a);
        }
        *k = key;
        text.clear();
        text.push_str(&w.out[start..]);
    }

    /// The area columns (`AREAS`), from the memo when the row before had the same cells: text
    /// cells only, else written as usual (and the memo forgotten).
    #[inline]
    fn areas(&self, m: &mut RowMemo, w: &mut CsvRow<'_>, b: &Bound, hh: &Household, mask: bool) {
        let text = |k: usize| match self.shown[k].map(|i| &hh.cells[i as usize]) {
            Some(Cell::Value(Scalar::Text(t))) => Some(&**t),
            _ => None,
        };
        let cells = [text(1), text(2), text(3)];
        let [Some(c1), Some(c2), Some(c3)] = cells else {
            m.areas_written.clear();
            m.areas = Default::default();
            for k in AREAS {
                self.shown(w, k, b, hh, mask);
            }
            return;
        };
        if !m.areas_written.is_empty() && m.areas[0] == c1 && m.areas[1] == c2 && m.areas[2] == c3 {
            debug_assert!(!w.first);
            w.out.push_str(&m.areas_written);
            w.kept_as_text |= m.areas_kept_as_text;
            return;
        }
        let (start, kept) = (w.out.len(), std::mem::replace(&mut w.kept_as_text, false));
        for k in AREAS {
            self.shown(w, k, b, hh, mask);
        }
        m.areas_kept_as_text = w.kept_as_text;
        w.kept_as_text |= kept;
        for (keep, c) in m.areas.iter_mut().zip([c1, c2, c3]) {
            keep.clear();
            keep.push_str(c);
        }
        m.areas_written.clear();
        m.areas_written.push_str(&w.out[start..]);
    }
}

impl RowMemo {
    /// Row number `row` in decimal digits: the last row's counted on by one when it is the next,
    /// else written afresh.
    #[inline]
    fn row_number(&mut self, row: u64) -> &str {
        let t = &mut self.row_text;
        if !t.is_empty() && row == self.row.wrapping_add(1) {
            // Trailing nines become zeros, the digit before them goes up (or a 1 goes first).
            let mut nines = 0;
            while t.ends_with('9') {
                t.pop();
                nines += 1;
            }
            match t.pop() {
                Some(d) => t.push(char::from(d as u8 + 1)),
                None => t.push('1'),
            }
            if nines > 0 {
                t.extend(std::iter::repeat_n('0', nines));
            }
        } else {
            t.clear();
            push_number(t, row);
        }
        self.row = row;
        t
    }
}

/// 数据问题: the household's problems (values masked when `mask`), straight into the row.
#[inline]
fn problems(w: &mut CsvRow<'_>, b: &Bound, hh: &Household, mask: bool) {
    w.text_in_place(mask, |o| write_problems(o, &hh.problems, |p| shown_problem_value(b.rules, p, !mask)));
}

/// `n` in decimal digits (a row number), pushed digit by digit: ASCII bytes, no UTF-8 check of
/// the digits as a `str` (which costs more than the digits, callgrind).
fn push_number(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.reserve(digits.len() - i);
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// The matches of `hh` appended to its reasons (`；比对：…`), masked unless `show_ids`.
pub fn write_evidence(out: &mut String, m: &crate::matching::Matcher, b: &Bound, hh: &Household, show_ids: bool) {
    if hh.matches.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('；');
    }
    m.write_evidence(out, b.rules, hh, show_ids);
}

/// One CSV row appended to a text buffer, written exactly as `csv::Writer` writes it by default
/// (a test compares the two): fields separated by `,`, quoted only when they hold a comma, a
/// quote, CR or LF, with quotes doubled; the row ends with `\n`. Long fields are checked for those
/// bytes by vectorised searches instead of csv-core's byte-by-byte state machine. A cell may be
/// written straight into the buffer ([`CsvRow::text_in_place`]) and checked there.
pub struct CsvRow<'a> {
    out: &'a mut String,
    /// Where the row starts in `out`.
    start: usize,
    first: bool,
    /// Whether a long number was kept as text ([`csv_safe`]): the run says what that means.
    kept_as_text: bool,
}

impl<'a> CsvRow<'a> {
    pub fn new(out: &'a mut String) -> CsvRow<'a> {
        CsvRow { start: out.len(), out, first: true, kept_as_text: false }
    }

    /// The separator before a field but the first.
    #[inline]
    fn sep(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    pub fn field(&mut self, s: &str) {
        self.sep();
        self.quoted(s);
    }

    /// A field's text, quoted when it needs it.
    #[inline]
    fn quoted(&mut self, s: &str) {
        if !needs_quotes(s.as_bytes()) {
            self.out.push_str(s);
            return;
        }
        self.out.push('"');
        self.out.push_str(&s.replace('"', "\"\""));
        self.out.push('"');
    }

    /// A cell known to need neither quotes nor a formula defence, and not a long number
    /// ([`is_plain`]: labels of the rule file checked at load, row numbers), written as it is.
    #[inline(always)]
    pub fn plain(&mut self, s: &str) {
        debug_assert!(s.is_empty() || is_plain(s), "{s}");
        self.sep();
        self.out.push_str(s);
    }

    /// A cell written by `write` straight into the row, known plain as [`CsvRow::plain`]'s.
    #[inline]
    pub fn plain_with(&mut self, write: impl FnOnce(&mut String)) {
        self.sep();
        let start = self.out.len();
        write(self.out);
        debug_assert!(is_plain(&self.out[start..]) || start == self.out.len(), "{}", &self.out[start..]);
    }

    /// A text cell: personal numbers masked when `mask`, then made safe from formula injection
    /// ([`csv_safe`]).
    #[inline(always)]
    pub fn text(&mut self, s: &str, mask: bool) {
        if mask && s.len() >= privacy::SHORTEST {
            if let Cow::Owned(m) = privacy::mask_text(s) {
                return self.safe(&m);
            }
        }
        self.safe(s)
    }

    /// A cell written by `write` straight into the row, then masked when `mask` and made safe,
    /// as [`CsvRow::text`] writes its text: in the usual case (nothing masked, a plain text) it
    /// stays where it was written, without a copy.
    #[inline]
    pub fn text_in_place(&mut self, mask: bool, write: impl FnOnce(&mut String)) {
        let (out, start) = self.open();
        write(out);
        self.close_in_place(start, mask);
    }

    /// A cell to be written straight into the row: the buffer and where the cell starts in it,
    /// after the separator. Closed by [`CsvRow::close_in_place`] unless what is written is known
    /// to be a cell as it is ([`CsvRow::plain`]).
    #[inline]
    fn open(&mut self) -> (&mut String, usize) {
        self.sep();
        let start = self.out.len();
        (&mut *self.out, start)
    }

    /// The cell written since `start` masked when `mask` and made safe, as [`CsvRow::text_in_place`].
    #[inline]
    fn close_in_place(&mut self, start: usize, mask: bool) {
        if mask && self.out.len() - start >= privacy::SHORTEST {
            if let Cow::Owned(m) = privacy::mask_text(&self.out[start..]) {
                self.out.truncate(start);
                self.out.push_str(&m);
            }
        }
        if !is_plain_cell(&self.out[start..]) {
            let t = self.out.split_off(start);
            self.safe_text(&t);
        }
    }

    /// A cell as [`csv_safe`] writes it (no formula; a long number kept as text), looking at its
    /// first byte only in the usual case.
    #[inline]
    pub fn safe(&mut self, s: &str) {
        self.sep();
        self.safe_text(s);
    }

    /// [`CsvRow::safe`] after the separator.
    #[inline(always)]
    fn safe_text(&mut self, s: &str) {
        let b = s.as_bytes();
        // The usual text (a 户编号, a name): no byte below `0`, so nothing to quote and no
        // whitespace, and a first byte that starts neither a formula nor a number: as it is.
        if b.first().is_some_and(|&c| !MAY_START_FORMULA[c as usize] && !c.is_ascii_digit()) && none_below_zero(b) {
            self.out.push_str(s);
            return;
        }
        match b.first() {
            // Chinese text starting with a character of U+3000–U+303F (`【`): only the
            // ideographic space (E3 80 80) may be followed by a formula.
            Some(0xE3) if b.get(1..3) != Some(&[0x80, 0x80]) => self.quoted(s),
            Some(&c) if MAY_START_FORMULA[c as usize] => self.quoted(&csv_safe(s)),
            Some(c) if c.is_ascii_digit() && long_digits(s) => {
                // Digits need no quoting: the tab goes straight after them.
                self.quoted(s);
                self.out.push('\t');
                self.kept_as_text = true;
            }
            _ => self.quoted(s),
        }
    }

    /// End the row; returns whether a long number in it was kept as text ([`csv_safe`]). A row
    /// of one empty field (`--columns` with one column) is written `""`, as csv::Writer writes it.
    pub fn end(self) -> bool {
        if self.out.len() == self.start {
            self.out.push_str("\"\"");
        }
        self.out.push('\n');
        self.kept_as_text
    }
}

/// Whether [`CsvRow::safe`] writes `s` as it is ([`is_plain`]), with its shortcut for a first
/// character of U+3001–U+3FFF (the reasons' `【`).
#[inline]
fn is_plain_cell(s: &str) -> bool {
    let b = s.as_bytes();
    !needs_quotes(b)
        && match b.first() {
            Some(0xE3) if b.get(1..3) != Some(&[0x80, 0x80]) => true,
            // As `is_plain`, whose quoting test has just been made.
            Some(&c) if MAY_START_FORMULA[c as usize] || c.is_ascii_digit() => matches!(csv_safe(s), Cow::Borrowed(_)),
            _ => true,
        }
}

/// A CSV cell as a spreadsheet should take it.
///
/// - Never a formula (OWASP's CSV injection defence): a cell beginning with `=`, `+`, `-`, `@`,
///   tab or CR, or with one of `=+-@` after leading whitespace (full-width forms included), gets a
///   leading `'`, except a cell that is entirely a number (`-1.5` stays a number).
/// - A long number kept as text ([`long_digits`]: 户编号, ID and phone numbers shown whole): a tab
///   after the last digit, so that Excel, WPS and LibreOffice, opening the file, keep the cell as
///   text instead of turning it into a number that shows as `5.2E+17` and keeps 15 digits (README,
///   "在 Excel 中打开 CSV"). Readers of ledgers (tuopin's too) trim it.
pub fn csv_safe(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(&c) if MAY_START_FORMULA[c as usize] && starts_formula(s) && !is_number(s) => Cow::Owned(format!("'{s}")),
        Some(c) if c.is_ascii_digit() && long_digits(s) => Cow::Owned(format!("{s}\t")),
        _ => Cow::Borrowed(s),
    }
}

/// A cell of ASCII digits only that a spreadsheet would spoil as a number: 11 digits or more (a
/// mobile number; Excel shows 12 or more as `1.2E+11` and keeps only the first 15 digits), or two
/// or more with a leading zero (which would be dropped).
pub fn long_digits(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() >= 11 || (b.len() >= 2 && b[0] == b'0')) && b.iter().all(u8::is_ascii_digit)
}

/// What a run says when a CSV it wrote (`to`) holds long numbers kept as text ([`csv_safe`]):
/// where that works, where it may not, and what to use instead.
pub fn csv_long_numbers_note(to: &str) -> String {
    format!(
        "注意：{to} 中 11 位以上的数字（户编号、证件号码、电话号码等）末尾加了一个制表符，\
         Excel、WPS 和 LibreOffice 直接打开时按文本显示全部数字；经导入向导打开时\
         （如 Excel 的“数据→从文本/CSV”）仍可能被转成数值、第 15 位以后变成 0，导入时请把这些列设为“文本”。\
         要在表格软件中查看、编辑或另存，请输出 xlsx（如 -o 结果.xlsx）。"
    )
}

/// Whether a field holds a byte that makes it quoted: `,`, `"`, CR, LF. Short fields eight
/// bytes at a time (a byte below `#`, which takes `"`, CR and LF, or a comma: then byte by byte,
/// a space being no reason to quote), long ones (the reasons) with vectorised searches, whose
/// set-up costs more than a short field's loop.
#[inline]
fn needs_quotes(b: &[u8]) -> bool {
    if b.len() >= 32 {
        return memchr::memchr3(b',', b'"', b'\n', b).is_some() || memchr::memchr(b'\r', b).is_some();
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let suspect = |w: u64| {
        let comma = w ^ (ONES * b',' as u64);
        // A byte below 0x23, or a zero byte after the XOR (a comma): the classic SWAR tests,
        // exact as to whether any byte is one.
        ((w.wrapping_sub(ONES * 0x23) & !w) | (comma.wrapping_sub(ONES) & !comma)) & HIGH != 0
    };
    let n = b.len();
    if n < 8 {
        return b.iter().any(|&c| NEEDS_QUOTES[c as usize]);
    }
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let mut any = false;
    let mut i = 0;
    while i + 8 < n {
        any |= suspect(word(i));
        i += 8;
    }
    // The last eight bytes, overlapping the words before: no copy of a remainder.
    any |= suspect(word(n - 8));
    any && b.iter().any(|&c| NEEDS_QUOTES[c as usize])
}

/// Whether no byte of `b` is below `0` (0x30): none that makes a cell quoted (`,`, `"`, CR,
/// LF), no whitespace of ASCII; eight bytes at a time, as [`ascii_from_zero`].
#[inline]
fn none_below_zero(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let n = b.len();
    if n < 8 {
        return b.iter().all(|&c| c >= 0x30);
    }
    // A byte is 0x30 or more when its high bit is set, or when (byte | 0x80) − 0x30 keeps it.
    every_word(b, |w| ((w | HIGH).wrapping_sub(ONES * 0x30) | w) & HIGH == HIGH)
}

/// Whether `good` holds of every eight bytes of `b` (8 bytes or more) read as a little-endian
/// word, the last eight overlapping the words before (no copy of a remainder).
#[inline(always)]
fn every_word(b: &[u8], good: impl Fn(u64) -> bool) -> bool {
    let n = b.len();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let mut all = true;
    let mut i = 0;
    while i + 8 < n {
        all &= good(word(i));
        i += 8;
    }
    all && good(word(n - 8))
}

/// Whether every byte of `b` is an ASCII character from `0` (0x30) up: nothing to quote, no
/// space, no byte of a non-ASCII character (an ID number's digits and letters); eight bytes at a
/// time, the last eight overlapping the words before.
#[inline]
fn ascii_from_zero(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let n = b.len();
    if n < 8 {
        return b.iter().all(|&c| (0x30..0x80).contains(&c));
    }
    // A byte below 0x80 is 0x30 or more exactly when (byte | 0x80) − 0x30 keeps its high bit (no
    // borrow crosses bytes: each is 0x80 or more before the subtraction).
    every_word(b, |w| w & HIGH == 0 && (w | HIGH).wrapping_sub(ONES * 0x30) & HIGH == HIGH)
}

/// Whether `s` is written into a CSV cell as it is: no byte that makes it quoted, no formula
/// defence, not a long number kept as text ([`csv_safe`]).
pub fn is_plain(s: &str) -> bool {
    !needs_quotes(s.as_bytes()) && matches!(csv_safe(s), Cow::Borrowed(_))
}

/// Bytes that make a CSV field quoted: `,`, `"`, CR, LF (one load a byte instead of four
/// comparisons).
static NEEDS_QUOTES: [bool; 256] = crate::byte_set(b",\"\n\r");

/// First bytes of a cell that may start a formula: the triggers, whitespace, and the lead bytes
/// of full-width forms (EF) and of the Unicode spaces `trim_start` passes over ([`starts_formula`]):
/// U+0085 and U+00A0 (C2), U+1680 (E1), U+2000–U+200A, U+2028, U+2029, U+202F, U+205F (E2), the
/// ideographic space (E3).
static MAY_START_FORMULA: [bool; 256] =
    crate::byte_set(&[b'=', b'+', b'-', b'@', b'\t', b'\r', b'\n', b' ', 0x0B, 0x0C, 0xC2, 0xE1, 0xE2, 0xE3, 0xEF]);

fn starts_formula(s: &str) -> bool {
    if s.starts_with(['\t', '\r']) {
        return true;
    }
    s.trim_start().starts_with(['=', '+', '-', '@', '＝', '＋', '－', '＠'])
}

/// `-1.5`, `+3`, `12`: an optional sign, digits, optionally a point and digits.
fn is_number(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = t.split_once('.').unwrap_or((t, "0"));
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

/// The cells of one household, in [`csv_headers`] order (CSV and XLSX).
pub fn csv_cells(r: &Record) -> Vec<String> {
    let o = |s: &Option<String>| s.clone().unwrap_or_default();
    let mut cells = vec![
        r.row.to_string(),
        r.household_id.clone(),
        o(&r.county),
        o(&r.township),
        o(&r.village),
        o(&r.head_name),
        o(&r.head_id),
        o(&r.household_type),
    ];
    cells.extend(r.layout.columns.iter().map(|c| r.cell(c.item)));
    cells.extend([r.reasons_text.clone(), r.problems_text(), r.checks_text.clone()]);
    cells
}

pub fn write_jsonl(out: &mut Vec<u8>, r: &Record) -> io::Result<()> {
    serde_json::to_writer(&mut *out, r)?;
    out.push(b'\n');
    Ok(())
}

/// A terminal table of one batch of records: the decisions shown on their own that have a column,
/// under their short headers (`short`, default `column`).
pub fn table(rs: &RuleSet, records: &[Record]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if t.width().is_none() {
        t.set_width(120); // not a terminal: wrap at a readable width
    }
    let shown: Vec<(usize, &str)> = (rs.decisions.iter().enumerate())
        .filter(|(_, d)| d.with.is_none())
        .filter_map(|(i, d)| d.short.as_deref().map(|h| (i, h)))
        .collect();
    let mut header = vec!["行", "户编号", "行政村", "户类型"];
    header.extend(shown.iter().map(|s| s.1));
    header.push("理由与问题");
    t.set_header(header);
    for r in records {
        let mut why = r.reasons_text.clone();
        if !r.problems.is_empty() {
            why.push_str(&format!(" ⚠ {}", r.problems_text()));
        }
        if !r.checks_text.is_empty() {
            why.push_str(&format!(" 〔数据核查〕{}", r.checks_text));
        }
        let mut row = vec![
            r.row.to_string(),
            r.household_id.clone(),
            r.village.clone().unwrap_or_default(),
            r.household_type.clone().unwrap_or_else(|| "？".into()),
        ];
        row.extend(shown.iter().map(|&(d, _)| r.labels[d].clone()));
        row.push(why);
        t.add_row(row);
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
    /// Per decision shown on its own (not `with` another), by key, per label, in label order.
    pub counts: Vec<(String, Vec<(String, u64)>)>,
    /// The decisions counted, by index.
    #[serde(skip)]
    pub counted: Vec<usize>,
    /// Per data-quality check, in check order: the households it found.
    pub checks: Vec<u64>,
    /// Households with a finding of severity 错误.
    pub households_with_error_findings: u64,
    /// Rule coverage (`assess --coverage`), when asked for.
    #[serde(skip)]
    pub coverage: Option<coverage::Coverage>,
}

impl Summary {
    pub fn new(b: &Bound) -> Summary {
        let counted: Vec<usize> =
            (0..b.rules.decisions.len()).filter(|&d| b.rules.decisions[d].with.is_none()).collect();
        let counts = counted
            .iter()
            .map(|&d| {
                let d = &b.rules.decisions[d];
                (d.id.clone(), d.labels.iter().map(|l| (l.clone(), 0)).collect())
            })
            .collect();
        Summary { counts, counted, checks: vec![0; b.rules.checks.len()], ..Summary::default() }
    }

    /// This summary, also counting rule coverage when `on`.
    pub fn with_coverage(mut self, rs: &RuleSet, on: bool) -> Summary {
        self.coverage = on.then(|| coverage::Coverage::new(rs));
        self
    }

    pub fn add(&mut self, b: &Bound, hh: &Household, a: &Assessment) {
        if let Some(c) = &mut self.coverage {
            c.add(b.rules, a);
        }
        for &k in &a.checks {
            self.checks[k as usize] += 1;
        }
        if !a.checks.is_empty() && a.has_error_finding(b) {
            self.households_with_error_findings += 1;
        }
        self.rows_read += hh.source_rows;
        self.households_assessed += 1;
        if !hh.problems.is_empty() {
            self.households_with_problems += 1;
            self.problems += hh.problems.len() as u64;
        }
        // `counts` holds the decisions shown on their own, in order, each with all its labels.
        for ((_, labels), &d) in self.counts.iter_mut().zip(&self.counted) {
            labels[a.decisions[d] as usize].1 += 1;
        }
    }

    /// Add the counts of another part of the same run.
    pub fn merge(&mut self, other: &Summary) {
        if let (Some(m), Some(t)) = (&mut self.coverage, &other.coverage) {
            m.merge(t);
        }
        self.rows_read += other.rows_read;
        self.blank_rows += other.blank_rows;
        self.households_assessed += other.households_assessed;
        self.households_with_problems += other.households_with_problems;
        self.problems += other.problems;
        self.households_with_error_findings += other.households_with_error_findings;
        for (m, t) in self.checks.iter_mut().zip(&other.checks) {
            *m += t;
        }
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
            n => format!("（其中空白行 {} 行，已跳过）", grouped(n)),
        };
        // Counts for people read with thousands separators (never in a data cell).
        use crate::value::grouped;
        let mut s = format!(
            "读取 {} 行{blank}，评估 {} 户；其中 {} 户有数据问题（共 {} 处）。\n",
            grouped(self.rows_read + self.blank_rows),
            grouped(self.households_assessed),
            grouped(self.households_with_problems),
            grouped(self.problems)
        );
        for ((_, labels), &d) in self.counts.iter().zip(&self.counted) {
            let d = &b.rules.decisions[d];
            let parts: Vec<String> = labels.iter().map(|(l, n)| format!("{l} {}", grouped(*n))).collect();
            s.push_str(&format!("{}：{}\n", d.label, parts.join(" · ")));
        }
        let found: Vec<String> = (b.rules.checks.iter().zip(&self.checks))
            .filter(|(_, &n)| n > 0)
            .map(|(c, n)| format!("{}（{}）{} 户", c.label, c.severity.word(), grouped(*n)))
            .collect();
        if !found.is_empty() {
            s.push_str(&format!("数据核查：{}\n", found.join("；")));
        }
        if self.households_with_error_findings > 0 {
            s.push_str(&format!(
                "其中 {} 户有“错误”级数据核查结果（与数据问题一样须更正）。\n",
                grouped(self.households_with_error_findings)
            ));
        }
        s
    }

    /// Whether the run found something to fix: a data problem, or a check's 错误.
    pub fn has_problems(&self) -> bool {
        self.households_with_problems > 0 || self.households_with_error_findings > 0
    }
}

#[cfg(test)]
mod tests {
    use super::{ascii_from_zero, csv_safe, is_plain, needs_quotes, none_below_zero, CsvRow, CsvRows, Record};
    use crate::household::{Cell, Household, Problem};
    use std::borrow::Cow;

    /// A household whose only personal number is the raw text of an invalid number cell (echoed
    /// in the reasons as the value that could not be read, and in the problems): every output
    /// shows it masked, whatever shortcut the mask takes.
    #[test]
    fn a_number_in_an_invalid_number_cell_is_masked() {
        let rules = crate::ruleset::load("national").unwrap();
        let b = rules.at(crate::value::Date::new(2024, 12, 31).unwrap()).unwrap();
        for raw in ["约13812345678", "520000196803120313", "１３８１２３４５６７８元整"] {
            let mut hh = Household { row: 2, source_rows: 1, ..Household::default() };
            hh.cells = vec![Cell::Blank; rules.fields.len()];
            let set = |hh: &mut Household, key: &str, text: &str| {
                let f = rules.field_index[key];
                rules.set_cell(hh, f, text, key);
            };
            set(&mut hh, "household_id", "D1");
            set(&mut hh, "household_type", "脱贫户");
            set(&mut hh, "members", "3");
            set(&mut hh, "per_capita_income", raw);
            assert!(matches!(hh.cells[rules.field_index["per_capita_income"] as usize], Cell::Invalid(_)), "{raw}");
            assert!(hh.problems.iter().any(|p: &Problem| p.value == raw), "{raw}");
            let a = crate::engine::assess(&b, &hh);
            let mut row = String::new();
            CsvRows::new(&b).write(&mut row, &b, &hh, &a, false);
            let record = Record::build(&b, &hh, &a, false);
            let json = {
                let mut v = Vec::new();
                super::write_jsonl(&mut v, &record).unwrap();
                String::from_utf8(v).unwrap()
            };
            for (what, text) in [("CSV", &row), ("JSON Lines", &json)] {
                assert!(!text.contains(raw), "{what}: {raw} in {text}");
                assert!(text.contains('*'), "{what}: {text}");
            }
            // The unmasked row does show it, in the reasons and the problems.
            let mut shown = String::new();
            CsvRows::new(&b).write(&mut shown, &b, &hh, &a, true);
            assert!(shown.matches(raw).count() >= 2, "{raw}");
        }
    }

    /// Rows written with a memo of the rows before are the rows written without: over households
    /// whose areas repeat or change, of varied decisions, masked or not; one memo kept from rows
    /// of one rule set to another's and from masked rows to unmasked ones (it forgets).
    #[test]
    fn rows_written_with_a_memo_are_the_same() {
        let mut memo = super::RowMemo::default();
        for (name, show_ids) in [("national", false), ("national", true), ("guizhou-2023", false), ("national", false)]
        {
            let rules = crate::ruleset::load(name).unwrap();
            let b = rules.at(crate::value::Date::new(2024, 12, 31).unwrap()).unwrap();
            let rows = CsvRows::new(&b);
            let mut rng = crate::test_rng::Lcg(7);
            let (mut hits, mut with, mut without) = (0, String::new(), String::new());
            for row in 2..400u64 {
                let mut hh = Household { row, source_rows: 1, ..Household::default() };
                hh.cells = vec![Cell::Blank; rules.fields.len()];
                let mut set = |key: &str, choices: &[&str]| {
                    let text = choices[rng.below(choices.len())];
                    if !text.is_empty() {
                        rules.set_cell(&mut hh, rules.field_index[key], text, key);
                    }
                };
                set("household_id", &["D1", "D2"]);
                set("county", &["示例县", "示例县", "县,二"]);
                set("township", &["一镇", "一镇", "13812345678镇"]);
                set("village", &["第1村", "第2村", "", "01"]);
                set("head_id", &["520000196803120313", ""]);
                set("household_type", &["脱贫户", "一般农户", "贫困户"]);
                set("members", &["1", "3", ""]);
                set("labor", &["0", "1", ""]);
                set("per_capita_income", &["3000", "15000", "", "约3000"]);
                set("prev_per_capita_income", &["20000", "", "9000"]);
                set("ill", &["0", "1", ""]);
                set("disabled", &["0", "2", ""]);
                let a = crate::engine::assess(&b, &hh);
                let (w1, w2) = (with.len(), without.len());
                let k1 = rows.write_memo(&mut memo, &mut with, &b, &hh, &a, show_ids);
                let k2 = rows.write(&mut without, &b, &hh, &a, show_ids);
                assert_eq!(with[w1..], without[w2..], "row {row}");
                assert_eq!(k1, k2, "row {row}");
                hits += usize::from(memo.decisions.iter().any(|(_, t)| !t.is_empty()));
            }
            assert!(hits > 0);
        }
    }

    /// A memo kept for other rows is not read: the same household written masked, then with
    /// the ID numbers shown, then by the rows of another rule set, each with the one memo.
    #[test]
    fn a_memo_forgets_other_rows() {
        let mut memo = super::RowMemo::default();
        for (name, show_ids) in [("national", false), ("national", true), ("guizhou-2023", true)] {
            let rules = crate::ruleset::load(name).unwrap();
            let b = rules.at(crate::value::Date::new(2024, 12, 31).unwrap()).unwrap();
            let rows = CsvRows::new(&b);
            let mut hh = Household { row: 2, source_rows: 1, ..Household::default() };
            hh.cells = vec![Cell::Blank; rules.fields.len()];
            for (key, text) in [("county", "示例县"), ("township", "13812345678镇"), ("village", "第1村")] {
                rules.set_cell(&mut hh, rules.field_index[key], text, key);
            }
            let a = crate::engine::assess(&b, &hh);
            let (mut with, mut without) = (String::new(), String::new());
            rows.write_memo(&mut memo, &mut with, &b, &hh, &a, show_ids);
            rows.write(&mut without, &b, &hh, &a, show_ids);
            assert_eq!(with, without, "{name} {show_ids}");
        }
    }

    /// The eight-bytes-at-a-time tests of the fast paths say what a byte at a time says: every
    /// length around a word's, every byte value alone at every position of otherwise plain text.
    #[test]
    fn byte_range_tests_are_exact() {
        for len in 0..40 {
            for pos in 0..len.max(1) {
                for c in 0..=255u8 {
                    let mut b = vec![b'7'; len];
                    if len > 0 {
                        b[pos] = c;
                    }
                    assert_eq!(none_below_zero(&b), b.iter().all(|&c| c >= b'0'), "{b:?}");
                    assert_eq!(ascii_from_zero(&b), b.iter().all(|&c| (b'0'..0x80).contains(&c)), "{b:?}");
                }
            }
        }
    }

    /// Rows of the identifying columns written through the fast paths (an ID number of digits and
    /// letters masked, a text of no byte below `0` as it is, row numbers counted on) are those
    /// written cell by cell through `CsvRow::text` and `privacy::mask_id_into`, masked or not.
    #[test]
    fn identifying_cells_are_written_as_cell_by_cell() {
        let rules = crate::ruleset::load("national").unwrap();
        let b = rules.at(crate::value::Date::new(2024, 12, 31).unwrap()).unwrap();
        let rows = CsvRows::with_columns(
            &b,
            vec![
                super::OutColumn::Row,
                super::OutColumn::Shown(0),
                super::OutColumn::Shown(4),
                super::OutColumn::Shown(5),
            ],
        );
        let (id, name, head_id) = ("household_id", "head_name", "head_id");
        let values = [
            "520000195001010003",
            "52000019560707006X",
            "5200001950",
            "520000 195001010003",
            "=520000195001010003",
            "52000019500101000,",
            "D000000001",
            "王某华",
            "张三13812345678",
            "0123",
            "a\"b",
            "",
        ];
        for show_ids in [false, true] {
            for (k, v) in values.iter().enumerate() {
                let mut hh = Household { row: 98 + k as u64, source_rows: 1, ..Household::default() };
                hh.cells = vec![Cell::Blank; rules.fields.len()];
                for key in [id, name, head_id] {
                    if !v.is_empty() {
                        rules.set_cell(&mut hh, rules.field_index[key], v, key);
                    }
                }
                let a = crate::engine::assess(&b, &hh);
                let mut got = String::new();
                rows.write(&mut got, &b, &hh, &a, show_ids);
                // The cells as read (an ID number's may be invalid: its text as written).
                let text = |key: &str| match &hh.cells[rules.field_index[key] as usize] {
                    Cell::Value(crate::household::Scalar::Text(t)) | Cell::Invalid(t) => t.to_string(),
                    _ => String::new(),
                };
                let mut want = String::new();
                let mut w = CsvRow::new(&mut want);
                w.safe(&hh.row.to_string());
                w.text(&text(id), false);
                w.text(&text(name), !show_ids);
                let mut masked = String::new();
                crate::privacy::mask_id_into(&mut masked, &text(head_id));
                w.safe(if show_ids { text(head_id) } else { masked }.as_str());
                w.end();
                assert_eq!(got, want, "{v:?} show_ids {show_ids}");
            }
        }
    }

    #[test]
    fn fields_are_quoted_exactly_when_they_need_it() {
        // Every length up to the vectorised searches' 32 bytes and past it, every byte value
        // below 0x80 and some above, alone at every position of otherwise plain text.
        let mut probes: Vec<u8> = (0..0x80).collect();
        probes.extend([0x80, 0xE3, 0xEF, 0xFF]);
        for len in 1..40 {
            for pos in 0..len {
                for &c in &probes {
                    let mut b = vec![b'7'; len];
                    b[pos] = c;
                    assert_eq!(needs_quotes(&b), b.iter().any(|c| b",\"\r\n".contains(c)), "{b:?}");
                }
            }
        }
        // Labels written as they are only when `safe` would write them so.
        for s in ["识别", "", "=1", "-1.5", "【识别", "　=1", "12345678901", "01", "a,b", "＋x", "\t"] {
            let (mut plain, mut safe, mut in_place) = (String::new(), String::new(), String::new());
            CsvRow::new(&mut safe).safe(s);
            CsvRow::new(&mut in_place).text_in_place(false, |o| o.push_str(s));
            assert_eq!(in_place, safe, "{s}");
            if is_plain(s) {
                CsvRow::new(&mut plain).plain(s);
                assert_eq!(plain, safe, "{s}");
            } else {
                assert_ne!(safe, s, "{s}");
            }
        }
    }

    #[test]
    fn csv_rows_are_written_as_the_csv_crate_writes_them() {
        let rows: [&[&str]; 4] = [
            &["1", "", "a,b", "say \"hi\"", "x\ny", "cr\rhere", "【识别·符合】收入 3,500 元；"],
            &["", ""],
            &["\"", ",", "\r\n", "plain"],
            &["户编号", "", "", "示例县"],
        ];
        for row in rows {
            let mut fast = String::new();
            let mut w = CsvRow::new(&mut fast);
            for f in row {
                w.field(f);
            }
            w.end();
            let mut slow = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
            slow.write_record(row).unwrap();
            assert_eq!(fast, String::from_utf8(slow.into_inner().unwrap()).unwrap());
        }
    }

    #[test]
    fn formulas_never_reach_a_csv_cell() {
        for (cell, safe) in [
            ("=HYPERLINK(\"http://x\",\"点击\")", "'=HYPERLINK(\"http://x\",\"点击\")"),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("  =1", "'  =1"),
            ("＝1+1", "'＝1+1"),
            ("\u{3000}=1", "'\u{3000}=1"),
            ("-", "'-"),
        ] {
            assert_eq!(csv_safe(cell), safe, "{cell:?}");
        }
        // Every Unicode space before a trigger: the defence, in `csv_safe` and in the row writer.
        for space in
            ['\u{85}', '\u{a0}', '\u{1680}', '\u{2002}', '\u{200a}', '\u{2028}', '\u{202f}', '\u{205f}', '\u{3000}']
        {
            let cell = format!("{space}=1+1");
            assert_eq!(csv_safe(&cell), format!("'{cell}"), "{cell:?}");
            assert!(!is_plain(&cell), "{cell:?}");
        }
        assert!(matches!(csv_safe("\u{a0}张三"), Cow::Borrowed(_)));
        for cell in ["-1.5", "+3", "12", "张三", "人均纯收入 3850", "", "a=b", "1-2", "（空）"] {
            assert!(matches!(csv_safe(cell), Cow::Borrowed(_)), "{cell:?}");
        }
    }

    /// 户编号, ID and phone numbers shown whole, and any number with a leading zero, get a tab
    /// after the last digit (text in a spreadsheet); other numbers and texts stay as they are; the
    /// row writer does the same as `csv_safe`, and a tab at the end needs no quotes.
    #[test]
    fn long_numbers_are_kept_as_text() {
        for cell in [
            "13812345678",
            "5200010101003",
            "52010219900101123",
            "520102199001011234",
            "52010219900101123400",
            "0123",
            "00",
            "360102860101123",
        ] {
            assert_eq!(csv_safe(cell), format!("{cell}\t"), "{cell:?}");
        }
        for cell in ["1381234567", "0", "3850", "3850.50", "52010219900101123X", "520102 199001011234", "-13812345678"]
        {
            assert!(matches!(csv_safe(cell), Cow::Borrowed(_)), "{cell:?}");
        }
        let mut out = String::new();
        let mut w = CsvRow::new(&mut out);
        for cell in ["2", "520102199001011234", "张三", "0123", "=1", "5200010101003"] {
            w.safe(cell);
        }
        assert!(w.end(), "a long number was kept as text");
        assert_eq!(out, "2,520102199001011234\t,张三,0123\t,'=1,5200010101003\t\n");
        // Written in place, the same cells are made safe the same way.
        let mut in_place = String::new();
        let mut w = CsvRow::new(&mut in_place);
        for cell in ["2", "520102199001011234", "张三", "0123", "=1", "5200010101003"] {
            w.text_in_place(false, |o| o.push_str(cell));
        }
        assert!(w.end(), "a long number was kept as text");
        assert_eq!(in_place, out);
        let mut out = String::new();
        let mut w = CsvRow::new(&mut out);
        w.safe("1381234567");
        assert!(!w.end(), "nothing kept as text");
    }
}

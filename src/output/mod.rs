//! Results out: one record per household in input order, as a terminal table, a CSV for Excel, or
//! JSON Lines; plus the run summary. Columns and keys are fixed and documented in the README.
//!
//! Writers work on a [`Record`], a plain view of (household, assessment, reasons) built once per
//! household, so the formats cannot disagree about what a household's result is.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{self, Assessment, Reason};
use crate::household::{Cell, Household, Problem, Scalar};
use crate::ruleset::file::FieldType;
use crate::ruleset::Bound;

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
    pub reasons: Vec<Reason>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    pub level: String,
    pub factors: Vec<String>,
    pub suggested_type: Option<String>,
    pub returned: Option<bool>,
}

/// Mask an ID number: `430524********1234`.
pub fn mask_id(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n >= 10 {
        let keep_head = 6;
        let keep_tail = 4;
        chars[..keep_head]
            .iter()
            .chain(std::iter::repeat_n(&'*', n - keep_head - keep_tail))
            .chain(&chars[n - keep_tail..])
            .collect()
    } else {
        "*".repeat(n)
    }
}

impl Record {
    /// The full record, every reason with its value, threshold and source (JSON Lines).
    pub fn build(b: &Bound, hh: &Household, a: &Assessment, show_ids: bool) -> Record {
        Record::build_with(b, hh, a, show_ids, true)
    }

    /// `detail` false: reasons carry only their sentence, which is what CSV, XLSX and tables show.
    pub fn build_with(b: &Bound, hh: &Household, a: &Assessment, show_ids: bool, detail: bool) -> Record {
        let rs = b.rules;
        let text = |key: &str| -> Option<String> {
            let i = *rs.field_index.get(key)? as usize;
            let f = &rs.fields[i];
            let s = match &hh.cells[i] {
                Cell::Value(Scalar::Text(t)) => t.to_string(),
                Cell::Value(Scalar::Enum(e)) => rs.enums[f.enum_id? as usize].values[*e as usize].clone(),
                Cell::Invalid(raw) => raw.to_string(),
                _ => return None,
            };
            Some(if f.ty == FieldType::Id && !show_ids { mask_id(&s) } else { s })
        };
        let decision = |id: &str| rs.decisions.iter().position(|d| d.id == id).expect("fixed decisions");
        let (el, ex, ri, st, em) = (
            decision("eligibility"),
            decision("exit"),
            decision("risk"),
            decision("suggested_type"),
            decision("elimination"),
        );
        let suggested = a.label(b, st);
        let mut problems = hh.problems.clone();
        if !show_ids {
            for p in &mut problems {
                let is_id = p.field.as_deref().and_then(|k| rs.field(k)).is_some_and(|f| f.ty == FieldType::Id);
                if is_id {
                    p.value = mask_id(&p.value);
                }
            }
        }
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
            eligibility: a.label(b, el).to_string(),
            exit: a.label(b, ex).to_string(),
            risk: Risk {
                level: a.label(b, ri).to_string(),
                factors: a.factors(b, ri).into_iter().map(String::from).collect(),
                suggested_type: (!suggested.is_empty()).then(|| suggested.to_string()),
                returned: a.returned,
            },
            elimination: a.label(b, em).to_string(),
            reasons: engine::explain_with(b, hh, a, detail),
            problems,
        }
    }

    /// The reasons as one line of plain Chinese, per decision that applies.
    pub fn reasons_text(&self, b: &Bound) -> String {
        let mut parts: Vec<String> = Vec::new();
        for d in &b.rules.decisions {
            let label = match d.id {
                "eligibility" => &self.eligibility,
                "exit" => &self.exit,
                "risk" => &self.risk.level,
                "elimination" => &self.elimination,
                _ => continue,
            };
            if label == "不适用" {
                continue;
            }
            let texts: Vec<&str> =
                self.reasons.iter().filter(|r| r.decision == d.id).map(|r| r.text.as_str()).collect();
            if !texts.is_empty() {
                parts.push(format!("【{}·{}】{}", d.label, label, texts.join("；")));
            }
        }
        parts.join(" ")
    }

    pub fn problems_text(&self) -> String {
        self.problems
            .iter()
            .map(|p| {
                if p.column.is_empty() {
                    format!("第{}行：{}", p.row, p.message)
                } else {
                    format!("第{}行“{}”列：“{}” {}", p.row, p.column, p.value, p.message)
                }
            })
            .collect::<Vec<_>>()
            .join("；")
    }

    fn factor_labels(&self, b: &Bound) -> String {
        self.risk
            .factors
            .iter()
            .filter_map(|id| b.rules.criteria.iter().find(|c| &c.id == id).map(|c| c.label.as_str()))
            .collect::<Vec<_>>()
            .join("、")
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

pub fn write_csv(w: &mut csv::Writer<&mut Vec<u8>>, r: &Record, b: &Bound) -> csv::Result<()> {
    w.write_record(csv_cells(r, b))
}

/// The cells of one household, in `CSV_HEADERS` order (CSV and XLSX).
pub fn csv_cells(r: &Record, b: &Bound) -> [String; 17] {
    let o = |s: &Option<String>| s.clone().unwrap_or_default();
    let returned = match r.risk.returned {
        Some(true) => "是",
        Some(false) => "否",
        None => "待核实",
    };
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
        r.factor_labels(b),
        o(&r.risk.suggested_type),
        returned.to_string(),
        r.elimination.clone(),
        r.reasons_text(b),
        r.problems_text(),
    ]
}

pub fn write_jsonl(out: &mut Vec<u8>, r: &Record) -> io::Result<()> {
    serde_json::to_writer(&mut *out, r)?;
    out.push(b'\n');
    Ok(())
}

/// A terminal table of one batch of records.
pub fn table(records: &[Record], b: &Bound) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if t.width().is_none() {
        t.set_width(120); // not a terminal: wrap at a readable width
    }
    t.set_header(["行", "户编号", "行政村", "户类型", "识别", "退出", "风险", "消除", "理由与问题"]);
    for r in records {
        let mut why = r.reasons_text(b);
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
    pub rows_read: u64,
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

    pub fn add(&mut self, r: &Record) {
        self.rows_read += r.source_rows;
        self.households_assessed += 1;
        if !r.problems.is_empty() {
            self.households_with_problems += 1;
            self.problems += r.problems.len() as u64;
        }
        for (id, labels) in &mut self.counts {
            let label = match id.as_str() {
                "eligibility" => &r.eligibility,
                "exit" => &r.exit,
                "risk" => &r.risk.level,
                _ => &r.elimination,
            };
            if let Some(c) = labels.iter_mut().find(|(l, _)| l == label) {
                c.1 += 1;
            }
        }
    }

    /// The summary in Chinese, for stderr.
    pub fn text(&self, b: &Bound) -> String {
        let mut s = format!(
            "读取 {} 行，评估 {} 户；其中 {} 户有数据问题（共 {} 处）。\n",
            self.rows_read, self.households_assessed, self.households_with_problems, self.problems
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

//! Rule sets: load a TOML rule file (following `extends`), check every name and type, compile
//! every condition once: criteria, decisions, the flag, checks, run warnings and `adjust`'s lists
//! (`lists`).
//!
//! Everything that can fail because of the rule file fails here, before a row is read. The
//! national rule set and the provincial variants in `rules/` are embedded in the binary and can
//! be named instead of given as paths (`--rules guizhou-2023`).

pub mod action;
pub mod departments;
pub mod expr;
pub mod fast;
pub mod file;
pub mod layering;
pub mod layout;
pub mod lists;
#[cfg(test)]
mod member_tests;
pub mod notice;
pub mod periods;
pub mod reconcile;
#[cfg(test)]
mod record_tests;
pub mod report;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::RuleError;
use crate::household::{Cell, Household, Members, Problem, Scalar};
use crate::value::cell;
use crate::value::{Date, Num};
use expr::{Ctx, Name, Names, Node, Ty};
use file::{FieldType, ParamType, RuleFile};

/// Rule sets compiled into the binary: (name, file name, text).
pub const EMBEDDED: &[(&str, &str, &str)] = &[
    ("national", "national.toml", include_str!("../../rules/national.toml")),
    ("guizhou-2023", "guizhou-2023.toml", include_str!("../../rules/guizhou-2023.toml")),
    ("yunnan-2025", "yunnan-2025.toml", include_str!("../../rules/yunnan-2025.toml")),
    ("lanzhou-xinqu-2025", "lanzhou-xinqu-2025.toml", include_str!("../../rules/lanzhou-xinqu-2025.toml")),
    ("hubei-2023", "hubei-2023.toml", include_str!("../../rules/hubei-2023.toml")),
    ("dehua-2024", "dehua-2024.toml", include_str!("../../rules/dehua-2024.toml")),
];

/// Rule cases shipped with the embedded rule sets: (name, text).
pub const EMBEDDED_CASES: &[(&str, &str)] = &[
    ("national", include_str!("../../rules/national.cases.toml")),
    ("guizhou-2023", include_str!("../../rules/guizhou-2023.cases.toml")),
    ("yunnan-2025", include_str!("../../rules/yunnan-2025.cases.toml")),
    ("lanzhou-xinqu-2025", include_str!("../../rules/lanzhou-xinqu-2025.cases.toml")),
    ("hubei-2023", include_str!("../../rules/hubei-2023.cases.toml")),
    ("dehua-2024", include_str!("../../rules/dehua-2024.cases.toml")),
];

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub values: Vec<String>,
    pub aliases: HashMap<String, u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeBound {
    Num(i64),
    Field(u16),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub key: String,
    pub ty: FieldType,
    pub header: String,
    pub aliases: Vec<String>,
    pub label: String,
    pub enum_id: Option<u16>,
    pub min: Option<RangeBound>,
    pub max: Option<RangeBound>,
    pub blank: Option<Scalar>,
    pub required: bool,
    pub derive: Option<Node>,
    /// A household field of a person export computed from its members (`from_members`); see
    /// [`RuleSet::from_members`].
    pub from_members: Option<Node>,
    /// A member field whose column marks a file as a person export (`marker = true`).
    pub marker: bool,
    /// The cell text an absent column stands for (checked at load; `""`: a blank cell).
    pub absent: Option<String>,
    /// Other columns to read it from when its own is absent, in order of preference.
    pub alternatives: Vec<Alternative>,
    /// How help can change it (none: a recorded fact, never suggested by the what-if).
    pub action: Option<action::Action>,
    /// A per-head amount the what-if also gives for the household.
    pub total: Option<action::Total>,
    /// The evidence of a department list (`<key>_count`, …): no column, filled by matching.
    pub department: Option<u16>,
    /// How `check` words the help (`action_text`): a template of [`action::PLACEHOLDERS`].
    pub action_text: Option<String>,
}

impl Field {
    /// The column(s) it is read from, as messages name them: `危房等级（或是否危房户）`.
    pub fn write_column_names(&self, out: &mut String) {
        out.push_str(&self.header);
        for a in &self.alternatives {
            out.push_str("（或");
            out.push_str(&a.header);
            out.push('）');
        }
    }
}

/// Another column a field may be read from, and how its cells translate.
#[derive(Debug, Clone)]
pub struct Alternative {
    pub header: String,
    pub aliases: Vec<String>,
    /// (cell text, normalised; the field's cell text it stands for), checked at load. Empty: the
    /// cells are read as the field's own.
    pub map: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ParamValue {
    pub from: Date,
    /// The value as written; for a formula, 0 (the value in force is computed by [`RuleSet::at`]).
    pub value: Num,
    /// A value computed from other parameters in force (`2 * dibao_standard * 12`), with its text.
    pub formula: Option<(Node, String)>,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub key: String,
    pub label: String,
    pub ty: ParamType,
    pub unit: String,
    pub description: String,
    /// Sorted by `from`.
    pub values: Vec<ParamValue>,
}

#[derive(Debug, Clone)]
pub enum Test {
    /// true = met, false = unmet.
    Condition(Node),
    /// Met when the first is true, unmet when the second is, otherwise unknown.
    MetUnmet(Node, Node),
}

#[derive(Debug, Clone)]
pub struct Criterion {
    pub id: String,
    pub label: String,
    pub group: Option<String>,
    pub source: String,
    pub test: Test,
    /// The source text of the condition(s), for `rules check`.
    pub text: String,
    /// The condition in words (`text` in the rule file), for `check`.
    pub wording: Option<String>,
    /// What being met means for the household.
    pub kind: file::CriterionKind,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub id: String,
    pub label: String,
    pub labels: Vec<String>,
    pub enum_id: u16,
    pub undecided: u16,
    pub otherwise: u16,
    pub factors: Vec<u16>,
    pub source: String,
    /// (condition, label index, the rule as written)
    pub rules: Vec<(Node, u16, RuleText)>,
    /// The label meaning the decision does not concern the household.
    pub not_applicable: Option<u16>,
    /// The earlier decision it is shown with.
    pub with: Option<u16>,
    /// The labels `check`'s what-if steers towards (empty: no what-if).
    pub goal: Vec<u16>,
    /// The header of its factors' column (also what `check` calls them).
    pub factors_column: Option<String>,
    /// Its header in the terminal table.
    pub short: Option<String>,
    /// XLSX colours of labels.
    pub highlight: Vec<(u16, file::Highlight)>,
}

/// A decision rule as written: its condition's text, the reason it gives and whether the
/// decision's factors are listed when it decides.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleText {
    pub when: String,
    pub reason: Option<String>,
    pub factors: bool,
}

impl Decision {
    /// Whether label `l` is the one meaning "does not concern the household".
    #[inline]
    pub fn is_not_applicable(&self, l: u16) -> bool {
        self.not_applicable == Some(l)
    }

    /// Whether label `l` is one the what-if steers towards.
    #[inline]
    pub fn is_goal(&self, l: u16) -> bool {
        self.goal.contains(&l)
    }
}

#[derive(Debug, Clone)]
pub struct Flag {
    pub label: String,
    /// The decision it is shown with.
    pub with: Option<u16>,
    pub when: Node,
    pub text: String,
    pub source: String,
}

/// A data-quality check, compiled.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub label: String,
    pub severity: file::Severity,
    pub when: Node,
    /// The source text of `when`.
    pub text: String,
    pub message: Vec<Piece>,
    pub source: String,
}

/// A warning about a run (`[warnings.*]`), compiled: a condition over parameters and the
/// assessment date.
#[derive(Debug, Clone)]
pub struct RunWarning {
    pub id: String,
    pub when: Node,
    pub message: Vec<Piece>,
    pub source: String,
}

/// A piece of a check's message: text, or the value of a field or parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Field(u16),
    Param(u16),
    /// `{m.key}`: a member field, of each member the check's member macro found.
    Member(u16),
}

/// Split a `{key}` template into pieces: its text, and what `key` makes of each `{key}` (`None`:
/// it wrote text of its own into the buffer it is given). `{{` and `}}` are braces.
pub(crate) fn split_template<P>(
    t: &str,
    text_piece: impl Fn(String) -> P,
    mut key: impl FnMut(&str, &mut String) -> Result<Option<P>, String>,
) -> Result<Vec<P>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '{' if rest.starts_with('{') => {
                text.push('{');
                rest = &rest[1..];
            }
            '}' if rest.starts_with('}') => {
                text.push('}');
                rest = &rest[1..];
            }
            '{' => {
                let end = rest.find('}').ok_or_else(|| format!("“{{”后缺少“}}”：{t}"))?;
                let k = rest[..end].trim();
                rest = &rest[end + 1..];
                if let Some(piece) = key(k, &mut text)? {
                    if !text.is_empty() {
                        pieces.push(text_piece(std::mem::take(&mut text)));
                    }
                    pieces.push(piece);
                }
            }
            '}' => return Err(format!("多余的“}}”（字面的花括号写作 }}}}）：{t}")),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(text_piece(text));
    }
    Ok(pieces)
}

/// Split a message template into pieces: `{key}` names a field, a parameter or a term (kept as
/// `{term}` for [`RuleSet::worded`]); `{m.key}` a member field.
fn message_pieces(
    template: &str,
    field_index: &HashMap<String, u16>,
    params: &HashMap<String, (u16, Ty)>,
    terms: &BTreeMap<String, String>,
    persons: &[Field],
) -> Result<Vec<Piece>, String> {
    let pieces = split_template(template, Piece::Text, |key, text| {
        if terms.contains_key(key) {
            text.push_str(&format!("{{{key}}}"));
            return Ok(None);
        }
        if let Some(k) = key.strip_prefix("m.") {
            return match persons.iter().position(|f| f.key == k) {
                Some(i) => Ok(Some(Piece::Member(i as u16))),
                None => {
                    let names: Vec<String> = persons.iter().map(|f| f.key.clone()).collect();
                    Err(format!("{{m.{k}}} 不是成员字段{}", expr::did_you_mean(k, &names)))
                }
            };
        }
        match (field_index.get(key), params.get(key)) {
            (Some(&i), _) => Ok(Some(Piece::Field(i))),
            (None, Some(&(i, _))) => Ok(Some(Piece::Param(i))),
            _ => {
                let mut names: Vec<String> = field_index.keys().chain(params.keys()).cloned().collect();
                names.sort();
                Err(format!("{{{key}}} 不是字段或参数{}", expr::did_you_mean(key, &names)))
            }
        }
    })?;
    if pieces.is_empty() {
        return Err("message 不能为空".into());
    }
    Ok(pieces)
}

/// A loaded, checked and compiled rule set.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Where it came from: the file or embedded name, then what it extends.
    pub origin: Vec<String>,
    /// SHA-256 (hex) of the rule set as merged along `extends` (the provenance of outputs).
    pub hash: String,
    pub fields: Vec<Field>,
    pub field_index: HashMap<String, u16>,
    /// Member fields (`[persons.*]`), read from a person export's rows, in key order.
    pub persons: Vec<Field>,
    /// The member fields with a `derive`, in an order where each comes after those it reads.
    pub person_derived: Vec<u16>,
    /// Per member field, whether some condition or check message reads it (directly or through a
    /// member field derived from it): only those are read from a person export's rows.
    pub person_used: Vec<bool>,
    /// Whether any condition has a member macro: if none does, a person export's member rows are
    /// not kept.
    pub members_used: bool,
    /// The household fields computed from the members (`from_members`), in rule-file order.
    pub member_facts: Vec<u16>,
    /// Department lists (`[departments.*]`), compared with the households by ID number (`--with`).
    pub departments: Vec<departments::Department>,
    /// Which fields hold the ID numbers compared.
    pub matching: departments::Matching,
    pub enums: Vec<EnumDef>,
    pub params: Vec<Param>,
    pub criteria: Vec<Criterion>,
    /// Criteria in dependency order.
    pub crit_order: Vec<u16>,
    /// In rule-file order, which is the order of evaluation.
    pub decisions: Vec<Decision>,
    pub returned: Option<Flag>,
    /// Where decisions and the flag go in the outputs.
    pub layout: std::sync::Arc<layout::Layout>,
    /// Data-quality checks, in id order.
    pub checks: Vec<Check>,
    /// Warnings about a run, in id order.
    pub warnings: Vec<RunWarning>,
    /// Policy periods, by start.
    pub periods: Vec<periods::Period>,
    /// Words written `{term}` in labels and messages, with their default.
    pub terms: Vec<(String, String)>,
    /// `[sources]`: the documents cited by key in `source` texts (key, title and 文号).
    pub sources: Vec<(String, String)>,
    /// `adjust`'s lists, in file order, compiled.
    pub lists: lists::ListSet,
    /// The summary by area: levels, persons, counted decisions, charts, indicators.
    pub report: report::Report,
    /// How the lists marked `notice = true` are posted (`[notice]`).
    pub notice: Option<notice::Notice>,
    /// The differences between rosters that need action (`[reconcile.*]`), in id order.
    pub reconcile: Vec<reconcile::Rule>,
    /// Fields with a `min` or `max`, and fields with a `derive`, in field order (what
    /// [`RuleSet::finish`] visits for every household). A ranged field's bounds come with it
    /// when neither is another field's value ([`fixed_range`]).
    ranged_fields: Ranges,
    derived_fields: Vec<u16>,
    /// Of those with a `derive`, the ones that read the member list (`size(members)`): derived
    /// by [`RuleSet::from_members`], for a household with members only.
    member_derived_fields: Vec<u16>,
    /// Parameters in the order their values in force are computed (formulas after what they read).
    param_order: Vec<u16>,
    /// The criteria (in dependency order), decision rules and flag compiled for the engine.
    pub plan: Plan,
}

/// What the engine evaluates for every household, compiled ([`fast`]); the trees stay for
/// explanations.
#[derive(Debug, Clone)]
pub struct Plan {
    /// In `crit_order`: the criterion, its condition (or `met`) and its `unmet`.
    pub crits: Vec<(u16, fast::Cond, Option<fast::Cond>)>,
    /// Per decision, its rules' conditions.
    pub decisions: Vec<Vec<fast::Cond>>,
    pub returned: Option<fast::Cond>,
    /// The checks' conditions.
    pub checks: Vec<fast::Cond>,
}

impl Plan {
    fn new(
        criteria: &[Criterion],
        order: &[u16],
        decisions: &[Decision],
        returned: Option<&Flag>,
        checks: &[Check],
    ) -> Plan {
        Plan {
            crits: order
                .iter()
                .map(|&i| match &criteria[i as usize].test {
                    Test::Condition(n) => (i, fast::Cond::new(n), None),
                    Test::MetUnmet(m, u) => (i, fast::Cond::new(m), Some(fast::Cond::new(u))),
                })
                .collect(),
            decisions: decisions.iter().map(|d| d.rules.iter().map(|r| fast::Cond::new(&r.0)).collect()).collect(),
            returned: returned.map(|f| fast::Cond::new(&f.when)),
            checks: checks.iter().map(|c| fast::Cond::new(&c.when)).collect(),
        }
    }
}

// ─────────────────────────────── loading ───────────────────────────────

/// Load a rule set by embedded name (`national`) or path.
pub fn load(spec: &str) -> Result<RuleSet, RuleError> {
    let (file, origin, at, hash) = rule_file(load_file(spec, None, &mut Vec::new())?)?;
    let mut rs = compile(file, origin).map_err(|e| locate(e, &at))?;
    rs.hash = hash;
    Ok(rs)
}

/// The SHA-256 (hex) of a merged rule set, serialised as TOML: the same rules give the same hash
/// whatever their comments, layout or the files they were spread over.
fn rules_hash(table: &toml::Table) -> String {
    use sha2::Digest;
    let text = toml::to_string(table).unwrap_or_default();
    crate::value::hex(&sha2::Sha256::digest(text.as_bytes()))
}

/// A compile error about one item, with the file and line where that item was last changed put
/// before it (`/…/guizhou.toml 第 12 行 判定标准 \`x\``).
fn locate(e: RuleError, at: &layering::Locator) -> RuleError {
    const SECTIONS: [(&str, &str); 9] = [
        ("字段", "fields"),
        ("参数", "parameters"),
        ("判定标准", "criteria"),
        ("决策", "decisions"),
        ("数据核查", "checks"),
        ("运行警告", "warnings"),
        ("成员字段", "persons"),
        ("指标", "indicators"),
        ("地区数据", "area_data"),
    ];
    let RuleError::Rule { rule, message } = e else { return e };
    let item = SECTIONS.iter().find_map(|(word, section)| {
        let id = rule.strip_prefix(word)?.trim_start().strip_prefix('`')?.split('`').next()?;
        Some((*section, id))
    });
    match item.and_then(|(section, id)| at.place(section, id)) {
        Some(place) => RuleError::Rule { rule: format!("{place} {rule}"), message },
        None => RuleError::Rule { rule, message },
    }
}

/// The rule set `spec` names, merged along its `extends` chain, as TOML tables (for
/// `rules show --resolved`).
pub fn resolve(spec: &str) -> Result<layering::Merged, RuleError> {
    load_file(spec, None, &mut Vec::new())
}

/// The merged tables read as one rule file.
fn rule_file(m: layering::Merged) -> Result<(RuleFile, Vec<String>, layering::Locator, String), RuleError> {
    let hash = rules_hash(&m.table);
    let file = m.table.try_into::<RuleFile>().map_err(|e| RuleError::Parse {
        file: m.chain[0].clone(),
        message: layering::in_chinese(e.to_string().trim()),
    })?;
    Ok((file, m.chain, m.at, hash))
}

/// The longest rule file read (national.toml is about 20 KB).
const MAX_RULE_FILE: u64 = 4 << 20;

/// A rule file's text: only an ordinary file of at most [`MAX_RULE_FILE`] bytes. Anything else
/// (a FIFO, whose open would wait for a writer; `/dev/zero`, which never ends; a directory) is
/// refused from its metadata before it is opened, and the file is opened without blocking and
/// checked again (it could have been swapped in between).
fn read_rule_file(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| crate::error::io_text(&e))?;
    not_a_file(&meta)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| crate::error::io_text(&e))?;
    not_a_file(&file.metadata().map_err(|e| crate::error::io_text(&e))?)?;
    read_text(file)
}

/// A rule file's (or a case file's) text from `from`, at most `MAX_RULE_FILE` bytes of UTF-8.
pub fn read_text(from: impl std::io::Read) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    from.take(MAX_RULE_FILE + 1).read_to_end(&mut bytes).map_err(|e| crate::error::io_text(&e))?;
    if bytes.len() as u64 > MAX_RULE_FILE {
        return Err(format!("文件过大（超过 {} MiB），不像规则文件", MAX_RULE_FILE >> 20));
    }
    String::from_utf8(bytes).map_err(|_| "不是 UTF-8 文本".to_string())
}

/// `Err` with what the path is, unless it is an ordinary file.
fn not_a_file(m: &std::fs::Metadata) -> Result<(), String> {
    if m.is_file() {
        return Ok(());
    }
    let t = m.file_type();
    let what = if t.is_dir() {
        "是目录"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                "是命名管道（FIFO）"
            } else if t.is_char_device() {
                "是字符设备"
            } else if t.is_block_device() {
                "是块设备"
            } else if t.is_socket() {
                "是套接字"
            } else {
                "是特殊文件"
            }
        }
        #[cfg(not(unix))]
        "是特殊文件"
    };
    Err(format!("{what}，不是普通文件：规则文件应为 .toml 文本文件"))
}

/// Longest piece of a line, and of the parser's message, that a TOML error shows.
const QUOTED_CHARS: usize = 120;

/// A TOML error as shown: the line and column, the parser's message (capped), and the line
/// itself (a window around the column) only when the file is text: no control characters but
/// tab and line breaks. Given `/proc/self/environ`, or a binary file, no line is echoed.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let cap = |s: &str, n: usize| -> String {
        let mut out: String = s.chars().filter(|c| !c.is_control() || *c == '\n').take(n).collect();
        if s.chars().count() > n {
            out.push('…');
        }
        out
    };
    let message = cap(&layering::in_chinese(e.message().trim_end()), 4 * QUOTED_CHARS);
    let Some(span) = e.span() else { return message };
    let start = span.start.min(text.len());
    let start = (0..=start).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..line_start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let is_text = !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    if !is_text {
        return format!("第 {line_no} 行第 {column} 列：{message}（文件含控制字符，不像文本，不引用其内容）");
    }
    let line = text[line_start..].split('\n').next().unwrap_or("").trim_end_matches('\r');
    // A window of the line around the column, so that a megabyte-long line is not echoed.
    let chars: Vec<char> = line.chars().collect();
    let from = (column - 1).saturating_sub(QUOTED_CHARS / 2).min(chars.len());
    let to = (from + QUOTED_CHARS).min(chars.len());
    let mut shown: String = if from > 0 { "…".into() } else { String::new() };
    shown.extend(chars[from..to].iter().map(|&c| if c == '\t' { ' ' } else { c }));
    if to < chars.len() {
        shown.push('…');
    }
    // Under the column, counting a CJK character as two columns of a terminal.
    let width = |c: &char| if c.is_ascii() { 1 } else { 2 };
    let before = chars[from..(column - 1).min(chars.len())].iter().map(width).sum::<usize>();
    let caret_at = before + usize::from(from > 0);
    format!("第 {line_no} 行第 {column} 列：{message}\n  | {shown}\n  | {}^", " ".repeat(caret_at))
}

pub fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, f, _)| *n == name || *f == name).map(|e| e.2)
}

/// Load a rule set from its text, not from a file (`name` is what messages call it). Its `extends`
/// may name a built-in rule set only: nothing is read from disk.
pub fn load_str(text: &str, name: &str) -> Result<RuleSet, RuleError> {
    fn builtin(spec: &str, chain: &mut Vec<String>) -> Result<Loaded, RuleError> {
        let text = embedded(spec).ok_or_else(|| RuleError::Read {
            path: spec.to_string(),
            message: "以文本给出的规则集只能扩展内置规则集（extends = \"national\" 等）".into(),
        })?;
        parse_file(text, format!("{spec}（内置）"), None, chain, builtin)
    }
    let (file, origin, at, hash) = rule_file(parse_file(text, name.to_string(), None, &mut Vec::new(), builtin)?)?;
    let mut rs = compile(file, origin).map_err(|e| locate(e, &at))?;
    rs.hash = hash;
    Ok(rs)
}

type Loaded = layering::Merged;

fn load_file(spec: &str, base: Option<&Path>, chain: &mut Vec<String>) -> Result<Loaded, RuleError> {
    let (text, ident, dir): (String, String, Option<PathBuf>) = match embedded(spec) {
        Some(t) if !Path::new(spec).exists() || base.is_none() && !spec.ends_with(".toml") => {
            (t.to_string(), format!("{spec}（内置）"), None)
        }
        _ => {
            let path = match base {
                Some(b) if Path::new(spec).is_relative() => b.join(spec),
                _ => PathBuf::from(spec),
            };
            let text = read_rule_file(&path).map_err(|message| {
                // A name that is no file: perhaps a misspelt built-in one.
                let message = if path.exists() {
                    message
                } else {
                    let names: Vec<String> = EMBEDDED.iter().map(|e| e.0.to_string()).collect();
                    format!(
                        "没有这个文件，也不是内置规则集（内置：{}）{}",
                        names.join("、"),
                        expr::did_you_mean(spec, &names)
                    )
                };
                RuleError::Read { path: path.display().to_string(), message }
            })?;
            let canon = path.canonicalize().unwrap_or(path.clone());
            (text, crate::value::shown_path(&canon), path.parent().map(Path::to_path_buf))
        }
    };
    let here = dir.clone();
    parse_file(&text, ident, here.as_deref(), chain, |parent, chain| {
        load_file(parent, dir.as_deref().or(Some(Path::new("."))), chain)
    })
}

/// Parse one rule file's text and apply it on top of what it extends, which `parent` loads.
fn parse_file(
    text: &str,
    ident: String,
    dir: Option<&Path>,
    chain: &mut Vec<String>,
    parent: impl FnOnce(&str, &mut Vec<String>) -> Result<Loaded, RuleError>,
) -> Result<Loaded, RuleError> {
    if chain.contains(&ident) {
        chain.push(ident);
        return Err(RuleError::Cycle(chain.join(" → ")));
    }
    chain.push(ident.clone());
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| RuleError::Parse { file: ident.clone(), message: toml_error(text, &e) })?;
    report::area_files(&mut table, dir, &ident)?;
    let extends = match table.get("ruleset").and_then(|r| r.get("extends")) {
        None => None,
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(v) => {
            let message = format!("[ruleset] 的 extends 应为规则集名称或文件路径（文本），不是 {v}");
            return Err(RuleError::Parse { file: ident, message });
        }
    };
    match extends {
        None => {
            // A whole rule file: read as such from its text, so that an error shows its line.
            if let Err(e) = toml::from_str::<RuleFile>(text) {
                return Err(RuleError::Parse { file: ident, message: toml_error(text, &e) });
            }
            Ok(layering::Merged::root(table, ident, text))
        }
        Some(spec) => parent(&spec, chain)?.apply(table, &ident, text),
    }
}

// ─────────────────────────────── compiling ───────────────────────────────

/// Each parameter's index and type, by key.
type ParamIndex = HashMap<String, (u16, Ty)>;

#[derive(Clone, Copy)]
struct Builder<'a> {
    fields: &'a [Field],
    field_index: &'a HashMap<String, u16>,
    enums: &'a [EnumDef],
    params: &'a HashMap<String, (u16, Ty)>,
    crits: Option<&'a HashMap<String, u16>>,
    /// (key, enum id, undecided label) of the decisions a condition may read.
    decisions: &'a [(String, u16, u16)],
    /// The criterion being compiled: inside its own condition, its id names the field of the
    /// same name (criterion `food` is `condition = "food"`, the 不愁吃 column).
    this: Option<&'a str>,
    /// The member fields (`[persons.*]`) member macros may read; empty where they may not.
    persons: &'a [Field],
    /// The department lists record macros may run over (`cars.exists(r, …)`); empty where they
    /// may not (derived fields are computed before the lists are matched).
    departments: &'a [departments::Department],
}

impl<'a> Builder<'a> {
    /// Names for a condition over these fields, parameters, member fields and lists (no
    /// criterion or decision yet).
    fn of(
        (fields, field_index): (&'a [Field], &'a HashMap<String, u16>),
        enums: &'a [EnumDef],
        params: &'a ParamIndex,
        persons: &'a [Field],
        departments: &'a [departments::Department],
    ) -> Builder<'a> {
        Builder { fields, field_index, enums, params, crits: None, decisions: &[], this: None, persons, departments }
    }

    /// Names for a condition that may read parameters and the date only (parameter formulas,
    /// run warnings); `no_fields` is an empty index.
    fn params_only(
        enums: &'a [EnumDef],
        params: &'a HashMap<String, (u16, Ty)>,
        no_fields: &'a HashMap<String, u16>,
    ) -> Builder<'a> {
        Builder {
            fields: &[],
            field_index: no_fields,
            enums,
            params,
            crits: None,
            decisions: &[],
            this: None,
            persons: &[],
            departments: &[],
        }
    }
}

impl Names for Builder<'_> {
    fn field(&self, name: &str) -> Option<Name> {
        let &i = self.field_index.get(name)?;
        Some(Name::Field(i, field_ty(&self.fields[i as usize])))
    }
    fn resolve(&self, name: &str) -> Option<Name> {
        if self.this != Some(name) {
            if let Some(&i) = self.crits.and_then(|c| c.get(name)) {
                return Some(Name::Crit(i));
            }
        }
        if let Some(&i) = self.field_index.get(name) {
            return Some(Name::Field(i, field_ty(&self.fields[i as usize])));
        }
        if let Some(&(i, t)) = self.params.get(name) {
            return Some(Name::Param(i, t));
        }
        let i = self.decisions.iter().position(|(n, _, _)| n == name)?;
        Some(Name::Decision(i as u16, self.decisions[i].1, self.decisions[i].2))
    }
    fn candidates(&self) -> Vec<String> {
        let mut v: Vec<String> = self.fields.iter().map(|f| f.key.clone()).collect();
        v.extend(self.params.keys().cloned());
        if let Some(c) = self.crits {
            v.extend(c.keys().cloned());
        }
        v.extend(self.decisions.iter().map(|d| d.0.clone()));
        v.sort();
        v
    }
    fn member(&self, name: &str) -> Option<(u16, Ty)> {
        let i = self.persons.iter().position(|f| f.key == name)?;
        Some((i as u16, field_ty(&self.persons[i])))
    }
    fn member_candidates(&self) -> Vec<String> {
        self.persons.iter().map(|f| f.key.clone()).collect()
    }
    fn list(&self, name: &str) -> Option<(u16, u16)> {
        let d = self.departments.iter().position(|d| d.key == name)?;
        Some((d as u16, self.departments[d].count_field))
    }
    fn member_list(&self, d: u16) -> Option<u16> {
        self.departments.get(d as usize)?.member_count.filter(|_| !self.persons.is_empty())
    }
    fn list_column(&self, d: u16, name: &str) -> Option<(u16, Ty)> {
        let cols = &self.departments.get(d as usize)?.columns;
        let i = cols.iter().position(|c| c.key == name)?;
        let ty = match cols[i].ty {
            FieldType::Int => Ty::Int,
            FieldType::Money => Ty::Money,
            FieldType::Month => Ty::Month,
            _ => Ty::Text,
        };
        Some((i as u16, ty))
    }
    fn list_columns(&self, d: u16) -> Vec<String> {
        self.departments.get(d as usize).map(|d| d.columns.iter().map(|c| c.key.clone()).collect()).unwrap_or_default()
    }
    fn enum_values(&self, e: u16) -> &[String] {
        &self.enums[e as usize].values
    }
    fn enum_alias(&self, e: u16, s: &str) -> Option<u16> {
        let def = &self.enums[e as usize];
        def.values.iter().position(|v| v == s).map(|i| i as u16).or_else(|| def.aliases.get(s).copied())
    }
}

pub fn field_ty(f: &Field) -> Ty {
    match f.ty {
        FieldType::Text | FieldType::Id => Ty::Text,
        FieldType::Int => Ty::Int,
        FieldType::Money => Ty::Money,
        FieldType::Bool => Ty::Bool,
        FieldType::Month => Ty::Month,
        FieldType::Enum => Ty::Enum(f.enum_id.expect("enum fields have an enum id")),
    }
}

fn param_ty(t: ParamType) -> Ty {
    match t {
        ParamType::Money => Ty::Money,
        ParamType::Int => Ty::Int,
        ParamType::Decimal => Ty::Decimal,
    }
}

fn parse_param_value(t: ParamType, s: &str) -> Option<Num> {
    let n = Num::parse_decimal(s.trim())?;
    match t {
        ParamType::Money => (n.round_fen() == n).then_some(n),
        ParamType::Int => n.as_int().map(|_| n),
        ParamType::Decimal => Some(n),
    }
}

/// Every header, alias and key names one field only (compared as headers are matched: full-width
/// and half-width alike, spaces ignored): a column must never be taken by whichever field comes
/// first.
fn check_headers(fields: &[Field]) -> Result<(), RuleError> {
    let mut claimed: HashMap<String, (usize, &str)> = HashMap::new();
    for (i, f) in fields.iter().enumerate() {
        for h in std::iter::once(&f.header).chain(&f.aliases).chain(std::iter::once(&f.key)) {
            let k = crate::value::cell::header_key(h);
            if k.is_empty() {
                continue;
            }
            match claimed.get(&k) {
                Some(&(j, first)) if j != i => {
                    return Err(RuleError::Rule {
                        rule: "fields".into(),
                        message: format!(
                            "字段 `{}` 的表头或别名“{h}”与字段 `{}` 的“{first}”相同（不计全角半角与空格）：同一表头只能对应一个字段，请删除或修改其中一个",
                            f.key, fields[j].key
                        ),
                    })
                }
                Some(_) => {}
                None => {
                    claimed.insert(k, (i, h));
                }
            }
        }
    }
    Ok(())
}

/// A compile error of one item (`what`) as a rule error.
fn at(what: String) -> impl Fn(expr::CompileError) -> RuleError {
    move |e: expr::CompileError| RuleError::Rule { rule: what.clone(), message: e.0 }
}

fn compile(file: RuleFile, origin: Vec<String>) -> Result<RuleSet, RuleError> {
    let mut enums: Vec<EnumDef> = Vec::new();
    let (mut fields, mut field_index) = compile_fields(&file, &mut enums)?;
    let (mut persons, person_derived) = compile_persons(&file, &mut enums)?;
    let (departments, matching) = departments::compile(&file, &mut fields, &mut field_index, &mut persons)?;
    let (params, param_index) = compile_params(&file, &field_index, &enums)?;
    let param_order = parameter_order(&params)?;
    compile_derivations(&file, &mut fields, &field_index, &enums, &persons)?;
    let member_facts = compile_from_members(&file, &mut fields, &field_index, &enums, &param_index, &persons)?;
    let names = Builder::of((&fields, &field_index), &enums, &param_index, &persons, &departments);
    let (criteria, crit_index) = compile_criteria(&file, names)?;
    let crit_order = topo_order(&criteria)?;
    let (decisions, seen) = compile_decisions(
        &file,
        &fields,
        &field_index,
        &mut enums,
        &param_index,
        &crit_index,
        (&persons, &departments),
    )?;
    let names = Builder {
        crits: Some(&crit_index),
        decisions: &seen,
        ..Builder::of((&fields, &field_index), &enums, &param_index, &persons, &departments)
    };
    let returned = compile_flag(&file, names, &decisions)?;
    let checks = compile_checks(&file, names)?;
    let reconcile = reconcile::compile(&file, names, &departments)?;
    let report = report::compile(&file, &Builder { departments: &[], ..names }, &fields, &field_index, &decisions)?;
    let warnings = compile_warnings(&file, &enums, &param_index)?;
    let lists =
        lists::compile(&file, &Builder { persons: &[], departments: &[], ..names }, &fields, &decisions, &criteria)?;
    let notice = notice::compile(&file, &fields, &field_index, &lists)?;
    let (member_derived_fields, derived_fields): (Vec<u16>, Vec<u16>) = derivation_order(&fields)?
        .into_iter()
        .partition(|&i| fields[i as usize].derive.as_ref().is_some_and(expr::reads_members));
    let (periods, terms) = periods::compile(&file.periods, &file.terms)
        .map_err(|message| RuleError::Rule { rule: "periods".into(), message })?;
    let (members_used, person_used) =
        persons_used(&persons, &fields, &criteria, &decisions, returned.as_ref(), &checks);
    let plan = Plan::new(&criteria, &crit_order, &decisions, returned.as_ref(), &checks);
    let layout = layout::build(&decisions, &file.decisions.0, file.flags.returned.as_ref())
        .map_err(|message| RuleError::Rule { rule: "decisions".into(), message })?;
    Ok(RuleSet {
        layout: std::sync::Arc::new(layout),
        id: file.ruleset.id,
        name: file.ruleset.name,
        description: file.ruleset.description,
        origin,
        hash: String::new(),
        ranged_fields: ranged(&fields),
        fields,
        field_index,
        persons,
        person_derived,
        person_used,
        members_used,
        member_facts,
        departments: read_columns(departments, &criteria, &decisions, returned.as_ref(), &checks, &reconcile),
        matching,
        enums,
        params,
        criteria,
        crit_order,
        decisions,
        returned,
        checks,
        warnings,
        periods,
        terms,
        sources: file.sources.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        lists,
        report,
        notice,
        reconcile,
        plan,
        derived_fields,
        member_derived_fields,
        param_order,
    })
}

/// The department lists, each noting the columns some condition or reconcile rule reads.
fn read_columns(
    departments: Vec<departments::Department>,
    criteria: &[Criterion],
    decisions: &[Decision],
    returned: Option<&Flag>,
    checks: &[Check],
    reconcile: &[reconcile::Rule],
) -> Vec<departments::Department> {
    let rules = reconcile.iter().map(|r| &r.when);
    departments::marked(departments, conditions(criteria, decisions, returned, checks).chain(rules))
}

/// Every condition of these criteria, decisions, flag and checks.
fn conditions<'a>(
    criteria: &'a [Criterion],
    decisions: &'a [Decision],
    returned: Option<&'a Flag>,
    checks: &'a [Check],
) -> impl Iterator<Item = &'a Node> {
    criteria
        .iter()
        .flat_map(|c| test_nodes(&c.test))
        .chain(decisions.iter().flat_map(|d| d.rules.iter().map(|r| &r.0)))
        .chain(returned.map(|f| &f.when))
        .chain(checks.iter().map(|c| &c.when))
}

/// The fields with a `min` or a `max`, by index.
fn ranged(fields: &[Field]) -> Ranges {
    let all: Vec<(u16, Option<(Num, Num)>)> = (0..fields.len() as u16)
        .filter(|&i| fields[i as usize].min.is_some() || fields[i as usize].max.is_some())
        .map(|i| (i, fixed_range(&fields[i as usize])))
        .collect();
    let by_field = all.iter().filter(|r| r.1.is_none()).copied().collect();
    Ranges { all, by_field }
}

/// The fields with a `min` or `max` ([`RuleSet::ranged_fields`]).
#[derive(Debug, Clone, Default)]
struct Ranges {
    /// Each, in field order, with its bounds when neither is another field's value.
    all: Vec<(u16, Option<(Num, Num)>)>,
    /// Those bounded by another field's value (no fixed bounds), in field order: all that
    /// [`RuleSet::finish_row_as`] visits when the fixed bounds were checked already, without
    /// passing over the others for every household.
    by_field: Vec<(u16, Option<(Num, Num)>)>,
}

/// A field's `min` and `max` as numbers, when neither is another field's value: a value from
/// the one to the other (both included) is in range. No bound, or one too large for a `Num` (which
/// [`RuleSet::finish_row`] does not check), is the smallest or largest `Num`.
fn fixed_range(f: &Field) -> Option<(Num, Num)> {
    let bound = |b: Option<RangeBound>, none: i64| match b {
        None => Some(Num(none)),
        Some(RangeBound::Num(n)) => Some(Num::from_int(n).unwrap_or(Num(none))),
        Some(RangeBound::Field(_)) => None,
    };
    Some((bound(f.min, i64::MIN)?, bound(f.max, i64::MAX)?))
}

/// An evaluated value as a cell's value of field `f` (money to the fen); `None` for unknown or a
/// day (no field holds one).
fn scalar_of(f: &Field, v: Option<expr::V>) -> Option<Scalar> {
    Some(match v? {
        expr::V::Num(n) => Scalar::Num(if f.ty == FieldType::Money { n.round_fen() } else { n }),
        expr::V::Bool(b) => Scalar::Bool(b),
        expr::V::Enum(e) => Scalar::Enum(e),
        expr::V::Month(m) => Scalar::Month(m),
        expr::V::Str(t) => Scalar::Text(t.clone()),
        expr::V::Date(_) => return None,
    })
}

/// The household fields: declared (ids first, so that ranges may name other fields), then their
/// ranges, blank values, sources, actions and totals.
fn compile_fields(file: &RuleFile, enums: &mut Vec<EnumDef>) -> Result<(Vec<Field>, HashMap<String, u16>), RuleError> {
    let mut fields: Vec<Field> = Vec::new();
    let mut field_index = HashMap::new();
    if !file.fields.contains_key("household_id") {
        return Err(RuleError::Rule {
            rule: "fields".into(),
            message: "规则集必须声明字段 `household_id`（户编号）".into(),
        });
    }
    for (key, def) in &file.fields {
        check_ident(key, "字段")?;
        if def.marker {
            return Err(RuleError::Rule {
                rule: format!("字段 `{key}`"),
                message: "`marker` 只用于成员字段（[persons.*]）：其列标明人员表".into(),
            });
        }
        let enum_id = enum_of(def, &format!("字段 `{key}`"), enums)?;
        field_index.insert(key.clone(), fields.len() as u16);
        fields.push(Field { required: def.required, ..Field::declared(key, def, enum_id) });
    }
    check_headers(&fields)?;
    for (key, def) in &file.fields {
        let i = field_index[key] as usize;
        let min = range_bound(key, &def.min, &fields, &field_index)?;
        let max = range_bound(key, &def.max, &fields, &field_index)?;
        fields[i].min = min;
        fields[i].max = max;
        if (fields[i].min.is_some() || fields[i].max.is_some()) && !matches!(def.ty, FieldType::Int | FieldType::Money)
        {
            return Err(RuleError::Rule {
                rule: format!("字段 `{key}`"),
                message: "`min`/`max` 只用于整数和金额字段".into(),
            });
        }
        if let Some(b) = &def.blank {
            let v = parse_scalar(&fields[i], enums, b).map_err(|m| RuleError::Rule {
                rule: format!("字段 `{key}`"),
                message: format!("blank = \"{b}\" 不是有效的 {} 值：{m}", def.ty.name()),
            })?;
            fields[i].blank = Some(v);
        }
        compile_sources(key, def, i, &mut fields, enums)?;
        fields[i].action = action::compile_action(key, def, &fields[i], enums)?;
    }
    for (key, def) in &file.fields {
        let total = action::compile_total(key, def.total.as_ref(), &fields, &field_index)?;
        let i = field_index[key] as usize;
        fields[i].total = total;
        fields[i].action_text = action::compile_action_text(key, def.action_text.as_deref(), &fields[i])?;
    }
    check_alternative_headers(&fields)?;
    Ok((fields, field_index))
}

/// A field's `min` or `max`: a number, or an integer field.
fn range_bound(
    key: &str,
    b: &Option<file::Bound>,
    fields: &[Field],
    field_index: &HashMap<String, u16>,
) -> Result<Option<RangeBound>, RuleError> {
    Ok(match b {
        None => None,
        Some(file::Bound::Number(n)) => Some(RangeBound::Num(*n)),
        Some(file::Bound::Field(name)) => match field_index.get(name) {
            Some(&j) if fields[j as usize].ty == FieldType::Int => Some(RangeBound::Field(j)),
            _ => {
                let keys: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
                return Err(RuleError::Rule {
                    rule: format!("字段 `{key}`"),
                    message: format!("范围界限 `{name}` 不是整数字段{}", expr::did_you_mean(name, &keys)),
                });
            }
        },
    })
}

/// The parameters with their dated values; formulas over other parameters are compiled once
/// every name is known.
fn compile_params(
    file: &RuleFile,
    field_index: &HashMap<String, u16>,
    enums: &[EnumDef],
) -> Result<(Vec<Param>, ParamIndex), RuleError> {
    let mut params = Vec::new();
    let mut param_index = HashMap::new();
    for (key, def) in &file.parameters {
        check_ident(key, "参数")?;
        if field_index.contains_key(key) {
            return Err(RuleError::Rule {
                rule: format!("参数 `{key}`"), message: "已有同名字段，请改名".into()
            });
        }
        let mut values = def.values.iter().map(|v| param_value(key, def.ty, v)).collect::<Result<Vec<_>, _>>()?;
        values.sort_by_key(|v| v.from);
        if values.windows(2).any(|w| w[0].from == w[1].from) {
            return Err(RuleError::Rule {
                rule: format!("参数 `{key}`"),
                message: "有两个取值从同一日期起施行".into(),
            });
        }
        if values.is_empty() {
            return Err(RuleError::Rule {
                rule: format!("参数 `{key}`"), message: "没有取值（values 为空）".into()
            });
        }
        param_index.insert(key.clone(), (params.len() as u16, param_ty(def.ty)));
        params.push(Param {
            key: key.clone(),
            label: def.label.clone(),
            ty: def.ty,
            unit: def.unit.clone(),
            description: def.description.clone(),
            values,
        });
    }
    // Parameters computed from parameters: compiled now that every name is known, in an order
    // where each comes after those it reads.
    let no_fields = HashMap::new();
    for p in params.iter_mut() {
        for v in p.values.iter_mut() {
            let Some((_, src)) = v.formula.clone() else { continue };
            let names = Builder::params_only(enums, &param_index, &no_fields);
            let what = format!("参数 `{}`", p.key);
            let node = expr::compile(&src, &names, param_ty(p.ty)).map_err(at(what))?;
            v.formula = Some((node, src));
        }
    }
    Ok((params, param_index))
}

/// One dated value of parameter `key`: a number, or a formula (compiled later).
fn param_value(key: &str, ty: ParamType, v: &file::ParamValue) -> Result<ParamValue, RuleError> {
    let from = match &v.from {
        file::From::Year(y) => Date { year: *y, month: 1, day: 1 },
        file::From::Date(s) => Date::parse(s).ok_or_else(|| RuleError::Rule {
            rule: format!("参数 `{key}`"),
            message: format!("from = \"{s}\" 应为年份或日期（YYYY-MM-DD）"),
        })?,
    };
    // The years an assessment date can have (`--year`); a far larger one overflowed the
    // month arithmetic of every assessment (found reading the fuzz target `rules`).
    if !(1900..=2200).contains(&from.year) {
        return Err(RuleError::Rule {
            rule: format!("参数 `{key}`"),
            message: format!("from = {}：年份须在 1900 至 2200 之间", from.year),
        });
    }
    // A number, or a formula over other parameters (compiled below, once all are known).
    let (value, formula) = match parse_param_value(ty, &v.value) {
        Some(n) => (n, None),
        None if v.value.chars().any(|c| c.is_ascii_alphabetic()) => {
            (Num::from_int(0).expect("0"), Some((Node::Lit(expr::Lit::Bool(false)), v.value.clone())))
        }
        None => {
            return Err(RuleError::Rule {
                rule: format!("参数 `{key}`"),
                message: format!(
                    "value \"{}\" 不是有效的{}（金额最多两位小数，整数不能有小数），也不是由其他参数计算的公式",
                    v.value,
                    param_ty(ty).name()
                ),
            })
        }
    };
    Ok(ParamValue { from, value, formula, source: v.source.clone(), note: v.note.clone() })
}

/// Derivations: over fields only (they run while reading, before a date is known).
fn compile_derivations(
    file: &RuleFile,
    fields: &mut [Field],
    field_index: &HashMap<String, u16>,
    enums: &[EnumDef],
    persons: &[Field],
) -> Result<(), RuleError> {
    let no_params = HashMap::new();
    for (key, def) in &file.fields {
        if let Some(src) = &def.derive {
            let i = field_index[key] as usize;
            let names = Builder {
                fields,
                field_index,
                enums,
                params: &no_params,
                crits: None,
                decisions: &[],
                this: None,
                persons,
                departments: &[],
            };
            let node =
                expr::compile(src, &names, field_ty(&fields[i])).map_err(at(format!("字段 `{key}` (derive)")))?;
            if expr::refs(&node).fields.contains(&(i as u16)) {
                return Err(RuleError::Rule {
                    rule: format!("字段 `{key}` (derive)"),
                    message: "字段不能由自己派生".into(),
                });
            }
            fields[i].derive = Some(node);
        }
    }
    Ok(())
}

/// The household fields computed from the members (`from_members`): each a CEL expression of the
/// field's type over the member list (it must fold over it: `members.filter(m, …).size()`,
/// `first(…)`), which may also read parameters and other household fields. A field has either
/// `derive` or `from_members`. Their indexes, in rule-file order.
fn compile_from_members(
    file: &RuleFile,
    fields: &mut [Field],
    field_index: &HashMap<String, u16>,
    enums: &[EnumDef],
    params: &ParamIndex,
    persons: &[Field],
) -> Result<Vec<u16>, RuleError> {
    let mut out = Vec::new();
    for (key, def) in &file.fields {
        let Some(src) = &def.from_members else { continue };
        let i = field_index[key] as usize;
        let what = format!("字段 `{key}` (from_members)");
        let fail = |message: &str| RuleError::Rule { rule: what.clone(), message: message.to_string() };
        if def.derive.is_some() {
            return Err(fail("derive 与 from_members 只能给一个"));
        }
        let names = Builder {
            fields,
            field_index,
            enums,
            params,
            crits: None,
            decisions: &[],
            this: None,
            persons,
            departments: &[],
        };
        let node = expr::compile(src, &names, field_ty(&fields[i])).map_err(at(what.clone()))?;
        if !expr::reads_members(&node) {
            return Err(fail(
                "from_members 应对成员列表求值，如 members.filter(m, m.health == '残疾').size()；只读户字段的请用 derive",
            ));
        }
        if expr::refs(&node).fields.contains(&(i as u16)) {
            return Err(fail("字段不能由自己推算"));
        }
        fields[i].from_members = Some(node);
        out.push(i as u16);
    }
    Ok(out)
}

/// The criteria, each over fields, parameters and other criteria (`names` gives the first two).
fn compile_criteria(file: &RuleFile, names: Builder) -> Result<(Vec<Criterion>, HashMap<String, u16>), RuleError> {
    let mut crit_index = HashMap::new();
    for (i, key) in file.criteria.keys().enumerate() {
        check_ident(key, "判定标准")?;
        if names.params.contains_key(key) {
            return Err(RuleError::Rule {
                rule: format!("判定标准 `{key}`"), message: "已有同名参数，请改名".into()
            });
        }
        crit_index.insert(key.clone(), i as u16);
    }
    let mut criteria = Vec::new();
    for (key, def) in &file.criteria {
        let names = Builder { crits: Some(&crit_index), this: Some(key), ..names };
        let what = format!("判定标准 `{key}`");
        let (test, text) = match (&def.condition, &def.met, &def.unmet) {
            (Some(c), None, None) => {
                (Test::Condition(expr::compile(c, &names, Ty::Bool).map_err(at(what.clone()))?), c.clone())
            }
            (None, Some(m), Some(u)) => (
                Test::MetUnmet(
                    expr::compile(m, &names, Ty::Bool).map_err(at(format!("{what} (met)")))?,
                    expr::compile(u, &names, Ty::Bool).map_err(at(format!("{what} (unmet)")))?,
                ),
                format!("met: {m}; unmet: {u}"),
            ),
            _ => {
                return Err(RuleError::Rule {
                    rule: what,
                    message: "请给出 `condition`，或同时给出 `met` 和 `unmet`".into(),
                })
            }
        };
        criteria.push(Criterion {
            id: key.clone(),
            label: def.label.clone(),
            group: def.group.clone(),
            source: def.source.clone(),
            test,
            text,
            wording: def.text.clone(),
            kind: def.kind,
        });
    }
    Ok((criteria, crit_index))
}

/// The `returned` flag (`[flags.returned]`), if the rule file has one.
fn compile_flag(file: &RuleFile, names: Builder, decisions: &[Decision]) -> Result<Option<Flag>, RuleError> {
    let Some(f) = &file.flags.returned else { return Ok(None) };
    let when = expr::compile(&f.when, &names, Ty::Bool).map_err(at("标志 `returned`".into()))?;
    let with = match &f.with {
        None => None,
        Some(w) => Some(decision_named(decisions, w, "标记 `returned` 的 with", None)?),
    };
    Ok(Some(Flag { label: f.label.clone(), with, when, text: f.when.clone(), source: f.source.clone() }))
}

/// The data-quality checks (`[checks.*]`).
fn compile_checks(file: &RuleFile, names: Builder) -> Result<Vec<Check>, RuleError> {
    let mut checks = Vec::new();
    for (key, def) in &file.checks {
        check_ident(key, "数据核查")?;
        let what = format!("数据核查 `{key}`");
        let when = expr::compile(&def.when, &names, Ty::Bool).map_err(at(what.clone()))?;
        let message = message_pieces(&def.message, names.field_index, names.params, &file.terms, names.persons)
            .map_err(|m| RuleError::Rule { rule: format!("{what} (message)"), message: m })?;
        if def.label.trim().is_empty() {
            return Err(RuleError::Rule { rule: what, message: "label 不能为空".into() });
        }
        checks.push(Check {
            id: key.clone(),
            label: def.label.clone(),
            severity: def.severity,
            when,
            text: def.when.clone(),
            message,
            source: def.source.clone(),
        });
    }
    Ok(checks)
}

/// The run warnings (`[warnings.*]`): conditions over parameters only.
fn compile_warnings(
    file: &RuleFile,
    enums: &[EnumDef],
    param_index: &HashMap<String, (u16, Ty)>,
) -> Result<Vec<RunWarning>, RuleError> {
    let mut warnings = Vec::new();
    for (key, def) in &file.warnings {
        check_ident(key, "运行警告")?;
        let what = format!("运行警告 `{key}`");
        let no_fields = HashMap::new();
        let names = Builder::params_only(enums, param_index, &no_fields);
        let when = expr::compile(&def.when, &names, Ty::Bool).map_err(at(what.clone()))?;
        let message = message_pieces(&def.message, &no_fields, param_index, &file.terms, &[])
            .map_err(|m| RuleError::Rule { rule: format!("{what} (message)"), message: m })?;
        warnings.push(RunWarning { id: key.clone(), when, message, source: def.source.clone() });
    }
    Ok(warnings)
}

/// Whether any condition (criteria, decisions, the flag, checks, household derivations) has a
/// member macro, and which member fields the rule set reads: in a condition or a check message,
/// and those their derivations read.
fn persons_used(
    persons: &[Field],
    fields: &[Field],
    criteria: &[Criterion],
    decisions: &[Decision],
    returned: Option<&Flag>,
    checks: &[Check],
) -> (bool, Vec<bool>) {
    let mut used = vec![false; persons.len()];
    let mut any = false;
    let mut mark = |n: &Node| {
        for i in expr::refs(n).members {
            used[i as usize] = true;
        }
        expr::walk(n, &mut |x| any |= matches!(x, Node::Members(..) | Node::Agg(..)));
    };
    criteria.iter().flat_map(|c| test_nodes(&c.test)).for_each(&mut mark);
    decisions.iter().flat_map(|d| d.rules.iter().map(|r| &r.0)).for_each(&mut mark);
    returned.into_iter().for_each(|f| mark(&f.when));
    fields.iter().filter_map(|f| f.derive.as_ref()).for_each(&mut mark);
    fields.iter().filter_map(|f| f.from_members.as_ref()).for_each(&mut mark);
    checks.iter().for_each(|c| mark(&c.when));
    for p in checks.iter().flat_map(|c| &c.message) {
        if let Piece::Member(i) = p {
            used[*i as usize] = true;
        }
    }
    // A derived member field needs the member fields it is computed from (fixed point: chains).
    loop {
        let mut changed = false;
        for (i, f) in persons.iter().enumerate() {
            if let (true, Some(d)) = (used[i], &f.derive) {
                for j in expr::refs(d).fields {
                    changed |= !std::mem::replace(&mut used[j as usize], true);
                }
            }
        }
        if !changed {
            return (any, used);
        }
    }
}

/// The member fields (`[persons.<key>]`): read from each row of a person export as a household
/// field is from a ledger row (type, header and aliases, values and value aliases, blank), or
/// derived from the member's other fields and the assessment date (`derive`, e.g.
/// `age_at(id_number, assessment_date)`).
fn compile_persons(file: &RuleFile, enums: &mut Vec<EnumDef>) -> Result<(Vec<Field>, Vec<u16>), RuleError> {
    let mut persons: Vec<Field> = Vec::new();
    let mut index = HashMap::new();
    for (key, def) in &file.persons {
        check_ident(key, "成员字段")?;
        let what = format!("成员字段 `{key}`");
        let unsupported = [
            ("min", def.min.is_some()),
            ("max", def.max.is_some()),
            ("required", def.required),
            ("from_members", def.from_members.is_some()),
            ("alternatives", !def.alternatives.is_empty()),
            ("action", def.action.is_some()),
            ("total", def.total.is_some()),
            ("action_text", def.action_text.is_some()),
        ];
        if let Some((k, _)) = unsupported.iter().find(|(_, given)| *given) {
            return Err(RuleError::Rule {
                rule: what,
                message: format!(
                    "成员字段不支持 `{k}`（可用：type、header、aliases、label、values、value_aliases、blank、absent、derive、marker）"
                ),
            });
        }
        let enum_id = enum_of(def, &what, enums)?;
        index.insert(key.clone(), persons.len() as u16);
        let mut f = Field::declared(key, def, enum_id);
        if let Some(b) = &def.blank {
            f.blank = Some(parse_scalar(&f, enums, b).map_err(|m| RuleError::Rule {
                rule: what.clone(),
                message: format!("blank = \"{b}\" 不是有效的 {} 值：{m}", def.ty.name()),
            })?);
        }
        // What a person export without the column stands for: read as every member's cell.
        if let Some(a) = def.absent.as_deref().filter(|a| !a.is_empty()) {
            parse_scalar(&f, enums, a).map_err(|m| RuleError::Rule {
                rule: what.clone(),
                message: format!("absent = \"{a}\" 不是有效的 {} 值：{m}", def.ty.name()),
            })?;
        }
        f.absent = def.absent.clone();
        f.marker = def.marker;
        persons.push(f);
    }
    check_headers(&persons).map_err(|e| match e {
        RuleError::Rule { message, .. } => RuleError::Rule { rule: "persons".into(), message },
        e => e,
    })?;
    let no_params = HashMap::new();
    for (key, def) in &file.persons {
        let Some(src) = &def.derive else { continue };
        let i = index[key] as usize;
        let names = Builder {
            fields: &persons,
            field_index: &index,
            enums,
            params: &no_params,
            crits: None,
            decisions: &[],
            this: None,
            persons: &[],
            departments: &[],
        };
        let what = format!("成员字段 `{key}` (derive)");
        let node = expr::compile(src, &names, field_ty(&persons[i]))
            .map_err(|e| RuleError::Rule { rule: what.clone(), message: e.0 })?;
        if expr::refs(&node).fields.contains(&(i as u16)) {
            return Err(RuleError::Rule { rule: what, message: "字段不能由自己派生".into() });
        }
        persons[i].derive = Some(node);
    }
    let derived = derivation_order(&persons)?;
    Ok((persons, derived))
}

impl Field {
    /// A field as its rule file names and types it; its range, blank value, derivation, sources
    /// and action are filled in afterwards (they may name other fields).
    fn declared(key: &str, def: &file::FieldDef, enum_id: Option<u16>) -> Field {
        Field::named(key, def.ty, def.header.clone(), def.aliases.clone(), def.label.clone(), enum_id)
    }

    /// A field by its key, type, headers and label, with nothing else set.
    pub(crate) fn named(
        key: &str,
        ty: FieldType,
        header: String,
        aliases: Vec<String>,
        label: String,
        enum_id: Option<u16>,
    ) -> Field {
        Field {
            key: key.to_string(),
            ty,
            header,
            aliases,
            label,
            enum_id,
            min: None,
            max: None,
            blank: None,
            required: false,
            derive: None,
            from_members: None,
            marker: false,
            absent: None,
            alternatives: Vec::new(),
            action: None,
            total: None,
            department: None,
            action_text: None,
        }
    }
}

/// The value list of an enum field (a household's or a member's), added to `enums`; none for
/// another type, which may not give `values` or `value_aliases`.
fn enum_of(def: &file::FieldDef, what: &str, enums: &mut Vec<EnumDef>) -> Result<Option<u16>, RuleError> {
    let err = |message: String| RuleError::Rule { rule: what.to_string(), message };
    if def.ty != FieldType::Enum {
        if !def.values.is_empty() || !def.value_aliases.is_empty() {
            return Err(err("`values` 和 `value_aliases` 只用于选项字段（type = \"enum\"）".into()));
        }
        return Ok(None);
    }
    if def.values.is_empty() {
        return Err(err("选项字段（type = \"enum\"）须给出 `values`".into()));
    }
    let mut aliases = HashMap::new();
    for (alias, target) in &def.value_aliases {
        let i = def.values.iter().position(|v| v == target).ok_or_else(|| {
            err(format!("取值别名 `{alias}` 指向 `{target}`，它不在 values（{}）之中", def.values.join(", ")))
        })?;
        aliases.insert(alias.clone(), i as u16);
    }
    enums.push(EnumDef { values: def.values.clone(), aliases });
    Ok(Some(enums.len() as u16 - 1))
}

/// A field's `absent` value and `alternatives`: every text it can stand for is a valid value of
/// the field (type-checked here, not per row).
fn compile_sources(
    key: &str,
    def: &file::FieldDef,
    i: usize,
    fields: &mut [Field],
    enums: &[EnumDef],
) -> Result<(), RuleError> {
    let rule = || format!("字段 `{key}`");
    if key == "household_id" && (def.absent.is_some() || !def.alternatives.is_empty()) {
        return Err(RuleError::Rule {
            rule: rule(),
            message: "户编号是唯一必需的列：不能有 absent 或 alternatives".into(),
        });
    }
    let valid = |text: &str, what: &str| -> Result<(), RuleError> {
        if text.is_empty() {
            return Ok(());
        }
        parse_scalar(&fields[i], enums, text).map(|_| ()).map_err(|m| RuleError::Rule {
            rule: rule(),
            message: format!("{what} = \"{text}\" 不是有效的 {} 值：{m}", def.ty.name()),
        })
    };
    if let Some(a) = &def.absent {
        valid(a, "absent")?;
    }
    let mut alternatives = Vec::new();
    for alt in &def.alternatives {
        let mut map: Vec<(String, String)> = Vec::new();
        for (from, to) in &alt.map {
            valid(to, &format!("alternatives（“{}”）的 map 中 \"{from}\"", alt.header))?;
            let from = cell::normalize(from).trim().to_string();
            if map.iter().any(|(f, _)| *f == from) {
                return Err(RuleError::Rule {
                    rule: rule(),
                    message: format!("alternatives（“{}”）的 map 中 \"{from}\" 出现两次", alt.header),
                });
            }
            map.push((from, to.clone()));
        }
        alternatives.push(Alternative { header: alt.header.clone(), aliases: alt.aliases.clone(), map });
    }
    fields[i].absent = def.absent.clone();
    fields[i].alternatives = alternatives;
    Ok(())
}

/// An alternative column must not be a column some field reads as its own: it would never be
/// free to be read as the alternative.
fn check_alternative_headers(fields: &[Field]) -> Result<(), RuleError> {
    use crate::value::cell::header_key;
    let own: HashMap<String, &str> = fields
        .iter()
        .flat_map(|f| {
            std::iter::once(&f.header)
                .chain(&f.aliases)
                .chain(std::iter::once(&f.key))
                .map(|h| (header_key(h), f.key.as_str()))
        })
        .collect();
    for f in fields {
        for a in &f.alternatives {
            for h in std::iter::once(&a.header).chain(&a.aliases) {
                if let Some(other) = own.get(&header_key(h)) {
                    return Err(RuleError::Rule {
                        rule: format!("字段 `{}`", f.key),
                        message: format!(
                            "alternatives 的表头“{h}”已是字段 `{other}` 自己的表头（或别名）；请改为别名，或删去其一"
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Items in an order where each comes after the items it reads (`(item, items it reads)`; reads of
/// items not listed are ignored). `Err` holds the items caught in a cycle.
fn dependency_order(mut left: Vec<(u16, Vec<u16>)>) -> Result<Vec<u16>, Vec<u16>> {
    let mut order = Vec::new();
    while !left.is_empty() {
        let before = left.len();
        let mut k = 0;
        while k < left.len() {
            if left[k].1.iter().any(|f| left.iter().any(|(g, _)| g == f)) {
                k += 1;
            } else {
                order.push(left.remove(k).0);
            }
        }
        if left.len() == before {
            return Err(left.into_iter().map(|(i, _)| i).collect());
        }
    }
    Ok(order)
}

/// The parameters in an order where each comes after the parameters its formulas read; a cycle
/// is a load error naming them.
fn parameter_order(params: &[Param]) -> Result<Vec<u16>, RuleError> {
    let reads = |p: &Param| -> Vec<u16> {
        p.values.iter().filter_map(|v| v.formula.as_ref()).flat_map(|(n, _)| expr::refs(n).params).collect()
    };
    dependency_order((0..params.len() as u16).map(|i| (i, reads(&params[i as usize]))).collect()).map_err(|cycle| {
        let names: Vec<&str> = cycle.iter().map(|&i| params[i as usize].key.as_str()).collect();
        RuleError::Rule {
            rule: format!("参数 `{}`", names[0]),
            message: format!("参数的公式互相依赖，无法计算：{}", names.join("、")),
        }
    })
}

/// The derived fields in an order where each comes after the derived fields it reads; a cycle is
/// a load error naming the fields in it.
fn derivation_order(fields: &[Field]) -> Result<Vec<u16>, RuleError> {
    let derived = (0..fields.len() as u16)
        .filter_map(|i| fields[i as usize].derive.as_ref().map(|d| (i, expr::refs(d).fields)))
        .collect();
    dependency_order(derived).map_err(|cycle| {
        let names: Vec<&str> = cycle.iter().map(|&i| fields[i as usize].key.as_str()).collect();
        RuleError::Rule {
            rule: format!("字段 `{}` (derive)", names[0]),
            message: format!("派生字段互相依赖，无法计算：{}", names.join("、")),
        }
    })
}

/// (key, enum id, undecided label) of each decision, as conditions name them.
type DecisionNames = Vec<(String, u16, u16)>;

/// The decisions, in rule-file order: each may read those before it (a reference to a later one
/// is an error naming both), and declares its labels. Returns them with the names
/// conditions after them may read.
fn compile_decisions(
    file: &RuleFile,
    fields: &[Field],
    field_index: &HashMap<String, u16>,
    enums: &mut Vec<EnumDef>,
    params: &HashMap<String, (u16, Ty)>,
    crits: &HashMap<String, u16>,
    (persons, departments): (&[Field], &[departments::Department]),
) -> Result<(Vec<Decision>, DecisionNames), RuleError> {
    let defs = &file.decisions.0;
    if defs.is_empty() {
        return Err(RuleError::Rule {
            rule: "decisions".into(),
            message: "规则集没有任何决策：请至少写一个 [decisions.<键>]".into(),
        });
    }
    // Every decision's name, enum and undecided label first: a condition naming a later decision
    // compiles, and is then refused with a message that says why.
    let mut all: DecisionNames = Vec::new();
    for (id, def) in defs {
        check_ident(id, "决策")?;
        let what = format!("决策 `{id}`");
        if field_index.contains_key(id) || params.contains_key(id) || crits.contains_key(id) {
            return Err(RuleError::Rule {
                rule: what,
                message: format!("决策 `{id}` 与同名的字段、参数或判定条件冲突：请给决策另取一个键"),
            });
        }
        let undecided = label_index(def, id, &def.undecided, "undecided")?;
        enums.push(EnumDef { values: def.labels.clone(), aliases: HashMap::new() });
        all.push((id.clone(), enums.len() as u16 - 1, undecided));
    }
    let mut decisions: Vec<Decision> = Vec::new();
    for (di, (id, def)) in defs.iter().enumerate() {
        let what = format!("决策 `{id}`");
        let names = Builder {
            fields,
            field_index,
            enums,
            params,
            crits: Some(crits),
            decisions: &all,
            this: None,
            persons,
            departments,
        };
        let rules = decision_rules(defs, di, &names)?;
        let mut factors = Vec::new();
        for f in &def.factors {
            let keys: Vec<String> = crits.keys().cloned().collect();
            factors.push(*crits.get(f).ok_or_else(|| RuleError::Rule {
                rule: what.clone(),
                message: format!("因素 `{f}` 不是判定标准（criteria）{}", expr::did_you_mean(f, &keys)),
            })?);
        }
        let opt = |l: &Option<String>, key: &str| l.as_ref().map(|l| label_index(def, id, l, key)).transpose();
        let with = match &def.with {
            None => None,
            Some(w) => Some(decision_named(&decisions, w, &format!("决策 `{id}` 的 with"), Some(id))?),
        };
        let mut highlight = Vec::new();
        for (l, h) in &def.highlight {
            highlight.push((label_index(def, id, l, "highlight")?, *h));
        }
        let goal = action::compile_goal(id, def, all[di].2, opt(&def.not_applicable, "not_applicable")?)?;
        decisions.push(Decision {
            id: id.clone(),
            label: def.label.clone(),
            labels: def.labels.clone(),
            enum_id: all[di].1,
            undecided: all[di].2,
            otherwise: label_index(def, id, &def.otherwise, "otherwise")?,
            factors,
            source: def.source.clone(),
            rules,
            not_applicable: opt(&def.not_applicable, "not_applicable")?,
            with,
            goal,
            factors_column: def.factors_column.clone(),
            short: def.short.clone().or_else(|| def.column.clone()),
            highlight,
        });
    }
    Ok((decisions, all))
}

/// The rules of decision `di`, compiled; a rule may read only the decisions before it.
fn decision_rules(
    defs: &[(String, file::DecisionDef)],
    di: usize,
    names: &Builder,
) -> Result<Vec<(Node, u16, RuleText)>, RuleError> {
    let (id, def) = (&defs[di].0, &defs[di].1);
    let what = format!("决策 `{id}`");
    let mut rules = Vec::new();
    for (k, r) in def.rules.iter().enumerate() {
        let rule = format!("{what} 第 {} 条", k + 1);
        let node = expr::compile(&r.when, names, Ty::Bool)
            .map_err(|e| RuleError::Rule { rule: rule.clone(), message: e.0 })?;
        if let Some(&later) = expr::refs(&node).decisions.iter().find(|&&j| j as usize >= di) {
            let other = &defs[later as usize].0;
            let message = if later as usize == di {
                format!("决策 `{id}` 的条件引用了它自己：决策只能引用在它之前判定的决策")
            } else {
                format!(
                    "决策 `{id}` 引用了其后的决策 `{other}`：决策按规则文件中的顺序判定，只能引用前面的决策；\
                     请把 [decisions.{other}] 移到 [decisions.{id}] 之前"
                )
            };
            return Err(RuleError::Rule { rule, message });
        }
        rules.push((
            node,
            label_index(def, id, &r.label, &format!("第 {} 条规则的 label", k + 1))?,
            RuleText { when: r.when.clone(), reason: r.reason.clone(), factors: r.factors },
        ));
    }
    Ok(rules)
}

/// The index of label `l` of a decision; `key` says where the rule file names it.
fn label_index(def: &file::DecisionDef, id: &str, l: &str, key: &str) -> Result<u16, RuleError> {
    def.labels.iter().position(|x| x == l).map(|i| i as u16).ok_or_else(|| {
        let shown: Vec<String> = def.labels.iter().map(|x| format!("“{x}”")).collect();
        let near = expr::did_you_mean(l, &def.labels);
        RuleError::Rule {
            rule: format!("决策 `{id}`"),
            message: format!(
                "决策 `{id}` 的 {key} “{l}” 不在它的 labels 中（{}）{near}：请改为其中之一，或把它加入 labels",
                shown.join("、")
            ),
        }
    })
}

/// The decision a `with` names: an earlier decision, itself shown on its own.
fn decision_named(decisions: &[Decision], name: &str, what: &str, this: Option<&str>) -> Result<u16, RuleError> {
    let rule = what.to_string();
    if this == Some(name) {
        return Err(RuleError::Rule {
            rule, message: format!("{what} 指向它自己：请写一个在它之前的决策")
        });
    }
    let Some(i) = decisions.iter().position(|d| d.id == name) else {
        let keys: Vec<String> = decisions.iter().map(|d| d.id.clone()).collect();
        return Err(RuleError::Rule {
            rule,
            message: format!(
                "{what} = \"{name}\" 不是在它之前的决策{}：只能随附于前面已声明的决策（{}）",
                expr::did_you_mean(name, &keys),
                keys.join("、")
            ),
        });
    };
    if let Some(p) = decisions[i].with {
        return Err(RuleError::Rule {
            rule,
            message: format!(
                "{what} = \"{name}\"，而 `{name}` 本身随附于 `{}`：请直接写 with = \"{}\"",
                decisions[p as usize].id, decisions[p as usize].id
            ),
        });
    }
    Ok(i as u16)
}

pub(crate) fn check_ident(key: &str, what: &str) -> Result<(), RuleError> {
    let ok = key.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(RuleError::Rule {
            rule: format!("{what} `{key}`"),
            message: "名称只能用小写英文字母、数字和 `_`（它们是条件中的名字），如 per_capita_income".into(),
        })
    }
}

fn test_nodes(t: &Test) -> Vec<&Node> {
    match t {
        Test::Condition(n) => vec![n],
        Test::MetUnmet(m, u) => vec![m, u],
    }
}

/// Criteria in an order where each comes after those it reads; a cycle is an error.
fn topo_order(criteria: &[Criterion]) -> Result<Vec<u16>, RuleError> {
    fn visit(
        i: usize,
        cs: &[Criterion],
        state: &mut [u8],
        path: &mut Vec<usize>,
        out: &mut Vec<u16>,
    ) -> Result<(), RuleError> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                let mut names: Vec<&str> = path[start..].iter().map(|&p| cs[p].id.as_str()).collect();
                names.push(&cs[i].id);
                return Err(RuleError::Rule {
                    rule: format!("判定标准 `{}`", cs[i].id),
                    message: format!("判定标准互相引用，形成循环：{}", names.join(" → ")),
                });
            }
            _ => {}
        }
        state[i] = 1;
        path.push(i);
        for n in test_nodes(&cs[i].test) {
            for d in expr::refs(n).crits {
                visit(d as usize, cs, state, path, out)?;
            }
        }
        path.pop();
        state[i] = 2;
        out.push(i as u16);
        Ok(())
    }
    let mut state = vec![0u8; criteria.len()];
    let mut out = Vec::new();
    for i in 0..criteria.len() {
        visit(i, criteria, &mut state, &mut Vec::new(), &mut out)?;
    }
    Ok(out)
}

/// Parse one cell's text as a value of the field's type.
pub fn parse_scalar(f: &Field, enums: &[EnumDef], text: &str) -> Result<Scalar, String> {
    Ok(match f.ty {
        FieldType::Text => Scalar::Text(cell::normalize(text).into()),
        FieldType::Id => Scalar::Text(cell::id_number(text)?.into()),
        FieldType::Int => Scalar::Num(Num::from_int(cell::int(text)?).ok_or("数值过大")?),
        FieldType::Money => Scalar::Num(cell::money(text)?),
        // The usual spellings first, as written (no normalising).
        FieldType::Bool => Scalar::Bool(match text {
            "是" => true,
            "否" => false,
            _ => cell::boolean(text)?,
        }),
        FieldType::Month => Scalar::Month(cell::month(text)?),
        FieldType::Enum => {
            let e = &enums[f.enum_id.expect("enum field") as usize];
            if let Some(i) = e.values.iter().position(|v| v == text) {
                return Ok(Scalar::Enum(i as u16));
            }
            let t = cell::normalize(text);
            let i =
                e.values.iter().position(|v| *v == t).map(|i| i as u16).or_else(|| e.aliases.get(t.as_ref()).copied());
            Scalar::Enum(i.ok_or_else(|| format!("应为以下之一：{}", e.values.join("、")))?)
        }
    })
}

impl RuleSet {
    /// Compile an expression against every name of this rule set (fields, parameters, criteria and
    /// all five decisions), as a condition of the rule file would be; `want` is its type.
    pub fn compile_expr(&self, src: &str, want: Ty) -> Result<Node, expr::CompileError> {
        let params: HashMap<String, (u16, Ty)> =
            self.params.iter().enumerate().map(|(i, p)| (p.key.clone(), (i as u16, param_ty(p.ty)))).collect();
        let crits: HashMap<String, u16> =
            self.criteria.iter().enumerate().map(|(i, c)| (c.id.clone(), i as u16)).collect();
        let decisions: Vec<(String, u16, u16)> =
            self.decisions.iter().map(|d| (d.id.clone(), d.enum_id, d.undecided)).collect();
        let names = Builder {
            fields: &self.fields,
            field_index: &self.field_index,
            enums: &self.enums,
            params: &params,
            crits: Some(&crits),
            decisions: &decisions,
            this: None,
            persons: &self.persons,
            departments: &self.departments,
        };
        expr::compile(src, &names, want)
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.field_index.get(key).map(|&i| &self.fields[i as usize])
    }

    /// The index of decision `id`.
    pub fn decision_index(&self, id: &str) -> Option<usize> {
        self.decisions.iter().position(|d| d.id == id)
    }

    pub fn needed_fields(&self) -> Vec<(u16, String)> {
        let mut out: Vec<(u16, String)> = Vec::new();
        let mut add = |node: &Node, who: String| {
            for f in expr::refs(node).fields {
                if !out.iter().any(|(g, _)| *g == f) {
                    out.push((f, who.clone()));
                }
            }
        };
        for c in &self.criteria {
            for n in test_nodes(&c.test) {
                add(n, format!("判定标准 `{}`", c.id));
            }
        }
        for d in &self.decisions {
            for (k, (n, _, _)) in d.rules.iter().enumerate() {
                add(n, format!("决策 `{}` 第 {} 条", d.id, k + 1));
            }
        }
        if let Some(f) = &self.returned {
            add(&f.when, "标志 `returned`".into());
        }
        out
    }

    /// Per department list: whether some criterion, decision, flag or check reads its evidence
    /// (household or member fields).
    pub fn departments_read(&self) -> Vec<bool> {
        let mut read = vec![false; self.departments.len()];
        let mut mark = |n: &Node| {
            let r = expr::refs(n);
            for f in r.fields {
                if let Some(d) = self.fields[f as usize].department {
                    read[d as usize] = true;
                }
            }
            for i in r.members {
                if let Some(d) = self.persons[i as usize].department {
                    read[d as usize] = true;
                }
            }
        };
        self.conditions().for_each(&mut mark);
        read
    }

    /// Every condition of the criteria, decisions, the flag and the checks.
    fn conditions(&self) -> impl Iterator<Item = &Node> {
        conditions(&self.criteria, &self.decisions, self.returned.as_ref(), &self.checks)
    }

    /// Parse one cell into the household (a problem is recorded for an invalid cell).
    #[inline]
    pub fn set_cell(&self, hh: &mut Household, field: u16, text: &str, column: &str) {
        let f = &self.fields[field as usize];
        let slot = &mut hh.cells[field as usize];
        // The usual cells are written in place (no value built on the stack and moved), here,
        // inlined into the caller's loop; the rest in `set_cell_general`.
        if text.is_empty() {
            match &f.blank {
                Some(Scalar::Num(n)) => *slot = Cell::BlankAs(Scalar::Num(*n)),
                Some(Scalar::Bool(b)) => *slot = Cell::BlankAs(Scalar::Bool(*b)),
                // The same text as the household before's blank (kept between rows).
                Some(Scalar::Text(t)) if matches!(slot, Cell::BlankAs(Scalar::Text(old)) if old == t) => {}
                None if !f.required => *slot = Cell::Blank,
                _ => return self.set_cell_general(hh, field, text, column),
            }
            return;
        }
        match f.ty {
            // Exactly the text the household before had in this column (是, a measure name).
            FieldType::Text if matches!(slot, Cell::Value(Scalar::Text(old)) if **old == *text) => {}
            FieldType::Bool if text == "是" || text == "否" => *slot = Cell::Value(Scalar::Bool(text == "是")),
            FieldType::Money | FieldType::Int => match cell::plain_number(text, f.ty == FieldType::Money) {
                Some(n) => *slot = Cell::Value(Scalar::Num(n)),
                None => self.set_cell_general(hh, field, text, column),
            },
            _ => self.set_cell_general(hh, field, text, column),
        }
    }

    /// The cell an empty cell of `field`'s column sets, where setting it reports nothing (what
    /// [`RuleSet::set_cell`] does with `""`): the rule file's `blank` value, or unknown for a field
    /// that is not required. `None` for a required field without `blank` (a problem each time).
    pub fn blank_cell(&self, field: u16) -> Option<Cell> {
        let f = &self.fields[field as usize];
        match &f.blank {
            Some(v) => Some(Cell::BlankAs(v.clone())),
            None if !f.required => Some(Cell::Blank),
            None => None,
        }
    }

    /// Parse one cell of a field's alternative column `alt` into the household: the cell's text
    /// translated by the alternative's map (a text the map does not know is a problem).
    pub fn set_alt_cell(&self, hh: &mut Household, field: u16, alt: u16, text: &str, column: &str) {
        let f = &self.fields[field as usize];
        let a = &f.alternatives[alt as usize];
        if a.map.is_empty() {
            return self.set_cell(hh, field, text, column);
        }
        let t = cell::normalize(text);
        match a.map.iter().find(|(k, _)| *k == t.trim()) {
            Some((_, to)) => self.set_cell(hh, field, to, column),
            None if cell::is_blank(text) => self.set_cell(hh, field, "", column),
            None => {
                let shown = cell::clip(text, 100);
                let keys: Vec<&str> = a.map.iter().map(|(k, _)| k.as_str()).filter(|k| !k.is_empty()).collect();
                hh.cells[field as usize] = Cell::Invalid(shown.as_str().into());
                hh.problems.push(Problem {
                    row: hh.row,
                    column: column.to_string(),
                    field: Some(f.key.clone()),
                    value: shown,
                    message: format!("应为以下之一：{}", keys.join("、")),
                });
            }
        }
    }

    /// The criteria and decisions (and the flag) that read a field, directly, through a field
    /// derived from it, through criteria or through earlier decisions: what an absent column can
    /// leave undecided. Their labels, in rule-file order.
    pub fn dependents(&self, field: u16) -> (Vec<&str>, Vec<&str>) {
        let mut fields = vec![field];
        fields.extend(self.derived_fields.iter().copied().filter(|&g| {
            self.fields[g as usize].derive.as_ref().is_some_and(|d| expr::refs(d).fields.contains(&field))
        }));
        let (crits, decs, _) = self.readers(&|x| matches!(x, Node::Field(i) | Node::Blank(i) if fields.contains(i)));
        (crits, decs)
    }

    /// As [`RuleSet::dependents`] for member field `i` (`[persons.*]`), with the checks that read
    /// it: what an absent person column leaves unknown. A member field derived from it counts.
    pub fn member_dependents(&self, i: u16) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
        let mut members = vec![i];
        loop {
            let more: Vec<u16> = (0..self.persons.len() as u16)
                .filter(|j| !members.contains(j))
                .filter(|&j| {
                    let d = self.persons[j as usize].derive.as_ref();
                    d.is_some_and(|d| expr::refs(d).fields.iter().any(|k| members.contains(k)))
                })
                .collect();
            if more.is_empty() {
                break;
            }
            members.extend(more);
        }
        self.readers(&|x| matches!(x, Node::Member(j) | Node::MemberBlank(j) if members.contains(j)))
    }

    /// The labels of the criteria, the decisions (and the flag) and the checks with a condition in
    /// which `hit` holds of a node, or that read such a criterion or decision.
    fn readers(&self, hit: &dyn Fn(&Node) -> bool) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
        let mut crit = vec![false; self.criteria.len()];
        let mut dec = vec![false; self.decisions.len()];
        let reads = |n: &Node, crit: &[bool], dec: &[bool]| {
            let mut any = false;
            expr::walk(n, &mut |x| {
                any |= hit(x)
                    || match x {
                        Node::Crit(i) => crit[*i as usize],
                        Node::Decision(i, _) => dec[*i as usize],
                        _ => false,
                    }
            });
            any
        };
        for &c in &self.crit_order {
            crit[c as usize] = test_nodes(&self.criteria[c as usize].test).iter().any(|n| reads(n, &crit, &dec));
        }
        for (k, d) in self.decisions.iter().enumerate() {
            dec[k] = d.rules.iter().any(|r| reads(&r.0, &crit, &dec));
        }
        let crits = self.criteria.iter().zip(&crit).filter(|(_, &x)| x).map(|(c, _)| c.label.as_str()).collect();
        let mut decs: Vec<&str> =
            self.decisions.iter().zip(&dec).filter(|(_, &x)| x).map(|(d, _)| d.label.as_str()).collect();
        if let Some(f) = self.returned.as_ref().filter(|f| reads(&f.when, &crit, &dec)) {
            decs.push(&f.label);
        }
        let checks = self.checks.iter().filter(|c| reads(&c.when, &crit, &dec)).map(|c| c.label.as_str()).collect();
        (crits, decs, checks)
    }

    #[inline(never)]
    fn set_cell_general(&self, hh: &mut Household, field: u16, text: &str, column: &str) {
        let f = &self.fields[field as usize];
        let slot = &mut hh.cells[field as usize];
        // (Bool 是/否 and plain numbers were tried by `set_cell`.)
        match f.ty {
            FieldType::Enum if !text.is_empty() => {
                let e = &self.enums[f.enum_id.expect("enum field") as usize];
                if let Some(i) = e.values.iter().position(|v| v == text) {
                    *slot = Cell::Value(Scalar::Enum(i as u16));
                    return;
                }
            }
            FieldType::Text if !cell::is_blank(text) => {
                // The same text as the household before in this column (是, a measure name):
                // kept, not allocated again.
                let t = cell::normalize(text);
                match slot {
                    Cell::Value(Scalar::Text(old)) if **old == *t => {}
                    // A text of the same length (an id, a name of as many characters) is written
                    // into the one before's allocation.
                    Cell::Value(Scalar::Text(old)) if old.len() == t.len() => {
                        let mut s = String::from(std::mem::take(old));
                        s.clear();
                        s.push_str(&t);
                        *old = s.into_boxed_str();
                    }
                    _ => *slot = Cell::Value(Scalar::Text(t.into())),
                }
                return;
            }
            _ => {}
        }
        if text.is_empty() || cell::is_blank(text) {
            match &f.blank {
                // Built in place, as above (the copyable kinds without a clone through the stack).
                // A blank standing for the same text as the household before's: kept.
                Some(Scalar::Text(t)) if matches!(slot, Cell::BlankAs(Scalar::Text(old)) if old == t) => {}
                Some(v) => {
                    *slot = Cell::BlankAs(match v {
                        Scalar::Bool(b) => Scalar::Bool(*b),
                        Scalar::Num(n) => Scalar::Num(*n),
                        Scalar::Enum(e) => Scalar::Enum(*e),
                        Scalar::Month(m) => Scalar::Month(*m),
                        Scalar::Text(t) => Scalar::Text(t.clone()),
                    })
                }
                None => {
                    *slot = Cell::Blank;
                    if f.required {
                        hh.problems.push(Problem {
                            row: hh.row,
                            column: column.to_string(),
                            field: Some(f.key.clone()),
                            value: String::new(),
                            message: format!("{}为空（必填）", f.label),
                        });
                    }
                }
            }
            return;
        }
        match parse_scalar(f, &self.enums, text) {
            Ok(v) => *slot = Cell::Value(v),
            Err(message) => {
                let shown = cell::clip(text, 100);
                *slot = Cell::Invalid(shown.as_str().into());
                hh.problems.push(Problem {
                    row: hh.row,
                    column: column.to_string(),
                    field: Some(f.key.clone()),
                    value: shown,
                    message,
                });
            }
        }
    }

    /// After all cells of a row are set: check ranges, then derive blank derivable fields (a
    /// `derive` may read the assessment date: `months_since(monitor_since)`). The evidence of a
    /// department list (no column: matching sets it) is unknown until matched.
    pub fn finish(&self, hh: &mut Household, columns: &[Option<String>], as_of: Date) {
        self.finish_row(hh, columns, as_of, true);
    }

    /// As [`RuleSet::finish`], for a row whose department lists' evidence cannot be blank unless
    /// `lists` (a ledger row: a file without a column for them sets them unknown before its
    /// cells are read).
    pub fn finish_row(&self, hh: &mut Household, columns: &[Option<String>], as_of: Date, lists: bool) {
        self.finish_row_as(hh, columns, as_of, lists, false);
    }

    /// The bounds a value of field `f` is checked against when neither is another field's value
    /// (what [`RuleSet::finish_row`] compares it with); `None`: no such check.
    pub fn fixed_range(&self, f: u16) -> Option<(Num, Num)> {
        self.ranged_fields.all.iter().find(|r| r.0 == f).and_then(|r| r.1)
    }

    /// As [`RuleSet::finish_row`]; `fixed_checked`: the caller has seen that every field with
    /// fixed bounds ([`RuleSet::fixed_range`]) holds no number or one within them, so that only
    /// the fields bounded by another field's value are checked here (the others would pass, and
    /// change nothing the later checks read).
    pub fn finish_row_as(
        &self,
        hh: &mut Household,
        columns: &[Option<String>],
        as_of: Date,
        lists: bool,
        fixed_checked: bool,
    ) {
        for d in self.departments.iter().filter(|_| lists) {
            for f in std::iter::once(d.count_field).chain(d.sum_fields.iter().flatten().copied()) {
                if hh.cells[f as usize] == Cell::Blank {
                    hh.cells[f as usize] =
                        Cell::Absent(crate::household::Missing::List(self.fields[f as usize].department.unwrap_or(0)));
                }
            }
        }
        // (Checked already: the fields with fixed bounds.)
        let ranged = if fixed_checked { &self.ranged_fields.by_field } else { &self.ranged_fields.all };
        for &(i, fixed) in ranged {
            let (i, f) = (i as usize, &self.fields[i as usize]);
            let Some(Scalar::Num(v)) = hh.cells[i].value() else { continue };
            let v = *v;
            // Most values: within bounds known at load.
            if fixed.is_some_and(|(min, max)| min <= v && v <= max) {
                continue;
            }
            let bound = |b: Option<RangeBound>| -> Option<Num> {
                match b? {
                    RangeBound::Num(n) => Num::from_int(n),
                    RangeBound::Field(j) => match hh.cells[j as usize].value() {
                        Some(Scalar::Num(x)) => Some(*x),
                        _ => None,
                    },
                }
            };
            // The bound as the message names it (only built for a value out of range).
            let shown = |b: Option<RangeBound>, n: Num| match b {
                Some(RangeBound::Field(j)) => format!("{}（{}）", self.fields[j as usize].label, n),
                _ => n.to_string(),
            };
            // The upper bound looked up only when the value is not below the lower one.
            let msg = if let Some(m) = bound(f.min).filter(|&m| v < m) {
                Some(format!("不应小于{}", shown(f.min, m)))
            } else {
                bound(f.max).filter(|&m| v > m).map(|m| format!("不应大于{}", shown(f.max, m)))
            };
            if let Some(what) = msg {
                let raw = v.to_string();
                hh.problems.push(Problem {
                    row: hh.row,
                    column: columns[i].clone().unwrap_or_else(|| f.header.clone()),
                    field: Some(f.key.clone()),
                    value: raw.clone(),
                    message: format!("{}超出范围：{}", f.label, what),
                });
                hh.cells[i] = Cell::Invalid(raw.into());
            }
        }
        for &i in &self.derived_fields {
            // Most rows give the field a value: looked at here, without a call.
            if matches!(hh.cells[i as usize], Cell::Blank | Cell::Absent(_)) {
                self.derive_field(hh, i as usize, as_of);
            }
        }
    }

    /// Derive field `i` if its cell is blank or its column absent (`derive`).
    fn derive_field(&self, hh: &mut Household, i: usize, as_of: Date) {
        let f = &self.fields[i];
        let Some(node) = &f.derive else { return };
        if !matches!(hh.cells[i], Cell::Blank | Cell::Absent(_)) {
            return;
        }
        let cx = household_ctx(hh, &[], as_of);
        // The expression was type-checked against the field's type at load, so its value is of
        // that type: every type is honoured.
        if matches!(f.ty, FieldType::Text | FieldType::Id) {
            if let Some(t) = expr::eval_text(node, &cx) {
                hh.cells[i] = Cell::Derived(Scalar::Text(t));
            }
            return;
        }
        if let Some(v) = scalar_of(f, expr::eval(node, &cx)) {
            hh.cells[i] = Cell::Derived(v);
        }
    }

    /// A person export's household (or a rule case's, given its members): first the fields whose
    /// `derive` reads the member list (`members`: `size(members)`), then the fields computed from
    /// the members (`from_members`), before [`RuleSet::finish`] checks ranges. A field computed
    /// from the members takes their value where it is known (a text, the head's name or ID
    /// number, read as the field's cell); where it is unknown, a value of the household's own
    /// column stands, else it is blank. Where a member field it reads has no column (`missing`
    /// gives it), the household's column stands, else it is unknown, naming that member column.
    /// A ledger row (no member list), or a household with no member rows (only a rule case's
    /// `members = []`: a person export's household is its rows), is left as it is.
    pub fn from_members(&self, hh: &mut Household, params: &[Num], as_of: Date, missing: &dyn Fn(u16) -> Option<u16>) {
        if hh.members.as_ref().is_none_or(Members::is_empty) {
            return;
        }
        for &i in &self.member_derived_fields {
            self.derive_field(hh, i as usize, as_of);
        }
        for &i in &self.member_facts {
            let (i, f) = (i as usize, &self.fields[i as usize]);
            let Some(node) = &f.from_members else { continue };
            if let Some(j) = missing(i as u16) {
                if matches!(hh.cells[i], Cell::Blank | Cell::Absent(_)) {
                    hh.cells[i] = Cell::Absent(crate::household::Missing::Member(j));
                }
                continue;
            }
            let cx = household_ctx(hh, params, as_of);
            match scalar_of(f, expr::eval(node, &cx)) {
                // A member's text (the head's name or ID number) is read as the field's cell; an
                // unreadable one was reported as the member's.
                Some(Scalar::Text(t)) => {
                    let n = hh.problems.len();
                    self.set_cell(hh, i as u16, &t, &f.header);
                    hh.problems.truncate(n);
                }
                Some(v) => hh.cells[i] = Cell::Derived(v),
                None if hh.cells[i].value().is_some() => {}
                None => hh.cells[i] = Cell::Blank,
            }
        }
    }

    /// Member field `i`'s cell from its text in a member's row (`None`: the file has no column
    /// for it, unknown for every member). An unreadable text is `Err` with the cell (invalid) and
    /// the problem's message.
    pub fn member_cell(&self, i: usize, text: Option<&str>) -> Result<Cell, (Cell, String)> {
        let f = &self.persons[i];
        let Some(text) = text else {
            return Ok(Cell::Absent(match f.department {
                Some(d) => crate::household::Missing::List(d),
                None => crate::household::Missing::Field(i as u16),
            }));
        };
        if cell::is_blank(text) {
            return Ok(f.blank.clone().map_or(Cell::Blank, Cell::BlankAs));
        }
        match parse_scalar(f, &self.enums, cell::normalize(text).trim()) {
            Ok(v) => Ok(Cell::Value(v)),
            Err(message) => Err((Cell::Invalid(cell::clip(text, 100).into()), message)),
        }
    }

    /// Derive a member's blank derivable fields (`derive`, e.g. its age at `as_of`) in place.
    pub fn derive_member(&self, as_of: Date, cells: &mut [Cell]) {
        for &i in &self.person_derived {
            let i = i as usize;
            let Some(node) = &self.persons[i].derive else { continue };
            if !matches!(cells[i], Cell::Blank | Cell::Absent(_)) {
                continue;
            }
            let cx = Ctx::facts(cells, &[], &[], &[], as_of);
            let v = match expr::eval(node, &cx) {
                Some(expr::V::Num(n)) => Scalar::Num(n),
                Some(expr::V::Bool(x)) => Scalar::Bool(x),
                Some(expr::V::Enum(e)) => Scalar::Enum(e),
                Some(expr::V::Month(x)) => Scalar::Month(x),
                Some(expr::V::Str(t)) => Scalar::Text(t.clone()),
                Some(expr::V::Date(_)) | None => continue,
            };
            cells[i] = Cell::Derived(v);
        }
    }

    /// The parameter values in force on a date. A date before a parameter's first value is an
    /// error naming the years the rule set covers.
    pub fn at(&self, as_of: Date) -> Result<Bound<'_>, RuleError> {
        let mut values = vec![Num::from_int(0).expect("0"); self.params.len()];
        let mut picked = vec![0; self.params.len()];
        for &i in &self.param_order {
            let p = &self.params[i as usize];
            match p.values.iter().rposition(|v| v.from <= as_of) {
                Some(k) => {
                    values[i as usize] = match &p.values[k].formula {
                        None => p.values[k].value,
                        Some((node, src)) => {
                            let cx = Ctx {
                                cells: &[],
                                params: &values,
                                crits: &[],
                                decisions: &[],
                                as_of_month: as_of.month_index(),
                                as_of_day: expr::day_key(as_of),
                                members: None,
                                member: &[],
                                member_index: 0,
                                records: &crate::household::NO_RECORDS,
                                record: &[],
                            };
                            match expr::eval(node, &cx) {
                                Some(expr::V::Num(n)) if p.ty == ParamType::Money => n.round_fen(),
                                Some(expr::V::Num(n)) => n,
                                _ => {
                                    return Err(RuleError::Rule {
                                        rule: format!("参数 `{}`", p.key),
                                        message: format!("公式 `{src}` 在 {as_of} 无法计算（溢出或除以零）"),
                                    })
                                }
                            }
                        }
                    };
                    picked[i as usize] = k;
                }
                None => {
                    return Err(RuleError::Year {
                        ruleset: self.id.clone(),
                        year: as_of.year,
                        covered: self.covered_from(),
                    })
                }
            }
        }
        let param_text = self
            .params
            .iter()
            .zip(&picked)
            .zip(&values)
            .map(|((p, &k), value)| match &p.values[k].formula {
                None => format!("{}（{}年，来源：{}）", value, as_of.year, p.values[k].source),
                Some((_, src)) => format!("{}（{}年，= {}，来源：{}）", value, as_of.year, src, p.values[k].source),
            })
            .collect();
        Ok(Bound {
            rules: self,
            as_of,
            params: values,
            picked,
            param_text,
            read_from: Vec::new(),
            templates: Default::default(),
        })
    }

    /// The first date on which every parameter has a value.
    pub fn covered_from(&self) -> Date {
        self.params.iter().map(|p| p.values[0].from).max().unwrap_or(Date { year: 1, month: 1, day: 1 })
    }
}

/// A rule set with its parameters fixed for one assessment date.
#[derive(Debug)]
pub struct Bound<'a> {
    pub rules: &'a RuleSet,
    pub as_of: Date,
    pub params: Vec<Num>,
    /// For each parameter, the index of the value in force.
    pub picked: Vec<usize>,
    /// For each parameter, the value in force as reasons show it: `4000（2024年，来源：…）`.
    pub param_text: Vec<String>,
    /// For each field, where its cells come from in the file being assessed (empty: not known,
    /// taken as its own column). Reasons name an alternative column (`危房等级：C（据“是否危房户”）`)
    /// and say when a blank stands for a column the file lacks.
    pub read_from: Vec<ReadFrom>,
    /// The reasons' sentences prepared for this date ([`expr::Templates`]), made at the first
    /// reason written (by the engine, which knows how labels and values are shown).
    pub templates: std::sync::OnceLock<expr::Templates>,
}

/// Where a field's cells come from in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFrom {
    /// Its own column (or it is computed from others).
    #[default]
    Own,
    /// One of its alternatives (the index).
    Alternative(u16),
    /// No column: what the rule file's `absent` says, or unknown.
    Absent,
}

impl Bound<'_> {
    pub fn param_value(&self, i: u16) -> &ParamValue {
        &self.rules.params[i as usize].values[self.picked[i as usize]]
    }

    /// The rule set's warnings about this run (`[warnings.*]` whose condition holds on the
    /// assessment date), each `警告：message（来源：…）`.
    pub fn run_warnings(&self) -> Vec<String> {
        let cx = Ctx {
            cells: &[],
            params: &self.params,
            crits: &[],
            decisions: &[],
            as_of_month: self.as_of.month_index(),
            as_of_day: expr::day_key(self.as_of),
            members: None,
            member: &[],
            member_index: 0,
            records: &crate::household::NO_RECORDS,
            record: &[],
        };
        self.rules
            .warnings
            .iter()
            .filter(|w| expr::eval_bool(&w.when, &cx) == Some(true))
            .map(|w| {
                let mut s = String::from("警告：");
                for p in &w.message {
                    match p {
                        Piece::Text(t) => s.push_str(t),
                        Piece::Param(i) => self.params[*i as usize].write_to(&mut s),
                        Piece::Field(_) | Piece::Member(_) => {}
                    }
                }
                s.push_str(&format!("（来源：{}）", w.source));
                s
            })
            .chain(self.param_notes())
            .collect()
    }

    /// The rule file's notes on the parameter values in force (a weak source, a value carried on
    /// from an earlier year), as one message, so that they reach the user and not only the file.
    fn param_notes(&self) -> Option<String> {
        let mut s = String::new();
        for (i, p) in self.rules.params.iter().enumerate() {
            let v = &p.values[self.picked[i]];
            let Some(note) = v.note.as_deref() else { continue };
            s.push_str(&format!("\n  {} ", p.label));
            self.params[i].write_to(&mut s);
            match p.unit.split('/').next() {
                Some(unit) if !unit.is_empty() => s.push_str(&format!(" {unit}")),
                _ => {}
            }
            s.push_str(&format!("（{}年起）：{note}", v.from.year));
        }
        (!s.is_empty()).then(|| format!("注意：规则文件对本次所用数值的说明：{s}"))
    }
}

/// The context of a condition over one household's own fields, members and records at `as_of`
/// (no criteria or decisions yet): `derive`, `from_members` and reconcile rules.
fn household_ctx<'a>(hh: &'a Household, params: &'a [Num], as_of: Date) -> Ctx<'a> {
    Ctx {
        cells: &hh.cells,
        params,
        crits: &[],
        decisions: &[],
        as_of_month: as_of.month_index(),
        as_of_day: expr::day_key(as_of),
        members: hh.members.as_ref(),
        member: &[],
        member_index: 0,
        records: &hh.records,
        record: &[],
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    /// Bounds known at load let a value within them pass without a look at the field's bounds;
    /// one outside them, or a range with another field's value as a bound, is checked as before.
    #[test]
    fn ranges_known_at_load_pass_only_what_is_within_them() {
        let rs = load_str(embedded("national").unwrap(), "national").unwrap();
        let key = |k: &str| rs.field_index[k];
        let fixed = |k: &str| rs.ranged_fields.all.iter().find(|r| r.0 == key(k)).unwrap().1;
        assert_eq!(fixed("ill"), Some((Num(0), Num(i64::MAX))));
        assert_eq!(fixed("exit_year"), Some((Num::from_int(2013).unwrap(), Num::from_int(2100).unwrap())));
        assert_eq!(fixed("labor"), None, "max = members");
        let num = |n: i64| Cell::Value(Scalar::Num(Num::from_int(n).unwrap()));
        let as_of = Date::last_of_year(2024);
        for (k, v, ok) in [("ill", 0, true), ("ill", -1, false), ("exit_year", 2100, true), ("exit_year", 2101, false)]
        {
            let mut hh = Household { cells: vec![Cell::Blank; rs.fields.len()], ..Household::default() };
            hh.cells[key("members") as usize] = num(3);
            hh.cells[key(k) as usize] = num(v);
            rs.finish_row(&mut hh, &vec![None; rs.fields.len()], as_of, false);
            assert_eq!(hh.problems.is_empty(), ok, "{k} {v}");
            assert_eq!(hh.cells[key(k) as usize] == num(v), ok, "{k} {v}");
        }
    }
}

#[cfg(test)]
mod decision_tests {
    use super::*;

    /// The national rule file with `from` replaced by `to` (which must occur).
    fn national_with(edits: &[(&str, &str)]) -> String {
        let mut text = embedded("national").unwrap().to_string();
        for (from, to) in edits {
            assert!(text.contains(from), "{from}");
            text = text.replacen(from, to, 1);
        }
        text
    }

    /// The message of the error loading the national rules with `edits`.
    fn load_error(edits: &[(&str, &str)]) -> String {
        match load_str(&national_with(edits), "t.toml") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{edits:?} loaded"),
        }
    }

    /// A sixth decision, appended to the national ones.
    const WATCH: &str = "\n[decisions.watch]\nlabel = \"关注\"\nlabels = [\"关注\", \"不关注\", \"待定\"]\n\
        undecided = \"待定\"\notherwise = \"不关注\"\nsource = \"测试\"\ncolumn = \"关注\"\n\
        rules = [{ when = \"risk != '高'\", label = \"关注\" }]\n";

    /// The reader's shortcut for an empty cell (`blank_cell`, then `Cell::set_blank`) leaves the
    /// same cell and the same problems as `set_cell` with `""`, for every field of every built-in
    /// rule set, whatever the household before left in the slot.
    #[test]
    fn an_empty_cell_set_through_the_shortcut_is_what_set_cell_makes() {
        let before = [
            Cell::Blank,
            Cell::Value(Scalar::Text("是".into())),
            Cell::BlankAs(Scalar::Text("无".into())),
            Cell::BlankAs(Scalar::Text("其他".into())),
            Cell::BlankAs(Scalar::Text("否".into())),
            Cell::Value(Scalar::Num(Num::from_int(3).unwrap())),
            Cell::BlankAs(Scalar::Bool(true)),
            Cell::Invalid("x".into()),
        ];
        let mut checked = 0;
        for (name, _, _) in EMBEDDED {
            let rs = load(name).unwrap();
            for f in 0..rs.fields.len() as u16 {
                let Some(blank) = rs.blank_cell(f) else {
                    assert!(rs.fields[f as usize].required, "{name} {}", rs.fields[f as usize].key);
                    continue;
                };
                for old in &before {
                    let mut a = Household { cells: vec![old.clone(); rs.fields.len()], ..Household::default() };
                    let mut b = a.clone();
                    rs.set_cell(&mut a, f, "", "列");
                    b.cells[f as usize].set_blank(&blank);
                    assert_eq!(a.cells, b.cells, "{name} {}", rs.fields[f as usize].key);
                    assert!(a.problems.is_empty());
                    checked += 1;
                }
            }
        }
        assert!(checked > 300, "{checked}");
    }

    #[test]
    fn decisions_keep_the_order_of_the_file() {
        let rs = load("national").unwrap();
        let ids: Vec<&str> = rs.decisions.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["eligibility", "exit", "risk", "suggested_type", "elimination"]);
        let text = national_with(&[("[flags.returned]", &format!("{WATCH}\n[flags.returned]"))]);
        let rs = load_str(&text, "t.toml").unwrap();
        assert_eq!(rs.decisions.last().unwrap().id, "watch");
        assert_eq!(rs.layout.columns.last().unwrap().header, "关注");
    }

    /// A reference to an earlier decision that is undecided is unknown, not false: `risk != '高'`
    /// gives `undecided` while the risk is undecided.
    #[test]
    fn a_reference_to_an_undecided_decision_is_unknown() {
        let text = national_with(&[("[flags.returned]", &format!("{WATCH}\n[flags.returned]"))]);
        let rs = load_str(&text, "t.toml").unwrap();
        // 2020 (攻坚期): a 贫困户's risk is 不适用 (from 2021 it is 待核实, a data problem).
        let b = rs.at(Date::new(2020, 12, 31).unwrap()).unwrap();
        let watch = rs.decision_index("watch").unwrap();
        let risk = rs.decision_index("risk").unwrap();
        let assess = |ty: &str| {
            let cells = std::collections::BTreeMap::from([("household_type".to_string(), toml::Value::from(ty))]);
            let hh = crate::cases::household(&rs, &cells, b.as_of).unwrap();
            crate::engine::assess(&b, &hh)
        };
        // A blank household type: the risk is undecided, so is `watch`.
        let a = assess("");
        assert_eq!(a.label(&b, risk), "待核实");
        assert_eq!(a.label(&b, watch), "待定");
        // A 贫困户: the risk does not apply (a label, not 高): `watch` holds.
        let a = assess("贫困户");
        assert_eq!(a.label(&b, risk), "不适用");
        assert_eq!(a.label(&b, watch), "关注");
    }

    #[test]
    fn a_not_applicable_label_must_be_a_label() {
        let m = load_error(&[(
            "not_applicable = \"不适用\"\ncolumn = \"退出\"",
            "not_applicable = \"无需判定\"\ncolumn = \"退出\"",
        )]);
        assert!(m.contains("决策 `exit` 的 not_applicable “无需判定” 不在它的 labels 中"), "{m}");
        assert!(m.contains("请改为其中之一"), "{m}");
    }

    #[test]
    fn a_decision_may_read_only_earlier_decisions() {
        let m = load_error(&[(
            "{ when = \"excluded\", label = \"不符合（排除）\" }",
            "{ when = \"risk == '高'\", label = \"不符合（排除）\" }",
        )]);
        assert!(m.contains("决策 `eligibility` 引用了其后的决策 `risk`"), "{m}");
        assert!(m.contains("请把 [decisions.risk] 移到 [decisions.eligibility] 之前"), "{m}");
        let m = load_error(&[(
            "{ when = \"excluded\", label = \"不符合（排除）\" }",
            "{ when = \"eligibility == '不符合'\", label = \"不符合（排除）\" }",
        )]);
        assert!(m.contains("引用了它自己"), "{m}");
        let m = load_error(&[("!(risk in ['高', '中'])", "!(riks in ['高', '中'])")]);
        assert!(m.contains("`riks`") && m.contains("risk"), "{m}");
        let m = load_error(&[(
            "with = \"risk\"\ncolumn = \"建议监测类型\"",
            "with = \"elimination\"\ncolumn = \"建议监测类型\"",
        )]);
        assert!(m.contains("with = \"elimination\" 不是在它之前的决策"), "{m}");
    }

    #[test]
    fn columns_and_json_keys_are_unique() {
        let m = load_error(&[("column = \"风险消除\"", "column = \"识别\"")]);
        assert!(m.contains("决策 `elimination` 的列名“识别”与决策 `eligibility` 重复"), "{m}");
        let m = load_error(&[("column = \"风险消除\"", "column = \"户编号\"")]);
        assert!(m.contains("列名“户编号”与固定列重复"), "{m}");
        let m = load_error(&[("column = \"风险消除\"", "column = \"风险消除\"\njson = \"risk.level\"")]);
        assert!(m.contains("JSON 键“risk.level”与决策 `risk` 的冲突"), "{m}");
        let m = load_error(&[("column = \"风险消除\"", "column = \"风险消除\"\njson = \"risk\"")]);
        assert!(m.contains("JSON 键“risk”与决策 `risk` 的冲突"), "{m}");
        let m = load_error(&[("column = \"风险消除\"", "column = \"风险消除\"\njson = \"checks\"")]);
        assert!(m.contains("与固定的键“checks”重复"), "{m}");
    }

    /// `[lists.*]`: what a list may name is checked at load, with a suggestion.
    #[test]
    fn list_errors_name_the_list_and_suggest() {
        let m = load_error(&[(
            "when = \"matched && current.members != previous.members\"",
            "when = \"matched && current.membrs != previous.members\"",
        )]);
        assert!(
            m.contains("名单 `members_changed_v1`") && m.contains("current.membrs") && m.contains("current.members"),
            "{m}"
        );
        let m = load_error(&[("current.exit == '可退出'", "current.exit == '可推出'")]);
        assert!(m.contains("名单 `proposed_exit`") && m.contains("可推出"), "{m}");
        let m = load_error(&[("reason = \"{reasons.exit}\"", "reason = \"{reasons.exitt}\"")]);
        assert!(m.contains("{reasons.exitt}") && m.contains("reasons.exit"), "{m}");
        let m = load_error(&[("reason = \"{reasons.eligibility}\"", "reason = \"{current.eligibilty}\"")]);
        assert!(m.contains("名单 `newly_identified`") && m.contains("current.eligibility"), "{m}");
        let m = load_error(&[(
            "columns = [\"household_type\", \"monitor_type\"",
            "columns = [\"household_typ\", \"monitor_type\"",
        )]);
        assert!(m.contains("`household_typ` 不是字段") && m.contains("household_type"), "{m}");
        let m = load_error(&[("persons = \"members\"", "persons = \"household_type\"")]);
        assert!(m.contains("persons = \"household_type\" 不是整数字段"), "{m}");
        let m = load_error(&[("label = \"新识别\"", "label = \"\"")]);
        assert!(m.contains("名单 `newly_identified`") && m.contains("label 不能为空"), "{m}");
        let m = load_error(&[("label = \"拟退出\"", "label = \"新识别\"")]);
        assert!(m.contains("名单 `proposed_exit` 与名单 `newly_identified` 同名（“新识别”）且适用期间重叠"), "{m}");
        let m = load_error(&[("label = \"拟退出\"", "label = \"拟/退出\"")]);
        assert!(m.contains("不能用"), "{m}");
        let m = load_error(&[("label = \"拟退出\"", "labl = \"拟退出\"")]);
        assert!(m.contains("labl"), "unknown keys are refused: {m}");
        let m = load_error(&[("changes = [\"household_type\"", "changes = [\"houshold_type\"")]);
        assert!(m.contains("`houshold_type` 不是字段") && m.contains("household_type"), "{m}");
        // The same label in periods that do not overlap is one list per run: accepted.
        assert!(load_str(&national_with(&[]), "t.toml").is_ok());
    }

    /// A list condition reads the two snapshots through slots: the same field of both sides is
    /// two slots, a name used twice is one.
    #[test]
    fn list_slots_are_shared_and_sided() {
        let rs = load("national").unwrap();
        let s = &rs.lists.slots;
        let members = rs.field_index["members"];
        assert!(s.fields.contains(&(lists::Side::Current, members)));
        assert!(s.fields.contains(&(lists::Side::Previous, members)));
        assert_eq!(s.fields.iter().filter(|f| **f == (lists::Side::Current, members)).count(), 1);
        // A dotted name outside a list is refused as before.
        let m = load_error(&[("condition = \"ill > 0\"", "condition = \"current.ill > 0\"")]);
        assert!(m.contains("不能用在这里"), "{m}");
    }

    /// Dates and text functions: their values on a household, at the boundaries, and the errors.
    #[test]
    fn dates_and_text_functions() {
        let rs = load("national").unwrap();
        let mut hh = crate::cases::household(
            &rs,
            &[("head_name", "张某华"), ("village", "石桥村"), ("monitor_since", "202306")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), toml::Value::String(v.into())))
                .collect(),
            Date::new(2024, 6, 30).unwrap(),
        )
        .unwrap();
        hh.problems.clear();
        let eval = |src: &str, date: Date| {
            let b = rs.at(date).unwrap();
            let a = crate::engine::assess(&b, &hh);
            let n = rs.compile_expr(src, Ty::Bool).unwrap_or_else(|e| panic!("{src}: {e}"));
            let cx = expr::Ctx {
                cells: &hh.cells,
                params: &b.params,
                crits: &a.crits,
                decisions: &a.decisions,
                as_of_month: date.month_index(),
                as_of_day: expr::day_key(date),
                members: None,
                member: &[],
                member_index: 0,
                records: &crate::household::NO_RECORDS,
                record: &[],
            };
            (expr::eval_bool(&n, &cx), fast::Cond::new(&n).eval(&cx))
        };
        let d = |y, m, dd| Date::new(y, m, dd).unwrap();
        let from_2021 = "assessment_date >= date('2021-01-01')";
        assert_eq!(eval(from_2021, d(2020, 12, 31)), (Some(false), Some(false)));
        assert_eq!(eval(from_2021, d(2021, 1, 1)), (Some(true), Some(true)));
        let monitoring = "assessment_date >= date('2020-03-20')";
        assert_eq!(eval(monitoring, d(2020, 3, 19)).0, Some(false));
        assert_eq!(eval(monitoring, d(2020, 3, 20)).0, Some(true));
        for src in [
            "year(monitor_since) == 2023 && month(monitor_since) == 6",
            "year(assessment_date) == 2024 && month(assessment_date) == 2",
            "head_name.contains('某') && head_name.startsWith('张') && head_name.endsWith('华')",
            "size(head_name) == 3 && village.size() == 3",
            "!village.contains('镇')",
        ] {
            assert_eq!(eval(src, d(2024, 2, 29)), (Some(true), Some(true)), "{src}");
        }
        // A blank text is unknown, not false.
        assert_eq!(eval("county.contains('县')", d(2024, 2, 29)), (None, None));
        for (src, msg) in [
            ("assessment_date >= date('2021-13-01')", "YYYY-MM-DD"),
            ("village.contains(1)", "应为字符串"),
            ("year(members) == 1", "需要日期或年月"),
            ("members.contains('1')", "需要文本"),
            ("village.matches('a')", "不支持方法"),
            ("assessment_date > 2021", "无法比较"),
            ("assesment_date > date('2021-01-01')", "assessment_date"),
        ] {
            let e = rs.compile_expr(src, Ty::Bool).unwrap_err().0;
            assert!(e.contains(msg), "{src}: {e}");
        }
    }

    /// A parameter computed from others in force: its value by date, money rounded to the fen, the
    /// formula in the reason text; a cycle or an unknown name is a load error.
    #[test]
    fn parameters_computed_from_parameters() {
        let base = r#"
[ruleset]
id = "t"
name = "t"
extends = "national"

[parameters.dibao_line]
label = "低保标准"
type = "money"
values = [
  { from = 2011, value = "300.10", source = "s" },
  { from = 2024, value = "815", source = "s" },
]

[parameters.monitoring_line]
label = "监测范围"
type = "money"
values = [{ from = 2024, value = "2 * dibao_line * 12 / 7", source = "s" }]
"#;
        let rs = load_str(base, "t.toml").unwrap();
        let at = |y| rs.at(Date::last_of_year(y)).unwrap();
        let i = rs.params.iter().position(|p| p.key == "monitoring_line").unwrap();
        // 2 × 815 × 12 ÷ 7 = 2794.2857… → 2794.29 (money, half up).
        assert_eq!(at(2024).params[i].to_string(), "2794.29");
        assert!(at(2024).param_text[i].contains("= 2 * dibao_line * 12 / 7"), "{}", at(2024).param_text[i]);
        // Before 2024 the national values are in force, untouched.
        assert_eq!(at(2020).params[i].to_string(), "6000");
        let err = |text: String| load_str(&text, "t.toml").unwrap_err().to_string();
        let e = err(base.replace("2 * dibao_line * 12 / 7", "2 * dibao_linee * 12"));
        assert!(e.contains("未知的名称") && e.contains("dibao_line"), "{e}");
        let cyclic = base.replace(r#"value = "815""#, r#"value = "monitoring_line / 24""#);
        let e = err(cyclic);
        assert!(e.contains("互相依赖") && e.contains("dibao_line") && e.contains("monitoring_line"), "{e}");
        let e = err(base.replace("2 * dibao_line * 12 / 7", "3,5"));
        assert!(e.contains("不是有效的"), "{e}");
    }

    /// Conditions typed with a Chinese input method compile to the same condition as ASCII; the
    /// text of a string literal is kept (full-width brackets in a label stay).
    #[test]
    fn full_width_operators_are_read_as_ascii() {
        let rs = load("national").unwrap();
        for (wide, ascii) in [
            (
                "per_capita_income ＜ poverty_line ＆＆ household_type ＝＝ ‘脱贫户’",
                "per_capita_income < poverty_line && household_type == '脱贫户'",
            ),
            ("（ill ＞ ０ ｜｜ disabled ＞＝ １）＆＆ ！disaster", "(ill > 0 || disabled >= 1) && !disaster"),
            ("eligibility ＝＝ “不符合（排除）”", "eligibility == '不符合（排除）'"),
            ("household_type in ［'脱贫户'，'一般农户'］", "household_type in ['脱贫户', '一般农户']"),
            ("members　＊　２ ＞ labor", "members * 2 > labor"),
        ] {
            let a = rs.compile_expr(wide, Ty::Bool).unwrap_or_else(|e| panic!("{wide}: {e}"));
            assert_eq!(a, rs.compile_expr(ascii, Ty::Bool).unwrap(), "{wide}");
        }
        assert_eq!(expr::ascii_operators("x == '（空）'"), "x == '（空）'");
        let e = rs.compile_expr("per_capita_incom ＜ 1", Ty::Bool).unwrap_err().0;
        assert!(e.contains("未知的名称") && e.contains("per_capita_income"), "{e}");
    }

    #[test]
    fn a_rule_file_must_be_an_ordinary_text_file() {
        let err = load("/dev/zero").unwrap_err().to_string();
        assert!(err.contains("不是普通文件"), "{err}");
        let dir = std::env::temp_dir().join(format!("tuopin-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.toml");
        std::fs::write(&big, vec![b'#'; (MAX_RULE_FILE + 1) as usize]).unwrap();
        let err = load(big.to_str().unwrap()).unwrap_err().to_string();
        assert!(err.contains("文件过大"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A TOML error quotes a capped window of its line, and nothing of a file that is not text.
    #[test]
    fn toml_errors_quote_only_text_and_only_a_window() {
        let msg = |text: &str| match load_str(text, "t.toml") {
            Err(RuleError::Parse { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        let m = msg("[ruleset]\nid = \"秘密\0PATH=/usr/bin\" x\n");
        assert!(m.contains("第 2 行") && m.contains("不引用其内容") && !m.contains("PATH"), "{m}");
        let long = format!("[ruleset]\nname = \"{}\" {} = 1\n", "长".repeat(10_000), "k".repeat(10_000));
        let m = msg(&long);
        assert!(m.contains("第 2 行第 10011 列") && m.chars().count() < 600, "{m}");
        // The caret stands under the column, a CJK character counting two.
        let m = msg("[ruleset]\nname = \"长长\" x\n");
        let lines: Vec<&str> = m.lines().collect();
        let width = |s: &str| s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum::<usize>();
        let caret = lines[2].find('^').unwrap();
        assert_eq!(width(&lines[1][..lines[1].find('x').unwrap()]), caret, "{m}");
    }
}

//! Rule sets: load a TOML rule file (following `extends`), check every name and type, compile
//! every condition once.
//!
//! Everything that can fail because of the rule file fails here, before a row is read. The
//! national rule set and the provincial variants in `rules/` are embedded in the binary and can
//! be named instead of given as paths (`--rules guizhou-2023`).

pub mod expr;
pub mod fast;
pub mod file;
pub mod layout;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::RuleError;
use crate::household::{Cell, Household, Problem, Scalar};
use crate::input::cell;
use crate::value::{Date, Num};
use expr::{Ctx, Name, Names, Node, Ty};
use file::{FieldType, ParamType, RuleFile};

/// Rule sets compiled into the binary: (name, file name, text).
pub const EMBEDDED: &[(&str, &str, &str)] = &[
    ("national", "national.toml", include_str!("../../rules/national.toml")),
    ("guizhou-2023", "guizhou-2023.toml", include_str!("../../rules/guizhou-2023.toml")),
];

/// Rule cases shipped with the embedded rule sets: (name, text).
pub const EMBEDDED_CASES: &[(&str, &str)] = &[
    ("national", include_str!("../../rules/national.cases.toml")),
    ("guizhou-2023", include_str!("../../rules/guizhou-2023.cases.toml")),
];

/// The roles a decision can be looked up by, with what each means (`roles = { … }` in a
/// decision; each role at most once in a rule set). `adjust` files a current household on a list
/// when the decision's label is one of the role's labels.
pub const ROLES: [(&str, &str); 5] = [
    ("newly_identified", "adjust：列入“新识别”名单的标签（户类型为一般农户时）"),
    ("proposed_exit", "adjust：列入“拟退出”名单的标签（户类型为贫困户时）"),
    ("exit_procedure", "adjust：列入“待履行退出程序”名单的标签（户类型为贫困户时）"),
    ("to_monitor", "adjust：列入“拟纳入监测”名单的标签（理由取自它所随附（with）的决策）"),
    ("risk_eliminated", "adjust：列入“拟风险消除”名单的标签"),
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
}

#[derive(Debug, Clone)]
pub struct ParamValue {
    pub from: Date,
    pub value: Num,
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
    /// (condition, label index, source text)
    pub rules: Vec<(Node, u16, String)>,
    /// The label meaning the decision does not concern the household.
    pub not_applicable: Option<u16>,
    /// The earlier decision it is shown with.
    pub with: Option<u16>,
    /// The label `check`'s what-if steers towards.
    pub goal: Option<u16>,
    /// The header of its factors' column (also what `check` calls them).
    pub factors_column: Option<String>,
    /// Its header in the terminal table.
    pub short: Option<String>,
    /// XLSX colours of labels.
    pub highlight: Vec<(u16, file::Highlight)>,
    /// (role, labels) as in [`ROLES`].
    pub roles: Vec<(String, Vec<u16>)>,
}

impl Decision {
    /// Whether label `l` is the one meaning "does not concern the household".
    #[inline]
    pub fn is_not_applicable(&self, l: u16) -> bool {
        self.not_applicable == Some(l)
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

/// A piece of a check's message: text, or the value of a field or parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Field(u16),
    Param(u16),
}

/// Split a message template into pieces: `{key}` names a field or a parameter; `{{` and `}}` are
/// braces.
fn message_pieces(
    template: &str,
    field_index: &HashMap<String, u16>,
    params: &HashMap<String, (u16, Ty)>,
) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = template;
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
                let end = rest.find('}').ok_or_else(|| format!("“{{”后缺少“}}”：{template}"))?;
                let key = rest[..end].trim();
                rest = &rest[end + 1..];
                let piece = match (field_index.get(key), params.get(key)) {
                    (Some(&i), _) => Piece::Field(i),
                    (None, Some(&(i, _))) => Piece::Param(i),
                    _ => {
                        let mut names: Vec<String> = field_index.keys().chain(params.keys()).cloned().collect();
                        names.sort();
                        return Err(format!("{{{key}}} 不是字段或参数{}", expr::did_you_mean(key, &names)));
                    }
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(piece);
            }
            '}' => return Err(format!("多余的“}}”（字面的花括号写作 }}}}）：{template}")),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
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
    pub fields: Vec<Field>,
    pub field_index: HashMap<String, u16>,
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
    /// Fields with a `min` or `max`, and fields with a `derive`, in field order (what
    /// [`RuleSet::finish`] visits for every household).
    ranged_fields: Vec<u16>,
    derived_fields: Vec<u16>,
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
    let (file, origin) = load_file(spec, None, &mut Vec::new())?;
    compile(file, origin)
}

/// The longest rule file read (national.toml is about 20 KB).
const MAX_RULE_FILE: u64 = 4 << 20;

/// A rule file's text: only an ordinary file of at most [`MAX_RULE_FILE`] bytes. Anything else
/// (a FIFO, whose open would wait for a writer; `/dev/zero`, which never ends; a directory) is
/// refused from its metadata before it is opened, and the file is opened without blocking and
/// checked again (it could have been swapped in between).
fn read_rule_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    not_a_file(&meta)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| e.to_string())?;
    not_a_file(&file.metadata().map_err(|e| e.to_string())?)?;
    let mut bytes = Vec::new();
    file.take(MAX_RULE_FILE + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
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
    let message = cap(e.message().trim_end(), 4 * QUOTED_CHARS);
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
    fn builtin(spec: &str, chain: &mut Vec<String>) -> Result<(RuleFile, Vec<String>), RuleError> {
        let text = embedded(spec).ok_or_else(|| RuleError::Read {
            path: spec.to_string(),
            message: "a rule set given as text can only extend a built-in rule set".into(),
        })?;
        parse_file(text, format!("{spec}（内置）"), chain, builtin)
    }
    let (file, origin) = parse_file(text, name.to_string(), &mut Vec::new(), builtin)?;
    compile(file, origin)
}

type Loaded = (RuleFile, Vec<String>);

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
            let text = read_rule_file(&path)
                .map_err(|message| RuleError::Read { path: path.display().to_string(), message })?;
            let canon = path.canonicalize().unwrap_or(path.clone());
            (text, canon.display().to_string(), path.parent().map(Path::to_path_buf))
        }
    };
    parse_file(&text, ident, chain, |parent, chain| load_file(parent, dir.as_deref().or(Some(Path::new("."))), chain))
}

/// Parse one rule file's text and apply it on top of what it extends, which `parent` loads.
fn parse_file(
    text: &str,
    ident: String,
    chain: &mut Vec<String>,
    parent: impl FnOnce(&str, &mut Vec<String>) -> Result<Loaded, RuleError>,
) -> Result<Loaded, RuleError> {
    if chain.contains(&ident) {
        chain.push(ident);
        return Err(RuleError::Cycle(chain.join(" → ")));
    }
    chain.push(ident.clone());
    let file: RuleFile =
        toml::from_str(text).map_err(|e| RuleError::Parse { file: ident.clone(), message: toml_error(text, &e) })?;
    match file.ruleset.extends.clone() {
        None => Ok((file, vec![ident])),
        Some(spec) => {
            let (base_file, mut origin) = parent(&spec, chain)?;
            origin.insert(0, ident);
            Ok((base_file.apply(file), origin))
        }
    }
}

// ─────────────────────────────── compiling ───────────────────────────────

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
}

impl Names for Builder<'_> {
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

fn compile(file: RuleFile, origin: Vec<String>) -> Result<RuleSet, RuleError> {
    let at = |what: String| move |e: expr::CompileError| RuleError::Rule { rule: what.clone(), message: e.0 };
    // Fields: ids first (ranges may name other fields), then everything else.
    let mut enums: Vec<EnumDef> = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut field_index = HashMap::new();
    if !file.fields.contains_key("household_id") {
        return Err(RuleError::Rule {
            rule: "fields".into(),
            message: "the rule set must declare `household_id` (户编号)".into(),
        });
    }
    for (key, def) in &file.fields {
        check_ident(key, "field")?;
        let enum_id = if def.ty == FieldType::Enum {
            if def.values.is_empty() {
                return Err(RuleError::Rule {
                    rule: format!("field `{key}`"),
                    message: "an enum field needs `values`".into(),
                });
            }
            let mut aliases = HashMap::new();
            for (alias, target) in &def.value_aliases {
                let i = def.values.iter().position(|v| v == target).ok_or_else(|| RuleError::Rule {
                    rule: format!("field `{key}`"),
                    message: format!(
                        "value alias `{alias}` points to `{target}`, which is not one of the values ({})",
                        def.values.join(", ")
                    ),
                })?;
                aliases.insert(alias.clone(), i as u16);
            }
            enums.push(EnumDef { values: def.values.clone(), aliases });
            Some(enums.len() as u16 - 1)
        } else {
            if !def.values.is_empty() || !def.value_aliases.is_empty() {
                return Err(RuleError::Rule {
                    rule: format!("field `{key}`"),
                    message: "`values` and `value_aliases` belong to enum fields only".into(),
                });
            }
            None
        };
        field_index.insert(key.clone(), fields.len() as u16);
        fields.push(Field {
            key: key.clone(),
            ty: def.ty,
            header: def.header.clone(),
            aliases: def.aliases.clone(),
            label: def.label.clone(),
            enum_id,
            min: None,
            max: None,
            blank: None,
            required: def.required,
            derive: None,
        });
    }
    for (key, def) in &file.fields {
        let i = field_index[key] as usize;
        let bound = |b: &Option<file::Bound>| -> Result<Option<RangeBound>, RuleError> {
            Ok(match b {
                None => None,
                Some(file::Bound::Number(n)) => Some(RangeBound::Num(*n)),
                Some(file::Bound::Field(name)) => match field_index.get(name) {
                    Some(&j) if fields[j as usize].ty == FieldType::Int => Some(RangeBound::Field(j)),
                    _ => {
                        let keys: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
                        return Err(RuleError::Rule {
                            rule: format!("field `{key}`"),
                            message: format!(
                                "range bound `{name}` is not an int field{}",
                                expr::did_you_mean(name, &keys)
                            ),
                        });
                    }
                },
            })
        };
        let (min, max) = (bound(&def.min)?, bound(&def.max)?);
        fields[i].min = min;
        fields[i].max = max;
        if (fields[i].min.is_some() || fields[i].max.is_some()) && !matches!(def.ty, FieldType::Int | FieldType::Money)
        {
            return Err(RuleError::Rule {
                rule: format!("field `{key}`"),
                message: "`min`/`max` apply to int and money fields only".into(),
            });
        }
        if let Some(b) = &def.blank {
            let v = parse_scalar(&fields[i], &enums, b).map_err(|m| RuleError::Rule {
                rule: format!("field `{key}`"),
                message: format!("blank = \"{b}\" is not a valid {} value: {m}", def.ty.name()),
            })?;
            fields[i].blank = Some(v);
        }
    }
    // Parameters.
    let mut params = Vec::new();
    let mut param_index = HashMap::new();
    for (key, def) in &file.parameters {
        check_ident(key, "parameter")?;
        if field_index.contains_key(key) {
            return Err(RuleError::Rule {
                rule: format!("parameter `{key}`"),
                message: "a field has the same name".into(),
            });
        }
        let mut values = Vec::new();
        for v in &def.values {
            let from = match &v.from {
                file::From::Year(y) => Date { year: *y, month: 1, day: 1 },
                file::From::Date(s) => Date::parse(s).ok_or_else(|| RuleError::Rule {
                    rule: format!("parameter `{key}`"),
                    message: format!("from = \"{s}\" is not a year or a date (YYYY-MM-DD)"),
                })?,
            };
            // The years an assessment date can have (`--year`); a far larger one overflowed the
            // month arithmetic of every assessment (found reading the fuzz target `rules`).
            if !(1900..=2200).contains(&from.year) {
                return Err(RuleError::Rule {
                    rule: format!("parameter `{key}`"),
                    message: format!("from = {}: the year must be between 1900 and 2200", from.year),
                });
            }
            let value = parse_param_value(def.ty, &v.value).ok_or_else(|| RuleError::Rule {
                rule: format!("parameter `{key}`"),
                message: format!(
                    "value \"{}\" is not a valid {:?} (money has at most two decimals, int none)",
                    v.value, def.ty
                ),
            })?;
            values.push(ParamValue { from, value, source: v.source.clone(), note: v.note.clone() });
        }
        values.sort_by_key(|v| v.from);
        if values.windows(2).any(|w| w[0].from == w[1].from) {
            return Err(RuleError::Rule {
                rule: format!("parameter `{key}`"),
                message: "two values start on the same date".into(),
            });
        }
        if values.is_empty() {
            return Err(RuleError::Rule { rule: format!("parameter `{key}`"), message: "no values".into() });
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
    // Derivations: over fields only (they run while reading, before a date is known).
    let no_params = HashMap::new();
    for (key, def) in &file.fields {
        if let Some(src) = &def.derive {
            let i = field_index[key] as usize;
            let names = Builder {
                fields: &fields,
                field_index: &field_index,
                enums: &enums,
                params: &no_params,
                crits: None,
                decisions: &[],
                this: None,
            };
            let node =
                expr::compile(src, &names, field_ty(&fields[i])).map_err(at(format!("field `{key}` (derive)")))?;
            if expr::refs(&node).fields.contains(&(i as u16)) {
                return Err(RuleError::Rule {
                    rule: format!("field `{key}` (derive)"),
                    message: "a field cannot be derived from itself".into(),
                });
            }
            fields[i].derive = Some(node);
        }
    }
    // Criteria.
    let mut crit_index = HashMap::new();
    for (i, key) in file.criteria.keys().enumerate() {
        check_ident(key, "criterion")?;
        if param_index.contains_key(key) {
            return Err(RuleError::Rule {
                rule: format!("criterion `{key}`"),
                message: "a parameter has the same name".into(),
            });
        }
        crit_index.insert(key.clone(), i as u16);
    }
    let mut criteria = Vec::new();
    for (key, def) in &file.criteria {
        let names = Builder {
            fields: &fields,
            field_index: &field_index,
            enums: &enums,
            params: &param_index,
            crits: Some(&crit_index),
            decisions: &[],
            this: Some(key),
        };
        let what = format!("criterion `{key}`");
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
                    message: "give either `condition`, or both `met` and `unmet`".into(),
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
        });
    }
    let crit_order = topo_order(&criteria)?;
    let (decisions, seen) = compile_decisions(&file, &fields, &field_index, &mut enums, &param_index, &crit_index)?;
    let returned = match &file.flags.returned {
        None => None,
        Some(f) => {
            let names = Builder {
                fields: &fields,
                field_index: &field_index,
                enums: &enums,
                params: &param_index,
                crits: Some(&crit_index),
                decisions: &seen,
                this: None,
            };
            let when = expr::compile(&f.when, &names, Ty::Bool).map_err(at("flag `returned`".into()))?;
            let with = match &f.with {
                None => None,
                Some(w) => Some(decision_named(&decisions, w, "标记 `returned` 的 with", None)?),
            };
            Some(Flag { label: f.label.clone(), with, when, text: f.when.clone(), source: f.source.clone() })
        }
    };
    let mut checks = Vec::new();
    for (key, def) in &file.checks {
        check_ident(key, "check")?;
        let what = format!("check `{key}`");
        let names = Builder {
            fields: &fields,
            field_index: &field_index,
            enums: &enums,
            params: &param_index,
            crits: Some(&crit_index),
            decisions: &seen,
            this: None,
        };
        let when = expr::compile(&def.when, &names, Ty::Bool).map_err(at(what.clone()))?;
        let message = message_pieces(&def.message, &field_index, &param_index)
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
    let ranged_fields = (0..fields.len() as u16)
        .filter(|&i| fields[i as usize].min.is_some() || fields[i as usize].max.is_some())
        .collect();
    let derived_fields = (0..fields.len() as u16).filter(|&i| fields[i as usize].derive.is_some()).collect();
    let plan = Plan::new(&criteria, &crit_order, &decisions, returned.as_ref(), &checks);
    let layout = layout::build(&decisions, &file.decisions.0, file.flags.returned.as_ref())
        .map_err(|message| RuleError::Rule { rule: "decisions".into(), message })?;
    Ok(RuleSet {
        layout: std::sync::Arc::new(layout),
        id: file.ruleset.id,
        name: file.ruleset.name,
        description: file.ruleset.description,
        origin,
        fields,
        field_index,
        enums,
        params,
        criteria,
        crit_order,
        decisions,
        returned,
        checks,
        plan,
        ranged_fields,
        derived_fields,
    })
}

/// (key, enum id, undecided label) of each decision, as conditions name them.
type DecisionNames = Vec<(String, u16, u16)>;

/// The decisions, in rule-file order: each may read those before it (a reference to a later one
/// is an error naming both), and declares its labels and roles. Returns them with the names
/// conditions after them may read.
fn compile_decisions(
    file: &RuleFile,
    fields: &[Field],
    field_index: &HashMap<String, u16>,
    enums: &mut Vec<EnumDef>,
    params: &HashMap<String, (u16, Ty)>,
    crits: &HashMap<String, u16>,
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
        check_ident(id, "decision")?;
        let what = format!("decision `{id}`");
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
    let mut roles_seen: Vec<(&str, &str)> = Vec::new();
    for (di, (id, def)) in defs.iter().enumerate() {
        let what = format!("decision `{id}`");
        let names = Builder { fields, field_index, enums, params, crits: Some(crits), decisions: &all, this: None };
        let mut rules = Vec::new();
        for (k, r) in def.rules.iter().enumerate() {
            let rule = format!("{what} rule {}", k + 1);
            let node = expr::compile(&r.when, &names, Ty::Bool)
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
                r.when.clone(),
            ));
        }
        let mut factors = Vec::new();
        for f in &def.factors {
            let keys: Vec<String> = crits.keys().cloned().collect();
            factors.push(*crits.get(f).ok_or_else(|| RuleError::Rule {
                rule: what.clone(),
                message: format!("factor `{f}` is not a criterion{}", expr::did_you_mean(f, &keys)),
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
        let mut roles = Vec::new();
        for (role, labels) in &def.roles {
            if !ROLES.iter().any(|r| r.0 == role) {
                let known: Vec<String> = ROLES.iter().map(|r| r.0.to_string()).collect();
                return Err(RuleError::Rule {
                    rule: what,
                    message: format!(
                        "决策 `{id}` 声明了未知的角色 `{role}`{}（已知角色：{}）",
                        expr::did_you_mean(role, &known),
                        known.join("、")
                    ),
                });
            }
            if let Some((_, other)) = roles_seen.iter().find(|(r, _)| r == role) {
                return Err(RuleError::Rule {
                    rule: what,
                    message: format!(
                        "角色 `{role}` 已由决策 `{other}` 声明，决策 `{id}` 又声明了一次：每个角色只能属于一个决策，\
                         请删去其中一处"
                    ),
                });
            }
            roles_seen.push((role, id));
            let labels = labels
                .as_slice()
                .iter()
                .map(|l| label_index(def, id, l, &format!("角色 `{role}`")))
                .collect::<Result<Vec<u16>, RuleError>>()?;
            roles.push((role.clone(), labels));
        }
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
            goal: opt(&def.goal, "goal")?,
            factors_column: def.factors_column.clone(),
            short: def.short.clone().or_else(|| def.column.clone()),
            highlight,
            roles,
        });
    }
    Ok((decisions, all))
}

/// The index of label `l` of a decision; `key` says where the rule file names it.
fn label_index(def: &file::DecisionDef, id: &str, l: &str, key: &str) -> Result<u16, RuleError> {
    def.labels.iter().position(|x| x == l).map(|i| i as u16).ok_or_else(|| {
        let shown: Vec<String> = def.labels.iter().map(|x| format!("“{x}”")).collect();
        let near = expr::did_you_mean(l, &def.labels);
        RuleError::Rule {
            rule: format!("decision `{id}`"),
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

fn check_ident(key: &str, what: &str) -> Result<(), RuleError> {
    let ok = key.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(RuleError::Rule {
            rule: format!("{what} `{key}`"),
            message: "ids are lower-case ASCII with digits and `_` (they are names in conditions)".into(),
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
                    rule: format!("criterion `{}`", cs[i].id),
                    message: format!("criteria refer to each other in a cycle: {}", names.join(" → ")),
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

    /// The decision holding `role` ([`ROLES`]) and the role's labels.
    pub fn role(&self, role: &str) -> Option<(usize, &[u16])> {
        self.decisions
            .iter()
            .enumerate()
            .find_map(|(i, d)| d.roles.iter().find(|(r, _)| r == role).map(|(_, labels)| (i, labels.as_slice())))
    }

    /// Fields that some criterion, decision or flag reads (directly or through a derivation),
    /// each with the first rule that needs it.
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
                add(n, format!("criterion `{}`", c.id));
            }
        }
        for d in &self.decisions {
            for (k, (n, _, _)) in d.rules.iter().enumerate() {
                add(n, format!("decision `{}` rule {}", d.id, k + 1));
            }
        }
        if let Some(f) = &self.returned {
            add(&f.when, "flag `returned`".into());
        }
        out
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
                None if !f.required => *slot = Cell::Blank,
                _ => return self.set_cell_general(hh, field, text, column),
            }
            return;
        }
        match f.ty {
            FieldType::Bool if text == "是" || text == "否" => *slot = Cell::Value(Scalar::Bool(text == "是")),
            FieldType::Money | FieldType::Int => match cell::plain_number(text, f.ty == FieldType::Money) {
                Some(n) => *slot = Cell::Value(Scalar::Num(n)),
                None => self.set_cell_general(hh, field, text, column),
            },
            _ => self.set_cell_general(hh, field, text, column),
        }
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
                *slot = Cell::Value(Scalar::Text(cell::normalize(text).into()));
                return;
            }
            _ => {}
        }
        if text.is_empty() || cell::is_blank(text) {
            match &f.blank {
                // Built in place, as above (the copyable kinds without a clone through the stack).
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
                let shown = crate::input::clip(text, 100);
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

    /// After all cells of a row are set: check ranges, then derive blank derivable fields.
    pub fn finish(&self, hh: &mut Household, columns: &[Option<String>]) {
        for &i in &self.ranged_fields {
            let (i, f) = (i as usize, &self.fields[i as usize]);
            let Some(Scalar::Num(v)) = hh.cells[i].value() else { continue };
            let v = *v;
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
            let msg = match (bound(f.min), bound(f.max)) {
                (Some(m), _) if v < m => Some(format!("不应小于{}", shown(f.min, m))),
                (_, Some(m)) if v > m => Some(format!("不应大于{}", shown(f.max, m))),
                _ => None,
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
            let (i, f) = (i as usize, &self.fields[i as usize]);
            let Some(node) = &f.derive else { continue };
            if !matches!(hh.cells[i], Cell::Blank) {
                continue;
            }
            let cx = Ctx { cells: &hh.cells, params: &[], crits: &[], decisions: &[], as_of_month: 0 };
            if let Some(expr::V::Num(n)) = expr::eval(node, &cx) {
                let n = if f.ty == FieldType::Money { n.round_fen() } else { n };
                hh.cells[i] = Cell::Derived(Scalar::Num(n));
            }
        }
    }

    /// The parameter values in force on a date. A date before a parameter's first value is an
    /// error naming the years the rule set covers.
    pub fn at(&self, as_of: Date) -> Result<Bound<'_>, RuleError> {
        let mut values = Vec::with_capacity(self.params.len());
        let mut picked = Vec::with_capacity(self.params.len());
        for p in &self.params {
            match p.values.iter().rposition(|v| v.from <= as_of) {
                Some(k) => {
                    values.push(p.values[k].value);
                    picked.push(k);
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
            .map(|(p, &k)| format!("{}（{}年，来源：{}）", p.values[k].value, as_of.year, p.values[k].source))
            .collect();
        Ok(Bound { rules: self, as_of, params: values, picked, param_text })
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
}

impl Bound<'_> {
    pub fn param_value(&self, i: u16) -> &ParamValue {
        &self.rules.params[i as usize].values[self.picked[i as usize]]
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
        let b = rs.at(Date::new(2024, 12, 31).unwrap()).unwrap();
        let watch = rs.decision_index("watch").unwrap();
        let risk = rs.decision_index("risk").unwrap();
        let assess = |ty: &str| {
            let cells = std::collections::BTreeMap::from([("household_type".to_string(), toml::Value::from(ty))]);
            let hh = crate::cases::household(&rs, &cells).unwrap();
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

    #[test]
    fn a_role_belongs_to_one_decision() {
        let m = load_error(&[(
            "roles = { risk_eliminated = \"可消除风险\" }",
            "roles = { risk_eliminated = \"可消除风险\", proposed_exit = \"可消除风险\" }",
        )]);
        assert!(m.contains("角色 `proposed_exit` 已由决策 `exit` 声明，决策 `elimination` 又声明了一次"), "{m}");
        let m = load_error(&[("roles = { risk_eliminated = ", "roles = { risk_eliminatd = ")]);
        assert!(m.contains("未知的角色 `risk_eliminatd`") && m.contains("risk_eliminated"), "{m}");
        let m =
            load_error(&[("roles = { risk_eliminated = \"可消除风险\" }", "roles = { risk_eliminated = \"可消除\" }")]);
        assert!(m.contains("角色 `risk_eliminated` “可消除” 不在它的 labels 中"), "{m}");
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

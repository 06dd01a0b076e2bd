//! Rule sets: load a TOML rule file (following `extends`), check every name and type, compile
//! every condition once.
//!
//! Everything that can fail because of the rule file fails here, before a row is read. The
//! national rule set and the provincial variants in `rules/` are embedded in the binary and can
//! be named instead of given as paths (`--rules guizhou-2023`).

pub mod expr;
pub mod fast;
pub mod file;

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

/// The decisions every rule set defines, in evaluation order.
pub const DECISIONS: [&str; 5] = ["eligibility", "exit", "risk", "suggested_type", "elimination"];

/// The index of each decision in [`DECISIONS`] (and in `RuleSet::decisions`); checked by a test.
pub const ELIGIBILITY: usize = 0;
pub const EXIT: usize = 1;
pub const RISK: usize = 2;
pub const SUGGESTED_TYPE: usize = 3;
pub const ELIMINATION: usize = 4;

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
    pub id: &'static str,
    pub label: String,
    pub labels: Vec<String>,
    pub enum_id: u16,
    pub undecided: u16,
    pub otherwise: u16,
    pub factors: Vec<u16>,
    pub source: String,
    /// (condition, label index, source text)
    pub rules: Vec<(Node, u16, String)>,
}

#[derive(Debug, Clone)]
pub struct Flag {
    pub label: String,
    pub when: Node,
    pub text: String,
    pub source: String,
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
    pub decisions: Vec<Decision>,
    pub returned: Option<Flag>,
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
}

impl Plan {
    fn new(criteria: &[Criterion], order: &[u16], decisions: &[Decision], returned: Option<&Flag>) -> Plan {
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

/// A rule file's text: only an ordinary file of at most [`MAX_RULE_FILE`] bytes (`extends` could
/// name `/dev/zero`, which would never end).
fn read_rule_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if !file.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err("不是普通文件（规则文件应为 .toml 文本文件）".into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_RULE_FILE + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_RULE_FILE {
        return Err(format!("文件过大（超过 {} MiB），不像规则文件", MAX_RULE_FILE >> 20));
    }
    String::from_utf8(bytes).map_err(|_| "不是 UTF-8 文本".to_string())
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
        toml::from_str(text).map_err(|e| RuleError::Parse { file: ident.clone(), message: e.to_string() })?;
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
    decisions: &'a [(String, u16)],
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
        self.decisions.iter().position(|(n, _)| n == name).map(|i| Name::Decision(i as u16, self.decisions[i].1))
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

/// Every header, alias and key names one field only (compared as headers are matched: full-width
/// and half-width alike, spaces ignored): a column must never be taken by whichever field comes
/// first.
fn check_headers(fields: &[Field]) -> Result<(), RuleError> {
    let mut claimed: HashMap<String, (usize, &str)> = HashMap::new();
    for (i, f) in fields.iter().enumerate() {
        for h in std::iter::once(&f.header).chain(&f.aliases).chain(std::iter::once(&f.key)) {
            let k = crate::input::header_key(h);
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
    check_headers(&fields)?;
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
    // Decisions, in their fixed order; each may read the ones before it.
    let mut decisions = Vec::new();
    let mut seen: Vec<(String, u16)> = Vec::new();
    let d = &file.decisions;
    for (id, def) in DECISIONS.iter().zip([&d.eligibility, &d.exit, &d.risk, &d.suggested_type, &d.elimination]) {
        let def = def.as_ref().ok_or_else(|| RuleError::Rule {
            rule: format!("decision `{id}`"),
            message: "missing: every rule set defines eligibility, exit, risk, suggested_type and elimination".into(),
        })?;
        let what = format!("decision `{id}`");
        let label_of = |l: &str| -> Result<u16, RuleError> {
            def.labels.iter().position(|x| x == l).map(|i| i as u16).ok_or_else(|| RuleError::Rule {
                rule: what.clone(),
                message: format!("label `{l}` is not in `labels` ({})", def.labels.join(", ")),
            })
        };
        enums.push(EnumDef { values: def.labels.clone(), aliases: HashMap::new() });
        let enum_id = enums.len() as u16 - 1;
        let names = Builder {
            fields: &fields,
            field_index: &field_index,
            enums: &enums,
            params: &param_index,
            crits: Some(&crit_index),
            decisions: &seen,
            this: None,
        };
        let mut rules = Vec::new();
        for (k, r) in def.rules.iter().enumerate() {
            let node = expr::compile(&r.when, &names, Ty::Bool).map_err(at(format!("{what} rule {}", k + 1)))?;
            rules.push((node, label_of(&r.label)?, r.when.clone()));
        }
        let mut factors = Vec::new();
        for f in &def.factors {
            let keys: Vec<String> = crit_index.keys().cloned().collect();
            factors.push(*crit_index.get(f).ok_or_else(|| RuleError::Rule {
                rule: what.clone(),
                message: format!("factor `{f}` is not a criterion{}", expr::did_you_mean(f, &keys)),
            })?);
        }
        decisions.push(Decision {
            id,
            label: def.label.clone(),
            labels: def.labels.clone(),
            enum_id,
            undecided: label_of(&def.undecided)?,
            otherwise: label_of(&def.otherwise)?,
            factors,
            source: def.source.clone(),
            rules,
        });
        seen.push((id.to_string(), enum_id));
    }
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
            Some(Flag { label: f.label.clone(), when, text: f.when.clone(), source: f.source.clone() })
        }
    };
    let ranged_fields = (0..fields.len() as u16)
        .filter(|&i| fields[i as usize].min.is_some() || fields[i as usize].max.is_some())
        .collect();
    let derived_fields = (0..fields.len() as u16).filter(|&i| fields[i as usize].derive.is_some()).collect();
    let plan = Plan::new(&criteria, &crit_order, &decisions, returned.as_ref());
    Ok(RuleSet {
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
        plan,
        ranged_fields,
        derived_fields,
    })
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
        let decisions: Vec<(String, u16)> = self.decisions.iter().map(|d| (d.id.to_string(), d.enum_id)).collect();
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

    pub fn decision(&self, id: &str) -> &Decision {
        self.decisions.iter().find(|d| d.id == id).expect("the five decisions always exist")
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

    #[test]
    fn decision_indices_match_their_names() {
        let named = [(ELIGIBILITY, "eligibility"), (EXIT, "exit"), (RISK, "risk"), (SUGGESTED_TYPE, "suggested_type")];
        for (i, id) in named.into_iter().chain([(ELIMINATION, "elimination")]) {
            assert_eq!(DECISIONS[i], id);
        }
        let rs = load("national").unwrap();
        assert!(rs.decisions.iter().map(|d| d.id).eq(DECISIONS));
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
}

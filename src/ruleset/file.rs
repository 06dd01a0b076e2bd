//! The rule file as written: serde structs for the TOML, unknown keys rejected.
//!
//! These are the raw, unvalidated shapes. `ruleset::load` merges `extends` chains, then
//! `ruleset::compile` checks names and types and compiles the conditions.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub ruleset: Meta,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldDef>,
    /// Member fields, read from each row of a person export (`[persons.<key>]`): what member
    /// macros (`members.exists(m, m.<key> …)`) read. Only type, header, aliases, label, values,
    /// value_aliases, blank and derive apply.
    #[serde(default)]
    pub persons: BTreeMap<String, FieldDef>,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamDef>,
    #[serde(default)]
    pub criteria: BTreeMap<String, CriterionDef>,
    #[serde(default)]
    pub decisions: Decisions,
    #[serde(default)]
    pub flags: Flags,
    /// Data-quality checks: findings reported beside the decisions, never criteria.
    #[serde(default)]
    pub checks: BTreeMap<String, CheckDef>,
    /// Warnings about the run itself (not a household), printed once when `when` holds on the
    /// assessment date.
    #[serde(default)]
    pub warnings: BTreeMap<String, WarningDef>,
    /// Policy periods, named in outputs (`ruleset::periods`).
    #[serde(default)]
    pub periods: BTreeMap<String, PeriodDef>,
    /// Words written `{term}` in labels and messages, by default; a period may change them.
    #[serde(default)]
    pub terms: BTreeMap<String, String>,
    /// The documents `source` texts cite by key (`S21`): title and 文号, so that `check` names them
    /// without the notes the keys point into.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// `adjust`'s quarterly lists, in the order they are filed.
    #[serde(default)]
    pub lists: Lists,
    /// What `adjust` shows of every list row whatever the list (`[adjust]`).
    #[serde(default)]
    pub adjust: Option<AdjustDef>,
    /// The summary by area: its levels, how persons are counted, its charts (`[report]`).
    #[serde(default)]
    pub report: Option<ReportDef>,
    /// Indicators of the summary by area, in the file's order (`[indicators.<id>]`).
    #[serde(default)]
    pub indicators: Ordered<IndicatorDef>,
    /// Figures per area the ledger lacks, for indicators' denominators (`[area_data.<id>]`).
    #[serde(default)]
    pub area_data: BTreeMap<String, AreaDataDef>,
    /// Department lists compared with the households by ID number (精准比对, `--with`), by the
    /// name conditions use (`cars`); the issue's `[sources.*]` (`[sources]` names documents).
    #[serde(default)]
    pub departments: BTreeMap<String, DepartmentDef>,
    /// Which fields hold the ID numbers department lists are compared with.
    #[serde(default)]
    pub matching: Option<MatchingDef>,
    /// How the lists marked `notice = true` are posted (公示; `tuopin notice`).
    #[serde(default)]
    pub notice: Option<NoticeDef>,
    /// The differences between rosters that need action (`tuopin reconcile`), by id.
    #[serde(default)]
    pub reconcile: BTreeMap<String, ReconcileDef>,
}

/// `[report]`: the summary by area (`assess`, `adjust`; rules/README.md "Summaries by area").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDef {
    /// The area levels, highest first: text or enum fields (`["county", "township", "village"]`).
    #[serde(default)]
    pub levels: Vec<String>,
    /// The int field giving a household's persons (`"members"`, 家庭人口数).
    #[serde(default)]
    pub persons: Option<String>,
    /// Decisions whose labels are counted per area; none: every decision shown on its own.
    #[serde(default)]
    pub decisions: Option<Vec<String>>,
    /// Decisions charted by area as stacked bars (`图表` sheet).
    #[serde(default)]
    pub charts: Vec<String>,
    /// Decisions whose totals per label are charted as a pie.
    #[serde(default)]
    pub pies: Vec<String>,
}

/// `[indicators.<id>]`: a share computed per area, `numerator / denominator`; never a quota.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorDef {
    pub label: String,
    /// What is counted: `"households"` (户) or `"persons"` (人).
    pub count: String,
    /// A condition over a household (fields, criteria, decisions): those for which it is true.
    pub numerator: String,
    /// A condition over a household: those for which it is true (`"true"`: all of the area).
    #[serde(default)]
    pub denominator: Option<String>,
    /// A figure of `[area_data.<id>]` per area (a village's registered population).
    #[serde(default)]
    pub denominator_data: Option<String>,
    /// The first and last assessment dates it is computed for (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    /// The standard it was measured against at the time, in words (shown, never compared).
    #[serde(default)]
    pub standard: Option<String>,
    pub source: String,
    /// Where the source is weak.
    #[serde(default)]
    pub note: Option<String>,
}

/// `[area_data.<id>]`: a figure per area, keyed by the area's name or its path
/// (`"青山镇/石桥村"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaDataDef {
    pub label: String,
    /// `"households"` (户) or `"persons"` (人).
    pub count: String,
    #[serde(default)]
    pub values: BTreeMap<String, u64>,
    /// A CSV file (UTF-8; a header row, then 地区, 数值), beside the rule file, adding to `values`
    /// (read when the rule file is: `ruleset::report::area_files`).
    #[serde(default)]
    pub file: Option<String>,
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Items of a section in the order the file gives them (as `[decisions.*]`).
#[derive(Debug, Clone)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ordered<T>, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of items")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// `[departments.<key>]`: a department's list (车辆登记, 学籍, …), read with `--with 标签=文件`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentDef {
    /// What `--with` names it by, and messages and reasons call it.
    pub label: String,
    /// The column holding the ID number, and its other spellings.
    pub id_header: String,
    #[serde(default)]
    pub id_aliases: Vec<String>,
    /// The columns each record carries, by the name conditions use.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnDef>,
    #[serde(default)]
    pub description: String,
    pub source: String,
}

/// A column a department record carries: `text`, `int`, `money` or `month`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub header: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub label: String,
}

/// `[matching]`: the member field (`[persons.*]`) and the household field whose ID numbers are
/// compared: every member of a person export, the head of a ledger row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingDef {
    #[serde(default)]
    pub member_id: Option<String>,
    #[serde(default)]
    pub head_id: Option<String>,
}

/// `[notice]`: how the lists marked `notice = true` are posted in the village (公示): for how
/// many days, the objection line, and which fields give the only columns a notice shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeDef {
    /// Days the notice is posted, counting the first.
    pub days: u32,
    /// The objection line printed under every village's notice.
    pub contact: String,
    /// The notice's title after the village, e.g. `公示`.
    #[serde(default)]
    pub title: Option<String>,
    /// Fields (text): the household head's name; the village group (optional).
    pub name: String,
    #[serde(default)]
    pub group: Option<String>,
    /// Field (integer): the household's size.
    pub members: String,
    /// Fields (text) naming the place each notice is for, outermost first (e.g. township, village).
    pub place: Vec<String>,
    /// Words that withhold a cell from a notice (health, disability): policy says a notice must
    /// not show them.
    #[serde(default)]
    pub withhold: Vec<String>,
    pub source: String,
}

/// `[periods.<id>]`: a named span of dates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodDef {
    pub label: String,
    /// First day (YYYY-MM-DD); none: from the beginning.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day; none: open-ended.
    #[serde(default)]
    pub until: Option<String>,
    /// The terms this period words differently.
    #[serde(default)]
    pub terms: BTreeMap<String, String>,
    pub source: String,
}

/// `[adjust]`: settings shared by every list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustDef {
    /// Fields whose change between the two snapshots is shown in 两季度变化, in order.
    #[serde(default)]
    pub changes: Vec<String>,
}

/// `[lists.*]`: any number of lists, in the order the file gives them (as `[decisions.*]`).
#[derive(Debug, Clone, Default)]
pub struct Lists(pub Vec<(String, ListDef)>);

impl<'de> Deserialize<'de> for Lists {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lists, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Lists;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of lists")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Lists, A::Error> {
                let mut out: Vec<(String, ListDef)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, ListDef>()? {
                    out.push((k, v));
                }
                Ok(Lists(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// `[lists.<key>]`: one list `adjust` writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDef {
    /// The list's name: its CSV file name, XLSX sheet name and summary row.
    pub label: String,
    /// Who is on it: a condition over `current.*`, `previous.*` and the run's booleans.
    pub when: String,
    /// The 理由 column: a template, or first-hit alternatives.
    pub reason: Reason,
    /// Columns shown after the household's location, in order.
    #[serde(default)]
    pub columns: Vec<String>,
    /// An integer field summed as 人 in the summary.
    #[serde(default)]
    pub persons: Option<String>,
    /// The first and last assessment dates the list is written for (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    /// Posted in the village (公示) by `tuopin notice`, as `[notice]` says.
    #[serde(default)]
    pub notice: bool,
    pub source: String,
}

/// A list's reason: one template, or alternatives of which the first whose `when` is true (or
/// that has none) is used.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Reason {
    One(String),
    Alternatives(Vec<ReasonAlt>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonAlt {
    #[serde(default)]
    pub when: Option<String>,
    pub text: String,
}

/// `[warnings.<id>]`: a condition over parameters and the assessment date only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningDef {
    pub when: String,
    /// With `{parameter}` for a parameter in force.
    pub message: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The rule set this one builds on: an embedded name (`national`) or a path relative to
    /// this file.
    #[serde(default)]
    pub extends: Option<String>,
    /// The lists of what it extends are dropped: this file declares all of them.
    #[serde(default)]
    pub replace_lists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Id,
    Int,
    Money,
    Bool,
    Enum,
    Month,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Id => "id",
            FieldType::Int => "int",
            FieldType::Money => "money",
            FieldType::Bool => "bool",
            FieldType::Enum => "enum",
            FieldType::Month => "month",
        }
    }
}

/// A bound of an allowed range: a number, or the name of another int field (`max = "members"`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Bound {
    Number(i64),
    Field(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub header: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub label: String,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub value_aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub min: Option<Bound>,
    #[serde(default)]
    pub max: Option<Bound>,
    /// The value a blank cell stands for (never used for an invalid cell).
    #[serde(default)]
    pub blank: Option<String>,
    /// A blank cell is a data problem.
    #[serde(default)]
    pub required: bool,
    /// CEL expression giving the value when the cell is blank or the column absent.
    #[serde(default)]
    pub derive: Option<String>,
    /// A household field of a person export: a CEL expression over the members giving its value
    /// (`members.filter(m, …).size()`), which a column of its own gives only where the members
    /// cannot (see rules/README.md).
    #[serde(default)]
    pub from_members: Option<String>,
    /// A member field whose column marks a file as a person export (人编号, 与户主关系).
    #[serde(default)]
    pub marker: bool,
    /// The cell text an absent column stands for, for every household (`""`: as if every cell
    /// were blank). Without it, a field with no column is unknown.
    #[serde(default)]
    pub absent: Option<String>,
    /// Other columns the field is read from when its own is absent: the first one present.
    #[serde(default)]
    pub alternatives: Vec<AltDef>,
    /// How help can change it, for the what-if: `"increase"`/`"decrease"` (numbers), `"wait"`
    /// (months), or the values it can be brought to (`["是"]`). None: a recorded fact, never
    /// suggested.
    #[serde(default)]
    pub action: Option<ActionDef>,
    /// A per-head amount: the what-if also gives its changes for the household (× `per`).
    #[serde(default)]
    pub total: Option<TotalDef>,
    /// How `check` words the help for a work team, a template (`为 {change} 名成员参保`); see
    /// `action::compile_action_text`.
    #[serde(default)]
    pub action_text: Option<String>,
}

/// `action = "increase"`, or the target values: `action = ["是"]` (one value may be a string).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ActionDef {
    Word(String),
    Values(Vec<String>),
}

/// `total = { per = "members", label = "家庭年纯收入" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalDef {
    pub per: String,
    pub label: String,
}

/// Another column a field can be read from, with how its cells translate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AltDef {
    pub header: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its cell texts → the field's cell texts (`{ "是" = "C", "否" = "A" }`; a key `""` gives a
    /// blank cell a value). Without it, its cells are read as the field's own.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Money,
    Int,
    Decimal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    pub label: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub description: String,
    /// Replace the inherited values instead of merging by `from`.
    #[serde(default)]
    pub replace: bool,
    pub values: Vec<ParamValue>,
}

/// When a value starts: a year (`2021`, meaning 1 January) or a date (`"2024-07-01"`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum From {
    Year(i32),
    Date(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamValue {
    pub from: From,
    /// Written as a string so that decimals stay exact (`"3937.50"`, `"0.3"`).
    pub value: String,
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionDef {
    pub label: String,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub met: Option<String>,
    #[serde(default)]
    pub unmet: Option<String>,
    pub source: String,
    /// The condition in words, for `check` (`人均纯收入高于当年扶贫标准`); `{term}`s allowed.
    #[serde(default)]
    pub text: Option<String>,
    /// What being met means for the household, for `check`'s words and colours.
    #[serde(default)]
    pub kind: CriterionKind,
}

/// What a criterion being met means for the household: a standard reached (good), a risk present
/// (bad), or a state that is neither (a policy period, a status). `check` shows a criterion with
/// the rule file's words for its kind (`[terms]`: `standard_met`, `risk_met`, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CriterionKind {
    #[default]
    Standard,
    Risk,
    State,
}

/// `[decisions.*]`: any number of decisions, in the order the file lists them (the TOML parser
/// keeps document order: toml's `preserve_order`). Each is evaluated after those before it and
/// may read them.
#[derive(Debug, Clone, Default)]
pub struct Decisions(pub Vec<(String, DecisionDef)>);

impl<'de> Deserialize<'de> for Decisions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Decisions, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Decisions;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of decisions")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Decisions, A::Error> {
                let mut out: Vec<(String, DecisionDef)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, DecisionDef>()? {
                    out.push((k, v));
                }
                Ok(Decisions(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A label, or several (a decision's `goal`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Labels {
    One(String),
    Many(Vec<String>),
}

impl Labels {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Labels::One(l) => std::slice::from_ref(l),
            Labels::Many(v) => v,
        }
    }
}

/// How XLSX shows a label of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Highlight {
    /// Red on pink, bold.
    Red,
    /// Brown on yellow.
    Yellow,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionDef {
    pub label: String,
    pub labels: Vec<String>,
    pub undecided: String,
    pub otherwise: String,
    #[serde(default)]
    pub factors: Vec<String>,
    pub source: String,
    pub rules: Vec<RuleDef>,
    /// The label meaning the decision does not concern the household (no reasons, no what-if).
    #[serde(default)]
    pub not_applicable: Option<String>,
    /// Shown with an earlier decision (its columns follow that decision's; not in 判定理由 nor
    /// in the summary's counts; `check` shows it on that decision's line).
    #[serde(default)]
    pub with: Option<String>,
    /// CSV/XLSX column header; none: no column.
    #[serde(default)]
    pub column: Option<String>,
    /// XLSX column width (characters; a CJK character counts two).
    #[serde(default)]
    pub width: Option<f64>,
    /// Its header in the terminal table (`assess --format table`); default: `column`.
    #[serde(default)]
    pub short: Option<String>,
    /// JSON Lines key, `a.b` nested; default: the decision's key.
    #[serde(default)]
    pub json: Option<String>,
    /// Column listing the labels of the factors that are true; none: no column.
    #[serde(default)]
    pub factors_column: Option<String>,
    #[serde(default)]
    pub factors_width: Option<f64>,
    /// JSON Lines key of the ids of the factors that are true; none: not in JSON.
    #[serde(default)]
    pub factors_json: Option<String>,
    /// XLSX colours of labels (`{ 高 = "red" }`).
    #[serde(default)]
    pub highlight: BTreeMap<String, Highlight>,
    /// The label, or labels, `check`'s what-if steers towards; none: no what-if.
    #[serde(default)]
    pub goal: Option<Labels>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub when: String,
    pub label: String,
    /// Said first when this rule decides (`整户无劳动力：…`), its conditions after it.
    #[serde(default)]
    pub reason: Option<String>,
    /// Whether the decision's factors are listed when this rule decides (default yes).
    #[serde(default = "yes")]
    pub factors: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flags {
    pub returned: Option<FlagDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagDef {
    pub label: String,
    pub when: String,
    pub source: String,
    /// Shown with this decision (columns, JSON, `check`), as a decision's `with`.
    #[serde(default)]
    pub with: Option<String>,
    /// CSV/XLSX column header; none: no column.
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub width: Option<f64>,
    /// JSON Lines key, `a.b` nested; default: `returned`.
    #[serde(default)]
    pub json: Option<String>,
}

/// How serious a check's finding is, in the rule file's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Severity {
    /// The data cannot be right: the household counts as having a data problem.
    #[serde(rename = "错误")]
    Error,
    /// Probably wrong, or a case to verify.
    #[serde(rename = "警告")]
    Warning,
    /// Worth a look.
    #[serde(rename = "提示")]
    Info,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "错误",
            Severity::Warning => "警告",
            Severity::Info => "提示",
        }
    }
}

/// `[reconcile.<id>]`: a difference between rosters (department lists, `[departments.*]`) that
/// needs action: `when` over the records each roster has of one person (`tuopin reconcile`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileDef {
    /// A short name, shown in the report and its summary.
    pub label: String,
    /// CEL over the rosters' record lists and the parameters: `dibao_roll.exists(r, …) &&
    /// monitoring_roll.size() == 0`.
    pub when: String,
    pub severity: Severity,
    /// Why it needs action, with `{key}` for a parameter in force.
    pub message: String,
    /// What to do about it.
    pub action: String,
    pub source: String,
}

/// `[checks.<id>]`: a finding when `when` is true (unknown: no finding).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    /// A short name, shown before the message and in summaries.
    pub label: String,
    pub when: String,
    pub severity: Severity,
    /// What is wrong, with `{key}` for the household's value of a field or a parameter in force.
    pub message: String,
    pub source: String,
}

//! `[lists.*]`: the quarterly lists `adjust` writes, compiled once at load.
//!
//! A list's condition reads two snapshots of a household: `current.<name>` and `previous.<name>`
//! (a field, criterion, decision or the flag), plus the run's booleans ([`RUN_BOOLS`]). Every
//! name a list reads gets a slot; `adjust` fills the slots of each household (an unknown value
//! where a snapshot has no row) and evaluates the conditions with the same compiled evaluator
//! as the decisions, in three-valued logic: unknown ⇒ not on the list. Nothing here knows a list,
//! a household type or a policy word: they are the rule file's.

use std::cell::RefCell;
use std::collections::HashMap;

use super::expr::{self, Name, Names, Node, Ty};
use super::file::{self, RuleFile};
use super::{fast, Builder, Decision, Field, RuleError};
use crate::value::Date;

/// Which snapshot a value is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Current,
    Previous,
}

/// The booleans of a run that are not a snapshot's values (`adjust::Env::fill` reads them by
/// this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunBool {
    Appeared,
    Disappeared,
    Matched,
    HasProblems,
    Duplicated,
}

/// (name in conditions, which, meaning) — documented in rules/README.md.
pub const RUN_BOOLS: [(&str, RunBool, &str); 5] = [
    ("appeared", RunBool::Appeared, "户编号只在本季度出现（上季度没有，且未重复）"),
    ("disappeared", RunBool::Disappeared, "户编号只在上季度出现（本季度没有，且未重复）"),
    ("matched", RunBool::Matched, "两季度各有一行同一户编号"),
    ("has_problems", RunBool::HasProblems, "本季度这一行有数据问题或“错误”级核查发现，或户编号在任一季度重复"),
    ("duplicated", RunBool::Duplicated, "户编号在任一季度重复出现（不作匹配）"),
];

/// What a bool slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolSlot {
    Crit(Side, u16),
    Flag(Side),
    Run(RunBool),
}

/// The values the lists read, each in a slot: conditions are compiled against slot indices, so
/// a household's environment holds only what some list reads.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    pub fields: Vec<(Side, u16)>,
    pub bools: Vec<BoolSlot>,
    pub decisions: Vec<(Side, u16)>,
    /// The same slots by side (current, previous: indexed by `Side as usize`), for filling a
    /// household's slots side by side without looking at every slot ([`Slots::by_side`]).
    pub sides: [SideSlots; 2],
    /// The bool slots of the run's booleans: (slot, which).
    pub run: Vec<(u16, RunBool)>,
}

/// The slots one side fills, each kind in slot order (the order `adjust::keep` keeps a
/// household's values in).
#[derive(Debug, Clone, Default)]
pub struct SideSlots {
    /// (field slot, field).
    pub fields: Vec<(u16, u16)>,
    /// (bool slot, criterion; `None`: the flag).
    pub bools: Vec<(u16, Option<u16>)>,
    /// (decision slot, decision).
    pub decisions: Vec<(u16, u16)>,
}

impl Slots {
    /// `sides` and `run`, from the slots (once they are all given).
    fn by_side(&mut self) {
        let mut sides = [SideSlots::default(), SideSlots::default()];
        for (k, &(side, i)) in self.fields.iter().enumerate() {
            sides[side as usize].fields.push((k as u16, i));
        }
        self.run.clear();
        for (k, b) in self.bools.iter().enumerate() {
            match *b {
                BoolSlot::Crit(side, c) => sides[side as usize].bools.push((k as u16, Some(c))),
                BoolSlot::Flag(side) => sides[side as usize].bools.push((k as u16, None)),
                BoolSlot::Run(r) => self.run.push((k as u16, r)),
            }
        }
        for (k, &(side, d)) in self.decisions.iter().enumerate() {
            sides[side as usize].decisions.push((k as u16, d));
        }
        self.sides = sides;
    }

    fn slot<T: PartialEq>(v: &mut Vec<T>, x: T) -> u16 {
        match v.iter().position(|y| *y == x) {
            Some(i) => i as u16,
            None => {
                v.push(x);
                v.len() as u16 - 1
            }
        }
    }
}

/// A piece of a reason template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// A field slot's value.
    Field(u16),
    /// A bool slot's value (是/否).
    Bool(u16),
    /// A decision slot's label.
    Decision(u16),
    Param(u16),
    /// The reasons of a decision, of the snapshot the row is from.
    Reasons(u16),
    /// The labels of a decision's factors that are true.
    Factors(u16),
    /// The labels of the yes/no fields a criterion reads that are 是.
    Evidence(u16),
    /// The row's data problems.
    Problems,
}

/// A column a list shows, of the snapshot the row is from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Column {
    Field(u16),
    Crit(u16),
    Decision(u16),
    Flag,
    Factors(u16),
}

/// One list, compiled.
#[derive(Debug, Clone)]
pub struct List {
    pub key: String,
    pub label: String,
    pub when: Node,
    pub text: String,
    /// First-hit: (condition, template); no condition = always.
    pub reason: Vec<(Option<Node>, Vec<Part>)>,
    pub columns: Vec<(String, Column)>,
    pub persons: Option<u16>,
    pub from: Option<Date>,
    pub until: Option<Date>,
    pub source: String,
    /// Posted in the village (公示; `[notice]`).
    pub notice: bool,
    pub cond: fast::Cond,
    pub reason_conds: Vec<Option<fast::Cond>>,
}

impl List {
    /// Whether the list is written for an assessment on `d`.
    pub fn applies(&self, d: Date) -> bool {
        self.from.is_none_or(|f| f <= d) && self.until.is_none_or(|u| d <= u)
    }
}

/// Every list of a rule set, the slots they read, and the fields shown in 两季度变化.
#[derive(Debug, Clone, Default)]
pub struct ListSet {
    pub lists: Vec<List>,
    pub slots: Slots,
    /// (field, its current slot, its previous slot).
    pub changes: Vec<(u16, u16, u16)>,
}

/// Names in a list's condition or template.
struct ListNames<'a> {
    base: &'a Builder<'a>,
    flag: Option<&'a str>,
    slots: RefCell<Slots>,
}

impl ListNames<'_> {
    fn field_slot(&self, side: Side, i: u16) -> u16 {
        Slots::slot(&mut self.slots.borrow_mut().fields, (side, i))
    }
    fn bool_slot(&self, b: BoolSlot) -> u16 {
        Slots::slot(&mut self.slots.borrow_mut().bools, b)
    }
}

impl Names for ListNames<'_> {
    fn resolve(&self, name: &str) -> Option<Name> {
        if let Some((ns, key)) = name.split_once('.') {
            let side = match ns {
                "current" => Side::Current,
                "previous" => Side::Previous,
                _ => return None,
            };
            if Some(key) == self.flag {
                return Some(Name::Crit(self.bool_slot(BoolSlot::Flag(side))));
            }
            return match self.base.resolve(key)? {
                Name::Field(i, t) => Some(Name::Field(self.field_slot(side, i), t)),
                Name::Crit(i) => Some(Name::Crit(self.bool_slot(BoolSlot::Crit(side, i)))),
                Name::Decision(i, e, u) => {
                    Some(Name::Decision(Slots::slot(&mut self.slots.borrow_mut().decisions, (side, i)), e, u))
                }
                Name::Param(..) => None,
            };
        }
        if let Some(&(_, b, _)) = RUN_BOOLS.iter().find(|r| r.0 == name) {
            return Some(Name::Crit(self.bool_slot(BoolSlot::Run(b))));
        }
        match self.base.resolve(name)? {
            p @ Name::Param(..) => Some(p),
            _ => None,
        }
    }
    fn candidates(&self) -> Vec<String> {
        let mut v = Vec::new();
        let b = self.base;
        let mut own: Vec<&str> = b.fields.iter().map(|f| f.key.as_str()).collect();
        own.extend(b.crits.into_iter().flat_map(|c| c.keys().map(String::as_str)));
        own.extend(b.decisions.iter().map(|d| d.0.as_str()));
        own.extend(self.flag);
        for side in ["current", "previous"] {
            v.extend(own.iter().map(|k| format!("{side}.{k}")));
        }
        v.extend(RUN_BOOLS.iter().map(|r| r.0.to_string()));
        v.extend(b.params.keys().cloned());
        v.sort();
        v.dedup();
        v
    }
    fn dotted_names(&self) -> bool {
        // As `candidates`: `current.<name>` and `previous.<name>` for every field, criterion,
        // decision and the flag; a parameter's own name may have a dot.
        // Debug builds (the tests) check the answer against `candidates` on every rule file read.
        let b = self.base;
        let dotted = !b.fields.is_empty()
            || b.crits.is_some_and(|c| !c.is_empty())
            || !b.decisions.is_empty()
            || self.flag.is_some()
            || b.params.keys().any(|k| k.contains('.'));
        debug_assert_eq!(dotted, self.candidates().iter().any(|c| c.contains('.')));
        dotted
    }
    fn enum_values(&self, e: u16) -> &[String] {
        self.base.enum_values(e)
    }
    fn enum_alias(&self, e: u16, s: &str) -> Option<u16> {
        self.base.enum_alias(e, s)
    }
}

fn rule_err(rule: &str, message: impl Into<String>) -> RuleError {
    RuleError::Rule { rule: rule.to_string(), message: message.into() }
}

/// Compile the lists of `file` (fields, criteria and decisions already compiled).
pub(super) fn compile(
    file: &RuleFile,
    base: &Builder,
    fields: &[Field],
    decisions: &[Decision],
    criteria: &[super::Criterion],
) -> Result<ListSet, RuleError> {
    let names = ListNames {
        base,
        flag: file.flags.returned.as_ref().map(|_| "returned"),
        slots: RefCell::new(Slots::default()),
    };
    let mut lists = Vec::new();
    for (key, def) in &file.lists.0 {
        super::check_ident(key, "名单")?;
        let what = format!("名单 `{key}`");
        let label = def.label.trim();
        check_label(&what, label)?;
        let when = expr::compile(&def.when, &names, Ty::Bool).map_err(|e| rule_err(&what, e.0))?;
        let reason = list_reason(&what, def, &names, base, decisions)?;
        let mut columns = Vec::new();
        for c in &def.columns {
            columns.push(column(c, base, fields, decisions, criteria, file).map_err(|m| rule_err(&what, m))?);
        }
        let persons = list_persons(&what, def, base, fields)?;
        let (from, until) = list_period(&what, def)?;
        let cond = fast::Cond::new(&when);
        let reason_conds = reason.iter().map(|(c, _)| c.as_ref().map(fast::Cond::new)).collect();
        lists.push(List {
            key: key.clone(),
            label: label.to_string(),
            when,
            text: def.when.clone(),
            reason,
            columns,
            persons,
            from,
            until,
            source: def.source.clone(),
            notice: def.notice,
            cond,
            reason_conds,
        });
    }
    check_overlaps(&lists)?;
    let mut changes = Vec::new();
    for k in file.adjust.as_ref().map(|a| a.changes.as_slice()).unwrap_or_default() {
        let Some(&i) = base.field_index.get(k.as_str()) else {
            let keys: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
            return Err(rule_err("[adjust] changes", format!("`{k}` 不是字段{}", expr::did_you_mean(k, &keys))));
        };
        changes.push((i, names.field_slot(Side::Current, i), names.field_slot(Side::Previous, i)));
    }
    let mut slots = names.slots.into_inner();
    slots.by_side();
    Ok(ListSet { lists, slots, changes })
}

/// A list's label is its file and sheet name: not empty, no character a file or sheet name
/// cannot have, at most 31 characters, not the summary's name.
fn check_label(what: &str, label: &str) -> Result<(), RuleError> {
    if label.is_empty() {
        return Err(rule_err(what, "label 不能为空：它是名单的文件名和工作表名"));
    }
    if let Some(c) = label.chars().find(|c| "[]:*?/\\".contains(*c) || c.is_control()) {
        return Err(rule_err(what, format!("label “{label}” 含有“{c}”：文件名和工作表名中不能用 [ ] : * ? / \\")));
    }
    // The workbook's own sheets (src/output/xlsx.rs, src/output/report.rs).
    const RESERVED: [&str; 5] = ["汇总", "地区汇总", "指标说明", "图表", "名单图表"];
    if label.chars().count() > 31 || RESERVED.contains(&label) {
        let reserved = RESERVED.map(|r| format!("“{r}”")).join("、");
        return Err(rule_err(what, format!("label “{label}” 不能作工作表名（最多31个字符，且不能是{reserved}）")));
    }
    Ok(())
}

/// A list's 理由: first-hit alternatives, each a condition (none: always) and a template.
type Reasons = Vec<(Option<Node>, Vec<Part>)>;

/// The 理由 column of a list: a template, or first-hit alternatives, each compiled.
fn list_reason(
    what: &str,
    def: &file::ListDef,
    names: &ListNames,
    base: &Builder,
    decisions: &[Decision],
) -> Result<Reasons, RuleError> {
    let alts: Vec<(Option<&str>, &str)> = match &def.reason {
        file::Reason::One(t) => vec![(None, t.as_str())],
        file::Reason::Alternatives(v) => v.iter().map(|a| (a.when.as_deref(), a.text.as_str())).collect(),
    };
    if alts.is_empty() {
        return Err(rule_err(what, "reason 不能为空"));
    }
    let mut reason = Vec::new();
    for (k, (w, t)) in alts.iter().enumerate() {
        let at = format!("{what} (reason 第 {} 项)", k + 1);
        let cond = match w {
            Some(w) => Some(expr::compile(w, names, Ty::Bool).map_err(|e| rule_err(&at, e.0))?),
            None => None,
        };
        let parts = template(t, names, base, decisions).map_err(|m| rule_err(&at, m))?;
        reason.push((cond, parts));
    }
    Ok(reason)
}

/// The field that counts a household's persons on a list (`persons`): an integer field.
fn list_persons(what: &str, def: &file::ListDef, base: &Builder, fields: &[Field]) -> Result<Option<u16>, RuleError> {
    Ok(match &def.persons {
        None => None,
        Some(p) => match base.field_index.get(p.as_str()) {
            Some(&i) if fields[i as usize].ty == file::FieldType::Int => Some(i),
            _ => {
                let ints: Vec<String> =
                    fields.iter().filter(|f| f.ty == file::FieldType::Int).map(|f| f.key.clone()).collect();
                return Err(rule_err(what, format!("persons = \"{p}\" 不是整数字段{}", expr::did_you_mean(p, &ints))));
            }
        },
    })
}

/// The period a list applies in (`from`, `until`).
fn list_period(what: &str, def: &file::ListDef) -> Result<(Option<Date>, Option<Date>), RuleError> {
    let date = |s: &Option<String>, k: &str| -> Result<Option<Date>, RuleError> {
        s.as_ref()
            .map(|s| Date::parse(s).ok_or_else(|| rule_err(what, format!("{k} = \"{s}\" 应为 YYYY-MM-DD 格式的日期"))))
            .transpose()
    };
    let (from, until) = (date(&def.from, "from")?, date(&def.until, "until")?);
    if let (Some(f), Some(u)) = (from, until) {
        if u < f {
            return Err(rule_err(what, format!("until {u} 早于 from {f}")));
        }
    }
    Ok((from, until))
}

/// One file per label: two lists may share a label only in periods that do not overlap.
fn check_overlaps(lists: &[List]) -> Result<(), RuleError> {
    for (i, a) in lists.iter().enumerate() {
        for b in &lists[..i] {
            // The later start against the earlier end (no `until`: no end).
            let end = match (a.until, b.until) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            let overlap = a.from.max(b.from).zip(end).is_none_or(|(s, e)| s <= e);
            if a.label == b.label && overlap {
                return Err(rule_err(
                &format!("名单 `{}`", a.key),
                format!(
                    "名单 `{}` 与名单 `{}` 同名（“{}”）且适用期间重叠：同一次运行中名单名须唯一（它是文件名和工作表名）",
                    a.key, b.key, a.label
                ),
            ));
            }
        }
    }
    Ok(())
}

/// A column named in `columns`: a field, a decision, a criterion, the flag, or `factors.<decision>`.
fn column(
    c: &str,
    base: &Builder,
    fields: &[Field],
    decisions: &[Decision],
    criteria: &[super::Criterion],
    file: &RuleFile,
) -> Result<(String, Column), String> {
    if let Some(d) = c.strip_prefix("factors.") {
        if let Some(i) = decisions.iter().position(|x| x.id == d) {
            let dd = &decisions[i];
            let header = dd.factors_column.clone().unwrap_or_else(|| format!("{}因素", dd.label));
            return Ok((header, Column::Factors(i as u16)));
        }
    }
    if let Some(&i) = base.field_index.get(c) {
        return Ok((fields[i as usize].label.clone(), Column::Field(i)));
    }
    if let Some(i) = decisions.iter().position(|d| d.id == c) {
        let d = &file.decisions.0[i].1;
        return Ok((d.column.clone().unwrap_or_else(|| d.label.clone()), Column::Decision(i as u16)));
    }
    if let Some(i) = criteria.iter().position(|x| x.id == c) {
        return Ok((criteria[i].label.clone(), Column::Crit(i as u16)));
    }
    if let Some(f) = file.flags.returned.as_ref().filter(|_| c == "returned") {
        return Ok((f.column.clone().unwrap_or_else(|| f.label.clone()), Column::Flag));
    }
    let mut names: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
    names.extend(decisions.iter().map(|d| d.id.clone()));
    names.extend(decisions.iter().map(|d| format!("factors.{}", d.id)));
    names.extend(criteria.iter().map(|x| x.id.clone()));
    Err(format!("columns 中的 `{c}` 不是字段、决策、判定标准或 factors.<决策>{}", expr::did_you_mean(c, &names)))
}

/// A reason template: `{current.members}`, `{previous.household_type}`, `{reasons.exit}`,
/// `{factors.risk}`, `{evidence.excluded}`, `{problems}`, a parameter; `{{`/`}}` are braces.
fn template(t: &str, names: &ListNames, base: &Builder, decisions: &[Decision]) -> Result<Vec<Part>, String> {
    let crits: &HashMap<String, u16> = base.crits.expect("lists see the criteria");
    super::split_template(t, Part::Text, |key, _| {
        let decision = |d: &str| decisions.iter().position(|x| x.id == d).map(|i| i as u16);
        let part = match key.split_once('.') {
            _ if key == "problems" => Some(Part::Problems),
            Some(("reasons", d)) => decision(d).map(Part::Reasons),
            Some(("factors", d)) => decision(d).map(Part::Factors),
            Some(("evidence", c)) => crits.get(c).map(|&i| Part::Evidence(i)),
            _ => match names.resolve(key) {
                Some(Name::Field(i, _)) => Some(Part::Field(i)),
                Some(Name::Crit(i)) => Some(Part::Bool(i)),
                Some(Name::Decision(i, _, _)) => Some(Part::Decision(i)),
                Some(Name::Param(i, _)) => Some(Part::Param(i)),
                None => None,
            },
        };
        part.map(Some).ok_or_else(|| {
            let mut all = names.candidates();
            all.push("problems".into());
            all.extend(decisions.iter().flat_map(|d| [format!("reasons.{}", d.id), format!("factors.{}", d.id)]));
            all.extend(crits.keys().map(|c| format!("evidence.{c}")));
            format!(
                "{{{key}}} 不是可用的名称（current.<名称>、previous.<名称>、reasons.<决策>、factors.<决策>、evidence.<判定标准>、problems 或参数）{}",
                expr::did_you_mean(key, &all)
            )
        })
    })
}

//! Quarterly dynamic-adjustment lists (动态调整), pure: which of the rule file's `[lists.*]` a
//! household is on, and why.
//!
//! A household is seen through two snapshots, the current quarter's row and the previous one's
//! (either may be missing). The values its lists read fill an [`Env`] of slots
//! (`ruleset::lists`); each list's condition is evaluated on it, and its reason template filled
//! from it and from the row the list entry comes from. The command (`cmd::adjust`) does the
//! reading, matching and writing; this module only decides. It names no list and no policy word:
//! those are the rule file's.

pub mod accounting;
pub mod index;
pub mod packed;

use crate::adjust::packed::{PackedCells, PackedView};
use crate::engine::specialise::Needs;
use crate::engine::{self, Assessment};
use crate::household::{Cell, Household, Missing, Scalar};
use crate::ruleset::expr::{self, Ctx};
use crate::ruleset::lists::{BoolSlot, Column, List, Part, Side, SideSlots};
use crate::ruleset::{Bound, RuleSet, Test};

/// One snapshot's row, assessed.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub hh: &'a Household,
    pub a: &'a Assessment,
}

/// One side of a household: its row, the values kept of it ([`keep`]), or nothing (unknown).
#[derive(Clone, Copy)]
pub enum Snap<'a> {
    Row(Row<'a>),
    Kept(Kept<'a>),
    None,
}

/// The values of one side's slots, in slot order, as [`keep`] appends them.
#[derive(Debug, Clone, Copy)]
pub struct Kept<'a> {
    pub cells: PackedView<'a>,
    pub bools: &'a [Option<bool>],
    pub decisions: &'a [u16],
}

/// How many values of each kind [`keep`] appends for `side`.
pub fn kept_sizes(rs: &RuleSet, side: Side) -> (usize, usize, usize) {
    let s = &rs.lists.slots.sides[side as usize];
    (s.fields.len(), s.bools.len(), s.decisions.len())
}

/// Append the values `side`'s slots read of `row` (what is kept of a previous household until
/// its current row comes), in slot order ([`SideSlots`]).
pub fn keep(
    rs: &RuleSet,
    side: Side,
    row: Row,
    cells: &mut PackedCells,
    bools: &mut Vec<Option<bool>>,
    decisions: &mut Vec<u16>,
) {
    let s = &rs.lists.slots.sides[side as usize];
    for &(_, i) in &s.fields {
        cells.push(&row.hh.cells[i as usize]);
    }
    bools.extend(s.bools.iter().map(|&(_, c)| bool_of(row.a, c)));
    decisions.extend(s.decisions.iter().map(|&(_, d)| row.a.decisions[d as usize]));
}

/// A side's bool slot of an assessment: criterion `c`, or the flag.
#[inline(always)]
fn bool_of(a: &Assessment, c: Option<u16>) -> Option<bool> {
    match c {
        Some(c) => a.crits[c as usize],
        None => a.returned,
    }
}

/// What a pass over the previous quarter needs of each household so that what [`keep`] keeps of
/// it, and the decisions in `also` (the quarters' chart), are what a full assessment gives: the
/// fields, criteria, flag and decisions the lists read of the previous side, everything they are
/// computed from (criteria, decisions, derived fields), and the household id, as a ledger's row
/// gives them (a person export is read whole: [`crate::input::Layout::restrict`]). `None` when
/// some of it reads members or a department list (the whole row is needed then).
pub fn previous_needs(rs: &RuleSet, also: &[u16]) -> Option<Needs> {
    enum Item<'a> {
        Field(u16),
        Crit(u16),
        Decision(u16),
        Node(&'a expr::Node),
    }
    let s = &rs.lists.slots;
    let mut todo: Vec<Item> = Vec::new();
    let mut returned = false;
    todo.extend(s.fields.iter().filter(|f| f.0 == Side::Previous).map(|f| Item::Field(f.1)));
    todo.extend(s.decisions.iter().filter(|d| d.0 == Side::Previous).map(|d| Item::Decision(d.1)));
    todo.extend(also.iter().map(|&d| Item::Decision(d)));
    for b in &s.bools {
        match *b {
            BoolSlot::Crit(Side::Previous, c) => todo.push(Item::Crit(c)),
            BoolSlot::Flag(Side::Previous) => {
                returned = true;
                todo.extend(rs.returned.as_ref().map(|f| Item::Node(&f.when)));
            }
            _ => {}
        }
    }
    todo.push(Item::Field(rs.field_index["household_id"]));
    let mut fields = vec![false; rs.fields.len()];
    let (mut crits, mut decisions) = (vec![false; rs.criteria.len()], vec![false; rs.decisions.len()]);
    while let Some(item) = todo.pop() {
        match item {
            Item::Field(f) if !std::mem::replace(&mut fields[f as usize], true) => {
                let field = &rs.fields[f as usize];
                if field.department.is_some() {
                    return None;
                }
                // (A ledger row has no members: a derive reading them leaves the cell as read.)
                todo.extend(field.derive.as_ref().filter(|d| !expr::reads_members(d)).map(Item::Node));
            }
            Item::Crit(c) if !std::mem::replace(&mut crits[c as usize], true) => match &rs.criteria[c as usize].test {
                Test::Condition(n) => todo.push(Item::Node(n)),
                Test::MetUnmet(m, u) => todo.extend([Item::Node(m), Item::Node(u)]),
            },
            Item::Decision(d) if !std::mem::replace(&mut decisions[d as usize], true) => {
                todo.extend(rs.decisions[d as usize].rules.iter().map(|r| Item::Node(&r.0)));
            }
            Item::Node(n) => {
                let mut plain = true;
                expr::walk(n, &mut |x| match x {
                    expr::Node::Field(i) | expr::Node::Blank(i) | expr::Node::Present(i) => todo.push(Item::Field(*i)),
                    expr::Node::Crit(i) => todo.push(Item::Crit(*i)),
                    expr::Node::Decision(i, _) => todo.push(Item::Decision(*i)),
                    expr::Node::Members(..)
                    | expr::Node::Agg(..)
                    | expr::Node::Member(_)
                    | expr::Node::MemberBlank(_)
                    | expr::Node::Record(..)
                    | expr::Node::RecordBlank(..) => plain = false,
                    _ => {}
                });
                if !plain {
                    return None;
                }
            }
            _ => {}
        }
    }
    Some(Needs { fields, crits, decisions, returned })
}

/// What the run knows of a household beyond its snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunFacts {
    pub appeared: bool,
    pub disappeared: bool,
    pub matched: bool,
    pub has_problems: bool,
    pub duplicated: bool,
}

/// The slots of one household: what its lists' conditions and reasons read.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub cells: Vec<Cell>,
    pub bools: Vec<Option<bool>>,
    pub decisions: Vec<u16>,
}

impl Env {
    pub fn new(rs: &RuleSet, current: Snap, previous: Snap, run: &RunFacts) -> Env {
        let mut env = Env::default();
        env.fill(rs, current, previous, run);
        env
    }

    /// As [`Env::new`], into this one (its buffers reused: no allocation per household). Side by
    /// side, each slot written in place from where its side keeps it ([`SideSlots`]).
    pub fn fill(&mut self, rs: &RuleSet, current: Snap, previous: Snap, run: &RunFacts) {
        let s = &rs.lists.slots;
        if (self.cells.len(), self.bools.len(), self.decisions.len())
            != (s.fields.len(), s.bools.len(), s.decisions.len())
        {
            self.cells.resize(s.fields.len(), Cell::Blank);
            self.bools.resize(s.bools.len(), None);
            self.decisions.resize(s.decisions.len(), 0);
        }
        self.fill_side(rs, &s.sides[Side::Current as usize], current);
        self.fill_side(rs, &s.sides[Side::Previous as usize], previous);
        // In `RunBool`'s order.
        let facts = [run.appeared, run.disappeared, run.matched, run.has_problems, run.duplicated];
        for &(slot, r) in &s.run {
            self.bools[slot as usize] = Some(facts[r as usize]);
        }
    }

    /// The slots of one side, from its snapshot.
    #[inline(always)]
    fn fill_side(&mut self, rs: &RuleSet, of: &SideSlots, snap: Snap) {
        match snap {
            Snap::Row(r) => {
                for &(slot, i) in &of.fields {
                    self.cells[slot as usize].copy_from(&r.hh.cells[i as usize]);
                }
                for &(slot, c) in &of.bools {
                    self.bools[slot as usize] = bool_of(r.a, c);
                }
                for &(slot, d) in &of.decisions {
                    self.decisions[slot as usize] = r.a.decisions[d as usize];
                }
            }
            Snap::Kept(kept) => {
                kept.cells.set_slots(&of.fields, &mut self.cells);
                for (&(slot, _), &v) in of.bools.iter().zip(kept.bools) {
                    self.bools[slot as usize] = v;
                }
                for (&(slot, _), &d) in of.decisions.iter().zip(kept.decisions) {
                    self.decisions[slot as usize] = d;
                }
            }
            Snap::None => {
                for &(slot, i) in &of.fields {
                    self.cells[slot as usize] = Cell::Absent(Missing::Field(i));
                }
                for &(slot, _) in &of.bools {
                    self.bools[slot as usize] = None;
                }
                // Undecided: a comparison with it is unknown.
                for &(slot, d) in &of.decisions {
                    self.decisions[slot as usize] = rs.decisions[d as usize].undecided;
                }
            }
        }
    }

    fn ctx<'a>(&'a self, b: &'a Bound) -> Ctx<'a> {
        // Lists read the households' facts, not their members.
        Ctx::facts(&self.cells, &b.params, &self.bools, &self.decisions, b.as_of)
    }
}

/// One list row of a household: which list (an index into the run's lists), its reason and the
/// values of the list's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct OnList {
    pub list: usize,
    pub reason: String,
    pub columns: Vec<String>,
    /// The list's `persons` field of the row (0 when unknown or not counted).
    pub persons: u64,
}

/// The conditions of `lists` (the rule set's lists in force, in order), run together for each
/// household by [`lists_of`] (one chain of steps, as the engine runs its own).
pub fn conditions(lists: &[&List]) -> engine::Conditions {
    let nodes: Vec<&expr::Node> = lists.iter().map(|l| &l.when).collect();
    engine::Conditions::new(&nodes)
}

/// The lists of `lists` (the rule set's lists in force, in order; `conds` their [`conditions`];
/// `reasons` the run's prepared reasons, for `{reasons.<decision>}`) a household is on: a list
/// whose condition is unknown does not have it. `row` is the snapshot the entries come from (for
/// reasons, factors, evidence and columns); `problems` is what `{problems}` shows.
pub fn lists_of(
    b: &Bound,
    lists: &[&List],
    (conds, reasons): (&engine::Conditions, &engine::Reasons),
    env: &Env,
    row: Option<Row>,
    problems: &str,
) -> Vec<OnList> {
    let cx = env.ctx(b);
    let mut out = Vec::new();
    conds.each_true(&cx, |k| {
        let l = lists[k];
        let pick = l.reason_conds.iter().position(|c| c.as_ref().is_none_or(|c| c.eval(&cx) == Some(true)));
        // (Room for a usual reason at once, not grown from nothing.)
        let mut reason = String::with_capacity(64);
        if let Some(p) = pick {
            for part in &l.reason[p].1 {
                write_part(&mut reason, b, reasons, part, env, row, problems);
            }
        }
        let columns = l.columns.iter().map(|(_, c)| column_text(b, *c, row)).collect();
        let persons = match (l.persons, row) {
            (Some(p), Some(r)) => match r.hh.cells[p as usize].value() {
                Some(Scalar::Num(n)) => n.as_int().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                _ => 0,
            },
            _ => 0,
        };
        out.push(OnList { list: k, reason, columns, persons });
    });
    out
}

/// An unknown value as shown.
const BLANK: &str = "（空白）";

fn write_part(
    out: &mut String,
    b: &Bound,
    reasons: &engine::Reasons,
    part: &Part,
    env: &Env,
    row: Option<Row>,
    problems: &str,
) {
    let rs = b.rules;
    match part {
        Part::Text(t) => out.push_str(t),
        Part::Field(slot) => {
            let i = rs.lists.slots.fields[*slot as usize].1;
            write_value(out, rs, i, &env.cells[*slot as usize]);
        }
        Part::Bool(slot) => out.push_str(bool_text(env.bools[*slot as usize])),
        Part::Decision(slot) => {
            let d = rs.lists.slots.decisions[*slot as usize].1 as usize;
            out.push_str(&rs.decisions[d].labels[env.decisions[*slot as usize] as usize]);
        }
        Part::Param(i) => b.params[*i as usize].write_to(out),
        Part::Reasons(d) => {
            if let Some(r) = row {
                // (What `engine::write_decision_reasons` writes, from the sentences prepared.)
                reasons.write_one(out, r.hh, r.a, *d as usize);
            }
        }
        Part::Factors(d) => {
            if let Some(r) = row {
                out.push_str(&factor_labels(b, r.a, *d as usize));
            }
        }
        Part::Evidence(c) => {
            if let Some(r) = row {
                out.push_str(&evidence(rs, r.hh, *c as usize).join("、"));
            }
        }
        Part::Problems => out.push_str(problems),
    }
}

fn bool_text(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "是",
        Some(false) => "否",
        None => BLANK,
    }
}

/// A cell's value as shown in a list: `4`, `6100`, an option's text, `是`, `2023-06`; unknown: （空白）.
fn write_value(out: &mut String, rs: &RuleSet, field: u16, c: &Cell) {
    match c.value() {
        None => out.push_str(BLANK),
        Some(Scalar::Num(n)) => n.write_to(out),
        Some(Scalar::Enum(e)) => {
            let f = &rs.fields[field as usize];
            out.push_str(f.enum_id.map(|id| rs.enums[id as usize].values[*e as usize].as_str()).unwrap_or(BLANK));
        }
        Some(Scalar::Bool(v)) => out.push_str(bool_text(Some(*v))),
        Some(Scalar::Month(m)) => out.push_str(&crate::value::fmt_month(*m)),
        Some(Scalar::Text(t)) => out.push_str(t),
    }
}

/// The labels of decision `d`'s factors that are true, joined by `、`.
fn factor_labels(b: &Bound, a: &Assessment, d: usize) -> String {
    let mut s = String::new();
    crate::output::write_factor_labels(&mut s, b, a, d);
    s
}

/// The labels of the yes/no fields criterion `c` reads that are 是 (the evidence behind it:
/// `有小汽车`).
fn evidence<'r>(rs: &'r RuleSet, hh: &Household, c: usize) -> Vec<&'r str> {
    let nodes: Vec<&expr::Node> = match &rs.criteria[c].test {
        Test::Condition(n) => vec![n],
        Test::MetUnmet(m, _) => vec![m],
    };
    let mut out = Vec::new();
    for n in nodes {
        for fi in expr::refs(n).fields {
            if hh.cells[fi as usize].value() == Some(&Scalar::Bool(true)) {
                out.push(rs.fields[fi as usize].label.as_str());
            }
        }
    }
    out
}

/// A list column's value of `row` (empty without a row).
fn column_text(b: &Bound, c: Column, row: Option<Row>) -> String {
    let rs = b.rules;
    let Some(r) = row else { return String::new() };
    let mut s = String::new();
    match c {
        Column::Field(i) => match &r.hh.cells[i as usize] {
            Cell::Invalid(raw) => s.push_str(raw),
            cell if cell.value().is_none() => {}
            cell => write_value(&mut s, rs, i, cell),
        },
        Column::Crit(i) => s.push_str(bool_text(r.a.crits[i as usize])),
        Column::Decision(d) => s.push_str(r.a.label(b, d as usize)),
        Column::Flag => s.push_str(bool_text(r.a.returned)),
        Column::Factors(d) => s.push_str(&factor_labels(b, r.a, d as usize)),
    }
    s
}

/// What changed between the quarters, over the rule file's `[adjust] changes`
/// (`家庭人口数 4 → 3；人均纯收入 6100 → 3900`). An option field (户类型) that became blank or
/// unreadable is a change; a number is compared only when both quarters have one.
pub fn changes(rs: &RuleSet, env: &Env) -> String {
    let mut out = String::new();
    for &(f, cur, prev) in &rs.lists.changes {
        let (c, p) = (&env.cells[cur as usize], &env.cells[prev as usize]);
        let enum_field = rs.fields[f as usize].enum_id.is_some();
        let differs = match (p.value(), c.value()) {
            (Some(a), Some(b)) => a != b,
            (None, None) => false,
            _ => enum_field,
        };
        if differs {
            if out.is_empty() {
                // (Room for a usual change or two at once, not grown from nothing.)
                out.reserve(64);
            } else {
                out.push('；');
            }
            out.push_str(&rs.fields[f as usize].label);
            out.push(' ');
            write_value(&mut out, rs, f, p);
            out.push_str(" → ");
            write_value(&mut out, rs, f, c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset;
    use crate::value::Date;

    fn hh(rs: &RuleSet, cells: &[(&str, &str)]) -> Household {
        let cells = cells.iter().map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string()))).collect();
        crate::cases::household(rs, &cells, Date::new(2024, 12, 31).unwrap()).unwrap()
    }

    /// The labels of the national lists in force a household is on, with their reasons.
    fn on(b: &Bound, cur: Option<&Household>, prev: Option<&Household>, run: RunFacts) -> Vec<(String, String)> {
        let lists: Vec<&List> = b.rules.lists.lists.iter().filter(|l| l.applies(b.as_of)).collect();
        let (ca, pa) = (cur.map(|h| engine::assess(b, h)), prev.map(|h| engine::assess(b, h)));
        fn snap<'a>(h: Option<&'a Household>, a: &'a Option<Assessment>) -> Snap<'a> {
            match (h, a) {
                (Some(hh), Some(a)) => Snap::Row(Row { hh, a }),
                _ => Snap::None,
            }
        }
        let env = Env::new(b.rules, snap(cur, &ca), snap(prev, &pa), &run);
        let row = cur.zip(ca.as_ref()).or(prev.zip(pa.as_ref())).map(|(hh, a)| Row { hh, a });
        lists_of(b, &lists, (&conditions(&lists), &engine::Reasons::new(b)), &env, row, "")
            .into_iter()
            .map(|o| (lists[o.list].label.clone(), o.reason))
            .collect()
    }

    const BASE: [(&str, &str); 10] = [
        ("household_id", "H1"),
        ("household_type", "脱贫户"),
        ("members", "4"),
        ("labor", "2"),
        ("per_capita_income", "9000"),
        ("food", "是"),
        ("clothing", "是"),
        ("dropouts", "0"),
        ("insured", "4"),
        ("water", "是"),
    ];

    fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<(&str, &str)> =
            BASE.iter().copied().filter(|(k, _)| !changes.iter().any(|c| c.0 == *k)).collect();
        v.extend_from_slice(changes);
        v.push(("housing_grade", "A"));
        v
    }

    /// A comparison with the previous snapshot is unknown for a household without one: not listed.
    #[test]
    fn previous_values_are_unknown_without_a_previous_row() {
        let rs = ruleset::load("national").unwrap();
        let b = rs.at(Date { year: 2024, month: 9, day: 30 }).unwrap();
        let (cur, prev) = (hh(&rs, &with(&[("members", "3")])), hh(&rs, &with(&[])));
        let matched = RunFacts { matched: true, ..RunFacts::default() };
        assert_eq!(
            on(&b, Some(&cur), Some(&prev), matched),
            [("人口变化".to_string(), "减少：家庭人口数 4 → 3（原因待填）".to_string())]
        );
        // The same household, new this quarter: only 新增户 (`matched` false; previous.* unknown).
        let appeared = RunFacts { appeared: true, ..RunFacts::default() };
        assert_eq!(on(&b, Some(&cur), None, appeared), [("新增户".to_string(), "上季度无此户编号".to_string())]);
        // Gone: the previous row alone.
        let gone = RunFacts { disappeared: true, ..RunFacts::default() };
        assert_eq!(on(&b, None, Some(&prev), gone)[0].0, "减少户");
    }

    /// 两季度变化: an option field that became unreadable is a change; a number only when both are known.
    #[test]
    fn changes_between_the_quarters() {
        let rs = ruleset::load("national").unwrap();
        let b = rs.at(Date { year: 2024, month: 9, day: 30 }).unwrap();
        let prev = hh(&rs, &with(&[("per_capita_income", "6100")]));
        let cur = hh(&rs, &with(&[("household_type", "不知道"), ("members", "三"), ("per_capita_income", "3900")]));
        let (pa, ca) = (engine::assess(&b, &prev), engine::assess(&b, &cur));
        let run = RunFacts { matched: true, ..RunFacts::default() };
        let env = Env::new(&rs, Snap::Row(Row { hh: &cur, a: &ca }), Snap::Row(Row { hh: &prev, a: &pa }), &run);
        assert_eq!(changes(&rs, &env), "户类型 脱贫户 → （空白）；人均纯收入 6100 → 3900");
    }

    /// The lists' conditions run as one chain ([`conditions`]) put a household on exactly the
    /// lists whose condition the tree evaluator finds true, for every list (in force or not) of
    /// every built-in rule set, over slots of random cells of every kind, bools and decisions.
    #[test]
    fn list_conditions_in_one_chain_are_the_trees() {
        use crate::household::Missing;
        let mut rng = crate::test_rng::Lcg(29);
        let mut next = |n: usize| rng.below(n);
        let mut listed = 0;
        for (name, _, _) in ruleset::EMBEDDED {
            let rs = ruleset::load(name).unwrap();
            let Ok(b) = rs.at(Date::new(2024, 12, 31).unwrap()) else { continue };
            let lists: Vec<&List> = rs.lists.lists.iter().collect();
            let conds = conditions(&lists);
            let s = &rs.lists.slots;
            let mut numbers: Vec<i64> = vec![0, 1, -1, 2, 3, 4, 6, 100, 7_000_000];
            numbers.extend(b.params.iter().flat_map(|p| [p.0, p.0 - 1, p.0 + 1]));
            for _ in 0..3000 {
                let cells: Vec<Cell> = (s.fields.iter())
                    .map(|&(_, i)| {
                        let f = &rs.fields[i as usize];
                        let v = crate::test_rng::scalar(
                            &rs,
                            f,
                            (&numbers, b.as_of.month_index(), ["", "a", "无"]),
                            &mut next,
                        );
                        match next(8) {
                            0 => Cell::Blank,
                            1 => Cell::Invalid("x".into()),
                            2 => Cell::BlankAs(v),
                            3 => Cell::Absent(Missing::Field(i)),
                            _ => Cell::Value(v),
                        }
                    })
                    .collect();
                let bools: Vec<Option<bool>> =
                    s.bools.iter().map(|_| [Some(true), Some(false), None][next(3)]).collect();
                let decisions: Vec<u16> = (s.decisions.iter())
                    .map(|&(_, d)| {
                        let n = rs.decisions[d as usize].labels.len();
                        next(n + 1).min(n - 1) as u16
                    })
                    .collect();
                let env = Env { cells, bools, decisions };
                let cx = env.ctx(&b);
                let want: Vec<usize> = (lists.iter().enumerate())
                    .filter(|(_, l)| expr::eval_bool(&l.when, &cx) == Some(true))
                    .map(|(k, _)| k)
                    .collect();
                let mut got = Vec::new();
                conds.each_true(&cx, |k| got.push(k));
                assert_eq!(got, want, "{name}");
                listed += got.len();
            }
        }
        assert!(listed > 1000, "{listed}");
    }
}

//! What help could change a decision: for each decision with a `goal` in the rule file that a
//! household has not reached (and that concerns it: not its `not_applicable` label), the smallest
//! change, of a field that help can change, that flips each condition standing in the way.
//!
//! Only what the rule file declares (`ruleset::action`): a field with an `action` is changed only
//! in its direction (`increase`, `decrease`), only to its target values (`action = ["是"]`), or, a
//! month read as time elapsed (`wait`), only by waiting; a field without one is a recorded fact
//! and never suggested, whatever it would change; nor is a blank or unreadable value (that is for
//! the data, not for help). A decision without a goal gets no what-if, and one whose goal these
//! changes cannot reach gets none either: nothing is said rather than something that does not
//! help. A per-head amount with a `total` is also given for the household (the per-head change,
//! exact in fen, times the household's `per` field).
//!
//! Derived from the compiled rules, never from a list of criteria, so it works for any rule file:
//! the decision's first-hit rules say which condition has to change (the rule that fired must
//! become false; an unknown one must be settled; under `otherwise`, a goal's rule must become
//! true). That condition's atoms, followed down through the criteria they name, are the conditions
//! that block. Every field a blocking atom reads is searched with the real engine — bool, enum and
//! text fields over their target values, ints and months one step at a time (at most 120 steps),
//! money exactly in fen (doubling, then bisection to the boundary). A suggestion is kept only when
//! re-assessing the household with the change applied gives the atom the value wanted.
//!
//! The changes of one round are then applied together (one per blocking atom, only as many as
//! needed), the household re-assessed, and the next round starts from there: a rule that stops
//! firing can reveal the next one (a first rule stops firing, then the `otherwise` label's
//! condition stands in the way of the goal's rule). At most four rounds.
//!
//! Pure like the engine: given the bound rule set and the household, no I/O, no clock.

use serde::Serialize;

use crate::engine::{self, Assessment};
use crate::household::{Cell, Household, Scalar};
use crate::ruleset::action::Action;
use crate::ruleset::expr::{self, CmpOp, Ctx, Describe, Lit, Node, V};
use crate::ruleset::file::FieldType;
use crate::ruleset::{Bound, RuleSet, Test};
use crate::value::{days_in_month, fmt_month, Date, Num, FEN, SCALE};

const MAX_ROUNDS: usize = 4;
/// Ints and months are searched this many steps.
const MAX_STEPS: i64 = 120;
/// Money is searched up to this many fen (about 1.4 × 10⁹ 元).
const MAX_FEN: i64 = 1 << 37;
/// How deep criteria naming criteria are followed.
const MAX_DEPTH: usize = 8;

/// What would bring one decision to its goal (only given when the changes reach it).
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    /// Decision key.
    pub decision: String,
    /// Decision label (its name for staff).
    pub label: String,
    pub current: String,
    /// The goal's label that the changes reach.
    pub goal: String,
    /// Every label of the decision's goal.
    pub goals: Vec<String>,
    /// Whether applying every step's changes gives the goal (checked with the engine; always
    /// true: a what-if that does not reach its goal is not given).
    pub reached: bool,
    pub steps: Vec<Step>,
    /// What a work team does, one action per field changed (the last step's changes), in the rule
    /// file's words (`action_text`).
    pub actions: Vec<Act>,
    /// Data-quality findings the household would have with every change applied that it has not
    /// now (the rule file's checks, e.g. an income only just above a line): the goal is reached,
    /// but not beyond question.
    pub findings_after: Vec<engine::Finding>,
}

/// One round: what blocks, the changes applied together, and the decision they give.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub before: String,
    pub needs: Vec<Need>,
    /// The changes applied together in this round (one value per field), cumulative with the
    /// earlier rounds' changes.
    pub applied: Vec<Change>,
    pub after: String,
}

/// A criterion (or a bare condition of a decision rule) that has to change.
#[derive(Debug, Clone, Serialize)]
pub struct Need {
    pub criterion: Option<String>,
    pub label: String,
    /// Now: `met`/`unmet`/`unknown` for a criterion, `true`/`false`/`unknown` for a condition.
    pub status: &'static str,
    /// What it has to become.
    pub want: &'static str,
    /// Alternatives and parts: each changes one field and is verified to flip its atom.
    pub suggestions: Vec<Suggestion>,
}

/// The smallest change of one field that flips one blocking atom.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// Canonical field key.
    pub field: String,
    pub field_label: String,
    /// The field's declared `action`: `increase`, `decrease`, `wait` or `to`.
    pub action: &'static str,
    /// The value now, as cell text (`None`: blank).
    pub from: Option<String>,
    /// The value to set, as cell text (what `--set field=to` takes).
    pub to: String,
    /// Every target value that works, for bool, enum and text fields (`to` is the first).
    pub options: Vec<String>,
    /// The difference for numbers and months (`+151`, `-1`).
    pub change: Option<String>,
    /// One unit short of `to` (one fen, one, one month), checked not to flip the atom: `to` is
    /// the smallest change. Numbers and months only.
    pub one_short: Option<String>,
    /// For a month field read as months elapsed: the same effect is reached by waiting this many
    /// months (checked by assessing at the later date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_months: Option<i64>,
    /// For a per-head amount with a `total`: the change for the whole household.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household: Option<HouseholdChange>,
    pub text: String,
    /// This change alone flips the criterion.
    pub criterion_flips: bool,
    /// The decision with this change alone.
    pub decision_after: String,
    #[serde(skip)]
    field_index: u16,
    #[serde(skip)]
    value: Scalar,
}

/// A per-head change given for the household: `change` = the per-head change × `count`.
#[derive(Debug, Clone, Serialize)]
pub struct HouseholdChange {
    /// What the household's sum is called (`家庭年纯收入`).
    pub label: String,
    /// The field it is per head of (its key), and its value in this household.
    pub per: String,
    pub count: i64,
    /// The change of the household's sum (`+604`), exact in fen.
    pub change: String,
}

/// One change as a work team reads it: what to do, in plain words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Act {
    /// Canonical field key.
    pub field: String,
    /// The field's `action_text` filled in, or plain words made from its label.
    pub text: String,
    /// What could not be said (a household sum without the household's size).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub to: String,
    /// A month waited for, not rewritten: the same as `to` reached by waiting this many months.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_months: Option<i64>,
}

/// Every decision with a goal (`goal = …` in the rule file) that is neither at its goal nor at its
/// `not_applicable` label, and that help can bring to its goal, in decision order.
pub fn what_if(b: &Bound, hh: &Household, a: &Assessment) -> Vec<WhatIf> {
    let rs = b.rules;
    let mut out = Vec::new();
    for (di, dec) in rs.decisions.iter().enumerate() {
        if dec.goal.is_empty() || dec.is_goal(a.decisions[di]) || dec.is_not_applicable(a.decisions[di]) {
            continue;
        }
        let mut state = hh.clone();
        let mut sa = a.clone();
        let mut steps: Vec<Step> = Vec::new();
        let mut applied: Vec<Change> = Vec::new();
        for _ in 0..MAX_ROUNDS {
            if dec.is_goal(sa.decisions[di]) || dec.is_not_applicable(sa.decisions[di]) {
                break;
            }
            let Some((node, want)) = target(b, &state, &sa, di) else { break };
            let needs = needs(b, &state, &sa, di, node, want);
            let (next, changes) = apply_round(b, &state, node, want, &needs);
            if changes.is_empty() {
                break;
            }
            let before = sa.label(b, di).to_string();
            let public = needs.into_iter().map(|n| n.public).collect();
            for c in changes {
                match applied.iter_mut().find(|x| x.field == c.field) {
                    Some(x) => *x = c,
                    None => applied.push(c),
                }
            }
            let na = engine::assess(b, &next);
            steps.push(Step { before, needs: public, applied: applied.clone(), after: na.label(b, di).to_string() });
            state = next;
            sa = na;
        }
        // Help that does not reach the goal is not given (a household without labour is not
        // advised on an income it cannot end its monitoring with).
        if !dec.is_goal(sa.decisions[di]) {
            continue;
        }
        let real = realized(b, hh, &state);
        let ra = engine::assess(b, &real);
        let findings_after = engine::findings(b, &real, &ra)
            .into_iter()
            .filter(|f| !a.checks.iter().any(|&k| rs.checks[k as usize].id == f.check))
            .collect();
        out.push(WhatIf {
            findings_after,
            decision: dec.id.clone(),
            label: dec.label.clone(),
            current: a.label(b, di).to_string(),
            goal: sa.label(b, di).to_string(),
            goals: dec.goal.iter().map(|&g| dec.labels[g as usize].clone()).collect(),
            reached: true,
            actions: steps
                .last()
                .map(|s| s.applied.iter().map(|c| act(b, hh, a, &c.field, &c.to, c.wait_months)).collect())
                .unwrap_or_default(),
            steps,
        });
    }
    out
}

/// The changed household as help would make it: a per-head amount that was derived (人均纯收入
/// from the incomes) is changed through the first source its `derive` reads that help can change
/// the same way, by the household's sum, so that the data stay consistent (the suggestion itself
/// names the per-head value, as `--set` takes it). Where that does not give the same value, the
/// household as changed is kept.
fn realized(b: &Bound, before: &Household, after: &Household) -> Household {
    let rs = b.rules;
    let mut out = after.clone();
    for (f, field) in rs.fields.iter().enumerate() {
        let (Cell::Derived(Scalar::Num(old)), Some(Scalar::Num(new)), Some(t), Some(derive)) =
            (&before.cells[f], after.cells[f].value(), &field.total, &field.derive)
        else {
            continue;
        };
        let Some(Scalar::Num(count)) = after.cells[t.per as usize].value() else { continue };
        let per_head = (new.0 - old.0).div_euclid(FEN);
        let Some(total) = per_head.checked_mul(count.0.div_euclid(SCALE)).and_then(|x| x.checked_mul(FEN)) else {
            continue;
        };
        let want = if per_head > 0 { Action::Increase } else { Action::Decrease };
        let source = expr::refs(derive).fields.into_iter().find(|&g| {
            rs.fields[g as usize].action.as_ref() == Some(&want)
                && matches!(after.cells[g as usize].value(), Some(Scalar::Num(_)))
        });
        let Some(g) = source else { continue };
        let Some(Scalar::Num(v)) = after.cells[g as usize].value() else { continue };
        let mut h = with_value(b, &out, g, Scalar::Num(Num(v.0 + total)));
        h.cells[f] = Cell::Blank;
        refinish(b, &mut h);
        if h.cells[f].value() == Some(&Scalar::Num(*new)) {
            out = h;
        }
    }
    out
}

/// Whether help can change field `f` of this household: it has an `action` and a value, or is
/// blank and has target values (water blank: 须为 是). An unreadable cell, a lacking column, or a
/// blank number is for the data to settle, not for help.
fn actionable(rs: &RuleSet, hh: &Household, f: u16) -> bool {
    match &rs.fields[f as usize].action {
        None => false,
        Some(Action::To(_)) => hh.cells[f as usize].value().is_some() || hh.cells[f as usize] == Cell::Blank,
        Some(_) => hh.cells[f as usize].value().is_some(),
    }
}

/// The household with one field set to a value, read again as a row would be: derived fields
/// recomputed, ranges checked (a value out of range becomes invalid, so it flips nothing).
pub fn with_value(b: &Bound, hh: &Household, field: u16, value: Scalar) -> Household {
    let rs = b.rules;
    let mut h = hh.clone();
    let key = &rs.fields[field as usize].key;
    h.problems.retain(|p| p.field.as_ref() != Some(key));
    h.cells[field as usize] = Cell::Value(value);
    refinish(b, &mut h);
    h
}

/// The household with one cell replaced by a text, parsed as the file's cell would be (for
/// `check FILE --id … --set key=value`).
pub fn with_text(b: &Bound, hh: &Household, field: u16, text: &str, column: &str) -> Household {
    let rs = b.rules;
    let mut h = hh.clone();
    let key = &rs.fields[field as usize].key;
    h.problems.retain(|p| p.field.as_ref() != Some(key));
    rs.set_cell(&mut h, field, text, column);
    refinish(b, &mut h);
    h
}

fn refinish(b: &Bound, h: &mut Household) {
    let rs = b.rules;
    for c in &mut h.cells {
        if matches!(c, Cell::Derived(_)) {
            *c = Cell::Blank;
        }
    }
    let columns: Vec<Option<String>> = rs.fields.iter().map(|f| Some(f.header.clone())).collect();
    rs.finish(h, &columns, b.as_of);
}

/// A value as cell text: what `--set` and a ledger cell would hold.
pub fn scalar_text(rs: &RuleSet, field: u16, v: &Scalar) -> String {
    match v {
        Scalar::Bool(b) => (if *b { "是" } else { "否" }).to_string(),
        Scalar::Num(n) => n.to_string(),
        Scalar::Enum(e) => {
            let f = &rs.fields[field as usize];
            f.enum_id.map(|id| rs.enums[id as usize].values[*e as usize].clone()).unwrap_or_default()
        }
        Scalar::Month(m) => fmt_month(*m),
        Scalar::Text(t) => t.to_string(),
    }
}

fn ctx<'a>(b: &'a Bound, hh: &'a Household, a: &'a Assessment) -> Ctx<'a> {
    Ctx {
        cells: &hh.cells,
        params: &b.params,
        crits: &a.crits,
        decisions: &a.decisions,
        as_of_month: b.as_of.month_index(),
        as_of_day: crate::ruleset::expr::day_key(b.as_of),
        members: hh.members.as_ref(),
        member: &[],
        member_index: 0,
        records: &hh.records,
        record: &[],
    }
}

/// The condition that has to change, and the value it has to take.
fn target<'r>(b: &Bound<'r>, hh: &Household, a: &Assessment, di: usize) -> Option<(&'r Node, bool)> {
    let dec = &b.rules.decisions[di];
    let cx = ctx(b, hh, a);
    match a.decided_by[di] {
        Some(k) => {
            let (node, label, _) = &dec.rules[k];
            match expr::eval_bool(node, &cx) {
                // Fired with another label: it must stop firing.
                Some(true) => (!dec.is_goal(*label)).then_some((node, false)),
                // Unknown: settled towards a goal's rule, or away from another label's.
                None => Some((node, dec.is_goal(*label))),
                Some(false) => None,
            }
        }
        // Every rule false (`otherwise`): a rule of the goal's must fire — the first whose
        // blocking conditions each read a field help can change (one that needs the assessment
        // date or a parameter to be otherwise, such as a rule for another policy period, or a
        // recorded fact to be otherwise, cannot be reached).
        None => {
            let reachable = |n: &'r Node| {
                let mut leaves = Vec::new();
                collect(b.rules, n, true, &cx, None, 0, &mut leaves);
                leaves.iter().all(|l| expr::refs(l.atom).fields.iter().any(|&f| actionable(b.rules, hh, f)))
            };
            let mut goal_rules = dec.rules.iter().filter(|r| dec.is_goal(r.1));
            let first = goal_rules.clone().next();
            goal_rules.find(|r| reachable(&r.0)).or(first).map(|r| (&r.0, true))
        }
    }
}

/// An atom that has to take a value, under the criterion that made it count.
struct Leaf<'r> {
    atom: &'r Node,
    desired: bool,
    /// The outermost criterion it belongs to, with the value that criterion has to take.
    top: Option<(u16, bool)>,
}

struct NeedWork<'r> {
    top: Option<(u16, bool)>,
    leaves: Vec<(Leaf<'r>, Vec<Suggestion>)>,
    public: Need,
}

/// The atoms of `node` that keep it from being `want`, followed down through criteria.
fn collect<'r>(
    rs: &'r RuleSet,
    node: &'r Node,
    want: bool,
    cx: &Ctx,
    top: Option<(u16, bool)>,
    depth: usize,
    out: &mut Vec<Leaf<'r>>,
) {
    let mut atoms = Vec::new();
    expr::atoms(node, true, &mut atoms);
    for (atom, positive) in atoms {
        let desired = positive == want;
        if expr::eval_bool(atom, cx) == Some(desired) {
            continue;
        }
        match atom {
            Node::Crit(c) if depth < MAX_DEPTH => {
                let top = top.or(Some((*c, desired)));
                match &rs.criteria[*c as usize].test {
                    Test::Condition(n) => collect(rs, n, desired, cx, top, depth + 1, out),
                    // Met when `met` is true; unmet when `unmet` is true (and `met` is not).
                    Test::MetUnmet(m, u) => {
                        if desired {
                            collect(rs, m, true, cx, top, depth + 1, out);
                        } else {
                            collect(rs, u, true, cx, top, depth + 1, out);
                            if expr::eval_bool(m, cx) == Some(true) {
                                collect(rs, m, false, cx, top, depth + 1, out);
                            }
                        }
                    }
                }
            }
            _ => {
                if !out.iter().any(|l| std::ptr::eq(l.atom, atom) && l.desired == desired) {
                    out.push(Leaf { atom, desired, top });
                }
            }
        }
    }
}

fn needs<'r>(
    b: &Bound<'r>,
    hh: &Household,
    a: &Assessment,
    di: usize,
    node: &'r Node,
    want: bool,
) -> Vec<NeedWork<'r>> {
    let rs = b.rules;
    let d = engine::describer(b);
    let cx = ctx(b, hh, a);
    let mut leaves = Vec::new();
    collect(rs, node, want, &cx, None, 0, &mut leaves);
    let mut out: Vec<NeedWork<'r>> = Vec::new();
    for leaf in leaves {
        let suggestions = suggest(b, hh, a, di, &leaf);
        if let Some(n) = out.iter_mut().find(|n| n.top.is_some() && n.top == leaf.top) {
            n.public.suggestions.extend(suggestions.iter().cloned());
            n.leaves.push((leaf, suggestions));
            continue;
        }
        let public = match leaf.top {
            Some((c, want)) => Need {
                criterion: Some(rs.criteria[c as usize].id.clone()),
                label: rs.criteria[c as usize].label.clone(),
                status: engine::status(a.crits[c as usize], true),
                want: if want { "met" } else { "unmet" },
                suggestions: suggestions.clone(),
            },
            None => Need {
                criterion: None,
                label: expr::formula(leaf.atom, &d),
                status: engine::status(expr::eval_bool(leaf.atom, &cx), false),
                want: if leaf.desired { "true" } else { "false" },
                suggestions: suggestions.clone(),
            },
        };
        out.push(NeedWork { top: leaf.top, leaves: vec![(leaf, suggestions)], public });
    }
    out
}

/// Apply the round's first suggestion for each blocking atom, need by need, stopping as soon as
/// the target condition has its value (so alternatives are not all applied).
fn apply_round(b: &Bound, state: &Household, node: &Node, want: bool, needs: &[NeedWork]) -> (Household, Vec<Change>) {
    let mut next = state.clone();
    let mut changes: Vec<Change> = Vec::new();
    let holds = |h: &Household, n: &Node, v: bool| {
        let a = engine::assess(b, h);
        expr::eval_bool(n, &ctx(b, h, &a)) == Some(v)
    };
    let satisfied = |h: &Household, need: &NeedWork| {
        let a = engine::assess(b, h);
        match need.top {
            Some((c, v)) => a.crits[c as usize] == Some(v),
            None => need.leaves.iter().all(|(l, _)| expr::eval_bool(l.atom, &ctx(b, h, &a)) == Some(l.desired)),
        }
    };
    'needs: for need in needs {
        for (leaf, suggestions) in &need.leaves {
            if holds(&next, node, want) {
                break 'needs;
            }
            if satisfied(&next, need) {
                continue 'needs;
            }
            if holds(&next, leaf.atom, leaf.desired) {
                continue;
            }
            if let Some(s) = suggestions.first() {
                next = with_value(b, &next, s.field_index, s.value.clone());
                let c = Change { field: s.field.clone(), to: s.to.clone(), wait_months: s.wait_months };
                match changes.iter_mut().find(|x| x.field == c.field) {
                    Some(x) => *x = c,
                    None => changes.push(c),
                }
            }
        }
    }
    (next, changes)
}

/// How a numeric or month field is searched: whole numbers, fen, or month indices.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Int,
    Fen,
    Month,
}

impl Unit {
    fn of_type(ty: FieldType) -> Option<Unit> {
        match ty {
            FieldType::Int => Some(Unit::Int),
            FieldType::Money => Some(Unit::Fen),
            FieldType::Month => Some(Unit::Month),
            _ => None,
        }
    }
    fn scalar(self, x: i64) -> Option<Scalar> {
        match self {
            Unit::Int => Num::from_int(x).map(Scalar::Num),
            Unit::Fen => Num::from_fen(x).map(Scalar::Num),
            Unit::Month => i32::try_from(x).ok().map(Scalar::Month),
        }
    }
    fn of(self, v: V) -> Option<i64> {
        match (self, v) {
            (Unit::Int, V::Num(n)) => Some(n.0.div_euclid(SCALE)),
            (Unit::Fen, V::Num(n)) => Some(n.0.div_euclid(FEN)),
            (Unit::Month, V::Month(m)) => Some(m as i64),
            _ => None,
        }
    }
    /// An amount of this unit, as shown: `151 元`, `2`, `3 个月`.
    fn amount(self, d: i64) -> String {
        match self {
            Unit::Int => d.to_string(),
            Unit::Fen => format!("{} 元", Num::from_fen(d).map(|n| n.to_string()).unwrap_or_default()),
            Unit::Month => format!("{d} 个月"),
        }
    }
    /// A value of this unit, as shown.
    fn value(self, x: i64) -> String {
        match self {
            Unit::Int => x.to_string(),
            Unit::Fen => format!("{} 元", Num::from_fen(x).map(|n| n.to_string()).unwrap_or_default()),
            Unit::Month => fmt_month(x as i32),
        }
    }
    fn signed(self, d: i64) -> String {
        let n = match self {
            Unit::Fen => Num::from_fen(d.abs()).map(|n| n.to_string()).unwrap_or_default(),
            _ => d.abs().to_string(),
        };
        format!("{}{n}", if d < 0 { "-" } else { "+" })
    }
    /// The smallest `d` in 1..=limit with `g(d)`: money by doubling then bisection (conditions on
    /// money are comparisons, monotone in the amount), ints and months step by step.
    fn first(self, g: &mut dyn FnMut(i64) -> bool) -> Option<i64> {
        if self != Unit::Fen {
            return (1..=MAX_STEPS).find(|&d| g(d));
        }
        let mut hi = 1;
        while !g(hi) {
            if hi >= MAX_FEN {
                return None;
            }
            hi = (hi * 2).min(MAX_FEN);
        }
        let mut lo = hi / 2;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if g(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }
}

/// What was found for one field.
enum Found {
    /// Target values that work.
    Values(Vec<Scalar>),
    /// A number or month changed by `d` (in units) to `x`.
    Step { d: i64, x: i64 },
}

fn suggest(b: &Bound, hh: &Household, a: &Assessment, di: usize, leaf: &Leaf) -> Vec<Suggestion> {
    let rs = b.rules;
    let mut out = Vec::new();
    for f in expr::refs(leaf.atom).fields {
        if !actionable(rs, hh, f) {
            continue;
        }
        let field = &rs.fields[f as usize];
        let probe = |v: &Scalar| -> bool {
            let h = with_value(b, hh, f, v.clone());
            let a2 = engine::assess(b, &h);
            expr::eval_bool(leaf.atom, &ctx(b, &h, &a2)) == Some(leaf.desired)
        };
        let current = hh.cells[f as usize].value().cloned();
        let found = match &field.action {
            Some(Action::To(targets)) => {
                let ok: Vec<Scalar> =
                    targets.iter().filter(|v| Some(*v) != current.as_ref() && probe(v)).cloned().collect();
                (!ok.is_empty()).then_some(Found::Values(ok))
            }
            Some(action) => {
                let Some(unit) = Unit::of_type(field.ty) else { continue };
                let Some(c) = ctx(b, hh, a).field(f).and_then(|v| unit.of(v)) else { continue };
                // Only in the declared direction; waiting moves a month earlier.
                let sign = if *action == Action::Increase { 1 } else { -1 };
                unit.first(&mut |d| unit.scalar(c + sign * d).is_some_and(|v| probe(&v)))
                    .map(|d| Found::Step { d: sign * d, x: c + sign * d })
            }
            None => None,
        };
        if let Some(s) = found.and_then(|fd| suggestion(b, hh, a, di, leaf, f, fd)) {
            out.push(s);
        }
    }
    out
}

/// "方可超过扶贫标准 4000（2024年）": what the field is compared with, in the direction wanted.
fn compared_with(b: &Bound, d: &dyn Describe, cx: &Ctx, leaf: &Leaf, f: u16) -> String {
    let Node::Cmp(op, x, y) = leaf.atom else { return String::new() };
    let (op, other) = match (x.as_ref(), y.as_ref()) {
        (Node::Field(i), o) if *i == f && !expr::refs(o).fields.contains(&f) => (*op, o),
        (o, Node::Field(i)) if *i == f && !expr::refs(o).fields.contains(&f) => (swap(*op), o),
        _ => return String::new(),
    };
    let op = if leaf.desired { op } else { op.negate() };
    let verb = match op {
        CmpOp::Gt => "超过",
        CmpOp::Ge => "达到",
        CmpOp::Lt => "低于",
        CmpOp::Le => "不超过",
        CmpOp::Eq => "等于",
        CmpOp::Ne => "不等于",
    };
    let what = match other {
        Node::Param(p) => format!("{} {}（{}年）", d.param_label(*p), b.params[*p as usize], b.as_of.year),
        Node::Lit(Lit::Num(n)) => format!(" {n}"),
        Node::Lit(_) => return String::new(),
        o => match expr::eval(o, cx) {
            Some(V::Num(n)) => format!("{} {n}", expr::formula(o, d)),
            Some(V::Month(m)) => format!("{} {}", expr::formula(o, d), fmt_month(m)),
            _ => return String::new(),
        },
    };
    format!("方可{verb}{what}")
}

/// `a < b` is `b > a`.
fn swap(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The date `n` months after `d` (the day kept where the month has it, else its last day).
fn months_later(d: Date, n: i64) -> Option<Date> {
    let mi = d.month_index() as i64 + n;
    let year = i32::try_from(mi.div_euclid(12)).ok()?;
    let month = (mi.rem_euclid(12) + 1) as u32;
    Date::new(year, month, d.day.min(days_in_month(year, month)))
}

/// Turn a search result into a verified suggestion with its sentence.
fn suggestion(
    b: &Bound,
    hh: &Household,
    a: &Assessment,
    di: usize,
    leaf: &Leaf,
    f: u16,
    found: Found,
) -> Option<Suggestion> {
    let rs = b.rules;
    let field = &rs.fields[f as usize];
    let action = field.action.as_ref()?;
    let d = engine::describer(b);
    let cx = ctx(b, hh, a);
    let unit = Unit::of_type(field.ty).unwrap_or(Unit::Int);
    let label = &field.label;
    let vs = compared_with(b, &d, &cx, leaf, f);
    let mut wait_months = None;
    let mut household = None;
    let short = match found {
        Found::Step { d: delta, x } => unit.scalar(x - delta.signum()),
        Found::Values(_) => None,
    };
    let (value, options, change, text) = match found {
        Found::Values(vals) => {
            let shown: Vec<String> = vals.iter().map(|v| scalar_text(rs, f, v)).collect();
            let text = format!("{label} 须为 {}（现为 {}）", shown.join(" 或 "), d.field_value(f, &cx));
            (vals[0].clone(), shown, None, text)
        }
        Found::Step { d: delta, x } if *action == Action::Wait => {
            // Never a rewritten date: given only when assessing the household as it is, that
            // many months later, gives the same.
            let date = months_later(b.as_of, -delta)?;
            let b2 = rs.at(date).ok()?;
            let a2 = engine::assess(&b2, hh);
            if expr::eval_bool(leaf.atom, &ctx(&b2, hh, &a2)) != Some(leaf.desired) {
                return None;
            }
            wait_months = Some(-delta);
            let text = format!(
                "还需 {} 个月（自{label} {} 起算，{}-{:02} 满足）",
                -delta,
                d.field_value(f, &cx),
                date.year,
                date.month
            );
            (unit.scalar(x)?, vec![], Some(unit.signed(delta)), text)
        }
        Found::Step { d: delta, x } => {
            let (text, per_household) = step_text(rs, field, unit, &cx, delta, x, &vs)?;
            household = per_household;
            (unit.scalar(x)?, vec![], Some(unit.signed(delta)), text)
        }
    };
    // Verify: the change alone, re-assessed with the real engine, gives the atom its value.
    let h = with_value(b, hh, f, value.clone());
    let a2 = engine::assess(b, &h);
    if expr::eval_bool(leaf.atom, &ctx(b, &h, &a2)) != Some(leaf.desired) {
        return None;
    }
    // One unit short must not flip it (else `to` is not claimed to be the smallest change).
    let one_short = short.filter(|v| {
        let h = with_value(b, hh, f, v.clone());
        let a3 = engine::assess(b, &h);
        expr::eval_bool(leaf.atom, &ctx(b, &h, &a3)) != Some(leaf.desired)
    });
    let criterion_flips = match leaf.top {
        Some((c, want)) => a2.crits[c as usize] == Some(want),
        None => true,
    };
    Some(Suggestion {
        field: field.key.clone(),
        field_label: label.clone(),
        action: action.word(),
        from: hh.cells[f as usize].value().map(|v| scalar_text(rs, f, v)),
        to: scalar_text(rs, f, &value),
        options,
        change,
        one_short: one_short.map(|v| scalar_text(rs, f, &v)),
        wait_months,
        household,
        text,
        criterion_flips,
        decision_after: a2.label(b, di).to_string(),
        field_index: f,
        value,
    })
}

/// A numeric change in words: `label 需增加 N（至 x）`, or for a per-head field its household sum
/// first (with the change to the household's total).
fn step_text(
    rs: &RuleSet,
    field: &crate::ruleset::Field,
    unit: Unit,
    cx: &Ctx,
    delta: i64,
    x: i64,
    vs: &str,
) -> Option<(String, Option<HouseholdChange>)> {
    let label = &field.label;
    let mut household = None;
    let verb = if delta > 0 { "增加" } else { "减少" };
    let per = field.total.as_ref().and_then(|t| {
        let n = cx.field(t.per).and_then(|v| Unit::Int.of(v)).filter(|&n| n > 0)?;
        Some((t, n))
    });
    let text = match per {
        // Per head: the household's sum first, exact in fen (the per-head change found
        // by the search, times the household's count: it reaches the goal as verified).
        Some((t, n)) if unit == Unit::Fen => {
            let total = delta.checked_mul(n)?;
            household = Some(HouseholdChange {
                label: t.label.clone(),
                per: rs.fields[t.per as usize].key.clone(),
                count: n,
                change: unit.signed(total),
            });
            format!(
                "{} 需{verb} {}（人均 {} × {} {n}；{label} 至 {}）{vs}",
                t.label,
                unit.amount(total.abs()),
                unit.amount(delta.abs()),
                rs.fields[t.per as usize].label,
                unit.value(x)
            )
        }
        _ => format!("{label} 需{verb} {}（至 {}）{vs}", unit.amount(delta.abs()), unit.value(x)),
    };
    Some((text, household))
}

/// Setting `field` of `hh` (assessed as `a`) to `to` (or waiting `wait_months`), as a work team
/// reads it: the field's `action_text` with its placeholders filled (`{change}` the size of the
/// change, money exact in fen; `{total}` that change for the household, the per-head change times
/// the household's `per` field, rounded up to the yuan so that it is enough; `{per_capita}` the
/// per-head change), else plain words from its label. A `{total}` without the household's size
/// gives the per-head change alone, with a note saying so.
pub fn act(b: &Bound, hh: &Household, a: &Assessment, field: &str, to: &str, wait_months: Option<i64>) -> Act {
    let rs = b.rules;
    let Some(&f) = rs.field_index.get(field) else {
        return Act { field: field.to_string(), text: format!("{field}={to}"), note: None };
    };
    let fd = &rs.fields[f as usize];
    let cx = ctx(b, hh, a);
    let unit = Unit::of_type(fd.ty);
    let delta = match (unit, wait_months) {
        (_, Some(n)) => Some(n),
        (Some(u), None) => {
            let to = match u {
                Unit::Fen => Num::parse_decimal(to).map(|n| n.0.div_euclid(FEN)),
                _ => to.parse::<i64>().ok(),
            };
            cx.field(f).and_then(|v| u.of(v)).zip(to).map(|(from, to)| (to - from).abs())
        }
        (None, None) => None,
    };
    let change = delta.map(|d| match unit {
        Some(Unit::Fen) => Num::from_fen(d).map(|n| n.to_string()).unwrap_or_default(),
        _ => d.to_string(),
    });
    let size = fd.total.as_ref().and_then(|t| cx.field(t.per).and_then(|v| Unit::Int.of(v)).filter(|&n| n > 0));
    // Whole yuan, rounded up: the household's sum is then at least the per-head change × size.
    let total = match (size, delta, unit) {
        (Some(n), Some(d), Some(Unit::Fen)) => d.checked_mul(n).map(|t| (t + 99).div_euclid(100).to_string()),
        _ => None,
    };
    let from = hh.cells[f as usize].value().map(|v| scalar_text(rs, f, v)).unwrap_or_else(|| "空白".into());
    let value = |name: &str| match name {
        "label" => Some(fd.label.clone()),
        "from" => Some(from.clone()),
        "to" => Some(to.to_string()),
        "change" | "per_capita" => change.clone(),
        "total" => total.clone(),
        _ => None,
    };
    let filled = fd.action_text.as_deref().and_then(|t| crate::ruleset::action::fill(t, &value));
    let note = match (&fd.total, &total) {
        (Some(t), None) if filled.is_none() && delta.is_some() => {
            Some(format!("{}不详，未能算出{}", rs.fields[t.per as usize].label, t.label))
        }
        _ => None,
    };
    let text = filled.unwrap_or_else(|| plain(fd, unit, change.as_deref(), total.as_deref(), to));
    Act { field: fd.key.clone(), text, note }
}

/// A change in words made from the field's label, for a field without an `action_text`.
fn plain(
    fd: &crate::ruleset::Field,
    unit: Option<Unit>,
    change: Option<&str>,
    total: Option<&str>,
    to: &str,
) -> String {
    let label = &fd.label;
    let yuan = if unit == Some(Unit::Fen) { " 元" } else { "" };
    match (&fd.action, change) {
        (Some(Action::Wait), Some(n)) => format!("再等 {n} 个月"),
        (Some(Action::Increase | Action::Decrease), Some(d)) => {
            let verb = if fd.action == Some(Action::Increase) { "增加" } else { "减少" };
            match (&fd.total, total) {
                (Some(t), Some(total)) => format!("{}{verb} {total} 元（即人均 {d} 元）", t.label),
                _ => format!("{label}{verb} {d}{yuan}（至 {to}{yuan}）"),
            }
        }
        _ => format!("使{label}为“{to}”"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_search_finds_the_exact_fen() {
        // Works from 151.00 元 (15100 fen) up: the first fen is found exactly.
        let mut calls = 0;
        let got = Unit::Fen.first(&mut |d| {
            calls += 1;
            d >= 15_100
        });
        assert_eq!(got, Some(15_100));
        assert!(calls < 40, "{calls} probes");
        assert_eq!(Unit::Fen.first(&mut |_| false), None);
        assert_eq!(Unit::Int.first(&mut |d| d >= 3), Some(3));
        assert_eq!(Unit::Int.first(&mut |d| d > MAX_STEPS), None);
    }

    #[test]
    fn later_months_keep_the_day_where_they_can() {
        let d = Date::new(2024, 12, 31).unwrap();
        assert_eq!(months_later(d, 2), Date::new(2025, 2, 28));
        assert_eq!(months_later(d, 3), Date::new(2025, 3, 31));
        assert_eq!(Unit::Fen.signed(-15_100), "-151");
        assert_eq!(Unit::Fen.amount(15_101), "151.01 元");
    }
}

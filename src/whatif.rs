//! What would change a decision: for each decision with a `goal` in the rule file that a household
//! has not reached (and that concerns it: not its `not_applicable` label), the smallest change of
//! one input that flips each condition standing in the way.
//!
//! Derived from the compiled rules, never from a list of criteria, so it works for any rule file:
//! the decision's first-hit rules say which condition has to change (the rule that fired must
//! become false; an unknown one must be settled; under `otherwise`, the goal's own rule must become
//! true). That condition's atoms, followed down through the criteria they name, are the conditions
//! that block. Every field a blocking atom reads is searched with the real engine — bool and enum
//! fields over their values, ints and months one step at a time (at most 120 steps), money exactly
//! in fen (doubling, then bisection to the boundary). A suggestion is kept only when re-assessing
//! the household with the change applied gives the atom the value wanted.
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
use crate::ruleset::expr::{self, CmpOp, Ctx, Describe, Lit, Node, V};
use crate::ruleset::file::FieldType;
use crate::ruleset::{Bound, RuleSet, Test};
use crate::value::{days_in_month, fmt_month, Date, Num, FEN, SCALE};

const MAX_ROUNDS: usize = 4;
/// Ints and months are searched this many steps either way.
const MAX_STEPS: i64 = 120;
/// Money is searched up to this many fen either way (about 1.4 × 10⁹ 元).
const MAX_FEN: i64 = 1 << 37;
/// How deep criteria naming criteria are followed.
const MAX_DEPTH: usize = 8;

/// What would bring one decision to its goal.
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    /// Decision key.
    pub decision: String,
    /// Decision label (`退出`).
    pub label: String,
    pub current: String,
    pub goal: String,
    /// Whether applying every step's changes gives the goal (checked with the engine).
    pub reached: bool,
    pub steps: Vec<Step>,
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
    /// The value now, as cell text (`None`: blank or invalid).
    pub from: Option<String>,
    /// The value to set, as cell text (what `--set field=to` takes).
    pub to: String,
    /// Every value that works, for bool and enum fields (`to` is the first).
    pub options: Vec<String>,
    /// The difference for numbers and months (`+151`, `-1`), when there was a value.
    pub change: Option<String>,
    /// One unit short of `to` (one fen, one, one month), checked not to flip the atom: `to` is
    /// the smallest change. Numbers and months only.
    pub one_short: Option<String>,
    /// For a month field read as months elapsed: the same effect is reached by waiting this many
    /// months (checked by assessing at the later date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_months: Option<i64>,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub to: String,
}

/// Every decision with a goal (`goal = "…"` in the rule file) that is neither at its goal nor at
/// its `not_applicable` label, in decision order.
pub fn what_if(b: &Bound, hh: &Household, a: &Assessment) -> Vec<WhatIf> {
    let rs = b.rules;
    let mut out = Vec::new();
    for (di, dec) in rs.decisions.iter().enumerate() {
        let Some(goal) = dec.goal else { continue };
        let goal_label = &dec.labels[goal as usize];
        if a.decisions[di] == goal || dec.is_not_applicable(a.decisions[di]) {
            continue;
        }
        let mut state = hh.clone();
        let mut sa = a.clone();
        let mut steps: Vec<Step> = Vec::new();
        let mut applied: Vec<Change> = Vec::new();
        for _ in 0..MAX_ROUNDS {
            if sa.decisions[di] == goal || dec.is_not_applicable(sa.decisions[di]) {
                break;
            }
            let Some((node, want)) = target(b, &state, &sa, di, goal) else { break };
            let needs = needs(b, &state, &sa, di, node, want);
            let (next, changes) = apply_round(b, &state, node, want, &needs);
            let before = sa.label(b, di).to_string();
            let public = needs.into_iter().map(|n| n.public).collect();
            if changes.is_empty() {
                steps.push(Step { before: before.clone(), needs: public, applied: applied.clone(), after: before });
                break;
            }
            for c in changes {
                match applied.iter_mut().find(|x| x.field == c.field) {
                    Some(x) => x.to = c.to,
                    None => applied.push(c),
                }
            }
            let na = engine::assess(b, &next);
            steps.push(Step { before, needs: public, applied: applied.clone(), after: na.label(b, di).to_string() });
            state = next;
            sa = na;
        }
        out.push(WhatIf {
            decision: dec.id.clone(),
            label: dec.label.clone(),
            current: a.label(b, di).to_string(),
            goal: goal_label.clone(),
            reached: sa.decisions[di] == goal,
            steps,
        });
    }
    out
}

/// The household with one field set to a value, read again as a row would be: derived fields
/// recomputed, ranges checked (a value out of range becomes invalid, so it flips nothing).
pub fn with_value(rs: &RuleSet, hh: &Household, field: u16, value: Scalar) -> Household {
    let mut h = hh.clone();
    let key = &rs.fields[field as usize].key;
    h.problems.retain(|p| p.field.as_ref() != Some(key));
    h.cells[field as usize] = Cell::Value(value);
    refinish(rs, &mut h);
    h
}

/// The household with one cell replaced by a text, parsed as the file's cell would be (for
/// `check FILE --id … --set key=value`).
pub fn with_text(rs: &RuleSet, hh: &Household, field: u16, text: &str, column: &str) -> Household {
    let mut h = hh.clone();
    let key = &rs.fields[field as usize].key;
    h.problems.retain(|p| p.field.as_ref() != Some(key));
    rs.set_cell(&mut h, field, text, column);
    refinish(rs, &mut h);
    h
}

fn refinish(rs: &RuleSet, h: &mut Household) {
    for c in &mut h.cells {
        if matches!(c, Cell::Derived(_)) {
            *c = Cell::Blank;
        }
    }
    let columns: Vec<Option<String>> = rs.fields.iter().map(|f| Some(f.header.clone())).collect();
    rs.finish(h, &columns);
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
    }
}

/// The condition that has to change, and the value it has to take.
fn target<'r>(b: &Bound<'r>, hh: &Household, a: &Assessment, di: usize, goal: u16) -> Option<(&'r Node, bool)> {
    let dec = &b.rules.decisions[di];
    let cx = ctx(b, hh, a);
    match a.decided_by[di] {
        Some(k) => {
            let (node, label, _) = &dec.rules[k];
            match expr::eval_bool(node, &cx) {
                // Fired with another label: it must stop firing.
                Some(true) => (*label != goal).then_some((node, false)),
                // Unknown: settled towards the goal's rule, or away from another label's.
                None => Some((node, *label == goal)),
                Some(false) => None,
            }
        }
        // Every rule false (`otherwise`): a rule of the goal's must fire — the first that no
        // household change is barred from (one that needs the assessment date or a parameter to
        // be otherwise, such as a rule for another policy period, cannot be reached).
        None => {
            let reachable = |n: &'r Node| {
                let mut leaves = Vec::new();
                collect(b.rules, n, true, &cx, None, 0, &mut leaves);
                leaves.iter().all(|l| !expr::refs(l.atom).fields.is_empty())
            };
            let mut goal_rules = dec.rules.iter().filter(|r| r.1 == goal);
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
    let rs = b.rules;
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
                next = with_value(rs, &next, s.field_index, s.value.clone());
                let c = Change { field: s.field.clone(), to: s.to.clone() };
                match changes.iter_mut().find(|x| x.field == c.field) {
                    Some(x) => x.to = c.to,
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

/// What was found for one field: values that work, and how they relate to the value now.
enum Found {
    /// Bool or enum values that work.
    Values(Vec<Scalar>),
    /// A known number or month changed by `d` (in units) to `x`.
    Step { d: i64, x: i64 },
    /// An unknown value: it works from `x` upwards.
    AtLeast(i64),
    /// An unknown value: it works up to `x`.
    AtMost(i64),
    /// An unknown value: it works from `lo` to `hi`.
    Between(i64, i64),
    /// An unknown value: any value works (the condition only asks for one).
    Any(i64),
}

fn suggest(b: &Bound, hh: &Household, a: &Assessment, di: usize, leaf: &Leaf) -> Vec<Suggestion> {
    let rs = b.rules;
    let mut out = Vec::new();
    for f in expr::refs(leaf.atom).fields {
        let field = &rs.fields[f as usize];
        let probe = |v: &Scalar| -> Option<(Household, Assessment)> {
            let h = with_value(rs, hh, f, v.clone());
            let a2 = engine::assess(b, &h);
            (expr::eval_bool(leaf.atom, &ctx(b, &h, &a2)) == Some(leaf.desired)).then_some((h, a2))
        };
        let current = hh.cells[f as usize].value().cloned();
        let found: Vec<Found> = match field.ty {
            FieldType::Bool | FieldType::Enum => {
                let all: Vec<Scalar> = match field.ty {
                    FieldType::Bool => vec![Scalar::Bool(true), Scalar::Bool(false)],
                    _ => {
                        let n = field.enum_id.map(|e| rs.enums[e as usize].values.len()).unwrap_or(0);
                        (0..n as u16).map(Scalar::Enum).collect()
                    }
                };
                let ok: Vec<Scalar> =
                    all.into_iter().filter(|v| Some(v) != current.as_ref() && probe(v).is_some()).collect();
                if ok.is_empty() {
                    vec![]
                } else {
                    vec![Found::Values(ok)]
                }
            }
            FieldType::Int | FieldType::Money | FieldType::Month => {
                let unit = match field.ty {
                    FieldType::Int => Unit::Int,
                    FieldType::Money => Unit::Fen,
                    _ => Unit::Month,
                };
                let mut ok = |x: i64| unit.scalar(x).is_some_and(|v| probe(&v).is_some());
                search_number(b, hh, a, leaf, f, unit, &mut ok)
            }
            FieldType::Text | FieldType::Id => vec![],
        };
        for fd in found {
            if let Some(s) = suggestion(b, hh, a, di, leaf, f, fd) {
                out.push(s);
            }
        }
    }
    out
}

/// Search a number or month field. A known value moves the smallest step either way (both ways
/// when they tie); an unknown one is searched from the value it is compared with.
fn search_number(
    b: &Bound,
    hh: &Household,
    a: &Assessment,
    leaf: &Leaf,
    f: u16,
    unit: Unit,
    ok: &mut dyn FnMut(i64) -> bool,
) -> Vec<Found> {
    let cx = ctx(b, hh, a);
    if let Some(c) = cx.field(f).and_then(|v| unit.of(v)) {
        let up = unit.first(&mut |d| ok(c + d));
        let down = unit.first(&mut |d| ok(c - d));
        return match (up, down) {
            (Some(u), Some(w)) if u == w => vec![Found::Step { d: u, x: c + u }, Found::Step { d: -w, x: c - w }],
            (Some(u), Some(w)) if w < u => vec![Found::Step { d: -w, x: c - w }],
            (Some(u), _) => vec![Found::Step { d: u, x: c + u }],
            (None, Some(w)) => vec![Found::Step { d: -w, x: c - w }],
            (None, None) => vec![],
        };
    }
    // Unknown: start from what it is compared with, else zero (months: the assessment month).
    let anchor = match leaf.atom {
        Node::Cmp(_, x, y) => match (x.as_ref(), y.as_ref()) {
            (Node::Field(i), o) | (o, Node::Field(i)) if *i == f && !expr::refs(o).fields.contains(&f) => {
                expr::eval(o, &cx).and_then(|v| unit.of(v))
            }
            _ => None,
        },
        _ => None,
    };
    let a0 = anchor.unwrap_or(if unit == Unit::Month { b.as_of.month_index() as i64 } else { 0 });
    if ok(a0) {
        let below = unit.first(&mut |d| !ok(a0 - d));
        let above = unit.first(&mut |d| !ok(a0 + d));
        vec![match (below, above) {
            (Some(l), Some(h)) => Found::Between(a0 - l + 1, a0 + h - 1),
            // "At least 0" for an amount compared with nothing fixed says only "fill it in".
            (Some(l), None) if anchor.is_none() && unit != Unit::Month && a0 - l + 1 == 0 => Found::Any(0),
            (Some(l), None) => Found::AtLeast(a0 - l + 1),
            (None, Some(h)) => Found::AtMost(a0 + h - 1),
            (None, None) => Found::Any(a0),
        }]
    } else {
        let mut v = Vec::new();
        if let Some(d) = unit.first(&mut |d| ok(a0 + d)) {
            v.push(Found::AtLeast(a0 + d));
        }
        if let Some(d) = unit.first(&mut |d| ok(a0 - d)) {
            v.push(Found::AtMost(a0 - d));
        }
        v
    }
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
    let d = engine::describer(b);
    let cx = ctx(b, hh, a);
    let unit = match field.ty {
        FieldType::Int => Unit::Int,
        FieldType::Money => Unit::Fen,
        _ => Unit::Month,
    };
    let label = &field.label;
    let now = match &hh.cells[f as usize] {
        Cell::Invalid(raw) => format!("现无法识别：{raw}"),
        Cell::Absent(_) => "文件中没有此列".to_string(),
        _ => "现为空白".to_string(),
    };
    let vs = compared_with(b, &d, &cx, leaf, f);
    let comma_vs = if vs.is_empty() { String::new() } else { format!("，{vs}") };
    let mut wait_months = None;
    let short = match found {
        Found::Step { d: delta, x } => unit.scalar(x - delta.signum()),
        Found::AtLeast(x) => unit.scalar(x - 1),
        Found::AtMost(x) => unit.scalar(x + 1),
        Found::Values(_) | Found::Between(..) | Found::Any(_) => None,
    };
    let (value, options, change, text) = match found {
        Found::Values(vals) => {
            let shown: Vec<String> = vals.iter().map(|v| scalar_text(rs, f, v)).collect();
            let text = match hh.cells[f as usize].value() {
                Some(_) => format!("{label} 须为 {}（现为 {}）", shown.join(" 或 "), d.field_value(f, &cx)),
                None => format!("{label} 须为 {}（{now}）", shown.join(" 或 ")),
            };
            (vals[0].clone(), shown, None, text)
        }
        Found::Step { d: delta, x } => {
            let text = if unit == Unit::Month {
                // A month read as months elapsed: moving it earlier is waiting. Say so only when
                // assessing the household as it is, that many months later, gives the same.
                let later = (delta < 0).then(|| months_later(b.as_of, -delta)).flatten();
                let waited = later.and_then(|date| {
                    let b2 = rs.at(date).ok()?;
                    let a2 = engine::assess(&b2, hh);
                    (expr::eval_bool(leaf.atom, &ctx(&b2, hh, &a2)) == Some(leaf.desired)).then_some(date)
                });
                match waited {
                    Some(date) => {
                        wait_months = Some(-delta);
                        format!(
                            "还需 {} 个月（自{label} {} 起算，{}-{:02} 满足）",
                            -delta,
                            d.field_value(f, &cx),
                            date.year,
                            date.month
                        )
                    }
                    None => format!(
                        "{label} 须{} {}（至 {}）{vs}",
                        if delta < 0 { "提前" } else { "推后" },
                        unit.amount(delta.abs()),
                        unit.value(x)
                    ),
                }
            } else {
                format!(
                    "{label} 需{} {}（至 {}）{vs}",
                    if delta > 0 { "增加" } else { "减少" },
                    unit.amount(delta.abs()),
                    unit.value(x)
                )
            };
            (unit.scalar(x)?, vec![], Some(unit.signed(delta)), text)
        }
        Found::AtLeast(x) | Found::AtMost(x) | Found::Between(x, _) | Found::Any(x) => {
            let (ge, le) = if unit == Unit::Month { ("不早于", "不晚于") } else { ("不低于", "不高于") };
            let text = match found {
                Found::AtLeast(_) => format!("{label} 须{ge} {}（{now}）{comma_vs}", unit.value(x)),
                Found::AtMost(_) => format!("{label} 须{le} {}（{now}）{comma_vs}", unit.value(x)),
                Found::Between(lo, hi) => {
                    format!("{label} 须在 {} 至 {} 之间（{now}）{comma_vs}", unit.value(lo), unit.value(hi))
                }
                _ => format!("{label} 须填写（{now}）"),
            };
            (unit.scalar(x)?, vec![], None, text)
        }
    };
    // Verify: the change alone, re-assessed with the real engine, gives the atom its value.
    let h = with_value(rs, hh, f, value.clone());
    let a2 = engine::assess(b, &h);
    if expr::eval_bool(leaf.atom, &ctx(b, &h, &a2)) != Some(leaf.desired) {
        return None;
    }
    // One unit short must not flip it (else `to` is not claimed to be the smallest change).
    let one_short = short.filter(|v| {
        let h = with_value(rs, hh, f, v.clone());
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
        from: hh.cells[f as usize].value().map(|v| scalar_text(rs, f, v)),
        to: scalar_text(rs, f, &value),
        options,
        change,
        one_short: one_short.map(|v| scalar_text(rs, f, &v)),
        wait_months,
        text,
        criterion_flips,
        decision_after: a2.label(b, di).to_string(),
        field_index: f,
        value,
    })
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

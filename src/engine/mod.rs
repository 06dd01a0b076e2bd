//! The engine: one household in, one assessment out.
//!
//! Pure: it is given the rule set bound to the assessment date; it reads no clock, does no I/O,
//! and prints nothing. Criteria are evaluated once each, in dependency order; then the decisions,
//! in the rule file's order, each a first-hit list over them (default-rules.md: "the first
//! condition that is true gives the level; a condition that is unknown (before any is true) gives"
//! the decision's `undecided` label). A decision may read earlier ones: one that is undecided is
//! unknown to it. Reasons are a view of the same compiled conditions over the same values,
//! computed only when an output asks for them.

mod program;
pub use program::Conditions;
pub mod specialise;
pub mod whatif;

use serde::Serialize;

use crate::household::{Cell, Household, Missing, Scalar};
use crate::ruleset::expr::{self, Ctx, Describe, Node};
use crate::ruleset::{Bound, Decision, ReadFrom, Test};
use crate::value::fmt_month;

/// The result for one household.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assessment {
    /// Each criterion: met/true, unmet/false, or unknown.
    pub crits: Vec<Option<bool>>,
    /// Each decision's label index, in the rule set's order.
    pub decisions: Vec<u16>,
    /// Which rule of each decision gave it (`None`: the `otherwise` label).
    pub decided_by: Vec<Option<usize>>,
    /// 疑似返贫: `None` when unknown.
    pub returned: Option<bool>,
    /// The data-quality checks whose condition is true, by index into `RuleSet::checks`.
    pub checks: Vec<u16>,
}

fn ctx<'a>(b: &'a Bound, hh: &'a Household, crits: &'a [Option<bool>], decisions: &'a [u16]) -> Ctx<'a> {
    Ctx {
        cells: &hh.cells,
        params: &b.params,
        crits,
        decisions,
        as_of_month: b.as_of.month_index(),
        as_of_day: expr::day_key(b.as_of),
        members: hh.members.as_ref(),
        member: &[],
        member_index: 0,
        records: &hh.records,
        record: &[],
    }
}

/// Assess one household.
pub fn assess(b: &Bound, hh: &Household) -> Assessment {
    let mut a = Assessment::default();
    assess_into(b, hh, &mut a);
    a
}

/// As [`assess`], into an assessment whose buffers are reused (the streaming hot path).
pub fn assess_into(b: &Bound, hh: &Household, a: &mut Assessment) {
    let rs = b.rules;
    let Assessment { crits, decisions, decided_by, returned, checks } = a;
    crits.clear();
    crits.resize(rs.criteria.len(), None);
    decisions.clear();
    decided_by.clear();
    // The compiled conditions (`ruleset::fast`): the same results as the trees they come from.
    let plan = &rs.plan;
    for (i, cond, unmet) in &plan.crits {
        let cx = ctx(b, hh, crits, &[]);
        let v = match unmet {
            None => cond.eval(&cx),
            Some(u) => match (cond.eval(&cx), u.eval(&cx)) {
                (Some(true), _) => Some(true),
                (_, Some(true)) => Some(false),
                _ => None,
            },
        };
        crits[*i as usize] = v;
    }
    for (d, conds) in rs.decisions.iter().zip(&plan.decisions) {
        let cx = ctx(b, hh, crits, decisions);
        let mut result = (d.otherwise, None);
        for (k, ((_, label, _), cond)) in d.rules.iter().zip(conds).enumerate() {
            match cond.eval(&cx) {
                Some(true) => {
                    result = (*label, Some(k));
                    break;
                }
                None => {
                    result = (d.undecided, Some(k));
                    break;
                }
                Some(false) => {}
            }
        }
        decisions.push(result.0);
        decided_by.push(result.1);
    }
    let cx = ctx(b, hh, crits, decisions);
    *returned = plan.returned.as_ref().and_then(|c| c.eval(&cx));
    checks.clear();
    for (k, c) in plan.checks.iter().enumerate() {
        if c.eval(&cx) == Some(true) {
            checks.push(k as u16);
        }
    }
}

/// Whether compiled condition `cond` (over the household's fields, criteria and decisions, as a
/// check's) holds for an assessed household: `None` when unknown.
pub fn holds(b: &Bound, hh: &Household, a: &Assessment, cond: &crate::ruleset::fast::Cond) -> Option<bool> {
    cond.eval(&ctx(b, hh, &a.crits, &a.decisions))
}

/// One finding of a data-quality check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: String,
    pub label: String,
    pub severity: crate::ruleset::file::Severity,
    /// The message with the household's values and the parameters in force filled in.
    pub message: String,
    pub source: String,
}

/// The message of check `k` for this household: `{key}` pieces filled with the field's value as
/// reasons show it, or the parameter in force.
pub fn write_check_message(out: &mut String, b: &Bound, hh: &Household, a: &Assessment, k: usize) {
    let d = Describer { b };
    let cx = ctx(b, hh, &a.crits, &a.decisions);
    let check = &b.rules.checks[k];
    let found = found_members(&check.when, &cx);
    for p in &check.message {
        match p {
            crate::ruleset::Piece::Text(t) => out.push_str(t),
            crate::ruleset::Piece::Field(i) => d.write_field_value(out, *i, &cx),
            crate::ruleset::Piece::Param(i) => b.params[*i as usize].write_to(out),
            crate::ruleset::Piece::Member(i) => {
                for (n, &m) in found.iter().enumerate() {
                    if n > 0 {
                        out.push('、');
                    }
                    let members = hh.members.as_ref().expect("found members");
                    write_member_value(out, b, *i, &members.get(m)[*i as usize]);
                }
            }
        }
    }
    // Which members: their rows (ID numbers in the message are masked where it is shown).
    if let Some(ms) = hh.members.as_ref().filter(|_| !found.is_empty()) {
        out.push_str("（成员：第 ");
        for (n, &m) in found.iter().enumerate() {
            if n > 0 {
                out.push('、');
            }
            out.push_str(&ms.rows[m].to_string());
        }
        out.push_str(" 行）");
    }
}

/// The members a check's condition is about: those for which the condition of its member macro
/// (`members.exists(m, …)`, `exists_one`, or a `filter(…).size()` compared) is true, when the
/// condition is such a macro or a conjunction with one.
fn found_members(when: &Node, cx: &Ctx) -> Vec<usize> {
    fn member_macro(n: &Node) -> Option<&Node> {
        match n {
            Node::Members(expr::Quant::Exists | expr::Quant::ExistsOne, expr::Over::Members, body) => Some(body),
            Node::Members(expr::Quant::Count, expr::Over::Members, body) if !matches!(**body, Node::Lit(_)) => {
                Some(body)
            }
            Node::Cmp(_, x, y) => member_macro(x).or_else(|| member_macro(y)),
            Node::And(xs) => xs.iter().find_map(member_macro),
            Node::IsTrue(x) => member_macro(x),
            _ => None,
        }
    }
    let (Some(ms), Some(body)) = (cx.members, member_macro(when)) else { return Vec::new() };
    (0..ms.len())
        .filter(|&k| expr::eval_bool(body, &Ctx { member: ms.get(k), member_index: k as u32, ..*cx }) == Some(true))
        .collect()
}

/// A member's cell as messages show it.
fn write_member_value(out: &mut String, b: &Bound, i: u16, cell: &Cell) {
    let f = &b.rules.persons[i as usize];
    match cell.value() {
        None if matches!(cell, Cell::Invalid(_)) => out.push_str("无法识别"),
        None => out.push_str("空白"),
        Some(Scalar::Bool(x)) => out.push_str(if *x { "是" } else { "否" }),
        Some(Scalar::Num(n)) => n.write_to(out),
        Some(Scalar::Enum(e)) => {
            out.push_str(f.enum_id.map(|id| b.rules.enums[id as usize].values[*e as usize].as_str()).unwrap_or(""))
        }
        Some(Scalar::Month(m)) => out.push_str(&fmt_month(*m)),
        Some(Scalar::Text(t)) => out.push_str(t),
    }
}

/// The findings of a household, in check order.
pub fn findings(b: &Bound, hh: &Household, a: &Assessment) -> Vec<Finding> {
    a.checks
        .iter()
        .map(|&k| {
            let c = &b.rules.checks[k as usize];
            let mut message = String::new();
            write_check_message(&mut message, b, hh, a, k as usize);
            Finding {
                check: c.id.clone(),
                label: c.label.clone(),
                severity: c.severity,
                message,
                source: c.source.clone(),
            }
        })
        .collect()
}

/// The findings as one line: `【错误】label：message；【警告】…`.
pub fn write_findings(out: &mut String, b: &Bound, hh: &Household, a: &Assessment) {
    write_findings_where(out, b, hh, a, |_| true)
}

/// As [`write_findings`], the findings of one severity only.
pub fn write_findings_of(
    out: &mut String,
    b: &Bound,
    hh: &Household,
    a: &Assessment,
    severity: crate::ruleset::file::Severity,
) {
    write_findings_where(out, b, hh, a, |s| s == severity)
}

fn write_findings_where(
    out: &mut String,
    b: &Bound,
    hh: &Household,
    a: &Assessment,
    keep: impl Fn(crate::ruleset::file::Severity) -> bool,
) {
    let mut first = true;
    for &k in &a.checks {
        let c = &b.rules.checks[k as usize];
        if !keep(c.severity) {
            continue;
        }
        if !first {
            out.push('；');
        }
        first = false;
        out.push('【');
        out.push_str(c.severity.word());
        out.push('】');
        out.push_str(&c.label);
        out.push('：');
        write_check_message(out, b, hh, a, k as usize);
    }
}

impl Assessment {
    /// Whether a check of severity 错误 found something.
    pub fn has_error_finding(&self, b: &Bound) -> bool {
        self.checks.iter().any(|&k| b.rules.checks[k as usize].severity == crate::ruleset::file::Severity::Error)
    }
}

impl Assessment {
    pub fn label<'r>(&self, b: &'r Bound, decision: usize) -> &'r str {
        &b.rules.decisions[decision].labels[self.decisions[decision] as usize]
    }
    /// The rule that gave decision `di` its label (`None` for `otherwise`, or when a rule's
    /// condition was unknown).
    pub fn fired_rule(&self, b: &Bound, di: usize) -> Option<usize> {
        let dec = &b.rules.decisions[di];
        let k = self.decided_by[di]?;
        (self.decisions[di] != dec.undecided || dec.rules[k].1 == dec.undecided).then_some(k)
    }
    /// Whether decision `di`'s factors are listed: not when the rule that decided says
    /// `factors = false`.
    pub fn lists_factors(&self, b: &Bound, di: usize) -> bool {
        self.fired_rule(b, di).is_none_or(|k| b.rules.decisions[di].rules[k].2.factors)
    }
    /// The factor ids of a decision that are true (none when its rule lists none).
    pub fn factors<'r>(&self, b: &'r Bound, decision: usize) -> Vec<&'r str> {
        let listed = self.lists_factors(b, decision);
        b.rules.decisions[decision]
            .factors
            .iter()
            .filter(|&&c| listed && self.crits[c as usize] == Some(true))
            .map(|&c| b.rules.criteria[c as usize].id.as_str())
            .collect()
    }
}

/// One reason for one decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The decision's key (empty for a criterion listed by `check`).
    pub decision: String,
    /// The criterion id, when the reason is a criterion.
    pub criterion: Option<String>,
    pub label: String,
    /// `met`/`unmet`/`unknown` for criteria, `true`/`false`/`unknown` for other conditions.
    pub status: &'static str,
    /// The household's values this reason rests on.
    pub value: String,
    /// The thresholds in force, with their year.
    pub threshold: String,
    pub source: String,
    /// The whole reason in plain Chinese.
    pub text: String,
}

/// What explains decision `di`: the rule that fired or was unknown; for `otherwise`, why the last
/// rule was false. `None` when there is nothing to explain.
fn deciding<'r>(dec: &'r Decision, a: &Assessment, di: usize) -> Option<(&'r Node, Option<bool>)> {
    match a.decided_by[di] {
        Some(k) => {
            let unknown = a.decisions[di] == dec.undecided && dec.rules[k].1 != dec.undecided;
            Some((&dec.rules[k].0, if unknown { None } else { Some(true) }))
        }
        None => dec.rules.last().map(|r| (&r.0, Some(false))),
    }
}

/// Why each decision came out as it did, with every detail (value, threshold, source): what JSON
/// Lines and `check` show. The sentences are those of [`write_reasons`].
pub fn explain(b: &Bound, hh: &Household, a: &Assessment) -> Vec<Reason> {
    let rs = b.rules;
    let d = Describer { b };
    let mut out = Vec::new();
    for (di, dec) in rs.decisions.iter().enumerate() {
        // An empty label (no suggested monitoring type) needs no reason.
        if dec.labels[a.decisions[di] as usize].is_empty() {
            continue;
        }
        let Some((node, result)) = deciding(dec, a, di) else { continue };
        let cx = ctx(b, hh, &a.crits, &a.decisions[..di]);
        if let Some(said) = a.fired_rule(b, di).and_then(|k| dec.rules[k].2.reason.as_deref()) {
            out.push(Reason {
                decision: dec.id.clone(),
                criterion: None,
                label: said.to_string(),
                status: "true",
                value: String::new(),
                threshold: String::new(),
                source: dec.source.clone(),
                text: said.to_string(),
            });
        }
        for (atom, v) in expr::explaining_atoms(node, result, &cx).iter().copied() {
            out.push(reason(&dec.id, atom, v, &cx, &d, a));
        }
    }
    out
}

/// The reasons as one line of plain Chinese, per decision that applies:
/// `【<decision label>·<its label>】…；… 【…·…】…` (what CSV, XLSX and tables show). Written into
/// `out`, a buffer the caller reuses: this is the hot path of `assess`.
pub fn write_reasons(out: &mut String, b: &Bound, hh: &Household, a: &Assessment) {
    let mut first = true;
    for (di, dec) in b.rules.decisions.iter().enumerate() {
        // A decision shown with another is not listed on its own; one that does not concern the
        // household needs no reason.
        if dec.with.is_some() || dec.is_not_applicable(a.decisions[di]) {
            continue;
        }
        let label = &dec.labels[a.decisions[di] as usize];
        let start = out.len();
        if !first {
            out.push(' ');
        }
        out.push('【');
        out.push_str(&dec.label);
        out.push('·');
        out.push_str(label);
        out.push('】');
        if write_decision_reasons(out, b, hh, a, di) {
            first = false;
        } else {
            out.truncate(start);
        }
    }
}

/// The reasons of one decision, joined by `；` (the lists of `adjust`); whether there were any.
pub fn write_decision_reasons(out: &mut String, b: &Bound, hh: &Household, a: &Assessment, di: usize) -> bool {
    let dec = &b.rules.decisions[di];
    // An empty label (no suggested monitoring type) needs no reason.
    if dec.labels[a.decisions[di] as usize].is_empty() {
        return false;
    }
    let Some((node, result)) = deciding(dec, a, di) else { return false };
    let cx = ctx(b, hh, &a.crits, &a.decisions[..di]);
    let atoms = expr::explaining_atoms(node, result, &cx);
    write_explained(out, b, a, di, &atoms, &cx, &[], &mut false)
}

/// The sentences of decision `di`'s explaining `atoms`, after the reason its rule gives if any;
/// whether there were any. `clean` is cleared unless every sentence was a prepared one that is
/// clean ([`CritTexts::clean`]) and the rule gives no reason of its own (see [`Reasons::write`]).
#[allow(clippy::too_many_arguments)]
fn write_explained(
    out: &mut String,
    b: &Bound,
    a: &Assessment,
    di: usize,
    atoms: &[(&Node, Option<bool>)],
    cx: &Ctx,
    crits: &[Option<CritTexts>],
    clean: &mut bool,
) -> bool {
    let dec = &b.rules.decisions[di];
    let d = Describer { b };
    // A rule's own reason comes first, its conditions after it in brackets.
    let said = a.fired_rule(b, di).and_then(|k| dec.rules[k].2.reason.as_deref());
    if let Some(said) = said {
        *clean = false;
        out.push_str(said);
        if !atoms.is_empty() {
            out.push('（');
        }
    }
    for (k, &(atom, v)) in atoms.iter().enumerate() {
        if k > 0 {
            out.push('；');
        }
        // A criterion's sentence prepared for the cell its field holds, else written.
        let prepared = match atom {
            Node::Crit(i) => crits.get(*i as usize).and_then(|t| {
                let t = t.as_ref()?;
                Some((&t.get(cx.cells, v)?[SEP.len()..], t.clean))
            }),
            _ => None,
        };
        match prepared {
            Some((t, c)) => {
                *clean &= c;
                out.push_str(t)
            }
            None => {
                *clean = false;
                write_reason_text(out, &d, atom, v, cx, a)
            }
        }
    }
    if said.is_some() && !atoms.is_empty() {
        out.push('）');
    }
    said.is_some() || !atoms.is_empty()
}

/// The reasons line of a run ([`write_reasons`]), prepared once for the rule set bound to its
/// date: each decision's `【decision·label】` for each of its labels, and each decision rule's
/// atoms in the order of its condition with their polarity, so that explaining a household reads
/// the atoms' values from a list instead of walking the condition's tree. Writes exactly what
/// [`write_reasons`] writes (a test compares the two).
pub struct Reasons<'b> {
    b: &'b Bound<'b>,
    decisions: Vec<DecisionReasons<'b>>,
    /// Per criterion: its sentences written once for the cells its field most often holds
    /// ([`CritTexts`]), when nothing else of the household is in them.
    crits: Vec<Option<CritTexts>>,
    /// Per criterion whose sentence is its label and the parts that explain it (`收入骤减：是
    /// （…）`, [`write_crit_text`]): its condition's atoms listed at load, as a rule's are, so that
    /// the parts are found from a list instead of by walking the condition.
    composites: Vec<Option<Composite<'b>>>,
}

/// A composite criterion's condition(s), as [`Reasons::crit_text`] explains them.
enum Composite<'b> {
    /// `condition`: its atoms.
    Condition(Vec<PlannedAtom<'b>>),
    /// `met` and `unmet` (neither a single atom): the atoms of each.
    MetUnmet(Vec<PlannedAtom<'b>>, Vec<PlannedAtom<'b>>),
    /// `c ? x : y`: explained by the atoms of the branch `c` takes, or by `c` when it is
    /// unknown (as [`expr::explaining_atoms`] explains it).
    Choice(Box<[Vec<PlannedAtom<'b>>; 3]>),
}

/// The sentences of a criterion whose condition is one atom with a template reading one field
/// and nothing else of the household (`ill > 0`: `大病慢性病人数 0（空白） ≤ 0`), for each of its
/// values, written at load for the cells the field most often holds: blank, blank standing for
/// its `blank` value, a whole number 0–9. With any other cell the sentence is written as usual.
/// Each is what [`write_crit_text`] writes for that cell (the sentence depends on nothing else:
/// [`sole_field`]; a test compares them).
#[derive(Clone)]
struct CritTexts {
    field: u16,
    /// Each sentence below is kept after the separator that goes before it in a reasons line
    /// ([`SEP`]), so that a sentence after another is written in one piece.
    /// For a blank cell: true, false, unknown.
    blank: [Box<str>; 3],
    /// For the cell of a blank standing for the field's `blank` value (that value).
    blank_as: Option<(Scalar, [Box<str>; 3])>,
    /// For a number field's cell holding 0–9.
    digits: Vec<[Box<str>; 3]>,
    /// Whether every one of these sentences is [`clean_piece`]: a line of such sentences between
    /// the separators of [`Reasons::write`] is written into a CSV cell as it is, no personal
    /// number masked.
    clean: bool,
}

/// `a == b`, the kinds a yes/no or number field's `blank` stands for compared in place (the
/// derived `==` is a call).
#[inline(always)]
fn same_scalar(a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        (Scalar::Num(x), Scalar::Num(y)) => x == y,
        (Scalar::Enum(x), Scalar::Enum(y)) => x == y,
        _ => a == b,
    }
}

/// `n` when it is a whole number below `len`: one unsigned division by a constant and a
/// product (a negative number, as unsigned, is far above any), not a remainder and a quotient.
#[inline(always)]
fn small_whole(n: crate::value::Num, len: usize) -> Option<usize> {
    let d = (n.0 as u64) / crate::value::SCALE as u64;
    (d < len as u64 && d as i64 * crate::value::SCALE == n.0).then_some(d as usize)
}

/// What goes between two sentences of a decision's reasons.
const SEP: &str = "；";

impl CritTexts {
    /// The sentence for value `v` when the household's cell is one of those prepared, after
    /// [`SEP`] (`&s[SEP.len()..]` is the sentence alone).
    #[inline(always)]
    fn get(&self, cells: &[Cell], v: Option<bool>) -> Option<&str> {
        let k = match v {
            Some(true) => 0,
            Some(false) => 1,
            None => 2,
        };
        let cell = &cells[self.field as usize];
        let texts = match cell {
            Cell::Blank => &self.blank,
            Cell::BlankAs(x) => match &self.blank_as {
                Some((s, texts)) if same_scalar(s, x) => texts,
                _ => return None,
            },
            Cell::Value(Scalar::Num(n)) => &self.digits[small_whole(*n, self.digits.len())?],
            _ => return None,
        };
        Some(&texts[k])
    }

    /// Which of its sentences [`CritTexts::get`] gives, as a number from 1 to 36 (its cell's
    /// kind, then the value): `None` exactly when `get` gives none.
    #[inline(always)]
    fn code(&self, cells: &[Cell], v: Option<bool>) -> Option<u64> {
        let k = match v {
            Some(true) => 0,
            Some(false) => 1,
            None => 2,
        };
        let class = match &cells[self.field as usize] {
            Cell::Blank => 0,
            Cell::BlankAs(x) => match &self.blank_as {
                Some((s, _)) if same_scalar(s, x) => 1,
                _ => return None,
            },
            Cell::Value(Scalar::Num(n)) => 2 + small_whole(*n, self.digits.len())? as u64,
            _ => return None,
        };
        Some(1 + 3 * class + k)
    }

    /// Criterion `i`'s sentences, when it has a template reading one field only.
    fn of(b: &Bound, i: usize) -> Option<CritTexts> {
        let d = Describer { b };
        d.templates().crit(i)?;
        let Test::Condition(n) = &b.rules.criteria[i].test else { return None };
        let field = sole_field(n)?;
        let f = &b.rules.fields[field as usize];
        // Written over a household of blanks but for that field (nothing else is read).
        let sentences = |cell: Cell| -> [Box<str>; 3] {
            let mut cells = vec![Cell::Blank; b.rules.fields.len()];
            cells[field as usize] = cell;
            let hh = Household { cells, ..Default::default() };
            let (crits, decisions) = (vec![None; b.rules.criteria.len()], vec![0; b.rules.decisions.len()]);
            let a = Assessment { crits, decisions, ..Default::default() };
            let cx = ctx(b, &hh, &a.crits, &a.decisions);
            [Some(true), Some(false), None].map(|v| {
                let mut s = String::from(SEP);
                write_crit_text(&mut s, &d, i, v, &cx, &a, 0);
                s.into()
            })
        };
        let number = matches!(f.ty, crate::ruleset::file::FieldType::Int | crate::ruleset::file::FieldType::Money);
        let mut t = CritTexts {
            field,
            blank: sentences(Cell::Blank),
            blank_as: f.blank.clone().map(|s| (s.clone(), sentences(Cell::BlankAs(s)))),
            digits: match number {
                true => (0..10)
                    .map(|k| sentences(Cell::Value(Scalar::Num(crate::value::Num(k * crate::value::SCALE)))))
                    .collect(),
                false => Vec::new(),
            },
            clean: false,
        };
        let all = std::iter::once(&t.blank).chain(t.blank_as.as_ref().map(|(_, s)| s)).chain(&t.digits);
        t.clean = all.flatten().all(|s| clean_piece(&s[SEP.len()..]));
        Some(t)
    }
}

/// Whether a piece of a reasons line (a prepared sentence, a decision's `【decision·label】`)
/// needs nothing done to it in a CSV cell: no byte that makes a cell quoted, no personal number
/// that [`privacy::mask_text`] would mask. Pieces joined by characters that are neither digits,
/// X nor separators of a number (`；`, `【`, `】`, and a space before `【`) cannot form a number
/// across the join (a number's digits and single separators are consecutive), so a line of clean
/// pieces is masked as each piece is: not at all. A line starting with `【` is no formula.
fn clean_piece(s: &str) -> bool {
    !s.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r'))
        && matches!(crate::privacy::mask_text(s), std::borrow::Cow::Borrowed(_))
}

/// The one field an atom reads when it reads nothing else that varies between households (no
/// criterion, decision, member, record or other field; parameters, literals and the assessment
/// date are the run's), so that its sentence depends on that field's cell only.
fn sole_field(n: &Node) -> Option<u16> {
    let (mut field, mut ok) = (None, true);
    expr::walk(n, &mut |x| match x {
        Node::Field(i) | Node::Blank(i) => {
            ok &= field.is_none_or(|f| f == *i);
            field = Some(*i);
        }
        Node::Lit(_)
        | Node::Param(_)
        | Node::AsOf
        | Node::Cmp(..)
        | Node::In(..)
        | Node::Arith(..)
        | Node::Neg(_)
        | Node::Not(_)
        | Node::Known(_)
        | Node::IsTrue(_)
        | Node::IsFalse(_)
        | Node::MonthsSince(_)
        | Node::Unary(..)
        | Node::Binary(..) => {}
        _ => ok = false,
    });
    field.filter(|_| ok)
}

/// One decision's part of [`Reasons`].
struct DecisionReasons<'b> {
    /// Per label: ` 【decision·label】`, with the space that goes before it after another
    /// decision's reasons (`&head[1..]` is the head alone).
    heads: Vec<Box<str>>,
    /// Whether every one of them is [`clean_piece`].
    heads_clean: bool,
    /// Per label: whether a household given it has its reasons written, as [`write_reasons`] says:
    /// not for a decision shown with another, nor for the label meaning "does not concern the
    /// household", nor for an empty label.
    explained: Vec<bool>,
    /// Per rule: its atoms ([`expr::atoms`]); `None` when a `c ? x : y` is among them (explained
    /// by the branch it takes: such a rule is explained by [`expr::explaining_atoms`]), or when
    /// there are more than 64 (see [`PlannedAtom::earlier`]).
    rules: Vec<Option<Vec<PlannedAtom<'b>>>>,
    /// Per rule: its atoms again when every one is a criterion with sentences prepared for the
    /// cells its field most often holds ([`CritTexts`]) and the rule gives no reason of its own
    /// (the usual reasons: `大病慢性病人数 0（空白） ≤ 0；…`), written by
    /// [`Reasons::write_prepared`] without the evaluation context or a look at what each atom is.
    prepared: Vec<Option<Box<[PreparedAtom]>>>,
}

/// The reasons of prepared rules ([`DecisionReasons::prepared`]) as consecutive rows wrote
/// them, kept by the caller from row to row (one per worker, in `output::RowMemo`, which
/// forgets it for another run's rules): a rule's sentences depend only on which of its atoms
/// explain and which prepared sentence each gives, a handful of combinations in a run (most
/// households: the same four sentences), so that a row finds them written in one piece.
/// Bounded: [`REASON_SLOTS`] entries, each saying what it was written from.
#[derive(Default)]
pub struct ReasonsMemo {
    /// By slot (chosen by the key's hash): the key ([`Reasons::write_prepared_memo`]), the
    /// sentences as written, and whether they are clean.
    slots: Vec<([u64; 2], String, bool)>,
}

/// Slots of a [`ReasonsMemo`] (a power of two).
const REASON_SLOTS: usize = 64;

/// The most atoms a rule's key holds (6 bits each: [`CritTexts::code`], or 0 for an atom that
/// does not explain).
const MEMO_ATOMS: usize = 10;

/// An atom of [`DecisionReasons::prepared`]: a criterion, as its [`PlannedAtom`], with its
/// sentences.
struct PreparedAtom {
    crit: u16,
    positive: bool,
    earlier: u64,
    texts: CritTexts,
}

/// An atom of a decision rule's condition, as [`expr::explaining_atoms`] meets it.
struct PlannedAtom<'b> {
    node: &'b Node,
    /// Whether its being true pushes the condition towards true.
    positive: bool,
    /// The criterion it is: its value is the assessment's (what `eval_bool` reads).
    crit: Option<u16>,
    /// The atoms equal to it that come before it in the condition, a bit each by position: it
    /// explains only when none of them does (each atom explains once).
    earlier: u64,
}

impl<'b> Reasons<'b> {
    pub fn new(b: &'b Bound<'b>) -> Reasons<'b> {
        let crits: Vec<Option<CritTexts>> = (0..b.rules.criteria.len()).map(|i| CritTexts::of(b, i)).collect();
        // A rule's atoms with their sentences, when each has them.
        let prepared = |rule: &(Node, u16, crate::ruleset::RuleText), planned: Option<&Vec<PlannedAtom>>| {
            let atoms: Option<Box<[PreparedAtom]>> = (planned?.iter())
                .map(|p| {
                    let texts = crits[p.crit? as usize].clone()?;
                    Some(PreparedAtom { crit: p.crit?, positive: p.positive, earlier: p.earlier, texts })
                })
                .collect();
            atoms.filter(|_| rule.2.reason.is_none())
        };
        let decisions = (b.rules.decisions.iter())
            .map(|dec| {
                let heads: Vec<Box<str>> =
                    dec.labels.iter().map(|l| format!(" 【{}·{l}】", dec.label).into()).collect();
                let explained = (0..dec.labels.len())
                    .map(|l| dec.with.is_none() && !dec.is_not_applicable(l as u16) && !dec.labels[l].is_empty())
                    .collect();
                let rules: Vec<Option<Vec<PlannedAtom>>> = dec.rules.iter().map(|r| planned_atoms(&r.0)).collect();
                DecisionReasons {
                    heads_clean: heads.iter().all(|h| clean_piece(&h[1..])),
                    heads,
                    explained,
                    prepared: dec.rules.iter().zip(&rules).map(|(r, p)| prepared(r, p.as_ref())).collect(),
                    rules,
                }
            })
            .collect();
        let d = Describer { b };
        let composites = (b.rules.criteria.iter().enumerate())
            .map(|(i, c)| {
                // As `write_crit_text`: not a template's, not a single atom's.
                let single = |n: &Node| matches!(n, Node::Cmp(..) | Node::Field(_) | Node::In(..));
                if d.templates().crit(i).is_some() {
                    return None;
                }
                match &c.test {
                    Test::Condition(Node::Cond(c, x, y)) => {
                        let c = PlannedAtom {
                            node: c,
                            positive: true,
                            crit: match **c {
                                Node::Crit(k) => Some(k),
                                _ => None,
                            },
                            earlier: 0,
                        };
                        Some(Composite::Choice(Box::new([vec![c], planned_atoms(x)?, planned_atoms(y)?])))
                    }
                    Test::Condition(n) if !single(n) => Some(Composite::Condition(planned_atoms(n)?)),
                    Test::MetUnmet(m, u) if !single(m) && !single(u) => {
                        Some(Composite::MetUnmet(planned_atoms(m)?, planned_atoms(u)?))
                    }
                    _ => None,
                }
            })
            .collect();
        Reasons { b, decisions, crits, composites }
    }

    /// Criterion `i`'s sentence for value `v`, as [`write_crit_text`] writes it over `cx` (whose
    /// criteria are the assessment's): a composite one's parts from its atoms listed at load, a
    /// part that is a criterion with a sentence prepared for the household's cell copied.
    fn crit_text(&self, out: &mut String, i: usize, v: Option<bool>, cx: &Ctx, a: &Assessment, depth: usize) {
        let Some(plan) = &self.composites[i] else {
            return write_crit_text(out, &Describer { b: self.b }, i, v, cx, a, depth);
        };
        let label = &self.b.rules.criteria[i].label;
        let (atoms, result) = match (plan, v) {
            (Composite::Condition(atoms), v) => (atoms, v),
            (Composite::Choice(branches), v) => {
                let [c, x, y] = &**branches;
                match c[0].crit {
                    Some(k) => cx.crits[k as usize],
                    None => expr::eval_bool(c[0].node, cx),
                }
                .map_or((c, v), |take| (if take { x } else { y }, v))
            }
            (Composite::MetUnmet(met, _), Some(true)) => (met, Some(true)),
            (Composite::MetUnmet(_, unmet), Some(false)) => (unmet, Some(true)),
            (Composite::MetUnmet(met, unmet), None) => {
                // The unknown parts of both, each text once, in brackets even when there is none.
                out.push_str(label);
                out.push_str("：未知（");
                let mut parts: smallvec::SmallVec<[(usize, usize); 8]> = smallvec::SmallVec::new();
                for atoms in [met, unmet] {
                    self.each_part(atoms, None, cx, &mut |atom, av| {
                        let at = out.len();
                        if !parts.is_empty() {
                            out.push('，');
                        }
                        let start = out.len();
                        self.write_part(out, atom, av, cx, a, depth);
                        if parts.iter().any(|&(s, e)| out[s..e] == out[start..]) {
                            out.truncate(at);
                        } else {
                            parts.push((start, out.len()));
                        }
                    });
                }
                out.push('）');
                return;
            }
        };
        out.push_str(label);
        out.push('：');
        out.push_str(match v {
            Some(true) => "是",
            Some(false) => "否",
            None => "未知",
        });
        let mut first = true;
        self.each_part(atoms, result, cx, &mut |atom, av| {
            out.push(if first { '（' } else { '，' });
            first = false;
            self.write_part(out, atom, av, cx, a, depth);
        });
        if !first {
            out.push('）');
        }
    }

    /// The atoms of `atoms` that explain `result`, with their values, in order: those
    /// [`expr::explaining_atoms`] keeps.
    #[inline]
    fn each_part<'p>(
        &self,
        atoms: &'p [PlannedAtom<'b>],
        result: Option<bool>,
        cx: &Ctx,
        f: &mut dyn FnMut(&'p PlannedAtom<'b>, Option<bool>),
    ) {
        let mut kept = 0u64;
        for (j, atom) in atoms.iter().enumerate() {
            let av = match atom.crit {
                Some(k) => cx.crits[k as usize],
                None => expr::eval_bool(atom.node, cx),
            };
            let keep = match (result, av) {
                (None, None) => true,
                (Some(r), Some(x)) => (x == atom.positive) == r,
                _ => false,
            };
            if keep && atom.earlier & kept == 0 {
                kept |= 1 << j;
                f(atom, av);
            }
        }
    }

    /// One part of a composite criterion's sentence, as `write_part` writes it: a criterion's
    /// sentence (prepared for the household's cell, or written), any other atom as itself.
    fn write_part(
        &self,
        out: &mut String,
        atom: &PlannedAtom,
        av: Option<bool>,
        cx: &Ctx,
        a: &Assessment,
        depth: usize,
    ) {
        match (atom.crit, depth < 4) {
            (Some(k), true) => match self.crits[k as usize].as_ref().and_then(|t| t.get(cx.cells, av)) {
                Some(t) => out.push_str(&t[SEP.len()..]),
                None => self.crit_text(out, k as usize, av, cx, a, depth + 1),
            },
            _ => expr::write_atom(out, atom.node, av, cx, &Describer { b: self.b }),
        }
    }

    /// [`write_reasons`] of one household. Returns whether the line is clean: only prepared
    /// pieces that are [`clean_piece`], joined by `；`, ` ` before `【`, starting with `【` — a CSV
    /// cell as it is, nothing to mask, quote or defend (the usual case); false when in doubt.
    pub fn write(&self, out: &mut String, hh: &Household, a: &Assessment) -> bool {
        self.write_with(out, hh, a, None)
    }

    /// [`Reasons::write`], the sentences of prepared rules found in `memo` when a row before
    /// wrote the same (see [`ReasonsMemo`]).
    pub fn write_memo(&self, out: &mut String, hh: &Household, a: &Assessment, memo: &mut ReasonsMemo) -> bool {
        self.write_with(out, hh, a, Some(memo))
    }

    #[inline(always)]
    fn write_with(&self, out: &mut String, hh: &Household, a: &Assessment, mut memo: Option<&mut ReasonsMemo>) -> bool {
        let mut first = true;
        let mut clean = true;
        for (di, plan) in self.decisions.iter().enumerate() {
            let label = a.decisions[di] as usize;
            // As `write_reasons` and `write_decision_reasons`: only a decision listed on its own
            // that concerns the household, with a label to explain.
            if !plan.explained[label] {
                continue;
            }
            let start = out.len();
            let head = &plan.heads[label];
            out.push_str(if first { &head[1..] } else { head });
            let mut c = plan.heads_clean;
            if self.write_decision(out, hh, a, di, &mut c, memo.as_deref_mut()) {
                first = false;
                clean &= c;
            } else {
                out.truncate(start);
            }
        }
        clean
    }

    /// [`write_decision_reasons`] (a list's `{reasons.<decision>}` in `adjust`): the same bytes,
    /// from the atoms and sentences prepared for the run, as [`Reasons::write`] writes each
    /// decision's part of the line.
    pub fn write_one(&self, out: &mut String, hh: &Household, a: &Assessment, di: usize) -> bool {
        // As `write_decision_reasons`: an empty label (no suggested monitoring type) needs none.
        if self.b.rules.decisions[di].labels[a.decisions[di] as usize].is_empty() {
            return false;
        }
        self.write_decision(out, hh, a, di, &mut true, None)
    }

    /// [`write_decision_reasons`] of a decision whose label is explained: the rule's atoms from
    /// its list, each written as soon as it is found to explain (what [`expr::explaining_atoms`]
    /// keeps, written as [`write_explained`] writes it, in one pass), the evaluation context
    /// built only when an atom needs it.
    fn write_decision(
        &self,
        out: &mut String,
        hh: &Household,
        a: &Assessment,
        di: usize,
        clean: &mut bool,
        memo: Option<&mut ReasonsMemo>,
    ) -> bool {
        let b = self.b;
        let dec = &b.rules.decisions[di];
        // As `deciding`: the rule that decided (true; unknown when it gave `undecided` for an
        // unknown condition), else the last one, false.
        let (k, result) = match a.decided_by[di] {
            Some(k) => {
                let unknown = a.decisions[di] == dec.undecided && dec.rules[k].1 != dec.undecided;
                (k, if unknown { None } else { Some(true) })
            }
            None if dec.rules.is_empty() => return false,
            None => (dec.rules.len() - 1, Some(false)),
        };
        if let Some(written) = self.write_prepared_any(out, hh, a, (di, k, result), clean, memo) {
            return written;
        }
        let cx = || ctx(b, hh, &a.crits, &a.decisions[..di]);
        let Some(plan) = &self.decisions[di].rules[k] else {
            let cx = cx();
            let atoms = expr::explaining_atoms(&dec.rules[k].0, result, &cx);
            return write_explained(out, b, a, di, &atoms, &cx, &self.crits, clean);
        };
        // As `fired_rule`: the rule that decided, when it was not unknown, gives its reason first,
        // its conditions after it in brackets.
        let said = match (a.decided_by[di], result) {
            (Some(_), Some(true)) => dec.rules[k].2.reason.as_deref(),
            _ => None,
        };
        if let Some(said) = said {
            *clean = false;
            out.push_str(said);
        }
        let mut context: Option<Ctx> = None;
        let (mut kept, mut written) = (0u64, false);
        for (j, atom) in plan.iter().enumerate() {
            let v = match atom.crit {
                Some(i) => a.crits[i as usize],
                None => expr::eval_bool(atom.node, context.get_or_insert_with(cx)),
            };
            if !expr::explains(result, v, atom.positive) || atom.earlier & kept != 0 {
                continue;
            }
            kept |= 1 << j;
            if !written && said.is_some() {
                out.push('（');
            }
            // A criterion's sentence prepared for the cell its field holds (after the separator
            // in one piece), else written.
            let prepared = atom.crit.and_then(|i| {
                let t = self.crits[i as usize].as_ref()?;
                Some((t.get(&hh.cells, v)?, t.clean))
            });
            let first = !written;
            written = true;
            match prepared {
                Some((t, c)) => {
                    *clean &= c;
                    out.push_str(if first { &t[SEP.len()..] } else { t })
                }
                None => {
                    if !first {
                        out.push_str(SEP);
                    }
                    *clean = false;
                    let cx = context.get_or_insert_with(cx);
                    match atom.crit {
                        Some(i) => self.crit_text(out, i as usize, v, cx, a, 0),
                        None => expr::write_atom(out, atom.node, v, cx, &Describer { b }),
                    }
                }
            }
        }
        if said.is_some() && written {
            out.push('）');
        }
        said.is_some() || written
    }
}

impl Reasons<'_> {
    /// [`Reasons::write_decision`]'s atoms of rule `k` of decision `di` when they are all
    /// prepared ([`DecisionReasons::prepared`]): through `memo` when given and the rule's key
    /// holds it (at most [`MEMO_ATOMS`] atoms, the decision in 16 bits and the rule in 32).
    /// `None` (nothing written) when the rule's atoms are not all prepared, or as
    /// [`Reasons::write_prepared`].
    #[inline]
    fn write_prepared_any(
        &self,
        out: &mut String,
        hh: &Household,
        a: &Assessment,
        (di, k, result): (usize, usize, Option<bool>),
        clean: &mut bool,
        memo: Option<&mut ReasonsMemo>,
    ) -> Option<bool> {
        let atoms = self.decisions[di].prepared[k].as_ref()?;
        match memo {
            Some(m) if atoms.len() <= MEMO_ATOMS && di <= 0xFFFF && k <= 0xFFFF_FFFF => {
                self.write_prepared_memo(m, out, hh, a, (di, k, result), atoms, clean)
            }
            _ => self.write_prepared(out, hh, a, atoms, result, clean),
        }
    }

    /// [`Reasons::write_decision`]'s atoms of a rule whose atoms are all prepared
    /// ([`DecisionReasons::prepared`]): the same sentences, in one loop. `None` (and nothing
    /// written) when an atom that explains holds a cell its sentences were not prepared for.
    #[inline]
    fn write_prepared(
        &self,
        out: &mut String,
        hh: &Household,
        a: &Assessment,
        atoms: &[PreparedAtom],
        result: Option<bool>,
        clean: &mut bool,
    ) -> Option<bool> {
        let (start, mut c) = (out.len(), true);
        let kept = explaining(atoms, &a.crits, result, |_, atom, v, kept| {
            let t = atom.texts.get(&hh.cells, v)?;
            // The first sentence without the separator before it.
            out.push_str(if kept == 0 { &t[SEP.len()..] } else { t });
            c &= atom.texts.clean;
            Some(())
        });
        let Some(kept) = kept else {
            out.truncate(start);
            return None;
        };
        *clean &= c;
        Some(kept != 0)
    }

    /// [`Reasons::write_prepared`] of rule `k` of decision `di` (its value `result`), copied
    /// from `memo` when a row before wrote the same sentences. The key: the decision, the rule
    /// and the value explained, and per atom 6 bits: 0 when it does not explain, else which
    /// prepared sentence it gives ([`CritTexts::code`]) — all that the sentences are written from.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn write_prepared_memo(
        &self,
        memo: &mut ReasonsMemo,
        out: &mut String,
        hh: &Household,
        a: &Assessment,
        (di, k, result): (usize, usize, Option<bool>),
        atoms: &[PreparedAtom],
        clean: &mut bool,
    ) -> Option<bool> {
        let mut code = 0u64;
        let kept = explaining(atoms, &a.crits, result, |j, atom, v, _| {
            code |= atom.texts.code(&hh.cells, v)? << (6 * j);
            Some(())
        })?;
        let r = match result {
            Some(true) => 0u64,
            Some(false) => 1,
            None => 2,
        };
        // Bits 58–63 of the second word are never set: no key is an empty slot's (all ones).
        let key = [code, di as u64 | (k as u64) << 16 | r << 56];
        let hash = (key[0] ^ key[1].rotate_left(29) ^ key[0] >> 31).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (hash >> (64 - REASON_SLOTS.trailing_zeros())) as usize % REASON_SLOTS;
        if memo.slots.is_empty() {
            memo.slots.resize(REASON_SLOTS, ([u64::MAX; 2], String::new(), false));
        }
        let (held, text, c) = &mut memo.slots[slot];
        if *held == key {
            out.push_str(text);
            *clean &= *c;
            return Some(kept != 0);
        }
        let (start, mut wrote_clean) = (out.len(), true);
        let written = self.write_prepared(out, hh, a, atoms, result, &mut wrote_clean)?;
        *held = key;
        text.clear();
        text.push_str(&out[start..]);
        *c = wrote_clean;
        *clean &= wrote_clean;
        Some(written)
    }
}

/// Call `f` on each atom of a prepared rule that explains its value `result` (its criterion's
/// value `v` agrees with `result`; both unknown for an unknown rule), in order, an atom whose
/// `earlier` twin explained skipped; `f` also gets the atom's index and the mask of those before.
/// The mask of the atoms `f` was called on, or `None` as soon as `f` gives `None`. One selection
/// for writing the sentences and for the memo's key, so the two cannot disagree.
#[inline(always)]
fn explaining(
    atoms: &[PreparedAtom],
    crits: &[Option<bool>],
    result: Option<bool>,
    mut f: impl FnMut(usize, &PreparedAtom, Option<bool>, u64) -> Option<()>,
) -> Option<u64> {
    let mut kept = 0u64;
    for (j, atom) in atoms.iter().enumerate() {
        let v = crits[atom.crit as usize];
        if !expr::explains(result, v, atom.positive) || atom.earlier & kept != 0 {
            continue;
        }
        f(j, atom, v, kept)?;
        kept |= 1 << j;
    }
    Some(kept)
}

/// A rule's atoms with their polarity and what [`Reasons::write_decision`] needs of them; `None`
/// when a `c ? x : y` is among them, or more than 64 atoms.
fn planned_atoms(n: &Node) -> Option<Vec<PlannedAtom<'_>>> {
    let mut list = Vec::new();
    expr::atoms(n, true, &mut list);
    if list.len() > 64 || list.iter().any(|(x, _)| matches!(x, Node::Cond(..))) {
        return None;
    }
    let same = |x: &Node, y: &Node| std::ptr::eq(x, y) || x == y;
    let planned = (list.iter().enumerate())
        .map(|(k, &(node, positive))| PlannedAtom {
            node,
            positive,
            crit: match node {
                Node::Crit(i) => Some(*i),
                _ => None,
            },
            earlier: (list[..k].iter().enumerate()).filter(|(_, (x, _))| same(x, node)).fold(0, |m, (j, _)| m | 1 << j),
        })
        .collect();
    Some(planned)
}

/// The sentence of one reason: a criterion as [`write_crit_text`], any other atom as itself.
fn write_reason_text(out: &mut String, d: &Describer, atom: &Node, v: Option<bool>, cx: &Ctx, a: &Assessment) {
    match atom {
        Node::Crit(i) => write_crit_text(out, d, *i as usize, v, cx, a, 0),
        other => expr::write_atom(out, other, v, cx, d),
    }
}

/// One criterion as a reason (status, the household's values, thresholds in force, sources), as
/// `tuopin check` lists every criterion; `decision` is empty.
pub fn explain_criterion(b: &Bound, hh: &Household, a: &Assessment, criterion: u16) -> Reason {
    let cx = ctx(b, hh, &a.crits, &a.decisions);
    reason("", &Node::Crit(criterion), a.crits[criterion as usize], &cx, &Describer { b }, a)
}

/// Labels and values as staff read them, for explanations built outside the engine (what-if).
pub fn describer<'a>(b: &'a Bound<'a>) -> impl Describe + 'a {
    Describer { b }
}

fn reason(decision: &str, atom: &Node, v: Option<bool>, cx: &Ctx, d: &Describer, a: &Assessment) -> Reason {
    let mut text = String::new();
    write_reason_text(&mut text, d, atom, v, cx, a);
    let rs = d.b.rules;
    let (fields, params) = {
        let r = match atom {
            Node::Crit(i) => crit_refs(d, *i as usize),
            n => expr::refs(n),
        };
        (r.fields, r.params)
    };
    let value = fields
        .iter()
        .map(|&f| format!("{}：{}", d.field_label(f), d.field_value(f, cx)))
        .collect::<Vec<_>>()
        .join("，");
    let threshold = params
        .iter()
        .map(|&p| {
            let pv = d.b.param_value(p);
            format!("{} {}（{}年）", d.param_label(p), pv.value, d.b.as_of.year)
        })
        .collect::<Vec<_>>()
        .join("，");
    let mut sources: Vec<String> = params.iter().map(|&p| d.b.param_value(p).source.clone()).collect();
    match atom {
        Node::Crit(i) => {
            let c = &rs.criteria[*i as usize];
            sources.insert(0, c.source.clone());
            Reason {
                decision: decision.to_string(),
                criterion: Some(c.id.clone()),
                label: c.label.clone(),
                status: status(v, true),
                value,
                threshold,
                source: sources.join("；"),
                text,
            }
        }
        other => Reason {
            decision: decision.to_string(),
            criterion: None,
            label: expr::formula(other, d),
            status: status(v, false),
            value,
            threshold,
            source: sources.join("；"),
            text,
        },
    }
}

/// The status word of a reason: `met`/`unmet` for criteria, `true`/`false` otherwise, `unknown`.
pub fn status(v: Option<bool>, criterion: bool) -> &'static str {
    match (v, criterion) {
        (Some(true), true) => "met",
        (Some(false), true) => "unmet",
        (Some(true), false) => "true",
        (Some(false), false) => "false",
        (None, _) => "unknown",
    }
}

/// Fields and parameters a criterion reads, through the criteria it reads.
fn crit_refs(d: &Describer, i: usize) -> expr::Refs {
    let mut out = expr::Refs::default();
    let mut stack = vec![i];
    let mut seen = vec![];
    while let Some(c) = stack.pop() {
        if seen.contains(&c) {
            continue;
        }
        seen.push(c);
        let nodes: Vec<&Node> = match &d.b.rules.criteria[c].test {
            Test::Condition(n) => vec![n],
            Test::MetUnmet(m, u) => vec![m, u],
        };
        for n in nodes {
            let r = expr::refs(n);
            for f in r.fields {
                if !out.fields.contains(&f) {
                    out.fields.push(f);
                }
            }
            for p in r.params {
                if !out.params.contains(&p) {
                    out.params.push(p);
                }
            }
            stack.extend(r.crits.iter().rev().map(|&x| x as usize));
        }
    }
    out
}

/// A criterion as a sentence: a single comparison reads as itself (with the values and the
/// threshold in force); a composite one as its label followed by the parts that explain it.
fn write_crit_text(out: &mut String, d: &Describer, i: usize, v: Option<bool>, cx: &Ctx, a: &Assessment, depth: usize) {
    // A single comparison prepared at load (below: "a single atom explains itself").
    if let Some(t) = d.templates().crit(i) {
        return t.write(out, v, cx, d);
    }
    let c = &d.b.rules.criteria[i];
    let (node, result): (&Node, Option<bool>) = match (&c.test, v) {
        (Test::Condition(n), v) => (n, v),
        (Test::MetUnmet(m, _), Some(true)) => (m, Some(true)),
        (Test::MetUnmet(_, u), Some(false)) => (u, Some(true)),
        (Test::MetUnmet(m, u), None) => {
            let mut parts: Vec<String> = Vec::new();
            for n in [m, u] {
                for (atom, av) in expr::explaining_atoms(n, None, cx).iter().copied() {
                    let mut t = String::new();
                    write_part(&mut t, d, atom, av, cx, a, depth);
                    if !parts.contains(&t) {
                        parts.push(t);
                    }
                }
            }
            out.push_str(&c.label);
            out.push_str("：未知（");
            out.push_str(&parts.join("，"));
            out.push('）');
            return;
        }
    };
    if matches!(node, Node::Cmp(..) | Node::Field(_) | Node::In(..)) {
        // A single atom explains itself, with the criterion's value (its only explaining atom:
        // what `explaining_atoms` would return). A bare bool field reads "饮水安全：否" already;
        // a comparison shows its threshold.
        return expr::write_atom(out, node, result, cx, d);
    }
    let parts = expr::explaining_atoms(node, result, cx);
    out.push_str(&c.label);
    out.push('：');
    out.push_str(match v {
        Some(true) => "是",
        Some(false) => "否",
        None => "未知",
    });
    if !parts.is_empty() {
        out.push('（');
        for (k, &(atom, av)) in parts.iter().enumerate() {
            if k > 0 {
                out.push('，');
            }
            write_part(out, d, atom, av, cx, a, depth);
        }
        out.push('）');
    }
}

fn write_part(out: &mut String, d: &Describer, atom: &Node, v: Option<bool>, cx: &Ctx, a: &Assessment, depth: usize) {
    match atom {
        Node::Crit(j) if depth < 4 => write_crit_text(out, d, *j as usize, v, cx, a, depth + 1),
        other => expr::write_atom(out, other, v, cx, d),
    }
}

/// `（据“是否危房户”）`: the alternative column a field's cell was read from.
fn write_alternative(out: &mut String, f: &crate::ruleset::Field, k: u16) {
    out.push_str("（据“");
    out.push_str(&f.alternatives[k as usize].header);
    out.push_str("”）");
}

/// Labels and values as staff read them.
struct Describer<'a> {
    b: &'a Bound<'a>,
}

impl Describer<'_> {
    /// Whether field `f`, its own column absent, is computed from others for this household: its
    /// `derive` reads no column the file lacks (so no warning named it missing) and no member list
    /// a ledger row does not have.
    fn derivable(&self, f: &crate::ruleset::Field, cx: &Ctx) -> bool {
        use crate::ruleset::expr;
        f.derive.as_ref().is_some_and(|d| {
            (cx.members.is_some() || !expr::reads_members(d))
                && expr::refs(d).fields.iter().all(|&j| !matches!(cx.cells[j as usize], Cell::Absent(_)))
        })
    }

    /// `无法计算（工资性收入：空白）`: a field computed from others (`derive`) that is unknown, each
    /// value it reads that is unknown shown as in a reason (`缺少列：…` for a column the file lacks);
    /// `无法计算` alone when every one is known (a division by zero members).
    fn write_uncomputed(&self, out: &mut String, f: &crate::ruleset::Field, cx: &Ctx) {
        out.push_str("无法计算");
        let Some(derive) = &f.derive else { return };
        let unknown: Vec<u16> = crate::ruleset::expr::refs(derive)
            .fields
            .into_iter()
            .filter(|&j| cx.cells[j as usize].value().is_none())
            .collect();
        for (k, &j) in unknown.iter().enumerate() {
            out.push_str(if k == 0 { "（" } else { "，" });
            crate::ruleset::expr::write_field_is(out, j, cx, self);
        }
        if !unknown.is_empty() {
            out.push('）');
        }
    }
}

impl Describe for Describer<'_> {
    fn field_label(&self, i: u16) -> &str {
        &self.b.rules.fields[i as usize].label
    }
    fn write_field_value(&self, out: &mut String, i: u16, cx: &Ctx) {
        let f = &self.b.rules.fields[i as usize];
        let source = self.b.read_from.get(i as usize).copied().unwrap_or_default();
        // The usual case first: a number read from its own column (below, without a note).
        if let (Cell::Value(Scalar::Num(n)), ReadFrom::Own | ReadFrom::Absent) = (&cx.cells[i as usize], source) {
            return n.write_to(out);
        }
        match &cx.cells[i as usize] {
            Cell::Blank => {
                out.push_str("空白");
                match source {
                    ReadFrom::Alternative(k) => write_alternative(out, f, k),
                    ReadFrom::Absent => out.push_str("（缺少列）"),
                    ReadFrom::Own => {}
                }
            }
            // A field computed from others whose own column the file lacks (no warning names it):
            // unknown for the values it is computed from.
            Cell::Absent(Missing::Field(g)) if *g == i && self.derivable(f, cx) => self.write_uncomputed(out, f, cx),
            // What `write_field_is` shows alone: "缺少列：不愁吃".
            Cell::Absent(missing) => match missing {
                Missing::Member(j) => {
                    out.push_str("缺少列：");
                    out.push_str(&self.b.rules.persons[*j as usize].header);
                }
                Missing::Field(g) => {
                    out.push_str("缺少列：");
                    self.b.rules.fields[*g as usize].write_column_names(out)
                }
                Missing::List(d) => {
                    out.push_str("缺少比对名单：");
                    out.push_str(&self.b.rules.departments[*d as usize].label);
                }
            },
            Cell::Invalid(raw) => {
                out.push_str("无法识别（");
                out.push_str(raw);
                out.push('）');
            }
            cell @ (Cell::Value(s) | Cell::BlankAs(s) | Cell::Derived(s) | Cell::AbsentAs(s)) => {
                match s {
                    Scalar::Bool(b) => out.push_str(if *b { "是" } else { "否" }),
                    Scalar::Num(n) => n.write_to(out),
                    Scalar::Enum(e) => {
                        out.push_str(&self.b.rules.enums[f.enum_id.unwrap_or(0) as usize].values[*e as usize])
                    }
                    Scalar::Month(m) => out.push_str(&fmt_month(*m)),
                    Scalar::Text(t) => out.push_str(t),
                }
                match (cell, source) {
                    (Cell::Value(_), ReadFrom::Alternative(k)) => write_alternative(out, f, k),
                    (Cell::BlankAs(_), ReadFrom::Absent) => out.push_str("（缺少列，按空白）"),
                    _ => {}
                }
                match cell {
                    Cell::BlankAs(_) if source != ReadFrom::Absent => out.push_str("（空白）"),
                    Cell::Derived(_) => out.push_str("（计算得出）"),
                    Cell::AbsentAs(_) => out.push_str("（缺少列，按规则取值）"),
                    _ => {}
                }
            }
        }
    }
    fn names_itself(&self, i: u16, cx: &Ctx) -> bool {
        match &cx.cells[i as usize] {
            Cell::Absent(Missing::Field(g)) => *g != i || !self.derivable(&self.b.rules.fields[i as usize], cx),
            c => matches!(c, Cell::Absent(_)),
        }
    }
    fn param_label(&self, i: u16) -> &str {
        &self.b.rules.params[i as usize].label
    }
    fn param_value(&self, i: u16) -> &str {
        &self.b.param_text[i as usize]
    }
    fn crit_label(&self, i: u16) -> &str {
        &self.b.rules.criteria[i as usize].label
    }
    fn decision_label(&self, i: u16) -> &str {
        &self.b.rules.decisions[i as usize].label
    }
    fn decision_value(&self, i: u16, v: u16) -> &str {
        &self.b.rules.decisions[i as usize].labels[v as usize]
    }
    fn field_enum(&self, i: u16, v: u16) -> &str {
        let f = &self.b.rules.fields[i as usize];
        f.enum_id.map(|e| self.b.rules.enums[e as usize].values[v as usize].as_str()).unwrap_or("")
    }
    fn member_label(&self, i: u16) -> &str {
        &self.b.rules.persons[i as usize].label
    }
    fn member_enum(&self, i: u16, v: u16) -> &str {
        let f = &self.b.rules.persons[i as usize];
        f.enum_id.map(|e| self.b.rules.enums[e as usize].values[v as usize].as_str()).unwrap_or("")
    }
    fn list_label(&self, d: u16) -> &str {
        &self.b.rules.departments[d as usize].label
    }
    fn list_column_label(&self, d: u16, i: u16) -> &str {
        &self.b.rules.departments[d as usize].columns[i as usize].label
    }
    fn template(&self, n: &Node) -> Option<&expr::Template> {
        self.templates().get(n)
    }
    fn as_dyn(&self) -> &dyn Describe {
        self
    }
}

impl Describer<'_> {
    /// The reasons' sentences of the run, prepared at the first reason.
    #[inline]
    fn templates(&self) -> &expr::Templates {
        self.b.templates.get_or_init(|| reason_templates(self.b))
    }
}

/// The sentences of the atoms of every criterion and decision rule, prepared for `b`'s date.
fn reason_templates(b: &Bound) -> expr::Templates {
    let rs = b.rules;
    let crits = rs.criteria.iter().flat_map(|c| match &c.test {
        Test::Condition(n) => [Some(n), None],
        Test::MetUnmet(m, u) => [Some(m), Some(u)],
    });
    let decisions = rs.decisions.iter().flat_map(|d| d.rules.iter().map(|r| Some(&r.0)));
    // Building a template writes labels and formulas only, never an atom: no template is asked for.
    let mut t = expr::Templates::build(crits.chain(decisions).flatten(), &Describer { b });
    for (i, c) in rs.criteria.iter().enumerate() {
        // What `write_crit_text` writes as one atom.
        if let Test::Condition(n @ (Node::Cmp(..) | Node::Field(_) | Node::In(..))) = &c.test {
            t.set_crit(i, n);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::household::Scalar;
    use crate::ruleset::file::FieldType;
    use crate::value::{Date, Num, SCALE};

    /// The describer with no templates: every atom written by `write_atom`'s own code.
    struct Untemplated<'a>(Describer<'a>);

    impl Describe for Untemplated<'_> {
        fn field_label(&self, i: u16) -> &str {
            self.0.field_label(i)
        }
        fn write_field_value(&self, out: &mut String, i: u16, cx: &Ctx) {
            self.0.write_field_value(out, i, cx)
        }
        fn names_itself(&self, i: u16, cx: &Ctx) -> bool {
            self.0.names_itself(i, cx)
        }
        fn param_label(&self, i: u16) -> &str {
            self.0.param_label(i)
        }
        fn param_value(&self, i: u16) -> &str {
            self.0.param_value(i)
        }
        fn crit_label(&self, i: u16) -> &str {
            self.0.crit_label(i)
        }
        fn decision_label(&self, i: u16) -> &str {
            self.0.decision_label(i)
        }
        fn decision_value(&self, i: u16, v: u16) -> &str {
            self.0.decision_value(i, v)
        }
        fn field_enum(&self, i: u16, v: u16) -> &str {
            self.0.field_enum(i, v)
        }
        fn member_label(&self, i: u16) -> &str {
            self.0.member_label(i)
        }
        fn member_enum(&self, i: u16, v: u16) -> &str {
            self.0.member_enum(i, v)
        }
        fn list_label(&self, d: u16) -> &str {
            self.0.list_label(d)
        }
        fn list_column_label(&self, d: u16, i: u16) -> &str {
            self.0.list_column_label(d, i)
        }
        fn as_dyn(&self) -> &dyn Describe {
            self
        }
    }

    /// A household of random cells of every kind (values near the parameters in force).
    fn household(b: &Bound, next: &mut dyn FnMut(usize) -> usize) -> Household {
        let rs = b.rules;
        let mut numbers: Vec<i64> = vec![0, 1, -1, 2, 6, 100, 2020, 7_000_000, 1_234_567];
        numbers.extend(b.params.iter().flat_map(|p| [p.0, p.0 - 1, p.0 / SCALE * 7 / 10 * SCALE]));
        let cells = (rs.fields.iter().enumerate())
            .map(|(i, f)| {
                let v = crate::test_rng::scalar(rs, f, (&numbers, b.as_of.month_index(), ["", "脱贫户", "a,b"]), next);
                match next(12) {
                    0 => Cell::Blank,
                    1 => Cell::Invalid("约3000".into()),
                    2 => Cell::BlankAs(v),
                    3 => Cell::Derived(v),
                    4 => Cell::AbsentAs(v),
                    5 => Cell::Absent(Missing::Field(i as u16)),
                    _ => Cell::Value(v),
                }
            })
            .collect();
        Household { row: 2, source_rows: 1, cells, ..Default::default() }
    }

    /// The reasons prepared for a run ([`Reasons`]: rules' atoms listed at load, criteria's
    /// sentences written at load for the usual cells) are those [`write_reasons`] writes, for every
    /// built-in rule set in 2020 and 2024, over households of random cells (blank, blank standing
    /// for the field's own `blank` value or another, small whole numbers, invalid, derived,
    /// absent) read from their own columns, alternatives or none.
    #[test]
    fn prepared_reasons_are_the_written_ones() {
        let mut rng = crate::test_rng::Lcg(41);
        let mut next = |n: usize| rng.below(n);
        for (name, _, _) in crate::ruleset::EMBEDDED {
            let rules = crate::ruleset::load(name).unwrap();
            for year in [2020, 2024] {
                let Ok(mut b) = rules.at(Date::new(year, 12, 31).unwrap()) else { continue };
                b.read_from = (rules.fields.iter())
                    .map(|f| match next(4) {
                        0 if !f.alternatives.is_empty() => ReadFrom::Alternative(0),
                        1 => ReadFrom::Absent,
                        _ => ReadFrom::Own,
                    })
                    .collect();
                let reasons = Reasons::new(&b);
                let prepared = reasons.crits.iter().flatten().count();
                assert!(prepared > 0, "{name} {year}: no criterion's sentences prepared");
                let (mut hits, mut lines, mut composites) = (0, 0, 0);
                let mut memo = ReasonsMemo::default();
                for _ in 0..300 {
                    let mut hh = household(&b, &mut next);
                    for (f, cell) in rules.fields.iter().zip(&mut hh.cells) {
                        match (next(4), &f.blank) {
                            (0, Some(v)) => *cell = Cell::BlankAs(v.clone()),
                            (1, _) if matches!(f.ty, FieldType::Int | FieldType::Money) => {
                                *cell = Cell::Value(Scalar::Num(Num(next(11) as i64 * SCALE)))
                            }
                            _ => {}
                        }
                    }
                    let a = assess(&b, &hh);
                    let cx = ctx(&b, &hh, &a.crits, &a.decisions);
                    // Each sentence prepared for the household's cell is the one written for it.
                    for (i, t) in reasons.crits.iter().enumerate() {
                        for v in [Some(true), Some(false), None] {
                            let Some(prepared) = t.as_ref().and_then(|t| t.get(cx.cells, v)) else { continue };
                            let prepared = prepared.strip_prefix(SEP).expect("kept after the separator");
                            let mut want = String::new();
                            write_crit_text(&mut want, &Describer { b: &b }, i, v, &cx, &a, 0);
                            assert_eq!(prepared, want, "{name} {year}: criterion {i} {v:?}");
                            hits += 1;
                        }
                    }
                    // Each criterion's sentence, composite ones from their atoms listed at load.
                    for i in 0..rules.criteria.len() {
                        for v in [Some(true), Some(false), None] {
                            let (mut got, mut want) = (String::new(), String::new());
                            reasons.crit_text(&mut got, i, v, &cx, &a, 0);
                            write_crit_text(&mut want, &Describer { b: &b }, i, v, &cx, &a, 0);
                            assert_eq!(got, want, "{name} {year}: criterion {i} {v:?}");
                            composites += usize::from(reasons.composites[i].is_some());
                        }
                    }
                    let (mut got, mut want) = (String::new(), String::new());
                    let clean = reasons.write(&mut got, &hh, &a);
                    write_reasons(&mut want, &b, &hh, &a);
                    assert_eq!(got, want, "{name} {year}: {:?}", hh.cells);
                    // The same line through the memo the households before filled (twice: the
                    // second time from it), and as clean.
                    for _ in 0..2 {
                        let mut from_memo = String::from("x");
                        assert_eq!(reasons.write_memo(&mut from_memo, &hh, &a, &mut memo), clean);
                        assert_eq!(from_memo[1..], want, "{name} {year}: memo, {:?}", hh.cells);
                    }
                    // Each decision's reasons alone (`adjust`'s `{reasons.<decision>}`), whatever
                    // its label, also one that the line leaves out.
                    for di in 0..rules.decisions.len() {
                        let (mut one, mut want_one) = (String::from("x"), String::from("x"));
                        let wrote = reasons.write_one(&mut one, &hh, &a, di);
                        assert_eq!(wrote, write_decision_reasons(&mut want_one, &b, &hh, &a, di));
                        assert_eq!(one, want_one, "{name} {year}: decision {di}");
                    }
                    lines += usize::from(!got.is_empty());
                }
                assert!(hits > 0 && lines > 0, "{name} {year}: {hits} prepared sentences used, {lines} lines");
                assert!(composites > 0, "{name} {year}: no composite criterion");
            }
        }
    }

    /// Every atom with a template, and every criterion written through one, reads as the code
    /// it stands for writes it: for every built-in rule set, over households of random cells read
    /// from their own columns, alternatives or none, for each of the atom's values.
    #[test]
    fn templated_reasons_are_the_written_ones() {
        let mut rng = crate::test_rng::Lcg(29);
        let mut next = |n: usize| rng.below(n);
        for (name, _, _) in crate::ruleset::EMBEDDED {
            let rules = crate::ruleset::load(name).unwrap();
            let Ok(mut b) = rules.at(Date::new(2024, 12, 31).unwrap()) else { continue };
            b.read_from = (rules.fields.iter())
                .map(|f| match next(4) {
                    0 if !f.alternatives.is_empty() => ReadFrom::Alternative(0),
                    1 => ReadFrom::Absent,
                    _ => ReadFrom::Own,
                })
                .collect();
            let roots: Vec<&Node> = (rules.criteria.iter())
                .flat_map(|c| match &c.test {
                    Test::Condition(n) => vec![n],
                    Test::MetUnmet(m, u) => vec![m, u],
                })
                .chain(rules.decisions.iter().flat_map(|d| d.rules.iter().map(|r| &r.0)))
                .collect();
            let (d, plain) = (Describer { b: &b }, Untemplated(Describer { b: &b }));
            let (mut templated, mut crits) = (0, 0);
            for _ in 0..200 {
                let hh = household(&b, &mut next);
                let a = assess(&b, &hh);
                let cx = ctx(&b, &hh, &a.crits, &a.decisions);
                for v in [Some(true), Some(false), None] {
                    for &root in &roots {
                        expr::walk(root, &mut |n| {
                            if d.template(n).is_none() {
                                return;
                            }
                            templated += 1;
                            let (mut got, mut want) = (String::new(), String::new());
                            expr::write_atom(&mut got, n, v, &cx, &d);
                            expr::write_atom(&mut want, n, v, &cx, &plain);
                            assert_eq!(got, want, "{name}: {n:?} {v:?}");
                        });
                    }
                    for i in 0..rules.criteria.len() {
                        let Some(t) = d.templates().crit(i) else { continue };
                        crits += 1;
                        let (mut got, mut want) = (String::new(), String::new());
                        t.write(&mut got, v, &cx, &d);
                        let Test::Condition(n) = &rules.criteria[i].test else { panic!("{name}: criterion {i}") };
                        expr::write_atom(&mut want, n, v, &cx, &plain);
                        assert_eq!(got, want, "{name}: criterion {i} {v:?}");
                    }
                }
            }
            assert!(templated > 0 && crits > 0, "{name}: {templated} atoms, {crits} criteria");
        }
    }
}

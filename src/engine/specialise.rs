//! The compiled conditions of a rule set, specialised for one run: what is the same for every
//! household of the run is worked out once, before the first household.
//!
//! Within a run the parameters and the assessment date are fixed, and so is the cell of every
//! field whose column the file lacks (its `absent` value, or unknown): a ledger's reader puts the
//! same cell there for each household ([`crate::input::Layout::fixed_cells`] names the fields it
//! can vouch for). A condition, or a part of one, that reads only these is a constant: in 2024
//! `post_2020` is true, so the national `eligibility` and `exit` are constant for every household; with none of
//! the fourteen 帮扶措施 columns, `has_assistance` is unknown for every household. The engine then
//! evaluates only what varies: constant criteria are copied, a decision whose first rule that can
//! apply is constant is copied, `&&`/`||` drop their constant operands, checks that can never
//! fire are dropped. A ledger's rows have no member list, so a condition over the members is
//! unknown for each of them, and so is a comparison or a sum that reads one
//! (`members != size(members)`); a check that needs one to be true never fires.
//!
//! A criterion that is another one or its negation (`!guarantees_met`) is copied from it, and a
//! decision's rule whose condition is an earlier rule's (once constants are folded) is dropped:
//! it can never give its label.
//!
//! Constants are computed by the tree evaluator ([`expr::eval_bool`]) over the fixed values, and
//! `&&`, `||`, `at_least` and `c ? x : y` are folded by Kleene's three-valued logic, in which the
//! order of the operands does not change the result: the assessment is by construction the one
//! [`crate::engine::assess_into`] gives (a unit test compares the two over generated households).

use crate::engine::Assessment;
use crate::household::{Cell, Household};
use crate::ruleset::expr::{self, Ctx, Lit, Node, Over, V};
use crate::ruleset::{Bound, Test};

use super::program::{self, Chain, Cnd, Leaf, Program, Then};

/// A condition specialised: a constant, or what to evaluate per household.
enum Fold {
    Const(Option<bool>),
    Dyn(Cnd),
}

impl Fold {
    fn into_cnd(self) -> Cnd {
        match self {
            Fold::Const(v) => Cnd::Const(v),
            Fold::Dyn(c) => c,
        }
    }
}

/// What is known before the first household.
struct Env<'b> {
    b: &'b Bound<'b>,
    /// Per field: whether its cell is the same for every household (then it is in `cells`).
    fixed: Vec<bool>,
    cells: Vec<Cell>,
    /// Whether no household of the run has a member list (a ledger's rows).
    no_members: bool,
    /// Per criterion and per decision: its value when it is the same for every household.
    crits: Vec<Option<Option<bool>>>,
    decisions: Vec<Option<u16>>,
}

impl Env<'_> {
    /// Whether `n` reads only what is fixed.
    fn is_const(&self, n: &Node) -> bool {
        match n {
            Node::Field(i) | Node::Blank(i) | Node::Present(i) => self.fixed[*i as usize],
            Node::Crit(i) => self.crits[*i as usize].is_some(),
            Node::Decision(i, _) => self.decisions[*i as usize].is_some(),
            // A macro over what no household of the run has (a ledger row's members, a department
            // list not given) is unknown for every household, whatever its condition reads.
            Node::Members(_, over, _) | Node::Agg(_, over, ..) => self.never_given(*over),
            // A member's or a record's cell differs from one to the next.
            Node::Member(_) | Node::MemberBlank(_) | Node::Record(..) | Node::RecordBlank(..) => false,
            Node::Lit(_) | Node::Param(_) | Node::AsOf => true,
            Node::Not(x)
            | Node::Neg(x)
            | Node::Known(x)
            | Node::IsTrue(x)
            | Node::IsFalse(x)
            | Node::MonthsSince(x)
            | Node::Unary(_, x)
            | Node::StrTest(_, x, _)
            | Node::In(x, _) => self.is_const(x),
            Node::And(xs) | Node::Or(xs) | Node::AtLeast(_, xs) => xs.iter().all(|x| self.is_const(x)),
            Node::Cmp(_, x, y) | Node::Arith(_, x, y) | Node::Binary(_, x, y) => self.is_const(x) && self.is_const(y),
            Node::Cond(c, x, y) => self.is_const(c) && self.is_const(x) && self.is_const(y),
        }
    }

    /// Whether no household of the run has the members or records `over` names, so that a macro
    /// over them is unknown for each ([`Ctx::items`] is `None`): the members of a ledger row; a
    /// department list whose field known exactly when its records are is fixed and unknown.
    fn never_given(&self, over: Over) -> bool {
        match over {
            Over::Members => self.no_members,
            Over::Records(_, known) => self.fixed[known as usize] && self.cells[known as usize].value().is_none(),
            // Only inside a macro over the members.
            Over::MemberRecords(..) => false,
        }
    }

    /// Whether `n` is unknown for every household of the run: a constant that is unknown, or an
    /// operation that is unknown when one of its operands is (a comparison, arithmetic, a
    /// function) with such an operand (`members != size(members)` for a ledger row).
    fn always_unknown(&self, n: &Node) -> bool {
        if self.is_const(n) {
            // A string literal has no value of its own (a comparison reads it).
            return !matches!(n, Node::Lit(_)) && self.in_fixed(|cx| expr::eval(n, cx).is_none());
        }
        match n {
            Node::Cmp(_, x, y) | Node::Arith(_, x, y) | Node::Binary(_, x, y) => {
                self.always_unknown(x) || self.always_unknown(y)
            }
            Node::Not(x)
            | Node::Neg(x)
            | Node::MonthsSince(x)
            | Node::Unary(_, x)
            | Node::StrTest(_, x, _)
            | Node::In(x, _) => self.always_unknown(x),
            Node::Cond(c, x, y) => self.always_unknown(c) || (self.always_unknown(x) && self.always_unknown(y)),
            _ => false,
        }
    }

    /// Whether bool condition `n` can be `want` for some household of the run (false: it never
    /// is, so that a check of it never fires): by what is constant or always unknown in it.
    fn can_be(&self, n: &Node, want: bool) -> bool {
        if self.is_const(n) {
            return self.eval(n) == Some(want);
        }
        if self.always_unknown(n) {
            return false;
        }
        match n {
            Node::And(xs) if want => xs.iter().all(|x| self.can_be(x, true)),
            Node::And(xs) => xs.iter().any(|x| self.can_be(x, false)),
            Node::Or(xs) if want => xs.iter().any(|x| self.can_be(x, true)),
            Node::Or(xs) => xs.iter().all(|x| self.can_be(x, false)),
            Node::Not(x) => self.can_be(x, !want),
            Node::IsTrue(x) if want => self.can_be(x, true),
            Node::IsFalse(x) if want => self.can_be(x, false),
            _ => true,
        }
    }

    /// `f` over what is fixed: the fixed cells, criteria and decisions, no members.
    fn in_fixed<R>(&self, f: impl FnOnce(&Ctx) -> R) -> R {
        let crits: Vec<Option<bool>> = self.crits.iter().map(|c| c.flatten()).collect();
        let decisions: Vec<u16> = self.decisions.iter().map(|d| d.unwrap_or(0)).collect();
        f(&Ctx::facts(&self.cells, &self.b.params, &crits, &decisions, self.b.as_of))
    }

    /// The value of a constant `n` (see [`Env::is_const`]).
    fn eval(&self, n: &Node) -> Option<bool> {
        self.in_fixed(|cx| expr::eval_bool(n, cx))
    }

    /// `n` with every constant part that has a value (a number, a date, a choice, a yes/no)
    /// written as that literal (`year(assessment_date)` → `2024`, `poverty_line * 11` → `44000`),
    /// for the compiler's shapes that compare with a literal.
    fn with_literals(&self, n: &Node) -> Node {
        if !matches!(n, Node::Lit(_)) && self.is_const(n) {
            let lit = self.in_fixed(|cx| match expr::eval(n, cx) {
                Some(V::Bool(b)) => Some(Lit::Bool(b)),
                Some(V::Num(x)) => Some(Lit::Num(x)),
                Some(V::Enum(e)) => Some(Lit::Enum(e)),
                Some(V::Date(d)) => Some(Lit::Date(d)),
                // No literal for a month or a text; an unknown stays as written.
                Some(V::Month(_) | V::Str(_)) | None => None,
            });
            if let Some(l) = lit {
                return Node::Lit(l);
            }
        }
        let one = |x: &Node| Box::new(self.with_literals(x));
        let all = |xs: &[Node]| xs.iter().map(|x| self.with_literals(x)).collect::<Vec<_>>();
        match n {
            Node::Not(x) => Node::Not(one(x)),
            Node::Neg(x) => Node::Neg(one(x)),
            Node::Known(x) => Node::Known(one(x)),
            Node::IsTrue(x) => Node::IsTrue(one(x)),
            Node::IsFalse(x) => Node::IsFalse(one(x)),
            Node::MonthsSince(x) => Node::MonthsSince(one(x)),
            Node::Unary(f, x) => Node::Unary(*f, one(x)),
            Node::StrTest(op, x, t) => Node::StrTest(*op, one(x), t.clone()),
            Node::In(x, list) => Node::In(one(x), list.clone()),
            Node::Cmp(op, x, y) => Node::Cmp(*op, one(x), one(y)),
            Node::Arith(op, x, y) => Node::Arith(*op, one(x), one(y)),
            Node::Cond(c, x, y) => Node::Cond(one(c), one(x), one(y)),
            Node::And(xs) => Node::And(all(xs)),
            Node::Or(xs) => Node::Or(all(xs)),
            Node::AtLeast(k, xs) => Node::AtLeast(*k, all(xs)),
            Node::Binary(f, x, y) => Node::Binary(*f, one(x), one(y)),
            // A member macro's condition is evaluated for each member: kept as written.
            Node::Members(..)
            | Node::Agg(..)
            | Node::Member(_)
            | Node::MemberBlank(_)
            | Node::Record(..)
            | Node::RecordBlank(..) => n.clone(),
            Node::Lit(_)
            | Node::Field(_)
            | Node::Param(_)
            | Node::Crit(_)
            | Node::Decision(..)
            | Node::Blank(_)
            | Node::Present(_)
            | Node::AsOf => n.clone(),
        }
    }

    fn fold(&self, n: &Node) -> Fold {
        if self.is_const(n) {
            return Fold::Const(self.eval(n));
        }
        if self.always_unknown(n) {
            return Fold::Const(None);
        }
        match n {
            Node::Not(x) => match self.fold(x) {
                Fold::Const(v) => Fold::Const(v.map(|v| !v)),
                Fold::Dyn(c) => Fold::Dyn(Cnd::Not(Box::new(c))),
            },
            Node::IsTrue(x) => match self.fold(x) {
                Fold::Const(v) => Fold::Const(Some(v == Some(true))),
                Fold::Dyn(c) => Fold::Dyn(Cnd::IsTrue(Box::new(c))),
            },
            Node::IsFalse(x) => match self.fold(x) {
                Fold::Const(v) => Fold::Const(Some(v == Some(false))),
                Fold::Dyn(c) => Fold::Dyn(Cnd::IsFalse(Box::new(c))),
            },
            Node::And(xs) => self.junction::<true>(xs),
            Node::Or(xs) => self.junction::<false>(xs),
            Node::Cond(c, x, y) => match self.fold(c) {
                Fold::Const(Some(true)) => self.fold(x),
                Fold::Const(Some(false)) => self.fold(y),
                Fold::Const(None) => Fold::Const(None),
                Fold::Dyn(c) => {
                    let (x, y) = (self.fold(x).into_cnd(), self.fold(y).into_cnd());
                    Fold::Dyn(Cnd::Cond(Box::new(c), Box::new(x), Box::new(y)))
                }
            },
            Node::AtLeast(k, xs) => {
                let k = *k;
                let (mut t0, mut u0) = (0u32, 0u32);
                let mut operands = Vec::new();
                for x in xs {
                    match self.fold(x) {
                        Fold::Const(Some(true)) => t0 += 1,
                        Fold::Const(None) => u0 += 1,
                        Fold::Const(Some(false)) => {}
                        Fold::Dyn(c) => operands.push(c),
                    }
                }
                if operands.is_empty() {
                    return Fold::Const(if t0 >= k {
                        Some(true)
                    } else if t0 + u0 < k {
                        Some(false)
                    } else {
                        None
                    });
                }
                Fold::Dyn(Cnd::Leaf(Leaf::AtLeast(Box::new(program::AtLeast::new(k, t0, u0, operands)))))
            }
            _ => Fold::Dyn(program::leaf(&self.with_literals(n))),
        }
    }

    /// `&&` (`AND`) or `||`: a constant operand that decides it decides it; constant operands
    /// that do not are dropped (an unknown one leaves the result unknown at best). The operands
    /// left are evaluated the cheaper first.
    fn junction<const AND: bool>(&self, xs: &[Node]) -> Fold {
        let mut unknown = false;
        let mut dynamic = Vec::new();
        // The comparisons of arithmetic among them (as compiled: constants written as literals),
        // by their place in `dynamic`.
        let mut arith: Vec<(usize, Node)> = Vec::new();
        for x in xs {
            match self.fold(x) {
                Fold::Const(Some(v)) if v != AND => return Fold::Const(Some(!AND)),
                Fold::Const(Some(_)) => {}
                Fold::Const(None) => unknown = true,
                Fold::Dyn(c) => {
                    if let Cnd::Leaf(Leaf::Arith(_)) = c {
                        arith.push((dynamic.len(), self.with_literals(x)));
                    }
                    dynamic.push(c);
                }
            }
        }
        // Those that compute the same part: one test that computes it once.
        if arith.len() >= 2 {
            let nodes: Vec<&Node> = arith.iter().map(|(_, n)| n).collect();
            if let Some((shared, of)) = program::Shared::of(AND, &nodes) {
                let gone: Vec<usize> = of.iter().map(|&k| arith[k].0).collect();
                let mut k = 0;
                dynamic.retain(|_| {
                    k += 1;
                    !gone.contains(&(k - 1))
                });
                dynamic.push(Cnd::Leaf(shared));
            }
        }
        if dynamic.is_empty() {
            return Fold::Const(if unknown { None } else { Some(AND) });
        }
        if dynamic.len() == 1 && !unknown {
            return Fold::Dyn(dynamic.pop().expect("one"));
        }
        let mut operands = program::cheap_first(dynamic);
        if unknown {
            operands.push(Cnd::Const(None));
        }
        Fold::Dyn(if AND { Cnd::And(operands) } else { Cnd::Or(operands) })
    }
}

/// How a varying criterion is evaluated: by its condition, or as another criterion's value
/// (`Copy(j, false)`: `j`; `Copy(j, true)`: `!j`), without a test.
enum Eval {
    Run(Cnd),
    Copy(u16, bool),
}

impl Eval {
    /// Its condition (a copy's: a test of the criterion it copies).
    fn into_cnd(self) -> Cnd {
        match self {
            Eval::Run(c) => c,
            Eval::Copy(j, negate) => {
                let c = Cnd::Leaf(Leaf::Crit(j));
                if negate {
                    Cnd::Not(Box::new(c))
                } else {
                    c
                }
            }
        }
    }
}

/// A decision's rule that can apply: its index, label, condition, and the deferred criteria it
/// needs (indices into `Specialised::deferred`).
type Rule = (usize, u16, Cnd, Vec<u16>);

/// A level's criteria as they are collected: those evaluated (criterion, condition) and the
/// copies (criterion, the one it copies, negated), and those of one test.
type Collected = (Vec<(u16, Cnd)>, Vec<(u16, u16, bool)>, Vec<(u16, Leaf)>);

/// One level of the varying criteria (see [`Specialised::levels`]).
struct Level {
    /// Its criteria whose condition is one test (`food`, `ill > 0`, `a && b` of criteria: see
    /// [`Cnd::fused`]): evaluated one after the other, no chain and no mark for each.
    singles: Vec<(u16, Leaf)>,
    /// Its other criteria in chains of at most 32, over one context each (their values kept aside
    /// until the chain is done): the criteria of each chain, and the chain.
    parts: Vec<(Vec<u16>, Chain)>,
    /// The criteria that are another criterion of the level (or of an earlier one) or its
    /// negation (`!guarantees_met`): (criterion, the one it copies, negated), written after the
    /// chains in this order.
    copies: Vec<(u16, u16, bool)>,
}

/// One decision, specialised: the same for every household (its label and rule in
/// [`Specialised::labels`] and [`Specialised::decided_by`]), or by the rules that can apply, in
/// segments (when none of them is true or unknown: that label and rule).
enum DecisionPlan {
    Const,
    Rules(Vec<Segment>),
}

/// Rules of a decision that run in one chain: the first one's deferred criteria (indices into
/// `Specialised::deferred`; evaluated when it is reached: the others need none besides), and per
/// rule of the chain its index and label. A rule that is true or unknown stops the chain.
struct Segment {
    needs: Vec<u16>,
    rules: Vec<(usize, u16)>,
    chain: Chain,
}

/// What a decision settled without its varying rules (by a constant rule, or `otherwise`) needs
/// for its explanation: the deferred criteria of the rule that is explained — that constant rule,
/// or for `otherwise` the rule file's last rule (its reasons say why that rule was false).
struct Otherwise(Vec<u16>);

/// The rule set's conditions specialised for one run (see the module documentation).
pub struct Specialised {
    /// Every criterion's value where it is constant, `None` elsewhere (overwritten per household).
    crit_template: Vec<Option<bool>>,
    /// The criteria that vary (their condition, or `met` and `unmet`), by level: a criterion
    /// reads only criteria of lower levels (or constant ones), so that those of a level are
    /// evaluated over one context (one `Ctx` built for the level, not one per criterion). A copy
    /// of a criterion is of that one's level (it is written once the level's chains have run).
    levels: Vec<Level>,
    /// Varying criteria that only decision rules read (directly or through other such criteria):
    /// evaluated when a rule that needs them is reached, so that a household whose decision is
    /// settled by an earlier rule does not pay for them (`has_assistance` for the 97 % of
    /// households that are not monitored). Nothing else reads them: the flag, the checks, the
    /// decisions' factors and the lists read only the other criteria; a reason explains only the
    /// rule that decided (or, for `otherwise`, the last rule, which was then reached).
    deferred: Vec<(u16, Program)>,
    decisions: Vec<(DecisionPlan, Otherwise)>,
    /// Per decision: its label and the rule that gave it (`None`: `otherwise`) for every
    /// household, or when none of its varying rules is true or unknown.
    labels: Vec<u16>,
    decided_by: Vec<Option<usize>>,
    returned: Option<Program>,
    /// The checks that can fire, in check order, and their conditions in one chain (a check
    /// fires when its condition is true: the chain tells which, by index into `checks`).
    checks: Vec<u16>,
    check_chain: Chain,
}

/// What a run needs of each household, when not all of it: the fields, criteria and decisions
/// marked (with everything they are computed from, which the caller marks too), the flag if
/// `returned`, no checks. The rest is left unevaluated: a criterion unknown, a decision its
/// `otherwise` ([`crate::input::Layout::restrict`] leaves the other fields unread).
#[derive(Debug, Clone, Default)]
pub struct Needs {
    pub fields: Vec<bool>,
    pub crits: Vec<bool>,
    pub decisions: Vec<bool>,
    pub returned: bool,
}

impl Specialised {
    /// The conditions of `b`'s rule set with its parameters and date, and the cells that are the
    /// same for every household (`fixed`, per field; `None`: the cell varies); `ledger`: no
    /// household has a member list (the rows of a ledger, not a person export).
    pub fn new(b: &Bound, fixed: &[Option<Cell>], ledger: bool) -> Specialised {
        Specialised::needing(b, fixed, ledger, None)
    }

    /// As [`Specialised::new`], evaluating only what `only` marks (all when `None`).
    pub fn needing(b: &Bound, fixed: &[Option<Cell>], ledger: bool, only: Option<&Needs>) -> Specialised {
        let rs = b.rules;
        let mut env = Env {
            b,
            fixed: (0..rs.fields.len()).map(|f| fixed.get(f).is_some_and(Option::is_some)).collect(),
            cells: (0..rs.fields.len()).map(|f| fixed.get(f).cloned().flatten().unwrap_or_default()).collect(),
            no_members: ledger,
            crits: vec![None; rs.criteria.len()],
            decisions: vec![None; rs.decisions.len()],
        };
        let eager = eager_criteria(rs);
        let mut crit_template = vec![None; rs.criteria.len()];
        let mut crits = Vec::new();
        let mut deferred = Vec::new();
        for &i in &rs.crit_order {
            if only.is_some_and(|n| !n.crits[i as usize]) {
                env.crits[i as usize] = Some(None);
                continue;
            }
            match env.criterion(i as usize) {
                Ok(v) => {
                    env.crits[i as usize] = Some(v);
                    crit_template[i as usize] = v;
                }
                Err(e) if eager[i as usize] => crits.push((i, e)),
                Err(e) => deferred.push((i, Program::new(&e.into_cnd()))),
            }
        }
        // Per criterion: the deferred criteria it needs, itself included, in dependency order.
        let needs = |n: &Node| -> Vec<u16> {
            let mut want = vec![false; rs.criteria.len()];
            let mut stack: Vec<u16> = expr::refs(n).crits;
            while let Some(c) = stack.pop() {
                if !std::mem::replace(&mut want[c as usize], true) {
                    stack.extend(crit_refs(rs, c as usize));
                }
            }
            (deferred.iter().enumerate()).filter(|(_, d)| want[d.0 as usize]).map(|(k, _)| k as u16).collect()
        };
        let (mut decisions, mut labels, mut decided_by) = (Vec::new(), Vec::new(), Vec::new());
        for (di, d) in rs.decisions.iter().enumerate() {
            if only.is_some_and(|n| !n.decisions[di]) {
                env.decisions[di] = Some(d.otherwise);
                decisions.push((DecisionPlan::Const, Otherwise(Vec::new())));
                labels.push(d.otherwise);
                decided_by.push(None);
                continue;
            }
            let (rules, tail) = env.rules(d, &needs);
            let explained = match tail.1 {
                Some(k) => d.rules.get(k),
                None => d.rules.last(),
            };
            let otherwise = Otherwise(explained.map(|r| needs(&r.0)).unwrap_or_default());
            decisions.push(if rules.is_empty() {
                env.decisions[di] = Some(tail.0);
                (DecisionPlan::Const, otherwise)
            } else {
                (DecisionPlan::Rules(segments(rules)), otherwise)
            });
            labels.push(tail.0);
            decided_by.push(tail.1);
        }
        let (returned, checks) = env.flag_and_checks(only);
        let check_chain = Chain::new(
            &(checks.iter().enumerate())
                .map(|(n, (_, c))| (n as u32, c.clone(), [Then::Next, Then::Tell, Then::Next]))
                .collect::<Vec<_>>(),
        );
        let checks = checks.into_iter().map(|(k, _)| k).collect();
        let levels = by_level(rs, crits);
        Specialised { crit_template, levels, deferred, decisions, labels, decided_by, returned, checks, check_chain }
    }
}

impl Env<'_> {
    /// The rules of decision `d` that can apply (rule index, label, condition, the deferred
    /// criteria it needs by `needs`), and the label and rule when none of them is true or unknown.
    fn rules(
        &self,
        d: &crate::ruleset::Decision,
        needs: &dyn Fn(&Node) -> Vec<u16>,
    ) -> (Vec<Rule>, (u16, Option<usize>)) {
        let mut rules = Vec::new();
        let mut tail = (d.otherwise, None);
        // The varying conditions so far: a rule whose condition is one of them never gives the
        // label (when it is true or unknown, the earlier rule gave its own), and is left out
        // (`household_type == '…'` after `post_2020 && household_type == '…'` in 2024).
        let mut earlier: Vec<Cnd> = Vec::new();
        for (k, (node, label, _)) in d.rules.iter().enumerate() {
            match self.fold(node) {
                Fold::Dyn(c) if earlier.iter().any(|e| e.same(&c)) => {}
                Fold::Const(Some(false)) => {}
                Fold::Const(Some(true)) => {
                    tail = (*label, Some(k));
                    break;
                }
                Fold::Const(None) => {
                    tail = (d.undecided, Some(k));
                    break;
                }
                Fold::Dyn(c) => {
                    rules.push((k, *label, c.clone(), needs(node)));
                    earlier.push(c);
                }
            }
        }
        (rules, tail)
    }

    /// Criterion `i` specialised: its value when constant, or how to evaluate it.
    fn criterion(&self, i: usize) -> Result<Option<bool>, Eval> {
        let (met, unmet) = match &self.b.rules.criteria[i].test {
            Test::Condition(n) => (self.fold(n), None),
            Test::MetUnmet(m, u) => (self.fold(m), Some(self.fold(u))),
        };
        if let Some(v) = constant_criterion(&met, unmet.as_ref()) {
            return Ok(v);
        }
        let met = met.into_cnd();
        Err(match unmet {
            None => match met {
                Cnd::Leaf(Leaf::Crit(j)) => Eval::Copy(j, false),
                Cnd::Not(x) => match *x {
                    Cnd::Leaf(Leaf::Crit(j)) => Eval::Copy(j, true),
                    x => Eval::Run(Cnd::Not(Box::new(x))),
                },
                met => Eval::Run(met),
            },
            Some(u) => Eval::Run(Cnd::met_unmet(&met, &u.into_cnd())),
        })
    }

    /// The flag and the checks that can fire (in check order, with their conditions),
    /// specialised; the flag only if `only` needs it, no check if there is an `only`.
    #[allow(clippy::type_complexity)]
    fn flag_and_checks(&self, only: Option<&Needs>) -> (Option<Program>, Vec<(u16, Cnd)>) {
        let rs = self.b.rules;
        let returned = (rs.returned.as_ref())
            .filter(|_| only.is_none_or(|n| n.returned))
            .map(|f| Program::new(&self.fold(&f.when).into_cnd()));
        let checks = (rs.checks.iter().enumerate())
            .filter(|_| only.is_none())
            .filter_map(|(k, c)| match self.fold(&c.when) {
                Fold::Const(Some(true)) => Some((k as u16, Cnd::Const(Some(true)))),
                Fold::Const(_) => None,
                Fold::Dyn(_) if !self.can_be(&c.when, true) => None,
                Fold::Dyn(c) => Some((k as u16, c)),
            })
            .collect();
        (returned, checks)
    }
}

/// The varying criteria (in dependency order) in levels: level 0 reads no varying criterion,
/// level k + 1 some of level k; in order within a level. A copy is of its criterion's level (it
/// is written once that level's chains have run).
fn by_level(rs: &crate::ruleset::RuleSet, crits: Vec<(u16, Eval)>) -> Vec<Level> {
    let mut level: Vec<Option<usize>> = vec![None; rs.criteria.len()];
    let mut levels: Vec<Collected> = Vec::new();
    for (i, e) in crits {
        let l = match e {
            Eval::Copy(j, _) => {
                // `j` varies and is evaluated for every household (an eager criterion reads
                // it), so it is one of these, before `i` in dependency order.
                level[j as usize].expect("a copied criterion comes first")
            }
            Eval::Run(_) => {
                (crit_refs(rs, i as usize).iter()).filter_map(|&j| level[j as usize].map(|l| l + 1)).max().unwrap_or(0)
            }
        };
        level[i as usize] = Some(l);
        if levels.len() <= l {
            levels.resize_with(l + 1, Default::default);
        }
        match e {
            Eval::Run(c) => match c.fused() {
                Cnd::Leaf(leaf) => levels[l].2.push((i, leaf)),
                c => levels[l].0.push((i, c)),
            },
            Eval::Copy(j, negate) => levels[l].1.push((i, j, negate)),
        }
    }
    // A chain tells a criterion of level 0 by its index (its value is written in place), one
    // of a later level by its place in the chain (among the values kept aside).
    (levels.into_iter().enumerate())
        .map(|(l, (runs, copies, singles))| Level {
            singles,
            parts: (runs.chunks(32))
                .map(|part| {
                    let items: Vec<(u32, Cnd, [Then; 3])> = (part.iter().enumerate())
                        .map(|(k, (i, c))| (if l == 0 { *i as u32 } else { k as u32 }, c.clone(), [Then::Tell; 3]))
                        .collect();
                    (part.iter().map(|(i, _)| *i).collect(), Chain::new(&items))
                })
                .collect(),
            copies,
        })
        .collect()
}

/// A decision's varying rules (rule index, label, condition, the deferred criteria it needs) in
/// segments: a new one at each rule that needs deferred criteria.
fn segments(rules: Vec<Rule>) -> Vec<Segment> {
    // (needs, rules, the chain's items) per segment.
    #[allow(clippy::type_complexity)]
    let mut parts: Vec<(Vec<u16>, Vec<(usize, u16)>, Vec<(u32, Cnd, [Then; 3])>)> = Vec::new();
    for (k, label, c, needs) in rules {
        if parts.is_empty() || !needs.is_empty() {
            parts.push((needs, Vec::new(), Vec::new()));
        }
        let part = parts.last_mut().expect("one");
        part.2.push((part.1.len() as u32, c, [Then::Next, Then::Stop, Then::Stop]));
        part.1.push((k, label));
    }
    parts.into_iter().map(|(needs, rules, items)| Segment { needs, rules, chain: Chain::new(&items) }).collect()
}

/// A criterion's value when its condition (or met/unmet pair) folded to constants: met wins,
/// unmet true is false; `None` when it varies by household.
fn constant_criterion(met: &Fold, unmet: Option<&Fold>) -> Option<Option<bool>> {
    match (met, unmet) {
        (Fold::Const(v), None) => Some(*v),
        (Fold::Const(Some(true)), Some(_)) => Some(Some(true)),
        (Fold::Const(_), Some(Fold::Const(u))) => Some(if *u == Some(true) { Some(false) } else { None }),
        _ => None,
    }
}

/// The criteria a criterion's own condition(s) read.
fn crit_refs(rs: &crate::ruleset::RuleSet, c: usize) -> Vec<u16> {
    match &rs.criteria[c].test {
        Test::Condition(n) => expr::refs(n).crits,
        Test::MetUnmet(m, u) => {
            let mut v = expr::refs(m).crits;
            v.extend(expr::refs(u).crits);
            v
        }
    }
}

/// Per criterion: whether something besides decision rules reads it (the flag, a check, a
/// decision's factors, a list, a criterion so read), so that it is evaluated for every household.
fn eager_criteria(rs: &crate::ruleset::RuleSet) -> Vec<bool> {
    let mut stack: Vec<u16> = Vec::new();
    if let Some(f) = &rs.returned {
        stack.extend(expr::refs(&f.when).crits);
    }
    for c in &rs.checks {
        stack.extend(expr::refs(&c.when).crits);
    }
    for d in &rs.decisions {
        stack.extend(&d.factors);
    }
    // A list reads criteria through its slots (its conditions are compiled against them), shows
    // them as columns, or shows the evidence behind one.
    use crate::ruleset::lists::{BoolSlot, Column, Part};
    for s in &rs.lists.slots.bools {
        if let BoolSlot::Crit(_, c) = s {
            stack.push(*c);
        }
    }
    for l in &rs.lists.lists {
        stack.extend(l.columns.iter().filter_map(|(_, c)| match c {
            Column::Crit(i) => Some(*i),
            _ => None,
        }));
        for (_, parts) in &l.reason {
            stack.extend(parts.iter().filter_map(|p| match p {
                Part::Evidence(i) => Some(*i),
                _ => None,
            }));
        }
    }
    let mut eager = vec![false; rs.criteria.len()];
    while let Some(c) = stack.pop() {
        if !std::mem::replace(&mut eager[c as usize], true) {
            stack.extend(crit_refs(rs, c as usize));
        }
    }
    eager
}

/// The evaluation context of household `hh` (`m`, `d`: the assessment date as a month index and
/// a day key), with no criteria or decisions yet: each use copies it with its own ([`with`]), so
/// that what is read of `hh` and `b` is read once a household, not once a use.
#[inline]
fn ctx<'a>(hh: &'a Household, b: &'a Bound, m: i32, d: i32) -> Ctx<'a> {
    Ctx {
        cells: &hh.cells,
        params: &b.params,
        crits: &[],
        decisions: &[],
        as_of_month: m,
        as_of_day: d,
        members: hh.members.as_ref(),
        member: &[],
        member_index: 0,
        records: &hh.records,
        record: &[],
    }
}

/// `base` ([`ctx`]) reading `crits` and `decisions`.
#[inline(always)]
fn with<'a>(base: &Ctx<'a>, crits: &'a [Option<bool>], decisions: &'a [u16]) -> Ctx<'a> {
    Ctx { crits, decisions, ..*base }
}

/// `v` made a copy of `from`: copied over in place when it has its length, as it has from the
/// second household of a run on (`clone_from` truncates and extends).
#[inline(always)]
fn refill<T: Copy>(v: &mut Vec<T>, from: &[T]) {
    if v.len() == from.len() {
        v.copy_from_slice(from);
    } else {
        v.clear();
        v.extend_from_slice(from);
    }
}

/// As [`crate::engine::assess_into`], with the conditions specialised for the run: the same
/// assessment, for a household whose fixed cells are those `p` was built with.
pub fn assess_into(p: &Specialised, b: &Bound, hh: &Household, a: &mut Assessment) {
    let Assessment { crits, decisions, decided_by, returned, checks } = a;
    let base = ctx(hh, b, b.as_of.month_index(), expr::day_key(b.as_of));
    let evaluate = |crits: &mut Vec<Option<bool>>, (i, c): &(u16, Program)| {
        let v = c.run(&with(&base, crits, &[]));
        crits[*i as usize] = v;
    };
    refill(crits, &p.crit_template);
    // A level's criteria of one test, then its chains, then its copies. Level 0 reads only
    // constant criteria (from the template): its values are written in place. A later level's
    // are kept aside until its tests are done (their context reads `crits`).
    for (l, level) in p.levels.iter().enumerate() {
        if l == 0 {
            let cx = with(&base, &p.crit_template, &[]);
            for (i, test) in &level.singles {
                crits[*i as usize] = test.eval(&cx);
            }
            for (_, chain) in &level.parts {
                let crits = &mut crits[..];
                chain.run(&cx, move |i, v| crits[i] = v);
            }
        } else {
            for chunk in level.singles.chunks(32) {
                let mut values = [None; 32];
                let cx = with(&base, crits, &[]);
                for (v, (_, test)) in values.iter_mut().zip(chunk) {
                    *v = test.eval(&cx);
                }
                for (v, (i, _)) in values.iter().zip(chunk) {
                    crits[*i as usize] = *v;
                }
            }
            for (part, chain) in &level.parts {
                let mut values = [None; 32];
                let cx = with(&base, crits, &[]);
                chain.run(&cx, |k, v| values[k] = v);
                for (v, &i) in values.iter().zip(part) {
                    crits[i as usize] = *v;
                }
            }
        }
        for &(i, j, negate) in &level.copies {
            crits[i as usize] = crits[j as usize].map(|v| v != negate);
        }
    }
    // Each decision's label and rule when none of its varying rules is true or unknown (the
    // constant ones' for every household), overwritten by the rule that is.
    refill(decisions, &p.labels);
    refill(decided_by, &p.decided_by);
    // Evaluate deferred criteria `needs` into `crits` (most often none: tested where it is
    // called, not by a call).
    let ensure = |crits: &mut Vec<Option<bool>>, needs: &[u16]| {
        for &j in needs {
            evaluate(crits, &p.deferred[j as usize]);
        }
    };
    for (di, (d, otherwise)) in p.decisions.iter().enumerate() {
        let mut from_tail = true;
        if let DecisionPlan::Rules(segments) = d {
            for s in segments {
                if !s.needs.is_empty() {
                    ensure(crits, &s.needs);
                }
                // The rules read the decisions before this one.
                let cx = with(&base, crits, &decisions[..di]);
                // The rule that stopped the chain, true or unknown.
                let mut hit = None;
                s.chain.run(&cx, |k, v| hit = Some((k, v)));
                if let Some((k, v)) = hit {
                    let (k, label) = s.rules[k];
                    decisions[di] = if v == Some(true) { label } else { b.rules.decisions[di].undecided };
                    decided_by[di] = Some(k);
                    from_tail = false;
                    break;
                }
            }
        }
        if from_tail && !otherwise.0.is_empty() {
            ensure(crits, &otherwise.0);
        }
    }
    let cx = with(&base, crits, decisions);
    *returned = p.returned.as_ref().and_then(|c| c.run(&cx));
    checks.clear();
    p.check_chain.run(&cx, |k, _| checks.push(p.checks[k]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::household::{Missing, Scalar};
    use crate::ruleset::file::FieldType;
    use crate::ruleset::load;
    use crate::value::{Date, Num, SCALE};

    /// A ledger's rows have no member list: a check that needs a member macro to be true never
    /// fires for them and is dropped, and so is one whose comparison reads one
    /// (`members != size(members)`); for a person export's households both are evaluated.
    #[test]
    fn conditions_over_members_fold_for_a_ledger() {
        for (name, year) in [("national", 2024), ("guizhou-2023", 2023)] {
            let rules = load(name).unwrap();
            let b = rules.at(Date::new(year, 12, 31).unwrap()).unwrap();
            let fixed = vec![None; rules.fields.len()];
            let (ledger, persons) = (Specialised::new(&b, &fixed, true), Specialised::new(&b, &fixed, false));
            let dropped: Vec<&str> = (persons.checks.iter())
                .filter(|k| !ledger.checks.contains(k))
                .map(|k| rules.checks[*k as usize].id.as_str())
                .collect();
            assert!(dropped.contains(&"members_rows"), "{name}: {dropped:?}");
            for k in &ledger.checks {
                assert!(!crate::ruleset::expr::reads_members(&rules.checks[*k as usize].when), "{name}: {k}");
            }
            if name == "guizhou-2023" {
                assert!(dropped.len() > 10, "{dropped:?}");
            }
        }
    }

    /// Up to three members, their cells blank or drawn by `value`.
    #[allow(clippy::type_complexity)]
    fn members(
        rules: &crate::ruleset::RuleSet,
        next: &mut dyn FnMut(usize) -> usize,
        value: &dyn Fn(&crate::ruleset::Field, &mut dyn FnMut(usize) -> usize) -> Scalar,
    ) -> crate::household::Members {
        let n = next(4);
        let mut cells = Vec::new();
        for f in (0..n).flat_map(|_| rules.persons.iter()) {
            cells.push(match next(4) {
                0 => Cell::Blank,
                _ => Cell::Value(value(f, next)),
            });
        }
        crate::household::Members { width: rules.persons.len(), cells, rows: (0..n as u64).collect() }
    }

    /// For every built-in rule set, on dates either side of each period boundary, with a third of
    /// the fields fixed (unknown, standing for a value, blank), the specialised conditions give
    /// the assessment the engine gives, over households drawn from blanks, invalid cells, blanks
    /// standing for a value, derived values and values at and around the thresholds.
    #[test]
    fn specialised_assessments_are_the_engines() {
        let mut rng = crate::test_rng::Lcg(17);
        let mut next = |n: usize| rng.below(n);
        let dates =
            [(2019, 6, 30), (2020, 3, 19), (2020, 3, 20), (2020, 12, 31), (2021, 1, 1), (2024, 12, 31), (2026, 1, 1)];
        for (name, _, _) in crate::ruleset::EMBEDDED {
            let rules = load(name).unwrap();
            for &(y, m, d) in &dates {
                let Ok(b) = rules.at(Date::new(y, m, d).unwrap()) else { continue };
                let mut numbers: Vec<i64> = vec![0, 1, -1, 2, 6, 100, 2020, 2021, 7_000_000];
                numbers.extend(b.params.iter().flat_map(|p| [p.0, p.0 - 1, p.0 + 1, p.0 / SCALE * 7 / 10 * SCALE]));
                let value = |f: &crate::ruleset::Field, next: &mut dyn FnMut(usize) -> usize| match f.ty {
                    FieldType::Bool => Scalar::Bool(next(2) == 0),
                    FieldType::Int | FieldType::Money => Scalar::Num(Num(numbers[next(numbers.len())])),
                    FieldType::Enum => Scalar::Enum(next(rules.enums[f.enum_id.unwrap() as usize].values.len()) as u16),
                    FieldType::Month => Scalar::Month(b.as_of.month_index() - next(30) as i32 + 3),
                    FieldType::Text | FieldType::Id => Scalar::Text(["", "脱贫户", "a", "无", "是"][next(5)].into()),
                };
                for _ in 0..20 {
                    let fixed: Vec<Option<Cell>> = (rules.fields.iter().enumerate())
                        .map(|(i, f)| match next(9) {
                            0 => Some(Cell::Absent(Missing::Field(i as u16))),
                            1 => Some(Cell::AbsentAs(value(f, &mut next))),
                            2 => Some(Cell::Blank),
                            _ => None,
                        })
                        .collect();
                    // A ledger's rows (no member lists), or a person export's households.
                    let ledger = next(2) == 0;
                    let plan = Specialised::new(&b, &fixed, ledger);
                    let mut a = Assessment::default();
                    for _ in 0..150 {
                        let cells: Vec<Cell> = (rules.fields.iter().zip(&fixed))
                            .map(|(f, fixed)| {
                                if let Some(c) = fixed {
                                    return c.clone();
                                }
                                let v = value(f, &mut next);
                                match next(10) {
                                    0 => Cell::Blank,
                                    1 => Cell::Invalid("x".into()),
                                    2 => Cell::BlankAs(v),
                                    3 => Cell::Derived(v),
                                    _ => Cell::Value(v),
                                }
                            })
                            .collect();
                        let members = (!ledger).then(|| members(&rules, &mut next, &value));
                        let hh = Household { row: 2, source_rows: 1, cells, members, ..Default::default() };
                        assess_into(&plan, &b, &hh, &mut a);
                        let want = crate::engine::assess(&b, &hh);
                        let what = || format!("{name} {y}-{m}-{d}: {:?}", hh.cells);
                        // Everything but the deferred criteria nobody read for this household.
                        assert_eq!(
                            (&a.decisions, &a.decided_by, &a.returned, &a.checks),
                            (&want.decisions, &want.decided_by, &want.returned, &want.checks),
                            "{}",
                            what()
                        );
                        for (c, eager) in eager_criteria(&rules).iter().enumerate() {
                            if *eager {
                                assert_eq!(a.crits[c], want.crits[c], "criterion {c}: {}", what());
                            }
                        }
                        // What is shown of them: the reasons and the factors.
                        let (mut got, mut expected) = (String::new(), String::new());
                        crate::engine::write_reasons(&mut got, &b, &hh, &a);
                        crate::engine::write_reasons(&mut expected, &b, &hh, &want);
                        for d in 0..rules.decisions.len() {
                            crate::output::write_factor_labels(&mut got, &b, &a, d);
                            crate::output::write_factor_labels(&mut expected, &b, &want, d);
                        }
                        assert_eq!(got, expected, "{}", what());
                    }
                }
            }
        }
    }
}

//! Conditions compiled to closures, for the engine's hot path.
//!
//! The tree-walking evaluator ([`super::expr::eval`]) dispatches every node through one `match`, whose
//! indirect jump the processor predicts badly (a household visits about 150 nodes of every kind).
//! Here each node is compiled once, at load, into a closure that calls its children's closures:
//! every call site then always calls the same code, comparisons of a field with a number or a
//! parameter and membership of an enum field in a list are specialised, and nothing allocates
//! per household. The result is by definition [`super::expr::eval`]'s: a unit test compares the two on
//! every condition of the built-in rule sets over generated and damaged households, and
//! explanations keep using the tree.

use super::expr::{and3, fold_members, lit_eq, or3, over_members, ArithOp, CmpOp, Ctx, Lit, Node, Quant, V};
use crate::household::Scalar;
use crate::value::Num;

type BoolDyn = dyn for<'a> Fn(&Ctx<'a>) -> Option<bool> + Send + Sync;
pub(crate) type BoolFn = Box<BoolDyn>;
type ValFn = Box<dyn for<'a> Fn(&Ctx<'a>) -> Option<V<'a>> + Send + Sync>;

/// A bool condition, compiled: `None` is unknown, as for [`super::expr::eval_bool`].
#[derive(Clone)]
pub struct Cond(std::sync::Arc<BoolDyn>);

impl Cond {
    pub fn new(n: &Node) -> Cond {
        Cond(std::sync::Arc::from(bool_fn(n)))
    }
    /// A condition given by its code.
    pub fn from_fn(f: impl for<'a> Fn(&Ctx<'a>) -> Option<bool> + Send + Sync + 'static) -> Cond {
        Cond(std::sync::Arc::new(f))
    }
    #[inline]
    pub fn eval(&self, cx: &Ctx) -> Option<bool> {
        (self.0)(cx)
    }
}

impl std::fmt::Debug for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cond(compiled)")
    }
}

/// `eval(n).and_then(V::as_bool)`, compiled.
pub(crate) fn bool_fn(n: &Node) -> BoolFn {
    match n {
        Node::Field(i) => {
            let i = *i as usize;
            Box::new(move |cx| match cx.cells[i].value()? {
                Scalar::Bool(b) => Some(*b),
                _ => None,
            })
        }
        Node::Crit(i) => {
            let i = *i as usize;
            Box::new(move |cx| cx.crits[i])
        }
        Node::Lit(l) => {
            let b = match l {
                Lit::Bool(b) => Some(*b),
                _ => None,
            };
            Box::new(move |_| b)
        }
        Node::Not(x) => {
            let x = bool_fn(x);
            Box::new(move |cx| Some(!x(cx)?))
        }
        Node::And(xs) => junction::<true>(xs),
        Node::Or(xs) => junction::<false>(xs),
        Node::Cmp(op, x, y) => cmp_fn(*op, x, y),
        Node::In(x, list) => in_fn(x, list),
        Node::Cond(c, x, y) => {
            let (c, x, y) = (bool_fn(c), bool_fn(x), bool_fn(y));
            Box::new(move |cx| if c(cx)? { x(cx) } else { y(cx) })
        }
        Node::AtLeast(k, xs) => at_least_fn(*k, xs),
        Node::Blank(i) => {
            let i = *i as usize;
            Box::new(move |cx| cx.cells[i].blank_test())
        }
        Node::Present(i) => {
            let i = *i as usize;
            Box::new(move |cx| Some(cx.cells[i].present()))
        }
        Node::Known(x) => known_fn(x),
        Node::IsTrue(x) => {
            let x = bool_fn(x);
            Box::new(move |cx| Some(x(cx) == Some(true)))
        }
        Node::IsFalse(x) => {
            let x = bool_fn(x);
            Box::new(move |cx| Some(x(cx) == Some(false)))
        }
        Node::StrTest(op, x, t) => str_test_fn(*op, x, t),
        Node::Member(_) | Node::MemberBlank(_) | Node::Record(..) | Node::RecordBlank(..) => row_bool_fn(n),
        Node::Members(q, over, body) if *q != Quant::Count => {
            let (q, over, body) = (*q, *over, bool_fn(body));
            Box::new(move |cx| over_members(q, over, cx, |m| body(m)).and_then(V::as_bool))
        }
        // Not bool-valued: unknown as a bool, as `V::as_bool` makes them.
        Node::Members(..)
        | Node::Agg(..)
        | Node::Binary(..)
        | Node::Param(_)
        | Node::Decision(..)
        | Node::Arith(..)
        | Node::Neg(_)
        | Node::MonthsSince(_)
        | Node::AsOf
        | Node::Unary(..) => {
            let v = val_fn(n);
            Box::new(move |cx| v(cx).and_then(V::as_bool))
        }
    }
}

/// A member's field (`m.x`, `blank(m.x)`) or a record's column (`r.x`, `blank(r.x)`) as a bool.
fn row_bool_fn(n: &Node) -> BoolFn {
    fn as_bool(c: &crate::household::Cell) -> Option<bool> {
        match c.value()? {
            Scalar::Bool(b) => Some(*b),
            _ => None,
        }
    }
    match *n {
        Node::Member(i) => Box::new(move |cx| as_bool(&cx.member[i as usize])),
        Node::MemberBlank(i) => Box::new(move |cx| cx.member[i as usize].blank_test()),
        Node::Record(_, i) => Box::new(move |cx| as_bool(&cx.record[i as usize])),
        Node::RecordBlank(_, i) => Box::new(move |cx| cx.record[i as usize].blank_test()),
        _ => Box::new(|_| None),
    }
}

/// `a op b` of two numbers (unknown for anything else, or on overflow or a division by zero).
#[inline(always)]
fn arith<'a>(op: ArithOp, a: V<'a>, b: V<'a>) -> Option<V<'a>> {
    let (V::Num(a), V::Num(b)) = (a, b) else { return None };
    Some(V::Num(match op {
        ArithOp::Add => a.checked_add(b)?,
        ArithOp::Sub => a.checked_sub(b)?,
        ArithOp::Mul => a.checked_mul(b)?,
        ArithOp::Div => a.checked_div(b)?,
    }))
}

/// The value of a literal other than a string (held by a closure; a string literal is compared
/// with text by its own shape).
fn lit_value(l: &Lit) -> Option<V<'static>> {
    match l {
        Lit::Bool(b) => Some(V::Bool(*b)),
        Lit::Num(x) => Some(V::Num(*x)),
        Lit::Enum(e) => Some(V::Enum(*e)),
        Lit::Date(d) => Some(V::Date(*d)),
        Lit::Str(_) => None,
    }
}

/// `&&` (`AND`) or `||` of `xs` in three-valued logic, stopping at the first false (true) child.
fn junction<const AND: bool>(xs: &[Node]) -> BoolFn {
    let xs: Vec<BoolFn> = xs.iter().map(bool_fn).collect();
    Box::new(move |cx| {
        let mut acc = Some(AND);
        for x in &xs {
            acc = if AND { and3(acc, x(cx)) } else { or3(acc, x(cx)) };
            if acc == Some(!AND) {
                break;
            }
        }
        acc
    })
}

/// `eval(n)`, compiled.
fn val_fn(n: &Node) -> ValFn {
    match n {
        Node::Field(i) => {
            let i = *i;
            Box::new(move |cx| cx.field(i))
        }
        Node::Param(i) => {
            let i = *i as usize;
            Box::new(move |cx| Some(V::Num(cx.params[i])))
        }
        Node::Crit(i) => {
            let i = *i as usize;
            Box::new(move |cx| cx.crits[i].map(V::Bool))
        }
        Node::Decision(i, u) => {
            let (i, u) = (*i as usize, *u);
            Box::new(move |cx| {
                let v = cx.decisions[i];
                (v != u).then_some(V::Enum(v))
            })
        }
        Node::Lit(l) => lit_fn(l),
        Node::AsOf => Box::new(|cx| Some(V::Date(cx.as_of_day))),
        Node::Unary(f, x) => {
            let (f, x) = (*f, val_fn(x));
            Box::new(move |cx| super::expr::unary(f, x(cx)?))
        }
        Node::Arith(op, x, y) => arith_fn(*op, x, y),
        Node::Neg(x) => {
            let x = val_fn(x);
            Box::new(move |cx| match x(cx)? {
                V::Num(a) => Some(V::Num(a.checked_neg()?)),
                _ => None,
            })
        }
        Node::Cond(c, x, y) => {
            let (c, x, y) = (bool_fn(c), val_fn(x), val_fn(y));
            Box::new(move |cx| if c(cx)? { x(cx) } else { y(cx) })
        }
        Node::MonthsSince(x) => {
            let x = val_fn(x);
            Box::new(move |cx| match x(cx)? {
                V::Month(m) => Some(V::Num(Num::from_int((cx.as_of_month - m) as i64)?)),
                _ => None,
            })
        }
        Node::Member(i) => {
            let i = *i;
            Box::new(move |cx| cx.member_field(i))
        }
        Node::Record(_, i) => record_val_fn(*i),
        Node::Members(q, over, body) => {
            let (q, over, body) = (*q, *over, bool_fn(body));
            Box::new(move |cx| over_members(q, over, cx, |m| body(m)))
        }
        Node::Agg(agg, over, keep, value) => {
            let (agg, over, keep, value) = (*agg, *over, bool_fn(keep), val_fn(value));
            Box::new(move |cx| fold_members(agg, over, cx, |m| keep(m), |m| value(m)))
        }
        Node::Binary(f, x, y) => {
            let (f, x, y) = (*f, val_fn(x), val_fn(y));
            Box::new(move |cx| super::expr::binary(f, x(cx)?, y(cx)?))
        }
        // Bool-valued.
        Node::Not(_)
        | Node::And(_)
        | Node::Or(_)
        | Node::Cmp(..)
        | Node::In(..)
        | Node::AtLeast(..)
        | Node::Blank(_)
        | Node::Known(_)
        | Node::IsTrue(_)
        | Node::IsFalse(_)
        | Node::Present(_)
        | Node::MemberBlank(_)
        | Node::RecordBlank(..)
        | Node::StrTest(..) => {
            let b = bool_fn(n);
            Box::new(move |cx| b(cx).map(V::Bool))
        }
    }
}

/// A record's column (`r.x`).
fn record_val_fn(i: u16) -> ValFn {
    Box::new(move |cx| cx.record_field(i))
}

/// `x op y`, compiled: a field against a number, a parameter, a literal or another field is read
/// in place.
fn cmp_fn(op: CmpOp, x: &Node, y: &Node) -> BoolFn {
    match (x, y) {
        // Text against a string literal: equality only (as `expr::cmp`, the left one first).
        (Node::Lit(Lit::Str(s)), other) | (other, Node::Lit(Lit::Str(s))) => {
            let (s, other) = (s.clone(), val_fn(other));
            Box::new(move |cx| {
                let V::Str(t) = other(cx)? else { return None };
                let eq = *s == **t;
                match op {
                    CmpOp::Eq => Some(eq),
                    CmpOp::Ne => Some(!eq),
                    _ => None,
                }
            })
        }
        (Node::Field(i), Node::Lit(Lit::Num(b))) => {
            let (i, b) = (*i, *b);
            Box::new(move |cx| match cx.field(i)? {
                V::Num(a) => Some(op.test(a.cmp(&b))),
                _ => None,
            })
        }
        // Two fields (`dropouts > school_age`): no closure per operand.
        (Node::Field(i), Node::Field(j)) => {
            let (i, j) = (*i, *j);
            Box::new(move |cx| {
                let (a, b) = (cx.field(i)?, cx.field(j)?);
                Some(op.test(super::expr::order(a, b)?))
            })
        }
        (Node::Field(i), Node::Param(p)) => {
            let (i, p) = (*i, *p as usize);
            Box::new(move |cx| match cx.field(i)? {
                V::Num(a) => Some(op.test(a.cmp(&cx.params[p]))),
                _ => None,
            })
        }
        // Against a literal (`household_type == '…'`, an earlier decision `== '…'`): the
        // literal's value held in the closure, a field read in place.
        (x, Node::Lit(l)) if lit_value(l).is_some() => {
            let b = lit_value(l).expect("checked");
            match x {
                Node::Field(i) => {
                    let i = *i;
                    Box::new(move |cx| Some(op.test(super::expr::order(cx.field(i)?, b)?)))
                }
                _ => {
                    let x = val_fn(x);
                    Box::new(move |cx| Some(op.test(super::expr::order(x(cx)?, b)?)))
                }
            }
        }
        (Node::Lit(l), y) if lit_value(l).is_some() => {
            let (a, y) = (lit_value(l).expect("checked"), val_fn(y));
            Box::new(move |cx| Some(op.test(super::expr::order(a, y(cx)?)?)))
        }
        _ => {
            let (x, y) = (val_fn(x), val_fn(y));
            Box::new(move |cx| {
                let (a, b) = (x(cx)?, y(cx)?);
                Some(op.test(super::expr::order(a, b)?))
            })
        }
    }
}

/// `x in [..]`, compiled.
fn in_fn(x: &Node, list: &[Lit]) -> BoolFn {
    let enums: Option<u64> = list.iter().try_fold(0u64, |m, l| match l {
        Lit::Enum(e) if *e < 64 => Some(m | 1 << e),
        _ => None,
    });
    match (x, enums) {
        // An enum field among enum literals: one bit test.
        (Node::Field(i), Some(mask)) => {
            let i = *i;
            Box::new(move |cx| match cx.field(i)? {
                V::Enum(e) => Some(e < 64 && mask >> e & 1 == 1),
                _ => Some(false),
            })
        }
        _ => {
            let (x, list) = (val_fn(x), list.to_vec());
            Box::new(move |cx| {
                let v = x(cx)?;
                Some(list.iter().any(|l| lit_eq(l, v)))
            })
        }
    }
}

/// `at_least(k, xs..)`, compiled.
fn at_least_fn(k: u32, xs: &[Node]) -> BoolFn {
    let xs: Vec<BoolFn> = xs.iter().map(bool_fn).collect();
    Box::new(move |cx| super::expr::at_least(k, xs.iter().map(|x| x(cx))))
}

/// `known(x)`, compiled.
fn known_fn(x: &Node) -> BoolFn {
    match x {
        Node::Field(i) => {
            let i = *i as usize;
            Box::new(move |cx| Some(cx.cells[i].value().is_some()))
        }
        _ => {
            let x = val_fn(x);
            Box::new(move |cx| Some(x(cx).is_some()))
        }
    }
}

/// `x.contains('…')` and the like, compiled.
fn str_test_fn(op: super::expr::StrOp, x: &Node, t: &str) -> BoolFn {
    let (x, t): (ValFn, Box<str>) = (val_fn(x), t.into());
    Box::new(move |cx| match x(cx)? {
        V::Str(s) => Some(op.test(s, &t)),
        _ => None,
    })
}

/// A literal's value, compiled.
fn lit_fn(l: &Lit) -> ValFn {
    match l {
        Lit::Bool(b) => {
            let b = *b;
            Box::new(move |_| Some(V::Bool(b)))
        }
        Lit::Num(x) => {
            let x = *x;
            Box::new(move |_| Some(V::Num(x)))
        }
        Lit::Enum(e) => {
            let e = *e;
            Box::new(move |_| Some(V::Enum(e)))
        }
        Lit::Date(d) => {
            let d = *d;
            Box::new(move |_| Some(V::Date(d)))
        }
        // String literals only meet text fields, in comparisons (see `bool_fn`).
        Lit::Str(_) => Box::new(|_| None),
    }
}

/// `x op y` of numbers, compiled. A field or a number as an operand is read in place, not through
/// a closure of its own (`income_wage + income_business`, `members * 2`).
fn arith_fn(op: ArithOp, x: &Node, y: &Node) -> ValFn {
    match (x, y) {
        (Node::Field(i), Node::Field(j)) => {
            let (i, j) = (*i, *j);
            Box::new(move |cx| arith(op, cx.field(i)?, cx.field(j)?))
        }
        (Node::Field(i), Node::Lit(Lit::Num(b))) => {
            let (i, b) = (*i, V::Num(*b));
            Box::new(move |cx| arith(op, cx.field(i)?, b))
        }
        (_, Node::Field(j)) => {
            let (x, j) = (val_fn(x), *j);
            Box::new(move |cx| arith(op, x(cx)?, cx.field(j)?))
        }
        (_, Node::Lit(Lit::Num(b))) => {
            let (x, b) = (val_fn(x), V::Num(*b));
            Box::new(move |cx| arith(op, x(cx)?, b))
        }
        _ => {
            let (x, y) = (val_fn(x), val_fn(y));
            Box::new(move |cx| arith(op, x(cx)?, y(cx)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::household::{Cell, Members};
    use crate::ruleset::expr::{self, walk};
    use crate::ruleset::file::FieldType;
    use crate::ruleset::{load, Test};
    use crate::value::{Date, SCALE};

    /// Every node of every condition of the built-in rule sets, compiled, gives what the tree
    /// gives, over households whose cells are drawn from blanks, invalid cells, blanks standing
    /// for a value, derived values and values at and around the thresholds, with criteria and
    /// earlier decisions drawn too.
    #[test]
    fn compiled_conditions_agree_with_the_tree() {
        let mut rng = crate::test_rng::Lcg(3);
        let mut next = |n: usize| rng.below(n);
        for (name, _, _) in crate::ruleset::EMBEDDED {
            let rules = load(name).unwrap();
            let b = rules.at(Date::new(2024, 12, 31).unwrap()).unwrap();
            let mut nodes: Vec<Node> = Vec::new();
            let mut add = |n: &Node| walk(n, &mut |x| nodes.push(x.clone()));
            for c in &rules.criteria {
                match &c.test {
                    Test::Condition(n) => add(n),
                    Test::MetUnmet(m, u) => {
                        add(m);
                        add(u);
                    }
                }
            }
            for d in &rules.decisions {
                d.rules.iter().for_each(|r| add(&r.0));
            }
            if let Some(f) = &rules.returned {
                add(&f.when);
            }
            rules.checks.iter().for_each(|c| add(&c.when));
            // Record macros over department lists, in every form.
            if rules.departments.iter().any(|d| d.key == "medical") {
                for src in [
                    "cars.exists(r, r.vehicle_type == '小型轿车' || blank(r.plate)) || size(cars) >= 2",
                    "cars.all(r, r.registered >= monitor_since) && cars.exists_one(r, r.plate.startsWith('a'))",
                    "medical.filter(r, r.settled > monitor_since).size() > 1 || max(medical.map(r, r.self_paid)) > 100",
                    "sum(medical.map(r, r.settled > monitor_since, r.self_paid)) > 0 || min(medical.map(r, r.self_paid)) < 2",
                    "sum(medical.filter(r, !blank(r.settled)).map(r, r.self_paid)) >= 6",
                    "members.exists(m, m.xueji.size() == 0 && m.age >= 6) || members.all(m, m.xueji.exists(r, r.grade == 'a'))",
                    "sum(members.map(m, size(m.medical_insured))) < size(members) && members.exists(m, medical.size() > 0)",
                ] {
                    add(&rules.compile_expr(src, crate::ruleset::expr::Ty::Bool).unwrap());
                }
            }
            // The functions no shipped condition uses yet: dates, months, text tests.
            for src in [
                "assessment_date >= date('2021-01-01') && assessment_date < date('2026-01-01')",
                "year(monitor_since) * 100 + month(monitor_since) >= 202301 || year(assessment_date) == 2024",
                "head_name.contains('脱贫') || village.startsWith('a') || county.endsWith('户')",
                "size(head_name) > 1 && head_name.size() < 3",
                "members.exists(m, m.age >= 6 && m.age <= 15 && m.school == '非在校生')",
                "members.all(m, m.insured_resident || m.insured_employee) && size(members) > 1",
                "members.exists_one(m, m.relation == '户主') && members.filter(m, m.skill in ['普通劳动力', '技能劳动力']).size() >= 1",
                "members.exists(m, blank(m.school) && !id_valid(m.id_number)) || months_between(monitor_since, assessment_date) >= 6",
                "sum(members.map(m, m.age >= 16, 1)) * 2 > size(members) || max(members.map(m, m.age)) < 18",
                "members.filter(m, m.relation == '户主').map(m, m.age).min() >= 60",
            ] {
                add(&rules.compile_expr(src, crate::ruleset::expr::Ty::Bool).unwrap());
            }
            let compiled: Vec<(BoolFn, ValFn)> = nodes.iter().map(|n| (bool_fn(n), val_fn(n))).collect();
            let reads_members: Vec<bool> = nodes.iter().map(|n| !expr::refs(n).members.is_empty()).collect();
            let free_record: Vec<bool> = nodes.iter().map(free_record).collect();
            let numbers = numbers_around(&b);
            for _ in 0..3000 {
                let (cells, crits, decisions) = draw(&rules, &b, &numbers, &mut next);
                let ms = draw_members(&rules, &mut next);
                let records = draw_records(&rules, ms.as_ref().map_or(0, |m| m.len()), &mut next);
                let cx = Ctx {
                    cells: &cells,
                    params: &b.params,
                    crits: &crits,
                    decisions: &decisions,
                    as_of_month: b.as_of.month_index(),
                    as_of_day: expr::day_key(b.as_of),
                    members: ms.as_ref(),
                    // The nodes inside a member macro's condition are evaluated alone too: as of
                    // the first member, when there is one.
                    member: ms.as_ref().filter(|m| !m.is_empty()).map_or(&[], |m| m.get(0)),
                    member_index: 0,
                    records: &records,
                    record: &[],
                };
                for (k, ((n, (bf, vf)), &reads_member)) in nodes.iter().zip(&compiled).zip(&reads_members).enumerate() {
                    // A record's column outside its macro has no record to read.
                    if (reads_member && cx.member.is_empty()) || free_record[k] {
                        continue;
                    }
                    assert_eq!(vf(&cx), expr::eval(n, &cx), "{name}: {n:?}");
                    assert_eq!(bf(&cx), expr::eval_bool(n, &cx), "{name}: {n:?}");
                }
            }
        }
    }

    /// Whether `n` reads a record's column outside the macro over its list.
    fn free_record(n: &Node) -> bool {
        let (mut read, mut over) = (Vec::new(), Vec::new());
        walk(n, &mut |x| match x {
            Node::Record(d, _) | Node::RecordBlank(d, _) => read.push(*d),
            Node::Members(_, expr::Over::Records(d, _) | expr::Over::MemberRecords(d, _), _)
            | Node::Agg(_, expr::Over::Records(d, _) | expr::Over::MemberRecords(d, _), ..) => over.push(*d),
            _ => {}
        });
        read.iter().any(|d| !over.contains(d))
    }

    /// Records of every department list, matched to drawn members (or the head), their cells drawn
    /// from blanks and values.
    fn draw_records(
        rules: &crate::ruleset::RuleSet,
        members: usize,
        next: &mut impl FnMut(usize) -> usize,
    ) -> crate::household::Records {
        let mut out = crate::household::Records::default();
        for (d, dept) in rules.departments.iter().enumerate() {
            for _ in 0..next(4) {
                let member = if members == 0 { crate::household::RecordHead::HEAD } else { next(members) as u32 };
                let start = out.cells.len() as u32;
                for c in &dept.columns {
                    let value = match c.ty {
                        FieldType::Int | FieldType::Money => {
                            Scalar::Num(Num::from_int([0, 1, 2, 5000, 7000][next(5)]).unwrap())
                        }
                        FieldType::Month => Scalar::Month(24000 + next(30) as i32),
                        _ => Scalar::Text(["", "a", "小型轿车", "ab"][next(4)].into()),
                    };
                    out.cells.push(if next(4) == 0 { Cell::Blank } else { Cell::Value(value) });
                }
                let len = dept.columns.len() as u32;
                out.heads.push(crate::household::RecordHead { list: d as u16, member, start, len });
            }
        }
        out
    }

    /// Numbers at and around the parameters in force, and a few edge values.
    fn numbers_around(b: &crate::ruleset::Bound) -> Vec<i64> {
        let mut numbers: Vec<i64> = vec![0, 1, -1, 2, 6, 100, 7_000_000, i64::MAX / 2];
        numbers.extend(b.params.iter().flat_map(|p| [p.0, p.0 - 1, p.0 + 1, p.0 / SCALE * 7 / 10 * SCALE]));
        numbers
    }

    /// A household's cells (blank, absent, invalid, standing for a value, derived or read), its
    /// criteria and its earlier decisions, drawn.
    fn draw(
        rules: &crate::ruleset::RuleSet,
        b: &crate::ruleset::Bound,
        numbers: &[i64],
        next: &mut impl FnMut(usize) -> usize,
    ) -> (Vec<Cell>, Vec<Option<bool>>, Vec<u16>) {
        let cells: Vec<Cell> = rules
            .fields
            .iter()
            .map(|f| {
                let value = match f.ty {
                    FieldType::Bool => Scalar::Bool(next(2) == 0),
                    FieldType::Int | FieldType::Money => Scalar::Num(Num(numbers[next(numbers.len())])),
                    FieldType::Enum => {
                        let n = rules.enums[f.enum_id.unwrap() as usize].values.len();
                        Scalar::Enum(next(n) as u16)
                    }
                    FieldType::Month => Scalar::Month(b.as_of.month_index() - next(30) as i32 + 3),
                    FieldType::Text | FieldType::Id => Scalar::Text(["", "脱贫户", "a", "ab", "b"][next(5)].into()),
                };
                match next(10) {
                    0 => Cell::Blank,
                    8 => Cell::Absent(crate::household::Missing::Field(0)),
                    9 => Cell::AbsentAs(value),
                    1 => Cell::Invalid("x".into()),
                    2 => Cell::BlankAs(value),
                    3 => Cell::Derived(value),
                    _ => Cell::Value(value),
                }
            })
            .collect();
        let crits: Vec<Option<bool>> =
            rules.criteria.iter().map(|_| [Some(true), Some(false), None][next(3)]).collect();
        let decisions: Vec<u16> = rules.decisions.iter().map(|d| next(d.labels.len()) as u16).collect();
        (cells, crits, decisions)
    }

    /// A household's members, drawn: none (a ledger row), or up to four whose cells are blank,
    /// absent, invalid, standing for a value, derived or read; ages and ID numbers around the
    /// boundaries.
    fn draw_members(rules: &crate::ruleset::RuleSet, next: &mut impl FnMut(usize) -> usize) -> Option<Members> {
        if next(5) == 0 {
            return None;
        }
        let n = next(5);
        let width = rules.persons.len();
        let mut ms = Members { width, cells: Vec::new(), rows: (0..n as u64).collect() };
        for _ in 0..n * width {
            let k = ms.cells.len() % width;
            let f = &rules.persons[k];
            let value = match f.ty {
                FieldType::Bool => Scalar::Bool(next(2) == 0),
                FieldType::Int | FieldType::Money => {
                    Scalar::Num(Num::from_int([0, 5, 6, 15, 16, 17, 60][next(7)]).unwrap())
                }
                FieldType::Enum => {
                    let n = rules.enums[f.enum_id.unwrap() as usize].values.len();
                    Scalar::Enum(next(n) as u16)
                }
                FieldType::Month => Scalar::Month(24000 + next(30) as i32),
                FieldType::Text | FieldType::Id => Scalar::Text(
                    ["", "非在校生", "户主", "高一", "52000020180615001X", "520000201806150011", "520000800101001"]
                        [next(7)]
                    .into(),
                ),
            };
            ms.cells.push(match next(10) {
                0 => Cell::Blank,
                1 => Cell::Invalid("x".into()),
                2 => Cell::BlankAs(value),
                3 => Cell::Derived(value),
                4 => Cell::Absent(crate::household::Missing::Field(0)),
                _ => Cell::Value(value),
            });
        }
        Some(ms)
    }

    /// A member condition (inside a macro: `m` is the member) over the national member fields,
    /// with household fields alongside.
    fn gen_member_bool(next: &mut impl FnMut(usize) -> usize, depth: u32) -> String {
        if depth > 0 && next(2) == 0 {
            let d = depth - 1;
            return match next(3) {
                0 => format!("!({})", gen_member_bool(next, d)),
                1 => format!("({} && {})", gen_member_bool(next, d), gen_member_bool(next, d)),
                _ => format!("({} || {})", gen_member_bool(next, d), gen_member_bool(next, d)),
            };
        }
        match next(10) {
            0 => format!("m.age {} {}", ["<", "<=", ">=", "==", "!="][next(5)], [0, 6, 15, 16, 60][next(5)]),
            1 => format!("m.skill == '{}'", ["普通劳动力", "无劳动力", "丧失劳动力"][next(3)]),
            2 => "m.skill in ['普通劳动力', '技能劳动力', '弱劳动力或半劳动力']".to_string(),
            3 => format!("m.health != '{}'", ["健康", "残疾", "大病"][next(3)]),
            4 => format!("blank(m.{})", ["school", "no_school_reason", "age", "skill"][next(4)]),
            5 => format!("m.school {} '非在校生'", ["==", "!="][next(2)]),
            6 => format!("m.{}", ["insured_resident", "insured_employee", "insured_serious"][next(3)]),
            7 => format!("id_valid(m.{})", ["id_number", "school"][next(2)]),
            8 => format!("age_at(m.id_number, assessment_date) {} {}", [">=", "<"][next(2)], [6, 16, 18][next(3)]),
            _ => ["food", "water", "below_line", "m.relation.startsWith('户')"][next(4)].to_string(),
        }
    }

    /// A member macro, or one of the functions over dates and ID numbers, as a bool condition.
    fn gen_members(next: &mut impl FnMut(usize) -> usize, depth: u32) -> String {
        let body = gen_member_bool(next, depth.min(2));
        let op = ["<", "<=", ">", ">=", "==", "!="][next(6)];
        let agg = ["sum", "min", "max"][next(3)];
        match next(12) {
            9 => format!("{agg}(members.map(m, m.age)) {op} {}", [0, 6, 16, 60][next(4)]),
            10 => format!("{agg}(members.map(m, {body}, m.age)) {op} {}", [0, 16, 60][next(3)]),
            11 => format!("members.filter(m, {body}).map(m, m.age < 60, 1).{agg}() {op} size(members)"),
            0 => format!("members.exists(m, {body})"),
            1 => format!("members.all(m, {body})"),
            2 => format!("members.exists_one(m, {body})"),
            3 => format!("members.filter(m, {body}).size() {op} {}", next(3)),
            4 => format!("size(members) {op} {}", next(4)),
            5 => format!(
                "months_between({}, {}) {op} {}",
                ["monitor_since", "date('2023-01-31')", "assessment_date"][next(3)],
                ["assessment_date", "monitor_since", "date('2024-02-29')"][next(3)],
                [0, 1, 6, 12][next(4)]
            ),
            6 => format!(
                "age_at({}, assessment_date) {op} {}",
                ["head_id", "date('2018-06-15')"][next(2)],
                [6, 16, 60][next(3)]
            ),
            7 => format!("id_valid({})", ["head_id", "head_name", "'520000800101001'"][next(3)]),
            _ => format!("members.filter(m, {body}).size() {op} size(members)"),
        }
    }

    /// A generated condition over the national fields: every operator and function of the
    /// language, of every type (numbers, money, months and dates, enums, text, booleans, criteria,
    /// earlier decisions, member macros), nested up to `depth`.
    fn gen_bool(next: &mut impl FnMut(usize) -> usize, depth: u32) -> String {
        if next(8) == 0 {
            return gen_members(next, depth);
        }
        const BOOLS: [&str; 6] = ["food", "clothing", "water", "disaster", "has_car", "risk_eliminated"];
        const CRITS: [&str; 4] = ["below_line", "guarantee_gap", "monitored", "excluded"];
        const ENUMS: [(&str, &[&str]); 3] = [
            ("household_type", &["贫困户", "脱贫户", "一般农户"]),
            ("housing_grade", &["A", "B", "C", "D"]),
            ("monitor_type", &["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]),
        ];
        const TEXTS: [&str; 3] = ["head_name", "village", "aid_industry"];
        const WORDS: [&str; 4] = ["a", "脱贫", "", "b"];
        let leaf = depth == 0 || next(3) == 0;
        let k = if leaf { next(12) } else { 12 + next(6) };
        match k {
            0 => BOOLS[next(BOOLS.len())].to_string(),
            1 => CRITS[next(CRITS.len())].to_string(),
            2 => {
                let (f, vs) = ENUMS[next(ENUMS.len())];
                let op = ["==", "!="][next(2)];
                format!("{f} {op} '{}'", vs[next(vs.len())])
            }
            3 => {
                let (f, vs) = ENUMS[next(ENUMS.len())];
                format!("{f} in ['{}', '{}']", vs[next(vs.len())], vs[next(vs.len())])
            }
            4 => {
                let op = ["==", "!=", "<", "<=", ">", ">="][next(6)];
                let (d, money) = (depth.saturating_sub(1), next(2) == 0);
                let right = match next(4) {
                    0 => ["0", "6000", "4000.01", "-1"][next(4)].to_string(),
                    _ => gen_num(next, d, money),
                };
                format!("{} {op} {right}", gen_num(next, d, money))
            }
            5 => {
                let t = TEXTS[next(TEXTS.len())];
                match next(5) {
                    0 => format!("{t}.contains('{}')", WORDS[next(4)]),
                    1 => format!("{t}.startsWith('{}')", WORDS[next(4)]),
                    2 => format!("{t}.endsWith('{}')", WORDS[next(4)]),
                    3 => format!("{t} {} '{}'", ["==", "!="][next(2)], WORDS[next(4)]),
                    _ => format!("{t} {} {}", ["==", "!="][next(2)], TEXTS[next(TEXTS.len())]),
                }
            }
            6 => format!("blank({})", ["members", "food", "household_type", "head_name", "monitor_since"][next(5)]),
            7 => format!("present({})", ["members", "food", "aid_industry"][next(3)]),
            8 => format!("risk {} '{}'", ["==", "!="][next(2)], ["高", "中", "低", "无"][next(4)]),
            9 => "risk in ['高', '中']".to_string(),
            10 => format!(
                "assessment_date {} date('{}')",
                ["<", ">=", "=="][next(3)],
                ["2020-03-20", "2021-01-01", "2024-12-31"][next(3)]
            ),
            11 => format!("months_since(monitor_since) {} {}", [">=", "<"][next(2)], [0, 6, 12][next(3)]),
            12 => format!("!({})", gen_bool(next, depth - 1)),
            13 => format!("({} && {})", gen_bool(next, depth - 1), gen_bool(next, depth - 1)),
            14 => format!("({} || {})", gen_bool(next, depth - 1), gen_bool(next, depth - 1)),
            15 => format!(
                "({} ? {} : {})",
                gen_bool(next, depth - 1),
                gen_bool(next, depth - 1),
                gen_bool(next, depth - 1)
            ),
            16 => format!(
                "at_least({}, {}, {}, {})",
                next(4),
                gen_bool(next, depth - 1),
                gen_bool(next, depth - 1),
                gen_bool(next, depth - 1)
            ),
            _ => format!("{}({})", ["known", "is_true", "is_false"][next(3)], gen_bool(next, depth - 1)),
        }
    }

    /// A generated number: money (`money`) or a count/ratio (int or decimal), as the units of
    /// the language allow them to combine.
    fn gen_num(next: &mut impl FnMut(usize) -> usize, depth: u32, money: bool) -> String {
        const MONEY: [&str; 5] =
            ["per_capita_income", "prev_per_capita_income", "expense_medical", "poverty_line", "monitoring_line"];
        const COUNTS: [&str; 7] =
            ["members", "labor", "ill", "dropouts", "exit_year", "min_months_monitored", "income_drop_ratio"];
        if depth == 0 || next(2) == 0 {
            // (A bare number takes the type of what it meets, so money is never one here: `2 * 3`
            // in a money place would be a count.)
            return match (money, next(6)) {
                (true, _) => MONEY[next(MONEY.len())].to_string(),
                (false, 0) => ["0", "1", "6000", "0.3", "2.5", "4000.01"][next(6)].to_string(),
                (false, 1) => format!("{}(monitor_since)", ["year", "month"][next(2)]),
                (false, 2) => format!("size({})", ["head_name", "village"][next(2)]),
                (false, _) => COUNTS[next(COUNTS.len())].to_string(),
            };
        }
        let d = depth - 1;
        match (money, next(5)) {
            (_, 0) => format!("-({})", gen_num(next, d, money)),
            (_, 1) => format!("({} ? {} : {})", gen_bool(next, d), gen_num(next, d, money), gen_num(next, d, money)),
            (_, 2) => format!("({} {} {})", gen_num(next, d, money), ["+", "-"][next(2)], gen_num(next, d, money)),
            (true, 3) => format!("({} * {})", gen_num(next, d, true), gen_num(next, d, false)),
            (true, _) => format!("({} / {})", gen_num(next, d, true), gen_num(next, d, false)),
            (false, 3) => format!("({} {} {})", gen_num(next, d, false), ["*", "/"][next(2)], gen_num(next, d, false)),
            // Money ÷ money is a ratio (a bare number over money is not allowed).
            (false, _) => format!("({} / {})", MONEY[next(MONEY.len())], MONEY[next(MONEY.len())]),
        }
    }

    /// The compiled evaluator and the tree walker have one semantics: generated conditions of
    /// every operator and type, over drawn households, give the same value and the same
    /// three-valued truth.
    #[test]
    fn generated_expressions_agree_with_the_tree() {
        let rules = load("national").unwrap();
        let mut rng = crate::test_rng::Lcg(11);
        let mut next = |n: usize| rng.below(n);
        let mut compiled = 0;
        for date in [Date::new(2020, 6, 30).unwrap(), Date::new(2024, 12, 31).unwrap()] {
            let b = rules.at(date).unwrap();
            let numbers = numbers_around(&b);
            for _ in 0..1500 {
                let depth = 1 + next(4) as u32;
                let src = gen_bool(&mut next, depth);
                let node = match rules.compile_expr(&src, crate::ruleset::expr::Ty::Bool) {
                    Ok(n) => n,
                    Err(e) => panic!("a generated condition does not compile: {src}: {}", e.0),
                };
                compiled += 1;
                let (bf, vf) = (bool_fn(&node), val_fn(&node));
                for _ in 0..20 {
                    let (cells, crits, decisions) = draw(&rules, &b, &numbers, &mut next);
                    let ms = draw_members(&rules, &mut next);
                    let cx = Ctx {
                        cells: &cells,
                        params: &b.params,
                        crits: &crits,
                        decisions: &decisions,
                        as_of_month: b.as_of.month_index(),
                        as_of_day: expr::day_key(b.as_of),
                        members: ms.as_ref(),
                        member: &[],
                        member_index: 0,
                        records: &crate::household::NO_RECORDS,
                        record: &[],
                    };
                    assert_eq!(vf(&cx), expr::eval(&node, &cx), "{src}");
                    assert_eq!(bf(&cx), expr::eval_bool(&node, &cx), "{src}");
                }
            }
        }
        assert_eq!(compiled, 3000);
    }

    /// The lists' conditions (compiled against their slots) agree with the tree too, over
    /// environments of slots drawn as above: both quarters' cells, criteria, decisions, the flag
    /// and the run's booleans.
    #[test]
    fn compiled_list_conditions_agree_with_the_tree() {
        let mut rng = crate::test_rng::Lcg(5);
        let mut next = |n: usize| rng.below(n);
        for (name, _, _) in crate::ruleset::EMBEDDED {
            let rules = load(name).unwrap();
            let b = rules.at(Date::new(2024, 12, 31).unwrap()).unwrap();
            let mut nodes: Vec<Node> = Vec::new();
            let mut add = |n: &Node| walk(n, &mut |x| nodes.push(x.clone()));
            for l in &rules.lists.lists {
                add(&l.when);
                l.reason.iter().filter_map(|r| r.0.as_ref()).for_each(&mut add);
            }
            let compiled: Vec<(BoolFn, ValFn)> = nodes.iter().map(|n| (bool_fn(n), val_fn(n))).collect();
            let slots = &rules.lists.slots;
            for _ in 0..2000 {
                let cells: Vec<Cell> = slots
                    .fields
                    .iter()
                    .map(|&(_, i)| {
                        let f = &rules.fields[i as usize];
                        let value = match f.ty {
                            FieldType::Bool => Scalar::Bool(next(2) == 0),
                            FieldType::Int | FieldType::Money => Scalar::Num(Num([0, 1, 3, 4, 6000 * SCALE][next(5)])),
                            FieldType::Enum => {
                                Scalar::Enum(next(rules.enums[f.enum_id.unwrap() as usize].values.len()) as u16)
                            }
                            FieldType::Month => Scalar::Month(b.as_of.month_index() - next(30) as i32),
                            FieldType::Text | FieldType::Id => Scalar::Text(["", "a"][next(2)].into()),
                        };
                        match next(4) {
                            0 => Cell::Blank,
                            1 => Cell::Absent(crate::household::Missing::Field(i)),
                            _ => Cell::Value(value),
                        }
                    })
                    .collect();
                let crits: Vec<Option<bool>> =
                    slots.bools.iter().map(|_| [Some(true), Some(false), None][next(3)]).collect();
                let decisions: Vec<u16> = slots
                    .decisions
                    .iter()
                    .map(|&(_, d)| next(rules.decisions[d as usize].labels.len()) as u16)
                    .collect();
                let cx = Ctx::facts(&cells, &b.params, &crits, &decisions, b.as_of);
                for (n, (bf, vf)) in nodes.iter().zip(&compiled) {
                    assert_eq!(vf(&cx), expr::eval(n, &cx), "{name}: {n:?}");
                    assert_eq!(bf(&cx), expr::eval_bool(n, &cx), "{name}: {n:?}");
                }
            }
        }
    }
}

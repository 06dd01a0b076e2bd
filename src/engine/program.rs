//! Conditions compiled to branch programs: the engine's hot path for a run's specialised
//! conditions ([`super::specialise`]).
//!
//! A condition's `&&`, `||`, `!`, `is_true`, `is_false` and `c ? x : y` are not evaluated as
//! values: they become jumps between the tests at its leaves (a criterion, a yes/no field, a field
//! compared with a literal, an enum field among literals, `blank(x)`, …), each test a step that
//! says where to go when it is true, false or unknown. Kleene's three-valued `&&` is false as soon
//! as one operand is false, unknown when none is false and one is unknown, true otherwise: after an
//! unknown operand the rest is evaluated by a second copy of the steps in which "true" leads on to
//! "unknown" instead of "true". A household then runs through a flat list of steps in one loop,
//! with no call and no value built per `&&`/`||`, and stops at the first test that decides. A
//! check needs only to know whether its condition is true: its program ends as soon as an
//! unknown makes that impossible. `at_least(k, …)` of single tests is unfolded the same way, one
//! step per test and count so far.
//!
//! Conditions evaluated one after the other for each household (the criteria of a level, the
//! rules of a decision, the checks) are one [`Chain`]: a condition's value leads straight to the
//! next one's first step, or to a mark that tells the caller which condition had which value, so
//! that a household runs through all of them in one loop.
//!
//! What is not a test of its own (arithmetic, functions, member macros) is a leaf compiled by
//! [`crate::ruleset::fast`]. The result is by construction the tree evaluator's
//! ([`expr::eval_bool`]); a unit test compares the two over every condition of the built-in rule
//! sets.

use crate::household::{Cell, Scalar};
use crate::ruleset::expr::{self, ArithOp, CmpOp, Ctx, Lit, Node};
use crate::ruleset::fast;
use crate::value::{Num, SCALE};

/// A condition as the run leaves it (constants folded): the logic of its tests.
#[derive(Clone)]
pub(crate) enum Cnd {
    Const(Option<bool>),
    Leaf(Leaf),
    Not(Box<Cnd>),
    IsTrue(Box<Cnd>),
    IsFalse(Box<Cnd>),
    And(Vec<Cnd>),
    Or(Vec<Cnd>),
    /// `c ? x : y`: unknown when `c` is.
    Cond(Box<Cnd>, Box<Cnd>, Box<Cnd>),
}

/// One test of a household.
#[derive(Clone)]
pub(crate) enum Leaf {
    Crit(u16),
    /// A yes/no field.
    Bool(u16),
    /// A number field compared with a number: true when the ordering of the field's value to `b`
    /// is in `ords` ([`ords`]).
    Num {
        field: u16,
        b: Num,
        ords: u8,
    },
    /// An enum field compared with a choice the rule file names (`household_type == '…'`): unknown
    /// for a value of another type.
    Enum {
        field: u16,
        e: u16,
        ords: u8,
    },
    /// An enum field among choices (`housing_grade in ['C', 'D']`), by bit: false for a value of
    /// another type.
    EnumIn {
        field: u16,
        mask: u64,
    },
    /// An earlier decision compared with one of its labels, or among them, by bit (`wide`: the
    /// result for a label past the 64th): unknown while undecided (label `undecided`).
    Decision {
        decision: u16,
        undecided: u16,
        mask: u64,
        wide: bool,
    },
    /// Two fields compared (`dropouts > school_age`).
    Fields {
        i: u16,
        j: u16,
        ords: u8,
    },
    Blank(u16),
    Present(u16),
    /// `known(field)`.
    Known(u16),
    /// Criteria and yes/no fields counted, one test for an `&&`, `||` or `at_least` of them
    /// ([`Crits`]).
    Crits(Box<Crits>),
    AtLeast(Box<AtLeast>),
    /// Arithmetic compared (`per_capita_income * 10 <= 44000`): true when the ordering of the
    /// two numbers is in `ords`, unknown when either is.
    Arith(Box<(Calc, u8)>),
    /// Comparisons of arithmetic that share a calculation, under one `&&` or `||` (see
    /// [`Shared`]).
    Shared(Box<Shared>),
    /// Anything else, compiled by [`fast`] (boxed: a thin pointer, so that a step is 32 bytes).
    Other(Box<fast::Cond>),
}

/// At least `k` of the criteria `crits` and yes/no fields `bools` true, `u0` more operands
/// counted as unknown: `a && b && c` is `k` = 3, `a || b` is `k` = 1. Kleene's `&&`, `||` and
/// `at_least` as one count in a loop (true once `k` are true, false once `k` cannot be reached
/// even if every operand still unknown were true, else unknown) instead of one step per operand:
/// the order in which they are read does not change the result.
#[derive(Clone)]
pub(crate) struct Crits {
    /// At least 1 (none needed: the condition is constant true, not a test).
    k: u32,
    u0: u32,
    crits: Box<[u16]>,
    bools: Box<[u16]>,
}

impl Crits {
    /// Whether `l` is a test it counts.
    fn counts(l: &Leaf) -> bool {
        matches!(l, Leaf::Crit(_) | Leaf::Bool(_))
    }

    /// At least `k` of `tests` (each one it counts), `u0` more unknown.
    fn new(k: u32, u0: u32, tests: &[Leaf]) -> Crits {
        let crits = tests.iter().filter_map(|l| if let Leaf::Crit(i) = l { Some(*i) } else { None }).collect();
        let bools = tests.iter().filter_map(|l| if let Leaf::Bool(f) = l { Some(*f) } else { None }).collect();
        Crits { k, u0, crits, bools }
    }

    #[inline(always)]
    fn eval(&self, cx: &Ctx) -> Option<bool> {
        let (k, mut t, mut u) = (self.k, 0, self.u0);
        let mut rest = (self.crits.len() + self.bools.len()) as u32;
        // The count's value once an operand decides it.
        let mut count = |v: Option<bool>| {
            rest -= 1;
            match v {
                Some(true) => {
                    t += 1;
                    (t >= k).then_some(true)
                }
                Some(false) => (t + u + rest < k).then_some(false),
                None => {
                    u += 1;
                    None
                }
            }
        };
        for &i in self.crits.iter() {
            if let Some(v) = count(cx.crits[i as usize]) {
                return Some(v);
            }
        }
        for &f in self.bools.iter() {
            let v = match cx.cells[f as usize].value() {
                Some(Scalar::Bool(b)) => Some(*b),
                _ => None,
            };
            if let Some(v) = count(v) {
                return Some(v);
            }
        }
        // Fewer than `k` true.
        if t + u < k {
            Some(false)
        } else {
            None
        }
    }
}

/// Numbers computed from a household's cells by a short list of operations on a stack, as
/// the tree computes them ([`expr::eval`]): unknown when a field read is not a number, on
/// overflow, on a division by zero, or when the condition of a `c ? x : y` is. One loop over the
/// operations, no call through a closure and no value of any type built per operation.
#[derive(Clone)]
pub(crate) struct Calc {
    ops: Box<[Op]>,
    /// No operand is a `c ? x : y`: run by a loop that reads only the cells and the parameters
    /// (which a call loads and keeps fewer of).
    plain: bool,
}

/// How deep a calculation's stack may grow (deeper: compiled by [`fast`] instead).
const CALC_DEPTH: usize = 8;

#[derive(Clone)]
enum Op {
    Push(Operand),
    /// The top replaced by `top op operand`.
    Apply(ArithOp, Operand),
    /// `Apply` of a field or a literal, one operation each: one dispatch per operation, not two
    /// (the common shapes: `income_wage + income_business`, `x * 0.7`).
    AddField(u16),
    SubField(u16),
    MulField(u16),
    DivField(u16),
    AddLit(Num),
    SubLit(Num),
    MulLit(Num),
    DivLit(Num),
    /// The two on top replaced by `below op top`.
    Combine(ArithOp),
    /// The top multiplied by a whole number: `Num::checked_mul` without its rounding division,
    /// which a whole number never needs (the same result, overflow included).
    MulInt(i64),
}

#[derive(Clone)]
enum Operand {
    Field(u16),
    Lit(Num),
    Param(u16),
    /// `known(a) ? a : b`, `b` a field, literal or parameter: `a`'s number, or `b` when `a` has
    /// no value; read in place, no test (so that a calculation of it is plain).
    Coalesce(u16, Simple),
    /// `c ? x : y` of fields, literals or parameters: read in place.
    Pick(Box<(Leaf, Simple, Simple)>),
    /// `c ? x : y`.
    Cond(Box<(Leaf, Calc, Calc)>),
    /// The value a [`Shared`] test computed once for its comparisons.
    Shared,
}

/// An operand read in place, not computed.
#[derive(Clone)]
enum Simple {
    Field(u16),
    Lit(Num),
    Param(u16),
}

impl Simple {
    fn of(n: &Node) -> Option<Simple> {
        Some(match n {
            Node::Field(i) => Simple::Field(*i),
            Node::Lit(Lit::Num(b)) => Simple::Lit(*b),
            Node::Param(p) => Simple::Param(*p),
            _ => return None,
        })
    }

    #[inline(always)]
    fn eval(&self, cx: &Ctx) -> Option<Num> {
        match *self {
            Simple::Field(i) => num_field(cx, i),
            Simple::Lit(b) => Some(b),
            Simple::Param(p) => Some(cx.params[p as usize]),
        }
    }
}

/// Field `i` as a number.
#[inline(always)]
fn num_field(cx: &Ctx, i: u16) -> Option<Num> {
    match cx.cells[i as usize].value()? {
        Scalar::Num(a) => Some(*a),
        _ => None,
    }
}

/// `a op b`, as the tree computes it.
#[inline(always)]
fn arith(op: ArithOp, a: Num, b: Num) -> Option<Num> {
    match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => a.checked_div(b),
    }
}

impl Operand {
    /// `n` as an operand read in place (`None`: a calculation of its own).
    fn of(n: &Node) -> Option<Operand> {
        Some(match n {
            Node::Field(i) => Operand::Field(*i),
            Node::Lit(Lit::Num(b)) => Operand::Lit(*b),
            Node::Param(p) => Operand::Param(*p),
            Node::Cond(c, x, y) => match (leaf(c), Simple::of(x), Simple::of(y)) {
                (Cnd::Leaf(Leaf::Known(a)), Some(Simple::Field(x)), Some(y)) if a == x => Operand::Coalesce(a, y),
                (Cnd::Leaf(c), Some(x), Some(y)) => Operand::Pick(Box::new((c, x, y))),
                (Cnd::Leaf(c), ..) => Operand::Cond(Box::new((c, Calc::of(&[x])?, Calc::of(&[y])?))),
                _ => return None,
            },
            _ => return None,
        })
    }

    /// Whether it is read in place, without a test.
    fn plain(&self) -> bool {
        matches!(
            self,
            Operand::Field(_) | Operand::Lit(_) | Operand::Param(_) | Operand::Coalesce(..) | Operand::Shared
        )
    }

    /// Its value (`PLAIN`: in a calculation whose operands are all plain).
    #[inline(always)]
    fn eval<const PLAIN: bool>(&self, cx: &Ctx, shared: Num) -> Option<Num> {
        match self {
            Operand::Field(i) => num_field(cx, *i),
            Operand::Shared => Some(shared),
            Operand::Lit(b) => Some(*b),
            Operand::Param(p) => Some(cx.params[*p as usize]),
            // As `known(a) ? a : b`: a value of `a` that is no number is unknown, as the tree has it.
            Operand::Coalesce(a, b) => match cx.cells[*a as usize].value() {
                Some(Scalar::Num(n)) => Some(*n),
                Some(_) => None,
                None => b.eval(cx),
            },
            Operand::Pick(_) | Operand::Cond(_) if PLAIN => None,
            Operand::Pick(c) => match c.0.eval(cx)? {
                true => c.1.eval(cx),
                false => c.2.eval(cx),
            },
            Operand::Cond(c) => match c.0.eval(cx)? {
                true => Some(c.1.eval(cx, shared)?[1]),
                false => Some(c.2.eval(cx, shared)?[1]),
            },
        }
    }
}

impl Op {
    /// `top op x`, by the operation of its own for a field or a literal.
    fn apply(op: ArithOp, x: Operand) -> Op {
        match (op, x) {
            (ArithOp::Add, Operand::Field(i)) => Op::AddField(i),
            (ArithOp::Sub, Operand::Field(i)) => Op::SubField(i),
            (ArithOp::Mul, Operand::Field(i)) => Op::MulField(i),
            (ArithOp::Div, Operand::Field(i)) => Op::DivField(i),
            (ArithOp::Add, Operand::Lit(b)) => Op::AddLit(b),
            (ArithOp::Sub, Operand::Lit(b)) => Op::SubLit(b),
            (ArithOp::Mul, Operand::Lit(b)) => Op::MulLit(b),
            (ArithOp::Div, Operand::Lit(b)) => Op::DivLit(b),
            (op, x) => Op::Apply(op, x),
        }
    }
}

impl Calc {
    /// The values of `ns`, left on the stack in order (`None`: a shape it does not compute, or
    /// a stack too deep).
    fn of(ns: &[&Node]) -> Option<Calc> {
        Calc::sharing(ns, None)
    }

    /// As [`Calc::of`], `shared` (where it is met as an operand, not inside a `c ? x : y`) read
    /// as [`Operand::Shared`], not computed.
    fn sharing(ns: &[&Node], shared: Option<&Node>) -> Option<Calc> {
        let mut ops = Vec::new();
        let mut depth = 0;
        for n in ns {
            Calc::emit(n, &mut ops, &mut depth, shared)?;
        }
        Some(Calc::new(ops))
    }

    /// Whether it reads [`Operand::Shared`].
    fn reads_shared(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Push(Operand::Shared) | Op::Apply(_, Operand::Shared)))
    }

    fn new(ops: Vec<Op>) -> Calc {
        let plain = ops.iter().all(|op| match op {
            Op::Push(x) | Op::Apply(_, x) => x.plain(),
            _ => true,
        });
        Calc { ops: ops.into(), plain }
    }

    fn emit(n: &Node, ops: &mut Vec<Op>, depth: &mut usize, shared: Option<&Node>) -> Option<()> {
        // The shared calculation is an operand, read as a field is.
        let operand = |n: &Node| if shared == Some(n) { Some(Operand::Shared) } else { Operand::of(n) };
        let (Node::Arith(op, x, y), false) = (n, shared == Some(n)) else {
            ops.push(Op::Push(operand(n)?));
            *depth += 1;
            return (*depth <= CALC_DEPTH).then_some(());
        };
        let whole = |n: &Node| match n {
            Node::Lit(Lit::Num(b)) if b.0 % SCALE == 0 => Some(b.0 / SCALE),
            _ => None,
        };
        match (op, whole(x), whole(y)) {
            (ArithOp::Mul, _, Some(k)) => {
                Calc::emit(x, ops, depth, shared)?;
                ops.push(Op::MulInt(k));
            }
            (ArithOp::Mul, Some(k), None) => {
                Calc::emit(y, ops, depth, shared)?;
                ops.push(Op::MulInt(k));
            }
            _ => {
                Calc::emit(x, ops, depth, shared)?;
                match operand(y) {
                    Some(y) => ops.push(Op::apply(*op, y)),
                    None => {
                        Calc::emit(y, ops, depth, shared)?;
                        ops.push(Op::Combine(*op));
                        *depth -= 1;
                    }
                }
            }
        }
        Some(())
    }

    /// The two values on top of the stack at the end, the top last (a calculation of one value:
    /// it last); unknown as soon as one operation is. The top is kept out of the array (in a
    /// register), the values under it in `below` (the first slot holds no value).
    #[inline]
    fn eval(&self, cx: &Ctx, shared: Num) -> Option<[Num; 2]> {
        if self.plain {
            self.eval_as::<true>(cx, shared)
        } else {
            self.eval_as::<false>(cx, shared)
        }
    }

    #[inline(never)]
    fn eval_as<const PLAIN: bool>(&self, cx: &Ctx, shared: Num) -> Option<[Num; 2]> {
        let mut below = [Num(0); CALC_DEPTH + 1];
        let (mut depth, mut top) = (0usize, Num(0));
        for op in self.ops.iter() {
            top = match op {
                Op::Push(x) => {
                    let v = x.eval::<PLAIN>(cx, shared)?;
                    *below.get_mut(depth)? = top;
                    depth += 1;
                    v
                }
                Op::Apply(op, x) => arith(*op, top, x.eval::<PLAIN>(cx, shared)?)?,
                Op::AddField(i) => top.checked_add(num_field(cx, *i)?)?,
                Op::SubField(i) => top.checked_sub(num_field(cx, *i)?)?,
                Op::MulField(i) => top.checked_mul(num_field(cx, *i)?)?,
                Op::DivField(i) => top.checked_div(num_field(cx, *i)?)?,
                Op::AddLit(b) => top.checked_add(*b)?,
                Op::SubLit(b) => top.checked_sub(*b)?,
                Op::MulLit(b) => top.checked_mul(*b)?,
                Op::DivLit(b) => top.checked_div(*b)?,
                Op::Combine(op) => {
                    depth = depth.checked_sub(1)?;
                    arith(*op, *below.get(depth)?, top)?
                }
                Op::MulInt(k) => Num(top.0.checked_mul(*k)?),
            };
        }
        Some([*below.get(depth.checked_sub(1)?)?, top])
    }
}

/// `x op y` as a test of arithmetic, when one side is arithmetic (so a number or unknown, which
/// the other side must then be too to compare) and both are shapes [`Calc`] computes.
fn arith_test(op: CmpOp, x: &Node, y: &Node) -> Option<Leaf> {
    if !matches!(x, Node::Arith(..)) && !matches!(y, Node::Arith(..)) {
        return None;
    }
    Some(Leaf::Arith(Box::new((Calc::of(&[x, y])?, ords(op)))))
}

/// Comparisons of arithmetic under one `&&` or `||` that compute the same part
/// (`a - x / m > 1 || x / m - a > 1`, `x` a sum): that part computed once (`calc`), the
/// comparisons reading it as an operand ([`Operand::Shared`]) instead of each computing it.
/// Kleene's `&&` (`k` = all of them) or `||` (`k` = 1), counted as [`Crits`] counts: the order
/// in which they are read does not change the result. A comparison reads the part where the
/// tree computes it (an operand of its arithmetic, never inside a `c ? x : y`), so that when the
/// part is unknown, so is each comparison.
#[derive(Clone)]
pub(crate) struct Shared {
    calc: Calc,
    k: u32,
    tests: Vec<(Calc, u8)>,
}

/// The arithmetic under `n` that a [`Calc`] of it computes as a step of its own: `n` when it is
/// arithmetic, and the arithmetic operands of that, not what is inside a `c ? x : y`.
fn arith_parts<'n>(n: &'n Node, out: &mut Vec<&'n Node>) {
    if let Node::Arith(_, x, y) = n {
        out.push(n);
        arith_parts(x, out);
        arith_parts(y, out);
    }
}

impl Shared {
    /// The comparisons among `nodes` (an `&&`'s operands when `and`, else an `||`'s) that share
    /// the largest part of arithmetic two or more of them compute, as one test; with the indices
    /// of the nodes it stands for. `None` when no two share one.
    pub(crate) fn of(and: bool, nodes: &[&Node]) -> Option<(Leaf, Vec<usize>)> {
        let parts: Vec<Vec<&Node>> = (nodes.iter())
            .map(|n| {
                let mut list = Vec::new();
                if let Node::Cmp(_, x, y) = n {
                    arith_parts(x, &mut list);
                    arith_parts(y, &mut list);
                }
                list
            })
            .collect();
        let size = |x: &Node| {
            let mut size = 0;
            expr::walk(x, &mut |_| size += 1);
            size
        };
        let mut best: Option<(&Node, usize)> = None;
        for (i, list) in parts.iter().enumerate() {
            for &x in list {
                let again = parts[i + 1..].iter().any(|l| l.contains(&x));
                if again && best.is_none_or(|(_, s)| size(x) > s) {
                    best = Some((x, size(x)));
                }
            }
        }
        let (part, _) = best?;
        let (mut tests, mut of) = (Vec::new(), Vec::new());
        for (i, n) in nodes.iter().enumerate() {
            let Node::Cmp(op, x, y) = n else { continue };
            let Some(calc) = Calc::sharing(&[x, y], Some(part)) else { continue };
            if calc.reads_shared() {
                tests.push((calc, ords(*op)));
                of.push(i);
            }
        }
        if tests.len() < 2 {
            return None;
        }
        let calc = Calc::of(&[part])?;
        let k = if and { tests.len() as u32 } else { 1 };
        Some((Leaf::Shared(Box::new(Shared { calc, k, tests })), of))
    }

    #[inline(never)]
    fn eval(&self, cx: &Ctx) -> Option<bool> {
        // Unknown: so is every comparison.
        let [_, part] = self.calc.eval(cx, Num(0))?;
        let (k, mut t, mut u) = (self.k, 0, 0);
        let mut rest = self.tests.len() as u32;
        for (calc, ords) in &self.tests {
            rest -= 1;
            match calc.eval(cx, part) {
                Some(v) if accepts(*ords, v[0].cmp(&v[1])) => {
                    t += 1;
                    if t >= k {
                        return Some(true);
                    }
                }
                // Fewer than `k` can be true now.
                Some(_) if t + u + rest < k => return Some(false),
                Some(_) => {}
                None => u += 1,
            }
        }
        if t + u < k {
            Some(false)
        } else {
            None
        }
    }
}

/// `at_least(k, …)` with `t0` operands constant true and `u0` constant unknown; the others
/// each one test (`tests`) or a program of several (`parts`).
#[derive(Clone)]
pub(crate) struct AtLeast {
    pub k: u32,
    pub t0: u32,
    pub u0: u32,
    pub tests: Vec<Leaf>,
    pub parts: Vec<Program>,
}

impl AtLeast {
    /// `at_least(k, …)` of the operands that vary.
    pub(crate) fn new(k: u32, t0: u32, u0: u32, operands: Vec<Cnd>) -> AtLeast {
        let (mut tests, mut parts) = (Vec::new(), Vec::new());
        for c in operands {
            match c {
                Cnd::Leaf(l) => tests.push(l),
                c => parts.push(Program::new(&c)),
            }
        }
        AtLeast { k, t0, u0, tests, parts }
    }

    fn eval(&self, cx: &Ctx) -> Option<bool> {
        let (mut t, mut u) = (self.t0, self.u0);
        // Two loops, not a chain of iterators (which checks which half it is in at each step).
        let mut count = |v: Option<bool>| match v {
            Some(true) => t += 1,
            None => u += 1,
            Some(false) => {}
        };
        for l in &self.tests {
            count(l.eval(cx));
        }
        for p in &self.parts {
            count(p.run_nested(cx));
        }
        if t >= self.k {
            Some(true)
        } else if t + u < self.k {
            Some(false)
        } else {
            None
        }
    }
}

/// The orderings `op` accepts, as bits: less 1, equal 2, greater 4.
pub(crate) fn ords(op: CmpOp) -> u8 {
    match op {
        CmpOp::Lt => 1,
        CmpOp::Le => 3,
        CmpOp::Gt => 4,
        CmpOp::Ge => 6,
        CmpOp::Eq => 2,
        CmpOp::Ne => 5,
    }
}

/// How two cells' values compare, as [`expr::order`] compares them (no value built for each).
#[inline(always)]
fn scalar_order(a: &Scalar, b: &Scalar) -> Option<std::cmp::Ordering> {
    Some(match (a, b) {
        (Scalar::Num(a), Scalar::Num(b)) => a.cmp(b),
        (Scalar::Month(a), Scalar::Month(b)) => a.cmp(b),
        (Scalar::Bool(a), Scalar::Bool(b)) => a.cmp(b),
        (Scalar::Enum(a), Scalar::Enum(b)) => a.cmp(b),
        (Scalar::Text(a), Scalar::Text(b)) => (**a).cmp(&**b),
        _ => return None,
    })
}

/// Whether ordering `o` is one of `ords`.
#[inline(always)]
fn accepts(ords: u8, o: std::cmp::Ordering) -> bool {
    ords >> (o as i8 + 1) & 1 == 1
}

/// `ords` with the operands swapped (`3 < x` is `x > 3`).
fn swapped(ords: u8) -> u8 {
    (ords & 2) | (ords & 1) << 2 | (ords & 4) >> 2
}

impl Leaf {
    #[inline(always)]
    pub(crate) fn eval(&self, cx: &Ctx) -> Option<bool> {
        const VALUES: [Option<bool>; 4] = [Some(false), Some(true), None, None];
        VALUES[self.outcome(cx) & 3]
    }

    /// Its value as the index of a step's next step: false 0, true 1, unknown 2. A test of a
    /// cell says which in each case, rather than as an `Option<bool>` turned into an index
    /// afterwards (a comparison and a select per step).
    #[inline(always)]
    fn outcome(&self, cx: &Ctx) -> usize {
        const U: usize = 2;
        let of = |v: Option<bool>| match v {
            Some(b) => b as usize,
            None => U,
        };
        match *self {
            Leaf::Crit(i) => of(cx.crits[i as usize]),
            Leaf::Bool(i) => match cx.cells[i as usize].value() {
                Some(Scalar::Bool(b)) => *b as usize,
                _ => U,
            },
            Leaf::Num { field, b, ords } => match cx.cells[field as usize].value() {
                Some(Scalar::Num(a)) => accepts(ords, a.cmp(&b)) as usize,
                _ => U,
            },
            Leaf::Enum { field, e, ords } => match cx.cells[field as usize].value() {
                Some(Scalar::Enum(a)) => accepts(ords, a.cmp(&e)) as usize,
                _ => U,
            },
            Leaf::EnumIn { field, mask } => match cx.cells[field as usize].value() {
                Some(Scalar::Enum(e)) => (*e < 64 && mask >> *e & 1 == 1) as usize,
                Some(_) => 0,
                None => U,
            },
            Leaf::Decision { decision, undecided, mask, wide } => {
                let v = cx.decisions[decision as usize];
                if v == undecided {
                    U
                } else {
                    (if v < 64 { mask >> v & 1 == 1 } else { wide }) as usize
                }
            }
            Leaf::Fields { i, j, ords } => match (cx.cells[i as usize].value(), cx.cells[j as usize].value()) {
                (Some(a), Some(b)) => match scalar_order(a, b) {
                    Some(o) => accepts(ords, o) as usize,
                    None => U,
                },
                _ => U,
            },
            Leaf::Blank(i) => match &cx.cells[i as usize] {
                Cell::Absent(_) => U,
                c => c.is_blank() as usize,
            },
            Leaf::Present(i) => cx.cells[i as usize].present() as usize,
            Leaf::Known(i) => cx.cells[i as usize].value().is_some() as usize,
            Leaf::Crits(ref c) => of(c.eval(cx)),
            Leaf::AtLeast(ref a) => of(a.eval(cx)),
            Leaf::Arith(ref t) => match t.0.eval(cx, Num(0)) {
                Some(v) => accepts(t.1, v[0].cmp(&v[1])) as usize,
                None => U,
            },
            Leaf::Shared(ref g) => of(g.eval(cx)),
            Leaf::Other(ref c) => of(c.eval(cx)),
        }
    }

    /// Whether it is the same test as `other` (false where that is not looked into: arithmetic,
    /// `at_least`, a test compiled by [`fast`]).
    fn same(&self, other: &Leaf) -> bool {
        use Leaf as L;
        match (self, other) {
            (L::Crit(a), L::Crit(b))
            | (L::Bool(a), L::Bool(b))
            | (L::Blank(a), L::Blank(b))
            | (L::Present(a), L::Present(b))
            | (L::Known(a), L::Known(b)) => a == b,
            (L::Num { field: f, b, ords: o }, L::Num { field: f2, b: b2, ords: o2 }) => (f, b, o) == (f2, b2, o2),
            (L::Enum { field: f, e, ords: o }, L::Enum { field: f2, e: e2, ords: o2 }) => (f, e, o) == (f2, e2, o2),
            (L::EnumIn { field: f, mask: m }, L::EnumIn { field: f2, mask: m2 }) => (f, m) == (f2, m2),
            (
                L::Decision { decision: d, undecided: u, mask: m, wide: w },
                L::Decision { decision: d2, undecided: u2, mask: m2, wide: w2 },
            ) => (d, u, m, w) == (d2, u2, m2, w2),
            (L::Fields { i, j, ords: o }, L::Fields { i: i2, j: j2, ords: o2 }) => (i, j, o) == (i2, j2, o2),
            _ => false,
        }
    }

    /// About how much a test costs, to evaluate cheap operands of `&&`/`||` first.
    fn cost(&self) -> u32 {
        match self {
            Leaf::Crit(_) | Leaf::Decision { .. } => 1,
            Leaf::AtLeast(a) => 2 * (a.tests.len() + a.parts.len()) as u32,
            Leaf::Crits(c) => (c.crits.len() + c.bools.len()) as u32,
            Leaf::Arith(_) | Leaf::Other(_) => 8,
            Leaf::Shared(g) => 8 * (1 + g.tests.len() as u32),
            _ => 2,
        }
    }
}

/// A bool node as a test, its shape recognised; otherwise compiled by [`fast`].
pub(crate) fn leaf(n: &Node) -> Cnd {
    let test = match n {
        Node::Lit(Lit::Bool(b)) => return Cnd::Const(Some(*b)),
        Node::Lit(_) => return Cnd::Const(None),
        Node::Crit(i) => Leaf::Crit(*i),
        Node::Field(i) => Leaf::Bool(*i),
        Node::Blank(i) => Leaf::Blank(*i),
        Node::Present(i) => Leaf::Present(*i),
        Node::Known(x) => match **x {
            Node::Field(i) => Leaf::Known(i),
            _ => Leaf::Other(Box::new(fast::Cond::new(n))),
        },
        Node::Cmp(op, x, y) => match (&**x, &**y) {
            (Node::Field(i), Node::Lit(Lit::Num(b))) => Leaf::Num { field: *i, b: *b, ords: ords(*op) },
            (Node::Lit(Lit::Num(b)), Node::Field(i)) => Leaf::Num { field: *i, b: *b, ords: swapped(ords(*op)) },
            (Node::Field(i), Node::Lit(Lit::Enum(e))) => Leaf::Enum { field: *i, e: *e, ords: ords(*op) },
            (Node::Lit(Lit::Enum(e)), Node::Field(i)) => Leaf::Enum { field: *i, e: *e, ords: swapped(ords(*op)) },
            (Node::Field(i), Node::Field(j)) => Leaf::Fields { i: *i, j: *j, ords: ords(*op) },
            (Node::Decision(d, u), Node::Lit(Lit::Enum(e))) | (Node::Lit(Lit::Enum(e)), Node::Decision(d, u))
                if matches!(op, CmpOp::Eq | CmpOp::Ne) && *e < 64 =>
            {
                let (bit, ne) = (1u64 << e, *op == CmpOp::Ne);
                Leaf::Decision { decision: *d, undecided: *u, mask: if ne { !bit } else { bit }, wide: ne }
            }
            _ => arith_test(*op, x, y).unwrap_or_else(|| Leaf::Other(Box::new(fast::Cond::new(n)))),
        },
        Node::In(x, list) => {
            let mask = list.iter().try_fold(0u64, |m, l| match l {
                Lit::Enum(e) if *e < 64 => Some(m | 1 << e),
                _ => None,
            });
            match (&**x, mask) {
                (Node::Field(i), Some(mask)) => Leaf::EnumIn { field: *i, mask },
                (Node::Decision(d, u), Some(mask)) => Leaf::Decision { decision: *d, undecided: *u, mask, wide: false },
                _ => Leaf::Other(Box::new(fast::Cond::new(n))),
            }
        }
        _ => Leaf::Other(Box::new(fast::Cond::new(n))),
    };
    Cnd::Leaf(test)
}

impl Cnd {
    /// A bool node as it is, nothing folded.
    pub(crate) fn of(n: &Node) -> Cnd {
        let one = |x: &Node| Box::new(Cnd::of(x));
        match n {
            Node::Not(x) => Cnd::Not(one(x)),
            Node::IsTrue(x) => Cnd::IsTrue(one(x)),
            Node::IsFalse(x) => Cnd::IsFalse(one(x)),
            Node::And(xs) => Cnd::And(xs.iter().map(Cnd::of).collect()),
            Node::Or(xs) => Cnd::Or(xs.iter().map(Cnd::of).collect()),
            Node::Cond(c, x, y) => Cnd::Cond(one(c), one(x), one(y)),
            Node::AtLeast(k, xs) => {
                Cnd::Leaf(Leaf::AtLeast(Box::new(AtLeast::new(*k, 0, 0, xs.iter().map(Cnd::of).collect()))))
            }
            _ => leaf(n),
        }
    }

    /// The same condition with the criteria of each `&&`, `||` and `at_least` read by one test
    /// ([`Leaf::Crits`]) when there are two or more: one step where there were one per
    /// criterion (and, for `&&`/`||`, a second copy of them after an unknown).
    pub(crate) fn fused(&self) -> Cnd {
        let one = |x: &Cnd| Box::new(x.fused());
        match self {
            Cnd::Const(_) => self.clone(),
            Cnd::Leaf(Leaf::AtLeast(a))
                if a.parts.is_empty() && a.tests.len() >= 2 && a.tests.iter().all(Crits::counts) =>
            {
                let k = a.k.saturating_sub(a.t0);
                if k == 0 {
                    return Cnd::Const(Some(true));
                }
                Cnd::Leaf(Leaf::Crits(Box::new(Crits::new(k, a.u0, &a.tests))))
            }
            Cnd::Leaf(_) => self.clone(),
            Cnd::Not(x) => Cnd::Not(one(x)),
            Cnd::IsTrue(x) => Cnd::IsTrue(one(x)),
            Cnd::IsFalse(x) => Cnd::IsFalse(one(x)),
            Cnd::Cond(c, x, y) => Cnd::Cond(one(c), one(x), one(y)),
            Cnd::And(xs) | Cnd::Or(xs) => {
                let and = matches!(self, Cnd::And(_));
                let (mut list, mut rest) = (Vec::new(), Vec::new());
                for x in xs {
                    match x.fused() {
                        Cnd::Leaf(l) if Crits::counts(&l) => list.push(l),
                        c => rest.push(c),
                    }
                }
                match list.len() {
                    0 => {}
                    1 => rest.insert(0, Cnd::Leaf(list.pop().expect("one"))),
                    n => {
                        let k = if and { n as u32 } else { 1 };
                        rest.insert(0, Cnd::Leaf(Leaf::Crits(Box::new(Crits::new(k, 0, &list)))));
                    }
                }
                match (rest.len(), and) {
                    (1, _) => rest.pop().expect("one"),
                    (_, true) => Cnd::And(rest),
                    (_, false) => Cnd::Or(rest),
                }
            }
        }
    }

    /// Whether it is the same condition as `other`, test for test (so of the same value for
    /// every household); false where a test is not compared ([`Leaf::same`]).
    pub(crate) fn same(&self, other: &Cnd) -> bool {
        let all = |a: &[Cnd], b: &[Cnd]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y));
        match (self, other) {
            (Cnd::Const(a), Cnd::Const(b)) => a == b,
            (Cnd::Leaf(a), Cnd::Leaf(b)) => a.same(b),
            (Cnd::Not(a), Cnd::Not(b)) | (Cnd::IsTrue(a), Cnd::IsTrue(b)) | (Cnd::IsFalse(a), Cnd::IsFalse(b)) => {
                a.same(b)
            }
            (Cnd::And(a), Cnd::And(b)) | (Cnd::Or(a), Cnd::Or(b)) => all(a, b),
            (Cnd::Cond(c, x, y), Cnd::Cond(c2, x2, y2)) => c.same(c2) && x.same(x2) && y.same(y2),
            _ => false,
        }
    }

    /// A criterion given by `met` and `unmet`: true when `met` is, else false when `unmet` is,
    /// else unknown (its steps: `unmet`'s after `met`'s when that is not true).
    pub(crate) fn met_unmet(met: &Cnd, unmet: &Cnd) -> Cnd {
        Cnd::Cond(
            Box::new(Cnd::IsTrue(Box::new(met.clone()))),
            Box::new(Cnd::Const(Some(true))),
            Box::new(Cnd::Cond(
                Box::new(Cnd::IsTrue(Box::new(unmet.clone()))),
                Box::new(Cnd::Const(Some(false))),
                Box::new(Cnd::Const(None)),
            )),
        )
    }

    /// About how much evaluating it costs.
    pub(crate) fn cost(&self) -> u32 {
        match self {
            Cnd::Const(_) => 0,
            Cnd::Leaf(l) => l.cost(),
            Cnd::Not(x) | Cnd::IsTrue(x) | Cnd::IsFalse(x) => x.cost(),
            Cnd::And(xs) | Cnd::Or(xs) => xs.iter().map(Cnd::cost).sum(),
            Cnd::Cond(c, x, y) => c.cost() + x.cost().max(y.cost()),
        }
    }

    /// The value, by the tree (what a program too large to unfold runs; and the tests' reference).
    fn eval(&self, cx: &Ctx) -> Option<bool> {
        match self {
            Cnd::Const(v) => *v,
            Cnd::Leaf(l) => l.eval(cx),
            Cnd::Not(x) => x.eval(cx).map(|v| !v),
            Cnd::IsTrue(x) => Some(x.eval(cx) == Some(true)),
            Cnd::IsFalse(x) => Some(x.eval(cx) == Some(false)),
            Cnd::And(xs) => {
                let mut acc = Some(true);
                for x in xs {
                    acc = expr::and3(acc, x.eval(cx));
                }
                acc
            }
            Cnd::Or(xs) => {
                let mut acc = Some(false);
                for x in xs {
                    acc = expr::or3(acc, x.eval(cx));
                }
                acc
            }
            Cnd::Cond(c, x, y) => match c.eval(cx)? {
                true => x.eval(cx),
                false => y.eval(cx),
            },
        }
    }
}

/// Where a step leads: another step, or at or above `END` the result (false, true, unknown: the
/// order in which `Option<bool>` numbers them, so that neither way needs a table).
type Target = u32;
const END: Target = 1 << 30;
const FALSE: Target = END;
const TRUE: Target = END + 1;
const UNKNOWN: Target = END + 2;
/// The most operands an `at_least` of single tests may have to be unfolded into steps (beyond
/// it, one test counts them: [`AtLeast::eval`]).
const AT_LEAST_UNFOLDED: usize = 8;
/// Steps a program may have: a condition nested so deep that unfolding its unknowns would pass
/// this is run as a tree instead.
const MAX_STEPS: usize = 1 << 12;

#[derive(Clone)]
struct Step {
    test: Leaf,
    /// Where to go when the test is false, true, unknown (and unknown again: indexed by a test's
    /// [`Leaf::outcome`] masked to two bits, with no bounds check; the step is 32 bytes anyway).
    next: [Target; 4],
}

impl Step {
    fn new(test: Leaf, [f, t, u]: [Target; 3]) -> Step {
        Step { test, next: [f, t, u, u] }
    }
}

/// A condition compiled (see the module documentation).
#[derive(Clone)]
pub(crate) struct Program {
    steps: Vec<Step>,
    start: Target,
    /// How many steps it may have (while it is built).
    limit: usize,
}

impl Program {
    /// The condition's three-valued result.
    pub(crate) fn new(c: &Cnd) -> Program {
        Program::within(c, MAX_STEPS)
    }

    /// As [`Program::new`], with at most `limit` steps.
    fn within(c: &Cnd, limit: usize) -> Program {
        let c = &c.fused();
        Program::build(|p| p.emit(c, TRUE, FALSE, UNKNOWN), c, limit)
    }

    /// Whether the condition is true: `Some(true)`, or `Some(false)` for false and unknown alike
    /// (a check, which fires only when its condition is true).
    #[cfg(test)]
    pub(crate) fn holds(c: &Cnd) -> Program {
        let c = &c.fused();
        Program::build(|p| p.emit(c, TRUE, FALSE, FALSE), &Cnd::IsTrue(Box::new(c.clone())), MAX_STEPS)
    }

    /// A criterion given by `met` and `unmet`: true when `met` is, else false when `unmet` is,
    /// else unknown.
    #[cfg(test)]
    pub(crate) fn met_unmet(met: &Cnd, unmet: &Cnd) -> Program {
        Program::new(&Cnd::met_unmet(met, unmet))
    }

    /// The steps `emit` writes, or, when there would be too many, `tree` as one test.
    fn build(emit: impl FnOnce(&mut Program) -> Option<Target>, tree: &Cnd, limit: usize) -> Program {
        let mut p = Program { steps: Vec::new(), start: UNKNOWN, limit };
        match emit(&mut p) {
            Some(start) => p.start = start,
            None => {
                let whole = tree.clone();
                let test = Leaf::Other(Box::new(fast::Cond::from_fn(move |cx| whole.eval(cx))));
                p = Program { steps: vec![Step::new(test, [FALSE, TRUE, UNKNOWN])], start: 0, limit }
            }
        }
        p.relocate();
        p
    }

    /// Where the steps lead at or above `END` moved to just past the last step (`END + k` to
    /// `len + k`), once they are written: the walk then stops where a step index is out of
    /// bounds, one comparison per step for both.
    fn relocate(&mut self) -> Target {
        let len = self.steps.len() as Target;
        let at = |t: Target| if t >= END { t - END + len } else { t };
        for s in &mut self.steps {
            s.next = s.next.map(at);
        }
        self.start = at(self.start);
        len
    }

    /// Steps for `c` that go on to `t`, `f` or `u` by its value; where it starts (`None`: more than
    /// the limit). Steps are written after those they lead to.
    fn emit(&mut self, c: &Cnd, t: Target, f: Target, u: Target) -> Option<Target> {
        if t == f && f == u {
            return Some(t);
        }
        Some(match c {
            Cnd::Const(Some(true)) => t,
            Cnd::Const(Some(false)) => f,
            Cnd::Const(None) => u,
            // `at_least` of single tests, few enough: unfolded into steps too.
            Cnd::Leaf(Leaf::AtLeast(a)) if a.parts.is_empty() && a.tests.len() <= AT_LEAST_UNFOLDED => {
                let need = a.k.saturating_sub(a.t0);
                let mut memo = std::collections::HashMap::new();
                self.at_least(&a.tests, 0, need, a.u0.min(need), [t, f, u], &mut memo)?
            }
            Cnd::Leaf(test) => {
                if self.steps.len() >= self.limit {
                    return None;
                }
                self.steps.push(Step::new(test.clone(), [f, t, u]));
                (self.steps.len() - 1) as Target
            }
            Cnd::Not(x) => self.emit(x, f, t, u)?,
            Cnd::IsTrue(x) => self.emit(x, t, f, f)?,
            Cnd::IsFalse(x) => self.emit(x, f, t, f)?,
            // From the last operand back: where the rest starts with no unknown so far (`next`),
            // and after an unknown (`after_unknown`, which leads to `u` instead of `t`).
            Cnd::And(xs) => {
                let (mut next, mut after_unknown) = (t, u);
                for (k, x) in xs.iter().enumerate().rev() {
                    let start = self.emit(x, next, f, after_unknown)?;
                    if k > 0 {
                        after_unknown = self.emit(x, after_unknown, f, after_unknown)?;
                    }
                    next = start;
                }
                next
            }
            Cnd::Or(xs) => {
                let (mut next, mut after_unknown) = (f, u);
                for (k, x) in xs.iter().enumerate().rev() {
                    let start = self.emit(x, t, next, after_unknown)?;
                    if k > 0 {
                        after_unknown = self.emit(x, t, after_unknown, after_unknown)?;
                    }
                    next = start;
                }
                next
            }
            Cnd::Cond(c, x, y) => {
                let x = self.emit(x, t, f, u)?;
                let y = self.emit(y, t, f, u)?;
                self.emit(c, x, y, u)?
            }
        })
    }

    /// Steps for `at_least` over `tests[i..]` when `need` more of them must be true and `unknown`
    /// earlier ones were unknown (at most `need`: more change nothing), going on to `ends` (true,
    /// false, unknown) by [`AtLeast::eval`]'s result; one step per state, shared through `memo`.
    fn at_least(
        &mut self,
        tests: &[Leaf],
        i: usize,
        need: u32,
        unknown: u32,
        ends: [Target; 3],
        memo: &mut std::collections::HashMap<(usize, u32, u32), Target>,
    ) -> Option<Target> {
        let [t, f, u] = ends;
        let rest = (tests.len() - i) as u32;
        if need == 0 {
            return Some(t);
        }
        // Not reachable even if every unknown and every test left were true.
        if rest + unknown < need {
            return Some(f);
        }
        if rest == 0 {
            return Some(u);
        }
        if let Some(&at) = memo.get(&(i, need, unknown)) {
            return Some(at);
        }
        let on_true = self.at_least(tests, i + 1, need - 1, unknown.min(need - 1), ends, memo)?;
        let on_false = self.at_least(tests, i + 1, need, unknown, ends, memo)?;
        let on_unknown = self.at_least(tests, i + 1, need, (unknown + 1).min(need), ends, memo)?;
        let at = self.emit(&Cnd::Leaf(tests[i].clone()), on_true, on_false, on_unknown)?;
        memo.insert((i, need, unknown), at);
        Some(at)
    }

    /// The condition's value for the household of `cx`. Inlined where it is called, so that
    /// what it reads of `cx` is loaded once for a loop over conditions, not once per condition.
    #[inline(always)]
    pub(crate) fn run(&self, cx: &Ctx) -> Option<bool> {
        let end = self.walk(self.start, cx);
        // By a table, not by branches.
        const RESULTS: [Option<bool>; 4] = [Some(false), Some(true), None, None];
        RESULTS[(end & 3) as usize]
    }

    /// The steps from `at` on, to where they lead past the last one: that end, less the number
    /// of steps (0 false, 1 true, 2 unknown, from `MARKS - END` on a chain's marks).
    #[inline(always)]
    fn walk(&self, mut at: Target, cx: &Ctx) -> Target {
        let steps = &self.steps[..];
        while let Some(step) = steps.get(at as usize) {
            // False 0, true 1, unknown 2: the way `Option<bool>` numbers them (no branch).
            at = step.next[step.test.outcome(cx) & 3];
        }
        at - steps.len() as Target
    }

    /// [`Program::run`] from within a step (not inlined into itself).
    #[inline(never)]
    fn run_nested(&self, cx: &Ctx) -> Option<bool> {
        self.run(cx)
    }

    /// How many steps it has.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.steps.len()
    }
}

/// What a [`Chain`] does once one of its conditions has a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Then {
    /// On to the next condition (after the last, the chain ends), saying nothing.
    Next,
    /// Say which condition had which value ([`Chain::run`]'s `on`), then on to the next.
    Tell,
    /// Say so, and end the chain.
    Stop,
}

/// Conditions run one after the other in one loop of steps (the criteria of a level, the rules
/// of a decision, the checks): a condition's value leads straight to the next one's first step,
/// or to a mark (above `END`) saying which condition had which value. A household goes through
/// the conditions without leaving the loop for each, and a check that is false costs only its
/// tests.
#[derive(Clone)]
pub(crate) struct Chain {
    program: Program,
    /// Per mark: the condition's number, its value, and where the chain goes on (`END`: it ends).
    marks: Vec<(u32, Option<bool>, Target)>,
}

/// Where the marks of a chain start (a mark is at `MARKS + its index`).
const MARKS: Target = END + 4;

impl Chain {
    /// `items`, in order, each with the number [`Chain::run`] tells it by and what follows its
    /// value (false, true, unknown).
    pub(crate) fn new(items: &[(u32, Cnd, [Then; 3])]) -> Chain {
        let mut p = Program { steps: Vec::new(), start: END, limit: 0 };
        let mut marks = Vec::new();
        let mut next = END;
        // From the last: a condition's steps are written after those they lead to.
        for (id, c, then) in items.iter().rev() {
            let c = &c.fused();
            let mut to = [next; 3];
            for ((to, then), value) in to.iter_mut().zip(then).zip([Some(false), Some(true), None]) {
                if *then != Then::Next {
                    marks.push((*id, value, if *then == Then::Tell { next } else { END }));
                    *to = MARKS + (marks.len() - 1) as Target;
                }
            }
            let before = p.steps.len();
            p.limit = before + MAX_STEPS;
            next = match p.emit(c, to[1], to[0], to[2]) {
                Some(start) => start,
                // Too many steps for this one (as in `Program::build`): one test, by the tree.
                None => {
                    p.steps.truncate(before);
                    let whole = c.clone();
                    let test = Leaf::Other(Box::new(fast::Cond::from_fn(move |cx| whole.eval(cx))));
                    p.steps.push(Step::new(test, to));
                    (p.steps.len() - 1) as Target
                }
            };
        }
        p.start = next;
        let len = p.relocate();
        for m in &mut marks {
            if m.2 >= END {
                m.2 = m.2 - END + len;
            }
        }
        Chain { program: p, marks }
    }

    /// Runs the conditions for the household of `cx`, telling `on` of each mark reached (the
    /// condition's number, its value).
    #[inline(always)]
    pub(crate) fn run(&self, cx: &Ctx, mut on: impl FnMut(usize, Option<bool>)) {
        let mut at = self.program.start;
        loop {
            let end = self.program.walk(at, cx);
            let Some(&(i, v, next)) = self.marks.get(end.wrapping_sub(MARKS - END) as usize) else { return };
            on(i as usize, v);
            at = next;
        }
    }
}

/// Conditions of which only the true ones matter, run for each household in one [`Chain`]
/// (`adjust`'s lists: a list's condition true puts a household on it; false and unknown do not).
/// The nodes are taken as they are, nothing folded: they read their own slots, not a household's
/// fields, so the run's constant fields say nothing of them.
#[derive(Clone)]
pub struct Conditions {
    chain: Chain,
}

impl Conditions {
    pub fn new(nodes: &[&Node]) -> Conditions {
        let tell_true = [Then::Next, Then::Tell, Then::Next];
        let items: Vec<(u32, Cnd, [Then; 3])> =
            nodes.iter().enumerate().map(|(k, n)| (k as u32, Cnd::of(n), tell_true)).collect();
        Conditions { chain: Chain::new(&items) }
    }

    /// Calls `on` with the index of each condition true for the household of `cx`, in order.
    #[inline]
    pub fn each_true(&self, cx: &Ctx, mut on: impl FnMut(usize)) {
        self.chain.run(cx, |k, _| on(k));
    }
}

/// Operands of `&&`/`||`, the cheaper first (the result does not depend on their order).
pub(crate) fn cheap_first(mut xs: Vec<Cnd>) -> Vec<Cnd> {
    xs.sort_by_key(Cnd::cost);
    xs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::household::{Cell, Missing};
    use crate::ruleset::file::FieldType;
    use crate::ruleset::{load, Test};
    use crate::value::{Date, SCALE};

    /// Every condition of every built-in rule set, compiled to a program (three-valued, and as a
    /// check's), gives what the tree evaluator gives, over households of random cells of every
    /// kind around the parameters, with criteria and earlier decisions drawn too.
    #[test]
    fn programs_agree_with_the_tree() {
        let mut rng = crate::test_rng::Lcg(41);
        let mut next = |n: usize| rng.below(n);
        let mut steps = 0;
        for (name, _, _) in crate::ruleset::EMBEDDED {
            let rules = load(name).unwrap();
            let Ok(b) = rules.at(Date::new(2024, 12, 31).unwrap()) else { continue };
            let mut nodes: Vec<&Node> = Vec::new();
            for c in &rules.criteria {
                match &c.test {
                    Test::Condition(n) => nodes.push(n),
                    Test::MetUnmet(m, u) => nodes.extend([m, u]),
                }
            }
            nodes.extend(rules.decisions.iter().flat_map(|d| d.rules.iter().map(|r| &r.0)));
            nodes.extend(rules.checks.iter().map(|c| &c.when));
            nodes.extend(rules.returned.iter().map(|f| &f.when));
            let programs: Vec<(Program, Program)> =
                (nodes.iter()).map(|n| (Program::new(&Cnd::of(n)), Program::holds(&Cnd::of(n)))).collect();
            steps += programs.iter().map(|p| p.0.len()).sum::<usize>();
            let pairs: Vec<(&Node, &Node)> = (rules.criteria.iter())
                .filter_map(|c| match &c.test {
                    Test::MetUnmet(m, u) => Some((m, u)),
                    Test::Condition(_) => None,
                })
                .collect();
            let paired: Vec<Program> =
                pairs.iter().map(|(m, u)| Program::met_unmet(&Cnd::of(m), &Cnd::of(u))).collect();
            let mut numbers: Vec<i64> = vec![0, 1, -1, 2, 6, 100, 2020, 2021, 7_000_000];
            numbers.extend(b.params.iter().flat_map(|p| [p.0, p.0 - 1, p.0 + 1, p.0 / SCALE * 7 / 10 * SCALE]));
            for _ in 0..2000 {
                let cells = draw_cells(&rules, &b, &numbers, &mut next);
                let crits: Vec<Option<bool>> =
                    rules.criteria.iter().map(|_| [Some(true), Some(false), None][next(3)]).collect();
                let decisions: Vec<u16> =
                    rules.decisions.iter().map(|d| next(d.labels.len() + 1).min(d.labels.len() - 1) as u16).collect();
                let cx = Ctx::facts(&cells, &b.params, &crits, &decisions, b.as_of);
                for (n, (p, holds)) in nodes.iter().zip(&programs) {
                    let want = expr::eval_bool(n, &cx);
                    assert_eq!(p.run(&cx), want, "{name}: {n:?}");
                    assert_eq!(holds.run(&cx), Some(want == Some(true)), "{name}: {n:?}");
                }
                for ((m, u), p) in pairs.iter().zip(&paired) {
                    let want = match (expr::eval_bool(m, &cx), expr::eval_bool(u, &cx)) {
                        (Some(true), _) => Some(true),
                        (_, Some(true)) => Some(false),
                        _ => None,
                    };
                    assert_eq!(p.run(&cx), want, "{name}: {m:?} / {u:?}");
                }
            }
        }
        assert!(steps > 100, "{steps} steps");
    }

    /// A household's cells of every kind, numbers drawn from `numbers`.
    /// Numbers at the edges: zero, one, the scale, overflow's edges, and each parameter of the
    /// period with its neighbours.
    fn edge_numbers(b: &crate::ruleset::Bound) -> Vec<i64> {
        let mut numbers: Vec<i64> = vec![0, 1, -1, SCALE, 2 * SCALE, -3 * SCALE, 7_000_000, i64::MAX, i64::MIN];
        numbers.extend([i64::MAX / 2, i64::MAX / 10 + 1, i64::MIN / 11, i64::MAX / SCALE, 4_000 * SCALE]);
        numbers.extend(b.params.iter().flat_map(|p| [p.0, p.0 - 1, p.0 + 1]));
        numbers
    }

    fn draw_cells(
        rules: &crate::ruleset::RuleSet,
        b: &crate::ruleset::Bound,
        numbers: &[i64],
        next: &mut dyn FnMut(usize) -> usize,
    ) -> Vec<Cell> {
        (rules.fields.iter().enumerate())
            .map(|(i, f)| {
                let v = match f.ty {
                    FieldType::Bool => Scalar::Bool(next(2) == 0),
                    FieldType::Int | FieldType::Money => Scalar::Num(Num(numbers[next(numbers.len())])),
                    FieldType::Enum => Scalar::Enum(next(rules.enums[f.enum_id.unwrap() as usize].values.len()) as u16),
                    FieldType::Month => Scalar::Month(b.as_of.month_index() - next(30) as i32 + 3),
                    FieldType::Text | FieldType::Id => Scalar::Text(["", "因病", "a", "无"][next(4)].into()),
                };
                match next(10) {
                    0 => Cell::Blank,
                    1 => Cell::Invalid("x".into()),
                    2 => Cell::BlankAs(v),
                    3 => Cell::Derived(v),
                    4 => Cell::Absent(Missing::Field(i as u16)),
                    _ => Cell::Value(v),
                }
            })
            .collect()
    }

    /// Three-valued `&&`/`||`/`!`/`?:` over tests of every outcome, nested, unfolded into steps or
    /// (past the limit) run as a tree: the same value as Kleene's tables.
    #[test]
    fn unfolded_logic_is_kleenes() {
        let mut rng = crate::test_rng::Lcg(7);
        let mut next = |n: usize| rng.below(n);
        fn gen(next: &mut dyn FnMut(usize) -> usize, depth: u32) -> Cnd {
            if depth == 0 || next(4) == 0 {
                return match next(5) {
                    0 => Cnd::Const([Some(true), Some(false), None][next(3)]),
                    _ => Cnd::Leaf(Leaf::Crit(next(6) as u16)),
                };
            }
            let some = |next: &mut dyn FnMut(usize) -> usize| (0..1 + next(4)).map(|_| gen(next, depth - 1)).collect();
            match next(6) {
                0 => Cnd::Not(Box::new(gen(next, depth - 1))),
                1 => Cnd::IsTrue(Box::new(gen(next, depth - 1))),
                2 => Cnd::Cond(
                    Box::new(gen(next, depth - 1)),
                    Box::new(gen(next, depth - 1)),
                    Box::new(gen(next, depth - 1)),
                ),
                3 => Cnd::And(some(next)),
                4 => Cnd::Or(some(next)),
                _ => Cnd::IsFalse(Box::new(gen(next, depth - 1))),
            }
        }
        let (mut trees, mut unfolded) = (0, 0);
        for _ in 0..3000 {
            let depth = 1 + next(9) as u32;
            let c = gen(&mut next, depth);
            let (p, holds) = (Program::new(&c), Program::holds(&c));
            if matches!(p.steps.first(), Some(Step { test: Leaf::Other(_), .. })) {
                trees += 1;
            } else {
                unfolded += 1;
            }
            for _ in 0..8 {
                let crits: Vec<Option<bool>> = (0..6).map(|_| [Some(true), Some(false), None][next(3)]).collect();
                let cx = Ctx { crits: &crits, ..cx_without_cells() };
                assert_eq!(p.run(&cx), c.eval(&cx));
                assert_eq!(holds.run(&cx), Some(c.eval(&cx) == Some(true)));
            }
        }
        assert!(unfolded > 2500, "{trees} run as trees, {unfolded} unfolded");
        // More steps than allowed: run as a tree, with the same results.
        let mut deep = Cnd::Leaf(Leaf::Crit(0));
        for k in 0..6 {
            let other = Cnd::Leaf(Leaf::Crit(1 + k % 5));
            deep = if k % 2 == 0 { Cnd::And(vec![other, deep]) } else { Cnd::Or(vec![other, deep]) };
        }
        assert!(Program::new(&deep).len() > 4);
        let p = Program::within(&deep, 4);
        assert!(matches!(p.steps[..], [Step { test: Leaf::Other(_), .. }]));
        for _ in 0..200 {
            let crits: Vec<Option<bool>> = (0..6).map(|_| [Some(true), Some(false), None][next(3)]).collect();
            let cx = Ctx { crits: &crits, ..cx_without_cells() };
            assert_eq!(p.run(&cx), deep.eval(&cx));
        }
    }

    /// Conditions chained give what running them one by one gives: the values asked for told in
    /// order, up to the first that stops the chain; `at_least` of tests unfolded into steps
    /// counts as [`AtLeast::eval`] does.
    #[test]
    fn chains_run_their_conditions_in_order() {
        let mut rng = crate::test_rng::Lcg(23);
        let mut next = |n: usize| rng.below(n);
        fn gen(next: &mut dyn FnMut(usize) -> usize, depth: u32) -> Cnd {
            if depth == 0 || next(3) == 0 {
                return match next(6) {
                    0 => Cnd::Const([Some(true), Some(false), None][next(3)]),
                    1 => {
                        let (k, t0, u0) = (next(4) as u32, next(2) as u32, next(2) as u32);
                        let operands = (0..next(5)).map(|_| Cnd::Leaf(Leaf::Crit(next(6) as u16))).collect();
                        Cnd::Leaf(Leaf::AtLeast(Box::new(AtLeast::new(k, t0, u0, operands))))
                    }
                    _ => Cnd::Leaf(Leaf::Crit(next(6) as u16)),
                };
            }
            let some = |next: &mut dyn FnMut(usize) -> usize| (0..1 + next(3)).map(|_| gen(next, depth - 1)).collect();
            match next(3) {
                0 => Cnd::Not(Box::new(gen(next, depth - 1))),
                1 => Cnd::And(some(next)),
                _ => Cnd::Or(some(next)),
            }
        }
        let mut told = 0;
        for _ in 0..1000 {
            let items: Vec<(u32, Cnd, [Then; 3])> = (0..1 + next(6))
                .map(|i| {
                    let then = [(); 3].map(|_| [Then::Next, Then::Tell, Then::Stop][next(3)]);
                    (i as u32 * 7, gen(&mut next, 3), then)
                })
                .collect();
            let chain = Chain::new(&items);
            for _ in 0..8 {
                let crits: Vec<Option<bool>> = (0..6).map(|_| [Some(true), Some(false), None][next(3)]).collect();
                let cx = Ctx { crits: &crits, ..cx_without_cells() };
                let mut got = Vec::new();
                chain.run(&cx, |id, v| got.push((id, v)));
                let mut want = Vec::new();
                for (id, c, then) in &items {
                    let v = c.eval(&cx);
                    let then = then[match v {
                        Some(b) => b as usize,
                        None => 2,
                    }];
                    if then != Then::Next {
                        want.push((*id as usize, v));
                    }
                    if then == Then::Stop {
                        break;
                    }
                }
                told += want.len();
                assert_eq!(got, want);
            }
        }
        assert!(told > 1000, "{told}");
    }

    /// `&&`, `||` and `at_least` of criteria and yes/no fields read by one counting test
    /// ([`Cnd::fused`]): the value of the condition as written, for every outcome of the criteria
    /// and every kind of cell, with constant and nested operands; and most such conditions fuse.
    #[test]
    fn fused_criteria_count_as_kleene() {
        let mut rng = crate::test_rng::Lcg(29);
        let mut next = |n: usize| rng.below(n);
        fn gen(next: &mut dyn FnMut(usize) -> usize, depth: u32) -> Cnd {
            if depth == 0 || next(3) == 0 {
                return match next(8) {
                    0 => Cnd::Const([Some(true), Some(false), None][next(3)]),
                    1 => {
                        let (k, t0, u0) = (next(5) as u32, next(2) as u32, next(2) as u32);
                        let operands = (0..next(6)).map(|_| test(next)).collect();
                        Cnd::Leaf(Leaf::AtLeast(Box::new(AtLeast::new(k, t0, u0, operands))))
                    }
                    _ => test(next),
                };
            }
            fn test(next: &mut dyn FnMut(usize) -> usize) -> Cnd {
                Cnd::Leaf(match next(4) {
                    0 => Leaf::Bool(next(4) as u16),
                    1 => Leaf::Known(next(4) as u16),
                    _ => Leaf::Crit(next(8) as u16),
                })
            }
            let some = |next: &mut dyn FnMut(usize) -> usize| (0..1 + next(5)).map(|_| gen(next, depth - 1)).collect();
            match next(4) {
                0 => Cnd::Not(Box::new(gen(next, depth - 1))),
                1 => Cnd::And(some(next)),
                _ => Cnd::Or(some(next)),
            }
        }
        fn counts(c: &Cnd) -> usize {
            match c {
                Cnd::Leaf(Leaf::Crits(_)) => 1,
                Cnd::Const(_) | Cnd::Leaf(_) => 0,
                Cnd::Not(x) | Cnd::IsTrue(x) | Cnd::IsFalse(x) => counts(x),
                Cnd::And(xs) | Cnd::Or(xs) => xs.iter().map(counts).sum(),
                Cnd::Cond(c, x, y) => counts(c) + counts(x) + counts(y),
            }
        }
        let mut fused = 0;
        for _ in 0..3000 {
            let depth = 1 + next(4) as u32;
            let c = gen(&mut next, depth);
            let f = c.fused();
            fused += counts(&f).min(1);
            let (p, holds) = (Program::new(&c), Program::holds(&c));
            for _ in 0..16 {
                let crits: Vec<Option<bool>> = (0..8).map(|_| [Some(true), Some(false), None][next(3)]).collect();
                let cells: Vec<Cell> = (0..4)
                    .map(|i| match next(6) {
                        0 => Cell::Blank,
                        1 => Cell::Value(Scalar::Num(Num(7))),
                        2 => Cell::Absent(crate::household::Missing::Field(i)),
                        3 => Cell::BlankAs(Scalar::Bool(true)),
                        _ => Cell::Value(Scalar::Bool(next(2) == 0)),
                    })
                    .collect();
                let cx = Ctx { crits: &crits, cells: &cells, ..cx_without_cells() };
                let want = c.eval(&cx);
                assert_eq!(f.eval(&cx), want);
                assert_eq!(p.run(&cx), want);
                assert_eq!(holds.run(&cx), Some(want == Some(true)));
            }
        }
        assert!(fused > 1000, "{fused}");
    }

    fn cx_without_cells() -> Ctx<'static> {
        Ctx {
            cells: &[],
            params: &[],
            crits: &[],
            decisions: &[],
            as_of_month: 0,
            as_of_day: 0,
            members: None,
            member: &[],
            member_index: 0,
            records: &crate::household::NO_RECORDS,
            record: &[],
        }
    }

    /// Comparisons of arithmetic, compiled to tests of [`Calc`], give what the tree gives, over
    /// cells of every kind (blanks, invalid cells, other types, numbers at the edges of overflow).
    #[test]
    fn arithmetic_tests_agree_with_the_tree() {
        let rules = load("national").unwrap();
        let b = rules.at(Date::new(2024, 12, 31).unwrap()).unwrap();
        let sources = [
            "per_capita_income * 10 <= poverty_line * 11",
            "income_wage + income_business - expense_production > per_capita_income * 2",
            "(income_wage + income_business) / members < monitoring_line",
            "expense_medical > members * (known(prev_per_capita_income) ? prev_per_capita_income : per_capita_income)",
            "3 * income_wage >= income_business / 2",
            "income_wage * 0.5 < 100",
            "(household_type == '脱贫户' ? income_wage : per_capita_income) * 2 != income_business",
            "per_capita_income - (expense_medical + expense_education) / members == 0",
        ];
        let nodes: Vec<Node> =
            sources.iter().map(|s| rules.compile_expr(s, crate::ruleset::expr::Ty::Bool).unwrap()).collect();
        for (s, n) in sources.iter().zip(&nodes) {
            assert!(matches!(leaf(n), Cnd::Leaf(Leaf::Arith(_))), "{s}");
        }
        // `known(a) ? a : b` read in place: the calculation stays plain.
        assert!(matches!(leaf(&nodes[3]), Cnd::Leaf(Leaf::Arith(t)) if t.0.plain));
        let programs: Vec<Program> = nodes.iter().map(|n| Program::new(&Cnd::of(n))).collect();
        let numbers = edge_numbers(&b);
        let mut rng = crate::test_rng::Lcg(5);
        let mut next = |n: usize| rng.below(n);
        let (crits, decisions) = (vec![None; rules.criteria.len()], vec![0u16; rules.decisions.len()]);
        let mut known = 0;
        for _ in 0..20_000 {
            let cells = draw_cells(&rules, &b, &numbers, &mut next);
            let cx =
                Ctx { cells: &cells, params: &b.params, crits: &crits, decisions: &decisions, ..cx_without_cells() };
            for (n, p) in nodes.iter().zip(&programs) {
                let want = expr::eval_bool(n, &cx);
                known += want.is_some() as u32;
                assert_eq!(p.run(&cx), want, "{n:?}");
            }
        }
        assert!(known > 10_000, "{known}");
    }

    /// Comparisons under one `&&`/`||` that compute the same part, as one [`Shared`] test, give
    /// the tree's `&&`/`||` of them over cells of every kind (an unknown part, a division by
    /// zero, overflow); a part met only inside a `c ? x : y` is not shared.
    #[test]
    fn shared_parts_agree_with_the_tree() {
        let rules = load("national").unwrap();
        let b = rules.at(Date::new(2024, 12, 31).unwrap()).unwrap();
        let x = "(income_wage + income_business - expense_production) / members";
        let sources = [
            format!("per_capita_income - {x} > 1 || {x} - per_capita_income > 1"),
            format!("per_capita_income - {x} > 1 && {x} - per_capita_income < 1000"),
            format!("{x} * 2 > income_wage || per_capita_income < {x} || income_business - {x} >= 0"),
            format!("{x} < 100 || (income_wage + income_business - expense_production) > 5"),
            "per_capita_income * 2 > income_wage && per_capita_income * 2 + 1 < income_business".to_string(),
        ];
        let nodes: Vec<Node> =
            sources.iter().map(|s| rules.compile_expr(s, crate::ruleset::expr::Ty::Bool).unwrap()).collect();
        let mut groups = Vec::new();
        for (s, n) in sources.iter().zip(&nodes) {
            let (and, xs) = match n {
                Node::And(xs) => (true, xs),
                Node::Or(xs) => (false, xs),
                _ => panic!("{s}"),
            };
            let refs: Vec<&Node> = xs.iter().collect();
            let (leaf, of) = Shared::of(and, &refs).unwrap_or_else(|| panic!("{s}"));
            assert!(of.len() >= 2, "{s}");
            groups.push((and, leaf, of.iter().map(|&k| &xs[k]).collect::<Vec<_>>()));
        }
        // Nothing shared: a part inside a `c ? x : y` only, no part at all.
        for s in
            [format!("(known(members) ? {x} : 0) > 1 || {x} < 5"), "income_wage > 1 || income_business > 2".to_string()]
        {
            let Node::Or(xs) = rules.compile_expr(&s, crate::ruleset::expr::Ty::Bool).unwrap() else { panic!("{s}") };
            assert!(Shared::of(false, &xs.iter().collect::<Vec<_>>()).is_none(), "{s}");
        }
        let numbers = edge_numbers(&b);
        let mut rng = crate::test_rng::Lcg(9);
        let mut next = |n: usize| rng.below(n);
        let (crits, decisions) = (vec![None; rules.criteria.len()], vec![0u16; rules.decisions.len()]);
        let mut seen = [0u32; 3];
        for _ in 0..20_000 {
            let cells = draw_cells(&rules, &b, &numbers, &mut next);
            let cx =
                Ctx { cells: &cells, params: &b.params, crits: &crits, decisions: &decisions, ..cx_without_cells() };
            for (and, leaf, xs) in &groups {
                let combine = if *and { expr::and3 } else { expr::or3 };
                // Kleene's: an unknown operand does not end it (not `try_fold`).
                let mut want = Some(*and);
                for x in xs {
                    want = combine(want, expr::eval_bool(x, &cx));
                }
                seen[leaf.outcome(&cx)] += 1;
                assert_eq!(leaf.eval(&cx), want, "{xs:?}");
            }
        }
        assert!(seen.iter().all(|&n| n > 1_000), "{seen:?}");
    }

    /// `x * k` for a whole `k` without the rounding division: `Num::checked_mul`'s result,
    /// overflow included.
    #[test]
    fn whole_multiples_are_checked_mul() {
        let edges = [0, 1, -1, 7, SCALE, -SCALE, 123_456_789, i64::MAX, i64::MIN, i64::MAX / 11, i64::MIN / 10 - 1];
        for &a in &edges {
            for k in [0, 1, -1, 2, 10, 11, -7, 1_000, i64::MAX / SCALE, i64::MIN / SCALE] {
                let calc = |op: Op| Calc::new(vec![Op::Push(Operand::Lit(Num(a))), op]);
                let (int, general) = (calc(Op::MulInt(k)), calc(Op::Apply(ArithOp::Mul, Operand::Lit(Num(k * SCALE)))));
                let cx = cx_without_cells();
                assert_eq!(int.eval(&cx, Num(0)).map(|s| s[1]), general.eval(&cx, Num(0)).map(|s| s[1]), "{a} * {k}");
                let lit = calc(Op::apply(ArithOp::Mul, Operand::Lit(Num(k * SCALE))));
                assert_eq!(lit.eval(&cx, Num(0)).map(|s| s[1]), general.eval(&cx, Num(0)).map(|s| s[1]), "{a} * {k}");
            }
        }
    }

    #[test]
    fn orderings_swap() {
        for op in [CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge, CmpOp::Eq, CmpOp::Ne] {
            for (a, b) in [(1, 2), (2, 2), (3, 2)] {
                assert_eq!(accepts(ords(op), a.cmp(&b)), op.test(a.cmp(&b)));
                assert_eq!(accepts(swapped(ords(op)), b.cmp(&a)), op.test(a.cmp(&b)));
            }
        }
    }
}

//! Conditions: CEL syntax, tuopin's types, three-valued evaluation.
//!
//! A condition is parsed by the `cel` crate's parser (standard CEL syntax, <https://cel.dev>), then
//! type-checked here against the declared fields, parameters, criteria and decisions, and compiled
//! into a small tree of [`Node`]s. Evaluation walks that tree over a household's cells and returns
//! `Option<V>`: `None` is *unknown*. `&&`, `||` and `!` are Kleene's three-valued operators (CEL's
//! own semantics for errors and unknowns in `&&`/`||` agree); every other operator is unknown when
//! an operand is unknown. Evaluation allocates nothing.
//!
//! Extension functions (declared like CEL environment functions, type-checked the same way):
//! `blank(field)`, `known(x)`, `is_true(b)`, `is_false(b)`, `at_least(k, b1, b2, …)` and
//! `months_since(month)`. See rules/README.md.

use std::fmt;
use std::fmt::Write as _;

use cel::common::ast::{operators, CallExpr, Expr, IdedExpr, LiteralValue};

use crate::household::{Cell, Scalar};
use crate::value::Num;

/// The static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Int,
    Money,
    Decimal,
    /// A numeric literal: takes the type of what it meets.
    NumLit,
    Text,
    Month,
    /// One of the value lists in `RuleSet::enums`.
    Enum(u16),
    /// A string literal: an enum value or text, depending on what it meets.
    StrLit,
}

impl Ty {
    fn numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Money | Ty::Decimal | Ty::NumLit)
    }
    pub fn name(self) -> &'static str {
        match self {
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Money => "money",
            Ty::Decimal => "decimal",
            Ty::NumLit => "number",
            Ty::Text => "text",
            Ty::Month => "month",
            Ty::Enum(_) => "enum",
            Ty::StrLit => "string",
        }
    }
}

/// What a name in a condition refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    Field(u16, Ty),
    Param(u16, Ty),
    Crit(u16),
    /// (index, enum id, undecided label)
    Decision(u16, u16, u16),
}

/// What the compiler needs to know about names; implemented by the rule-set builder.
pub trait Names {
    fn resolve(&self, name: &str) -> Option<Name>;
    /// Every name visible here, for "did you mean" suggestions.
    fn candidates(&self) -> Vec<String>;
    /// The allowed values and value aliases of an enum.
    fn enum_values(&self, e: u16) -> &[String];
    fn enum_alias(&self, e: u16, s: &str) -> Option<u16>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "≤",
            CmpOp::Gt => ">",
            CmpOp::Ge => "≥",
            CmpOp::Eq => "=",
            CmpOp::Ne => "≠",
        }
    }
    /// Whether an ordering satisfies the comparison.
    #[inline]
    pub fn test(self, ord: std::cmp::Ordering) -> bool {
        match self {
            CmpOp::Lt => ord.is_lt(),
            CmpOp::Le => ord.is_le(),
            CmpOp::Gt => ord.is_gt(),
            CmpOp::Ge => ord.is_ge(),
            CmpOp::Eq => ord.is_eq(),
            CmpOp::Ne => ord.is_ne(),
        }
    }
    pub fn negate(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl ArithOp {
    fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "−",
            ArithOp::Mul => "×",
            ArithOp::Div => "÷",
        }
    }
}

/// A literal after type-checking.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Bool(bool),
    Num(Num),
    Enum(u16),
    Str(Box<str>),
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Lit(Lit),
    Field(u16),
    Param(u16),
    Crit(u16),
    /// An earlier decision (index, undecided label): unknown while it is undecided, so that a
    /// comparison with it is unknown, not false.
    Decision(u16, u16),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    Arith(ArithOp, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    In(Box<Node>, Vec<Lit>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    AtLeast(u32, Vec<Node>),
    Blank(u16),
    Known(Box<Node>),
    IsTrue(Box<Node>),
    IsFalse(Box<Node>),
    MonthsSince(Box<Node>),
}

/// A value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum V<'a> {
    Bool(bool),
    Num(Num),
    Enum(u16),
    Month(i32),
    /// A text cell, by a thin reference to its box: `V` stays two words, so that `Option<V>`
    /// comes back from a call in registers (the evaluator's every node returns one).
    #[allow(clippy::borrowed_box)]
    Str(&'a Box<str>),
}

// Two words: returned in registers (see `V::Str`).
const _: () = assert!(std::mem::size_of::<Option<V>>() == 16);

impl V<'_> {
    pub fn as_bool(self) -> Option<bool> {
        match self {
            V::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// Everything a condition can read.
pub struct Ctx<'a> {
    pub cells: &'a [Cell],
    pub params: &'a [Num],
    pub crits: &'a [Option<bool>],
    pub decisions: &'a [u16],
    pub as_of_month: i32,
}

impl<'a> Ctx<'a> {
    #[inline(always)]
    pub fn field(&self, i: u16) -> Option<V<'a>> {
        self.cells[i as usize].value().map(|s| match s {
            Scalar::Bool(b) => V::Bool(*b),
            Scalar::Num(n) => V::Num(*n),
            Scalar::Enum(e) => V::Enum(*e),
            Scalar::Month(m) => V::Month(*m),
            Scalar::Text(t) => V::Str(t),
        })
    }
}

/// A compile error, before the rule id is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError(pub String);

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError(msg.into()))
}

/// The closest candidate, if any is close enough to be a plausible typo.
pub fn suggest(name: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 3.max(name.len() / 3) && *d < c.len().max(name.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

/// `; did you mean `x`?` when a candidate is close enough, else nothing.
pub fn did_you_mean(name: &str, candidates: &[String]) -> String {
    match suggest(name, candidates) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

/// The longest condition accepted (the longest in the shipped rule sets is under 200 bytes).
pub const MAX_CONDITION_BYTES: usize = 8 << 10;

/// Parse and type-check `src`; the result must have type `want` (usually `Bool`).
pub fn compile(src: &str, names: &dyn Names, want: Ty) -> Result<Node, CompileError> {
    // Nesting is capped well below the parser's default (96), which overflowed the stack of a
    // debug build (found replaying the fuzz corpus); no rule condition comes close to 32.
    // The CEL parser panics on a syntax error past column 65535 (and its messages quote the
    // source): a condition is short, so a long one is refused before parsing, and any panic left
    // in the parser is a rule error, not a crash.
    if src.len() > MAX_CONDITION_BYTES {
        return err(format!(
            "条件过长（{} 字节，上限 {MAX_CONDITION_BYTES} 字节）：`{}…`",
            src.len(),
            src.chars().take(40).collect::<String>()
        ));
    }
    // (The parser's error message is formatted inside the catch: that is where it panicked.)
    let parsed = crate::error::catch_panic(|| {
        cel::parser::Parser::new()
            .max_recursion_depth(32)
            .parse(src)
            .map_err(|e| CompileError(format!("syntax error in `{src}`: {e}")))
    })
    .map_err(|panic| {
        let head: String = src.chars().take(40).collect();
        CompileError(format!("条件 `{head}…` 无法解析（CEL 解析器出错：{panic}）"))
    })?;
    let ast = parsed?;
    let (node, ty) = Compiler { names }.expr(&ast)?;
    let ok = ty == want
        || (want == Ty::Money && matches!(ty, Ty::NumLit | Ty::Decimal))
        || (want.numeric() && ty == Ty::NumLit);
    if !ok {
        return err(format!("`{src}` has type {}, expected {}", ty.name(), want.name()));
    }
    Ok(node)
}

struct Compiler<'a> {
    names: &'a dyn Names,
}

impl Compiler<'_> {
    fn expr(&self, e: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        match &e.expr {
            Expr::Literal(l) => self.literal(l),
            Expr::Ident(name) => self.ident(name),
            Expr::Call(call) => self.call(call),
            Expr::List(_) => err("a list is only allowed on the right of `in`"),
            Expr::Select(s) => {
                err(format!("`{}` is not a name here: conditions use plain names such as `per_capita_income`", s.field))
            }
            Expr::Comprehension(_) => {
                err("comprehension macros (all, exists, map, filter) are not supported; use at_least(k, …)")
            }
            Expr::Map(_) | Expr::Struct(_) => err("maps and messages are not supported in conditions"),
            Expr::Unspecified => err("empty expression"),
        }
    }

    fn literal(&self, l: &LiteralValue) -> Result<(Node, Ty), CompileError> {
        Ok(match l {
            LiteralValue::Boolean(b) => (Node::Lit(Lit::Bool(**b)), Ty::Bool),
            LiteralValue::Int(i) => {
                let n = Num::from_int(**i).ok_or_else(|| CompileError("number too large".into()))?;
                (Node::Lit(Lit::Num(n)), Ty::NumLit)
            }
            LiteralValue::UInt(u) => {
                let i = i64::try_from(**u).map_err(|_| CompileError("number too large".into()))?;
                let n = Num::from_int(i).ok_or_else(|| CompileError("number too large".into()))?;
                (Node::Lit(Lit::Num(n)), Ty::NumLit)
            }
            LiteralValue::Double(d) => {
                let n = Num::parse_decimal(&format!("{}", **d))
                    .ok_or_else(|| CompileError(format!("{} cannot be held exactly (at most 6 decimals)", **d)))?;
                (Node::Lit(Lit::Num(n)), Ty::NumLit)
            }
            LiteralValue::String(s) => (Node::Lit(Lit::Str(s.inner().into())), Ty::StrLit),
            LiteralValue::Null => return err("null is not a value here: a blank cell is tested with blank(field)"),
            LiteralValue::Bytes(_) => return err("bytes literals are not supported"),
        })
    }

    fn ident(&self, name: &str) -> Result<(Node, Ty), CompileError> {
        match self.names.resolve(name) {
            Some(Name::Field(i, t)) => Ok((Node::Field(i), t)),
            Some(Name::Param(i, t)) => Ok((Node::Param(i), t)),
            Some(Name::Crit(i)) => Ok((Node::Crit(i), Ty::Bool)),
            Some(Name::Decision(i, e, u)) => Ok((Node::Decision(i, u), Ty::Enum(e))),
            None => err(format!("unknown name `{name}`{}", did_you_mean(name, &self.names.candidates()))),
        }
    }

    fn bool_arg(&self, e: &IdedExpr, what: &str) -> Result<Node, CompileError> {
        let (n, t) = self.expr(e)?;
        if t != Ty::Bool {
            return err(format!("{what} needs a bool, found {} `{}`", t.name(), show(e)));
        }
        Ok(n)
    }

    fn call(&self, c: &CallExpr) -> Result<(Node, Ty), CompileError> {
        if c.target.is_some() {
            return err(format!("method call `.{}()` is not supported", c.func_name));
        }
        let a = &c.args;
        let f = c.func_name.as_str();
        match f {
            operators::LOGICAL_AND | operators::LOGICAL_OR => {
                let mut parts = Vec::new();
                for x in a {
                    let n = self.bool_arg(x, if f == operators::LOGICAL_AND { "`&&`" } else { "`||`" })?;
                    // Flatten nested chains: `a && b && c` is one And of three.
                    match (f, n) {
                        (operators::LOGICAL_AND, Node::And(v)) => parts.extend(v),
                        (operators::LOGICAL_OR, Node::Or(v)) => parts.extend(v),
                        (_, n) => parts.push(n),
                    }
                }
                let node = if f == operators::LOGICAL_AND { Node::And(parts) } else { Node::Or(parts) };
                Ok((node, Ty::Bool))
            }
            operators::LOGICAL_NOT => Ok((Node::Not(Box::new(self.bool_arg(&a[0], "`!`")?)), Ty::Bool)),
            operators::NEGATE => {
                let (n, t) = self.expr(&a[0])?;
                if !t.numeric() {
                    return err(format!("`-` needs a number, found {}", t.name()));
                }
                if let Node::Lit(Lit::Num(v)) = &n {
                    let v = v.checked_neg().ok_or_else(|| CompileError("number too large".into()))?;
                    return Ok((Node::Lit(Lit::Num(v)), t));
                }
                Ok((Node::Neg(Box::new(n)), t))
            }
            operators::CONDITIONAL => {
                let c0 = self.bool_arg(&a[0], "the condition of `? :`")?;
                let (x, tx) = self.expr(&a[1])?;
                let (y, ty) = self.expr(&a[2])?;
                let t = unify(tx, ty).ok_or_else(|| {
                    CompileError(format!("the two branches of `? :` have types {} and {}", tx.name(), ty.name()))
                })?;
                Ok((Node::Cond(Box::new(c0), Box::new(x), Box::new(y)), t))
            }
            operators::ADD | operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE => {
                let op = match f {
                    operators::ADD => ArithOp::Add,
                    operators::SUBSTRACT => ArithOp::Sub,
                    operators::MULTIPLY => ArithOp::Mul,
                    _ => ArithOp::Div,
                };
                let (x, tx) = self.expr(&a[0])?;
                let (y, ty) = self.expr(&a[1])?;
                let t = arith_type(op, tx, ty).ok_or_else(|| {
                    CompileError(format!(
                        "cannot compute {} {} {} (`{}` {} `{}`)",
                        tx.name(),
                        op.symbol(),
                        ty.name(),
                        show(&a[0]),
                        op.symbol(),
                        show(&a[1])
                    ))
                })?;
                Ok((Node::Arith(op, Box::new(x), Box::new(y)), t))
            }
            operators::EQUALS
            | operators::NOT_EQUALS
            | operators::LESS
            | operators::LESS_EQUALS
            | operators::GREATER
            | operators::GREATER_EQUALS => self.compare(f, &a[0], &a[1]),
            operators::IN => self.in_list(&a[0], &a[1]),
            "blank" => {
                one_arg(f, a)?;
                match &a[0].expr {
                    Expr::Ident(name) => match self.names.resolve(name) {
                        Some(Name::Field(i, _)) => Ok((Node::Blank(i), Ty::Bool)),
                        _ => err(format!(
                            "blank() takes a field name, and `{name}` is not a field{}",
                            did_you_mean(name, &self.names.candidates())
                        )),
                    },
                    _ => err("blank() takes a field name"),
                }
            }
            "known" => {
                one_arg(f, a)?;
                let (n, _) = self.expr(&a[0])?;
                Ok((Node::Known(Box::new(n)), Ty::Bool))
            }
            "is_true" | "is_false" => {
                one_arg(f, a)?;
                let n = Box::new(self.bool_arg(&a[0], f)?);
                Ok((if f == "is_true" { Node::IsTrue(n) } else { Node::IsFalse(n) }, Ty::Bool))
            }
            "months_since" => {
                one_arg(f, a)?;
                let (n, t) = self.expr(&a[0])?;
                if t != Ty::Month {
                    return err(format!("months_since() needs a month, found {} `{}`", t.name(), show(&a[0])));
                }
                Ok((Node::MonthsSince(Box::new(n)), Ty::Int))
            }
            "at_least" => {
                if a.len() < 2 {
                    return err("at_least(k, b1, b2, …) needs a count and at least one condition");
                }
                let k = match &a[0].expr {
                    Expr::Literal(LiteralValue::Int(i)) if **i >= 0 => **i as u32,
                    _ => return err("the first argument of at_least() must be a whole number literal"),
                };
                let mut parts = Vec::new();
                for x in &a[1..] {
                    parts.push(self.bool_arg(x, "at_least()")?);
                }
                Ok((Node::AtLeast(k, parts), Ty::Bool))
            }
            other => {
                let known =
                    ["blank", "known", "is_true", "is_false", "at_least", "months_since"].map(String::from).to_vec();
                err(format!("unknown function `{other}()`{}", did_you_mean(other, &known)))
            }
        }
    }

    fn compare(&self, f: &str, l: &IdedExpr, r: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        let op = match f {
            operators::EQUALS => CmpOp::Eq,
            operators::NOT_EQUALS => CmpOp::Ne,
            operators::LESS => CmpOp::Lt,
            operators::LESS_EQUALS => CmpOp::Le,
            operators::GREATER => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        let (mut x, tx) = self.expr(l)?;
        let (mut y, ty) = self.expr(r)?;
        let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
        let mismatch = || {
            CompileError(format!(
                "cannot compare {} with {}: `{}` {} `{}`",
                describe_ty(tx, l),
                describe_ty(ty, r),
                show(l),
                op.symbol(),
                show(r)
            ))
        };
        match (tx, ty) {
            (a, b) if a.numeric() && b.numeric() => {
                if !num_compatible(a, b) {
                    return Err(mismatch());
                }
            }
            (Ty::Month, Ty::Month) => {}
            (Ty::Bool, Ty::Bool) | (Ty::Text, Ty::Text) if equality => {}
            (Ty::Text, Ty::StrLit) | (Ty::StrLit, Ty::Text) if equality => {}
            (Ty::Enum(a), Ty::Enum(b)) if equality && a == b => {}
            (Ty::Enum(e), Ty::StrLit) if equality => y = self.enum_lit(e, &y)?,
            (Ty::StrLit, Ty::Enum(e)) if equality => x = self.enum_lit(e, &x)?,
            _ => return Err(mismatch()),
        }
        Ok((Node::Cmp(op, Box::new(x), Box::new(y)), Ty::Bool))
    }

    fn enum_lit(&self, e: u16, n: &Node) -> Result<Node, CompileError> {
        let Node::Lit(Lit::Str(s)) = n else { unreachable!("only called on string literals") };
        match self.names.enum_alias(e, s) {
            Some(i) => Ok(Node::Lit(Lit::Enum(i))),
            None => {
                let values = self.names.enum_values(e);
                err(format!(
                    "'{s}' is not one of the allowed values ({}){}",
                    values.join(", "),
                    did_you_mean(s, values)
                ))
            }
        }
    }

    fn in_list(&self, l: &IdedExpr, r: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        let (x, tx) = self.expr(l)?;
        let Expr::List(list) = &r.expr else {
            return err("the right of `in` must be a list literal such as ['A', 'B']");
        };
        let mut lits = Vec::new();
        for el in &list.elements {
            let (n, t) = self.expr(el)?;
            let lit = match (tx, t, n) {
                (Ty::Enum(e), Ty::StrLit, n) => match self.enum_lit(e, &n)? {
                    Node::Lit(l) => l,
                    _ => unreachable!(),
                },
                (Ty::Text, Ty::StrLit, Node::Lit(l)) => l,
                (a, b, Node::Lit(l)) if a.numeric() && b.numeric() && num_compatible(a, b) => l,
                (Ty::Bool, Ty::Bool, Node::Lit(l)) => l,
                (_, b, _) => {
                    return err(format!(
                        "`{}` in […]: the list holds {} values, but `{}` is {}",
                        show(l),
                        b.name(),
                        show(l),
                        tx.name()
                    ))
                }
            };
            lits.push(lit);
        }
        Ok((Node::In(Box::new(x), lits), Ty::Bool))
    }
}

fn one_arg(f: &str, a: &[IdedExpr]) -> Result<(), CompileError> {
    if a.len() != 1 {
        return err(format!("{f}() takes exactly one argument"));
    }
    Ok(())
}

fn describe_ty(t: Ty, e: &IdedExpr) -> String {
    match &e.expr {
        Expr::Ident(n) => format!("{} `{n}`", t.name()),
        _ => t.name().to_string(),
    }
}

fn num_compatible(a: Ty, b: Ty) -> bool {
    a == b
        || a == Ty::NumLit
        || b == Ty::NumLit
        || matches!((a, b), (Ty::Int, Ty::Decimal) | (Ty::Decimal, Ty::Int))
        || matches!((a, b), (Ty::Money, Ty::Decimal) | (Ty::Decimal, Ty::Money))
}

fn unify(a: Ty, b: Ty) -> Option<Ty> {
    if a == b {
        return Some(a);
    }
    match (a, b) {
        (Ty::NumLit, t) | (t, Ty::NumLit) if t.numeric() => Some(t),
        (Ty::StrLit, Ty::Text) | (Ty::Text, Ty::StrLit) => Some(Ty::Text),
        (Ty::Int, Ty::Decimal) | (Ty::Decimal, Ty::Int) => Some(Ty::Decimal),
        _ => None,
    }
}

/// Units: money ± money is money, money × count is money, money ÷ count is money, money ÷ money
/// is a ratio; money × money or money + count make no sense and are rejected.
fn arith_type(op: ArithOp, a: Ty, b: Ty) -> Option<Ty> {
    use Ty::*;
    if !a.numeric() || !b.numeric() {
        return None;
    }
    match op {
        ArithOp::Add | ArithOp::Sub => match (a, b) {
            (NumLit, t) | (t, NumLit) => Some(t),
            (Money, Money) => Some(Money),
            (Int, Int) => Some(Int),
            (Int | Decimal, Int | Decimal) => Some(Decimal),
            _ => None,
        },
        ArithOp::Mul => match (a, b) {
            (NumLit, t) | (t, NumLit) => Some(t),
            (Money, Int | Decimal) | (Int | Decimal, Money) => Some(Money),
            (Int, Int) => Some(Int),
            (Int | Decimal, Int | Decimal) => Some(Decimal),
            _ => None,
        },
        ArithOp::Div => match (a, b) {
            (Money, Int | Decimal | NumLit) => Some(Money),
            (Money, Money) => Some(Decimal),
            (Int | Decimal | NumLit, Int | Decimal | NumLit) => Some(Decimal),
            _ => None,
        },
    }
}

/// The source form of an expression, for messages.
pub fn show(e: &IdedExpr) -> String {
    match &e.expr {
        Expr::Ident(n) => n.clone(),
        Expr::Literal(LiteralValue::String(s)) => format!("'{}'", s.inner()),
        Expr::Literal(LiteralValue::Int(i)) => i.to_string(),
        Expr::Literal(LiteralValue::Double(d)) => d.to_string(),
        Expr::Literal(LiteralValue::Boolean(b)) => b.to_string(),
        Expr::Call(c) => {
            let args: Vec<String> = c.args.iter().map(show).collect();
            match c.func_name.as_str() {
                f if f.starts_with('_') && args.len() == 2 => {
                    format!("{} {} {}", args[0], f.trim_matches('_'), args[1])
                }
                "!_" => format!("!{}", args[0]),
                "@in" => format!("{} in {}", args[0], args[1]),
                f => format!("{f}({})", args.join(", ")),
            }
        }
        Expr::List(l) => format!("[{}]", l.elements.iter().map(show).collect::<Vec<_>>().join(", ")),
        _ => "…".to_string(),
    }
}

// ───────────────────────────── evaluation ─────────────────────────────

pub(crate) fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

pub(crate) fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// Evaluate a bool node: `None` is unknown.
#[inline]
pub fn eval_bool(n: &Node, cx: &Ctx) -> Option<bool> {
    eval(n, cx).and_then(V::as_bool)
}

/// Evaluate a node. Leaves (most visits) are read here, inlined into the caller; the rest
/// recurse through [`eval_inner`].
#[inline(always)]
pub fn eval<'a>(n: &Node, cx: &Ctx<'a>) -> Option<V<'a>> {
    match n {
        Node::Field(i) => cx.field(*i),
        Node::Crit(i) => cx.crits[*i as usize].map(V::Bool),
        Node::Param(i) => Some(V::Num(cx.params[*i as usize])),
        Node::Lit(Lit::Num(x)) => Some(V::Num(*x)),
        Node::Lit(Lit::Enum(e)) => Some(V::Enum(*e)),
        _ => eval_inner(n, cx),
    }
}

fn eval_inner<'a>(n: &Node, cx: &Ctx<'a>) -> Option<V<'a>> {
    Some(match n {
        Node::Lit(l) => match l {
            Lit::Bool(b) => V::Bool(*b),
            Lit::Num(x) => V::Num(*x),
            Lit::Enum(e) => V::Enum(*e),
            // String literals only meet text fields; compared in `cmp` without going through V.
            Lit::Str(_) => return None,
        },
        Node::Field(i) => return cx.field(*i),
        Node::Param(i) => V::Num(cx.params[*i as usize]),
        Node::Crit(i) => V::Bool(cx.crits[*i as usize]?),
        Node::Decision(i, u) => {
            let v = cx.decisions[*i as usize];
            if v == *u {
                return None;
            }
            V::Enum(v)
        }
        Node::Not(x) => V::Bool(!eval_bool(x, cx)?),
        Node::And(xs) => {
            let mut acc = Some(true);
            for x in xs {
                acc = and3(acc, eval_bool(x, cx));
                if acc == Some(false) {
                    break;
                }
            }
            V::Bool(acc?)
        }
        Node::Or(xs) => {
            let mut acc = Some(false);
            for x in xs {
                acc = or3(acc, eval_bool(x, cx));
                if acc == Some(true) {
                    break;
                }
            }
            V::Bool(acc?)
        }
        Node::Cmp(op, x, y) => V::Bool(cmp(*op, x, y, cx)?),
        Node::Arith(op, x, y) => {
            let (V::Num(a), V::Num(b)) = (eval(x, cx)?, eval(y, cx)?) else { return None };
            V::Num(match op {
                ArithOp::Add => a.checked_add(b)?,
                ArithOp::Sub => a.checked_sub(b)?,
                ArithOp::Mul => a.checked_mul(b)?,
                ArithOp::Div => a.checked_div(b)?,
            })
        }
        Node::Neg(x) => match eval(x, cx)? {
            V::Num(a) => V::Num(a.checked_neg()?),
            _ => return None,
        },
        Node::In(x, list) => {
            let v = eval(x, cx)?;
            V::Bool(list.iter().any(|l| lit_eq(l, v)))
        }
        Node::Cond(c, x, y) => {
            if eval_bool(c, cx)? {
                return eval(x, cx);
            } else {
                return eval(y, cx);
            }
        }
        Node::AtLeast(k, xs) => {
            let (mut t, mut u) = (0u32, 0u32);
            for x in xs {
                match eval_bool(x, cx) {
                    Some(true) => t += 1,
                    None => u += 1,
                    Some(false) => {}
                }
            }
            if t >= *k {
                V::Bool(true)
            } else if t + u < *k {
                V::Bool(false)
            } else {
                return None;
            }
        }
        Node::Blank(i) => V::Bool(cx.cells[*i as usize].is_blank()),
        Node::Known(x) => V::Bool(eval(x, cx).is_some()),
        Node::IsTrue(x) => V::Bool(eval_bool(x, cx) == Some(true)),
        Node::IsFalse(x) => V::Bool(eval_bool(x, cx) == Some(false)),
        Node::MonthsSince(x) => match eval(x, cx)? {
            V::Month(m) => V::Num(Num::from_int((cx.as_of_month - m) as i64)?),
            _ => return None,
        },
    })
}

pub(crate) fn lit_eq(l: &Lit, v: V) -> bool {
    match (l, v) {
        (Lit::Bool(a), V::Bool(b)) => *a == b,
        (Lit::Num(a), V::Num(b)) => *a == b,
        (Lit::Enum(a), V::Enum(b)) => *a == b,
        (Lit::Str(a), V::Str(b)) => **a == **b,
        _ => false,
    }
}

fn cmp(op: CmpOp, x: &Node, y: &Node, cx: &Ctx) -> Option<bool> {
    use std::cmp::Ordering;
    let ord: Ordering = match (x, y) {
        (Node::Lit(Lit::Str(s)), other) | (other, Node::Lit(Lit::Str(s))) => {
            let V::Str(t) = eval(other, cx)? else { return None };
            let eq = **s == **t;
            return Some(match op {
                CmpOp::Eq => eq,
                CmpOp::Ne => !eq,
                _ => return None,
            });
        }
        _ => order(eval(x, cx)?, eval(y, cx)?)?,
    };
    Some(op.test(ord))
}

/// How two values of the same type compare (`None` for different types).
pub(crate) fn order(a: V, b: V) -> Option<std::cmp::Ordering> {
    Some(match (a, b) {
        (V::Num(a), V::Num(b)) => a.cmp(&b),
        (V::Month(a), V::Month(b)) => a.cmp(&b),
        (V::Bool(a), V::Bool(b)) => a.cmp(&b),
        (V::Enum(a), V::Enum(b)) => a.cmp(&b),
        (V::Str(a), V::Str(b)) => a.cmp(b),
        _ => return None,
    })
}

// ───────────────────────────── explanation ─────────────────────────────

/// The atoms of a bool condition (what `&&`, `||`, `!`, `at_least`, `is_true` combine), each with
/// its polarity: `true` when the atom being true pushes the whole condition towards true.
pub fn atoms<'n>(n: &'n Node, positive: bool, out: &mut Vec<(&'n Node, bool)>) {
    each_atom(n, positive, &mut |a, p| out.push((a, p)));
}

/// As [`atoms`], each handed to `f` in turn.
fn each_atom<'n>(n: &'n Node, positive: bool, f: &mut dyn FnMut(&'n Node, bool)) {
    match n {
        Node::Not(x) | Node::IsFalse(x) => each_atom(x, !positive, f),
        Node::IsTrue(x) => each_atom(x, positive, f),
        Node::And(xs) | Node::Or(xs) | Node::AtLeast(_, xs) => {
            for x in xs {
                each_atom(x, positive, f);
            }
        }
        Node::Lit(_) => {}
        _ => f(n, positive),
    }
}

/// Which atoms explain a condition's result: for a true result the atoms that pushed it true, for
/// a false one those that pushed it false, for an unknown one the unknown atoms; each once, in
/// the order of the condition.
pub fn explaining_atoms<'n>(n: &'n Node, result: Option<bool>, cx: &Ctx) -> AtomList<'n> {
    let mut out = AtomList::new();
    each_atom(n, true, &mut |atom, positive| {
        let v = eval_bool(atom, cx);
        let keep = match (result, v) {
            (None, None) => true,
            (Some(r), Some(v)) => (v == positive) == r,
            _ => false,
        };
        if keep && !out.iter().any(|(b, _)| std::ptr::eq(*b, atom) || *b == atom) {
            out.push((atom, v));
        }
    });
    out
}

/// Atoms with their values, up to 16 in place (conditions have a handful), so that explaining a
/// household allocates nothing.
pub type AtomList<'n> = smallvec::SmallVec<[(&'n Node, Option<bool>); 16]>;

/// How names and values are shown in reasons; implemented by the bound rule set.
///
/// Reasons are written into a `String` the caller owns (one per output chunk, reused), so that
/// explaining a million households does not allocate a string per phrase.
pub trait Describe {
    fn field_label(&self, i: u16) -> &str;
    /// The household's value as shown to staff: `3850`, `否`, `空白`, `无法识别（约3000）`.
    fn write_field_value(&self, out: &mut String, i: u16, cx: &Ctx);
    fn field_value(&self, i: u16, cx: &Ctx) -> String {
        let mut s = String::new();
        self.write_field_value(&mut s, i, cx);
        s
    }
    fn param_label(&self, i: u16) -> &str;
    /// `4000（2020年，来源：…）`
    fn param_value(&self, i: u16) -> &str;
    fn crit_label(&self, i: u16) -> &str;
    fn decision_label(&self, i: u16) -> &str;
    fn decision_value(&self, i: u16, v: u16) -> &str;
    /// The text of value `v` of an enum field.
    fn field_enum(&self, i: u16, v: u16) -> &str;
}

/// An enum literal as text, given the operand it is compared with.
fn write_enum_lit(out: &mut String, other: &Node, v: u16, d: &dyn Describe) {
    match other {
        Node::Field(i) => out.push_str(d.field_enum(*i, v)),
        Node::Decision(i, _) => out.push_str(d.decision_value(*i, v)),
        _ => {
            let _ = write!(out, "#{v}");
        }
    }
}

fn write_bool(out: &mut String, b: bool) {
    out.push_str(if b { "是" } else { "否" });
}

/// Render an operand: its labels and, where it has one, its value.
pub fn render_operand(n: &Node, cx: &Ctx, d: &dyn Describe) -> String {
    let mut s = String::new();
    write_operand(&mut s, n, cx, d);
    s
}

pub fn write_operand(out: &mut String, n: &Node, cx: &Ctx, d: &dyn Describe) {
    match n {
        Node::Field(i) => {
            out.push_str(d.field_label(*i));
            out.push(' ');
            d.write_field_value(out, *i, cx);
        }
        Node::Param(i) => {
            out.push_str(d.param_label(*i));
            out.push(' ');
            out.push_str(d.param_value(*i));
        }
        Node::Lit(Lit::Num(x)) => x.write_to(out),
        Node::Lit(Lit::Str(s)) => {
            out.push('“');
            out.push_str(s);
            out.push('”');
        }
        Node::Lit(Lit::Bool(b)) => write_bool(out, *b),
        Node::Lit(Lit::Enum(_)) => {}
        _ => {
            write_formula(out, n, d);
            out.push(' ');
            match eval(n, cx) {
                Some(V::Num(x)) => x.write_to(out),
                Some(V::Month(m)) => out.push_str(&crate::value::fmt_month(m)),
                Some(_) => {}
                None => out.push_str("未知"),
            }
        }
    }
}

/// The formula of an expression in labels: `合规自付医疗支出+教育支出+其他刚性支出`.
pub fn formula(n: &Node, d: &dyn Describe) -> String {
    let mut s = String::new();
    write_formula(&mut s, n, d);
    s
}

pub fn write_formula(out: &mut String, n: &Node, d: &dyn Describe) {
    match n {
        Node::Field(i) => out.push_str(d.field_label(*i)),
        Node::Param(i) => out.push_str(d.param_label(*i)),
        Node::Crit(i) => out.push_str(d.crit_label(*i)),
        Node::Decision(i, _) => out.push_str(d.decision_label(*i)),
        Node::Lit(Lit::Num(x)) => x.write_to(out),
        Node::Lit(Lit::Str(s)) => out.push_str(s),
        Node::Lit(Lit::Bool(b)) => write_bool(out, *b),
        Node::Lit(Lit::Enum(e)) => {
            let _ = write!(out, "#{e}");
        }
        Node::Arith(op, x, y) => {
            let wrap = |out: &mut String, z: &Node| match z {
                Node::Arith(ArithOp::Add | ArithOp::Sub, ..) if matches!(op, ArithOp::Mul | ArithOp::Div) => {
                    out.push('(');
                    write_formula(out, z, d);
                    out.push(')');
                }
                _ => write_formula(out, z, d),
            };
            wrap(out, x);
            out.push_str(op.symbol());
            wrap(out, y);
        }
        Node::Neg(x) => {
            out.push('−');
            write_formula(out, x, d);
        }
        Node::Cond(c, x, y) => match c.as_ref() {
            // `known(a) ? a : b` reads as "a（无则用b）".
            Node::Known(k) if **k == **x => {
                write_formula(out, x, d);
                out.push_str("（无则用");
                write_formula(out, y, d);
                out.push('）');
            }
            _ => {
                write_formula(out, x, d);
                out.push_str(" 或 ");
                write_formula(out, y, d);
            }
        },
        Node::MonthsSince(x) => {
            out.push('自');
            write_formula(out, x, d);
            out.push_str("起的月数");
        }
        Node::Cmp(op, x, y) => {
            let side = |out: &mut String, a: &Node, other: &Node| match a {
                Node::Lit(Lit::Enum(v)) => write_enum_lit(out, other, *v, d),
                _ => write_formula(out, a, d),
            };
            side(out, x, y);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            side(out, y, x);
        }
        Node::In(x, list) => {
            write_formula(out, x, d);
            out.push('为');
            for (k, l) in list.iter().enumerate() {
                if k > 0 {
                    out.push('/');
                }
                match l {
                    Lit::Enum(v) => write_enum_lit(out, x, *v, d),
                    other => write_formula(out, &Node::Lit(other.clone()), d),
                }
            }
        }
        Node::Known(x) => {
            write_formula(out, x, d);
            out.push_str("已知");
        }
        Node::Blank(i) => {
            out.push_str(d.field_label(*i));
            out.push_str("为空");
        }
        _ => out.push('…'),
    }
}

/// Render one atom (not a criterion reference) as a sentence about the household.
pub fn render_atom(n: &Node, value: Option<bool>, cx: &Ctx, d: &dyn Describe) -> String {
    let mut s = String::new();
    write_atom(&mut s, n, value, cx, d);
    s
}

/// `label：value` of a field.
fn write_field_is(out: &mut String, i: u16, cx: &Ctx, d: &dyn Describe) {
    out.push_str(d.field_label(i));
    out.push('：');
    d.write_field_value(out, i, cx);
}

/// `label：value` of a decision taken earlier.
fn write_decision_is(out: &mut String, i: u16, cx: &Ctx, d: &dyn Describe) {
    out.push_str(d.decision_label(i));
    out.push('：');
    out.push_str(d.decision_value(i, cx.decisions[i as usize]));
}

pub fn write_atom(out: &mut String, n: &Node, value: Option<bool>, cx: &Ctx, d: &dyn Describe) {
    match n {
        Node::Field(i) | Node::Blank(i) => write_field_is(out, *i, cx, d),
        Node::Known(x) if matches!(**x, Node::Field(_)) => write_atom(out, x, value, cx, d),
        Node::Cmp(op, x, y) => {
            // Equality with an enum literal reads as "户类型：脱贫户".
            if let (Node::Field(i), Node::Lit(Lit::Enum(_)) | Node::Lit(Lit::Str(_))) = (x.as_ref(), y.as_ref()) {
                return write_field_is(out, *i, cx, d);
            }
            if let (Node::Decision(i, _), Node::Lit(Lit::Enum(_))) = (x.as_ref(), y.as_ref()) {
                return write_decision_is(out, *i, cx, d);
            }
            write_operand(out, x, cx, d);
            match value {
                Some(v) => {
                    out.push(' ');
                    out.push_str(if v { op.symbol() } else { op.negate().symbol() });
                }
                None => {
                    out.push_str("，无法判断是否 ");
                    out.push_str(op.symbol());
                }
            }
            out.push(' ');
            write_operand(out, y, cx, d);
        }
        Node::In(x, _) => match x.as_ref() {
            Node::Field(i) => write_field_is(out, *i, cx, d),
            Node::Decision(i, _) => write_decision_is(out, *i, cx, d),
            other => write_operand(out, other, cx, d),
        },
        Node::Decision(i, _) => write_decision_is(out, *i, cx, d),
        other => {
            write_formula(out, other, d);
            out.push('：');
            out.push_str(match value {
                Some(true) => "是",
                Some(false) => "否",
                None => "未知",
            });
        }
    }
}

/// Visit every node of a tree, parents first.
pub fn walk(n: &Node, f: &mut dyn FnMut(&Node)) {
    f(n);
    match n {
        Node::Not(x)
        | Node::Neg(x)
        | Node::Known(x)
        | Node::IsTrue(x)
        | Node::IsFalse(x)
        | Node::MonthsSince(x)
        | Node::In(x, _) => walk(x, f),
        Node::And(xs) | Node::Or(xs) | Node::AtLeast(_, xs) => xs.iter().for_each(|x| walk(x, f)),
        Node::Cmp(_, x, y) | Node::Arith(_, x, y) => {
            walk(x, f);
            walk(y, f);
        }
        Node::Cond(c, x, y) => {
            walk(c, f);
            walk(x, f);
            walk(y, f);
        }
        Node::Lit(_) | Node::Field(_) | Node::Param(_) | Node::Crit(_) | Node::Decision(..) | Node::Blank(_) => {}
    }
}

/// The fields, parameters, criteria and decisions a node reads, each listed once in order of
/// appearance.
#[derive(Debug, Default)]
pub struct Refs {
    pub fields: Vec<u16>,
    pub params: Vec<u16>,
    pub crits: Vec<u16>,
    pub decisions: Vec<u16>,
}

pub fn refs(n: &Node) -> Refs {
    fn add(v: &mut Vec<u16>, i: u16) {
        if !v.contains(&i) {
            v.push(i)
        }
    }
    let mut r = Refs::default();
    walk(n, &mut |x| match x {
        Node::Field(i) | Node::Blank(i) => add(&mut r.fields, *i),
        Node::Param(i) => add(&mut r.params, *i),
        Node::Crit(i) => add(&mut r.crits, *i),
        Node::Decision(i, _) => add(&mut r.decisions, *i),
        _ => {}
    });
    r
}

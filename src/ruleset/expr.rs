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
//! `months_since(month)`, `months_between(a, b)`, `age_at(id_or_birth, date)`, `id_valid(x)`, and
//! `sum`, `min`, `max` of `members.map(…)` (below).
//!
//! Over a household's members (a person export, `[persons.*]` member fields), CEL's own macros:
//! `members.exists(m, …)`, `members.all(m, …)`, `members.exists_one(m, …)`,
//! `members.filter(m, …).size()` and `size(members)`, in Kleene logic over the list (an unknown
//! member makes `exists` unknown unless another member settles it); and a number per member,
//! `members.map(m, x)` (or `members.map(m, c, x)`, `members.filter(m, c).map(m, x)` for the
//! members where `c` holds), folded by the extension functions `sum(…)`, `min(…)` and `max(…)`
//! (unknown when a member's number or condition is unknown; `min` and `max` of no member are
//! unknown, `sum` of none is 0); and `first(…)`, the value (of any type) of the first member the
//! list keeps — unknown when none is kept, or when a member before it may or may not be kept:
//! `first(members.filter(m, m.relation == '户主').map(m, m.name))`. A ledger row has no member
//! list: every member macro is then unknown. See rules/README.md.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;

use cel::common::ast::{operators, CallExpr, ComprehensionExpr, Expr, IdedExpr, LiteralValue};

use crate::household::{Cell, Members, RecordHead, Records, Scalar};

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
    /// A day: the assessment date, a `date('2020-03-20')` literal.
    Date,
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
            Ty::Bool => "是否值",
            Ty::Int => "整数",
            Ty::Money => "金额",
            Ty::Decimal => "小数",
            Ty::NumLit => "数字",
            Ty::Text => "文本",
            Ty::Month => "年月",
            Ty::Date => "日期",
            Ty::Enum(_) => "选项值",
            Ty::StrLit => "字符串",
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
    /// The field of that name, even where a criterion has the same name (`blank(food)` is the
    /// 不愁吃 cell, not criterion `food`).
    fn field(&self, name: &str) -> Option<Name> {
        self.resolve(name).filter(|n| matches!(n, Name::Field(..)))
    }
    /// Every name visible here, for "did you mean" suggestions.
    fn candidates(&self) -> Vec<String>;
    /// Whether some visible name has a dot (`previous.members`), so that `a.b` may be one name.
    /// Asked of every `a.b` compiled: an implementation whose `candidates` are many should answer
    /// without building them (`adjust`'s list names: some 300 formatted names a time).
    fn dotted_names(&self) -> bool {
        self.candidates().iter().any(|c| c.contains('.'))
    }
    /// A member field (`m.age` inside a member macro): its index and type.
    fn member(&self, _name: &str) -> Option<(u16, Ty)> {
        None
    }
    /// The member fields, for suggestions; empty when the rule set declares none.
    fn member_candidates(&self) -> Vec<String> {
        Vec::new()
    }
    /// A department list (`cars`, `[departments.*]`): its index and the household field known
    /// exactly when its records are (`<key>_count`: unknown without `--with`, or with no ID
    /// compared).
    fn list(&self, _name: &str) -> Option<(u16, u16)> {
        None
    }
    /// The member field known exactly when a member's records of list `d` are (`m.<key>_count`);
    /// `None` when the rule set declares no member fields.
    fn member_list(&self, _d: u16) -> Option<u16> {
        None
    }
    /// A column of list `d`'s records (`r.plate`): its index and type.
    fn list_column(&self, _d: u16, _name: &str) -> Option<(u16, Ty)> {
        None
    }
    /// The columns of list `d`, for suggestions.
    fn list_columns(&self, _d: u16) -> Vec<String> {
        Vec::new()
    }
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
    /// A day as `yyyymmdd` (so that days order as numbers).
    Date(i32),
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
    /// The assessment date.
    AsOf,
    /// `present(field)`: the file has a column for the field (or an alternative), or its value was
    /// derived; false for a column the file lacks. Never unknown.
    Present(u16),
    /// `year(d)`, `month(d)` of a date or a month; `size(s)` of a text.
    Unary(Unary, Box<Node>),
    /// `s.contains('x')`, `s.startsWith('x')`, `s.endsWith('x')` of a text.
    StrTest(StrOp, Box<Node>, Box<str>),
    /// A field of the member a member macro is looking at (`m.age`): only inside [`Node::Members`].
    Member(u16),
    /// `blank(m.school)`: whether that member's cell was blank (unknown when the file lacks the
    /// column), as [`Node::Blank`] for a household field.
    MemberBlank(u16),
    /// A macro over a list: its condition over each member (`members.exists(m, …)`) or record
    /// (`cars.exists(r, …)`); unknown for a household without a member list, or with the
    /// department list unknown.
    Members(Quant, Over, Box<Node>),
    /// A column of the record a record macro is looking at (`r.self_paid`; the list, the
    /// column): only inside a [`Node::Members`] over records.
    Record(u16, u16),
    /// `blank(r.plate)`: whether that record's cell was blank.
    RecordBlank(u16, u16),
    /// `months_between(a, b)`, `age_at(x, d)`.
    Binary(Binary, Box<Node>, Box<Node>),
    /// `sum(members.map(m, c, x))`, `min(…)`, `max(…)`: the number `x` of each member (or record)
    /// for which `c` holds (`c` is `true` when the macro has no condition), folded.
    Agg(Agg, Over, Box<Node>, Box<Node>),
}

/// What a macro runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The household's members (`members`).
    Members,
    /// A department list's records matched to the household's members (`cars`): the list, and the
    /// household field known exactly when they are (`cars_count`).
    Records(u16, u16),
    /// The records of a list matched to the member being looked at (`m.xueji`): the list, and the
    /// member field known exactly when they are (`m.xueji_count`).
    MemberRecords(u16, u16),
}

/// How [`Node::Agg`] folds the members' numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Sum,
    Min,
    Max,
    /// `first(members.filter(m, c).map(m, x))`: `x` of the first member for which `c` holds, of
    /// any type (the head's name: `first(members.filter(m, m.relation == '户主').map(m, m.name))`).
    First,
}

impl Agg {
    fn of(f: &str) -> Option<Agg> {
        Some(match f {
            "sum" => Agg::Sum,
            "min" => Agg::Min,
            "max" => Agg::Max,
            "first" => Agg::First,
            _ => return None,
        })
    }
    /// The words after the number: 之和, 的最小值, 的最大值.
    fn words(self) -> &'static str {
        match self {
            Agg::Sum => "之和",
            Agg::Min => "的最小值",
            Agg::Max => "的最大值",
            Agg::First => "（第一名）",
        }
    }
}

/// What a member macro makes of its condition over the members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// `members.exists(m, c)`: some member.
    Exists,
    /// `members.all(m, c)`: every member (true for none).
    All,
    /// `members.exists_one(m, c)`: exactly one member.
    ExistsOne,
    /// `members.filter(m, c).size()`: how many (an integer); `size(members)` is the count of
    /// `true`.
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// Months from the first to the second: month indexes apart, for two dates the full months.
    MonthsBetween,
    /// Full years from a birth date (or an ID number's) to a date; the birthday itself counts.
    AgeAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    Year,
    Month,
    Size,
    /// `id_valid(x)`: a well-formed ID number (GB 11643), or a 残疾人证 number built on one.
    IdValid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl StrOp {
    pub fn test(self, s: &str, x: &str) -> bool {
        match self {
            StrOp::Contains => s.contains(x),
            StrOp::StartsWith => s.starts_with(x),
            StrOp::EndsWith => s.ends_with(x),
        }
    }
    fn words(self) -> &'static str {
        match self {
            StrOp::Contains => "含",
            StrOp::StartsWith => "以此开头：",
            StrOp::EndsWith => "以此结尾：",
        }
    }
}

/// `year(d)`, `month(d)`, `size(s)` of a value (`None` when it is not of the function's type).
pub(crate) fn unary(f: Unary, v: V) -> Option<V> {
    let n = match (f, v) {
        (Unary::Year, V::Date(d)) => (d / 10000) as i64,
        (Unary::Month, V::Date(d)) => (d / 100 % 100) as i64,
        (Unary::Year, V::Month(m)) => m.div_euclid(12) as i64,
        (Unary::Month, V::Month(m)) => m.rem_euclid(12) as i64 + 1,
        (Unary::Size, V::Str(t)) => t.chars().count() as i64,
        (Unary::IdValid, V::Str(t)) => return Some(V::Bool(id_valid(t))),
        _ => return None,
    };
    Some(V::Num(Num::from_int(n)?))
}

/// `months_between(a, b)`, `age_at(x, d)` of two values (`None` when unknown: types that do not
/// fit, an ID number that is not valid, a birth after the date).
pub(crate) fn binary(f: Binary, a: V, b: V) -> Option<V<'static>> {
    let n = match f {
        Binary::MonthsBetween => months_between(a, b)?,
        Binary::AgeAt => {
            let birth = match a {
                V::Date(d) => d,
                V::Str(t) => day_key(birth_of(t)?),
                _ => return None,
            };
            let V::Date(at) = b else { return None };
            age(birth, at)?
        }
    };
    Some(V::Num(Num::from_int(n)?))
}

/// Months from `a` to `b` (months or dates): the difference of their months; between two dates,
/// the full months (2023-01-31 to 2023-02-28 is 0, to 2023-03-31 is 2).
fn months_between(a: V, b: V) -> Option<i64> {
    let month = |v: V| match v {
        V::Month(m) => Some((m, None)),
        V::Date(d) => Some(((d / 10000) * 12 + d / 100 % 100 - 1, Some(d % 100))),
        _ => None,
    };
    let ((ma, da), (mb, db)) = (month(a)?, month(b)?);
    let mut n = (mb - ma) as i64;
    if let (Some(da), Some(db)) = (da, db) {
        if n > 0 && db < da {
            n -= 1;
        } else if n < 0 && db > da {
            n += 1;
        }
    }
    Some(n)
}

/// Full years from a birth day to a day (both `yyyymmdd`): the birthday itself counts (29
/// February's, in a common year, on 1 March). `None` before the birth.
pub(crate) fn age(birth: i32, at: i32) -> Option<i64> {
    let years = at / 10000 - birth / 10000 - i32::from(at % 10000 < birth % 10000);
    (years >= 0).then_some(years as i64)
}

/// Whether `s` is an ID number of GB 11643: 18 characters with a valid birth date and check
/// digit, 15 digits (the old form) with a valid `yymmdd` of the 1900s, or a 20- or 22-digit
/// 残疾人证 number: a valid 18-character one followed by digits (the disability category and
/// grade).
pub fn id_valid(s: &str) -> bool {
    let t = s.trim();
    if !t.is_ascii() {
        return false;
    }
    match t.len() {
        15 => t.bytes().all(|b| b.is_ascii_digit()) && crate::value::cell::id_number(t).is_ok(),
        18 => crate::value::cell::id_number(t).is_ok(),
        20 | 22 => crate::value::cell::id_number(&t[..18]).is_ok() && t[18..].bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// The birth date in a valid ID number (`None` if it is not one).
pub fn birth_of(s: &str) -> Option<crate::value::Date> {
    if !id_valid(s) {
        return None;
    }
    let t = s.trim();
    crate::value::cell::birth_date(&t[..if t.len() == 15 { 15 } else { 18 }])
}

/// A value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum V<'a> {
    Bool(bool),
    Num(Num),
    Enum(u16),
    Month(i32),
    /// A day as `yyyymmdd`.
    Date(i32),
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
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub cells: &'a [Cell],
    pub params: &'a [Num],
    pub crits: &'a [Option<bool>],
    pub decisions: &'a [u16],
    pub as_of_month: i32,
    /// The assessment date as `yyyymmdd`.
    pub as_of_day: i32,
    /// The household's members (a person export); `None`: a ledger row, no member list.
    pub members: Option<&'a Members>,
    /// The member a member macro is looking at (empty outside one).
    pub member: &'a [Cell],
    /// That member's index in `members`.
    pub member_index: u32,
    /// The household's matched department records (`crate::household::NO_RECORDS`: none).
    pub records: &'a Records,
    /// The record a record macro is looking at (empty outside one).
    pub record: &'a [Cell],
}

impl<'a> Ctx<'a> {
    /// A household's facts as of `as_of`, without members or department records (a ledger row,
    /// or what lists and checks read of a household).
    #[inline]
    pub fn facts(
        cells: &'a [Cell],
        params: &'a [Num],
        crits: &'a [Option<bool>],
        decisions: &'a [u16],
        as_of: crate::value::Date,
    ) -> Self {
        Ctx {
            cells,
            params,
            crits,
            decisions,
            as_of_month: as_of.month_index(),
            as_of_day: day_key(as_of),
            members: None,
            member: &[],
            member_index: 0,
            records: &crate::household::NO_RECORDS,
            record: &[],
        }
    }

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

    /// Field `i` of the member being looked at.
    #[inline(always)]
    pub fn member_field(&self, i: u16) -> Option<V<'a>> {
        self.member[i as usize].value().map(scalar_v)
    }

    /// Column `i` of the record being looked at.
    #[inline(always)]
    pub fn record_field(&self, i: u16) -> Option<V<'a>> {
        self.record[i as usize].value().map(scalar_v)
    }

    /// The members or records `over` names, each as the context a macro's body is evaluated in;
    /// `None` when they are unknown (a ledger row's members; a list not given, or no ID compared).
    #[inline]
    pub fn items(&self, over: Over) -> Option<Items<'a>> {
        let n = match over {
            Over::Members => self.members?.len(),
            Over::Records(_, known) => {
                self.field(known)?;
                self.records.heads.len()
            }
            Over::MemberRecords(_, known) => {
                self.member_field(known)?;
                self.records.heads.len()
            }
        };
        Some(Items { cx: *self, over, k: 0, n })
    }
}

fn scalar_v(s: &Scalar) -> V<'_> {
    match s {
        Scalar::Bool(b) => V::Bool(*b),
        Scalar::Num(n) => V::Num(*n),
        Scalar::Enum(e) => V::Enum(*e),
        Scalar::Month(m) => V::Month(*m),
        Scalar::Text(t) => V::Str(t),
    }
}

/// The contexts of the members or records a macro runs over ([`Ctx::items`]).
pub struct Items<'a> {
    cx: Ctx<'a>,
    over: Over,
    k: usize,
    n: usize,
}

impl<'a> Iterator for Items<'a> {
    type Item = Ctx<'a>;
    #[inline]
    fn next(&mut self) -> Option<Ctx<'a>> {
        while self.k < self.n {
            let k = self.k;
            self.k += 1;
            let cx = &self.cx;
            let h: &RecordHead = match self.over {
                Over::Members => {
                    let ms = cx.members?;
                    return Some(Ctx { member: ms.get(k), member_index: k as u32, ..*cx });
                }
                Over::Records(d, _) => match &cx.records.heads[k] {
                    h if h.list == d => h,
                    _ => continue,
                },
                Over::MemberRecords(d, _) => match &cx.records.heads[k] {
                    h if h.list == d && h.member == cx.member_index => h,
                    _ => continue,
                },
            };
            return Some(Ctx { record: cx.records.get(h), ..*cx });
        }
        None
    }
}

/// A macro over the members (or records) of `cx`: each one's value of `body` folded as `q` says,
/// in three-valued logic; `None` without a member list (the list unknown). `each` evaluates the
/// body for one.
#[inline]
pub(crate) fn over_members<'a>(
    q: Quant,
    over: Over,
    cx: &Ctx<'a>,
    each: impl Fn(&Ctx<'a>) -> Option<bool>,
) -> Option<V<'a>> {
    let (mut t, mut u) = (0i64, 0i64);
    for sub in cx.items(over)? {
        match each(&sub) {
            Some(true) => {
                t += 1;
                if q == Quant::Exists {
                    return Some(V::Bool(true));
                }
                if q == Quant::ExistsOne && t > 1 {
                    return Some(V::Bool(false));
                }
            }
            Some(false) if q == Quant::All => return Some(V::Bool(false)),
            Some(false) => {}
            None => u += 1,
        }
    }
    Some(match q {
        Quant::Exists | Quant::All if u > 0 => return None,
        Quant::Exists => V::Bool(false),
        Quant::All => V::Bool(true),
        Quant::ExistsOne if u > 0 => return None,
        Quant::ExistsOne => V::Bool(t == 1),
        Quant::Count if u > 0 => return None,
        Quant::Count => V::Num(Num::from_int(t)?),
    })
}

/// `sum`, `min`, `max` or `first` over the members of `cx` of `value`, for those for which `keep`
/// holds (`first`: the first such member's value, of any type);
/// `None` without a member list, when a kept member's number or a member's `keep` is unknown, or
/// (`min`, `max`) when no member is kept.
#[inline]
pub(crate) fn fold_members<'a>(
    agg: Agg,
    over: Over,
    cx: &Ctx<'a>,
    keep: impl Fn(&Ctx<'a>) -> Option<bool>,
    value: impl Fn(&Ctx<'a>) -> Option<V<'a>>,
) -> Option<V<'a>> {
    let mut acc = if agg == Agg::Sum { Some(Num::from_int(0)?) } else { None };
    for sub in cx.items(over)? {
        if !keep(&sub)? {
            continue;
        }
        if agg == Agg::First {
            return value(&sub);
        }
        let V::Num(x) = value(&sub)? else { return None };
        acc = Some(match (agg, acc) {
            (_, None) => x,
            (Agg::Sum, Some(a)) => a.checked_add(x)?,
            (Agg::Min, Some(a)) => a.min(x),
            (Agg::Max, Some(a)) => a.max(x),
            (Agg::First, Some(_)) => unreachable!("first returns the first kept member's value"),
        });
    }
    acc.map(V::Num)
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
        Some(s) => format!("；是否应为 `{s}`？"),
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
    // Operators typed with a Chinese input method (＝＝, ＆＆, （）, ‘’ …) are read as ASCII.
    let ascii = ascii_operators(src);
    // (The parser's error message is formatted inside the catch: that is where it panicked.)
    let parse = |text: &str| {
        crate::error::catch_panic(|| {
            cel::parser::Parser::new()
                .max_recursion_depth(32)
                .parse(text)
                .map_err(|e| CompileError(format!("条件 `{src}` 有语法错误：{e}")))
        })
        .map_err(|panic| {
            let head: String = src.chars().take(40).collect();
            CompileError(format!("条件 `{head}…` 无法解析（CEL 解析器出错：{panic}）"))
        })
    };
    // The parser's lexer caches its steps for ASCII characters only: every Chinese character of
    // a string literal costs it a full search (most of the rule set's load time). The same
    // condition with those characters written as `\uXXXX` escapes is the same tree; a text
    // whose escaped form does not parse is parsed as written, for the parser's own message.
    let ast = match escape_literals(&ascii).map(|e| parse(&e)) {
        Some(Ok(Ok(ast))) => ast,
        _ => parse(&ascii)??,
    };
    let compiler = Compiler { names, var: None, rvar: None };
    let (mut node, mut ty) = compiler.expr(&ast)?;
    // A derived enum field written as text literals (`flag ? '不安全' : '安全'`): the literals
    // are the enum's values, checked against them.
    if let (Ty::Enum(e), Ty::StrLit | Ty::Text) = (want, ty) {
        if let Some(n) = compiler.text_to_enum(e, &node)? {
            node = n;
            ty = want;
        }
    }
    let ok = ty == want
        || (want == Ty::Text && ty == Ty::StrLit)
        || (want == Ty::Money && matches!(ty, Ty::NumLit | Ty::Decimal))
        || (want.numeric() && ty == Ty::NumLit);
    if !ok {
        return err(format!("`{src}` 的结果是{}，此处应为{}", ty.name(), want.name()));
    }
    Ok(node)
}

/// `src` with full-width operators and punctuation outside string literals read as their ASCII
/// forms (＝＝ ＆＆ ｜｜ ！ ＜ ＞ ＋ － ＊ ／ （ ） ［ ］ ， ？ ： ． ０–９, the ideographic space), and
/// curly quotes (‘’ “”) as straight ones; the text inside a string literal is kept as written.
pub fn ascii_operators(src: &str) -> Cow<'_, str> {
    if src.is_ascii() {
        return Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len());
    let mut quote: Option<char> = None;
    for c in src.chars() {
        let c = match (quote, c) {
            (Some('\''), '‘' | '’') | (None, '‘' | '’') => '\'',
            (Some('"'), '“' | '”') | (None, '“' | '”') => '"',
            (Some(_), c) => c,
            (None, '０'..='９') => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            (None, c) => match c {
                '＝' => '=',
                '＆' => '&',
                '｜' => '|',
                '！' => '!',
                '＜' => '<',
                '＞' => '>',
                '＋' => '+',
                '－' => '-',
                '＊' => '*',
                '／' => '/',
                '（' => '(',
                '）' => ')',
                '［' => '[',
                '］' => ']',
                '，' => ',',
                '？' => '?',
                '：' => ':',
                '．' => '.',
                '\u{3000}' => ' ',
                c => c,
            },
        };
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// `src` with every non-ASCII character inside a plain quoted string literal written as a CEL
/// escape (`'无'` → `'\u65e0'`): the same tokens and the same literal values. `None` (parse the
/// text as written) when there is no such character, or when the text has anything the
/// rewriting would have to understand further: a backslash, a comment, a triple quote, a
/// prefixed (raw or bytes) literal, a line break in a literal, a non-ASCII character outside
/// one, or an unclosed quote.
pub(crate) fn escape_literals(src: &str) -> Option<String> {
    if src.is_ascii() || src.contains(['\\', '\n', '\r']) || src.contains("//") {
        return None;
    }
    if src.contains("'''") || src.contains("\"\"\"") {
        return None;
    }
    let mut out = String::with_capacity(src.len() * 2);
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for c in src.chars() {
        match quote {
            None if c == '\'' || c == '"' => {
                if prev.is_ascii_alphanumeric() || prev == '_' {
                    return None;
                }
                quote = Some(c);
                out.push(c);
            }
            None if !c.is_ascii() => return None,
            None => out.push(c),
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) if c.is_ascii() => out.push(c),
            Some(_) if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            Some(_) => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
        prev = c;
    }
    quote.is_none().then_some(out)
}

/// The extension functions, as an unknown function's error lists them.
const FUNCTIONS: [&str; 18] = [
    "blank",
    "known",
    "is_true",
    "is_false",
    "at_least",
    "months_since",
    "date",
    "year",
    "month",
    "size",
    "present",
    "id_valid",
    "months_between",
    "age_at",
    "sum",
    "min",
    "max",
    "first",
];

struct Compiler<'a> {
    names: &'a dyn Names,
    /// Inside a member macro: the name it gives the member (`m` in `members.exists(m, …)`).
    var: Option<&'a str>,
    /// Inside a record macro: the name it gives the record (`r` in `cars.exists(r, …)`) and the
    /// department list.
    rvar: Option<(&'a str, u16)>,
}

impl Compiler<'_> {
    fn expr(&self, e: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        match &e.expr {
            Expr::Literal(l) => self.literal(l),
            Expr::Ident(name) => self.ident(name),
            Expr::Call(call) => self.call(call),
            Expr::List(_) => err("列表只能写在 `in` 的右边，如 village in ['石桥村', '枫林村']"),
            // `m.age` inside a member macro, `r.plate` inside a record macro; `previous.members`, a
            // dotted name where the rule set gives some (adjust's lists).
            Expr::Select(s) => match (&s.operand.expr, dotted(e)) {
                (Expr::Ident(v), _) if self.is_var(v) => self.select(&s.operand, &s.field),
                (_, Some(name)) if self.names.dotted_names() => self.ident(&name),
                _ => self.select(&s.operand, &s.field),
            },
            Expr::Comprehension(c) if map_step(c).is_some() => err(format!(
                "members.map(m, …)（或 cars.map(r, …)）得到每名成员（每条记录）的一个数，应放在 sum()、min() 或 max() 中，如 sum({})",
                show(e)
            )),
            Expr::Comprehension(c) => match self.members_macro(c)? {
                (Quant::Count, ..) => err("members.filter(m, …) 之后应接 .size()（符合条件的成员数），如 members.filter(m, m.age < 16).size()"),
                (q, over, body) => Ok((Node::Members(q, over, Box::new(body)), Ty::Bool)),
            },
            Expr::Map(_) | Expr::Struct(_) => err("条件中不支持映射（{…}）和消息"),
            Expr::Unspecified => err("条件为空"),
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
                    .ok_or_else(|| CompileError(format!("{} 无法精确表示（最多 6 位小数）", **d)))?;
                (Node::Lit(Lit::Num(n)), Ty::NumLit)
            }
            LiteralValue::String(s) => (Node::Lit(Lit::Str(s.inner().into())), Ty::StrLit),
            LiteralValue::Null => return err("不能写 null：空白单元格用 blank(字段) 判断"),
            LiteralValue::Bytes(_) => return err("不支持字节串"),
        })
    }

    /// Whether `v` is the member or record a macro is looking at.
    fn is_var(&self, v: &str) -> bool {
        self.var == Some(v) || self.rvar.is_some_and(|(r, _)| r == v)
    }

    /// `m.field` inside a member macro, `r.column` inside a record macro.
    fn select(&self, operand: &IdedExpr, field: &str) -> Result<(Node, Ty), CompileError> {
        if let (Expr::Ident(v), Some((rv, d))) = (&operand.expr, self.rvar) {
            if v == rv {
                return match self.names.list_column(d, field) {
                    Some((i, t)) => Ok((Node::Record(d, i), t)),
                    None => {
                        let names = self.names.list_columns(d);
                        err(format!(
                            "比对名单的记录没有列 `{rv}.{field}`{}（列：{}）",
                            did_you_mean(field, &names),
                            names.join("、")
                        ))
                    }
                };
            }
        }
        match (&operand.expr, self.var) {
            (Expr::Ident(v), Some(var)) if v == var => match self.names.member(field) {
                Some((i, t)) => Ok((Node::Member(i), t)),
                None if self.names.list(field).is_some() => err(format!(
                    "`{var}.{field}` 是该成员在比对名单中的记录：请写 {var}.{field}.size()、{var}.{field}.exists(r, …) 等"
                )),
                None => {
                    let names = self.names.member_candidates();
                    err(format!(
                        "未知的成员字段 `{var}.{field}`{}（成员字段：{}）",
                        did_you_mean(field, &names),
                        names.join("、")
                    ))
                }
            },
            (Expr::Ident(v), _) => err(format!(
                "`{v}.{field}` 不能用在这里：成员字段只能在成员宏中使用，如 members.exists(m, m.{field} …)；户的字段直接写字段名"
            )),
            _ => err(format!("`.{field}` 不能用在这里：条件中直接写字段名，如 `per_capita_income`")),
        }
    }

    /// A CEL macro over the member list (`members.exists(m, …)` and the like) or a department
    /// list's records (`cars.exists(r, …)`, `m.xueji.exists(r, …)`), as the parser expands it:
    /// which macro it is, what it runs over and its condition, compiled with the member (record)
    /// in scope.
    fn members_macro(&self, c: &ComprehensionExpr) -> Result<(Quant, Over, Node), CompileError> {
        let over = self.range(&c.iter_range)?;
        let step = match &c.loop_step.expr {
            Expr::Call(call) => call,
            _ => return err("不支持此宏；可用 members.exists、all、exists_one、filter(…).size()"),
        };
        let lit = |e: &IdedExpr| match &e.expr {
            Expr::Literal(LiteralValue::Boolean(b)) => Some(**b),
            _ => None,
        };
        let (q, body) = match (&c.accu_init.expr, step.func_name.as_str(), step.args.as_slice()) {
            (Expr::Literal(_), operators::LOGICAL_OR, [_, body]) if lit(&c.accu_init) == Some(false) => {
                (Quant::Exists, body)
            }
            (Expr::Literal(_), operators::LOGICAL_AND, [_, body]) if lit(&c.accu_init) == Some(true) => {
                (Quant::All, body)
            }
            (Expr::Literal(LiteralValue::Int(_)), operators::CONDITIONAL, [body, ..]) => (Quant::ExistsOne, body),
            (Expr::List(_), operators::CONDITIONAL, [body, add, _]) if is_filter_step(add, &c.iter_var) => {
                (Quant::Count, body)
            }
            _ => {
                return err(
                    "不支持此宏；可用 members.exists、all、exists_one、filter(…).size()、sum(members.map(m, …))",
                )
            }
        };
        let inner = self.inner(over, &c.iter_var)?;
        let node = inner.bool_arg(body, "成员宏的条件")?;
        Ok((q, over, node))
    }

    /// The compiler of a macro's body: the member (record) in scope under the macro's name.
    fn inner<'s>(&'s self, over: Over, var: &'s str) -> Result<Compiler<'s>, CompileError> {
        if self.is_var(var) {
            return err(format!("宏的变量名 `{var}` 已在外层使用：请换一个名字"));
        }
        Ok(match over {
            Over::Members => Compiler { names: self.names, var: Some(var), rvar: None },
            Over::Records(d, _) | Over::MemberRecords(d, _) => {
                Compiler { names: self.names, var: self.var, rvar: Some((var, d)) }
            }
        })
    }

    /// What a macro runs over: `members`, outside any other macro; a department list (`cars`) or a
    /// member's records in one (`m.xueji`, inside a member macro), outside any other record macro.
    fn range(&self, range: &IdedExpr) -> Result<Over, CompileError> {
        let list = match &range.expr {
            Expr::Ident(r) if r == "members" && self.var.is_none() && self.rvar.is_none() => {
                if self.names.member_candidates().is_empty() {
                    return err("规则集没有声明成员字段（[persons.*]），不能使用 members.exists(m, …) 等成员宏");
                }
                return Ok(Over::Members);
            }
            Expr::Ident(r) if r == "members" => return err("成员宏不能嵌套在另一个成员宏中"),
            Expr::Ident(r) if !self.is_var(r) => self.names.list(r).map(|(d, known)| Over::Records(d, known)),
            Expr::Select(s) => match &s.operand.expr {
                Expr::Ident(v) if self.var == Some(v.as_str()) => match self.names.list(&s.field) {
                    Some((d, _)) => match self.names.member_list(d) {
                        Some(known) => Some(Over::MemberRecords(d, known)),
                        None => return err("规则集没有声明成员字段（[persons.*]），不能使用成员的比对记录"),
                    },
                    None => None,
                },
                _ => None,
            },
            _ => None,
        };
        match list {
            Some(_) if self.rvar.is_some() => err("比对名单的记录宏不能嵌套在另一个记录宏中"),
            Some(over) => Ok(over),
            None => err("all、exists、exists_one、filter、map 只能用于成员列表：members.exists(m, …)，或比对名单的记录：cars.exists(r, …)、m.xueji.exists(r, …)"),
        }
    }

    /// `sum(x)`, `min(x)`, `max(x)` of `x` = `members.map(m, v)`, `members.map(m, c, v)` or
    /// `members.filter(m, c).map(m, v)`: a number per member (for the members where `c` holds).
    fn aggregate(&self, agg: Agg, f: &str, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
        one_arg(f, a)?;
        let example =
            format!("如 {f}(members.map(m, m.income))，或只计部分成员 {f}(members.map(m, m.age >= 16, m.income))");
        let Expr::Comprehension(c) = &a[0].expr else {
            return err(format!("{f}() 的参数应为成员的数值列表，{example}"));
        };
        let Some((cond, value)) = map_step(c) else {
            return err(format!("{f}() 的参数应为 members.map(…)（每名成员的一个数），{example}"));
        };
        // `members.filter(m, c1).map(m, …)`: the filter's condition, with its own member name.
        let (over, outer) = match &c.iter_range.expr {
            Expr::Comprehension(inner) if map_step(inner).is_none() => match self.members_macro(inner)? {
                (Quant::Count, over, body) => (over, Some(body)),
                _ => return err(format!("{f}() 的参数应为 members.map(…)，{example}")),
            },
            _ => (self.range(&c.iter_range)?, None),
        };
        let inner = self.inner(over, &c.iter_var)?;
        let (v, t) = inner.expr(value)?;
        if !t.numeric() && agg != Agg::First {
            return err(format!("{f}() 需要每名成员的数字，`{}` 却是{}", show(value), t.name()));
        }
        let t = if t == Ty::NumLit { Ty::Int } else { t };
        let cond = cond.map(|x| inner.bool_arg(x, "members.map(m, 条件, 值) 的条件")).transpose()?;
        let keep = match (outer, cond) {
            (Some(a), Some(b)) => Node::And(vec![a, b]),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => Node::Lit(Lit::Bool(true)),
        };
        Ok((Node::Agg(agg, over, Box::new(keep), Box::new(v)), t))
    }

    fn ident(&self, name: &str) -> Result<(Node, Ty), CompileError> {
        if self.var == Some(name) {
            return err(format!("`{name}` 是成员，请写它的字段，如 {name}.age"));
        }
        if let Some((r, d)) = self.rvar.filter(|(r, _)| *r == name) {
            let cols = self.names.list_columns(d);
            return err(format!("`{r}` 是比对记录，请写它的列，如 {r}.{}", cols.first().map_or("…", |c| c.as_str())));
        }
        if self.names.resolve(name).is_none() && self.names.list(name).is_some() {
            return err(format!(
                "`{name}` 是比对名单的记录列表：请写 {name}.size()、{name}.exists(r, …)、sum({name}.map(r, …)) 等"
            ));
        }
        match self.names.resolve(name) {
            Some(Name::Field(i, t)) => Ok((Node::Field(i), t)),
            Some(Name::Param(i, t)) => Ok((Node::Param(i), t)),
            Some(Name::Crit(i)) => Ok((Node::Crit(i), Ty::Bool)),
            Some(Name::Decision(i, e, u)) => Ok((Node::Decision(i, u), Ty::Enum(e))),
            None if name == "assessment_date" => Ok((Node::AsOf, Ty::Date)),
            None => {
                let mut names = self.names.candidates();
                names.push("assessment_date".into());
                err(format!("未知的名称 `{name}`{}", did_you_mean(name, &names)))
            }
        }
    }

    fn bool_arg(&self, e: &IdedExpr, what: &str) -> Result<Node, CompileError> {
        let (n, t) = self.expr(e)?;
        if t != Ty::Bool {
            return err(format!("{what} 需要是否值，却是{} `{}`", t.name(), show(e)));
        }
        Ok(n)
    }

    fn call(&self, c: &CallExpr) -> Result<(Node, Ty), CompileError> {
        if let Some(target) = &c.target {
            return self.method(target, c);
        }
        let f = c.func_name.as_str();
        match self.operator(f, &c.args) {
            Some(compiled) => compiled,
            None => self.function(f, &c.args),
        }
    }

    /// An operator (`&&`, `+`, `<`, `in`, `? :`, …); `None` when `f` is not one.
    fn operator(&self, f: &str, a: &[IdedExpr]) -> Option<Result<(Node, Ty), CompileError>> {
        Some(match f {
            operators::LOGICAL_AND | operators::LOGICAL_OR => self.logical(f, a),
            operators::LOGICAL_NOT => self.bool_arg(&a[0], "`!`").map(|n| (Node::Not(Box::new(n)), Ty::Bool)),
            operators::NEGATE => self.negate(&a[0]),
            operators::CONDITIONAL => self.conditional(a),
            operators::ADD | operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE => self.arith(f, a),
            operators::EQUALS
            | operators::NOT_EQUALS
            | operators::LESS
            | operators::LESS_EQUALS
            | operators::GREATER
            | operators::GREATER_EQUALS => self.compare(f, &a[0], &a[1]),
            operators::IN => self.in_list(&a[0], &a[1]),
            _ => return None,
        })
    }

    /// A function call (`blank(x)`, `age_at(id, date)`, …).
    fn function(&self, f: &str, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
        match f {
            "date" => {
                one_arg(f, a)?;
                let Expr::Literal(LiteralValue::String(s)) = &a[0].expr else {
                    return err("date() 的参数应为日期字符串，如 date('2020-03-20')");
                };
                let d = crate::value::Date::parse(s.inner())
                    .ok_or_else(|| CompileError(format!("date('{}')：应为 YYYY-MM-DD 格式的日期", s.inner())))?;
                Ok((Node::Lit(Lit::Date(day_key(d))), Ty::Date))
            }
            "year" | "month" => {
                one_arg(f, a)?;
                let (n, t) = self.expr(&a[0])?;
                if !matches!(t, Ty::Date | Ty::Month) {
                    return err(format!("{f}() 需要日期或年月，却是{} `{}`", t.name(), show(&a[0])));
                }
                let u = if f == "year" { Unary::Year } else { Unary::Month };
                Ok((Node::Unary(u, Box::new(n)), Ty::Int))
            }
            "size" => {
                one_arg(f, a)?;
                self.size(&a[0])
            }
            "id_valid" => {
                one_arg(f, a)?;
                self.id_valid(&a[0])
            }
            "months_between" => self.months_between(a),
            "age_at" => self.age_at(a),
            "present" => {
                one_arg(f, a)?;
                self.present(&a[0])
            }
            "blank" => {
                one_arg(f, a)?;
                self.blank(&a[0])
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
                    return err(format!("months_since() 需要年月，却是{} `{}`", t.name(), show(&a[0])));
                }
                Ok((Node::MonthsSince(Box::new(n)), Ty::Int))
            }
            "at_least" => self.at_least(a),
            "sum" | "min" | "max" | "first" => self.aggregate(Agg::of(f).expect("sum, min, max or first"), f, a),
            other => {
                let known = FUNCTIONS.map(String::from).to_vec();
                err(format!("未知的函数 `{other}()`{}（可用：{}）", did_you_mean(other, &known), known.join("、")))
            }
        }
    }

    /// `a && b && …` or `a || b || …`, nested chains flattened into one node.
    fn logical(&self, f: &str, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
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

    /// `-x` (a literal is negated here).
    fn negate(&self, x: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        let (n, t) = self.expr(x)?;
        if !t.numeric() {
            return err(format!("`-` 需要数字，却是{}", t.name()));
        }
        if let Node::Lit(Lit::Num(v)) = &n {
            let v = v.checked_neg().ok_or_else(|| CompileError("number too large".into()))?;
            return Ok((Node::Lit(Lit::Num(v)), t));
        }
        Ok((Node::Neg(Box::new(n)), t))
    }

    /// `c ? x : y`.
    fn conditional(&self, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
        let c0 = self.bool_arg(&a[0], "`? :` 的条件")?;
        let (x, tx) = self.expr(&a[1])?;
        let (y, ty) = self.expr(&a[2])?;
        let t = unify(tx, ty)
            .ok_or_else(|| CompileError(format!("`? :` 的两个分支类型不同：{}与{}", tx.name(), ty.name())))?;
        Ok((Node::Cond(Box::new(c0), Box::new(x), Box::new(y)), t))
    }

    /// `x + y`, `x - y`, `x * y`, `x / y`.
    fn arith(&self, f: &str, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
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
                "无法计算 {} {} {}（`{}` {} `{}`）",
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

    /// `id_valid(x)`: a literal is checked here, once.
    fn id_valid(&self, x: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        if let Expr::Literal(LiteralValue::String(s)) = &x.expr {
            return Ok((Node::Lit(Lit::Bool(id_valid(s.inner()))), Ty::Bool));
        }
        let (n, t) = self.expr(x)?;
        if t != Ty::Text {
            return err(format!("id_valid() 需要文本（证件号码），却是{} `{}`", t.name(), show(x)));
        }
        Ok((Node::Unary(Unary::IdValid, Box::new(n)), Ty::Bool))
    }

    /// `months_between(a, b)` of months or dates.
    fn months_between(&self, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
        if a.len() != 2 {
            return err("months_between(a, b) 需要两个参数（年月或日期）");
        }
        let (x, tx) = self.expr(&a[0])?;
        let (y, ty) = self.expr(&a[1])?;
        for (t, e) in [(tx, &a[0]), (ty, &a[1])] {
            if !matches!(t, Ty::Month | Ty::Date) {
                return err(format!("months_between() 需要年月或日期，却是{} `{}`", t.name(), show(e)));
            }
        }
        Ok((Node::Binary(Binary::MonthsBetween, Box::new(x), Box::new(y)), Ty::Int))
    }

    /// `age_at(ID number or birth date, date)`.
    fn age_at(&self, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
        if a.len() != 2 {
            return err("age_at(证件号码或出生日期, 日期) 需要两个参数");
        }
        // An ID number written as a literal is read here, once.
        let x = match &a[0].expr {
            Expr::Literal(LiteralValue::String(s)) => match birth_of(s.inner()) {
                Some(d) => Node::Lit(Lit::Date(day_key(d))),
                None => return err(format!("age_at('{}', …)：不是有效的身份证号码", s.inner())),
            },
            _ => {
                let (x, tx) = self.expr(&a[0])?;
                if !matches!(tx, Ty::Text | Ty::Date) {
                    return err(format!(
                        "age_at() 的第一个参数应为证件号码（文本）或出生日期，却是{} `{}`",
                        tx.name(),
                        show(&a[0])
                    ));
                }
                x
            }
        };
        let (y, ty) = self.expr(&a[1])?;
        if ty != Ty::Date {
            return err(format!(
                "age_at() 的第二个参数应为日期，如 assessment_date，却是{} `{}`",
                ty.name(),
                show(&a[1])
            ));
        }
        Ok((Node::Binary(Binary::AgeAt, Box::new(x), Box::new(y)), Ty::Int))
    }

    /// `present(field)`: whether the ledger has the field's column; `present(cars)`: whether the
    /// department list was given (`--with`).
    fn present(&self, x: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        match dotted(x).as_deref() {
            Some(name) => match self.names.field(name) {
                Some(Name::Field(i, _)) => Ok((Node::Present(i), Ty::Bool)),
                _ if self.names.list(name).is_some() => {
                    Ok((Node::Present(self.names.list(name).map_or(0, |(_, known)| known)), Ty::Bool))
                }
                _ => err(format!(
                    "present() 的参数应为字段名，`{name}` 不是字段{}",
                    did_you_mean(name, &self.names.candidates())
                )),
            },
            _ => err("present() 的参数应为字段名"),
        }
    }

    /// `blank(field)` or, inside a member macro, `blank(m.field)`, inside a record macro
    /// `blank(r.column)`.
    fn blank(&self, x: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        if let (Expr::Select(sel), true) = (&x.expr, self.var.is_some() || self.rvar.is_some()) {
            return match self.select(&sel.operand, &sel.field)? {
                (Node::Member(i), _) => Ok((Node::MemberBlank(i), Ty::Bool)),
                (Node::Record(d, i), _) => Ok((Node::RecordBlank(d, i), Ty::Bool)),
                _ => err("blank() 的参数应为字段名、成员字段（m.school）或记录的列（r.plate）"),
            };
        }
        match dotted(x).as_deref() {
            Some(name) => match self.names.field(name) {
                Some(Name::Field(i, _)) => Ok((Node::Blank(i), Ty::Bool)),
                _ => err(format!(
                    "blank() 的参数应为字段名，`{name}` 不是字段{}",
                    did_you_mean(name, &self.names.candidates())
                )),
            },
            _ => err("blank() 的参数应为字段名"),
        }
    }

    /// `at_least(k, c1, c2, …)`.
    fn at_least(&self, a: &[IdedExpr]) -> Result<(Node, Ty), CompileError> {
        if a.len() < 2 {
            return err("at_least(k, 条件1, 条件2, …) 需要一个个数和至少一个条件");
        }
        let k = match &a[0].expr {
            Expr::Literal(LiteralValue::Int(i)) if **i >= 0 => **i as u32,
            _ => return err("at_least() 的第一个参数应为整数，如 at_least(2, …)"),
        };
        let mut parts = Vec::new();
        for x in &a[1..] {
            parts.push(self.bool_arg(x, "at_least()")?);
        }
        Ok((Node::AtLeast(k, parts), Ty::Bool))
    }

    /// `x.contains('…')`, `x.startsWith('…')`, `x.endsWith('…')`, `x.size()` of a text.
    fn method(&self, target: &IdedExpr, c: &CallExpr) -> Result<(Node, Ty), CompileError> {
        let f = c.func_name.as_str();
        let op = match f {
            "contains" => StrOp::Contains,
            "startsWith" => StrOp::StartsWith,
            "endsWith" => StrOp::EndsWith,
            "size" if c.args.is_empty() => return self.size(target),
            "sum" | "min" | "max" | "first" if c.args.is_empty() => {
                return self.aggregate(Agg::of(f).expect("sum, min, max or first"), f, std::slice::from_ref(target))
            }
            "exists" | "all" | "exists_one" | "existsOne" | "filter" | "map" => {
                return err(format!(
                    "`.{f}()` 需要两个参数：成员名（记录名）和条件，如 members.{f}(m, m.age >= 16)、cars.{f}(r, …)"
                ))
            }
            _ => return err(format!("不支持方法 `.{f}()`（可用：.contains()、.startsWith()、.endsWith()、.size()）")),
        };
        let (n, t) = self.expr(target)?;
        if t != Ty::Text {
            return err(format!(".{f}() 需要文本，却是{} `{}`", t.name(), show(target)));
        }
        let [arg] = c.args.as_slice() else {
            return err(format!(".{f}() 只接受一个参数"));
        };
        let Expr::Literal(LiteralValue::String(x)) = &arg.expr else {
            return err(format!(".{f}() 的参数应为字符串，如 .{f}('因病')"));
        };
        Ok((Node::StrTest(op, Box::new(n), x.inner().into()), Ty::Bool))
    }

    fn size(&self, e: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        match &e.expr {
            // `members.filter(m, …).size()`: how many members.
            Expr::Comprehension(c) => {
                return match self.members_macro(c)? {
                    (Quant::Count, over, body) => Ok((Node::Members(Quant::Count, over, Box::new(body)), Ty::Int)),
                    _ => err("size() 只能用于文本、成员列表（size(members)）或 members.filter(m, …)"),
                }
            }
            // `size(members)`: the number of members.
            Expr::Ident(r) if r == "members" && !self.names.member_candidates().is_empty() && self.var.is_none() => {
                let all = Node::Lit(Lit::Bool(true));
                return Ok((Node::Members(Quant::Count, Over::Members, Box::new(all)), Ty::Int));
            }
            // `size(cars)`, `m.xueji.size()`: the number of records.
            // (A list may share its key with a criterion, `medical`: here, as before a macro, the
            // list is meant; a text field of that name keeps its `size()`.)
            Expr::Ident(r)
                if !self.is_var(r)
                    && self.names.list(r).is_some()
                    && !matches!(self.names.resolve(r), Some(Name::Field(_, Ty::Text))) =>
            {
                let over = self.range(e)?;
                return Ok((Node::Members(Quant::Count, over, Box::new(Node::Lit(Lit::Bool(true)))), Ty::Int));
            }
            Expr::Select(s)
                if matches!(&s.operand.expr, Expr::Ident(v) if self.var == Some(v.as_str()))
                    && self.names.member(&s.field).is_none()
                    && self.names.list(&s.field).is_some() =>
            {
                let over = self.range(e)?;
                return Ok((Node::Members(Quant::Count, over, Box::new(Node::Lit(Lit::Bool(true)))), Ty::Int));
            }
            _ => {}
        }
        let (n, t) = self.expr(e)?;
        if t != Ty::Text {
            return err(format!("size() 需要文本，却是{} `{}`", t.name(), show(e)));
        }
        Ok((Node::Unary(Unary::Size, Box::new(n)), Ty::Int))
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
                "无法比较{}与{}：`{}` {} `{}`",
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
            (Ty::Month, Ty::Month) | (Ty::Date, Ty::Date) => {}
            (Ty::Bool, Ty::Bool) | (Ty::Text, Ty::Text) if equality => {}
            (Ty::Text, Ty::StrLit) | (Ty::StrLit, Ty::Text) if equality => {}
            (Ty::Enum(a), Ty::Enum(b)) if equality && a == b => {}
            (Ty::Enum(e), Ty::StrLit) if equality => y = self.enum_lit(e, &y)?,
            (Ty::StrLit, Ty::Enum(e)) if equality => x = self.enum_lit(e, &x)?,
            _ => return Err(mismatch()),
        }
        Ok((Node::Cmp(op, Box::new(x), Box::new(y)), Ty::Bool))
    }

    /// A text-valued expression made of string literals (through `?:`) as enum `e`: `None` when
    /// some value is not a literal.
    fn text_to_enum(&self, e: u16, n: &Node) -> Result<Option<Node>, CompileError> {
        Ok(match n {
            Node::Lit(Lit::Str(_)) => Some(self.enum_lit(e, n)?),
            Node::Cond(c, x, y) => match (self.text_to_enum(e, x)?, self.text_to_enum(e, y)?) {
                (Some(x), Some(y)) => Some(Node::Cond(c.clone(), Box::new(x), Box::new(y))),
                _ => None,
            },
            _ => None,
        })
    }

    fn enum_lit(&self, e: u16, n: &Node) -> Result<Node, CompileError> {
        let Node::Lit(Lit::Str(s)) = n else { unreachable!("only called on string literals") };
        match self.names.enum_alias(e, s) {
            Some(i) => Ok(Node::Lit(Lit::Enum(i))),
            None => {
                let values = self.names.enum_values(e);
                err(format!("'{s}' 不是可选值（{}）之一{}", values.join(", "), did_you_mean(s, values)))
            }
        }
    }

    fn in_list(&self, l: &IdedExpr, r: &IdedExpr) -> Result<(Node, Ty), CompileError> {
        let (x, tx) = self.expr(l)?;
        let Expr::List(list) = &r.expr else {
            return err("`in` 的右边应为列表，如 ['A', 'B']");
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
                    return err(format!("`{} in […]`：列表中是{}，而 `{}` 是{}", show(l), b.name(), show(l), tx.name()))
                }
            };
            lits.push(lit);
        }
        Ok((Node::In(Box::new(x), lits), Ty::Bool))
    }
}

/// Whether a filter macro's step adds the member itself (`@result + [m]`): `filter`, not `map`.
/// A `map` macro as the parser expands it: its condition (the three-argument form) and the value
/// it adds for each member; `None` for any other comprehension (`filter` included).
fn map_step(c: &ComprehensionExpr) -> Option<(Option<&IdedExpr>, &IdedExpr)> {
    let Expr::List(_) = &c.accu_init.expr else { return None };
    let Expr::Call(step) = &c.loop_step.expr else { return None };
    fn added<'e>(add: &'e IdedExpr, var: &str) -> Option<&'e IdedExpr> {
        let Expr::Call(a) = &add.expr else { return None };
        match (a.func_name.as_str(), a.args.as_slice()) {
            (operators::ADD, [_, IdedExpr { expr: Expr::List(l), .. }]) => match l.elements.as_slice() {
                [IdedExpr { expr: Expr::Ident(v), .. }] if v == var => None,
                [x] => Some(x),
                _ => None,
            },
            _ => None,
        }
    }
    match (step.func_name.as_str(), step.args.as_slice()) {
        (operators::ADD, _) => Some((None, added(&c.loop_step, &c.iter_var)?)),
        (operators::CONDITIONAL, [cond, add, _]) => Some((Some(cond), added(add, &c.iter_var)?)),
        _ => None,
    }
}

fn is_filter_step(add: &IdedExpr, var: &str) -> bool {
    match &add.expr {
        Expr::Call(c) if c.func_name == operators::ADD => match c.args.as_slice() {
            [_, IdedExpr { expr: Expr::List(l), .. }] => {
                matches!(l.elements.as_slice(), [IdedExpr { expr: Expr::Ident(v), .. }] if v == var)
            }
            _ => false,
        },
        _ => false,
    }
}

fn one_arg(f: &str, a: &[IdedExpr]) -> Result<(), CompileError> {
    if a.len() != 1 {
        return err(format!("{f}() 只接受一个参数"));
    }
    Ok(())
}

fn describe_ty(t: Ty, e: &IdedExpr) -> String {
    match dotted(e) {
        Some(n) => format!("{} `{n}`", t.name()),
        None => t.name().to_string(),
    }
}

/// A name as written: `members`, or `previous.members` (one dot, two identifiers).
fn dotted(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Ident(n) => Some(n.clone()),
        Expr::Select(s) if !s.test => match &s.operand.expr {
            Expr::Ident(o) => Some(format!("{o}.{}", s.field)),
            _ => None,
        },
        _ => None,
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
        Expr::Select(_) if dotted(e).is_some() => dotted(e).unwrap_or_default(),
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
                "-_" => format!("-{}", args[0]),
                "_?_:_" if args.len() == 3 => format!("{} ? {} : {}", args[0], args[1], args[2]),
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

/// The text an expression gives, string literals included (which [`eval`] leaves to comparisons):
/// what a derived text field holds.
pub fn eval_text(n: &Node, cx: &Ctx) -> Option<Box<str>> {
    match n {
        Node::Lit(Lit::Str(s)) => Some(s.clone()),
        Node::Cond(c, x, y) => match eval_bool(c, cx)? {
            true => eval_text(x, cx),
            false => eval_text(y, cx),
        },
        other => match eval(other, cx)? {
            V::Str(t) => Some(t.clone()),
            _ => None,
        },
    }
}

fn eval_inner<'a>(n: &Node, cx: &Ctx<'a>) -> Option<V<'a>> {
    Some(match n {
        Node::Lit(l) => match l {
            Lit::Bool(b) => V::Bool(*b),
            Lit::Num(x) => V::Num(*x),
            Lit::Enum(e) => V::Enum(*e),
            Lit::Date(d) => V::Date(*d),
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
        Node::And(xs) => V::Bool(eval_and(xs, cx)?),
        Node::Or(xs) => V::Bool(eval_or(xs, cx)?),
        Node::Cmp(op, x, y) => V::Bool(cmp(*op, x, y, cx)?),
        Node::Arith(op, x, y) => V::Num(eval_arith(*op, x, y, cx)?),
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
        Node::AtLeast(k, xs) => V::Bool(eval_at_least(*k, xs, cx)?),
        Node::Blank(i) => V::Bool(cx.cells[*i as usize].blank_test()?),
        Node::Known(x) => V::Bool(eval(x, cx).is_some()),
        Node::IsTrue(x) => V::Bool(eval_bool(x, cx) == Some(true)),
        Node::IsFalse(x) => V::Bool(eval_bool(x, cx) == Some(false)),
        Node::MonthsSince(x) => match eval(x, cx)? {
            V::Month(m) => V::Num(Num::from_int((cx.as_of_month - m) as i64)?),
            _ => return None,
        },
        Node::AsOf => V::Date(cx.as_of_day),
        Node::Present(i) => V::Bool(cx.cells[*i as usize].present()),
        Node::Unary(f, x) => return unary(*f, eval(x, cx)?),
        Node::StrTest(op, x, s) => match eval(x, cx)? {
            V::Str(t) => V::Bool(op.test(t, s)),
            _ => return None,
        },
        Node::Member(i) => return cx.member_field(*i),
        Node::MemberBlank(i) => V::Bool(cx.member[*i as usize].blank_test()?),
        Node::Record(_, i) => return cx.record_field(*i),
        Node::RecordBlank(_, i) => V::Bool(cx.record[*i as usize].blank_test()?),
        Node::Members(q, over, body) => return over_members(*q, *over, cx, |m| eval_bool(body, m)),
        Node::Agg(agg, over, keep, value) => {
            return fold_members(*agg, *over, cx, |m| eval_bool(keep, m), |m| eval(value, m))
        }
        Node::Binary(f, x, y) => return binary(*f, eval(x, cx)?, eval(y, cx)?),
    })
}

/// `xs[0] && xs[1] && …` in Kleene's logic, stopping at the first false.
#[inline]
fn eval_and(xs: &[Node], cx: &Ctx) -> Option<bool> {
    let mut acc = Some(true);
    for x in xs {
        acc = and3(acc, eval_bool(x, cx));
        if acc == Some(false) {
            break;
        }
    }
    acc
}

/// `xs[0] || xs[1] || …` in Kleene's logic, stopping at the first true.
#[inline]
fn eval_or(xs: &[Node], cx: &Ctx) -> Option<bool> {
    let mut acc = Some(false);
    for x in xs {
        acc = or3(acc, eval_bool(x, cx));
        if acc == Some(true) {
            break;
        }
    }
    acc
}

/// At least `k` of `xs` true: known once enough are true, or too few can be.
#[inline]
fn eval_at_least(k: u32, xs: &[Node], cx: &Ctx) -> Option<bool> {
    at_least(k, xs.iter().map(|x| eval_bool(x, cx)))
}

/// `at_least(k, …)` over three-valued results: true once `k` are true, false when too few can
/// be, otherwise unknown (the tree and the compiled evaluator share it).
#[inline(always)]
pub(crate) fn at_least(k: u32, results: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let (mut t, mut u) = (0u32, 0u32);
    for r in results {
        match r {
            Some(true) => t += 1,
            None => u += 1,
            Some(false) => {}
        }
    }
    if t >= k {
        Some(true)
    } else if t + u < k {
        Some(false)
    } else {
        None
    }
}

/// `x op y` of two numbers; `None` on overflow or division by zero.
#[inline]
fn eval_arith(op: ArithOp, x: &Node, y: &Node, cx: &Ctx) -> Option<Num> {
    let (V::Num(a), V::Num(b)) = (eval(x, cx)?, eval(y, cx)?) else { return None };
    match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => a.checked_div(b),
    }
}

/// A date as the `yyyymmdd` number conditions compare.
pub fn day_key(d: crate::value::Date) -> i32 {
    d.year * 10000 + d.month as i32 * 100 + d.day as i32
}

fn write_day(out: &mut String, d: i32) {
    let _ = write!(out, "{}-{:02}-{:02}", d / 10000, d / 100 % 100, d % 100);
}

pub(crate) fn lit_eq(l: &Lit, v: V) -> bool {
    match (l, v) {
        (Lit::Bool(a), V::Bool(b)) => *a == b,
        (Lit::Num(a), V::Num(b)) => *a == b,
        (Lit::Enum(a), V::Enum(b)) => *a == b,
        (Lit::Str(a), V::Str(b)) => **a == **b,
        (Lit::Date(a), V::Date(b)) => *a == b,
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
        (V::Date(a), V::Date(b)) => a.cmp(&b),
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
    explained_atoms(n, true, cx, &mut |atom, positive| {
        let v = eval_bool(atom, cx);
        if explains(result, v, positive) && !out.iter().any(|(b, _)| std::ptr::eq(*b, atom) || *b == atom) {
            out.push((atom, v));
        }
    });
    out
}

/// Whether an atom of value `v` (`positive`: not under a `!`) explains its condition's value
/// `result`: it agrees with it; an unknown result is explained by the unknown atoms.
#[inline(always)]
pub fn explains(result: Option<bool>, v: Option<bool>, positive: bool) -> bool {
    match (result, v) {
        (None, None) => true,
        (Some(r), Some(v)) => (v == positive) == r,
        _ => false,
    }
}

/// As [`each_atom`], but a `c ? x : y` whose condition is known is explained by the branch it
/// takes (its value is that branch's); with the condition unknown, by the condition.
fn explained_atoms<'n>(n: &'n Node, positive: bool, cx: &Ctx, f: &mut dyn FnMut(&'n Node, bool)) {
    match n {
        Node::Not(x) | Node::IsFalse(x) => explained_atoms(x, !positive, cx, f),
        Node::IsTrue(x) => explained_atoms(x, positive, cx, f),
        Node::And(xs) | Node::Or(xs) | Node::AtLeast(_, xs) => {
            for x in xs {
                explained_atoms(x, positive, cx, f);
            }
        }
        Node::Cond(c, x, y) => match eval_bool(c, cx) {
            Some(true) => explained_atoms(x, positive, cx, f),
            Some(false) => explained_atoms(y, positive, cx, f),
            None => f(c, positive),
        },
        Node::Lit(_) => {}
        _ => f(n, positive),
    }
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
    /// Whether the value of field `i` names itself without its label: the cell of a column the
    /// file lacks (`缺少列：不愁吃`) — not a field computed from others (`derive`), which is
    /// unknown for what it is computed from (`人均纯收入：无法计算（工资性收入：空白）`).
    fn names_itself(&self, i: u16, cx: &Ctx) -> bool {
        matches!(cx.cells[i as usize], Cell::Absent(_))
    }
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
    /// The label of a member field (`年龄`).
    fn member_label(&self, _i: u16) -> &str {
        "成员字段"
    }
    /// The text of value `v` of an enum member field.
    fn member_enum(&self, _i: u16, _v: u16) -> &str {
        "?"
    }
    /// The label of a department list (`车辆登记`).
    fn list_label(&self, _d: u16) -> &str {
        "比对名单"
    }
    /// The label of a column of a department list's records (`个人自付`).
    fn list_column_label(&self, _d: u16, _i: u16) -> &str {
        "记录的列"
    }
    /// The sentence of atom `n` prepared at load ([`Templates`]), when there is one.
    fn template(&self, _n: &Node) -> Option<&Template> {
        None
    }
    /// Itself as a trait object.
    fn as_dyn(&self) -> &dyn Describe;
}

/// Reasons' sentences prepared once a run, when the rules are bound to the date: every atom of
/// the rule set that [`write_atom`] writes the same way for every household but for its values
/// (a comparison of fields, parameters, literals and computed operands; a field as
/// `label：value`) is kept as its literal pieces — labels, operators, the thresholds in force with
/// their sources, the connectives, merged into one text where they meet — and the holes where
/// the household's values go. Found by the atom's address in the rule set.
#[derive(Debug, Default)]
pub struct Templates {
    /// (address of the atom, index into `list`), sorted by address.
    index: Vec<(usize, u32)>,
    list: Vec<Template>,
    /// Per criterion whose condition is one atom: that atom's template (index into `list`),
    /// found without a search; `u32::MAX` for the others.
    crits: Vec<u32>,
}

impl Templates {
    /// The templates of every atom of `roots` (the rule set's conditions) that has one.
    pub fn build<'n>(roots: impl IntoIterator<Item = &'n Node>, d: &dyn Describe) -> Templates {
        let mut t = Templates::default();
        for root in roots {
            walk(root, &mut |n| {
                let key = n as *const Node as usize;
                if t.index.iter().any(|&(k, _)| k == key) {
                    return;
                }
                if let Some(tp) = Template::of(n, d) {
                    t.index.push((key, t.list.len() as u32));
                    t.list.push(tp);
                }
            });
        }
        t.index.sort_unstable();
        t
    }

    /// Criterion `i`'s condition is the atom `n`, with a template if it has one.
    pub fn set_crit(&mut self, i: usize, n: &Node) {
        let k = self.get_index(n).unwrap_or(u32::MAX);
        if self.crits.len() <= i {
            self.crits.resize(i + 1, u32::MAX);
        }
        self.crits[i] = k;
    }

    /// The template of criterion `i`'s condition when that is one atom with a template.
    #[inline]
    pub fn crit(&self, i: usize) -> Option<&Template> {
        self.list.get(*self.crits.get(i)? as usize)
    }

    fn get_index(&self, n: &Node) -> Option<u32> {
        let key = n as *const Node as usize;
        let k = self.index.binary_search_by_key(&key, |&(k, _)| k).ok()?;
        Some(self.index[k].1)
    }

    /// The template of atom `n`, if it has one.
    #[inline]
    pub fn get(&self, n: &Node) -> Option<&Template> {
        Some(&self.list[self.get_index(n)? as usize])
    }
}

/// One atom's sentence, for each of its values (true, false, unknown).
#[derive(Debug)]
pub struct Template {
    by_value: [Vec<Piece>; 3],
}

/// A piece of a [`Template`].
#[derive(Debug)]
enum Piece {
    /// Literal text.
    Text(Box<str>),
    /// The household's value of a field ([`Describe::write_field_value`]).
    Value(u16),
    /// A field as `label：value` (this text is the `label：`), or only the value when that names
    /// itself (as [`write_field_is`]).
    FieldIs(u16, Box<str>),
    /// The value of a computed operand ([`write_computed_value`]).
    Computed(Box<Node>),
}

impl Template {
    /// The template of atom `n`, when [`write_atom`] writes it from literal pieces and values.
    fn of(n: &Node, d: &dyn Describe) -> Option<Template> {
        let field_is = |i: u16| {
            let p = vec![Piece::FieldIs(i, format!("{}：", d.field_label(i)).into())];
            Some(Template { by_value: [p, Vec::new(), Vec::new()] })
        };
        match n {
            Node::Field(i) | Node::Blank(i) => field_is(*i),
            Node::In(x, _) => match x.as_ref() {
                Node::Field(i) => field_is(*i),
                _ => None,
            },
            Node::Cmp(op, x, y) => {
                match (x.as_ref(), y.as_ref()) {
                    (Node::Field(i), Node::Lit(Lit::Enum(_)) | Node::Lit(Lit::Str(_))) => return field_is(*i),
                    (Node::Decision(..), Node::Lit(Lit::Enum(_))) => return None,
                    _ => {}
                }
                let by_value = [Some(true), Some(false), None].map(|v| {
                    let mut p = Vec::new();
                    operand_pieces(&mut p, x, d);
                    let mid = match v {
                        Some(v) => format!(" {} ", if v { op.symbol() } else { op.negate().symbol() }),
                        None => format!("，无法判断是否 {} ", op.symbol()),
                    };
                    push_text(&mut p, &mid);
                    operand_pieces(&mut p, y, d);
                    p
                });
                Some(Template { by_value })
            }
            _ => None,
        }
    }

    /// The sentence for `value`, the household's values in its holes.
    #[inline]
    pub fn write<D: Describe + ?Sized>(&self, out: &mut String, value: Option<bool>, cx: &Ctx, d: &D) {
        // A field's sentence is the same for every value: kept once, as the first.
        let pieces = match value {
            Some(true) => &self.by_value[0],
            Some(false) if !self.by_value[1].is_empty() => &self.by_value[1],
            None if !self.by_value[2].is_empty() => &self.by_value[2],
            _ => &self.by_value[0],
        };
        for p in pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(i) => d.write_field_value(out, *i, cx),
                Piece::FieldIs(i, label) => {
                    // A column the file lacks names itself: "缺少列：不愁吃" (as `write_field_is`).
                    if !d.names_itself(*i, cx) {
                        out.push_str(label);
                    }
                    d.write_field_value(out, *i, cx);
                }
                Piece::Computed(n) => write_computed_value(out, n, cx, d.as_dyn()),
            }
        }
    }
}

/// `t` appended to the pieces, into the text before it when there is one.
fn push_text(p: &mut Vec<Piece>, t: &str) {
    if t.is_empty() {
        return;
    }
    if let Some(Piece::Text(last)) = p.last_mut() {
        *last = format!("{last}{t}").into();
    } else {
        p.push(Piece::Text(t.into()));
    }
}

/// The pieces of an operand, as [`write_operand`] writes it.
fn operand_pieces(p: &mut Vec<Piece>, n: &Node, d: &dyn Describe) {
    let mut text = String::new();
    match n {
        Node::Field(i) => {
            text.push_str(d.field_label(*i));
            text.push(' ');
            push_text(p, &text);
            p.push(Piece::Value(*i));
        }
        Node::Param(_) | Node::Lit(_) => {
            // Labels, thresholds in force and literals: no household value.
            write_operand_text(&mut text, n, d);
            push_text(p, &text);
        }
        _ => {
            write_formula(&mut text, n, d);
            text.push(' ');
            push_text(p, &text);
            p.push(Piece::Computed(Box::new(n.clone())));
        }
    }
}

/// An enum literal as text, given the operand it is compared with.
fn write_enum_lit(out: &mut String, other: &Node, v: u16, d: &dyn Describe) {
    match other {
        Node::Field(i) => out.push_str(d.field_enum(*i, v)),
        Node::Decision(i, _) => out.push_str(d.decision_value(*i, v)),
        Node::Member(i) => out.push_str(d.member_enum(*i, v)),
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
        Node::Param(_) | Node::Lit(_) => write_operand_text(out, n, d),
        _ => {
            write_formula(out, n, d);
            out.push(' ');
            write_computed_value(out, n, cx, d);
        }
    }
}

/// A parameter (its label and the value in force) or a literal, as [`write_operand`] writes it.
fn write_operand_text(out: &mut String, n: &Node, d: &dyn Describe) {
    match n {
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
        Node::Lit(Lit::Date(x)) => write_day(out, *x),
        _ => {}
    }
}

/// The value of a computed operand, as [`write_operand`] writes it after its formula.
fn write_computed_value(out: &mut String, n: &Node, cx: &Ctx, d: &dyn Describe) {
    match eval(n, cx) {
        Some(V::Num(x)) => x.write_to(out),
        Some(V::Month(m)) => out.push_str(&crate::value::fmt_month(m)),
        Some(V::Date(d)) => write_day(out, d),
        Some(_) => {}
        None if cx.members.is_none() && reads_members(n) => out.push_str("未知（无成员行：户表不含人员信息）"),
        None if unknown_list(out, n, cx, d) => {}
        None => out.push_str("未知"),
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
        Node::Lit(Lit::Date(x)) => write_day(out, *x),
        Node::AsOf => out.push_str("评估日期"),
        Node::Present(i) => {
            out.push('“');
            out.push_str(d.field_label(*i));
            out.push_str("”列");
        }
        Node::Neg(x) => {
            out.push('−');
            write_formula(out, x, d);
        }
        Node::MonthsSince(x) => {
            out.push('自');
            write_formula(out, x, d);
            out.push_str("起的月数");
        }
        Node::Member(i) => out.push_str(d.member_label(*i)),
        Node::MemberBlank(i) => {
            out.push_str(d.member_label(*i));
            out.push_str("为空");
        }
        Node::Record(l, i) => out.push_str(d.list_column_label(*l, *i)),
        Node::RecordBlank(l, i) => {
            out.push_str(d.list_column_label(*l, *i));
            out.push_str("为空");
        }
        Node::Known(x) => {
            write_formula(out, x, d);
            out.push_str("已知");
        }
        Node::Blank(i) => {
            out.push_str(d.field_label(*i));
            out.push_str("为空");
        }
        _ => write_compound(out, n, d),
    }
}

/// [`write_formula`] of a function, an arithmetic, a choice, a member macro, a comparison or a
/// list test.
fn write_compound(out: &mut String, n: &Node, d: &dyn Describe) {
    match n {
        Node::Unary(f, x) => {
            write_formula(out, x, d);
            out.push_str(match f {
                Unary::Year => "的年份",
                Unary::Month => "的月份",
                Unary::Size => "的字数",
                Unary::IdValid => "为有效证件号码",
            });
        }
        Node::StrTest(op, x, s) => {
            write_formula(out, x, d);
            out.push_str(op.words());
            out.push('“');
            out.push_str(s);
            out.push('”');
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
        Node::Members(q, over, body) => write_members(out, *q, *over, body, d),
        Node::Agg(agg, over, keep, value) => write_agg(out, *agg, *over, keep, value, d),
        Node::Binary(Binary::MonthsBetween, x, y) => {
            out.push('自');
            write_formula(out, x, d);
            out.push('至');
            write_formula(out, y, d);
            out.push_str("的月数");
        }
        Node::Binary(Binary::AgeAt, x, y) => {
            write_formula(out, x, d);
            out.push('在');
            write_formula(out, y, d);
            out.push_str("的周岁");
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
        Node::In(x, list) => write_in(out, x, list, d),
        _ => out.push('…'),
    }
}

/// A member macro in words (`有成员（…）`, `成员中（…）的人数`); a record macro likewise
/// (`车辆登记中有记录（…）`, `成员在学籍中的记录数`).
fn write_members(out: &mut String, q: Quant, over: Over, body: &Node, d: &dyn Describe) {
    if over != Over::Members {
        return write_records(out, q, over, body, d);
    }
    out.push_str(match q {
        Quant::Exists => "有成员",
        Quant::All => "所有成员",
        Quant::ExistsOne => "恰有一名成员",
        Quant::Count if *body == Node::Lit(Lit::Bool(true)) => return out.push_str("成员人数"),
        Quant::Count => "成员中",
    });
    out.push('（');
    write_condition(out, body, d);
    out.push('）');
    if q == Quant::Count {
        out.push_str("的人数");
    }
}

/// The records of a record macro in words: `车辆登记中`, `成员在学籍中`.
fn write_list(out: &mut String, over: Over, d: &dyn Describe) {
    match over {
        Over::Members => out.push_str("成员"),
        Over::Records(l, _) => out.push_str(d.list_label(l)),
        Over::MemberRecords(l, _) => {
            out.push_str("成员在");
            out.push_str(d.list_label(l));
        }
    }
}

/// A record macro in words (`车辆登记中有记录（…）`, `车辆登记记录数`, `学籍记录数（成员）`: the
/// count as the labels of the fields `cars_count` and `m.xueji_count` say it).
fn write_records(out: &mut String, q: Quant, over: Over, body: &Node, d: &dyn Describe) {
    if let (Quant::Count, Node::Lit(Lit::Bool(true))) = (q, body) {
        let (Over::Records(l, _) | Over::MemberRecords(l, _)) = over else { return };
        out.push_str(d.list_label(l));
        out.push_str("记录数");
        if matches!(over, Over::MemberRecords(..)) {
            out.push_str("（成员）");
        }
        return;
    }
    write_list(out, over, d);
    out.push_str(match q {
        Quant::Exists => "中有记录",
        Quant::All => "中所有记录",
        Quant::ExistsOne => "中恰有一条记录",
        Quant::Count => "中",
    });
    out.push('（');
    write_condition(out, body, d);
    out.push('）');
    if q == Quant::Count {
        out.push_str("的记录数");
    }
}

/// `sum(members.map(m, c, x))` and the like in words (`成员中（…）者的年龄之和`, `成员年龄的最大值`,
/// `医保大额自付记录的个人自付之和`).
fn write_agg(out: &mut String, agg: Agg, over: Over, keep: &Node, value: &Node, d: &dyn Describe) {
    let records = over != Over::Members;
    write_list(out, over, d);
    match keep {
        Node::Lit(Lit::Bool(true)) => {}
        c => {
            out.push_str("中（");
            write_condition(out, c, d);
            out.push_str(if records { "）的记录的" } else { "）者的" });
        }
    }
    write_formula(out, value, d);
    // `医保大额自付个人自付合计`, as the label of the field `medical_self_paid_sum` says it.
    out.push_str(match agg {
        Agg::Sum if records => "合计",
        Agg::Min if records => "最小值",
        Agg::Max if records => "最大值",
        _ => agg.words(),
    });
}

/// `x in [..]` in words (`x为a/b`).
fn write_in(out: &mut String, x: &Node, list: &[Lit], d: &dyn Describe) {
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

/// A condition in words, `&&`, `||` and `!` included (a member macro's condition).
fn write_condition(out: &mut String, n: &Node, d: &dyn Describe) {
    match n {
        Node::And(xs) | Node::Or(xs) => {
            let word = if matches!(n, Node::And(_)) { "且" } else { "或" };
            for (k, x) in xs.iter().enumerate() {
                if k > 0 {
                    out.push_str(word);
                }
                write_condition(out, x, d);
            }
        }
        Node::Not(x) => {
            out.push('非');
            write_condition(out, x, d);
        }
        _ => write_formula(out, n, d),
    }
}

/// Render one atom (not a criterion reference) as a sentence about the household.
pub fn render_atom(n: &Node, value: Option<bool>, cx: &Ctx, d: &dyn Describe) -> String {
    let mut s = String::new();
    write_atom(&mut s, n, value, cx, d);
    s
}

/// `label：value` of a field.
pub fn write_field_is(out: &mut String, i: u16, cx: &Ctx, d: &dyn Describe) {
    // A column the file lacks names itself: "缺少列：不愁吃".
    if d.names_itself(i, cx) {
        return d.write_field_value(out, i, cx);
    }
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
    if let Some(t) = d.template(n) {
        return t.write(out, value, cx, d);
    }
    match n {
        Node::Field(i) | Node::Blank(i) => write_field_is(out, *i, cx, d),
        // A department list not given (`--with`): the field names the missing list.
        Node::Present(i) if matches!(cx.cells[*i as usize], Cell::Absent(crate::household::Missing::List(_))) => {
            write_field_is(out, *i, cx, d)
        }
        Node::Known(x) if matches!(**x, Node::Field(_)) => write_atom(out, x, value, cx, d),
        Node::Cmp(op, x, y) => {
            // Equality with an enum literal reads as "<field>：<value>" (户类型：…).
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
        // A ledger row: no member list to look at.
        Node::Members(..) | Node::Agg(..) if cx.members.is_none() && reads_members(n) => {
            write_formula(out, n, d);
            out.push_str("：未知（无成员行：户表不含人员信息）");
        }
        Node::Members(Quant::Count, ..) => {
            write_formula(out, n, d);
            out.push(' ');
            if unknown_list(out, n, cx, d) {
                return;
            }
            match eval(n, cx) {
                Some(V::Num(x)) => x.write_to(out),
                _ => out.push_str("未知"),
            }
        }
        other => {
            write_formula(out, other, d);
            out.push('：');
            if unknown_list(out, n, cx, d) {
                return;
            }
            out.push_str(match value {
                Some(true) => "是",
                Some(false) => "否",
                None => "未知",
            });
        }
    }
}

/// `未知（缺少比对名单：车辆登记）` when `n` reads a department list's records and that list is
/// unknown for the household (not given, or no ID compared); whether it wrote that.
fn unknown_list(out: &mut String, n: &Node, cx: &Ctx, d: &dyn Describe) -> bool {
    let mut known = None;
    walk(n, &mut |x| {
        if let Node::Members(_, Over::Records(_, k), _) | Node::Agg(_, Over::Records(_, k), ..) = x {
            if known.is_none() && cx.field(*k).is_none() {
                known = Some(*k);
            }
        }
    });
    let Some(k) = known else { return false };
    out.push_str("未知（");
    match cx.cells[k as usize] {
        Cell::Absent(_) => d.write_field_value(out, k, cx),
        _ => out.push_str("本户无可比对的证件号码"),
    }
    out.push('）');
    true
}

/// Whether `n` folds over the member list (a member macro, `sum(members.map(…))`, …).
pub fn reads_members(n: &Node) -> bool {
    let mut any = false;
    walk(n, &mut |x| {
        any |= matches!(
            x,
            Node::Members(_, Over::Members | Over::MemberRecords(..), _)
                | Node::Agg(_, Over::Members | Over::MemberRecords(..), ..)
        )
    });
    any
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
        | Node::Unary(_, x)
        | Node::StrTest(_, x, _)
        | Node::Members(_, _, x)
        | Node::In(x, _) => walk(x, f),
        Node::Agg(_, _, keep, value) => {
            walk(keep, f);
            walk(value, f);
        }
        Node::And(xs) | Node::Or(xs) | Node::AtLeast(_, xs) => xs.iter().for_each(|x| walk(x, f)),
        Node::Cmp(_, x, y) | Node::Arith(_, x, y) | Node::Binary(_, x, y) => {
            walk(x, f);
            walk(y, f);
        }
        Node::Cond(c, x, y) => {
            walk(c, f);
            walk(x, f);
            walk(y, f);
        }
        Node::Lit(_)
        | Node::Field(_)
        | Node::Param(_)
        | Node::Crit(_)
        | Node::Decision(..)
        | Node::Blank(_)
        | Node::Present(_)
        | Node::Member(_)
        | Node::MemberBlank(_)
        | Node::Record(..)
        | Node::RecordBlank(..)
        | Node::AsOf => {}
    }
}

/// The fields, parameters, criteria and decisions a node reads, each listed once in order of
/// appearance.
#[derive(Debug, Default)]
pub struct Refs {
    pub fields: Vec<u16>,
    /// Member fields (inside member macros).
    pub members: Vec<u16>,
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
        Node::Member(i) | Node::MemberBlank(i) => add(&mut r.members, *i),
        // A list's records are read through the field that says whether they are known.
        Node::Members(_, Over::Records(_, k), _) | Node::Agg(_, Over::Records(_, k), ..) => add(&mut r.fields, *k),
        Node::Members(_, Over::MemberRecords(_, k), _) | Node::Agg(_, Over::MemberRecords(_, k), ..) => {
            add(&mut r.members, *k)
        }
        _ => {}
    });
    r
}

#[cfg(test)]
mod tests {
    use super::escape_literals;

    fn parse(s: &str) -> Result<cel::common::ast::IdedExpr, String> {
        cel::parser::Parser::new().max_recursion_depth(32).parse(s).map_err(|e| e.to_string())
    }

    /// Every string of the built-in rule files that has a non-ASCII character inside a literal
    /// parses to the same tree escaped as written; texts the rewriting does not understand are
    /// left to the parser as they are.
    #[test]
    fn escaped_literals_parse_to_the_same_tree() {
        fn strings(v: &toml::Value, out: &mut Vec<String>) {
            match v {
                toml::Value::String(s) => out.push(s.clone()),
                toml::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                toml::Value::Table(t) => t.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        let mut texts = Vec::new();
        for (_, _, text) in crate::ruleset::EMBEDDED {
            strings(&toml::Value::Table(toml::from_str(text).unwrap()), &mut texts);
        }
        texts.extend(
            [
                "a in ['无', \"否\", '𠀀']",
                "x == '户' && y != \"村\" ? '是' : '否'",
                "'a''b' + '户'",
                "x == '户",
                "x == '户' )",
            ]
            .map(String::from),
        );
        let mut escaped = 0;
        for t in &texts {
            let Some(e) = escape_literals(t) else { continue };
            escaped += 1;
            assert!(e.is_ascii(), "{e}");
            match (parse(t), parse(&e)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{t}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{t}: {a:?} as written, {b:?} escaped"),
            }
        }
        assert!(escaped > 20, "{escaped}");
        for t in ["r'户'", "b'户'", "'户\\n'", "'户' // 注释", "'''户'''", "户 == 'a'", "'户\n'", "'户"] {
            assert_eq!(escape_literals(t), None, "{t}");
        }
        assert_eq!(escape_literals("a == '无𠀀'").as_deref(), Some("a == '\\u65e0\\U00020000'"));
    }
}

#[cfg(test)]
mod member_function_tests {
    use super::*;

    fn day(y: i32, m: i32, d: i32) -> V<'static> {
        V::Date(y * 10000 + m * 100 + d)
    }
    fn num(v: Option<V>) -> Option<i64> {
        match v? {
            V::Num(n) => n.as_int(),
            _ => None,
        }
    }

    /// Full years; the birthday itself counts, the day before does not; 29 February's birthday
    /// in a common year comes on 1 March; before the birth there is no age.
    #[test]
    fn age_at_the_birthday_and_the_day_before() {
        let born = 20180615;
        assert_eq!(age(born, 20240615), Some(6));
        assert_eq!(age(born, 20240614), Some(5));
        assert_eq!(age(born, 20180615), Some(0));
        assert_eq!(age(born, 20180614), None);
        assert_eq!(age(20120229, 20230228), Some(10));
        assert_eq!(age(20120229, 20230301), Some(11));
        assert_eq!(age(20120229, 20240229), Some(12));
        // Through `binary`, from a date or an ID number (18 and 15 digits, a 残疾人证 number).
        let d = day(2024, 6, 15);
        assert_eq!(num(binary(Binary::AgeAt, day(2018, 6, 15), d)), Some(6));
        let id: Box<str> = "52000020180615001X".into();
        assert_eq!(num(binary(Binary::AgeAt, V::Str(&id), d)), Some(6));
        let id: Box<str> = "520000201806160015".into();
        assert_eq!(num(binary(Binary::AgeAt, V::Str(&id), d)), Some(5));
        let old: Box<str> = "520000800101001".into(); // 1980-01-01, old form
        assert_eq!(num(binary(Binary::AgeAt, V::Str(&old), d)), Some(44));
        let card: Box<str> = "5200002018061500 1X4".replace(' ', "").into();
        assert_eq!(num(binary(Binary::AgeAt, V::Str(&card), d)), None, "20 characters but not digits after 18");
        let card: Box<str> = "52000020180615001X14".into();
        assert_eq!(num(binary(Binary::AgeAt, V::Str(&card), d)), Some(6));
        let bad: Box<str> = "520000201806150011".into(); // wrong check digit
        assert_eq!(binary(Binary::AgeAt, V::Str(&bad), d), None);
    }

    /// Months from a to b: month indexes apart; between two dates the full months (a month-end
    /// day to a shorter month's last day is not yet a month).
    #[test]
    fn months_between_at_month_boundaries() {
        let m = |y: i32, mo: i32| V::Month(y * 12 + mo - 1);
        assert_eq!(months_between(m(2023, 1), m(2023, 7)), Some(6));
        assert_eq!(months_between(m(2023, 12), m(2024, 1)), Some(1));
        assert_eq!(months_between(m(2024, 1), m(2023, 12)), Some(-1));
        assert_eq!(months_between(day(2023, 1, 31), day(2023, 2, 28)), Some(0));
        assert_eq!(months_between(day(2023, 1, 31), day(2023, 3, 31)), Some(2));
        assert_eq!(months_between(day(2023, 1, 15), day(2023, 7, 14)), Some(5));
        assert_eq!(months_between(day(2023, 1, 15), day(2023, 7, 15)), Some(6));
        assert_eq!(months_between(day(2023, 7, 15), day(2023, 1, 16)), Some(-5));
        assert_eq!(months_between(day(2023, 7, 15), day(2023, 7, 1)), Some(0));
        // A month and a date: their months.
        assert_eq!(months_between(m(2023, 6), day(2023, 12, 1)), Some(6));
        assert_eq!(months_between(V::Bool(true), m(2023, 6)), None);
    }

    /// GB 11643: 18 characters with a valid birth date and check digit (X in either case), 15
    /// digits with a valid yymmdd, 20 and 22 digits (残疾人证) on a valid 18-character number.
    #[test]
    fn id_numbers_of_every_form() {
        for ok in [
            "52000020180615001X",
            "52000020180615001x",
            " 520000200806150015 ",
            "520000800101001",
            "52000020180615001X14",
            "52000020180615001X1401",
        ] {
            assert!(id_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "520000201806150011",   // check digit
            "520000201802300011",   // 30 February
            "520000801301001",      // month 13, old form
            "52000080010100X",      // old form is all digits
            "52000020180615001X1",  // 19 characters
            "52000020180615001XAB", // letters after 18
            "520000201806150011 14",
            "５２０００００２０１８０６１５００１Ｘ",
        ] {
            assert!(!id_valid(bad), "{bad}");
        }
        assert_eq!(birth_of("520000800101001"), crate::value::Date::new(1980, 1, 1));
    }
}

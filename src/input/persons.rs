//! Person exports (人员表): one row per person, grouped into households by `户编号`
//! (data-dictionary.md "Person export", policy.md §6).
//!
//! The household facts a ledger states directly — members, labour, dropouts (with the health
//! exemption), insured members, ill and disabled members — are derived from the members in
//! three-valued logic; ages come from the birth date in each member's ID number at the assessment
//! date. A household column repeated on members' rows must agree; if it does not, that is a data
//! problem and the field is unknown.
//!
//! A person column the file lacks leaves the facts derived from it unknown for every household
//! (`缺少列：劳动技能`), unless a household column gives them.
//!
//! Memory: members of a household need not be adjacent, so the whole export is held, grouped,
//! before the first household is assessed (about the file's size in memory).

use crate::household::{Cell, Household, Members, Missing, Problem, Scalar};
use crate::input::{header_key, text, RawRow};
use crate::ruleset::{Bound, RuleSet};
use crate::value::cell;
use crate::value::Num;

/// The person columns, by role: (role, headers that name it).
const COLUMNS: [(Col, &[&str]); 11] = [
    (Col::PersonId, &["人编号"]),
    (Col::Name, &["姓名"]),
    (Col::IdNumber, &["证件号码", "身份证号码", "身份证号", "公民身份号码"]),
    (Col::Relation, &["与户主关系"]),
    (Col::School, &["在校生状况", "在校生情况"]),
    (Col::DropReason, &["失学或辍学原因"]),
    (Col::Health, &["健康状况", "健康情况"]),
    (Col::Skill, &["劳动技能"]),
    (Col::InsResident, &["是否参加城乡居民基本医疗保险"]),
    (Col::InsEmployee, &["是否参加城镇职工基本医疗保险"]),
    (Col::InsSerious, &["是否参加大病保险"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    PersonId,
    Name,
    IdNumber,
    Relation,
    School,
    DropReason,
    Health,
    Skill,
    InsResident,
    InsEmployee,
    InsSerious,
}

/// Which column holds each person attribute.
#[derive(Debug, Clone, Default)]
pub struct PersonColumns {
    at: Vec<(Col, usize)>,
}

impl PersonColumns {
    /// Find the person columns of a header; `None` if it has neither 人编号 nor 与户主关系.
    pub fn find(columns: &[String], forced: bool) -> Option<PersonColumns> {
        let mut at = Vec::new();
        for (i, h) in columns.iter().enumerate() {
            let k = header_key(h);
            if let Some((col, _)) = COLUMNS.iter().find(|(_, names)| names.iter().any(|n| header_key(n) == k)) {
                if !at.iter().any(|(c, _)| c == col) {
                    at.push((*col, i));
                }
            }
        }
        let marker = at.iter().any(|(c, _)| matches!(c, Col::PersonId | Col::Relation));
        (marker || forced).then_some(PersonColumns { at })
    }
    pub fn index(&self, c: Col) -> Option<usize> {
        self.at.iter().find(|(x, _)| *x == c).map(|(_, i)| *i)
    }
    pub fn is_person_column(&self, i: usize) -> bool {
        self.at.iter().any(|(_, j)| *j == i)
    }
}

/// For a field derived from the members: `Some(None)` when the file has what it is computed
/// from, `Some(Some(header))` naming a person column it lacks; `None` for other fields.
pub fn missing_input(key: &str, cols: &PersonColumns) -> Option<Option<&'static str>> {
    let need: &[Col] = match key {
        "members" | "head_name" | "head_id" => &[],
        "labor" => &[Col::Skill],
        "dropouts" => &[Col::IdNumber, Col::School],
        "ill" | "disabled" => &[Col::Health],
        // Either insurance column will do.
        "insured" => {
            let any = [Col::InsResident, Col::InsEmployee].iter().any(|&c| cols.index(c).is_some());
            return Some((!any).then(|| header_of(Col::InsResident)));
        }
        _ => return None,
    };
    Some(need.iter().find(|&&c| cols.index(c).is_none()).map(|&c| header_of(c)))
}

/// The usual header of a person column.
fn header_of(c: Col) -> &'static str {
    COLUMNS.iter().find(|(x, _)| *x == c).map_or("", |(_, names)| names[0])
}

/// One member's cell, trimmed; `None` when blank or the column is absent.
fn get<'a>(row: &'a RawRow, cols: &PersonColumns, c: Col) -> Option<std::borrow::Cow<'a, str>> {
    let i = cols.index(c)?;
    let t = text(row.record.get(i)?).0;
    if cell::is_blank(&t) {
        None
    } else {
        Some(match t {
            std::borrow::Cow::Borrowed(s) => cell::normalize(s),
            std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(cell::normalize(&s).into_owned()),
        })
    }
}

/// A report of a member's cell that cannot be read: the household, the member's row, the column,
/// the value as shown, the message.
type Report<'r> = dyn Fn(&mut Household, &RawRow, Col, &str, String) + 'r;

/// What the members of a household add up to, as they are read.
struct Tally {
    labor: Option<i64>,
    dropouts: i64,
    dropouts_unknown: bool,
    insured: i64,
    uninsured: bool,
    insured_unknown: bool,
    ill: i64,
    disabled: i64,
    health_unknown: bool,
}

/// Derive the member-based facts of a household into `hh` (whose household columns are set).
pub fn derive(b: &Bound, hh: &mut Household, members: &[RawRow], cols: &PersonColumns, headers: &[String]) {
    let rs = b.rules;
    let param = |key: &str| -> Option<i64> {
        let i = rs.params.iter().position(|p| p.key == key)?;
        b.params[i].as_int()
    };
    let ages = (param("school_age_min").unwrap_or(6), param("school_age_max").unwrap_or(15));
    let report = |hh: &mut Household, row: &RawRow, c: Col, value: &str, message: String| {
        let column = cols.index(c).and_then(|i| headers.get(i)).cloned().unwrap_or_default();
        hh.problems.push(Problem { row: row.row, column, field: None, value: value.to_string(), message });
    };
    let mut t = Tally {
        labor: Some(0),
        dropouts: 0,
        dropouts_unknown: false,
        insured: 0,
        uninsured: false,
        insured_unknown: false,
        ill: 0,
        disabled: 0,
        health_unknown: false,
    };
    let mut head: Option<&RawRow> = None;
    for m in members {
        if get(m, cols, Col::Relation).as_deref() == Some("户主") && head.is_none() {
            head = Some(m);
        }
        tally_member(&mut t, b, hh, m, cols, ages, &report);
    }
    set_derived(rs, hh, members, cols, &t);
    if let Some(h) = head {
        set_head(rs, hh, h, cols, headers);
    }
}

/// Add member `m` to the tally: school, labour, insurance, health.
fn tally_member(
    t: &mut Tally,
    b: &Bound,
    hh: &mut Household,
    m: &RawRow,
    cols: &PersonColumns,
    (age_min, age_max): (i64, i64),
    report: &Report,
) {
    let age = member_age(b, hh, m, cols, report);
    // Dropout: a school-age member not in school, unless for illness or disability.
    let school_age = age.map(|a| (age_min..=age_max).contains(&a));
    let out_of_school = get(m, cols, Col::School).map(|s| s == "非在校生" || s.contains("失学") || s.contains("辍学"));
    let exempt = matches!(get(m, cols, Col::DropReason).as_deref(), Some("因病" | "因残" | "因疾"));
    match (school_age, out_of_school) {
        (Some(false), _) | (_, Some(false)) => {}
        (Some(true), Some(true)) if exempt => {}
        (Some(true), Some(true)) => t.dropouts += 1,
        _ => t.dropouts_unknown = true,
    }
    // Labour.
    match get(m, cols, Col::Skill).as_deref() {
        Some("普通劳动力" | "技能劳动力" | "弱劳动力或半劳动力") => t.labor = t.labor.map(|n| n + 1),
        Some("丧失劳动力" | "无劳动力") => {}
        Some(other) => {
            report(
                hh,
                m,
                Col::Skill,
                other,
                "应为 普通劳动力/技能劳动力/弱劳动力或半劳动力/丧失劳动力/无劳动力".into(),
            );
            t.labor = None;
        }
        None => t.labor = None,
    }
    tally_insurance(t, hh, m, cols, report);
    // Health: blank = nothing recorded.
    match get(m, cols, Col::Health).as_deref() {
        None | Some("健康") => {}
        Some("长期慢性病" | "患大病" | "大病") => t.ill += 1,
        Some("残疾") => t.disabled += 1,
        Some(other) => {
            report(hh, m, Col::Health, other, "应为 健康/残疾/大病/长期慢性病/患大病".into());
            t.health_unknown = true;
        }
    }
}

/// A member's age from the ID number's birth date, at the assessment date.
fn member_age(b: &Bound, hh: &mut Household, m: &RawRow, cols: &PersonColumns, report: &Report) -> Option<i64> {
    match get(m, cols, Col::IdNumber) {
        None => None,
        Some(id) => match cell::id_number(&id) {
            Ok(id) => cell::birth_date(&id).map(|d| {
                let a = b.as_of.year - d.year;
                i64::from(if (b.as_of.month, b.as_of.day) < (d.month, d.day) { a - 1 } else { a })
            }),
            Err(msg) => {
                let shown = crate::privacy::mask_id(&id);
                report(hh, m, Col::IdNumber, &shown, msg);
                None
            }
        },
    }
}

/// Insurance: insured if either basic scheme is 是; uninsured if every column given is 否.
fn tally_insurance(t: &mut Tally, hh: &mut Household, m: &RawRow, cols: &PersonColumns, report: &Report) {
    let mut answers = Vec::new();
    for c in [Col::InsResident, Col::InsEmployee] {
        if let Some(v) = get(m, cols, c) {
            match cell::boolean(&v) {
                Ok(x) => answers.push(x),
                Err(msg) => {
                    report(hh, m, c, &v, msg);
                    answers.push(false);
                    t.insured_unknown = true;
                }
            }
        }
    }
    if answers.contains(&true) {
        t.insured += 1;
    } else if !answers.is_empty()
        && answers.len() == [Col::InsResident, Col::InsEmployee].iter().filter(|c| cols.index(**c).is_some()).count()
    {
        t.uninsured = true;
    } else {
        t.insured_unknown = true;
    }
}

/// The derived household fields from the tally (members, labour, dropouts, insured, ill,
/// disabled), each where the rule set has it.
fn set_derived(rs: &RuleSet, hh: &mut Household, members: &[RawRow], cols: &PersonColumns, t: &Tally) {
    let set = |hh: &mut Household, key: &str, v: Option<i64>| {
        if let Some(&i) = rs.field_index.get(key) {
            // A person column it is computed from is absent: a household column's value stays;
            // otherwise it is unknown, naming that column.
            if let Some(h) = missing_input(key, cols).flatten() {
                if matches!(hh.cells[i as usize], Cell::Blank | Cell::Absent(_)) {
                    hh.cells[i as usize] = Cell::Absent(Missing::Person(h));
                }
                return;
            }
            hh.cells[i as usize] = match v.and_then(Num::from_int) {
                Some(n) => Cell::Derived(Scalar::Num(n)),
                // Unknown from the members: a household column's value (or its alternative's)
                // stands.
                None if hh.cells[i as usize].value().is_some() => return,
                None => Cell::Blank,
            };
        }
    };
    // Members: the number of person rows; a 人数/家庭人口数 column must agree.
    let n = members.len() as i64;
    if let Some(&i) = rs.field_index.get("members") {
        match hh.cells[i as usize].value() {
            Some(Scalar::Num(stated)) if *stated != Num::from_int(n).unwrap_or(Num(0)) => {
                hh.problems.push(Problem {
                    row: members[0].row,
                    column: rs.fields[i as usize].header.clone(),
                    field: Some("members".into()),
                    value: stated.to_string(),
                    message: format!("家庭人口数与成员行数（{n}）不一致"),
                });
                hh.cells[i as usize] = Cell::Invalid(stated.to_string().into());
            }
            _ => set(hh, "members", Some(n)),
        }
    }
    set(hh, "labor", t.labor);
    set(
        hh,
        "dropouts",
        if t.dropouts > 0 {
            Some(t.dropouts)
        } else if t.dropouts_unknown {
            None
        } else {
            Some(0)
        },
    );
    // Medical: unmet when someone is uninsured (any count below members says so), met when all
    // are insured, otherwise unknown.
    set(
        hh,
        "insured",
        if t.uninsured {
            Some(t.insured.min(n - 1))
        } else if t.insured_unknown {
            None
        } else {
            Some(t.insured)
        },
    );
    set(hh, "ill", if t.health_unknown { None } else { Some(t.ill) });
    set(hh, "disabled", if t.health_unknown { None } else { Some(t.disabled) });
}

/// The head's name and ID number, from the row of the 户主.
fn set_head(rs: &RuleSet, hh: &mut Household, h: &RawRow, cols: &PersonColumns, headers: &[String]) {
    for (key, c) in [("head_name", Col::Name), ("head_id", Col::IdNumber)] {
        if let (Some(&i), Some(v)) = (rs.field_index.get(key), get(h, cols, c)) {
            let column = cols.index(c).and_then(|j| headers.get(j)).cloned().unwrap_or_default();
            let mut tmp = Household {
                row: h.row,
                source_rows: 1,
                cells: std::mem::take(&mut hh.cells),
                problems: Vec::new(),
                members: None,
                matches: Vec::new(),
                records: Default::default(),
            };
            rs.set_cell(&mut tmp, i, &v, &column);
            hh.cells = tmp.cells;
            // An invalid head ID is already reported above, with the member's row.
        }
    }
}

/// Read the rule set's member fields (`[persons.*]`) from each member's row into `hh.members`,
/// then derive those with a `derive` (a member's age from its ID number at the assessment date).
/// Only the member fields some rule reads are read ([`crate::ruleset::RuleSet::person_used`]).
/// A member field the file has no column for is unknown for every member. A cell that cannot be
/// read is a problem, unless one was already reported for that row and column.
pub fn read_members(b: &Bound, hh: &mut Household, members: &[RawRow], at: &[Option<usize>], headers: &[String]) {
    let rs = b.rules;
    let width = rs.persons.len();
    let mut ms = Members { width, cells: Vec::with_capacity(width * members.len()), rows: Vec::new() };
    for m in members {
        ms.rows.push(m.row);
        for (i, f) in rs.persons.iter().enumerate() {
            // A member field no rule reads is not read (its cell stays blank).
            if !rs.person_used[i] {
                ms.cells.push(Cell::Blank);
                continue;
            }
            let raw = at[i].map(|c| m.record.get(c).map(|bytes| text(bytes).0).unwrap_or_default());
            let cell = match rs.member_cell(i, raw.as_deref()) {
                Ok(cell) => cell,
                Err((cell, message)) => {
                    let column = at[i].and_then(|c| headers.get(c)).cloned().unwrap_or_default();
                    let raw = raw.as_deref().unwrap_or("");
                    let shown = if f.ty == crate::ruleset::file::FieldType::Id {
                        crate::privacy::mask_id(raw)
                    } else {
                        crate::input::clip(raw, 100)
                    };
                    if !hh.problems.iter().any(|p| p.row == m.row && p.column == column) {
                        hh.problems.push(Problem { row: m.row, column, field: None, value: shown, message });
                    }
                    cell
                }
            };
            ms.cells.push(cell);
        }
        let start = ms.cells.len() - width;
        rs.derive_member(b.as_of, &mut ms.cells[start..]);
    }
    hh.members = Some(ms);
}

//! Member macros (`members.exists(m, …)` and the like) over the national member fields: their
//! three-valued results, the tree and the compiled evaluator alike, and their load-time errors.

use std::collections::BTreeMap;

use super::expr::{self, Ctx, Ty};
use super::{fast, load, RuleSet};
use crate::household::Members;
use crate::value::Date;

fn as_of() -> Date {
    Date::new(2024, 6, 15).unwrap()
}

/// Members from rows of (member field, cell text).
fn members(rs: &RuleSet, rows: &[&[(&str, &str)]]) -> Members {
    let list: Vec<BTreeMap<String, toml::Value>> = rows
        .iter()
        .map(|r| r.iter().map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string()))).collect())
        .collect();
    let mut problems = Vec::new();
    let ms = crate::cases::members(rs, as_of(), &list, &mut problems).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    ms
}

/// A condition's value over a household with these members (`None`: a ledger row), by the tree
/// and by the compiled closure, which must agree.
fn eval(rs: &RuleSet, src: &str, ms: Option<&Members>) -> Option<i64> {
    let want = if src.contains(".size()") || src.starts_with("size(") { Ty::Int } else { Ty::Bool };
    let node = rs.compile_expr(src, want).unwrap_or_else(|e| panic!("{src}: {e}"));
    with_household(rs, ms, |cx| {
        let tree = expr::eval(&node, cx);
        if want == Ty::Bool {
            assert_eq!(fast::Cond::new(&node).eval(cx), tree.and_then(expr::V::as_bool), "{src}");
        }
        tree.and_then(number)
    })
}

/// `f` over a household of blank cells with these members, on [`as_of`].
fn with_household<R>(rs: &RuleSet, ms: Option<&Members>, f: impl FnOnce(&Ctx) -> R) -> R {
    let cells = vec![crate::household::Cell::Blank; rs.fields.len()];
    let b = rs.at(as_of()).unwrap();
    f(&Ctx {
        cells: &cells,
        params: &b.params,
        crits: &vec![None; rs.criteria.len()],
        decisions: &vec![0; rs.decisions.len()],
        as_of_month: as_of().month_index(),
        as_of_day: expr::day_key(as_of()),
        members: ms,
        member: &[],
        member_index: 0,
        records: &crate::household::NO_RECORDS,
        record: &[],
    })
}

/// A bool as 0/1, a whole number as itself.
fn number(v: expr::V) -> Option<i64> {
    match v {
        expr::V::Bool(b) => Some(b as i64),
        expr::V::Num(n) => n.as_int(),
        other => panic!("{other:?}"),
    }
}

const CHILD: (&str, &str) = ("id_number", "52000020180615001X"); // 6 on 2024-06-15
const ADULT: (&str, &str) = ("id_number", "520000198001010015"); // 44

#[test]
fn exists_all_exists_one_and_counts_in_kleene_logic() {
    let rs = load("national").unwrap();
    let known = members(
        &rs,
        &[
            &[ADULT, ("skill", "普通劳动力")],
            &[CHILD, ("skill", "无劳动力"), ("school", "小学")],
            &[ADULT, ("skill", "技能劳动力")],
        ],
    );
    let labour = "m.skill in ['普通劳动力', '技能劳动力']";
    assert_eq!(eval(&rs, &format!("members.exists(m, {labour})"), Some(&known)), Some(1));
    assert_eq!(eval(&rs, &format!("members.all(m, {labour})"), Some(&known)), Some(0));
    assert_eq!(eval(&rs, &format!("members.exists_one(m, {labour})"), Some(&known)), Some(0));
    assert_eq!(eval(&rs, "members.exists_one(m, m.age < 16)", Some(&known)), Some(1));
    assert_eq!(eval(&rs, &format!("members.filter(m, {labour}).size()"), Some(&known)), Some(2));
    assert_eq!(eval(&rs, &format!("size(members.filter(m, {labour}))"), Some(&known)), Some(2));
    assert_eq!(eval(&rs, "size(members)", Some(&known)), Some(3));
    assert_eq!(eval(&rs, "members.size()", Some(&known)), Some(3));
    assert_eq!(eval(&rs, "members.exists(m, m.age == 6 && m.school == '小学')", Some(&known)), Some(1));

    // One member's skill blank: unknown wherever that member could change the result.
    let one_unknown = members(&rs, &[&[ADULT, ("skill", "普通劳动力")], &[CHILD]]);
    assert_eq!(eval(&rs, &format!("members.exists(m, {labour})"), Some(&one_unknown)), Some(1), "settled by the first");
    assert_eq!(eval(&rs, &format!("members.all(m, {labour})"), Some(&one_unknown)), None);
    assert_eq!(eval(&rs, &format!("members.exists_one(m, {labour})"), Some(&one_unknown)), None);
    assert_eq!(eval(&rs, &format!("members.filter(m, {labour}).size()"), Some(&one_unknown)), None);
    assert_eq!(eval(&rs, "members.all(m, m.skill == '无劳动力')", Some(&one_unknown)), Some(0), "settled false");
    assert_eq!(eval(&rs, "members.exists(m, m.skill == '无劳动力')", Some(&one_unknown)), None);
    // Two true settle exists_one as false whatever the unknown one is.
    let two = members(&rs, &[&[ADULT, ("skill", "普通劳动力")], &[ADULT, ("skill", "普通劳动力")], &[CHILD]]);
    assert_eq!(eval(&rs, &format!("members.exists_one(m, {labour})"), Some(&two)), Some(0));

    // No member rows: exists false, all true, exists_one false, counts 0.
    let none = members(&rs, &[]);
    assert_eq!(eval(&rs, &format!("members.exists(m, {labour})"), Some(&none)), Some(0));
    assert_eq!(eval(&rs, &format!("members.all(m, {labour})"), Some(&none)), Some(1));
    assert_eq!(eval(&rs, &format!("members.exists_one(m, {labour})"), Some(&none)), Some(0));
    assert_eq!(eval(&rs, &format!("members.filter(m, {labour}).size()"), Some(&none)), Some(0));
    assert_eq!(eval(&rs, "size(members)", Some(&none)), Some(0));

    // A ledger row: no member list, every macro unknown (`known()` tells).
    for src in [
        "members.exists(m, m.age < 16)",
        "members.all(m, m.age < 16)",
        "members.exists_one(m, m.age < 16)",
        "members.filter(m, m.age < 16).size()",
        "size(members)",
    ] {
        assert_eq!(eval(&rs, src, None), None, "{src}");
    }
    assert_eq!(eval(&rs, "known(size(members))", None), Some(0));
}

#[test]
fn member_fields_blank_derived_and_the_household_alongside() {
    let rs = load("national").unwrap();
    let ms = members(&rs, &[&[CHILD], &[ADULT, ("school", "非在校生"), ("no_school_reason", "因病")]]);
    assert_eq!(eval(&rs, "members.exists(m, blank(m.school) && blank(m.no_school_reason))", Some(&ms)), Some(1));
    assert_eq!(eval(&rs, "members.filter(m, blank(m.school)).size()", Some(&ms)), Some(1));
    assert_eq!(eval(&rs, "members.all(m, id_valid(m.id_number))", Some(&ms)), Some(1));
    assert_eq!(
        eval(&rs, "members.exists(m, m.age == age_at('52000020180615001X', assessment_date))", Some(&ms)),
        Some(1)
    );
    // A household field inside the macro is the household's (blank here: unknown).
    assert_eq!(eval(&rs, "members.exists(m, m.age < 16 && food)", Some(&ms)), None);
    assert_eq!(eval(&rs, "members.exists(m, m.age > 100 && food)", Some(&ms)), Some(0));
}

/// Errors at load, in Chinese, naming what is wrong, with a suggestion where one is close.
#[test]
fn member_macro_errors_name_the_mistake() {
    let rs = load("national").unwrap();
    for (src, msg) in [
        ("members.exists(m, m.agee < 16)", "未知的成员字段 `m.agee`；是否应为 `age`？"),
        ("members.exists(m, m.skil == '普通劳动力')", "是否应为 `skill`？"),
        ("members.exists(m, m.skill == '普通劳力')", "不是可选值"),
        ("members.exists(m, m.age)", "需要是否值"),
        ("members.exists(m, m < 16)", "`m` 是成员"),
        ("members.filter(m, m.age < 16) == 1", "之后应接 .size()"),
        ("members.map(m, m.age).size() > 1", "不支持此宏"),
        ("members.exists(m, members.exists(n, n.age < m.age))", "不能嵌套"),
        ("village.exists(m, m.age < 16)", "只能用于成员列表"),
        ("m.age < 16", "只能在成员宏中使用"),
        ("age_at(head_name, 2024)", "第二个参数应为日期"),
        ("age_at(members, assessment_date) > 1", "证件号码（文本）或出生日期"),
        ("age_at('123', assessment_date) > 1", "不是有效的身份证号码"),
        ("months_between(per_capita_income, assessment_date) > 1", "需要年月或日期"),
        ("id_valid(members)", "需要文本"),
    ] {
        let e = rs.compile_expr(src, Ty::Bool).unwrap_err().0;
        assert!(e.contains(msg), "{src}: {e}");
    }
    // A rule set without member fields refuses member macros.
    let plain = super::load_str(
        "[ruleset]\nid = \"t\"\nname = \"t\"\n[fields.household_id]\ntype = \"text\"\nheader = \"户编号\"\nlabel = \"户编号\"\n[decisions.d]\nlabel = \"d\"\nlabels = [\"a\", \"b\"]\nundecided = \"b\"\notherwise = \"a\"\nsource = \"s\"\nrules = [{ when = \"members.exists(m, m.age < 1)\", label = \"b\" }]\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(plain.contains("没有声明成员字段"), "{plain}");
    // A check message's {m.key} must be a member field.
    let text = super::embedded("guizhou-2023").unwrap().replace("{m.person_id}", "{m.person}");
    let e = super::load_str(&text, "guizhou-2023").unwrap_err().to_string();
    assert!(e.contains("{m.person} 不是成员字段；是否应为 `person_id`？"), "{e}");
}

/// Reasons: a member macro on a ledger row says why it is unknown; on members, what it counts.
#[test]
fn reasons_name_the_missing_member_list() {
    let rs = load("national").unwrap();
    let b = rs.at(as_of()).unwrap();
    let d = crate::engine::describer(&b);
    let ms = members(&rs, &[&[CHILD], &[ADULT]]);
    let cells = vec![crate::household::Cell::Blank; rs.fields.len()];
    let crits = vec![None; rs.criteria.len()];
    let decisions = vec![0; rs.decisions.len()];
    let cx = |members| Ctx {
        cells: &cells,
        params: &b.params,
        crits: &crits,
        decisions: &decisions,
        as_of_month: as_of().month_index(),
        as_of_day: expr::day_key(as_of()),
        members,
        member: &[],
        member_index: 0,
        records: &crate::household::NO_RECORDS,
        record: &[],
    };
    let node =
        rs.compile_expr("members.exists(m, m.age >= 6 && m.age <= 15 && m.school == '非在校生')", Ty::Bool).unwrap();
    let ledger = expr::render_atom(&node, None, &cx(None), &d);
    assert_eq!(ledger, "有成员（年龄 ≥ 6且年龄 ≤ 15且在校生状况 = 非在校生）：未知（无成员行：户表不含人员信息）");
    let count = rs.compile_expr("members.filter(m, m.age < 16).size() >= 1", Ty::Bool).unwrap();
    let with = expr::render_atom(&count, Some(true), &cx(Some(&ms)), &d);
    assert_eq!(with, "成员中（年龄 < 16）的人数 1 ≥ 1");
    let sum = rs.compile_expr("sum(members.map(m, m.age >= 16, m.age)) > 40", Ty::Bool).unwrap();
    assert_eq!(expr::render_atom(&sum, Some(true), &cx(Some(&ms)), &d), "成员中（年龄 ≥ 16）者的年龄之和 44 > 40");
    assert_eq!(
        expr::render_atom(&sum, None, &cx(None), &d),
        "成员中（年龄 ≥ 16）者的年龄之和 未知（无成员行：户表不含人员信息），无法判断是否 > 40"
    );
    let max = rs.compile_expr("max(members.map(m, m.age)) < 18", Ty::Bool).unwrap();
    assert_eq!(expr::render_atom(&max, Some(false), &cx(Some(&ms)), &d), "成员年龄的最大值 44 ≥ 18");
}

/// Only the member fields some rule reads are read from a person export: for the national rules
/// those of the facts computed from the members and of the department-list checks (精准比对); for Guizhou's checks those of their conditions and messages, and
/// the ID number the age is derived from — every member field (与户主关系 and 姓名 for the head's).
#[test]
fn only_member_fields_the_rules_read_are_read() {
    let used = |name: &str| -> Vec<String> {
        let rs = load(name).unwrap();
        rs.persons.iter().zip(&rs.person_used).filter(|(_, &u)| u).map(|(f, _)| f.key.clone()).collect()
    };
    // The national rules read members for the household facts computed from them (`from_members`:
    // 劳动力, 失学辍学, 参保, 患病, 残疾, the head's name and ID) and in the checks of department
    // lists (精准比对); not 人编号 or 大病保险.
    assert_eq!(
        used("national"),
        [
            "age",
            "health",
            "id_number",
            "insured_employee",
            "insured_resident",
            "name",
            "no_school_reason",
            "relation",
            "school",
            "skill",
            "medical_insured_count",
            "xueji_count"
        ]
    );
    assert!(load("national").unwrap().members_used && load("guizhou-2023").unwrap().members_used);
    assert_eq!(
        used("guizhou-2023"),
        [
            "age",
            "education",
            "ethnicity",
            "health",
            "id_number",
            "id_type",
            "insured_employee",
            "insured_resident",
            "insured_serious",
            "name",
            "no_school_reason",
            "person_id",
            "relation",
            "school",
            "skill",
            "medical_insured_count",
            "xueji_count"
        ]
    );
}

/// `sum`, `min` and `max` over `members.map(m, …)`: the function and the method form, a condition
/// (three-argument `map`, `filter(…).map(…)`), empty lists, unknown members, a ledger row; the tree
/// and the compiled evaluator agree (through a comparison, the compiled evaluator's bool).
#[test]
fn sum_min_max_over_members_map() {
    let rs = load("national").unwrap();
    let known =
        members(&rs, &[&[ADULT, ("relation", "户主")], &[CHILD, ("relation", "之子")], &[ADULT, ("relation", "配偶")]]);
    let num = |src: &str, ms: Option<&Members>| {
        let node = rs.compile_expr(src, Ty::Int).unwrap_or_else(|e| panic!("{src}: {e}"));
        let tree = eval(&rs, &format!("({src}) == 94"), ms);
        let v = eval_num(&rs, &node, ms);
        assert_eq!(tree, v.map(|x| (x == 94) as i64), "{src}");
        v
    };
    assert_eq!(num("sum(members.map(m, m.age))", Some(&known)), Some(94));
    assert_eq!(num("members.map(m, m.age).sum()", Some(&known)), Some(94));
    assert_eq!(num("min(members.map(m, m.age))", Some(&known)), Some(6));
    assert_eq!(num("max(members.map(m, m.age))", Some(&known)), Some(44));
    assert_eq!(num("sum(members.map(m, m.age >= 16, m.age))", Some(&known)), Some(88));
    assert_eq!(num("sum(members.filter(m, m.age >= 16).map(x, x.age))", Some(&known)), Some(88));
    assert_eq!(num("members.filter(m, m.relation == '户主').map(m, m.age).min()", Some(&known)), Some(44));
    assert_eq!(num("sum(members.map(m, m.age >= 16, 1))", Some(&known)), Some(2));
    assert_eq!(num("sum(members.filter(m, m.age >= 16).map(m, m.age < 40, 1))", Some(&known)), Some(0));
    // Nobody kept: the sum is 0, the least and the greatest are unknown.
    assert_eq!(num("sum(members.map(m, m.age > 100, m.age))", Some(&known)), Some(0));
    assert_eq!(num("min(members.map(m, m.age > 100, m.age))", Some(&known)), None);
    assert_eq!(num("max(members.map(m, m.age))", Some(&members(&rs, &[]))), None);
    assert_eq!(num("sum(members.map(m, m.age))", Some(&members(&rs, &[]))), Some(0));
    // A member whose age is unknown (no ID): unknown, unless the condition leaves them out.
    let one_unknown = members(&rs, &[&[ADULT, ("relation", "户主")], &[("relation", "之子")]]);
    assert_eq!(num("sum(members.map(m, m.age))", Some(&one_unknown)), None);
    assert_eq!(num("max(members.map(m, m.age))", Some(&one_unknown)), None);
    assert_eq!(num("sum(members.map(m, m.relation == '户主', m.age))", Some(&one_unknown)), Some(44));
    assert_eq!(num("sum(members.map(m, m.age > 10, 1))", Some(&one_unknown)), None);
    // A ledger row has no member list.
    assert_eq!(num("sum(members.map(m, m.age))", None), None);
    // In a comparison, as a check writes it.
    let half = "sum(members.map(m, m.age >= 40, 1)) * 2 > size(members)";
    assert_eq!(eval(&rs, half, Some(&known)), Some(1));
    assert_eq!(eval(&rs, half, Some(&one_unknown)), None);
}

fn eval_num(rs: &RuleSet, node: &expr::Node, ms: Option<&Members>) -> Option<i64> {
    with_household(rs, ms, |cx| expr::eval(node, cx).and_then(number))
}

#[test]
fn sum_min_max_errors_name_the_mistake() {
    let rs = load("national").unwrap();
    for (src, want) in [
        ("members.map(m, m.age) > 3", "应放在 sum()、min() 或 max() 中"),
        ("sum(members.map(m, m.school)) > 3", "需要每名成员的数字"),
        ("sum(members) > 3", "参数应为成员的数值列表"),
        ("sum(members.filter(m, m.age > 3)) > 3", "参数应为 members.map"),
        ("sum(members.map(m, members.exists(x, x.age > 3) ? 1 : 0)) > 3", "不能嵌套"),
        ("sum(members.map(m, m.age), 1) > 3", "只接受一个参数"),
        ("sum(members.map(m, m.school, m.age)) > 3", "条件"),
        ("sum(per_capita_income) > 3", "参数应为成员的数值列表"),
    ] {
        let e = rs.compile_expr(src, Ty::Bool).unwrap_err().0;
        assert!(e.contains(want), "{src}: {e}");
    }
}

/// `first(…)`: the value, of any type, of the first member the list keeps; unknown when none is
/// kept, when a member before it may or may not be kept, when its value is unknown, or on a
/// ledger row. The tree and the compiled evaluator agree (`eval` compares them).
#[test]
fn first_over_members() {
    let rs = load("national").unwrap();
    let head = "is_true(m.relation == '户主')";
    let known =
        members(&rs, &[&[CHILD, ("relation", "之子")], &[ADULT, ("relation", "户主")], &[ADULT, ("relation", "户主")]]);
    let age = format!("first(members.filter(m, {head}).map(m, m.age))");
    assert_eq!(eval(&rs, &format!("{age} == 44"), Some(&known)), Some(1));
    assert_eq!(eval(&rs, "members.map(m, m.relation).first() == '之子'", Some(&known)), Some(1));
    assert_eq!(eval(&rs, "first(members.map(m, m.age >= 16, m.relation)) == '户主'", Some(&known)), Some(1));
    // None kept; an empty list; a ledger row.
    assert_eq!(eval(&rs, "first(members.map(m, m.age > 100, m.age)) > 0", Some(&known)), None);
    assert_eq!(eval(&rs, &format!("{age} == 44"), Some(&members(&rs, &[]))), None);
    assert_eq!(eval(&rs, &format!("{age} == 44"), None), None);
    // A member before the first kept one whose condition is unknown (no ID: no age): unknown;
    // one whose relation is blank is no 户主 (is_true), so the head after it is found.
    let unknown_first = members(&rs, &[&[("relation", "之子")], &[ADULT, ("relation", "户主")]]);
    assert_eq!(eval(&rs, "first(members.map(m, m.age > 16, m.age)) == 44", Some(&unknown_first)), None);
    let blank_relation = members(&rs, &[&[CHILD], &[ADULT, ("relation", "户主")]]);
    assert_eq!(eval(&rs, &format!("{age} == 44"), Some(&blank_relation)), Some(1));
    // The kept member's value unknown.
    let no_id = members(&rs, &[&[("relation", "户主")]]);
    assert_eq!(eval(&rs, &format!("{age} == 44"), Some(&no_id)), None);
}

/// `from_members` is checked at load: a fold over the member list of the field's type, not with
/// `derive`, not on a member field; `marker` and `absent` on member fields only and checked.
#[test]
fn from_members_and_member_options_are_checked_at_load() {
    let with = |extra: &str| {
        let text = format!("[ruleset]\nid = \"t\"\nname = \"t\"\nextends = \"national\"\n{extra}");
        super::load_str(&text, "t.toml").map(|_| ()).unwrap_err().to_string()
    };
    let field =
        |body: &str| format!("[fields.labor]\ntype = \"int\"\nheader = \"劳动力人数\"\nlabel = \"劳动力人数\"\n{body}");
    for (extra, want) in [
        (field("from_members = \"members\""), "from_members 应对成员列表求值"),
        (field("from_members = \"size(members) > 1\""), "labor"),
        (field("from_members = \"members.filter(m, m.agee > 1).size()\""), "agee"),
        (field("derive = \"members\"\nfrom_members = \"size(members)\""), "derive 与 from_members 只能给一个"),
        (field("marker = true"), "`marker` 只用于成员字段"),
        (
            "[persons.skill]\ntype = \"text\"\nheader = \"劳动技能\"\nlabel = \"劳动技能\"\nfrom_members = \"size(members)\"\n".into(),
            "成员字段不支持 `from_members`",
        ),
        (
            "[persons.pension]\ntype = \"bool\"\nheader = \"是否参加养老保险\"\nlabel = \"养老保险\"\nabsent = \"不详\"\n".into(),
            "absent = \"不详\" 不是有效的",
        ),
    ] {
        let e = with(&extra);
        assert!(e.contains(want), "{extra}: {e}");
    }
}

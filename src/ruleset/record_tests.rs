//! Record macros over department lists (`cars.size()`, `medical.exists(r, …)`, `m.xueji.size()`):
//! their three-valued results over households matched as a run matches them, the tree and the
//! compiled evaluator alike, and their load-time errors.

use super::expr::{self, Ty};
use super::{fast, household_ctx, load, RuleSet};
use crate::household::Household;
use crate::value::Date;

/// The national rules, every column of every list copied into a household's records (a run
/// copies only those its conditions read; these tests compile conditions of their own).
fn national() -> RuleSet {
    let mut rs = load("national").unwrap();
    rs.departments.iter_mut().for_each(|d| d.read.fill(true));
    rs
}

fn as_of() -> Date {
    Date::new(2024, 6, 15).unwrap()
}

const ADULT: &str = "520000198001010015";
const CHILD: &str = "52000020180615001X";

type Rows<'a> = &'a [&'a [(&'a str, &'a str)]];

/// A case's household with members of these IDs, and these lists given (key → records of
/// (column, text), `id` among them), matched as `rules test` matches them.
fn household(rs: &RuleSet, ids: &[&str], lists: &[(&str, Rows)]) -> Household {
    let text = |v: &str| toml::Value::String(v.to_string());
    let members: Vec<toml::Table> =
        ids.iter().map(|id| toml::Table::from_iter([("id_number".into(), text(id))])).collect();
    let lists: toml::Table = lists
        .iter()
        .map(|(k, rows)| {
            let rows: Vec<toml::Value> = rows
                .iter()
                .map(|r| toml::Value::Table(r.iter().map(|(c, v)| (c.to_string(), text(v))).collect()))
                .collect();
            (k.to_string(), toml::Value::Array(rows))
        })
        .collect();
    let case = toml::Table::from_iter([
        ("name".to_string(), text("t")),
        ("date".to_string(), text("2024-06-15")),
        ("household".to_string(), toml::Value::Table(toml::Table::new())),
        ("members".to_string(), toml::Value::Array(members.into_iter().map(toml::Value::Table).collect())),
        ("lists".to_string(), toml::Value::Table(lists)),
    ]);
    let case: crate::cases::Case = case.try_into().unwrap();
    crate::cases::case_household(rs, &case, as_of()).unwrap()
}

/// A condition's value (a bool as 0/1) over `hh`, by the tree and by the compiled closure, which
/// must agree.
fn eval(rs: &RuleSet, src: &str, hh: &Household) -> Option<i64> {
    let node = [Ty::Bool, Ty::Int, Ty::Money]
        .iter()
        .find_map(|&t| rs.compile_expr(src, t).ok())
        .unwrap_or_else(|| panic!("{src}: {}", rs.compile_expr(src, Ty::Bool).unwrap_err()));
    let b = rs.at(as_of()).unwrap();
    let cx = household_ctx(hh, &b.params, as_of());
    let tree = expr::eval(&node, &cx);
    assert_eq!(fast::Cond::new(&node).eval(&cx), tree.and_then(expr::V::as_bool), "{src}");
    tree.map(|v| match v {
        expr::V::Bool(b) => b as i64,
        expr::V::Num(n) => n.as_int().unwrap_or(n.0),
        other => panic!("{other:?}"),
    })
}

#[test]
fn sizes_exists_all_filter_and_sums_over_matched_records() {
    let rs = national();
    let cars: Rows = &[
        &[("id", ADULT), ("plate", "贵A12345"), ("vehicle_type", "小型轿车")],
        &[("id", ADULT), ("vehicle_type", "货车")],
        &[("id", "520000198106120026"), ("plate", "贵B1")],
    ];
    let medical: Rows = &[
        &[("id", ADULT), ("self_paid", "3000"), ("settled", "2024-01")],
        &[("id", CHILD), ("self_paid", "2500.5"), ("settled", "2024-03")],
    ];
    let hh = household(&rs, &[ADULT, CHILD], &[("cars", cars), ("medical", medical), ("xueji", &[])]);
    for (src, want) in [
        ("cars.size()", Some(2)),
        ("size(cars)", Some(2)),
        ("cars.exists(r, r.vehicle_type == '小型轿车')", Some(1)),
        ("cars.exists(r, r.vehicle_type == '拖拉机')", Some(0)),
        ("cars.all(r, r.vehicle_type != '拖拉机')", Some(1)),
        // The second record's plate is blank: unknown, and `all` cannot be settled by the first.
        ("cars.all(r, r.plate.startsWith('贵'))", None),
        ("cars.exists(r, r.plate.startsWith('贵'))", Some(1)),
        ("cars.exists(r, blank(r.plate))", Some(1)),
        ("cars.filter(r, r.vehicle_type == '货车').size()", Some(1)),
        ("cars.exists_one(r, r.vehicle_type == '货车')", Some(1)),
        ("sum(medical.map(r, r.self_paid)) == 5500.5", Some(1)),
        ("max(medical.map(r, r.self_paid)) == 3000", Some(1)),
        ("sum(medical.map(r, months_between(r.settled, assessment_date) <= 4, r.self_paid)) == 2500.5", Some(1)),
        ("sum(medical.filter(r, r.self_paid > 2600).map(r, r.self_paid)) == 3000", Some(1)),
        // A list given with no record: empty, known.
        ("xueji.size()", Some(0)),
        ("xueji.exists(r, r.school == '石桥小学')", Some(0)),
        ("max(xueji.map(r, 1)) > 0", None),
        // Lists not given are unknown: their size, and every macro over them.
        ("property.size()", None),
        ("property.all(r, r.address == 'x')", None),
        ("present(property) && property.size() > 0", Some(0)),
        ("present(cars) && cars.size() > 0", Some(1)),
        // Per member: its own records.
        ("members.filter(m, m.cars.size() == 2).size()", Some(1)),
        ("members.exists(m, m.age < 16 && m.medical.exists(r, r.self_paid > 2000))", Some(1)),
        ("members.all(m, m.xueji.size() == 0)", Some(1)),
        ("sum(members.map(m, size(m.medical)))", Some(2)),
        ("members.exists(m, m.property.size() == 0)", None),
    ] {
        assert_eq!(eval(&rs, src, &hh), want, "{src}");
    }
    // A blank amount makes a sum unknown, not smaller.
    let blank: Rows = &[&[("id", ADULT), ("self_paid", "3000")], &[("id", ADULT), ("settled", "2024-02")]];
    let hh = household(&rs, &[ADULT], &[("medical", blank)]);
    assert_eq!(eval(&rs, "sum(medical.map(r, r.self_paid)) > 0", &hh), None);
    assert_eq!(eval(&rs, "medical.exists(r, r.self_paid > 2000)", &hh), Some(1));
    assert_eq!(eval(&rs, "medical.size()", &hh), Some(2));
}

/// No ID of the household could be compared: its lists are unknown, not empty.
#[test]
fn a_household_without_a_comparable_id_has_unknown_lists() {
    let rs = national();
    let hh = household(&rs, &["5200001980"], &[("cars", &[&[("id", ADULT)]])]);
    assert_eq!(eval(&rs, "cars.size()", &hh), None);
    assert_eq!(eval(&rs, "cars.exists(r, true)", &hh), None);
    assert_eq!(eval(&rs, "members.exists(m, m.cars.size() == 0)", &hh), None);
}

/// Errors at load, in Chinese, naming what is wrong: a column the list does not declare, a
/// column of the wrong type, a record outside its macro, nesting.
#[test]
fn record_macro_errors_name_the_mistake() {
    let rs = load("national").unwrap();
    for (src, msg) in [
        ("cars.exists(r, r.plat == 'x')", "比对名单的记录没有列 `r.plat`；是否应为 `plate`？"),
        ("cars.exists(r, r.plate > 3)", "文本"),
        ("sum(cars.map(r, r.plate)) > 0", "需要每名成员的数字"),
        ("cars.exists(r, r)", "`r` 是比对记录，请写它的列，如 r.plate"),
        ("cars > 0", "`cars` 是比对名单的记录列表"),
        ("cars.exists(r, business.exists(s, s.company == r.plate))", "不能嵌套"),
        ("members.exists(m, m.cars > 0)", "是该成员在比对名单中的记录"),
        ("members.exists(m, m.cars.exists(m, m.plate == 'x'))", "已在外层使用"),
        ("r.plate == 'x'", "只能在成员宏中使用"),
    ] {
        let e = rs.compile_expr(src, Ty::Bool).unwrap_err().0;
        assert!(e.contains(msg), "{src}: {e}");
    }
}

/// Reasons say what a record macro counts, and why it is unknown.
#[test]
fn reasons_name_the_list_and_a_missing_list() {
    let rs = national();
    let b = rs.at(as_of()).unwrap();
    let d = crate::engine::describer(&b);
    let hh = household(&rs, &[ADULT], &[("medical", &[&[("id", ADULT), ("self_paid", "7000")]])]);
    let cx = household_ctx(&hh, &b.params, as_of());
    let atom = |src: &str| {
        let n = rs.compile_expr(src, Ty::Bool).unwrap();
        let v = expr::eval_bool(&n, &cx);
        expr::render_atom(&n, v, &cx, &d)
    };
    assert_eq!(atom("sum(medical.map(r, r.self_paid)) > 6000"), "医保大额自付个人自付合计 7000 > 6000");
    assert_eq!(atom("medical.size() > 0"), "医保大额自付记录数 1 > 0");
    assert_eq!(atom("medical.exists(r, r.self_paid > 6000)"), "医保大额自付中有记录（个人自付 > 6000）：是");
    assert_eq!(atom("cars.size() > 0"), "车辆登记记录数 未知（缺少比对名单：车辆登记），无法判断是否 > 0");
}

/// A run copies into a household's records only the columns its rules read: the national rules
/// read the amounts of 医保大额自付, not the plates of 车辆登记.
#[test]
fn only_the_columns_conditions_read_are_copied() {
    let rs = load("national").unwrap();
    let cars = rs.departments.iter().position(|d| d.key == "cars").unwrap();
    let medical = rs.departments.iter().position(|d| d.key == "medical").unwrap();
    assert_eq!(rs.departments[cars].read, vec![false; 3]);
    assert_eq!(rs.departments[medical].read, vec![true, false]);
    let hh = household(
        &rs,
        &[ADULT],
        &[
            ("cars", &[&[("id", ADULT), ("plate", "贵A1")]]),
            ("medical", &[&[("id", ADULT), ("self_paid", "1"), ("settled", "2024-01")]]),
        ],
    );
    assert_eq!(hh.records.heads.len(), 2);
    let cells: Vec<bool> = hh.records.cells.iter().map(|c| c.value().is_some()).collect();
    assert_eq!(cells, [false, false, false, true, false]);
}

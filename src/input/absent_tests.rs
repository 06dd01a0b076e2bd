//! The binder: which column a field is read from (its own, else the first alternative present),
//! and what a field with no column holds (unknown naming the column, or the rule file's `absent`).

use super::*;
use crate::household::Scalar;
use crate::ruleset::{self, RuleSet};
use crate::value::{Date, Num};

/// The national rules, with a second alternative for 危房等级 and an `absent` value for 有小汽车.
fn rules() -> RuleSet {
    ruleset::load_str(
        r#"
[ruleset]
id = "t"
name = "测试"
extends = "national"

[fields.housing_grade]
type = "enum"
header = "危房等级"
label = "危房等级"
values = ["A", "B", "C", "D"]
alternatives = [
  { header = "是否危房户", map = { "是" = "C", "否" = "A" } },
  { header = "房屋等级" },
]

[fields.has_car]
type = "bool"
header = "有小汽车"
label = "有小汽车"
blank = "否"
absent = "否"
"#,
        "t.toml",
    )
    .unwrap()
}

/// Open `text` as a CSV file; its layout and households (assessed as of 2024-12-31).
fn read(rules: &RuleSet, text: &str, strict: bool) -> Result<(Layout, Vec<Household>), InputError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, text).unwrap();
    let mut ledger = Ledger::open(&path, rules, &OpenOptions { strict, ..OpenOptions::default() })?;
    let bound = rules.at(Date::last_of_year(2024)).unwrap();
    let rows = ledger.next_batch(100)?;
    let hh = rows.iter().map(|r| ledger.layout.household(&bound, r, &Duplicates::default())).collect();
    Ok((ledger.layout, hh))
}

fn cell<'h>(rules: &RuleSet, hh: &'h Household, key: &str) -> &'h Cell {
    &hh.cells[rules.field_index[key] as usize]
}

const GRADE_C: Cell = Cell::Value(Scalar::Enum(2));

#[test]
fn a_fields_own_column_wins_over_its_alternatives() {
    let rs = rules();
    let (layout, hh) = read(&rs, "户编号,是否危房户,危房等级\nH1,是,B\n", false).unwrap();
    assert_eq!(*cell(&rs, &hh[0], "housing_grade"), Cell::Value(Scalar::Enum(1)));
    assert_eq!(layout.unmapped, vec!["是否危房户".to_string()]);
}

#[test]
fn the_first_alternative_of_the_rule_file_present_is_read_through_its_map() {
    let rs = rules();
    // 房屋等级 comes first in the file, 是否危房户 first in the rule file.
    let (layout, hh) = read(&rs, "户编号,房屋等级,是否危房户\nH1,D,否\nH2,D,是\n", false).unwrap();
    assert_eq!(*cell(&rs, &hh[0], "housing_grade"), Cell::Value(Scalar::Enum(0)));
    assert_eq!(*cell(&rs, &hh[1], "housing_grade"), GRADE_C);
    assert_eq!(layout.unmapped, vec!["房屋等级".to_string()]);
    assert_eq!(layout.mapped_columns(), 2);
    // Without a map, the alternative's cells are read as the field's own.
    let (_, hh) = read(&rs, "户编号,房屋等级\nH1, D \n", false).unwrap();
    assert_eq!(*cell(&rs, &hh[0], "housing_grade"), Cell::Value(Scalar::Enum(3)));
}

#[test]
fn an_alternatives_cells_blank_unknown_and_spelled_with_spaces() {
    let rs = rules();
    let (_, hh) = read(&rs, "户编号,是否危房户\nH1, 是 \nH2,\nH3,不详\n", false).unwrap();
    assert_eq!(*cell(&rs, &hh[0], "housing_grade"), GRADE_C);
    assert!(hh[0].problems.is_empty(), "{:?}", hh[0].problems);
    // A blank cell of a column the file has: blank, not absent.
    assert_eq!(*cell(&rs, &hh[1], "housing_grade"), Cell::Blank);
    assert_eq!(*cell(&rs, &hh[2], "housing_grade"), Cell::Invalid("不详".into()));
    let p = &hh[2].problems[0];
    assert_eq!((p.row, p.column.as_str(), p.field.as_deref()), (4, "是否危房户", Some("housing_grade")));
    assert_eq!(p.message, "应为以下之一：否、是");
}

#[test]
fn a_field_without_a_column_is_unknown_or_what_the_rule_file_says() {
    let rs = rules();
    let (layout, hh) = read(&rs, "户编号,户类型\nH1,一般农户\n", false).unwrap();
    let hh = &hh[0];
    // No column: unknown, and so is blank(); its blank = 否 does not apply.
    let disaster = rs.field_index["disaster"];
    assert_eq!(*cell(&rs, hh, "disaster"), Cell::Absent(Missing::Field(disaster)));
    assert_eq!(cell(&rs, hh, "disaster").blank_test(), None);
    // absent = "否"; absent = "0"; absent = "" (a blank cell: blank(), and its blank value if any).
    assert_eq!(*cell(&rs, hh, "has_car"), Cell::AbsentAs(Scalar::Bool(false)));
    assert_eq!(*cell(&rs, hh, "expense_education"), Cell::AbsentAs(Scalar::Num(Num::from_int(0).unwrap())));
    assert_eq!(*cell(&rs, hh, "prev_per_capita_income"), Cell::Blank);
    assert_eq!(cell(&rs, hh, "prev_per_capita_income").blank_test(), Some(true));
    // What the warning lists: needed fields only, the unknown ones first.
    let listed: Vec<(&str, Option<&str>)> =
        layout.absent.iter().map(|a| (rs.fields[a.field as usize].key.as_str(), a.stands_for.as_deref())).collect();
    assert!(listed.contains(&("disaster", None)) && listed.contains(&("has_car", Some("否"))), "{listed:?}");
    assert!(!listed.iter().any(|l| l.0 == "county" || l.0 == "household_type"), "{listed:?}");
    let first_declared = listed.iter().position(|l| l.1.is_some()).unwrap();
    assert!(listed[first_declared..].iter().all(|l| l.1.is_some()), "{listed:?}");
    // 人均纯收入 has no column and cannot be computed (no income columns): listed, naming itself.
    let pci = layout.absent.iter().find(|a| rs.fields[a.field as usize].key == "per_capita_income").unwrap();
    assert_eq!(pci.header, "人均纯收入（元）");
    // 危房等级 names its alternatives.
    let grade = layout.absent.iter().find(|a| rs.fields[a.field as usize].key == "housing_grade").unwrap();
    assert_eq!(grade.header, "危房等级（或是否危房户）（或房屋等级）");
}

#[test]
fn a_derived_field_without_a_column_is_computed_and_not_listed() {
    let rs = rules();
    let text = "户编号,家庭人口数,工资性收入,生产经营性收入,财产性收入,转移性收入,生产经营性支出\nH1,2,6000,2000,0,1000,1000\n";
    let (layout, hh) = read(&rs, text, false).unwrap();
    assert_eq!(*cell(&rs, &hh[0], "per_capita_income"), Cell::Derived(Scalar::Num(Num::from_int(4000).unwrap())));
    assert!(!layout.absent.iter().any(|a| rs.fields[a.field as usize].key == "per_capita_income"));
}

#[test]
fn strict_makes_an_absent_column_fatal_with_the_list() {
    let rs = rules();
    let Err(InputError::Header { message, .. }) = read(&rs, "户编号,户类型\nH1,一般农户\n", true) else {
        panic!("strict stops")
    };
    assert!(message.starts_with("缺少规则所需的列（--strict）"), "{message}");
    assert!(message.contains("\n  是否受灾：") && message.contains("\n  有小汽车：按规则文件取“否”"), "{message}");
    // Only 户编号 is required, strict or not.
    assert!(matches!(read(&rs, "户类型\n一般农户\n", false), Err(InputError::NoId { .. })));
}

#[test]
fn an_absent_person_column_makes_the_fields_derived_from_it_absent() {
    let rs = rules();
    let text = "户编号,人编号,与户主关系,证件号码,在校生状况,健康状况\nP1,P101,户主,,非在校生,健康\nP1,P102,配偶,,非在校生,残疾\n";
    let (layout, hh) = read(&rs, text, false).unwrap();
    let hh = &hh[0];
    assert_eq!(*cell(&rs, hh, "members"), Cell::Derived(Scalar::Num(Num::from_int(2).unwrap())));
    assert_eq!(*cell(&rs, hh, "disabled"), Cell::Derived(Scalar::Num(Num::from_int(1).unwrap())));
    assert_eq!(*cell(&rs, hh, "labor"), Cell::Absent(Missing::Member(member(&rs, "skill"))));
    assert_eq!(*cell(&rs, hh, "insured"), Cell::Absent(Missing::Member(member(&rs, "insured_resident"))));
    let headers: Vec<&str> = layout.absent.iter().map(|a| a.header.as_str()).collect();
    assert!(headers.contains(&"劳动技能") && headers.contains(&"是否参加城乡居民基本医疗保险"), "{headers:?}");
    // A household column for it, when the person column is absent: its value stays.
    let text = "户编号,人编号,与户主关系,劳动力人数\nP1,P101,户主,1\n";
    let (layout, hh) = read(&rs, text, false).unwrap();
    assert_eq!(*cell(&rs, &hh[0], "labor"), Cell::Value(Scalar::Num(Num::from_int(1).unwrap())));
    assert!(!layout.absent.iter().any(|a| rs.fields[a.field as usize].key == "labor"));
}

#[test]
fn rule_file_sources_are_checked_at_load() {
    let base = "[ruleset]\nid = \"t\"\nname = \"t\"\nextends = \"national\"\n";
    let field =
        |body: &str| format!("{base}[fields.x]\ntype = \"bool\"\nheader = \"某列\"\nlabel = \"某列\"\n{body}\n");
    let err = |text: String| ruleset::load_str(&text, "t.toml").unwrap_err().to_string();
    assert!(err(field("absent = \"也许\"")).contains("absent = \"也许\" 不是有效的 bool 值"));
    let e = err(field("alternatives = [{ header = \"另一列\", map = { \"有\" = \"大概\" } }]"));
    assert!(e.contains("map 中 \"有\"") && e.contains("不是有效的 bool 值"), "{e}");
    let e = err(field("alternatives = [{ header = \"饮水安全\" }]"));
    assert!(e.contains("已是字段 `water` 自己的表头"), "{e}");
    let e = err(field("alternatives = [{ header = \"另一列\", values = [\"是\"] }]"));
    assert!(e.contains("未知的键 `values`"), "{e}");
    let e = err(format!(
        "{base}[fields.household_id]\ntype = \"text\"\nheader = \"户编号\"\nlabel = \"户编号\"\nabsent = \"\"\n"
    ));
    assert!(e.contains("户编号是唯一必需的列"), "{e}");
}

#[test]
fn alternative_headers_count_when_the_header_row_is_found() {
    let rs = rules();
    // Below a title row, only 户编号 is a field's own header: the alternatives make it the header.
    let (layout, hh) =
        read(&rs, "防止返贫监测对象信息\n户编号,是否危房户,享受低保政策情况\nH1,是,农村低保\n", false).unwrap();
    assert_eq!(layout.header_row, 2);
    assert_eq!(*cell(&rs, &hh[0], "housing_grade"), GRADE_C);
    assert_eq!(*cell(&rs, &hh[0], "dibao"), Cell::Value(Scalar::Bool(true)));
}

/// A household reused for the next row keeps its text cells (so that a repeated text is not
/// allocated again), but never passes them on: a short line's missing cells are blank, a blank
/// cell stands for its own default.
#[test]
fn text_cells_kept_for_the_next_row_are_never_another_households() {
    let rs = ruleset::load("national").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, "户编号,户主姓名,产业帮扶,家庭人口数\nH1,张三,是,3\nH2\nH3,张三,,2\nH4,李四,是,2\n").unwrap();
    let mut ledger = Ledger::open(&path, &rs, &OpenOptions::default()).unwrap();
    let bound = rs.at(Date::last_of_year(2024)).unwrap();
    let rows = ledger.next_batch(100).unwrap();
    let mut hh = Household::default();
    let mut seen = Vec::new();
    for r in &rows {
        ledger.layout.household_into(&bound, r, &Duplicates::default(), &mut hh);
        seen.push((cell(&rs, &hh, "head_name").clone(), cell(&rs, &hh, "aid_industry").clone()));
    }
    let text = |s: &str| Scalar::Text(s.into());
    assert_eq!(seen[0], (Cell::Value(text("张三")), Cell::Value(text("是"))));
    assert_eq!(seen[1], (Cell::Blank, Cell::Blank), "a short line: its missing cells are blank");
    assert_eq!(seen[2], (Cell::Value(text("张三")), Cell::BlankAs(text("无"))));
    assert_eq!(seen[3], (Cell::Value(text("李四")), Cell::Value(text("是"))));
    assert_eq!(
        seen,
        rows.iter()
            .map(|r| {
                let h = ledger.layout.household(&bound, r, &Duplicates::default());
                (cell(&rs, &h, "head_name").clone(), cell(&rs, &h, "aid_industry").clone())
            })
            .collect::<Vec<_>>(),
        "the same as households built afresh"
    );
}

/// The index of member field `key`.
fn member(rs: &RuleSet, key: &str) -> u16 {
    rs.persons.iter().position(|f| f.key == key).unwrap() as u16
}

/// In a person export, the head's name and ID number come from the first member recorded as 户主
/// (not the first row), read as the fields' cells; a 家庭人口数 column that disagrees with the rows
/// keeps its value (check `members_rows` reports it) while a blank one is the number of rows; the
/// facts computed from the members take the members' value over a household column, and a
/// household column's value where the members leave it unknown.
#[test]
fn facts_from_the_members_and_the_household_columns() {
    let rs = rules();
    let text = "户编号,人编号,姓名,与户主关系,证件号码,劳动技能,健康状况,家庭人口数,劳动力人数\n\
                P1,P101,李某芳,配偶,520000198106120026,普通劳动力,,3,1\n\
                P1,P102,王某华,户主,520000198002020012,技能劳动力,残疾,3,1\n\
                P2,P201,张某,户主,520000198002020012,,健康,,1\n";
    let (_, hh) = read(&rs, text, false).unwrap();
    let num = |n: i64| Scalar::Num(Num::from_int(n).unwrap());
    assert_eq!(*cell(&rs, &hh[0], "head_name"), Cell::Value(Scalar::Text("王某华".into())));
    assert_eq!(*cell(&rs, &hh[0], "head_id"), Cell::Value(Scalar::Text("520000198002020012".into())));
    assert_eq!(*cell(&rs, &hh[0], "members"), Cell::Value(num(3)));
    assert_eq!(*cell(&rs, &hh[0], "labor"), Cell::Derived(num(2)));
    // A blank 健康状况 is no illness or disability recorded.
    assert_eq!(*cell(&rs, &hh[0], "disabled"), Cell::Derived(num(1)));
    assert_eq!(*cell(&rs, &hh[0], "ill"), Cell::Derived(num(0)));
    // P2: 家庭人口数 blank, the rows give it; 劳动技能 blank leaves labour to the column (1).
    assert_eq!(*cell(&rs, &hh[1], "members"), Cell::Derived(num(1)));
    assert_eq!(*cell(&rs, &hh[1], "labor"), Cell::Value(num(1)));
}

/// A household reused row after row (as the pipeline reuses one per worker) is the household
/// read afresh, cell for cell and problem for problem, whichever columns the file lacks (the
/// cells of absent columns are set once, and put back only where something changes them),
/// whatever the cells hold (blanks of every kind, messy and invalid values, short and long rows;
/// mostly empty cells, whose blank the household before may hold: [`Kept`]).
#[test]
fn a_reused_household_is_the_household_read_afresh() {
    // The columns demo-data writes (the national rule set's primary headers).
    let header = crate::cmd::demo_data::HEADERS.join(",");
    let cells = [
        "",
        "",
        "",
        "是",
        "否",
        "3",
        "３",
        "3500元",
        "-5",
        "99999",
        "12.345",
        "abc",
        "无",
        "√",
        "×",
        " ",
        "2024-03",
        "A",
        "C",
        "520000195001010003",
        "52000019500101000x",
        "张某",
        "\u{3000}",
        "0",
    ];
    // And the household types as the national rule set spells them.
    let national = ruleset::load("national").unwrap();
    let types = national.field("household_type").and_then(|f| f.enum_id).expect("an enum field");
    let cells: Vec<&str> =
        cells.iter().copied().chain(national.enums[usize::from(types)].values.iter().map(String::as_str)).collect();
    let mut rng = crate::test_rng::Lcg(5);
    for name in ["national", "guizhou-2023", "hubei-2023", "yunnan-2025", "dehua-2024", "lanzhou-xinqu-2025"] {
        let rs = ruleset::load(name).unwrap();
        // Every 2nd, 3rd or 5th column absent (the id always there), or only 人均纯收入 (derived
        // from the columns there) and two others.
        let only = ["人均纯收入（元）", "上年人均纯收入（元）", "有小汽车"];
        // Mostly empty cells too, empty row after row in the same columns ([`Kept`]).
        for (drop, mostly_empty) in [2, 3, 5, 0].into_iter().flat_map(|d| [(d, false), (d, true)]) {
            let columns: Vec<&str> = header
                .split(',')
                .enumerate()
                .filter(|&(i, h)| i == 0 || if drop == 0 { !only.contains(&h) } else { i % drop != 1 })
                .map(|x| x.1)
                .collect();
            // Numbers only where a derivation is to have its inputs.
            let pool: &[&str] = if drop == 0 { &["", "3", "３", "0", "1200.5", "99999"] } else { &cells };
            let mut text = columns.join(",") + "\n";
            for r in 0..60 {
                let n = match r % 17 {
                    5 => columns.len() / 2,
                    9 => columns.len() + 1,
                    _ => columns.len(),
                };
                let row: Vec<String> = (0..n)
                    .map(|c| match c {
                        0 => format!("H{}", r % 40),
                        _ if mostly_empty && rng.below(4) > 0 => String::new(),
                        _ => pool[rng.below(pool.len())].to_string(),
                    })
                    .collect();
                text += &(row.join(",") + "\n");
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("in.csv");
            std::fs::write(&path, &text).unwrap();
            let mut ledger = Ledger::open(&path, &rs, &OpenOptions::default()).unwrap();
            let bound = rs.at(Date::last_of_year(2024)).unwrap();
            let rows = ledger.next_batch(100).unwrap();
            let mut hh = Household::default();
            for r in &rows {
                ledger.layout.household_into(&bound, r, &Duplicates::default(), &mut hh);
                let fresh = ledger.layout.household(&bound, r, &Duplicates::default());
                assert_eq!(hh.cells, fresh.cells, "{name}, every {drop}th column absent, row {}", r.row);
                assert_eq!(hh.problems, fresh.problems, "{name}, row {}", r.row);
            }
        }
    }
}

//! Rule cases as data (openfisca style): a name, a year or date, a household written as the cells
//! of a spreadsheet row, and the decisions expected. Run by `tuopin rules test` and by the test
//! suite. The format is documented in rules/README.md.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine;
use crate::household::{Cell, Household, Members};
use crate::matching::{List, Matcher};
use crate::output::Record;
use crate::ruleset::{self, RuleSet};
use crate::value::cell::header_key;
use crate::value::Date;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The rule set: a built-in name or a path (relative to the working directory).
    #[serde(default = "national")]
    pub rules: String,
    #[serde(rename = "case", default)]
    pub cases: Vec<Case>,
}

fn national() -> String {
    "national".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub date: Option<String>,
    /// Canonical keys or headers → cell text (numbers and booleans are taken as written).
    #[serde(default)]
    pub household: BTreeMap<String, toml::Value>,
    /// Canonical keys or headers of columns the file lacks (unknown, or the field's `absent`).
    #[serde(default)]
    pub absent: Vec<String>,
    /// The household's members, as rows of a person export: member-field keys or headers → cell
    /// text (`members = [{ id_number = "…", school = "小学" }, …]`; `[]`: a person export with no
    /// member). Without it the household is a ledger row: member macros are unknown.
    #[serde(default)]
    pub members: Option<Vec<BTreeMap<String, toml::Value>>>,
    /// Department lists given, as `--with` gives them (精准比对): a list's key or label → its
    /// records, each `{ id = "…", <column key or header> = … }`, matched with the members (a
    /// ledger row: its head) by ID number as a run matches them; `[]`: a list given with no
    /// record. A list not named here is not given (its evidence is unknown).
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<BTreeMap<String, toml::Value>>>,
    #[serde(default)]
    pub expect: Option<Expect>,
    /// The run must fail with an error containing this text.
    #[serde(default)]
    pub expect_error: Option<String>,
}

/// What a case expects. Besides the keys below, a decision's key expects its label (`<key> = "…"`;
/// `""` for an empty label) and `<decision>_factors` the ids of its factors that are true; any
/// other key is an error when the case runs (the decisions are the rule set's).
#[derive(Debug, Default, Deserialize)]
pub struct Expect {
    pub returned: Option<bool>,
    /// Canonical keys of the cells that must be data problems (exactly these).
    pub problems: Option<Vec<String>>,
    /// Ids of the data-quality checks that must find something (exactly these).
    pub checks: Option<Vec<String>>,
    /// Texts that must each occur in the reasons (as CSV shows them).
    pub reasons_contain: Option<Vec<String>>,
    /// Ids of the reconcile rules (`[reconcile.*]`, `tuopin reconcile`) that must hold for the
    /// person the case's lists give records of (the head, `head_id`): exactly these among the
    /// rules whose rosters the case gives.
    pub reconcile: Option<Vec<String>>,
    /// Decision keys → label, and `<decision>_factors` → factor ids.
    #[serde(flatten)]
    pub decisions: BTreeMap<String, toml::Value>,
}

pub struct Report {
    pub total: usize,
    pub failures: Vec<String>,
}

impl CaseFile {
    pub fn parse(text: &str) -> Result<CaseFile, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// The field a key names: a canonical key, or a header or alias (matched as ledger headers are).
pub fn field_key(rs: &RuleSet, k: &str) -> Result<u16, String> {
    rs.field_index
        .get(k)
        .copied()
        .or_else(|| {
            rs.fields
                .iter()
                .position(|f| std::iter::once(&f.header).chain(&f.aliases).any(|h| header_key(h) == header_key(k)))
                .map(|i| i as u16)
        })
        .ok_or_else(|| {
            // A Chinese name is compared with the headers, a Latin one with the keys.
            let keys: Vec<String> =
                rs.fields.iter().map(|f| if k.is_ascii() { f.key.clone() } else { f.header.clone() }).collect();
            format!("未知的字段 `{k}`{}", ruleset::expr::did_you_mean(k, &keys))
        })
}

/// The field and alternative a key names, when it is the header of a field's alternative source.
fn alternative_key(rs: &RuleSet, k: &str) -> Option<(u16, u16)> {
    rs.fields.iter().enumerate().find_map(|(f, field)| {
        let a = field
            .alternatives
            .iter()
            .position(|a| std::iter::once(&a.header).chain(&a.aliases).any(|h| header_key(h) == header_key(k)))?;
        Some((f as u16, a as u16))
    })
}

/// Build a household from a case's cells, exactly as a ledger row would be read.
pub fn household(rs: &RuleSet, cells: &BTreeMap<String, toml::Value>, as_of: Date) -> Result<Household, String> {
    household_lacking(rs, cells, &[], None, as_of)
}

/// The cell text a case gives as a TOML value.
fn cell_text(k: &str, v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => (if *b { "是" } else { "否" }).to_string(),
        other => return Err(format!("field `{k}`: {other} is not a cell value")),
    })
}

/// A case's members, read as a person export's rows on `as_of` (member fields not given are
/// blank; a cell that cannot be read is a problem of field `m.<key>`).
pub fn members(
    rs: &RuleSet,
    as_of: Date,
    list: &[BTreeMap<String, toml::Value>],
    problems: &mut Vec<crate::household::Problem>,
) -> Result<Members, String> {
    let width = rs.persons.len();
    let mut ms = Members { width, cells: Vec::new(), rows: Vec::new() };
    for (n, member) in list.iter().enumerate() {
        let mut texts: Vec<Option<String>> = vec![None; width];
        for (k, v) in member {
            let i = rs
                .persons
                .iter()
                .position(|f| {
                    f.key == *k || std::iter::once(&f.header).chain(&f.aliases).any(|h| header_key(h) == header_key(k))
                })
                .ok_or_else(|| {
                    let keys: Vec<String> = rs.persons.iter().map(|f| f.key.clone()).collect();
                    format!("未知的成员字段 `{k}`{}", ruleset::expr::did_you_mean(k, &keys))
                })?;
            texts[i] = Some(cell_text(k, v)?);
        }
        let row = n as u64 + 2;
        ms.rows.push(row);
        for (i, t) in texts.iter().enumerate() {
            let cell = match rs.member_cell(i, Some(t.as_deref().unwrap_or(""))) {
                Ok(c) => c,
                Err((c, message)) => {
                    problems.push(crate::household::Problem {
                        row,
                        column: rs.persons[i].header.clone(),
                        field: Some(format!("m.{}", rs.persons[i].key)),
                        value: t.clone().unwrap_or_default(),
                        message,
                    });
                    c
                }
            };
            ms.cells.push(cell);
        }
        let start = ms.cells.len() - width;
        rs.derive_member(as_of, &mut ms.cells[start..]);
    }
    Ok(ms)
}

/// As [`household`], in a file that lacks the columns of `absent` (keys or headers); a key that
/// names an alternative source (`是否危房户`) is read as that column.
pub fn household_lacking(
    rs: &RuleSet,
    cells: &BTreeMap<String, toml::Value>,
    absent: &[String],
    members: Option<Members>,
    as_of: Date,
) -> Result<Household, String> {
    let mut texts: Vec<Option<String>> = vec![None; rs.fields.len()];
    let mut alternatives: Vec<(u16, u16, String)> = Vec::new();
    for (k, v) in cells {
        let source = match (field_key(rs, k), alternative_key(rs, k)) {
            (Ok(f), _) => (f, None),
            (Err(_), Some((f, a))) => (f, Some(a)),
            (Err(e), None) => return Err(e),
        };
        let t = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => (if *b { "是" } else { "否" }).to_string(),
            other => return Err(format!("field `{k}`: {other} is not a cell value")),
        };
        let f = source.0;
        if texts[f as usize].is_some() || alternatives.iter().any(|a| a.0 == f) {
            return Err(format!("字段 `{}` 给了两次（“{k}”）", rs.fields[f as usize].key));
        }
        match source.1 {
            None => texts[f as usize] = Some(t),
            Some(a) => alternatives.push((f, a, t)),
        }
    }
    let mut lacking = Vec::new();
    for k in absent {
        let f = field_key(rs, k)?;
        if texts[f as usize].is_some() {
            return Err(format!("字段 `{}` 既给了值，又列在 absent 中", rs.fields[f as usize].key));
        }
        // Its own column absent, an alternative given: read from the alternative (as in a file).
        if !alternatives.iter().any(|a| a.0 == f) {
            lacking.push(f);
        }
    }
    // A case is about its household's facts: it gets an id unless it sets one.
    if let Some(&i) = rs.field_index.get("household_id") {
        texts[i as usize].get_or_insert_with(|| "CASE".to_string());
    }
    let mut hh = Household {
        row: 2,
        source_rows: 1,
        cells: vec![Cell::Blank; rs.fields.len()],
        problems: Vec::new(),
        members,
        matches: Vec::new(),
        records: Default::default(),
        kept: Default::default(),
    };
    for (i, f) in rs.fields.iter().enumerate() {
        // A column the file lacks, or one read from an alternative: no cell of its own.
        if lacking.contains(&(i as u16)) || alternatives.iter().any(|a| a.0 as usize == i) {
            continue;
        }
        rs.set_cell(&mut hh, i as u16, texts[i].as_deref().unwrap_or(""), &f.header);
    }
    for (f, a, t) in &alternatives {
        rs.set_alt_cell(&mut hh, *f, *a, t, &rs.fields[*f as usize].alternatives[*a as usize].header);
    }
    for &f in &lacking {
        hh.cells[f as usize] = crate::input::absent_cell(rs, f);
    }
    // Given members: the fields computed from them (every member column is there).
    if let (Some(_), Ok(b)) = (&hh.members, rs.at(as_of)) {
        rs.from_members(&mut hh, &b.params, as_of, &|_| None);
    }
    let columns: Vec<Option<String>> = rs.fields.iter().map(|f| Some(f.header.clone())).collect();
    rs.finish(&mut hh, &columns, as_of);
    Ok(hh)
}

/// A case's household as a run reads it on `as_of`: its cells, its members (a person export's
/// rows) and the department lists it gives, matched.
pub fn case_household(rs: &RuleSet, case: &Case, as_of: Date) -> Result<Household, String> {
    let mut problems = Vec::new();
    let members = match &case.members {
        Some(list) => Some(members(rs, as_of, list, &mut problems)?),
        None => None,
    };
    let mut hh = household_lacking(rs, &case.household, &case.absent, members, as_of)?;
    hh.problems.extend(problems);
    if !case.lists.is_empty() {
        let m = matcher(rs, &case.lists)?;
        match (&hh.members, rs.matching.member_id) {
            (Some(ms), Some(f)) => {
                let ids: Vec<(Option<String>, u64)> = (0..ms.len())
                    .map(|k| match &ms.get(k)[f as usize] {
                        Cell::Value(crate::household::Scalar::Text(t)) | Cell::Invalid(t) => {
                            (Some(t.to_string()), ms.rows[k])
                        }
                        _ => (None, ms.rows[k]),
                    })
                    .collect();
                m.fill(rs, &mut hh, ids.len(), false, |k| (ids[k].0.as_deref(), ids[k].1));
            }
            _ => m.fill_head(rs, &mut hh),
        }
    }
    Ok(hh)
}

/// The department lists a case gives, read as `--with` reads them.
fn matcher(rs: &RuleSet, lists: &BTreeMap<String, Vec<BTreeMap<String, toml::Value>>>) -> Result<Matcher, String> {
    let mut out: Vec<Option<List>> = (0..rs.departments.len()).map(|_| None).collect();
    for (name, records) in lists {
        let d = rs.departments.iter().position(|d| d.key == *name || d.label == *name).ok_or_else(|| {
            let keys: Vec<String> = rs.departments.iter().map(|d| d.key.clone()).collect();
            format!("lists：未知的比对名单 `{name}`{}", ruleset::expr::did_you_mean(name, &keys))
        })?;
        let dept = &rs.departments[d];
        let mut list = List::new(dept, d as u16, format!("lists.{name}"));
        for (n, record) in records.iter().enumerate() {
            let mut cells: Vec<Option<String>> = vec![None; dept.columns.len()];
            let mut key = None;
            for (k, v) in record {
                let text = cell_text(k, v)?;
                if k == "id" || header_key(k) == header_key(&dept.id_header) {
                    key = match crate::value::idnum::parse(&text) {
                        Some(crate::value::idnum::Id::Valid(key)) => Some(key),
                        _ => return Err(format!("lists.{name} 第 {} 条：`{text}` 不是有效的证件号码", n + 1)),
                    };
                    continue;
                }
                let c = dept
                    .columns
                    .iter()
                    .position(|c| {
                        c.key == *k
                            || std::iter::once(&c.header).chain(&c.aliases).any(|h| header_key(h) == header_key(k))
                    })
                    .ok_or_else(|| {
                        let keys: Vec<String> = dept.columns.iter().map(|c| c.key.clone()).collect();
                        format!("lists.{name}：未知的列 `{k}`{}", ruleset::expr::did_you_mean(k, &keys))
                    })?;
                cells[c] = Some(text);
            }
            let key = key.ok_or_else(|| format!("lists.{name} 第 {} 条：缺少 id（证件号码）", n + 1))?;
            let cells: Vec<Option<&str>> = cells.iter().map(|c| c.as_deref()).collect();
            list.push(dept, key, n as u64 + 2, &cells);
        }
        list.finish();
        out[d] = Some(list);
    }
    Ok(Matcher { lists: out })
}

/// Run every case of a file.
pub fn run(file: &CaseFile) -> Result<Report, String> {
    let rs = ruleset::load(&file.rules).map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    for case in &file.cases {
        if let Err(why) = run_case(&rs, case) {
            failures.push(format!("{}\n    {}", case.name, why.replace('\n', "\n    ")));
        }
    }
    Ok(Report { total: file.cases.len(), failures })
}

fn run_case(rs: &RuleSet, case: &Case) -> Result<(), String> {
    let as_of = match (&case.year, &case.date) {
        (Some(y), None) => Date::last_of_year(*y),
        (None, Some(d)) => Date::parse(d).ok_or_else(|| format!("date `{d}` is not YYYY-MM-DD"))?,
        _ => return Err("give exactly one of `year` and `date`".into()),
    };
    let worded = rs.clone().worded(as_of);
    let rs = &worded;
    let hh = case_household(rs, case, as_of)?;
    let bound = match (rs.at(as_of), &case.expect_error) {
        (Ok(b), None) => b,
        (Err(e), Some(want)) if e.to_string().contains(want.as_str()) => return Ok(()),
        (Err(e), Some(want)) => return Err(format!("expected an error containing “{want}”, got “{e}”")),
        (Ok(_), Some(want)) => return Err(format!("expected an error containing “{want}”, but the case ran")),
        (Err(e), None) => return Err(e.to_string()),
    };
    let Some(expect) = &case.expect else {
        return Err("give `expect` (or `expect_error`)".into());
    };
    let a = engine::assess(&bound, &hh);
    let r = Record::build(&bound, &hh, &a, true);
    let mut diffs = differences(rs, expect, &r)?;
    if let Some(want) = &expect.reconcile {
        diffs.extend(reconcile_differences(&bound, &hh, want, &case.lists)?);
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        let mut diffs = diffs;
        diffs.push(format!("reasons: {}", r.reasons_text));
        if !r.problems.is_empty() {
            diffs.push(format!("problems: {}", r.problems_text()));
        }
        if !r.checks_text.is_empty() {
            diffs.push(format!("checks: {}", r.checks_text));
        }
        Err(diffs.join("\n"))
    }
}

/// What the record `r` of a case differs in from what the case expects; `Err` when the
/// expectation itself is malformed.
fn differences(rs: &RuleSet, expect: &Expect, r: &Record) -> Result<Vec<String>, String> {
    let mut diffs = Vec::new();
    // In the rule set's order: a decision's label, then its factors.
    for (di, d) in rs.decisions.iter().enumerate() {
        if let Some(want) = expect.decisions.get(&d.id) {
            let got = &r.labels[di];
            match want.as_str() {
                Some(w) if w == got => {}
                Some(w) => diffs.push(format!("{}: expected {w}, got {got}", d.id)),
                None => return Err(format!("expect.{} is a label: write it as a string", d.id)),
            }
        }
        let key = format!("{}_factors", d.id);
        if let Some(want) = expect.decisions.get(&key) {
            let want: Vec<&str> = match want.as_array() {
                Some(a) if a.iter().all(|v| v.is_str()) => a.iter().filter_map(|v| v.as_str()).collect(),
                _ => return Err(format!("expect.{key} is a list of criterion ids")),
            };
            if want != r.factors[di] {
                diffs.push(format!("{key}: expected {want:?}, got {:?}", r.factors[di]));
            }
        }
    }
    check_expect_keys(rs, expect)?;
    if let Some(want) = expect.returned {
        if r.returned != Some(want) {
            diffs.push(format!("returned: expected {want}, got {:?}", r.returned));
        }
    }
    if let Some(want) = &expect.problems {
        let mut got: Vec<String> = r.problems.iter().filter_map(|p| p.field.clone()).collect();
        got.dedup();
        let (mut w, mut g) = (want.clone(), got.clone());
        w.sort();
        g.sort();
        if w != g {
            diffs.push(format!("problems: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &expect.checks {
        let got: Vec<&str> = r.checks.iter().map(|f| f.check.as_str()).collect();
        let mut w: Vec<&str> = want.iter().map(String::as_str).collect();
        w.sort();
        let mut g = got.clone();
        g.sort();
        if w != g {
            diffs.push(format!("checks: expected {want:?}, got {got:?}"));
        }
    }
    for want in expect.reasons_contain.iter().flatten() {
        if !r.reasons_text.contains(want.as_str()) {
            diffs.push(format!("reasons: expected to contain “{want}”"));
        }
    }
    Ok(diffs)
}

/// How the reconcile rules that hold for the case's person differ from `want`: the rules whose
/// rosters the case gives (`lists`) are evaluated, the others are not.
fn reconcile_differences(
    b: &crate::ruleset::Bound,
    hh: &Household,
    want: &[String],
    lists: &BTreeMap<String, Vec<BTreeMap<String, toml::Value>>>,
) -> Result<Vec<String>, String> {
    let rs = b.rules;
    for w in want {
        if !rs.reconcile.iter().any(|r| &r.id == w) {
            let ids: Vec<String> = rs.reconcile.iter().map(|r| r.id.clone()).collect();
            return Err(format!(
                "expect.reconcile: `{w}` is not a reconcile rule{}",
                ruleset::expr::did_you_mean(w, &ids)
            ));
        }
    }
    let given = |d: u16| {
        let dept = &rs.departments[d as usize];
        lists.contains_key(&dept.key) || lists.contains_key(&dept.label)
    };
    let got: Vec<&str> = (0..rs.reconcile.len())
        .filter(|&k| rs.reconcile[k].rosters.iter().all(|&d| given(d)) && b.reconcile_holds(k, hh) == Some(true))
        .map(|k| rs.reconcile[k].id.as_str())
        .collect();
    let mut w: Vec<&str> = want.iter().map(String::as_str).collect();
    w.sort_unstable();
    Ok(if w == got { Vec::new() } else { vec![format!("reconcile: expected {want:?}, got {got:?}")] })
}

/// Every key of `expect` names a decision, its factors, or one of the other expectations.
fn check_expect_keys(rs: &RuleSet, expect: &Expect) -> Result<(), String> {
    for k in expect.decisions.keys() {
        let id = k.strip_suffix("_factors").unwrap_or(k);
        if rs.decision_index(k).is_none() && rs.decision_index(id).is_none() {
            let mut keys: Vec<String> = rs.decisions.iter().map(|d| d.id.clone()).collect();
            keys.extend(rs.decisions.iter().map(|d| format!("{}_factors", d.id)));
            keys.extend(["returned", "problems", "checks", "reasons_contain", "reconcile"].map(String::from));
            return Err(format!(
                "expect.{k}: not a decision of the rule set, nor `<decision>_factors`, `returned`, `problems`, \
                 `checks`, `reasons_contain` or `reconcile`{}",
                ruleset::expr::did_you_mean(k, &keys)
            ));
        }
    }
    Ok(())
}

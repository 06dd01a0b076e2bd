//! The what-if over generated households of every type (#14 item 4): it suggests only help that
//! can be given, and gives it wherever it can be given.
//!
//! Households: `tuopin demo-data` (messy cells included) and a generator of its own here that
//! puts values at and around the lines, monitored households of every type, incomes given as
//! components (人均纯收入 derived) and blanks. Each is assessed on two dates (2020: exit is
//! decided; 2024: the 过渡期). For each decision with a goal it has not reached:
//!
//! (a) no suggestion touches a field without an `action` in the rule file, moves one against its
//!     direction, or sets one to a value that is not a target; no decision without a goal gets a
//!     what-if (nobody is advised how to qualify);
//! (b) this test searches the actionable fields itself — every single change, every pair and every
//!     triple of the extreme changes the rule file allows, and all of them at once — and wherever
//!     one reaches the goal, the what-if must have been given;
//! (c) each suggestion alone gives the decision it claims, all changes together give the goal,
//!     a household sum is the per-head change × the count, exact in fen, and, where 人均纯收入 is
//!     derived, adding that sum to an income gives the same.
//!
//! The search runs through the library (hundreds of thousands of assessments); a sample of the
//! what-ifs is also run through the binary (`check FILE --id … --format json`, then `--set` with
//! the changes) and must be the same.

use std::collections::BTreeMap;

use serde_json::Value;
use tuopin::engine;
use tuopin::engine::whatif::{self, WhatIf};
use tuopin::household::{Cell, Household, Scalar};
use tuopin::ruleset::action::Action;
use tuopin::ruleset::{self, embedded, expr, load_str, Bound, RuleSet, Test};
use tuopin::value::{Date, Num, FEN};

use crate::support::*;

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// One household as cell texts keyed by field key.
type Cells = BTreeMap<String, String>;

/// Households with values at and around the lines, of every type, mostly monitored.
fn generated(n: usize, seed: u64) -> Vec<Cells> {
    let mut r = Lcg(seed);
    let mut out = Vec::new();
    for i in 0..n {
        let mut c = Cells::new();
        let mut set = |k: &str, v: &str| {
            c.insert(k.to_string(), v.to_string());
        };
        set("household_id", &format!("G{i:04}"));
        let ty = r.pick(&["一般农户", "贫困户", "脱贫户", "一般农户", "脱贫户"]);
        set("household_type", ty);
        if ty != "贫困户" && r.chance(60) {
            let mt = match (ty, r.below(4)) {
                (_, 0) => "突发严重困难户",
                ("脱贫户", _) => "脱贫不稳定户",
                _ => "边缘易致贫户",
            };
            set("monitor_type", mt);
            set("monitor_since", &format!("{}-{:02}", 2019 + r.below(6), 1 + r.below(12)));
            set("risk_eliminated", r.pick(&["否", "否", "否", "", "是"]));
        }
        let members = 1 + r.below(6);
        set("members", &members.to_string());
        let labor = if r.chance(15) { 0 } else { 1 + r.below(members) };
        set("labor", &labor.to_string());
        let pci = r.pick(&[
            "2500", "3849.01", "3999.99", "4000", "4000.01", "4300", "5200", "5999.99", "6000", "6000.01", "6500",
            "7300", "9000", "15000",
        ]);
        if r.chance(30) {
            // Components: 人均纯收入 derived (rounded half up to the fen).
            let total: i64 = pci.parse::<f64>().map(|x| (x * members as f64) as i64).unwrap_or(0) + r.below(7) as i64;
            let wage = total * r.below(80) as i64 / 100;
            set("income_wage", &wage.to_string());
            set("income_business", &(total - wage + 300).to_string());
            set("income_property", "0");
            set("income_transfer", &r.below(500).to_string());
            set("expense_production", &(300 + r.below(500)).to_string());
        } else if !r.chance(5) {
            set("per_capita_income", pci);
        }
        if r.chance(40) {
            set("prev_per_capita_income", r.pick(&["3000", "5000", "6400", "9000", "14000"]));
        }
        if r.chance(15) {
            set("expense_medical", r.pick(&["2000", "12000", "40000"]));
        }
        for k in ["food", "clothing", "water"] {
            set(k, r.pick(&["是", "是", "是", "是", "否", ""]));
        }
        let school = r.below(3);
        set("school_age", &school.to_string());
        set("dropouts", &(if school > 0 && r.chance(20) { 1 } else { 0 }).to_string());
        set("insured", &(members - usize::from(r.chance(20))).to_string());
        set("housing_grade", r.pick(&["A", "B", "B", "C", "D", ""]));
        set("housing_secured", r.pick(&["", "", "", "鉴定安全", "改造安全"]));
        set("ill", r.pick(&["0", "0", "0", "1", "2"]));
        set("disabled", r.pick(&["0", "0", "0", "1"]));
        set("disaster", r.pick(&["否", "否", "否", "是"]));
        if r.chance(6) {
            set(r.pick(&["has_public_employee", "has_car", "has_urban_home", "has_company"]), "是");
        }
        if ty == "贫困户" {
            for k in ["review_passed", "notice_passed", "household_agrees"] {
                set(k, r.pick(&["是", "是", "否", ""]));
            }
        }
        if r.chance(50) {
            set(r.pick(&["aid_industry", "aid_employment", "aid_health"]), r.pick(&["是", "产业奖补", "无"]));
        }
        out.push(c);
    }
    out
}

/// `tuopin demo-data` households, keyed by header.
fn demo(n: usize, seed: u64, messy: &str) -> Vec<Cells> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.csv");
    let out = tuopin()
        .args(["demo-data", "-n", &n.to_string(), "--seed", &seed.to_string(), "--messy", messy, "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut rd = csv::Reader::from_path(&path).unwrap();
    let headers = rd.headers().unwrap().clone();
    rd.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers.iter().zip(rec.iter()).filter(|(_, v)| !v.is_empty()).map(|(h, v)| (h.into(), v.into())).collect()
        })
        .collect()
}

fn household(b: &Bound, cells: &Cells) -> Household {
    let map = cells.iter().map(|(k, v)| (k.clone(), toml::Value::String(v.clone()))).collect();
    tuopin::cases::household(b.rules, &map, b.as_of).unwrap()
}

/// The fields a decision reads, through criteria and earlier decisions.
fn fields_read(rs: &RuleSet, di: usize) -> Vec<u16> {
    let mut fields = Vec::new();
    let (mut crits, mut decs): (Vec<u16>, Vec<u16>) = (Vec::new(), vec![di as u16]);
    let mut nodes: Vec<&expr::Node> = rs.decisions[di].rules.iter().map(|r| &r.0).collect();
    while let Some(n) = nodes.pop() {
        let r = expr::refs(n);
        for f in r.fields {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        for c in r.crits {
            if !crits.contains(&c) {
                crits.push(c);
                match &rs.criteria[c as usize].test {
                    Test::Condition(x) => nodes.push(x),
                    Test::MetUnmet(m, u) => nodes.extend([m, u]),
                }
            }
        }
        for d in r.decisions {
            if !decs.contains(&d) {
                decs.push(d);
                nodes.extend(rs.decisions[d as usize].rules.iter().map(|r| &r.0));
            }
        }
    }
    fields.sort();
    fields
}

fn is_valid(h: &Household, f: u16) -> bool {
    !matches!(h.cells[f as usize], Cell::Invalid(_))
}

/// The extreme changes the rule file allows for a field of this household, read from its `action`
/// (not from the what-if): a target value; the most within range up or down; ten years' wait.
fn extremes(b: &Bound, hh: &Household, f: u16) -> Vec<Scalar> {
    let rs = b.rules;
    let field = &rs.fields[f as usize];
    let cell = &hh.cells[f as usize];
    let Some(action) = &field.action else { return vec![] };
    let current = cell.value();
    if current.is_none() && !(matches!(action, Action::To(_)) && *cell == Cell::Blank) {
        return vec![];
    }
    let valid = |v: Scalar| Some(v.clone()).filter(|v| is_valid(&whatif::with_value(b, hh, f, v.clone()), f));
    match (action, current) {
        (Action::To(targets), _) => targets.iter().filter(|t| Some(*t) != current).cloned().collect(),
        (Action::Increase, Some(Scalar::Num(n))) => {
            let step = if field.ty == tuopin::ruleset::file::FieldType::Money { 100_000_000 * FEN } else { 1_000_000 };
            // The largest valid of 1, 2, 3, … 6 units up (ints); a million 元 up (money).
            (1..=6).rev().find_map(|k| valid(Scalar::Num(Num(n.0 + k * step)))).into_iter().collect()
        }
        (Action::Decrease, Some(Scalar::Num(n))) => {
            let zero = Scalar::Num(Num(0));
            (n.0 > 0).then(|| valid(zero)).flatten().into_iter().collect()
        }
        (Action::Wait, Some(Scalar::Month(m))) => vec![Scalar::Month(m - 120)],
        _ => vec![],
    }
}

fn apply(b: &Bound, hh: &Household, changes: &[(u16, Scalar)]) -> Household {
    changes.iter().fold(hh.clone(), |h, (f, v)| whatif::with_value(b, &h, *f, v.clone()))
}

/// A change found by the search that reaches the goal, if any: singles, pairs, triples, then all.
fn search(b: &Bound, hh: &Household, di: usize, moves: &[(u16, Scalar)], tried: &mut usize) -> Option<String> {
    let rs = b.rules;
    let dec = &rs.decisions[di];
    let mut reaches = |changes: &[(u16, Scalar)]| {
        *tried += 1;
        let a = engine::assess(b, &apply(b, hh, changes));
        dec.is_goal(a.decisions[di])
    };
    let name = |c: &[(u16, Scalar)]| {
        c.iter()
            .map(|(f, v)| format!("{}={}", rs.fields[*f as usize].key, whatif::scalar_text(rs, *f, v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let n = moves.len();
    for i in 0..n {
        if reaches(&moves[i..=i]) {
            return Some(name(&moves[i..=i]));
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            if moves[i].0 == moves[j].0 {
                continue;
            }
            let c = [moves[i].clone(), moves[j].clone()];
            if reaches(&c) {
                return Some(name(&c));
            }
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                if moves[i].0 == moves[j].0 || moves[j].0 == moves[k].0 || moves[i].0 == moves[k].0 {
                    continue;
                }
                let c = [moves[i].clone(), moves[j].clone(), moves[k].clone()];
                if reaches(&c) {
                    return Some(name(&c));
                }
            }
        }
    }
    // Every field at once (its first target value).
    let mut all: Vec<(u16, Scalar)> = Vec::new();
    for m in moves {
        if !all.iter().any(|x| x.0 == m.0) {
            all.push(m.clone());
        }
    }
    reaches(&all).then(|| name(&all))
}

fn parse(rs: &RuleSet, f: u16, text: &str) -> Scalar {
    ruleset::parse_scalar(&rs.fields[f as usize], &rs.enums, text).unwrap()
}

/// (a): a suggestion of field `key` from `from` to `to` follows the field's `action`.
fn follows_action(rs: &RuleSet, key: &str, from: Option<&Scalar>, to: &str, why: &str) {
    let f = rs.field_index[key];
    let field = &rs.fields[f as usize];
    let action =
        field.action.as_ref().unwrap_or_else(|| panic!("{why}: {key} is a recorded fact, not to be suggested"));
    let to = parse(rs, f, to);
    match (action, from, &to) {
        (Action::To(targets), _, _) => assert!(targets.contains(&to), "{why}: {key} to a value not declared"),
        (Action::Increase, Some(Scalar::Num(a)), Scalar::Num(b)) => assert!(b.0 > a.0, "{why}: {key} must go up"),
        (Action::Decrease, Some(Scalar::Num(a)), Scalar::Num(b)) => assert!(b.0 < a.0, "{why}: {key} must go down"),
        (Action::Wait, Some(Scalar::Month(a)), Scalar::Month(b)) => assert!(b < a, "{why}: {key} is waited for"),
        _ => panic!("{why}: {key} from {from:?} to {to:?} does not follow {action:?}"),
    }
}

#[derive(Default)]
struct Tally {
    households: usize,
    open: usize,
    reachable: usize,
    given: usize,
    suggestions: usize,
    totals: usize,
    via_income: usize,
    tried: usize,
    findings_after: usize,
}

/// (a), (b), (c) for one household on one date; the what-ifs given.
fn check_household(b: &Bound, hh: &Household, who: &str, t: &mut Tally) -> Vec<WhatIf> {
    let rs = b.rules;
    let a = engine::assess(b, hh);
    let what_if = whatif::what_if(b, hh, &a);
    t.households += 1;
    for w in &what_if {
        let di = rs.decision_index(&w.decision).unwrap();
        assert!(!rs.decisions[di].goal.is_empty(), "{who}: a what-if for {}, which has no goal", w.decision);
    }
    for (di, dec) in rs.decisions.iter().enumerate() {
        let now = a.decisions[di];
        if dec.goal.is_empty() || dec.is_goal(now) || dec.is_not_applicable(now) {
            continue;
        }
        t.open += 1;
        let why = format!("{who} {} {}", dec.id, a.label(b, di));
        let given = what_if.iter().find(|w| w.decision == dec.id);
        // (b) the test's own search over what the rule file allows.
        let moves: Vec<(u16, Scalar)> =
            fields_read(rs, di).into_iter().flat_map(|f| extremes(b, hh, f).into_iter().map(move |v| (f, v))).collect();
        if let Some(found) = search(b, hh, di, &moves, &mut t.tried) {
            t.reachable += 1;
            assert!(given.is_some(), "{why}: {found} reaches the goal, yet no what-if is given");
        }
        let Some(w) = given else { continue };
        t.given += 1;
        // (a) and (c): every suggestion of every step.
        let mut state = hh.clone();
        for step in &w.steps {
            let sa = engine::assess(b, &state);
            for s in step.needs.iter().flat_map(|n| &n.suggestions) {
                t.suggestions += 1;
                let f = rs.field_index[&s.field];
                let sw = format!("{why}: {} ({})", s.text, s.field);
                follows_action(rs, &s.field, state.cells[f as usize].value(), &s.to, &sw);
                assert_eq!(s.action, rs.fields[f as usize].action.as_ref().unwrap().word(), "{sw}");
                let alone = whatif::with_value(b, &state, f, parse(rs, f, &s.to));
                assert_eq!(engine::assess(b, &alone).label(b, di), s.decision_after, "{sw}");
                if let Some(hc) = &s.household {
                    t.totals += 1;
                    let per = rs.field_index[&hc.per];
                    let count = match state.cells[per as usize].value() {
                        Some(Scalar::Num(n)) => n.0 / tuopin::value::SCALE,
                        other => panic!("{sw}: count {other:?}"),
                    };
                    assert_eq!(hc.count, count, "{sw}");
                    let fen = |s: &str| {
                        let (sign, abs) = s.strip_prefix('-').map_or((1, s.trim_start_matches('+')), |x| (-1, x));
                        sign * parse(rs, f, abs).num().0 / FEN
                    };
                    let per_head = fen(&s.to) - fen(s.from.as_deref().unwrap());
                    assert_eq!(fen(&hc.change), per_head * count, "{sw}: the household sum is per head × count");
                    // Derived from the incomes: adding the sum to one gives the per-head value.
                    if let (Cell::Derived(_), Some(&src)) =
                        (&state.cells[f as usize], rs.field_index.get("income_transfer"))
                    {
                        if let Some(Scalar::Num(v)) = state.cells[src as usize].value() {
                            t.via_income += 1;
                            let more = Scalar::Num(Num(v.0 + fen(&hc.change) * FEN));
                            let h = whatif::with_value(b, &state, src, more);
                            assert_eq!(
                                h.cells[f as usize].value(),
                                Some(&parse(rs, f, &s.to)),
                                "{sw}: via the incomes"
                            );
                            assert_eq!(engine::assess(b, &h).label(b, di), s.decision_after, "{sw}: via the incomes");
                        }
                    }
                }
            }
            assert_eq!(sa.label(b, di), step.before, "{why}");
            for c in &step.applied {
                let f = rs.field_index[&c.field];
                follows_action(
                    rs,
                    &c.field,
                    hh.cells[f as usize].value(),
                    &c.to,
                    &format!("{why}: applied {}", c.field),
                );
            }
            let changes: Vec<(u16, Scalar)> = step
                .applied
                .iter()
                .map(|c| (rs.field_index[&c.field], parse(rs, rs.field_index[&c.field], &c.to)))
                .collect();
            state = apply(b, hh, &changes);
            assert_eq!(engine::assess(b, &state).label(b, di), step.after, "{why}: after the step");
        }
        let end = engine::assess(b, &state);
        assert!(dec.is_goal(end.decisions[di]), "{why}: every change together reaches the goal");
        assert_eq!(end.label(b, di), w.goal, "{why}");
        // Findings after the changes are new ones, and an income raised through its components
        // does not make 人均纯收入 disagree with them.
        for f in &w.findings_after {
            t.findings_after += 1;
            assert!(!a.checks.iter().any(|&k| rs.checks[k as usize].id == f.check), "{why}: {f:?} is not new");
            assert_ne!(f.check, "pci_mismatch", "{why}: {f:?}");
        }
    }
    what_if
}

/// `Scalar::Num`'s number (money texts parse to it).
trait AsNum {
    fn num(&self) -> Num;
}
impl AsNum for Scalar {
    fn num(&self) -> Num {
        match self {
            Scalar::Num(n) => *n,
            other => panic!("not a number: {other:?}"),
        }
    }
}

#[test]
fn what_if_suggests_only_help_and_gives_it_wherever_it_can_be_given() {
    let national = ruleset::load("national").unwrap();
    // A provincial set too: its own monitoring line (7300 from 2023) moves every income target.
    let guizhou = ruleset::load("guizhou-2023").unwrap();
    let mut households: Vec<(String, Cells)> = Vec::new();
    for (i, c) in generated(300, 14).into_iter().enumerate() {
        households.push((format!("generated #{i}"), c));
    }
    for (i, c) in demo(300, 14, "0.05").into_iter().enumerate() {
        households.push((format!("demo-data #{i}"), c));
    }
    let mut t = Tally::default();
    let mut types = BTreeMap::new();
    let mut per_decision: BTreeMap<String, usize> = BTreeMap::new();
    let runs = [
        (&national, Date::new(2020, 12, 31)),
        (&national, Date::new(2024, 12, 31)),
        (&guizhou, Date::new(2024, 6, 30)),
    ];
    for (rs, date) in runs {
        let b = rs.at(date.unwrap()).unwrap();
        for (who, cells) in &households {
            let hh = household(&b, cells);
            if b.as_of.year == 2020 {
                let ty = cells.get("household_type").or(cells.get("户类型")).cloned().unwrap_or_default();
                *types.entry(ty).or_insert(0) += 1;
            }
            for w in check_household(&b, &hh, &format!("{who} ({} {})", rs.id, b.as_of), &mut t) {
                *per_decision.entry(w.decision).or_insert(0) += 1;
            }
        }
    }
    eprintln!(
        "what-if: {} assessments ({} households, national 2020 and 2024, guizhou-2023 2024; types {types:?}); {} decisions short of their goal; \
         {} found reachable by the search ({} changes tried); {} what-ifs given {per_decision:?}; \
         {} suggestions checked, {} household sums, {} through the incomes; {} findings after the changes",
        t.households,
        households.len(),
        t.open,
        t.reachable,
        t.tried,
        t.given,
        t.suggestions,
        t.totals,
        t.via_income,
        t.findings_after
    );
    assert!(households.len() >= 600);
    for ty in ["一般农户", "贫困户", "脱贫户"] {
        assert!(types.get(ty).copied().unwrap_or(0) >= 30, "{ty}: {types:?}");
    }
    // The search found goals to reach of every kind, and the what-if reached them.
    assert!(t.reachable >= 100, "{}", t.reachable);
    for d in ["exit", "risk", "elimination"] {
        assert!(per_decision.get(d).copied().unwrap_or(0) >= 10, "{d}: {per_decision:?}");
    }
    assert!(t.totals >= 50 && t.via_income >= 5, "{} {}", t.totals, t.via_income);
}

/// A sample of the generated households through the binary: `check FILE --id … --format json`
/// gives the same what-if as the library, and `--set` with its changes reaches the goal.
#[test]
fn what_if_through_the_binary_matches_and_reaches_the_goal() {
    let rs = ruleset::load("national").unwrap();
    let households = generated(120, 15);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("户表.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    let keys: Vec<&str> = rs.fields.iter().map(|f| f.key.as_str()).collect();
    w.write_record(&keys).unwrap();
    for c in &households {
        w.write_record(keys.iter().map(|k| c.get(*k).map(String::as_str).unwrap_or(""))).unwrap();
    }
    w.flush().unwrap();
    let file = path.to_str().unwrap();
    let b = rs.at(Date::new(2024, 12, 31).unwrap()).unwrap();
    let run = |id: &str, sets: &[String]| -> Value {
        let mut cmd = tuopin();
        cmd.args(["check", file, "--id", id, "--year", "2024", "--format", "json"]);
        for s in sets {
            cmd.args(["--set", s]);
        }
        let out = cmd.output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let mut checked = 0;
    for c in &households {
        let hh = household(&b, c);
        let what_if = whatif::what_if(&b, &hh, &engine::assess(&b, &hh));
        if what_if.is_empty() || checked >= 12 {
            continue;
        }
        let id = &c["household_id"];
        let r = run(id, &[]);
        assert_eq!(r["what_if"], serde_json::to_value(&what_if).unwrap(), "{id}");
        for wi in &what_if {
            let sets: Vec<String> =
                wi.steps.last().unwrap().applied.iter().map(|c| format!("{}={}", c.field, c.to)).collect();
            let after = run(id, &sets);
            let label = if wi.decision == "risk" { &after["risk"]["level"] } else { &after[&wi.decision] };
            assert!(wi.goals.iter().any(|g| label == g), "{id} {sets:?}: {label}");
        }
        checked += 1;
    }
    assert_eq!(checked, 12);
}

/// A province adds a decision with a goal, and makes one more field actionable, in a variant file
/// (`tests/data/rules/province-goal.toml`): `check` advises on it with no code change, and the
/// national rules, which do not declare that field actionable, never suggest it.
#[test]
fn a_province_adds_a_goal_without_code() {
    let household = "household_type=一般农户\nper_capita_income=5500\nmembers=4\nlabor=2\ninsured=3\nfood=是\n\
                     clothing=是\ndropouts=0\nhousing_grade=A\nwater=是\nexpense_medical=30000\n";
    // The household on standard input, with these `key=value` lines replacing its own.
    let run = |rules: &str, sets: &[String]| -> Value {
        let keys: Vec<&str> = sets.iter().map(|s| s.split('=').next().unwrap()).collect();
        let mut lines: Vec<&str> =
            household.lines().filter(|l| !keys.contains(&l.split('=').next().unwrap())).collect();
        lines.extend(sets.iter().map(String::as_str));
        let out = tuopin()
            .args(["check", "--year", "2024", "--rules", rules, "--format", "json"])
            .write_stdin(lines.join("\n"))
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let variant = "tests/data/rules/province-goal.toml";
    let r = run(variant, &[]);
    assert_eq!(r["assist"], "重点帮扶户");
    let w = r["what_if"].as_array().unwrap().iter().find(|w| w["decision"] == "assist").expect("a what-if").clone();
    assert_eq!((w["goal"].as_str(), w["goals"].clone()), (Some("常规帮扶"), serde_json::json!(["常规帮扶"])));
    let fields = |w: &Value| -> Vec<String> {
        w["steps"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["needs"].as_array().unwrap().iter())
            .flat_map(|n| n["suggestions"].as_array().unwrap().iter())
            .map(|s| s["field"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(fields(&w).contains(&"expense_medical".to_string()), "{w}");
    let sets: Vec<String> = w["steps"].as_array().unwrap().last().unwrap()["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}={}", c["field"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(run(variant, &sets)["assist"], "常规帮扶", "{sets:?}");
    // rules/README.md shows this what-if as `check` prints it.
    let out = tuopin().args(["check", "--year", "2024", "--rules", variant]).write_stdin(household).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let block = &text[text.find("重点帮扶（现为 重点帮扶户）").unwrap()..];
    let block = &block[..block.find("\n\n").unwrap_or(block.len())];
    let readme = std::fs::read_to_string(root().join("rules/README.md")).unwrap();
    assert!(readme.contains(block), "rules/README.md differs from:\n{block}");
    // The national rules: no such decision, and the expense is a recorded fact there.
    let r = run("national", &[]);
    assert!(r.get("assist").is_none());
    let ws = r["what_if"].as_array().unwrap();
    assert!(!ws.is_empty());
    for w in ws {
        assert!(!fields(w).contains(&"expense_medical".to_string()), "{w}");
    }
}

// ─── The rule file's side, checked when it loads (`ruleset::action`) ───

/// The national rule file with one text replaced (it must occur).
fn national_with(from: &str, to: &str) -> Result<RuleSet, String> {
    let text = embedded("national").unwrap();
    assert!(text.contains(from), "{from}");
    load_str(&text.replacen(from, to, 1), "t.toml").map_err(|e| e.to_string())
}

fn error(from: &str, to: &str) -> String {
    national_with(from, to).err().unwrap_or_else(|| panic!("{to} loaded"))
}

#[test]
fn the_national_rules_declare_what_help_can_change() {
    let rs = national_with("", "").unwrap();
    let action = |k: &str| rs.field(k).unwrap().action.clone();
    assert_eq!(action("per_capita_income"), Some(Action::Increase));
    assert_eq!(action("insured"), Some(Action::Increase));
    assert_eq!(action("dropouts"), Some(Action::Decrease));
    assert_eq!(action("monitor_since"), Some(Action::Wait));
    assert_eq!(action("water"), Some(Action::To(vec![Scalar::Bool(true)])));
    assert_eq!(action("housing_secured"), Some(Action::To(vec![Scalar::Enum(1), Scalar::Enum(2)])));
    // Recorded facts, and evidence never to be hidden.
    for k in [
        "prev_per_capita_income",
        "members",
        "labor",
        "ill",
        "disabled",
        "housing_grade",
        "household_type",
        "monitor_type",
        "disaster",
        "has_car",
        "has_public_employee",
        "expense_medical",
    ] {
        assert_eq!(action(k), None, "{k}");
    }
    let t = rs.field("per_capita_income").unwrap().total.clone().unwrap();
    assert_eq!((rs.fields[t.per as usize].key.as_str(), t.label.as_str()), ("members", "家庭年纯收入"));
    let goal = |d: &str| {
        let d = &rs.decisions[rs.decision_index(d).unwrap()];
        d.goal.iter().map(|&g| d.labels[g as usize].as_str()).collect::<Vec<_>>()
    };
    assert!(goal("eligibility").is_empty(), "nobody is advised how to qualify");
    assert_eq!(goal("risk"), ["低", "无"]);
    assert_eq!(goal("exit"), ["可退出"]);
    assert_eq!(goal("elimination"), ["可消除风险"]);
}

#[test]
fn a_bad_action_is_a_chinese_load_error() {
    let wage = "label = \"工资性收入\"\naction = \"increase\"";
    let e = error(wage, "label = \"工资性收入\"\naction = \"up\"");
    assert!(e.contains("字段 `income_wage` (action)") && e.contains("\"increase\""), "{e}");
    let e = error("label = \"饮水安全\"\naction = [\"是\"]", "label = \"饮水安全\"\naction = \"increase\"");
    assert!(e.contains("只用于整数、金额") && e.contains("action = [\"是\"]"), "{e}");
    let e = error("action = [\"改造安全\", \"保障安全\"]", "action = [\"改造安全\", \"拆除\"]");
    assert!(e.contains("目标取值“拆除”") && e.contains("鉴定安全"), "{e}");
    let e = error("label = \"家庭人口数\"\n", "label = \"家庭人口数\"\naction = \"wait\"\n");
    assert!(e.contains("字段 `members` (action)"), "{e}");
    let e = error("action = \"wait\"", "action = \"increase\"").replace(' ', "");
    assert!(e.contains("月份字段只能写action=\"wait\""), "{e}");
    let e = error("label = \"户主证件号码\"\n", "label = \"户主证件号码\"\naction = [\"是\"]\n");
    assert!(e.contains("证件号码字段不能由帮扶改变"), "{e}");
    let e = error("label = \"饮水安全\"\naction = [\"是\"]", "label = \"饮水安全\"\naction = []");
    assert!(e.contains("没有目标取值"), "{e}");
}

#[test]
fn a_bad_total_is_a_load_error() {
    let total = "total = { per = \"members\", label = \"家庭年纯收入\" }";
    let e = error(total, "total = { per = \"labr\", label = \"家庭年纯收入\" }");
    assert!(e.contains("per = \"labr\" 不是整数字段") && e.contains("labor"), "{e}");
    let e = error(total, "total = { per = \"members\", label = \"家庭年纯收入\", unit = \"元\" }");
    assert!(e.contains("unit"), "unknown keys are rejected: {e}");
    let e = error(total, "total = { per = \"members\", label = \" \" }");
    assert!(e.contains("label 不能为空"), "{e}");
    // Only on a money field help can change.
    let e = error(
        "label = \"上年人均纯收入\"\n",
        "label = \"上年人均纯收入\"\ntotal = { per = \"members\", label = \"上年家庭纯收入\" }\n",
    );
    assert!(e.contains("只用于帮扶可改变"), "{e}");
    let e = error("action = \"increase\"\ntotal", "action2 = \"increase\"\ntotal");
    assert!(e.contains("action2"), "unknown keys are rejected: {e}");
}

#[test]
fn a_goal_is_a_label_or_labels_of_the_decision_and_not_its_undecided_one() {
    let risk = "goal = [\"低\", \"无\"]";
    assert!(national_with(risk, "goal = \"无\"").is_ok());
    let e = error(risk, "goal = [\"低\", \"待核实\"]");
    assert!(e.contains("决策 `risk` (goal)") && e.contains("“待核实”"), "{e}");
    let e = error(risk, "goal = [\"低\", \"不适用\"]");
    assert!(e.contains("“不适用”"), "{e}");
    let e = error(risk, "goal = []");
    assert!(e.contains("删去 goal"), "{e}");
    let e = error(risk, "goal = [\"低级\"]");
    assert!(e.contains("goal “低级” 不在它的 labels 中") && e.contains("是否应为"), "{e}");
}

// ─── The what-if as a work team reads it (`action_text`, `check`'s numbered actions) ───

#[test]
fn actions_are_in_the_rule_files_words_with_the_household_sum_rounded_up_to_the_yuan() {
    let date = Date::new(2024, 12, 31).unwrap();
    let act = |rs: &RuleSet, cells: &[(&str, &str)], field: &str, to: &str| {
        let rs = rs.clone().worded(date);
        let b = rs.at(date).unwrap();
        let mut c: Cells = [("household_id", "T1"), ("household_type", "一般农户"), ("labor", "1"), ("water", "是")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.extend(cells.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let hh = household(&b, &c);
        let a = engine::assess(&b, &hh);
        let act = whatif::act(&b, &hh, &a, field, to, None);
        (act.text, act.note)
    };
    let rs = national_with("", "").unwrap();
    let income = |pci: &str, members: &str| {
        let mut cells = vec![("per_capita_income", pci)];
        if !members.is_empty() {
            cells.push(("members", members));
        }
        act(&rs, &cells, "per_capita_income", "6000")
    };
    // One fen per head short, for one and for three members: the household sum rounds up to 1 元.
    assert_eq!(income("5999.99", "1"), ("家庭年纯收入还差 1 元（即人均 0.01 元）".into(), None));
    assert_eq!(income("5999.99", "3"), ("家庭年纯收入还差 1 元（即人均 0.01 元）".into(), None));
    // 1.01 元 × 3 = 3.03 元: 4 元, never less than what is needed; whole yuan stay exact.
    assert_eq!(income("5998.99", "3").0, "家庭年纯收入还差 4 元（即人均 1.01 元）");
    assert_eq!(income("5000", "4").0, "家庭年纯收入还差 4000 元（即人均 1000 元）");
    assert_eq!(income("3999.5", "3").0, "家庭年纯收入还差 6002 元（即人均 2000.5 元）");
    // The household's size unknown: the per-head change alone, and a note saying why.
    assert_eq!(
        income("5999.99", ""),
        ("人均纯收入增加 0.01 元（至 6000 元）".into(), Some("家庭人口数不详，未能算出家庭年纯收入".into()))
    );
    // Counts of members, values: the rule file's words.
    let insured = [("members", "3"), ("insured", "1")];
    assert_eq!(act(&rs, &insured, "insured", "3").0, "为 2 名成员参加基本医疗保险（资助参保）");
    assert_eq!(act(&rs, &[("water", "否")], "water", "是").0, "解决安全饮用水");
    // Without an action_text: plain words made from the field's label.
    let bare = national_with("action_text = \"为 {change} 名成员参加基本医疗保险（资助参保）\"\n", "").unwrap();
    assert_eq!(act(&bare, &insured, "insured", "3").0, "参加基本医疗保险人数增加 2（至 3）");
    let bare = national_with("action_text = \"解决安全饮用水\"\n", "").unwrap();
    assert_eq!(act(&bare, &[("water", "否")], "water", "是").0, "使饮水安全为“是”");
}

#[test]
fn check_lists_numbered_actions_per_decision() {
    let household = "household_type=一般农户\nper_capita_income=5999.99\nmembers=3\nlabor=2\ninsured=1\nfood=是\n\
                     clothing=是\ndropouts=0\nhousing_grade=A\nwater=是\n";
    let out = tuopin().args(["check", "--year", "2024"]).write_stdin(household).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let block = &text[text.find("【怎样改变判定】").expect("a what-if")..];
    let block = &block[..block.find("\n\n").unwrap_or(block.len())];
    assert_eq!(
        block,
        "【怎样改变判定】  每项均已用规则重新评估验证\n\
         返贫致贫风险（现为 高）：做到以下 2 项，可为 无\n\
         \x20 1. 为 2 名成员参加基本医疗保险（资助参保）\n\
         \x20    针对：保障缺口（现满足，须不满足）\n\
         \x20 2. 家庭年纯收入还差 1 元（即人均 0.01 元）\n\
         \x20    针对：低于监测范围（现满足，须不满足）\n"
    );
    // JSON: the same actions, for other programs.
    let out = tuopin().args(["check", "--year", "2024", "--format", "json"]).write_stdin(household).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let acts = &v["what_if"][0]["actions"];
    assert_eq!(
        acts[1],
        serde_json::json!({"field": "per_capita_income", "text": "家庭年纯收入还差 1 元（即人均 0.01 元）"})
    );
    // --verbose adds how it was found.
    let out = tuopin().args(["check", "--year", "2024", "-v"]).write_stdin(household).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("【推算过程】") && text.contains("参加基本医疗保险人数 需增加 2"), "{text}");
}

#[test]
fn a_bad_action_text_is_a_load_error() {
    let t = "action_text = \"为 {change} 名成员参加基本医疗保险（资助参保）\"";
    let e = error(t, "action_text = \"为 {人数} 名成员参保\"");
    assert!(
        e.contains("字段 `insured` (action_text)") && e.contains("未知的占位符 {人数}") && e.contains("{change}"),
        "{e}"
    );
    let e = error(t, "action_text = \"为 {change 名成员参保\"");
    assert!(e.contains("没有对应的"), "{e}");
    let e = error(t, "action_text = \"还差 {total} 元\"");
    assert!(e.contains("{total} 只用于有 total 的金额字段"), "{e}");
    let e = error(t, "action_text = \" \"");
    assert!(e.contains("不能为空"), "{e}");
    let e = error("action_text = \"解决安全饮用水\"", "action_text = \"解决 {change} 处饮水\"");
    assert!(e.contains("{change} 只用于 increase、decrease、wait"), "{e}");
    let e = error("label = \"家庭人口数\"\n", "label = \"家庭人口数\"\naction_text = \"增加人口\"\n");
    assert!(e.contains("字段 `members` (action_text)") && e.contains("请先写 action"), "{e}");
}

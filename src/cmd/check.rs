//! `tuopin check`: one household, explained, with what would change its decisions.
//!
//! The household comes from a ledger row (`FILE --id`), from `--set` cells, from standard input
//! (`key=value` lines or one JSON object), or from questions on a terminal. In every case its
//! cells are parsed exactly as a ledger's (`RuleSet::set_cell`; ranges and derivations by
//! `RuleSet::finish`, through `cases::household` or `Layout::household`), and it is assessed by the
//! same engine as `assess`. The JSON output is the record of a line of `assess --format jsonl`,
//! plus `what_if` (see `whatif`).

mod interview;
mod render;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use serde::Serialize;

use crate::cli::{CheckArgs, CheckFormat};
use crate::engine::whatif::{self, WhatIf};
use crate::error::Outcome;
use crate::household::{Cell, Household, Problem};
use crate::input::{Duplicates, Ledger, OpenOptions};
use crate::output::Record;
use crate::ruleset::expr::{self, Node};
use crate::ruleset::{self, Bound, RuleSet, Test};
use crate::value::cell;
use crate::{cases, engine};

/// Where the household came from, for the heading.
pub enum Source {
    File { path: String, row: u64 },
    Cells,
}

/// The JSON output: the `assess --format jsonl` record, plus `what_if`.
#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    record: &'a Record,
    what_if: &'a [WhatIf],
}

const NO_INPUT: &str =
    "没有输入：在终端上运行 `tuopin check` 逐项填写；或经标准输入给出 key=value 行或一个 JSON 对象；\
                        或用 --set 人均纯收入=3800；或 `tuopin check 文件 --id 户编号`";

pub fn run(args: CheckArgs) -> anyhow::Result<Outcome> {
    let rules = ruleset::load(&args.rules.rules)?;
    let as_of = super::as_of(&args.date)?;
    let rules = rules.worded(as_of);
    let mut bound = rules.at(as_of)?;
    super::run_messages(bound.run_warnings());
    let matcher = super::departments(&rules, &args.lists, &args.input)?;
    let (mut hh, source) = read_household(&args, &mut bound, &matcher)?;
    if let (Some(m), Source::Cells) = (&matcher, &source) {
        m.fill_head(&rules, &mut hh);
    }
    let a = engine::assess(&bound, &hh);
    let mut record = Record::build(&bound, &hh, &a, args.show_ids);
    if let Some(m) = &matcher {
        record.add_evidence(m, &bound, &hh, args.show_ids);
    }
    let what_if = whatif::what_if(&bound, &hh, &a);
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut text = match args.format {
        CheckFormat::Json => serde_json::to_string(&Json { record: &record, what_if: &what_if })? + "\n",
        CheckFormat::Text => {
            let paint = render::Paint::new(tty);
            let mut t = render::text(
                &bound,
                &hh,
                &a,
                &record,
                &what_if,
                &source,
                render::Style { paint, verbose: args.verbose },
            );
            if let Some(m) = &matcher {
                t.push_str(&evidence_lines(m, &bound, &hh));
            }
            // The screen's own words in the run's language (the rule file's stay as written).
            crate::messages::tr(&t).into_owned()
        }
    };
    if !args.show_ids {
        // The whole screen, values shown in explanations and what-if included; the 户编号 stays.
        if let std::borrow::Cow::Owned(t) = crate::privacy::mask_text_keeping(&text, &record.household_id) {
            text = t;
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if record.problems.is_empty() { Outcome::Clean } else { Outcome::Problems })
}

/// `check`'s screen: every department record matched to the household, one a line (masked with
/// the rest of the screen).
fn evidence_lines(m: &crate::matching::Matcher, bound: &Bound, hh: &Household) -> String {
    let mut out = String::from("\n比对结果（--with）：");
    if hh.matches.is_empty() {
        out.push_str("所给比对名单中没有本户成员\n");
        return out;
    }
    out.push('\n');
    for k in 0..hh.matches.len() {
        let one = Household { matches: vec![hh.matches[k]], ..Household::default() };
        let mut line = String::new();
        m.write_evidence(&mut line, bound.rules, &one, true);
        out.push_str("  ");
        out.push_str(line.strip_prefix("比对：").unwrap_or(&line));
        out.push('\n');
    }
    out
}

fn read_household(
    args: &CheckArgs,
    bound: &mut Bound,
    matcher: &Option<std::sync::Arc<crate::matching::Matcher>>,
) -> anyhow::Result<(Household, Source)> {
    let rs = bound.rules;
    let sets = args
        .set
        .iter()
        .map(|s| split_pair(s).ok_or_else(|| anyhow!("--set {s}：应为 键=值，如 --set 人均纯收入=3800")))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(file) = &args.file {
        let id = args.id.as_deref().ok_or_else(|| anyhow!("给了文件还须给 --id 户编号，如 --id 5200010101003"))?;
        // `-`: standard input, spooled to a temporary file while it is read.
        let input = crate::input::stdin::Input::open(file)?;
        let (mut hh, row) = from_file(input.path(), id, bound, &args.input.options(), matcher)?;
        // `--set` replaces cells of the household read from the file.
        for (k, v) in &sets {
            let f = cases::field_key(rs, k).map_err(|e| anyhow!("--set {k}={v}：{e}"))?;
            hh = whatif::with_text(bound, &hh, f, v, &rs.fields[f as usize].header);
        }
        return Ok((hh, Source::File { path: crate::value::shown_path(input.path()), row }));
    }
    let pairs = if !sets.is_empty() {
        sets
    } else if std::io::stdin().is_terminal() {
        interview::ask(bound)?
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("标准输入无法读取（应为 UTF-8 文本）")?;
        parse_input(&text)?
    };
    Ok((from_cells(rs, pairs, bound.as_of)?, Source::Cells))
}

/// `key=value` (also `＝`; or `key：value` when there is no `=`).
fn split_pair(s: &str) -> Option<(String, String)> {
    let at = s.find(['=', '＝']).or_else(|| s.find(['：', ':']))?;
    let sep = s[at..].chars().next()?.len_utf8();
    let key = s[..at].trim();
    (!key.is_empty()).then(|| (key.to_string(), s[at + sep..].trim().to_string()))
}

/// Standard input: one JSON object, or `key=value` lines (blank lines and `#` comments skipped).
fn parse_input(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.is_empty() {
        bail!("{NO_INPUT}");
    }
    let mut out = Vec::new();
    if t.starts_with('{') {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(t).context("标准输入不是有效的 JSON 对象")?;
        for (k, v) in map {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => (if b { "是" } else { "否" }).to_string(),
                serde_json::Value::Null => String::new(),
                other => bail!("标准输入 JSON：“{k}”的值 {other} 不是一个单元格的值"),
            };
            out.push((k, s));
        }
        return Ok(out);
    }
    for (i, line) in t.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        out.push(split_pair(l).ok_or_else(|| anyhow!("标准输入第 {} 行“{l}”：应为 键=值，如 人均纯收入=3800", i + 1))?);
    }
    Ok(out)
}

/// A household from cell texts keyed by header or field key, read as a ledger row would be. Its
/// row is 0 (it is not in a file); without a 户编号 the id is left blank, not a problem.
fn from_cells(rs: &RuleSet, pairs: Vec<(String, String)>, as_of: crate::value::Date) -> anyhow::Result<Household> {
    let mut seen: Vec<(u16, String)> = Vec::new();
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        let f = cases::field_key(rs, &k).map_err(|e| anyhow!("{k}={v}：{e}"))?;
        if let Some((_, prev)) = seen.iter().find(|s| s.0 == f) {
            bail!("字段 {}（{}）给了两次：“{prev}”和“{k}”", rs.fields[f as usize].key, rs.fields[f as usize].label);
        }
        seen.push((f, k.clone()));
        map.insert(k, toml::Value::String(v));
    }
    let mut hh = cases::household(rs, &map, as_of).map_err(|e| anyhow!(e))?;
    let id = rs.field_index["household_id"];
    if !seen.iter().any(|s| s.0 == id) {
        hh.cells[id as usize] = Cell::Blank;
    }
    hh.row = 0;
    for p in &mut hh.problems {
        p.row = 0;
    }
    Ok(hh)
}

/// The household with this id in a ledger: rows are streamed until the end (an id found twice is
/// a problem, as in `assess`). Not found: an error naming the id.
fn from_file(
    path: &Path,
    id: &str,
    bound: &mut Bound,
    options: &OpenOptions,
    matcher: &Option<std::sync::Arc<crate::matching::Matcher>>,
) -> anyhow::Result<(Household, u64)> {
    let mut ledger = Ledger::open(path, bound.rules, options)?;
    super::attach_departments(&mut ledger, matcher, bound.rules);
    bound.read_from = ledger.layout.read_from(bound.rules);
    let bound = &*bound;
    if let Some(n) = ledger.layout.alternatives_note(bound.rules) {
        super::note(&n);
    }
    if let Some(w) = ledger.layout.absent_warning(bound.rules) {
        super::note(&w);
    }
    let want = cell::normalize(id).into_owned();
    let none = Duplicates::default();
    let mut found: Option<Household> = None;
    let mut again = Vec::new();
    loop {
        let batch = ledger.next_batch(4096)?;
        if batch.is_empty() {
            break;
        }
        for raw in &batch {
            if ledger.layout.id_of(raw).as_deref() == Some(want.as_str()) {
                match found {
                    None => found = Some(ledger.layout.household(bound, raw, &none)),
                    Some(_) => again.push(raw.row.to_string()),
                }
            }
        }
    }
    let mut hh = found.ok_or_else(|| {
        anyhow!(
            "{}：没有户编号为“{id}”的户：请核对户编号（用 tuopin assess 可列出文件中的各户）",
            crate::value::shown_path(path)
        )
    })?;
    if !again.is_empty() {
        let idf = bound.rules.field_index["household_id"];
        hh.problems.push(Problem {
            row: hh.row,
            column: ledger.layout.field_column[idf as usize].clone().unwrap_or_default(),
            field: Some("household_id".into()),
            value: want,
            message: format!("户编号重复：第 {} 行也是此户编号（这里核查的是第 {} 行）", again.join("、"), hh.row),
        });
    }
    let row = hh.row;
    Ok((hh, row))
}

/// The criteria this household's decisions reached, in reading order: those read by each
/// decision's rules up to the one that gave its label (all of them when none did), by the criteria
/// they read in turn, and a decision's factors when it gave the household a label that is neither
/// `not_applicable` nor `undecided`. Derived from the rule file, not listed anywhere.
pub fn reached_criteria(b: &Bound, a: &engine::Assessment) -> Vec<u16> {
    let rs = b.rules;
    let mut reached = vec![false; rs.criteria.len()];
    let mut todo: Vec<&Node> = Vec::new();
    for (di, dec) in rs.decisions.iter().enumerate() {
        let upto = a.decided_by[di].map_or(dec.rules.len(), |k| k + 1);
        todo.extend(dec.rules[..upto].iter().map(|(n, _, _)| n));
        // Its factors (风险因素) when it has a label for the household: what that label rests on.
        let label = a.decisions[di];
        if !dec.is_not_applicable(label) && label != dec.undecided {
            for &f in &dec.factors {
                reached[f as usize] = true;
                push_tests(rs, f, &mut todo);
            }
        }
    }
    while let Some(n) = todo.pop() {
        expr::walk(n, &mut |x| {
            if let Node::Crit(i) = x {
                if !reached[*i as usize] {
                    reached[*i as usize] = true;
                    push_tests(rs, *i, &mut todo);
                }
            }
        });
    }
    let (_, order) = reading_order(rs);
    order.into_iter().filter(|&c| reached[c as usize]).collect()
}

fn push_tests<'a>(rs: &'a RuleSet, c: u16, todo: &mut Vec<&'a Node>) {
    match &rs.criteria[c as usize].test {
        Test::Condition(n) => todo.push(n),
        Test::MetUnmet(m, u) => todo.extend([m, u]),
    }
}

/// Fields and criteria in the order the decisions read them, depth first through criteria: the
/// order of the questions and of the criteria list. Criteria no decision reads come last.
fn reading_order(rs: &RuleSet) -> (Vec<u16>, Vec<u16>) {
    fn visit(rs: &RuleSet, n: &Node, fields: &mut Vec<u16>, crits: &mut Vec<u16>) {
        let mut items = Vec::new();
        expr::walk(n, &mut |x| match x {
            Node::Field(i) | Node::Blank(i) => items.push((true, *i)),
            Node::Crit(i) => items.push((false, *i)),
            _ => {}
        });
        for (is_field, i) in items {
            if is_field {
                if !fields.contains(&i) {
                    fields.push(i);
                }
            } else {
                crit(rs, i, fields, crits);
            }
        }
    }
    fn crit(rs: &RuleSet, i: u16, fields: &mut Vec<u16>, crits: &mut Vec<u16>) {
        if crits.contains(&i) {
            return;
        }
        crits.push(i);
        match &rs.criteria[i as usize].test {
            Test::Condition(n) => visit(rs, n, fields, crits),
            Test::MetUnmet(m, u) => {
                visit(rs, m, fields, crits);
                visit(rs, u, fields, crits);
            }
        }
    }
    let (mut fields, mut crits) = (Vec::new(), Vec::new());
    for d in &rs.decisions {
        for (n, _, _) in &d.rules {
            visit(rs, n, &mut fields, &mut crits);
        }
        for &f in &d.factors {
            crit(rs, f, &mut fields, &mut crits);
        }
    }
    if let Some(f) = &rs.returned {
        visit(rs, &f.when, &mut fields, &mut crits);
    }
    for i in 0..rs.criteria.len() as u16 {
        crit(rs, i, &mut fields, &mut crits);
    }
    (fields, crits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(split_pair("人均纯收入=3800"), Some(("人均纯收入".into(), "3800".into())));
        assert_eq!(split_pair(" water ＝ 是 "), Some(("water".into(), "是".into())));
        assert_eq!(split_pair("识别监测时间：2024-06"), Some(("识别监测时间".into(), "2024-06".into())));
        assert_eq!(split_pair("a=b=c"), Some(("a".into(), "b=c".into())));
        assert_eq!(split_pair("=3"), None);
        assert_eq!(split_pair("人均纯收入 3800"), None);
    }

    #[test]
    fn questions_follow_the_decisions() {
        let rs = ruleset::load("national").unwrap();
        let (fields, crits) = reading_order(&rs);
        let key = |i: u16| rs.fields[i as usize].key.as_str();
        assert_eq!(key(fields[0]), "household_type");
        let pos = |k: &str| fields.iter().position(|&f| key(f) == k).unwrap();
        assert!(pos("per_capita_income") < pos("water"));
        assert!(pos("water") < pos("monitor_since"));
        assert_eq!(crits.len(), rs.criteria.len());
    }
}

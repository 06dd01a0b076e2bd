//! `tuopin reconcile`: two or more rosters (department lists of the rule file: 民政's, the
//! monitoring roster, …) compared by normalised ID number.
//!
//! Each roster is a department list of the rule set (`[departments.*]`: label, ID column,
//! carried columns, header aliases), read whole as `--with` reads it (`input::departments`: IDs
//! normalised, rows that cannot be compared counted and listed). Then every person, in input
//! order (the first roster's rows, then the other rosters' people not seen yet), is matched
//! with every roster given (`Matcher::fill`, as a ledger row's head) and the rule set's
//! `[reconcile.*]` rules are evaluated over their records (`ruleset::reconcile`): one output row
//! per rule that holds. With `--all`, no rule: one row per person not on every roster.
//! Output: CSV (UTF-8 with BOM), IDs and phones masked unless `--show-ids`, every cell through
//! the formula defence; an output file gets its provenance beside it (`<output>.说明.json`: the
//! rosters' names, sizes and SHA-256, the rules, the date, the options).

use std::io::Write;

use anyhow::{anyhow, Context};

use crate::cli::ReconcileArgs;
use crate::error::Outcome;
use crate::household::{Cell, Household, Match};
use crate::input::departments as dep;
use crate::matching::{List, Matcher};
use crate::output::{self, AtomicFile};
use crate::ruleset::{self, Bound, RuleSet};
use crate::value::idnum;

pub fn run(args: ReconcileArgs) -> anyhow::Result<Outcome> {
    let rules = ruleset::load(&args.rules.rules)?;
    let as_of = super::as_of(&args.date)?;
    let bound = rules.at(as_of)?;
    let inputs: Vec<&std::path::Path> =
        args.rosters.iter().filter_map(|s| s.split_once('=')).map(|(_, p)| std::path::Path::new(p.trim())).collect();
    // An output file gets a provenance record: the rosters hashed while they are read.
    let hashes = args.output.as_deref().filter(|p| !output::is_stdout(p)).map(|_| super::Hashes::start(&inputs));
    let (matcher, given) = read_rosters(&rules, &args.rosters)?;
    let unreadable =
        given.iter().filter_map(|&d| matcher.lists[d as usize].as_ref()).any(|l| l.stats.mangled + l.stats.invalid > 0);
    // Streamed: the output may have as many rows as the rosters have people.
    let path = args.output.clone().unwrap_or_else(|| "-".into());
    let mut f = AtomicFile::create(&path, &inputs)?;
    let shown = path.display().to_string();
    let w = f.writer();
    w.write_all("\u{feff}".as_bytes()).with_context(|| format!("无法写出 {shown}"))?;
    let mut w = csv::Writer::from_writer(w);
    if args.all {
        let only = differences(&rules, &matcher, &given, &mut w, args.show_ids)?;
        w.flush().with_context(|| format!("无法写出 {shown}"))?;
        for (&d, n) in given.iter().zip(&only) {
            let label = &rules.departments[d as usize].label;
            super::note(&format!("不在“{label}”中而在其他名单中：{} 人\n", crate::value::grouped(*n)));
        }
    } else {
        actionable(&bound, &matcher, &given, &mut w, args.show_ids)?;
        w.flush().with_context(|| format!("无法写出 {shown}"))?;
    }
    drop(w);
    f.commit().context("输出未能完成")?;
    if let Some(h) = hashes {
        let mut options = vec!["--rules".to_string(), args.rules.rules.clone(), "--date".into(), as_of.to_string()];
        options.extend([(args.all, "--all"), (args.show_ids, "--show-ids")].iter().filter(|f| f.0).map(|f| f.1.into()));
        let prov = super::provenance_hashed("reconcile", &[&rules], as_of, h, options)?;
        output::provenance::write_sidecar(&path, &inputs, prov)?;
    }
    Ok(if unreadable { Outcome::Problems } else { Outcome::Clean })
}

/// The rosters given (`名称=文件`, the name a department list's label or key), read; and their
/// lists' indexes in the order given.
fn read_rosters(rules: &RuleSet, specs: &[String]) -> anyhow::Result<(Matcher, Vec<u16>)> {
    let mut lists: Vec<Option<List>> = (0..rules.departments.len()).map(|_| None).collect();
    let mut given = Vec::new();
    for spec in specs {
        let (name, path) = spec
            .split_once('=')
            .map(|(n, p)| (n.trim(), p.trim()))
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| anyhow!("名单应写成 名称=文件，如 dibao_roll=民政名单.xlsx，不是“{spec}”"))?;
        let Some(d) = rules.departments.iter().position(|d| d.label == name || d.key == name) else {
            let m = crate::messages::paren;
            let known: Vec<String> = rules.departments.iter().map(|d| format!("{}{}", d.label, m(&d.key))).collect();
            return Err(if known.is_empty() {
                anyhow!("规则集 {} 没有声明名单（[departments.*]），不能比对", rules.id)
            } else {
                anyhow!("规则集没有名为“{name}”的名单：可用 {}", known.join(crate::messages::sep("、")))
            });
        };
        if lists[d].is_some() {
            return Err(anyhow!("名单“{}”给了两次", rules.departments[d].label));
        }
        let label = &rules.departments[d].label;
        let bar = crate::pipeline::progress_of(&format!("名单“{label}”："), "行");
        let list = dep::read(rules, d as u16, std::path::Path::new(path), &Default::default(), &bar)?;
        for line in dep::describe(rules, &list).lines() {
            if line.starts_with("警告") || line.starts_with("  ") {
                eprintln!("{line}");
            } else {
                super::note(&format!("{line}\n"));
            }
        }
        lists[d] = Some(list);
        given.push(d as u16);
    }
    Ok((Matcher { lists }, given))
}

/// Every person's ID key once, in input order: the first roster's rows in file order, then the
/// people of the next roster not on an earlier one, and so on. (A person's first record in a
/// roster is the first of its key's records, which are sorted by row: no set of those seen.)
fn for_each_person(
    matcher: &Matcher,
    given: &[u16],
    mut f: impl FnMut(u64) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for (i, &d) in given.iter().enumerate() {
        let Some(list) = &matcher.lists[d as usize] else { continue };
        let mut records: Vec<u32> = (0..list.len() as u32).collect();
        records.sort_by_key(|&r| list.row(r));
        for r in records {
            let key = list.key(r);
            let earlier = given[..i]
                .iter()
                .any(|&e| matcher.lists[e as usize].as_ref().is_some_and(|l| !l.lookup(key).is_empty()));
            if list.lookup(key).start == r && !earlier {
                f(key)?;
            }
        }
    }
    Ok(())
}

/// What roster `d` says of person `key`: each record's row and values (`第 3 行：姓名 张三，保障类别
/// 甲类`), or that the person is not on it.
fn side(rules: &RuleSet, matcher: &Matcher, d: u16, key: u64) -> String {
    let dept = &rules.departments[d as usize];
    let Some(list) = &matcher.lists[d as usize] else { return String::new() };
    let mut out = String::new();
    for r in list.lookup(key) {
        if !out.is_empty() {
            out.push('；');
        }
        out.push_str(&format!("第 {} 行", list.row(r)));
        let mut first = true;
        for (c, col) in dept.columns.iter().enumerate() {
            let mut v = String::new();
            list.write_value(&mut v, dept, r, c);
            if !v.is_empty() {
                out.push_str(if first { "：" } else { "，" });
                first = false;
                out.push_str(&format!("{} {v}", col.label));
            }
        }
    }
    if out.is_empty() {
        out.push_str("不在名单中");
    }
    out
}

/// An ID or a text from a roster as shown: masked unless `--show-ids`.
fn shown(text: String, show_ids: bool) -> String {
    if show_ids {
        text
    } else {
        crate::privacy::mask_text(&text).into_owned()
    }
}

/// The CSV of the differences the rule set's `[reconcile.*]` rules find, and on stderr how many
/// each rule found (or why it was not evaluated).
fn actionable<W: Write>(
    b: &Bound,
    matcher: &Matcher,
    given: &[u16],
    w: &mut csv::Writer<W>,
    show_ids: bool,
) -> anyhow::Result<()> {
    let rules = b.rules;
    let evaluated: Vec<bool> = rules.reconcile.iter().map(|r| r.rosters.iter().all(|d| matcher.given(*d))).collect();
    let mut head: Vec<String> = ["证件号码", "差异", "级别"].map(String::from).to_vec();
    head.extend(given.iter().map(|&d| rules.departments[d as usize].label.clone()));
    head.extend(["说明", "措施", "来源"].map(String::from));
    w.write_record(&head)?;
    let (mut found, mut unknown) = (vec![0u64; rules.reconcile.len()], vec![0u64; rules.reconcile.len()]);
    let mut hh = Household { cells: vec![Cell::Blank; rules.fields.len()], ..Household::default() };
    for_each_person(matcher, given, |key| {
        let id = idnum::key_text(key);
        matcher.fill(rules, &mut hh, 1, true, |_| (Some(id.as_str()), Match::HEAD));
        for (k, rule) in rules.reconcile.iter().enumerate() {
            if !evaluated[k] {
                continue;
            }
            match b.reconcile_holds(k, &hh) {
                Some(true) => found[k] += 1,
                Some(false) => continue,
                None => {
                    unknown[k] += 1;
                    continue;
                }
            }
            let mut row = vec![shown(id.clone(), show_ids), rule.label.clone(), rule.severity.word().to_string()];
            row.extend(given.iter().map(|&d| shown(side(rules, matcher, d, key), show_ids)));
            row.extend([b.reconcile_message(k), rule.action.clone(), rule.source.clone()]);
            w.write_record(row.iter().map(|c| output::csv_safe(c).into_owned()))?;
        }
        Ok(())
    })?;
    summary(rules, matcher, &evaluated, &found, &unknown);
    Ok(())
}

/// On stderr: per rule, how many it found, how many it could not decide, or the rosters it
/// lacked.
fn summary(rules: &RuleSet, matcher: &Matcher, evaluated: &[bool], found: &[u64], unknown: &[u64]) {
    let g = crate::value::grouped;
    for (k, rule) in rules.reconcile.iter().enumerate() {
        if evaluated[k] {
            super::note(&format!("名单比对“{}”：{} 人\n", rule.label, g(found[k])));
            if unknown[k] > 0 {
                super::note(&format!("  另有 {} 人因名单中缺值无法判定（{}）\n", g(unknown[k]), rule.text));
            }
        } else {
            let missing: Vec<&str> = rule
                .rosters
                .iter()
                .filter(|&&d| !matcher.given(d))
                .map(|&d| rules.departments[d as usize].label.as_str())
                .collect();
            super::note(&format!("名单比对“{}”未评估：缺少名单 {}\n", rule.label, missing.join("、")));
        }
    }
    if !evaluated.contains(&true) {
        super::note("没有可评估的名单比对规则（[reconcile.*]）：加 --all 列出不是每个名单都有的每个人\n");
    }
}

/// The CSV of the people not on every roster (`--all`); per roster how many of them it lacks.
fn differences<W: Write>(
    rules: &RuleSet,
    matcher: &Matcher,
    given: &[u16],
    w: &mut csv::Writer<W>,
    show_ids: bool,
) -> anyhow::Result<Vec<u64>> {
    let mut head = vec!["证件号码".to_string()];
    head.extend(given.iter().map(|&d| rules.departments[d as usize].label.clone()));
    head.push("差异".into());
    w.write_record(&head)?;
    let mut only = vec![0u64; given.len()];
    let on_list = |d: u16, key: u64| matcher.lists[d as usize].as_ref().is_some_and(|l| !l.lookup(key).is_empty());
    for_each_person(matcher, given, |key| {
        let on: Vec<bool> = given.iter().map(|&d| on_list(d, key)).collect();
        if on.iter().all(|&x| x) {
            return Ok(());
        }
        let mut row = vec![shown(idnum::key_text(key), show_ids)];
        for (k, &d) in given.iter().enumerate() {
            row.push(if on[k] { shown(side(rules, matcher, d, key), show_ids) } else { String::new() });
            only[k] += u64::from(!on[k]);
        }
        let names = |want: bool| {
            let labels = given.iter().zip(&on).filter(|(_, &o)| o == want);
            labels.map(|(&d, _)| rules.departments[d as usize].label.as_str()).collect::<Vec<_>>().join("、")
        };
        row.push(format!("在{}中，不在{}中", names(true), names(false)));
        w.write_record(row.iter().map(|c| output::csv_safe(c).into_owned()))?;
        Ok(())
    })?;
    Ok(only)
}

//! `tuopin adjust`: the quarterly dynamic-adjustment lists from two snapshots.
//!
//! The previous snapshot is read first and only its ids and the few fields compared are kept
//! (`adjust::Facts`); the current snapshot is streamed and assessed, each household put on its
//! lists as it passes. Households of the previous quarter that did not reappear are located with
//! one more pass over the previous file, which parses only their rows.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::adjust::{self, Entry, Facts, List, Who};
use crate::cli::{AdjustArgs, AdjustFormat};
use crate::error::Outcome;
use crate::household::{Cell, Household, Scalar};
use crate::input::{Duplicates, Layout, Ledger};
use crate::output::{mask_id, AtomicFile, Record};
use crate::ruleset::file::FieldType;
use crate::ruleset::{self, Bound, RuleSet};
use crate::value::Date;
use crate::{pipeline, xlsx};

/// The accounting of one run; it must add up (checked before anything is written).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Accounting {
    pub previous_rows: u64,
    pub current_rows: u64,
    pub matched: u64,
    pub new: u64,
    pub gone: u64,
    pub duplicated_previous_rows: u64,
    pub duplicated_current_rows: u64,
    pub households_with_problems: u64,
}

impl Accounting {
    pub fn adds_up(&self) -> bool {
        self.previous_rows == self.matched + self.gone + self.duplicated_previous_rows
            && self.current_rows == self.matched + self.new + self.duplicated_current_rows
    }

    /// (item key, Chinese label, count), in the order of 汇总.
    pub fn items(&self) -> Vec<(&'static str, &'static str, u64)> {
        vec![
            ("previous_rows", "上季度户数（行）", self.previous_rows),
            ("current_rows", "本季度户数（行）", self.current_rows),
            ("matched", "两季度均有", self.matched),
            ("new", "新增户", self.new),
            ("gone", "减少户", self.gone),
            ("duplicated_previous_rows", "上季度户编号重复的行", self.duplicated_previous_rows),
            ("duplicated_current_rows", "本季度户编号重复的行", self.duplicated_current_rows),
            ("households_with_problems", "本季度有数据问题的户", self.households_with_problems),
        ]
    }
}

/// `2024Q3` → (2024, 3).
pub fn parse_quarter(s: &str) -> Option<(i32, u32)> {
    let t = s.trim().to_ascii_uppercase().replace(['-', ' '], "");
    let (y, q) = t.split_once('Q')?;
    let y: i32 = y.parse().ok()?;
    let q: u32 = q.parse().ok()?;
    (1900..=2200).contains(&y).then_some(())?;
    (1..=4).contains(&q).then_some((y, q))
}

fn who_of(rs: &RuleSet, hh: &Household, show_ids: bool) -> Who {
    let text = |key: &str| -> String {
        let Some(&i) = rs.field_index.get(key) else { return String::new() };
        let s = match &hh.cells[i as usize] {
            Cell::Value(Scalar::Text(t)) => t.to_string(),
            Cell::Invalid(t) => t.to_string(),
            _ => String::new(),
        };
        if rs.fields[i as usize].ty == FieldType::Id && !show_ids {
            mask_id(&s)
        } else {
            s
        }
    };
    Who {
        county: text("county"),
        township: text("township"),
        village: text("village"),
        head_name: text("head_name"),
        head_id: text("head_id"),
    }
}

struct Slot {
    facts: Facts,
    matched: bool,
}

pub fn run(args: AdjustArgs) -> anyhow::Result<Outcome> {
    let rules = ruleset::load(&args.rules.rules)?;
    let as_of = match (&args.date, &args.quarter) {
        (Some(d), _) => Date::parse(d).ok_or_else(|| anyhow::anyhow!("--date {d}：应为 YYYY-MM-DD 格式的日期"))?,
        (None, Some(q)) => {
            let (y, n) = parse_quarter(q).ok_or_else(|| anyhow::anyhow!("--quarter {q}：应为 2024Q3 这样的季度"))?;
            Date::quarter_end(y, n).expect("valid quarter")
        }
        (None, None) => anyhow::bail!("give --quarter (e.g. 2024Q3) or --date"),
    };
    let bound = rules.at(as_of)?;
    let format = match (args.format, &args.output) {
        (Some(f), _) => f,
        (None, Some(p)) if p.extension().and_then(|e| e.to_str()) == Some("xlsx") => AdjustFormat::Xlsx,
        (None, Some(_)) => AdjustFormat::Csv,
        (None, None) => AdjustFormat::Table,
    };
    if format != AdjustFormat::Table && args.output.is_none() {
        anyhow::bail!("--format {format:?} needs -o (a directory for csv, a .xlsx file for xlsx)");
    }
    let mut acc = Accounting::default();

    // Previous quarter: ids and the fields compared.
    let mut prev_ledger = Ledger::open(&args.previous, &rules, &args.input.options())?;
    let prev_dups = Duplicates::scan(&prev_ledger.layout)?;
    let mut previous: HashMap<String, Slot> = HashMap::new();
    let mut prev_dup_entries = Vec::new();
    pipeline::stream(
        &mut prev_ledger,
        &bound,
        &prev_dups,
        |hh, a| {
            let id = Layout::id_text(&rules, hh);
            let dup = prev_dups.rows(&id).is_some();
            let who = dup.then(|| who_of(&rules, hh, args.show_ids));
            Ok((Facts::of(&bound, hh, a, id), who, problems_text(hh)))
        },
        |(facts, who, problems)| {
            acc.previous_rows += 1;
            if let Some(who) = who {
                acc.duplicated_previous_rows += 1;
                prev_dup_entries.push(Entry {
                    list: List::DataProblems,
                    previous: true,
                    row: facts.row,
                    household_id: facts.id.clone(),
                    who,
                    reason: format!("上季度：{problems}"),
                    change: String::new(),
                });
            } else {
                previous.insert(facts.id.clone(), Slot { facts, matched: false });
            }
            Ok(())
        },
    )?;
    let prev_layout = prev_ledger.layout;

    // Current quarter: assessed and listed as it streams.
    let mut cur_ledger = Ledger::open(&args.current, &rules, &args.input.options())?;
    let cur_dups = Duplicates::scan(&cur_ledger.layout)?;
    let mut entries: Vec<Entry> = Vec::new();
    pipeline::stream(
        &mut cur_ledger,
        &bound,
        &cur_dups,
        |hh, a| {
            let r = Record::build(&bound, hh, a, args.show_ids);
            let facts = Facts::of(&bound, hh, a, r.household_id.clone());
            let lists = adjust::per_household(&r, &facts);
            Ok((Who::of(&r), facts, lists, problems_text(hh), !hh.problems.is_empty()))
        },
        |(who, facts, lists, problems, has_problems)| {
            acc.current_rows += 1;
            let mut change = String::new();
            let mut compared = Vec::new();
            if cur_dups.rows(&facts.id).is_some() {
                acc.duplicated_current_rows += 1;
            } else {
                match previous.get_mut(&facts.id).filter(|_| !facts.id.is_empty()) {
                    Some(slot) => {
                        acc.matched += 1;
                        slot.matched = true;
                        let (l, c) = adjust::compare(&slot.facts, &facts);
                        compared = l;
                        change = c;
                    }
                    None => {
                        acc.new += 1;
                        compared.push((List::NewHousehold, "上季度无此户编号".to_string()));
                    }
                }
            }
            if has_problems {
                acc.households_with_problems += 1;
                compared.push((List::DataProblems, problems));
            }
            for (list, reason) in lists.into_iter().chain(compared) {
                entries.push(Entry {
                    list,
                    previous: false,
                    row: facts.row,
                    household_id: facts.id.clone(),
                    who: who.clone(),
                    reason,
                    change: change.clone(),
                });
            }
            Ok(())
        },
    )?;

    // Vanished households: one more pass over the previous file, parsing only their rows.
    let gone: HashSet<&str> = previous.values().filter(|s| !s.matched).map(|s| s.facts.id.as_str()).collect();
    acc.gone = gone.len() as u64;
    if !gone.is_empty() {
        let mut again = Ledger::open(&args.previous, &rules, &prev_layout.options)?;
        loop {
            let batch = again.next_batch(4096)?;
            if batch.is_empty() {
                break;
            }
            for raw in &batch {
                let Some(id) = again.layout.id_of(raw) else { continue };
                if !gone.contains(id.as_str()) {
                    continue;
                }
                let hh = again.layout.household(&bound, raw, &prev_dups);
                entries.push(Entry {
                    list: List::Gone,
                    previous: true,
                    row: raw.row,
                    household_id: id,
                    who: who_of(&rules, &hh, args.show_ids),
                    reason: "本季度无此户编号（请核实：自然销户、合户或编号变更）".into(),
                    change: String::new(),
                });
            }
        }
    }
    entries.extend(prev_dup_entries);
    // Filed by list, each in input order (sort is stable).
    entries.sort_by_key(|e| e.list);
    if !acc.adds_up() {
        anyhow::bail!("内部错误：汇总不平衡 {acc:?}");
    }

    let inputs = [args.previous.as_path(), args.current.as_path()];
    match format {
        AdjustFormat::Csv => write_dir(args.output.as_deref().expect("checked"), &entries, &acc, &inputs)?,
        AdjustFormat::Xlsx => {
            let path = args.output.as_deref().expect("checked");
            let mut file = AtomicFile::create(path, &inputs)?;
            xlsx::adjust_workbook(&mut file, &entries, &acc, &bound)?;
            file.commit()?;
        }
        AdjustFormat::Table => {}
    }
    if format == AdjustFormat::Table || std::io::stdout().is_terminal() {
        println!("{}", village_table(&entries));
    }
    eprint!("{}", summary_text(&acc, &entries, &bound));
    Ok(if acc.households_with_problems > 0 || acc.duplicated_previous_rows > 0 {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}

fn problems_text(hh: &Household) -> String {
    hh.problems
        .iter()
        .map(|p| {
            if p.column.is_empty() {
                p.message.clone()
            } else {
                format!("“{}”列“{}”：{}", p.column, p.value, p.message)
            }
        })
        .collect::<Vec<_>>()
        .join("；")
}

pub const LIST_HEADERS: [&str; 10] =
    ["户编号", "县(市、区、旗)", "乡(镇)", "行政村", "户主姓名", "户主证件号码", "理由", "两季度变化", "行号", "来源"];

pub fn entry_cells(e: &Entry) -> [String; 10] {
    [
        e.household_id.clone(),
        e.who.county.clone(),
        e.who.township.clone(),
        e.who.village.clone(),
        e.who.head_name.clone(),
        e.who.head_id.clone(),
        e.reason.clone(),
        e.change.clone(),
        e.row.to_string(),
        (if e.previous { "上季度" } else { "本季度" }).to_string(),
    ]
}

/// Per list, its count; plus the accounting.
pub fn summary_rows(acc: &Accounting, entries: &[Entry]) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = acc.items().into_iter().map(|(_, l, n)| (l.to_string(), n)).collect();
    for list in List::ALL {
        rows.push((format!("名单：{}", list.name()), entries.iter().filter(|e| e.list == list).count() as u64));
    }
    rows
}

fn write_dir(dir: &Path, entries: &[Entry], acc: &Accounting, inputs: &[&Path]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("无法创建目录 {}：{e}", dir.display()))?;
    let write = |name: &str, rows: &mut dyn Iterator<Item = Vec<String>>, headers: &[&str]| -> anyhow::Result<()> {
        let mut f = AtomicFile::create(&dir.join(name), inputs)?;
        let mut bytes = "\u{feff}".as_bytes().to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut bytes);
            w.write_record(headers)?;
            for r in rows {
                w.write_record(&r)?;
            }
            w.flush()?;
        }
        f.writer().write_all(&bytes)?;
        f.commit()
    };
    for list in List::ALL {
        let mut rows = entries.iter().filter(|e| e.list == list).map(|e| entry_cells(e).to_vec());
        write(&format!("{}.csv", list.name()), &mut rows, &LIST_HEADERS)?;
    }
    let mut rows = summary_rows(acc, entries).into_iter().map(|(k, n)| vec![k, n.to_string()]);
    write("汇总.csv", &mut rows, &["项目", "数量"])
}

fn village_table(entries: &[Entry]) -> String {
    let mut villages: Vec<(String, String, String)> = Vec::new();
    let mut counts: HashMap<((String, String, String), List), u64> = HashMap::new();
    for e in entries {
        let key = (e.who.county.clone(), e.who.township.clone(), e.who.village.clone());
        if !villages.contains(&key) {
            villages.push(key.clone());
        }
        *counts.entry((key, e.list)).or_default() += 1;
    }
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if t.width().is_none() {
        t.set_width(160);
    }
    let mut header = vec!["乡镇".to_string(), "村".to_string()];
    header.extend(List::ALL.iter().map(|l| l.name().to_string()));
    t.set_header(header);
    for v in &villages {
        let mut row = vec![v.1.clone(), v.2.clone()];
        row.extend(List::ALL.iter().map(|l| counts.get(&(v.clone(), *l)).map(|n| n.to_string()).unwrap_or_default()));
        t.add_row(row);
    }
    let mut total = vec!["合计".to_string(), String::new()];
    total.extend(List::ALL.iter().map(|l| entries.iter().filter(|e| e.list == *l).count().to_string()));
    t.add_row(total);
    t.to_string()
}

fn summary_text(acc: &Accounting, entries: &[Entry], b: &Bound) -> String {
    let mut s = format!(
        "评估日期 {}；上季度 {} 户 = 两季度均有 {} + 减少 {} + 户编号重复 {}；本季度 {} 户 = 两季度均有 {} + 新增 {} + 户编号重复 {}；本季度 {} 户有数据问题。\n",
        b.as_of,
        acc.previous_rows,
        acc.matched,
        acc.gone,
        acc.duplicated_previous_rows,
        acc.current_rows,
        acc.matched,
        acc.new,
        acc.duplicated_current_rows,
        acc.households_with_problems
    );
    let parts: Vec<String> =
        List::ALL.iter().map(|l| format!("{} {}", l.name(), entries.iter().filter(|e| e.list == *l).count())).collect();
    s.push_str(&format!("名单：{}\n", parts.join(" · ")));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters() {
        assert_eq!(parse_quarter("2024Q3"), Some((2024, 3)));
        assert_eq!(parse_quarter("2024q1"), Some((2024, 1)));
        assert_eq!(parse_quarter("2024-Q4"), Some((2024, 4)));
        assert_eq!(parse_quarter("2024Q5"), None);
        assert_eq!(parse_quarter("24Q1"), None);
    }
}

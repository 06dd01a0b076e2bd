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
use crate::engine;
use crate::error::Outcome;
use crate::household::Household;
use crate::input::{Duplicates, Layout, Ledger};
use crate::output::{csv_safe, is_stdout, shown_field, shown_problem_value, AtomicFile, AtomicSet};
use crate::privacy;
use crate::ruleset::file::Severity;
use crate::ruleset::{self, Bound, RuleSet};
use crate::value::Date;
use crate::{pipeline, xlsx};
use std::borrow::Cow;

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
    /// Blank rows skipped (no household; outside the sums above).
    pub blank_previous_rows: u64,
    pub blank_current_rows: u64,
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
            ("duplicated_previous_rows", "上季度户编号重复（任一季度）的行", self.duplicated_previous_rows),
            ("duplicated_current_rows", "本季度户编号重复（任一季度）的行", self.duplicated_current_rows),
            ("households_with_problems", "本季度有数据问题的户", self.households_with_problems),
            ("blank_previous_rows", "上季度空白行（已跳过）", self.blank_previous_rows),
            ("blank_current_rows", "本季度空白行（已跳过）", self.blank_current_rows),
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
    let text = |key: &str| shown_field(rs, hh, key, show_ids).map(|s| s.into_owned()).unwrap_or_default();
    Who {
        county: text("county"),
        township: text("township"),
        village: text("village"),
        head_name: text("head_name"),
        head_id: text("head_id"),
    }
}

/// The previous quarter as compared: each household's id (all ids in one arena), row and the
/// facts `adjust::compare` reads, found by id through a table of indices: about 90 bytes a
/// household, where a map of `String`s and `Facts` took four times that.
#[derive(Default)]
struct PrevIndex<'r> {
    ids: String,
    entries: Vec<Prev<'r>>,
    table: hashbrown::HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
}

struct Prev<'r> {
    start: usize,
    len: u32,
    matched: bool,
    excluded: Option<bool>,
    row: u64,
    household_type: Option<&'r str>,
    members: Option<i64>,
    per_capita_income: Option<crate::value::Num>,
}

impl<'r> PrevIndex<'r> {
    fn with_capacity(n: usize) -> PrevIndex<'r> {
        PrevIndex {
            entries: Vec::with_capacity(n),
            table: hashbrown::HashTable::with_capacity(n),
            ..PrevIndex::default()
        }
    }

    /// Add a household (its id is not in the index yet: repeated ids were left out).
    fn push(&mut self, id: &str, f: &Facts<'r>) {
        use std::hash::BuildHasher;
        let PrevIndex { ids, entries, table, hasher } = self;
        let k = entries.len() as u32;
        entries.push(Prev {
            start: ids.len(),
            len: id.len() as u32,
            matched: false,
            excluded: f.excluded,
            row: f.row,
            household_type: f.household_type,
            members: f.members,
            per_capita_income: f.per_capita_income,
        });
        ids.push_str(id);
        let id_of = |i: u32| {
            let e = &entries[i as usize];
            &ids[e.start..e.start + e.len as usize]
        };
        table.insert_unique(hasher.hash_one(id), k, |&i| hasher.hash_one(id_of(i)));
    }

    fn id(&self, e: &Prev) -> &str {
        &self.ids[e.start..e.start + e.len as usize]
    }

    fn find(&mut self, id: &str) -> Option<&mut Prev<'r>> {
        use std::hash::BuildHasher;
        let PrevIndex { ids, entries, table, hasher } = self;
        let k = *table.find(hasher.hash_one(id), |&i| {
            let e = &entries[i as usize];
            &ids[e.start..e.start + e.len as usize] == id
        })?;
        Some(&mut entries[k as usize])
    }
}

impl<'r> Prev<'r> {
    fn facts(&self) -> Facts<'r> {
        Facts {
            row: self.row,
            id: String::new(),
            household_type: self.household_type,
            members: self.members,
            per_capita_income: self.per_capita_income,
            excluded: self.excluded,
            exclusion: Vec::new(),
        }
    }
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
    let mut bound = rules.at(as_of)?;
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

    // An id repeated within either snapshot cannot be matched: its rows on both sides are
    // reported under 数据问题 and counted as duplicated, never merged.
    let cur_ledger = Ledger::open(&args.current, &rules, &args.input.options())?;
    // Reasons name the alternative columns of the current snapshot (the lists' reasons are its).
    bound.read_from = cur_ledger.layout.read_from(&rules);
    for w in bound.run_warnings() {
        eprintln!("{w}");
    }

    // Previous quarter: ids and the fields compared.
    let mut prev_ledger = Ledger::open(&args.previous, &rules, &args.input.options())?;
    // Columns the snapshots lack: one warning for both when they lack the same.
    let (prev_l, cur_l) = (&prev_ledger.layout, &cur_ledger.layout);
    if prev_l.absent == cur_l.absent {
        let both = format!("{} 和 {}", args.previous.display(), args.current.display());
        if let Some(w) = prev_l.absent_warning_as(&rules, &both) {
            eprint!("{w}");
        }
    } else {
        for w in [prev_l, cur_l].iter().filter_map(|l| l.absent_warning(&rules)) {
            eprint!("{w}");
        }
    }
    // The two id scans read different files: side by side, one core each; workbooks one after
    // the other (each holds its shared strings while it is read).
    let sheets = [&cur_ledger, &prev_ledger].iter().any(|l| matches!(l.layout.kind, crate::input::Kind::Sheet { .. }));
    let (cur_scan, prev_dups) = std::thread::scope(|s| {
        if sheets {
            let cur = Duplicates::scan(&cur_ledger);
            return ((cur_ledger, cur), Duplicates::scan(&prev_ledger));
        }
        let cur = s.spawn(move || {
            let dups = Duplicates::scan(&cur_ledger);
            (cur_ledger, dups)
        });
        let prev = Duplicates::scan(&prev_ledger);
        (cur.join().expect("the id scan does not panic"), prev)
    });
    let (mut cur_ledger, cur_dups) = cur_scan;
    let (cur_dups, prev_dups) = (cur_dups?, prev_dups?);
    let mut previous = PrevIndex::with_capacity(prev_dups.ids_seen() as usize);
    let mut prev_dup_entries = Vec::new();
    acc.blank_previous_rows = pipeline::stream(
        &mut prev_ledger,
        &bound,
        &prev_dups,
        |hh, a| {
            let id = Layout::id_text(&rules, hh);
            let dup = prev_dups.rows(&id).is_some() || cur_dups.rows(&id).is_some();
            let problems = dup.then(|| {
                let who = who_of(&rules, hh, args.show_ids);
                let mut problems = problems_text(&rules, hh, args.show_ids);
                if cur_dups.rows(&id).is_some() {
                    problems = join(&problems, "户编号在本季度重复出现，无法与本季度匹配");
                }
                (who, problems)
            });
            Ok((Facts::of(&bound, hh, a, id), problems))
        },
        |(facts, dup)| {
            acc.previous_rows += 1;
            if let Some((who, problems)) = dup {
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
                previous.push(&facts.id, &facts);
            }
            Ok(())
        },
    )?;
    let prev_layout = prev_ledger.layout;

    // Current quarter: assessed and listed as it streams.
    let inputs = [args.previous.as_path(), args.current.as_path()];
    let mut lists = Lists::new(format, args.output.as_deref(), &inputs, args.show_ids)?;
    acc.blank_current_rows = pipeline::stream(
        &mut cur_ledger,
        &bound,
        &cur_dups,
        |hh, a| {
            let facts = Facts::of(&bound, hh, a, Layout::id_text(&rules, hh));
            let on_lists = adjust::per_household(&bound, hh, a, &facts);
            // 数据问题: cells that could not be read, and the findings of 错误-level checks.
            let mut problems = problems_text(&rules, hh, args.show_ids);
            let errors = a.has_error_finding(&bound);
            if errors {
                let mut found = String::new();
                engine::write_findings_of(&mut found, &bound, hh, a, Severity::Error);
                problems = join(&problems, &found);
            }
            Ok((who_of(&rules, hh, args.show_ids), facts, on_lists, problems, !hh.problems.is_empty() || errors))
        },
        |(who, facts, on_lists, mut problems, mut has_problems)| {
            acc.current_rows += 1;
            let mut change = String::new();
            let mut compared = Vec::new();
            if cur_dups.rows(&facts.id).is_some() || prev_dups.rows(&facts.id).is_some() {
                acc.duplicated_current_rows += 1;
                if cur_dups.rows(&facts.id).is_none() {
                    problems = join(&problems, "户编号在上季度重复出现，无法与上季度匹配");
                    has_problems = true;
                }
            } else {
                match previous.find(&facts.id).filter(|_| !facts.id.is_empty()) {
                    Some(prev) => {
                        acc.matched += 1;
                        prev.matched = true;
                        let (l, c) = adjust::compare(&prev.facts(), &facts);
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
            for (list, reason) in on_lists.into_iter().chain(compared) {
                lists.push(Entry {
                    list,
                    previous: false,
                    row: facts.row,
                    household_id: facts.id.clone(),
                    who: who.clone(),
                    reason,
                    change: change.clone(),
                })?;
            }
            Ok(())
        },
    )?;

    // Vanished households: one more pass over the previous file, parsing only their rows.
    let unmatched = previous.entries.iter().filter(|e| !e.matched);
    acc.gone = unmatched.clone().count() as u64;
    let gone: HashSet<&str> = unmatched.clone().map(|e| previous.id(e)).collect();
    if !gone.is_empty() {
        // Only their rows are parsed (by row number; the id is checked again).
        let mut rows: Vec<u64> = unmatched.map(|e| e.row).collect();
        rows.sort_unstable();
        let mut again = Ledger::open(&args.previous, &rules, &prev_layout.options)?;
        let mut result = Ok(());
        let layout = &again.layout;
        again.reader.each_row_in(&rows, &mut |raw| {
            let Some(id) = layout.id_of(raw) else { return };
            if result.is_err() || !gone.contains(id.as_str()) {
                return;
            }
            let hh = layout.household(&bound, raw, &prev_dups);
            result = lists.push(Entry {
                list: List::Gone,
                previous: true,
                row: raw.row,
                household_id: id,
                who: who_of(&rules, &hh, args.show_ids),
                reason: "本季度无此户编号（请核实：自然销户、合户或编号变更）".into(),
                change: String::new(),
            });
        })?;
        result?;
    }
    for e in prev_dup_entries {
        lists.push(e)?;
    }
    if !acc.adds_up() {
        anyhow::bail!("内部错误：汇总不平衡 {acc:?}");
    }
    let counts = lists.finish(&acc, &bound)?;
    if format == AdjustFormat::Table || std::io::stdout().is_terminal() {
        let table = counts.village_table();
        // Written, not println!ed: a closed stdout (`| head`) ends the run quietly.
        let shown = if args.show_ids { table.as_str().into() } else { privacy::mask_text(&table) };
        std::io::Write::write_all(&mut std::io::stdout().lock(), format!("{shown}\n").as_bytes())?;
    }
    eprint!("{}", summary_text(&acc, &counts, &bound));
    Ok(if acc.households_with_problems > 0 || acc.duplicated_previous_rows > 0 {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}；{b}")
    }
}

/// The problems of a household for the 数据问题 list; ID numbers masked unless `show_ids`.
fn problems_text(rs: &RuleSet, hh: &Household, show_ids: bool) -> String {
    hh.problems
        .iter()
        .map(|p| {
            if p.column.is_empty() {
                p.message.clone()
            } else {
                format!("“{}”列“{}”：{}", p.column, shown_problem_value(rs, p, show_ids), p.message)
            }
        })
        .collect::<Vec<_>>()
        .join("；")
}

pub const LIST_HEADERS: [&str; 10] =
    ["户编号", "县(市、区、旗)", "乡(镇)", "行政村", "户主姓名", "户主证件号码", "理由", "两季度变化", "行号", "来源"];

/// A list row's cells, every text but the 户编号 with personal numbers masked unless `show_ids`.
pub fn entry_cells(e: &Entry, show_ids: bool) -> [String; 10] {
    let mut cells = [
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
    ];
    if !show_ids {
        for c in &mut cells[1..] {
            if let Cow::Owned(t) = privacy::mask_text(c) {
                *c = t;
            }
        }
    }
    cells
}

/// Per list, its count; plus the accounting.
pub fn summary_rows(acc: &Accounting, counts: &Counts) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = acc.items().into_iter().map(|(_, l, n)| (l.to_string(), n)).collect();
    for (i, list) in List::ALL.iter().enumerate() {
        rows.push((format!("名单：{}", list.name()), counts.total[i]));
    }
    rows
}

/// How many rows each list has, in total and per village.
#[derive(Debug, Default)]
pub struct Counts {
    pub total: [u64; 12],
    villages: Vec<(String, String, String)>,
    per_village: HashMap<(String, String, String), [u64; 12]>,
}

impl Counts {
    fn add(&mut self, e: &Entry) {
        let i = e.list as usize;
        self.total[i] += 1;
        let key = (e.who.county.clone(), e.who.township.clone(), e.who.village.clone());
        if !self.per_village.contains_key(&key) {
            self.villages.push(key.clone());
        }
        self.per_village.entry(key).or_default()[i] += 1;
    }

    fn village_table(&self) -> String {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        if t.width().is_none() {
            t.set_width(160);
        }
        let mut header = vec!["乡镇".to_string(), "村".to_string()];
        header.extend(List::ALL.iter().map(|l| l.name().to_string()));
        t.set_header(header);
        let show = |n: u64| if n == 0 { String::new() } else { n.to_string() };
        for v in &self.villages {
            let mut row = vec![v.1.clone(), v.2.clone()];
            row.extend(self.per_village[v].iter().map(|&n| show(n)));
            t.add_row(row);
        }
        let mut total = vec!["合计".to_string(), String::new()];
        total.extend(self.total.iter().map(|n| n.to_string()));
        t.add_row(total);
        t.to_string()
    }
}

type CsvList = csv::Writer<std::io::BufWriter<std::fs::File>>;

/// Where list rows go as they are decided: one CSV per list, or one sheet per list of a
/// workbook (constant memory), or nowhere (counts only). Nothing is held but the counts. The
/// CSV lists and 汇总.csv are one [`AtomicSet`]: written into a temporary directory inside DIR and
/// swapped in together when the run finishes, so DIR holds either the old set or the new one.
struct Lists {
    counts: Counts,
    csv: Vec<CsvList>,
    set: Option<AtomicSet>,
    book: Option<(xlsx::AdjustBook, AtomicFile)>,
    show_ids: bool,
}

impl Lists {
    fn new(format: AdjustFormat, out: Option<&Path>, inputs: &[&Path], show_ids: bool) -> anyhow::Result<Lists> {
        let mut lists = Lists { counts: Counts::default(), csv: Vec::new(), set: None, book: None, show_ids };
        match (format, out) {
            (AdjustFormat::Csv, Some(dir)) => {
                let mut set = AtomicSet::create(dir, inputs)?;
                for list in List::ALL {
                    let name = format!("{}.csv", list.name());
                    let mut file = std::io::BufWriter::with_capacity(1 << 16, set.file(&name)?);
                    file.write_all("\u{feff}".as_bytes())?;
                    let mut w = csv::Writer::from_writer(file);
                    w.write_record(LIST_HEADERS)?;
                    lists.csv.push(w);
                }
                lists.set = Some(set);
            }
            (AdjustFormat::Xlsx, Some(path)) => {
                let file = AtomicFile::create(path, inputs)?;
                let to = if is_stdout(path) { "标准输出".to_string() } else { path.display().to_string() };
                lists.book = Some((xlsx::AdjustBook::new(&to)?, file));
            }
            _ => {}
        }
        Ok(lists)
    }

    fn push(&mut self, e: Entry) -> anyhow::Result<()> {
        self.counts.add(&e);
        if self.csv.is_empty() && self.book.is_none() {
            return Ok(());
        }
        let cells = entry_cells(&e, self.show_ids);
        if let Some(w) = self.csv.get_mut(e.list as usize) {
            w.write_record(cells.iter().map(|c| csv_safe(c).into_owned()))
                .map_err(|err| self.write_error(e.list, err))?;
        }
        if let Some((book, _)) = &mut self.book {
            book.add(e.list as usize, &cells)?;
        }
        Ok(())
    }

    /// A list file that could not be written (a full disk): named, with the promise kept.
    fn write_error(&self, list: List, e: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("无法写出名单“{}”：{e}；原有名单均未改动", list.name())
    }

    /// Write the summary and put every file in place; returns the counts.
    fn finish(mut self, acc: &Accounting, b: &Bound) -> anyhow::Result<Counts> {
        for (i, mut w) in std::mem::take(&mut self.csv).into_iter().enumerate() {
            w.flush().map_err(|e| self.write_error(List::ALL[i], e))?;
        }
        if let Some(mut set) = self.set.take() {
            let mut bytes = "\u{feff}".as_bytes().to_vec();
            {
                let mut w = csv::Writer::from_writer(&mut bytes);
                w.write_record(["项目", "数量"])?;
                w.write_record(["评估日期".to_string(), b.as_of.to_string()])?;
                for (k, n) in summary_rows(acc, &self.counts) {
                    w.write_record([csv_safe(&k).into_owned(), n.to_string()])?;
                }
                w.flush()?;
            }
            set.file("汇总.csv")?
                .write_all(&bytes)
                .map_err(|e| anyhow::anyhow!("无法写出 汇总.csv：{e}；原有名单均未改动"))?;
            set.commit()?;
        }
        if let Some((book, mut f)) = self.book.take() {
            book.finish(&mut f, &summary_rows(acc, &self.counts), b)?;
            f.commit()?;
        }
        Ok(self.counts)
    }
}

fn summary_text(acc: &Accounting, counts: &Counts, b: &Bound) -> String {
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
    if acc.blank_previous_rows + acc.blank_current_rows > 0 {
        s.push_str(&format!(
            "空白行已跳过：上季度 {} 行，本季度 {} 行。\n",
            acc.blank_previous_rows, acc.blank_current_rows
        ));
    }
    let parts: Vec<String> = List::ALL.iter().zip(counts.total).map(|(l, n)| format!("{} {n}", l.name())).collect();
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

//! `tuopin adjust`: the quarterly dynamic-adjustment lists from two snapshots.
//!
//! The lists are the rule file's `[lists.*]` in force on the assessment date. The previous
//! snapshot is read first and only its ids and the values the lists read of it are kept
//! (`adjust::keep`); the current snapshot is streamed and assessed, each household put on its
//! lists as it passes. Households of the previous quarter that did not reappear are read again
//! whole from the previous file, parsing only their rows: those whose id the current quarter
//! certainly lacks (its id scan keeps its ids) on a thread of their own while the current quarter
//! is read, the others (and the rows of repeated ids) in one more pass after it.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::adjust::accounting::Accounting;
use crate::adjust::index::{Prev, PrevChunk, PrevIndex};
use crate::adjust::{self, Env, OnList, Row, RunFacts, Snap};
use crate::cli::{AdjustArgs, AdjustFormat};
use crate::engine;
use crate::error::{InputError, Outcome};
use crate::household::Household;
use crate::input::{stdin, Duplicates, Layout, Ledger};
use crate::output::areas::{AreaTable, Areas, SheetCell};
use crate::output::provenance::Provenance;
use crate::output::xlsx;
use crate::output::{
    csv_long_numbers_note, csv_safe, is_stdout, shown_problem_value, shown_text, AtomicFile, AtomicSet, CsvRow,
};
use crate::pipeline;
use crate::privacy;
use crate::ruleset::file::Severity;
use crate::ruleset::lists::{List, Side};
use crate::ruleset::{self, Bound, RuleSet};
use crate::value::{shown_path, Date};
use std::borrow::Cow;

/// Where a household is and who heads it, as shown on every list row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Who {
    pub county: String,
    pub township: String,
    pub village: String,
    pub head_name: String,
    pub head_id: String,
    /// Its area for the summary by area ([`Areas::key_of`]); empty when there is none.
    pub area: String,
}

/// One row of one list.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Index into the run's lists.
    pub list: usize,
    /// Which snapshot the row is from: the current one, except for households only in the previous.
    pub previous: bool,
    pub row: u64,
    pub household_id: String,
    pub who: Who,
    /// The list's own columns (`columns = […]`).
    pub columns: Vec<String>,
    pub reason: String,
    /// Values that changed between the quarters (`家庭人口数 4 → 3；人均纯收入 6100 → 3900`).
    pub change: String,
    /// Persons counted for the list's summary.
    pub persons: u64,
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

/// The fields of [`Who`] (county, township, village, head's name, head's id), looked up by key
/// once per run rather than for every list row.
#[derive(Debug, Clone, Copy)]
struct WhoFields([Option<u16>; 5]);

impl WhoFields {
    fn of(rs: &RuleSet) -> WhoFields {
        WhoFields(["county", "township", "village", "head_name", "head_id"].map(|k| rs.field_index.get(k).copied()))
    }
}

fn who_of(rs: &RuleSet, fields: WhoFields, hh: &Household, show_ids: bool) -> Who {
    let text = |f: Option<u16>| {
        f.and_then(|i| shown_text(rs, hh, i as usize, show_ids)).map(|s| s.into_owned()).unwrap_or_default()
    };
    let [county, township, village, head_name, head_id] = fields.0.map(text);
    Who { county, township, village, head_name, head_id, area: String::new() }
}

/// The list rows of one household as `Entry`s (the last one, most often the only one, takes
/// `who` and `change` as they are, not copies).
fn entries(on: Vec<OnList>, previous: bool, row: u64, id: &str, mut who: Who, mut change: String) -> Vec<Entry> {
    let n = on.len();
    (on.into_iter().enumerate())
        .map(|(k, o)| {
            let last = k + 1 == n;
            Entry {
                list: o.list,
                previous,
                row,
                household_id: id.to_string(),
                who: if last { std::mem::take(&mut who) } else { who.clone() },
                columns: o.columns,
                reason: o.reason,
                change: if last { std::mem::take(&mut change) } else { change.clone() },
                persons: o.persons,
            }
        })
        .collect()
}

/// What every pass of a run reads: the rules, bound to the date, the lists in force, the ids
/// repeated in either snapshot.
struct Pass<'r> {
    rules: &'r RuleSet,
    bound: &'r Bound<'r>,
    lists: &'r [&'r List],
    /// The lists' conditions ([`adjust::conditions`]) and the reasons prepared for the run
    /// (`{reasons.<decision>}`), as [`adjust::lists_of`] takes them.
    prepared: (&'r engine::Conditions, &'r engine::Reasons<'r>),
    show_ids: bool,
    /// The fields of [`Who`].
    who: WhoFields,
    prev_dups: &'r Duplicates,
    cur_dups: &'r Duplicates,
    /// The summary by area, when one is written: how a household's area is named.
    areas: Option<&'r Areas>,
}

/// [`who_of`], with the household's area when the run has a summary by area.
fn who_in(pass: &Pass, hh: &Household) -> Who {
    let mut who = who_of(pass.rules, pass.who, hh, pass.show_ids);
    if let Some(t) = pass.areas {
        who.area = t.key_of(pass.bound, hh);
    }
    who
}

pub fn run(args: AdjustArgs) -> anyhow::Result<Outcome> {
    run_with(args, EARLY_MAX)
}

/// [`run`], listing at most `early_max` households certainly gone while the current quarter is
/// read (the tests vary it: the lists are the same whatever it is).
fn run_with(mut args: AdjustArgs, early_max: usize) -> anyhow::Result<Outcome> {
    let early = early_hashes(&args);
    let rules = ruleset::load(&args.rules.rules)?;
    let as_of = assessment_date(&args)?;
    // `-`: standard input (one of the two), spooled to a temporary file for the run.
    if stdin::is_stdin(&args.previous) && stdin::is_stdin(&args.current) {
        anyhow::bail!("--previous 和 --current 不能都是 -：标准输入只能给出一个季度的台账，另一个请写文件名");
    }
    let (previous, current) = (stdin::Input::open(&args.previous)?, stdin::Input::open(&args.current)?);
    (args.previous, args.current) = (previous.path().to_path_buf(), current.path().to_path_buf());
    super::warn_if_same_file(&args.previous, &args.current);
    let rules = rules.worded(as_of);
    let mut bound = rules.at(as_of)?;
    // The lists in force on the assessment date, in the rule file's order.
    let lists: Vec<&List> = rules.lists.lists.iter().filter(|l| l.applies(as_of)).collect();
    let format = output_format(&args)?;
    let mut acc = Accounting::default();

    // An id repeated within either snapshot cannot be matched: its rows on both sides are
    // evaluated with the other side unknown (`duplicated`, `has_problems`), never merged.
    let matcher = super::departments(&rules, &args.lists, &args.input)?;
    let mut cur_ledger = Ledger::open(&args.current, &rules, &args.input.options())?;
    super::attach_departments(&mut cur_ledger, &matcher, &rules);
    // Reasons name the alternative columns of the current snapshot (the lists' reasons are its).
    bound.read_from = cur_ledger.layout.read_from(&rules);
    super::run_messages(bound.run_warnings());

    // Previous quarter: ids and the values the lists read.
    let mut prev_ledger = Ledger::open(&args.previous, &rules, &args.input.options())?;
    super::attach_departments(&mut prev_ledger, &matcher, &rules);
    let hashes = early.or_else(|| args.output.as_ref().map(|_| super::Hashes::start(&inputs(&args))));
    warn_absent(&rules, &prev_ledger.layout, &cur_ledger.layout, &args);
    let early = early_max > 0 && early_possible(&prev_ledger.layout, &cur_ledger.layout);
    let (mut cur_ledger, cur_dups, prev_dups) = scan_ids(cur_ledger, &prev_ledger, early)?;
    let labels = lists.iter().map(|l| l.label.clone()).collect();
    let want_areas = format == AdjustFormat::Xlsx || args.summary.is_some();
    let areas = want_areas.then(|| Areas::with_lists(&bound, args.show_ids, labels));
    let pass = Pass {
        rules: &rules,
        bound: &bound,
        lists: &lists,
        prepared: (&adjust::conditions(&lists), &engine::Reasons::new(&bound)),
        show_ids: args.show_ids,
        who: WhoFields::of(&rules),
        prev_dups: &prev_dups,
        cur_dups: &cur_dups,
        areas: areas.as_ref(),
    };
    let Indexed { previous, dup_rows, labels: prev_labels, certain } =
        index_previous(&pass, &mut prev_ledger, &mut acc, early_max)?;
    let prev_layout = prev_ledger.layout;

    // Current quarter: assessed and listed as it streams.
    let inputs = [args.previous.as_path(), args.current.as_path()];
    let mut out = Lists::new(&lists, format, args.output.as_deref(), &inputs, args.show_ids)?;
    out.areas = areas.clone();
    let (matched, early) = std::thread::scope(|s| {
        let early = (!certain.is_empty())
            .then(|| s.spawn(|| early_gone(&pass, &args.previous, &prev_layout, &previous, &certain)));
        let matched = list_current(&pass, &mut cur_ledger, &previous, &mut out, &mut acc);
        (matched, early.map(|t| t.join().expect("listing the gone households does not panic")))
    });
    let matched = matched?;
    let early = early_held(early, &certain, &matched);
    let index = (&previous, matched.as_slice(), dup_rows.as_slice());
    list_previous_only(&pass, &args.previous, &prev_layout, index, early, &mut out, &mut acc)?;
    if !acc.adds_up() {
        anyhow::bail!("内部错误：汇总不平衡 {acc:?}");
    }
    let table = out.areas.as_ref().map(|a| a.table(&bound));
    if let (Some((book, _)), Some(t)) = (&mut out.book, &table) {
        let mut charts = list_charts(&out.counts, &lists, &acc, args.quarter.as_deref());
        charts.decisions = quarter_labels(&bound, t, &prev_labels);
        book.set_report(t.clone(), charts);
    }
    let prov = hashes.map(|h| provenance(&args, &rules, bound.as_of, h)).transpose()?;
    let counts = out.finish(&acc, &bound, prov.as_ref())?;
    if let (Some(p), Some(t)) = (&args.summary, &table) {
        crate::output::report::write_summary_file(p, &inputs, t, &bound)?;
    }
    if format == AdjustFormat::Table || std::io::stdout().is_terminal() {
        let table = counts.village_table(&lists);
        // Written, not println!ed: a closed stdout (`| head`) ends the run quietly.
        let shown = if args.show_ids { table.as_str().into() } else { privacy::mask_text(&table) };
        std::io::Write::write_all(&mut std::io::stdout().lock(), format!("{shown}\n").as_bytes())?;
    }
    super::note(&summary_text(&acc, &counts, &lists, &bound));
    Ok(if acc.households_with_problems > 0 || acc.duplicated_previous_rows > 0 {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}

/// The figures of the chart sheet: each list's households and persons, the quarters' households.
fn list_charts(counts: &Counts, lists: &[&List], acc: &Accounting, quarter: Option<&str>) -> xlsx::ListCharts {
    let named = |what: &str| match quarter {
        Some(q) => format!("{what}（{q} 的上一季度）"),
        None => what.to_string(),
    };
    let this = match quarter {
        Some(q) => format!("本季度（{q}）"),
        None => "本季度".to_string(),
    };
    xlsx::ListCharts {
        lists: (lists.iter().enumerate()).map(|(i, l)| (l.label.clone(), counts.total[i], counts.persons[i])).collect(),
        quarters: [(named("上季度"), acc.previous_rows), (this, acc.current_rows)],
        decisions: Vec::new(),
    }
}

/// Per charted decision (`[report] charts`) also counted by area: its name, labels, and the
/// households per label in the previous snapshot (`previous`, as [`index_previous`] counted them)
/// and in the current one (the summary's total).
fn quarter_labels(b: &Bound, t: &AreaTable, previous: &[Vec<u64>]) -> Vec<xlsx::QuarterLabels> {
    let rep = &b.rules.report;
    let total = t.rows.iter().find(|r| r.depth == 0);
    (rep.charts.iter().zip(previous))
        .filter_map(|(&d, prev)| {
            let k = rep.decisions.iter().position(|&x| x == d)?;
            let dec = &b.rules.decisions[d as usize];
            let current = (0..dec.labels.len())
                .map(|j| match total.map(|r| &r.cells[t.label_columns[k] + j]) {
                    Some(SheetCell::Count(n)) => *n,
                    _ => 0,
                })
                .collect();
            Some(xlsx::QuarterLabels {
                decision: dec.label.clone(),
                labels: dec.labels.clone(),
                previous: prev.clone(),
                current,
            })
        })
        .collect()
}

/// The assessment date: `--date`, or the last day of `--quarter`.
fn assessment_date(args: &AdjustArgs) -> anyhow::Result<Date> {
    Ok(match (&args.date, &args.quarter) {
        (Some(d), _) => Date::parse(d).ok_or_else(|| anyhow::anyhow!("--date {d}：应为 YYYY-MM-DD 格式的日期"))?,
        (None, Some(q)) => {
            let (y, n) = parse_quarter(q).ok_or_else(|| anyhow::anyhow!("--quarter {q}：应为 2024Q3 这样的季度"))?;
            Date::quarter_end(y, n).expect("valid quarter")
        }
        (None, None) => anyhow::bail!("请给出 --quarter（如 2024Q3）或 --date（如 2024-09-30）"),
    })
}

/// `--format`, or what `-o` implies (a `.xlsx` file, a directory, nothing: the terminal).
fn output_format(args: &AdjustArgs) -> anyhow::Result<AdjustFormat> {
    let format = match (args.format, &args.output) {
        (Some(f), _) => f,
        (None, Some(p)) if p.extension().and_then(|e| e.to_str()) == Some("xlsx") => AdjustFormat::Xlsx,
        (None, Some(_)) => AdjustFormat::Csv,
        (None, None) => AdjustFormat::Table,
    };
    if format != AdjustFormat::Table && args.output.is_none() {
        anyhow::bail!(
            "--format {} 需要 -o：csv 给一个目录（-o 名单/），xlsx 给一个 .xlsx 文件（-o 名单.xlsx）",
            format!("{format:?}").to_lowercase()
        );
    }
    Ok(format)
}

/// Columns the snapshots lack: one warning for both when they lack the same.
fn warn_absent(rules: &RuleSet, prev_l: &Layout, cur_l: &Layout, args: &AdjustArgs) {
    if prev_l.absent == cur_l.absent {
        let both = format!("{} 和 {}", shown_path(&args.previous), shown_path(&args.current));
        if let Some(w) = prev_l.absent_warning_as(rules, &both) {
            super::note(&w);
        }
    } else {
        for w in [prev_l, cur_l].iter().filter_map(|l| l.absent_warning(rules)) {
            super::note(&w);
        }
    }
}

/// The repeated ids of both snapshots (the current ledger is handed back; an error of the current
/// scan before one of the previous). The two id scans read
/// different files: side by side, one core each; workbooks one after the other (each holds its
/// shared strings while it is read).
fn scan_ids(
    cur_ledger: Ledger,
    prev_ledger: &Ledger,
    keep_ids: bool,
) -> Result<(Ledger, Duplicates, Duplicates), InputError> {
    // The current quarter's ids kept, for `index_previous` to know which households are gone.
    let scan_current = |l: &Ledger| if keep_ids { Duplicates::scan_keeping_ids(l) } else { Duplicates::scan(l) };
    let sheets = [&cur_ledger, prev_ledger].iter().any(|l| matches!(l.layout.kind, crate::input::Kind::Sheet { .. }));
    let ((cur_ledger, cur), prev) = std::thread::scope(|s| {
        if sheets {
            let cur = scan_current(&cur_ledger);
            return ((cur_ledger, cur), Duplicates::scan(prev_ledger));
        }
        let cur = s.spawn(move || {
            let dups = scan_current(&cur_ledger);
            (cur_ledger, dups)
        });
        let prev = Duplicates::scan(prev_ledger);
        (cur.join().expect("the id scan does not panic"), prev)
    });
    Ok((cur_ledger, cur?, prev?))
}

/// What a chunk of the previous quarter gives: its households for the index, the rows of those
/// whose id is repeated, the charted decisions of each row (flat), how many rows.
#[derive(Default)]
struct PrevPart {
    index: PrevChunk,
    /// Households certainly gone: (row, position in `index`).
    certain: Vec<(u64, usize)>,
    dup_rows: Vec<u64>,
    charted: Vec<u16>,
    rows: u64,
}

/// The previous quarter, indexed by id; the rows of its households whose id is repeated (listed
/// on their own, the current side unknown, by [`list_previous_only`]); the charted decisions'
/// labels; the households certainly gone, when the current quarter's ids were kept: (row, index
/// in the index), the first `early_max`. Only what the lists read of a matched household is
/// read ([`Layout::restrict`]).
fn index_previous(
    pass: &Pass,
    prev_ledger: &mut Ledger,
    acc: &mut Accounting,
    early_max: usize,
) -> anyhow::Result<Indexed> {
    let Pass { rules, bound, prev_dups, cur_dups, .. } = *pass;
    // The charted decisions' labels in the previous snapshot (for the quarters' chart).
    let charted = if pass.areas.is_some() { rules.report.charts.as_slice() } else { &[] };
    let mut labels: Vec<Vec<u64>> =
        charted.iter().map(|&d| vec![0; rules.decisions[d as usize].labels.len()]).collect();
    let mut previous =
        PrevIndex::with_capacity(prev_dups.ids_seen() as usize, adjust::kept_sizes(rules, Side::Previous));
    let mut dup_rows = Vec::new();
    let mut certain = Vec::new();
    let cur_ids = cur_dups.ids();
    // Ids hashed once, for the index and for asking the current quarter's ids.
    if let Some(ids) = cur_ids {
        previous = previous.seeded(ids.seed());
    }
    let matcher = prev_ledger.layout.matcher.clone();
    if let Some(needs) = adjust::previous_needs(rules, charted) {
        prev_ledger.layout.restrict(needs);
    }
    let (hasher, id_field) = (*previous.hasher(), rules.field_index["household_id"]);
    acc.blank_previous_rows = pipeline::fold(
        prev_ledger,
        bound,
        prev_dups,
        PrevPart::default,
        |part, hh, a| {
            let id = Layout::id_str(hh, id_field);
            part.rows += 1;
            part.charted.extend(charted.iter().map(|&d| a.decisions[d as usize]));
            // A repeated id: its row is listed on its own, read again whole.
            if prev_dups.rows(id).is_none() && cur_dups.rows(id).is_none() {
                let hash = hasher.hash(id);
                if cur_ids.is_some_and(|ids| !ids.may_have_hashed(id, hash)) {
                    part.certain.push((hh.row, part.index.len()));
                }
                part.index.push(rules, id, hash, Row { hh, a });
            } else {
                part.dup_rows.push(hh.row);
            }
            Ok(())
        },
        |mut part| {
            acc.previous_rows += part.rows;
            for of in part.charted.chunks(charted.len().max(1)) {
                for (counts, &l) in labels.iter_mut().zip(of) {
                    counts[l as usize] += 1;
                }
            }
            let base = previous.entries.len();
            let room = early_max.saturating_sub(certain.len());
            certain.extend(part.certain.iter().take(room).map(|&(row, k)| (row, base + k)));
            previous.append(&mut part.index);
            acc.duplicated_previous_rows += part.dup_rows.len() as u64;
            dup_rows.extend(part.dup_rows);
            Ok(())
        },
    )?;
    prev_ledger.layout.matcher = matcher;
    Ok(Indexed { previous, dup_rows, labels, certain })
}

/// What [`index_previous`] gives.
struct Indexed {
    previous: PrevIndex,
    dup_rows: Vec<u64>,
    labels: Vec<Vec<u64>>,
    certain: Vec<(u64, usize)>,
}

/// Whether the households of the previous quarter certainly gone (their ids not among the current
/// quarter's, kept by its id scan) can be listed while the current quarter is read: the previous
/// quarter a CSV ledger (its rows read again by a thread of their own), neither a person export.
fn early_possible(prev: &Layout, cur: &Layout) -> bool {
    matches!(prev.kind, crate::input::Kind::Csv { .. }) && prev.persons.is_none() && cur.persons.is_none()
}

/// At most this many households certainly gone are listed while the current quarter is read
/// (their rows are held until it has been: some 16 MiB); the others after it, as before.
const EARLY_MAX: usize = 32 << 10;

/// The list rows of households of the previous quarter certainly gone, made while the current
/// quarter is read, in row order; `rows`: the rows looked at (all of `certain`'s).
#[derive(Default)]
struct Early {
    rows: Vec<u64>,
    entries: Vec<Entry>,
    evaluated: u64,
    unlisted: u64,
    /// Every row read again had the id it was indexed with (else what was found is not used).
    ids_held: bool,
}

/// What [`early_gone`] found, if it holds: an error or a surprise (a row read again with another
/// id, a household certainly gone matched after all) leaves it all to the pass after.
fn early_held(early: Option<anyhow::Result<Early>>, certain: &[(u64, usize)], matched: &[bool]) -> Early {
    early.and_then(Result::ok).filter(|e| e.ids_held && certain.iter().all(|&(_, k)| !matched[k])).unwrap_or_default()
}

/// [`Early`] of `certain` (row, index in `previous`), read again whole from `path`, as
/// [`list_previous_only`] reads a vanished household.
fn early_gone(
    pass: &Pass,
    path: &Path,
    prev_layout: &Layout,
    previous: &PrevIndex,
    certain: &[(u64, usize)],
) -> anyhow::Result<Early> {
    let Pass { rules, bound, prev_dups, .. } = *pass;
    let rows: Vec<u64> = certain.iter().map(|&(row, _)| row).collect();
    let mut again = Ledger::open(path, rules, &prev_layout.options)?;
    again.layout.matcher = prev_layout.matcher.clone();
    let mut early = Early { ids_held: true, ..Early::default() };
    let layout = &again.layout;
    again.reader.each_row_in(&rows, &mut |raw| {
        let Ok(j) = rows.binary_search(&raw.row) else { return };
        let Some(id) = layout.id_of(raw) else { return };
        if !early.ids_held || id != previous.id(&previous.entries[certain[j].1]) {
            early.ids_held = false;
            return;
        }
        let hh = layout.household(bound, raw, prev_dups);
        let a = engine::assess(bound, &hh);
        let mut acc = Accounting::default();
        early.entries.extend(previous_only(pass, Row { hh: &hh, a: &a }, &id, false, &mut acc));
        early.evaluated += acc.previous_only_evaluated;
        early.unlisted += acc.previous_unlisted;
    })?;
    early.rows = rows;
    Ok(early)
}

/// A current household's list rows, the previous household it matched, the run's facts of it and
/// its counts by area (key, counts).
type CurHousehold = (Vec<Entry>, Option<usize>, RunFacts, Option<(String, Vec<u64>)>);

/// What a chunk of the current quarter gives, per household: its list rows, the previous
/// household it matched, the run's facts of it, its counts by area; and the slots' buffers
/// (filled again for each household).
#[derive(Default)]
struct CurPart {
    env: Env,
    /// The previous household after the last one matched: the first one tried for the next id.
    next: usize,
    households: Vec<CurHousehold>,
}

impl CurPart {
    /// Households a chunk makes room for at its first (a chunk of the pipeline has some 200).
    const ROOM: usize = 256;
}

/// The current quarter, assessed, matched with the previous one and listed as it streams;
/// which households of the previous quarter were matched.
fn list_current(
    pass: &Pass,
    cur_ledger: &mut Ledger,
    previous: &PrevIndex,
    out: &mut Lists,
    acc: &mut Accounting,
) -> anyhow::Result<Vec<bool>> {
    let Pass { rules, bound, lists, prepared, show_ids, prev_dups, cur_dups, areas: template, .. } = *pass;
    let mut matched = vec![false; previous.entries.len()];
    let id_field = rules.field_index["household_id"];
    acc.blank_current_rows = pipeline::fold(
        cur_ledger,
        bound,
        cur_dups,
        CurPart::default,
        |part, hh, a| {
            let id = Layout::id_str(hh, id_field);
            let row = Row { hh, a };
            // 数据问题: cells that could not be read, and the findings of 错误-level checks.
            let mut problems = problems_text(rules, hh, show_ids);
            let errors = a.has_error_finding(bound);
            if errors {
                let mut found = String::new();
                engine::write_findings_of(&mut found, bound, hh, a, Severity::Error);
                problems = join(&problems, &found);
            }
            let mut run = RunFacts { has_problems: !hh.problems.is_empty() || errors, ..RunFacts::default() };
            let mut prev = None;
            if cur_dups.rows(id).is_some() || prev_dups.rows(id).is_some() {
                run.duplicated = true;
                if cur_dups.rows(id).is_none() {
                    problems = join(&problems, "户编号在上季度重复出现，无法与上季度匹配");
                    run.has_problems = true;
                }
            } else {
                prev = previous.find_near(id, part.next).filter(|_| !id.is_empty());
                if let Some(k) = prev {
                    part.next = k + 1;
                }
                run.matched = prev.is_some();
                run.appeared = prev.is_none();
            }
            let previous_side = prev.map_or(Snap::None, |k| Snap::Kept(previous.kept(k)));
            let env = &mut part.env;
            env.fill(rules, Snap::Row(row), previous_side, &run);
            let on = adjust::lists_of(bound, lists, prepared, env, Some(row), &problems);
            // Who and what changed only for a household on some list (most are on none).
            let rows = if on.is_empty() {
                Vec::new()
            } else {
                let change = if run.matched { adjust::changes(rules, env) } else { String::new() };
                entries(on, false, hh.row, id, who_in(pass, hh), change)
            };
            let area = template.map(|t| t.counted(bound, hh, a));
            if part.households.capacity() == 0 {
                // Room for a chunk's households at once, not grown by doubling (each time a copy).
                part.households.reserve(CurPart::ROOM);
            }
            part.households.push((rows, prev, run, area));
            Ok(())
        },
        |part| {
            part.households.into_iter().try_for_each(|(rows, prev, run, area)| {
                if let (Some(all), Some(one)) = (out.areas.as_mut(), &area) {
                    all.add_counted(one);
                }
                acc.current_rows += 1;
                if run.duplicated {
                    acc.duplicated_current_rows += 1;
                } else if let Some(k) = prev {
                    acc.matched += 1;
                    matched[k] = true;
                } else {
                    acc.new += 1;
                }
                if run.has_problems {
                    acc.households_with_problems += 1;
                }
                if rows.is_empty() {
                    acc.current_unlisted += 1;
                }
                for e in rows {
                    out.push(e)?;
                }
                Ok(())
            })
        },
    )?;
    Ok(matched)
}

/// The previous quarter's households that are listed on their own, the current side unknown:
/// the vanished ones (listed as they come) and those whose id is repeated (`dup_rows`, listed
/// after them). One more pass over the previous file, parsing only their rows (by row number;
/// a vanished household's id is checked again).
/// The rows listed already while the current quarter was read (`early`, in row order) are not
/// read again; their list rows go in among the others, by row.
fn list_previous_only(
    pass: &Pass,
    path: &Path,
    prev_layout: &Layout,
    (previous, matched, dup_rows): (&PrevIndex, &[bool], &[u64]),
    early: Early,
    out: &mut Lists,
    acc: &mut Accounting,
) -> anyhow::Result<()> {
    let Pass { rules, bound, prev_dups, .. } = *pass;
    let unmatched: Vec<&Prev> = previous.entries.iter().zip(matched).filter(|(_, &m)| !m).map(|(e, _)| e).collect();
    acc.gone = unmatched.len() as u64;
    acc.previous_only_evaluated += early.evaluated;
    acc.previous_unlisted += early.unlisted;
    let gone: HashSet<&str> = unmatched.iter().map(|e| previous.id(e)).collect();
    let mut rows: Vec<u64> = unmatched
        .iter()
        .map(|e| e.row)
        .filter(|r| early.rows.binary_search(r).is_err())
        .chain(dup_rows.iter().copied())
        .collect();
    let mut early = early.entries.into_iter().peekable();
    // The early rows before row `row`, pushed.
    let mut early_before = |out: &mut Lists, row: u64| -> anyhow::Result<()> {
        while let Some(e) = early.next_if(|e| e.row < row) {
            out.push(e)?;
        }
        Ok(())
    };
    if rows.is_empty() {
        return early_before(out, u64::MAX);
    }
    rows.sort_unstable();
    let mut again = Ledger::open(path, rules, &prev_layout.options)?;
    again.layout.matcher = prev_layout.matcher.clone();
    let (mut result, mut dup_entries) = (Ok(()), Vec::new());
    let layout = &again.layout;
    again.reader.each_row_in(&rows, &mut |raw| {
        let duplicated = dup_rows.binary_search(&raw.row).is_ok();
        let Some(id) = layout.id_of(raw) else { return };
        if result.is_err() || !(duplicated || gone.contains(id.as_str())) {
            return;
        }
        let hh = layout.household(bound, raw, prev_dups);
        let a = engine::assess(bound, &hh);
        // (A vanished household's rows name its id as read from the row, as it was found by.)
        let id = if duplicated { Layout::id_text(rules, &hh) } else { id };
        let entries = previous_only(pass, Row { hh: &hh, a: &a }, &id, duplicated, acc);
        if duplicated {
            dup_entries.extend(entries);
        } else {
            if result.is_ok() {
                result = early_before(out, raw.row);
            }
            for e in entries {
                if result.is_ok() {
                    result = out.push(e);
                }
            }
        }
    })?;
    result?;
    early_before(out, u64::MAX)?;
    dup_entries.into_iter().try_for_each(|e| out.push(e))
}

/// The list rows of a previous-quarter household listed on its own: vanished, or (`duplicated`)
/// its id repeated in either quarter.
fn previous_only(pass: &Pass, row: Row, id: &str, duplicated: bool, acc: &mut Accounting) -> Vec<Entry> {
    let Pass { rules, bound, lists, prepared, show_ids, cur_dups, .. } = *pass;
    let hh = row.hh;
    let mut problems = problems_text(rules, hh, show_ids);
    let run = if duplicated {
        if cur_dups.rows(id).is_some() {
            problems = join(&problems, "户编号在本季度重复出现，无法与本季度匹配");
        }
        problems = format!("上季度：{problems}");
        RunFacts { has_problems: true, duplicated: true, ..RunFacts::default() }
    } else {
        if !problems.is_empty() {
            problems = format!("上季度：{problems}");
        }
        RunFacts { disappeared: true, ..RunFacts::default() }
    };
    let env = Env::new(rules, Snap::None, Snap::Row(row), &run);
    let on = adjust::lists_of(bound, lists, prepared, &env, Some(row), &problems);
    acc.previous_only_evaluated += 1;
    if on.is_empty() {
        acc.previous_unlisted += 1;
    }
    entries(on, true, hh.row, id, who_in(pass, hh), String::new())
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
    // (Most households have none: no list built and joined.)
    if hh.problems.is_empty() {
        return String::new();
    }
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

/// The columns of every list before its own, and after them.
pub const LIST_HEAD: [&str; 6] = ["户编号", "县(市、区、旗)", "乡(镇)", "行政村", "户主姓名", "户主证件号码"];
pub const LIST_TAIL: [&str; 4] = ["理由", "两季度变化", "行号", "来源"];

/// A list's header row: the fixed columns around the list's own.
pub fn list_headers(l: &List) -> Vec<&str> {
    LIST_HEAD.iter().copied().chain(l.columns.iter().map(|(h, _)| h.as_str())).chain(LIST_TAIL).collect()
}

/// A list row's cells, every text but the 户编号 with personal numbers masked unless `show_ids`.
pub fn entry_cells(e: &Entry, show_ids: bool) -> Vec<String> {
    let mut cells = Vec::with_capacity(10 + e.columns.len());
    cells.extend([
        e.household_id.clone(),
        e.who.county.clone(),
        e.who.township.clone(),
        e.who.village.clone(),
        e.who.head_name.clone(),
        e.who.head_id.clone(),
    ]);
    cells.extend(e.columns.iter().cloned());
    cells.extend([
        e.reason.clone(),
        e.change.clone(),
        e.row.to_string(),
        (if e.previous { "上季度" } else { "本季度" }).to_string(),
    ]);
    if !show_ids {
        for c in &mut cells[1..] {
            if let Cow::Owned(t) = privacy::mask_text(c) {
                *c = t;
            }
        }
    }
    cells
}

/// A list row as a CSV row appended to `out`: [`entry_cells`], each made safe ([`csv_safe`]) and
/// quoted as `csv::Writer` quotes, written straight into the row. Returns whether a long number
/// was kept as text.
fn entry_row(out: &mut String, e: &Entry, show_ids: bool) -> bool {
    let mut row = CsvRow::new(out);
    let mask = !show_ids;
    row.safe(&e.household_id);
    let w = &e.who;
    for t in [&w.county, &w.township, &w.village, &w.head_name, &w.head_id] {
        row.text(t, mask);
    }
    for t in &e.columns {
        row.text(t, mask);
    }
    row.text(&e.reason, mask);
    row.text(&e.change, mask);
    // (The row number's digits written in place, not through `to_string`.)
    row.text_in_place(mask, |out| crate::value::push_digits(out, e.row, 1));
    row.text(if e.previous { "上季度" } else { "本季度" }, mask);
    row.end()
}

/// Per list, its count of households (and of persons, where the list counts them); plus the
/// accounting.
pub fn summary_rows(acc: &Accounting, counts: &Counts, lists: &[&List]) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = acc.items().into_iter().map(|(_, l, n)| (l.to_string(), n)).collect();
    for (i, l) in lists.iter().enumerate() {
        rows.push((format!("名单：{}", l.label), counts.total[i]));
        if l.persons.is_some() {
            rows.push((format!("名单：{}（人）", l.label), counts.persons[i]));
        }
    }
    rows
}

/// How many rows each list has, in total and per village, and the persons they hold.
#[derive(Debug, Default)]
pub struct Counts {
    pub total: Vec<u64>,
    pub persons: Vec<u64>,
    /// The villages in order of first appearance, each with its rows per list.
    villages: Vec<((String, String, String), Vec<u64>)>,
    /// Where each village is in `villages`.
    index: HashMap<(String, String, String), usize>,
    /// The village of the row before (rows come village by village in most ledgers: compared
    /// first, no key built or hashed).
    last: Option<usize>,
}

impl Counts {
    fn new(n: usize) -> Counts {
        Counts { total: vec![0; n], persons: vec![0; n], ..Counts::default() }
    }

    fn add(&mut self, e: &Entry) {
        let i = e.list;
        self.total[i] += 1;
        self.persons[i] += e.persons;
        let w = &e.who;
        let same = |v: &(String, String, String)| v.0 == w.county && v.1 == w.township && v.2 == w.village;
        let k = match self.last.filter(|&k| same(&self.villages[k].0)) {
            Some(k) => k,
            None => {
                let key = (w.county.clone(), w.township.clone(), w.village.clone());
                let n = self.total.len();
                let villages = &mut self.villages;
                *self.index.entry(key).or_insert_with_key(|key| {
                    villages.push((key.clone(), vec![0; n]));
                    villages.len() - 1
                })
            }
        };
        self.last = Some(k);
        self.villages[k].1[i] += 1;
    }

    fn village_table(&self, lists: &[&List]) -> String {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        if t.width().is_none() {
            t.set_width(160);
        }
        let mut header = vec!["乡镇".to_string(), "村".to_string()];
        header.extend(lists.iter().map(|l| l.label.clone()));
        t.set_header(header);
        let show = |n: u64| if n == 0 { String::new() } else { n.to_string() };
        for (v, counts) in &self.villages {
            let mut row = vec![v.1.clone(), v.2.clone()];
            row.extend(counts.iter().map(|&n| show(n)));
            t.add_row(row);
        }
        let mut total = vec!["合计".to_string(), String::new()];
        total.extend(self.total.iter().map(|n| n.to_string()));
        t.add_row(total);
        t.to_string()
    }
}

/// A CSV list: its rows are written by [`CsvRow`] (as `csv::Writer` writes them, without a
/// `String` per cell).
type CsvList = std::io::BufWriter<std::fs::File>;

/// Where list rows go as they are decided: one CSV per list, or one sheet per list of a
/// workbook (constant memory), or nowhere (counts only). Nothing is held but the counts. The
/// CSV lists and 汇总.csv are one [`AtomicSet`]: written into a temporary directory inside DIR and
/// swapped in together when the run finishes, so DIR holds either the old set or the new one.
struct Lists<'l> {
    lists: &'l [&'l List],
    counts: Counts,
    csv: Vec<CsvList>,
    set: Option<AtomicSet>,
    book: Option<(xlsx::AdjustBook, AtomicFile)>,
    show_ids: bool,
    /// The CSV lists' directory, and whether a long number in them was kept as text (`csv_safe`).
    dir: String,
    kept_as_text: bool,
    /// The summary by area: the current quarter's households and every list row, by area.
    areas: Option<Areas>,
    /// A CSV list row, reused.
    row: String,
}

impl<'l> Lists<'l> {
    fn new(
        lists: &'l [&'l List],
        format: AdjustFormat,
        out: Option<&Path>,
        inputs: &[&Path],
        show_ids: bool,
    ) -> anyhow::Result<Lists<'l>> {
        let mut w = Lists {
            lists,
            counts: Counts::new(lists.len()),
            csv: Vec::new(),
            set: None,
            book: None,
            show_ids,
            dir: String::new(),
            kept_as_text: false,
            areas: None,
            row: String::new(),
        };
        match (format, out) {
            (AdjustFormat::Csv, Some(dir)) => {
                w.dir = dir.display().to_string();
                let mut set = AtomicSet::create(dir, inputs)?;
                for list in lists {
                    let name = format!("{}.csv", list.label);
                    let mut file = std::io::BufWriter::with_capacity(1 << 16, set.file(&name)?);
                    file.write_all("\u{feff}".as_bytes())?;
                    let mut row = CsvRow::new(&mut w.row);
                    list_headers(list).into_iter().for_each(|h| row.field(h));
                    row.end();
                    file.write_all(w.row.as_bytes())?;
                    w.row.clear();
                    w.csv.push(file);
                }
                w.set = Some(set);
            }
            (AdjustFormat::Xlsx, Some(path)) => {
                let file = AtomicFile::create(path, inputs)?;
                let to = if is_stdout(path) { "标准输出".to_string() } else { path.display().to_string() };
                let sheets: Vec<(&str, Vec<&str>)> =
                    lists.iter().map(|l| (l.label.as_str(), list_headers(l))).collect();
                w.book = Some((xlsx::AdjustBook::new(&to, &sheets)?, file));
            }
            _ => {}
        }
        Ok(w)
    }

    fn push(&mut self, e: Entry) -> anyhow::Result<()> {
        self.counts.add(&e);
        if let Some(areas) = &mut self.areas {
            areas.add_to_list(&e.who.area, e.list);
        }
        if self.csv.is_empty() && self.book.is_none() {
            return Ok(());
        }
        if let Some(w) = self.csv.get_mut(e.list) {
            self.row.clear();
            self.kept_as_text |= entry_row(&mut self.row, &e, self.show_ids);
            w.write_all(self.row.as_bytes()).map_err(|err| write_error(self.lists[e.list], err))?;
        }
        if let Some((book, _)) = &mut self.book {
            book.add(e.list, &entry_cells(&e, self.show_ids))?;
        }
        Ok(())
    }

    /// Write the summary and put every file in place; returns the counts.
    fn finish(mut self, acc: &Accounting, b: &Bound, prov: Option<&Provenance>) -> anyhow::Result<Counts> {
        for (i, mut w) in std::mem::take(&mut self.csv).into_iter().enumerate() {
            w.flush().map_err(|e| write_error(self.lists[i], e))?;
        }
        let summary = summary_rows(acc, &self.counts, self.lists);
        if let Some(mut set) = self.set.take() {
            let mut bytes = "\u{feff}".as_bytes().to_vec();
            {
                let mut w = csv::Writer::from_writer(&mut bytes);
                w.write_record(["项目", "数量"])?;
                w.write_record(["评估日期".to_string(), b.as_of.to_string()])?;
                for (k, n) in &summary {
                    w.write_record([csv_safe(k).into_owned(), n.to_string()])?;
                }
                w.flush()?;
            }
            set.file("汇总.csv")?
                .write_all(&bytes)
                .map_err(|e| anyhow::anyhow!("无法写出 汇总.csv：{e}；原有名单均未改动"))?;
            if let Some(p) = prov {
                set.file("说明.csv")?
                    .write_all(&provenance_csv(p)?)
                    .map_err(|e| anyhow::anyhow!("无法写出 说明.csv：{e}；原有名单均未改动"))?;
            }
            set.commit()?;
            if self.kept_as_text {
                eprintln!("{}", csv_long_numbers_note(&self.dir));
            }
        }
        if let Some((mut book, mut f)) = self.book.take() {
            if let Some(p) = prov {
                book.provenance(&p.rows(), b)?;
            }
            book.finish(&mut f, &summary, b)?;
            f.commit()?;
        }
        Ok(self.counts)
    }
}

/// What the lists are made from (`output::provenance`): both quarters and the department lists
/// given, the rules, the date and the options that shape the output. No clock: the same inputs
/// and options give the same bytes. The inputs' hashing was started when they were opened.
fn provenance(args: &AdjustArgs, rules: &RuleSet, as_of: Date, hashes: super::Hashes) -> anyhow::Result<Provenance> {
    use clap::ValueEnum;
    let mut o: Vec<String> = vec!["--rules".into(), args.rules.rules.clone(), "--date".into(), as_of.to_string()];
    if let Some(f) = args.format.and_then(|f| f.to_possible_value()) {
        o.extend(["--format".into(), f.get_name().to_string()]);
    }
    o.extend(super::input_options(&args.input));
    o.extend(args.lists.with.iter().flat_map(|w| ["--with".to_string(), w.clone()]));
    if args.show_ids {
        o.push("--show-ids".into());
    }
    super::provenance_hashed("adjust", &[rules], as_of, hashes, o)
}

/// The files the lists are made from: both quarters, then the department lists given.
/// Lists written to files get a provenance record: the inputs are hashed while they are assessed,
/// from before the rules are loaded (loading them keeps one core busy some 25 ms) when both
/// quarters are files (standard input is hashed once spooled; then `run_with` starts it).
fn early_hashes(args: &AdjustArgs) -> Option<super::Hashes> {
    let files = !stdin::is_stdin(&args.previous) && !stdin::is_stdin(&args.current);
    args.output.as_ref().filter(|_| files).map(|_| super::Hashes::start_fed(&inputs(args)))
}

fn inputs(args: &AdjustArgs) -> Vec<&Path> {
    let mut inputs = vec![args.previous.as_path(), args.current.as_path()];
    inputs.extend(args.lists.with.iter().filter_map(|w| w.split_once('=')).map(|(_, f)| Path::new(f)));
    inputs
}

/// The provenance as `说明.csv` beside the lists: 项目, 内容 (UTF-8 with a BOM, as the lists).
fn provenance_csv(p: &Provenance) -> anyhow::Result<Vec<u8>> {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        w.write_record(["项目", "内容"])?;
        for (k, v) in p.rows() {
            w.write_record([csv_safe(&k).into_owned(), csv_safe(&v).into_owned()])?;
        }
        w.flush()?;
    }
    Ok(bytes)
}

/// A list file that could not be written (a full disk): named, with the promise kept.
fn write_error(list: &List, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("无法写出名单“{}”：{e}；原有名单均未改动", list.label)
}

fn summary_text(acc: &Accounting, counts: &Counts, lists: &[&List], b: &Bound) -> String {
    // Counts for people read with thousands separators (汇总.csv keeps plain numbers).
    let g = crate::lang::grouped;
    let mut s = format!(
        "评估日期 {}；上季度 {} 户 = 两季度均有 {} + 减少 {} + 户编号重复 {}；本季度 {} 户 = 两季度均有 {} + 新增 {} + 户编号重复 {}；本季度 {} 户有数据问题。\n",
        b.rules.dated(b.as_of),
        g(acc.previous_rows),
        g(acc.matched),
        g(acc.gone),
        g(acc.duplicated_previous_rows),
        g(acc.current_rows),
        g(acc.matched),
        g(acc.new),
        g(acc.duplicated_current_rows),
        g(acc.households_with_problems)
    );
    if acc.blank_previous_rows + acc.blank_current_rows > 0 {
        s.push_str(&format!(
            "空白行已跳过：上季度 {} 行，本季度 {} 行。\n",
            g(acc.blank_previous_rows),
            g(acc.blank_current_rows)
        ));
    }
    let parts: Vec<String> = lists
        .iter()
        .enumerate()
        .map(|(i, l)| match l.persons {
            // Each piece in the run's language before they are joined (one line, several messages).
            Some(_) => {
                let piece = format!("{} {} 户 {} 人", l.label, g(counts.total[i]), g(counts.persons[i]));
                crate::messages::tr(&piece).into_owned()
            }
            None => format!("{} {}", l.label, g(counts.total[i])),
        })
        .collect();
    s.push_str(&format!("名单：{}\n", parts.join(" · ")));
    s.push_str(&format!(
        "未列入任何名单（无变化）：本季度 {} 户，仅见于上季度的 {} 行。\n",
        g(acc.current_unlisted),
        g(acc.previous_unlisted)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists are the same whether the households certainly gone are listed while the current
    /// quarter is read (all, some, none of them) or after it: a messy previous quarter with
    /// repeated ids, one of them gone.
    #[test]
    fn early_gone_households_change_nothing() {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let (q2, q3) = (dir.path().join("q2.csv"), dir.path().join("q3.csv"));
        let gen = crate::cli::DemoArgs {
            households: 400,
            seed: 11,
            messy: 0.1,
            year: 2024,
            output: q2.clone(),
            next_quarter: Some(q3.clone()),
            force: false,
        };
        crate::cmd::demo_data::run(gen).unwrap();
        // Two ids repeated in the previous quarter, one of them gone.
        let text = std::fs::read_to_string(&q2).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&q2, format!("{text}{}\n{}\n", lines[5], lines[9])).unwrap();
        let run = |out: &str, early_max: usize| {
            let to = dir.path().join(out);
            let argv = ["tuopin", "adjust", "--previous", q2.to_str().unwrap(), "--current", q3.to_str().unwrap()];
            let cli = crate::cli::Cli::try_parse_from(argv.into_iter().chain([
                "--quarter",
                "2024Q3",
                "-o",
                to.to_str().unwrap(),
            ]))
            .unwrap();
            let crate::cli::Command::Adjust(args) = cli.command else { panic!() };
            run_with(args, early_max).unwrap();
            to
        };
        let files = |d: &std::path::Path| {
            let mut f: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
                .collect();
            f.sort();
            f
        };
        let none = files(&run("none", 0));
        let gone = none.iter().find(|(n, _)| n.starts_with("减少户")).expect("a list of gone households");
        assert!(gone.1.iter().filter(|&&b| b == b'\n').count() > 3, "some gone households");
        for early_max in [1, 3, usize::MAX] {
            assert_eq!(files(&run(&format!("e{early_max}"), early_max)), none, "{early_max}");
        }
    }

    /// A list row written by [`entry_row`] is what `csv::Writer` writes of [`entry_cells`] made
    /// safe, masked and not: quotes, commas, line breaks, formulas, long numbers, ID and phone
    /// numbers, empty cells.
    #[test]
    fn entry_row_is_what_csv_writer_writes() {
        let texts = [
            "",
            "张三",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "=SUM(A1)",
            "-1.5",
            "+86 138",
            "@x",
            "0123",
            "13800138000",
            "110101199003077777",
            "身份证 110101199003077777，电话 13800138000",
            " =1",
            "\tx",
            "【说明】",
        ];
        let mut n = 0;
        for (i, a) in texts.iter().enumerate() {
            for b in &texts {
                let e = Entry {
                    list: 0,
                    previous: i % 2 == 0,
                    row: 7 + i as u64,
                    household_id: a.to_string(),
                    who: Who {
                        county: b.to_string(),
                        township: a.to_string(),
                        village: "村".into(),
                        head_name: b.to_string(),
                        head_id: a.to_string(),
                        area: String::new(),
                    },
                    columns: vec![a.to_string(), b.to_string()],
                    reason: b.to_string(),
                    change: a.to_string(),
                    persons: 3,
                };
                for show_ids in [false, true] {
                    let cells = entry_cells(&e, show_ids);
                    let mut want = csv::Writer::from_writer(Vec::new());
                    want.write_record(cells.iter().map(|c| csv_safe(c).into_owned())).unwrap();
                    let want = String::from_utf8(want.into_inner().unwrap()).unwrap();
                    let mut got = String::new();
                    let kept = entry_row(&mut got, &e, show_ids);
                    assert_eq!(got, want, "{e:?} show_ids {show_ids}");
                    assert_eq!(kept, cells.iter().any(|c| crate::output::long_digits(c)), "{e:?}");
                    n += 1;
                }
            }
        }
        assert_eq!(n, texts.len() * texts.len() * 2);
    }

    /// What `index_previous` keeps of every household, read with the layout restricted to what
    /// the lists need ([`adjust::previous_needs`]) and evaluating only that, equals what a full
    /// read and assessment give: for every built-in rule set, both policy periods, messy cells
    /// and the quarters' chart.
    #[test]
    fn previous_quarter_read_for_the_lists_only_keeps_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.csv");
        let gen = crate::cli::DemoArgs {
            households: 600,
            seed: 7,
            messy: 0.2,
            year: 2024,
            output: path.clone(),
            next_quarter: None,
            force: false,
        };
        crate::cmd::demo_data::run(gen).unwrap();
        let kept = |b: &crate::ruleset::Bound, ledger: &mut Ledger, charted: &[u16]| {
            let dups = Duplicates::scan(ledger).unwrap();
            let mut out = Vec::new();
            pipeline::stream(
                ledger,
                b,
                &dups,
                |hh, a| {
                    let k = crate::adjust::index::KeptBuf::of(b.rules, Row { hh, a });
                    let of: Vec<u16> = charted.iter().map(|&d| a.decisions[d as usize]).collect();
                    Ok(format!("{} {:?} {of:?}", Layout::id_text(b.rules, hh), k.view()))
                },
                |x| {
                    out.push(x);
                    Ok(())
                },
            )
            .unwrap();
            out
        };
        let mut restricted_some = 0;
        for (name, _, _) in ruleset::EMBEDDED {
            for date in ["2020-12-31", "2024-09-30"] {
                let date = Date::parse(date).unwrap();
                let rules = ruleset::load(name).unwrap().worded(date);
                // (A province's rule set covers its own years only.)
                let Ok(b) = rules.at(date) else { continue };
                let options = crate::input::OpenOptions::default();
                for charted in [&[][..], rules.report.charts.as_slice()] {
                    let mut full = Ledger::open(&path, &rules, &options).unwrap();
                    let mut part = Ledger::open(&path, &rules, &options).unwrap();
                    if let Some(needs) = adjust::previous_needs(&rules, charted) {
                        assert!(needs.fields.iter().filter(|&&x| x).count() < rules.fields.len() / 2);
                        part.layout.restrict(needs);
                        restricted_some += 1;
                    }
                    let (full, part) = (kept(&b, &mut full, charted), kept(&b, &mut part, charted));
                    assert_eq!(full.len(), part.len());
                    for (x, y) in full.iter().zip(&part) {
                        assert_eq!(x, y, "{name} {date}");
                    }
                }
            }
        }
        assert!(restricted_some >= 10, "{restricted_some}");
    }

    #[test]
    fn quarters() {
        assert_eq!(parse_quarter("2024Q3"), Some((2024, 3)));
        assert_eq!(parse_quarter("2024q1"), Some((2024, 1)));
        assert_eq!(parse_quarter("2024-Q4"), Some((2024, 4)));
        assert_eq!(parse_quarter("2024Q5"), None);
        assert_eq!(parse_quarter("24Q1"), None);
    }
}

//! `tuopin notice`: the 公示 notices of one ledger, per village, of the lists the rule file marks
//! `notice = true` (`[notice]`: days, objection line, the columns shown).
//!
//! The ledger is streamed and assessed as by `assess`; each household on a posted list keeps only
//! the allow-listed columns (name, group, household size) and the list's label, each cell checked
//! by `ruleset::notice::public_text`, so no ID, phone, bank or health detail reaches a notice —
//! whatever column it was typed into, and with no `--show-ids`. Memory: the listed households.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::adjust::{self, Env, Row, RunFacts, Snap};
use crate::cli::NoticeArgs;
use crate::engine::{self, Assessment};
use crate::error::Outcome;
use crate::household::{Cell, Household, Scalar};
use crate::input::{Duplicates, Ledger};
use crate::output::notice::{self as out, NoticeDoc, NoticeRow, PlaceNotice};
use crate::output::AtomicFile;
use crate::pipeline;
use crate::ruleset::lists::List;
use crate::ruleset::notice::{public_text, Notice};
use crate::ruleset::{self, Bound};
use crate::value::Date;

/// What a withheld cell shows.
const WITHHELD: &str = "（需核实）";
/// Longest name, group or place part a notice shows (characters).
const MAX_CHARS: usize = 30;
/// Withheld cells named one by one on stderr; the rest are counted.
const NAMED: usize = 20;

/// How a notice is written, by `-o`'s extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xlsx,
    Html,
}

fn kind(p: &Path) -> anyhow::Result<Kind> {
    match p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("xlsx") => Ok(Kind::Xlsx),
        Some("html" | "htm") => Ok(Kind::Html),
        _ => bail!("-o {}：公示只能写成 .xlsx 工作簿或 .html 网页（如 -o 公示.xlsx -o 公示.html）", p.display()),
    }
}

/// One household's part of a notice, and the cells withheld from it (row, column label).
struct Entry {
    place: String,
    row: NoticeRow,
    withheld: Vec<(u64, String)>,
}

#[derive(Default)]
struct Chunk {
    entries: Vec<Entry>,
    problems: u64,
}

pub fn run(mut args: NoticeArgs) -> anyhow::Result<Outcome> {
    let kinds = args.output.iter().map(|p| kind(p)).collect::<anyhow::Result<Vec<Kind>>>()?;
    let rules = ruleset::load(&args.rules.rules)?;
    let as_of = super::as_of(&args.date)?;
    let rules = rules.worded(as_of);
    let mut bound = rules.at(as_of)?;
    let Some(notice) = rules.notice.clone() else {
        bail!("规则集 {} 没有 [notice] 一节：不知道公示哪些名单（写法见 rules/README.md“公示”）", rules.id);
    };
    let lists: Vec<&List> = rules.lists.lists.iter().filter(|l| l.notice && l.applies(as_of)).collect();
    if lists.is_empty() {
        bail!("规则集 {} 在评估日期 {} 没有需公示的名单（notice = true）", rules.id, rules.dated(as_of));
    }
    let start = match &args.start {
        Some(s) => {
            Date::parse(s).ok_or_else(|| anyhow::anyhow!("--start {s}：应为 YYYY-MM-DD 格式的日期，如 2024-10-08"))?
        }
        None => as_of,
    };
    // `-`: standard input, spooled to a temporary file that lives as long as the run.
    let input = crate::input::stdin::Input::open(&args.file)?;
    args.file = input.path().to_path_buf();
    let matcher = super::departments(&rules, &args.lists, &args.input)?;
    let mut ledger = Ledger::open(&args.file, &rules, &args.input.options())?;
    super::attach_departments(&mut ledger, &matcher, &rules);
    let dups = Duplicates::scan(&ledger)?;
    bound.read_from = ledger.layout.read_from(&rules);
    super::run_messages(bound.run_warnings());
    if let Some(w) = ledger.layout.absent_warning(&rules) {
        super::note(&w);
    }
    let labels: Vec<String> = lists.iter().map(|l| l.label.clone()).collect();
    super::note(&format!(
        "{}：规则集 {}，评估日期 {}；公示名单：{}\n",
        crate::value::shown_path(&args.file),
        rules.id,
        rules.dated(as_of),
        labels.join("、")
    ));
    let (places, withheld, problems) = collect(&mut ledger, &bound, &dups, &lists, &notice)?;
    let households: usize = places.iter().map(|p| p.rows.len()).sum();
    if households == 0 {
        super::note("没有需公示的农户：未写出公示。\n");
        return Ok(if problems > 0 { Outcome::Problems } else { Outcome::Clean });
    }
    let mut options = vec!["--rules".to_string(), args.rules.rules.clone(), "--date".into(), as_of.to_string()];
    options.extend(["--start".to_string(), start.to_string()]);
    options.extend(super::input_options(&args.input));
    options.extend(args.lists.with.iter().flat_map(|w| ["--with".to_string(), w.clone()]));
    let mut inputs = vec![args.file.as_path()];
    inputs
        .extend(args.lists.with.iter().filter_map(|w| w.split_once('=')).map(|(_, f)| std::path::Path::new(f.trim())));
    let prov = super::provenance("notice", &[&rules], as_of, &inputs, options)?;
    let field_label = |i: u16| rules.fields[i as usize].label.clone();
    let doc = NoticeDoc {
        title: notice.title.clone(),
        start,
        end: start.plus_days(i64::from(notice.days) - 1),
        days: notice.days,
        contact: notice.contact.clone(),
        name_header: field_label(notice.name),
        group_header: notice.group.map(field_label),
        members_header: field_label(notice.members),
        items: labels,
        places,
        provenance: prov.rows(),
    };
    for (p, k) in args.output.iter().zip(kinds) {
        write(p, k, &doc, &args.file)?;
        if k == Kind::Html {
            crate::output::provenance::write_sidecar(p, &[args.file.as_path()], prov.clone())?;
        }
    }
    report(&doc, &withheld, &args.output);
    Ok(if withheld.is_empty() && problems == 0 { Outcome::Clean } else { Outcome::Problems })
}

type Collected = (Vec<PlaceNotice>, Vec<(u64, String)>, u64);

/// The households on the posted lists, per place in order of first appearance, in input order.
fn collect(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    lists: &[&List],
    notice: &Notice,
) -> anyhow::Result<Collected> {
    let mut places: Vec<PlaceNotice> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut withheld = Vec::new();
    let mut problems = 0;
    let conds = adjust::conditions(lists);
    let reasons = engine::Reasons::new(bound);
    pipeline::fold(
        ledger,
        bound,
        dups,
        Chunk::default,
        |c, hh, a| {
            c.problems += u64::from(!hh.problems.is_empty());
            c.entries.extend(entries(bound, (lists, &conds, &reasons), notice, hh, a));
            Ok(())
        },
        |c| {
            problems += c.problems;
            for e in c.entries {
                let k = *index.entry(e.place.clone()).or_insert_with(|| {
                    places.push(PlaceNotice { place: e.place.clone(), rows: Vec::new() });
                    places.len() - 1
                });
                places[k].rows.push(e.row);
                withheld.extend(e.withheld);
            }
            Ok(())
        },
    )?;
    Ok((places, withheld, problems))
}

/// The notice rows of one household: one per posted list it is on.
fn entries(
    b: &Bound,
    (lists, conds, reasons): (&[&List], &engine::Conditions, &engine::Reasons),
    notice: &Notice,
    hh: &Household,
    a: &Assessment,
) -> Vec<Entry> {
    let rs = b.rules;
    let row = Row { hh, a };
    let env = Env::new(rs, Snap::Row(row), Snap::None, &RunFacts::default());
    let on = adjust::lists_of(b, lists, (conds, reasons), &env, Some(row), "");
    if on.is_empty() {
        return Vec::new();
    }
    let mut withheld = Vec::new();
    let mut text = |f: u16| -> String {
        let raw = match &hh.cells[f as usize] {
            Cell::Value(Scalar::Text(t)) => &**t,
            Cell::Invalid(raw) => &**raw,
            _ => return String::new(),
        };
        public_text(raw, &notice.withhold, MAX_CHARS).unwrap_or_else(|| {
            withheld.push((hh.row, rs.fields[f as usize].label.clone()));
            WITHHELD.to_string()
        })
    };
    let place: Vec<String> = notice.place.iter().map(|&f| text(f)).filter(|s| !s.is_empty()).collect();
    let place = if place.is_empty() { "（未填村名）".to_string() } else { place.join("") };
    let name = text(notice.name);
    let group = notice.group.map(&mut text).unwrap_or_default();
    let members = match hh.cells[notice.members as usize].value() {
        Some(Scalar::Num(n)) => n.as_int().map(|n| n.to_string()).unwrap_or_default(),
        _ => String::new(),
    };
    on.into_iter()
        .enumerate()
        .map(|(k, o)| Entry {
            place: place.clone(),
            row: NoticeRow {
                name: name.clone(),
                group: group.clone(),
                members: members.clone(),
                item: lists[o.list].label.clone(),
            },
            // Each withheld cell is reported once, with the household's first row.
            withheld: if k == 0 { std::mem::take(&mut withheld) } else { Vec::new() },
        })
        .collect()
}

fn write(p: &Path, k: Kind, doc: &NoticeDoc, input: &Path) -> anyhow::Result<()> {
    let bytes = match k {
        Kind::Html => out::html(doc).into_bytes(),
        Kind::Xlsx => out::workbook(doc).map_err(|e| anyhow::anyhow!("无法写出工作簿 {}：{e}", p.display()))?,
    };
    let mut f = AtomicFile::create(p, &[input])?;
    f.writer().write_all(&bytes).with_context(|| format!("无法写出公示（{}）", p.display()))?;
    f.commit().with_context(|| "输出未能完成")
}

/// What was written and which cells were withheld (named by row and column, never by value).
fn report(doc: &NoticeDoc, withheld: &[(u64, String)], outputs: &[PathBuf]) {
    for (row, column) in withheld.iter().take(NAMED) {
        eprintln!("注意：第 {row} 行“{column}”含有不能公示的内容（数字、证件或电话号码、健康或残疾情况等），公示中显示为“{WITHHELD}”：请核实该单元格");
    }
    if withheld.len() > NAMED {
        eprintln!("另有 {} 个单元格不能公示（同上）。", withheld.len() - NAMED);
    }
    let households: usize = doc.places.iter().map(|p| p.rows.len()).sum();
    let to: Vec<String> = outputs.iter().map(|p| p.display().to_string()).collect();
    super::note(&format!(
        "公示：{} 个村，{} 行；{}；已写出 {}\n",
        doc.places.len(),
        households,
        doc.period(),
        to.join("、")
    ));
}

//! `tuopin compare-rules --rules A --rules B FILE`: the same households under two rule sets —
//! who changes decision, from what to what, and why (the criteria whose result differs, the
//! parameters in force that differ, and the reasons under B with their values and thresholds),
//! with counts per village.
//!
//! Two passes over the file: under A, each household's decision labels and criterion results are
//! kept (a few dozen bytes a household, in input order); under B, each household is compared with
//! its kept A result as it streams, and its rows are written in input order.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{bail, Context};

use crate::cli::CompareArgs;
use crate::engine::{self, Assessment};
use crate::error::Outcome;
use crate::household::Household;
use crate::input::{Duplicates, Ledger};
use crate::output::provenance::Provenance;
use crate::output::{csv_safe, shown_field, AtomicFile};
use crate::pipeline;
use crate::ruleset::{self, Bound, RuleSet};

/// What is kept of a household under A.
struct Kept {
    id: String,
    decisions: Vec<u16>,
    crits: Vec<Option<bool>>,
}

/// One changed decision of one household.
struct Change {
    row: u64,
    id: String,
    place: [String; 3],
    name: String,
    head_id: String,
    decision: String,
    from: String,
    to: String,
    criteria: String,
    reasons: String,
}

/// The decisions and criteria the two rule sets share, by index in A and in B.
struct Pairs {
    decisions: Vec<(usize, usize)>,
    crits: Vec<(usize, usize)>,
}

impl Pairs {
    fn new(a: &RuleSet, b: &RuleSet) -> Pairs {
        let decisions = (a.decisions.iter().enumerate())
            .filter_map(|(i, d)| b.decisions.iter().position(|x| x.id == d.id).map(|j| (i, j)))
            .collect();
        let crits = (a.criteria.iter().enumerate())
            .filter_map(|(i, c)| b.criteria.iter().position(|x| x.id == c.id).map(|j| (i, j)))
            .collect();
        Pairs { decisions, crits }
    }
}

pub fn run(mut args: CompareArgs) -> anyhow::Result<Outcome> {
    let [spec_a, spec_b] = match args.rules.as_slice() {
        [a, b] => [a.clone(), b.clone()],
        _ => bail!("--rules 须给两次：--rules 甲规则集 --rules 乙规则集（如 --rules national --rules yunnan-2025）"),
    };
    let as_of = super::as_of(&args.date)?;
    let (rules_a, rules_b) = (ruleset::load(&spec_a)?.worded(as_of), ruleset::load(&spec_b)?.worded(as_of));
    let (bound_a, bound_b) = (rules_a.at(as_of)?, rules_b.at(as_of)?);
    let pairs = Pairs::new(&rules_a, &rules_b);
    // `-`: standard input, spooled to a temporary file (the file is read twice).
    let input = crate::input::stdin::Input::open(&args.file)?;
    args.file = input.path().to_path_buf();
    let params = parameter_changes(&bound_a, &bound_b);
    super::note(&format!(
        "{}：按规则集 {} 与 {} 评估，评估日期 {}；{}\n",
        crate::value::shown_path(&args.file),
        rules_a.id,
        rules_b.id,
        rules_a.dated(as_of),
        if params.is_empty() {
            "所用参数相同".to_string()
        } else {
            format!("参数不同：{}", params.join(crate::messages::sep("；")))
        }
    ));
    let kept = assess_a(&args, bound_a)?;
    let (changes, households) = compare_b(&args, bound_b, &rules_a, &pairs, &kept)?;
    if households != kept.len() as u64 {
        bail!(
            "两次读取 {} 得到的户数不同（{} 与 {}）：文件在运行中被改动？",
            crate::value::shown_path(&args.file),
            kept.len(),
            households
        );
    }
    let headers = headers(&rules_a.id, &rules_b.id);
    let prov = provenance(&args, [&rules_a, &rules_b], as_of)?;
    match &args.output {
        Some(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) => {
            write_xlsx(p, &args, &headers, &changes, &params, &prov.rows())?
        }
        Some(p) => {
            write_csv(Some(p), &args, &headers, &changes)?;
            crate::output::provenance::write_sidecar(p, &[args.file.as_path()], prov)?;
        }
        None => write_csv(None, &args, &headers, &changes)?,
    }
    let villages = per_village(&changes, &crate::messages::fill_key("（无）", &[]), crate::messages::sep("，"));
    let changed: usize = villages.iter().map(|v| v.1).sum();
    super::note(&format!(
        "共 {} 户，其中 {} 户至少一项判定不同（{} 项）。\n",
        crate::value::grouped(kept.len() as u64),
        changed,
        changes.len()
    ));
    for (place, n, detail) in &villages {
        super::note(&format!("  {place}：{n} 户（{detail}）\n"));
    }
    Ok(Outcome::Clean)
}

/// What the comparison is made from: both rule sets, the input, the date and the options.
fn provenance(args: &CompareArgs, rules: [&RuleSet; 2], as_of: crate::value::Date) -> anyhow::Result<Provenance> {
    let mut options: Vec<String> = args.rules.iter().flat_map(|r| ["--rules".to_string(), r.clone()]).collect();
    options.extend(["--date".to_string(), as_of.to_string()]);
    options.extend(super::input_options(&args.input));
    options.extend(args.lists.with.iter().flat_map(|w| ["--with".to_string(), w.clone()]));
    if args.show_ids {
        options.push("--show-ids".into());
    }
    let mut inputs = vec![args.file.as_path()];
    inputs
        .extend(args.lists.with.iter().filter_map(|w| w.split_once('=')).map(|(_, f)| std::path::Path::new(f.trim())));
    super::provenance("compare-rules", &rules, as_of, &inputs, options)
}

/// `监测范围 6000 → 8700`: the parameters of both rule sets whose values in force differ.
fn parameter_changes(a: &Bound, b: &Bound) -> Vec<String> {
    let mut out = Vec::new();
    for (i, p) in a.rules.params.iter().enumerate() {
        if let Some(j) = b.rules.params.iter().position(|q| q.key == p.key) {
            if a.params[i] != b.params[j] {
                out.push(format!("{} {} → {}", p.label, a.params[i], b.params[j]));
            }
        }
    }
    out
}

/// The ledger, with the department lists given (`--with`) read for this rule set.
fn open(args: &CompareArgs, b: &Bound) -> anyhow::Result<(Ledger, Duplicates)> {
    let matcher = super::departments(b.rules, &args.lists, &args.input)?;
    let mut ledger = Ledger::open(&args.file, b.rules, &args.input.options())?;
    super::attach_departments(&mut ledger, &matcher, b.rules);
    let dups = Duplicates::scan(&ledger)?;
    Ok((ledger, dups))
}

/// Pass A: each household's labels and criterion results, in input order.
fn assess_a(args: &CompareArgs, mut bound: Bound) -> anyhow::Result<Vec<Kept>> {
    let (mut ledger, dups) = open(args, &bound)?;
    bound.read_from = ledger.layout.read_from(bound.rules);
    let rs = bound.rules;
    let mut kept = Vec::new();
    pipeline::fold(
        &mut ledger,
        &bound,
        &dups,
        Vec::new,
        |c: &mut Vec<Kept>, hh, a| {
            c.push(Kept { id: id_of(rs, hh), decisions: a.decisions.clone(), crits: a.crits.clone() });
            Ok(())
        },
        |c| {
            kept.extend(c);
            Ok(())
        },
    )?;
    Ok(kept)
}

fn id_of(rs: &RuleSet, hh: &Household) -> String {
    shown_field(rs, hh, "household_id", true).map(|s| s.into_owned()).unwrap_or_default()
}

type Compared = (Vec<Change>, u64);

/// Pass B: each household compared with its result under A.
fn compare_b(
    args: &CompareArgs,
    mut bound: Bound,
    a: &RuleSet,
    pairs: &Pairs,
    kept: &[Kept],
) -> anyhow::Result<Compared> {
    let (mut ledger, dups) = open(args, &bound)?;
    bound.read_from = ledger.layout.read_from(bound.rules);
    let bound = &bound;
    let mut seen = 0u64;
    let mut changes = Vec::new();
    pipeline::fold(
        &mut ledger,
        bound,
        &dups,
        Vec::new,
        |c: &mut Vec<(Household, Assessment)>, hh, x| {
            c.push((hh.clone(), x.clone()));
            Ok(())
        },
        |c| {
            for (hh, x) in c {
                let Some(k) = kept.get(seen as usize) else { bail!("第二次读取的户多于第一次") };
                seen += 1;
                if k.id != id_of(bound.rules, &hh) {
                    bail!("两次读取的户顺序不同（第 {} 行）：文件在运行中被改动？", hh.row);
                }
                changes.extend(changes_of(a, bound, pairs, k, &hh, &x, args.show_ids));
            }
            Ok(())
        },
    )?;
    Ok((changes, seen))
}

fn word(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "是",
        Some(false) => "否",
        None => "待核实",
    }
}

/// The changed decisions of one household.
fn changes_of(
    ra: &RuleSet,
    b: &Bound,
    pairs: &Pairs,
    k: &Kept,
    hh: &Household,
    x: &Assessment,
    show_ids: bool,
) -> Vec<Change> {
    let rb = b.rules;
    let differ: Vec<(usize, usize)> = (pairs.decisions.iter().copied())
        .filter(|&(i, j)| {
            ra.decisions[i].labels[k.decisions[i] as usize] != rb.decisions[j].labels[x.decisions[j] as usize]
        })
        .collect();
    if differ.is_empty() {
        return Vec::new();
    }
    let criteria: Vec<String> = (pairs.crits.iter())
        .filter(|&&(i, j)| k.crits[i] != x.crits[j])
        .map(|&(i, j)| format!("{}：{} → {}", rb.criteria[j].label, word(k.crits[i]), word(x.crits[j])))
        .collect();
    let text = |key: &str, ids: bool| shown_field(rb, hh, key, ids).map(|s| s.into_owned()).unwrap_or_default();
    differ
        .into_iter()
        .map(|(i, j)| {
            let mut reasons = String::new();
            engine::write_decision_reasons(&mut reasons, b, hh, x, j);
            Change {
                row: hh.row,
                id: text("household_id", true),
                place: [text("county", show_ids), text("township", show_ids), text("village", show_ids)],
                name: text("head_name", show_ids),
                head_id: text("head_id", show_ids),
                decision: rb.decisions[j].label.clone(),
                from: ra.decisions[i].labels[k.decisions[i] as usize].clone(),
                to: rb.decisions[j].labels[x.decisions[j] as usize].clone(),
                criteria: criteria.join("；"),
                reasons,
            }
        })
        .collect()
}

fn headers(a: &str, b: &str) -> Vec<String> {
    let mut h: Vec<String> = ["行号", "户编号", "县", "乡镇", "行政村", "户主姓名", "户主证件号码", "判定"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.extend([format!("按 {a}"), format!("按 {b}"), "结果不同的标准".into(), format!("按 {b} 的理由")]);
    h
}

/// Rows masked as everywhere (no formula reaches a CSV: `csv_safe`).
fn write_csv(
    to: Option<&std::path::Path>,
    args: &CompareArgs,
    headers: &[String],
    changes: &[Change],
) -> anyhow::Result<()> {
    let mut buf = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(headers)?;
        for c in changes {
            let cells = cells_owned(c);
            w.write_record(cells.iter().map(|s| csv_safe(s)).map(|s| mask(&s, args.show_ids)))?;
        }
        w.flush()?;
    }
    match to {
        Some(p) => {
            let mut f = AtomicFile::create(p, &[args.file.as_path()])?;
            f.writer().write_all(&buf).with_context(|| format!("无法写出 {}", p.display()))?;
            f.commit()
        }
        None => std::io::stdout().lock().write_all(&buf).context("无法写到标准输出"),
    }
}

fn cells_owned(c: &Change) -> Vec<String> {
    vec![
        c.row.to_string(),
        c.id.clone(),
        c.place[0].clone(),
        c.place[1].clone(),
        c.place[2].clone(),
        c.name.clone(),
        c.head_id.clone(),
        c.decision.clone(),
        c.from.clone(),
        c.to.clone(),
        c.criteria.clone(),
        c.reasons.clone(),
    ]
}

/// Free text with what looks like an ID or phone number masked, unless `--show-ids`.
fn mask(s: &str, show_ids: bool) -> String {
    if show_ids {
        s.to_string()
    } else {
        crate::privacy::mask_text(s).into_owned()
    }
}

/// Per village (county, township, village), in order of first appearance: households with a
/// changed decision and the changes (`返贫致贫风险 无→中 2`), joined by `sep`, a blank label
/// shown as `none`.
fn per_village(changes: &[Change], none: &str, sep: &str) -> Vec<(String, usize, String)> {
    // (place, households, (change, count)).
    type Village = (String, Vec<String>, Vec<(String, usize)>);
    let mut order: Vec<Village> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for c in changes {
        let place = c.place.join("");
        let k = *index.entry(place.clone()).or_insert_with(|| {
            order.push((place, Vec::new(), Vec::new()));
            order.len() - 1
        });
        let v = &mut order[k];
        if !v.1.contains(&c.id) {
            v.1.push(c.id.clone());
        }
        let shown = |l: &str| if l.is_empty() { none.to_string() } else { l.to_string() };
        let t = format!("{} {}→{}", c.decision, shown(&c.from), shown(&c.to));
        match v.2.iter_mut().find(|x| x.0 == t) {
            Some(x) => x.1 += 1,
            None => v.2.push((t, 1)),
        }
    }
    order
        .into_iter()
        .map(|(p, ids, t)| {
            let detail: Vec<String> = t.into_iter().map(|(t, n)| format!("{t} {n}")).collect();
            (p, ids.len(), detail.join(sep))
        })
        .collect()
}

fn write_xlsx(
    p: &std::path::Path,
    args: &CompareArgs,
    headers: &[String],
    changes: &[Change],
    params: &[String],
    provenance: &[(String, String)],
) -> anyhow::Result<()> {
    use crate::output::print::{print_layout, Footer, Widths};
    use rust_xlsxwriter::{Format, Workbook};
    // Every sheet prints as the others of tuopin (src/output/print.rs).
    let date = provenance.iter().find(|(k, _)| k == "评估日期").map(|(_, v)| v.clone()).unwrap_or_default();
    let footer = Footer { rules: args.rules.join(" 与 "), date };
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold().set_background_color("#DDEBF7");
        let ws = wb.add_worksheet();
        ws.set_name("判定变化")?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        let mut widths = Widths::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
        for (r, ch) in changes.iter().enumerate() {
            let cells: Vec<String> = cells_owned(ch).iter().map(|v| mask(v, args.show_ids)).collect();
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, v)?;
            }
            widths.sample(&cells);
        }
        print_layout(ws, 1, changes.len() as u32, &widths.get(), &footer)?;
        let ws = wb.add_worksheet();
        // A result: in the rule file's language, whatever --lang.
        let villages = per_village(changes, "（无）", "，");
        ws.set_name("各村汇总")?;
        for (c, h) in ["县乡村", "判定不同的户数", "变化"].iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, (place, n, detail)) in villages.iter().enumerate() {
            ws.write_string(r as u32 + 1, 0, mask(place, args.show_ids))?;
            ws.write_number(r as u32 + 1, 1, *n as f64)?;
            ws.write_string(r as u32 + 1, 2, detail)?;
        }
        let at = villages.len() as u32 + 2;
        ws.write_string(at, 0, "参数不同")?;
        ws.write_string(at, 2, if params.is_empty() { "无".to_string() } else { params.join("；") })?;
        print_layout(ws, 1, at - 2, &[30.0, 14.0, 60.0], &footer)?;
        let ws = wb.add_worksheet();
        ws.set_name("说明")?;
        for (r, (k, v)) in provenance.iter().enumerate() {
            ws.write_string(r as u32, 0, k)?;
            ws.write_string(r as u32, 1, v)?;
        }
        print_layout(ws, 0, 0, &[24.0, 80.0], &footer)?;
        wb.save_to_buffer()
    };
    let bytes = build().map_err(|e| anyhow::anyhow!("无法写出工作簿 {}：{e}", p.display()))?;
    let mut f = AtomicFile::create(p, &[args.file.as_path()])?;
    f.writer().write_all(&bytes).with_context(|| format!("无法写出 {}", p.display()))?;
    f.commit()
}

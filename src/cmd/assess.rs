//! `tuopin assess`: every household of a ledger, in input order, with reasons.
//!
//! Streams the ledger through `pipeline::fold`: each chunk of households is assessed and rendered
//! on a worker thread, then written in input order. Memory is the chunks in circulation plus the
//! duplicate-id index.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::AssessArgs;
use crate::error::Outcome;
use crate::input::{Duplicates, Layout, Ledger};
use crate::output::areas::Areas;
use crate::output::provenance::{self, Provenance};
use crate::output::xlsx;
use crate::output::{self, AtomicFile, Format, Record, Summary};
use crate::pipeline;
use crate::ruleset::{self, Bound, RuleSet};
use crate::value::Date;

/// Rows per printed table: a terminal shows results as they come, in readable pieces.
const TABLE_ROWS: usize = 200;

/// Output bytes reserved per chunk of households (256 households of about 450 bytes each in CSV).
const CHUNK_BYTES: usize = 1 << 17;

/// What one chunk of households produces: its CSV or JSON Lines bytes (CSV and JSON Lines), its
/// records (table and XLSX) and its counts.
struct Chunk {
    csv: String,
    jsonl: Vec<u8>,
    records: Vec<Record>,
    summary: Summary,
    /// Counts by area, when a workbook or `--summary` shows them.
    areas: Option<Areas>,
    /// Whether a CSV cell held a long number kept as text (`output::csv_safe`).
    kept_as_text: bool,
}

impl Chunk {
    /// An empty chunk, its CSV made in a buffer written before (`spare`).
    fn new(bound: &Bound, coverage: bool, areas: Option<Areas>, spare: &output::gather::Spare) -> Chunk {
        Chunk {
            csv: spare.take_string(CHUNK_BYTES),
            jsonl: Vec::new(),
            records: Vec::new(),
            summary: Summary::new(bound).with_coverage(bound.rules, coverage),
            areas,
            kept_as_text: false,
        }
    }
}

thread_local! {
    /// What a worker's CSV rows repeat (`output::RowMemo`), kept from one of its chunks to the
    /// next: each chunk's own would write most forms of the decisions' columns again (callgrind,
    /// 20k: one row in eight). It lives as long as the worker, one run; it forgets what it kept
    /// for other `CsvRows`.
    static ROW_MEMO: std::cell::RefCell<output::RowMemo> = std::cell::RefCell::default();
}

pub fn run(mut args: AssessArgs) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    if args.format.is_none() {
        if let Some(p) = &args.output {
            args.output = Some(workbook_if_no_extension(p));
        }
    }
    // The ledger's hashing (for the provenance record) starts before the rules are loaded:
    // loading them keeps one core busy for some 25 ms, and hashing a large ledger fills the other.
    let early = early_hash(&args);
    let rules = ruleset::load(&args.rules.rules)?;
    let as_of = super::as_of(&args.date)?;
    let rules = rules.worded(as_of);
    let mut bound = rules.at(as_of)?;
    let format = output_format(&args)?;
    let (head, columns) = csv_head(&args, &rules, format)?;
    // `-`: standard input, spooled to a temporary file that lives as long as the run.
    let input = crate::input::stdin::Input::open(&args.file)?;
    args.file = input.path().to_path_buf();
    let mut ledger = open_with_lists(&args, &rules)?;
    let mut hashes = start_hashes(&args, &rules, early)?;
    let dups = Duplicates::scan(&ledger)?;
    bound.read_from = ledger.layout.read_from(&rules);
    opening_notes(&args.file, &ledger.layout, &bound, as_of);

    let mut file = match &args.output {
        Some(p) => Some(AtomicFile::create(p, &[args.file.as_path()])?),
        None => None,
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    // Smaller than the pieces `assess_all` gathers (about a mebibyte of rows, output::gather):
    // they go to the file in one vectored write instead of being copied into this buffer; smaller
    // pieces (the header, a short last piece) are buffered here.
    let mut out: std::io::BufWriter<&mut dyn Write> = std::io::BufWriter::with_capacity(
        1 << 15,
        match &mut file {
            Some(f) => f.writer(),
            None => &mut lock,
        },
    );

    let to = output_name(&args);
    let wrote = |r: std::io::Result<()>| r.with_context(|| format!("无法写出结果（{to}）"));
    wrote(out.write_all(&head))?;

    let mut book = if format == Format::Xlsx { Some(xlsx::AssessBook::new(&to, &bound)?) } else { None };
    if let (Some(book), Some(_)) = (&mut book, &ledger.layout.matcher) {
        book.with_match_sheet()?;
    }
    let rows = output::CsvRows::with_columns(&bound, columns);
    let (summary, kept_as_text, areas) =
        assess_all(&mut ledger, &bound, &dups, &args, format, rows, &mut out, &mut book)?;
    wrote(out.flush())?;
    drop(out);
    drop(lock);
    if summary.households_assessed == 0 {
        // Nothing to report: no empty report is written (an existing output stays as it was).
        drop(file);
        let blank = match summary.blank_rows {
            0 => String::new(),
            n => format!("（另有 {n} 个空白行）"),
        };
        eprintln!(
            "注意：{} 表头之后没有数据行{blank}，没有可评估的农户{}。请检查是否选错了文件或工作表（--sheet）。",
            crate::value::shown_path(&args.file),
            if args.output.is_some() { "，未写出结果" } else { "" }
        );
        return Ok(Outcome::Problems);
    }
    let areas = areas.map(|a| area_table(&a, &bound));
    if let (Some(book), Some(f)) = (book, &mut file) {
        let prov = provenance(&args, &rules, as_of, format, ledger.layout.matcher.as_deref(), hashes.take())?;
        // A sheet of a million rows takes a while to zip.
        let saving = crate::pipeline::spinner(&crate::messages::tr(&format!("正在保存工作簿 {to}……")));
        finish_book(book, f, &prov, areas.as_ref(), &summary, &bound)?;
        saving.finish_and_clear();
    }
    if let Some(f) = file {
        f.commit().with_context(|| "输出未能完成")?;
        write_sidecar(&args, &rules, as_of, format, ledger.layout.matcher.as_deref(), hashes.take())?;
    }
    write_summary(&args, areas.as_ref(), &bound)?;
    super::note(&summary.text(&bound));
    super::departments_matched(&rules, ledger.layout.matcher.as_deref());
    closing_notes(kept_as_text, &to, &dups);
    write_coverage(&args, &summary, &rules)?;
    super::note_duration(started, summary.households_assessed);
    Ok(if summary.has_problems() { Outcome::Problems } else { Outcome::Clean })
}

/// The columns of a CSV (`--columns`, all by default) and the bytes before its rows: the BOM
/// (unless `--no-bom`) and the header. Nothing before the rows for the other formats.
fn csv_head(args: &AssessArgs, rules: &RuleSet, format: Format) -> anyhow::Result<(Vec<u8>, Vec<output::OutColumn>)> {
    let columns = match &args.columns {
        Some(spec) => output::choose_columns(spec, rules).map_err(anyhow::Error::msg)?,
        None => output::OutColumn::all(rules),
    };
    let mut head = Vec::new();
    if format == Format::Csv {
        if !args.no_bom {
            head.extend_from_slice("\u{feff}".as_bytes());
        }
        output::write_csv_header(&mut csv::Writer::from_writer(&mut head), rules, &columns)?;
    }
    Ok((head, columns))
}

/// The options that decide an output's bytes, as arguments `tuopin verify` re-runs with: the
/// rule set as given, the assessment date (never "today"), the format and how the input is read.
pub fn options(args: &AssessArgs, as_of: Date, format: Format) -> Vec<String> {
    use clap::ValueEnum;
    let format = format.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
    let mut o: Vec<String> = vec!["--rules".into(), args.rules.rules.clone(), "--date".into(), as_of.to_string()];
    o.extend(["--format".into(), format]);
    o.extend(super::input_options(&args.input));
    if let Some(c) = &args.columns {
        o.extend(["--columns".into(), c.clone()]);
    }
    let flags = [(args.show_ids, "--show-ids"), (args.no_bom, "--no-bom")];
    o.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_string()));
    // Each list by its file name only, as the inputs are recorded (`verify` maps it back).
    for w in &args.lists.with {
        let (name, path) = w.split_once('=').unwrap_or((w.as_str(), ""));
        let file =
            Path::new(path.trim()).file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
        o.extend(["--with".to_string(), format!("{}={file}", name.trim())]);
    }
    o
}

/// An output file gets a provenance record: its inputs' hashing started when they are opened (the
/// ledger's as the run starts, [`early_hash`]), to go on while the ledger is assessed. None for
/// standard output, a device or a FIFO.
fn start_hashes(
    args: &AssessArgs,
    rules: &RuleSet,
    early: Option<super::Hashes>,
) -> anyhow::Result<Option<super::Hashes>> {
    if !gets_provenance(args) {
        return Ok(None);
    }
    let inputs = inputs(args, rules)?;
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    Ok(Some(match early {
        // The ledger's hashing already started ([`early_hash`]): the lists' join it.
        Some(mut hashes) => {
            hashes.add(&inputs[1..]);
            hashes
        }
        None => super::Hashes::start(&inputs),
    }))
}

/// The ledger's hashing, started as the run starts ([`start_hashes`] adds the lists'), when the
/// output gets a provenance record and the ledger is a file (standard input is hashed once
/// spooled).
fn early_hash(args: &AssessArgs) -> Option<super::Hashes> {
    (gets_provenance(args) && !crate::input::stdin::is_stdin(&args.file))
        .then(|| super::Hashes::start_fed(&[args.file.as_path()]))
}

/// Whether the output is a file (a new one or a regular one), which gets a provenance record.
fn gets_provenance(args: &AssessArgs) -> bool {
    matches!(&args.output, Some(p) if !output::is_stdout(p) && (p.is_file() || !p.exists()))
}

/// The files the output of this run is made from: the ledger, then each list given with `--with`.
fn inputs(args: &AssessArgs, rules: &RuleSet) -> anyhow::Result<Vec<PathBuf>> {
    let mut inputs = vec![args.file.clone()];
    for w in &args.lists.with {
        let (_, path) = crate::input::departments::resolve(rules, w).map_err(|m| anyhow::anyhow!("{m}"))?;
        inputs.push(path);
    }
    Ok(inputs)
}

/// What the output of this run is made from (`output::provenance`): the input, and each list
/// given with `--with` by its file, hash and the rows read. The inputs' hashing was started when
/// they were opened (`hashes`; started here if not).
fn provenance(
    args: &AssessArgs,
    rules: &RuleSet,
    as_of: Date,
    format: Format,
    matcher: Option<&crate::matching::Matcher>,
    hashes: Option<super::Hashes>,
) -> anyhow::Result<Provenance> {
    let mut lists = Vec::new();
    for w in &args.lists.with {
        let (d, path) = crate::input::departments::resolve(rules, w).map_err(|m| anyhow::anyhow!("{m}"))?;
        let rows = matcher.and_then(|m| m.lists[d as usize].as_ref()).map_or(0, |l| l.stats.rows);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        lists.push(provenance::ListFile { label: rules.departments[d as usize].label.clone(), name, rows });
    }
    let hashes = match hashes {
        Some(h) => h,
        None => super::Hashes::start(&inputs(args, rules)?.iter().map(PathBuf::as_path).collect::<Vec<_>>()),
    };
    let mut p = super::provenance_hashed("assess", &[rules], as_of, hashes, options(args, as_of, format))?;
    p.lists = lists;
    Ok(p)
}

/// For a CSV or JSON Lines file: its provenance in `<output>.说明.json` beside it (a workbook
/// has its 说明 sheet). Standard output, a device or a FIFO gets none (their inputs are not
/// hashed: `hashes` is started only for an output file).
fn write_sidecar(
    args: &AssessArgs,
    rules: &RuleSet,
    as_of: Date,
    format: Format,
    matcher: Option<&crate::matching::Matcher>,
    hashes: Option<super::Hashes>,
) -> anyhow::Result<()> {
    match &args.output {
        Some(out) if format != Format::Xlsx && provenance::has_sidecar(out) => provenance::write_sidecar(
            out,
            &[args.file.as_path()],
            self::provenance(args, rules, as_of, format, matcher, hashes)?,
        ),
        _ => Ok(()),
    }
}

/// `--coverage`: the rule coverage of the batch on stderr (`--coverage` alone) or in a CSV file.
fn write_coverage(args: &AssessArgs, summary: &Summary, rules: &RuleSet) -> anyhow::Result<()> {
    let (Some(to), Some(cov)) = (&args.coverage, &summary.coverage) else { return Ok(()) };
    let rows = cov.rows(rules);
    if output::is_stdout(to) {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        t.set_width(120);
        t.set_header(output::coverage::HEADERS);
        for r in &rows {
            t.add_row(r);
        }
        eprintln!("规则覆盖（{} 户）：\n{t}", summary.households_assessed);
    } else {
        let mut buf = "\u{feff}".as_bytes().to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut buf);
            w.write_record(output::coverage::HEADERS)?;
            for r in &rows {
                w.write_record(r.iter().map(|c| output::csv_safe(c).into_owned()))?;
            }
            w.flush()?;
        }
        let mut f = AtomicFile::create(to, &[args.file.as_path()])?;
        f.writer().write_all(&buf).with_context(|| format!("无法写出 {}", to.display()))?;
        f.commit()?;
    }
    let flagged = cov.flagged(rules);
    if flagged > 0 {
        eprintln!("注意：规则覆盖中有 {flagged} 项标准或判定规则从未变化或从未得出（见“提示”列）：可能是列对应错了或规则失效。");
    }
    Ok(())
}

/// The workbook's last sheets — 说明 (its provenance), 汇总 and the summary by area — and saved.
fn finish_book(
    mut book: xlsx::AssessBook,
    f: &mut AtomicFile,
    prov: &Provenance,
    areas: Option<&output::areas::AreaTable>,
    summary: &Summary,
    bound: &Bound,
) -> anyhow::Result<()> {
    book.provenance(&prov.rows(), bound.as_of)?;
    if let Some(t) = areas {
        book.set_areas(t.clone());
    }
    book.finish(f, summary, bound)
}

/// `--summary FILE`: the summary by area on its own.
fn write_summary(args: &AssessArgs, areas: Option<&output::areas::AreaTable>, bound: &Bound) -> anyhow::Result<()> {
    match (&args.summary, areas) {
        (Some(p), Some(t)) => output::report::write_summary_file(p, &[args.file.as_path()], t, bound),
        _ => Ok(()),
    }
}

/// The summary by area, saying so when areas beyond the most counted one by one were counted together.
fn area_table(areas: &Areas, bound: &Bound) -> output::areas::AreaTable {
    if areas.overflow {
        eprintln!(
            "注意：地区（村）超过 {} 个，其余的计入“（其他地区）”一行；请检查乡镇、村列是否填错",
            crate::value::grouped(output::areas::MAX_AREAS as u64)
        );
    }
    areas.table(bound)
}

/// What was read and the rule set's messages, before the households.
fn opening_notes(file: &Path, layout: &Layout, bound: &Bound, as_of: Date) {
    let rules = bound.rules;
    super::note(&format!("{}\n", describe_ledger(file, layout, rules, as_of)));
    if let Some(n) = layout.alternatives_note(rules) {
        super::note(&n);
    }
    super::run_messages(bound.run_warnings());
    if let Some(w) = layout.absent_warning(rules) {
        super::note(&w);
    }
}

/// The department lists given (`--with`, read first), then the ledger, matched with them.
fn open_with_lists(args: &AssessArgs, rules: &RuleSet) -> anyhow::Result<Ledger> {
    let matcher = super::departments(rules, &args.lists, &args.input)?;
    let mut ledger = Ledger::open(&args.file, rules, &args.input.options())?;
    super::attach_departments(&mut ledger, &matcher, rules);
    Ok(ledger)
}

/// What the run's summary is followed by: long numbers kept as text in a CSV, repeated ids.
fn closing_notes(kept_as_text: bool, to: &str, dups: &Duplicates) {
    if kept_as_text {
        super::note(&format!("{}\n", output::csv_long_numbers_note(to)));
    }
    if dups.member_count() > 0 {
        eprintln!("有 {} 个成员证件号码重复出现（见各行的数据问题）。", dups.member_count());
    }
    if dups.count() > 0 {
        eprintln!("有 {} 个户编号重复出现（见各行的数据问题）。", dups.count());
    }
}

/// `-o 结果`, a name without an extension, is an Excel workbook `结果.xlsx` (README, "在 Excel 中打开
/// CSV"): a CSV would lose long numbers in some programs, and Windows opens an `.xlsx` with Excel
/// or WPS. Standard output (`-`) and an existing device, FIFO or directory keep their name.
fn workbook_if_no_extension(p: &std::path::Path) -> std::path::PathBuf {
    let special = output::is_stdout(p) || std::fs::metadata(p).is_ok_and(|m| !m.is_file());
    if p.extension().is_some() || special || p.file_name().is_none() {
        return p.to_path_buf();
    }
    let mut named = p.as_os_str().to_os_string();
    named.push(".xlsx");
    let named = std::path::PathBuf::from(named);
    eprintln!("输出文件名 {} 没有扩展名：写出 Excel 工作簿 {}", p.display(), named.display());
    named
}

/// `--format`, or what `-o` implies (by its extension), or a table on a terminal (not with
/// `--columns`, which chooses CSV columns), or CSV.
fn output_format(args: &AssessArgs) -> anyhow::Result<Format> {
    let format = match (args.format, &args.output) {
        (Some(f), _) => f,
        (None, Some(p)) => match p.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "json" | "ndjson") => Format::Jsonl,
            Some("xlsx") => Format::Xlsx,
            _ => Format::Csv,
        },
        (None, None) if std::io::stdout().is_terminal() && args.columns.is_none() => Format::Table,
        (None, None) => Format::Csv,
    };
    if let (Some(s), Some(o)) = (&args.summary, &args.output) {
        anyhow::ensure!(s != o, "--summary 与 -o 是同一个文件 {}：请给地区汇总另取一个文件名", s.display());
    }
    if args.columns.is_some() && format != Format::Csv {
        anyhow::bail!("--columns 只用于 CSV 输出：请加 --format csv 或 -o 结果.csv");
    }
    if format == Format::Xlsx && args.output.is_none() {
        anyhow::bail!("--format xlsx 需要 -o 文件.xlsx：工作簿不能写到终端或管道，请加 -o 结果.xlsx");
    }
    Ok(format)
}

/// Where results go, as messages name it.
fn output_name(args: &AssessArgs) -> String {
    match &args.output {
        Some(p) if !output::is_stdout(p) => p.display().to_string(),
        _ => "标准输出".to_string(),
    }
}

/// What was read: the file, its kind, header row and columns, the rule set and date.
fn describe_ledger(file: &Path, layout: &Layout, rules: &RuleSet, as_of: Date) -> String {
    format!(
        "{}：{}，第 {} 行为表头{}，{} 列中 {} 列对应规则字段{}；规则集 {}，评估日期 {}",
        crate::value::shown_path(file),
        layout.kind.describe(),
        layout.header_row,
        if layout.header_detected { "（其上的标题行已跳过）" } else { "" },
        layout.columns.len(),
        layout.mapped_columns(),
        if layout.unmapped.is_empty() {
            String::new()
        } else {
            // At most 20 named: a file can have thousands of columns.
            format!("（未使用：{}）", crate::input::column_list(&layout.unmapped))
        },
        rules.id,
        rules.dated(as_of)
    )
}

/// Assess every household of `ledger` and write its result to `out` (CSV rows of the columns
/// chosen, JSON Lines, tables of at most `TABLE_ROWS`) or `book`, in input order; the run's
/// summary.
#[allow(clippy::too_many_arguments)]
fn assess_all(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    args: &AssessArgs,
    format: Format,
    mut csv_rows: output::CsvRows<'_>,
    out: &mut impl Write,
    book: &mut Option<xlsx::AssessBook>,
) -> anyhow::Result<(Summary, bool, Option<Areas>)> {
    let (show_ids, to) = (args.show_ids, output_name(args));
    let want_areas = book.is_some() || args.summary.is_some();
    let mut areas = want_areas.then(|| Areas::new(bound, show_ids));
    let wrote = |r: std::io::Result<()>| r.with_context(|| format!("无法写出结果（{to}）"));
    let coverage = args.coverage.is_some();
    let mut summary = Summary::new(bound).with_coverage(bound.rules, coverage);
    let mut kept_as_text = false;
    csv_rows.matcher = ledger.layout.matcher.clone();
    let matcher = ledger.layout.matcher.clone();
    let evidence = |r: &mut Record, hh: &crate::household::Household| {
        if let Some(m) = &matcher {
            r.add_evidence(m, bound, hh, show_ids);
        }
    };
    let (mut table_rows, memoised) = (Vec::new(), csv_rows.memoised());
    // CSV and JSON Lines chunks reach `out` about a mebibyte at a time (see `Gather`).
    let spare = output::gather::Spare::default();
    let mut gathered = output::gather::Gather::new(&spare);
    let blank_rows = pipeline::fold(
        ledger,
        bound,
        dups,
        || Chunk::new(bound, coverage, want_areas.then(|| Areas::new(bound, show_ids)), &spare),
        |c, hh, a| {
            c.summary.add(bound, hh, a);
            if let Some(areas) = &mut c.areas {
                areas.add(bound, hh, a);
            }
            match format {
                // The memo only where it is read (its thread-local costs about 50 instructions
                // a row with `--columns 判定`, callgrind).
                Format::Csv if memoised => {
                    c.kept_as_text |=
                        ROW_MEMO.with_borrow_mut(|m| csv_rows.write_memo(m, &mut c.csv, bound, hh, a, show_ids))
                }
                Format::Csv => c.kept_as_text |= csv_rows.write(&mut c.csv, bound, hh, a, show_ids),
                Format::Jsonl => {
                    let mut r = Record::build(bound, hh, a, show_ids);
                    evidence(&mut r, hh);
                    output::write_jsonl(&mut c.jsonl, &r)?;
                }
                Format::Table | Format::Xlsx => {
                    let mut r = Record::build_with(bound, hh, a, show_ids, false);
                    evidence(&mut r, hh);
                    c.records.push(r);
                }
            }
            Ok(())
        },
        |c| {
            summary.merge(&c.summary);
            if let (Some(all), Some(part)) = (&mut areas, &c.areas) {
                all.merge(part);
            }
            kept_as_text |= c.kept_as_text;
            if let Some(book) = book {
                for r in &c.records {
                    book.add(r, bound)?;
                }
            } else if format == Format::Table {
                for r in c.records {
                    table_rows.push(r);
                    if table_rows.len() == TABLE_ROWS {
                        wrote(writeln!(out, "{}", output::table(bound.rules, &table_rows)))?;
                        table_rows.clear();
                    }
                }
            } else {
                wrote(gathered.push(out, c.csv.into_bytes()))?;
                wrote(gathered.push(out, c.jsonl))?;
            }
            Ok(())
        },
    );
    // What was gathered is written even when the run stopped at an error: the rows before it
    // reach standard output as they did when each chunk was written at once.
    let written = wrote(gathered.write_to(out));
    summary.blank_rows = blank_rows?;
    written?;
    if !table_rows.is_empty() {
        wrote(writeln!(out, "{}", output::table(bound.rules, &table_rows)))?;
    }
    Ok((summary, kept_as_text, areas))
}

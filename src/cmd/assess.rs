//! `tuopin assess`: every household of a ledger, in input order, with reasons.
//!
//! Streams the ledger through `pipeline::fold`: each chunk of households is assessed and rendered
//! on a worker thread, then written in input order. Memory is the chunks in circulation plus the
//! duplicate-id index.

use std::io::{IsTerminal, Write};

use anyhow::Context;

use crate::cli::AssessArgs;
use crate::error::Outcome;
use crate::input::{Duplicates, Ledger};
use crate::output::xlsx;
use crate::output::{self, AtomicFile, Format, Record, Summary};
use crate::{pipeline, ruleset};

/// Rows per printed table: a terminal shows results as they come, in readable pieces.
const TABLE_ROWS: usize = 200;

/// Output bytes reserved per chunk of households (256 households of about 450 bytes each in CSV).
const CHUNK_BYTES: usize = 1 << 17;

/// What one chunk of households produces: its CSV or JSON Lines bytes (CSV and JSON Lines), its
/// records (table and XLSX) and its counts.
struct Chunk {
    csv: Vec<u8>,
    jsonl: Vec<u8>,
    scratch: String,
    records: Vec<Record>,
    summary: Summary,
}

pub fn run(args: AssessArgs) -> anyhow::Result<Outcome> {
    let rules = ruleset::load(&args.rules.rules)?;
    let as_of = super::as_of(&args.date)?;
    let rules = rules.worded(as_of);
    let mut bound = rules.at(as_of)?;
    let format = match (args.format, &args.output) {
        (Some(f), _) => f,
        (None, Some(p)) => match p.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "json" | "ndjson") => Format::Jsonl,
            Some("xlsx") => Format::Xlsx,
            _ => Format::Csv,
        },
        (None, None) if std::io::stdout().is_terminal() => Format::Table,
        (None, None) => Format::Csv,
    };
    if format == Format::Xlsx && args.output.is_none() {
        anyhow::bail!("--format xlsx needs -o FILE.xlsx");
    }
    let mut ledger = Ledger::open(&args.file, &rules, &args.input.options())?;
    let dups = Duplicates::scan(&ledger)?;
    bound.read_from = ledger.layout.read_from(&rules);
    eprintln!(
        "{}：{}，第 {} 行为表头{}，{} 列中 {} 列对应规则字段{}；规则集 {}，评估日期 {}",
        args.file.display(),
        ledger.layout.kind.describe(),
        ledger.layout.header_row,
        if ledger.layout.header_detected { "（其上的标题行已跳过）" } else { "" },
        ledger.layout.columns.len(),
        ledger.layout.mapped_columns(),
        if ledger.layout.unmapped.is_empty() {
            String::new()
        } else {
            // At most 20 named: a file can have thousands of columns.
            format!("（未使用：{}）", crate::input::column_list(&ledger.layout.unmapped))
        },
        rules.id,
        rules.dated(as_of)
    );
    if let Some(n) = ledger.layout.alternatives_note(&rules) {
        eprint!("{n}");
    }
    for w in bound.run_warnings() {
        eprintln!("{w}");
    }
    if let Some(w) = ledger.layout.absent_warning(&rules) {
        eprint!("{w}");
    }

    let mut file = match &args.output {
        Some(p) => Some(AtomicFile::create(p, &[args.file.as_path()])?),
        None => None,
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let mut out: std::io::BufWriter<&mut dyn Write> = std::io::BufWriter::with_capacity(
        1 << 18,
        match &mut file {
            Some(f) => f.writer(),
            None => &mut lock,
        },
    );

    let mut head = Vec::new();
    if format == Format::Csv {
        if !args.no_bom {
            head.extend_from_slice("\u{feff}".as_bytes());
        }
        output::write_csv_header(&mut csv::Writer::from_writer(&mut head), &rules)?;
    }
    let to = match &args.output {
        Some(p) if !output::is_stdout(p) => p.display().to_string(),
        _ => "标准输出".to_string(),
    };
    let wrote = |r: std::io::Result<()>| r.with_context(|| format!("无法写出结果（{to}）"));
    wrote(out.write_all(&head))?;

    let mut summary = Summary::new(&bound);
    let csv_rows = output::CsvRows::new(&bound);
    let mut table_rows = Vec::new();
    let mut book = if format == Format::Xlsx { Some(xlsx::AssessBook::new(&to, &bound)?) } else { None };
    summary.blank_rows = pipeline::fold(
        &mut ledger,
        &bound,
        &dups,
        || Chunk {
            csv: Vec::with_capacity(CHUNK_BYTES),
            jsonl: Vec::new(),
            scratch: String::new(),
            records: Vec::new(),
            summary: Summary::new(&bound),
        },
        |c, hh, a| {
            c.summary.add(&bound, hh, a);
            match format {
                Format::Csv => csv_rows.write(&mut c.csv, &bound, hh, a, args.show_ids, &mut c.scratch),
                Format::Jsonl => {
                    let r = Record::build(&bound, hh, a, args.show_ids);
                    output::write_jsonl(&mut c.jsonl, &r)?;
                }
                Format::Table | Format::Xlsx => c.records.push(Record::build_with(&bound, hh, a, args.show_ids, false)),
            }
            Ok(())
        },
        |c| {
            summary.merge(&c.summary);
            if let Some(book) = &mut book {
                for r in &c.records {
                    book.add(r, &bound)?;
                }
            } else if format == Format::Table {
                for r in c.records {
                    table_rows.push(r);
                    if table_rows.len() == TABLE_ROWS {
                        wrote(writeln!(out, "{}", output::table(&rules, &table_rows)))?;
                        table_rows.clear();
                    }
                }
            } else {
                wrote(out.write_all(&c.csv))?;
                wrote(out.write_all(&c.jsonl))?;
            }
            Ok(())
        },
    )?;
    if !table_rows.is_empty() {
        wrote(writeln!(out, "{}", output::table(&rules, &table_rows)))?;
    }
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
            args.file.display(),
            if args.output.is_some() { "，未写出结果" } else { "" }
        );
        return Ok(Outcome::Problems);
    }
    if let (Some(book), Some(f)) = (book, &mut file) {
        book.finish(f, &summary, &bound)?;
    }
    if let Some(f) = file {
        f.commit().with_context(|| "输出未能完成")?;
    }
    eprint!("{}", summary.text(&bound));
    if dups.count() > 0 {
        eprintln!("有 {} 个户编号重复出现（见各行的数据问题）。", dups.count());
    }
    Ok(if summary.has_problems() { Outcome::Problems } else { Outcome::Clean })
}

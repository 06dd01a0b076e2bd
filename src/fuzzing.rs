//! Fuzz targets: one function per target, taking arbitrary bytes. The cargo-fuzz harness
//! (`fuzz/fuzz_targets/`) and the corpus replay in the ordinary test suite (`tests/fuzz_corpus.rs`)
//! call the same functions, so whatever the fuzzer found is replayed by `cargo test` on stable.
//!
//! None of them may panic on any input. Besides "no panic", each asserts invariants that the
//! README promises; an assertion that fails is a finding like a crash:
//!
//! - `cells`: every cell parser, and what a value parsed from a cell shows is read back as the
//!   same value (money, counts, months, decimals, ID numbers).
//! - `csv_ledger`, `xlsx_ledger`: a ledger opened with the national rules and streamed through
//!   `Layout::household` → `engine::assess` → `output::Record` (CSV cells, JSON Lines, table):
//!   rows read = households assessed, each decision's counts add up to it, every non-blank data row
//!   of the file (read again independently) is assessed exactly once and in input order, every
//!   problem names a row of its household, and no full ID number of an `id` field reaches the
//!   record unless it also stands in a column that is not an ID.
//! - `rules`: the rule-file loader on arbitrary TOML returns `Err`, never panics; a rule set that
//!   loads is usable: bound at the first date it covers, assessed and explained for households
//!   built from the embedded rule cases.
//! - `condition`: a CEL expression parsed, type-checked and compiled against the national rule
//!   set's names, then evaluated and explained for households of the embedded rule cases.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use calamine::{Data, ExcelDateTime, ExcelDateTimeType};

use crate::engine::{self, Assessment};
use crate::household::{Cell, Household, Scalar};
use crate::input::{source, text, Duplicates, Ledger, OpenOptions, RawRow};
use crate::output::{self, Record, Summary};
use crate::ruleset::expr::{self, Ctx, Ty};
use crate::ruleset::fast;
use crate::ruleset::file::FieldType;
use crate::ruleset::{self, Bound, RuleSet};
use crate::value::cell;
use crate::value::{fmt_month, Date, Num};

/// The assessment date of every target.
const AS_OF: Date = Date { year: 2024, month: 12, day: 31 };

fn national() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| ruleset::load("national").expect("the embedded national rules load"))
}

fn bound() -> &'static Bound<'static> {
    static BOUND: OnceLock<Bound<'static>> = OnceLock::new();
    BOUND.get_or_init(|| national().at(AS_OF).expect("the national rules cover 2024"))
}

/// Every cell parser on the input as one cell (bytes decoded as a ledger cell is).
pub fn cells(data: &[u8]) {
    let (s, _) = text(data);
    let s = s.as_ref();
    let _ = cell::normalize(s);
    let _ = cell::is_blank(s);
    if let Ok(m) = cell::money(s) {
        assert_eq!(m.round_fen(), m, "money has at most two decimals: {s:?}");
        assert_eq!(cell::money(&m.to_string()), Ok(m), "money shown as {m} reads back: {s:?}");
    }
    if let Ok(i) = cell::int(s) {
        assert_eq!(cell::int(&i.to_string()), Ok(i), "a count reads back: {s:?}");
    }
    let _ = cell::boolean(s);
    if let Ok(m) = cell::month(s) {
        let shown = fmt_month(m);
        assert_eq!(cell::month(&shown), Ok(m), "month {s:?} shown as {shown} reads back");
    }
    if let Ok(id) = cell::id_number(s) {
        assert!(cell::birth_date(&id).is_some(), "a valid ID number has a birth date: {s:?}");
        assert_eq!(cell::id_number(&id).as_ref(), Ok(&id), "a valid ID number stays valid");
        if id.len() == 18 {
            assert!(!output::mask_id(&id).contains(&id[6..14]), "the mask hides the birth date");
        }
    }
    let _ = cell::birth_date(s);
    // The free-text mask: masking twice changes nothing more; a valid 18-digit ID number in the
    // text never shows whole; the CSV defence leaves no formula start.
    let masked = crate::privacy::mask_text(s);
    assert_eq!(crate::privacy::mask_text(&masked), masked, "masking {s:?} twice");
    if let Ok(id) = cell::id_number(s) {
        if id.len() == 18 {
            assert!(!masked.contains(&id[6..14]), "the free-text mask hides the birth date: {s:?}");
        }
    }
    let safe = output::csv_safe(s);
    if safe != s {
        let kept_as_text = output::long_digits(s) && safe.strip_suffix('\t') == Some(s);
        assert!(
            safe.starts_with('\'') || kept_as_text,
            "neutralised with a quote, or a long number kept as text: {s:?}"
        );
    }
    let rules = national();
    for f in &rules.fields {
        let _ = ruleset::parse_scalar(f, &rules.enums, s);
    }
    if let Some(n) = Num::parse_decimal(s) {
        assert_eq!(Num::parse_decimal(&n.to_string()), Some(n), "decimal {s:?} shown as {n} reads back");
    }
    let _ = Date::parse(s);
    // A worksheet number or date cell, as calamine hands it over.
    if let Some(b) = data.get(..8) {
        let f = f64::from_le_bytes(b.try_into().expect("8 bytes"));
        let _ = source::cell_text(&Data::Float(f));
        for kind in [ExcelDateTimeType::DateTime, ExcelDateTimeType::TimeDelta] {
            let _ = source::cell_text(&Data::DateTime(ExcelDateTime::new(f, kind, false)));
        }
        let _ = source::cell_text(&Data::Int(i64::from_le_bytes(b.try_into().expect("8 bytes"))));
    }
    let _ = source::cell_text(&Data::DateTimeIso(s.to_string()));
}

/// The bytes as a CSV ledger.
pub fn csv_ledger(data: &[u8]) {
    with_file(".csv", data, ledger);
}

/// The bytes as a workbook: `.xls` for a compound file, `.ods`/`.xlsb` when the zip says so,
/// otherwise `.xlsx` (the reader is picked by the extension, as for a user's file).
pub fn xlsx_ledger(data: &[u8]) {
    contain_calamine_panics();
    let has = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
    let ext = if data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        ".xls"
    } else if has(b"application/vnd.oasis.opendocument") {
        ".ods"
    } else if has(b"xl/workbook.bin") {
        ".xlsb"
    } else {
        ".xlsx"
    };
    with_file(ext, data, ledger);
}

/// calamine 0.38 panics on some damaged workbooks; `input::source` catches that and reports the
/// file as unreadable. libFuzzer's panic hook aborts before any unwinding, so it would report the
/// contained panic as a crash: panics raised inside calamine are let through to that catch, every
/// other panic still aborts.
fn contain_calamine_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_calamine = info.location().is_some_and(|l| l.file().contains("/calamine-"));
            if !in_calamine {
                fuzzer_hook(info);
            }
        }));
    });
}

fn with_file(suffix: &str, data: &[u8], f: fn(&Path)) {
    let mut file = tempfile::Builder::new().prefix("tuopin-fuzz-").suffix(suffix).tempfile().expect("a temp file");
    file.write_all(data).expect("temp file written");
    file.flush().expect("temp file written");
    f(file.path());
}

/// The record of a household written as JSON Lines and CSV; what both show, for the check that
/// IDs are masked.
fn outputs_agree(b: &Bound, hh: &Household, a: &engine::Assessment, r: &Record, row: u64) -> String {
    let mut json = Vec::new();
    output::write_jsonl(&mut json, r).expect("JSON Lines");
    let cells = output::csv_cells(r);
    // The CSV hot path writes the same cells as the record (through `csv_safe`), byte for byte as
    // the csv crate writes them.
    let mut fast = String::new();
    output::CsvRows::new(b).write(&mut fast, b, hh, a, false);
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    w.write_record(cells.iter().map(|c| output::csv_safe(c).into_owned())).expect("CSV row");
    let slow = w.into_inner().expect("CSV bytes");
    assert_eq!(fast, String::from_utf8_lossy(&slow), "row {}: CSV row as the record shows it", row);
    format!("{}\n{}", cells.join("\n"), String::from_utf8_lossy(&json))
}

/// The data rows and the blank rows after the header, read bare (no layout, no households).
fn rows_bare(path: &Path, header_row: u64, options: &OpenOptions) -> (Vec<u64>, Vec<u64>) {
    let (mut again, _) = source::open(path, options).expect("the file opens again");
    let (mut data_rows, mut blank_rows) = (Vec::new(), Vec::new());
    while let Some(r) = again.next_row(path) {
        let r = r.expect("the file reads again");
        if r.row <= header_row {
            continue;
        }
        if r.record.iter().all(|c| cell::is_blank(&text(c).0)) {
            blank_rows.push(r.row);
        } else {
            data_rows.push(r.row);
        }
    }
    (data_rows, blank_rows)
}

/// Open, stream and check a ledger file (see the module docs for what is checked).
fn ledger(path: &Path) {
    let rules = national();
    let b = bound();
    let options = OpenOptions::default();
    let Ok(mut ledger) = Ledger::open(path, rules, &options) else { return };
    let dups = Duplicates::scan(&ledger).expect("the id scan reads the file that opened");
    let mut summary = Summary::new(b);
    let mut handed_out: Vec<u64> = Vec::new();
    let mut last_row = None;
    let mut records = Vec::new();
    loop {
        let Ok(batch) = ledger.next_batch(256) else { return };
        if batch.is_empty() {
            break;
        }
        for raw in &batch {
            // A blank row is no household (skipped and counted by the pipeline).
            if raw.is_blank() {
                summary.blank_rows += 1;
                continue;
            }
            let rows: Vec<u64> =
                if raw.members.is_empty() { vec![raw.row] } else { raw.members.iter().map(|m| m.row).collect() };
            assert!(last_row < Some(raw.row), "households in input order: row {} after {last_row:?}", raw.row);
            last_row = Some(raw.row);
            let hh = ledger.layout.household(b, raw, &dups);
            assert_eq!(hh.source_rows, rows.len() as u64, "row {}: source rows", raw.row);
            for p in &hh.problems {
                assert!(rows.contains(&p.row), "row {}: a problem names row {} ({})", raw.row, p.row, p.message);
            }
            let a = engine::assess(b, &hh);
            let r = Record::build(b, &hh, &a, false);
            let shown = outputs_agree(b, &hh, &a, &r, raw.row);
            ids_are_masked(rules, &ledger.layout, raw, &hh, &shown);
            summary.add(b, &hh, &a);
            handed_out.extend(rows);
            if records.len() < 16 {
                records.push(r);
            }
        }
    }
    let _ = output::table(b.rules, &records);
    assert_eq!(summary.rows_read, handed_out.len() as u64, "rows read = rows handed out");
    for (decision, labels) in &summary.counts {
        let total: u64 = labels.iter().map(|(_, n)| n).sum();
        assert_eq!(total, summary.households_assessed, "{decision}: counts add up to the households assessed");
    }
    // Read the file again, bare: every non-blank row after the header is assessed exactly once,
    // and nothing else is (a blank row is skipped).
    let (data_rows, blank_rows) = rows_bare(path, ledger.layout.header_row, &options);
    handed_out.sort_unstable();
    assert!(handed_out.windows(2).all(|w| w[0] < w[1]), "a row was assessed twice: {handed_out:?}");
    for r in &data_rows {
        assert!(handed_out.binary_search(r).is_ok(), "row {r} was read but not assessed");
    }
    for r in &handed_out {
        assert!(
            data_rows.contains(r),
            "row {r} was assessed but is not a data row (blank: {})",
            blank_rows.contains(r)
        );
    }
}

/// With IDs masked, no full ID number read into an `id` field (valid or not: 15 or 18 digits, the
/// last of 18 may be X) shows, unless the same text stands in a header or in a column that is not
/// an ID column. (`output::mask_id` masks shorter values less: one of 10 characters not at all.)
fn ids_are_masked(rules: &RuleSet, layout: &crate::input::Layout, raw: &RawRow, hh: &Household, shown: &str) {
    let rows: Vec<&RawRow> = if raw.members.is_empty() { vec![raw] } else { raw.members.iter().collect() };
    for (i, f) in rules.fields.iter().enumerate() {
        if f.ty != FieldType::Id {
            continue;
        }
        let id = match &hh.cells[i] {
            Cell::Value(Scalar::Text(t)) | Cell::Invalid(t) => t.as_ref(),
            _ => continue,
        };
        let digits = if id.len() == 18 { id.strip_suffix(['X', 'x']).unwrap_or(id) } else { id };
        let full = matches!(id.len(), 15 | 18) && digits.bytes().all(|c| c.is_ascii_digit());
        if !full || !shown.contains(id) {
            continue;
        }
        let elsewhere = layout.columns.iter().any(|h| h.contains(id))
            || rows.iter().any(|r| {
                r.record.iter().enumerate().any(|(c, bytes)| {
                    let is_id = match layout.column_field.get(c).copied().flatten() {
                        Some(g) => rules.fields[g as usize].ty == FieldType::Id,
                        // Person columns (证件号码 among them) are not mapped to fields.
                        None => layout.persons.as_ref().is_some_and(|p| p.is_person_column(c)),
                    };
                    !is_id && text(bytes).0.contains(id)
                })
            });
        assert!(elsewhere, "row {}: the ID number {id:?} of `{}` shows unmasked", raw.row, f.key);
    }
}

/// Households built from the embedded national rule cases (every 8th), for `rules` and
/// `condition`: cell texts by header, as a ledger row would give them.
fn case_households() -> &'static [std::collections::BTreeMap<String, toml::Value>] {
    static CASES: OnceLock<Vec<std::collections::BTreeMap<String, toml::Value>>> = OnceLock::new();
    CASES.get_or_init(|| {
        let (_, text) = ruleset::EMBEDDED_CASES[0];
        let file = crate::cases::CaseFile::parse(text).expect("the embedded cases parse");
        file.cases.into_iter().step_by(8).map(|c| c.household).collect()
    })
}

/// A household of `rs` from case cells; cells naming fields `rs` does not have are left out.
fn household(rs: &RuleSet, cells: &std::collections::BTreeMap<String, toml::Value>, as_of: Date) -> Household {
    let mut hh = Household {
        row: 2,
        source_rows: 1,
        cells: vec![Cell::Blank; rs.fields.len()],
        problems: Vec::new(),
        members: None,
        matches: Vec::new(),
        records: Default::default(),
        kept: Default::default(),
    };
    for (k, v) in cells {
        let Ok(f) = crate::cases::field_key(rs, k) else { continue };
        let t = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Boolean(b) => (if *b { "是" } else { "否" }).to_string(),
            other => other.to_string(),
        };
        rs.set_cell(&mut hh, f, &t, k);
    }
    let columns: Vec<Option<String>> = rs.fields.iter().map(|f| Some(f.header.clone())).collect();
    rs.finish(&mut hh, &columns, as_of);
    hh
}

/// The bytes as the text of a rule file.
pub fn rules(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let Ok(rs) = ruleset::load_str(src, "fuzz.toml") else { return };
    let _ = rs.needed_fields();
    let from = rs.covered_from();
    let b = rs.at(from).expect("a rule set covers the first date on which every parameter has a value");
    let later = Date::last_of_year(from.year.saturating_add(1));
    let b2 = rs.at(later).expect("and the dates after it");
    let blank = Household {
        row: 2,
        source_rows: 1,
        cells: vec![Cell::Blank; rs.fields.len()],
        problems: Vec::new(),
        members: None,
        matches: Vec::new(),
        records: Default::default(),
        kept: Default::default(),
    };
    for hh in std::iter::once(blank).chain(case_households().iter().take(4).map(|c| household(&rs, c, from))) {
        for b in [&b, &b2] {
            let a = engine::assess(b, &hh);
            check_assessment(b, &a);
            let r = Record::build(b, &hh, &a, false);
            let _ = output::csv_cells(&r);
            for c in 0..rs.criteria.len() {
                let _ = engine::explain_criterion(b, &hh, &a, c as u16);
            }
        }
    }
}

fn check_assessment(b: &Bound, a: &Assessment) {
    for (d, v) in b.rules.decisions.iter().zip(&a.decisions) {
        assert!((*v as usize) < d.labels.len(), "decision {} has a label", d.id);
    }
}

/// The bytes as a condition over the national rule set's names.
pub fn condition(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let rules = national();
    let b = bound();
    let d = engine::describer(b);
    static ASSESSED: OnceLock<Vec<(Household, Assessment)>> = OnceLock::new();
    let assessed = ASSESSED.get_or_init(|| {
        case_households()
            .iter()
            .map(|c| {
                let hh = household(rules, c, b.as_of);
                let a = engine::assess(b, &hh);
                (hh, a)
            })
            .collect()
    });
    for want in [Ty::Bool, Ty::Money, Ty::Int] {
        let Ok(node) = rules.compile_expr(src, want) else { continue };
        let _ = expr::refs(&node);
        for (hh, a) in assessed {
            let cx = Ctx {
                cells: &hh.cells,
                params: &b.params,
                crits: &a.crits,
                decisions: &a.decisions,
                as_of_month: AS_OF.month_index(),
                as_of_day: expr::day_key(AS_OF),
                members: hh.members.as_ref(),
                member: &[],
                member_index: 0,
                records: &hh.records,
                record: &[],
            };
            let v = expr::eval(&node, &cx);
            if want == Ty::Bool {
                let result = v.and_then(expr::V::as_bool);
                // The engine's compiled form gives what the tree gives.
                assert_eq!(fast::Cond::new(&node).eval(&cx), result, "compiled and tree differ: {src:?}");
                assert_eq!(result.is_some(), v.is_some(), "a bool condition gives a bool or unknown: {src:?}");
                for (atom, av) in expr::explaining_atoms(&node, result, &cx).iter().copied() {
                    let _ = expr::render_atom(atom, av, &cx, &d);
                }
            } else {
                let _ = expr::render_operand(&node, &cx, &d);
            }
            let _ = expr::formula(&node, &d);
        }
    }
}

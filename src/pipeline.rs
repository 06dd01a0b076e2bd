//! The streaming pipeline shared by the commands that assess a ledger.
//!
//! One thread reads. From a CSV ledger it hands out blocks of text cut at record boundaries
//! (`input::source::Blocks`: at a line break when the block has no `"`, else where csv-core says
//! the last whole record ends), and the worker that takes a block parses it itself, so the CSV
//! parse runs on every core and each row is parsed where it is assessed (in that core's cache).
//! Other ledgers (worksheets, person exports) and the rows read with the header are handed out as
//! chunks of up to [`CHUNK`] parsed rows. Worker threads (as many as rayon would use:
//! `RAYON_NUM_THREADS`, else one per core) each take the next chunk, parse, assess and render it,
//! folding its households into one accumulator (for `assess`, the chunk's output bytes and
//! counts). The accumulators reach the sink, on the calling thread, in input order, whatever
//! order the workers finish in, so what a command writes does not depend on the number of
//! threads. There is no barrier between chunks: a worker that finishes one takes the next at
//! once, so both cores stay busy. Memory is [`SLOTS`] chunks or more, whose buffers are recycled, plus
//! one household and one assessment per worker. A blank row (no cell with anything but spaces:
//! only delimiters, or formula cells that evaluate to "") is no household: it is skipped, and
//! counted in what [`fold`] returns.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};

use crate::engine::specialise::{self, Specialised};
use crate::engine::Assessment;
use crate::household::Household;
use crate::input::source::BlockReader;
use crate::input::{BlockParser, Duplicates, Ledger, RawRow, RowReader, Work};
use crate::ruleset::Bound;

/// Rows per chunk of parsed rows (a block of CSV text is 32 KiB, about 200 households).
const CHUNK: usize = 256;

/// Chunks of rows in circulation (being read, waiting, being assessed, or assessed and waiting
/// for an earlier chunk to be written), at least: this bounds memory (a chunk's rows and output
/// are some 0.2 MiB). With more workers, 4 a worker: 16 for 1–4 workers (32 until 2026-12-04).
const SLOTS: usize = 16;

/// The chunks in circulation for `workers` worker threads.
fn slots(workers: usize) -> usize {
    SLOTS.max(4 * workers)
}

/// One unit of parallel work, its buffers recycled: rows, or a block of CSV text (starting on
/// `line`) that the worker parses into `rows` itself.
#[derive(Default)]
struct Chunk {
    rows: Vec<RawRow>,
    block: Vec<u8>,
    line: Option<u64>,
    /// Rows read (of the block, or `rows`).
    read: u64,
    /// Blank rows skipped.
    blank: u64,
}

/// `--quiet`: no progress, summary or notes on stderr; warnings and errors are still said.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the run is `--quiet`.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Set once per run, from `--quiet`.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// A spinner with the count and rate of households, on stderr when it is a terminal (never when
/// stderr is piped, redirected or captured by a test, nor with `--quiet`).
pub fn progress(what: &str) -> indicatif::ProgressBar {
    progress_of(what, "户")
}

/// As [`progress`], counting `unit` (`行`: the rows of a department list being read).
pub fn progress_of(what: &str, unit: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || quiet() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        // Each unit's text is a message of its own (the English catalogue's keys).
        indicatif::ProgressStyle::with_template(&crate::messages::tr(if unit == "行" {
            "{spinner} {msg}已读 {human_pos} 行（用时 {elapsed_precise}，{rate}）"
        } else {
            "{spinner} {msg}已读 {human_pos} 户（用时 {elapsed_precise}，{rate}）"
        }))
        .map(|s| {
            let per_row = unit == "行";
            s.with_key("rate", move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let rate = crate::value::grouped(state.per_sec() as u64);
                let key = if per_row { "每秒 {} 行" } else { "每秒 {} 户" };
                let _ = w.write_str(&crate::messages::fill_key(key, &[&rate]));
            })
        })
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// A spinner with a message and the time so far, for a step that has nothing to count (saving a
/// workbook: zipping the rows kept in temporary files); hidden as [`progress`] is.
pub fn spinner(what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || quiet() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(&crate::messages::tr("{spinner} {msg}（用时 {elapsed_precise}）"))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Assess every row of `ledger`. Each chunk of consecutive households gets an accumulator from
/// `init` and `each` folds its households into it (in parallel across chunks); `sink` receives
/// the accumulators in input order. Returns how many blank rows were skipped.
pub fn fold<A: Send>(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    init: impl Fn() -> A + Sync,
    each: impl Fn(&mut A, &Household, &Assessment) -> anyhow::Result<()> + Sync,
    mut sink: impl FnMut(A) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let bar = progress(&format!("{}：", crate::value::shown_path(&ledger.layout.path)));
    let layout = &ledger.layout;
    let reader = &mut ledger.reader;
    let parser = &reader.block_parser();
    let workers = rayon::current_num_threads().clamp(1, 16);
    let slots = slots(workers);
    // What is the same for every household of the file, worked out once.
    let ledger = layout.persons.is_none();
    let plan = &Specialised::needing(bound, &layout.fixed_cells(bound.rules), ledger, layout.needs.as_ref());
    // Chunks to assess, in order; shared by the workers (dropped with the last of them, so that
    // the reading thread never waits on a channel nobody reads).
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Chunk)>(slots);
    let work_rx = Arc::new(Mutex::new(work_rx));
    // Results, by chunk number; and the buffers coming back from the sink to be refilled.
    let (done_tx, done_rx) = mpsc::channel::<(u64, anyhow::Result<A>, Chunk)>();
    let (free_tx, free_rx) = mpsc::channel::<Chunk>();
    for _ in 0..slots {
        free_tx.send(Chunk::default()).expect("the receiver is here");
    }
    let (init, each) = (&init, &each);
    std::thread::scope(|scope| {
        // Reading: one thread, at most `slots` chunks ahead of the sink.
        let errors = done_tx.clone();
        scope.spawn(move || read_chunks(reader, free_rx, work_tx, errors));
        for _ in 0..workers {
            let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
            scope.spawn(move || {
                let mut hh = Household::default();
                let mut a = Assessment::default();
                let mut block_reader = parser.reader();
                // The one row a block's records are read into in turn.
                let mut row = Vec::new();
                loop {
                    let job = work_rx.lock().expect("no worker panicked holding the queue").recv();
                    // The reading thread is done (or stopped).
                    let Ok((seq, mut chunk)) = job else { return };
                    let mut acc = init();
                    chunk.blank = 0;
                    let mut one = |raw: &RawRow, blank: &mut u64, acc: &mut A| {
                        if raw.is_blank() {
                            *blank += 1;
                            return Ok(());
                        }
                        layout.household_into(bound, raw, dups, &mut hh);
                        specialise::assess_into(plan, bound, &hh, &mut a);
                        each(acc, &hh, &a)
                    };
                    let result =
                        each_row(parser, &mut block_reader, &mut row, &mut chunk, &mut acc, &mut one).map(|()| acc);
                    // The sink is gone only when it stopped on an error.
                    if done_tx.send((seq, result, chunk)).is_err() {
                        return;
                    }
                }
            });
        }
        drop((work_rx, done_tx));
        // Writing, in input order: a chunk that finishes early waits here for the ones before it.
        let (done_rx, free_tx) = (done_rx, free_tx);
        let (mut next, mut blank) = (0u64, 0u64);
        let mut early: BTreeMap<u64, (anyhow::Result<A>, Chunk)> = BTreeMap::new();
        for (seq, result, chunk) in done_rx.iter() {
            early.insert(seq, (result, chunk));
            while let Some((result, chunk)) = early.remove(&next) {
                let acc = result?;
                bar.inc(chunk.read);
                blank += chunk.blank;
                // The reading thread may have ended: then nobody needs the buffer.
                let _ = free_tx.send(chunk);
                sink(acc)?;
                next += 1;
            }
        }
        // (Only a thread that panicked could leave a chunk unwritten; the scope then panics too.)
        anyhow::ensure!(early.is_empty(), "内部错误：有 {} 批结果未能按顺序写出", early.len());
        bar.finish_and_clear();
        Ok(blank)
    })
}

/// Every row of `chunk` through `one` (with the chunk's count of blank rows, and `acc`); how many
/// rows were read in `chunk.read`. A block's records are each assessed as they are read (into
/// `row`, reused); a block that cannot be read whole fails as before (what its rows added to `acc`
/// is dropped with it).
fn each_row<A>(
    parser: &BlockParser,
    reader: &mut BlockReader,
    row: &mut Vec<RawRow>,
    chunk: &mut Chunk,
    acc: &mut A,
    one: &mut dyn FnMut(&RawRow, &mut u64, &mut A) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match chunk.line {
        Some(line) => {
            let (mut done, blank) = (Ok(()), &mut chunk.blank);
            let read = parser.parse_each(reader, &chunk.block, line, row, &mut |raw| {
                if done.is_ok() {
                    done = one(raw, blank, acc);
                }
            });
            chunk.read = read? as u64;
            done
        }
        None => {
            chunk.read = chunk.rows.len() as u64;
            chunk.rows.iter().try_for_each(|raw| one(raw, &mut chunk.blank, acc))
        }
    }
}

/// The reading thread: fills the free buffers with chunks of rows (or a block of text to parse)
/// and numbers them, until the end of the file, an error (sent as a result), or the sink stops.
fn read_chunks<A>(
    reader: &mut RowReader,
    free_rx: mpsc::Receiver<Chunk>,
    work_tx: mpsc::SyncSender<(u64, Chunk)>,
    errors: mpsc::Sender<(u64, anyhow::Result<A>, Chunk)>,
) {
    let mut seq = 0u64;
    // No free buffer: the sink stopped (on an error).
    while let Ok(mut chunk) = free_rx.recv() {
        match reader.next_work(&mut chunk.rows, &mut chunk.block, CHUNK) {
            Err(e) => {
                let _ = errors.send((seq, Err(e.into()), chunk));
                return;
            }
            Ok(Work::End) => return,
            Ok(work) => {
                chunk.line = match work {
                    Work::Block(line) => Some(line),
                    _ => None,
                };
                if work_tx.send((seq, chunk)).is_err() {
                    return;
                }
                seq += 1;
            }
        }
    }
}

/// Assess every row of `ledger`; `map` runs in parallel, `sink` sees the results in input order.
/// Returns how many blank rows were skipped.
pub fn stream<T: Send>(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    map: impl Fn(&Household, &Assessment) -> anyhow::Result<T> + Sync,
    mut sink: impl FnMut(T) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    fold(
        ledger,
        bound,
        dups,
        Vec::new,
        |v, hh, a| {
            v.push(map(hh, a)?);
            Ok(())
        },
        |v| v.into_iter().try_for_each(&mut sink),
    )
}

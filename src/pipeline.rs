//! The streaming pipeline shared by the commands that assess a ledger.
//!
//! The work is cut into chunks. From a CSV ledger a chunk is a block of text cut at record
//! boundaries (`input::source::Blocks`: at a line break when the block has no `"`, else where
//! csv-core says the last whole record ends), and the thread that takes a block parses it itself, so
//! the CSV parse runs on every core and each row is parsed where it is assessed (in that core's
//! cache). Other ledgers (worksheets, person exports) and the rows read with the header are handed
//! out as chunks of up to [`CHUNK`] parsed rows. As many threads as rayon would use
//! (`RAYON_NUM_THREADS`, else one per core; the calling thread is one of them) each read the next
//! chunk (under a lock, in a few microseconds), parse, assess and render it, folding its households
//! into one accumulator (for `assess`, the chunk's output bytes and counts). The accumulators reach
//! the sink on the calling thread, in input order, whatever order the threads finish in, so what a
//! command writes does not depend on the number of threads: the calling thread writes the chunks
//! that are ready between the ones it assesses. There is no barrier between chunks and no thread
//! that only reads or only writes: a thread that finishes a chunk takes the next at once, so the
//! cores stay busy and no chunk costs a thread switch. Memory is [`SLOTS`] chunks or more, whose
//! buffers are recycled, plus one household and one assessment per thread. A blank row (no cell
//! with anything but spaces: only delimiters, or formula cells that evaluate to "") is no
//! household: it is skipped, and counted in what [`fold`] returns.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use crate::engine::specialise::{self, Specialised};
use crate::engine::Assessment;
use crate::household::Household;
use crate::input::source::BlockReader;
use crate::input::{BlockParser, Duplicates, Ledger, RawRow, RowReader, Work};
use crate::ruleset::Bound;

/// Rows per chunk of parsed rows (a block of CSV text is 32 KiB, about 200 households).
const CHUNK: usize = 256;

/// Chunks of rows in circulation (free, being assessed, or assessed and waiting for an earlier
/// chunk to be written), at least: this bounds memory (a chunk's rows and output
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
    sink: impl FnMut(A) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    fold_on(rayon::current_num_threads().clamp(1, 16), ledger, bound, dups, init, each, sink)
}

/// [`fold`] on `workers` threads (the calling thread one of them).
fn fold_on<A: Send>(
    workers: usize,
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
    // What is the same for every household of the file, worked out once.
    let persons = layout.persons.is_some();
    let plan = &Specialised::needing(bound, &layout.fixed_cells(bound.rules), !persons, layout.needs.as_ref());
    let shared = Shared {
        state: Mutex::new(State {
            reader: Some(reader),
            read: 0,
            free: (0..slots(workers)).map(|_| Chunk::default()).collect(),
            done: BTreeMap::new(),
            stop: false,
            broken: false,
            waiting: 0,
        }),
        changed: Condvar::new(),
    };
    let assess = |chunk: &mut Chunk, w: &mut Worker| -> anyhow::Result<A> {
        let mut acc = init();
        chunk.blank = 0;
        let (hh, a) = (&mut w.hh, &mut w.a);
        let mut one = |raw: &RawRow, blank: &mut u64, acc: &mut A| {
            if raw.is_blank() {
                *blank += 1;
                return Ok(());
            }
            layout.household_into(bound, raw, dups, hh);
            specialise::assess_into(plan, bound, hh, a);
            each(acc, hh, a)
        };
        each_row(parser, &mut w.block_reader, &mut w.row, chunk, &mut acc, &mut one).map(|()| acc)
    };
    let (shared, assess) = (&shared, &assess);
    std::thread::scope(|scope| {
        // Whatever way this thread leaves (done, an error, a panic), the workers stop.
        let _stop = StopOnDrop(shared);
        for _ in 1..workers {
            scope.spawn(move || shared.work(Worker::new(parser), assess));
        }
        // This thread writes, in input order (a chunk that finishes early waits for the ones before
        // it), and assesses chunks itself when none is ready to be written.
        let mut w = Worker::new(parser);
        let (mut next, mut blank) = (0u64, 0u64);
        let mut s = shared.lock();
        loop {
            while let Some((result, chunk)) = s.done.remove(&next) {
                drop(s);
                let acc = result?;
                bar.inc(chunk.read);
                blank += chunk.blank;
                sink(acc)?;
                next += 1;
                s = shared.lock();
                s.free.push(chunk);
                shared.wake(&s);
            }
            if s.reader.is_none() && next == s.read {
                break;
            }
            // (Only a worker that panicked leaves its chunk unwritten; the scope then panics too.)
            anyhow::ensure!(!s.broken, "内部错误：有 {} 批结果未能按顺序写出", s.read - next);
            if s.reader.is_some() {
                if let Some(chunk) = s.free.pop() {
                    if let Some((seq, mut chunk)) = s.take(chunk, &shared.changed) {
                        drop(s);
                        let result = assess(&mut chunk, &mut w);
                        s = shared.lock();
                        s.done.insert(seq, (result, chunk));
                    }
                    continue;
                }
            }
            s = shared.wait(s);
        }
        bar.finish_and_clear();
        Ok(blank)
    })
}

/// One worker's household, assessment and parsing state, reused from chunk to chunk.
struct Worker {
    hh: Household,
    a: Assessment,
    block_reader: BlockReader,
    /// The one row a block's records are read into in turn.
    row: Vec<RawRow>,
}

impl Worker {
    fn new(parser: &BlockParser) -> Worker {
        Worker { hh: Household::default(), a: Assessment::default(), block_reader: parser.reader(), row: Vec::new() }
    }
}

/// What the threads of [`fold`] share. There is no reading thread and no writing thread: the
/// thread that needs a chunk reads it (under the lock: a block of text is read and cut in a few
/// microseconds, while assessing it takes a few hundred), and the calling thread writes between
/// the chunks it assesses. So the threads are as many as the cores, none waits on another in the
/// common case, and no chunk costs a thread switch (with a reading and a writing thread beside the
/// workers, each chunk woke two threads: some 15,000 switches and 6 % of the CPU at 1M
/// households).
struct Shared<'r, A> {
    state: Mutex<State<'r, A>>,
    /// Signalled (when a thread waits) as a buffer is freed, a chunk is done, or reading ends.
    changed: Condvar,
}

struct State<'r, A> {
    /// The ledger; `None` once it is read to its end or failed.
    reader: Option<&'r mut RowReader>,
    /// Chunks read so far (the next chunk's number).
    read: u64,
    /// Buffers to fill: [`slots`] chunks in all, so memory is bounded however far one thread
    /// gets ahead of another.
    free: Vec<Chunk>,
    /// Chunks assessed, by number, waiting for the calling thread to write them in order.
    done: BTreeMap<u64, (anyhow::Result<A>, Chunk)>,
    /// The calling thread has stopped (done, an error, or a panic): so do the workers.
    stop: bool,
    /// A worker panicked: the calling thread stops waiting for its chunk.
    broken: bool,
    /// Threads waiting on `changed`.
    waiting: usize,
}

impl<'r, A> Shared<'r, A> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<'r, A>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait<'g>(&self, mut s: std::sync::MutexGuard<'g, State<'r, A>>) -> std::sync::MutexGuard<'g, State<'r, A>> {
        s.waiting += 1;
        let mut s = self.changed.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
        s.waiting -= 1;
        s
    }

    /// A worker thread: take the next chunk, assess it, leave it for the calling thread to write,
    /// until there is nothing more to read or the calling thread stops.
    fn work(&self, mut w: Worker, assess: &impl Fn(&mut Chunk, &mut Worker) -> anyhow::Result<A>) {
        let _broken = BrokenOnPanic(self);
        let mut s = self.lock();
        loop {
            if s.stop || s.reader.is_none() {
                return;
            }
            let Some(chunk) = s.free.pop() else {
                s = self.wait(s);
                continue;
            };
            let Some((seq, mut chunk)) = s.take(chunk, &self.changed) else { continue };
            drop(s);
            let result = assess(&mut chunk, &mut w);
            s = self.lock();
            s.done.insert(seq, (result, chunk));
            self.wake(&s);
        }
    }

    /// Wake the waiting threads, if any (a notification is a system call even when nobody waits).
    fn wake(&self, s: &State<'r, A>) {
        if s.waiting > 0 {
            self.changed.notify_all();
        }
    }
}

impl<A> State<'_, A> {
    /// Fill `chunk` with the next rows (or block of text) and number it; `None` when there is
    /// nothing more to read (the buffer goes back to `free`) or reading failed (the error is the
    /// next chunk's result, written in its turn).
    fn take(&mut self, mut chunk: Chunk, changed: &Condvar) -> Option<(u64, Chunk)> {
        let Some(reader) = self.reader.as_deref_mut() else {
            self.free.push(chunk);
            return None;
        };
        let read = reader.next_work(&mut chunk.rows, &mut chunk.block, CHUNK);
        let ended = match read {
            Ok(Work::End) => {
                self.free.push(chunk);
                None
            }
            Err(e) => Some((Err(e.into()), chunk)),
            Ok(work) => {
                chunk.line = match work {
                    Work::Block(line) => Some(line),
                    _ => None,
                };
                self.read += 1;
                return Some((self.read - 1, chunk));
            }
        };
        self.reader = None;
        if let Some(failed) = ended {
            self.done.insert(self.read, failed);
            self.read += 1;
        }
        if self.waiting > 0 {
            changed.notify_all();
        }
        None
    }
}

/// Set on the calling thread of [`fold`]: when it leaves, the workers stop.
struct StopOnDrop<'s, 'r, A>(&'s Shared<'r, A>);

impl<A> Drop for StopOnDrop<'_, '_, A> {
    fn drop(&mut self) {
        self.0.lock().stop = true;
        self.0.changed.notify_all();
    }
}

/// Set on each worker of [`fold`]: when one panics, the calling thread stops waiting for it.
struct BrokenOnPanic<'s, 'r, A>(&'s Shared<'r, A>);

impl<A> Drop for BrokenOnPanic<'_, '_, A> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().broken = true;
            self.0.changed.notify_all();
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::demo_data::HEADERS;
    use crate::input::OpenOptions;
    use crate::value::Date;

    /// A ledger of `n` households (the demo data's columns, all but the id blank; household `i`
    /// on row `i + 2`): about 40 blocks of text for 20,000, more than the chunks in circulation.
    fn ledger_file(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
        let path = dir.join("l.csv");
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(HEADERS).unwrap();
        for i in 0..n {
            let mut r = vec![String::new(); HEADERS.len()];
            r[0] = format!("H{i:06}");
            w.write_record(&r).unwrap();
        }
        w.flush().unwrap();
        path
    }

    /// `fold` on `threads` threads over the ledger at `path`: `each` sees a household's row (and
    /// may fail or panic), the sink gets each chunk's rows in turn.
    fn rows_folded(
        path: &std::path::Path,
        threads: usize,
        each: impl Fn(u64) -> anyhow::Result<()> + Sync,
        sink: impl FnMut(Vec<u64>) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let rules = crate::ruleset::load("national").unwrap();
        let bound = rules.at(Date::last_of_year(2024)).unwrap();
        let mut ledger = Ledger::open(path, &rules, &OpenOptions::default()).unwrap();
        let dups = Duplicates::scan(&ledger).unwrap();
        let each = |v: &mut Vec<u64>, hh: &Household, _: &Assessment| {
            each(hh.row)?;
            v.push(hh.row);
            Ok(())
        };
        fold_on(threads, &mut ledger, &bound, &dups, Vec::new, each, sink)
    }

    /// Some households take longer, so that threads finish their chunks out of order.
    fn uneven(row: u64) -> anyhow::Result<()> {
        if row % 100 == 37 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        Ok(())
    }

    #[test]
    fn every_household_reaches_the_sink_once_in_input_order_whatever_the_threads() {
        let dir = tempfile::tempdir().unwrap();
        let n = 20_000;
        let path = ledger_file(dir.path(), n);
        for threads in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            let blank = rows_folded(&path, threads, uneven, |v| {
                seen.extend(v);
                Ok(())
            })
            .unwrap();
            assert_eq!(blank, 0);
            assert_eq!(seen.len(), n, "{threads} threads");
            assert!(seen.iter().enumerate().all(|(i, &row)| row == i as u64 + 2), "{threads} threads: out of order");
        }
    }

    #[test]
    fn an_error_in_a_household_or_the_sink_ends_the_run_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = ledger_file(dir.path(), 20_000);
        for threads in [1, 2, 4] {
            let mut written = 0;
            let e = rows_folded(
                &path,
                threads,
                |row| if row == 12_345 { anyhow::bail!("坏户 {row}") } else { uneven(row) },
                |v| {
                    written += v.len();
                    Ok(())
                },
            )
            .unwrap_err();
            assert_eq!(e.to_string(), "坏户 12345");
            // The chunks before the failing one were written, none after it.
            assert!((10_000..12_344).contains(&written), "{threads} threads: {written} written");

            let mut chunks = 0;
            let e = rows_folded(&path, threads, uneven, |_| {
                chunks += 1;
                anyhow::ensure!(chunks < 20, "写不下了");
                Ok(())
            })
            .unwrap_err();
            assert_eq!((e.to_string(), chunks), ("写不下了".to_string(), 20));
        }
    }

    #[test]
    fn a_household_that_panics_makes_the_run_panic_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let path = ledger_file(dir.path(), 20_000);
        for threads in [1, 2, 4] {
            for at in [2, 12_345, 20_001] {
                // On a thread of its own, so that a run that hangs fails the test instead.
                let (tx, rx) = std::sync::mpsc::channel();
                let path = path.clone();
                std::thread::spawn(move || {
                    let run = std::panic::catch_unwind(|| {
                        let panics = |row| if row == at { panic!("{row}") } else { uneven(row) };
                        rows_folded(&path, threads, panics, |_| Ok(()))
                    });
                    let _ = tx.send(run.is_err());
                });
                let panicked = rx.recv_timeout(std::time::Duration::from_secs(60));
                assert_eq!(panicked, Ok(true), "{threads} threads, panic at row {at}: the run hung or did not panic");
            }
        }
    }
}

//! The streaming pipeline shared by the commands that assess a ledger.
//!
//! One thread reads rows in batches (the CSV parse is sequential: a record can span lines).
//! Each batch is cut into chunks that are parsed, assessed and rendered in parallel (the engine is
//! pure and per household); each chunk folds its households into one accumulator (for `assess`,
//! the chunk's output bytes and counts), and the accumulators reach the sink, on the calling
//! thread, in input order while the next batch is assessed, so what a command writes does not
//! depend on the number of threads. Memory is a few batches, whose
//! row buffers are recycled, plus one household and one assessment per chunk being worked on.

use std::sync::mpsc;

use rayon::prelude::*;

use crate::engine::{self, Assessment};
use crate::household::Household;
use crate::input::{Duplicates, Ledger, RawRow};
use crate::ruleset::Bound;

/// Rows per batch handed from the reading thread: large enough to keep both cores busy, small
/// enough to bound memory.
const BATCH: usize = 4096;

/// Rows per chunk, the unit of parallel work (and of one accumulator).
const CHUNK: usize = 256;

/// Batches in flight between the reading thread and the workers.
const IN_FLIGHT: usize = 2;

/// A spinner with the count and rate of households, on stderr when it is a terminal (never when
/// stderr is piped, redirected or captured by a test).
pub fn progress(what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}已读 {human_pos} 户（用时 {elapsed}）")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Assess every row of `ledger`. Each chunk of consecutive households gets an accumulator from
/// `init` and `each` folds its households into it (in parallel across chunks); `sink` receives
/// the accumulators in input order.
pub fn fold<A: Send>(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    init: impl Fn() -> A + Sync,
    each: impl Fn(&mut A, &Household, &Assessment) -> anyhow::Result<()> + Sync,
    mut sink: impl FnMut(A) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let bar = progress(&format!("{}：", ledger.layout.path.display()));
    let layout = &ledger.layout;
    let reader = &mut ledger.reader;
    let (full_tx, full_rx) = mpsc::sync_channel::<Result<Vec<RawRow>, crate::error::InputError>>(IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<RawRow>>();
    let (done_tx, done_rx) = mpsc::sync_channel::<anyhow::Result<Vec<A>>>(1);
    let (init, each) = (&init, &each);
    std::thread::scope(|scope| {
        // Reading: one thread, ahead of the workers by at most IN_FLIGHT batches.
        scope.spawn(move || loop {
            let mut batch = empty_rx.try_recv().unwrap_or_default();
            let read = reader.fill(&mut batch, BATCH);
            let done = read.is_err() || batch.is_empty();
            // The receiver is gone only when the workers stopped on an error.
            if full_tx.send(read.map(|()| batch)).is_err() || done {
                return;
            }
        });
        // Assessing: each batch in parallel chunks; the results go to the sink (this thread)
        // while the next batch is being assessed.
        let counter = bar.clone();
        scope.spawn(move || loop {
            let batch = match full_rx.recv().expect("the reading thread sends until the end") {
                Ok(b) => b,
                Err(e) => {
                    let _ = done_tx.send(Err(e.into()));
                    return;
                }
            };
            if batch.is_empty() {
                return;
            }
            let parts = batch
                .par_chunks(CHUNK)
                .map(|rows| {
                    let mut acc = init();
                    let mut hh = Household::default();
                    let mut a = Assessment::default();
                    for raw in rows {
                        layout.household_into(bound, raw, dups, &mut hh);
                        engine::assess_into(bound, &hh, &mut a);
                        each(&mut acc, &hh, &a)?;
                    }
                    Ok(acc)
                })
                .collect::<anyhow::Result<Vec<A>>>();
            counter.inc(batch.len() as u64);
            let _ = empty_tx.send(batch);
            let failed = parts.is_err();
            // The receiver is gone only when the sink stopped on an error.
            if done_tx.send(parts).is_err() || failed {
                return;
            }
        });
        // Owned here, so that an early return (an error) drops it and ends the other threads.
        let done_rx = done_rx;
        for parts in done_rx.iter() {
            for p in parts? {
                sink(p)?;
            }
        }
        bar.finish_and_clear();
        Ok(())
    })
}

/// Assess every row of `ledger`; `map` runs in parallel, `sink` sees the results in input order.
pub fn stream<T: Send>(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    map: impl Fn(&Household, &Assessment) -> anyhow::Result<T> + Sync,
    mut sink: impl FnMut(T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
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

//! The streaming pipeline shared by the commands that assess a ledger.
//!
//! Rows are read in batches; each batch is parsed, assessed and mapped in parallel (the engine is
//! pure and per household), and the results are handed to a sink in input order, so what a command
//! writes does not depend on the number of threads. Memory is one batch at a time.

use rayon::prelude::*;

use crate::engine::{self, Assessment};
use crate::household::Household;
use crate::input::{Duplicates, Ledger};
use crate::ruleset::Bound;

/// Rows per batch: large enough to keep both cores busy, small enough to bound memory.
const BATCH: usize = 4096;

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

/// Assess every row of `ledger`; `map` runs in parallel, `sink` sees the results in input order.
pub fn stream<T: Send>(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    map: impl Fn(&Household, &Assessment) -> anyhow::Result<T> + Sync,
    mut sink: impl FnMut(T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let bar = progress(&format!("{}：", ledger.layout.path.display()));
    loop {
        let batch = ledger.next_batch(BATCH)?;
        if batch.is_empty() {
            bar.finish_and_clear();
            return Ok(());
        }
        bar.inc(batch.len() as u64);
        let layout = &ledger.layout;
        let results: Vec<T> = batch
            .par_iter()
            .map(|raw| {
                let hh = layout.household(bound, raw, dups);
                let a = engine::assess(bound, &hh);
                map(&hh, &a)
            })
            .collect::<anyhow::Result<_>>()?;
        for r in results {
            sink(r)?;
        }
    }
}

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

/// Assess every row of `ledger`; `map` runs in parallel, `sink` sees the results in input order.
pub fn stream<T: Send>(
    ledger: &mut Ledger,
    bound: &Bound,
    dups: &Duplicates,
    map: impl Fn(&Household, &Assessment) -> anyhow::Result<T> + Sync,
    mut sink: impl FnMut(T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    loop {
        let batch = ledger.next_batch(BATCH)?;
        if batch.is_empty() {
            return Ok(());
        }
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

//! The fuzz corpora and regression inputs, replayed on stable without cargo-fuzz: every file of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes through the same function the
//! fuzz target calls (`tuopin::fuzzing::<target>`), which must not panic (its invariants included).

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.expect("a directory entry").path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Run every file of the folders through `f`: how many, and the files that panicked.
fn replay(folders: &[&str], target: &str, f: fn(&[u8])) -> (usize, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    let mut failed = Vec::new();
    for folder in folders {
        for path in files(&root.join(folder).join(target)) {
            let data = std::fs::read(&path).expect("readable");
            n += 1;
            if std::panic::catch_unwind(|| f(&data)).is_err() {
                failed.push(path.strip_prefix(&root).unwrap_or(&path).display().to_string());
            }
        }
    }
    (n, failed)
}

/// On a thread with the main thread's 8 MiB of stack: a condition nested as deep as the CEL
/// parser allows (96) needs more than a test thread's 2 MiB in a debug build.
fn corpus(target: &'static str, f: fn(&[u8])) {
    let (n, failed) = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || replay(&["corpus", "regressions"], target, f))
        .expect("a thread")
        .join()
        .expect("the replay ran");
    assert!(n > 0, "fuzz/corpus/{target}/ is empty");
    assert!(failed.is_empty(), "{} of {n} inputs panicked:\n  {}", failed.len(), failed.join("\n  "));
}

#[test]
fn cells() {
    corpus("cells", tuopin::fuzzing::cells);
}

#[test]
fn csv_ledger() {
    corpus("csv_ledger", tuopin::fuzzing::csv_ledger);
}

#[test]
fn xlsx_ledger() {
    corpus("xlsx_ledger", tuopin::fuzzing::xlsx_ledger);
}

#[test]
fn rules() {
    corpus("rules", tuopin::fuzzing::rules);
}

#[test]
fn condition() {
    corpus("condition", tuopin::fuzzing::condition);
}

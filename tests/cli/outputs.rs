//! Where outputs go and how they are replaced (issue 17): special files written through, symlinks
//! followed, modes kept, all-or-nothing sets under faults and signals; rule files that are not
//! files refused at once.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("tuopin")
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success(), "mkfifo");
}

/// Leftover temporary files or directories (`.tuopin-*.part`) in `dir`.
fn parts(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

/// `tuopin args…` with the file-size limit `blocks` × 512 bytes (writes past it fail with EFBIG,
/// as on a full disk; SIGXFSZ ignored so that the write returns the error).
fn with_file_size_limit(blocks: u32) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", &format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\"")]).arg(bin());
    c.current_dir(root());
    c
}

/// Wait for a child, at most `secs` seconds.
fn wait(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            child.kill().unwrap();
            panic!("the run did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const LEDGER: &str = "tests/data/reasons.csv";

fn assess_to(out: &Path, extra: &[&str]) -> std::process::Output {
    tuopin().args(["assess", LEDGER, "--year", "2024", "-o"]).arg(out).args(extra).output().unwrap()
}

#[test]
fn dev_null_is_written_through_not_replaced() {
    let out = assess_to(Path::new("/dev/null"), &[]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
    let m = fs::metadata("/dev/null").unwrap();
    assert!(m.file_type().is_char_device(), "/dev/null is still a device");
}

#[test]
fn a_fifo_is_written_through_and_its_reader_gets_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    for format in ["csv", "xlsx"] {
        let f = fifo.clone();
        let reader = std::thread::spawn(move || fs::read(f).unwrap());
        let out = assess_to(&fifo, &["--format", format]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
        let got = reader.join().unwrap();
        match format {
            "csv" => assert!(String::from_utf8(got).unwrap().contains("户编号"), "the reader got the CSV"),
            _ => assert!(got.starts_with(b"PK"), "the reader got the workbook"),
        }
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
        assert!(parts(dir.path()).is_empty());
    }
}

#[test]
fn dash_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = tuopin()
        .current_dir(dir.path())
        .args(["assess"])
        .arg(root().join(LEDGER))
        .args(["--year", "2024", "-o", "-"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
    assert!(String::from_utf8(out.stdout).unwrap().contains("户编号"));
    assert!(!dir.path().join("-").exists(), "no file named `-`");
}

#[test]
fn a_symlink_is_followed_and_its_target_replaced_keeping_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.csv");
    fs::write(&target, "old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("结果.csv");
    std::os::unix::fs::symlink("real.csv", &link).unwrap();
    let out = assess_to(&link, &[]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    assert!(fs::read_to_string(&target).unwrap().contains("户编号"), "its target has the result");
    assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(parts(dir.path()).is_empty());
}

#[test]
fn rerunning_over_an_output_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["结果.csv", "结果.xlsx", "结果.jsonl"] {
        let path = dir.path().join(name);
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let out = assess_to(&path, &[]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
        assert_ne!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{name}");
    }
    // And the lists of `adjust -o DIR`.
    let lists = dir.path().join("名单");
    let run = || {
        tuopin()
            .args(["adjust", "--previous", "tests/data/adjust/2024Q2.csv", "--current", "tests/data/adjust/2024Q3.csv"])
            .args(["--quarter", "2024Q3", "-o"])
            .arg(&lists)
            .output()
            .unwrap()
    };
    assert!(matches!(run().status.code(), Some(0 | 1)));
    let list = lists.join("新增户.csv");
    fs::set_permissions(&list, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(matches!(run().status.code(), Some(0 | 1)));
    assert_eq!(fs::metadata(&list).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_directory_at_the_output_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = assess_to(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("是一个目录"), "{}", stderr_of(&out));
}

/// The old lists of `adjust -o DIR`: a run on the small quarters of tests/data/adjust.
fn old_lists(lists: &Path) -> Vec<(String, Vec<u8>, u64)> {
    let out = tuopin()
        .args(["adjust", "--previous", "tests/data/adjust/2024Q2.csv", "--current", "tests/data/adjust/2024Q3.csv"])
        .args(["--quarter", "2024Q3", "-o"])
        .arg(lists)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
    snapshot(lists)
}

/// Every file of the directory: name, bytes and inode.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u64)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            let bytes = if m.is_file() { fs::read(e.path()).unwrap() } else { Vec::new() };
            (e.file_name().to_string_lossy().into_owned(), bytes, m.ino())
        })
        .collect();
    v.sort();
    v
}

/// Two generated quarters (3,000 households) in `dir`.
fn quarters(dir: &Path, n: &str) -> (PathBuf, PathBuf) {
    let (q2, q3) = (dir.join("q2.csv"), dir.join("q3.csv"));
    let gen = tuopin()
        .args(["demo-data", "-n", n, "--seed", "3", "--messy", "0.05", "-o"])
        .arg(&q2)
        .arg("--next-quarter")
        .arg(&q3)
        .output()
        .unwrap();
    assert!(gen.status.success(), "{}", stderr_of(&gen));
    (q2, q3)
}

/// A write that fails part-way (the file-size limit, as a full disk) leaves the old set of lists
/// exactly as it was, and no temporary directory.
#[test]
fn a_failing_write_leaves_the_old_lists_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (q2, q3) = quarters(dir.path(), "20000");
    let lists = dir.path().join("名单");
    let before = old_lists(&lists);
    // 100 KB: the old lists fit, the new 人口变化 list of 20,000 households (about 600 rows, over
    // 150 KB) does not.
    let out = with_file_size_limit(200)
        .args(["adjust", "--previous"])
        .arg(&q2)
        .arg("--current")
        .arg(&q3)
        .args(["--quarter", "2024Q3", "-o"])
        .arg(&lists)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("无法写出名单") && err.contains("原有名单均未改动"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(snapshot(&lists), before, "the old set is untouched");
}

/// A list that cannot be replaced (a directory in its place; on Windows, a file Excel holds open)
/// is named, and no other list of the set is replaced.
#[test]
fn a_list_that_cannot_be_replaced_is_named_and_nothing_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let lists = dir.path().join("名单");
    old_lists(&lists);
    let blocked = lists.join("疑似返贫.csv");
    fs::remove_file(&blocked).unwrap();
    fs::create_dir(&blocked).unwrap();
    let before = snapshot(&lists);
    let out = tuopin()
        .args(["adjust", "--previous", "tests/data/adjust/2024Q2.csv", "--current", "tests/data/adjust/2024Q3.csv"])
        .args(["--quarter", "2024Q3", "-o"])
        .arg(&lists)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("疑似返贫.csv") && err.contains("原有文件保持不变"), "{err}");
    assert_eq!(snapshot(&lists), before, "no file of the set was replaced");
}

/// rust_xlsxwriter keeps rows in temporary files and panicked when they could not be written (a
/// full temporary directory): now an error naming the workbook, exit 2, no panic, no output.
#[test]
fn a_full_temporary_directory_is_an_error_for_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let (_, q3) = quarters(dir.path(), "3000");
    let target = dir.path().join("结果.xlsx");
    let out = with_file_size_limit(200)
        .env("TMPDIR", dir.path())
        .arg("assess")
        .arg(&q3)
        .args(["--year", "2024", "-o"])
        .arg(&target)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("无法写出工作簿") && err.contains("结果.xlsx") && err.contains("File too large"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!target.exists());
    assert!(parts(dir.path()).is_empty());
}

/// A temporary directory where the workbook's rows cannot go at all: an error, not a panic.
#[test]
fn an_unusable_temporary_directory_is_an_error_for_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("结果.xlsx");
    let out = tuopin()
        .env("TMPDIR", "/nonexistent/tuopin")
        .args(["assess", LEDGER, "--year", "2024", "-o"])
        .arg(&target)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("无法写出工作簿") && !err.contains("panicked"), "{err}");
    assert!(!target.exists());
}

/// TERM and HUP, like INT, remove the unfinished output (a file of `assess`, the temporary
/// directory of `adjust -o DIR`, whose old lists stay) and exit with 128 + the signal.
#[test]
fn term_and_hup_leave_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let (q2, q3) = quarters(dir.path(), "100000");
    let out_dir = tempfile::tempdir().unwrap();
    let lists = out_dir.path().join("名单");
    let before = old_lists(&lists);
    let runs: [(&str, i32, bool); 3] = [("TERM", 143, false), ("HUP", 129, false), ("TERM", 143, true)];
    let mut interrupted = 0;
    for (signal, code, adjust) in runs {
        let target = out_dir.path().join("结果.csv");
        let mut cmd = Command::new(bin());
        if adjust {
            cmd.args(["adjust", "--previous"]).arg(&q2).arg("--current").arg(&q3).args(["--quarter", "2024Q3", "-o"]);
            cmd.arg(&lists);
        } else {
            cmd.arg("assess").arg(&q3).args(["--year", "2024", "-o"]).arg(&target);
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let watched = if adjust { lists.clone() } else { out_dir.path().to_path_buf() };
        let start = Instant::now();
        while parts(&watched).is_empty() && start.elapsed() < Duration::from_secs(60) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
        let status = wait(&mut child, 60);
        if status.code() == Some(code) {
            interrupted += 1;
            assert!(parts(&watched).is_empty(), "{signal}: no temporary file or directory is left");
            if adjust {
                assert_eq!(snapshot(&lists), before, "the old lists stay");
            } else {
                assert!(!target.exists(), "{signal}: no output after an interrupted run");
            }
        } else {
            // The run finished before the signal arrived: then the output is whole.
            assert!(matches!(status.code(), Some(0 | 1)), "{signal}: {status:?}");
            assert!(parts(&watched).is_empty());
        }
        let _ = fs::remove_file(&target);
    }
    assert!(interrupted > 0, "at least one run was interrupted (100,000 households take seconds)");
}

/// A rule file that is a FIFO is refused at once (its open would wait for a writer forever).
#[test]
fn a_fifo_as_rule_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rules.toml");
    mkfifo(&fifo);
    for args in [vec!["rules", "check"], vec!["assess", LEDGER, "--year", "2024", "--rules"]] {
        let mut child = Command::new(bin())
            .current_dir(root())
            .args(&args)
            .arg(&fifo)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let status = wait(&mut child, 20);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(2), "{err}");
        assert!(err.contains("rules.toml") && err.contains("命名管道（FIFO），不是普通文件"), "{err}");
    }
    // And `extends` naming one.
    let base = dir.path().join("base.toml");
    fs::write(&base, "[ruleset]\nid = \"x\"\nname = \"x\"\nextends = \"rules.toml\"\n").unwrap();
    let mut child = Command::new(bin()).args(["rules", "check"]).arg(&base).stderr(Stdio::piped()).spawn().unwrap();
    let status = wait(&mut child, 20);
    assert_eq!(status.code(), Some(2));
}

/// A TOML error in a file that is not text (the environment, NUL-separated) quotes none of it.
#[test]
fn a_rule_file_that_is_not_text_is_not_echoed() {
    let out = tuopin()
        .env("TUOPIN_PLANTED_SECRET", "s3cr3t-520000196803120313")
        .args(["rules", "check", "/proc/self/environ"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("s3cr3t") && !err.contains("PATH="), "{err}");
    assert!(err.len() < 1000, "{err}");
}

/// A Unix socket is written to by connecting to it; the listener gets the stream.
#[test]
fn a_socket_is_connected_to_and_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut s, &mut got).unwrap();
        got
    });
    let out = assess_to(&path, &[]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
    assert!(String::from_utf8(reader.join().unwrap()).unwrap().contains("户编号"));
    assert!(fs::metadata(&path).unwrap().file_type().is_socket(), "still a socket");
}

/// Run as root, a replaced output keeps its owner too (another user's 0600 file stays theirs).
#[test]
fn a_replaced_output_keeps_its_owner_when_run_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("结果.csv");
    fs::write(&path, "old").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    if std::os::unix::fs::chown(&path, Some(4321), Some(4321)).is_err() {
        return; // not root: nothing to check
    }
    let out = assess_to(&path, &[]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
    let m = fs::metadata(&path).unwrap();
    assert_eq!((m.uid(), m.gid(), m.permissions().mode() & 0o777), (4321, 4321, 0o600));
}

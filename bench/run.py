#!/usr/bin/env python3
"""Benchmark: tuopin against the bare-parse floor and the DuckDB peers, side by side.

Generates (once, deterministic) a 1,000,000-household ledger and the next quarter with
`tuopin demo-data`, then times, RUNS rounds, each program once per round in turn (alternating, so
that the shared host's load falls on all of them alike):
  assess     tuopin assess LEDGER -o OUT.csv (the default output: decisions, reasons, checks)
  assess-d   tuopin assess LEDGER --columns 判定 (户编号 and the decisions only)
  floor      bench/bare_parse.rs: a bare single-thread parse of the same file with the csv crate
  duckdb-d   bench/peer_duckdb.py --columns 判定: the national rules (§1–5 as changed by §6) in SQL,
             the same columns as assess-d
  duckdb     bench/peer_duckdb.py --columns 全部: the twin, tuopin's default columns, reasons built
             by SQL string concatenation
  adjust     tuopin adjust on the two 1M snapshots (-o DIR)
  assess5m   (with --big) tuopin assess on 5,000,000 households, for peak RSS
  xlsx-inline, xlsx-shared, csv-x
             tuopin assess on a --xlsx-households ledger (100,000 by default) as .xlsx, in the two
             shapes of bench/xlsx.py (inline strings as openpyxl writes them; shared strings as
             Excel and WPS do), and on the same ledger as CSV (built once)
and reports the median wall time, CPU time (user + sys) and peak RSS of each (os.wait4 on the
child), the bytes a household each output has, and the ratios the targets are stated in. Then it
checks that the peers decide as tuopin does, household by household: the decisions-only outputs
must be equal row for row, and the twin's decision columns equal to tuopin's default output's; a
mismatch ends the script with an error naming the household. It also counts the twin's rows that
are byte for byte tuopin's (reasons and checks included).
Each program's output is deleted as soon as its run is timed (the last round's outputs are kept
for the checks), and the outputs of an earlier invocation before the first round, then the file
system is synced. An output deleted within seconds is never written to disk; one that lives past
the kernel's 30 s writeback delay is written out while later programs run and, when deleted, has
its blocks freed and trimmed (ext4 mounted with `discard`) at a later journal commit. That work
fell on whichever program ran then: with the outputs deleted only before their program's next run
(`--delete-late`), assess took 0.84 s and 1.66 s CPU where it took 0.79 s and 1.55 s deleted at
once (2026-12-04, one series each). Replacing a 430 MB file costs the replacing run about 0.4 s on this machine; `--overwrite`
keeps each output in place for the next run to replace, to measure that too; `--delete-late`
deletes each output only before its program's next run, as this script did until 2026-12-04.

usage: python3 bench/run.py [--households 1000000] [--runs 3] [--big] [--overwrite] [--delete-late] [--work DIR]
                            [--only assess,duckdb,...] [--no-xlsx] [--xlsx-households N]
needs: pip install duckdb
"""
import argparse, os, shutil, statistics, subprocess, sys, time
from pathlib import Path

root = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser()
ap.add_argument("--households", type=int, default=1_000_000)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--big", action="store_true", help="also 5M households (peak RSS)")
ap.add_argument("--work", default="/tmp/tuopin-bench")
ap.add_argument("--overwrite", action="store_true", help="leave each output in place for the next run to replace")
ap.add_argument("--delete-late", action="store_true", help="delete each output only before its program's next run")
ap.add_argument("--only", help="the programs to run, by name, separated by commas")
ap.add_argument("--no-xlsx", action="store_true", help="skip the xlsx run (and building its workbook)")
ap.add_argument("--xlsx-households", type=int, default=100_000, help="households of the xlsx runs' ledger")
a = ap.parse_args()
work = Path(a.work)
work.mkdir(parents=True, exist_ok=True)

subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tuopin", "--example", "bare_parse"], cwd=root, check=True)
tuopin = root / "target/release/tuopin"
floor = root / "target/release/examples/bare_parse"
peer = root / "bench/peer_duckdb.py"

def gen(n, name, next_name=None):
    path = work / name
    if not path.exists() or (next_name and not (work / next_name).exists()):
        cmd = [tuopin, "demo-data", "--households", str(n), "--seed", "1", "--force", "-o", path]
        if next_name:
            cmd += ["--next-quarter", work / next_name]
        subprocess.run(cmd, check=True)
    return path

def run(cmd):
    """Wall seconds, CPU seconds, peak RSS in MiB of one child run."""
    t0 = time.perf_counter()
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{cmd[0]} failed with exit code {code}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024

def clear(out):
    """Delete a program's output from the run before (not timed), unless --overwrite."""
    if out is None or a.overwrite:
        return
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()

def measure(programs):
    """Alternating rounds: each program once per round. Medians of wall and CPU, max of RSS."""
    runs = {name: [] for name, _, _ in programs}
    for _, _, out in programs:
        clear(out)
    os.sync()
    for i in range(a.runs):
        for name, cmd, out in programs:
            clear(out)
            runs[name].append(run(cmd))
            if i + 1 < a.runs and not a.delete_late:
                clear(out)
    res = {}
    for name, _, out in programs:
        med = lambda i: statistics.median(r[i] for r in runs[name])
        res[name] = {"wall": med(0), "cpu": med(1), "rss": max(r[2] for r in runs[name]), "out": out,
                     "walls": [r[0] for r in runs[name]]}
        walls = " / ".join(f"{w:.2f}" for w in res[name]["walls"])
        print(f"{name:10} wall {res[name]['wall']:7.2f} s   cpu {res[name]['cpu']:7.2f} s   "
              f"peak RSS {res[name]['rss']:7.1f} MiB   (walls {walls})", flush=True)
    return res


def csv_rows(path):
    import csv
    with open(path, encoding="utf-8-sig", newline="") as f:
        yield from csv.reader(f)


DECISIONS = ["户编号", "识别", "退出", "风险等级", "风险因素", "建议监测类型", "疑似返贫", "风险消除"]


def check_peers(tuopin_d, peer_d, tuopin_all, twin):
    """The peers' decisions equal tuopin's, household by household (exit on the first mismatch);
    how many of the twin's rows equal tuopin's whole rows."""
    n = 0
    for n, (t, p) in enumerate(zip(csv_rows(tuopin_d), csv_rows(peer_d), strict=True)):
        if t != p:
            sys.exit(f"MISMATCH decisions only, row {n + 1}:\n  tuopin {t}\n  duckdb {p}")
    same = 0
    header = None
    for n, (t, p) in enumerate(zip(csv_rows(tuopin_all), csv_rows(twin), strict=True)):
        if header is None:
            header = t
            if t != p:
                sys.exit(f"MISMATCH twin header:\n  tuopin {t}\n  duckdb {p}")
            at = [t.index(c) for c in DECISIONS]
            continue
        if [t[i] for i in at] != [p[i] for i in at]:
            sys.exit(f"MISMATCH twin decisions, row {n + 1}:\n  tuopin {[t[i] for i in at]}\n  duckdb {[p[i] for i in at]}")
        same += t == p
    print(f"\npeers checked: decisions equal tuopin's for all {n:,} households (decisions-only output row for row; "
          f"the twin's decision columns); twin rows equal tuopin's byte for byte, reasons and checks included: "
          f"{same:,} of {n:,}")


n = a.households
q2 = gen(n, f"q2-{n}.csv", f"q3-{n}.csv")
q3 = work / f"q3-{n}.csv"
size = q2.stat().st_size / 2**20
print(f"ledger: {n:,} households, {size:.0f} MiB; {a.runs} runs each, median; machine: {os.cpu_count()} cores\n")
want = set(a.only.split(",")) if a.only else None
progs = [
    ("assess", [tuopin, "assess", q2, "--year", "2024", "-o", work / "out-assess.csv"], work / "out-assess.csv"),
    ("assess-d", [tuopin, "assess", q2, "--year", "2024", "--columns", "判定", "-o", work / "out-assess-d.csv"], work / "out-assess-d.csv"),
    ("floor", [floor, q2], None),
    ("duckdb-d", [sys.executable, peer, q2, work / "out-duckdb-d.csv", "--year", "2024", "--columns", "判定"], work / "out-duckdb-d.csv"),
    ("duckdb", [sys.executable, peer, q2, work / "out-duckdb.csv", "--year", "2024", "--columns", "全部"], work / "out-duckdb.csv"),
    ("adjust", [tuopin, "adjust", "--previous", q2, "--current", q3, "--quarter", "2024Q3", "-o", work / "out-adjust"], work / "out-adjust"),
]
if a.big:
    big = gen(5 * n, f"big-{5 * n}.csv")
    progs.append(("assess5m", [tuopin, "assess", big, "--year", "2024", "-o", work / "out-big.csv"], work / "out-big.csv"))
if not a.no_xlsx:
    xn = a.xlsx_households
    xcsv = gen(xn, f"ledger-{xn}.csv")
    for shape in ("inline", "shared"):
        book = work / f"ledger-{xn}-{shape}.xlsx"
        if not book.exists():
            # In a child process: a child's peak RSS (ru_maxrss) starts from this process's peak at
            # the fork (Linux keeps the old address space's high-water mark across exec), so a
            # workbook built in this process would raise every later program's reading to it.
            subprocess.run([sys.executable, root / "bench/xlsx.py", shape, xcsv, book], check=True)
        out = work / f"out-xlsx-{shape}.csv"
        progs.append((f"xlsx-{shape}", [tuopin, "assess", book, "--year", "2024", "-o", out], out))
    progs.append(("csv-x", [tuopin, "assess", xcsv, "--year", "2024", "-o", work / "out-csv-x.csv"], work / "out-csv-x.csv"))
r = measure([p for p in progs if want is None or p[0] in want])

print("\nbytes a household:")
for name in ("assess", "assess-d", "duckdb", "duckdb-d"):
    if name in r and r[name]["out"].exists():
        print(f"  {name:10} {r[name]['out'].stat().st_size / n:7.1f}")
if all(k in r for k in ("assess", "assess-d", "duckdb", "duckdb-d")):
    check_peers(r["assess-d"]["out"], r["duckdb-d"]["out"], r["assess"]["out"], r["duckdb"]["out"])

def ratio(label, x, y, target):
    if x in r and y in r:
        print(f"  {label:34} {r[x]['wall'] / r[y]['wall']:5.2f}×   [{target}]")

print("\nratios (targets in brackets):")
ratio("DuckDB-d wall / assess-d wall", "duckdb-d", "assess-d", "≥ 2.5")
ratio("DuckDB twin wall / assess wall", "duckdb", "assess", "≥ 1.5")
ratio("assess wall / floor wall", "assess", "floor", "≤ 2.5")
ratio("adjust wall / assess wall", "adjust", "assess", "≤ 2")
ratio("xlsx inline wall / csv wall", "xlsx-inline", "csv-x", "≤ 4 at 1M")
ratio("xlsx shared wall / csv wall", "xlsx-shared", "csv-x", "≤ 4 at 1M")
for name, target in (("assess", "≤ 64"), ("assess5m", "≤ 64"), ("adjust", "≤ 256"), ("xlsx-inline", "≤ 256"), ("xlsx-shared", "≤ 256")):
    if name in r:
        print(f"  {name + ' peak RSS':34} {r[name]['rss']:5.1f} MiB [{target}]")

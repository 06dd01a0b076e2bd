#!/usr/bin/env python3
"""Benchmark: tuopin against the bare-parse floor and the DuckDB peer, side by side.

Generates (once, deterministic) a 1,000,000-household ledger and the next quarter with
`tuopin demo-data`, then times, RUNS times each, in turn:
  assess     tuopin assess LEDGER -o OUT.csv (CSV → CSV, reasons included)
  floor      bench/bare_parse.rs: a bare single-thread parse of the same file with the csv crate
  duckdb     ../shared/bench/peer_duckdb.py LEDGER OUT --year 2024 (the same rules as one SQL query)
  adjust     tuopin adjust on the two 1M snapshots (-o DIR)
  assess5m   (with --big) tuopin assess on 5,000,000 households, for peak RSS
  xlsx100k   tuopin assess on a 100,000-household .xlsx (built once with openpyxl)
and reports the median wall time, CPU time (user + sys) and peak RSS of each (os.wait4 on the
child), and the ratios the targets are stated in. Each program's output from the run before is
deleted before it starts, outside the timing: replacing a 430 MB file costs the replacing run
about 0.4 s on this machine's ext4 (mounted with `discard`, the old file's blocks are freed and
trimmed in the rename); `--overwrite` keeps the old outputs, to measure that too.

usage: python3 bench/run.py [--households 1000000] [--runs 3] [--big] [--overwrite] [--work DIR]
needs: pip install duckdb openpyxl
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
a = ap.parse_args()
work = Path(a.work)
work.mkdir(parents=True, exist_ok=True)

subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tuopin", "--example", "bare_parse"], cwd=root, check=True)
tuopin = root / "target/release/tuopin"
floor = root / "target/release/examples/bare_parse"
peer = root.parent / "shared/bench/peer_duckdb.py"

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

def measure(name, cmd, out=None):
    runs = []
    for _ in range(a.runs):
        clear(out)
        runs.append(run(cmd))
    med = lambda i: statistics.median(r[i] for r in runs)
    res = {"wall": med(0), "cpu": med(1), "rss": max(r[2] for r in runs)}
    print(f"{name:10} wall {res['wall']:7.2f} s   cpu {res['cpu']:7.2f} s   peak RSS {res['rss']:7.1f} MiB", flush=True)
    return res

n = a.households
q2 = gen(n, f"q2-{n}.csv", f"q3-{n}.csv")
q3 = work / f"q3-{n}.csv"
size = q2.stat().st_size / 2**20
print(f"ledger: {n:,} households, {size:.0f} MiB; {a.runs} runs each, median; machine: {os.cpu_count()} cores\n")
r = {}
r["assess"] = measure("assess", [tuopin, "assess", q2, "--year", "2024", "-o", work / "out-assess.csv"], work / "out-assess.csv")
r["floor"] = measure("floor", [floor, q2])
r["duckdb"] = measure("duckdb", [sys.executable, peer, q2, work / "out-duckdb.csv", "--year", "2024"], work / "out-duckdb.csv")
r["adjust"] = measure("adjust", [tuopin, "adjust", "--previous", q2, "--current", q3, "--quarter", "2024Q3", "-o", work / "out-adjust"], work / "out-adjust")
if a.big:
    big = gen(5 * n, f"big-{5 * n}.csv")
    r["assess5m"] = measure("assess5m", [tuopin, "assess", big, "--year", "2024", "-o", work / "out-big.csv"], work / "out-big.csv")
xlsx = work / "ledger-100k.xlsx"
if not xlsx.exists():
    import csv, openpyxl
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("户表")
    with open(gen(100_000, "ledger-100k.csv"), encoding="utf-8") as f:
        for row in csv.reader(f):
            ws.append(row)
    wb.save(xlsx)
r["xlsx100k"] = measure("xlsx100k", [tuopin, "assess", xlsx, "--year", "2024", "-o", work / "out-xlsx.csv"], work / "out-xlsx.csv")
r["csv100k"] = measure("csv100k", [tuopin, "assess", work / "ledger-100k.csv", "--year", "2024", "-o", work / "out-csv100k.csv"], work / "out-csv100k.csv")

print("\nratios (targets in brackets):")
print(f"  DuckDB wall / assess wall      {r['duckdb']['wall'] / r['assess']['wall']:5.2f}×   [≥ 2.5]")
print(f"  assess wall / floor wall       {r['assess']['wall'] / r['floor']['wall']:5.2f}×   [≤ 2.5]")
print(f"  adjust wall / assess wall      {r['adjust']['wall'] / r['assess']['wall']:5.2f}×   [≤ 2]")
print(f"  assess peak RSS                {r['assess']['rss']:5.1f} MiB [≤ 64]")
if a.big:
    print(f"  assess peak RSS at 5M          {r['assess5m']['rss']:5.1f} MiB [same as at 1M]")
print(f"  adjust peak RSS                {r['adjust']['rss']:5.1f} MiB [≤ 256]")
print(f"  xlsx 100k wall / csv 100k wall {r['xlsx100k']['wall'] / r['csv100k']['wall']:5.2f}×   [reported]")

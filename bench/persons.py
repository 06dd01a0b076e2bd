#!/usr/bin/env python3
"""Person-export benchmark (#15): tuopin on a national-shape person export, beside DuckDB doing the
same aggregation (person rows → one row per household with the member-derived facts).

Generates (once, deterministic) a person export from `tuopin demo-data -n N --seed 1`: each
household's 家庭人口数 members, one row each, household columns repeated on every row (as the
national system exports them); the member columns agree with the ledger's counts (劳动力人数 members
with a labour skill, 失学辍学人数 school-age members out of school, 参加基本医疗保险人数 insured,
大病慢性病人数 ill, 残疾人数 disabled), so the households tuopin derives are the ledger's.

Then times, RUNS times each, alternating:
  tuopin     tuopin assess PERSONS.csv --year 2024 -o OUT.csv (members read, households derived,
             assessed, reasons written)
  duckdb     the aggregation only, as one SQL query: GROUP BY 户编号 with the same counts, CSV out
  duckdb+    the aggregation, then ../shared/bench/peer_duckdb.py's assessment (§1–5) on its output
and reports the median wall time, CPU time (user + sys) and peak RSS (os.wait4 on the child).

usage: python3 bench/persons.py [--households 1000000] [--runs 3] [--work DIR]
needs: pip install duckdb
"""
import argparse, csv, os, statistics, subprocess, sys, time
from pathlib import Path

root = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser()
ap.add_argument("--households", type=int, default=1_000_000)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--work", default="/tmp/tuopin-bench-persons")
ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: its default)")
a = ap.parse_args()
work = Path(a.work)
work.mkdir(parents=True, exist_ok=True)
subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tuopin"], cwd=root, check=True)
tuopin = root / "target/release/tuopin"
peer = root.parent / "shared/bench/peer_duckdb.py"

ledger = work / f"ledger-{a.households}.csv"
persons = work / f"persons-{a.households}.csv"
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def idno(area, birth, seq):
    body = f"{area}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]


PERSON = ["人编号", "姓名", "证件号码", "与户主关系", "在校生状况", "失学或辍学原因", "健康状况", "劳动技能",
          "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险", "是否参加大病保险"]
DERIVED = ["家庭人口数", "劳动力人数", "失学辍学人数", "参加基本医疗保险人数", "大病慢性病人数", "残疾人数", "户主姓名", "户主证件号码"]


def generate():
    if not ledger.exists():
        subprocess.run([tuopin, "demo-data", "-n", str(a.households), "--seed", "1", "-o", ledger], check=True)
    if persons.exists():
        return
    t0 = time.time()
    with open(ledger, encoding="utf-8-sig", newline="") as f, open(persons, "w", encoding="utf-8-sig", newline="") as g:
        r = csv.reader(f)
        head = next(r)
        ix = {h: i for i, h in enumerate(head)}
        keep = [h for h in head if h not in DERIVED]
        w = csv.writer(g)
        w.writerow(keep[:4] + PERSON + keep[4:])
        for n, row in enumerate(r):
            def num(h):
                v = row[ix[h]]
                return int(v) if v.isdigit() else 0
            size = max(1, num("家庭人口数"))
            labor, drop, ins = num("劳动力人数"), num("失学辍学人数"), num("参加基本医疗保险人数")
            ill, dis = num("大病慢性病人数"), num("残疾人数")
            base = [row[ix[h]] for h in keep]
            for k in range(size):
                if k == 0:
                    name, rel, birth = row[ix["户主姓名"]], "户主", "19700101"
                else:
                    name, rel = f"成员{k}", ["配偶", "之子", "之女", "之母", "之父"][k % 5]
                    # School age (6–15 at 2024-12-31) for the dropouts; a birth date per k keeps
                    # every member's number distinct (area and sequence number from the household).
                    birth = f"201{k % 8}0{k % 9 + 1}15" if k - 1 < drop else f"19{60 + k}0{k % 9 + 1}15"
                labour = "普通劳动力" if k < labor else "无劳动力"
                school = "非在校生"
                health = "大病" if k < ill else ("残疾" if k < ill + dis else "健康")
                insured = "是" if k < ins else "否"
                pid = row[ix["户主证件号码"]] if k == 0 else idno(530000 + n // 1000, birth, n % 1000)
                person = [f"{row[ix['户编号']]}{k + 1:02d}", name, pid, rel, school, "", health, labour,
                          insured, "否", insured]
                w.writerow(base[:4] + person + base[4:])
    print(f"generated {persons} ({persons.stat().st_size / 1e9:.2f} GB) in {time.time() - t0:.0f} s", file=sys.stderr)


AGG = """
COPY (
  SELECT "户编号",
    count(*) AS "家庭人口数",
    count(*) FILTER (WHERE "劳动技能" IN ('普通劳动力','技能劳动力','弱劳动力或半劳动力')) AS "劳动力人数",
    count(*) FILTER (WHERE ("在校生状况" = '非在校生' OR "在校生状况" LIKE '%失学%' OR "在校生状况" LIKE '%辍学%')
        AND COALESCE("失学或辍学原因", '') NOT IN ('因病','因残','因疾')
        AND date_diff('year', strptime(substr("证件号码", 7, 8), '%Y%m%d'), DATE '2024-12-31') BETWEEN 6 AND 15)
      AS "失学辍学人数",
    count(*) FILTER (WHERE "是否参加城乡居民基本医疗保险" = '是' OR "是否参加城镇职工基本医疗保险" = '是') AS "参加基本医疗保险人数",
    count(*) FILTER (WHERE "健康状况" IN ('长期慢性病','患大病','大病')) AS "大病慢性病人数",
    count(*) FILTER (WHERE "健康状况" = '残疾') AS "残疾人数",
    any_value("姓名") FILTER (WHERE "与户主关系" = '户主') AS "户主姓名",
    any_value("证件号码") FILTER (WHERE "与户主关系" = '户主') AS "户主证件号码",
    {household}
  FROM read_csv('{inp}', header=true, all_varchar=true)
  GROUP BY "户编号"
  ORDER BY min(rowid)
) TO '{out}' (HEADER, DELIMITER ',');
"""


def agg_script(out, then_peer):
    with open(persons, encoding="utf-8-sig") as f:
        head = next(csv.reader(f))
    household = ",\n    ".join(f'any_value("{h}") AS "{h}"' for h in head[4 + len(PERSON):] + head[1:4])
    sql = AGG.format(household=household, inp=persons, out=out)
    threads = f"con.execute('SET threads={a.threads}')\n" if a.threads else ""
    peer_call = ""
    if then_peer:
        peer_call = (f"import subprocess, sys\nsubprocess.run([sys.executable, {str(peer)!r}, {str(out)!r}, "
                     f"{str(out) + '.peer.csv'!r}, '--year', '2024'], check=True)\n")
    return f"import duckdb\ncon = duckdb.connect()\n{threads}con.execute({sql!r})\n{peer_call}"


def timed(cmd):
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - t0
    err = p.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{cmd[0]} exited {code}:\n{err[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


generate()
out = work / "out.csv"
agg = work / "agg.csv"
jobs = {
    "tuopin": [str(tuopin), "assess", str(persons), "--year", "2024", "-o", str(out)],
    "duckdb": [sys.executable, "-c", agg_script(agg, False)],
    "duckdb+": [sys.executable, "-c", agg_script(agg, True)],
}
res = {k: [] for k in jobs}
for i in range(a.runs):
    for k, cmd in jobs.items():
        for f in (out, agg):
            f.unlink(missing_ok=True)
        res[k].append(timed(cmd))
        print(f"run {i + 1} {k}: wall {res[k][-1][0]:.1f} s, cpu {res[k][-1][1]:.1f} s, peak {res[k][-1][2]:.0f} MiB",
              file=sys.stderr)
rows = sum(1 for _ in open(persons, encoding="utf-8-sig")) - 1
print(f"person export: {a.households:,} households, {rows:,} person rows, {persons.stat().st_size / 1e9:.2f} GB")
print("| program | wall (median) | CPU (median) | peak RSS (max) |")
print("|---|---:|---:|---:|")
for k, v in res.items():
    print(f"| {k} | {statistics.median(x[0] for x in v):.1f} s | {statistics.median(x[1] for x in v):.1f} s | "
          f"{max(x[2] for x in v):.0f} MiB |")
med = {k: statistics.median(x[0] for x in v) for k, v in res.items()}
print(f"wall ratio tuopin / duckdb (aggregation only): {med['tuopin'] / med['duckdb']:.2f}; "
      f"tuopin / duckdb+ (aggregation and assessment): {med['tuopin'] / med['duckdb+']:.2f}")

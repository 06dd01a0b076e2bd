#!/usr/bin/env bash
# Generates a pair of consecutive quarters (default 100,000 households), runs `tuopin adjust`, and
# checks that the 汇总 adds up: previous = matched + gone + duplicated, current = matched + new +
# duplicated, and 新增户/减少户 lists have as many rows as the accounting says.
# usage: bench/check-adjust-accounting.sh [HOUSEHOLDS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
seed=${2:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
bin=target/release/tuopin
"$bin" demo-data --households "$n" --seed "$seed" --messy 0.02 --force -o "$work/q2.csv" --next-quarter "$work/q3.csv"
"$bin" adjust --previous "$work/q2.csv" --current "$work/q3.csv" --quarter 2024Q3 -o "$work/out" 2>"$work/summary.txt" || true
cat "$work/summary.txt"
python3 - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
s = {row[0]: int(row[1]) for row in csv.reader(open(f"{work}/out/汇总.csv", encoding="utf-8-sig")) if row[0] != "项目"}
prev_rows = sum(1 for _ in open(f"{work}/q2.csv", encoding="utf-8")) - 1
cur_rows = sum(1 for _ in open(f"{work}/q3.csv", encoding="utf-8")) - 1
rows = lambda name: sum(1 for _ in csv.reader(open(f"{work}/out/{name}.csv", encoding="utf-8-sig"))) - 1
checks = {
    "previous rows = file rows": s["上季度户数（行）"] == prev_rows,
    "current rows = file rows": s["本季度户数（行）"] == cur_rows,
    "previous = matched + gone + duplicated": s["上季度户数（行）"] == s["两季度均有"] + s["减少户"] + s["上季度户编号重复（任一季度）的行"],
    "current = matched + new + duplicated": s["本季度户数（行）"] == s["两季度均有"] + s["新增户"] + s["本季度户编号重复（任一季度）的行"],
    "新增户 list = new": rows("新增户") == s["新增户"],
    "减少户 list = gone": rows("减少户") == s["减少户"],
}
for k, ok in checks.items():
    print(("ok   " if ok else "FAIL ") + k)
sys.exit(0 if all(checks.values()) else 1)
PY

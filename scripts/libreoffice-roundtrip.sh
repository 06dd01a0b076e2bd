#!/usr/bin/env bash
# Shows that a workbook written by tuopin opens in another spreadsheet program with the same
# content: `tuopin assess -o 结果.xlsx`, converted to CSV by LibreOffice, equals tuopin's own CSV
# output cell for cell. Installs LibreOffice Calc (headless) from Debian if it is missing.
# usage: scripts/libreoffice-roundtrip.sh [LEDGER] [YEAR]
set -euo pipefail
cd "$(dirname "$0")/.."
ledger=${1:-examples/户表.csv}
year=${2:-2024}
if ! command -v soffice >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
bin=target/release/tuopin
"$bin" assess "$ledger" --year "$year" -o "$work/result.xlsx" 2>/dev/null || [ $? -eq 1 ]
"$bin" assess "$ledger" --year "$year" --format csv --no-bom > "$work/tuopin.csv" 2>/dev/null || [ $? -eq 1 ]
# 44 = comma, 34 = double quote, 76 = UTF-8; first sheet only.
(cd "$work" && timeout 300 soffice --headless --convert-to 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false' result.xlsx >/dev/null 2>&1)
python3 - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
# The CSV has a tab after each long number (so that spreadsheets keep it as text); the
# workbook's cells are text already.
a = [[c[:-1] if c.endswith("\t") and c[:-1].isdigit() else c for c in row]
     for row in csv.reader(open(f"{work}/tuopin.csv", encoding="utf-8"))]
b = list(csv.reader(open(f"{work}/result.csv", encoding="utf-8")))
if a == b:
    print(f"ok: LibreOffice reads back the same {len(a) - 1} rows × {len(a[0])} columns")
    sys.exit(0)
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        print(f"row {i + 1} differs:\n  tuopin:      {x}\n  LibreOffice: {y}")
        break
print(f"rows: tuopin {len(a)}, LibreOffice {len(b)}")
sys.exit(1)
PY

#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, from the repository's own files: fuzz/seeds/<target>/.

  cells        every distinct cell of the example and test CSVs, plus spellings from the README
  csv_ledger   examples/*.csv, tests/bad-inputs/*.csv, tests/data/**/*.csv
  xlsx_ledger  examples/*.xlsx, plus small workbooks of a few test CSVs (when openpyxl is there)
  rules        rules/*.toml (not the cases), tests/data/rules/*.toml
  condition    every condition, met/unmet, when and derive expression of rules/*.toml

The seeds are regenerated on every run of scripts/fuzz.sh and not committed; what the fuzzer keeps
of them after minimising is (fuzz/corpus/<target>/).
"""

import csv
import hashlib
import io
import pathlib
import shutil
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "seeds"

EXTRA_CELLS = [
    "３，５００元", "3,500", "12,345.67", "-120", "4.0", "4人", "2023年6月", "2023-06-15", "2023/6",
    "45078", "45078.0", "√", "×", "11010519491231002x", "130503670401001", "520000196803120314",
    "\u3000是\u3000", "\ufeff3500", "1e3", "9999-12-31",
]


def write(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def csv_files():
    return sorted(
        list((ROOT / "examples").glob("*.csv"))
        + list((ROOT / "tests" / "bad-inputs").glob("*.csv"))
        + list((ROOT / "tests" / "data").rglob("*.csv"))
    )


def expressions(node):
    """Every condition-like string in a parsed rule file."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("condition", "met", "unmet", "when", "derive") and isinstance(v, str):
                yield v
            else:
                yield from expressions(v)
    elif isinstance(node, list):
        for v in node:
            yield from expressions(v)


def small_workbooks():
    """A few small ledgers as workbooks: numbers as numbers, a date cell, a merged title row."""
    try:
        import datetime
        import openpyxl
    except ImportError:
        return
    for name in ("reasons.csv", "bad-cells.csv", "persons-conflict.csv", "bad-id.csv"):
        rows = list(csv.reader(open(ROOT / "tests" / "data" / name, encoding="utf-8-sig")))
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.cell(1, 1, "标题")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=3)
        for r, row in enumerate(rows, start=2):
            for c, v in enumerate(row, start=1):
                if r > 2 and v.isdigit() and len(v) < 9:
                    ws.cell(r, c, int(v))
                elif r > 2 and len(v) == 6 and v.isdigit():
                    ws.cell(r, c, datetime.date(int(v[:4]), int(v[4:]), 1))
                else:
                    ws.cell(r, c, v)
        buf = io.BytesIO()
        wb.save(buf)
        write("xlsx_ledger", buf.getvalue())


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    cells = set(EXTRA_CELLS)
    for p in csv_files():
        data = p.read_bytes()
        write("csv_ledger", data)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        for row in csv.reader(io.StringIO(text)):
            cells.update(c for c in row if c.strip())
    for c in sorted(cells):
        write("cells", c.encode("utf-8"))
    for p in sorted((ROOT / "examples").glob("*.xlsx")):
        write("xlsx_ledger", p.read_bytes())
    small_workbooks()
    rule_files = [p for p in (ROOT / "rules").glob("*.toml") if not p.name.endswith(".cases.toml")]
    rule_files += list((ROOT / "tests" / "data" / "rules").glob("*.toml"))
    for p in sorted(rule_files):
        write("rules", p.read_bytes())
    for p in sorted((ROOT / "rules").glob("*.toml")):
        if p.name.endswith(".cases.toml"):
            continue
        for e in set(expressions(tomllib.loads(p.read_text()))):
            write("condition", e.encode("utf-8"))
    for t in sorted(OUT.iterdir()):
        print(f"seeds/{t.name}: {len(list(t.iterdir()))} files")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Peak memory of `tuopin assess` on hostile inputs and on a maximal sheet (BENCHMARKS.md,
"Hostile inputs: peak memory").

Generates each file once under --work (deterministic; the large ones take a while: the maximal
sheet, 1,048,576 rows x 50 columns, is about 2.4 GB of XML, deflated by Python's zlib), then runs
the release binary on each and reports its exit code, wall time, peak RSS (/usr/bin/time -v)
and the first line of its message. Nothing here is part of `cargo test`: the tests build small
versions of the same cases (tests/cli/bad_inputs.rs).

usage: python3 bench/hostile.py [--work DIR] [--only NAME ...] [--no-max-sheet]
"""
import argparse, os, subprocess, sys, time, zipfile, zlib
from pathlib import Path

from xlsx import col  # bench/xlsx.py: a column's letters (0 → A)

root = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser()
ap.add_argument("--work", default="/tmp/tuopin-hostile")
ap.add_argument("--only", nargs="*")
ap.add_argument("--no-max-sheet", action="store_true")
a = ap.parse_args()
work = Path(a.work)
work.mkdir(parents=True, exist_ok=True)
tuopin = root / "target/release/tuopin"
GiB = 1 << 30

header_line = (root / "examples/户表.csv").read_text(encoding="utf-8-sig").splitlines()[0]
sample = (root / "examples/户表.csv").read_text(encoding="utf-8-sig").splitlines()[1]
HEADER = header_line.split(",")
ROW = sample.split(",")
ROW += [""] * (len(HEADER) - len(ROW))


def esc(v):
    return v.replace("&", "&amp;").replace("<", "&lt;")


CT = """<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"""
WB = """<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="户表" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WB_RELS = """<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"""
SHEET_HEAD = """<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dim}"/><sheetData>"""
SST_EMPTY = """<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>"""


def header_row_xml():
    cells = "".join(f'<c r="{col(c)}1" t="inlineStr"><is><t>{esc(h)}</t></is></c>' for c, h in enumerate(HEADER))
    return f'<row r="1">{cells}</row>'


def xlsx(path, dim, sheet_chunks, sst_chunks=None):
    """A workbook whose sheet data and shared strings come from generators of str/bytes chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as z:
        for name, body in [("[Content_Types].xml", CT), ("_rels/.rels", RELS), ("xl/workbook.xml", WB), ("xl/_rels/workbook.xml.rels", WB_RELS)]:
            z.writestr(name, body)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(SHEET_HEAD.format(dim=dim).encode())
            for ch in sheet_chunks:
                f.write(ch if isinstance(ch, bytes) else ch.encode())
            f.write(b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            for ch in sst_chunks or [SST_EMPTY]:
                f.write(ch if isinstance(ch, bytes) else ch.encode())


def repeat(piece, total, chunk=1 << 24):
    block = piece * (chunk // len(piece))
    left = total
    while left > 0:
        yield block[:left]
        left -= len(block)


def gen_csv_no_newline(p):
    with open(p, "wb") as f:
        f.write((header_line + "\n").encode())
        for ch in repeat(b"x", GiB):
            f.write(ch)


def gen_csv_open_quote(p):
    with open(p, "wb") as f:
        f.write((header_line + "\n" + sample + "\n\"").encode())
        for ch in repeat(b"a,b\n", GiB):
            f.write(ch)


def gen_csv_commas(p):
    # 1 GiB of delimiters after the header: one record of 1G columns, no line break.
    with open(p, "wb") as f:
        f.write((header_line + "\n").encode())
        for ch in repeat(b",", GiB):
            f.write(ch)


def gen_csv_big_records(p):
    # 300 records just under the record limit (one 1,000,000-byte cell each): the most a CSV can
    # put in flight in the pipeline.
    row = sample.split(",")
    with open(p, "w", encoding="utf-8") as f:
        f.write(header_line + "\n")
        for i in range(300):
            r = list(row)
            r[0] = f"B{i:06d}"
            r[4] = "x" * 1_000_000
            f.write(",".join(r) + "\n")


def gen_sst_at_limit(p):
    # 4,900,000 distinct shared strings, 166 MB of XML: just under both shared-string limits,
    # all held by calamine; the sheet uses the first 50,000 as its 户编号 column.
    n = 4_900_000
    def sst():
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">'
        for i in range(0, n, 100_000):
            yield "".join(f"<si><t>S{j:017d}</t></si>" for j in range(i, i + 100_000))
        yield "</sst>"
    def chunks():
        yield header_row_xml()
        for r in range(2, 50_002):
            cells = "".join(
                (f'<c r="A{r}" t="s"><v>{r - 2}</v></c>' if c == 0 else f'<c r="{col(c)}{r}" t="inlineStr"><is><t>{esc(v)}</t></is></c>')
                for c, v in enumerate(ROW) if v)
            yield f'<row r="{r}">{cells}</row>'
    xlsx(p, "A1:AM50001", chunks(), sst())


def gen_csv_dups(p):
    # 20,000 rows sharing one 户编号 (the 4.6 MB input).
    row = sample.split(",")
    row[0] = "5200010101001"
    line = ",".join(row)
    with open(p, "w", encoding="utf-8") as f:
        f.write(header_line + "\n")
        for _ in range(20_000):
            f.write(line + "\n")


def gen_cell_bomb(p):
    # One 3 GiB cell (inline string) in an otherwise ordinary sheet.
    def chunks():
        yield header_row_xml()
        yield '<row r="2"><c r="A2" t="inlineStr"><is><t>'
        yield from repeat(b"a", 3 * GiB)
        yield "</t></is></c></row>"
    xlsx(p, "A1:AM2", chunks())


def gen_cell_dense(p):
    # One 1 GiB cell of random a/b (compresses about 7:1: under the ratio limit).
    table = bytes((97 + (b & 1)) for b in range(256))
    def chunks():
        yield header_row_xml()
        yield '<row r="2"><c r="A2" t="inlineStr"><is><t>'
        for _ in range(64):
            yield os.urandom(1 << 24).translate(table)
        yield "</t></is></c></row>"
    xlsx(p, "A1:AM2", chunks())


def gen_whitespace_bomb(p):
    def chunks():
        yield header_row_xml()
        yield from repeat(b" ", 3 * GiB)
    xlsx(p, "A1:AM1", chunks())


def gen_sst_bomb(p):
    # 10^8 shared strings (1.2 GB of XML), declared as such.
    n = 100_000_000
    def sst():
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">'
        yield from repeat(b"<si><t/></si>", 12 * n)
        yield "</sst>"
    xlsx(p, "A1:AM1", [header_row_xml()], sst())


def gen_sst_bomb_undeclared(p):
    # The same strings without the declared count, under the ratio limit (each string differs).
    n = 6_000_000
    def sst():
        yield '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        for i in range(0, n, 100_000):
            yield "".join(f"<si><t>{j}</t></si>" for j in range(i, i + 100_000))
        yield "</sst>"
    xlsx(p, "A1:AM1", [header_row_xml()], sst())


def gen_far_cell(p):
    # The whole grid declared, one cell at XFD1048576 (run with --max-columns 16384).
    def chunks():
        yield header_row_xml()
        cells = "".join(f'<c r="{col(c)}2" t="inlineStr"><is><t>{esc(v)}</t></is></c>' for c, v in enumerate(ROW) if v)
        yield f'<row r="2">{cells}</row>'
        yield '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    xlsx(p, "A1:XFD1048576", chunks())


def gen_max_sheet(p):
    # A real maximal sheet: the header and 1,048,575 households, 50 columns (the national columns
    # and 11 more), text as inline strings, numbers as numbers.
    width = 50
    header = HEADER + [f"备注{i}" for i in range(width - len(HEADER))]
    base = ROW + [f"说明{i}" for i in range(width - len(ROW))]
    numeric = [c for c, v in enumerate(base) if v.replace(".", "", 1).isdigit() and c != 0 and len(v) < 12]

    def cell(r, c, v):
        if c in numeric:
            return f'<c r="{col(c)}{r}"><v>{v}</v></c>'
        return f'<c r="{col(c)}{r}" t="inlineStr"><is><t>{esc(v)}</t></is></c>'

    cols = [col(c) for c in range(width)]

    def chunks():
        cells = "".join(f'<c r="{cols[c]}1" t="inlineStr"><is><t>{esc(h)}</t></is></c>' for c, h in enumerate(header))
        yield f'<row r="1">{cells}</row>'
        buf = []
        for r in range(2, 1_048_577):
            v = list(base)
            v[0] = f"52{r:011d}"
            buf.append(f'<row r="{r}">' + "".join(cell(r, c, x) for c, x in enumerate(v) if x) + "</row>")
            if len(buf) == 2000:
                yield "".join(buf)
                buf = []
        yield "".join(buf)
    xlsx(p, f"A1:{cols[-1]}1048576", chunks())


CASES = [
    # name, file, generator, extra args
    ("csv: 1 GiB without a line break", "no-newline.csv", gen_csv_no_newline, []),
    ("csv: a quote opened, 1 GiB after it", "open-quote.csv", gen_csv_open_quote, []),
    ("csv: 1 GiB of commas on one line", "commas.csv", gen_csv_commas, []),
    ("csv: 20,000 rows with one 户编号 (4.6 MB)", "dups.csv", gen_csv_dups, []),
    ("csv: 300 records of 1 MB (at the record limit)", "big-records.csv", gen_csv_big_records, []),
    ("xlsx: one 3 GiB cell (zip bomb)", "cell-bomb.xlsx", gen_cell_bomb, []),
    ("xlsx: one 1 GiB cell, 7:1 (under the ratio limit)", "cell-dense.xlsx", gen_cell_dense, []),
    ("xlsx: 3 GiB of whitespace (zip bomb)", "space-bomb.xlsx", gen_whitespace_bomb, []),
    ("xlsx: 3 GiB of whitespace, --max-xlsx-ratio 2000", "space-bomb.xlsx", gen_whitespace_bomb, ["--max-xlsx-ratio", "2000"]),
    ("xlsx: 10^8 shared strings (declared)", "sst-bomb.xlsx", gen_sst_bomb, []),
    ("xlsx: 6M shared strings (not declared)", "sst-many.xlsx", gen_sst_bomb_undeclared, []),
    ("xlsx: 4.9M shared strings, 166 MB (at both limits)", "sst-at-limit.xlsx", gen_sst_at_limit, []),
    ("xlsx: dimension and a cell at XFD1048576", "far-cell.xlsx", gen_far_cell, []),
    ("xlsx: same, --max-columns 16384", "far-cell.xlsx", gen_far_cell, ["--max-columns", "16384"]),
    ("xlsx: maximal sheet 1,048,576 × 50", "max-sheet.xlsx", gen_max_sheet, []),
]

subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tuopin"], cwd=root, check=True)
print(f"| case | exit | wall s | peak RSS MiB | message |\n|---|---|---|---|---|")
for name, fname, gen, extra in CASES:
    if a.only and not any(o in fname or o in name for o in a.only):
        continue
    if a.no_max_sheet and fname == "max-sheet.xlsx":
        continue
    path = work / fname
    if not path.exists():
        t = time.time()
        gen(path)
        print(f"(generated {fname}: {path.stat().st_size / 1e6:.1f} MB in {time.time() - t:.0f} s)", file=sys.stderr)
    out = work / "out.csv"
    if out.exists():
        out.unlink()
    # Peak RSS from /usr/bin/time (os.wait4 on a child of this process would count this
    # process's own RSS at the fork, which the generators make large).
    t = time.time()
    run = subprocess.run(["/usr/bin/time", "-v", str(tuopin), "assess", str(path), "--year", "2024", "-o", str(out), *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.time() - t
    err = run.stderr.decode(errors="replace")
    rss_kib = int(next(l for l in err.splitlines() if "Maximum resident set size" in l).split(":")[1])
    code = int(next(l for l in err.splitlines() if "Exit status" in l).split(":")[1])
    err = err.split("\tCommand being timed")[0]
    lines = [l for l in err.splitlines() if l.strip()]
    msg = next((l for l in lines if "错误" in l), lines[-1] if lines else "")
    if code != 2 and len(lines) > 1:
        msg = next((l for l in lines if l.startswith("读取")), msg)
    msg = msg.replace(str(work) + "/", "")[:160]
    size = f"{out.stat().st_size / 1e6:.1f} MB out" if out.exists() else ""
    print(f"| {name} | {code} | {wall:.1f} | {rss_kib / 1024:.0f} | {msg} {size} |", flush=True)

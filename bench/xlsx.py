#!/usr/bin/env python3
"""A CSV ledger as an .xlsx workbook, in one of two shapes (for bench/run.py):
  inline  every cell an inline string (`<c t="inlineStr"><is><t>…`), as openpyxl's write-only mode
          writes them: about 2 KB of sheet XML a household, the worst case for a reader;
  shared  as Excel and WPS write: texts in the shared-strings part, numbers whose text round-trips
          as numbers (`<v>3500</v>`), empty cells left out.
Both read as the same cell texts as the CSV, so tuopin's output from either equals its output
from the CSV. The XML is written directly (openpyxl's normal mode holds the sheet in memory).

usage: python3 bench/xlsx.py inline|shared IN.csv OUT.xlsx
"""
import csv, re, sys, zipfile
from xml.sax.saxutils import escape

def col(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s

NUM = re.compile(r"-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?$")

def shown(f):
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return repr(f)

def write(mode, src, out):
    z = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6)
    z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
    z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="户表" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>')
    z.writestr("xl/styles.xml", '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>')
    sst, order = {}, []
    with open(src, encoding="utf-8-sig", newline="") as f, z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as w:
        w.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        cols = [col(i) for i in range(200)]
        buf = []
        for n, row in enumerate(csv.reader(f), 1):
            cells = []
            for i, v in enumerate(row):
                ref = f"{cols[i]}{n}"
                if mode == "inline":
                    cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
                    continue
                if v == "":
                    continue
                if NUM.match(v) and shown(float(v)) == v:
                    cells.append(f'<c r="{ref}"><v>{v}</v></c>')
                    continue
                k = sst.get(v)
                if k is None:
                    k = sst[v] = len(order)
                    order.append(v)
                cells.append(f'<c r="{ref}" t="s"><v>{k}</v></c>')
            buf.append(f'<row r="{n}">{"".join(cells)}</row>')
            if len(buf) >= 1000:
                w.write("".join(buf).encode())
                buf = []
        w.write("".join(buf).encode())
        w.write(b"</sheetData></worksheet>")
    with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as w:
        w.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(order)}" uniqueCount="{len(order)}">'.encode())
        for i in range(0, len(order), 10000):
            w.write("".join(f"<si><t>{escape(s)}</t></si>" for s in order[i:i + 10000]).encode())
        w.write(b"</sst>")
    z.close()
    print(f"{out}: {len(order)} shared strings", file=sys.stderr)

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("inline", "shared"):
        sys.exit(__doc__)
    write(*sys.argv[1:4])

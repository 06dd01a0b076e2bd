#!/usr/bin/env python3
"""Builds the committed XLSX fixtures from the CSV example ledger (pip install openpyxl==3.1.5).

examples/户表.xlsx: the same households as examples/户表.csv, as the national system and Excel
export them: two title rows above the header (the first merged across the sheet), clean numbers
stored as numbers — except every third row, whose numbers are stored as text — and 识别监测时间 as
real Excel date cells where the CSV has YYYYMM. Messy cells (3,850元, ４２００, √) stay text.
usage: python3 tests/data/make-xlsx.py
"""
import csv
import datetime
import re
from pathlib import Path

import openpyxl

root = Path(__file__).resolve().parents[2]
rows = list(csv.reader(open(root / "examples/户表.csv", encoding="utf-8-sig")))
header, data = rows[0], rows[1:]
since = header.index("识别监测时间")
ids = {header.index(h) for h in ("户编号", "户主证件号码")}

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "户表"
ws.cell(1, 1, "示例县2024年农户信息台账（演示数据）")
ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
ws.cell(2, 1, "导出单位：示例县乡村振兴局")
ws.cell(2, 8, "金额单位：元")
ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=4)
for c, h in enumerate(header, 1):
    ws.cell(3, c, h)
for r, row in enumerate(data, 4):
    as_text = r % 3 == 0
    for c, v in enumerate(row, 1):
        col = c - 1
        if v == "":
            continue
        if col == since and re.fullmatch(r"\d{6}", v):
            ws.cell(r, c, datetime.date(int(v[:4]), int(v[4:]), 1)).number_format = "yyyy-mm"
        elif col not in ids and not as_text and re.fullmatch(r"-?\d+(\.\d+)?", v):
            ws.cell(r, c, float(v) if "." in v else int(v))
        else:
            ws.cell(r, c, v)
wb.save(root / "examples/户表.xlsx")
print("wrote examples/户表.xlsx")

#!/usr/bin/env python3
"""Writes the department lists of tests/cli/comparison.rs (精准比对, issue #16) for the person export
examples/人员表.csv (and its ledger form tests/data/persons-as-ledger.csv): lists that hit a KNOWN set
of members, with the ID spellings real lists hold — spaces, full-width digits, lower-case x, the
15-digit form, Excel's text marker — plus rows that cannot match: IDs Excel turned into numbers
(scientific notation, trailing 000), invalid IDs, a blank ID, and valid IDs of nobody in the ledger.
A phone number and an ID are planted in free-text columns (the privacy test greps every output).
The expected matches are written by hand in tests/cli/comparison.rs.
usage: python3 tests/data/comparison/make.py
"""
import csv
from pathlib import Path

here = Path(__file__).resolve().parent
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check(body):
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() or c == "X" else c for c in s)


NOBODY = "110101199003070" + "01"
NOBODY += check(NOBODY)  # a valid ID of nobody in the ledger

lists = {
    # 车辆登记: P003's head (spaces), P005's head (full-width), P004's head in the 15-digit form.
    "cars.csv": (["车辆登记信息（示例县公安局交警大队导出）"], ["序号", "车主姓名", "身份证号码", "号牌号码", "车辆类型", "登记日期", "联系电话"], [
        [1, "杨某平", "520000 19800202 0012", "贵A12345", "小型轿车", "2022-05-10", "13812345678"],
        [2, "吴某勇", fullwidth("520000199009090018"), "贵B54321", "小型越野客车", "2023-11-01", ""],
        [3, "黄某秀", "520000680510001", "贵C00001", "小型普通客车", "2021-03-15", ""],
        [4, "陈某强", "5.20000197408080E+17", "贵A99999", "小型轿车", "2020-01-01", ""],
        [5, "刘某英", "520000197611300000", "贵A88888", "小型轿车", "2020-01-01", ""],
        [6, "某某", "52000019740808001", "贵A77777", "小型轿车", "2020-01-01", ""],
        [7, "无证号", "", "贵A66666", "小型轿车", "2020-01-01", ""],
        [8, "外县人", NOBODY, "贵A55555", "小型轿车", "2020-01-01", ""],
    ]),
    # 财政供养人员: P004's spouse (Excel's text marker), with an ID planted in 工作单位.
    "public.csv": ([], ["姓名", "证件号码", "工作单位"], [
        ["周某梅", "'520000197001010029", "示例县第一中学（备注：520000197001010029）"],
    ]),
    # 学籍: P001's child (lower-case x). P003's 杨某林 (14) is not in it.
    "xueji.csv": ([], ["学生姓名", "学生身份证号", "学校名称", "年级"], [
        ["王某明", "52000020140901003x", "青山镇中心小学（班主任电话 13812345678）", "五年级"],
        ["黄某林", "520000200503030032", "示例县第一中学", "高一"],
    ]),
    # 医保参保: everyone but P002's 刘某英 (who the person export also says is not insured).
    "insured.csv": ([], ["姓名", "公民身份号码", "险种"], [
        [n, i, "城乡居民基本医疗保险"] for n, i in [
            ("王某华", "520000197903050011"), ("李某芳", "520000198106120026"), ("王某明", "52000020140901003X"),
            ("赵某兰", "520000194901200043"), ("陈某强", "520000197408080010"), ("陈某军", "520000201104150023"),
            ("杨某平", "520000198002020012"), ("杨某林", "520000201007070021"), ("黄某秀", "520000196805100017"),
            ("吴某勇", "520000199009090018"), ("周某梅", "520000197001010029"), ("吴某梅", "52000019921010002X"),
            ("黄某林", "520000200503030032")]
    ]),
    # 医保大额自付: P005's 吴某梅, two settlements (5000 + 1000.50 = 6000.50 > the national 监测范围 of
    # 2024, 6000); P003's head 300 (below it).
    "medical.csv": ([], ["姓名", "身份证号码", "个人自付金额", "结算日期"], [
        ["吴某梅", "52000019921010002x", "5000", "2024-03-02"],
        ["吴某梅", "52000019921010002X", "1000.50", "2024-08-19"],
        ["杨某平", "520000198002020012", "300", "2024-05-01"],
    ]),
}

for name, (title, header, rows) in lists.items():
    with open(here / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        if title:
            w.writerow(title)
        w.writerow(header)
        w.writerows(rows)
print("wrote", ", ".join(lists))

#!/usr/bin/env python3
"""Writes examples/人员表.csv (a person export, one row per person) and
tests/data/persons-as-ledger.csv: the same households as a household ledger, with the member facts
(members, labour, dropouts, insured, ill, disabled) worked out BY HAND below from the member rows
(data-dictionary.md, "Person export"), assessed at 2024-12-31 (compulsory-school ages 6–15).
usage: python3 tests/data/make-persons.py
"""
import csv
from pathlib import Path

root = Path(__file__).resolve().parents[2]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def idno(birth, seq):
    body = f"520000{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]

P = ["户编号", "县(市、区、旗)", "乡(镇)", "行政村", "人编号", "姓名", "证件号码", "与户主关系", "在校生状况", "失学或辍学原因",
     "健康状况", "劳动技能", "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险", "是否参加大病保险",
     "户类型", "人均纯收入（元）", "上年人均纯收入（元）", "不愁吃", "不愁穿", "危房等级", "住房安全保障方式",
     "是否解决安全饮用水", "监测对象类别", "识别监测时间", "风险是否消除", "合规自付医疗支出", "教育支出", "其他刚性支出",
     "是否受灾", "有财政供养人员", "有小汽车", "城镇购房", "经营公司", "民主评议", "公示无异议", "户认可"]
# household columns: type, pci, prev, food, clothing, grade, secured, water, monitor, since, eliminated, 3 expenses, disaster, 4 exclusions, 3 steps
H = {
  "P001": ["贫困户", "4600", "4100", "是", "是", "B", "", "是", "", "", "", "", "", "", "否", "否", "否", "否", "否", "是", "是", "是"],
  "P002": ["脱贫户", "7000", "7200", "是", "是", "A", "", "是", "", "", "", "", "", "", "否", "否", "否", "否", "否", "", "", ""],
  "P003": ["一般农户", "9000", "8800", "是", "是", "A", "", "是", "", "", "", "", "", "", "否", "否", "否", "否", "否", "", "", ""],
  "P004": ["脱贫户", "8200", "8000", "是", "是", "A", "", "是", "脱贫不稳定户", "202301", "否", "", "", "", "否", "否", "否", "否", "否", "", "", ""],
  "P005": ["一般农户", "5500", "5600", "是", "是", "A", "", "是", "", "", "", "", "", "", "否", "否", "否", "否", "否", "", "", ""],
}
loc = ["示例县", "青山镇", "石桥村"]
# (household, person no., name, birth, relation, school, reason, health, skill, resident ins., employee ins., serious ins.)
people = [
  ("P001", 1, "王某华", "19790305", "户主", "非在校生", "", "健康", "普通劳动力", "是", "否", "是"),
  ("P001", 2, "李某芳", "19810612", "配偶", "非在校生", "", "健康", "普通劳动力", "是", "否", "是"),
  ("P001", 3, "王某明", "20140901", "之子", "小学", "", "健康", "无劳动力", "是", "否", "是"),
  ("P001", 4, "赵某兰", "19490120", "之母", "非在校生", "", "长期慢性病", "丧失劳动力", "是", "否", "是"),
  ("P002", 1, "陈某强", "19740808", "户主", "非在校生", "", "残疾", "弱劳动力或半劳动力", "是", "否", "是"),
  ("P002", 2, "陈某军", "20110415", "之子", "非在校生", "厌学", "健康", "无劳动力", "是", "否", "是"),
  ("P002", 3, "刘某英", "19761130", "配偶", "非在校生", "", "健康", "普通劳动力", "否", "否", "否"),
  ("P003", 1, "杨某平", "19800202", "户主", "非在校生", "", "健康", "技能劳动力", "是", "否", "是"),
  ("P003", 2, "杨某林", "20100707", "之子", "非在校生", "因残", "残疾", "无劳动力", "是", "否", "是"),
  ("P004", 1, "黄某秀", "19680510", "户主", "非在校生", "", "健康", "普通劳动力", "是", "否", "是"),
  ("P005", 1, "吴某勇", "19900909", "户主", "非在校生", "", "健康", "普通劳动力", "是", "否", "是"),
  ("P004", 2, "周某梅", "19700101", "配偶", "非在校生", "", "大病", "", "是", "否", "是"),
  ("P005", 2, "吴某梅", "19921010", "配偶", "非在校生", "", "健康", "普通劳动力", "是", "否", "是"),
  ("P004", 3, "黄某林", "20050303", "之子", "高一", "", "健康", "普通劳动力", "是", "否", "是"),
]
rows = []
for (h, n, name, birth, rel, school, reason, health, skill, r1, r2, r3) in people:
    hh = H[h] if rel == "户主" or h != "P001" else [""] * len(H[h])  # P001: household columns on the head's row only
    rows.append([h, *loc, f"{h}{n:02d}", name, idno(birth, n), rel, school, reason, health, skill, r1, r2, r3, *hh])
with open(root / "examples/人员表.csv", "w", encoding="utf-8-sig", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(P)
    w.writerows(rows)

# By hand, from the rows above (ages at 2024-12-31):
# P001: 4 members; labour: head, spouse (普通) = 2; child 10 in 小学, not a dropout → 0; all insured → 4;
#       ill: mother 长期慢性病 → 1; disabled 0.
# P002: 3 members; labour: head 弱劳动力或半劳动力 + spouse 普通 = 2; son 13 非在校生 厌学 → dropout 1;
#       spouse 否 in both insurance columns → uninsured: insured 2 (< 3); ill 0; disabled: head → 1.
# P003: 2 members; labour 1; son 14 非在校生 因残 → exempt, dropouts 0; insured 2; ill 0; disabled 1.
# P004 (members not adjacent): 3 members; spouse's 劳动技能 blank → labour unknown (blank);
#       son 19 高一, not school age → dropouts 0; insured 3; ill: spouse 大病 → 1; disabled 0.
# P005: 2 members; labour 2; dropouts 0; insured 2; ill 0; disabled 0.
facts = {  # members, labor, dropouts, insured, ill, disabled, head name, head id
  "P001": ("4", "2", "0", "4", "1", "0", "王某华", idno("19790305", 1)),
  "P002": ("3", "2", "1", "2", "0", "1", "陈某强", idno("19740808", 1)),
  "P003": ("2", "1", "0", "2", "0", "1", "杨某平", idno("19800202", 1)),
  "P004": ("3", "", "0", "3", "1", "0", "黄某秀", idno("19680510", 1)),
  "P005": ("2", "2", "0", "2", "0", "0", "吴某勇", idno("19900909", 1)),
}
L = ["户编号", "县(市、区、旗)", "乡(镇)", "行政村", "户主姓名", "户主证件号码", "家庭人口数", "劳动力人数", "失学辍学人数",
     "参加基本医疗保险人数", "大病慢性病人数", "残疾人数"] + P[15:]
with open(root / "tests/data/persons-as-ledger.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(L)
    for h in ["P001", "P002", "P003", "P004", "P005"]:
        m, lab, d, ins, ill, dis, name, hid = facts[h]
        w.writerow([h, *loc, name, hid, m, lab, d, ins, ill, dis, *H[h]])
print("wrote examples/人员表.csv and tests/data/persons-as-ledger.csv")

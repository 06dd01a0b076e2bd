#!/usr/bin/env python3
"""Writes tests/data/national-export.csv: an invented person export (one row per person, no real
people) in the shape of the post-2020 national monitoring system's export as a county office has
it (policy.md §6.3, data-dictionary.md): household columns repeated on every member's row, the
monitoring columns (监测对象类别, 识别监测时间, 风险是否已消除, 风险消除方式, 消除监测时间,
致贫/返贫风险1…5), 三保障和饮水状况 as 是/否 columns (是否危房户, 是否解决安全饮用水,
是否义务教育阶段适龄儿童少年失学辍学), welfare (享受低保政策情况, 享受特困供养政策情况), the
fourteen 帮扶措施 columns, and the person columns (与户主关系, 在校生状况, 义务教育阶段未上学原因,
健康状况, 劳动技能, insurance). Like the real export it has NO 不愁吃, 不愁穿, 危房等级,
住房安全保障方式, 上年人均纯收入, 是否受灾, exclusion or exit-procedure columns.

A few cells are messy on purpose (a blank 劳动技能, a 识别监测时间 written 2023年6月, an income
written 约3000, a blank 是否危房户). The same seed gives the same file.
usage: python3 tests/data/make-national-export.py
"""
import csv
import random
from pathlib import Path

root = Path(__file__).resolve().parents[2]
rng = random.Random(15)
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def idno(birth, seq):
    body = f"522700{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]


MEASURES = ["产业帮扶", "就业帮扶", "公益性岗位帮扶", "金融帮扶", "健康帮扶", "教育帮扶", "住房安全保障", "饮水安全保障",
            "综合保障", "社会帮扶", "搬迁", "其他帮扶", "实施开发式帮扶措施情况", "义务教育保障"]
HEADER = (["县", "乡", "村", "户编号", "人编号", "证件类型", "证件号码", "姓名", "性别", "民族", "与户主关系", "户类型",
           "监测对象类别", "识别监测时间", "风险是否已消除", "风险消除方式", "消除监测时间"]
          + [f"致贫/返贫风险{i}" for i in range(1, 6)]
          + ["文化程度", "在校生状况", "义务教育阶段未上学原因", "失学或辍学原因", "健康状况", "劳动技能",
             "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险", "是否参加大病保险", "享受低保政策情况",
             "享受特困供养政策情况", "是否危房户", "是否解决安全饮用水", "是否义务教育阶段适龄儿童少年失学辍学",
             "人均纯收入（元）", "工资性收入", "生产经营性收入", "转移性收入", "合规自付支出"]
          + MEASURES)
VILLAGES = [("示例县", "青山镇", "石桥村"), ("示例县", "青山镇", "河口村"), ("示例县", "白云乡", "坪上村")]
SURNAMES = "王李张刘陈杨黄赵吴周"


def pick(pairs):
    """One value of [(value, weight), …]."""
    x = rng.random() * sum(w for _, w in pairs)
    for v, w in pairs:
        x -= w
        if x < 0:
            return v
    return pairs[-1][0]


def school_of(age):
    if age < 3:
        return ""
    if age < 6:
        return "学前教育"
    if age <= 15:
        return "小学" if age <= 11 else ["七年级", "八年级", "九年级", "九年级"][age - 12]
    if age <= 18:
        return pick([("非在校生", 3), ("高一", 1), ("中职一年级", 1)])
    if age <= 22:
        return pick([("非在校生", 3), ("本科一年级", 1)])
    return "非在校生"


rows = []
households = 80
for h in range(1, households + 1):
    county, town, village = VILLAGES[h % 3]
    hid = f"5227{h:08d}"
    kind = pick([("脱贫户", 6), ("一般农户", 4)])
    monitored = pick([(True, 3), (False, 7)])
    mtype = ""
    since = ""
    eliminated, how, elim_when = "", "", ""
    risks = []
    if monitored:
        mtype = pick([("脱贫不稳定户", 4), ("边缘易致贫户", 4), ("突发严重困难户", 2)]) if kind == "脱贫户" else \
            pick([("边缘易致贫户", 3), ("突发严重困难户", 1)])
        year, month = rng.choice([2021, 2022, 2023, 2024]), rng.randint(1, 12)
        since = f"{year}{month:02d}"
        eliminated = pick([("是", 4), ("否", 6)])
        if eliminated == "是":
            how = pick([("帮扶消除", 3), ("自然消除", 1)])
            elim_when = f"{min(year + 1, 2024)}{month:02d}"
        risks = rng.sample(["因病", "因残", "因学", "因灾", "缺劳动力", "因务工就业不稳", "因安全住房", "因安全饮水"],
                           rng.randint(1, 2))
    # Members: a head, maybe a spouse, children, a parent.
    head_age = rng.randint(28, 70)
    people = [("户主", head_age)]
    if rng.random() < 0.8:
        people.append(("配偶", head_age + rng.randint(-4, 4)))
    for k in range(rng.randint(0, 3) if head_age < 55 else 0):
        people.append(("之子" if rng.random() < 0.5 else "之女", max(1, head_age - 22 - rng.randint(0, 12))))
    if head_age < 50 and rng.random() < 0.4:
        people.append(("之母", head_age + rng.randint(22, 30)))
    dropout_hh = False
    members = []
    for n, (rel, age) in enumerate(people, start=1):
        birth = f"{2024 - age}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        school = school_of(age)
        reason = ""
        if 6 <= age <= 15 and rng.random() < 0.1:
            school = "非在校生"
            reason = pick([("因病", 1), ("厌学", 2)])
            if reason == "厌学":
                dropout_hh = True
        health = pick([("健康", 8), ("长期慢性病", 1), ("残疾", 0.5), ("患大病", 0.5)]) if age >= 18 else \
            pick([("健康", 12), ("残疾", 0.5)])
        if age < 16:
            skill = "无劳动力"
        elif age >= 70:
            skill = "丧失劳动力"
        else:
            skill = pick([("普通劳动力", 6), ("技能劳动力", 2), ("弱劳动力或半劳动力", 1)])
            if health in ("残疾", "患大病") and rng.random() < 0.5:
                skill = "丧失劳动力"
        ins = pick([("是", 19), ("否", 1)])
        members.append([f"{hid}{n:02d}", "居民身份证", idno(birth, n),
                        SURNAMES[h % 10] + "某" + "甲乙丙丁戊己庚辛"[n % 8], "男" if n % 2 else "女", "汉族", rel,
                        ["初中", "小学", "高中"][n % 3], school, reason if school == "非在校生" and 6 <= age <= 15 else "",
                        reason if school == "非在校生" and 6 <= age <= 15 else "", health, skill, ins, "否", ins])
    pci = rng.choice([rng.randint(2500, 6500), rng.randint(6000, 20000), rng.randint(8000, 30000)])
    wage = pci * len(people) * rng.randint(40, 80) // 100
    transfer = pci * len(people) * rng.randint(5, 20) // 100
    business = pci * len(people) - wage - transfer
    medical = pick([(0, 6), (rng.randint(500, 5000), 3), (rng.randint(20000, 60000), 1)])
    dibao = pick([("农村低保", 1), ("未享受", 8), ("", 1)])
    tekun = pick([("农村特困", 0.3), ("不享受", 9), ("", 0.7)])
    unsafe = pick([("否", 19), ("是", 1)])
    water = pick([("是", 19), ("否", 1)])
    measures = [pick([("是", 1), ("", 2)]) if monitored else "" for _ in MEASURES]
    household = [kind, mtype, since, eliminated, how, elim_when] + (risks + [""] * 5)[:5]
    tail = [dibao, tekun, unsafe, water, "是" if dropout_hh else "否", str(pci), str(wage), str(business),
            str(transfer), str(medical)] + measures
    for m in members:
        rows.append([county, town, village, hid, m[0], m[1], m[2], m[3], m[4], m[5], m[6], *household,
                     m[7], m[8], m[9], m[10], m[11], m[12], m[13], m[14], m[15], *tail])

# Messy cells, as found in real exports.
col = {h: i for i, h in enumerate(HEADER)}
rows[5][col["劳动技能"]] = ""
for r in rows:
    if r[col["户编号"]] == rows[20][col["户编号"]]:
        r[col["人均纯收入（元）"]] = "约3000"
    if r[col["户编号"]] == rows[40][col["户编号"]]:
        r[col["是否危房户"]] = ""
    if r[col["户编号"]] == rows[60][col["户编号"]] and r[col["识别监测时间"]]:
        r[col["识别监测时间"]] = "2023年6月"

out = root / "tests/data/national-export.csv"
with open(out, "w", encoding="utf-8-sig", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(["防止返贫监测对象信息（人员）"])
    w.writerow(["导出时间：2024年12月31日"])
    w.writerow(HEADER)
    w.writerows(rows)
print(f"wrote {out.relative_to(root)}: {households} households, {len(rows)} person rows")

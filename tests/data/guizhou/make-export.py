#!/usr/bin/env python3
"""Writes tests/data/guizhou/export.csv: an invented person export (no real people) in the shape of
the national monitoring system's export as a Guizhou county office has it (the columns of
tests/data/make-national-export.py, plus 风险消除方式/消除监测时间 filled, 是否通生活用电 and
公益性岗位帮扶其他备注), for the Guizhou checks of rules/guizhou-2023.toml.

Household columns are repeated, identical, on every member's row. The file is a set of clean
households of every kind (脱贫户, 一般农户, monitored or not, risk eliminated or not) that no Guizhou
check flags, and one household planted per check (see PLANTS) so that every shipped check flags at
least one household and passes at least one; a few plants show where the original Python checks
(Gzuwkj/fuping) have a bug (tests/data/guizhou/compare.py, rules/README.md). A few cells are messy on
purpose (识别监测时间 written 2023年6月, an income written 约3000). Assessment date: 2024-12-31.
ID numbers pass GB 11643 except the one planted with a wrong check digit.
usage: python3 tests/data/guizhou/make-export.py
"""
import csv
from pathlib import Path

here = Path(__file__).resolve().parent
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
SEQ = [0]


def idno(birth):
    """A valid 18-character ID number for a birth date YYYYMMDD (a fresh sequence number each time)."""
    SEQ[0] += 1
    body = f"522700{birth}{SEQ[0] % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]


MEASURES = ["产业帮扶", "就业帮扶", "公益性岗位帮扶", "公益性岗位帮扶其他备注", "金融帮扶", "健康帮扶", "教育帮扶",
            "住房安全保障", "饮水安全保障", "综合保障", "社会帮扶", "搬迁", "生产生活条件改善", "基础设施建设",
            "其他帮扶", "实施开发式帮扶措施情况", "义务教育保障"]
HOUSEHOLD = (["县", "乡", "村", "户编号", "户类型", "监测对象类别", "识别监测时间", "风险是否已消除", "风险消除方式",
              "消除监测时间"] + [f"致贫/返贫风险{i}" for i in range(1, 6)]
             + ["享受低保政策情况", "享受特困供养政策情况", "是否危房户", "是否解决安全饮用水",
                "是否义务教育阶段适龄儿童少年失学辍学", "是否通生活用电", "人均纯收入（元）", "工资性收入", "生产经营性收入",
                "转移性收入", "合规自付支出"] + MEASURES)
PERSON = ["人编号", "证件类型", "证件号码", "姓名", "性别", "民族", "与户主关系", "文化程度", "在校生状况",
          "义务教育阶段未上学原因", "健康状况", "劳动技能", "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险",
          "是否参加大病保险"]
HEADER = HOUSEHOLD[:4] + PERSON[:7] + HOUSEHOLD[4:] + PERSON[7:]
VILLAGES = [("示例县", "青山镇", "石桥村"), ("示例县", "青山镇", "河口村"), ("示例县", "白云乡", "坪上村")]
SURNAMES = "王李张刘陈杨黄赵吴周"


def bad_id(birth):
    """An 18-character ID number whose check digit is wrong (GB 11643 fails; the birth date is valid)."""
    good = idno(birth)
    return good[:17] + ("0" if good[17] != "0" else "1")


def adult(birth="19790315", **kw):
    m = {"证件类型": "居民身份证", "证件号码": idno(birth), "民族": "汉族", "文化程度": "初中", "在校生状况": "",
         "义务教育阶段未上学原因": "", "健康状况": "健康", "劳动技能": "普通劳动力", "是否参加城乡居民基本医疗保险": "是",
         "是否参加城镇职工基本医疗保险": "否", "是否参加大病保险": "是"}
    m.update(kw)
    return m


def child(birth="20140520", school="小学", **kw):
    return adult(birth, **{"文化程度": "", "在校生状况": school, "劳动技能": "无劳动力", **kw})


def family():
    return [adult("19790315"), adult("19810722", 性别="女"), child()]


UNMONITORED = {"监测对象类别": "", "识别监测时间": "", "风险是否已消除": "", "风险消除方式": "", "消除监测时间": "",
               "致贫/返贫风险1": ""}
MONITORED = {"户类型": "脱贫户", "监测对象类别": "脱贫不稳定户", "识别监测时间": "202306", "风险是否已消除": "否",
             "致贫/返贫风险1": "因病", "健康帮扶": "医疗救助"}
ELIMINATED = dict(MONITORED, 识别监测时间="202301", 风险是否已消除="是", 风险消除方式="帮扶消除", 消除监测时间="202309",
                  **{"人均纯收入（元）": "9500"})
EDGE = dict(MONITORED, 户类型="一般农户", 监测对象类别="边缘易致贫户")


def hh(kind, members=None, **cols):
    """A household: the clean columns of its kind, then the planted ones."""
    base = {"户类型": "脱贫户", "享受低保政策情况": "不享受", "享受特困供养政策情况": "不享受", "是否危房户": "否",
            "是否解决安全饮用水": "是", "是否义务教育阶段适龄儿童少年失学辍学": "否", "是否通生活用电": "是",
            "人均纯收入（元）": "9000", "工资性收入": "20000", "生产经营性收入": "6000", "转移性收入": "1500",
            "合规自付支出": "3000"}
    base.update({"unmonitored": UNMONITORED, "general": dict(UNMONITORED, 户类型="一般农户"),
                 "monitored": MONITORED, "eliminated": ELIMINATED, "edge": EDGE}[kind])
    if kind == "general":
        base["人均纯收入（元）"] = "12000"
    base.update(cols)
    return base, members if members is not None else family()


def with_member(i, **kw):
    """The clean family with member i changed."""
    f = family()
    f[i].update(kw)
    return f


# One household per check (the check's rule number first), and the boundary or bug households.
PLANTS = [
    ("1_02_006", hh("unmonitored", **{"人均纯收入（元）": "6500"})),
    ("1_02_006 原始脚本查出一般农户", hh("general", **{"人均纯收入（元）": "7000"})),
    ("1_02_006 边界 7300", hh("unmonitored", **{"人均纯收入（元）": "7300"})),
    ("1111_18", hh("monitored", **{"识别监测时间": "202305", "人均纯收入（元）": "25000"})),
    ("4_11_010", hh("eliminated", **{"人均纯收入（元）": "7000"})),
    ("4_11_010 自然消除不查", hh("eliminated", **{"人均纯收入（元）": "7000", "风险消除方式": "自然消除"})),
    ("3_11_010", hh("monitored", **{"人均纯收入（元）": "3500"})),
    ("1_02_005", hh("monitored", with_member(2, 在校生状况=""))),
    ("1_02_005 边界16周岁；1111_14、5_12_008", hh("monitored", [adult(), adult("19810722"),
                                                  child("20081231", "", 文化程度="初中")])),
    ("1_02_001", hh("general", 是否危房户="是")),
    ("1_02_002", hh("general", 是否解决安全饮用水="否")),
    ("1_02_003", hh("general", with_member(1, 是否参加大病保险="否"))),
    ("1_01_003", hh("unmonitored", with_member(1, 证件号码=bad_id("19810722")))),
    ("1_11_001", hh("monitored", **{"致贫/返贫风险1": ""})),
    ("1_11_006", hh("eliminated", 是否危房户="是")),
    ("1_11_007", hh("eliminated", 是否解决安全饮用水="否")),
    ("1_11_008", hh("edge", with_member(0, 是否参加城镇职工基本医疗保险="是"), 风险是否已消除="是",
                    风险消除方式="自然消除", 消除监测时间="202312")),
    ("1_11_010", hh("monitored", 健康帮扶="", **{"识别监测时间": "202410", "致贫/返贫风险1": "因务工就业不稳"})),
    ("1_11_010 边界 202411", hh("monitored", 健康帮扶="", **{"识别监测时间": "202411", "致贫/返贫风险1": "因务工就业不稳"})),
    ("1111_06", hh("monitored", 识别监测时间="202212")),
    ("1111_06 已登记补贴", hh("monitored", 识别监测时间="202303", 健康帮扶="城乡居民基本医疗保险个人缴费补贴")),
    ("1111_09", hh("monitored", 健康帮扶="城乡居民基本医疗保险个人缴费补贴")),
    ("1111_07", hh("edge", [adult(), adult("19810722"), child("20070301", "高中一年级", 劳动技能="普通劳动力")])),
    ("1111_14", hh("edge", with_member(1, 劳动技能="弱劳动力或半劳动力"))),
    ("1111_14 原始脚本下限14周岁", hh("edge", [adult(), adult("19810722"),
                                     child("20091010", "", 文化程度="初中")])),
    ("5_12_008", hh("unmonitored", with_member(0, 劳动技能="无劳动力"))),
    ("2_01_001", hh("general", with_member(1, 民族=""))),
    ("2_01_002", hh("general", with_member(0, 健康状况=""))),
    ("2_01_008", hh("unmonitored", with_member(1, 是否参加城乡居民基本医疗保险="", 是否参加城镇职工基本医疗保险=""))),
    ("2_01_008 同为否；原始脚本2_12_016查出", hh("unmonitored", with_member(1, 是否参加城乡居民基本医疗保险="否"))),
    ("2_01_009", hh("unmonitored", with_member(0, 是否参加城镇职工基本医疗保险="是"))),
    ("2_01_011", hh("unmonitored", with_member(2, 劳动技能="普通劳动力"))),
    ("2_01_012", hh("unmonitored", with_member(2, 在校生状况="", 义务教育阶段未上学原因="因病"))),
    ("2_12_001", hh("monitored", with_member(0, 劳动技能=""))),
    ("2_12_016", hh("monitored", with_member(0, 是否参加大病保险="否"))),
    ("2_12_017", hh("unmonitored", [adult("19580101"), adult("19600101"), adult()])),
    ("2_12_017 未满60", hh("unmonitored", [adult("19650101"), adult("19650102")])),
    ("2_02_002", hh("unmonitored", 是否通生活用电="否")),
    ("2_02_002 空白", hh("unmonitored", 是否通生活用电="")),
    ("3_02_002", hh("unmonitored", 是否解决安全饮用水="")),
    ("3_02_009", hh("unmonitored", 是否危房户="")),
    ("3_11_003", hh("eliminated", 健康帮扶="", 金融帮扶="小额信贷")),
    ("5_18_001", hh("monitored", 健康帮扶="", 就业帮扶="技能培训")),
    ("5_18_001 有社会帮扶", hh("monitored", 健康帮扶="", 社会帮扶="慈善救助")),
    ("5_18_004", hh("monitored", 健康帮扶="", 就业帮扶="技能培训", **{"致贫/返贫风险1": "因安全住房"})),
    ("5_18_004 原始脚本或作且", hh("monitored", 住房安全保障="危房改造", **{"致贫/返贫风险1": "因安全住房"})),
    ("5_15_020", hh("monitored", 合规自付支出="0")),
    ("5_11_013", hh("eliminated", 产业帮扶="种植", 生产经营性收入="0")),
    ("5_11_013 有经营收入", hh("eliminated", 产业帮扶="养殖")),
    ("4_11_015", hh("monitored", 综合保障="农村低保")),
    ("4_11_015 享受低保", hh("monitored", 综合保障="农村低保", 享受低保政策情况="农村低保")),
    ("5_16_003 原始脚本列名多0", hh("monitored", 享受低保政策情况="农村低保")),
    ("5_18_009", hh("eliminated", 识别监测时间="202403", 消除监测时间="202405")),
    ("5_18_009 边界三个月", hh("eliminated", 识别监测时间="202403", 消除监测时间="202406")),
    ("4_11_009 5_18_008", hh("monitored", [adult(), adult("19810722")], **{"致贫/返贫风险1": "缺劳动力"})),
    ("5_18_008 有一人无劳动力", hh("monitored", [adult(), adult("19810722", 劳动技能="无劳动力", 健康状况="长期慢性病"), child()],
                                  **{"致贫/返贫风险1": "缺劳动力"})),
    ("5_18_008 边界四分之一", hh("monitored", [adult(), adult("19500101", 劳动技能="无劳动力"),
                                       adult("19480101", 劳动技能="无劳动力"), child()],
                                 **{"致贫/返贫风险1": "缺劳动力"})),
    ("3_12_003", hh("general", with_member(1, 文化程度=""))),
    ("3_12_004", hh("monitored", with_member(2, 文化程度="小学"))),
    ("4_01_002", hh("general", with_member(1, 健康状况="残疾"))),
    ("4_01_002 残疾人证", hh("general", with_member(1, 健康状况="残疾", 证件类型="残疾人证"))),
    ("5_12_014", hh("monitored", [adult(), adult("19810722"), child("20090601")])),
    ("5_12_014 边界14周岁", hh("monitored", [adult(), adult("19810722"), child("20100601")])),
]


def clean_households():
    """Households no Guizhou check flags: every kind, several family shapes; two messy cells."""
    out = []
    for i in range(30):
        kind = ["unmonitored", "general", "monitored", "eliminated", "edge"][i % 5]
        members = family() if i % 3 else [adult(), child("20120909", "七年级"), child("20160101")]
        cols = {}
        if i == 7:
            cols["识别监测时间"] = "2023年6月"
        if i == 11:
            cols["人均纯收入（元）"] = "约3000"
        if kind == "eliminated":
            cols["风险消除方式"] = "自然消除" if i % 2 else "帮扶消除"
        out.append((f"干净户{i}", hh(kind, members, **cols)))
    # A 残疾人证 number (20 digits: an 18-character ID and two digits) on a clean member.
    f = family()
    f[0].update({"健康状况": "残疾", "证件类型": "残疾人证", "证件号码": f[0]["证件号码"] + "41"})
    out.append(("干净户残疾人证", hh("general", f)))
    return out


def main():
    rows = []
    clean = clean_households()
    for n, (_, (cols, members)) in enumerate(clean[:15] + PLANTS + clean[15:]):
        hid = f"5227000{n + 1:05d}"
        village = VILLAGES[n % 3]
        surname = SURNAMES[n % 10]
        for k, m in enumerate(members):
            row = dict.fromkeys(HEADER, "")
            row.update({"县": village[0], "乡": village[1], "村": village[2], "户编号": hid})
            row.update(cols)
            row.update({"人编号": f"{hid}{k + 1:02d}", "姓名": surname + "某" + "甲乙丙丁戊"[k],
                        "性别": m.pop("性别", "女" if k == 1 else "男"), "与户主关系": "户主" if k == 0 else
                        ("配偶" if k == 1 and m["证件号码"][6:8] == "19" else "之子")})
            row.update(m)
            rows.append(row)
    with open(here / "export.csv", "w", newline="", encoding="utf-8-sig") as f:
        f.write("防止返贫监测对象信息（人员）\n导出时间：2024年12月31日\n")
        w = csv.DictWriter(f, HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} rows, {len({r['户编号'] for r in rows})} households")


if __name__ == "__main__":
    main()

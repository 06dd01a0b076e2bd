#!/usr/bin/env python3
"""Two quarters for `tuopin adjust`, each household built for one behaviour; the expected list
memberships (expected.csv) are worked out by hand below from default-rules.md §1–5, as changed by
§6 (version 2, 过渡期), for the quarter 2024Q3 (assessed 2024-09-30: L = 4000, M = 6000): with the
lists of §5 (version 1, declared for every date by tests/data/rules/lists-v1.toml) in expected.csv,
and with the national rule set's 过渡期 lists of §6.5 in expected-v2.csv. examples/2024Q2.csv and
examples/2024Q3.csv are copies of the two quarters. usage: python3 make.py"""
import csv

H = ["户编号", "县(市、区、旗)", "乡(镇)", "行政村", "户主姓名", "户类型", "监测对象类别", "识别监测时间", "风险是否消除", "家庭人口数", "劳动力人数",
     "人均纯收入（元）", "上年人均纯收入（元）", "不愁吃", "不愁穿", "失学辍学人数", "参加基本医疗保险人数", "危房等级",
     "住房安全保障方式", "是否解决安全饮用水", "合规自付医疗支出", "教育支出", "其他刚性支出", "大病慢性病人数", "残疾人数",
     "是否受灾", "有财政供养人员", "有小汽车", "城镇购房", "经营公司", "民主评议", "公示无异议", "户认可", "产业帮扶"]

def hh(id, ty, pci, prev, members=3, monitor="", since="", elim="", steps=("", "", ""), car="", public="", village="石桥村", aid="",
       ill="", disabled=""):
    return [id, "示例县", "青山镇", village, "某某", ty, monitor, since, elim, str(members), "2", pci, prev, "是", "是", "0", str(members), "A", "",
            "是", "", "", "", ill, disabled, "", public, car, "", "", *steps, aid]

done = ("是", "是", "是")
q2 = [
    hh("A01", "一般农户", "4300", "4300"),
    hh("A02", "贫困户", "5000", "4500", steps=done),
    hh("A03", "贫困户", "5000", "4500"),
    hh("A04", "脱贫户", "6100", "6100"),
    hh("A05", "一般农户", "9000", "9000", members=4),
    hh("A06", "脱贫户", "9000", "9000", monitor="脱贫不稳定户", since="202404", elim="否"),
    hh("A07", "脱贫户", "9000", "9000", monitor="脱贫不稳定户", since="202403", elim="否"),
    hh("A08", "脱贫户", "9000", "9000"),
    hh("A09", "贫困户", "9000", "9000", car="是"),
    hh("A10", "脱贫户", "9000", "9000", public="是"),
    hh("A11", "一般农户", "9000", "9000"),
    hh("A13", "一般农户", "9000", "9000"),
    hh("A14", "一般农户", "9000", "9000"),
    hh("A15", "脱贫户", "9000", "9000"),
    hh("A16", "一般农户", "7000", "7000", ill="1", disabled="1"),
    hh("A17", "脱贫户", "9000", "9000", monitor="脱贫不稳定户", since="202301", elim="是"),
]
q3 = [
    hh("A01", "一般农户", "3500", "4300"),                  # income fell below the line (1.2 % drop only)
    hh("A02", "贫困户", "5000", "4500", steps=done),
    hh("A03", "贫困户", "5000", "4500"),
    hh("A04", "脱贫户", "3900", "6100"),                    # 6100 → 3900
    hh("A05", "一般农户", "9000", "9000", members=3),       # 4 → 3
    hh("A06", "脱贫户", "9000", "9000", monitor="脱贫不稳定户", since="202404", elim="否"),   # 5 months
    hh("A07", "脱贫户", "9000", "9000", monitor="脱贫不稳定户", since="202403", elim="否", aid="是"),   # 6 months, 产业帮扶
    hh("A08", "贫困户", "9000", "9000"),                    # 脱贫户 → 贫困户
    hh("A09", "一般农户", "9000", "9000", car="是"),        # 贫困户 → 一般农户, explained by the car
    hh("A10", "脱贫户", "9000", "9000", public="是"),
    hh("A12", "一般农户", "9000", "9000"),                  # new
    hh("A13", "一般农户", "9000", "9000"),                  # id twice in 2024Q3
    hh("A13", "一般农户", "9000", "9000", village="枫林村"),
    hh("A14", "一般农户", "约3000", "9000"),                # invalid income
    hh("A15", "脱贫户", "9000", "9000", car="是"),          # a car this quarter, not last
    hh("A16", "一般农户", "7000", "7000", ill="1", disabled="1"),   # 因病、因残, above M
    hh("A17", "脱贫户", "3000", "9000", monitor="脱贫不稳定户", since="202301", elim="是"),   # 回退
]
for name, rows in [("2024Q2.csv", q2), ("2024Q3.csv", q3)]:
    with open(name, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(H)
        w.writerows(rows)

# By hand (2024-09-30, 过渡期: identification and exit are 不适用 for every household, §6.1, so
# 新识别, 拟退出 and 待履行退出程序 stay empty):
# A01 一般农户 3500 < 4000: below_line → risk 高; not monitored, not excluded, below M → 拟纳入监测,
#     type 边缘易致贫户 (§6.2 rule 3; drop 3500 ≥ 0.7 × 4300 = 3010: no income_drop).
# A02, A03 贫困户 in 2024: a data problem (check poor_after_2020, 错误; risk and elimination
#     待核实, §6.6.3) → 数据问题 (§6.5: households with data problems or error-level checks).
# A04 脱贫户 3900 < 4000 → 疑似返贫; 高 → 拟纳入监测 (below_monitoring true → 脱贫不稳定户).
# A05 members 4 → 3 → 人口变化 (自然减少); 9000, no factor → nothing else.
# A06 monitored since 2024-04: 5 months < 6 → 继续监测: on no list.
# A07 monitored since 2024-03: 6 months, 9000 > 6000, all met, labour 2, no disaster, 产业帮扶 是
#     → 可消除风险 (拟风险消除; §6.3).
# A08 脱贫户 → 贫困户 → 状态异常; as a 贫困户 in 2024 also 数据问题 (poor_after_2020, §6.6.3).
# A09 贫困户 → 一般农户 with 有小汽车 = 是 in 2024Q2: explained, not 状态异常; 一般农户 excluded: no list.
# A10 脱贫户 with 有财政供养人员 = 是 → 拟清退.
# A11 only in 2024Q2 → 减少户.    A12 only in 2024Q3 → 新增户.
# A13 twice in 2024Q3 → both rows 数据问题; its 2024Q2 row is not matched → 数据问题 (上季度).
# A14 income 约3000 invalid → 数据问题 (eligibility and risk 待核实: on no other list).
# A15 脱贫户 with 有小汽车 = 是 this quarter (否 before) → 拟清退 (§5: 脱贫户 excluded).
# A16 一般农户 7000 > M with one ill and one disabled member: risk 中 (two factors), no type →
#     on no §5 list.
# A17 脱贫户 whose risk was eliminated (风险是否消除 是), now 3000 < 4000: not monitored (§6.6.9), risk
#     高 → 拟纳入监测 (脱贫不稳定户, §6.2 rule 3) and 疑似返贫.
expected = [
    ("疑似返贫", "A04"), ("拟纳入监测", "A01"), ("拟纳入监测", "A04"), ("拟风险消除", "A07"),
    ("拟清退", "A10"), ("人口变化", "A05"), ("新增户", "A12"), ("减少户", "A11"), ("状态异常", "A08"),
    ("数据问题", "A13"), ("数据问题", "A13"), ("数据问题", "A14"), ("数据问题", "A13"),
    ("数据问题", "A02"), ("数据问题", "A03"), ("数据问题", "A08"), ("拟清退", "A15"),
    ("拟纳入监测", "A17"), ("疑似返贫", "A17"),
]
with open("expected.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["list", "household_id"])
    w.writerows(expected)
# Accounting: previous 16 = matched 14 + gone 1 (A11) + duplicated 1 (A13)
#   matched: A01–A10, A14–A17 = 14 → 16 = 14 + 1 + 1.
#   current 17 = matched 14 + new 1 (A12) + duplicated 2 (A13 ×2).

# By hand, the national rule set's 过渡期 lists (default-rules.md §6.5, 2024-09-30):
# 拟纳入监测 A01 (边缘易致贫户), A04 (脱贫不稳定户): types as above (§6.2 rule 3); A17 脱贫不稳定户,
#            marked 回退 (its risk had been eliminated; domain-review finding 7).
# 重点关注   A16: risk 中 (因病、因残), not monitored, no type (7000 > M, no shock) → 入户核实.
#            (A14's risk is 待核实: unknown, not listed; A09, A10, A15 have risk 无.)
# 拟风险消除 A07 (monitored, 可消除风险).        疑似返贫 A04, A17 (脱贫户 below the line).
# 比对疑点   A15: excluded now (有小汽车), not in 2024Q2, a 脱贫户 → 核实该情形是否早于脱贫.
#            A10 and A09 were already excluded in 2024Q2: not new evidence, not listed.
# 户类型变更 A08 (脱贫户 → 贫困户), A09 (贫困户 → 一般农户): both types recognised.
# 人口变化   A05: 减少 4 → 3 (原因待填; never 自然).
# 新增户 A12, 减少户 A11, 数据问题 as in version 1 (A02, A03, A08, A13 ×2, A14; A13 上季度).
expected_v2 = [
    ("拟纳入监测", "A01"), ("拟纳入监测", "A04"), ("拟纳入监测", "A17"), ("重点关注", "A16"),
    ("拟风险消除", "A07"), ("疑似返贫", "A04"), ("疑似返贫", "A17"), ("比对疑点", "A15"), ("户类型变更", "A08"), ("户类型变更", "A09"),
    ("人口变化", "A05"), ("新增户", "A12"), ("减少户", "A11"),
    ("数据问题", "A02"), ("数据问题", "A03"), ("数据问题", "A08"), ("数据问题", "A13"),
    ("数据问题", "A13"), ("数据问题", "A14"), ("数据问题", "A13"),
]
with open("expected-v2.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["list", "household_id"])
    w.writerows(expected_v2)

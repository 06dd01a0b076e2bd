#!/usr/bin/env python3
"""Runs the original Guizhou checker (Gzuwkj/fuping, pinned commit below) and tuopin's guizhou-2023
rule set on the same person export, and compares, check by check, the households (and for checks
on person columns, the member rows) each flags.

The original is not vendored: pass a clone or git directory of https://github.com/Gzuwkj/fuping
(its commit PINNED must be in it). Only its file loading is adapted: main.load_data is replaced by a
reader of the CSV export (pandas, dtype=str, keep_default_na=False, header on line 3, as main.py reads
its XLSX), main.construct_model builds its Person/Family model unchanged, and each of its rule files
is imported as it is and called on every person record as main.process does. Two things of the
driver differ from main.process: the clock is the assessment date (its rules call datetime.now(),
which is patched in each rule module to 2024-12-31), and an exception other than its Error (a
crash of one rule on one record: a misspelt keyword argument, float('约3000')) is counted and
reported instead of stopping the run.

Every difference must be explained by an entry of EXPLAINED (a predicate over the household's or
member's row and the reason, stated in rules/README.md); any other difference exits 1.

usage: python3 tests/data/guizhou/compare.py --fuping PATH [--tuopin target/debug/tuopin] [--rules FILE]
needs: pip install pandas openpyxl tqdm (the original's imports)
"""
import argparse
import datetime as dt
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PINNED = "9a6a9ee52c0ec5e0c4abc4bdaf170dc482a57168"
ROOT = Path(__file__).resolve().parents[3]
EXPORT = ROOT / "tests/data/guizhou/export.csv"
DATE = dt.datetime(2024, 12, 31)

# tuopin check → the original's rule files, and whether the original flags the member's own row
# (a check on person columns: rows are compared too) or every row of the household.
CHECKS = {
    "gz_must_monitor": (["1_02_006"], False),
    "gz_new_monitored_income_high": (["1111_18"], False),
    "gz_eliminated_below_line": (["4_11_010"], False),
    "gz_income_below_4000": (["3_11_010"], False),
    "gz_school_age_status_blank": (["1_02_005"], True),
    "gz_unsafe_house_not_monitored": (["1_02_001"], False),
    "gz_water_not_monitored": (["1_02_002"], False),
    "gz_no_serious_insurance_not_monitored": (["1_02_003"], True),
    "gz_tuopin_id_checksum": (["1_01_003"], True),
    "gz_monitored_risk_blank": (["1_11_001"], False),
    "gz_eliminated_unsafe_house": (["1_11_006"], False),
    "gz_eliminated_water_unsolved": (["1_11_007"], False),
    "gz_eliminated_insurance_conflict": (["1_11_008"], False),
    "gz_monitored_no_measure": (["1_11_010"], False),
    "gz_subsidy_missing_early": (["1111_06"], False),
    "gz_subsidy_after_deadline": (["1111_09", "1111_13"], False),
    "gz_student_with_labour": (["1111_07"], True),
    "gz_monitored_healthy_weak_labour": (["1111_14"], True),
    "gz_tuopin_healthy_no_labour": (["5_12_008"], True),
    "gz_ethnicity_blank": (["2_01_001"], True),
    "gz_health_blank": (["2_01_002"], True),
    "gz_tuopin_medical_none": (["2_01_008"], True),
    "gz_tuopin_medical_both": (["2_01_009"], True),
    "gz_tuopin_child_labour": (["2_01_011"], True),
    "gz_dropout_reason_healthy": (["2_01_012"], True),
    "gz_monitored_skill_blank": (["2_12_001"], True),
    "gz_monitored_medical_gap": (["2_12_016"], True),
    "gz_tuopin_elderly_labour": (["2_12_017"], True),
    "gz_tuopin_no_electricity": (["2_02_002"], False),
    "gz_tuopin_water_unsolved": (["3_02_002"], False),
    "gz_tuopin_house_blank": (["3_02_009"], False),
    "gz_eliminated_illness_no_measure": (["3_11_003"], False),
    "gz_illness_risk_no_measure": (["5_18_001"], False),
    "gz_housing_risk_no_measure": (["5_18_004"], False),
    "gz_illness_risk_no_expense": (["5_15_020"], False),
    "gz_eliminated_industry_no_business_income": (["5_11_013"], False),
    "gz_welfare_measure_without_welfare": (["4_11_015"], False),
    "gz_dibao_not_in_measures": (["5_16_003"], False),
    "gz_eliminated_too_fast": (["5_18_009"], False),
    "gz_no_labour_risk_has_labour": (["4_11_009"], False),
    "gz_no_labour_risk_labour_share": (["5_18_008"], False),
    "gz_education_status_blank": (["3_12_003"], True),
    "gz_monitored_education_and_school": (["3_12_004"], False),
    "gz_disabled_without_card": (["4_01_002"], True),
    "gz_primary_age": (["5_12_014"], True),
}


def age(row):
    b = dt.date(int(row["证件号码"][6:10]), int(row["证件号码"][10:12]), int(row["证件号码"][12:14]))
    return DATE.year - b.year - ((DATE.month, DATE.day) < (b.month, b.day))


# (check, side, predicate over a row, reason): a difference on that side is explained when the
# predicate holds for the member's row (member rows) or for one of the household's rows (households).
EXPLAINED = [
    ("gz_must_monitor", "python", lambda r: r["户类型"] != "脱贫户",
     "1_02_006 的“户类型 == 脱贫户”被注释掉，一般农户也被查出；其标题是“脱贫户…未纳入”，tuopin 限于脱贫户"),
    ("gz_monitored_healthy_weak_labour", "python", lambda r: age(r) < 16,
     "1111_14 的代码下限为 14 周岁，标题为 16（含）；tuopin 取 16，14–15 周岁只有原始脚本查出"),
    ("gz_monitored_medical_gap", "python", lambda r: r["监测对象类别"] == "",
     "2_12_016 写成 `类别 != '' and 大病 == '否' or 城乡居民 == '否'`，未纳入监测的户也被查出；tuopin 限于监测对象"),
    ("gz_housing_risk_no_measure", "python", lambda r: (r["住房安全保障"] == "") != (r["搬迁"] == ""),
     "5_18_004 写成“住房安全保障为空 或 搬迁为空”，登记了其中一项也查出；标题为“未登记…其中一项”，tuopin 取两项均为空"),
    ("gz_dibao_not_in_measures", "tuopin", lambda r: True,
     "5_16_003 读“风险是否已消除0”列（导出表无此列，.get 得 None），从不查出；tuopin 读风险是否已消除"),
]


def original(fuping, export):
    """The original's findings: {check: (households, member 人编号s)}, crashes per rule file."""
    import pandas as pd

    src = Path(tempfile.mkdtemp(prefix="fuping-"))
    git_dir = fuping / ".git" if (fuping / ".git").exists() else fuping
    tar = subprocess.run(["git", f"--git-dir={git_dir}", "archive", PINNED], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=tar, check=True)
    sys.path.insert(0, str(src))
    os.environ["TQDM_DISABLE"] = "1"
    import main  # the original's driver and model, unchanged
    from error import Error

    rows = pd.read_csv(export, header=2, dtype=str, keep_default_na=False, encoding="utf-8-sig").to_dict(orient="records")
    main.load_data = lambda path: (rows, [], [], [], [])
    main.construct_model()

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(DATE.year, DATE.month, DATE.day)

        @classmethod
        def today(cls):
            return cls.now()

    found, crashes = {}, {}
    for check, (files, _) in CHECKS.items():
        hh, people = set(), set()
        for f in files:
            mod = importlib.import_module(f"rules.{f}")
            if getattr(mod, "datetime", None) is dt.datetime:
                mod.datetime = Frozen
            for rec in main.records:
                try:
                    mod.process(rec)
                except Error as e:
                    for r in e.objectInfo or []:
                        hh.add(r["户编号"])
                        people.add(r["人编号"])
                except Exception as e:  # a crash of the original on this record
                    crashes.setdefault(f, {}).setdefault(type(e).__name__, 0)
                    crashes[f][type(e).__name__] += 1
        found[check] = (hh, people)
    return found, crashes


def tuopin(binary, rules, export, line_to_person):
    out = subprocess.run([binary, "assess", str(export), "--rules", str(rules),
                          "--date", DATE.strftime("%Y-%m-%d"), "--format", "jsonl"], capture_output=True)
    if out.returncode not in (0, 1):
        sys.exit(out.stderr.decode())
    found = {c: (set(), set()) for c in CHECKS}
    for line in out.stdout.decode().splitlines():
        h = json.loads(line)
        for f in h.get("checks") or []:
            if f["check"] not in found:
                continue
            found[f["check"]][0].add(h["household_id"])
            m = re.search(r"（成员：(.*?)）$", f["message"])
            for n in re.findall(r"\d+", m.group(1)) if m else []:
                found[f["check"]][1].add(line_to_person[int(n)])
    return found


def main_():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuping", required=True, type=Path, help="a clone or git directory of Gzuwkj/fuping")
    ap.add_argument("--tuopin", default=str(ROOT / "target/debug/tuopin"))
    ap.add_argument("--export", default=EXPORT, type=Path)
    ap.add_argument("--rules", default=ROOT / "rules/guizhou-2023.toml", type=Path)
    a = ap.parse_args()

    import csv
    with open(a.export, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    header = lines[2]
    person_rows = {}  # 人编号 → row
    line_to_person = {}
    household_rows = {}  # 户编号 → its rows
    for n, cells in enumerate(lines[3:], start=4):
        r = dict(zip(header, cells))
        person_rows[r["人编号"]] = r
        line_to_person[n] = r["人编号"]
        household_rows.setdefault(r["户编号"], []).append(r)

    py, crashes = original(a.fuping, a.export)
    tp = tuopin(a.tuopin, a.rules, a.export, line_to_person)

    unexplained = 0
    used = set()
    print(f"{'check':44} {'rule':18} {'agree':>5} {'tuopin-only':>11} {'python-only':>11}  member rows (agree/t/p)")
    for check, (files, members) in CHECKS.items():
        cols = []
        for key, rows in ((0, household_rows), (1, {k: [r] for k, r in person_rows.items()})):
            if key == 1 and not members:
                continue
            t, p = tp[check][key], py[check][key]
            for side, diff in (("tuopin", t - p), ("python", p - t)):
                for x in sorted(diff):
                    why = [e for e in EXPLAINED if e[0] == check and e[1] == side and any(e[2](r) for r in rows[x])]
                    if why:
                        used.add(why[0][3])
                    else:
                        unexplained += 1
                        print(f"  未解释的差异：{check} 只有 {side} 查出 {x}", file=sys.stderr)
            cols.append((len(t & p), len(t - p), len(p - t)))
        hh = cols[0]
        mem = f"{cols[1][0]}/{cols[1][1]}/{cols[1][2]}" if members else "—"
        print(f"{check:44} {'、'.join(files):18} {hh[0]:>5} {hh[1]:>11} {hh[2]:>11}  {mem}")
    print("\n已解释的差异：")
    for e in EXPLAINED:
        print(f"  {e[0]}：{e[3]}{'' if e[3] in used else '（本次未出现）'}")
    print("\n原始脚本在个别记录上中断（计为未查出）：")
    for f, kinds in sorted(crashes.items()):
        print(f"  {f}：" + "、".join(f"{k} × {n}" for k, n in kinds.items()))
    if unexplained:
        sys.exit(f"{unexplained} 处差异无解释")
    print(f"\n{len(CHECKS)} 条检查：所有差异均有解释")


if __name__ == "__main__":
    main_()

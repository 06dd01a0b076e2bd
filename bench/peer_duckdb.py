#!/usr/bin/env python3
"""Peer: the national rule set as it is now (default-rules.md §1–5 as changed by §6, rules/national.toml)
as DuckDB SQL, CSV in → CSV out, for assessment dates from 2021 (过渡期, 常态化: eligibility and exit
不适用, risk §3, suggested type §6.2, elimination §6.3, the 疑似返贫 flag, the §6.4 checks).

Two outputs, the same columns as `tuopin assess --columns …`:
  --columns 判定   户编号 and the seven decision columns (识别 … 风险消除): decisions only;
  --columns 全部   tuopin's default output: 行号, the identifying columns (ID number masked), the
                   decisions, 判定理由 built by SQL string concatenation from per-criterion templates,
                   数据问题 (empty: the peer reads clean data only) and 数据核查 (the checks that can
                   fire on a ledger without --with).
The decisions equal tuopin's on `tuopin demo-data` ledgers (bench/run.py checks every household).
The reasons follow tuopin's wording for the common cases (the four factors of 低/无, the incomes,
the guarantees, the months monitored) but not every branch of its explanations (which atoms of a
nested condition it names): their size and shape are comparable, not every byte (run.py reports
how many households' reasons are the same). Money is held in fen (BIGINT), as tuopin holds it.

usage: peer_duckdb.py IN.csv OUT.csv [--year 2024] [--columns 判定|全部] [--threads N]
"""
import argparse

import duckdb

NONE_MEASURES = "'无', '否', '0', 'N', 'n', '×', '✗', '✘', '不享受', '未享受', 'FALSE', 'false', '0.0', '0.00'"
AID = ["产业帮扶", "就业帮扶", "公益性岗位帮扶", "金融帮扶", "健康帮扶", "教育帮扶", "住房安全保障", "饮水安全保障",
       "义务教育保障", "综合保障", "社会帮扶", "搬迁", "生产生活条件改善", "基础设施建设"]
# Risk factors in rules/national.toml's order, with their labels (the 风险因素 column).
FACTORS = [("bl", "低于扶贫标准"), ("bm", "低于监测范围"), ("gap", "保障缺口"), ("edu_gap", "因学"),
           ("housing_gap", "因安全住房"), ("water_gap", "因安全饮水"), ("idrop", "收入骤减"), ("es", "刚性支出骤增"),
           ("illness", "因病"), ("disability", "因残"), ("no_labor", "缺劳动力"), ("disaster", "因灾")]

L_SRC = "（{Y}年，来源：[1.2] S11 脱贫攻坚期国家扶贫标准仍为参照）"
M_SRC = "（{Y}年，来源：[1.2] S10 中农组发〔2021〕7号；S11 以扶贫标准1.5倍为底线）"
MONTHS_SRC = "（{Y}年，来源：[5.4] S52 枞阳“原则上不得低于半年”；S20 贵州数据核查）"

SQL = """
CREATE MACRO fen(x) AS TRY_CAST(round(TRY_CAST(replace(x, ',', '') AS DECIMAL(18,2)) * 100) AS BIGINT);
CREATE MACRO yuan(f) AS CASE WHEN f % 100 = 0 THEN CAST(f // 100 AS VARCHAR)
  ELSE rtrim(printf('%s%d.%02d', CASE WHEN f < 0 THEN '-' ELSE '' END, abs(f) // 100, abs(f) % 100), '0') END;
CREATE MACRO yes(x) AS CASE x WHEN '是' THEN true WHEN '否' THEN false END;
CREATE MACRO blank_note(x) AS CASE WHEN x IS NULL THEN '（空白）' ELSE '' END;
CREATE MACRO yes_text(raw, v) AS CASE WHEN v THEN '是' ELSE '否' END || blank_note(raw);
CREATE VIEW h AS
WITH raw AS (
  SELECT {rn} AS rn, * FROM read_csv('{inp}', header=true, all_varchar=true)
), c AS (
  SELECT rn, "户编号" AS id, "县(市、区、旗)" AS county, "乡(镇)" AS town, "行政村" AS village,
    "户主姓名" AS head, "户主证件号码" AS head_id, "户类型" AS t, "监测对象类别" AS mt,
    "识别监测时间" AS since_raw, "风险是否消除" AS elim_raw,
    TRY_CAST("家庭人口数" AS INTEGER) AS members, TRY_CAST("劳动力人数" AS INTEGER) AS labor,
    fen("工资性收入") AS wage, fen("生产经营性收入") AS business, fen("财产性收入") AS property,
    fen("转移性收入") AS transfer, fen("生产经营性支出") AS production,
    fen("人均纯收入（元）") AS pci_cell, fen("上年人均纯收入（元）") AS prev,
    "合规自付医疗支出" IS NULL AND "教育支出" IS NULL AND "其他刚性支出" IS NULL AS rigid_blank,
    COALESCE(fen("合规自付医疗支出"), 0) + COALESCE(fen("教育支出"), 0) + COALESCE(fen("其他刚性支出"), 0) AS rigid,
    "不愁吃" AS food_raw, "不愁穿" AS clothing_raw, yes("不愁吃") AS food, yes("不愁穿") AS clothing,
    TRY_CAST("失学辍学人数" AS INTEGER) AS dropouts, TRY_CAST("参加基本医疗保险人数" AS INTEGER) AS insured,
    "危房等级" AS grade, "住房安全保障方式" AS secured, "是否解决安全饮用水" AS water_raw, yes("是否解决安全饮用水") AS water,
    "大病慢性病人数" AS ill_raw, COALESCE(TRY_CAST("大病慢性病人数" AS INTEGER), 0) AS ill,
    "残疾人数" AS disabled_raw, COALESCE(TRY_CAST("残疾人数" AS INTEGER), 0) AS disabled,
    "是否受灾" AS disaster_raw, COALESCE(yes("是否受灾"), false) AS disaster,
    "有财政供养人员" AS e_pub_raw, "有小汽车" AS e_car_raw, "城镇购房" AS e_home_raw, "经营公司" AS e_company_raw,
    COALESCE(yes("有财政供养人员"), false) AS e_pub, COALESCE(yes("有小汽车"), false) AS e_car,
    COALESCE(yes("城镇购房"), false) AS e_home, COALESCE(yes("经营公司"), false) AS e_company,
    {aid_any} AS has_assist, {aid_cols},
    TRY_CAST(substr("识别监测时间", 1, 4) AS INTEGER) * 12 + TRY_CAST(substr("识别监测时间", 5, 2) AS INTEGER) AS since_m
  FROM raw
), p AS (
  SELECT *,
    CASE WHEN pci_cell IS NOT NULL THEN pci_cell
         WHEN members > 0 THEN ((wage + business + property + transfer - production) * 2 + members) // (2 * members) END AS pci,
    pci_cell IS NULL AS pci_derived,
    (wage + business + property + transfer - production) AS net,
    {Y} * 12 + {MONTH} - since_m AS months,
    mt IS NOT NULL AND NOT COALESCE(elim_raw = '是', false) AS monitored,
    e_pub OR e_car OR e_home OR e_company AS excluded
  FROM c
), g AS (
  SELECT *,
    dropouts = 0 AS education, insured >= members AS medical,
    CASE WHEN (secured IN ('改造安全', '保障安全') OR (secured = '鉴定安全' AND NOT COALESCE(grade IN ('C', 'D'), false))
               OR grade IN ('A', 'B')) IS TRUE THEN true
         WHEN (grade IN ('C', 'D') AND secured IS NULL) IS TRUE THEN false END AS housing,
    pci < {L} AS bl, pci < {M} AS bm,
    CASE WHEN prev IS NULL THEN false ELSE pci * 10 < prev * 7 END AS idrop,
    rigid > members * COALESCE(prev, pci) AS es,
    pci * members - rigid < {M} * members AS hardship,
    ill > 0 AS illness, disabled > 0 AS disability, labor = 0 AS no_labor
  FROM p
), f AS (
  SELECT *, food AND clothing AND education AND medical AND housing AND water AS all_met,
    NOT education AS edu_gap, NOT housing AS housing_gap, NOT water AS water_gap,
    illness::INT + disability::INT + COALESCE(no_labor, false)::INT + disaster::INT AS st,
    (no_labor IS NULL)::INT AS su
  FROM g
), r AS (
  SELECT *, NOT all_met AS gap,
    bl OR NOT all_met OR es OR (bm AND (idrop OR illness OR disability OR no_labor OR disaster)) AS c_high,
    bm OR idrop OR CASE WHEN st >= 2 THEN true WHEN st + su < 2 THEN false END AS c_mid,
    CASE WHEN st >= 1 THEN true WHEN st + su < 1 THEN false END AS c_low,
    pci > {M} AND all_met AND NOT idrop AND NOT es AND NOT disaster AND labor > 0 AND months >= {MIN_MONTHS}
      AND has_assist AS elim_ok
  FROM f
)
SELECT *,
  CASE WHEN t IS NULL OR t NOT IN ('一般农户', '脱贫户', '贫困户') OR t = '贫困户' THEN '待核实'
       WHEN c_high IS TRUE THEN '高' WHEN c_high IS NULL THEN '待核实'
       WHEN c_mid IS TRUE THEN '中' WHEN c_mid IS NULL THEN '待核实'
       WHEN c_low IS TRUE THEN '低' WHEN c_low IS NULL THEN '待核实' ELSE '无' END AS risk,
  CASE WHEN t IS NULL OR t NOT IN ('一般农户', '脱贫户', '贫困户') OR t = '贫困户' THEN '待核实'
       WHEN mt IS NULL OR elim_raw = '是' THEN '不适用'
       WHEN mt NOT IN ('脱贫不稳定户', '边缘易致贫户', '突发严重困难户') THEN '待核实'
       WHEN labor = 0 THEN '继续监测'
       WHEN elim_ok IS TRUE THEN '可消除风险' WHEN elim_ok IS NULL THEN '待核实' ELSE '继续监测' END AS elimination,
  CASE WHEN t = '脱贫户' AND (bl OR NOT all_met) THEN '是'
       WHEN t <> '脱贫户' OR (bl OR NOT all_met) IS FALSE THEN '否' ELSE '待核实' END AS returned
FROM r;
"""

# 建议监测类型 (§6.2, from 2021) and 风险因素: from the risk level and the factors.
DECIDED = """
CREATE VIEW d AS SELECT *,
  CASE WHEN risk NOT IN ('高', '中') OR monitored IS NOT FALSE THEN ''
       WHEN excluded THEN ''
       WHEN bm IS NULL THEN ''
       WHEN bm AND t = '脱贫户' THEN '脱贫不稳定户'
       WHEN bm AND t = '一般农户' THEN '边缘易致贫户'
       WHEN (es OR (idrop AND hardship)) IS TRUE THEN '突发严重困难户' ELSE '' END AS suggested,
  CASE WHEN t = '贫困户' THEN '' ELSE concat_ws('、', {factors}) END AS factors
FROM h;
"""

# 判定理由: one sentence per criterion, prepared here once, filled per household by SQL.
REASONS = """
CREATE VIEW o AS SELECT *,
  '人均纯收入 ' || yuan(pci) || CASE WHEN pci_derived THEN '（计算得出）' ELSE '' END AS pci_text,
  '大病慢性病人数 ' || ill || blank_note(ill_raw) AS ill_text,
  '残疾人数 ' || disabled || blank_note(disabled_raw) AS dis_text,
  '劳动力人数 ' || labor AS labor_text,
  '是否受灾：' || CASE WHEN disaster THEN '是' ELSE '否' END || blank_note(disaster_raw) AS disaster_text,
  '收入骤减：是（上年人均纯收入：' || yuan(prev) || '，' AS idrop_head,
  '合规自付医疗支出+教育支出+其他刚性支出 ' || yuan(rigid) AS rigid_text,
  '家庭人口数×上年人均纯收入（无则用人均纯收入） ' || yuan(members * COALESCE(prev, pci)) AS base_text,
  concat_ws('，',
    CASE WHEN food IS FALSE THEN '不愁吃：否' END, CASE WHEN clothing IS FALSE THEN '不愁穿：否' END,
    CASE WHEN education IS FALSE THEN '失学辍学人数 ' || dropouts || ' ≠ 0' END,
    CASE WHEN medical IS FALSE THEN '参加基本医疗保险人数 ' || insured || ' < 家庭人口数 ' || members END,
    CASE WHEN housing IS FALSE THEN '住房安全有保障：否（危房等级：' || grade || '，住房安全保障方式：空白）' END,
    CASE WHEN water IS FALSE THEN '饮水安全：否' END) AS unmet_text
FROM d;
CREATE VIEW x AS SELECT *,
  concat_ws(' ',
    '【返贫致贫风险·' || risk || '】' || CASE
      WHEN risk = '无' THEN ill_text || ' ≤ 0；' || dis_text || ' ≤ 0；' || labor_text || ' ≠ 0；' || disaster_text
      WHEN risk = '待核实' THEN '2020年底前贫困户已全部脱贫，请核实户类型（评估日期 {DATE} ≥ 2021-01-01；户类型：' || t || '）'
      ELSE concat_ws('；',
        CASE WHEN risk = '高' AND bl THEN pci_text || ' < 扶贫标准 {L_YUAN}{L_SRC}' END,
        CASE WHEN risk = '高' AND gap THEN '保障缺口：是（两不愁三保障及饮水安全：否（' || unmet_text || '））' END,
        CASE WHEN risk = '高' AND es THEN rigid_text || ' > ' || base_text END,
        CASE WHEN risk IN ('高', '中') AND bm THEN pci_text || ' < 监测范围 {M_YUAN}{M_SRC}' END,
        CASE WHEN risk IN ('高', '中') AND idrop THEN idrop_head || pci_text || ' < (1−收入骤减比例)×上年人均纯收入 '
             || yuan(prev * 7 // 10) || '）' END,
        CASE WHEN illness THEN ill_text || ' > 0' END, CASE WHEN disability THEN dis_text || ' > 0' END,
        CASE WHEN no_labor THEN labor_text || ' = 0' END, CASE WHEN disaster THEN disaster_text END) END,
    CASE WHEN elimination <> '不适用' THEN '【风险消除·' || elimination || '】' || CASE
      WHEN elimination = '待核实' THEN '2020年底前贫困户已全部脱贫，请核实户类型（评估日期 {DATE} ≥ 2021-01-01；户类型：' || t || '）'
      WHEN labor = 0 THEN '整户无劳动力：落实兜底保障，不作风险消除（' || labor_text || ' = 0）'
      WHEN elimination = '可消除风险' THEN '评估日期 {DATE} ≥ 2021-01-01；' || pci_text || ' > 监测范围 {M_YUAN}{M_SRC}；'
        || '两不愁三保障及饮水安全：是（不愁吃：是，不愁穿：是，失学辍学人数 0 = 0，参加基本医疗保险人数 ' || insured
        || ' ≥ 家庭人口数 ' || members || '，住房安全有保障：是（' || concat_ws('，', '住房安全保障方式：' || secured,
        CASE WHEN grade IN ('A', 'B') THEN '危房等级：' || grade || '，危房等级：' || grade END) || '），饮水安全：是）；'
        || '无收入骤减、无刚性支出骤增：是（收入骤减：否（' || pci_text || ' ≥ (1−收入骤减比例)×上年人均纯收入 '
        || yuan(prev * 7 // 10) || '），' || rigid_text || ' ≤ ' || base_text || '）；' || disaster_text || '；'
        || labor_text || ' > 0；自识别监测时间起的月数 ' || months || ' ≥ 风险消除最短监测月数 {MIN_MONTHS}{MONTHS_SRC}；'
        || '已落实帮扶措施：是（记有帮扶措施：是（' || {aid_list} || '））'
      ELSE concat_ws('；',
        CASE WHEN NOT pci > {M} THEN pci_text || ' ≤ 监测范围 {M_YUAN}{M_SRC}' END,
        CASE WHEN NOT all_met THEN '两不愁三保障及饮水安全：否（' || unmet_text || '）' END,
        CASE WHEN idrop OR es THEN '无收入骤减、无刚性支出骤增：否（' || concat_ws('，',
          CASE WHEN idrop THEN idrop_head || pci_text || ' < (1−收入骤减比例)×上年人均纯收入 ' || yuan(prev * 7 // 10) || '）' END,
          CASE WHEN es THEN rigid_text || ' > ' || base_text END) || '）' END,
        CASE WHEN disaster THEN disaster_text END,
        CASE WHEN months < {MIN_MONTHS} THEN '自识别监测时间起的月数 ' || months || ' < 风险消除最短监测月数 {MIN_MONTHS}{MONTHS_SRC}' END,
        CASE WHEN NOT has_assist THEN '已落实帮扶措施：否（记有帮扶措施：否（' || {aid_none} || '））' END) END
    END) AS reasons,
  concat_ws('；',
    CASE WHEN abs(pci * members - net) > members * 100 THEN '【警告】人均纯收入与收入构成不符：人均纯收入 ' || yuan(pci)
      || ' 与（工资性 ' || yuan(wage) || ' + 生产经营性 ' || yuan(business) || ' + 财产性 ' || yuan(property) || ' + 转移性 '
      || yuan(transfer) || ' − 生产经营性支出 ' || yuan(production) || '）÷ 家庭人口数 ' || members || ' 相差超过1元' END,
    CASE WHEN pci <= 0 THEN '【警告】人均纯收入为零或负数：人均纯收入 ' || yuan(pci) || '：核实收入是否漏录' END,
    CASE WHEN production > business THEN '【提示】生产经营性支出大于生产经营性收入：生产经营性支出 ' || yuan(production)
      || ' > 生产经营性收入 ' || yuan(business) || '：核实是否亏损或录错' END,
    CASE WHEN t = '贫困户' THEN '【错误】2020年后仍为贫困户：2020年底前贫困户已全部脱贫，请核实户类型（贫困户）' END,
    CASE WHEN elimination = '可消除风险' AND (ill > 0 OR disabled > 0) THEN '【提示】可消除风险但有大病或残疾成员：'
      || '大额医疗支出是否稳定解决：入户研判（' || ill_text || '，' || dis_text || '）' END,
    CASE WHEN mt IS NOT NULL AND since_raw IS NULL THEN '【警告】{GROUP}缺识别监测时间：监测对象类别 ' || mt
      || '，但识别监测时间为空：风险消除所需的监测月数无法计算' END,
    CASE WHEN months < 0 THEN '【错误】识别监测时间晚于评估日期：识别监测时间 ' || substr(since_raw, 1, 4) || '-' || substr(since_raw, 5, 2)
      || ' 晚于评估日期' END,
    CASE WHEN mt = '脱贫不稳定户' AND t <> '脱贫户' THEN '【错误】脱贫不稳定户不是脱贫户：监测对象类别为脱贫不稳定户，户类型却为 ' || t END,
    CASE WHEN mt = '边缘易致贫户' AND t <> '一般农户' THEN '【错误】边缘易致贫户不是一般农户：监测对象类别为边缘易致贫户，户类型却为 ' || t END,
    CASE WHEN elim_raw = '是' AND mt IS NULL THEN '【提示】风险已消除却无监测对象类别：风险是否消除为是，但监测对象类别为空：核实是否曾纳入监测' END,
    CASE WHEN grade IN ('C', 'D') AND secured = '鉴定安全' THEN '【错误】C/D级危房却记为鉴定安全：危房等级 ' || grade
      || ' 与住房安全保障方式“鉴定安全”矛盾（鉴定安全指经鉴定为A/B级）' END,
    CASE WHEN ill > members OR disabled > members THEN '【错误】患病或残疾人数多于家庭人口数：大病慢性病人数 ' || ill
      || '、残疾人数 ' || disabled || '，家庭人口数 ' || members END,
    CASE WHEN monitored AND excluded THEN '【警告】错评疑点：{GROUP}有清退情形：{GROUP}有财政供养人员 ' || yes_text(e_pub_raw, e_pub)
      || '、小汽车 ' || yes_text(e_car_raw, e_car) || '、城镇购房 ' || yes_text(e_home_raw, e_home) || '、经营公司 '
      || yes_text(e_company_raw, e_company) || '：需信息比对，核实是否早于识别' END
  ) AS checks
FROM o;
"""

DECISIONS = "id AS 户编号, '不适用' AS 识别, '不适用' AS 退出, risk AS 风险等级, NULLIF(factors, '') AS 风险因素, NULLIF(suggested, '') AS 建议监测类型, returned AS 疑似返贫, elimination AS 风险消除"
# tuopin's cells: a long number kept as text (a tab after it), an ID number masked.
ID_CELL = "CASE WHEN regexp_matches(id, '^[0-9]{11,}$') THEN id || chr(9) ELSE id END"
MASKED = "CASE WHEN length(head_id) = 18 THEN substr(head_id, 1, 6) || '********' || substr(head_id, 15) ELSE head_id END"
ALL = ("rn AS 行号, " + ID_CELL + " AS 户编号, county AS \"县(市、区、旗)\", town AS \"乡(镇)\", village AS 行政村, head AS 户主姓名, "
       + MASKED + " AS 户主证件号码, t AS 户类型, '不适用' AS 识别, '不适用' AS 退出, risk AS 风险等级, NULLIF(factors, '') AS 风险因素, "
       "NULLIF(suggested, '') AS 建议监测类型, returned AS 疑似返贫, elimination AS 风险消除, NULLIF(reasons, '') AS 判定理由, NULL AS 数据问题, NULLIF(checks, '') AS 数据核查")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--columns", choices=["判定", "全部"], default="全部")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.year < 2021:
        ap.error("this peer encodes the rules from 2021 (过渡期, 常态化) only")
    con = duckdb.connect()
    if a.threads:
        con.execute(f"SET threads={a.threads}")
    y = a.year
    aid_any = " OR ".join(f'COALESCE("{c}", \'无\') NOT IN ({NONE_MEASURES})' for c in AID)
    aid_list = "concat_ws('，', " + ", ".join(
        f"'“{c}”列：是', CASE WHEN \"{c}\" IS NOT NULL THEN '{c}：是' END" for c in AID) + ")"
    aid_none = "'" + "，".join(f"{c}：无（空白）" for c in AID) + "'"
    # 常态化 (from 2026) calls the monitored group 防止返贫致贫对象 (rules/national.toml [periods.regular]).
    words = dict(GROUP="防止返贫致贫对象" if y >= 2026 else "监测对象", Y=y, MONTH=12, L=400000, M=600000, MIN_MONTHS=6, L_YUAN="4000", M_YUAN="6000", DATE=f"{y}-12-31",
                 L_SRC=L_SRC.format(Y=y), M_SRC=M_SRC.format(Y=y), MONTHS_SRC=MONTHS_SRC.format(Y=y))
    # Rows in input order, as tuopin writes them: DuckDB's parallel plan does not keep the file's
    # order by itself (at 1M rows the decisions-only query wrote blocks of 2,048 rows out of order),
    # so each row is numbered and the output sorted by it.
    rn = "row_number() OVER () + 1"
    aid_cols = ", ".join(f'"{c}"' for c in AID)
    con.execute(fill(SQL, words, inp=a.inp.replace("'", "''"), aid_any=aid_any, aid_cols=aid_cols, rn=rn))
    factors = ", ".join(f"CASE WHEN {k} THEN '{label}' END" for k, label in FACTORS)
    con.execute(fill(DECIDED, words, factors=factors))
    # One query (views), sorted by row number.
    if a.columns == "判定":
        select = f"SELECT {DECISIONS} FROM d ORDER BY rn"
    else:
        con.execute(fill(REASONS, words, aid_list=aid_list, aid_none=aid_none))
        select = f"SELECT {ALL} FROM x ORDER BY rn"
    con.execute(f"COPY ({select}) TO '{a.out}' (HEADER, DELIMITER ',')")


def fill(sql, words, **more):
    """Put the parameters in force and the prepared SQL pieces into a statement."""
    for k, v in {**words, **more}.items():
        sql = sql.replace("{" + k + "}", str(v))
    return sql


if __name__ == "__main__":
    main()

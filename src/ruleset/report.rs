//! `[report]`, `[indicators.*]` and `[area_data.*]`: the summary by area, compiled once at load.
//!
//! The levels of the areas (county → township → village), how persons are counted, which
//! decisions are counted and charted, and the indicators — each a share `numerator /
//! denominator` of households or persons, the numerator a condition over a household, the
//! denominator a condition or a figure per area the rule file gives (`[area_data.*]`). Nothing
//! here knows a level, a label or a threshold: they are the rule file's (rules/README.md,
//! "Summaries by area"). An indicator is never a quota or a target: its `standard` is words.

use std::collections::HashMap;

use super::expr::{self, Node, Ty};
use super::file::{self, FieldType, RuleFile};
use super::{fast, Builder, Decision, Field, RuleError};
use crate::value::Date;

/// What an indicator or a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Households,
    Persons,
}

impl Count {
    /// The unit, as summaries show it.
    pub fn unit(self) -> &'static str {
        match self {
            Count::Households => "户",
            Count::Persons => "人",
        }
    }
}

/// The denominator of an indicator.
#[derive(Debug, Clone)]
pub enum Denominator {
    /// The households (or their persons) for which the condition is true.
    When(Node, String, fast::Cond),
    /// A figure per area, by index into [`Report::data`].
    Data(u16),
}

#[derive(Debug, Clone)]
pub struct Indicator {
    pub id: String,
    pub label: String,
    pub count: Count,
    pub numerator: Node,
    /// The numerator as written.
    pub numerator_text: String,
    pub numerator_cond: fast::Cond,
    pub denominator: Denominator,
    pub from: Option<Date>,
    pub until: Option<Date>,
    pub standard: Option<String>,
    pub source: String,
    pub note: Option<String>,
}

impl Indicator {
    /// Whether it is computed on assessment date `d`.
    pub fn applies(&self, d: Date) -> bool {
        self.from.is_none_or(|f| f <= d) && self.until.is_none_or(|u| d <= u)
    }
}

/// `[area_data.<id>]`: a figure per area, keyed by name or path (`青山镇/石桥村`).
#[derive(Debug, Clone)]
pub struct AreaData {
    pub id: String,
    pub label: String,
    pub count: Count,
    pub values: HashMap<String, u64>,
    pub source: String,
    pub note: Option<String>,
}

impl AreaData {
    /// The figure of the area at `path` (its names, highest level first): the value of the
    /// longest suffix of the path joined with `/` that the rule file gives.
    pub fn value(&self, path: &[&str]) -> Option<u64> {
        (0..path.len()).find_map(|k| self.values.get(&path[k..].join("/")).copied())
    }
}

/// The summary by area, as the rule file declares it.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Area level fields, highest first.
    pub levels: Vec<u16>,
    /// The int field giving a household's persons.
    pub persons: Option<u16>,
    /// Decisions counted per area, by index.
    pub decisions: Vec<u16>,
    /// Decisions charted by area (stacked bars) and as totals (pies).
    pub charts: Vec<u16>,
    pub pies: Vec<u16>,
    pub indicators: Vec<Indicator>,
    pub data: Vec<AreaData>,
}

fn rule_err(what: &str, message: String) -> RuleError {
    RuleError::Rule { rule: what.to_string(), message }
}

/// Compile `[report]`, `[indicators.*]` and `[area_data.*]` against the fields, decisions and
/// the names conditions may read (`names`: as a check's).
pub(super) fn compile(
    file: &RuleFile,
    names: &Builder,
    fields: &[Field],
    field_index: &HashMap<String, u16>,
    decisions: &[Decision],
) -> Result<Report, RuleError> {
    let def = file.report.clone().unwrap_or_default();
    let field = |key: &str, what: &str, ok: &dyn Fn(FieldType) -> bool, want: &str| -> Result<u16, RuleError> {
        match field_index.get(key) {
            Some(&i) if ok(fields[i as usize].ty) => Ok(i),
            Some(_) => Err(rule_err("汇总 [report]", format!("{what} = \"{key}\" 不是{want}字段"))),
            None => {
                let keys: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
                Err(rule_err(
                    "汇总 [report]",
                    format!("{what} 中的字段 `{key}` 不存在{}", expr::did_you_mean(key, &keys)),
                ))
            }
        }
    };
    let area = |t: FieldType| matches!(t, FieldType::Text | FieldType::Enum);
    let levels = def.levels.iter().map(|k| field(k, "levels", &area, "文本或选项")).collect::<Result<Vec<_>, _>>()?;
    if let Some(dup) = levels.iter().enumerate().find(|(k, l)| levels[..*k].contains(l)) {
        let key = &fields[*dup.1 as usize].key;
        return Err(rule_err("汇总 [report]", format!("levels 中的字段 `{key}` 重复")));
    }
    let persons = def.persons.as_deref().map(|k| field(k, "persons", &|t| t == FieldType::Int, "整数")).transpose()?;
    let decision = |key: &String, what: &str| -> Result<u16, RuleError> {
        match decisions.iter().position(|d| &d.id == key) {
            Some(i) => Ok(i as u16),
            None => {
                let ids: Vec<String> = decisions.iter().map(|d| d.id.clone()).collect();
                Err(rule_err(
                    "汇总 [report]",
                    format!("{what} 中的决策 `{key}` 不存在{}", expr::did_you_mean(key, &ids)),
                ))
            }
        }
    };
    let counted = match &def.decisions {
        Some(keys) => keys.iter().map(|k| decision(k, "decisions")).collect::<Result<Vec<_>, _>>()?,
        None => (0..decisions.len() as u16).filter(|&d| decisions[d as usize].with.is_none()).collect(),
    };
    let charts = def.charts.iter().map(|k| decision(k, "charts")).collect::<Result<Vec<_>, _>>()?;
    let pies = def.pies.iter().map(|k| decision(k, "pies")).collect::<Result<Vec<_>, _>>()?;
    let data = compile_data(file)?;
    let mut indicators = Vec::new();
    for (id, def) in &file.indicators.0 {
        indicators.push(compile_indicator(id, def, names, &data, persons.is_some())?);
    }
    Ok(Report { levels, persons, decisions: counted, charts, pies, indicators, data })
}

fn count_of(what: &str, s: &str) -> Result<Count, RuleError> {
    match s {
        "households" => Ok(Count::Households),
        "persons" => Ok(Count::Persons),
        _ => Err(rule_err(what, format!("count = \"{s}\" 应为 \"households\"（户）或 \"persons\"（人）"))),
    }
}

fn compile_data(file: &RuleFile) -> Result<Vec<AreaData>, RuleError> {
    let mut data = Vec::new();
    for (id, def) in &file.area_data {
        super::check_ident(id, "地区数据")?;
        let what = format!("地区数据 `{id}`");
        if def.label.trim().is_empty() {
            return Err(rule_err(&what, "label 不能为空".into()));
        }
        if let Some(k) = def.values.keys().find(|k| k.trim().is_empty() || k.split('/').any(|p| p.trim().is_empty())) {
            return Err(rule_err(
                &what,
                format!("values 的键“{k}”应为地区名称，或自上而下用 / 连接的名称（如“青山镇/石桥村”）"),
            ));
        }
        data.push(AreaData {
            id: id.clone(),
            label: def.label.clone(),
            count: count_of(&what, &def.count)?,
            values: def.values.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            source: def.source.clone(),
            note: def.note.clone(),
        });
    }
    Ok(data)
}

fn compile_indicator(
    id: &str,
    def: &file::IndicatorDef,
    names: &Builder,
    data: &[AreaData],
    has_persons: bool,
) -> Result<Indicator, RuleError> {
    super::check_ident(id, "指标")?;
    let what = format!("指标 `{id}`");
    if def.label.trim().is_empty() {
        return Err(rule_err(&what, "label 不能为空".into()));
    }
    let count = count_of(&what, &def.count)?;
    if count == Count::Persons && !has_persons {
        return Err(rule_err(
            &what,
            "count = \"persons\" 需要 [report] 的 persons（给出每户人数的整数字段，如 \"members\"）".into(),
        ));
    }
    let cond = |src: &str, key: &str| expr::compile(src, names, Ty::Bool).map_err(super::at(format!("{what} ({key})")));
    let numerator = cond(&def.numerator, "numerator")?;
    let denominator = match (&def.denominator, &def.denominator_data) {
        (Some(src), None) => {
            let n = cond(src, "denominator")?;
            let c = fast::Cond::new(&n);
            Denominator::When(n, src.clone(), c)
        }
        (None, Some(key)) => {
            let Some(i) = data.iter().position(|d| &d.id == key) else {
                let ids: Vec<String> = data.iter().map(|d| d.id.clone()).collect();
                let message = format!(
                    "denominator_data = \"{key}\"：没有这一项 [area_data.{key}]{}",
                    expr::did_you_mean(key, &ids)
                );
                return Err(rule_err(&what, message));
            };
            if data[i].count != count {
                let message = format!(
                    "denominator_data `{key}` 计的是{}，与本指标的 count（{}）不一致",
                    data[i].count.unit(),
                    count.unit()
                );
                return Err(rule_err(&what, message));
            }
            Denominator::Data(i as u16)
        }
        _ => {
            return Err(rule_err(
                &what,
                "须给出 denominator（条件）或 denominator_data（地区数据）之一，且只能给一个".into(),
            ))
        }
    };
    let date = |s: &Option<String>, k: &str| -> Result<Option<Date>, RuleError> {
        s.as_ref()
            .map(|s| Date::parse(s).ok_or_else(|| rule_err(&what, format!("{k} = \"{s}\" 应为 YYYY-MM-DD 格式的日期"))))
            .transpose()
    };
    let (from, until) = (date(&def.from, "from")?, date(&def.until, "until")?);
    if let (Some(f), Some(u)) = (from, until) {
        if u < f {
            return Err(rule_err(&what, format!("until {u} 早于 from {f}")));
        }
    }
    Ok(Indicator {
        id: id.to_string(),
        label: def.label.clone(),
        count,
        numerator_cond: fast::Cond::new(&numerator),
        numerator,
        numerator_text: def.numerator.clone(),
        denominator,
        from,
        until,
        standard: def.standard.clone(),
        source: def.source.clone(),
        note: def.note.clone(),
    })
}

/// `[area_data.<id>] file = "…"`: the CSV it names (beside the rule file, `dir`) read into the
/// item's `values` (a value written in the rule file wins), before the file is merged, so that
/// `rules show --resolved` shows them. A rule set given as text or built in names no file.
pub(super) fn area_files(table: &mut toml::Table, dir: Option<&std::path::Path>, ident: &str) -> Result<(), RuleError> {
    let Some(toml::Value::Table(items)) = table.get_mut("area_data") else { return Ok(()) };
    for (id, item) in items.iter_mut() {
        let toml::Value::Table(item) = item else { continue };
        let Some(name) = item.remove("file") else { continue };
        let err =
            |m: String| RuleError::Parse { file: ident.to_string(), message: format!("[area_data.{id}] file：{m}") };
        let toml::Value::String(name) = name else { return Err(err("应为 CSV 文件的路径（文本）".into())) };
        let Some(dir) = dir else {
            return Err(err("以文本给出的或内置的规则集不能引用文件".into()));
        };
        let path = dir.join(&name);
        let shown = path.display().to_string();
        let text = super::read_rule_file(&path).map_err(|m| err(format!("{shown}：{m}")))?;
        let values = area_values(&text).map_err(|m| err(format!("{shown}：{m}")))?;
        let entry = item.entry("values").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(t) = entry else { return Err(err("同一项的 values 应为表".into())) };
        for (k, n) in values {
            t.entry(k).or_insert(toml::Value::Integer(n));
        }
    }
    Ok(())
}

/// The (地区, 数值) rows of a figures file: a header row, then two columns a row.
fn area_values(text: &str) -> Result<Vec<(String, i64)>, String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|_| format!("第 {line} 行无法读取（引号未闭合？）"))?;
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rec.len() < 2 || rec.iter().skip(2).any(|c| !c.trim().is_empty()) {
            return Err(format!("第 {line} 行应为两列：地区名称（或“乡镇/村”）、数值"));
        }
        let (name, value) = (rec[0].trim(), rec[1].trim().replace([',', '，'], ""));
        if name.is_empty() {
            return Err(format!("第 {line} 行缺少地区名称"));
        }
        let n: i64 = value
            .parse()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| format!("第 {line} 行“{name}”的数值“{}”应为非负整数", rec[1].trim()))?;
        out.push((name.to_string(), n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{AreaData, Count};

    #[test]
    fn a_rule_set_given_as_text_names_no_file() {
        let text = "[ruleset]\nid = \"t\"\nname = \"t\"\nextends = \"national\"\n\n[area_data.p]\nlabel = \"p\"\ncount = \"persons\"\nfile = \"p.csv\"\nsource = \"s\"\n";
        let e = crate::ruleset::load_str(text, "t").unwrap_err().to_string();
        assert!(e.contains("[area_data.p] file：以文本给出的或内置的规则集不能引用文件"), "{e}");
        assert_eq!(
            super::area_values("地区,人口\n甲村,\"1,200\"\n\n乙村,0\n").unwrap(),
            [("甲村".into(), 1200), ("乙村".into(), 0)]
        );
        assert!(super::area_values("地区,人口\n甲村,-1\n")
            .unwrap_err()
            .contains("第 2 行“甲村”的数值“-1”应为非负整数"));
        assert!(super::area_values("地区,人口\n甲村,1,2\n").unwrap_err().contains("第 2 行应为两列"));
    }

    #[test]
    fn a_figure_is_found_by_the_longest_suffix_of_the_path() {
        let values = [("石桥村", 330), ("河口乡/石桥村", 100), ("河口乡", 510)];
        let d = AreaData {
            id: "p".into(),
            label: "户籍人口".into(),
            count: Count::Persons,
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            source: String::new(),
            note: None,
        };
        assert_eq!(d.value(&["甲县", "青山镇", "石桥村"]), Some(330));
        assert_eq!(d.value(&["甲县", "河口乡", "石桥村"]), Some(100));
        assert_eq!(d.value(&["甲县", "河口乡"]), Some(510));
        assert_eq!(d.value(&["甲县", "河口乡", "柳湾村"]), None);
        assert_eq!(d.value(&[]), None);
    }
}

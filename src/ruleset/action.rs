//! What help can change: a field's `action` (and `total`) and a decision's `goal`, as the rule
//! file declares them, checked when it loads.
//!
//! The what-if (`whatif`) suggests changes only of fields with an `action`, only in its direction
//! or to its target values, and only for decisions with a `goal`. Everything else is a recorded
//! fact (an income of last year, the size of the household, an illness, an appraisal, a date, the
//! evidence of an exclusion): it is never suggested, whatever it would change. Kept apart from the
//! rest of the loader so that it reads as one piece.

use super::file::{ActionDef, DecisionDef, FieldDef, TotalDef};
use super::{parse_scalar, EnumDef, Field};
use crate::error::RuleError;
use crate::household::Scalar;
use crate::ruleset::file::FieldType;
use std::collections::HashMap;

/// How help can change a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A number help can raise (an income, the insured members).
    Increase,
    /// A number help can lower (children out of school).
    Decrease,
    /// A month read as time elapsed: never rewritten, only waited for.
    Wait,
    /// Values help can bring the field to (water solved: 是; a house renovated: 改造安全).
    To(Vec<Scalar>),
}

impl Action {
    /// The word the rule file and the JSON use.
    pub fn word(&self) -> &'static str {
        match self {
            Action::Increase => "increase",
            Action::Decrease => "decrease",
            Action::Wait => "wait",
            Action::To(_) => "to",
        }
    }
}

/// A per-head amount whose changes are also given for the whole household.
#[derive(Debug, Clone, PartialEq)]
pub struct Total {
    /// The int field it is per head of (家庭人口数).
    pub per: u16,
    /// What the household's sum is called (家庭年纯收入).
    pub label: String,
}

fn err(key: &str, message: String) -> RuleError {
    RuleError::Rule { rule: format!("字段 `{key}` (action)"), message }
}

/// A field's `action`, checked against its type: directions for numbers, `wait` for months,
/// target values (each a valid value of the field) for bool, enum and text fields.
pub fn compile_action(
    key: &str,
    def: &FieldDef,
    field: &Field,
    enums: &[EnumDef],
) -> Result<Option<Action>, RuleError> {
    let Some(a) = &def.action else { return Ok(None) };
    let word = match a {
        ActionDef::Word(w) => Some(w.as_str()),
        ActionDef::Values(_) => None,
    };
    let action = match (field.ty, word) {
        (FieldType::Int | FieldType::Money, Some("increase")) => Action::Increase,
        (FieldType::Int | FieldType::Money, Some("decrease")) => Action::Decrease,
        (FieldType::Int | FieldType::Money, _) => {
            return Err(err(
                key,
                format!(
                    "{} 无效：整数和金额字段写 action = \"increase\"（帮扶可使其增加）或 \"decrease\"（帮扶可使其减少）",
                    shown(a)
                ),
            ))
        }
        (FieldType::Month, Some("wait")) => Action::Wait,
        (FieldType::Month, _) => {
            return Err(err(
                key,
                format!("{} 无效：月份字段只能写 action = \"wait\"（只等待时间经过，不改记录）", shown(a)),
            ))
        }
        (FieldType::Id, _) => {
            return Err(err(key, "证件号码字段不能由帮扶改变：请删去 action".into()));
        }
        (FieldType::Bool | FieldType::Enum | FieldType::Text, Some(w @ ("increase" | "decrease" | "wait"))) => {
            return Err(err(
                key,
                format!(
                    "action = \"{w}\" 只用于整数、金额（increase、decrease）和月份（wait）字段；{} 字段请写帮扶可使其达到的取值，如 action = [\"是\"]",
                    field.ty.name()
                ),
            ))
        }
        (FieldType::Bool | FieldType::Enum | FieldType::Text, _) => {
            let texts: Vec<&str> = match a {
                ActionDef::Word(w) => vec![w.as_str()],
                ActionDef::Values(v) => v.iter().map(String::as_str).collect(),
            };
            if texts.is_empty() {
                return Err(err(key, "action = [] 没有目标取值：写出帮扶可使其达到的取值，或删去 action".into()));
            }
            let mut values = Vec::new();
            for t in texts {
                let v = parse_scalar(field, enums, t)
                    .map_err(|m| err(key, format!("目标取值“{t}”不是有效的 {} 值：{m}", field.ty.name())))?;
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            Action::To(values)
        }
    };
    Ok(Some(action))
}

fn shown(a: &ActionDef) -> String {
    match a {
        ActionDef::Word(w) => format!("action = \"{w}\""),
        ActionDef::Values(v) => {
            format!("action = [{}]", v.iter().map(|x| format!("\"{x}\"")).collect::<Vec<_>>().join(", "))
        }
    }
}

/// A field's `total`: only for a money field that help can change, per head of an int field.
pub fn compile_total(
    key: &str,
    def: Option<&TotalDef>,
    fields: &[Field],
    field_index: &HashMap<String, u16>,
) -> Result<Option<Total>, RuleError> {
    let Some(t) = def else { return Ok(None) };
    let rule = || format!("字段 `{key}` (total)");
    let f = &fields[field_index[key] as usize];
    if f.ty != FieldType::Money || f.action.is_none() {
        return Err(RuleError::Rule {
            rule: rule(),
            message: "total 只用于帮扶可改变（有 action）的金额字段，如人均纯收入".into(),
        });
    }
    let per = match field_index.get(&t.per) {
        Some(&i) if fields[i as usize].ty == FieldType::Int => i,
        _ => {
            let keys: Vec<String> = fields.iter().filter(|f| f.ty == FieldType::Int).map(|f| f.key.clone()).collect();
            return Err(RuleError::Rule {
                rule: rule(),
                message: format!(
                    "per = \"{}\" 不是整数字段{}：total 的 per 应为人数字段，如 per = \"members\"",
                    t.per,
                    super::expr::did_you_mean(&t.per, &keys)
                ),
            });
        }
    };
    if t.label.trim().is_empty() {
        return Err(RuleError::Rule {
            rule: rule(),
            message: "label 不能为空：写出全户合计的名称，如“家庭年纯收入”".into(),
        });
    }
    Ok(Some(Total { per, label: t.label.clone() }))
}

/// A decision's `goal`: one label or several (none: no what-if), none of them its `undecided` or
/// `not_applicable` label (reaching those is no help).
pub fn compile_goal(
    id: &str,
    def: &DecisionDef,
    undecided: u16,
    not_applicable: Option<u16>,
) -> Result<Vec<u16>, RuleError> {
    let Some(g) = &def.goal else { return Ok(Vec::new()) };
    let goal =
        g.as_slice().iter().map(|l| super::label_index(def, id, l, "goal")).collect::<Result<Vec<u16>, RuleError>>()?;
    let rule = format!("决策 `{id}` (goal)");
    if goal.is_empty() {
        return Err(RuleError::Rule {
            rule, message: "goal = [] 没有标签：不给 what-if 的决策请删去 goal".into()
        });
    }
    if let Some(&bad) = goal.iter().find(|&&g| g == undecided || Some(g) == not_applicable) {
        return Err(RuleError::Rule {
            rule,
            message: format!(
                "goal 含“{}”，它是 undecided 或 not_applicable 标签：what-if 只引向帮扶可以达到的判定",
                def.labels[bad as usize]
            ),
        });
    }
    Ok(goal)
}

/// The placeholders of an `action_text`, and what each stands for.
pub const PLACEHOLDERS: [(&str, &str); 6] = [
    ("label", "字段的名称"),
    ("from", "现值"),
    ("to", "帮扶后的值"),
    ("change", "增减的数量（increase、decrease、wait）"),
    ("total", "全户合计的增减，金额向上取整到元（有 total 的字段）"),
    ("per_capita", "人均的增减，精确到分（有 total 的字段）"),
];

/// The pieces of a template: literal text and placeholder names, in order; `Err` with what is
/// wrong (an unknown name, a brace without its pair).
pub fn pieces(template: &str) -> Result<Vec<(bool, &str)>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!("“}}”没有对应的“{{”（在“{}”处）", &rest[..=open]));
        }
        out.push((false, &rest[..open]));
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("“{{”没有对应的“}}”（在“{}”处）", &rest[open..]));
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.iter().any(|(p, _)| *p == name) {
            let names: Vec<String> = PLACEHOLDERS.iter().map(|(p, _)| format!("{{{p}}}")).collect();
            return Err(format!("未知的占位符 {{{name}}}（可用：{}）", names.join("、")));
        }
        out.push((true, name));
        rest = &rest[open + close + 1..];
    }
    out.push((false, rest));
    Ok(out)
}

/// Fill a checked template: each placeholder by `value(name)`; `None` if one has no value.
pub fn fill(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut s = String::new();
    for (is_name, piece) in pieces(template).ok()? {
        if is_name {
            s.push_str(&value(piece)?);
        } else {
            s.push_str(piece);
        }
    }
    Some(s)
}

/// A field's `action_text`: how `check` words the help for a work team, with placeholders of
/// [`PLACEHOLDERS`] (`{change}` only for a number or a month, `{total}` and `{per_capita}` only
/// with a `total`); only on a field with an `action`.
pub fn compile_action_text(key: &str, text: Option<&str>, field: &Field) -> Result<Option<String>, RuleError> {
    let Some(text) = text else { return Ok(None) };
    let e = |message: String| RuleError::Rule { rule: format!("字段 `{key}` (action_text)"), message };
    let Some(action) = &field.action else {
        return Err(e("action_text 只用于帮扶可改变（有 action）的字段：请先写 action，或删去 action_text".into()));
    };
    if text.trim().is_empty() {
        return Err(e("action_text 不能为空：写出工作队要做的事，如“为 {change} 名成员参保”".into()));
    }
    for (is_name, name) in pieces(text).map_err(|m| e(format!("“{text}”：{m}")))? {
        if !is_name {
            continue;
        }
        if matches!(name, "total" | "per_capita") && field.total.is_none() {
            return Err(e(format!(
                "{{{name}}} 只用于有 total 的金额字段（如人均纯收入）：请加 total = {{ per = …, label = … }} 或改用 {{change}}"
            )));
        }
        if name == "change" && matches!(action, Action::To(_)) {
            return Err(e("{change} 只用于 increase、decrease、wait 的字段；取值字段请用 {to}".into()));
        }
    }
    Ok(Some(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_split_and_filled() {
        let t = "家庭年纯收入还差 {total} 元（即人均 {per_capita} 元）";
        let got = fill(t, &|n| Some(if n == "total" { "8400".into() } else { "2800".into() }));
        assert_eq!(got.as_deref(), Some("家庭年纯收入还差 8400 元（即人均 2800 元）"));
        assert_eq!(fill("为 {change} 名成员参保", &|_| None), None);
        assert_eq!(fill("无占位符", &|_| None).as_deref(), Some("无占位符"));
        assert!(pieces("{total").unwrap_err().contains("没有对应的"));
        assert!(pieces("total}").unwrap_err().contains("没有对应的"));
        assert!(pieces("{人数}").unwrap_err().contains("未知的占位符 {人数}"));
    }
}

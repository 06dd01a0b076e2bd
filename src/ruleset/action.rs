//! What help can change: a field's `action` (and `total`) and a decision's `goal`, as the rule
//! file declares them, checked when it loads.
//!
//! The what-if (`whatif`) suggests changes only of fields with an `action`, only in its direction
//! or to its target values, and only for decisions with a `goal`. Everything else is a recorded
//! fact (an income of last year, the size of the household, an illness, an appraisal, a date, the
//! evidence of an exclusion): it is never suggested, whatever it would change. Kept apart from the
//! rest of the loader so that it reads as one piece.

use super::file::{ActionDef, FieldDef, TotalDef};
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

/// A decision's `goal`: one label or several, none of them its `undecided` or `not_applicable`
/// label (reaching those is no help).
pub fn check_goal(
    id: &str,
    goal: &[u16],
    labels: &[String],
    undecided: u16,
    not_applicable: Option<u16>,
) -> Result<(), RuleError> {
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
                labels[bad as usize]
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::household::Scalar;
    use crate::ruleset::{embedded, load_str, RuleSet};

    use super::Action;

    /// The national rule file with one text replaced (it must occur).
    fn national_with(from: &str, to: &str) -> Result<RuleSet, String> {
        let text = embedded("national").unwrap();
        assert!(text.contains(from), "{from}");
        load_str(&text.replacen(from, to, 1), "t.toml").map_err(|e| e.to_string())
    }

    fn error(from: &str, to: &str) -> String {
        national_with(from, to).err().unwrap_or_else(|| panic!("{to} loaded"))
    }

    #[test]
    fn the_national_rules_declare_what_help_can_change() {
        let rs = national_with("", "").unwrap();
        let action = |k: &str| rs.field(k).unwrap().action.clone();
        assert_eq!(action("per_capita_income"), Some(Action::Increase));
        assert_eq!(action("insured"), Some(Action::Increase));
        assert_eq!(action("dropouts"), Some(Action::Decrease));
        assert_eq!(action("monitor_since"), Some(Action::Wait));
        assert_eq!(action("water"), Some(Action::To(vec![Scalar::Bool(true)])));
        assert_eq!(action("housing_secured"), Some(Action::To(vec![Scalar::Enum(1), Scalar::Enum(2)])));
        // Recorded facts, and evidence never to be hidden.
        for k in [
            "prev_per_capita_income",
            "members",
            "labor",
            "ill",
            "disabled",
            "housing_grade",
            "household_type",
            "monitor_type",
            "disaster",
            "has_car",
            "has_public_employee",
            "expense_medical",
        ] {
            assert_eq!(action(k), None, "{k}");
        }
        let t = rs.field("per_capita_income").unwrap().total.clone().unwrap();
        assert_eq!((rs.fields[t.per as usize].key.as_str(), t.label.as_str()), ("members", "家庭年纯收入"));
        let goal = |d: &str| {
            let d = &rs.decisions[rs.decision_index(d).unwrap()];
            d.goal.iter().map(|&g| d.labels[g as usize].as_str()).collect::<Vec<_>>()
        };
        assert!(goal("eligibility").is_empty(), "nobody is advised how to qualify");
        assert_eq!(goal("risk"), ["低", "无"]);
        assert_eq!(goal("exit"), ["可退出"]);
        assert_eq!(goal("elimination"), ["可消除风险"]);
    }

    #[test]
    fn a_bad_action_is_a_chinese_load_error() {
        let wage = "label = \"工资性收入\"\naction = \"increase\"";
        let e = error(wage, "label = \"工资性收入\"\naction = \"up\"");
        assert!(e.contains("字段 `income_wage` (action)") && e.contains("\"increase\""), "{e}");
        let e = error("label = \"饮水安全\"\naction = [\"是\"]", "label = \"饮水安全\"\naction = \"increase\"");
        assert!(e.contains("只用于整数、金额") && e.contains("action = [\"是\"]"), "{e}");
        let e = error("action = [\"改造安全\", \"保障安全\"]", "action = [\"改造安全\", \"拆除\"]");
        assert!(e.contains("目标取值“拆除”") && e.contains("鉴定安全"), "{e}");
        let e = error("label = \"家庭人口数\"\n", "label = \"家庭人口数\"\naction = \"wait\"\n");
        assert!(e.contains("字段 `members` (action)"), "{e}");
        let e = error("action = \"wait\"", "action = \"increase\"").replace(' ', "");
        assert!(e.contains("月份字段只能写action=\"wait\""), "{e}");
        let e = error("label = \"户主证件号码\"\n", "label = \"户主证件号码\"\naction = [\"是\"]\n");
        assert!(e.contains("证件号码字段不能由帮扶改变"), "{e}");
        let e = error("label = \"饮水安全\"\naction = [\"是\"]", "label = \"饮水安全\"\naction = []");
        assert!(e.contains("没有目标取值"), "{e}");
    }

    #[test]
    fn a_bad_total_is_a_load_error() {
        let total = "total = { per = \"members\", label = \"家庭年纯收入\" }";
        let e = error(total, "total = { per = \"labr\", label = \"家庭年纯收入\" }");
        assert!(e.contains("per = \"labr\" 不是整数字段") && e.contains("labor"), "{e}");
        let e = error(total, "total = { per = \"members\", label = \"家庭年纯收入\", unit = \"元\" }");
        assert!(e.contains("unit"), "unknown keys are rejected: {e}");
        let e = error(total, "total = { per = \"members\", label = \" \" }");
        assert!(e.contains("label 不能为空"), "{e}");
        // Only on a money field help can change.
        let e = error(
            "label = \"上年人均纯收入\"\n",
            "label = \"上年人均纯收入\"\ntotal = { per = \"members\", label = \"上年家庭纯收入\" }\n",
        );
        assert!(e.contains("只用于帮扶可改变"), "{e}");
        let e = error("action = \"increase\"\ntotal", "action2 = \"increase\"\ntotal");
        assert!(e.contains("action2"), "unknown keys are rejected: {e}");
    }

    #[test]
    fn a_goal_is_a_label_or_labels_of_the_decision_and_not_its_undecided_one() {
        let risk = "goal = [\"低\", \"无\"]";
        assert!(national_with(risk, "goal = \"无\"").is_ok());
        let e = error(risk, "goal = [\"低\", \"待核实\"]");
        assert!(e.contains("决策 `risk` (goal)") && e.contains("“待核实”"), "{e}");
        let e = error(risk, "goal = [\"低\", \"不适用\"]");
        assert!(e.contains("“不适用”"), "{e}");
        let e = error(risk, "goal = []");
        assert!(e.contains("删去 goal"), "{e}");
        let e = error(risk, "goal = [\"低级\"]");
        assert!(e.contains("goal “低级” 不在它的 labels 中") && e.contains("是否应为"), "{e}");
    }
}

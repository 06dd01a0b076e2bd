//! Questions on a terminal for `tuopin check`: one per field the rule set needs, in the order the
//! decisions read them, typed as the rule file declares. Enum and bool fields offer their values;
//! every other answer is checked as it is typed by the cell parser ledgers go through
//! (`ruleset::parse_scalar`) and against the field's range. Enter (or Esc) leaves a field blank:
//! unknown, or the rule file's value for a blank. A derived field left blank (人均纯收入) asks for
//! the fields it is computed from.

use anyhow::bail;
use inquire::ui::{RenderConfig, Styled};
use inquire::validator::Validation;
use inquire::{InquireError, Select, Text};

use crate::engine::whatif::scalar_text;
use crate::household::Scalar;
use crate::ruleset::file::FieldType;
use crate::ruleset::{self, expr, Bound, RangeBound, RuleSet};
use crate::value::cell;
use crate::value::Num;

/// Answers as (field key, cell text), blank included.
pub fn ask(b: &Bound) -> anyhow::Result<Vec<(String, String)>> {
    let rs = b.rules;
    let (mut order, _) = super::reading_order(rs);
    for (f, _) in rs.needed_fields() {
        if !order.contains(&f) {
            order.push(f);
        }
    }
    // Esc leaves a field blank: say so where inquire would say "<canceled>".
    inquire::set_global_render_config(
        RenderConfig::default_colored().with_canceled_prompt_indicator(Styled::new("（空白）")),
    );
    // The household id first (optional: a household checked at the kitchen table may have none).
    order.insert(0, rs.field_index["household_id"]);
    eprintln!(
        "逐项填写（规则集 {}，评估日期 {}）：直接回车 = 空白（未知）；选择项可输入文字筛选；Ctrl-C 取消。",
        rs.id,
        rs.dated(b.as_of)
    );
    let mut answers: Vec<(u16, String)> = Vec::new();
    let mut stack: Vec<u16> = order.into_iter().rev().collect();
    while let Some(f) = stack.pop() {
        if answers.iter().any(|(g, _)| *g == f) {
            continue;
        }
        let text = ask_one(rs, f, &answers)?;
        let field = &rs.fields[f as usize];
        if let (true, Some(d)) = (cell::is_blank(&text), &field.derive) {
            let inputs = expr::refs(d).fields;
            let pending: Vec<u16> = inputs.into_iter().filter(|g| !answers.iter().any(|(h, _)| h == g)).collect();
            if !pending.is_empty() {
                let labels: Vec<&str> = pending.iter().map(|&g| rs.fields[g as usize].label.as_str()).collect();
                eprintln!("{}留空：将由 {} 计算。", field.label, labels.join("、"));
                stack.extend(pending.into_iter().rev());
            }
        }
        answers.push((f, text));
    }
    Ok(answers.into_iter().map(|(f, t)| (rs.fields[f as usize].key.clone(), t)).collect())
}

/// What a blank stands for, as offered.
fn blank_choice(rs: &RuleSet, f: u16) -> String {
    match &rs.fields[f as usize].blank {
        Some(v) => format!("（空白：按 {}）", scalar_text(rs, f, v)),
        None => "（空白：未知）".to_string(),
    }
}

fn ask_one(rs: &RuleSet, f: u16, answers: &[(u16, String)]) -> anyhow::Result<String> {
    let field = &rs.fields[f as usize];
    let blank = blank_choice(rs, f);
    let answer = match field.ty {
        FieldType::Bool | FieldType::Enum => {
            let values: Vec<String> = match field.ty {
                FieldType::Bool => vec!["是".into(), "否".into()],
                _ => field.enum_id.map(|e| rs.enums[e as usize].values.clone()).unwrap_or_default(),
            };
            let mut options = vec![blank.clone()];
            options.extend(values);
            Select::new(&field.label, options)
                .with_help_message("↑↓ 选择，输入文字筛选，回车确认")
                .prompt_skippable()
                .map(|c| c.filter(|c| *c != blank).unwrap_or_default())
        }
        _ => {
            let (min, max) = (range(rs, field.min, answers), range(rs, field.max, answers));
            let mut help = match field.ty {
                FieldType::Money => "金额（元），如 3500、3500.5、3,500元".to_string(),
                FieldType::Int => "整数".to_string(),
                FieldType::Month => "年月，如 2023-06、202306、2023年6月".to_string(),
                FieldType::Id => "证件号码".to_string(),
                _ => "文字".to_string(),
            };
            match (&min, &max) {
                (Some((_, a)), Some((_, b))) => help.push_str(&format!("，{a} 至 {b}")),
                (Some((_, a)), None) => help.push_str(&format!("，不小于 {a}")),
                (None, Some((_, b))) => help.push_str(&format!("，不大于 {b}")),
                _ => {}
            }
            help.push_str(&format!("；回车留空 = {}", blank.trim_matches(['（', '）'])));
            let validator = |s: &str| {
                if cell::is_blank(s) {
                    return Ok(Validation::Valid);
                }
                Ok(match ruleset::parse_scalar(field, &rs.enums, s) {
                    Err(m) => Validation::Invalid(m.into()),
                    Ok(Scalar::Num(v)) => match (&min, &max) {
                        (Some((m, t)), _) if v < *m => Validation::Invalid(format!("不应小于 {t}").into()),
                        (_, Some((m, t))) if v > *m => Validation::Invalid(format!("不应大于 {t}").into()),
                        _ => Validation::Valid,
                    },
                    Ok(_) => Validation::Valid,
                })
            };
            Text::new(&field.label)
                .with_help_message(&help)
                .with_validator(validator)
                .prompt_skippable()
                .map(Option::unwrap_or_default)
        }
    };
    match answer {
        Ok(a) => Ok(a),
        Err(InquireError::OperationInterrupted) | Err(InquireError::OperationCanceled) => bail!("已取消"),
        Err(e) => Err(anyhow::Error::new(e).context("无法在终端上提问")),
    }
}

/// A range bound with its text: a number, or the answer already given for another field.
fn range(rs: &RuleSet, b: Option<RangeBound>, answers: &[(u16, String)]) -> Option<(Num, String)> {
    match b? {
        RangeBound::Num(n) => Some((Num::from_int(n)?, n.to_string())),
        RangeBound::Field(j) => {
            let text = &answers.iter().find(|(g, _)| *g == j)?.1;
            match ruleset::parse_scalar(&rs.fields[j as usize], &rs.enums, text).ok()? {
                Scalar::Num(x) => Some((x, format!("{}（{x}）", rs.fields[j as usize].label))),
                _ => None,
            }
        }
    }
}

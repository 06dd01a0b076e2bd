//! Questions on a terminal for `tuopin check`, in the order the decisions read the fields, typed as
//! the rule file declares: only fields that can still change a decision of this household (after
//! each answer the household is assessed with the fields not yet answered unknown; the fields the
//! undecided decisions' rules read are the ones left to ask), stopping once every decision is
//! settled. Enum and bool fields offer their values;
//! every other answer is checked as it is typed by the cell parser ledgers go through
//! (`ruleset::parse_scalar`) and against the field's range. Enter (or Esc) leaves a field blank:
//! unknown, or the rule file's value for a blank. A derived field left blank (人均纯收入) asks for
//! the fields it is computed from. `<` goes back to the previous question (typed, or chosen in a
//! list).

use anyhow::bail;
use inquire::ui::{RenderConfig, Styled};
use inquire::validator::Validation;
use inquire::{InquireError, Select, Text};

use crate::engine;
use crate::engine::whatif::scalar_text;
use crate::household::{Cell, Household, Missing, Scalar};
use crate::messages::tr;
use crate::ruleset::expr::Node;
use crate::ruleset::file::FieldType;
use crate::ruleset::{self, expr, Bound, RangeBound, RuleSet, Test};
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
        RenderConfig::default_colored().with_canceled_prompt_indicator(Styled::new(tr_static("（空白）"))),
    );
    // The household id first (optional: a household checked at the kitchen table may have none).
    order.insert(0, rs.field_index["household_id"]);
    eprintln!(
        "逐项填写（规则集 {}，评估日期 {}）：直接回车 = 空白（未知）；选择项可输入文字筛选；输入 < 返回上一题；Ctrl-C 取消。",
        rs.id,
        rs.dated(b.as_of)
    );
    // The next question follows from the answers so far, so going back is forgetting the last one.
    let mut answers: Vec<(u16, String)> = Vec::new();
    while let Some(f) = next_question(rs, &order, &answers, &open_fields(b, &answers)) {
        let Some(text) = ask_one(rs, f, &answers)? else {
            answers.pop();
            continue;
        };
        let field = &rs.fields[f as usize];
        if let (true, Some(d)) = (cell::is_blank(&text), &field.derive) {
            let pending: Vec<u16> =
                expr::refs(d).fields.into_iter().filter(|g| !answers.iter().any(|(h, _)| h == g)).collect();
            if !pending.is_empty() {
                let labels: Vec<&str> = pending.iter().map(|&g| rs.fields[g as usize].label.as_str()).collect();
                eprintln!("{}留空：将由 {} 计算。", field.label, labels.join("、"));
            }
        }
        answers.push((f, text));
    }
    Ok(answers.into_iter().map(|(f, t)| (rs.fields[f as usize].key.clone(), t)).collect())
}

/// The first question not answered yet among the fields that can still change a decision
/// (`open`; the household id is asked first all the same): the fields in `order`, each derived
/// field left blank followed by the fields it is computed from. `None`: every decision is settled,
/// or nothing left to ask can settle it.
fn next_question(rs: &RuleSet, order: &[u16], answers: &[(u16, String)], open: &[bool]) -> Option<u16> {
    let id = rs.field_index["household_id"];
    let mut seen = vec![false; rs.fields.len()];
    let mut todo: Vec<u16> = order.iter().rev().copied().collect();
    while let Some(f) = todo.pop() {
        if std::mem::replace(&mut seen[f as usize], true) {
            continue;
        }
        match answers.iter().find(|(g, _)| *g == f) {
            None if f == id || open[f as usize] => return Some(f),
            None => {}
            Some((_, t)) => {
                if let (true, Some(d)) = (cell::is_blank(t), &rs.fields[f as usize].derive) {
                    todo.extend(expr::refs(d).fields.into_iter().rev());
                }
            }
        }
    }
    None
}

/// The fields that can still change a decision of this household: the household as answered so
/// far, every field not answered yet unknown (as a column a file lacks), is assessed; for each
/// decision still undecided, the fields its rules read up to the one that left it undecided (through
/// the criteria they read), and the flag's when it is unknown. A derived field answered blank opens
/// the fields it is computed from. Everything else cannot change a decision: not asked.
fn open_fields(b: &Bound, answers: &[(u16, String)]) -> Vec<bool> {
    let rs = b.rules;
    let mut hh = Household { cells: vec![Cell::Blank; rs.fields.len()], ..Household::default() };
    for (i, field) in rs.fields.iter().enumerate() {
        match answers.iter().find(|(g, _)| *g as usize == i) {
            Some((_, t)) => rs.set_cell(&mut hh, i as u16, t, &field.header),
            None => hh.cells[i] = Cell::Absent(Missing::Field(i as u16)),
        }
    }
    let columns: Vec<Option<String>> = rs.fields.iter().map(|f| Some(f.header.clone())).collect();
    rs.finish(&mut hh, &columns, b.as_of);
    let a = engine::assess(b, &hh);
    let mut todo: Vec<&Node> = Vec::new();
    for (di, dec) in rs.decisions.iter().enumerate() {
        if a.decisions[di] == dec.undecided {
            let upto = a.decided_by[di].map_or(dec.rules.len(), |k| k + 1);
            todo.extend(dec.rules[..upto].iter().map(|(n, _, _)| n));
        }
    }
    if let (Some(flag), None) = (&rs.returned, a.returned) {
        todo.push(&flag.when);
    }
    let mut open = vec![false; rs.fields.len()];
    let mut crits = vec![false; rs.criteria.len()];
    while let Some(n) = todo.pop() {
        expr::walk(n, &mut |x| match x {
            Node::Field(i) | Node::Blank(i) => open[*i as usize] = true,
            Node::Crit(c) if !crits[*c as usize] => {
                crits[*c as usize] = true;
                match &rs.criteria[*c as usize].test {
                    Test::Condition(t) => todo.push(t),
                    Test::MetUnmet(m, u) => todo.extend([m, u]),
                }
            }
            _ => {}
        });
    }
    // A derived field left blank is computed from its inputs: those can change it.
    loop {
        let mut more = false;
        for (f, t) in answers {
            if let (true, true, Some(d)) = (open[*f as usize], cell::is_blank(t), &rs.fields[*f as usize].derive) {
                for g in expr::refs(d).fields {
                    more |= !std::mem::replace(&mut open[g as usize], true);
                }
            }
        }
        if !more {
            break;
        }
    }
    open
}

/// What a blank stands for, as offered.
fn blank_choice(rs: &RuleSet, f: u16) -> String {
    let said = match &rs.fields[f as usize].blank {
        Some(v) => format!("（空白：按 {}）", scalar_text(rs, f, v)),
        None => "（空白：未知）".to_string(),
    };
    tr(&said).into_owned()
}

/// A text for the whole run (inquire keeps its render configuration for good).
fn tr_static(s: &'static str) -> &'static str {
    match tr(s) {
        std::borrow::Cow::Borrowed(b) => b,
        std::borrow::Cow::Owned(o) => Box::leak(o.into_boxed_str()),
    }
}

/// `<`, typed or chosen: back to the previous question.
const BACK: &str = "<";

/// The answer, or `None` to go back to the previous question.
fn ask_one(rs: &RuleSet, f: u16, answers: &[(u16, String)]) -> anyhow::Result<Option<String>> {
    let field = &rs.fields[f as usize];
    let blank = blank_choice(rs, f);
    let back = tr("< 上一题").into_owned();
    let answer = match field.ty {
        FieldType::Bool | FieldType::Enum => {
            let values: Vec<String> = match field.ty {
                FieldType::Bool => vec!["是".into(), "否".into()],
                _ => field.enum_id.map(|e| rs.enums[e as usize].values.clone()).unwrap_or_default(),
            };
            // The values first, so that typing 否 selects 否 (not a blank that stands for 否); the
            // cursor starts on the blank, so that enter alone leaves the field blank.
            let mut options = values;
            options.push(blank.clone());
            let at_blank = options.len() - 1;
            if !answers.is_empty() {
                options.push(back.clone());
            }
            Select::new(&field.label, options)
                .with_help_message(&tr("↑↓ 选择，输入文字筛选，回车确认"))
                .with_starting_cursor(at_blank)
                .prompt_skippable()
                .map(|c| match c {
                    Some(c) if c == back => BACK.to_string(),
                    Some(c) if c == blank => String::new(),
                    other => other.unwrap_or_default(),
                })
        }
        _ => {
            let (min, max) = (range(rs, field.min, answers), range(rs, field.max, answers));
            // Each piece of the help in the run's language (the catalogue's keys are the pieces).
            let mut help = tr(match field.ty {
                FieldType::Money => "金额（元），如 3500、3500.5、3,500元",
                FieldType::Int => "整数",
                FieldType::Month => "年月，如 2023-06、202306、2023年6月",
                FieldType::Id => "证件号码",
                _ => "文字",
            })
            .into_owned();
            match (&min, &max) {
                (Some((_, a)), Some((_, b))) => help.push_str(&tr(&format!("，{a} 至 {b}"))),
                (Some((_, a)), None) => help.push_str(&tr(&format!("，不小于 {a}"))),
                (None, Some((_, b))) => help.push_str(&tr(&format!("，不大于 {b}"))),
                _ => {}
            }
            help.push_str(&tr(&format!("；回车留空 = {}", blank.trim_matches(['（', '）', '(', ')']))));
            if !answers.is_empty() {
                help.push_str(&tr("；输入 < 返回上一题"));
            }
            let validator = |s: &str| {
                if cell::is_blank(s) || s.trim() == BACK {
                    return Ok(Validation::Valid);
                }
                Ok(match ruleset::parse_scalar(field, &rs.enums, s) {
                    Err(m) => Validation::Invalid(tr(&m).into_owned().into()),
                    Ok(Scalar::Num(v)) => match (&min, &max) {
                        (Some((m, t)), _) if v < *m => {
                            Validation::Invalid(tr(&format!("不应小于 {t}")).into_owned().into())
                        }
                        (_, Some((m, t))) if v > *m => {
                            Validation::Invalid(tr(&format!("不应大于 {t}")).into_owned().into())
                        }
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
        Ok(a) if a.trim() == BACK => Ok(None),
        Ok(a) => Ok(Some(a)),
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

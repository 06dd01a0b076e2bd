//! Policy periods (`[periods.<id>]`) and the words that change with them (`[terms]`).
//!
//! A rule file names its periods so that outputs can say which one an assessment falls in, and
//! declares terms: words that labels and messages write as `{term}` and that a period may change
//! (the national rules' `{monitored_group}` is renamed from 2026). The engine never reads a
//! period: conditions test the assessment date themselves.

use std::collections::BTreeMap;

use super::file::PeriodDef;
use super::{Piece, RuleSet};
use crate::value::Date;

#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub id: String,
    pub label: String,
    pub from: Option<Date>,
    pub until: Option<Date>,
    /// The terms it changes.
    pub terms: Vec<(String, String)>,
    pub source: String,
}

impl Period {
    pub fn contains(&self, d: Date) -> bool {
        self.from.is_none_or(|f| f <= d) && self.until.is_none_or(|u| d <= u)
    }
}

/// Terms and their words.
pub type Words = Vec<(String, String)>;

/// The periods (sorted by start; none may overlap) and the terms with their default words.
pub fn compile(
    defs: &BTreeMap<String, PeriodDef>,
    terms: &BTreeMap<String, String>,
) -> Result<(Vec<Period>, Words), String> {
    let date = |id: &str, key: &str, s: &Option<String>| -> Result<Option<Date>, String> {
        s.as_deref()
            .map(|s| Date::parse(s).ok_or_else(|| format!("时期 `{id}` 的 {key} = \"{s}\" 应为 YYYY-MM-DD 格式的日期")))
            .transpose()
    };
    let mut periods = Vec::new();
    for (id, def) in defs {
        if def.label.trim().is_empty() {
            return Err(format!("时期 `{id}` 的 label 不能为空"));
        }
        let (from, until) = (date(id, "from", &def.from)?, date(id, "until", &def.until)?);
        if let (Some(f), Some(u)) = (from, until) {
            if u < f {
                return Err(format!("时期 `{id}` 的 until {u} 早于 from {f}"));
            }
        }
        for k in def.terms.keys() {
            if !terms.contains_key(k) {
                let known: Vec<String> = terms.keys().cloned().collect();
                return Err(format!(
                    "时期 `{id}` 的 terms 中的 `{k}` 未在 [terms] 中声明（[terms] 给出各时期通用的默认用词）{}",
                    super::expr::did_you_mean(k, &known)
                ));
            }
        }
        let terms = def.terms.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        periods.push(Period {
            id: id.clone(),
            label: def.label.clone(),
            from,
            until,
            terms,
            source: def.source.clone(),
        });
    }
    periods.sort_by_key(|p| p.from);
    for w in periods.windows(2) {
        let overlaps = match (w[0].until, w[1].from) {
            (Some(u), Some(f)) => f <= u,
            _ => true,
        };
        if overlaps {
            return Err(format!("时期 `{}` 与 `{}` 重叠：前一个须在后一个开始之前结束（until）", w[0].id, w[1].id));
        }
    }
    Ok((periods, terms.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
}

impl RuleSet {
    /// The period a date falls in, if the rule file names one.
    pub fn period_at(&self, d: Date) -> Option<&Period> {
        self.periods.iter().find(|p| p.contains(d))
    }

    /// A date as outputs show it, with its period: `2024-12-31（过渡期）` (`2024-12-31 (过渡期)` in
    /// English).
    pub fn dated(&self, d: Date) -> String {
        match self.period_at(d) {
            Some(p) => format!("{d}{}", crate::messages::paren(&p.label)),
            None => d.to_string(),
        }
    }

    /// The word of `[terms]` named `key`: after [`RuleSet::worded`], the period's.
    pub fn term(&self, key: &str) -> Option<&str> {
        self.terms.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The rule set as worded on date `d`: every `{term}` in criterion and check labels and in
    /// check and warning messages replaced by the word of the period `d` falls in (or the
    /// default). Done once per run, before the rules are bound to the date.
    pub fn worded(mut self, d: Date) -> RuleSet {
        if self.terms.is_empty() {
            return self;
        }
        let mut words = self.terms.clone();
        if let Some(p) = self.period_at(d) {
            for (k, v) in &p.terms {
                if let Some(w) = words.iter_mut().find(|(t, _)| t == k) {
                    w.1 = v.clone();
                }
            }
        }
        let put = |s: &mut String| {
            if s.contains('{') {
                for (k, v) in &words {
                    *s = s.replace(&format!("{{{k}}}"), v);
                }
            }
        };
        let put_pieces = |pieces: &mut Vec<Piece>| {
            for p in pieces {
                if let Piece::Text(t) = p {
                    put(t);
                }
            }
        };
        for c in &mut self.criteria {
            put(&mut c.label);
            if let Some(w) = &mut c.wording {
                put(w);
            }
        }
        for c in &mut self.checks {
            put(&mut c.label);
            put_pieces(&mut c.message);
        }
        self.warnings.iter_mut().for_each(|w| put_pieces(&mut w.message));
        self.terms = words;
        self
    }
}

//! Quarterly dynamic-adjustment lists (动态调整, default-rules.md §5), pure.
//!
//! Each current household's assessment puts it on the per-household lists (新识别 … 拟清退); a
//! household matched with its previous-quarter row may also be on 人口变化 and 状态异常; ids found in
//! only one snapshot are 新增户 / 减少户. The command (`cmd::adjust`) does the reading and writing;
//! this module only decides.

use crate::engine::{self, Assessment};
use crate::household::{Cell, Household, Scalar};
use crate::ruleset::{expr, Bound, Test};
use crate::value::Num;

/// The lists, in the order they are filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum List {
    NewlyIdentified,
    ProposedExit,
    ExitProcedure,
    SuspectedReturn,
    ToMonitor,
    RiskEliminated,
    ToRemove,
    MembersChanged,
    NewHousehold,
    Gone,
    StatusAnomaly,
    DataProblems,
}

impl List {
    pub const ALL: [List; 12] = [
        List::NewlyIdentified,
        List::ProposedExit,
        List::ExitProcedure,
        List::SuspectedReturn,
        List::ToMonitor,
        List::RiskEliminated,
        List::ToRemove,
        List::MembersChanged,
        List::NewHousehold,
        List::Gone,
        List::StatusAnomaly,
        List::DataProblems,
    ];

    pub fn name(self) -> &'static str {
        match self {
            List::NewlyIdentified => "新识别",
            List::ProposedExit => "拟退出",
            List::ExitProcedure => "待履行退出程序",
            List::SuspectedReturn => "疑似返贫",
            List::ToMonitor => "拟纳入监测",
            List::RiskEliminated => "拟风险消除",
            List::ToRemove => "拟清退",
            List::MembersChanged => "人口变化",
            List::NewHousehold => "新增户",
            List::Gone => "减少户",
            List::StatusAnomaly => "状态异常",
            List::DataProblems => "数据问题",
        }
    }
}

/// What is kept of a household to compare it with the other quarter: its id and row, the few
/// fields compared, and (for the current quarter, or a vanished household) its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts<'r> {
    pub row: u64,
    /// The household id (left empty in the previous quarter's index, whose key holds it).
    pub id: String,
    /// One of the rule set's 户类型 values (borrowed from it: no allocation per household).
    pub household_type: Option<&'r str>,
    pub members: Option<i64>,
    pub per_capita_income: Option<Num>,
    /// The exclusion criterion (清退 evidence), when the rule set has one.
    pub excluded: Option<bool>,
    /// The exclusion columns that are 是 (`有小汽车`).
    pub exclusion: Vec<String>,
}

impl<'r> Facts<'r> {
    pub fn of(b: &Bound<'r>, hh: &Household, a: &Assessment, id: String) -> Facts<'r> {
        let rs = b.rules;
        let num = |key: &str| match rs.field_index.get(key).map(|&i| &hh.cells[i as usize]) {
            Some(Cell::Value(Scalar::Num(n)) | Cell::Derived(Scalar::Num(n)) | Cell::BlankAs(Scalar::Num(n))) => {
                Some(*n)
            }
            _ => None,
        };
        let household_type = rs.field_index.get("household_type").and_then(|&i| match &hh.cells[i as usize] {
            Cell::Value(Scalar::Enum(e)) => {
                let f = &rs.fields[i as usize];
                Some(rs.enums[f.enum_id? as usize].values[*e as usize].as_str())
            }
            _ => None,
        });
        let crit = rs.criteria.iter().position(|c| c.id == "excluded");
        let excluded = crit.and_then(|c| a.crits[c]);
        let mut exclusion = Vec::new();
        if let (Some(c), Some(true)) = (crit, excluded) {
            let nodes: Vec<&crate::ruleset::expr::Node> = match &rs.criteria[c].test {
                Test::Condition(n) => vec![n],
                Test::MetUnmet(m, _) => vec![m],
            };
            for n in nodes {
                for fi in expr::refs(n).fields {
                    if hh.cells[fi as usize].value() == Some(&Scalar::Bool(true)) {
                        exclusion.push(rs.fields[fi as usize].label.clone());
                    }
                }
            }
        }
        Facts {
            row: hh.row,
            id,
            household_type,
            members: num("members").and_then(Num::as_int),
            per_capita_income: num("per_capita_income"),
            excluded,
            exclusion,
        }
    }
}

/// Where a household is and who heads it, as shown on every list row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Who {
    pub county: String,
    pub township: String,
    pub village: String,
    pub head_name: String,
    pub head_id: String,
}

/// One row of one list.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub list: List,
    /// Which snapshot the row is from: the current one, except for 减少户 and duplicates there.
    pub previous: bool,
    pub row: u64,
    pub household_id: String,
    pub who: Who,
    pub reason: String,
    /// Values that changed between the quarters (`家庭人口数 4 → 3；人均纯收入 6100 → 3900`).
    pub change: String,
}

/// The per-household lists of one current household (新识别 … 拟清退), each with its reasons.
///
/// The decisions are found through the roles the rule file declares (`roles = { … }`,
/// `ruleset::ROLES`), never by key or label; the household types compared here and the lists
/// themselves become rule data with the quarterly lists of #14 (item 2).
pub fn per_household(b: &Bound, hh: &Household, a: &Assessment, f: &Facts) -> Vec<(List, String)> {
    let rs = b.rules;
    let label = |di: usize| a.label(b, di);
    let reasons = |di: usize| {
        let mut s = String::new();
        engine::write_decision_reasons(&mut s, b, hh, a, di);
        s
    };
    // The decision holding `role`, when its label is one of the role's.
    let on = |role: &str| rs.role(role).filter(|(di, labels)| labels.contains(&a.decisions[*di])).map(|(di, _)| di);
    let mut out = Vec::new();
    let ty = f.household_type;
    if ty == Some("一般农户") {
        if let Some(d) = on("newly_identified") {
            out.push((List::NewlyIdentified, reasons(d)));
        }
    }
    if ty == Some("贫困户") {
        if let Some(d) = on("proposed_exit") {
            out.push((List::ProposedExit, reasons(d)));
        }
        if let Some(d) = on("exit_procedure") {
            out.push((List::ExitProcedure, reasons(d)));
        }
    }
    // The flag, explained by the reasons of the decision it is shown with.
    let flag_with = rs.returned.as_ref().and_then(|f| f.with).map(usize::from);
    if ty == Some("脱贫户") && a.returned == Some(true) {
        out.push((List::SuspectedReturn, flag_with.map(reasons).unwrap_or_default()));
    }
    if let Some(d) = on("to_monitor") {
        let text = match rs.decisions[d].with.map(usize::from) {
            Some(p) => format!("风险{}，建议类型：{}；{}", label(p), label(d), reasons(p)),
            None => format!("建议类型：{}", label(d)),
        };
        out.push((List::ToMonitor, text));
    }
    if let Some(d) = on("risk_eliminated") {
        out.push((List::RiskEliminated, reasons(d)));
    }
    if matches!(ty, Some("贫困户" | "脱贫户")) && f.excluded == Some(true) {
        out.push((List::ToRemove, format!("清退情形：{}", f.exclusion.join("、"))));
    }
    out
}

/// Lists that compare a matched household's two quarters (人口变化, 状态异常), and the changes.
pub fn compare(prev: &Facts, cur: &Facts) -> (Vec<(List, String)>, String) {
    let mut out = Vec::new();
    let mut changes = Vec::new();
    if prev.household_type != cur.household_type {
        changes.push(format!("户类型 {} → {}", show(&prev.household_type), show(&cur.household_type)));
    }
    if let (Some(a), Some(b)) = (prev.members, cur.members) {
        if a != b {
            changes.push(format!("家庭人口数 {a} → {b}"));
            let kind = if b > a { "自然增加" } else { "自然减少" };
            out.push((List::MembersChanged, format!("{kind}：家庭人口数 {a} → {b}")));
        }
    }
    if let (Some(a), Some(b)) = (prev.per_capita_income, cur.per_capita_income) {
        if a != b {
            changes.push(format!("人均纯收入 {a} → {b}"));
        }
    }
    let anomaly = match (prev.household_type, cur.household_type) {
        (Some("脱贫户"), Some("一般农户")) => Some("脱贫户 → 一般农户：已脱贫户不应转为一般农户".to_string()),
        (Some("脱贫户"), Some("贫困户")) => {
            Some("脱贫户 → 贫困户：返贫应经监测程序，不应直接改回贫困户".to_string())
        }
        (Some("贫困户"), Some("一般农户")) if prev.excluded == Some(false) => {
            Some("贫困户 → 一般农户：上季度无清退情形".to_string())
        }
        _ => None,
    };
    if let Some(a) = anomaly {
        out.push((List::StatusAnomaly, a));
    }
    (out, changes.join("；"))
}

fn show<'a>(s: &Option<&'a str>) -> &'a str {
    s.unwrap_or("（空白）")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(ty: &'static str, members: i64, pci: &str, excluded: bool) -> Facts<'static> {
        Facts {
            row: 2,
            id: "H1".into(),
            household_type: Some(ty),
            members: Some(members),
            per_capita_income: Num::parse_decimal(pci),
            excluded: Some(excluded),
            exclusion: Vec::new(),
        }
    }

    #[test]
    fn member_change_and_income_change_are_shown() {
        let (lists, change) = compare(&facts("脱贫户", 4, "6100", false), &facts("脱贫户", 3, "3900", false));
        assert_eq!(lists, vec![(List::MembersChanged, "自然减少：家庭人口数 4 → 3".to_string())]);
        assert_eq!(change, "家庭人口数 4 → 3；人均纯收入 6100 → 3900");
    }

    #[test]
    fn status_transitions() {
        let anomaly = |a: &'static str, b: &'static str, excl: bool| {
            compare(&facts(a, 3, "5000", excl), &facts(b, 3, "5000", false))
                .0
                .iter()
                .any(|(l, _)| *l == List::StatusAnomaly)
        };
        assert!(anomaly("脱贫户", "一般农户", false));
        assert!(anomaly("脱贫户", "贫困户", false));
        assert!(anomaly("贫困户", "一般农户", false));
        assert!(!anomaly("贫困户", "一般农户", true), "a removal explained by exclusion evidence is not anomalous");
        assert!(!anomaly("贫困户", "脱贫户", false), "exit is the normal path");
        assert!(!anomaly("一般农户", "贫困户", false), "identification is the normal path");
    }
}

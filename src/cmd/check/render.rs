//! The explanation of `tuopin check` as text: the decisions and the rule that gave each, every
//! criterion with its values, thresholds and sources, what would change each decision, and the
//! data problems. A view of the record, the criteria reasons and the what-if; nothing is decided
//! here. Colour (plain ANSI codes) only on a terminal, and never with `NO_COLOR` set.

use crate::messages::tr;
use std::fmt::Write;

use super::Source;
use crate::engine::whatif::{Need, WhatIf};
use crate::engine::{self, Assessment};
use crate::household::Household;
use crate::output::Record;
use crate::ruleset::file::CriterionKind;
use crate::ruleset::{Bound, Decision};

/// How the text is shown: coloured or not; the conditions (CEL) too, or only words.
#[derive(Clone, Copy)]
pub struct Style {
    pub paint: Paint,
    pub verbose: bool,
}

#[derive(Clone, Copy)]
pub struct Paint(bool);

impl Paint {
    pub fn new(terminal: bool) -> Paint {
        Paint(terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
    }
    fn wrap(self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn red(self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn green(self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn yellow(self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn cyan(self, s: &str) -> String {
        self.wrap("36", s)
    }
}

/// The documents a source text cites by key (`S21`), by the titles of the rule file's `[sources]`:
/// `文件：S21 中共中央办公厅、国务院办公厅《关于建立贫困退出机制的意见》（厅字〔2016〕16号）`.
/// A key is matched whole (`S1` not inside `S10`). `None` when it cites none the rule file names.
fn documents(rs: &crate::ruleset::RuleSet, source: &str) -> Option<String> {
    let mut found: Vec<(usize, &str, &str)> = Vec::new();
    for (key, title) in &rs.sources {
        let whole = source.match_indices(key.as_str()).find(|(at, _)| {
            let before = source[..*at].chars().next_back();
            let after = source[at + key.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        });
        if let Some((at, _)) = whole {
            found.push((at, key, title));
        }
    }
    found.sort();
    let list: Vec<String> = found.iter().map(|(_, k, t)| format!("{k} {t}")).collect();
    (!list.is_empty()).then(|| format!("文件：{}", list.join("；")))
}

/// Display width: CJK and full-width characters take two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

fn icon(status: &str, p: Paint) -> String {
    match status {
        "met" | "true" => p.green("✓"),
        "unmet" | "false" => p.red("✗"),
        _ => p.yellow("?"),
    }
}

/// A reason under a decision: it says what holds in words (`人均纯收入 3849.01 ≤ 扶贫标准 4000`), so
/// it is marked only when it is not known.
fn bullet(status: &str, p: Paint) -> String {
    match status {
        "met" | "unmet" | "true" | "false" => "·".to_string(),
        _ => p.yellow("?"),
    }
}

/// A criterion's result in the rule file's words for its kind (`[terms]`: 达标/未达标, 存在/不存在,
/// 是/否, 待核实), coloured by what it means for the household: good green, bad red, not known
/// yellow, a state plain. Without those terms, the plain words of `status_word`.
fn verdict(rs: &crate::ruleset::RuleSet, kind: CriterionKind, status: &str, p: Paint) -> String {
    let prefix = match kind {
        CriterionKind::Standard => "standard",
        CriterionKind::Risk => "risk",
        CriterionKind::State => "state",
    };
    let key = match status {
        "met" => format!("{prefix}_met"),
        "unmet" => format!("{prefix}_unmet"),
        _ => "unknown".to_string(),
    };
    let word = rs.term(&key).unwrap_or(status_word(status));
    let good = match (kind, status) {
        (_, "unknown") => return p.yellow(&p.bold(word)),
        (CriterionKind::State, _) => return p.bold(word),
        (CriterionKind::Standard, s) => s == "met",
        (CriterionKind::Risk, s) => s == "unmet",
    };
    if good {
        p.green(&p.bold(word))
    } else {
        p.red(&p.bold(word))
    }
}

fn status_word(status: &str) -> &'static str {
    match status {
        "met" => "满足",
        "unmet" => "不满足",
        "true" => "成立",
        "false" => "不成立",
        _ => "未知",
    }
}

/// Label `l` of decision `dec` coloured by what it means for the household: its goal green, its
/// `not_applicable` label dim, its undecided label yellow, any other red when it has a goal.
fn label(dec: &Decision, l: &str, p: Paint) -> String {
    let is = |i: Option<u16>| i.is_some_and(|i| dec.labels[i as usize] == l);
    if dec.goal.iter().any(|&g| is(Some(g))) {
        p.green(&p.bold(l))
    } else if is(dec.not_applicable) {
        p.dim(l)
    } else if is(Some(dec.undecided)) {
        p.yellow(&p.bold(l))
    } else if !dec.goal.is_empty() {
        p.red(&p.bold(l))
    } else {
        p.bold(l)
    }
}

pub fn text(
    b: &Bound,
    hh: &Household,
    a: &Assessment,
    r: &Record,
    what_if: &[WhatIf],
    source: &Source,
    style: Style,
) -> String {
    let Style { paint: p, verbose } = style;
    let mut s = String::new();
    write_heading(&mut s, b, r, source, p);
    write_decisions(&mut s, b, a, r, p, verbose);
    write_criteria(&mut s, b, hh, a, p, verbose);
    write_what_if(&mut s, b, what_if, p, verbose);
    write_findings(&mut s, r, p);
    s
}

/// The heading: who, from where, which rules and date.
fn write_heading(s: &mut String, b: &Bound, r: &Record, source: &Source, p: Paint) {
    let rs = b.rules;
    let mut who = Vec::new();
    who.push(if r.household_id.is_empty() {
        "户编号（未填）".to_string()
    } else {
        format!("户编号 {}", r.household_id)
    });
    who.push(r.household_type.clone().unwrap_or_else(|| "户类型（空白）".into()));
    let place: Vec<&str> = [&r.county, &r.township, &r.village].iter().filter_map(|x| x.as_deref()).collect();
    if !place.is_empty() {
        who.push(place.join(" "));
    }
    if let Some(n) = &r.head_name {
        who.push(match &r.head_id {
            Some(id) => format!("户主 {n}（{id}）"),
            None => format!("户主 {n}"),
        });
    }
    // Each piece in the run's language before they are joined (one line, several messages).
    let who: Vec<String> = who.iter().map(|w| crate::messages::tr(w).into_owned()).collect();
    let _ = writeln!(s, "{}", p.bold(&who.join(" · ")));
    let from = match source {
        Source::File { path, row } => format!("{path} 第 {row} 行"),
        Source::Cells => "填写的数据".to_string(),
    };
    let _ = writeln!(
        s,
        "{}",
        p.dim(&format!("来源：{from} · 规则集 {}（{}）· 评估日期 {}", rs.id, rs.name, rs.dated(b.as_of)))
    );
}

/// Each decision with the rule that gave it and its reasons (the same reasons as `assess`).
fn write_decisions(s: &mut String, b: &Bound, a: &Assessment, r: &Record, p: Paint, verbose: bool) {
    let rs = b.rules;
    let _ = writeln!(s, "\n{}", p.bold("【判定】"));
    let w = rs.decisions.iter().map(|d| width(&d.label)).max().unwrap_or(8) + 2;
    for (di, dec) in rs.decisions.iter().enumerate() {
        // A decision shown with another is shown on that one's line.
        if dec.with.is_some() {
            continue;
        }
        let l = a.label(b, di);
        let _ = writeln!(s, "{}{}", pad(&dec.label, w), label(dec, l, p));
        let rule = match a.decided_by[di] {
            Some(k) => {
                let (_, lk, when) = &dec.rules[k];
                // The condition in CEL only with --verbose: the reasons below say it in words.
                let cel = if verbose { format!(" `{}` ", when.when) } else { String::new() };
                if a.decisions[di] == dec.undecided && *lk != dec.undecided {
                    format!("第 {} 条规则{cel}无法判断 → {l}", k + 1)
                } else {
                    format!("第 {} 条规则{cel}成立 → {l}", k + 1)
                }
            }
            None => format!("各条均不成立 → 其余情形 {l}"),
        };
        let _ = writeln!(s, "    {}", p.dim(&format!("依据：{rule}（来源：{}）", dec.source)));
        if let Some(d) = documents(rs, &dec.source) {
            let _ = writeln!(s, "    {}", p.dim(&d));
        }
        for reason in r.reasons.iter().filter(|x| x.decision == dec.id) {
            let _ = writeln!(s, "    {} {}", bullet(reason.status, p), reason.text);
        }
        // Its factors, the decisions shown with it and the flag, on one line.
        let with: Vec<usize> = (0..rs.decisions.len()).filter(|&x| rs.decisions[x].with == Some(di as u16)).collect();
        let flag = rs.returned.as_ref().filter(|f| f.with == Some(di as u16));
        let has_line = dec.factors_column.is_some() || !with.is_empty() || flag.is_some();
        if has_line && !dec.is_not_applicable(a.decisions[di]) {
            let mut extra = Vec::new();
            if let (Some(name), false) = (&dec.factors_column, r.factors[di].is_empty()) {
                let labels: Vec<&str> = r.factors[di]
                    .iter()
                    .filter_map(|id| rs.criteria.iter().find(|c| &c.id == id).map(|c| c.label.as_str()))
                    .collect();
                extra.push(format!("{name}：{}", labels.join("、")));
            }
            for &x in &with {
                if !r.labels[x].is_empty() {
                    extra.push(format!("{}：{}", rs.decisions[x].label, r.labels[x]));
                }
            }
            if let Some(f) = flag {
                let v = match r.returned {
                    Some(true) => "是",
                    Some(false) => "否",
                    None => "待核实",
                };
                extra.push(format!("{}：{v}", f.label));
            }
            let _ = writeln!(s, "    {}", extra.join(" · "));
        }
    }
}

/// The criteria the decisions' rules reached for this household, in the order they read them.
fn write_criteria(s: &mut String, b: &Bound, hh: &Household, a: &Assessment, p: Paint, verbose: bool) {
    let rs = b.rules;
    let _ = writeln!(s, "\n{}", p.bold("【相关标准】"));
    for c in super::reached_criteria(b, a) {
        let reason = engine::explain_criterion(b, hh, a, c);
        let crit = &rs.criteria[c as usize];
        let _ = writeln!(s, "{} {}", verdict(rs, crit.kind, reason.status, p), reason.label);
        if let Some(w) = &crit.wording {
            let _ = writeln!(s, "    标准：{w}");
        }
        let _ = writeln!(s, "    {}", reason.text);
        if verbose {
            let _ = writeln!(s, "    {}", p.dim(&format!("条件：{}", rs.criteria[c as usize].text)));
        }
        let _ = writeln!(s, "    {}", p.dim(&format!("来源：{}", reason.source)));
        if let Some(d) = documents(rs, &reason.source) {
            let _ = writeln!(s, "    {}", p.dim(&d));
        }
    }
}

/// What would change the decisions, as a work team's actions: per decision, its numbered actions
/// in the rule file's words, each with the standards it changes and the other ways to change them.
fn write_what_if(s: &mut String, b: &Bound, what_if: &[WhatIf], p: Paint, verbose: bool) {
    let rs = b.rules;
    if what_if.is_empty() {
        return;
    }
    // Two messages on one line: each in the run's language (without colour they would run together).
    let (heading, verified) = (tr("【怎样改变判定】"), tr("每项均已用规则重新评估验证"));
    let _ = writeln!(s, "\n{}  {}", p.bold(&heading), p.dim(&verified));
    for wi in what_if {
        let Some(dec) = rs.decision_index(&wi.decision).map(|d| &rs.decisions[d]) else { continue };
        let _ = writeln!(
            s,
            "{}（现为 {}）：做到以下 {} 项，可为 {}",
            p.bold(&wi.label),
            label(dec, &wi.current, p),
            wi.actions.len(),
            label(dec, &wi.goal, p)
        );
        for (i, act) in wi.actions.iter().enumerate() {
            let note = act.note.as_ref().map(|n| p.dim(&format!("（{n}）"))).unwrap_or_default();
            let _ = writeln!(s, "  {}. {}{note}", i + 1, p.cyan(&act.text));
            let needs: Vec<&Need> = wi
                .steps
                .iter()
                .flat_map(|st| &st.needs)
                .filter(|n| n.suggestions.iter().any(|sg| sg.field == act.field))
                .collect();
            let mut why: Vec<String> = Vec::new();
            for n in &needs {
                let w = format!("{}（现{}，须{}）", n.label, status_word(n.status), status_word(n.want));
                if !why.contains(&w) {
                    why.push(w);
                }
            }
            if !why.is_empty() {
                let _ = writeln!(s, "     {}", p.dim(&format!("针对：{}", why.join("；"))));
            }
            // Other single changes that would do the same (a need any one of whose suggestions
            // meets it), not already among the actions.
            let mut other: Vec<&str> = Vec::new();
            for n in needs.iter().filter(|n| n.suggestions.iter().all(|x| x.criterion_flips)) {
                for sg in n.suggestions.iter().filter(|x| !wi.actions.iter().any(|a| a.field == x.field)) {
                    if !other.contains(&sg.text.as_str()) {
                        other.push(&sg.text);
                    }
                }
            }
            if !other.is_empty() {
                let _ = writeln!(s, "     {}", p.dim(&format!("或者：{}", other.join("；"))));
            }
        }
        for f in &wi.findings_after {
            let _ =
                writeln!(s, "  {} 做到后的数据核查〔{}〕{}：{}", p.yellow("!"), f.severity.word(), f.label, f.message);
        }
    }
    if verbose {
        write_what_if_steps(s, b, what_if, p);
    }
}

/// How the what-if was found, round by round (`--verbose`): what blocks, each change that would
/// unblock it, and the decision after each round.
fn write_what_if_steps(s: &mut String, b: &Bound, what_if: &[WhatIf], p: Paint) {
    let rs = b.rules;
    if !what_if.is_empty() {
        let _ = writeln!(s, "\n{}", p.bold("【推算过程】"));
        for wi in what_if {
            let Some(dec) = rs.decision_index(&wi.decision).map(|d| &rs.decisions[d]) else { continue };
            let label = |l: &str, p: Paint| label(dec, l, p);
            let _ = writeln!(s, "{}：{} → {}", p.bold(&wi.label), label(&wi.current, p), label(&wi.goal, p));
            for (n, step) in wi.steps.iter().enumerate() {
                if n > 0 {
                    let _ = writeln!(s, "  {}", p.dim(&format!("此后（{} 为 {}）还需：", wi.label, step.before)));
                }
                for need in &step.needs {
                    let (icon, label, now, want) =
                        (icon(need.status, p), &need.label, status_word(need.status), status_word(need.want));
                    // One template a case (not a hint glued to the wanted word), so that each
                    // is a message of its own in the catalogue.
                    let several = need.suggestions.len() > 1;
                    let _ = if several && need.suggestions.iter().all(|x| x.criterion_flips) {
                        writeln!(s, "  {icon} {label}（现{now}，须{want}，任一即可）")
                    } else if several && need.suggestions.iter().all(|x| !x.criterion_flips) {
                        writeln!(s, "  {icon} {label}（现{now}，须{want}，需全部做到）")
                    } else {
                        writeln!(s, "  {icon} {label}（现{now}，须{want}）")
                    };
                    if need.suggestions.is_empty() {
                        let _ = writeln!(s, "      {}", p.dim("· 改变任何单项数据都不能使其改变"));
                    }
                    for sg in &need.suggestions {
                        let alone = if sg.decision_after != step.before {
                            format!(" {}", p.dim(&format!("（仅此一项：{} 为 {}）", wi.label, sg.decision_after)))
                        } else {
                            String::new()
                        };
                        let _ = writeln!(s, "      · {}{alone}", p.cyan(&sg.text));
                    }
                }
                if !step.applied.is_empty() && step.after != step.before {
                    let changes: Vec<String> = step
                        .applied
                        .iter()
                        .map(|c| match c.wait_months {
                            Some(n) => format!("再等 {n} 个月"),
                            None => {
                                let l = rs.field(&c.field).map(|f| f.label.as_str()).unwrap_or(&c.field);
                                format!("{l}={}", c.to)
                            }
                        })
                        .collect();
                    let _ = writeln!(s, "  → 若 {}：{} 为 {}", changes.join("，"), wi.label, label(&step.after, p));
                }
            }
            for f in &wi.findings_after {
                let _ =
                    writeln!(s, "  {} 改后数据核查〔{}〕{}：{}", p.yellow("!"), f.severity.word(), f.label, f.message);
            }
        }
    }
}

/// Data problems and the findings of the data checks.
fn write_findings(s: &mut String, r: &Record, p: Paint) {
    if !r.problems.is_empty() {
        let _ = writeln!(s, "\n{}", p.bold(&p.yellow("【数据问题】")));
        for pr in &r.problems {
            let at = if pr.row > 0 { format!("第 {} 行", pr.row) } else { String::new() };
            let col = if pr.column.is_empty() { String::new() } else { format!("“{}”", pr.column) };
            let val = if pr.value.is_empty() { String::new() } else { format!("：“{}”", pr.value) };
            let _ = writeln!(s, "  {at}{col}{val} {}", pr.message);
        }
    }
    if !r.checks.is_empty() {
        let _ = writeln!(s, "\n{}", p.bold(&p.yellow("【数据核查】")));
        for f in &r.checks {
            let _ = writeln!(s, "  〔{}〕{}：{}", f.severity.word(), f.label, f.message);
            let _ = writeln!(s, "    {}", p.dim(&format!("来源：{}", f.source)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_by_the_rule_files_titles() {
        let rs = crate::ruleset::load("national").unwrap();
        let d = documents(&rs, "[2.1] 厅字〔2016〕16号（S21）；[1.2] S10、S11").unwrap();
        assert!(
            d.starts_with(
                "文件：S21 中共中央办公厅、国务院办公厅《关于建立贫困退出机制的意见》（厅字〔2016〕16号）；S10 "
            ),
            "{d}"
        );
        assert!(d.contains("；S11 中农组发〔2021〕7号政策解读"), "{d}");
        // S1 is not inside S10 or S11.
        assert!(!d.contains("S1 《云南统计年鉴"), "{d}");
        assert_eq!(documents(&rs, "default-rules.md §6.3"), None);
    }

    #[test]
    fn a_verdict_is_coloured_by_what_it_means() {
        let rs = crate::ruleset::load("national").unwrap();
        let on = Paint(true);
        assert_eq!(verdict(&rs, CriterionKind::Standard, "met", on), "\x1b[32m\x1b[1m达标\x1b[0m\x1b[0m");
        assert_eq!(verdict(&rs, CriterionKind::Standard, "unmet", on), "\x1b[31m\x1b[1m未达标\x1b[0m\x1b[0m");
        assert_eq!(verdict(&rs, CriterionKind::Risk, "met", on), "\x1b[31m\x1b[1m存在\x1b[0m\x1b[0m");
        assert_eq!(verdict(&rs, CriterionKind::Risk, "unmet", on), "\x1b[32m\x1b[1m不存在\x1b[0m\x1b[0m");
        assert_eq!(verdict(&rs, CriterionKind::State, "met", on), "\x1b[1m是\x1b[0m");
        assert_eq!(verdict(&rs, CriterionKind::Risk, "unknown", on), "\x1b[33m\x1b[1m待核实\x1b[0m\x1b[0m");
        assert_eq!(verdict(&rs, CriterionKind::Risk, "met", Paint(false)), "存在");
    }
}

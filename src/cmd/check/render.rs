//! The explanation of `tuopin check` as text: the decisions and the rule that gave each, every
//! criterion with its values, thresholds and sources, what would change each decision, and the
//! data problems. A view of the record, the criteria reasons and the what-if; nothing is decided
//! here. Colour (plain ANSI codes) only on a terminal, and never with `NO_COLOR` set.

use std::fmt::Write;

use super::Source;
use crate::engine::whatif::WhatIf;
use crate::engine::{self, Assessment};
use crate::household::Household;
use crate::output::Record;
use crate::ruleset::{Bound, Decision};

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
    p: Paint,
) -> String {
    let mut s = String::new();
    write_heading(&mut s, b, r, source, p);
    write_decisions(&mut s, b, a, r, p);
    write_criteria(&mut s, b, hh, a, p);
    write_what_if(&mut s, b, what_if, p);
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
fn write_decisions(s: &mut String, b: &Bound, a: &Assessment, r: &Record, p: Paint) {
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
                if a.decisions[di] == dec.undecided && *lk != dec.undecided {
                    format!("第 {} 条 `{}` 无法判断 → {l}", k + 1, when.when)
                } else {
                    format!("第 {} 条 `{}` 成立 → {l}", k + 1, when.when)
                }
            }
            None => format!("各条均不成立 → 其余情形 {l}"),
        };
        let _ = writeln!(s, "    {}", p.dim(&format!("依据：{rule}（来源：{}）", dec.source)));
        for reason in r.reasons.iter().filter(|x| x.decision == dec.id) {
            let _ = writeln!(s, "    {} {}", icon(reason.status, p), reason.text);
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

/// Every criterion, in the order the decisions read them.
fn write_criteria(s: &mut String, b: &Bound, hh: &Household, a: &Assessment, p: Paint) {
    let rs = b.rules;
    let _ = writeln!(s, "\n{}  {}", p.bold("【各项标准】"), p.dim("✓ 满足 · ✗ 不满足 · ? 未知"));
    let (_, order) = super::reading_order(rs);
    for c in order {
        let reason = engine::explain_criterion(b, hh, a, c);
        let _ = writeln!(s, "{} {}：{}", icon(reason.status, p), reason.label, status_word(reason.status));
        let _ = writeln!(s, "    {}", reason.text);
        let _ = writeln!(s, "    {}", p.dim(&format!("来源：{}", reason.source)));
    }
}

/// What would change the decisions.
fn write_what_if(s: &mut String, b: &Bound, what_if: &[WhatIf], p: Paint) {
    let rs = b.rules;
    if !what_if.is_empty() {
        let _ = writeln!(s, "\n{}  {}", p.bold("【怎样改变判定】"), p.dim("每项改动均已用规则重新评估验证"));
        for wi in what_if {
            let Some(dec) = rs.decision_index(&wi.decision).map(|d| &rs.decisions[d]) else { continue };
            let label = |l: &str, p: Paint| label(dec, l, p);
            let _ = writeln!(s, "{}：{} → {}", p.bold(&wi.label), label(&wi.current, p), label(&wi.goal, p));
            for (n, step) in wi.steps.iter().enumerate() {
                if n > 0 {
                    let _ = writeln!(s, "  {}", p.dim(&format!("此后（{} 为 {}）还需：", wi.label, step.before)));
                }
                for need in &step.needs {
                    let hint = if need.suggestions.len() > 1 && need.suggestions.iter().all(|x| x.criterion_flips) {
                        "，任一即可"
                    } else if need.suggestions.len() > 1 && need.suggestions.iter().all(|x| !x.criterion_flips) {
                        "，需全部做到"
                    } else {
                        ""
                    };
                    let want = status_word(need.want);
                    let _ = writeln!(
                        s,
                        "  {} {}（现{}，须{want}{hint}）",
                        icon(need.status, p),
                        need.label,
                        status_word(need.status)
                    );
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

//! `tuopin rules check` and `tuopin rules test`.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::cases;
use crate::cli::RulesCommand;
use crate::error::Outcome;
use crate::messages::{fill_key, sep};
use crate::ruleset::{self, RuleSet, Test};

pub fn run(cmd: RulesCommand) -> anyhow::Result<Outcome> {
    match cmd {
        RulesCommand::Check { file } => check(&file),
        RulesCommand::Show { file, resolved } => show(&file, resolved),
        RulesCommand::Test { files, builtin } => test(&files, builtin),
    }
}

fn show(spec: &str, resolved: bool) -> anyhow::Result<Outcome> {
    let text = if resolved {
        // Loaded in full first: a rule set that does not compile is an error, not a listing.
        ruleset::load(spec)?;
        ruleset::layering::show(&ruleset::resolve(spec)?)
    } else {
        match ruleset::embedded(spec).filter(|_| !std::path::Path::new(spec).exists()) {
            Some(t) => t.to_string(),
            None => std::fs::read_to_string(spec)
                .map_err(|e| anyhow::anyhow!("无法读取规则文件 {spec}：{}", crate::error::io_text(&e)))?,
        }
    };
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // `… | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r?,
    }
    Ok(Outcome::Clean)
}

/// `（2021-01-01 至 2025-12-31）`: the dates a list or an indicator applies between, if any.
fn between(from: Option<crate::value::Date>, until: Option<crate::value::Date>) -> String {
    match (from, until) {
        (None, None) => String::new(),
        (f, u) => fill_key(
            "（{} 至 {}）",
            &[&f.map(|d| d.to_string()).unwrap_or_default(), &u.map(|d| d.to_string()).unwrap_or_default()],
        ),
    }
}

/// What `rules check` says of any field, a household's or a member's: aliases, values, a blank's
/// value, a derivation.
fn field_traits(rs: &ruleset::RuleSet, f: &ruleset::Field) -> Vec<String> {
    let mut extra = Vec::new();
    if !f.aliases.is_empty() {
        extra.push(fill_key("别名 {}", &[&f.aliases.join(sep("、"))]));
    }
    if let Some(e) = f.enum_id {
        extra.push(fill_key("取值 {}", &[&rs.enums[e as usize].values.join("/")]));
    }
    if f.blank.is_some() {
        extra.push(fill_key("空白有默认值", &[]));
    }
    if f.derive.is_some() {
        extra.push(fill_key("空白时计算", &[]));
    }
    extra
}

fn check(spec: &str) -> anyhow::Result<Outcome> {
    let rs = if spec == "-" {
        // Standard input: a rule file without a directory, so it extends built-in sets only.
        let text = ruleset::read_text(std::io::stdin().lock())
            .map_err(|e| anyhow::anyhow!("无法读取规则文件（{}）：{e}", crate::input::stdin::NAME))?;
        ruleset::load_str(&text, crate::input::stdin::NAME)?
    } else {
        ruleset::load(spec)?
    };
    let mut s = String::new();
    writeln!(s, "{}", fill_key("规则集 {}（{}）：检查通过", &[&rs.id, &rs.name]))?;
    writeln!(s, "{}", fill_key("来源：{}", &[&rs.origin.join(" ← ")]))?;
    if !rs.description.is_empty() {
        writeln!(s, "{}", rs.description)?;
    }
    let from = rs.covered_from();
    writeln!(s, "\n{}\n", fill_key("涵盖：{} 年起", &[&from.year.to_string()]))?;
    writeln!(s, "{}", fill_key("字段（{} 个）：", &[&rs.fields.len().to_string()]))?;
    write_fields(&mut s, &rs)?;
    write_periods_and_members(&mut s, &rs)?;
    write_params(&mut s, &rs)?;
    write_criteria(&mut s, &rs)?;
    write_decisions(&mut s, &rs)?;
    write_checks_and_lists(&mut s, &rs)?;
    write_report(&mut s, &rs)?;
    // Written, not print!ed: a reader that stops early (`| head`) ends the run quietly (main
    // treats a broken pipe as success) instead of a panic.
    std::io::Write::write_all(&mut std::io::stdout().lock(), s.as_bytes())?;
    Ok(Outcome::Clean)
}

/// The household fields, each with its traits, sources and what help can do to it.
fn write_fields(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    for f in &rs.fields {
        let mut extra = field_traits(rs, f);
        if f.required {
            extra.push(fill_key("必填", &[]));
        }
        match f.absent.as_deref() {
            Some("") => extra.push(fill_key("缺列时按空白", &[])),
            Some(v) => extra.push(fill_key("缺列时取“{}”", &[v])),
            None => {}
        }
        for a in &f.alternatives {
            let map: Vec<String> = a.map.iter().map(|(k, v)| format!("{k}→{v}")).collect();
            extra.push(if map.is_empty() {
                fill_key("或读“{}”列", &[&a.header])
            } else {
                fill_key("或读“{}”列（{}）", &[&a.header, &map.join(sep("，"))])
            });
        }
        if let Some(a) = &f.action {
            let i = rs.field_index[&f.key];
            extra.push(match a {
                crate::ruleset::action::Action::To(v) => fill_key(
                    "帮扶可使其为 {}",
                    &[&v.iter().map(|x| crate::engine::whatif::scalar_text(rs, i, x)).collect::<Vec<_>>().join("/")],
                ),
                crate::ruleset::action::Action::Increase => fill_key("帮扶可使其增加", &[]),
                crate::ruleset::action::Action::Decrease => fill_key("帮扶可使其减少", &[]),
                crate::ruleset::action::Action::Wait => fill_key("只等待时间经过", &[]),
            });
        }
        if let Some(t) = &f.total {
            extra.push(fill_key("全户合计“{}”＝人均 × {}", &[&t.label, &rs.fields[t.per as usize].label]));
        }
        if let Some(t) = &f.action_text {
            extra.push(fill_key("帮扶措辞“{}”", &[t]));
        }
        writeln!(s, "  {:<24} {:<6} {}  {}", f.key, f.ty.name(), f.header, extra.join(sep("；")))?;
    }
    Ok(())
}

/// The periods and their words; the member fields.
fn write_periods_and_members(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    if !rs.periods.is_empty() {
        writeln!(s, "\n{}", fill_key("时期：", &[]))?;
        for p in &rs.periods {
            let (from, until) = (p.from.map(|d| d.to_string()), p.until.map(|d| d.to_string()));
            let words: Vec<String> = p.terms.iter().map(|(k, v)| format!("{{{k}}} = {v}")).collect();
            let dates = fill_key("{} 至 {}", &[from.as_deref().unwrap_or("……"), until.as_deref().unwrap_or("……")]);
            let words =
                if words.is_empty() { String::new() } else { fill_key("；用词 {}", &[&words.join(sep("、"))]) };
            writeln!(s, "  {:<12} {dates}{words}", p.label)?;
        }
    }
    if !rs.persons.is_empty() {
        let head = fill_key(
            "成员字段（{} 个，读自人员表各行；条件中写 members.exists(m, m.<键> …)）：",
            &[&rs.persons.len().to_string()],
        );
        writeln!(s, "\n{head}")?;
        for f in &rs.persons {
            let extra = field_traits(rs, f);
            writeln!(s, "  {:<24} {:<6} {}  {}", f.key, f.ty.name(), f.header, extra.join(sep("；")))?;
        }
    }
    Ok(())
}

/// The parameters, each value with the date it applies from and its source.
fn write_params(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n{}", fill_key("参数（按年份）：", &[]))?;
    for p in &rs.params {
        writeln!(s, "  {} {}{}", p.key, p.label, crate::messages::paren(&p.unit))?;
        for v in &p.values {
            let note = v.note.as_deref().map(|n| format!("  ⚠ {n}")).unwrap_or_default();
            let value = match &v.formula {
                Some((_, src)) => format!("= {src}"),
                None => v.value.to_string(),
            };
            let from = fill_key("{} 起", &[&v.from.to_string()]);
            writeln!(s, "    {from}  {value:>8}  {}{note}", fill_key("来源：{}", &[&v.source]))?;
        }
    }
    Ok(())
}

/// The criteria with their conditions and sources.
fn write_criteria(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n{}", fill_key("判定条件（{} 个）：", &[&rs.criteria.len().to_string()]))?;
    for c in &rs.criteria {
        let kind = match c.test {
            Test::Condition(_) => String::new(),
            Test::MetUnmet(..) => fill_key("（满足/不满足分别判定）", &[]),
        };
        let source = fill_key("来源：{}", &[&c.source]);
        writeln!(s, "  {:<24} {}{}\n      {}\n      {source}", c.id, c.label, kind, c.text)?;
    }
    Ok(())
}

/// The decisions: labels, rules in order, the fallbacks and roles.
fn write_decisions(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n{}", fill_key("决定：", &[]))?;
    let none = fill_key("（无）", &[]);
    let shown = |l: &str| if l.is_empty() { none.clone() } else { l.to_string() };
    for d in &rs.decisions {
        let labels = d.labels.iter().map(|l| shown(l)).collect::<Vec<_>>().join(" · ");
        writeln!(s, "  {}", fill_key("{}：{}", &[&format!("{}{}", d.id, crate::messages::paren(&d.label)), &labels]))?;
        for (_, label, text) in &d.rules {
            writeln!(s, "      {} → {}", text.when, shown(&d.labels[*label as usize]))?;
        }
        let (otherwise, undecided) = (&d.labels[d.otherwise as usize], &d.labels[d.undecided as usize]);
        writeln!(s, "      {}", fill_key("否则 → {}；条件未知 → {}", &[otherwise, undecided]))?;
        let l = |i: u16| d.labels[i as usize].as_str();
        let mut roles = Vec::new();
        if let Some(i) = d.not_applicable {
            roles.push(fill_key("not_applicable：{}", &[l(i)]));
        }
        if let Some(w) = d.with {
            roles.push(fill_key("随附于 {}", &[&rs.decisions[w as usize].id]));
        }
        if !d.goal.is_empty() {
            roles.push(fill_key(
                "what-if 目标：{}",
                &[&d.goal.iter().map(|&i| l(i)).collect::<Vec<_>>().join(sep("、"))],
            ));
        }
        if !roles.is_empty() {
            writeln!(s, "      {}", roles.join(sep("；")))?;
        }
    }
    Ok(())
}

/// The summary by area: its levels, persons, counted and charted decisions, indicators and
/// figures per area, each with its source (⚠ where the source is weak).
fn write_report(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    let r = &rs.report;
    let fields = |v: &[u16]| v.iter().map(|&f| rs.fields[f as usize].label.clone()).collect::<Vec<_>>().join(" → ");
    let decisions =
        |v: &[u16]| v.iter().map(|&d| rs.decisions[d as usize].label.clone()).collect::<Vec<_>>().join(sep("、"));
    let persons = fields(&r.persons.into_iter().collect::<Vec<_>>());
    writeln!(s, "\n{}", fill_key("地区汇总：层级 {}；人数 {}", &[&fields(&r.levels), &persons]))?;
    let (counted, charts, pies) = (decisions(&r.decisions), decisions(&r.charts), decisions(&r.pies));
    writeln!(s, "  {}", fill_key("计数：{}；图表：{}；饼图：{}", &[&counted, &charts, &pies]))?;
    writeln!(s, "\n{}", fill_key("指标（{} 项）：", &[&r.indicators.len().to_string()]))?;
    for i in &r.indicators {
        let den = match &i.denominator {
            ruleset::report::Denominator::When(_, src, _) => src.clone(),
            ruleset::report::Denominator::Data(d) => fill_key("地区数据 {}", &[&r.data[*d as usize].label]),
        };
        let period = between(i.from, i.until);
        let note = i.note.as_deref().map(|n| format!("  ⚠ {n}")).unwrap_or_default();
        let per = fill_key(count_key(i.count), &[]);
        writeln!(s, "  {:<24} {}{per}{period}", i.id, i.label)?;
        writeln!(s, "      {}", fill_key("分子：{}；分母：{}", &[&i.numerator_text, &den]))?;
        writeln!(s, "      {}{note}", fill_key("来源：{}", &[&i.source]))?;
    }
    for d in &r.data {
        let note = d.note.as_deref().map(|n| format!("  ⚠ {n}")).unwrap_or_default();
        let key = match d.count {
            ruleset::report::Count::Households => "地区数据 {} {}（户，{} 个地区）来源：{}",
            ruleset::report::Count::Persons => "地区数据 {} {}（人，{} 个地区）来源：{}",
        };
        let text = fill_key(key, &[&d.id, &d.label, &d.values.len().to_string(), &d.source]);
        writeln!(s, "  {text}{note}")?;
    }
    Ok(())
}

/// The data checks and the lists of `adjust`.
fn write_checks_and_lists(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n{}", fill_key("数据核查（{} 项）：", &[&rs.checks.len().to_string()]))?;
    for c in &rs.checks {
        let severity = fill_key(severity_key(c.severity), &[]);
        let source = fill_key("来源：{}", &[&c.source]);
        writeln!(s, "  {:<24} {severity}{}\n      {}\n      {source}", c.id, c.label, c.text)?;
    }
    writeln!(s, "\n{}", fill_key("调整名单（adjust，{} 个）：", &[&rs.lists.lists.len().to_string()]))?;
    for l in &rs.lists.lists {
        let period = between(l.from, l.until);
        let source = fill_key("来源：{}", &[&l.source]);
        writeln!(s, "  {:<24} {}{}\n      {}\n      {source}", l.key, l.label, period, l.text)?;
    }
    Ok(())
}

/// `〔错误〕`: a check's severity as the listing shows it (a catalogue key).
fn severity_key(s: ruleset::file::Severity) -> &'static str {
    match s {
        ruleset::file::Severity::Error => "〔错误〕",
        ruleset::file::Severity::Warning => "〔警告〕",
        ruleset::file::Severity::Info => "〔提示〕",
    }
}

/// `（按户计）`: what an indicator counts (a catalogue key).
fn count_key(c: ruleset::report::Count) -> &'static str {
    match c {
        ruleset::report::Count::Households => "（按户计）",
        ruleset::report::Count::Persons => "（按人计）",
    }
}

fn test(files: &[std::path::PathBuf], builtin: bool) -> anyhow::Result<Outcome> {
    if files.is_empty() && !builtin {
        anyhow::bail!("请给出一个或多个用例文件（如 tuopin rules test rules/national.cases.toml），或加 --builtin 运行随内置规则集提供的用例");
    }
    let mut sets: Vec<(String, String)> = Vec::new();
    if builtin {
        for (name, text) in ruleset::EMBEDDED_CASES {
            sets.push((format!("{name}（内置用例）"), text.to_string()));
        }
    }
    if files.iter().filter(|f| crate::input::stdin::is_stdin(f)).count() > 1 {
        anyhow::bail!("用例文件中只能有一个 -（标准输入只有一个）");
    }
    for f in files {
        sets.push(if crate::input::stdin::is_stdin(f) {
            let name = crate::input::stdin::NAME;
            let text = ruleset::read_text(std::io::stdin().lock())
                .map_err(|e| anyhow::anyhow!("无法读取用例文件（{name}）：{e}"))?;
            (name.to_string(), text)
        } else {
            let text = std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("无法读取用例文件 {}：{}", f.display(), crate::error::io_text(&e)))?;
            (f.display().to_string(), text)
        });
    }
    let mut failed = 0;
    let mut total = 0;
    // Written, not println!ed: a reader that stops early (`| head -1`) ends the run quietly.
    let mut out = std::io::stdout().lock();
    for (name, text) in &sets {
        let file = cases::CaseFile::parse(text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let report = cases::run(&file).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        for f in &report.failures {
            writeln!(out, "✗ {name}: {}", crate::messages::tr(&f.to_string()))?;
        }
        let (cases, passed, failing) = (report.total, report.total - report.failures.len(), report.failures.len());
        writeln!(
            out,
            "{}",
            crate::messages::tr(&format!("{name}：{cases} 个用例，{passed} 个通过，{failing} 个失败"))
        )?;
        failed += report.failures.len();
        total += report.total;
    }
    if sets.len() > 1 {
        writeln!(out, "{}", crate::messages::tr(&format!("合计：{total} 个用例，{failed} 个失败")))?;
    }
    Ok(if failed > 0 { Outcome::Problems } else { Outcome::Clean })
}

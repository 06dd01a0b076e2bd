//! `tuopin rules check` and `tuopin rules test`.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::cases;
use crate::cli::RulesCommand;
use crate::error::Outcome;
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

/// What `rules check` says of any field, a household's or a member's: aliases, values, a blank's
/// value, a derivation.
fn field_traits(rs: &ruleset::RuleSet, f: &ruleset::Field) -> Vec<String> {
    let mut extra = Vec::new();
    if !f.aliases.is_empty() {
        extra.push(format!("别名 {}", f.aliases.join("、")));
    }
    if let Some(e) = f.enum_id {
        extra.push(format!("取值 {}", rs.enums[e as usize].values.join("/")));
    }
    if f.blank.is_some() {
        extra.push("空白有默认值".into());
    }
    if f.derive.is_some() {
        extra.push("空白时计算".into());
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
    writeln!(s, "规则集 {}（{}）：检查通过", rs.id, rs.name)?;
    writeln!(s, "来源：{}", rs.origin.join(" ← "))?;
    if !rs.description.is_empty() {
        writeln!(s, "{}", rs.description)?;
    }
    let from = rs.covered_from();
    writeln!(s, "\n涵盖：{} 年起\n\n字段（{} 个）：", from.year, rs.fields.len())?;
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
            extra.push("必填".into());
        }
        match f.absent.as_deref() {
            Some("") => extra.push("缺列时按空白".into()),
            Some(v) => extra.push(format!("缺列时取“{v}”")),
            None => {}
        }
        for a in &f.alternatives {
            let map: Vec<String> = a.map.iter().map(|(k, v)| format!("{k}→{v}")).collect();
            extra.push(if map.is_empty() {
                format!("或读“{}”列", a.header)
            } else {
                format!("或读“{}”列（{}）", a.header, map.join("，"))
            });
        }
        if let Some(a) = &f.action {
            let i = rs.field_index[&f.key];
            extra.push(match a {
                crate::ruleset::action::Action::To(v) => format!(
                    "帮扶可使其为 {}",
                    v.iter().map(|x| crate::engine::whatif::scalar_text(rs, i, x)).collect::<Vec<_>>().join("/")
                ),
                crate::ruleset::action::Action::Increase => "帮扶可使其增加".into(),
                crate::ruleset::action::Action::Decrease => "帮扶可使其减少".into(),
                crate::ruleset::action::Action::Wait => "只等待时间经过".into(),
            });
        }
        if let Some(t) = &f.total {
            extra.push(format!("全户合计“{}”＝人均 × {}", t.label, rs.fields[t.per as usize].label));
        }
        if let Some(t) = &f.action_text {
            extra.push(format!("帮扶措辞“{t}”"));
        }
        writeln!(s, "  {:<24} {:<6} {}  {}", f.key, f.ty.name(), f.header, extra.join("；"))?;
    }
    Ok(())
}

/// The periods and their words; the member fields.
fn write_periods_and_members(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    if !rs.periods.is_empty() {
        writeln!(s, "\n时期：")?;
        for p in &rs.periods {
            let (from, until) = (p.from.map(|d| d.to_string()), p.until.map(|d| d.to_string()));
            let words: Vec<String> = p.terms.iter().map(|(k, v)| format!("{{{k}}} = {v}")).collect();
            writeln!(
                s,
                "  {:<12} {} 至 {}{}",
                p.label,
                from.as_deref().unwrap_or("……"),
                until.as_deref().unwrap_or("……"),
                if words.is_empty() { String::new() } else { format!("；用词 {}", words.join("、")) }
            )?;
        }
    }
    if !rs.persons.is_empty() {
        writeln!(s, "\n成员字段（{} 个，读自人员表各行；条件中写 members.exists(m, m.<键> …)）：", rs.persons.len())?;
        for f in &rs.persons {
            let extra = field_traits(rs, f);
            writeln!(s, "  {:<24} {:<6} {}  {}", f.key, f.ty.name(), f.header, extra.join("；"))?;
        }
    }
    Ok(())
}

/// The parameters, each value with the date it applies from and its source.
fn write_params(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n参数（按年份）：")?;
    for p in &rs.params {
        writeln!(s, "  {} {}（{}）", p.key, p.label, p.unit)?;
        for v in &p.values {
            let note = v.note.as_deref().map(|n| format!("  ⚠ {n}")).unwrap_or_default();
            let value = match &v.formula {
                Some((_, src)) => format!("= {src}"),
                None => v.value.to_string(),
            };
            writeln!(s, "    {} 起  {:>8}  来源：{}{}", v.from, value, v.source, note)?;
        }
    }
    Ok(())
}

/// The criteria with their conditions and sources.
fn write_criteria(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n判定条件（{} 个）：", rs.criteria.len())?;
    for c in &rs.criteria {
        let kind = match c.test {
            Test::Condition(_) => "",
            Test::MetUnmet(..) => "（满足/不满足分别判定）",
        };
        writeln!(s, "  {:<24} {}{}\n      {}\n      来源：{}", c.id, c.label, kind, c.text, c.source)?;
    }
    Ok(())
}

/// The decisions: labels, rules in order, the fallbacks and roles.
fn write_decisions(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n决定：")?;
    for d in &rs.decisions {
        writeln!(
            s,
            "  {}（{}）：{}",
            d.id,
            d.label,
            d.labels.iter().map(|l| if l.is_empty() { "（无）" } else { l }).collect::<Vec<_>>().join(" · ")
        )?;
        for (_, label, text) in &d.rules {
            let l = &d.labels[*label as usize];
            writeln!(s, "      {} → {}", text.when, if l.is_empty() { "（无）" } else { l })?;
        }
        writeln!(s, "      否则 → {}；条件未知 → {}", d.labels[d.otherwise as usize], d.labels[d.undecided as usize])?;
        let l = |i: u16| d.labels[i as usize].as_str();
        let mut roles = Vec::new();
        if let Some(i) = d.not_applicable {
            roles.push(format!("not_applicable：{}", l(i)));
        }
        if let Some(w) = d.with {
            roles.push(format!("随附于 {}", rs.decisions[w as usize].id));
        }
        if !d.goal.is_empty() {
            roles.push(format!("what-if 目标：{}", d.goal.iter().map(|&i| l(i)).collect::<Vec<_>>().join("、")));
        }
        if !roles.is_empty() {
            writeln!(s, "      {}", roles.join("；"))?;
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
        |v: &[u16]| v.iter().map(|&d| rs.decisions[d as usize].label.clone()).collect::<Vec<_>>().join("、");
    writeln!(s, "\n地区汇总：层级 {}；人数 {}", fields(&r.levels), fields(&r.persons.into_iter().collect::<Vec<_>>()))?;
    writeln!(s, "  计数：{}；图表：{}；饼图：{}", decisions(&r.decisions), decisions(&r.charts), decisions(&r.pies))?;
    writeln!(s, "\n指标（{} 项）：", r.indicators.len())?;
    for i in &r.indicators {
        let den = match &i.denominator {
            ruleset::report::Denominator::When(_, src, _) => src.clone(),
            ruleset::report::Denominator::Data(d) => format!("地区数据 {}", r.data[*d as usize].label),
        };
        let period = match (i.from, i.until) {
            (None, None) => String::new(),
            (f, u) => format!(
                "（{} 至 {}）",
                f.map(|d| d.to_string()).unwrap_or_default(),
                u.map(|d| d.to_string()).unwrap_or_default()
            ),
        };
        let note = i.note.as_deref().map(|n| format!("  ⚠ {n}")).unwrap_or_default();
        writeln!(s, "  {:<24} {}（按{}计）{}", i.id, i.label, i.count.unit(), period)?;
        writeln!(s, "      分子：{}；分母：{}\n      来源：{}{}", i.numerator_text, den, i.source, note)?;
    }
    for d in &r.data {
        let note = d.note.as_deref().map(|n| format!("  ⚠ {n}")).unwrap_or_default();
        writeln!(
            s,
            "  地区数据 {} {}（{}，{} 个地区）来源：{}{}",
            d.id,
            d.label,
            d.count.unit(),
            d.values.len(),
            d.source,
            note
        )?;
    }
    Ok(())
}

/// The data checks and the lists of `adjust`.
fn write_checks_and_lists(s: &mut String, rs: &RuleSet) -> std::fmt::Result {
    writeln!(s, "\n数据核查（{} 项）：", rs.checks.len())?;
    for c in &rs.checks {
        writeln!(s, "  {:<24} 〔{}〕{}\n      {}\n      来源：{}", c.id, c.severity.word(), c.label, c.text, c.source)?;
    }
    writeln!(s, "\n名单比对规则（reconcile，{} 条）：", rs.reconcile.len())?;
    for r in &rs.reconcile {
        let rosters: Vec<&str> = r.rosters.iter().map(|&d| rs.departments[d as usize].label.as_str()).collect();
        writeln!(
            s,
            "  {:<24} 〔{}〕{}（名单：{}）\n      {}\n      措施：{}\n      来源：{}",
            r.id,
            r.severity.word(),
            r.label,
            rosters.join("、"),
            r.text,
            r.action,
            r.source
        )?;
    }
    writeln!(s, "\n调整名单（adjust，{} 个）：", rs.lists.lists.len())?;
    for l in &rs.lists.lists {
        let period = match (l.from, l.until) {
            (None, None) => String::new(),
            (f, u) => format!(
                "（{} 至 {}）",
                f.map(|d| d.to_string()).unwrap_or_default(),
                u.map(|d| d.to_string()).unwrap_or_default()
            ),
        };
        writeln!(s, "  {:<24} {}{}\n      {}\n      来源：{}", l.key, l.label, period, l.text, l.source)?;
    }
    Ok(())
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

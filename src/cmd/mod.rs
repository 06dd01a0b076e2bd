//! One file per subcommand.

pub mod adjust;
pub mod assess;
pub mod check;
pub mod demo_data;
pub mod reconcile;
pub mod rules;
pub mod shell;

use anyhow::{anyhow, Context};

use crate::cli::{Cli, Command, DateChoice};
use crate::error::Outcome;
use crate::value::Date;

/// `--quiet` (the flag lives in the pipeline, whose progress line it silences too).
pub fn quiet() -> bool {
    crate::pipeline::quiet()
}

/// A note, a summary or a progress line on stderr, left out with `--quiet`.
pub fn note(text: &str) {
    if !quiet() {
        eprint!("{text}");
    }
}

/// On a terminal, after a run of a second or more: how long it took and how many households a
/// second (never in a file or a test's capture, so that outputs stay reproducible).
pub fn note_duration(started: std::time::Instant, households: u64) {
    use std::io::IsTerminal;
    let secs = started.elapsed().as_secs_f64();
    if quiet() || secs < 1.0 || !std::io::stderr().is_terminal() {
        return;
    }
    eprintln!("用时 {secs:.1} 秒，每秒 {} 户。", crate::value::grouped((households as f64 / secs) as u64));
}

/// The rule set's run messages: its warnings always, its notes (`注意：`) unless `--quiet`.
pub fn run_messages(messages: Vec<String>) {
    for m in messages {
        if !quiet() || !m.starts_with("注意") {
            eprintln!("{m}");
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    crate::pipeline::set_quiet(cli.quiet);
    match cli.command {
        Command::Assess(a) => assess::run(a),
        Command::Check(a) => check::run(a),
        Command::Adjust(a) => adjust::run(a),
        Command::DemoData(a) => demo_data::run(a),
        Command::Reconcile(a) => reconcile::run(a),
        Command::Rules(r) => rules::run(r),
        Command::Completions { shell } => shell::completions(shell, cli.lang),
        Command::Manpage => shell::manpage(cli.lang),
    }
}

/// The assessment date: `--date`, else 31 December of `--year`, else today (the only place the
/// clock is read; the engine is given the date).
pub fn as_of(choice: &DateChoice) -> anyhow::Result<Date> {
    if let Some(d) = &choice.date {
        return Date::parse(d).ok_or_else(|| anyhow!("--date {d}：应为 YYYY-MM-DD 格式的日期，如 2024-09-30"));
    }
    if let Some(y) = choice.year {
        if !(1900..=2200).contains(&y) {
            return Err(anyhow!("--year {y}：年份超出范围（应在 1900 至 2200 之间），如 --year 2024"));
        }
        if today().is_ok_and(|t| y > t.year) {
            eprintln!("警告：评估年度 {y} 晚于今年：数据和标准是否已属于该年度？（常见的是把 --year 写错）");
        }
        return Ok(Date::last_of_year(y));
    }
    today()
}

/// Today in China Standard Time (UTC+8): the date on the officer's calendar.
fn today() -> anyhow::Result<Date> {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).context("系统时钟早于1970年")?.as_secs();
    Ok(Date::from_unix_days(((secs + 8 * 3600) / 86_400) as i64))
}

/// A warning when two inputs of a run are the same file (`adjust`'s two quarters).
pub fn warn_if_same_file(a: &std::path::Path, b: &std::path::Path) {
    if let (Ok(x), Ok(y)) = (a.canonicalize(), b.canonicalize()) {
        if x == y {
            eprintln!("警告：{} 与 {} 是同一个文件：两季度相同，名单中不会有变化", a.display(), b.display());
        }
    }
}

/// The department lists given with `--with` (精准比对), read before the ledger: each one's
/// rows, and the rows that cannot be compared, on stderr. `None` when none is given; a note
/// names the lists the rules read that were not given (their evidence is unknown).
pub fn departments(
    rules: &crate::ruleset::RuleSet,
    input: &crate::cli::InputChoice,
) -> anyhow::Result<Option<std::sync::Arc<crate::matching::Matcher>>> {
    use crate::input::departments as dep;
    let mut lists: Vec<Option<crate::matching::List>> = (0..rules.departments.len()).map(|_| None).collect();
    for spec in &input.with {
        let (d, path) = dep::resolve(rules, spec).map_err(|m| anyhow!("{m}"))?;
        if lists[d as usize].is_some() {
            return Err(anyhow!("--with {}：同一名单给了两次", rules.departments[d as usize].label));
        }
        let list = dep::read(rules, d, &path, &input.options())?;
        let text = dep::describe(rules, &list);
        for line in text.lines() {
            if line.starts_with("警告") || line.starts_with("  ") {
                eprintln!("{line}");
            } else {
                note(&format!("{line}\n"));
            }
        }
        lists[d as usize] = Some(list);
    }
    let read = rules.departments_read();
    let missing: Vec<&str> = rules
        .departments
        .iter()
        .enumerate()
        .filter(|(d, _)| read[*d] && lists[*d].is_none())
        .map(|(_, dept)| dept.label.as_str())
        .collect();
    if !missing.is_empty() && !input.with.is_empty() {
        note(&format!(
            "注意：未提供比对名单 {}（--with 名单=文件）：读取这些名单的规则按“缺少比对名单”处理（待核实）\n",
            missing.join("、")
        ));
    }
    if input.with.is_empty() {
        return Ok(None);
    }
    Ok(Some(std::sync::Arc::new(crate::matching::Matcher { lists })))
}

/// After the run: per list given, how many records matched, and the rows of those that did not.
pub fn departments_matched(rules: &crate::ruleset::RuleSet, matcher: Option<&crate::matching::Matcher>) {
    for list in matcher.into_iter().flat_map(|m| m.lists.iter().flatten()) {
        note(&crate::input::departments::describe_matches(rules, list));
    }
}

/// Give an opened ledger the department lists; a household ledger (not a person export) is
/// compared by its head's ID only, which a warning says.
pub fn attach_departments(
    ledger: &mut crate::input::Ledger,
    matcher: &Option<std::sync::Arc<crate::matching::Matcher>>,
    rules: &crate::ruleset::RuleSet,
) {
    let Some(m) = matcher else { return };
    ledger.layout.matcher = Some(m.clone());
    let path = crate::value::shown_path(&ledger.layout.path);
    if ledger.layout.persons.is_none() {
        let head = rules.matching.head_id.map(|f| rules.fields[f as usize].header.as_str());
        match head.filter(|_| {
            ledger.layout.field_column.get(rules.matching.head_id.unwrap_or(0) as usize).is_some_and(Option::is_some)
        }) {
            Some(h) => eprintln!(
                "警告：{path} 是户表：只按{h}比对了户主，家庭其他成员未与比对名单比对（用人员表可比对每个成员）"
            ),
            None => eprintln!("警告：{path} 没有户主证件号码列，无法与比对名单比对：比对结果对每一户都为未知"),
        }
    } else if rules
        .matching
        .member_id
        .and_then(|i| ledger.layout.member_columns.get(i as usize).copied().flatten())
        .is_none()
    {
        eprintln!("警告：{path} 没有成员证件号码列，改按户主证件号码比对（家庭其他成员未比对）");
    }
}

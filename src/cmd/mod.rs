//! One file per subcommand.

pub mod adjust;
pub mod assess;
pub mod check;
pub mod compare_rules;
pub mod demo_data;
pub mod notice;
pub mod reconcile;
pub mod rules;
pub mod shell;
pub mod verify;

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
        Command::Notice(a) => notice::run(a),
        Command::Verify(a) => verify::run(a),
        Command::CompareRules(a) => compare_rules::run(a),
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
    lists_given: &crate::cli::WithChoice,
    input: &crate::cli::InputChoice,
) -> anyhow::Result<Option<std::sync::Arc<crate::matching::Matcher>>> {
    use crate::input::departments as dep;
    let mut lists: Vec<Option<crate::matching::List>> = (0..rules.departments.len()).map(|_| None).collect();
    for spec in &lists_given.with {
        let (d, path) = dep::resolve(rules, spec).map_err(|m| anyhow!("{m}"))?;
        if lists[d as usize].is_some() {
            return Err(anyhow!("--with {}：同一名单给了两次", rules.departments[d as usize].label));
        }
        let label = &rules.departments[d as usize].label;
        let bar = crate::pipeline::progress_of(&format!("比对名单“{label}”："), "行");
        let list = dep::read(rules, d, &path, &input.options(), &bar)?;
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
    if !missing.is_empty() && !lists_given.with.is_empty() {
        note(&format!(
            "注意：未提供比对名单 {}（--with 名单=文件）：读取这些名单的规则按“缺少比对名单”处理（待核实）\n",
            missing.join("、")
        ));
    }
    if lists_given.with.is_empty() {
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

/// How the input was read, as the command-line options that say so (recorded in outputs'
/// provenance): the encoding, sheet, header row, person export, strictness and limits that are
/// not the defaults.
pub fn input_options(i: &crate::cli::InputChoice) -> Vec<String> {
    use clap::ValueEnum;
    let mut o: Vec<String> = Vec::new();
    if let Some(e) = i.encoding.and_then(|e| e.to_possible_value()) {
        o.extend(["--encoding".into(), e.get_name().to_string()]);
    }
    if let Some(s) = &i.sheet {
        o.extend(["--sheet".into(), s.clone()]);
    }
    if let Some(h) = i.header_row {
        o.extend(["--header-row".into(), h.to_string()]);
    }
    o.extend([(i.persons, "--persons"), (i.strict, "--strict")].iter().filter(|f| f.0).map(|f| f.1.to_string()));
    let (l, d) = (&i.limits, crate::input::source::Limits::default());
    let limits = [
        ("--max-cell-bytes", l.max_cell_bytes as u64, d.max_cell_bytes as u64),
        ("--max-record-bytes", l.max_record_bytes as u64, d.max_record_bytes as u64),
        ("--max-columns", l.max_columns as u64, d.max_columns as u64),
        ("--max-xlsx-bytes", l.max_xlsx_bytes, d.max_xlsx_bytes),
        ("--max-xlsx-ratio", l.max_xlsx_ratio, d.max_xlsx_ratio),
        ("--max-shared-strings", l.max_shared_strings, d.max_shared_strings),
        ("--max-shared-strings-bytes", l.max_shared_strings_bytes, d.max_shared_strings_bytes),
        ("--max-grid-cells", l.max_grid_cells, d.max_grid_cells),
    ];
    for (flag, v, default) in limits {
        if v != default {
            o.extend([flag.to_string(), v.to_string()]);
        }
    }
    o
}

/// The inputs of an output being hashed (SHA-256, `output::provenance::input_file`), each on a
/// thread of its own: started when a run opens its inputs, so that the hashing goes on while the
/// ledger is assessed rather than after it; joined when the provenance is written. Started with
/// [`Hashes::start_fed`], the file's CSV parse hashes the bytes it reads (`input::tap`) and the
/// thread waits for that hash instead of reading the file a second time.
pub struct Hashes(Vec<Hashing>);

struct Hashing {
    path: std::path::PathBuf,
    /// The hash the parse keeps of the bytes it reads, while it may add to it.
    slot: Option<crate::input::tap::Slot>,
    thread: std::thread::JoinHandle<std::io::Result<crate::output::provenance::InputFile>>,
}

impl Hashes {
    /// Start hashing `inputs`, side by side (`adjust`'s two quarters: one core each).
    pub fn start(inputs: &[&std::path::Path]) -> Hashes {
        Hashes::spawn(inputs, false)
    }

    /// As [`Hashes::start`], each input hashed by its next opening (`input::source::open`) as it
    /// reads CSV text; an input not opened so (a workbook) or not read to its end is read by its
    /// hashing thread itself, from where that hash stops. For inputs not opened yet.
    pub fn start_fed(inputs: &[&std::path::Path]) -> Hashes {
        Hashes::spawn(inputs, true)
    }

    fn spawn(inputs: &[&std::path::Path], fed: bool) -> Hashes {
        use crate::input::tap;
        Hashes(
            inputs
                .iter()
                .map(|&i| {
                    let path = i.to_path_buf();
                    let slot = fed.then(|| tap::offer(i));
                    let fed = slot.clone();
                    let thread = std::thread::spawn(move || crate::output::provenance::input_file_fed(&path, fed));
                    Hashing { path: i.to_path_buf(), slot, thread }
                })
                .collect(),
        )
    }

    /// Start hashing `inputs` too, after those given before.
    pub fn add(&mut self, inputs: &[&std::path::Path]) {
        self.0.append(&mut Hashes::start(inputs).0);
    }

    /// Each input's name, size and hash, in the order given; an input that could not be read is
    /// an error naming it.
    fn join(mut self) -> anyhow::Result<Vec<crate::output::provenance::InputFile>> {
        // No more bytes will be waited for: what a parse has not hashed, its thread reads.
        self.close();
        let mut files = Vec::new();
        for h in std::mem::take(&mut self.0) {
            let f = h.thread.join().expect("hashing a file does not panic");
            files.push(f.map_err(|e| anyhow!("无法读取 {}：{}", h.path.display(), crate::error::io_text(&e)))?);
        }
        Ok(files)
    }

    fn close(&mut self) {
        for slot in self.0.iter_mut().filter_map(|h| h.slot.take()) {
            crate::input::tap::close(&slot);
        }
    }
}

impl Drop for Hashes {
    /// Not joined (the run failed): no thread waits for bytes that will not come.
    fn drop(&mut self) {
        self.close();
    }
}

/// The provenance of an output of `command` made from `inputs` with `rules` (several rule sets,
/// as `compare-rules` uses, are joined with “；”).
pub fn provenance(
    command: &str,
    rules: &[&crate::ruleset::RuleSet],
    as_of: Date,
    inputs: &[&std::path::Path],
    options: Vec<String>,
) -> anyhow::Result<crate::output::provenance::Provenance> {
    provenance_hashed(command, rules, as_of, Hashes::start(inputs), options)
}

/// As [`provenance`], of inputs whose hashing was started earlier ([`Hashes::start`]).
pub fn provenance_hashed(
    command: &str,
    rules: &[&crate::ruleset::RuleSet],
    as_of: Date,
    hashes: Hashes,
    options: Vec<String>,
) -> anyhow::Result<crate::output::provenance::Provenance> {
    use crate::output::provenance as p;
    let files = hashes.join()?;
    let join =
        |f: &dyn Fn(&crate::ruleset::RuleSet) -> String| rules.iter().map(|r| f(r)).collect::<Vec<_>>().join("；");
    Ok(p::Provenance {
        tool: p::tool(),
        command: command.to_string(),
        ruleset: join(&|r| r.id.clone()),
        // File names only: the same rules from another folder (or another machine) give the same
        // record; their content is in the hash.
        rules_files: rules
            .iter()
            .flat_map(|r| &r.origin)
            .map(|o| {
                std::path::Path::new(o).file_name().map_or_else(|| o.clone(), |n| n.to_string_lossy().into_owned())
            })
            .collect(),
        rules_sha256: join(&|r| r.hash.clone()),
        assessment_date: as_of.to_string(),
        inputs: files,
        options,
        lists: Vec::new(),
    })
}

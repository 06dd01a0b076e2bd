//! tuopin (脱贫): poverty-alleviation casework from household ledgers.
//!
//! Data flow, one direction:
//!
//! ```text
//! argv → cli::Cli → cmd::<name>::run
//! rules.toml → ruleset::load → RuleSet (fields, dated parameters, conditions compiled once)
//! RuleSet::at(date) → Bound (parameters in force on the assessment date)
//! ledger file → input::Ledger (encoding, headers) → rows, streamed in chunks → Household
//! (Bound, Household) → engine::assess → Assessment → engine::explain → reasons
//! → output::Record → table / CSV / JSON Lines / workbook writer, in input order; output::Summary
//! one household (check) → engine::assess → engine::whatif::what_if (changes searched with the engine)
//! ```
//!
//! The engine is pure and per household, so chunks of households are assessed in parallel and written in order.
//!
//! # Layers
//!
//! Each top-level module uses only modules listed before it in [`LAYERS`], never one after it, so
//! there is no import cycle and data flows one way (a unit test reads `src/` and fails on a path
//! up the list; test code may use any layer):
//!
//! ```text
//! messages   the program's own words in English (--lang en): the catalogue, applied on output
//! value      exact numbers, months, and the cell spellings of real exports (value::cell)
//! privacy    masking of ID numbers and phones
//! error      error types and exit codes
//! household  a household: cells, members, problems
//! ruleset    rule files: load, layer, check, compile conditions (expr, fast), lists, periods
//! matching   department lists (精准比对): records by normalised ID, matched to households
//! engine     assess one household, reasons, the run's specialised plan, what-if
//! input      ledgers and person exports: sources, encodings, headers, rows → households
//! output     records, CSV / JSON Lines / table / workbook writers, summary, atomic files
//! pipeline   read, assess in parallel and write in input order
//! cases      rule cases as data (`rules test`)
//! adjust     which quarterly lists a household belongs on; the previous quarter's index; accounting
//! cli        arguments (clap); the doc comments are --help
//! lang       the command line in Chinese, or English (--lang en): help and clap's messages
//! cmd        one module per subcommand
//! fuzzing    the fuzz targets' code
//! ```

// No function longer than 80 lines (clippy.toml); CI runs clippy with -D warnings.
#![warn(clippy::too_many_lines)]

// Every line the crate prints goes through the catalogue of English messages (src/messages):
// these shadow the standard macros in every module below, so a message added anywhere is
// translated under `--lang en` once the catalogue has it (and a test fails until it has).
macro_rules! eprintln {
    () => { ::std::eprintln!() };
    ($($arg:tt)*) => { ::std::eprintln!("{}", $crate::messages::tr(&::std::format!($($arg)*))) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { ::std::eprint!("{}", $crate::messages::tr(&::std::format!($($arg)*))) };
}
macro_rules! println {
    () => { ::std::println!() };
    ($($arg:tt)*) => { ::std::println!("{}", $crate::messages::tr(&::std::format!($($arg)*))) };
}
#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => { ::std::print!("{}", $crate::messages::tr(&::std::format!($($arg)*))) };
}

/// The top-level modules, lowest layer first (see "Layers" above).
pub const LAYERS: &[&str] = &[
    "messages",
    "value",
    "privacy",
    "error",
    "household",
    "ruleset",
    "matching",
    "engine",
    "input",
    "output",
    "pipeline",
    "cases",
    "adjust",
    "cli",
    "lang",
    "cmd",
    "console",
    "fuzzing",
];

pub mod adjust;
pub mod cases;
pub mod cli;
pub mod cmd;
pub mod console;
pub mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod household;
pub mod input;
pub mod lang;
#[cfg(test)]
mod layers_tests;
pub mod matching;
pub mod messages;
pub mod output;
pub mod pipeline;
pub mod privacy;
pub mod ruleset;
pub mod value;

/// A byte table for a hot loop: `true` at each of `bytes` (one load a byte instead of several
/// comparisons; built at compile time).
pub(crate) const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
}

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

/// Run with these arguments; print an error once with its context; return the exit code. A file
/// dropped on the program (its only argument) is assessed to a workbook beside it; in a console
/// window of its own (Windows) the program waits for Enter before it closes (src/console.rs).
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let _utf8 = console::Utf8Output::set();
    let args: Vec<OsString> = args.into_iter().collect();
    messages::set_english(lang::Lang::detect(&args) == lang::Lang::En);
    let is_command = |a: &str| a == "help" || cli::Cli::command().find_subcommand(a).is_some();
    let code = match console::dropped_file(&args, is_command) {
        Some(file) => assess_dropped(&args[0], &file),
        None => {
            if args.len() == 1 && console::own_window() {
                eprintln!("提示：把台账文件（.xlsx、.csv）拖到 tuopin.exe 的图标上，即评估到它旁边的 xlsx 文件。其他用法见下，在命令提示符中运行。\n");
            }
            run(args)
        }
    };
    console::pause_if_own_window();
    code
}

/// A dropped file: `tuopin assess FILE -o <stem>_评估结果.xlsx` with the built-in rules, today's
/// date, and where the result went.
fn assess_dropped(program: &OsString, file: &std::path::Path) -> ExitCode {
    let out = match console::result_path(file) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("错误：{err:#}");
            return ExitCode::from(error::EXIT_ERROR);
        }
    };
    eprintln!("评估 {}（内置规则，评估日期为今天）……", file.display());
    let code = run(vec![program.clone(), "assess".into(), file.into(), "-o".into(), out.clone().into()]);
    if out.is_file() {
        println!("评估结果已写到：{}（用 Excel 或 WPS 打开）", out.display());
    } else {
        println!("没有写出评估结果：原因见上。");
    }
    code
}

fn run(args: Vec<OsString>) -> ExitCode {
    let lang = lang::Lang::detect(&args);
    let command = lang::command(lang);
    let parsed = command.clone().try_get_matches_from(&args).and_then(|m| cli::Cli::from_arg_matches(&m));
    let cli = match parsed {
        // TUOPIN_LANG counts as --lang (completions and the manual page are generated in it).
        Ok(c) => cli::Cli { lang, ..c },
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayHelpOnMissingArgumentOrSubcommand, DisplayVersion};
            // Help and version go to stdout (exit 0); usage errors to stderr (exit 2), in Chinese
            // unless `--lang en`.
            if lang == lang::Lang::En
                || matches!(e.kind(), DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand)
            {
                let _ = e.print();
            } else {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    lang::render_clap_error(&e, &command, &args).as_bytes(),
                );
            }
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    on_signals_remove_unfinished_outputs();
    match cmd::run(cli) {
        Ok(outcome) => outcome.code(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // Messages quote cells and file names: personal numbers in them are masked. In English
            // each cause is translated alone (a cause's text is one message of the catalogue).
            let said = if messages::english() {
                err.chain().map(|e| messages::tr(&e.to_string()).into_owned()).collect::<Vec<_>>().join(": ")
            } else {
                format!("{err:#}")
            };
            ::std::eprintln!("{}", messages::fill_key("错误：{}", &[&privacy::mask_text(&said)]));
            ExitCode::from(error::EXIT_ERROR)
        }
    }
}

/// INT, TERM and HUP (Ctrl-C, `kill`, a closed terminal): remove the unfinished output files and
/// directories, then exit as killed by that signal (128 + its number: 130, 143, 129).
fn on_signals_remove_unfinished_outputs() {
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        let stop = |signal: i32| {
            output::remove_in_flight();
            input::stdin::remove_spools();
            // Not eprintln!, which panics when stderr is gone (SIGHUP: the terminal closed).
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                messages::tr("已中断：未完成的输出文件已删除。\n").as_bytes(),
            );
            std::process::exit(128 + signal);
        };
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
                let _ = std::thread::Builder::new().name("signals".into()).spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        stop(signal);
                    }
                });
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrlc::set_handler(move || stop(2));
        }
    });
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// A tiny deterministic generator for the unit tests that draw cases (no crate for six lines).
#[cfg(test)]
pub(crate) mod test_rng {
    /// A value of field `f` of `rs`, drawn by `next` (a number below its argument): a number from
    /// `numbers`, any of its enum's values, a month near `month` (a month index), one of `texts`.
    pub fn scalar(
        rs: &crate::ruleset::RuleSet,
        f: &crate::ruleset::Field,
        (numbers, month, texts): (&[i64], i32, [&str; 3]),
        next: &mut dyn FnMut(usize) -> usize,
    ) -> crate::household::Scalar {
        use crate::household::Scalar;
        use crate::ruleset::file::FieldType;
        match f.ty {
            FieldType::Bool => Scalar::Bool(next(2) == 0),
            FieldType::Int | FieldType::Money => Scalar::Num(crate::value::Num(numbers[next(numbers.len())])),
            FieldType::Enum => {
                Scalar::Enum(next(rs.enums[f.enum_id.expect("an enum field") as usize].values.len()) as u16)
            }
            FieldType::Month => Scalar::Month(month - next(30) as i32 + 3),
            FieldType::Text | FieldType::Id => Scalar::Text(texts[next(3)].into()),
        }
    }

    pub struct Lcg(pub u64);

    impl Lcg {
        /// A number below `n`.
        pub fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) as usize % n
        }

        /// Case `case` of a generated text: 1 to `items` pieces drawn from `palette`, every other
        /// case with its quotes taken out (`None` when nothing is left).
        pub fn text(&mut self, palette: &[&[u8]], items: usize, case: usize) -> Option<Vec<u8>> {
            let n = 1 + self.below(items);
            let mut text: Vec<u8> = (0..n).flat_map(|_| palette[self.below(palette.len())].to_vec()).collect();
            if case % 2 == 1 {
                text.retain(|&b| b != b'"');
            }
            (!text.is_empty()).then_some(text)
        }
    }
}

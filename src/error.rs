//! Errors that callers and tests tell apart, and the exit codes they map to.
//!
//! Exit codes: 0 all fine; 1 finished, but the data had problems (or a rule case failed);
//! 2 usage error, rule-file error, or unreadable input.

use std::process::ExitCode;

use thiserror::Error;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything fine.
    Clean,
    /// Finished, with data problems (or failing rule cases).
    Problems,
}

impl Outcome {
    pub fn code(self) -> ExitCode {
        match self {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Problems => ExitCode::from(1),
        }
    }
}

/// Exit code for errors that stop a run before it finishes.
pub const EXIT_ERROR: u8 = 2;

/// A rule file that cannot be used.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RuleError {
    #[error("无法读取规则文件 {path}：{message}")]
    Read { path: String, message: String },
    #[error("规则文件 {file}：{message}")]
    Parse { file: String, message: String },
    #[error("规则文件互相扩展（extends），形成循环：{0}")]
    Cycle(String),
    #[error("{rule}：{message}")]
    Rule { rule: String, message: String },
    #[error("规则集 {ruleset} 不涵盖 {year} 年：它涵盖 {}-{:02}-{:02} 起的年份（{} 年起）", covered.year, covered.month, covered.day, covered.year)]
    Year { ruleset: String, year: i32, covered: crate::value::Date },
}

/// An input file that cannot be read at all (as opposed to a row with problems).
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("{path}: no `户编号` column (household id): found columns {found}")]
    NoId { path: String, found: String },
    #[error("{path}: {message}")]
    Header { path: String, message: String },
    /// A limit of `input::source::Limits` was hit (the message names where and the option).
    #[error("{path}: {message}")]
    Limit { path: String, message: String },
}

thread_local! {
    /// Set while [`catch_panic`] runs its closure: the panic hook then stays silent.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`, turning a panic inside it into an `Err` with the panic's message, printed nowhere:
/// the boundary around a library that panics instead of returning an error (the CEL parser on
/// some inputs, rust_xlsxwriter when its temporary files cannot be written). The caller turns the
/// message into its own error. Other panics still reach the previous hook.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
    let was = CATCHING.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "未知错误".into())
    })
}

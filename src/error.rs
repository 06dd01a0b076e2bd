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
    #[error("cannot read rule file {path}: {message}")]
    Read { path: String, message: String },
    #[error("rule file {file}: {message}")]
    Parse { file: String, message: String },
    #[error("rule files extend each other in a cycle: {0}")]
    Cycle(String),
    #[error("{rule}: {message}")]
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

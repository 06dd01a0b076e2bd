//! One file per subcommand.

pub mod adjust;
pub mod assess;
pub mod check;
pub mod demo_data;
pub mod rules;

use anyhow::{anyhow, Context};

use crate::cli::{Cli, Command, DateChoice};
use crate::error::Outcome;
use crate::value::Date;

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Assess(a) => assess::run(a),
        Command::Check(a) => check::run(a),
        Command::Adjust(a) => adjust::run(a),
        Command::DemoData(a) => demo_data::run(a),
        Command::Rules(r) => rules::run(r),
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
            return Err(anyhow!("--year {y}：年份超出范围"));
        }
        return Ok(Date::last_of_year(y));
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_secs();
    // China Standard Time (UTC+8): the date on the officer's calendar.
    Ok(Date::from_unix_days(((secs + 8 * 3600) / 86_400) as i64))
}

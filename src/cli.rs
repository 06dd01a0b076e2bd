//! The command line. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::input::Encoding;
use crate::output::Format;

/// tuopin（脱贫）：按规则集评估农户的识别、退出、返贫致贫风险与风险消除。
///
/// Reads household ledgers exported from the national system or Excel/WPS (CSV in UTF-8 or
/// GBK), applies a rule set written in TOML (the national one is built in), and says for every
/// household why it gets each decision.
#[derive(Debug, Parser)]
#[command(name = "tuopin", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 批量评估：每户的识别、退出、风险、风险消除及理由
    ///
    /// Assess every household of a ledger with the rule set, in input order.
    ///
    /// Output: a table on a terminal; CSV (UTF-8 with BOM, Chinese headers) when piped or with
    /// `-o FILE.csv`; JSON Lines with `--format jsonl` or `-o FILE.jsonl`. A summary (rows
    /// read, households assessed, households with problems, counts per decision) goes to stderr.
    ///
    /// Exit codes: 0 all fine; 1 finished, but some cells had data problems (each is reported
    /// with its row, column and value, and the household is still assessed); 2 usage error,
    /// rule-file error or unreadable input.
    ///
    /// Examples:
    ///
    ///   tuopin assess examples/户表.csv --year 2024
    ///
    ///   tuopin assess 户表.csv --date 2024-09-30 -o 评估结果.csv
    ///
    ///   tuopin assess 户表.csv --rules guizhou-2023 --format jsonl > out.jsonl
    Assess(AssessArgs),
    /// 规则集：检查规则文件、运行规则用例
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Args)]
pub struct RuleChoice {
    /// Rule set: a built-in name (national, guizhou-2023) or a TOML file.
    #[arg(long, short = 'r', value_name = "RULES", default_value = "national")]
    pub rules: String,
}

#[derive(Debug, Args)]
pub struct DateChoice {
    /// Assessment year: parameters of that year, assessed as of 31 December.
    #[arg(long, short = 'y', value_name = "YEAR", conflicts_with = "date")]
    pub year: Option<i32>,
    /// Assessment date (YYYY-MM-DD); default today.
    #[arg(long, short = 'd', value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
}

#[derive(Debug, Args)]
pub struct AssessArgs {
    /// The household ledger (CSV: UTF-8 with or without BOM, GBK/GB18030, or UTF-16; comma or tab).
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RuleChoice,
    #[command(flatten)]
    pub date: DateChoice,
    /// Output format (default: table on a terminal, otherwise by the extension of -o, else CSV).
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<Format>,
    /// Write to this file (atomically; never over the input) instead of stdout.
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Force the input encoding instead of detecting it.
    #[arg(long, value_enum)]
    pub encoding: Option<Encoding>,
    /// Show ID numbers in full (they are masked by default: 430524********1234).
    #[arg(long)]
    pub show_ids: bool,
    /// CSV output without the UTF-8 BOM (for tools that dislike it; Excel needs it).
    #[arg(long)]
    pub no_bom: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// 检查规则文件：字段、各年参数、判定条件
    ///
    /// Load a rule file (following `extends`), check every name and type, and list its fields,
    /// parameters by year and criteria. Exit code 2 if the file has an error.
    ///
    /// Examples:
    ///
    ///   tuopin rules check                  (the built-in national rule set)
    ///
    ///   tuopin rules check rules/guizhou-2023.toml
    Check {
        /// A built-in name or a TOML file (default: national).
        #[arg(default_value = "national")]
        file: String,
    },
    /// 运行规则用例（名称、年份、农户、预期结果）
    ///
    /// Run rule cases written as data (see rules/README.md): each case gives a year or date, a
    /// household as cell texts, and the expected decisions. Exit code 1 if any case fails.
    ///
    /// Examples:
    ///
    ///   tuopin rules test rules/national.cases.toml
    ///
    ///   tuopin rules test --builtin          (the cases shipped with the built-in rule sets)
    Test {
        /// Case files (TOML).
        files: Vec<PathBuf>,
        /// Run the cases embedded with the built-in rule sets.
        #[arg(long)]
        builtin: bool,
    },
}

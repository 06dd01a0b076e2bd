//! The command line. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::input::source::Limits;
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
    /// 单户核查：一户的判定、逐项标准，以及还差什么（假设分析）
    ///
    /// Check one household with the same rules and reasons as `assess`: each decision and the
    /// rule that gave it, every criterion (met / unmet / unknown) with the household's values, the
    /// threshold in force that year and its source, and what help would change each decision with a
    /// goal in the rule file — for each blocking criterion the smallest change that flips it, of a
    /// field the rule file says help can change (`action`) and only in its direction, found by
    /// re-assessing with the rule engine (`家庭年纯收入 需增加 604 元（人均 151 元 × 家庭人口数 4；…）`).
    /// Recorded facts (last year's income, household size, illness, an appraisal, exclusion
    /// evidence) are never suggested; where help cannot reach the goal, nothing is.
    ///
    /// The household comes from: a ledger (`FILE --id 户编号`, any file `assess` reads); `--set
    /// KEY=VALUE` (Chinese headers or field keys); standard input, as `key=value` lines or one JSON
    /// object; or, on a terminal with none of these, questions for every field the rule set needs
    /// (enter leaves a field blank, i.e. unknown).
    ///
    /// Exit codes: 0 fine; 1 the household has data problems (still checked); 2 usage error,
    /// rule-file error, unreadable input, or no household with that id.
    ///
    /// Examples:
    ///
    ///   tuopin check examples/户表.csv --id 5200010101003 --year 2024
    ///
    ///   tuopin check --year 2020 --set 户类型=贫困户 --set 人均纯收入=3849.01 --set 饮水安全=否
    ///
    ///   printf '户类型=脱贫户\n人均纯收入=5200\n' | tuopin check --year 2024 --format json
    ///
    ///   tuopin check --year 2024           (on a terminal: asks for each field)
    Check(CheckArgs),
    /// 动态调整：由上季度和本季度两份台账生成各类调整名单
    ///
    /// 以与 `assess` 相同的规则集评估本季度台账（评估日期为季度末日，可用 --date 指定），并与上季度比较，生成规则文件 `[lists.*]` 中在评估日期适用的各个名单（写法见 rules/README.md）。每户可在多个名单上；每行给出位置、户主、理由和两季度变化，以及名单自己的列。
    ///
    /// 全国规则集按政策时期给出名单：2021年前（攻坚期）为 default-rules.md §5 的名单；2021年起（过渡期、常态化）为 §6.5 的名单，每行另有户类型、人口、监测信息和风险因素，汇总按户和人计数。`tuopin rules check` 列出规则集的全部名单。
    ///
    /// 输出：`-o 目录` 每个名单一个 CSV（UTF-8 带 BOM）另加 汇总.csv；`-o 文件.xlsx` 一个工作簿，每个名单一个工作表另加汇总表；在终端上打印各村各名单的户数表。汇总（标准错误）核对两季度的每一户：上季度 = 两季度均有 + 减少 + 户编号重复；本季度 = 两季度均有 + 新增 + 户编号重复；未列入任何名单的户计为无变化。
    ///
    /// Examples:
    ///
    ///   tuopin adjust --previous examples/2024Q2.csv --current examples/2024Q3.csv --quarter 2024Q3
    ///
    ///   tuopin adjust --previous 2024Q2.csv --current 2024Q3.csv --quarter 2024Q3 -o 2024Q3名单/
    ///
    ///   tuopin adjust --previous 2024Q2.csv --current 2024Q3.csv --quarter 2024Q3 -o 2024Q3.xlsx
    Adjust(AdjustArgs),
    /// 生成演示数据：确定性的虚构台账（可选下一季度）
    ///
    /// Write an invented household ledger with the national columns: the same seed gives the same
    /// file. Used for demos, for the accounting check of `adjust`, and by the benchmark.
    ///
    /// Examples:
    ///
    ///   tuopin demo-data --households 100000 --seed 1 -o 2024Q2.csv --next-quarter 2024Q3.csv
    ///
    ///   tuopin demo-data --households 1000000 --messy 0.02 -o big.csv
    DemoData(DemoArgs),
    /// 规则集：检查规则文件、运行规则用例
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Args)]
pub struct RuleChoice {
    /// Rule set: a built-in name (national, guizhou-2023, yunnan-2025, lanzhou-xinqu-2025, hubei-2023,
    /// dehua-2024) or a TOML file.
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

/// How input files are read.
#[derive(Debug, Clone, Args)]
pub struct InputChoice {
    /// Force the encoding of CSV input instead of detecting it.
    #[arg(long, value_enum)]
    pub encoding: Option<Encoding>,
    /// Worksheet of an .xlsx/.xls workbook (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Row number of the header, as the spreadsheet shows it (default: found by matching the
    /// known headers among the first rows, so title rows above it are skipped).
    #[arg(long, value_name = "N")]
    pub header_row: Option<u64>,
    /// Read a person export (one row per person, grouped by 户编号); detected when the header has
    /// 人编号 or 与户主关系.
    #[arg(long)]
    pub persons: bool,
    /// Stop (exit 2) when the file lacks a column the rules need, instead of warning and treating
    /// that field as unknown (or as the rule file's `absent` value) for every household.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub limits: LimitChoice,
}

/// Bounds on an input file, so that no file (damaged, or made to harm) takes unbounded memory or
/// time. The defaults are far above any real export; past one, the run stops (exit code 2) with
/// a message naming the file, the place and the limit, except a long cell: a data problem of its
/// row.
#[derive(Debug, Clone, Args)]
pub struct LimitChoice {
    /// Longest cell, in bytes; a longer one is a data problem of its row.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_cell_bytes, help_heading = "Input limits")]
    pub max_cell_bytes: usize,
    /// Longest CSV record (or sheet row), in bytes: a file without line breaks, or with a quote
    /// that never closes, is stopped here instead of being read whole.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_record_bytes, help_heading = "Input limits")]
    pub max_record_bytes: usize,
    /// Most columns of a row.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_columns, help_heading = "Input limits")]
    pub max_columns: usize,
    /// Largest decompressed size of a workbook (.xlsx/.xlsb/.ods), all its parts together.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_xlsx_bytes, help_heading = "Input limits")]
    pub max_xlsx_bytes: u64,
    /// Largest compression ratio of a workbook part over 1 MiB (a zip bomb is about 1000).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_xlsx_ratio, help_heading = "Input limits")]
    pub max_xlsx_ratio: u64,
    /// Most shared strings of a workbook.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_shared_strings, help_heading = "Input limits")]
    pub max_shared_strings: u64,
    /// Largest decompressed size of a workbook's shared strings.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_shared_strings_bytes, help_heading = "Input limits")]
    pub max_shared_strings_bytes: u64,
    /// Most cells of the grids an .ods workbook is read into (each sheet from its first to its last
    /// cell with a value, repeated rows and cells spelled out).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_grid_cells, help_heading = "Input limits")]
    pub max_grid_cells: u64,
}

impl InputChoice {
    pub fn options(&self) -> crate::input::OpenOptions {
        let l = &self.limits;
        crate::input::OpenOptions {
            encoding: self.encoding,
            sheet: self.sheet.clone(),
            header_row: self.header_row,
            persons: self.persons,
            strict: self.strict,
            limits: Limits {
                max_cell_bytes: l.max_cell_bytes,
                max_record_bytes: l.max_record_bytes,
                max_columns: l.max_columns,
                max_xlsx_bytes: l.max_xlsx_bytes,
                max_xlsx_ratio: l.max_xlsx_ratio,
                max_shared_strings: l.max_shared_strings,
                max_shared_strings_bytes: l.max_shared_strings_bytes,
                max_grid_cells: l.max_grid_cells,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct AssessArgs {
    /// The household ledger: .xlsx/.xls, or CSV (UTF-8 with or without BOM, GBK/GB18030, UTF-16; comma or tab).
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RuleChoice,
    #[command(flatten)]
    pub date: DateChoice,
    /// Output format (default: table on a terminal, otherwise by the extension of -o, else CSV; -o NAME without an extension writes NAME.xlsx).
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<Format>,
    /// Write to this file (atomically; never over the input) instead of stdout.
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputChoice,
    /// Show ID numbers in full (they are masked by default: 430524********1234).
    #[arg(long)]
    pub show_ids: bool,
    /// CSV output without the UTF-8 BOM (for tools that dislike it; Excel needs it).
    #[arg(long)]
    pub no_bom: bool,
}

/// Output of `tuopin check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// The explanation for people (coloured on a terminal).
    Text,
    /// One JSON object: the keys of `assess --format jsonl`, plus `what_if`.
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A ledger holding the household (any file `assess` reads); needs --id.
    #[arg(requires = "id")]
    pub file: Option<PathBuf>,
    /// The 户编号 of the household to check in FILE.
    #[arg(long, value_name = "户编号", requires = "file")]
    pub id: Option<String>,
    /// A cell of the household, KEY=VALUE (a Chinese header or a field key; repeatable). With
    /// FILE: replaces that cell of the household read from the file.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub rules: RuleChoice,
    #[command(flatten)]
    pub date: DateChoice,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: CheckFormat,
    #[command(flatten)]
    pub input: InputChoice,
    /// Show ID numbers in full.
    #[arg(long)]
    pub show_ids: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of households.
    #[arg(long, short = 'n', default_value_t = 1000)]
    pub households: u64,
    /// Seed: the same seed gives the same file.
    #[arg(long, short = 's', default_value_t = 1)]
    pub seed: u64,
    /// Share of rows with one messy cell (a tenth of those invalid), 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub messy: f64,
    /// The year whose period the households follow: the types, monitoring and incomes of that
    /// year (README: Demo data).
    #[arg(long, short = 'y', default_value_t = 2024)]
    pub year: i32,
    /// The ledger to write.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Also write the next quarter's snapshot of the same households.
    #[arg(long, value_name = "FILE")]
    pub next_quarter: Option<PathBuf>,
    /// Replace files that exist (without it, an existing file is an error and nothing is written).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AdjustFormat {
    /// Counts per village and list on the terminal only.
    Table,
    /// One CSV per list in the -o directory, plus 汇总.csv.
    Csv,
    /// One workbook (-o FILE.xlsx), a sheet per list.
    Xlsx,
}

#[derive(Debug, Args)]
pub struct AdjustArgs {
    /// Last quarter's snapshot.
    #[arg(long, value_name = "FILE")]
    pub previous: PathBuf,
    /// This quarter's snapshot.
    #[arg(long, value_name = "FILE")]
    pub current: PathBuf,
    /// The quarter, e.g. 2024Q3: assessed at its last day (2024-09-30).
    #[arg(long, short = 'q', value_name = "YYYYQn", required_unless_present = "date")]
    pub quarter: Option<String>,
    /// Assessment date, overriding the quarter's last day.
    #[arg(long, short = 'd', value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    #[command(flatten)]
    pub rules: RuleChoice,
    /// Output kind (default: by -o: a .xlsx file, else a directory of CSVs; no -o: table).
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<AdjustFormat>,
    /// A directory (CSV) or a .xlsx file.
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputChoice,
    /// Show ID numbers in full.
    #[arg(long)]
    pub show_ids: bool,
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
    /// 显示规则文件；--resolved 显示按 extends 合并后的规则集及每一项的来源文件
    ///
    /// Print a rule file as written (a built-in one as embedded in the program). With
    /// `--resolved`, print the rule set merged along its `extends` chain, each item preceded by the
    /// files that made it (`# 来自：national（内置） + guizhou-2023.toml`).
    ///
    /// Examples:
    ///
    ///   tuopin rules show national > my-rules.toml      (start a rule file of your own)
    ///
    ///   tuopin rules show rules/guizhou-2023.toml --resolved
    Show {
        /// A built-in name or a TOML file (default: national).
        #[arg(default_value = "national")]
        file: String,
        /// Print the merged rule set with the file each item came from.
        #[arg(long)]
        resolved: bool,
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

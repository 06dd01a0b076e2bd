//! The command line. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::input::source::Limits;
use crate::input::Encoding;
use crate::output::Format;

/// tuopin（脱贫）：按规则集评估农户的识别、退出、返贫致贫风险与风险消除。
///
/// 读取国家系统或 Excel/WPS 导出的农户台账（CSV 为 UTF-8 或 GBK，也可以是 .xlsx 工作簿），按 TOML 规则集（已内置全国规则集）评估，并给出每一户每项判定的理由。
///
/// 示例：
///
///   tuopin assess 户表.csv --year 2024 -o 结果.xlsx
///
///   tuopin check 户表.csv --id 5200010101003 --year 2024
///
///   tuopin adjust --previous 2024Q2.csv --current 2024Q3.csv --quarter 2024Q3 -o 2024Q3名单/
#[derive(Debug, Parser)]
#[command(name = "tuopin", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// 界面语言：zh 中文（默认），en 英文（帮助、错误、警告、提示、进度和 check 的问答与屏幕）；结果文件（列名、理由）仍用规则文件的语言；也可设环境变量 TUOPIN_LANG=en
    #[arg(long, global = true, value_enum, value_name = "语言", default_value = "zh")]
    pub lang: Lang,
    /// 安静：不显示进度、摘要和提示，只显示警告和错误
    #[arg(long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 批量评估：每户的识别、退出、风险、风险消除及理由
    ///
    /// 按规则集评估台账中的每一户，按输入顺序输出。
    ///
    /// 输出：在终端上为表格；管道输出或 `-o 文件.csv` 时为 CSV（UTF-8 带 BOM，中文表头）；`--format jsonl` 或 `-o 文件.jsonl` 时为 JSONL（每户一行 JSON）；`-o 文件.xlsx` 时为 Excel 工作簿。汇总（读取行数、评估户数、有数据问题的户数、各判定的户数）写到标准错误。
    ///
    /// 来历：`-o` 写出的结果记下程序版本、规则集及合并后规则的 SHA-256、输入文件的文件名、大小和 SHA-256、评估日期和所用选项——工作簿在“说明”工作表中，CSV 和 JSONL 在旁边的 `文件名.说明.json` 中（运行时刻只记在这里），同样的输入和选项得到逐字节相同的结果；`tuopin verify` 据此核对。
    ///
    /// 退出码：0 一切正常；1 已完成，但有单元格存在数据问题（每处都给出行、列和值，该户照常评估）；2 用法错误、规则文件错误或输入无法读取。
    ///
    /// 示例：
    ///
    ///   tuopin assess examples/户表.csv --year 2024
    ///
    ///   tuopin assess 户表.csv --date 2024-09-30 -o 评估结果.csv
    ///
    ///   tuopin assess 户表.csv --rules guizhou-2023 --format jsonl > 结果.jsonl
    Assess(AssessArgs),
    /// 单户核查：一户的判定、相关标准，以及还差什么（假设分析）
    ///
    /// 用与 `assess` 相同的规则和理由核查一户：每项判定及得出它的规则；该户各项判定所涉及的标准（按规则文件的用词显示为达标、未达标、存在、不存在、待核实等，并用文字说明条件），附该户的数值、当年适用的标准及其来源；以及对规则文件设有目标的判定，帮扶怎样能改变它——对每个卡住的标准，给出能使其改变的最小改动（只改规则文件标明帮扶可以改变的字段（`action`），且只朝其方向），均用规则引擎重新评估验证，并按判定编号列出工作队要做的事（用规则文件的措辞 `action_text`，如“家庭年纯收入还差 2000 元（即人均 500 元）”“为 1 名成员参加基本医疗保险”；加 --verbose 另显示推算过程）。已记录的事实（上年收入、家庭人口、患病、鉴定结论、排除依据）不会被建议修改；帮扶达不到目标时不作建议。
    ///
    /// 农户来自：台账（`文件 --id 户编号`，`assess` 能读的文件都可以）；`--set 键=值`（中文表头或字段键）；标准输入（`键=值` 行，或一个 JSON 对象）；或者在终端上、以上都没有时，逐项提问：只问还能改变这一户判定的字段，各项判定都已确定即停止（回车留空即未知，输入 < 返回上一题）。
    ///
    /// 退出码：0 正常；1 该户有数据问题（照常核查）；2 用法错误、规则文件错误、输入无法读取，或文件中没有该户编号。
    ///
    /// 示例：
    ///
    ///   tuopin check examples/户表.csv --id 5200010101003 --year 2024
    ///
    ///   tuopin check --year 2020 --set 人均纯收入=3849.01 --set 饮水安全=否
    ///
    ///   printf '人均纯收入=5200\n饮水安全=是\n' | tuopin check --year 2024 --format json
    ///
    ///   tuopin check --year 2024           （在终端上逐项提问）
    Check(CheckArgs),
    /// 动态调整：由上季度和本季度两份台账生成各类调整名单
    ///
    /// 以与 `assess` 相同的规则集评估本季度台账（评估日期为季度末日，可用 --date 指定），并与上季度比较，生成规则文件 `[lists.*]` 中在评估日期适用的各个名单（写法见 rules/README.md）。每户可在多个名单上；每行给出位置、户主、理由和两季度变化，以及名单自己的列。
    ///
    /// 全国规则集按政策时期给出名单：2021年前（攻坚期）为 default-rules.md §5 的名单；2021年起（过渡期、常态化）为 §6.5 的名单，每行另有户类型、人口、监测信息和风险因素，汇总按户和人计数。`tuopin rules check` 列出规则集的全部名单。
    ///
    /// 输出：`-o 目录` 每个名单一个 CSV（UTF-8 带 BOM）另加 汇总.csv 和 说明.csv（所用台账、规则和日期的记录）；`-o 文件.xlsx` 一个工作簿，每个名单一个工作表另加汇总表和说明表；在终端上打印各村各名单的户数表。汇总（标准错误）核对两季度的每一户：上季度 = 两季度均有 + 减少 + 户编号重复；本季度 = 两季度均有 + 新增 + 户编号重复；未列入任何名单的户计为无变化。
    ///
    /// 示例：
    ///
    ///   tuopin adjust --previous examples/2024Q2.csv --current examples/2024Q3.csv --quarter 2024Q3
    ///
    ///   tuopin adjust --previous 2024Q2.csv --current 2024Q3.csv --quarter 2024Q3 -o 2024Q3名单/
    ///
    ///   tuopin adjust --previous 2024Q2.csv --current 2024Q3.csv --quarter 2024Q3 -o 2024Q3.xlsx
    Adjust(AdjustArgs),
    /// 公示：按村生成规则文件标明须公示的名单（工作簿和可打印的网页）
    ///
    /// 以与 `assess` 相同的规则集评估台账，把规则文件中标明 `notice = true`、在评估日期适用的名单（哪些名单须公示、何时适用，见 `tuopin rules show` 中各 `[lists.*]` 的 `notice`、`from` 和 `until`）按村写成公示：每户只有户主姓名、村民小组、家庭人口数和公示事项，另有公示期（天数由规则文件 `[notice]` 规定，全国规则集为 5 天）和异议联系方式。
    ///
    /// 公示中不会出现证件号码、电话号码、银行账号、健康或残疾情况（与有无 --show-ids 无关）：只写上述几列；其中含有 3 个以上数字或规则文件所列用语（病、残等）的单元格显示为“（需核实）”，并在屏幕上给出行号和列名。
    ///
    /// 输出：`-o 文件.xlsx` 每村一个工作表（A4 横向、按页宽缩放、每页重复表头）；`-o 文件.html` 可直接打印的网页（每村一页）；`-o` 可给多次。
    ///
    /// 退出码：0 正常；1 已写出，但有单元格不能公示或台账有数据问题；2 用法错误、规则文件错误或输入无法读取。
    ///
    /// 示例：
    ///
    ///   tuopin notice examples/户表.csv --year 2020 --start 2021-01-04 -o 公示.xlsx -o 公示.html
    ///
    ///   tuopin notice 户表.xlsx --date 2024-09-30 --rules yunnan-2025 -o 三季度公示.xlsx
    Notice(NoticeArgs),
    /// 核对：评估结果是否仍与其输入文件和规则集相符
    ///
    /// 每份评估结果都记有其来历：程序版本、规则集及合并后规则的 SHA-256、每个输入文件的文件名、大小和 SHA-256、评估日期和所用选项（.xlsx 在“说明”工作表中，CSV 和 JSONL 在旁边的 `结果.csv.说明.json` 文件中）。`verify` 读出这些记录，重新计算输入文件和规则集的 SHA-256，按记录的选项重新评估，并与输出逐字节比较，逐项说明哪里不同：输入已变、规则已变、输出已变。
    ///
    /// 退出码：0 一致；1 不一致；2 用法错误，或输出没有可读的说明。
    ///
    /// 示例：
    ///
    ///   tuopin verify 结果.xlsx 户表.xlsx
    ///
    ///   tuopin verify 结果.csv examples/户表.csv
    Verify(VerifyArgs),
    /// 规则变化的影响：同一份台账按两个规则集评估，列出判定不同的户及原因
    ///
    /// 用 `--rules` 给两个规则集（如全国规则集与本省 2025 年规则集），按同一评估日期评估台账中的每一户，列出判定不同的每一户每一项：按甲、按乙的判定，结果不同的标准（是 → 否），以及按乙的理由（含数值、标准及来源）；屏幕上给出两者所用参数的不同（如 监测范围 6000 → 8700）和各村判定不同的户数。
    ///
    /// 输出：CSV（UTF-8 带 BOM；`-o 文件.csv` 或标准输出）；`-o 文件.xlsx` 为工作簿（判定变化、各村汇总两个工作表）。证件号码默认打码。
    ///
    /// 退出码：0 完成；2 用法错误、规则文件错误或输入无法读取。
    ///
    /// 示例：
    ///
    ///   tuopin compare-rules --rules national --rules yunnan-2025 examples/户表.csv --year 2024
    ///
    ///   tuopin compare-rules -r national -r 本省2025.toml 户表.xlsx --year 2025 -o 规则变化.xlsx
    CompareRules(CompareArgs),
    /// 生成演示数据：确定性的虚构台账（可选下一季度）
    ///
    /// 写出一份虚构的农户台账，列与全国导出相同：同一种子得到同一文件。用于演示、`adjust` 的核对和性能测试。
    ///
    /// 示例：
    ///
    ///   tuopin demo-data --households 100000 --seed 1 -o 2024Q2.csv --next-quarter 2024Q3.csv
    ///
    ///   tuopin demo-data --households 1000000 --messy 0.02 -o 大台账.csv
    DemoData(DemoArgs),
    /// 名单比对：两个或更多名单按身份证号比对，列出在一个名单中而不在另一个名单中的人
    ///
    /// 每个名单写成 名称=文件（.xlsx、.xls 或 CSV），如 民政=民政名单.xlsx 乡村振兴=乡村振兴名单.xlsx（名称由您自定，用于输出中称呼各名单）。证件号码列按表头查找（证件号码、身份证号码、公民身份号码、户主证件号码、身份证号；表头上方的标题行自动跳过），号码与 `assess --with` 一样规范化后比对：15 位升为 18 位，全角数字、小写 x、空格均可；被 Excel 变成数字的号码和无效号码计数并逐行列出（不会悄悄丢掉）。输出为 CSV（UTF-8 带 BOM）：不是每个名单都有的每个人一行：证件号码（默认打码）、姓名、在各名单中的行号（不在则空白）、差异。退出码：0 正常；1 有名单的行无法比对；2 用法或文件错误。
    ///
    /// 示例：
    ///
    ///   tuopin reconcile 民政=民政名单.xlsx 乡村振兴=乡村振兴名单.csv -o 差异.csv
    ///
    ///   tuopin reconcile 民政=民政.csv 乡村振兴=乡村振兴.csv 医保=医保参保.xlsx
    Reconcile(ReconcileArgs),
    /// 规则集：检查规则文件、显示规则文件、运行规则用例
    #[command(subcommand)]
    Rules(RulesCommand),
    /// 生成命令行补全脚本（bash、zsh、fish、PowerShell）
    ///
    /// 把补全脚本写到标准输出，由终端载入后按 Tab 即可补全命令和选项。
    ///
    /// 示例：
    ///
    ///   tuopin completions bash > ~/.local/share/bash-completion/completions/tuopin
    ///
    ///   tuopin completions zsh > ~/.zfunc/_tuopin
    ///
    ///   tuopin completions fish > ~/.config/fish/completions/tuopin.fish
    ///
    ///   tuopin completions powershell >> $PROFILE
    Completions {
        /// 终端类型
        #[arg(value_enum, value_name = "终端")]
        shell: clap_complete::Shell,
    },
    /// 生成手册页（man 格式，由命令行定义生成）
    ///
    /// 把 tuopin 的手册页（roff 格式）写到标准输出；各命令的说明与 --help 相同。
    ///
    /// 示例：
    ///
    ///   tuopin manpage > /usr/local/share/man/man1/tuopin.1
    ///
    ///   tuopin manpage | man -l -
    Manpage,
}

#[derive(Debug, Args)]
pub struct RuleChoice {
    /// 规则集：内置名称（national、guizhou-2023、yunnan-2025、lanzhou-xinqu-2025、hubei-2023、dehua-2024）或 TOML 规则文件
    #[arg(long, short = 'r', value_name = "规则集", default_value = "national")]
    pub rules: String,
}

#[derive(Debug, Args)]
pub struct DateChoice {
    /// 评估年度：用该年的参数，按该年 12 月 31 日评估
    #[arg(long, short = 'y', value_name = "年份", conflicts_with = "date")]
    pub year: Option<i32>,
    /// 评估日期（YYYY-MM-DD）；不给则为今天
    #[arg(long, short = 'd', value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
}

/// How input files are read.
#[derive(Debug, Clone, Args)]
pub struct InputChoice {
    /// 指定 CSV 输入的编码，不自动检测
    #[arg(long, value_enum, value_name = "编码")]
    pub encoding: Option<Encoding>,
    /// 读取 .xlsx/.xls 工作簿的哪个工作表（默认第一个）
    #[arg(long, value_name = "工作表")]
    pub sheet: Option<String>,
    /// 表头所在行号，按表格软件显示的行号（默认在前几行中按已知表头查找，表头上方的标题行自动跳过）
    #[arg(long, value_name = "行号")]
    pub header_row: Option<u64>,
    /// 按人员表读取（每人一行，同户的行归为一户）；表头中有规则文件标为 `marker` 的成员列（`[persons.*]`，见 `tuopin rules show`）时自动识别
    #[arg(long)]
    pub persons: bool,
    /// 文件缺少规则所需的列时停止（退出码 2），而不是警告并把该字段对每一户按未知处理（或按规则文件的 `absent` 取值）
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub limits: LimitChoice,
}

/// Department lists to compare the households with (精准比对; `assess`, `check`, `adjust`).
#[derive(Debug, Clone, Args)]
pub struct WithChoice {
    /// 比对名单：名单=文件（可重复），如 --with 车辆登记=车辆.xlsx。名单为规则集 [departments.*] 的标签或键；人员表的每个成员（户表为户主）按身份证号与名单比对，规则据比对结果判定，理由中列出相符的记录
    #[arg(long = "with", value_name = "名单=文件")]
    pub with: Vec<String>,
}

/// Bounds on an input file, so that no file (damaged, or made to harm) takes unbounded memory or
/// time. The defaults are far above any real export; past one, the run stops (exit code 2) with
/// a message naming the file, the place and the limit, except a long cell: a data problem of its
/// row.
#[derive(Debug, Clone, Args)]
pub struct LimitChoice {
    /// 单元格最大字节数；更长的单元格是该行的数据问题
    #[arg(long, value_name = "字节数", default_value_t = Limits::default().max_cell_bytes, help_heading = "输入限制")]
    pub max_cell_bytes: usize,
    /// CSV 记录（或工作表行）最大字节数：没有换行、或引号不闭合的文件在此停止，不会整个读入
    #[arg(long, value_name = "字节数", default_value_t = Limits::default().max_record_bytes, help_heading = "输入限制")]
    pub max_record_bytes: usize,
    /// 每行最多列数
    #[arg(long, value_name = "列数", default_value_t = Limits::default().max_columns, help_heading = "输入限制")]
    pub max_columns: usize,
    /// 工作簿（.xlsx/.xlsb/.ods）解压后的最大总大小
    #[arg(long, value_name = "字节数", default_value_t = Limits::default().max_xlsx_bytes, help_heading = "输入限制")]
    pub max_xlsx_bytes: u64,
    /// 工作簿中超过 1 MiB 的部件的最大压缩比（压缩炸弹约为 1000）
    #[arg(long, value_name = "倍数", default_value_t = Limits::default().max_xlsx_ratio, help_heading = "输入限制")]
    pub max_xlsx_ratio: u64,
    /// 工作簿共享字符串的最多条数
    #[arg(long, value_name = "条数", default_value_t = Limits::default().max_shared_strings, help_heading = "输入限制")]
    pub max_shared_strings: u64,
    /// 工作簿共享字符串解压后的最大大小
    #[arg(long, value_name = "字节数", default_value_t = Limits::default().max_shared_strings_bytes, help_heading = "输入限制")]
    pub max_shared_strings_bytes: u64,
    /// 工作簿（.ods）读入的表格最多单元格数（每个工作表从第一个到最后一个有值的单元格，重复的行和单元格逐一计入）
    #[arg(long, value_name = "单元格数", default_value_t = Limits::default().max_grid_cells, help_heading = "输入限制")]
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
    /// 农户台账：.xlsx/.xls 工作簿，或 CSV（UTF-8 带或不带 BOM、GBK/GB18030、UTF-16；逗号或制表符分隔）；- 为标准输入（按内容识别种类）
    #[arg(value_name = "文件")]
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RuleChoice,
    #[command(flatten)]
    pub date: DateChoice,
    /// 输出格式（默认：终端上为表格，否则按 -o 的扩展名，再否则为 CSV；-o 的文件名没有扩展名时写成 文件名.xlsx）
    #[arg(long, short = 'f', value_enum, value_name = "格式")]
    pub format: Option<Format>,
    /// 写入此文件（整体写成后替换；不会写到输入文件上），不写到标准输出；- 为标准输出
    #[arg(long, short = 'o', value_name = "输出")]
    pub output: Option<PathBuf>,
    /// 另写一份按地区（规则文件所列的层级，如县、乡镇、村）的汇总：各判定的户数、人数和规则文件所列的指标；扩展名为 .xlsx 时写成工作簿，否则为 CSV（xlsx 输出中已有“地区汇总”表）
    #[arg(long, value_name = "文件")]
    pub summary: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputChoice,
    #[command(flatten)]
    pub lists: WithChoice,
    /// 完整显示证件号码（默认打码：430524********1234）
    #[arg(long)]
    pub show_ids: bool,
    /// CSV 输出不带 UTF-8 BOM（给不接受 BOM 的工具用；Excel 需要 BOM）
    #[arg(long)]
    pub no_bom: bool,
    /// CSV 输出哪些列：判定（户编号和各项判定的列）、判定+理由（另加判定理由）、全部（默认），或用逗号分隔的列名（按所写顺序），如 户编号,风险等级,判定理由。只输出判定时省去写理由的工夫，百万户的台账快得多
    #[arg(long, value_name = "列")]
    pub columns: Option<String>,
    /// 规则覆盖：每项标准为是、否、待核实的户数，每条判定规则得出的户数；从未变化的标准和从未得出的规则加提示。只写 --coverage 时显示在屏幕上（标准错误），给文件名时写成 CSV
    #[arg(long, value_name = "文件", num_args = 0..=1, default_missing_value = "-")]
    pub coverage: Option<PathBuf>,
}

/// Output of `tuopin check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// 给人看的说明（在终端上带颜色）
    Text,
    /// 一个 JSON 对象：与 `assess --format jsonl` 的键相同，另加 `what_if`
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// 含有该户的台账（`assess` 能读的文件都可以，- 为标准输入）；须同时给出 --id
    #[arg(requires = "id", value_name = "文件")]
    pub file: Option<PathBuf>,
    /// 要在文件中核查的户的户编号
    #[arg(long, value_name = "户编号", requires = "file")]
    pub id: Option<String>,
    /// 该户的一个单元格，键=值（键为中文表头或字段键；可重复）。与文件同用时，替换从文件读到的该单元格
    #[arg(long = "set", value_name = "键=值")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub rules: RuleChoice,
    #[command(flatten)]
    pub date: DateChoice,
    /// 输出格式
    #[arg(long, short = 'f', value_enum, value_name = "格式", default_value = "text")]
    pub format: CheckFormat,
    /// 同时显示每项标准的条件原文（CEL）和每项判定所依据规则的条件
    #[arg(long, short = 'v')]
    pub verbose: bool,
    #[command(flatten)]
    pub input: InputChoice,
    #[command(flatten)]
    pub lists: WithChoice,
    /// 完整显示证件号码
    #[arg(long)]
    pub show_ids: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// 户数
    #[arg(long, short = 'n', value_name = "户数", default_value_t = 1000)]
    pub households: u64,
    /// 随机种子：同一种子得到同一文件
    #[arg(long, short = 's', value_name = "种子", default_value_t = 1)]
    pub seed: u64,
    /// 含有一处不规范单元格的行所占比例（其中十分之一为无效值），0 至 1
    #[arg(long, value_name = "比例", default_value_t = 0.0)]
    pub messy: f64,
    /// 各户所处政策时期的年份：户类型、监测和收入按该年生成（见 README.md“演示数据”一节）
    #[arg(long, short = 'y', value_name = "年份", default_value_t = 2024)]
    pub year: i32,
    /// 要写出的台账
    #[arg(long, short = 'o', value_name = "文件")]
    pub output: PathBuf,
    /// 同时写出同一批户下一季度的台账
    #[arg(long, value_name = "文件")]
    pub next_quarter: Option<PathBuf>,
    /// 覆盖已存在的文件（不加时，文件已存在即报错，什么也不写）
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// 名单：名称=文件，两个或更多
    #[arg(value_name = "名称=文件", num_args = 2.., required = true)]
    pub rosters: Vec<String>,
    /// 写入此 CSV 文件（整体写成后替换），不写到标准输出
    #[arg(long, short = 'o', value_name = "输出")]
    pub output: Option<PathBuf>,
    /// 完整显示证件号码
    #[arg(long)]
    pub show_ids: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AdjustFormat {
    /// 只在终端上显示各村各名单的户数
    Table,
    /// -o 目录中每个名单一个 CSV，另加 汇总.csv 和 说明.csv
    Csv,
    /// 一个工作簿（-o 文件.xlsx），每个名单一个工作表
    Xlsx,
}

#[derive(Debug, Args)]
pub struct AdjustArgs {
    /// 上季度的台账（- 为标准输入；两个季度中只能有一个是 -）
    #[arg(long, value_name = "文件")]
    pub previous: PathBuf,
    /// 本季度的台账（- 为标准输入）
    #[arg(long, value_name = "文件")]
    pub current: PathBuf,
    /// 季度，如 2024Q3：按其最后一天（2024-09-30）评估
    #[arg(long, short = 'q', value_name = "季度", required_unless_present = "date")]
    pub quarter: Option<String>,
    /// 评估日期，代替季度的最后一天
    #[arg(long, short = 'd', value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    #[command(flatten)]
    pub rules: RuleChoice,
    /// 输出种类（默认按 -o：.xlsx 文件为工作簿，否则为 CSV 目录；没有 -o 为表格）
    #[arg(long, short = 'f', value_enum, value_name = "格式")]
    pub format: Option<AdjustFormat>,
    /// 一个目录（CSV）或一个 .xlsx 文件
    #[arg(long, short = 'o', value_name = "输出")]
    pub output: Option<PathBuf>,
    /// 另写一份本季度按地区（县、乡镇、村）的汇总：各判定的户数、人数和规则文件所列的指标；扩展名为 .xlsx 时写成工作簿，否则为 CSV
    #[arg(long, value_name = "文件")]
    pub summary: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputChoice,
    #[command(flatten)]
    pub lists: WithChoice,
    /// 完整显示证件号码
    #[arg(long)]
    pub show_ids: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// 检查规则文件：字段、各年参数、判定条件
    ///
    /// 读入规则文件（沿 `extends` 合并），检查每个名称和类型，并列出其字段、各年参数和各项标准。规则文件有错误时退出码为 2。
    ///
    /// 示例：
    ///
    ///   tuopin rules check                  （内置的全国规则集）
    ///
    ///   tuopin rules check rules/guizhou-2023.toml
    Check {
        /// 内置名称或 TOML 规则文件（默认：national）；- 为标准输入（其 `extends` 只能是内置规则集）
        #[arg(value_name = "规则集", default_value = "national")]
        file: String,
    },
    /// 显示规则文件；--resolved 显示按 `extends` 合并后的规则集及每一项的来源文件
    ///
    /// 按原样显示规则文件（内置规则集显示程序中内嵌的文本）。加 `--resolved` 时，显示沿 `extends` 链合并后的规则集，每一项前注明它来自哪些文件（`# 来自：national（内置） + guizhou-2023.toml`）。
    ///
    /// 示例：
    ///
    ///   tuopin rules show national > 我的规则.toml      （以此为起点写自己的规则文件）
    ///
    ///   tuopin rules show rules/guizhou-2023.toml --resolved
    Show {
        /// 内置名称或 TOML 规则文件（默认：national）
        #[arg(value_name = "规则集", default_value = "national")]
        file: String,
        /// 显示合并后的规则集及每一项的来源文件
        #[arg(long)]
        resolved: bool,
    },
    /// 运行规则用例（名称、年份、农户、预期结果）
    ///
    /// 运行以数据写成的规则用例（见 rules/README.md）：每个用例给出年份或日期、以单元格文字给出的一户，以及预期的判定。有用例不通过时退出码为 1。
    ///
    /// 示例：
    ///
    ///   tuopin rules test rules/national.cases.toml
    ///
    ///   tuopin rules test --builtin          （随内置规则集提供的用例）
    Test {
        /// 用例文件（TOML；- 为标准输入，其中的 `rules` 相对于当前目录）
        #[arg(value_name = "用例文件")]
        files: Vec<PathBuf>,
        /// 运行随内置规则集提供的用例
        #[arg(long)]
        builtin: bool,
    },
}

/// The interface language (`--lang`; [`crate::lang`] builds the help in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

#[derive(Debug, Args)]
pub struct NoticeArgs {
    /// 农户台账（`assess` 能读的文件都可以；- 为标准输入）
    #[arg(value_name = "文件")]
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RuleChoice,
    #[command(flatten)]
    pub date: DateChoice,
    /// 公示开始日期（YYYY-MM-DD）；不给则为评估日期
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub start: Option<String>,
    /// 公示文件：.xlsx 工作簿或 .html 网页（可给多次）
    #[arg(long, short = 'o', value_name = "输出", required = true)]
    pub output: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputChoice,
    #[command(flatten)]
    pub lists: WithChoice,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// 要核对的评估结果（.xlsx、.csv 或 .jsonl，由 `tuopin assess -o` 写出）
    #[arg(value_name = "输出")]
    pub output: PathBuf,
    /// 得出该结果的输入文件：台账，及 --with 给出的比对名单（按评估时的顺序）
    #[arg(value_name = "输入", required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// 农户台账（`assess` 能读的文件都可以；- 为标准输入）
    #[arg(value_name = "文件")]
    pub file: PathBuf,
    /// 规则集：给两次，先甲后乙（内置名称或 TOML 规则文件）
    #[arg(long, short = 'r', value_name = "规则集", required = true, num_args = 1)]
    pub rules: Vec<String>,
    #[command(flatten)]
    pub date: DateChoice,
    /// 写入此文件（.csv 或 .xlsx）；不给则 CSV 写到标准输出
    #[arg(long, short = 'o', value_name = "输出")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputChoice,
    #[command(flatten)]
    pub lists: WithChoice,
    /// 完整显示证件号码
    #[arg(long)]
    pub show_ids: bool,
}

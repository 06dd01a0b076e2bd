//! The English help (`--lang en`): one text per command and per argument, laid over the
//! command definition of `cli.rs` (whose doc comments are the Chinese help). A test in
//! `lang::tests` fails when a command or an argument has no English text here.

/// (command path, about, long about): the path is the subcommands' names, "" for `tuopin`.
const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "",
        "tuopin: identification, exit, return-to-poverty risk and risk elimination of rural households, by a rule set.",
        "tuopin: identification, exit, return-to-poverty risk and risk elimination of rural households, by a rule set.\n\n\
         Reads household ledgers exported from the national system or Excel/WPS (CSV in UTF-8 or GBK, or .xlsx \
         workbooks), applies a rule set written in TOML (the national one is built in), and says for every household \
         why it gets each decision. --lang en gives the program's own words in English (help, errors, warnings, \
         notes, progress, check's questions and screen); results files (columns, reasons) and the rule file's \
         words (labels, column names) stay in the rule file's language.\n\nExamples:\n\n  tuopin assess 户表.csv --year 2024 -o 结果.xlsx\n\n  \
         tuopin check 户表.csv --id 5200010101003 --year 2024",
    ),
    (
        "assess",
        "Assess every household: identification, exit, risk, risk elimination, with reasons",
        "Assess every household of a ledger with the rule set, in input order.\n\n\
         Output: a table on a terminal; CSV (UTF-8 with BOM, Chinese headers) when piped or with -o FILE.csv; JSON \
         Lines with --format jsonl or -o FILE.jsonl; an Excel workbook with -o FILE.xlsx. A summary (rows read, \
         households assessed, households with problems, counts per decision) goes to stderr.\n\n\
         Provenance: an output written with -o records the program's version, the rule set and the SHA-256 of the \
         merged rules, each input's name, size and SHA-256, the assessment date and the options — a workbook in its \
         说明 sheet, CSV and JSON Lines in `FILE.说明.json` beside it (the only place with the run's time) — so the \
         same inputs and options give byte-identical outputs; `tuopin verify` checks them.\n\n\
         Exit codes: 0 all fine; 1 finished, but some cells had data problems (each is reported with its row, column \
         and value, and the household is still assessed); 2 usage error, rule-file error or unreadable input.\n\n\
         Examples:\n\n  tuopin assess examples/户表.csv --year 2024\n\n  \
         tuopin assess 户表.csv --date 2024-09-30 -o 评估结果.csv\n\n  \
         tuopin assess 户表.csv --rules guizhou-2023 --format jsonl > out.jsonl",
    ),
    (
        "check",
        "Check one household: its decisions, the criteria they reached, and what would change them (what-if)",
        "Check one household with the same rules and reasons as `assess`: each decision and the rule that gave it; \
         the criteria the household's decisions reached, in the rule file's words (达标/未达标, 存在/不存在, \
         待核实) and with the condition in words, the household's values, the threshold in force that year and \
         its source (the conditions in CEL with --verbose); and, for each decision with a goal in \
         the rule file, the smallest changes help can make that would change it, each verified with the rule engine, listed \
         as numbered actions for a work team in the rule file's words (`action_text`; --verbose adds how they \
         were found). Recorded facts are never suggested.\n\n\
         The household comes from: a ledger (FILE --id 户编号); --set KEY=VALUE; standard input (key=value lines or \
         one JSON object); or, on a terminal with none of these, questions for the fields that can still \
         change a decision of this household, until every decision is settled (enter leaves a field blank, i.e. \
         unknown; < goes back).\n\n\
         Exit codes: 0 fine; 1 the household has data problems (still checked); 2 usage error, rule-file error, \
         unreadable input, or no household with that id.\n\n\
         Examples:\n\n  tuopin check examples/户表.csv --id 5200010101003 --year 2024\n\n  \
         tuopin check --year 2020 --set 人均纯收入=3849.01 --set 饮水安全=否\n\n  \
         tuopin check --year 2024           (on a terminal: asks questions)",
    ),
    (
        "adjust",
        "Dynamic adjustment: the quarterly lists from last quarter's and this quarter's ledgers",
        "Assess this quarter's ledger with the same rule set as `assess` (as of the quarter's last day, or --date), \
         compare with last quarter's, and write the lists of the rule file's [lists.*] that apply on that date \
         (rules/README.md). Output: -o DIR, one CSV per list plus 汇总.csv and 说明.csv (the record of the ledgers, rules and date used); -o FILE.xlsx, one workbook with a sheet \
         per list and a summary sheet; on a terminal, a table of households per village and list.\n\n\
         Examples:\n\n  tuopin adjust --previous examples/2024Q2.csv --current examples/2024Q3.csv --quarter 2024Q3\n\n  \
         tuopin adjust --previous 2024Q2.csv --current 2024Q3.csv --quarter 2024Q3 -o 2024Q3.xlsx",
    ),
    (
        "notice",
        "Public notices (公示): per village, the lists the rule file marks for posting (workbook and printable page)",
        "Assess a ledger with the same rule set as `assess` and write, per village, the lists of the rule file marked \
         `notice = true` that apply on the assessment date (which lists are posted and when they apply: `notice` and from/until of \
         each [lists.*], shown by `tuopin rules show`): for each household only the head's name, the village group, the household size \
         and the item, with the posting period (days from the rule file's [notice], 5 in the national rules) and \
         the objection line.\n\n\
         No ID, phone or bank number and no health or disability detail ever appears on a notice (with or without \
         --show-ids): only those columns are written, and a cell with more than 3 digits or a word the rule file \
         withholds is shown as （需核实） and named on stderr by row and column.\n\n\
         Output: -o FILE.xlsx, a sheet per village (A4 landscape, fitted to the page width, header repeated); \
         -o FILE.html, a printable page per village; -o may be repeated.\n\n\
         Exit codes: 0 fine; 1 written, but some cells were withheld or the ledger has data problems; 2 usage \
         error, rule-file error or unreadable input.\n\n\
         Examples:\n\n  tuopin notice examples/户表.csv --year 2020 --start 2021-01-04 -o 公示.xlsx -o 公示.html",
    ),
    (
        "verify",
        "Verify: whether an assessment output still matches its input files and rule set",
        "Every assessment output records its provenance: the program's version, the rule set and the SHA-256 of \
         the merged rules, each input file's name, size and SHA-256, the assessment date and the options used (a \
         workbook in its 说明 sheet; CSV and JSON Lines in the file `OUTPUT.说明.json` beside it). verify reads \
         them, recomputes the hashes of the inputs and rules, re-runs the assessment with the recorded options and \
         compares the bytes, saying what differs: an input, the rules, the output.\n\n\
         Exit codes: 0 matches; 1 does not match; 2 usage error, or no readable provenance.\n\n\
         Examples:\n\n  tuopin verify 结果.xlsx 户表.xlsx\n\n  tuopin verify 结果.csv examples/户表.csv",
    ),
    (
        "compare-rules",
        "Rule-change impact: one ledger under two rule sets, the households whose decisions differ and why",
        "Give two rule sets with --rules (e.g. the national set and a province's 2025 set); every household of the \
         ledger is assessed under both on the same date, and each decision that differs is listed: its label under \
         the first and the second, the criteria whose result differs (是 → 否), and the reasons under the second \
         (values, thresholds, sources). stderr names the parameters in force that differ (监测范围 6000 → 8700) and \
         counts the households per village.\n\n\
         Output: CSV (UTF-8 with BOM; -o FILE.csv or stdout); -o FILE.xlsx, a workbook (changes, per village). ID \
         numbers are masked by default.\n\n\
         Exit codes: 0 done; 2 usage error, rule-file error or unreadable input.\n\n\
         Examples:\n\n  tuopin compare-rules --rules national --rules yunnan-2025 examples/户表.csv --year 2024",
    ),
    (
        "demo-data",
        "Write demo data: a deterministic invented ledger (and optionally the next quarter)",
        "Write an invented household ledger with the national columns: the same seed gives the same file. Used for \
         demos, for the accounting check of `adjust`, and by the benchmark.\n\n\
         Examples:\n\n  tuopin demo-data --households 100000 --seed 1 -o 2024Q2.csv --next-quarter 2024Q3.csv",
    ),
    (
        "reconcile",
        "Compare rosters by ID number: who is in one and not in another",
        "Each roster is NAME=FILE (.xlsx, .xls or CSV). The ID column is found by its header (证件号码, 身份证号码, \
         公民身份号码, 户主证件号码, 身份证号), and IDs are normalised as for `assess --with` (15 digits upgraded to 18, \
         full-width digits, lower-case x, spaces); IDs Excel turned into numbers and invalid IDs are counted and \
         listed by row. Output (CSV, UTF-8 with BOM): one row per person not on every roster: the ID (masked), \
         the name, the row on each roster (blank if absent), the difference. Exit codes: 0 fine; 1 some roster \
         rows cannot be compared; 2 usage or file error.\n\n\
         Examples:\n\n  tuopin reconcile 民政=民政名单.xlsx 乡村振兴=乡村振兴名单.csv -o 差异.csv",
    ),
    ("rules", "Rule sets: check a rule file, show it, run rule cases", ""),
    (
        "rules check",
        "Check a rule file: fields, parameters by year, criteria",
        "Load a rule file (following `extends`), check every name and type, and list its fields, parameters by year \
         and criteria. Exit code 2 if the file has an error.\n\nExamples:\n\n  tuopin rules check\n\n  \
         tuopin rules check rules/guizhou-2023.toml",
    ),
    (
        "rules show",
        "Show a rule file; --resolved shows the rule set merged along `extends`, each item with its files",
        "Print a rule file as written (a built-in one as embedded in the program). With --resolved, print the rule \
         set merged along its `extends` chain, each item preceded by the files that made it.\n\nExamples:\n\n  \
         tuopin rules show national > my-rules.toml\n\n  tuopin rules show rules/guizhou-2023.toml --resolved",
    ),
    (
        "rules test",
        "Run rule cases (name, year, household, expected decisions)",
        "Run rule cases written as data (rules/README.md): each case gives a year or date, a household as cell texts, \
         and the expected decisions. Exit code 1 if any case fails.\n\nExamples:\n\n  \
         tuopin rules test rules/national.cases.toml\n\n  tuopin rules test --builtin",
    ),
    (
        "completions",
        "Write a shell completion script (bash, zsh, fish, PowerShell)",
        "Write the completion script for SHELL to standard output.\n\nExamples:\n\n  \
         tuopin completions bash > ~/.local/share/bash-completion/completions/tuopin\n\n  \
         tuopin completions fish > ~/.config/fish/completions/tuopin.fish",
    ),
    (
        "manpage",
        "Write the manual page (roff), generated from the command-line definition",
        "Write tuopin's manual page to standard output.\n\nExample:\n\n  tuopin manpage | man -l -",
    ),
];

/// (command path, or "" for any command; argument id; help).
const ARGS: &[(&str, &str, &str)] = &[
    ("", "lang", "Interface language: zh Chinese (default), en English (help, errors, warnings, notes, progress, check's questions and screen; results files stay in the rule file's language); or set TUOPIN_LANG=en"),
    ("", "quiet", "Quiet: no progress, summary or notes; only warnings and errors"),
    ("", "rules", "Rule set: a built-in name (national, guizhou-2023, yunnan-2025, lanzhou-xinqu-2025, hubei-2023, dehua-2024) or a TOML file"),
    ("", "year", "Assessment year: parameters of that year, assessed as of 31 December"),
    ("", "date", "Assessment date (YYYY-MM-DD); default today"),
    ("", "encoding", "Force the encoding of CSV input instead of detecting it"),
    ("", "sheet", "Worksheet of an .xlsx/.xls workbook (default: the first)"),
    ("", "header_row", "Row number of the header, as the spreadsheet shows it (default: found by matching the known headers)"),
    ("", "persons", "Read a person export (one row per person, the rows of a household grouped); detected when the header has a member column the rule file marks `marker` ([persons.*], see tuopin rules show)"),
    ("", "strict", "Stop (exit 2) when the file lacks a column the rules need, instead of treating that field as unknown"),
    ("", "with", "A department list, LIST=FILE (repeatable), e.g. --with 车辆登记=cars.xlsx: LIST is a label or key of the rule set's [departments.*]; each member of a person export (the head of a household ledger) is compared with it by ID number, rules decide on the matches, and reasons list the matched records"),
    ("", "max_cell_bytes", "Longest cell, in bytes; a longer one is a data problem of its row"),
    ("", "max_record_bytes", "Longest CSV record (or sheet row), in bytes"),
    ("", "max_columns", "Most columns of a row"),
    ("", "max_xlsx_bytes", "Largest decompressed size of a workbook (.xlsx/.xlsb/.ods), all its parts together"),
    ("", "max_xlsx_ratio", "Largest compression ratio of a workbook part over 1 MiB (a zip bomb is about 1000)"),
    ("", "max_shared_strings", "Most shared strings of a workbook"),
    ("", "max_shared_strings_bytes", "Largest decompressed size of a workbook's shared strings"),
    ("", "max_grid_cells", "Most cells of the grids an .ods workbook is read into"),
    ("", "show_ids", "Show ID numbers in full (they are masked by default: 430524********1234)"),
    ("assess", "file", "The household ledger: .xlsx/.xls, or CSV (UTF-8 with or without BOM, GBK/GB18030, UTF-16; comma or tab); - for standard input (its kind found from its content)"),
    ("assess", "format", "Output format (default: table on a terminal, otherwise by the extension of -o, else CSV; -o NAME without an extension writes NAME.xlsx)"),
    ("assess", "output", "Write to this file (atomically; never over the input) instead of stdout; - for stdout"),
    (
        "assess",
        "summary",
        "Also write the summary by area (the rule file's levels, e.g. county, township, village): households and \
         persons per decision label and the rule file's indicators; a workbook if FILE ends in .xlsx, else CSV",
    ),
    ("assess", "coverage", "Rule coverage: households for which each criterion was true, false, unknown, and each decision rule fired; criteria that never vary and rules that never fire are flagged. --coverage alone: on stderr; with a file name: a CSV"),
    ("assess", "no_bom", "CSV output without the UTF-8 BOM (for tools that dislike it; Excel needs it)"),
    ("assess", "columns", "Which columns a CSV output has: 判定 (decisions: 户编号 and every decision's column), 判定+理由 (the same with 判定理由), 全部 (all, the default), or column names separated by commas, in that order, e.g. 户编号,风险等级,判定理由. Decisions only skip writing the reasons: much faster on a large ledger"),
    ("check", "file", "A ledger holding the household (any file `assess` reads, - for standard input); needs --id"),
    ("check", "id", "The 户编号 of the household to check in FILE"),
    ("check", "set", "A cell of the household, KEY=VALUE (a Chinese header or a field key; repeatable); with FILE, replaces that cell"),
    ("check", "format", "Output format: text (for people) or json (the keys of assess --format jsonl, plus what_if)"),
    ("check", "verbose", "Also show each criterion's condition (CEL) and the condition of the rule behind each decision"),
    ("demo-data", "households", "Number of households"),
    ("demo-data", "seed", "Seed: the same seed gives the same file"),
    ("demo-data", "messy", "Share of rows with one messy cell (a tenth of those invalid), 0 to 1"),
    ("demo-data", "year", "The year whose period the households follow"),
    ("demo-data", "output", "The ledger to write"),
    ("demo-data", "next_quarter", "Also write the next quarter's snapshot of the same households"),
    ("demo-data", "force", "Replace files that exist (without it, an existing file is an error and nothing is written)"),
    ("adjust", "previous", "Last quarter's ledger (- for standard input; at most one of the two)"),
    ("adjust", "current", "This quarter's ledger (- for standard input)"),
    ("adjust", "quarter", "The quarter, e.g. 2024Q3: assessed at its last day (2024-09-30)"),
    ("adjust", "date", "Assessment date, overriding the quarter's last day"),
    ("adjust", "format", "Output kind (default: by -o: a .xlsx file, else a directory of CSVs; no -o: table)"),
    ("adjust", "output", "A directory (CSV) or a .xlsx file"),
    (
        "adjust",
        "summary",
        "Also write this quarter's summary by area: households and persons per decision label and the rule file's \
         indicators; a workbook if FILE ends in .xlsx, else CSV",
    ),
    ("notice", "file", "The household ledger (any file `assess` reads, - for standard input)"),
    ("notice", "start", "First day of posting (YYYY-MM-DD); default the assessment date"),
    ("notice", "output", "A notice file: a .xlsx workbook or a .html page (repeatable)"),
    ("verify", "output", "The assessment output to verify (.xlsx, .csv or .jsonl, written by tuopin assess -o)"),
    ("verify", "inputs", "The input files it was made from: the ledger, then the --with department lists (in the order of the run)"),
    ("compare-rules", "file", "The household ledger (any file `assess` reads, - for standard input)"),
    ("compare-rules", "rules", "A rule set, given twice: first, then second (a built-in name or a TOML file)"),
    ("compare-rules", "output", "Write to this file (.csv or .xlsx); without it, CSV to stdout"),
    ("rules check", "file", "A built-in name or a TOML file; - for standard input (extending built-in sets only)"),
    ("rules show", "file", "A built-in name or a TOML file"),
    ("rules show", "resolved", "Print the merged rule set with the file each item came from"),
    ("rules test", "files", "Case files (TOML; - for standard input, its `rules` relative to the current directory)"),
    ("rules test", "builtin", "Run the cases embedded with the built-in rule sets"),
    ("completions", "shell", "The shell"),
    ("reconcile", "rosters", "Rosters: NAME=FILE, two or more"),
    ("reconcile", "output", "Write to this CSV file (replaced once complete), not to standard output"),
];

/// The English (about, long about) of the command at `path`.
pub fn command(path: &str) -> Option<(&'static str, Option<&'static str>)> {
    COMMANDS.iter().find(|c| c.0 == path).map(|c| (c.1, (!c.2.is_empty()).then_some(c.2)))
}

/// The English help of argument `id` of the command at `path` (its own, else the shared one).
pub fn arg(path: &str, id: &str) -> Option<&'static str> {
    let find = |p: &str| ARGS.iter().find(|a| a.0 == p && a.1 == id).map(|a| a.2);
    find(path).or_else(|| find(""))
}

/// The English of a Chinese value name (`<文件>` → `<FILE>`).
pub fn value_name(zh: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        ("文件", "FILE"),
        ("名单=文件", "LIST=FILE"),
        ("名称=文件", "NAME=FILE"),
        ("规则集", "RULES"),
        ("年份", "YEAR"),
        ("格式", "FORMAT"),
        ("输出", "OUT"),
        ("编码", "ENCODING"),
        ("工作表", "SHEET"),
        ("行号", "N"),
        ("字节数", "BYTES"),
        ("列数", "N"),
        ("列", "COLUMNS"),
        ("倍数", "N"),
        ("条数", "N"),
        ("单元格数", "N"),
        ("户编号", "ID"),
        ("键=值", "KEY=VALUE"),
        ("户数", "N"),
        ("种子", "SEED"),
        ("比例", "SHARE"),
        ("季度", "YYYYQn"),
        ("语言", "LANG"),
        ("终端", "SHELL"),
        ("用例文件", "FILES"),
        ("输入", "INPUT"),
        ("命令", "COMMAND"),
    ];
    NAMES.iter().find(|n| n.0 == zh).map(|n| n.1)
}

//! Reading a department list (`--with 标签=文件`, `[departments.*]`): CSV or workbook, its header
//! row found by the ID column's header, every row's ID normalised (`crate::value::idnum`), into a
//! [`crate::matching::List`]. Rows whose ID is blank, invalid or lost to Excel are counted, and
//! the first of them listed by row; none is dropped silently.

use std::path::Path;

use crate::error::InputError;
use crate::input::source::{self, OpenOptions};
use crate::input::{column_list, header_key, text, RawRow};
use crate::matching::{List, LISTED};
use crate::ruleset::departments::Department;
use crate::ruleset::RuleSet;
use crate::value::idnum::{self, Id};

/// Rows searched for the header (title rows above it are skipped).
const HEADER_ROWS: usize = 30;

/// What `--with` gave: the department list's index and the file.
pub fn resolve(rules: &RuleSet, spec: &str) -> Result<(u16, std::path::PathBuf), String> {
    let Some((name, path)) = spec.split_once('=') else {
        return Err(format!("--with 应写成 名单=文件，如 --with 车辆登记=车辆.xlsx，不是“{spec}”"));
    };
    let name = name.trim();
    match rules.departments.iter().position(|d| d.label == name || d.key == name) {
        Some(d) if !path.trim().is_empty() => Ok((d as u16, path.trim().into())),
        Some(_) => Err(format!("--with {name}= 缺少文件名")),
        None => {
            let m = crate::messages::paren;
            let known: Vec<String> = rules.departments.iter().map(|d| format!("{}{}", d.label, m(&d.key))).collect();
            Err(if known.is_empty() {
                format!("规则集 {} 没有声明比对名单（[departments.*]），不能用 --with", rules.id)
            } else {
                format!("规则集没有名为“{name}”的比对名单：可用 {}", known.join(crate::messages::sep("、")))
            })
        }
    }
}

/// Read department list `d` from `path`; `bar` counts its rows (a hidden bar: nothing shown).
pub fn read(
    rules: &RuleSet,
    d: u16,
    path: &Path,
    options: &OpenOptions,
    bar: &indicatif::ProgressBar,
) -> Result<List, InputError> {
    read_list(&rules.departments[d as usize], d, path, options, bar)
}

/// Read a list declared as `dept` (a rule file's, or a roster of `reconcile`), as list `d`.
pub fn read_list(
    dept: &Department,
    d: u16,
    path: &Path,
    options: &OpenOptions,
    bar: &indicatif::ProgressBar,
) -> Result<List, InputError> {
    let shown = crate::value::shown_path(path);
    let opts = OpenOptions { header_row: None, persons: false, strict: false, ..options.clone() };
    let (mut rows, _kind) = source::open(path, &opts)?;
    let id_keys: Vec<String> =
        std::iter::once(&dept.id_header).chain(&dept.id_aliases).map(|h| header_key(h)).collect();
    let mut raw = RawRow::default();
    let mut header: Option<Vec<String>> = None;
    let mut first_rows = Vec::new();
    for _ in 0..HEADER_ROWS {
        match rows.read_into(path, &mut raw) {
            None => break,
            Some(r) => r?,
        }
        let cells: Vec<String> = raw.record.iter().map(|c| text(c).0.trim().to_string()).collect();
        if cells.iter().any(|c| id_keys.contains(&header_key(c))) {
            header = Some(cells);
            break;
        }
        if first_rows.is_empty() && cells.iter().any(|c| !c.is_empty()) {
            first_rows = cells;
        }
    }
    let Some(columns) = header else {
        return Err(InputError::Header {
            path: shown,
            message: format!(
                "比对名单“{}”找不到证件号码列（{}）；前 {HEADER_ROWS} 行中第一行有内容的为：{}",
                dept.label,
                std::iter::once(&dept.id_header).chain(&dept.id_aliases).cloned().collect::<Vec<_>>().join("、"),
                column_list(&first_rows)
            ),
        });
    };
    let find = |keys: Vec<String>| columns.iter().position(|c| keys.contains(&header_key(c)));
    let id_col = find(id_keys.clone()).expect("the header row has it");
    let carried: Vec<Option<usize>> = dept
        .columns
        .iter()
        .map(|c| find(std::iter::once(&c.header).chain(&c.aliases).map(|h| header_key(h)).collect()))
        .collect();
    let mut list = List::new(dept, d, shown);
    list.stats.missing_columns =
        dept.columns.iter().zip(&carried).filter(|(_, c)| c.is_none()).map(|(c, _)| c.header.clone()).collect();
    let mut cells: Vec<Option<String>> = vec![None; carried.len()];
    while let Some(r) = rows.read_into(path, &mut raw) {
        r?;
        if raw.is_blank() {
            continue;
        }
        list.stats.rows += 1;
        bar.set_position(list.stats.rows);
        let id = raw.record.get(id_col).map(|b| text(b).0.into_owned()).unwrap_or_default();
        match idnum::parse(&id) {
            None => list.stats.blank_id += 1,
            Some(Id::Mangled) => {
                list.stats.mangled += 1;
                if list.stats.mangled_rows.len() < LISTED {
                    list.stats.mangled_rows.push(raw.row);
                }
            }
            Some(Id::Invalid(why)) => {
                list.stats.invalid += 1;
                if list.stats.invalid_rows.len() < LISTED {
                    let shown = crate::privacy::mask_id(&crate::value::cell::clip(id.trim(), 30));
                    list.stats.invalid_rows.push((raw.row, shown, why));
                }
            }
            Some(Id::Valid(key)) => {
                list.stats.valid += 1;
                for (slot, c) in cells.iter_mut().zip(&carried) {
                    *slot = c.and_then(|c| raw.record.get(c)).map(|b| text(b).0.into_owned());
                }
                let refs: smallvec::SmallVec<[Option<&str>; 8]> = cells.iter().map(|c| c.as_deref()).collect();
                list.push(dept, key, raw.row, &refs);
            }
        }
    }
    bar.finish_and_clear();
    list.finish();
    Ok(list)
}

/// What reading a list found, for stderr: rows, records, and the rows that cannot be compared.
pub fn describe(rules: &RuleSet, list: &List) -> String {
    describe_list(&rules.departments[list.dept as usize], list)
}

/// As [`describe`], for a list declared as `dept`.
pub fn describe_list(dept: &Department, list: &List) -> String {
    use std::fmt::Write as _;
    let s = &list.stats;
    let g = crate::value::grouped;
    let mut out =
        format!("比对名单“{}”：{}，读取 {} 行，有效证件号码 {} 行", dept.label, list.path, g(s.rows), g(s.valid));
    if s.blank_id > 0 {
        let _ = write!(out, "，证件号码为空 {} 行", g(s.blank_id));
    }
    out.push('\n');
    if s.mangled > 0 {
        let rows: Vec<String> = s.mangled_rows.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(
            out,
            "警告：{}：{} 行 {}（第 {} 行{}）",
            list.path,
            g(s.mangled),
            idnum::MANGLED,
            rows.join("、"),
            if s.mangled as usize > rows.len() { "……" } else { "" }
        );
    }
    if s.invalid > 0 {
        let _ = writeln!(out, "警告：{}：{} 行证件号码无效，无法比对：", list.path, g(s.invalid));
        for (row, id, why) in &s.invalid_rows {
            let _ = writeln!(out, "  第 {row} 行：{id}：{why}");
        }
        if s.invalid as usize > s.invalid_rows.len() {
            let _ = writeln!(out, "  ……（另 {} 行）", g(s.invalid - s.invalid_rows.len() as u64));
        }
    }
    if !s.missing_columns.is_empty() {
        let _ = writeln!(out, "注意：{}：缺少列 {}（各条记录中按空白处理）", list.path, s.missing_columns.join("、"));
    }
    if s.bad_cells > 0 {
        let _ = writeln!(out, "警告：{}：{} 个单元格无法识别（按空白处理）", list.path, g(s.bad_cells));
    }
    out
}

/// After the run: how many records matched a household, and the rows of those that did not.
pub fn describe_matches(rules: &RuleSet, list: &List) -> String {
    let dept = &rules.departments[list.dept as usize];
    let unmatched = list.unmatched();
    let g = crate::value::grouped;
    let mut out = format!(
        "比对名单“{}”：{} 条记录中 {} 条与台账成员相符，{} 条未找到对应成员",
        dept.label,
        g(list.len() as u64),
        g(list.len() as u64 - unmatched),
        g(unmatched)
    );
    if unmatched > 0 {
        let rows: Vec<String> = list.unmatched_rows(LISTED).iter().map(|r| r.to_string()).collect();
        out.push_str(&format!(
            "（第 {} 行{}）",
            rows.join("、"),
            if unmatched as usize > rows.len() { "……" } else { "" }
        ));
    }
    out.push('\n');
    out
}

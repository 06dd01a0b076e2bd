//! `extends`: a rule file applied on top of the one it builds on, item by item and key by key.
//!
//! A file that extends another names only what it changes. For an item it names (a field,
//! parameter, criterion, decision, flag, check, warning, list, …):
//! - new id: the item is added (after the inherited ones of its section);
//! - inherited id: each key given replaces that key, the others stay; `append = { rules = […] }`
//!   and `prepend = { … }` extend inherited lists (`rules`, `labels`, `factors`, `values`, …);
//!   a parameter's `values` are merged by `from` (a value for a year already there replaces it);
//! - `replace = true`: the item is replaced whole (it keeps its place);
//! - `remove = true`: the inherited item is removed.
//!
//! The merge works on the TOML tables; each item it touches is checked against its schema at
//! once, so an error names the file and the line of the item that caused it. Every item
//! remembers the files that made it (`rules show --resolved`).

use toml::{Table, Value};

use super::file;
use crate::error::RuleError;

/// A rule set merged along its `extends` chain, not yet compiled.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub table: Table,
    /// The files, the one loaded first and each it extends after it.
    pub chain: Vec<String>,
    /// Where each item was written.
    pub at: Locator,
}

/// Where the items of a merged rule set were written, to point an error at a file and line.
#[derive(Debug, Clone, Default)]
pub struct Locator {
    /// (section, id) → the files that defined or changed the item, in order.
    pub made_by: Vec<((String, String), Vec<String>)>,
    /// Each file's text.
    pub texts: Vec<(String, String)>,
}

impl Locator {
    /// The files that made an item.
    pub fn made_by(&self, section: &str, id: &str) -> &[String] {
        self.made_by.iter().find(|((s, i), _)| s == section && i == id).map(|(_, f)| f.as_slice()).unwrap_or(&[])
    }

    /// `file 第 N 行`: where item `[section.id]` was last changed.
    pub fn place(&self, section: &str, id: &str) -> Option<String> {
        let file = self.made_by(section, id).last()?;
        let text = &self.texts.iter().find(|(f, _)| f == file)?.1;
        Some(match item_line(text, section, id) {
            Some(line) => format!("{file} 第 {line} 行"),
            None => file.clone(),
        })
    }
}

impl Merged {
    /// A file that extends nothing: every item is its own.
    pub fn root(table: Table, file: String, text: &str) -> Merged {
        let mut made_by = Vec::new();
        for (section, items) in &table {
            if let (false, Value::Table(items)) = (section == "ruleset", items) {
                for id in items.keys() {
                    made_by.push(((section.clone(), id.clone()), vec![file.clone()]));
                }
            }
        }
        let texts = vec![(file.clone(), text.to_string())];
        Merged { table, chain: vec![file], at: Locator { made_by, texts } }
    }

    /// The files that made an item.
    pub fn made_by(&self, section: &str, id: &str) -> &[String] {
        self.at.made_by(section, id)
    }

    fn made_by_mut(&mut self, section: &str, id: &str) -> &mut Vec<String> {
        let made_by = &mut self.at.made_by;
        let k = match made_by.iter().position(|((s, i), _)| s == section && i == id) {
            Some(k) => k,
            None => {
                made_by.push(((section.to_string(), id.to_string()), Vec::new()));
                made_by.len() - 1
            }
        };
        &mut made_by[k].1
    }

    /// Apply `child` (the text of file `name`) on top.
    pub fn apply(mut self, child: Table, name: &str, text: &str) -> Result<Merged, RuleError> {
        let err = |section: &str, id: &str, message: String| RuleError::Parse {
            file: name.to_string(),
            message: match item_line(text, section, id) {
                Some(line) => format!("第 {line} 行 [{section}.{id}]：{message}"),
                None => format!("[{section}.{id}]：{message}"),
            },
        };
        self.chain.insert(0, name.to_string());
        self.at.texts.push((name.to_string(), text.to_string()));
        // `replace_lists = true`: the file declares every list itself.
        let replace_lists = child.get("ruleset").and_then(|r| r.get("replace_lists")) == Some(&Value::Boolean(true));
        if replace_lists {
            self.table.remove("lists");
            self.at.made_by.retain(|((s, _), _)| s != "lists");
        }
        for (section, value) in child {
            if section == "ruleset" {
                self.table.insert(section, value);
                continue;
            }
            let Value::Table(items) = value else {
                return Err(RuleError::Parse {
                    file: name.into(), message: format!("[{section}] 应为一组条目（表）")
                });
            };
            for (id, item) in items {
                let Value::Table(item) = item else {
                    // A section of plain values (`[terms]`): a key replaces the inherited one.
                    match self.table.entry(section.clone()).or_insert_with(|| Value::Table(Table::new())) {
                        Value::Table(t) => t.insert(id, item),
                        _ => return Err(err(&section, &id, "所扩展的规则集中这一节不是表".into())),
                    };
                    continue;
                };
                self.apply_item(&section, &id, item, name).map_err(|m| err(&section, &id, m))?;
            }
        }
        Ok(self)
    }

    /// Apply item `id` of `section` of file `name` on top: removed, replaced, added, or merged
    /// key by key (with `append` / `prepend` to its lists); `Err` is a message about the item.
    fn apply_item(&mut self, section: &str, id: &str, mut item: Table, name: &str) -> Result<(), String> {
        let remove = take_flag(&mut item, "remove")?;
        let replace = take_flag(&mut item, "replace")?;
        let append = take_table(&mut item, "append")?;
        let prepend = take_table(&mut item, "prepend")?;
        let target = match self.table.entry(section.to_string()).or_insert_with(|| Value::Table(Table::new())) {
            Value::Table(t) => t,
            _ => return Err("所扩展的规则集中这一节不是表".into()),
        };
        if remove {
            if !item.is_empty() || append.is_some() || prepend.is_some() {
                return Err("remove = true 时不能再给其他键".into());
            }
            if target.remove(id).is_none() {
                return Err("要删除的条目在所扩展的规则集中不存在".into());
            }
            self.at.made_by.retain(|((s, i), _)| !(s == section && i == id));
            return Ok(());
        }
        let (merged, changed) = match target.get_mut(id) {
            Some(Value::Table(old)) if !replace => {
                merge_keys(old, item, section)?;
                for (list, front) in [(append, false), (prepend, true)] {
                    for (key, more) in list.into_iter().flatten() {
                        extend_list(old, &key, more, front)?;
                    }
                }
                (old.clone(), true)
            }
            _ => {
                if append.is_some() || prepend.is_some() {
                    return Err("append / prepend 只能用于所扩展的规则集中已有的条目".into());
                }
                target.insert(id.to_string(), Value::Table(item.clone()));
                (item, false)
            }
        };
        let made = self.made_by_mut(section, id);
        if !changed {
            made.clear();
        }
        made.push(name.to_string());
        check_item(section, merged)
    }
}

/// The merge directives are booleans.
fn take_flag(item: &mut Table, key: &str) -> Result<bool, String> {
    match item.remove(key) {
        None => Ok(false),
        Some(Value::Boolean(b)) => Ok(b),
        Some(v) => Err(format!("{key} 应为 true 或 false，不是 {v}")),
    }
}

fn take_table(item: &mut Table, key: &str) -> Result<Option<Table>, String> {
    match item.remove(key) {
        None => Ok(None),
        Some(Value::Table(t)) => Ok(Some(t)),
        Some(v) => Err(format!("{key} 应为表，如 {key} = {{ rules = [ … ] }}，不是 {v}")),
    }
}

/// Each key of `item` replaces the inherited one; a parameter's `values` merge by `from`.
fn merge_keys(old: &mut Table, item: Table, section: &str) -> Result<(), String> {
    for (key, value) in item {
        match (section, key.as_str(), old.get_mut(&key), value) {
            ("parameters", "values", Some(Value::Array(values)), Value::Array(new)) => {
                for v in new {
                    let from = v.get("from").cloned();
                    values.retain(|old| old.get("from") != from.as_ref());
                    values.push(v);
                }
            }
            (_, _, _, value) => {
                old.insert(key, value);
            }
        }
    }
    Ok(())
}

fn extend_list(old: &mut Table, key: &str, more: Value, front: bool) -> Result<(), String> {
    let Value::Array(more) = more else { return Err(format!("append / prepend 的 {key} 应为列表")) };
    match old.get_mut(key) {
        Some(Value::Array(list)) => {
            if front {
                list.splice(0..0, more);
            } else {
                list.extend(more);
            }
            Ok(())
        }
        Some(_) => Err(format!("{key} 不是列表，不能 append / prepend")),
        None => {
            old.insert(key.to_string(), Value::Array(more));
            Ok(())
        }
    }
}

/// An item as merged must still be a whole item of its section (unknown keys rejected).
fn check_item(section: &str, item: Table) -> Result<(), String> {
    fn is<T: serde::de::DeserializeOwned>(item: Table) -> Result<(), String> {
        item.try_into::<T>().map(|_| ()).map_err(|e| in_chinese(e.to_string().trim()))
    }
    match section {
        "fields" | "persons" => is::<file::FieldDef>(item),
        "parameters" => is::<file::ParamDef>(item),
        "criteria" => is::<file::CriterionDef>(item),
        "decisions" => is::<file::DecisionDef>(item),
        "checks" => is::<file::CheckDef>(item),
        "warnings" => is::<file::WarningDef>(item),
        "periods" => is::<file::PeriodDef>(item),
        "lists" => is::<file::ListDef>(item),
        "indicators" => is::<file::IndicatorDef>(item),
        "area_data" => is::<file::AreaDataDef>(item),
        "departments" => is::<file::DepartmentDef>(item),
        // Other sections are checked when the whole rule set is read.
        _ => Ok(()),
    }
}

/// The phrases of the TOML parser's and serde's messages, in English and Chinese.
const TOML_PHRASES: &[(&str, &str)] = &[
    ("string values must be quoted", "文字取值须加引号（如 \"是\"）"),
    ("carriage return must be followed by newline", "回车符后须有换行符"),
    ("`_` may only go between digits", "`_` 只能写在数字之间"),
    ("unquoted keys cannot be empty", "不带引号的键不能为空"),
    ("keys cannot be multi-line basic strings", "键不能是多行字符串"),
    ("keys cannot be multi-line literal strings", "键不能是多行字符串"),
    ("integers with a radix cannot be signed", "带进制前缀的整数不能带正负号"),
    ("radix must be lowercase", "进制前缀须小写"),
    ("cannot extend value of type", "不能用点号键扩展类型为"),
    ("with a dotted key", "的值"),
    ("inline table", "内联表"),
    ("array", "数组"),
    ("unexpected content between comment and newline", "注释与换行之间有多余的内容"),
    ("missing comma between array elements", "数组元素之间缺少逗号"),
    ("missing key for inline table element", "内联表的元素缺少键"),
    ("invalid inline table element", "无效的内联表元素"),
    ("missing inline table opening", "缺少内联表的开头 {"),
    ("extra comma in inline table", "内联表中多了逗号"),
    ("unclosed inline table", "内联表没有闭合"),
    ("unclosed array table", "数组表（[[…]]）没有闭合"),
    ("missing array opening", "缺少数组的开头 ["),
    ("unexpected key or value", "多余的键或值"),
    ("unexpected `=` in array", "数组中不应有 `=`"),
    ("missing value for key", "键缺少值"),
    ("extra comma in array", "数组中多了逗号"),
    ("missing table open", "缺少表头的开头 ["),
    ("unexpected content", "多余的内容"),
    ("key with no value", "键没有值"),
    ("unclosed table", "表头（[…]）没有闭合"),
    ("unclosed array", "数组没有闭合"),
    ("invalid table", "无效的表头"),
    ("invalid key", "无效的键"),
    ("missing value", "缺少值"),
    ("extra `=`", "多了 `=`"),
    ("duplicate key", "重复的键"),
    ("invalid type: ", "类型不对："),
    ("invalid value: ", "取值无效："),
    ("invalid length", "长度不对"),
    ("invalid string", "无效的字符串"),
    ("invalid escape sequence", "无效的转义序列"),
    ("invalid unicode escape", "无效的 Unicode 转义"),
    ("invalid integer", "无效的整数"),
    ("invalid float", "无效的小数"),
    ("invalid date", "无效的日期"),
    ("literal string", "单引号字符串"),
    ("basic string", "字符串"),
    ("unquoted string", "不带引号的文字"),
    ("value separator", "值之间的逗号"),
    ("key separator", "键之间的点"),
    ("whitespace", "空白"),
    ("newline", "换行"),
    ("comment", "注释"),
    ("array open", "["),
    ("array close", "]"),
    ("a sequence", "列表"),
    ("sequence", "列表"),
    ("a string", "文本"),
    ("string", "文本"),
    ("a boolean", "true 或 false"),
    ("boolean", "true 或 false"),
    ("an integer", "整数"),
    ("integer", "整数"),
    ("a map", "表"),
    ("map", "表"),
    ("floating point", "小数"),
    ("float", "小数"),
    ("i64", "整数"),
    (", expected ", "，应为 "),
    ("expected ", "应为 "),
    (" or ", " 或 "),
];

/// The TOML parser's and serde's other messages (`key with no value, expected \`=\``), phrase by
/// phrase in Chinese; names in backquotes are kept.
fn toml_words(head: &str) -> String {
    // Replace outside backquotes only, longest phrase first.
    let mut phrases: Vec<&(&str, &str)> = TOML_PHRASES.iter().collect();
    phrases.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    let mut out = String::new();
    for (i, part) in head.split('`').enumerate() {
        if i % 2 == 1 {
            out.push('`');
            out.push_str(part);
            out.push('`');
            continue;
        }
        let mut p = part.to_string();
        for (en, zh) in &phrases {
            p = p.replace(en, zh);
        }
        out.push_str(&p);
    }
    out
}

/// serde's messages about a rule file's keys, in Chinese (others are kept as they are):
/// `unknown field \`conditon\`, expected one of \`label\`, …` → `未知的键 \`conditon\`（可用：label、…）；是否应为 \`condition\`？`.
pub fn in_chinese(message: &str) -> String {
    // With --lang en, the parser's own English.
    if crate::messages::english() {
        return message.to_string();
    }
    let quoted = |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(String::from).collect() };
    let (head, rest) = message.split_once('\n').map_or((message, ""), |(h, r)| (h, r));
    let said = if let Some(tail) = head.strip_prefix("unknown field ") {
        let names = quoted(tail);
        match names.split_first() {
            Some((bad, known)) => {
                format!("未知的键 `{bad}`（可用的键：{}）{}", known.join("、"), super::expr::did_you_mean(bad, known))
            }
            None => head.to_string(),
        }
    } else if let Some(tail) = head.strip_prefix("unknown variant ") {
        let names = quoted(tail);
        match names.split_first() {
            Some((bad, known)) => format!("未知的取值 `{bad}`（可用：{}）", known.join("、")),
            None => head.to_string(),
        }
    } else if let Some(tail) = head.strip_prefix("missing field ") {
        format!("缺少必需的键 {tail}")
    } else {
        toml_words(head)
    };
    if rest.is_empty() {
        said
    } else {
        format!("{said}\n{rest}")
    }
}

/// The line (1-based) of `[section.id]` in a file's text, when it is written as a table header.
pub fn item_line(text: &str, section: &str, id: &str) -> Option<usize> {
    let plain = format!("[{section}.{id}]");
    let quoted = format!("[{section}.\"{id}\"]");
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(&plain) || l.starts_with(&quoted)
        })
        .map(|k| k + 1)
}

/// The merged rule set as TOML, each item preceded by the files that made it.
pub fn show(m: &Merged) -> String {
    let mut out = crate::messages::fill_key("# 合并后的规则集：{}\n", &[&m.chain.join(" ← ")]);
    for (section, value) in &m.table {
        let mut one = Table::new();
        match value {
            Value::Table(items) if section != "ruleset" => {
                for (id, item) in items {
                    let made = m.made_by(section, id);
                    out.push_str(&crate::messages::fill_key("\n# 来自：{}\n", &[&made.join(" + ")]));
                    let mut inner = Table::new();
                    inner.insert(id.clone(), item.clone());
                    let mut outer = Table::new();
                    outer.insert(section.clone(), Value::Table(inner));
                    out.push_str(&toml::to_string(&outer).unwrap_or_default());
                }
            }
            _ => {
                one.insert(section.clone(), value.clone());
                out.push('\n');
                out.push_str(&toml::to_string(&one).unwrap_or_default());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    const BASE: &str = r#"
[ruleset]
id = "base"
name = "基"

[criteria.a]
label = "甲"
condition = "x > 1"
source = "s"

[criteria.b]
label = "乙"
condition = "x > 2"
source = "s"

[parameters.line]
label = "线"
type = "money"
values = [{ from = 2020, value = "1", source = "s" }, { from = 2021, value = "2", source = "s" }]
"#;

    fn merged(child: &str) -> Result<Merged, RuleError> {
        Merged::root(parse(BASE), "base".into(), BASE).apply(parse(child), "child.toml", child)
    }

    #[test]
    fn a_key_replaces_only_that_key_and_lists_can_grow() {
        let m = merged("[ruleset]\nid = \"c\"\nname = \"c\"\n[criteria.a]\nlabel = \"甲（改）\"\n").unwrap();
        let a = &m.table["criteria"]["a"];
        assert_eq!(a["label"].as_str(), Some("甲（改）"));
        assert_eq!(a["condition"].as_str(), Some("x > 1"), "the other keys stay");
        assert_eq!(m.made_by("criteria", "a"), ["base", "child.toml"]);
        assert_eq!(m.made_by("criteria", "b"), ["base"]);
        let m = merged("[parameters.line]\nvalues = [{ from = 2021, value = \"3\", source = \"t\" }, { from = 2022, value = \"4\", source = \"t\" }]\n")
            .unwrap();
        let values: Vec<&str> = m.table["parameters"]["line"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["1", "3", "4"], "merged by from: 2021 replaced, 2022 added");
    }

    #[test]
    fn replace_remove_append() {
        let m = merged("[criteria.a]\nreplace = true\nlabel = \"新\"\nmet = \"x > 5\"\nsource = \"t\"\n").unwrap();
        assert!(m.table["criteria"]["a"].get("condition").is_none(), "replaced whole");
        let order: Vec<&String> = m.table["criteria"].as_table().unwrap().keys().collect();
        assert_eq!(order, ["a", "b"], "it keeps its place");
        let m = merged("[criteria.b]\nremove = true\n").unwrap();
        assert!(m.table["criteria"].get("b").is_none());
        let e = merged("[criteria.zz]\nremove = true\n").unwrap_err().to_string();
        assert!(e.contains("第 1 行 [criteria.zz]") && e.contains("不存在"), "{e}");
        let m =
            merged("[parameters.line.append]\nvalues = [{ from = 2030, value = \"9\", source = \"t\" }]\n").unwrap();
        assert_eq!(m.table["parameters"]["line"]["values"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_merged_item_is_checked_and_the_error_names_file_and_line() {
        let e =
            merged("[ruleset]\nid = \"c\"\nname = \"c\"\n\n[criteria.a]\nlabell = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("child.toml") && e.contains("第 5 行 [criteria.a]") && e.contains("labell"), "{e}");
        let e = merged("[criteria.new]\nlabel = \"新\"\n").unwrap_err().to_string();
        assert!(e.contains("[criteria.new]") && e.contains("source"), "a new item must be whole: {e}");
    }
}

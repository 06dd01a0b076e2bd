//! Where the decisions go in the outputs: CSV/XLSX columns and JSON Lines keys, built once from
//! what each decision (and the flag) declares (`column`, `width`, `json`, `factors_column`,
//! `factors_json`, `with`), and checked while loading: no two columns with one header, no two
//! values at one JSON key.
//!
//! Order: each decision in rule-file order, then its factors, then the decisions shown `with` it,
//! then the flag when it is shown with it; a flag shown with no decision comes last. JSON objects
//! (keys written `object.key`) are built in the order their first key appears.

use super::file::{DecisionDef, FlagDef};
use super::Decision;

/// The columns before the decisions' (CSV, XLSX), with their XLSX widths.
pub const LEADING_COLUMNS: [(&str, f64); 8] = [
    ("行号", 6.0),
    ("户编号", 16.0),
    ("县(市、区、旗)", 14.0),
    ("乡(镇)", 10.0),
    ("行政村", 10.0),
    ("户主姓名", 10.0),
    ("户主证件号码", 20.0),
    ("户类型", 10.0),
];

/// The columns after the decisions', with their XLSX widths.
pub const TRAILING_COLUMNS: [(&str, f64); 3] = [("判定理由", 80.0), ("数据问题", 40.0), ("数据核查", 40.0)];

/// JSON Lines keys around the decisions'.
pub const LEADING_KEYS: [&str; 8] =
    ["row", "household_id", "county", "township", "village", "head_name", "head_id", "household_type"];
pub const TRAILING_KEYS: [&str; 3] = ["reasons", "problems", "checks"];

/// XLSX width of a column that declares none.
pub const DEFAULT_WIDTH: f64 = 12.0;

/// One value of a household's result, as a column or a JSON value shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A decision's label (JSON: a string, `null` when the label is empty).
    Label(u16),
    /// The factors of a decision that are true (CSV: their labels joined by `、`; JSON: their ids).
    Factors(u16),
    /// The flag (CSV: 是/否/待核实; JSON: true/false/null).
    Flag,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub header: String,
    pub width: f64,
    pub item: Item,
}

/// A JSON key: a value, or an object of keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Leaf(String, Item),
    Object(String, Vec<Json>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    /// The decisions' columns, between [`LEADING_COLUMNS`] and [`TRAILING_COLUMNS`].
    pub columns: Vec<Column>,
    /// The decisions' keys, between [`LEADING_KEYS`] and [`TRAILING_KEYS`].
    pub json: Vec<Json>,
}

struct Entry<'a> {
    column: Option<(&'a str, f64)>,
    json: Option<String>,
    item: Item,
    /// Who declared it, for messages.
    who: String,
}

/// The layout of a rule set's decisions; `Err` is a message in Chinese naming what clashes.
pub fn build(decisions: &[Decision], defs: &[(String, DecisionDef)], flag: Option<&FlagDef>) -> Result<Layout, String> {
    let entries = entries(decisions, defs, flag);
    let mut layout = Layout::default();
    add_columns(&mut layout, &entries)?;
    add_json(&mut layout, &entries)?;
    Ok(layout)
}

/// What each decision and the flag contribute, in output order: a decision, the decisions shown
/// with it (`with`), the flag where it goes with a decision; a flag on its own last.
fn entries<'a>(decisions: &[Decision], defs: &'a [(String, DecisionDef)], flag: Option<&'a FlagDef>) -> Vec<Entry<'a>> {
    let mut entries: Vec<Entry> = Vec::new();
    let flag_with = flag.and_then(|f| f.with.as_deref());
    for (i, d) in decisions.iter().enumerate() {
        if d.with.is_some() {
            continue;
        }
        push_decision(&mut entries, defs, i);
        for (j, a) in decisions.iter().enumerate() {
            if a.with == Some(i as u16) {
                push_decision(&mut entries, defs, j);
            }
        }
        if flag_with == Some(d.id.as_str()) {
            entries.push(flag_entry(flag.expect("a flag")));
        }
    }
    if let Some(f) = flag.filter(|f| f.with.is_none()) {
        entries.push(flag_entry(f));
    }
    entries
}

/// The table and CSV columns of `entries`, each header unique and each width in range.
fn add_columns(layout: &mut Layout, entries: &[Entry]) -> Result<(), String> {
    let mut headers: Vec<(&str, String)> =
        LEADING_COLUMNS.iter().chain(&TRAILING_COLUMNS).map(|(h, _)| (*h, "固定列".to_string())).collect();
    for e in entries {
        if let Some((h, width)) = e.column {
            if let Some((_, other)) = headers.iter().find(|(x, _)| *x == h) {
                return Err(format!(
                    "{} 的列名“{h}”与{}重复：每列的列名须不同，请为其中之一另取列名（column）",
                    e.who,
                    spaced(other)
                ));
            }
            if h.trim().is_empty() {
                return Err(format!("{} 的列名为空：请写出列名，或删去 column 使其不成列", e.who));
            }
            if !(1.0..=255.0).contains(&width) {
                return Err(format!("{} 的列宽 {width} 不在 1 到 255 之间", e.who));
            }
            headers.push((h, e.who.clone()));
            layout.columns.push(Column { header: h.to_string(), width, item: e.item });
        }
    }
    Ok(())
}

/// The JSON keys of `entries` (`key` or `object.key`), none clashing with another or a fixed one.
fn add_json(layout: &mut Layout, entries: &[Entry]) -> Result<(), String> {
    let mut owners: Vec<(String, String)> = Vec::new();
    for e in entries {
        let Some(path) = &e.json else { continue };
        let parts: Vec<&str> = path.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!("{} 的 JSON 键“{path}”有空的部分：写作 `key` 或 `object.key`", e.who));
        }
        if LEADING_KEYS.contains(&parts[0]) || TRAILING_KEYS.contains(&parts[0]) {
            return Err(format!(
                "{} 的 JSON 键“{path}”与固定的键“{}”重复：请另取一个（json = \"…\"）",
                e.who, parts[0]
            ));
        }
        let clash = |other: &str| {
            format!(
                "{} 的 JSON 键“{path}”与{}的冲突：同一键只能有一个值，请另取一个（json = \"…\"）",
                e.who,
                spaced(other)
            )
        };
        let mut level = &mut layout.json;
        for (k, part) in parts.iter().enumerate() {
            let last = k + 1 == parts.len();
            let at = level.iter().position(|n| match n {
                Json::Leaf(key, _) | Json::Object(key, _) => key == part,
            });
            let prefix = parts[..=k].join(".");
            match at {
                None if last => {
                    level.push(Json::Leaf(part.to_string(), e.item));
                    owners.push((path.clone(), e.who.clone()));
                }
                None => {
                    level.push(Json::Object(part.to_string(), Vec::new()));
                    let Some(Json::Object(_, next)) = level.last_mut() else { unreachable!() };
                    level = next;
                }
                Some(i) => match &mut level[i] {
                    Json::Object(_, _) if last => {
                        let other = owners.iter().find(|(p, _)| p.starts_with(&format!("{prefix}."))).map(|o| &o.1);
                        return Err(clash(other.map_or("其他键", |s| s.as_str())));
                    }
                    Json::Object(_, next) => level = next,
                    Json::Leaf(..) => {
                        let other = owners.iter().find(|(p, _)| *p == prefix).map(|o| &o.1);
                        return Err(clash(other.map_or("其他键", |s| s.as_str())));
                    }
                },
            }
        }
    }
    Ok(())
}

/// A decision's entries: its label, then its factors when they are shown.
fn push_decision<'a>(entries: &mut Vec<Entry<'a>>, defs: &'a [(String, DecisionDef)], i: usize) {
    let (key, def) = (&defs[i].0, &defs[i].1);
    let width = |w: Option<f64>| w.unwrap_or(DEFAULT_WIDTH);
    let who = format!("决策 `{key}`");
    let json = def.json.clone().unwrap_or_else(|| key.clone());
    let column = def.column.as_deref().map(|h| (h, width(def.width)));
    entries.push(Entry { column, json: Some(json), item: Item::Label(i as u16), who: who.clone() });
    let column = def.factors_column.as_deref().map(|h| (h, width(def.factors_width)));
    if column.is_some() || def.factors_json.is_some() {
        let who = format!("{who} 的因素（factors_column / factors_json）");
        entries.push(Entry { column, json: def.factors_json.clone(), item: Item::Factors(i as u16), who });
    }
}

fn flag_entry(f: &FlagDef) -> Entry<'_> {
    Entry {
        column: f.column.as_deref().map(|h| (h, f.width.unwrap_or(DEFAULT_WIDTH))),
        json: Some(f.json.clone().unwrap_or_else(|| "returned".into())),
        item: Item::Flag,
        who: "标记 `returned`".into(),
    }
}

/// A name for a message, followed by a space when it ends with a code span (`决策 `x` `).
fn spaced(s: &str) -> String {
    if s.ends_with('`') {
        format!("{s} ")
    } else {
        s.to_string()
    }
}

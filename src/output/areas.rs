//! Counts by area — county → township → village, the levels the rule file's `[report]` names and
//! the file has — and the indicators the rule file declares (`[indicators.*]`), in bounded memory:
//! one row of counts per village (at most [`MAX_AREAS`]; the rest are counted together and said so).
//!
//! Households are counted by the part of the run that assesses them ([`Areas::add`]) and the
//! parts merged in input order ([`Areas::merge`]); [`Areas::table`] then lays the counts out with
//! a subtotal per township and county and a total, areas in the order they first appear.

use std::collections::HashMap;

use crate::engine::{self, Assessment};
use crate::household::{Cell, Household, Scalar};
use crate::ruleset::report::{Count, Denominator, Indicator};
use crate::ruleset::Bound;
use crate::value::SCALE;

/// The most villages (distinct areas) counted one by one.
pub const MAX_AREAS: usize = 100_000;

/// The name of an area whose level cell is blank.
const BLANK_AREA: &str = "（未填）";
/// The name under which areas beyond [`MAX_AREAS`] are counted.
const OTHER_AREAS: &str = "（其他地区）";

/// One cell of a summary table.
#[derive(Debug, Clone, PartialEq)]
pub enum SheetCell {
    Text(String),
    Count(u64),
    /// A share (0.1234 = 12.34 %); `None`: it cannot be computed (no denominator).
    Ratio(Option<f64>),
}

impl SheetCell {
    /// As a CSV cell: counts as digits, shares as percentages with two decimals.
    pub fn text(&self) -> String {
        match self {
            SheetCell::Text(s) => s.clone(),
            SheetCell::Count(n) => n.to_string(),
            SheetCell::Ratio(Some(r)) => format!("{:.2}%", r * 100.0),
            SheetCell::Ratio(None) => String::new(),
        }
    }
}

/// The counts of one area (a village, or what the lowest level present is).
#[derive(Debug, Clone)]
struct Leaf {
    /// Its names, one per level of `[report]`.
    path: Vec<String>,
    /// See [`Areas`] for the layout.
    counts: Vec<u64>,
}

/// Counts per area. Each leaf's `counts`: households, persons, households whose persons are
/// unknown, then per counted decision per label the households, then per list of `adjust` the
/// households on it (of either quarter, in the area where its row is), then per indicator numerator,
/// denominator (a condition's) and households for which the numerator is unknown.
#[derive(Debug, Clone, Default)]
pub struct Areas {
    index: HashMap<Box<str>, usize>,
    leaves: Vec<Leaf>,
    width: usize,
    /// Where each counted decision's labels start in `counts`.
    label_at: Vec<usize>,
    /// `adjust`'s lists counted per area (their labels), and where they start in `counts`.
    list_labels: Vec<String>,
    list_at: usize,
    /// Where the indicators start.
    ind_at: usize,
    /// Whether areas beyond [`MAX_AREAS`] were counted together.
    pub overflow: bool,
    show_ids: bool,
    key: String,
}

const HOUSEHOLDS: usize = 0;
const PERSONS: usize = 1;
const PERSONS_UNKNOWN: usize = 2;

impl Areas {
    pub fn new(b: &Bound, show_ids: bool) -> Areas {
        Areas::with_lists(b, show_ids, Vec::new())
    }

    /// As [`Areas::new`], with a column of households per list of `adjust` (`lists`: their labels).
    pub fn with_lists(b: &Bound, show_ids: bool, lists: Vec<String>) -> Areas {
        let rep = &b.rules.report;
        let mut at = 3;
        let label_at = (rep.decisions.iter())
            .map(|&d| {
                let start = at;
                at += b.rules.decisions[d as usize].labels.len();
                start
            })
            .collect();
        let list_at = at;
        let ind_at = at + lists.len();
        let width = ind_at + 3 * rep.indicators.len();
        Areas { width, label_at, list_labels: lists, list_at, ind_at, show_ids, ..Areas::default() }
    }

    /// Count one household.
    pub fn add(&mut self, b: &Bound, hh: &Household, a: &Assessment) {
        let mut key = std::mem::take(&mut self.key);
        self.key_into(&mut key, b, hh);
        self.key = key;
        let leaf = self.leaf();
        let mut counts = std::mem::take(&mut self.leaves[leaf].counts);
        self.count_into(&mut counts, b, hh, a);
        self.leaves[leaf].counts = counts;
    }

    /// One household's area and counts, to be added later by [`Areas::add_counted`] (where the
    /// household is counted on one thread and added on another).
    pub fn counted(&self, b: &Bound, hh: &Household, a: &Assessment) -> (String, Vec<u64>) {
        let mut key = String::new();
        self.key_into(&mut key, b, hh);
        let mut counts = vec![0; self.width];
        self.count_into(&mut counts, b, hh, a);
        (key, counts)
    }

    /// Add what [`Areas::counted`] gave.
    pub fn add_counted(&mut self, (key, counts): &(String, Vec<u64>)) {
        self.key.clone_from(key);
        let i = self.leaf();
        for (m, t) in self.leaves[i].counts.iter_mut().zip(counts) {
            *m += t;
        }
    }

    /// The household's area, as [`Areas::add_to_list`] takes it.
    pub fn key_of(&self, b: &Bound, hh: &Household) -> String {
        let mut key = String::new();
        self.key_into(&mut key, b, hh);
        key
    }

    /// A row on list `list` of a household of area `key` ([`Areas::key_of`]).
    pub fn add_to_list(&mut self, key: &str, list: usize) {
        self.key.clear();
        self.key.push_str(key);
        let i = self.leaf();
        self.leaves[i].counts[self.list_at + list] += 1;
    }

    /// The household's area: its names at each level, joined by U+001F.
    fn key_into(&self, key: &mut String, b: &Bound, hh: &Household) {
        key.clear();
        for (k, &f) in b.rules.report.levels.iter().enumerate() {
            if k > 0 {
                key.push('\u{1f}');
            }
            let field = &b.rules.fields[f as usize].key;
            match crate::output::shown_field(b.rules, hh, field, self.show_ids) {
                Some(t) if !t.trim().is_empty() => {
                    let t = if self.show_ids { t.trim().into() } else { crate::privacy::mask_text(t.trim()) };
                    key.extend(t.chars().map(|c| if c == '\u{1f}' { ' ' } else { c }));
                }
                _ => key.push_str(BLANK_AREA),
            }
        }
    }

    /// Add one household to `counts` (laid out as a leaf's).
    fn count_into(&self, counts: &mut [u64], b: &Bound, hh: &Household, a: &Assessment) {
        let rep = &b.rules.report;
        let persons = rep.persons.and_then(|f| int_of(&hh.cells[f as usize]));
        counts[HOUSEHOLDS] += 1;
        match persons {
            Some(n) => counts[PERSONS] += n,
            None if rep.persons.is_some() => counts[PERSONS_UNKNOWN] += 1,
            None => {}
        }
        for (k, &d) in rep.decisions.iter().enumerate() {
            counts[self.label_at[k] + a.decisions[d as usize] as usize] += 1;
        }
        for (k, ind) in rep.indicators.iter().enumerate() {
            let unit = match (ind.count, persons) {
                (Count::Households, _) => 1,
                (Count::Persons, Some(n)) => n,
                (Count::Persons, None) => continue,
            };
            let at = self.ind_at + 3 * k;
            let within = match &ind.denominator {
                Denominator::When(_, _, c) => engine::holds(b, hh, a, c),
                Denominator::Data(_) => Some(true),
            };
            if within != Some(true) {
                continue;
            }
            counts[at + 1] += unit;
            match engine::holds(b, hh, a, &ind.numerator_cond) {
                Some(true) => counts[at] += unit,
                Some(false) => {}
                None => counts[at + 2] += 1,
            }
        }
    }

    /// The leaf of the area in `self.key`, added if new (beyond [`MAX_AREAS`]: the one of the
    /// areas counted together).
    fn leaf(&mut self) -> usize {
        if let Some(&i) = self.index.get(self.key.as_str()) {
            return i;
        }
        if self.leaves.len() >= MAX_AREAS {
            self.overflow = true;
            let levels = self.key.split('\u{1f}').count();
            self.key = vec![OTHER_AREAS; levels].join("\u{1f}");
            if let Some(&i) = self.index.get(self.key.as_str()) {
                return i;
            }
        }
        let path = self.key.split('\u{1f}').map(String::from).collect();
        self.leaves.push(Leaf { path, counts: vec![0; self.width] });
        self.index.insert(self.key.as_str().into(), self.leaves.len() - 1);
        self.leaves.len() - 1
    }

    /// Add the counts of a later part of the same run (areas keep the order they first appear).
    pub fn merge(&mut self, other: &Areas) {
        self.overflow |= other.overflow;
        for l in &other.leaves {
            self.key = l.path.join("\u{1f}");
            let i = self.leaf();
            for (m, t) in self.leaves[i].counts.iter_mut().zip(&l.counts) {
                *m += t;
            }
        }
    }
}

/// An int cell's value, when known (a blank with a rule-file value counts).
fn int_of(c: &Cell) -> Option<u64> {
    match c {
        Cell::Value(Scalar::Num(n)) | Cell::BlankAs(Scalar::Num(n)) | Cell::AbsentAs(Scalar::Num(n)) => {
            u64::try_from(n.0 / SCALE).ok()
        }
        _ => None,
    }
}

/// The summary by area as a table: its header, and rows of villages, subtotals and the total.
#[derive(Debug, Clone)]
pub struct AreaTable {
    pub headers: Vec<String>,
    pub rows: Vec<AreaRow>,
    /// The levels shown (field labels), highest first.
    pub levels: Vec<String>,
    /// The indicators computed (those in force on the date), by index into the rule set's.
    pub indicators: Vec<usize>,
    /// Per indicator computed, the total row's numerator, denominator and unknown numerators.
    pub totals: Vec<(u64, Option<u64>, u64)>,
    /// Where the label counts start in a row's cells, per counted decision.
    pub label_columns: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct AreaRow {
    /// How many levels its names fill: the number of levels for a village, 0 for the total.
    pub depth: usize,
    pub cells: Vec<SheetCell>,
}

impl Areas {
    /// The table, with the levels that have a name somewhere (a level whose column the file
    /// lacks or leaves blank everywhere is left out) and the indicators in force on the date.
    pub fn table(&self, b: &Bound) -> AreaTable {
        let rep = &b.rules.report;
        let shown: Vec<usize> =
            (0..rep.levels.len()).filter(|&k| self.leaves.iter().any(|l| l.path[k] != BLANK_AREA)).collect();
        let levels: Vec<String> = shown.iter().map(|&k| b.rules.fields[rep.levels[k] as usize].label.clone()).collect();
        let indicators: Vec<usize> =
            (0..rep.indicators.len()).filter(|&k| rep.indicators[k].applies(b.as_of)).collect();
        let paths: Vec<Vec<&str>> =
            self.leaves.iter().map(|l| shown.iter().map(|&k| l.path[k].as_str()).collect()).collect();
        let (headers, label_columns) = self.headers(b, &levels, &indicators);
        let mut t = AreaTable { headers, rows: Vec::new(), levels, indicators, totals: Vec::new(), label_columns };
        for (depth, path, leaves) in groups(&paths) {
            let row = self.row(b, &t, depth, &path, &leaves, &paths);
            if depth == 0 {
                t.totals = self.indicator_totals(b, &t, &leaves, &paths);
            }
            t.rows.push(row);
        }
        t
    }

    fn headers(&self, b: &Bound, levels: &[String], indicators: &[usize]) -> (Vec<String>, Vec<usize>) {
        let rep = &b.rules.report;
        let mut h = vec!["层级".to_string()];
        h.extend(levels.iter().cloned());
        h.push("户数".to_string());
        if rep.persons.is_some() {
            h.extend(["人数".to_string(), "人数不详（户）".to_string()]);
        }
        let mut label_columns = Vec::new();
        for &d in &rep.decisions {
            let d = &b.rules.decisions[d as usize];
            label_columns.push(h.len());
            h.extend(d.labels.iter().map(|l| format!("{}：{l}", d.label)));
        }
        h.extend(self.list_labels.iter().map(|l| format!("名单：{l}")));
        h.extend(indicators.iter().map(|&k| rep.indicators[k].label.clone()));
        (h, label_columns)
    }

    /// The sum of the counts of `leaves`.
    fn sum(&self, leaves: &[usize]) -> Vec<u64> {
        let mut s = vec![0; self.width];
        for &i in leaves {
            for (m, t) in s.iter_mut().zip(&self.leaves[i].counts) {
                *m += t;
            }
        }
        s
    }

    fn row(
        &self,
        b: &Bound,
        t: &AreaTable,
        depth: usize,
        path: &[&str],
        leaves: &[usize],
        paths: &[Vec<&str>],
    ) -> AreaRow {
        let rep = &b.rules.report;
        let s = self.sum(leaves);
        let level = match depth {
            0 => "合计".to_string(),
            d => t.levels[d - 1].clone(),
        };
        let mut cells = vec![SheetCell::Text(level)];
        cells.extend(
            (0..t.levels.len()).map(|k| SheetCell::Text(path.get(k).map(|s| s.to_string()).unwrap_or_default())),
        );
        cells.push(SheetCell::Count(s[HOUSEHOLDS]));
        if rep.persons.is_some() {
            cells.extend([SheetCell::Count(s[PERSONS]), SheetCell::Count(s[PERSONS_UNKNOWN])]);
        }
        for (k, &d) in rep.decisions.iter().enumerate() {
            let n = b.rules.decisions[d as usize].labels.len();
            cells.extend(s[self.label_at[k]..self.label_at[k] + n].iter().map(|&c| SheetCell::Count(c)));
        }
        cells.extend((0..self.list_labels.len()).map(|i| SheetCell::Count(s[self.list_at + i])));
        for &k in &t.indicators {
            let area = Area { path, leaves, paths };
            let (num, den, _) = self.indicator(b, &rep.indicators[k], k, &s, &area);
            cells.push(SheetCell::Ratio(den.filter(|&d| d > 0).map(|d| num as f64 / d as f64)));
        }
        AreaRow { depth, cells }
    }

    /// An indicator's numerator, denominator (`None`: no figure for the area) and unknown
    /// numerators, from the summed counts `s` of the area at `path` made of `leaves`.
    fn indicator(&self, b: &Bound, ind: &Indicator, k: usize, s: &[u64], area: &Area) -> (u64, Option<u64>, u64) {
        let Area { path, leaves, paths } = *area;
        let at = self.ind_at + 3 * k;
        let den = match ind.denominator {
            Denominator::When(..) => Some(s[at + 1]),
            Denominator::Data(i) => {
                let data = &b.rules.report.data[i as usize];
                // The area's own figure, or the sum of its villages' when each has one.
                let own = if path.is_empty() { None } else { data.value(path) };
                own.or_else(|| leaves.iter().map(|&l| data.value(&paths[l])).sum::<Option<u64>>())
            }
        };
        (s[at], den, s[at + 2])
    }

    fn indicator_totals(
        &self,
        b: &Bound,
        t: &AreaTable,
        leaves: &[usize],
        paths: &[Vec<&str>],
    ) -> Vec<(u64, Option<u64>, u64)> {
        let s = self.sum(leaves);
        let rep = &b.rules.report;
        let area = Area { path: &[], leaves, paths };
        t.indicators.iter().map(|&k| self.indicator(b, &rep.indicators[k], k, &s, &area)).collect()
    }
}

/// An area of the table: its names, its villages, and every village's names.
#[derive(Clone, Copy)]
struct Area<'a> {
    path: &'a [&'a str],
    leaves: &'a [usize],
    paths: &'a [Vec<&'a str>],
}

/// The rows of the table in order: each village (depth = levels), after the last village of a
/// township its subtotal, after a county's its subtotal, and the total (depth 0) last; groups in
/// the order their first village appeared. Each with its path and its villages.
fn groups<'a>(paths: &[Vec<&'a str>]) -> Vec<(usize, Vec<&'a str>, Vec<usize>)> {
    let depth = paths.first().map_or(0, Vec::len);
    // Where each prefix first appears: villages sorted by those, level by level.
    let mut first: HashMap<&[&str], usize> = HashMap::new();
    for (i, p) in paths.iter().enumerate() {
        for d in 1..=depth {
            first.entry(&p[..d]).or_insert(i);
        }
    }
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by_key(|&i| (1..=depth).map(|d| first[&paths[i][..d]]).collect::<Vec<_>>());
    let mut rows = Vec::new();
    // Open groups: (depth, their villages).
    let mut open: Vec<Vec<usize>> = vec![Vec::new(); depth];
    type Rows<'a> = Vec<(usize, Vec<&'a str>, Vec<usize>)>;
    /// Close the open groups deeper than `same` levels, deepest first.
    fn close<'a>(rows: &mut Rows<'a>, open: &mut [Vec<usize>], same: usize, prev: &[&'a str]) {
        for d in (same + 1..open.len()).rev() {
            if !open[d].is_empty() {
                rows.push((d, prev[..d].to_vec(), std::mem::take(&mut open[d])));
            }
        }
    }
    let mut prev: Option<&Vec<&str>> = None;
    for &i in &order {
        let p = &paths[i];
        if let Some(q) = prev {
            let same = (0..depth).take_while(|&d| p[d] == q[d]).count();
            close(&mut rows, &mut open, same, q);
        }
        if depth > 0 {
            rows.push((depth, p.clone(), vec![i]));
        }
        for group in open.iter_mut().skip(1) {
            group.push(i);
        }
        prev = Some(p);
    }
    if let Some(q) = prev {
        close(&mut rows, &mut open, 0, q);
    }
    rows.push((0, Vec::new(), order));
    rows
}

#[cfg(test)]
mod tests {
    use super::{groups, Areas, SheetCell};

    /// Households counted by area, merged from two parts in order; without `[report] persons`
    /// there is no 人数 column.
    #[test]
    fn parts_merge_in_order_and_persons_are_optional() {
        let text = crate::ruleset::embedded("national").unwrap();
        for (with_persons, text) in [
            (true, text.to_string()),
            (
                false,
                text.replace("persons = \"members\"\n", "").replace("count = \"persons\"", "count = \"households\""),
            ),
        ] {
            let rules = crate::ruleset::load_str(&text, "national").unwrap();
            let b = rules.at(crate::value::Date::new(2024, 12, 31).unwrap()).unwrap();
            let household = |village: &str, members: &str| {
                let mut hh = crate::household::Household { row: 2, source_rows: 1, ..Default::default() };
                hh.cells = vec![crate::household::Cell::Blank; rules.fields.len()];
                for (key, v) in [
                    ("household_id", "H"),
                    ("household_type", "脱贫户"),
                    ("township", "镇"),
                    ("village", village),
                    ("members", members),
                ] {
                    rules.set_cell(&mut hh, rules.field_index[key], v, key);
                }
                let a = crate::engine::assess(&b, &hh);
                (hh, a)
            };
            let (mut first, mut second) = (Areas::new(&b, false), Areas::new(&b, false));
            for (k, village, members) in [(0, "乙村", "3"), (1, "甲村", "2"), (1, "乙村", "x")] {
                let (hh, a) = household(village, members);
                let part = if k == 0 { &mut first } else { &mut second };
                part.add(&b, &hh, &a);
            }
            first.merge(&second);
            let t = first.table(&b);
            assert_eq!(t.headers.contains(&"人数".to_string()), with_persons);
            let names: Vec<String> = t.rows.iter().map(|r| r.cells[2].text()).collect();
            assert_eq!(names, ["乙村", "甲村", "", ""], "villages in order of first appearance");
            let total = &t.rows[3].cells;
            assert_eq!(total[3], SheetCell::Count(3));
            if with_persons {
                // 3 + 2 persons; one household's 家庭人口数 unreadable.
                assert_eq!((&total[4], &total[5]), (&SheetCell::Count(5), &SheetCell::Count(1)));
            }
        }
    }

    #[test]
    fn villages_then_subtotals_then_the_total_in_order_of_first_appearance() {
        let paths: Vec<Vec<&str>> =
            vec![vec!["甲县", "青山镇", "石桥村"], vec!["甲县", "白水乡", "河口村"], vec!["甲县", "青山镇", "枫林村"]];
        let got: Vec<(usize, String, Vec<usize>)> =
            groups(&paths).into_iter().map(|(d, p, l)| (d, p.join("/"), l)).collect();
        let want = vec![
            (3, "甲县/青山镇/石桥村".to_string(), vec![0]),
            (3, "甲县/青山镇/枫林村".to_string(), vec![2]),
            (2, "甲县/青山镇".to_string(), vec![0, 2]),
            (3, "甲县/白水乡/河口村".to_string(), vec![1]),
            (2, "甲县/白水乡".to_string(), vec![1]),
            (1, "甲县".to_string(), vec![0, 2, 1]),
            (0, String::new(), vec![0, 2, 1]),
        ];
        assert_eq!(got, want);
        // No level: the total only.
        let none: Vec<Vec<&str>> = vec![vec![], vec![]];
        assert_eq!(groups(&none).len(), 1);
        // One level: each area and the total.
        let one: Vec<Vec<&str>> = vec![vec!["a"], vec!["b"]];
        let got: Vec<usize> = groups(&one).into_iter().map(|r| r.0).collect();
        assert_eq!(got, vec![1, 1, 0]);
    }
}

//! Person exports (人员表): one row per person, grouped into households by `户编号`
//! (data-dictionary.md "Person export", policy.md §6).
//!
//! What is read from a member's row is what the rule file declares: its member fields
//! (`[persons.*]`: headers, aliases, values, blank and absent values, `derive`), a file being a
//! person export when it has the column of a member field with `marker = true`. The household
//! facts a ledger states directly (members, labour, dropouts, insured, ill and disabled members,
//! the head's name and ID number) are household fields computed from the members by the rule
//! file (`from_members`, [`crate::ruleset::RuleSet::from_members`]), in three-valued logic. What
//! stays here is mechanism: which columns are the members', which member field's column is
//! missing for a fact, and each member's ID number (`[matching] member_id`) checked as one (an
//! invalid one is a data problem of the member's row; ages come from it by the rule file's
//! `derive`).
//!
//! Memory: a household's rows are grouped as the file streams by when every household's rows are
//! adjacent; otherwise the whole export is held, grouped, before the first household is assessed
//! (about the file's size in memory; [`crate::input::Ledger`]).

use crate::household::{Cell, Household, Members, Problem};
use crate::input::{text, RawRow};
use crate::ruleset::expr;
use crate::ruleset::{Bound, RuleSet};
use crate::value::cell;

/// Where the members' columns are in a person export.
#[derive(Debug, Clone, Default)]
pub struct PersonColumns {
    /// The columns some member field (`[persons.*]`) reads.
    columns: Vec<usize>,
    /// The column of the members' ID numbers (`[matching] member_id`).
    id: Option<usize>,
}

impl PersonColumns {
    /// The person columns of a header, given where each member field's column is (`at`); `None`
    /// unless a member field marked `marker` has a column (or `forced`).
    pub fn find(rules: &RuleSet, at: &[Option<usize>], forced: bool) -> Option<PersonColumns> {
        let marker = rules.persons.iter().zip(at).any(|(f, c)| f.marker && c.is_some());
        (marker || forced).then(|| PersonColumns {
            columns: at.iter().flatten().copied().collect(),
            id: rules.matching.member_id.and_then(|i| at.get(i as usize).copied().flatten()),
        })
    }
    /// The column of the members' ID numbers.
    pub fn id_column(&self) -> Option<usize> {
        self.id
    }
    pub fn is_person_column(&self, i: usize) -> bool {
        self.columns.contains(&i)
    }
}

/// Per member field: the file has no column for it, it has no `absent` value, and (a derived
/// one) every member field it is derived from is missing too.
fn member_missing(rules: &RuleSet, at: &[Option<usize>]) -> Vec<bool> {
    let mut missing: Vec<bool> =
        rules.persons.iter().zip(at).map(|(f, c)| c.is_none() && f.absent.is_none() && f.derive.is_none()).collect();
    // Derived fields after those they read.
    for &i in &rules.person_derived {
        let i = i as usize;
        let reads = expr::refs(rules.persons[i].derive.as_ref().expect("derived")).fields;
        missing[i] = at[i].is_none() && reads.iter().all(|&j| missing[j as usize]);
    }
    missing
}

/// For each household field computed from the members (`from_members`): `Some(None)` when the
/// file has the member columns it reads, `Some(Some(j))` when it lacks that of member field `j`
/// (for a derived member field, the first one it is derived from); `None` for other fields.
pub fn member_inputs(rules: &RuleSet, at: &[Option<usize>]) -> Vec<Option<Option<u16>>> {
    let missing = member_missing(rules, at);
    // The member column named for missing member field `j`.
    let column = |mut j: u16| loop {
        let Some(d) = &rules.persons[j as usize].derive else { return j };
        match expr::refs(d).fields.into_iter().find(|&k| missing[k as usize]) {
            Some(k) => j = k,
            None => return j,
        }
    };
    let mut out = vec![None; rules.fields.len()];
    for &f in &rules.member_facts {
        let node = rules.fields[f as usize].from_members.as_ref().expect("computed from the members");
        out[f as usize] = Some(expr::refs(node).members.into_iter().find(|&j| missing[j as usize]).map(column));
    }
    out
}

/// The member fields some rule reads with no column in a person export, and none they could be
/// derived from: (member field, its header).
pub fn absent_member_columns(rules: &RuleSet, at: &[Option<usize>]) -> Vec<(u16, String)> {
    let missing = member_missing(rules, at);
    (0..rules.persons.len())
        .filter(|&i| missing[i] && rules.person_used[i] && rules.persons[i].department.is_none())
        .map(|i| (i as u16, rules.persons[i].header.clone()))
        .collect()
}

/// Read the rule set's member fields (`[persons.*]`) from each member's row into `hh.members`,
/// then derive those with a `derive` (a member's age from its ID number at the assessment date).
/// Only the member fields some rule reads are read ([`crate::ruleset::RuleSet::person_used`]).
/// A member's ID number (`[matching] member_id`) that is not one is a problem of its row.
/// A member field the file has no column for is unknown for every member. A cell that cannot be
/// read is a problem, unless one was already reported for that row and column.
pub fn read_members(b: &Bound, hh: &mut Household, members: &[RawRow], at: &[Option<usize>], headers: &[String]) {
    let rs = b.rules;
    let width = rs.persons.len();
    let mut ms = Members { width, cells: Vec::with_capacity(width * members.len()), rows: Vec::new() };
    let id = rs.matching.member_id.map(usize::from);
    for m in members {
        ms.rows.push(m.row);
        if let Some(c) = id.and_then(|i| at[i]) {
            id_problem(hh, m, c, headers);
        }
        for (i, f) in rs.persons.iter().enumerate() {
            // A member field no rule reads is not read (its cell stays blank).
            if !rs.person_used[i] {
                ms.cells.push(Cell::Blank);
                continue;
            }
            let raw = at[i].map(|c| m.record.get(c).map(|bytes| text(bytes).0).unwrap_or_default());
            let cell = match rs.member_cell(i, raw.as_deref()) {
                Ok(cell) => cell,
                Err((cell, message)) => {
                    let column = at[i].and_then(|c| headers.get(c)).cloned().unwrap_or_default();
                    let raw = raw.as_deref().unwrap_or("");
                    let shown = if f.ty == crate::ruleset::file::FieldType::Id {
                        crate::privacy::mask_id(raw)
                    } else {
                        crate::input::clip(raw, 100)
                    };
                    if !hh.problems.iter().any(|p| p.row == m.row && p.column == column) {
                        hh.problems.push(Problem { row: m.row, column, field: None, value: shown, message });
                    }
                    cell
                }
            };
            ms.cells.push(cell);
        }
        let start = ms.cells.len() - width;
        rs.derive_member(b.as_of, &mut ms.cells[start..]);
    }
    hh.members = Some(ms);
}

/// A member's ID number (column `c`) that is not a valid one (GB 11643): a problem of the
/// member's row, the number masked.
fn id_problem(hh: &mut Household, m: &RawRow, c: usize, headers: &[String]) {
    let Some(bytes) = m.record.get(c) else { return };
    let t = text(bytes).0;
    if cell::is_blank(&t) {
        return;
    }
    if let Err(message) = cell::id_number(&cell::normalize(&t)) {
        let value = crate::privacy::mask_id(&cell::normalize(&t));
        hh.problems.push(Problem {
            row: m.row,
            column: headers.get(c).cloned().unwrap_or_default(),
            field: None,
            value,
            message,
        });
    }
}

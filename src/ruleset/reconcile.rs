//! Differences between rosters that need action (`[reconcile.<id>]`, `tuopin reconcile`).
//!
//! A roster is a department list (`[departments.*]`): its label, ID column, carried columns with
//! their types and header aliases are declared once and serve `--with` and `reconcile` alike. A
//! reconcile rule's `when` is CEL over the records each roster has of one person (the lists as
//! record lists, `dibao_roll.exists(r, r.kind.contains('…'))`, `monitoring_roll.size() == 0`)
//! and the parameters in force; it may read nothing else (no ledger field, member or criterion).
//! The rosters a rule involves are those its condition names. A rule is evaluated only when
//! every roster it involves was given: otherwise it is not evaluated and the report says so
//! (three-valued: a roster not given is unknown, not empty).

use std::collections::{BTreeMap, HashMap};

use super::expr::{self, Node, Over, Ty};
use super::file::{RuleFile, Severity};
use super::{at, check_ident, departments::Department, Bound, Builder, Field, Piece, RuleError};
use crate::household::Household;

/// A reconcile rule, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub label: String,
    pub severity: Severity,
    pub when: Node,
    /// The source text of `when`.
    pub text: String,
    pub message: Vec<Piece>,
    pub action: String,
    pub source: String,
    /// The rosters (department lists) `when` reads, in the rule set's order.
    pub rosters: Vec<u16>,
}

/// The department lists a condition reads (in the rule set's order).
pub fn rosters_of(n: &Node, fields: &[Field]) -> Vec<u16> {
    let mut out = Vec::new();
    expr::walk(n, &mut |x| {
        let d = match x {
            Node::Members(_, Over::Records(d, _) | Over::MemberRecords(d, _), _)
            | Node::Agg(_, Over::Records(d, _) | Over::MemberRecords(d, _), ..)
            | Node::Record(d, _)
            | Node::RecordBlank(d, _) => Some(*d),
            Node::Field(f) | Node::Present(f) | Node::Blank(f) => fields[*f as usize].department,
            _ => None,
        };
        if let Some(d) = d {
            out.push(d);
        }
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// Compile `[reconcile.*]`: conditions over the lists' records, their synthetic fields
/// (`dibao_roll_count`) and the parameters only.
pub(super) fn compile(file: &RuleFile, names: Builder, departments: &[Department]) -> Result<Vec<Rule>, RuleError> {
    // Only the lists' own fields are names here: a ledger field is an unknown name.
    let index: HashMap<String, u16> = names
        .field_index
        .iter()
        .filter(|(_, &i)| names.fields[i as usize].department.is_some())
        .map(|(k, &i)| (k.clone(), i))
        .collect();
    let names = Builder { field_index: &index, persons: &[], crits: None, decisions: &[], departments, ..names };
    let no_terms = BTreeMap::new();
    let mut out = Vec::new();
    for (key, def) in &file.reconcile {
        check_ident(key, "名单比对规则")?;
        let what = format!("名单比对规则 `{key}`");
        let err = |message: String| RuleError::Rule { rule: what.clone(), message };
        if def.label.trim().is_empty() || def.action.trim().is_empty() {
            return Err(err("label 和 action 不能为空".into()));
        }
        let when = expr::compile(&def.when, &names, Ty::Bool).map_err(at(what.clone()))?;
        let rosters = rosters_of(&when, names.fields);
        if rosters.is_empty() {
            return Err(err(format!(
                "条件 `{}` 没有读任何名单（[departments.*]）：名单比对规则的条件写在名单的记录上，如 dibao_roll.size() > 0",
                def.when
            )));
        }
        let message = super::message_pieces(&def.message, &HashMap::new(), names.params, &no_terms, &[])
            .map_err(|m| RuleError::Rule { rule: format!("{what} (message)"), message: m })?;
        out.push(Rule {
            id: key.clone(),
            label: def.label.clone(),
            severity: def.severity,
            when,
            text: def.when.clone(),
            message,
            action: def.action.clone(),
            source: def.source.clone(),
            rosters,
        });
    }
    Ok(out)
}

impl Bound<'_> {
    /// Whether reconcile rule `k` holds for one person, `hh` holding that person's records of
    /// every roster given (matched as a ledger row's head: [`crate::matching::Matcher::fill`]).
    pub fn reconcile_holds(&self, k: usize, hh: &Household) -> Option<bool> {
        let cx = super::household_ctx(hh, &self.params, self.as_of);
        expr::eval_bool(&self.rules.reconcile[k].when, &cx)
    }

    /// Reconcile rule `k`'s message, its parameters in force filled in.
    pub fn reconcile_message(&self, k: usize) -> String {
        let mut s = String::new();
        for p in &self.rules.reconcile[k].message {
            match p {
                Piece::Text(t) => s.push_str(t),
                Piece::Param(i) => self.params[*i as usize].write_to(&mut s),
                Piece::Field(_) | Piece::Member(_) => {}
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::{embedded, load_str};

    /// The message of the error loading the national rules with `extra` appended.
    fn error_with(extra: &str) -> String {
        let text = format!("{}\n{extra}", embedded("national").unwrap());
        load_str(&text, "national.toml").map(|_| String::new()).unwrap_or_else(|e| e.to_string())
    }

    const RULE: &str = "[reconcile.x]\nlabel = \"甲\"\nseverity = \"提示\"\nmessage = \"低于 {monitoring_line}\"\naction = \"核实\"\nsource = \"测试\"\n";

    #[test]
    fn reconcile_rules_read_the_lists_and_parameters_only_and_are_type_checked_at_load() {
        let ok =
            format!("{RULE}when = \"dibao_roll.exists(r, r.monthly > monitoring_line) && exited_roll.size() == 0\"\n");
        assert_eq!(error_with(&ok), "");
        let rs = load_str(&format!("{}\n{ok}", embedded("national").unwrap()), "n.toml").unwrap();
        let x = rs.reconcile.iter().find(|r| r.id == "x").unwrap();
        let labels: Vec<&str> = x.rosters.iter().map(|&d| rs.departments[d as usize].label.as_str()).collect();
        assert_eq!(labels, ["低保特困在册", "脱贫户名单"]);
        // A ledger field is not a name here; nor is a criterion.
        let e = error_with(&format!("{RULE}when = \"per_capita_income < monitoring_line && dibao_roll.size() > 0\"\n"));
        assert!(e.contains("名单比对规则 `x`") && e.contains("per_capita_income"), "{e}");
        // Types: a text column compared with money.
        let e = error_with(&format!("{RULE}when = \"dibao_roll.exists(r, r.kind > monitoring_line)\"\n"));
        assert!(e.contains("名单比对规则 `x`"), "{e}");
        // No list read.
        let e = error_with(&format!("{RULE}when = \"monitoring_line > 0\"\n"));
        assert!(e.contains("没有读任何名单"), "{e}");
        // A message naming what is not a parameter.
        let e = error_with(
            &RULE
                .replace("{monitoring_line}", "{per_capita_income}")
                .replace("action", "when = \"exited_roll.size() > 0\"\naction"),
        );
        assert!(e.contains("per_capita_income") && e.contains("message"), "{e}");
    }
}

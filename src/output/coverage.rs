//! Rule coverage of a batch (`assess --coverage`): how often each criterion was true, false and
//! unknown, and how often each decision rule was the one that gave the decision. A criterion that
//! never varies, or is always unknown, and a rule that never fires are flagged: signs of a
//! mis-mapped column or a dead rule.

use crate::engine::Assessment;
use crate::ruleset::RuleSet;

/// Counts over the households of a batch (merged across chunks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub households: u64,
    /// Per criterion: [true, false, unknown].
    pub crits: Vec<[u64; 3]>,
    /// Per decision, per rule: [the households it decided, those where it was the first rule not
    /// false but unknown (the decision is then undecided)]; then per label, those no rule decided.
    pub rules: Vec<Vec<[u64; 2]>>,
    pub rest: Vec<Vec<u64>>,
}

impl Coverage {
    pub fn new(rs: &RuleSet) -> Coverage {
        Coverage {
            households: 0,
            crits: vec![[0; 3]; rs.criteria.len()],
            rules: rs.decisions.iter().map(|d| vec![[0; 2]; d.rules.len()]).collect(),
            rest: rs.decisions.iter().map(|d| vec![0; d.labels.len()]).collect(),
        }
    }

    pub fn add(&mut self, rs: &RuleSet, a: &Assessment) {
        self.households += 1;
        for (c, v) in self.crits.iter_mut().zip(&a.crits) {
            c[match v {
                Some(true) => 0,
                Some(false) => 1,
                None => 2,
            }] += 1;
        }
        for (d, by) in a.decided_by.iter().enumerate() {
            match by {
                Some(k) => {
                    let fired = rs.decisions[d].rules[*k].1 == a.decisions[d];
                    self.rules[d][*k][usize::from(!fired)] += 1;
                }
                None => self.rest[d][a.decisions[d] as usize] += 1,
            }
        }
    }

    pub fn merge(&mut self, o: &Coverage) {
        self.households += o.households;
        for (a, b) in self.crits.iter_mut().zip(&o.crits) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
        for (a, b) in self.rules.iter_mut().zip(&o.rules) {
            for (x, y) in a.iter_mut().zip(b) {
                x[0] += y[0];
                x[1] += y[1];
            }
        }
        for (a, b) in self.rest.iter_mut().zip(&o.rest) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    /// The report's rows: 类别, 项目, 条件, 是/得出, 否, 待核实, 提示.
    pub fn rows(&self, rs: &RuleSet) -> Vec<[String; 7]> {
        let mut rows = Vec::new();
        for (c, n) in rs.criteria.iter().zip(&self.crits) {
            let flag = if self.households == 0 {
                ""
            } else if n[0] == 0 && n[1] == 0 {
                "始终待核实：所需的列可能缺失或对应错了"
            } else if n[0] == 0 || n[1] == 0 {
                "从未变化：列可能对应错了，或该标准不起作用"
            } else {
                ""
            };
            rows.push([
                "标准".into(),
                format!("{}（{}）", c.label, c.id),
                c.text.clone(),
                n[0].to_string(),
                n[1].to_string(),
                n[2].to_string(),
                flag.into(),
            ]);
        }
        for (d, dec) in rs.decisions.iter().enumerate() {
            for (k, (_, label, text)) in dec.rules.iter().enumerate() {
                let [n, unknown] = self.rules[d][k];
                let flag = if n == 0 && self.households > 0 {
                    "从未得出：规则可能失效或被前面的规则挡住"
                } else {
                    ""
                };
                rows.push([
                    format!("判定规则：{}", dec.label),
                    format!("第 {} 条 → {}", k + 1, show(&dec.labels[*label as usize])),
                    text.when.clone(),
                    n.to_string(),
                    String::new(),
                    unknown.to_string(),
                    flag.into(),
                ]);
            }
            for (l, &n) in self.rest[d].iter().enumerate().filter(|(_, &n)| n > 0) {
                rows.push([
                    format!("判定规则：{}", dec.label),
                    format!("无规则得出 → {}", show(&dec.labels[l])),
                    "（otherwise 或 undecided）".into(),
                    n.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
        rows
    }

    /// How many criteria and rules are flagged.
    pub fn flagged(&self, rs: &RuleSet) -> usize {
        self.rows(rs).iter().filter(|r| !r[6].is_empty()).count()
    }
}

fn show(l: &str) -> &str {
    if l.is_empty() {
        "（空）"
    } else {
        l
    }
}

/// The report's headers.
pub const HEADERS: [&str; 7] = ["类别", "项目", "条件", "是（或得出）", "否", "待核实（或因此待核实）", "提示"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_and_flags() {
        let rs = crate::ruleset::load("national").unwrap();
        let mut a = Coverage::new(&rs);
        let mut b = Coverage::new(&rs);
        assert_eq!(a.flagged(&rs), 0, "no household: nothing flagged");
        let x = Assessment {
            crits: vec![Some(true); rs.criteria.len()],
            decisions: rs.decisions.iter().map(|d| d.rules.first().map(|r| r.1).unwrap_or(d.otherwise)).collect(),
            decided_by: rs.decisions.iter().map(|d| (!d.rules.is_empty()).then_some(0)).collect(),
            returned: None,
            checks: Vec::new(),
        };
        a.add(&rs, &x);
        b.add(&rs, &x);
        a.merge(&b);
        assert_eq!(a.households, 2);
        assert!(a.crits.iter().all(|c| *c == [2, 0, 0]));
        assert_eq!(a.rules[0][0], [2, 0]);
        // Every criterion is always true: each is flagged, as is every rule but the first.
        let rows = a.rows(&rs);
        assert!(rows.iter().filter(|r| r[0] == "标准").all(|r| r[6].contains("从未变化")));
    }
}

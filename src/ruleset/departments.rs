//! Department lists (`[departments.<key>]`, 精准比对): what each list is called, where its ID
//! number and carried columns are, and the fields conditions read its evidence through.
//!
//! A department list is matched with the households by normalised ID number
//! (`crate::value::idnum`): every member of a person export, the head of a ledger row
//! (`[matching]`). Conditions read the evidence through fields the rule set gets for each list
//! `<key>` (no declaration needed):
//!
//! - household fields `<key>_count` (int: records matched to the household's members) and
//!   `<key>_<column>_sum` (int and money columns: their total over those records);
//! - member fields `m.<key>_count` and `m.<key>_<column>_sum` (the member's own records), when
//!   the rule set declares member fields.
//!
//! Without `--with` for a list, its fields are unknown for every household (`缺少比对名单：车辆登记`),
//! as a column a file lacks is; `present(cars_count)` tells whether the list was given.

use std::collections::HashMap;

use super::file::{FieldType, RuleFile};
use super::{check_ident, Field, RuleError};

/// A department list as the rule file declares it, with the fields of its evidence.
#[derive(Debug, Clone)]
pub struct Department {
    pub key: String,
    pub label: String,
    pub id_header: String,
    pub id_aliases: Vec<String>,
    pub columns: Vec<Column>,
    pub description: String,
    pub source: String,
    /// The household field `<key>_count`.
    pub count_field: u16,
    /// Per column: the household field `<key>_<column>_sum` (int and money columns).
    pub sum_fields: Vec<Option<u16>>,
    /// The member field `<key>_count` (none when the rule set declares no member fields).
    pub member_count: Option<u16>,
    /// Per column: the member field `<key>_<column>_sum`.
    pub member_sums: Vec<Option<u16>>,
    /// Per column: whether some condition reads it from a record (`r.plate`); only those are
    /// copied into a household's records.
    pub read: Vec<bool>,
}

/// The lists, each noting which columns conditions read from its records (`Department::read`).
pub fn marked<'a>(
    mut departments: Vec<Department>,
    conditions: impl Iterator<Item = &'a super::expr::Node>,
) -> Vec<Department> {
    for n in conditions {
        super::expr::walk(n, &mut |x| {
            if let super::expr::Node::Record(d, c) | super::expr::Node::RecordBlank(d, c) = x {
                departments[*d as usize].read[*c as usize] = true;
            }
        });
    }
    departments
}

/// A column a record carries.
#[derive(Debug, Clone)]
pub struct Column {
    pub key: String,
    pub ty: FieldType,
    pub header: String,
    pub aliases: Vec<String>,
    pub label: String,
}

/// Which fields hold the ID numbers compared (`[matching]`).
#[derive(Debug, Clone, Default)]
pub struct Matching {
    /// A member field (`[persons.*]`): every member of a person export is compared.
    pub member_id: Option<u16>,
    /// A household field: a ledger row's head is compared.
    pub head_id: Option<u16>,
}

fn rule_err(rule: String, message: String) -> RuleError {
    RuleError::Rule { rule, message }
}

/// A field the rule set gets for a department list (no column of its own: filled by matching).
fn synthetic(key: String, ty: FieldType, label: String, dept: u16) -> Field {
    Field { department: Some(dept), ..Field::named(&key, ty, label.clone(), Vec::new(), label, None) }
}

fn add(fields: &mut Vec<Field>, index: &mut HashMap<String, u16>, f: Field, what: &str) -> Result<u16, RuleError> {
    if index.contains_key(&f.key) {
        return Err(rule_err(
            what.to_string(),
            format!(
                "比对名单的字段 `{}` 与已声明的{}重名：请改名单的键或列名",
                f.key,
                if what.contains("成员") { "成员字段" } else { "字段" }
            ),
        ));
    }
    let i = fields.len() as u16;
    index.insert(f.key.clone(), i);
    fields.push(f);
    Ok(i)
}

/// A list's label and ID header are given, its label is its own.
fn check_label(
    labels: &mut HashMap<String, String>,
    key: &str,
    def: &super::file::DepartmentDef,
    what: &str,
) -> Result<(), RuleError> {
    if def.label.trim().is_empty() || def.id_header.trim().is_empty() {
        return Err(rule_err(what.to_string(), "label 和 id_header 不能为空".into()));
    }
    if let Some(other) = labels.insert(def.label.clone(), key.to_string()) {
        return Err(rule_err(what.to_string(), format!("标签“{}”与比对名单 `{other}` 相同", def.label)));
    }
    Ok(())
}

/// Compile `[departments.*]` and `[matching]`: the lists, and their evidence fields appended to
/// `fields` (and to `persons` when there are member fields).
pub fn compile(
    file: &RuleFile,
    fields: &mut Vec<Field>,
    field_index: &mut HashMap<String, u16>,
    persons: &mut Vec<Field>,
) -> Result<(Vec<Department>, Matching), RuleError> {
    let mut person_index: HashMap<String, u16> =
        persons.iter().enumerate().map(|(i, f)| (f.key.clone(), i as u16)).collect();
    let mut out = Vec::new();
    let mut labels: HashMap<String, String> = HashMap::new();
    for (key, def) in &file.departments {
        check_ident(key, "比对名单")?;
        let what = format!("比对名单 `{key}`");
        check_label(&mut labels, key, def, &what)?;
        let d = out.len() as u16;
        let count_field = add(
            fields,
            field_index,
            synthetic(format!("{key}_count"), FieldType::Int, format!("{}记录数", def.label), d),
            &what,
        )?;
        let member_count = if persons.is_empty() {
            None
        } else {
            let f = synthetic(format!("{key}_count"), FieldType::Int, format!("{}记录数（成员）", def.label), d);
            Some(add(persons, &mut person_index, f, &format!("{what}（成员）"))?)
        };
        let mut columns = Vec::new();
        let (mut sum_fields, mut member_sums) = (Vec::new(), Vec::new());
        for (ck, c) in &def.columns {
            check_ident(ck, "比对名单的列")?;
            if !matches!(c.ty, FieldType::Text | FieldType::Int | FieldType::Money | FieldType::Month) {
                return Err(rule_err(
                    what,
                    format!("列 `{ck}` 的类型 {} 不可用（可用：text、int、money、month）", c.ty.name()),
                ));
            }
            let summed = matches!(c.ty, FieldType::Int | FieldType::Money);
            let sum_key = format!("{key}_{ck}_sum");
            let sum_label = format!("{}{}合计", def.label, c.label);
            sum_fields.push(if summed {
                Some(add(fields, field_index, synthetic(sum_key.clone(), c.ty, sum_label.clone(), d), &what)?)
            } else {
                None
            });
            member_sums.push(if summed && !persons.is_empty() {
                let f = synthetic(sum_key, c.ty, format!("{sum_label}（成员）"), d);
                Some(add(persons, &mut person_index, f, &format!("{what}（成员）"))?)
            } else {
                None
            });
            columns.push(Column {
                key: ck.clone(),
                ty: c.ty,
                header: c.header.clone(),
                aliases: c.aliases.clone(),
                label: c.label.clone(),
            });
        }
        out.push(Department {
            key: key.clone(),
            label: def.label.clone(),
            id_header: def.id_header.clone(),
            id_aliases: def.id_aliases.clone(),
            columns,
            description: def.description.clone(),
            source: def.source.clone(),
            count_field,
            sum_fields,
            member_count,
            read: vec![false; def.columns.len()],
            member_sums,
        });
    }
    let matching = compile_matching(file, fields, field_index, persons, &person_index)?;
    if !out.is_empty() && matching.member_id.is_none() && matching.head_id.is_none() {
        return Err(rule_err(
            "matching".into(),
            "声明了比对名单（[departments.*]），还须在 [matching] 中给出 member_id（成员的证件号码字段）或 head_id（户主证件号码字段）".into(),
        ));
    }
    Ok((out, matching))
}

fn compile_matching(
    file: &RuleFile,
    fields: &[Field],
    field_index: &HashMap<String, u16>,
    persons: &[Field],
    person_index: &HashMap<String, u16>,
) -> Result<Matching, RuleError> {
    let Some(m) = &file.matching else { return Ok(Matching::default()) };
    let text = |ty: FieldType| matches!(ty, FieldType::Text | FieldType::Id);
    let member_id = match &m.member_id {
        None => None,
        Some(k) => match person_index.get(k) {
            Some(&i) if text(persons[i as usize].ty) && persons[i as usize].department.is_none() => Some(i),
            _ => {
                return Err(rule_err(
                    "matching".into(),
                    format!("member_id = \"{k}\" 不是文本类的成员字段（[persons.*]）"),
                ))
            }
        },
    };
    let head_id = match &m.head_id {
        None => None,
        Some(k) => match field_index.get(k) {
            Some(&i) if text(fields[i as usize].ty) && fields[i as usize].department.is_none() => Some(i),
            _ => {
                return Err(rule_err(
                    "matching".into(),
                    format!("head_id = \"{k}\" 不是文本或证件号码类的字段（[fields.*]）"),
                ))
            }
        },
    };
    Ok(Matching { member_id, head_id })
}

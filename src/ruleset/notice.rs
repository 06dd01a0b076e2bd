//! `[notice]`: how the lists marked `notice = true` are posted in the village (公示), compiled.
//!
//! A notice shows an allow-list of columns only: the head's name, the village group, the
//! household's size (fields the rule file names here), the list's label and the posting dates.
//! Which lists are posted, for how many days, the objection line and the words that keep a cell
//! off a notice are the rule file's; nothing here knows a policy word.

use super::file::{FieldType, RuleFile};
use super::lists::{BoolSlot, ListSet, Side};
use super::{expr, Field, RuleError};
use std::collections::HashMap;

/// The longest posting accepted (a typing error such as `days = 500` is refused).
const MAX_DAYS: u32 = 90;

/// `[notice]`, compiled: field indices and the texts.
#[derive(Debug, Clone)]
pub struct Notice {
    pub days: u32,
    pub contact: String,
    pub title: String,
    pub name: u16,
    pub group: Option<u16>,
    pub members: u16,
    pub place: Vec<u16>,
    pub withhold: Vec<String>,
    pub source: String,
}

fn err(message: String) -> RuleError {
    RuleError::Rule { rule: "[notice]".into(), message }
}

/// Compile `[notice]` of `file`; the lists marked `notice = true` must read only the current
/// snapshot (a notice is made from one ledger).
pub(super) fn compile(
    file: &RuleFile,
    fields: &[Field],
    index: &HashMap<String, u16>,
    lists: &ListSet,
) -> Result<Option<Notice>, RuleError> {
    let posted: Vec<&str> = lists.lists.iter().filter(|l| l.notice).map(|l| l.key.as_str()).collect();
    let Some(def) = &file.notice else {
        return match posted.first() {
            Some(k) => Err(RuleError::Rule {
                rule: format!("名单 `{k}`"),
                message: "notice = true 需要规则文件有 [notice] 一节（公示天数、异议联系方式、公示的列）".into(),
            }),
            None => Ok(None),
        };
    };
    if !(1..=MAX_DAYS).contains(&def.days) {
        return Err(err(format!("days = {} 应在 1 至 {MAX_DAYS} 之间", def.days)));
    }
    if def.contact.trim().is_empty() {
        return Err(err("contact（异议联系方式）不能为空".into()));
    }
    let field = |key: &str, what: &str, ty: FieldType| -> Result<u16, RuleError> {
        match index.get(key) {
            Some(&i) if fields[i as usize].ty == ty => Ok(i),
            Some(_) => Err(err(format!("{what} = \"{key}\" 应为 {} 类型的字段", ty.name()))),
            None => {
                let keys: Vec<String> = fields.iter().filter(|f| f.ty == ty).map(|f| f.key.clone()).collect();
                Err(err(format!("{what} = \"{key}\" 不是字段{}", expr::did_you_mean(key, &keys))))
            }
        }
    };
    let name = field(&def.name, "name", FieldType::Text)?;
    let group = def.group.as_deref().map(|g| field(g, "group", FieldType::Text)).transpose()?;
    let members = field(&def.members, "members", FieldType::Int)?;
    let place = def.place.iter().map(|p| field(p, "place", FieldType::Text)).collect::<Result<Vec<_>, _>>()?;
    if place.is_empty() {
        return Err(err("place 至少要有一个字段（如行政村）：每个村一份公示".into()));
    }
    for l in lists.lists.iter().filter(|l| l.notice) {
        let r = expr::refs(&l.when);
        let s = &lists.slots;
        let previous = r.fields.iter().any(|&i| s.fields[i as usize].0 == Side::Previous)
            || r.decisions.iter().any(|&i| s.decisions[i as usize].0 == Side::Previous)
            || r.crits.iter().any(|&i| {
                !matches!(s.bools[i as usize], BoolSlot::Crit(Side::Current, _) | BoolSlot::Flag(Side::Current))
            });
        if previous {
            return Err(RuleError::Rule {
                rule: format!("名单 `{}`", l.key),
                message: "公示名单（notice = true）的条件只能读本期（current.<名称>）：公示由一份台账生成".into(),
            });
        }
    }
    Ok(Some(Notice {
        days: def.days,
        contact: def.contact.trim().to_string(),
        title: def.title.clone().unwrap_or_else(|| "公示".to_string()),
        name,
        group,
        members,
        place,
        withhold: def.withhold.iter().map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect(),
        source: def.source.clone(),
    }))
}

/// A ledger's text as a notice may show it: `None` (withheld) when it holds more than three
/// digits (an ID, phone or bank number typed into it), one of the rule file's withheld words, or
/// more than `max_chars` characters; control characters and surrounding blanks taken out.
pub fn public_text(s: &str, withhold: &[String], max_chars: usize) -> Option<String> {
    let t: String = s.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_string();
    let digits = t.chars().filter(|c| c.is_numeric()).count();
    if digits > 3 || t.chars().count() > max_chars || withhold.iter().any(|w| t.contains(w.as_str())) {
        return None;
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::public_text;

    #[test]
    fn numbers_and_withheld_words_never_pass() {
        let w = vec!["病".to_string(), "残疾".to_string()];
        assert_eq!(public_text(" 张某华\t", &w, 20).as_deref(), Some("张某华"));
        assert_eq!(public_text("第3组", &w, 20).as_deref(), Some("第3组"));
        for bad in [
            "520000196803120313",
            "张三13812345678",
            "6222 0212 3456 7890",
            "１３８１２３４",
            "李四（大病）",
            "残疾",
            "张某华x",
        ] {
            let max = if bad == "张某华x" { 3 } else { 20 };
            assert_eq!(public_text(bad, &w, max), None, "{bad}");
        }
    }
}

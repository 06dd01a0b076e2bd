//! `tuopin reconcile`: two or more rosters (低保/特困 from 民政, the monitoring roster, the 脱贫户
//! roster, …) compared by normalised ID number: one row per person who is not on every roster.
//!
//! Each roster is read whole as a department list (`input::departments`: the ID column by its
//! header, IDs normalised, rows that cannot be compared counted and listed); the union of their
//! keys, sorted, is walked once. Output: CSV (UTF-8 with BOM), IDs masked unless `--show-ids`,
//! every cell through the formula defence.

use std::io::Write;

use anyhow::{anyhow, Context};

use crate::cli::ReconcileArgs;
use crate::error::Outcome;
use crate::input::departments as dep;
use crate::matching::List;
use crate::output::{self, AtomicFile};
use crate::ruleset::departments::{Column, Department};
use crate::ruleset::file::FieldType;
use crate::value::idnum;

/// The ID column's headers a roster may have.
const ID_HEADERS: [&str; 6] = ["证件号码", "身份证号码", "公民身份号码", "户主证件号码", "身份证号", "学生身份证号"];
/// The name column's.
const NAME_HEADERS: [&str; 5] = ["姓名", "户主姓名", "成员姓名", "学生姓名", "车主姓名"];

fn roster(label: &str, k: usize) -> Department {
    Department {
        key: format!("roster{k}"),
        label: label.to_string(),
        id_header: ID_HEADERS[0].into(),
        id_aliases: ID_HEADERS[1..].iter().map(|h| h.to_string()).collect(),
        columns: vec![Column {
            key: "name".into(),
            ty: FieldType::Text,
            header: NAME_HEADERS[0].into(),
            aliases: NAME_HEADERS[1..].iter().map(|h| h.to_string()).collect(),
            label: "姓名".into(),
        }],
        description: String::new(),
        source: String::new(),
        count_field: 0,
        sum_fields: vec![None],
        member_count: None,
        member_sums: vec![None],
        read: vec![false],
    }
}

pub fn run(args: ReconcileArgs) -> anyhow::Result<Outcome> {
    let mut depts = Vec::new();
    let mut lists = Vec::new();
    for (k, spec) in args.rosters.iter().enumerate() {
        let (name, path) = spec
            .split_once('=')
            .filter(|(n, p)| !n.trim().is_empty() && !p.trim().is_empty())
            .ok_or_else(|| anyhow!("名单应写成 名称=文件，如 低保=低保名单.xlsx，不是“{spec}”"))?;
        if depts.iter().any(|d: &Department| d.label == name.trim()) {
            return Err(anyhow!("名单名称“{}”用了两次", name.trim()));
        }
        let dept = roster(name.trim(), k);
        let bar = crate::pipeline::progress_of(&format!("名单“{}”：", name.trim()), "行");
        let list = dep::read_list(&dept, k as u16, std::path::Path::new(path.trim()), &Default::default(), &bar)?;
        for line in dep::describe_list(&dept, &list).lines() {
            if line.starts_with("警告") || line.starts_with("  ") {
                eprintln!("{line}");
            } else {
                super::note(&format!("{line}\n"));
            }
        }
        depts.push(dept);
        lists.push(list);
    }
    let unreadable = lists.iter().any(|l| l.stats.mangled + l.stats.invalid > 0);
    let (text, only) = differences(&depts, &lists, args.show_ids)?;
    match &args.output {
        Some(p) => {
            let mut f = AtomicFile::create(p, &[])?;
            f.writer().write_all(&text).with_context(|| format!("无法写出 {}", p.display()))?;
            f.commit().context("输出未能完成")?;
        }
        None => std::io::stdout().lock().write_all(&text)?,
    }
    for (d, n) in depts.iter().zip(&only) {
        super::note(&format!("不在“{}”中而在其他名单中：{} 人\n", d.label, crate::value::grouped(*n)));
    }
    Ok(if unreadable { Outcome::Problems } else { Outcome::Clean })
}

/// The CSV of the people not on every roster, and per roster how many of them it lacks.
fn differences(depts: &[Department], lists: &[List], show_ids: bool) -> anyhow::Result<(Vec<u8>, Vec<u64>)> {
    let mut keys: Vec<u64> = lists.iter().flat_map(|l| (0..l.len() as u32).map(|r| l.key(r))).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = "\u{feff}".as_bytes().to_vec();
    let mut w = csv::Writer::from_writer(&mut out);
    let mut head = vec!["证件号码".to_string(), "姓名".to_string()];
    head.extend(depts.iter().map(|d| format!("{}（行号）", d.label)));
    head.push("差异".into());
    w.write_record(&head)?;
    let mut only = vec![0u64; depts.len()];
    for key in keys {
        let at: Vec<Option<u32>> = lists.iter().map(|l| l.lookup(key).next()).collect();
        if at.iter().all(Option::is_some) {
            continue;
        }
        let mut name = String::new();
        if let Some((k, r)) = at.iter().enumerate().find_map(|(k, r)| r.map(|r| (k, r))) {
            lists[k].write_value(&mut name, &depts[k], r, 0);
        }
        let id = idnum::key_text(key);
        let mut row = vec![
            if show_ids { id } else { crate::privacy::mask_id(&id) },
            if show_ids { name } else { crate::privacy::mask_text(&name).into_owned() },
        ];
        row.extend(at.iter().zip(lists).map(|(r, l)| r.map(|r| l.row(r).to_string()).unwrap_or_default()));
        let (ins, outs): (Vec<_>, Vec<_>) = depts.iter().zip(&at).partition(|(_, r)| r.is_some());
        for (k, r) in at.iter().enumerate() {
            only[k] += u64::from(r.is_none());
        }
        let names = |v: Vec<(&Department, &Option<u32>)>| {
            v.iter().map(|(d, _)| d.label.as_str()).collect::<Vec<_>>().join("、")
        };
        row.push(format!("在{}中，不在{}中", names(ins), names(outs)));
        w.write_record(row.iter().map(|c| output::csv_safe(c).into_owned()))?;
    }
    w.flush()?;
    drop(w);
    Ok((out, only))
}

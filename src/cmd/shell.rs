//! `tuopin completions SHELL` and `tuopin manpage`: generated from the command-line definition in
//! the interface language (`lang::command`), so they list exactly the commands and options there are.

use std::io::Write;

use crate::error::Outcome;
use crate::lang::{self, Lang};

pub fn completions(shell: clap_complete::Shell, lang: Lang) -> anyhow::Result<Outcome> {
    let mut cmd = lang::command(lang);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tuopin", &mut out);
    write_out(&out)
}

/// The manual page: tuopin's own, then one section per command with its synopsis, description and
/// options. clap_mangen writes the section names in English; in Chinese they are renamed.
pub fn manpage(lang: Lang) -> anyhow::Result<Outcome> {
    let cmd = lang::command(lang);
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    for sub in leaves(&cmd, "") {
        let (path, sub) = sub;
        writeln!(out, ".SH \"{}\"", path)?;
        let man = clap_mangen::Man::new(sub.clone());
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        man.render_options_section(&mut out)?;
    }
    let mut text = String::from_utf8(out)?;
    if lang == Lang::Zh {
        for (en, zh) in [
            (".SH NAME", ".SH 名称"),
            (".SH SYNOPSIS", ".SS 用法"),
            (".SH DESCRIPTION", ".SS 说明"),
            (".SH OPTIONS", ".SS 选项"),
            (".SH SUBCOMMANDS", ".SH 命令"),
            (".SH VERSION", ".SH 版本"),
            (".SH AUTHORS", ".SH 作者"),
            (".SH EXTRA", ".SH 其他"),
            ("[OPTIONS]", "[选项]"),
        ] {
            text = text.replace(en, zh);
        }
        // The page's own synopsis and description are top-level sections.
        text = text.replacen(".SS 用法", ".SH 用法", 1).replacen(".SS 说明", ".SH 说明", 1).replacen(
            ".SS 选项",
            ".SH 选项",
            1,
        );
    }
    write_out(text.as_bytes())
}

/// The commands that do something (not groups, not `help`), with their path.
fn leaves<'a>(cmd: &'a clap::Command, path: &str) -> Vec<(String, &'a clap::Command)> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let p = format!("{path} {}", sub.get_name()).trim().to_string();
        if sub.has_subcommands() {
            out.extend(leaves(sub, &p));
        } else {
            out.push((format!("tuopin {p}"), sub));
        }
    }
    out
}

fn write_out(bytes: &[u8]) -> anyhow::Result<Outcome> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(Outcome::Clean)
}

//! The language of the command line: help, clap's own messages and the parts clap writes itself
//! (headings, `-h`/`-V`, defaults, possible values, usage). Chinese by default; `--lang en` or
//! `TUOPIN_LANG=en` gives English help and clap's English messages. Everything else the program
//! says of its own (errors, warnings, notes, the summary, the progress bar, `check`'s questions and
//! screen) is written in Chinese where it arises and translated on the way out by
//! [`crate::messages`], a catalogue keyed by the Chinese text (src/messages/en.toml; its module doc
//! says why there and not a macro at each message). Results files stay in the rule file's language.
//!
//! The Chinese help is the doc comments of `cli.rs`; the English one is `english::TEXTS`, laid
//! over the same command definition, so the two cannot list different options.

mod clap_error;
mod english;

use std::ffi::OsString;

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command, CommandFactory};

pub use clap_error::render as render_clap_error;

pub use crate::cli::Lang;
pub use crate::value::grouped;

impl Lang {
    /// `--lang X` / `--lang=X` among the arguments (the last one wins, as clap would take it),
    /// else `TUOPIN_LANG`, else Chinese. Read before parsing, because the help is built first.
    pub fn detect(args: &[OsString]) -> Lang {
        let mut said: Option<String> = None;
        let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(a) = it.next() {
            if a == "--" {
                break;
            }
            if a == "--lang" {
                said = it.next().map(|v| v.into_owned());
            } else if let Some(v) = a.strip_prefix("--lang=") {
                said = Some(v.to_string());
            }
        }
        let said = said.or_else(|| std::env::var("TUOPIN_LANG").ok());
        match said.as_deref().map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

/// The whole command line in this language, built (every subcommand, the `help` subcommand and the
/// `-h`/`-V` flags exist), ready to parse, print help or generate completions and the man page.
pub fn command(lang: Lang) -> Command {
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    match lang {
        Lang::Zh => zh(cmd),
        Lang::En => en(cmd, ""),
    }
}

fn text(s: Option<&StyledStr>) -> Option<String> {
    s.map(|t| t.to_string())
}

/// Whether clap would print `[possible values: …]` or `[default: …]` for this argument.
fn takes_values(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
}

/// Everything clap writes in English, in Chinese: headings, the usage line, `-h`, `-V`, the `help`
/// subcommand, `[default: …]` and `[possible values: …]` (written into each help text instead).
fn zh(mut cmd: Command) -> Command {
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for n in names {
        cmd = cmd.mut_subcommand(n, zh);
    }
    if cmd.get_name() == "help" {
        cmd = cmd.about("显示本说明，或所给命令的帮助");
        if cmd.get_arguments().any(|a| a.get_id() == "subcommand") {
            cmd = cmd.mut_arg("subcommand", |a| a.help("要查看帮助的命令").value_name("命令"));
        }
    }
    if let Some(long) = cmd.get_long_about().map(|l| indent_examples(&l.to_string())) {
        cmd = cmd.long_about(long);
    }
    let ids: Vec<String> = cmd.get_arguments().map(|a| a.get_id().to_string()).collect();
    for id in ids {
        cmd = cmd.mut_arg(id, zh_arg);
    }
    // No wrapping: clap breaks lines at spaces only, which in Chinese text fall beside the Latin
    // words; the terminal wraps long lines by character.
    cmd = cmd.subcommand_help_heading("命令").subcommand_value_name("命令").term_width(0);
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage).replace("[OPTIONS]", "[选项]");
    cmd.override_usage(usage)
        .help_template("{before-help}{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}")
}

fn zh_arg(mut a: Arg) -> Arg {
    match a.get_id().as_str() {
        "help" if matches!(a.get_action(), ArgAction::Help) => {
            a = a.help("显示帮助（--help 显示详细说明）").long_help("显示帮助（-h 只显示摘要）");
        }
        "version" if matches!(a.get_action(), ArgAction::Version) => a = a.help("显示版本"),
        _ => {}
    }
    if a.get_help_heading().is_none() {
        let heading = if a.is_positional() { "参数" } else { "选项" };
        a = a.help_heading(heading);
    }
    let mut short = text(a.get_help()).unwrap_or_default();
    let mut long = text(a.get_long_help());
    if takes_values(&a) && !a.is_hide_default_value_set() && !a.get_default_values().is_empty() {
        let d: Vec<String> = a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        let said = format!("（默认：{}）", d.join("、"));
        short.push_str(&said);
        if let Some(l) = &mut long {
            l.push_str(&said);
        }
        a = a.hide_default_value(true);
    }
    if takes_values(&a) && !a.is_hide_possible_values_set() {
        let values: Vec<_> = a.get_possible_values().into_iter().filter(|v| !v.is_hide_set()).collect();
        if !values.is_empty() {
            let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
            short.push_str(&format!("（可选：{}）", names.join("、")));
            if values.iter().any(|v| v.get_help().is_some()) {
                let mut l = long.take().unwrap_or_else(|| short.clone());
                l.push_str("\n\n可选值：");
                for v in &values {
                    match v.get_help() {
                        Some(h) => l.push_str(&format!("\n  {}：{h}", v.get_name())),
                        None => l.push_str(&format!("\n  {}", v.get_name())),
                    }
                }
                long = Some(l);
            }
            a = a.hide_possible_values(true);
        }
    }
    a = a.help(short);
    if let Some(l) = long {
        a = a.long_help(l);
    }
    a
}

/// The lines after "示例：" indented, as commands to type (doc comments lose their indentation).
fn indent_examples(long: &str) -> String {
    let mut out = String::new();
    let mut examples = false;
    for line in long.lines() {
        if examples && !line.trim().is_empty() && !line.starts_with(' ') {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
        examples |= line.trim() == "示例：";
    }
    out.truncate(out.trim_end().len());
    out
}

/// The English texts of `english::TEXTS` laid over the command (clap's own words stay English).
fn en(mut cmd: Command, here: &str) -> Command {
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for n in names.into_iter().filter(|n| n != "help") {
        let p = format!("{here} {n}").trim().to_string();
        cmd = cmd.mut_subcommand(&n, |c| en(c, &p));
    }
    if let Some((about, long)) = english::command(here) {
        cmd = cmd.about(about).long_about(long);
    }
    cmd = cmd.subcommand_value_name("COMMAND");
    let ids: Vec<String> = cmd.get_arguments().map(|a| a.get_id().to_string()).collect();
    for id in ids {
        cmd = cmd.mut_arg(&id, |mut a| {
            if a.get_help_heading() == Some("输入限制") {
                a = a.help_heading("Input limits");
            }
            let names: Vec<&'static str> = a
                .get_value_names()
                .unwrap_or_default()
                .iter()
                .filter_map(|n| english::value_name(n.as_str()))
                .collect();
            if names.is_empty() {
                a
            } else {
                a.value_names(names)
            }
        });
        if let Some(help) = english::arg(here, &id) {
            cmd = cmd.mut_arg(&id, |mut a| {
                if takes_values(&a) && !a.get_possible_values().is_empty() && !a.is_hide_possible_values_set() {
                    // The possible values' own help is the Chinese doc comment: list the names only.
                    let names: Vec<String> = a
                        .get_possible_values()
                        .iter()
                        .filter(|v| !v.is_hide_set())
                        .map(|v| v.get_name().to_string())
                        .collect();
                    a = a.hide_possible_values(true);
                    return a.help(format!("{help} [possible values: {}]", names.join(", "))).long_help(None::<&str>);
                }
                a.help(help).long_help(None::<&str>)
            });
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0u64), "0");
        assert_eq!(grouped(999u64), "999");
        assert_eq!(grouped(1000u64), "1,000");
        assert_eq!(grouped(20000u64), "20,000");
        assert_eq!(grouped(1234567u64), "1,234,567");
    }

    #[test]
    fn the_language_is_read_before_parsing() {
        assert_eq!(Lang::detect(&os(&["tuopin", "assess", "--lang", "en", "--help"])), Lang::En);
        assert_eq!(Lang::detect(&os(&["tuopin", "--lang=en"])), Lang::En);
        assert_eq!(Lang::detect(&os(&["tuopin", "--lang", "en", "--lang", "zh"])), Lang::Zh);
        // After `--` it is a value, not the option.
        assert_eq!(Lang::detect(&os(&["tuopin", "check", "--", "--lang", "en"])), Lang::Zh);
    }

    /// Every command and every argument has its English text: a new option without one fails here.
    #[test]
    fn english_covers_every_command_and_argument() {
        fn walk(cmd: &Command, path: &str, missing: &mut Vec<String>) {
            for sc in cmd.get_subcommands() {
                if sc.get_name() == "help" {
                    continue;
                }
                let p = format!("{path} {}", sc.get_name()).trim().to_string();
                if english::command(&p).is_none() {
                    missing.push(format!("命令 {p}"));
                }
                walk(sc, &p, missing);
            }
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id != "help" && id != "version" && english::arg(path, id).is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
        }
        let cmd = command(Lang::Zh);
        let mut missing = Vec::new();
        walk(&cmd, "", &mut missing);
        assert!(english::command("").is_some());
        assert!(missing.is_empty(), "缺少英文说明：{missing:?}");
    }
}

//! clap's own errors (unknown option, missing value, invalid value, …) said in Chinese from the
//! error's kind and context, with clap's suggestion kept, the usage line, and where to read more.

use clap::error::{ContextKind, ContextValue, ErrorKind};

fn one(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(v) => v.first().map(|s| s.to_string()),
        ContextValue::Number(n) => Some(n.to_string()),
        ContextValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn many(err: &clap::Error, kind: ContextKind) -> Vec<String> {
    match err.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
        Some(ContextValue::StyledStrs(v)) => v.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// `--year <年份>` → `--year`; a positional `<文件>` stays as it is.
fn option_name(arg: &str) -> &str {
    if arg.starts_with('-') {
        arg.split([' ', '=', '<']).next().unwrap_or(arg)
    } else {
        arg
    }
}

/// The standard library's parse errors, in Chinese (clap passes them on for `--year abc`).
fn reason(err: &clap::Error) -> String {
    let said = std::error::Error::source(err).map(|s| s.to_string()).unwrap_or_default();
    match said.as_str() {
        "invalid digit found in string" => "应为整数（只含数字）".into(),
        "cannot parse integer from empty string" | "cannot parse float from empty string" => "不能为空".into(),
        "number too large to fit in target type" | "number too small to fit in target type" => "数值超出范围".into(),
        "invalid float literal" => "应为数字，如 0.02".into(),
        _ => "取值无效".into(),
    }
}

/// The error in Chinese: what is wrong (with clap's suggestion), the usage, and the help to read.
/// Help and version requests are not errors: the caller prints those as they are.
/// `cmd` is the command line as parsed (`lang::command`), `args` the arguments: the command they
/// name gives the usage line and the `--help` to read.
pub fn render(err: &clap::Error, cmd: &clap::Command, args: &[std::ffi::OsString]) -> String {
    let arg = one(err, ContextKind::InvalidArg).unwrap_or_default();
    let name = option_name(&arg).to_string();
    let value = one(err, ContextKind::InvalidValue).unwrap_or_default();
    let mut said = match err.kind() {
        ErrorKind::InvalidValue if value.is_empty() => format!("{name} 需要一个值，但没有给出"),
        ErrorKind::InvalidValue => {
            let valid = many(err, ContextKind::ValidValue);
            let mut s = format!("{name} 的取值“{value}”无效");
            if !valid.is_empty() {
                s.push_str(&format!("；可用：{}", valid.join("、")));
            }
            s
        }
        ErrorKind::UnknownArgument if arg.starts_with('-') => format!("没有 {arg} 这个选项"),
        ErrorKind::UnknownArgument => format!("多余的参数“{arg}”"),
        ErrorKind::InvalidSubcommand => {
            format!("没有“{}”这个命令", one(err, ContextKind::InvalidSubcommand).unwrap_or_default())
        }
        ErrorKind::NoEquals => format!("{name} 的值须用等号给出，如 {name}=值"),
        ErrorKind::ValueValidation => format!("{name} 的取值“{value}”无效：{}", reason(err)),
        ErrorKind::TooManyValues => format!("{name} 多出了值“{value}”"),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            let expected = one(err, ContextKind::ExpectedNumValues)
                .or_else(|| one(err, ContextKind::MinValues))
                .unwrap_or_default();
            let actual = one(err, ContextKind::ActualNumValues).unwrap_or_default();
            format!("{name} 需要 {expected} 个值，给了 {actual} 个")
        }
        ErrorKind::ArgumentConflict => {
            let prior = many(err, ContextKind::PriorArg);
            let prior: Vec<&str> = prior.iter().map(|p| option_name(p)).collect();
            if prior.is_empty() || prior.iter().any(|p| *p == name) {
                format!("{name} 只能给一次")
            } else {
                format!("{name} 不能与 {} 同时使用：请只留其一", prior.join("、"))
            }
        }
        ErrorKind::MissingRequiredArgument => {
            format!("缺少必需的参数：{}", many(err, ContextKind::InvalidArg).join("、"))
        }
        ErrorKind::MissingSubcommand => {
            let valid = many(err, ContextKind::ValidSubcommand);
            format!("缺少命令；可用：{}", valid.join("、"))
        }
        ErrorKind::InvalidUtf8 => "参数中有无效的文字（不是 UTF-8）".into(),
        _ => format!("命令行有误（{}）", err.kind()),
    };
    // clap's suggestion, kept.
    let suggested =
        one(err, ContextKind::SuggestedArg).or_else(|| one(err, ContextKind::SuggestedValue)).or_else(|| {
            let v = many(err, ContextKind::SuggestedSubcommand);
            (!v.is_empty()).then(|| v.join(" 或 "))
        });
    match suggested {
        Some(s) => said.push_str(&format!("。你是不是想用 {s}？")),
        None if err.kind() == ErrorKind::UnknownArgument && arg.starts_with('-') => {
            said.push_str(&format!("。若“{arg}”是一个值而不是选项，请在它前面加 --，如 -- {arg}"));
        }
        None if err.kind() == ErrorKind::InvalidSubcommand => said.push('。'),
        None => said.push('。'),
    }
    let mut out = format!("错误：{said}\n");
    let (path, mut sub) = (vec![cmd.get_name().to_string()], cmd.clone());
    let mut path = path;
    for a in args.iter().skip(1).map(|a| a.to_string_lossy()) {
        match sub.find_subcommand(a.as_ref()).filter(|_| !a.starts_with('-')).cloned() {
            Some(next) => {
                path.push(next.get_name().to_string());
                sub = next;
            }
            None if a == "--" => break,
            None => {}
        }
    }
    let usage = sub.render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    if !usage.is_empty() {
        out.push_str(&format!("\n用法：{usage}\n"));
    }
    out.push_str(&format!("\n查看说明和示例：{} --help\n", path.join(" ")));
    out
}

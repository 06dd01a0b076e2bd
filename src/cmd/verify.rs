//! `tuopin verify OUTPUT INPUTS…`: whether an output still matches its inputs and rules.
//!
//! Reads the output's provenance (a workbook's 说明 sheet, or the sidecar `<output>.说明.json`),
//! recomputes each input's size and SHA-256 and the merged rule set's hash, re-runs the assessment
//! with the recorded options (the input under its recorded file name, in a temporary directory)
//! and compares the bytes with the output. Exit 0: matches; 1: something changed (each named:
//! an input, the rules, the output); 2: usage error or unreadable provenance.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cli::VerifyArgs;
use crate::error::Outcome;
use crate::output::provenance::{self, Provenance, Sidecar};
use crate::ruleset;

pub fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let recorded = read_provenance(&args.output)?;
    if recorded.command != "assess" {
        bail!("{} 由 tuopin {} 写出：verify 目前只能核对 assess 的输出", args.output.display(), recorded.command);
    }
    if args.inputs.len() != recorded.inputs.len() {
        bail!(
            "{} 由 {} 个输入文件得出（{}），这里给了 {} 个",
            args.output.display(),
            recorded.inputs.len(),
            recorded.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("、"),
            args.inputs.len()
        );
    }
    let mut changed: Vec<String> = Vec::new();
    for (path, was) in args.inputs.iter().zip(&recorded.inputs) {
        let now = provenance::input_file(path)
            .map_err(|e| anyhow::anyhow!("无法读取 {}：{}", path.display(), crate::error::io_text(&e)))?;
        if (now.size, &now.sha256) != (was.size, &was.sha256) {
            changed.push(format!(
                "输入已变：{}（记录的 {}：{} 字节，SHA-256 {}；现在：{} 字节，SHA-256 {}）",
                path.display(),
                was.name,
                was.size,
                was.sha256,
                now.size,
                now.sha256
            ));
        }
    }
    let (rules, loads) = rules_changed(&recorded);
    changed.extend(rules);
    if recorded.tool != provenance::tool() {
        eprintln!("注意：输出由 {} 写出，现在是 {}：程序不同也可能使结果不同", recorded.tool, provenance::tool());
    }
    if loads && !rerun_matches(&args, &recorded)? {
        changed.push(if changed.is_empty() {
            format!("输出已变：{} 与按记录的输入、规则和选项重算的结果不同（文件被改动过）", args.output.display())
        } else {
            format!("输出与按现在的输入和规则重算的结果不同：{}", args.output.display())
        });
    }
    if changed.is_empty() {
        println!(
            "一致：{} 与其输入（{}）、规则集 {}（SHA-256 {}）和选项重算的结果逐字节相同。",
            args.output.display(),
            recorded.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("、"),
            recorded.ruleset,
            recorded.rules_sha256
        );
        return Ok(Outcome::Clean);
    }
    for c in &changed {
        println!("不一致：{c}");
    }
    Ok(Outcome::Problems)
}

/// The recorded rule set, loaded again: a message when it no longer loads or its hash differs,
/// and whether it loads.
fn rules_changed(recorded: &Provenance) -> (Option<String>, bool) {
    let spec = recorded.options.iter().skip_while(|o| *o != "--rules").nth(1).cloned().unwrap_or_default();
    let message = match ruleset::load(&spec) {
        Err(e) => return (Some(format!("规则已变：规则集 {spec} 现在无法读取（{e}）")), false),
        Ok(rs) if rs.hash != recorded.rules_sha256 => Some(format!(
            "规则已变：规则集 {spec}（{}）合并后的 SHA-256 现在是 {}，记录的是 {}",
            rs.origin.join(" ← "),
            rs.hash,
            recorded.rules_sha256
        )),
        Ok(_) => None,
    };
    (message, true)
}

/// The provenance of `output`: its 说明 sheet (a workbook) or its sidecar.
fn read_provenance(output: &Path) -> anyhow::Result<Provenance> {
    if !output.is_file() {
        bail!("找不到输出文件 {}", output.display());
    }
    if output.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
        use calamine::Reader;
        let mut wb = calamine::open_workbook_auto(output)
            .map_err(|e| anyhow::anyhow!("无法打开工作簿 {}：{e}", output.display()))?;
        let range = wb.worksheet_range("说明").map_err(|_| {
            anyhow::anyhow!("{} 没有“说明”工作表：不是 tuopin 写出的评估结果，或由旧版本写出", output.display())
        })?;
        let rows: Vec<(String, String)> =
            range.rows().skip(1).filter(|r| r.len() >= 2).map(|r| (r[0].to_string(), r[1].to_string())).collect();
        let p = Provenance::from_rows(&rows).map_err(|m| anyhow::anyhow!("{}：{m}", output.display()))?;
        check_options(&p.options)?;
        return Ok(p);
    }
    let side = provenance::sidecar_path(output);
    let text = read_small(&side).map_err(|e| {
        anyhow::anyhow!(
            "无法读取 {}（{} 的说明文件，由 tuopin assess -o 写出）：{}",
            side.display(),
            output.display(),
            crate::error::io_text(&e)
        )
    })?;
    let sidecar: Sidecar =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} 不是 tuopin 的说明文件：{e}", side.display()))?;
    check_options(&sidecar.provenance.options)?;
    Ok(sidecar.provenance)
}

/// The longest sidecar read (a real one is under 2 KB).
const MAX_SIDECAR: u64 = 1 << 20;

/// An ordinary file of at most [`MAX_SIDECAR`] bytes, as text (a device or a huge file is refused).
fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    if !std::fs::metadata(path)?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "不是普通文件"));
    }
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_SIDECAR + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SIDECAR {
        return Err(Error::new(ErrorKind::InvalidData, "文件过大，不像说明文件"));
    }
    Ok(text)
}

/// The recorded options are re-run as arguments: only those `assess` records (each with its
/// value), so that an edited record cannot add an output or another command.
fn check_options(options: &[String]) -> anyhow::Result<()> {
    const WITH_VALUE: [&str; 16] = [
        "--rules",
        "--columns",
        "--with",
        "--date",
        "--format",
        "--encoding",
        "--sheet",
        "--header-row",
        "--max-cell-bytes",
        "--max-record-bytes",
        "--max-columns",
        "--max-xlsx-bytes",
        "--max-xlsx-ratio",
        "--max-shared-strings",
        "--max-shared-strings-bytes",
        "--max-grid-cells",
    ];
    const FLAGS: [&str; 4] = ["--persons", "--strict", "--show-ids", "--no-bom"];
    let mut it = options.iter();
    while let Some(o) = it.next() {
        if WITH_VALUE.contains(&o.as_str()) {
            if it.next().is_none() {
                bail!("说明中的选项 {o} 缺少取值");
            }
        } else if !FLAGS.contains(&o.as_str()) {
            bail!("说明中的选项“{o}”不是 assess 记录的选项：说明被改动过？");
        }
    }
    Ok(())
}

/// Re-run the assessment with the recorded options, each input under its recorded name in a
/// temporary directory, and compare the result with `output` byte for byte.
fn rerun_matches(args: &VerifyArgs, recorded: &Provenance) -> anyhow::Result<bool> {
    let dir = tempfile::Builder::new().prefix(".tuopin-verify-").tempdir().context("无法创建临时目录")?;
    let mut inputs: Vec<PathBuf> = Vec::new();
    for (path, was) in args.inputs.iter().zip(&recorded.inputs) {
        let name = Path::new(&was.name).file_name().map(PathBuf::from).unwrap_or_else(|| "input".into());
        let at = dir.path().join(name);
        if std::fs::hard_link(path, &at).is_err() {
            std::fs::copy(path, &at).with_context(|| format!("无法复制 {} 到临时目录", path.display()))?;
        }
        inputs.push(at);
    }
    // A department list (`--with 车辆登记=车辆.csv`) is read from its input in the directory.
    let mut options = recorded.options.clone();
    for k in 0..options.len() {
        if options[k] != "--with" || k + 1 >= options.len() {
            continue;
        }
        let (label, name) = options[k + 1].split_once('=').unwrap_or(("", ""));
        let Some(i) = recorded.inputs.iter().skip(1).position(|f| f.name == name) else {
            bail!("说明中的比对名单 {} 不在记录的输入文件中：说明被改动过？", options[k + 1]);
        };
        options[k + 1] = format!("{label}={}", inputs[i + 1].display());
    }
    let ext = args.output.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    let out = dir.path().join(format!("重算.{ext}"));
    let exe = std::env::current_exe().context("找不到 tuopin 程序本身")?;
    let run = std::process::Command::new(exe)
        .arg("--quiet")
        .arg("assess")
        .arg(&inputs[0])
        .arg("-o")
        .arg(&out)
        .args(&options)
        .stdin(std::process::Stdio::null())
        .output()
        .context("无法重新运行评估")?;
    if !matches!(run.status.code(), Some(0 | 1)) || !out.is_file() {
        bail!("按记录的选项重新评估失败：{}", String::from_utf8_lossy(&run.stderr).trim());
    }
    let a = std::fs::read(&out).context("无法读取重算结果")?;
    let b = std::fs::read(&args.output).with_context(|| format!("无法读取 {}", args.output.display()))?;
    Ok(a == b)
}

//! The provenance of an output: the program and its version, the rule set (id, the files it was
//! merged from, the SHA-256 of the merged rules), each input's file name, size and SHA-256, the
//! assessment date and the options — in a workbook's 说明 sheet, or for CSV and JSON Lines in a
//! sidecar file next to the output (`结果.csv.说明.json`). The run's wall-clock time goes only in
//! the sidecar, so the same inputs and options give byte-identical outputs; `tuopin verify`
//! reads it back and re-runs.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One input file: its name (no directory), size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// What an output was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `tuopin 0.1.0`.
    pub tool: String,
    /// The subcommand (`assess`).
    pub command: String,
    pub ruleset: String,
    /// The rule files merged, the rule set's own first (`national（内置）`).
    pub rules_files: Vec<String>,
    pub rules_sha256: String,
    pub assessment_date: String,
    pub inputs: Vec<InputFile>,
    /// The options that decide the output's bytes, as command-line arguments.
    pub options: Vec<String>,
    /// The department lists given (`--with`), each also among `inputs` by its file name: what
    /// reading it found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lists: Vec<ListFile>,
}

/// A department list given with `--with`: its label, file name and the data rows read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFile {
    pub label: String,
    pub name: String,
    pub rows: u64,
}

/// The sidecar file: the provenance and, only here, when the output was written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    #[serde(flatten)]
    pub provenance: Provenance,
    /// The output's file name.
    pub output: String,
    /// When it was written (UTC, `2024-10-08T09:30:00Z`).
    pub written_at: String,
}

/// The program and version as recorded.
pub fn tool() -> String {
    format!("tuopin {}", env!("CARGO_PKG_VERSION"))
}

/// The sidecar of `output`: `结果.csv` → `结果.csv.说明.json`.
pub fn sidecar_path(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_os_string();
    s.push(".说明.json");
    PathBuf::from(s)
}

/// A file's name (no directory), size and SHA-256, read in pieces.
pub fn input_file(path: &Path) -> std::io::Result<InputFile> {
    input_file_fed(path, None)
}

/// As [`input_file`], going on from the hash of the bytes a reader hashed as it read them
/// (`input::tap`; waiting for it to finish), then reading the rest of the file (all of it when the
/// reader hashed none).
pub fn input_file_fed(path: &Path, fed: Option<crate::input::tap::Slot>) -> std::io::Result<InputFile> {
    use sha2::Digest;
    use std::io::{Seek, SeekFrom};
    let (mut hash, mut size) = match fed {
        Some(slot) => slot.wait(),
        None => (sha2::Sha256::new(), 0),
    };
    let mut f = std::fs::File::open(path)?;
    if size > 0 {
        f.seek(SeekFrom::Start(size))?;
    }
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hash.update(&buf[..n]);
    }
    Ok(InputFile {
        // Standard input (`-`) is read from its spool, named 标准输入.
        name: crate::value::path_name(path)
            .unwrap_or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        size,
        sha256: crate::value::hex(&hash.finalize()),
    })
}

/// Sheet labels of the 说明 rows.
const TOOL: &str = "程序";
const COMMAND: &str = "命令";
const RULESET: &str = "规则集";
const RULES_FILES: &str = "规则文件";
const RULES_SHA: &str = "规则集 SHA-256（合并后）";
const DATE: &str = "评估日期";
const OPTIONS: &str = "选项";
const INPUT: &str = "输入文件";
const INPUT_SIZE: &str = "输入文件大小（字节）";
const INPUT_SHA: &str = "输入文件 SHA-256";
const LIST: &str = "比对名单";

impl Provenance {
    /// The 说明 sheet's rows (项目, 内容); [`Provenance::from_rows`] reads them back.
    pub fn rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![
            (TOOL.to_string(), self.tool.clone()),
            (COMMAND.to_string(), self.command.clone()),
            (RULESET.to_string(), self.ruleset.clone()),
            (RULES_FILES.to_string(), self.rules_files.join(" ← ")),
            (RULES_SHA.to_string(), self.rules_sha256.clone()),
            (DATE.to_string(), self.assessment_date.clone()),
            (OPTIONS.to_string(), serde_json::to_string(&self.options).unwrap_or_default()),
        ];
        for i in &self.inputs {
            rows.push((INPUT.to_string(), i.name.clone()));
            rows.push((INPUT_SIZE.to_string(), i.size.to_string()));
            rows.push((INPUT_SHA.to_string(), i.sha256.clone()));
        }
        for l in &self.lists {
            rows.push((LIST.to_string(), format!("{}：{}，{} 行", l.label, l.name, l.rows)));
        }
        rows
    }

    /// Read the 说明 sheet's rows back; `Err` names what is missing or malformed.
    pub fn from_rows(rows: &[(String, String)]) -> Result<Provenance, String> {
        let one = |k: &str| -> Result<String, String> {
            rows.iter().find(|r| r.0 == k).map(|r| r.1.clone()).ok_or_else(|| format!("说明表中没有“{k}”"))
        };
        let all = |k: &str| rows.iter().filter(|r| r.0 == k).map(|r| r.1.clone()).collect::<Vec<String>>();
        let (names, sizes, shas) = (all(INPUT), all(INPUT_SIZE), all(INPUT_SHA));
        if names.len() != sizes.len() || names.len() != shas.len() {
            return Err("说明表中的输入文件记录不完整".into());
        }
        let mut inputs = Vec::new();
        for ((name, size), sha256) in names.into_iter().zip(sizes).zip(shas) {
            let size = size.parse().map_err(|_| format!("说明表中的文件大小“{size}”不是整数"))?;
            inputs.push(InputFile { name, size, sha256 });
        }
        let options = one(OPTIONS)?;
        let mut lists = Vec::new();
        for l in all(LIST) {
            let bad = || format!("说明表中的比对名单“{l}”无法读取");
            let (label, rest) = l.split_once('：').ok_or_else(bad)?;
            let (name, rows) = rest.rsplit_once('，').ok_or_else(bad)?;
            let rows = rows.strip_suffix(" 行").and_then(|r| r.parse().ok()).ok_or_else(bad)?;
            lists.push(ListFile { label: label.to_string(), name: name.to_string(), rows });
        }
        Ok(Provenance {
            tool: one(TOOL)?,
            command: one(COMMAND)?,
            ruleset: one(RULESET)?,
            rules_files: one(RULES_FILES)?.split(" ← ").map(String::from).collect(),
            rules_sha256: one(RULES_SHA)?,
            assessment_date: one(DATE)?,
            inputs,
            options: serde_json::from_str(&options).map_err(|_| format!("说明表中的选项“{options}”无法读取"))?,
            lists,
        })
    }
}

impl Sidecar {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Whether an output gets a sidecar: a regular file, not standard output, a device or a FIFO.
pub fn has_sidecar(out: &Path) -> bool {
    !crate::output::is_stdout(out) && out.is_file()
}

/// Write `<out>.说明.json` beside an output file: the provenance and the time it was written.
/// Standard output, a device or a FIFO gets none.
pub fn write_sidecar(out: &Path, inputs: &[&Path], provenance: Provenance) -> anyhow::Result<()> {
    use anyhow::Context;
    if !has_sidecar(out) {
        return Ok(());
    }
    let side = sidecar_path(out);
    let sidecar = Sidecar {
        provenance,
        output: out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        written_at: now_utc(),
    };
    let mut f = crate::output::AtomicFile::create(&side, inputs)?;
    f.writer().write_all(sidecar.to_json().as_bytes()).with_context(|| format!("无法写出 {}", side.display()))?;
    f.commit().with_context(|| format!("无法写出 {}", side.display()))
}

/// Now, in UTC, as `2024-10-08T09:30:00Z` (read by the command, for the sidecar only).
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let day = crate::value::Date::from_unix_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provenance {
        Provenance {
            tool: tool(),
            command: "assess".into(),
            ruleset: "national".into(),
            rules_files: vec!["yunnan-2025.toml".into(), "national（内置）".into()],
            rules_sha256: "ab".repeat(32),
            assessment_date: "2024-12-31".into(),
            inputs: vec![InputFile { name: "户表.csv".into(), size: 12, sha256: "cd".repeat(32) }],
            options: vec!["--rules".into(), "national".into(), "--date".into(), "2024-12-31".into()],
            lists: vec![ListFile { label: "车辆登记".into(), name: "车辆，2024.csv".into(), rows: 8 }],
        }
    }

    #[test]
    fn rows_and_json_read_back() {
        let p = sample();
        assert_eq!(Provenance::from_rows(&p.rows()).unwrap(), p);
        let s = Sidecar { provenance: p.clone(), output: "结果.csv".into(), written_at: now_utc() };
        let back: Sidecar = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(back.provenance, p);
        assert_eq!(sidecar_path(Path::new("a/结果.csv")), PathBuf::from("a/结果.csv.说明.json"));
    }

    #[test]
    fn a_file_is_hashed_as_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc.txt");
        std::fs::write(&p, "abc").unwrap();
        let f = input_file(&p).unwrap();
        assert_eq!((f.name.as_str(), f.size), ("abc.txt", 3));
        assert_eq!(f.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

//! `-` as an input file: standard input.
//!
//! A ledger is read more than once (the duplicate-id scan is a pass of its own before the rows are
//! assessed, a workbook is a zip read by seeking, the encoding is guessed from the first 64 KiB),
//! so standard input is first copied, as it streams by, to a temporary file in the system's
//! temporary directory (`TMPDIR`, `TEMP`): its size is bounded by the disk, not by memory. The
//! file's kind is found from its content, since it has no name: a zip (`PK\x03\x04`) is an .xlsx
//! workbook (an .ods or .xlsb one by its parts), an OLE file (`D0 CF 11 E0`) an .xls workbook,
//! anything else text (CSV, its encoding sniffed as for any file). Messages name it `标准输入`
//! (through `value::shown_path`); the temporary file is deleted when the run ends (or is
//! interrupted: [`remove_spools`]).

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::InputError;

/// How messages name standard input.
pub const NAME: &str = "标准输入";

/// Spool directories of this process not yet deleted (for the signal handler).
static SPOOLS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Whether a file argument means standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// An input file as given: a path, or standard input copied to a temporary file (deleted on drop).
pub struct Input {
    path: PathBuf,
    spool: Option<tempfile::TempDir>,
}

impl Input {
    /// `path` itself, or for `-` standard input spooled to a temporary file.
    pub fn open(path: &Path) -> Result<Input, InputError> {
        if !is_stdin(path) {
            return Ok(Input { path: path.to_path_buf(), spool: None });
        }
        let stdin = io::stdin();
        if stdin.is_terminal() {
            return Err(unreadable(
                "没有从管道或文件重定向得到内容（标准输入是终端）：请写出文件名，或用 < 文件 给出，如 tuopin assess - < 户表.csv"
                    .into(),
            ));
        }
        spool(&mut stdin.lock())
    }

    /// The file to read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is standard input.
    pub fn is_stdin(&self) -> bool {
        self.spool.is_some()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Some(dir) = &self.spool {
            crate::value::forget_path(&self.path);
            SPOOLS.lock().unwrap_or_else(|p| p.into_inner()).retain(|p| p != dir.path());
        }
    }
}

/// Delete every spool file not yet deleted (called by the signal handler before the process
/// exits).
pub fn remove_spools() {
    let spools = SPOOLS.lock().unwrap_or_else(|p| p.into_inner());
    for dir in spools.iter() {
        let _ = std::fs::remove_dir_all(dir);
    }
    // Held until the process exits: no spool is created after.
    std::mem::forget(spools);
}

fn unreadable(message: String) -> InputError {
    InputError::Unreadable { path: NAME.to_string(), message }
}

/// Copy `from` to a temporary file named for its kind; it is named `标准输入` in messages.
pub fn spool(from: &mut dyn Read) -> Result<Input, InputError> {
    let tmp = std::env::temp_dir();
    let failed = |e: io::Error| {
        unreadable(format!(
            "无法暂存到临时目录 {}：{}（暂存需要与输入同样大小的磁盘空间；可设环境变量 TMPDIR 或 TEMP 指向空间更大的磁盘）",
            tmp.display(),
            crate::error::io_text(&e)
        ))
    };
    let mut head = Vec::with_capacity(4096);
    from.take(4096)
        .read_to_end(&mut head)
        .map_err(|e| unreadable(format!("无法读取：{}", crate::error::io_text(&e))))?;
    let dir = tempfile::Builder::new().prefix("tuopin-stdin-").tempdir_in(&tmp).map_err(failed)?;
    SPOOLS.lock().unwrap_or_else(|p| p.into_inner()).push(dir.path().to_path_buf());
    let mut path = dir.path().join(format!("stdin.{}", extension(&head)));
    let mut file = File::create(&path).map_err(failed)?;
    file.write_all(&head).map_err(failed)?;
    copy(from, &mut file).map_err(|e| match e {
        Copy::Read(e) => unreadable(format!("无法读取：{}", crate::error::io_text(&e))),
        Copy::Write(e) => failed(e),
    })?;
    file.sync_data().ok();
    drop(file);
    if extension(&head) == "xlsx" && is_xlsb(&path) {
        let xlsb = path.with_extension("xlsb");
        std::fs::rename(&path, &xlsb).map_err(failed)?;
        path = xlsb;
    }
    crate::value::name_path(&path, NAME);
    Ok(Input { path, spool: Some(dir) })
}

enum Copy {
    Read(io::Error),
    Write(io::Error),
}

/// `io::copy`, telling a read error from a write error.
fn copy(from: &mut dyn Read, to: &mut File) -> Result<(), Copy> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Read(e)),
        };
        to.write_all(&buf[..n]).map_err(Copy::Write)?;
    }
}

/// The extension that makes the spool read as what its first bytes say it is.
fn extension(head: &[u8]) -> &'static str {
    const ODS: &[u8] = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet";
    if head.starts_with(b"PK\x03\x04") {
        // An OpenDocument file's first part is its uncompressed `mimetype`, named at offset 30.
        if head.get(30..30 + ODS.len()) == Some(ODS) {
            "ods"
        } else {
            "xlsx"
        }
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "xls"
    } else {
        "csv"
    }
}

/// A zip whose workbook part is binary (an .xlsb workbook).
fn is_xlsb(path: &Path) -> bool {
    let Ok(file) = File::open(path) else { return false };
    let Ok(zip) = zip::ZipArchive::new(io::BufReader::new(file)) else { return false };
    let xlsb = zip.file_names().any(|n| n.is_ok_and(|n| n == "xl/workbook.bin"));
    xlsb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_found_from_the_first_bytes() {
        assert_eq!(extension(b"PK\x03\x04\x14\x00"), "xlsx");
        let mut ods = b"PK\x03\x04".to_vec();
        ods.resize(30, 0);
        ods.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheetPK");
        assert_eq!(extension(&ods), "ods");
        assert_eq!(extension(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1]), "xls");
        assert_eq!(extension("户编号,户主姓名\n".as_bytes()), "csv");
        assert_eq!(extension(b""), "csv");
    }

    #[test]
    fn a_spool_is_named_for_messages_and_deleted_when_dropped() {
        let text = "户编号,户主姓名\n1,张三\n".repeat(5000);
        let input = spool(&mut text.as_bytes()).unwrap();
        let path = input.path().to_path_buf();
        assert!(input.is_stdin());
        assert_eq!(path.extension().unwrap(), "csv");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert_eq!(crate::value::shown_path(&path), NAME);
        drop(input);
        assert!(!path.exists());
        assert!(!path.parent().unwrap().exists());
        assert_ne!(crate::value::shown_path(&path), NAME);
    }

    #[test]
    fn a_path_is_itself() {
        let input = Input::open(Path::new("户表.csv")).unwrap();
        assert_eq!(input.path(), Path::new("户表.csv"));
        assert!(!input.is_stdin());
    }
}

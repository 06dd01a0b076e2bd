//! The console window on Windows, and a file dropped on the program.
//!
//! - Output code page: UTF-8 (65001) while the program runs, the console's own restored at the
//!   end. Text written to a console window is Unicode whatever the code page (Rust's standard
//!   output uses the console's wide-character calls), so Chinese shows on a GBK (936) console
//!   too; bytes written to a pipe or a file are UTF-8, and the code page makes a console program
//!   reading them from a pipe show them as UTF-8 while this program runs.
//! - A window of its own (double-click, or a file dragged onto `tuopin.exe`): Windows closes it
//!   when the program ends, so the program waits for Enter first, only then, and only when
//!   standard input is that console (never in a script, a pipe or a test).
//! - A dropped file: the program's only argument is a path to an existing file, not a command
//!   (Explorer starts `tuopin.exe "D:\台账\户表.xlsx"`): it is assessed with the built-in rules to
//!   a workbook beside it, `户表_评估结果.xlsx`, or `户表_评估结果(2).xlsx` … when that exists.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The console's output code page, set to UTF-8 while the program runs (Windows); restored when
/// dropped. Elsewhere nothing.
pub struct Utf8Output {
    #[cfg(windows)]
    previous: u32,
}

impl Utf8Output {
    pub fn set() -> Utf8Output {
        #[cfg(windows)]
        {
            use windows_sys::Win32::System::Console::{GetConsoleOutputCP, SetConsoleOutputCP};
            // SAFETY: plain calls without pointers; 0 (no console) is handled by not restoring.
            let previous = unsafe { GetConsoleOutputCP() };
            if previous != 0 && previous != 65001 {
                unsafe { SetConsoleOutputCP(65001) };
            }
            Utf8Output { previous }
        }
        #[cfg(not(windows))]
        Utf8Output {}
    }
}

impl Drop for Utf8Output {
    fn drop(&mut self) {
        #[cfg(windows)]
        if self.previous != 0 && self.previous != 65001 {
            // SAFETY: a plain call without pointers.
            unsafe { windows_sys::Win32::System::Console::SetConsoleOutputCP(self.previous) };
        }
    }
}

/// Whether the program has a console window of its own that closes when it ends (Windows: no
/// other process attached to the console, i.e. started from Explorer) and reads its keys from it.
pub fn own_window() -> bool {
    #[cfg(windows)]
    {
        use std::io::IsTerminal;
        let mut ids = [0u32; 2];
        // SAFETY: the buffer holds the 2 ids the call is told it may write.
        let attached = unsafe { windows_sys::Win32::System::Console::GetConsoleProcessList(ids.as_mut_ptr(), 2) };
        attached == 1 && std::io::stdin().is_terminal()
    }
    #[cfg(not(windows))]
    false
}

/// In a window of its own, wait for Enter so that the messages can be read before it closes.
pub fn pause_if_own_window() {
    if own_window() {
        use std::io::Write;
        eprint!("按回车键关闭窗口……");
        let _ = std::io::stderr().flush();
        let _ = std::io::stdin().read_line(&mut String::new());
    }
}

/// The file dropped on the program: its only argument, an existing file that is not the name of a
/// command (`check` alone is the interview).
pub fn dropped_file(args: &[OsString], is_command: impl Fn(&str) -> bool) -> Option<PathBuf> {
    let [_, arg] = args else { return None };
    if arg.to_str().is_some_and(|a| a.starts_with('-') || is_command(a)) {
        return None;
    }
    let path = PathBuf::from(arg);
    path.is_file().then_some(path)
}

/// Where the assessment of a dropped file goes: `<stem>_评估结果.xlsx` beside it, or with `(2)`,
/// `(3)` … before the extension when that name is taken (nothing is overwritten).
pub fn result_path(file: &Path) -> anyhow::Result<PathBuf> {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = file.parent().unwrap_or(Path::new(""));
    for n in 1..=999 {
        let name = if n == 1 { format!("{stem}_评估结果.xlsx") } else { format!("{stem}_评估结果({n}).xlsx") };
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(path);
        }
    }
    anyhow::bail!("{} 旁已有 999 个评估结果文件：请先移走一些", file.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_name_is_never_taken() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("户表 2024.csv");
        assert_eq!(result_path(&file).unwrap(), dir.path().join("户表 2024_评估结果.xlsx"));
        std::fs::write(dir.path().join("户表 2024_评估结果.xlsx"), "").unwrap();
        std::fs::create_dir(dir.path().join("户表 2024_评估结果(2).xlsx")).unwrap();
        assert_eq!(result_path(&file).unwrap(), dir.path().join("户表 2024_评估结果(3).xlsx"));
    }

    #[test]
    fn only_an_existing_file_alone_is_a_dropped_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("户表.csv");
        std::fs::write(&file, "户编号\n").unwrap();
        let args = |a: &[&std::ffi::OsStr]| a.iter().map(|s| s.to_os_string()).collect::<Vec<_>>();
        let is_command = |a: &str| a == "check";
        let prog = std::ffi::OsStr::new("tuopin");
        assert_eq!(dropped_file(&args(&[prog, file.as_os_str()]), is_command), Some(file.clone()));
        assert_eq!(dropped_file(&args(&[prog, dir.path().as_os_str()]), is_command), None);
        assert_eq!(dropped_file(&args(&[prog, file.as_os_str(), "-o".as_ref()]), is_command), None);
        assert_eq!(dropped_file(&args(&[prog]), is_command), None);
        assert_eq!(dropped_file(&args(&[prog, "check".as_ref()]), is_command), None);
        assert_eq!(dropped_file(&args(&[prog, "--help".as_ref()]), is_command), None);
    }
}

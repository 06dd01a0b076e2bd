//! Errors that callers and tests tell apart, and the exit codes they map to.
//!
//! Exit codes: 0 all fine; 1 finished, but the data had problems (or a rule case failed);
//! 2 usage error, rule-file error, or unreadable input.

use std::process::ExitCode;

use thiserror::Error;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything fine.
    Clean,
    /// Finished, with data problems (or failing rule cases).
    Problems,
}

impl Outcome {
    pub fn code(self) -> ExitCode {
        match self {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Problems => ExitCode::from(1),
        }
    }
}

/// Exit code for errors that stop a run before it finishes.
pub const EXIT_ERROR: u8 = 2;

/// A rule file that cannot be used.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RuleError {
    #[error("无法读取规则文件 {path}：{message}")]
    Read { path: String, message: String },
    #[error("规则文件 {file}：{message}")]
    Parse { file: String, message: String },
    #[error("规则文件互相扩展（extends），形成循环：{0}")]
    Cycle(String),
    #[error("{rule}：{message}")]
    Rule { rule: String, message: String },
    #[error("规则集 {ruleset} 不涵盖 {year} 年：它涵盖 {}-{:02}-{:02} 起的年份（{} 年起）", covered.year, covered.month, covered.day, covered.year)]
    Year { ruleset: String, year: i32, covered: crate::value::Date },
}

/// An input file that cannot be read at all (as opposed to a row with problems).
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{path}：{message}")]
    Unreadable { path: String, message: String },
    #[error("{path}：没有“户编号”列（每一户的编号，唯一必需的列）：找到的列为 {found}；请确认表头行（可用 --header-row 指定）或把该列的表头改为“户编号”")]
    NoId { path: String, found: String },
    #[error("{path}：{message}")]
    Header { path: String, message: String },
    /// A limit of `input::source::Limits` was hit (the message names where and the option).
    #[error("{path}：{message}")]
    Limit { path: String, message: String },
}

/// An operating-system error in Chinese, with what to do about it (the system's own words are
/// English on most machines): `No such file or directory (os error 2)` → `文件或目录不存在（…）`.
pub fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let said = match e.kind() {
        K::NotFound => "文件或目录不存在：请检查路径和文件名（含空格的路径请加引号；也可把文件拖进窗口得到完整路径）",
        K::PermissionDenied => "没有权限：请检查文件的权限，或换一个有权限的位置",
        K::AlreadyExists => "文件已存在",
        K::IsADirectory => "这是一个目录，不是文件：请给出目录中的文件",
        K::NotADirectory => "路径中有一部分不是目录：请检查路径",
        K::DirectoryNotEmpty => "目录不是空的",
        K::ReadOnlyFilesystem => "文件系统是只读的：请写到别处",
        K::StorageFull => "磁盘已满：请腾出空间或写到别处",
        K::FileTooLarge => "文件过大",
        K::InvalidData => "内容无效（不是预期的文本或格式）",
        K::UnexpectedEof => "文件提前结束（可能不完整或已损坏）",
        K::Interrupted => "操作被中断：请重试",
        K::BrokenPipe => "输出管道已关闭",
        K::ResourceBusy | K::ExecutableFileBusy => "文件正被占用：请关闭正在使用它的程序后重试",
        K::CrossesDevices => "不能跨磁盘移动：请把输出写到与临时目录相同的磁盘",
        K::InvalidFilename => "文件名无效（过长或含有不允许的字符）",
        K::OutOfMemory => "内存不足",
        _ => "",
    };
    match (said, e.raw_os_error()) {
        ("", Some(code)) => format!("系统错误（代码 {code}）"),
        ("", None) => "读写出错".to_string(),
        (s, _) => s.to_string(),
    }
}

thread_local! {
    /// Set while [`catch_panic`] runs its closure: the panic hook then stays silent.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`, turning a panic inside it into an `Err` with the panic's message, printed nowhere:
/// the boundary around a library that panics instead of returning an error (the CEL parser on
/// some inputs, rust_xlsxwriter when its temporary files cannot be written). The caller turns the
/// message into its own error. Other panics still reach the previous hook.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
    let was = CATCHING.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "未知错误".into())
    })
}

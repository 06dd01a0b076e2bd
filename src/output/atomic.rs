//! Outputs written all or nothing.
//!
//! - [`AtomicFile`]: `-o FILE`. A regular file (or a new one) is written to a temporary file beside
//!   it and renamed into place only when the run finishes, keeping the permissions of the file it
//!   replaces (and, run as root, its owner); a symlink is followed and its target replaced so. A
//!   character device (`/dev/null`), FIFO or socket is written through as it is, never replaced;
//!   `-` is standard output.
//! - [`AtomicSet`]: `-o DIR` of `adjust`. Every file of the set is written into a temporary
//!   directory inside DIR, then swapped in as a set: on any failure the old set stays as it was.
//!
//! Temporary files and directories not yet in place are in a registry that the signal handler
//! (INT, TERM, HUP) empties with [`remove_in_flight`] before the process exits.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{anyhow, bail};

/// Temporary output files and directories of this process not yet renamed into place.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn in_flight() -> MutexGuard<'static, Vec<PathBuf>> {
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Remove every temporary output file or directory not yet renamed into place (called by the
/// signal handler). The registry stays locked, so no temporary file is created or renamed after.
pub fn remove_in_flight() {
    let mut paths = in_flight();
    for p in paths.drain(..) {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                let _ = fs::remove_dir_all(&p);
            }
            Ok(_) => {
                let _ = fs::remove_file(&p);
            }
            Err(_) => {}
        }
    }
    // Held until the process exits: a writer about to rename waits instead.
    std::mem::forget(paths);
}

/// A temporary path that was put in place or removed.
fn forget(list: &mut Vec<PathBuf>, path: &Path) {
    list.retain(|p| p != path);
}

/// `-o -`: standard output.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The file a path names once its symlinks are followed (a dangling one: the file it would create).
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("符号链接层数过多"))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn is_block_device(m: &fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type())
}

#[cfg(not(unix))]
fn is_block_device(_: &fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn is_socket(m: &fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())
}

#[cfg(not(unix))]
fn is_socket(_: &fs::Metadata) -> bool {
    false
}

/// A Unix socket is written to by connecting to it (it cannot be opened as a file).
#[cfg(unix)]
fn connect(path: &Path) -> io::Result<Box<dyn Write + Send>> {
    Ok(Box::new(std::os::unix::net::UnixStream::connect(path)?))
}

#[cfg(not(unix))]
fn connect(_: &Path) -> io::Result<Box<dyn Write + Send>> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Give a new file the mode of the file it replaces (whatever the umask: 0600 stays 0600) and,
/// where allowed (run as root), its owner.
fn keep_mode_and_owner(f: &File, like: &fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mine = f.metadata()?;
        if (mine.uid(), mine.gid()) != (like.uid(), like.gid()) {
            let _ = std::os::unix::fs::fchown(f, Some(like.uid()), Some(like.gid()));
        }
    }
    f.set_permissions(like.permissions())
}

/// The advice added when a file cannot be replaced.
const LOCKED_HINT: &str = "（若该文件正被 Excel、WPS 等程序打开，请关闭后重试）";

/// A new temporary file in `dir` (registered), with the permissions of `like` when it exists.
fn temp_file_in(dir: &Path, like: Option<&fs::Metadata>) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tuopin-").suffix(".part");
    // A temporary file is private (0600); the result is an ordinary file (0644 before umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut list = in_flight();
    let tmp = builder.tempfile_in(dir).map_err(|e| anyhow!("无法在 {} 创建输出文件：{e}", dir.display()))?;
    list.push(tmp.path().to_path_buf());
    drop(list);
    if let Some(m) = like {
        keep_mode_and_owner(tmp.as_file(), m).map_err(|e| anyhow!("无法设置 {} 的权限：{e}", tmp.path().display()))?;
    }
    Ok(tmp)
}

/// Where `-o FILE` writes.
enum Target {
    /// A temporary file renamed onto `dest` (the file `-o` names, its symlinks followed).
    Temp { tmp: tempfile::NamedTempFile, dest: PathBuf },
    /// A character device, FIFO or socket, written through.
    Direct(Box<dyn Write + Send>),
    /// `-o -`.
    Stdout(io::Stdout),
}

/// An output file written atomically: to a temporary file beside it, renamed into place only
/// when the run finishes; or, for a special file and `-`, written through. Refuses to write over
/// an input file.
pub struct AtomicFile {
    /// `None` once committed.
    target: Option<Target>,
    /// The path as given, for messages.
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path, inputs: &[&Path]) -> anyhow::Result<AtomicFile> {
        if is_stdout(path) {
            return Ok(AtomicFile { target: Some(Target::Stdout(io::stdout())), path: path.to_path_buf() });
        }
        for input in inputs {
            if same_file(path, input) {
                bail!("输出文件 {} 就是输入文件：拒绝覆盖输入，请换一个输出路径", path.display());
            }
        }
        let shown = path.display();
        let target = match fs::metadata(path) {
            Ok(m) if m.is_dir() => bail!("输出路径 {shown} 是一个目录：请给出文件名"),
            Ok(m) if is_block_device(&m) => bail!("输出路径 {shown} 是块设备：拒绝写入"),
            Ok(m) if !m.is_file() => {
                // A device, FIFO or socket: written as it is (a FIFO's open waits for its reader).
                let opened: io::Result<Box<dyn Write + Send>> = if is_socket(&m) {
                    connect(path)
                } else {
                    fs::OpenOptions::new().write(true).open(path).map(|f| Box::new(f) as Box<dyn Write + Send>)
                };
                Target::Direct(opened.map_err(|e| anyhow!("无法打开输出 {shown}：{e}"))?)
            }
            found => {
                let dest = resolve_symlinks(path).map_err(|e| anyhow!("无法写入 {shown}：{e}"))?;
                let tmp = temp_file_in(&parent_dir(&dest), found.ok().as_ref())?;
                Target::Temp { tmp, dest }
            }
        };
        Ok(AtomicFile { target: Some(target), path: path.to_path_buf() })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match self.target.as_mut().expect("not yet committed") {
            Target::Temp { tmp, .. } => tmp.as_file_mut(),
            Target::Direct(f) => f,
            Target::Stdout(s) => s,
        }
    }

    /// The temporary file, when writing to one (it can seek); `None` when written through.
    pub fn file(&mut self) -> Option<&mut File> {
        match self.target.as_mut().expect("not yet committed") {
            Target::Temp { tmp, .. } => Some(tmp.as_file_mut()),
            _ => None,
        }
    }

    /// The path as given (`-` for standard output).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Put the file in place (a special file or standard output: flush it).
    pub fn commit(mut self) -> anyhow::Result<()> {
        let shown = self.path.display();
        match self.target.take().expect("committed once") {
            Target::Temp { tmp, dest } => {
                let mut list = in_flight();
                let tmp_path = tmp.path().to_path_buf();
                let result = tmp.persist(&dest);
                forget(&mut list, &tmp_path);
                result.map_err(|e| anyhow!("无法替换 {shown}：{}{LOCKED_HINT}", e.error))?;
            }
            Target::Direct(mut f) => f.flush().map_err(|e| anyhow!("无法写入 {shown}：{e}"))?,
            Target::Stdout(mut s) => s.flush().map_err(|e| anyhow!("无法写出到标准输出：{e}"))?,
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    /// Not committed (an error ended the run): the temporary file is removed.
    fn drop(&mut self) {
        if let Some(Target::Temp { tmp, .. }) = self.target.take() {
            let mut list = in_flight();
            forget(&mut list, tmp.path());
            drop(tmp);
        }
    }
}

/// A set of output files in one directory (`adjust -o DIR`), written into a temporary directory
/// inside it and swapped in together by [`AtomicSet::commit`]; dropped without a commit, the
/// temporary directory is removed and the old set is untouched.
pub struct AtomicSet {
    dir: PathBuf,
    tmp: Option<tempfile::TempDir>,
    names: Vec<String>,
    inputs: Vec<PathBuf>,
}

impl AtomicSet {
    pub fn create(dir: &Path, inputs: &[&Path]) -> anyhow::Result<AtomicSet> {
        if is_stdout(dir) {
            bail!("名单输出应为目录（-o 目录/）或 .xlsx 文件，不能是标准输出");
        }
        fs::create_dir_all(dir).map_err(|e| anyhow!("无法创建目录 {}：{e}", dir.display()))?;
        let mut list = in_flight();
        let tmp = tempfile::Builder::new()
            .prefix(".tuopin-")
            .suffix(".part")
            .tempdir_in(dir)
            .map_err(|e| anyhow!("无法在 {} 创建临时目录：{e}", dir.display()))?;
        list.push(tmp.path().to_path_buf());
        Ok(AtomicSet {
            dir: dir.to_path_buf(),
            tmp: Some(tmp),
            names: Vec::new(),
            inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
        })
    }

    fn tmp_dir(&self) -> &Path {
        self.tmp.as_ref().expect("not yet committed").path()
    }

    /// A new file `name` of the set, in the temporary directory (with the permissions of the file
    /// it will replace, if any).
    pub fn file(&mut self, name: &str) -> anyhow::Result<File> {
        let dest = self.dir.join(name);
        for input in &self.inputs {
            if same_file(&dest, input) {
                bail!("输出文件 {} 就是输入文件：拒绝覆盖输入，请换一个输出目录", dest.display());
            }
        }
        let path = self.tmp_dir().join(name);
        // Created with the registry locked: a signal's cleanup, which holds the lock to the end,
        // cannot find the directory emptied and a file then created in it (its removal failed).
        let f = {
            let _registry = in_flight();
            File::create(&path).map_err(|e| anyhow!("无法创建 {}：{e}", path.display()))?
        };
        if let Ok(m) = fs::metadata(&dest) {
            if m.is_file() {
                keep_mode_and_owner(&f, &m).map_err(|e| anyhow!("无法设置 {} 的权限：{e}", path.display()))?;
            }
        }
        self.names.push(name.to_string());
        Ok(f)
    }

    /// Swap the whole set in: every file of the set replaces its namesake in the directory, or
    /// (on any failure) none does.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let tmp = self.tmp.take().expect("committed once");
        let mut list = in_flight();
        let result = swap_in(&self.dir, tmp.path(), &self.names, |from, to| fs::rename(from, to));
        forget(&mut list, tmp.path());
        drop(list);
        let _ = tmp.close();
        result
    }
}

impl Drop for AtomicSet {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let mut list = in_flight();
            forget(&mut list, tmp.path());
            let _ = tmp.close();
        }
    }
}

/// Move `tmp/name` onto `dir/name` for every name, keeping each old file as `tmp/.old/name` until
/// all are in place; on a failure, undo the moves made (old files restored, new ones removed) and
/// name the file that could not be replaced. `rename` is `fs::rename` (a test injects failures).
fn swap_in(
    dir: &Path,
    tmp: &Path,
    names: &[String],
    mut rename: impl FnMut(&Path, &Path) -> io::Result<()>,
) -> anyhow::Result<()> {
    // What cannot be replaced is found before anything is touched.
    for name in names {
        let dest = dir.join(name);
        if let Ok(m) = fs::symlink_metadata(&dest) {
            if m.is_dir() {
                bail!("无法替换 {}：它是一个目录；本次名单均未写入，原有文件保持不变", dest.display());
            }
        }
    }
    let old = tmp.join(".old");
    fs::create_dir(&old).map_err(|e| anyhow!("无法在 {} 创建临时目录：{e}", tmp.display()))?;
    // (dest, backup of the old file if there was one) for each file moved in.
    let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    let mut failure = None;
    for name in names {
        let (new, dest) = (tmp.join(name), dir.join(name));
        let backup = if fs::symlink_metadata(&dest).is_ok() {
            let b = old.join(name);
            // The old file stays in place (a hard link keeps it) until the new one replaces it.
            if let Err(e) = fs::hard_link(&dest, &b).or_else(|_| fs::copy(&dest, &b).map(|_| ())) {
                failure = Some((dest, e));
                break;
            }
            Some(b)
        } else {
            None
        };
        if let Err(e) = rename(&new, &dest) {
            failure = Some((dest, e));
            break;
        }
        done.push((dest, backup));
    }
    let Some((dest, e)) = failure else { return Ok(()) };
    for (dest, backup) in done.into_iter().rev() {
        let _ = match backup {
            Some(b) => fs::rename(&b, &dest),
            None => fs::remove_file(&dest),
        };
    }
    bail!("无法替换 {}：{e}{LOCKED_HINT}；本次名单均未写入，原有文件保持不变", dest.display())
}

pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(dir: &Path, names: &[&str], text: &str) {
        for n in names {
            fs::write(dir.join(n), format!("{text} {n}")).unwrap();
        }
    }

    fn read(dir: &Path, n: &str) -> String {
        fs::read_to_string(dir.join(n)).unwrap()
    }

    #[test]
    fn a_set_is_swapped_in_whole() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["a.csv", "b.csv", "c.csv"];
        set_of(dir.path(), &names[..2], "old");
        let mut set = AtomicSet::create(dir.path(), &[]).unwrap();
        for n in names {
            write!(set.file(n).unwrap(), "new {n}").unwrap();
        }
        set.commit().unwrap();
        for n in names {
            assert_eq!(read(dir.path(), n), format!("new {n}"));
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3, "no temporary directory is left");
    }

    /// A failure at any step of the swap (a file that cannot be replaced, as one that Excel holds
    /// open on Windows) leaves the old set exactly as it was, and no new file.
    #[test]
    fn a_failing_swap_leaves_the_old_set() {
        let names: Vec<String> = ["a.csv", "b.csv", "c.csv", "d.csv"].map(String::from).to_vec();
        for fail_at in 0..names.len() {
            let dir = tempfile::tempdir().unwrap();
            let old: Vec<&str> = vec!["a.csv", "c.csv", "d.csv"];
            set_of(dir.path(), &old, "old");
            let tmp = tempfile::tempdir_in(dir.path()).unwrap();
            set_of(tmp.path(), &names.iter().map(String::as_str).collect::<Vec<_>>(), "new");
            let mut k = 0;
            let err = swap_in(dir.path(), tmp.path(), &names, |from, to| {
                k += 1;
                if k == fail_at + 1 {
                    return Err(io::Error::new(io::ErrorKind::PermissionDenied, "locked"));
                }
                fs::rename(from, to)
            })
            .unwrap_err()
            .to_string();
            assert!(err.contains(&names[fail_at]) && err.contains("原有文件保持不变"), "{err}");
            for n in &old {
                assert_eq!(read(dir.path(), n), format!("old {n}"), "failing at {fail_at}");
            }
            assert!(!dir.path().join("b.csv").exists(), "failing at {fail_at}: the new file is not left");
        }
    }

    #[test]
    fn a_directory_in_the_way_is_found_before_anything_moves() {
        let dir = tempfile::tempdir().unwrap();
        set_of(dir.path(), &["a.csv"], "old");
        fs::create_dir(dir.path().join("b.csv")).unwrap();
        let mut set = AtomicSet::create(dir.path(), &[]).unwrap();
        for n in ["a.csv", "b.csv"] {
            write!(set.file(n).unwrap(), "new {n}").unwrap();
        }
        let err = set.commit().unwrap_err().to_string();
        assert!(err.contains("b.csv") && err.contains("目录"), "{err}");
        assert_eq!(read(dir.path(), "a.csv"), "old a.csv");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary directory is left");
    }

    #[test]
    fn a_set_dropped_without_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        set_of(dir.path(), &["a.csv"], "old");
        let mut set = AtomicSet::create(dir.path(), &[]).unwrap();
        write!(set.file("a.csv").unwrap(), "half").unwrap();
        drop(set);
        assert_eq!(read(dir.path(), "a.csv"), "old a.csv");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_symlink_its_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.csv");
        fs::write(&target, "old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        let mut f = AtomicFile::create(&link, &[]).unwrap();
        f.writer().write_all(b"new").unwrap();
        f.commit().unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

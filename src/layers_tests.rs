//! The crate's layers (src/lib.rs): every `crate::` path in a module names its own module or one
//! of a lower layer. An edge up the order, and so any import cycle between top-level modules,
//! fails `layers_point_down` with the file and line of each offending path.
//!
//! Comments, doc links and string literals are not dependencies and are skipped, and so is test
//! code (`#[cfg(test)]` items and the files of `#[cfg(test)] mod x;`): a test may use a higher
//! layer to build its cases.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::LAYERS;

/// One path in source text that names a module of a higher layer.
#[derive(Debug, PartialEq)]
struct Upward {
    file: String,
    line: usize,
    from: String,
    to: String,
}

#[test]
fn layers_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let texts: Vec<(PathBuf, String)> =
        files.iter().map(|f| (f.clone(), std::fs::read_to_string(f).unwrap())).collect();
    let test_only: BTreeSet<PathBuf> = texts
        .iter()
        .flat_map(|(f, text)| test_modules(&code_only(text)).into_iter().map(|m| module_file(f, &m)))
        .collect();
    let mut upward = Vec::new();
    let mut seen = BTreeSet::new();
    for (f, text) in &texts {
        let rel = f.strip_prefix(&src).unwrap();
        let Some(top) = top_module(rel) else { continue };
        if test_only.contains(f) {
            continue;
        }
        seen.insert(top.clone());
        upward.extend(upward_uses(&rel.display().to_string(), &top, text));
    }
    let unplaced: Vec<&String> = seen.iter().filter(|m| !LAYERS.contains(&m.as_str())).collect();
    assert!(unplaced.is_empty(), "modules not placed in lib.rs's LAYERS: {unplaced:?}");
    let listed: Vec<&&str> = LAYERS.iter().filter(|m| !seen.contains(**m)).collect();
    assert!(listed.is_empty(), "LAYERS names modules that do not exist: {listed:?}");
    let lines: Vec<String> =
        upward.iter().map(|u| format!("{}:{}: {} uses {}, a higher layer", u.file, u.line, u.from, u.to)).collect();
    assert!(lines.is_empty(), "paths up the layers of src/lib.rs:\n{}", lines.join("\n"));
}

/// The checker itself finds an edge up, and only that one: a module of the lowest layer naming
/// one of the highest, in each form a path takes; test code, comments and strings are left out.
#[test]
fn an_edge_up_is_found() {
    let (low, high) = (LAYERS[0], LAYERS[LAYERS.len() - 1]);
    let text = format!(
        "use crate::{low}::x;\n// crate::{high}::doc\nlet s = \"crate::{high}\";\nuse crate::{{{low}, {high}::{{a, b}}}};\n\
         fn f() {{ crate::{high}::g() }}\n#[cfg(test)]\nmod tests {{ use crate::{high}; }}\n"
    );
    let found = upward_uses("x.rs", low, &text);
    let at: Vec<usize> = found.iter().map(|u| u.line).collect();
    assert_eq!(at, [4, 5], "{found:?}");
    assert!(found.iter().all(|u| u.to == high && u.from == low));
    assert!(upward_uses("x.rs", high, &text).is_empty());
    assert_eq!(test_modules(&code_only("#[cfg(test)]\nmod member_tests;\nmod kept;")), ["member_tests"]);
}

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate root and the binary).
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// The file of module `name` declared in `parent`.
fn module_file(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.parent().unwrap();
    let stem = parent.file_stem().unwrap().to_str().unwrap();
    let base = if matches!(stem, "mod" | "lib" | "main") { dir.to_path_buf() } else { dir.join(stem) };
    base.join(format!("{name}.rs"))
}

/// The paths of `text` (a file of module `top`) that name a module above `top`.
fn upward_uses(file: &str, top: &str, text: &str) -> Vec<Upward> {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let Some(own) = rank(top) else { return Vec::new() };
    let code = without_test_items(&code_only(text));
    let mut out = Vec::new();
    for (at, target) in crate_paths(&code) {
        if rank(&target).is_some_and(|r| r > own) {
            let line = code[..at].matches('\n').count() + 1;
            out.push(Upward { file: file.to_string(), line, from: top.to_string(), to: target });
        }
    }
    out
}

/// Each `crate::` path's first module, with the offset where the path starts: `crate::a::b` gives
/// `a`; `crate::{a, b::c}` gives `a` and `b`.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::").map(|i| i + from) {
        from = i + 7;
        if i > 0 && (ident(b[i - 1]) || b[i - 1] == b'$') {
            continue;
        }
        let rest = code[from..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // The names at the group's own depth, each before `,`, `::` or `}`.
            let (mut depth, mut name, mut first) = (1, String::new(), true);
            for c in group.chars() {
                if depth == 1 && first && (c.is_alphanumeric() || c == '_') {
                    name.push(c);
                    continue;
                }
                if !name.is_empty() {
                    out.push((i, std::mem::take(&mut name)));
                }
                first &= c.is_whitespace();
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => first = true,
                    _ => {}
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push((i, name));
            }
        }
    }
    out.retain(|(_, n)| n != "self");
    out
}

/// A comment or a string or character literal of Rust source text, in char offsets: `start..end`
/// the whole of it; for a string literal, the range of its body and whether it is raw.
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub string: Option<(std::ops::Range<usize>, bool)>,
}

/// The comments and the string and character literals of `c`, in order (what `code_only` blanks
/// and what the message scan of src/messages/tests.rs reads).
pub(crate) fn spans(c: &[char]) -> Vec<Span> {
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        // An identifier character before `r` makes it part of a name, except the `b` of `br"…"`.
        let byte_prefix = i > 0 && c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2]));
        let prev_ident = i > 0 && ident(c[i - 1]) && !byte_prefix;
        let (end, string) = if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            ((i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len()), None)
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let (mut depth, mut j) = (0, i);
            while j < c.len() {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            (j, None)
        } else if c[i] == 'r' && !prev_ident && matches!(c.get(i + 1), Some('"' | '#')) {
            let hashes = c[i + 1..].iter().take_while(|&&ch| ch == '#').count();
            if c.get(i + 1 + hashes) != Some(&'"') {
                i += 1;
                continue;
            }
            let body = i + 2 + hashes;
            let mut j = body;
            while j < c.len()
                && !(c[j] == '"' && c[j + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes)
            {
                j += 1;
            }
            (j + 1 + hashes, Some((body..j, true)))
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            (j + 1, Some((i + 1..j.min(c.len()), false)))
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            ((i + 3..c.len()).find(|&j| c[j] == '\'').map_or(c.len(), |j| j + 1), None)
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            (i + 3, None)
        } else {
            i += 1;
            continue;
        };
        let end = end.min(c.len());
        out.push(Span { start: i, end, string });
        i = end;
    }
    out
}

/// `text` with comments and the contents of string and character literals blanked (newlines
/// kept, so offsets still give line numbers).
pub(crate) fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans(&c) {
        out.extend(&c[at..s.start]);
        out.extend(c[s.start..s.end].iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
        at = s.end;
    }
    out.extend(&c[at..]);
    out
}

/// The names of the `#[cfg(test)] mod x;` declarations of `code`.
fn test_modules(code: &str) -> Vec<String> {
    test_items(code)
        .into_iter()
        .filter_map(|(start, end)| {
            let item = code[start..end].trim();
            let item = item.strip_prefix("pub(crate) ").or_else(|| item.strip_prefix("pub ")).unwrap_or(item);
            let name = item.strip_prefix("mod ")?.strip_suffix(';')?.trim();
            Some(name.to_string())
        })
        .collect()
}

/// `code` with every `#[cfg(test)]` item blanked.
fn without_test_items(code: &str) -> String {
    let mut out = code.to_string();
    for (start, end) in test_items(code) {
        let blanked: String = code[start..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        out.replace_range(start..end, &blanked);
    }
    out
}

/// The byte range of each item after a `#[cfg(test)]` (from after the attribute to its `;` or
/// closing brace). `code` has its comments and literals blanked.
pub(crate) fn test_items(code: &str) -> Vec<(usize, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("#[cfg(test)]").map(|i| i + from) {
        let start = i + "#[cfg(test)]".len();
        let mut j = start;
        let mut depth = 0usize;
        let is_use = code[start..].trim_start().starts_with("use ");
        while j < b.len() {
            match b[j] {
                b'{' if !is_use => depth += 1,
                b'}' if !is_use => {
                    depth -= 1;
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    j += 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        out.push((start, j.min(b.len())));
        from = j.max(start);
    }
    out
}

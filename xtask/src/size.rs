//! The workspace's limits on source size: no Rust file over [`MAX_FILE_LINES`] lines and no
//! function over [`MAX_FN_LINES`] lines, counted from the `fn` line to its closing brace.
//!
//! Functions are found by layout, as `rustfmt` writes them: a line whose first token (after
//! visibility and qualifiers) is `fn`, ending at the first later line that is a lone `}` at the
//! same indentation. Declarations without a body (trait methods ending in `;`) are skipped.

use std::path::{Path, PathBuf};

/// The most lines a source file may have.
pub const MAX_FILE_LINES: usize = 500;
/// The most lines a function may have.
pub const MAX_FN_LINES: usize = 80;

/// A file or function over its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line where the file or function starts.
    pub line: usize,
    /// What is too long (`file` or the function's name).
    pub what: String,
    /// Its length in lines.
    pub lines: usize,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} has {} lines",
            self.path.display(),
            self.line,
            self.what,
            self.lines
        )
    }
}

/// Every violation in the `.rs` files under `roots` (`target/` folders skipped).
pub fn check(roots: &[PathBuf]) -> std::io::Result<Vec<Violation>> {
    let mut files = Vec::new();
    for root in roots {
        collect(root, &mut files)?;
    }
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        out.extend(check_source(&path, &text));
    }
    Ok(out)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && !path.ends_with("target") {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The violations of one source text.
pub fn check_source(path: &Path, text: &str) -> Vec<Violation> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    if lines.len() > MAX_FILE_LINES {
        out.push(Violation {
            path: path.to_path_buf(),
            line: 1,
            what: "file".into(),
            lines: lines.len(),
        });
    }
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let indent = line.len() - line.trim_start().len();
        if let Some(len) = body_length(&lines[i..], indent)
            && len > MAX_FN_LINES
        {
            out.push(Violation {
                path: path.to_path_buf(),
                line: i + 1,
                what: format!("fn {name}"),
                lines: len,
            });
        }
    }
    out
}

/// The function's name when `line` starts a function.
fn fn_name(line: &str) -> Option<String> {
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
        "extern \"C\" ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(rest[..end].to_string())
}

/// Lines from the `fn` line to its closing brace, or `None` for a declaration without body.
fn body_length(lines: &[&str], indent: usize) -> Option<usize> {
    let close = format!("{}}}", " ".repeat(indent));
    for (k, line) in lines.iter().enumerate() {
        let t = line.trim_end();
        if k == 0 && (t.ends_with('}') && t.contains('{')) {
            return Some(1);
        }
        if t.ends_with(';') && !lines[..=k].iter().any(|l| l.trim_end().ends_with('{')) {
            return None;
        }
        if k > 0 && t == close {
            return Some(k + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_fn(body: usize) -> String {
        let mut s = String::from("    pub fn f(x: u8) -> u8 {\n");
        for _ in 0..body {
            s.push_str("        let _ = x;\n");
        }
        s.push_str("        x\n    }\n");
        s
    }

    #[test]
    fn finds_long_functions_and_files_and_skips_declarations() {
        let p = Path::new("x.rs");
        assert!(check_source(p, &long_fn(70)).is_empty());
        let v = check_source(p, &long_fn(90));
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].what.as_str(), v[0].lines), ("fn f", 93));
        assert!(check_source(p, "trait T {\n    fn g(&self) -> u8;\n}\n").is_empty());
        let big = "// x\n".repeat(MAX_FILE_LINES + 1);
        assert_eq!(check_source(p, &big)[0].what, "file");
    }
}

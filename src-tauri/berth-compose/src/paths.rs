//! Relative paths → absolute, against the directory that declared them (compose-go `paths`).

use std::path::{Component, Path, PathBuf};

use crate::node::{Node, Value};

/// Resolves every path-valued field of a document against `dir`.
pub fn resolve_doc(doc: &mut Node, dir: &Path, home: Option<&str>) {
    if let Some(Value::Map(services)) = doc.get_mut("services").map(|n| &mut n.value) {
        for s in services {
            resolve_service(&mut s.value, dir, home);
        }
    }
    for kind in ["secrets", "configs"] {
        if let Some(Value::Map(items)) = doc.get_mut(kind).map(|n| &mut n.value) {
            for item in items {
                if let Some(f) = item.value.get_mut("file") {
                    abs_node(f, dir, home);
                }
            }
        }
    }
    if let Some(Value::Map(vols)) = doc.get_mut("volumes").map(|n| &mut n.value) {
        for v in vols {
            let bind = v
                .value
                .get("driver_opts")
                .and_then(|o| o.get("o"))
                .and_then(Node::as_str)
                .is_some_and(|o| o.split(',').any(|x| x == "bind"));
            if bind
                && let Some(dev) = v
                    .value
                    .get_mut("driver_opts")
                    .and_then(|o| o.get_mut("device"))
            {
                abs_node(dev, dir, home);
            }
        }
    }
}

/// Resolves the path-valued fields of one service.
pub fn resolve_service(s: &mut Node, dir: &Path, home: Option<&str>) {
    if let Some(b) = s.get_mut("build") {
        if let Some(ctx) = b.get_mut("context")
            && ctx.as_str().is_some_and(|c| !is_remote(c))
        {
            abs_node(ctx, dir, home);
        }
        if let Some(Value::Map(extra)) = b.get_mut("additional_contexts").map(|n| &mut n.value) {
            for e in extra {
                if e.value
                    .as_str()
                    .is_some_and(|c| !is_remote(c) && !c.contains(':'))
                {
                    abs_node(&mut e.value, dir, home);
                }
            }
        }
    }
    if let Some(Value::Seq(items)) = s.get_mut("env_file").map(|n| &mut n.value) {
        for i in items {
            if let Some(p) = i.get_mut("path") {
                abs_node(p, dir, home);
            }
        }
    }
    if let Some(Value::Seq(items)) = s.get_mut("label_file").map(|n| &mut n.value) {
        for i in items {
            abs_node(i, dir, home);
        }
    }
    if let Some(Value::Seq(items)) = s.get_mut("volumes").map(|n| &mut n.value) {
        for v in items {
            if v.get("type").and_then(Node::as_str) == Some("bind")
                && let Some(src) = v.get_mut("source")
            {
                abs_node(src, dir, home);
            }
        }
    }
    if let Some(Value::Seq(items)) = s
        .get_mut("develop")
        .and_then(|d| d.get_mut("watch"))
        .map(|n| &mut n.value)
    {
        for w in items {
            if let Some(p) = w.get_mut("path") {
                abs_node(p, dir, home);
            }
        }
    }
    if let Some(ext) = s.get_mut("extends")
        && let Some(f) = ext.get_mut("file")
    {
        abs_node(f, dir, home);
    }
}

/// `C:…`: absolute on Windows, kept as written like compose does.
pub fn is_windows_abs(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

fn is_remote(ctx: &str) -> bool {
    ctx.contains("://") || ctx.starts_with("git@") || ctx.starts_with("github.com/")
}

fn abs_node(n: &mut Node, dir: &Path, home: Option<&str>) {
    if let Value::Str(p) = &n.value {
        n.value = Value::Str(absolute(p, dir, home));
    }
}

/// `~` → home, relative → `dir`-relative, then lexically cleaned like Go's `filepath.Clean`.
pub fn absolute(p: &str, dir: &Path, home: Option<&str>) -> String {
    if is_windows_abs(p) || p.starts_with("\\\\") {
        return p.to_owned();
    }
    let expanded = match (p.strip_prefix('~'), home) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{h}{rest}")
        }
        _ => p.to_owned(),
    };
    let path = Path::new(&expanded);
    if path.is_absolute() {
        // Compose leaves absolute paths as written (trailing slash included).
        return expanded;
    }
    clean(&dir.join(path)).to_string_lossy().into_owned()
}

/// Lexical cleaning: drops `.`, folds `..`, never touches the file system.
pub fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths() {
        let dir = Path::new("/proj/app");
        assert_eq!(absolute("./data", dir, None), "/proj/app/data");
        assert_eq!(absolute("../x/./y", dir, None), "/proj/x/y");
        assert_eq!(absolute("/abs/", dir, None), "/abs/");
        assert_eq!(absolute("~/cfg", dir, Some("/home/u")), "/home/u/cfg");
        assert_eq!(absolute("C:\\data", dir, None), "C:\\data");
        assert_eq!(absolute(".", dir, None), "/proj/app");
    }
}

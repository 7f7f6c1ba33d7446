//! A build context as the tar archive the build endpoint takes: the directory, less what its
//! `.dockerignore` excludes, matched as the Docker CLI matches it (moby's patternmatcher: `*`,
//! `?`, `[…]` within one path element, `**` across them, `!` re-includes, the last match wins,
//! and a pattern that matches a directory excludes everything under it).

use std::path::Path;

use regex::Regex;

/// One `.dockerignore` line.
struct Pattern {
    regex: Regex,
    /// How many path elements it has: it is also tried on a path's first that many.
    depth: usize,
    exception: bool,
}

/// The patterns of a `.dockerignore`.
pub(crate) struct Ignore(Vec<Pattern>);

impl Ignore {
    /// Parses `.dockerignore` text. The Dockerfile and `.dockerignore` are always sent, as the
    /// Docker CLI sends them whatever the file says (the daemon needs them).
    pub(crate) fn parse(text: &str, dockerfile: &str) -> Ignore {
        let mut ignore = Ignore::lines(text.lines());
        for always in [dockerfile, ".dockerignore"] {
            ignore.0.extend(pattern(&format!("!{always}")));
        }
        ignore
    }

    /// The patterns alone, one per line, as watch mode's `ignore:`/`include:` lists and a
    /// `.dockerignore` read for it are (nothing is always sent there).
    pub(crate) fn lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Ignore {
        Ignore(
            lines
                .into_iter()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .filter_map(pattern)
                .collect(),
        )
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out. What is under an
    /// excluded directory is excluded too, unless a `!` pattern takes it back.
    pub(crate) fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        let mut end = 0;
        while end < path.len() {
            end = path[end + 1..]
                .find('/')
                .map_or(path.len(), |i| end + 1 + i);
            excluded = self.excludes_under(&path[..end], excluded);
        }
        excluded
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out, given whether its
    /// directory is: what is under an excluded directory is excluded too, unless a `!` pattern
    /// takes it back.
    fn excludes_under(&self, path: &str, parent_excluded: bool) -> bool {
        let elements: Vec<&str> = path.split('/').collect();
        let mut excluded = parent_excluded;
        for p in &self.0 {
            if p.exception != excluded {
                continue;
            }
            let parent_match =
                p.depth < elements.len() && p.regex.is_match(&elements[..p.depth].join("/"));
            if p.regex.is_match(path) || parent_match {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// Whether some `!` pattern could re-include something under an excluded directory, which
    /// must then be walked rather than skipped whole.
    pub(crate) fn has_exceptions(&self) -> bool {
        self.0.iter().any(|p| p.exception)
    }
}

fn pattern(line: &str) -> Option<Pattern> {
    let (exception, rest) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    let cleaned = clean(rest);
    if cleaned.is_empty() || cleaned == "." {
        return None;
    }
    Some(Pattern {
        regex: Regex::new(&to_regex(&cleaned)).ok()?,
        depth: cleaned.split('/').count(),
        exception,
    })
}

/// `filepath.Clean` of a pattern, without leading or trailing slashes.
fn clean(pattern: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for element in pattern.split('/') {
        match element {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            e => out.push(e),
        }
    }
    out.join("/")
}

fn to_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    // `**/` is any number of leading directories, none included.
                    i += 1;
                    out.push_str("(.*/)?");
                } else {
                    out.push_str(".*");
                }
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                out.push_str(&regex::escape(&chars[i].to_string()));
            }
            '[' => {
                // A character class passes through up to its `]`.
                let end = chars[i..].iter().position(|&c| c == ']').map(|e| i + e);
                match end {
                    Some(end) => {
                        let class: String = chars[i + 1..end].iter().collect();
                        let class = class.replacen('!', "^", usize::from(class.starts_with('!')));
                        out.push('[');
                        out.push_str(&class);
                        out.push(']');
                        i = end;
                    }
                    None => out.push_str(r"\["),
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out.push('$');
    out
}

/// The context directory as a tar archive, less what its `.dockerignore` excludes.
pub(crate) fn archive(dir: &Path, dockerfile: &str) -> std::io::Result<Vec<u8>> {
    let ignore = match std::fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => Ignore::parse(&text, dockerfile),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    add_dir(&mut tar, dir, "", false, &ignore)?;
    tar.into_inner()
}

fn add_dir(
    tar: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    prefix: &str,
    dir_excluded: bool,
    ignore: &Ignore,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        let excluded = ignore.excludes_under(&path, dir_excluded);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if excluded && !ignore.has_exceptions() {
                continue;
            }
            if !excluded {
                tar.append_dir(&path, entry.path())?;
            }
            add_dir(tar, &entry.path(), &format!("{path}/"), excluded, ignore)?;
        } else if !excluded {
            tar.append_path_with_name(entry.path(), &path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_the_docker_cli_matches_them() {
        let ignore = Ignore::parse(
            "# comment\n*.log\n/build/\n**/node_modules\nsecret?.txt\n!keep.log\ndocs/[a-c]*\n",
            "Dockerfile",
        );
        for excluded in [
            "app.log",
            "build",
            "build/out/x",
            "node_modules",
            "web/ui/node_modules/a.js",
            "secret1.txt",
            "docs/b.md",
        ] {
            assert!(ignore.excludes(excluded), "{excluded} should be excluded");
        }
        for kept in [
            "keep.log",
            "sub/app.log",
            "src/build",
            "secret12.txt",
            "docs/d.md",
            "Dockerfile",
            ".dockerignore",
        ] {
            assert!(!ignore.excludes(kept), "{kept} should be kept");
        }
        let all = Ignore::parse("*\n!src\n", "Dockerfile");
        assert!(all.excludes("README.md"));
        assert!(!all.excludes("src/main.rs"));
        assert!(!all.excludes("Dockerfile"), "the Dockerfile is always sent");
    }
}

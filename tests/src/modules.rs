//! The module graph of a crate, read from its source: which module names which through `crate::`
//! and `super::` paths (re-exports followed to the module that defines the item). Unit tests
//! (`#[cfg(test)] mod … { … }`) and comments are left out: they are not what the code depends on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`logs::line`, `""` for the crate root) → the modules it refers to.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The graph of the crate whose root file (`lib.rs` or `main.rs`) is in `dir`. A `bin`
/// directory beside a `lib.rs` holds other crates and is skipped.
pub fn graph(dir: &Path) -> Graph {
    let mut sources = BTreeMap::new();
    read(dir, dir, dir.join("lib.rs").is_file(), &mut sources);
    let reexports: BTreeMap<&str, BTreeMap<String, Vec<String>>> = sources
        .iter()
        .map(|(module, code)| (module.as_str(), reexports(module, code, &sources)))
        .collect();
    let mut graph = Graph::new();
    for (module, code) in &sources {
        let targets = graph.entry(module.clone()).or_default();
        for path in references(module, code) {
            let target = resolve(&path, &sources, &reexports);
            if target != *module {
                targets.insert(target);
            }
        }
    }
    graph
}

/// The module cycles in `graph`, one per strongly connected group, each as the path that
/// closes it (`a -> b -> a`).
pub fn cycles(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for start in graph.keys() {
        if seen.contains(start) {
            continue;
        }
        if let Some(path) = path_back(graph, start) {
            // The rest of its group would name the same cycle again.
            let group = reachable(graph, start)
                .into_iter()
                .filter(|m| reachable(graph, m).contains(start));
            seen.extend(group.cloned());
            found.push(path.join(" -> "));
        }
    }
    found
}

fn read(root: &Path, dir: &Path, lib: bool, sources: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if !(lib && dir == root && path.file_name().is_some_and(|n| n == "bin")) {
                read(root, &path, lib, sources);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under the root");
        let mut parts: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod")
            || (parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main"))
        {
            parts.pop();
        }
        let code = std::fs::read_to_string(&path).expect("a source file");
        sources.insert(parts.join("::"), without_tests(&code));
    }
}

/// `code` without comment lines and `#[cfg(test)]` inline modules.
fn without_tests(code: &str) -> String {
    let mut kept = String::new();
    let mut lines = code.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.ends_with('{'))
        {
            let indent = &line[..line.len() - trimmed.len()];
            let close = format!("{indent}}}");
            for inner in lines.by_ref() {
                if inner == close {
                    break;
                }
            }
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Every `crate::…` and `super::…` path in `code`, made absolute (segments from the root).
fn references(module: &str, code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("::") {
        let start = code[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        // Only the first `::` of a path starts one.
        if code[start..at].contains("::") {
            continue;
        }
        let head = &code[start..at];
        if head != "crate" && head != "super" {
            continue;
        }
        let mut base: Vec<String> = if head == "crate" {
            Vec::new()
        } else {
            parent(&segments(module))
        };
        let mut rest = &code[at + 2..];
        while let Some(after) = rest.strip_prefix("super::") {
            base = parent(&base);
            rest = after;
        }
        for tail in expand(rest) {
            let mut path = base.clone();
            path.extend(tail);
            paths.push(path);
        }
    }
    paths
}

/// The paths a `use` tail stands for: `a::{b, c::d}` → `a::b`, `a::c::d`.
fn expand(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start();
    let ident_end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    if ident_end == 0 {
        if text.starts_with('{') {
            let inner = &text[1..matching_brace(text)];
            return split_top(inner).into_iter().flat_map(expand).collect();
        }
        return vec![Vec::new()];
    }
    let ident = text[..ident_end].to_owned();
    let rest = &text[ident_end..];
    match rest.strip_prefix("::") {
        Some(more) => expand(more)
            .into_iter()
            .map(|mut tail| {
                tail.insert(0, ident.clone());
                tail
            })
            .collect(),
        None => vec![vec![ident]],
    }
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// `inner` split at its top-level commas.
fn split_top(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[from..]);
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// What `module`'s `pub use child::…` statements re-export: name → its absolute path.
fn reexports(
    module: &str,
    code: &str,
    sources: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    for statement in code.split(';') {
        let statement = statement.trim();
        let Some(tail) = ["pub use ", "pub(crate) use "]
            .iter()
            .find_map(|p| statement.strip_prefix(p))
        else {
            continue;
        };
        for path in expand(tail) {
            let Some(first) = path.first() else { continue };
            let mut absolute = segments(module);
            absolute.push(first.clone());
            if !sources.contains_key(&absolute.join("::")) {
                continue;
            }
            absolute.extend(path[1..].iter().cloned());
            if let Some(name) = path.last() {
                names.insert(name.clone(), absolute);
            }
        }
    }
    names
}

/// The module an absolute path lands in: the longest module prefix, through re-exports.
fn resolve(
    path: &[String],
    sources: &BTreeMap<String, String>,
    reexports: &BTreeMap<&str, BTreeMap<String, Vec<String>>>,
) -> String {
    let mut module: Vec<String> = Vec::new();
    for segment in path {
        if segment == "self" {
            continue;
        }
        let mut candidate = module.clone();
        candidate.push(segment.clone());
        if sources.contains_key(&candidate.join("::")) {
            module = candidate;
            continue;
        }
        let here = module.join("::");
        if let Some(target) = reexports.get(here.as_str()).and_then(|r| r.get(segment))
            && target.as_slice() != path
        {
            return resolve(target, sources, reexports);
        }
        break;
    }
    module.join("::")
}

fn segments(module: &str) -> Vec<String> {
    module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parent(segments: &[String]) -> Vec<String> {
    segments[..segments.len().saturating_sub(1)].to_vec()
}

fn reachable<'a>(graph: &'a Graph, from: &str) -> BTreeSet<&'a String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&String> = graph.get(from).into_iter().flatten().collect();
    while let Some(m) = todo.pop() {
        if seen.insert(m) {
            todo.extend(graph.get(m).into_iter().flatten());
        }
    }
    seen
}

/// The shortest path from `start` back to itself, if there is one.
fn path_back(graph: &Graph, start: &String) -> Option<Vec<String>> {
    let mut previous: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(m) = queue.pop_front() {
        for next in graph.get(m).into_iter().flatten() {
            if next == start {
                let mut path = vec![start.clone()];
                let mut at = m;
                while at != start {
                    path.push(at.clone());
                    at = previous[at];
                }
                path.push(start.clone());
                path.reverse();
                return Some(path);
            }
            if !previous.contains_key(next) {
                previous.insert(next, m);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ is in the workspace")
            .to_path_buf()
    }

    /// Every crate's modules form a tree of dependencies, not a web: each cycle is named.
    #[test]
    fn no_crate_has_a_module_cycle() {
        let crates = [
            "src-tauri/berth-compose/src",
            "src-tauri/berth-engine/src",
            "src-tauri/berth-engine/src/bin/berthctl",
            "src-tauri/src",
            "tests/src",
        ];
        let mut found = Vec::new();
        for dir in crates {
            let graph = graph(&workspace().join(dir));
            assert!(graph.len() > 1, "{dir}: no modules read");
            for cycle in cycles(&graph) {
                found.push(format!("{dir}: {cycle}"));
            }
        }
        assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
    }

    #[test]
    fn reads_grouped_uses_super_paths_and_re_exports() {
        let code = "use crate::{a::{self, X}, b::Y};\nfn f() { super::c::g(); }\n";
        assert_eq!(
            references("d::e", code),
            [
                vec!["a".to_owned(), "self".into()],
                vec!["a".into(), "X".into()],
                vec!["b".into(), "Y".into()],
                vec!["d".into(), "c".into(), "g".into()],
            ]
        );
        let mut graph = Graph::new();
        graph.insert("a".into(), ["b".to_owned()].into());
        graph.insert("b".into(), ["c".to_owned()].into());
        graph.insert("c".into(), ["a".to_owned()].into());
        graph.insert("d".into(), ["a".to_owned()].into());
        assert_eq!(cycles(&graph), ["a -> b -> c -> a"]);
    }
}

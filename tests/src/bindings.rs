//! The TypeScript types generated from Rust (ts-rs, `ui/src/bindings`) against what the UI
//! imports: a type is exported only when the UI imports it, a file there is one the UI needs
//! (imported, or named by one that is), and no UI file writes a generated type again by hand.

use std::collections::BTreeSet;
use std::path::Path;

/// Files under `dir` (recursively) whose name ends in one of `suffixes`, with their text.
pub fn sources(dir: &Path, suffixes: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            let name = path.to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.ends_with("node_modules") && !name.ends_with("target") {
                    todo.push(path);
                }
            } else if suffixes.iter().any(|s| name.ends_with(s)) {
                let text = std::fs::read_to_string(&path).expect("a source file");
                found.push((name, text));
            }
        }
    }
    found.sort();
    found
}

/// The names after `marker` in `text`, each up to the first character that is not a word's.
pub fn names_after(text: &str, marker: &str) -> BTreeSet<String> {
    text.match_indices(marker)
        .map(|(at, _)| {
            let rest = &text[at + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The Rust types marked `#[ts(export)]` in `code`.
pub fn exported(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    // `None` outside an export; `Some(rename)` after `#[ts(export…)]`, until the item.
    let mut marked: Option<Option<String>> = None;
    for line in code.lines().map(str::trim) {
        if let Some(args) = line.strip_prefix("#[ts(export") {
            marked = Some(names_after(args, "rename = \"").into_iter().next());
        } else if let Some(rename) = &marked
            && let Some(rest) = ["pub struct ", "pub enum ", "pub type "]
                .iter()
                .find_map(|p| line.strip_prefix(p))
        {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.insert(rename.clone().unwrap_or_else(|| rest[..end].to_owned()));
            marked = None;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn only_what_the_ui_imports_is_generated_and_nothing_is_copied_by_hand() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ is in the workspace");
        let ui = root.join("ui/src");
        let bindings_dir = ui.join("bindings");
        let bindings: BTreeMap<String, String> = sources(&bindings_dir, &[".ts"])
            .into_iter()
            .map(|(path, text)| {
                let name = Path::new(&path).file_stem().unwrap().to_string_lossy();
                (name.into_owned(), text)
            })
            .collect();
        let ui_files: Vec<(String, String)> = sources(&ui, &[".ts", ".svelte"])
            .into_iter()
            .filter(|(path, _)| !Path::new(path).starts_with(&bindings_dir))
            .collect();

        let imported: BTreeSet<String> = ui_files
            .iter()
            .flat_map(|(_, text)| names_after(text, "bindings/"))
            .collect();
        let exported: BTreeSet<String> = sources(&root.join("src-tauri"), &[".rs"])
            .iter()
            .flat_map(|(_, code)| exported(code))
            .collect();
        let mut problems = Vec::new();
        for name in exported.difference(&imported) {
            problems.push(format!("{name} is exported but the UI never imports it"));
        }
        for name in imported.difference(&exported) {
            problems.push(format!("{name} is imported but not #[ts(export)]"));
        }

        let mut needed = BTreeSet::new();
        let mut todo: Vec<String> = imported.iter().cloned().collect();
        while let Some(name) = todo.pop() {
            if let Some(text) = bindings.get(&name)
                && needed.insert(name)
            {
                todo.extend(names_after(text, "from \"./"));
            }
        }
        for name in bindings.keys().filter(|n| !needed.contains(*n)) {
            problems.push(format!(
                "ui/src/bindings/{name}.ts is stale: nothing needs it"
            ));
        }

        for (path, text) in &ui_files {
            for name in bindings.keys() {
                for declaration in [format!("interface {name} "), format!("type {name} =")] {
                    if text.contains(&declaration) {
                        problems.push(format!("{path} copies the generated {name} by hand"));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

//! The watched trees, through inotify: one watch per directory some rule wants, added as
//! directories appear, so an ignored directory (`.git`, `node_modules`, an `ignore:`d one) never
//! costs a watch nor a walk. notify's own recursive mode would watch every directory.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use notify::event::{EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::file_watch::edits;
use crate::watch::rules::Rule;

pub(crate) struct Tree {
    watcher: RecommendedWatcher,
    dirs: HashSet<PathBuf>,
}

impl Tree {
    /// A tree whose raw events go to the returned receiver.
    pub(crate) fn new() -> notify::Result<(Tree, mpsc::UnboundedReceiver<notify::Event>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                let _ = tx.send(event);
            }
        })?;
        Ok((
            Tree {
                watcher,
                dirs: HashSet::new(),
            },
            rx,
        ))
    }

    /// Watches `root` (a trigger's path, or its directory when it is a file) and every directory
    /// under it some rule wants; returns the files found under directories newly watched if
    /// `files` (only an initial sync wants those of the first walk: a big tree's paths cost).
    pub(crate) fn add(
        &mut self,
        root: &Path,
        rules: &[Rule],
        files: bool,
    ) -> notify::Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            if self.dirs.contains(&dir) {
                continue;
            }
            match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {}
                // Gone again before it was watched: its removal is an event of its own.
                Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => continue,
                Err(e) if dir != root => {
                    tracing::debug!("not watching {}: {e}", dir.display());
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.dirs.insert(dir.clone());
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => {
                        if rules.iter().any(|r| r.wants_dir(&path)) {
                            stack.push(path);
                        }
                    }
                    Ok(_) if files => found.push(path),
                    Ok(_) => {}
                    Err(_) => {}
                }
            }
        }
        Ok(found)
    }

    /// The paths an event says changed, new directories watched (with the files already in
    /// them, which were written before the watch could see them).
    pub(crate) fn changed(&mut self, event: notify::Event, rules: &[Rule]) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        if !edits(&event.kind) {
            return out;
        }
        let moved_away = matches!(
            event.kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From))
        );
        for path in event.paths {
            if moved_away && self.dirs.remove(&path) {
                let _ = self.watcher.unwatch(&path);
                self.dirs.retain(|d| !d.starts_with(&path));
            }
            if !moved_away && path.is_dir() {
                if rules.iter().any(|r| r.wants_dir(&path)) {
                    out.extend(self.add(&path, rules, true).unwrap_or_default());
                }
                continue;
            }
            out.insert(path);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::config::{Action, Trigger};

    #[tokio::test]
    async fn ignored_directories_are_neither_watched_nor_walked() {
        let dir = std::env::temp_dir().join(format!("berth-watch-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in [
            "src/lib",
            "src/.git/objects",
            "src/node_modules/x",
            "src/cache/deep",
            "other",
        ] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("src/lib/a.js"), "").unwrap();
        std::fs::write(dir.join("src/cache/deep/c"), "").unwrap();
        let trigger = Trigger {
            path: dir.join("src"),
            action: Action::Sync,
            target: Some("/app".into()),
            ignore: vec!["cache/".into()],
            include: Vec::new(),
            initial_sync: false,
            exec: None,
        };
        let rules = [Rule::new("web", trigger, None)];
        let (mut tree, _raw) = Tree::new().unwrap();
        let found = tree.add(&dir, &rules, true).unwrap();
        let mut watched: Vec<String> = (tree.dirs.iter())
            .map(|d| d.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        watched.sort();
        assert_eq!(watched, ["", "src", "src/lib"]);
        assert_eq!(found, [dir.join("src/lib/a.js")]);
        // Without an initial sync the first walk keeps no file paths.
        let (mut tree, _raw) = Tree::new().unwrap();
        assert_eq!(
            tree.add(&dir, &rules, false).unwrap(),
            Vec::<PathBuf>::new()
        );
        assert_eq!(tree.dirs.len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Watching a project's files (compose, env, included and extended files) for edits, through
//! the kernel's file notifications (inotify on Linux): no polling. Each file is watched through
//! its directory, so a save that writes a new file and renames it over the old one (vim, VS
//! Code), or deletes and recreates it, keeps being seen. An editor's save is a burst of events;
//! the burst is told once, when the files have been quiet for a moment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::subscription::AbortOnDrop;

/// How long the files must be quiet before a burst of edits is told: longer than the steps of
/// one save (write, rename, chmod), shorter than a person notices.
pub const QUIET: Duration = Duration::from_millis(150);

/// Watches a set of files; dropping it stops.
pub struct FileWatch {
    watcher: Mutex<RecommendedWatcher>,
    files: Arc<Mutex<BTreeSet<PathBuf>>>,
    dirs: Mutex<BTreeSet<PathBuf>>,
    _debounce: AbortOnDrop,
}

impl FileWatch {
    /// Watches nothing until [`FileWatch::watch`]; the receiver hears once per burst of edits,
    /// after `quiet` without one. Runs its debounce on the current tokio runtime.
    pub fn new(quiet: Duration) -> notify::Result<(FileWatch, mpsc::Receiver<()>)> {
        let files: Arc<Mutex<BTreeSet<PathBuf>>> = Arc::default();
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let watched = files.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            let files = watched.lock().expect("files lock");
            if edits(&event.kind) && event.paths.iter().any(|p| files.contains(p)) {
                let _ = raw_tx.send(());
            }
        })?;
        // One signal waiting is enough: the reader reloads what the files say then.
        let (tx, rx) = mpsc::channel(1);
        let debounce = AbortOnDrop(tokio::spawn(debounce(raw_rx, tx, quiet)));
        Ok((
            FileWatch {
                watcher: Mutex::new(watcher),
                files,
                dirs: Mutex::default(),
                _debounce: debounce,
            },
            rx,
        ))
    }

    /// Watches exactly `files` (absolute paths), whether or not they exist yet. A directory not
    /// there yet is watched through its nearest existing ancestor, for the step towards it:
    /// making that step is told as an edit, and the reload it brings watches one step further.
    pub fn watch(&self, files: impl IntoIterator<Item = PathBuf>) {
        let mut files: BTreeSet<PathBuf> = files.into_iter().collect();
        let parents: BTreeSet<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        let mut watcher = self.watcher.lock().expect("watcher lock");
        let mut dirs = self.dirs.lock().expect("dirs lock");
        let mut wanted = BTreeSet::new();
        for parent in &parents {
            let mut step = parent.as_path();
            for dir in parent.ancestors() {
                let watched = dirs.contains(dir) && dir.is_dir()
                    || watcher.watch(dir, RecursiveMode::NonRecursive).is_ok();
                if watched {
                    if dir != parent {
                        files.insert(step.to_path_buf());
                    }
                    wanted.insert(dir.to_path_buf());
                    break;
                }
                step = dir;
            }
        }
        for gone in dirs.difference(&wanted) {
            let _ = watcher.unwatch(gone);
        }
        *dirs = wanted;
        *self.files.lock().expect("files lock") = files;
    }
}

/// Whether an event can change what a file says: not a read (loading the project reads them),
/// not a change of its permissions or times alone.
pub(crate) fn edits(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// Tells each burst of `raw` events once, when none came for `quiet`.
async fn debounce(mut raw: mpsc::UnboundedReceiver<()>, tx: mpsc::Sender<()>, quiet: Duration) {
    while raw.recv().await.is_some() {
        loop {
            match tokio::time::timeout(quiet, raw.recv()).await {
                Ok(Some(())) => {}
                Ok(None) => return,
                Err(_) => break,
            }
        }
        // Full: a signal is already waiting and covers this burst.
        if let Err(mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("berth-watch-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// How many bursts `rx` tells while `edit` runs on a thread of its own and after it: the
    /// first within a deadline, then any more until none came for several quiet times.
    async fn told(rx: &mut mpsc::Receiver<()>, edit: impl FnOnce() + Send + 'static) -> usize {
        let editing = tokio::task::spawn_blocking(edit);
        let mut n = 0;
        if tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .is_ok()
        {
            n += 1;
            while tokio::time::timeout(QUIET * 5, rx.recv()).await.is_ok() {
                n += 1;
            }
        }
        editing.await.expect("the edit ran");
        n
    }

    /// Writes `text` to `path`, as an edit.
    fn write(path: &Path, text: &'static str) -> impl FnOnce() + Send + 'static {
        let path = path.to_path_buf();
        move || std::fs::write(path, text).unwrap()
    }

    /// `edit`, then, once a burst it caused would have been told on its own, a write of the
    /// watched `sentinel`: told once if `edit` was not, twice if it was.
    fn then_sentinel(
        edit: impl FnOnce() + Send + 'static,
        sentinel: &Path,
    ) -> impl FnOnce() + Send + 'static {
        let sentinel = write(sentinel, "sentinel\n");
        move || {
            edit();
            std::thread::sleep(QUIET * 2);
            sentinel();
        }
    }

    #[tokio::test]
    async fn a_write_a_rename_save_and_a_broken_save_are_each_told_once() {
        let dir = Dir::new("saves");
        let compose = dir.0.join("compose.yaml");
        std::fs::write(&compose, "services: {web: {image: a}}\n").unwrap();
        let (watch, mut rx) = FileWatch::new(QUIET).unwrap();
        watch.watch([compose.clone(), dir.0.join(".env")]);

        let edit = write(&compose, "services: {web: {image: b}}\n");
        assert_eq!(told(&mut rx, edit).await, 1, "a write");

        // As vim and VS Code save: a new file written, renamed over the old one, then written
        // again, a few milliseconds apart: one burst, told once.
        let (tmp, target) = (dir.0.join(".compose.yaml.swp"), compose.clone());
        let rename_save = move || {
            let step = || std::thread::sleep(QUIET / 5);
            std::fs::write(&tmp, "services: {web: {image: c}}\n").unwrap();
            step();
            std::fs::rename(&tmp, &target).unwrap();
            step();
            std::fs::write(&target, "services: {web: {image: d}}\n").unwrap();
        };
        assert_eq!(told(&mut rx, rename_save).await, 1, "a rename save");
        let broken = write(&compose, "services: {web: [\n");
        assert_eq!(told(&mut rx, broken).await, 1, "a broken save");

        let path = compose.clone();
        let read = move || drop(std::fs::read(path).unwrap());
        let read = then_sentinel(read, &compose);
        assert_eq!(told(&mut rx, read).await, 1, "a read is no edit");
        let other = then_sentinel(write(&dir.0.join("notes.txt"), "x"), &compose);
        assert_eq!(told(&mut rx, other).await, 1, "another file");
        let created = write(&dir.0.join(".env"), "A=1\n");
        assert_eq!(told(&mut rx, created).await, 1, "a file looked for appears");
    }

    #[tokio::test]
    async fn a_file_deleted_and_created_again_keeps_being_watched() {
        let dir = Dir::new("recreate");
        let env = dir.0.join("web.env");
        std::fs::write(&env, "A=1\n").unwrap();
        let (watch, mut rx) = FileWatch::new(QUIET).unwrap();
        watch.watch([env.clone()]);
        let path = env.clone();
        let delete = move || std::fs::remove_file(path).unwrap();
        assert_eq!(told(&mut rx, delete).await, 1, "deleted");
        assert_eq!(
            told(&mut rx, write(&env, "A=2\n")).await,
            1,
            "created again"
        );
        assert_eq!(
            told(&mut rx, write(&env, "A=3\n")).await,
            1,
            "written after"
        );

        // Watching other files forgets this one.
        let other = dir.0.join("other.env");
        watch.watch([other.clone()]);
        assert_eq!(
            told(&mut rx, then_sentinel(write(&env, "A=4\n"), &other)).await,
            1,
            "no longer watched, and the new one is"
        );
    }

    #[tokio::test]
    async fn a_file_in_a_directory_not_there_yet_is_seen_once_it_is() {
        let dir = Dir::new("missing");
        let env = dir.0.join("config/env/web.env");
        let (watch, mut rx) = FileWatch::new(QUIET).unwrap();
        watch.watch([env.clone()]);
        let config = dir.0.join("config");
        let made = move || std::fs::create_dir(config).unwrap();
        assert_eq!(told(&mut rx, made).await, 1, "the way to it made");
        // As the reload that follows watches the files again.
        watch.watch([env.clone()]);
        let parent = env.parent().unwrap().to_path_buf();
        let made = move || std::fs::create_dir(parent).unwrap();
        assert_eq!(told(&mut rx, made).await, 1, "its directory made");
        watch.watch([env.clone()]);
        assert_eq!(told(&mut rx, write(&env, "A=1\n")).await, 1, "the file");
    }
}

//! A project's log history on disk: every line the hub stores, kept across container
//! recreation, app restarts and engine restarts, in segment files under
//! `<root>/<engine ID>/<project>/` within a byte budget (the oldest segment dropped first).
//!
//! Positions are the project's line numbers for ever: the hub of a reopened project continues
//! where its history ends, with the newest stored lines as its buffer, and each container
//! resumes after its last stored line. One process writes a history (it holds `lock`); others
//! read it, as `berthctl logs --history` does while the app writes.

mod format;
pub mod reader;
mod recover;
pub mod search;
pub mod segments;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use ts_rs::TS;

pub use format::Last;
pub(crate) use writer::{Batch, Item};

use super::store::Store;

/// A project's history budget unless set: 1 GiB.
pub const DEFAULT_BUDGET: u64 = 1 << 30;

/// Bytes of lines already on disk that a hub with a history keeps in memory: the newest, a
/// following viewer's rows and then some. Older ones are read back from the segment files.
pub const RESIDENT: usize = 2 << 20;

/// Where a session keeps its projects' histories, and how much of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    /// The directory holding `<engine ID>/<project>/` (see [`default_root`]).
    pub root: PathBuf,
    /// Bytes of segment files per project.
    pub budget: u64,
}

/// Where Berth keeps log histories: `$BERTH_DATA_DIR/logs`, else the app's data directory's
/// (`$XDG_DATA_HOME`, or `~/.local/share`, then `dev.berth.desktop/logs`), as Tauri's
/// `app_data_dir()` gives it for the app's identifier. `None` without a home.
pub fn default_root() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("BERTH_DATA_DIR") {
        return Some(dir.join("logs"));
    }
    let data = var("XDG_DATA_HOME").or_else(|| var("HOME").map(|h| h.join(".local/share")))?;
    Some(data.join("dev.berth.desktop").join("logs"))
}

/// A project's history directory: another engine's project of the same name is another one.
pub fn project_dir(root: &Path, engine_id: &str, project: &str) -> PathBuf {
    let safe = |s: &str| s.replace(['/', '\\', ':'], "_");
    root.join(safe(engine_id)).join(safe(project))
}

/// Whether the history is being written, for the window to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HistoryStatus {
    /// No history: not configured, or not opened yet.
    Off,
    /// Every line is written to `dir`.
    Recording {
        dir: String,
        #[ts(type = "number")]
        bytes: u64,
        /// Lines that could not be written (the disk was slower than the lines came).
        #[ts(type = "number")]
        dropped: u64,
    },
    /// Another Berth writes this project's history; this one reads it.
    ReadOnly { dir: String },
    /// Writing stopped (a full disk, a write error); it is tried again every few seconds.
    Stopped {
        dir: String,
        reason: String,
        #[ts(type = "number")]
        dropped: u64,
    },
}

/// Where each container's stored lines end, by container ID: where its logs resume.
pub type Resume = HashMap<String, Last>;

/// Where reading goes on after a history is opened.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The containers with stored lines, after their last one.
    pub containers: Resume,
    /// The others (made since) from this time on, the newest stored; `None` for an empty
    /// history, when they are read as on a first open.
    pub since: Option<i64>,
}

/// An open history: its writer, unless another process writes it.
pub struct History {
    dir: PathBuf,
    queue: Option<writer::Queue>,
    thread: Option<std::thread::JoinHandle<()>>,
    shared: Arc<Mutex<writer::Shared>>,
}

/// A history just opened: the hub's buffer to go on from, and where containers resume.
pub struct Opened {
    pub history: History,
    /// The newest lines ([`RESIDENT`] bytes of them) in a store of the buffer's budget, ending
    /// where the history ends.
    pub store: Store,
    pub resumed: Resumed,
    /// A damaged tail that was cut, said as the log says it.
    pub cut: Option<String>,
}

impl History {
    /// Opens (creating) the history in `dir`, checking and cutting its newest segment, and
    /// reads its newest lines ([`RESIDENT`] bytes of them) into a store of `buffer` bytes.
    pub fn open(dir: &Path, budget: u64, buffer: usize) -> std::io::Result<Opened> {
        let mut found = recover::open(dir)?;
        let mut store = segments::newest(&found.segments, found.end, buffer, RESIDENT)?;
        store.spill(RESIDENT, found.end);
        let resumed = Resumed {
            containers: found
                .known
                .iter()
                .filter(|(w, _)| !w.id.is_empty())
                .map(|(w, last)| (w.id.clone(), *last))
                .collect(),
            since: found.newest,
        };
        let cut = found.cut.take().map(|(file, bytes)| {
            format!(
                "The log history's last {bytes} bytes in {} were damaged (Berth was stopped \
                 mid-write) and were cut; the lines before them are kept.",
                file.display()
            )
        });
        let shared = Arc::new(Mutex::new(writer::Shared::default()));
        let (queue, thread) = match found.lock.take() {
            Some(lock) => {
                let (q, t) = writer::spawn(dir.to_owned(), found, lock, budget, shared.clone())?;
                (Some(q), Some(t))
            }
            None => (None, None),
        };
        Ok(Opened {
            history: History {
                dir: dir.to_owned(),
                queue,
                thread,
                shared,
            },
            store,
            resumed,
            cut,
        })
    }

    /// The position after the last line written to the segment files: the lines before it
    /// can be read back from them. 0 while another process writes the history.
    pub(crate) fn durable(&self) -> u64 {
        self.shared.lock().expect("history status").durable
    }

    /// Hands lines the hub stored to the writer (nothing when another process writes).
    pub(crate) fn send(&self, batch: Batch) {
        if let Some(queue) = &self.queue {
            queue.send(batch);
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn status(&self) -> HistoryStatus {
        let dir = self.dir.display().to_string();
        if self.queue.is_none() {
            return HistoryStatus::ReadOnly { dir };
        }
        let shared = self.shared.lock().expect("history status");
        match &shared.failed {
            Some(reason) => HistoryStatus::Stopped {
                dir,
                reason: reason.clone(),
                dropped: shared.dropped,
            },
            None => HistoryStatus::Recording {
                dir,
                bytes: shared.bytes,
                dropped: shared.dropped,
            },
        }
    }

    /// Why writing stopped, once per stop: the hub says it in the log.
    pub(crate) fn untold_failure(&self) -> Option<String> {
        let mut shared = self.shared.lock().expect("history status");
        if shared.told || shared.failed.is_none() {
            return None;
        }
        shared.told = true;
        shared.failed.clone()
    }
}

impl Drop for History {
    /// Writes what is queued and lets go of the lock before the hub is gone, so a session
    /// opened next on the same project writes it.
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests;

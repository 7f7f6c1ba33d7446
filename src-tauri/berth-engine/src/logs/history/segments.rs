//! The segment files of a project's history: finding them, and reading them back into
//! [`Store`]s, so every query, search and export runs on history as on the live buffer.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::format::{self, Record};
use crate::logs::store::Store;

/// One segment file: `<first position, 20 digits>.seg`.
#[derive(Debug, Clone)]
pub struct SegmentFile {
    /// The position of its first line.
    pub first: u64,
    pub path: PathBuf,
    pub bytes: u64,
}

/// The segment files in `dir`, oldest first; none when the directory does not exist.
pub fn list(dir: &Path) -> io::Result<Vec<SegmentFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        out.push(SegmentFile {
            first,
            path: entry.path(),
            bytes: entry.metadata()?.len(),
        });
    }
    out.sort_by_key(|s| s.first);
    Ok(out)
}

pub fn path_of(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.seg"))
}

/// Appends the lines of a segment's `bytes` to `store`, interning its sources there. Returns
/// how many lines it held.
pub fn load_into(store: &mut Store, bytes: &[u8]) -> u64 {
    let mut numbers: HashMap<u16, u16> = HashMap::new();
    let mut lines = 0;
    format::scan(bytes, |record| match record {
        Record::Source { number, writer, .. } => {
            numbers.insert(number, store.source(&writer.service, &writer.name));
        }
        Record::Line {
            flags,
            level,
            source,
            ts,
            raw,
        } => {
            // A source is declared before its lines; one that is not reads as Berth's.
            let source = *numbers
                .entry(source)
                .or_insert_with(|| store.source("berth", ""));
            store.push_stored(source, ts, raw, flags, level);
            lines += 1;
        }
    });
    lines
}

/// Calls `f` with each segment of the history in `dir`, oldest first, read into a store of its
/// own. Only reads: the writer (another process, maybe) may be appending to the newest one,
/// whose records up to the last complete one are read.
pub fn each(dir: &Path, mut f: impl FnMut(&Store)) -> io::Result<()> {
    for segment in list(dir)? {
        let bytes = match std::fs::read(&segment.path) {
            Ok(bytes) => bytes,
            // Dropped for the budget since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut store = Store::starting_at(usize::MAX, segment.first);
        load_into(&mut store, &bytes);
        f(&store);
    }
    Ok(())
}

/// The newest lines of the history, whole segment files up to about `load` bytes, in a store
/// of `budget` whose positions are the history's: the live buffer after a restart. Only the
/// unbroken run of segments before `end` counts (a run of lines that could not be written
/// leaves a gap).
pub fn newest(segments: &[SegmentFile], end: u64, budget: usize, load: usize) -> io::Result<Store> {
    let mut chosen = Vec::new();
    let mut next = end;
    let mut bytes = 0u64;
    for segment in segments.iter().rev() {
        if bytes >= budget.min(load) as u64 {
            break;
        }
        let data = std::fs::read(&segment.path)?;
        let mut count = 0;
        format::scan(&data, |r| {
            count += u64::from(matches!(r, Record::Line { .. }))
        });
        if segment.first + count != next {
            break;
        }
        next = segment.first;
        bytes += data.len() as u64;
        chosen.push(data);
    }
    let mut store = Store::starting_at(budget, next);
    for data in chosen.iter().rev() {
        load_into(&mut store, data);
    }
    Ok(store)
}

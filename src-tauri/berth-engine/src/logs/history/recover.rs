//! Opening a project's history: the writer's lock, the newest segment checked and cut at its
//! last good record, and where the history ends and each container resumes.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::format::{self, Last, Record, Writer};
use super::segments::{self, SegmentFile};
use crate::logs::store::{BERTH, STDERR};

/// How long opening waits for another writer to let go (the app quitting as it restarts).
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// A history as it was found.
pub struct Opened {
    /// Held while this process writes; `None` when another one does (reading only).
    pub lock: Option<File>,
    pub segments: Vec<SegmentFile>,
    /// The position the next line gets.
    pub end: u64,
    /// Every container the newest segment knows, with where its stored lines end.
    pub known: Vec<(Writer, Last)>,
    /// The newest timestamp stored.
    pub newest: Option<i64>,
    /// A damaged tail cut off the newest segment: the file and the bytes cut.
    pub cut: Option<(PathBuf, u64)>,
}

pub fn open(dir: &Path) -> io::Result<Opened> {
    std::fs::create_dir_all(dir)?;
    let lock = lock(dir)?;
    let mut segments = segments::list(dir)?;
    let mut opened = Opened {
        lock,
        end: segments.last().map_or(0, |s| s.first),
        segments: Vec::new(),
        known: Vec::new(),
        newest: None,
        cut: None,
    };
    if let Some(newest) = segments.last_mut() {
        let bytes = std::fs::read(&newest.path)?;
        // This segment's source numbers, as indices into `known`.
        let mut numbers = std::collections::HashMap::new();
        let known = &mut opened.known;
        let end = &mut opened.end;
        let newest_ts = &mut opened.newest;
        let good = format::scan(&bytes, |record| match record {
            Record::Source {
                number,
                writer,
                last,
            } => {
                let i = match known.iter().position(|(w, _)| *w == writer) {
                    Some(i) => {
                        known[i].1 = last;
                        i
                    }
                    None => {
                        known.push((writer, last));
                        known.len() - 1
                    }
                };
                numbers.insert(number, i);
            }
            Record::Line {
                flags, source, ts, ..
            } => {
                *end += 1;
                *newest_ts = Some(newest_ts.map_or(ts, |n: i64| n.max(ts)));
                if flags & BERTH == 0
                    && let Some(&i) = numbers.get(&source)
                {
                    advance(&mut known[i].1[usize::from(flags & STDERR != 0)], ts);
                }
            }
        });
        // Only the writer cuts: another one may be appending to it right now.
        if good < bytes.len() && opened.lock.is_some() {
            File::options()
                .write(true)
                .open(&newest.path)?
                .set_len(good as u64)?;
            opened.cut = Some((newest.path.clone(), (bytes.len() - good) as u64));
            newest.bytes = good as u64;
        }
    }
    opened.segments = segments;
    Ok(opened)
}

/// One more line at `ts` of a stream whose stored lines end at `last`.
pub fn advance(last: &mut Option<(i64, u32)>, ts: i64) {
    *last = match *last {
        Some((t, n)) if t == ts => Some((t, n + 1)),
        Some((t, n)) if t > ts => Some((t, n)),
        _ => Some((ts, 1)),
    };
}

/// The writer's lock, or `None` if another process keeps it past [`LOCK_WAIT`].
fn lock(dir: &Path) -> io::Result<Option<File>> {
    use rustix::fs::{FlockOperation, flock};
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Some(file)),
            Err(rustix::io::Errno::WOULDBLOCK) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

//! Reading stored lines by position, for a viewer scrolled back past the live buffer: a
//! position's segment is found by the files' names (their first positions) and read whole into
//! a [`Store`], the last few kept, so the rows of one screen cost one read.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::segments::{self, SegmentFile};
use crate::logs::store::Store;

/// Segments kept read (each up to 8 MiB of lines): a screen's rows and a page's scan back
/// rarely span more.
const CACHED: usize = 2;

pub struct Reader {
    dir: PathBuf,
    segments: Vec<SegmentFile>,
    cache: VecDeque<Arc<Store>>,
}

impl Reader {
    pub fn new(dir: &Path) -> Reader {
        Reader {
            dir: dir.to_owned(),
            segments: Vec::new(),
            cache: VecDeque::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Lets go of the segments read: a viewer back at the lines in memory needs none.
    pub fn forget(&mut self) {
        self.cache.clear();
    }

    /// The oldest stored position (the budget drops segments while the history is written);
    /// `None` for an empty history.
    pub fn first(&mut self) -> io::Result<Option<u64>> {
        self.segments = segments::list(&self.dir)?;
        Ok(self.segments.first().map(|s| s.first))
    }

    /// The first stored position after `pos` (as last listed): where reading goes on past a
    /// gap (lines that could not be written).
    pub fn next_after(&self, pos: u64) -> Option<u64> {
        let at = self.segments.partition_point(|s| s.first <= pos);
        self.segments.get(at).map(|s| s.first)
    }

    /// The segment holding `pos`, read into a store numbered as the history is; `None` when no
    /// stored line has that position (dropped for the budget, cut, or never written).
    pub fn segment(&mut self, pos: u64) -> io::Result<Option<Arc<Store>>> {
        if let Some(i) = self
            .cache
            .iter()
            .position(|s| s.first() <= pos && pos < s.end())
        {
            let store = self.cache.remove(i).expect("cached segment");
            self.cache.push_front(store.clone());
            return Ok(Some(store));
        }
        // Listed again once: the list may be older than a segment written or dropped since.
        for fresh in [false, true] {
            if fresh || self.segments.is_empty() {
                self.segments = segments::list(&self.dir)?;
            }
            let at = self.segments.partition_point(|s| s.first <= pos);
            let Some(file) = at.checked_sub(1).map(|i| &self.segments[i]) else {
                return Ok(None);
            };
            let bytes = match std::fs::read(&file.path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let mut store = Store::starting_at(usize::MAX, file.first);
            segments::load_into(&mut store, &bytes);
            if pos >= store.end() {
                continue;
            }
            let store = Arc::new(store);
            self.cache.push_front(store.clone());
            self.cache.truncate(CACHED);
            return Ok(Some(store));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Reader;
    use crate::logs::follow::{Origin, Record};
    use crate::logs::history::segments;
    use crate::logs::line::Stream;
    use crate::logs::{Hub, HubOptions, query};

    /// A history in `dir` of `count` lines `line <pos>` (stderr for odd positions), on a
    /// budget small enough for segments of 64 KiB.
    fn write(dir: &std::path::Path, count: i64, budget: u64) {
        let hub = Hub::new(HubOptions::default());
        hub.attach_history(dir, budget).unwrap();
        let origin = Arc::new(Origin {
            id: "c1".into(),
            service: "web".into(),
            name: "p-web-1".into(),
        });
        for i in 0..count {
            let stream = [Stream::Stdout, Stream::Stderr][i as usize % 2];
            let text = format!("\x1b[1mline {i:08}\x1b[0m {}", "x".repeat(80));
            hub.append(&mut vec![Record {
                origin: origin.clone(),
                stream,
                ts: i,
                text: text.into_bytes(),
                partial: false,
                marker: None,
            }]);
        }
    }

    fn text_at(reader: &mut Reader, pos: u64) -> Option<(String, Stream)> {
        let store = reader.segment(pos).unwrap()?;
        let line = query::line(&store, pos, None)?;
        Some((line.text, line.stream))
    }

    #[test]
    fn reads_each_position_across_segments_as_the_store_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        // 1 MiB of budget, segments of 128 KiB: ~500 KB of lines in four.
        write(dir.path(), 5000, 1 << 20);
        let files = segments::list(dir.path()).unwrap();
        assert!(files.len() >= 3, "{} segments", files.len());
        let mut reader = Reader::new(dir.path());
        assert_eq!(reader.first().unwrap(), Some(0));
        for pos in [0, files[1].first - 1, files[1].first, 2501, 4999] {
            let (text, stream) = text_at(&mut reader, pos).unwrap();
            assert!(
                text.starts_with(&format!("line {pos:08} x")),
                "{pos}: {text}"
            );
            assert_eq!(stream, [Stream::Stdout, Stream::Stderr][pos as usize % 2]);
        }
        assert_eq!(text_at(&mut reader, 5000), None, "past the end");
    }

    #[test]
    fn a_dropped_oldest_segment_and_a_cut_tail_leave_only_what_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        // 512 KiB of budget, segments of 64 KiB: the oldest of ~1.5 MiB are dropped.
        write(dir.path(), 15_000, 512 << 10);
        let mut reader = Reader::new(dir.path());
        let first = reader.first().unwrap().unwrap();
        assert!(first > 0, "the oldest were dropped");
        assert_eq!(text_at(&mut reader, first - 1), None);
        assert!(
            text_at(&mut reader, first)
                .unwrap()
                .0
                .starts_with(&format!("line {first:08}"))
        );
        // The newest segment cut mid-record: its last line is gone, the one before is read.
        let newest = segments::list(dir.path()).unwrap().pop().unwrap();
        let len = std::fs::metadata(&newest.path).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&newest.path)
            .unwrap();
        f.set_len(len - 5).unwrap();
        let mut reader = Reader::new(dir.path());
        assert_eq!(text_at(&mut reader, 14_999), None);
        assert!(
            text_at(&mut reader, 14_998)
                .unwrap()
                .0
                .starts_with("line 00014998")
        );
    }
}

//! The history's writer: a thread of its own fed batches through a bounded queue, so the hub's
//! pump never waits on the disk. It appends to the newest segment, starts another when one is
//! full (or after lines it could not write), drops the oldest beyond the budget, and on a write
//! error (a full disk) stops with a reason and retries after [`RETRY`].

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::format::{self, Last, Writer as Source};
use super::recover::{Opened, advance};
use super::segments::path_of;
use crate::logs::follow::Origin;
use crate::logs::store::{BERTH, STDERR};

/// How long writing stays stopped after an error before it is tried again.
pub const RETRY: Duration = Duration::from_secs(5);
/// Bytes of lines waiting for the disk before the hub's next ones are counted as not written.
const QUEUE: usize = 64 << 20;
/// The largest segment file: a viewer scrolled back past the lines in memory reads a whole
/// segment into memory (see `reader`), so this bounds what that costs.
const SEGMENT_MAX: u64 = 8 << 20;
/// Bytes gathered before they are written, when batches come faster than that.
const BUFFER: usize = 1 << 20;

/// Lines the hub stored, from position `first` on.
pub struct Batch {
    pub first: u64,
    pub lines: Vec<Item>,
}

impl Batch {
    /// What it holds in the queue, roughly.
    fn bytes(&self) -> usize {
        self.lines.iter().map(|l| l.raw.len() + 64).sum()
    }
}

pub struct Item {
    pub origin: Arc<Origin>,
    pub ts: i64,
    pub flags: u8,
    pub level: u8,
    /// The bytes the container wrote.
    pub raw: Vec<u8>,
}

/// What the writer reports.
#[derive(Debug, Default)]
pub struct Shared {
    /// The segment files' bytes.
    pub bytes: u64,
    /// The position after the last line written to the files (readable from them).
    pub durable: u64,
    /// Lines not written (the queue was full, or writing had stopped).
    pub dropped: u64,
    /// Why writing stopped, while it is stopped.
    pub failed: Option<String>,
    /// Whether the hub has said so in the log yet.
    pub told: bool,
}

/// The queue into the writer thread.
pub struct Queue {
    tx: Sender<(Batch, usize)>,
    /// Bytes sent and not yet written.
    queued: Arc<AtomicUsize>,
    shared: Arc<Mutex<Shared>>,
}

impl Queue {
    /// Hands `batch` to the writer, or counts its lines as not written if [`QUEUE`] bytes
    /// already wait for it.
    pub fn send(&self, batch: Batch) {
        let bytes = batch.bytes();
        let lines = batch.lines.len() as u64;
        if self.queued.load(Ordering::Relaxed) + bytes > QUEUE {
            self.shared.lock().expect("history status").dropped += lines;
            return;
        }
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        if self.tx.send((batch, bytes)).is_err() {
            self.shared.lock().expect("history status").dropped += lines;
        }
    }
}

/// Starts the writer of an opened history (whose lock it keeps).
pub fn spawn(
    dir: PathBuf,
    opened: Opened,
    lock: File,
    budget: u64,
    shared: Arc<Mutex<Shared>>,
) -> io::Result<(Queue, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let segments: VecDeque<(u64, u64)> =
        opened.segments.iter().map(|s| (s.first, s.bytes)).collect();
    let writer = SegmentWriter {
        dir,
        budget,
        segment_max: (budget / 8).clamp(64 << 10, SEGMENT_MAX),
        _lock: lock,
        file: None,
        written: 0,
        buf: Vec::with_capacity(BUFFER),
        end: opened.end,
        durable: opened.end,
        by_key: opened
            .known
            .iter()
            .enumerate()
            .map(|(i, (w, _))| (w.clone(), i))
            .collect(),
        known: opened.known,
        recent: None,
        total: segments.iter().map(|s| s.1).sum(),
        segments,
        shared: shared.clone(),
        stopped: None,
    };
    writer.report();
    let thread = std::thread::Builder::new()
        .name("berth-history".into())
        .spawn({
            let queued = queued.clone();
            move || writer.run(rx, &queued)
        })?;
    Ok((Queue { tx, queued, shared }, thread))
}

struct SegmentWriter {
    dir: PathBuf,
    budget: u64,
    segment_max: u64,
    _lock: File,
    /// The newest segment, open for appending.
    file: Option<File>,
    /// Its bytes on disk.
    written: u64,
    /// Bytes for it not yet written.
    buf: Vec<u8>,
    /// The position the next line gets.
    end: u64,
    /// The position after the last line on disk.
    durable: u64,
    /// Every container seen, with where its lines end; its index is its number in a segment.
    known: Vec<(Source, Last)>,
    by_key: HashMap<Source, usize>,
    /// The last line's origin and its index, so a flood from one container looks up nothing.
    recent: Option<(Arc<Origin>, usize)>,
    /// Segment files (first position, bytes), oldest first, the newest included.
    segments: VecDeque<(u64, u64)>,
    total: u64,
    shared: Arc<Mutex<Shared>>,
    /// When writing stopped.
    stopped: Option<Instant>,
}

impl SegmentWriter {
    fn run(mut self, rx: Receiver<(Batch, usize)>, queued: &AtomicUsize) {
        while let Ok((batch, bytes)) = rx.recv() {
            self.write(batch);
            queued.fetch_sub(bytes, Ordering::Relaxed);
            while let Ok((batch, bytes)) = rx.try_recv() {
                self.write(batch);
                queued.fetch_sub(bytes, Ordering::Relaxed);
            }
            let flushed = self.flush();
            self.settle(flushed);
        }
    }

    fn write(&mut self, batch: Batch) {
        let (first, count) = (batch.first, batch.lines.len() as u64);
        if let Some(at) = self.stopped {
            if at.elapsed() < RETRY {
                self.shared.lock().expect("history status").dropped += count;
                return;
            }
            self.stopped = None;
        }
        let appended = self.append(batch);
        // The batch's lines not even buffered.
        let unbuffered = count.min((first + count).saturating_sub(self.end));
        if !self.settle(appended) {
            self.shared.lock().expect("history status").dropped += unbuffered;
        }
    }

    /// Stops writing on an error; after one, notes that writing works again. Whether it went.
    fn settle(&mut self, result: io::Result<()>) -> bool {
        match result {
            Ok(()) => {
                let mut shared = self.shared.lock().expect("history status");
                if self.stopped.is_none() && shared.failed.take().is_some() {
                    shared.told = false;
                }
                true
            }
            Err(err) => {
                self.fail(&err);
                false
            }
        }
    }

    fn append(&mut self, batch: Batch) -> io::Result<()> {
        if self.file.is_none() || batch.first != self.end {
            self.flush()?;
            self.start(batch.first)?;
        }
        for item in batch.lines {
            let number = self.number(&item.origin);
            if item.flags & BERTH == 0 {
                let which = usize::from(item.flags & STDERR != 0);
                advance(&mut self.known[number].1[which], item.ts);
            }
            let number = u16::try_from(number).unwrap_or(u16::MAX);
            format::put_line(
                &mut self.buf,
                item.flags,
                item.level,
                number,
                item.ts,
                &item.raw,
            );
            self.end += 1;
            if self.written + self.buf.len() as u64 >= self.segment_max {
                self.flush()?;
                self.start(self.end)?;
            } else if self.buf.len() >= BUFFER {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// The index of `origin` among the known containers, declared in the segment when new.
    fn number(&mut self, origin: &Arc<Origin>) -> usize {
        if let Some((o, i)) = &self.recent
            && Arc::ptr_eq(o, origin)
        {
            return *i;
        }
        let key = Source {
            service: origin.service.clone(),
            name: origin.name.clone(),
            id: origin.id.clone(),
        };
        let i = match self.by_key.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.known.len();
                format::put_source(
                    &mut self.buf,
                    u16::try_from(i).unwrap_or(u16::MAX),
                    &key,
                    &[None, None],
                );
                self.by_key.insert(key.clone(), i);
                self.known.push((key, [None, None]));
                i
            }
        };
        self.recent = Some((origin.clone(), i));
        i
    }

    /// Starts a segment whose first line gets position `first`, declaring every known
    /// container with where its lines end.
    fn start(&mut self, first: u64) -> io::Result<()> {
        self.file = None;
        let file = File::create(path_of(&self.dir, first))?;
        if self.segments.back().is_some_and(|s| s.0 == first) {
            // An empty segment (only declarations) is replaced.
            let (_, bytes) = self.segments.pop_back().expect("just seen");
            self.total -= bytes;
        }
        self.segments.push_back((first, 0));
        self.file = Some(file);
        self.written = 0;
        self.end = first;
        self.durable = first;
        self.buf.clear();
        self.buf.extend_from_slice(format::MAGIC);
        for (i, (source, last)) in self.known.iter().enumerate() {
            format::put_source(
                &mut self.buf,
                u16::try_from(i).unwrap_or(u16::MAX),
                source,
                last,
            );
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if self.buf.is_empty() {
            return Ok(());
        }
        file.write_all(&self.buf)?;
        let n = self.buf.len() as u64;
        self.buf.clear();
        self.written += n;
        self.total += n;
        self.durable = self.end;
        if let Some(newest) = self.segments.back_mut() {
            newest.1 += n;
        }
        self.drop_oldest();
        self.report();
        Ok(())
    }

    /// Removes the oldest segments while the history is over its budget; the newest stays.
    fn drop_oldest(&mut self) {
        while self.total > self.budget && self.segments.len() > 1 {
            let (first, bytes) = self.segments.pop_front().expect("more than one");
            match std::fs::remove_file(path_of(&self.dir, first)) {
                Ok(()) => self.total -= bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.total -= bytes,
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), %e, "cannot drop an old log segment");
                    self.segments.push_front((first, bytes));
                    return;
                }
            }
        }
    }

    fn report(&self) {
        let mut shared = self.shared.lock().expect("history status");
        shared.bytes = self.total;
        shared.durable = self.durable;
    }

    /// Stops writing: the newest segment is cut back to what was written whole, and the lines
    /// not written are counted.
    fn fail(&mut self, err: &io::Error) {
        if let Some(file) = self.file.take() {
            let _ = file.set_len(self.written);
            // A segment with nothing written (a retry on a full disk) is not kept.
            if self.written == 0
                && let Some((first, _)) = self.segments.pop_back()
            {
                let _ = std::fs::remove_file(path_of(&self.dir, first));
            }
        }
        self.buf.clear();
        self.shared.lock().expect("history status").dropped += self.end - self.durable;
        self.end = self.durable;
        self.shared.lock().expect("history status").failed = Some(match err.raw_os_error() {
            Some(28) => format!(
                "The disk holding the log history ({}) is full: lines are not stored until \
                 there is room again.",
                self.dir.display()
            ),
            _ => format!(
                "Could not write the log history in {}: {err}. Lines are not stored meanwhile.",
                self.dir.display()
            ),
        });
        self.stopped = Some(Instant::now());
        self.report();
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        let flushed = self.flush();
        self.settle(flushed);
    }
}

//! A project's buffered log lines: text in large contiguous chunks plus a 24-byte index entry per
//! line, bounded by a byte budget. Old lines fall off the front a chunk at a time; a line's
//! position never changes, so a viewer can tell from [`Store::first`] what it has lost.

use std::collections::{BTreeMap, HashMap};

use super::ansi;
use super::level;
use super::level::Level;
use super::line::Stream;
use super::marker::Marker;

/// Room for a million typical (≈100-byte) lines with their index.
pub const DEFAULT_BUDGET: usize = 128 << 20;

/// The largest text chunk: big enough that eviction is coarse-grained and cheap, small enough
/// that dropping one frees memory promptly.
const MAX_CHUNK: usize = 1 << 20;

/// Who wrote a line: a container of a service. Interned; entries refer to it by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub service: String,
    /// The container's name (`<project>-<service>-<n>`); a recreated container keeps it.
    pub container: String,
}

/// The per-line index entry. Text lives in `chunks[chunk - first_chunk][off..off + len]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub ts: i64,
    pub chunk: u32,
    pub off: u32,
    pub len: u32,
    pub source: u16,
    pub flags: u8,
    pub level: u8,
}

pub(crate) const STDERR: u8 = 1;
pub(crate) const JSON: u8 = 2;
/// The raw bytes differ from the text (escape sequences); they are kept in `Store::raw`.
pub(crate) const RAW: u8 = 4;
/// The line goes on in the container's next line (see `Record::partial`).
pub(crate) const PARTIAL: u8 = 8;
/// Berth's own line ([`Stream::Berth`]).
pub(crate) const BERTH: u8 = 16;
/// A lifecycle marker (also [`BERTH`]); its level byte holds the [`Marker`]'s number.
pub(crate) const MARKER: u8 = 32;

impl Entry {
    pub fn stream(&self) -> Stream {
        if self.flags & BERTH != 0 {
            Stream::Berth
        } else if self.flags & STDERR != 0 {
            Stream::Stderr
        } else {
            Stream::Stdout
        }
    }

    pub fn level(&self) -> Level {
        match self.marker() {
            Some(marker) => marker.level(),
            None => Level::from_u8(self.level),
        }
    }

    pub fn marker(&self) -> Option<Marker> {
        (self.flags & MARKER != 0).then(|| Marker::from_u8(self.level))
    }
}

pub(crate) struct Chunk {
    pub seq: u32,
    /// Position of the first line stored in this chunk.
    pub first: u64,
    /// Line texts, each followed by `\n`, so a search for text without a newline cannot match
    /// across two lines.
    pub data: Vec<u8>,
}

/// The bounded line store of one project.
pub struct Store {
    budget: usize,
    chunk_size: usize,
    pub(crate) chunks: Vec<Chunk>,
    pub(crate) entries: Vec<Entry>,
    /// Position of `entries[0]`.
    pub(crate) first: u64,
    /// Raw bytes of lines whose text had escape sequences removed, by position.
    raw: BTreeMap<u64, Box<[u8]>>,
    raw_bytes: usize,
    chunk_bytes: usize,
    pub(crate) sources: Vec<Source>,
    source_ids: HashMap<String, u16>,
    /// Berth's own lines have no container: their source is one per service.
    own_ids: HashMap<String, u16>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(DEFAULT_BUDGET)
    }
}

impl Store {
    /// A store that keeps at most about `budget` bytes (text, index and raw copies).
    pub fn new(budget: usize) -> Store {
        Store::starting_at(budget, 0)
    }

    /// The most bytes it keeps.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// An empty store whose first line gets position `first` (where the project's history
    /// ends, or a segment of it starts).
    pub fn starting_at(budget: usize, first: u64) -> Store {
        Store {
            budget,
            chunk_size: (budget / 16).clamp(4096, MAX_CHUNK),
            chunks: Vec::new(),
            entries: Vec::new(),
            first,
            raw: BTreeMap::new(),
            raw_bytes: 0,
            chunk_bytes: 0,
            sources: Vec::new(),
            source_ids: HashMap::new(),
            own_ids: HashMap::new(),
        }
    }

    /// The number for a container (or, for Berth's own lines, an empty `container`, the
    /// service), interning it on first sight. After 65 535 distinct containers (a very long
    /// session of recreates) new ones share the last number.
    pub fn source(&mut self, service: &str, container: &str) -> u16 {
        let (ids, key) = if container.is_empty() {
            (&mut self.own_ids, service)
        } else {
            (&mut self.source_ids, container)
        };
        if let Some(id) = ids.get(key) {
            return *id;
        }
        let Ok(id) = u16::try_from(self.sources.len()) else {
            return u16::MAX;
        };
        ids.insert(key.to_owned(), id);
        self.sources.push(Source {
            service: service.to_owned(),
            container: container.to_owned(),
        });
        id
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    pub(crate) fn source_of(&self, e: &Entry) -> &Source {
        &self.sources[usize::from(e.source).min(self.sources.len() - 1)]
    }

    /// Appends one line (without its newline), parsing it once: escapes out, level, JSON.
    /// Returns its position.
    pub fn push(&mut self, source: u16, stream: Stream, ts: i64, raw: &[u8]) -> u64 {
        self.push_part(source, stream, ts, raw, false)
    }

    /// [`Store::push`] for a line that may go on in the container's next one (`partial`).
    pub fn push_part(
        &mut self,
        source: u16,
        stream: Stream,
        ts: i64,
        raw: &[u8],
        partial: bool,
    ) -> u64 {
        let stripped = ansi::needs_strip(raw).then(|| ansi::strip(raw).text);
        let (level, json) = level::detect(stripped.as_deref().unwrap_or(raw));
        let flags = (u8::from(stream == Stream::Stderr) * STDERR)
            | (u8::from(stream == Stream::Berth) * BERTH)
            | (u8::from(json) * JSON)
            | (u8::from(partial) * PARTIAL)
            | (u8::from(stripped.is_some()) * RAW);
        self.put(source, ts, raw, stripped, flags, level as u8)
    }

    /// A line read back from the history: its flags and level as they were stored, its text
    /// stripped again only if it had escape sequences.
    pub(crate) fn push_stored(
        &mut self,
        source: u16,
        ts: i64,
        raw: &[u8],
        flags: u8,
        level: u8,
    ) -> u64 {
        let stripped = (flags & RAW != 0).then(|| ansi::strip(raw).text);
        self.put(source, ts, raw, stripped, flags, level)
    }

    fn put(
        &mut self,
        source: u16,
        ts: i64,
        raw: &[u8],
        stripped: Option<Vec<u8>>,
        flags: u8,
        level: u8,
    ) -> u64 {
        let text = stripped.as_deref().unwrap_or(raw);
        let need = text.len() + 1;
        if self
            .chunks
            .last()
            .is_none_or(|c| c.data.capacity() - c.data.len() < need)
        {
            let seq = self.chunks.last().map_or(0, |c| c.seq.wrapping_add(1));
            let data = Vec::with_capacity(self.chunk_size.max(need));
            self.chunk_bytes += data.capacity();
            self.chunks.push(Chunk {
                seq,
                first: self.end(),
                data,
            });
        }
        let pos = self.end();
        let chunk = self.chunks.last_mut().expect("a chunk was just ensured");
        let off = chunk.data.len() as u32;
        chunk.data.extend_from_slice(text);
        chunk.data.push(b'\n');
        let seq = chunk.seq;
        if flags & RAW != 0 {
            self.raw_bytes += raw.len() + RAW_OVERHEAD;
            self.raw.insert(pos, raw.into());
        }
        self.entries.push(Entry {
            ts,
            chunk: seq,
            off,
            len: text.len() as u32,
            source,
            flags,
            level,
        });
        self.evict();
        pos
    }

    /// Appends a lifecycle marker of the container `source` (Berth's line, stamped with its
    /// event's time). Returns its position.
    pub fn push_marker(&mut self, source: u16, ts: i64, marker: Marker, text: &[u8]) -> u64 {
        let pos = self.push_part(source, Stream::Berth, ts, text, false);
        let entry = self.entries.last_mut().expect("just pushed");
        entry.flags |= MARKER;
        entry.level = marker.to_u8();
        pos
    }

    /// Drops whole chunks from the front while over budget; the newest chunk always stays.
    fn evict(&mut self) {
        self.spill(self.budget, u64::MAX);
    }

    /// Drops whole chunks from the front while the store holds more than `keep` bytes, of lines
    /// all before `below`: with a history, the lines already on disk need not stay in memory
    /// (a viewer reads them back from there). The newest chunk always stays.
    pub fn spill(&mut self, keep: usize, below: u64) {
        let mut drop_chunks = 0;
        let mut bytes = self.bytes();
        while bytes > keep
            && drop_chunks + 1 < self.chunks.len()
            && self.chunks[drop_chunks + 1].first <= below
        {
            let c = &self.chunks[drop_chunks];
            let next_first = self.chunks[drop_chunks + 1].first;
            let lines = (next_first - c.first) as usize;
            bytes -= c.data.capacity() + lines * ENTRY;
            drop_chunks += 1;
        }
        if drop_chunks == 0 {
            return;
        }
        let new_first = self.chunks[drop_chunks].first;
        for c in self.chunks.drain(..drop_chunks) {
            self.chunk_bytes -= c.data.capacity();
        }
        self.entries.drain(..(new_first - self.first) as usize);
        // A store that held many more lines than it does now gives the room back.
        if self.entries.capacity() > 4 * self.entries.len().max(1024) {
            self.entries.shrink_to(2 * self.entries.len());
        }
        self.first = new_first;
        let kept = self.raw.split_off(&new_first);
        for raw in std::mem::replace(&mut self.raw, kept).into_values() {
            self.raw_bytes -= raw.len() + RAW_OVERHEAD;
        }
    }

    /// The bytes this store accounts against its budget.
    pub fn bytes(&self) -> usize {
        self.chunk_bytes + self.entries.len() * ENTRY + self.raw_bytes
    }

    /// Position of the oldest line still held; lines before it have fallen off.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Position the next line will get.
    pub fn end(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn entry(&self, pos: u64) -> Option<&Entry> {
        self.entries.get(pos.checked_sub(self.first)? as usize)
    }

    pub(crate) fn chunk(&self, seq: u32) -> &Chunk {
        let first = self.chunks[0].seq;
        &self.chunks[seq.wrapping_sub(first) as usize]
    }

    pub(crate) fn text_of(&self, e: &Entry) -> &[u8] {
        &self.chunk(e.chunk).data[e.off as usize..(e.off + e.len) as usize]
    }

    /// The line's text without escape sequences.
    pub fn text(&self, pos: u64) -> Option<&[u8]> {
        self.entry(pos).map(|e| self.text_of(e))
    }

    /// The bytes the container wrote, exactly.
    pub fn raw(&self, pos: u64) -> Option<&[u8]> {
        let e = self.entry(pos)?;
        if e.flags & RAW != 0 {
            self.raw.get(&pos).map(|r| &r[..])
        } else {
            Some(self.text_of(e))
        }
    }

    pub fn timestamp(&self, pos: u64) -> Option<i64> {
        self.entry(pos).map(|e| e.ts)
    }

    pub fn stream(&self, pos: u64) -> Option<Stream> {
        self.entry(pos).map(Entry::stream)
    }

    pub fn level(&self, pos: u64) -> Option<Level> {
        self.entry(pos).map(Entry::level)
    }

    pub fn marker(&self, pos: u64) -> Option<Marker> {
        self.entry(pos).and_then(Entry::marker)
    }

    /// Whether the line goes on in the container's next line.
    pub fn partial(&self, pos: u64) -> Option<bool> {
        self.entry(pos).map(|e| e.flags & PARTIAL != 0)
    }

    /// The number of the container a line came from, an index into [`Store::sources`].
    pub fn source_number(&self, pos: u64) -> Option<u16> {
        self.entry(pos).map(|e| e.source)
    }

    /// The container a line came from.
    pub fn source_at(&self, pos: u64) -> Option<&Source> {
        self.entry(pos).map(|e| self.source_of(e))
    }
}

const ENTRY: usize = std::mem::size_of::<Entry>();
/// A B-tree node's share per raw copy, roughly.
const RAW_OVERHEAD: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_24_bytes() {
        assert_eq!(ENTRY, 24);
    }

    #[test]
    fn keeps_raw_and_text() {
        let mut s = Store::new(1 << 20);
        let a = s.source("web", "p-web-1");
        let p = s.push(a, Stream::Stderr, 5, b"\x1b[31mERROR\x1b[0m boom");
        let q = s.push(a, Stream::Stdout, 6, b"plain \xff bytes");
        assert_eq!(s.text(p).unwrap(), b"ERROR boom");
        assert_eq!(s.raw(p).unwrap(), b"\x1b[31mERROR\x1b[0m boom");
        assert_eq!(s.level(p), Some(Level::Error));
        assert_eq!(s.stream(p), Some(Stream::Stderr));
        assert_eq!(s.raw(q).unwrap(), b"plain \xff bytes");
        assert_eq!(s.timestamp(q), Some(6));
        assert_eq!(s.source_at(q).unwrap().container, "p-web-1");
    }

    #[test]
    fn spills_the_front_down_to_what_it_keeps_but_never_past_what_is_on_disk() {
        let mut s = Store::new(16 << 20);
        let src = s.source("web", "p-web-1");
        for i in 0..100_000 {
            s.push(
                src,
                Stream::Stdout,
                i,
                format!("line {i:06} {}", "x".repeat(90)).as_bytes(),
            );
        }
        let held = s.bytes();
        // Only the lines before 20,000 are on disk: the rest stay, whatever `keep` says.
        s.spill(1 << 20, 20_000);
        assert!(s.first() <= 20_000 && s.first() > 10_000, "{}", s.first());
        s.spill(1 << 20, s.end());
        assert!(
            s.bytes() <= (1 << 20) + MAX_CHUNK,
            "{} of {held}",
            s.bytes()
        );
        assert!(
            s.entries.capacity() <= 4 * s.len().max(1024),
            "room given back"
        );
        // What it holds is the newest, at its positions.
        assert_eq!(s.end(), 100_000);
        assert!(s.text(99_999).unwrap().starts_with(b"line 099999"));
        assert_eq!(s.text(s.first() - 1), None);
    }

    #[test]
    fn evicts_whole_chunks_within_budget_and_positions_stay() {
        let budget = 64 << 10;
        let mut s = Store::new(budget);
        let src = s.source("svc", "p-svc-1");
        for i in 0..20_000u64 {
            let pos = s.push(
                src,
                Stream::Stdout,
                i as i64,
                format!("line {i:08}").as_bytes(),
            );
            assert_eq!(pos, i);
            assert!(s.bytes() <= budget, "{} > {budget}", s.bytes());
        }
        assert!(s.first() > 0, "old lines fell off");
        assert_eq!(s.end(), 20_000);
        assert!(s.text(s.first() - 1).is_none());
        for pos in s.first()..s.end() {
            assert_eq!(s.text(pos).unwrap(), format!("line {pos:08}").as_bytes());
        }
        // Most of the budget is still in use.
        assert!(s.bytes() > budget / 2);
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_kept_whole() {
        let mut s = Store::new(1 << 20);
        let src = s.source("svc", "p-svc-1");
        let long = vec![b'x'; 300_000];
        let p = s.push(src, Stream::Stdout, 1, &long);
        let q = s.push(src, Stream::Stdout, 2, b"after");
        assert_eq!(s.text(p).unwrap(), &long[..]);
        assert_eq!(s.text(q).unwrap(), b"after");
    }

    #[test]
    fn memory_per_line() {
        // A million 100-byte lines fit the default budget; overhead beyond the text is the
        // 24-byte index entry, the newline and chunk tails.
        let mut s = Store::default();
        let src = s.source("svc", "p-svc-1");
        let line = [b'a'; 100];
        for i in 0..1_000_000 {
            s.push(src, Stream::Stdout, i, &line);
        }
        assert_eq!(
            s.first(),
            0,
            "a million typical lines fit the default budget"
        );
        let per_line = s.bytes() as f64 / 1e6 - 100.0;
        let real = (s.chunk_bytes + s.entries.capacity() * ENTRY) as f64 / 1e6 - 100.0;
        eprintln!("overhead per line: accounted {per_line:.1} B, allocated {real:.1} B");
        assert!(per_line < 30.0 && real < 60.0);
    }
}

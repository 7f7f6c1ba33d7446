//! Reading the store: filters, text search over the contiguous chunks, and windows of lines
//! ready to draw.

use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ansi;
use super::level::Level;
use super::line::{Line, Span, Stream, format_rfc3339};
use super::store::{Entry, PARTIAL, RAW, Store};

/// Which lines to show. Empty or absent fields select everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct Filter {
    /// Service names.
    pub services: Vec<String>,
    pub stream: Option<Stream>,
    /// This level and above; lines without a recognised level are left out.
    pub min_level: Option<Level>,
    /// Nanoseconds since the epoch, inclusive.
    #[ts(type = "number | null")]
    pub since: Option<i64>,
    /// Nanoseconds since the epoch, inclusive.
    #[ts(type = "number | null")]
    pub until: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SearchMode {
    /// Exact bytes.
    #[default]
    Substring,
    /// Unicode case folding.
    CaseInsensitive,
    Regex,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Search {
    pub pattern: String,
    #[serde(default)]
    pub mode: SearchMode,
}

/// A compiled search.
#[derive(Debug, Clone)]
pub enum Matcher {
    Bytes(Box<memmem::Finder<'static>>),
    /// Case-insensitive ASCII text with a run of non-letters: that run is found with `memmem`
    /// and the rest compared around it, which beats a case-insensitive regex when the needle's
    /// letters are common in the text (`user=U4242` among a million `user=…`).
    Folded(Box<Folded>),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub struct Folded {
    needle: Vec<u8>,
    anchor: memmem::Finder<'static>,
    /// Where the anchor sits in the needle.
    offset: usize,
}

impl Folded {
    fn new(needle: &str) -> Option<Folded> {
        let b = needle.as_bytes();
        if !b.is_ascii() {
            return None;
        }
        // The longest run without letters; at least two bytes, or candidates are too many.
        let (mut best, mut start) = ((0, 0), 0);
        for (i, c) in b.iter().chain([&b'a']).enumerate() {
            if c.is_ascii_alphabetic() {
                if i - start > best.1 - best.0 {
                    best = (start, i);
                }
                start = i + 1;
            }
        }
        (best.1 - best.0 >= 2).then(|| Folded {
            needle: b.to_vec(),
            anchor: memmem::Finder::new(&b[best.0..best.1]).into_owned(),
            offset: best.0,
        })
    }

    fn find_at(&self, hay: &[u8], mut at: usize) -> Option<(usize, usize)> {
        let n = self.needle.len();
        while at + n <= hay.len() {
            let start = at + self.anchor.find(&hay[at + self.offset..])?;
            let candidate = hay.get(start..start + n)?;
            if candidate.eq_ignore_ascii_case(&self.needle) {
                return Some((start, start + n));
            }
            at = start + 1;
        }
        None
    }
}

impl Matcher {
    pub fn new(search: &Search) -> Result<Matcher, regex::Error> {
        let regex = |pattern: &str, ci: bool| {
            RegexBuilder::new(pattern)
                .case_insensitive(ci)
                // `^` and `$` at each line's start and end: lines share the chunk searched.
                .multi_line(true)
                .size_limit(1 << 24)
                .build()
        };
        Ok(match search.mode {
            SearchMode::Substring => Matcher::Bytes(Box::new(
                memmem::Finder::new(search.pattern.as_bytes()).into_owned(),
            )),
            SearchMode::CaseInsensitive => match Folded::new(&search.pattern) {
                Some(f) => Matcher::Folded(Box::new(f)),
                None => Matcher::Regex(regex(&regex::escape(&search.pattern), true)?),
            },
            SearchMode::Regex => Matcher::Regex(regex(&search.pattern, false)?),
        })
    }

    /// The first non-empty match starting at or after `at`.
    fn find_at(&self, hay: &[u8], at: usize) -> Option<(usize, usize)> {
        match self {
            Matcher::Bytes(f) if f.needle().is_empty() => None,
            Matcher::Bytes(f) => f
                .find(hay.get(at..)?)
                .map(|s| (at + s, at + s + f.needle().len())),
            Matcher::Folded(f) => f.find_at(hay, at),
            Matcher::Regex(r) => {
                let mut at = at;
                loop {
                    let m = r.find_at(hay, at)?;
                    if !m.is_empty() {
                        return Some((m.start(), m.end()));
                    }
                    at = m.end() + 1;
                    if at > hay.len() {
                        return None;
                    }
                }
            }
        }
    }

    /// Byte ranges of the matches in `text`; empty matches are skipped (they mark nothing).
    pub fn find_all(&self, text: &[u8]) -> Vec<(usize, usize)> {
        self.find_before(text, text.len())
    }

    /// [`Matcher::find_all`]'s matches that start before byte `limit`.
    fn find_before(&self, text: &[u8], limit: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((s, e)) = self.find_at(text, at).filter(|(s, _)| *s < limit) {
            out.push((s, e));
            at = e;
        }
        out
    }

    /// Calls `hit` with each match in `hay`, resuming at `hit`'s returned offset.
    pub(crate) fn scan(&self, hay: &[u8], mut hit: impl FnMut(usize, usize) -> usize) {
        let mut at = 0;
        while let Some((s, e)) = self.find_at(hay, at) {
            at = hit(s, e).max(s + 1);
        }
    }
}

impl Filter {
    /// The filter with service names resolved against the store's sources.
    fn compile(&self, store: &Store) -> Compiled {
        let sources = (!self.services.is_empty()).then(|| {
            store
                .sources
                .iter()
                .map(|s| self.services.contains(&s.service))
                .collect()
        });
        Compiled {
            sources,
            stream: self.stream,
            min_level: self.min_level,
            since: self.since.unwrap_or(i64::MIN),
            until: self.until.unwrap_or(i64::MAX),
        }
    }
}

struct Compiled {
    sources: Option<Vec<bool>>,
    stream: Option<Stream>,
    min_level: Option<Level>,
    since: i64,
    until: i64,
}

impl Compiled {
    fn accepts(&self, e: &Entry) -> bool {
        e.ts >= self.since
            && e.ts <= self.until
            && self.stream.is_none_or(|s| s == e.stream())
            && self
                .min_level
                .is_none_or(|l| e.level() >= l && e.level() != Level::Unknown)
            && self
                .sources
                .as_ref()
                .is_none_or(|s| s.get(usize::from(e.source)).copied().unwrap_or(false))
    }
}

/// Positions of the lines a filter and an optional search select, oldest first.
pub fn select(store: &Store, filter: &Filter, matcher: Option<&Matcher>) -> Vec<u64> {
    let Some(m) = matcher else {
        return select_range(store, filter, store.first()..store.end());
    };
    let f = filter.compile(store);
    let mut out = Vec::new();
    for (i, chunk) in store.chunks.iter().enumerate() {
        let lo = (chunk.first - store.first) as usize;
        let hi = store
            .chunks
            .get(i + 1)
            .map_or(store.entries.len(), |c| (c.first - store.first) as usize);
        let lines = &store.entries[lo..hi];
        // Scan the chunk's text in one pass; map each match to its line by binary search and
        // continue after that line, so a line is reported once however often it matches.
        m.scan(&chunk.data, |start, end| {
            let k = lines.partition_point(|e| e.off as usize <= start) - 1;
            let e = &lines[k];
            let line_end = (e.off + e.len) as usize;
            // A regex may match across the newline between lines; then look in the line alone.
            let hit = end <= line_end || !m.find_all(store.text_of(e)).is_empty();
            if hit && f.accepts(e) {
                out.push(chunk.first + k as u64);
            }
            line_end + 1
        });
    }
    out
}

/// Positions in `range` of the lines a filter selects.
pub fn select_range(store: &Store, filter: &Filter, range: std::ops::Range<u64>) -> Vec<u64> {
    let f = filter.compile(store);
    let lo = range.start.max(store.first());
    let hi = range.end.min(store.end());
    if lo >= hi {
        return Vec::new();
    }
    let entries = &store.entries[(lo - store.first()) as usize..(hi - store.first()) as usize];
    (lo..hi)
        .zip(entries)
        .filter(|(_, e)| f.accepts(e))
        .map(|(p, _)| p)
        .collect()
}

/// Lines ready to draw, with `matcher`'s matches marked.
pub fn lines(store: &Store, positions: &[u64], matcher: Option<&Matcher>) -> Vec<Line> {
    lines_within(store, positions, matcher, usize::MAX)
}

/// Lines ready to draw with at most `max_text` bytes of each line's text (cut at a character);
/// matches are found in the whole line and those in the text kept are marked.
pub fn lines_within(
    store: &Store,
    positions: &[u64],
    matcher: Option<&Matcher>,
    max_text: usize,
) -> Vec<Line> {
    positions
        .iter()
        .filter_map(|&pos| line_within(store, pos, matcher, max_text))
        .collect()
}

/// One line ready to draw, or `None` if it has fallen off.
pub fn line(store: &Store, pos: u64, matcher: Option<&Matcher>) -> Option<Line> {
    line_within(store, pos, matcher, usize::MAX)
}

fn line_within(
    store: &Store,
    pos: u64,
    matcher: Option<&Matcher>,
    max_text: usize,
) -> Option<Line> {
    let e = store.entry(pos)?;
    let whole = store.text_of(e);
    let text = &whole[..prefix_len(whole, max_text)];
    let cut = text.len() as u32;
    let spans: Vec<_> = if e.flags & RAW != 0 {
        let mut spans = ansi::strip(store.raw(pos)?).spans;
        spans.retain(|(s, _, _)| *s < cut);
        spans
    } else {
        Vec::new()
    };
    let matches = matcher
        .map(|m| m.find_before(whole, text.len()))
        .unwrap_or_default();
    let units = if spans.is_empty() && matches.is_empty() {
        Vec::new()
    } else {
        utf16_offsets(text)
    };
    let unit = |b: usize| units[b.min(text.len())];
    let source = store.source_of(e);
    Some(Line {
        pos,
        time: format_rfc3339(e.ts),
        service: source.service.clone(),
        container: source.container.clone(),
        stream: e.stream(),
        level: e.level(),
        text: String::from_utf8_lossy(text).into_owned(),
        omitted: (whole.len() - text.len()) as u32,
        partial: e.flags & PARTIAL != 0,
        spans: spans
            .into_iter()
            .map(|(s, t, style)| Span {
                start: unit(s as usize),
                end: unit(t as usize),
                style,
            })
            .collect(),
        json: e.flags & super::store::JSON != 0,
        marker: e.marker(),
        matches: matches
            .into_iter()
            .map(|(s, t)| (unit(s), unit(t)))
            .collect(),
    })
}

/// The longest prefix of `text` of at most `max` bytes that does not split a UTF-8 character
/// (and may be empty, when the first character is longer than `max`).
pub(super) fn prefix_len(text: &[u8], max: usize) -> usize {
    let max = max.min(text.len());
    (max.saturating_sub(3)..=max)
        .rev()
        .find(|&i| i == text.len() || text[i] & 0xC0 != 0x80)
        .unwrap_or(max)
}

/// For each byte offset of `text` (and its end), the UTF-16 offset in its lossy decoding:
/// each invalid sequence becomes one U+FFFD.
fn utf16_offsets(text: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(text.len() + 1);
    let mut unit = 0u32;
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            for _ in 0..c.len_utf8() {
                out.push(unit);
            }
            unit += c.len_utf16() as u32;
        }
        if !chunk.invalid().is_empty() {
            out.extend(std::iter::repeat_n(unit, chunk.invalid().len()));
            unit += 1;
        }
    }
    out.push(unit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let mut s = Store::new(1 << 20);
        let web = s.source("web", "p-web-1");
        let db = s.source("db", "p-db-1");
        s.push(web, Stream::Stdout, 10, b"GET /index 200");
        s.push(db, Stream::Stderr, 20, b"ERROR connection refused");
        s.push(
            web,
            Stream::Stdout,
            30,
            b"\x1b[33mWARN\x1b[0m slow request /Index",
        );
        s.push(db, Stream::Stdout, 40, b"ready \xff\xfe bytes");
        s.push(
            web,
            Stream::Stdout,
            50,
            "caf\u{e9} \u{1f600} index".as_bytes(),
        );
        s
    }

    fn search(pattern: &str, mode: SearchMode) -> Matcher {
        Matcher::new(&Search {
            pattern: pattern.into(),
            mode,
        })
        .unwrap()
    }

    #[test]
    fn filters() {
        let s = store();
        let sel = |f: Filter| select(&s, &f, None);
        assert_eq!(sel(Filter::default()), vec![0, 1, 2, 3, 4]);
        let db = Filter {
            services: vec!["db".into()],
            ..Filter::default()
        };
        assert_eq!(sel(db), vec![1, 3]);
        let stderr = Filter {
            stream: Some(Stream::Stderr),
            ..Filter::default()
        };
        assert_eq!(sel(stderr), vec![1]);
        let warn = Filter {
            min_level: Some(Level::Warn),
            ..Filter::default()
        };
        assert_eq!(sel(warn), vec![1, 2]);
        let time = Filter {
            since: Some(20),
            until: Some(40),
            ..Filter::default()
        };
        assert_eq!(sel(time), vec![1, 2, 3]);
    }

    #[test]
    fn search_modes_and_match_positions() {
        let s = store();
        let exact = search("index", SearchMode::Substring);
        assert_eq!(select(&s, &Filter::default(), Some(&exact)), vec![0, 4]);
        let ci = search("INDEX", SearchMode::CaseInsensitive);
        assert_eq!(select(&s, &Filter::default(), Some(&ci)), vec![0, 2, 4]);
        let folded = search("iNDEX 200", SearchMode::CaseInsensitive);
        assert!(matches!(folded, Matcher::Folded(_)));
        assert_eq!(select(&s, &Filter::default(), Some(&folded)), vec![0]);
        assert_eq!(line(&s, 0, Some(&folded)).unwrap().matches, vec![(5, 14)]);
        let unicode = search("CAF\u{c9}", SearchMode::CaseInsensitive);
        assert_eq!(select(&s, &Filter::default(), Some(&unicode)), vec![4]);
        let re = search(r"re(fused|quest|ady)", SearchMode::Regex);
        assert_eq!(select(&s, &Filter::default(), Some(&re)), vec![1, 2, 3]);
        let web = Filter {
            services: vec!["web".into()],
            ..Filter::default()
        };
        assert_eq!(select(&s, &web, Some(&re)), vec![2]);

        // Positions are UTF-16 offsets in the displayed text.
        let l = line(&s, 4, Some(&exact)).unwrap();
        assert_eq!(l.text, "caf\u{e9} \u{1f600} index");
        assert_eq!(l.matches, vec![(8, 13)]);
        let l = line(&s, 2, Some(&ci)).unwrap();
        assert_eq!(l.text, "WARN slow request /Index");
        assert_eq!(l.matches, vec![(19, 24)]);
        assert_eq!((l.spans[0].start, l.spans[0].end), (0, 4));
        assert_eq!(l.level, Level::Warn);
        let l = line(&s, 3, Some(&search("bytes", SearchMode::Substring))).unwrap();
        assert_eq!(l.text, "ready \u{fffd}\u{fffd} bytes");
        assert_eq!(l.matches, vec![(9, 14)]);
    }

    /// `^` and `$` are a line's start and end, as in `grep`, also where lines share a chunk.
    #[test]
    fn anchors_match_at_each_line() {
        let s = store();
        let re = search(r"^ready |^index|bytes$", SearchMode::Regex);
        assert_eq!(select(&s, &Filter::default(), Some(&re)), vec![3]);
        let re = search(r"(fused|index)$", SearchMode::Regex);
        assert_eq!(select(&s, &Filter::default(), Some(&re)), vec![1, 4]);
    }

    #[test]
    fn regex_never_matches_across_lines() {
        let s = store();
        let re = search(r"200\s+ERROR", SearchMode::Regex);
        assert!(select(&s, &Filter::default(), Some(&re)).is_empty());
        let neg = search(r"[^x]*refused", SearchMode::Regex);
        assert_eq!(select(&s, &Filter::default(), Some(&neg)), vec![1]);
    }

    #[test]
    fn windows_skip_evicted_lines() {
        let mut s = Store::new(16 << 10);
        let src = s.source("svc", "p-svc-1");
        for i in 0..5000 {
            s.push(src, Stream::Stdout, i, format!("n={i}").as_bytes());
        }
        let first = s.first();
        assert!(first > 0);
        let got = lines(&s, &[first - 1, first, 4999], None);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].pos, first);
        assert_eq!(got[1].text, "n=4999");
    }

    #[test]
    fn lines_are_searched_as_shown() {
        let mut s = Store::new(1 << 20);
        let web = s.source("web", "p-web-1");
        s.push(
            web,
            Stream::Stdout,
            1,
            "pass\u{200b}word to\u{ad}ken".as_bytes(),
        );
        let hostile = "user \u{202e}nimda\u{202c} next\u{85}line \u{9b}31m \u{2067}x\u{2069}";
        s.push(web, Stream::Stdout, 2, hostile.as_bytes());
        // Zero-width characters draw as nothing: the words read, and are found, whole.
        let m = search("password token", SearchMode::Substring);
        assert_eq!(select(&s, &Filter::default(), Some(&m)), vec![0]);
        assert_eq!(line(&s, 0, Some(&m)).unwrap().text, "password token");
        // Direction overrides and C1 controls show as U+FFFD, and that is the text.
        let shown = "user \u{fffd}nimda\u{fffd} next\u{fffd}line \u{fffd}31m \u{fffd}x\u{fffd}";
        assert_eq!(line(&s, 1, None).unwrap().text, shown);
        let m = search("\u{fffd}nimda", SearchMode::Substring);
        assert_eq!(select(&s, &Filter::default(), Some(&m)), vec![1]);
        // The bytes the container wrote are kept for exact output.
        assert_eq!(s.raw(1).unwrap(), hostile.as_bytes());
    }
}

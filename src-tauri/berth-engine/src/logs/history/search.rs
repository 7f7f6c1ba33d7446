//! Searching the history where it lies: each segment's bytes are scanned in one pass, the
//! records' heads walked alongside, and only the records hit are checked and mapped to lines. Reading every segment into a [`Store`] first (as
//! [`segments::each`] does) costs about a microsecond a line, ten seconds over 10M stored lines;
//! the search itself is a small part of that (docs/benchmarks.md, issue 17).
//!
//! [`Store`]: crate::logs::Store

use std::io::{self, Read};
use std::path::Path;

use super::format;
use super::segments;
use crate::logs::ansi;
use crate::logs::query::Matcher;
use crate::logs::store::{MARKER, RAW};

/// Positions of the stored lines in `dir` that `matcher` finds, oldest first, matched as the
/// viewer matches them: on a line's text without escape sequences, never across two lines.
pub fn search(dir: &Path, matcher: &Matcher) -> io::Result<Vec<u64>> {
    let mut found = Vec::new();
    newest_first(dir, matcher, u64::MAX, |hits| {
        found.push(hits);
        true
    })?;
    Ok(found.into_iter().rev().flatten().collect())
}

/// [`search`] of the lines before `before`, a segment at a time from the newest: offers `take`
/// each segment's hits (oldest first within it), so the newest matches are known after a
/// segment's scan rather than the whole history's. Stops when `take` says no; whether it went
/// through every segment.
pub fn newest_first(
    dir: &Path,
    matcher: &Matcher,
    before: u64,
    mut take: impl FnMut(Vec<u64>) -> bool,
) -> io::Result<bool> {
    let mut list = segments::list(dir)?;
    list.retain(|s| s.first < before);
    // One buffer for every segment: a fresh one each time cost a page fault per 4 KiB.
    let mut bytes = Vec::new();
    for segment in list.into_iter().rev() {
        bytes.clear();
        match std::fs::File::open(&segment.path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            Ok(_) => {}
            // Dropped for the budget since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        let hits = search_segment(&bytes, matcher)
            .into_iter()
            .map(|k| segment.first + k as u64)
            .filter(|&p| p < before)
            .collect();
        if !take(hits) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Offers `take` the positions of the stored lifecycle markers before `before`, newest first
/// (`newest`) or oldest first, until it says it has one: segment by segment, the records' heads
/// walked as a search walks them, so only a marker's own record is checked.
pub fn markers(
    dir: &Path,
    before: u64,
    newest: bool,
    mut take: impl FnMut(u64) -> bool,
) -> io::Result<()> {
    let mut list = segments::list(dir)?;
    list.retain(|s| s.first < before);
    if newest {
        list.reverse();
    }
    let mut bytes = Vec::new();
    for segment in list {
        bytes.clear();
        match std::fs::File::open(&segment.path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        let mut found: Vec<u64> = format::lines_unchecked(&bytes)
            .enumerate()
            .filter(|&(_, (start, _, flags))| flags & MARKER != 0 && format::intact(&bytes, start))
            .map(|(k, _)| segment.first + k as u64)
            .filter(|&pos| pos < before)
            .collect();
        if newest {
            found.reverse();
        }
        if found.into_iter().any(&mut take) {
            return Ok(());
        }
    }
    Ok(())
}

/// The numbers (within the segment) of its lines that `matcher` finds: one pass of the
/// matcher over the bytes, the records' heads walked alongside to place each hit.
fn search_segment(bytes: &[u8], matcher: &Matcher) -> Vec<usize> {
    if looks_around(matcher) {
        return search_lines(bytes, matcher);
    }
    let mut lines = format::lines_unchecked(bytes).enumerate().peekable();
    let end = bytes.len();
    let (mut hits, mut escaped) = (Vec::new(), Vec::new());
    matcher.scan(bytes, |s, e| {
        while let Some(&(k, (start, stop, flags))) = lines.peek() {
            if s < start {
                // In the head of a record: go on at its text.
                return start;
            }
            lines.next();
            if flags & RAW != 0 {
                escaped.push((k, start, stop));
            } else if s < stop
                && (e <= stop || !matcher.find_all(&bytes[start..stop]).is_empty())
                && format::intact(bytes, start)
            {
                hits.push(k);
            }
            if s < stop {
                return stop;
            }
        }
        end
    });
    // Lines with escape sequences match on the text the viewer shows.
    escaped.extend(
        lines
            .filter(|(_, (_, _, flags))| flags & RAW != 0)
            .map(|(k, (start, stop, _))| (k, start, stop)),
    );
    for (k, start, stop) in escaped {
        if !matcher
            .find_all(&ansi::strip(&bytes[start..stop]).text)
            .is_empty()
            && format::intact(bytes, start)
        {
            hits.push(k);
        }
    }
    hits.sort_unstable();
    hits
}

/// Whether a regex asserts what is around a match (`^`, `$`, word boundaries): in the
/// segment's bytes a line's text lies between binary record heads, not between line ends, so
/// such a regex is run on each line's text alone.
fn looks_around(matcher: &Matcher) -> bool {
    let Matcher::Regex(r) = matcher else {
        return false;
    };
    let p = r.as_str();
    p.contains(['^', '$'])
        || ["\\b", "\\B", "\\A", "\\z", "\\<", "\\>"]
            .iter()
            .any(|a| p.contains(a))
}

/// [`search_segment`] one line at a time.
fn search_lines(bytes: &[u8], matcher: &Matcher) -> Vec<usize> {
    format::lines_unchecked(bytes)
        .enumerate()
        .filter(|&(_, (start, stop, flags))| {
            let text = &bytes[start..stop];
            let found = if flags & RAW != 0 {
                !matcher.find_all(&ansi::strip(text).text).is_empty()
            } else {
                !matcher.find_all(text).is_empty()
            };
            found && format::intact(bytes, start)
        })
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::search;
    use crate::logs::follow::{Origin, Record};
    use crate::logs::history::segments;
    use crate::logs::line::Stream;
    use crate::logs::query::{self, Filter, Matcher, Search, SearchMode};
    use crate::logs::{Hub, HubOptions};

    #[test]
    fn finds_what_a_search_of_the_stores_finds() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::new(HubOptions::default());
        hub.attach_history(dir.path(), 1 << 30).unwrap();
        let origin = Arc::new(Origin {
            id: "c1".into(),
            service: "web".into(),
            name: "p-web-1".into(),
        });
        let texts = [
            "GET /items 200",
            "\x1b[31mpanic\x1b[0m at main.rs:3",
            "ERROR disk full",
            "error: retry",
            "",
            "GET /items 500",
            "tail of a line",
            "panic",
        ];
        let mut batch: Vec<Record> = (0..2000)
            .map(|i| Record {
                origin: origin.clone(),
                stream: Stream::Stdout,
                ts: i,
                text: texts[i as usize % texts.len()].as_bytes().to_vec(),
                partial: false,
                marker: None,
            })
            .collect();
        hub.append(&mut batch);
        drop(hub);
        for (pattern, mode) in [
            ("panic at", SearchMode::Substring),
            ("error", SearchMode::CaseInsensitive),
            ("items", SearchMode::Substring),
            ("line\npanic", SearchMode::Substring),
            (r"500\s+tail", SearchMode::Regex),
            (r".", SearchMode::Regex),
            (r"^panic", SearchMode::Regex),
            (r"^GET /items \d+$", SearchMode::Regex),
            (r"full$", SearchMode::Regex),
            (r"\berror\b", SearchMode::Regex),
        ] {
            let m = Matcher::new(&Search {
                pattern: pattern.into(),
                mode,
            })
            .unwrap();
            let mut want = Vec::new();
            segments::each(dir.path(), |store| {
                want.extend(query::select(store, &Filter::default(), Some(&m)));
            })
            .unwrap();
            assert_eq!(search(dir.path(), &m).unwrap(), want, "{pattern:?}");
        }
    }
}

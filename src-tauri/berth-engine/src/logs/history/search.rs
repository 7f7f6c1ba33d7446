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
use crate::logs::store::RAW;

/// Positions of the stored lines in `dir` that `matcher` finds, oldest first, matched as the
/// viewer matches them: on a line's text without escape sequences, never across two lines.
pub fn search(dir: &Path, matcher: &Matcher) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    // One buffer for every segment: a fresh 64 MiB one each time cost a page fault per 4 KiB.
    let mut bytes = Vec::new();
    for segment in segments::list(dir)? {
        bytes.clear();
        match std::fs::File::open(&segment.path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            Ok(_) => {}
            // Dropped for the budget since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        let hits = search_segment(&bytes, matcher);
        out.extend(hits.into_iter().map(|k| segment.first + k as u64));
    }
    Ok(out)
}

/// The numbers (within the segment) of its lines that `matcher` finds: one pass of the
/// matcher over the bytes, the records' heads walked alongside to place each hit.
fn search_segment(bytes: &[u8], matcher: &Matcher) -> Vec<usize> {
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

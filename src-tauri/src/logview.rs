//! The log viewer's view, kept here so the webview holds only the rows it draws: the positions
//! of the buffered lines that pass the filter, and of those that match the search. Rows are
//! indexes into `rows`; lines that fall off the store's front leave the view from its front.

use std::collections::VecDeque;

use berth_engine::logs::{self, Delivery, Filter, HistoryStatus, Line, Matcher, Search, Store};
use serde::Serialize;
use ts_rs::TS;

/// Most rows a report carries: a screenful on a tall screen, plus the viewer's overscan.
const TAIL: usize = 200;

/// Most bytes of a line's text a row carries: far more than a screen is wide, and a 16 MB line
/// costs the webview no more than this (the whole line is copied through `line_text`).
const TEXT: usize = 8 << 10;

/// What the viewer is told after each change (ui/src/lib/logs/source.ts). Reports can reach it
/// late or out of order (each watch has its own channel), so every figure in one is absolute:
/// a viewer may skip any report and lose nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ViewStats {
    /// Which view this describes: each `set` makes a new one.
    pub view: u32,
    /// This view's report count, to skip a report older than one already taken.
    pub seq: u32,
    /// Rows in the view now.
    pub length: u32,
    /// Rows with at least one match of the current search (0 without a search).
    pub matches: u32,
    /// Rows that left the front since the view was set (the buffer is bounded): every row index
    /// the viewer holds shifts down by the growth since the last report it took.
    #[ts(type = "number")]
    pub evicted: u64,
    /// Lines the store has dropped since it started, all filters aside: lets the viewer say
    /// that older lines are no longer kept.
    #[ts(type = "number")]
    pub dropped: u64,
    /// The newest rows that arrived since the previous report (at most `TAIL`), ending at row
    /// `length`, search matches marked: a following viewer draws them without asking for a
    /// window, so a new line is one change on screen instead of two. Empty from `set`.
    pub tail: Vec<Line>,
    /// A row to scroll to and highlight, once: the marker a notification was clicked for.
    pub reveal: Option<u32>,
    /// Why the project's lines are no longer written to its history on disk (a full disk),
    /// while that lasts.
    pub history_stopped: Option<String>,
}

/// Rows of the view, as `window` reads them (ui/src/lib/logs/source.ts).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Rows {
    /// The row of `lines[0]`, as the asker numbers rows: later than asked when the first rows
    /// asked for have left the view.
    pub start: u32,
    pub lines: Vec<Line>,
}

#[derive(Default)]
pub struct LogView {
    filter: Filter,
    matcher: Option<Matcher>,
    rows: VecDeque<u64>,
    /// Positions (not rows) of the rows that match the search.
    matches: VecDeque<u64>,
    /// Positions of the rows that are lifecycle markers.
    markers: VecDeque<u64>,
    /// The position of a line to reveal in the next report.
    reveal: Option<u64>,
    /// Counts `set`s and this view's reports (see `ViewStats`).
    view: u32,
    seq: u32,
    /// Rows evicted since the view was set.
    evicted: u64,
    /// Rows appended and not yet reported.
    fresh: usize,
}

impl LogView {
    /// Replaces filter and search and selects anew from the store.
    pub fn set(
        &mut self,
        store: &Store,
        filter: Filter,
        search: Option<&Search>,
    ) -> Result<ViewStats, String> {
        let matcher = match search.filter(|s| !s.pattern.is_empty()) {
            Some(s) => Some(Matcher::new(s).map_err(|e| format!("Invalid search: {e}"))?),
            None => None,
        };
        self.rows = logs::select(store, &filter, None).into();
        self.matches = match &matcher {
            Some(m) => logs::select(store, &filter, Some(m)).into(),
            None => VecDeque::new(),
        };
        self.markers = self
            .rows
            .iter()
            .copied()
            .filter(|&pos| store.marker(pos).is_some())
            .collect();
        self.filter = filter;
        self.matcher = matcher;
        self.view = self.view.wrapping_add(1);
        self.seq = 0;
        self.evicted = 0;
        self.fresh = 0;
        Ok(self.stats(store))
    }

    /// Takes in a live delivery (for this view's filter).
    pub fn apply(&mut self, store: &Store, delivery: Delivery) {
        let positions: Vec<u64> = match delivery {
            Delivery::Lines { lines, .. } => lines.iter().map(|l| l.pos).collect(),
            Delivery::Missed { from, to, .. } => logs::select_range(store, &self.filter, from..to),
        };
        let last = self.rows.back().copied();
        for pos in positions {
            // A subscription opened before the view's select delivers some rows twice.
            if last.is_some_and(|l| pos <= l) {
                continue;
            }
            self.rows.push_back(pos);
            self.fresh += 1;
            if store.marker(pos).is_some() {
                self.markers.push_back(pos);
            }
            if let (Some(m), Some(text)) = (&self.matcher, store.text(pos))
                && !m.find_all(text).is_empty()
            {
                self.matches.push_back(pos);
            }
        }
        // Unreported (the window is hidden), rows of lines the store dropped must still go.
        self.evict(store);
    }

    /// Drops rows whose lines fell off the store, and reports the view.
    pub fn stats(&mut self, store: &Store) -> ViewStats {
        self.evict(store);
        self.seq += 1;
        let length = self.rows.len();
        let fresh = std::mem::take(&mut self.fresh).min(TAIL).min(length);
        let reveal = self
            .reveal
            .take()
            .and_then(|pos| self.rows.binary_search(&pos).ok())
            .map(|row| row as u32);
        ViewStats {
            view: self.view,
            seq: self.seq,
            length: length as u32,
            matches: self.matches.len() as u32,
            evicted: self.evicted,
            dropped: store.first(),
            tail: self
                .window(store, (length - fresh) as u32, fresh as u32, self.evicted)
                .lines,
            reveal,
            history_stopped: None,
        }
    }

    fn evict(&mut self, store: &Store) {
        let first = store.first();
        let gone = self.rows.partition_point(|&p| p < first);
        self.rows.drain(..gone);
        self.evicted += gone as u64;
        for list in [&mut self.matches, &mut self.markers] {
            let gone = list.partition_point(|&p| p < first);
            list.drain(..gone);
        }
    }

    /// Reveals the line at `pos` in the next report (if the view shows it).
    pub fn reveal(&mut self, pos: u64) {
        self.reveal = Some(pos);
    }

    /// Rows `start..start + count`, ready to draw, numbered as a viewer numbers them after the
    /// `evicted` evictions it has been told of: its reports can lag behind the view.
    pub fn window(&mut self, store: &Store, start: u32, count: u32, evicted: u64) -> Rows {
        self.evict(store);
        let behind = self.evicted.saturating_sub(evicted);
        let ours = |row: u32| (u64::from(row).saturating_sub(behind) as usize).min(self.rows.len());
        let (first, end) = (ours(start), ours(start.saturating_add(count)));
        let positions: Vec<u64> = self.rows.range(first..end).copied().collect();
        Rows {
            start: (first as u64 + behind) as u32,
            lines: logs::lines_within(store, &positions, self.matcher.as_ref(), TEXT),
        }
    }

    /// The whole text of row `row` (numbered as in [`LogView::window`]), as shown; `None` when it
    /// has left the view.
    pub fn line_text(&mut self, store: &Store, row: u32, evicted: u64) -> Option<String> {
        self.evict(store);
        let behind = self.evicted.saturating_sub(evicted);
        let ours = u64::from(row).checked_sub(behind)?;
        let pos = *self.rows.get(usize::try_from(ours).ok()?)?;
        store
            .text(pos)
            .map(|t| String::from_utf8_lossy(t).into_owned())
    }

    /// The nearest matching row after (or before) row `from`, wrapping around, among the
    /// viewer's `length` rows; rows numbered as in [`LogView::window`]. Rows that came after
    /// the viewer's last report are not among them: it could not show them.
    pub fn find(
        &mut self,
        store: &Store,
        from: u32,
        forward: bool,
        evicted: u64,
        length: u32,
    ) -> Option<u32> {
        self.evict(store);
        let at = Asked {
            from,
            forward,
            evicted,
            length,
        };
        nearest(&self.rows, &self.matches, self.evicted, at)
    }

    /// [`LogView::find`] for the nearest lifecycle marker.
    pub fn find_marker(
        &mut self,
        store: &Store,
        from: u32,
        forward: bool,
        evicted: u64,
        length: u32,
    ) -> Option<u32> {
        self.evict(store);
        let at = Asked {
            from,
            forward,
            evicted,
            length,
        };
        nearest(&self.rows, &self.markers, self.evicted, at)
    }

    /// The positions of the whole view, for export.
    pub fn positions(&self) -> Vec<u64> {
        self.rows.iter().copied().collect()
    }
}

/// Where a viewer asks a find from: its row `from`, the direction, and the evictions and rows
/// its last report told it of.
#[derive(Clone, Copy)]
struct Asked {
    from: u32,
    forward: bool,
    evicted: u64,
    length: u32,
}

/// The row of the nearest of `targets` (positions among `rows`) as [`LogView::find`] describes
/// it; `ours` is the view's evicted count.
fn nearest(rows: &VecDeque<u64>, targets: &VecDeque<u64>, ours: u64, asked: Asked) -> Option<u32> {
    let Asked {
        from,
        forward,
        evicted,
        length,
    } = asked;
    let behind = ours.saturating_sub(evicted);
    let known = u64::from(length).saturating_sub(behind) as usize;
    // Only the matches among the rows the viewer has: `..end`.
    let end = match rows.get(known) {
        Some(&past) => targets.partition_point(|&m| m < past),
        None => targets.len(),
    };
    if end == 0 {
        return None;
    }
    let at = u64::from(from)
        .checked_sub(behind)
        .and_then(|row| rows.get(row as usize))
        .copied();
    let i = match (at, forward) {
        (Some(pos), true) => Some(targets.partition_point(|&m| m <= pos)).filter(|&i| i < end),
        (Some(pos), false) => targets
            .partition_point(|&m| m < pos)
            .min(end)
            .checked_sub(1),
        (None, _) => None,
    };
    // Past either end, or from a row the viewer no longer has: wrap around.
    let i = i.unwrap_or(if forward { 0 } else { end - 1 });
    let target = &targets[i];
    let row = rows.binary_search(target).ok()?;
    Some((row as u64 + behind) as u32)
}

/// What the window says while the history is not written, naming where and what to do.
pub fn history_warning(status: &HistoryStatus) -> Option<String> {
    let HistoryStatus::Stopped {
        dir,
        reason,
        dropped,
    } = status
    else {
        return None;
    };
    Some(format!(
        "The log history in {dir} stopped: {reason}. {dropped} lines were not stored; the log \
         keeps them in memory. Free some disk space or lower the History setting: writing \
         resumes by itself."
    ))
}

#[cfg(test)]
mod tests {
    use berth_engine::logs::{SearchMode, Stream};

    use super::*;

    fn store(lines: &[(&str, &str)], budget: usize) -> Store {
        let mut store = Store::new(budget);
        for (i, (service, text)) in lines.iter().enumerate() {
            let source = store.source(service, &format!("p-{service}-1"));
            store.push(source, Stream::Stdout, i as i64, text.as_bytes());
        }
        store
    }

    fn search(pattern: &str) -> Search {
        Search {
            pattern: pattern.into(),
            mode: SearchMode::CaseInsensitive,
        }
    }

    #[test]
    fn a_filtered_view_windows_and_finds_by_row() {
        let s = store(
            &[
                ("web", "GET / 200"),
                ("db", "ready"),
                ("web", "GET /x 404"),
                ("web", "get /y 200"),
            ],
            1 << 20,
        );
        let mut v = LogView::default();
        let filter = Filter {
            services: vec!["web".into()],
            ..Filter::default()
        };
        let stats = v.set(&s, filter, Some(&search("get"))).unwrap();
        assert_eq!((stats.length, stats.matches), (3, 3));
        let rows = v.window(&s, 1, 10, 0).lines;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "GET /x 404");
        assert_eq!(rows[0].matches, [(0, 3)]);
        assert_eq!(v.find(&s, 0, true, 0, 3), Some(1));
        assert_eq!(v.find(&s, 2, true, 0, 3), Some(0), "wraps forward");
        assert_eq!(v.find(&s, 0, false, 0, 3), Some(2), "wraps backward");
        let stats = v.set(&s, Filter::default(), Some(&search("404"))).unwrap();
        assert_eq!((stats.length, stats.matches), (4, 1));
        assert_eq!(v.find(&s, 3, true, 0, 4), Some(2));
    }

    #[test]
    fn markers_are_found_by_row_and_a_revealed_one_is_reported_once() {
        use berth_engine::logs::Marker;
        let mut s = store(&[("web", "one"), ("db", "two")], 1 << 20);
        let web = s.source("web", "p-web-1");
        let crashed = s.push_marker(web, 3, Marker::Crashed, b"exited (3)");
        s.push(web, Stream::Stdout, 4, b"three");
        let db = s.source("db", "p-db-1");
        s.push_marker(db, 5, Marker::Started, b"started");
        let mut v = LogView::default();
        let stats = v.set(&s, Filter::default(), None).unwrap();
        assert_eq!((stats.length, stats.reveal), (5, None));
        assert_eq!(v.find_marker(&s, 0, true, 0, 5), Some(2));
        assert_eq!(v.find_marker(&s, 2, true, 0, 5), Some(4));
        assert_eq!(v.find_marker(&s, 4, true, 0, 5), Some(2), "wraps forward");
        assert_eq!(v.find_marker(&s, 2, false, 0, 5), Some(4), "wraps backward");
        assert_eq!(v.find(&s, 0, true, 0, 5), None, "no search, no match");
        v.reveal(crashed);
        assert_eq!(v.stats(&s).reveal, Some(2));
        assert_eq!(v.stats(&s).reveal, None, "once");
        // In a view without the marker's service there is nothing to reveal.
        let only_db = Filter {
            services: vec!["db".into()],
            ..Filter::default()
        };
        v.set(&s, only_db, None).unwrap();
        v.reveal(crashed);
        assert_eq!(v.stats(&s).reveal, None);
        assert_eq!(v.find_marker(&s, 0, true, 0, 2), Some(1));
    }

    #[test]
    fn a_stopped_history_is_said_with_where_and_what_to_do() {
        let stopped = HistoryStatus::Stopped {
            dir: "/data/logs/p".into(),
            reason: "No space left on device".into(),
            dropped: 12,
        };
        let said = history_warning(&stopped).unwrap();
        assert!(
            said.contains("/data/logs/p") && said.contains("No space left"),
            "{said}"
        );
        assert!(said.contains("12 lines") && said.contains("Free some disk space"));
        assert_eq!(history_warning(&HistoryStatus::Off), None);
    }

    #[test]
    fn an_invalid_regex_is_an_error_that_names_it() {
        let s = store(&[("web", "x")], 1 << 20);
        let mut v = LogView::default();
        let bad = Search {
            pattern: "(".into(),
            mode: SearchMode::Regex,
        };
        let err = v.set(&s, Filter::default(), Some(&bad)).unwrap_err();
        assert!(err.starts_with("Invalid search"), "{err}");
    }

    #[test]
    fn live_lines_append_once_and_evicted_rows_are_reported() {
        let mut s = store(&[("web", "one"), ("web", "two")], 4096);
        let mut v = LogView::default();
        v.set(&s, Filter::default(), Some(&search("needle")))
            .unwrap();
        // The subscription repeats a line the select already had, then brings a new one.
        let source = s.source("web", "p-web-1");
        s.push(source, Stream::Stdout, 2, b"a needle");
        let lines = logs::lines(&s, &[1, 2], None);
        v.apply(
            &s,
            Delivery::Lines {
                first: s.first(),
                lines,
            },
        );
        let stats = v.stats(&s);
        assert_eq!((stats.length, stats.matches, stats.evicted), (3, 1, 0));
        // The report carries the one new row, its match marked; the next carries none.
        assert_eq!(stats.tail.len(), 1);
        assert_eq!((stats.tail[0].pos, stats.tail[0].matches.len()), (2, 1));
        assert!(v.stats(&s).tail.is_empty());
        // Fill the small store until the front falls off.
        for i in 3..200 {
            s.push(
                source,
                Stream::Stdout,
                i,
                format!("line {i:040}").as_bytes(),
            );
        }
        v.apply(
            &s,
            Delivery::Missed {
                from: 3,
                to: s.end(),
                count: 197,
            },
        );
        // Unreported, the view still lets go of what the store dropped.
        assert_eq!(v.rows.len() as u64, s.end() - s.first());
        let stats = v.stats(&s);
        assert!(stats.dropped > 3);
        // Of the rows the viewer had, all three left; the rest it never saw.
        assert_eq!(stats.evicted, 3);
        assert_eq!(stats.length as u64, s.end() - s.first());
        assert_eq!(stats.matches, 0, "the matching line fell off too");
        // Of the new rows, those still buffered came with the report, ending at the view's end.
        assert_eq!(stats.tail.len() as u32, stats.length);
        assert_eq!(stats.tail.last().map(|l| l.pos), Some(s.end() - 1));
        assert_eq!(v.window(&s, 0, 1, 3).lines[0].pos, s.first());
        // A viewer told of no eviction yet numbers the first kept line 3, the rows before gone.
        let rows = v.window(&s, 0, 5, 0);
        assert_eq!((rows.start, rows.lines.len()), (3, 2));
        assert_eq!(rows.lines[0].pos, s.first());
        // Figures are absolute: the next report repeats the evictions, one count further.
        let next = v.stats(&s);
        assert_eq!((next.evicted, next.seq), (3, stats.seq + 1));
        // A new view starts its counts again.
        let set = v.set(&s, Filter::default(), None).unwrap();
        assert_eq!((set.view, set.seq, set.evicted), (stats.view + 1, 1, 0));
    }

    /// `count` lines of `len` bytes from position `from` on, every tenth (at 5) a needle.
    fn fill(s: &mut Store, from: u64, count: u64, len: usize) {
        let source = s.source("web", "p-web-1");
        for pos in from..from + count {
            let word = if pos % 10 == 5 { "needle" } else { "line" };
            let text = format!("{word} {pos:06} {}", "x".repeat(len));
            s.push(source, Stream::Stdout, pos as i64, text.as_bytes());
        }
    }

    #[test]
    fn a_find_lands_on_a_row_the_viewer_has_while_lines_come_and_go() {
        let mut s = Store::new(64 << 10);
        fill(&mut s, 0, 200, 190);
        let mut v = LogView::default();
        let seen = v
            .set(&s, Filter::default(), Some(&search("needle")))
            .unwrap();
        assert_eq!((seen.length, seen.matches, s.first()), (200, 20, 0));
        // A flood the viewer has no report of yet: new rows (with needles) and the front gone.
        fill(&mut s, 200, 200, 190);
        let missed = Delivery::Missed {
            from: 200,
            to: 400,
            count: 200,
        };
        v.apply(&s, missed);
        assert!(s.first() > 50, "the front fell off: {}", s.first());
        // From its last row, the next match is one of the rows it has: the first still held.
        let row = v
            .find(&s, seen.length - 1, true, seen.evicted, seen.length)
            .unwrap();
        assert!(row < seen.length, "row {row} of {}", seen.length);
        let got = v.window(&s, row, 1, seen.evicted).lines;
        assert!(got[0].text.starts_with("needle"), "{}", &got[0].text[..13]);
        assert_eq!(got[0].pos, s.first().next_multiple_of(10) + 5);
        // Backward from its first row wraps to its last match, not to one it has not got.
        let row = v.find(&s, 0, false, seen.evicted, seen.length).unwrap();
        assert_eq!(v.window(&s, row, 1, seen.evicted).lines[0].pos, 195);
    }

    #[test]
    fn a_long_line_reaches_the_viewer_as_a_bounded_prefix() {
        let mut s = store(&[("web", "before")], 16 << 20);
        let long = format!("start! {} needle end", "\u{e9}".repeat(500_000));
        let source = s.source("web", "p-web-1");
        s.push(source, Stream::Stdout, 1, long.as_bytes());
        let mut v = LogView::default();
        let set = v
            .set(&s, Filter::default(), Some(&search("needle")))
            .unwrap();
        assert_eq!(set.matches, 1, "search sees the whole line");
        let rows = v.window(&s, 0, 10, 0);
        let sent = serde_json::to_string(&rows).unwrap().len();
        assert!(sent < 10 << 10, "the window carried {sent} bytes");
        // The start of the line, cut at a character, and how much is left out.
        let row = &rows.lines[1];
        assert_eq!(
            row.text.len(),
            TEXT - 1,
            "é is two bytes: the cut keeps it whole"
        );
        assert_eq!(row.omitted as usize, long.len() - row.text.len());
        assert!(row.matches.is_empty(), "the match is past the start");
        // The whole line, for copying.
        assert_eq!(v.line_text(&s, 1, 0).as_deref(), Some(&long[..]));
        assert_eq!(v.line_text(&s, 2, 0), None);
        s.push(source, Stream::Stdout, 2, long.as_bytes());
        v.apply(
            &s,
            Delivery::Missed {
                from: 2,
                to: 3,
                count: 1,
            },
        );
        let sent = serde_json::to_string(&v.stats(&s)).unwrap().len();
        assert!(sent < 10 << 10, "the report carried {sent} bytes");
    }
}

//! The log viewer's view, kept here so the webview holds only the rows it draws: the positions
//! of the buffered lines that pass the filter, and of those that match the search. Rows are
//! indexes into `rows`. Without a history, lines that fall off the store's front leave the
//! view from its front; with one, they stay (read back from disk) and older stored lines are
//! prepended a page at a time as the viewer nears the top.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::Path;

use berth_engine::logs::history::reader::Reader;
use berth_engine::logs::{
    self, Delivery, ExportOptions, Filter, HistoryStatus, Hub, Line, Matcher, Search, Store, export,
};
use serde::Serialize;
use ts_rs::TS;

/// Most rows a report carries: a screenful on a tall screen, plus the viewer's overscan.
const TAIL: usize = 200;

/// Most bytes of a line's text a row carries: far more than a screen is wide, and a 16 MB line
/// costs the webview no more than this (the whole line is copied through `line_text`).
const TEXT: usize = 8 << 10;

/// Stored positions scanned back for each page of older rows.
const PAGE: u64 = 50_000;

/// With a history, a new view with fewer rows than this (the buffer keeps only the newest
/// lines: a service that writes little may have none there) is filled from the history, up to
/// [`FILL_PAGES`] pages back, as if the buffer still held them.
const FILL: usize = 1000;
const FILL_PAGES: usize = 20;

/// With a history, the most rows a flood leaves in the view (8 B each) for a log buffer of
/// `budget` bytes: an eighth of it, and never so few that the next lines cut a page just
/// prepended.
fn kept(budget: usize) -> usize {
    (budget / 64).max(4 * PAGE as usize)
}

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
    /// Rows that left the front since the view was set (the buffer is bounded), less the older
    /// rows prepended from the history: every row index the viewer holds shifts down by the
    /// growth since the last report it took (up, when it shrank).
    #[ts(type = "number")]
    pub evicted: i64,
    /// Lines the store has dropped since it started, all filters aside (with a history, those
    /// no longer on disk either): lets the viewer say that older lines are no longer kept.
    #[ts(type = "number")]
    pub dropped: u64,
    /// Older stored lines are left in the history, for `older` to prepend.
    pub older: bool,
    /// The view reaches the oldest line of the project's history: the viewer marks its top.
    pub history_start: bool,
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
    /// Rows evicted since the view was set, less rows prepended.
    evicted: i64,
    /// The project's history, read for rows older than the store holds.
    history: Option<Reader>,
    /// The oldest position the view has selected down to.
    reach: u64,
    /// The oldest stored position (`reach` when the view has reached it).
    stored_first: u64,
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
        history: Option<&Path>,
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
        self.reach = store.first();
        if self.history.as_ref().map(Reader::dir) != history {
            self.history = history.map(Reader::new);
        }
        self.stored_first = self.stored_first();
        self.fill();
        Ok(self.stats(store))
    }

    /// Prepends older stored rows, their matches marked, while the view has fewer than
    /// [`FILL`] (the history's search then covers what is older still).
    fn fill(&mut self) {
        let below = self.reach;
        for _ in 0..FILL_PAGES {
            if self.rows.len() >= FILL || !self.page() {
                break;
            }
        }
        let (Some(matcher), Some(history)) = (&self.matcher, self.history.as_mut()) else {
            return;
        };
        let mut found = Vec::new();
        for &pos in self.rows.iter().take_while(|&&p| p < below) {
            let hit = history.segment(pos).ok().flatten().is_some_and(|segment| {
                segment
                    .text(pos)
                    .is_some_and(|t| !matcher.find_all(t).is_empty())
            });
            if hit {
                found.push(pos);
            }
        }
        for pos in found.into_iter().rev() {
            self.matches.push_front(pos);
        }
    }

    /// Reads the history at `dir` from now on: the session opens it (and numbers the store
    /// after its lines) once the window may have set its first view, on an empty store.
    pub fn attach(&mut self, store: &Store, dir: Option<&Path>) {
        if self.history.as_ref().map(Reader::dir) != dir {
            self.history = dir.map(Reader::new);
            self.reach = self.rows.front().copied().unwrap_or(store.first());
            self.stored_first = self.stored_first();
        }
    }

    /// Takes in a live delivery (for this view's filter).
    pub fn apply(&mut self, store: &Store, delivery: Delivery) {
        let positions: Vec<u64> = match delivery {
            Delivery::Positions { positions, .. } => positions,
            Delivery::Lines { lines, .. } => lines.iter().map(|l| l.pos).collect(),
            Delivery::Missed { from, to, .. } => {
                let mut missed = Vec::new();
                // With a history, the missed lines the buffer no longer holds are on disk:
                // read for this only, wherever the viewer is, so the segments are not kept.
                if from < store.first() {
                    missed = self.stored(from, to.min(store.first()));
                    if let Some(history) = &mut self.history {
                        history.forget();
                    }
                }
                missed.extend(logs::select_range(store, &self.filter, from..to));
                missed
            }
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
        if self.history.is_some() {
            self.cap(kept(store.budget()));
        }
    }

    /// Keeps the newest `most` rows: the older ones are on disk, prepended again on scroll.
    fn cap(&mut self, most: usize) {
        let over = self.rows.len().saturating_sub(most);
        if over == 0 {
            return;
        }
        self.rows.drain(..over);
        self.evicted += over as i64;
        self.reach = self.rows.front().copied().unwrap_or(self.reach);
        let gone = self.markers.partition_point(|&p| p < self.reach);
        self.markers.drain(..gone);
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
        let tail = self
            .rows_at(store, (length - fresh) as u32, fresh as u32, self.evicted)
            .lines;
        // New rows already out of memory (a flood outran the reports) were read from disk
        // for this report only: the segments are not kept.
        if let (Some(history), Some(first)) = (&mut self.history, tail.first())
            && first.pos < store.first()
        {
            history.forget();
        }
        ViewStats {
            view: self.view,
            seq: self.seq,
            length: length as u32,
            matches: self.matches.len() as u32,
            evicted: self.evicted,
            dropped: if self.history.is_some() {
                self.stored_first
            } else {
                store.first()
            },
            older: self.reach > self.stored_first,
            history_start: self.history.is_some() && self.reach <= self.stored_first,
            tail,
            reveal,
            history_stopped: None,
        }
    }

    /// The oldest position stored on disk, the store's first without a history.
    fn stored_first(&mut self) -> u64 {
        let oldest = self.history.as_mut().map(|h| h.first().ok().flatten());
        match oldest {
            Some(Some(first)) => first.min(self.reach),
            _ => self.reach,
        }
    }

    fn evict(&mut self, store: &Store) {
        // With a history, rows stay while their lines are on disk.
        let first = if self.history.is_some() {
            self.stored_first
        } else {
            store.first()
        };
        let gone = self.rows.partition_point(|&p| p < first);
        self.rows.drain(..gone);
        self.evicted += gone as i64;
        for list in [&mut self.matches, &mut self.markers] {
            let gone = list.partition_point(|&p| p < first);
            list.drain(..gone);
        }
    }

    /// Reveals the line at `pos` in the next report (if the view shows it).
    pub fn reveal(&mut self, pos: u64) {
        self.reveal = Some(pos);
        while pos < self.reach && self.page() {}
    }

    /// Rows `start..start + count`, ready to draw, numbered as a viewer numbers them after the
    /// `evicted` evictions it has been told of: its reports can lag behind the view.
    pub fn window(&mut self, store: &Store, start: u32, count: u32, evicted: i64) -> Rows {
        let rows = self.rows_at(store, start, count, evicted);
        // The viewer is back at the lines in memory: the segments read for older ones go.
        if let (Some(history), Some(first)) = (&mut self.history, rows.lines.first())
            && first.pos >= store.first()
        {
            history.forget();
        }
        rows
    }

    fn rows_at(&mut self, store: &Store, start: u32, count: u32, evicted: i64) -> Rows {
        self.evict(store);
        let behind = self.evicted - evicted;
        let len = self.rows.len() as i64;
        let ours = |row: u32| (i64::from(row) - behind).clamp(0, len) as usize;
        let (first, end) = (ours(start), ours(start.saturating_add(count)));
        let positions: Vec<u64> = self.rows.range(first..end).copied().collect();
        Rows {
            start: (first as i64 + behind).max(0) as u32,
            lines: self.lines(store, &positions, TEXT),
        }
    }

    /// Lines at `positions` (ascending), from the store or, older than it holds, the history.
    fn lines(&mut self, store: &Store, positions: &[u64], max_text: usize) -> Vec<Line> {
        let stored = positions.partition_point(|&p| p < store.first());
        let mut out = Vec::with_capacity(positions.len());
        let mut rest = &positions[..stored];
        while let Some(&pos) = rest.first() {
            let segment = self
                .history
                .as_mut()
                .and_then(|h| h.segment(pos).ok().flatten());
            let Some(segment) = segment else {
                rest = &rest[1..];
                continue;
            };
            let here = rest.partition_point(|&p| p < segment.end());
            out.extend(logs::lines_within(
                &segment,
                &rest[..here],
                self.matcher.as_ref(),
                max_text,
            ));
            rest = &rest[here..];
        }
        out.extend(logs::lines_within(
            store,
            &positions[stored..],
            self.matcher.as_ref(),
            max_text,
        ));
        out
    }

    /// Prepends the rows of the next `PAGE` stored positions older than the view reaches (with
    /// `page`; nothing without older stored lines), and reports the view.
    pub fn older(&mut self, store: &Store, page: bool) -> ViewStats {
        self.evict(store);
        if page {
            self.page();
        }
        self.stats(store)
    }

    /// Prepends the next page of older stored rows; false when none are left.
    fn page(&mut self) -> bool {
        self.stored_first = self.stored_first();
        let to = self.reach;
        let from = to.saturating_sub(PAGE).max(self.stored_first);
        self.prepend(from, to);
        from < to
    }

    /// Selects the stored positions `from..to` (just older than the view) into the front.
    fn prepend(&mut self, from: u64, to: u64) {
        if self.history.is_none() {
            return;
        }
        let rows = self.stored(from, to);
        let markers: Vec<u64> = rows
            .iter()
            .copied()
            .filter(|&p| self.stored_marker_at(p))
            .collect();
        self.evicted -= rows.len() as i64;
        for p in rows.into_iter().rev() {
            self.rows.push_front(p);
        }
        for p in markers.into_iter().rev() {
            self.markers.push_front(p);
        }
        self.reach = from;
    }

    /// The stored positions `from..to` that pass the filter (none without a history).
    fn stored(&mut self, from: u64, to: u64) -> Vec<u64> {
        let mut rows = Vec::new();
        let Some(history) = self.history.as_mut() else {
            return rows;
        };
        let mut pos = from;
        while pos < to {
            let Some(segment) = history.segment(pos).ok().flatten() else {
                pos = history.next_after(pos).unwrap_or(to);
                continue;
            };
            let end = segment.end().min(to);
            rows.extend(logs::select_range(&segment, &self.filter, pos..end));
            pos = end;
        }
        rows
    }

    /// Whether the stored line at `pos` is a lifecycle marker.
    fn stored_marker_at(&mut self, pos: u64) -> bool {
        self.history
            .as_mut()
            .and_then(|h| h.segment(pos).ok().flatten())
            .is_some_and(|segment| segment.marker(pos).is_some())
    }

    /// What a search of the history needs (the scan runs off the window's thread): the view it
    /// belongs to, where, what, and before which position (the view's own lines are searched).
    pub fn history_search(&self) -> Option<HistorySearch> {
        Some(HistorySearch {
            view: self.view,
            dir: self.history.as_ref()?.dir().to_owned(),
            matcher: self.matcher.clone()?,
            filter: self.filter.clone(),
            before: self.reach,
        })
    }

    /// Which view this is: a history search of another is no longer wanted.
    pub fn view(&self) -> u32 {
        self.view
    }

    /// Takes the stored matches a history search of view `view` found (older than the view's
    /// own); those of a view since replaced are dropped.
    pub fn found(&mut self, view: u32, positions: Vec<u64>) {
        if view != self.view {
            return;
        }
        let before = self.matches.front().copied().unwrap_or(u64::MAX);
        for p in positions.into_iter().rev().filter(|&p| p < before) {
            self.matches.push_front(p);
        }
    }

    /// The whole text of row `row` (numbered as in [`LogView::window`]), as shown; `None` when it
    /// has left the view.
    pub fn line_text(&mut self, store: &Store, row: u32, evicted: i64) -> Option<String> {
        self.evict(store);
        let ours = i64::from(row) - (self.evicted - evicted);
        let pos = *self.rows.get(usize::try_from(ours).ok()?)?;
        if pos >= store.first() {
            return store
                .text(pos)
                .map(|t| String::from_utf8_lossy(t).into_owned());
        }
        let segment = self.history.as_mut()?.segment(pos).ok()??;
        segment
            .text(pos)
            .map(|t| String::from_utf8_lossy(t).into_owned())
    }

    /// The nearest matching row after (or before) row `from`, wrapping around, among the
    /// viewer's `length` rows and the stored matches older than the view, whose rows it
    /// prepends; rows numbered as in [`LogView::window`], so a row prepended since the viewer's
    /// last report is below 0 until it takes the next. Rows that came after that report are not
    /// among them: it could not show them.
    pub fn find(
        &mut self,
        store: &Store,
        from: u32,
        forward: bool,
        evicted: i64,
        length: u32,
    ) -> Option<i64> {
        self.find_in(
            store,
            false,
            Asked {
                from,
                forward,
                evicted,
                length,
            },
        )
    }

    /// [`LogView::find`] for the nearest lifecycle marker (among the rows loaded).
    pub fn find_marker(
        &mut self,
        store: &Store,
        from: u32,
        forward: bool,
        evicted: i64,
        length: u32,
    ) -> Option<i64> {
        self.find_in(
            store,
            true,
            Asked {
                from,
                forward,
                evicted,
                length,
            },
        )
    }

    fn find_in(&mut self, store: &Store, markers: bool, at: Asked) -> Option<i64> {
        self.evict(store);
        let targets = if markers {
            &self.markers
        } else {
            &self.matches
        };
        let mut target = nearest(&self.rows, targets, self.evicted, at);
        if markers {
            // None loaded that way (it wrapped): the history's, older than the view, come first.
            let from = usize::try_from(i64::from(at.from) - (self.evicted - at.evicted))
                .ok()
                .and_then(|row| self.rows.get(row).copied());
            let wrapped = match (target, from) {
                (Some(t), Some(from)) if at.forward => t <= from,
                (Some(t), Some(from)) => t >= from,
                _ => true,
            };
            if wrapped && let Some(stored) = self.stored_marker(!at.forward) {
                target = Some(stored);
            }
        }
        let target = target?;
        // A stored match older than the view: the pages down to it come first.
        while target < self.reach && self.page() {}
        let row = self.rows.binary_search(&target).ok()?;
        Some(row as i64 + self.evicted - at.evicted)
    }

    /// The stored marker older than the view that passes its filter, the newest such (or the
    /// oldest): a marker query of the history, newest segment first.
    fn stored_marker(&mut self, newest: bool) -> Option<u64> {
        let filter = &self.filter;
        let history = self.history.as_mut()?;
        let dir = history.dir().to_owned();
        let mut found = None;
        let scanned = logs::history::search::markers(&dir, self.reach, newest, |pos| {
            let passes = history.segment(pos).ok().flatten().is_some_and(|segment| {
                !logs::select_range(&segment, filter, pos..pos + 1).is_empty()
            });
            if passes {
                found = Some(pos);
            }
            passes
        });
        if let Err(e) = scanned {
            tracing::warn!(dir = %dir.display(), %e, "log history marker query");
        }
        found
    }

    /// The view's filter, for export.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}

/// Writes what a viewer of `filter` can scroll to: with a history in `dir`, every stored line
/// that passes, oldest first, then the buffered ones. A segment at a time, so the history is
/// never in memory whole; the buffer is read under the hub's lock, the history outside it.
pub fn export(
    hub: &Hub,
    filter: &Filter,
    dir: Option<&Path>,
    options: ExportOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut reader = dir.map(Reader::new);
    let mut pos = match reader.as_mut() {
        Some(reader) => reader.first()?.unwrap_or(0),
        None => 0,
    };
    loop {
        // Lines older than the buffer holds are on disk; those that leave it meanwhile too.
        let seam = hub.read(Store::first);
        if let Some(reader) = reader.as_mut() {
            while pos < seam {
                let Some(segment) = reader.segment(pos)? else {
                    pos = reader.next_after(pos).unwrap_or(seam);
                    continue;
                };
                let end = segment.end().min(seam);
                let rows = logs::select_range(&segment, filter, pos..end);
                export::write(&segment, &rows, options, out)?;
                pos = end;
            }
        }
        let done = hub.read(|store| {
            if reader.is_some() && store.first() > pos {
                return Ok(false);
            }
            let rows = logs::select_range(store, filter, pos..store.end());
            export::write(store, &rows, options, out).map(|()| true)
        })?;
        if done {
            return Ok(());
        }
    }
}

/// Where a viewer asks a find from: its row `from`, the direction, and the evictions and rows
/// its last report told it of.
#[derive(Clone, Copy)]
struct Asked {
    from: u32,
    forward: bool,
    evicted: i64,
    length: u32,
}

/// The position of the nearest of `targets` (positions among `rows`, or older than them) as
/// [`LogView::find`] describes it; `ours` is the view's evicted count.
fn nearest(rows: &VecDeque<u64>, targets: &VecDeque<u64>, ours: i64, asked: Asked) -> Option<u64> {
    let Asked {
        from,
        forward,
        evicted,
        length,
    } = asked;
    let behind = ours - evicted;
    let known = (i64::from(length) - behind).max(0) as usize;
    // Only the matches among the rows the viewer has (and older): `..end`.
    let end = match rows.get(known) {
        Some(&past) => targets.partition_point(|&m| m < past),
        None => targets.len(),
    };
    if end == 0 {
        return None;
    }
    let at = usize::try_from(i64::from(from) - behind)
        .ok()
        .and_then(|row| rows.get(row))
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
    Some(targets[i])
}

/// What the search of a view's history needs: see [`LogView::history_search`].
pub struct HistorySearch {
    pub view: u32,
    pub dir: std::path::PathBuf,
    pub matcher: Matcher,
    pub filter: Filter,
    pub before: u64,
}

impl HistorySearch {
    /// Offers `take` the stored positions before `before` that pass the filter and match, a
    /// segment at a time from the newest (oldest first within one), until it says no.
    pub fn run(&self, mut take: impl FnMut(Vec<u64>) -> bool) -> std::io::Result<()> {
        let mut reader = Reader::new(&self.dir);
        logs::history::search::newest_first(&self.dir, &self.matcher, self.before, |hits| {
            if self.filter == Filter::default() {
                return take(hits);
            }
            let passing = hits
                .into_iter()
                .filter(|&p| {
                    reader.segment(p).ok().flatten().is_some_and(|segment| {
                        !logs::select_range(&segment, &self.filter, p..p + 1).is_empty()
                    })
                })
                .collect();
            take(passing)
        })?;
        Ok(())
    }
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
    use berth_engine::logs::{Marker, SearchMode, Stream};

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
        let stats = v.set(&s, filter, Some(&search("get")), None).unwrap();
        assert_eq!((stats.length, stats.matches), (3, 3));
        let rows = v.window(&s, 1, 10, 0).lines;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "GET /x 404");
        assert_eq!(rows[0].matches, [(0, 3)]);
        assert_eq!(v.find(&s, 0, true, 0, 3), Some(1));
        assert_eq!(v.find(&s, 2, true, 0, 3), Some(0), "wraps forward");
        assert_eq!(v.find(&s, 0, false, 0, 3), Some(2), "wraps backward");
        let stats = v
            .set(&s, Filter::default(), Some(&search("404")), None)
            .unwrap();
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
        let stats = v.set(&s, Filter::default(), None, None).unwrap();
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
        v.set(&s, only_db, None, None).unwrap();
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
        let err = v.set(&s, Filter::default(), Some(&bad), None).unwrap_err();
        assert!(err.starts_with("Invalid search"), "{err}");
    }

    #[test]
    fn live_lines_append_once_and_evicted_rows_are_reported() {
        let mut s = store(&[("web", "one"), ("web", "two")], 4096);
        let mut v = LogView::default();
        v.set(&s, Filter::default(), Some(&search("needle")), None)
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
        let set = v.set(&s, Filter::default(), None, None).unwrap();
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
            .set(&s, Filter::default(), Some(&search("needle")), None)
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
            .unwrap() as u32;
        assert!(row < seen.length, "row {row} of {}", seen.length);
        let got = v.window(&s, row, 1, seen.evicted).lines;
        assert!(got[0].text.starts_with("needle"), "{}", &got[0].text[..13]);
        assert_eq!(got[0].pos, s.first().next_multiple_of(10) + 5);
        // Backward from its first row wraps to its last match, not to one it has not got.
        let row = v.find(&s, 0, false, seen.evicted, seen.length).unwrap() as u32;
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
            .set(&s, Filter::default(), Some(&search("needle")), None)
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

    /// A project's history in `dir` of `count` lines, `web` and `db` in turn, every 1000th
    /// (at 7) a needle, those at `markers` lifecycle markers, reopened as after a restart with a
    /// buffer of 64 KiB.
    fn restarted(dir: &Path, count: u64, markers: &[u64]) -> logs::Hub {
        use berth_engine::logs::{Hub, HubOptions, Origin, Record};
        let options = HubOptions {
            budget: 64 << 10,
            ..HubOptions::default()
        };
        let hub = Hub::new(options.clone());
        hub.attach_history(dir, 1 << 30).unwrap();
        let origins = ["web", "db"].map(|service| {
            std::sync::Arc::new(Origin {
                id: service.into(),
                service: service.into(),
                name: format!("p-{service}-1"),
            })
        });
        let mut batch: Vec<Record> = (0..count)
            .map(|pos| {
                let word = if pos % 1000 == 7 { "needle" } else { "line" };
                Record {
                    origin: origins[pos as usize % 2].clone(),
                    stream: Stream::Stdout,
                    ts: pos as i64,
                    text: format!("{word} {pos:06}").into_bytes(),
                    partial: false,
                    marker: markers.contains(&pos).then_some(Marker::Crashed),
                }
            })
            .collect();
        hub.append(&mut batch);
        drop(hub);
        let hub = Hub::new(options);
        hub.attach_history(dir, 1 << 30).unwrap();
        hub
    }

    #[test]
    fn older_stored_rows_are_prepended_a_page_at_a_time_down_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let hub = restarted(dir.path(), 120_000, &[]);
        let first = hub.read(|s| s.first());
        assert!(first > 100_000, "the buffer holds the newest: {first}");
        let mut v = LogView::default();
        let set = hub.read(|s| v.set(s, Filter::default(), None, Some(dir.path())).unwrap());
        assert_eq!(set.length as u64, 120_000 - first);
        assert!(set.older && !set.history_start);
        assert_eq!(set.dropped, 0, "nothing is lost: it is on disk");
        // The viewer's top row stays the same line as each page comes before it.
        let mut taken = set.clone();
        let top = |v: &mut LogView, t: &ViewStats| hub.read(|s| v.window(s, 0, 1, t.evicted)).lines;
        let mut pages = 0;
        while taken.older {
            let was = top(&mut v, &taken)[0].pos;
            let stats = hub.read(|s| v.older(s, true));
            let added = taken.evicted - stats.evicted;
            assert_eq!(stats.length as i64, taken.length as i64 + added);
            let moved = hub.read(|s| v.window(s, added as u32, 1, stats.evicted));
            assert_eq!(moved.lines[0].pos, was);
            taken = stats;
            pages += 1;
        }
        assert_eq!(pages, first.div_ceil(PAGE));
        assert!(taken.history_start);
        assert_eq!(taken.length, 120_000);
        let oldest = &top(&mut v, &taken)[0];
        assert_eq!((oldest.pos, oldest.text.as_str()), (0, "line 000000"));
        assert_eq!(
            hub.read(|s| v.line_text(s, 1, taken.evicted)).as_deref(),
            Some("line 000001")
        );
        // A filtered view prepends only the rows that pass it.
        let only_db = Filter {
            services: vec!["db".into()],
            ..Filter::default()
        };
        let set = hub.read(|s| v.set(s, only_db, None, Some(dir.path())).unwrap());
        let stats = hub.read(|s| v.older(s, true));
        let added = set.evicted - stats.evicted;
        assert_eq!(added as u64, (PAGE / 2).min(first.div_ceil(2)));
        let rows = hub.read(|s| v.window(s, 0, 3, stats.evicted)).lines;
        assert!(
            rows.iter().all(|l| l.pos % 2 == 1),
            "{:?}",
            rows.iter().map(|l| l.pos).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_view_of_a_service_the_buffer_has_no_line_of_is_filled_from_the_history() {
        let dir = tempfile::tempdir().unwrap();
        // "db" writes every other line: the buffer's 64 KiB holds fewer than a view's fill.
        let hub = restarted(dir.path(), 120_000, &[]);
        let first = hub.read(|s| s.first());
        let only_db = Filter {
            services: vec!["db".into()],
            ..Filter::default()
        };
        let mut v = LogView::default();
        let stats = hub
            .read(|s| v.set(s, only_db, Some(&search("needle")), Some(dir.path())))
            .unwrap();
        assert!(
            stats.length as usize >= FILL && stats.older,
            "filled from disk: {stats:?}"
        );
        let rows = hub
            .read(|s| v.window(s, 0, stats.length, stats.evicted))
            .lines;
        assert!(rows.iter().all(|l| l.service == "db"));
        assert!(rows[0].pos < first && rows.is_sorted_by_key(|l| l.pos));
        assert_eq!(rows.last().unwrap().pos, 119_999);
        // The needles among the rows it filled are matches already (db's are the odd ones).
        let needles = rows.iter().filter(|l| l.text.starts_with("needle")).count();
        assert_eq!(stats.matches as usize, needles);
    }

    #[test]
    fn a_marker_older_than_the_view_is_revealed_with_the_rows_down_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let hub = restarted(dir.path(), 120_000, &[500]);
        let mut v = LogView::default();
        let set = hub
            .read(|s| v.set(s, Filter::default(), None, Some(dir.path())))
            .unwrap();
        assert!(
            set.length < 100_000,
            "the view starts with the buffer: {set:?}"
        );
        v.reveal(500);
        let stats = hub.read(|s| v.stats(s));
        let row = stats.reveal.expect("revealed");
        let line = &hub.read(|s| v.window(s, row, 1, stats.evicted)).lines[0];
        assert_eq!((line.pos, line.marker), (500, Some(Marker::Crashed)));
    }

    #[test]
    fn missed_lines_no_longer_in_memory_are_read_back_from_the_history() {
        use berth_engine::logs::{Hub, HubOptions, Origin, Record};
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::new(HubOptions::default());
        hub.attach_history(dir.path(), 1 << 30).unwrap();
        let mut v = LogView::default();
        hub.read(|s| v.set(s, Filter::default(), None, Some(dir.path())).unwrap());
        let origin = std::sync::Arc::new(Origin {
            id: "web".into(),
            service: "web".into(),
            name: "p-web-1".into(),
        });
        let line = |pos: u64| Record {
            origin: origin.clone(),
            stream: Stream::Stdout,
            ts: pos as i64,
            text: format!("line {pos:06} {}", "x".repeat(100)).into_bytes(),
            partial: false,
            marker: None,
        };
        // A flood the viewer was not told of line by line, until memory holds only the newest.
        let mut end = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while end < 50_000 || hub.read(|s| s.first()) < 30_000 {
            assert!(std::time::Instant::now() < deadline, "memory kept it all");
            let to = end + if end < 50_000 { 5_000 } else { 1 };
            hub.append(&mut (end..to).map(line).collect());
            end = to;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let missed = Delivery::Missed {
            from: 0,
            to: end,
            count: end,
        };
        hub.read(|s| v.apply(s, missed));
        let stats = hub.read(|s| v.stats(s));
        assert_eq!(stats.length as u64, end, "every missed line is a row");
        let rows = hub.read(|s| v.window(s, 0, 3, stats.evicted)).lines;
        assert_eq!(rows.iter().map(|l| l.pos).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(rows[0].text.starts_with("line 000000"));
    }

    #[test]
    fn a_flood_keeps_the_newest_positions_and_the_rest_are_read_back_on_scroll() {
        use berth_engine::logs::{Origin, Record};
        let dir = tempfile::tempdir().unwrap();
        let hub = restarted(dir.path(), 1_000, &[]);
        let mut v = LogView::default();
        hub.read(|s| v.set(s, Filter::default(), None, Some(dir.path())).unwrap());
        let most = kept(hub.read(Store::budget));
        let origin = std::sync::Arc::new(Origin {
            id: "web".into(),
            service: "web".into(),
            name: "p-web-1".into(),
        });
        // A flood past the cap, a batch at a time as the feed delivers it.
        let total = most as u64 + 3 * PAGE;
        let mut end = 1_000;
        while end < total {
            let to = (end + 200).min(total);
            let mut batch: Vec<Record> = (end..to)
                .map(|pos| Record {
                    origin: origin.clone(),
                    stream: Stream::Stdout,
                    ts: pos as i64,
                    text: format!("line {pos:06}").into_bytes(),
                    partial: false,
                    marker: None,
                })
                .collect();
            hub.append(&mut batch);
            let missed = Delivery::Missed {
                from: end,
                to,
                count: to - end,
            };
            hub.read(|s| v.apply(s, missed));
            end = to;
        }
        let stats = hub.read(|s| v.stats(s));
        assert_eq!(stats.length as usize, most, "the newest {most} positions");
        assert!(stats.older, "the rest is on disk");
        let newest = hub.read(|s| v.window(s, stats.length - 1, 1, stats.evicted));
        assert_eq!(newest.lines[0].pos, total - 1);
        // Scrolled back, page by page, down to the first line (once the writer has it all).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut reader = Reader::new(dir.path());
        while reader.segment(total - most as u64 - 1).unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the flood never stored"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut taken = stats;
        while taken.older {
            taken = hub.read(|s| v.older(s, true));
        }
        assert!(taken.history_start);
        assert_eq!(taken.length as u64, total);
        let oldest = hub.read(|s| v.window(s, 0, 1, taken.evicted)).lines;
        assert_eq!((oldest[0].pos, oldest[0].text.as_str()), (0, "line 000000"));
    }

    #[test]
    fn the_jump_keys_reach_markers_only_the_history_holds() {
        let dir = tempfile::tempdir().unwrap();
        // web's at 10 and 70,000, db's at 41, and the newest one buffered.
        let hub = restarted(dir.path(), 120_000, &[10, 41, 70_000, 119_990]);
        let first = hub.read(Store::first);
        assert!(first > 100_000, "the buffer holds the newest: {first}");
        let mut v = LogView::default();
        let mut taken = hub.read(|s| v.set(s, Filter::default(), None, Some(dir.path())).unwrap());
        // Back from the last row: the buffered marker, then the stored ones, newest first, each
        // found where the viewer (told of the prepended rows) then is.
        let mut from = taken.length - 1;
        for want in [119_990, 70_000, 41, 10] {
            let row = hub
                .read(|s| v.find_marker(s, from, false, taken.evicted, taken.length))
                .unwrap();
            let now = hub.read(|s| v.stats(s));
            let row = row + (taken.evicted - now.evicted);
            let got = hub.read(|s| v.window(s, row as u32, 1, now.evicted)).lines[0].pos;
            assert_eq!(got, want);
            (from, taken) = (row as u32, now);
        }
        // A view of web alone skips db's; forward past its last marker wraps to the oldest.
        let only_web = Filter {
            services: vec!["web".into()],
            ..Filter::default()
        };
        let set = hub.read(|s| v.set(s, only_web, None, Some(dir.path())).unwrap());
        let last = set.length - 1;
        let row = hub
            .read(|s| v.find_marker(s, last, true, set.evicted, set.length))
            .unwrap();
        assert_eq!(pos_at(&hub, &mut v, &set, row), 10);
        let now = hub.read(|s| v.stats(s));
        let from = (row + (set.evicted - now.evicted)) as u32;
        let row = hub
            .read(|s| v.find_marker(s, from, true, now.evicted, now.length))
            .unwrap();
        assert_eq!(pos_at(&hub, &mut v, &now, row), 70_000);
    }

    /// The position of row `row` of a viewer whose last report was `taken`.
    fn pos_at(hub: &logs::Hub, v: &mut LogView, taken: &ViewStats, row: i64) -> u64 {
        let now = hub.read(|s| v.stats(s));
        let row = row + (taken.evicted - now.evicted);
        hub.read(|s| v.window(s, row as u32, 1, now.evicted)).lines[0].pos
    }

    #[test]
    fn the_export_writes_the_stored_lines_then_the_buffered_ones_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let hub = restarted(dir.path(), 120_000, &[]);
        assert!(hub.read(Store::first) > 100_000);
        let export_of = |filter: &Filter| {
            let mut out = Vec::new();
            export(
                &hub,
                filter,
                Some(dir.path()),
                ExportOptions::default(),
                &mut out,
            )
            .unwrap();
            String::from_utf8(out).unwrap()
        };
        let all = export_of(&Filter::default());
        let want: Vec<String> = (0..120_000)
            .map(|pos| {
                let word = if pos % 1000 == 7 { "needle" } else { "line" };
                format!("{word} {pos:06}")
            })
            .collect();
        assert_eq!(all.lines().collect::<Vec<_>>(), want);
        let only_db = Filter {
            services: vec!["db".into()],
            ..Filter::default()
        };
        let db = export_of(&only_db);
        let want: Vec<&str> = want.iter().skip(1).step_by(2).map(String::as_str).collect();
        assert_eq!(db.lines().collect::<Vec<_>>(), want);
        // Without a history, the buffered lines alone.
        let mut out = Vec::new();
        export(
            &hub,
            &Filter::default(),
            None,
            ExportOptions::default(),
            &mut out,
        )
        .unwrap();
        let first = hub.read(Store::first);
        assert_eq!(
            out.iter().filter(|&&b| b == b'\n').count() as u64,
            120_000 - first
        );
    }

    #[test]
    fn a_search_counts_stored_matches_and_a_find_loads_the_rows_it_lands_in() {
        let dir = tempfile::tempdir().unwrap();
        let hub = restarted(dir.path(), 120_000, &[]);
        let first = hub.read(|s| s.first());
        let mut v = LogView::default();
        let set = hub
            .read(|s| {
                v.set(
                    s,
                    Filter::default(),
                    Some(&search("needle")),
                    Some(dir.path()),
                )
            })
            .unwrap();
        let buffered = (first..120_000).filter(|p| p % 1000 == 7).count() as u32;
        assert_eq!(set.matches, buffered);
        let searching = v.history_search().unwrap();
        // Offered a segment at a time from the newest: each batch older than the one before.
        let mut batches: Vec<Vec<u64>> = Vec::new();
        searching
            .run(|hits| {
                batches.push(hits);
                true
            })
            .unwrap();
        let newest = (0..first).rev().find(|p| p % 1000 == 7).unwrap();
        assert_eq!(batches[0].last(), Some(&newest));
        let found: Vec<u64> = batches.into_iter().rev().flatten().collect();
        assert!(
            found.is_sorted(),
            "oldest first once the batches are turned round"
        );
        assert_eq!(found.len(), (0..first).filter(|p| p % 1000 == 7).count());
        for hits in found.chunk_by(|a, b| a / 10_000 == b / 10_000).rev() {
            v.found(searching.view, hits.to_vec());
        }
        let stats = hub.read(|s| v.stats(s));
        assert_eq!(stats.matches, 120, "every needle, stored or buffered");
        // Backward from the first row: the newest stored needle, its rows prepended first.
        let row = hub
            .read(|s| v.find(s, 0, false, stats.evicted, stats.length))
            .unwrap();
        assert!(row < 0, "above the rows the viewer has: {row}");
        let now = hub.read(|s| v.stats(s));
        let row = row + (stats.evicted - now.evicted);
        let line = &hub.read(|s| v.window(s, row as u32, 1, now.evicted)).lines[0];
        let want = (first - 8) / 1000 * 1000 + 7;
        assert_eq!((line.pos, &line.text[..6]), (want, "needle"));
        assert_eq!(line.matches, [(0, 6)]);
        // Forward from the last row wraps to the oldest needle of all.
        let row = hub
            .read(|s| v.find(s, now.length - 1, true, now.evicted, now.length))
            .unwrap();
        let after = hub.read(|s| v.stats(s));
        let row = row + (now.evicted - after.evicted);
        assert_eq!(row, 7);
        assert!(after.history_start);
        // A search set anew drops what an older one found.
        let again = hub
            .read(|s| {
                v.set(
                    s,
                    Filter::default(),
                    Some(&search("needle")),
                    Some(dir.path()),
                )
            })
            .unwrap();
        v.found(searching.view, vec![7]);
        assert_eq!(hub.read(|s| v.stats(s)).matches, again.matches);
        // A search whose view was replaced stops after the segment it was offered.
        let mut offered = 0;
        searching
            .run(|_| {
                offered += 1;
                v.view() == searching.view
            })
            .unwrap();
        assert_eq!(offered, 1);
    }
}

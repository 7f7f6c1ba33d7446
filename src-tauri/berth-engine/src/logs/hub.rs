//! A project's log hub: the store, fed by the followers, and the live subscribers.
//!
//! Appends reach subscribers in batches, coalesced over a short interval (25 ms by default), and
//! within a batch sorted by timestamp, which also orders lines from different containers that
//! arrive together. Each subscriber has a bounded queue; when it is full the subscriber is not
//! waited for: the lines it could not take are counted, and once it has room it gets a
//! [`Delivery::Missed`] marker saying which positions to re-query (the pump offers it every
//! interval until it is taken). Memory per subscriber is thus bounded by its queue, never by how
//! far behind it is.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use super::follow::{FollowOptions, Origin, Record, follow};
use super::history::{Batch, History, HistoryOptions, HistoryStatus, Item, RESIDENT, Resumed};
use super::line::{Line, Stream};
use super::query::{self, Filter};
use super::store::Store;
use crate::Engine;

/// How a hub buffers and delivers.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// The store's byte budget. With a history, lines already on disk leave the store beyond
    /// its newest [`RESIDENT`] bytes.
    pub budget: usize,
    /// How long appends are coalesced before they are delivered.
    pub interval: Duration,
    /// Deliveries a subscriber may have waiting before it starts missing lines.
    pub queue: usize,
    /// Most lines in one delivery; a burst beyond it is reported as missed.
    pub max_batch: usize,
    /// Where the project's lines are also stored on disk; `None` keeps them in memory only.
    /// A session opens it once it knows the engine ([`Hub::attach_history`]).
    pub history: Option<HistoryOptions>,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            budget: super::store::DEFAULT_BUDGET,
            interval: Duration::from_millis(25),
            queue: 16,
            max_batch: 5000,
            history: None,
        }
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Delivery {
    /// New lines that pass the subscriber's filter, oldest first.
    Lines {
        /// The store's first position now: anything older has fallen off.
        #[ts(type = "number")]
        first: u64,
        lines: Vec<Line>,
    },
    /// New lines' positions, for a subscriber that reads the lines from the store itself
    /// ([`Hub::subscribe_positions`]), oldest first.
    Positions {
        /// The store's first position now.
        #[ts(type = "number")]
        first: u64,
        #[ts(type = "Array<number>")]
        positions: Vec<u64>,
    },
    /// The subscriber fell behind: `count` of its lines in positions `from..to` were not
    /// delivered. Re-query that range (or the whole view) from the store.
    Missed {
        #[ts(type = "number")]
        from: u64,
        #[ts(type = "number")]
        to: u64,
        #[ts(type = "number")]
        count: u64,
    },
}

/// The service Berth's lines about the history itself are under.
const BERTH_SERVICE: &str = "berth";

struct Subscriber {
    tx: mpsc::Sender<Delivery>,
    filter: Filter,
    /// Delivers the lines themselves, not only their positions.
    lines: bool,
    /// Positions `from..to` with `count` undelivered lines, to report when there is room.
    missed: Option<(u64, u64, u64)>,
}

/// The hub of one project. Cloning gives another handle to the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    options: HubOptions,
    store: RwLock<Store>,
    subscribers: Mutex<Vec<Subscriber>>,
    history: OnceLock<History>,
}

impl Hub {
    pub fn new(options: HubOptions) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                store: RwLock::new(Store::new(options.budget)),
                subscribers: Mutex::new(Vec::new()),
                history: OnceLock::new(),
                options,
            }),
        }
    }

    /// A hub following `project` until `cancel` fires; the task ends with the follower's result.
    /// Without a `max_line` of its own, the follower keeps lines whole up to an eighth of the
    /// budget, so a line that never ends takes a bounded share of it.
    pub fn start(
        engine: Engine,
        project: String,
        mut follow_options: FollowOptions,
        options: HubOptions,
        cancel: CancellationToken,
    ) -> (Hub, tokio::task::JoinHandle<crate::Result<()>>) {
        let longest = (options.budget / 8).clamp(16 << 10, super::follow::MAX_LINE);
        follow_options.max_line.get_or_insert(longest);
        let hub = Hub::new(options);
        let (tx, rx) = mpsc::channel(256);
        let pump = hub.clone();
        let task = tokio::spawn(async move {
            let reading = follow(&engine, &project, follow_options, tx, cancel);
            let (result, ()) = tokio::join!(reading, pump.pump(rx));
            result
        });
        (hub, task)
    }

    /// Moves batches from the followers into the store until the channel closes. Lines are
    /// delivered at most `interval` after the first of them arrived. A subscriber that was full
    /// is offered its [`Delivery::Missed`] report every `interval` until it takes it: the lines
    /// it missed may be the last for a long while. With neither, the pump sleeps (an idle stack
    /// costs no wake-ups).
    pub async fn pump(&self, mut rx: mpsc::Receiver<Vec<Record>>) {
        let interval = self.inner.options.interval;
        let mut pending = Vec::new();
        let mut due = tokio::time::Instant::now();
        loop {
            let batch = if !pending.is_empty() || self.owes_report() {
                if pending.is_empty() {
                    due = tokio::time::Instant::now() + interval;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {
                        if pending.is_empty() {
                            self.deliver(self.read(|s| s.end()));
                        } else {
                            self.append(&mut pending);
                        }
                        continue;
                    }
                    batch = rx.recv() => batch,
                }
            } else {
                rx.recv().await
            };
            let Some(batch) = batch else {
                self.append(&mut pending);
                return;
            };
            if pending.is_empty() {
                due = tokio::time::Instant::now() + interval;
            }
            pending.extend(batch);
            // Bound what waits for the deadline when lines pour in.
            if pending.len() >= self.inner.options.max_batch {
                self.append(&mut pending);
            }
        }
    }

    /// Stores `records` (sorted by timestamp first), hands them to the history, and delivers
    /// them to subscribers.
    pub fn append(&self, records: &mut Vec<Record>) {
        if records.is_empty() {
            return;
        }
        records.sort_by_key(|r| r.ts);
        let history = self.inner.history.get();
        let from = {
            let mut store = self.inner.store.write().expect("log store lock");
            let from = store.end();
            let mut lines = Vec::with_capacity(if history.is_some() { records.len() } else { 0 });
            for r in records.drain(..) {
                let source = store.source(&r.origin.service, &r.origin.name);
                let pos = match r.marker {
                    Some(marker) => store.push_marker(source, r.ts, marker, &r.text),
                    None => store.push_part(source, r.stream, r.ts, &r.text, r.partial),
                };
                if history.is_some() {
                    let e = store.entry(pos).expect("the line just stored");
                    lines.push(Item {
                        origin: r.origin,
                        ts: r.ts,
                        flags: e.flags,
                        level: e.level,
                        raw: r.text,
                    });
                }
            }
            if let Some(history) = history {
                history.send(Batch { first: from, lines });
                store.spill(RESIDENT, history.durable());
                // Said in the log once, besides the status; the line itself is not stored.
                if let Some(reason) = history.untold_failure() {
                    let source = store.source(BERTH_SERVICE, "");
                    store.push(
                        source,
                        Stream::Berth,
                        crate::clock::now_ns(),
                        reason.as_bytes(),
                    );
                }
            }
            from
        };
        self.deliver(from);
    }

    /// Opens the project's history in `dir` (`budget` bytes on disk) and goes on from it: the
    /// buffer becomes its newest lines, positions continue where it ends, and lines stored
    /// from now on are written to it. Returns where the follower goes on: each container
    /// after its stored lines, those made since from the newest stored time. Opens once;
    /// later calls change nothing.
    pub fn attach_history(&self, dir: &Path, budget: u64) -> std::io::Result<Resumed> {
        let opened = History::open(dir, budget, self.inner.options.budget)?;
        {
            let mut store = self.inner.store.write().expect("log store lock");
            if self.inner.history.get().is_some() {
                return Ok(opened.resumed);
            }
            // Lines stored before the history opened (Berth's own) go on after it.
            let mut fresh = opened.store;
            for pos in store.first()..store.end() {
                let (Some(e), Some(src), Some(raw)) =
                    (store.entry(pos), store.source_at(pos), store.raw(pos))
                else {
                    continue;
                };
                let source = fresh.source(&src.service, &src.container);
                fresh.push_stored(source, e.ts, raw, e.flags, e.level);
            }
            *store = fresh;
            let _ = self.inner.history.set(opened.history);
            // Viewers subscribed meanwhile fetch what the history brought.
            let (first, end) = (store.first(), store.end());
            if end > first {
                let mut subscribers = self.inner.subscribers.lock().expect("subscribers lock");
                for sub in subscribers.iter_mut() {
                    sub.add_missed(first, end, end - first);
                }
            }
        }
        self.deliver(self.read(|s| s.end()));
        if let Some(cut) = opened.cut {
            self.note(BERTH_SERVICE, &cut);
        }
        Ok(opened.resumed)
    }

    /// Where the project's history is, once attached: the only one its viewer reads.
    pub fn history_dir(&self) -> Option<std::path::PathBuf> {
        self.inner.history.get().map(|h| h.dir().to_owned())
    }

    /// Whether the project's lines are being stored on disk.
    pub fn history_status(&self) -> HistoryStatus {
        self.inner
            .history
            .get()
            .map_or(HistoryStatus::Off, History::status)
    }

    /// Whether a subscriber has a [`Delivery::Missed`] report waiting for room in its queue.
    fn owes_report(&self) -> bool {
        let subscribers = self.inner.subscribers.lock().expect("subscribers lock");
        subscribers.iter().any(|s| s.missed.is_some())
    }

    /// Sends subscribers the lines from `from` on, or counts them as missed.
    fn deliver(&self, from: u64) {
        let store = self.inner.store.read().expect("log store lock");
        let (first, end) = (store.first(), store.end());
        let max = self.inner.options.max_batch;
        let mut subscribers = self.inner.subscribers.lock().expect("subscribers lock");
        subscribers.retain_mut(|sub| {
            if sub.tx.is_closed() {
                return false;
            }
            let mut positions = query::select_range(&store, &sub.filter, from..end);
            // Lines that fell off before delivery, and a burst beyond one batch, are missed.
            let lost = from.max(first) - from;
            if positions.len() > max {
                let cut = positions.len() - max;
                sub.add_missed(from, positions[cut], cut as u64 + lost);
                positions.drain(..cut);
            } else if lost > 0 {
                sub.add_missed(from, first, lost);
            }
            if let Some((from, to, count)) = sub.missed {
                match sub.tx.try_send(Delivery::Missed { from, to, count }) {
                    Ok(()) => sub.missed = None,
                    Err(TrySendError::Full(_)) => {
                        if let (Some(a), Some(b)) = (positions.first(), positions.last()) {
                            sub.add_missed(*a, b + 1, positions.len() as u64);
                        }
                        return true;
                    }
                    Err(TrySendError::Closed(_)) => return false,
                }
            }
            if positions.is_empty() {
                return true;
            }
            let (a, b, count) = (
                positions[0],
                positions[positions.len() - 1],
                positions.len(),
            );
            let delivery = if sub.lines {
                let lines = query::lines(&store, &positions, None);
                Delivery::Lines { first, lines }
            } else {
                Delivery::Positions { first, positions }
            };
            match sub.tx.try_send(delivery) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    sub.add_missed(a, b + 1, count as u64);
                    true
                }
                Err(TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Appends Berth's own line about `service` (what watch mode did), stamped now: a
    /// [`Stream::Berth`] line with no container, kept and delivered as the containers' are.
    pub fn note(&self, service: &str, text: &str) {
        let origin = Arc::new(Origin {
            id: String::new(),
            service: service.to_owned(),
            name: String::new(),
        });
        self.append(&mut vec![Record {
            origin,
            stream: Stream::Berth,
            ts: crate::clock::now_ns(),
            text: text.as_bytes().to_vec(),
            partial: false,
            marker: None,
        }]);
    }

    /// Live appends that pass `filter`, from now on. Read the store for what came before.
    pub fn subscribe(&self, filter: Filter) -> mpsc::Receiver<Delivery> {
        self.subscribe_as(filter, true)
    }

    /// [`Hub::subscribe`] delivering positions instead of lines ([`Delivery::Positions`]):
    /// for a subscriber that reads only some of them (a viewer draws a screenful), a flood
    /// costs no copy of every line on the way.
    pub fn subscribe_positions(&self, filter: Filter) -> mpsc::Receiver<Delivery> {
        self.subscribe_as(filter, false)
    }

    fn subscribe_as(&self, filter: Filter, lines: bool) -> mpsc::Receiver<Delivery> {
        let (tx, rx) = mpsc::channel(self.inner.options.queue.max(1));
        let mut subscribers = self.inner.subscribers.lock().expect("subscribers lock");
        subscribers.push(Subscriber {
            tx,
            filter,
            lines,
            missed: None,
        });
        rx
    }

    /// Runs `f` on the store (queries, windows, export). Appends wait meanwhile, so keep it short.
    pub fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.inner.store.read().expect("log store lock"))
    }
}

impl Subscriber {
    fn add_missed(&mut self, from: u64, to: u64, count: u64) {
        self.missed = Some(match self.missed {
            Some((f, t, c)) => (f.min(from), t.max(to), c + count),
            None => (from, to, count),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn record(n: i64) -> Record {
        Record {
            origin: Arc::new(Origin {
                id: "id".into(),
                service: "svc".into(),
                name: "p-svc-1".into(),
            }),
            stream: Stream::Stdout,
            ts: n,
            text: format!("line {n}").into_bytes(),
            partial: false,
            marker: None,
        }
    }

    fn texts(d: &Delivery) -> Vec<String> {
        match d {
            Delivery::Lines { lines, .. } => lines.iter().map(|l| l.text.clone()).collect(),
            _ => panic!("unexpected {d:?}"),
        }
    }

    /// A hub delivering every `interval`, its pump running on what the sender sends, and a
    /// subscriber to every line.
    fn pumping(
        interval: Duration,
    ) -> (
        mpsc::Sender<Vec<Record>>,
        mpsc::Receiver<Delivery>,
        tokio::task::JoinHandle<()>,
    ) {
        let hub = Hub::new(HubOptions {
            interval,
            ..HubOptions::default()
        });
        let sub = hub.subscribe(Filter::default());
        let (tx, rx) = mpsc::channel(1024);
        let pump = tokio::spawn(async move { hub.pump(rx).await });
        (tx, sub, pump)
    }

    #[tokio::test]
    async fn a_positions_subscriber_gets_the_positions_a_lines_one_gets_the_lines_of() {
        let hub = Hub::new(HubOptions::default());
        let mut lines = hub.subscribe(Filter::default());
        let mut positions = hub.subscribe_positions(Filter::default());
        hub.append(&mut (0..3).map(record).collect());
        let Some(Delivery::Lines { lines, .. }) = lines.recv().await else {
            panic!("lines");
        };
        let Some(Delivery::Positions { positions, .. }) = positions.recv().await else {
            panic!("positions");
        };
        assert_eq!(positions, lines.iter().map(|l| l.pos).collect::<Vec<_>>());
        assert_eq!(positions, [0, 1, 2]);
    }

    #[tokio::test]
    async fn appends_are_coalesced_and_sorted() {
        let (tx, mut sub, pump) = pumping(Duration::from_millis(40));
        // 100 single lines, out of order in pairs.
        for i in 0..50 {
            tx.send(vec![record(2 * i + 1)]).await.unwrap();
            tx.send(vec![record(2 * i)]).await.unwrap();
        }
        drop(tx);
        pump.await.unwrap();
        let mut deliveries = Vec::new();
        while let Ok(d) = sub.try_recv() {
            deliveries.push(d);
        }
        assert!(deliveries.len() <= 3, "{} deliveries", deliveries.len());
        let all: Vec<String> = deliveries.iter().flat_map(texts).collect();
        let want: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        assert_eq!(all, want);
    }

    /// A line after a quiet spell is delivered `interval` after it arrived: the deadline starts
    /// with the first waiting line, not on a fixed tick the idle pump would have to keep.
    #[tokio::test(start_paused = true)]
    async fn a_line_after_a_quiet_spell_waits_exactly_the_interval() {
        let interval = Duration::from_millis(40);
        let (tx, mut sub, pump) = pumping(interval);
        for n in 0..3 {
            tokio::time::sleep(Duration::from_millis(1013)).await;
            let sent = tokio::time::Instant::now();
            tx.send(vec![record(n)]).await.unwrap();
            let delivery = sub.recv().await.expect("a delivery");
            assert_eq!(sent.elapsed(), interval, "line {n}");
            assert_eq!(texts(&delivery), [format!("line {n}")]);
        }
        drop(tx);
        pump.await.unwrap();
    }

    #[tokio::test]
    async fn a_slow_subscriber_gets_a_missed_marker_not_unbounded_memory() {
        let hub = Hub::new(HubOptions {
            queue: 2,
            ..HubOptions::default()
        });
        let mut slow = hub.subscribe(Filter::default());
        let mut fast = hub.subscribe(Filter::default());
        let mut fast_got = 0;
        // Ten batches of ten; the slow one reads nothing meanwhile.
        for b in 0..10 {
            hub.append(&mut (b * 10..b * 10 + 10).map(record).collect());
            while let Ok(d) = fast.try_recv() {
                fast_got += texts(&d).len();
            }
        }
        assert_eq!(fast_got, 100);
        // It holds two batches (its queue), nothing more.
        assert_eq!(texts(&slow.recv().await.unwrap())[0], "line 0");
        assert_eq!(texts(&slow.recv().await.unwrap())[0], "line 10");
        assert!(slow.try_recv().is_err());
        // The next append brings the marker for positions 20..100, then the new lines.
        hub.append(&mut vec![record(100)]);
        assert_eq!(
            slow.recv().await.unwrap(),
            Delivery::Missed {
                from: 20,
                to: 100,
                count: 80
            }
        );
        assert_eq!(texts(&slow.recv().await.unwrap()), vec!["line 100"]);
        // What was missed can be re-queried.
        let again = hub.read(|s| query::lines(s, &(20..100).collect::<Vec<_>>(), None));
        assert_eq!(again.len(), 80);
    }

    /// The lines a full subscriber missed at the end of a burst are reported once it has room,
    /// though no line comes after them (CI stop 24: the viewer stopped 6,000 lines short of a
    /// flood's end, on a loaded machine).
    #[tokio::test(start_paused = true)]
    async fn lines_missed_at_the_end_of_a_burst_are_reported_with_none_after_them() {
        let interval = Duration::from_millis(25);
        let hub = Hub::new(HubOptions {
            interval,
            queue: 2,
            ..HubOptions::default()
        });
        let mut slow = hub.subscribe(Filter::default());
        let (tx, rx) = mpsc::channel(16);
        let pump = tokio::spawn({
            let hub = hub.clone();
            async move { hub.pump(rx).await }
        });
        // Five deliveries of ten; the subscriber reads none of them meanwhile.
        for b in 0..5 {
            tx.send((b * 10..b * 10 + 10).map(record).collect())
                .await
                .unwrap();
            tokio::time::sleep(interval * 2).await;
        }
        assert_eq!(texts(&slow.recv().await.unwrap())[0], "line 0");
        assert_eq!(texts(&slow.recv().await.unwrap())[0], "line 10");
        let report = tokio::time::timeout(interval * 2, slow.recv()).await;
        assert_eq!(
            report.expect("the report within an interval").unwrap(),
            Delivery::Missed {
                from: 20,
                to: 50,
                count: 30
            }
        );
        // Reported, the pump sleeps again.
        assert!(!hub.owes_report());
        drop(tx);
        pump.await.unwrap();
    }

    #[tokio::test]
    async fn a_burst_beyond_one_batch_is_reported_missed() {
        let hub = Hub::new(HubOptions {
            max_batch: 10,
            ..HubOptions::default()
        });
        let mut sub = hub.subscribe(Filter::default());
        hub.append(&mut (0..25).map(record).collect());
        assert_eq!(
            sub.recv().await.unwrap(),
            Delivery::Missed {
                from: 0,
                to: 15,
                count: 15
            }
        );
        assert_eq!(texts(&sub.recv().await.unwrap()).len(), 10);
    }

    #[tokio::test]
    async fn subscribers_get_only_their_filter() {
        let hub = Hub::new(HubOptions::default());
        let mut errors = hub.subscribe(Filter {
            min_level: Some(crate::logs::Level::Error),
            ..Filter::default()
        });
        let mut r = record(1);
        r.text = b"ERROR bad".to_vec();
        hub.append(&mut vec![record(0), r, record(2)]);
        assert_eq!(texts(&errors.recv().await.unwrap()), vec!["ERROR bad"]);
        drop(errors);
        hub.append(&mut vec![record(3)]);
        assert_eq!(hub.inner.subscribers.lock().unwrap().len(), 0);
    }

    #[test]
    fn berths_own_lines_are_their_services_apart_from_its_containers() {
        let hub = Hub::new(HubOptions::default());
        let own = hub.subscribe(Filter {
            stream: Some(Stream::Berth),
            ..Filter::default()
        });
        let mut own = own;
        hub.append(&mut vec![record(1)]);
        hub.note(
            "svc",
            "Syncing service \"svc\" after 1 changes were detected",
        );
        hub.note("other", "Watching");
        let Some(Delivery::Lines { lines, .. }) = own.try_recv().ok() else {
            panic!("no Berth line delivered")
        };
        let got: Vec<(&str, &str, Stream)> = lines
            .iter()
            .map(|l| (l.service.as_str(), l.container.as_str(), l.stream))
            .collect();
        assert_eq!(
            got,
            [("svc", "", Stream::Berth)],
            "the container's line is not one"
        );
        let Some(Delivery::Lines { lines, .. }) = own.try_recv().ok() else {
            panic!("no second Berth line")
        };
        assert_eq!(lines[0].service, "other", "a source of its own per service");
        hub.read(|store| assert_eq!(store.sources().len(), 3));
    }
}

//! Reading a project's logs from the engine: every container's stdout and stderr with the
//! engine's timestamps, re-attached across restarts, recreates and scale changes (as the
//! project's [`Feed`] tells), and across the engine's own restarts (the feed's next listing).
//!
//! Resuming uses the engine's timestamps: the API's `since` only has whole seconds, so a
//! re-attach asks from the second of the last line read (and at most [`RESUME_TAIL`] lines
//! back) and drops what it has already seen (everything older, and as many lines at exactly the
//! last timestamp as were read before). It first asks for the last [`PROBE_TAIL`] lines only:
//! when the first of them is older than the resume point they hold every line since, and the
//! engine was spared finding that point among a hundred thousand; otherwise it asks again.
//!
//! Docker splits lines longer than 16 KiB into partial messages; a frame without a trailing
//! newline is such a part, and the parts are joined back into one line (with the first part's
//! timestamp). Output that never ends its line (a `\r` progress bar) would join without end:
//! a line is handed on as it stands, marked [`Record::partial`], once it reaches
//! [`FollowOptions::max_line`] bytes, has waited [`PARTIAL_WAIT`] for its next part or is
//! [`PARTIAL_AGE`] old, and the rest continues as a new line. TTY containers' output is not framed; it is split at newlines.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::models::{ContainerSummary, EventMessage};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::line::{Stream, parse_rfc3339};
use super::marker::Marker;
use super::query::prefix_len;
use super::wire::{self, LogStream};
use crate::error::{Endpoint, Error, not_found};
use crate::feed::{Feed, FeedEvent};
use crate::{Engine, clock, containers, labels};

/// How far back a re-attach reads at most. Lines beyond it written between the last line read
/// and the re-attach (a hundred thousand, in the moment a container restarts) would be missed.
const RESUME_TAIL: u32 = 100_000;

/// How far back a re-attach reads first: enough for the moment between a listing (or the end
/// of the backlog) and the live stream, however fast the container writes.
const PROBE_TAIL: u32 = 2_000;

/// The longest line kept whole when [`FollowOptions::max_line`] is not set.
pub const MAX_LINE: usize = 16 << 20;

/// How long the start of a line waits for its next part before it is shown as it stands. The
/// engine sends a part only once it has 16 KiB of a line, so the parts of one long line come
/// back to back; a part that waits longer is output that does not end its lines.
pub const PARTIAL_WAIT: Duration = Duration::from_secs(1);

/// How long the start of a line that keeps growing waits before it is shown as it stands: a
/// progress bar that writes a part every moment still shows, while a long line read back to
/// back (16 MB arrive in well under a second) stays whole.
pub const PARTIAL_AGE: Duration = Duration::from_secs(5);

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct FollowOptions {
    /// Lines per container to start from, for containers already there; `None` for all.
    /// Containers that appear later are read from their first line.
    pub tail: Option<u64>,
    /// Nanoseconds since the epoch, inclusive.
    pub since: Option<i64>,
    /// Nanoseconds since the epoch, inclusive.
    pub until: Option<i64>,
    /// Keep reading new lines and new containers until cancelled.
    pub follow: bool,
    /// Only these services (all when empty).
    pub services: Vec<String>,
    /// The caller needs no timestamps. A single container read without following, `since` or
    /// `until` is then read without them (the engine serves lines markedly faster), and its
    /// lines have timestamp 0. Ordering several containers and resuming always need them.
    pub untimed: bool,
    /// The longest line kept whole, in bytes ([`MAX_LINE`] when `None`): a longer one is
    /// handed on in parts of this size, each but the last marked [`Record::partial`].
    pub max_line: Option<usize>,
    /// Where each container's lines already stored end, by container ID: those containers are
    /// read from there on, without what was stored (see [`crate::logs::history`]).
    pub resume: super::history::Resume,
}

/// The container a line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub id: String,
    pub service: String,
    /// `<project>-<service>-<n>`.
    pub name: String,
}

/// One line as the engine gave it.
#[derive(Debug, Clone)]
pub struct Record {
    pub origin: Arc<Origin>,
    pub stream: Stream,
    /// Nanoseconds since the epoch.
    pub ts: i64,
    /// The line without its newline, byte for byte.
    pub text: Vec<u8>,
    /// The line goes on in the next record of this container and stream: it was longer than
    /// [`FollowOptions::max_line`], or its end had not come after [`PARTIAL_WAIT`]. As with
    /// the engine's own partial messages, no newline belongs after it.
    pub partial: bool,
    /// A lifecycle marker (Berth's line about the container, see `markers`), not its output.
    pub marker: Option<Marker>,
}

/// Reads the logs of `project`'s containers into `sink`, in batches. Without `follow` it returns
/// once every container's lines so far are sent (ordered by timestamp across containers);
/// with it, it keeps going until `cancel` fires, through engine restarts: when the engine comes
/// back every container resumes after its last line. It follows a feed of its own.
pub async fn follow(
    engine: &Engine,
    project: &str,
    options: FollowOptions,
    sink: mpsc::Sender<Vec<Record>>,
    cancel: CancellationToken,
) -> crate::Result<()> {
    let feed = options
        .follow
        .then(|| Feed::spawn(engine.clone(), project, Vec::new()));
    read(engine, project, feed.as_ref(), options, sink, cancel).await
}

/// As [`follow`], on the project's feed that others follow too.
pub async fn follow_feed(
    feed: &Feed,
    options: FollowOptions,
    sink: mpsc::Sender<Vec<Record>>,
    cancel: CancellationToken,
) -> crate::Result<()> {
    read(
        feed.engine(),
        feed.project(),
        Some(feed),
        options,
        sink,
        cancel,
    )
    .await
}

async fn read(
    engine: &Engine,
    project: &str,
    feed: Option<&Feed>,
    options: FollowOptions,
    sink: mpsc::Sender<Vec<Record>>,
    cancel: CancellationToken,
) -> crate::Result<()> {
    // Our own token, so ending the readers below does not cancel the caller's.
    let cancel = cancel.child_token();
    let request = |action: &'static str| {
        let endpoint = Endpoint(engine.endpoint().to_owned());
        move |cause| Error::Request {
            endpoint,
            action,
            cause,
        }
    };
    // Subscribed before the listing, so a container started in between is not missed.
    let mut events = feed.filter(|_| options.follow).map(Feed::subscribe);
    let started = clock::now_secs();
    let origins = listed(engine, project, &options.services)
        .await
        .map_err(request("list the project's containers"))?;

    // The backlog first, from every container, merged by timestamp: collected, then sorted. A
    // single container's needs no merging and streams straight through.
    let single = origins.len() == 1;
    let untimed = options.untimed
        && single
        && !options.follow
        && options.since.is_none()
        && options.until.is_none();
    let reads = origins.iter().map(|(origin, _)| {
        let mut reader = Reader::new(origin.clone(), &options);
        reader.timestamps = !untimed;
        let sink = &sink;
        async move {
            let mut out = Vec::new();
            let target = match single {
                true => Out::Batched(sink, Vec::new()),
                false => Out::Collect(&mut out),
            };
            match reader.open(engine, options.tail, false).await {
                Ok(stream) => _ = reader.drain(stream, target).await,
                Err(err) => tracing::debug!(container = %reader.origin.name, %err, "no log stream"),
            }
            (reader, out)
        }
    });
    let backlog = futures_util::future::join_all(reads).await;
    let mut readers = Vec::new();
    let mut all = Vec::new();
    for (mut reader, lines) in backlog {
        // Nothing read (an empty log, or `tail: 0`): follow from the listing on, not from the
        // container's first line.
        if reader.last == [None, None] {
            let from = i64::try_from(started)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000_000);
            reader.since = Some(reader.since.map_or(from, |s| s.max(from)));
        }
        readers.push(reader);
        all.extend(lines);
    }
    all.sort_by_key(|r| r.ts);
    let mut all = all.into_iter().peekable();
    while all.peek().is_some() {
        if sink
            .send(all.by_ref().take(BACKLOG_BATCH).collect())
            .await
            .is_err()
        {
            return Ok(());
        }
    }
    let Some(events) = &mut events else {
        return Ok(());
    };

    let mut followers = Followers {
        engine,
        options: &options,
        sink: &sink,
        cancel: &cancel,
        wakers: HashMap::new(),
        tasks: tokio::task::JoinSet::new(),
    };
    for reader in readers {
        followers.spawn(reader);
    }
    loop {
        let event = tokio::select! {
            () = cancel.cancelled() => break,
            event = events.recv() => event,
        };
        match event {
            Ok(FeedEvent::Event(event)) => followers.apply(&event),
            // The engine is back (after a restart, an upgrade): every known container resumes
            // from its last line, and those created meanwhile are read from their first.
            Ok(FeedEvent::Listed(list)) => followers.resync(origins_of(&list, &options.services)),
            Ok(FeedEvent::Lost { error, .. }) => {
                tracing::debug!(%error, %project, "log follower lost the engine; waiting");
            }
            Err(RecvError::Lagged(_)) => {
                if let Ok(origins) = listed(engine, project, &options.services).await {
                    followers.resync(origins);
                }
            }
            Err(RecvError::Closed) => break,
        }
    }
    cancel.cancel();
    followers.tasks.join_all().await;
    Ok(())
}

/// The project's containers (one-offs aside) of `services` (all when empty), with their
/// numbers, by service and number.
async fn listed(
    engine: &Engine,
    project: &str,
    services: &[String],
) -> Result<Vec<(Arc<Origin>, u32)>, bollard::errors::Error> {
    Ok(origins_of(
        &containers::list(engine, project).await?,
        services,
    ))
}

/// The containers of a listing (one-offs aside) of `services` (all when empty), with their
/// numbers, by service and number.
fn origins_of(list: &[ContainerSummary], services: &[String]) -> Vec<(Arc<Origin>, u32)> {
    let mut origins: Vec<(Arc<Origin>, u32)> = list
        .iter()
        .cloned()
        .filter_map(|c| {
            let labels_map = c.labels.unwrap_or_default();
            if labels::is_oneoff(&labels_map) {
                return None;
            }
            let service = labels_map.get(labels::SERVICE)?.clone();
            let number = labels::container_number(&labels_map).unwrap_or(0);
            let name = c
                .names
                .and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_owned()))
                .unwrap_or_default();
            Some((
                Arc::new(Origin {
                    id: c.id?,
                    service,
                    name,
                }),
                number,
            ))
        })
        .filter(|(o, _)| services.is_empty() || services.contains(&o.service))
        .collect();
    origins.sort_by(|a, b| (&a.0.service, a.1).cmp(&(&b.0.service, b.1)));
    origins
}

/// The readers of a following `follow`, one per container, each woken when its container
/// starts again.
struct Followers<'a> {
    engine: &'a Engine,
    options: &'a FollowOptions,
    sink: &'a mpsc::Sender<Vec<Record>>,
    cancel: &'a CancellationToken,
    wakers: HashMap<String, mpsc::UnboundedSender<()>>,
    tasks: tokio::task::JoinSet<()>,
}

impl Followers<'_> {
    fn spawn(&mut self, reader: Reader) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.wakers.insert(reader.origin.id.clone(), tx);
        let run = reader.run(
            self.engine.clone(),
            self.sink.clone(),
            rx,
            self.cancel.clone(),
        );
        self.tasks.spawn(run);
    }

    fn wanted(&self, service: &str) -> bool {
        self.options.services.is_empty() || self.options.services.iter().any(|s| s == service)
    }

    fn apply(&mut self, event: &EventMessage) {
        let Some(actor) = &event.actor else { return };
        let (Some(id), attributes) = (
            actor.id.clone(),
            actor.attributes.clone().unwrap_or_default(),
        ) else {
            return;
        };
        match event.action.as_deref() {
            Some("start") => {
                if let Some(waker) = self.wakers.get(&id) {
                    let _ = waker.send(());
                    return;
                }
                let Some(service) = attributes.get(labels::SERVICE) else {
                    return;
                };
                if labels::is_oneoff(&attributes) || !self.wanted(service) {
                    return;
                }
                let origin = Arc::new(Origin {
                    id,
                    service: service.clone(),
                    name: attributes.get("name").cloned().unwrap_or_default(),
                });
                self.spawn(Reader::new(origin, self.options));
            }
            Some("destroy") => {
                // Dropping the waker ends the reader once its stream has ended.
                self.wakers.remove(&id);
            }
            _ => {}
        }
    }

    /// After an outage: wakes the readers of containers still there, lets those of removed
    /// ones end, and reads new ones from their first line.
    fn resync(&mut self, origins: Vec<(Arc<Origin>, u32)>) {
        self.wakers
            .retain(|id, _| origins.iter().any(|(o, _)| &o.id == id));
        for (origin, _) in origins {
            match self.wakers.get(&origin.id) {
                Some(waker) => {
                    let _ = waker.send(());
                }
                None => self.spawn(Reader::new(origin, self.options)),
            }
        }
    }
}

/// One container's reader: its resume point and the parts of a line split by the engine.
struct Reader {
    origin: Arc<Origin>,
    /// Ask the engine for timestamps (which every frame then starts with).
    timestamps: bool,
    since: Option<i64>,
    until: Option<i64>,
    /// Per stream: the timestamp of the last line read, and how many were read with exactly
    /// that timestamp. Per stream, because the engine stamps every part of a split line with
    /// the first part's time, so the other stream's frames in between can be newer.
    last: [Option<(i64, u32)>; 2],
    /// Per stream: how many lines at exactly `last`'s timestamp this attach has met so far.
    replayed: [u32; 2],
    /// Per stream: frames of a line read before still to drop (`u32::MAX`: up to its end).
    skip: [u32; 2],
    /// Per stream: the last frame did not end its line, so the next one goes on with it.
    mid: [bool; 2],
    /// Per stream: how many frames of the last line at `last` were read while it has not
    /// ended (0 once it has). A re-attach drops those and hands on the rest: a line that
    /// never ends (a `\r` progress bar) goes on, none of it twice.
    open: [u32; 2],
    /// A line the engine split (per stream): its parts so far.
    partial: [Option<Pending>; 2],
    max_line: usize,
    /// This attach reads the last [`PROBE_TAIL`] lines, without `since`: from this point on
    /// (nanoseconds) they must reach back before it, or the attach is made again in full.
    probe: Option<i64>,
    /// The probe did not reach back far enough: its stream is left and opened again in full.
    short: bool,
}

/// The parts of a line read so far.
struct Pending {
    /// The first part's timestamp (the engine gives every part that one).
    ts: i64,
    text: Vec<u8>,
    /// When the first part arrived.
    first: Instant,
    /// When the latest part arrived.
    last: Instant,
}

impl Pending {
    /// When this start of a line is shown as it stands if its end has not come.
    fn due(&self) -> Instant {
        (self.last + PARTIAL_WAIT).min(self.first + PARTIAL_AGE)
    }
}

impl Reader {
    fn new(origin: Arc<Origin>, options: &FollowOptions) -> Reader {
        let last = options.resume.get(&origin.id).copied().unwrap_or_default();
        Reader {
            origin,
            timestamps: true,
            since: options.since,
            until: options.until,
            last,
            replayed: [0, 0],
            skip: [0, 0],
            mid: [false, false],
            open: [0, 0],
            partial: [None, None],
            max_line: options.max_line.unwrap_or(MAX_LINE).max(1),
            probe: None,
            short: false,
        }
    }

    /// Forgets where this attach stood, for a new one: the engine starts a stream at a line's
    /// first frame (every frame of a line has its time).
    fn rewind(&mut self) {
        self.replayed = [0, 0];
        self.skip = [0, 0];
        self.mid = [false, false];
    }

    /// Starts reading at the resume point (or `since`), `tail` lines back on a first attach.
    async fn open(
        &mut self,
        engine: &Engine,
        tail: Option<u64>,
        follow: bool,
    ) -> std::io::Result<LogStream> {
        self.rewind();
        let resume = self.last.iter().flatten().map(|(ts, _)| *ts).min();
        let from = resume.or(self.since);
        let secs = |ns: i64, up: bool| {
            let s = ns.div_euclid(1_000_000_000) + i64::from(up && ns % 1_000_000_000 != 0);
            s.max(1)
        };
        // A probe (see the module's notes) unless the last one fell short.
        self.probe = from.filter(|_| follow && self.timestamps && !self.short);
        self.short = false;
        let tail = match (resume, tail) {
            (None, Some(n)) => n.to_string(),
            _ if self.probe.is_some() => PROBE_TAIL.to_string(),
            // Resuming: to find `since` in the whole log the engine would read it from the
            // start, seconds for a big one; reading back from the end is enough, and what was
            // read before is dropped here.
            _ if follow && from.is_some() => RESUME_TAIL.to_string(),
            _ => "all".to_owned(),
        };
        let mut query = format!(
            "stdout=1&stderr=1&follow={}&timestamps={}&tail={tail}",
            u8::from(follow),
            u8::from(self.timestamps)
        );
        if let Some(from) = from.filter(|_| self.probe.is_none()) {
            query += &format!("&since={}", secs(from, false));
        }
        if let Some(until) = self.until {
            query += &format!("&until={}", secs(until, true));
        }
        let what = format!("containers/{}/logs", self.origin.id);
        wire::open(engine, &what, &query).await
    }

    /// Reads `stream` to its end, handing over the new lines in batches of those ready at once.
    /// Returns false when the sink has gone.
    async fn drain(&mut self, mut stream: LogStream, mut out: Out<'_>) -> bool {
        loop {
            // A line's start that waits for its rest is shown once it has waited long enough.
            let waiting = self.partial.iter().flatten().map(Pending::due).min();
            let next = match waiting {
                Some(due) => {
                    let due = tokio::time::Instant::from_std(due);
                    match tokio::time::timeout_at(due, stream.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            let mut batch = Vec::new();
                            for which in 0..2 {
                                self.flush_stale(which, &mut batch);
                            }
                            if !out.put(batch).await {
                                return false;
                            }
                            continue;
                        }
                    }
                }
                None => stream.next().await,
            };
            let frames = match next {
                None => break,
                Some(Ok(frames)) => frames,
                Some(Err(err)) => {
                    tracing::debug!(container = %self.origin.name, %err, "log stream ended");
                    break;
                }
            };
            let mut batch = Vec::with_capacity(frames.len());
            for frame in frames {
                self.frame(frame, &mut batch);
                if self.short {
                    // Nothing was handed on: the probe stops at its first line.
                    return true;
                }
            }
            if !out.put(batch).await {
                return false;
            }
        }
        // The output ended without ending its line: that is the line.
        let mut batch = Vec::new();
        for which in 0..2 {
            if let Some(p) = self.partial[which].take() {
                self.emit(which, p.ts, p.text, false, &mut batch);
            }
        }
        out.put(batch).await && out.finish().await
    }

    fn frame(&mut self, frame: LogOutput, out: &mut Vec<Record>) {
        let Some((stream, message)) = wire::stream_of(frame) else {
            return;
        };
        let which = usize::from(stream == Stream::Stderr);
        let (ts, body) = if self.timestamps {
            let Some(space) = message.iter().position(|b| *b == b' ') else {
                return;
            };
            let Some(ts) = std::str::from_utf8(&message[..space])
                .ok()
                .and_then(parse_rfc3339)
            else {
                return;
            };
            // The probe's first line tells whether it reaches back far enough; a line at
            // exactly the resume point could have others at that time before it.
            if let Some(from) = self.probe.take()
                && ts >= from
            {
                self.short = true;
                return;
            }
            // The count at a timestamp is of lines, as the history stores them: every part of
            // a split line has its first part's time, so only a line's first frame is counted,
            // and the frames of it read before are dropped with it.
            let ends = message.ends_with(b"\n");
            let starts = !self.mid[which];
            self.mid[which] = !ends;
            if !starts && self.skip[which] > 0 {
                if ends {
                    self.skip[which] = 0;
                } else if self.skip[which] != u32::MAX {
                    self.skip[which] -= 1;
                }
                return;
            }
            if starts {
                if !self.fresh(which, ts) {
                    self.skip[which] = self.seen_before(which, ts, ends);
                    return;
                }
                self.open[which] = u32::from(!ends);
            } else if self.open[which] > 0 {
                self.open[which] = if ends { 0 } else { self.open[which] + 1 };
            }
            (ts, &message[space + 1..])
        } else {
            (0, &message[..])
        };
        let (mut text, complete) = match body.strip_suffix(b"\n") {
            Some(text) => (text, true),
            None => (body, false),
        };
        let max = self.max_line;
        let now = Instant::now();
        let mut pending = self.partial[which].take().unwrap_or_else(|| Pending {
            ts,
            text: Vec::new(),
            first: now,
            last: now,
        });
        pending.last = now;
        // Beyond the longest line kept whole, hand on what is there and go on with a new line.
        while pending.text.len() + text.len() > max {
            let cut = char_boundary(text, max - pending.text.len(), pending.text.is_empty());
            pending.text.extend_from_slice(&text[..cut]);
            text = &text[cut..];
            let full = std::mem::take(&mut pending.text);
            self.emit(which, pending.ts, full, true, out);
            pending.first = now;
        }
        pending.text.extend_from_slice(text);
        if complete {
            self.emit(which, pending.ts, pending.text, false, out);
        } else if !pending.text.is_empty() {
            self.partial[which] = Some(pending);
            self.flush_stale(which, out);
        }
    }

    /// Hands on the start of stream `which`'s line as it stands if it has waited too long for
    /// the rest; the rest starts a line of its own.
    fn flush_stale(&mut self, which: usize, out: &mut Vec<Record>) {
        if let Some(p) = self.partial[which].take_if(|p| p.due() <= Instant::now()) {
            self.emit(which, p.ts, p.text, true, out);
        }
    }

    fn emit(&self, which: usize, ts: i64, text: Vec<u8>, partial: bool, out: &mut Vec<Record>) {
        if self.since.is_some_and(|s| ts < s) || self.until.is_some_and(|u| ts > u) {
            return;
        }
        out.push(Record {
            origin: self.origin.clone(),
            stream: if which == 0 {
                Stream::Stdout
            } else {
                Stream::Stderr
            },
            ts,
            text,
            partial,
            marker: None,
        });
    }

    /// Whether a frame of stream `which` with this timestamp is new, recording it if so.
    /// How many more frames of a line met again to drop after this one: the frames read
    /// before of the last line, which had not ended; all of any other.
    fn seen_before(&self, which: usize, ts: i64, ends: bool) -> u32 {
        let last_line =
            self.last[which].is_some_and(|(last, seen)| last == ts && self.replayed[which] == seen);
        match self.open[which] {
            open if last_line && open > 0 => open - 1,
            _ if ends => 0,
            _ => u32::MAX,
        }
    }

    fn fresh(&mut self, which: usize, ts: i64) -> bool {
        let replayed = &mut self.replayed[which];
        match &mut self.last[which] {
            Some((last, _)) if ts < *last => false,
            Some((last, seen)) if ts == *last => {
                *replayed += 1;
                if *replayed <= *seen {
                    return false;
                }
                *seen += 1;
                true
            }
            last => {
                *last = Some((ts, 1));
                *replayed = 1;
                true
            }
        }
    }

    /// Follows the container across restarts until it is removed or `cancel` fires.
    async fn run(
        mut self,
        engine: Engine,
        sink: mpsc::Sender<Vec<Record>>,
        mut wake: mpsc::UnboundedReceiver<()>,
        cancel: CancellationToken,
    ) {
        loop {
            let opened = tokio::select! {
                () = cancel.cancelled() => return,
                opened = self.open(&engine, None, true) => opened,
            };
            match opened {
                Ok(stream) => tokio::select! {
                    () = cancel.cancelled() => return,
                    open = self.drain(stream, Out::Send(&sink)) => if !open { return },
                },
                Err(err) => tracing::debug!(container = %self.origin.name, %err, "no log stream"),
            }
            if self.short {
                continue;
            }
            // The stream ends when the container stops. It may already be running again.
            match engine
                .docker()
                .inspect_container(&self.origin.id, None)
                .await
            {
                Ok(c) if c.state.as_ref().and_then(|s| s.running).unwrap_or(false) => continue,
                Ok(_) => {}
                Err(e) if not_found(&e) => return,
                Err(err) => tracing::debug!(container = %self.origin.name, %err, "inspect failed"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                woken = wake.recv() => if woken.is_none() { return },
            }
        }
    }
}

/// [`prefix_len`], unless that would take nothing and `must` take something.
fn char_boundary(text: &[u8], max: usize, must: bool) -> usize {
    match prefix_len(text, max) {
        0 if must => max.min(text.len()),
        cut => cut,
    }
}

/// Where a reader's batches go: collected (the backlog, to be merged), sent on in big batches
/// (one container's backlog: fewer wake-ups between threads), or sent on as they come (live).
enum Out<'a> {
    Collect(&'a mut Vec<Record>),
    Batched(&'a mpsc::Sender<Vec<Record>>, Vec<Record>),
    Send(&'a mpsc::Sender<Vec<Record>>),
}

/// Lines per batch a backlog is sent in.
const BACKLOG_BATCH: usize = 4096;

impl Out<'_> {
    /// Hands `batch` on; false when the receiver has gone.
    async fn put(&mut self, batch: Vec<Record>) -> bool {
        if batch.is_empty() {
            return true;
        }
        match self {
            Out::Collect(v) => {
                v.extend(batch);
                true
            }
            Out::Batched(sink, pending) => {
                pending.extend(batch);
                pending.len() < BACKLOG_BATCH || sink.send(std::mem::take(pending)).await.is_ok()
            }
            Out::Send(sink) => sink.send(batch).await.is_ok(),
        }
    }

    /// Sends what is still held back.
    async fn finish(&mut self) -> bool {
        match self {
            Out::Batched(sink, pending) if !pending.is_empty() => {
                sink.send(std::mem::take(pending)).await.is_ok()
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max_line: usize, parts: &[&str]) -> (Reader, Vec<(String, bool)>) {
        let origin = Origin {
            id: "id".into(),
            service: "svc".into(),
            name: "p-svc-1".into(),
        };
        let options = FollowOptions {
            max_line: Some(max_line),
            ..FollowOptions::default()
        };
        let mut reader = Reader::new(Arc::new(origin), &options);
        reader.timestamps = false;
        let mut out = Vec::new();
        for part in parts {
            let message = part.as_bytes().to_vec().into();
            reader.frame(LogOutput::StdOut { message }, &mut out);
        }
        let got = out
            .into_iter()
            .map(|r| (String::from_utf8(r.text).unwrap(), r.partial))
            .collect();
        (reader, got)
    }

    #[test]
    fn a_probe_that_does_not_reach_back_to_the_resume_point_hands_on_nothing() {
        let origin = Arc::new(Origin {
            id: "id".into(),
            service: "svc".into(),
            name: "p-svc-1".into(),
        });
        let at = |second: u32| format!("2026-12-05T19:00:{second:02}.000000000Z ");
        let from = parse_rfc3339(at(10).trim_end()).unwrap();
        let read = |first: u32| {
            let mut reader = Reader::new(origin.clone(), &FollowOptions::default());
            reader.last = [Some((from, 1)), None];
            reader.probe = Some(from);
            let mut out = Vec::new();
            for second in [first, 10, 11] {
                let message = format!("{}line {second}\n", at(second)).into_bytes().into();
                reader.frame(LogOutput::StdOut { message }, &mut out);
                if reader.short {
                    break;
                }
            }
            let texts: Vec<String> = out
                .into_iter()
                .map(|r| String::from_utf8(r.text).unwrap())
                .collect();
            (reader.short, texts)
        };
        // Its first line is older than the last one read: the probe holds every line since.
        assert_eq!(read(9), (false, vec!["line 11".to_owned()]));
        // Its first line is the last one read, or newer: lines before it may be missing.
        assert_eq!(read(10), (true, Vec::new()));
        assert_eq!(read(12), (true, Vec::new()));
    }

    #[test]
    fn a_reattach_drops_the_frames_read_before_and_goes_on_with_a_line_that_has_not_ended() {
        let origin = Arc::new(Origin {
            id: "id".into(),
            service: "svc".into(),
            name: "p-svc-1".into(),
        });
        // Every frame of a split line carries its first frame's time, as the engine sends it.
        let t = "2026-12-05T19:00:10.000000000Z ";
        let mut reader = Reader::new(origin, &FollowOptions::default());
        let read = |reader: &mut Reader, parts: &[&str]| {
            let mut out = Vec::new();
            for part in parts {
                let message = format!("{t}{part}").into_bytes().into();
                reader.frame(LogOutput::StdOut { message }, &mut out);
            }
            for which in 0..2 {
                if let Some(p) = reader.partial[which].take() {
                    reader.emit(which, p.ts, p.text, true, &mut out);
                }
            }
            out.into_iter()
                .map(|r| String::from_utf8(r.text).unwrap())
                .collect::<String>()
        };
        assert_eq!(read(&mut reader, &["done\n", "a\r", "b\r"]), "donea\rb\r");
        // The stream is opened again from the line's time: the engine sends all of it again.
        reader.rewind();
        let again = ["done\n", "a\r", "b\r", "c\r", "d\n", "next\n"];
        assert_eq!(read(&mut reader, &again), "c\rdnext");
        // Lines read whole before are dropped whole.
        reader.rewind();
        let again = [&again[..], &["last\n"]].concat();
        assert_eq!(read(&mut reader, &again), "last");
    }

    #[test]
    fn parts_join_up_to_the_longest_line_and_go_on_in_a_new_one() {
        let (reader, got) = frames(10, &["abcdefgh", "ijklmnop", "qrst", "uv\n", "short\n"]);
        let want = [
            ("abcdefghij", true),
            ("klmnopqrst", true),
            ("uv", false),
            ("short", false),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        assert_eq!(got, want);
        assert!(reader.partial.iter().all(Option::is_none));
        // A character is never cut in two: é is two bytes.
        let (_, got) = frames(10, &["abcdefghi\u{e9}", "z\n"]);
        assert_eq!(got[0], ("abcdefghi".to_string(), true));
        assert_eq!(got[1], ("\u{e9}z".to_string(), false));
    }

    #[test]
    fn a_long_line_whose_parts_keep_coming_stays_whole_until_it_is_old() {
        // Parts of one line spread over more than PARTIAL_WAIT, each within it of the last.
        let (mut reader, got) = frames(1 << 20, &["part one, "]);
        assert!(got.is_empty());
        let p = reader.partial[0].as_mut().unwrap();
        p.first = Instant::now().checked_sub(PARTIAL_WAIT * 2).unwrap();
        let mut out = Vec::new();
        reader.flush_stale(0, &mut out);
        assert!(out.is_empty(), "its last part came just now");
        let p = reader.partial[0].as_mut().unwrap();
        p.first = Instant::now().checked_sub(PARTIAL_AGE).unwrap();
        reader.flush_stale(0, &mut out);
        assert_eq!(
            out.len(),
            1,
            "a start that keeps growing shows once it is old"
        );
    }

    #[test]
    fn a_start_that_waited_is_handed_on_and_nothing_waits_after_it() {
        let (mut reader, got) = frames(1 << 20, &["progress 1%\rprogress 2%"]);
        assert!(got.is_empty(), "the rest may still come");
        let waited = Instant::now().checked_sub(PARTIAL_WAIT).unwrap();
        reader.partial[0].as_mut().unwrap().last = waited;
        let mut out = Vec::new();
        reader.flush_stale(0, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (&out[0].text[..], out[0].partial),
            (&b"progress 1%\rprogress 2%"[..], true)
        );
        // Nothing is left to wait for (a reader that kept an empty start would wake at once, forever).
        assert!(reader.partial.iter().all(Option::is_none));
    }
}

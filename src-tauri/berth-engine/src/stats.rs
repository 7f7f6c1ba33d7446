//! Resource use of a project's containers: CPU, memory, network and block I/O, computed from the
//! engine's stats stream exactly as `docker stats` computes them.
//!
//! A [`StatsHandle`] follows the project's running containers as they start and stop (the
//! project's [`Feed`]) and opens the engine's stats streams only while someone is subscribed:
//! each costs dockerd a cgroup read a second. Each container keeps a short ring of
//! recent samples for sparklines, handed to every new subscriber.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bollard::models::{ContainerStatsResponse, ContainerSummary};
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use ts_rs::TS;

use crate::containers::{self, Listed};
use crate::error::{Endpoint, Error};
use crate::feed::{Feed, FeedEvent};
use crate::logs::parse_rfc3339;
use crate::subscription::{AbortOnDrop, Demand, Subscription};
use crate::{Engine, labels};

/// Samples kept per container (the engine sends one a second: a minute of history).
pub const HISTORY: usize = 60;

/// One container's resource use at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct StatsSample {
    pub container_id: String,
    /// `<project>-<service>-<n>`.
    pub name: String,
    pub service: String,
    /// When the engine read it, in milliseconds since the epoch.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// Of one CPU: 200 is two CPUs busy, as `docker stats` counts.
    pub cpu_percent: f64,
    /// In use, page cache excluded.
    #[ts(type = "number")]
    pub memory_bytes: u64,
    /// The container's limit, or the host's memory without one.
    #[ts(type = "number")]
    pub memory_limit: u64,
    pub memory_percent: f64,
    /// Since the container started, over all its networks.
    #[ts(type = "number")]
    pub net_rx: u64,
    #[ts(type = "number")]
    pub net_tx: u64,
    /// Since the container started.
    #[ts(type = "number")]
    pub block_read: u64,
    #[ts(type = "number")]
    pub block_write: u64,
    #[ts(type = "number")]
    pub pids: u64,
}

/// A container's recent samples, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StatsHistory {
    pub container_id: String,
    pub name: String,
    pub service: String,
    pub samples: Vec<StatsSample>,
}

/// The container a stats stream belongs to.
#[derive(Debug, Clone)]
struct Subject {
    id: String,
    name: String,
    service: String,
}

/// Memory in use without the page cache, as the docker CLI computes it: cgroup v1 reports
/// `total_inactive_file`, v2 `inactive_file`.
pub fn memory_without_cache(usage: u64, stats: &HashMap<String, u64>) -> u64 {
    if let Some(&v) = stats.get("total_inactive_file")
        && v < usage
    {
        return usage - v;
    }
    // A missing key reads as 0, as in Go.
    let v = stats.get("inactive_file").copied().unwrap_or(0);
    if v < usage { usage - v } else { usage }
}

/// The sample in one stats frame, or `None` when the frame carries no previous CPU reading to
/// compare with (a stream's first frame) or no reading at all (a stopped container's).
fn sample(subject: &Subject, s: &ContainerStatsResponse) -> Option<StatsSample> {
    let cpu = s.cpu_stats.as_ref()?;
    let pre = s.precpu_stats.as_ref()?;
    let system = cpu.system_cpu_usage.filter(|v| *v > 0)?;
    let pre_system = pre.system_cpu_usage.filter(|v| *v > 0)?;
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let online = match cpu.online_cpus.unwrap_or(0) {
        0 => cpu
            .cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map_or(0, Vec::len) as f64,
        n => f64::from(n),
    };
    let cpu_delta = total(cpu) as f64 - total(pre) as f64;
    let system_delta = system as f64 - pre_system as f64;
    let cpu_percent = if cpu_delta > 0.0 && system_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    };
    let memory = s.memory_stats.clone().unwrap_or_default();
    let memory_bytes =
        memory_without_cache(memory.usage.unwrap_or(0), &memory.stats.unwrap_or_default());
    let memory_limit = memory.limit.unwrap_or(0);
    let memory_percent = match memory_limit {
        0 => 0.0,
        limit => memory_bytes as f64 / limit as f64 * 100.0,
    };
    let (net_rx, net_tx) = s
        .networks
        .iter()
        .flatten()
        .fold((0, 0), |(rx, tx), (_, n)| {
            (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
        });
    let (mut block_read, mut block_write) = (0, 0);
    let entries = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    for entry in entries.into_iter().flatten() {
        let value = entry.value.unwrap_or(0);
        match entry.op.as_deref().and_then(|op| op.bytes().next()) {
            Some(b'r' | b'R') => block_read += value,
            Some(b'w' | b'W') => block_write += value,
            _ => {}
        }
    }
    let at_ms = s
        .read
        .as_deref()
        .and_then(parse_rfc3339)
        .map_or(0, |ns| ns / 1_000_000);
    Some(StatsSample {
        container_id: subject.id.clone(),
        name: subject.name.clone(),
        service: subject.service.clone(),
        at_ms,
        cpu_percent,
        memory_bytes,
        memory_limit,
        memory_percent,
        net_rx,
        net_tx,
        block_read,
        block_write,
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    })
}

/// The running containers of `project` (of `services`, or all when empty), sorted by name.
async fn running(
    engine: &Engine,
    project: &str,
    services: &[String],
) -> crate::Result<Vec<Subject>> {
    let listed = containers::list(engine, project)
        .await
        .map_err(|cause| Error::Request {
            endpoint: Endpoint(engine.endpoint().to_owned()),
            action: "list the project's containers",
            cause,
        })?;
    Ok(subjects(&listed, services))
}

/// The running containers of a listing (of `services`, or all when empty), sorted by name.
fn subjects(listed: &[ContainerSummary], services: &[String]) -> Vec<Subject> {
    let mut out: Vec<Subject> = listed
        .iter()
        .cloned()
        .map(Listed::from_summary)
        .filter(|c| c.running && (services.is_empty() || services.contains(&c.service)))
        .map(|c| Subject {
            id: c.id,
            name: c.name,
            service: c.service,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One sample of each running container of `project` (of `services`, or all), as
/// `docker stats --no-stream` gives: the engine reads each twice, a second apart, for the CPU.
pub async fn once(
    engine: &Engine,
    project: &str,
    services: &[String],
) -> crate::Result<Vec<StatsSample>> {
    let subjects = running(engine, project, services).await?;
    let reads = subjects.iter().map(|subject| async move {
        let options = StatsOptionsBuilder::new().stream(false).build();
        let mut stream = engine.docker().stats(&subject.id, Some(options));
        match stream.next().await {
            Some(Ok(s)) => sample(subject, &s),
            // Stopped or removed since the listing: it has no figures.
            _ => None,
        }
    });
    Ok(futures_util::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect())
}

/// Live stats of one project's containers; dropping the last handle stops it.
#[derive(Debug, Clone)]
pub struct StatsHandle {
    shared: Arc<Shared>,
    demand: Demand,
    _task: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct Shared {
    /// By container id.
    histories: Mutex<BTreeMap<String, StatsHistory>>,
    tx: broadcast::Sender<StatsSample>,
}

/// Samples a slow subscriber may fall behind by before it is told it lagged.
const CHANNEL: usize = 1024;

/// The entry point: `Stats::spawn(engine, project)`, or `Stats::follow(feed)`.
pub struct Stats;

impl Stats {
    /// Starts following `project`'s containers, on a feed of its own; no engine stream opens
    /// before a subscriber.
    pub fn spawn(engine: Engine, project: String) -> StatsHandle {
        Stats::follow(Feed::spawn(engine, &project, Vec::new()))
    }

    /// Starts following the containers of `feed`'s project; the feed is subscribed to, and
    /// the stats streams opened, only while someone subscribes to the stats.
    pub fn follow(feed: Feed) -> StatsHandle {
        let shared = Arc::new(Shared {
            histories: Mutex::new(BTreeMap::new()),
            tx: broadcast::channel(CHANNEL).0,
        });
        let demand = Demand::new();
        let task = tokio::spawn(run(feed, shared.clone(), demand.clone()));
        StatsHandle {
            shared,
            demand,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }
}

impl StatsHandle {
    /// The recent history of each container (by name) and every sample after it. The engine's
    /// stats streams run while at least one subscription is alive.
    pub fn subscribe(&self) -> (Vec<StatsHistory>, Subscription<StatsSample>) {
        let interest = self.demand.interest();
        let histories = self.shared.histories.lock().expect("not poisoned");
        let rx = self.shared.tx.subscribe();
        (sorted(&histories), Subscription::new(rx, interest))
    }

    /// The recent history of each container, without subscribing: nothing more is read from
    /// the engine for it.
    pub fn histories(&self) -> Vec<StatsHistory> {
        sorted(&self.shared.histories.lock().expect("not poisoned"))
    }
}

fn sorted(histories: &BTreeMap<String, StatsHistory>) -> Vec<StatsHistory> {
    let mut out: Vec<StatsHistory> = histories.values().cloned().collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Waits for subscribers, follows the project while there are any, and starts over.
async fn run(feed: Feed, shared: Arc<Shared>, demand: Demand) {
    loop {
        demand.wanted().await;
        tokio::select! {
            () = demand.unwanted() => {}
            () = follow(&feed, &shared) => {}
        }
    }
}

/// The open stats streams, by container id.
struct Streams {
    tasks: JoinSet<String>,
    open: HashMap<String, tokio::task::AbortHandle>,
}

impl Streams {
    fn start(&mut self, engine: &Engine, subject: Subject, shared: &Arc<Shared>) {
        if !self.open.contains_key(&subject.id) {
            let id = subject.id.clone();
            let task = stream(engine.clone(), subject, shared.clone());
            self.open.insert(id, self.tasks.spawn(task));
        }
    }

    fn stop(&mut self, id: &str) {
        if let Some(handle) = self.open.remove(id) {
            handle.abort();
        }
    }

    /// Opens a stream for every running container of a listing, closing any still open
    /// (after an outage they ended with the connection), and forgets the containers gone.
    fn restart(&mut self, engine: &Engine, listed: &[ContainerSummary], shared: &Arc<Shared>) {
        let subjects = subjects(listed, &[]);
        shared
            .histories
            .lock()
            .expect("not poisoned")
            .retain(|id, _| subjects.iter().any(|s| &s.id == id));
        for (_, handle) in self.open.drain() {
            handle.abort();
        }
        for subject in subjects {
            self.start(engine, subject, shared);
        }
    }
}

/// Opens a stats stream for every running container and follows starts and stops from the
/// feed, until the caller stops polling (which aborts the streams).
async fn follow(feed: &Feed, shared: &Arc<Shared>) {
    let engine = feed.engine();
    let mut events = feed.subscribe();
    let mut streams = Streams {
        tasks: JoinSet::new(),
        open: HashMap::new(),
    };
    // Subscribed first, so nothing after this listing is missed. Without an engine, the
    // feed's next listing starts the streams.
    if let Ok(listed) = containers::list(engine, feed.project()).await {
        streams.restart(engine, &listed, shared);
    }
    loop {
        let event = tokio::select! {
            Some(Ok((task, id))) = streams.tasks.join_next_with_id() => {
                // Unless a new stream of that container has taken its place.
                if streams.open.get(&id).is_some_and(|open| open.id() == task) {
                    streams.open.remove(&id);
                }
                continue;
            }
            event = events.recv() => event,
        };
        let event = match event {
            Ok(FeedEvent::Event(e)) => e,
            Ok(FeedEvent::Listed(listed)) => {
                streams.restart(engine, &listed, shared);
                continue;
            }
            // The streams end with the engine; the feed lists again when it is back.
            Ok(FeedEvent::Lost { .. }) => continue,
            Err(RecvError::Lagged(_)) => {
                if let Ok(listed) = containers::list(engine, feed.project()).await {
                    streams.restart(engine, &listed, shared);
                }
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(actor) = &event.actor else { continue };
        let (Some(id), attributes) = (
            actor.id.clone(),
            actor.attributes.clone().unwrap_or_default(),
        ) else {
            continue;
        };
        match event.action.as_deref() {
            Some("start") => {
                let Some(service) = attributes.get(labels::SERVICE) else {
                    continue;
                };
                // A container that stopped and started again gets a new stream.
                streams.stop(&id);
                let subject = Subject {
                    id,
                    name: attributes.get("name").cloned().unwrap_or_default(),
                    service: service.clone(),
                };
                streams.start(engine, subject, shared);
            }
            // A stopped container's stream would go on with empty frames.
            Some("die") => streams.stop(&id),
            Some("destroy") => {
                streams.stop(&id);
                shared.histories.lock().expect("not poisoned").remove(&id);
            }
            _ => {}
        }
    }
}

/// One container's stats stream into its history and the subscribers; returns its id when the
/// stream ends.
async fn stream(engine: Engine, subject: Subject, shared: Arc<Shared>) -> String {
    let options = StatsOptionsBuilder::new().stream(true).build();
    let mut frames = engine.docker().stats(&subject.id, Some(options));
    while let Some(frame) = frames.next().await {
        let frame = match frame {
            Ok(f) => f,
            Err(err) => {
                tracing::debug!(container = %subject.name, %err, "stats stream ended");
                break;
            }
        };
        let Some(sample) = sample(&subject, &frame) else {
            continue;
        };
        let mut histories = shared.histories.lock().expect("not poisoned");
        let history = histories
            .entry(subject.id.clone())
            .or_insert_with(|| StatsHistory {
                container_id: subject.id.clone(),
                name: subject.name.clone(),
                service: subject.service.clone(),
                samples: Vec::new(),
            });
        if history.samples.len() == HISTORY {
            history.samples.remove(0);
        }
        history.samples.push(sample.clone());
        // Sent under the lock, so a new subscriber's history and its feed neither overlap nor
        // leave a gap. No subscriber is fine.
        let _ = shared.tx.send(sample);
    }
    subject.id
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ContainerBlkioStatEntry, ContainerBlkioStats, ContainerCpuStats, ContainerCpuUsage,
        ContainerMemoryStats, ContainerNetworkStats,
    };

    fn cpu(total: u64, system: u64) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                percpu_usage: Some(vec![total / 2, total / 2]),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: None,
            ..Default::default()
        }
    }

    fn subject() -> Subject {
        Subject {
            id: "abc".into(),
            name: "p-web-1".into(),
            service: "web".into(),
        }
    }

    #[test]
    fn figures_are_computed_as_the_docker_cli_does() {
        let frame = ContainerStatsResponse {
            read: Some("2026-11-22T01:02:03.5Z".into()),
            // 0.5 s of CPU in 1 s of system time, which counts both CPUs: one CPU busy, 100 %.
            cpu_stats: Some(cpu(1_500_000_000, 11_000_000_000)),
            precpu_stats: Some(cpu(1_000_000_000, 10_000_000_000)),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(10_000),
                stats: Some(HashMap::from([
                    ("total_inactive_file".into(), 4_000),
                    ("inactive_file".into(), 1_000),
                ])),
                limit: Some(60_000),
                ..Default::default()
            }),
            networks: Some(HashMap::from([
                (
                    "eth0".into(),
                    ContainerNetworkStats {
                        rx_bytes: Some(10),
                        tx_bytes: Some(20),
                        ..Default::default()
                    },
                ),
                (
                    "eth1".into(),
                    ContainerNetworkStats {
                        rx_bytes: Some(1),
                        tx_bytes: Some(2),
                        ..Default::default()
                    },
                ),
            ])),
            blkio_stats: Some(ContainerBlkioStats {
                io_service_bytes_recursive: Some(
                    [
                        ("Read", 7),
                        ("Write", 9),
                        ("read", 1),
                        ("Total", 17),
                        ("", 5),
                    ]
                    .map(|(op, value)| ContainerBlkioStatEntry {
                        op: Some(op.into()),
                        value: Some(value),
                        ..Default::default()
                    })
                    .to_vec(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = sample(&subject(), &frame).expect("a full frame");
        assert!((s.cpu_percent - 100.0).abs() < 1e-9, "{}", s.cpu_percent);
        // cgroup v1's total_inactive_file wins over inactive_file.
        assert_eq!((s.memory_bytes, s.memory_limit), (6_000, 60_000));
        assert!((s.memory_percent - 10.0).abs() < 1e-9);
        assert_eq!((s.net_rx, s.net_tx), (11, 22));
        assert_eq!((s.block_read, s.block_write), (8, 9));
        assert_eq!(s.at_ms, 1_795_309_323_500);
    }

    #[test]
    fn memory_excludes_the_page_cache_on_either_cgroup_version() {
        let v2 = HashMap::from([("inactive_file".to_owned(), 300)]);
        assert_eq!(memory_without_cache(1_000, &v2), 700);
        let v1 = HashMap::from([("total_inactive_file".to_owned(), 400)]);
        assert_eq!(memory_without_cache(1_000, &v1), 600);
        // More cache than usage (counters read at different moments): usage as it is.
        assert_eq!(memory_without_cache(100, &v1), 100);
        assert_eq!(memory_without_cache(1_000, &HashMap::new()), 1_000);
    }

    #[test]
    fn a_frame_without_a_previous_reading_has_no_sample() {
        let frame = ContainerStatsResponse {
            cpu_stats: Some(cpu(5, 10)),
            precpu_stats: Some(ContainerCpuStats::default()),
            ..Default::default()
        };
        assert_eq!(sample(&subject(), &frame), None);
    }
}

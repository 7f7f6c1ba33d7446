//! Log following and stats across an engine restart. The log follower retries until the engine
//! answers again and every container resumes after its last line, so what it read is exactly the
//! engine's own log, no line lost, none repeated; the stats handle finds the containers again.
//! Each test restarts a dockerd of its own (see berth_tests::daemon), never the shared one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_engine::logs::{self, FollowOptions, Record, parse_rfc3339};
use berth_engine::stats::{Stats, StatsSample};
use berth_engine::{
    CancellationToken, DownOptions, Engine, EngineState, Prober, ProberHandle, Progress, Stack,
    StateHandle, StatsHandle, Subscription, UpOptions,
};
use berth_tests::daemon::Daemon;
use berth_tests::proxy::Proxy;
use berth_tests::stacks::load;
use berth_tests::unique_project;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};

/// Each line numbered, restarted from 1 when the container restarts: the timestamps tell the
/// runs apart. `restart: always` brings it back with the daemon.
const YAML: &str = "services:
  ticker:
    image: berth-test/busybox:1
    command: [sh, -c, 'i=0; while :; do i=$$((i+1)); echo \"tick $$i\"; sleep 0.02; done']
    network_mode: none
    restart: always
";

pub(crate) const LIMIT: Duration = Duration::from_secs(60);

/// The container's whole log as the engine has it: (timestamp, text).
async fn engine_log(engine: &Engine, id: &str) -> Vec<(i64, Vec<u8>)> {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .build();
    let mut frames = engine.docker().logs(id, Some(options));
    let mut out = Vec::new();
    while let Some(frame) = frames.next().await {
        let bytes = frame.expect("the engine reads the log").into_bytes();
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let space = line.iter().position(|b| *b == b' ').expect("a timestamp");
        let ts = parse_rfc3339(std::str::from_utf8(&line[..space]).unwrap()).unwrap();
        out.push((ts, line[space + 1..].to_vec()));
    }
    out
}

/// Waits until the collected lines satisfy `done`.
async fn until(
    lines: &mut watch::Receiver<Vec<(i64, Vec<u8>)>>,
    what: &str,
    done: impl Fn(&[(i64, Vec<u8>)]) -> bool,
) {
    tokio::time::timeout(LIMIT, lines.wait_for(|l| done(l)))
        .await
        .unwrap_or_else(|_| panic!("no {what} within {LIMIT:?}"))
        .expect("the collector runs");
}

/// The ticker up on a dockerd of the test's own: its directory, the daemon, its engine, the
/// stack.
pub(crate) async fn ticker_on_own_daemon(what: &str) -> (PathBuf, Daemon, Engine, Stack) {
    let name = unique_project(what);
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let (daemon, engine) = Daemon::start(&dir).await;
    daemon.load("berth-test/busybox:1");
    std::fs::write(dir.join("compose.yaml"), YAML).unwrap();
    let stack = Stack::new(engine.clone(), load(&dir, &name));
    stack
        .up(&UpOptions::default(), &Progress::default())
        .await
        .expect("up on the test's daemon");
    (dir, daemon, engine, stack)
}

/// Takes the ticker down, then its daemon and directory: how both tests end.
pub(crate) async fn take_down(stack: &Stack, mut daemon: Daemon, dir: &Path) {
    stack
        .down(&DownOptions::default(), &Progress::default())
        .await
        .unwrap();
    daemon.stop();
    let _ = std::fs::remove_dir_all(dir);
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_resumes_after_the_engine_restarts_without_loss_or_repeats() {
    let (dir, mut daemon, engine, stack) = ticker_on_own_daemon("follow-restart").await;
    let name = stack.project().name.clone();
    let id = stack.ps(true).await.unwrap()[0].id.clone();

    let (tx, mut rx) = mpsc::channel::<Vec<Record>>(64);
    let (lines_tx, mut lines) = watch::channel(Vec::new());
    let collector = tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            lines_tx.send_modify(|l| l.extend(batch.into_iter().map(|r| (r.ts, r.text))));
        }
    });
    let cancel = CancellationToken::new();
    let follower = tokio::spawn({
        let (engine, name, cancel) = (engine.clone(), name.clone(), cancel.clone());
        let options = FollowOptions {
            follow: true,
            ..Default::default()
        };
        async move { logs::follow(&engine, &name, options, tx, cancel).await }
    });
    until(&mut lines, "lines before the restart", |l| l.len() >= 20).await;

    daemon.stop();
    let stopped = now_ns();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!follower.is_finished(), "the follower waits for the engine");
    let (daemon, _) = Daemon::start(&dir).await;
    until(&mut lines, "lines after the restart", |l| {
        l.iter().filter(|(ts, _)| *ts > stopped).count() >= 20
    })
    .await;

    // Stopped, the log is complete; the follower catches up with its end.
    stack.stop(&[], &Progress::default()).await.unwrap();
    let expected = engine_log(&engine, &id).await;
    until(&mut lines, "the whole log", |l| l.len() >= expected.len()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = lines.borrow().clone();
    let runs = expected.iter().filter(|(_, t)| t == b"tick 1").count();
    assert!(runs >= 2, "the container ran before and after the restart");
    assert_eq!(got.len(), expected.len(), "as many lines as the engine has");
    assert!(
        got == expected,
        "the engine's log, in order, each line once"
    );

    cancel.cancel();
    follower.await.unwrap().expect("the follower ends cleanly");
    collector.await.unwrap();
    take_down(&stack, daemon, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_resume_after_the_engine_restarts() {
    let (dir, mut daemon, engine, stack) = ticker_on_own_daemon("stats-restart").await;
    let handle = Stats::spawn(engine, stack.project().name.clone());
    let (_, mut feed) = handle.subscribe();
    let next = async |feed: &mut Subscription<StatsSample>| {
        tokio::time::timeout(LIMIT, async {
            loop {
                match feed.recv().await {
                    Ok(sample) => return sample,
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => panic!("the stats feed ended"),
                }
            }
        })
        .await
        .expect("a sample within the limit")
    };
    let before = next(&mut feed).await;
    assert_eq!(before.service, "ticker");

    daemon.stop();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (daemon, _) = Daemon::start(&dir).await;
    let restarted_ms = now_ns() / 1_000_000;
    // `restart: always` brings the ticker back; the handle finds it again.
    loop {
        let sample = next(&mut feed).await;
        if sample.at_ms > restarted_ms {
            assert_eq!(sample.service, "ticker");
            break;
        }
    }

    drop(feed);
    take_down(&stack, daemon, &dir).await;
}

/// What an open project in the app holds, wired as the app's session wires it: the state model,
/// the log follower feeding the hub, and the stats and probes the window subscribes to while it
/// shows them, all on the state model's feed.
struct OpenProject {
    state: StateHandle,
    stats: StatsHandle,
    prober: ProberHandle,
    lines: watch::Receiver<Vec<(i64, Vec<u8>)>>,
    cancel: CancellationToken,
}

impl Drop for OpenProject {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn open_project(engine: Engine, project: berth_engine::berth_compose::Project) -> OpenProject {
    let state = StateHandle::spawn(engine, project);
    let feed = state.feed().clone();
    let stats = Stats::follow(feed.clone());
    let prober = Prober::spawn(state.clone());
    let (tx, mut rx) = mpsc::channel::<Vec<Record>>(64);
    let (lines_tx, lines) = watch::channel(Vec::new());
    tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            lines_tx.send_modify(|l| l.extend(batch.into_iter().map(|r| (r.ts, r.text))));
        }
    });
    let cancel = CancellationToken::new();
    let options = FollowOptions {
        follow: true,
        tail: Some(10),
        ..Default::default()
    };
    tokio::spawn({
        let cancel = cancel.clone();
        async move { logs::follow_feed(&feed, options, tx, cancel).await }
    });
    OpenProject {
        state,
        stats,
        prober,
        lines,
        cancel,
    }
}

/// Polls `what` until it holds, within the limit.
pub(crate) async fn eventually(what: &str, holds: impl Fn() -> bool) {
    tokio::time::timeout(LIMIT, async {
        while !holds() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within {LIMIT:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_project_holds_one_event_stream_shown_hidden_and_after_a_restart() {
    let (dir, mut daemon, _, stack) = ticker_on_own_daemon("one-feed").await;
    let proxy = Proxy::start(&dir.join("proxy.sock"), &dir.join("docker.sock"));
    let engine = Engine::connect_to(&proxy.host()).await.unwrap();
    let mut open = open_project(engine, stack.project().clone());
    open.state.subscribe().await;
    until(&mut open.lines, "the log follower reading", |l| {
        !l.is_empty()
    })
    .await;

    // Shown: the window subscribes to stats and probes.
    let (_, mut samples) = open.stats.subscribe();
    let (_, probes) = open.prober.subscribe();
    tokio::time::timeout(LIMIT, samples.recv())
        .await
        .expect("a sample")
        .unwrap();
    assert_eq!(proxy.open_stats_streams(), 1);
    assert_eq!(proxy.open_event_streams(), 1, "shown: one event stream");

    // Hidden again: the stats streams close, and nothing more is asked of the engine.
    drop((samples, probes));
    eventually("the stats stream closed", || {
        proxy.open_stats_streams() == 0
    })
    .await;
    assert_eq!(
        proxy.requests_during(Duration::from_secs(3)).await,
        Vec::<String>::new(),
        "hidden: no requests"
    );
    assert_eq!(proxy.open_event_streams(), 1, "hidden: one event stream");

    daemon.stop();
    eventually("the model saw the engine go", || {
        !matches!(open.state.snapshot().engine, EngineState::Available)
    })
    .await;
    let stopped = now_ns();
    let (daemon, _) = Daemon::start(&dir).await;
    until(&mut open.lines, "lines after the restart", |l| {
        l.iter().any(|(ts, _)| *ts > stopped)
    })
    .await;
    eventually("the model resynced", || {
        matches!(open.state.snapshot().engine, EngineState::Available)
    })
    .await;
    let (_, mut samples) = open.stats.subscribe();
    tokio::time::timeout(LIMIT, samples.recv())
        .await
        .expect("a sample after the restart")
        .unwrap();
    eventually("the event stream open again", || {
        proxy.open_event_streams() >= 1
    })
    .await;
    assert_eq!(
        proxy.open_event_streams(),
        1,
        "after a restart: one event stream"
    );

    drop((samples, open));
    take_down(&stack, daemon, &dir).await;
}

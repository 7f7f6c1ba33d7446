//! Log following and stats across an engine restart. The log follower retries until the engine
//! answers again and every container resumes after its last line, so what it read is exactly the
//! engine's own log, no line lost, none repeated; the stats handle finds the containers again.
//! Each test restarts a dockerd of its own (see berth_tests::daemon), never the shared one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_engine::logs::{self, FollowOptions, Record, parse_rfc3339};
use berth_engine::stats::{Stats, StatsSample};
use berth_engine::{
    CancellationToken, DownOptions, Engine, Progress, Stack, Subscription, UpOptions,
};
use berth_tests::daemon::Daemon;
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

const LIMIT: Duration = Duration::from_secs(60);

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
async fn ticker_on_own_daemon(what: &str) -> (PathBuf, Daemon, Engine, Stack) {
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
async fn take_down(stack: &Stack, mut daemon: Daemon, dir: &Path) {
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

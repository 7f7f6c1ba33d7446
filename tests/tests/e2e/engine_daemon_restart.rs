//! A Docker daemon restart while a subscriber listens: the live model reports the engine gone,
//! retries with backoff, and resyncs when it is back. The test restarts a daemon of its own (its
//! own socket, data and exec roots, and its own network namespace), never the shared one.

use std::time::Duration;

use berth_engine::{ChangeKind, DownOptions, EngineState, Progress, Stack, UpOptions};
use berth_tests::daemon::Daemon;
use berth_tests::stacks::{engine_unavailable, load, next_change, resynced};
use berth_tests::unique_project;

/// How long the model may take to report each step.
const LIMIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_restart_is_reported_retried_and_resynced() {
    let name = unique_project("daemon");
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut daemon, engine) = Daemon::start(&dir).await;
    daemon.load("berth-test/busybox:1");

    let yaml = "services:\n  app:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n    \
                network_mode: none\n    restart: always\n";
    std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
    let stack = Stack::new(engine, load(&dir, &name));
    stack
        .up(&UpOptions::default(), &Progress::default())
        .await
        .expect("up on the test's daemon");

    let state = stack.watch();
    let (synced, mut changes) = state.subscribe().await;
    assert_eq!(synced.engine, EngineState::Available);

    daemon.stop();
    engine_unavailable(&mut changes, LIMIT).await;

    let (mut daemon, _) = Daemon::start(&dir).await;
    let snapshot = resynced(&mut changes, LIMIT).await;
    assert_eq!(snapshot.engine, EngineState::Available);
    assert_eq!(snapshot.services["app"].containers.len(), 1);

    // `restart: always` brings the container back (before or after the resync); the model
    // follows events again and sees it.
    if !snapshot.services["app"].containers[0].running() {
        next_change(
            &mut changes,
            "the container running again",
            LIMIT,
            |k| matches!(k, ChangeKind::Container { container, .. } if container.running()),
        )
        .await;
    }
    assert!(state.snapshot().services["app"].containers[0].running());

    stack
        .down(&DownOptions::default(), &Progress::default())
        .await
        .unwrap();
    drop(state);
    daemon.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

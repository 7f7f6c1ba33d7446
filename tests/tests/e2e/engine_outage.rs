//! The engine going away is a state of the live model, not a crash: it says so, retries with
//! backoff, and resyncs when the engine is back. The engine "goes away" here by closing a socket
//! proxy in front of the shared daemon, so no other test loses its engine.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_engine::{ChangeKind, Engine, EngineState, Stack, StateHandle};
use berth_tests::daemon::Daemon;
use berth_tests::stacks::{TestStack, engine_unavailable, load, next_change, resynced};
use berth_tests::{unique_project, workspace_binary};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

/// How long the model may take to report each step.
const LIMIT: Duration = Duration::from_secs(20);

/// A unix socket that forwards to the Docker daemon until it is shut.
struct Proxy {
    path: PathBuf,
    connections: JoinSet<()>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    fn new(path: &Path) -> Proxy {
        let mut proxy = Proxy {
            path: path.to_owned(),
            connections: JoinSet::new(),
            accept: None,
        };
        proxy.open();
        proxy
    }

    fn open(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).expect("bind the proxy socket");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<UnixStream>();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if tx.send(client).is_err() {
                    return;
                }
            }
        }));
        // Connections are forwarded from a task the proxy owns, so shutting it cuts them all.
        self.connections.spawn(async move {
            let mut forwards = JoinSet::new();
            while let Some(mut client) = rx.recv().await {
                forwards.spawn(async move {
                    if let Ok(mut daemon) = UnixStream::connect("/var/run/docker.sock").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut daemon).await;
                    }
                });
            }
        });
    }

    /// The engine is gone: no new connections, and every open one is cut.
    fn shut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.connections.abort_all();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_outage_is_reported_retried_and_resynced() {
    let t = TestStack::new(
        "outage",
        "services:\n  app:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n",
    )
    .await;
    t.up_wait().await;

    let socket = std::env::temp_dir().join(format!("{}.sock", t.name));
    let mut proxy = Proxy::new(&socket);
    let engine = Engine::connect_to(&format!("unix://{}", socket.display()))
        .await
        .expect("connect through the proxy");
    let stack = Stack::new(engine, load(&t.dir, &t.name));
    let state: StateHandle = stack.watch();
    let (synced, mut changes) = state.subscribe().await;
    assert_eq!(synced.engine, EngineState::Available);
    assert!(state.snapshot().services["app"].containers[0].running());

    proxy.shut();
    engine_unavailable(&mut changes, LIMIT).await;
    assert!(matches!(
        state.snapshot().engine,
        EngineState::Unavailable { .. }
    ));

    // While the model cannot hear the engine, the container dies.
    let app = format!("{}-app-1", t.name);
    assert!(
        Command::new("docker")
            .args(["kill", &app])
            .output()
            .unwrap()
            .status
            .success()
    );

    proxy.open();
    let snapshot = resynced(&mut changes, LIMIT).await;
    assert_eq!(snapshot.engine, EngineState::Available);
    let app_state = &snapshot.services["app"].containers[0];
    assert_eq!(
        (app_state.state, app_state.exit_code),
        (berth_engine::ContainerState::Exited, 137)
    );

    // And it follows events again.
    assert!(
        Command::new("docker")
            .args(["start", &app])
            .output()
            .unwrap()
            .status
            .success()
    );
    next_change(
        &mut changes,
        "start after resync",
        LIMIT,
        |k| matches!(k, ChangeKind::Container { container, .. } if container.running()),
    )
    .await;
    proxy.shut();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_goes_away_during_up_wait_is_named_with_what_to_do() {
    let name = unique_project("outage-wait");
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut daemon, _) = Daemon::start(&dir).await;
    daemon.load("berth-test/busybox:1");
    // Never healthy: `up --wait` is still waiting when the engine goes. It ignores SIGTERM, so
    // the daemon, stopping, closes its API before this container ends.
    let yaml = "services:\n  app:\n    image: berth-test/busybox:1\n    \
                command: [sh, -c, \"trap '' TERM; sleep 600\"]\n    stop_grace_period: 3s\n    \
                network_mode: none\n    healthcheck:\n      test: [CMD, 'false']\n      \
                interval: 1s\n      retries: 600\n";
    std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
    let host = Daemon::host(&dir);
    let mut child = Command::new(workspace_binary("berthctl"))
        .args(["-p", &name, "-f"])
        .arg(dir.join("compose.yaml"))
        .args(["up", "--wait"])
        .env("DOCKER_HOST", &host)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run berthctl up --wait");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let started = format!("Container {name}-app-1  Started");
    let mut said = String::new();
    while !said.contains(&started) {
        assert!(
            stderr.read_line(&mut said).unwrap() > 0,
            "berthctl ended before starting app:\n{said}"
        );
    }

    daemon.stop();
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("berthctl up --wait kept waiting for a stopped engine:\n{said}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "lost the connection to the Docker engine at {host}"
        )),
        "{said}"
    );
    assert!(said.contains("is it running?"), "{said}");
    for internal in ["hyper", "legacy client", "Connect)"] {
        assert!(
            !said.contains(internal),
            "{internal:?} reached the user:\n{said}"
        );
    }
}

//! Lifecycle markers on a real engine: what happened to each container (created, recreated,
//! started, health, exit, out of memory, a policy's restart, a start by the user after a crash, a
//! stop the user asked for) as lines
//! of their own in the session's hub, in order among the container's lines, and never in the
//! container's Docker logs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use berth_engine::logs::{self, Line, Marker};
use berth_engine::{EngineState, Progress, Session, SessionOptions, UpOptions};
use berth_tests::engine;
use berth_tests::stacks::{TestStack, load};
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;

fn yaml(round: u32) -> String {
    format!(
        r#"
services:
  crash:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 1; echo going down; exit 3"]
  flaky:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 1; exit 4"]
    restart: on-failure:1
  sick:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      timeout: 1s
      retries: 1
  hungry:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1"]
    mem_limit: 8m
  calm:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
    environment:
      ROUND: "{round}"
"#
    )
}

/// Every line the hub holds.
fn all_lines(session: &Session) -> Vec<Line> {
    session.hub().read(|s| {
        let positions: Vec<u64> = (s.first()..s.end()).collect();
        logs::lines(s, &positions, None)
    })
}

/// The marker kinds of each service, in the hub's order.
fn markers(lines: &[Line]) -> BTreeMap<String, Vec<Marker>> {
    let mut by_service: BTreeMap<String, Vec<Marker>> = BTreeMap::new();
    for line in lines {
        if let Some(marker) = line.marker {
            by_service
                .entry(line.service.clone())
                .or_default()
                .push(marker);
        }
    }
    by_service
}

/// What the engine itself keeps of a container's output.
async fn docker_logs(id: &str) -> String {
    let options = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
    let engine = engine().await;
    let mut frames = engine.docker().logs(id, Some(options));
    let mut out = String::new();
    while let Some(frame) = frames.next().await {
        out.push_str(&frame.expect("the engine reads the logs").to_string());
    }
    out
}

#[tokio::test]
async fn markers_say_what_happened_in_order_and_never_reach_docker_logs() {
    use Marker::*;
    let mut stack = TestStack::new("markers", &yaml(1)).await;
    let options = SessionOptions {
        follow_logs: true,
        ..SessionOptions::default()
    };
    let session = Session::open(Some(load(&stack.dir, &stack.name)), options);
    // Listed before anything happens: every event from here on is the session's.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(
        session.known().1.map(|s| s.engine),
        Some(EngineState::Available)
    ) {
        assert!(Instant::now() < deadline, "the session never listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.up(UpOptions::default()).await.expect("up");
    let want_first: BTreeMap<String, Vec<Marker>> = [
        ("calm", vec![Created, Started]),
        ("crash", vec![Created, Started, Crashed]),
        ("flaky", vec![Created, Started, Crashed, Restarted, Crashed]),
        ("hungry", vec![Created, Started, OutOfMemory]),
        ("sick", vec![Created, Started, Unhealthy]),
    ]
    .into_iter()
    .map(|(s, m)| (s.to_owned(), m))
    .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while markers(&all_lines(&session)) != want_first {
        assert!(
            Instant::now() < deadline,
            "markers: {:#?}",
            markers(&all_lines(&session))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Started again by the user after its crash, not by a restart policy: "started".
    let crash = format!("{}-crash-1", stack.name);
    let started = std::process::Command::new("docker")
        .args(["start", &crash])
        .output()
        .expect("docker start");
    assert!(started.status.success(), "{started:?}");
    let want_crash = vec![Created, Started, Crashed, Started, Crashed];
    let deadline = Instant::now() + Duration::from_secs(30);
    while markers(&all_lines(&session)).get("crash") != Some(&want_crash) {
        assert!(
            Instant::now() < deadline,
            "markers: {:#?}",
            markers(&all_lines(&session))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let progress = Progress::default();
    stack
        .stack
        .stop(&["calm".to_owned()], &progress)
        .await
        .expect("stop calm");
    stack.rewrite(&yaml(2));
    let only_calm = UpOptions {
        services: vec!["calm".to_owned()],
        ..UpOptions::default()
    };
    stack.up(only_calm).await.expect("up after the change");
    let want_calm = vec![Created, Started, Stopped, Recreated, Started];
    let deadline = Instant::now() + Duration::from_secs(30);
    while markers(&all_lines(&session)).get("calm") != Some(&want_calm) {
        assert!(
            Instant::now() < deadline,
            "markers: {:#?}",
            markers(&all_lines(&session))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let lines = all_lines(&session);
    let text_of = |service: &str, marker: Marker| -> String {
        lines
            .iter()
            .find(|l| l.service == service && l.marker == Some(marker))
            .map(|l| l.text.clone())
            .unwrap()
    };
    assert_eq!(text_of("crash", Crashed), "exited (3)");
    assert!(text_of("hungry", OutOfMemory).contains("out of memory"));
    assert_eq!(text_of("sick", Unhealthy), "unhealthy");
    assert_eq!(text_of("calm", Stopped), "stopped by the user");
    assert_eq!(
        text_of("calm", Recreated),
        "recreated (image berth-test/busybox:1)"
    );
    // Each marker is stamped with its event's time and sorts among its container's lines: the
    // crash's last words come before its exit.
    let pos = |pred: &dyn Fn(&Line) -> bool| lines.iter().position(pred).unwrap();
    assert!(
        pos(&|l| l.service == "crash" && l.text == "going down")
            < pos(&|l| l.service == "crash" && l.marker == Some(Crashed))
    );
    for l in lines.iter().filter(|l| l.marker.is_some()) {
        assert_eq!(l.stream, logs::Stream::Berth);
        assert!(
            l.container.starts_with(&stack.name) && !l.container.contains('_'),
            "the container's own name: {}",
            l.container
        );
    }
    // Berth adds nothing to the containers' own logs.
    for c in stack.containers().await {
        let logged = docker_logs(&c.id).await;
        for marker_line in lines.iter().filter(|l| l.marker.is_some()) {
            assert!(
                !logged.contains(&marker_line.text),
                "{} has {:?} in its Docker logs",
                c.name,
                marker_line.text
            );
        }
    }
}

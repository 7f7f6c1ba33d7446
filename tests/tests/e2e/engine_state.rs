//! The live state model: a snapshot, then every change Docker's event stream reports, in order.

use std::process::Command;
use std::time::Duration;

use berth_engine::{ChangeKind, ContainerState, Desired, EngineState};
use berth_tests::docker;
use berth_tests::stacks::{TestStack, next_change};

const YAML: &str = r#"
services:
  web:
    image: berth-test/nginx:1
    ports: ["80"]
  worker:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    deploy: { replicas: 2 }
"#;

#[tokio::test]
async fn a_docker_kill_reaches_subscribers_as_an_ordered_change() {
    let t = TestStack::new("state", YAML).await;
    t.up_wait().await;
    let state = t.stack.watch();
    let (snapshot, mut changes) = state.subscribe().await;
    assert_eq!(snapshot.project, t.name);
    let mut seq = snapshot.seq;
    let mut next = async || {
        let change = tokio::time::timeout(Duration::from_secs(10), changes.recv())
            .await
            .expect("a change within 10 s")
            .expect("the model runs");
        assert_eq!(change.seq, seq + 1, "changes arrive in order, without gaps");
        seq = change.seq;
        change
    };
    // The first snapshot is the first listing's, not the empty model's.
    assert_eq!(snapshot.engine, EngineState::Available);
    let web = &snapshot.services["web"];
    assert_eq!(web.containers.len(), 1);
    let publisher = &web.containers[0].ports[0];
    assert_eq!(publisher.container_port, 80);
    assert_eq!(
        publisher.url.as_deref(),
        Some(format!("http://localhost:{}", publisher.host_port).as_str())
    );
    assert_eq!(snapshot.services["worker"].containers.len(), 2);
    assert_eq!(
        snapshot.services["worker"].desired,
        berth_engine::Desired::Running { replicas: 2 }
    );

    let victim = format!("{}-worker-2", t.name);
    let killed = Command::new("docker")
        .args(["kill", &victim])
        .output()
        .unwrap();
    assert!(killed.status.success());
    loop {
        if let ChangeKind::Container { container, .. } = next().await.kind
            && container.name == victim
            && container.state == ContainerState::Exited
        {
            assert_eq!(container.exit_code, 137);
            break;
        }
    }
    let now = state.snapshot();
    let worker = &now.services["worker"].containers;
    assert_eq!(worker.iter().filter(|c| c.running()).count(), 1);

    // The project's images are followed too.
    let alias = format!("berth-test/{}:alias", t.name);
    Command::new("docker")
        .args(["tag", "berth-test/busybox:1", &alias])
        .output()
        .unwrap();
    loop {
        if let ChangeKind::Resource {
            resource, action, ..
        } = next().await.kind
            && resource == "image"
            && action == "tag"
        {
            break;
        }
    }
    Command::new("docker")
        .args(["rmi", &alias])
        .output()
        .unwrap();

    // Removal is a change too.
    Command::new("docker")
        .args(["rm", &victim])
        .output()
        .unwrap();
    loop {
        if let ChangeKind::ContainerRemoved { name, .. } = next().await.kind
            && name == victim
        {
            break;
        }
    }
    assert_eq!(state.snapshot().services["worker"].containers.len(), 1);
}

const INTENT: &str = r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
  crash:
    image: berth-test/busybox:1
    # Exits 3 by itself once told to (the exec is not a stop request).
    command: ["sh", "-c", "while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 3"]
  hog:
    image: berth-test/busybox:1
    mem_limit: 8m
    # Grows past its memory limit once told to.
    command: ["sh", "-c", "while [ ! -f /tmp/go ]; do sleep 0.1; done; a=aaaaaaaa; while :; do a=$$a$$a; done"]
"#;

/// The container's record once Docker reports it exited.
async fn exited(
    changes: &mut tokio::sync::broadcast::Receiver<berth_engine::Change>,
    name: &str,
) -> berth_engine::Container {
    let kind = next_change(changes, &format!("exit of {name}"), LIMIT, |k| {
        matches!(k, ChangeKind::Container { container, .. }
            if container.name == name && container.state == ContainerState::Exited)
    })
    .await;
    let ChangeKind::Container { container, .. } = kind else {
        unreachable!()
    };
    *container
}

async fn desired(
    changes: &mut tokio::sync::broadcast::Receiver<berth_engine::Change>,
    service: &str,
    want: Desired,
) {
    next_change(changes, &format!("{service} desired {want:?}"), LIMIT, |k| {
        matches!(k, ChangeKind::Desired { service: s, desired } if s == service && *desired == want)
    })
    .await;
}

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn each_exit_says_whether_it_was_asked_for_and_desired_follows_the_user() {
    let t = TestStack::new("intent", INTENT).await;
    t.up_wait().await;
    let state = t.stack.watch();
    let (synced, mut changes) = state.subscribe().await;
    assert_eq!(synced.engine, EngineState::Available);
    let running = Desired::Running { replicas: 1 };
    let stopped = Desired::Stopped { replicas: 1 };
    assert_eq!(state.snapshot().services["web"].desired, running);
    let web = format!("{}-web-1", t.name);
    let crash = format!("{}-crash-1", t.name);

    docker(&["stop", "-t", "1", &web]);
    let c = exited(&mut changes, &web).await;
    assert!(c.stop_requested, "docker stop is a requested stop");
    desired(&mut changes, "web", stopped).await;

    docker(&["start", &web]);
    desired(&mut changes, "web", running).await;
    let now = state.snapshot();
    assert!(
        !now.services["web"].containers[0].stop_requested,
        "start clears it"
    );

    let web_only = ["web".to_owned()];
    let progress = berth_engine::Progress::default();
    t.stack.stop(&web_only, &progress).await.unwrap();
    assert!(
        exited(&mut changes, &web).await.stop_requested,
        "Berth's stop"
    );
    desired(&mut changes, "web", stopped).await;
    t.stack.start(&web_only, &progress).await.unwrap();
    desired(&mut changes, "web", running).await;

    docker(&["kill", &web]);
    let c = exited(&mut changes, &web).await;
    assert!(c.stop_requested && c.exit_code == 137, "docker kill: {c:?}");
    desired(&mut changes, "web", stopped).await;

    docker(&["exec", &crash, "touch", "/tmp/go"]);
    let c = exited(&mut changes, &crash).await;
    assert_eq!(c.exit_code, 3);
    assert!(
        !c.stop_requested,
        "exiting by itself is not a requested stop"
    );
    assert!(!c.oom_killed);
    assert_eq!(
        state.snapshot().services["crash"].desired,
        running,
        "a crashed service is still wanted running"
    );

    let hog = format!("{}-hog-1", t.name);
    docker(&["exec", &hog, "touch", "/tmp/go"]);
    let c = exited(&mut changes, &hog).await;
    assert!(c.oom_killed && !c.stop_requested, "out of memory: {c:?}");

    // A model started now learns who stopped what from the engine's recent events.
    let later = t.stack.watch();
    let (snapshot, _) = later.subscribe().await;
    assert!(snapshot.services["web"].containers[0].stop_requested);
    assert_eq!(snapshot.services["web"].desired, stopped);
    assert!(!snapshot.services["crash"].containers[0].stop_requested);
    assert_eq!(snapshot.services["crash"].desired, running);
}

const WORDS: &str = r#"
services:
  web:
    image: berth-test/busybox:1
    # Ends on TERM at once, and by itself with code 3 when sent USR1.
    command: ["sh", "-c", "trap 'exit 0' TERM; trap 'exit 3' USR1; while :; do sleep 0.2; done"]
  cache:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
"#;

/// The STATUS cell of `berthctl ps -a` for `container`.
fn ps_status(t: &TestStack, container: &str) -> String {
    let table = String::from_utf8(berth_tests::berthctl_ok(&t.name, &t.file(), &["ps", "-a"]))
        .expect("UTF-8");
    let header = table.lines().next().expect("a header");
    let (from, to) = (
        header.find("STATUS").expect("a STATUS column"),
        header.find("PORTS").expect("a PORTS column"),
    );
    let row = table
        .lines()
        .find(|l| l.starts_with(container))
        .unwrap_or_else(|| panic!("no row for {container}:\n{table}"));
    row.get(from..to.min(row.len()))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The label the engine gives `service` in the state model's snapshot: what the window, the
/// tray and notifications print (they read it from the same snapshot, src-tauri/src/view.rs).
async fn label(t: &TestStack, service: &str, want: &str) -> String {
    let state = t.stack.watch();
    let (_, mut changes) = state.subscribe().await;
    let status = || state.snapshot().services[service].status();
    while status().label != want {
        next_change(&mut changes, &format!("{service} {want}"), LIMIT, |_| true).await;
    }
    let status = status();
    assert_eq!(
        status.problem.is_some(),
        want != "stopped",
        "only a crash needs attention: {status:?}"
    );
    status.label
}

#[tokio::test]
async fn a_stop_you_asked_for_reads_stopped_and_a_crash_its_exit_code_in_every_surface() {
    let t = TestStack::new("words", WORDS).await;
    t.up_wait().await;
    let web = format!("{}-web-1", t.name);

    berth_tests::berthctl_ok(&t.name, &t.file(), &["stop", "web"]);
    // At once: ps learns of the stop from the engine's events of this very second.
    let ps = ps_status(&t, &web);
    assert_eq!(ps, label(&t, "web", "stopped").await);

    berth_tests::berthctl_ok(&t.name, &t.file(), &["start", "web"]);
    docker(&["kill", "-s", "USR1", &web]);
    docker(&["wait", &web]);
    let crashed = label(&t, "web", "exited (3)").await;
    assert_eq!(ps_status(&t, &web), crashed);
}

#[tokio::test]
async fn after_a_reload_the_services_new_image_is_followed() {
    let mut t = TestStack::new(
        "state-image",
        "services:\n  web:\n    image: berth-test/busybox:1\n",
    )
    .await;
    let state = t.stack.watch();
    let (_, mut changes) = state.subscribe().await;
    let image = format!("berth-test/{}:new", t.name);
    t.rewrite(&format!("services:\n  web:\n    image: {image}\n"));
    state.set_project(t.stack.project());
    next_change(&mut changes, "the reload", Duration::from_secs(5), |k| {
        matches!(k, ChangeKind::Project)
    })
    .await;

    /// Removes the tag however the test ends.
    struct Untag(String);
    impl Drop for Untag {
        fn drop(&mut self) {
            let _ = Command::new("docker").args(["rmi", &self.0]).output();
        }
    }
    // Another image than busybox's: only its new name can make it the project's.
    let _untag = Untag(image.clone());
    let tagged = Command::new("docker")
        .args(["tag", "berth-test/redis:1", &image])
        .status()
        .unwrap();
    assert!(tagged.success());
    next_change(
        &mut changes,
        "the new image's tag",
        Duration::from_secs(10),
        |k| {
            matches!(k, ChangeKind::Resource { resource, action, .. }
            if resource == "image" && action == "tag")
        },
    )
    .await;
}

//! The live state model: a snapshot, then every change Docker's event stream reports, in order.

use std::process::Command;
use std::time::Duration;

use berth_engine::{ChangeKind, EngineState};
use berth_tests::stacks::TestStack;

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
    let (snapshot, mut changes) = state.subscribe();
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
    if snapshot.engine != EngineState::Available {
        assert!(matches!(
            next().await.kind,
            ChangeKind::Engine {
                state: EngineState::Available
            }
        ));
    }
    let synced = state.snapshot();
    let web = &synced.services["web"];
    assert_eq!(web.containers.len(), 1);
    let publisher = &web.containers[0].ports[0];
    assert_eq!(publisher.container_port, 80);
    assert_eq!(
        publisher.url.as_deref(),
        Some(format!("http://localhost:{}", publisher.host_port).as_str())
    );
    assert_eq!(synced.services["worker"].containers.len(), 2);
    assert_eq!(
        synced.services["worker"].desired,
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
            && container.state == "exited"
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

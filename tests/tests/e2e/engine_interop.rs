//! Berth and the real `docker compose` manage the same stacks: each sees, controls and takes
//! down what the other started, because both use compose's names and labels.

use berth_engine::{DownOptions, Progress, Stack, UpOptions};
use berth_tests::compose::ComposeProject;
use berth_tests::stacks::{Cleanup, load};
use berth_tests::{engine, fixture, unique_project};
use serde_json::Value;

fn berthctl(name: &str, file: &std::path::Path, args: &[&str]) -> String {
    String::from_utf8(berth_tests::berthctl_ok(name, file, args)).expect("UTF-8 output")
}

/// The fields both `ps --format json` must agree on, one line per container, sorted.
fn ps_fields(json_lines: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = json_lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON object per line");
            let mut publishers = v["Publishers"].as_array().cloned().unwrap_or_default();
            publishers.sort_by_key(|p| p.to_string());
            serde_json::json!({
                "Name": v["Name"], "Service": v["Service"], "State": v["State"],
                "Health": v["Health"], "ExitCode": v["ExitCode"], "Project": v["Project"],
                "Publishers": publishers,
            })
        })
        .collect();
    rows.sort_by_key(|v| v["Name"].to_string());
    rows
}

#[tokio::test]
async fn berth_sees_controls_and_takes_down_a_stack_docker_compose_started() {
    let name = unique_project("from-compose");
    let file = fixture("stack/compose.yaml");
    let compose = ComposeProject::new(&name, &file);
    compose.run(&["up", "-d", "--wait", "--quiet-pull"]);

    let theirs = ps_fields(&compose.stdout(&["ps", "--format", "json"]));
    let ours = ps_fields(&berthctl(&name, &file, &["ps", "--format", "json"]));
    assert_eq!(theirs.len(), 4);
    assert_eq!(ours, theirs);

    // `berthctl ls` discovers the project compose started.
    let listed = berthctl(&name, &file, &["ls", "--format", "json"]);
    let found: Vec<Value> = serde_json::from_str(&listed).expect("a JSON array");
    let mine = found
        .iter()
        .find(|p| p["Name"] == name.as_str())
        .expect("listed");
    assert_eq!(mine["Status"], "running(4)");

    // Unchanged: Berth's up leaves compose's containers alone.
    let stack = Stack::new(engine().await, load(&fixture("stack"), &name));
    let ids = |cs: Vec<berth_engine::Container>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let before = ids(stack.ps(true).await.unwrap());
    stack
        .up(&UpOptions::default(), &Progress::default())
        .await
        .expect("up");
    assert_eq!(
        ids(stack.ps(true).await.unwrap()),
        before,
        "Berth recreated compose's containers"
    );

    // A one-off `run` container is part of the project for Berth too.
    compose.run(&["run", "-d", "--no-deps", "redis", "sleep", "600"]);
    let all = stack.ps(true).await.unwrap();
    assert!(
        all.iter().any(|c| c.oneoff && c.service == "redis"),
        "{all:?}"
    );

    // Berth stops and starts one of compose's services.
    berthctl(&name, &file, &["stop", "redis"]);
    let redis: Vec<_> = stack
        .ps(true)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.service == "redis" && !c.oneoff)
        .collect();
    assert_eq!(redis[0].state, berth_engine::ContainerState::Exited);
    berthctl(&name, &file, &["start", "redis"]);

    berthctl(&name, &file, &["down", "-v"]);
    assert_eq!(compose.stdout(&["ps", "-a", "-q"]).trim(), "");
    assert!(stack.ps(true).await.unwrap().is_empty());
}

#[tokio::test]
async fn docker_compose_sees_and_takes_down_a_stack_berth_started() {
    let name = unique_project("from-berth");
    let file = fixture("stack/compose.yaml");
    let _cleanup = Cleanup(name.clone());
    berthctl(&name, &file, &["up", "-d", "--wait"]);

    let compose = ComposeProject::new(&name, &file);
    let theirs = ps_fields(&compose.stdout(&["ps", "--format", "json"]));
    let ours = ps_fields(&berthctl(&name, &file, &["ps", "--format", "json"]));
    assert_eq!(theirs.len(), 4);
    assert!(
        theirs.iter().all(|c| c["Health"] == "healthy"),
        "{theirs:?}"
    );
    assert_eq!(ours, theirs);

    // Same config hashes: compose's own `up` sees nothing to recreate.
    let ids = compose.stdout(&["ps", "-q"]);
    let up = compose.run(&["up", "-d"]);
    assert_eq!(
        compose.stdout(&["ps", "-q"]),
        ids,
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );

    let logs = compose.stdout(&["logs", "--no-log-prefix", "redis"]);
    assert!(logs.contains("Ready to accept connections"), "{logs}");

    compose.run(&["down", "-v"]);
    let docker = engine().await;
    let stack = Stack::new(docker, load(&fixture("stack"), &name));
    assert!(stack.ps(true).await.unwrap().is_empty());
    let network = stack
        .engine()
        .docker()
        .inspect_network(&format!("{name}_web"), None)
        .await;
    assert!(network.is_err(), "compose left Berth's network");
}

#[tokio::test]
async fn orphans_are_reported_and_removed_on_request() {
    let name = unique_project("orphans");
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = Cleanup(name.clone());
    let both = "services:\n  keep:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n  \
                gone:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n";
    std::fs::write(dir.join("compose.yaml"), both).unwrap();
    let compose = ComposeProject::new(&name, dir.join("compose.yaml"));
    compose.run(&["up", "-d"]);

    let one = &both[..both.find("  gone:").unwrap()];
    std::fs::write(dir.join("compose.yaml"), one).unwrap();
    let stack = Stack::new(engine().await, load(&dir, &name));
    let (progress, mut rx) = Progress::channel();
    stack.up(&UpOptions::default(), &progress).await.unwrap();
    drop(progress);
    let mut warned = false;
    while let Some(e) = rx.recv().await {
        warned |= matches!(e, berth_engine::ProgressEvent::Warning { message } if message.contains("orphan"));
    }
    assert!(warned, "no orphan warning");
    assert!(
        stack
            .ps(true)
            .await
            .unwrap()
            .iter()
            .any(|c| c.service == "gone")
    );

    let down = DownOptions {
        remove_orphans: true,
        ..Default::default()
    };
    stack.down(&down, &Progress::default()).await.unwrap();
    assert!(stack.ps(true).await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

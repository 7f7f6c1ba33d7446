//! Config drift on the real engine: after an edit of the files, the state model calls "config
//! changed" exactly the services whose containers `docker compose up` would recreate, and `up`
//! of one such service clears it for that service alone.

use std::collections::BTreeSet;
use std::time::Duration;

use berth_engine::{ChangeKind, Progress, StateHandle, UpOptions};
use berth_tests::compose::ComposeProject;
use berth_tests::stacks::{TestStack, load, next_change};

const YAML: &str = r#"
services:
  env:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    environment: { VERSION: "1" }
  ports:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    ports: ["127.0.0.1::8080"]
  cmd:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
  img:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
  same:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on: [env]
"#;

/// Each kind of edit on its own service; `same` is left as it was.
fn edited() -> String {
    YAML.replace("VERSION: \"1\"", "VERSION: \"2\"")
        .replace("127.0.0.1::8080", "127.0.0.1::8081")
        .replacen(
            "  cmd:\n    image: berth-test/busybox:1\n    command: [\"sleep\", \"600\"]",
            "  cmd:\n    image: berth-test/busybox:1\n    command: [\"sleep\", \"700\"]",
            1,
        )
        .replace(
            "  img:\n    image: berth-test/busybox:1",
            "  img:\n    image: berth-test/nginx:1",
        )
}

/// The services the state model calls "config changed" now.
fn drifted(state: &StateHandle) -> BTreeSet<String> {
    state
        .snapshot()
        .services
        .into_iter()
        .filter(|(_, s)| s.status().config_changed)
        .map(|(name, _)| name)
        .collect()
}

/// The services whose containers `docker compose up -d --dry-run` says it would recreate.
fn compose_recreates(compose: &ComposeProject) -> BTreeSet<String> {
    let output = compose.run(&["up", "-d", "--dry-run"]);
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    let prefix = format!("{}-", compose.name);
    text.lines()
        .filter(|l| l.trim_end().ends_with(" Recreate"))
        .filter_map(|l| {
            let name = l.split_whitespace().find(|w| w.starts_with(&prefix))?;
            let service = name.strip_prefix(&prefix)?.rsplit_once('-')?.0;
            Some(service.to_owned())
        })
        .collect()
}

/// Waits until the model's drifted services are `want`, or panics with what they were.
async fn until_drifted(state: &StateHandle, want: &[&str]) {
    let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = drifted(state);
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "drifted: {now:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn berth_calls_drifted_what_compose_would_recreate_and_up_of_one_clears_it() {
    let mut t = TestStack::new("drift", YAML).await;
    let compose = ComposeProject::new(t.name.clone(), t.file());
    compose.run(&["up", "-d"]);
    let state = t.stack.watch();
    let (snapshot, mut changes) = state.subscribe().await;
    assert_eq!(snapshot.services.len(), 5);
    assert_eq!(drifted(&state), BTreeSet::new(), "compose's own containers");
    assert_eq!(compose_recreates(&compose), BTreeSet::new());

    t.rewrite(&edited());
    state.set_project(&load(&t.dir, &t.name));
    next_change(&mut changes, "the reload", Duration::from_secs(5), |k| {
        matches!(k, ChangeKind::Project)
    })
    .await;
    let berth = drifted(&state);
    assert_eq!(
        berth,
        ["cmd", "env", "img", "ports"].map(str::to_owned).into(),
        "env, ports, command and image edits drift; the untouched service does not"
    );
    assert_eq!(
        compose_recreates(&compose),
        berth,
        "compose recreates the same"
    );

    // `up` of one service (as `docker compose up -d env`) clears it alone.
    let before = t.ids().await;
    let opts = UpOptions {
        services: vec!["env".into()],
        ..UpOptions::default()
    };
    t.stack.up(&opts, &Progress::default()).await.unwrap();
    until_drifted(&state, &["cmd", "img", "ports"]).await;
    assert_eq!(
        compose_recreates(&compose),
        ["cmd", "img", "ports"].map(str::to_owned).into()
    );
    let after = t.ids().await;
    let changed: Vec<&String> = before
        .iter()
        .filter(|(name, id)| after.get(*name) != Some(*id))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        changed,
        [&format!("{}-env-1", t.name)],
        "only env's container"
    );

    // And compose's own recreate of one is seen the same way.
    compose.run(&["up", "-d", "img"]);
    until_drifted(&state, &["cmd", "ports"]).await;
    compose.run(&["up", "-d"]);
    until_drifted(&state, &[]).await;
}

#[tokio::test]
async fn only_services_whose_containers_exist_can_drift() {
    let mut t = TestStack::new("drift-created", YAML).await;
    let opts = UpOptions {
        services: vec!["cmd".into()],
        ..UpOptions::default()
    };
    t.stack.up(&opts, &Progress::default()).await.unwrap();
    let state = t.stack.watch();
    let (_, mut changes) = state.subscribe().await;
    t.rewrite(&edited());
    state.set_project(&load(&t.dir, &t.name));
    next_change(&mut changes, "the reload", Duration::from_secs(5), |k| {
        matches!(k, ChangeKind::Project)
    })
    .await;
    assert_eq!(drifted(&state), ["cmd".to_owned()].into());
}

#[tokio::test]
async fn a_removed_variable_or_label_drifts_and_up_recreates_it() {
    const BOTH: &str = r#"
services:
  env:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    environment: { KEEP: "1", GONE: "1" }
  label:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    labels: { keep: "1", gone: "1" }
"#;
    let mut t = TestStack::new("drift-removed", BOTH).await;
    t.up(UpOptions::default()).await.unwrap();
    let state = t.stack.watch();
    let (_, mut changes) = state.subscribe().await;
    t.rewrite(
        &BOTH
            .replace(", GONE: \"1\"", "")
            .replace(", gone: \"1\"", ""),
    );
    state.set_project(&load(&t.dir, &t.name));
    next_change(&mut changes, "the reload", Duration::from_secs(5), |k| {
        matches!(k, ChangeKind::Project)
    })
    .await;
    let both: BTreeSet<String> = ["env", "label"].map(str::to_owned).into();
    assert_eq!(drifted(&state), both);
    let compose = ComposeProject::new(t.name.clone(), t.file());
    assert_eq!(compose_recreates(&compose), both, "compose recreates both");

    let before = t.ids().await;
    t.up(UpOptions::default()).await.unwrap();
    until_drifted(&state, &[]).await;
    let after = t.ids().await;
    assert!(
        before.iter().all(|(name, id)| after.get(name) != Some(id)),
        "up recreated both: {before:?} then {after:?}"
    );
    assert_eq!(compose_recreates(&compose), BTreeSet::new());
}

//! start, stop, restart, kill and rm of one service, through the API and through berthctl;
//! stop honours stop_signal and stop_grace_period.

use std::time::{Duration, Instant};

use berth_engine::{Container, ContainerState, Progress, RmOptions};
use berth_tests::stacks::TestStack;
use berth_tests::workspace_binary;

const TWO: &str = r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
  cache:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
"#;

async fn service(t: &TestStack, name: &str) -> Option<Container> {
    t.containers().await.into_iter().find(|c| c.service == name)
}

#[tokio::test]
async fn one_service_stops_starts_restarts_is_killed_and_removed_alone() {
    let t = TestStack::new("lifecycle", TWO).await;
    t.up_wait().await;
    let web = vec!["web".to_owned()];
    let p = Progress::default();

    t.stack.stop(&web, &p).await.unwrap();
    assert_eq!(
        service(&t, "web").await.unwrap().state,
        ContainerState::Exited
    );
    assert!(service(&t, "cache").await.unwrap().running());

    t.stack.start(&web, &p).await.unwrap();
    let started = service(&t, "web").await.unwrap();
    assert!(started.running());

    t.stack.restart(&web, &p).await.unwrap();
    let restarted = service(&t, "web").await.unwrap();
    assert!(restarted.running());
    assert!(restarted.started_at > started.started_at, "not restarted");

    t.stack.kill(&web, None, &p).await.unwrap();
    let killed = service(&t, "web").await.unwrap();
    assert_eq!(
        (killed.state, killed.exit_code),
        (ContainerState::Exited, 137)
    );
    assert!(service(&t, "cache").await.unwrap().running());

    t.stack.rm(&web, &RmOptions::default(), &p).await.unwrap();
    assert!(service(&t, "web").await.is_none());
    assert!(service(&t, "cache").await.unwrap().running());

    // rm without --stop leaves running containers; with it, removes them.
    let cache = vec!["cache".to_owned()];
    t.stack.rm(&cache, &RmOptions::default(), &p).await.unwrap();
    assert!(service(&t, "cache").await.is_some());
    let stop = RmOptions {
        stop: true,
        ..Default::default()
    };
    t.stack.rm(&cache, &stop, &p).await.unwrap();
    assert!(t.containers().await.is_empty());
}

#[tokio::test]
async fn stop_sends_the_stop_signal_and_kills_after_the_grace_period() {
    // `sh` as PID 1 ignores SIGTERM: only the stop signal it traps, or the kill after the grace
    // period, ends it.
    let yaml = r#"
services:
  graceful:
    image: berth-test/busybox:1
    entrypoint: ["sh", "-c"]
    command: ["trap 'exit 0' USR1; while true; do sleep 0.1; done"]
    stop_signal: SIGUSR1
    stop_grace_period: 30s
  stubborn:
    image: berth-test/busybox:1
    entrypoint: ["sh", "-c"]
    command: ["while true; do sleep 0.1; done"]
    stop_grace_period: 1s
"#;
    let t = TestStack::new("grace", yaml).await;
    t.up_wait().await;
    let p = Progress::default();

    let start = Instant::now();
    t.stack.stop(&["graceful".to_owned()], &p).await.unwrap();
    let took = start.elapsed();
    let graceful = service(&t, "graceful").await.unwrap();
    assert_eq!(graceful.exit_code, 0, "the stop signal did not reach it");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    let start = Instant::now();
    t.stack.stop(&["stubborn".to_owned()], &p).await.unwrap();
    let took = start.elapsed();
    assert_eq!(service(&t, "stubborn").await.unwrap().exit_code, 137);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "took {took:?}"
    );
}

fn berthctl(t: &TestStack, args: &[&str]) -> std::process::Output {
    berth_tests::berthctl(&t.name, &t.file(), args)
}

fn ok(t: &TestStack, args: &[&str]) -> String {
    let out = berthctl(t, args);
    assert!(
        out.status.success(),
        "berthctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn every_berthctl_command_acts_on_the_stack() {
    let t = TestStack::new("cli", TWO).await;
    let up = berthctl(&t, &["up", "-d", "--wait"]);
    assert!(up.status.success());
    let progress = String::from_utf8_lossy(&up.stderr);
    assert!(
        progress.contains(&format!("Container {}-web-1  Started", t.name)),
        "{progress}"
    );

    let table = ok(&t, &["ps"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");

    ok(&t, &["stop", "web"]);
    assert_eq!(ok(&t, &["ps"]).lines().count(), 2);
    assert_eq!(ok(&t, &["ps", "-a"]).lines().count(), 3);
    ok(&t, &["start", "web"]);
    ok(&t, &["restart", "web"]);
    assert!(service(&t, "web").await.unwrap().running());
    ok(&t, &["kill", "-s", "SIGKILL", "web"]);
    assert_eq!(service(&t, "web").await.unwrap().exit_code, 137);
    ok(&t, &["rm", "--force", "web"]);
    assert!(service(&t, "web").await.is_none());

    // No registry is reachable here: pull fails, naming the image and what to do.
    let pull = berthctl(&t, &["pull", "cache"]);
    let message = String::from_utf8_lossy(&pull.stderr);
    assert!(!pull.status.success());
    assert!(
        message.contains("berth-test/busybox:1") && message.contains("service cache"),
        "{message}"
    );

    // The engine checks a service's name once, for berthctl and the app alike, naming the fix.
    let unknown = berthctl(&t, &["stop", "nope"]);
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains(&format!(
            "no such service: nope\nThe services of {} are: cache, web",
            t.name
        )),
        "{message}"
    );

    ok(&t, &["down", "-v"]);
    assert!(t.containers().await.is_empty());
}

#[tokio::test]
async fn berthctl_build_builds_and_events_reports_a_kill() {
    let yaml = r#"
services:
  app:
    build: .
    command: ["sleep", "600"]
"#;
    let t = TestStack::new("cli-build", yaml).await;
    std::fs::write(
        t.dir.join("Dockerfile"),
        "FROM berth-test/busybox:1\nRUN echo built > /built\n",
    )
    .unwrap();
    let build = berthctl(&t, &["build"]);
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    assert!(String::from_utf8_lossy(&build.stderr).contains("RUN echo built"));
    ok(&t, &["up", "-d"]);

    let mut events = tokio::process::Command::new(workspace_binary("berthctl"))
        .args(["-p", &t.name, "-f"])
        .arg(t.file())
        .args(["events", "--json"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(events.stdout.take().unwrap()).lines();
    let snapshot: serde_json::Value =
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(snapshot["project"], t.name.as_str());
    // The first line is the model's first sync: the kill after it is a change, not history.
    assert_eq!(snapshot["engine"]["kind"], "available");
    ok(&t, &["kill", "app"]);
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let line = lines.next_line().await.unwrap().unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["kind"]["kind"] == "container" && v["kind"]["container"]["state"] == "exited" {
                return v;
            }
        }
    })
    .await
    .expect("events reported the kill");
    assert_eq!(found["kind"]["container"]["exit_code"], 137);
    let image = format!("{}-app", t.name);
    let force = bollard::query_parameters::RemoveImageOptions {
        force: true,
        ..Default::default()
    };
    ok(&t, &["down"]);
    let _ = t
        .stack
        .engine()
        .docker()
        .remove_image(&image, Some(force), None)
        .await;
}

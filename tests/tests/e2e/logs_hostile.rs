//! Hostile log content is stored as inert text, and `berthctl logs` prints exactly what
//! `docker compose logs` prints.

use std::time::{Duration, Instant};

use berth_engine::CancellationToken;
use berth_engine::logs::{self, FollowOptions, HubOptions, Level, Stream};
use berth_tests::compose::ComposeProject;
use berth_tests::{engine, fixture, unique_project};

/// Brings the hostile fixture up and waits until it has printed everything.
async fn hostile() -> ComposeProject {
    let compose = ComposeProject::new(unique_project("logs-hostile"), fixture("logs/hostile.yaml"));
    compose.run(&["up", "-d"]);
    let start = Instant::now();
    while !compose.stdout(&["logs"]).contains("after the long line") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the fixture never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    compose
}

fn berthctl(compose: &ComposeProject, fixture_name: &str, args: &[&str]) -> Vec<u8> {
    let logs = [&["logs"], args].concat();
    berth_tests::berthctl_ok(&compose.name, &fixture(fixture_name), &logs)
}

#[tokio::test]
async fn hostile_content_is_stored_as_inert_text() {
    let compose = hostile().await;
    let (hub, task) = logs::Hub::start(
        engine().await,
        compose.name.clone(),
        FollowOptions::default(),
        HubOptions::default(),
        CancellationToken::new(),
    );
    task.await.unwrap().expect("the hub reads the logs");
    let lines = hub.read(|s| logs::lines(s, &(s.first()..s.end()).collect::<Vec<_>>(), None));
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let long = "x".repeat(102_400);
    assert_eq!(
        texts,
        [
            "<img src=x onerror=alert(1)>",
            "moved title",
            "ERROR red and orange",
            // The json-file log driver already turned the invalid bytes into U+FFFD.
            "bad utf8 \u{fffd}\u{fffd} end",
            r#"{"level":"warn","msg":"json line"}"#,
            "carriagereturn",
            "tab\there   trailing spaces   ",
            "no newline at the end of this part but joined",
            &long,
            "after the long line",
        ]
    );
    assert!(
        lines
            .iter()
            .all(|l| l.stream == Stream::Stdout && l.service == "hostile")
    );
    // Only SGR survives, as spans; the cursor and title escapes left nothing.
    assert!(lines[1].spans.is_empty());
    assert_eq!(lines[2].level, Level::Error);
    assert_eq!(
        lines[2]
            .spans
            .iter()
            .map(|s| (s.start, s.end))
            .collect::<Vec<_>>(),
        [(0, 5), (14, 20)]
    );
    assert!(lines[4].json);
    assert_eq!(lines[4].level, Level::Warn);
    // The raw bytes are kept exactly, for exact output.
    hub.read(|s| {
        let pos = s.first() + 1;
        assert_eq!(
            s.raw(pos).unwrap(),
            b"\x1b[2J\x1b[H\x1b[10;20Hmoved\x1b]0;pwned\x07 title"
        );
    });
}

#[tokio::test]
async fn berthctl_logs_prints_what_docker_compose_logs_prints() {
    let compose = hostile().await;
    for args in [&["--no-log-prefix"][..], &[], &["--tail", "3"]] {
        let want = compose.run(&[&["logs"][..], args].concat()).stdout;
        assert_eq!(
            berthctl(&compose, "logs/hostile.yaml", args),
            want,
            "logs {args:?}"
        );
    }
    // A project of two services, stopped so both read the same lines; compose interleaves
    // containers as they come, so compare one service at a time.
    let numbered = ComposeProject::new(
        unique_project("logs-interop"),
        fixture("logs/numbered.yaml"),
    );
    numbered.run(&["up", "-d"]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    numbered.run(&["stop", "-t", "1"]);
    for service in ["alpha", "beta"] {
        let args = ["--no-log-prefix", service];
        let want = numbered.run(&[&["logs"][..], &args].concat()).stdout;
        assert!(!want.is_empty());
        assert_eq!(
            berthctl(&numbered, "logs/numbered.yaml", &args),
            want,
            "logs {args:?}"
        );
    }
    // --since and --until at a line's own timestamp (nanoseconds; the API takes seconds).
    let stamped = numbered.stdout(&["logs", "-t", "--no-log-prefix", "alpha"]);
    let fifth = stamped.lines().nth(4).expect("alpha printed lines");
    let (ts, _) = fifth.split_once(' ').expect("a timestamp");
    for flag in ["--since", "--until"] {
        let args = ["--no-log-prefix", flag, ts, "alpha"];
        let want = numbered.run(&[&["logs"][..], &args].concat()).stdout;
        assert!(!want.is_empty());
        assert_eq!(
            berthctl(&numbered, "logs/numbered.yaml", &args),
            want,
            "logs {args:?}"
        );
    }
    // --grep and --level filter on the text without escapes.
    let got = berthctl(
        &compose,
        "logs/hostile.yaml",
        &["--no-log-prefix", "--level", "warn"],
    );
    assert_eq!(
        got,
        b"\x1b[1;31mERROR\x1b[0m red and \x1b[38;5;208morange\x1b[m\n{\"level\":\"warn\",\"msg\":\"json line\"}\n"
    );
    let got = berthctl(
        &compose,
        "logs/hostile.yaml",
        &["--no-log-prefix", "--grep", "red and orange|onerror"],
    );
    assert_eq!(
        got,
        b"<img src=x onerror=alert(1)>\n\x1b[1;31mERROR\x1b[0m red and \x1b[38;5;208morange\x1b[m\n"
    );
}

#[tokio::test]
async fn a_tty_service_prints_the_same_too() {
    let compose = ComposeProject::new(unique_project("logs-tty"), fixture("logs/tty.yaml"));
    compose.run(&["up", "-d"]);
    let start = Instant::now();
    while !compose.stdout(&["logs"]).contains("more") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the fixture never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for args in [&["--no-log-prefix"][..], &[]] {
        let want = compose.run(&[&["logs"][..], args].concat()).stdout;
        assert_eq!(
            berthctl(&compose, "logs/tty.yaml", args),
            want,
            "logs {args:?}"
        );
    }
}

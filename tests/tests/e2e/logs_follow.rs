//! The log hub against a real engine: several services in timestamp order, following across
//! a restart, a recreate and a scale change without losing or repeating a line, and output that
//! never ends its line held in bounded memory.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_engine::CancellationToken;
use berth_engine::logs::{self, FollowOptions, Record, Stream};
use berth_tests::compose::ComposeProject;
use berth_tests::{engine, fixture, unique_project};
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// The number at the end of a numbered fixture line (`alpha 12`).
fn number(r: &Record) -> u64 {
    let text = std::str::from_utf8(&r.text).expect("fixture lines are UTF-8");
    let n = text.rsplit_once(' ').map(|(_, n)| n);
    n.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a numbered line: {text:?}"))
}

/// Every line the engine itself has for a container, as `(stream, text)`.
async fn engine_lines(id: &str) -> Vec<(Stream, Vec<u8>)> {
    let options = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
    let engine = engine().await;
    let mut frames = engine.docker().logs(id, Some(options));
    let mut out = Vec::new();
    while let Some(frame) = frames.next().await {
        let frame = frame.expect("the engine reads the container's logs");
        let stream = match frame {
            bollard::container::LogOutput::StdErr { .. } => Stream::Stderr,
            _ => Stream::Stdout,
        };
        let bytes = frame.into_bytes();
        out.push((stream, bytes.strip_suffix(b"\n").unwrap_or(&bytes).to_vec()));
    }
    out
}

#[tokio::test]
async fn lines_of_several_services_arrive_in_timestamp_order() {
    let compose = ComposeProject::new(unique_project("logs-order"), fixture("logs/numbered.yaml"));
    compose.run(&["up", "-d"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let engine = engine().await;
    let (tx, mut rx) = mpsc::channel(64);
    let options = FollowOptions::default();
    logs::follow(
        &engine,
        &compose.name,
        options,
        tx,
        CancellationToken::new(),
    )
    .await
    .expect("follow reads the backlog");
    let mut records = Vec::new();
    while let Some(batch) = rx.recv().await {
        records.extend(batch);
    }
    assert!(
        records.windows(2).all(|w| w[0].ts <= w[1].ts),
        "in timestamp order"
    );
    for (service, stream) in [("alpha", Stream::Stdout), ("beta", Stream::Stderr)] {
        let numbers: Vec<u64> = records
            .iter()
            .filter(|r| r.origin.service == service)
            .inspect(|r| assert_eq!(r.stream, stream))
            .map(number)
            .collect();
        assert!(numbers.len() >= 5, "{service}: {numbers:?}");
        assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>());
    }
    // Positions follow time in the hub's store, too.
    let (hub, task) = logs::Hub::start(
        engine,
        compose.name.clone(),
        FollowOptions {
            tail: Some(3),
            ..FollowOptions::default()
        },
        logs::HubOptions::default(),
        CancellationToken::new(),
    );
    task.await.unwrap().expect("the hub reads the tail");
    hub.read(|store| {
        assert_eq!(store.len(), 6, "three lines of each container");
        let ts: Vec<i64> = (0..6).map(|p| store.timestamp(p).unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    });
}

#[tokio::test]
async fn following_survives_restart_recreate_and_scale_without_loss_or_duplicates() {
    let compose = ComposeProject::new(unique_project("logs-follow"), fixture("logs/numbered.yaml"));
    compose.run(&["up", "-d"]);
    let engine = engine().await;
    let (tx, mut rx) = mpsc::channel::<Vec<Record>>(64);
    let cancel = CancellationToken::new();
    let reader = tokio::spawn({
        let (engine, name, cancel) = (engine.clone(), compose.name.clone(), cancel.clone());
        async move {
            let options = FollowOptions {
                follow: true,
                ..FollowOptions::default()
            };
            logs::follow(&engine, &name, options, tx, cancel).await
        }
    });
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(batch) = rx.recv().await {
            all.extend(batch);
        }
        all
    });
    let pause = || tokio::time::sleep(Duration::from_millis(1500));
    pause().await;
    compose.run(&["restart", "-t", "1", "alpha"]);
    pause().await;
    compose.run(&["up", "-d", "--force-recreate", "beta"]);
    pause().await;
    compose.run(&["up", "-d", "--scale", "alpha=2"]);
    pause().await;
    compose.run(&["stop", "-t", "1"]);
    pause().await;
    cancel.cancel();
    reader.await.unwrap().expect("following ends cleanly");
    let records = collector.await.unwrap();

    let mut by_container: BTreeMap<String, Vec<&Record>> = BTreeMap::new();
    for r in &records {
        by_container.entry(r.origin.id.clone()).or_default().push(r);
    }
    let names: Vec<&str> = by_container
        .values()
        .map(|v| v[0].origin.name.as_str())
        .collect();
    assert_eq!(
        by_container.len(),
        4,
        "alpha-1, alpha-2 and both beta-1s: {names:?}"
    );
    for lines in by_container.values() {
        let origin = &lines[0].origin;
        // Each container counts from 1, and a restarted one carries on: no gap, no repeat.
        let numbers: Vec<u64> = lines.iter().map(|r| number(r)).collect();
        assert_eq!(
            numbers,
            (1..=numbers.len() as u64).collect::<Vec<_>>(),
            "{} ({})",
            origin.name,
            origin.id
        );
        // And what was read is exactly what the engine kept, for the containers still there
        // (the first beta-1 was removed by the recreate).
        if engine
            .docker()
            .inspect_container(&origin.id, None)
            .await
            .is_ok()
        {
            let ours: Vec<(Stream, Vec<u8>)> =
                lines.iter().map(|r| (r.stream, r.text.clone())).collect();
            assert_eq!(ours, engine_lines(&origin.id).await, "{}", origin.name);
        }
    }
    let alpha1 = by_container
        .values()
        .find(|l| l[0].origin.name.ends_with("alpha-1"))
        .expect("alpha-1 was read");
    assert!(
        alpha1.len() > 20 + 5,
        "alpha-1 was read on both sides of its restart"
    );
}

#[tokio::test]
async fn following_from_the_tail_reads_only_what_comes_after_it() {
    let compose = ComposeProject::new(unique_project("logs-tail"), fixture("logs/numbered.yaml"));
    compose.run(&["up", "-d"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let engine = engine().await;
    for tail in [0, 2] {
        let (tx, mut rx) = mpsc::channel::<Vec<Record>>(64);
        let cancel = CancellationToken::new();
        let options = FollowOptions {
            tail: Some(tail),
            follow: true,
            services: vec!["alpha".into()],
            ..FollowOptions::default()
        };
        let reader = tokio::spawn({
            let (engine, name, cancel) = (engine.clone(), compose.name.clone(), cancel.clone());
            async move { logs::follow(&engine, &name, options, tx, cancel).await }
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cancel.cancel();
        reader.await.unwrap().expect("following ends cleanly");
        let mut numbers = Vec::new();
        while let Some(batch) = rx.recv().await {
            numbers.extend(batch.iter().map(number));
        }
        // alpha printed 20 lines at once and one per 0.2 s since: the first line read is
        // recent, and from there nothing is skipped or repeated.
        assert!(numbers.len() >= 4, "tail {tail}: {numbers:?}");
        assert!(numbers[0] > 20, "tail {tail}: started at {}", numbers[0]);
        let want: Vec<u64> = (numbers[0]..numbers[0] + numbers.len() as u64).collect();
        assert_eq!(numbers, want, "tail {tail}");
    }
}

#[tokio::test]
async fn a_hub_subscriber_receives_live_lines_of_every_service() {
    let compose = ComposeProject::new(unique_project("logs-hub"), fixture("logs/numbered.yaml"));
    compose.run(&["up", "-d"]);
    let cancel = CancellationToken::new();
    let (hub, task) = logs::Hub::start(
        engine().await,
        compose.name.clone(),
        FollowOptions {
            tail: Some(0),
            follow: true,
            ..FollowOptions::default()
        },
        logs::HubOptions::default(),
        cancel.clone(),
    );
    let mut live = hub.subscribe(logs::Filter::default());
    let mut seen = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.len() < 2 {
        let delivery = tokio::time::timeout_at(deadline, live.recv())
            .await
            .expect("live lines of both services within 10 s")
            .expect("the hub runs");
        let logs::Delivery::Lines { lines, .. } = delivery else {
            panic!("a fast subscriber misses nothing: {delivery:?}");
        };
        seen.extend(lines.into_iter().map(|l| l.service));
    }
    cancel.cancel();
    task.await.unwrap().expect("the hub stops cleanly");
}

#[tokio::test]
async fn berthctl_logs_follow_prints_new_lines_until_interrupted() {
    let compose = ComposeProject::new(unique_project("logs-cli"), fixture("logs/numbered.yaml"));
    compose.run(&["up", "-d"]);
    let child = std::process::Command::new(berth_tests::workspace_binary("berthctl"))
        .args(["-p", &compose.name, "-f"])
        .arg(fixture("logs/numbered.yaml"))
        .args(["logs", "--follow", "--no-log-prefix", "alpha"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("berthctl runs");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let numbers: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.strip_prefix("alpha ").unwrap().parse().unwrap())
        .collect();
    assert!(
        numbers.len() > 25,
        "the burst and then live lines: {numbers:?}"
    );
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>());
}

/// This process's resident memory now and the most it had since [`reset_peak`], in bytes.
fn resident() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).expect(name);
        let kb: usize = line[name.len()..]
            .trim()
            .trim_end_matches(" kB")
            .parse()
            .expect(name);
        kb << 10
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts the peak of [`resident`] again from now (Linux `clear_refs`).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident memory");
}

/// A `\r` progress bar never ends its line: 160 MiB of it, then a 16 KiB part every 0.2 s. The
/// hub shows it while it runs, in parts no longer than an eighth of the budget, and neither
/// the parts waiting for their end nor the store outgrow the budget. (Memory is the process's:
/// nextest runs each test in a process of its own.)
#[tokio::test]
async fn a_line_that_never_ends_shows_in_bounded_parts_within_the_budget() {
    let compose = ComposeProject::new(
        unique_project("logs-progress"),
        fixture("logs/progress.yaml"),
    );
    let budget = 8 << 20;
    let engine = engine().await;
    compose.run(&["up", "-d"]);
    reset_peak();
    let (before, _) = resident();
    let cancel = CancellationToken::new();
    let (hub, task) = logs::Hub::start(
        engine,
        compose.name.clone(),
        FollowOptions {
            follow: true,
            ..FollowOptions::default()
        },
        logs::HubOptions {
            budget,
            ..logs::HubOptions::default()
        },
        cancel.clone(),
    );
    // The ticks come after the burst: once one shows, the burst has been read.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let ticking = |s: &logs::Store| {
        s.end() > 0 && s.text(s.end() - 1).is_some_and(|t| t.starts_with(b"tick"))
    };
    while !hub.read(ticking) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing of the progress bar shown within 60 s: {} lines, {} MiB held meanwhile",
            hub.read(logs::Store::end),
            resident().1.saturating_sub(before) >> 20
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peak = resident().1.saturating_sub(before);
    eprintln!(
        "resident memory grew by at most {:.1} MiB for 160 MiB of one line",
        peak as f64 / f64::from(1 << 20)
    );
    assert!(
        peak < 6 * budget,
        "resident memory grew by {} MiB",
        peak >> 20
    );
    hub.read(|s| {
        assert!(s.bytes() <= budget, "{} bytes held", s.bytes());
        assert!(
            s.end() >= 160,
            "160 MiB in parts of at most 1 MiB: {} lines",
            s.end()
        );
        for pos in s.first()..s.end() {
            let text = s.text(pos).unwrap();
            assert!(text.len() <= 1 << 20, "line {pos}: {} bytes", text.len());
            assert_eq!(s.partial(pos), Some(true), "line {pos} goes on in the next");
        }
    });
    cancel.cancel();
    task.await.unwrap().expect("the hub stops cleanly");
}

//! Stats against a real engine: a container burning CPU, compared with `docker stats` and with
//! the kernel's own account of the same container; the live handle following containers as they
//! start and stop, and releasing the engine's streams when the last subscriber goes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_engine::stats::{self, Stats, StatsSample};
use berth_engine::{Progress, UpOptions};
use berth_tests::berthctl_ok;
use berth_tests::stacks::TestStack;

/// Two busy loops: up to two CPUs' worth.
const BURN: &str = "services:
  burn:
    image: berth-test/busybox:1
    command: [sh, -c, 'while :; do :; done & while :; do :; done']
";

/// Two idle services, the second started later.
const IDLE: &str = "services:
  app:
    image: berth-test/busybox:1
    command: [sleep, '600']
  late:
    image: berth-test/busybox:1
    command: [sleep, '600']
";

/// How long a live sample may take to arrive (the engine sends one a second).
const LIMIT: Duration = Duration::from_secs(20);
/// How long CPU figures are averaged over.
const WINDOW: Duration = Duration::from_secs(6);

/// `docker stats --no-stream` of one container: CPU % and memory usage in bytes.
fn docker_stats(container: &str) -> (f64, f64) {
    let output = Command::new("docker")
        .args([
            "stats",
            "--no-stream",
            "--format",
            "{{.CPUPerc}}|{{.MemUsage}}",
        ])
        .arg(container)
        .output()
        .expect("run docker stats");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let (cpu, memory) = text.trim().split_once('|').expect("two fields");
    let cpu: f64 = cpu.trim_end_matches('%').parse().expect("a CPU percentage");
    let usage = memory.split(" / ").next().expect("usage / limit");
    (cpu, parse_binary_size(usage))
}

/// docker's `1.273MiB`.
fn parse_binary_size(text: &str) -> f64 {
    let at = text
        .find(|c: char| c.is_ascii_alphabetic())
        .expect("a unit");
    let (number, unit) = text.split_at(at);
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unexpected unit {other} in {text}"),
    };
    number.parse::<f64>().expect("a number") * scale
}

fn up_services(services: &[&str]) -> UpOptions {
    UpOptions {
        services: services.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// The CPU time the kernel has charged to a container's cgroup, in nanoseconds (cgroup v1 or
/// v2, as dockerd's cgroupfs driver lays them out).
fn kernel_cpu_ns(id: &str) -> u64 {
    let v1 = format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage");
    if let Ok(text) = std::fs::read_to_string(&v1) {
        return text.trim().parse().expect("cpuacct.usage is a number");
    }
    for v2 in [
        format!("/sys/fs/cgroup/docker/{id}/cpu.stat"),
        format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat"),
    ] {
        if let Ok(text) = std::fs::read_to_string(&v2) {
            let usec = text
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .expect("cpu.stat has usage_usec");
            return usec.parse::<u64>().expect("a number") * 1000;
        }
    }
    panic!("no cgroup CPU accounting found for container {id} (looked for {v1} and cgroup v2)");
}

/// `docker stats NAME`, streaming: each new CPU figure it prints, with when it was read.
struct DockerStream {
    child: Child,
    frames: Arc<Mutex<Vec<(Instant, f64)>>>,
}

impl DockerStream {
    fn start(container: &str) -> DockerStream {
        let mut child = Command::new("docker")
            .args(["stats", "--format", "{{.CPUPerc}}", container])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run docker stats");
        let stdout = child.stdout.take().unwrap();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let out = frames.clone();
        std::thread::spawn(move || {
            // It redraws the latest figures every 500 ms, with cursor movements between.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let text = without_escapes(&line);
                let Some(cpu) = text
                    .trim()
                    .strip_suffix('%')
                    .and_then(|c| c.parse::<f64>().ok())
                else {
                    continue;
                };
                let mut frames = out.lock().unwrap();
                // Before its second reading docker prints 0; a redraw repeats the last figure.
                if cpu > 0.0 && frames.last().is_none_or(|(_, last)| *last != cpu) {
                    frames.push((Instant::now(), cpu));
                }
            }
        });
        DockerStream { child, frames }
    }

    /// The mean of the figures read between `from` and `to`.
    fn mean(&self, from: Instant, to: Instant) -> f64 {
        let frames = self.frames.lock().unwrap();
        let inside: Vec<f64> = frames
            .iter()
            .filter(|(at, _)| (from..=to).contains(at))
            .map(|(_, cpu)| *cpu)
            .collect();
        assert!(inside.len() >= 3, "docker stats printed {frames:?}");
        inside.iter().sum::<f64>() / inside.len() as f64
    }
}

impl Drop for DockerStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line without its CSI escape sequences (ESC [ parameters, up to the final letter).
fn without_escapes(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burning_container_reads_as_docker_stats_and_the_kernel_read_it() {
    let stack = TestStack::new("stats-burn", BURN).await;
    stack.up(UpOptions::default()).await.unwrap();
    let engine = stack.stack.engine().clone();
    let name = format!("{}-burn-1", stack.name);
    let id = stack.ids().await[&name].clone();

    // Berth's feed and docker stats side by side, averaged over the same seconds, and the
    // kernel's own account of them: single one-second readings of a contended machine swing
    // too much to compare.
    let handle = Stats::spawn(engine.clone(), stack.name.clone());
    let (_, mut feed) = handle.subscribe();
    let docker = DockerStream::start(&name);
    next_of(&mut feed, &name).await;
    tokio::time::timeout(LIMIT, async {
        while docker.frames.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("docker stats prints a figure");
    let (from, kernel_from) = (Instant::now(), kernel_cpu_ns(&id));
    let mut ours = Vec::new();
    while from.elapsed() < WINDOW {
        ours.push(next_of(&mut feed, &name).await.cpu_percent);
    }
    let (to, kernel_to) = (Instant::now(), kernel_cpu_ns(&id));
    let kernel = (kernel_to - kernel_from) as f64 / (to - from).as_nanos() as f64 * 100.0;
    let berth = ours.iter().sum::<f64>() / ours.len() as f64;
    let docker_cpu = docker.mean(from, to);
    drop(docker);
    drop(feed);
    eprintln!(
        "CPU over {WINDOW:?}: Berth {berth:.1} %, docker stats {docker_cpu:.1} %, kernel {kernel:.1} %"
    );
    let near = |a: f64, b: f64| (a - b).abs() <= (0.25 * a.max(b)).max(8.0);
    assert!(
        near(berth, kernel),
        "Berth {berth} % vs the kernel's {kernel} %"
    );
    assert!(
        near(berth, docker_cpu),
        "Berth {berth} % vs docker stats {docker_cpu} %"
    );
    assert!(berth > 10.0, "two busy loops: {berth} %");
    // Other work on the machine (and the docker cgroup's single share of it) can hold the loops
    // back; when the kernel says they had most of a CPU, Berth must say so too.
    if kernel > 80.0 {
        assert!(berth > 50.0, "{berth} % while the kernel says {kernel} %");
    }

    // One reading each, as `docker stats --no-stream` gives, at the same moment.
    let docker = tokio::task::spawn_blocking({
        let name = name.clone();
        move || docker_stats(&name)
    });
    let once = stats::once(&engine, &stack.name, &[]).await.unwrap();
    let (docker_once, docker_memory) = docker.await.unwrap();
    assert_eq!(once.len(), 1, "one running container: {once:?}");
    let s = &once[0];
    assert_eq!(
        (s.name.as_str(), s.service.as_str()),
        (name.as_str(), "burn")
    );
    assert!(
        s.cpu_percent > 10.0 && docker_once > 10.0,
        "Berth {} % and docker stats {docker_once} % both see it burn",
        s.cpu_percent
    );
    let memory = s.memory_bytes as f64;
    assert!(
        (memory - docker_memory).abs() <= 0.1 * docker_memory,
        "Berth {memory} B vs docker stats {docker_memory} B"
    );
    assert!(s.memory_limit > s.memory_bytes && s.memory_percent > 0.0);
    assert!(s.pids >= 3, "sh and two loops: {}", s.pids);

    // berthctl prints the same container in docker stats' columns.
    let table = berthctl_ok(&stack.name, &stack.file(), &["stats", "--no-stream"]);
    let table = String::from_utf8(table).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    let row = lines.next().expect("one row");
    assert!(row.starts_with(&name), "{table}");
    assert!(row.contains("iB / ") && row.contains('%'), "{table}");
    assert_eq!(lines.next(), None, "{table}");

    let json = berthctl_ok(
        &stack.name,
        &stack.file(),
        &["stats", "--no-stream", "--format", "json", "burn"],
    );
    let sample: serde_json::Value = serde_json::from_slice(&json).expect("one JSON object");
    assert_eq!(sample["name"], name.as_str());
    assert!(sample["cpu_percent"].as_f64().unwrap() > 10.0, "{sample}");

    let missing = berth_tests::berthctl(&stack.name, &stack.file(), &["stats", "nope"]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && err.contains("no such service: nope") && err.contains("burn"),
        "{err}"
    );
}

/// The next sample of `container` from the feed, within [`LIMIT`].
async fn next_of(
    feed: &mut berth_engine::Subscription<StatsSample>,
    container: &str,
) -> StatsSample {
    tokio::time::timeout(LIMIT, async {
        loop {
            match feed.recv().await {
                Ok(s) if s.name == container => return s,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("the stats feed ended: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no sample of {container} within {LIMIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_follows_containers_and_stops_without_subscribers() {
    let stack = TestStack::new("stats-live", IDLE).await;
    stack.up(up_services(&["app"])).await.unwrap();
    let app = format!("{}-app-1", stack.name);
    let late = format!("{}-late-1", stack.name);
    let handle = Stats::spawn(stack.stack.engine().clone(), stack.name.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        handle.histories().is_empty(),
        "nothing is read before a subscriber"
    );

    let (histories, mut feed) = handle.subscribe();
    assert!(histories.is_empty());
    let first = next_of(&mut feed, &app).await;
    let second = next_of(&mut feed, &app).await;
    assert!(second.at_ms > first.at_ms);
    assert!(second.memory_bytes > 0 && second.pids >= 1, "{second:?}");

    // A container that starts later joins the feed.
    stack.up(up_services(&["late"])).await.unwrap();
    let s = next_of(&mut feed, &late).await;
    assert_eq!(s.service, "late");

    // A second subscriber gets the history so far, then the same feed.
    let (histories, mut second_feed) = handle.subscribe();
    let names: Vec<&str> = histories.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, [app.as_str(), late.as_str()]);
    let samples = &histories[0].samples;
    assert!(samples.len() >= 2 && samples.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
    next_of(&mut second_feed, &app).await;
    drop(second_feed);

    // A stopped container leaves the feed; removed, its history goes too.
    stack
        .stack
        .stop(&["late".to_owned()], &Progress::default())
        .await
        .unwrap();
    next_of(&mut feed, &app).await;
    let stopped_at = handle.histories()[1].samples.last().unwrap().at_ms;
    for _ in 0..3 {
        next_of(&mut feed, &app).await;
    }
    assert_eq!(
        handle.histories()[1].samples.last().unwrap().at_ms,
        stopped_at,
        "no samples of a stopped container"
    );
    stack
        .stack
        .rm(
            &["late".to_owned()],
            &Default::default(),
            &Progress::default(),
        )
        .await
        .unwrap();
    next_of(&mut feed, &app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let names: Vec<String> = handle.histories().into_iter().map(|h| h.name).collect();
    assert_eq!(names, [app.as_str()]);

    // Without subscribers nothing more is read.
    drop(feed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let last = handle.histories()[0].samples.last().unwrap().at_ms;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(handle.histories()[0].samples.last().unwrap().at_ms, last);

    // And a new subscriber starts it again, with the ring still bounded.
    let (histories, mut feed) = handle.subscribe();
    assert!(histories[0].samples.len() <= stats::HISTORY);
    let s = next_of(&mut feed, &app).await;
    assert!(s.at_ms > last);
}

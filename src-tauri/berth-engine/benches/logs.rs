//! The log hub against docker's own tools, and its queries over a million lines:
//! - `berthctl logs --no-log-prefix` vs `docker compose logs --no-log-prefix` over 200k lines;
//! - sustained ingest from a container writing as fast as it can vs `docker logs -f`;
//! - search and window queries over 1M buffered lines (p50/p95);
//! - memory per buffered line.
//!
//! Run with `cargo bench -p berth-engine --bench logs` on the test bed (tests/bed/setup.sh).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_engine::logs::{
    self, Filter, FollowOptions, Hub, HubOptions, Level, Matcher, Search, SearchMode, Store, Stream,
};
use berth_engine::{CancellationToken, Engine};

mod common;
use common::{compose, cpu_seconds};

const BUFFERED: usize = 200_000;
const QUERY_LINES: usize = 1_000_000;
const INGEST_SECS: u64 = 5;

fn berthctl(name: &str, file: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_berthctl"))
        .args(["-p", name, "-f"])
        .arg(file)
        .args(args)
        .output()
        .expect("run berthctl");
    assert!(
        out.status.success(),
        "berthctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn buffered_output(dir: &Path) {
    let name = format!("berth-test-bench-logs-{}", std::process::id());
    let file = dir.join("buffered.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  printer:\n    image: berth-test/busybox:1\n    command: [\"awk\", \
             \"BEGIN {{ for (i = 1; i <= {BUFFERED}; i++) printf \\\"%08d the quick brown fox \
             jumps over the lazy dog; lorem ipsum dolor sit amet, consectetur adipiscing\\\\n\\\", \
             i }}\"]\n"
        ),
    )
    .unwrap();
    compose(&name, &file, &["up", "-d"]);
    // Wait until the container has exited, having written everything.
    while !String::from_utf8_lossy(&compose(
        &name,
        &file,
        &["ps", "-a", "--format", "{{.State}}"],
    ))
    .contains("exited")
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let args = ["logs", "--no-log-prefix"];
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut ours_out, mut theirs_out) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        theirs_out = compose(&name, &file, &args);
        theirs.push(t.elapsed());
        let t = Instant::now();
        ours_out = berthctl(&name, &file, &args);
        ours.push(t.elapsed());
    }
    let (o, t) = (median(ours), median(theirs));
    println!(
        "logs --no-log-prefix, {BUFFERED} lines ({} MB): berthctl {} vs docker compose {} → {:.2}× (goal ≤ 0.8×); outputs identical: {}",
        theirs_out.len() / 1_000_000,
        ms(o),
        ms(t),
        o.as_secs_f64() / t.as_secs_f64(),
        ours_out == theirs_out
    );
    compose(&name, &file, &["down", "-t", "0"]);
}

async fn ingest(dir: &Path) {
    let name = format!("berth-test-bench-ingest-{}", std::process::id());
    let file = dir.join("ingest.yaml");
    std::fs::write(
        &file,
        "services:\n  firehose:\n    image: berth-test/busybox:1\n    command: [\"yes\", \
         \"0123456789 the quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet, consectetur\"]\n    \
         logging:\n      driver: json-file\n      options: {max-size: 100m, max-file: '2'}\n",
    )
    .unwrap();
    compose(&name, &file, &["up", "-d"]);
    std::thread::sleep(Duration::from_secs(1));
    let engine = Engine::connect().await.expect("a Docker engine");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        // docker logs -f, counting lines as they arrive (what `> /dev/null` would discard).
        let id = String::from_utf8(compose(&name, &file, &["ps", "-q", "firehose"])).unwrap();
        let mut child = Command::new("docker")
            .args(["logs", "-f", "--tail", "0", id.trim()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut out = child.stdout.take().unwrap();
        let counter = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            let mut lines = 0u64;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(INGEST_SECS) {
                let Ok(n) = out.read(&mut buf) else { break };
                if n == 0 {
                    break;
                }
                lines += count_lines(&buf[..n]);
            }
            lines
        });
        let lines = counter.join().unwrap();
        let cpu = cpu_seconds(pid);
        let _ = child.kill();
        let _ = child.wait();
        theirs.push((lines as f64 / INGEST_SECS as f64, cpu / INGEST_SECS as f64));

        let cancel = CancellationToken::new();
        let me = std::process::id();
        let (hub, task) = Hub::start(
            engine.clone(),
            name.clone(),
            FollowOptions {
                tail: Some(0),
                follow: true,
                ..FollowOptions::default()
            },
            HubOptions::default(),
            cancel.clone(),
        );
        // A subscriber like the viewer, so delivery costs are counted too.
        let mut sub = hub.subscribe(Filter::default());
        let drain = tokio::spawn(async move { while sub.recv().await.is_some() {} });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let first = hub.read(Store::end);
        let start = Instant::now();
        let cpu_start = cpu_seconds(me);
        tokio::time::sleep(Duration::from_secs(INGEST_SECS)).await;
        let lines = hub.read(Store::end) - first;
        let secs = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds(me) - cpu_start;
        cancel.cancel();
        let _ = task.await;
        drain.abort();
        ours.push((lines as f64 / secs, cpu / secs));
    }
    compose(&name, &file, &["down", "-t", "0"]);
    let best = |v: &[(f64, f64)]| {
        v.iter()
            .copied()
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    };
    let (o, t) = (best(&ours), best(&theirs));
    println!(
        "sustained ingest: Berth hub {:.0} lines/s ({:.0}% CPU) vs docker logs -f {:.0} lines/s ({:.0}% CPU) → {:.2}× (goal ≥ 0.9×)",
        o.0,
        o.1 * 100.0,
        t.0,
        t.1 * 100.0,
        o.0 / t.0
    );
}

fn count_lines(buf: &[u8]) -> u64 {
    buf.iter().filter(|b| **b == b'\n').count() as u64
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn queries() {
    let rss0 = rss_bytes();
    let mut store = Store::default();
    let services = ["web", "api", "db", "worker", "cache"];
    let sources: Vec<u16> = services
        .iter()
        .map(|s| store.source(s, &format!("bench-{s}-1")))
        .collect();
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    let mut text_bytes = 0usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..QUERY_LINES {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let level = levels[(seed % levels.len() as u64) as usize];
        let line = format!(
            "2024-05-01T12:00:00Z {level} request id={:016x} path=/api/v1/items/{} took {}ms user=u{}",
            seed,
            seed % 10_000,
            seed % 997,
            seed % 50_000
        );
        text_bytes += line.len();
        let src = sources[i % sources.len()];
        let stream = if level == "ERROR" {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        store.push(src, stream, i as i64 * 1000, line.as_bytes());
    }
    let rss = rss_bytes().saturating_sub(rss0);
    println!(
        "memory: {} lines, {:.1} B of text per line; store accounts {:.1} B/line overhead, process RSS grew {:.1} B/line beyond the text (first line kept: {})",
        store.len(),
        text_bytes as f64 / QUERY_LINES as f64,
        (store.bytes() - text_bytes) as f64 / QUERY_LINES as f64,
        (rss as f64 - text_bytes as f64) / QUERY_LINES as f64,
        store.first()
    );
    let search = |pattern: &str, mode| {
        Matcher::new(&Search {
            pattern: pattern.into(),
            mode,
        })
        .unwrap()
    };
    let cases: Vec<(&str, Filter, Option<Matcher>)> = vec![
        (
            "substring, rare",
            Filter::default(),
            Some(search("user=u49999", SearchMode::Substring)),
        ),
        (
            "substring, common",
            Filter::default(),
            Some(search("items/42", SearchMode::Substring)),
        ),
        (
            "case-insensitive",
            Filter::default(),
            Some(search("USER=U4242", SearchMode::CaseInsensitive)),
        ),
        (
            "regex",
            Filter::default(),
            Some(search(r"took 99\dms", SearchMode::Regex)),
        ),
        (
            "filter service+level",
            Filter {
                services: vec!["db".into()],
                min_level: Some(Level::Warn),
                ..Filter::default()
            },
            None,
        ),
        (
            "filter + regex",
            Filter {
                min_level: Some(Level::Error),
                ..Filter::default()
            },
            Some(search(r"id=0{2}[0-9a-f]+", SearchMode::Regex)),
        ),
    ];
    for (label, filter, matcher) in &cases {
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..21 {
            let t = Instant::now();
            hits = logs::select(&store, filter, matcher.as_ref()).len();
            times.push(t.elapsed());
        }
        println!(
            "query over {QUERY_LINES} lines, {label}: {hits} lines, p50 {} p95 {} (goal p95 ≤ 50 ms)",
            ms(percentile(&mut times, 0.5)),
            ms(percentile(&mut times, 0.95))
        );
    }
    // Windows of 100 lines for a virtualized viewer: straight, and inside a filtered view.
    let view = logs::select(&store, &cases[4].1, None);
    for (label, positions) in [
        ("window of 100", (0..QUERY_LINES as u64).collect::<Vec<_>>()),
        ("filtered window of 100", view),
    ] {
        let mut times = Vec::new();
        for i in 0..101u64 {
            let at = (i * 7919 * 97) as usize % positions.len().saturating_sub(100).max(1);
            let t = Instant::now();
            let lines = logs::lines(&store, &positions[at..at + 100], cases[1].2.as_ref());
            times.push(t.elapsed());
            assert_eq!(lines.len(), 100);
        }
        println!(
            "{label}: p50 {} p95 {}",
            ms(percentile(&mut times, 0.5)),
            ms(percentile(&mut times, 0.95))
        );
    }
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("berth-bench-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    queries();
    buffered_output(&dir);
    ingest(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

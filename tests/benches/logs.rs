//! Issue 17's log figures, each a ratio measured in this run:
//!
//! - `berthctl logs -f` through a 2M-line flood vs `docker compose logs -f` (goal ≤ 1.0×), with
//!   each layer beneath it timed alone to show where the time goes: the engine's HTTP body read
//!   from the raw socket (frames demultiplexed here), bollard's frame stream, and
//!   `logs::follow`.
//!
//! - disk bytes per stored line vs the raw text (goal ≤ 1.3×), and search over 10M stored lines
//!   (goal p95 ≤ 1 s) and over the newest 1M, the buffer a reopened project starts with (goal
//!   p95 ≤ 50 ms). The 10M lines are written through the hub's `append` into its history, not
//!   by a container, so the bench takes minutes, not hours.
//!
//! ```sh
//! cargo build --release --locked -p berth-engine --bin berthctl
//! cargo bench -p berth-tests --bench logs
//! ```
//!
//! `ONLY=flood,live,ingest,stored` runs those parts. Figures are printed, never asserted; docs/benchmarks.md
//! ("Stored history and the log flood (issue 17)") records them.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;

use berth_engine::logs::history::{search, segments};
use berth_engine::logs::{
    self, Filter, FollowOptions, Hub, HubOptions, Matcher, Origin, Record, Search, SearchMode,
    Stream, query,
};
use berth_engine::{CancellationToken, Engine};
use berth_tests::app::descendants;
use berth_tests::samples::{median, percentile};

/// The mean of a few rounds: with two or three, alternating tools on a noisy machine, it uses
/// every round where a median would drop some.
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
use berth_tests::stacks::Cleanup;
use berth_tests::{docker, engine, unique_project, workspace_binary};
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Lines in the flood, each about 100 bytes, then the marker line every reader waits for.
const FLOOD: usize = 2_000_000;
const END: &[u8] = b"END-OF-FLOOD";
const ROUNDS: usize = 2;

fn wanted(part: &str) -> bool {
    std::env::var("ONLY").map_or(true, |only| only.split(',').any(|p| p == part))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let engine = engine().await;
    if wanted("flood") {
        flood(&engine).await;
    }
    if wanted("live") {
        live_flood();
    }
    if wanted("ingest") {
        ingest(&engine).await;
    }
    if wanted("stored") {
        stored();
    }
}

/// How long each ingest window lasts.
const INGEST: Duration = Duration::from_secs(10);
const INGEST_ROUNDS: usize = 5;

/// A container writing flat out (`yes`), read for [`INGEST`] by `docker logs -f` (lines counted
/// and dropped, as `> /dev/null`) and by a hub storing them into its history: lines per second
/// that reach the disk, the history closed (flushed) inside the window's time.
async fn ingest(engine: &Engine) {
    let name = unique_project("bench-ingest");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        "services:\n  firehose:\n    image: berth-test/busybox:1\n    command: [\"yes\", \
         \"0123456789 the quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet, \
         consectetur\"]\n    logging:\n      driver: json-file\n      options: {max-size: 100m, \
         max-file: '2'}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap().to_owned();
    docker(&["compose", "-p", &name, "-f", &file, "up", "-d"]);
    let id = docker(&["compose", "-p", &name, "-f", &file, "ps", "-q", "firehose"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "\n## ingest to disk from one container writing flat out, {} s windows, load {}",
        INGEST.as_secs(),
        load()
    );
    let (mut ours, mut theirs, mut stamped) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..INGEST_ROUNDS {
        let docker_rate = docker_logs(&id, &[]);
        // With the engine's timestamps, as Berth asks for them: the engine's floor for Berth.
        let stamped_rate = docker_logs(&id, &["--timestamps"]);

        let history = dir.join(format!("history-{round}"));
        let hub = Hub::new(HubOptions::default());
        hub.attach_history(&history, 16 << 30)
            .expect("open the history");
        let (tx, rx) = mpsc::channel(256);
        let cancel = CancellationToken::new();
        let options = FollowOptions {
            tail: Some(0),
            follow: true,
            ..FollowOptions::default()
        };
        let start = Instant::now();
        let cpu = tree_cpu(std::process::id());
        let reading = {
            let (engine, name, cancel) = (engine.clone(), name.clone(), cancel.clone());
            tokio::spawn(async move { logs::follow(&engine, &name, options, tx, cancel).await })
        };
        let pump = tokio::spawn({
            let hub = hub.clone();
            async move { hub.pump(rx).await }
        });
        tokio::time::sleep(INGEST).await;
        cancel.cancel();
        let _ = reading.await;
        let _ = pump.await;
        drop(hub); // writes what is queued and closes the history
        let secs = start.elapsed().as_secs_f64();
        let cpu = (tree_cpu(std::process::id()) - cpu) / secs * 100.0;
        let mut stored = 0;
        segments::each(&history, |store| stored += store.len()).expect("read the history");
        let rate = stored as f64 / secs;
        println!(
            "round {round}: docker logs -f {:.0}k lines/s, with --timestamps {:.0}k; Berth to \
             disk {:.0}k lines/s ({stored} lines in {secs:.1} s, {cpu:.0} % CPU)",
            docker_rate / 1000.0,
            stamped_rate / 1000.0,
            rate / 1000.0
        );
        theirs.push(docker_rate);
        stamped.push(stamped_rate);
        ours.push(rate);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (o, t, ts) = (mean(&ours), mean(&theirs), mean(&stamped));
    println!(
        "ingest to disk: Berth {:.0}k lines/s vs docker logs -f {:.0}k lines/s: {:.2}× (goal ≥ 0.9×); \
         vs docker logs -f --timestamps {:.0}k lines/s: {:.2}×",
        o / 1000.0,
        t / 1000.0,
        o / t,
        ts / 1000.0,
        o / ts
    );
}

/// Lines per second `docker logs -f --tail 0` (with `extra` arguments) reads from container
/// `id` over [`INGEST`], counted and dropped as `> /dev/null` would.
fn docker_logs(id: &str, extra: &[&str]) -> f64 {
    let mut child = Command::new("docker")
        .args(["logs", "-f", "--tail", "0"])
        .args(extra)
        .arg(id)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run docker logs");
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (start, mut lines) = (Instant::now(), 0usize);
    while start.elapsed() < INGEST {
        let n = out.read(&mut buf).expect("read docker logs");
        assert!(n > 0, "docker logs ended");
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
    }
    let rate = lines as f64 / start.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    rate
}

/// Lines written into the history for the search and disk figures.
const STORED: u64 = 10_000_000;
/// Lines the newest-lines search covers: the default buffer holds about a million.
const NEWEST: u64 = 1_000_000;
/// Runs of each search over the whole history (its p95 is then the slowest).
const SEARCHES: usize = 5;

/// A web service's line, about 100 bytes, varied enough that compression or search cannot
/// take a shortcut a real log would not allow.
fn stored_line(i: u64, out: &mut Vec<u8>) {
    use std::io::Write;
    out.clear();
    let level = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"][(i % 6) as usize];
    let _ = write!(
        out,
        "{level} req={i:08} GET /api/items/{}?page={} {} {}ms user=u{} trace={:016x}",
        i % 9_973,
        i % 50,
        [200, 200, 200, 304, 404, 500][(i % 6) as usize],
        (i * 7) % 1_000,
        i % 4_099,
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
}

/// 10M lines through a hub with its history on, then: bytes on disk per line against the raw
/// text, and searches over the whole history and over the newest million.
fn stored() {
    let dir = std::env::temp_dir().join(unique_project("bench-stored"));
    let history = dir.join("history");
    println!(
        "\n## {STORED} lines stored through the hub's history (appended in process, not read \
         from a container), load {}",
        load()
    );
    let hub = Hub::new(HubOptions::default());
    hub.attach_history(&history, 16 << 30)
        .expect("open the history");
    let origin = Arc::new(Origin {
        id: "0".repeat(64),
        service: "web".into(),
        name: "bench-web-1".into(),
    });
    let start = Instant::now();
    let mut raw_bytes = 0u64;
    let mut text = Vec::new();
    let t0: i64 = 1_700_000_000_000_000_000;
    let mut i = 0;
    while i < STORED {
        let mut batch = Vec::with_capacity(10_000);
        for _ in 0..10_000 {
            stored_line(i, &mut text);
            raw_bytes += text.len() as u64 + 1;
            batch.push(Record {
                origin: origin.clone(),
                stream: Stream::Stdout,
                ts: t0 + i as i64 * 1_000,
                text: text.clone(),
                partial: false,
                marker: None,
            });
            i += 1;
        }
        hub.append(&mut batch);
    }
    let appended = start.elapsed().as_secs_f64();
    // Dropping the hub writes what is queued and closes the history.
    let status = hub.history_status();
    drop(hub);
    let written = start.elapsed().as_secs_f64();
    let files = segments::list(&history).expect("list the segments");
    let disk: u64 = files.iter().map(|s| s.bytes).sum();
    println!(
        "written: appended in {appended:.1} s, on disk after {written:.1} s ({:.0}k lines/s); {status:?}",
        STORED as f64 / written / 1000.0
    );
    println!(
        "disk: {:.1} MB in {} segments for {:.1} MB of text: {:.1} B a line vs {:.1} B raw \
         (with its newline): {:.2}× (goal ≤ 1.3×)",
        disk as f64 / 1e6,
        files.len(),
        raw_bytes as f64 / 1e6,
        disk as f64 / STORED as f64,
        raw_bytes as f64 / STORED as f64,
        disk as f64 / raw_bytes as f64
    );

    let searches = [
        ("rare substring", "req=07654321", SearchMode::Substring),
        ("common substring", "ERROR", SearchMode::Substring),
        (
            "case-insensitive",
            "error req=0999",
            SearchMode::CaseInsensitive,
        ),
        ("regex", r"page=4[0-9] 500 9[0-9]{2}ms", SearchMode::Regex),
    ];
    // The whole history, searched where it lies (`history::search`).
    for (what, pattern, mode) in searches {
        let m = Matcher::new(&Search {
            pattern: pattern.into(),
            mode,
        })
        .unwrap();
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..SEARCHES {
            let start = Instant::now();
            hits = search::search(&history, &m)
                .expect("search the history")
                .len();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "search over {STORED} stored lines, {what:<17} p50 {:7.1} ms, p95 {:7.1} ms ({hits} hits; goal p95 ≤ 1 s)",
            median(&times),
            percentile(&times, 95)
        );
    }
    // For comparison, once: each segment read into a store and searched there, as
    // `berthctl logs --history --grep` reads it.
    let m = Matcher::new(&Search {
        pattern: searches[0].1.into(),
        mode: searches[0].2,
    })
    .unwrap();
    let start = Instant::now();
    let mut hits = 0;
    segments::each(&history, |store| {
        hits += query::select(store, &Filter::default(), Some(&m)).len();
    })
    .expect("read the history");
    println!(
        "the same rare substring, each segment read into a store first: {:.1} ms ({hits} hits)",
        start.elapsed().as_secs_f64() * 1000.0
    );
    // The newest million, as the viewer's search gets them: the history scanned from its
    // newest segment, each segment's matches reported as it is done (the hub keeps only the
    // newest 2 MiB of lines in memory, the rest is read where it lies).
    let end = STORED;
    let firsts: Vec<u64> = segments::list(&history)
        .expect("list the segments")
        .iter()
        .rev()
        .map(|s| s.first)
        .collect();
    for (what, pattern, mode) in searches {
        let m = Matcher::new(&Search {
            pattern: pattern.into(),
            mode,
        })
        .unwrap();
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..21 {
            let start = Instant::now();
            let (mut found, mut segment) = (0, 0);
            search::newest_first(&history, &m, end, |batch| {
                found += batch.len();
                segment += 1;
                // On until the segments scanned go a million lines back.
                end - firsts[segment - 1] < NEWEST
            })
            .expect("search the history");
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            hits = found;
        }
        println!(
            "search over the newest {NEWEST} lines, {what:<17} p50 {:6.1} ms, p95 {:6.1} ms ({hits} hits; goal p95 ≤ 50 ms)",
            median(&times),
            percentile(&times, 95)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A project whose one service writes the flood and then idles, written before any reader
/// starts: every reader then reads the same 2M lines as fast as it and the engine can.
async fn flood(engine: &Engine) {
    let (name, file) = flood_project("bench-flood", 0);
    let _cleanup = Cleanup(name.clone());
    docker(&["compose", "-p", &name, "-f", &file, "up", "-d"]);
    let id = docker(&["compose", "-p", &name, "-f", &file, "ps", "-q", "flood"]);
    let deadline = Instant::now() + Duration::from_secs(300);
    while !docker(&["logs", "--tail", "1", &id]).contains("END-OF-FLOOD") {
        assert!(Instant::now() < deadline, "the flood did not end");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "## berthctl logs -f through a {FLOOD}-line flood (written before the readers start), load {}",
        load()
    );
    let berthctl = workspace_binary("berthctl");
    let compose_args = ["compose", "-p", &name, "-f", &file, "logs", "-f"];
    let berth_args = ["-p", &name, "-f", &file, "logs", "-f"];
    let layers: [&str; 6] = [
        "docker compose logs -f",
        "berthctl logs -f",
        "raw socket, timestamps",
        "raw socket, no timestamps",
        "bollard stream, timestamps",
        "logs::follow",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); layers.len()];
    for round in 0..ROUNDS {
        for (i, layer) in layers.iter().enumerate() {
            let (secs, lines, cpu) = match i {
                0 => until_end(Command::new("docker").args(compose_args)),
                1 => until_end(Command::new(&berthctl).args(berth_args)),
                2 => in_process(raw(&id, true)).await,
                3 => in_process(raw(&id, false)).await,
                4 => in_process(bollard(engine, &id)).await,
                _ => in_process(follow(engine, &name)).await,
            };
            println!("round {round}: {layer:<28} {secs:7.2} s  {lines} lines  {cpu:5.2} s CPU");
            times[i].push(secs);
        }
    }
    let compose = mean(&times[0]);
    for (layer, t) in layers.iter().zip(&times) {
        let t = mean(t);
        println!(
            "{layer:<28} mean {t:7.2} s  {:5.2}× compose  ({:.0}k lines/s)",
            t / compose,
            FLOOD as f64 / t / 1000.0
        );
    }
    println!("load after: {}", load());
    let _ = std::fs::remove_dir_all(std::path::Path::new(&file).parent().unwrap());
}

/// CPU seconds (user + system) `pid` and its descendants have used so far.
fn tree_cpu(pid: u32) -> f64 {
    let ticks = |pid: u32| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        fields.get(11..13).map_or(0.0, |f| {
            f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
        })
    };
    std::iter::once(pid)
        .chain(descendants(pid))
        .map(ticks)
        .sum::<f64>()
        / 100.0
}

/// A project whose service waits `pause` seconds, writes the flood and the marker, and idles.
fn flood_project(what: &str, pause: u32) -> (String, String) {
    let name = unique_project(what);
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  flood:\n    image: berth-test/busybox:1\n    command:\n      - sh\n      \
             - -c\n      - |\n        sleep {pause}\n        awk 'BEGIN {{ for (i = 1; i <= {FLOOD}; \
             i++) printf \"flood line %07d: GET /api/items?page=%d 200 12ms user=alice \
             trace=0123456789abcdef\\n\", i, i % 50; print \"{}\" }}'\n        exec sleep \
             2147483647\n",
            std::str::from_utf8(END).unwrap()
        ),
    )
    .unwrap();
    (name, file.to_str().unwrap().to_owned())
}

/// The flood written while each tool follows: the container is recreated, the follower
/// started, and the container writes after a pause. Timed from the flood's first line in the
/// follower's output to its last.
fn live_flood() {
    let (name, file) = flood_project("bench-live", 3);
    let _cleanup = Cleanup(name.clone());
    println!(
        "\n## the same flood written while each follows (timed from its first line shown), load {}",
        load()
    );
    let berthctl = workspace_binary("berthctl");
    let tools = ["docker compose logs -f", "berthctl logs -f"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); tools.len()];
    for round in 0..ROUNDS {
        for (i, tool) in tools.iter().enumerate() {
            docker(&[
                "compose",
                "-p",
                &name,
                "-f",
                &file,
                "up",
                "-d",
                "--force-recreate",
            ]);
            let mut command = match i {
                0 => Command::new("docker"),
                _ => Command::new(&berthctl),
            };
            match i {
                0 => command.args(["compose", "-p", &name, "-f", &file, "logs", "-f"]),
                _ => command.args(["-p", &name, "-f", &file, "logs", "-f"]),
            };
            let (_, secs, lines, cpu) = until_end_from_first(&mut command);
            println!("round {round}: {tool:<24} {secs:7.2} s  {lines} lines  {cpu:5.2} s CPU");
            times[i].push(secs);
        }
    }
    let compose = mean(&times[0]);
    for (tool, t) in tools.iter().zip(&times) {
        let t = mean(t);
        println!(
            "{tool:<24} mean {t:7.2} s  {:5.2}× compose  ({:.0}k lines/s)",
            t / compose,
            FLOOD as f64 / t / 1000.0
        );
    }
    println!("load after: {}", load());
    let _ = std::fs::remove_dir_all(std::path::Path::new(&file).parent().unwrap());
}

/// Runs a follower until it prints the marker line: seconds, lines seen, CPU seconds used by
/// it and its children (compose runs as a child of `docker`).
fn until_end(command: &mut Command) -> (f64, usize, f64) {
    let (secs, _, lines, cpu) = until_end_from_first(command);
    (secs, lines, cpu)
}

/// As [`until_end`], with the seconds from the flood's first line to the marker too.
fn until_end_from_first(command: &mut Command) -> (f64, f64, usize, f64) {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the follower");
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut tail, mut first) = (0, Vec::new(), None);
    loop {
        let n = out.read(&mut buf).expect("read the follower's output");
        assert!(n > 0, "the follower ended before the flood's end");
        if first.is_none() && buf[..n].windows(11).any(|w| w == b"flood line ") {
            first = Some(Instant::now());
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(END.len()).any(|w| w == END) {
            break;
        }
        tail.drain(..tail.len().saturating_sub(END.len()));
    }
    let secs = start.elapsed().as_secs_f64();
    let from_first = first.map_or(secs, |f| f.elapsed().as_secs_f64());
    let cpu = tree_cpu(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (secs, from_first, lines, cpu)
}

/// A layer read in this process, with the CPU it used (this process's, so layers run one at
/// a time).
async fn in_process(layer: impl Future<Output = (f64, usize)>) -> (f64, usize, f64) {
    let before = tree_cpu(std::process::id());
    let (secs, lines) = layer.await;
    (secs, lines, tree_cpu(std::process::id()) - before)
}

/// The engine's floor: `GET /containers/{id}/logs?follow=1` on the unix socket, the chunked body
/// decoded and the 8-byte frame headers read here, until the marker's frame.
async fn raw(id: &str, timestamps: bool) -> (f64, usize) {
    let start = Instant::now();
    let mut socket = tokio::net::UnixStream::connect("/var/run/docker.sock")
        .await
        .expect("the engine's socket");
    let request = format!(
        "GET /v1.41/containers/{id}/logs?follow=1&stdout=1&stderr=1&timestamps={} HTTP/1.1\r\n\
         Host: docker\r\n\r\n",
        u8::from(timestamps)
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut wire = Vec::new(); // chunked transfer encoding, as read
    let mut body = Vec::new(); // the frames
    let mut buf = vec![0u8; 1 << 20];
    let mut headers = false;
    let mut frames = 0;
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "the engine closed the log stream");
        wire.extend_from_slice(&buf[..n]);
        if !headers {
            let Some(end) = wire.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            wire.drain(..end + 4);
            headers = true;
        }
        // Whole chunks into the body.
        let mut at = 0;
        while let Some(eol) = wire[at..].windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&wire[at..at + eol]).unwrap(), 16)
                .expect("a chunk size");
            let data = at + eol + 2;
            if wire.len() < data + size + 2 {
                break;
            }
            body.extend_from_slice(&wire[data..data + size]);
            at = data + size + 2;
        }
        wire.drain(..at);
        // Whole frames out of the body.
        let mut at = 0;
        while body.len() - at >= 8 {
            let len = u32::from_be_bytes(body[at + 4..at + 8].try_into().unwrap()) as usize;
            if body.len() - at < 8 + len {
                break;
            }
            frames += 1;
            if body[at + 8..at + 8 + len].ends_with(b"END-OF-FLOOD\n") {
                return (start.elapsed().as_secs_f64(), frames);
            }
            at += 8 + len;
        }
        body.drain(..at);
    }
}

/// bollard's stream of frames, as `logs::follow` opens it.
async fn bollard(engine: &Engine, id: &str) -> (f64, usize) {
    let start = Instant::now();
    let options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .build();
    let mut frames = engine.docker().logs(id, Some(options));
    let mut n = 0;
    while let Some(frame) = frames.next().await {
        n += 1;
        if frame.unwrap().into_bytes().ends_with(b"END-OF-FLOOD\n") {
            break;
        }
    }
    (start.elapsed().as_secs_f64(), n)
}

/// `logs::follow` as `berthctl logs -f` runs it, its records counted instead of printed.
async fn follow(engine: &Engine, project: &str) -> (f64, usize) {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let options = FollowOptions {
        follow: true,
        untimed: true,
        ..FollowOptions::default()
    };
    let reader = tokio::spawn({
        let (engine, project, cancel) = (engine.clone(), project.to_owned(), cancel.clone());
        async move { logs::follow(&engine, &project, options, tx, cancel).await }
    });
    let mut n = 0;
    'read: while let Some(batch) = rx.recv().await {
        for r in batch {
            n += 1;
            if r.text == END {
                break 'read;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    cancel.cancel();
    drop(rx);
    let _ = reader.await;
    (secs, n)
}

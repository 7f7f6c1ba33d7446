//! Issue 17's log figures, each a ratio measured in this run:
//!
//! - `berthctl logs -f` through a 2M-line flood vs `docker compose logs -f` (goal ≤ 1.0×), with
//!   each layer beneath it timed alone to show where the time goes: the engine's HTTP body read
//!   from the raw socket (frames demultiplexed here), bollard's frame stream, and
//!   `logs::follow`.
//!
//! ```sh
//! cargo build --release --locked -p berth-engine --bin berthctl
//! cargo bench -p berth-tests --bench logs
//! ```
//!
//! `ONLY=flood` runs one part. Figures are printed, never asserted; docs/benchmarks.md
//! ("Stored history and the log flood (issue 17)") records them.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_engine::logs::{self, FollowOptions};
use berth_engine::{CancellationToken, Engine};
use berth_tests::samples::median;
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
}

/// A project whose one service writes the flood and then idles, written before any reader
/// starts: every reader then reads the same 2M lines as fast as it and the engine can.
async fn flood(engine: &Engine) {
    let name = unique_project("bench-flood");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  flood:\n    image: berth-test/busybox:1\n    command:\n      - sh\n      \
             - -c\n      - |\n        awk 'BEGIN {{ for (i = 1; i <= {FLOOD}; i++) printf \"flood \
             line %07d: GET /api/items?page=%d 200 12ms user=alice trace=0123456789abcdef\\n\", i, \
             i % 50; print \"{}\" }}'\n        exec sleep 2147483647\n",
            std::str::from_utf8(END).unwrap()
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap().to_owned();
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
            let (secs, lines) = match i {
                0 => until_end(Command::new("docker").args(compose_args)),
                1 => until_end(Command::new(&berthctl).args(berth_args)),
                2 => raw(&id, true).await,
                3 => raw(&id, false).await,
                4 => bollard(engine, &id).await,
                _ => follow(engine, &name).await,
            };
            println!("round {round}: {layer:<28} {secs:7.2} s  {lines} lines");
            times[i].push(secs);
        }
    }
    let compose = median(&times[0]);
    for (layer, t) in layers.iter().zip(&times) {
        let t = median(t);
        println!(
            "{layer:<28} median {t:7.2} s  {:5.2}× compose  ({:.0}k lines/s)",
            t / compose,
            FLOOD as f64 / t / 1000.0
        );
    }
    println!("load after: {}", load());
}

/// Runs a follower until it prints the marker line: seconds, lines seen.
fn until_end(command: &mut Command) -> (f64, usize) {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the follower");
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut tail) = (0, Vec::new());
    loop {
        let n = out.read(&mut buf).expect("read the follower's output");
        assert!(n > 0, "the follower ended before the flood's end");
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(END.len()).any(|w| w == END) {
            break;
        }
        tail.drain(..tail.len().saturating_sub(END.len()));
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    (secs, lines)
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

//! Throughput of a process's output through Berth's exec: `berthctl exec -T app cat FILE` of a
//! 50 MB file into /dev/null, beside `docker compose exec -T` and `docker exec` of the same
//! file, and the engine API alone (Stack::exec, its output drained in process).
//! Run with `cargo bench -p berth-engine --bench exec` on the test bed (tests/bed/setup.sh).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_compose::LoadOptions;
use berth_engine::{Engine, ExecOptions, Progress, Stack, UpOptions};
use futures_util::StreamExt;

mod common;

const BYTES: usize = 50 * 1024 * 1024;
const FILE: &str = "/tmp/berth-bench-50mb";
/// Rounds of each tool, alternating; the median is reported, as the test bed is shared.
const ROUNDS: usize = 7;

/// How long a command took to run to its end, its stdout into /dev/null.
fn timed(program: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(status.success(), "{program} {args:?}: {status}");
    start.elapsed()
}

/// The time of `cat FILE` through the engine API, its output read and dropped.
async fn in_process(stack: &Stack) -> Duration {
    let start = Instant::now();
    let options = ExecOptions {
        command: vec!["cat".into(), FILE.into()],
        ..ExecOptions::default()
    };
    let mut exec = stack.exec("app", None, options).await.unwrap();
    let mut read = 0;
    while let Some(chunk) = exec.output.next().await {
        if let berth_engine::Chunk::Stdout(b) = chunk.unwrap() {
            read += b.len();
        }
    }
    assert_eq!(read, BYTES);
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rate(d: Duration) -> String {
    format!(
        "{:.0} MB/s ({:.0} ms)",
        BYTES as f64 / 1e6 / d.as_secs_f64(),
        d.as_secs_f64() * 1000.0
    )
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let name = format!("berth-test-bench-exec-{}", std::process::id());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        "services:\n  app:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n    init: true\n",
    )
    .unwrap();
    let mut options = LoadOptions::new(&dir, std::env::vars().collect());
    options.project_name = Some(name.clone());
    let project = berth_compose::load(&options).unwrap_or_else(|e| panic!("{}", e.render()));
    let engine = Engine::connect()
        .await
        .expect("a Docker engine (tests/bed/setup.sh)");
    let stack = Stack::new(engine, project);
    stack
        .up(&UpOptions::default(), &Progress::default())
        .await
        .unwrap();
    let container = format!("{name}-app-1");
    let make = format!("head -c {BYTES} /dev/urandom > {FILE}");
    timed("docker", &["exec", &container, "sh", "-c", &make]);

    let berthctl = env!("CARGO_BIN_EXE_berthctl");
    let file_arg = file.to_str().unwrap();
    let project_args = ["-p", name.as_str(), "-f", file_arg];
    let exec_args = ["exec", "-T", "app", "cat", FILE];
    let berthctl_args: Vec<&str> = project_args.iter().chain(&exec_args).copied().collect();
    let compose_args: Vec<&str> = ["compose"]
        .iter()
        .chain(&project_args)
        .chain(&exec_args)
        .copied()
        .collect();
    let docker_args = ["exec", container.as_str(), "cat", FILE];
    let mut times: [Vec<Duration>; 4] = Default::default();
    for _ in 0..ROUNDS {
        times[0].push(timed(berthctl, &berthctl_args));
        times[1].push(timed("docker", &compose_args));
        times[2].push(timed("docker", &docker_args));
        times[3].push(in_process(&stack).await);
    }
    common::compose(&name, Path::new(&file), &["down", "-t", "0"]);
    let _ = std::fs::remove_dir_all(&dir);

    let [berthctl, compose, docker, api] = times.map(median);
    let ratio = |d: Duration| d.as_secs_f64() / docker.as_secs_f64();
    println!(
        "`cat` of a {} MB file into /dev/null, median of {ROUNDS} rounds",
        BYTES / 1024 / 1024
    );
    println!("| path | throughput (time) | time ÷ docker exec |");
    println!("| --- | --- | --- |");
    println!(
        "| `berthctl exec -T` | {} | {:.2}× |",
        rate(berthctl),
        ratio(berthctl)
    );
    println!(
        "| `docker compose exec -T` | {} | {:.2}× |",
        rate(compose),
        ratio(compose)
    );
    println!("| `docker exec` | {} | 1.00× |", rate(docker));
    println!(
        "| engine API (`Stack::exec`, in process) | {} | {:.2}× |",
        rate(api),
        ratio(api)
    );
}

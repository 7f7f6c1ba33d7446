//! An engine over SSH (issue 18): `berthctl ps` beside `docker ps` through the same sshd on
//! loopback (tests/src/ssh.rs), each run whole (process start, ssh, the requests) N times.
//!
//! ```sh
//! cargo build --release --locked -p berth-engine --bin berthctl
//! cargo bench -p berth-tests --bench ssh
//! ```
//!
//! Figures are printed, never asserted; docs/benchmarks.md ("SSH engine") records them.

use std::process::Command;
use std::time::Instant;

use berth_tests::samples::{median, spread};
use berth_tests::ssh::Sshd;
use berth_tests::stacks::Cleanup;
use berth_tests::{berthctl_ok, fixture, unique_project, workspace_binary};

/// Runs of each command.
const RUNS: usize = 21;

fn main() {
    let name = unique_project("bench-ssh");
    let _cleanup = Cleanup(name.clone());
    let file = fixture("stack/compose.yaml");
    berthctl_ok(&name, &file, &["up", "-d", "--wait"]);
    let sshd = Sshd::start("bench");

    let berthctl = || {
        let mut c = sshd.command(workspace_binary("berthctl"));
        c.args(["-p", &name, "-f"]).arg(&file).arg("ps");
        c
    };
    let docker_ps = || {
        let mut c = sshd.command("docker");
        c.arg("ps");
        c
    };
    let compose_ps = || {
        let mut c = sshd.command("docker");
        c.args(["compose", "-p", &name, "-f"]).arg(&file).arg("ps");
        c
    };
    // Warm both sides once (page cache, the engine's own caches).
    let mut lines = 0;
    for make in [&berthctl as &dyn Fn() -> Command, &docker_ps, &compose_ps] {
        lines = lines.max(time(&mut make()).1);
    }
    eprintln!(
        "{RUNS} runs each, interleaved, over ssh://{} ({lines} lines)",
        berth_tests::ssh::HOST
    );
    let (mut ours, mut theirs, mut compose) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        ours.push(time(&mut berthctl()).0);
        theirs.push(time(&mut docker_ps()).0);
        compose.push(time(&mut compose_ps()).0);
    }
    println!("berthctl ps         ms p50/p95/max: {}", spread(&ours, 0));
    println!("docker ps           ms p50/p95/max: {}", spread(&theirs, 0));
    println!(
        "docker compose ps   ms p50/p95/max: {}",
        spread(&compose, 0)
    );
    println!(
        "berthctl ps / docker ps (medians): {:.2}x; / docker compose ps: {:.2}x",
        median(&ours) / median(&theirs),
        median(&ours) / median(&compose)
    );
}

/// Milliseconds one run took, and how many lines it printed (it must succeed).
fn time(command: &mut Command) -> (f64, usize) {
    let started = Instant::now();
    let out = command.output().expect("run the command");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (ms, out.stdout.iter().filter(|&&b| b == b'\n').count())
}

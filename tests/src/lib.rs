//! Shared support for Berth's end-to-end tests: the engine, the real `docker compose`, and the
//! real app driven through WebDriver. Every helper fails loudly with what to do when a piece of
//! the test bed is missing: a test that cannot reach a real thing must never pass.

pub mod app;
pub mod bindings;
pub mod compose;
pub mod daemon;
pub mod modules;
pub mod notifications;
pub mod proxy;
pub mod registry;
pub mod samples;
pub mod session_bus;
pub mod ssh;
pub mod stacks;
pub mod swarm;
pub mod tls;
pub mod tray;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use berth_engine::Engine;

/// What to run when the test bed is missing; every failure message ends with it.
pub const SETUP_HINT: &str = "run tests/bed/setup.sh (./test.sh does) to install and start it";

/// The Docker engine the tests run against, found like the app finds it (DOCKER_HOST, else the
/// default socket). Panics with the set-up hint when none answers.
pub async fn engine() -> Engine {
    match Engine::connect().await {
        Ok(engine) => engine,
        Err(err) => panic!("these tests need a real Docker engine: {err}\n{SETUP_HINT}"),
    }
}

/// A project name no other test (or earlier run) uses. The set-up script removes leftovers of
/// every `berth-test-*` project, so a killed run cannot poison the next.
pub fn unique_project(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("berth-test-{what}-{}-{n}", std::process::id())
}

/// The repository's root directory.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
}

/// A file under tests/fixtures.
pub fn fixture(path: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(path)
}

/// A binary of this workspace, from the target directory these tests were built into.
pub fn workspace_binary(name: &str) -> PathBuf {
    // Test executables live in <target>/<profile>/deps; binaries one level up.
    let exe = std::env::current_exe().expect("the test executable has a path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in <target>/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace --bins` first (./test.sh does)",
        path.display()
    );
    path
}

/// Runs the built `berthctl -p PROJECT -f FILE ARGS…` and returns its output, success or not.
pub fn berthctl(project: &str, file: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(workspace_binary("berthctl"))
        .args(["-p", project, "-f"])
        .arg(file)
        .args(args)
        .output()
        .expect("run berthctl")
}

/// [`berthctl`], asserting it succeeded (its stderr in the failure); returns its stdout.
pub fn berthctl_ok(project: &str, file: &Path, args: &[&str]) -> Vec<u8> {
    let output = berthctl(project, file, args);
    assert!(
        output.status.success(),
        "berthctl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The first line `berthctl … events --json` prints, the state it starts from, parsed; `command`
/// is that berthctl with its arguments. Waits 20 s at most, then kills it; its stderr is in a
/// failure.
pub fn first_event(mut command: std::process::Command) -> serde_json::Value {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run berthctl events");
    let stdout = child.stdout.take().expect("its stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut first);
        let _ = tx.send(first);
    });
    let first = rx.recv_timeout(std::time::Duration::from_secs(20));
    let _ = child.kill();
    let output = child.wait_with_output().expect("wait for berthctl events");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = first.unwrap_or_else(|_| panic!("no first line within 20 s: {stderr}"));
    serde_json::from_str(&first).unwrap_or_else(|_| panic!("no snapshot in {first:?}: {stderr}"))
}

/// Runs `docker ARGS…`, asserting it succeeded (its stderr in the failure); returns its stdout,
/// trimmed. Many tests drive the plain Docker CLI as the reference or to act behind Berth's back.
pub fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

//! What the benches share: running `docker compose` and reading a process's CPU time. Each bench
//! uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs `docker compose -p NAME -f FILE ARGS…`, asserting it succeeded; returns its stdout.
pub fn compose(name: &str, file: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("docker")
        .args(["compose", "-p", name, "-f"])
        .arg(file)
        .args(args)
        .output()
        .expect("run docker compose");
    assert!(
        out.status.success(),
        "docker compose {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// CPU seconds (user + system) a process has used, from /proc.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}

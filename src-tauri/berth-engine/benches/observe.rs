//! Stats and probes against docker's own tools:
//! - the CPU `berthctl stats` uses to follow a project's containers for 10 s, and dockerd's for
//!   serving it, vs `docker stats` over the same containers;
//! - the latency of a probe (TCP connect + HTTP GET) of a container's published port vs curl's
//!   own timing of the same request, and of a TCP-only port.
//!
//! Run with `cargo bench -p berth-engine --bench observe` on the test bed (tests/bed/setup.sh).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_engine::Publisher;
use berth_engine::probe::{self, Reach};

mod common;
use common::{compose, cpu_seconds};

/// Containers followed by both stats tools.
const CONTAINERS: usize = 6;
const WINDOW: Duration = Duration::from_secs(10);
const PROBES: usize = 200;

/// The shared dockerd's pid.
fn dockerd() -> u32 {
    std::fs::read_to_string("/var/run/docker.pid")
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .expect("the test bed's dockerd writes /var/run/docker.pid")
}

/// Runs `program args` for [`WINDOW`] with its output discarded; returns its CPU seconds and
/// dockerd's over the window.
fn cpu_over_window(program: &Path, args: &[String]) -> (f64, f64) {
    let engine = dockerd();
    let engine_before = cpu_seconds(engine);
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the stats tool");
    std::thread::sleep(WINDOW);
    let used = cpu_seconds(child.id());
    let engine_used = cpu_seconds(engine) - engine_before;
    let _ = child.kill();
    let _ = child.wait();
    (used, engine_used)
}

fn stats_overhead(dir: &Path) {
    let name = format!("berth-test-bench-stats-{}", std::process::id());
    let file = dir.join("stats.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  idle:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n    \
             deploy:\n      replicas: {CONTAINERS}\n"
        ),
    )
    .unwrap();
    compose(&name, &file, &["up", "-d"]);
    let names: Vec<String> = (1..=CONTAINERS)
        .map(|n| format!("{name}-idle-{n}"))
        .collect();
    let berthctl = Path::new(env!("CARGO_BIN_EXE_berthctl"));
    let ours_args: Vec<String> = ["-p", &name, "-f", file.to_str().unwrap(), "stats"]
        .map(str::to_owned)
        .to_vec();
    let docker_args: Vec<String> = std::iter::once("stats".to_owned())
        .chain(names.iter().cloned())
        .collect();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        ours.push(cpu_over_window(berthctl, &ours_args));
        theirs.push(cpu_over_window(Path::new("/usr/bin/docker"), &docker_args));
    }
    compose(&name, &file, &["down", "-t", "0"]);
    let mean = |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| {
        v.iter().map(f).sum::<f64>() / v.len() as f64 / WINDOW.as_secs_f64() * 100.0
    };
    let (o, t) = (mean(&ours, |x| x.0), mean(&theirs, |x| x.0));
    let (oe, te) = (mean(&ours, |x| x.1), mean(&theirs, |x| x.1));
    println!(
        "stats, {CONTAINERS} containers for {} s (mean of 2): berthctl stats {o:.2}% CPU vs docker \
         stats {t:.2}% → {:.2}×; dockerd meanwhile {oe:.1}% vs {te:.1}%",
        WINDOW.as_secs(),
        o / t
    );
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

/// curl's own measure of connect and first byte of `url`, in ms.
fn curl(url: &str) -> (f64, f64) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{time_connect} %{time_starttransfer}",
            url,
        ])
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut f = text
        .split(' ')
        .map(|v| v.parse::<f64>().unwrap_or(0.0) * 1000.0);
    (f.next().unwrap_or(0.0), f.next().unwrap_or(0.0))
}

async fn probe_latency(dir: &Path) {
    let name = format!("berth-test-bench-probe-{}", std::process::id());
    let file = dir.join("probe.yaml");
    std::fs::write(
        &file,
        "services:\n  web:\n    image: berth-test/nginx:1\n    ports: ['127.0.0.1::80']\n  \
         cache:\n    image: berth-test/redis:1\n    ports: ['127.0.0.1::6379']\n",
    )
    .unwrap();
    compose(&name, &file, &["up", "-d"]);
    let published = |service: &str, port: u16| {
        let out = Command::new("docker")
            .args(["compose", "-p", &name, "-f"])
            .arg(&file)
            .args(["port", service, &port.to_string()])
            .output()
            .expect("run docker compose port");
        let text = String::from_utf8_lossy(&out.stdout);
        let (ip, host_port) = text.trim().rsplit_once(':').expect("IP:PORT");
        let host_port: u16 = host_port.parse().expect("a port");
        Publisher {
            host_ip: ip.to_owned(),
            host_port,
            container_port: port,
            protocol: "tcp".to_owned(),
            url: (port == 80).then(|| format!("http://localhost:{host_port}")),
        }
    };
    let (web, cache) = (published("web", 80), published("cache", 6379));
    let url = web.url.clone().expect("port 80 has a URL");
    // The server listening.
    for _ in 0..50 {
        if probe::check(&web, None).await.http.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut total, mut connect, mut first_byte) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PROBES {
        let t = Instant::now();
        let r = probe::check(&web, None).await;
        total.push(t.elapsed().as_secs_f64() * 1000.0);
        connect.push(r.connect_ms.unwrap_or(0.0));
        first_byte.push(r.connect_ms.unwrap_or(0.0) + r.http.map_or(0.0, |h| h.latency_ms));
    }
    let (mut curl_connect, mut curl_first_byte) = (Vec::new(), Vec::new());
    for _ in 0..PROBES / 4 {
        let (c, f) = curl(&url);
        curl_connect.push(c);
        curl_first_byte.push(f);
    }
    let mut tcp_only = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let r = probe::check(&cache, None).await;
        assert_eq!(r.reach, Reach::Open);
        tcp_only.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    compose(&name, &file, &["down", "-t", "0"]);
    println!(
        "probe of an HTTP port ({PROBES} probes), p50/p95: whole probe {:.2}/{:.2} ms, connect \
         {:.2}/{:.2} ms, connect to status line {:.2}/{:.2} ms; curl (its own timing, {} runs) \
         connect {:.2}/{:.2} ms, first byte {:.2}/{:.2} ms",
        percentile(&mut total, 0.5),
        percentile(&mut total, 0.95),
        percentile(&mut connect, 0.5),
        percentile(&mut connect, 0.95),
        percentile(&mut first_byte, 0.5),
        percentile(&mut first_byte, 0.95),
        PROBES / 4,
        percentile(&mut curl_connect, 0.5),
        percentile(&mut curl_connect, 0.95),
        percentile(&mut curl_first_byte, 0.5),
        percentile(&mut curl_first_byte, 0.95),
    );
    println!(
        "probe of a TCP-only port (Redis, 10 probes): p50 {:.0} ms, p95 {:.0} ms (it waits for \
         Docker's proxy to close before trying HTTP)",
        percentile(&mut tcp_only, 0.5),
        percentile(&mut tcp_only, 0.95),
    );
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("berth-bench-observe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at start: {}",
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
    probe_latency(&dir).await;
    stats_overhead(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

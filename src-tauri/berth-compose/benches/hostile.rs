//! Large and hostile compose inputs (issue 13), generated in a temp dir: Berth's loader in
//! process against `docker compose config --format json` in the same run. Run with
//! `cargo bench -p berth-compose --bench hostile`. Berth loads each case `BENCH_ITERATIONS`
//! times (default 5) and compose runs 3 times; each figure is the median. Compose runs on the
//! alias bomb without end: it is killed after 10 s (60 s on the other inputs). Peak RSS is that
//! of one process loading the case once: this bench re-run with `--peak DIR` for Berth, the
//! plugin itself for compose.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use berth_compose::{Error, LoadOptions, Project, load};

const COMPOSE_RUNS: usize = 3;

struct Case {
    name: &'static str,
    dir: &'static str,
    write: fn(&Path),
    /// When a compose run is killed: compose has no bound of its own on the bomb.
    compose_limit: Duration,
    /// Whether a load did the work being timed.
    check: fn(&Result<Project, Error>) -> bool,
}

const CASES: [Case; 3] = [
    Case {
        name: "`env_file` of 30,000 lines",
        dir: "env-file",
        write: write_env_file,
        compose_limit: Duration::from_secs(60),
        check: |r| {
            r.as_ref()
                .is_ok_and(|p| p.services["web"].environment.len() == 30_000)
        },
    },
    Case {
        name: "5,000 services × 50 variables, no alias",
        dir: "large",
        write: write_large,
        compose_limit: Duration::from_secs(60),
        check: |r| r.as_ref().is_ok_and(|p| p.services.len() == 5_000),
    },
    Case {
        name: "alias bomb, 9 levels × 9 (9⁹ nodes)",
        dir: "bomb",
        write: write_bomb,
        compose_limit: Duration::from_secs(10),
        check: |r| matches!(r, Err(Error::AliasBomb { .. })),
    },
];

fn write_env_file(dir: &Path) {
    let mut env = String::new();
    for i in 0..30_000 {
        writeln!(env, "KEY_{i}=value_{i}").unwrap();
    }
    std::fs::write(dir.join("app.env"), env).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    image: busybox\n    env_file: app.env\n",
    )
    .unwrap();
}

fn write_large(dir: &Path) {
    let mut text = String::from("services:\n");
    for i in 0..5_000 {
        write!(text, "  s{i}:\n    image: busybox\n    environment:\n").unwrap();
        for j in 0..50 {
            writeln!(text, "      VAR_{j}: value-{i}-{j}").unwrap();
        }
    }
    std::fs::write(dir.join("compose.yaml"), text).unwrap();
}

fn write_bomb(dir: &Path) {
    let mut text = String::from("x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        writeln!(text, "x-a{i}: &a{i} [{refs}]").unwrap();
    }
    text.push_str("services:\n  web:\n    image: busybox\n");
    std::fs::write(dir.join("compose.yaml"), text).unwrap();
}

/// The environment the corpus references were produced with: PATH and HOME only.
fn clean_env() -> BTreeMap<String, String> {
    ["PATH", "HOME"]
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect()
}

fn options(dir: &Path) -> LoadOptions {
    let mut o = LoadOptions::new(dir, clean_env());
    o.files = vec![dir.join("compose.yaml")];
    o
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// VmHWM of a live process, in KiB.
fn peak_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn bytes(n: u64) -> String {
    if n < 100_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else {
        format!("{:.1} MB", n as f64 / 1e6)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Berth's peak: this binary loading the case once in a fresh process.
fn berth_peak(dir: &Path) -> Option<u64> {
    let out = Command::new(std::env::current_exe().ok()?)
        .arg("--peak")
        .arg(dir)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

enum Outcome {
    Done,
    Failed,
    Killed,
}

struct ComposeRun {
    took: Duration,
    outcome: Outcome,
    peak_kib: Option<u64>,
}

/// One `config` run of the plugin binary itself (not the docker CLI, which would leave the
/// plugin running when killed), killed at the limit. Its VmHWM is read every 2 ms.
fn compose_once(plugin: &Path, dir: &Path, limit: Duration) -> ComposeRun {
    let start = Instant::now();
    let mut child = Command::new(plugin)
        .args(["-f", "compose.yaml", "config", "--format", "json"])
        .current_dir(dir)
        .env_clear()
        .envs(clean_env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker compose runs");
    let pid = child.id().to_string();
    let mut peak = None;
    loop {
        if let Some(status) = child.try_wait().expect("wait for docker compose") {
            let outcome = if status.success() {
                Outcome::Done
            } else {
                Outcome::Failed
            };
            return ComposeRun {
                took: start.elapsed(),
                outcome,
                peak_kib: peak,
            };
        }
        peak = peak_kib(&pid).or(peak);
        if start.elapsed() >= limit {
            child.kill().expect("kill docker compose");
            child.wait().expect("reap docker compose");
            return ComposeRun {
                took: start.elapsed(),
                outcome: Outcome::Killed,
                peak_kib: peak,
            };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--peak") {
        let dir = PathBuf::from(&args[i + 1]);
        std::hint::black_box(load(&options(&dir)).ok());
        println!("{}", peak_kib("self").unwrap_or(0));
        return ExitCode::SUCCESS;
    }
    // `cargo test --benches` runs this binary without `--bench`: nothing to measure then.
    if !args.iter().any(|a| a == "--bench") {
        println!("hostile benchmark: run it with `cargo bench -p berth-compose --bench hostile`");
        return ExitCode::SUCCESS;
    }
    let plugin = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".docker/cli-plugins/docker-compose");
    if !plugin.is_file() {
        eprintln!(
            "docker compose plugin not found at {}: cannot compare",
            plugin.display()
        );
        return ExitCode::FAILURE;
    }
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let root = std::env::temp_dir().join(format!("berth-bench-hostile-{}", std::process::id()));

    println!(
        "| input | size | Berth, median of {iterations} | docker compose config, median of {COMPOSE_RUNS} | ratio | peak RSS, Berth / compose |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    for case in &CASES {
        let dir = root.join(case.dir);
        std::fs::create_dir_all(&dir).unwrap();
        (case.write)(&dir);
        let size: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();

        let opts = options(&dir);
        let mut berth = Vec::new();
        let mut refusal = None;
        for _ in 0..iterations {
            let start = Instant::now();
            let result = std::hint::black_box(load(&opts));
            berth.push(start.elapsed());
            if !(case.check)(&result) {
                eprintln!(
                    "{}: Berth's load gave {:?}",
                    case.name,
                    result.as_ref().err()
                );
                failed = true;
            }
            refusal = result.err().map(|e| e.to_string());
        }
        let berth = median(berth);
        let berth_text = match refusal {
            None => format!("loads in {}", ms(berth)),
            Some(e) => format!("refuses in {} (\"{e}\")", ms(berth)),
        };

        // A run that hits the limit would hit it again: one is enough.
        let mut runs = vec![compose_once(&plugin, &dir, case.compose_limit)];
        while runs.len() < COMPOSE_RUNS && !matches!(runs[0].outcome, Outcome::Killed) {
            runs.push(compose_once(&plugin, &dir, case.compose_limit));
        }
        let compose_peak = runs.iter().filter_map(|r| r.peak_kib).max();
        let (compose_text, ratio) = match runs[0].outcome {
            Outcome::Killed => (
                format!("> {} s (killed)", case.compose_limit.as_secs()),
                format!(
                    "> {:.0}×",
                    case.compose_limit.as_secs_f64() / berth.as_secs_f64()
                ),
            ),
            Outcome::Done | Outcome::Failed => {
                let verb = if matches!(runs[0].outcome, Outcome::Done) {
                    "loads"
                } else {
                    "refuses"
                };
                let compose = median(runs.iter().map(|r| r.took).collect());
                (
                    format!("{verb} in {}", ms(compose)),
                    format!("{:.1}× faster", compose.as_secs_f64() / berth.as_secs_f64()),
                )
            }
        };
        println!(
            "| {} | {} | {berth_text} | {compose_text} | {ratio} | {} / {} |",
            case.name,
            bytes(size),
            mib(berth_peak(&dir)),
            mib(compose_peak),
        );
    }
    let _ = std::fs::remove_dir_all(&root);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

//! Loads every corpus file docker compose accepts, N times, and times `docker compose config`
//! on the same files in the same run. Run with `cargo bench -p berth-compose`.
//! `BENCH_ITERATIONS` sets N (default 50); the compose plugin is run once per file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use berth_compose::{LoadOptions, load};

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("BERTH_COMPOSE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compose-corpus")
        });
    dir.canonicalize().unwrap_or_else(|_| {
        eprintln!("compose corpus not found at {}", dir.display());
        std::process::exit(1)
    })
}

/// The environment the references were produced with: PATH and HOME only.
fn clean_env() -> BTreeMap<String, String> {
    ["PATH", "HOME"]
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect()
}

fn per_file(total: Duration, n: usize) -> String {
    format!("{:.3} ms", total.as_secs_f64() * 1000.0 / n as f64)
}

fn main() -> ExitCode {
    // `cargo test --benches` runs this binary without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("corpus benchmark: run it with `cargo bench -p berth-compose --bench corpus`");
        return ExitCode::SUCCESS;
    }
    let corpus = corpus_dir();
    let results: BTreeMap<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(corpus.join("config-results.json")).expect("config-results.json"),
    )
    .expect("config-results.json is JSON");
    let files: Vec<PathBuf> = results
        .iter()
        .filter(|(_, r)| r["status"] == "ok")
        .map(|(f, _)| corpus.join(f))
        .collect();
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let env = clean_env();

    let plugin = PathBuf::from(env.get("HOME").cloned().unwrap_or_default())
        .join(".docker/cli-plugins/docker-compose");
    if !plugin.is_file() {
        eprintln!(
            "docker compose plugin not found at {}: cannot compare",
            plugin.display()
        );
        return ExitCode::FAILURE;
    }

    let options: Vec<LoadOptions> = files
        .iter()
        .map(|f| {
            let mut o = LoadOptions::new(f.parent().unwrap(), env.clone());
            o.files = vec![f.clone()];
            o
        })
        .collect();
    let start = Instant::now();
    for _ in 0..iterations {
        for o in &options {
            std::hint::black_box(load(o).expect("corpus file loads"));
        }
    }
    let berth = start.elapsed();
    let berth_loads = iterations * files.len();

    let start = Instant::now();
    for f in &files {
        let status = Command::new(&plugin)
            .args(["-f", &f.to_string_lossy(), "config", "--format", "json"])
            .current_dir(f.parent().unwrap())
            .env_clear()
            .envs(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("docker compose runs");
        assert!(
            status.success(),
            "docker compose config failed on {}",
            f.display()
        );
    }
    let compose = start.elapsed();

    let berth_avg = berth.as_secs_f64() / berth_loads as f64;
    let compose_avg = compose.as_secs_f64() / files.len() as f64;
    println!("corpus: {} files", files.len());
    println!(
        "berth-compose:          {berth_loads} loads in {:.3} s, {} per file",
        berth.as_secs_f64(),
        per_file(berth, berth_loads)
    );
    println!(
        "docker compose config:  {} runs in {:.3} s, {} per file",
        files.len(),
        compose.as_secs_f64(),
        per_file(compose, files.len())
    );
    println!(
        "ratio: berth-compose is {:.0}x faster",
        compose_avg / berth_avg
    );
    ExitCode::SUCCESS
}

//! Berth against `docker compose` on a 12-service stack: `up -d` from nothing, `up` of an
//! unchanged stack, `down`, and how long a kill takes to reach the live state model (from the
//! kill API call, and from a `docker kill` CLI invocation).
//! Run with `cargo bench -p berth-engine --bench stack` on the test bed (tests/bed/setup.sh).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_compose::LoadOptions;
use berth_engine::{Change, ChangeKind, DownOptions, Engine, Progress, Stack, UpOptions};

mod common;

const SERVICES: usize = 12;
const KILLS: usize = 20;

/// Twelve small services: a chain of `depends_on`, some published ports, two networks.
fn compose_file() -> String {
    let mut yaml = String::from("services:\n");
    for i in 1..=SERVICES {
        yaml += &format!(
            "  s{i:02}:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n    \
             networks: [{}]\n",
            if i % 2 == 0 { "front" } else { "back" }
        );
        if i % 3 == 0 {
            yaml += "    ports: ['80']\n";
        }
        if i > 1 && i % 4 != 1 {
            yaml += &format!("    depends_on: [s{:02}]\n", i - 1);
        }
    }
    yaml + "networks:\n  front:\n  back:\n"
}

/// How long [`common::compose`] took.
fn compose(name: &str, file: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    common::compose(name, file, args);
    start.elapsed()
}

async fn timed<F: std::future::Future>(f: F) -> (Duration, F::Output) {
    let start = Instant::now();
    let out = f.await;
    (start.elapsed(), out)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Rounds of each lifecycle measurement; the median is reported, as the test bed is shared.
const ROUNDS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Waits for the model's change saying `victim` exited: where both kill measurements end.
async fn exited(changes: &mut tokio::sync::broadcast::Receiver<Change>, victim: &str) {
    loop {
        if let ChangeKind::Container { container, .. } = changes.recv().await.unwrap().kind
            && container.name == victim
            && container.state == berth_engine::ContainerState::Exited
        {
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let name = format!("berth-test-bench-{}", std::process::id());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, compose_file()).unwrap();
    let mut options = LoadOptions::new(&dir, std::env::vars().collect());
    options.project_name = Some(name.clone());
    let project = berth_compose::load(&options).unwrap_or_else(|e| panic!("{}", e.render()));
    let engine = Engine::connect()
        .await
        .expect("a Docker engine (tests/bed/setup.sh)");
    let stack = Stack::new(engine.clone(), project);
    let quiet = Progress::default();
    let up = UpOptions::default();
    let down = DownOptions::default();

    // Rounds alternate between the tools so both see the same machine load.
    let mut berth = [Vec::new(), Vec::new(), Vec::new()];
    let mut theirs = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        let (t, r) = timed(stack.up(&up, &quiet)).await;
        r.unwrap();
        berth[0].push(t);
        let (t, r) = timed(stack.up(&up, &quiet)).await;
        r.unwrap();
        berth[1].push(t);
        let (t, r) = timed(stack.down(&down, &quiet)).await;
        r.unwrap();
        berth[2].push(t);
        theirs[0].push(compose(&name, &file, &["up", "-d"]));
        theirs[1].push(compose(&name, &file, &["up", "-d"]));
        theirs[2].push(compose(&name, &file, &["down"]));
    }

    // Kill-to-event latency: from sending SIGKILL to the model holding the exited container.
    stack.up(&up, &quiet).await.unwrap();
    let state = stack.watch();
    let (_, mut changes) = state.subscribe().await;
    // The floor: when the engine's own event stream delivers the `die`, with no model at all.
    let (raw_tx, mut raw_rx) = tokio::sync::mpsc::unbounded_channel();
    let filters = std::collections::HashMap::from([
        ("event".to_owned(), vec!["die".to_owned()]),
        (
            "label".to_owned(),
            vec![format!("com.docker.compose.project={name}")],
        ),
    ]);
    let mut raw_events = engine
        .docker()
        .events(Some(bollard::query_parameters::EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
    tokio::spawn(async move {
        use futures_util::StreamExt;
        while let Some(Ok(_)) = raw_events.next().await {
            let _ = raw_tx.send(Instant::now());
        }
    });
    let mut raw = Vec::with_capacity(KILLS);
    let mut latencies = Vec::with_capacity(KILLS);
    for i in 0..KILLS {
        let victim = format!("{name}-s{:02}-1", i % SERVICES + 1);
        // The kill call returns only once the engine has torn the container down, after the
        // event: it runs beside the wait.
        let docker = engine.docker().clone();
        let target = victim.clone();
        let start = Instant::now();
        let kill = tokio::spawn(async move {
            docker
                .kill_container(
                    &target,
                    None::<bollard::query_parameters::KillContainerOptions>,
                )
                .await
        });
        exited(&mut changes, &victim).await;
        latencies.push(start.elapsed());
        raw.push(raw_rx.recv().await.unwrap() - start);
        kill.await.unwrap().unwrap();
        engine
            .docker()
            .start_container(&victim, None)
            .await
            .unwrap();
    }
    // The same from a `docker kill` CLI invocation, as a user would: the CLI's own start-up
    // (about a process launch and an API round trip) comes on top.
    let mut from_cli = Vec::with_capacity(KILLS);
    for i in 0..KILLS {
        let victim = format!("{name}-s{:02}-1", i % SERVICES + 1);
        let start = Instant::now();
        let mut kill = Command::new("docker")
            .args(["kill", &victim])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run docker kill");
        exited(&mut changes, &victim).await;
        from_cli.push(start.elapsed());
        raw_rx.recv().await.unwrap();
        assert!(kill.wait().unwrap().success());
        engine
            .docker()
            .start_container(&victim, None)
            .await
            .unwrap();
    }
    drop(state);
    latencies.sort();
    raw.sort();
    from_cli.sort();
    stack.down(&down, &quiet).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let [berth_up, berth_noop, berth_down] = berth.map(median);
    let [compose_up, compose_noop, compose_down] = theirs.map(median);
    let ratio = |b: Duration, c: Duration| b.as_secs_f64() / c.as_secs_f64();
    println!("{SERVICES}-service stack (median of {ROUNDS})    berth   docker compose   ratio");
    for (what, b, c) in [
        ("up -d from nothing", berth_up, compose_up),
        ("up of an unchanged stack", berth_noop, compose_noop),
        ("down", berth_down, compose_down),
    ] {
        println!("{what:<32} {:>8} {:>14} {:>9.2}", ms(b), ms(c), ratio(b, c));
    }
    let p95 = percentile(&latencies, 0.95);
    println!(
        "kill API call -> state event ({KILLS})  p50 {}  p95 {}  max {}",
        ms(percentile(&latencies, 0.5)),
        ms(p95),
        ms(*latencies.last().unwrap())
    );
    println!(
        "  engine's own die event (floor)     p50 {}  p95 {}",
        ms(percentile(&raw, 0.5)),
        ms(percentile(&raw, 0.95))
    );
    println!(
        "docker kill CLI -> state event ({KILLS})  p50 {}  p95 {}  max {}",
        ms(percentile(&from_cli, 0.5)),
        ms(percentile(&from_cli, 0.95)),
        ms(*from_cli.last().unwrap())
    );
    let verdict = |met: bool| if met { "met" } else { "missed" };
    println!(
        "goals: up -d <= 0.70x compose ({}), unchanged up <= 100 ms ({}), kill p95 <= 50 ms ({})",
        verdict(ratio(berth_up, compose_up) <= 0.7),
        verdict(berth_noop <= Duration::from_millis(100)),
        verdict(p95 <= Duration::from_millis(50)),
    );
}

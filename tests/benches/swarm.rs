//! Deploying to a Swarm (issue 19): a 12-service stack deployed until every replica runs,
//! `berthctl stack deploy` beside `docker stack deploy`, alternating in one run, on a one-node
//! Swarm in a private daemon ([`Swarm`]). Both are waited for the same way (the engine's
//! service list, every 50 ms, until each service's running tasks reach its desired), then the
//! stack is removed and its tasks waited away before the next round.
//!
//! ```sh
//! cargo build --release --locked -p berth-engine --bin berthctl
//! cargo bench -p berth-tests --bench swarm
//! ```
//!
//! Figures are printed, never asserted; docs/benchmarks.md ("Swarm") records them.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_engine::swarm;
use berth_tests::samples::{median, spread};
use berth_tests::swarm::{Swarm, until};

/// Rounds of each tool, alternating.
const ROUNDS: usize = 5;
const SERVICES: usize = 12;
const LIMIT: Duration = Duration::from_secs(180);

/// Twelve services of one or two replicas each (18 tasks), on the default overlay network.
fn compose() -> String {
    let mut yaml = String::from("services:\n");
    for i in 0..SERVICES {
        let replicas = 1 + i % 2;
        yaml += &format!(
            "  s{i}:\n    image: berth-test/busybox:1\n    command: [sleep, '2147483647']\n    \
             environment:\n      N: '{i}'\n    deploy:\n      replicas: {replicas}\n"
        );
    }
    yaml
}

#[tokio::main]
async fn main() {
    let swarm = Swarm::start(&["berth-test/busybox:1"]).await;
    let dir = swarm.dir.join("stack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("compose.yaml"), compose()).unwrap();
    let berthctl = berth_tests::workspace_binary("berthctl");

    for resolve in ["always", "never"] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let ns = format!("bench{round}");
            let mut berth = Command::new(&berthctl);
            berth
                .args([
                    "stack",
                    "deploy",
                    "--resolve-image",
                    resolve,
                    "-c",
                    "compose.yaml",
                    &ns,
                ])
                .env("DOCKER_HOST", swarm.host());
            ours.push(deploy(&swarm, &dir, &ns, berth).await);
            let mut docker = Command::new("docker");
            docker
                .args([
                    "-H",
                    &swarm.host(),
                    "stack",
                    "deploy",
                    "--resolve-image",
                    resolve,
                ])
                .args(["-c", "compose.yaml", &ns]);
            theirs.push(deploy(&swarm, &dir, &ns, docker).await);
        }
        eprintln!(
            "--resolve-image {resolve}: deploy until {SERVICES} services run (ms, p50 / p95 / max \
             of {ROUNDS})\n  berthctl {}\n  docker   {}\n  ratio    {:.2}x",
            spread(&ours, 0),
            spread(&theirs, 0),
            median(&ours) / median(&theirs)
        );
    }
}

/// Runs `command` in `dir` and waits until every service of `ns` runs all its replicas; the
/// milliseconds from its start. Then removes the stack and waits until its tasks are gone.
async fn deploy(swarm: &Swarm, dir: &Path, ns: &str, mut command: Command) -> f64 {
    let start = Instant::now();
    let out = command.current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let returned = start.elapsed().as_millis();
    loop {
        let services = swarm::services(&swarm.engine, ns).await.unwrap();
        if services.len() == SERVICES
            && services
                .iter()
                .all(|s| s.desired > 0 && s.running == s.desired)
        {
            break;
        }
        assert!(
            start.elapsed() < LIMIT,
            "{ns} did not converge: {services:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "  {ns} {}: returned after {returned} ms, all running after {ms:.0} ms",
        command.get_program().to_string_lossy()
    );
    swarm::remove(&swarm.engine, ns, &Default::default())
        .await
        .unwrap();
    until("the stack's tasks gone", LIMIT, || {
        let left = swarm.docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.stack.namespace={ns}"),
        ]);
        if left.is_empty() { Ok(()) } else { Err(left) }
    })
    .await;
    ms
}

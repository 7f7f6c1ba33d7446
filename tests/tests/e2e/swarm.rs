//! Docker Swarm: the cluster stack (three API replicas behind nginx, a database with a file
//! secret, Redis) deployed by `berthctl stack deploy` to a one-node Swarm of the test's own,
//! shown as `docker stack` shows it, scaled, updated one replica at a time, rolled back and
//! removed with nothing left; and `docker stack` managing what berthctl deployed and the other
//! way round.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use berth_engine::CancellationToken;
use berth_engine::swarm;
use berth_tests::swarm::{Swarm, until};
use berth_tests::{fixture, unique_project};

const IMAGES: [&str; 3] = [
    "berth-test/busybox:1",
    "berth-test/nginx:1",
    "berth-test/redis:1",
];

/// How long a Swarm may take to converge a step.
const LIMIT: Duration = Duration::from_secs(90);

/// Each line of a `docker stack …` table split into its columns (two spaces or more apart).
fn columns(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// `docker stack services NAME` once every service runs as many replicas as it wants.
fn settled_services(swarm: &Swarm, namespace: &str, dir: &Path) -> Result<String, String> {
    let out = swarm.docker_in(dir, &["stack", "services", namespace]);
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows = columns(&table);
    let settled = rows.len() > 1
        && rows[1..].iter().all(|r| {
            r.get(3)
                .and_then(|replicas| replicas.split_once('/'))
                .is_some_and(|(running, desired)| running == desired && desired != "0")
        });
    if settled { Ok(table) } else { Err(table) }
}

/// Every object labelled with the stack's namespace that is still on the Swarm.
fn leftovers(swarm: &Swarm, namespace: &str) -> String {
    let filter = format!("label=com.docker.stack.namespace={namespace}");
    ["service", "network", "secret", "config"]
        .iter()
        .map(|kind| swarm.docker(&[kind, "ls", "-q", "--filter", &filter]))
        .filter(|ids| !ids.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stack's service specs, by service name, as the engine keeps them.
fn specs(swarm: &Swarm, namespace: &str) -> BTreeMap<String, serde_json::Value> {
    let filter = format!("label=com.docker.stack.namespace={namespace}");
    let ids = swarm.docker(&["service", "ls", "-q", "--filter", &filter]);
    ids.lines()
        .map(|id| {
            let spec: serde_json::Value = serde_json::from_str(&swarm.docker(&[
                "service",
                "inspect",
                id,
                "--format",
                "{{json .Spec}}",
            ]))
            .unwrap();
            (spec["Name"].as_str().unwrap().to_owned(), spec)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_stack_is_deployed_scaled_updated_rolled_back_and_removed() {
    let swarm = Swarm::start(&IMAGES).await;
    let dir = fixture("swarm");
    let ns = unique_project("cluster");

    let out = swarm.berthctl_ok(&dir, &["stack", "deploy", "-c", "compose.yaml", &ns]);
    for line in [
        format!("Creating network {ns}_front"),
        format!("Creating network {ns}_back"),
        format!("Creating secret {ns}_db_password"),
        format!("Creating service {ns}_api"),
        format!("Creating service {ns}_nginx"),
    ] {
        assert!(out.contains(&line), "{line:?} not in:\n{out}");
    }

    // As docker shows it: the same table, names, replicas and ports.
    let docker_table = until("the stack's replicas to run", LIMIT, || {
        settled_services(&swarm, &ns, &dir)
    })
    .await;
    assert_eq!(
        swarm.berthctl_ok(&dir, &["stack", "services", &ns]),
        docker_table
    );
    let rows = columns(&docker_table);
    let api = rows.iter().find(|r| r[1] == format!("{ns}_api")).unwrap();
    assert_eq!(api[3], "3/3");
    let nginx = rows.iter().find(|r| r[1] == format!("{ns}_nginx")).unwrap();
    assert_eq!(nginx[5], "*:18480->80/tcp");
    assert_eq!(
        swarm.berthctl_ok(&dir, &["stack", "ls"]),
        swarm.docker(&["stack", "ls"]) + "\n"
    );
    // `stack ps`: the same tasks, images, nodes and states (the "… ago" may tick between).
    let strip_ago = |t: &str| -> Vec<Vec<String>> {
        columns(t)
            .into_iter()
            .map(|mut r| {
                if let Some(state) = r.get_mut(5) {
                    *state = state.split(' ').next().unwrap_or_default().to_owned();
                }
                r
            })
            .collect()
    };
    assert_eq!(
        strip_ago(&swarm.berthctl_ok(&dir, &["stack", "ps", &ns])),
        strip_ago(&swarm.docker(&["stack", "ps", &ns]))
    );

    // Labels, networks and the secret as docker stack deploy makes them.
    let labels: BTreeMap<String, String> = serde_json::from_str(&swarm.docker(&[
        "service",
        "inspect",
        &format!("{ns}_api"),
        "--format",
        "{{json .Spec.Labels}}",
    ]))
    .unwrap();
    assert_eq!(labels["com.docker.stack.namespace"], ns);
    assert_eq!(labels["com.docker.stack.image"], "berth-test/busybox:1");
    let back = swarm.docker(&[
        "network",
        "inspect",
        &format!("{ns}_back"),
        "--format",
        "{{.Driver}} {{.Scope}} {{.Attachable}} {{index .Labels \"com.docker.stack.namespace\"}}",
    ]);
    assert_eq!(back, format!("overlay swarm true {ns}"));
    assert_eq!(
        swarm.docker(&[
            "secret",
            "inspect",
            &format!("{ns}_db_password"),
            "--format",
            "{{index .Spec.Labels \"com.docker.stack.namespace\"}}"
        ]),
        ns
    );

    // The merged service logs: the database read its secret, the replicas say their version.
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let cancel = CancellationToken::new();
    let follower = tokio::spawn({
        let (engine, ns, cancel) = (swarm.engine.clone(), ns.clone(), cancel.clone());
        async move { swarm::follow_service_logs(&engine, &ns, tx, cancel).await }
    });
    let mut seen: Vec<(String, String)> = Vec::new();
    let wanted = |seen: &[(String, String)]| {
        seen.iter().any(|(s, t)| s == "db" && t == "s3cret-berth")
            && seen
                .iter()
                .filter(|(s, t)| s == "api" && t == "api version 1")
                .count()
                == 3
    };
    tokio::time::timeout(LIMIT, async {
        while !wanted(&seen) {
            let batch = rx.recv().await.expect("the service logs go on");
            seen.extend(batch.iter().map(|r| {
                (
                    r.origin.service.clone(),
                    String::from_utf8_lossy(&r.text).into_owned(),
                )
            }));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the service logs lacked the secret or a replica: {seen:?}"));
    cancel.cancel();
    follower.await.unwrap().unwrap();

    // Scaled.
    swarm::scale(&swarm.engine, &format!("{ns}_api"), 5)
        .await
        .unwrap();
    until("api scaled to 5", LIMIT, || {
        let table = settled_services(&swarm, &ns, &dir)?;
        if table.contains("5/5") {
            Ok(())
        } else {
            Err(table)
        }
    })
    .await;

    // Updated: an env change rolls through the replicas one at a time, a second apart
    // (update_config: parallelism 1, delay 1s).
    let update = swarm.dir.join("update.yaml");
    std::fs::write(
        &update,
        "services:\n  api:\n    environment:\n      API_VERSION: \"2\"\n",
    )
    .unwrap();
    let before = swarm.docker(&[
        "service",
        "ps",
        "-q",
        "--filter",
        "desired-state=running",
        &format!("{ns}_api"),
    ]);
    let out = swarm.berthctl_ok(
        &dir,
        &[
            "stack",
            "deploy",
            "-c",
            "compose.yaml",
            "-c",
            update.to_str().unwrap(),
            &ns,
        ],
    );
    assert!(out.contains(&format!("Updating service {ns}_api")), "{out}");
    let api_state = |state: &str| {
        let s = swarm.docker(&[
            "service",
            "inspect",
            &format!("{ns}_api"),
            "--format",
            "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
        ]);
        if s == state { Ok(()) } else { Err(s) }
    };
    until("the rolling update to complete", LIMIT, || {
        api_state("completed")
    })
    .await;
    let services = swarm::services(&swarm.engine, &ns).await.unwrap();
    let api = services
        .iter()
        .find(|s| s.name == format!("{ns}_api"))
        .unwrap();
    assert_eq!(
        api.update.as_ref().map(|u| u.state.as_str()),
        Some("completed")
    );
    let started: Vec<String> = {
        let ids = swarm.docker(&[
            "service",
            "ps",
            "-q",
            "--filter",
            "desired-state=running",
            &format!("{ns}_api"),
        ]);
        assert!(
            before.lines().all(|id| !ids.contains(id)),
            "every replica was replaced"
        );
        let mut t: Vec<String> = ids
            .lines()
            .map(|id| {
                swarm
                    .docker(&["inspect", "--format", "{{json .CreatedAt}}", id])
                    .trim_matches('"')
                    .to_owned()
            })
            .collect();
        t.sort();
        t
    };
    // The file's replicas again: a deploy sets what the file says, as docker's does.
    assert_eq!(started.len(), 3);
    let ns_of = |t: &str| berth_engine::logs::parse_rfc3339(t).unwrap();
    for pair in started.windows(2) {
        let gap = ns_of(&pair[1]) - ns_of(&pair[0]);
        assert!(
            gap >= 900_000_000,
            "replicas updated one by one, a second apart: {started:?}"
        );
    }
    let env = swarm.docker(&[
        "service",
        "inspect",
        &format!("{ns}_api"),
        "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
    ]);
    assert!(env.contains("API_VERSION=2"), "{env}");

    // Rolled back to the spec before the update.
    swarm::rollback(&swarm.engine, &format!("{ns}_api"))
        .await
        .unwrap();
    until("the rollback to complete", LIMIT, || {
        api_state("rollback_completed")
    })
    .await;
    let env = swarm.docker(&[
        "service",
        "inspect",
        &format!("{ns}_api"),
        "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
    ]);
    assert!(env.contains("API_VERSION=1"), "{env}");

    // Removed with nothing left.
    swarm.berthctl_ok(&dir, &["stack", "rm", &ns]);
    until("nothing of the stack left", LIMIT, || {
        let left = leftovers(&swarm, &ns);
        if left.is_empty() { Ok(()) } else { Err(left) }
    })
    .await;
    // A stack that is not there: docker's words and exit status.
    for command in ["rm", "services", "ps"] {
        let ours = swarm.berthctl(&dir, &["stack", command, &ns]);
        let theirs = swarm.docker_in(&dir, &["stack", command, &ns]);
        assert_eq!(ours.status.code(), theirs.status.code(), "stack {command}");
        assert_eq!(
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&theirs.stderr),
            "stack {command}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_stack_and_berthctl_manage_each_others_stacks() {
    let swarm = Swarm::start(&IMAGES).await;
    let dir = fixture("swarm");

    // docker deploys, berthctl shows and removes.
    let theirs = unique_project("theirs");
    let out = swarm.docker_in(&dir, &["stack", "deploy", "-c", "compose.yaml", &theirs]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = until("docker's stack to run", LIMIT, || {
        settled_services(&swarm, &theirs, &dir)
    })
    .await;
    assert_eq!(
        swarm.berthctl_ok(&dir, &["stack", "services", &theirs]),
        table
    );
    swarm.berthctl_ok(&dir, &["stack", "rm", &theirs]);
    until("nothing of docker's stack left", LIMIT, || {
        let left = leftovers(&swarm, &theirs);
        if left.is_empty() { Ok(()) } else { Err(left) }
    })
    .await;

    // berthctl deploys; docker's deploy of the same file changes nothing; docker removes it.
    let ours = unique_project("ours");
    swarm.berthctl_ok(&dir, &["stack", "deploy", "-c", "compose.yaml", &ours]);
    until("berthctl's stack to run", LIMIT, || {
        settled_services(&swarm, &ours, &dir)
    })
    .await;
    let deployed = specs(&swarm, &ours);
    let tasks = swarm.docker(&["stack", "ps", "-q", &ours]);
    let out = swarm.docker_in(&dir, &["stack", "deploy", "-c", "compose.yaml", &ours]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        specs(&swarm, &ours),
        deployed,
        "docker stack deploy changed berthctl's specs"
    );
    assert_eq!(
        swarm.docker(&["stack", "ps", "-q", &ours]),
        tasks,
        "tasks were replaced"
    );
    // And berthctl's redeploy changes nothing either.
    swarm.berthctl_ok(&dir, &["stack", "deploy", "-c", "compose.yaml", &ours]);
    assert_eq!(
        specs(&swarm, &ours),
        deployed,
        "berthctl's redeploy changed the specs"
    );
    let out = swarm.docker_in(&dir, &["stack", "rm", &ours]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until("nothing of berthctl's stack left", LIMIT, || {
        let left = leftovers(&swarm, &ours);
        if left.is_empty() { Ok(()) } else { Err(left) }
    })
    .await;
}

#[test]
fn deploying_to_an_engine_that_is_no_swarm_manager_says_how_to_make_it_one() {
    // The shared engine is never a Swarm manager (tests/bed/setup.sh leaves it standalone).
    let out = std::process::Command::new(berth_tests::workspace_binary("berthctl"))
        .args([
            "stack",
            "deploy",
            "-c",
            "compose.yaml",
            "berth-test-noswarm",
        ])
        .current_dir(fixture("swarm"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a Swarm manager"), "{err}");
    assert!(err.contains("docker swarm init"), "{err}");
}

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
    let secret = format!(
        "{ns}_db_password_{}",
        content_hash(&swarm, "s3cret-berth\n")
    );
    for line in [
        format!("Creating network {ns}_front"),
        format!("Creating network {ns}_back"),
        format!("Creating secret {secret}"),
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
            &secret,
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

/// The "Updating service" lines of a deploy, sorted: docker sends the services in a map's order.
fn updates(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("Updating service "))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// The lines of a `stack rm` with the namespace and the content versions taken out, each run of
/// one kind of object sorted: docker sorts the services by name, the rest come in the engine's
/// list order.
fn removals(out: &str, namespace: &str) -> Vec<Vec<String>> {
    let mut runs: Vec<Vec<String>> = Vec::new();
    for line in out.lines() {
        let mut line = line.replace(namespace, "NS");
        let version = line.rsplit('_').next().unwrap_or_default();
        if version.len() == 10 && version.bytes().all(|b| b.is_ascii_hexdigit()) {
            line.truncate(line.len() - 11);
        }
        let kind = line.split(' ').nth(1).unwrap_or_default().to_owned();
        match runs.last_mut() {
            Some(run) if run[0].split(' ').nth(1) == Some(kind.as_str()) => run.push(line),
            _ => runs.push(vec![line]),
        }
    }
    for run in &mut runs {
        run.sort();
    }
    runs
}

/// The name of the one secret a service spec uses.
fn secret_of(spec: &serde_json::Value) -> String {
    spec["TaskTemplate"]["ContainerSpec"]["Secrets"][0]["SecretName"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Specs with their secrets' names and ids taken out.
fn unversioned(
    mut specs: BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    for spec in specs.values_mut() {
        for secret in spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let secret = secret.as_object_mut().unwrap();
            secret.remove("SecretName");
            secret.remove("SecretID");
        }
    }
    specs
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
    let removed_by_us = swarm.berthctl_ok(&dir, &["stack", "rm", &theirs]);
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
    // Berth's secret is versioned by its content; docker's is `<ns>_<key>`.
    let versioned = format!(
        "{ours}_db_password_{}",
        content_hash(&swarm, "s3cret-berth\n")
    );
    let docker_named = format!("{ours}_db_password");
    assert_eq!(secret_of(&deployed[&format!("{ours}_db")]), versioned);
    // The services that use no secret keep their tasks through both redeploys.
    let others = |swarm: &Swarm| -> Vec<String> {
        ["api", "nginx", "cache"]
            .iter()
            .map(|s| swarm.docker(&["service", "ps", "-q", &format!("{ours}_{s}")]))
            .collect()
    };
    let tasks = others(&swarm);
    let out = swarm.docker_in(&dir, &["stack", "deploy", "-c", "compose.yaml", &ours]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let updated_by_docker = updates(&String::from_utf8_lossy(&out.stdout));
    let by_docker = specs(&swarm, &ours);
    assert_eq!(secret_of(&by_docker[&format!("{ours}_db")]), docker_named);
    assert_eq!(
        unversioned(by_docker),
        unversioned(deployed.clone()),
        "docker stack deploy changed berthctl's specs beyond the secret's name"
    );
    assert_eq!(others(&swarm), tasks, "tasks were replaced");
    // berthctl's redeploy points the database back at the versioned secret and removes
    // docker's, which nothing uses any more.
    let out = swarm.berthctl_ok(&dir, &["stack", "deploy", "-c", "compose.yaml", &ours]);
    assert!(
        out.contains(&format!("Removing secret {docker_named}")),
        "{out}"
    );
    assert_eq!(
        specs(&swarm, &ours),
        deployed,
        "berthctl's redeploy did not restore its specs"
    );
    assert_eq!(objects(&swarm, "secret", &ours), [versioned]);
    assert_eq!(others(&swarm), tasks, "tasks were replaced");
    // docker's "Updating service X (id: …)" lines, the same services and ids.
    assert_eq!(updates(&out), updated_by_docker);
    assert_eq!(updated_by_docker.len(), 4, "{updated_by_docker:?}");
    let out = swarm.docker_in(&dir, &["stack", "rm", &ours]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // docker's removal lines, in its order: services, secrets, configs, networks.
    let removed_by_docker = removals(&String::from_utf8_lossy(&out.stdout), &ours);
    assert_eq!(removed_by_docker.len(), 3, "{removed_by_docker:?}");
    assert_eq!(removals(&removed_by_us, &theirs), removed_by_docker);
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

#[tokio::test]
async fn stack_commands_go_to_the_engine_the_context_names() {
    let swarm = Swarm::start(&[]).await;
    let config = swarm.dir.join("docker-config");
    let host = format!("host={}", swarm.host());
    let made = std::process::Command::new("docker")
        .env("DOCKER_CONFIG", &config)
        .args(["context", "create", "berth-test-swarm", "--docker", &host])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    // DOCKER_HOST names the shared engine, which is no Swarm manager: `--context` wins over it,
    // as it does for docker.
    let out = std::process::Command::new(berth_tests::workspace_binary("berthctl"))
        .args(["--context", "berth-test-swarm", "stack", "ls"])
        .env("DOCKER_CONFIG", &config)
        .env("DOCKER_HOST", "unix:///var/run/docker.sock")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "berthctl --context … stack ls: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        swarm.docker(&["stack", "ls"]) + "\n"
    );
}

/// The first 10 hex digits of `data`'s SHA-256: the version a deploy gives a secret or config.
fn content_hash(swarm: &Swarm, data: &str) -> String {
    let digest = berth_tests::registry::sha256(data.as_bytes(), &swarm.dir.join("hashed"));
    digest["sha256:".len()..][..10].to_owned()
}

/// The names of the stack's secrets or configs, sorted.
fn objects(swarm: &Swarm, kind: &str, namespace: &str) -> Vec<String> {
    let filter = format!("label=com.docker.stack.namespace={namespace}");
    let mut names: Vec<String> = swarm
        .docker(&[kind, "ls", "--filter", &filter, "--format", "{{.Name}}"])
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_configs_are_versioned_by_their_content_so_a_changed_one_rolls_out() {
    let swarm = Swarm::start(&IMAGES).await;
    let ns = unique_project("versioned");
    let dir = swarm.dir.join("versioned");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        format!(
            "services:\n  app:\n    image: berth-test/busybox:1\n    command: [sleep, \"2147483647\"]\n\
             \x20   secrets: [token, pinned]\n    configs: [conf]\n\
             secrets:\n  token: {{file: ./token.txt}}\n  pinned: {{file: ./pinned.txt, name: {ns}-pinned}}\n\
             configs:\n  conf: {{file: ./conf.txt}}\n"
        ),
    )
    .unwrap();
    let write = |file: &str, data: &str| std::fs::write(dir.join(file), data).unwrap();
    write("token.txt", "one");
    write("pinned.txt", "fixed");
    write("conf.txt", "c1");
    let deploy = || swarm.berthctl(&dir, &["stack", "deploy", "-c", "compose.yaml", &ns]);
    let text = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let (token1, conf1) = (
        format!("{ns}_token_{}", content_hash(&swarm, "one")),
        format!("{ns}_conf_{}", content_hash(&swarm, "c1")),
    );
    let out = deploy();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("Creating secret {token1}")),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("Creating config {conf1}")),
        "{}",
        text(&out)
    );
    assert_eq!(
        objects(&swarm, "secret", &ns),
        [format!("{ns}-pinned"), token1.clone()]
    );
    assert_eq!(objects(&swarm, "config", &ns), std::slice::from_ref(&conf1));
    assert_eq!(
        swarm.docker(&[
            "secret",
            "inspect",
            &token1,
            "--format",
            "{{index .Spec.Labels \"dev.berth.content-hash\"}}"
        ])[..10],
        content_hash(&swarm, "one")
    );

    // Inside the task's container the files keep the file's keys as their names.
    let service = format!("{ns}_app");
    let read = |path: &str| -> Result<String, String> {
        let id = swarm.docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.swarm.service.name={service}"),
        ]);
        let id = id.lines().next().ok_or("no task container yet")?;
        let out = swarm.docker_in(&dir, &["exec", id, "cat", path]);
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    until("the task to read its secret", LIMIT, || {
        read("/run/secrets/token").and_then(|t| if t == "one" { Ok(()) } else { Err(t) })
    })
    .await;
    assert_eq!(read("/conf").unwrap(), "c1");

    // Unchanged: no new object, the service's spec and tasks stay.
    let spec = specs(&swarm, &ns);
    let tasks = swarm.docker(&["stack", "ps", "-q", &ns]);
    let out = deploy();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("Creating secret"), "{}", text(&out));
    assert!(!text(&out).contains("Creating config"), "{}", text(&out));
    assert!(!text(&out).contains("Removing"), "{}", text(&out));
    assert_eq!(specs(&swarm, &ns), spec);
    assert_eq!(swarm.docker(&["stack", "ps", "-q", &ns]), tasks);

    // Changed: a new secret, the service rolls to it, the old one is removed.
    write("token.txt", "two");
    let token2 = format!("{ns}_token_{}", content_hash(&swarm, "two"));
    let out = deploy();
    assert!(out.status.success(), "{}", text(&out));
    for line in [
        format!("Creating secret {token2}"),
        format!("Removing secret {token1}"),
    ] {
        assert!(
            text(&out).contains(&line),
            "{line:?} not in:\n{}",
            text(&out)
        );
    }
    assert_eq!(
        objects(&swarm, "secret", &ns),
        [format!("{ns}-pinned"), token2.clone()]
    );
    until("the task to read the new secret", LIMIT, || {
        read("/run/secrets/token").and_then(|t| if t == "two" { Ok(()) } else { Err(t) })
    })
    .await;

    // An explicit name's data changed: a clear error, and nothing created or updated.
    write("pinned.txt", "moved");
    write("conf.txt", "c2");
    let spec = specs(&swarm, &ns);
    let out = deploy();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("secret {ns}-pinned")), "{err}");
    assert!(err.contains("pinned.txt"), "{err}");
    assert!(err.contains("name:"), "{err}");
    assert!(!err.contains("rpc error"), "{err}");
    assert_eq!(objects(&swarm, "config", &ns), [conf1]);
    assert_eq!(specs(&swarm, &ns), spec);

    swarm.berthctl_ok(&dir, &["stack", "rm", &ns]);
    until("nothing of the stack left", LIMIT, || {
        let left = leftovers(&swarm, &ns);
        if left.is_empty() { Ok(()) } else { Err(left) }
    })
    .await;
}

/// The watch of every stack's replicas: a killed replica's container is seen within seconds
/// (its container event), while an idle Swarm costs one service listing every
/// `swarm::SAFETY` over one event stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replica_watch_sees_a_kill_at_once_and_is_cheap_when_idle() {
    let swarm = Swarm::start(&IMAGES).await;
    let dir = fixture("swarm");
    let ns = unique_project("watched");
    swarm.berthctl_ok(&dir, &["stack", "deploy", "-c", "compose.yaml", &ns]);
    until("the stack's replicas to run", LIMIT, || {
        settled_services(&swarm, &ns, &dir)
    })
    .await;
    let proxy = berth_tests::proxy::Proxy::start(
        &swarm.dir.join("proxy.sock"),
        &swarm.dir.join("docker.sock"),
    );
    let engine = berth_engine::Engine::connect_to(&proxy.host())
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch = tokio::spawn(async move {
        swarm::watch_services(&engine, |read| {
            let _ = tx.send(read.unwrap());
        })
        .await
    });
    let first = rx.recv().await.unwrap();
    let api = format!("{ns}_api");
    let running = |read: &[swarm::StackService]| {
        read.iter()
            .find(|s| s.service.name == api)
            .map(|s| (s.stack.clone(), s.service.running, s.service.desired))
    };
    assert_eq!(running(&first), Some((ns.clone(), 3, 3)));

    // Idle: the listing every SAFETY, nothing else but the event stream (asked for once the
    // first listing is done).
    let idle = Duration::from_secs(20);
    let requests = proxy.requests_during(idle).await;
    let listings = requests
        .iter()
        .filter(|r| r.starts_with("/services"))
        .count();
    assert!(
        listings <= (idle.as_secs() / swarm::SAFETY.as_secs()) as usize + 1
            && (requests.iter()).all(|r| r.starts_with("/services") || r.starts_with("/events")),
        "{requests:?}"
    );
    println!(
        "idle: {} requests in {idle:?} ({:.1}/min), {} event stream",
        requests.len(),
        requests.len() as f64 * 60.0 / idle.as_secs_f64(),
        proxy.open_event_streams()
    );
    assert_eq!(proxy.open_event_streams(), 1);

    // A replica killed: seen short well before the next safety read.
    while rx.try_recv().is_ok() {}
    let filter = format!("label=com.docker.swarm.service.name={api}");
    let replica = swarm.docker(&["ps", "-q", "--filter", &filter]);
    let killed = std::time::Instant::now();
    swarm.docker(&["kill", replica.lines().next().unwrap()]);
    loop {
        let read = tokio::time::timeout(LIMIT, rx.recv())
            .await
            .unwrap()
            .unwrap();
        if running(&read).is_some_and(|(_, running, desired)| running < desired) {
            break;
        }
    }
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "seen after {:?}",
        killed.elapsed()
    );
    watch.abort();
}

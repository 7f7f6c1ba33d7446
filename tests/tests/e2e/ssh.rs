//! An engine over `ssh://`, as the docker CLI reaches one: a seed-like stack runs from berthctl
//! through an sshd on loopback, errors name the host and what ssh said, contexts choose it, and
//! a remote engine's ports are probed and linked on its host.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_engine::probe::{self, Reach};
use berth_engine::{Publisher, UpOptions};
use berth_tests::ssh::{HOST, Sshd};
use berth_tests::stacks::{Cleanup, TestStack};
use berth_tests::{first_event, unique_project, workspace_binary};

const SEED: &str = "services:
  web:
    image: berth-test/busybox:1
    command: [httpd, -f, -p, '8080']
    ports: ['8080']
    depends_on: [worker]
  worker:
    image: berth-test/busybox:1
    command: [sh, -c, 'echo hello from worker; exec sleep 600']
    init: true
";

fn ok(mut command: Command) -> String {
    let out: Output = command.output().expect("run the command");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `berthctl -p NAME -f FILE ARGS…` over the sshd.
fn berthctl(sshd: &Sshd, name: &str, file: &Path, args: &[&str]) -> Command {
    let mut command = sshd.command(workspace_binary("berthctl"));
    command.args(["-p", name, "-f"]).arg(file).args(args);
    command
}

#[test]
fn a_seed_like_stack_runs_over_ssh_from_berthctl() {
    let sshd = Sshd::start("seed");
    let name = unique_project("ssh");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, SEED).unwrap();

    ok(berthctl(&sshd, &name, &file, &["up", "-d"]));
    let ps = ok(berthctl(&sshd, &name, &file, &["ps", "--format", "json"]));
    let rows: Vec<serde_json::Value> = ps
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut services: Vec<&str> = rows
        .iter()
        .map(|r| r["Service"].as_str().unwrap())
        .collect();
    services.sort();
    assert_eq!(services, ["web", "worker"], "{ps}");
    assert!(rows.iter().all(|r| r["State"] == "running"), "{ps}");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = ok(berthctl(
            &sshd,
            &name,
            &file,
            &["logs", "--no-log-prefix", "worker"],
        ));
        if logs.contains("hello from worker") {
            break;
        }
        assert!(Instant::now() < deadline, "no worker line in {logs:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A hijacked stream (exec's attach) over ssh.
    let said = ok(berthctl(
        &sshd,
        &name,
        &file,
        &["exec", "-T", "worker", "echo", "over ssh"],
    ));
    assert_eq!(said, "over ssh\n");

    // A long-lived stream (the events feed); its ports link to the engine's host.
    let snapshot = first_event(berthctl(&sshd, &name, &file, &["events", "--json"]));
    let web = &snapshot["services"]["web"]["containers"][0]["ports"][0];
    assert_eq!(
        web["url"],
        format!("http://127.0.0.1:{}", web["host_port"]).as_str(),
        "{web}"
    );

    ok(berthctl(&sshd, &name, &file, &["down"]));
    let left = berth_tests::docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
    ]);
    assert_eq!(left, "");
    // One ssh per connection, and none left once each command is done.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sshd.clients() > 0 {
        assert!(Instant::now() < deadline, "ssh processes left behind");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refused_login_names_the_host_and_what_ssh_said() {
    let sshd = Sshd::start("refused");
    let host = format!("ssh://nobody@{HOST}");
    let out = sshd
        .command(workspace_binary("berthctl"))
        .env("DOCKER_HOST", &host)
        .arg("version")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&host), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.contains("docker version"), "{err}");
}

#[test]
fn a_context_names_the_ssh_engine_as_the_docker_cli_resolves_it() {
    let sshd = Sshd::start("context");
    let config = sshd.dir.join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let docker = |args: &[&str]| {
        let mut c = Command::new("docker");
        c.env("DOCKER_CONFIG", &config)
            .env_remove("DOCKER_HOST")
            .args(args);
        ok(c)
    };
    docker(&[
        "context",
        "create",
        "berth-remote",
        "--docker",
        &format!("host=ssh://{HOST}"),
    ]);
    let version = |set: &dyn Fn(&mut Command)| {
        let mut c = sshd.command(workspace_binary("berthctl"));
        c.env("DOCKER_CONFIG", &config).env_remove("DOCKER_HOST");
        set(&mut c);
        c.args(["version", "--json"]);
        let json: serde_json::Value = serde_json::from_str(&ok(c)).unwrap();
        json["engine"]["endpoint"].as_str().unwrap().to_owned()
    };
    let remote = format!("ssh://{HOST}");
    assert_eq!(
        version(&|c| {
            c.args(["--context", "berth-remote"]);
        }),
        remote
    );
    assert_eq!(
        version(&|c| {
            c.env("DOCKER_CONTEXT", "berth-remote");
        }),
        remote
    );
    // `--context` wins over DOCKER_HOST, as in the docker CLI.
    assert_eq!(
        version(&|c| {
            c.env("DOCKER_HOST", "unix:///nonexistent.sock")
                .args(["--context", "berth-remote"]);
        }),
        remote
    );
    docker(&["context", "use", "berth-remote"]);
    assert_eq!(version(&|_| {}), remote);
    assert_eq!(
        version(&|c| {
            c.args(["--context", "default"]);
        }),
        "unix:///var/run/docker.sock"
    );

    let mut unknown = sshd.command(workspace_binary("berthctl"));
    unknown
        .env("DOCKER_CONFIG", &config)
        .args(["--context", "nope", "version"]);
    let out = unknown.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("\"nope\"") && err.contains("docker context ls"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_engines_ports_are_probed_on_its_host() {
    let stack = TestStack::new(
        "probe-host",
        "services:\n  web:\n    image: berth-test/nginx:1\n    ports: ['80']\n",
    )
    .await;
    stack.up(UpOptions::default()).await.unwrap();
    let containers = stack.containers().await;
    let web: Publisher = containers[0]
        .ports
        .iter()
        .find(|p| p.host_port != 0)
        .unwrap()
        .clone();
    // Another loopback address stands for the engine's host: the probe goes there, not to
    // 127.0.0.1.
    let deadline = Instant::now() + Duration::from_secs(10);
    let result = loop {
        let result = probe::check(&web, Some("127.0.0.2")).await;
        if result.http.is_some() || Instant::now() > deadline {
            break result;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(result.address, format!("127.0.0.2:{}", web.host_port));
    assert_eq!(result.reach, Reach::Open);
    assert_eq!(result.http.map(|h| h.status), Some(200));
    // A port bound to the engine host's loopback is out of reach from here.
    let local = Publisher {
        host_ip: "127.0.0.1".into(),
        ..web
    };
    assert!(matches!(
        probe::check(&local, Some("10.0.0.1")).await.reach,
        Reach::Skipped { .. }
    ));
}

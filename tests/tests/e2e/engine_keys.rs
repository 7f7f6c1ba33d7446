//! Service keys reach the engine as docker compose sends them: the same file is created by both
//! tools and the containers' inspected HostConfig compared field by field.

use std::process::Command;

use berth_engine::{Progress, ProgressEvent, StackError, UpOptions};
use berth_tests::compose::ComposeProject;
use berth_tests::stacks::TestStack;
use berth_tests::{docker, unique_project};
use serde_json::Value;

fn inspect(container: &str) -> Value {
    serde_json::from_str::<Value>(&docker(&["inspect", container])).unwrap()[0].clone()
}

/// A block device of this machine, for the blkio limits (the engine refuses others).
fn block_device() -> String {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .expect("/sys/block")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !["loop", "ram", "zram"].iter().any(|p| n.starts_with(p)))
        .filter(|n| std::path::Path::new("/dev").join(n).exists())
        .collect();
    names.sort();
    format!(
        "/dev/{}",
        names.first().expect("a block device in /sys/block")
    )
}

const KEYS: &str = r#"
services:
  base:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    volumes: ["/shared"]
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    devices: ["/dev/null:/dev/xnull:rw", "/dev/zero"]
    device_cgroup_rules: ["c 1:3 mr"]
    blkio_config:
      weight: 300
      device_read_bps: [{path: DEVICE, rate: 1mb}]
      device_write_bps: [{path: DEVICE, rate: "2048k"}]
      device_read_iops: [{path: DEVICE, rate: 100}]
      device_write_iops: [{path: DEVICE, rate: 200}]
    cpuset: "0"
    cpu_shares: 512
    cpu_period: 100000
    cpu_quota: 50000
    cpu_count: 1
    cpu_percent: 50
    links: ["base:db"]
    volumes_from: ["base"]
    mem_limit: 32m
    memswap_limit: 64m
    mem_swappiness: 10
    oom_kill_disable: true
    oom_score_adj: 100
    pids_limit: 50
    dns_opt: ["ndots:2"]
    secrets:
      - source: token
        uid: "1000"
        mode: 0400
      - source: env_token
        target: /etc/env_token
        uid: "1000"
        gid: "1001"
        mode: 0440
secrets:
  token:
    file: ./token.txt
  env_token:
    environment: ENV_TOKEN
"#;

const FIELDS: &[&str] = &[
    "Devices",
    "DeviceCgroupRules",
    "DeviceRequests",
    "BlkioWeight",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpusetCpus",
    "CpuShares",
    "CpuPeriod",
    "CpuQuota",
    "CpuCount",
    "CpuPercent",
    "Memory",
    "MemorySwap",
    "MemorySwappiness",
    "OomKillDisable",
    "OomScoreAdj",
    "PidsLimit",
    "DnsOptions",
];

#[tokio::test]
async fn host_config_keys_links_volumes_from_and_secrets_match_docker_compose() {
    let yaml = KEYS.replace("DEVICE", &block_device());
    let t = TestStack::new("keys", &yaml).await;
    std::fs::write(t.dir.join("token.txt"), "from a file\n").unwrap();
    std::fs::write(t.dir.join(".env"), "ENV_TOKEN=from the environment\n").unwrap();
    // Reload: the .env file is part of the project.
    let stack = berth_engine::Stack::new(
        t.stack.engine().clone(),
        berth_tests::stacks::load(&t.dir, &t.name),
    );
    let (progress, mut events) = Progress::channel();
    let wait = UpOptions {
        wait: true,
        ..Default::default()
    };
    stack.up(&wait, &progress).await.expect("berth up");
    drop(progress);
    let mut warnings = Vec::new();
    while let Some(e) = events.recv().await {
        if let ProgressEvent::Warning { message } = e {
            warnings.push(message);
        }
    }
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("secrets `uid`, `gid` and `mode` are not supported")),
        "compose's warning for a file secret's owner: {warnings:?}"
    );

    let compose = ComposeProject::new(unique_project("keys-compose"), t.file());
    compose.run(&["up", "-d", "--wait"]);
    let ours = inspect(&format!("{}-web-1", t.name));
    let theirs = inspect(&format!("{}-web-1", compose.name));
    for field in FIELDS {
        assert_eq!(
            ours["HostConfig"][field], theirs["HostConfig"][field],
            "HostConfig.{field}"
        );
    }
    // volumes_from: compose names the container by ID, Berth by name; both mount base's volume.
    let base_id = |project: &str| inspect(&format!("{project}-base-1"))["Id"].clone();
    assert_eq!(
        theirs["HostConfig"]["VolumesFrom"],
        serde_json::json!([base_id(&compose.name)])
    );
    assert_eq!(
        ours["HostConfig"]["VolumesFrom"],
        serde_json::json!([format!("{}-base-1", t.name)])
    );
    let shared = |c: &Value| {
        c["Mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["Destination"] == "/shared")
    };
    assert!(shared(&ours) && shared(&theirs));
    // Links, on the endpoint of the container's network, with the project's name in them.
    let links = |c: &Value, project: &str| {
        let networks = c["NetworkSettings"]["Networks"].as_object().unwrap();
        let (_, endpoint) = networks.iter().next().unwrap();
        endpoint["Links"].to_string().replace(project, "PROJECT")
    };
    assert_eq!(links(&ours, &t.name), links(&theirs, &compose.name));
    assert!(links(&ours, &t.name).contains("PROJECT-base-1:db"));
    // Secrets: a file secret is bind-mounted as it is; one from the environment is copied in
    // with the owner and mode asked for.
    for project in [&t.name, &compose.name] {
        let container = format!("{project}-web-1");
        let out = Command::new("docker")
            .args(["exec", &container, "sh", "-c"])
            .arg(
                "cat /run/secrets/token /etc/env_token; echo; \
                 stat -c '%u %g %a' /etc/env_token",
            )
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "from a file\nfrom the environment\n1000 1001 440\n",
            "{container}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn gpu_requests_reach_the_engine_as_compose_sends_them() {
    let yaml = r#"
services:
  g:
    image: berth-test/busybox:1
    gpus: all
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 2
              capabilities: [gpu, utility]
  h:
    image: berth-test/busybox:1
    gpus:
      - driver: nvidia
        device_ids: ["0", "1"]
        capabilities: [compute]
        options: { x: "1" }
"#;
    let t = TestStack::new("gpus", yaml).await;
    // No GPU here: the containers are created, and starting them fails.
    let err = t.up(UpOptions::default()).await.unwrap_err();
    assert!(matches!(err, StackError::Docker { .. }), "{err:?}");
    let compose = ComposeProject::new(unique_project("gpus-compose"), t.file());
    compose.run(&["create"]);
    for service in ["g", "h"] {
        let ours = inspect(&format!("{}-{service}-1", t.name));
        let theirs = inspect(&format!("{}-{service}-1", compose.name));
        assert_eq!(
            ours["HostConfig"]["DeviceRequests"], theirs["HostConfig"]["DeviceRequests"],
            "{service}"
        );
        assert!(ours["HostConfig"]["DeviceRequests"].is_array());
    }
}

#[tokio::test]
async fn a_build_context_leaves_out_what_dockerignore_excludes_as_the_docker_cli_does() {
    let yaml = r#"
services:
  app:
    build:
      context: .
      cache_from: ["berth-test/busybox:1"]
      labels: { berth.test: "yes" }
    command: ["sleep", "600"]
"#;
    let t = TestStack::new("dockerignore", yaml).await;
    let files = [
        "Dockerfile",
        "keep.txt",
        "secret.env",
        "app.log",
        "keep.log",
        "logs/a.txt",
        "src/main.txt",
        "src/node_modules/x.js",
        "docs/notes.md",
    ];
    for f in files {
        let path = t.dir.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, f).unwrap();
    }
    std::fs::write(
        t.dir.join("Dockerfile"),
        "FROM berth-test/busybox:1\nCOPY . /ctx\n",
    )
    .unwrap();
    std::fs::write(
        t.dir.join(".dockerignore"),
        "# not sent\nsecret.env\n*.log\n!keep.log\nlogs/\n**/node_modules\nDockerfile\ncompose.yaml\n",
    )
    .unwrap();
    t.up_wait().await;
    let listing = |container: &str| {
        let out = Command::new("docker")
            .args(["exec", container, "find", "/ctx", "-type", "f"])
            .output()
            .unwrap();
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    let ours = listing(&format!("{}-app-1", t.name));
    assert!(ours.contains(&"/ctx/keep.log".to_owned()), "{ours:?}");
    assert!(!ours.iter().any(|f| f.contains("secret.env")), "{ours:?}");

    // The Docker CLI's classic build of the same context is the reference.
    let tag = format!("{}-reference:1", t.name);
    let built = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &tag])
        .arg(&t.dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let reference = format!("{}-reference", t.name);
    let run = Command::new("docker")
        .args(["run", "-d", "--name", &reference, &tag, "sleep", "600"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let theirs = listing(&reference);
    let _ = Command::new("docker")
        .args(["rm", "-f", &reference])
        .output();
    let _ = Command::new("docker").args(["rmi", &tag]).output();
    assert_eq!(ours, theirs);
    let labels = inspect(&format!("{}-app", t.name))["Config"]["Labels"].clone();
    assert_eq!(labels["berth.test"], "yes", "build labels");
    // The built image goes once no container uses it.
    let down = berth_engine::DownOptions {
        volumes: true,
        ..Default::default()
    };
    t.stack.down(&down, &Progress::default()).await.unwrap();
    let _ = Command::new("docker")
        .args(["rmi", &format!("{}-app", t.name)])
        .output();
}

#[tokio::test]
async fn a_secret_from_an_unset_variable_is_an_error_naming_it() {
    let yaml = r#"
services:
  s:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    secrets: [tok]
secrets:
  tok:
    environment: BERTH_TEST_UNSET_TOKEN
"#;
    let t = TestStack::new("unset-secret", yaml).await;
    let err = t.up(UpOptions::default()).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "service s: environment variable \"BERTH_TEST_UNSET_TOKEN\" required by secret \"{}_tok\" is not set",
            t.name
        )),
        "compose's words, with the service: {message}"
    );
    assert!(message.contains(".env"), "{message}");
}

//! `Stack::inspect` against `docker inspect` of the same container and image: the window's
//! Inspect panel shows what the engine says, field by field, and the configuration as loaded.

use berth_engine::inspect::{MASK, ServiceInspect};
use berth_tests::docker;
use berth_tests::stacks::TestStack;
use serde_json::Value as Json;

const STACK: &str = r#"
services:
  app:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo checked > /tmp/h; exec sleep 3600"]
    restart: on-failure:3
    environment:
      API_TOKEN: t0ps3cret
      GREETING: hello
    labels:
      team: berth
    volumes:
      - data:/data
      - ./site:/site:ro
    networks:
      back:
        aliases: [api, api-1]
    healthcheck:
      test: ["CMD", "cat", "/tmp/h"]
      interval: 1s
      retries: 30
volumes:
  data:
networks:
  back:
"#;

#[tokio::test]
async fn inspect_reports_what_docker_inspect_says_and_the_config_as_loaded() {
    let stack = TestStack::new("inspect", STACK).await;
    std::fs::create_dir_all(stack.dir.join("site")).expect("mkdir site");
    stack.up_wait().await;

    let inspected: ServiceInspect = stack.stack.inspect("app").await.expect("inspect app");
    assert_eq!(inspected.containers.len(), 1);
    let ours = &inspected.containers[0];
    let theirs: Json = serde_json::from_str::<Vec<Json>>(&docker(&["inspect", &ours.name]))
        .expect("docker inspect's JSON")
        .remove(0);
    assert_eq!(ours.name, format!("{}-app-1", stack.name));
    assert_eq!(ours.id, theirs["Id"]);
    assert_eq!(ours.state, "running");

    // The environment: the container's whole, each value as Docker has it.
    let env: Vec<String> = ours
        .env
        .iter()
        .map(|v| format!("{}={}", v.key, v.value))
        .collect();
    assert_eq!(env, strings(&theirs["Config"]["Env"]));
    let secret = |key: &str| ours.env.iter().find(|v| v.key == key).expect(key).secret;
    assert!(secret("API_TOKEN"));
    assert!(!secret("GREETING"));

    // Mounts: the named volume and the read-only bind, as Docker lists them.
    assert_eq!(ours.mounts.len(), 2);
    for mount in &ours.mounts {
        let theirs = theirs["Mounts"]
            .as_array()
            .expect("Mounts")
            .iter()
            .find(|m| m["Destination"] == mount.target.as_str())
            .unwrap_or_else(|| panic!("docker lists no mount at {}", mount.target));
        assert_eq!(mount.kind, theirs["Type"]);
        assert_eq!(mount.source, theirs["Source"]);
        assert_eq!(mount.read_write, theirs["RW"]);
        assert_eq!(mount.mode, theirs["Mode"]);
    }
    let data = ours.mounts.iter().find(|m| m.target == "/data").unwrap();
    assert_eq!(
        data.volume.as_deref(),
        Some(&*format!("{}_data", stack.name))
    );
    let site = ours.mounts.iter().find(|m| m.target == "/site").unwrap();
    assert_eq!((site.kind.as_str(), site.read_write), ("bind", false));
    assert_eq!(site.volume, None);

    // The network, its address and aliases.
    assert_eq!(ours.networks.len(), 1);
    let net = &ours.networks[0];
    let theirs_net = &theirs["NetworkSettings"]["Networks"][&net.name];
    assert_eq!(net.name, format!("{}_back", stack.name));
    assert_eq!(net.ipv4, theirs_net["IPAddress"]);
    assert!(!net.ipv4.is_empty());
    assert_eq!(net.aliases, strings(&theirs_net["Aliases"]));
    assert!(net.aliases.iter().any(|a| a == "api"), "{:?}", net.aliases);

    // Labels, the image, the restart policy and count.
    let labels = theirs["Config"]["Labels"].as_object().expect("Labels");
    assert_eq!(ours.labels.len(), labels.len());
    for (key, value) in &ours.labels {
        assert_eq!(labels[key], value.as_str(), "{key}");
    }
    assert!(ours.labels.contains(&("team".into(), "berth".into())));
    let image: Json =
        serde_json::from_str::<Vec<Json>>(&docker(&["image", "inspect", &ours.image.id]))
            .expect("docker image inspect's JSON")
            .remove(0);
    assert_eq!(ours.image.name, "berth-test/busybox:1");
    assert_eq!(ours.image.id, theirs["Image"]);
    assert_eq!(ours.image.created, image["Created"]);
    assert_eq!(ours.image.size, image["Size"]);
    assert!(ours.image.size > 0);
    assert_eq!(ours.restart_policy, "on-failure:3");
    assert_eq!(ours.restart_count, theirs["RestartCount"]);

    // The health checks the engine keeps, with their exit codes, output and times.
    let log = theirs["State"]["Health"]["Log"]
        .as_array()
        .expect("a health log");
    assert!(!ours.health_checks.is_empty());
    let first = &ours.health_checks[0];
    let same = log
        .iter()
        .find(|h| h["Start"] == first.start.as_str())
        .expect("docker lists our first check");
    assert_eq!(first.end, same["End"]);
    assert_eq!(first.exit_code, same["ExitCode"]);
    assert_eq!(first.output, same["Output"]);
    assert_eq!((first.exit_code, first.output.as_str()), (0, "checked\n"));

    // The configuration in compose's shape, its secret masked.
    let config = &inspected.config;
    assert!(config.starts_with("services:\n  app:\n"), "{config}");
    assert!(config.contains("GREETING: hello"), "{config}");
    assert!(
        config.contains(MASK) && !config.contains("t0ps3cret"),
        "{config}"
    );
    assert!(config.contains("target: /site"), "{config}");

    // Only the project's services.
    let err = stack
        .stack
        .inspect("nginx")
        .await
        .expect_err("not a service");
    assert!(err.to_string().contains("app"), "{err}");
}

fn strings(list: &Json) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

//! Networks and volumes whose configuration changed, as docker compose v2.40.3 treats them: a
//! changed network is recreated (its containers with it), a changed volume is kept with a
//! warning, and a network of the same name that is not the project's is an error that says
//! what to do. Both tools write the same config hash labels, so neither undoes the other.

use std::process::Command;

use berth_engine::{Progress, ProgressEvent, StackError, UpOptions};
use berth_tests::compose::ComposeProject;
use berth_tests::docker;
use berth_tests::stacks::{TestStack, load};

fn label(kind: &str, name: &str, label: &str) -> String {
    docker(&[
        kind,
        "inspect",
        "--format",
        &format!("{{{{index .Labels \"{label}\"}}}}"),
        name,
    ])
}

fn yaml(network_tier: &str, volume_tier: &str) -> String {
    // A subnet of its own per test process, so parallel runs do not collide.
    let octet = std::process::id() % 200 + 20;
    format!(
        r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    networks: [front]
    volumes: ["data:/data"]
networks:
  front:
    labels: {{ tier: "{network_tier}" }}
    driver_opts: {{ com.docker.network.bridge.enable_icc: "true" }}
    ipam:
      config:
        - subnet: 10.{octet}.7.0/24
          gateway: 10.{octet}.7.1
volumes:
  data:
    labels: {{ tier: "{volume_tier}" }}
"#
    )
}

async fn up(t: &TestStack) -> Vec<String> {
    let (progress, mut events) = Progress::channel();
    let opts = UpOptions {
        wait: true,
        ..Default::default()
    };
    let result = t.stack.up(&opts, &progress).await;
    drop(progress);
    let mut lines = Vec::new();
    while let Some(e) = events.recv().await {
        lines.push(match e {
            ProgressEvent::Warning { message } => format!("WARN {message}"),
            ProgressEvent::Resource {
                resource,
                name,
                status,
            } => format!("{resource} {name} {status}"),
            other => format!("{other:?}"),
        });
    }
    result.unwrap_or_else(|e| panic!("up failed: {e}\n{lines:#?}"));
    lines
}

#[tokio::test]
async fn a_changed_network_is_recreated_and_a_changed_volume_kept_as_compose_does() {
    let mut t = TestStack::new("net-change", &yaml("one", "one")).await;
    let network = format!("{}_front", t.name);
    let volume = format!("{}_data", t.name);
    let web = format!("{}-web-1", t.name);
    // docker compose creates them: Berth computes the very hashes compose wrote.
    let compose = ComposeProject::new(t.name.clone(), t.file());
    compose.run(&["up", "-d", "--wait"]);
    let project = load(&t.dir, &t.name);
    assert_eq!(
        label("network", &network, "com.docker.compose.config-hash"),
        berth_engine::network_hash(&project.networks["front"])
    );
    assert_eq!(
        label("volume", &volume, "com.docker.compose.config-hash"),
        berth_engine::volume_hash(&project.volumes["data"])
    );
    docker(&["exec", &web, "sh", "-c", "echo kept > /data/mark"]);
    let before = (
        docker(&["network", "inspect", "--format", "{{.Id}}", &network]),
        docker(&["inspect", "--format", "{{.Id}}", &web]),
    );

    t.rewrite(&yaml("two", "two"));
    let progress = up(&t).await;
    let after = (
        docker(&["network", "inspect", "--format", "{{.Id}}", &network]),
        docker(&["inspect", "--format", "{{.Id}}", &web]),
    );
    assert_ne!(
        after.0, before.0,
        "the network was recreated: {progress:#?}"
    );
    assert_ne!(after.1, before.1, "its container was recreated on it");
    assert_eq!(label("network", &network, "tier"), "two");
    let aliases = docker(&[
        "inspect",
        "--format",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}"),
        &web,
    ]);
    assert!(aliases.contains("\"web\""), "{aliases}");
    // The volume is kept, data and all, and the user is told how to apply the change.
    assert_eq!(label("volume", &volume, "tier"), "one");
    assert_eq!(docker(&["exec", &web, "cat", "/data/mark"]), "kept");
    assert!(
        progress.iter().any(|l| l.starts_with(&format!(
            "WARN volume \"{volume}\" exists but doesn't match configuration"
        )) && l.contains("docker volume rm")),
        "{progress:#?}"
    );

    // docker compose finds nothing to redo on Berth's network.
    let again = compose.run(&["up", "-d", "--wait"]);
    let again = String::from_utf8_lossy(&again.stderr);
    assert!(!again.contains("Removed"), "{again}");
    assert_eq!(
        docker(&["network", "inspect", "--format", "{{.Id}}", &network]),
        after.0
    );
}

#[tokio::test]
async fn a_network_of_that_name_made_outside_the_project_is_an_error_naming_the_fix() {
    let yaml = r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    networks: [front]
networks:
  front: {}
"#;
    let t = TestStack::new("net-foreign", yaml).await;
    let network = format!("{}_front", t.name);
    docker(&["network", "create", &network]);
    let err = t.up(UpOptions::default()).await.unwrap_err();
    let _ = Command::new("docker")
        .args(["network", "rm", &network])
        .output();
    assert!(matches!(err, StackError::NetworkNotOurs { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "network {network} was found but has incorrect label com.docker.compose.network set to \"\" (expected: \"front\")"
        )),
        "compose's words: {message}"
    );
    assert!(message.contains("external: true"), "{message}");
}

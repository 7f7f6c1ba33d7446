//! The `berthctl` binary as a user meets it: help, and the engine it talks to.

use std::process::Command;

use berth_tests::stacks::TestStack;
use berth_tests::{engine, first_event, workspace_binary};

#[test]
fn help_lists_the_commands() {
    let output = Command::new(workspace_binary("berthctl"))
        .arg("--help")
        .output()
        .expect("run berthctl");
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    for command in ["config", "version"] {
        assert!(help.contains(command), "`{command}` missing from:\n{help}");
    }
    assert!(help.contains("--file"), "{help}");
}

#[tokio::test]
async fn version_names_the_engine_it_reaches() {
    let expected = engine().await.version().await.expect("engine version");
    let output = Command::new(workspace_binary("berthctl"))
        .args(["version", "--json"])
        .output()
        .expect("run berthctl");
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["engine"]["version"], expected.version.as_str());
    assert_eq!(json["engine"]["api_version"], expected.api_version.as_str());
}

#[test]
fn an_absent_engine_is_an_error_that_says_what_to_do() {
    let output = Command::new(workspace_binary("berthctl"))
        .arg("version")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run berthctl");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: no Docker engine answers at unix:///nonexistent/docker.sock"),
        "{stderr}"
    );
    assert!(stderr.contains("Start the Docker daemon"), "{stderr}");
}

#[tokio::test]
async fn events_json_starts_with_the_current_state() {
    let yaml = "services:\n  app:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n";
    let t = TestStack::new("events-first", yaml).await;
    t.up_wait().await;
    let mut command = Command::new(workspace_binary("berthctl"));
    command
        .args(["-p", &t.name, "-f"])
        .arg(t.file())
        .args(["events", "--json"]);
    let snapshot = first_event(command);
    assert_eq!(snapshot["engine"]["kind"], "available", "{snapshot}");
    let containers = snapshot["services"]["app"]["containers"]
        .as_array()
        .expect("app's containers");
    assert_eq!(containers.len(), 1, "{snapshot}");
    assert_eq!(containers[0]["state"], "running", "{snapshot}");
}

//! berthctl finds the engine the way the docker CLI does: through the current Docker context.

use std::process::Command;

use berth_tests::workspace_binary;

/// The docker CLI's id for a context: the hex SHA-256 of its name, computed with `sha256sum`
/// so the test does not share the code it checks.
fn context_id(name: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("printf %s '{name}' | sha256sum")])
        .output()
        .expect("sha256sum");
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn the_current_context_in_config_json_names_the_engine() {
    let dir = std::env::temp_dir().join(format!("berth-test-context-{}", std::process::id()));
    let meta = dir.join("contexts/meta").join(context_id("bed"));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"bed","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///var/run/docker.sock","SkipTLSVerify":false}}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("config.json"), r#"{"currentContext":"bed"}"#).unwrap();
    let run = |config: &std::path::Path| {
        Command::new(workspace_binary("berthctl"))
            .args(["version", "--json"])
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env("DOCKER_CONFIG", config)
            .output()
            .unwrap()
    };
    let out = run(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["engine"]["endpoint"], "unix:///var/run/docker.sock");

    // A context pointing nowhere is reported with that endpoint.
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"bed","Endpoints":{"docker":{"Host":"unix:///nonexistent/docker.sock"}}}"#,
    )
    .unwrap();
    let out = run(&dir);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unix:///nonexistent/docker.sock"));
    std::fs::remove_dir_all(&dir).unwrap();
}

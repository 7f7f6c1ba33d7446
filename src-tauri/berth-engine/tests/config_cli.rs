//! `berthctl config` against the compose corpus: same JSON as `docker compose config`, and
//! rustc-style located errors for a bad file.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    let dir = std::env::var_os("BERTH_COMPOSE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compose-corpus")
        });
    dir.canonicalize().unwrap_or_else(|_| {
        panic!(
            "compose corpus not found at {} (set BERTH_COMPOSE_CORPUS to its path)",
            dir.display()
        )
    })
}

fn berthctl(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berthctl"));
    c.current_dir(dir).env_clear();
    for k in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(k) {
            c.env(k, v);
        }
    }
    c
}

#[test]
fn config_json_matches_docker_compose() {
    let corpus = corpus();
    let dir = corpus.join("awesome-compose/nginx-flask-mysql");
    let out = berthctl(&dir)
        .args(["-f", "compose.yaml", "config", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reference = std::fs::read_to_string(dir.join("compose.yaml.config.json"))
        .unwrap()
        .replace("@CORPUS@", &corpus.to_string_lossy());
    let want: serde_json::Value = serde_json::from_str(&reference).unwrap();
    assert_eq!(got["name"], want["name"]);
    assert_eq!(got["networks"], want["networks"]);
    for (name, service) in want["services"].as_object().unwrap() {
        for field in [
            "image",
            "command",
            "environment",
            "ports",
            "depends_on",
            "healthcheck",
            "volumes",
            "secrets",
        ] {
            assert_eq!(
                got["services"][name][field], service[field],
                "services.{name}.{field}"
            );
        }
    }
}

#[test]
fn config_reports_located_errors() {
    let dir = std::env::temp_dir().join(format!("berthctl-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    image: nginx\n    prots: ['80:80']\n",
    )
    .unwrap();
    let out = berthctl(&dir).args(["config"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let file = dir.join("compose.yaml");
    assert!(
        err.contains("error: services.web: additional property 'prots' not allowed"),
        "{err}"
    );
    assert!(
        err.contains(&format!(" --> {}:4:5", file.display())),
        "{err}"
    );
    assert!(err.contains("did you mean `ports`?"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `config`'s YAML loads again, in Berth and in `docker compose`: a key longer than YAML's
/// 1,024-character limit for `key:` is written as `? key`.
#[test]
fn config_output_with_a_long_key_loads_again() {
    let dir = std::env::temp_dir().join(format!("berthctl-long-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = "K".repeat(1500);
    std::fs::write(
        dir.join("compose.yaml"),
        format!(
            "services:\n  web:\n    image: nginx\n    environment:\n      ? {key}\n      : v\n    labels:\n      ? {key}\n      : l\n"
        ),
    )
    .unwrap();
    let out = berthctl(&dir).args(["config"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("printed.yaml"), &out.stdout).unwrap();

    let again = berthctl(&dir)
        .args(["-f", "printed.yaml", "config", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "berthctl: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    let project: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(project["services"]["web"]["environment"][&key], "v");
    assert_eq!(project["services"]["web"]["labels"][&key], "l");

    let compose = Command::new("docker")
        .current_dir(&dir)
        .args([
            "compose",
            "-f",
            "printed.yaml",
            "config",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        compose.status.success(),
        "docker compose: {}",
        String::from_utf8_lossy(&compose.stderr)
    );
    let project: serde_json::Value = serde_json::from_slice(&compose.stdout).unwrap();
    assert_eq!(project["services"]["web"]["environment"][&key], "v");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `berthctl config` in `dir`, killing it if it has not finished in 60 s.
fn config_within_a_minute(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut child = berthctl(dir)
        .args(args)
        .arg("config")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("berthctl {args:?} config still running after 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Inputs that once aborted or hung `config` end in a located error and exit status 1.
#[test]
fn config_refuses_hostile_inputs_with_a_located_error() {
    let dir = std::env::temp_dir().join(format!("berthctl-hostile-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    let n = 100_000;
    let nested = format!("{}x{}", "${A:-".repeat(n), "}".repeat(n));
    let cases: [(String, &[&str], &str); 4] = [
        (
            format!("services:\n  web:\n    image: \"{nested}\"\n"),
            &[],
            "nested deeper than 64 levels",
        ),
        (
            "services:\n  web:\n    image: nginx\n    env_file: /dev/zero\n".into(),
            &[],
            "env file /dev/zero is a character device, not a file",
        ),
        (
            "services:\n  web:\n    image: nginx\n".into(),
            &["--env-file", "/dev/zero"],
            "env file /dev/zero is a character device, not a file",
        ),
        (
            "services:\n  web:\n    image: nginx\n".into(),
            &["-f", "conf.d"],
            "is a directory, not a file",
        ),
    ];
    for (yaml, args, message) in cases {
        std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
        let out = config_within_a_minute(&dir, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.contains(" --> "), "{args:?}: located: {err}");
        assert!(err.contains("= help: "), "{args:?}: says what to do: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

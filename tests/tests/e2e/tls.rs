//! An engine over `tcp://` with TLS, as the docker CLI reaches one: a context's certificates,
//! DOCKER_TLS_VERIFY with DOCKER_CERT_PATH, a CA alone when the engine asks no client
//! certificate, and a wrong CA or a missing client certificate refused with what to fix. The
//! endpoint is a real TLS proxy (socat, certificates made by the test) before the shared engine.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_tests::compose::ComposeProject;
use berth_tests::tls::{Clients, TlsEngine};
use berth_tests::{first_event, unique_project, workspace_binary};

const STACK: &str = "services:
  web:
    image: berth-test/busybox:1
    command: [sh, -c, 'echo hello over tls; exec sleep 600']
    stop_grace_period: 0s
";

/// A stack started by the real `docker compose` on the local socket, in its own directory.
fn stack(what: &str) -> (ComposeProject, std::path::PathBuf) {
    let name = unique_project(what);
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, STACK).unwrap();
    let project = ComposeProject::new(&name, &file);
    project.run(&["up", "-d"]);
    (project, file)
}

/// `PROGRAM ARGS…` with the docker CLI's config in `config` and no engine in the environment
/// but `env`.
fn run(
    program: impl AsRef<std::ffi::OsStr>,
    config: &Path,
    env: &[(&str, &Path)],
    args: &[&str],
) -> Output {
    let mut command = command(program, config, args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the command")
}

/// `PROGRAM ARGS…` with the docker CLI's config in `config` and no engine in the environment.
fn command(program: impl AsRef<std::ffi::OsStr>, config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    for var in [
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
    ] {
        command.env_remove(var);
    }
    command.env("DOCKER_CONFIG", config).args(args);
    command
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn failed(out: Output) -> String {
    assert!(
        !out.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// `berthctl version --json`, run with `env`, names `host` as the engine it reached.
fn assert_reaches(config: &Path, env: &[(&str, &Path)], host: &str) {
    let version = ok(run(
        workspace_binary("berthctl"),
        config,
        env,
        &["version", "--json"],
    ));
    let version: serde_json::Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["engine"]["endpoint"], host);
}

/// The services and states `ps --format json` printed.
fn rows(ps: &str) -> Vec<(String, String)> {
    ps.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["Service"].as_str().unwrap().to_owned(),
                v["State"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_tls_context_and_docker_tls_verify_reach_the_engine_with_a_client_certificate() {
    let tls = TlsEngine::start("mutual", Clients::Certified);
    let (project, file) = stack("tls");
    let config = tls.dir.join("docker-config");
    let certs = tls.cert_path("client", "ca", true);
    let context = "berth-test-tls";
    tls.create_context(&config, context, &certs);
    // The docker CLI itself reaches the engine through the context: the fixture is sound.
    ok(run(
        "docker",
        &config,
        &[],
        &["--context", context, "version"],
    ));

    let file = file.to_str().unwrap();
    let ps = ["-p", &project.name, "-f", file, "ps", "--format", "json"];
    let in_context = |command: &[&'static str]| {
        let mut args = vec!["--context", context, "-p", &project.name, "-f", file];
        args.extend_from_slice(command);
        args
    };
    let want = vec![("web".to_owned(), "running".to_owned())];
    let by_context = in_context(&["ps", "--format", "json"]);
    let out = ok(run(workspace_binary("berthctl"), &config, &[], &by_context));
    assert_eq!(rows(&out), want, "{out}");

    // Logs are read on a TLS connection of Berth's own (logs/wire.rs), with the same files.
    let logs = in_context(&["logs", "--no-log-prefix"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = ok(run(workspace_binary("berthctl"), &config, &[], &logs));
        if out.contains("hello over tls") {
            break;
        }
        assert!(Instant::now() < deadline, "no line in {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The session (berthctl events, as the window's) connects with the context's certificates.
    let events = in_context(&["events", "--json"]);
    let snapshot = first_event(command(workspace_binary("berthctl"), &config, &events));
    assert_eq!(
        snapshot["services"]["web"]["containers"][0]["state"], "running",
        "{snapshot}"
    );

    let host = tls.host();
    let env = [
        ("DOCKER_HOST", Path::new(&host)),
        ("DOCKER_TLS_VERIFY", Path::new("1")),
        ("DOCKER_CERT_PATH", certs.as_path()),
    ];
    let out = ok(run(workspace_binary("berthctl"), &config, &env, &ps));
    assert_eq!(rows(&out), want, "{out}");
    assert_reaches(&config, &env, &host);
}

#[test]
fn a_ca_alone_reaches_an_engine_that_asks_no_client_certificate() {
    let tls = TlsEngine::start("ca-only", Clients::Anyone);
    let config = tls.dir.join("docker-config");
    let certs = tls.cert_path("ca-only", "ca", false);
    let host = tls.host();
    let env = [
        ("DOCKER_HOST", Path::new(&host)),
        ("DOCKER_TLS_VERIFY", Path::new("1")),
        ("DOCKER_CERT_PATH", certs.as_path()),
    ];
    ok(run("docker", &config, &env, &["version"]));
    assert_reaches(&config, &env, &host);

    // A context with the CA alone, as `docker context create --docker host=…,ca=…` stores it.
    tls.create_context(&config, "berth-test-ca-only", &certs);
    let args = ["--context", "berth-test-ca-only", "version", "--json"];
    ok(run(workspace_binary("berthctl"), &config, &[], &args));
}

#[test]
fn a_wrong_ca_or_no_client_certificate_is_refused_with_what_to_fix() {
    let tls = TlsEngine::start("refused", Clients::Certified);
    let config = tls.dir.join("docker-config");
    let host = tls.host();
    let berthctl = |certs: &Path| {
        let env = [
            ("DOCKER_HOST", Path::new(&host)),
            ("DOCKER_TLS_VERIFY", Path::new("1")),
            ("DOCKER_CERT_PATH", certs),
        ];
        failed(run(
            workspace_binary("berthctl"),
            &config,
            &env,
            &["version"],
        ))
    };

    let wrong = tls.cert_path("wrong-ca", "other-ca", true);
    let err = berthctl(&wrong);
    let ca = wrong.join("ca.pem");
    assert!(err.contains(&host), "{err}");
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains(&ca.display().to_string()), "{err}");
    assert!(!err.contains("rustls") && !err.contains("hyper"), "{err}");

    let no_client = tls.cert_path("no-client", "ca", false);
    let err = berthctl(&no_client);
    assert!(err.contains(&host), "{err}");
    assert!(err.contains("client certificate"), "{err}");
    assert!(err.contains("cert.pem"), "{err}");

    // A context, or DOCKER_TLS, that skips verifying the engine's certificate is refused.
    let unverified = "berth-test-unverified";
    let out = run(
        "docker",
        &config,
        &[],
        &[
            "context",
            "create",
            unverified,
            "--docker",
            &format!("host={host},skip-tls-verify=true"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = ["--context", unverified, "version"];
    let err = failed(run(workspace_binary("berthctl"), &config, &[], &args));
    assert!(
        err.contains(unverified) && err.contains("skip-tls-verify"),
        "{err}"
    );
    assert!(err.contains("docker context update"), "{err}");
    let env = [
        ("DOCKER_HOST", Path::new(&host)),
        ("DOCKER_TLS", Path::new("1")),
    ];
    let err = failed(run(
        workspace_binary("berthctl"),
        &config,
        &env,
        &["version"],
    ));
    assert!(err.contains("DOCKER_TLS_VERIFY=1"), "{err}");

    // DOCKER_TLS_VERIFY without a CA file: the file is named, as the docker CLI names it.
    let empty = tls.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = berthctl(&empty);
    assert!(
        err.contains(&empty.join("ca.pem").display().to_string()),
        "{err}"
    );
}

/// The engine's alert can be lost: a TLS 1.3 client sends its request as soon as its side of
/// the handshake is done, and when the engine refuses it and closes with that request unread,
/// the reset can reach the client before the alert. Berth asks again on a handshake of its own.
#[test]
fn a_refusal_whose_alert_a_reset_overtook_still_names_the_missing_client_certificate() {
    let tls = TlsEngine::start("cut", Clients::CertifiedOrCut);
    let config = tls.dir.join("docker-config");
    let host = tls.host();
    let no_client = tls.cert_path("no-client", "ca", false);
    let env = [
        ("DOCKER_HOST", Path::new(&host)),
        ("DOCKER_TLS_VERIFY", Path::new("1")),
        ("DOCKER_CERT_PATH", no_client.as_path()),
    ];
    let err = failed(run(
        workspace_binary("berthctl"),
        &config,
        &env,
        &["version"],
    ));
    assert!(err.contains(&host), "{err}");
    assert!(err.contains("asks for a client certificate"), "{err}");
    assert!(
        err.contains(&no_client.join("cert.pem").display().to_string()),
        "{err}"
    );

    // With its certificate the client is let through: the endpoint cuts only those without.
    let certified = tls.cert_path("client", "ca", true);
    let env = [
        ("DOCKER_HOST", Path::new(&host)),
        ("DOCKER_TLS_VERIFY", Path::new("1")),
        ("DOCKER_CERT_PATH", certified.as_path()),
    ];
    assert_reaches(&config, &env, &host);
}

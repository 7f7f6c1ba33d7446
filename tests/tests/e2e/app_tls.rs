//! The window connects to a Docker context over TLS as berthctl does: the context's
//! certificates, chosen in Project ▾, reach an engine that asks for a client certificate, and
//! the stack's rows come back with the engine's host, version and context named. Real app, real
//! engine behind a real TLS endpoint (tests/src/tls.rs), a DOCKER_CONFIG of the test's own.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::compose::ComposeProject;
use berth_tests::tls::{Clients, TlsEngine};
use berth_tests::{docker, unique_project, workspace_binary};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_context_chosen_in_the_window_shows_the_stack_with_its_engine() {
    let tls = TlsEngine::start("app", Clients::Certified);
    let name = unique_project("app-tls");
    let dir = tls.dir.join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        "services:\n  web:\n    image: berth-test/busybox:1\n    command: [sh, -c, 'exec sleep 600']\n    stop_grace_period: 0s\n",
    )
    .unwrap();
    let project = ComposeProject::new(&name, &file);
    project.run(&["up", "-d"]);
    let config = tls.dir.join("docker-config");
    let context = format!("berth-test-tls-{}", std::process::id());
    tls.create_context(&config, &context, &tls.cert_path("client", "ca", true));

    let app = App::launch_with_env(
        &workspace_binary("berth"),
        &["-f", file.to_str().unwrap(), "-p", &name],
        &[("DOCKER_CONFIG", config.to_str().unwrap())],
    )
    .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;
    app.choose_engine_context(&context, &tls.host(), WAIT).await;

    let host = tls.host();
    app.text_when("[data-testid=engine-detail]", WAIT, |t| {
        t.ends_with(&format!("at {host}"))
    })
    .await;
    let version = docker(&["version", "--format", "{{.Server.Version}}"]);
    app.text_when("[data-testid=engine-status]", WAIT, |t| {
        t == format!("Docker {version} · {context}")
    })
    .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;
    app.quit().await;
}

//! The stored log history in the window: after the app restarts, a line written by a
//! container that has since been recreated (Docker has thrown its logs away) is found by the
//! viewer's search.

use std::process::Command;
use std::time::Duration;

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::{unique_project, workspace_binary};

/// A service printing `<V> line <n>.` every 50 ms.
fn counter(v: &str) -> String {
    format!(
        "services:\n  counter:\n    image: berth-test/busybox:1\n    environment:\n      V: {v}\n    \
         command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; i=0; while true; do i=$$((i+1)); \
         echo \\\"$$V line $$i.\\\"; sleep 0.05; done\"]\n"
    )
}

fn compose_up(name: &str, file: &std::path::Path) {
    let out = Command::new("docker")
        .args(["compose", "-p", name, "-f"])
        .arg(file)
        .args(["up", "-d"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_recreated_containers_line_is_found_after_a_restart() {
    let name = unique_project("app-history");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, counter("first")).unwrap();
    compose_up(&name, &file);
    let wait = Duration::from_secs(30);
    let rows = "[data-testid=log-row]";
    let args = ["-f", file.to_str().expect("UTF-8 path"), "-p", &name];
    let binary = workspace_binary("berth");

    let app = App::launch_with_config(&binary, &args, &config).await;
    // Any of the first container's lines: the view renders only its newest rows, and under
    // load the app shows up after hundreds of lines (line 7 then long scrolled off). The whole
    // log is read in one sorted backlog, so line 7 is in the hub (and found by the search below).
    app.texts_when(rows, wait, |rows| {
        rows.iter().any(|r| r.contains("first line "))
    })
    .await;
    app.quit().await;

    // Recreated (its environment changed): the engine has no line of the first container.
    std::fs::write(&file, counter("second")).unwrap();
    compose_up(&name, &file);
    let logs = Command::new("docker")
        .args(["logs", &format!("{name}-counter-1")])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&logs.stdout).contains("first line"));

    let app = App::launch_with_config(&binary, &args, &config).await;
    app.texts_when(rows, wait, |rows| {
        rows.iter().any(|r| r.contains("second line"))
    })
    .await;
    let search = app
        .client
        .find(fantoccini::Locator::Css("[data-testid=log-search]"))
        .await
        .expect("the search box");
    search
        .send_keys("first line 7.\u{E007}")
        .await
        .expect("type");
    app.text_when("[data-testid=log-match-count]", wait, |t| {
        t == "1 matching line"
    })
    .await;
    app.click("[data-testid=log-next]").await;
    let marked = app
        .texts_when(&format!("{rows} .match"), wait, |m| !m.is_empty())
        .await;
    assert_eq!(marked, ["first line 7."]);
    app.quit().await;
    std::fs::remove_dir_all(&dir).ok();
}

//! Watch in the window: the header's Watch starts the services with `develop.watch` and syncs
//! an edit into the container, also while the window is hidden; the row says "synced 1 file" and
//! the log has Berth's own row about it; a row's Watch turned off syncs that service's edits no
//! more while the others' go on. On a copy of tests/fixtures/watch, real app, real engine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::{fixture, unique_project, workspace_binary};

/// The fixture copied into a fresh directory; removed, with the images built for it, on drop.
struct Copy {
    dir: PathBuf,
    name: String,
}

impl Copy {
    fn new(name: &str) -> Copy {
        let dir = std::env::temp_dir().join(name);
        for service in ["web", "api"] {
            let src = dir.join(service).join("src");
            std::fs::create_dir_all(&src).unwrap();
            let from = fixture(&format!("watch/{service}"));
            std::fs::copy(
                from.join("Dockerfile"),
                dir.join(service).join("Dockerfile"),
            )
            .unwrap();
            std::fs::copy(from.join("src/index.txt"), src.join("index.txt")).unwrap();
        }
        std::fs::copy(fixture("watch/compose.yaml"), dir.join("compose.yaml")).unwrap();
        Copy {
            dir,
            name: name.to_owned(),
        }
    }

    /// Saves `text` as the service's src/index.txt.
    fn edit(&self, service: &str, text: &str) {
        std::fs::write(self.dir.join(service).join("src/index.txt"), text).unwrap();
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        for service in ["web", "api"] {
            let image = format!("{}-{service}", self.name);
            let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What `cat /app/index.txt` prints in the service's container (empty while it cannot).
fn content(project: &str, service: &str) -> String {
    let out = Command::new("docker")
        .args([
            "exec",
            &format!("{project}-{service}-1"),
            "cat",
            "/app/index.txt",
        ])
        .output()
        .expect("docker exec");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Polls the container's file until it reads `want`.
async fn content_when(project: &str, service: &str, want: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let now = content(project, service);
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{service}'s /app/index.txt reads {now:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn watch_state(service: &str) -> String {
    format!("[data-testid=services] tr[data-service={service}] [data-testid=watch-state]")
}

fn watch_button(service: &str) -> String {
    format!("[data-testid=services] tr[data-service={service}] [data-action=watch]")
}

#[tokio::test]
async fn watch_syncs_an_edit_into_the_container_and_a_row_turned_off_syncs_no_more() {
    let name = unique_project("app-watch");
    let copy = Copy::new(&name);
    let _cleanup = Cleanup(name.clone());
    let file = copy.dir.join("compose.yaml");
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", path(&file), "-p", &name],
    )
    .await;
    let long = Duration::from_secs(120);

    // Only the services with develop.watch have a Watch toggle.
    let toggles = app
        .texts_when("[data-testid=services] [data-action=watch]", long, |t| {
            t.len() == 2
        })
        .await;
    assert_eq!(toggles.len(), 2);

    // The header's Watch builds and starts them (as `docker compose watch` does), then watches.
    app.click("[data-testid=watch]").await;
    for service in ["web", "api"] {
        app.text_when(&watch_state(service), long, |t| t == "watching")
            .await;
        app.cell_when(service, "state", long, |t| t.starts_with("running"))
            .await;
    }
    assert_eq!(content(&name, "web"), "one");

    // An edit made while the window is hidden reaches the container.
    let windows = app.hide_window().await;
    copy.edit("web", "two\n");
    content_when(&name, "web", "two", Duration::from_secs(10)).await;
    app.show_window(&windows).await;
    let state = app
        .text_when(&watch_state("web"), long, |t| t.starts_with("synced"))
        .await;
    assert!(state.starts_with("synced 1 file "), "{state}");
    // The log has Berth's own row for web, apart from the containers' output.
    let own = app
        .texts_when(
            "[data-testid=log-row]:has([data-testid=log-berth]) .svc",
            long,
            |t| t.iter().any(|s| s == "web"),
        )
        .await;
    assert!(own.iter().all(|s| s == "web" || s == "api"), "{own:?}");

    // Off for web alone: its next edit stays out, while api's, made after it, is synced.
    app.click(&format!("{}[aria-pressed=true]", watch_button("web")))
        .await;
    app.texts_when(&watch_state("web"), long, <[String]>::is_empty)
        .await;
    copy.edit("web", "three\n");
    copy.edit("api", "two\n");
    content_when(&name, "api", "two", Duration::from_secs(10)).await;
    app.text_when(&watch_state("api"), long, |t| {
        t.starts_with("synced 1 file")
    })
    .await;
    assert_eq!(
        content(&name, "web"),
        "two",
        "web's edit was synced unwatched"
    );

    // The header's Watch ends the rest.
    app.click("[data-testid=watch][aria-pressed=true]").await;
    app.texts_when(
        "[data-testid=services] [data-testid=watch-state]",
        long,
        <[String]>::is_empty,
    )
    .await;
    app.quit().await;
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

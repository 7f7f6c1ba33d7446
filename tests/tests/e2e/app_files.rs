//! Files in the real app on the fixture stack: browse the backend container's filesystem into a
//! directory and back up the path bar, then save a file through the native save dialog and
//! find the container's bytes on disk.

use std::time::Duration;

use berth_tests::app::open_with_backend_up;
use berth_tests::stacks::Cleanup;
use berth_tests::{fixture, unique_project};

#[tokio::test]
async fn browse_the_backend_container_and_save_a_file() {
    let name = unique_project("app-files");
    let _cleanup = Cleanup(name.clone());
    let file = fixture("stack/compose.yaml");
    let wait = Duration::from_secs(30);
    let app = open_with_backend_up(&name, &file, wait).await;

    app.click("[data-testid=services] tr[data-service=backend] [data-action=files]")
        .await;
    let panel = "[data-testid=files]";
    let path = format!("{panel} [data-testid=files-path]");
    app.text_when(&path, wait, |t| t == "/").await;
    let names = format!("{panel} [data-testid=files-entry] .name");
    app.texts_when(&names, wait, |n| n.iter().any(|n| n == "etc"))
        .await;

    // Into /app (the backend's code), then back to / from the path bar, and into /app again.
    app.click(&format!(
        "{panel} [data-testid=files-entry][data-name=app] .name"
    ))
    .await;
    app.text_when(&path, wait, |t| t == "/app").await;
    app.texts_when(&names, wait, |n| n.iter().any(|n| n == "server.js"))
        .await;
    app.click(&format!("{panel} [data-testid=files-crumb][data-path='/']"))
        .await;
    app.text_when(&path, wait, |t| t == "/").await;
    app.click(&format!(
        "{panel} [data-testid=files-entry][data-name=app] .name"
    ))
    .await;
    app.text_when(&path, wait, |t| t == "/app").await;

    // Save server.js where the user types in the save dialog.
    let dir = SaveDir(std::env::temp_dir().join(&name));
    std::fs::create_dir_all(&dir.0).expect("a directory to save into");
    let dest = dir.0.join("saved-server.js");
    app.click(&format!(
        "{panel} [data-testid=files-entry][data-name='server.js'] [data-action=save]"
    ))
    .await;
    let dialog = app
        .native_window_when("Save server.js from backend", wait)
        .await;
    app.press(&dialog, "ctrl+a");
    app.type_text(&dialog, dest.to_str().expect("UTF-8 path"));
    app.press(&dialog, "Return");
    app.text_when(&format!("{panel} [data-testid=files-saved]"), wait, |t| {
        t.contains("saved-server.js")
    })
    .await;
    let container = format!("{name}-backend-1");
    let theirs = std::process::Command::new("docker")
        .args(["exec", &container, "cat", "/app/server.js"])
        .output()
        .expect("docker exec cat")
        .stdout;
    assert!(!theirs.is_empty());
    assert_eq!(std::fs::read(&dest).expect("the saved file"), theirs);

    app.quit().await;
}

/// Where the test saves, removed with it even when it fails.
struct SaveDir(std::path::PathBuf);

impl Drop for SaveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

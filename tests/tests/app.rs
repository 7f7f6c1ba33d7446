//! The desktop app starts, shows its window, and its UI reaches the engine through IPC.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::{engine, fixture, workspace_binary};

#[tokio::test]
async fn the_window_opens_and_shows_the_engine_it_is_connected_to() {
    let expected = engine().await.version().await.expect("engine version");
    let app = App::launch(&workspace_binary("berth"), &[]).await;

    assert_eq!(app.client.title().await.expect("window title"), "Berth");
    let status = app
        .text_when(
            "[data-testid=engine-status]",
            Duration::from_secs(20),
            |t| t.starts_with("Docker "),
        )
        .await;
    assert_eq!(status, format!("Docker {}", expected.version));
    let detail = app
        .text_when("[data-testid=engine-detail]", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await;
    assert_eq!(
        detail,
        format!("API {} at {}", expected.api_version, expected.endpoint)
    );

    app.quit().await;
}

#[tokio::test]
async fn with_no_arguments_it_opens_the_bundled_demo_stack_without_starting_it() {
    let app = App::launch(&workspace_binary("berth"), &[]).await;

    let name = app
        .text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
            t == "berth-demo"
        })
        .await;
    assert_eq!(name, "berth-demo");
    let files = app
        .text_when("[data-testid=project-files]", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await;
    assert!(files.ends_with("demo/compose.yaml"), "{files}");

    // Services in start order (each after what it depends on), none of them created.
    assert_eq!(
        service_rows(&app).await,
        [
            ("mongodb".into(), "not created".into()),
            ("redis".into(), "not created".into()),
            ("backend".into(), "not created".into()),
            ("frontend".into(), "not created".into()),
        ]
    );
    app.text_when("[data-testid=stack-status]", Duration::from_secs(20), |t| {
        t == "stopped"
    })
    .await;

    app.quit().await;
}

#[tokio::test]
async fn a_second_launch_hands_over_to_the_running_app_and_exits() {
    let app = App::launch(&workspace_binary("berth"), &[]).await;
    app.text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
        t == "berth-demo"
    })
    .await;

    let started = std::time::Instant::now();
    let mut second = std::process::Command::new(workspace_binary("berth"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("launch a second berth");
    let exited = loop {
        if let Some(status) = second.try_wait().expect("poll the second launch") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(15) {
            second.kill().ok();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let status = exited.expect("the second launch kept running beside the first");
    assert!(status.success(), "{status}");
    // The first instance is still there and answering.
    assert_eq!(app.client.title().await.expect("window title"), "Berth");

    app.quit().await;
}

#[tokio::test]
async fn it_opens_the_compose_files_named_on_its_command_line_like_berthctl() {
    let file = fixture("stack/compose.yaml");
    let app = App::launch(
        &workspace_binary("berth"),
        &[
            "-f",
            file.to_str().expect("UTF-8 path"),
            "-p",
            "berth-test-shop",
        ],
    )
    .await;

    app.text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
        t == "berth-test-shop"
    })
    .await;
    let names: Vec<String> = service_rows(&app).await.into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["mongodb", "redis", "backend", "frontend"]);

    app.quit().await;
}

#[tokio::test]
async fn without_flags_it_reopens_the_last_project_opened() {
    let config = std::env::temp_dir().join(format!("berth-test-recent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&config);
    let file = fixture("stack/compose.yaml");
    let binary = workspace_binary("berth");
    let args = [
        "-f",
        file.to_str().expect("UTF-8 path"),
        "-p",
        "berth-test-recent",
    ];
    let app = App::launch_with_config(&binary, &args, &config).await;
    app.text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
        t == "berth-test-recent"
    })
    .await;
    app.quit().await;

    let app = App::launch_with_config(&binary, &[], &config).await;
    app.text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
        t == "berth-test-recent"
    })
    .await;
    app.quit().await;
    let settings = std::fs::read_to_string(config.join("dev.berth.desktop/settings.json"))
        .expect("the settings file");
    assert!(settings.contains(file.to_str().unwrap()), "{settings}");
    std::fs::remove_dir_all(&config).ok();
}

#[tokio::test]
async fn a_broken_compose_file_shows_where_and_how_to_fix_it() {
    let dir = std::env::temp_dir().join(format!("berth-test-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("compose.yaml");
    std::fs::write(&file, "services:\n  web:\n    imagee: nginx\n").expect("write");

    let app = App::launch(&workspace_binary("berth"), &["-f", file.to_str().unwrap()]).await;
    app.text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
        t == "Invalid compose file"
    })
    .await;
    let error = app
        .text_when("[data-testid=project-error]", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await;
    assert!(
        error.contains(&format!("--> {}:3:5", file.display())),
        "{error}"
    );
    assert!(error.contains("did you mean `image`?"), "{error}");

    app.quit().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// Each row's service and state, once the state model has answered.
async fn service_rows(app: &App) -> Vec<(String, String)> {
    app.text_when(
        "[data-testid=services] [data-col=state]",
        Duration::from_secs(20),
        |t| !t.is_empty(),
    )
    .await;
    let rows = app
        .client
        .find_all(fantoccini::Locator::Css("[data-testid=services] tbody tr"))
        .await
        .expect("service rows");
    let mut out = Vec::new();
    for row in rows {
        let name = row
            .attr("data-service")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let state = row
            .find(fantoccini::Locator::Css("[data-col=state]"))
            .await
            .expect("a state cell")
            .prop("textContent")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        out.push((name, state.trim().to_owned()));
    }
    out
}

#[test]
fn without_a_display_it_says_so_instead_of_crashing() {
    let output = std::process::Command::new(workspace_binary("berth"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run berth");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: Berth needs a display"),
        "{stderr}"
    );
    assert!(stderr.contains("xvfb-run"), "{stderr}");
}

//! The desktop app starts, shows its window, and its UI reaches the engine through IPC.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::{engine, workspace_binary};

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

    // Services in start order: each after what it depends on.
    assert_eq!(
        app.table("[data-testid=services]").await,
        [
            ["mongodb", "mongo:7", "", ""],
            ["redis", "redis:7-alpine", "", ""],
            [
                "backend",
                "node:20-alpine",
                "3000:3000/tcp",
                "mongodb, redis"
            ],
            ["frontend", "nginx:alpine", "8080:80/tcp", "backend"],
        ]
    );

    app.quit().await;
}

//! Inspect in the real app on the fixture stack: a service's panel shows a secret-looking
//! variable masked until clicked, a plain one as it is, its mounts and its configuration, and
//! Esc closes it.

use std::time::Duration;

use berth_tests::app::open_with_backend_up;
use berth_tests::stacks::Cleanup;
use berth_tests::{fixture, unique_project};

#[tokio::test]
async fn inspect_shows_a_masked_and_a_plain_variable_and_a_mount() {
    let name = unique_project("app-inspect");
    let _cleanup = Cleanup(name.clone());
    let file = fixture("stack/compose.yaml");
    let wait = Duration::from_secs(30);
    let app = open_with_backend_up(&name, &file, wait).await;

    app.click("[data-testid=services] tr[data-service=backend] [data-action=inspect]")
        .await;
    let panel = "[data-testid=inspect]";
    app.text_when(&format!("{panel} h2"), wait, |t| t.contains("backend"))
        .await;

    // The secret's value is not on the page until its row is clicked.
    let token = format!("{panel} [data-testid=inspect-env] [data-key=API_TOKEN] .value");
    let masked = app.text_when(&token, wait, |t| !t.is_empty()).await;
    assert!(!masked.contains("fixture-token-value"), "{masked}");
    let page: String = serde_json::from_value(app.eval("return document.body.textContent").await)
        .expect("the page's text");
    assert!(
        !page.contains("fixture-token-value"),
        "the secret is on the page"
    );
    app.click(&token).await;
    app.text_when(&token, wait, |t| t == "fixture-token-value")
        .await;

    // A plain variable reads as it is, without a click.
    let plain = format!("{panel} [data-testid=inspect-env] [data-key=REDIS_HOST] .value");
    assert_eq!(
        app.text_when(&plain, wait, |t| !t.is_empty()).await,
        "redis"
    );

    // The backend's code is bind-mounted read-only at /app.
    let mounts = app
        .texts_when(
            &format!("{panel} [data-testid=inspect-mounts] li"),
            wait,
            |m| !m.is_empty(),
        )
        .await;
    assert!(
        mounts
            .iter()
            .any(|m| m.contains("src-tauri/resources/demo/backend")
                && m.contains("→ /app")
                && m.contains("ro")),
        "{mounts:?}"
    );

    // The configuration as loaded, in compose's shape, the secret masked there too.
    let config = app
        .text_when(
            &format!("{panel} [data-testid=inspect-config]"),
            wait,
            |t| !t.is_empty(),
        )
        .await;
    assert!(config.starts_with("services:"), "{config}");
    assert!(config.contains("REDIS_HOST: redis"), "{config}");
    assert!(!config.contains("fixture-token-value"), "{config}");

    // Esc closes it.
    app.client
        .active_element()
        .await
        .expect("a focused element")
        .send_keys("\u{e00c}")
        .await
        .expect("press Esc");
    app.texts_when(panel, wait, |panels| panels.is_empty())
        .await;

    app.quit().await;
}

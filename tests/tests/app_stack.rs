//! The desktop app runs a real stack: Start, every service running and healthy with its ports,
//! one service stopped from its row, then the whole stack stopped. Real app, real webview, real
//! engine.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::{fixture, unique_project, workspace_binary};

const SERVICES: [&str; 4] = ["mongodb", "redis", "backend", "frontend"];

#[tokio::test]
async fn start_the_fixture_stack_see_it_healthy_stop_a_service_then_the_stack() {
    let name = unique_project("app");
    let _cleanup = Cleanup(name.clone());
    let file = fixture("stack/compose.yaml");
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().expect("UTF-8 path"), "-p", &name],
    )
    .await;
    let long = Duration::from_secs(90);

    // Opening a project never starts it.
    app.text_when("[data-testid=stack-status]", long, |t| t == "stopped")
        .await;
    for service in SERVICES {
        let state = app
            .cell_when(service, "state", long, |t| !t.is_empty())
            .await;
        assert_eq!(state, "not created", "{service}");
    }

    app.click("[data-testid=start]").await;
    for service in SERVICES {
        app.cell_when(service, "state", long, |t| t == "running")
            .await;
        app.cell_when(service, "health", long, |t| t == "healthy")
            .await;
    }
    app.text_when("[data-testid=stack-status]", long, |t| t == "healthy")
        .await;

    // The frontend's published port is a link, and the stack answers through it.
    let url = app
        .client
        .find(fantoccini::Locator::Css(
            "[data-testid=services] tr[data-service=frontend] [data-col=ports] a",
        ))
        .await
        .expect("a link to the frontend")
        .attr("href")
        .await
        .expect("href")
        .expect("a URL");
    assert!(url.starts_with("http://localhost:"), "{url}");
    let health = http_get(&format!("{url}/api/health")).await;
    assert!(health.contains("\"status\":\"ok\""), "{health}");

    // Stopping one service from its row: it stops, and since the user asked, nothing is wrong.
    app.click("[data-testid=services] tr[data-service=backend] [data-action=stop]")
        .await;
    app.cell_when("backend", "state", long, |t| t == "stopped")
        .await;
    app.cell_when("frontend", "state", long, |t| t == "running")
        .await;
    let status = app
        .text_when("[data-testid=stack-status]", long, |t| {
            !t.starts_with("stop") && !t.starts_with("start")
        })
        .await;
    assert_ne!(status, "degraded");

    // The whole stack.
    app.click("[data-testid=stop]").await;
    app.text_when("[data-testid=stack-status]", long, |t| t == "stopped")
        .await;
    for service in SERVICES {
        let state = app
            .cell_when(service, "state", long, |t| !t.is_empty())
            .await;
        assert_eq!(state, "stopped", "{service}");
    }

    app.quit().await;
}

/// A GET through a plain TCP stream: the test needs no HTTP client beyond this.
async fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/"), |(h, p)| (h, p));
    let path = format!("/{}", path.trim_start_matches('/'));
    let addr = host.replace("localhost", "127.0.0.1");
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("read");
    body
}

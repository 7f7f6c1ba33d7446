//! The desktop app runs a real stack: Start, every service running and healthy with its ports,
//! its logs read and searched (hostile ones inert), one service stopped from its row and one
//! with berthctl (the window and `berthctl ps` say the same word), then the whole stack stopped.
//! Real app, real webview, real engine.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::{berthctl_ok, fixture, unique_project, workspace_binary};
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::TryStreamExt;

const SERVICES: [&str; 5] = ["mongodb", "redis", "backend", "frontend", "hostile"];

#[tokio::test]
async fn start_the_fixture_stack_see_it_healthy_stop_a_service_then_the_stack() {
    let name = unique_project("app");
    let _cleanup = Cleanup(name.clone());
    let (file, hostile) = (fixture("stack/compose.yaml"), fixture("stack/hostile.yaml"));
    let app = App::launch(
        &workspace_binary("berth"),
        &[
            "-f",
            file.to_str().expect("UTF-8 path"),
            "-f",
            hostile.to_str().expect("UTF-8 path"),
            "-p",
            &name,
        ],
    )
    .await;
    let long = Duration::from_secs(90);

    // Opening a project never starts it.
    every_service_reads(&app, "not created").await;

    app.click("[data-testid=start]").await;
    // The header tells what the start waits for.
    app.texts_when("[data-testid=progress-current]", long, |t| {
        t.iter()
            .any(|t| t == "frontend waiting for backend to be healthy")
    })
    .await;
    for service in SERVICES {
        app.cell_when(service, "state", long, |t| t == "running")
            .await;
        if service != "hostile" {
            app.cell_when(service, "health", long, |t| t == "healthy")
                .await;
        }
    }
    app.text_when("[data-testid=stack-status]", long, |t| t == "healthy")
        .await;
    // Uptimes keep counting (they once stopped at their first tick).
    let uptime = app
        .cell_when("frontend", "uptime", long, |t| t.ends_with('s'))
        .await;
    app.cell_when("frontend", "uptime", Duration::from_secs(5), |t| {
        t != uptime
    })
    .await;

    // Resource use and port probes come in while the window shows.
    for service in SERVICES {
        app.cell_when(service, "cpu", long, |t| t.ends_with('%'))
            .await;
        app.cell_when(service, "memory", long, |t| t.ends_with("iB"))
            .await;
    }
    for service in ["frontend", "backend"] {
        let css = format!("[data-testid=services] tr[data-service={service}] [data-probe=ok]");
        app.texts_when(&css, long, |probes| !probes.is_empty())
            .await;
    }

    // Probes came once, when the ports appeared; a port's dot asks for one more.
    let backend = format!("{name}-backend-1");
    let before = probe_requests(&backend).await;
    assert!(before >= 1, "the backend was never probed");
    app.click("[data-testid=services] tr[data-service=backend] [data-probe]")
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while probe_requests(&backend).await != before + 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "clicking the dot did not probe the backend once"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

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

    running_rows_fit_the_smallest_window(&app).await;
    logs_are_live_searchable_and_inert(&app).await;
    hidden_logs_catch_up_when_shown(&app, &url, &format!("{name}-frontend-1")).await;
    app.screenshot_if_asked().await;

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

    // Stopped behind the window's back, a service reads as berthctl ps words it.
    let compose = file.to_str().expect("UTF-8 path");
    berthctl_ok(&name, &file, &["stop", "redis"]);
    let cell = app
        .cell_when("redis", "state", long, |t| t == "stopped")
        .await;
    let ps = String::from_utf8(berthctl_ok(&name, &file, &["ps", "-a"])).expect("UTF-8");
    let redis = format!("{name}-redis-1 ");
    let row = ps
        .lines()
        .find(|l| l.starts_with(&redis))
        .unwrap_or_else(|| panic!("berthctl -f {compose} ps -a lists no {redis}:\n{ps}"));
    let column = ps.find("STATUS").expect("a STATUS column");
    assert_eq!(
        row[column..].split("   ").next(),
        Some(cell.as_str()),
        "{ps}"
    );

    // The whole stack.
    app.click("[data-testid=stop]").await;
    every_service_reads(&app, "stopped").await;

    app.quit().await;
}

/// At the window's minimum size, a running stack's rows (ports, CPU, memory, three buttons)
/// fit the services pane without a sideways scroll.
async fn running_rows_fit_the_smallest_window(app: &App) {
    app.client.set_window_size(720, 480).await.expect("resize");
    let fits = "const pane = document.querySelector('[data-testid=services]').parentElement; \
                return [window.innerWidth, pane.scrollWidth, pane.clientWidth]";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let sizes = loop {
        let sizes: Vec<f64> = serde_json::from_value(app.eval(fits).await).expect("sizes");
        if sizes[0] == 720.0 || std::time::Instant::now() > deadline {
            break sizes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        sizes[1] <= sizes[2],
        "the services pane scrolls sideways: {sizes:?}"
    );
    app.client.set_window_size(1280, 800).await.expect("resize");
}

/// The stack is stopped, and every service's state cell reads `state`.
async fn every_service_reads(app: &App, state: &str) {
    let long = Duration::from_secs(90);
    app.text_when("[data-testid=stack-status]", long, |t| t == "stopped")
        .await;
    for service in SERVICES {
        let shown = app
            .cell_when(service, "state", long, |t| !t.is_empty())
            .await;
        assert_eq!(shown, state, "{service}");
    }
}

async fn logs_are_live_searchable_and_inert(app: &App) {
    let wait = Duration::from_secs(30);
    let rows = "[data-testid=log-row]";
    // The request above went through the frontend, which logs each one: a live line.
    app.texts_when(rows, wait, |rows| {
        rows.iter()
            .any(|r| r.starts_with("frontend") && r.ends_with("GET /api/health"))
    })
    .await;

    // Search: the match is counted and highlighted, and next goes to it.
    let search = "[data-testid=log-search]";
    app.type_keys(search, "/api/health\u{E007}").await;
    app.text_when("[data-testid=log-match-count]", wait, |t| {
        t.ends_with("matching line") || t.ends_with("matching lines")
    })
    .await;
    app.click("[data-testid=log-next]").await;
    let marked = app
        .texts_when(&format!("{rows} .match"), wait, |m| !m.is_empty())
        .await;
    assert!(marked.iter().all(|m| m == "/api/health"), "{marked:?}");
    app.fill(search, "\u{E007}").await;

    // Hostile content is text: the markup shows literally, no element is made of it, the escape
    // sequences are gone (the colour kept as a style), and the window title is Berth's.
    app.click("[data-testid=services] tr[data-service=hostile] [data-action=logs]")
        .await;
    app.texts_when(rows, wait, |rows| {
        !rows.is_empty() && rows.iter().all(|r| r.starts_with("hostile"))
    })
    .await;
    // Its output, not the lifecycle markers among it (rows of their own).
    let output = app
        .texts_when(&format!("{rows}:not(.marker)"), wait, |r| !r.is_empty())
        .await;
    let text = output.iter().find(|r| r.starts_with("hostile")).unwrap();
    assert!(text.contains("<img src=x onerror=alert(1)>"), "{text}");
    assert!(text.ends_with("red  end"), "{text:?}");
    assert!(!text.contains("pwned"), "{text:?}");
    let images = app
        .eval("return document.querySelectorAll('[data-testid=log-viewer] img').length")
        .await;
    assert_eq!(images, 0);
    assert_eq!(app.client.title().await.expect("title"), "Berth");
    a_long_line_arrives_cut(app).await;

    // The backend row's Logs button narrows the viewer to the backend.
    app.click("[data-testid=services] tr[data-service=backend] [data-action=logs]")
        .await;
    app.texts_when(&format!("{rows} .svc"), wait, |prefixes| {
        !prefixes.is_empty() && prefixes.iter().all(|p| p.starts_with("backend-1"))
    })
    .await;
}

/// The hostile service's 16 MB line reaches the window as its first 8 KiB and the size of the
/// rest, and the web process stays small (the whole line took it to 2.2 GiB).
async fn a_long_line_arrives_cut(app: &App) {
    let more = "[data-testid=log-row] [data-testid=log-more]";
    let left_out = app
        .text_when(more, Duration::from_secs(30), |t| !t.is_empty())
        .await;
    assert_eq!(left_out, "… 16.0 MB more");
    let shown = app
        .eval(&format!(
            "return document.querySelector('{more}').closest('[data-testid=log-row]')\
             .querySelector('.text').textContent.length"
        ))
        .await;
    assert_eq!(shown, 8192, "the row holds the line's first 8 KiB");
    let peak = web_process_peak();
    eprintln!("web process peak resident memory: {} MiB", peak >> 20);
    assert!(
        peak < 1 << 30,
        "the web process peaked at {} MiB",
        peak >> 20
    );
}

/// The most resident memory the app's web process (WebKitWebProcess) has had, in bytes.
fn web_process_peak() -> u64 {
    berth_tests::app::descendants(std::process::id())
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter(|status| status.starts_with("Name:\tWebKitWebProces"))
        .filter_map(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: u64 = line["VmHWM:".len()..]
                .trim()
                .trim_end_matches(" kB")
                .parse()
                .ok()?;
            Some(kib << 10)
        })
        .max()
        .expect("the app's web process runs below this test")
}

/// Hidden in the tray, the window takes no log reports (no repaint for lines nobody sees); shown
/// again, it gets what came meanwhile in one report.
async fn hidden_logs_catch_up_when_shown(app: &App, url: &str, frontend: &str) {
    app.click("[data-testid=log-service-filter] .chip").await; // All services again
    let follow = "[data-testid=log-follow]";
    let pressed = format!("return document.querySelector('{follow}').getAttribute('aria-pressed')");
    if app.eval(&pressed).await == "false" {
        app.click(follow).await; // next (above) paused the viewer on its match
    }
    assert_eq!(app.eval(&pressed).await, "true");
    let windows = app.hide_window().await;
    let line = "GET /api/health?while=hidden";
    http_get(&format!("{url}/api/health?while=hidden")).await;
    // The engine has the line, so the app's log stream has it within milliseconds; reports come
    // within a few tens of ms while the window shows, and a second later the page has none.
    let docker = berth_tests::engine().await.docker().clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let options = LogsOptionsBuilder::default().stdout(true).build();
        let logged: Vec<LogOutput> = docker
            .logs(frontend, Some(options))
            .try_collect()
            .await
            .expect("the frontend's log");
        if logged.iter().any(|l| l.to_string().trim_end() == line) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the frontend did not log {line:?} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rows = app
        .eval("return [...document.querySelectorAll('[data-testid=log-row]')].map(r => r.textContent)")
        .await;
    assert!(
        !rows.to_string().contains(line),
        "a hidden window took a log report: {rows}"
    );
    app.show_window(&windows).await;
    app.texts_when("[data-testid=log-row]", Duration::from_secs(10), |rows| {
        rows.iter()
            .any(|r| r.starts_with("frontend") && r.ends_with(line))
    })
    .await;
}

/// How many probes (`GET /`, which the demo backend answers 404) `container` has logged.
async fn probe_requests(container: &str) -> usize {
    let docker = berth_tests::engine().await.docker().clone();
    let options = LogsOptionsBuilder::default().stdout(true).build();
    let logged: Vec<LogOutput> = docker
        .logs(container, Some(options))
        .try_collect()
        .await
        .expect("the container's log");
    logged
        .iter()
        .filter(|l| l.to_string().contains("\"msg\":\"GET / "))
        .count()
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

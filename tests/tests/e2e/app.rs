//! The desktop app starts, shows its window, and its UI reaches the engine through IPC.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::{engine, fixture, workspace_binary};
use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};

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

/// What a page script gets back from each of the shell's commands it calls, in order: `ok` or
/// the error it showed.
const FORGE: &str = r#"
const invoke = window.__TAURI_INTERNALS__.invoke;
const [endpoint, done] = arguments;
const out = [];
// Berth's commands reject with an IpcError ({kind, message, ...}), Tauri's own with a string.
const attempt = async (what, command, args) => {
  try { await invoke(command, args); out.push(what + ': ok'); }
  catch (err) { out.push(what + ': ' + (err.message ?? err)); }
};
(async () => {
  const forged = { files: ['/etc/passwd'], project_name: 'forged', project_directory: null,
    env_files: [], profiles: [] };
  const settings = await invoke('settings');
  settings.recent = [forged, forged, ...settings.recent];
  settings.engine_endpoint = endpoint;
  await attempt('save', 'save_settings', { settings });
  await attempt('save change', 'save_settings',
    { change: { log_buffer_mib: settings.log_buffer_mib, engine_endpoint: '',
                history_mib: settings.history_mib, engine_context: '' } });
  for (const index of [0, 1, 2]) await attempt('open ' + index, 'open_recent', { index });
})().then(() => done(out), (err) => done(['script: ' + err]));
"#;

#[tokio::test]
async fn a_page_script_cannot_widen_what_the_page_reaches_through_the_settings() {
    let config = std::env::temp_dir().join(format!("berth-test-forge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&config);
    let file = fixture("stack/compose.yaml");
    let name = "berth-test-forge";
    let args = ["-f", file.to_str().expect("UTF-8 path"), "-p", name];
    let app = App::launch_with_config(&workspace_binary("berth"), &args, &config).await;
    app.text_when(
        "[data-testid=engine-status]",
        Duration::from_secs(20),
        |t| t.starts_with("Docker "),
    )
    .await;
    // A Docker endpoint only the page would point at: it must never see a connection.
    let bait = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    bait.set_nonblocking(true).expect("non-blocking");
    let endpoint = format!("tcp://{}", bait.local_addr().expect("address"));

    let answers = app
        .client
        .execute_async(FORGE, vec![endpoint.clone().into()])
        .await
        .expect("the page script runs");
    let answers: Vec<String> = serde_json::from_value(answers).expect("a list of answers");
    // The settings the page sends carry no recent projects and leave the endpoint as it was;
    // only the entry Berth recorded (the one open) can be reopened.
    assert!(answers[0].starts_with("save: "), "{answers:?}");
    assert_ne!(answers[0], "save: ok", "{answers:?}");
    assert_eq!(answers[1], "save change: ok", "{answers:?}");
    assert_eq!(answers[2], "open 0: ok", "{answers:?}");
    assert_eq!(
        answers[3..],
        [
            "open 1: There is no recent project number 1.",
            "open 2: There is no recent project number 2.",
        ],
        "{answers:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let shown = app
        .text_when("[data-testid=project-name]", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await;
    assert_eq!(shown, name);
    let page = app.eval("return document.body.textContent").await;
    assert!(!page.to_string().contains("root:"), "{page}");
    assert!(
        bait.accept().is_err(),
        "the app connected to the page's endpoint"
    );

    // Another endpoint takes the user's yes in a native dialog, which the page cannot answer.
    let ask = format!(
        "window.__answer = null; window.__TAURI_INTERNALS__.invoke('save_settings', \
         {{ change: {{ log_buffer_mib: 64, engine_endpoint: '{endpoint}', history_mib: 1024 }} }}) \
         .then(() => window.__answer = 'ok', (err) => window.__answer = err.message); return null"
    );
    app.eval(&ask).await;
    let dialog = app
        .native_window_when("another Docker engine", Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        app.eval("return window.__answer").await,
        serde_json::Value::Null
    );
    // One dialog at a time: the page cannot stack them.
    let again = app
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             window.__TAURI_INTERNALS__.invoke('save_settings', \
             { change: { log_buffer_mib: 64, engine_endpoint: arguments[0], history_mib: 1024 } }) \
             .then(() => done('ok'), (err) => done(err.message))",
            vec![endpoint.clone().into()],
        )
        .await
        .expect("the page script runs");
    assert_eq!(
        again,
        "Another change of the Docker endpoint is waiting for your answer."
    );
    app.press(&dialog, "Escape");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let answer = app.eval("return window.__answer").await;
        if !answer.is_null() || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        answer,
        "Nothing was saved: the new Docker endpoint was not confirmed."
    );
    assert!(
        bait.accept().is_err(),
        "the app connected to the page's endpoint"
    );
    let settings = std::fs::read_to_string(config.join("dev.berth.desktop/settings.json"))
        .expect("the settings file");
    assert!(!settings.contains("/etc/passwd"), "{settings}");
    assert!(!settings.contains("tcp://"), "{settings}");

    // The user's yes is what changes it.
    app.eval(&ask).await;
    let dialog = app
        .native_window_when("another Docker engine", Duration::from_secs(10))
        .await;
    app.press(&dialog, "Return");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while bait.accept().is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the app did not connect to the endpoint the user confirmed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    app.quit().await;
    std::fs::remove_dir_all(&config).ok();
}

#[tokio::test]
async fn the_window_never_navigates_away_from_the_app() {
    // Where links open: a stand-in for the desktop's browser opener that only notes the URL.
    let bin = std::env::temp_dir().join(format!("berth-test-opener-{}", std::process::id()));
    std::fs::create_dir_all(&bin).expect("temp dir");
    let opened = bin.join("opened");
    let opener = bin.join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
    )
    .expect("write the opener");
    std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("make the opener executable");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // A page elsewhere, which must never be asked for anything by the webview.
    let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    server.set_nonblocking(true).expect("non-blocking");
    let url = format!(
        "http://127.0.0.1:{}/",
        server.local_addr().expect("address").port()
    );

    let app = App::launch_with_env(&workspace_binary("berth"), &[], &[("PATH", &path)]).await;
    app.text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
        t == "berth-demo"
    })
    .await;
    let origin = app.eval("return location.origin").await;
    app.eval(&format!("location.href = '{url}'; return null"))
        .await;
    // The opener runs once the navigation is refused; until then the page may still be going.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&opened).unwrap_or_default().trim() != url.trim_end() {
        assert!(
            std::time::Instant::now() < deadline,
            "{url} was not handed to the browser: {:?}",
            std::fs::read_to_string(&opened)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.eval("return location.origin").await, origin);
    app.text_when("[data-testid=project-name]", Duration::from_secs(5), |t| {
        t == "berth-demo"
    })
    .await;
    // Nor does a new window show it.
    app.eval(&format!("window.open('{url}?window'); return null"))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        server.accept().is_err(),
        "the webview asked the other page for something"
    );

    app.quit().await;
    std::fs::remove_dir_all(&bin).ok();
}

/// Where the parts of the window are, in CSS pixels: the header's parts that must not overlap,
/// the page's width against its content's, the log pane's rows and the split.
const LAYOUT: &str = r#"
const rect = (e) => { const r = e.getBoundingClientRect();
  return { what: e.dataset.testid || e.tagName.toLowerCase() + '.' + e.className,
    left: r.left, right: r.right, top: r.top, bottom: r.bottom }; };
const header = document.querySelector('header');
const parts = [...header.querySelectorAll('h1, [data-testid=project-menu], [data-testid=stack-status], .controls button, [data-testid=engine-status]')];
const lines = document.querySelector('[data-testid=log-lines]');
const services = document.querySelector('[data-testid=services]').parentElement;
return {
  width: window.innerWidth, height: window.innerHeight,
  scroll_width: document.documentElement.scrollWidth,
  scroll_height: document.documentElement.scrollHeight,
  header: parts.map(rect),
  log_rows: Math.floor(lines.clientHeight / 20),
  log_bottom: lines.getBoundingClientRect().bottom,
  services_height: services.clientHeight,
};
"#;

#[derive(serde::Deserialize, Debug)]
struct Layout {
    width: f64,
    height: f64,
    scroll_width: f64,
    scroll_height: f64,
    header: Vec<Rect>,
    log_rows: u32,
    log_bottom: f64,
    services_height: f64,
}

#[derive(serde::Deserialize, Debug)]
struct Rect {
    what: String,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Rect {
    fn overlaps(&self, other: &Rect) -> bool {
        self.left < other.right - 0.5
            && other.left < self.right - 0.5
            && self.top < other.bottom - 0.5
            && other.top < self.bottom - 0.5
    }
}

async fn layout(app: &App) -> Layout {
    serde_json::from_value(app.eval(LAYOUT).await).expect("the layout")
}

/// A project of forty services (none created) with a long name, at the window's minimum size:
/// nothing needs a sideways scroll, the header's parts do not run into each other, the log pane
/// keeps rows, and the split between the services and the logs can be dragged.
async fn usable_at_minimum_size(env: &[(&str, &str)]) {
    let dir = std::env::temp_dir().join(format!("berth-test-forty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("compose.yaml");
    let services: String = (1..=40)
        .map(|i| format!("  service-{i:02}:\n    image: berth-test/busybox:1\n    ports: ['80']\n"))
        .collect();
    std::fs::write(&file, format!("services:\n{services}")).expect("write compose.yaml");
    let name = "berth-test-a-project-with-a-long-name-for-a-small-window";
    let args = ["-f", file.to_str().expect("UTF-8 path"), "-p", name];
    let app = App::launch_with_env(&workspace_binary("berth"), &args, env).await;
    app.text_when(
        "[data-testid=engine-status]",
        Duration::from_secs(20),
        |t| t.starts_with("Docker "),
    )
    .await;
    app.text_when("[data-testid=stack-status]", Duration::from_secs(20), |t| {
        t == "stopped"
    })
    .await;
    app.client
        .set_window_size(720, 480)
        .await
        .expect("resize the window");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let small = loop {
        let l = layout(&app).await;
        if (l.width, l.height) == (720.0, 480.0) {
            break l;
        }
        assert!(std::time::Instant::now() < deadline, "never 720×480: {l:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    app.screenshot_if_asked().await;

    assert!(small.scroll_width <= small.width, "{small:?}");
    assert!(small.scroll_height <= small.height, "{small:?}");
    for (i, a) in small.header.iter().enumerate() {
        assert!(a.left >= 0.0 && a.right <= small.width, "{a:?} is cut off");
        for b in &small.header[i + 1..] {
            assert!(!a.overlaps(b), "{} runs into {}: {small:?}", a.what, b.what);
        }
    }
    assert!(small.log_rows >= 5, "{small:?}");
    assert!(small.log_bottom <= small.height, "{small:?}");

    // Dragging the split up gives the logs the room the services give up.
    let split = app
        .client
        .find(Locator::Css("[data-testid=split]"))
        .await
        .expect("a split between the services and the logs");
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: split,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(200)),
            x: 0.0,
            y: -60.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    app.client
        .perform_actions(drag)
        .await
        .expect("drag the split");
    let dragged = layout(&app).await;
    assert!(
        (small.services_height - dragged.services_height - 60.0).abs() <= 2.0,
        "{small:?}\n{dragged:?}"
    );
    assert!(dragged.log_rows >= small.log_rows + 2, "{dragged:?}");
    assert!(dragged.scroll_height <= dragged.height, "{dragged:?}");

    app.quit().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn at_its_minimum_size_the_window_stays_usable_with_forty_services() {
    usable_at_minimum_size(&[]).await;
}

#[tokio::test]
async fn at_double_scale_the_window_stays_usable_at_its_minimum_size() {
    usable_at_minimum_size(&[("GDK_SCALE", "2")]).await;
}

/// A host port a service publishes is held by another process: Start fails before creating
/// anything, the error panel names the port, and the services table marks that service's row
/// (the engine's `PortConflict` reaches the page as data, not only as words).
#[tokio::test]
async fn a_port_conflict_marks_the_service_whose_port_is_taken() {
    let held = std::net::TcpListener::bind("0.0.0.0:0").expect("a free port");
    let port = held.local_addr().expect("its address").port();
    let name = berth_tests::unique_project("app-conflict");
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  web:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n    \
             ports: ['{port}:80']\n  worker:\n    image: berth-test/busybox:1\n    \
             command: [sleep, '600']\n"
        ),
    )
    .expect("write");
    let _cleanup = berth_tests::stacks::Cleanup(name.clone());

    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().unwrap(), "-p", &name],
    )
    .await;
    app.cell_when("web", "state", Duration::from_secs(20), |t| {
        t == "not created"
    })
    .await;
    app.click("[data-testid=start]").await;
    let error = app
        .text_when("[data-testid=action-error]", Duration::from_secs(30), |t| {
            !t.is_empty()
        })
        .await;
    assert!(error.contains(&format!("host port {port}/tcp")), "{error}");

    let marked = app
        .texts_when(
            "[data-testid=services] tr.conflict",
            Duration::from_secs(5),
            |rows| !rows.is_empty(),
        )
        .await;
    assert_eq!(marked.len(), 1, "only web's row is marked: {marked:?}");
    let title = app
        .eval("return document.querySelector('[data-testid=services] tr.conflict').dataset.service + ' ' + document.querySelector('[data-testid=services] tr.conflict').title")
        .await;
    let title = title.as_str().expect("a string");
    assert!(title.starts_with("web "), "{title}");
    assert!(
        title.contains(&format!("host port {port}/tcp is held by process")),
        "{title}"
    );
    assert!(title.contains(&std::process::id().to_string()), "{title}");

    app.quit().await;
    drop(held);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_holds_one_event_stream_shown_hidden_and_after_an_engine_restart() {
    use crate::observe_engine_restart::{LIMIT, eventually, take_down, ticker_on_own_daemon};
    // The real app, its engine behind a proxy that counts what it is asked.
    let (dir, mut daemon, _, stack) = ticker_on_own_daemon("app-one-feed").await;
    let proxy = berth_tests::proxy::Proxy::start(&dir.join("proxy.sock"), &dir.join("docker.sock"));
    let file = dir.join("compose.yaml");
    let name = stack.project().name.clone();
    let args = ["-f", file.to_str().expect("UTF-8 path"), "-p", &name];
    let host = proxy.host();
    let app =
        App::launch_with_env(&workspace_binary("berth"), &args, &[("DOCKER_HOST", &host)]).await;
    app.cell_when("ticker", "state", LIMIT, |t| t == "running")
        .await;
    eventually("the window's stats stream", || {
        proxy.open_stats_streams() == 1
    })
    .await;
    eventually("the projects list's event stream", || {
        proxy.open_project_list_streams() == 1
    })
    .await;
    assert_eq!(
        proxy.open_event_streams(),
        2,
        "shown: the project's event stream and the projects list's"
    );

    // Hidden (the tray): the stats stream closes and nothing is asked of the engine; the
    // projects list goes on for the tray, which lists the projects hidden too.
    let windows = app.hide_window().await;
    eventually("the stats stream closed", || {
        proxy.open_stats_streams() == 0
    })
    .await;
    assert_eq!(
        proxy.requests_during(Duration::from_secs(3)).await,
        Vec::<String>::new(),
        "hidden: no requests"
    );
    assert_eq!(
        (
            proxy.open_event_streams(),
            proxy.open_project_list_streams()
        ),
        (2, 1),
        "hidden: the project's event stream and the tray's projects list's"
    );
    app.show_window(&windows).await;

    // After an engine restart: again one.
    daemon.stop();
    eventually("the event stream gone with the engine", || {
        proxy.open_event_streams() == 0
    })
    .await;
    let (daemon, _) = berth_tests::daemon::Daemon::start(&dir).await;
    app.cell_when("ticker", "state", LIMIT, |t| t == "running")
        .await;
    eventually("the event stream open again", || {
        proxy.open_event_streams() >= 1
    })
    .await;
    eventually("the window's stats and projects list streams again", || {
        proxy.open_stats_streams() == 1 && proxy.open_project_list_streams() == 1
    })
    .await;
    assert_eq!(
        proxy.open_event_streams(),
        2,
        "after a restart: the project's event stream and the projects list's"
    );
    app.quit().await;
    take_down(&stack, daemon, &dir).await;
}

/// JavaScriptCore's JIT tiers held 10–18 MiB of the web process's heap for a page this light
/// (docs/benchmarks.md, "Memory after the cuts"): the app has the interpreter run it, unless the
/// user chose otherwise through the same variable.
#[tokio::test]
async fn the_web_process_runs_javascript_without_the_jit_unless_told_otherwise() {
    let app = App::launch(&workspace_binary("berth"), &[]).await;
    assert_eq!(web_process_env("JSC_useJIT").as_deref(), Some("0"));
    app.quit().await;

    let app = App::launch_with_env(&workspace_binary("berth"), &[], &[("JSC_useJIT", "1")]).await;
    assert_eq!(web_process_env("JSC_useJIT").as_deref(), Some("1"));
    app.quit().await;
}

/// WebKitGTK composites through OpenGL unless it is told otherwise before its web process starts.
/// Told later (the settings of a created view), it stopped compositing, but the GL context it had
/// made, Mesa's threads and their 4 MiB of state stayed for the process's life
/// (docs/benchmarks.md, "The web process"). The app paints on the CPU from the start, unless the
/// user asks for compositing with WebKit's own variable.
#[tokio::test]
async fn the_web_process_never_starts_a_gl_compositor_unless_told_to() {
    let app = App::launch(&workspace_binary("berth"), &[]).await;
    app.text_when("[data-testid=project-name]", Duration::from_secs(20), |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(compositor_threads(), Vec::<String>::new());
    app.quit().await;

    let forced = [("WEBKIT_FORCE_COMPOSITING_MODE", "1")];
    let app = App::launch_with_env(&workspace_binary("berth"), &[], &forced).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while compositor_threads().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "WEBKIT_FORCE_COMPOSITING_MODE=1: no compositor thread in the web process"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.quit().await;
}

/// The names of the web process's threads that belong to WebKit's GL compositor (its
/// ThreadedCompositor and the GL driver's threads it starts, which inherit the name; Linux keeps
/// the last 15 characters).
fn compositor_threads() -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", web_process())).expect("its threads");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|comm| comm.trim().to_owned())
        .filter(|comm| comm.ends_with("Compositor"))
        .collect()
}

/// The pid of the app's web process (WebKitWebProcess).
fn web_process() -> u32 {
    berth_tests::app::descendants(std::process::id())
        .into_iter()
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "WebKitWebProces")
        })
        .expect("the app's web process runs below this test")
}

/// `name`'s value in the environment of the app's web process (WebKitWebProcess).
fn web_process_env(name: &str) -> Option<String> {
    let pid = web_process();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("read its environment");
    let prefix = format!("{name}=");
    environ
        .split(|&b| b == 0)
        .filter_map(|var| std::str::from_utf8(var).ok())
        .find_map(|var| var.strip_prefix(&prefix).map(str::to_owned))
}

//! Markers in the window, with a real desktop notification service of the test's own on the
//! session bus: a crash is notified, and the notification's Show action scrolls the merged log
//! back to the crash's marker and highlights it, though newer lines had moved it out of view;
//! the marker keys and buttons move between markers. Real app, real engine.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::notifications::Notifications;
use berth_tests::stacks::Cleanup;
use berth_tests::{berthctl_ok, docker, unique_project, workspace_binary};

const COMPOSE: &str = r#"
services:
  api:
    image: berth-test/busybox:1
    command: ["sh", "-c", "i=0; while [ ! -e /tmp/crash ]; do i=$$((i+1)); echo api $$i; sleep 0.2; done; echo dying; exit 3"]
  web:
    image: berth-test/busybox:1
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo web $$i; sleep 0.02; done"]
"#;

/// Whether the highlighted row is a marker of `kind` drawn inside the log's viewport.
fn current_marker_in_view(kind: &str) -> String {
    format!(
        "const row = document.querySelector('[data-testid=log-row].current.marker');
         if (!row || row.dataset.marker !== {kind:?}) return null;
         const list = document.querySelector('[data-testid=log-lines]').getBoundingClientRect();
         const r = row.getBoundingClientRect();
         return r.top >= list.top && r.bottom <= list.bottom ? row.dataset.pos : null;"
    )
}

async fn when_some(app: &App, script: &str, what: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = app.eval(script).await;
        if !got.is_null() {
            return got;
        }
        if std::time::Instant::now() > deadline {
            let state = app
                .eval("const c = document.querySelector('[data-testid=log-row].current'); return [c && c.outerHTML, document.querySelector('[data-testid=log-follow]').getAttribute('aria-pressed'), [...document.querySelectorAll('[data-testid=log-row].marker')].map(r => r.dataset.pos + ' ' + r.dataset.marker)]")
                .await;
            panic!("{what}; the log: {state}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_crash_notifications_show_action_opens_the_log_at_its_marker() {
    let notifications = Notifications::start()
        .await
        .expect("the test's notification service");
    let name = unique_project("app-markers");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, COMPOSE).unwrap();
    let path = file.to_str().unwrap();
    let app = App::launch(&workspace_binary("berth"), &["-f", path, "-p", &name]).await;
    let long = Duration::from_secs(60);
    // The window has listed the (empty) project: every event from here on reaches its log.
    app.texts_when("[data-testid=services] tr[data-service]", long, |t| {
        t.len() == 2
    })
    .await;
    berthctl_ok(&name, &file, &["up", "-d"]);
    app.cell_when("api", "state", long, |t| t.starts_with("running"))
        .await;
    app.texts_when("[data-testid=log-row] .text", long, |t| {
        t.iter().any(|s| s.starts_with("api "))
    })
    .await;

    // api crashes: the desktop is told, with a Show action.
    docker(&["exec", &format!("{name}-api-1"), "touch", "/tmp/crash"]);
    let title = format!("{name}: api");
    let crash = notifications
        .wait_for(long, |n| n.summary == title)
        .await
        .unwrap();
    assert_eq!(crash.body, "exited (3) unexpectedly");
    assert_eq!(crash.actions, ["default"]);
    assert_eq!(crash.app_name, "Berth");

    // web's lines push the crash out of the followed view: a hundred more of them.
    let newest_web =
        "return Math.max(...[...document.querySelectorAll('[data-testid=log-row] .text')]
        .map(t => t.textContent).filter(t => t.startsWith('web ')).map(t => Number(t.slice(4))))";
    let then = app.eval(newest_web).await.as_f64().unwrap();
    let script = format!("{newest_web}; return n >= {} ? n : null", then + 100.0).replacen(
        "return Math.max",
        "const n = Math.max",
        1,
    );
    when_some(&app, &script, "web stopped writing").await;
    let marker_row = "[data-testid=log-row][data-marker=crashed]";
    let shown = app
        .eval(&format!(
            "return document.querySelector('{marker_row}') !== null"
        ))
        .await;
    assert_eq!(shown, false, "the crash's marker is still in view");

    notifications.invoke(crash.id, "default").await.unwrap();
    let pos = when_some(
        &app,
        &current_marker_in_view("crashed"),
        "the crash's marker was not revealed and highlighted",
    )
    .await;
    let text = app
        .text_when(
            &format!("{marker_row}[data-pos=\"{}\"] .text", pos.as_str().unwrap()),
            long,
            |t| !t.is_empty(),
        )
        .await;
    assert_eq!(text, "exited (3)");
    let follow = app
        .eval("return document.querySelector('[data-testid=log-follow]').getAttribute('aria-pressed')")
        .await;
    assert_eq!(follow, "false", "held still on the marker");
    // The line just before it is api's last words.
    let before = app
        .eval(&format!(
            "const rows = [...document.querySelectorAll('[data-testid=log-row]')];
             const i = rows.findIndex(r => r.dataset.pos === {pos});
             const texts = rows.slice(0, i).map(r => r.querySelector('.text').textContent);
             return texts.reverse().find(t => t === 'dying' || t.startsWith('api '))"
        ))
        .await;
    assert_eq!(before, "dying");

    // The previous marker is api's start (or web's); the next one wraps back to the crash.
    app.click("[data-testid=log-prev-marker]").await;
    let previous = when_some(
        &app,
        &current_marker_in_view("started"),
        "the previous marker is not the start",
    )
    .await;
    assert_ne!(previous, pos);
    let lines = app
        .client
        .find(fantoccini::Locator::Css("[data-testid=log-lines]"))
        .await
        .unwrap();
    lines.send_keys("]").await.unwrap();
    let next = when_some(
        &app,
        &current_marker_in_view("crashed"),
        "] did not go to the crash",
    )
    .await;
    assert_eq!(next, pos);
    app.quit().await;
    let _ = std::fs::remove_dir_all(&dir);
}

const NOISY: &str = r#"
services:
  api:
    image: berth-test/busybox:1
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); if [ -e /tmp/boom ]; then echo \"FATAL <b>boom</b> $$i\"; else echo ok $$i; fi; sleep 0.2; done"]
"#;

#[tokio::test]
async fn an_alert_rule_notifies_a_matching_line_once_per_quiet_spell() {
    let notifications = Notifications::start()
        .await
        .expect("the test's notification service");
    let name = unique_project("app-alerts");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, NOISY).unwrap();
    let path = file.to_str().unwrap();
    berthctl_ok(&name, &file, &["up", "-d"]);
    let app = App::launch(&workspace_binary("berth"), &["-f", path, "-p", &name]).await;
    let long = Duration::from_secs(60);
    app.cell_when("api", "state", long, |t| t.starts_with("running"))
        .await;

    // The rule is set in the Project menu; a broken regex is refused at its field.
    app.click("[data-testid=project-menu]").await;
    let rule = "[data-testid=alert-rule][data-service=api]";
    app.fill(&format!("{rule} [data-testid=alert-pattern]"), "FATAL(")
        .await;
    app.click(&format!("{rule} [data-testid=alert-save]")).await;
    let error = app
        .text_when(&format!("{rule} [data-testid=alert-error]"), long, |t| {
            !t.is_empty()
        })
        .await;
    assert!(
        error.starts_with("The alert for api is not a valid regex"),
        "{error}"
    );
    app.fill(&format!("{rule} [data-testid=alert-pattern]"), "FATAL")
        .await;
    app.click(&format!("{rule} [data-testid=alert-save]")).await;
    app.text_when(&format!("{rule} [data-testid=alert-saved]"), long, |t| {
        t == "saved"
    })
    .await;
    app.click("[data-testid=project-menu]").await;

    docker(&["exec", &format!("{name}-api-1"), "touch", "/tmp/boom"]);
    let title = format!("{name}: api logged /FATAL/");
    let alert = notifications
        .wait_for(long, |n| n.summary == title)
        .await
        .unwrap();
    // The container's line, as text.
    assert!(
        alert.body.starts_with("FATAL <b>boom</b> "),
        "{}",
        alert.body
    );
    // Three more FATAL lines reach the log, and none of them is notified (30 s apart).
    let first: u64 = alert.body.rsplit(' ').next().unwrap().parse().unwrap();
    let third_after = format!("FATAL <b>boom</b> {}", first + 3);
    app.texts_when("[data-testid=log-row] .text", long, |t| {
        t.contains(&third_after)
    })
    .await;
    let told = notifications.received();
    assert_eq!(
        told.iter().filter(|n| n.summary == title).count(),
        1,
        "{told:?}"
    );

    // Show opens the log at that line.
    notifications.invoke(alert.id, "default").await.unwrap();
    let script = format!(
        "const row = document.querySelector('[data-testid=log-row].current');
         return row && row.querySelector('.text').textContent === {:?} ? row.dataset.pos : null",
        alert.body
    );
    when_some(&app, &script, "the alert's line was not revealed").await;
    app.quit().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Services that each crash when their `/tmp/crash` appears.
const CRASHERS: &str = r#"
services:
  a:
    image: berth-test/busybox:1
    command: ["sh", "-c", "until [ -e /tmp/crash ]; do sleep 0.1; done; echo dying; exit 3"]
  b:
    image: berth-test/busybox:1
    command: ["sh", "-c", "until [ -e /tmp/crash ]; do sleep 0.1; done; echo dying; exit 3"]
  c:
    image: berth-test/busybox:1
    command: ["sh", "-c", "until [ -e /tmp/crash ]; do sleep 0.1; done; echo dying; exit 3"]
  d:
    image: berth-test/busybox:1
    command: ["sh", "-c", "until [ -e /tmp/crash ]; do sleep 0.1; done; echo dying; exit 3"]
  e:
    image: berth-test/busybox:1
    command: ["sh", "-c", "until [ -e /tmp/crash ]; do sleep 0.1; done; echo dying; exit 3"]
"#;

/// The threads of the app process opened on project `name`.
fn app_threads(name: &str) -> usize {
    let binary = workspace_binary("berth");
    let pid = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find(|e| {
            let exe = std::fs::read_link(e.path().join("exe")).ok();
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            exe.as_deref() == Some(binary.as_path())
                && String::from_utf8_lossy(&cmdline).contains(name)
        })
        .expect("the app's process")
        .path();
    std::fs::read_dir(pid.join("task")).unwrap().count()
}

#[tokio::test]
async fn shown_notifications_share_one_listener_and_each_show_works() {
    let notifications = Notifications::start()
        .await
        .expect("the test's notification service");
    let name = unique_project("app-notify-many");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, CRASHERS).unwrap();
    let path = file.to_str().unwrap();
    let app = App::launch(&workspace_binary("berth"), &["-f", path, "-p", &name]).await;
    let long = Duration::from_secs(60);
    app.texts_when("[data-testid=services] tr[data-service]", long, |t| {
        t.len() == 5
    })
    .await;
    berthctl_ok(&name, &file, &["up", "-d"]);
    for service in ["a", "b", "c", "d", "e"] {
        app.cell_when(service, "state", long, |t| t.starts_with("running"))
            .await;
    }
    let before = app_threads(&name);

    // Five crashes, five notifications, none clicked or closed.
    let mut shown = Vec::new();
    for service in ["a", "b", "c", "d", "e"] {
        docker(&[
            "exec",
            &format!("{name}-{service}-1"),
            "touch",
            "/tmp/crash",
        ]);
        let title = format!("{name}: {service}");
        let n = notifications
            .wait_for(long, |n| n.summary == title)
            .await
            .unwrap();
        shown.push(n);
    }
    // No thread waits for each of them: the count comes back (short-lived workers aside).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = app_threads(&name);
        if now < before + shown.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{now} threads after {} notifications, {before} before",
            shown.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Show on the second opens the log at b's crash.
    notifications.invoke(shown[1].id, "default").await.unwrap();
    let pos = when_some(
        &app,
        &current_marker_in_view("crashed"),
        "b's crash marker was not revealed",
    )
    .await;
    let service = app
        .eval(&format!(
            "return document.querySelector('[data-testid=log-row][data-pos=\"{}\"] .svc').textContent",
            pos.as_str().unwrap()
        ))
        .await;
    assert!(
        service.as_str().unwrap().starts_with("b"),
        "the marker of {service}"
    );
    app.quit().await;
    let _ = std::fs::remove_dir_all(&dir);
}

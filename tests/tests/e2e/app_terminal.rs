//! The window's terminal on the fixture stack: a shell in the backend's container opens in a tab
//! named after the replica, what is typed runs there, the TTY follows the pane's size, `exit 3`
//! reads as `exited (3)`, a stopped container reads as such, and closing a tab leaves no shell
//! in the container. Hostile output neither writes the clipboard nor renames the window. Real
//! app, real webview, real engine.

use std::time::{Duration, Instant};

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::{berthctl_ok, docker, fixture, unique_project, workspace_binary};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};

const LONG: Duration = Duration::from_secs(90);
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_terminal_on_the_backend_runs_resizes_exits_and_closes_leaving_no_shell() {
    let name = unique_project("term");
    let _cleanup = Cleanup(name.clone());
    let file = fixture("stack/compose.yaml");
    berthctl_ok(&name, &file, &["up", "-d", "--wait", "backend"]);
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().expect("UTF-8 path"), "-p", &name],
    )
    .await;
    let backend = format!("{name}-backend-1");
    app.cell_when("backend", "state", LONG, |t| t == "running")
        .await;
    assert_eq!(shells(&backend), 0, "a shell before any terminal");

    // A tab named after the replica, showing a shell.
    app.click("[data-testid=services] tr[data-service=backend] [data-action=terminal]")
        .await;
    app.texts_when("[data-testid=terminal-tab]", WAIT, |t| t == ["backend-1"])
        .await;
    let tab = "backend-1";
    screen_when(&app, tab, |rows| rows.iter().any(|r| r.ends_with('#'))).await;
    assert_eq!(shells(&backend), 1);
    // The CSS xterm.js computes applies under the window's CSP (no inline styles): the rows
    // take no pointer events and their cells are inline blocks.
    let styled = app
        .eval(
            "const rows = document.querySelector(\"[data-tab='backend-1'] .xterm-rows\"); \
             return [getComputedStyle(rows).pointerEvents, \
                     getComputedStyle(rows.querySelector('span')).display]",
        )
        .await;
    assert_eq!(styled, serde_json::json!(["none", "inline-block"]));

    // What is typed runs in the container; its output shows in the tab.
    type_text(
        &app,
        "echo $((6 * 7)) > /tmp/berth-term; cat /tmp/berth-term\u{E007}",
    )
    .await;
    screen_when(&app, tab, |rows| rows.iter().any(|r| r == "42")).await;
    assert_eq!(
        docker(&["exec", &backend, "cat", "/tmp/berth-term"]).trim(),
        "42"
    );

    // The TTY has the pane's size, and follows it when the window shrinks.
    let (rows, cols) = tty_size(&app, tab).await;
    assert_eq!(
        rows,
        screen_rows(&app, tab).await,
        "stty size {rows} {cols}"
    );
    app.client.set_window_size(900, 640).await.expect("resize");
    let (fewer, narrower) = tty_size_when(&app, tab, |r, c| r < rows && c < cols).await;
    assert_eq!(fewer, screen_rows(&app, tab).await);
    assert!(narrower < cols);
    app.client.set_window_size(1280, 800).await.expect("resize");

    // Hostile output: a title change leaves the window's, and after an OSC 52 clipboard write
    // (swallowed) the terminal goes on.
    let title = app.eval("return document.title").await;
    type_text(
        &app,
        "printf '\\033]52;c;%s\\a\\033]0;%s\\a' $(echo -n owned | base64) pwned; echo done\u{E007}",
    )
    .await;
    screen_when(&app, tab, |rows| rows.iter().any(|r| r == "done")).await;
    assert_eq!(app.eval("return document.title").await, title);

    // The shell's exit code shows in the tab, and nothing hangs.
    type_text(&app, "exit 3\u{E007}").await;
    app.text_when(
        "[data-testid=terminal][data-tab='backend-1'] [data-testid=terminal-status]",
        WAIT,
        |t| t.starts_with("exited (3)"),
    )
    .await;
    shells_when(&backend, 0).await;

    // A second terminal on the same replica, then closed with its ×: no shell is left.
    app.click("[data-testid=services] tr[data-service=backend] [data-action=terminal]")
        .await;
    app.texts_when("[data-testid=terminal-tab]", WAIT, |t| {
        t == ["backend-1", "backend-1 (2)"]
    })
    .await;
    screen_when(&app, "backend-1 (2)", |rows| {
        rows.iter().any(|r| r.ends_with('#'))
    })
    .await;
    type_text(&app, "sleep 600 &\u{E007}").await;
    shells_when(&backend, 1).await;
    app.click(
        "[data-testid=terminal-tab][data-tab='backend-1 (2)'] + [data-testid=terminal-close]",
    )
    .await;
    app.texts_when("[data-testid=terminal-tab]", WAIT, |t| t == ["backend-1"])
        .await;
    shells_when(&backend, 0).await;
    let sleeping = docker(&["exec", &backend, "ps", "-o", "args"]);
    assert!(!sleeping.contains("sleep 600"), "{sleeping}");

    // A container that stops takes its shell with it, and the tab says so.
    app.click("[data-testid=services] tr[data-service=redis] [data-action=terminal]")
        .await;
    screen_when(&app, "redis-1", |rows| {
        rows.iter().any(|r| r.ends_with('#'))
    })
    .await;
    berthctl_ok(&name, &file, &["stop", "redis"]);
    app.text_when(
        "[data-testid=terminal][data-tab='redis-1'] [data-testid=terminal-status]",
        WAIT,
        |t| t.starts_with("container stopped"),
    )
    .await;

    app.quit().await;
}

/// Types `text` into the focused terminal, key by key (`\u{E007}` is Enter).
async fn type_text(app: &App, text: &str) {
    let keys = text
        .chars()
        .fold(KeyActions::new("keyboard".into()), |keys, c| {
            keys.then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c })
        });
    app.client.perform_actions(keys).await.expect("type");
}

/// The screen rows of terminal `tab`, once `ready` accepts them.
async fn screen_when(app: &App, tab: &str, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
    let css = format!("[data-testid=terminal][data-tab='{tab}'] .xterm-rows > div");
    app.texts_when(&css, WAIT, ready).await
}

async fn screen_rows(app: &App, tab: &str) -> u32 {
    let script = format!(
        "return document.querySelectorAll(\"[data-testid=terminal][data-tab='{tab}'] .xterm-rows > div\").length"
    );
    app.eval(&script).await.as_u64().expect("a count") as u32
}

/// `stty size` in terminal `tab`: rows and columns.
async fn tty_size(app: &App, tab: &str) -> (u32, u32) {
    tty_size_when(app, tab, |_, _| true).await
}

/// Asks `stty size` until it satisfies `ready` (the pane's resize reaches the TTY after a
/// debounce).
async fn tty_size_when(app: &App, tab: &str, ready: impl Fn(u32, u32) -> bool) -> (u32, u32) {
    let deadline = Instant::now() + WAIT;
    loop {
        type_text(app, "clear; stty size\u{E007}").await;
        let rows = screen_when(app, tab, |rows| rows.iter().any(|r| size(r).is_some())).await;
        let (r, c) = rows.iter().find_map(|r| size(r)).expect("a size");
        if ready(r, c) {
            return (r, c);
        }
        assert!(Instant::now() < deadline, "stty size stayed {r} {c}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn size(line: &str) -> Option<(u32, u32)> {
    let (r, c) = line.split_once(' ')?;
    Some((r.parse().ok()?, c.parse().ok()?))
}

/// The login shells running in `container` (each terminal's `sh -l`).
fn shells(container: &str) -> usize {
    docker(&["exec", container, "ps", "-o", "args"])
        .lines()
        .filter(|l| l.trim() == "sh -l")
        .count()
}

async fn shells_when(container: &str, count: usize) {
    let deadline = Instant::now() + WAIT;
    while shells(container) != count {
        assert!(
            Instant::now() < deadline,
            "{container} still runs {} shells, not {count}",
            shells(container)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! The window's terminal on the fixture stack: a shell in the backend's container opens in a tab
//! named after the replica, what is typed runs there, the TTY follows the pane's size, `exit 3`
//! reads as `exited (3)`, a stopped container reads as such, and closing a tab leaves no shell
//! in the container. Hostile output neither writes the clipboard nor renames the window. Real
//! app, real webview, real engine.

use std::time::{Duration, Instant};

use berth_tests::app::{App, open_with_backend_up};
use berth_tests::stacks::{Cleanup, TestStack};
use berth_tests::{berthctl_ok, docker, fixture, unique_project, workspace_binary};
use fantoccini::Locator;
use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
};

const LONG: Duration = Duration::from_secs(90);
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_terminal_on_the_backend_runs_resizes_exits_and_closes_leaving_no_shell() {
    let name = unique_project("term");
    let _cleanup = Cleanup(name.clone());
    let file = fixture("stack/compose.yaml");
    let app = open_with_backend_up(&name, &file, LONG).await;
    let backend = format!("{name}-backend-1");
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

    // Copy and paste with Ctrl+Shift+C and Ctrl+Shift+V: a word selected by a double click,
    // pasted back onto the command line.
    type_text(&app, "echo copy-me\u{E007}").await;
    let rows = screen_when(&app, tab, |rows| rows.iter().any(|r| r == "copy-me")).await;
    let line = rows
        .iter()
        .position(|r| r == "copy-me")
        .expect("the echoed line");
    double_click_start(&app, tab, line).await;
    press_with_ctrl_shift(&app, 'C').await;
    press_with_ctrl_shift(&app, 'V').await;
    screen_when(&app, tab, |rows| {
        rows.last_non_empty().ends_with("# copy-me")
    })
    .await;
    type_text(&app, "\u{0015}").await;

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

    // 24-bit colour is drawn as sent, though the CSP allows no inline style attribute.
    type_text(
        &app,
        "printf '\\033[38;2;255;0;0mtrue-red\\033[0m\\n'\u{E007}",
    )
    .await;
    screen_when(&app, tab, |rows| rows.iter().any(|r| r == "true-red")).await;
    let script = format!(
        "return [...document.querySelectorAll(\"[data-testid=terminal][data-tab='{tab}'] .xterm-rows span\")]\
         .filter(s => s.textContent === 'true-red').map(s => getComputedStyle(s).color)"
    );
    assert_eq!(
        app.eval(&script).await,
        serde_json::json!(["rgb(255, 0, 0)"])
    );

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

    // Reopening the project (its settings saved) ends its terminals and their shells.
    app.click("[data-testid=services] tr[data-service=backend] [data-action=terminal]")
        .await;
    shells_when(&backend, 1).await;
    app.click("[data-testid=project-menu]").await;
    app.click("[role=dialog][aria-label=Project] form button[type=submit]")
        .await;
    shells_when(&backend, 0).await;
    app.texts_when("[data-testid=terminal-tab]", WAIT, <[String]>::is_empty)
        .await;

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

#[tokio::test]
async fn a_scaled_service_asks_which_replica_and_other_services_are_refused() {
    let stack = TestStack::new(
        "term-scale",
        "services:\n  web:\n    image: berth-test/busybox:1\n    command: [sleep, '100000']\n    scale: 2\n",
    )
    .await;
    stack.up_wait().await;
    let file = stack.file();
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().expect("UTF-8 path"), "-p", &stack.name],
    )
    .await;
    app.cell_when("web", "state", LONG, |t| t.starts_with("running"))
        .await;

    // The Terminal button asks which replica; the tab is named after the one picked.
    app.click("[data-testid=services] tr[data-service=web] [data-action=terminal]")
        .await;
    app.click("[data-testid=services] tr[data-service=web] [data-replica='2']")
        .await;
    app.texts_when("[data-testid=terminal-tab]", WAIT, |t| t == ["web-2"])
        .await;
    screen_when(&app, "web-2", |rows| rows.iter().any(|r| r.ends_with('#'))).await;
    type_text(&app, "hostname\u{E007}").await;
    let host = docker(&[
        "inspect",
        "-f",
        "{{.Config.Hostname}}",
        &format!("{}-web-2", stack.name),
    ]);
    screen_when(&app, "web-2", |rows| rows.contains(&host)).await;

    // The page can name only the open project's services.
    let refused = app
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             const ipc = window.__TAURI_INTERNALS__; \
             const onOutput = '__CHANNEL__:' + ipc.transformCallback(() => {}); \
             ipc.invoke('terminal_open', { service: 'postgres', index: 1, cols: 80, rows: 24, onOutput }) \
               .then(() => done('opened'), (e) => done(e.message ?? String(e)));",
            Vec::new(),
        )
        .await
        .expect("a script");
    let refused = refused.as_str().expect("a message");
    assert!(
        refused.contains("postgres")
            && refused.contains(&format!("The services of {} are: web", stack.name)),
        "{refused}"
    );

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

/// Presses Ctrl+Shift+`key`.
async fn press_with_ctrl_shift(app: &App, key: char) {
    const CONTROL: char = '\u{E009}';
    const SHIFT: char = '\u{E008}';
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: CONTROL })
        .then(KeyAction::Down { value: SHIFT })
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key })
        .then(KeyAction::Up { value: SHIFT })
        .then(KeyAction::Up { value: CONTROL });
    app.client.perform_actions(keys).await.expect("press keys");
}

/// Double-clicks the first word of screen row `row` in terminal `tab`.
async fn double_click_start(app: &App, tab: &str, row: usize) {
    let pane = format!("[data-testid=terminal][data-tab='{tab}']");
    // The rows take no pointer events: the screen under them does. Pointer offsets are from
    // its centre; the word starts a few pixels in from the row's left edge.
    let script = format!(
        "const screen = document.querySelector(\"{pane} .xterm-screen\").getBoundingClientRect(); \
         const row = document.querySelectorAll(\"{pane} .xterm-rows > div\")[{row}] \
           .getBoundingClientRect(); \
         return [row.left + 8 - screen.left - screen.width / 2, \
                 row.top + row.height / 2 - screen.top - screen.height / 2]"
    );
    let offset: [f64; 2] = serde_json::from_value(app.eval(&script).await).expect("an offset");
    let screen = app
        .client
        .find(Locator::Css(&format!("{pane} .xterm-screen")))
        .await
        .expect("the terminal's screen");
    let at = PointerAction::MoveToElement {
        element: screen,
        duration: None,
        x: offset[0],
        y: offset[1],
    };
    let click = [
        PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        },
        PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        },
    ];
    let mouse = MouseActions::new("mouse".into())
        .then(at)
        .then(click[0].clone())
        .then(click[1].clone())
        .then(click[0].clone())
        .then(click[1].clone());
    app.client
        .perform_actions(mouse)
        .await
        .expect("double-click");
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

trait LastNonEmpty {
    fn last_non_empty(&self) -> &str;
}

impl LastNonEmpty for [String] {
    fn last_non_empty(&self) -> &str {
        self.iter()
            .rev()
            .find(|r| !r.is_empty())
            .map_or("", String::as_str)
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

//! The tray, read and clicked as a desktop's panel does: over D-Bus, through a
//! StatusNotifierWatcher of the test's own and the item's `com.canonical.dbusmenu` menu. Two
//! stacks started by the real `docker compose` and the one the app is open on are listed with
//! their states; Stop, Start, a service's Restart and Logs act on the stack the entry names;
//! a Start the engine refuses is a desktop notification saying which stack and why.
//! Real app, real engine, real compose.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::tray::{Entry, Item, Tray};
use berth_tests::{compose, docker, unique_project, workspace_binary};

const WAIT: Duration = Duration::from_secs(30);

/// A stack of two services that each say hello, started by compose; down and removed on drop.
struct Started {
    name: String,
    dir: PathBuf,
    _down: Cleanup,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Started {
    fn file(&self) -> PathBuf {
        self.dir.join("compose.yaml")
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    /// The project's submenu title in the tray, up to its counts: `● name — 2/2`.
    fn title(&self, mark: &str, running: usize) -> String {
        format!("{mark} {} — {running}/2", self.name)
    }
}

fn compose_up(what: &str) -> Started {
    let name = unique_project(what);
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).expect("the project's directory");
    let service = |s: &str| {
        format!(
            "  {s}:\n    image: berth-test/busybox:1\n    \
             command: [sh, -c, \"echo {s} of {name} says hello; exec sleep 600\"]\n    \
             stop_grace_period: 0s\n"
        )
    };
    let yaml = format!("services:\n{}{}", service("web"), service("db"));
    std::fs::write(dir.join("compose.yaml"), yaml).expect("a compose file");
    let started = Started {
        _down: Cleanup(name.clone()),
        name,
        dir,
    };
    compose::run(&started.name, &started.file(), &["up", "-d"]);
    started
}

fn inspect(container: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, container])
}

/// Waits until every container of `containers` runs (or none does).
async fn running_when(containers: &[String], running: bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let states: Vec<String> = (containers.iter())
            .map(|c| inspect(c, "{{.State.Running}}"))
            .collect();
        if states.iter().all(|s| *s == running.to_string()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{containers:?} running: {states:?}, not {running}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the entry at `path` (labels' starts, from the top) of the menu as it is now. Other
/// tests' stacks on the shared engine change the menu too: an entry whose menu was made anew
/// between the reading and the click is refused (its id is gone), and read again.
async fn click(tray: &Tray, item: &Item, path: &[&str]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let menu = tray.menu(item).await.expect("the tray menu");
        let entry = menu
            .find(path)
            .unwrap_or_else(|| panic!("no entry {path:?} in the tray menu: {menu:#?}"));
        assert!(entry.enabled, "{path:?} is disabled");
        match tray.click(item, entry.id).await {
            Ok(()) => return,
            Err(err) => assert!(Instant::now() < deadline, "clicking {path:?}: {err:#}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn enabled(menu: &Entry, path: &[&str]) -> bool {
    menu.find(path).is_some_and(|e| e.enabled)
}

async fn visibility_when(app: &App, state: &str) {
    let deadline = Instant::now() + WAIT;
    while app.eval("return document.visibilityState").await != state {
        assert!(Instant::now() < deadline, "the page did not become {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_lists_every_stack_and_stops_starts_restarts_and_shows_logs_of_any() {
    let tray = Tray::start().await.expect("the fake StatusNotifierWatcher");
    // Named to sort first among the stopped projects: the tray lists 20, running ones first,
    // and the shared engine may hold other tests' projects.
    let (a, b, open) = (
        compose_up("0tray-a"),
        compose_up("0tray-b"),
        compose_up("0tray-open"),
    );
    let file = open.file();
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().expect("UTF-8"), "-p", &open.name],
    )
    .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;
    let item = tray.item(WAIT).await.expect("the app's tray item");

    // Every stack with its state, the open one first and marked, then the others.
    let shown = format!("{} · open", open.title("●", 2));
    let (a_title, b_title) = (a.title("●", 2), b.title("●", 2));
    let menu = tray
        .menu_when(&item, WAIT, |m| {
            m.find(&[&shown]).is_some()
                && m.find(&[&a_title]).is_some()
                && m.find(&[&b_title]).is_some()
        })
        .await
        .expect("the three stacks listed");
    let labels = menu.labels();
    let at = |title: &str| labels.iter().position(|l| l.starts_with(title));
    assert!(
        at(&shown) < at(&a_title) && at(&shown) < at(&b_title),
        "{labels:?}"
    );
    assert_eq!(
        menu.find(&[&b_title]).expect("b").labels(),
        ["Start", "Stop", "Open in window", "", "db", "web"]
    );
    assert!(!enabled(&menu, &[&b_title, "Start"]), "all of b runs");
    assert!(enabled(&menu, &[&b_title, "Stop"]));
    let web_line = menu.find(&[&shown]).expect("the open stack").labels();
    assert!(
        web_line.iter().any(|l| l.starts_with("● web: running")),
        "{web_line:?}"
    );

    // Stop and Start of a stack the app has not opened: its containers, by its labels.
    let b_all = [b.container("web"), b.container("db")];
    let b_id = inspect(&b_all[0], "{{.Id}}");
    click(&tray, &item, &[&b_title, "Stop"]).await;
    running_when(&b_all, false).await;
    running_when(&[a.container("web"), a.container("db")], true).await;
    let stopped = b.title("○", 0);
    let menu = tray
        .menu_when(&item, WAIT, |m| m.find(&[&stopped]).is_some())
        .await
        .expect("b listed as stopped");
    assert!(!enabled(&menu, &[&stopped, "Stop"]), "nothing of b runs");
    click(&tray, &item, &[&stopped, "Start"]).await;
    running_when(&b_all, true).await;
    assert_eq!(
        inspect(&b_all[0], "{{.Id}}"),
        b_id,
        "Start replaced b's web"
    );

    // A service's Restart restarts that service alone.
    tray.menu_when(&item, WAIT, |m| m.find(&[&b_title]).is_some())
        .await
        .expect("b running again");
    let started = |c: &str| inspect(c, "{{.State.StartedAt}}");
    let (web_before, db_before) = (started(&b_all[0]), started(&b_all[1]));
    click(&tray, &item, &[&b_title, "web", "Restart"]).await;
    let deadline = Instant::now() + WAIT;
    while started(&b_all[0]) == web_before {
        assert!(Instant::now() < deadline, "{} was not restarted", b_all[0]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(started(&b_all[1]), db_before, "db was restarted too");

    // Logs, with the window hidden from the tray: the window shows b with web's lines alone.
    tray.menu_when(&item, WAIT, |m| m.find(&[&b_title]).is_some())
        .await
        .expect("b's web running again");
    click(&tray, &item, &["Show/Hide window"]).await;
    visibility_when(&app, "hidden").await;
    click(&tray, &item, &[&b_title, "web", "Logs"]).await;
    visibility_when(&app, "visible").await;
    app.text_when("[data-testid=project-name]", WAIT, |t| t == b.name)
        .await;
    let hello = format!("web of {} says hello", b.name);
    let rows = app
        .texts_when("[data-testid=log-row]", WAIT, |rows| {
            rows.iter().any(|r| r.contains(&hello))
        })
        .await;
    assert!(
        !rows.iter().any(|r| r.contains("db of")),
        "db's lines are shown: {rows:?}"
    );
    app.text_when(
        "[data-testid=log-service-filter] [aria-pressed=true]",
        WAIT,
        |t| t == "web",
    )
    .await;
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_the_engine_refuses_is_a_notification_naming_the_stack_and_why() {
    let tray = Tray::start().await.expect("the fake StatusNotifierWatcher");
    let notifications = berth_tests::notifications::Notifications::start()
        .await
        .expect("the fake notification service");
    let open = compose_up("0tray-note-open");
    // A stack whose container binds a directory that will be gone when it is started again.
    let name = unique_project("0tray-note-bind");
    let dir = std::env::temp_dir().join(&name);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("the bound directory");
    let yaml = format!(
        "services:\n  web:\n    image: berth-test/busybox:1\n    command: [sleep, \"600\"]\n    \
         stop_grace_period: 0s\n    volumes:\n      - type: bind\n        source: {}\n        \
         target: /data\n        bind: {{create_host_path: false}}\n",
        data.display()
    );
    std::fs::write(dir.join("compose.yaml"), yaml).expect("a compose file");
    let bound = Started {
        _down: Cleanup(name.clone()),
        name,
        dir,
    };
    compose::run(&bound.name, &bound.file(), &["up", "-d"]);
    let file = open.file();
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().expect("UTF-8"), "-p", &open.name],
    )
    .await;
    let item = tray.item(WAIT).await.expect("the app's tray item");
    let title = format!("● {} — 1/1", bound.name);
    tray.menu_when(&item, WAIT, |m| m.find(&[&title]).is_some())
        .await
        .expect("the stack listed");
    click(&tray, &item, &[&title, "Stop"]).await;
    running_when(&[bound.container("web")], false).await;
    std::fs::remove_dir_all(&data).expect("remove the bound directory");
    let stopped = format!("○ {} — 0/1", bound.name);
    tray.menu_when(&item, WAIT, |m| m.find(&[&stopped]).is_some())
        .await
        .expect("the stack listed as stopped");
    click(&tray, &item, &[&stopped, "Start"]).await;
    let note = notifications
        .wait_for(WAIT, |n| n.summary.contains(&bound.name))
        .await
        .expect("a notification");
    assert_eq!(
        note.summary,
        format!("Berth could not start {}", bound.name)
    );
    assert!(
        note.body.starts_with("service web: ")
            && note.body.contains("bind source path does not exist"),
        "{note:?}"
    );
    app.quit().await;
}

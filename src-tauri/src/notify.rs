//! Desktop notifications when a service goes wrong by itself: it turns unhealthy, exits with an
//! error, keeps restarting or loses replicas. A stop the user asked for is not news. Clicking one
//! opens the window at the service's last crash or health marker in the log.

use tauri::{AppHandle, Manager, Runtime};

use crate::alerts::Alert;
use crate::commands::Berth;
use berth_engine::{Health, Problem, StackStatus};

use crate::view::{ServiceRow, StackView};

/// The most characters of a body: a container's text is shown, not a screenful of it.
const BODY: usize = 300;

/// What went wrong between two views: services that now need attention and did not before.
/// Nothing is said about the first view of a stack (its problems are not news).
pub fn alerts(before: &StackView, after: &StackView) -> Vec<Alert> {
    if before.status == StackStatus::Unknown {
        return Vec::new();
    }
    after
        .services
        .iter()
        .filter(|row| row.status.problem.is_some())
        .filter(|row| {
            !before
                .services
                .iter()
                .any(|b| b.name == row.name && b.status.problem.is_some())
        })
        .map(|row| alert(row, after.project.loaded().map_or("", |p| &p.name)))
        .collect()
}

fn alert(row: &ServiceRow, project: &str) -> Alert {
    let title = format!("{project}: {}", row.name);
    let status = &row.status;
    let body = match status.problem {
        Some(Problem::Unhealthy) => {
            let output = status
                .health_log
                .last()
                .map(|s| s.trim())
                .unwrap_or_default();
            format!("is {}. Last check: {output}", Health::Unhealthy)
        }
        Some(Problem::Restarting) => {
            format!("keeps restarting ({} restarts)", status.restart_count)
        }
        Some(Problem::MissingReplicas) => {
            format!("runs {} of {} replicas", status.running, status.replicas)
        }
        // The window's word for it: `exited (3)`.
        Some(Problem::Exited | Problem::Dead) | None => format!("{} unexpectedly", status.label),
    };
    Alert {
        title,
        body,
        service: row.name.clone(),
    }
}

/// Follows the view and notifies on every new alert, for as long as the app runs.
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    let mut views = app.state::<Berth>().watch();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut before = views.borrow_and_update().clone();
        while views.changed().await.is_ok() {
            let after = views.borrow_and_update().clone();
            for a in alerts(&before, &after) {
                let service = a.service.clone();
                // The event came just before the view changed; its marker follows shortly.
                let since = berth_engine::clock::now_ns() - MARKER_LATE.as_nanos() as i64;
                show(&app, &a, move |app| reveal_marker(app, &service, since));
            }
            before = after;
        }
    });
}

/// Notifies every line an alert rule matches (see `alerts.rs`); clicking one opens the window
/// at that line.
pub fn watch_lines<R: Runtime>(app: &AppHandle<R>) {
    let mut lines = app.state::<Berth>().line_alerts();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let line = match lines.recv().await {
                Ok(line) => line,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let alert = Alert {
                title: line.title,
                body: line.body,
                service: line.service,
            };
            let pos = line.pos;
            show(&app, &alert, move |app| {
                crate::commands::logs::reveal(&app.state::<Berth>(), pos);
                crate::tray::show_window(app);
            });
        }
    });
}

/// While the app runs, watches the replicas of every Swarm stack when the session's engine is
/// a Swarm manager, and notifies of a service that loses replicas by itself; Show opens the
/// Swarm view on its stack. Checked again whenever the session's engine changes.
pub fn watch_swarm<R: Runtime>(app: &AppHandle<R>) {
    let mut views = app.state::<Berth>().watch();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut checked: Option<String> = None;
        loop {
            let engine = app.state::<Berth>().session().engine();
            let endpoint = engine.as_ref().map(|e| e.endpoint().to_owned());
            if endpoint != checked {
                checked = endpoint;
                let swarm = &app.state::<Berth>().swarm;
                match engine {
                    Some(engine)
                        if berth_engine::swarm::info(&engine)
                            .await
                            .is_ok_and(|i| i.is_some_and(|i| i.manager)) =>
                    {
                        let app = app.clone();
                        swarm.watch(engine, move |stack, alert| {
                            let stack = stack.to_owned();
                            show(&app, &alert, move |app| {
                                app.state::<Berth>().swarm.reveal(&stack);
                                crate::tray::show_window(app);
                            });
                        });
                    }
                    _ => swarm.unwatch(),
                }
            }
            if views.changed().await.is_err() {
                return;
            }
        }
    });
}

/// How far a notification's marker may be from it: the marker is stamped with the event's
/// time and reaches the log a moment after the view that notified.
const MARKER_LATE: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the window at `service`'s crash, out-of-memory or unhealthy marker stamped after
/// `since` (waiting up to [`MARKER_LATE`] for it to reach the log), else its latest one.
/// Called on a blocking worker, which it may block.
fn reveal_marker<R: Runtime>(app: &AppHandle<R>, service: &str, since: i64) {
    let berth = app.state::<Berth>();
    let hub = berth.session().hub().clone();
    let latest = || {
        hub.read(|store| {
            (store.first()..store.end())
                .rev()
                .find_map(|pos| alarm_at(store, pos, service))
        })
    };
    let deadline = std::time::Instant::now() + MARKER_LATE;
    let mut found = latest();
    while found.is_none_or(|(_, ts)| ts < since) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        found = latest();
    }
    // Lines since may have pushed it out of the buffer, onto disk only.
    if found.is_none() {
        found = stored_alarm(&hub, service);
    }
    if let Some((pos, _)) = found {
        crate::commands::logs::reveal(&berth, pos);
    }
    crate::tray::show_window(app);
}

/// The line at `pos` when it is a crash, out-of-memory or unhealthy marker of `service`: its
/// position and time.
fn alarm_at(store: &berth_engine::logs::Store, pos: u64, service: &str) -> Option<(u64, i64)> {
    let alarm = store.marker(pos).is_some_and(|m| m.is_alarm())
        && store.source_at(pos).is_some_and(|s| s.service == service);
    alarm.then(|| (pos, store.timestamp(pos).unwrap_or_default()))
}

/// The newest crash, out-of-memory or unhealthy marker of `service` in the hub's history, older
/// than its buffer: position and time.
fn stored_alarm(hub: &berth_engine::logs::Hub, service: &str) -> Option<(u64, i64)> {
    let dir = hub.history_dir()?;
    let before = hub.read(|store| store.first());
    let mut reader = berth_engine::logs::history::reader::Reader::new(&dir);
    let mut found = None;
    let scanned = berth_engine::logs::history::search::markers(&dir, before, true, |pos| {
        found = (reader.segment(pos).ok().flatten()).and_then(|s| alarm_at(&s, pos, service));
        found.is_some()
    });
    if let Err(e) = scanned {
        tracing::warn!(dir = %dir.display(), %e, "log history marker query");
    }
    found
}

/// Shows `alert`; a click on it (the desktop's default action) runs `open`. On Linux through
/// the desktop's notification service directly, which offers actions; elsewhere through the
/// notification plugin, which does not.
pub fn show<R: Runtime>(
    app: &AppHandle<R>,
    alert: &Alert,
    open: impl FnOnce(&AppHandle<R>) + Send + 'static,
) {
    tracing::info!("notifying: {} {}", alert.title, alert.body);
    let body = bounded(&alert.body);
    #[cfg(target_os = "linux")]
    {
        let (app, title) = (app.clone(), alert.title.clone());
        // Showing blocks on D-Bus; the clicks of every notification shown are served by one
        // listener (`actions`), not a thread waiting on each until it is closed.
        tauri::async_runtime::spawn_blocking(move || {
            actions::listen();
            let markup = notify_rust::get_capabilities()
                .is_ok_and(|caps| caps.iter().any(|c| c == "body-markup"));
            let body = if markup { escape_markup(&body) } else { body };
            let shown = notify_rust::Notification::new()
                .appname("Berth")
                .summary(&title)
                .body(&body)
                .action("default", "Show")
                .show();
            match shown {
                Ok(handle) => actions::on_show(handle.id(), Box::new(move || open(&app))),
                // No notification service (a bare X server): the log has it.
                Err(err) => tracing::debug!("could not show a notification: {err}"),
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    {
        use tauri_plugin_notification::NotificationExt;
        let _ = open;
        let shown = app
            .notification()
            .builder()
            .title(&alert.title)
            .body(&body)
            .show();
        if let Err(err) = shown {
            tracing::debug!("could not show a notification: {err}");
        }
    }
}

/// The Show actions of the notifications shown, served by one task reading the notification
/// service's `ActionInvoked` and `NotificationClosed` signals for all of them.
#[cfg(target_os = "linux")]
mod actions {
    use std::collections::VecDeque;
    use std::sync::{Mutex, OnceLock};

    use futures_util::StreamExt;

    const INTERFACE: &str = "org.freedesktop.Notifications";

    /// Notifications whose Show is served at most: an older one's click does nothing.
    const KEPT: usize = 32;

    type Open = Box<dyn FnOnce() + Send>;

    /// The Show of each notification shown and not yet clicked or closed, oldest first.
    static SHOWN: Mutex<VecDeque<(u32, Open)>> = Mutex::new(VecDeque::new());

    /// Starts the listener once, and waits until it hears the service's signals: a click on a
    /// notification shown after this returns is not missed.
    pub fn listen() {
        static LISTENING: OnceLock<()> = OnceLock::new();
        LISTENING.get_or_init(|| {
            let (subscribed, wait) = std::sync::mpsc::channel();
            tauri::async_runtime::spawn(async move {
                match subscribe().await {
                    Ok(stream) => {
                        let _ = subscribed.send(());
                        serve(stream).await;
                    }
                    Err(err) => {
                        tracing::debug!("no notification actions: {err}");
                        let _ = subscribed.send(());
                    }
                }
            });
            let _ = wait.recv();
        });
    }

    /// Runs `open` when notification `id` is clicked.
    pub fn on_show(id: u32, open: Open) {
        let mut shown = SHOWN.lock().expect("notifications");
        shown.push_back((id, open));
        if shown.len() > KEPT {
            shown.pop_front();
        }
    }

    fn take(id: u32) -> Option<Open> {
        let mut shown = SHOWN.lock().expect("notifications");
        let at = shown.iter().position(|(i, _)| *i == id)?;
        shown.remove(at).map(|(_, open)| open)
    }

    async fn subscribe() -> zbus::Result<zbus::MessageStream> {
        let connection = zbus::Connection::session().await?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(INTERFACE)
            .build()?;
        zbus::MessageStream::for_match_rule(rule, &connection, None).await
    }

    async fn serve(mut stream: zbus::MessageStream) {
        while let Some(message) = stream.next().await {
            let Ok(message) = message else { continue };
            let header = message.header();
            let body = message.body();
            match header.member().map(|m| m.as_str()) {
                Some("ActionInvoked") => {
                    if let Ok((id, key)) = body.deserialize::<(u32, String)>()
                        && key == "default"
                        && let Some(open) = take(id)
                    {
                        // Opening may wait for the marker to reach the log.
                        tauri::async_runtime::spawn_blocking(open);
                    }
                }
                Some("NotificationClosed") => {
                    if let Ok((id, _reason)) = body.deserialize::<(u32, u32)>() {
                        take(id);
                    }
                }
                _ => {}
            }
        }
    }
}

/// At most [`BODY`] characters of `text`, on one line.
fn bounded(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(BODY) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

/// `text` as plain text for a service that reads markup in bodies.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use berth_engine::{Container, ContainerState, Desired, Snapshot};

    use super::*;
    use crate::view::tests::{container, project, snapshot, version};

    /// The view of services `api` and `db` made of these containers, as the shell builds it.
    fn view(containers: Vec<Container>, stopped: &[&str]) -> StackView {
        let mut s: Snapshot = snapshot(containers, &["api", "db"]);
        for name in stopped {
            s.services.get_mut(*name).unwrap().desired = Desired::Stopped { replicas: 1 };
        }
        let mut v = StackView::new(project(&["api", "db"]));
        v.refresh(Some(&version()), Some(&s));
        v
    }

    fn up(service: &str, health: Option<Health>) -> Container {
        let mut c = container(service, ContainerState::Running, health, 0);
        c.health_log = vec!["ok".into(), "connection refused\n".into()];
        c.restart_count = 4;
        c
    }

    #[test]
    fn a_service_turning_unhealthy_or_crashing_is_notified_once_in_the_windows_words() {
        let healthy = view(vec![up("api", None), up("db", Some(Health::Healthy))], &[]);
        let crashed = container("api", ContainerState::Exited, None, 3);
        let broken = view(vec![crashed, up("db", Some(Health::Unhealthy))], &[]);
        assert_eq!(broken.services[0].status.label, "exited (3)");
        assert_eq!(
            alerts(&healthy, &broken),
            [
                Alert {
                    title: "p: api".into(),
                    body: "exited (3) unexpectedly".into(),
                    service: "api".into(),
                },
                Alert {
                    title: "p: db".into(),
                    body: "is unhealthy. Last check: connection refused".into(),
                    service: "db".into(),
                },
            ]
        );
        assert!(alerts(&broken, &broken).is_empty(), "not twice");
    }

    #[test]
    fn stops_and_the_first_view_are_not_news() {
        let running = view(vec![up("api", None)], &[]);
        let mut stopped = container("api", ContainerState::Exited, None, 143);
        stopped.stop_requested = true;
        let stopped = view(vec![stopped], &["api", "db"]);
        assert_eq!(stopped.services[0].status.label, "stopped");
        assert!(alerts(&running, &stopped).is_empty());
        let mut looping = up("api", None);
        looping.state = ContainerState::Restarting;
        let looping = view(vec![looping], &[]);
        let first = StackView::new(project(&["api", "db"]));
        assert_eq!(first.status, StackStatus::Unknown);
        assert!(alerts(&first, &looping).is_empty());
        assert_eq!(
            alerts(&running, &looping)[0].body,
            "keeps restarting (4 restarts)"
        );
    }

    #[test]
    fn a_body_is_one_bounded_line_and_markup_is_text() {
        assert_eq!(bounded("panic:\n\tat main\u{1b}[0m"), "panic:  at main [0m");
        let long = "é".repeat(1000);
        assert_eq!(bounded(&long).chars().count(), BODY + 1);
        assert_eq!(
            escape_markup("<b>x</b> & <a href=\"y\">"),
            "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=\"y\"&gt;"
        );
    }

    #[test]
    fn a_crash_marker_pushed_out_of_memory_is_found_in_the_history() {
        use berth_engine::logs::{Hub, HubOptions, Marker, Origin, Record, Stream};
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::new(HubOptions::default());
        hub.attach_history(dir.path(), 1 << 30).unwrap();
        let origin = |service: &str| {
            std::sync::Arc::new(Origin {
                id: service.into(),
                service: service.into(),
                name: format!("p-{service}-1"),
            })
        };
        let (api, db) = (origin("api"), origin("db"));
        let record = |origin: &std::sync::Arc<Origin>, ts: i64, marker: Option<Marker>| Record {
            origin: origin.clone(),
            stream: Stream::Stdout,
            ts,
            text: format!("line {ts:06} {}", "x".repeat(100)).into_bytes(),
            partial: false,
            marker,
        };
        hub.append(&mut vec![record(&db, 0, Some(Marker::Crashed))]);
        hub.append(&mut vec![record(&api, 1, Some(Marker::Crashed))]);
        // Then a flood from db, until the crash has left memory for the disk.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut ts = 2;
        while hub.read(|s| s.first()) <= 1 {
            assert!(std::time::Instant::now() < deadline, "memory kept it all");
            hub.append(&mut (ts..ts + 2000).map(|t| record(&db, t, None)).collect());
            ts += 2000;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(stored_alarm(&hub, "api"), Some((1, 1)));
        assert_eq!(stored_alarm(&hub, "db"), Some((0, 0)));
        assert_eq!(stored_alarm(&hub, "web"), None);
    }
}

//! The log view: its filter and search, its live reports, its rows and its export.

use std::sync::{Arc, Mutex};

use berth_engine::logs::{Delivery, ExportOptions, Filter, Hub, Search, Store};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

use super::{Berth, ask, replace};
use crate::error::Error;
use crate::logview::{HistorySearch, LogView, Rows, ViewStats};

/// Sets the log view's filter and search and (re)subscribes its live feed.
#[tauri::command]
pub fn logs_set_view(
    berth: State<'_, Berth>,
    filter: Filter,
    search: Option<Search>,
) -> Result<ViewStats, Error> {
    let hub = berth.log_hub();
    // Subscribe before selecting, so no line falls between; the view drops the repeats.
    let deliveries = hub.subscribe_positions(filter.clone());
    let history = hub.history_dir();
    let (stats, searching) = read_view(&berth, |store, view| {
        let stats = view.set(store, filter, search.as_ref(), history.as_deref())?;
        Ok::<_, String>((stats, view.history_search()))
    })
    .map_err(Error::invalid)?;
    if let Some(searching) = searching {
        search_history(&berth, searching);
    }
    let task = tauri::async_runtime::spawn(feed(
        hub,
        deliveries,
        berth.logs.clone(),
        berth.log_listener.clone(),
    ));
    replace(&berth.log_feed, task);
    Ok(stats)
}

/// Searches the project's history (the hub's own directory) off the window's thread, newest
/// segment first, and reports the view with the stored matches as they are found (at most every
/// [`SEARCH_REPORT`]); a view set meanwhile stops it.
fn search_history(berth: &Berth, searching: HistorySearch) {
    let hub = berth.session().hub().clone();
    let (logs, listener) = (berth.logs.clone(), berth.log_listener.clone());
    std::thread::spawn(move || {
        let view = searching.view;
        let mut reported: Option<std::time::Instant> = None;
        let mut unreported = false;
        let scanned = searching.run(|found| {
            let mut logs_view = logs.lock().expect("log view");
            // A search typed anew stops the scan of the old one.
            if logs_view.view() != view {
                return false;
            }
            unreported |= !found.is_empty();
            logs_view.found(view, found);
            drop(logs_view);
            if unreported && reported.is_none_or(|at| at.elapsed() >= SEARCH_REPORT) {
                report(&hub, &logs, &listener);
                (reported, unreported) = (Some(std::time::Instant::now()), false);
            }
            true
        });
        if unreported && logs.lock().expect("log view").view() == view {
            report(&hub, &logs, &listener);
        }
        if let Err(e) = scanned {
            tracing::warn!(dir = %searching.dir.display(), %e, "log history search");
        }
    });
}

/// How often a history search reports the matches it found so far.
const SEARCH_REPORT: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs `f` on the open project's stored lines and the log view.
fn read_view<T>(berth: &Berth, f: impl FnOnce(&Store, &mut LogView) -> T) -> T {
    let hub = berth.log_hub();
    hub.read(|store| f(store, &mut attached(&hub, store, &berth.logs)))
}

/// The log view, reading the hub's history if it has opened since the view was set.
fn attached<'a>(
    hub: &Hub,
    store: &Store,
    logs: &'a Mutex<LogView>,
) -> std::sync::MutexGuard<'a, LogView> {
    let mut view = logs.lock().expect("log view");
    view.attach(store, hub.history_dir().as_deref());
    view
}

/// Applies each delivery of new lines to the view and reports it, until the hub is gone.
async fn feed(
    hub: Hub,
    mut deliveries: tokio::sync::mpsc::Receiver<Delivery>,
    logs: Arc<Mutex<LogView>>,
    listener: Arc<Mutex<Option<Channel<ViewStats>>>>,
) {
    while let Some(delivery) = deliveries.recv().await {
        hub.read(|store| logs.lock().expect("log view").apply(store, delivery));
        report(&hub, &logs, &listener);
    }
}

/// Sends the window a report of the log view if it is watching; otherwise the new rows wait in
/// the view for the report that `logs_watch` sends.
fn report(hub: &Hub, logs: &Mutex<LogView>, listener: &Mutex<Option<Channel<ViewStats>>>) {
    if let Some(l) = &*listener.lock().expect("listener") {
        let mut stats = hub.read(|store| attached(hub, store, logs).stats(store));
        stats.history_stopped = crate::logview::history_warning(&hub.history_status());
        let _ = l.send(stats);
    }
}

/// Where the log view's live reports go (the viewer's `subscribe`), starting with one that
/// catches up on what changed while nobody watched.
#[tauri::command]
pub fn logs_watch(berth: State<'_, Berth>, on_stats: Channel<ViewStats>) {
    *berth.log_listener.lock().expect("listener") = Some(on_stats);
    report(&berth.log_hub(), &berth.logs, &berth.log_listener);
}

/// Has the viewer scroll to the line at `pos` and highlight it: at once if it watches, else in
/// the report it gets when the window shows.
pub fn reveal(berth: &Berth, pos: u64) {
    berth.logs.lock().expect("log view").reveal(pos);
    report(berth.session().hub(), &berth.logs, &berth.log_listener);
}

/// Stops the live reports (the window is hidden): lines still reach the view, and the next
/// `logs_watch` reports them at once instead of a repaint for each batch nobody sees.
#[tauri::command]
pub fn logs_unwatch(berth: State<'_, Berth>) {
    *berth.log_listener.lock().expect("listener") = None;
}

#[tauri::command]
pub fn logs_window(berth: State<'_, Berth>, start: u32, count: u32, evicted: i64) -> Rows {
    let count = count.min(1000);
    read_view(&berth, |store, view| {
        view.window(store, start, count, evicted)
    })
}

/// Prepends a page of the project's older stored lines to the view (`page`; none left:
/// nothing) and reports it; without `page`, only reports (a find prepended the rows of a match).
#[tauri::command]
pub fn logs_older(berth: State<'_, Berth>, page: bool) -> ViewStats {
    let hub = berth.session().hub().clone();
    let mut stats = read_view(&berth, |store, view| view.older(store, page));
    stats.history_stopped = crate::logview::history_warning(&hub.history_status());
    stats
}

/// The whole text of one row, for copying a long line (a window carries only its start).
#[tauri::command]
pub fn logs_line_text(berth: State<'_, Berth>, row: u32, evicted: i64) -> Option<String> {
    read_view(&berth, |store, view| view.line_text(store, row, evicted))
}

#[tauri::command]
pub fn logs_find(
    berth: State<'_, Berth>,
    from: u32,
    forward: bool,
    evicted: i64,
    length: u32,
) -> Option<i64> {
    read_view(&berth, |store, view| {
        view.find(store, from, forward, evicted, length)
    })
}

/// The nearest lifecycle marker's row, as `logs_find` finds a match's.
#[tauri::command]
pub fn logs_find_marker(
    berth: State<'_, Berth>,
    from: u32,
    forward: bool,
    evicted: i64,
    length: u32,
) -> Option<i64> {
    read_view(&berth, |store, view| {
        view.find_marker(store, from, forward, evicted, length)
    })
}

/// Sets `service`'s alert rule in the open project (an empty `pattern` removes it): its log
/// lines matching the regex are notified.
#[tauri::command]
pub fn set_alert(berth: State<'_, Berth>, service: String, pattern: String) -> Result<(), Error> {
    let pattern = pattern.trim();
    let project = {
        let view = berth.view.borrow();
        let loaded = view.project.loaded().ok_or_else(|| {
            Error::not_ready("The compose file has errors (shown in the window); fix them first.")
        })?;
        if !loaded.services.iter().any(|s| s.name == service) {
            return Err(Error::invalid(format!(
                "The project {} has no service {service:?}.",
                loaded.name
            )));
        }
        loaded.name.clone()
    };
    if !pattern.is_empty() {
        crate::alerts::Rule::new(&service, pattern).map_err(Error::invalid)?;
    }
    {
        let mut settings = berth.settings.lock().expect("settings lock");
        let mut changed = settings.clone();
        let rules = changed.alerts.entry(project.clone()).or_default();
        if pattern.is_empty() {
            rules.remove(&service);
        } else {
            rules.insert(service, pattern.to_owned());
        }
        if rules.is_empty() {
            changed.alerts.remove(&project);
        }
        changed.save(&berth.config_dir).map_err(Error::file)?;
        *settings = changed;
    }
    berth.start_alerts();
    Ok(())
}

/// Writes the view to a file the user picks in a save dialog; `None` when they cancel.
#[tauri::command]
pub async fn logs_export<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
) -> Result<Option<String>, Error> {
    let picked = ask(|done| {
        app.dialog()
            .file()
            .set_title("Export the log")
            .set_file_name("berth-logs.txt")
            .add_filter("Text", &["txt", "log"])
            .save_file(done)
    });
    let Some(path) = picked.await else {
        return Ok(None);
    };
    let path = path.into_path().map_err(|e| Error::file(e.to_string()))?;
    let hub = berth.log_hub();
    let filter = berth.logs.lock().expect("log view").filter().clone();
    let options = ExportOptions {
        prefix: true,
        ..ExportOptions::default()
    };
    // A long history takes a while to write: off the async runtime's threads.
    let written = tauri::async_runtime::spawn_blocking({
        let path = path.clone();
        move || -> std::io::Result<()> {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            crate::logview::export(
                &hub,
                &filter,
                hub.history_dir().as_deref(),
                options,
                &mut out,
            )?;
            out.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?
                .sync_all()
        }
    })
    .await
    .map_err(|e| Error::file(format!("Could not write {}: {e}", path.display())))?;
    written.map_err(|e| Error::file(format!("Could not write {}: {e}", path.display())))?;
    Ok(Some(path.display().to_string()))
}

//! The IPC commands the UI may call. Each is thin: it hands typed data to the session or the log
//! view and returns typed data; live updates go through `Channel`s.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use berth_engine::logs::{ExportOptions, Filter, Search};
use berth_engine::{PortProbe, Progress, ProgressEvent, ProjectArgs, StatsHistory, StatsSample};
use serde::Serialize;
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
use tokio::sync::watch;
use ts_rs::TS;

use crate::logview::{LogView, Rows, ViewStats};
use crate::metrics::{self, Batcher};
use crate::project::OpenProject;
use crate::session::Session;
use crate::settings::{Settings, SettingsChange};
use crate::view::{ActionRequest, StackView};

/// The app's state: the open project's session, the settings, and what the window is
/// subscribed to.
pub struct Berth {
    session: RwLock<Arc<Session>>,
    settings: Mutex<Settings>,
    config_dir: PathBuf,
    view: watch::Sender<StackView>,
    logs: Arc<Mutex<LogView>>,
    /// The forwarding tasks of the window's subscriptions; a new subscription (a reload of the
    /// page) replaces the old one.
    stack_feed: Mutex<Option<JoinHandle<()>>>,
    log_feed: Mutex<Option<JoinHandle<()>>>,
    log_listener: Arc<Mutex<Option<Channel<ViewStats>>>>,
    metrics_feed: Mutex<Option<JoinHandle<()>>>,
}

impl Berth {
    /// Opens `project` and remembers it first among the recent projects.
    pub fn open(project: OpenProject, settings: Settings, config_dir: PathBuf) -> Berth {
        let view = watch::Sender::new(StackView::new(crate::project::ProjectStatus::Invalid {
            files: Vec::new(),
            message: String::new(),
        }));
        let berth = Berth {
            session: RwLock::new(Session::open(project, view.clone(), &settings)),
            settings: Mutex::new(settings),
            config_dir,
            view,
            logs: Arc::default(),
            stack_feed: Mutex::default(),
            log_feed: Mutex::default(),
            log_listener: Arc::default(),
            metrics_feed: Mutex::default(),
        };
        berth.remember();
        berth
    }

    pub fn session(&self) -> Arc<Session> {
        self.session.read().expect("session lock").clone()
    }

    /// The view, for the tray.
    pub fn watch(&self) -> watch::Receiver<StackView> {
        self.view.subscribe()
    }

    /// Runs `request`, for the window and the tray alike.
    pub async fn run(&self, request: ActionRequest, progress: Progress) -> Result<(), String> {
        self.session().run(request, progress).await
    }

    /// Replaces the open project (the old session's tasks end with it).
    fn switch(&self, args: ProjectArgs) -> Result<(), String> {
        let project = OpenProject::new(args).map_err(|e| e.to_string())?;
        let settings = self.settings.lock().expect("settings lock").clone();
        let session = Session::open(project, self.view.clone(), &settings);
        *self.session.write().expect("session lock") = session;
        *self.logs.lock().expect("log view") = LogView::default();
        self.remember();
        Ok(())
    }

    fn remember(&self) {
        let args = self.session().project().args().clone();
        let mut settings = self.settings.lock().expect("settings lock");
        settings.remember(&args);
        if let Err(err) = settings.save(&self.config_dir) {
            tracing::warn!("{err}");
        }
    }
}

fn replace(slot: &Mutex<Option<JoinHandle<()>>>, task: JoinHandle<()>) {
    if let Some(old) = slot.lock().expect("feed lock").replace(task) {
        old.abort();
    }
}

/// Sends the stack's view now and after every change.
#[tauri::command]
pub fn watch_stack(berth: State<'_, Berth>, on_view: Channel<StackView>) {
    let mut rx = berth.watch();
    let task = tauri::async_runtime::spawn(async move {
        loop {
            let view = rx.borrow_and_update().clone();
            if on_view.send(view).is_err() || rx.changed().await.is_err() {
                return;
            }
        }
    });
    replace(&berth.stack_feed, task);
}

/// What the services table draws beside the state: resource use and port probes.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Metrics {
    /// Each container's recent samples, first.
    History { histories: Vec<StatsHistory> },
    /// New samples, batched when they are worth a redraw (`metrics::Batcher`).
    Samples { samples: Vec<StatsSample> },
    /// The probes of every published port, whenever one of them changes.
    Probes { probes: Vec<PortProbe> },
}

/// Streams stats and probes while the window wants them (it stops when hidden): the engine's
/// stats streams and the probes run only meanwhile.
#[tauri::command]
pub fn watch_metrics(berth: State<'_, Berth>, on_metrics: Channel<Metrics>) {
    let session = berth.session();
    let mut views = berth.watch();
    let task = tauri::async_runtime::spawn(async move {
        // The handles exist once the engine answers, which the view then says.
        let (stats, prober) = loop {
            if let Some(handles) = session.metrics() {
                break handles;
            }
            if views.changed().await.is_err() {
                return;
            }
        };
        drop((session, views));
        let (histories, mut samples) = stats.subscribe();
        let (probes, mut rounds) = prober.subscribe();
        let mut batch = Batcher::new(&histories, Instant::now());
        let _ = on_metrics.send(Metrics::History { histories });
        if !probes.is_empty() {
            let _ = on_metrics.send(Metrics::Probes { probes });
        }
        let mut tick = tokio::time::interval(metrics::CHECK);
        loop {
            tokio::select! {
                sample = samples.recv() => match sample {
                    Ok(sample) => batch.push(sample),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                round = rounds.recv() => match round {
                    Ok(probes) => { let _ = on_metrics.send(Metrics::Probes { probes }); }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                now = tick.tick() => if let Some(samples) = batch.take(now.into_std()) {
                    let _ = on_metrics.send(Metrics::Samples { samples });
                },
            }
        }
    });
    replace(&berth.metrics_feed, task);
}

/// Stops the metrics stream (the window is hidden).
#[tauri::command]
pub fn unwatch_metrics(berth: State<'_, Berth>) {
    if let Some(task) = berth.metrics_feed.lock().expect("feed lock").take() {
        task.abort();
    }
}

/// Probes a service's published port again (the user clicked its dot): probes otherwise run
/// only when a port appears, since each is a line in the service's own log.
#[tauri::command]
pub fn probe_again(berth: State<'_, Berth>, service: String, host_port: u16) {
    if let Some((_, prober)) = berth.session().metrics() {
        prober.probe_again(&service, host_port);
    }
}

/// Starts, stops, restarts or takes down the stack or some of its services. Progress streams to
/// `on_progress`; the result says what failed and what to do.
#[tauri::command]
pub async fn run_action(
    berth: State<'_, Berth>,
    request: ActionRequest,
    on_progress: Channel<ProgressEvent>,
) -> Result<(), String> {
    let (progress, mut rx) = Progress::channel();
    let forward = tauri::async_runtime::spawn(async move {
        while let Some(event) = rx.recv().await {
            let _ = on_progress.send(event);
        }
    });
    let result = berth.run(request, progress).await;
    // The sink is gone with `run`: the forwarder drains what is left and ends.
    let _ = forward.await;
    result
}

#[tauri::command]
pub fn cancel_action(berth: State<'_, Berth>) {
    berth.session().cancel();
}

/// Sets the log view's filter and search and (re)subscribes its live feed.
#[tauri::command]
pub fn logs_set_view(
    berth: State<'_, Berth>,
    filter: Filter,
    search: Option<Search>,
) -> Result<ViewStats, String> {
    let session = berth.session();
    let hub = session.hub().clone();
    // Subscribe before selecting, so no line falls between; the view drops the repeats.
    let mut deliveries = hub.subscribe(filter.clone());
    let stats = hub.read(|store| {
        berth
            .logs
            .lock()
            .expect("log view")
            .set(store, filter, search.as_ref())
    })?;
    let (logs, listener) = (berth.logs.clone(), berth.log_listener.clone());
    let task = tauri::async_runtime::spawn(async move {
        while let Some(delivery) = deliveries.recv().await {
            hub.read(|store| logs.lock().expect("log view").apply(store, delivery));
            report(&hub, &logs, &listener);
        }
    });
    replace(&berth.log_feed, task);
    Ok(stats)
}

/// Sends the window a report of the log view if it is watching; otherwise the new rows wait in
/// the view for the report that `logs_watch` sends.
fn report(
    hub: &berth_engine::logs::Hub,
    logs: &Mutex<LogView>,
    listener: &Mutex<Option<Channel<ViewStats>>>,
) {
    if let Some(l) = &*listener.lock().expect("listener") {
        let _ = l.send(hub.read(|store| logs.lock().expect("log view").stats(store)));
    }
}

/// Where the log view's live reports go (the viewer's `subscribe`), starting with one that
/// catches up on what changed while nobody watched.
#[tauri::command]
pub fn logs_watch(berth: State<'_, Berth>, on_stats: Channel<ViewStats>) {
    *berth.log_listener.lock().expect("listener") = Some(on_stats);
    report(berth.session().hub(), &berth.logs, &berth.log_listener);
}

/// Stops the live reports (the window is hidden): lines still reach the view, and the next
/// `logs_watch` reports them at once instead of a repaint for each batch nobody sees.
#[tauri::command]
pub fn logs_unwatch(berth: State<'_, Berth>) {
    *berth.log_listener.lock().expect("listener") = None;
}

#[tauri::command]
pub fn logs_window(berth: State<'_, Berth>, start: u32, count: u32, evicted: u64) -> Rows {
    let count = count.min(1000);
    let hub = berth.session().hub().clone();
    hub.read(|store| {
        berth
            .logs
            .lock()
            .expect("log view")
            .window(store, start, count, evicted)
    })
}

/// The whole text of one row, for copying a long line (a window carries only its start).
#[tauri::command]
pub fn logs_line_text(berth: State<'_, Berth>, row: u32, evicted: u64) -> Option<String> {
    let hub = berth.session().hub().clone();
    hub.read(|store| {
        berth
            .logs
            .lock()
            .expect("log view")
            .line_text(store, row, evicted)
    })
}

#[tauri::command]
pub fn logs_find(
    berth: State<'_, Berth>,
    from: u32,
    forward: bool,
    evicted: u64,
    length: u32,
) -> Option<u32> {
    let hub = berth.session().hub().clone();
    hub.read(|store| {
        berth
            .logs
            .lock()
            .expect("log view")
            .find(store, from, forward, evicted, length)
    })
}

/// Writes the view to a file the user picks in a save dialog; `None` when they cancel.
#[tauri::command]
pub async fn logs_export<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
) -> Result<Option<String>, String> {
    let picked = ask(|done| {
        app.dialog()
            .file()
            .set_file_name("berth-logs.txt")
            .add_filter("Text", &["txt", "log"])
            .save_file(done)
    });
    let Some(path) = picked.await else {
        return Ok(None);
    };
    let path = path.into_path().map_err(|e| e.to_string())?;
    let hub = berth.session().hub().clone();
    let positions = berth.logs.lock().expect("log view").positions();
    let options = ExportOptions {
        prefix: true,
        ..ExportOptions::default()
    };
    hub.read(|store| berth_engine::logs::export::to_file(store, &positions, options, &path))
        .map_err(|e| format!("Could not write {}: {e}", path.display()))?;
    Ok(Some(path.display().to_string()))
}

/// Shows a dialog and waits for its answer; `None` when the user cancels.
async fn ask<T: Send + 'static>(show: impl FnOnce(Box<dyn FnOnce(Option<T>) + Send>)) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    show(Box::new(move |answer| {
        let _ = tx.send(answer);
    }));
    rx.await.ok().flatten()
}

#[tauri::command]
pub fn settings(berth: State<'_, Berth>) -> Settings {
    berth.settings.lock().expect("settings lock").clone()
}

/// Saves what the page may change of the settings and reopens the project with them. The recent
/// projects are not the page's to write (it only picks among them, `open_recent`), and another
/// engine endpoint takes the user's yes in a native dialog: the page alone must not be able to
/// hand the stack, its files and its secrets to an engine of its choosing.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    change: SettingsChange,
) -> Result<(), String> {
    let current = berth.settings.lock().expect("settings lock").clone();
    let settings = change.apply(&current);
    settings.check()?;
    if settings.engine_endpoint != current.engine_endpoint
        && !confirm_endpoint(&app, &settings.engine_endpoint).await
    {
        return Err("Nothing was saved: the new Docker endpoint was not confirmed.".into());
    }
    settings.save(&berth.config_dir)?;
    *berth.settings.lock().expect("settings lock") = settings;
    berth.switch(berth.session().project().args().clone())
}

/// Asks the user, in a native dialog the page cannot answer, whether to use `endpoint`.
async fn confirm_endpoint<R: Runtime>(app: &AppHandle<R>, endpoint: &str) -> bool {
    let engine = if endpoint.is_empty() {
        "the engine DOCKER_HOST or the Docker context names".to_owned()
    } else {
        endpoint.to_owned()
    };
    let answer = ask(|done| {
        let mut dialog = app
            .dialog()
            .message(format!(
                "Berth will run this project's containers on {engine}, and send it the \
                 project's files and settings.\n\nWhoever runs that engine sees them and can \
                 run anything there: connect only to an engine you trust."
            ))
            .title("Connect Berth to another Docker engine?")
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Connect".into(),
                "Cancel".into(),
            ));
        if let Some(window) = app.get_webview_window("main") {
            dialog = dialog.parent(&window);
        }
        dialog.show(move |yes| done(yes.then_some(())))
    });
    answer.await.is_some()
}

/// Opens compose files the user picks (the first is the project's file, the others override
/// it, as with `-f`); `false` when they cancel.
#[tauri::command]
pub async fn open_project_dialog<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
) -> Result<bool, String> {
    let picked = ask(|done| {
        app.dialog()
            .file()
            .set_title("Open a compose file (and its override files)")
            .add_filter("Compose files", &["yaml", "yml"])
            .pick_files(done)
    });
    let Some(paths) = picked.await else {
        return Ok(false);
    };
    let files = paths
        .into_iter()
        .map(|p| p.into_path().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    berth.switch(ProjectArgs {
        files,
        ..ProjectArgs::default()
    })?;
    Ok(true)
}

/// Reopens the recent project at `index` (as `settings().recent` lists them).
#[tauri::command]
pub fn open_recent(berth: State<'_, Berth>, index: u32) -> Result<(), String> {
    let recent = berth.settings.lock().expect("settings lock").recent.clone();
    let args = recent
        .get(index as usize)
        .cloned()
        .ok_or_else(|| format!("There is no recent project number {index}."))?;
    berth.switch(args)
}

/// Reopens the project with these profiles active; only profiles its services name.
#[tauri::command]
pub fn set_profiles(berth: State<'_, Berth>, profiles: Vec<String>) -> Result<(), String> {
    let known = berth
        .view
        .borrow()
        .project
        .loaded()
        .map(|p| p.profiles.clone())
        .unwrap_or_default();
    if let Some(unknown) = profiles.iter().find(|p| !known.contains(p)) {
        return Err(format!("The project has no profile {unknown:?}."));
    }
    let mut args = berth.session().project().args().clone();
    args.profiles = profiles;
    berth.switch(args)
}

//! The IPC commands the UI may call, by domain. Each is thin: it hands typed data to the session
//! or the log view and returns typed data or an [`Error`]; live updates go through `Channel`s,
//! each fed by a loop in its domain's module.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use berth_engine::{Progress, ProjectArgs};
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;
use tokio::sync::{broadcast, watch};

use crate::alerts::LineAlert;
use crate::error::Error;
use crate::logview::{LogView, ViewStats};
use crate::project::OpenProject;
use crate::session::Session;
use crate::settings::Settings;
use crate::terminal::Terminals;
use crate::view::{ActionRequest, StackView};

pub mod files;
pub mod inspect;
pub mod logs;
pub mod metrics;
pub mod project;
pub mod projects;
pub mod stack;
pub mod swarm;
pub mod terminal;

include!("list.rs");

/// The handlers of every command in `list.rs`, for `Builder::invoke_handler`.
macro_rules! handler {
    ($($module:ident::$name:ident),* $(,)?) => {
        tauri::generate_handler![$(crate::commands::$module::$name),*]
    };
}

/// The app's state: the open project's session, the settings, and what the window is
/// subscribed to.
pub struct Berth {
    session: RwLock<Arc<Session>>,
    settings: Mutex<Settings>,
    config_dir: PathBuf,
    /// Where the projects' log histories are kept; none without a data directory.
    history: Option<PathBuf>,
    view: watch::Sender<StackView>,
    logs: Arc<Mutex<LogView>>,
    /// The forwarding tasks of the window's subscriptions; a new subscription (a reload of the
    /// page) replaces the old one.
    stack_feed: Mutex<Option<JoinHandle<()>>>,
    log_feed: Mutex<Option<JoinHandle<()>>>,
    log_listener: Arc<Mutex<Option<Channel<ViewStats>>>>,
    metrics_feed: Mutex<Option<JoinHandle<()>>>,
    projects_feed: Mutex<Option<JoinHandle<()>>>,
    /// An endpoint confirmation dialog is open: the page gets one at a time.
    confirming: AtomicBool,
    /// The open project's terminals.
    pub terminals: Terminals,
    /// The open project's alert rules at work, and the lines they notify.
    alert_task: Mutex<Option<JoinHandle<()>>>,
    line_alerts: broadcast::Sender<LineAlert>,
    /// The Swarm stack open in the Swarm view, its view's feed, and whether the log viewer
    /// shows its services' logs instead of the project's.
    swarm: crate::swarm::Swarm,
    swarm_feed: Mutex<Option<JoinHandle<()>>>,
    swarm_logs: AtomicBool,
}

impl Berth {
    /// Opens `project` and remembers it first among the recent projects.
    pub fn open(
        project: OpenProject,
        settings: Settings,
        config_dir: PathBuf,
        history: Option<PathBuf>,
    ) -> Berth {
        let view = watch::Sender::new(StackView::new(crate::project::ProjectStatus::Invalid {
            files: Vec::new(),
            message: String::new(),
        }));
        let berth = Berth {
            session: RwLock::new(Session::open(
                project,
                view.clone(),
                &settings,
                history.as_deref(),
            )),
            settings: Mutex::new(settings),
            config_dir,
            history,
            view,
            logs: Arc::default(),
            stack_feed: Mutex::default(),
            log_feed: Mutex::default(),
            log_listener: Arc::default(),
            metrics_feed: Mutex::default(),
            projects_feed: Mutex::default(),
            confirming: AtomicBool::new(false),
            terminals: Terminals::default(),
            alert_task: Mutex::default(),
            line_alerts: broadcast::channel(64).0,
            swarm: crate::swarm::Swarm::default(),
            swarm_feed: Mutex::default(),
            swarm_logs: AtomicBool::new(false),
        };
        berth.remember();
        berth.start_alerts();
        berth
    }

    /// The lines alert rules set off, for notifications.
    pub fn line_alerts(&self) -> broadcast::Receiver<LineAlert> {
        self.line_alerts.subscribe()
    }

    /// (Re)starts the open project's alert rules, as the settings now hold them.
    fn start_alerts(&self) {
        let Some(project) = self.view.borrow().project.loaded().map(|p| p.name.clone()) else {
            return;
        };
        let rules = {
            let settings = self.settings.lock().expect("settings lock");
            crate::alerts::rules(settings.alerts.get(&project).unwrap_or(&BTreeMap::new()))
        };
        let hub = self.session().hub().clone();
        let task = tauri::async_runtime::spawn(crate::alerts::follow(
            hub,
            project,
            rules,
            self.line_alerts.clone(),
        ));
        replace(&self.alert_task, task);
    }

    pub fn session(&self) -> Arc<Session> {
        self.session.read().expect("session lock").clone()
    }

    /// The log hub the log viewer shows: the open Swarm stack's when the Swarm view asked for
    /// it, else the open project's.
    pub fn log_hub(&self) -> berth_engine::logs::Hub {
        if self.swarm_logs.load(std::sync::atomic::Ordering::SeqCst)
            && let Ok(hub) = self.swarm.hub()
        {
            return hub;
        }
        self.session().hub().clone()
    }

    /// The view, for the tray.
    pub fn watch(&self) -> watch::Receiver<StackView> {
        self.view.subscribe()
    }

    /// Runs `request`, for the window and the tray alike.
    pub async fn run(&self, request: ActionRequest, progress: Progress) -> Result<(), Error> {
        self.session().run(request, progress).await
    }

    /// Turns watch mode on or off, for the window and the tray alike.
    pub async fn set_watch(
        &self,
        services: Vec<String>,
        on: bool,
        progress: Progress,
    ) -> Result<(), Error> {
        self.session().set_watch(services, on, progress).await
    }

    /// Replaces the open project (the old session's tasks end with it).
    fn switch(&self, args: ProjectArgs) -> Result<(), Error> {
        let project = OpenProject::new(args).map_err(|e| Error::file(e.to_string()))?;
        self.open_project(project);
        Ok(())
    }

    /// Replaces the open project with `project`.
    fn open_project(&self, project: OpenProject) {
        // One whose files are gone cannot be opened again from them.
        let remember = !project.files_missing();
        let settings = self.settings.lock().expect("settings lock").clone();
        let session = Session::open(
            project,
            self.view.clone(),
            &settings,
            self.history.as_deref(),
        );
        *self.session.write().expect("session lock") = session;
        self.terminals.clear();
        *self.logs.lock().expect("log view") = LogView::default();
        if remember {
            self.remember();
        }
        self.start_alerts();
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

/// Makes `task` the feed in `slot`, ending the one it replaces.
fn replace(slot: &Mutex<Option<JoinHandle<()>>>, task: JoinHandle<()>) {
    if let Some(old) = slot.lock().expect("feed lock").replace(task) {
        old.abort();
    }
}

/// Shows a dialog and waits for its answer; `None` when the user cancels.
async fn ask<T: Send + 'static>(show: impl FnOnce(Box<dyn FnOnce(Option<T>) + Send>)) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    show(Box::new(move |answer| {
        let _ = tx.send(answer);
    }));
    rx.await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    macro_rules! names {
        ($($module:ident::$name:ident),* $(,)?) => {
            [$(stringify!($name)),*]
        };
    }

    fn commands() -> BTreeSet<String> {
        commands!(names).iter().map(|c| (*c).to_owned()).collect()
    }

    fn read(path: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The commands `ipc.ts` calls (`call('name'`), the plugins' aside.
    fn called(source: &str) -> BTreeSet<String> {
        source
            .split("call(")
            .skip(1)
            .filter_map(|rest| {
                let name = rest.strip_prefix('\'')?;
                Some(name[..name.find('\'')?].to_owned())
            })
            .filter(|name| !name.starts_with("plugin:"))
            .collect()
    }

    #[test]
    fn the_capability_grants_exactly_the_listed_commands() {
        let capability: serde_json::Value =
            serde_json::from_str(&read("capabilities/main.json")).expect("JSON");
        let granted: BTreeSet<String> = capability["permissions"]
            .as_array()
            .expect("a permissions list")
            .iter()
            .filter_map(|p| p.as_str()?.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        assert_eq!(granted, commands());
    }

    #[test]
    fn ipc_ts_wraps_every_command_and_the_rest_of_the_ui_invokes_none() {
        assert_eq!(called(&read("../ui/src/lib/ipc.ts")), commands());
        let mut stray = Vec::new();
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("ui/src") {
                let path = entry.expect("an entry").path();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                if path.is_dir() {
                    dirs.push(path);
                } else if (name.ends_with(".ts") || name.ends_with(".svelte"))
                    && !name.starts_with("ipc.")
                    && std::fs::read_to_string(&path)
                        .expect("a UI source")
                        .contains("@tauri-apps/api/core")
                {
                    stray.push(path);
                }
            }
        }
        assert!(stray.is_empty(), "the IPC used outside ipc.ts: {stray:?}");
    }
}

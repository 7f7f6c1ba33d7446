//! The IPC commands the UI may call, by domain. Each is thin: it hands typed data to the session
//! or the log view and returns typed data or an [`Error`]; live updates go through `Channel`s,
//! each fed by a loop in its domain's module.

use std::collections::{BTreeMap, VecDeque};
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

/// How many opened projects stay warm, the shown one included. Each costs its session's event
/// and log streams and its log buffer (`log_buffer_mib`), so a few: enough to go back and forth
/// between the stacks one works on without reading their logs again; the least recently shown
/// is closed first.
pub const WARM: usize = 4;

/// An opened project: its session and the view it publishes.
struct Opened {
    session: Arc<Session>,
    view: watch::Sender<StackView>,
}

/// Which opened projects an opening closes.
#[derive(Clone, Copy, PartialEq)]
enum Close {
    /// None: the one opened is shown and the others stay warm (up to [`WARM`]).
    None,
    /// The shown one: it is replaced (other profiles).
    Shown,
    /// Every one: they were opened with other settings.
    All,
}

/// The app's state: the opened projects' sessions, the settings, and what the window is
/// subscribed to.
pub struct Berth {
    /// The shown project first, then those kept warm, most recently shown first. Every command
    /// acts on the shown one: [`Berth::session`].
    opened: RwLock<VecDeque<Opened>>,
    settings: Mutex<Settings>,
    config_dir: PathBuf,
    /// Where the projects' log histories are kept; none without a data directory.
    history: Option<PathBuf>,
    /// The shown project's view, for the window and the tray; `view_feed` copies it in.
    view: watch::Sender<StackView>,
    view_feed: Mutex<Option<JoinHandle<()>>>,
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
    /// The shown project's terminals; they end when another is shown.
    pub terminals: Terminals,
    /// The open project's alert rules at work, and the lines they notify.
    alert_task: Mutex<Option<JoinHandle<()>>>,
    line_alerts: broadcast::Sender<LineAlert>,
    /// The Swarm stack open in the Swarm view, its view's feed, and whether the log viewer
    /// shows its services' logs instead of the project's.
    pub(crate) swarm: crate::swarm::Swarm,
    swarm_feed: Mutex<Option<JoinHandle<()>>>,
    swarm_logs: AtomicBool,
    /// The shown project's engine's projects, as last listed (none before the first listing):
    /// `projects::follow` keeps it, the window's list and the tray read it.
    projects: watch::Sender<Option<berth_engine::project_list::Listing>>,
    /// The window's listener for the tray's Logs clicks.
    log_requests: Mutex<Option<Channel<projects::LogRequest>>>,
}

impl Berth {
    /// Opens `project` and remembers it first among the recent projects.
    pub fn open(
        project: OpenProject,
        settings: Settings,
        config_dir: PathBuf,
        history: Option<PathBuf>,
    ) -> Berth {
        let berth = Berth {
            opened: RwLock::default(),
            settings: Mutex::new(settings),
            config_dir,
            history,
            view: watch::Sender::new(empty_view()),
            view_feed: Mutex::default(),
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
            projects: watch::Sender::new(None),
            log_requests: Mutex::default(),
        };
        berth.open_project(project, Close::None);
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

    /// The shown project's session.
    pub fn session(&self) -> Arc<Session> {
        let opened = self.opened.read().expect("opened lock");
        opened.front().expect("a shown project").session.clone()
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

    /// The engine's projects as last listed, and after each change.
    pub fn listing(&self) -> watch::Receiver<Option<berth_engine::project_list::Listing>> {
        self.projects.subscribe()
    }

    /// The session of the opened project (shown or warm) named `name`, for the tray.
    pub fn session_of(&self, name: &str) -> Option<Arc<Session>> {
        let opened = self.opened.read().expect("opened lock");
        (opened.iter())
            .find(|o| (o.view.borrow().project.loaded()).is_some_and(|p| p.name == name))
            .map(|o| o.session.clone())
    }

    /// Asks the window to show `service`'s logs once `project` is shown (the tray's Logs).
    pub fn request_logs(&self, project: &str, service: &str) {
        if let Some(channel) = &*self.log_requests.lock().expect("log requests") {
            let request = projects::LogRequest {
                project: project.to_owned(),
                service: service.to_owned(),
            };
            if let Err(err) = channel.send(request) {
                tracing::debug!("the window did not take the log request: {err}");
            }
        }
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

    /// Shows the project `args` name: the warm one opened with them, else a new opening.
    fn switch(&self, args: ProjectArgs, close: Close) -> Result<(), Error> {
        let project = OpenProject::new(args).map_err(|e| Error::file(e.to_string()))?;
        self.open_project(project, close);
        Ok(())
    }

    /// Shows `project`: the warm one opened with the same arguments (its rows and logs are
    /// there at once), else a new session of it.
    fn open_project(&self, project: OpenProject, close: Close) {
        // One whose files are gone cannot be opened again from them.
        let remember = !project.files_missing();
        self.show_opened(close, |opened| {
            let warm = (opened.iter()).position(|o| o.session.project().args() == project.args());
            match warm {
                Some(at) => opened.remove(at).expect("a warm project"),
                None => {
                    let settings = self.settings.lock().expect("settings lock").clone();
                    let view = watch::Sender::new(empty_view());
                    let session =
                        Session::open(project, view.clone(), &settings, self.history.as_deref());
                    Opened { session, view }
                }
            }
        });
        if remember {
            self.remember();
        }
    }

    /// Shows the warm project named `name` (however it was opened); false if none is warm.
    fn show_warm(&self, name: &str) -> bool {
        let named = |o: &Opened| (o.view.borrow().project.loaded()).is_some_and(|p| p.name == name);
        if !(self.opened.read().expect("opened lock").iter()).any(named) {
            return false;
        }
        self.show_opened(Close::None, |opened| {
            match opened.iter().position(named) {
                Some(at) => opened.remove(at).expect("a warm project"),
                // Closed meanwhile: the shown one stays.
                None => opened.pop_front().expect("a shown project"),
            }
        });
        true
    }

    /// Shows the project `pick` takes out of the opened ones (after `close`). The least recently
    /// shown beyond [`WARM`] are closed, their tasks and streams ending with them. The shown
    /// project's terminals end; the watches of a warm one go on until it is closed.
    fn show_opened(&self, close: Close, pick: impl FnOnce(&mut VecDeque<Opened>) -> Opened) {
        let closed = {
            let mut opened = self.opened.write().expect("opened lock");
            let mut closed: Vec<Opened> = match close {
                Close::None => Vec::new(),
                Close::Shown => opened.pop_front().into_iter().collect(),
                Close::All => opened.drain(..).collect(),
            };
            let shown = pick(&mut opened);
            self.show(&shown.view);
            opened.push_front(shown);
            let kept = WARM.min(opened.len());
            closed.extend(opened.drain(kept..));
            closed
        };
        drop(closed);
        self.terminals.clear();
        *self.logs.lock().expect("log view") = LogView::default();
        self.start_alerts();
    }

    /// Makes `view` the one the window and the tray see, now and as it changes.
    fn show(&self, view: &watch::Sender<StackView>) {
        let mut views = view.subscribe();
        self.view.send_replace(views.borrow_and_update().clone());
        let shown = self.view.clone();
        let task = tauri::async_runtime::spawn(async move {
            while views.changed().await.is_ok() {
                shown.send_replace(views.borrow_and_update().clone());
            }
        });
        replace(&self.view_feed, task);
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

/// What is shown before a project's files are read.
fn empty_view() -> StackView {
    StackView::new(crate::project::ProjectStatus::Invalid {
        files: Vec::new(),
        message: String::new(),
    })
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

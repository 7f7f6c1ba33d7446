//! The open project's window side: the engine's [`berth_engine::Session`] (connection, state
//! model, log hub, action underway) translated into a [`StackView`] in a watch channel, rebuilt
//! on every update of the session. The project's files are watched: an edit reloads them into
//! the engine's session and the view. The window and the tray see only the view.

use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use berth_compose::Project;
use berth_engine::logs::history::HistoryOptions;
use berth_engine::logs::{Hub, HubOptions};
use berth_engine::{
    AbortOnDrop, Connection, DownOptions, FileWatch, ProberHandle, Progress, SessionOptions, Stack,
    StatsHandle, UpOptions, WatchEvent,
};
use tokio::sync::{mpsc, watch};

use crate::error::Error;
use crate::project::OpenProject;
use crate::settings::Settings;
use crate::view::{Action, ActionRequest, EngineView, StackView, WatchState};
use crate::watch::Watches;

pub struct Session {
    open: OpenProject,
    view: watch::Sender<StackView>,
    engine: Arc<berth_engine::Session>,
    /// The files the last load read; none if the system cannot watch files.
    files: Option<FileWatch>,
    /// Turn the engine session's updates into views, and edits into reloads; end with it.
    tasks: Mutex<Vec<AbortOnDrop>>,
    /// Held from a load to its publication, so a later load is never overtaken by an earlier.
    loading: Mutex<()>,
    /// The services watched (develop.watch); their watches end with the session.
    watches: Watches,
}

impl Session {
    /// Opens `open`: loads its files, shows them, and connects in the background. Opening never
    /// starts anything. Its logs are stored under `history` (see [`history::default_root`]),
    /// if given.
    pub fn open(
        open: OpenProject,
        view: watch::Sender<StackView>,
        settings: &Settings,
        history: Option<&Path>,
    ) -> Arc<Session> {
        static OPENED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let (status, project, sources) = open.load();
        view.send_replace(StackView {
            session: OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
            ..StackView::new(status)
        });
        let options = SessionOptions {
            engine: settings.engine(),
            hub: HubOptions {
                budget: (settings.log_buffer_mib as usize) << 20,
                history: history.map(|root| HistoryOptions {
                    root: root.to_owned(),
                    budget: u64::from(settings.history_mib) << 20,
                }),
                ..HubOptions::default()
            },
            follow_logs: true,
        };
        // The engine's session spawns on tokio: Tauri's runtime is one.
        let runtime = tauri::async_runtime::handle();
        let (engine, watched) = {
            let _entered = runtime.inner().enter();
            let watched = FileWatch::new(berth_engine::file_watch::QUIET)
                .inspect_err(|e| tracing::warn!(%e, "cannot watch the project's files"))
                .ok();
            (berth_engine::Session::open(project, options), watched)
        };
        let updates = engine.updates();
        let (files, edits) = watched.unzip();
        if let Some(files) = &files {
            files.watch(sources);
        }
        let session = Arc::new(Session {
            open,
            view,
            engine,
            files,
            tasks: Mutex::new(Vec::new()),
            loading: Mutex::new(()),
            watches: Watches::default(),
        });
        let weak = Arc::downgrade(&session);
        let mut tasks = vec![AbortOnDrop(
            runtime.inner().spawn(translate(weak.clone(), updates)),
        )];
        if let Some(edits) = edits {
            tasks.push(AbortOnDrop(
                runtime.inner().spawn(reload_on_edits(weak, edits)),
            ));
        }
        *session.tasks.lock().expect("tasks lock") = tasks;
        session
    }

    pub fn project(&self) -> &OpenProject {
        &self.open
    }

    pub fn hub(&self) -> &Hub {
        self.engine.hub()
    }

    /// The engine, once connected.
    pub fn engine(&self) -> Option<berth_engine::Engine> {
        self.engine.engine()
    }

    /// The project as its files say now: the one way anything acting on the project gets it.
    /// Loads the files and watches what they read. A good load is shown and handed to the
    /// engine's session; a broken one (or one under another project name) is told beside the
    /// last good one, and refused with what the window says of it.
    fn reload(&self) -> Result<Project, Error> {
        let _loading = self.loading.lock().expect("loading lock");
        let (status, project, sources) = self.open.load();
        if let Some(files) = &self.files {
            files.watch(sources);
        }
        let mut refused = None;
        self.publish(|v| {
            if !v.show_load(status) {
                refused = v.files_error.clone();
            }
        });
        let project = match (project, refused) {
            (Some(project), None) => project,
            (_, refused) => {
                return Err(Error::not_ready(refused.as_deref().unwrap_or(FILE_ERRORS)));
            }
        };
        self.engine.set_project(project.clone());
        Ok(project)
    }

    /// Rebuilds the view from what is known now.
    fn publish(&self, change: impl FnOnce(&mut StackView)) {
        let (version, snapshot) = self.engine.known();
        self.view.send_modify(|v| {
            change(v);
            v.refresh(version.as_ref(), snapshot.as_ref());
        });
    }

    /// Runs `request` on the project as its files say now, reporting progress; one at a time.
    pub async fn run(&self, request: ActionRequest, progress: Progress) -> Result<(), Error> {
        let Some(engine) = self.engine.engine() else {
            return Err(Error::not_ready(NOT_CONNECTED));
        };
        let project = self.reload()?;
        check_request(&request).map_err(Error::invalid)?;
        if request.action == Action::Rebuild && self.open.files_missing() {
            return Err(Error::invalid(
                "The project's files are missing: there is no build to run again.",
            ));
        }
        let Some(action) = self.engine.begin_action() else {
            return Err(Error::not_ready(
                "Another action is still running; wait for it or cancel it.",
            ));
        };
        self.publish(|v| v.action = Some(request.clone()));
        let stack = Stack::new(engine, project);
        let services = &request.services;
        let result = match request.action {
            // Without its files nothing can be created: Start starts the containers there are.
            Action::Up if self.open.files_missing() => stack.start(services, &progress).await,
            Action::Up => {
                let options = UpOptions {
                    services: services.clone(),
                    ..UpOptions::default()
                };
                stack
                    .up_cancellable(&options, &progress, action.token())
                    .await
            }
            Action::Stop => stack.stop(services, &progress).await,
            Action::Restart => stack.restart(services, &progress).await,
            Action::Down => stack.down(&DownOptions::default(), &progress).await,
            Action::Rebuild => {
                stack
                    .rebuild_cancellable(services, &progress, action.token())
                    .await
            }
        };
        drop(action);
        self.publish(|v| v.action = None);
        result.map_err(Error::from)
    }

    /// Turns watch mode on or off for `services` (none: every service with `develop.watch`).
    /// On first runs `up` of the services not yet watched, as `docker compose watch` does, so
    /// that what is watched is running as its files say; then each is watched until turned off
    /// or the project is closed. It returns once their files are watched.
    pub async fn set_watch(
        self: &Arc<Self>,
        services: Vec<String>,
        on: bool,
        progress: Progress,
    ) -> Result<(), Error> {
        if !on {
            // Off needs no load: it ends only this session's watches, files broken or not.
            let services = if services.is_empty() {
                self.watches.services()
            } else {
                services
            };
            for service in &services {
                self.watches.stop(service);
            }
            self.publish(|v| v.watches.retain(|s, _| !services.contains(s)));
            return Ok(());
        }
        let project = self.reload()?;
        let services = watched_services(&project, services).map_err(Error::invalid)?;
        let new: Vec<String> = (services.into_iter())
            .filter(|s| !self.watches.watching(s))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let up = ActionRequest {
            action: Action::Up,
            services: new.clone(),
        };
        self.run(up, progress).await?;
        let stack = self.stack()?;
        let started: Vec<_> = (new.iter())
            .map(|service| {
                let (session, name) = (Arc::downgrade(self), service.clone());
                let report = move |id, report: Result<WatchEvent, String>| {
                    let Some(s) = session.upgrade() else {
                        return false;
                    };
                    match report {
                        Ok(event) => s.watch_event(id, event),
                        Err(message) => s.watch_ended(id, &name, &message),
                    }
                    true
                };
                self.watches.start(stack.clone(), service, report)
            })
            .collect();
        // The row says "watching" from the engine's word: once an edit cannot be missed.
        for answer in started {
            if let Ok(Err(err)) = answer.await {
                return Err(err.into());
            }
        }
        Ok(())
    }

    /// Shows what watch `id` did on its service's row and in the log, unless it was turned off.
    fn watch_event(&self, id: u64, event: WatchEvent) {
        if !self.watches.is_current(&event.service, id) {
            return;
        }
        for line in crate::watch::log_lines(&event) {
            self.engine.hub().note(&event.service, &line);
        }
        let at = berth_engine::logs::format_rfc3339(berth_engine::clock::now_ns());
        self.publish(|v| {
            let state = WatchState::after(v.watches.get(&event.service), &event.kind, at);
            v.watches.insert(event.service, state);
        });
    }

    /// A watch that could not go on: its row and the log say why, and it is off.
    fn watch_ended(&self, id: u64, service: &str, message: &str) {
        if !self.watches.is_current(service, id) {
            return;
        }
        self.watches.stop(service);
        self.engine
            .hub()
            .note(service, &format!("Watch of {service} stopped: {message}"));
        self.publish(|v| {
            v.watches.remove(service);
        });
    }

    /// The live stats and port probes, once connected.
    pub fn metrics(&self) -> Option<(StatsHandle, ProberHandle)> {
        self.engine.metrics()
    }

    /// Cancels the action underway, if it can be (an `up`).
    pub fn cancel(&self) {
        self.engine.cancel();
    }

    /// The project as its files say now, on the engine: for what looks into one service.
    pub fn stack(&self) -> Result<Stack, Error> {
        let engine = (self.engine.engine()).ok_or_else(|| Error::not_ready(NOT_CONNECTED))?;
        Ok(Stack::new(engine, self.reload()?))
    }
}

const NOT_CONNECTED: &str = "Berth is not connected to a Docker engine yet; it keeps trying, \
                             and the header says why it cannot connect.";
const FILE_ERRORS: &str = "The compose file has errors (shown in the window); fix them first.";

/// Rebuilds the view on every update of the engine's session, until either is gone.
async fn translate(session: Weak<Session>, mut updates: watch::Receiver<Connection>) {
    while updates.changed().await.is_ok() {
        let connection = updates.borrow_and_update().clone();
        let Some(s) = session.upgrade() else { return };
        s.publish(|v| match connection {
            Connection::Connecting => {}
            Connection::Unavailable {
                reason,
                retry_in_ms,
            } => {
                v.engine = EngineView::Unavailable {
                    reason,
                    retry_in_ms,
                }
            }
            Connection::Connected(version) => v.engine = EngineView::Connected(version),
        });
    }
}

/// Reloads the project on each burst of edits to its files, until either is gone.
async fn reload_on_edits(session: Weak<Session>, mut edits: mpsc::Receiver<()>) {
    while edits.recv().await.is_some() {
        let Some(s) = session.upgrade() else { return };
        // A refused load is shown in the window; nothing else is to be done with it.
        let _ = s.reload();
    }
}

/// The services `asked` names, each one the project defines with `develop.watch`; all such
/// services when it names none.
fn watched_services(project: &Project, asked: Vec<String>) -> Result<Vec<String>, String> {
    let watchable = |name: &str| {
        project
            .services
            .get(name)
            .is_some_and(berth_compose::Service::watches)
    };
    if asked.is_empty() {
        let all: Vec<String> = (project.services.keys())
            .filter(|s| watchable(s))
            .cloned()
            .collect();
        if all.is_empty() {
            return Err(format!(
                "No service of {} has develop.watch in its compose file: add a develop.watch \
                 section to a service to watch its files.",
                project.name
            ));
        }
        return Ok(all);
    }
    for name in &asked {
        if !project.services.contains_key(name) {
            return Err(format!("{} has no service {name}.", project.name));
        }
        if !watchable(name) {
            return Err(format!(
                "{name} has no develop.watch in the compose file: add one to watch its files."
            ));
        }
    }
    Ok(asked)
}

/// Refuses what only the IPC can ask: a down of single services, a rebuild of the whole
/// stack. The stack checks the names.
fn check_request(request: &ActionRequest) -> Result<(), String> {
    if request.action == Action::Down && !request.services.is_empty() {
        return Err("Down applies to the whole stack; stop single services instead.".into());
    }
    if request.action == Action::Rebuild && request.services.is_empty() {
        return Err("Rebuild applies to single services; name the ones to rebuild.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use berth_engine::ProjectArgs;

    use super::*;
    use crate::error::ErrorKind;

    /// A project directory of its own, removed with the test.
    struct Dir(PathBuf);

    impl Dir {
        fn new(what: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("berth-test-{what}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create the project directory");
            Dir(dir)
        }

        /// Replaces compose.yaml at once (a rename), so no load reads half of it.
        fn write(&self, yaml: &str) {
            let part = self.0.join(".compose.yaml.part");
            std::fs::write(&part, yaml).expect("write compose.yaml");
            std::fs::rename(&part, self.0.join("compose.yaml")).expect("rename compose.yaml");
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn open(dir: &Dir, yaml: &str) -> (Arc<Session>, watch::Receiver<StackView>) {
        dir.write(yaml);
        let args = ProjectArgs {
            files: vec![dir.0.join("compose.yaml")],
            ..ProjectArgs::default()
        };
        let open = OpenProject::new(args).expect("the project's paths");
        let (view, shown) = watch::channel(StackView::new(open.load().0));
        (Session::open(open, view, &Settings::default(), None), shown)
    }

    fn named(name: &str, service: &str) -> String {
        format!("name: {name}\nservices:\n  {service}:\n    image: berth-test/busybox:1\n")
    }

    #[test]
    fn after_an_edit_of_the_name_the_stack_is_refused_as_runs_are() {
        let dir = Dir::new("session-name");
        let first = format!("berth-test-session-a-{}", std::process::id());
        let (session, _shown) = open(&dir, &named(&first, "web"));
        let deadline = Instant::now() + Duration::from_secs(20);
        let stack = loop {
            match session.stack() {
                Ok(stack) => break stack,
                Err(e) if e.message == NOT_CONNECTED && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("no stack: {}", e.message),
            }
        };
        assert_eq!(stack.project().name, first);

        dir.write(&named("berth-test-session-b", "web"));
        let refused = session.stack().map(|s| s.project().name.clone());
        let error = refused.expect_err("a stack under the files' new name");
        assert_eq!(error.kind, ErrorKind::NotReady);
        assert!(
            error.message.contains("berth-test-session-b") && error.message.contains("open them"),
            "{}",
            error.message
        );
    }

    #[test]
    fn the_last_edit_is_shown_however_reloads_interleave() {
        let dir = Dir::new("session-order");
        let name = format!("berth-test-session-order-{}", std::process::id());
        let (session, shown) = open(&dir, &named(&name, "s0"));
        let services = |v: &StackView| -> Vec<String> {
            let project = v.project.loaded().expect("a loaded project");
            project.services.iter().map(|s| s.name.clone()).collect()
        };
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        session.reload().expect("a good load");
                    }
                });
            }
            // Whatever reloads run meanwhile, the one after an edit leaves that edit shown.
            for i in 1..=300 {
                dir.write(&named(&name, &format!("s{i}")));
                session.reload().expect("a good load");
                let now = services(&shown.borrow());
                if now != [format!("s{i}")] {
                    done.store(true, Ordering::Relaxed);
                    panic!("edit {i} reloaded, yet {now:?} shown");
                }
            }
            done.store(true, Ordering::Relaxed);
        });
    }

    #[test]
    fn a_compose_file_made_after_a_load_that_found_none_is_loaded() {
        let dir = Dir::new("session-discovery");
        let args = ProjectArgs {
            project_directory: Some(dir.0.clone()),
            ..ProjectArgs::default()
        };
        let open = OpenProject::new(args).expect("the project's paths");
        let (view, shown) = watch::channel(StackView::new(open.load().0));
        let _session = Session::open(open, view, &Settings::default(), None);
        assert!(shown.borrow().project.loaded().is_none());

        let name = format!("berth-test-session-discovery-{}", std::process::id());
        dir.write(&named(&name, "web"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while shown.borrow().project.loaded().is_none() {
            assert!(Instant::now() < deadline, "compose.yaml never loaded");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Takes project `name` down when dropped.
    struct Down(String);

    impl Drop for Down {
        fn drop(&mut self) {
            let _ = std::process::Command::new("docker")
                .args(["compose", "-p", &self.0, "down", "-t", "0"])
                .output();
        }
    }

    /// A project of one service, `web`, whose src/ syncs into /app.
    fn watched(what: &str) -> (Dir, String, Down) {
        let dir = Dir::new(what);
        let name = format!("berth-test-{what}-{}", std::process::id());
        std::fs::create_dir_all(dir.0.join("src")).expect("src/");
        std::fs::write(dir.0.join("src/a.txt"), "one").expect("src/a.txt");
        dir.write(&format!(
            "name: {name}\nservices:\n  web:\n    image: berth-test/busybox:1\n    \
             command: [sleep, \"600\"]\n    develop:\n      watch:\n        \
             - action: sync\n          path: ./src\n          target: /app\n"
        ));
        (dir, name.clone(), Down(name))
    }

    /// Opens `dir`'s project once the engine answers, and watches it.
    fn open_watching(dir: &Dir) -> Arc<Session> {
        let (session, _shown) = open(
            dir,
            &std::fs::read_to_string(dir.0.join("compose.yaml")).unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while session.stack().is_err() {
            assert!(Instant::now() < deadline, "no engine");
            std::thread::sleep(Duration::from_millis(50));
        }
        tauri::async_runtime::block_on(session.set_watch(vec![], true, Progress::default()))
            .expect("watch on");
        session
    }

    /// Waits until /app/a.txt in the project's web container reads `want`.
    fn synced(name: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = std::process::Command::new("docker")
                .args(["exec", &format!("{name}-web-1"), "cat", "/app/a.txt"])
                .output()
                .expect("docker exec");
            let now = String::from_utf8_lossy(&out.stdout).into_owned();
            if now == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: /app/a.txt reads {now:?}, not {want:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_watch_ends_with_its_session_when_another_project_is_opened() {
        let (first, first_name, _down_first) = watched("session-watch-a");
        let (second, second_name, _down_second) = watched("session-watch-b");
        let session = open_watching(&first);
        std::fs::write(first.0.join("src/a.txt"), "two").unwrap();
        synced(&first_name, "two");

        // Another project replaces the first's session, as Project ▾ does.
        drop(session);
        let other = open_watching(&second);
        std::fs::write(first.0.join("src/a.txt"), "three").unwrap();
        std::fs::write(second.0.join("src/a.txt"), "two").unwrap();
        synced(&second_name, "two");
        synced(&first_name, "two");

        // A broken file does not keep Watch from being turned off.
        second.write("services: [\n");
        tauri::async_runtime::block_on(other.set_watch(vec![], false, Progress::default()))
            .expect("watch off");
        assert!(!other.watches.watching("web"));
    }

    #[test]
    fn watch_is_of_services_with_develop_watch() {
        let dir = Dir::new("session-watchable");
        dir.write(
            "name: p\nservices:\n  web:\n    image: x\n    develop:\n      watch:\n        \
             - action: sync\n          path: ./src\n          target: /app\n  db:\n    image: x\n",
        );
        let args = ProjectArgs {
            files: vec![dir.0.join("compose.yaml")],
            ..ProjectArgs::default()
        };
        let project = (OpenProject::new(args)
            .expect("the project's paths")
            .load()
            .1)
            .expect("a good load");
        assert_eq!(watched_services(&project, vec![]), Ok(vec!["web".into()]));
        let error = watched_services(&project, vec!["db".into()]).unwrap_err();
        assert!(error.starts_with("db has no develop.watch"), "{error}");
        let error = watched_services(&project, vec!["nope".into()]).unwrap_err();
        assert_eq!(error, "p has no service nope.");
    }

    fn request(action: Action, services: &[&str]) -> ActionRequest {
        ActionRequest {
            action,
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn down_is_of_the_whole_stack() {
        assert!(check_request(&request(Action::Down, &["web"])).is_err());
        assert_eq!(check_request(&request(Action::Down, &[])), Ok(()));
        assert_eq!(check_request(&request(Action::Stop, &["web"])), Ok(()));
    }

    #[test]
    fn rebuild_is_of_single_services() {
        assert!(check_request(&request(Action::Rebuild, &[])).is_err());
        assert_eq!(check_request(&request(Action::Rebuild, &["web"])), Ok(()));
    }
}

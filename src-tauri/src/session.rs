//! The open project's window side: the engine's [`berth_engine::Session`] (connection, state
//! model, log hub, action underway) translated into a [`StackView`] in a watch channel, rebuilt
//! on every update of the session. The window and the tray see only the view.

use std::sync::{Arc, Mutex, Weak};

use berth_engine::logs::{Hub, HubOptions};
use berth_engine::{
    AbortOnDrop, Connection, DownOptions, ProberHandle, Progress, SessionOptions, Stack,
    StatsHandle, UpOptions,
};
use tokio::sync::watch;

use crate::error::Error;
use crate::project::OpenProject;
use crate::settings::Settings;
use crate::view::{Action, ActionRequest, EngineView, StackView};

pub struct Session {
    open: OpenProject,
    view: watch::Sender<StackView>,
    engine: Arc<berth_engine::Session>,
    /// Turns the engine session's updates into views; ends with the session.
    task: Mutex<Option<AbortOnDrop>>,
}

impl Session {
    /// Opens `open`: loads its files, shows them, and connects in the background. Opening never
    /// starts anything.
    pub fn open(
        open: OpenProject,
        view: watch::Sender<StackView>,
        settings: &Settings,
    ) -> Arc<Session> {
        static OPENED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let (status, project) = open.load();
        view.send_replace(StackView {
            session: OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
            ..StackView::new(status)
        });
        let options = SessionOptions {
            endpoint: settings.engine_endpoint.clone(),
            hub: HubOptions {
                budget: (settings.log_buffer_mib as usize) << 20,
                ..HubOptions::default()
            },
            follow_logs: true,
        };
        // The engine's session spawns on tokio: Tauri's runtime is one.
        let runtime = tauri::async_runtime::handle();
        let engine = {
            let _entered = runtime.inner().enter();
            berth_engine::Session::open(project, options)
        };
        let updates = engine.updates();
        let session = Arc::new(Session {
            open,
            view,
            engine,
            task: Mutex::new(None),
        });
        let task = runtime
            .inner()
            .spawn(translate(Arc::downgrade(&session), updates));
        *session.task.lock().expect("task lock") = Some(AbortOnDrop(task));
        session
    }

    pub fn project(&self) -> &OpenProject {
        &self.open
    }

    pub fn hub(&self) -> &Hub {
        self.engine.hub()
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
        let stack = self.stack()?;
        check_request(&request).map_err(Error::invalid)?;
        let Some(action) = self.engine.begin_action() else {
            return Err(Error::not_ready(
                "Another action is still running; wait for it or cancel it.",
            ));
        };
        self.publish(|v| v.action = Some(request.clone()));
        let services = &request.services;
        let result = match request.action {
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
        };
        drop(action);
        self.publish(|v| v.action = None);
        result.map_err(Error::from)
    }

    /// The stack as its files say now (the window shows them as loaded), on the engine.
    pub fn stack(&self) -> Result<Stack, Error> {
        let Some(engine) = self.engine.engine() else {
            return Err(Error::not_ready(
                "Berth is not connected to a Docker engine yet; it keeps trying, \
                 and the header says why it cannot connect.",
            ));
        };
        let (status, project) = self.open.load();
        self.publish(|v| v.project = status.clone());
        let Some(project) = project else {
            return Err(Error::not_ready(
                "The compose file has errors (shown in the window); fix them first.",
            ));
        };
        Ok(Stack::new(engine, project))
    }

    /// The live stats and port probes, once connected.
    pub fn metrics(&self) -> Option<(StatsHandle, ProberHandle)> {
        self.engine.metrics()
    }

    /// Cancels the action underway, if it can be (an `up`).
    pub fn cancel(&self) {
        self.engine.cancel();
    }
}

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

/// Refuses what only the IPC can ask: a down of single services. The stack checks the names.
fn check_request(request: &ActionRequest) -> Result<(), String> {
    if request.action == Action::Down && !request.services.is_empty() {
        return Err("Down applies to the whole stack; stop single services instead.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

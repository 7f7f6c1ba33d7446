//! The open project's live side: the engine connection (retried until it answers), the state
//! model, the log hub and the stack action underway. The window and the tray see it only as a
//! [`StackView`] in a watch channel, rebuilt on every change of the state model.

use std::sync::{Arc, Mutex};

use berth_compose::Project;
use berth_engine::logs::{FollowOptions, Hub, HubOptions};
use berth_engine::{
    AbortOnDrop, Backoff, CancellationToken, DownOptions, Engine, EngineVersion, Feed, Prober,
    ProberHandle, Progress, Stack, StateHandle, Stats, StatsHandle, UpOptions,
};
use tokio::sync::watch;

use crate::error::Error;
use crate::project::OpenProject;
use crate::settings::Settings;
use crate::view::{Action, ActionRequest, EngineView, StackView};

/// Lines per container read back when the project opens; older ones stay in Docker.
const TAIL: u64 = 10_000;

pub struct Session {
    open: OpenProject,
    view: watch::Sender<StackView>,
    hub: Hub,
    live: Mutex<Live>,
    /// The action underway, cancellable.
    action: Mutex<Option<CancellationToken>>,
    task: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

#[derive(Default)]
struct Live {
    engine: Option<Engine>,
    version: Option<EngineVersion>,
    state: Option<StateHandle>,
    /// Read from the engine only while the window subscribes (see `metrics`).
    stats: Option<StatsHandle>,
    prober: Option<ProberHandle>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // The state model and the log followers end with the task.
        if let Some(task) = self.task.lock().expect("task lock").take() {
            task.abort();
        }
    }
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
        let session = Arc::new(Session {
            open,
            view,
            hub: Hub::new(HubOptions {
                budget: (settings.log_buffer_mib as usize) << 20,
                ..HubOptions::default()
            }),
            live: Mutex::new(Live::default()),
            action: Mutex::new(None),
            task: Mutex::new(None),
        });
        let endpoint = settings.engine_endpoint.clone();
        let task = tauri::async_runtime::spawn(connect_and_watch(
            Arc::downgrade(&session),
            project,
            endpoint,
        ));
        *session.task.lock().expect("task lock") = Some(task);
        session
    }

    pub fn project(&self) -> &OpenProject {
        &self.open
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Rebuilds the view from what is known now.
    fn publish(&self, change: impl FnOnce(&mut StackView)) {
        let live = self.live.lock().expect("live lock");
        let snapshot = live.state.as_ref().map(StateHandle::snapshot);
        self.view.send_modify(|v| {
            change(v);
            v.refresh(live.version.as_ref(), snapshot.as_ref());
        });
    }

    /// Runs `request` on the project as its files say now, reporting progress; one at a time.
    pub async fn run(&self, request: ActionRequest, progress: Progress) -> Result<(), Error> {
        let engine = self.live.lock().expect("live lock").engine.clone();
        let Some(engine) = engine else {
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
        check_request(&request).map_err(Error::invalid)?;
        let cancel = {
            let mut action = self.action.lock().expect("action lock");
            if action.is_some() {
                return Err(Error::not_ready(
                    "Another action is still running; wait for it or cancel it.",
                ));
            }
            action.insert(CancellationToken::new()).clone()
        };
        self.publish(|v| v.action = Some(request.clone()));
        let stack = Stack::new(engine, project);
        let services = &request.services;
        let result = match request.action {
            Action::Up => {
                let options = UpOptions {
                    services: services.clone(),
                    ..UpOptions::default()
                };
                stack.up_cancellable(&options, &progress, &cancel).await
            }
            Action::Stop => stack.stop(services, &progress).await,
            Action::Restart => stack.restart(services, &progress).await,
            Action::Down => stack.down(&DownOptions::default(), &progress).await,
        };
        *self.action.lock().expect("action lock") = None;
        self.publish(|v| v.action = None);
        result.map_err(Error::from)
    }

    /// The live stats and port probes, once connected.
    pub fn metrics(&self) -> Option<(StatsHandle, ProberHandle)> {
        let live = self.live.lock().expect("live lock");
        Some((live.stats.clone()?, live.prober.clone()?))
    }

    /// Cancels the action underway, if it can be (an `up`).
    pub fn cancel(&self) {
        if let Some(token) = &*self.action.lock().expect("action lock") {
            token.cancel();
        }
    }
}

/// Refuses what only the IPC can ask: a down of single services. The stack checks the names.
fn check_request(request: &ActionRequest) -> Result<(), String> {
    if request.action == Action::Down && !request.services.is_empty() {
        return Err("Down applies to the whole stack; stop single services instead.".into());
    }
    Ok(())
}

/// Connects (retrying with backoff while the engine is away), then keeps the view current from
/// the state model and feeds the log hub, until the session is dropped.
async fn connect_and_watch(
    session: std::sync::Weak<Session>,
    project: Option<Project>,
    endpoint: String,
) {
    let mut backoff = Backoff::new();
    let (engine, version) = loop {
        let attempt = async {
            let engine = if endpoint.is_empty() {
                Engine::connect().await?
            } else {
                Engine::connect_to(&endpoint).await?
            };
            let version = engine.version().await?;
            Ok::<_, berth_engine::Error>((engine, version))
        };
        match attempt.await {
            Ok(connected) => break connected,
            Err(err) => {
                let retry = backoff.wait();
                let Some(s) = session.upgrade() else { return };
                s.publish(|v| {
                    v.engine = EngineView::Unavailable {
                        reason: err.to_string(),
                        retry_in_ms: retry.as_millis() as u64,
                    }
                });
                drop(s);
                tokio::time::sleep(retry).await;
            }
        }
    };
    let Some(s) = session.upgrade() else { return };
    {
        let mut live = s.live.lock().expect("live lock");
        live.engine = Some(engine.clone());
        live.version = Some(version.clone());
    }
    s.publish(|v| v.engine = EngineView::Connected(version));
    let Some(project) = project else { return };
    let state = StateHandle::spawn(engine, project);
    let (_, mut changes) = state.subscribe().await;
    // One feed of the project's events for the state model, the stats and the log follower.
    let feed = state.feed().clone();
    {
        let mut live = s.live.lock().expect("live lock");
        live.stats = Some(Stats::follow(feed.clone()));
        live.prober = Some(Prober::spawn(state.clone()));
        live.state = Some(state);
    }
    s.publish(|_| {});
    let hub = s.hub.clone();
    drop(s);
    let _logs = AbortOnDrop(tokio::spawn(follow_logs(feed, hub)));
    loop {
        match changes.recv().await {
            // A lagged receiver rebuilds from the snapshot all the same.
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
        let Some(s) = session.upgrade() else { return };
        s.publish(|_| {});
    }
}

/// Follows every container's logs into the hub, from the last [`TAIL`] lines of each; the
/// follower itself re-attaches when the engine comes back.
async fn follow_logs(feed: Feed, hub: Hub) {
    let options = FollowOptions {
        tail: Some(TAIL),
        follow: true,
        ..FollowOptions::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let reading = berth_engine::logs::follow_feed(&feed, options, tx, Default::default());
    let (result, ()) = tokio::join!(reading, hub.pump(rx));
    if let Err(err) = result {
        tracing::warn!("following the logs stopped: {err}");
    }
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

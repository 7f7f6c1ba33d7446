//! An open project's live side, as both the app and `berthctl` run it: the engine connection
//! (retried until it answers), the state model on the project's one feed, the log hub and its
//! follower, the stats and port probes, and the stack action underway.

use std::sync::{Arc, Mutex, Weak};

use berth_compose::Project;
use tokio::sync::{broadcast::error::RecvError, watch};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::endpoint::{Engine, EngineChoice, EngineVersion};
use crate::feed::{Feed, FeedEvent};
use crate::logs::history::{self, HistoryOptions, Resumed};
use crate::logs::{FollowOptions, Hub, HubOptions};
use crate::probe::{Prober, ProberHandle};
use crate::state::{Snapshot, StateHandle};
use crate::stats::{Stats, StatsHandle};
use crate::subscription::{AbortOnDrop, Subscription};

/// Lines per container read back when the project opens; older ones stay in Docker.
const TAIL: u64 = 10_000;

/// How a session connects and what it follows.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// The engine to connect to.
    pub engine: EngineChoice,
    pub hub: HubOptions,
    /// Whether every container's logs are read into the hub.
    pub follow_logs: bool,
}

/// How far the connection got. The session's updates change on each attempt and on every change
/// of the state model.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting,
    /// Not reached yet; the session retries in `retry_in_ms`.
    Unavailable {
        reason: String,
        retry_in_ms: u64,
    },
    Connected(EngineVersion),
}

pub struct Session {
    hub: Hub,
    live: Mutex<Live>,
    updates: watch::Sender<Connection>,
    /// The project as its files last loaded; the state model follows it.
    project: watch::Sender<Option<Project>>,
    /// The action underway, cancellable.
    action: Mutex<Option<CancellationToken>>,
    task: Mutex<Option<AbortOnDrop>>,
}

#[derive(Default)]
struct Live {
    engine: Option<Engine>,
    version: Option<EngineVersion>,
    state: Option<StateHandle>,
    /// Read from the engine only while someone subscribes.
    stats: Option<StatsHandle>,
    prober: Option<ProberHandle>,
}

/// The action underway while it is held; dropping it lets the next one start.
pub struct ActionGuard<'a> {
    session: &'a Session,
    cancel: CancellationToken,
}

impl ActionGuard<'_> {
    pub fn token(&self) -> &CancellationToken {
        &self.cancel
    }
}

impl Drop for ActionGuard<'_> {
    fn drop(&mut self) {
        *self.session.action.lock().expect("action lock") = None;
    }
}

impl Session {
    /// Connects in the background (on the current tokio runtime) and, once connected, watches
    /// `project` once it has loaded (now, or at a [`Session::set_project`]). Opening never
    /// starts anything.
    pub fn open(project: Option<Project>, options: SessionOptions) -> Arc<Session> {
        let (project, projects) = watch::channel(project);
        let history = options.hub.history.clone();
        let session = Arc::new(Session {
            hub: Hub::new(options.hub),
            live: Mutex::new(Live::default()),
            updates: watch::channel(Connection::Connecting).0,
            project,
            action: Mutex::new(None),
            task: Mutex::new(None),
        });
        let task = tokio::spawn(connect_and_watch(
            Arc::downgrade(&session),
            projects,
            options.engine,
            options.follow_logs.then_some(history),
        ));
        *session.task.lock().expect("task lock") = Some(AbortOnDrop(task));
        session
    }

    /// The project as its files now say, after an edit: the state model takes its services,
    /// replicas and config hashes (what [`crate::ServiceStatus::config_changed`] compares).
    /// The project keeps its name: another name is another project, opened anew.
    pub fn set_project(&self, project: Project) {
        self.project.send_replace(Some(project));
    }

    /// The connection as it stands, marked changed on every attempt and state change.
    pub fn updates(&self) -> watch::Receiver<Connection> {
        self.updates.subscribe()
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn engine(&self) -> Option<Engine> {
        self.live.lock().expect("live lock").engine.clone()
    }

    /// The state model, once connected to a project that loaded.
    pub fn state(&self) -> Option<StateHandle> {
        self.live.lock().expect("live lock").state.clone()
    }

    /// The engine's version and the state model's snapshot, read together.
    pub fn known(&self) -> (Option<EngineVersion>, Option<Snapshot>) {
        let live = self.live.lock().expect("live lock");
        (
            live.version.clone(),
            live.state.as_ref().map(StateHandle::snapshot),
        )
    }

    /// The live stats and port probes, once connected.
    pub fn metrics(&self) -> Option<(StatsHandle, ProberHandle)> {
        let live = self.live.lock().expect("live lock");
        Some((live.stats.clone()?, live.prober.clone()?))
    }

    /// Marks an action underway, or `None` while another one is.
    pub fn begin_action(&self) -> Option<ActionGuard<'_>> {
        let mut action = self.action.lock().expect("action lock");
        if action.is_some() {
            return None;
        }
        let cancel = action.insert(CancellationToken::new()).clone();
        Some(ActionGuard {
            session: self,
            cancel,
        })
    }

    /// Cancels the action underway, if it can be (an `up`).
    pub fn cancel(&self) {
        if let Some(token) = &*self.action.lock().expect("action lock") {
            token.cancel();
        }
    }
}

/// Connects (retrying with backoff while the engine is away), then marks the updates changed on
/// every change of the state model and feeds the log hub (`follow`: with the history, if any),
/// until the session is dropped.
async fn connect_and_watch(
    session: Weak<Session>,
    mut projects: watch::Receiver<Option<Project>>,
    choice: EngineChoice,
    follow: Option<Option<HistoryOptions>>,
) {
    let mut backoff = Backoff::new();
    let (engine, version) = loop {
        let attempt = async {
            let engine = Engine::connect_with(&choice).await?;
            let version = engine.version().await?;
            Ok::<_, crate::Error>((engine, version))
        };
        match attempt.await {
            Ok(connected) => break connected,
            Err(err) => {
                let retry = backoff.wait();
                let Some(s) = session.upgrade() else { return };
                s.updates.send_replace(Connection::Unavailable {
                    reason: err.to_string(),
                    retry_in_ms: retry.as_millis() as u64,
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
    s.updates.send_replace(Connection::Connected(version));
    drop(s);
    // A project whose files do not load yet is watched once they do.
    let Ok(Some(project)) = projects.wait_for(Option::is_some).await.map(|p| p.clone()) else {
        return;
    };
    let Some(s) = session.upgrade() else { return };
    let name = project.name.clone();
    let state = StateHandle::spawn(engine.clone(), project);
    let (_, mut changes) = state.subscribe().await;
    // One feed of the project's events for the state model, the stats and the log follower.
    let feed = state.feed().clone();
    // Subscribed before the state model is shown, so no event after its listing goes unmarked.
    let markers = feed.subscribe();
    {
        let mut live = s.live.lock().expect("live lock");
        live.stats = Some(Stats::follow(feed.clone()));
        live.prober = Some(Prober::spawn(state.clone()));
        live.state = Some(state.clone());
    }
    s.updates.send_modify(|_| {});
    let hub = s.hub.clone();
    drop(s);
    let _logs = follow.map(|history| {
        AbortOnDrop(tokio::spawn(async move {
            let resume = match history {
                Some(history) => open_history(&engine, &name, &history, &hub).await,
                None => Resumed::default(),
            };
            follow_logs(feed, markers, hub, resume).await;
        }))
    });
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                // A lagged receiver rebuilds from the snapshot all the same.
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            // Its change reaches the updates through the state model's.
            reloaded = projects.changed() => {
                if reloaded.is_err() {
                    return;
                }
                if let Some(project) = &*projects.borrow_and_update() {
                    state.set_project(project);
                }
                continue;
            }
        }
        let Some(s) = session.upgrade() else { return };
        s.updates.send_modify(|_| {});
    }
}

/// Opens the project's history on this engine (its `docker info` ID names it) into the hub.
/// Returns where the follower goes on; nothing when it cannot be opened (said in the log),
/// the logs are then kept in memory only.
async fn open_history(
    engine: &Engine,
    project: &str,
    options: &HistoryOptions,
    hub: &Hub,
) -> Resumed {
    let id = match engine.docker().info().await {
        Ok(info) => info.id.unwrap_or_default(),
        Err(err) => {
            tracing::warn!(%err, "no engine ID: the log history is not kept");
            return Resumed::default();
        }
    };
    let dir = history::project_dir(&options.root, &id, project);
    let (budget, opening) = (options.budget, hub.clone());
    let opened = tokio::task::spawn_blocking(move || {
        opening.attach_history(&dir, budget).map_err(|e| (dir, e))
    })
    .await;
    match opened {
        Ok(Ok(resume)) => resume,
        Ok(Err((dir, err))) => {
            hub.note(
                "berth",
                &format!(
                    "Could not open the log history in {}: {err}. Lines are kept in memory only.",
                    dir.display()
                ),
            );
            Resumed::default()
        }
        Err(_) => Resumed::default(),
    }
}

/// Follows every container's logs into the hub (once its history, if any, is open): those with
/// stored lines from after their last one, those made since the history's newest line from
/// then, and on a first open each from its last [`TAIL`] lines, with the lifecycle markers
/// `events` tell. The follower itself re-attaches when the engine comes back.
async fn follow_logs(feed: Feed, events: Subscription<FeedEvent>, hub: Hub, resumed: Resumed) {
    let options = FollowOptions {
        tail: resumed.since.is_none().then_some(TAIL),
        since: resumed.since,
        follow: true,
        resume: resumed.containers,
        ..FollowOptions::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let markers = crate::logs::follow_markers(events, tx.clone());
    let reading = async {
        let result = crate::logs::follow_feed(&feed, options, tx, Default::default()).await;
        if let Err(err) = result {
            tracing::warn!("following the logs stopped: {err}");
        }
    };
    tokio::join!(reading, hub.pump(rx), markers);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn away() -> SessionOptions {
        SessionOptions {
            engine: EngineChoice::Endpoint("unix:///nonexistent/berth-test.sock".into()),
            ..SessionOptions::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_absent_engine_is_retried_with_growing_waits() {
        let session = Session::open(None, away());
        let mut updates = session.updates();
        let mut waits = Vec::new();
        while waits.len() < 3 {
            updates.changed().await.expect("session alive");
            match &*updates.borrow_and_update() {
                Connection::Unavailable {
                    reason,
                    retry_in_ms,
                } => {
                    assert!(reason.contains("berth-test.sock"), "{reason}");
                    waits.push(*retry_in_ms);
                }
                other => panic!("connected to nothing: {other:?}"),
            }
        }
        assert!(waits[0] < waits[2], "{waits:?}");
        assert!(session.engine().is_none() && session.metrics().is_none());
    }

    #[tokio::test]
    async fn one_action_at_a_time_and_cancel_reaches_it() {
        let session = Session::open(None, away());
        let first = session.begin_action().expect("nothing underway");
        assert!(session.begin_action().is_none());
        session.cancel();
        assert!(first.token().is_cancelled());
        drop(first);
        let next = session.begin_action().expect("the first one ended");
        assert!(!next.token().is_cancelled());
    }
}

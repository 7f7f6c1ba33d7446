//! The live state model of one project: every service's containers as Docker reports them,
//! kept current by the engine's event stream (one listing to start, then only events: no
//! polling). Subscribers get a snapshot and then every change, in order, with no gap between.
//! The engine going away is a state: the model says so, retries with backoff, and resyncs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_compose::Project;
use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::broadcast;
use ts_rs::TS;

use crate::containers::{self, Container};
use crate::error::not_found;
use crate::{Engine, labels};

/// Everything known about the project at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Snapshot {
    pub project: String,
    /// The sequence number of the last change this snapshot includes.
    pub seq: u64,
    pub engine: EngineState,
    pub services: BTreeMap<String, ServiceState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ServiceState {
    pub desired: Desired,
    pub containers: Vec<Container>,
}

/// What the project file asks of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Desired {
    /// Running with this many replicas.
    Running { replicas: u32 },
    /// Defined, but its profile is not active.
    Disabled,
    /// Not in the project: an orphan left by an earlier version of the file.
    Orphan,
}

/// Whether the model can hear from the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum EngineState {
    Connecting,
    Available,
    /// Lost; the next attempt is in `retry_in_ms`.
    Unavailable {
        error: String,
        retry_in_ms: u64,
    },
}

/// One change to the model.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Change {
    pub seq: u64,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum ChangeKind {
    /// A container appeared or changed; `action` is the Docker event that said so.
    Container {
        action: String,
        container: Box<Container>,
    },
    ContainerRemoved {
        service: String,
        id: String,
        name: String,
    },
    /// A network, volume or image of the project was created, removed, pulled, tagged…
    Resource {
        resource: String,
        name: String,
        action: String,
    },
    Engine {
        state: EngineState,
    },
    /// The model was rebuilt from a fresh listing (after the engine came back).
    Resynced {
        snapshot: Box<Snapshot>,
    },
}

/// A running state model; dropping the last handle stops it.
#[derive(Debug, Clone)]
pub struct StateHandle {
    shared: Arc<Shared>,
    _task: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
struct Shared {
    snapshot: Mutex<Snapshot>,
    tx: broadcast::Sender<Change>,
}

impl Shared {
    /// Applies a change and publishes it, under the lock so a subscriber's snapshot and its
    /// stream never overlap or leave a gap.
    fn publish(&self, apply: impl FnOnce(&mut Snapshot) -> Option<ChangeKind>) {
        let mut snapshot = self.snapshot.lock().expect("not poisoned");
        if let Some(kind) = apply(&mut snapshot) {
            snapshot.seq += 1;
            // No subscriber is fine: the snapshot holds the change.
            let _ = self.tx.send(Change {
                seq: snapshot.seq,
                kind,
            });
        }
    }
}

/// How many changes a slow subscriber may fall behind before it is told it lagged.
const CHANNEL: usize = 4096;
const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(5);

impl StateHandle {
    /// Starts the model for `project` on `engine`.
    pub fn spawn(engine: Engine, project: Project) -> StateHandle {
        let mut services = BTreeMap::new();
        for (name, s) in &project.services {
            let replicas = s.deploy.as_ref().and_then(|d| d.replicas).unwrap_or(1) as u32;
            services.insert(
                name.clone(),
                ServiceState {
                    desired: Desired::Running { replicas },
                    containers: Vec::new(),
                },
            );
        }
        for name in project.disabled_services.keys() {
            services.insert(
                name.clone(),
                ServiceState {
                    desired: Desired::Disabled,
                    containers: Vec::new(),
                },
            );
        }
        let shared = Arc::new(Shared {
            snapshot: Mutex::new(Snapshot {
                project: project.name.clone(),
                seq: 0,
                engine: EngineState::Connecting,
                services,
            }),
            tx: broadcast::channel(CHANNEL).0,
        });
        let images = project
            .services
            .keys()
            .map(|s| crate::names::image_name(&project, s))
            .collect();
        let task = tokio::spawn(run(engine, project.name, images, shared.clone()));
        StateHandle {
            shared,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// The current snapshot and every change after it.
    pub fn subscribe(&self) -> (Snapshot, broadcast::Receiver<Change>) {
        let snapshot = self.shared.snapshot.lock().expect("not poisoned");
        (snapshot.clone(), self.shared.tx.subscribe())
    }

    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot.lock().expect("not poisoned").clone()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Sync, follow events until the stream breaks, then retry with backoff, forever.
async fn run(engine: Engine, project: String, images: Vec<String>, shared: Arc<Shared>) {
    let mut retry = FIRST_RETRY;
    let mut synced_once = false;
    loop {
        // Events from a second before the listing, so none falls between the two; replays are
        // harmless because every event is applied by inspecting the container.
        let since = now_secs().saturating_sub(1);
        match containers::inspect_all(&engine, &project).await {
            Ok(list) => {
                retry = FIRST_RETRY;
                shared.publish(|s| {
                    resync(s, list);
                    s.engine = EngineState::Available;
                    Some(if synced_once {
                        ChangeKind::Resynced {
                            snapshot: Box::new(s.clone()),
                        }
                    } else {
                        ChangeKind::Engine {
                            state: EngineState::Available,
                        }
                    })
                });
                synced_once = true;
            }
            Err(e) => {
                unavailable(&shared, &e.to_string(), retry);
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(MAX_RETRY);
                continue;
            }
        }
        let filters = HashMap::from([
            ("label".to_owned(), vec![labels::project_filter(&project)]),
            (
                "type".to_owned(),
                vec!["container".into(), "network".into(), "volume".into()],
            ),
        ]);
        let options = EventsOptions {
            since: Some(since.to_string()),
            filters: Some(filters),
            ..Default::default()
        };
        // Images carry no project label: they are followed by name (pulls) and by ID (tags,
        // deletes), in a stream of their own.
        let mut image_refs = images.clone();
        for image in &images {
            if let Ok(Some(id)) = engine.docker().inspect_image(image).await.map(|i| i.id) {
                image_refs.push(id);
            }
        }
        let image_filters = HashMap::from([
            ("type".to_owned(), vec!["image".to_owned()]),
            ("image".to_owned(), image_refs),
        ]);
        let image_options = EventsOptions {
            since: Some(since.to_string()),
            filters: Some(image_filters),
            ..Default::default()
        };
        let docker = engine.docker();
        let mut events = futures_util::stream::select(
            docker.events(Some(options)),
            docker.events(Some(image_options)),
        );
        let error = loop {
            match events.next().await {
                Some(Ok(event)) => apply(&engine, &shared, event).await,
                Some(Err(e)) => break e.to_string(),
                None => break "the engine closed the event stream".to_owned(),
            }
        };
        unavailable(&shared, &error, retry);
        tokio::time::sleep(retry).await;
    }
}

fn unavailable(shared: &Shared, error: &str, retry: Duration) {
    tracing::debug!(%error, "the Docker engine is unavailable");
    let state = EngineState::Unavailable {
        error: error.to_owned(),
        retry_in_ms: retry.as_millis() as u64,
    };
    shared.publish(|s| {
        s.engine = state.clone();
        Some(ChangeKind::Engine { state })
    });
}

/// Replaces every service's containers with a fresh listing.
fn resync(s: &mut Snapshot, list: Vec<Container>) {
    for service in s.services.values_mut() {
        service.containers.clear();
    }
    s.services.retain(|_, v| v.desired != Desired::Orphan);
    for c in list {
        service_entry(s, &c.service).containers.push(c);
    }
}

fn service_entry<'a>(s: &'a mut Snapshot, service: &str) -> &'a mut ServiceState {
    s.services
        .entry(service.to_owned())
        .or_insert(ServiceState {
            desired: Desired::Orphan,
            containers: Vec::new(),
        })
}

/// Container actions that say nothing about its state (health checks alone run an exec a
/// second).
fn is_noise(action: &str) -> bool {
    action.starts_with("exec_")
        || matches!(
            action,
            "attach"
                | "detach"
                | "resize"
                | "top"
                | "copy"
                | "archive-path"
                | "extract-to-dir"
                | "export"
                | "commit"
        )
}

async fn apply(engine: &Engine, shared: &Shared, event: EventMessage) {
    let action = event.action.unwrap_or_default();
    let actor = event.actor.unwrap_or_default();
    let id = actor.id.unwrap_or_default();
    let attributes = actor.attributes.unwrap_or_default();
    match event.typ {
        Some(EventMessageTypeEnum::CONTAINER) => {
            if is_noise(&action) {
                return;
            }
            // The event itself says enough to publish the new state at once; the inspect that
            // fills in the rest can wait on the engine's container lock for a while (a killed
            // container holds it until its network is torn down).
            shared.publish(|s| {
                let service = attributes.get(labels::SERVICE)?;
                let known = s.services.get_mut(service)?;
                let container = known.containers.iter_mut().find(|c| c.id == id)?;
                if !fast_update(container, &action, &attributes) {
                    return None;
                }
                Some(ChangeKind::Container {
                    action: action.clone(),
                    container: Box::new(container.clone()),
                })
            });
            // A dying container holds the engine's lock on it for a while: inspecting it then
            // would hold up every later event. What these events change, the event said.
            if matches!(
                action.as_str(),
                "kill" | "die" | "stop" | "pause" | "unpause"
            ) {
                return;
            }
            let inspected = if action == "destroy" {
                None
            } else {
                match engine.docker().inspect_container(&id, None).await {
                    Ok(c) => Some(Container::from_inspect(&c)),
                    Err(e) if not_found(&e) => None,
                    Err(e) => {
                        tracing::debug!(%e, %id, "cannot inspect a container after an event");
                        return;
                    }
                }
            };
            shared.publish(|s| match inspected {
                Some(container) => {
                    let entry = service_entry(s, &container.service);
                    match entry.containers.iter_mut().find(|c| c.id == container.id) {
                        Some(existing) if *existing == container => return None,
                        Some(existing) => *existing = container.clone(),
                        None => {
                            entry.containers.push(container.clone());
                            entry.containers.sort_by(|a, b| {
                                (a.oneoff, a.number, &a.name).cmp(&(b.oneoff, b.number, &b.name))
                            });
                        }
                    }
                    Some(ChangeKind::Container {
                        action,
                        container: Box::new(container),
                    })
                }
                None => {
                    let service = attributes.get(labels::SERVICE).cloned().unwrap_or_default();
                    let entry = s.services.get_mut(&service)?;
                    let at = entry.containers.iter().position(|c| c.id == id)?;
                    let removed = entry.containers.remove(at);
                    if entry.containers.is_empty() && entry.desired == Desired::Orphan {
                        s.services.remove(&service);
                    }
                    Some(ChangeKind::ContainerRemoved {
                        service,
                        id,
                        name: removed.name,
                    })
                }
            });
        }
        Some(
            typ @ (EventMessageTypeEnum::NETWORK
            | EventMessageTypeEnum::VOLUME
            | EventMessageTypeEnum::IMAGE),
        ) => {
            let name = attributes.get("name").cloned().unwrap_or(id);
            shared.publish(|_| {
                Some(ChangeKind::Resource {
                    resource: typ.to_string(),
                    name,
                    action,
                })
            });
        }
        _ => {}
    }
}

/// Applies what a container event says by itself (its state, exit code or health) to the
/// model's record; returns whether anything changed.
fn fast_update(c: &mut Container, action: &str, attributes: &HashMap<String, String>) -> bool {
    let before = (c.state.clone(), c.exit_code, c.health.clone());
    match action {
        "die" => {
            c.state = "exited".to_owned();
            c.exit_code = attributes
                .get("exitCode")
                .and_then(|e| e.parse().ok())
                .unwrap_or(c.exit_code);
        }
        "start" | "unpause" => c.state = "running".to_owned(),
        "pause" => c.state = "paused".to_owned(),
        _ => match action.strip_prefix("health_status: ") {
            Some(health) => c.health = health.to_owned(),
            None => return false,
        },
    }
    before != (c.state.clone(), c.exit_code, c.health.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Container {
        Container {
            id: "abc".into(),
            name: "p-web-1".into(),
            service: "web".into(),
            number: 1,
            oneoff: false,
            state: "running".into(),
            health: "healthy".into(),
            health_log: Vec::new(),
            exit_code: 0,
            restart_count: 0,
            started_at: String::new(),
            image: String::new(),
            image_id: String::new(),
            command: String::new(),
            ports: Vec::new(),
            labels: HashMap::new(),
        }
    }

    #[test]
    fn events_update_state_exit_code_and_health_before_any_inspect() {
        let mut c = container();
        let attributes = HashMap::from([("exitCode".to_owned(), "137".to_owned())]);
        assert!(fast_update(&mut c, "die", &attributes));
        assert_eq!((c.state.as_str(), c.exit_code), ("exited", 137));
        assert!(
            !fast_update(&mut c, "die", &attributes),
            "no change, no event"
        );
        assert!(fast_update(
            &mut c,
            "health_status: unhealthy",
            &HashMap::new()
        ));
        assert_eq!(c.health, "unhealthy");
        assert!(!fast_update(&mut c, "rename", &HashMap::new()));
    }
}

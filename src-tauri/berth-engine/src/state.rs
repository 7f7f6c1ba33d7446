//! The live state model of one project: every service's containers as Docker reports them,
//! kept current by the project's [`Feed`] (one listing to start, then only events: no polling).
//! Subscribers get a snapshot and then every change, in order, with no gap between. The engine
//! going away is a state: the model says so, and resyncs from the feed's next listing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_compose::Project;
use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use ts_rs::TS;

use crate::container_state::{ContainerState, Health};
use crate::containers::{self, Container};
use crate::error::not_found;
use crate::feed::{Feed, FeedEvent};
use crate::subscription::{AbortOnDrop, Subscription};
use crate::{Engine, clock, labels};

/// Everything known about the project at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Snapshot {
    pub project: String,
    /// The sequence number of the last change this snapshot includes.
    pub seq: u64,
    pub engine: EngineState,
    pub services: BTreeMap<String, ServiceState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ServiceState {
    pub desired: Desired,
    pub containers: Vec<Container>,
    /// The config hash the files give the service now ([`crate::service_hash`], as `up`
    /// computes it); none for a service the files do not enable.
    #[serde(skip)]
    #[ts(skip)]
    pub config_hash: Option<String>,
}

/// What is wanted of a service: the file says how many replicas, the user says whether they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Desired {
    /// Running with this many replicas: some container of it runs, or stopped without being
    /// asked to (a crash, or its process ending by itself).
    Running { replicas: u32 },
    /// Stopped by the user (Berth, the docker CLI or docker compose), or not created: none of
    /// its containers runs and every one was stopped on request.
    Stopped { replicas: u32 },
    /// Defined, but its profile is not active.
    Disabled,
    /// Not in the project: an orphan left by an earlier version of the file.
    Orphan,
}

impl Desired {
    /// What the user's last stop or start says of a service defined with `replicas`.
    fn follow(self, containers: &[Container]) -> Desired {
        let replicas = match self {
            Desired::Running { replicas } | Desired::Stopped { replicas } => replicas,
            other => return other,
        };
        let stopped = containers
            .iter()
            .filter(|c| !c.oneoff)
            .all(Container::stopped_on_request);
        if stopped {
            Desired::Stopped { replicas }
        } else {
            Desired::Running { replicas }
        }
    }
}

/// Whether the model can hear from the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
pub struct Change {
    pub seq: u64,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    /// The service's desired state followed a stop or start.
    Desired {
        service: String,
        desired: Desired,
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
    /// The project's files were loaded again: services, replicas and config hashes are theirs.
    Project,
}

/// A running state model; dropping the last handle stops it.
#[derive(Debug, Clone)]
pub struct StateHandle {
    shared: Arc<Shared>,
    feed: Feed,
    /// The engine's [`Engine::port_host`], for the probes.
    port_host: Option<String>,
    _task: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct Shared {
    snapshot: Mutex<Snapshot>,
    tx: broadcast::Sender<Change>,
    /// Whether the model has heard from the engine: its first listing, or its first failure.
    settled: watch::Sender<bool>,
}

impl Shared {
    /// Applies a change and publishes it, then any desired state it changed, under the lock so
    /// a subscriber's snapshot and its stream never overlap or leave a gap.
    fn publish(&self, apply: impl FnOnce(&mut Snapshot) -> Option<ChangeKind>) {
        let mut snapshot = self.snapshot.lock().expect("not poisoned");
        let Some(kind) = apply(&mut snapshot) else {
            return;
        };
        let mut changes = vec![kind];
        for (name, service) in &mut snapshot.services {
            let desired = service.desired.follow(&service.containers);
            if desired != service.desired {
                service.desired = desired;
                changes.push(ChangeKind::Desired {
                    service: name.clone(),
                    desired,
                });
            }
        }
        for kind in changes {
            snapshot.seq += 1;
            // No subscriber is fine: the snapshot holds the change.
            let _ = self.tx.send(Change {
                seq: snapshot.seq,
                kind,
            });
        }
        if snapshot.engine != EngineState::Connecting {
            self.settled.send_replace(true);
        }
    }
}

/// How many changes a slow subscriber may fall behind before it is told it lagged.
const CHANNEL: usize = 4096;

impl StateHandle {
    /// Starts the model for `project` on `engine`.
    pub fn spawn(engine: Engine, project: Project) -> StateHandle {
        let mut snapshot = Snapshot {
            project: project.name.clone(),
            seq: 0,
            engine: EngineState::Connecting,
            services: BTreeMap::new(),
        };
        define(&mut snapshot, &project);
        let shared = Arc::new(Shared {
            snapshot: Mutex::new(snapshot),
            tx: broadcast::channel(CHANNEL).0,
            settled: watch::channel(false).0,
        });
        let feed = Feed::spawn(engine.clone(), &project.name, images(&project));
        let port_host = engine.port_host();
        // Subscribed before the task starts, so it hears the feed's first listing.
        let events = feed.subscribe();
        let task = tokio::spawn(run(engine, project.name, events, shared.clone()));
        StateHandle {
            shared,
            feed,
            port_host,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// The project's container feed the model follows, for others to follow too: one event
    /// stream per project.
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// The current snapshot and every change after it. It waits for the model's first listing
    /// (or its first failure to reach the engine): the snapshot is the project as it is, never
    /// the empty one the model starts from.
    pub async fn subscribe(&self) -> (Snapshot, broadcast::Receiver<Change>) {
        // The sender lives in `shared`, which `self` holds: the channel cannot close meanwhile.
        let _ = self.shared.settled.subscribe().wait_for(|s| *s).await;
        let snapshot = self.shared.snapshot.lock().expect("not poisoned");
        (snapshot.clone(), self.shared.tx.subscribe())
    }

    /// Where the engine's published ports are reached: `None` for this machine.
    pub fn port_host(&self) -> Option<&str> {
        self.port_host.as_deref()
    }

    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot.lock().expect("not poisoned").clone()
    }

    /// Takes the project as its files now say (same name): which services there are, their
    /// replicas, config hashes and images. The containers stay as the engine reports them.
    pub fn set_project(&self, project: &Project) {
        self.feed.set_images(images(project));
        self.shared.publish(|s| {
            define(s, project);
            Some(ChangeKind::Project)
        });
    }
}

/// The services' images, whose events the feed follows.
fn images(project: &Project) -> Vec<String> {
    project
        .services
        .keys()
        .map(|s| crate::names::image_name(project, s))
        .collect()
}

/// Makes the snapshot's services those `project` defines, keeping their containers and what the
/// user asked of them; a service the files no longer define is an orphan while it has containers.
fn define(s: &mut Snapshot, project: &Project) {
    for (name, service) in &mut s.services {
        if !project.defines(name) {
            service.desired = Desired::Orphan;
            service.config_hash = None;
        }
    }
    s.services
        .retain(|_, v| v.desired != Desired::Orphan || !v.containers.is_empty());
    for (name, spec) in &project.services {
        let replicas = spec.replicas();
        let service = s.services.entry(name.clone()).or_insert(ServiceState {
            // Nothing runs until the listing says otherwise.
            desired: Desired::Stopped { replicas },
            containers: Vec::new(),
            config_hash: None,
        });
        service.desired = Desired::Stopped { replicas }.follow(&service.containers);
        service.config_hash = Some(crate::hash::service_hash(spec));
    }
    for name in project.disabled_services.keys() {
        let service = s.services.entry(name.clone()).or_insert(ServiceState {
            desired: Desired::Disabled,
            containers: Vec::new(),
            config_hash: None,
        });
        service.desired = Desired::Disabled;
        service.config_hash = None;
    }
}

/// Follows the feed: each listing rebuilds the model, each event updates it, a lost engine is
/// said.
async fn run(
    engine: Engine,
    project: String,
    mut feed: Subscription<FeedEvent>,
    shared: Arc<Shared>,
) {
    let mut synced_once = false;
    loop {
        let listed = match feed.recv().await {
            Ok(FeedEvent::Listed(list)) => Ok(list),
            Ok(FeedEvent::Event(event)) => {
                apply(&engine, &shared, (*event).clone()).await;
                continue;
            }
            Ok(FeedEvent::Lost { error, retry }) => {
                unavailable(&shared, &error, retry);
                continue;
            }
            // Changes were missed: start over from a listing of the model's own.
            Err(RecvError::Lagged(_)) => containers::list(&engine, &project).await.map(Arc::new),
            Err(RecvError::Closed) => return,
        };
        let inspected = match listed {
            Ok(list) => containers::inspect_listed(&engine, &list).await,
            Err(e) => Err(e),
        };
        // The engine went away meanwhile: the feed says so next, and lists again.
        let Ok(mut list) = inspected else { continue };
        recall_stop_requests(&engine, &project, &mut list).await;
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
}

/// Who stopped the containers that were already stopped when the model (re)started, as far as
/// the engine's event backlog still tells (it keeps its last 256 events, in memory): a stop or
/// kill after the container's last start means asked for. Without a record, what
/// [`Container::from_inspect`] guessed stands.
pub(crate) async fn recall_stop_requests(engine: &Engine, project: &str, list: &mut [Container]) {
    if list.iter().all(|c| c.running()) {
        return;
    }
    // To the nanosecond: whole seconds would miss a stop made this very second (`berthctl stop`
    // then `berthctl ps`).
    let now = clock::since_epoch();
    let filters = HashMap::from([
        ("label".to_owned(), vec![labels::project_filter(project)]),
        ("type".to_owned(), vec!["container".to_owned()]),
        (
            "event".to_owned(),
            ["start", "kill", "stop", "die"].map(str::to_owned).to_vec(),
        ),
    ]);
    let options = EventsOptions {
        // The whole backlog: `since` must be set for the engine to replay it.
        since: Some("1".to_owned()),
        until: Some(format!("{}.{:09}", now.as_secs(), now.subsec_nanos())),
        filters: Some(filters),
    };
    let replay = engine
        .docker()
        .events(Some(options))
        .take_while(|e| std::future::ready(e.is_ok()))
        .filter_map(|e| std::future::ready(e.ok()))
        .collect::<Vec<_>>();
    // With `until` the engine ends the stream at once; the bound is for an engine that hangs.
    let Ok(events) = tokio::time::timeout(Duration::from_secs(2), replay).await else {
        return;
    };
    let mut requested: HashMap<String, bool> = HashMap::new();
    for event in events {
        let action = event.action.unwrap_or_default();
        let actor = event.actor.unwrap_or_default();
        let id = actor.id.unwrap_or_default();
        let attributes = actor.attributes.unwrap_or_default();
        match action.as_str() {
            "start" => {
                requested.insert(id, false);
            }
            "stop" => {
                requested.insert(id, true);
            }
            "kill" if attributes.get("signal").is_some_and(|s| stops(s)) => {
                requested.insert(id, true);
            }
            _ => {}
        }
    }
    for c in list.iter_mut().filter(|c| !c.running()) {
        if let Some(&asked) = requested.get(&c.id) {
            c.stop_requested = asked;
        }
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
    for service in s.services.values_mut() {
        service.desired = service.desired.follow(&service.containers);
    }
}

fn service_entry<'a>(s: &'a mut Snapshot, service: &str) -> &'a mut ServiceState {
    s.services
        .entry(service.to_owned())
        .or_insert(ServiceState {
            desired: Desired::Orphan,
            containers: Vec::new(),
            config_hash: None,
        })
}

async fn apply(engine: &Engine, shared: &Shared, event: EventMessage) {
    let action = event.action.unwrap_or_default();
    let actor = event.actor.unwrap_or_default();
    let id = actor.id.unwrap_or_default();
    let attributes = actor.attributes.unwrap_or_default();
    match event.typ {
        Some(EventMessageTypeEnum::CONTAINER) => {
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
                "kill" | "die" | "oom" | "stop" | "pause" | "unpause"
            ) {
                return;
            }
            let inspected = if action == "destroy" {
                None
            } else {
                match engine.docker().inspect_container(&id, None).await {
                    Ok(c) => Some(Container::from_inspect(&c, engine.port_host().as_deref())),
                    Err(e) if not_found(&e) => None,
                    Err(e) => {
                        tracing::debug!(%e, %id, "cannot inspect a container after an event");
                        return;
                    }
                }
            };
            shared.publish(|s| match inspected {
                Some(mut container) => {
                    let entry = service_entry(s, &container.service);
                    let existing = entry.containers.iter_mut().find(|c| c.id == container.id);
                    // The events own a known container's state: an inspect may already see
                    // an exit whose `kill` and `die` are still to be applied, and would report
                    // it without saying who asked for it.
                    if let Some(existing) = &existing {
                        container.state = existing.state;
                        container.exit_code = existing.exit_code;
                        container.stop_requested = existing.stop_requested;
                        container.oom_killed = existing.oom_killed;
                    }
                    match existing {
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

/// Applies what a container event says by itself (its state, exit code, health, or that a stop
/// was asked for) to the model's record; returns whether anything changed.
fn fast_update(c: &mut Container, action: &str, attributes: &HashMap<String, String>) -> bool {
    let before = c.clone();
    match action {
        "die" => {
            c.state = ContainerState::Exited;
            c.exit_code = attributes
                .get("exitCode")
                .and_then(|e| e.parse().ok())
                .unwrap_or(c.exit_code);
        }
        // `docker stop`, `docker kill`, compose and Berth all send a `kill` before the `die`;
        // a crash or a process ending by itself gives a `die` alone. `stop` follows the `die`
        // of a stop that used a signal not listed here.
        "kill" if attributes.get("signal").is_some_and(|s| stops(s)) => {
            c.stop_requested = true;
        }
        "stop" => c.stop_requested = true,
        "oom" => c.oom_killed = true,
        "start" => {
            c.state = ContainerState::Running;
            c.stop_requested = false;
            c.oom_killed = false;
        }
        "unpause" => c.state = ContainerState::Running,
        "pause" => c.state = ContainerState::Paused,
        _ => match action.strip_prefix("health_status: ") {
            Some(health) => c.health = Health::parse(health),
            None => return false,
        },
    }
    *c != before
}

/// Whether a `kill` event's signal (a number, or a name on some engines) is one that stops a
/// container, rather than one a process is sent to reload or rotate its logs (HUP, USR1…).
pub(crate) fn stops(signal: &str) -> bool {
    let name = signal.trim_start_matches("SIG");
    matches!(
        name,
        "9" | "15" | "2" | "3" | "KILL" | "TERM" | "INT" | "QUIT"
    )
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
            state: ContainerState::Running,
            health: Some(Health::Healthy),
            health_log: Vec::new(),
            exit_code: 0,
            stop_requested: false,
            oom_killed: false,
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
        assert_eq!((c.state, c.exit_code), (ContainerState::Exited, 137));
        assert!(
            !fast_update(&mut c, "die", &attributes),
            "no change, no event"
        );
        assert!(fast_update(
            &mut c,
            "health_status: unhealthy",
            &HashMap::new()
        ));
        assert_eq!(c.health, Some(Health::Unhealthy));
        assert!(!fast_update(&mut c, "rename", &HashMap::new()));
    }

    fn signal(n: &str) -> HashMap<String, String> {
        HashMap::from([("signal".to_owned(), n.to_owned())])
    }

    #[test]
    fn a_kill_before_the_die_means_the_stop_was_asked_for_and_a_start_forgets_it() {
        let mut c = container();
        assert!(!fast_update(&mut c, "kill", &signal("1")), "HUP reloads");
        assert!(fast_update(&mut c, "kill", &signal("15")));
        assert!(fast_update(&mut c, "die", &HashMap::new()));
        assert!(c.stop_requested);
        assert!(fast_update(&mut c, "start", &HashMap::new()));
        assert!(!c.stop_requested);
        assert!(fast_update(&mut c, "oom", &HashMap::new()));
        assert!(fast_update(&mut c, "die", &HashMap::new()));
        assert!((c.oom_killed, c.stop_requested) == (true, false));
    }

    #[test]
    fn desired_follows_the_users_stop_and_start() {
        let running = Desired::Running { replicas: 2 };
        let mut a = container();
        let mut b = container();
        assert_eq!(running.follow(&[]), Desired::Stopped { replicas: 2 });
        assert_eq!(running.follow(&[a.clone(), b.clone()]), running);
        a.state = ContainerState::Exited;
        a.stop_requested = true;
        assert_eq!(running.follow(&[a.clone(), b.clone()]), running);
        b.state = ContainerState::Exited;
        assert_eq!(
            running.follow(&[a.clone(), b.clone()]),
            running,
            "b crashed: still wanted running"
        );
        b.stop_requested = true;
        let stopped = running.follow(&[a.clone(), b.clone()]);
        assert_eq!(stopped, Desired::Stopped { replicas: 2 });
        b.state = ContainerState::Running;
        assert_eq!(stopped.follow(&[a, b]), running);
        assert_eq!(Desired::Orphan.follow(&[]), Desired::Orphan);
    }
}

//! The Swarm view's window side: the Swarm stack open in the window (its services, tasks and
//! the Swarm's nodes, refreshed while it is open), its merged service logs in a hub of its own,
//! and a notification when one of its services runs fewer replicas than it wants by itself.
//!
//! Swarm's own events (API 1.41) say when a service or a node changes, not when a task does: a
//! replica that dies changes no service. So the open stack is read again on each of those
//! events and every [`POLL`] besides, and only while it is open.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_engine::logs::{Hub, HubOptions};
use berth_engine::{AbortOnDrop, CancellationToken, Engine, swarm};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use ts_rs::TS;

use crate::alerts::Alert;
use crate::error::Error;

/// How often the open stack's tasks and replica counts are read again.
pub const POLL: Duration = Duration::from_secs(2);

/// What the Swarm view shows of the open stack (ui/src/lib/swarm). Names come from the engine:
/// hostile text, drawn as text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SwarmView {
    /// The stack open in the view (its namespace).
    pub stack: String,
    /// Every stack on the Swarm.
    pub stacks: Vec<SwarmStack>,
    pub services: Vec<SwarmService>,
    pub tasks: Vec<SwarmTask>,
    pub nodes: Vec<SwarmNode>,
    /// Counts the log hubs the open stack's logs went to: the log viewer selects anew from
    /// each new one.
    pub logs: u32,
    /// Why the last reading failed; the figures are then the last good ones.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SwarmStack {
    pub name: String,
    pub services: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SwarmService {
    pub id: String,
    /// The Swarm's name: `<stack>_<service>`.
    pub name: String,
    /// `replicated`, `global`, or a job's `replicated job`, `global job`.
    pub mode: String,
    pub desired: u32,
    pub running: u32,
    pub image: String,
    pub ports: Vec<String>,
    /// The latest rolling update or rollback, if the service had one.
    pub update: Option<SwarmUpdate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SwarmUpdate {
    /// The engine's word: `updating`, `paused`, `completed`, `rollback_started`,
    /// `rollback_paused`, `rollback_completed`.
    pub state: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SwarmTask {
    pub id: String,
    pub name: String,
    pub service: String,
    pub node: String,
    pub desired_state: String,
    pub current_state: String,
    pub error: String,
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    pub status: String,
    pub availability: String,
    pub manager_status: String,
}

impl SwarmService {
    /// Runs fewer replicas than the Swarm wants (a global service with no node to run on wants
    /// none).
    fn short(&self) -> bool {
        self.running < self.desired
    }
}

/// Services whose missing replicas the user asked for: a deploy (the whole stack) or a scale
/// underway. Each stays quiet until it runs what it wants.
#[derive(Debug, Default)]
pub struct Quiet {
    pub stack: bool,
    pub services: HashSet<String>,
}

impl Quiet {
    fn quiet(&self, service: &str) -> bool {
        self.stack || self.services.contains(service)
    }

    /// Forgets the services that now run what they want; the stack once all do.
    fn settle(&mut self, services: &[SwarmService], deploying: bool) {
        self.services
            .retain(|name| services.iter().any(|s| &s.name == name && s.short()));
        if !deploying && services.iter().all(|s| !s.short()) {
            self.stack = false;
        }
    }
}

/// The services of `after` that newly run fewer replicas than they want, the user's own
/// deploys and scales aside. A service not in `before` (just deployed) is not news.
pub fn alerts(
    stack: &str,
    before: &[SwarmService],
    after: &[SwarmService],
    quiet: &Quiet,
) -> Vec<Alert> {
    after
        .iter()
        .filter(|s| s.short() && !quiet.quiet(&s.name))
        .filter(|s| before.iter().any(|b| b.name == s.name && !b.short()))
        .map(|s| Alert {
            title: format!("Swarm stack {stack}: {}", s.name),
            body: format!("runs {} of {} replicas", s.running, s.desired),
            service: s.name.clone(),
        })
        .collect()
}

/// The Swarm stack open in the window; its reading ends when another opens or it closes.
#[derive(Default)]
pub struct Swarm {
    open: Mutex<Option<(Arc<Open>, AbortOnDrop)>>,
}

/// An open stack, shared with its reading.
struct Open {
    stack: String,
    engine: Engine,
    /// The hub its services' logs go to: a new one whenever its services change, as the
    /// engine's service logs follow the services there are when they start.
    logs: Mutex<Hub>,
    quiet: Mutex<Quiet>,
    deploying: AtomicBool,
}

impl Swarm {
    /// Opens stack `stack` on `engine`: its view is read now and again while it stays open
    /// (into `view`), its services' logs are followed into a hub of its own, and `notify` is
    /// told of each service that loses replicas by itself.
    pub fn open(
        &self,
        engine: Engine,
        stack: String,
        view: watch::Sender<SwarmView>,
        notify: impl Fn(Alert) + Send + 'static,
    ) {
        let open = Arc::new(Open {
            stack,
            engine,
            logs: Mutex::new(Hub::new(HubOptions::default())),
            quiet: Mutex::default(),
            deploying: AtomicBool::new(false),
        });
        let runtime = tauri::async_runtime::handle();
        let task = runtime.inner().spawn(follow(open.clone(), view, notify));
        *self.open.lock().expect("swarm lock") = Some((open, AbortOnDrop(task)));
    }

    /// Closes the open stack: its reading, logs and notifications end.
    pub fn close(&self) {
        self.open.lock().expect("swarm lock").take();
    }

    fn with<T>(&self, f: impl FnOnce(&Open) -> T) -> Result<T, Error> {
        let open = self.open.lock().expect("swarm lock");
        let (open, _) = open
            .as_ref()
            .ok_or_else(|| Error::not_ready("No Swarm stack is open in the window."))?;
        Ok(f(open))
    }

    /// The open stack's name and engine.
    pub fn current(&self) -> Result<(String, Engine), Error> {
        self.with(|o| (o.stack.clone(), o.engine.clone()))
    }

    /// The hub of the open stack's service logs.
    pub fn hub(&self) -> Result<Hub, Error> {
        self.with(|o| o.logs.lock().expect("logs lock").clone())
    }

    /// Quiets the notifications of the whole open stack while a deploy (or a removal) runs,
    /// and after one until each of its services runs what it wants.
    pub fn deploying(&self, on: bool) {
        let _ = self.with(|o| {
            o.deploying.store(on, Ordering::SeqCst);
            if on {
                o.quiet.lock().expect("quiet lock").stack = true;
            }
        });
    }

    /// Quiets `service`'s notifications until it runs what it wants (a scale the user asked).
    pub fn quiet(&self, service: &str) {
        let _ = self
            .with(|o| (o.quiet.lock().expect("quiet lock").services).insert(service.to_owned()));
    }
}

/// The open stack's service of this name (its Swarm name, `<stack>_<service>`), refusing any
/// other: the window acts only on the open stack's services.
pub async fn service(engine: &Engine, stack: &str, name: &str) -> Result<SwarmService, Error> {
    let services = read_services(engine, stack).await?;
    services
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            Error::invalid(format!(
                "Swarm stack {stack} has no service {name}; it may have been removed."
            ))
        })
}

async fn read_services(engine: &Engine, stack: &str) -> Result<Vec<SwarmService>, Error> {
    let services = swarm::services(engine, stack).await?;
    Ok(services.into_iter().map(SwarmService::from).collect())
}

/// Reads the whole view of `stack`.
async fn read(engine: &Engine, stack: &str) -> Result<SwarmView, Error> {
    let (stacks, services, tasks, nodes) = tokio::try_join!(
        async { Ok::<_, Error>(swarm::stacks(engine).await?) },
        read_services(engine, stack),
        async { Ok::<_, Error>(swarm::tasks(engine, stack).await?) },
        async { Ok::<_, Error>(swarm::nodes(engine).await?) },
    )?;
    Ok(SwarmView {
        stack: stack.to_owned(),
        stacks: (stacks.into_iter())
            .map(|s| SwarmStack {
                name: s.name,
                services: s.services as u32,
            })
            .collect(),
        services,
        tasks: tasks.into_iter().map(SwarmTask::from).collect(),
        nodes: nodes.into_iter().map(SwarmNode::from).collect(),
        logs: 0,
        error: None,
    })
}

/// Reads the view of the open stack now and every [`POLL`], until the view is gone; notifies
/// of each service that loses replicas by itself; follows the logs of the services there are.
async fn follow(open: Arc<Open>, view: watch::Sender<SwarmView>, notify: impl Fn(Alert)) {
    let mut before: Option<Vec<SwarmService>> = None;
    // The services whose logs are followed, and their followers (which end when dropped).
    let (mut followed, mut _followers, mut generation) = (None, None, 0);
    while !view.is_closed() {
        match read(&open.engine, &open.stack).await {
            Ok(mut next) => {
                {
                    let mut quiet = open.quiet.lock().expect("quiet lock");
                    if let Some(before) = &before {
                        for alert in alerts(&open.stack, before, &next.services, &quiet) {
                            notify(alert);
                        }
                    }
                    quiet.settle(&next.services, open.deploying.load(Ordering::SeqCst));
                }
                let ids: Vec<String> = next.services.iter().map(|s| s.id.clone()).collect();
                if followed.as_ref() != Some(&ids) {
                    followed = Some(ids);
                    let hub = Hub::new(HubOptions::default());
                    _followers = Some(follow_logs(&open, &hub));
                    *open.logs.lock().expect("logs lock") = hub;
                    generation += 1;
                }
                next.logs = generation;
                before = Some(next.services.clone());
                view.send_if_modified(|v| {
                    let changed = *v != next;
                    *v = next;
                    changed
                });
            }
            Err(err) => {
                view.send_if_modified(|v| {
                    let changed = v.error.as_ref() != Some(&err.message);
                    v.error = Some(err.message);
                    changed
                });
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Follows the logs of the open stack's services into `hub`, until dropped.
fn follow_logs(open: &Open, hub: &Hub) -> [AbortOnDrop; 2] {
    let (tx, rx) = mpsc::channel(64);
    let (engine, stack) = (open.engine.clone(), open.stack.clone());
    let cancel = CancellationToken::new();
    let reader = tokio::spawn(async move {
        let _stop = cancel.clone().drop_guard();
        if let Err(err) = swarm::follow_service_logs(&engine, &stack, tx, cancel).await {
            tracing::warn!(%err, "following the logs of Swarm stack {stack}");
        }
    });
    let hub = hub.clone();
    let pump = tokio::spawn(async move { hub.pump(rx).await });
    [AbortOnDrop(reader), AbortOnDrop(pump)]
}

impl From<swarm::ServiceSummary> for SwarmService {
    fn from(s: swarm::ServiceSummary) -> SwarmService {
        SwarmService {
            id: s.id,
            name: s.name,
            mode: s.mode,
            desired: s.desired as u32,
            running: s.running as u32,
            image: s.image,
            ports: s.ports,
            update: s.update.map(|u| SwarmUpdate {
                state: u.state,
                message: u.message,
            }),
        }
    }
}

impl From<swarm::TaskSummary> for SwarmTask {
    fn from(t: swarm::TaskSummary) -> SwarmTask {
        SwarmTask {
            id: t.id,
            name: t.name,
            service: t.service,
            node: t.node,
            desired_state: t.desired_state,
            current_state: t.current_state,
            error: t.error,
            since: t.since,
        }
    }
}

impl From<swarm::NodeSummary> for SwarmNode {
    fn from(n: swarm::NodeSummary) -> SwarmNode {
        SwarmNode {
            id: n.id,
            hostname: n.hostname,
            status: n.status,
            availability: n.availability,
            manager_status: n.manager_status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, desired: u32, running: u32) -> SwarmService {
        SwarmService {
            id: format!("id-{name}"),
            name: name.into(),
            mode: "replicated".into(),
            desired,
            running,
            image: "busybox".into(),
            ports: Vec::new(),
            update: None,
        }
    }

    #[test]
    fn a_service_losing_replicas_by_itself_is_notified_once() {
        let before = [service("s_api", 3, 3), service("s_db", 1, 1)];
        let after = [service("s_api", 3, 2), service("s_db", 1, 1)];
        let quiet = Quiet::default();
        assert_eq!(
            alerts("s", &before, &after, &quiet),
            [Alert {
                title: "Swarm stack s: s_api".into(),
                body: "runs 2 of 3 replicas".into(),
                service: "s_api".into(),
            }]
        );
        assert!(alerts("s", &after, &after, &quiet).is_empty(), "not twice");
    }

    #[test]
    fn the_users_deploys_and_scales_and_new_services_are_not_news() {
        let before = [service("s_api", 1, 1)];
        let scaled = [service("s_api", 3, 1), service("s_new", 2, 0)];
        let mut quiet = Quiet::default();
        quiet.services.insert("s_api".into());
        assert!(alerts("s", &before, &scaled, &quiet).is_empty());
        // Once it runs what it wants, its next loss is news again.
        let done = [service("s_api", 3, 3)];
        quiet.settle(&done, false);
        assert!(quiet.services.is_empty());
        assert_eq!(
            alerts("s", &done, &[service("s_api", 3, 2)], &quiet).len(),
            1
        );
        // A deploy quiets the whole stack until every service runs what it wants.
        let quiet = Quiet {
            stack: true,
            ..Quiet::default()
        };
        assert!(alerts("s", &done, &[service("s_api", 3, 2)], &quiet).is_empty());
        let mut quiet = quiet;
        quiet.settle(&[service("s_api", 3, 2)], false);
        assert!(quiet.stack, "still short");
        quiet.settle(&done, true);
        assert!(quiet.stack, "the deploy still runs");
        quiet.settle(&done, false);
        assert!(!quiet.stack);
    }

    #[test]
    fn a_global_service_with_no_node_to_run_on_is_not_short() {
        let mut global = service("s_agent", 0, 0);
        global.mode = "global".into();
        let before = [service("s_agent", 1, 1)];
        assert!(alerts("s", &before, &[global], &Quiet::default()).is_empty());
    }
}

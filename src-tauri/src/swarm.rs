//! The Swarm view's window side: the Swarm stack open in the window (its services, tasks and
//! the Swarm's nodes, refreshed every [`POLL`] while it is open), its merged service logs in a
//! hub of its own; and, while the app runs on a Swarm manager, a notification when a service
//! of any stack runs fewer replicas than it wants by itself (`swarm::watch_services`: driven by
//! the engine's events, with a slow safety read).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_engine::logs::{Hub, HubOptions};
use berth_engine::{AbortOnDrop, CancellationToken, Engine, swarm};
use serde::Serialize;
use tauri::ipc::Channel;
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

/// Services whose missing replicas someone asked for: a deploy or removal of a stack from the
/// window, a scale or rollback from the window, or a change seen in the services themselves (a
/// new desired count, a rolling update: what berthctl or docker did, which the app cannot tell
/// apart from the window's). Each stays quiet until it runs what it wants.
#[derive(Debug, Default)]
pub struct Quiet {
    /// Stacks quiet as a whole until each of their services runs what it wants.
    pub stacks: HashSet<String>,
    /// Stacks a deploy or removal from the window is running on.
    pub deploying: HashSet<String>,
    pub services: HashSet<String>,
}

impl Quiet {
    fn quiet(&self, stack: &str, service: &str) -> bool {
        self.stacks.contains(stack) || self.services.contains(service)
    }

    /// Quiets the services of `after` someone changed since `before`: a new desired count (a
    /// scale), or a rolling update or rollback under way.
    fn changed(&mut self, before: &[SwarmService], after: &[SwarmService]) {
        for s in after {
            let rescaled = before
                .iter()
                .any(|b| b.name == s.name && b.desired != s.desired);
            let rolling = s
                .update
                .as_ref()
                .is_some_and(|u| matches!(u.state.as_str(), "updating" | "rollback_started"));
            if rescaled || rolling {
                self.services.insert(s.name.clone());
            }
        }
    }

    /// Forgets the services of `stack` that now run what they want; the stack once all do.
    fn settle(&mut self, stack: &str, services: &[SwarmService]) {
        self.services.retain(|name| {
            !services.iter().any(|s| &s.name == name)
                || services.iter().any(|s| &s.name == name && s.short())
        });
        if !self.deploying.contains(stack) && services.iter().all(|s| !s.short()) {
            self.stacks.remove(stack);
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
        .filter(|s| s.short() && !quiet.quiet(stack, &s.name))
        .filter(|s| before.iter().any(|b| b.name == s.name && !b.short()))
        .map(|s| Alert {
            title: format!("Swarm stack {stack}: {}", s.name),
            body: format!("runs {} of {} replicas", s.running, s.desired),
            service: s.name.clone(),
        })
        .collect()
}

/// The Swarm stack open in the window (its reading ends when another opens or it closes), and
/// the watch of every stack's replicas that notifies, while the engine is a Swarm manager.
#[derive(Default)]
pub struct Swarm {
    open: Mutex<Option<(Arc<Open>, AbortOnDrop)>>,
    quiet: Arc<Mutex<Quiet>>,
    /// The engine watched (its endpoint), and the watch.
    watcher: Mutex<Option<(String, AbortOnDrop)>>,
    /// Where the stack a notification's Show asks for goes (the window), and the one asked
    /// before the window listened.
    reveal: Mutex<(Option<Channel<String>>, Option<String>)>,
}

/// An open stack, shared with its reading.
struct Open {
    stack: String,
    engine: Engine,
    /// The hub its services' logs go to: a new one whenever its services change, as the
    /// engine's service logs follow the services there are when they start.
    logs: Mutex<Hub>,
}

impl Swarm {
    /// Opens stack `stack` on `engine`: its view is read now and again while it stays open
    /// (into `view`), and its services' logs are followed into a hub of its own.
    pub fn open(&self, engine: Engine, stack: String, view: watch::Sender<SwarmView>) {
        let open = Arc::new(Open {
            stack,
            engine,
            logs: Mutex::new(Hub::new(HubOptions::default())),
        });
        let runtime = tauri::async_runtime::handle();
        let task = runtime.inner().spawn(follow(open.clone(), view));
        *self.open.lock().expect("swarm lock") = Some((open, AbortOnDrop(task)));
    }

    /// Closes the open stack: its reading and logs end.
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

    /// Quiets the notifications of the whole of `stack` while a deploy (or a removal) runs,
    /// and after one until each of its services runs what it wants.
    pub fn deploying(&self, stack: &str, on: bool) {
        let mut quiet = self.quiet.lock().expect("quiet lock");
        if on {
            quiet.stacks.insert(stack.to_owned());
            quiet.deploying.insert(stack.to_owned());
        } else {
            quiet.deploying.remove(stack);
        }
    }

    /// Quiets `service`'s notifications until it runs what it wants (a scale the user asked).
    pub fn quiet(&self, service: &str) {
        (self.quiet.lock().expect("quiet lock").services).insert(service.to_owned());
    }

    /// Watches the replicas of every stack on `engine`, a Swarm manager, telling `notify` of
    /// each service that loses replicas by itself (with its stack); a watch of the same engine
    /// goes on, one of another ends.
    pub fn watch(&self, engine: Engine, notify: impl Fn(&str, Alert) + Send + Sync + 'static) {
        let mut watcher = self.watcher.lock().expect("watcher lock");
        if watcher
            .as_ref()
            .is_some_and(|(e, _)| e == engine.endpoint())
        {
            return;
        }
        let endpoint = engine.endpoint().to_owned();
        let quiet = self.quiet.clone();
        let runtime = tauri::async_runtime::handle();
        let task = runtime.inner().spawn(async move {
            let mut before: Option<BTreeMap<String, Vec<SwarmService>>> = None;
            swarm::watch_services(&engine, |read| {
                let Ok(read) = read else { return };
                let after = by_stack(read);
                let mut quiet = quiet.lock().expect("quiet lock");
                if let Some(before) = &before {
                    for (stack, services) in &after {
                        let was = before.get(stack).map(Vec::as_slice).unwrap_or_default();
                        quiet.changed(was, services);
                        for alert in alerts(stack, was, services, &quiet) {
                            notify(stack, alert);
                        }
                    }
                }
                for (stack, services) in &after {
                    quiet.settle(stack, services);
                }
                before = Some(after);
            })
            .await;
        });
        *watcher = Some((endpoint, AbortOnDrop(task)));
    }

    /// The window listens for the stacks to show on `channel` (a pending one goes at once).
    pub fn on_reveal(&self, channel: Channel<String>) {
        let mut reveal = self.reveal.lock().expect("reveal lock");
        if let Some(stack) = reveal.1.take() {
            let _ = channel.send(stack);
        }
        reveal.0 = Some(channel);
    }

    /// Has the window open the Swarm view on `stack`.
    pub fn reveal(&self, stack: &str) {
        let mut reveal = self.reveal.lock().expect("reveal lock");
        let sent = (reveal.0.as_ref()).is_some_and(|c| c.send(stack.to_owned()).is_ok());
        if !sent {
            reveal.1 = Some(stack.to_owned());
        }
    }

    /// Ends the watch (the engine is no Swarm manager, or gone).
    pub fn unwatch(&self) {
        self.watcher.lock().expect("watcher lock").take();
    }
}

/// The services read, by stack.
fn by_stack(read: Vec<swarm::StackService>) -> BTreeMap<String, Vec<SwarmService>> {
    let mut out: BTreeMap<String, Vec<SwarmService>> = BTreeMap::new();
    for s in read {
        out.entry(s.stack).or_default().push(s.service.into());
    }
    out
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

/// Reads the view of the open stack now and every [`POLL`], until the view is gone; follows
/// the logs of the services there are.
async fn follow(open: Arc<Open>, view: watch::Sender<SwarmView>) {
    // The services whose logs are followed, and their followers (which end when dropped).
    let (mut followed, mut _followers, mut generation) = (None, None, 0);
    while !view.is_closed() {
        match read(&open.engine, &open.stack).await {
            Ok(mut next) => {
                let ids: Vec<String> = next.services.iter().map(|s| s.id.clone()).collect();
                if followed.as_ref() != Some(&ids) {
                    followed = Some(ids);
                    let hub = Hub::new(HubOptions::default());
                    _followers = Some(follow_logs(&open, &hub));
                    *open.logs.lock().expect("logs lock") = hub;
                    generation += 1;
                }
                next.logs = generation;
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
        quiet.settle("s", &done);
        assert!(quiet.services.is_empty());
        assert_eq!(
            alerts("s", &done, &[service("s_api", 3, 2)], &quiet).len(),
            1
        );
        // A deploy quiets the whole stack until every service runs what it wants.
        let mut quiet = Quiet::default();
        quiet.stacks.insert("s".into());
        quiet.deploying.insert("s".into());
        assert!(alerts("s", &done, &[service("s_api", 3, 2)], &quiet).is_empty());
        assert_eq!(
            alerts(
                "t",
                &[service("t_web", 1, 1)],
                &[service("t_web", 1, 0)],
                &quiet
            )
            .len(),
            1,
            "another stack is not quiet"
        );
        quiet.settle("s", &[service("s_api", 3, 2)]);
        assert!(quiet.stacks.contains("s"), "still short");
        quiet.settle("s", &done);
        assert!(quiet.stacks.contains("s"), "the deploy still runs");
        quiet.deploying.remove("s");
        quiet.settle("s", &done);
        assert!(quiet.stacks.is_empty());
    }

    #[test]
    fn a_scale_or_rolling_update_from_elsewhere_is_not_news() {
        let before = [service("s_api", 3, 3), service("s_db", 1, 1)];
        // berthctl scaled api to 5 and updates db: both short for a while.
        let mut db = service("s_db", 1, 0);
        db.update = Some(SwarmUpdate {
            state: "updating".into(),
            message: "update in progress".into(),
        });
        let after = [service("s_api", 5, 3), db];
        let mut quiet = Quiet::default();
        quiet.changed(&before, &after);
        assert!(alerts("s", &before, &after, &quiet).is_empty());
        // Settled, a loss is news again.
        let done = [service("s_api", 5, 5), service("s_db", 1, 1)];
        quiet.settle("s", &done);
        let lost = [service("s_api", 5, 4), service("s_db", 1, 1)];
        quiet.changed(&done, &lost);
        assert_eq!(alerts("s", &done, &lost, &quiet).len(), 1);
    }

    #[test]
    fn the_services_read_are_grouped_by_stack() {
        let read = |stack: &str, name: &str| swarm::StackService {
            stack: stack.into(),
            service: swarm::ServiceSummary {
                id: name.into(),
                name: name.into(),
                mode: "replicated".into(),
                desired: 1,
                running: 1,
                image: "busybox".into(),
                ports: Vec::new(),
                update: None,
            },
        };
        let grouped = by_stack(vec![read("a", "a_x"), read("b", "b_y"), read("a", "a_z")]);
        let names: Vec<(&str, Vec<&str>)> = grouped
            .iter()
            .map(|(k, v)| (k.as_str(), v.iter().map(|s| s.name.as_str()).collect()))
            .collect();
        assert_eq!(names, [("a", vec!["a_x", "a_z"]), ("b", vec!["b_y"])]);
    }

    #[test]
    fn a_global_service_with_no_node_to_run_on_is_not_short() {
        let mut global = service("s_agent", 0, 0);
        global.mode = "global".into();
        let before = [service("s_agent", 1, 1)];
        assert!(alerts("s", &before, &[global], &Quiet::default()).is_empty());
    }
}

//! What the window and the tray show: the open project, the engine, and one row per service,
//! built from the project's files and the engine's live state model. Pure data, so the rules
//! (what "degraded" means, which row a service gets) are tested without a window.

use berth_engine::{Container, Desired, EngineState, EngineVersion, Publisher, Snapshot};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::project::{ProjectStatus, ProjectView};

/// Everything the window renders, pushed whole on every change (it is small).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct StackView {
    /// Which opening of a project this is: it changes when a project (or the same one with
    /// other settings) is opened, and with it the log view starts over.
    pub session: u32,
    pub project: ProjectStatus,
    pub engine: EngineView,
    pub status: StackStatus,
    /// The stack action underway, if any.
    pub action: Option<ActionRequest>,
    /// In start order, then services only the engine knows of (orphans).
    pub services: Vec<ServiceRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum EngineView {
    Connecting,
    Connected(EngineVersion),
    /// Lost or never reached; Berth retries by itself.
    Unavailable {
        reason: String,
        #[ts(type = "number")]
        retry_in_ms: u64,
    },
}

/// The stack as a whole, for the header, the tray's tooltip and its icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StackStatus {
    /// Nothing known yet (no engine, or an invalid project).
    Unknown,
    Stopped,
    Starting,
    Stopping,
    /// Every service runs (and is healthy where it has a health check).
    Healthy,
    /// Something the user wants running is not: exited, unhealthy, restarting, missing replicas.
    Degraded,
}

impl StackStatus {
    pub fn label(self) -> &'static str {
        match self {
            StackStatus::Unknown => "unknown",
            StackStatus::Stopped => "stopped",
            StackStatus::Starting => "starting",
            StackStatus::Stopping => "stopping",
            StackStatus::Healthy => "healthy",
            StackStatus::Degraded => "degraded",
        }
    }
}

/// What the user asked for: an action on the stack, or on some of its services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActionRequest {
    pub action: Action,
    /// Empty: the whole stack.
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Action {
    /// `up -d`: create what is missing, recreate what changed, start everything.
    Up,
    Stop,
    Restart,
    /// `down`: stop and remove the containers and networks (volumes are kept).
    Down,
}

impl Action {
    fn starts(self) -> bool {
        matches!(self, Action::Up | Action::Restart)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ServiceRow {
    pub name: String,
    pub image: String,
    pub desired: Desired,
    /// `not created`, `running`, `exited`, `restarting`…: the state that says most of its
    /// containers (counts are in `running` and `replicas`).
    pub state: String,
    pub running: u32,
    pub replicas: u32,
    /// `healthy`, `unhealthy`, `starting`, or empty without a health check.
    pub health: String,
    /// The latest health check outputs, oldest first.
    pub health_log: Vec<String>,
    /// When the oldest running container started (RFC 3339), for the uptime; empty if none runs.
    pub started_at: String,
    #[ts(type = "number")]
    pub restart_count: i64,
    /// The exit code of an exited container, if any.
    #[ts(type = "number | null")]
    pub exit_code: Option<i64>,
    pub ports: Vec<Publisher>,
    /// The row needs attention (the same rule as the stack's `degraded`).
    pub problem: bool,
}

impl StackView {
    /// The view before anything is known of the engine.
    pub fn new(project: ProjectStatus) -> StackView {
        StackView {
            session: 0,
            project,
            engine: EngineView::Connecting,
            status: StackStatus::Unknown,
            action: None,
            services: Vec::new(),
        }
    }

    /// Rebuilds rows and status from the project, the state model and the action underway.
    pub fn refresh(&mut self, version: Option<&EngineVersion>, snapshot: Option<&Snapshot>) {
        let services = self
            .project
            .loaded()
            .map(|view| rows(view, snapshot))
            .unwrap_or_default();
        // Once the state model runs, it says whether the engine answers.
        if let (Some(s), Some(version)) = (snapshot, version) {
            self.engine = match &s.engine {
                EngineState::Connecting => EngineView::Connecting,
                EngineState::Available => EngineView::Connected(version.clone()),
                EngineState::Unavailable { error, retry_in_ms } => EngineView::Unavailable {
                    reason: error.clone(),
                    retry_in_ms: *retry_in_ms,
                },
            };
        }
        self.status = status(&self.engine, self.action.as_ref(), snapshot, &services);
        self.services = services;
    }
}

fn rows(view: &ProjectView, snapshot: Option<&Snapshot>) -> Vec<ServiceRow> {
    let mut names: Vec<&str> = view.services.iter().map(|s| s.name.as_str()).collect();
    if let Some(s) = snapshot {
        // Orphans and disabled services that still have containers get rows too.
        for (name, state) in &s.services {
            if !names.contains(&name.as_str()) && !state.containers.is_empty() {
                names.push(name);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let spec = view.services.iter().find(|s| s.name == name);
            let state = snapshot.and_then(|s| s.services.get(name));
            let desired = state.map(|s| s.desired).unwrap_or(match spec {
                Some(s) => Desired::Running {
                    replicas: s.replicas,
                },
                None => Desired::Orphan,
            });
            let containers: Vec<&Container> = state
                .map(|s| s.containers.iter().filter(|c| !c.oneoff).collect())
                .unwrap_or_default();
            row(
                name,
                spec.and_then(|s| s.image.clone()),
                desired,
                &containers,
            )
        })
        .collect()
}

fn row(name: &str, image: Option<String>, desired: Desired, cs: &[&Container]) -> ServiceRow {
    let running: Vec<&&Container> = cs.iter().filter(|c| c.running()).collect();
    let replicas = match desired {
        Desired::Running { replicas } | Desired::Stopped { replicas } => replicas,
        Desired::Disabled | Desired::Orphan => 0,
    };
    // The worst health among the containers, as a user would want it told.
    let health = ["unhealthy", "starting", "healthy"]
        .into_iter()
        .find(|h| cs.iter().any(|c| c.health == *h))
        .unwrap_or_default();
    let state = if cs.is_empty() {
        "not created".to_owned()
    } else if !running.is_empty() {
        "running".to_owned()
    } else {
        // Restarting or dead say more than exited; exited more than created.
        [
            "restarting",
            "dead",
            "paused",
            "exited",
            "created",
            "removing",
        ]
        .into_iter()
        .find(|s| cs.iter().any(|c| c.state == *s))
        .unwrap_or(&cs[0].state)
        .to_owned()
    };
    let exit_code = cs
        .iter()
        .filter(|c| c.state == "exited")
        .map(|c| c.exit_code)
        .max_by_key(|code| *code != 0);
    let health_log = cs
        .iter()
        .find(|c| c.health == health)
        .map(|c| c.health_log.clone())
        .unwrap_or_default();
    let mut ports: Vec<Publisher> = running.iter().flat_map(|c| published(c)).collect();
    ports.sort_by_key(|p| (p.host_port, p.container_port, p.protocol.clone()));
    ports.dedup_by_key(|p| (p.host_port, p.container_port, p.protocol.clone()));
    let problem = match desired {
        Desired::Running { .. } if !cs.is_empty() => {
            health == "unhealthy"
                || state == "restarting"
                || state == "dead"
                || (state == "exited" && exit_code.is_some_and(|c| c != 0))
                || (!running.is_empty() && (running.len() as u32) < replicas)
        }
        _ => false,
    };
    ServiceRow {
        name: name.to_owned(),
        image: image
            .or_else(|| cs.first().map(|c| c.image.clone()))
            .unwrap_or_default(),
        desired,
        state,
        running: running.len() as u32,
        replicas,
        health: health.to_owned(),
        health_log,
        started_at: running
            .iter()
            .map(|c| c.started_at.as_str())
            .min()
            .unwrap_or_default()
            .to_owned(),
        restart_count: cs.iter().map(|c| c.restart_count).sum(),
        exit_code,
        ports,
        problem,
    }
}

/// A container's published ports. A port published on all addresses is listed by the engine
/// twice, on `0.0.0.0` and on `::`, and Docker 20.10 may give the two different host ports (so
/// the IPv6 one's number can be another service's IPv4 port): the IPv4 binding stands for both,
/// as in `docker compose port`. Bindings to a given address stay as they are.
fn published(c: &Container) -> impl Iterator<Item = Publisher> + '_ {
    let twin = |p: &Publisher| {
        c.ports.iter().any(|q| {
            q.host_ip == "0.0.0.0"
                && q.host_port != 0
                && (q.container_port, &q.protocol) == (p.container_port, &p.protocol)
        })
    };
    c.ports
        .iter()
        .filter(move |p| p.host_port != 0 && !(p.host_ip == "::" && twin(p)))
        .cloned()
}

fn status(
    engine: &EngineView,
    action: Option<&ActionRequest>,
    snapshot: Option<&Snapshot>,
    rows: &[ServiceRow],
) -> StackStatus {
    if let Some(a) = action {
        return if a.action.starts() {
            StackStatus::Starting
        } else {
            StackStatus::Stopping
        };
    }
    if snapshot.is_none() || !matches!(engine, EngineView::Connected(_)) || rows.is_empty() {
        return StackStatus::Unknown;
    }
    let wanted: Vec<&ServiceRow> = rows
        .iter()
        .filter(|r| matches!(r.desired, Desired::Running { .. }))
        .collect();
    if rows.iter().all(|r| r.running == 0 && !r.problem) {
        return StackStatus::Stopped;
    }
    if rows.iter().any(|r| r.problem) {
        return StackStatus::Degraded;
    }
    if wanted.iter().any(|r| r.health == "starting") {
        return StackStatus::Starting;
    }
    // A one-shot that completed (exit 0) is done, not down.
    let done = |r: &ServiceRow| r.state == "exited" && r.exit_code == Some(0);
    if wanted
        .iter()
        .all(|r| (r.running > 0 && r.running >= r.replicas) || done(r))
    {
        StackStatus::Healthy
    } else {
        StackStatus::Degraded
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use berth_engine::ServiceState;

    use super::*;
    use crate::project::ServiceView;

    fn container(service: &str, state: &str, health: &str, exit_code: i64) -> Container {
        Container {
            id: format!("{service}-id"),
            name: format!("p-{service}-1"),
            service: service.into(),
            number: 1,
            oneoff: false,
            state: state.into(),
            health: health.into(),
            health_log: vec![format!("{service} says {health}")],
            exit_code,
            restart_count: 0,
            started_at: "2026-11-22T10:00:00Z".into(),
            image: "img".into(),
            image_id: "sha256:1".into(),
            command: String::new(),
            ports: ["::", "0.0.0.0"]
                .map(|ip| Publisher {
                    host_ip: ip.into(),
                    host_port: 8080,
                    container_port: 80,
                    protocol: "tcp".into(),
                    url: Some("http://localhost:8080".into()),
                })
                .to_vec(),
            labels: Default::default(),
            stop_requested: false,
            oom_killed: false,
        }
    }

    fn project(names: &[&str]) -> ProjectStatus {
        ProjectStatus::Loaded(ProjectView {
            name: "p".into(),
            files: vec!["/p/compose.yaml".into()],
            profiles: vec![],
            active_profiles: vec![],
            services: names
                .iter()
                .map(|n| ServiceView {
                    name: (*n).into(),
                    image: Some(format!("{n}:1")),
                    ports: vec![],
                    depends_on: vec![],
                    replicas: 1,
                })
                .collect(),
        })
    }

    fn snapshot(containers: Vec<Container>, names: &[&str]) -> Snapshot {
        let mut services: BTreeMap<String, ServiceState> = names
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    ServiceState {
                        desired: Desired::Running { replicas: 1 },
                        containers: vec![],
                    },
                )
            })
            .collect();
        for c in containers {
            services
                .entry(c.service.clone())
                .or_insert(ServiceState {
                    desired: Desired::Orphan,
                    containers: vec![],
                })
                .containers
                .push(c);
        }
        Snapshot {
            project: "p".into(),
            seq: 1,
            engine: EngineState::Available,
            services,
        }
    }

    fn version() -> EngineVersion {
        EngineVersion {
            endpoint: "unix:///var/run/docker.sock".into(),
            version: "20.10".into(),
            api_version: "1.41".into(),
            os: "linux".into(),
            arch: "amd64".into(),
        }
    }

    fn view(containers: Vec<Container>) -> StackView {
        let names = ["db", "web"];
        let mut v = StackView::new(project(&names));
        v.refresh(Some(&version()), Some(&snapshot(containers, &names)));
        assert_eq!(v.engine, EngineView::Connected(version()));
        v
    }

    #[test]
    fn a_stack_with_nothing_created_is_stopped_with_a_row_per_service() {
        let v = view(vec![]);
        assert_eq!(v.status, StackStatus::Stopped);
        let states: Vec<&str> = v.services.iter().map(|r| r.state.as_str()).collect();
        assert_eq!(states, ["not created", "not created"]);
        assert_eq!(v.services[0].image, "db:1");
    }

    #[test]
    fn running_and_healthy_is_healthy_with_ports_from_running_containers() {
        let v = view(vec![
            container("db", "running", "healthy", 0),
            container("web", "running", "", 0),
        ]);
        assert_eq!(v.status, StackStatus::Healthy);
        assert_eq!(v.services[0].health, "healthy");
        assert_eq!(v.services[0].health_log, ["db says healthy"]);
        assert_eq!(v.services[1].ports[0].host_port, 8080);
        assert_eq!(
            v.services[1].ports.len(),
            1,
            "IPv4 and IPv6 bindings are one port"
        );
        assert_eq!(v.services[1].started_at, "2026-11-22T10:00:00Z");
    }

    #[test]
    fn a_port_is_its_ipv4_binding_even_when_the_ipv6_one_has_another_host_port() {
        let publisher = |ip: &str, host_port: u16, container_port: u16| Publisher {
            host_ip: ip.into(),
            host_port,
            container_port,
            protocol: "tcp".into(),
            url: None,
        };
        let mut web = container("web", "running", "", 0);
        // As Docker 20.10 publishes `80` and `443`, `[::]:53:53` and `[::1]:9000:8080` next to
        // `127.0.0.1:8000:8080`.
        web.ports = vec![
            publisher("0.0.0.0", 32919, 80),
            publisher("::", 32918, 80),
            publisher("::", 32920, 443),
            publisher("0.0.0.0", 32921, 443),
            publisher("::", 53, 53),
            publisher("127.0.0.1", 8000, 8080),
            publisher("::1", 9000, 8080),
        ];
        let v = view(vec![web]);
        let ports: Vec<(&str, u16, u16)> = v.services[1]
            .ports
            .iter()
            .map(|p| (p.host_ip.as_str(), p.host_port, p.container_port))
            .collect();
        assert_eq!(
            ports,
            [
                ("::", 53, 53),
                ("127.0.0.1", 8000, 8080),
                ("::1", 9000, 8080),
                ("0.0.0.0", 32919, 80),
                ("0.0.0.0", 32921, 443)
            ]
        );
    }

    #[test]
    fn a_health_check_still_starting_makes_the_stack_starting() {
        let v = view(vec![
            container("db", "running", "starting", 0),
            container("web", "running", "", 0),
        ]);
        assert_eq!(v.status, StackStatus::Starting);
    }

    #[test]
    fn unhealthy_or_crashed_services_degrade_the_stack() {
        let v = view(vec![
            container("db", "running", "unhealthy", 0),
            container("web", "running", "", 0),
        ]);
        assert_eq!(v.status, StackStatus::Degraded);
        assert!(v.services[0].problem);

        let v = view(vec![
            container("db", "running", "healthy", 0),
            container("web", "exited", "", 3),
        ]);
        assert_eq!(v.status, StackStatus::Degraded);
        assert_eq!(v.services[1].exit_code, Some(3));
        assert!(
            v.services[1].ports.is_empty(),
            "an exited container publishes nothing"
        );
    }

    #[test]
    fn a_one_shot_that_completed_does_not_degrade_the_stack() {
        let v = view(vec![
            container("db", "exited", "", 0),
            container("web", "running", "", 0),
        ]);
        assert_eq!(v.status, StackStatus::Healthy);
        assert!(!v.services[0].problem);
    }

    #[test]
    fn services_the_user_stopped_are_stopped_not_degraded() {
        let mut names = ["db", "web"].map(|n| {
            let mut c = container(n, "exited", "", 143);
            c.stop_requested = true;
            c
        });
        let mut s = snapshot(names.to_vec(), &["db", "web"]);
        for service in s.services.values_mut() {
            service.desired = Desired::Stopped { replicas: 1 };
        }
        let mut v = StackView::new(project(&["db", "web"]));
        v.engine = EngineView::Connecting;
        v.refresh(Some(&version()), Some(&s));
        assert_eq!(v.status, StackStatus::Stopped);
        assert!(v.services.iter().all(|r| !r.problem && r.replicas == 1));
        // The same exit without a request is a crash.
        names[1].stop_requested = false;
        let mut s = snapshot(names.to_vec(), &["db", "web"]);
        s.services.get_mut("db").unwrap().desired = Desired::Stopped { replicas: 1 };
        v.refresh(Some(&version()), Some(&s));
        assert_eq!(v.status, StackStatus::Degraded);
        assert!(v.services[1].problem);
    }

    #[test]
    fn an_action_underway_says_starting_or_stopping() {
        let mut v = view(vec![]);
        v.action = Some(ActionRequest {
            action: Action::Up,
            services: vec![],
        });
        v.refresh(None, None);
        assert_eq!(v.status, StackStatus::Starting);
        v.action = Some(ActionRequest {
            action: Action::Down,
            services: vec![],
        });
        v.refresh(None, None);
        assert_eq!(v.status, StackStatus::Stopping);
    }

    #[test]
    fn orphans_get_a_row_after_the_files_services() {
        let v = view(vec![container("old", "running", "", 0)]);
        let names: Vec<&str> = v.services.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["db", "web", "old"]);
        assert_eq!(v.services[2].desired, Desired::Orphan);
    }

    #[test]
    fn without_an_engine_the_status_is_unknown() {
        let mut v = StackView::new(project(&["db"]));
        v.refresh(None, None);
        assert_eq!(v.status, StackStatus::Unknown);
        assert_eq!(v.services[0].state, "not created");
    }
}

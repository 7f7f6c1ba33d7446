//! What the window and the tray show: the open project, the engine, and one row per service,
//! built from the project's files and the engine's live state model. What a service and the
//! stack are (their labels, problems, status) the engine decides; this only says which rows
//! there are and what the action underway makes of the stack.

use std::collections::BTreeMap;

use berth_engine::{
    Desired, EngineState, EngineVersion, ServiceStatus, Snapshot, StackStatus, WatchEventKind,
};
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
    /// The project as its files last loaded, or why they never did.
    pub project: ProjectStatus,
    /// Why the files' latest load is not shown (the loader's located error, or a new project
    /// name), while the rows stay those of their last good load.
    pub files_error: Option<String>,
    pub engine: EngineView,
    pub status: StackStatus,
    /// The stack action underway, if any.
    pub action: Option<ActionRequest>,
    /// In start order, then services only the engine knows of (orphans).
    pub services: Vec<ServiceRow>,
    /// The watched services and what watch mode last did for each: their rows say it.
    #[serde(skip)]
    #[ts(skip)]
    pub watches: BTreeMap<String, WatchState>,
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
    /// Build the services' images (`build:`), then `up` those services.
    Rebuild,
}

impl Action {
    fn starts(self) -> bool {
        matches!(self, Action::Up | Action::Restart | Action::Rebuild)
    }
}

/// A service's row: its name and image beside the engine's status of it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ServiceRow {
    pub name: String,
    pub image: String,
    /// The files give it a `build:`: it has a Rebuild action.
    pub build: bool,
    /// The files give it `develop.watch` rules: it has a Watch toggle.
    pub watchable: bool,
    /// What watch mode last did for it, while it is watched.
    pub watch: Option<WatchState>,
    #[serde(flatten)]
    pub status: ServiceStatus,
}

/// A watched service's row: what watch mode is doing or last did. Times are RFC 3339, for the
/// window's relative clock ("synced 3 files 2 s ago").
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum WatchState {
    Watching,
    Syncing {
        files: u32,
    },
    Synced {
        files: u32,
        at: String,
    },
    Rebuilding,
    Rebuilt {
        at: String,
    },
    Restarting,
    Restarted {
        at: String,
    },
    /// `what` failed (sync, rebuild, restart, exec); the next change is tried again.
    Failed {
        what: String,
        message: String,
    },
}

impl WatchState {
    /// The state after `event`, from the state `before` it; `at` is now (RFC 3339).
    pub fn after(before: Option<&WatchState>, event: &WatchEventKind, at: String) -> WatchState {
        match event {
            WatchEventKind::Watching => WatchState::Watching,
            WatchEventKind::Syncing { files } => WatchState::Syncing {
                files: *files as u32,
            },
            WatchEventKind::Synced { files } => WatchState::Synced {
                files: *files as u32,
                at,
            },
            WatchEventKind::Rebuilding => WatchState::Rebuilding,
            WatchEventKind::Rebuilt => WatchState::Rebuilt { at },
            WatchEventKind::Restarting => WatchState::Restarting,
            WatchEventKind::Restarted => WatchState::Restarted { at },
            // A command run after a sync: the sync stays what the row says, unless it failed.
            WatchEventKind::Executed { code: 0 } | WatchEventKind::Output { .. } => {
                before.cloned().unwrap_or(WatchState::Watching)
            }
            WatchEventKind::Executed { code } => WatchState::Failed {
                what: "exec".into(),
                message: format!("the command exited ({code})"),
            },
            WatchEventKind::Failed { message } => WatchState::Failed {
                what: match before {
                    Some(WatchState::Rebuilding) => "rebuild",
                    Some(WatchState::Restarting) => "restart",
                    _ => "sync",
                }
                .into(),
                message: message.clone(),
            },
        }
    }

    /// The state in words without its time, for the tray's line (its menu is not redrawn as
    /// time passes).
    pub fn summary(&self) -> String {
        let files = |n: u32| format!("{n} {}", if n == 1 { "file" } else { "files" });
        match self {
            WatchState::Watching => "watching".into(),
            WatchState::Syncing { files: n } => format!("syncing {}", files(*n)),
            WatchState::Synced { files: n, .. } => format!("synced {}", files(*n)),
            WatchState::Rebuilding => "rebuilding".into(),
            WatchState::Rebuilt { .. } => "rebuilt".into(),
            WatchState::Restarting => "restarting".into(),
            WatchState::Restarted { .. } => "restarted".into(),
            WatchState::Failed { what, .. } => format!("{what} failed"),
        }
    }
}

impl StackView {
    /// The view before anything is known of the engine.
    pub fn new(project: ProjectStatus) -> StackView {
        StackView {
            session: 0,
            project,
            files_error: None,
            engine: EngineView::Connecting,
            status: StackStatus::Unknown,
            action: None,
            services: Vec::new(),
            watches: BTreeMap::new(),
        }
    }

    /// Shows a new load of the project's files; says whether it is now the project shown. A
    /// broken one after a good one is told beside it and changes nothing else: the rows stay as
    /// the last good load made them. So is a load under another project name, which is another
    /// project on the engine.
    pub fn show_load(&mut self, status: ProjectStatus) -> bool {
        let shown = self.project.loaded().map(|p| p.name.clone());
        match (status, shown) {
            (ProjectStatus::Invalid { message, .. }, Some(_)) => {
                self.files_error = Some(message);
                false
            }
            (ProjectStatus::Loaded(new), Some(name)) if new.name != name => {
                self.files_error = Some(format!(
                    "The files now name the project {}, not {name}: open them again \
                     (Project ▾) to manage it under its new name.",
                    new.name
                ));
                false
            }
            (status, _) => {
                self.project = status;
                self.files_error = None;
                true
            }
        }
    }

    /// Rebuilds rows and status from the project, the state model and the action underway.
    pub fn refresh(&mut self, version: Option<&EngineVersion>, snapshot: Option<&Snapshot>) {
        let services = self
            .project
            .loaded()
            .map(|view| rows(view, snapshot, &self.watches))
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

fn rows(
    view: &ProjectView,
    snapshot: Option<&Snapshot>,
    watches: &BTreeMap<String, WatchState>,
) -> Vec<ServiceRow> {
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
            let status = match snapshot.and_then(|s| s.services.get(name)) {
                // Made of its containers, the project has no files for them to differ from.
                Some(state) if !view.missing.is_empty() => ServiceStatus {
                    config_changed: false,
                    ..state.status()
                },
                Some(state) => state.status(),
                None => ServiceStatus::of(
                    match spec {
                        Some(s) => Desired::Running {
                            replicas: s.replicas,
                        },
                        None => Desired::Orphan,
                    },
                    &[],
                ),
            };
            let image = spec.and_then(|s| s.image.clone()).or_else(|| {
                let state = snapshot?.services.get(name)?;
                state
                    .containers
                    .iter()
                    .find(|c| !c.oneoff)
                    .map(|c| c.image.clone())
            });
            ServiceRow {
                name: name.to_owned(),
                image: image.unwrap_or_default(),
                build: spec.is_some_and(|s| s.build),
                watchable: spec.is_some_and(|s| s.watch),
                watch: watches.get(name).cloned(),
                status,
            }
        })
        .collect()
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
    if snapshot.is_none() || !matches!(engine, EngineView::Connected(_)) {
        return StackStatus::Unknown;
    }
    StackStatus::of(rows.iter().map(|r| &r.status))
}

#[cfg(test)]
pub(crate) mod tests {
    use berth_engine::{Container, ContainerState, Health, Publisher, ServiceState};

    use super::*;
    use crate::project::ServiceView;

    /// A container as the engine would report it, with ports on `0.0.0.0` and `::`.
    pub(crate) fn container(
        service: &str,
        state: ContainerState,
        health: Option<Health>,
        exit_code: i64,
    ) -> Container {
        Container {
            id: format!("{service}-id"),
            name: format!("p-{service}-1"),
            service: service.into(),
            number: 1,
            oneoff: false,
            state,
            health,
            health_log: vec![format!(
                "{service} says {}",
                health.map_or("", Health::as_str)
            )],
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

    pub(crate) fn project(names: &[&str]) -> ProjectStatus {
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
                    build: false,
                    watch: false,
                })
                .collect(),
            missing: vec![],
        })
    }

    pub(crate) fn snapshot(containers: Vec<Container>, names: &[&str]) -> Snapshot {
        let mut services: BTreeMap<String, ServiceState> = names
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    ServiceState {
                        desired: Desired::Running { replicas: 1 },
                        containers: vec![],
                        config_hash: None,
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
                    config_hash: None,
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

    pub(crate) fn version() -> EngineVersion {
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
        let labels: Vec<&str> = v.services.iter().map(|r| r.status.label.as_str()).collect();
        assert_eq!(labels, ["not created", "not created"]);
        assert_eq!(v.services[0].image, "db:1");
    }

    #[test]
    fn running_and_healthy_is_healthy_with_ports_from_running_containers() {
        let v = view(vec![
            container("db", ContainerState::Running, Some(Health::Healthy), 0),
            container("web", ContainerState::Running, None, 0),
        ]);
        assert_eq!(v.status, StackStatus::Healthy);
        assert_eq!(v.services[0].status.health, Some(Health::Healthy));
        assert_eq!(v.services[0].status.health_log, ["db says healthy"]);
        assert_eq!(v.services[1].status.ports[0].host_port, 8080);
        assert_eq!(
            v.services[1].status.ports.len(),
            1,
            "IPv4 and IPv6 bindings are one port"
        );
        assert_eq!(v.services[1].status.started_at, "2026-11-22T10:00:00Z");
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
        let mut web = container("web", ContainerState::Running, None, 0);
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
            .status
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
            container("db", ContainerState::Running, Some(Health::Starting), 0),
            container("web", ContainerState::Running, None, 0),
        ]);
        assert_eq!(v.status, StackStatus::Starting);
    }

    #[test]
    fn unhealthy_or_crashed_services_degrade_the_stack() {
        let v = view(vec![
            container("db", ContainerState::Running, Some(Health::Unhealthy), 0),
            container("web", ContainerState::Running, None, 0),
        ]);
        assert_eq!(v.status, StackStatus::Degraded);
        assert!(v.services[0].status.problem.is_some());

        let v = view(vec![
            container("db", ContainerState::Running, Some(Health::Healthy), 0),
            container("web", ContainerState::Exited, None, 3),
        ]);
        assert_eq!(v.status, StackStatus::Degraded);
        assert_eq!(v.services[1].status.exit_code, Some(3));
        assert!(
            v.services[1].status.ports.is_empty(),
            "an exited container publishes nothing"
        );
    }

    #[test]
    fn a_one_shot_that_completed_does_not_degrade_the_stack() {
        let v = view(vec![
            container("db", ContainerState::Exited, None, 0),
            container("web", ContainerState::Running, None, 0),
        ]);
        assert_eq!(v.status, StackStatus::Healthy);
        assert!(v.services[0].status.problem.is_none());
    }

    #[test]
    fn services_the_user_stopped_are_stopped_not_degraded() {
        let mut names = ["db", "web"].map(|n| {
            let mut c = container(n, ContainerState::Exited, None, 143);
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
        assert!(
            v.services
                .iter()
                .all(|r| r.status.problem.is_none() && r.status.replicas == 1)
        );
        // The same exit without a request is a crash.
        names[1].stop_requested = false;
        let mut s = snapshot(names.to_vec(), &["db", "web"]);
        s.services.get_mut("db").unwrap().desired = Desired::Stopped { replicas: 1 };
        v.refresh(Some(&version()), Some(&s));
        assert_eq!(v.status, StackStatus::Degraded);
        assert!(v.services[1].status.problem.is_some());
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
        let v = view(vec![container("old", ContainerState::Running, None, 0)]);
        let names: Vec<&str> = v.services.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["db", "web", "old"]);
        assert_eq!(v.services[2].status.desired, Desired::Orphan);
    }

    #[test]
    fn a_broken_edit_is_told_beside_the_last_good_project_until_fixed() {
        let broken = |message: &str| ProjectStatus::Invalid {
            files: vec!["/p/compose.yaml".into()],
            message: message.into(),
        };
        let mut v = StackView::new(broken("never loaded"));
        assert!(v.show_load(project(&["db"])));
        assert_eq!(
            (v.project.clone(), v.files_error.clone()),
            (project(&["db"]), None)
        );
        assert!(!v.show_load(broken("compose.yaml:3:1: fix it")));
        v.refresh(Some(&version()), Some(&snapshot(vec![], &["db"])));
        assert_eq!(v.project, project(&["db"]), "the rows stay");
        assert_eq!(v.services.len(), 1);
        assert_eq!(v.files_error.as_deref(), Some("compose.yaml:3:1: fix it"));
        assert!(v.show_load(project(&["db", "web"])));
        assert_eq!(
            (v.project.clone(), v.files_error.clone()),
            (project(&["db", "web"]), None)
        );
        // Another name is another project: the one shown stays, and the error says what to do.
        let ProjectStatus::Loaded(mut renamed) = project(&["db"]) else {
            unreachable!()
        };
        renamed.name = "q".into();
        assert!(!v.show_load(ProjectStatus::Loaded(renamed)));
        assert_eq!(v.project, project(&["db", "web"]));
        let error = v.files_error.clone().unwrap_or_default();
        assert!(error.contains("name the project q, not p"), "{error}");
        // A project that never loaded says why in place of the rows.
        let mut v = StackView::new(broken("never loaded"));
        assert!(v.show_load(broken("still not")));
        assert_eq!(
            (v.project.clone(), v.files_error.clone()),
            (broken("still not"), None)
        );
    }

    #[test]
    fn without_an_engine_the_status_is_unknown() {
        let mut v = StackView::new(project(&["db"]));
        v.refresh(None, None);
        assert_eq!(v.status, StackStatus::Unknown);
        assert_eq!(v.services[0].status.label, "not created");
    }

    #[test]
    fn a_watched_row_says_what_watch_mode_did_last() {
        let mut v = StackView::new(project(&["db", "web"]));
        v.watches.insert("web".into(), WatchState::Watching);
        v.refresh(Some(&version()), Some(&snapshot(vec![], &["db", "web"])));
        assert_eq!(v.services[0].watch, None);
        assert_eq!(v.services[1].watch, Some(WatchState::Watching));

        let at = || "2026-12-05T16:00:00.000000000Z".to_owned();
        let mut state = WatchState::Watching;
        let mut step = |kind: WatchEventKind| {
            state = WatchState::after(Some(&state), &kind, at());
            state.clone()
        };
        assert_eq!(
            step(WatchEventKind::Syncing { files: 3 }),
            WatchState::Syncing { files: 3 }
        );
        let synced = step(WatchEventKind::Synced { files: 3 });
        assert_eq!(synced, WatchState::Synced { files: 3, at: at() });
        assert_eq!(synced.summary(), "synced 3 files");
        assert_eq!(
            step(WatchEventKind::Executed { code: 0 }),
            synced,
            "a hook that went well"
        );
        assert_eq!(
            step(WatchEventKind::Syncing { files: 1 }).summary(),
            "syncing 1 file"
        );
        let failed = step(WatchEventKind::Failed {
            message: "/app is read-only".into(),
        });
        assert_eq!(
            failed,
            WatchState::Failed {
                what: "sync".into(),
                message: "/app is read-only".into()
            }
        );
        assert_eq!(failed.summary(), "sync failed");
        step(WatchEventKind::Rebuilding);
        let failed = step(WatchEventKind::Failed {
            message: "no Dockerfile".into(),
        });
        assert_eq!(failed.summary(), "rebuild failed");
        assert_eq!(
            step(WatchEventKind::Executed { code: 2 }).summary(),
            "exec failed"
        );
    }
}

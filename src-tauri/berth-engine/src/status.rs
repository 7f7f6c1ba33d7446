//! What a service is, decided once for every surface (the window, the tray, notifications,
//! `berthctl ps`): the state that says most of its containers, their worst health, the one label
//! they all print, whether it needs attention, and the stack's status from its services.

use serde::Serialize;
use ts_rs::TS;

use crate::container_state::{ContainerState, Health};
use crate::{Container, Desired, Publisher, ServiceState};

/// Why a service the user wants running needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Unhealthy,
    Restarting,
    /// Exited with an error, without being asked to stop.
    Exited,
    Dead,
    /// Runs, but fewer replicas than the file asks for.
    MissingReplicas,
}

/// A service as every surface shows it, from its containers and what the user wants of it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ServiceStatus {
    pub desired: Desired,
    /// The state that says most of its containers (counts are in `running` and `replicas`);
    /// none when it has no container.
    pub state: Option<ContainerState>,
    pub running: u32,
    pub replicas: u32,
    /// The worst health among its running containers.
    pub health: Option<Health>,
    /// The latest health check outputs of the container with that health, oldest first.
    pub health_log: Vec<String>,
    /// When the oldest running container started (RFC 3339), for the uptime; empty if none runs.
    pub started_at: String,
    #[ts(type = "number")]
    pub restart_count: i64,
    /// The exit code of an exited container, if any (a non-zero one first).
    #[ts(type = "number | null")]
    pub exit_code: Option<i64>,
    /// The running containers' published ports, each once.
    pub ports: Vec<Publisher>,
    /// The word every surface prints: `running`, `running 2/3`, `stopped` (a stop the user
    /// asked for), `exited (3)` (a crash), `restarting`, `not created`, `disabled (profile)`…
    pub label: String,
    /// Why it needs attention; none for a stop the user asked for or a one-shot that completed.
    pub problem: Option<Problem>,
    /// Its containers no longer match its files (their config hash is not the one the files
    /// give now): `up` of the service recreates them.
    pub config_changed: bool,
}

impl ServiceStatus {
    /// A service from its containers (one-offs are not part of it) and its desired state.
    pub fn of(desired: Desired, containers: &[Container]) -> ServiceStatus {
        let cs: Vec<&Container> = containers.iter().filter(|c| !c.oneoff).collect();
        ServiceStatus::from_containers(desired, &cs)
    }

    /// One container on its own terms, as `berthctl ps` lists containers (one-offs too): the
    /// service rules applied to a service of that container alone.
    pub fn of_container(c: &Container) -> ServiceStatus {
        let desired = if c.stopped_on_request() {
            Desired::Stopped { replicas: 1 }
        } else {
            Desired::Running { replicas: 1 }
        };
        ServiceStatus::from_containers(desired, &[c])
    }

    fn from_containers(desired: Desired, cs: &[&Container]) -> ServiceStatus {
        let running: Vec<&Container> = cs.iter().copied().filter(|c| c.running()).collect();
        let replicas = match desired {
            Desired::Running { replicas } | Desired::Stopped { replicas } => replicas,
            Desired::Disabled | Desired::Orphan => 0,
        };
        // The worst health among the running containers, as a user would want it told (a
        // stopped container keeps its last check's word, which says nothing now).
        let health = [Health::Unhealthy, Health::Starting, Health::Healthy]
            .into_iter()
            .find(|h| running.iter().any(|c| c.health == Some(*h)));
        let state = if !running.is_empty() {
            Some(ContainerState::Running)
        } else {
            // Restarting or dead say more than exited; exited more than created.
            [
                ContainerState::Restarting,
                ContainerState::Dead,
                ContainerState::Paused,
                ContainerState::Exited,
                ContainerState::Created,
                ContainerState::Removing,
            ]
            .into_iter()
            .find(|s| cs.iter().any(|c| c.state == *s))
        };
        let exit_code = cs
            .iter()
            .filter(|c| c.state == ContainerState::Exited)
            .map(|c| c.exit_code)
            .max_by_key(|code| *code != 0);
        let health_log = running
            .iter()
            .find(|c| health.is_some() && c.health == health)
            .map(|c| c.health_log.clone())
            .unwrap_or_default();
        let mut ports: Vec<Publisher> = running.iter().flat_map(|c| published(c)).collect();
        ports.sort_by_key(|p| (p.host_port, p.container_port, p.protocol.clone()));
        ports.dedup_by_key(|p| (p.host_port, p.container_port, p.protocol.clone()));
        let wanted = matches!(desired, Desired::Running { .. });
        let problem = if !wanted || cs.is_empty() {
            None
        } else if health == Some(Health::Unhealthy) {
            Some(Problem::Unhealthy)
        } else if state == Some(ContainerState::Restarting) {
            Some(Problem::Restarting)
        } else if state == Some(ContainerState::Dead) {
            Some(Problem::Dead)
        } else if state == Some(ContainerState::Exited) && exit_code.is_some_and(|c| c != 0) {
            Some(Problem::Exited)
        } else if !running.is_empty() && (running.len() as u32) < replicas {
            Some(Problem::MissingReplicas)
        } else {
            None
        };
        let label = match (desired, state) {
            (Desired::Disabled, _) => "disabled (profile)".to_owned(),
            (_, None) => "not created".to_owned(),
            (Desired::Stopped { .. }, Some(ContainerState::Exited)) => "stopped".to_owned(),
            (_, Some(ContainerState::Exited)) => {
                format!("exited ({})", exit_code.unwrap_or_default())
            }
            (_, Some(ContainerState::Running)) if replicas > 1 => {
                format!("running {}/{replicas}", running.len())
            }
            (_, Some(state)) => state.as_str().to_owned(),
        };
        ServiceStatus {
            desired,
            state,
            running: running.len() as u32,
            replicas,
            health,
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
            label,
            problem,
            config_changed: false,
        }
    }

    /// The label with the health beside it, where one line has to say both: `running (healthy)`.
    pub fn summary(&self) -> String {
        match self.health {
            Some(health) => format!("{} ({health})", self.label),
            None => self.label.clone(),
        }
    }

    /// It has run and is over for good: a one-shot that completed (exit 0), not a service down.
    fn completed(&self) -> bool {
        self.state == Some(ContainerState::Exited) && self.exit_code == Some(0)
    }
}

impl ServiceState {
    /// The service as every surface shows it.
    pub fn status(&self) -> ServiceStatus {
        ServiceStatus {
            config_changed: drifted(self.config_hash.as_deref(), &self.containers),
            ..ServiceStatus::of(self.desired, &self.containers)
        }
    }
}

/// Whether a service's containers (one-offs are not part of it) were made from other files than
/// those whose hash is `hash`: what `up` recreates them for. Only a service the files
/// enable and whose containers exist can drift.
fn drifted(hash: Option<&str>, containers: &[Container]) -> bool {
    hash.is_some_and(|hash| {
        containers
            .iter()
            .any(|c| !c.oneoff && crate::hash::config_changed(c.config_hash(), hash))
    })
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

/// The stack as a whole, for the window's header, the tray's tooltip and its icon.
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
    /// The stack from its services' statuses, with the engine answering and no action underway.
    pub fn of<'a>(services: impl IntoIterator<Item = &'a ServiceStatus>) -> StackStatus {
        let services: Vec<&ServiceStatus> = services.into_iter().collect();
        if services.is_empty() {
            return StackStatus::Unknown;
        }
        if services
            .iter()
            .all(|s| s.running == 0 && s.problem.is_none())
        {
            return StackStatus::Stopped;
        }
        if services.iter().any(|s| s.problem.is_some()) {
            return StackStatus::Degraded;
        }
        let wanted: Vec<&&ServiceStatus> = services
            .iter()
            .filter(|s| matches!(s.desired, Desired::Running { .. }))
            .collect();
        if wanted.iter().any(|s| s.health == Some(Health::Starting)) {
            return StackStatus::Starting;
        }
        if wanted
            .iter()
            .all(|s| (s.running > 0 && s.running >= s.replicas) || s.completed())
        {
            StackStatus::Healthy
        } else {
            StackStatus::Degraded
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn container(state: ContainerState, health: Option<Health>, exit_code: i64) -> Container {
        Container {
            id: "web-id".into(),
            name: "p-web-1".into(),
            service: "web".into(),
            number: 1,
            oneoff: false,
            state,
            health,
            health_log: vec![format!("says {health:?}")],
            exit_code,
            stop_requested: false,
            oom_killed: false,
            restart_count: 0,
            started_at: "2026-11-22T10:00:00Z".into(),
            image: "img".into(),
            image_id: "sha256:1".into(),
            command: String::new(),
            ports: Vec::new(),
            labels: Default::default(),
        }
    }

    const RUNNING: Desired = Desired::Running { replicas: 1 };

    #[test]
    fn a_service_drifts_when_a_container_carries_another_config_hash() {
        let mut made = container(ContainerState::Running, None, 0);
        made.labels
            .insert(crate::labels::CONFIG_HASH.into(), "aaa".into());
        let state = |hash: Option<&str>, containers: Vec<Container>| ServiceState {
            desired: RUNNING,
            containers,
            config_hash: hash.map(Into::into),
        };
        assert!(
            !state(Some("aaa"), vec![made.clone()])
                .status()
                .config_changed
        );
        assert!(
            state(Some("bbb"), vec![made.clone()])
                .status()
                .config_changed
        );
        assert!(
            !state(Some("bbb"), vec![]).status().config_changed,
            "nothing to recreate"
        );
        assert!(
            !state(None, vec![made.clone()]).status().config_changed,
            "orphan"
        );
        let mut oneoff = made.clone();
        oneoff.oneoff = true;
        assert!(!state(Some("bbb"), vec![oneoff]).status().config_changed);
        let mut unlabelled = made;
        unlabelled.labels.clear();
        assert!(state(Some("aaa"), vec![unlabelled]).status().config_changed);
    }

    #[test]
    fn a_stop_you_asked_for_reads_stopped_and_a_crash_its_exit_code() {
        // Docker leaves a stopped container's last health check word on it.
        let mut c = container(ContainerState::Exited, Some(Health::Unhealthy), 143);
        c.stop_requested = true;
        let stopped = ServiceStatus::of(Desired::Stopped { replicas: 1 }, &[c.clone()]);
        assert_eq!(
            (stopped.summary(), stopped.problem),
            ("stopped".into(), None)
        );
        assert_eq!(ServiceStatus::of_container(&c).label, "stopped");
        c.stop_requested = false;
        c.exit_code = 3;
        let crashed = ServiceStatus::of(RUNNING, &[c.clone()]);
        assert_eq!(crashed.label, "exited (3)");
        assert_eq!(crashed.problem, Some(Problem::Exited));
        assert_eq!(ServiceStatus::of_container(&c), crashed);
    }

    #[test]
    fn labels_count_replicas_only_when_there_are_several() {
        let up = container(ContainerState::Running, Some(Health::Healthy), 0);
        let one = ServiceStatus::of(RUNNING, std::slice::from_ref(&up));
        assert_eq!(
            (one.label.as_str(), one.summary()),
            ("running", "running (healthy)".into())
        );
        let three = ServiceStatus::of(Desired::Running { replicas: 3 }, &[up.clone(), up]);
        assert_eq!(three.label, "running 2/3");
        assert_eq!(three.problem, Some(Problem::MissingReplicas));
        assert_eq!(ServiceStatus::of(RUNNING, &[]).label, "not created");
        assert_eq!(
            ServiceStatus::of(Desired::Disabled, &[]).label,
            "disabled (profile)"
        );
    }

    #[test]
    fn the_worst_health_and_state_say_what_the_service_is() {
        let sick = container(ContainerState::Running, Some(Health::Unhealthy), 0);
        let well = container(ContainerState::Running, Some(Health::Healthy), 0);
        let s = ServiceStatus::of(Desired::Running { replicas: 2 }, &[well, sick]);
        assert_eq!(s.health, Some(Health::Unhealthy));
        assert_eq!(s.health_log, ["says Some(Unhealthy)"]);
        assert_eq!(s.problem, Some(Problem::Unhealthy));
        let looping = container(ContainerState::Restarting, None, 1);
        let gone = container(ContainerState::Exited, None, 1);
        let s = ServiceStatus::of(RUNNING, &[gone, looping]);
        assert_eq!(
            (s.label.as_str(), s.problem),
            ("restarting", Some(Problem::Restarting))
        );
        let mut oneoff = container(ContainerState::Running, None, 0);
        oneoff.oneoff = true;
        assert_eq!(ServiceStatus::of(RUNNING, &[oneoff]).label, "not created");
    }

    #[test]
    fn the_stack_is_degraded_by_a_problem_and_not_by_a_completed_one_shot() {
        let up = ServiceStatus::of(RUNNING, &[container(ContainerState::Running, None, 0)]);
        let done = ServiceStatus::of(RUNNING, &[container(ContainerState::Exited, None, 0)]);
        let crashed = ServiceStatus::of(RUNNING, &[container(ContainerState::Exited, None, 3)]);
        let starting = ServiceStatus::of(
            RUNNING,
            &[container(
                ContainerState::Running,
                Some(Health::Starting),
                0,
            )],
        );
        assert_eq!(StackStatus::of([&up, &done]), StackStatus::Healthy);
        assert_eq!(StackStatus::of([&up, &crashed]), StackStatus::Degraded);
        assert_eq!(StackStatus::of([&up, &starting]), StackStatus::Starting);
        let none = ServiceStatus::of(RUNNING, &[]);
        assert_eq!(StackStatus::of([&none]), StackStatus::Stopped);
        assert_eq!(StackStatus::of([]), StackStatus::Unknown);
    }
}

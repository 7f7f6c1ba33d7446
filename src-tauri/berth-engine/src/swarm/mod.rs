//! Docker Swarm: deploying a compose project as a stack and watching it, as `docker stack`
//! does (docker/cli `cli/command/stack`, `cli/compose/convert`): the same names (`<ns>_<svc>`),
//! the same `com.docker.stack.*` labels and the same specs, so `docker stack` manages what
//! Berth deployed and the other way round. Only the Engine API, never the docker CLI.

mod convert;
mod deploy;
mod error;
mod info;
mod list;
mod logs;
mod manage;
mod objects;
mod remove;
mod watch;

use serde::Serialize;

pub use convert::{IMAGE_LABEL, NAMESPACE_LABEL};
pub use deploy::{DeployOptions, ResolveImage, deploy};
pub use error::{Result, SwarmError};
pub use info::{info, nodes};
pub use list::{services, stacks, tasks};
pub use logs::follow_service_logs;
pub use manage::{rollback, scale};
pub use remove::remove;
pub use watch::{SAFETY, StackService, all_services, watch_services};

/// This engine's place in a Swarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwarmInfo {
    pub node_id: String,
    /// Whether this node can deploy (a manager); a worker can only run tasks.
    pub manager: bool,
    pub nodes: usize,
}

/// A stack on the Swarm, as `docker stack ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackSummary {
    pub name: String,
    pub services: usize,
}

/// A service of a stack, as `docker stack services` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSummary {
    pub id: String,
    /// `<namespace>_<service>`.
    pub name: String,
    /// `replicated`, `global`, `replicated job` or `global job`.
    pub mode: String,
    pub desired: u64,
    pub running: u64,
    pub image: String,
    /// `*:8080->80/tcp` (ingress) or `8080:80/tcp` (host mode), as docker prints them.
    pub ports: Vec<String>,
    /// The last rolling update or rollback, while or after it ran.
    pub update: Option<UpdateStatus>,
}

/// A rolling update's (or rollback's) progress, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateStatus {
    /// `updating`, `paused`, `completed`, `rollback_started`, `rollback_paused`,
    /// `rollback_completed`.
    pub state: String,
    pub message: String,
    /// RFC 3339, empty when unknown.
    pub started: String,
    pub completed: String,
}

/// A task (one replica's container, or its history), as `docker stack ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSummary {
    pub id: String,
    /// `<service>.<slot>` for a replicated service, `<service>.<node id>` for a global one.
    pub name: String,
    /// `<namespace>_<service>`.
    pub service: String,
    /// The image the task runs, without the digest a deploy pinned.
    pub image: String,
    /// The node's hostname, or its id when the node is gone.
    pub node: String,
    pub desired_state: String,
    pub current_state: String,
    pub error: String,
    /// When the task entered its current state (RFC 3339).
    pub since: String,
}

/// A node of the Swarm, as `docker node ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeSummary {
    pub id: String,
    pub hostname: String,
    /// `ready`, `down`, `unknown`, `disconnected`.
    pub status: String,
    /// `active`, `pause`, `drain`.
    pub availability: String,
    /// `Leader`, `Reachable`, `Unreachable`, or empty for a worker.
    pub manager_status: String,
}

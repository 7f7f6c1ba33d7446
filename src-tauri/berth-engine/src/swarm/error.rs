//! What went wrong with a stack on a Swarm, with what to do about it.

use crate::error::describe;

pub type Result<T, E = SwarmError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error(transparent)]
    Engine(#[from] crate::Error),
    #[error(
        "this engine ({endpoint}) is not a Swarm manager\n\
         Run `docker swarm init` on it to make it one (or point DOCKER_HOST at a manager of your \
         Swarm)."
    )]
    NotManager { endpoint: String },
    /// The compose file asks for something a Swarm service cannot be.
    #[error("service {service}: {reason}\nFix it in the compose file.")]
    Invalid { service: String, reason: String },
    #[error(
        "network {name} is declared as external, but could not be found\n\
         Create a swarm-scoped network first (docker network create -d overlay {name})."
    )]
    ExternalNetworkMissing { name: String },
    #[error(
        "network {name} is declared as external, but it is not in the right scope: \"{scope}\" \
         instead of \"swarm\"\nUse an overlay network created on the Swarm."
    )]
    ExternalNetworkScope { name: String, scope: String },
    #[error(
        "{kind} {name}: the file {} cannot be read: {cause}\nCreate it, or point `file:` at one \
         that exists.", path.display()
    )]
    File {
        kind: &'static str,
        name: String,
        path: std::path::PathBuf,
        cause: String,
    },
    #[error(
        "{kind} {name}: its data differs from {}, and a Swarm {kind} cannot be changed\n\
         Give it a new `name:` in the compose file, or drop `name:` to let Berth version it by \
         its content.", path.display()
    )]
    Changed {
        kind: &'static str,
        name: String,
        path: std::path::PathBuf,
    },
    /// The engine refused a request about one object of the stack.
    #[error("failed to {action}: {}", describe(cause))]
    Request {
        action: String,
        cause: bollard::errors::Error,
    },
    #[error(
        "nothing found in stack: {namespace}\nSee `berthctl stack ls` for the stacks there are."
    )]
    NothingFound { namespace: String },
    #[error(
        "no such service on the Swarm: {service}\nSee `berthctl stack services NAME` for its services."
    )]
    NoSuchService { service: String },
    #[error(
        "service {service} is global: it runs one task on each node and cannot be scaled\n\
         Change its `deploy.mode` to replicated to scale it."
    )]
    NotScalable { service: String },
    #[error("failed to remove some resources from stack: {namespace}\n{}", errors.join("\n"))]
    Remove {
        namespace: String,
        errors: Vec<String>,
    },
}

impl SwarmError {
    pub(crate) fn request(
        action: impl Into<String>,
    ) -> impl FnOnce(bollard::errors::Error) -> SwarmError {
        let action = action.into();
        move |cause| SwarmError::Request { action, cause }
    }
}

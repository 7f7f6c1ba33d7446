use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong talking to the Docker engine, with what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No engine answered at the endpoint: the daemon is down, or DOCKER_HOST points elsewhere.
    /// The cause is part of the message (not a `source`), so it is printed once, in place.
    #[error(
        "no Docker engine answers at {endpoint}: {cause}\n\
         Start the Docker daemon, or set DOCKER_HOST to the engine's address."
    )]
    Unavailable {
        endpoint: Endpoint,
        cause: bollard::errors::Error,
    },
    /// The engine answered, but refused or failed a request.
    #[error("the Docker engine at {endpoint} failed to {action}: {cause}")]
    Request {
        endpoint: Endpoint,
        action: &'static str,
        cause: bollard::errors::Error,
    },
}

/// Where the engine was looked for, as the user would write it (a DOCKER_HOST value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(pub String);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

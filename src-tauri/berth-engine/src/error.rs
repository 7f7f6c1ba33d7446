use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong talking to the Docker engine, with what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No engine answered at the endpoint: the daemon is down, or DOCKER_HOST points elsewhere.
    /// The cause is part of the message (not a `source`), so it is printed once, in place.
    #[error(
        "no Docker engine answers at {endpoint}: {}\n\
         Start the Docker daemon, or set DOCKER_HOST to the engine's address.",
        describe(cause)
    )]
    Unavailable {
        endpoint: Endpoint,
        cause: bollard::errors::Error,
    },
    /// An `ssh://` engine did not answer: ssh failed (what it said is the cause), or docker on
    /// the host did.
    #[error(
        "no Docker engine answers at {endpoint}: {}\n\
         Check that `ssh HOST docker version` works from here without a prompt (a key or the \
         agent), and that docker runs on the host.",
        describe(cause)
    )]
    UnavailableOverSsh {
        endpoint: Endpoint,
        cause: bollard::errors::Error,
    },
    /// The engine went away in the middle of the work: stopped, restarted, or its socket cut.
    #[error(
        "lost the connection to the Docker engine at {endpoint} ({reason}); is it running?\n\
         Start it, or wait until it is back, then run the command again."
    )]
    Lost {
        endpoint: Endpoint,
        reason: &'static str,
    },
    /// `--context`, DOCKER_CONTEXT or `currentContext` names a context that is not stored.
    #[error(
        "there is no Docker context named {name:?}\n\
         List them with `docker context ls`, or create it with `docker context create {name}`."
    )]
    NoContext { name: String },
    /// A `tcp://` engine's TLS handshake failed, or its certificates could not be read.
    #[error("no Docker engine answers at {endpoint} over TLS: {problem}\n{fix}")]
    Tls {
        endpoint: Endpoint,
        problem: String,
        fix: String,
    },
    /// The engine answered, but refused or failed a request.
    #[error("{}", request(endpoint, action, cause))]
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

/// What went wrong bringing a stack to the state asked for: each names the service and what
/// Docker said, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Engine(#[from] Error),
    #[error(
        "service {service}: host port {port} is already allocated{}\n\
         Stop what holds it, or publish the service on another host port.",
        holder.as_ref().map(|h| format!(" (held by container {h})")).unwrap_or_default()
    )]
    PortAllocated {
        service: String,
        port: String,
        holder: Option<String>,
    },
    #[error(transparent)]
    PortsInUse(#[from] crate::port_conflict::PortsInUse),
    #[error(
        "service {service}: image {image} is not on this engine and pulling it failed: {cause}\n\
         Check the image name and your registry access, or build the image locally."
    )]
    ImageMissing {
        service: String,
        image: String,
        cause: String,
    },
    #[error(
        "service {service}: building image {image} failed: {message}\nFix the build and run again."
    )]
    Build {
        service: String,
        image: String,
        message: String,
    },
    #[error(
        "service {service}: dependency {dependency} is unhealthy; its last health check said: {output}\n\
         Fix {dependency}'s health check or what it checks, then run again."
    )]
    DependencyUnhealthy {
        service: String,
        dependency: String,
        output: String,
    },
    #[error(
        "service {service}: dependency {dependency} exited with code {exit_code} but must complete \
         successfully\nSee `berthctl logs {dependency}` for why."
    )]
    DependencyFailed {
        service: String,
        dependency: String,
        exit_code: i64,
    },
    #[error(
        "service {service}: timed out waiting for dependency {dependency} ({condition}); its last \
         health check said: {output}\n\
         Check {dependency}'s logs and health check, or wait longer (--wait-timeout)."
    )]
    DependencyTimeout {
        service: String,
        dependency: String,
        condition: String,
        output: String,
    },
    #[error(
        "service {service}: dependency {dependency} exited with code {exit_code} while {service} \
         waited for it to be healthy\n\
         See `berthctl logs {dependency}` for why. A service others wait on must keep running; \
         depend on a one-shot with condition: service_completed_successfully."
    )]
    DependencyExited {
        service: String,
        dependency: String,
        exit_code: i64,
    },
    #[error(
        "service {service}: dependency {dependency} is restarting (exit {exit_code}, {})\n\
         Its restart policy starts it again each time it exits: see `berthctl logs {dependency}` \
         for why it exits.",
        restarted(*restarts)
    )]
    DependencyRestarting {
        service: String,
        dependency: String,
        exit_code: i64,
        restarts: i64,
    },
    #[error("service {service}: dependency {dependency} could not be started: {cause}")]
    DependencyNotStarted {
        service: String,
        dependency: String,
        cause: String,
    },
    #[error(
        "service {service}: container {container} exited with code {exit_code}\n\
         See its logs for why, fix it, and run again."
    )]
    Exited {
        service: String,
        container: String,
        exit_code: i64,
    },
    #[error(
        "{service} is restarting (exit {exit_code}, {}): container {container} exits and its \
         restart policy starts it again\n\
         See `berthctl logs {service}` for why it exits, fix it, and run again.",
        restarted(*restarts)
    )]
    Restarting {
        service: String,
        container: String,
        exit_code: i64,
        restarts: i64,
    },
    #[error(
        "service {service}: container {container} is unhealthy; its last health check said: {output}\n\
         Fix the health check or what it checks, then run again."
    )]
    Unhealthy {
        service: String,
        container: String,
        output: String,
    },
    #[error(
        "timed out waiting for {} to be running and healthy\n\
         Check their logs and health checks, or wait longer (--wait-timeout).",
        pending.join(", ")
    )]
    WaitTimeout { pending: Vec<String> },
    #[error("service {service}: Docker failed to {action}: {}", describe(cause))]
    Docker {
        service: String,
        action: String,
        cause: bollard::errors::Error,
    },
    #[error(
        "{kind} {name} is declared external but does not exist\nCreate it first (docker {kind} create {name})."
    )]
    ExternalMissing { kind: &'static str, name: String },
    #[error(
        "network {name} was found but has incorrect label com.docker.compose.network set to \
         \"{label}\" (expected: \"{key}\")\n\
         It was not created for this project: remove it (docker network rm {name}), or set \
         `external: true` on network {key} to use it as it is."
    )]
    NetworkNotOurs {
        name: String,
        label: String,
        key: String,
    },
    #[error(
        "network {name} must be recreated because its configuration changed, but container \
         {container} of another project is connected to it\n\
         Disconnect it (docker network disconnect {name} {container}) and run again."
    )]
    NetworkInUse { name: String, container: String },
    #[error(
        "service {service}: environment variable \"{variable}\" required by {file} is not set\n\
         Set it in the environment or in the project's .env file."
    )]
    FileVariableUnset {
        service: String,
        variable: String,
        file: String,
    },
    #[error(
        "service {service}: {kind} \"{name}\" is the file {}, which does not exist\n\
         Create the file, or point `file:` of {kind} {name} at an existing one.",
        path.display()
    )]
    FileMissing {
        service: String,
        kind: &'static str,
        name: String,
        path: std::path::PathBuf,
    },
    #[error(
        "service {service} has no `build:` in the compose file, so there is nothing to rebuild; \
         add one, or pull its image instead."
    )]
    NothingToBuild { service: String },
    #[error("no such service: {service}\nThe services of {project} are: {}", known.join(", "))]
    NoSuchService {
        service: String,
        project: String,
        known: Vec<String>,
    },
    /// `exec` found no running container of the service (or none numbered `index`), worded as
    /// `docker compose exec` words it.
    #[error(
        "service \"{service}\" is not running{}\n\
         Start it (berthctl up -d {service}), or pick a running replica with --index.",
        index.map(|i| format!(" container #{i}")).unwrap_or_default()
    )]
    NotRunning { service: String, index: Option<u32> },
    /// Several containers failed at once (a batch of stops or kills goes on past a failure).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<StackError>),
    #[error(
        "cancelled; created before cancelling: {}\nRun up again to finish, or down to remove them.",
        if created.is_empty() { "nothing".to_owned() } else { created.join(", ") }
    )]
    Cancelled { created: Vec<String> },
    #[error("service {service}: {reason}\nFix its `develop:` section in the compose file.")]
    WatchConfig { service: String, reason: String },
    #[error(
        "none of the selected services{} is configured for watch\n\
         Add a `develop.watch` section to a service (see \
         https://docs.docker.com/compose/how-tos/file-watch/).",
        if services.is_empty() { String::new() } else { format!(" ({})", services.join(", ")) }
    )]
    NothingToWatch { services: Vec<String> },
    #[error("cannot watch {}: {reason}", path.display())]
    WatchPath {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Docker's restart count in words: "restarted 1 time", "restarted 4 times".
fn restarted(restarts: i64) -> String {
    let s = if restarts == 1 { "" } else { "s" };
    format!("restarted {restarts} time{s}")
}

/// What a failed request says to a user: the engine's own message, or why the engine could not
/// be reached; never the wording of the HTTP client underneath.
pub(crate) fn describe(e: &bollard::errors::Error) -> String {
    if let Some(reason) = lost(e) {
        return reason.to_owned();
    }
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        bollard::errors::Error::RequestTimeoutError => {
            "the engine did not answer in time".to_owned()
        }
        _ => e.to_string(),
    }
}

/// [`Error::Request`]'s message: a lost connection says so, with what to do.
fn request(endpoint: &Endpoint, action: &str, cause: &bollard::errors::Error) -> String {
    match lost(cause) {
        Some(reason) => Error::Lost {
            endpoint: endpoint.clone(),
            reason,
        }
        .to_string(),
        None => format!(
            "the Docker engine at {endpoint} failed to {action}: {}",
            describe(cause)
        ),
    }
}

/// Why the engine could not be talked to, when that is what went wrong: its socket is gone, it
/// refused the connection, or the connection broke mid-request (the engine stopped).
pub(crate) fn lost(e: &bollard::errors::Error) -> Option<&'static str> {
    use bollard::errors::Error as B;
    use std::io::ErrorKind;
    let io = |kind: ErrorKind| match kind {
        ErrorKind::NotFound => Some("its socket does not exist"),
        ErrorKind::ConnectionRefused => Some("connection refused"),
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => Some("the connection was cut"),
        _ => None,
    };
    match e {
        B::SocketNotFoundError(_) => Some("its socket does not exist"),
        B::IOError { err } => io(err.kind()),
        // The HTTP client's errors are all about the connection; the I/O error under one, if
        // any, says which way it failed.
        B::HyperLegacyError { .. } | B::HyperResponseError { .. } => {
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                if let Some(reason) = s
                    .downcast_ref::<std::io::Error>()
                    .and_then(|i| io(i.kind()))
                {
                    return Some(reason);
                }
                source = s.source();
            }
            Some("the connection failed")
        }
        _ => None,
    }
}

/// The outcome of a batch in which every item was attempted: all their errors, if any.
pub(crate) fn gather(
    results: impl IntoIterator<Item = Result<(), StackError>>,
) -> Result<(), StackError> {
    let mut errors: Vec<StackError> = results.into_iter().filter_map(Result::err).collect();
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(StackError::Several(errors)),
    }
}

/// The host port in Docker's "Bind for 0.0.0.0:8080 failed: port is already allocated" (or the
/// "address already in use" variant a non-Docker holder gives).
pub(crate) fn allocated_port(message: &str) -> Option<String> {
    if !(message.contains("port is already allocated")
        || message.contains("address already in use"))
    {
        return None;
    }
    let start = message.find("0.0.0.0:").map(|i| i + 8).or_else(|| {
        let i = message.find("Bind for ")? + 9;
        Some(i + message[i..].rfind(':')? + 1)
    })?;
    let port: String = message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!port.is_empty()).then_some(port)
}

/// The engine answered 404: the thing asked about does not exist.
pub(crate) fn not_found(e: &bollard::errors::Error) -> bool {
    status(e) == Some(404)
}

/// The engine answered 409: a name is taken, or the container is in the wrong state.
pub(crate) fn conflict(e: &bollard::errors::Error) -> bool {
    status(e) == Some(409)
}

/// The engine answered 409 because the container is not running (a kill of a stopped one).
pub(crate) fn not_running(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, message }
        if message.contains("is not running"))
}

/// The engine answered 304: the container already is in the state asked for.
pub(crate) fn not_modified(e: &bollard::errors::Error) -> bool {
    status(e) == Some(304)
}

fn status(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_read_from_dockers_messages() {
        let m = "driver failed programming external connectivity on endpoint x (abc): \
                 Bind for 0.0.0.0:18080 failed: port is already allocated";
        assert_eq!(allocated_port(m).as_deref(), Some("18080"));
        let m =
            "Error starting userland proxy: listen tcp4 0.0.0.0:6000: bind: address already in use";
        assert_eq!(allocated_port(m).as_deref(), Some("6000"));
        assert_eq!(allocated_port("no such image"), None);
    }

    #[test]
    fn a_broken_connection_is_named_and_the_engines_answer_is_its_own_words() {
        let io = |kind| bollard::errors::Error::IOError {
            err: std::io::Error::new(kind, "os words"),
        };
        assert_eq!(
            lost(&io(std::io::ErrorKind::ConnectionRefused)),
            Some("connection refused")
        );
        assert_eq!(
            lost(&io(std::io::ErrorKind::UnexpectedEof)),
            Some("the connection was cut")
        );
        assert_eq!(lost(&io(std::io::ErrorKind::InvalidData)), None);
        let refused = Error::Request {
            endpoint: Endpoint("unix:///run/x.sock".into()),
            action: "list containers",
            cause: io(std::io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(
            refused.to_string(),
            "lost the connection to the Docker engine at unix:///run/x.sock (connection refused); \
             is it running?\nStart it, or wait until it is back, then run the command again."
        );
        let answered = bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message: "Container abc is not running".into(),
        };
        assert_eq!(describe(&answered), "Container abc is not running");
        assert!(not_running(&answered));
    }
}

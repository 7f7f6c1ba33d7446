//! The one error every IPC command returns: the words the user reads (`message`) and, where the
//! page can act on it, the data behind them: the service a failure is about, and the ports of a
//! port conflict with what holds each, so the services table can mark those rows.

use std::fmt;

use berth_engine::StackError;
use berth_engine::ports::PortConflict;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, rename = "IpcError")]
pub struct Error {
    pub kind: ErrorKind,
    /// What went wrong and what to do, as the user reads it.
    pub message: String,
    /// The service it is about, when it is about one.
    pub service: Option<String>,
    /// A port conflict's host ports, each with its service and what holds it.
    pub ports: Vec<PortConflict>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorKind {
    /// A host port the file publishes is held by something else.
    PortConflict,
    /// The Docker engine cannot be reached, or failed a request.
    Engine,
    /// The stack did not reach the state asked for (a service, a dependency, a network).
    Stack,
    /// The user cancelled, or did not confirm.
    Cancelled,
    /// The request names what the open project or the settings do not have or allow.
    Invalid,
    /// Not now: no engine yet, the compose file has errors, or another action is running.
    NotReady,
    /// A file could not be read or written.
    File,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            service: None,
            ports: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, message)
    }

    pub fn not_ready(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotReady, message)
    }

    pub fn file(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::File, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<berth_engine::Error> for Error {
    fn from(e: berth_engine::Error) -> Error {
        Error::new(ErrorKind::Engine, e.to_string())
    }
}

impl From<berth_engine::swarm::SwarmError> for Error {
    fn from(e: berth_engine::swarm::SwarmError) -> Error {
        use berth_engine::swarm::SwarmError as S;
        match e {
            S::Engine(e) => e.into(),
            e @ S::NotManager { .. } => Error::not_ready(e.to_string()),
            e => Error::new(ErrorKind::Stack, e.to_string()),
        }
    }
}

impl From<StackError> for Error {
    fn from(e: StackError) -> Error {
        let message = e.to_string();
        match e {
            StackError::Engine(e) => e.into(),
            StackError::PortsInUse(ports) => Error {
                ports: ports.0,
                ..Error::new(ErrorKind::PortConflict, message)
            },
            // Docker's own late "port is already allocated": the service, but no holder.
            StackError::PortAllocated { service, .. } => Error {
                service: Some(service),
                ..Error::new(ErrorKind::PortConflict, message)
            },
            StackError::Cancelled { .. } => Error::new(ErrorKind::Cancelled, message),
            StackError::NoSuchService { service, .. } => Error {
                service: Some(service),
                ..Error::invalid(message)
            },
            // compose's words, but the window's fix rather than berthctl's flags.
            StackError::NotRunning { service, .. } => Error {
                service: Some(service),
                ..Error::new(ErrorKind::Stack, not_running_here(&message))
            },
            e => Error {
                service: service(&e).map(str::to_owned),
                ..Error::new(ErrorKind::Stack, message)
            },
        }
    }
}

/// [`StackError::NotRunning`]'s first line, and what to do in the window.
fn not_running_here(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    format!("{first}\nStart it, then try again.")
}

/// The service a stack failure is about, when it is one.
fn service(e: &StackError) -> Option<&str> {
    use StackError as S;
    match e {
        S::ImageMissing { service, .. }
        | S::Build { service, .. }
        | S::DependencyUnhealthy { service, .. }
        | S::DependencyFailed { service, .. }
        | S::DependencyTimeout { service, .. }
        | S::DependencyExited { service, .. }
        | S::DependencyRestarting { service, .. }
        | S::DependencyNotStarted { service, .. }
        | S::Exited { service, .. }
        | S::Restarting { service, .. }
        | S::Unhealthy { service, .. }
        | S::Docker { service, .. }
        | S::FileVariableUnset { service, .. }
        | S::FileMissing { service, .. }
        | S::NothingToBuild { service } => Some(service),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use berth_engine::ports::{Holder, PortsInUse};

    use super::*;

    #[test]
    fn a_port_conflict_carries_its_ports_and_a_failure_its_service() {
        let conflict = PortConflict {
            service: "web".into(),
            host_ip: String::new(),
            host_port: 8080,
            protocol: "tcp".into(),
            holder: Holder::Process {
                pid: Some(42),
                command: Some("nc".into()),
            },
        };
        let e = Error::from(StackError::PortsInUse(PortsInUse(vec![conflict.clone()])));
        assert_eq!(e.kind, ErrorKind::PortConflict);
        assert_eq!(e.ports, vec![conflict]);
        assert!(e.message.contains("host port 8080/tcp"), "{}", e.message);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "port_conflict");
        assert_eq!(json["ports"][0]["holder"]["kind"], "process");

        let e = Error::from(StackError::Exited {
            service: "db".into(),
            container: "shop-db-1".into(),
            exit_code: 3,
        });
        assert_eq!(
            (e.kind, e.service.as_deref()),
            (ErrorKind::Stack, Some("db"))
        );

        // The stack checks the names an action gives: one it lacks is the request's fault.
        let e = Error::from(StackError::NoSuchService {
            service: "postgres".into(),
            project: "shop".into(),
            known: vec!["web".into()],
        });
        assert_eq!(
            (e.kind, e.service.as_deref()),
            (ErrorKind::Invalid, Some("postgres"))
        );
        assert!(
            e.message.contains("The services of shop are: web"),
            "{}",
            e.message
        );
    }

    #[test]
    fn not_running_reads_as_compose_words_it_with_the_window_s_fix() {
        let e = Error::from(StackError::NotRunning {
            service: "db".into(),
            index: None,
        });
        assert_eq!(
            (e.kind, e.service.as_deref()),
            (ErrorKind::Stack, Some("db"))
        );
        assert_eq!(
            e.message,
            "service \"db\" is not running\nStart it, then try again."
        );
    }
}

//! A host port the file asks for that something else holds, and the error that names them all
//! with the fix. A leaf: the engine's error type carries it without reaching the port checks.

use std::fmt;

use serde::Serialize;
use ts_rs::TS;

/// A host port the file asks for that is already held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PortConflict {
    /// The file's service that publishes it.
    pub service: String,
    pub host_ip: String,
    pub host_port: u16,
    pub protocol: String,
    pub holder: Holder,
}

/// What holds a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Holder {
    /// A running container; `project` and `service` when compose (or Berth) made it.
    Container {
        name: String,
        project: Option<String>,
        service: Option<String>,
    },
    /// A process of this machine; `pid` and `command` when /proc tells (it does not for other
    /// users' processes without privileges).
    Process {
        pid: Option<u32>,
        command: Option<String>,
    },
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Container {
                name,
                project: Some(project),
                ..
            } => write!(f, "container {name} of compose project {project}"),
            Holder::Container { name, .. } => write!(f, "container {name}"),
            Holder::Process {
                pid: Some(pid),
                command: Some(command),
            } => write!(f, "process {command} (pid {pid})"),
            Holder::Process { pid: Some(pid), .. } => write!(f, "process {pid}"),
            Holder::Process { .. } => f.write_str("a process of another user"),
        }
    }
}

impl Holder {
    /// What to run to free the port.
    fn fix(&self) -> String {
        match self {
            Holder::Container {
                project: Some(project),
                service: Some(service),
                ..
            } => format!("docker compose -p {project} stop {service}"),
            Holder::Container { name, .. } => format!("docker stop {name}"),
            Holder::Process { pid: Some(pid), .. } => format!("kill {pid}"),
            Holder::Process { .. } => "stop the program listening on it".to_owned(),
        }
    }
}

/// `up` refused to start: host ports the file asks for are held.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PortsInUse(pub Vec<PortConflict>);

impl fmt::Display for PortsInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let ip = match c.host_ip.as_str() {
                "" => String::new(),
                ip if ip.contains(':') => format!("[{ip}]:"),
                ip => format!("{ip}:"),
            };
            write!(
                f,
                "service {}: host port {ip}{}/{} is already in use by {}\n\
                 Stop it ({}), or publish {} on another host port in the compose file.",
                c.service,
                c.host_port,
                c.protocol,
                c.holder,
                c.holder.fix(),
                c.service
            )?;
        }
        Ok(())
    }
}

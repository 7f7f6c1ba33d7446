//! A project's containers as the engine reports them, in the shape Berth shows them.

use std::collections::HashMap;

use bollard::models::{
    ContainerInspectResponse, ContainerSummary, ContainerSummaryStateEnum, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
};
use serde::Serialize;
use ts_rs::TS;

use crate::container_state::{ContainerState, Health};
use crate::error::{StackError, not_found, not_modified, not_running};
use crate::progress::Progress;
use crate::{Engine, labels, names};

/// One container of a service: what the state model holds and `ps` prints.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u32,
    /// A `docker compose run` container.
    pub oneoff: bool,
    /// Serialized in Docker's words, as `docker compose ps --format json` prints it.
    pub state: ContainerState,
    /// None without a health check.
    pub health: Option<Health>,
    /// The output of the latest health checks, oldest first.
    pub health_log: Vec<String>,
    pub exit_code: i64,
    /// Whether its current stop or exit was asked for (by Berth, the docker CLI or docker
    /// compose) rather than a crash or the process ending by itself; cleared when it starts.
    pub stop_requested: bool,
    /// The kernel's OOM killer ended it.
    pub oom_killed: bool,
    pub restart_count: i64,
    /// When it last started (RFC 3339), for its uptime; empty if it never ran.
    pub started_at: String,
    pub image: String,
    pub image_id: String,
    pub command: String,
    pub ports: Vec<Publisher>,
    pub labels: HashMap<String, String>,
}

/// A container port: published on `host_ip:host_port`, or only exposed (`host_port` 0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[ts(export)]
pub struct Publisher {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
    /// `http://localhost:PORT` when the container port is one HTTP servers usually listen on.
    pub url: Option<String>,
}

/// Container ports that are usually HTTP; a published one gets a URL to open.
const HTTP_PORTS: &[u16] = &[
    80, 443, 3000, 4200, 5000, 5173, 8000, 8080, 8081, 8443, 8888, 9000,
];

impl Container {
    pub fn running(&self) -> bool {
        self.state == ContainerState::Running
    }

    /// It is down because someone asked for it to stop (not a crash, not restarting).
    pub fn stopped_on_request(&self) -> bool {
        !self.running() && self.state != ContainerState::Restarting && self.stop_requested
    }

    /// The container's config hash label.
    pub fn config_hash(&self) -> Option<&str> {
        self.labels.get(labels::CONFIG_HASH).map(String::as_str)
    }

    /// From the engine's inspect answer; `host` is where its published ports are reached
    /// (`None`: localhost), for their links.
    pub fn from_inspect(c: &ContainerInspectResponse, host: Option<&str>) -> Container {
        let config = c.config.clone().unwrap_or_default();
        let labels = config.labels.clone().unwrap_or_default();
        let state = c.state.clone().unwrap_or_default();
        let health = state.health.clone().unwrap_or_default();
        let ports = c
            .network_settings
            .as_ref()
            .and_then(|n| n.ports.clone())
            .unwrap_or_default();
        let mut publishers: Vec<Publisher> = ports
            .iter()
            .flat_map(|(key, bindings)| {
                let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
                let container_port: u16 = port.parse().unwrap_or(0);
                let published: Vec<Publisher> = bindings
                    .iter()
                    .flatten()
                    .filter_map(|b| {
                        let host_port: u16 = b.host_port.as_deref()?.parse().ok()?;
                        let ip = b.host_ip.clone().unwrap_or_default();
                        Some(publisher(host, ip, host_port, container_port, protocol))
                    })
                    .collect();
                // Exposed but not published: listed with host port 0, as compose lists it.
                if published.is_empty() {
                    vec![publisher(host, String::new(), 0, container_port, protocol)]
                } else {
                    published
                }
            })
            .collect();
        publishers.sort();
        let status = ContainerState::from_docker(state.status);
        let restart = c
            .host_config
            .as_ref()
            .and_then(|h| h.restart_policy.as_ref())
            .and_then(|r| r.name);
        // The engine keeps no record of who stopped a container, but it restarts every
        // container with these policies unless someone stopped it. The state model refines this
        // from the engine's recent events.
        let stop_requested = status == ContainerState::Exited
            && matches!(
                restart,
                Some(RestartPolicyNameEnum::ALWAYS | RestartPolicyNameEnum::UNLESS_STOPPED)
            );
        let mut command: Vec<String> = c.path.iter().cloned().collect();
        command.extend(c.args.iter().flatten().cloned());
        Container {
            id: c.id.clone().unwrap_or_default(),
            name: names::trim_slash(c.name.as_deref().unwrap_or_default()).to_owned(),
            service: labels.get(labels::SERVICE).cloned().unwrap_or_default(),
            number: labels::container_number(&labels).unwrap_or(0),
            oneoff: labels::is_oneoff(&labels),
            state: status,
            health: Health::from_docker(health.status),
            health_log: health
                .log
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.output)
                .map(|o| o.trim_end().to_owned())
                .collect(),
            exit_code: state.exit_code.unwrap_or(0),
            stop_requested,
            oom_killed: state.oom_killed.unwrap_or(false),
            restart_count: c.restart_count.unwrap_or(0),
            started_at: state
                .started_at
                .filter(|s| !s.starts_with("0001-"))
                .unwrap_or_default(),
            image: config.image.unwrap_or_default(),
            image_id: c.image.clone().unwrap_or_default(),
            command: command.join(" "),
            ports: publishers,
            labels,
        }
    }

    /// The last health check's output, for error messages.
    pub fn last_health_output(&self) -> String {
        self.health_log.last().cloned().unwrap_or_default()
    }
}

fn publisher(
    host: Option<&str>,
    host_ip: String,
    host_port: u16,
    container_port: u16,
    protocol: &str,
) -> Publisher {
    let http = protocol == "tcp" && host_port != 0 && HTTP_PORTS.contains(&container_port);
    let url = http.then(|| {
        let scheme = if matches!(container_port, 443 | 8443) {
            "https"
        } else {
            "http"
        };
        match host {
            Some(h) if h.contains(':') => format!("{scheme}://[{h}]:{host_port}"),
            Some(h) => format!("{scheme}://{h}:{host_port}"),
            None => format!("{scheme}://localhost:{host_port}"),
        }
    });
    Publisher {
        host_ip,
        host_port,
        container_port,
        protocol: protocol.to_owned(),
        url,
    }
}

/// The project's containers as listed (one call, no inspect): ids, names, labels and states.
pub(crate) async fn list(
    engine: &Engine,
    project: &str,
) -> Result<Vec<ContainerSummary>, bollard::errors::Error> {
    list_filtered(engine, project, None).await
}

async fn list_filtered(
    engine: &Engine,
    project: &str,
    service: Option<&str>,
) -> Result<Vec<ContainerSummary>, bollard::errors::Error> {
    let mut filters = labels::filters(project);
    if let Some(service) = service {
        filters
            .entry("label".to_owned())
            .or_default()
            .push(format!("{}={service}", labels::SERVICE));
    }
    engine
        .docker()
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
}

/// The project's containers, inspected, sorted by service and number.
pub async fn inspect_all(
    engine: &Engine,
    project: &str,
) -> Result<Vec<Container>, bollard::errors::Error> {
    inspect(engine, project, None).await
}

/// The containers of one service (one-offs included), inspected.
pub async fn inspect_service(
    engine: &Engine,
    project: &str,
    service: &str,
) -> Result<Vec<Container>, bollard::errors::Error> {
    inspect(engine, project, Some(service)).await
}

async fn inspect(
    engine: &Engine,
    project: &str,
    service: Option<&str>,
) -> Result<Vec<Container>, bollard::errors::Error> {
    let listed = list_filtered(engine, project, service).await?;
    inspect_listed(engine, &listed).await
}

/// The containers of a listing, inspected, sorted by service and number.
pub async fn inspect_listed(
    engine: &Engine,
    listed: &[ContainerSummary],
) -> Result<Vec<Container>, bollard::errors::Error> {
    let inspects = futures_util::future::join_all(listed.iter().filter_map(|c| {
        let id = c.id.clone()?;
        Some(async move { engine.docker().inspect_container(&id, None).await })
    }))
    .await;
    let mut out = Vec::with_capacity(inspects.len());
    for inspected in inspects {
        match inspected {
            Ok(c) => out.push(Container::from_inspect(&c, engine.port_host().as_deref())),
            // A container removed between the list and the inspect is simply gone.
            Err(e) if not_found(&e) => {}
            // Anything else (the engine went away) is no answer: never "no containers".
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| {
        (&a.service, a.oneoff, a.number, &a.name).cmp(&(&b.service, b.oneoff, b.number, &b.name))
    });
    Ok(out)
}

/// Summary fields Berth reads from a list entry.
pub(crate) struct Listed {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u32,
    pub oneoff: bool,
    pub running: bool,
    pub labels: HashMap<String, String>,
    pub image_id: String,
}

impl Listed {
    pub fn from_summary(c: ContainerSummary) -> Listed {
        let labels = c.labels.unwrap_or_default();
        Listed {
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .map(|n| names::trim_slash(&n).to_owned())
                .unwrap_or_default(),
            service: labels.get(labels::SERVICE).cloned().unwrap_or_default(),
            number: labels::container_number(&labels).unwrap_or(0),
            oneoff: labels::is_oneoff(&labels),
            running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
            image_id: c.image_id.unwrap_or_default(),
            labels,
        }
    }
}

/// Starts a container; a port another holds is named with its holder.
pub(crate) async fn start_container(
    engine: &Engine,
    service: &str,
    id: &str,
    name: &str,
    progress: &Progress,
) -> Result<(), StackError> {
    progress.container(name, "Starting");
    match engine.docker().start_container(id, None).await {
        Ok(()) => {}
        Err(e) if not_modified(&e) => {}
        Err(e) => {
            let mut err = StackError::docker(engine, service, format!("start container {name}"), e);
            if let StackError::PortAllocated { port, holder, .. } = &mut err {
                *holder = port_holder(engine, port, id).await;
            }
            return Err(err);
        }
    }
    progress.container(name, "Started");
    Ok(())
}

/// The container (other than `except`) that publishes host port `port`, if one does.
async fn port_holder(engine: &Engine, port: &str, except: &str) -> Option<String> {
    let filters = HashMap::from([("publish".to_owned(), vec![port.to_owned()])]);
    let list = engine
        .docker()
        .list_containers(Some(ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .ok()?;
    list.into_iter()
        .filter(|c| c.id.as_deref() != Some(except))
        .find_map(|c| c.names?.into_iter().next())
        .map(|n| names::trim_slash(&n).to_owned())
}

/// Stops a container; one already stopped or gone counts as stopped.
pub(crate) async fn stop_container(
    engine: &Engine,
    service: &str,
    id: &str,
    name: &str,
    timeout: Option<i64>,
    progress: &Progress,
) -> Result<(), StackError> {
    progress.container(name, "Stopping");
    let options = StopContainerOptions {
        t: timeout.map(|t| t as i32),
        ..Default::default()
    };
    match engine.docker().stop_container(id, Some(options)).await {
        Ok(()) => {}
        // Already stopped, or gone: what a stop is for.
        Err(e) if not_modified(&e) || not_found(&e) || not_running(&e) => {}
        Err(e) => {
            return Err(StackError::docker(
                engine,
                service,
                format!("stop container {name}"),
                e,
            ));
        }
    }
    progress.container(name, "Stopped");
    Ok(())
}

/// Stops and removes a container; one already gone counts as removed.
pub(crate) async fn remove_container(
    engine: &Engine,
    service: &str,
    id: &str,
    name: &str,
    timeout: Option<i64>,
    progress: &Progress,
) -> Result<(), StackError> {
    stop_container(engine, service, id, name, timeout, progress).await?;
    progress.container(name, "Removing");
    let options = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    match engine.docker().remove_container(id, Some(options)).await {
        Ok(()) => {}
        Err(e) if not_found(&e) => {}
        Err(e) => {
            return Err(StackError::docker(
                engine,
                service,
                format!("remove container {name}"),
                e,
            ));
        }
    }
    progress.container(name, "Removed");
    Ok(())
}

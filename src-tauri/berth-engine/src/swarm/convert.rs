//! A compose project as the Swarm objects `docker stack deploy` makes of it (docker/cli
//! `cli/compose/convert`): services `<ns>_<svc>`, networks, secrets and configs `<ns>_<key>`
//! unless the file names them, each labelled with its namespace. Pure: no engine, no files.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use berth_compose::{FileObject, Project, Service};
use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, Limit, Mount, MountType, MountVolumeOptions,
    MountVolumeOptionsDriverConfig, NetworkAttachmentConfig, NetworkCreateRequest, ResourceObject,
    ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecRollbackConfig,
    ServiceSpecRollbackConfigFailureActionEnum, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecDnsConfig, TaskSpecContainerSpecFile,
    TaskSpecContainerSpecFile1, TaskSpecContainerSpecPrivileges, TaskSpecContainerSpecSecrets,
    TaskSpecPlacement, TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use serde_json::Value as Json;

use super::SwarmError;
use crate::create::{duration_ns, file_mode, healthcheck, string_map, ulimits};
use crate::limits::{bytes, float, integer};

/// The label docker/cli puts on everything of a stack.
pub const NAMESPACE_LABEL: &str = "com.docker.stack.namespace";
/// The image the file names, on the service: `--resolve-image changed` compares with it.
pub const IMAGE_LABEL: &str = "com.docker.stack.image";

/// Service keys Swarm ignores, as docker/cli lists them (`types.UnsupportedProperties`).
const UNSUPPORTED: [&str; 16] = [
    "build",
    "cgroupns_mode",
    "cgroup_parent",
    "devices",
    "domainname",
    "external_links",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "restart",
    "security_opt",
    "shm_size",
    "userns_mode",
];

/// Service keys removed from the v3 format, with docker/cli's words (`types.DeprecatedProperties`).
const DEPRECATED: [(&str, &str); 2] = [
    (
        "container_name",
        "Setting the container name is not supported.",
    ),
    (
        "expose",
        "Exposing ports is unnecessary - services on the same network can access each other's \
         containers on any port.",
    ),
];

/// A secret or config to create from a file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileSpec {
    pub key: String,
    pub name: String,
    /// Whether the file gave it its name (`name:`): then it is not versioned by content.
    pub named: bool,
    pub labels: HashMap<String, String>,
    pub file: PathBuf,
}

/// Everything a stack deploy creates or updates.
#[derive(Debug, Clone)]
pub(crate) struct Stack {
    /// Networks to create, by name.
    pub networks: BTreeMap<String, NetworkCreateRequest>,
    /// Networks the file declares external: they must exist, swarm-scoped.
    pub external_networks: Vec<String>,
    pub secrets: Vec<FileSpec>,
    pub configs: Vec<FileSpec>,
    /// By the file's service name; secret and config references carry names, not ids yet.
    pub services: BTreeMap<String, ServiceSpec>,
    /// What the file asks for that Swarm ignores, worded as `docker stack deploy` words it.
    pub warnings: Vec<String>,
}

/// A filter selecting the objects of stack `namespace`.
pub(crate) fn namespace_filter(namespace: &str) -> HashMap<&'static str, Vec<String>> {
    HashMap::from([("label", vec![format!("{NAMESPACE_LABEL}={namespace}")])])
}

/// `<namespace>_<name>`.
pub fn scope(namespace: &str, name: &str) -> String {
    format!("{namespace}_{name}")
}

fn stack_labels(namespace: &str, labels: HashMap<String, String>) -> HashMap<String, String> {
    let mut labels = labels;
    labels.insert(NAMESPACE_LABEL.to_owned(), namespace.to_owned());
    labels
}

/// The name of a network, volume, secret or config: the file's `name:` if it gave one, else
/// `<ns>_<key>`. The loader fills `name` with `<project>_<key>` when the file gave none.
fn object_name(project: &Project, namespace: &str, key: &str, name: &str) -> String {
    if name.is_empty() || name == scope(&project.name, key) {
        scope(namespace, key)
    } else {
        name.to_owned()
    }
}

/// Labels written as a map or as a `KEY=value` list.
fn labels(v: Option<&Json>) -> HashMap<String, String> {
    match v {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(Json::as_str)
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        Some(v) => string_map(v).unwrap_or_default(),
        None => HashMap::new(),
    }
}

pub(crate) fn stack(project: &Project, namespace: &str) -> Result<Stack, SwarmError> {
    let mut stack = Stack {
        networks: BTreeMap::new(),
        external_networks: Vec::new(),
        secrets: file_specs(project, namespace, "secret", &project.secrets)?,
        configs: file_specs(project, namespace, "config", &project.configs)?,
        services: BTreeMap::new(),
        warnings: warnings(project),
    };
    for key in used_networks(project) {
        let network = project.networks.get(&key);
        if network.is_some_and(|n| n.external == Some(true)) {
            let name = network.map(|n| n.name.clone()).unwrap_or_default();
            stack.external_networks.push(name);
            continue;
        }
        let name = object_name(
            project,
            namespace,
            &key,
            network.map_or("", |n| n.name.as_str()),
        );
        stack
            .networks
            .insert(name.clone(), network_spec(namespace, name, network));
    }
    for (key, service) in &project.services {
        stack
            .services
            .insert(key.clone(), service_spec(project, namespace, key, service)?);
    }
    Ok(stack)
}

/// The networks the services are on (`default` for a service that names none).
fn used_networks(project: &Project) -> Vec<String> {
    let mut keys: Vec<String> = project
        .services
        .values()
        .flat_map(|s| {
            if s.networks.is_empty() {
                vec!["default".to_owned()]
            } else {
                s.networks.keys().cloned().collect()
            }
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn network_spec(
    namespace: &str,
    name: String,
    network: Option<&berth_compose::Network>,
) -> NetworkCreateRequest {
    let extra = |k: &str| network.and_then(|n| n.extra.get(k));
    NetworkCreateRequest {
        name,
        // docker stack's default driver: an overlay spans the Swarm's nodes.
        driver: Some(
            network
                .and_then(|n| n.driver.clone())
                .unwrap_or_else(|| "overlay".to_owned()),
        ),
        labels: Some(stack_labels(namespace, labels(extra("labels")))),
        options: extra("driver_opts").and_then(string_map),
        internal: extra("internal").and_then(Json::as_bool),
        attachable: extra("attachable").and_then(Json::as_bool),
        ipam: extra("ipam").and_then(ipam),
        ..Default::default()
    }
}

fn ipam(v: &Json) -> Option<bollard::models::Ipam> {
    let driver = v.get("driver").and_then(Json::as_str).map(str::to_owned);
    let config: Vec<bollard::models::IpamConfig> = v
        .get("config")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|c| bollard::models::IpamConfig {
            subnet: c.get("subnet").and_then(Json::as_str).map(str::to_owned),
            ..Default::default()
        })
        .collect();
    (driver.is_some() || !config.is_empty()).then(|| bollard::models::Ipam {
        driver,
        config: (!config.is_empty()).then_some(config),
        ..Default::default()
    })
}

fn file_specs(
    project: &Project,
    namespace: &str,
    kind: &'static str,
    objects: &BTreeMap<String, FileObject>,
) -> Result<Vec<FileSpec>, SwarmError> {
    let mut out = Vec::new();
    for (key, object) in objects {
        if object.external == Some(true) {
            continue;
        }
        let Some(file) = &object.file else {
            return Err(SwarmError::Invalid {
                service: format!("{kind} {key}"),
                reason: format!(
                    "a Swarm {kind} takes its value from a file: give it `file:` (or declare it \
                     `external: true` and create it with `docker {kind} create`)"
                ),
            });
        };
        out.push(FileSpec {
            key: key.clone(),
            name: object_name(project, namespace, key, &object.name),
            named: !(object.name.is_empty() || object.name == scope(&project.name, key)),
            labels: stack_labels(namespace, labels(object.extra.get("labels"))),
            file: project.working_dir.join(file),
        });
    }
    Ok(out)
}

/// What the file sets that Swarm ignores: docker/cli's two messages.
fn warnings(project: &Project) -> Vec<String> {
    let mut unsupported: Vec<&str> = Vec::new();
    let mut deprecated: BTreeMap<&str, &str> = BTreeMap::new();
    for service in project.services.values() {
        let set = |key: &str| match key {
            "build" => service.build.is_some(),
            "restart" => service.restart.is_some(),
            "network_mode" => service.network_mode.is_some(),
            "container_name" => service.container_name.is_some(),
            "expose" => !service.expose.is_empty(),
            k => service.extra.contains_key(k),
        };
        unsupported.extend(UNSUPPORTED.iter().filter(|k| set(k)));
        // Swarm starts every service at once: a condition to wait for is not kept (docker's
        // loader refuses the long form outright; the plain list it ignores, as Berth does).
        if (service.depends_on.values()).any(|d| d.condition != "service_started") {
            unsupported.push("depends_on");
        }
        deprecated.extend(DEPRECATED.iter().filter(|(k, _)| set(k)).copied());
    }
    unsupported.sort_unstable();
    unsupported.dedup();
    let mut out = Vec::new();
    if !unsupported.is_empty() {
        out.push(format!(
            "Ignoring unsupported options: {}",
            unsupported.join(", ")
        ));
    }
    if !deprecated.is_empty() {
        let lines: Vec<String> = deprecated
            .iter()
            .map(|(k, d)| format!("{k}: {d}"))
            .collect();
        out.push(format!(
            "Ignoring deprecated options:\n\n{}",
            lines.join("\n\n")
        ));
    }
    out
}

fn service_spec(
    project: &Project,
    namespace: &str,
    key: &str,
    service: &Service,
) -> Result<ServiceSpec, SwarmError> {
    let invalid = |reason: String| SwarmError::Invalid {
        service: key.to_owned(),
        reason,
    };
    let image = service
        .image
        .clone()
        .ok_or_else(|| invalid("invalid image reference: no image specified".to_owned()))?;
    let deploy = service.deploy.as_ref();
    let deploy_key = |k: &str| deploy.and_then(|d| d.extra.get(k));
    let mut service_labels = stack_labels(namespace, labels(deploy_key("labels")));
    service_labels.insert(IMAGE_LABEL.to_owned(), image.clone());
    let extra = |k: &str| service.extra.get(k);
    let container = TaskSpecContainerSpec {
        image: Some(image),
        command: service.entrypoint.clone(),
        args: service.command.clone(),
        hostname: extra("hostname").and_then(Json::as_str).map(str::to_owned),
        hosts: extra("extra_hosts").map(hosts),
        dns_config: dns_config(service),
        health_check: service.healthcheck.as_ref().map(healthcheck),
        env: Some(environment(service)),
        labels: Some(stack_labels(
            namespace,
            service.labels.clone().into_iter().collect(),
        )),
        dir: service.working_dir.clone(),
        user: service.user.clone(),
        mounts: Some(mounts(project, namespace, service)),
        stop_grace_period: service.stop_grace_period.as_deref().and_then(duration_ns),
        stop_signal: service.stop_signal.clone(),
        tty: service.tty,
        open_stdin: service.stdin_open,
        secrets: Some(secrets(project, namespace, service)),
        configs: Some(configs(project, namespace, service)),
        read_only: extra("read_only").and_then(Json::as_bool),
        privileges: Some(TaskSpecContainerSpecPrivileges::default()),
        init: service.init,
        sysctls: extra("sysctls").and_then(string_map),
        capability_add: extra("cap_add").map(strings),
        capability_drop: extra("cap_drop").map(strings),
        ulimits: extra("ulimits").map(ulimits),
        ..Default::default()
    };
    Ok(ServiceSpec {
        name: Some(scope(namespace, key)),
        labels: Some(service_labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            resources: Some(resources(deploy.and_then(|d| d.resources.as_ref()))),
            restart_policy: restart_policy(service, deploy_key("restart_policy"))
                .map_err(invalid)?,
            placement: Some(placement(deploy_key("placement"))),
            networks: Some(networks(project, namespace, key, service)),
            log_driver: extra("logging").map(|l| bollard::models::TaskSpecLogDriver {
                name: l.get("driver").and_then(Json::as_str).map(str::to_owned),
                options: l.get("options").and_then(string_map),
            }),
            ..Default::default()
        }),
        mode: Some(
            mode(
                deploy_key("mode").and_then(Json::as_str),
                deploy.and_then(|d| d.replicas),
            )
            .map_err(invalid)?,
        ),
        update_config: deploy_key("update_config").map(update_config),
        rollback_config: deploy_key("rollback_config").map(|v| {
            let u = update_config(v);
            ServiceSpecRollbackConfig {
                parallelism: u.parallelism,
                delay: u.delay,
                failure_action: u.failure_action.map(|a| match a {
                    ServiceSpecUpdateConfigFailureActionEnum::CONTINUE => {
                        ServiceSpecRollbackConfigFailureActionEnum::CONTINUE
                    }
                    _ => ServiceSpecRollbackConfigFailureActionEnum::PAUSE,
                }),
                monitor: u.monitor,
                max_failure_ratio: u.max_failure_ratio,
                order: u.order.map(|o| match o {
                    ServiceSpecUpdateConfigOrderEnum::START_FIRST => {
                        ServiceSpecRollbackConfigOrderEnum::START_FIRST
                    }
                    _ => ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
                }),
            }
        }),
        endpoint_spec: Some(endpoint_spec(
            deploy_key("endpoint_mode").and_then(Json::as_str),
            service,
        )),
        ..Default::default()
    })
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// Swarm's `IP host` form of `extra_hosts` (a `host:ip`/`host=ip` list or a map).
fn hosts(v: &Json) -> Vec<String> {
    match v {
        Json::Object(m) => m
            .iter()
            .map(|(h, ip)| format!("{} {h}", ip.as_str().unwrap_or_default()))
            .collect(),
        v => strings(v)
            .iter()
            .filter_map(|e| {
                let (h, ip) = e.split_once(['=', ':'])?;
                Some(format!("{ip} {h}"))
            })
            .collect(),
    }
}

fn dns_config(service: &Service) -> Option<TaskSpecContainerSpecDnsConfig> {
    let list = |k: &str| match service.extra.get(k) {
        Some(Json::String(s)) => vec![s.clone()],
        Some(v) => strings(v),
        None => Vec::new(),
    };
    let (dns, search) = (list("dns"), list("dns_search"));
    (!dns.is_empty() || !search.is_empty()).then(|| TaskSpecContainerSpecDnsConfig {
        nameservers: (!dns.is_empty()).then_some(dns),
        search: (!search.is_empty()).then_some(search),
        options: None,
    })
}

/// `KEY=value`, and a bare `KEY` for a variable set nowhere, sorted (docker/cli
/// `convertEnvironment`).
fn environment(service: &Service) -> Vec<String> {
    let mut env: Vec<String> = service
        .environment
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    env.sort();
    env
}

fn mounts(project: &Project, namespace: &str, service: &Service) -> Vec<Mount> {
    service
        .volumes
        .iter()
        .filter_map(|m| {
            let read_only = m.read_only.filter(|r| *r);
            let mount = match m.kind.as_str() {
                "bind" => Mount {
                    typ: Some(MountType::BIND),
                    source: m.source.clone(),
                    target: Some(m.target.clone()),
                    read_only,
                    ..Default::default()
                },
                "volume" => {
                    let named = m.source.as_deref().and_then(|s| project.volumes.get(s));
                    let source = match (m.source.as_deref(), named) {
                        (Some(_), Some(v)) if v.external == Some(true) => v.name.clone(),
                        (Some(key), Some(v)) => object_name(project, namespace, key, &v.name),
                        (source, _) => source.unwrap_or_default().to_owned(),
                    };
                    let options =
                        named
                            .filter(|v| v.external != Some(true))
                            .map(|v| MountVolumeOptions {
                                labels: Some(stack_labels(
                                    namespace,
                                    labels(v.extra.get("labels")),
                                )),
                                driver_config: v.driver.as_ref().map(|d| {
                                    MountVolumeOptionsDriverConfig {
                                        name: Some(d.clone()),
                                        options: v.extra.get("driver_opts").and_then(string_map),
                                    }
                                }),
                                ..Default::default()
                            });
                    Mount {
                        typ: Some(MountType::VOLUME),
                        source: (!source.is_empty()).then_some(source),
                        target: Some(m.target.clone()),
                        read_only,
                        volume_options: options,
                        ..Default::default()
                    }
                }
                "tmpfs" => Mount {
                    typ: Some(MountType::TMPFS),
                    target: Some(m.target.clone()),
                    read_only,
                    ..Default::default()
                },
                _ => return None,
            };
            Some(mount)
        })
        .collect()
}

/// A secret's or config's file in the container: owned by root, mode 0444 unless the file
/// says. The loader writes a target the file left out as the path it has in a container
/// (`/run/secrets/<source>`, `/<source>`); docker/cli sends the bare source, which Swarm puts
/// at that same path, so the bare source is sent for it too (or an update would follow).
fn file_target(used: &berth_compose::FileMount, dir: &str) -> (String, String, String, u32) {
    let field = |k: &str| {
        used.extra.get(k).map(|v| match v {
            Json::String(s) => s.clone(),
            v => v.to_string(),
        })
    };
    let target = match used.target.as_deref() {
        Some(t) if t != format!("{dir}{}", used.source) => t.to_owned(),
        _ => used.source.clone(),
    };
    (
        target,
        field("uid").unwrap_or_else(|| "0".to_owned()),
        field("gid").unwrap_or_else(|| "0".to_owned()),
        file_mode(used.extra.get("mode")).unwrap_or(0o444),
    )
}

fn reference_name(
    project: &Project,
    namespace: &str,
    objects: &BTreeMap<String, FileObject>,
    key: &str,
) -> String {
    match objects.get(key) {
        Some(o) if o.external == Some(true) => o.name.clone(),
        Some(o) => object_name(project, namespace, key, &o.name),
        None => scope(namespace, key),
    }
}

/// The service's secrets, sorted by name so a redeploy does not restart it (docker/cli).
fn secrets(
    project: &Project,
    namespace: &str,
    service: &Service,
) -> Vec<TaskSpecContainerSpecSecrets> {
    let mut out: Vec<TaskSpecContainerSpecSecrets> = service
        .secrets
        .iter()
        .map(|used| {
            let (name, uid, gid, mode) = file_target(used, "/run/secrets/");
            TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(name),
                    uid: Some(uid),
                    gid: Some(gid),
                    mode: Some(mode),
                }),
                secret_id: None,
                secret_name: Some(reference_name(
                    project,
                    namespace,
                    &project.secrets,
                    &used.source,
                )),
            }
        })
        .collect();
    out.sort_by(|a, b| a.secret_name.cmp(&b.secret_name));
    out
}

fn configs(
    project: &Project,
    namespace: &str,
    service: &Service,
) -> Vec<TaskSpecContainerSpecConfigs> {
    let mut out: Vec<TaskSpecContainerSpecConfigs> = service
        .configs
        .iter()
        .map(|used| {
            let (name, uid, gid, mode) = file_target(used, "/");
            TaskSpecContainerSpecConfigs {
                file: Some(TaskSpecContainerSpecFile1 {
                    name: Some(name),
                    uid: Some(uid),
                    gid: Some(gid),
                    mode: Some(mode),
                }),
                config_name: Some(reference_name(
                    project,
                    namespace,
                    &project.configs,
                    &used.source,
                )),
                ..Default::default()
            }
        })
        .collect();
    out.sort_by(|a, b| a.config_name.cmp(&b.config_name));
    out
}

fn resources(v: Option<&Json>) -> TaskSpecResources {
    let Some(v) = v else {
        return TaskSpecResources::default();
    };
    let cpus = |v: &Json| {
        v.get("cpus")
            .and_then(float)
            .map(|c| (c * 1e9).round() as i64)
    };
    let memory = |v: &Json| v.get("memory").and_then(bytes);
    TaskSpecResources {
        limits: v.get("limits").map(|l| Limit {
            nano_cpus: cpus(l),
            memory_bytes: memory(l),
            pids: l.get("pids").and_then(integer),
        }),
        reservations: v.get("reservations").map(|r| ResourceObject {
            nano_cpus: cpus(r),
            memory_bytes: memory(r),
            generic_resources: None,
        }),
        ..Default::default()
    }
}

/// `deploy.restart_policy`, else the service's `restart` as docker/cli reads it.
fn restart_policy(
    service: &Service,
    policy: Option<&Json>,
) -> Result<Option<TaskSpecRestartPolicy>, String> {
    use TaskSpecRestartPolicyConditionEnum as C;
    let ns = |v: &Json, k: &str| v.get(k).and_then(Json::as_str).and_then(duration_ns);
    if let Some(p) = policy {
        let condition = match p.get("condition").and_then(Json::as_str) {
            Some("none") => Some(C::NONE),
            Some("on-failure") => Some(C::ON_FAILURE),
            Some("any") => Some(C::ANY),
            Some(other) => {
                return Err(format!(
                    "invalid restart_policy condition \"{other}\" (must be none, on-failure or any)"
                ));
            }
            None => None,
        };
        return Ok(Some(TaskSpecRestartPolicy {
            condition,
            delay: ns(p, "delay"),
            max_attempts: p.get("max_attempts").and_then(integer),
            window: ns(p, "window"),
        }));
    }
    let Some(restart) = service.restart.as_deref() else {
        return Ok(None);
    };
    let (name, count) = restart.split_once(':').unwrap_or((restart, ""));
    let max_attempts = count.parse::<i64>().ok().filter(|c| *c > 0);
    let condition = match name {
        "no" | "" => return Ok(None),
        "always" | "unless-stopped" => C::ANY,
        "on-failure" => C::ON_FAILURE,
        other => {
            return Err(format!(
                "invalid restart policy: unknown policy '{other}' (must be one of 'no', 'always', \
                 'on-failure', or 'unless-stopped')"
            ));
        }
    };
    Ok(Some(TaskSpecRestartPolicy {
        condition: Some(condition),
        max_attempts,
        ..Default::default()
    }))
}

fn placement(v: Option<&Json>) -> TaskSpecPlacement {
    let Some(v) = v else {
        return TaskSpecPlacement::default();
    };
    let preferences: Vec<TaskSpecPlacementPreferences> = v
        .get("preferences")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|p| TaskSpecPlacementPreferences {
            spread: Some(TaskSpecPlacementSpread {
                spread_descriptor: p.get("spread").and_then(Json::as_str).map(str::to_owned),
            }),
        })
        .collect();
    TaskSpecPlacement {
        constraints: v.get("constraints").map(strings),
        preferences: (!preferences.is_empty()).then_some(preferences),
        max_replicas: v.get("max_replicas_per_node").and_then(integer),
        platforms: None,
    }
}

fn mode(mode: Option<&str>, replicas: Option<u64>) -> Result<ServiceSpecMode, String> {
    let replicated_only = "replicas can only be used with replicated or replicated-job mode";
    Ok(match mode.unwrap_or("replicated") {
        "replicated" | "" => ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: replicas.map(|r| r as i64),
            }),
            ..Default::default()
        },
        "global" if replicas.is_none() => ServiceSpecMode {
            global: Some(HashMap::new()),
            ..Default::default()
        },
        "global" => return Err(replicated_only.to_owned()),
        other => {
            return Err(format!(
                "unknown deploy mode: {other} (use replicated or global)"
            ));
        }
    })
}

fn update_config(v: &Json) -> ServiceSpecUpdateConfig {
    use ServiceSpecUpdateConfigFailureActionEnum as F;
    use ServiceSpecUpdateConfigOrderEnum as O;
    let ns = |k: &str| v.get(k).and_then(Json::as_str).and_then(duration_ns);
    ServiceSpecUpdateConfig {
        // docker/cli's default: one task at a time.
        parallelism: Some(v.get("parallelism").and_then(integer).unwrap_or(1)),
        delay: ns("delay"),
        failure_action: v
            .get("failure_action")
            .and_then(Json::as_str)
            .and_then(|a| match a {
                "continue" => Some(F::CONTINUE),
                "rollback" => Some(F::ROLLBACK),
                "pause" => Some(F::PAUSE),
                _ => None,
            }),
        monitor: ns("monitor"),
        max_failure_ratio: v.get("max_failure_ratio").and_then(float),
        order: v.get("order").and_then(Json::as_str).and_then(|o| match o {
            "start-first" => Some(O::START_FIRST),
            "stop-first" => Some(O::STOP_FIRST),
            _ => None,
        }),
    }
}

/// The service's networks by name, sorted; on user-defined ones it is known by its service
/// name besides the file's aliases (docker/cli `convertServiceNetworks`).
fn networks(
    project: &Project,
    namespace: &str,
    key: &str,
    service: &Service,
) -> Vec<NetworkAttachmentConfig> {
    let default = BTreeMap::from([("default".to_owned(), None)]);
    let used = if service.networks.is_empty() {
        &default
    } else {
        &service.networks
    };
    let mut out: Vec<NetworkAttachmentConfig> = used
        .iter()
        .map(|(net, attach)| {
            let target = match project.networks.get(net) {
                Some(n) if n.external == Some(true) => n.name.clone(),
                Some(n) => object_name(project, namespace, net, &n.name),
                None => scope(namespace, net),
            };
            let mut aliases: Vec<String> = attach
                .as_ref()
                .map(|a| a.aliases.clone())
                .unwrap_or_default();
            if !matches!(target.as_str(), "host" | "bridge" | "none" | "default") {
                aliases.push(key.to_owned());
            }
            NetworkAttachmentConfig {
                target: Some(target),
                aliases: Some(aliases),
                driver_opts: attach
                    .as_ref()
                    .and_then(|a| a.extra.get("driver_opts"))
                    .and_then(string_map),
            }
        })
        .collect();
    out.sort_by(|a, b| a.target.cmp(&b.target));
    out
}

/// Published ports through the ingress mesh (or `mode: host`), sorted as docker/cli sorts them.
fn endpoint_spec(endpoint_mode: Option<&str>, service: &Service) -> EndpointSpec {
    let mut ports: Vec<EndpointPortConfig> = service
        .ports
        .iter()
        .map(|p| EndpointPortConfig {
            protocol: Some(match p.protocol.as_deref() {
                Some("udp") => EndpointPortConfigProtocolEnum::UDP,
                Some("sctp") => EndpointPortConfigProtocolEnum::SCTP,
                _ => EndpointPortConfigProtocolEnum::TCP,
            }),
            target_port: Some(i64::from(p.target)),
            published_port: p.published.as_deref().and_then(|p| p.parse().ok()),
            publish_mode: Some(match p.mode.as_deref() {
                Some("host") => EndpointPortConfigPublishModeEnum::HOST,
                _ => EndpointPortConfigPublishModeEnum::INGRESS,
            }),
            name: None,
        })
        .collect();
    ports.sort_by_key(|p| {
        (
            p.published_port,
            p.target_port,
            p.protocol.map(|p| p.to_string()),
            p.publish_mode.map(|m| m.to_string()),
        )
    });
    EndpointSpec {
        mode: endpoint_mode.map(|m| match m.to_ascii_lowercase().as_str() {
            "dnsrr" => EndpointSpecModeEnum::DNSRR,
            _ => EndpointSpecModeEnum::VIP,
        }),
        ports: Some(ports),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_compose::LoadOptions;

    fn load(yaml: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        std::fs::write(dir.path().join("pw.txt"), "pw").unwrap();
        let mut options = LoadOptions::new(dir.path(), BTreeMap::new().into_iter().collect());
        options.project_name = Some("proj".to_owned());
        let project = berth_compose::load(&options).unwrap_or_else(|e| panic!("{}", e.render()));
        // The directory goes with the guard; the conversion reads no file.
        drop(dir);
        project
    }

    fn container(spec: &ServiceSpec) -> &TaskSpecContainerSpec {
        spec.task_template
            .as_ref()
            .unwrap()
            .container_spec
            .as_ref()
            .unwrap()
    }

    #[test]
    fn names_and_labels_are_docker_stacks() {
        let p = load(
            "services:\n  api:\n    image: busybox\n    labels: [tier=api]\n    deploy:\n      \
             labels: {team: core}\n  web:\n    image: nginx\n    networks: [front]\n\
             networks:\n  front:\n    attachable: true\n  named:\n    name: shared-net\n",
        );
        let stack = stack(&p, "ns").unwrap();
        let api = &stack.services["api"];
        assert_eq!(api.name.as_deref(), Some("ns_api"));
        let labels = api.labels.as_ref().unwrap();
        assert_eq!(labels[NAMESPACE_LABEL], "ns");
        assert_eq!(labels[IMAGE_LABEL], "busybox");
        assert_eq!(labels["team"], "core");
        let c = container(api);
        assert_eq!(c.labels.as_ref().unwrap()[NAMESPACE_LABEL], "ns");
        assert_eq!(c.labels.as_ref().unwrap()["tier"], "api");
        // A service on no network is on `<ns>_default`, known there by its name.
        let nets = api
            .task_template
            .as_ref()
            .unwrap()
            .networks
            .as_ref()
            .unwrap();
        assert_eq!(nets[0].target.as_deref(), Some("ns_default"));
        assert_eq!(nets[0].aliases.as_deref(), Some(&["api".to_owned()][..]));
        // Only the networks services use are created, as overlays unless the file says.
        assert_eq!(
            stack.networks.keys().collect::<Vec<_>>(),
            ["ns_default", "ns_front"]
        );
        assert_eq!(
            stack.networks["ns_front"].driver.as_deref(),
            Some("overlay")
        );
        assert_eq!(stack.networks["ns_front"].attachable, Some(true));
        assert_eq!(
            stack.networks["ns_front"].labels.as_ref().unwrap()[NAMESPACE_LABEL],
            "ns"
        );
    }

    #[test]
    fn deploy_keys_become_the_service_spec() {
        let p = load(
            "services:\n  api:\n    image: busybox\n    ports: ['8080:80', {target: 81, published: 8081, mode: host}]\n    \
             deploy:\n      replicas: 3\n      endpoint_mode: dnsrr\n      placement:\n        \
             constraints: [node.role == manager]\n        preferences: [{spread: node.labels.zone}]\n        \
             max_replicas_per_node: 2\n      resources:\n        limits: {cpus: '0.5', memory: 50M, pids: 10}\n        \
             reservations: {cpus: '0.25', memory: 20M}\n      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}\n      \
             update_config: {delay: 2s, failure_action: rollback, order: start-first}\n      \
             rollback_config: {parallelism: 2, monitor: 1s}\n  agent:\n    image: busybox\n    deploy:\n      mode: global\n",
        );
        let stack = stack(&p, "ns").unwrap();
        let api = &stack.services["api"];
        assert_eq!(
            api.mode
                .as_ref()
                .unwrap()
                .replicated
                .as_ref()
                .unwrap()
                .replicas,
            Some(3)
        );
        let t = api.task_template.as_ref().unwrap();
        let placement = t.placement.as_ref().unwrap();
        assert_eq!(
            placement.constraints.as_deref(),
            Some(&["node.role == manager".to_owned()][..])
        );
        assert_eq!(placement.max_replicas, Some(2));
        let spread = &placement.preferences.as_ref().unwrap()[0];
        assert_eq!(
            spread.spread.as_ref().unwrap().spread_descriptor.as_deref(),
            Some("node.labels.zone")
        );
        let r = t.resources.as_ref().unwrap();
        let limits = r.limits.as_ref().unwrap();
        assert_eq!(limits.nano_cpus, Some(500_000_000));
        assert_eq!(limits.memory_bytes, Some(50 << 20));
        assert_eq!(limits.pids, Some(10));
        assert_eq!(
            r.reservations.as_ref().unwrap().nano_cpus,
            Some(250_000_000)
        );
        let restart = t.restart_policy.as_ref().unwrap();
        assert_eq!(
            restart.condition,
            Some(TaskSpecRestartPolicyConditionEnum::ON_FAILURE)
        );
        assert_eq!(restart.delay, Some(5_000_000_000));
        assert_eq!(restart.max_attempts, Some(3));
        let update = api.update_config.as_ref().unwrap();
        // docker/cli's default parallelism is one task at a time.
        assert_eq!(update.parallelism, Some(1));
        assert_eq!(update.delay, Some(2_000_000_000));
        assert_eq!(
            update.failure_action,
            Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK)
        );
        assert_eq!(
            update.order,
            Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST)
        );
        let rollback = api.rollback_config.as_ref().unwrap();
        assert_eq!(
            (rollback.parallelism, rollback.monitor),
            (Some(2), Some(1_000_000_000))
        );
        let endpoint = api.endpoint_spec.as_ref().unwrap();
        assert_eq!(endpoint.mode, Some(EndpointSpecModeEnum::DNSRR));
        let ports: Vec<_> = endpoint
            .ports
            .iter()
            .flatten()
            .map(|p| (p.published_port, p.target_port, p.publish_mode))
            .collect();
        assert_eq!(
            ports,
            [
                (
                    Some(8080),
                    Some(80),
                    Some(EndpointPortConfigPublishModeEnum::INGRESS)
                ),
                (
                    Some(8081),
                    Some(81),
                    Some(EndpointPortConfigPublishModeEnum::HOST)
                ),
            ]
        );
        assert!(
            stack.services["agent"]
                .mode
                .as_ref()
                .unwrap()
                .global
                .is_some()
        );
    }

    #[test]
    fn a_global_service_with_replicas_is_refused_naming_it() {
        let p = load(
            "services:\n  agent:\n    image: busybox\n    deploy: {mode: global, replicas: 2}\n",
        );
        let err = stack(&p, "ns").unwrap_err().to_string();
        assert!(
            err.starts_with("service agent: replicas can only be used with replicated"),
            "{err}"
        );
    }

    #[test]
    fn restart_is_the_policy_when_deploy_gives_none() {
        let p = load(
            "services:\n  a:\n    image: busybox\n    restart: always\n  b:\n    image: busybox\n    \
             restart: on-failure:3\n  c:\n    image: busybox\n    restart: 'no'\n",
        );
        let stack = stack(&p, "ns").unwrap();
        let policy = |s: &str| {
            stack.services[s]
                .task_template
                .as_ref()
                .unwrap()
                .restart_policy
                .clone()
        };
        let a = policy("a").unwrap();
        assert_eq!(
            (a.condition, a.max_attempts),
            (Some(TaskSpecRestartPolicyConditionEnum::ANY), None)
        );
        let b = policy("b").unwrap();
        assert_eq!(
            (b.condition, b.max_attempts),
            (
                Some(TaskSpecRestartPolicyConditionEnum::ON_FAILURE),
                Some(3)
            )
        );
        assert!(policy("c").is_none());
    }

    #[test]
    fn keys_swarm_ignores_are_warned_about_in_docker_stacks_words() {
        let p = load(
            "services:\n  a:\n    image: busybox\n    build: .\n    restart: always\n    \
             container_name: xy\n    privileged: true\n    depends_on: [b]\n  b:\n    image: busybox\n    \
             expose: ['80']\n    depends_on: {c: {condition: service_healthy}}\n  c:\n    image: busybox\n",
        );
        assert_eq!(
            stack(&p, "ns").unwrap().warnings,
            [
                "Ignoring unsupported options: build, depends_on, privileged, restart".to_owned(),
                "Ignoring deprecated options:\n\ncontainer_name: Setting the container name is \
                 not supported.\n\nexpose: Exposing ports is unnecessary - services on the same \
                 network can access each other's containers on any port."
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn secrets_are_stack_objects_referenced_as_docker_references_them() {
        let p = load(
            "services:\n  db:\n    image: busybox\n    secrets:\n      - pw\n      - {source: ext, target: /etc/ext, mode: 0400}\n\
             secrets:\n  pw: {file: ./pw.txt}\n  ext: {external: true, name: shared}\n",
        );
        let stack = stack(&p, "ns").unwrap();
        // The external one is referenced, not created.
        assert_eq!(stack.secrets.len(), 1);
        assert_eq!(stack.secrets[0].name, "ns_pw");
        assert_eq!(stack.secrets[0].labels[NAMESPACE_LABEL], "ns");
        assert!(stack.secrets[0].file.ends_with("pw.txt"));
        let refs = container(&stack.services["db"]).secrets.clone().unwrap();
        let seen: Vec<_> = refs
            .iter()
            .map(|r| {
                let f = r.file.as_ref().unwrap();
                (
                    r.secret_name.clone().unwrap(),
                    f.name.clone().unwrap(),
                    f.uid.clone().unwrap(),
                    f.mode,
                )
            })
            .collect();
        // The bare source for the default target (Swarm puts it under /run/secrets/), as docker
        // sends it; sorted by name.
        assert_eq!(
            seen,
            [
                (
                    "ns_pw".to_owned(),
                    "pw".to_owned(),
                    "0".to_owned(),
                    Some(0o444)
                ),
                (
                    "shared".to_owned(),
                    "/etc/ext".to_owned(),
                    "0".to_owned(),
                    Some(0o400)
                ),
            ]
        );
    }

    #[test]
    fn a_secret_without_a_file_is_refused_with_what_to_do() {
        let p = load(
            "services:\n  db:\n    image: busybox\n    secrets: [pw]\nsecrets:\n  pw: {environment: PW}\n",
        );
        let err = stack(&p, "ns").unwrap_err().to_string();
        assert!(
            err.contains("secret pw") && err.contains("`file:`"),
            "{err}"
        );
    }
}

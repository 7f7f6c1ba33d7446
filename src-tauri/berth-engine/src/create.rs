//! A compose service as the Engine API's container create body, with the labels compose writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use berth_compose::units::{parse_bytes, parse_duration};
use berth_compose::{Project, Service};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, HostConfigLogConfig, Mount,
    MountType, NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy,
    RestartPolicyNameEnum,
};
use serde_json::Value as Json;

use crate::{hash, labels, limits, names};

/// Everything needed to create one container of a service.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub body: ContainerCreateBody,
    /// Networks to connect after creating: API 1.41 takes only one network at creation.
    pub more_networks: Vec<(String, EndpointSettings)>,
    /// Files to copy in before it starts.
    pub files: Vec<Injected>,
}

/// The container spec for the `number`th container of `service_name`. `image_id` is the
/// image's ID, recorded in `com.docker.compose.image` as compose does.
///
/// `linked` holds the names of the containers of the services it links to (see
/// [`referenced_services`]), which must exist by now.
pub fn container_spec(
    project: &Project,
    service_name: &str,
    number: u32,
    image_id: Option<&str>,
    linked: &BTreeMap<String, Vec<String>>,
) -> ContainerSpec {
    let service = &project.services[service_name];
    let name = names::container_name(&project.name, service_name, service, number);
    let mut networks = service_networks(project, service_name, service, &name);
    let mut first = (!networks.is_empty()).then(|| networks.remove(0));
    // Links live on the endpoint of the network the container is created on, as compose puts
    // them.
    if let Some((_, endpoint)) = &mut first {
        endpoint.links = links(project, service, number, linked);
    }
    let host_config = host_config(project, service, first.as_ref());

    let body = ContainerCreateBody {
        image: Some(names::image_name(project, service_name)),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: Some(environment(service)),
        labels: Some(container_labels(project, service_name, number, image_id)),
        exposed_ports: Some(exposed_ports(service)),
        healthcheck: service.healthcheck.as_ref().map(healthcheck),
        user: service.user.clone(),
        working_dir: service.working_dir.clone(),
        tty: service.tty,
        open_stdin: service.stdin_open,
        hostname: extra_str(service, "hostname"),
        domainname: extra_str(service, "domainname"),
        stop_signal: service.stop_signal.clone(),
        stop_timeout: stop_timeout(service),
        host_config: Some(host_config),
        networking_config: first.map(|(net, endpoint)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(net, endpoint)])),
        }),
        ..Default::default()
    };
    ContainerSpec {
        name,
        body,
        more_networks: networks,
        files: injected(project, service),
    }
}

/// Seconds `docker stop` waits before killing: `stop_grace_period`, else Docker's default.
pub fn stop_timeout(service: &Service) -> Option<i64> {
    let ns = duration_ns(service.stop_grace_period.as_deref()?)?;
    Some((ns + 999_999_999) / 1_000_000_000)
}

fn container_labels(
    project: &Project,
    service_name: &str,
    number: u32,
    image_id: Option<&str>,
) -> HashMap<String, String> {
    let service = &project.services[service_name];
    let mut out: HashMap<String, String> = service
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let files: Vec<String> = project
        .compose_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let depends_on: Vec<String> = service
        .depends_on
        .iter()
        .map(|(name, d)| format!("{name}:{}:{}", d.condition, d.restart.unwrap_or(false)))
        .collect();
    for (k, v) in [
        (labels::PROJECT, project.name.clone()),
        (labels::SERVICE, service_name.to_owned()),
        (labels::CONTAINER_NUMBER, number.to_string()),
        (labels::ONEOFF, "False".to_owned()),
        (labels::CONFIG_FILES, files.join(",")),
        (
            labels::WORKING_DIR,
            project.working_dir.display().to_string(),
        ),
        (labels::CONFIG_HASH, hash::service_hash(service)),
        (labels::VERSION, labels::COMPOSE_VERSION.to_owned()),
        (labels::DEPENDS_ON, depends_on.join(",")),
    ] {
        out.insert(k.to_owned(), v);
    }
    if let Some(id) = image_id {
        out.insert(labels::IMAGE.to_owned(), id.to_owned());
    }
    out
}

/// `KEY=value` for every variable with a value; compose leaves out variables set nowhere.
fn environment(service: &Service) -> Vec<String> {
    service
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect()
}

fn port_key(target: u32, protocol: Option<&str>) -> String {
    format!("{target}/{}", protocol.unwrap_or("tcp"))
}

fn exposed_ports(service: &Service) -> Vec<String> {
    let mut out: Vec<String> = service
        .ports
        .iter()
        .map(|p| port_key(p.target, p.protocol.as_deref()))
        .collect();
    for e in &service.expose {
        let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        out.push(format!("{port}/{proto}"));
    }
    out.sort();
    out.dedup();
    out
}

fn port_bindings(service: &Service) -> HashMap<String, Option<Vec<PortBinding>>> {
    let mut out: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &service.ports {
        out.entry(port_key(p.target, p.protocol.as_deref()))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: Some(p.published.clone().unwrap_or_default()),
            });
    }
    out
}

pub(crate) fn healthcheck(h: &berth_compose::Healthcheck) -> HealthConfig {
    let ns = |d: &Option<String>| d.as_deref().and_then(duration_ns);
    let test = if h.disable == Some(true) {
        vec!["NONE".to_owned()]
    } else {
        h.test.clone()
    };
    HealthConfig {
        test: (!test.is_empty()).then_some(test),
        interval: ns(&h.interval),
        timeout: ns(&h.timeout),
        retries: h.retries.map(|r| r as i64),
        start_period: ns(&h.start_period),
        start_interval: ns(&h.start_interval),
    }
}

fn restart_policy(restart: Option<&str>) -> Option<RestartPolicy> {
    let restart = restart?;
    let (name, count) = restart.split_once(':').unwrap_or((restart, ""));
    let name = match name {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    Some(RestartPolicy {
        name: Some(name),
        maximum_retry_count: count.parse().ok(),
    })
}

/// The service's networks with their endpoint settings, in compose's order: by `priority`
/// (highest first), then by name. Empty when `network_mode` is set. On each, the container is
/// known by its name, its service's name and the network's aliases, as compose names it.
fn service_networks(
    project: &Project,
    service_name: &str,
    service: &Service,
    container: &str,
) -> Vec<(String, EndpointSettings)> {
    if service.network_mode.is_some() {
        return Vec::new();
    }
    let mut keys: Vec<(&String, Option<&berth_compose::ServiceNetwork>)> = service
        .networks
        .iter()
        .map(|(k, v)| (k, v.as_ref()))
        .collect();
    let default = "default".to_owned();
    if keys.is_empty() {
        keys.push((&default, None));
    }
    let priority = |n: Option<&berth_compose::ServiceNetwork>| {
        n.and_then(|n| n.extra.get("priority"))
            .and_then(Json::as_i64)
            .unwrap_or(0)
    };
    keys.sort_by(|a, b| priority(b.1).cmp(&priority(a.1)).then(a.0.cmp(b.0)));
    keys.into_iter()
        .map(|(key, n)| {
            let mut aliases = vec![container.to_owned(), service_name.to_owned()];
            if let Some(n) = n {
                aliases.extend(n.aliases.iter().cloned());
            }
            let endpoint = EndpointSettings {
                aliases: Some(aliases),
                ipam_config: n
                    .filter(|n| n.ipv4_address.is_some() || n.ipv6_address.is_some())
                    .map(|n| bollard::models::EndpointIpamConfig {
                        ipv4_address: n.ipv4_address.clone(),
                        ipv6_address: n.ipv6_address.clone(),
                        ..Default::default()
                    }),
                ..Default::default()
            };
            (names::network_name(project, key), endpoint)
        })
        .collect()
}

fn host_config(
    project: &Project,
    service: &Service,
    network: Option<&(String, EndpointSettings)>,
) -> HostConfig {
    let (binds, mounts) = mounts(project, service);
    let network_mode = match service.network_mode.as_deref() {
        Some(mode) => Some(match mode.strip_prefix("service:") {
            Some(other) => {
                let other_service = project.services.get(other).cloned().unwrap_or_default();
                format!(
                    "container:{}",
                    names::container_name(&project.name, other, &other_service, 1)
                )
            }
            None => mode.to_owned(),
        }),
        None => network.map(|(name, _)| name.clone()),
    };
    let mut host = HostConfig {
        binds: Some(binds),
        mounts: Some(mounts),
        port_bindings: Some(port_bindings(service)),
        restart_policy: restart_policy(service.restart.as_deref()),
        init: service.init,
        network_mode,
        privileged: extra_bool(service, "privileged"),
        readonly_rootfs: extra_bool(service, "read_only"),
        cap_add: extra_strings(service, "cap_add"),
        cap_drop: extra_strings(service, "cap_drop"),
        dns: extra_strings(service, "dns"),
        dns_search: extra_strings(service, "dns_search"),
        extra_hosts: extra_hosts(service),
        security_opt: extra_strings(service, "security_opt"),
        group_add: extra_strings(service, "group_add"),
        shm_size: extra_str(service, "shm_size").and_then(|s| parse_bytes(&s)),
        pid_mode: extra_str(service, "pid"),
        ipc_mode: extra_str(service, "ipc"),
        tmpfs: extra_strings(service, "tmpfs")
            .map(|t| t.into_iter().map(|t| (t, String::new())).collect()),
        sysctls: service.extra.get("sysctls").and_then(string_map),
        log_config: service.extra.get("logging").map(|l| HostConfigLogConfig {
            typ: l.get("driver").and_then(Json::as_str).map(str::to_owned),
            config: l.get("options").and_then(string_map),
        }),
        ulimits: service.extra.get("ulimits").map(ulimits),
        volumes_from: volumes_from(project, service),
        dns_options: extra_strings(service, "dns_opt"),
        cgroup_parent: extra_str(service, "cgroup_parent"),
        userns_mode: extra_str(service, "userns_mode"),
        uts_mode: extra_str(service, "uts"),
        runtime: extra_str(service, "runtime"),
        storage_opt: service.extra.get("storage_opt").and_then(string_map),
        oom_score_adj: service.extra.get("oom_score_adj").and_then(Json::as_i64),
        ..Default::default()
    };
    limits::apply(service, &mut host);
    host
}

/// `volumes_from` in the engine's `name[:ro|rw]` form: a service stands for its first
/// container, `container:NAME` for that container.
fn volumes_from(project: &Project, service: &Service) -> Option<Vec<String>> {
    let from = extra_strings(service, "volumes_from")?;
    Some(
        from.into_iter()
            .map(|v| match v.strip_prefix("container:") {
                Some(container) => container.to_owned(),
                None => {
                    let (name, mode) = match v.split_once(':') {
                        Some((name, mode)) => (name, format!(":{mode}")),
                        None => (v.as_str(), String::new()),
                    };
                    let other = project.services.get(name).cloned().unwrap_or_default();
                    format!(
                        "{}{mode}",
                        names::container_name(&project.name, name, &other, 1)
                    )
                }
            })
            .collect(),
    )
}

/// The legacy links of container `number` to the linked services' containers (`linked`: their
/// names by service), as compose writes them: each under the link's alias, `<service>-<number>`
/// and `<project>-<service>-<number>`, then `external_links` as given.
fn links(
    project: &Project,
    service: &Service,
    number: u32,
    linked: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for link in extra_strings(service, "links").unwrap_or_default() {
        let (target, alias) = link.split_once(':').unwrap_or((&link, &link));
        for container in linked.get(target).into_iter().flatten() {
            out.push(format!("{container}:{alias}"));
            out.push(format!("{container}:{target}-{number}"));
            out.push(format!("{container}:{}-{target}-{number}", project.name));
        }
    }
    for link in extra_strings(service, "external_links").unwrap_or_default() {
        let (target, alias) = link.split_once(':').unwrap_or((&link, &link));
        out.push(format!("{target}:{alias}"));
    }
    (!out.is_empty()).then_some(out)
}

/// The services whose containers `service` names when created (links, `volumes_from`, and
/// `network_mode`/`ipc`/`pid` of `service:NAME`): they must exist first.
pub fn referenced_services(service: &Service) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for link in extra_strings(service, "links").unwrap_or_default() {
        out.insert(link.split(':').next().unwrap_or_default().to_owned());
    }
    for from in extra_strings(service, "volumes_from").unwrap_or_default() {
        if !from.starts_with("container:") {
            out.insert(from.split(':').next().unwrap_or_default().to_owned());
        }
    }
    let modes = [
        service.network_mode.clone(),
        extra_str(service, "ipc"),
        extra_str(service, "pid"),
    ];
    for mode in modes.into_iter().flatten() {
        if let Some(other) = mode.strip_prefix("service:") {
            out.insert(other.to_owned());
        }
    }
    out
}

/// Bind mounts as `Binds` (Docker creates missing host paths for them, as compose's
/// `create_host_path` asks), everything else as `Mounts`. File secrets and configs are bind
/// `Mounts`, as compose makes them: Docker refuses a missing file rather than create a
/// directory in its place.
fn mounts(project: &Project, service: &Service) -> (Vec<String>, Vec<Mount>) {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &service.volumes {
        let read_only = m.read_only == Some(true);
        match m.kind.as_str() {
            "bind" => {
                let source = m.source.clone().unwrap_or_default();
                let mode = if read_only { ":ro" } else { "" };
                binds.push(format!("{source}:{}{mode}", m.target));
            }
            "volume" => mounts.push(Mount {
                typ: Some(MountType::VOLUME),
                source: m.source.as_deref().map(|s| {
                    if project.volumes.contains_key(s) {
                        names::volume_name(project, s)
                    } else {
                        s.to_owned()
                    }
                }),
                target: Some(m.target.clone()),
                read_only: Some(read_only),
                ..Default::default()
            }),
            "tmpfs" => mounts.push(Mount {
                typ: Some(MountType::TMPFS),
                target: Some(m.target.clone()),
                ..Default::default()
            }),
            _ => {}
        }
    }
    mounts.extend(file_refs(project, service).filter_map(|f| {
        Some(Mount {
            typ: Some(MountType::BIND),
            source: Some(f.object.file.clone()?),
            target: Some(f.target),
            read_only: Some(true),
            ..Default::default()
        })
    }));
    (binds, mounts)
}

/// A secret or config a service uses, with the path it appears at in the container.
struct FileRef<'a> {
    /// `secret` or `config`.
    kind: &'static str,
    object: &'a berth_compose::FileObject,
    used: &'a berth_compose::FileMount,
    target: String,
}

/// The service's secrets (under `/run/secrets/` unless the target is absolute) and configs
/// (under `/`).
fn file_refs<'a>(project: &'a Project, service: &'a Service) -> impl Iterator<Item = FileRef<'a>> {
    let refs = |kind: &'static str,
                used: &'a [berth_compose::FileMount],
                objects: &'a BTreeMap<String, berth_compose::FileObject>,
                dir: &'static str| {
        used.iter().filter_map(move |used| {
            let object = objects.get(&used.source)?;
            let target = used.target.clone().unwrap_or_else(|| used.source.clone());
            let target = if target.starts_with('/') {
                target
            } else {
                format!("{dir}{target}")
            };
            Some(FileRef {
                kind,
                object,
                used,
                target,
            })
        })
    };
    refs(
        "secret",
        &service.secrets,
        &project.secrets,
        "/run/secrets/",
    )
    .chain(refs("config", &service.configs, &project.configs, "/"))
}

/// A file copied into a container before it starts: a secret or config whose value comes from
/// an environment variable (or, for configs, `content`), owned and moded as the service asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    pub target: String,
    pub content: Vec<u8>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub mode: u32,
}

/// The service's secrets and configs that are not files: compose copies them in.
fn injected(project: &Project, service: &Service) -> Vec<Injected> {
    file_refs(project, service)
        .filter_map(|f| {
            let content = match (&f.object.environment, f.object.extra.get("content")) {
                (Some(var), _) => project.environment.get(var).cloned().unwrap_or_default(),
                (None, Some(Json::String(content))) => content.clone(),
                _ => return None,
            };
            let id = |key: &str| match f.used.extra.get(key)? {
                Json::String(s) => s.parse().ok(),
                v => v.as_u64(),
            };
            Some(Injected {
                target: f.target,
                content: content.into_bytes(),
                uid: id("uid"),
                gid: id("gid"),
                mode: file_mode(f.used.extra.get("mode")).unwrap_or(0o444),
            })
        })
        .collect()
}

/// `files` as a tar archive to extract at `/`, each with its owner (root when not given), mode
/// and the current time.
pub fn archive(files: &[Injected]) -> std::io::Result<Vec<u8>> {
    let now = crate::clock::now_secs();
    let mut tar = tar::Builder::new(Vec::new());
    for f in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.content.len() as u64);
        header.set_mode(f.mode);
        header.set_uid(f.uid.unwrap_or(0));
        header.set_gid(f.gid.unwrap_or(0));
        header.set_mtime(now);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            f.target.trim_start_matches('/'),
            &f.content[..],
        )?;
    }
    tar.into_inner()
}

/// A file mode as compose writes it: a number, or an octal string (`"0400"`).
pub(crate) fn file_mode(v: Option<&Json>) -> Option<u32> {
    match v? {
        Json::String(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).ok(),
        v => v.as_u64().map(|m| m as u32),
    }
}

/// The first environment variable a secret or config of the service takes its value from that
/// is not set, and what needs it (`secret "NAME"`, as compose says).
pub fn unset_variable(project: &Project, service: &Service) -> Option<(String, String)> {
    file_refs(project, service).find_map(|f| {
        let var = f.object.environment.as_ref()?;
        (!project.environment.contains_key(var))
            .then(|| (var.clone(), format!("{} \"{}\"", f.kind, f.object.name)))
    })
}

/// The first secret or config of the service whose `file:` does not exist, as
/// (`secret` or `config`, its name, the path).
pub fn missing_file(
    project: &Project,
    service: &Service,
) -> Option<(&'static str, String, PathBuf)> {
    file_refs(project, service).find_map(|f| {
        let path = PathBuf::from(f.object.file.as_ref()?);
        (!path.exists()).then(|| (f.kind, f.used.source.clone(), path))
    })
}

/// What the service asks that the engine cannot do, in compose's words.
pub fn warnings(project: &Project, service: &Service) -> Vec<String> {
    let bound_with_owner = file_refs(project, service).any(|f| {
        f.object.file.is_some()
            && ["uid", "gid", "mode"]
                .iter()
                .any(|k| f.used.extra.contains_key(*k))
    });
    let mut out = Vec::new();
    if bound_with_owner {
        // A file secret is bind-mounted: it keeps the host file's owner and mode.
        out.push(
            "secrets `uid`, `gid` and `mode` are not supported, they will be ignored".to_owned(),
        );
    }
    out
}

fn extra_str(service: &Service, key: &str) -> Option<String> {
    match service.extra.get(key)? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn extra_bool(service: &Service, key: &str) -> Option<bool> {
    service.extra.get(key)?.as_bool()
}

fn extra_strings(service: &Service, key: &str) -> Option<Vec<String>> {
    match service.extra.get(key)? {
        Json::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        Json::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// `extra_hosts` as a list (`host:ip`) or a map (`host: ip`), in Docker's `host:ip` form.
fn extra_hosts(service: &Service) -> Option<Vec<String>> {
    match service.extra.get("extra_hosts")? {
        Json::Object(m) => Some(
            m.iter()
                .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default()))
                .collect(),
        ),
        // compose-go writes `host=ip`; the engine wants `host:ip`.
        _ => extra_strings(service, "extra_hosts")
            .map(|hosts| hosts.into_iter().map(|h| h.replacen('=', ":", 1)).collect()),
    }
}

/// A JSON object as the string map Docker takes: strings as they are, other values as JSON
/// writes them.
pub(crate) fn string_map(v: &Json) -> Option<HashMap<String, String>> {
    Some(
        v.as_object()?
            .iter()
            .map(|(k, v)| {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                (k.clone(), v)
            })
            .collect(),
    )
}

pub(crate) fn ulimits(v: &Json) -> Vec<ResourcesUlimits> {
    let Some(m) = v.as_object() else {
        return Vec::new();
    };
    m.iter()
        .map(|(name, l)| {
            let (soft, hard) = match l {
                Json::Number(n) => (n.as_i64(), n.as_i64()),
                _ => (
                    l.get("soft").and_then(Json::as_i64),
                    l.get("hard").and_then(Json::as_i64),
                ),
            };
            ResourcesUlimits {
                name: Some(name.clone()),
                soft,
                hard,
            }
        })
        .collect()
}

/// A compose duration in the nanoseconds the Engine API takes.
pub(crate) fn duration_ns(s: &str) -> Option<i64> {
    i64::try_from(parse_duration(s)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_compose::{Dependency, Port, ServiceNetwork};
    use std::collections::BTreeMap;

    fn project() -> Project {
        let mut project = Project {
            name: "shop".into(),
            working_dir: "/srv/shop".into(),
            compose_files: vec!["/srv/shop/compose.yaml".into()],
            ..Default::default()
        };
        let web = Service {
            image: Some("nginx".into()),
            environment: BTreeMap::from([("A".into(), Some("1".into())), ("UNSET".into(), None)]),
            ports: vec![Port {
                target: 80,
                published: Some("8080".into()),
                protocol: Some("tcp".into()),
                ..Default::default()
            }],
            depends_on: BTreeMap::from([(
                "db".into(),
                Dependency {
                    condition: "service_healthy".into(),
                    restart: Some(true),
                    required: true,
                },
            )]),
            networks: BTreeMap::from([
                ("front".into(), None),
                (
                    "back".into(),
                    Some(ServiceNetwork {
                        aliases: vec!["www".into()],
                        ..Default::default()
                    }),
                ),
            ]),
            restart: Some("on-failure:3".into()),
            stop_grace_period: Some("1500ms".into()),
            ..Default::default()
        };
        project.services.insert("web".into(), web);
        project
    }

    #[test]
    fn a_service_becomes_a_labelled_container() {
        let spec = container_spec(&project(), "web", 2, Some("sha256:abc"), &BTreeMap::new());
        assert_eq!(spec.name, "shop-web-2");
        let body = &spec.body;
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(labels[labels::PROJECT], "shop");
        assert_eq!(labels[labels::SERVICE], "web");
        assert_eq!(labels[labels::CONTAINER_NUMBER], "2");
        assert_eq!(labels[labels::ONEOFF], "False");
        assert_eq!(labels[labels::CONFIG_FILES], "/srv/shop/compose.yaml");
        assert_eq!(labels[labels::WORKING_DIR], "/srv/shop");
        assert_eq!(labels[labels::DEPENDS_ON], "db:service_healthy:true");
        assert_eq!(labels[labels::IMAGE], "sha256:abc");
        assert_eq!(body.env.as_deref(), Some(&["A=1".to_owned()][..]));
        assert_eq!(body.stop_timeout, Some(2));
        let host = body.host_config.as_ref().unwrap();
        let binding = &host.port_bindings.as_ref().unwrap()["80/tcp"];
        assert_eq!(
            binding.as_ref().unwrap()[0].host_port.as_deref(),
            Some("8080")
        );
        let restart = host.restart_policy.as_ref().unwrap();
        assert_eq!(restart.maximum_retry_count, Some(3));
        // Networks by name: `back` at creation, `front` connected afterwards.
        assert_eq!(host.network_mode.as_deref(), Some("shop_back"));
        let endpoints = body.networking_config.as_ref().unwrap();
        let back = &endpoints.endpoints_config.as_ref().unwrap()["shop_back"];
        assert_eq!(
            back.aliases.as_deref(),
            Some(&["shop-web-2".to_owned(), "web".to_owned(), "www".to_owned()][..])
        );
        assert_eq!(spec.more_networks[0].0, "shop_front");
    }
}

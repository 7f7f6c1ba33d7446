//! The service configuration hash in `com.docker.compose.config-hash`: what decides whether an
//! existing container still matches its service.
//!
//! Compose hashes Go's `json.Marshal` of compose-go's `ServiceConfig` with `build`,
//! `pull_policy`, `scale`, `deploy.replicas`, `depends_on` and `profiles` cleared
//! (docker/compose `pkg/compose/hash.go`). Go writes struct fields in declaration order, skips
//! empty `omitempty` fields, sorts map keys and escapes `<`, `>` and `&`; this module writes the
//! normalized service the same way, so a container either tool created carries the hash the other
//! computes. Fields compose-go declares that Berth's model does not name fall back to name order.

use berth_compose::Service;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

/// compose-go `ServiceConfig`'s JSON field order.
const SERVICE: &[&str] = &[
    "profiles",
    "annotations",
    "attach",
    "build",
    "develop",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup_parent",
    "cgroup",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpus",
    "cpuset",
    "cpu_shares",
    "command",
    "configs",
    "container_name",
    "credential_spec",
    "depends_on",
    "deploy",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "dockerfile",
    "domainname",
    "entrypoint",
    "provider",
    "environment",
    "env_file",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "group_add",
    "gpus",
    "hostname",
    "healthcheck",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "label_file",
    "links",
    "logging",
    "log_driver",
    "log_opt",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "mac_address",
    "models",
    "net",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volume_driver",
    "volumes",
    "volumes_from",
    "working_dir",
    "post_start",
    "pre_stop",
];
const PORT: &[&str] = &[
    "name",
    "mode",
    "host_ip",
    "target",
    "published",
    "protocol",
    "app_protocol",
];
const VOLUME: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "consistency",
    "bind",
    "volume",
    "tmpfs",
    "image",
];
const BIND: &[&str] = &["selinux", "propagation", "create_host_path", "recursive"];
const VOLUME_OPTIONS: &[&str] = &["labels", "nocopy", "subpath"];
const TMPFS: &[&str] = &["size", "mode"];
const HEALTHCHECK: &[&str] = &[
    "test",
    "timeout",
    "interval",
    "retries",
    "start_period",
    "start_interval",
    "disable",
];
const NETWORK: &[&str] = &[
    "aliases",
    "driver_opts",
    "gw_priority",
    "interface_name",
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "priority",
];
/// compose-go `NetworkConfig`, `IPAMConfig` and `IPAMPool`; `VolumeConfig`.
const NETWORK_CONFIG: &[&str] = &[
    "name",
    "driver",
    "driver_opts",
    "ipam",
    "external",
    "internal",
    "attachable",
    "labels",
    "enable_ipv4",
    "enable_ipv6",
];
const IPAM: &[&str] = &["driver", "config"];
const IPAM_POOL: &[&str] = &["subnet", "gateway", "ip_range", "aux_addresses"];
const VOLUME_CONFIG: &[&str] = &["name", "driver", "driver_opts", "external", "labels"];
const FILE_REFERENCE: &[&str] = &["source", "target", "uid", "gid", "mode"];
const DEPLOY: &[&str] = &[
    "mode",
    "replicas",
    "labels",
    "update_config",
    "rollback_config",
    "resources",
    "restart_policy",
    "placement",
    "endpoint_mode",
];
const RESOURCES: &[&str] = &["limits", "reservations"];
const RESOURCE: &[&str] = &["cpus", "memory", "pids", "devices", "generic_resources"];
const LOGGING: &[&str] = &["driver", "options"];
const ULIMIT: &[&str] = &["single", "soft", "hard"];

/// The hex SHA-256 compose writes in `com.docker.compose.config-hash` for this service.
pub fn service_hash(service: &Service) -> String {
    let mut json = serde_json::to_value(service).expect("a service always serializes");
    if let Json::Object(m) = &mut json {
        for key in ["build", "pull_policy", "scale", "depends_on", "profiles"] {
            m.remove(key);
        }
        // Extensions are `json:"-"` in compose-go.
        m.retain(|k, _| !k.starts_with("x-"));
        normalize_like_compose_go(m);
        if let Some(Json::Object(deploy)) = m.get_mut("deploy") {
            deploy.remove("replicas");
            // Go's omitempty never omits a struct: these two are always written.
            deploy
                .entry("resources")
                .or_insert_with(|| Json::Object(Map::new()));
            deploy
                .entry("placement")
                .or_insert_with(|| Json::Object(Map::new()));
        }
    }
    digest(&json, SERVICE)
}

/// Whether a container carrying the config hash label `label` was made from other files than
/// those whose service hash is `files`: compose's test (`mustRecreate`: any other hash, however
/// it came about), and so both what the window calls "config changed" and what `up` recreates.
pub fn config_changed(label: Option<&str>, files: &str) -> bool {
    label != Some(files)
}

/// The hash compose writes in a network's `com.docker.compose.config-hash`: of compose-go's
/// `NetworkConfig`, whose `ipam` struct is always written.
pub fn network_hash(network: &berth_compose::Network) -> String {
    let mut json = serde_json::to_value(network).expect("a network always serializes");
    if let Json::Object(m) = &mut json {
        m.retain(|k, v| !k.starts_with("x-") && *v != Json::Bool(false));
        m.entry("ipam").or_insert_with(|| Json::Object(Map::new()));
    }
    digest(&json, NETWORK_CONFIG)
}

/// The hash compose writes in a volume's `com.docker.compose.config-hash`: of compose-go's
/// `VolumeConfig`, with the driver `local` when none is named.
pub fn volume_hash(volume: &berth_compose::Volume) -> String {
    let mut json = serde_json::to_value(volume).expect("a volume always serializes");
    if let Json::Object(m) = &mut json {
        m.retain(|k, v| !k.starts_with("x-") && *v != Json::Bool(false));
        m.entry("driver").or_insert_with(|| Json::from("local"));
    }
    digest(&json, VOLUME_CONFIG)
}

/// SHA-256 of `json` marshalled as compose-go marshals the struct whose fields come in `order`.
fn digest(json: &Json, order: &[&str]) -> String {
    let mut out = String::new();
    write_struct(json, order, &mut out);
    hex::encode(Sha256::digest(out.as_bytes()))
}

/// Where berth-compose's normalized form differs from compose-go's in what it marshals:
/// `extra_hosts` entries are `host=ip`, sorted; a tmpfs mount's `size` is a string.
fn normalize_like_compose_go(service: &mut Map<String, Json>) {
    if let Some(Json::Array(hosts)) = service.get_mut("extra_hosts") {
        for h in hosts.iter_mut() {
            if let Json::String(entry) = h
                && !entry.contains('=')
                && let Some((host, ip)) = entry.split_once(':')
            {
                *entry = format!("{host}={ip}");
            }
        }
        hosts.sort_by_key(|h| h.as_str().unwrap_or_default().to_owned());
    }
    if let Some(Json::Array(volumes)) = service.get_mut("volumes") {
        for v in volumes {
            if let Some(size) = v.pointer_mut("/tmpfs/size")
                && size.is_number()
            {
                *size = Json::String(size.to_string());
            }
        }
    }
}

/// The field order of the struct a service field holds, where Berth knows it.
fn field_order(parent: &[&str], key: &str) -> Option<&'static [&'static str]> {
    Some(match (parent.first().copied(), key) {
        (Some("profiles"), "ports") => PORT,
        (Some("profiles"), "volumes") => VOLUME,
        (Some("profiles"), "healthcheck") => HEALTHCHECK,
        (Some("profiles"), "secrets" | "configs") => FILE_REFERENCE,
        (Some("profiles"), "deploy") => DEPLOY,
        (Some("profiles"), "logging") => LOGGING,
        (Some("profiles"), "networks") => NETWORK,
        (Some("profiles"), "ulimits") => ULIMIT,
        (Some("type"), "bind") => BIND,
        (Some("type"), "volume") => VOLUME_OPTIONS,
        (Some("type"), "tmpfs") => TMPFS,
        (Some("mode"), "resources") => RESOURCES,
        (Some("limits"), "limits" | "reservations") => RESOURCE,
        (Some("name"), "ipam") => IPAM,
        (Some("driver"), "config") => IPAM_POOL,
        _ => return None,
    })
}

/// Writes an object as Go writes a struct: known fields in `order`, then the rest by name.
fn write_struct(value: &Json, order: &[&str], out: &mut String) {
    let Json::Object(m) = value else {
        return write_value(value, out);
    };
    let mut keys: Vec<&String> = m.keys().collect();
    let rank = |k: &str| order.iter().position(|o| *o == k).unwrap_or(usize::MAX);
    keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        let v = &m[key];
        match field_order(order, key) {
            // `networks` and `ulimits` are maps of structs; the others structs or lists of them.
            Some(inner) if key == "networks" || key == "ulimits" => write_map_of(v, inner, out),
            Some(inner) => write_struct_or_list(v, inner, out),
            None => write_value(v, out),
        }
    }
    out.push('}');
}

fn write_struct_or_list(value: &Json, order: &[&str], out: &mut String) {
    match value {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_struct(item, order, out);
            }
            out.push(']');
        }
        other => write_struct(other, order, out),
    }
}

fn write_map_of(value: &Json, order: &[&str], out: &mut String) {
    let Json::Object(m) = value else {
        return write_value(value, out);
    };
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_struct(v, order, out);
    }
    out.push('}');
}

/// Any other value: maps with sorted keys (serde_json's map is ordered by key, as Go sorts).
fn write_value(value: &Json, out: &mut String) {
    match value {
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string as Go's encoder writes it: HTML-safe (`<`, `>`, `&` escaped).
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_and_dependencies_do_not_change_the_hash_but_the_command_does() {
        let base = Service {
            image: Some("redis".into()),
            ..Default::default()
        };
        let mut scaled = base.clone();
        scaled.deploy = Some(berth_compose::Deploy {
            replicas: Some(3),
            ..Default::default()
        });
        scaled.depends_on.insert("db".into(), Default::default());
        let with_deploy = Service {
            deploy: Some(Default::default()),
            ..base.clone()
        };
        assert_eq!(service_hash(&scaled), service_hash(&with_deploy));
        let mut changed = base.clone();
        changed.command = Some(vec!["redis-server".into()]);
        assert_ne!(service_hash(&base), service_hash(&changed));
        assert_eq!(service_hash(&base).len(), 64);
    }

    #[test]
    fn strings_are_escaped_like_go() {
        let mut out = String::new();
        write_string("nc </dev/null & \"x\"\n", &mut out);
        assert_eq!(out, r#""nc \u003c/dev/null \u0026 \"x\"\n""#);
    }
}

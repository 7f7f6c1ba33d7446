//! A service's cgroup limits and devices as the HostConfig fields docker compose sets:
//! `deploy.resources` and the older top-level keys (`mem_limit`, `cpus`, `cpu_*`, `cpuset`,
//! `blkio_config`, `pids_limit`…), `devices`, and GPUs (`gpus`, device reservations).

use berth_compose::Service;
use berth_compose::units::parse_bytes;
use bollard::models::{
    DeviceMapping, DeviceRequest, HostConfig, ResourcesBlkioWeightDevice, ThrottleDevice,
};
use serde_json::Value as Json;

/// Sets the limits and devices `service` asks for on `host`.
pub(crate) fn apply(service: &Service, host: &mut HostConfig) {
    let extra = |key: &str| service.extra.get(key);
    let resources = service.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let limit = |key: &str| resources?.get("limits")?.get(key);
    let reservation = |key: &str| resources?.get("reservations")?.get(key);
    host.memory = limit("memory").or(extra("mem_limit")).and_then(bytes);
    host.memory_reservation = reservation("memory")
        .or(extra("mem_reservation"))
        .and_then(bytes);
    host.memory_swap = extra("memswap_limit").and_then(bytes);
    host.memory_swappiness = extra("mem_swappiness").and_then(integer);
    host.oom_kill_disable = extra("oom_kill_disable").and_then(Json::as_bool);
    host.nano_cpus = limit("cpus")
        .or(extra("cpus"))
        .and_then(float)
        .map(|c| (c * 1e9) as i64);
    host.pids_limit = limit("pids").or(extra("pids_limit")).and_then(integer);
    host.cpu_shares = extra("cpu_shares").and_then(integer);
    host.cpu_period = extra("cpu_period").and_then(integer);
    host.cpu_quota = extra("cpu_quota").and_then(integer);
    host.cpu_realtime_runtime = extra("cpu_rt_runtime").and_then(integer);
    host.cpu_realtime_period = extra("cpu_rt_period").and_then(integer);
    host.cpu_count = extra("cpu_count").and_then(integer);
    host.cpu_percent = extra("cpu_percent").and_then(integer);
    host.cpuset_cpus = extra("cpuset").and_then(Json::as_str).map(str::to_owned);
    if let Some(blkio) = extra("blkio_config") {
        host.blkio_weight = blkio.get("weight").and_then(integer).map(|w| w as u16);
        host.blkio_weight_device = blkio.get("weight_device").map(|devices| {
            list(devices)
                .map(|d| ResourcesBlkioWeightDevice {
                    path: field(d, "path"),
                    weight: d.get("weight").and_then(integer).map(|w| w as usize),
                })
                .collect()
        });
        let throttle = |key: &str, rate: fn(&Json) -> Option<i64>| {
            blkio.get(key).map(|devices| {
                list(devices)
                    .map(|d| ThrottleDevice {
                        path: field(d, "path"),
                        rate: d.get("rate").and_then(rate),
                    })
                    .collect()
            })
        };
        host.blkio_device_read_bps = throttle("device_read_bps", bytes);
        host.blkio_device_write_bps = throttle("device_write_bps", bytes);
        host.blkio_device_read_iops = throttle("device_read_iops", integer);
        host.blkio_device_write_iops = throttle("device_write_iops", integer);
    }
    host.devices = extra("devices").map(|d| list(d).filter_map(device).collect());
    host.device_cgroup_rules = extra("device_cgroup_rules").map(|r| {
        list(r)
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect()
    });
    let requests: Vec<DeviceRequest> = reservation("devices")
        .into_iter()
        .flat_map(list)
        .map(|d| device_request(d, false))
        .chain(gpus(extra("gpus")))
        .collect();
    host.device_requests = (!requests.is_empty()).then_some(requests);
}

/// A byte size: a number, or a string with a unit (`64m`, `1gb`) or without.
pub(crate) fn bytes(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok().or_else(|| parse_bytes(s)),
        _ => None,
    }
}

/// A whole number, written as one or as a string.
pub(crate) fn integer(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(crate) fn float(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn list(v: &Json) -> impl Iterator<Item = &Json> {
    v.as_array().into_iter().flatten()
}

fn field(v: &Json, key: &str) -> Option<String> {
    v.get(key).and_then(Json::as_str).map(str::to_owned)
}

/// `HOST[:CONTAINER[:PERMISSIONS]]`, or the long form's `source`/`target`/`permissions`; the
/// container path defaults to the host's and the permissions to `rwm`, as `docker run --device`.
fn device(v: &Json) -> Option<DeviceMapping> {
    let (source, target, permissions) = match v {
        Json::String(s) => {
            let mut parts = s.splitn(3, ':');
            let source = parts.next()?.to_owned();
            (
                source,
                parts.next().map(str::to_owned),
                parts.next().map(str::to_owned),
            )
        }
        _ => (
            field(v, "source")?,
            field(v, "target"),
            field(v, "permissions"),
        ),
    };
    Some(DeviceMapping {
        path_in_container: Some(target.unwrap_or_else(|| source.clone())),
        path_on_host: Some(source),
        cgroup_permissions: Some(permissions.unwrap_or_else(|| "rwm".to_owned())),
    })
}

/// `gpus: all` (every GPU), or a list of requests; compose adds the `gpu` capability to each.
fn gpus(v: Option<&Json>) -> Vec<DeviceRequest> {
    match v {
        Some(Json::String(all)) if all == "all" => vec![DeviceRequest {
            count: Some(-1),
            capabilities: Some(vec![vec!["gpu".to_owned()]]),
            ..Default::default()
        }],
        Some(requests) => list(requests).map(|d| device_request(d, true)).collect(),
        None => Vec::new(),
    }
}

fn device_request(d: &Json, gpu: bool) -> DeviceRequest {
    let strings = |key: &str| {
        d.get(key).map(|l| {
            list(l)
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
    };
    let mut capabilities = strings("capabilities");
    if gpu {
        capabilities.get_or_insert_default().push("gpu".to_owned());
    }
    DeviceRequest {
        driver: Some(field(d, "driver").unwrap_or_default()),
        count: Some(match d.get("count") {
            Some(Json::String(all)) if all == "all" => -1,
            Some(n) => integer(n).unwrap_or(0),
            None => 0,
        }),
        device_ids: strings("device_ids"),
        capabilities: capabilities.map(|c| vec![c]),
        options: d.get("options").and_then(|o| {
            Some(
                o.as_object()?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_take_dockers_defaults() {
        let d = device(&Json::from("/dev/zero")).unwrap();
        assert_eq!(d.path_in_container.as_deref(), Some("/dev/zero"));
        assert_eq!(d.cgroup_permissions.as_deref(), Some("rwm"));
        let d = device(&Json::from("/dev/null:/dev/x:r")).unwrap();
        assert_eq!(
            (
                d.path_in_container.as_deref(),
                d.cgroup_permissions.as_deref()
            ),
            (Some("/dev/x"), Some("r"))
        );
    }

    #[test]
    fn gpus_all_is_every_gpu() {
        let all = gpus(Some(&Json::from("all")));
        assert_eq!(all[0].count, Some(-1));
        assert_eq!(all[0].capabilities, Some(vec![vec!["gpu".to_owned()]]));
    }
}

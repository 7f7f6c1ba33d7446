//! The host ports the stack asks for that something else already holds.
//!
//! Docker finds a taken port only when it starts the container, after the networks, volumes
//! and earlier containers exist, and then says little more than "port is already allocated".
//! `up` asks first: every fixed host port the file publishes is looked for among the engine's
//! running containers (other projects', or none) and, when the engine runs on this machine,
//! among the host's listening sockets (`/proc/net/{tcp,tcp6,udp,udp6}`), whose owner is found
//! by the socket's inode in `/proc/*/fd`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use berth_compose::Project;
use bollard::query_parameters::ListContainersOptions;

use crate::error::{Endpoint, Error};
pub use crate::port_conflict::{Holder, PortConflict, PortsInUse};
use crate::{Engine, labels};

/// A fixed host port a service publishes.
struct Wanted {
    service: String,
    ip: String,
    port: u16,
    protocol: String,
}

/// Whether binding `a` would collide with something bound to `b`.
fn overlaps(a: &str, b: &str) -> bool {
    let wildcard = |ip: &str| matches!(ip, "" | "0.0.0.0" | "::");
    wildcard(a) || wildcard(b) || a == b
}

/// The project's fixed host ports that a running container of another project, or a process of
/// this machine (when the engine runs here), already holds. Ranges are left to the engine,
/// which picks a free port in them.
pub async fn conflicts(engine: &Engine, project: &Project) -> crate::Result<Vec<PortConflict>> {
    let wanted: Vec<Wanted> = project
        .services
        .iter()
        .flat_map(|(service, s)| {
            s.ports.iter().filter_map(move |p| {
                Some(Wanted {
                    service: service.clone(),
                    ip: p.host_ip.clone().unwrap_or_default(),
                    port: p.published.as_deref()?.parse().ok().filter(|p| *p != 0)?,
                    protocol: p.protocol.clone().unwrap_or_else(|| "tcp".to_owned()),
                })
            })
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let running = engine
        .docker()
        .list_containers(Some(ListContainersOptions::default()))
        .await
        .map_err(|cause| Error::Request {
            endpoint: Endpoint(engine.endpoint().to_owned()),
            action: "list the running containers",
            cause,
        })?;
    let mut out = Vec::new();
    let mut unheld = Vec::new();
    'wanted: for w in wanted {
        for c in &running {
            let labels = c.labels.clone().unwrap_or_default();
            let held = c.ports.iter().flatten().any(|p| {
                p.public_port == Some(w.port)
                    && p.typ.map(|t| t.to_string()).as_deref() == Some(w.protocol.as_str())
                    && overlaps(&w.ip, p.ip.as_deref().unwrap_or(""))
            });
            if !held {
                continue;
            }
            // The project's own containers: this `up` keeps or replaces them.
            if labels.get(labels::PROJECT) != Some(&project.name) {
                let name = c
                    .names
                    .iter()
                    .flatten()
                    .next()
                    .map(|n| crate::names::trim_slash(n).to_owned())
                    .unwrap_or_default();
                out.push(conflict(
                    &w,
                    Holder::Container {
                        name,
                        project: labels.get(labels::PROJECT).cloned(),
                        service: labels.get(labels::SERVICE).cloned(),
                    },
                ));
            }
            continue 'wanted;
        }
        unheld.push(w);
    }
    // The host's sockets say something only about an engine on this machine.
    if !unheld.is_empty() && engine.endpoint().starts_with("unix://") {
        let listeners = listeners();
        let mut owners = Owners::default();
        for w in unheld {
            let found = listeners
                .iter()
                .find(|l| l.port == w.port && l.protocol == w.protocol && overlaps(&w.ip, &l.ip));
            if let Some(l) = found {
                out.push(conflict(&w, owners.of(l.inode)));
            }
        }
    }
    Ok(out)
}

/// Fails with every conflict when the project's fixed host ports are held.
pub async fn ensure_free(engine: &Engine, project: &Project) -> Result<(), crate::StackError> {
    let found = conflicts(engine, project).await?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(PortsInUse(found).into())
    }
}

fn conflict(w: &Wanted, holder: Holder) -> PortConflict {
    PortConflict {
        service: w.service.clone(),
        host_ip: w.ip.clone(),
        host_port: w.port,
        protocol: w.protocol.clone(),
        holder,
    }
}

/// A listening socket of this machine's network namespace.
#[derive(Debug, PartialEq, Eq)]
struct Listener {
    ip: String,
    port: u16,
    protocol: String,
    inode: u64,
}

/// The listening TCP sockets and bound UDP sockets in /proc/net; none when it cannot be read.
fn listeners() -> Vec<Listener> {
    let mut out = Vec::new();
    for (file, protocol) in [
        ("tcp", "tcp"),
        ("tcp6", "tcp"),
        ("udp", "udp"),
        ("udp6", "udp"),
    ] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/net/{file}")) {
            out.extend(parse_sockets(&text, protocol));
        }
    }
    out
}

/// The entries of a /proc/net/{tcp,udp}{,6} table that wait for connections: TCP in LISTEN
/// (state 0A), UDP unconnected (state 07).
fn parse_sockets(text: &str, protocol: &str) -> Vec<Listener> {
    let listening = if protocol == "tcp" { "0A" } else { "07" };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            if *state != listening {
                return None;
            }
            let (ip, port) = local.split_once(':')?;
            Some(Listener {
                ip: parse_ip(ip)?.to_string(),
                port: u16::from_str_radix(port, 16).ok()?,
                protocol: protocol.to_owned(),
                inode: inode.parse().ok()?,
            })
        })
        .collect()
}

/// The kernel prints addresses as 32-bit words in host byte order.
fn parse_ip(hex: &str) -> Option<IpAddr> {
    let word = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(&hex[i * 8..i * 8 + 8])?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// Socket inodes to the processes holding them, read from /proc/*/fd once when first asked.
#[derive(Default)]
struct Owners(Option<HashMap<u64, u32>>);

impl Owners {
    fn of(&mut self, inode: u64) -> Holder {
        let map = self.0.get_or_insert_with(socket_owners);
        let pid = map.get(&inode).copied();
        let command = pid.and_then(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            Some(comm.trim_end().to_owned())
        });
        Holder::Process { pid, command }
    }
}

fn socket_owners() -> HashMap<u64, u32> {
    let mut out = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // Other users' descriptors are unreadable without privileges: skipped.
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:["))
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|i| i.parse().ok());
            if let Some(inode) = inode {
                out.entry(inode).or_insert(pid);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_read_from_proc_net() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1578 1 0 100 0 0 10 0
   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1579 1 0 100 0 0 10 0
   2: 0100007F:A2B4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1600 1 0 100 0 0 10 0
";
        let found = parse_sockets(tcp, "tcp");
        assert_eq!(
            found,
            [
                Listener {
                    ip: "0.0.0.0".into(),
                    port: 8080,
                    protocol: "tcp".into(),
                    inode: 1578
                },
                Listener {
                    ip: "127.0.0.1".into(),
                    port: 80,
                    protocol: "tcp".into(),
                    inode: 1579
                },
            ],
            "the established connection is not a listener"
        );
        let tcp6 = "  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1
";
        let ips: Vec<String> = parse_sockets(tcp6, "tcp")
            .into_iter()
            .map(|l| l.ip)
            .collect();
        assert_eq!(ips, ["::", "::1"]);
    }

    #[test]
    fn a_wildcard_overlaps_every_address() {
        assert!(overlaps("", "127.0.0.1"));
        assert!(overlaps("127.0.0.1", "0.0.0.0"));
        assert!(overlaps("10.0.0.1", "::"));
        assert!(overlaps("127.0.0.1", "127.0.0.1"));
        assert!(!overlaps("127.0.0.1", "127.0.0.2"));
    }

    #[test]
    fn the_error_names_the_service_the_port_the_holder_and_the_fix() {
        let e = PortsInUse(vec![
            PortConflict {
                service: "web".into(),
                host_ip: String::new(),
                host_port: 8080,
                protocol: "tcp".into(),
                holder: Holder::Container {
                    name: "shop-web-1".into(),
                    project: Some("shop".into()),
                    service: Some("web".into()),
                },
            },
            PortConflict {
                service: "api".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 3000,
                protocol: "tcp".into(),
                holder: Holder::Process {
                    pid: Some(42),
                    command: Some("python3".into()),
                },
            },
        ]);
        assert_eq!(
            e.to_string(),
            "service web: host port 8080/tcp is already in use by container shop-web-1 of \
             compose project shop\nStop it (docker compose -p shop stop web), or publish web on \
             another host port in the compose file.\n\
             service api: host port 127.0.0.1:3000/tcp is already in use by process python3 \
             (pid 42)\nStop it (kill 42), or publish api on another host port in the compose file."
        );
    }
}

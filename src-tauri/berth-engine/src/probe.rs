//! Berth's own readiness probes for published ports, so a service without a HEALTHCHECK still
//! shows whether it answers: a TCP connect, then (except on well-known ports of servers that are
//! not HTTP) an HTTP GET to see whether the port speaks HTTP.
//!
//! With Docker's userland proxy (the default), a published port accepts connections even when
//! nothing in the container listens: the proxy accepts, fails to reach the container and closes
//! the connection without a byte. That is told apart from a port that answers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use ts_rs::TS;

use crate::backoff::Backoff;
use crate::state::StateHandle;
use crate::subscription::{AbortOnDrop, Demand, Subscription};
use crate::{Container, Health, Publisher};

/// How long a connect may take before the port counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an HTTP answer may take on a port expected to speak HTTP (it has a URL).
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for an answer on any other port: a TCP-only server may never say a word.
const TRY_HTTP_TIMEOUT: Duration = Duration::from_secs(1);
/// How long Docker's proxy may take to close a connection it cannot pass on.
const PROXY_CLOSE: Duration = Duration::from_millis(200);
/// Container ports of servers that do not speak HTTP and take an HTTP request for an error or an
/// attack in their own log (Redis: "Possible SECURITY ATTACK detected"): an open connection is
/// all that is asked of them. Redis, MongoDB, PostgreSQL, MySQL, Memcached, AMQP, Kafka,
/// ZooKeeper, SQL Server, Cassandra, NATS.
const NOT_HTTP_PORTS: &[u16] = &[
    6379, 27017, 5432, 3306, 11211, 5672, 9092, 2181, 1433, 9042, 4222,
];

/// What a probe of one published port found.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProbeResult {
    pub publisher: Publisher,
    /// The address connected to: the publisher's host IP, or loopback for a wildcard.
    pub address: String,
    pub reach: Reach,
    /// Time to connect, when it did.
    pub connect_ms: Option<f64>,
    /// The HTTP answer, when the port speaks HTTP.
    pub http: Option<HttpAnswer>,
    /// When the probe started, in milliseconds since the epoch.
    #[ts(type = "number")]
    pub checked_at_ms: i64,
}

/// Whether the port could be reached.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reach {
    /// Connected, and the server answered or waited for more.
    Open,
    /// Connected, then closed at once without a byte (or, on a port with a URL, without an
    /// answer to a GET): with Docker's userland proxy, nothing in the container listens.
    Closed,
    /// Nothing listens on the host port.
    Refused,
    /// No answer to the connect within the time allowed.
    Timeout,
    Error {
        message: String,
    },
    /// Not probed: the port is not published, or not TCP.
    Skipped {
        reason: String,
    },
}

/// The status line of an HTTP answer.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct HttpAnswer {
    pub status: u16,
    pub reason: String,
    /// From sending the request to the status line.
    pub latency_ms: f64,
}

/// Probes one published port: a TCP connect, then an HTTP GET of `/`. `host` is where the
/// engine publishes ports ([`crate::Engine::port_host`]); `None`: this machine.
pub async fn check(publisher: &Publisher, host: Option<&str>) -> ProbeResult {
    let checked_at_ms = crate::clock::now_ms();
    let mut result = ProbeResult {
        publisher: publisher.clone(),
        address: String::new(),
        reach: Reach::Open,
        connect_ms: None,
        http: None,
        checked_at_ms,
    };
    let skip = |reason: &str| Reach::Skipped {
        reason: reason.to_owned(),
    };
    if publisher.host_port == 0 {
        result.reach = skip("not published on the host");
        return result;
    }
    if publisher.protocol != "tcp" {
        result.reach = skip("only TCP ports are probed");
        return result;
    }
    let address = match (host, target_ip(&publisher.host_ip)) {
        (_, None) => {
            result.reach = Reach::Error {
                message: format!("{:?} is not an IP address", publisher.host_ip),
            };
            return result;
        }
        (Some(_), Some(ip)) if ip.is_loopback() && !wildcard(&publisher.host_ip) => {
            result.reach = skip("published on the engine host's loopback only");
            return result;
        }
        (Some(host), Some(ip)) if wildcard(&publisher.host_ip) => {
            let found = tokio::net::lookup_host((host, publisher.host_port)).await;
            let found: Vec<SocketAddr> = found.into_iter().flatten().collect();
            // The wildcard's family if the host has an address in it.
            let same = found.iter().find(|a| a.is_ipv4() == ip.is_ipv4());
            match same.or(found.first()).copied() {
                Some(address) => address,
                None => {
                    result.reach = Reach::Error {
                        message: format!("cannot resolve the engine's host {host}"),
                    };
                    return result;
                }
            }
        }
        (_, Some(ip)) => SocketAddr::new(ip, publisher.host_port),
    };
    result.address = address.to_string();
    let started = Instant::now();
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await
    {
        Err(_) => {
            result.reach = Reach::Timeout;
            return result;
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            result.reach = Reach::Refused;
            return result;
        }
        Ok(Err(e)) => {
            result.reach = Reach::Error {
                message: e.to_string(),
            };
            return result;
        }
        Ok(Ok(stream)) => stream,
    };
    result.connect_ms = Some(millis(started.elapsed()));
    let wait = match &publisher.url {
        Some(_) => HTTP_TIMEOUT,
        None => {
            // Before trying HTTP on a port not known to speak it: the proxy's close comes at
            // once, and a server that greets first (SMTP, MySQL) is no HTTP server. Redis,
            // for one, closes without a word on an HTTP request, so a close after one proves
            // nothing.
            let mut byte = [0u8; 1];
            match tokio::time::timeout(PROXY_CLOSE, stream.peek(&mut byte)).await {
                Ok(Ok(0)) => {
                    result.reach = Reach::Closed;
                    return result;
                }
                Ok(_) => return result,
                Err(_) if NOT_HTTP_PORTS.contains(&publisher.container_port) => return result,
                Err(_) => TRY_HTTP_TIMEOUT,
            }
        }
    };
    match tokio::time::timeout(wait, http_get(&mut stream, address, host)).await {
        Ok(Ok(Answer::Http(answer))) => result.http = Some(answer),
        // An HTTP server always answers; only the proxy closes without one.
        Ok(Ok(Answer::Nothing)) if publisher.url.is_some() => result.reach = Reach::Closed,
        // Bytes that are not HTTP, a close, a reset or silence: a TCP server.
        Ok(_) | Err(_) => {}
    }
    result
}

fn wildcard(host_ip: &str) -> bool {
    matches!(host_ip, "" | "0.0.0.0" | "::")
}

/// Loopback for a wildcard (or empty) host IP, in the wildcard's family.
fn target_ip(host_ip: &str) -> Option<IpAddr> {
    match host_ip {
        "" | "0.0.0.0" => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        "::" => Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ip => ip.trim_matches(['[', ']']).parse().ok(),
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

enum Answer {
    Http(HttpAnswer),
    /// Closed before sending anything.
    Nothing,
    Other,
}

/// Sends `GET /` (to `Host: localhost`, or the engine's host) and reads up to the end of the
/// status line.
async fn http_get(
    stream: &mut TcpStream,
    address: SocketAddr,
    engine_host: Option<&str>,
) -> std::io::Result<Answer> {
    let host = match (engine_host, address.ip()) {
        (Some(h), _) if h.contains(':') => format!("[{h}]:{}", address.port()),
        (Some(h), _) => format!("{h}:{}", address.port()),
        (None, IpAddr::V4(_)) => format!("localhost:{}", address.port()),
        (None, IpAddr::V6(ip)) => format!("[{ip}]:{}", address.port()),
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-probe\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n"
    );
    let sent = Instant::now();
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            // Reset before a byte: as good as closed.
            Err(e) if head.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.contains(&b'\n') || head.len() >= 1024 {
            break;
        }
    }
    if head.is_empty() {
        return Ok(Answer::Nothing);
    }
    let latency_ms = millis(sent.elapsed());
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok(
        parse_status_line(line).map_or(Answer::Other, |(status, reason)| {
            Answer::Http(HttpAnswer {
                status,
                reason,
                latency_ms,
            })
        }),
    )
}

/// `HTTP/1.1 200 OK` → (200, "OK").
fn parse_status_line(line: &[u8]) -> Option<(u16, String)> {
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let rest = line.strip_prefix("HTTP/")?;
    let (_version, rest) = rest.split_once(' ')?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status: u16 = code.parse().ok().filter(|c| (100..600).contains(c))?;
    Some((status, reason.to_owned()))
}

/// One published port of one container, probed.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PortProbe {
    pub service: String,
    /// The container's name.
    pub container: String,
    pub result: ProbeResult,
}

/// The published ports of the running containers in `containers`, each port once: the engine
/// lists a port's IPv4 and IPv6 bindings apart.
fn targets<'a>(
    containers: impl IntoIterator<Item = &'a Container>,
) -> Vec<(Target, &'a Container, &'a Publisher)> {
    containers
        .into_iter()
        .filter(|c| c.running())
        .flat_map(|c| {
            let mut ports: Vec<&Publisher> = c.ports.iter().filter(|p| p.host_port != 0).collect();
            ports.sort_by_key(|p| (p.host_port, p.protocol.clone(), p.host_ip.contains(':')));
            ports.dedup_by_key(|p| (p.host_port, p.protocol.clone()));
            ports.into_iter().map(move |p| (Target::new(c, p), c, p))
        })
        .collect()
}

/// After a port first fails to answer, how long until it is tried again; the wait doubles up to
/// [`RETRY_MAX`] while it keeps failing. Nothing in the container hears these tries: a port that
/// does not answer has no server behind it yet.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// Changes are gathered this long before a probe round, so a burst of events makes one round.
const SETTLE: Duration = Duration::from_millis(250);

/// One published port of one run of a container in one health state. Each probe of a port that
/// answers is a line in the service's own log (an access log's `GET /`, MongoDB's connection
/// line), so a port is probed when it appears (the container starts, or its health changes) and
/// then only if it did not answer, or when the user asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Target {
    container_id: String,
    started_at: String,
    health: Option<Health>,
    host_port: u16,
    protocol: String,
}

impl Target {
    fn new(c: &Container, p: &Publisher) -> Target {
        Target {
            container_id: c.id.clone(),
            started_at: c.started_at.clone(),
            health: c.health,
            host_port: p.host_port,
            protocol: p.protocol.clone(),
        }
    }
}

/// A probed port, and when it is due again if it did not answer.
struct Known {
    probe: PortProbe,
    retry: Option<Retry>,
}

#[derive(Clone, Copy)]
struct Retry {
    at: Instant,
    backoff: Backoff,
}

/// Whether a probe found the port answering (or not probeable): it is then left alone.
fn settled(result: &ProbeResult) -> bool {
    matches!(result.reach, Reach::Open | Reach::Skipped { .. })
}

/// Asks to probe again that wait for the next round; a round probes each port once however
/// often it was asked.
const ASKS: usize = 8;

/// A user's request to probe a service's published port again.
#[derive(Debug)]
struct Ask {
    service: String,
    host_port: u16,
}

/// Probes a project's published ports while someone is subscribed: each port once when it
/// appears, again while it does not answer, and when the user asks ([`ProberHandle::probe_again`]).
pub struct Prober;

/// A running prober; dropping the last handle stops it.
#[derive(Debug, Clone)]
pub struct ProberHandle {
    shared: Arc<Shared>,
    demand: Demand,
    asks: mpsc::Sender<Ask>,
    _task: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct Shared {
    latest: Mutex<Vec<PortProbe>>,
    tx: broadcast::Sender<Vec<PortProbe>>,
}

impl Prober {
    pub fn spawn(state: StateHandle) -> ProberHandle {
        let shared = Arc::new(Shared {
            latest: Mutex::new(Vec::new()),
            tx: broadcast::channel(16).0,
        });
        let demand = Demand::new();
        // A few asks wait for the next round; more add nothing, so a page that asks without
        // end (or while nobody watches) fills no memory.
        let (asks, asked) = mpsc::channel(ASKS);
        let task = tokio::spawn(run(state, shared.clone(), demand.clone(), asked));
        ProberHandle {
            shared,
            demand,
            asks,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }
}

impl ProberHandle {
    /// The last round's results (empty before the first) and every round that changed them,
    /// each the complete set of published ports of running containers.
    pub fn subscribe(&self) -> (Vec<PortProbe>, Subscription<Vec<PortProbe>>) {
        let interest = self.demand.interest();
        let latest = self.shared.latest.lock().expect("not poisoned");
        let rx = self.shared.tx.subscribe();
        (latest.clone(), Subscription::new(rx, interest))
    }

    /// Probes `service`'s port published on `host_port` again (while someone is subscribed).
    pub fn probe_again(&self, service: &str, host_port: u16) {
        let _ = self.asks.try_send(Ask {
            service: service.to_owned(),
            host_port,
        });
    }
}

async fn run(
    state: StateHandle,
    shared: Arc<Shared>,
    demand: Demand,
    mut asks: mpsc::Receiver<Ask>,
) {
    // Kept while nobody watches, so showing the window again probes only what changed.
    let mut known = HashMap::new();
    loop {
        demand.wanted().await;
        tokio::select! {
            () = demand.unwanted() => {}
            () = probe_while_wanted(&state, &shared, &mut known, &mut asks) => return,
        }
    }
}

/// Returns when the state model ends.
async fn probe_while_wanted(
    state: &StateHandle,
    shared: &Shared,
    known: &mut HashMap<Target, Known>,
    asks: &mut mpsc::Receiver<Ask>,
) {
    let (_, mut changes) = state.subscribe().await;
    let mut asked = Vec::new();
    loop {
        round(state, shared, known, &asked).await;
        asked.clear();
        let next_retry = known.values().filter_map(|k| k.retry).map(|r| r.at).min();
        let retry = async {
            match next_retry {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = retry => {}
            Some(ask) = asks.recv() => asked.push(ask),
            change = changes.recv() => {
                if let Err(broadcast::error::RecvError::Closed) = change {
                    return;
                }
                tokio::time::sleep(SETTLE).await;
                // Everything that came meanwhile is covered by the next round.
                while changes.try_recv().is_ok() {}
            }
        }
        while let Ok(ask) = asks.try_recv() {
            asked.push(ask);
        }
    }
}

/// Probes the ports that are new, due again, or `asked` for, and sends the set if it changed.
async fn round(
    state: &StateHandle,
    shared: &Shared,
    known: &mut HashMap<Target, Known>,
    asked: &[Ask],
) {
    let snapshot = state.snapshot();
    let targets = targets(snapshot.services.values().flat_map(|s| &s.containers));
    let before = known.len();
    known.retain(|t, _| targets.iter().any(|(current, _, _)| current == t));
    let mut changed = known.len() != before;
    let now = Instant::now();
    let due = targets.into_iter().filter(|(t, c, p)| {
        let asked = asked
            .iter()
            .any(|a| a.service == c.service && a.host_port == p.host_port);
        match known.get(t) {
            None => true,
            Some(k) => asked || k.retry.is_some_and(|r| r.at <= now),
        }
    });
    let probes = due.map(|(t, c, p)| async move {
        let probe = PortProbe {
            service: c.service.clone(),
            container: c.name.clone(),
            result: check(p, state.port_host()).await,
        };
        (t, probe)
    });
    for (target, probe) in futures_util::future::join_all(probes).await {
        let retry = (!settled(&probe.result)).then(|| {
            let mut backoff = known
                .get(&target)
                .and_then(|k| k.retry)
                .map_or_else(|| Backoff::between(RETRY_FIRST, RETRY_MAX), |r| r.backoff);
            Retry {
                at: Instant::now() + backoff.wait(),
                backoff,
            }
        });
        known.insert(target, Known { probe, retry });
        changed = true;
    }
    if !changed {
        return;
    }
    let mut probes: Vec<PortProbe> = known.values().map(|k| k.probe.clone()).collect();
    probes.sort_by(|a, b| {
        (&a.service, &a.container, a.result.publisher.host_port).cmp(&(
            &b.service,
            &b.container,
            b.result.publisher.host_port,
        ))
    });
    // Sent under the lock, so a new subscriber's results and its feed leave no gap.
    let mut latest = shared.latest.lock().expect("not poisoned");
    *latest = probes.clone();
    let _ = shared.tx.send(probes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_and_anything_else_is_not_http() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 200 OK\r"),
            Some((200, "OK".to_owned()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.0 404 Not Found"),
            Some((404, "Not Found".to_owned()))
        );
        assert_eq!(parse_status_line(b"HTTP/2 204"), Some((204, String::new())));
        assert_eq!(parse_status_line(b"-ERR unknown command 'GET'\r"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 999 What"), None);
        assert_eq!(parse_status_line(b"GET / HTTP/1.1\r"), None);
    }

    #[test]
    fn wildcards_are_probed_on_loopback() {
        assert_eq!(target_ip(""), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(target_ip("0.0.0.0"), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(target_ip("::"), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(target_ip("192.168.1.4"), "192.168.1.4".parse().ok());
        assert_eq!(target_ip("nonsense"), None);
    }
}

//! Readiness probes against real listeners: an HTTP server in a container, a TCP-only one
//! (Redis), a published port nothing in the container listens on, and a closed port; the prober
//! following the stack's state.

use std::time::Duration;

use berth_engine::probe::{self, PortProbe, Prober, Reach};
use berth_engine::{Progress, Publisher, Subscription, UpOptions};
use berth_tests::engine;
use berth_tests::stacks::{TestStack, free_port};
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;

const YAML: &str = "services:
  web:
    image: berth-test/nginx:1
    ports: ['127.0.0.1::80']
  cache:
    image: berth-test/redis:1
    ports: ['127.0.0.1::6379']
  mute:
    image: berth-test/busybox:1
    command: [sleep, '600']
    ports: ['127.0.0.1::7000']
";

/// The published port of `service`, from the engine.
async fn publisher(stack: &TestStack, service: &str) -> Publisher {
    let containers = stack.containers().await;
    let c = containers
        .iter()
        .find(|c| c.service == service)
        .unwrap_or_else(|| panic!("no container of {service}"));
    c.ports
        .iter()
        .find(|p| p.host_port != 0)
        .unwrap_or_else(|| panic!("{service} publishes no port: {:?}", c.ports))
        .clone()
}

/// Everything `service`'s container has logged so far.
async fn container_log(stack: &TestStack, service: &str) -> String {
    let containers = stack.containers().await;
    let c = containers
        .iter()
        .find(|c| c.service == service)
        .expect("a container");
    let options = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
    let frames: Vec<_> = engine()
        .await
        .docker()
        .logs(&c.id, Some(options))
        .collect()
        .await;
    frames
        .into_iter()
        .map(|f| {
            f.expect("the engine reads the container's logs")
                .to_string()
        })
        .collect()
}

/// Checks until `wanted` accepts the result (a server may take a moment to listen).
async fn check_until(
    p: &Publisher,
    wanted: impl Fn(&probe::ProbeResult) -> bool,
) -> probe::ProbeResult {
    let mut last = None;
    for _ in 0..40 {
        let result = probe::check(p, None).await;
        if wanted(&result) {
            return result;
        }
        last = Some(result);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("never as expected; last: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_tell_http_from_tcp_from_nothing() {
    let stack = TestStack::new("probe", YAML).await;
    stack.up(UpOptions::default()).await.unwrap();

    let web = publisher(&stack, "web").await;
    assert_eq!(web.url, Some(format!("http://localhost:{}", web.host_port)));
    let result = check_until(&web, |r| r.http.is_some()).await;
    assert_eq!(result.reach, Reach::Open);
    assert_eq!(result.address, format!("127.0.0.1:{}", web.host_port));
    let http = result.http.unwrap();
    assert_eq!((http.status, http.reason.as_str()), (200, "OK"));
    assert!(
        http.latency_ms > 0.0 && http.latency_ms < 5000.0,
        "{http:?}"
    );
    assert!(result.connect_ms.is_some_and(|ms| ms > 0.0));

    // Redis is open, not HTTP, and is never sent an HTTP request: it would log each one as a
    // "Possible SECURITY ATTACK" among the user's logs.
    let cache = publisher(&stack, "cache").await;
    assert_eq!(cache.url, None);
    let result = check_until(&cache, |r| r.reach == Reach::Open).await;
    assert_eq!(result.http, None, "{result:?}");
    for _ in 0..3 {
        assert_eq!(probe::check(&cache, None).await.reach, Reach::Open);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = container_log(&stack, "cache").await;
    assert!(log.contains("Ready to accept connections"), "{log}");
    assert!(!log.contains("SECURITY ATTACK"), "{log}");

    // Docker's proxy accepts on the host port, but nothing in the container listens.
    let mute = publisher(&stack, "mute").await;
    let result = probe::check(&mute, None).await;
    assert!(
        matches!(result.reach, Reach::Closed | Reach::Refused),
        "{result:?}"
    );
    assert_eq!(result.http, None);

    let closed = Publisher {
        host_ip: "127.0.0.1".into(),
        host_port: free_port(),
        container_port: 80,
        protocol: "tcp".into(),
        url: None,
    };
    let result = probe::check(&closed, None).await;
    assert_eq!(result.reach, Reach::Refused);
    assert_eq!((result.connect_ms, result.http), (None, None));

    let udp = Publisher {
        protocol: "udp".into(),
        ..closed
    };
    assert!(matches!(
        probe::check(&udp, None).await.reach,
        Reach::Skipped { .. }
    ));
}

/// The next round whose probes `wanted` accepts, within a minute.
async fn round_where(
    feed: &mut Subscription<Vec<PortProbe>>,
    what: &str,
    wanted: impl Fn(&[PortProbe]) -> bool,
) -> Vec<PortProbe> {
    let limit = Duration::from_secs(60);
    tokio::time::timeout(limit, async {
        loop {
            let round = feed.recv().await.expect("the prober runs");
            if wanted(&round) {
                return round;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no round with {what} within {limit:?}"))
}

fn web_ok(round: &[PortProbe]) -> bool {
    round
        .iter()
        .any(|p| p.service == "web" && p.result.http.as_ref().is_some_and(|h| h.status == 200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prober_follows_the_stack() {
    let stack = TestStack::new("prober", YAML).await;
    stack.up(UpOptions::default()).await.unwrap();
    let prober = Prober::spawn(stack.stack.watch());
    let (first, mut feed) = prober.subscribe();
    assert!(first.is_empty(), "no round before the first subscriber");

    let round = round_where(&mut feed, "web answering", web_ok).await;
    let mut services: Vec<&str> = round.iter().map(|p| p.service.as_str()).collect();
    services.sort();
    assert_eq!(services, ["cache", "mute", "web"]);

    // A later subscriber starts from the last round.
    let (latest, second) = prober.subscribe();
    assert_eq!(latest.len(), 3);
    drop(second);

    let web = ["web".to_owned()];
    stack.stack.stop(&web, &Progress::default()).await.unwrap();
    round_where(&mut feed, "web gone", |r| {
        r.len() == 2 && r.iter().all(|p| p.service != "web")
    })
    .await;
    stack.stack.start(&web, &Progress::default()).await.unwrap();
    round_where(&mut feed, "web back", web_ok).await;
}

/// A server that logs every HTTP request and every TCP connection, as an access log and MongoDB
/// do, with a third port that starts listening only after four seconds.
const LOGGING: &str = r#"services:
  api:
    image: berth-test/node:1
    command:
      - node
      - -e
      - |
        const http = require('http'), net = require('net');
        const web = () => http.createServer((q, s) => { console.log('http ' + q.method + ' ' + q.url); s.end('ok'); });
        web().listen(3000);
        net.createServer((c) => { console.log('tcp connect'); c.on('error', () => {}); }).listen(27017);
        setTimeout(() => web().listen(8080), 4000);
    ports: ['127.0.0.1::3000', '127.0.0.1::27017', '127.0.0.1::8080']
  other:
    image: berth-test/busybox:1
    command: [sleep, '600']
"#;

/// The lines `api` has logged for probes (requests and connections).
async fn probe_lines(stack: &TestStack) -> Vec<String> {
    let log = container_log(stack, "api").await;
    log.lines()
        .filter(|l| l.starts_with("http ") || l.starts_with("tcp "))
        .map(str::to_owned)
        .collect()
}

/// [`probe_lines`] once `http` requests and `tcp` connections are logged (a line reaches the
/// engine's log a moment after the answer).
async fn probe_lines_when(stack: &TestStack, http: usize, tcp: usize) -> Vec<String> {
    let counts = |lines: &[String]| {
        let count = |what: &str| lines.iter().filter(|l| *l == what).count();
        (count("http GET /"), count("tcp connect"))
    };
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = probe_lines(stack).await;
        if counts(&lines) == (http, tcp) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not {http} requests and {tcp} connections: {lines:?}");
}

fn port_answers(round: &[PortProbe], container_port: u16) -> bool {
    round.iter().any(|p| {
        p.result.publisher.container_port == container_port && p.result.reach == Reach::Open
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_stack_gets_no_probe_after_the_first_unless_asked() {
    let stack = TestStack::new("probe-quiet", LOGGING).await;
    stack.up(UpOptions::default()).await.unwrap();
    let prober = Prober::spawn(stack.stack.watch());
    let (_, mut feed) = prober.subscribe();

    // The late port is tried again until it answers (no server there hears the tries).
    let round = round_where(&mut feed, "every port answering", |r| {
        [3000, 27017, 8080].iter().all(|p| port_answers(r, *p))
    })
    .await;
    let http = |port: u16| {
        round
            .iter()
            .find(|p| p.result.publisher.container_port == port)
            .and_then(|p| p.result.http.clone())
    };
    assert_eq!(http(3000).map(|h| h.status), Some(200));
    assert_eq!(http(8080).map(|h| h.status), Some(200));
    assert_eq!(http(27017), None);
    let first = probe_lines_when(&stack, 2, 1).await;

    // Events that change nothing about the ports, then a steady stack for longer than any
    // periodic probe would wait: the service's log gains nothing.
    let other = ["other".to_owned()];
    stack
        .stack
        .stop(&other, &Progress::default())
        .await
        .unwrap();
    stack
        .stack
        .start(&other, &Progress::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(35)).await;
    assert_eq!(probe_lines(&stack).await, first);

    // The user asks for one port again: one request, and a round with its new result.
    let port = round
        .iter()
        .find(|p| p.result.publisher.container_port == 3000)
        .expect("port 3000 probed");
    let before = port.result.checked_at_ms;
    prober.probe_again("api", port.result.publisher.host_port);
    round_where(&mut feed, "port 3000 probed again", |r| {
        r.iter()
            .any(|p| p.result.publisher.container_port == 3000 && p.result.checked_at_ms > before)
    })
    .await;
    probe_lines_when(&stack, 3, 1).await;
}

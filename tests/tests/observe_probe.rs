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
        let result = probe::check(p).await;
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
        assert_eq!(probe::check(&cache).await.reach, Reach::Open);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = container_log(&stack, "cache").await;
    assert!(log.contains("Ready to accept connections"), "{log}");
    assert!(!log.contains("SECURITY ATTACK"), "{log}");

    // Docker's proxy accepts on the host port, but nothing in the container listens.
    let mute = publisher(&stack, "mute").await;
    let result = probe::check(&mute).await;
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
    let result = probe::check(&closed).await;
    assert_eq!(result.reach, Reach::Refused);
    assert_eq!((result.connect_ms, result.http), (None, None));

    let udp = Publisher {
        protocol: "udp".into(),
        ..closed
    };
    assert!(matches!(
        probe::check(&udp).await.reach,
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

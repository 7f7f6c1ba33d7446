//! Waiting on dependencies and `--wait` follows the engine's events: the containers are
//! inspected when something happens to them, not on a timer, and a wait that cannot succeed
//! fails with the dependency's last health check output.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth_engine::{Engine, Progress, Stack, StackError, UpOptions};
use berth_tests::stacks::{TestStack, load};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// A unix socket in front of the Docker daemon the tests use (DOCKER_HOST's socket, else the
/// default one) that counts the container inspects sent through.
async fn counting_proxy(path: PathBuf) -> Arc<AtomicUsize> {
    let daemon_socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("bind the proxy socket");
    let inspects = Arc::new(AtomicUsize::new(0));
    let count = inspects.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let count = count.clone();
            let daemon_socket = daemon_socket.clone();
            tokio::spawn(async move {
                let Ok(daemon) = UnixStream::connect(&daemon_socket).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut daemon_read, mut daemon_write) = daemon.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut daemon_read, &mut client_write).await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = client_read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]);
                    let inspects = text
                        .lines()
                        .filter(|l| l.starts_with("GET ") && l.contains("/containers/"))
                        .filter(|l| l.contains("/json ") && !l.contains("/containers/json"))
                        .count();
                    count.fetch_add(inspects, Ordering::Relaxed);
                    if daemon_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    inspects
}

#[tokio::test]
async fn a_dependency_turning_healthy_is_seen_from_its_events_not_by_polling() {
    // db becomes healthy about 3 s after it starts; a 100 ms poll would inspect it ~30 times.
    let yaml = r#"
services:
  db:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 3; touch /tmp/ready; sleep 600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 500ms
      retries: 20
  api:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      db: { condition: service_healthy }
"#;
    let t = TestStack::new("wait-events", yaml).await;
    let socket = t.dir.join("docker.sock");
    let inspects = counting_proxy(socket.clone()).await;
    let engine = Engine::connect_to(&format!("unix://{}", socket.display()))
        .await
        .expect("connect through the proxy");
    let stack = Stack::new(engine, load(&t.dir, &t.name));
    let started = Instant::now();
    let opts = UpOptions {
        wait: true,
        ..Default::default()
    };
    stack
        .up(&opts, &Progress::default())
        .await
        .expect("up --wait");
    let took = started.elapsed();
    let containers = t.containers().await;
    assert!(containers.iter().all(|c| c.running() && !c.name.is_empty()));
    assert!(
        took >= Duration::from_secs(3),
        "db cannot be healthy before 3 s"
    );
    let n = inspects.load(Ordering::Relaxed);
    // The up's own inspects (existing containers, images' users) plus one per event.
    eprintln!("{n} container inspects in {took:?}");
    assert!(
        n <= 12,
        "{n} container inspects in {took:?}: the wait polls"
    );
}

#[tokio::test]
async fn a_health_check_that_times_out_fails_the_dependent_with_dockers_words() {
    let yaml = r#"
services:
  db:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD", "sleep", "5"]
      interval: 300ms
      timeout: 200ms
      retries: 1
  api:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      db: { condition: service_healthy }
"#;
    let t = TestStack::new("wait-check-timeout", yaml).await;
    let err = t.up(UpOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, StackError::DependencyUnhealthy { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("service api"), "{message}");
    assert!(message.contains("exceeded timeout"), "{message}");
}

#[tokio::test]
async fn a_dependency_still_starting_at_the_wait_timeout_is_named_with_its_last_check() {
    // Failures during the start period do not count: db stays `starting` for a minute.
    let yaml = r#"
services:
  db:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD-SHELL", "echo still loading; exit 1"]
      interval: 200ms
      start_period: 60s
  api:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      db: { condition: service_healthy }
"#;
    let t = TestStack::new("wait-dep-timeout", yaml).await;
    let started = Instant::now();
    let err = t
        .up(UpOptions {
            wait: true,
            wait_timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout held"
    );
    let StackError::DependencyTimeout {
        service,
        dependency,
        output,
        ..
    } = &err
    else {
        panic!("expected DependencyTimeout, got {err:?}");
    };
    assert_eq!((service.as_str(), dependency.as_str()), ("api", "db"));
    assert_eq!(output, "still loading");
    assert!(err.to_string().contains("--wait-timeout"), "{err}");
}

#[tokio::test]
async fn a_service_that_restarts_once_and_runs_is_waited_for() {
    // As an API that exits while its database starts, then runs once restarted.
    let yaml = r#"
services:
  backend:
    image: berth-test/busybox:1
    command: ["sh", "-c", "[ -e /tmp/once ] && exec sleep 600; touch /tmp/once; exit 3"]
    restart: on-failure
"#;
    let t = TestStack::new("wait-restart-once", yaml).await;
    t.up(UpOptions {
        wait: true,
        wait_timeout: Some(Duration::from_secs(30)),
        ..Default::default()
    })
    .await
    .expect("one restart is not a loop");
    let c = &t.containers().await[0];
    assert!(c.running(), "{c:?}");
    assert_eq!(c.restart_count, 1);
}

#[tokio::test]
async fn a_service_in_a_restart_loop_fails_the_wait_at_once_saying_so() {
    let yaml = r#"
services:
  backend:
    image: berth-test/busybox:1
    command: ["sh", "-c", "exit 3"]
    restart: always
"#;
    let wait = || UpOptions {
        wait: true,
        wait_timeout: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let t = TestStack::new("wait-restart-loop", yaml).await;
    let started = Instant::now();
    let err = t.up(wait()).await.expect_err("backend never stays up");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}: {err}",
        started.elapsed()
    );
    let StackError::Restarting {
        service,
        exit_code,
        restarts,
        ..
    } = &err
    else {
        panic!("expected Restarting, got {err:?}");
    };
    assert_eq!((service.as_str(), *exit_code), ("backend", 3));
    assert!(*restarts >= 1, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("backend is restarting (exit 3, restarted"),
        "{message}"
    );

    // Without a restart policy it stays exited, which is said as such.
    let once = TestStack::new("wait-exits-at-once", &yaml.replace("always", "\"no\"")).await;
    let err = once.up(wait()).await.expect_err("backend exits at once");
    assert!(
        matches!(&err, StackError::Exited { exit_code: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_dependency_that_was_healthy_and_exited_is_said_to_have_exited() {
    // api waits for cache first (in name order), which turns healthy once db has exited: db
    // was healthy, and then exits 0. cache's check passes a second after db's last act, so db's
    // exit is in the engine's events before cache is healthy (without it, a loaded machine saw
    // db still running when api's wait reached it, and up succeeded).
    let yaml = r#"
services:
  cache:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    volumes: [shared:/shared]
    healthcheck:
      test: ["CMD-SHELL", "test -f /shared/db-done && sleep 1"]
      interval: 200ms
      retries: 100
  db:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 1; touch /shared/db-done"]
    volumes: [shared:/shared]
    healthcheck:
      test: ["CMD", "echo", "PONG"]
      interval: 200ms
  api:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      cache: { condition: service_healthy }
      db: { condition: service_healthy }
volumes:
  shared: {}
"#;
    let t = TestStack::new("wait-dep-exited", yaml).await;
    let err = t.up(UpOptions::default()).await.unwrap_err();
    let StackError::DependencyExited {
        service,
        dependency,
        exit_code,
    } = &err
    else {
        panic!("expected DependencyExited, got {err:?}");
    };
    assert_eq!(
        (service.as_str(), dependency.as_str(), *exit_code),
        ("api", "db", 0)
    );
    let message = err.to_string();
    assert!(message.contains("exited with code 0"), "{message}");
    assert!(!message.contains("unhealthy"), "{message}");
    let api = t
        .containers()
        .await
        .into_iter()
        .find(|c| c.service == "api")
        .unwrap();
    assert_eq!(
        api.state,
        berth_engine::ContainerState::Created,
        "api must not start, as with compose"
    );
}

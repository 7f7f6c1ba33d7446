//! `up` and `down` against the real engine: dependency order and conditions, recreate on
//! change, replicas, and the failures a user must be told about in words they can act on.

use berth_engine::{ContainerState, DownOptions, Health, Progress, StackError, UpOptions};
use berth_tests::stacks::{Cleanup, TestStack, free_port};
use berth_tests::{docker, engine, fixture, unique_project};

fn started_at(containers: &[berth_engine::Container], service: &str) -> String {
    containers
        .iter()
        .find(|c| c.service == service)
        .unwrap_or_else(|| panic!("no {service} container"))
        .started_at
        .clone()
}

#[tokio::test]
async fn the_fixture_stack_comes_up_healthy_in_dependency_order_and_goes_down() {
    let name = unique_project("fixture");
    let project = berth_tests::stacks::load(&fixture("stack"), &name);
    let stack = berth_engine::Stack::new(engine().await, project);
    let _cleanup = Cleanup(name.clone());
    let opts = UpOptions {
        wait: true,
        ..Default::default()
    };
    stack
        .up(&opts, &Progress::default())
        .await
        .expect("up --wait");

    let containers = stack.ps(true).await.unwrap();
    let mut health: Vec<String> = containers
        .iter()
        .map(|c| {
            let health = c.health.map_or("", Health::as_str);
            format!("{} {} {health}", c.name, c.state)
        })
        .collect();
    health.sort();
    assert_eq!(
        health,
        ["backend", "frontend", "mongodb", "redis"]
            .map(|s| format!("{name}-{s}-1 running healthy"))
    );
    // service_healthy: backend starts only after mongodb and redis, frontend after backend.
    let (backend, frontend) = (
        started_at(&containers, "backend"),
        started_at(&containers, "frontend"),
    );
    assert!(started_at(&containers, "mongodb") < backend);
    assert!(started_at(&containers, "redis") < backend);
    assert!(backend < frontend);

    let down = DownOptions {
        volumes: true,
        ..Default::default()
    };
    stack
        .down(&down, &Progress::default())
        .await
        .expect("down -v");
    assert!(stack.ps(true).await.unwrap().is_empty());
    let docker = stack.engine().docker();
    for network in ["web", "data"] {
        let gone = docker
            .inspect_network(&format!("{name}_{network}"), None)
            .await;
        assert!(gone.is_err(), "network {network} is left");
    }
    assert!(
        docker
            .inspect_volume(&format!("{name}_mongo-data"))
            .await
            .is_err()
    );
}

const TWO: &str = r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    environment: { GREETING: hello }
  cache:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
"#;

#[tokio::test]
async fn an_unchanged_up_changes_nothing_and_a_changed_service_alone_is_recreated() {
    let mut t = TestStack::new("recreate", TWO).await;
    t.up_wait().await;
    let before = t.ids().await;
    assert_eq!(before.len(), 2);

    t.up_wait().await;
    assert_eq!(t.ids().await, before, "an unchanged up recreated something");

    t.rewrite(&TWO.replace("GREETING: hello", "GREETING: bonjour"));
    t.up_wait().await;
    let after = t.ids().await;
    let web = format!("{}-web-1", t.name);
    let cache = format!("{}-cache-1", t.name);
    assert_ne!(
        after[&web], before[&web],
        "the changed service was not recreated"
    );
    assert_eq!(
        after[&cache], before[&cache],
        "an unchanged service was recreated"
    );
}

#[tokio::test]
async fn a_recreated_dependency_restarts_dependents_that_ask_for_it() {
    let yaml = r#"
services:
  db:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    environment: { VERSION: "1" }
  follows:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      db: { condition: service_started, restart: true }
  ignores:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on: [db]
"#;
    let mut t = TestStack::new("dep-restart", yaml).await;
    t.up_wait().await;
    let before = t.containers().await;
    t.rewrite(&yaml.replace(r#"VERSION: "1""#, r#"VERSION: "2""#));
    t.up_wait().await;
    let after = t.containers().await;
    let id = |cs: &[berth_engine::Container], s: &str| {
        cs.iter().find(|c| c.service == s).unwrap().id.clone()
    };
    assert_ne!(id(&after, "db"), id(&before, "db"));
    assert_eq!(
        id(&after, "follows"),
        id(&before, "follows"),
        "kept, not recreated"
    );
    assert!(
        started_at(&after, "follows") > started_at(&before, "follows"),
        "not restarted"
    );
    assert_eq!(
        started_at(&after, "ignores"),
        started_at(&before, "ignores")
    );
}

#[tokio::test]
async fn replicas_get_numbered_containers_and_scaling_down_removes_the_highest() {
    let yaml = r#"
services:
  worker:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    deploy: { replicas: 3 }
"#;
    let mut t = TestStack::new("replicas", yaml).await;
    t.up_wait().await;
    let names: Vec<String> = t.ids().await.into_keys().collect();
    assert_eq!(
        names,
        (1..=3)
            .map(|n| format!("{}-worker-{n}", t.name))
            .collect::<Vec<_>>()
    );
    t.rewrite(&yaml.replace("replicas: 3", "replicas: 1"));
    t.up_wait().await;
    let names: Vec<String> = t.ids().await.into_keys().collect();
    assert_eq!(names, [format!("{}-worker-1", t.name)]);
}

#[tokio::test]
async fn a_one_shot_must_complete_before_its_dependent_starts() {
    let yaml = r#"
services:
  migrate:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 1; exit 0"]
  app:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      migrate: { condition: service_completed_successfully }
"#;
    let t = TestStack::new("oneshot", yaml).await;
    t.up_wait().await;
    let containers = t.containers().await;
    let migrate = containers.iter().find(|c| c.service == "migrate").unwrap();
    let app = containers.iter().find(|c| c.service == "app").unwrap();
    assert_eq!(
        (migrate.state, migrate.exit_code),
        (ContainerState::Exited, 0)
    );
    assert!(app.running());

    let failing = TestStack::new("oneshot-fails", &yaml.replace("exit 0", "exit 3")).await;
    let err = failing.up(UpOptions::default()).await.unwrap_err();
    match &err {
        StackError::DependencyFailed {
            service,
            dependency,
            exit_code,
        } => {
            assert_eq!(
                (service.as_str(), dependency.as_str(), *exit_code),
                ("app", "migrate", 3)
            );
        }
        other => panic!("expected DependencyFailed, got {other:?}"),
    }
    let app = failing
        .containers()
        .await
        .into_iter()
        .find(|c| c.service == "app")
        .unwrap();
    assert_eq!(
        app.state,
        ContainerState::Created,
        "the dependent must not start"
    );
}

#[tokio::test]
async fn a_health_check_that_never_passes_fails_the_dependent_and_wait_with_its_output() {
    let yaml = r#"
services:
  db:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD-SHELL", "echo db is not ready; exit 1"]
      interval: 200ms
      retries: 2
  api:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      db: { condition: service_healthy }
"#;
    let t = TestStack::new("unhealthy", yaml).await;
    let err = t
        .up(UpOptions {
            wait: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, StackError::DependencyUnhealthy { .. }),
        "{err:?}"
    );
    assert!(message.contains("service api"), "{message}");
    assert!(message.contains("db is not ready"), "{message}");

    // A dependency that has no health check can never become healthy: said at once.
    let unchecked = TestStack::new(
        "unchecked",
        &yaml.replace("    healthcheck:\n", "    x-healthcheck:\n"),
    )
    .await;
    let err = unchecked.up(UpOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("no health check"), "{err}");

    // --wait alone (no dependent) fails on the unhealthy service itself.
    let alone = TestStack::new("unhealthy-wait", &yaml[..yaml.find("  api:").unwrap()]).await;
    let err = alone
        .up(UpOptions {
            wait: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StackError::Unhealthy { .. }), "{err:?}");
    assert!(err.to_string().contains("db is not ready"), "{err}");
}

#[tokio::test]
async fn a_taken_host_port_is_named_with_the_container_holding_it() {
    let port = free_port();
    let yaml = format!(
        r#"
services:
  web:
    image: berth-test/nginx:1
    ports: ["{port}:80"]
"#
    );
    let holder = TestStack::new("port-holder", &yaml).await;
    holder.up_wait().await;
    let t = TestStack::new("port-taker", &yaml).await;
    let err = t.up(UpOptions::default()).await.unwrap_err();
    // Found before anything is created (berth_engine::ports; tests/tests/e2e/observe_ports.rs).
    match &err {
        StackError::PortsInUse(found) => {
            let [c] = &found.0[..] else {
                panic!("one conflict: {found:?}")
            };
            assert_eq!((c.service.as_str(), c.host_port), ("web", port));
            assert_eq!(
                c.holder,
                berth_engine::ports::Holder::Container {
                    name: format!("{}-web-1", holder.name),
                    project: Some(holder.name.clone()),
                    service: Some("web".into()),
                }
            );
        }
        other => panic!("expected PortsInUse, got {other:?}"),
    }
    assert!(err.to_string().contains(&port.to_string()));
}

#[tokio::test]
async fn a_missing_secret_file_is_refused_before_anything_is_created() {
    let yaml = r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    secrets: [token]
secrets:
  token:
    file: ./missing/token.txt
"#;
    let t = TestStack::new("missing-secret", yaml).await;
    let err = t.up(UpOptions::default()).await.unwrap_err();
    let text = err.to_string();
    let path = t.dir.join("missing/token.txt");
    assert!(matches!(err, StackError::FileMissing { .. }), "{err:?}");
    for part in [
        "service web".to_owned(),
        "secret \"token\"".to_owned(),
        path.display().to_string(),
    ] {
        assert!(text.contains(&part), "{part} in {text}");
    }
    // Docker creates a missing bind source as a root-owned directory; nothing may be there.
    assert!(
        !t.dir.join("missing").exists(),
        "created {}",
        path.display()
    );
    let label = format!("label=com.docker.compose.project={}", t.name);
    let containers = docker(&["ps", "-aq", "--filter", &label]);
    assert!(containers.trim().is_empty(), "containers: {containers}");
    let networks = docker(&["network", "ls", "-q", "--filter", &label]);
    assert!(networks.trim().is_empty(), "networks: {networks}");
}

#[tokio::test]
async fn a_missing_image_that_cannot_be_pulled_names_the_service_and_image() {
    let yaml = r#"
services:
  ghost:
    image: berth-test/does-not-exist:1
"#;
    let t = TestStack::new("missing-image", yaml).await;
    let err = t.up(UpOptions::default()).await.unwrap_err();
    match &err {
        StackError::ImageMissing { service, image, .. } => {
            assert_eq!(
                (service.as_str(), image.as_str()),
                ("ghost", "berth-test/does-not-exist:1")
            );
        }
        other => panic!("expected ImageMissing, got {other:?}"),
    }
}

#[tokio::test]
async fn a_service_subset_pulls_in_its_dependencies_only() {
    let yaml = r#"
services:
  db:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
  api:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on: [db]
  other:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
  tools:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    profiles: [debug]
"#;
    let t = TestStack::new("subset", yaml).await;
    let opts = UpOptions {
        services: vec!["api".into()],
        ..Default::default()
    };
    t.up(opts).await.unwrap();
    let mut services: Vec<String> = t
        .containers()
        .await
        .into_iter()
        .map(|c| c.service)
        .collect();
    services.sort();
    assert_eq!(services, ["api", "db"]);
    // Naming a service whose profile is off enables it, as compose does.
    let opts = UpOptions {
        services: vec!["tools".into()],
        ..Default::default()
    };
    t.up(opts).await.unwrap();
    assert!(t.containers().await.iter().any(|c| c.service == "tools"));
}

#[tokio::test]
async fn a_cancelled_up_stops_and_says_what_it_created() {
    let yaml = r#"
services:
  slow:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 10s
  after:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      slow: { condition: service_healthy }
"#;
    let t = TestStack::new("cancel", yaml).await;
    let cancel = berth_engine::CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        trigger.cancel();
    });
    let err = t
        .stack
        .up_cancellable(&UpOptions::default(), &Progress::default(), &cancel)
        .await
        .unwrap_err();
    let StackError::Cancelled { created } = &err else {
        panic!("expected Cancelled, got {err:?}");
    };
    assert!(
        created.contains(&format!("container {}-slow-1", t.name)),
        "{created:?}"
    );
    assert!(
        created.contains(&format!("network {}_default", t.name)),
        "{created:?}"
    );
    let after = t
        .containers()
        .await
        .into_iter()
        .find(|c| c.service == "after")
        .unwrap();
    assert_eq!(
        after.state,
        ContainerState::Created,
        "a cancelled up must not go on starting"
    );
}

#[tokio::test]
async fn a_service_with_build_is_built_through_the_engine() {
    let yaml = r#"
services:
  app:
    build: ./app
    command: ["cat", "/greeting"]
"#;
    let t = TestStack::new("build", yaml).await;
    std::fs::create_dir_all(t.dir.join("app")).unwrap();
    std::fs::write(
        t.dir.join("app/Dockerfile"),
        "FROM berth-test/busybox:1\nCOPY greeting /greeting\n",
    )
    .unwrap();
    std::fs::write(t.dir.join("app/greeting"), "built by berth\n").unwrap();
    let (progress, mut rx) = Progress::channel();
    t.stack
        .up(&UpOptions::default(), &progress)
        .await
        .expect("up with a build");
    drop(progress);
    let mut output = Vec::new();
    while let Some(event) = rx.recv().await {
        if let berth_engine::ProgressEvent::BuildOutput { line, .. } = event {
            output.push(line);
        }
    }
    assert!(
        output.iter().any(|l| l.contains("COPY greeting")),
        "{output:?}"
    );
    let image = format!("{}-app", t.name);
    let docker = t.stack.engine().docker();
    assert!(docker.inspect_image(&image).await.is_ok());
    let force = bollard::query_parameters::RemoveImageOptions {
        force: true,
        ..Default::default()
    };
    let _ = docker.remove_image(&image, Some(force), None).await;
}

#[tokio::test]
async fn wait_gives_up_after_its_timeout_naming_what_is_not_ready() {
    let yaml = r#"
services:
  slow:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 30s
"#;
    let t = TestStack::new("wait-timeout", yaml).await;
    let opts = UpOptions {
        wait: true,
        wait_timeout: Some(std::time::Duration::from_secs(1)),
        ..Default::default()
    };
    let err = t.up(opts).await.unwrap_err();
    let StackError::WaitTimeout { pending } = &err else {
        panic!("expected WaitTimeout, got {err:?}");
    };
    assert_eq!(pending, &[format!("{}-slow-1", t.name)]);
}

#[tokio::test]
async fn a_failing_build_names_the_service_and_the_step_that_failed() {
    let yaml = r#"
services:
  app:
    build: .
"#;
    let t = TestStack::new("build-fails", yaml).await;
    std::fs::write(
        t.dir.join("Dockerfile"),
        "FROM berth-test/busybox:1\nRUN echo the step fails && exit 7\n",
    )
    .unwrap();
    let err = t.up(UpOptions::default()).await.unwrap_err();
    let StackError::Build {
        service, message, ..
    } = &err
    else {
        panic!("expected Build, got {err:?}");
    };
    assert_eq!(service, "app");
    assert!(
        message.contains("exit 7") || message.contains("code: 7"),
        "{message}"
    );
}

#[tokio::test]
async fn an_optional_dependency_that_is_not_enabled_is_skipped() {
    let yaml = r#"
services:
  app:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    depends_on:
      tools: { condition: service_started, required: false }
  tools:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    profiles: [debug]
"#;
    let t = TestStack::new("optional-dep", yaml).await;
    t.up_wait().await;
    let services: Vec<String> = t
        .containers()
        .await
        .into_iter()
        .map(|c| c.service)
        .collect();
    assert_eq!(services, ["app"]);
}

//! Port conflicts before `up`: a host process and another project's container on ports the file
//! asks for make `up` fail at once, naming the service, the port, the holder and the fix, with
//! nothing created.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_engine::ports::{self, Holder};
use berth_engine::{StackError, UpOptions};
use berth_tests::berthctl;
use berth_tests::stacks::{TestStack, free_port};

/// A `python3 -m http.server` on `port`, killed (by its pid) when dropped.
struct HttpServer(Child);

impl HttpServer {
    async fn start(port: u16) -> HttpServer {
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run python3 (the test bed has it)");
        let server = HttpServer(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("python3 -m http.server did not listen on {port}");
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Everything of project `name` on the engine: containers, networks, volumes.
fn created(name: &str) -> Vec<String> {
    let label = format!("label=com.docker.compose.project={name}");
    let mut out = Vec::new();
    for kind in [
        &["ps", "-a", "-q"][..],
        &["network", "ls", "-q"],
        &["volume", "ls", "-q"],
    ] {
        let o = Command::new("docker")
            .args(kind)
            .args(["--filter", &label])
            .output()
            .unwrap();
        out.extend(
            String::from_utf8(o.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_fails_fast_naming_a_host_process_and_another_projects_container() {
    let (web_port, api_port, other_port) = (free_port(), free_port(), free_port());
    let python = HttpServer::start(web_port).await;
    // A listener of this test's own, on the IPv6 wildcard.
    let listener = tokio::net::TcpListener::bind(("::", api_port))
        .await
        .unwrap();

    let other = TestStack::new(
        "ports-other",
        &format!(
            "services:\n  holder:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n    \
             ports: ['{other_port}:7000']\n"
        ),
    )
    .await;
    other.up(UpOptions::default()).await.unwrap();

    let yaml = format!(
        "services:
  web:
    image: berth-test/nginx:1
    ports: ['{web_port}:80']
  api:
    image: berth-test/busybox:1
    command: [sleep, '600']
    ports: ['{api_port}:3000', '127.0.0.1::9000']
  cache:
    image: berth-test/redis:1
    ports: ['{other_port}:6379/tcp']
  db:
    image: berth-test/mongo:1
    volumes: [data:/data/db]
volumes:
  data: {{}}
"
    );
    let stack = TestStack::new("ports", &yaml).await;

    let err = stack.up(UpOptions::default()).await.unwrap_err();
    let StackError::PortsInUse(found) = &err else {
        panic!("not a port conflict: {err}");
    };
    let mut found = found.0.clone();
    found.sort_by_key(|c| c.service.clone());
    let summary: Vec<(&str, u16)> = found
        .iter()
        .map(|c| (c.service.as_str(), c.host_port))
        .collect();
    assert_eq!(
        summary,
        [("api", api_port), ("cache", other_port), ("web", web_port)]
    );
    assert_eq!(
        found[0].holder,
        Holder::Process {
            pid: Some(std::process::id()),
            command: std::fs::read_to_string("/proc/self/comm")
                .ok()
                .map(|c| c.trim_end().to_owned()),
        }
    );
    assert_eq!(
        found[1].holder,
        Holder::Container {
            name: format!("{}-holder-1", other.name),
            project: Some(other.name.clone()),
            service: Some("holder".into()),
        }
    );
    assert_eq!(
        found[2].holder,
        Holder::Process {
            pid: Some(python.0.id()),
            command: Some("python3".into()),
        }
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "service web: host port {web_port}/tcp is already in use by process python3 (pid {})",
            python.0.id()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("docker compose -p {} stop holder", other.name)),
        "{message}"
    );
    assert_eq!(
        created(&stack.name),
        Vec::<String>::new(),
        "nothing created"
    );

    // berthctl says the same, and fails.
    let output = berthctl(&stack.name, &stack.file(), &["up", "-d"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "service cache: host port {other_port}/tcp is already in use"
        )),
        "{stderr}"
    );
    assert_eq!(
        created(&stack.name),
        Vec::<String>::new(),
        "nothing created"
    );

    // Freed, the same file comes up, and an unchanged `up` is not blocked by its own ports.
    drop(python);
    drop(listener);
    other.stack.stop(&[], &Default::default()).await.unwrap();
    stack.up(UpOptions::default()).await.unwrap();
    assert!(
        ports::conflicts(stack.stack.engine(), stack.stack.project())
            .await
            .unwrap()
            .is_empty()
    );
    stack.up(UpOptions::default()).await.unwrap();
}

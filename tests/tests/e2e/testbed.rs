//! The fixture stack (the shape of the demo stack) stands up under the real `docker compose`, all
//! four services healthy, and the frontend's /api reaches a backend that reaches Redis and MongoDB.
//! Every later end-to-end test builds on this stack, so it is checked on its own first.

use berth_tests::compose::ComposeProject;
use berth_tests::{fixture, unique_project};

#[test]
fn the_fixture_stack_comes_up_healthy_and_its_api_answers_through_the_frontend() {
    let stack = ComposeProject::new(unique_project("bed"), fixture("stack/compose.yaml"));
    stack.run(&["up", "-d", "--wait", "--quiet-pull"]);

    let ps = stack.stdout(&["ps", "--format", "{{.Service}} {{.Health}}"]);
    let mut health: Vec<&str> = ps.lines().collect();
    health.sort();
    assert_eq!(
        health,
        [
            "backend healthy",
            "frontend healthy",
            "mongodb healthy",
            "redis healthy"
        ]
    );

    let frontend = stack.published("frontend", 80);
    let body = http_get(&frontend, "/api/health");
    assert_eq!(body, r#"{"status":"ok","redis":"ok","mongodb":"ok"}"#);
    let page = http_get(&frontend, "/");
    assert!(page.contains("Berth fixture frontend"), "{page}");
}

/// A plain HTTP/1.0 GET over a TCP socket: the body, after checking for a 200.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(address).expect("connect to the published port");
    write!(socket, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send");
    let mut response = String::new();
    socket.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    body.to_owned()
}

//! `berthctl up` without `-d`: it prints the services' logs exactly as `docker compose up` does,
//! returns when every container has exited, and on Ctrl-C stops the stack (a second Ctrl-C
//! kills it).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_tests::compose::ComposeProject;
use berth_tests::proxy::Proxy;
use berth_tests::stacks::TestStack;
use berth_tests::{unique_project, workspace_binary};

#[tokio::test]
async fn up_prints_logs_like_compose_and_returns_when_every_container_has_exited() {
    // alpha writes first, b a second later then exits 2, alpha last: one order for both tools.
    let yaml = r#"
services:
  alpha:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo hello; sleep 2; echo bye"]
  b:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 1; echo b; exit 2"]
"#;
    let t = TestStack::new("attach", yaml).await;
    let berth = berth_tests::berthctl(&t.name, &t.file(), &["up"]);
    assert!(
        berth.status.success(),
        "{}",
        String::from_utf8_lossy(&berth.stderr)
    );
    let compose = ComposeProject::new(unique_project("attach-compose"), t.file());
    let reference = compose.run(&["up"]);
    let (ours, theirs) = (
        String::from_utf8_lossy(&berth.stdout),
        String::from_utf8_lossy(&reference.stdout),
    );
    assert!(
        ours.contains("b-1      | b\n") && ours.contains("\r\x1b[Kb-1 exited with code 2\n"),
        "{ours}"
    );
    assert_eq!(
        ours, theirs,
        "berthctl up and docker compose up print alike"
    );
}

/// Reads a child's pipe line by line into a channel, so the test can wait for a line.
fn lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Every line until one contains `what`; panics with what came if none does within 30 s.
fn until(rx: &mpsc::Receiver<String>, what: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(what);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {what:?}; got {seen:#?}");
}

/// Starts `berthctl up` (attached) on the stack's file, its stdout piped; both tests drive it.
fn spawn_up(t: &TestStack, stderr: Stdio) -> Child {
    spawn_up_with(t, &[], stderr)
}

fn spawn_up_with(t: &TestStack, flags: &[&str], stderr: Stdio) -> Child {
    Command::new(workspace_binary("berthctl"))
        .args(["-p", &t.name, "-f"])
        .arg(t.file())
        .arg("up")
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start berthctl up")
}

fn interrupt(pid: u32) {
    let sent = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
}

#[tokio::test]
async fn ctrl_c_stops_the_stack_gracefully_and_a_second_ctrl_c_kills_it() {
    // stubborn ignores SIGTERM and may take a minute to stop: only a kill ends it quickly.
    let yaml = r#"
services:
  alpha:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo hello; sleep 600"]
  stubborn:
    image: berth-test/busybox:1
    stop_grace_period: 60s
    command: ["sh", "-c", "trap 'echo ignoring TERM' TERM; echo up; while :; do sleep 0.1; done"]
"#;
    let t = TestStack::new("attach-int", yaml).await;
    let name = &t.name;
    let mut child = spawn_up(&t, Stdio::piped());
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let mut seen = until(&stdout, "Attaching to");
    while !(seen.iter().any(|l| l.ends_with("| hello")) && seen.iter().any(|l| l.ends_with("| up")))
    {
        seen.extend(until(&stdout, "|"));
    }

    interrupt(child.id());
    until(
        &stdout,
        "Gracefully Stopping... press Ctrl+C again to force",
    );
    until(&stderr, &format!("Container {name}-alpha-1  Stopped"));
    let interrupted = Instant::now();
    interrupt(child.id());
    until(&stderr, &format!("Container {name}-stubborn-1  Killed"));
    let status = child.wait().expect("berthctl exits");
    assert_eq!(status.code(), Some(130), "interrupted, as compose exits");
    assert!(
        interrupted.elapsed() < Duration::from_secs(30),
        "the second Ctrl-C did not wait out the grace period"
    );
    let states = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}} {{.State}}"])
        .args([
            "--filter",
            &format!("label=com.docker.compose.project={name}"),
        ])
        .output()
        .unwrap();
    let mut states: Vec<String> = String::from_utf8_lossy(&states.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    states.sort();
    assert_eq!(
        states,
        [
            format!("{name}-alpha-1 exited"),
            format!("{name}-stubborn-1 exited")
        ]
    );
}

#[tokio::test]
async fn up_returns_when_its_container_is_removed_under_it() {
    let yaml = r#"
services:
  alpha:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo hello; sleep 600"]
"#;
    let t = TestStack::new("attach-rm", yaml).await;
    let name = &t.name;
    let mut child = spawn_up(&t, Stdio::null());
    let stdout = lines(child.stdout.take().unwrap());
    until(&stdout, "alpha-1  | hello");
    let removed = Command::new("docker")
        .args(["rm", "-f", &format!("{name}-alpha-1")])
        .output()
        .unwrap();
    assert!(removed.status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("berthctl up kept waiting for a removed container");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
}

/// The project's containers that are still running.
fn running(project: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "--format", "{{.Names}}", "--filter"])
        .arg(format!("label=com.docker.compose.project={project}"))
        .output()
        .expect("run docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits for the child's exit (60 s at most, then kills it and fails).
fn exit_code(child: &mut Child, what: &str) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("berthctl up did not exit after {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_second_ctrl_c_kills_every_container_even_those_the_first_one_stopped() {
    // A dozen stops at once keep the engine busy for a while: the second Ctrl-C lands when some
    // containers have stopped and the others are still stopping.
    let yaml: String = std::iter::once("services:\n".to_owned())
        .chain((1..=12).map(|n| {
            format!(
                "  s{n:02}:\n    image: berth-test/busybox:1\n    \
                 command: [sh, -c, 'echo up; while :; do sleep 1; done']\n"
            )
        }))
        .collect();
    let t = TestStack::new("attach-kill", &yaml).await;
    let mut child = spawn_up(&t, Stdio::piped());
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut ups = 0;
    while ups < 12 {
        ups += until(&stdout, "| up")
            .iter()
            .filter(|l| l.ends_with("| up"))
            .count();
    }

    interrupt(child.id());
    until(
        &stdout,
        "Gracefully Stopping... press Ctrl+C again to force",
    );
    // The second Ctrl-C once some containers have stopped: their kills answer 409.
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(&t.name).len() == 12 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(child.id());
    let code = exit_code(&mut child, "the second Ctrl-C");
    let stderr = stderr.join().unwrap();
    let left = running(&t.name);
    assert!(
        left.is_empty(),
        "{} of 12 containers left running: {left:?}\n{stderr}",
        left.len()
    );
    assert_eq!(code, Some(130), "interrupted, as compose exits\n{stderr}");
    assert!(!stderr.contains("409"), "{stderr}");
}

#[tokio::test]
async fn ctrl_c_while_up_is_starting_stops_what_it_started() {
    // Ctrl-C lands while a dozen starts are on their way and web waits for slow's health check.
    let quick = "command: [sh, -c, 'trap \"exit 0\" TERM; sleep 600 & wait']";
    let mut yaml = format!(
        "services:\n  slow:\n    image: berth-test/busybox:1\n    {quick}\n    \
         healthcheck:\n      test: [CMD, 'false']\n      interval: 1s\n      retries: 60\n  \
         web:\n    image: berth-test/busybox:1\n    {quick}\n    depends_on:\n      \
         slow:\n        condition: service_healthy\n"
    );
    for n in 1..=12 {
        yaml += &format!("  s{n:02}:\n    image: berth-test/busybox:1\n    {quick}\n");
    }
    let t = TestStack::new("attach-early", &yaml).await;
    let name = &t.name;
    let mut child = spawn_up(&t, Stdio::piped());
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let mut said = until(&stderr, "  Started");
    interrupt(child.id());
    let code = exit_code(&mut child, "Ctrl-C");
    said.extend(stdout.try_iter().chain(stderr.try_iter()));
    let left = running(name);
    assert!(left.is_empty(), "left running: {left:?}\n{said:#?}");
    assert_eq!(code, Some(130), "interrupted, as compose exits\n{said:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_detached_up_exits_130_and_says_what_it_left() {
    // web waits for a health check that never passes: Ctrl-C lands in that wait.
    let yaml = "services:\n  slow:\n    image: berth-test/busybox:1\n    \
         command: [sh, -c, 'trap \"exit 0\" TERM; sleep 600 & wait']\n    \
         healthcheck:\n      test: [CMD, 'false']\n      interval: 1s\n      retries: 60\n  \
         web:\n    image: berth-test/busybox:1\n    command: [sleep, '600']\n    \
         depends_on:\n      slow:\n        condition: service_healthy\n";
    let t = TestStack::new("detached-ctrl-c", yaml).await;
    let mut child = spawn_up_with(&t, &["-d"], Stdio::piped());
    let stderr = lines(child.stderr.take().unwrap());
    let mut said = until(&stderr, "Waiting");
    interrupt(child.id());
    let code = exit_code(&mut child, "Ctrl-C");
    said.extend(stderr.try_iter());
    assert_eq!(code, Some(130), "interrupted, as compose exits\n{said:#?}");
    assert!(
        said.iter().any(|l| l.contains("Run up again to finish")),
        "says what it left and what to do\n{said:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_up_holds_one_event_stream() {
    let yaml = r#"
services:
  alpha:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo hello; sleep 600"]
"#;
    let t = TestStack::new("attach-feed", yaml).await;
    let dir = std::env::temp_dir().join(&t.name);
    std::fs::create_dir_all(&dir).unwrap();
    let proxy = Proxy::start(&dir.join("proxy.sock"), Path::new("/var/run/docker.sock"));
    let mut child = Command::new(workspace_binary("berthctl"))
        .env("DOCKER_HOST", proxy.host())
        .args(["-p", &t.name, "-f"])
        .arg(t.file())
        .arg("up")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start berthctl up");
    let stdout = lines(child.stdout.take().unwrap());
    until(&stdout, "alpha-1  | hello");
    // The state model and the log follower are both listening once the line is out; the
    // most streams open at once over the next two seconds.
    let mut most = 0;
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        most = most.max(proxy.open_event_streams());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(most, 1, "one event stream for the model and the logs");
    interrupt(child.id());
    exit_code(&mut child, "Ctrl-C");
    let _ = std::fs::remove_dir_all(&dir);
}

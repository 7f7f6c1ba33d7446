//! `berthctl watch` and `berthctl up --watch` beside `docker compose watch`: the services up
//! first (unless --no-up), the same lines for the same edits, Ctrl-C ending it, and the errors.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_tests::stacks::TestStack;
use berth_tests::{berthctl, docker, workspace_binary};

const LIMIT: Duration = Duration::from_secs(30);

const YAML: &str = r#"
services:
  web:
    build: .
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
        - path: ./conf
          action: sync+restart
          target: /conf
        - path: ./hook
          action: sync+exec
          target: /hook
          exec:
            command: ["sh", "-c", "echo hooked $(cat /hook/h.txt)"]
  plain:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
"#;

fn project(dir: &Path) {
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM berth-test/busybox:1\nRUN mkdir /app\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::create_dir_all(dir.join("hook")).unwrap();
}

/// A watch command running, its output lines read as they come; killed when dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn spawn(mut command: Command, stderr: bool) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the watch");
        let (tx, lines) = mpsc::channel();
        let read = |stream: Box<dyn Read + Send>, tx: mpsc::Sender<String>| {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            })
        };
        let out: ChildStdout = child.stdout.take().unwrap();
        read(Box::new(out), tx.clone());
        let err = child.stderr.take().unwrap();
        if stderr {
            read(Box::new(err), tx);
        } else {
            // Read on to the end: a closed pipe would end the command at its next line.
            read(Box::new(err), mpsc::channel().0);
        }
        Running { child, lines }
    }

    /// Lines up to and including the first that contains `text`, within [`LIMIT`].
    fn until(&self, text: &str) -> Vec<String> {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with {text:?} within {LIMIT:?}; saw {seen:#?}"),
            }
        }
    }

    /// Ctrl-C, as a terminal sends it; the exit code once it ends, within [`LIMIT`].
    fn interrupt(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "still running {LIMIT:?} after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(berth: bool, t: &TestStack, args: &[&str]) -> Command {
    let mut c = if berth {
        Command::new(workspace_binary("berthctl"))
    } else {
        let mut c = Command::new("docker");
        c.arg("compose");
        c
    };
    c.args(["-p", &t.name, "-f"]).arg(t.file()).args(args);
    c
}

/// Polls until `container`'s `path` reads `text`, within [`LIMIT`].
fn has(container: &str, path: &str, text: &str) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let out = Command::new("docker")
            .args(["exec", container, "cat", path])
            .output()
            .unwrap();
        if out.status.success() && out.stdout == text.as_bytes() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{container}:{path} never read {text:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines a watch prints for: a sync of two files, a sync+restart of one, then a sync+exec
/// whose hook prints a line.
fn edits(t: &TestStack, watch: &Running) -> Vec<String> {
    let web = format!("{}-web-1", t.name);
    std::fs::write(t.dir.join("src/a.txt"), "a\n").unwrap();
    std::fs::write(t.dir.join("src/b.txt"), "b\n").unwrap();
    let mut lines = watch.until("Syncing service");
    has(&web, "/app/a.txt", "a\n");
    has(&web, "/app/b.txt", "b\n");
    std::fs::write(t.dir.join("conf/c.conf"), "c\n").unwrap();
    lines.extend(watch.until("restarted"));
    has(&web, "/conf/c.conf", "c\n");
    std::fs::write(t.dir.join("hook/h.txt"), "h\n").unwrap();
    lines.extend(watch.until("hooked"));
    lines
}

#[test]
fn watch_ups_the_services_then_prints_compose_s_lines_and_ends_on_ctrl_c() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (ours, theirs) = rt.block_on(async {
        let ours = TestStack::new("ctl-watch-berth", YAML).await;
        let theirs = TestStack::new("ctl-watch-compose", YAML).await;
        (ours, theirs)
    });
    let mut said = Vec::new();
    for (t, berth) in [(&ours, true), (&theirs, false)] {
        project(&t.dir);
        let mut watch = Running::spawn(command(berth, t, &["watch"]), false);
        watch.until("Watch enabled");
        // Not --no-up: the services are up, built from the Dockerfile.
        docker(&["exec", &format!("{}-web-1", t.name), "test", "-d", "/app"]);
        said.push(edits(t, &watch));
        assert_eq!(watch.interrupt(), Some(130), "Ctrl-C ends the watch");
    }
    let (berth, compose) = (&said[0], &said[1]);
    assert_eq!(
        berth,
        &[
            "Syncing service \"web\" after 2 changes were detected",
            "Syncing service \"web\" after 1 changes were detected",
            "service(s) [\"web\"] restarted",
            "Syncing service \"web\" after 1 changes were detected",
            "hooked h",
        ],
    );
    assert_eq!(berth, compose, "the same lines as docker compose watch");
}

#[test]
fn no_up_leaves_a_stopped_stack_alone_and_up_watch_runs_both() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(TestStack::new("ctl-watch-noup", YAML));
    project(&t.dir);
    // Nothing is up: --no-up watches without starting anything; a change fails and says so.
    let watch = Running::spawn(command(true, &t, &["watch", "--no-up", "web"]), true);
    watch.until("Watch enabled");
    std::fs::write(t.dir.join("src/a.txt"), "a\n").unwrap();
    let lines = watch.until("Error handling changed files");
    assert!(
        lines
            .last()
            .unwrap()
            .contains("service \"web\" is not running"),
        "{lines:#?}"
    );
    drop(watch);
    assert_eq!(
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={}", t.name)
        ]),
        ""
    );

    // up --watch: the logs attached and the watch's lines among them on stdout, marked as
    // compose marks them.
    let mut up = Running::spawn(command(true, &t, &["up", "--watch"]), false);
    up.until("⦿ Watch enabled");
    std::fs::write(t.dir.join("src/b.txt"), "b\n").unwrap();
    let lines = up.until("Syncing service");
    assert_eq!(
        lines.last().unwrap(),
        "⦿ Syncing service \"web\" after 1 changes were detected"
    );
    has(&format!("{}-web-1", t.name), "/app/b.txt", "b\n");
    up.interrupt();

    let detached = berthctl(&t.name, &t.file(), &["up", "-d", "--watch"]);
    assert!(!detached.status.success());
    assert!(
        String::from_utf8_lossy(&detached.stderr).contains("--detach cannot be combined"),
        "{detached:?}"
    );
    let plain = berthctl(&t.name, &t.file(), &["watch", "--no-up", "plain"]);
    assert!(!plain.status.success());
    let err = String::from_utf8_lossy(&plain.stderr);
    assert!(
        err.contains("none of the selected services (plain) is configured for watch"),
        "{err}"
    );
}

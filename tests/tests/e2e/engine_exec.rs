//! The engine's exec API on the real engine: a process in a service's container, its output,
//! input, exit code, terminal and hangup, and compose's choice of container and errors.

use std::time::{Duration, Instant};

use berth_engine::{Chunk, Exec, ExecOptions, StackError};
use berth_tests::docker;
use berth_tests::stacks::TestStack;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

const ONE: &str = r#"
services:
  app:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    init: true
"#;

/// A running project with one service, `app`.
async fn running(what: &str, yaml: &str) -> TestStack {
    let t = TestStack::new(what, yaml).await;
    t.up_wait().await;
    t
}

fn command(args: &[&str]) -> ExecOptions {
    ExecOptions {
        command: args.iter().map(|a| a.to_string()).collect(),
        ..ExecOptions::default()
    }
}

/// Everything the process prints, by stream, and its exit code, within 30 s.
async fn finish(mut exec: Exec) -> (Vec<u8>, Vec<u8>, Option<i64>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let read = async {
        while let Some(chunk) = exec.output.next().await {
            match chunk.expect("the output reads") {
                Chunk::Stdout(b) => out.extend_from_slice(&b),
                Chunk::Stderr(b) => err.extend_from_slice(&b),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the output ends within 30 s");
    let code = exec.process.exit_code().await.expect("inspect the exec");
    (out, err, code)
}

async fn run(t: &TestStack, options: ExecOptions) -> (String, String, Option<i64>) {
    let exec = t.stack.exec("app", None, options).await.expect("exec");
    let (out, err, code) = finish(exec).await;
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        code,
    )
}

/// The container's processes, as `ps` inside it lists them (PID USER COMMAND).
fn processes(container: &str) -> String {
    docker(&["exec", container, "ps", "-o", "pid,args"])
}

/// Waits until `ps` in `container` satisfies `done`; panics with the last listing after 15 s.
async fn until_processes(container: &str, what: &str, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ps = processes(container);
        if done(&ps) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} within 15 s:\n{ps}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn stdout_and_stderr_arrive_apart_and_the_exit_code_is_the_commands() {
    let t = running("exec-out", ONE).await;
    let script = "echo to out; echo to err >&2; printf 'no newline'; exit 7";
    let (out, err, code) = run(&t, command(&["sh", "-c", script])).await;
    assert_eq!(out, "to out\nno newline");
    assert_eq!(err, "to err\n");
    assert_eq!(code, Some(7));
    let (_, _, code) = run(&t, command(&["true"])).await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_command_the_engine_cannot_start_is_126_with_its_message_and_one_sh_cannot_find_127() {
    let t = running("exec-missing", ONE).await;
    let (out, _, code) = run(&t, command(&["no-such-command"])).await;
    assert_eq!(code, Some(126));
    assert!(
        out.contains("\"no-such-command\": executable file not found"),
        "{out}"
    );
    let (_, _, code) = run(&t, command(&["/etc/passwd"])).await;
    assert_eq!(code, Some(126));
    let (_, err, code) = run(&t, command(&["sh", "-c", "no-such-command"])).await;
    assert_eq!(
        (err.as_str(), code),
        ("sh: no-such-command: not found\n", Some(127))
    );
}

#[tokio::test]
async fn user_workdir_and_environment_are_the_ones_asked_for() {
    let t = running("exec-user", ONE).await;
    let options = ExecOptions {
        user: Some("1234:5678".into()),
        workdir: Some("/tmp".into()),
        env: vec!["GREETING=hello there".into(), "EMPTY=".into()],
        ..command(&[
            "sh",
            "-c",
            "id -u; id -g; pwd; echo \"$GREETING\"; env | grep -c ^EMPTY=$",
        ])
    };
    let (out, err, code) = run(&t, options).await;
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("1234\n5678\n/tmp\nhello there\n1\n", "", Some(0))
    );
    // Without them: the container's own user and directory.
    let (out, _, _) = run(&t, command(&["sh", "-c", "id -u; pwd"])).await;
    assert_eq!(out, "0\n/\n");
}

#[tokio::test]
async fn stdin_reaches_the_process_and_closing_it_is_end_of_input() {
    let t = running("exec-stdin", ONE).await;
    let options = ExecOptions {
        stdin: true,
        ..command(&["sh", "-c", "wc -c; echo after"])
    };
    let mut exec = t.stack.exec("app", None, options).await.expect("exec");
    let input = vec![b'x'; 100_000];
    exec.input.write_all(&input).await.unwrap();
    exec.input.shutdown().await.unwrap();
    let (out, _, code) = finish(exec).await;
    assert_eq!(String::from_utf8(out).unwrap(), "100000\nafter\n");
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_tty_is_a_terminal_of_the_size_set_and_resized() {
    let t = running("exec-tty", ONE).await;
    let options = ExecOptions {
        tty: true,
        stdin: true,
        ..command(&["sh"])
    };
    let mut exec = t.stack.exec("app", None, options).await.expect("exec");
    exec.process.resize(100, 30).await.expect("resize");
    exec.input
        .write_all(b"[ -t 0 ] && echo IS-A-TTY; stty size; echo err >&2\n")
        .await
        .unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !(seen.contains("30 100") && seen.contains("err")) {
        let chunk = tokio::time::timeout_at(deadline.into(), exec.output.next())
            .await
            .unwrap_or_else(|_| panic!("the terminal answers within 15 s: {seen:?}"));
        match chunk.expect("output").expect("chunk") {
            Chunk::Stdout(b) => seen.push_str(&String::from_utf8_lossy(&b)),
            Chunk::Stderr(b) => panic!("a TTY has one stream, got stderr {b:?}"),
        }
    }
    assert!(seen.contains("IS-A-TTY\r\n"), "{seen:?}");
    exec.process.resize(132, 43).await.expect("resize");
    exec.input.write_all(b"stty size; exit 3\n").await.unwrap();
    let (out, _, code) = finish(exec).await;
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("43 132\r\n"), "{out:?}");
    assert_eq!(code, Some(3));
}

#[tokio::test]
async fn tty_output_that_starts_with_low_bytes_is_passed_through_whole() {
    let t = running("exec-tty-bytes", ONE).await;
    // Each line starts a new write of the terminal with a byte below 3, which a multiplexed
    // stream would read as a frame header.
    let script =
        "for i in 1 2 3 4 5 6 7 8; do printf '\\001\\002\\000 line %s\\n' $i; sleep 0.05; done";
    let options = ExecOptions {
        tty: true,
        ..command(&["sh", "-c", script])
    };
    let exec = t.stack.exec("app", None, options).await.expect("exec");
    let (out, _, code) = finish(exec).await;
    let expected: Vec<u8> = (1..=8)
        .flat_map(|i| format!("\x01\x02\x00 line {i}\r\n").into_bytes())
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_large_output_arrives_whole() {
    let t = running("exec-large", ONE).await;
    let exec = t
        .stack
        .exec(
            "app",
            None,
            command(&["head", "-c", "20000000", "/dev/urandom"]),
        )
        .await
        .expect("exec");
    let (out, err, code) = finish(exec).await;
    assert_eq!((out.len(), err.len(), code), (20_000_000, 0, Some(0)));
}

#[tokio::test]
async fn index_picks_the_replica_and_the_first_running_one_is_the_default() {
    let yaml = r#"
services:
  app:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    init: true
    deploy: { replicas: 3 }
"#;
    let t = running("exec-index", yaml).await;
    let ids = t.ids().await;
    let hostname = |n: u32| ids[&format!("{}-app-{n}", t.name)][..12].to_owned() + "\n";
    for n in 1..=3 {
        let exec = t
            .stack
            .exec("app", Some(n), command(&["hostname"]))
            .await
            .unwrap();
        assert_eq!(
            finish(exec).await.0,
            hostname(n).into_bytes(),
            "--index {n}"
        );
    }
    let (out, _, _) = run(&t, command(&["hostname"])).await;
    assert_eq!(out, hostname(1));
    // Replica 1 stopped: the first running one is taken, as compose takes it.
    docker(&["stop", "-t", "0", &format!("{}-app-1", t.name)]);
    let (out, _, _) = run(&t, command(&["hostname"])).await;
    assert_eq!(out, hostname(2));
    let err = t
        .stack
        .exec("app", Some(1), command(&["true"]))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string().lines().next(),
        Some("service \"app\" is not running container #1")
    );
    let err = t
        .stack
        .exec("app", Some(9), command(&["true"]))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, StackError::NotRunning { index: Some(9), .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stopped_or_unknown_service_is_refused_in_composes_words_with_the_fix() {
    let yaml = r#"
services:
  app:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    init: true
  idle:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    init: true
"#;
    let t = running("exec-refused", yaml).await;
    docker(&["stop", "-t", "0", &format!("{}-idle-1", t.name)]);
    let err = t
        .stack
        .exec("idle", None, command(&["true"]))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "service \"idle\" is not running\n\
         Start it (berthctl up -d idle), or pick a running replica with --index."
    );
    let err = t
        .stack
        .exec("nope", None, command(&["true"]))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StackError::NoSuchService { .. }), "{err:?}");
    assert!(err.to_string().contains("app, idle"), "{err}");
}

#[tokio::test]
async fn the_shell_is_bash_when_the_image_has_it_and_sh_otherwise() {
    // Declared before the stack, so removed after its containers.
    let image = RemoveImage(berth_tests::unique_project("exec-shell-image"));
    let yaml = format!(
        r#"
services:
  app:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    init: true
  bash:
    build: .
    image: {}
    command: ["sleep", "600"]
    init: true
"#,
        image.0
    );
    let t = TestStack::new("exec-shell", &yaml).await;
    // A stand-in bash that says it ran: the test images have none.
    std::fs::write(
        t.dir.join("Dockerfile"),
        "FROM berth-test/busybox:1\n\
         RUN printf '#!/bin/sh\\nexport STAND_IN=bash\\nexec sh \"$@\"\\n' >/bin/bash && chmod +x /bin/bash\n",
    )
    .unwrap();
    t.up_wait().await;
    for (service, shell) in [("app", "sh"), ("bash", "bash")] {
        let mut exec = t
            .stack
            .exec(service, None, ExecOptions::shell())
            .await
            .unwrap();
        exec.input
            .write_all(b"echo \"shell=${STAND_IN:-sh}\"; exit 5\n")
            .await
            .unwrap();
        let (out, _, code) = finish(exec).await;
        let out = String::from_utf8_lossy(&out);
        assert!(
            out.contains(&format!("shell={shell}\r\n")),
            "{service}: {out:?}"
        );
        assert_eq!(code, Some(5), "{service}: {out:?}");
    }
}

/// Removes the image a test built, however the test ends.
struct RemoveImage(String);

impl Drop for RemoveImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

#[tokio::test]
async fn dropping_a_terminal_hangs_up_its_session_and_leaves_no_process() {
    let t = running("exec-hangup", ONE).await;
    let container = format!("{}-app-1", t.name);
    let before = processes(&container);
    let mut exec = t
        .stack
        .exec("app", None, ExecOptions::shell())
        .await
        .unwrap();
    exec.input
        .write_all(b"sleep 1234 & sleep 4321\n")
        .await
        .unwrap();
    until_processes(&container, "both sleeps running", |ps| {
        ps.contains("sleep 1234") && ps.contains("sleep 4321")
    })
    .await;
    drop(exec);
    until_processes(&container, "every process of the session gone", |ps| {
        ps.lines().count() == before.lines().count()
    })
    .await;
}

#[tokio::test]
async fn closing_a_terminals_input_hangs_it_up() {
    let t = running("exec-close", ONE).await;
    let container = format!("{}-app-1", t.name);
    let before = processes(&container);
    let mut exec = t
        .stack
        .exec("app", None, ExecOptions::shell())
        .await
        .unwrap();
    exec.input.write_all(b"sleep 2345\n").await.unwrap();
    until_processes(&container, "the sleep running", |ps| {
        ps.contains("sleep 2345")
    })
    .await;
    exec.input.shutdown().await.unwrap();
    until_processes(&container, "every process of the session gone", |ps| {
        ps.lines().count() == before.lines().count()
    })
    .await;
    let (_, _, code) = finish(exec).await;
    assert!(code.is_some(), "the process ended");
}

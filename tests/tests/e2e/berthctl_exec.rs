//! `berthctl exec` beside the real `docker compose exec` on the same project: the same bytes on
//! stdout and stderr with -T, the same exit codes, flags and errors, and a terminal under
//! `script` that reads the same.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_tests::compose::ComposeProject;
use berth_tests::stacks::TestStack;
use berth_tests::{docker, workspace_binary};

const YAML: &str = r#"
services:
  app:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    init: true
    deploy: { replicas: 2 }
  idle:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    init: true
"#;

/// The project up, with `idle` stopped.
async fn project(what: &str) -> (TestStack, ComposeProject) {
    let t = TestStack::new(what, YAML).await;
    t.up_wait().await;
    docker(&["stop", "-t", "0", &format!("{}-idle-1", t.name)]);
    let compose = ComposeProject::new(&t.name, t.file());
    (t, compose)
}

/// `TOOL -p NAME -f FILE exec ARGS…` (TOOL: `berthctl`, or `docker compose`) with `input` on
/// its stdin and `EXTERNAL=from-env` in its environment.
fn exec(t: &TestStack, berth: bool, args: &[&str], input: &[u8]) -> Output {
    let mut command = if berth {
        Command::new(workspace_binary("berthctl"))
    } else {
        let mut c = Command::new("docker");
        c.arg("compose");
        c
    };
    let mut child = command
        .args(["-p", &t.name, "-f"])
        .arg(t.file())
        .arg("exec")
        .args(args)
        .env("EXTERNAL", "from-env")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the exec");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("the exec ends");
    writer.join().unwrap();
    out
}

/// Runs `args` through both tools; asserts the same stdout, stderr and exit code; returns them.
fn same(t: &TestStack, args: &[&str], input: &[u8]) -> Output {
    let compose = exec(t, false, args, input);
    let berth = exec(t, true, args, input);
    let text = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned();
    assert!(
        berth.stdout == compose.stdout,
        "exec {args:?}: stdout differs ({} bytes from berthctl, {} from compose)\nberthctl: {:?}\ncompose:  {:?}",
        berth.stdout.len(),
        compose.stdout.len(),
        text(&berth.stdout),
        text(&compose.stdout),
    );
    assert_eq!(
        text(&berth.stderr),
        text(&compose.stderr),
        "exec {args:?}: stderr"
    );
    assert_eq!(
        berth.status.code(),
        compose.status.code(),
        "exec {args:?}: exit code"
    );
    berth
}

#[tokio::test]
async fn with_no_tty_stdout_stderr_and_exit_codes_are_composes() {
    let (t, _compose) = project("bx-out").await;
    let script = r#"echo out; echo err >&2; printf '\000\001\002\377 no newline'; exit 7"#;
    let out = same(&t, &["-T", "app", "sh", "-c", script], b"");
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(out.stdout, b"out\n\x00\x01\x02\xff no newline");
    assert_eq!(same(&t, &["-T", "app", "true"], b"").status.code(), Some(0));
    // The engine cannot start it: 126 and the engine's words, on stdout as compose prints them.
    let out = same(&t, &["-T", "app", "no-such-command"], b"");
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(
        same(&t, &["-T", "app", "sh", "-c", "nope"], b"")
            .status
            .code(),
        Some(127)
    );
}

#[tokio::test]
async fn binary_and_large_output_is_byte_identical() {
    let (t, _compose) = project("bx-large").await;
    let container = format!("{}-app-1", t.name);
    docker(&[
        "exec",
        &container,
        "sh",
        "-c",
        "head -c 30000000 /dev/urandom > /tmp/big",
    ]);
    let out = same(&t, &["-T", "app", "cat", "/tmp/big"], b"");
    assert_eq!(out.stdout.len(), 30_000_000);
    let out = same(&t, &["-T", "app", "cat", "/bin/busybox"], b"");
    assert!(out.stdout.len() > 500_000, "{}", out.stdout.len());
    // Both streams at once, interleaved by the engine's frames, each still whole.
    let both = "cat /bin/busybox; cat /bin/busybox >&2; cat /bin/busybox";
    same(&t, &["-T", "app", "sh", "-c", both], b"");
}

#[tokio::test]
async fn stdin_is_forwarded_to_its_end() {
    let (t, _compose) = project("bx-stdin").await;
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let out = same(&t, &["-T", "app", "sh", "-c", "cat; echo end"], &input);
    assert_eq!(out.stdout.len(), input.len() + 4);
    same(&t, &["-T", "app", "wc", "-c"], b"three\n");
}

#[tokio::test]
async fn user_workdir_env_and_index_are_composes() {
    let (t, _compose) = project("bx-flags").await;
    let script = "id -u; id -g; pwd; echo \"[$SET] [$EXTERNAL] [${UNSET-unset}]\"; hostname";
    let args = [
        "-T",
        "-u",
        "1234:5678",
        "-w",
        "/tmp",
        "-e",
        "SET=a value",
        "-e",
        "EXTERNAL",
        "-e",
        "UNSET",
        "--index",
        "2",
        "app",
        "sh",
        "-c",
        script,
    ];
    let out = same(&t, &args, b"");
    let ids = t.ids().await;
    let second = &ids[&format!("{}-app-2", t.name)][..12];
    let expected = format!("1234\n5678\n/tmp\n[a value] [from-env] [unset]\n{second}\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    // Flags after the service belong to the command.
    let out = same(&t, &["-T", "app", "echo", "-T", "-e", "--index"], b"");
    assert_eq!(out.stdout, b"-T -e --index\n");
    same(
        &t,
        &[
            "-T",
            "--privileged",
            "app",
            "sh",
            "-c",
            "grep CapEff /proc/self/status",
        ],
        b"",
    );
}

#[tokio::test]
async fn a_service_not_running_fails_as_compose_fails() {
    let (t, _compose) = project("bx-refused").await;
    let cases: [&[&str]; 3] = [
        &["-T", "idle", "true"],
        &["-T", "--index", "5", "app", "true"],
        &["-T", "nope", "true"],
    ];
    for args in cases {
        let compose = exec(&t, false, args, b"");
        let berth = exec(&t, true, args, b"");
        assert_eq!(berth.status.code(), compose.status.code(), "{args:?}");
        assert_eq!(berth.status.code(), Some(1), "{args:?}");
        assert!(berth.stdout.is_empty(), "{args:?}");
        let first = |o: &Output| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .map(str::to_owned)
        };
        if args.contains(&"nope") {
            // Berth knows the project's services and says which there are.
            let said = String::from_utf8_lossy(&berth.stderr);
            assert!(
                said.contains("no such service: nope") && said.contains("app, idle"),
                "{said}"
            );
        } else {
            let said = first(&berth).unwrap();
            assert!(
                said.ends_with(&first(&compose).unwrap()),
                "berthctl: {said}, compose: {:?}",
                first(&compose)
            );
        }
    }
}

#[tokio::test]
async fn detached_the_command_runs_on_and_berthctl_returns() {
    let (t, _compose) = project("bx-detach").await;
    let berth = exec(
        &t,
        true,
        &[
            "-d",
            "app",
            "sh",
            "-c",
            "sleep 1; echo done > /tmp/detached",
        ],
        b"",
    );
    assert_eq!(berth.status.code(), Some(0));
    assert!(
        berth.stdout.is_empty() && berth.stderr.is_empty(),
        "{berth:?}"
    );
    let container = format!("{}-app-1", t.name);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Command::new("docker")
        .args(["exec", &container, "test", "-f", "/tmp/detached"])
        .status()
        .is_ok_and(|s| !s.success())
    {
        assert!(
            Instant::now() < deadline,
            "the detached command wrote its file within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `TOOL exec ARGS…` on a pseudo-terminal of 100×30 (`script`), its exit code echoed after it;
/// what the terminal showed, with CRLF line ends.
fn on_a_terminal(t: &TestStack, berth: bool, args: &str) -> String {
    let tool = if berth {
        workspace_binary("berthctl").display().to_string()
    } else {
        "docker compose".to_owned()
    };
    let line = format!(
        "stty cols 100 rows 30; {tool} -p {} -f {} exec {args}; echo rc=$?",
        t.name,
        t.file().display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)");
    // `script` passes the end of its own input on as a NUL, which a raw terminal echoes as ^@
    // at some moment of the run: not the tool's output.
    String::from_utf8_lossy(&out.stdout).replace("^@", "")
}

#[tokio::test]
async fn on_a_terminal_the_command_gets_one_of_the_terminals_size_as_with_compose() {
    let (t, _compose) = project("bx-tty").await;
    // The size is set just after the start, by both: the command waits for it.
    let args = "app sh -c 'tty; sleep 1; stty size; echo \"[$TERM]\"; exit 3'";
    for berth in [false, true] {
        let shown = on_a_terminal(&t, berth, args);
        let who = if berth { "berthctl" } else { "compose" };
        assert!(shown.starts_with("/dev/pts/"), "{who}: {shown:?}");
        assert!(shown.contains("30 100\r\n"), "{who}: {shown:?}");
        assert!(shown.contains("[xterm]\r\n"), "{who}: {shown:?}");
        assert!(shown.ends_with("rc=3\r\n"), "{who}: {shown:?}");
    }
    // -T on a terminal: no TTY in the container.
    for berth in [false, true] {
        let shown = on_a_terminal(&t, berth, "-T app tty");
        assert_eq!(shown, "not a tty\r\nrc=1\r\n", "berthctl: {berth}");
    }
    // Output on a terminal but input not: refused as compose refuses it.
    for berth in [false, true] {
        let shown = on_a_terminal(&t, berth, "app true </dev/null");
        assert!(
            shown.contains("the input device is not a TTY"),
            "{berth}: {shown:?}"
        );
        assert!(shown.ends_with("rc=1\r\n"), "{berth}: {shown:?}");
    }
}

#[tokio::test]
async fn a_terminal_is_left_as_it_was_found() {
    let (t, _compose) = project("bx-restore").await;
    for berth in [false, true] {
        let shown = on_a_terminal(&t, berth, "app true; stty -g");
        let before = on_a_terminal(&t, berth, "-T app true; stty -g");
        let settings = |s: &str| s.lines().rev().find(|l| l.contains(':')).map(str::to_owned);
        assert_eq!(
            settings(&shown),
            settings(&before),
            "berthctl: {berth}\n{shown:?}\n{before:?}"
        );
    }
}

#[tokio::test]
async fn a_signal_restores_the_terminal_and_hangs_the_command_up() {
    let (t, _compose) = project("bx-signal").await;
    let container = format!("{}-app-1", t.name);
    // A background job's stdin is /dev/null unless said otherwise.
    let line = format!(
        "stty -g; {} -p {} -f {} exec app sleep 4242 </dev/tty & pid=$!; \
         until docker exec {container} ps | grep -q 'sleep 4242'; do sleep 0.1; done; \
         kill -TERM $pid; wait $pid; echo rc=$?; stty -g",
        workspace_binary("berthctl").display(),
        t.name,
        t.file().display()
    );
    let out = Command::new("timeout")
        .args(["60", "script", "-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)");
    let shown = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = shown.lines().map(|l| l.trim_start_matches("^@")).collect();
    assert!(lines.contains(&"rc=143"), "{shown:?}");
    let settings: Vec<&&str> = lines.iter().filter(|l| l.contains(':')).collect();
    assert_eq!(settings.len(), 2, "{shown:?}");
    assert_eq!(
        settings[0], settings[1],
        "the terminal as it was: {shown:?}"
    );
    let ps = docker(&["exec", &container, "ps"]);
    assert!(!ps.contains("sleep 4242"), "{ps}");
}

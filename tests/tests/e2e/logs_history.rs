//! The stored log history against a real engine: a recreated container's lines stay, a
//! session reopened (or killed mid-write, or across an engine restart) goes on after its last
//! stored line with every line exactly once, a tiny budget drops the oldest segments, a full
//! disk stops writing with a warning and resumes when there is room, and `berthctl logs
//! --history` prints what was stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_engine::logs::history::{self, HistoryOptions};
use berth_engine::logs::{HistoryStatus, HubOptions};
use berth_engine::{EngineChoice, Session, SessionOptions};
use berth_tests::daemon::Daemon;
use berth_tests::stacks::{TestStack, load};
use berth_tests::{unique_project, workspace_binary};

/// How long a step may take under load.
const LIMIT: Duration = Duration::from_secs(60);

/// A service printing `<V> <n>` every 20 ms; its counter lives in the container, so a
/// restarted container goes on with its numbers and a recreated one starts at 1.
fn counter(v: &str) -> String {
    format!(
        "services:\n  counter:\n    image: berth-test/busybox:1\n    environment:\n      V: {v}\n    \
         command: [\"sh\", \"-c\", \"trap 'stop=1' TERM; i=$$(cat /tmp/n 2>/dev/null || echo 0); \
         while [ -z \\\"$$stop\\\" ]; do i=$$((i+1)); echo \\\"$$V $$i\\\"; echo $$i > /tmp/n; \
         sleep 0.02; done\"]\n"
    )
}

/// A service printing, a second after it starts, `flood <n>` for n in 1..=count, then `done`:
/// as fast as it can (about 50,000 a second), or in bursts of 50 lines every 10 ms (about
/// 4,000 a second) when `paced`.
fn flood(count: u32, paced: bool) -> String {
    let pause = if paced {
        "[ $$((i % 50)) -eq 0 ] && sleep 0.01; "
    } else {
        ""
    };
    format!(
        "services:\n  flood:\n    image: berth-test/busybox:1\n    command: [\"sh\", \"-c\", \
         \"sleep 1; i=0; while [ $$i -lt {count} ]; do i=$$((i+1)); echo \\\"flood $$i\\\"; \
         {pause}done; echo done; sleep 600\"]\n"
    )
}

/// Writes `yaml` as the project's file and runs `docker compose up -d` on it.
fn recreate(stack: &TestStack, yaml: &str) {
    let file = stack.dir.join("compose.yaml");
    std::fs::write(&file, yaml).unwrap();
    berth_tests::compose::run(&stack.name, &file, &["up", "-d"]);
}

/// A directory of the test's own for histories, removed when dropped.
struct Root(PathBuf);

impl Root {
    fn new(name: &str) -> Root {
        let dir = std::env::temp_dir().join(format!("{name}-data"));
        std::fs::create_dir_all(&dir).unwrap();
        Root(dir)
    }

    /// Where the histories go with BERTH_DATA_DIR set to this directory.
    fn logs(&self) -> PathBuf {
        self.0.join("logs")
    }

    /// The history directory of `project` (on whichever engine wrote it).
    fn project(&self, project: &str) -> PathBuf {
        let engines = std::fs::read_dir(self.logs()).expect("a history was written");
        engines
            .map(|e| e.unwrap().path().join(project))
            .find(|p| p.is_dir())
            .expect("the project's history directory")
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(stack: &TestStack, root: &Root, budget: u64, endpoint: &str) -> Arc<Session> {
    let options = SessionOptions {
        engine: EngineChoice::Endpoint(endpoint.to_owned()),
        hub: HubOptions {
            history: Some(HistoryOptions {
                root: root.logs(),
                budget,
            }),
            ..HubOptions::default()
        },
        follow_logs: true,
    };
    Session::open(Some(load(&stack.dir, &stack.name)), options)
}

/// Every stored line of `project` as `(container name, text)`, oldest first, read from disk.
fn stored(root: &Root, project: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    history::segments::each(&root.project(project), |store| {
        for pos in store.first()..store.end() {
            let source = store.source_at(pos).unwrap();
            let text = String::from_utf8_lossy(store.text(pos).unwrap()).into_owned();
            out.push((source.container.clone(), text));
        }
    })
    .unwrap();
    out
}

/// The numbers of the stored lines that read `<prefix> <n>`, in order.
fn numbers(lines: &[(String, String)], prefix: &str) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|(_, t)| t.strip_prefix(prefix)?.strip_prefix(' ')?.parse().ok())
        .collect()
}

/// Waits until `holds`, polling, for at most [`LIMIT`].
async fn until(what: &str, mut holds: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !holds() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The numbers `1..=n` once each, in order.
fn assert_once(got: &[u64], what: &str) {
    let want: Vec<u64> = (1..=got.len() as u64).collect();
    if got != want {
        let mut seen = BTreeMap::new();
        for n in got {
            *seen.entry(n).or_insert(0) += 1;
        }
        let twice: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
        let missing: Vec<u64> = (1..=got.iter().copied().max().unwrap_or(0))
            .filter(|n| !seen.contains_key(n))
            .collect();
        panic!(
            "{what}: {} lines, repeated {twice:?}, missing {missing:?}",
            got.len()
        );
    }
}

/// Lines stored and present in the hub: the session has written at least `n` of `prefix`.
async fn stored_at_least(root: &Root, project: &str, prefix: &str, n: usize) {
    until(&format!("{n} lines of {prefix} stored"), || {
        root.logs().is_dir()
            && std::fs::read_dir(root.logs()).unwrap().next().is_some()
            && numbers(&stored(root, project), prefix).len() >= n
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_containers_lines_stay_in_the_history() {
    let stack = TestStack::new("history-recreate", &counter("one")).await;
    let root = Root::new(&stack.name);
    stack.up_wait().await;
    let session = open(&stack, &root, 1 << 30, "");
    stored_at_least(&root, &stack.name, "one", 20).await;
    // The container is recreated (its environment changed): Docker drops its logs.
    let ids = stack.ids().await;
    recreate(&stack, &counter("two"));
    assert_ne!(stack.ids().await, ids, "recreated");
    stored_at_least(&root, &stack.name, "two", 20).await;
    drop(session);

    let lines = stored(&root, &stack.name);
    assert_once(&numbers(&lines, "one"), "the old container's lines");
    assert_once(&numbers(&lines, "two"), "the new container's lines");
    // And a session opened now has them in its buffer.
    let session = open(&stack, &root, 1 << 30, "");
    until("the reopened hub holding the old lines", || {
        session.hub().read(|s| {
            (s.first()..s.end()).any(|p| s.text(p) == Some(b"one 1"))
                && s.first() == 0
                && !matches!(session.hub().history_status(), HistoryStatus::Off)
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_session_goes_on_after_its_last_stored_line() {
    let stack = TestStack::new("history-restart", &counter("n")).await;
    let root = Root::new(&stack.name);
    stack.up_wait().await;
    for round in 1..=3 {
        let session = open(&stack, &root, 1 << 30, "");
        let before = numbers(&stored_or_none(&root, &stack.name), "n").len();
        stored_at_least(&root, &stack.name, "n", before + 30).await;
        drop(session);
        // The container keeps writing while no session reads it.
        tokio::time::sleep(Duration::from_millis(700 * round)).await;
    }
    let session = open(&stack, &root, 1 << 30, "");
    let before = numbers(&stored(&root, &stack.name), "n").len();
    stored_at_least(&root, &stack.name, "n", before + 30).await;
    drop(session);
    assert_once(
        &numbers(&stored(&root, &stack.name), "n"),
        "across four sessions",
    );
}

/// A container created while no session was open is read from its first line, not only its
/// last lines as on a first open (more than the 10,000 of a first open here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_made_while_no_session_was_open_is_stored_whole() {
    let stack = TestStack::new("history-newcomer", &counter("n")).await;
    let root = Root::new(&stack.name);
    stack.up_wait().await;
    let session = open(&stack, &root, 1 << 30, "");
    stored_at_least(&root, &stack.name, "n", 10).await;
    drop(session);
    let flood = flood(20_000, false).replace("services:\n", "");
    recreate(&stack, &format!("{}{flood}", counter("n")));
    let file = stack.dir.join("compose.yaml");
    until("the newcomer's flood written", || {
        let out = Command::new("docker")
            .args(["compose", "-p", &stack.name, "-f"])
            .arg(&file)
            .args(["logs", "--tail", "1", "flood"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("done")
    })
    .await;
    let session = open(&stack, &root, 1 << 30, "");
    until("the newcomer's last line stored", || {
        stored(&root, &stack.name).iter().any(|(_, t)| t == "done")
    })
    .await;
    drop(session);
    let lines = stored(&root, &stack.name);
    assert_once(&numbers(&lines, "flood"), "the newcomer's lines");
    assert_once(&numbers(&lines, "n"), "the first service's lines");
}

/// [`stored`], or nothing before the first session wrote.
fn stored_or_none(root: &Root, project: &str) -> Vec<(String, String)> {
    let any = std::fs::read_dir(root.logs()).is_ok_and(|mut d| d.next().is_some());
    if any {
        stored(root, project)
    } else {
        Vec::new()
    }
}

/// The child of [`a_writer_killed_mid_write_loses_nothing_on_reopen`]: a session writing the
/// history of the project named in the environment until it is killed. Runs only as that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_writer_killed_mid_write_loses_nothing_on_reopen as its child"]
async fn killed_writer() {
    let Ok(spec) = std::env::var("BERTH_TEST_KILLED_WRITER") else {
        return;
    };
    let (dir, name, logs) = {
        let mut parts = spec.split('\n');
        let mut next = || PathBuf::from(parts.next().unwrap());
        (next(), next(), next())
    };
    let options = SessionOptions {
        hub: HubOptions {
            history: Some(HistoryOptions {
                root: logs,
                budget: 1 << 30,
            }),
            ..HubOptions::default()
        },
        follow_logs: true,
        ..SessionOptions::default()
    };
    let _session = Session::open(Some(load(&dir, name.to_str().unwrap())), options);
    tokio::time::sleep(Duration::from_secs(600)).await;
}

/// Runs [`killed_writer`] in a child process of this test binary, writing `stack`'s history under
/// `root`, for the caller to kill.
fn spawn_killed_writer(stack: &TestStack, root: &Root) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "logs_history::killed_writer",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(
            "BERTH_TEST_KILLED_WRITER",
            format!(
                "{}\n{}\n{}",
                stack.dir.display(),
                stack.name,
                root.logs().display()
            ),
        )
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_mid_write_loses_nothing_on_reopen() {
    let stack = TestStack::new("history-kill", &flood(30_000, true)).await;
    let root = Root::new(&stack.name);
    let mut child = spawn_killed_writer(&stack, &root);
    until("the child's history open", || root.logs().is_dir()).await;
    stack.up(Default::default()).await.unwrap();
    // Killed while the flood pours in: some lines stored, not all. (Paced: a resume catches up
    // at most the follower's RESUME_TAIL lines written between its backlog and its follow.)
    stored_at_least(&root, &stack.name, "flood", 1000).await;
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let at_kill = numbers(&stored(&root, &stack.name), "flood");
    assert!(at_kill.len() < 30_000, "killed before the flood ended");
    // Whether or not the kill tore a record, a torn one is what reopening must handle: cut
    // the newest segment inside its last record.
    let dir = root.project(&stack.name);
    let newest = history::segments::list(&dir).unwrap().pop().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&newest.path)
        .unwrap()
        .set_len(newest.bytes - 5)
        .unwrap();

    let session = open(&stack, &root, 1 << 30, "");
    until("the flood's end stored", || {
        stored(&root, &stack.name).iter().any(|(_, t)| t == "done")
    })
    .await;
    let told = session.hub().read(|s| {
        (s.first()..s.end()).any(|p| {
            s.text(p)
                .is_some_and(|t| String::from_utf8_lossy(t).contains("were damaged"))
        })
    });
    assert!(told, "the cut is said in the log");
    drop(session);
    assert_once(
        &numbers(&stored(&root, &stack.name), "flood"),
        "after a kill and a torn record",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_restart_loses_and_repeats_nothing() {
    let name = unique_project("history-daemon");
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut daemon, engine) = Daemon::start(&dir).await;
    daemon.load("berth-test/busybox:1");
    let yaml = counter("n").replace(
        "    environment:",
        "    network_mode: none\n    restart: always\n    environment:",
    );
    std::fs::write(dir.join("compose.yaml"), &yaml).unwrap();
    let stack = berth_engine::Stack::new(engine, load(&dir, &name));
    stack
        .up(&Default::default(), &Default::default())
        .await
        .expect("up on the test's daemon");
    let root = Root::new(&name);
    let endpoint = Daemon::host(&dir);
    let test_stack = StackRef {
        dir: &dir,
        name: &name,
    };

    let session = test_stack.open(&root, &endpoint);
    stored_at_least(&root, &name, "n", 30).await;
    // The engine stops under the open session, and comes back with the container.
    daemon.stop();
    let (mut daemon, _) = Daemon::start(&dir).await;
    let before = numbers(&stored(&root, &name), "n").len();
    stored_at_least(&root, &name, "n", before + 30).await;
    // Then a session opened after another restart resumes from the history.
    drop(session);
    daemon.stop();
    let (daemon, _) = Daemon::start(&dir).await;
    let session = test_stack.open(&root, &endpoint);
    let before = numbers(&stored(&root, &name), "n").len();
    stored_at_least(&root, &name, "n", before + 30).await;
    drop(session);
    assert_once(
        &numbers(&stored(&root, &name), "n"),
        "across engine restarts",
    );
    stack
        .down(&Default::default(), &Default::default())
        .await
        .unwrap();
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A project on the test's own daemon.
struct StackRef<'a> {
    dir: &'a Path,
    name: &'a str,
}

impl StackRef<'_> {
    fn open(&self, root: &Root, endpoint: &str) -> Arc<Session> {
        let options = SessionOptions {
            engine: EngineChoice::Endpoint(endpoint.to_owned()),
            hub: HubOptions {
                history: Some(HistoryOptions {
                    root: root.logs(),
                    budget: 1 << 30,
                }),
                ..HubOptions::default()
            },
            follow_logs: true,
        };
        Session::open(Some(load(self.dir, self.name)), options)
    }
}

/// A small tmpfs of the test's own, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mount a tmpfs on {}", dir.display());
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: the history writer's thread may still hold a file there for a moment, and
        // a busy tmpfs would otherwise stay mounted after the test (two were found later).
        let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_budget_keeps_the_newest_lines_dropping_the_oldest_first() {
    let stack = TestStack::new("history-budget", &flood(100_000, false)).await;
    let root = Root::new(&stack.name);
    let _disk = Tmpfs::mount(&root.0, "4m");
    let budget = 1 << 20;
    let session = open(&stack, &root, budget, "");
    // Followed from its first line: the session is there before the container.
    until("the history open", || {
        !matches!(session.hub().history_status(), HistoryStatus::Off)
    })
    .await;
    stack.up(Default::default()).await.unwrap();
    until("the flood's end stored", || {
        stored_or_none(&root, &stack.name)
            .iter()
            .any(|(_, t)| t == "done")
    })
    .await;
    assert!(matches!(
        session.hub().history_status(),
        HistoryStatus::Recording { dropped: 0, .. }
    ));
    drop(session);
    let dir = root.project(&stack.name);
    let segments = history::segments::list(&dir).unwrap();
    let bytes: u64 = segments.iter().map(|s| s.bytes).sum();
    assert!(bytes <= budget, "{bytes} bytes within {budget}");
    assert!(segments[0].first > 0, "the oldest segments were dropped");
    let got = numbers(&stored(&root, &stack.name), "flood");
    // The newest lines, unbroken, up to the last: the oldest went first.
    let first = got[0];
    let want: Vec<u64> = (first..=100_000).collect();
    assert_eq!(got, want);
    eprintln!(
        "{} lines in {bytes} bytes: {:.1} bytes a line",
        got.len(),
        bytes as f64 / got.len() as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_writing_with_a_warning_and_resumes_when_there_is_room() {
    let stack = TestStack::new("history-full", &counter("n")).await;
    let root = Root::new(&stack.name);
    let _disk = Tmpfs::mount(&root.0, "4m");
    // Most of the disk taken by something else.
    let filler = root.0.join("filler");
    std::fs::write(&filler, vec![0u8; (4 << 20) - (8 << 10)]).unwrap();
    stack.up_wait().await;
    let session = open(&stack, &root, 1 << 30, "");
    until("writing stopped for the full disk", || {
        matches!(
            session.hub().history_status(),
            HistoryStatus::Stopped { .. }
        )
    })
    .await;
    let HistoryStatus::Stopped { reason, .. } = session.hub().history_status() else {
        unreachable!()
    };
    assert!(reason.contains("is full"), "{reason}");
    until("the warning in the log", || {
        session
            .hub()
            .read(|s| (s.first()..s.end()).any(|p| s.text(p) == Some(reason.as_bytes())))
    })
    .await;
    // The session lives on: lines still reach the hub.
    let end = session.hub().read(|s| s.end());
    until("more lines in the hub", || {
        session.hub().read(|s| s.end()) > end + 20
    })
    .await;
    // Room again: writing resumes.
    std::fs::remove_file(&filler).unwrap();
    until("writing again", || {
        matches!(
            session.hub().history_status(),
            HistoryStatus::Recording { .. }
        )
    })
    .await;
    let before = numbers(&stored(&root, &stack.name), "n").len();
    stored_at_least(&root, &stack.name, "n", before + 20).await;
    drop(session);
    // What is stored has no line twice (lines while the disk was full are missing).
    let got = numbers(&stored(&root, &stack.name), "n");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berthctl_prints_the_history_with_composes_prefixes() {
    let yaml = format!(
        "{}  other:\n    image: berth-test/busybox:1\n    command: [\"sh\", \"-c\", \"echo other 1; sleep 600\"]\n",
        counter("n")
    );
    let stack = TestStack::new("history-berthctl", &yaml).await;
    let root = Root::new(&stack.name);
    stack.up_wait().await;
    let session = open(&stack, &root, 1 << 30, "");
    stored_at_least(&root, &stack.name, "n", 40).await;
    // A recreate: the first container's lines are only in the history now.
    recreate(&stack, &yaml.replace("V: n", "V: m"));
    stored_at_least(&root, &stack.name, "m", 5).await;
    let since = session.hub().read(|s| {
        let p = (s.first()..s.end())
            .find(|&p| s.text(p) == Some(b"n 20"))
            .unwrap();
        berth_engine::logs::format_rfc3339(s.timestamp(p).unwrap())
    });
    let berthctl = |args: &[&str]| {
        let out = Command::new(workspace_binary("berthctl"))
            .args(["-p", &stack.name, "-f"])
            .arg(stack.dir.join("compose.yaml"))
            .args(["logs", "--history"])
            .args(args)
            .env("BERTH_DATA_DIR", &root.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Read while the session writes.
    let got = berthctl(&[
        "--since",
        &since,
        "--grep",
        "^n (2[0-9]|3[0-5])$",
        "counter",
    ]);
    let want: String = (20..=35).map(|n| format!("counter-1  | n {n}\n")).collect();
    assert_eq!(got, want);
    let all = berthctl(&[]);
    assert!(all.contains("counter-1  | n 1\n"), "{all}");
    assert!(all.contains("other-1    | other 1\n"), "{all}");
    let lines: Vec<&str> = all.lines().collect();
    let stored_now = stored(&root, &stack.name);
    assert!(lines.len() <= stored_now.len());
    assert_eq!(
        lines.iter().filter(|l| l.ends_with("| m 1")).count(),
        1,
        "{all}"
    );
    drop(session);
}

/// A session opened after its container was recreated while none was open follows the new
/// container, live (the app shows it), not only the old one's stored lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_after_a_recreate_follows_the_new_container() {
    reopened_after_a_recreate("history-reopen-new", false).await;
}

/// As [`a_session_opened_after_a_recreate_follows_the_new_container`], the first session's
/// process killed by SIGTERM (as the app's test stops the app) rather than closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_after_a_killed_one_and_a_recreate_follows_the_new_container() {
    reopened_after_a_recreate("history-reopen-killed", true).await;
}

async fn reopened_after_a_recreate(name: &str, killed: bool) {
    let stack = TestStack::new(name, &counter("old")).await;
    let root = Root::new(&stack.name);
    stack.up_wait().await;
    if killed {
        let mut child = spawn_killed_writer(&stack, &root);
        stored_at_least(&root, &stack.name, "old", 10).await;
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap();
    } else {
        let session = open(&stack, &root, 1 << 30, "");
        stored_at_least(&root, &stack.name, "old", 10).await;
        drop(session);
    }
    recreate(&stack, &counter("new"));
    let session = open(&stack, &root, 1 << 30, "");
    until("the new container's lines in the hub", || {
        session.hub().read(|s| {
            (s.first()..s.end()).any(|p| s.text(p).is_some_and(|t| t.starts_with(b"new ")))
        })
    })
    .await;
    stored_at_least(&root, &stack.name, "new", 10).await;
    drop(session);
    let lines = stored(&root, &stack.name);
    assert_once(&numbers(&lines, "new"), "the new container's lines");
}

/// A line longer than the engine's 16 KiB log frames (it splits it, each part with its own
/// timestamp) as the last stored line when the session closes: the session reopened resumes
/// after it and stores it once, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_line_at_the_resume_instant_is_stored_once() {
    let yaml = "services:\n  long:\n    image: berth-test/busybox:1\n    command: [\"sh\", \"-c\", \
                \"echo before; sleep 1; awk 'BEGIN { s = \\\"long \\\"; \
                for (i = 0; i < 40000; i++) s = s \\\"x\\\"; print s \\\" end\\\" }'; \
                sleep 5; echo after; sleep 600\"]\n";
    let stack = TestStack::new("history-split", yaml).await;
    let root = Root::new(&stack.name);
    let session = open(&stack, &root, 1 << 30, "");
    stack.up_wait().await;
    let long = |lines: &[(String, String)]| {
        lines
            .iter()
            .filter(|(_, t)| t.starts_with("long ") || t.ends_with(" end") || t.starts_with("xxx"))
            .map(|(_, t)| t.len())
            .collect::<Vec<_>>()
    };
    until("the long line stored", || {
        !long(&stored_or_none(&root, &stack.name)).is_empty()
    })
    .await;
    drop(session);
    // Reopened at once: it resumes at the long line's time, before `after` is written.
    let session = open(&stack, &root, 1 << 30, "");
    until("the line after it stored", || {
        stored(&root, &stack.name).iter().any(|(_, t)| t == "after")
    })
    .await;
    drop(session);
    let lines = stored(&root, &stack.name);
    assert_eq!(long(&lines), [5 + 40_000 + 4], "the long line once, whole");
    let count = |text: &str| lines.iter().filter(|(_, t)| t == text).count();
    assert_eq!((count("before"), count("after")), (1, 1));
}

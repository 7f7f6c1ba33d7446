//! Watch mode on the real engine: each `develop.watch` action, ignore rules (`.dockerignore`
//! too), deletes, `initial_sync`, and errors that do not stop the watch (a read-only target, a
//! stopped container); and the same edits landing the same files as `docker compose watch`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_engine::{CancellationToken, WatchEvent, WatchEventKind, WatchOptions};
use berth_tests::docker;
use berth_tests::stacks::TestStack;
use tokio::sync::mpsc;

/// How long a change may take to show in a container (a rebuild included).
const LIMIT: Duration = Duration::from_secs(30);

/// Berth's watch of a stack, cancelled when dropped.
struct Watching {
    events: mpsc::Receiver<WatchEvent>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), berth_engine::StackError>>,
}

impl Watching {
    /// Starts watching `services` (all when empty) and waits until each is watched.
    async fn start(stack: &TestStack, services: &[&str]) -> Watching {
        let options = WatchOptions {
            services: services.iter().map(|s| s.to_string()).collect(),
            prune: false,
        };
        Watching::start_with(stack, options).await
    }

    async fn start_with(stack: &TestStack, options: WatchOptions) -> Watching {
        let (tx, events) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let (s, c) = (stack.stack.clone(), cancel.clone());
        let task = tokio::spawn(async move { s.develop_watch(options, tx, c).await });
        let mut watching = Watching {
            events,
            cancel,
            task,
        };
        watching
            .until("watching", |e| e.kind == WatchEventKind::Watching)
            .await;
        watching
    }

    /// The next event `wanted` accepts (the ones before it dropped), within [`LIMIT`].
    async fn until(&mut self, what: &str, wanted: impl Fn(&WatchEvent) -> bool) -> WatchEvent {
        let found = tokio::time::timeout(LIMIT, async {
            loop {
                let event = self.events.recv().await.expect("the watch runs");
                if wanted(&event) {
                    return event;
                }
            }
        });
        found
            .await
            .unwrap_or_else(|_| panic!("no {what} within {LIMIT:?}"))
    }
}

impl Watching {
    /// Drops the events told so far: once none came for a while, the steps before are done.
    async fn settle(&mut self) {
        let quiet = berth_engine::file_watch::QUIET * 5;
        while let Ok(Some(_)) = tokio::time::timeout(quiet, self.events.recv()).await {}
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.task.abort();
    }
}

/// What `cat PATH` prints in `container`, None when it fails (no such file).
fn cat(container: &str, path: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["exec", container, "cat", path])
        .output()
        .expect("docker exec cat");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls (every 50 ms, up to [`LIMIT`]) until `check` holds of `container`'s `path`.
async fn poll_file(container: &str, path: &str, what: &str, check: impl Fn(Option<&str>) -> bool) {
    let start = Instant::now();
    loop {
        let now = cat(container, path);
        if check(now.as_deref()) {
            return;
        }
        assert!(
            start.elapsed() < LIMIT,
            "{what}: {container}:{path} is {now:?} after {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn has(container: &str, path: &str, text: &str) {
    let what = format!("{path} reads {text:?}");
    poll_file(container, path, &what, |now| now == Some(text)).await;
}

async fn gone(container: &str, path: &str) {
    poll_file(container, path, &format!("{path} deleted"), |now| {
        now.is_none()
    })
    .await;
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The files under `dir` in `container`, sorted, one per line.
fn listing(container: &str, dir: &str) -> String {
    let script = format!("cd {dir} && find . -type f | sort");
    docker(&["exec", container, "sh", "-c", &script])
}

const SYNC: &str = r#"
services:
  web:
    build: .
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          ignore: ["*.tmp", "cache/"]
          initial_sync: true
"#;

fn sync_project(dir: &Path) {
    write(
        dir,
        "Dockerfile",
        "FROM berth-test/busybox:1\nRUN mkdir /app\n",
    );
    write(dir, ".dockerignore", "src/secret.txt\n");
    write(dir, "src/first.txt", "first\n");
    write(dir, "src/secret.txt", "not sent\n");
}

#[tokio::test]
async fn sync_copies_new_and_changed_files_deletes_removed_ones_and_skips_the_ignored() {
    let stack = TestStack::new("watch-sync", SYNC).await;
    sync_project(&stack.dir);
    stack.up_wait().await;
    let web = format!("{}-web-1", stack.name);
    let src = stack.dir.join("src");
    assert_eq!(cat(&web, "/app/first.txt"), None, "not in the image");
    let mut watch = Watching::start(&stack, &[]).await;
    // initial_sync: what was there before the watch, less what the rules leave out.
    has(&web, "/app/first.txt", "first\n").await;
    assert_eq!(cat(&web, "/app/secret.txt"), None, ".dockerignore'd");

    write(&src, "new.txt", "one\n");
    has(&web, "/app/new.txt", "one\n").await;
    watch
        .until("synced", |e| {
            matches!(e.kind, WatchEventKind::Synced { files: 1 })
        })
        .await;
    write(&src, "new.txt", "two\n");
    has(&web, "/app/new.txt", "two\n").await;

    // Ignored files and directories, then a file that is not: once it is there, the others
    // would have been too.
    write(&src, "x.tmp", "tmp\n");
    write(&src, "secret.txt", "still not sent\n");
    write(&src, "cache/c.txt", "cache\n");
    write(&src, "node_modules/m/i.js", "module\n");
    write(&src, ".git/HEAD", "ref\n");
    write(&src, ".new.txt.swp", "vim\n");
    write(&src, "deep/er/f.txt", "deep\n");
    has(&web, "/app/deep/er/f.txt", "deep\n").await;
    assert_eq!(
        listing(&web, "/app"),
        "./deep/er/f.txt\n./first.txt\n./new.txt"
    );

    std::fs::remove_file(src.join("new.txt")).unwrap();
    gone(&web, "/app/new.txt").await;
    std::fs::remove_dir_all(src.join("deep")).unwrap();
    gone(&web, "/app/deep/er/f.txt").await;
    // A directory moved in arrives with what it holds.
    write(&stack.dir, "elsewhere/moved/m.txt", "moved\n");
    std::fs::rename(stack.dir.join("elsewhere/moved"), src.join("moved")).unwrap();
    has(&web, "/app/moved/m.txt", "moved\n").await;
    watch.settle().await;

    // A thousand files at once (a branch switch): one batch.
    let many = src.join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..1000 {
        std::fs::write(many.join(format!("f{i}")), format!("{i}\n")).unwrap();
    }
    let synced = watch
        .until("synced", |e| {
            matches!(e.kind, WatchEventKind::Synced { .. })
        })
        .await;
    assert_eq!(synced.kind, WatchEventKind::Synced { files: 1000 });
    has(&web, "/app/many/f999", "999\n").await;
}

#[tokio::test]
async fn sync_restart_restarts_and_sync_exec_runs_the_hook_with_its_user_dir_and_env() {
    let yaml = r#"
services:
  other:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
  web:
    image: berth-test/busybox:1
    command: ["sh", "-c", "mkdir -m 777 /out; date +%s%N > /tmp/started; exec sleep 3600"]
    develop:
      watch:
        - path: ./conf
          action: sync+restart
          target: /conf
        - path: ./hook
          action: sync+exec
          target: /hook
          exec:
            command: ["sh", "-c", "echo \"$(id -u) $(pwd) $$GREETING $(cat /hook/h.txt)\" > /out/hooked"]
            user: "1000"
            working_dir: /tmp
            environment:
              GREETING: hello
        - path: ./plain
          action: restart
"#;
    let stack = TestStack::new("watch-actions", yaml).await;
    for d in ["conf", "hook", "plain"] {
        std::fs::create_dir_all(stack.dir.join(d)).unwrap();
    }
    stack.up_wait().await;
    let web = format!("{}-web-1", stack.name);
    let started = || cat(&web, "/tmp/started").expect("started");
    let first = started();
    assert_eq!(stack.stack.watch_services(), ["web"]);
    let mut watch = Watching::start(&stack, &["web"]).await;

    write(&stack.dir, "conf/app.conf", "a=1\n");
    watch
        .until("restarted", |e| e.kind == WatchEventKind::Restarted)
        .await;
    has(&web, "/conf/app.conf", "a=1\n").await;
    let second = started();
    assert_ne!(first, second, "the container restarted");

    write(&stack.dir, "hook/h.txt", "synced");
    let executed = watch
        .until("executed", |e| {
            matches!(e.kind, WatchEventKind::Executed { .. })
        })
        .await;
    assert_eq!(executed.kind, WatchEventKind::Executed { code: 0 });
    has(&web, "/out/hooked", "1000 /tmp hello synced\n").await;
    assert_eq!(started(), second, "sync+exec does not restart");

    write(&stack.dir, "plain/p.txt", "p\n");
    watch
        .until("restarted", |e| e.kind == WatchEventKind::Restarted)
        .await;
    assert_ne!(started(), second, "restart restarted it");
    assert_eq!(cat(&web, "/plain/p.txt"), None, "restart syncs nothing");
}

#[tokio::test]
async fn rebuild_builds_a_new_image_and_replaces_the_container() {
    let yaml = r#"
services:
  web:
    build: ./app
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./app
          action: rebuild
"#;
    let stack = TestStack::new("watch-rebuild", yaml).await;
    write(
        &stack.dir,
        "app/Dockerfile",
        "FROM berth-test/busybox:1\nCOPY version.txt /version.txt\n",
    );
    write(&stack.dir, "app/version.txt", "1\n");
    stack.up_wait().await;
    let web = format!("{}-web-1", stack.name);
    has(&web, "/version.txt", "1\n").await;
    let image = |container: &str| docker(&["inspect", "-f", "{{.Image}}", container]);
    let first = image(&web);
    let options = WatchOptions {
        services: Vec::new(),
        prune: true,
    };
    let mut watch = Watching::start_with(&stack, options).await;
    write(&stack.dir, "app/version.txt", "2\n");
    watch
        .until("rebuilding", |e| e.kind == WatchEventKind::Rebuilding)
        .await;
    watch
        .until("rebuilt", |e| e.kind == WatchEventKind::Rebuilt)
        .await;
    has(&web, "/version.txt", "2\n").await;
    assert_ne!(image(&web), first, "a new image");
    let old = Command::new("docker")
        .args(["image", "inspect", &first])
        .output()
        .unwrap();
    assert!(
        !old.status.success(),
        "--prune removed the image it replaced"
    );

    // A broken Dockerfile fails the rebuild; the watch goes on and the next save rebuilds.
    write(
        &stack.dir,
        "app/Dockerfile",
        "FROM berth-test/busybox:1\nRUN exit 3\n",
    );
    let failed = watch
        .until("failed", |e| {
            matches!(e.kind, WatchEventKind::Failed { .. })
        })
        .await;
    let WatchEventKind::Failed { message } = failed.kind else {
        unreachable!()
    };
    assert!(message.contains("rebuild failed"), "{message}");
    write(
        &stack.dir,
        "app/Dockerfile",
        "FROM berth-test/busybox:1\nCOPY version.txt /version.txt\nRUN echo 3 > /version.txt\n",
    );
    has(&web, "/version.txt", "3\n").await;
}

#[tokio::test]
async fn a_read_only_target_and_a_stopped_container_fail_and_the_next_change_syncs() {
    let yaml = r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
    volumes: ["ro:/etc/ro:ro"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
        - path: ./ro
          action: sync
          target: /etc/ro
volumes:
  ro:
"#;
    let stack = TestStack::new("watch-errors", yaml).await;
    std::fs::create_dir_all(stack.dir.join("src")).unwrap();
    std::fs::create_dir_all(stack.dir.join("ro")).unwrap();
    stack.up_wait().await;
    let web = format!("{}-web-1", stack.name);
    let mut watch = Watching::start(&stack, &[]).await;

    write(&stack.dir, "ro/x.txt", "x\n");
    let failed = watch
        .until("failed", |e| {
            matches!(e.kind, WatchEventKind::Failed { .. })
        })
        .await;
    let WatchEventKind::Failed { message } = failed.kind else {
        unreachable!()
    };
    assert!(message.contains("/etc/ro"), "names the target: {message}");
    write(&stack.dir, "src/a.txt", "a\n");
    has(&web, "/app/a.txt", "a\n").await;

    docker(&["stop", "-t", "0", &web]);
    write(&stack.dir, "src/b.txt", "b\n");
    let failed = watch
        .until("failed", |e| {
            matches!(e.kind, WatchEventKind::Failed { .. })
        })
        .await;
    let WatchEventKind::Failed { message } = failed.kind else {
        unreachable!()
    };
    assert!(message.contains("not running"), "{message}");
    docker(&["start", &web]);
    write(&stack.dir, "src/c.txt", "c\n");
    has(&web, "/app/c.txt", "c\n").await;
}

/// An edit of a project's `src` directory.
type Edit = dyn Fn(&Path);

/// `docker compose watch --no-up` of a project, ended when dropped.
struct ComposeWatch(Child);

impl Drop for ComposeWatch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_same_edits_land_the_same_files_as_docker_compose_watch() {
    // No initial_sync: compose matches the `.dockerignore` against a file's base name there
    // (its initialSync), so it sends src/secret.txt that Berth, as compose's watch, leaves out.
    let yaml = SYNC.replace("          initial_sync: true\n", "");
    let berth = TestStack::new("watch-berth", &yaml).await;
    let compose = TestStack::new("watch-compose", &yaml).await;
    for s in [&berth, &compose] {
        sync_project(&s.dir);
        s.up_wait().await;
    }
    let mut child = Command::new("docker")
        .args(["compose", "-p", &compose.name, "-f"])
        .arg(compose.file())
        .args(["watch", "--no-up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker compose watch");
    let stdout = child.stdout.take().expect("its stdout");
    let _theirs = ComposeWatch(child);
    // Read on to the end: a closed pipe would end compose at its next line.
    let (tx, enabled) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("Watch enabled") {
                tx.take().map(|tx| tx.send(()));
            }
        }
    });
    let enabled = tokio::time::timeout(LIMIT, enabled).await;
    assert!(
        matches!(enabled, Ok(Ok(()))),
        "docker compose watch said \"Watch enabled\""
    );
    let _ours = Watching::start(&berth, &[]).await;
    let (b, c) = (
        format!("{}-web-1", berth.name),
        format!("{}-web-1", compose.name),
    );

    let steps: [(&Edit, &str); 3] = [
        (
            &|src| {
                write(src, "a.txt", "a\n");
                write(src, "x.tmp", "ignored\n");
                write(src, "secret.txt", "dockerignored\n");
                write(src, "cache/c.txt", "ignored dir\n");
                write(src, "sub/s.txt", "s\n");
            },
            "sub/s.txt",
        ),
        (
            &|src| std::fs::remove_file(src.join("a.txt")).unwrap(),
            "a.txt",
        ),
        (&|src| write(src, "sub/s.txt", "changed\n"), "sub/s.txt"),
    ];
    for (step, sentinel) in steps {
        for s in [&berth, &compose] {
            step(&s.dir.join("src"));
        }
        // Each has taken the step once its sentinel reads as the host's.
        let host = std::fs::read_to_string(berth.dir.join("src").join(sentinel)).ok();
        let path = format!("/app/{sentinel}");
        for container in [&b, &c] {
            match &host {
                Some(text) => has(container, &path, text).await,
                None => gone(container, &path).await,
            }
        }
        assert_eq!(
            listing(&b, "/app"),
            listing(&c, "/app"),
            "after the same edits"
        );
    }
    assert_eq!(listing(&b, "/app"), "./sub/s.txt");
}

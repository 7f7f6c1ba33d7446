//! Watch mode (issue 16): `berthctl watch` beside `docker compose watch` on the same projects, in
//! one run. Each runs alone (`--no-up`) against a service built FROM a local image, with a `sync`
//! of `./src` to `/app/src`:
//!
//! - save → the new content readable in the container, timed by polling `docker exec … cat`
//!   every 50 ms, and by a finer probe: one `docker exec` shell that reads the file every 5 ms
//!   and prints what changed, each line timed as it arrives;
//! - 1,000 files written at once, timed until all are readable in the container, with the
//!   watcher's "Syncing …" lines (one batch or more);
//! - a 100k-file tree watched with nothing changing: the watcher's CPU time over 30 s (its
//!   processes' utime + stime in /proc/PID/stat, and in ns from their threads' schedstat), its
//!   wakeups (context switches), inotify watches (/proc/PID/fdinfo) and memory, then one save in
//!   the tree to show it still watches.
//!
//! ```sh
//! cargo build --release --locked -p berth-engine --bin berthctl
//! cargo bench -p berth-tests --bench watch
//! ```
//!
//! Figures are printed, never asserted; docs/benchmarks.md ("Watch") records them.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_tests::app::descendants;
use berth_tests::samples::{median, spread};
use berth_tests::stacks::Cleanup;
use berth_tests::{docker, unique_project, workspace_binary};

/// Saves timed with each probe.
const SAVES: usize = 20;
/// Files written at once, and how many times.
const BATCH: usize = 1_000;
const BATCHES: usize = 3;
/// The idle tree: directories × files in each.
const TREE_DIRS: usize = 1_000;
const TREE_FILES: usize = 100;
/// How long the idle watcher's CPU time is counted, after it has settled.
const IDLE: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);
/// Quiet time between saves, so each is a batch of its own for both watchers.
const GAP: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(120);
/// The file the saves write, on the host and in the container.
const SAVED: &str = "src/saved.txt";
const SAVED_IN_CONTAINER: &str = "/app/src/saved.txt";
/// Where the probe's shell leaves its PID in the container.
const PROBE_PID: &str = "/tmp/berth-bench-probe.pid";

#[derive(Clone, Copy)]
enum Tool {
    Compose,
    Berth,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Compose => "docker compose watch",
            Tool::Berth => "berthctl watch",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Tool::Compose => "compose",
            Tool::Berth => "berth",
        }
    }

    fn command(self, project: &Project) -> Command {
        let mut command = match self {
            Tool::Compose => {
                let mut c = Command::new("docker");
                c.arg("compose");
                c
            }
            Tool::Berth => Command::new(workspace_binary("berthctl")),
        };
        command
            .args(["-p", &project.name, "-f"])
            .arg(project.dir.join("compose.yaml"))
            .args(["watch", "--no-up"]);
        command
    }
}

/// A project in its own directory with one service, `app`, whose `./src` is synced.
struct Project {
    name: String,
    dir: PathBuf,
    container: String,
    _cleanup: Cleanup,
}

impl Project {
    /// Writes the project, lets `fill` put files in `src/`, builds and starts it.
    fn new(what: &str, fill: impl FnOnce(&Path)) -> Project {
        let name = unique_project(what);
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(dir.join("image")).expect("create the project");
        std::fs::create_dir_all(dir.join("src")).expect("create src");
        std::fs::write(
            dir.join("image/Dockerfile"),
            "FROM berth-test/busybox:1\nRUN mkdir -p /app/src\nCMD [\"sleep\", \"86400\"]\n",
        )
        .expect("write the Dockerfile");
        std::fs::write(
            dir.join("compose.yaml"),
            "services:\n  app:\n    build: ./image\n    init: true\n    develop:\n      watch:\n\
             \x20       - action: sync\n          path: ./src\n          target: /app/src\n",
        )
        .expect("write compose.yaml");
        fill(&dir.join("src"));
        let project = Project {
            _cleanup: Cleanup(name.clone()),
            container: format!("{name}-app-1"),
            name,
            dir,
        };
        let file = project.dir.join("compose.yaml");
        let file = file.to_str().expect("UTF-8 path");
        docker(&[
            "compose",
            "-p",
            &project.name,
            "-f",
            file,
            "up",
            "-d",
            "--build",
            "--wait",
        ]);
        project
    }

    /// `cat PATH` in the container, or nothing when it cannot be read.
    fn cat(&self, path: &str) -> String {
        let out = Command::new("docker")
            .args(["exec", &self.container, "cat", path])
            .stderr(Stdio::null())
            .output()
            .expect("run docker exec");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Polls `docker exec … cat PATH` every [`POLL`] until it reads `want`; the time since `t0`.
    fn poll_until(&self, path: &str, want: &str, t0: Instant) -> Duration {
        while self.cat(path) != want {
            assert!(t0.elapsed() < LONG, "{want} never reached {path}");
            std::thread::sleep(POLL);
        }
        t0.elapsed()
    }
}

impl Drop for Project {
    /// Takes it down with the image it built (the `Cleanup` after it leaves images).
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["compose", "-p", &self.name, "-f"])
            .arg(self.dir.join("compose.yaml"))
            .args(["down", "-v", "-t", "0", "--rmi", "local"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running watcher, its output lines timed as they arrive.
struct Watcher {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Watcher {
    /// Starts `tool` on `project` and waits until it says it watches; returns it with the time
    /// that took.
    fn start(tool: Tool, project: &Project) -> (Watcher, Duration) {
        let t0 = Instant::now();
        let mut child = tool
            .command(project)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the watcher");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        collect(out, lines.clone());
        collect(err, lines.clone());
        let mut watcher = Watcher { child, lines };
        while !watcher.since(t0).iter().any(|l| is_ready(l)) {
            let exited = watcher.child.try_wait().expect("wait").is_some();
            assert!(
                !exited && t0.elapsed() < LONG,
                "{} never said it watches:\n{}",
                tool.label(),
                watcher.since(t0).join("\n")
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        (watcher, t0.elapsed())
    }

    /// When it last said "Syncing …" after `t0`: it has taken the batch and sends it next.
    fn syncing_at(&self, t0: Instant) -> Option<Instant> {
        let lines = self.lines.lock().expect("lines");
        (lines.iter().rev())
            .find(|(at, line)| *at >= t0 && line.contains("Syncing"))
            .map(|(at, _)| *at)
    }

    fn since(&self, t0: Instant) -> Vec<String> {
        let lines = self.lines.lock().expect("lines");
        (lines.iter())
            .filter(|(at, _)| *at >= t0)
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// Its process and every process below it (`docker compose` runs a plugin process).
    fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.child.id()];
        pids.extend(descendants(self.child.id()));
        pids
    }

    /// CPU time of the watcher's processes so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        self.pids().iter().map(|&pid| cpu_ticks(pid)).sum()
    }

    /// CPU time of the watcher's threads in ns (/proc/PID/task/TID/schedstat, finer than the
    /// ticks of stat) and their context switches: how often they woke up.
    fn run_time_and_wakeups(&self) -> (u64, u64) {
        let (mut ns, mut switches) = (0, 0);
        for pid in self.pids() {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let path = task.path();
                let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
                ns += (schedstat.split_whitespace().next())
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0);
                let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
                switches += (status.lines())
                    .filter(|l| l.contains("ctxt_switches:"))
                    .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum::<u64>();
            }
        }
        (ns, switches)
    }

    /// inotify watches the watcher's processes hold.
    fn inotify_watches(&self) -> usize {
        let mut watches = 0;
        for pid in self.pids() {
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
                continue;
            };
            for fd in fds.flatten() {
                let info = std::fs::read_to_string(fd.path()).unwrap_or_default();
                watches += info
                    .lines()
                    .filter(|l| l.starts_with("inotify wd:"))
                    .count();
            }
        }
        watches
    }

    /// Resident memory of the watcher's processes, in MiB.
    fn rss_mib(&self) -> f64 {
        let kib: u64 = (self.pids().iter())
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|status| {
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .sum();
        kib as f64 / 1024.0
    }

    /// Ctrl-C to each of its processes, as a terminal sends it; killed if it lingers.
    fn stop(mut self) {
        for pid in self.pids() {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
        let t0 = Instant::now();
        while self.child.try_wait().expect("wait").is_none() {
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Both tools say so when their watch is set up.
fn is_ready(line: &str) -> bool {
    line.contains("Watch enabled")
}

fn collect(stream: impl Read + Send + 'static, lines: Arc<Mutex<Vec<(Instant, String)>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            lines.lock().expect("lines").push((Instant::now(), line));
        }
    });
}

/// utime + stime of `pid` (all its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // `pid (comm) state ppid …`: utime and stime are the 12th and 13th fields after comm.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    (fields.get(11..13).into_iter().flatten())
        .filter_map(|f| f.parse::<u64>().ok())
        .sum()
}

fn clock_ticks_per_second() -> f64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("run getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK")
}

/// One `docker exec` shell in the container that reads the saved file every 5 ms and prints it
/// when it changed; each line timed as it arrives on the host.
struct Probe {
    child: Child,
    seen: Receiver<(Instant, String)>,
    container: String,
}

impl Probe {
    fn start(project: &Project) -> Probe {
        let script = format!(
            "echo $$ > {PROBE_PID}; last=; while :; do {{ read -r c < {SAVED_IN_CONTAINER}; }} 2>/dev/null; \
             if [ \"$c\" != \"$last\" ]; then echo \"$c\"; last=\"$c\"; fi; usleep 5000; done"
        );
        let mut child = Command::new("docker")
            .args(["exec", &project.container, "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the probe");
        let out = child.stdout.take().expect("stdout");
        let (tx, seen) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Probe {
            child,
            seen,
            container: project.container.clone(),
        }
    }

    /// The time from `t0` until the probe printed `want`.
    fn until(&self, want: &str, t0: Instant) -> Duration {
        loop {
            let (at, line) = self
                .seen
                .recv_timeout(LONG)
                .unwrap_or_else(|_| panic!("the probe never read {want}"));
            if line == want {
                return at - t0;
            }
        }
    }

    /// Ends the shell in the container (ending `docker exec` would leave it running there).
    fn stop(mut self) {
        docker(&[
            "exec",
            &self.container,
            "sh",
            "-c",
            &format!("kill $(cat {PROBE_PID})"),
        ]);
        let _ = self.child.wait();
    }
}

/// What one tool measured on the small project.
struct Edits {
    ready: Duration,
    polled: Vec<f64>,
    probed: Vec<f64>,
    /// Of the probed saves: the time until the watcher said "Syncing …".
    taken: Vec<f64>,
    batches: Vec<f64>,
    /// How long writing each batch on the host took, within its time.
    written: Vec<f64>,
    batch_lines: Vec<Vec<String>>,
}

fn edits(tool: Tool, project: &Project) -> Edits {
    eprintln!("{}: {SAVES} saves polled, {SAVES} probed", tool.label());
    let (watcher, ready) = Watcher::start(tool, project);
    let saved = project.dir.join(SAVED);
    let mut polled = Vec::new();
    for i in 0..SAVES {
        let content = format!("{}-poll-{i}", tool.tag());
        let t0 = Instant::now();
        std::fs::write(&saved, format!("{content}\n")).expect("save");
        polled.push(ms(project.poll_until(SAVED_IN_CONTAINER, &content, t0)));
        std::thread::sleep(GAP);
    }
    let probe = Probe::start(project);
    let mut probed = Vec::new();
    let mut taken = Vec::new();
    for i in 0..SAVES {
        let content = format!("{}-probe-{i}", tool.tag());
        let t0 = Instant::now();
        std::fs::write(&saved, format!("{content}\n")).expect("save");
        let seen = probe.until(&content, t0);
        probed.push(ms(seen));
        let syncing = watcher.syncing_at(t0).expect("a Syncing line for the save");
        taken.push(ms(syncing - t0));
        std::thread::sleep(GAP);
    }
    probe.stop();

    eprintln!("{}: {BATCHES} × {BATCH} files", tool.label());
    let mut batches = Vec::new();
    let mut batch_lines = Vec::new();
    let mut written = Vec::new();
    for k in 0..BATCHES {
        let dir = format!("batch-{}-{k}", tool.tag());
        let host = project.dir.join("src").join(&dir);
        let t0 = Instant::now();
        std::fs::create_dir(&host).expect("create the batch directory");
        for i in 0..BATCH {
            std::fs::write(host.join(format!("{i}.txt")), format!("{dir}\n")).expect("write");
        }
        written.push(ms(t0.elapsed()));
        let count = format!("cat /app/src/{dir}/*.txt 2>/dev/null | grep -c {dir}");
        loop {
            let out = Command::new("docker")
                .args(["exec", &project.container, "sh", "-c", &count])
                .output()
                .expect("run docker exec");
            if String::from_utf8_lossy(&out.stdout).trim() == BATCH.to_string() {
                break;
            }
            assert!(t0.elapsed() < LONG, "{dir} never arrived whole");
            std::thread::sleep(POLL);
        }
        batches.push(ms(t0.elapsed()));
        std::thread::sleep(Duration::from_secs(1));
        batch_lines.push(
            (watcher.since(t0).into_iter())
                .filter(|l| l.contains("Syncing"))
                .collect(),
        );
    }
    watcher.stop();
    Edits {
        ready,
        polled,
        probed,
        taken,
        batches,
        written,
        batch_lines,
    }
}

/// What one tool measured on the 100k-file tree.
struct Idle {
    ready: Duration,
    /// CPU time from the start until [`SETTLE`] after it said it watches.
    startup_cpu_ms: f64,
    idle_cpu_ms: f64,
    /// The same from schedstat, in ms.
    idle_run_ms: f64,
    wakeups: u64,
    watches: usize,
    rss_mib: f64,
    save: Duration,
}

fn idle(tool: Tool, project: &Project, tick: f64) -> Idle {
    eprintln!(
        "{}: {} files, idle for {} s",
        tool.label(),
        TREE_DIRS * TREE_FILES,
        IDLE.as_secs()
    );
    let (watcher, ready) = Watcher::start(tool, project);
    std::thread::sleep(SETTLE);
    let before = watcher.cpu_ticks();
    let (ns_before, switches_before) = watcher.run_time_and_wakeups();
    let startup_cpu_ms = before as f64 / tick * 1e3;
    std::thread::sleep(IDLE);
    let idle_cpu_ms = (watcher.cpu_ticks() - before) as f64 / tick * 1e3;
    let (ns_after, switches_after) = watcher.run_time_and_wakeups();
    let idle_run_ms = ns_after.saturating_sub(ns_before) as f64 / 1e6;
    let wakeups = switches_after.saturating_sub(switches_before);
    let watches = watcher.inotify_watches();
    let rss_mib = watcher.rss_mib();
    let content = format!("{}-tree", tool.tag());
    let t0 = Instant::now();
    std::fs::write(project.dir.join(SAVED), format!("{content}\n")).expect("save");
    let save = project.poll_until(SAVED_IN_CONTAINER, &content, t0);
    watcher.stop();
    Idle {
        ready,
        startup_cpu_ms,
        idle_cpu_ms,
        idle_run_ms,
        wakeups,
        watches,
        rss_mib,
        save,
    }
}

fn main() {
    let tick = clock_ticks_per_second();
    let small = Project::new("bench-watch", |_| {});
    let compose = edits(Tool::Compose, &small);
    let berth = edits(Tool::Berth, &small);
    drop(small);

    eprintln!("writing {} files", TREE_DIRS * TREE_FILES);
    let big = Project::new("bench-watch-tree", |src| {
        for d in 0..TREE_DIRS {
            let dir = src.join(format!("d{d}"));
            std::fs::create_dir(&dir).expect("create a tree directory");
            for f in 0..TREE_FILES {
                std::fs::write(dir.join(format!("f{f}.txt")), "x\n").expect("write a tree file");
            }
        }
    });
    let compose_idle = idle(Tool::Compose, &big, tick);
    let berth_idle = idle(Tool::Berth, &big, tick);
    drop(big);

    println!("save → readable in the container, {SAVES} saves, ms (p50 / p95 / max):");
    for (tool, e) in [(Tool::Compose, &compose), (Tool::Berth, &berth)] {
        println!(
            "  {:<22} docker exec cat every 50 ms {}   probe every 5 ms {}",
            tool.label(),
            spread(&e.polled, 0),
            spread(&e.probed, 0)
        );
    }
    println!("  of the probed: save → \"Syncing …\" line / line → readable, p50 ms:");
    for (tool, e) in [(Tool::Compose, &compose), (Tool::Berth, &berth)] {
        let after: Vec<f64> = (e.probed.iter().zip(&e.taken))
            .map(|(p, t)| p - t)
            .collect();
        println!(
            "    {:<20} {:.0} / {:.0}",
            tool.label(),
            median(&e.taken),
            median(&after)
        );
    }
    println!(
        "  berth / compose p50: polled {:.2}×, probed {:.2}×",
        median(&berth.polled) / median(&compose.polled),
        median(&berth.probed) / median(&compose.probed)
    );
    println!("{BATCH} files at once, until all are readable, ms (each of {BATCHES}):");
    for (tool, e) in [(Tool::Compose, &compose), (Tool::Berth, &berth)] {
        println!(
            "  {:<22} {}   median {:.0} (writing them: {} ms; after the last write: median {:.0})",
            tool.label(),
            list(&e.batches),
            median(&e.batches),
            list(&e.written),
            median(&after_writes(e))
        );
        for (k, lines) in e.batch_lines.iter().enumerate() {
            println!(
                "    batch {k}: {} line(s): {}",
                lines.len(),
                lines.join(" | ")
            );
        }
    }
    println!(
        "  berth / compose median: {:.2}× (after the last write: {:.2}×)",
        median(&berth.batches) / median(&compose.batches),
        median(&after_writes(&berth)) / median(&after_writes(&compose))
    );
    println!(
        "watch start (until it says so), small project / {} files, ms; CPU until settled:",
        TREE_DIRS * TREE_FILES
    );
    for (tool, e, i) in [
        (Tool::Compose, &compose, &compose_idle),
        (Tool::Berth, &berth, &berth_idle),
    ] {
        println!(
            "  {:<22} {:.0} / {:.0} (CPU {:.0} ms)",
            tool.label(),
            ms(e.ready),
            ms(i.ready),
            i.startup_cpu_ms
        );
    }
    println!(
        "{} files watched, nothing changing for {} s:",
        TREE_DIRS * TREE_FILES,
        IDLE.as_secs()
    );
    for (tool, i) in [(Tool::Compose, &compose_idle), (Tool::Berth, &berth_idle)] {
        println!(
            "  {:<22} CPU {:.0} ms (stat) / {:.2} ms (schedstat), {} wakeups, {} inotify watches, \
             RSS {:.1} MiB; then a save in {:.0} ms",
            tool.label(),
            i.idle_cpu_ms,
            i.idle_run_ms,
            i.wakeups,
            i.watches,
            i.rss_mib,
            ms(i.save)
        );
    }
}

/// Each batch's time from its last write until all was readable; writing on this disk varies
/// (10–360 ms for 1,000 files) whoever watches.
fn after_writes(e: &Edits) -> Vec<f64> {
    (e.batches.iter().zip(&e.written))
        .map(|(b, w)| b - w)
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn list(samples: &[f64]) -> String {
    let parts: Vec<String> = samples.iter().map(|s| format!("{s:.0}")).collect();
    parts.join(", ")
}

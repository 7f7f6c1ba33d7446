//! The desktop app's benchmark (issue 6): start to first paint, idle memory of the whole process
//! tree against a minimal Tauri app measured in the same run, idle CPU over a minute, and the time
//! from `docker kill` to the row's state cell changing. It drives the release binaries (as
//! `tauri build` packages them) through WebDriver, so it needs a display and a session bus:
//!
//! ```sh
//! (cd ui && npm run build)
//! cargo build --release --locked -p berth -p berth-hello --features tauri/custom-protocol
//! NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
//!   cargo bench -p berth-tests --bench app
//! ```
//!
//! Figures are printed, never asserted; docs/benchmarks.md ("Desktop app") records them.
//! `MEMORY_ONLY=1` measures only the idle memory, `COLD=1` starts each app on an empty page cache.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_tests::app::App;
use berth_tests::samples::{median, percentile};
use berth_tests::stacks::Cleanup;
use berth_tests::{engine, fixture, unique_project, workspace_binary};
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;

/// Launches of each app for the first-paint median.
const LAUNCHES: usize = 5;
/// Kills for the kill-to-row percentiles.
const KILLS: usize = 20;
/// Quiet time before an idle measurement starts, so start-up work has ended.
const SETTLE: Duration = Duration::from_secs(10);
/// The window over which idle CPU is measured; memory is read at its end.
const IDLE: Duration = Duration::from_secs(60);
/// The fixture stack plus tests/fixtures/stack/printer.yaml.
const SERVICES: [&str; 5] = ["mongodb", "redis", "backend", "frontend", "printer"];
/// The printer's last line: once the viewer shows it, the app holds all 100k.
const LAST_LINE: &str = "printer line 100000 of 100000";
/// The service killed for the latency samples: nothing depends on it.
const KILLED: &str = "frontend";
const LONG: Duration = Duration::from_secs(180);

#[tokio::main]
async fn main() {
    let berth = workspace_binary("berth");
    let hello = workspace_binary("berth-hello");
    let name = unique_project("bench");
    let _cleanup = Cleanup(name.clone());
    let files = [fixture("stack/compose.yaml"), fixture("stack/printer.yaml")];
    let mut args = Vec::new();
    for file in &files {
        args.extend(["-f", file.to_str().expect("a UTF-8 fixture path")]);
    }
    args.extend(["-p", &name]);

    if std::env::var_os("MEMORY_ONLY").is_some() {
        return memory_only(&berth, &hello, &args).await;
    }

    eprintln!("first paint: {LAUNCHES} launches of each app");
    let hello_paint = first_paints(&hello, &[]).await;
    let berth_paint = first_paints(&berth, &args).await;

    eprintln!("hello-world idle: {SETTLE:?} to settle, then {IDLE:?}");
    let app = Running::launch(&hello, &[]).await;
    let hello_idle = idle(&app).await;
    app.quit().await;

    eprintln!("hello-world idle, painting in software as Berth does");
    let app = Running::launch_with_env(&hello, &[], &[SOFTWARE_PAINT]).await;
    let hello_soft = idle(&app).await;
    app.quit().await;

    let app = buffering(&berth, &args, &[]).await;
    eprintln!("berth idle: {SETTLE:?} to settle, then {IDLE:?}");
    let berth_idle = idle(&app).await;

    eprintln!("berth idle with its window hidden, as in the tray");
    let windows = app.hide_window().await;
    let berth_hidden = idle(&app).await;
    app.show_window(&windows).await;

    eprintln!("kill to row: {KILLS} kills of {KILLED}");
    let kills = kill_to_row(&app, &format!("{name}-{KILLED}-1")).await;

    eprintln!("berth idle with nothing writing logs: {QUIET:?} stopped");
    let docker = engine().await.docker().clone();
    for service in QUIET {
        let container = format!("{name}-{service}-1");
        docker
            .stop_container(&container, None)
            .await
            .unwrap_or_else(|err| panic!("docker stop {container}: {err}"));
        app.cell_when(service, "state", LONG, |t| t == "stopped")
            .await;
    }
    let berth_quiet = idle(&app).await;
    app.quit().await;

    let idles = Idles {
        hello: hello_idle,
        hello_soft,
        berth: berth_idle,
        berth_hidden,
        berth_quiet,
    };
    report(&hello_paint, &berth_paint, &idles, &kills);
}

/// Berth launched on the fixture stack plus the printer, started, holding its 100k lines.
async fn buffering(berth: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
    eprintln!("berth: start the stack and buffer 100k lines");
    let app = Running::launch_with_env(berth, args, env).await;
    app.text_when("[data-testid=stack-status]", LONG, |t| t == "stopped")
        .await;
    app.click("[data-testid=start]").await;
    for service in SERVICES {
        app.cell_when(service, "state", LONG, |t| t == "running")
            .await;
    }
    app.text_when("[data-testid=stack-status]", LONG, |t| t == "healthy")
        .await;
    app.texts_when("[data-testid=log-row]", LONG, |rows| {
        rows.iter().any(|row| row.contains(LAST_LINE))
    })
    .await;
    let dropped = app
        .eval("return document.querySelector('[data-testid=log-dropped]')?.textContent ?? ''")
        .await;
    assert_eq!(
        dropped, "",
        "the app must hold every line while it is measured"
    );
    app
}

/// `MEMORY_ONLY=1`: the idle memory of Berth and of the hello-world painting in software, by
/// process and by what backs it, and nothing else (a few minutes instead of a quarter hour).
/// `BERTH_ENV=NAME=VALUE` launches Berth with that variable set, to try a setting.
async fn memory_only(berth: &Path, hello: &Path, args: &[&str]) {
    let app = Running::launch_with_env(hello, &[], &[SOFTWARE_PAINT]).await;
    let hello_soft = idle(&app).await;
    app.quit().await;
    let tried = std::env::var("BERTH_ENV").unwrap_or_default();
    let env: Vec<(&str, &str)> = tried.split_once('=').into_iter().collect();
    let app = buffering(berth, args, &env).await;
    let berth_idle = idle(&app).await;
    app.quit().await;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "idle PSS: Berth {:.0} MiB, hello-world in software {:.0} MiB: {:.2}×",
        mib(berth_idle.pss_kib),
        mib(hello_soft.pss_kib),
        berth_idle.pss_kib as f64 / hello_soft.pss_kib as f64
    );
    print_processes("Berth", &berth_idle);
    print_processes("hello-world in software", &hello_soft);
}

/// Waits for WebKitGTK processes outside this benchmark (an app's that is still going, another
/// app's) to end, and stops if they do not: they would share the libraries' pages, which PSS
/// splits between the processes mapping them. With another WebKitGTK app running, the figures
/// were 185 MiB for Berth and 137 for the hello-world (1.35×); alone, 243 and 200 (1.22×).
async fn alone() {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let others = procfs::foreign_webkit();
        if others.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "WebKitGTK processes outside this benchmark are running ({others:?}): they share the \
             libraries' pages and lower every memory figure; end them and run again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `COLD=1`: every app starts on an empty page cache (root only), so the libraries' pages it
/// maps are those it reads, not those an earlier process left cached for the kernel to map
/// around its page faults: the file-backed part of PSS then no longer depends on what ran
/// before (the hello-world read 139 to 200 MiB on the same machine without it).
fn drop_page_cache() {
    let synced = std::process::Command::new("sync").status();
    let dropped = std::fs::write("/proc/sys/vm/drop_caches", "3");
    if let (Err(e), _) | (_, Err(e)) = (synced.map(|_| ()), dropped) {
        eprintln!("COLD: cannot drop the page cache ({e}); measuring warm");
    }
}

/// The environment variable that has WebKitGTK paint on the CPU, as Berth asks it to through
/// its settings: the hello-world measured that way is the like-for-like floor.
const SOFTWARE_PAINT: (&str, &str) = ("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
/// The services that write a line per health check (every second): stopped for the quiet idle.
const QUIET: [&str; 2] = ["frontend", "backend"];

struct Idles {
    hello: Idle,
    hello_soft: Idle,
    berth: Idle,
    berth_hidden: Idle,
    berth_quiet: Idle,
}

/// One app under WebDriver and the pid of its main process (the WebKit processes are its
/// children).
struct Running {
    app: App,
    pid: u32,
}

impl std::ops::Deref for Running {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl Running {
    async fn launch(binary: &Path, args: &[&str]) -> Running {
        Running::launch_with_env(binary, args, &[]).await
    }

    async fn launch_with_env(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
        alone().await;
        if std::env::var_os("COLD").is_some() {
            drop_page_cache();
        }
        let app = App::launch_with_env(binary, args, env).await;
        let exe = binary.canonicalize().expect("the binary's real path");
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = loop {
            if let Some(pid) = procfs::descendant_running(&exe) {
                break pid;
            }
            assert!(
                Instant::now() < deadline,
                "{} has a window but no process below this benchmark runs it",
                exe.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Running { app, pid }
    }

    /// Ends the session and waits for the app to be gone: Berth is single-instance, so a
    /// survivor would take over the next launch.
    async fn quit(self) {
        let pid = self.pid;
        self.app.quit().await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while procfs::alive(pid) {
            assert!(
                Instant::now() < deadline,
                "the app (pid {pid}) outlived its WebDriver session by 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The bus drops a dead instance's name a moment after it exits; a launch in between
        // forwards its arguments to the dead instance and fails.
        while single_instance_owned() {
            assert!(
                Instant::now() < deadline,
                "{SINGLE_INSTANCE} is still owned 15 s after the app (pid {pid}) exited"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The session-bus name through which tauri-plugin-single-instance finds a running Berth: the
/// app's identifier (src-tauri/tauri.conf.json) plus `.SingleInstance`.
const SINGLE_INSTANCE: &str = "dev.berth.desktop.SingleInstance";

fn single_instance_owned() -> bool {
    let out = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{SINGLE_INSTANCE}"),
        ])
        .output()
        .unwrap_or_else(|err| panic!("cannot run dbus-send (Debian package dbus-bin): {err}"));
    assert!(
        out.status.success(),
        "dbus-send NameHasOwner failed (no session bus? run under dbus-run-session): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).contains("boolean true")
}

/// Where a launch's time went, in ms from the process's start.
struct Paint {
    /// The page's navigation start (`performance.timeOrigin`).
    navigation: f64,
    /// The Paint Timing API's first-contentful-paint.
    paint: f64,
}

async fn first_paints(binary: &Path, args: &[&str]) -> Vec<Paint> {
    let mut paints = Vec::with_capacity(LAUNCHES);
    for _ in 0..LAUNCHES {
        let app = Running::launch(binary, args).await;
        let started = procfs::start_epoch_ms(app.pid);
        let script = "const p = performance.getEntriesByName('first-contentful-paint')[0];
            return p ? [performance.timeOrigin, p.startTime] : null";
        let deadline = Instant::now() + Duration::from_secs(30);
        let (origin, paint) = loop {
            let value = app.eval(script).await;
            if let Some([origin, paint]) = value.as_array().map(Vec::as_slice) {
                break (origin.as_f64().unwrap(), paint.as_f64().unwrap());
            }
            assert!(
                Instant::now() < deadline,
                "{} painted nothing within 30 s",
                binary.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        paints.push(Paint {
            navigation: origin - started,
            paint: origin + paint - started,
        });
        app.quit().await;
    }
    paints
}

/// An app's tree after it has been left alone: CPU over [`IDLE`], then memory.
struct Idle {
    cpu_percent: f64,
    pss_kib: u64,
    rss_kib: u64,
    /// Name, memory and CPU % of each process, largest PSS first.
    by_process: Vec<(String, procfs::Memory, f64)>,
    /// Elements in the page's DOM at the end of the window.
    elements: u64,
    /// The threads that used the most CPU ("process/thread", %), busiest first.
    busiest: Vec<(String, f64)>,
    /// DOM mutations the page saw over the window.
    mutations: u64,
    /// Resident KiB of the app's own binary (its code and data mapped from the file).
    binary_kib: u64,
}

/// Counts the page's DOM mutations from now on, to say what changed while it was left alone.
const COUNT_MUTATIONS: &str = "
    window.__berthBenchMutations = 0;
    new MutationObserver((records) => { window.__berthBenchMutations += records.length; })
        .observe(document.documentElement,
            { subtree: true, childList: true, characterData: true, attributes: true });";

async fn idle(app: &Running) -> Idle {
    let pid = app.pid;
    tokio::time::sleep(SETTLE).await;
    app.eval(COUNT_MUTATIONS).await;
    let before: HashMap<(u32, u32), u64> = procfs::threads(pid)
        .into_iter()
        .map(|t| ((t.pid, t.tid), t.ticks))
        .collect();
    let start = Instant::now();
    tokio::time::sleep(IDLE).await;
    let elapsed = start.elapsed().as_secs_f64();
    let percent = |ticks: u64| 100.0 * ticks as f64 / procfs::clock_ticks() as f64 / elapsed;
    let mutations = app.eval("return window.__berthBenchMutations").await;
    let elements = app
        .eval("return document.getElementsByTagName('*').length")
        .await;

    let mut idle = Idle {
        cpu_percent: 0.0,
        pss_kib: 0,
        rss_kib: 0,
        by_process: Vec::new(),
        busiest: Vec::new(),
        mutations: mutations.as_u64().unwrap_or(0),
        elements: elements.as_u64().unwrap_or(0),
        binary_kib: procfs::binary_rss_kib(pid),
    };
    let mut by_pid: HashMap<u32, f64> = HashMap::new();
    for t in procfs::threads(pid) {
        let used = percent(
            t.ticks
                .saturating_sub(before.get(&(t.pid, t.tid)).copied().unwrap_or(0)),
        );
        *by_pid.entry(t.pid).or_default() += used;
        if used > 0.0 {
            idle.busiest
                .push((format!("{}/{}", procfs::name(t.pid), t.name), used));
        }
    }
    idle.busiest.sort_by(|a, b| b.1.total_cmp(&a.1));
    idle.busiest.truncate(5);
    for p in procfs::tree(pid) {
        let Some(memory) = procfs::memory(p) else {
            continue;
        };
        let used = by_pid.get(&p).copied().unwrap_or(0.0);
        idle.cpu_percent += used;
        idle.pss_kib += memory.pss_kib;
        idle.rss_kib += memory.rss_kib;
        idle.by_process.push((procfs::name(p), memory, used));
    }
    idle.by_process
        .sort_by_key(|(_, memory, _)| std::cmp::Reverse(memory.pss_kib));
    idle
}

/// Per kill, in ms from the kill call: the row's state cell changing, and the engine's `die`
/// event reaching a client (the floor any client can reach).
struct Kills {
    row: Vec<f64>,
    die: Vec<f64>,
    shown: String,
}

/// Records when the killed service's state cell first shows something else than it does now.
const OBSERVE: &str = "
    const css = arguments[0];
    const before = document.querySelector(css).textContent.trim();
    window.__berthBenchChanged = null;
    const observer = new MutationObserver(() => {
        const text = document.querySelector(css)?.textContent.trim() ?? '';
        if (text !== before) {
            window.__berthBenchChanged = [Date.now(), text];
            observer.disconnect();
        }
    });
    observer.observe(document.querySelector('[data-testid=services]'),
        { subtree: true, childList: true, characterData: true });
    return before;";

async fn kill_to_row(app: &Running, container: &str) -> Kills {
    let docker = engine().await.docker().clone();
    let filters = HashMap::from([
        ("type".to_owned(), vec!["container".to_owned()]),
        ("event".to_owned(), vec!["die".to_owned()]),
        ("container".to_owned(), vec![container.to_owned()]),
    ]);
    let mut events = docker.events(Some(EventsOptions {
        filters: Some(filters),
        ..Default::default()
    }));
    // Timestamps taken as the events arrive, not when the loop below gets to them.
    let (die_tx, mut die_rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            event.expect("the engine's event stream");
            if die_tx.send(epoch_ms()).is_err() {
                break;
            }
        }
    });
    // The stream is open once the engine answers; a kill before that would go unseen.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cell = format!("[data-testid=services] tr[data-service={KILLED}] [data-col=state]");
    let mut kills = Kills {
        row: Vec::with_capacity(KILLS),
        die: Vec::with_capacity(KILLS),
        shown: String::new(),
    };
    for i in 1..=KILLS {
        row_running(app, &cell, &docker, container).await;
        app.client
            .execute(OBSERVE, vec![cell.clone().into()])
            .await
            .expect("install the observer");
        let killed = epoch_ms();
        docker
            .kill_container(container, None)
            .await
            .unwrap_or_else(|err| panic!("docker kill {container}: {err}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        let (changed, shown) = loop {
            let value = app.eval("return window.__berthBenchChanged").await;
            if let Some([at, text]) = value.as_array().map(Vec::as_slice) {
                break (at.as_f64().unwrap(), text.as_str().unwrap_or("").to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "{KILLED}'s row did not change within 10 s of the kill"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let died = tokio::time::timeout(Duration::from_secs(10), die_rx.recv())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no die event for {container} within 10 s"));
        eprintln!(
            "kill {i}: row {:.0} ms ({shown}), die event {:.0} ms",
            changed - killed,
            died - killed
        );
        kills.row.push(changed - killed);
        kills.die.push(died - killed);
        kills.shown = shown;
        docker
            .start_container(container, None)
            .await
            .unwrap_or_else(|err| panic!("docker start {container}: {err}"));
    }
    listener.abort();
    kills
}

/// Waits for the killed service's row to say `running` again, naming the engine's own view of
/// the container if it does not.
async fn row_running(app: &Running, cell: &str, docker: &bollard::Docker, container: &str) {
    let script = format!(
        "return document.querySelector({})?.textContent.trim() ?? ''",
        serde_json::Value::from(cell)
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = app.eval(&script).await;
        if text == "running" {
            return;
        }
        if Instant::now() > deadline {
            let inspect = docker.inspect_container(container, None).await;
            let state = inspect.map(|c| c.state.and_then(|s| s.status));
            panic!(
                "{KILLED}'s row reads {text} 60 s after `docker start`; the engine says {state:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn report(hello_paint: &[Paint], berth_paint: &[Paint], idles: &Idles, kills: &Kills) {
    let Idles {
        hello,
        hello_soft,
        berth,
        berth_hidden,
        berth_quiet,
    } = idles;
    let paint = |p: &[Paint]| median(&p.iter().map(|p| p.paint).collect::<Vec<_>>());
    let navigation = |p: &[Paint]| median(&p.iter().map(|p| p.navigation).collect::<Vec<_>>());
    let mib = |kib: u64| kib as f64 / 1024.0;
    let ratio = mib(berth.pss_kib) / mib(hello.pss_kib);
    let soft_ratio = mib(berth.pss_kib) / mib(hello_soft.pss_kib);
    let met = |ok: bool| if ok { "met" } else { "missed" };
    let (row50, row95) = (percentile(&kills.row, 50), percentile(&kills.row, 95));

    println!();
    println!("| measure | Berth | hello-world | goal | result |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| start to first paint, median of {LAUNCHES} | {:.0} ms (page load starts at {:.0} ms) | {:.0} ms (at {:.0} ms) | ≤ 1 s | {} |",
        paint(berth_paint),
        navigation(berth_paint),
        paint(hello_paint),
        navigation(hello_paint),
        met(paint(berth_paint) <= 1000.0)
    );
    println!(
        "| idle memory, PSS of the process tree | {:.0} MiB (RSS {:.0} MiB) | {:.0} MiB (RSS {:.0} MiB) | ≤ 1.25× hello | {ratio:.2}×: {} |",
        mib(berth.pss_kib),
        mib(berth.rss_kib),
        mib(hello.pss_kib),
        mib(hello.rss_kib),
        met(ratio <= 1.25)
    );
    println!(
        "| the same, against the hello-world painting in software too | {:.0} MiB | {:.0} MiB | — | {soft_ratio:.2}× |",
        mib(berth.pss_kib),
        mib(hello_soft.pss_kib),
    );
    // A shown log line is work, not idling: its cost is reported per line, against the quiet.
    let per_line_ms = (berth.cpu_percent - berth_quiet.cpu_percent) * 10.0 / QUIET.len() as f64;
    println!(
        "| idle CPU over {} s, % of one core, with {} stopped (nothing logging) | {:.2} % | {:.2} % ({:.2} % in software) | ≈ 0 % (< 0.5 %) | {} |",
        IDLE.as_secs(),
        QUIET.join(" and "),
        berth_quiet.cpu_percent,
        hello.cpu_percent,
        hello_soft.cpu_percent,
        met(berth_quiet.cpu_percent < 0.5)
    );
    println!(
        "| the same, all running, {} logging a line a second | {:.2} %: ≈ {per_line_ms:.0} ms a shown line | — | — | — |",
        QUIET.join(" and "),
        berth.cpu_percent,
    );
    println!(
        "| the same with the window hidden (in the tray) | {:.2} % | — | ≈ 0 % (< 0.5 %) | {} |",
        berth_hidden.cpu_percent,
        met(berth_hidden.cpu_percent < 0.5)
    );
    println!(
        "| `docker kill` → row changes, {KILLS} kills | p50 {row50:.0} ms, p95 {row95:.0} ms | — | ≤ 200 ms | {} |",
        met(row95 <= 200.0)
    );
    println!(
        "| `docker kill` → engine's die event (the floor) | p50 {:.0} ms, p95 {:.0} ms | — | — | — |",
        percentile(&kills.die, 50),
        percentile(&kills.die, 95)
    );
    println!();
    println!(
        "first paints, ms: Berth {:?}, hello-world {:?}",
        rounded(berth_paint.iter().map(|p| p.paint)),
        rounded(hello_paint.iter().map(|p| p.paint))
    );
    for (who, idle) in [
        ("Berth", berth),
        ("Berth, window hidden", berth_hidden),
        ("Berth, nothing logging", berth_quiet),
        ("hello-world", hello),
        ("hello-world in software", hello_soft),
    ] {
        print_processes(who, idle);
    }
    println!(
        "kill → row, ms: {:?} (the cell then read {:?})",
        rounded(kills.row.iter().copied()),
        kills.shown
    );
}

/// One idle window by process (PSS and what backs it, CPU) and its busiest threads.
fn print_processes(who: &str, idle: &Idle) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let parts: Vec<String> = idle
        .by_process
        .iter()
        .map(|(name, m, cpu)| {
            format!(
                "{name} {:.0} MiB (heap {:.0}, files {:.0}, shared {:.0}), {cpu:.2} % CPU",
                mib(m.pss_kib),
                mib(m.anon_kib),
                mib(m.file_kib),
                mib(m.shmem_kib)
            )
        })
        .collect();
    println!("{who} by process: {}", parts.join("; "));
    println!("  its binary: {:.1} MiB resident", mib(idle.binary_kib));
    let threads: Vec<String> = idle
        .busiest
        .iter()
        .map(|(name, cpu)| format!("{name} {cpu:.2} %"))
        .collect();
    println!(
        "  {} DOM elements, {} DOM mutations; busiest threads: {}",
        idle.elements,
        idle.mutations,
        threads.join(", ")
    );
}

fn epoch_ms() -> f64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.expect("the clock is after 1970").as_secs_f64() * 1000.0
}

fn rounded(samples: impl Iterator<Item = f64>) -> Vec<i64> {
    samples.map(|s| s.round() as i64).collect()
}

/// What the benchmark reads from /proc: process trees, CPU time, memory, start times.
mod procfs {
    use std::path::Path;
    use std::process::Command;
    use std::sync::OnceLock;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// `pid` and every process below it.
    pub fn tree(pid: u32) -> Vec<u32> {
        let mut tree = vec![pid];
        tree.extend(berth_tests::app::descendants(pid));
        tree
    }

    /// The live process below this benchmark that runs `exe` (tauri-driver starts
    /// WebKitWebDriver, which starts the app).
    pub fn descendant_running(exe: &Path) -> Option<u32> {
        tree(std::process::id()).into_iter().skip(1).find(|&pid| {
            alive(pid) && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe)
        })
    }

    /// Live WebKitGTK web and network processes (pid and name) that are not below this
    /// benchmark: every WebKitGTK app has them.
    pub fn foreign_webkit() -> Vec<(u32, String)> {
        let ours = tree(std::process::id());
        let pids = std::fs::read_dir("/proc").into_iter().flatten().flatten();
        pids.filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| !ours.contains(pid) && alive(*pid))
            .map(|pid| (pid, name(pid)))
            .filter(|(_, name)| matches!(name.as_str(), "WebKitWebProces" | "WebKitNetworkPr"))
            .collect()
    }

    /// Whether `pid` runs (a zombie has ended).
    pub fn alive(pid: u32) -> bool {
        stat(&format!("/proc/{pid}")).is_some_and(|fields| fields.first().is_some_and(|s| s != "Z"))
    }

    pub struct Thread {
        pub pid: u32,
        pub tid: u32,
        pub name: String,
        /// User plus system CPU time, in clock ticks.
        pub ticks: u64,
    }

    /// Every thread of `pid`'s tree.
    pub fn threads(pid: u32) -> Vec<Thread> {
        let mut threads = Vec::new();
        for p in tree(pid) {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                    continue;
                };
                let path = format!("/proc/{p}/task/{tid}");
                let Some(ticks) = stat(&path).and_then(|f| cpu_ticks(&f)) else {
                    continue;
                };
                let name = std::fs::read_to_string(format!("{path}/comm")).unwrap_or_default();
                threads.push(Thread {
                    pid: p,
                    tid,
                    name: name.trim().to_owned(),
                    ticks,
                });
            }
        }
        threads
    }

    fn cpu_ticks(fields: &[String]) -> Option<u64> {
        let field = |i: usize| fields.get(i)?.parse::<u64>().ok();
        Some(field(11)? + field(12)?)
    }

    pub struct Memory {
        pub pss_kib: u64,
        pub rss_kib: u64,
        /// PSS split by what backs it: the heaps, mapped files (code, fonts, caches), shared
        /// memory (WebKit's paint buffers).
        pub anon_kib: u64,
        pub file_kib: u64,
        pub shmem_kib: u64,
    }

    pub fn memory(pid: u32) -> Option<Memory> {
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
        let kib = |key: &str| {
            rollup
                .lines()
                .find_map(|line| line.strip_prefix(key))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        };
        Some(Memory {
            pss_kib: kib("Pss:")?,
            rss_kib: kib("Rss:")?,
            anon_kib: kib("Pss_Anon:").unwrap_or(0),
            file_kib: kib("Pss_File:").unwrap_or(0),
            shmem_kib: kib("Pss_Shmem:").unwrap_or(0),
        })
    }

    /// The resident KiB of the mappings of `pid`'s executable: with the heaps, the part of the
    /// main process that does not depend on what else the machine runs.
    pub fn binary_rss_kib(pid: u32) -> u64 {
        let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
            return 0;
        };
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
        let mut in_binary = false;
        let mut kib = 0;
        for line in smaps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // A mapping's header: "start-end perms offset dev inode [path]".
            if fields
                .first()
                .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
            {
                in_binary = fields.get(5).is_some_and(|path| Path::new(path) == exe);
            } else if in_binary && fields.first() == Some(&"Rss:") {
                kib += fields
                    .get(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        kib
    }

    pub fn name(pid: u32) -> String {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        comm.trim().to_owned()
    }

    /// When `pid` started, in ms since the epoch. The kernel counts start times in clock ticks
    /// since boot, so this is exact to a tick (10 ms) plus /proc/uptime's 10 ms.
    pub fn start_epoch_ms(pid: u32) -> f64 {
        let fields =
            stat(&format!("/proc/{pid}")).unwrap_or_else(|| panic!("process {pid} is gone"));
        let ticks: f64 = fields[19].parse().expect("a start time in /proc/PID/stat");
        let uptime = std::fs::read_to_string("/proc/uptime").expect("read /proc/uptime");
        let uptime: f64 = uptime
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .expect("seconds in /proc/uptime");
        let now = SystemTime::now().duration_since(UNIX_EPOCH);
        let now_ms = now.expect("the clock is after 1970").as_secs_f64() * 1000.0;
        now_ms - uptime * 1000.0 + ticks * 1000.0 / clock_ticks() as f64
    }

    /// The kernel's clock ticks per second (USER_HZ).
    pub fn clock_ticks() -> u64 {
        static TICKS: OnceLock<u64> = OnceLock::new();
        *TICKS.get_or_init(|| {
            let out = Command::new("getconf").arg("CLK_TCK").output();
            let out = out.expect("run getconf CLK_TCK");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("getconf CLK_TCK prints a number")
        })
    }

    /// The fields of `dir`/stat (a process's or a thread's) after the command name, from the
    /// state on (`comm` may hold spaces and parentheses, so split after its last `)`).
    fn stat(dir: &str) -> Option<Vec<String>> {
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        let rest = stat.rsplit_once(')')?.1;
        Some(rest.split_whitespace().map(str::to_owned).collect())
    }
}

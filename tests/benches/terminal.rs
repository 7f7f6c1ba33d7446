//! The window's terminal (issue 15): keystroke to echo and a 50 MB `cat`, each beside `docker
//! exec` in the same run. Like the app benchmark it drives the built app through WebDriver, so
//! it needs a display and a session bus:
//!
//! ```sh
//! (cd ui && npm run build)
//! cargo build --release --locked -p berth --features tauri/custom-protocol
//! cargo build --release --locked -p berth-engine --bin berthctl
//! NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
//!   cargo bench -p berth-tests --bench terminal
//! ```
//!
//! Figures are printed, never asserted; docs/benchmarks.md ("Terminal") records them.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_tests::app::App;
use berth_tests::samples::{median, spread};
use berth_tests::stacks::Cleanup;
use berth_tests::{berthctl_ok, docker, fixture, unique_project, workspace_binary};
use fantoccini::wd::TimeoutConfiguration;

/// Keystrokes timed on each path.
const KEYS: usize = 200;
/// The file `cat` prints: random bytes in base64, 76 columns a line, as text a terminal shows.
const BIG: &str = "/tmp/berth-bench-50mb";
const BIG_RANDOM_BYTES: usize = 37_500_000;
/// `docker exec … cat` runs of the reference, for its median.
const CATS: usize = 3;
const LONG: Duration = Duration::from_secs(180);

#[tokio::main]
async fn main() {
    let name = unique_project("bench-term");
    let _cleanup = Cleanup(name.clone());
    let file = fixture("stack/compose.yaml");
    berthctl_ok(&name, &file, &["up", "-d", "--wait", "backend"]);
    let backend = format!("{name}-backend-1");
    docker(&[
        "exec",
        &backend,
        "sh",
        "-c",
        &format!("head -c {BIG_RANDOM_BYTES} /dev/urandom | base64 > {BIG}"),
    ]);
    let size: u64 = docker(&["exec", &backend, "stat", "-c", "%s", BIG])
        .parse()
        .expect("a size");

    eprintln!("docker exec -it under script: {KEYS} keystrokes");
    let script_echo = script_echoes(&backend);
    eprintln!("docker exec cat of {size} bytes: {CATS} runs each");
    let plain_cat = docker_cats(&backend, "-i");
    let tty_cat = docker_cats(&backend, "-t");

    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().expect("UTF-8 path"), "-p", &name],
    )
    .await;
    app.client
        .update_timeouts(TimeoutConfiguration::new(Some(LONG), None, None))
        .await
        .expect("a script timeout");
    app.cell_when("backend", "state", LONG, |t| t == "running")
        .await;
    app.click("[data-testid=services] tr[data-service=backend] [data-action=terminal]")
        .await;
    app.texts_when(TAB_ROWS, LONG, |rows| rows.iter().any(|r| r.ends_with('#')))
        .await;

    eprintln!("berth: {KEYS} keystrokes through the IPC, then through the tab");
    let ipc_echo = samples(&app, IPC_ECHO).await;
    let screen_echo = samples(&app, SCREEN_ECHO).await;
    eprintln!("berth: cat of {size} bytes through the IPC, then in the tab");
    let ipc_cat = run_async(&app, &IPC_CAT.replace("BIG", BIG))
        .await
        .as_f64()
        .expect("ms");
    let cat = run_async(&app, &SCREEN_CAT.replace("BIG", BIG)).await;
    let [cat_ms, longest_stall_ms, stalls, frames]: [f64; 4] =
        serde_json::from_value(cat).expect("four figures");
    app.quit().await;

    let mb = size as f64 / 1e6;
    println!("keystroke → echo, {KEYS} keys, ms (p50 / p95 / max):");
    println!(
        "  docker exec -it under script        {}",
        spread(&script_echo, 1)
    );
    println!(
        "  berth, page → exec → page (IPC)     {}",
        spread(&ipc_echo, 1)
    );
    println!(
        "  berth, key → echo on screen (tab)   {}",
        spread(&screen_echo, 1)
    );
    println!("cat of {mb:.1} MB:");
    println!(
        "  docker exec -i  … cat > /dev/null   {:.0} ms (median of {CATS})",
        median(&plain_cat)
    );
    println!(
        "  docker exec -t  … cat > /dev/null   {:.0} ms (median of {CATS})",
        median(&tty_cat)
    );
    println!(
        "  berth, IPC only (no xterm.js)       {ipc_cat:.0} ms, {:.2}× docker exec -i",
        ipc_cat / median(&plain_cat)
    );
    println!(
        "  berth tab                           {cat_ms:.0} ms, {:.2}× docker exec -i; \
         longest main-thread stall {longest_stall_ms:.0} ms ({stalls:.0} over 50 ms), \
         {frames:.0} frames",
        cat_ms / median(&plain_cat)
    );
}

/// The rows of the first terminal tab.
const TAB_ROWS: &str = "[data-testid=terminal][data-tab='backend-1'] .xterm-rows > div";

/// Opens a terminal of its own through the same commands the tab uses and times each
/// keystroke from `terminal_input` to its echo arriving on the channel.
const IPC_ECHO: &str = r#"
const ipc = window.__TAURI_INTERNALS__;
let arrived = null;
const onOutput = '__CHANNEL__:' + ipc.transformCallback((m) => arrived && m.message && arrived());
const id = await ipc.invoke('terminal_open', { service: 'backend', index: 1, cols: 120, rows: 30, onOutput });
await new Promise((r) => setTimeout(r, 1000));
const times = [];
for (let i = 0; i < KEYS; i++) {
  const echoed = new Promise((r) => (arrived = r));
  const t0 = performance.now();
  await ipc.invoke('terminal_input', { id, data: 'x' });
  await echoed;
  times.push(performance.now() - t0);
  arrived = null;
  await new Promise((r) => setTimeout(r, 5));
}
await ipc.invoke('terminal_close', { id });
done(times);
"#;

/// The same `cat` through a terminal of its own with no xterm.js: the bytes reach the page and
/// are acknowledged at once. What the IPC alone costs.
const IPC_CAT: &str = r#"
const ipc = window.__TAURI_INTERNALS__;
let id = null, pending = 0, tail = '', finished = null;
const decoder = new TextDecoder();
const onOutput = '__CHANNEL__:' + ipc.transformCallback((m) => {
  if (!(m.message instanceof ArrayBuffer)) return;
  const bytes = new Uint8Array(m.message);
  pending += bytes.length;
  if (pending >= 131072 && id !== null) { ipc.invoke('terminal_ack', { id, bytes: pending }); pending = 0; }
  const text = tail + decoder.decode(bytes.subarray(Math.max(0, bytes.length - 32)));
  if (finished && text.includes('cat-done')) finished();
  tail = text.slice(-16);
});
id = await ipc.invoke('terminal_open', { service: 'backend', index: 1, cols: 120, rows: 30, onOutput });
await ipc.invoke('terminal_input', { id, data: 'stty -echo\r' });
await new Promise((r) => setTimeout(r, 1000));
const over = new Promise((r) => (finished = r));
const t0 = performance.now();
await ipc.invoke('terminal_input', { id, data: 'cat BIG; echo cat-done\r' });
await over;
const took = performance.now() - t0;
await ipc.invoke('terminal_close', { id });
done(took);
"#;

/// Types into the tab as the keyboard does (an input event on xterm.js's textarea) and times
/// each key until the screen shows its echo.
const SCREEN_ECHO: &str = r#"
const pane = document.querySelector("[data-testid=terminal][data-tab='backend-1']");
const input = pane.querySelector('.xterm-helper-textarea');
const rows = pane.querySelector('.xterm-rows');
const count = () => (rows.textContent.match(/x/g) || []).length;
const times = [];
for (let i = 0; i < KEYS; i++) {
  const before = count();
  const t0 = performance.now();
  const shown = new Promise((r) => {
    const seen = new MutationObserver(() => count() > before && (seen.disconnect(), r()));
    seen.observe(rows, { childList: true, subtree: true, characterData: true });
  });
  input.dispatchEvent(new InputEvent('input', { data: 'x', inputType: 'insertText' }));
  await shown;
  times.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 5));
}
input.dispatchEvent(new InputEvent('input', { data: '\u0015', inputType: 'insertText' }));
done(times);
"#;

/// Runs `cat BIG; echo cat-done` in the tab and times it until the screen shows `cat-done`,
/// with the longest gap between timer ticks (a main-thread stall), the gaps over 50 ms, and the
/// frames painted.
const SCREEN_CAT: &str = r#"
const pane = document.querySelector("[data-testid=terminal][data-tab='backend-1']");
const input = pane.querySelector('.xterm-helper-textarea');
const rows = pane.querySelector('.xterm-rows');
let last = 0, stall = 0, stalls = 0, frames = 0, running = true;
const tick = () => {
  const now = performance.now();
  stall = Math.max(stall, now - last);
  if (now - last > 50) stalls++;
  last = now;
  if (running) setTimeout(tick, 0);
};
const frame = () => { frames++; if (running) requestAnimationFrame(frame); };
const finished = new Promise((r) => {
  const seen = new MutationObserver(() => {
    if ([...rows.children].some((row) => row.textContent.trim() === 'cat-done')) { seen.disconnect(); r(); }
  });
  seen.observe(rows, { childList: true, subtree: true, characterData: true });
});
input.dispatchEvent(new InputEvent('input', { data: 'clear\r', inputType: 'insertText' }));
await new Promise((r) => setTimeout(r, 500));
last = performance.now(); tick(); frame();
const t0 = performance.now();
input.dispatchEvent(new InputEvent('input', { data: 'cat BIG; echo cat-done\r', inputType: 'insertText' }));
await finished;
const took = performance.now() - t0;
running = false;
done([took, stall, stalls, frames]);
"#;

/// Runs `body` (async JavaScript that ends by calling `done(result)`) in the page.
async fn run_async(app: &App, body: &str) -> serde_json::Value {
    let script = format!(
        "const done = arguments[arguments.length - 1]; \
         (async () => {{ {body} }})().catch((e) => done('failed: ' + e));"
    );
    let value = app
        .client
        .execute_async(&script, Vec::new())
        .await
        .expect("a script");
    assert!(!value.is_string(), "{value}");
    value
}

async fn samples(app: &App, body: &str) -> Vec<f64> {
    let value = run_async(app, &body.replace("KEYS", &KEYS.to_string())).await;
    serde_json::from_value(value).expect("times in ms")
}

/// `docker exec -it CONTAINER sh` under `script` (a pty, as a terminal runs it): each byte
/// written, timed until its echo is read back.
fn script_echoes(container: &str) -> Vec<f64> {
    let mut child = Command::new("script")
        .args([
            "-qfc",
            &format!("docker exec -it {container} sh"),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut byte = [0u8];
    while !seen.ends_with(b"# ") {
        output.read_exact(&mut byte).expect("the prompt");
        seen.push(byte[0]);
    }
    let mut times = Vec::with_capacity(KEYS);
    for _ in 0..KEYS {
        let t0 = Instant::now();
        input.write_all(b"x").expect("write a key");
        loop {
            output.read_exact(&mut byte).expect("its echo");
            if byte[0] == b'x' {
                break;
            }
        }
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(5));
    }
    input.write_all(b"\x15exit\r").expect("exit");
    drop(input);
    let _ = child.wait();
    times
}

/// `docker exec FLAG CONTAINER cat BIG > /dev/null`, timed.
fn docker_cats(container: &str, flag: &str) -> Vec<f64> {
    (0..CATS)
        .map(|_| {
            let t0 = Instant::now();
            // -t wants a terminal on stdin: script gives it one, as for the echoes.
            let status = if flag == "-t" {
                Command::new("script")
                    .args([
                        "-qfc",
                        &format!("docker exec -t {container} cat {BIG} > /dev/null"),
                        "/dev/null",
                    ])
                    .stdout(Stdio::null())
                    .status()
            } else {
                Command::new("docker")
                    .args(["exec", flag, container, "cat", BIG])
                    .stdout(Stdio::null())
                    .status()
            };
            assert!(status.expect("run docker exec").success());
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

//! The projects list's benchmark (issue 18): with 50 compose projects on the engine (one busybox
//! container each, made by `docker compose up -d` and taken down at the end), how long after the
//! window's first paint the list is on screen, and how long a click on a project takes to show
//! its rows (its service's state cell reading `running`). Needs a display and a session bus:
//!
//! ```sh
//! (cd ui && npm run build) && cargo build -p berth
//! NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
//!   cargo bench -p berth-tests --bench projects
//! ```
//!
//! Figures are printed, never asserted; docs/benchmarks.md ("Projects list") records them.

use std::process::Command;
use std::time::{Duration, Instant};

use berth_tests::app::App;
use berth_tests::samples::{median, percentile};
use berth_tests::stacks::Cleanup;
use berth_tests::{unique_project, workspace_binary};

const PROJECTS: usize = 50;
/// Launches for the list's figure, switches for the rows'.
const LAUNCHES: usize = 5;
const SWITCHES: usize = 20;
const WAIT: Duration = Duration::from_secs(60);
/// No network: 50 projects' default networks would exhaust the engine's address pools.
const YAML: &str = "services:\n  app:\n    image: berth-test/busybox:1\n    \
                    command: [sleep, \"3600\"]\n    stop_grace_period: 0s\n    \
                    network_mode: none\n";

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(unique_project("bench-projects"));
    std::fs::create_dir_all(&dir).expect("the bench's directory");
    let file = dir.join("compose.yaml");
    std::fs::write(&file, YAML).expect("compose.yaml");
    let names: Vec<String> = (0..PROJECTS)
        .map(|_| unique_project("bench-projects"))
        .collect();
    let _down: Vec<Cleanup> = names.iter().cloned().map(Cleanup).collect();
    eprintln!("{PROJECTS} projects: docker compose up -d");
    std::thread::scope(|scope| {
        for chunk in names.chunks(PROJECTS / 5) {
            let file = &file;
            scope.spawn(move || {
                for name in chunk {
                    let out = Command::new("docker")
                        .args(["compose", "-p", name, "-f"])
                        .arg(file)
                        .args(["up", "-d"])
                        .output()
                        .expect("docker compose");
                    assert!(
                        out.status.success(),
                        "{name}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });

    let berth = workspace_binary("berth");
    let args = ["-f", file.to_str().expect("UTF-8"), "-p", &names[0]];
    let mut listed = Vec::new();
    for _ in 0..LAUNCHES {
        let app = App::launch(&berth, &args).await;
        listed.push(list_after_paint(&app).await);
        app.quit().await;
    }

    let app = App::launch(&berth, &args).await;
    list_after_paint(&app).await;
    let mut switches = Vec::new();
    for i in 0..SWITCHES {
        switches.push(switch(&app, &names[1 + i % (PROJECTS - 1)]).await);
    }
    app.quit().await;
    let _ = std::fs::remove_dir_all(&dir);

    println!("| With {PROJECTS} projects on the engine | median | p90 | most | goal |");
    println!("|---|---|---|---|---|");
    for (what, samples, goal) in [
        ("list drawn after the first paint", &listed, "≤ 100 ms"),
        ("click to the project's rows", &switches, "≤ 200 ms"),
    ] {
        println!(
            "| {what} | {:.0} ms | {:.0} ms | {:.0} ms | {goal} |",
            median(samples),
            percentile(samples, 90),
            samples.iter().copied().fold(0.0, f64::max)
        );
    }
    eprintln!("list after first paint, ms: {listed:.0?}");
    eprintln!("switches, ms: {switches:.0?}");
}

/// Ms from the window's first contentful paint to the projects list first drawn (the mark
/// ProjectsList.svelte sets once the listing is there), once all the bench's projects are in it.
async fn list_after_paint(app: &App) -> f64 {
    // Folded by itself in the bench's 1280 px window: unfolded to count the rows.
    app.click("[data-testid=projects-toggle][aria-expanded=false]")
        .await;
    let script = "const p = performance.getEntriesByName('first-contentful-paint')[0];
        const l = performance.getEntriesByName('projects-listed')[0];
        const n = document.querySelectorAll('[data-project^=\"berth-test-bench-projects\"]').length;
        return p && l ? [l.startTime - p.startTime, n] : null";
    let deadline = Instant::now() + WAIT;
    loop {
        let value = app.eval(script).await;
        if let Some([ms, n]) = value.as_array().map(Vec::as_slice)
            && n.as_u64() == Some(PROJECTS as u64)
        {
            return ms.as_f64().expect("ms");
        }
        assert!(Instant::now() < deadline, "the list never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ms from a click on project `name` in the list to its service's row reading `running`, timed
/// in the page.
async fn switch(app: &App, name: &str) -> f64 {
    let script = format!(
        "window.__switched = null;
        const name = {name:?};
        const start = performance.now();
        const shown = () => document.querySelector('[data-testid=project-name]')?.textContent === name
            && document.querySelector('[data-testid=services] tr[data-service=app] [data-col=state]')
                ?.textContent === 'running';
        new MutationObserver((_, o) => {{
            if (shown()) {{ window.__switched = performance.now() - start; o.disconnect(); }}
        }}).observe(document.body, {{ subtree: true, childList: true, characterData: true }});
        document.querySelector(`[data-testid=projects] [data-project=\"${{name}}\"]`).click();"
    );
    app.eval(&script).await;
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(ms) = app.eval("return window.__switched").await.as_f64() {
            return ms;
        }
        assert!(Instant::now() < deadline, "{name}'s rows never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

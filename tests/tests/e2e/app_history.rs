//! The stored log history in the window: after the app restarts, a line written by a
//! container that has since been recreated (Docker has thrown its logs away) is found by the
//! viewer's search; with more stored than the log buffer holds, the viewer scrolls back to the
//! oldest stored line, its search finds a line that lives only on disk, and its export writes
//! every stored line.

use std::process::Command;
use std::time::Duration;

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::{unique_project, workspace_binary};

/// A service printing `<V> line <n>.` every 50 ms.
fn counter(v: &str) -> String {
    format!(
        "services:\n  counter:\n    image: berth-test/busybox:1\n    environment:\n      V: {v}\n    \
         command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; i=0; while true; do i=$$((i+1)); \
         echo \\\"$$V line $$i.\\\"; sleep 0.05; done\"]\n"
    )
}

fn compose_up(name: &str, file: &std::path::Path) {
    berth_tests::compose::run(name, file, &["up", "-d"]);
}

#[tokio::test]
async fn a_recreated_containers_line_is_found_after_a_restart() {
    let name = unique_project("app-history");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, counter("first")).unwrap();
    compose_up(&name, &file);
    let wait = Duration::from_secs(30);
    let rows = "[data-testid=log-row]";
    let args = ["-f", file.to_str().expect("UTF-8 path"), "-p", &name];
    let binary = workspace_binary("berth");

    let app = App::launch_with_config(&binary, &args, &config).await;
    // Any of the first container's lines: the view renders only its newest rows, and under
    // load the app shows up after hundreds of lines (line 7 then long scrolled off). The whole
    // log is read in one sorted backlog, so line 7 is in the hub (and found by the search below).
    app.texts_when(rows, wait, |rows| {
        rows.iter().any(|r| r.contains("first line "))
    })
    .await;
    app.quit().await;

    // Recreated (its environment changed): the engine has no line of the first container.
    std::fs::write(&file, counter("second")).unwrap();
    compose_up(&name, &file);
    let logs = Command::new("docker")
        .args(["logs", &format!("{name}-counter-1")])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&logs.stdout).contains("first line"));

    let app = App::launch_with_config(&binary, &args, &config).await;
    app.texts_when(rows, wait, |rows| {
        rows.iter().any(|r| r.contains("second line"))
    })
    .await;
    app.type_keys("[data-testid=log-search]", "first line 7.\u{E007}")
        .await;
    app.text_when("[data-testid=log-match-count]", wait, |t| {
        t == "1 matching line"
    })
    .await;
    app.click("[data-testid=log-next]").await;
    let marked = app
        .texts_when(&format!("{rows} .match"), wait, |m| !m.is_empty())
        .await;
    assert_eq!(marked, ["first line 7."]);
    app.quit().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A service that waits for `/t/go` (the test's `trigger` directory), then writes `LINES` lines
/// of ~110 bytes at once (24 MB, more than the 16 MiB buffer holds), line 5 a needle; and one
/// that exits at `/t/blip`, for a marker older than the flood.
const LINES: u32 = 220_000;

fn flood(trigger: &std::path::Path) -> String {
    format!(
        "services:\n  flood:\n    image: berth-test/busybox:1\n    volumes:\n      - {}:/t\n    \
         command: [\"sh\", \"-c\", \"echo waiting; until [ -f /t/go ]; do sleep 0.1; done; \
         awk 'BEGIN {{ for (i = 1; i <= {LINES}; i++) printf \\\"stored %07d %s\\\\n\\\", i, \
         (i == 5 ? \\\"needle-on-disk\\\" : \\\"{}\\\") }}'; echo flood done; \
         trap 'exit 0' TERM; while true; do sleep 1; done\"]\n  \
         blip:\n    image: berth-test/busybox:1\n    volumes:\n      - {0}:/t\n    \
         command: [\"sh\", \"-c\", \"until [ -f /t/blip ]; do sleep 0.1; done\"]\n",
        trigger.display(),
        "x".repeat(90),
    )
}

#[tokio::test]
async fn the_viewer_scrolls_and_searches_into_what_only_the_history_holds() {
    let name = unique_project("app-history-reach");
    let _cleanup = Cleanup(name.clone());
    let dir = std::env::temp_dir().join(&name);
    let (config, trigger) = (dir.join("config"), dir.join("trigger"));
    std::fs::create_dir_all(config.join("dev.berth.desktop")).unwrap();
    std::fs::create_dir_all(&trigger).unwrap();
    // The smallest log buffer the settings allow.
    std::fs::write(
        config.join("dev.berth.desktop/settings.json"),
        r#"{ "log_buffer_mib": 16 }"#,
    )
    .unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, flood(&trigger)).unwrap();
    compose_up(&name, &file);
    let wait = Duration::from_secs(60);
    let rows = "[data-testid=log-row]";
    let args = ["-f", file.to_str().expect("UTF-8 path"), "-p", &name];
    let binary = workspace_binary("berth");

    // The app follows the flood as it comes, storing every line.
    let app = App::launch_with_config(&binary, &args, &config).await;
    app.texts_when(rows, wait, |r| r.iter().any(|t| t.ends_with("waiting")))
        .await;
    std::fs::write(trigger.join("blip"), "").unwrap();
    let exited = "[data-testid=log-row].marker[data-marker=exited]";
    app.texts_when(exited, wait, |r| !r.is_empty()).await;
    std::fs::write(trigger.join("go"), "").unwrap();
    app.texts_when(rows, wait, |r| r.iter().any(|t| t.ends_with("flood done")))
        .await;
    app.quit().await;

    // After a restart the buffer holds only the newest lines: the first are on disk alone.
    let app = App::launch_with_config(&binary, &args, &config).await;
    app.texts_when(rows, wait, |r| r.iter().any(|t| t.ends_with("flood done")))
        .await;

    // The export writes what the viewer can scroll to: every stored line, oldest first, then
    // the buffered ones, none twice at the seam.
    let exported = dir.join("exported.txt");
    app.click("[data-testid=log-export]").await;
    let dialog = app.native_window_when("Export the log", wait).await;
    app.press(&dialog, "ctrl+a");
    app.type_text(&dialog, exported.to_str().expect("UTF-8 path"));
    app.press(&dialog, "Return");
    app.text_when("[data-testid=log-export-path]", wait, |t| {
        t.contains("exported.txt")
    })
    .await;
    let text = std::fs::read_to_string(&exported).expect("the exported file");
    let numbers: Vec<u32> = text
        .lines()
        .filter_map(|l| l.strip_prefix("flood-1 | stored "))
        .map(|l| l[..7].parse().expect("a line number"))
        .collect();
    assert!(
        numbers.iter().copied().eq(1..=LINES),
        "each line once, in order: {} lines, from {:?} to {:?}",
        numbers.len(),
        numbers.first(),
        numbers.last()
    );
    assert!(text.contains("flood-1 | stored 0000005 needle-on-disk\n"));
    assert!(
        text.ends_with("flood-1 | flood done\n"),
        "{}",
        &text[text.len() - 200..]
    );

    // The previous marker is blip's exit, which only the disk holds: its rows come, it is shown.
    app.click("[data-testid=log-prev-marker]").await;
    let current = format!("{rows}.current.marker[data-marker=exited]");
    let marker = app.texts_when(&current, wait, |m| !m.is_empty()).await;
    assert!(marker[0].contains("exited (0)"), "{marker:?}");

    let search = "[data-testid=log-search]";
    app.type_keys(search, "needle-on-disk\u{E007}").await;
    // Counted once the history's search is done, on a thread of its own.
    app.text_when("[data-testid=log-match-count]", wait, |t| {
        t == "1 matching line"
    })
    .await;
    app.click("[data-testid=log-next]").await;
    let marked = app
        .texts_when(&format!("{rows}.current .match"), wait, |m| !m.is_empty())
        .await;
    assert_eq!(marked, ["needle-on-disk"]);
    let current = app
        .texts_when(&format!("{rows}.current"), wait, |m| !m.is_empty())
        .await;
    assert!(current[0].contains("stored 0000005"), "{current:?}");

    // Without the search, the view is the buffer again: scrolled to the top, page by page, the
    // oldest stored line comes.
    app.type_keys(search, "\u{E00C}").await;
    // Scrolled to the top again on every turn: the last page prepended keeps the viewer's place,
    // and the notice shows only with the first row in view.
    let top = "const l = document.querySelector('[data-testid=log-lines]'); \
               l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); \
               const start = document.querySelector('[data-testid=log-history-start]'); \
               return [start ? start.textContent : '', \
               ...[...document.querySelectorAll('[data-testid=log-row]')]\
               .map(e => e.textContent.trim())]";
    let deadline = std::time::Instant::now() + wait;
    loop {
        let texts: Vec<String> = serde_json::from_value(app.eval(top).await).unwrap();
        let oldest = texts[1..].iter().any(|t| t.contains("stored 0000001 "));
        if oldest && texts[0].contains("Beginning of the stored history") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the oldest stored line and the notice did not come: {:?}",
            &texts[..texts.len().min(2)]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.quit().await;
    std::fs::remove_dir_all(&dir).ok();
}

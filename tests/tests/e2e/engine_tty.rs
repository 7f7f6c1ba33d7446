//! berthctl's live progress display on a terminal: run under a pseudo-terminal (`script`), it
//! redraws its board in place and ends with every container's final status.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_tests::stacks::TestStack;
use berth_tests::workspace_binary;

/// Runs `berthctl -p PROJECT -f FILE ARGS…` on a pseudo-terminal; returns what it drew.
fn on_a_terminal(t: &TestStack, args: &str) -> String {
    let command = format!(
        "{} -p {} -f {} {args}",
        workspace_binary("berthctl").display(),
        t.name,
        t.file().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("berthctl {args} on a terminal did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let drawn = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "berthctl {args}: {drawn}");
    drawn
}

/// The board as it stands at the end: the lines after the last clear-and-redraw.
fn final_board(drawn: &str) -> Vec<&str> {
    let last = drawn.rfind("\x1b[J").map_or(0, |i| i + 3);
    drawn[last..]
        .split("\r\n")
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[tokio::test]
async fn the_live_display_redraws_in_place_and_finishes_with_every_status() {
    let yaml = r#"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
  worker:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
    deploy: { replicas: 2 }
    depends_on: [web]
"#;
    let t = TestStack::new("tty", yaml).await;
    let up = on_a_terminal(&t, "up -d");
    assert!(
        up.matches("\x1b[J").count() > 3,
        "redrawn in place (cursor up, clear): {up:?}"
    );
    let network = format!(" Network {}_default  Created", t.name);
    let mut expected = vec![network.as_str()];
    let containers: Vec<String> = ["web-1", "worker-1", "worker-2"]
        .iter()
        .map(|c| format!(" Container {}-{c}  Started", t.name))
        .collect();
    expected.extend(containers.iter().map(String::as_str));
    let mut board = final_board(&up);
    board.sort();
    expected.sort();
    assert_eq!(board, expected, "{up:?}");
    assert_eq!(
        t.containers().await.iter().filter(|c| c.running()).count(),
        3
    );

    let down = on_a_terminal(&t, "down");
    let board = final_board(&down);
    assert!(
        board
            .iter()
            .filter(|l| l.starts_with(" Container") && l.ends_with("  Removed"))
            .count()
            == 3,
        "{down:?}"
    );
    assert!(t.containers().await.is_empty());
}

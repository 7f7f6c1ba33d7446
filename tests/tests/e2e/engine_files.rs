//! A running container's files through the engine: a directory listed with hostile names
//! intact, a large one bounded, a file saved byte for byte, and the errors a user is told; a
//! failed save leaves the file it would replace, and a `find` that never ends is given up on
//! and leaves no process behind.

use std::time::{Duration, Instant};

use berth_engine::files::{FileKind, FilesError, LIST_TIMEOUT, MAX_ENTRIES};
use berth_tests::docker;
use berth_tests::stacks::TestStack;

const STACK: &str = r#"
services:
  box:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
"#;

/// A name holding a newline and a made-up `stat` record, and one with a bidi override.
const EVIL: &str = "a\n81a4 1 1 b";
const BIDI: &str = "\u{202e}txt.exe";

#[tokio::test]
async fn a_directory_lists_with_hostile_names_intact_a_big_one_is_bounded_and_a_file_saves() {
    let stack = TestStack::new("files", STACK).await;
    stack.up_wait().await;
    let container = format!("{}-box-1", stack.name);
    let sh = |script: &str| docker(&["exec", &container, "sh", "-c", script]);
    sh("mkdir -p /d/sub /big && printf 'hello\\n' > /d/plain.txt \
        && head -c 3000000 /dev/urandom > /d/blob && ln -s plain.txt /d/link \
        && cd /big && i=0; while [ $i -lt 1500 ]; do : > f$i; i=$((i+1)); done");
    docker(&[
        "exec",
        &container,
        "touch",
        &format!("/d/{EVIL}"),
        &format!("/d/{BIDI}"),
    ]);

    let listing = stack
        .stack
        .list_dir("box", "/d/sub/..")
        .await
        .expect("list /d");
    assert_eq!(listing.path, "/d");
    let names: Vec<(&str, FileKind)> = listing
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("sub", FileKind::Dir),
            (EVIL, FileKind::File),
            ("blob", FileKind::File),
            ("link", FileKind::Symlink),
            ("plain.txt", FileKind::File),
            (BIDI, FileKind::File),
        ]
    );
    assert_eq!(listing.total, 6);
    // Sizes, modes and times as `stat` in the container reads them.
    for entry in &listing.entries {
        let path = format!("/d/{}", entry.name);
        let stat = docker(&["exec", &container, "stat", "-c", "%s %A %Y", &path]);
        assert_eq!(
            format!("{} {} {}", entry.size, entry.mode, entry.modified),
            stat,
            "{path:?}"
        );
    }

    // A big directory: the first entries by name, and how many there are.
    let big = stack
        .stack
        .list_dir("box", "/big")
        .await
        .expect("list /big");
    assert_eq!(big.entries.len(), MAX_ENTRIES);
    assert_eq!(big.total, 1500);
    assert_eq!(big.entries[0].name, "f0");

    // A file saved to the host is the container's, byte for byte.
    let dest = stack.dir.join("saved-blob");
    let written = stack
        .stack
        .save_file("box", "/d/blob", &dest)
        .await
        .expect("save /d/blob");
    let theirs = std::process::Command::new("docker")
        .args(["exec", &container, "cat", "/d/blob"])
        .output()
        .expect("docker exec cat")
        .stdout;
    assert_eq!(written, 3_000_000);
    assert!(std::fs::read(&dest).expect("the saved file") == theirs);

    // What the user is told, and nothing left on the host by a failed save.
    let missing = stack.stack.list_dir("box", "/nope").await.unwrap_err();
    assert!(missing.to_string().contains("No such file"), "{missing}");
    let dir = stack.dir.join("saved-dir");
    let not_file = stack.stack.save_file("box", "/d", &dir).await.unwrap_err();
    assert!(
        matches!(not_file, FilesError::NotAFile { .. }),
        "{not_file}"
    );
    assert!(!dir.exists());
    let gone = stack
        .stack
        .save_file("box", "/d/none", &dir)
        .await
        .unwrap_err();
    assert!(matches!(gone, FilesError::NoSuchFile { .. }), "{gone}");
    assert!(!dir.exists());
    // An image without find: a clear word, not the runtime's.
    docker(&["exec", &container, "rm", "/bin/find"]);
    let no_find = stack.stack.list_dir("box", "/d").await.unwrap_err();
    assert!(
        matches!(no_find, FilesError::NoTool { tool: "find", .. }),
        "{no_find}"
    );
    // Only the project's services.
    let other = stack.stack.list_dir("nginx", "/").await.unwrap_err();
    assert!(other.to_string().contains("box"), "{other}");
}

#[tokio::test]
async fn a_failed_save_leaves_the_file_it_would_replace_and_a_save_replaces_it_whole() {
    let stack = TestStack::new("files-save", STACK).await;
    stack.up_wait().await;
    let container = format!("{}-box-1", stack.name);
    docker(&[
        "exec",
        &container,
        "sh",
        "-c",
        "mkdir /d && printf 'theirs' > /d/f",
    ]);
    let dir = stack.dir.join("saves");
    std::fs::create_dir(&dir).expect("mkdir saves");
    let dest = dir.join("mine.txt");
    std::fs::write(&dest, "mine").expect("write mine.txt");

    // The user confirmed replacing mine.txt, and the save fails: mine.txt is as it was.
    let not_file = stack.stack.save_file("box", "/d", &dest).await.unwrap_err();
    assert!(
        matches!(not_file, FilesError::NotAFile { .. }),
        "{not_file}"
    );
    let gone = (stack.stack.save_file("box", "/d/none", &dest).await).unwrap_err();
    assert!(matches!(gone, FilesError::NoSuchFile { .. }), "{gone}");
    assert_eq!(std::fs::read_to_string(&dest).expect("mine.txt"), "mine");

    // A save that works replaces it, and leaves nothing else beside it.
    let written = stack.stack.save_file("box", "/d/f", &dest).await;
    assert_eq!(written.expect("save /d/f"), 6);
    assert_eq!(std::fs::read_to_string(&dest).expect("mine.txt"), "theirs");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("read saves")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["mine.txt"]);
}

#[tokio::test]
async fn a_find_that_never_ends_is_given_up_on_and_leaves_no_process() {
    let stack = TestStack::new("files-hang", STACK).await;
    stack.up_wait().await;
    let container = format!("{}-box-1", stack.name);
    // A hostile image's find: it never answers.
    docker(&[
        "exec",
        &container,
        "sh",
        "-c",
        "rm /bin/find && printf '#!/bin/sh\nsleep 7777\n' > /bin/find && chmod +x /bin/find",
    ]);

    let started = Instant::now();
    let hung = stack.stack.list_dir("box", "/etc").await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(hung, FilesError::TimedOut { .. }), "{hung}");
    assert!(took < LIST_TIMEOUT + Duration::from_secs(5), "{took:?}");
    let message = hung.to_string();
    assert!(
        message.contains("box") && message.contains("/etc"),
        "{message}"
    );

    // The hung find and its sleep are gone from the container.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let top = docker(&["top", &container, "-o", "pid,args"]);
        if !top.contains("7777") {
            break;
        }
        assert!(Instant::now() < deadline, "left running:\n{top}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

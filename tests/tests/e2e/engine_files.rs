//! A running container's files through the engine: a directory listed with hostile names
//! intact, a large one bounded, a file saved byte for byte, and the errors a user is told.

use berth_engine::files::{FileKind, FilesError, MAX_ENTRIES};
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

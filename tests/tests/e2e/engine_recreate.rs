//! Recreating a changed service the way docker compose does: the new container is created under
//! a temporary name while the old one still exists, then the old one goes and the new one takes
//! its name; anonymous volumes carry over; `docker compose` sees the result as its own; a recreate
//! killed midway is finished by the next `up`.

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use berth_tests::compose::ComposeProject;
use berth_tests::stacks::TestStack;
use berth_tests::{docker, unique_project, workspace_binary};

/// An image with a `VOLUME`, so its containers get an anonymous volume. A recreate hands that
/// volume on by name, after which `down -v` (compose's too) leaves it: those noted in `left` are
/// removed with the image.
struct VolumeImage(String, RefCell<Vec<String>>);

impl VolumeImage {
    fn build(tag: &str) -> VolumeImage {
        let dir = std::env::temp_dir().join(format!("{}-context", tag.replace(['/', ':'], "-")));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Dockerfile"),
            "FROM berth-test/busybox:1\nVOLUME /data\n",
        )
        .unwrap();
        docker(&["build", "-q", "-t", tag, dir.to_str().unwrap()]);
        let _ = std::fs::remove_dir_all(&dir);
        VolumeImage(tag.to_owned(), RefCell::default())
    }
}

impl Drop for VolumeImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", &self.0]).output();
        for volume in self.1.borrow().iter() {
            let _ = Command::new("docker")
                .args(["volume", "rm", volume])
                .output();
        }
    }
}

#[tokio::test]
async fn a_changed_service_is_replaced_under_a_temporary_name_keeping_its_anonymous_volumes() {
    let yaml = r#"
services:
  db:
    image: IMAGE
    command: ["sleep", "600"]
    environment: { VERSION: "1" }
  web:
    image: berth-test/busybox:1
    command: ["sleep", "600"]
"#;
    // Built first, so it is removed after the stack (dropped last), when no container uses it.
    let image = VolumeImage::build(&format!("{}-vol:1", unique_project("recreate-image")));
    let yaml = yaml.replace("IMAGE", &image.0);
    let mut t = TestStack::new("recreate-like-compose", &yaml).await;
    // docker compose starts the stack; Berth recreates what changed.
    let compose = ComposeProject::new(t.name.clone(), t.file());
    compose.run(&["up", "-d", "--wait"]);
    let db = format!("{}-db-1", t.name);
    let before = t.ids().await;
    docker(&["exec", &db, "sh", "-c", "echo kept > /data/mark"]);
    let volume = docker(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Name}}{{end}}",
        &db,
    ]);
    image.1.borrow_mut().push(volume);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    t.rewrite(&yaml.replace("VERSION: \"1\"", "VERSION: \"2\""));
    t.up_wait().await;

    let after = t.ids().await;
    let web = format!("{}-web-1", t.name);
    assert_eq!(after.keys().collect::<Vec<_>>(), [&db, &web], "same names");
    assert_ne!(after[&db], before[&db], "db was recreated");
    assert_eq!(after[&web], before[&web], "web was left alone");
    let replaced = docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"com.docker.compose.replace\"}}",
        &db,
    ]);
    assert_eq!(
        replaced, before[&db],
        "the new container names the one it replaced"
    );
    assert_eq!(
        docker(&["exec", &db, "cat", "/data/mark"]),
        "kept",
        "the anonymous volume carried over"
    );

    // The engine's own record of the order: the new container existed before the old one went.
    let until = (started + 60).min(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1,
    );
    let events = docker(&[
        "events",
        "--since",
        &started.saturating_sub(1).to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        &format!("label=com.docker.compose.project={}", t.name),
        "--filter",
        "type=container",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let events: Vec<&str> = events
        .lines()
        .filter(|l| {
            ["create ", "destroy ", "rename ", "start "]
                .iter()
                .any(|a| l.starts_with(a))
        })
        .collect();
    let temporary = format!("{}_{db}", &before[&db][..12]);
    let position = |line: &str| {
        events
            .iter()
            .position(|e| *e == line)
            .unwrap_or_else(|| panic!("no {line:?} in {events:#?}"))
    };
    assert!(position(&format!("create {temporary}")) < position(&format!("destroy {db}")));
    assert!(position(&format!("destroy {db}")) < position(&format!("rename {db}")));
    let last_start = events.iter().rposition(|e| *e == format!("start {db}"));
    assert!(
        Some(position(&format!("rename {db}"))) < last_start,
        "{events:#?}"
    );

    // docker compose sees the replaced container as its own, running and up to date.
    let ps = compose.stdout(&["ps", "--format", "{{.Name}} {{.Service}} {{.State}}"]);
    assert_eq!(
        ps.lines().collect::<Vec<_>>(),
        [format!("{db} db running"), format!("{web} web running")]
    );
    let up = compose.run(&["up", "-d"]);
    let progress = String::from_utf8_lossy(&up.stderr);
    assert!(
        !progress.contains("Recreate"),
        "compose recreated again after Berth:\n{progress}"
    );
    assert_eq!(t.ids().await, after);
}

/// The names of the project's containers, by `docker ps -a`, sorted.
fn names(project: &str) -> Vec<String> {
    let listed = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--format",
        "{{.Names}}",
    ]);
    let mut names: Vec<String> = listed.lines().map(str::to_owned).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_recreate_killed_midway_is_finished_by_the_next_up() {
    // Both ignore SIGTERM, so stopping an old container takes its grace period: berthctl is
    // killed then, when the new containers exist under their temporary names and the engine
    // has been asked to stop the old ones.
    let yaml = r#"
services:
  db:
    image: berth-test/busybox:1
    command: ["sh", "-c", "trap '' TERM; sleep 600"]
    stop_grace_period: 3s
  web:
    image: berth-test/busybox:1
    command: ["sh", "-c", "trap '' TERM; sleep 600"]
    stop_grace_period: 3s
"#;
    let t = TestStack::new("recreate-killed", yaml).await;
    t.up_wait().await;
    let before = t.ids().await;
    let db = format!("{}-db-1", t.name);
    let web = format!("{}-web-1", t.name);
    let temporary = |name: &str| format!("{}_{name}", &before[name][..12]);

    // Bounded, so a berthctl that never gets there fails the test rather than hanging it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut events = Command::new("docker")
        .args(["events", "--since", &now.to_string()])
        .args(["--until", &(now + 60).to_string()])
        .args([
            "--filter",
            "event=create",
            "--filter",
            "event=kill",
            "--filter",
        ])
        .arg(format!("label=com.docker.compose.project={}", t.name))
        .args(["--format", "{{.Action}} {{.Actor.Attributes.name}}"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = Command::new(workspace_binary("berthctl"))
        .args(["-p", &t.name, "-f"])
        .arg(t.file())
        .args(["up", "-d", "--force-recreate"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut waiting = vec![
        format!("create {}", temporary(&db)),
        format!("create {}", temporary(&web)),
        format!("kill {db}"),
        format!("kill {web}"),
    ];
    let seen = BufReader::new(events.stdout.take().unwrap()).lines();
    for event in seen {
        let event = event.unwrap();
        waiting.retain(|w| *w != event);
        if waiting.is_empty() {
            break;
        }
    }
    up.kill().unwrap();
    up.wait().unwrap();
    events.kill().unwrap();
    events.wait().unwrap();
    assert!(waiting.is_empty(), "berthctl never got to {waiting:?}");
    // The engine finishes the stops it was asked for. Then web is as a kill after its old
    // container was removed leaves it, and db as one before.
    docker(&["wait", &db, &web]);
    docker(&["rm", &web]);
    let mut killed = vec![db.clone(), temporary(&db), temporary(&web)];
    killed.sort();
    assert_eq!(names(&t.name), killed);

    berth_tests::berthctl_ok(&t.name, &t.file(), &["up", "-d"]);
    let healed = t.ids().await;
    assert_eq!(names(&t.name), [db.clone(), web.clone()]);
    assert_eq!(
        healed[&db], before[&db],
        "db keeps its properly named container"
    );
    assert_ne!(
        healed[&web], before[&web],
        "web's replacement took the name"
    );
    assert!(t.containers().await.iter().all(|c| c.running()));

    // docker compose sees the healed stack as its own and up to date.
    let compose = ComposeProject::new(t.name.clone(), t.file());
    let up = compose.run(&["up", "-d"]);
    let progress = String::from_utf8_lossy(&up.stderr);
    assert!(
        !["Recreate", "Creat", "Remov"]
            .iter()
            .any(|word| progress.contains(word)),
        "compose changed the healed stack:\n{progress}"
    );
    assert_eq!(t.ids().await, healed);
}

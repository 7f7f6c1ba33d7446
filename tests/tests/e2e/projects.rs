//! Stacks started elsewhere: `berthctl ls` prints what `docker compose ls` prints, and a project
//! another tool started opens from its labels with the same files and profiles.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_engine::project_list::ProjectList;
use berth_engine::{ProjectArgs, project_origin, projects};
use berth_tests::stacks::Cleanup;
use berth_tests::{engine, unique_project, workspace_binary};

const BASE: &str = "services:
  web:
    image: berth-test/busybox:1
    command: sleep 600
    init: true
  worker:
    image: berth-test/busybox:1
    command: sleep 600
    init: true
    profiles: [jobs]
  debug:
    image: berth-test/busybox:1
    command: sleep 600
    init: true
    profiles: [debug]
";

const OVERRIDE: &str = "services:
  web:
    environment:
      FROM: override
  cache:
    image: berth-test/busybox:1
    command: sleep 600
    init: true
  extra:
    image: berth-test/busybox:1
    command: sleep 600
    init: true
    profiles: [jobs, extra]
";

/// A fresh directory holding the files; removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, files: &[(&str, &str)]) -> Dir {
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(mut command: Command) -> Output {
    let output = command.output().expect("run the command");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `docker compose ARGS…` in `dir`.
fn compose(dir: &Path, args: &[&str]) -> String {
    let mut command = Command::new("docker");
    command.current_dir(dir).arg("compose").args(args);
    String::from_utf8(run(command).stdout).unwrap()
}

/// `berthctl ARGS…` in `dir`.
fn berthctl(dir: &Path, args: &[&str]) -> String {
    let mut command = Command::new(workspace_binary("berthctl"));
    command.current_dir(dir).args(args);
    String::from_utf8(run(command).stdout).unwrap()
}

/// The services project `name` has containers of.
fn running_services(dir: &Path, name: &str) -> BTreeSet<String> {
    compose(dir, &["-p", name, "ps", "-a", "--format", "{{.Service}}"])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn stacks_compose_started_open_with_their_files_and_profiles() {
    let engine = engine().await;
    // Three stacks, each with its own `-f` and `--profile` set.
    let cases: [(&[&str], &[&str]); 3] = [
        (&["compose.yaml"], &[]),
        (&["compose.yaml", "override.yaml"], &["jobs"]),
        (&["compose.yaml", "override.yaml"], &["debug", "extra"]),
    ];
    for (i, (files, profiles)) in cases.into_iter().enumerate() {
        let name = unique_project(&format!("origin{i}"));
        let _cleanup = Cleanup(name.clone());
        let dir = Dir::new(
            &name,
            &[("compose.yaml", BASE), ("override.yaml", OVERRIDE)],
        );
        let mut args = vec!["-p", name.as_str()];
        for f in files {
            args.extend(["-f", f]);
        }
        for p in profiles {
            args.extend(["--profile", p]);
        }
        args.extend(["up", "-d", "--quiet-pull"]);
        compose(&dir.0, &args);

        let origin = project_origin(&engine, &name).await.expect("origin");
        let abs: Vec<PathBuf> = files.iter().map(|f| dir.0.join(f)).collect();
        assert_eq!(origin.config_files, abs, "case {i}");
        assert_eq!(origin.working_dir.as_deref(), Some(dir.0.as_path()));
        let found: BTreeSet<&str> = origin.profiles.iter().map(String::as_str).collect();
        assert_eq!(found, profiles.iter().copied().collect(), "case {i}");
        assert!(origin.missing.is_empty(), "{:?}", origin.missing);

        // Loaded from anywhere, its args give the services compose runs.
        let options = ProjectArgs::load_options(&origin.args()).unwrap();
        let project = berth_engine::berth_compose::load(&options).expect("loads");
        let loaded: BTreeSet<String> = project.services.keys().cloned().collect();
        assert_eq!(loaded, running_services(&dir.0, &name), "case {i}");
        assert_eq!(project.name, name);
    }
}

#[tokio::test]
async fn a_stack_whose_files_are_gone_still_lists_and_says_so() {
    let engine = engine().await;
    let name = unique_project("gone");
    let _cleanup = Cleanup(name.clone());
    let dir = Dir::new(&name, &[("compose.yaml", BASE), ("prod.env", "A=1\n")]);
    compose(
        &dir.0,
        &[
            "-p",
            &name,
            "--env-file",
            "prod.env",
            "up",
            "-d",
            "--quiet-pull",
        ],
    );
    let origin = project_origin(&engine, &name).await.unwrap();
    assert_eq!(origin.env_files, vec![dir.0.join("prod.env")]);
    assert!(origin.missing.is_empty());

    std::fs::remove_file(dir.0.join("compose.yaml")).unwrap();
    let origin = project_origin(&engine, &name).await.unwrap();
    assert_eq!(origin.missing, vec![dir.0.join("compose.yaml")]);
    let listed = projects(&engine, true).await.unwrap();
    let mine = listed.iter().find(|p| p.name == name).expect("listed");
    assert_eq!((mine.running, mine.containers), (1, 1));
    assert_eq!(mine.status, "running(1)");
}

/// `docker compose ls ARGS…` and `berthctl ls ARGS…`, asked until they agree (other tests change
/// the engine's projects between the two calls) or the deadline passes.
fn ls_agree(dir: &Path, args: &[&str]) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let theirs = compose(dir, &[&["ls"], args].concat());
        let ours = berthctl(dir, &[&["ls"], args].concat());
        if theirs == ours || Instant::now() > deadline {
            return (theirs, ours);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn berthctl_ls_prints_what_compose_ls_prints() {
    let prefix = unique_project("ls");
    let names = [format!("{prefix}-a"), format!("{prefix}-b")];
    let _cleanup = names.clone().map(Cleanup);
    let dir = Dir::new(
        &prefix,
        &[("compose.yaml", BASE), ("override.yaml", OVERRIDE)],
    );
    compose(&dir.0, &["-p", &names[0], "up", "-d", "--quiet-pull"]);
    compose(
        &dir.0,
        &[
            "-p",
            &names[1],
            "-f",
            "compose.yaml",
            "-f",
            "override.yaml",
            "up",
            "-d",
        ],
    );
    // One stopped container, one stopped project.
    compose(&dir.0, &["-p", &names[1], "stop", "cache"]);
    let stopped = format!("{prefix}-c");
    let _stopped = Cleanup(stopped.clone());
    compose(&dir.0, &["-p", &stopped, "up", "-d"]);
    compose(&dir.0, &["-p", &stopped, "stop"]);

    let filter = format!("name={prefix}");
    for args in [
        vec!["--format", "json", "--filter", &filter],
        vec!["-a", "--format", "json", "--filter", &filter],
        vec!["-a", "--filter", &filter],
        vec!["--filter", &filter],
        vec!["-a", "-q", "--filter", &filter],
        vec!["-a", "--filter", &format!("name={}", names[1])],
        vec!["--format", "json", "--filter", "name=^no-such-project$"],
        vec!["-a", "--format", "json"],
        vec!["-a"],
    ] {
        let (theirs, ours) = ls_agree(&dir.0, &args);
        assert_eq!(ours, theirs, "ls {}", args.join(" "));
    }
    let (theirs, _) = ls_agree(&dir.0, &["-a", "--filter", &filter]);
    assert!(theirs.contains("exited(1), running(1)"), "{theirs}");
    assert!(theirs.contains("exited(1) "), "{theirs}");
}

#[tokio::test]
async fn project_name_alone_finds_the_files_from_the_labels() {
    let name = unique_project("byname");
    let _cleanup = Cleanup(name.clone());
    let dir = Dir::new(
        &name,
        &[("compose.yaml", BASE), ("override.yaml", OVERRIDE)],
    );
    compose(
        &dir.0,
        &[
            "-p",
            &name,
            "-f",
            "compose.yaml",
            "-f",
            "override.yaml",
            "--profile",
            "jobs",
            "up",
            "-d",
        ],
    );
    // From a directory with no compose file, as compose does with `-p NAME` alone.
    let elsewhere = Dir::new(&format!("{name}-elsewhere"), &[]);
    let services = |json: &str| -> BTreeSet<String> {
        json.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["Service"].to_string())
            .collect()
    };
    let by_name = |args: &[&str]| berthctl(&elsewhere.0, &[&["-p", name.as_str()], args].concat());
    let exited = || {
        compose(
            &dir.0,
            &[
                "-p",
                &name,
                "ps",
                "--status",
                "exited",
                "--format",
                "{{.Service}}",
            ],
        )
    };
    let ps = by_name(&["ps", "--format", "json"]);
    assert_eq!(services(&ps).len(), 4, "{ps}");
    by_name(&["stop", "worker"]);
    assert_eq!(exited().trim(), "worker");
    by_name(&["start", "worker"]);
    by_name(&["restart", "web"]);
    let logs = ["logs", "--no-log-prefix", "web"];
    assert_eq!(
        by_name(&logs),
        compose(&dir.0, &[&["-p", name.as_str()], &logs[..]].concat())
    );

    // With a file gone, the project is its containers: listed, stopped, taken down.
    std::fs::remove_file(dir.0.join("override.yaml")).unwrap();
    let ps = by_name(&["ps", "--format", "json"]);
    assert_eq!(services(&ps).len(), 4, "{ps}");
    by_name(&["stop", "cache"]);
    assert_eq!(exited().trim(), "cache");
    by_name(&["down"]);
    assert_eq!(compose(&dir.0, &["-p", &name, "ps", "-a", "-q"]).trim(), "");
}

/// The followed list's next listings, until one shows project `name` with `running` of its
/// containers running (its counts, as `running/all`, else the last listing in the panic).
async fn listed_when(list: &mut ProjectList, name: &str, running: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    loop {
        let next = tokio::time::timeout_at(deadline.into(), list.next()).await;
        let Ok(Some(Ok(projects))) = next else {
            panic!("{name} not listed with {running} running within 10 s; last: {last}");
        };
        if let Some(p) = projects.iter().find(|p| p.name == name) {
            last = format!("{}/{}", p.running, p.containers);
            if p.running == running {
                return p.containers;
            }
        }
    }
}

/// The die event can come before the engine's listing says the container stopped: the list
/// waits for what a stop ends with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_followed_list_says_a_stopped_stack_is_stopped() {
    let name = unique_project("list-stop");
    let dir = Dir::new(&name, &[("compose.yaml", BASE)]);
    let _down = Cleanup(name.clone());
    compose(&dir.0, &["-p", &name, "up", "-d"]);
    let mut list = ProjectList::follow(engine().await);
    assert_eq!(listed_when(&mut list, &name, 1).await, 1);
    compose(&dir.0, &["-p", &name, "stop", "-t", "0"]);
    assert_eq!(listed_when(&mut list, &name, 0).await, 1);
    compose(&dir.0, &["-p", &name, "start"]);
    listed_when(&mut list, &name, 1).await;
}

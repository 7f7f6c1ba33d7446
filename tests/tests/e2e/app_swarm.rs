//! The Swarm view in the window, on a one-node Swarm in a private dockerd: the open project is
//! deployed (its ignored keys warned about), its service reaches its replicas, Scale 3→1 is
//! what `docker service ls` then says, a replica killed behind Berth's back is notified and seen
//! recovering, the services' logs reach the log viewer, and Remove leaves nothing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_tests::app::App;
use berth_tests::daemon::Daemon;
use berth_tests::notifications::Notifications;
use berth_tests::{unique_project, workspace_binary};

/// A one-node Swarm: a dockerd of the test's own, its address on a veth pair in its network
/// namespace (../shared/TESTBED.md). Left in order when dropped: the Swarm, then the daemon.
struct Swarm {
    dir: std::path::PathBuf,
    daemon: Option<Daemon>,
}

impl Swarm {
    async fn start(dir: &Path) -> Swarm {
        let (daemon, _engine) = Daemon::start(dir).await;
        let pid = std::fs::read_to_string(dir.join("docker.pid")).expect("the daemon's pid");
        let ns = |args: &[&str]| {
            let ok = Command::new("nsenter")
                .args(["-t", pid.trim(), "-n"])
                .args(args)
                .status()
                .expect("nsenter");
            assert!(ok.success(), "nsenter {args:?}");
        };
        ns(&[
            "ip", "link", "add", "sw0", "type", "veth", "peer", "name", "sw1",
        ]);
        ns(&["ip", "addr", "add", "10.99.0.1/24", "dev", "sw0"]);
        for link in ["sw0", "sw1", "lo"] {
            ns(&["ip", "link", "set", link, "up"]);
        }
        let swarm = Swarm {
            dir: dir.to_owned(),
            daemon: Some(daemon),
        };
        swarm.docker(&["swarm", "init", "--advertise-addr", "10.99.0.1"]);
        swarm.daemon.as_ref().unwrap().load("berth-test/busybox:1");
        swarm
    }

    fn host(&self) -> String {
        Daemon::host(&self.dir)
    }

    /// `docker -H <this daemon> args…`'s output; panics when it fails.
    fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker")
            .args(["-H", &self.host()])
            .args(args)
            .output()
            .expect("docker");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["-H", &self.host(), "swarm", "leave", "--force"])
            .output();
        drop(self.daemon.take());
        // What the daemon mounted under its directory, deepest first, before removing it.
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let dir = self.dir.to_string_lossy().into_owned();
        let mut under: Vec<&str> = (mounts.lines())
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|m| m.starts_with(&dir))
            .collect();
        under.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in under {
            let _ = Command::new("umount").arg(m).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `f` until it returns `Some`, for up to `limit`.
async fn until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_project_deployed_to_a_swarm_is_scaled_watched_and_removed_from_the_window() {
    let name = unique_project("swarm-ui");
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let swarm = Swarm::start(&dir).await;
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        "services:\n  api:\n    image: berth-test/busybox:1\n    container_name: ignored-by-swarm\n    \
         command: [\"sh\", \"-c\", \"echo hello from $$HOSTNAME; while true; do sleep 1; done\"]\n    \
         deploy:\n      replicas: 3\n      restart_policy: {condition: any, delay: 1s}\n",
    )
    .unwrap();
    let notifications = Notifications::watch();
    let host = swarm.host();
    let args = ["-f", file.to_str().unwrap(), "-p", &name];
    let app =
        App::launch_with_env(&workspace_binary("berth"), &args, &[("DOCKER_HOST", &host)]).await;
    let long = Duration::from_secs(90);
    let service = format!("{name}_api");
    let row = format!("[data-testid=swarm-services] tr[data-service={service}]");

    // The engine is a Swarm manager: the header offers the Swarm view, on the project's stack.
    app.click("[data-testid=swarm-toggle]").await;
    app.click("[data-testid=swarm-deploy]").await;
    app.text_when(&format!("{row} [data-testid=swarm-replicas]"), long, |t| {
        t == "3/3"
    })
    .await;
    app.texts_when("[data-testid=swarm-warning]", long, |w| {
        w.iter().any(|w| w.contains("container_name"))
    })
    .await;
    assert_eq!(
        swarm.docker(&["service", "ls", "--format", "{{.Name}} {{.Replicas}}"]),
        format!("{service} 3/3")
    );
    let nodes = app.table("[data-testid=swarm-nodes]").await;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0][1..3], ["ready", "active"]);
    app.texts_when("[data-testid=swarm-tasks] tbody tr", long, |t| t.len() == 3)
        .await;
    // The replicas' logs, merged, in the window's log viewer.
    app.texts_when("[data-testid=log-row]", long, |rows| {
        rows.iter().filter(|r| r.contains("hello from")).count() >= 3
    })
    .await;

    // Scale 3 → 1: the Swarm says 1/1.
    let input = app
        .client
        .find(fantoccini::Locator::Css(&format!(
            "{row} [data-testid=swarm-scale-input]"
        )))
        .await
        .unwrap();
    input.clear().await.unwrap();
    input.send_keys("1").await.unwrap();
    app.click(&format!("{row} [data-testid=swarm-scale]")).await;
    until(long, "docker service ls says 1/1", || {
        let ls = swarm.docker(&["service", "ls", "--format", "{{.Replicas}}"]);
        (ls == "1/1").then_some(())
    })
    .await;
    app.text_when(&format!("{row} [data-testid=swarm-replicas]"), long, |t| {
        t == "1/1"
    })
    .await;
    assert!(
        notifications.all().is_empty(),
        "a deploy or a scale the user asked for is not news: {:?}",
        notifications.all()
    );

    // The replica killed behind Berth's back: notified, and seen coming back.
    let filter = format!("label=com.docker.swarm.service.name={service}");
    let replica = swarm.docker(&["ps", "-q", "--filter", &filter]);
    assert_eq!(replica.lines().count(), 1, "{replica}");
    swarm.docker(&["kill", &replica]);
    let alert = notifications
        .when(long, |n| n.summary.contains(&service))
        .await;
    assert_eq!(alert.body, "runs 0 of 1 replicas");
    app.text_when(&format!("{row} [data-testid=swarm-replicas]"), long, |t| {
        t == "1/1"
    })
    .await;
    let replaced = swarm.docker(&["ps", "-q", "--filter", &filter]);
    assert!(!replaced.is_empty() && replaced != replica);

    // Remove, confirmed: nothing of the stack is left on the Swarm.
    app.click("[data-testid=swarm-remove]").await;
    app.click("[data-testid=swarm-remove-yes]").await;
    until(long, "the stack's services and networks gone", || {
        let services = swarm.docker(&["service", "ls", "-q"]);
        let label = format!("label=com.docker.stack.namespace={name}");
        let networks = swarm.docker(&["network", "ls", "-q", "--filter", &label]);
        (services.is_empty() && networks.is_empty()).then_some(())
    })
    .await;
    app.text_when("[data-testid=swarm-services] tbody", long, |t| {
        t.contains("Nothing is deployed")
    })
    .await;
    app.quit().await;
}

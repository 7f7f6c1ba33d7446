//! A one-node Docker Swarm of a test's own: a private dockerd ([`Daemon`]) in its own network
//! namespace, given an address to advertise by a veth pair inside that namespace, made a
//! manager, with the local test images loaded into it (it has no registry). Never the shared
//! daemon: a Swarm there would turn every other test's engine into a manager.
//! (../shared/TESTBED.md "A one-node Swarm in a private daemon".)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_engine::Engine;

use crate::daemon::Daemon;
use crate::{unique_project, workspace_binary};

/// The address the manager advertises, on the veth pair inside the daemon's namespace.
const ADVERTISE: &str = "10.99.0.1";

/// A Swarm manager of the test's own, torn down in the documented order when dropped: leave
/// the Swarm, stop the daemon and wait for it, unmount what it left, remove its directory.
pub struct Swarm {
    pub dir: PathBuf,
    pub engine: Engine,
    daemon: Option<Daemon>,
}

impl Swarm {
    /// Starts the daemon, makes it a Swarm manager and loads `images` from the shared daemon.
    pub async fn start(images: &[&str]) -> Swarm {
        let dir = std::env::temp_dir().join(unique_project("swarm"));
        std::fs::create_dir_all(&dir).unwrap();
        let (daemon, engine) = Daemon::start(&dir).await;
        let swarm = Swarm {
            dir,
            engine,
            daemon: Some(daemon),
        };
        let pid = std::fs::read_to_string(swarm.dir.join("docker.pid"))
            .expect("the daemon wrote its pid file once it answered");
        let pid = pid.trim();
        let ip = |args: &str| {
            let mut cmd = Command::new("nsenter");
            cmd.args(["-t", pid, "-n", "ip"]).args(args.split(' '));
            run(
                cmd,
                "set up the Swarm's veth pair (the test bed installs iproute2)",
            );
        };
        ip("link add sw0 type veth peer name sw1");
        ip(&format!("addr add {ADVERTISE}/24 dev sw0"));
        for link in ["sw0", "sw1", "lo"] {
            ip(&format!("link set {link} up"));
        }
        swarm.docker(&["swarm", "init", "--advertise-addr", ADVERTISE]);
        if let Some(daemon) = &swarm.daemon {
            for image in images {
                daemon.load(image);
            }
        }
        swarm
    }

    /// The daemon's address, for DOCKER_HOST and `docker -H`.
    pub fn host(&self) -> String {
        Daemon::host(&self.dir)
    }

    /// `docker -H <this daemon> ARGS…`, asserting it succeeded; its stdout, trimmed.
    pub fn docker(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("docker");
        cmd.arg("-H").arg(self.host()).args(args);
        let out = run(cmd, "run docker");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `docker -H <this daemon> ARGS…` in `dir`, success or not.
    pub fn docker_in(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run docker")
    }

    /// The built `berthctl ARGS…` in `dir`, against this daemon, success or not.
    pub fn berthctl(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(workspace_binary("berthctl"))
            .args(args)
            .current_dir(dir)
            .env("DOCKER_HOST", self.host())
            .output()
            .expect("run berthctl")
    }

    /// [`Swarm::berthctl`], asserting it succeeded; its stdout.
    pub fn berthctl_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.berthctl(dir, args);
        assert!(
            out.status.success(),
            "berthctl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Mount points under `dir` (the daemon's overlay and shm mounts), deepest first.
fn mounts_under(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    points
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(["swarm", "leave", "--force"])
            .output();
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop();
        }
        for point in mounts_under(&self.dir) {
            let _ = Command::new("umount").arg(&point).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `check` every 200 ms until it gives a value, for at most `limit`; panics naming
/// `what` (and the last thing seen) if it never does.
pub async fn until<T>(
    what: &str,
    limit: std::time::Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        match check() {
            Ok(v) => return v,
            Err(seen) if std::time::Instant::now() > deadline => {
                panic!("timed out waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

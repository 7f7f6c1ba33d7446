//! A dockerd of a test's own, for engine restarts: its own socket, data and exec roots, and its
//! own network namespace. Never the shared daemon, and never a second daemon on the host's
//! network: with `--bridge=none` dockerd deletes docker0, the shared daemon's bridge.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_engine::Engine;

/// A dockerd this test started, stopped (SIGTERM, by its pid) when dropped.
pub struct Daemon {
    dir: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    /// The daemon's address for DOCKER_HOST and `docker -H`.
    pub fn host(dir: &Path) -> String {
        format!("unix://{}", dir.join("docker.sock").display())
    }

    /// Starts a daemon keeping its state in `dir` (again, after [`Daemon::stop`], to restart
    /// it) and connects to it.
    pub async fn start(dir: &Path) -> (Daemon, Engine) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("dockerd.log"))
            .unwrap();
        let child = Command::new("unshare")
            .args(["--net", "dockerd"])
            .arg("-H")
            .arg(Daemon::host(dir))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .args(["--iptables=false", "--ip-masq=false"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a dockerd of the test's own (the test bed installs docker.io)");
        let daemon = Daemon {
            dir: dir.to_owned(),
            child: Some(child),
        };
        for _ in 0..120 {
            if let Ok(engine) = Engine::connect_to(&Daemon::host(dir)).await {
                return (daemon, engine);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "the test's dockerd did not answer; see {}",
            dir.join("dockerd.log").display()
        );
    }

    /// Copies `image` from the shared daemon into this one.
    pub fn load(&self, image: &str) {
        let loaded = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker save {image} | docker -H {} load -q",
                Daemon::host(&self.dir)
            ))
            .output()
            .unwrap();
        assert!(
            loaded.status.success(),
            "{}",
            String::from_utf8_lossy(&loaded.stderr)
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

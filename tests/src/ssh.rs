//! An sshd of a test's own on a free loopback port, backed by the shared engine, so `ssh://`
//! engines are tested for real: its own host and user keys, and an `ssh` on PATH that reads a
//! config of the test's own (the real `~/.ssh` is never touched).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::SETUP_HINT;
use crate::stacks::free_port;

/// The `Host` alias the test's ssh config defines for the sshd.
pub const HOST: &str = "berth-ssh-test";

/// A running sshd, stopped (by its pid) and its directory removed when dropped.
pub struct Sshd {
    pub dir: PathBuf,
    pub port: u16,
    child: Child,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("ssh-keygen: {e}\n{SETUP_HINT}"));
    assert!(status.success(), "ssh-keygen failed");
}

impl Sshd {
    pub fn start(what: &str) -> Sshd {
        let dir = std::env::temp_dir().join(format!("berth-sshd-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        keygen(&dir.join("key"));
        keygen(&dir.join("host"));
        // Only root may log in: another user is refused.
        std::fs::copy(dir.join("key.pub"), dir.join("authorized_root")).unwrap();
        let port = free_port();
        let d = dir.display();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\n\
                 AuthorizedKeysFile {d}/authorized_%u\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
                 StrictModes no\nPidFile {d}/sshd.pid\nUsePAM no\nLogLevel ERROR\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("ssh_config"),
            format!(
                "Host {HOST}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  \
                 IdentityFile {d}/key\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
                 UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
            ),
        )
        .unwrap();
        // The ssh every client runs (docker, berthctl) reads the test's config.
        let wrapper = dir.join("bin/ssh");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\nexec /usr/bin/ssh -F {d}/ssh_config \"$@\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("sshd.log")).unwrap(),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("start sshd: {e}\n{SETUP_HINT}"));
        let sshd = Sshd { dir, port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on {port}: see {}",
                sshd.dir.join("sshd.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    /// PATH with the test's `ssh` first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// A command run with the test's `ssh` and `DOCKER_HOST=ssh://HOST`.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("PATH", self.path())
            .env("DOCKER_HOST", format!("ssh://{HOST}"));
        command
    }

    /// The ssh processes of this sshd's clients still running (found by the config they read).
    pub fn clients(&self) -> usize {
        let config = self.dir.join("ssh_config");
        let out = Command::new("pgrep")
            .args(["-f", "-c", "--"])
            .arg(format!("/usr/bin/ssh -F {}", config.display()))
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

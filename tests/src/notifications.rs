//! The desktop notifications the app sends, as the session bus carries them: a `dbus-monitor`
//! on the test's own bus (app tests run under `dbus-run-session`) sees each
//! `org.freedesktop.Notifications.Notify` call, whether or not a notification server answers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A notification: its summary (title) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub summary: String,
    pub body: String,
}

/// The notifications sent on the session bus since [`Notifications::watch`]; the monitor ends
/// when dropped.
pub struct Notifications {
    monitor: Child,
    seen: Arc<Mutex<Vec<Notification>>>,
}

impl Notifications {
    /// Starts watching the session bus; returns once the monitor is on it.
    pub fn watch() -> Notifications {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "no session bus: run the app tests under dbus-run-session (see README's Testing)"
        );
        let mut monitor = Command::new("dbus-monitor")
            .args([
                "--session",
                "type=method_call,interface=org.freedesktop.Notifications,member=Notify",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (package dbus) must be installed");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(monitor.stdout.take().expect("piped"));
        std::thread::spawn({
            let seen = seen.clone();
            move || read(lines, &seen, ready_tx)
        });
        // The monitor's first words on the bus (NameAcquired) say it is listening.
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("dbus-monitor did not start listening");
        Notifications { monitor, seen }
    }

    /// Waits up to `timeout` for a notification that `matches`, and returns it.
    pub async fn when(
        &self,
        timeout: Duration,
        matches: impl Fn(&Notification) -> bool,
    ) -> Notification {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(n) = self.all().into_iter().find(&matches) {
                return n;
            }
            assert!(
                Instant::now() < deadline,
                "no such notification within {timeout:?}; sent: {:?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn all(&self) -> Vec<Notification> {
        self.seen.lock().expect("notifications").clone()
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
    }
}

/// Reads the monitor's output: after each `member=Notify` header come its arguments, one a
/// line (app name, replaces id, icon, summary, body, …); its strings are app name, icon,
/// summary and body.
fn read(lines: impl BufRead, seen: &Mutex<Vec<Notification>>, ready: std::sync::mpsc::Sender<()>) {
    let mut strings: Option<Vec<String>> = None;
    for line in lines.lines().map_while(Result::ok) {
        if !line.starts_with(' ') {
            let _ = ready.send(());
            strings = line.contains("member=Notify").then(Vec::new);
            continue;
        }
        let Some(args) = &mut strings else { continue };
        if let Some(text) = line.trim_start().strip_prefix("string \"") {
            args.push(text.strip_suffix('"').unwrap_or(text).to_owned());
            if let [_, _, summary, body] = &args[..] {
                seen.lock().expect("notifications").push(Notification {
                    summary: summary.clone(),
                    body: body.clone(),
                });
            }
        }
    }
}

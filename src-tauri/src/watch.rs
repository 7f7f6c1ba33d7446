//! The open project's watched services (compose's `develop.watch`): one engine watch per
//! service, running until it is turned off or the project's session ends, whether the window is
//! shown or not. Each event of a watch is reported to the session, which shows it on the
//! service's row and as a line of Berth's own in the log.

use std::collections::BTreeMap;
use std::sync::Mutex;

use berth_engine::{
    CancellationToken, Stack, StackError, WatchEvent, WatchEventKind, WatchOptions,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::DropGuard;

/// The services watched now, each with the id of its watch; a watch is cancelled when its entry
/// goes (turned off, or the session dropped).
#[derive(Default)]
pub struct Watches(Mutex<BTreeMap<String, (u64, DropGuard)>>);

impl Watches {
    pub fn watching(&self, service: &str) -> bool {
        self.lock().contains_key(service)
    }

    pub fn services(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Whether `id` is the watch of `service` now: a watch turned off may still report.
    pub fn is_current(&self, service: &str, id: u64) -> bool {
        self.lock()
            .get(service)
            .is_some_and(|(current, _)| *current == id)
    }

    /// Watches `service` on `stack` until it is stopped, reporting each event, then why it
    /// ended if it failed, with the watch's id, while `report` says it is listened to. The
    /// answer comes once the files are watched, or with why they cannot be.
    pub fn start(
        &self,
        stack: Stack,
        service: &str,
        report: impl Fn(u64, Result<WatchEvent, String>) -> bool + Send + Sync + 'static,
    ) -> oneshot::Receiver<Result<(), StackError>> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cancel = CancellationToken::new();
        self.lock()
            .insert(service.to_owned(), (id, cancel.clone().drop_guard()));
        let service = service.to_owned();
        let (ready, answer) = oneshot::channel();
        tauri::async_runtime::spawn(async move {
            let mut ready = Some(ready);
            let (events, mut received) = mpsc::channel::<WatchEvent>(64);
            let options = WatchOptions {
                services: vec![service.clone()],
                ..WatchOptions::default()
            };
            let watching = stack.develop_watch(options, events, cancel);
            let forwarding = async {
                while let Some(event) = received.recv().await {
                    if event.kind == WatchEventKind::Watching
                        && let Some(ready) = ready.take()
                    {
                        let _ = ready.send(Ok(()));
                    }
                    if !report(id, Ok(event)) {
                        return;
                    }
                }
            };
            let (result, ()) = tokio::join!(watching, forwarding);
            if let Err(err) = result {
                report(id, Err(err.to_string()));
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(err));
                }
            }
        });
        answer
    }

    /// Stops watching `service`; whether it was watched.
    pub fn stop(&self, service: &str) -> bool {
        self.lock().remove(service).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (u64, DropGuard)>> {
        self.0.lock().expect("watches lock")
    }
}

/// Berth's lines in the log for `event`: a hook's output as it printed it, else one line in
/// `docker compose watch`'s words where it has some.
pub fn log_lines(event: &WatchEvent) -> Vec<String> {
    let service = &event.service;
    let line = match &event.kind {
        WatchEventKind::Output { bytes, .. } => {
            let text = String::from_utf8_lossy(bytes);
            return text.lines().map(str::to_owned).collect();
        }
        WatchEventKind::Watching => format!("Watching service \"{service}\" (develop.watch)"),
        WatchEventKind::Syncing { files } => {
            format!("Syncing service \"{service}\" after {files} changes were detected")
        }
        WatchEventKind::Synced { files } => {
            let s = if *files == 1 { "" } else { "s" };
            format!("Synced {files} file{s} into service \"{service}\"")
        }
        WatchEventKind::Rebuilding => {
            format!("Rebuilding service \"{service}\" after changes were detected")
        }
        WatchEventKind::Rebuilt => format!("service \"{service}\" successfully built"),
        WatchEventKind::Restarting => format!("Restarting service \"{service}\""),
        WatchEventKind::Restarted => format!("service \"{service}\" restarted"),
        WatchEventKind::Executed { code } => {
            format!("exec in service \"{service}\" exited with code {code}")
        }
        WatchEventKind::Failed { message } => format!("Watch of service \"{service}\": {message}"),
    };
    vec![line]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: WatchEventKind) -> String {
        log_lines(&WatchEvent {
            service: "web".into(),
            kind,
        })
        .join("\n")
    }

    #[test]
    fn a_hooks_output_is_its_own_lines() {
        let output = WatchEventKind::Output {
            stderr: false,
            bytes: b"installed 3\r\nwarning: old\n".to_vec(),
        };
        assert_eq!(line(output), "installed 3\nwarning: old");
    }

    #[test]
    fn log_lines_read_as_compose_words_them() {
        assert_eq!(
            line(WatchEventKind::Syncing { files: 2 }),
            "Syncing service \"web\" after 2 changes were detected"
        );
        assert_eq!(
            line(WatchEventKind::Synced { files: 1 }),
            "Synced 1 file into service \"web\""
        );
        assert_eq!(
            line(WatchEventKind::Rebuilding),
            "Rebuilding service \"web\" after changes were detected"
        );
        assert_eq!(
            line(WatchEventKind::Failed {
                message: "/app is read-only".into()
            }),
            "Watch of service \"web\": /app is read-only"
        );
    }
}

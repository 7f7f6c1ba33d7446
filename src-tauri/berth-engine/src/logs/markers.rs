//! Lifecycle markers: what happened to the project's containers (created, started, health,
//! exit, a restart policy's restart, a stop the user asked for), told by the project's feed, as
//! Berth's lines of their own in the hub among each container's output. Nothing is written to
//! the containers or their Docker logs.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::follow::{Origin, Record};
use super::line::Stream;
use super::marker::Marker;
use crate::Engine;
use crate::feed::FeedEvent;
use crate::labels;
use crate::subscription::Subscription;

/// A marker about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mark {
    pub id: String,
    pub service: String,
    /// The container's name (`<project>-<service>-<n>`).
    pub container: String,
    /// The event's time, nanoseconds since the epoch.
    pub ts: i64,
    pub marker: Marker,
    pub text: String,
}

/// What the events so far said of one container.
#[derive(Debug, Default)]
struct Seen {
    /// The first stopping signal sent since it started: the user asked it to stop.
    stop_signal: Option<String>,
    oom: bool,
    /// The exit code of a crash not yet known to be an out-of-memory kill.
    crashed: Option<String>,
    /// It ended by itself; a start now is a restart.
    ended_by_itself: bool,
    health: Option<String>,
}

/// Turns a feed's container events into markers.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    seen: HashMap<String, Seen>,
}

impl Tracker {
    /// The container's crash is known to be an out-of-memory kill: its exit code, and a later
    /// `oom` adds nothing.
    fn explained(&mut self, id: &str) -> Option<String> {
        self.seen.get_mut(id)?.crashed.take()
    }

    pub fn on_event(&mut self, event: &EventMessage) -> Option<Mark> {
        if event.typ != Some(EventMessageTypeEnum::CONTAINER) {
            return None;
        }
        let actor = event.actor.as_ref()?;
        let attributes = actor.attributes.as_ref()?;
        let attribute = |key: &str| attributes.get(key).map(String::as_str);
        // One-off `run` containers are not the service's.
        if attribute(labels::ONEOFF) == Some("True") {
            return None;
        }
        let service = attribute(labels::SERVICE)?;
        let id = actor.id.clone()?;
        let action = event.action.as_deref()?;
        if action == "destroy" {
            self.seen.remove(&id);
            return None;
        }
        let seen = self.seen.entry(id.clone()).or_default();
        let (marker, text) = match action {
            "create" => {
                let image = attribute("image").unwrap_or_default();
                if attributes.contains_key(labels::REPLACE) {
                    (Marker::Recreated, format!("recreated (image {image})"))
                } else {
                    (Marker::Created, format!("created (image {image})"))
                }
            }
            "start" => {
                let restarted = std::mem::take(seen).ended_by_itself;
                if restarted {
                    (Marker::Restarted, "restarted".to_owned())
                } else {
                    (Marker::Started, "started".to_owned())
                }
            }
            "kill" => {
                let signal = attribute("signal").filter(|s| crate::state::stops(s))?;
                seen.stop_signal.get_or_insert_with(|| signal.to_owned());
                return None;
            }
            // The engine's `oom` and `die` race (the kernel's memory event and the process's
            // exit reach it apart): an `oom` just after a crash says what the crash was.
            "oom" => match seen.crashed.take() {
                Some(code) => out_of_memory(&code),
                None => {
                    seen.oom = true;
                    return None;
                }
            },
            "die" => {
                let code = attribute("exitCode").unwrap_or("?");
                match (&seen.stop_signal, seen.oom) {
                    (_, true) => {
                        seen.ended_by_itself = true;
                        out_of_memory(code)
                    }
                    (Some(signal), false)
                        if matches!(signal.as_str(), "9" | "KILL" | "SIGKILL") =>
                    {
                        (Marker::Killed, "killed by the user".to_owned())
                    }
                    (Some(_), false) => (Marker::Stopped, "stopped by the user".to_owned()),
                    (None, false) => {
                        seen.ended_by_itself = true;
                        let marker = if code == "0" {
                            Marker::Exited
                        } else {
                            seen.crashed = Some(code.to_owned());
                            Marker::Crashed
                        };
                        (marker, format!("exited ({code})"))
                    }
                }
            }
            _ => {
                let health = action.strip_prefix("health_status: ")?;
                let marker = match health {
                    "healthy" => Marker::Healthy,
                    "unhealthy" => Marker::Unhealthy,
                    _ => return None,
                };
                if seen.health.as_deref() == Some(health) {
                    return None;
                }
                seen.health = Some(health.to_owned());
                (marker, health.to_owned())
            }
        };
        let ts = event
            .time_nano
            .or_else(|| event.time.map(|s| s * 1_000_000_000))
            .unwrap_or_else(crate::clock::now_ns);
        Some(Mark {
            id,
            service: service.to_owned(),
            container: container_name(attribute("name").unwrap_or_default()).to_owned(),
            ts,
            marker,
            text,
        })
    }
}

/// A container's name without the `<id>_` a replacement carries until it is renamed.
fn container_name(name: &str) -> &str {
    match name.split_once('_') {
        Some((id, rest)) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) => rest,
        _ => name,
    }
}

/// How long a marker waits before it joins the hub's lines: a container's last lines can reach
/// the hub a moment after the event that ended it, and are to sort before its exit.
const HOLD: Duration = Duration::from_millis(250);

/// Sends the markers `events` (a feed's) tell to the hub's pump (as `sink`), until the feed or
/// the pump goes. `engine` tells a restart policy's start from the user's.
pub async fn follow_markers(
    engine: &Engine,
    mut events: Subscription<FeedEvent>,
    sink: mpsc::Sender<Vec<Record>>,
) {
    let mut tracker = Tracker::default();
    let mut held: VecDeque<(tokio::time::Instant, Mark)> = VecDeque::new();
    loop {
        let due = held.front().map(|(at, _)| *at);
        tokio::select! {
            () = async { tokio::time::sleep_until(due.expect("guarded")).await }, if due.is_some() => {
                let (_, mark) = held.pop_front().expect("one was due");
                if sink.send(vec![record(mark)]).await.is_err() {
                    return;
                }
            }
            event = events.recv() => match event {
                Ok(FeedEvent::Event(event)) => {
                    if let Some(mut mark) = tracker.on_event(&event) {
                        // Held from the event on: the engine's answers below take their time
                        // within the hold, not after it (the container's lines go on coming).
                        let at = tokio::time::Instant::now() + HOLD;
                        if mark.marker == Marker::Restarted && !by_policy(engine, &mark.id).await {
                            (mark.marker, mark.text) = (Marker::Started, "started".to_owned());
                        }
                        // No `oom` yet: the engine's state knows when it had the kill first
                        // (and an `oom` lost to a lagging feed).
                        if mark.marker == Marker::Crashed
                            && oom_killed(engine, &mark.id).await
                            && let Some(code) = tracker.explained(&mark.id)
                        {
                            (mark.marker, mark.text) = out_of_memory(&code);
                        }
                        hold(&mut held, at, mark);
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// The marker and text of an exit for want of memory.
fn out_of_memory(code: &str) -> (Marker, String) {
    (
        Marker::OutOfMemory,
        format!("exited ({code}, out of memory)"),
    )
}

/// Holds `mark` until `at`. An out-of-memory mark replaces the crash it explains while that is
/// still held; one that comes later follows it.
fn hold(held: &mut VecDeque<(tokio::time::Instant, Mark)>, at: tokio::time::Instant, mark: Mark) {
    if mark.marker == Marker::OutOfMemory
        && let Some((_, crash)) =
            (held.iter_mut()).find(|(_, m)| m.id == mark.id && m.marker == Marker::Crashed)
    {
        (crash.marker, crash.text) = (mark.marker, mark.text);
        return;
    }
    held.push_back((at, mark));
}

/// Whether the engine says the container was killed for want of memory.
async fn oom_killed(engine: &Engine, id: &str) -> bool {
    match engine.docker().inspect_container(id, None).await {
        Ok(c) => c.state.and_then(|s| s.oom_killed).unwrap_or_default(),
        Err(_) => false,
    }
}

/// Whether the container's start after it ended by itself was its restart policy's. The two
/// look the same in the event stream (`die`, then `start`, the same attributes); the engine
/// counts a policy's restarts in `RestartCount` and sets it back to 0 on a start by the user.
async fn by_policy(engine: &Engine, id: &str) -> bool {
    match engine.docker().inspect_container(id, None).await {
        Ok(c) => c.restart_count.unwrap_or_default() > 0,
        // Gone already: as the events said.
        Err(_) => true,
    }
}

fn record(mark: Mark) -> Record {
    Record {
        origin: Arc::new(Origin {
            id: mark.id,
            service: mark.service,
            name: mark.container,
        }),
        stream: Stream::Berth,
        ts: mark.ts,
        text: mark.text.into_bytes(),
        partial: false,
        marker: Some(mark.marker),
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::EventActor;

    use super::*;
    use crate::logs::Level;

    fn event(id: &str, action: &str, attributes: &[(&str, &str)]) -> EventMessage {
        let mut all: HashMap<String, String> = attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        all.insert(labels::SERVICE.into(), "api".into());
        all.insert("name".into(), "p-api-1".into());
        EventMessage {
            typ: Some(EventMessageTypeEnum::CONTAINER),
            action: Some(action.into()),
            actor: Some(EventActor {
                id: Some(id.into()),
                attributes: Some(all),
            }),
            time_nano: Some(7),
            ..Default::default()
        }
    }

    fn run(events: &[EventMessage]) -> Vec<(Marker, String)> {
        let mut tracker = Tracker::default();
        events
            .iter()
            .filter_map(|e| tracker.on_event(e))
            .map(|m| (m.marker, m.text))
            .collect()
    }

    #[test]
    fn a_crash_a_restart_and_health() {
        use Marker::*;
        let got = run(&[
            event("a", "create", &[("image", "busybox:1")]),
            event("a", "start", &[]),
            event("a", "health_status: healthy", &[]),
            event("a", "health_status: healthy", &[]),
            event("a", "exec_start: false", &[]),
            event("a", "die", &[("exitCode", "3")]),
            event("a", "start", &[]),
            event("a", "health_status: unhealthy", &[]),
        ]);
        assert_eq!(
            got,
            [
                (Created, "created (image busybox:1)".into()),
                (Started, "started".into()),
                (Healthy, "healthy".into()),
                (Crashed, "exited (3)".into()),
                (Restarted, "restarted".into()),
                (Unhealthy, "unhealthy".into()),
            ]
        );
    }

    #[test]
    fn the_users_stop_and_kill_are_not_crashes_and_oom_is_named() {
        use Marker::*;
        let got = run(&[
            event("a", "kill", &[("signal", "15")]),
            event("a", "kill", &[("signal", "9")]),
            event("a", "die", &[("exitCode", "137")]),
            event("a", "stop", &[]),
            event("a", "start", &[]),
            event("a", "kill", &[("signal", "SIGKILL")]),
            event("a", "die", &[("exitCode", "137")]),
            event("a", "start", &[]),
            event("a", "kill", &[("signal", "SIGHUP")]),
            event("a", "oom", &[]),
            event("a", "die", &[("exitCode", "137")]),
            event("a", "start", &[]),
            event("a", "die", &[("exitCode", "0")]),
        ]);
        let kinds: Vec<Marker> = got.iter().map(|(m, _)| *m).collect();
        assert_eq!(
            kinds,
            [
                Stopped,
                Started,
                Killed,
                Started,
                OutOfMemory,
                Restarted,
                Exited
            ]
        );
        assert_eq!(got[4].1, "exited (137, out of memory)");
    }

    /// The engine can tell of the kill after the exit: the crash it explains, still held,
    /// becomes an out-of-memory marker; once gone, the explanation follows it.
    #[test]
    fn an_oom_told_after_the_exit_names_the_crash() {
        use Marker::*;
        let mut tracker = Tracker::default();
        let marks: Vec<Mark> = [
            event("a", "die", &[("exitCode", "137")]),
            event("a", "oom", &[]),
            event("a", "oom", &[]),
        ]
        .iter()
        .filter_map(|e| tracker.on_event(e))
        .collect();
        let kinds: Vec<Marker> = marks.iter().map(|m| m.marker).collect();
        assert_eq!(kinds, [Crashed, OutOfMemory], "a second oom adds nothing");

        let at = tokio::time::Instant::now();
        let mut held = VecDeque::new();
        for mark in marks.iter().cloned() {
            hold(&mut held, at, mark);
        }
        let held: Vec<(Marker, &str)> = held.iter().map(|(_, m)| (m.marker, &*m.text)).collect();
        assert_eq!(held, [(OutOfMemory, "exited (137, out of memory)")]);

        // The engine's state named it first: the `oom` after it adds nothing.
        let mut tracker = Tracker::default();
        tracker.on_event(&event("a", "die", &[("exitCode", "137")]));
        assert_eq!(tracker.explained("a").as_deref(), Some("137"));
        assert_eq!(tracker.on_event(&event("a", "oom", &[])), None);

        let mut released = VecDeque::new();
        hold(&mut released, at, marks[0].clone());
        released.clear();
        hold(&mut released, at, marks[1].clone());
        assert_eq!(released.len(), 1, "told on its own");
    }

    #[test]
    fn a_replacement_is_recreated_under_its_final_name() {
        let mut tracker = Tracker::default();
        let mut e = event("b", "create", &[("image", "web:2"), (labels::REPLACE, "a")]);
        let attributes = e.actor.as_mut().unwrap().attributes.as_mut().unwrap();
        attributes.insert("name".into(), "0123456789ab_p-api-1".into());
        let mark = tracker.on_event(&e).unwrap();
        assert_eq!(mark.marker, Marker::Recreated);
        assert_eq!(mark.container, "p-api-1");
        assert_eq!(mark.ts, 7);
        assert_eq!(container_name("p_api-1"), "p_api-1");
    }

    #[test]
    fn a_marker_read_back_from_the_history_is_still_one() {
        use crate::logs::Store;
        let mut live = Store::new(1 << 20);
        let source = live.source("api", "p-api-1");
        let text = b"exited (137, out of memory)";
        let pos = live.push_marker(source, 5, Marker::OutOfMemory, text);
        let e = *live.entry(pos).unwrap();
        let mut reopened = Store::new(1 << 20);
        let source = reopened.source("api", "p-api-1");
        let back = reopened.push_stored(source, e.ts, text, e.flags, e.level);
        assert_eq!(reopened.marker(back), Some(Marker::OutOfMemory));
        assert_eq!(reopened.stream(back), Some(Stream::Berth));
        assert_eq!(reopened.level(back), Some(Level::Error));
    }
}

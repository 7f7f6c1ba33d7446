//! A desktop notification service of the test's own: `org.freedesktop.Notifications` served on
//! the current D-Bus session bus (run the tests under `dbus-run-session`). It records every
//! notification the app shows and can act as the user clicking one of its actions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use zbus::OwnedVariant;
use zbus::object_server::SignalEmitter;

const NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// One `Notify` call as the service received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The id the service answered with: the one [`Notifications::invoke`] takes.
    pub id: u32,
    pub app_name: String,
    pub summary: String,
    pub body: String,
    /// The action keys offered, e.g. `["default"]` (their labels left out).
    pub actions: Vec<String>,
}

/// The running fake service; it stops serving when dropped.
pub struct Notifications {
    connection: zbus::Connection,
    received: Arc<Mutex<Vec<Notification>>>,
}

struct Server {
    received: Arc<Mutex<Vec<Notification>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut received = self.received.lock().expect("not poisoned");
        let id = u32::try_from(received.len()).expect("few notifications") + 1;
        received.push(Notification {
            id,
            app_name,
            summary,
            body,
            // Actions come as key, label pairs.
            actions: actions.into_iter().step_by(2).collect(),
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    #[zbus(out_args("name", "vendor", "version", "spec_version"))]
    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "berth-tests".into(),
            "berth".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    async fn close_notification(
        &self,
        id: u32,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        // Reason 3: closed by a call to CloseNotification.
        Self::notification_closed(&emitter, id, 3).await?;
        Ok(())
    }

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

impl Notifications {
    /// Serves the notification service on the session bus. Fails when there is no session bus
    /// or another service already owns the name (a desktop's own: run under `dbus-run-session`).
    pub async fn start() -> Result<Notifications> {
        let received = Arc::new(Mutex::new(Vec::new()));
        let server = Server {
            received: received.clone(),
        };
        let connection = crate::session_bus::serve(NAME, PATH, server).await?;
        Ok(Notifications {
            connection,
            received,
        })
    }

    /// Every notification received so far, oldest first.
    pub fn received(&self) -> Vec<Notification> {
        self.received.lock().expect("not poisoned").clone()
    }

    /// The first notification that satisfies `matches`, waiting up to `timeout` for it.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        matches: impl Fn(&Notification) -> bool,
    ) -> Result<Notification> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(n) = self.received().into_iter().find(&matches) {
                return Ok(n);
            }
            if Instant::now() > deadline {
                bail!(
                    "no matching notification within {timeout:?}; received: {:?}",
                    self.received()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Acts as the user choosing `action` (e.g. "default": a click on the notification).
    pub async fn invoke(&self, id: u32, action: &str) -> Result<()> {
        let server = self
            .connection
            .object_server()
            .interface::<_, Server>(PATH)
            .await
            .context("the fake notification service is served")?;
        Server::action_invoked(server.signal_emitter(), id, action)
            .await
            .context("emitting ActionInvoked")
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    /// A client as notify-rust is one: Notify, then wait for ActionInvoked on its id.
    #[tokio::test]
    async fn records_a_notification_and_invokes_its_action() {
        let service = Notifications::start().await.unwrap();
        let client = zbus::Connection::session().await.unwrap();
        let proxy = zbus::Proxy::new(&client, NAME, PATH, NAME).await.unwrap();
        let mut invoked = proxy.receive_signal("ActionInvoked").await.unwrap();
        let hints: HashMap<String, OwnedVariant> = HashMap::new();
        let id: u32 = proxy
            .call(
                "Notify",
                &(
                    "berth",
                    0u32,
                    "",
                    "p: api",
                    "exited (3) unexpectedly",
                    vec!["default", "Show"],
                    hints,
                    -1i32,
                ),
            )
            .await
            .unwrap();
        let got = service
            .wait_for(Duration::from_secs(5), |n| n.summary == "p: api")
            .await
            .unwrap();
        assert_eq!(got.id, id);
        assert_eq!(got.body, "exited (3) unexpectedly");
        assert_eq!(got.actions, ["default"]);
        service.invoke(id, "default").await.unwrap();
        let signal = tokio::time::timeout(Duration::from_secs(5), invoked.next())
            .await
            .unwrap()
            .unwrap();
        let (signal_id, key): (u32, String) = signal.body().deserialize().unwrap();
        assert_eq!((signal_id, key.as_str()), (id, "default"));
    }
}

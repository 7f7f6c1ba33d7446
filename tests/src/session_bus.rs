//! Desktop services of the test's own on the current D-Bus session bus (run the tests under
//! `dbus-run-session`): the fake notification server and the fake tray watcher own their name
//! here.

use anyhow::{Context, Result};
use zbus::object_server::Interface;

/// Serves `interface` at `path` under the well-known `name`. Fails when there is no session bus
/// or another service already owns the name (a desktop's own).
pub async fn serve(name: &str, path: &str, interface: impl Interface) -> Result<zbus::Connection> {
    zbus::connection::Builder::session()
        .serve_at(path, interface)
        .name(name)
        .build()
        .await
        .with_context(|| {
            format!("owning {name} on the session bus (run the test under dbus-run-session)")
        })
}

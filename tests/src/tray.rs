//! A system tray of the test's own: `org.kde.StatusNotifierWatcher` served on the current D-Bus
//! session bus (run the tests under `dbus-run-session`), as a desktop's panel serves it. The app's
//! tray icon (libayatana-appindicator) registers its StatusNotifierItem with it; the test then
//! reads the item's menu over `com.canonical.dbusmenu` (`GetLayout`) and clicks its entries
//! (`Event(id, "clicked", …)`) as the panel does when the user picks one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use zbus::{OwnedVariant, Variant};

const NAME: &str = "org.kde.StatusNotifierWatcher";
const PATH: &str = "/StatusNotifierWatcher";
const ITEM: &str = "org.kde.StatusNotifierItem";
const MENU: &str = "com.canonical.dbusmenu";

/// A registered StatusNotifierItem: the bus name that serves it and its object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub bus: String,
    pub path: String,
}

/// The running fake watcher; it stops serving when dropped.
pub struct Tray {
    connection: zbus::Connection,
    items: Arc<Mutex<Vec<Item>>>,
}

struct Watcher {
    items: Arc<Mutex<Vec<Item>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// `service` is an object path on the caller's connection (libayatana-appindicator sends
    /// its item's path) or a bus name serving the item at the spec's default path.
    fn register_status_notifier_item(
        &self,
        service: String,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let item = if service.starts_with('/') {
            Item {
                bus: sender,
                path: service,
            }
        } else {
            Item {
                bus: service,
                path: "/StatusNotifierItem".to_owned(),
            }
        };
        self.items.lock().expect("not poisoned").push(item);
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        (self.items.lock().expect("not poisoned").iter())
            .map(|i| format!("{}{}", i.bus, i.path))
            .collect()
    }

    /// A panel shows the items: without one, the item falls back to an XEmbed icon.
    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// An entry as dbusmenu sends it, `(ia{sv}av)`: its id, properties and children.
type Layout = (i32, HashMap<String, OwnedVariant>, Vec<OwnedVariant>);

/// One entry of the menu as `GetLayout` gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i32,
    /// As shown: the access-key underscores taken out (`__` is one underscore).
    pub label: String,
    pub enabled: bool,
    pub children: Vec<Entry>,
}

impl Entry {
    /// The entry reached by following `labels` down from this one, each a label's start.
    pub fn find(&self, labels: &[&str]) -> Option<&Entry> {
        match labels.split_first() {
            None => Some(self),
            Some((first, rest)) => (self.children.iter())
                .find(|c| c.label.starts_with(first))?
                .find(rest),
        }
    }

    /// The labels of the entries below this one.
    pub fn labels(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.label.as_str()).collect()
    }
}

impl Tray {
    /// Serves the watcher on the session bus. Fails when there is no session bus or another
    /// watcher owns the name (a desktop's own: run under `dbus-run-session`).
    pub async fn start() -> Result<Tray> {
        let items = Arc::new(Mutex::new(Vec::new()));
        let watcher = Watcher {
            items: items.clone(),
        };
        let connection = crate::session_bus::serve(NAME, PATH, watcher).await?;
        Ok(Tray { connection, items })
    }

    /// The first item registered, waiting up to `timeout` for one.
    pub async fn item(&self, timeout: Duration) -> Result<Item> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(item) = self.items.lock().expect("not poisoned").first() {
                return Ok(item.clone());
            }
            if Instant::now() > deadline {
                bail!("no StatusNotifierItem registered within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The item's menu, whole (the root entry; its children are the top entries).
    pub async fn menu(&self, item: &Item) -> Result<Entry> {
        let (bus, path) = self.menu_object(item).await?;
        let menu = zbus::Proxy::new(&self.connection, bus, path, MENU).await?;
        let (_revision, layout): (u32, Layout) = menu
            .call("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .await
            .context("GetLayout on the item's menu")?;
        let (id, properties, children) = layout;
        entry(id, &properties, &children)
    }

    /// The first menu that satisfies `ready`, waiting up to `timeout` for it.
    pub async fn menu_when(
        &self,
        item: &Item,
        timeout: Duration,
        ready: impl Fn(&Entry) -> bool,
    ) -> Result<Entry> {
        let deadline = Instant::now() + timeout;
        loop {
            let menu = self.menu(item).await?;
            if ready(&menu) {
                return Ok(menu);
            }
            if Instant::now() > deadline {
                bail!("the tray menu did not become as expected within {timeout:?}: {menu:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Acts as the user picking the entry `id`.
    pub async fn click(&self, item: &Item, id: i32) -> Result<()> {
        let (bus, path) = self.menu_object(item).await?;
        let menu = zbus::Proxy::new(&self.connection, bus, path, MENU).await?;
        let data = Variant::from(0i32);
        menu.call::<_, _, ()>("Event", &(id, "clicked", data, 0u32))
            .await
            .with_context(|| format!("clicking menu entry {id}"))
    }

    /// The bus name and object path of the item's menu (its `Menu` property).
    async fn menu_object(&self, item: &Item) -> Result<(String, String)> {
        let proxy = zbus::Proxy::new(
            &self.connection,
            item.bus.as_str(),
            item.path.as_str(),
            ITEM,
        )
        .await?;
        let path: zbus::OwnedObjectPath = proxy
            .get_property("Menu")
            .await
            .context("the item's Menu property")?;
        Ok((item.bus.clone(), path.to_string()))
    }
}

/// An entry from its `(ia{sv}av)` parts.
fn entry(
    id: i32,
    properties: &HashMap<String, OwnedVariant>,
    children: &[OwnedVariant],
) -> Result<Entry> {
    let text = |key: &str| match properties.get(key).map(|v| &**v) {
        Some(Variant::Str(s)) => Some(s.to_string()),
        _ => None,
    };
    let enabled = !matches!(
        properties.get("enabled").map(|v| &**v),
        Some(Variant::Bool(false))
    );
    let children = (children.iter())
        .map(|child| {
            let child = match &**child {
                Variant::Variant(inner) => inner.try_to_owned()?,
                _ => child.try_clone()?,
            };
            let (id, properties, children): (
                i32,
                HashMap<String, OwnedVariant>,
                Vec<OwnedVariant>,
            ) = child.try_into().context("a menu entry's (ia{sv}av)")?;
            entry(id, &properties, &children)
        })
        .collect::<Result<Vec<Entry>>>()?;
    Ok(Entry {
        id,
        label: shown_label(&text("label").unwrap_or_default()),
        enabled,
        children,
    })
}

/// The label as a panel shows it: `__` is an underscore, a single `_` marks the access key.
fn shown_label(label: &str) -> String {
    let mut shown = String::new();
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            shown.push(c);
        } else if chars.peek() == Some(&'_') {
            chars.next();
            shown.push('_');
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_loses_its_access_key_marks_but_keeps_doubled_underscores() {
        assert_eq!(shown_label("_Quit Berth"), "Quit Berth");
        assert_eq!(shown_label("my__project — 1/2"), "my_project — 1/2");
    }

    /// An item as libayatana-appindicator registers one: its path, from its own connection.
    #[tokio::test]
    async fn records_the_item_an_app_registers_by_path() {
        let tray = Tray::start().await.unwrap();
        let app = zbus::Connection::session().await.unwrap();
        let watcher = zbus::Proxy::new(&app, NAME, PATH, NAME).await.unwrap();
        let host: bool = watcher
            .get_property("IsStatusNotifierHostRegistered")
            .await
            .unwrap();
        assert!(host);
        watcher
            .call::<_, _, ()>(
                "RegisterStatusNotifierItem",
                &("/org/ayatana/NotificationItem/x",),
            )
            .await
            .unwrap();
        let item = tray.item(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            item,
            Item {
                bus: app.unique_name().unwrap().to_string(),
                path: "/org/ayatana/NotificationItem/x".to_owned(),
            }
        );
    }
}

//! The window shows Berth's own page and nothing else. A navigation away from the app's origin
//! (a script setting `location`, a link without a handler) is refused: another page in the
//! window would hold Berth's IPC. An http(s) address opens in the user's browser instead.

use tauri::plugin::{Builder, TauriPlugin};
use tauri::{Runtime, Url};

pub fn guard<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("navigation")
        .on_navigation(|_, url| {
            if is_app(url) {
                return true;
            }
            if matches!(url.scheme(), "http" | "https") {
                if let Err(err) = open::that_detached(url.as_str()) {
                    tracing::warn!("could not open {url} in the browser: {err}");
                }
            } else {
                tracing::warn!("refused to show {url} in the window");
            }
            false
        })
        .build()
}

/// The app's page: Tauri serves it as `tauri://localhost` (Linux, macOS), or as
/// `http(s)://tauri.localhost` where a webview takes no custom scheme (Windows, Android). Only
/// the form of this platform counts: elsewhere `tauri.localhost` resolves to the loopback, and
/// whatever listens on port 80 there (often the stack's own nginx) would replace the app.
fn is_app(url: &Url) -> bool {
    let localhost = |host: &str| url.host_str() == Some(host) && url.port().is_none();
    match url.scheme() {
        "tauri" => cfg!(not(any(windows, target_os = "android"))) && localhost("localhost"),
        "http" | "https" => {
            cfg!(any(windows, target_os = "android")) && localhost("tauri.localhost")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_origin_is_shown() {
        let app = |s: &str| is_app(&Url::parse(s).unwrap());
        assert!(app("tauri://localhost/"));
        assert!(app("tauri://localhost/index.html#logs"));
        // Here, http://tauri.localhost/ is whatever listens on the loopback's port 80.
        assert!(!app("http://tauri.localhost/"));
        assert!(!app("http://127.0.0.1:8080/"));
        assert!(!app("http://localhost/"));
        assert!(!app("http://tauri.localhost:8080/"));
        assert!(!app("https://tauri.localhost.example.com/"));
        assert!(!app("tauri://evil/"));
        assert!(!app("file:///etc/passwd"));
        assert!(!app("data:text/html,hi"));
    }
}

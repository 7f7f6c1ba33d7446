//! The real Berth app in a real webview, driven through WebDriver (tauri-driver in front of
//! WebKitWebDriver). Needs a display: run under `xvfb-run` (./test.sh does).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

use crate::SETUP_HINT;

/// One running app with a WebDriver session on it. Call [`App::quit`] at the end of a test; if a
/// test panics first, dropping the App still stops the driver (and with it the app).
pub struct App {
    pub client: Client,
    driver: Driver,
    /// Dropped after the driver (fields drop in order), so the app is gone first.
    own_config: OwnDir,
}

/// `file`'s backend up in project `name` (with what it depends on), and the app open on that
/// project, the backend's row reading running within `wait`.
pub async fn open_with_backend_up(name: &str, file: &Path, wait: Duration) -> App {
    crate::berthctl_ok(name, file, &["up", "-d", "--wait", "backend"]);
    let args = ["-f", file.to_str().expect("UTF-8 path"), "-p", name];
    let app = App::launch(&crate::workspace_binary("berth"), &args).await;
    app.cell_when("backend", "state", wait, |t| t == "running")
        .await;
    app
}

/// A config directory made for one launch alone, removed with it.
#[derive(Default)]
struct OwnDir(Option<std::path::PathBuf>);

impl Drop for OwnDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// tauri-driver and everything it starts; stopped when dropped, even if a test panics half-way
/// through opening the session.
struct Driver(Child);

impl App {
    /// Starts `binary` with `args` under tauri-driver and opens a WebDriver session on it, with
    /// fresh settings (its own empty config directory).
    pub async fn launch(binary: &Path, args: &[&str]) -> App {
        App::launch_with_env(binary, args, &[]).await
    }

    /// [`App::launch`] with these environment variables set for the app.
    pub async fn launch_with_env(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> App {
        let config = std::env::temp_dir().join(format!(
            "berth-test-config-{}-{}",
            std::process::id(),
            free_port()
        ));
        let mut app = App::start(binary, args, &config, env).await;
        app.own_config = OwnDir(Some(config));
        app
    }

    /// [`App::launch`] with the settings in `config` (XDG_CONFIG_HOME) and the log history in
    /// `config/data` (BERTH_DATA_DIR), to test what Berth remembers between runs.
    pub async fn launch_with_config(binary: &Path, args: &[&str], config: &Path) -> App {
        App::start(binary, args, config, &[]).await
    }

    async fn start(binary: &Path, args: &[&str], config: &Path, env: &[(&str, &str)]) -> App {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the app needs a display: run the tests under xvfb-run (./test.sh does)"
        );
        let (port, native_port) = (free_port(), free_port());
        let driver = Driver(
            Command::new(tauri_driver())
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native_port.to_string(),
                ])
                .env("XDG_CONFIG_HOME", config)
                // The log history beside the settings, never in the user's data directory.
                .env("BERTH_DATA_DIR", config.join("data"))
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start tauri-driver: {err}\n{SETUP_HINT}")),
        );
        // tauri-driver listens before WebKitWebDriver does: a session made in between fails.
        let app = App {
            client: connect_when_ready(port, native_port, binary, args).await,
            driver,
            own_config: OwnDir::default(),
        };
        app.client.set_window_size(1280, 800).await.ok();
        app
    }

    /// The text content of the first element matching a CSS selector, waiting up to `timeout`
    /// for it to exist and for its text to satisfy `ready`. Text content, not WebDriver's visible
    /// text: WebKitWebDriver's visibility heuristic calls an ellipsised (`overflow: hidden`)
    /// element hidden although it is drawn.
    pub async fn text_when(
        &self,
        css: &str,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = text_content(&element).await;
                if ready(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{css}` did not become ready within {timeout:?}; its text was {last:?}");
    }

    /// The text content of every cell of a table's body rows, row by row.
    pub async fn table(&self, css: &str) -> Vec<Vec<String>> {
        let rows = self
            .client
            .find_all(Locator::Css(&format!("{css} tbody tr")))
            .await
            .unwrap_or_else(|err| panic!("no rows in `{css}`: {err}"));
        let mut table = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = Vec::new();
            for cell in row.find_all(Locator::Css("td")).await.expect("cells") {
                cells.push(text_content(&cell).await);
            }
            table.push(cells);
        }
        table
    }

    /// Clicks the first element matching a CSS selector, waiting up to 10 s for it to exist and
    /// be enabled.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.is_enabled().await.unwrap_or(false)
            {
                element
                    .click()
                    .await
                    .unwrap_or_else(|err| panic!("cannot click `{css}`: {err}"));
                return;
            }
            assert!(Instant::now() < deadline, "`{css}` is not there to click");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `keys` into the first element matching a CSS selector (`\u{E007}` is Enter,
    /// `\u{E00C}` Escape), after what it holds.
    pub async fn type_keys(&self, css: &str, keys: &str) {
        let element = self.find(css).await;
        element
            .send_keys(keys)
            .await
            .unwrap_or_else(|err| panic!("cannot type into `{css}`: {err}"));
    }

    /// Types `text` into the field matching a CSS selector, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element
            .clear()
            .await
            .unwrap_or_else(|err| panic!("cannot clear `{css}`: {err}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("cannot type into `{css}`: {err}"));
    }

    /// The first element matching `css`, once it is in the page (a menu's rows can come a
    /// moment after the click that opens it): up to 10 s, as [`App::click`] waits.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(err) if Instant::now() >= deadline => {
                    panic!("no `{css}` in the page: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Chooses Docker context `context` in Project ▾ once its option shows `shown` (its host),
    /// saves, and confirms the native "another Docker engine" dialog.
    pub async fn choose_engine_context(&self, context: &str, shown: &str, wait: Duration) {
        self.click("[data-testid=project-menu]").await;
        let option = format!("[data-testid=engine-context] option[value=\"{context}\"]");
        self.text_when(&option, wait, |t| t.contains(shown)).await;
        let choose = format!(
            "const s = document.querySelector('[data-testid=engine-context]'); s.value = {context:?}; \
             s.dispatchEvent(new Event('change')); \
             s.closest('form').querySelector('button[type=submit]').click(); return null"
        );
        self.eval(&choose).await;
        let dialog = self.native_window_when("another Docker engine", wait).await;
        self.press(&dialog, "Return");
    }

    /// The services table's cell `col` (`state`, `health`, `ports`…) of `service`, once `ready`.
    pub async fn cell_when(
        &self,
        service: &str,
        col: &str,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let css = format!("[data-testid=services] tr[data-service={service}] [data-col={col}]");
        self.text_when(&css, timeout, ready).await
    }

    /// Saves a PNG of the window to `$BERTH_SCREENSHOT` when that is set (how the README's
    /// screenshot is made: `BERTH_SCREENSHOT=docs/screenshot.png ./test.sh`).
    pub async fn screenshot_if_asked(&self) {
        if let Some(path) = std::env::var_os("BERTH_SCREENSHOT") {
            let png = self.client.screenshot().await.expect("a screenshot");
            std::fs::write(&path, png).expect("write the screenshot");
        }
    }

    /// The text content of every element matching a CSS selector, once `ready` accepts them
    /// (waiting up to `timeout`).
    pub async fn texts_when(
        &self,
        css: &str,
        timeout: Duration,
        ready: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let script = format!(
            "return [...document.querySelectorAll({})].map(e => e.textContent.trim())",
            serde_json::Value::from(css)
        );
        let deadline = Instant::now() + timeout;
        loop {
            let texts: Vec<String> =
                serde_json::from_value(self.eval(&script).await).expect("a list of strings");
            if ready(&texts) {
                return texts;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` did not become ready within {timeout:?}; its texts were {texts:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Hides the window as closing it to the tray does: the app's X windows are unmapped, so
    /// the page is hidden (`document.visibilityState`). Returns the windows for
    /// [`App::show_window`].
    pub async fn hide_window(&self) -> Vec<String> {
        let windows: Vec<String> = descendants(self.driver.0.id())
            .into_iter()
            .filter_map(|pid| xdotool(&["search", "--onlyvisible", "--pid", &pid.to_string()]))
            .flat_map(|found| {
                found
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(!windows.is_empty(), "xdotool finds no window of the app");
        for window in &windows {
            xdotool(&["windowunmap", window]).expect("xdotool windowunmap");
        }
        self.visibility_when("hidden").await;
        windows
    }

    /// Shows the windows [`App::hide_window`] hid, as the tray's Show does.
    pub async fn show_window(&self, windows: &[String]) {
        for window in windows {
            xdotool(&["windowmap", window]).expect("xdotool windowmap");
        }
        self.visibility_when("visible").await;
    }

    /// A window of the app (a native dialog) whose title contains `title`, once it shows.
    pub async fn native_window_when(&self, title: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let found = descendants(self.driver.0.id()).into_iter().find_map(|pid| {
                let pid = pid.to_string();
                // --all: xdotool otherwise takes a window matching either the pid or the name.
                let by = [
                    "search",
                    "--all",
                    "--onlyvisible",
                    "--pid",
                    &pid,
                    "--name",
                    title,
                ];
                xdotool(&by)
            });
            if let Some(window) = found.and_then(|f| f.split_whitespace().next().map(str::to_owned))
            {
                return window;
            }
            assert!(
                Instant::now() < deadline,
                "no window titled {title:?} within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses `key` (xdotool's name for it) in `window`, as the user would: the window takes
    /// the focus, and the key goes through the X server's input.
    pub fn press(&self, window: &str, key: &str) {
        xdotool(&["windowfocus", "--sync", window]).expect("xdotool windowfocus");
        xdotool(&["key", key]).expect("xdotool key");
    }

    /// Types `text` in `window` as the user would (a path in a native save dialog).
    pub fn type_text(&self, window: &str, text: &str) {
        xdotool(&["windowfocus", "--sync", window]).expect("xdotool windowfocus");
        xdotool(&["type", "--delay", "10", text]).expect("xdotool type");
    }

    async fn visibility_when(&self, state: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.eval("return document.visibilityState").await != state {
            assert!(
                Instant::now() < deadline,
                "the page did not become {state} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` in the webview and returns its result.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|err| panic!("script failed: {err}\n{script}"))
    }

    /// Ends the WebDriver session, then stops the driver and the app.
    pub async fn quit(self) {
        if let Err(err) = self.client.clone().close().await {
            eprintln!("closing the WebDriver session failed: {err}");
        }
    }
}

impl Drop for Driver {
    /// SIGTERM, not SIGKILL: tauri-driver then stops WebKitWebDriver, which otherwise lives on
    /// holding the test run's stdout open. The app is stopped too: closing its window only hides
    /// it in the tray, and a surviving instance would take over the next test's launch (Berth is
    /// single-instance).
    fn drop(&mut self) {
        let tree = descendants(self.0.id());
        terminate(self.0.id());
        let _ = self.0.wait();
        for pid in tree {
            terminate(pid);
        }
    }
}

async fn text_content(element: &Element) -> String {
    let text = element.prop("textContent").await.ok().flatten();
    text.unwrap_or_default().trim().to_owned()
}

/// Runs xdotool; its output, or None when it fails (a search that finds nothing fails).
fn xdotool(args: &[&str]) -> Option<String> {
    let out = Command::new("xdotool")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run xdotool: {err}\n{SETUP_HINT}"));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Every process below `root`, read from /proc (children before they are re-parented).
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    tree.split_off(1)
}

fn tauri_driver() -> std::path::PathBuf {
    let cargo_bin = std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".cargo/bin/tauri-driver"))
        .filter(|path| path.is_file());
    cargo_bin.unwrap_or_else(|| "tauri-driver".into())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a bound address").port()
}

async fn connect_when_ready(port: u16, native_port: u16, binary: &Path, args: &[&str]) -> Client {
    let deadline = Instant::now() + Duration::from_secs(30);
    let listening = |p: u16| TcpStream::connect(("127.0.0.1", p)).is_ok();
    while !(listening(port) && listening(native_port)) {
        assert!(
            Instant::now() < deadline,
            "tauri-driver or WebKitWebDriver did not listen within 30 s\n{SETUP_HINT}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let capabilities = serde_json::json!({
        "browserName": "wry",
        "tauri:options": { "application": binary, "args": args },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
    };
    // WebKitWebDriver waits for the app's window without a limit of its own.
    let mut builder = ClientBuilder::native();
    builder.capabilities(capabilities);
    let url = format!("http://127.0.0.1:{port}");
    match tokio::time::timeout(Duration::from_secs(60), builder.connect(&url)).await {
        Ok(Ok(client)) => client,
        Ok(Err(err)) => panic!("cannot open a WebDriver session on the app: {err}"),
        Err(_) => panic!(
            "no app window within 60 s: did {} exit at once (another instance running?)",
            binary.display()
        ),
    }
}

//! The window's projects list and command palette: stacks started by the real `docker compose`
//! (with their own `-f` and `--profile` sets, one of them after the window opened) are listed
//! and open with the files and profiles they run with; Ctrl+K runs a service's Restart from the
//! keyboard alone. Real app, real engine, real compose.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_tests::app::App;
use berth_tests::ssh::{HOST, Sshd};
use berth_tests::stacks::Cleanup;
use berth_tests::{docker, unique_project, workspace_binary};

const WAIT: Duration = Duration::from_secs(30);

/// A project's directory with its files, taken down and removed on drop.
struct Started {
    name: String,
    dir: PathBuf,
    files: Vec<PathBuf>,
    profiles: Vec<&'static str>,
    _down: Cleanup,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `files` (name, YAML) in a fresh directory and runs `docker compose -p NAME -f …
/// --profile … up -d` there.
fn compose_up(what: &str, files: &[(&str, &str)], profiles: &[&'static str]) -> Started {
    let name = unique_project(what);
    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).expect("the project's directory");
    let files: Vec<PathBuf> = (files.iter())
        .map(|(file, yaml)| {
            std::fs::write(dir.join(file), yaml).expect("a compose file");
            dir.join(file)
        })
        .collect();
    let started = Started {
        _down: Cleanup(name.clone()),
        name,
        dir,
        files,
        profiles: profiles.to_vec(),
    };
    let out = started.compose(&["up", "-d"]);
    assert!(
        out.status.success(),
        "docker compose up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started
}

impl Started {
    fn compose(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new("docker");
        command
            .current_dir(&self.dir)
            .args(["compose", "-p", &self.name]);
        for file in &self.files {
            command.arg("-f").arg(file);
        }
        for profile in &self.profiles {
            command.args(["--profile", profile]);
        }
        command.args(args).output().expect("docker compose")
    }

    /// The services compose enables with these files and profiles.
    fn services(&self) -> Vec<String> {
        let out = self.compose(&["config", "--services"]);
        let mut services: Vec<String> = (String::from_utf8_lossy(&out.stdout).lines())
            .map(str::to_owned)
            .collect();
        services.sort();
        services
    }
}

const SLEEPER: &str = "image: berth-test/busybox:1\n    command: [sleep, \"600\"]\n    \
                       stop_grace_period: 0s";

fn service(name: &str, extra: &str) -> String {
    format!("  {name}:\n    {SLEEPER}\n{extra}")
}

/// Waits until the header names `project` and the rows it shows that are not disabled by a
/// profile are `want`, by name.
async fn rows_when(app: &App, project: &str, want: &[String]) {
    app.text_when("[data-testid=project-name]", WAIT, |t| t == project)
        .await;
    let script = "return [...document.querySelectorAll('[data-testid=services] tr[data-service]')]\
                  .filter(r => !r.querySelector('[data-col=state]').textContent.includes('disabled'))\
                  .map(r => r.dataset.service).sort()";
    let deadline = Instant::now() + WAIT;
    loop {
        let rows: Vec<String> = serde_json::from_value(app.eval(script).await).expect("names");
        if rows == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{project}: rows {rows:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Unfolds the projects list (folded by itself in a window up to 1280 px wide).
async fn unfold(app: &App) {
    app.click("[data-testid=projects-toggle][aria-expanded=false]")
        .await;
}

fn files_text(files: &[PathBuf]) -> String {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    names.join(" + ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacks_compose_started_are_listed_and_open_with_their_files_and_profiles() {
    let plain = compose_up(
        "projects-plain",
        &[(
            "compose.yaml",
            &format!("services:\n{}", service("web", "")),
        )],
        &[],
    );
    let overridden = compose_up(
        "projects-override",
        &[
            (
                "compose.yaml",
                &format!("services:\n{}", service("web", "")),
            ),
            (
                "extra.yaml",
                &format!("services:\n{}", service("worker", "")),
            ),
        ],
        &[],
    );
    let app = App::launch(
        &workspace_binary("berth"),
        &[
            "-f",
            plain.files[0].to_str().expect("UTF-8"),
            "-p",
            &plain.name,
        ],
    )
    .await;
    unfold(&app).await;
    // Started after the window listed the projects: the engine's events bring it in.
    let profiled = compose_up(
        "projects-profile",
        &[(
            "compose.yaml",
            &format!(
                "services:\n{}{}{}",
                service("web", ""),
                service("tools", "    profiles: [debug]\n"),
                service("never", "    profiles: [other]\n"),
            ),
        )],
        &["debug"],
    );
    for started in [&plain, &overridden, &profiled] {
        let css = format!(
            "[data-testid=projects] [data-project=\"{}\"] [data-testid=project-state]",
            started.name
        );
        let want = format!("running({})", started.services().len());
        app.text_when(&css, WAIT, |t| t == want).await;
    }

    for started in [&overridden, &profiled, &plain] {
        show(&app, &started.name).await;
        rows_when(&app, &started.name, &started.services()).await;
        let files = files_text(&started.files);
        app.text_when("[data-testid=project-files]", WAIT, |t| t == files)
            .await;
    }
    app.quit().await;
}

/// The Berth window's X id, for keys typed as the user types them.
async fn window(app: &App) -> String {
    app.native_window_when("Berth", WAIT).await
}

fn started_at(container: &str) -> String {
    docker(&["inspect", "-f", "{{.State.StartedAt}}", container])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_k_finds_a_service_s_restart_and_enter_runs_it() {
    let started = compose_up(
        "projects-palette",
        &[(
            "compose.yaml",
            &format!("services:\n{}{}", service("web", ""), service("db", "")),
        )],
        &[],
    );
    let file = started.files[0].to_str().expect("UTF-8");
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file, "-p", &started.name],
    )
    .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;
    let container = format!("{}-web-1", started.name);
    let before = started_at(&container);

    let window = window(&app).await;
    app.press(&window, "ctrl+k");
    app.text_when("[data-testid=palette]", WAIT, |_| true).await;
    app.type_text(&window, "restart web");
    let shown = app
        .texts_when("[data-testid=palette-entry]", WAIT, |e| {
            e.first().map(String::as_str) == Some("Restart web")
        })
        .await;
    assert!(!shown.iter().any(|e| e.contains("db")), "{shown:?}");
    app.press(&window, "Return");

    let deadline = Instant::now() + WAIT;
    while started_at(&container) == before {
        assert!(Instant::now() < deadline, "{container} was not restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.eval("return !!document.querySelector('[data-testid=palette]')")
            .await,
        false
    );

    // Escape closes it without running anything.
    app.press(&window, "ctrl+k");
    app.text_when("[data-testid=palette]", WAIT, |_| true).await;
    app.press(&window, "Escape");
    let deadline = Instant::now() + WAIT;
    while app
        .eval("return !!document.querySelector('[data-testid=palette]')")
        .await
        == true
    {
        assert!(
            Instant::now() < deadline,
            "Escape did not close the palette"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.quit().await;
}

fn docker_state(container: &str) -> (String, String) {
    let out = docker(&["inspect", "-f", "{{.Id}} {{.State.Running}}", container]);
    let (id, running) = out.split_once(' ').expect("id and state");
    (id.to_owned(), running.to_owned())
}

/// Waits until `container` runs (or not); returns its id.
async fn running_when(container: &str, running: bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let (id, now) = docker_state(container);
        if now == running.to_string() {
            return id;
        }
        assert!(Instant::now() < deadline, "{container} running: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_whose_files_are_gone_opens_from_its_containers_and_stops_and_starts() {
    let open = compose_up(
        "projects-open",
        &[(
            "compose.yaml",
            &format!("services:\n{}", service("web", "")),
        )],
        &[],
    );
    let gone = compose_up(
        "projects-gone",
        &[(
            "compose.yaml",
            &format!("services:\n{}{}", service("web", ""), service("db", "")),
        )],
        &[],
    );
    std::fs::remove_file(&gone.files[0]).expect("remove the compose file");
    let file = open.files[0].to_str().expect("UTF-8");
    let app = App::launch(&workspace_binary("berth"), &["-f", file, "-p", &open.name]).await;
    unfold(&app).await;

    show(&app, &gone.name).await;
    rows_when(&app, &gone.name, &["db".to_owned(), "web".to_owned()]).await;
    let path = gone.files[0].display().to_string();
    app.text_when("[data-testid=files-missing]", WAIT, |t| t.contains(&path))
        .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;

    let web = format!("{}-web-1", gone.name);
    let id = running_when(&web, true).await;
    app.click("[data-testid=services] tr[data-service=web] [data-action=stop]")
        .await;
    running_when(&web, false).await;
    // Start starts the container there is: nothing is created without the files.
    app.click("[data-testid=services] tr[data-service=web] [data-action=start]")
        .await;
    assert_eq!(running_when(&web, true).await, id, "{web} was replaced");
    app.quit().await;
}

/// The host name ssh resolves `HOST` to with the test's config (`ssh -G`).
fn ssh_hostname(sshd: &Sshd) -> String {
    let out = Command::new("ssh")
        .env("PATH", sshd.path())
        .args(["-G", HOST])
        .output()
        .expect("ssh -G");
    let config = String::from_utf8_lossy(&out.stdout).into_owned();
    (config.lines())
        .find_map(|l| l.strip_prefix("hostname "))
        .expect("a hostname")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ssh_the_window_shows_the_rows_and_links_ports_to_the_remote_host() {
    let sshd = Sshd::start("window");
    let started = compose_up(
        "projects-ssh",
        &[(
            "compose.yaml",
            "services:\n  web:\n    image: berth-test/busybox:1\n    \
             command: [httpd, -f, -p, '8080']\n    ports: ['8080']\n    stop_grace_period: 0s\n",
        )],
        &[],
    );
    let out = started.compose(&["port", "web", "8080"]);
    let published = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let port = published.rsplit(':').next().expect("a port");
    let file = started.files[0].to_str().expect("UTF-8");
    let (host, path) = (format!("ssh://{HOST}"), sshd.path());
    let app = App::launch_with_env(
        &workspace_binary("berth"),
        &["-f", file, "-p", &started.name],
        &[("DOCKER_HOST", &host), ("PATH", &path)],
    )
    .await;
    app.text_when("[data-testid=engine-detail]", WAIT, |t| t.contains(&host))
        .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;
    let want = format!("http://{}:{port}", ssh_hostname(&sshd));
    let link = "return document.querySelector('[data-testid=services] tr[data-service=web] \
                [data-col=ports] a')?.getAttribute('href')";
    let deadline = Instant::now() + WAIT;
    while app.eval(link).await != want.as_str() {
        assert!(Instant::now() < deadline, "web's port link is not {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The projects list comes over the same engine.
    unfold(&app).await;
    let css = format!(
        "[data-testid=projects] [data-project=\"{}\"] [data-testid=project-state]",
        started.name
    );
    app.text_when(&css, WAIT, |t| t == "running(1)").await;
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_context_chosen_in_the_window_is_connected_to_and_named() {
    let sshd = Sshd::start("context");
    let started = compose_up(
        "projects-context",
        &[(
            "compose.yaml",
            &format!("services:\n{}", service("web", "")),
        )],
        &[],
    );
    // The docker CLI's config of the test's own, with a context for the sshd.
    let config = started.dir.join("docker-config");
    let context = format!("berth-test-ctx-{}", std::process::id());
    let out = Command::new("docker")
        .env("DOCKER_CONFIG", &config)
        .args(["context", "create", &context, "--docker"])
        .arg(format!("host=ssh://{HOST}"))
        .output()
        .expect("docker context create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let file = started.files[0].to_str().expect("UTF-8");
    let (path, config) = (sshd.path(), config.to_str().expect("UTF-8").to_owned());
    let app = App::launch_with_env(
        &workspace_binary("berth"),
        &["-f", file, "-p", &started.name],
        &[("PATH", &path), ("DOCKER_CONFIG", &config)],
    )
    .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;
    app.choose_engine_context(&context, &format!("ssh://{HOST}"), WAIT)
        .await;

    let host = format!("ssh://{HOST}");
    app.text_when("[data-testid=engine-detail]", WAIT, |t| t.contains(&host))
        .await;
    app.text_when("[data-testid=engine-status]", WAIT, |t| {
        t.contains(&context)
    })
    .await;
    app.cell_when("web", "state", WAIT, |t| t == "running")
        .await;
    app.quit().await;
}

/// A stack whose one service `talk` says `words` (one a line) and then sleeps.
fn talking(what: &str, words: &[&str]) -> Started {
    let said = words.join("; echo ");
    compose_up(
        what,
        &[(
            "compose.yaml",
            &format!(
                "services:\n  talk:\n    image: berth-test/busybox:1\n    command: [sh, -c, \"echo {said}; exec sleep 600\"]\n    stop_grace_period: 0s\n"
            ),
        )],
        &[],
    )
}

fn container_id(started: &Started) -> String {
    let out = started.compose(&["ps", "-q", "talk"]);
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(!id.is_empty(), "{}: no talk container", started.name);
    id
}

/// The app at `first`'s project, its engine behind a proxy that counts what it is asked.
async fn app_behind_proxy(first: &Started) -> (App, berth_tests::proxy::Proxy, PathBuf) {
    let dir = std::env::temp_dir().join(format!("{}-proxy", first.name));
    std::fs::create_dir_all(&dir).expect("the proxy's directory");
    let proxy = berth_tests::proxy::Proxy::start(
        &dir.join("proxy.sock"),
        std::path::Path::new("/var/run/docker.sock"),
    );
    let host = proxy.host();
    let app = App::launch_with_env(
        &workspace_binary("berth"),
        &[
            "-f",
            first.files[0].to_str().expect("UTF-8"),
            "-p",
            &first.name,
        ],
        &[("DOCKER_HOST", &host)],
    )
    .await;
    unfold(&app).await;
    (app, proxy, dir)
}

/// Opens a project from the list. The click is the row's own DOM click, not a pointer at its
/// position: the list reorders while the suite's other stacks come and go, and a pointer aimed
/// at a row can land on the one that has just moved into its place.
async fn show(app: &App, name: &str) {
    let script = format!(
        "const row = document.querySelector('[data-testid=projects] [data-project=\"{name}\"]');\
         if (row) row.click(); return row !== null"
    );
    let deadline = Instant::now() + WAIT;
    while app.eval(&script).await != serde_json::Value::Bool(true) {
        assert!(
            Instant::now() < deadline,
            "{name} is not in the projects list"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the header names `project`; the service rows and log rows drawn in that same
/// frame.
async fn first_frame_of(app: &App, project: &str) -> (Vec<String>, Vec<String>) {
    let script = format!(
        "return await new Promise(done => {{ const at = () => {{ \
           const name = document.querySelector('[data-testid=project-name]'); \
           if (!name || name.textContent.trim() !== {project:?}) return requestAnimationFrame(at); \
           done([[...document.querySelectorAll('[data-testid=services] tr[data-service]')].map(r => r.dataset.service), \
                 [...document.querySelectorAll('[data-testid=log-row] .text')].map(r => r.textContent)]); }}; at(); }})"
    );
    serde_json::from_value(app.eval(&script).await).expect("rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_back_to_a_warm_project_shows_its_rows_logs_and_search_without_reading_them_again()
 {
    let a = talking("warm-a", &["alpha-one", "alpha-two", "other-a"]);
    let b = talking("warm-b", &["bravo-one"]);
    let a_id = container_id(&a);
    let (app, proxy, dir) = app_behind_proxy(&a).await;
    let rows = "[data-testid=log-row] .text";
    app.texts_when(rows, WAIT, |r| r.iter().any(|t| t == "alpha-two"))
        .await;
    app.type_keys("[data-testid=log-search]", "alpha-two\u{E007}")
        .await;
    app.text_when("[data-testid=log-match-count]", WAIT, |t| {
        t == "1 matching line"
    })
    .await;

    show(&app, &b.name).await;
    rows_when(&app, &b.name, &["talk".to_owned()]).await;
    app.texts_when(rows, WAIT, |r| r.iter().any(|t| t == "bravo-one"))
        .await;
    let search = "return document.querySelector('[data-testid=log-search]').value";
    assert_eq!(app.eval(search).await, "", "B's viewer has its own search");

    let mark = proxy.mark();
    show(&app, &a.name).await;
    let (services, _) = first_frame_of(&app, &a.name).await;
    assert_eq!(services, ["talk"], "A's rows come with its name");
    app.texts_when(rows, WAIT, |r| r.iter().any(|t| t == "alpha-two"))
        .await;
    app.text_when("[data-testid=log-match-count]", WAIT, |t| {
        t == "1 matching line"
    })
    .await;
    assert_eq!(app.eval(search).await, "alpha-two", "A's search kept");
    let asked: Vec<String> = (proxy.requests_since(mark).into_iter())
        .filter(|r| r.contains(&a_id) && r.contains("/logs"))
        .collect();
    assert!(asked.is_empty(), "A's logs read again: {asked:?}");
    assert_eq!(proxy.open_log_streams(&a_id), 1, "A's logs still followed");
    app.quit().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_fifth_project_closes_the_least_recently_shown() {
    let stacks: Vec<Started> = (0..5)
        .map(|n| talking(&format!("warm-{n}"), &[&format!("from-{n}")]))
        .collect();
    let ids: Vec<String> = stacks.iter().map(container_id).collect();
    let (app, proxy, dir) = app_behind_proxy(&stacks[0]).await;
    let followed = |n: usize| proxy.open_log_streams(&ids[n]);
    let deadline = |what: &str| (Instant::now() + WAIT, what.to_owned());
    async fn until((deadline, what): (Instant, String), mut holds: impl FnMut() -> bool) {
        while !holds() {
            assert!(Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    until(deadline("the first project's logs followed"), || {
        followed(0) == 1
    })
    .await;
    // Shown 0, 1, 2, 3, then 0 again: 1 is the least recently shown.
    for n in [1, 2, 3, 0] {
        show(&app, &stacks[n].name).await;
        rows_when(&app, &stacks[n].name, &["talk".to_owned()]).await;
    }
    until(deadline("four projects warm"), || {
        (0..4).all(|n| followed(n) == 1)
    })
    .await;
    show(&app, &stacks[4].name).await;
    rows_when(&app, &stacks[4].name, &["talk".to_owned()]).await;
    until(deadline("the least recently shown closed"), || {
        followed(1) == 0 && [0, 2, 3, 4].iter().all(|&n| followed(n) == 1)
    })
    .await;
    app.quit().await;
    std::fs::remove_dir_all(&dir).ok();
}

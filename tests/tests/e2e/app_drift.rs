//! The desktop app follows edits of the compose file: an edited service reads "config changed"
//! and Recreate replaces its container alone; a broken edit shows its located error above the
//! rows, which stay; Rebuild of a `build:` service builds a new image and replaces its container
//! alone. On a copy of the fixture stack (the repository's is never edited), real app, real
//! engine.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use berth_tests::app::App;
use berth_tests::stacks::Cleanup;
use berth_tests::{docker, fixture, repo_root, unique_project, workspace_binary};

/// A service built from a tiny Dockerfile on a local image; its `stamp` is the source a
/// developer changes before a rebuild.
const TOOL: &str = r#"
  tool:
    build: ./tool
    command: ["sleep", "600"]
"#;

/// The fixture stack copied into a fresh directory, with `tool` and an environment value on
/// redis to edit; removed (with the images built for it) on drop.
struct Copy {
    dir: PathBuf,
    images: Vec<String>,
}

impl Copy {
    fn new(name: &str) -> Copy {
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(dir.join("frontend")).unwrap();
        std::fs::create_dir_all(dir.join("tool")).unwrap();
        for file in ["proxy.js", "index.html"] {
            std::fs::copy(
                fixture(&format!("stack/frontend/{file}")),
                dir.join("frontend").join(file),
            )
            .unwrap();
        }
        let backend = repo_root().join("src-tauri/resources/demo/backend");
        let yaml = std::fs::read_to_string(fixture("stack/compose.yaml"))
            .unwrap()
            .replace(
                "../../../src-tauri/resources/demo/backend",
                backend.to_str().unwrap(),
            )
            .replace(
                "  redis:\n    image: berth-test/redis:1\n",
                "  redis:\n    image: berth-test/redis:1\n    environment: { LEVEL: \"1\" }\n",
            )
            .replace("\nvolumes:\n", &format!("{TOOL}\nvolumes:\n"));
        std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
        std::fs::write(
            dir.join("tool/Dockerfile"),
            "FROM berth-test/busybox:1\nCOPY stamp /stamp\n",
        )
        .unwrap();
        std::fs::write(dir.join("tool/stamp"), "1\n").unwrap();
        Copy {
            dir,
            images: Vec::new(),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.join("compose.yaml")
    }

    fn edit(&self, from: &str, to: &str) {
        let yaml = std::fs::read_to_string(self.file()).unwrap();
        assert!(yaml.contains(from), "{from:?} is not in the file");
        std::fs::write(self.file(), yaml.replace(from, to)).unwrap();
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        for image in &self.images {
            let _ = Command::new("docker").args(["rmi", "-f", image]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The project's containers: name → (id, image id).
fn containers(project: &str) -> BTreeMap<String, (String, String)> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--format",
        "{{.Names}}",
    ]);
    // A recreate's temporary container can be gone between the listing and its inspect: it is
    // left out, as if listed a moment later.
    out.lines()
        .filter_map(|name| {
            let inspect = std::process::Command::new("docker")
                .args(["inspect", "--format", "{{.Id}} {{.Image}}", name])
                .output()
                .expect("docker inspect");
            let ids = String::from_utf8(inspect.stdout).expect("UTF-8");
            let (id, image) = ids.split_once(' ')?;
            Some((name.to_owned(), (id.to_owned(), image.trim().to_owned())))
        })
        .collect()
}

/// The names of the containers whose id differs between `before` and `after`.
fn replaced(
    before: &BTreeMap<String, (String, String)>,
    after: &BTreeMap<String, (String, String)>,
) -> Vec<String> {
    before
        .iter()
        .filter(|(name, (id, _))| after.get(*name).map(|a| &a.0) != Some(id))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The rows that read "config changed", once `ready` accepts them.
async fn drifted(app: &App, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
    let script = "return [...document.querySelectorAll(\
        '[data-testid=services] tr:has([data-testid=config-changed])')]\
        .map(r => r.dataset.service)";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<String> = serde_json::from_value(app.eval(script).await).expect("names");
        if ready(&rows) {
            return rows;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "config changed on {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn all_running(app: &App, services: &[&str], limit: Duration) {
    for service in services {
        app.cell_when(service, "state", limit, |t| t.starts_with("running"))
            .await;
    }
}

#[tokio::test]
async fn an_edit_marks_config_changed_recreate_clears_it_and_rebuild_replaces_one_container() {
    let name = unique_project("app-drift");
    // Dropped after the project is down, when no container holds its images.
    let mut copy = Copy::new(&name);
    let _cleanup = Cleanup(name.clone());
    copy.images.push(format!("{name}-tool"));
    let file = copy.file();
    let app = App::launch(
        &workspace_binary("berth"),
        &["-f", file.to_str().expect("UTF-8 path"), "-p", &name],
    )
    .await;
    let long = Duration::from_secs(120);
    let services = ["mongodb", "redis", "backend", "frontend", "tool"];

    app.click("[data-testid=start]").await;
    all_running(&app, &services, long).await;
    app.cell_when("frontend", "health", long, |t| t == "healthy")
        .await;
    assert_eq!(drifted(&app, |_| true).await, Vec::<String>::new());
    // Only the `build:` service can be rebuilt.
    let rebuildable = app
        .texts_when("[data-testid=services] [data-action=rebuild]", long, |_| {
            true
        })
        .await;
    assert_eq!(rebuildable.len(), 1);

    // An edit of one service's environment: that row alone reads "config changed".
    let before = containers(&name);
    copy.edit("LEVEL: \"1\"", "LEVEL: \"2\"");
    drifted(&app, |rows| rows == ["redis"]).await;
    app.click("[data-testid=services] tr[data-service=redis] [data-action=recreate]")
        .await;
    drifted(&app, <[String]>::is_empty).await;
    all_running(&app, &services, long).await;
    let after = containers(&name);
    assert_eq!(replaced(&before, &after), [format!("{name}-redis-1")]);
    let env = docker(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        &format!("{name}-redis-1"),
    ]);
    assert!(env.lines().any(|l| l == "LEVEL=2"), "{env}");

    // A broken edit: its located error above the table, the rows as they were; fixing clears it.
    let good = std::fs::read_to_string(&file).unwrap();
    let broken = good.replace("  redis:\n", "  redis:\n   - oops\n");
    let line = broken.lines().position(|l| l == "   - oops").unwrap() + 1;
    std::fs::write(&file, &broken).unwrap();
    let error = app
        .text_when("[data-testid=files-error]", long, |t| !t.is_empty())
        .await;
    let at = format!("{}:{line}:4", file.display());
    assert!(error.contains(&at), "located at {at}: {error}");
    assert!(error.contains("help: fix the YAML syntax"), "{error}");
    let rows = app
        .texts_when("[data-testid=services] tbody tr", long, |_| true)
        .await;
    assert_eq!(rows.len(), services.len(), "the rows stay");
    app.cell_when("redis", "state", long, |t| t.starts_with("running"))
        .await;
    std::fs::write(&file, &good).unwrap();
    app.texts_when("[data-testid=files-error]", long, <[String]>::is_empty)
        .await;

    // Rebuild after a change of the tool's source: a new image, and only its container replaced.
    std::fs::write(copy.dir.join("tool/stamp"), "2\n").unwrap();
    let before = containers(&name);
    let tool = format!("{name}-tool-1");
    app.click("[data-testid=services] tr[data-service=tool] [data-action=rebuild]")
        .await;
    let deadline = std::time::Instant::now() + long;
    let after = loop {
        let now = containers(&name);
        if now.get(&tool).is_some_and(|t| t.0 != before[&tool].0) {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "tool was not rebuilt");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    copy.images.push(before[&tool].1.clone());
    assert_ne!(after[&tool].1, before[&tool].1, "a new image");
    assert_eq!(replaced(&before, &after), [tool.as_str()]);
    let stamp = docker(&["exec", &tool, "cat", "/stamp"]);
    assert_eq!(stamp.trim(), "2");
    all_running(&app, &services, long).await;
    assert_eq!(drifted(&app, |_| true).await, Vec::<String>::new());
    app.quit().await;
}

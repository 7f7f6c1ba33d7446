//! Stacks for the engine's tests: a compose file written to a temporary directory, loaded with
//! berth-compose, run through Berth's [`Stack`], and taken down (with volumes) when dropped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use berth_engine::berth_compose::{self, LoadOptions, Project};
use berth_engine::{Container, Progress, Stack, StackError, UpOptions};

use crate::{engine, unique_project};

/// A project in its own directory; `docker compose -p NAME down -v` runs on drop.
pub struct TestStack {
    pub name: String,
    pub dir: PathBuf,
    pub stack: Stack,
    _cleanup: Cleanup,
}

/// Takes project `name` down (containers, networks, volumes) when dropped, whoever made it.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args([
                "compose",
                "-p",
                &self.0,
                "down",
                "-v",
                "-t",
                "0",
                "--remove-orphans",
            ])
            .output();
    }
}

impl TestStack {
    /// Writes `yaml` as `compose.yaml` in a fresh directory and loads it as project `what`.
    pub async fn new(what: &str, yaml: &str) -> TestStack {
        let name = unique_project(what);
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).expect("create the project directory");
        std::fs::write(dir.join("compose.yaml"), yaml).expect("write compose.yaml");
        let stack = Stack::new(engine().await, load(&dir, &name));
        TestStack {
            _cleanup: Cleanup(name.clone()),
            name,
            dir,
            stack,
        }
    }

    /// The file, for `docker compose -f` and `berthctl -f`.
    pub fn file(&self) -> PathBuf {
        self.dir.join("compose.yaml")
    }

    /// Replaces the compose file and reloads the project.
    pub fn rewrite(&mut self, yaml: &str) {
        std::fs::write(self.file(), yaml).expect("write compose.yaml");
        self.stack = Stack::new(self.stack.engine().clone(), load(&self.dir, &self.name));
    }

    pub async fn up(&self, opts: UpOptions) -> Result<(), StackError> {
        self.stack.up(&opts, &Progress::default()).await
    }

    /// `up --wait` of every service, which must succeed.
    pub async fn up_wait(&self) {
        let opts = UpOptions {
            wait: true,
            ..Default::default()
        };
        if let Err(e) = self.up(opts).await {
            panic!("up --wait of {} failed: {e}", self.name);
        }
    }

    /// Every container of the project, stopped ones too.
    pub async fn containers(&self) -> Vec<Container> {
        self.stack.ps(true).await.expect("list the containers")
    }

    /// The ids of the project's containers by name.
    pub async fn ids(&self) -> BTreeMap<String, String> {
        self.containers()
            .await
            .into_iter()
            .map(|c| (c.name, c.id))
            .collect()
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Loads the project in `dir` under `name`, as `berthctl -p NAME` would.
pub fn load(dir: &std::path::Path, name: &str) -> Project {
    let mut options = LoadOptions::new(dir, std::env::vars().collect());
    options.project_name = Some(name.to_owned());
    berth_compose::load(&options).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// A host port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// The next change from a state subscription that `wanted` accepts, within `limit`; panics naming
/// `what` if none comes.
pub async fn next_change(
    changes: &mut tokio::sync::broadcast::Receiver<berth_engine::Change>,
    what: &str,
    limit: std::time::Duration,
    wanted: impl Fn(&berth_engine::ChangeKind) -> bool,
) -> berth_engine::ChangeKind {
    let found = tokio::time::timeout(limit, async {
        loop {
            let change = changes.recv().await.expect("the model runs");
            if wanted(&change.kind) {
                return change.kind;
            }
        }
    });
    found
        .await
        .unwrap_or_else(|_| panic!("no {what} within {limit:?}"))
}

/// Waits for the model to report the engine unavailable, as the outage tests make it.
pub async fn engine_unavailable(
    changes: &mut tokio::sync::broadcast::Receiver<berth_engine::Change>,
    limit: std::time::Duration,
) {
    next_change(changes, "unavailable", limit, |k| {
        matches!(
            k,
            berth_engine::ChangeKind::Engine {
                state: berth_engine::EngineState::Unavailable { .. }
            }
        )
    })
    .await;
}

/// The snapshot of the model's next resync, after the engine came back.
pub async fn resynced(
    changes: &mut tokio::sync::broadcast::Receiver<berth_engine::Change>,
    limit: std::time::Duration,
) -> berth_engine::Snapshot {
    let resynced = next_change(changes, "resync", limit, |k| {
        matches!(k, berth_engine::ChangeKind::Resynced { .. })
    })
    .await;
    let berth_engine::ChangeKind::Resynced { snapshot } = resynced else {
        unreachable!()
    };
    *snapshot
}

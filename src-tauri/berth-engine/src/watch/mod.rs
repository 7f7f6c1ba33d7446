//! Watch mode: compose's `develop.watch` run against a project's running services, as
//! `docker compose watch` runs it (docker/compose `pkg/compose/watch.go`): file events from
//! inotify, batched until the files are quiet, then per service a rebuild, the sync of changed
//! files into its containers, a restart and `exec` hooks, in that order. A failure is told as an
//! event and the watch goes on: the next change is tried again.
//!
//! Where Berth differs: a batch is taken after [`QUIET`] without events (compose waits 500 ms),
//! so a save reaches the container sooner; `.git` and `node_modules` are never watched nor
//! synced; a step that fails is told for its service and the other services' steps still run.

mod actions;
mod config;
mod rules;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Stack;
use crate::error::StackError;
use crate::exec::Chunk;
use crate::file_watch::QUIET;
use crate::progress::Progress;
use crate::watch::config::Action;
use crate::watch::rules::{Mapping, Rule};
use crate::watch::tree::Tree;

/// What to watch.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Services to watch; empty: every one with `develop.watch`.
    pub services: Vec<String>,
    /// After a rebuild, remove the image the service ran before, once nothing uses it.
    pub prune: bool,
}

/// Something watch mode did for a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchEvent {
    pub service: String,
    #[serde(flatten)]
    pub kind: WatchEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchEventKind {
    /// Its paths are watched.
    Watching,
    Syncing {
        files: usize,
    },
    Synced {
        files: usize,
    },
    Rebuilding,
    Rebuilt,
    Restarting,
    Restarted,
    /// Output of a `sync+exec` hook, as it comes: `bytes` of its stdout, or of its stderr.
    Output {
        stderr: bool,
        bytes: Vec<u8>,
    },
    /// A `sync+exec` hook ended with `code` in one of its containers.
    Executed {
        code: i64,
    },
    /// A step failed; the watch goes on.
    Failed {
        message: String,
    },
}

/// What one batch asks of one service.
#[derive(Default)]
struct Work {
    rebuild: bool,
    restart: bool,
    sync: BTreeSet<Mapping>,
    /// Indexes into the rules of the `sync+exec` triggers hit.
    hooks: BTreeSet<usize>,
}

impl Stack {
    /// Runs watch mode over the running services until `cancel` fires, telling what it does on
    /// `events`. Fails at the start only: a service without `develop.watch` named, none having
    /// one, a wrong `develop.watch` entry, or a path that cannot be watched.
    pub async fn develop_watch(
        &self,
        options: WatchOptions,
        events: mpsc::Sender<WatchEvent>,
        cancel: CancellationToken,
    ) -> Result<(), StackError> {
        let rules = self.watch_rules(&options.services)?;
        let watcher = Watcher {
            stack: self,
            rules,
            events,
            prune: options.prune,
            cancel,
        };
        watcher.run().await
    }

    /// The services that have a `develop.watch` section: those watch mode can watch.
    pub fn watch_services(&self) -> Vec<String> {
        (self.project().services.iter())
            .filter(|(_, s)| s.watches())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The rules of the services asked for, or of all that have `develop.watch`.
    fn watch_rules(&self, services: &[String]) -> Result<Vec<Rule>, StackError> {
        let names = self.names(services)?;
        let mut out = Vec::new();
        for name in &names {
            let Some(service) = (self.project().services.get(name))
                .or_else(|| self.project().disabled_services.get(name))
            else {
                continue;
            };
            let triggers = config::triggers(service).map_err(|reason| StackError::WatchConfig {
                service: name.clone(),
                reason,
            })?;
            out.extend(rules::rules(name, service, triggers));
        }
        if out.is_empty() {
            return Err(StackError::NothingToWatch {
                services: services.to_vec(),
            });
        }
        Ok(out)
    }
}

struct Watcher<'a> {
    stack: &'a Stack,
    rules: Vec<Rule>,
    events: mpsc::Sender<WatchEvent>,
    prune: bool,
    cancel: CancellationToken,
}

impl Watcher<'_> {
    async fn run(&self) -> Result<(), StackError> {
        let watch_failed = |path: &Path, e: notify::Error| StackError::WatchPath {
            path: path.to_path_buf(),
            reason: match e.kind {
                notify::ErrorKind::MaxFilesWatch => "the system's limit of inotify watches is \
                    reached; raise it (sysctl fs.inotify.max_user_watches) or `ignore:` more \
                    directories"
                    .to_owned(),
                _ => e.to_string(),
            },
        };
        let first = &self.rules[0].trigger.path;
        let (mut tree, mut raw) = Tree::new().map_err(|e| watch_failed(first, e))?;
        // compose's initial_sync: every file a sync trigger takes, before watching.
        let initial = |r: &Rule| r.trigger.initial_sync && r.action().syncs();
        let initial_sync = self.rules.iter().any(initial);
        let mut found = BTreeSet::new();
        for rule in &self.rules {
            let root = existing_dir(&rule.trigger.path);
            found.extend(
                tree.add(&root, &self.rules, initial_sync)
                    .map_err(|e| watch_failed(&root, e))?,
            );
        }
        if initial_sync {
            let mut batch = self.work(found.iter(), initial);
            for work in batch.values_mut() {
                work.restart = false;
                work.hooks.clear();
            }
            self.handle(batch).await;
        }
        let services: BTreeSet<&str> = self.rules.iter().map(|r| r.service.as_str()).collect();
        for service in services {
            self.tell(service, WatchEventKind::Watching).await;
        }

        let mut pending: BTreeSet<PathBuf> = BTreeSet::new();
        let mut deadline = Instant::now();
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return Ok(()),
                event = raw.recv() => {
                    let Some(event) = event else { return Ok(()) };
                    pending.extend(tree.changed(event, &self.rules));
                    deadline = Instant::now() + QUIET;
                }
                () = tokio::time::sleep_until(deadline), if !pending.is_empty() => {
                    let paths = std::mem::take(&mut pending);
                    let work = self.work(paths.iter(), |_| true);
                    self.handle(work).await;
                }
            }
        }
    }

    /// What `paths` ask of each service, by the rules `which` selects.
    fn work<'p>(
        &self,
        paths: impl Iterator<Item = &'p PathBuf>,
        which: impl Fn(&Rule) -> bool,
    ) -> BTreeMap<String, Work> {
        let mut out: BTreeMap<String, Work> = BTreeMap::new();
        for path in paths {
            for (i, rule) in self.rules.iter().enumerate() {
                if !which(rule) {
                    continue;
                }
                let Some(mapping) = rule.matches(path) else {
                    continue;
                };
                let work = out.entry(rule.service.clone()).or_default();
                match rule.action() {
                    Action::Rebuild => work.rebuild = true,
                    Action::Restart => work.restart = true,
                    Action::Sync => {
                        work.sync.insert(mapping);
                    }
                    Action::SyncRestart => {
                        work.sync.insert(mapping);
                        work.restart = true;
                    }
                    Action::SyncExec => {
                        work.sync.insert(mapping);
                        work.hooks.insert(i);
                    }
                }
            }
        }
        out
    }

    /// Does a batch: for each service its rebuild, sync, restart and hooks. A step that fails
    /// ends that service's part of the batch.
    async fn handle(&self, batch: BTreeMap<String, Work>) {
        for (service, work) in batch {
            if let Err(message) = self.service_batch(&service, work).await {
                self.tell(&service, WatchEventKind::Failed { message })
                    .await;
            }
        }
    }

    async fn service_batch(&self, service: &str, work: Work) -> Result<(), String> {
        let stack = self.stack;
        let names = [service.to_owned()];
        if work.rebuild {
            self.tell(service, WatchEventKind::Rebuilding).await;
            let before = self.image_id(service).await;
            stack
                .rebuild_cancellable(&names, &Progress::default(), &self.cancel)
                .await
                .map_err(|e| format!("rebuild failed: {e}"))?;
            if self.prune
                && let Some(old) = before
            {
                self.prune_image(&old).await;
            }
            self.tell(service, WatchEventKind::Rebuilt).await;
        }
        if !work.sync.is_empty() {
            let files = work.sync.len();
            let mappings: Vec<Mapping> = work.sync.into_iter().collect();
            self.tell(service, WatchEventKind::Syncing { files }).await;
            actions::sync(stack, service, &mappings).await?;
            self.tell(service, WatchEventKind::Synced { files }).await;
        }
        if work.restart {
            self.tell(service, WatchEventKind::Restarting).await;
            stack
                .restart(&names, &Progress::default())
                .await
                .map_err(|e| format!("restart failed: {e}"))?;
            self.tell(service, WatchEventKind::Restarted).await;
        }
        for i in work.hooks {
            let Some(hook) = &self.rules[i].trigger.exec else {
                continue;
            };
            let (output, mut chunks) = mpsc::channel(16);
            let tell_output = async {
                while let Some(chunk) = chunks.recv().await {
                    let (stderr, bytes) = match chunk {
                        Chunk::Stdout(b) => (false, b.to_vec()),
                        Chunk::Stderr(b) => (true, b.to_vec()),
                    };
                    self.tell(service, WatchEventKind::Output { stderr, bytes })
                        .await;
                }
            };
            let (codes, ()) = tokio::join!(
                actions::exec_hook(stack, service, hook, output),
                tell_output
            );
            for code in codes? {
                self.tell(service, WatchEventKind::Executed { code }).await;
            }
        }
        Ok(())
    }

    /// The id of the image `service` is built as, if there is one yet.
    async fn image_id(&self, service: &str) -> Option<String> {
        let name = crate::names::image_name(self.stack.project(), service);
        let docker = self.stack.engine().docker();
        docker.inspect_image(&name).await.ok()?.id
    }

    /// Removes the image a rebuild replaced, unless something still uses or names it: the
    /// engine refuses those, which is as it should be.
    async fn prune_image(&self, id: &str) {
        let docker = self.stack.engine().docker();
        if let Err(e) = docker
            .remove_image(
                id,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
        {
            tracing::debug!("kept the image {id} a rebuild replaced: {e}");
        }
    }

    async fn tell(&self, service: &str, kind: WatchEventKind) {
        let event = WatchEvent {
            service: service.to_owned(),
            kind,
        };
        // Nobody listening does not stop the watch: the window may come back.
        let _ = self.events.send(event).await;
    }
}

/// `path` when it is a directory, else its nearest existing directory: a file's changes, or
/// a path not there yet appearing, are seen from there.
fn existing_dir(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("/"))
        .to_path_buf()
}

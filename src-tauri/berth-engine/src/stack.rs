//! A project on an engine: the one async API berthctl and the app drive.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use berth_compose::Project;
use bollard::query_parameters::{KillContainerOptions, RemoveContainerOptions};
use futures_util::future;
use tokio_util::sync::CancellationToken;

use crate::containers::{self, Container, Listed};
use crate::converge::{self, UpOptions};
use crate::create;
use crate::error::{StackError, gather, not_found, not_running};
use crate::images;
use crate::progress::Progress;
use crate::state::{self, StateHandle};
use crate::{Engine, resources};

/// What `down` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Also remove named volumes (and containers' anonymous ones).
    pub volumes: bool,
    /// Also remove containers of services no longer in the project.
    pub remove_orphans: bool,
}

/// What `rm` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct RmOptions {
    /// Stop running containers first; without it only stopped containers are removed.
    pub stop: bool,
    /// Remove the containers' anonymous volumes.
    pub volumes: bool,
}

/// A compose project on a Docker engine.
#[derive(Debug, Clone)]
pub struct Stack {
    engine: Engine,
    project: Arc<Project>,
}

type Result<T> = std::result::Result<T, StackError>;

/// A service name the project does not define, with the names it does.
pub(crate) fn no_such_service(project: &Project, service: &str) -> StackError {
    let mut known: Vec<String> = (project.services.keys())
        .chain(project.disabled_services.keys())
        .cloned()
        .collect();
    known.sort();
    StackError::NoSuchService {
        service: service.to_owned(),
        project: project.name.clone(),
        known,
    }
}

impl Stack {
    pub fn new(engine: Engine, project: Project) -> Stack {
        Stack {
            engine,
            project: Arc::new(project),
        }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The project narrowed to `services` and what they depend on, like compose: naming a
    /// service whose profile is inactive enables it. Empty `services` means every enabled one.
    fn selection(&self, services: &[String]) -> Result<Project> {
        let mut project = (*self.project).clone();
        if services.is_empty() {
            return Ok(project);
        }
        for s in services {
            if let Some(disabled) = project.disabled_services.remove(s) {
                project.services.insert(s.clone(), disabled);
            } else if !project.services.contains_key(s) {
                return Err(no_such_service(&self.project, s));
            }
        }
        let keep = project.with_dependencies(services.iter().map(String::as_str));
        project.services.retain(|name, _| keep.contains(name));
        Ok(project)
    }

    /// Services named, or all; unknown names are an error.
    pub(crate) fn names(&self, services: &[String]) -> Result<BTreeSet<String>> {
        if services.is_empty() {
            return Ok(self.project.services.keys().cloned().collect());
        }
        for s in services {
            if !self.project.defines(s) {
                return Err(no_such_service(&self.project, s));
            }
        }
        Ok(services.iter().cloned().collect())
    }

    /// Brings the selected services up: see [`UpOptions`].
    pub async fn up(&self, opts: &UpOptions, progress: &Progress) -> Result<()> {
        self.up_cancellable(opts, progress, &CancellationToken::new())
            .await
    }

    /// [`Stack::up`], stopped cleanly when `cancel` fires: waits are abandoned and nothing new is
    /// created or started, while a request already sent to the engine is seen through (so none
    /// lands after what the caller does next); the error lists every container, network and
    /// volume this `up` had created by then.
    pub async fn up_cancellable(
        &self,
        opts: &UpOptions,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let project = self.selection(&opts.services)?;
        // Before anything is created: a taken host port would fail halfway through.
        crate::ports::ensure_free(&self.engine, &project).await?;
        let before = self.inventory().await?;
        let result = converge::up(
            &self.engine,
            &project,
            &self.project,
            opts,
            progress,
            cancel,
        )
        .await;
        // A real failure says more than the cancel that came with it (the engine gone, a port).
        match result {
            Ok(()) | Err(StackError::Cancelled { .. }) if cancel.is_cancelled() => {
                let after = self.inventory().await?;
                Err(StackError::Cancelled {
                    created: after.difference(&before).cloned().collect(),
                })
            }
            result => result,
        }
    }

    /// Builds the images of `services` (each must have `build:`), then brings those services up
    /// as [`Stack::up_cancellable`] does, which recreates their containers on the new images.
    /// What they depend on is brought up as well (its images not rebuilt) and what depends on
    /// them is left alone, as `docker compose up SERVICE` does. Cancelling abandons the build.
    pub async fn rebuild_cancellable(
        &self,
        services: &[String],
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<()> {
        for name in self.names(services)? {
            if self
                .project
                .services
                .get(&name)
                .is_none_or(|s| s.build.is_none())
            {
                return Err(StackError::NothingToBuild { service: name });
            }
        }
        tokio::select! {
            built = self.build(services, progress) => built?,
            () = cancel.cancelled() => return Err(StackError::Cancelled { created: Vec::new() }),
        }
        let options = UpOptions {
            services: services.to_vec(),
            ..UpOptions::default()
        };
        self.up_cancellable(&options, progress, cancel).await
    }

    /// The project's containers, networks and volumes by kind and name.
    async fn inventory(&self) -> Result<BTreeSet<String>> {
        let docker = self.engine.docker();
        let name = &self.project.name;
        let fail = |e| StackError::docker(&self.engine, name, "list the project's resources", e);
        let filters = Some(crate::labels::filters(name));
        let (containers, networks, volumes) = tokio::try_join!(
            containers::list(&self.engine, name),
            docker.list_networks(Some(bollard::query_parameters::ListNetworksOptions {
                filters: filters.clone(),
            })),
            docker.list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
                filters,
            })),
        )
        .map_err(fail)?;
        let mut out = BTreeSet::new();
        out.extend(
            containers
                .into_iter()
                .map(|c| format!("container {}", Listed::from_summary(c).name)),
        );
        out.extend(
            networks
                .into_iter()
                .filter_map(|n| Some(format!("network {}", n.name?))),
        );
        out.extend(
            volumes
                .volumes
                .into_iter()
                .flatten()
                .map(|v| format!("volume {}", v.name)),
        );
        Ok(out)
    }

    async fn listed(&self) -> Result<Vec<Listed>> {
        Ok(containers::list(&self.engine, &self.project.name)
            .await
            .map_err(|e| {
                StackError::docker(
                    &self.engine,
                    &self.project.name,
                    "list the project's containers",
                    e,
                )
            })?
            .into_iter()
            .map(Listed::from_summary)
            .collect())
    }

    fn stop_timeout(&self, service: &str) -> Option<i64> {
        self.project
            .services
            .get(service)
            .or_else(|| self.project.disabled_services.get(service))
            .and_then(create::stop_timeout)
    }

    /// Stops those of `containers` that belong to `services`, group by group as
    /// [`Stack::stop_groups`] orders them, each group in parallel. A container that fails to
    /// stop holds up none of the others: every stop is attempted, and the errors reported.
    async fn stop_in_order<'a>(
        &self,
        containers: impl Iterator<Item = &'a Listed> + Clone,
        services: &BTreeSet<String>,
        progress: &Progress,
    ) -> Result<()> {
        let mut results = Vec::new();
        for group in self.stop_groups(services) {
            let stops = containers
                .clone()
                .filter(|c| group.contains(&c.service))
                .map(|c| {
                    containers::stop_container(
                        &self.engine,
                        &c.service,
                        &c.id,
                        &c.name,
                        self.stop_timeout(&c.service),
                        progress,
                    )
                });
            results.extend(future::join_all(stops).await);
        }
        gather(results)
    }

    /// Services in reverse dependency order, grouped so each group only depends on later ones.
    fn stop_groups(&self, services: &BTreeSet<String>) -> Vec<Vec<String>> {
        let order = self.project.start_order();
        let mut remaining: Vec<String> = order
            .into_iter()
            .rev()
            .filter(|s| services.contains(s))
            .collect();
        // Unknown services (orphans) have no dependencies: they stop first.
        let known: BTreeSet<&String> = self.project.services.keys().collect();
        let mut groups = vec![
            services
                .iter()
                .filter(|s| !known.contains(s))
                .cloned()
                .collect::<Vec<_>>(),
        ];
        while !remaining.is_empty() {
            let (ready, rest): (Vec<String>, Vec<String>) =
                remaining.iter().cloned().partition(|s| {
                    !remaining
                        .iter()
                        .any(|other| self.project.services[other].depends_on.contains_key(s))
                });
            if ready.is_empty() {
                groups.push(rest);
                break;
            }
            groups.push(ready);
            remaining = rest;
        }
        groups.retain(|g| !g.is_empty());
        groups
    }

    /// Stops and removes the project's containers in reverse dependency order, then its
    /// networks, and with `volumes` its named volumes.
    pub async fn down(&self, opts: &DownOptions, progress: &Progress) -> Result<()> {
        let listed = self.listed().await?;
        let orphans: Vec<&Listed> = listed
            .iter()
            .filter(|c| !self.project.defines(&c.service))
            .collect();
        if !opts.remove_orphans && !orphans.is_empty() {
            let names: Vec<&str> = orphans.iter().map(|o| o.name.as_str()).collect();
            progress.warn(format!(
                "Found orphan containers ({}) for this project; run with --remove-orphans to remove them.",
                names.join(", ")
            ));
        }
        let services: BTreeSet<String> = listed
            .iter()
            .filter(|c| opts.remove_orphans || self.project.defines(&c.service))
            .map(|c| c.service.clone())
            .collect();
        self.stop_in_order(listed.iter(), &services, progress)
            .await?;
        future::try_join_all(listed.iter().filter(|c| services.contains(&c.service)).map(
            |c| async move {
                progress.container(&c.name, "Removing");
                let options = RemoveContainerOptions {
                    force: true,
                    v: opts.volumes,
                    ..Default::default()
                };
                match self
                    .engine
                    .docker()
                    .remove_container(&c.id, Some(options))
                    .await
                {
                    Ok(()) => {}
                    Err(e) if not_found(&e) => {}
                    Err(e) => {
                        return Err(StackError::docker(
                            &self.engine,
                            &c.service,
                            format!("remove container {}", c.name),
                            e,
                        ));
                    }
                }
                progress.container(&c.name, "Removed");
                Ok::<(), StackError>(())
            },
        ))
        .await?;
        resources::remove_networks(&self.engine, &self.project.name, progress).await?;
        if opts.volumes {
            resources::remove_volumes(&self.engine, &self.project.name, progress).await?;
        }
        Ok(())
    }

    /// Starts the services' existing containers, in dependency order.
    pub async fn start(&self, services: &[String], progress: &Progress) -> Result<()> {
        let names = self.names(services)?;
        let listed = self.listed().await?;
        for group in self.stop_groups(&names).into_iter().rev() {
            future::try_join_all(
                listed
                    .iter()
                    .filter(|c| group.contains(&c.service) && !c.oneoff)
                    .map(|c| {
                        containers::start_container(
                            &self.engine,
                            &c.service,
                            &c.id,
                            &c.name,
                            progress,
                        )
                    }),
            )
            .await?;
        }
        Ok(())
    }

    /// Stops the services' containers (dependents first), each with its `stop_grace_period`;
    /// the signal is the container's `stop_signal`.
    pub async fn stop(&self, services: &[String], progress: &Progress) -> Result<()> {
        let names = self.names(services)?;
        let listed = self.listed().await?;
        self.stop_in_order(listed.iter().filter(|c| c.running), &names, progress)
            .await
    }

    /// Stops then starts the services' containers.
    pub async fn restart(&self, services: &[String], progress: &Progress) -> Result<()> {
        self.stop(services, progress).await?;
        self.start(services, progress).await
    }

    /// Sends `signal` (default SIGKILL) to the services' running containers. One that stopped
    /// or went away meanwhile is done with; a failure holds up none of the other kills.
    pub async fn kill(
        &self,
        services: &[String],
        signal: Option<&str>,
        progress: &Progress,
    ) -> Result<()> {
        let names = self.names(services)?;
        let listed = self.listed().await?;
        let kills = listed
            .iter()
            .filter(|c| names.contains(&c.service) && c.running)
            .map(|c| async move {
                progress.container(&c.name, "Killing");
                let options = KillContainerOptions {
                    signal: signal.unwrap_or("SIGKILL").to_owned(),
                };
                match self
                    .engine
                    .docker()
                    .kill_container(&c.id, Some(options))
                    .await
                {
                    Ok(()) => progress.container(&c.name, "Killed"),
                    Err(e) if not_running(&e) || not_found(&e) => {
                        progress.container(&c.name, "Stopped");
                    }
                    Err(e) => {
                        let action = format!("kill container {}", c.name);
                        return Err(StackError::docker(&self.engine, &c.service, action, e));
                    }
                }
                Ok(())
            });
        gather(future::join_all(kills).await)
    }

    /// Removes the services' stopped containers (with `stop`, running ones too).
    pub async fn rm(
        &self,
        services: &[String],
        opts: &RmOptions,
        progress: &Progress,
    ) -> Result<()> {
        let names = self.names(services)?;
        if opts.stop {
            self.stop(services, progress).await?;
        }
        let listed = self.listed().await?;
        future::try_join_all(
            listed
                .iter()
                .filter(|c| names.contains(&c.service) && !c.running)
                .map(|c| async move {
                    progress.container(&c.name, "Removing");
                    let options = RemoveContainerOptions {
                        v: opts.volumes,
                        ..Default::default()
                    };
                    self.engine
                        .docker()
                        .remove_container(&c.id, Some(options))
                        .await
                        .map_err(|e| {
                            StackError::docker(
                                &self.engine,
                                &c.service,
                                format!("remove container {}", c.name),
                                e,
                            )
                        })?;
                    progress.container(&c.name, "Removed");
                    Ok::<(), StackError>(())
                }),
        )
        .await?;
        Ok(())
    }

    /// Pulls the images of the services that name one (`image:`), in parallel.
    pub async fn pull(&self, services: &[String], progress: &Progress) -> Result<()> {
        let names = self.names(services)?;
        let project = self.selection(&names.iter().cloned().collect::<Vec<_>>())?;
        let images: HashMap<String, String> = names
            .iter()
            .filter_map(|s| Some((project.services.get(s)?.image.clone()?, s.clone())))
            .collect();
        future::try_join_all(
            images
                .iter()
                .map(|(image, service)| images::pull_image(&self.engine, service, image, progress)),
        )
        .await?;
        Ok(())
    }

    /// Builds the images of the services with `build:`.
    pub async fn build(&self, services: &[String], progress: &Progress) -> Result<()> {
        let names = self.names(services)?;
        let project = self.selection(&names.iter().cloned().collect::<Vec<_>>())?;
        for name in names
            .iter()
            .filter(|n| project.services.get(*n).is_some_and(|s| s.build.is_some()))
        {
            images::build_image(&self.engine, &project, name, progress).await?;
        }
        Ok(())
    }

    /// The project's containers (all of them, or only running ones), inspected.
    pub async fn ps(&self, all: bool) -> Result<Vec<Container>> {
        let mut list = containers::inspect_all(&self.engine, &self.project.name)
            .await
            .map_err(|e| {
                StackError::docker(
                    &self.engine,
                    &self.project.name,
                    "inspect the project's containers",
                    e,
                )
            })?;
        if !all {
            list.retain(Container::running);
        }
        // Who stopped what, as the state model knows it: a stop asked for reads `stopped`.
        state::recall_stop_requests(&self.engine, &self.project.name, &mut list).await;
        Ok(list)
    }

    /// The live state model of this project: a snapshot, then ordered changes.
    pub fn watch(&self) -> StateHandle {
        StateHandle::spawn(self.engine.clone(), (*self.project).clone())
    }
}

//! `up`: bring the selected services to running, up-to-date containers. Images first, then
//! networks and volumes, then every service at once: each creates its containers right away and
//! starts them once its dependencies meet their `depends_on` conditions, so independent services
//! proceed in parallel and dependents wait only for what they need.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_compose::Project;
use bollard::query_parameters::{CreateContainerOptions, RenameContainerOptions};
use futures_util::future::{self, BoxFuture, FutureExt, Shared};
use tokio_util::sync::CancellationToken;

use crate::containers::{self, Listed, remove_container, start_container, stop_container};
use crate::create::{self, ContainerSpec};
use crate::error::StackError;
use crate::images::{self, PullPolicy};
use crate::plan::{self, Existing, Step};
use crate::progress::Progress;
use crate::{Engine, labels, names, resources, wait};

/// What `up` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Services to bring up (with their dependencies); empty means all.
    pub services: Vec<String>,
    /// Wait until every selected service runs (and is healthy, if it has a health check).
    pub wait: bool,
    /// Give up waiting after this long.
    pub wait_timeout: Option<Duration>,
    /// Build images of services with `build:` even if present.
    pub build: bool,
    /// Overrides each service's `pull_policy`.
    pub pull: Option<PullPolicy>,
    /// Recreate containers even if their configuration did not change.
    pub force_recreate: bool,
    /// Remove containers of services no longer in the project.
    pub remove_orphans: bool,
}

/// A service's outcome, shared with its dependents: whether its containers were replaced (which
/// restarts dependents that ask for it with `restart: true`), or why it failed.
type Outcome = Shared<BoxFuture<'static, Result<bool, String>>>;

/// Brings `project` (already narrowed to the selected services) up. When `cancel` fires, what
/// only waits (pulls, builds, dependencies, `--wait`) is abandoned and no container is created
/// or started anew, but a request already sent is seen through: a start must not land after
/// the stop that may follow a cancel.
pub(crate) async fn up(
    engine: &Engine,
    project: &Project,
    full: &Project,
    opts: &UpOptions,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<(), StackError> {
    let names: Vec<String> = project.start_order();
    // Refused before anything is pulled, built or created.
    for name in &names {
        if let Some((kind, object, path)) = create::missing_file(project, &project.services[name]) {
            return Err(StackError::FileMissing {
                service: name.clone(),
                kind,
                name: object,
                path,
            });
        }
    }

    let present = images::present(engine, project).await;
    let ids = future::try_join_all(names.iter().map(|name| {
        let present = present.get(&crate::names::image_name(project, name));
        async move {
            let id = images::ensure(
                engine, project, name, present, opts.pull, opts.build, progress,
            )
            .await?;
            Ok::<_, StackError>((name.clone(), id))
        }
    }));
    let ids = unless_cancelled(cancel, ids).await?;
    let image_ids: HashMap<String, String> = ids.into_iter().collect();

    let networks: BTreeSet<String> = project
        .services
        .values()
        .filter(|s| s.network_mode.is_none())
        .flat_map(|s| {
            let keys: Vec<String> = s.networks.keys().cloned().collect();
            if keys.is_empty() {
                vec!["default".to_owned()]
            } else {
                keys
            }
        })
        .collect();
    // Services whose network was recreated with a new configuration get new containers on it.
    let displaced = resources::ensure_networks(
        engine,
        project,
        &networks.into_iter().collect::<Vec<_>>(),
        progress,
    )
    .await?;
    resources::ensure_volumes(engine, project, progress).await?;

    let listed: Vec<Listed> = containers::list(engine, &project.name)
        .await
        .map_err(|e| StackError::docker(engine, &project.name, "list the project's containers", e))?
        .into_iter()
        .map(Listed::from_summary)
        .filter(|c| !c.oneoff)
        .collect();
    let orphans: Vec<&Listed> = listed
        .iter()
        .filter(|c| !full.defines(&c.service))
        .collect();
    if opts.remove_orphans {
        for o in &orphans {
            remove_container(engine, &o.service, &o.id, &o.name, None, progress).await?;
        }
    } else if !orphans.is_empty() {
        let names: Vec<&str> = orphans.iter().map(|o| o.name.as_str()).collect();
        progress.warn(format!(
            "Found orphan containers ({}) for this project. If you removed or renamed this \
             service in your compose file, you can run this command with the --remove-orphans \
             flag to clean it up.",
            names.join(", ")
        ));
    }

    // Waiting for dependencies and for `--wait` both end at `--wait-timeout`.
    let deadline = opts.wait_timeout.map(|t| tokio::time::Instant::now() + t);
    // Each service's outcome, shared so every dependent can await it; the errors themselves
    // are collected apart, as a shared outcome must be cloneable.
    let errors: Arc<Mutex<Vec<StackError>>> = Arc::default();
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    let shared_project = Arc::new(project.clone());
    let listed = Arc::new(listed);
    for name in &names {
        let deps: Vec<(String, berth_compose::Dependency, Outcome)> = project.services[name]
            .depends_on
            .iter()
            .filter_map(|(d, dep)| Some((d.clone(), dep.clone(), outcomes.get(d)?.clone())))
            .collect();
        let task = service_up(
            engine.clone(),
            shared_project.clone(),
            name.clone(),
            image_ids.get(name).cloned(),
            listed.clone(),
            deps,
            opts.force_recreate || displaced.contains(name),
            deadline,
            progress.clone(),
            errors.clone(),
            cancel.clone(),
        );
        outcomes.insert(name.clone(), task.boxed().shared());
    }
    future::join_all(outcomes.values().cloned()).await;
    let mut errors = std::mem::take(&mut *errors.lock().expect("not poisoned"));
    // The root cause first: a dependent's "dependency failed" only echoes it.
    errors.sort_by_key(|e| matches!(e, StackError::DependencyNotStarted { .. }));
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    if opts.wait {
        unless_cancelled(cancel, wait::running(engine, project, deadline, progress)).await?;
    }
    Ok(())
}

/// `work` unless `cancel` fires first: only for what can be abandoned without leaving a
/// container half-changed.
async fn unless_cancelled<T>(
    cancel: &CancellationToken,
    work: impl Future<Output = Result<T, StackError>>,
) -> Result<T, StackError> {
    tokio::select! {
        result = work => result,
        () = cancel.cancelled() => Err(StackError::Cancelled { created: Vec::new() }),
    }
}

/// Before a container is created or started: not once `cancel` has fired.
fn not_cancelled(cancel: &CancellationToken) -> Result<(), StackError> {
    if cancel.is_cancelled() {
        return Err(StackError::Cancelled {
            created: Vec::new(),
        });
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn service_up(
    engine: Engine,
    project: Arc<Project>,
    name: String,
    image_id: Option<String>,
    listed: Arc<Vec<Listed>>,
    deps: Vec<(String, berth_compose::Dependency, Outcome)>,
    force_recreate: bool,
    deadline: Option<tokio::time::Instant>,
    progress: Progress,
    errors: Arc<Mutex<Vec<StackError>>>,
    cancel: CancellationToken,
) -> Result<bool, String> {
    let result = async {
        // Containers that this one names at creation (links, volumes_from, service:NAME
        // modes) must exist first.
        let referenced = create::referenced_services(&project.services[&name]);
        for (dep, dependency, outcome) in &deps {
            if !referenced.contains(dep) {
                continue;
            }
            if let Err(cause) = outcome.clone().await
                && dependency.required
            {
                return Err(StackError::DependencyNotStarted {
                    service: name.clone(),
                    dependency: dep.clone(),
                    cause,
                });
            }
        }
        not_cancelled(&cancel)?;
        let converged = converge_containers(
            &engine,
            &project,
            &name,
            image_id.as_deref(),
            &listed,
            force_recreate,
            &progress,
        )
        .await?;
        let mut restart_kept = false;
        for (dep, dependency, outcome) in deps {
            let replaced = match outcome.await {
                Ok(replaced) => replaced,
                Err(cause) if dependency.required => {
                    return Err(StackError::DependencyNotStarted {
                        service: name.clone(),
                        dependency: dep,
                        cause,
                    });
                }
                Err(cause) => {
                    progress.warn(format!(
                        "optional dependency {dep} of {name} failed: {cause}"
                    ));
                    continue;
                }
            };
            restart_kept |= replaced && dependency.restart == Some(true);
            let waited = wait::dependency(
                &engine,
                &project.name,
                &name,
                &dep,
                &dependency.condition,
                deadline,
                &progress,
            );
            unless_cancelled(&cancel, waited).await?;
        }
        if restart_kept {
            // `restart: true`: a dependency was replaced, so the containers kept restart too.
            let timeout = create::stop_timeout(&project.services[&name]);
            for (id, container) in &converged.kept {
                not_cancelled(&cancel)?;
                stop_container(&engine, &name, id, container, timeout, &progress).await?;
                start_container(&engine, &name, id, container, &progress).await?;
            }
        }
        for (id, container) in converged.to_start {
            not_cancelled(&cancel)?;
            start_container(&engine, &name, &id, &container, &progress).await?;
        }
        Ok(converged.replaced)
    }
    .await;
    result.map_err(|e: StackError| {
        let message = e.to_string();
        errors.lock().expect("not poisoned").push(e);
        message
    })
}

/// What converging a service's containers left to do.
struct Converged {
    /// Containers to start, by id and name.
    to_start: Vec<(String, String)>,
    /// Running containers left as they were.
    kept: Vec<(String, String)>,
    /// Whether any container was created, recreated or removed.
    replaced: bool,
}

/// The names of the current containers of `services`, by service, in number order.
async fn linked_containers(
    engine: &Engine,
    project: &str,
    services: &BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<String>>, StackError> {
    let mut listed: Vec<Listed> = containers::list(engine, project)
        .await
        .map_err(|e| StackError::docker(engine, project, "list the project's containers", e))?
        .into_iter()
        .map(Listed::from_summary)
        .filter(|c| !c.oneoff && services.contains(&c.service))
        .collect();
    listed.sort_by_key(|c| c.number);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in listed {
        out.entry(c.service).or_default().push(c.name);
    }
    Ok(out)
}

/// Creates, recreates and removes the service's containers as the plan says.
async fn converge_containers(
    engine: &Engine,
    project: &Project,
    name: &str,
    image_id: Option<&str>,
    listed: &[Listed],
    force_recreate: bool,
    progress: &Progress,
) -> Result<Converged, StackError> {
    let service = &project.services[name];
    let referenced = create::referenced_services(service);
    let linked = if referenced.is_empty() {
        BTreeMap::new()
    } else {
        linked_containers(engine, &project.name, &referenced).await?
    };
    let linked = &linked;
    let replicas = service.replicas();
    let hash = crate::hash::service_hash(service);
    let mine: Vec<&Listed> = listed.iter().filter(|c| c.service == name).collect();
    let mut existing = Vec::new();
    for c in mine {
        let label = c.labels.get(labels::CONFIG_HASH).map(String::as_str);
        let up_to_date = !crate::hash::config_changed(label, &hash)
            && image_id.is_none_or(|id| c.image_id == id);
        existing.push(Existing {
            id: c.id.clone(),
            name: c.name.clone(),
            number: c.number,
            running: c.running,
            named: c.name == names::container_name(&project.name, name, service, c.number),
            up_to_date,
        });
    }
    let timeout = create::stop_timeout(service);
    if existing.iter().any(|e| force_recreate || !e.up_to_date)
        || existing.len() < replicas as usize
    {
        for warning in create::warnings(project, service) {
            progress.warn(format!("service {name}: {warning}"));
        }
        if let Some((variable, file)) = create::unset_variable(project, service) {
            return Err(StackError::FileVariableUnset {
                service: name.to_owned(),
                variable,
                file,
            });
        }
    }
    let mut to_start = Vec::new();
    let mut kept = Vec::new();
    let mut replaced = false;
    for step in plan::plan(replicas, &existing, force_recreate) {
        replaced |= matches!(
            step,
            Step::Create { .. } | Step::Recreate { .. } | Step::Remove { .. }
        );
        match step {
            Step::Keep { existing } => {
                progress.container(&existing.name, "Running");
                kept.push((existing.id, existing.name));
            }
            Step::Start { existing } => to_start.push((existing.id, existing.name)),
            Step::Rename { existing } => {
                let proper = names::container_name(&project.name, name, service, existing.number);
                rename_container(engine, name, &existing.id, &existing.name, &proper).await?;
                progress.container(&proper, "Renamed");
                if existing.running {
                    progress.container(&proper, "Running");
                    kept.push((existing.id, proper));
                } else {
                    to_start.push((existing.id, proper));
                }
            }
            Step::Remove { existing } => {
                remove_container(
                    engine,
                    name,
                    &existing.id,
                    &existing.name,
                    timeout,
                    progress,
                )
                .await?
            }
            Step::Recreate { old } => {
                progress.container(&old.name, "Recreate");
                let spec = create::container_spec(project, name, old.number, image_id, linked);
                to_start.push(recreate(engine, name, spec, &old, timeout, progress).await?);
                progress.container(&old.name, "Recreated");
            }
            Step::Create { number } => {
                let spec = create::container_spec(project, name, number, image_id, linked);
                progress.container(&spec.name, "Creating");
                to_start.push(create_container(engine, name, spec).await?);
                progress.container(&to_start[to_start.len() - 1].1, "Created");
            }
        }
    }
    Ok(Converged {
        to_start,
        kept,
        replaced,
    })
}

/// Replaces `old` as compose does: the new container is created under a temporary name
/// (`<old id[:12]>_<name>`) while the old one still exists, so a create that fails leaves the
/// service as it was; then the old one is stopped and removed and the new one takes its name.
/// Like compose, the new container keeps the old one's anonymous volumes (its image's
/// `VOLUME`s) and records the old ID in `com.docker.compose.replace`.
async fn recreate(
    engine: &Engine,
    service: &str,
    mut spec: ContainerSpec,
    old: &Existing,
    timeout: Option<i64>,
    progress: &Progress,
) -> Result<(String, String), StackError> {
    let name = std::mem::take(&mut spec.name);
    spec.name = format!("{}_{name}", &old.id[..old.id.len().min(12)]);
    spec.body
        .labels
        .get_or_insert_default()
        .insert(labels::REPLACE.to_owned(), old.id.clone());
    inherit_anonymous_volumes(engine, &old.id, &mut spec).await;
    let (id, temporary) = create_container(engine, service, spec).await?;
    remove_container(engine, service, &old.id, &old.name, timeout, progress).await?;
    rename_container(engine, service, &id, &temporary, &name).await?;
    Ok((id, name))
}

async fn rename_container(
    engine: &Engine,
    service: &str,
    id: &str,
    from: &str,
    to: &str,
) -> Result<(), StackError> {
    engine
        .docker()
        .rename_container(
            id,
            RenameContainerOptions {
                name: to.to_owned(),
            },
        )
        .await
        .map_err(|e| StackError::docker(engine, service, format!("rename {from} to {to}"), e))
}

/// Mounts the old container's volumes at its image's `VOLUME` paths in the new one, unless the
/// service mounts something there itself. What cannot be inspected is not inherited: the new
/// container then gets fresh anonymous volumes, as a first `up` would.
async fn inherit_anonymous_volumes(engine: &Engine, old: &str, spec: &mut ContainerSpec) {
    let docker = engine.docker();
    let Ok(old) = docker.inspect_container(old, None).await else {
        return;
    };
    let image = spec.body.image.clone().unwrap_or_default();
    let Ok(image) = docker.inspect_image(&image).await else {
        return;
    };
    let declared = image.config.and_then(|c| c.volumes).unwrap_or_default();
    let host = spec.body.host_config.get_or_insert_default();
    let mut taken: BTreeSet<String> = host
        .binds
        .iter()
        .flatten()
        .filter_map(|b| b.split(':').nth(1).map(str::to_owned))
        .collect();
    taken.extend(
        host.mounts
            .iter()
            .flatten()
            .filter_map(|m| m.target.clone()),
    );
    for m in old.mounts.unwrap_or_default() {
        let (Some(target), Some(source)) = (m.destination, m.name) else {
            continue;
        };
        let volume = m.typ.as_deref() == Some("volume");
        if volume
            && declared.iter().any(|v| v.trim_end_matches('/') == target)
            && !taken.contains(&target)
        {
            host.mounts
                .get_or_insert_default()
                .push(bollard::models::Mount {
                    typ: Some(bollard::models::MountType::VOLUME),
                    source: Some(source),
                    target: Some(target),
                    read_only: Some(m.rw == Some(false)),
                    ..Default::default()
                });
        }
    }
}

async fn create_container(
    engine: &Engine,
    service: &str,
    spec: ContainerSpec,
) -> Result<(String, String), StackError> {
    let docker = engine.docker();
    let created = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(spec.name.clone()),
                ..Default::default()
            }),
            spec.body,
        )
        .await
        .map_err(|e| {
            StackError::docker(
                engine,
                service,
                format!("create container {}", spec.name),
                e,
            )
        })?;
    for (network, endpoint) in spec.more_networks {
        docker
            .connect_network(
                &network,
                bollard::models::NetworkConnectRequest {
                    container: created.id.clone(),
                    endpoint_config: Some(endpoint),
                },
            )
            .await
            .map_err(|e| {
                StackError::docker(
                    engine,
                    service,
                    format!("connect {} to {network}", spec.name),
                    e,
                )
            })?;
    }
    if !spec.files.is_empty() {
        let tar = create::archive(&spec.files).map_err(|err| {
            let err = bollard::errors::Error::IOError { err };
            StackError::docker(
                engine,
                service,
                format!("archive the secrets of {}", spec.name),
                err,
            )
        })?;
        let options = bollard::query_parameters::UploadToContainerOptions {
            path: "/".to_owned(),
            // Only then does the engine keep the archive's owners.
            copy_uidgid: spec
                .files
                .iter()
                .any(|f| f.uid.is_some() || f.gid.is_some())
                .then(|| "true".to_owned()),
            ..Default::default()
        };
        docker
            .upload_to_container(&created.id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| {
                StackError::docker(
                    engine,
                    service,
                    format!("copy secrets into {}", spec.name),
                    e,
                )
            })?;
    }
    Ok((created.id, spec.name))
}

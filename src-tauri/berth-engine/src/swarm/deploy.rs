//! `docker stack deploy`: networks, secrets and configs first, then each service created or
//! updated in place, without waiting for its tasks (docker/cli `deploy_composefile.go`).

use std::collections::{HashMap, HashSet};

use berth_compose::Project;
use bollard::models::{Service, ServiceSpec};
use bollard::query_parameters::{
    InspectNetworkOptions, ListNetworksOptionsBuilder, ListServicesOptionsBuilder,
    UpdateServiceOptionsBuilder,
};

use super::convert::{self, FileSpec, IMAGE_LABEL, namespace_filter};
use super::info::require_manager;
use super::objects::{self, Kind};
use super::{Result, SwarmError};
use crate::error::not_found;
use crate::{Engine, Progress, Resource};

/// When to ask the registry for an image's digest, so every node runs the same image
/// (`--resolve-image`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResolveImage {
    /// On every deploy (docker's default).
    #[default]
    Always,
    /// Only for services whose image the file changed.
    Changed,
    /// Never: each node uses the image by its name.
    Never,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployOptions {
    /// Remove the stack's services the file no longer has.
    pub prune: bool,
    pub resolve_image: ResolveImage,
}

/// Deploys `project` as stack `namespace`: what exists is updated, what does not is created.
/// Returns (and reports) the warnings about what the file asks that Swarm ignores.
pub async fn deploy(
    engine: &Engine,
    project: &Project,
    namespace: &str,
    options: &DeployOptions,
    progress: &Progress,
) -> Result<Vec<String>> {
    require_manager(engine).await?;
    let stack = convert::stack(project, namespace)?;
    let mut warnings = stack.warnings.clone();
    for w in &warnings {
        progress.warn(w.clone());
    }
    let existing = stack_services(engine, namespace).await?;
    if options.prune {
        prune(engine, &existing, &stack.services, namespace, progress).await?;
    }
    // Every file read and every named object checked before anything is created.
    let secrets = objects::plan(
        engine,
        Kind::Secret,
        objects::read(Kind::Secret, &stack.secrets)?,
    )
    .await?;
    let configs = objects::plan(
        engine,
        Kind::Config,
        objects::read(Kind::Config, &stack.configs)?,
    )
    .await?;
    ensure_networks(engine, namespace, &stack, progress).await?;
    let secret_ids = secrets.create(engine, progress).await?;
    let config_ids = configs.create(engine, progress).await?;
    // The file's objects stay even when no service uses them, as docker's do.
    let declared =
        |ids: &HashMap<String, (String, String)>, files: &[FileSpec]| -> HashSet<String> {
            files
                .iter()
                .filter_map(|f| ids.get(&f.name).map(|(name, _)| name.clone()))
                .collect()
        };
    let mut keep_secrets = declared(&secret_ids, &stack.secrets);
    let mut keep_configs = declared(&config_ids, &stack.configs);
    let by_name: HashMap<String, &Service> = existing
        .iter()
        .filter_map(|s| Some((s.spec.as_ref()?.name.clone()?, s)))
        .collect();
    // The services go to the engine at once rather than one after another as docker's CLI
    // sends them: Swarm starts scheduling each as soon as it has it.
    let mut specs = Vec::new();
    for (key, mut spec) in stack.services {
        fill_ids(&mut spec, &secret_ids, &config_ids, &key)?;
        let current = by_name
            .get(spec.name.as_deref().unwrap_or_default())
            .copied();
        specs.push((spec, current));
    }
    let results =
        futures_util::future::join_all(specs.into_iter().map(|(spec, current)| {
            service(engine, spec, current, options.resolve_image, progress)
        }))
        .await;
    for result in results {
        warnings.extend(result?);
    }
    // What an earlier version (or docker's deploy) left that no service uses any more.
    let (secrets, configs) = objects::referenced(&stack_services(engine, namespace).await?);
    keep_secrets.extend(secrets);
    keep_configs.extend(configs);
    objects::remove_unused(engine, Kind::Secret, namespace, &keep_secrets, progress).await?;
    objects::remove_unused(engine, Kind::Config, namespace, &keep_configs, progress).await?;
    Ok(warnings)
}

/// Creates or updates one service; the warning when its image's digest could not be had.
async fn service(
    engine: &Engine,
    mut spec: ServiceSpec,
    current: Option<&Service>,
    resolve_image: ResolveImage,
    progress: &Progress,
) -> Result<Option<String>> {
    let name = spec.name.clone().unwrap_or_default();
    let image = image_of(&spec).to_owned();
    let resolve = match (resolve_image, current) {
        (ResolveImage::Always, _) | (ResolveImage::Changed, None) => true,
        (ResolveImage::Changed, Some(s)) => label_image(s) != Some(image.as_str()),
        (ResolveImage::Never, _) => false,
    };
    let mut warning = None;
    if resolve {
        match engine.docker().inspect_registry_image(&image, None).await {
            Ok(d) => {
                if let Some(digest) = d.descriptor.digest {
                    set_image(&mut spec, with_digest(&image, &digest));
                }
            }
            Err(_) => {
                let w = unresolved(&image);
                progress.warn(w.clone());
                warning = Some(w);
            }
        }
    } else if let Some(s) = current.filter(|s| label_image(s) == Some(image.as_str())) {
        // The image did not change: keep the digest an earlier deploy pinned, or the service
        // would update for nothing.
        if let Some(pinned) = container_image(s) {
            set_image(&mut spec, pinned.to_owned());
        }
    }
    match current {
        Some(s) => {
            // docker's line names the service's id too.
            let id = s.id.as_deref().unwrap_or_default();
            progress.resource(Resource::Service, &format!("{name} (id: {id})"), "Updating");
            update(engine, s, spec).await?;
        }
        None => {
            progress.resource(Resource::Service, &name, "Creating");
            engine
                .docker()
                .create_service(spec, None)
                .await
                .map_err(SwarmError::request(format!("create service {name}")))?;
        }
    }
    Ok(warning)
}

fn image_of(spec: &ServiceSpec) -> &str {
    spec.task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.as_deref())
        .unwrap_or_default()
}

fn set_image(spec: &mut ServiceSpec, image: String) {
    if let Some(c) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
    {
        c.image = Some(image);
    }
}

fn label_image(s: &Service) -> Option<&str> {
    s.spec
        .as_ref()?
        .labels
        .as_ref()?
        .get(IMAGE_LABEL)
        .map(String::as_str)
}

fn container_image(s: &Service) -> Option<&str> {
    s.spec
        .as_ref()?
        .task_template
        .as_ref()?
        .container_spec
        .as_ref()?
        .image
        .as_deref()
}

/// `name:tag@digest`, as docker pins a resolved image.
fn with_digest(image: &str, digest: &str) -> String {
    let base = image.split('@').next().unwrap_or(image);
    format!("{base}@{digest}")
}

/// docker's warning when an image's digest cannot be had from a registry.
fn unresolved(image: &str) -> String {
    format!(
        "image {image} could not be accessed on a registry to record\n\
         its digest. Each node will access {image} independently,\n\
         possibly leading to different nodes running different\n\
         versions of the image."
    )
}

async fn update(engine: &Engine, current: &Service, mut spec: ServiceSpec) -> Result<()> {
    let name = spec.name.clone().unwrap_or_default();
    // Stack deploy has no --force: keep the counter so tasks are not redeployed for nothing.
    if let Some(t) = spec.task_template.as_mut() {
        t.force_update = current
            .spec
            .as_ref()
            .and_then(|s| s.task_template.as_ref())
            .and_then(|t| t.force_update);
    }
    let version = current
        .version
        .as_ref()
        .and_then(|v| v.index)
        .unwrap_or_default();
    let options = UpdateServiceOptionsBuilder::new()
        .version(version as i32)
        .build();
    let id = current.id.clone().unwrap_or_default();
    engine
        .docker()
        .update_service(&id, spec, options, None)
        .await
        .map_err(SwarmError::request(format!("update service {name}")))?;
    Ok(())
}

/// The stack's services as they are on the Swarm.
pub(crate) async fn stack_services(engine: &Engine, namespace: &str) -> Result<Vec<Service>> {
    engine
        .docker()
        .list_services(Some(
            ListServicesOptionsBuilder::new()
                .filters(&namespace_filter(namespace))
                .status(true)
                .build(),
        ))
        .await
        .map_err(SwarmError::request(format!(
            "list the services of stack {namespace}"
        )))
}

async fn prune(
    engine: &Engine,
    existing: &[Service],
    wanted: &std::collections::BTreeMap<String, ServiceSpec>,
    namespace: &str,
    progress: &Progress,
) -> Result<()> {
    let keep: HashSet<String> = wanted
        .keys()
        .map(|k| convert::scope(namespace, k))
        .collect();
    for s in existing {
        let name = s
            .spec
            .as_ref()
            .and_then(|s| s.name.clone())
            .unwrap_or_default();
        if keep.contains(&name) {
            continue;
        }
        progress.resource(Resource::Service, &name, "Removing");
        engine
            .docker()
            .delete_service(s.id.as_deref().unwrap_or_default())
            .await
            .map_err(SwarmError::request(format!("remove service {name}")))?;
    }
    Ok(())
}

async fn ensure_networks(
    engine: &Engine,
    namespace: &str,
    stack: &convert::Stack,
    progress: &Progress,
) -> Result<()> {
    for name in &stack.external_networks {
        if matches!(name.as_str(), "host" | "bridge" | "none" | "default") {
            continue;
        }
        match engine
            .docker()
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(n) if n.scope.as_deref() == Some("swarm") => {}
            Ok(n) => {
                return Err(SwarmError::ExternalNetworkScope {
                    name: name.clone(),
                    scope: n.scope.unwrap_or_default(),
                });
            }
            Err(e) if not_found(&e) => {
                return Err(SwarmError::ExternalNetworkMissing { name: name.clone() });
            }
            Err(e) => return Err(SwarmError::request(format!("inspect network {name}"))(e)),
        }
    }
    let existing: HashSet<String> = engine
        .docker()
        .list_networks(Some(
            ListNetworksOptionsBuilder::new()
                .filters(&namespace_filter(namespace))
                .build(),
        ))
        .await
        .map_err(SwarmError::request(format!(
            "list the networks of stack {namespace}"
        )))?
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    for (name, spec) in &stack.networks {
        if existing.contains(name) {
            continue;
        }
        progress.resource(Resource::Network, name, "Creating");
        engine
            .docker()
            .create_network(spec.clone())
            .await
            .map_err(SwarmError::request(format!("create network {name}")))?;
    }
    Ok(())
}

/// Secret and config references carry the names the objects have on the Swarm and their ids,
/// as docker/cli's `ParseSecrets` resolves them.
fn fill_ids(
    spec: &mut ServiceSpec,
    secrets: &HashMap<String, (String, String)>,
    configs: &HashMap<String, (String, String)>,
    service: &str,
) -> Result<()> {
    let Some(c) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
    else {
        return Ok(());
    };
    for s in c.secrets.iter_mut().flatten() {
        let (name, id) = resolve(secrets, "secret", s.secret_name.as_deref(), service)?;
        s.secret_name = Some(name);
        s.secret_id = Some(id);
    }
    for s in c.configs.iter_mut().flatten() {
        let (name, id) = resolve(configs, "config", s.config_name.as_deref(), service)?;
        s.config_name = Some(name);
        s.config_id = Some(id);
    }
    Ok(())
}

/// The name on the Swarm and the id a `kind` reference resolves to.
fn resolve(
    objects: &HashMap<String, (String, String)>,
    kind: &str,
    reference: Option<&str>,
    service: &str,
) -> Result<(String, String)> {
    let name = reference.unwrap_or_default();
    objects
        .get(name)
        .cloned()
        .ok_or_else(|| SwarmError::Invalid {
            service: service.to_owned(),
            reason: format!(
                "{kind} not found: {name}\nCreate it (docker {kind} create {name} FILE), or give \
                 it a `file:` in the compose file"
            ),
        })
}

//! The project's networks and volumes: created with compose's names and labels, found again by
//! them, removed by `down`.

use std::collections::BTreeSet;

use berth_compose::Project;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{ListNetworksOptions, ListVolumesOptions};
use serde_json::Value as Json;

use crate::Engine;
use crate::create::string_map;
use crate::error::{StackError, conflict, not_found};
use crate::labels;
use crate::progress::{Progress, Resource};

fn docker_error(
    engine: &Engine,
    what: &str,
    action: &str,
    cause: bollard::errors::Error,
) -> StackError {
    StackError::docker(engine, what, action.to_owned(), cause)
}

/// Creates the networks `keys` name that do not exist yet; external ones must exist. A network
/// whose configuration changed (its config hash label differs) is recreated, as compose does:
/// the containers on it are stopped first, and their services returned, to be recreated on the
/// new network. A network of that name that is not this project's is an error.
pub(crate) async fn ensure_networks(
    engine: &Engine,
    project: &Project,
    keys: &[String],
    progress: &Progress,
) -> Result<BTreeSet<String>, StackError> {
    let each = keys
        .iter()
        .map(|key| ensure_network(engine, project, key, progress));
    let displaced = futures_util::future::try_join_all(each).await?;
    Ok(displaced.into_iter().flatten().collect())
}

/// [`ensure_networks`] for one network; returns the services displaced by its recreation.
async fn ensure_network(
    engine: &Engine,
    project: &Project,
    key: &str,
    progress: &Progress,
) -> Result<BTreeSet<String>, StackError> {
    let docker = engine.docker();
    let mut displaced = BTreeSet::new();
    let Some(network) = project.networks.get(key) else {
        return Ok(displaced);
    };
    let name = &network.name;
    let hash = crate::hash::network_hash(network);
    match docker
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        Ok(_) if network.external == Some(true) => return Ok(displaced),
        Ok(found) => {
            let found_labels = found.labels.clone().unwrap_or_default();
            let label = found_labels
                .get(labels::NETWORK)
                .cloned()
                .unwrap_or_default();
            if label != key {
                return Err(StackError::NetworkNotOurs {
                    name: name.clone(),
                    label,
                    key: key.to_owned(),
                });
            }
            match found_labels.get(labels::CONFIG_HASH) {
                Some(found_hash) if *found_hash != hash => {
                    displaced.extend(
                        remove_diverged_network(engine, project, name, found, progress).await?,
                    );
                }
                _ => return Ok(displaced),
            }
        }
        Err(e) if not_found(&e) => {
            if network.external == Some(true) {
                return Err(StackError::ExternalMissing {
                    kind: "network",
                    name: name.clone(),
                });
            }
        }
        Err(e) => return Err(docker_error(engine, name, "inspect the network", e)),
    }
    progress.resource(Resource::Network, name, "Creating");
    let mut network_labels = network
        .extra
        .get("labels")
        .and_then(string_map)
        .unwrap_or_default();
    network_labels.insert(labels::PROJECT.into(), project.name.clone());
    network_labels.insert(labels::NETWORK.into(), key.to_owned());
    network_labels.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
    network_labels.insert(labels::CONFIG_HASH.into(), hash);
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: network.driver.clone(),
        internal: network.extra.get("internal").and_then(Json::as_bool),
        attachable: network.extra.get("attachable").and_then(Json::as_bool),
        enable_ipv6: network.extra.get("enable_ipv6").and_then(Json::as_bool),
        options: network.extra.get("driver_opts").and_then(string_map),
        ipam: network.extra.get("ipam").map(ipam),
        labels: Some(network_labels),
        ..Default::default()
    };
    match docker.create_network(request).await {
        Ok(_) => progress.resource(Resource::Network, name, "Created"),
        // Another `up` (or compose) created it meanwhile.
        Err(e) if conflict(&e) => {}
        Err(e) => return Err(docker_error(engine, name, "create the network", e)),
    }
    Ok(displaced)
}

/// `ipam:` as the engine takes it.
fn ipam(v: &Json) -> Ipam {
    Ipam {
        driver: v.get("driver").and_then(Json::as_str).map(str::to_owned),
        config: v.get("config").and_then(Json::as_array).map(|pools| {
            pools
                .iter()
                .map(|p| {
                    let field = |k: &str| p.get(k).and_then(Json::as_str).map(str::to_owned);
                    IpamConfig {
                        subnet: field("subnet"),
                        ip_range: field("ip_range"),
                        gateway: field("gateway"),
                        auxiliary_addresses: p.get("aux_addresses").and_then(string_map),
                    }
                })
                .collect()
        }),
        options: v.get("options").and_then(string_map),
    }
}

/// Stops the project's containers on `network` and removes it, so it can be created with its
/// new configuration; returns those containers' services.
async fn remove_diverged_network(
    engine: &Engine,
    project: &Project,
    name: &str,
    found: bollard::models::NetworkInspect,
    progress: &Progress,
) -> Result<BTreeSet<String>, StackError> {
    let docker = engine.docker();
    let attached: Vec<String> = found.containers.unwrap_or_default().into_keys().collect();
    let mut services = BTreeSet::new();
    for id in &attached {
        let Ok(c) = docker.inspect_container(id, None).await else {
            continue;
        };
        let c = crate::containers::Container::from_inspect(&c, engine.port_host().as_deref());
        if c.labels.get(labels::PROJECT) != Some(&project.name) {
            return Err(StackError::NetworkInUse {
                name: name.to_owned(),
                container: c.name,
            });
        }
        let timeout = project
            .services
            .get(&c.service)
            .and_then(crate::create::stop_timeout);
        crate::containers::stop_container(engine, &c.service, &c.id, &c.name, timeout, progress)
            .await?;
        services.insert(c.service);
    }
    progress.resource(Resource::Network, name, "Removing");
    docker
        .remove_network(name)
        .await
        .map_err(|e| docker_error(engine, name, "remove the network to recreate it", e))?;
    progress.resource(Resource::Network, name, "Removed");
    Ok(services)
}

/// Creates the named volumes that do not exist yet; external ones must exist. As compose
/// without a terminal to ask on, a volume whose configuration changed is kept (recreating it
/// would lose its data), with a warning that says how to apply the change; one made outside the
/// project is used with a warning.
pub(crate) async fn ensure_volumes(
    engine: &Engine,
    project: &Project,
    progress: &Progress,
) -> Result<(), StackError> {
    let docker = engine.docker();
    for (key, volume) in &project.volumes {
        let name = &volume.name;
        let hash = crate::hash::volume_hash(volume);
        match docker.inspect_volume(name).await {
            Ok(_) if volume.external == Some(true) => continue,
            Ok(found) => {
                let found_labels = found.labels;
                match found_labels.get(labels::PROJECT) {
                    None => progress.warn(format!(
                        "volume \"{name}\" already exists but was not created by Docker Compose. \
                         Use `external: true` to use an existing volume"
                    )),
                    Some(other) if *other != project.name => progress.warn(format!(
                        "volume \"{name}\" already exists but was created for project \"{other}\" \
                         (expected \"{}\"). Use `external: true` to use an existing volume",
                        project.name
                    )),
                    Some(_) => {
                        if found_labels
                            .get(labels::CONFIG_HASH)
                            .is_some_and(|h| *h != hash)
                        {
                            progress.warn(format!(
                                "volume \"{name}\" exists but doesn't match configuration in \
                                 compose file; it is kept as it is, since recreating it would \
                                 lose its data. To apply the change, remove it (berthctl down -v, \
                                 or docker volume rm {name}) and run up again"
                            ));
                        }
                    }
                }
                continue;
            }
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(docker_error(engine, name, "inspect the volume", e)),
        }
        if volume.external == Some(true) {
            return Err(StackError::ExternalMissing {
                kind: "volume",
                name: name.clone(),
            });
        }
        progress.resource(Resource::Volume, name, "Creating");
        let mut volume_labels = volume
            .extra
            .get("labels")
            .and_then(string_map)
            .unwrap_or_default();
        volume_labels.insert(labels::PROJECT.into(), project.name.clone());
        volume_labels.insert(labels::VOLUME.into(), key.clone());
        volume_labels.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        volume_labels.insert(labels::CONFIG_HASH.into(), hash);
        let request = VolumeCreateRequest {
            name: Some(name.clone()),
            driver: volume.driver.clone(),
            driver_opts: volume.extra.get("driver_opts").and_then(string_map),
            labels: Some(volume_labels),
            ..Default::default()
        };
        docker
            .create_volume(request)
            .await
            .map_err(|e| docker_error(engine, name, "create the volume", e))?;
        progress.resource(Resource::Volume, name, "Created");
    }
    Ok(())
}

/// Removes the project's networks (those labelled with it; external ones never are).
pub(crate) async fn remove_networks(
    engine: &Engine,
    project: &str,
    progress: &Progress,
) -> Result<(), StackError> {
    let docker = engine.docker();
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(labels::filters(project)),
        }))
        .await
        .map_err(|e| docker_error(engine, project, "list the project's networks", e))?;
    for name in networks.into_iter().filter_map(|n| n.name) {
        progress.resource(Resource::Network, &name, "Removing");
        match docker.remove_network(&name).await {
            Ok(()) => progress.resource(Resource::Network, &name, "Removed"),
            Err(e) if not_found(&e) => {}
            Err(e) => progress.warn(format!("network {name} was not removed: {e}")),
        }
    }
    Ok(())
}

/// Removes the project's named volumes (those labelled with it).
pub(crate) async fn remove_volumes(
    engine: &Engine,
    project: &str,
    progress: &Progress,
) -> Result<(), StackError> {
    let docker = engine.docker();
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(labels::filters(project)),
        }))
        .await
        .map_err(|e| docker_error(engine, project, "list the project's volumes", e))?;
    for volume in volumes.volumes.unwrap_or_default() {
        let name = volume.name;
        progress.resource(Resource::Volume, &name, "Removing");
        match docker
            .remove_volume(
                &name,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await
        {
            Ok(()) => progress.resource(Resource::Volume, &name, "Removed"),
            Err(e) if not_found(&e) => {}
            Err(e) => progress.warn(format!("volume {name} was not removed: {e}")),
        }
    }
    Ok(())
}

//! The project's networks and volumes: created with compose's names and labels, found again by
//! them, removed by `down`.

use std::collections::HashMap;

use berth_compose::Project;
use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{ListNetworksOptions, ListVolumesOptions};
use serde_json::Value as Json;

use crate::Engine;
use crate::error::{StackError, conflict, not_found};
use crate::labels;
use crate::progress::{Progress, Resource};

fn docker_error(what: &str, action: &str, cause: bollard::errors::Error) -> StackError {
    StackError::docker(what, action.to_owned(), cause)
}

fn string_map(v: Option<&Json>) -> Option<HashMap<String, String>> {
    Some(
        v?.as_object()?
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
    )
}

/// Creates the networks `keys` name that do not exist yet; external ones must exist.
pub(crate) async fn ensure_networks(
    engine: &Engine,
    project: &Project,
    keys: &[String],
    progress: &Progress,
) -> Result<(), StackError> {
    let docker = engine.docker();
    for key in keys {
        let Some(network) = project.networks.get(key) else {
            continue;
        };
        let name = &network.name;
        match docker
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(_) => continue,
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(docker_error(name, "inspect the network", e)),
        }
        if network.external == Some(true) {
            return Err(StackError::ExternalMissing {
                kind: "network",
                name: name.clone(),
            });
        }
        progress.resource(Resource::Network, name, "Creating");
        let mut network_labels = string_map(network.extra.get("labels")).unwrap_or_default();
        network_labels.insert(labels::PROJECT.into(), project.name.clone());
        network_labels.insert(labels::NETWORK.into(), key.clone());
        network_labels.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: network.driver.clone(),
            internal: network.extra.get("internal").and_then(Json::as_bool),
            attachable: network.extra.get("attachable").and_then(Json::as_bool),
            enable_ipv6: network.extra.get("enable_ipv6").and_then(Json::as_bool),
            options: string_map(network.extra.get("driver_opts")),
            labels: Some(network_labels),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(_) => progress.resource(Resource::Network, name, "Created"),
            // Another `up` (or compose) created it meanwhile.
            Err(e) if conflict(&e) => {}
            Err(e) => return Err(docker_error(name, "create the network", e)),
        }
    }
    Ok(())
}

/// Creates the named volumes that do not exist yet; external ones must exist.
pub(crate) async fn ensure_volumes(
    engine: &Engine,
    project: &Project,
    progress: &Progress,
) -> Result<(), StackError> {
    let docker = engine.docker();
    for (key, volume) in &project.volumes {
        let name = &volume.name;
        match docker.inspect_volume(name).await {
            Ok(_) => continue,
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(docker_error(name, "inspect the volume", e)),
        }
        if volume.external == Some(true) {
            return Err(StackError::ExternalMissing {
                kind: "volume",
                name: name.clone(),
            });
        }
        progress.resource(Resource::Volume, name, "Creating");
        let mut volume_labels = string_map(volume.extra.get("labels")).unwrap_or_default();
        volume_labels.insert(labels::PROJECT.into(), project.name.clone());
        volume_labels.insert(labels::VOLUME.into(), key.clone());
        volume_labels.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        let request = VolumeCreateRequest {
            name: Some(name.clone()),
            driver: volume.driver.clone(),
            driver_opts: string_map(volume.extra.get("driver_opts")),
            labels: Some(volume_labels),
            ..Default::default()
        };
        docker
            .create_volume(request)
            .await
            .map_err(|e| docker_error(name, "create the volume", e))?;
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
        .map_err(|e| docker_error(project, "list the project's networks", e))?;
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
        .map_err(|e| docker_error(project, "list the project's volumes", e))?;
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

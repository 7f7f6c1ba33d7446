//! `docker stack rm`: services first, then secrets, configs and networks, each reported as
//! docker's CLI prints it ("Removing service …").

use std::time::{Duration, Instant};

use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::convert::namespace_filter;
use super::deploy::stack_services;
use super::info::require_manager;
use super::{Result, SwarmError};
use crate::{Engine, Progress, Resource};

/// Removes everything of stack `namespace`; goes on past a failure and reports them all.
pub async fn remove(engine: &Engine, namespace: &str, progress: &Progress) -> Result<()> {
    require_manager(engine).await?;
    let docker = engine.docker();
    let filter = namespace_filter(namespace);
    let mut services = stack_services(engine, namespace).await?;
    let secrets = docker
        .list_secrets(Some(
            bollard::query_parameters::ListSecretsOptionsBuilder::new()
                .filters(&filter)
                .build(),
        ))
        .await
        .map_err(SwarmError::request(format!(
            "list the secrets of stack {namespace}"
        )))?;
    let configs = docker
        .list_configs(Some(
            bollard::query_parameters::ListConfigsOptionsBuilder::new()
                .filters(&filter)
                .build(),
        ))
        .await
        .map_err(SwarmError::request(format!(
            "list the configs of stack {namespace}"
        )))?;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
        .map_err(SwarmError::request(format!(
            "list the networks of stack {namespace}"
        )))?;
    if services.len() + secrets.len() + configs.len() + networks.len() == 0 {
        return Err(SwarmError::NothingFound {
            namespace: namespace.to_owned(),
        });
    }
    let mut errors = Vec::new();
    let mut failed = |what: &str, name: &str, e: bollard::errors::Error| {
        errors.push(format!(
            "Failed to remove {what} {name}: {}",
            crate::error::describe(&e)
        ));
    };
    services.sort_by_key(|s| s.spec.as_ref().and_then(|s| s.name.clone()));
    for s in &services {
        let name = s
            .spec
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or_default();
        progress.resource(Resource::Service, name, "Removing");
        if let Err(e) = docker
            .delete_service(s.id.as_deref().unwrap_or_default())
            .await
        {
            failed("service", name, e);
        }
    }
    for s in &secrets {
        let name = s
            .spec
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or_default();
        progress.resource(Resource::Secret, name, "Removing");
        if let Err(e) = docker
            .delete_secret(s.id.as_deref().unwrap_or_default())
            .await
        {
            failed("secret", name, e);
        }
    }
    for c in &configs {
        let name = c
            .spec
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or_default();
        progress.resource(Resource::Config, name, "Removing");
        if let Err(e) = docker
            .delete_config(c.id.as_deref().unwrap_or_default())
            .await
        {
            failed("config", name, e);
        }
    }
    for n in &networks {
        let name = n.name.as_deref().unwrap_or_default();
        progress.resource(Resource::Network, name, "Removing");
        if let Err(e) = remove_network(engine, n.id.as_deref().unwrap_or_default()).await {
            failed("network", name, e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SwarmError::Remove {
            namespace: namespace.to_owned(),
            errors,
        })
    }
}

/// How long a network may stay in use by the tasks of services just removed.
const TASKS_GONE: Duration = Duration::from_secs(30);

/// Removes a stack network once the tasks of its removed services have let go of it: the
/// manager refuses while one is still there ("network … is in use by task …"), a moment after
/// its service is gone; `docker stack rm` fails then and leaves the network behind.
async fn remove_network(engine: &Engine, id: &str) -> Result<(), bollard::errors::Error> {
    let deadline = Instant::now() + TASKS_GONE;
    loop {
        match engine.docker().remove_network(id).await {
            Err(bollard::errors::Error::DockerResponseServerError { message, .. })
                if message.contains("is in use by task") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            result => return result,
        }
    }
}

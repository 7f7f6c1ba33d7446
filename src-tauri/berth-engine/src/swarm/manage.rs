//! Scaling a service and rolling back its last update.

use bollard::models::Service;
use bollard::query_parameters::{InspectServiceOptions, UpdateServiceOptionsBuilder};

use super::info::require_manager;
use super::{Result, SwarmError};
use crate::Engine;
use crate::error::not_found;

async fn inspect(engine: &Engine, service: &str) -> Result<Service> {
    engine
        .docker()
        .inspect_service(service, None::<InspectServiceOptions>)
        .await
        .map_err(|e| {
            if not_found(&e) {
                SwarmError::NoSuchService {
                    service: service.to_owned(),
                }
            } else {
                SwarmError::request(format!("inspect service {service}"))(e)
            }
        })
}

fn version(s: &Service) -> i32 {
    s.version.as_ref().and_then(|v| v.index).unwrap_or_default() as i32
}

/// Sets the replicas of `service` (`<ns>_<svc>` or its id), as `docker service scale` does.
pub async fn scale(engine: &Engine, service: &str, replicas: u64) -> Result<()> {
    require_manager(engine).await?;
    let current = inspect(engine, service).await?;
    let mut spec = current.spec.clone().unwrap_or_default();
    let Some(replicated) = spec.mode.as_mut().and_then(|m| m.replicated.as_mut()) else {
        return Err(SwarmError::NotScalable {
            service: service.to_owned(),
        });
    };
    replicated.replicas = Some(replicas as i64);
    engine
        .docker()
        .update_service(
            service,
            spec,
            UpdateServiceOptionsBuilder::new()
                .version(version(&current))
                .build(),
            None,
        )
        .await
        .map_err(SwarmError::request(format!("scale service {service}")))?;
    Ok(())
}

/// Returns `service` to the spec it had before its last update (`docker service rollback`).
pub async fn rollback(engine: &Engine, service: &str) -> Result<()> {
    require_manager(engine).await?;
    let current = inspect(engine, service).await?;
    let spec = current.spec.clone().unwrap_or_default();
    engine
        .docker()
        .update_service(
            service,
            spec,
            UpdateServiceOptionsBuilder::new()
                .version(version(&current))
                .rollback("previous")
                .build(),
            None,
        )
        .await
        .map_err(SwarmError::request(format!("roll back service {service}")))?;
    Ok(())
}

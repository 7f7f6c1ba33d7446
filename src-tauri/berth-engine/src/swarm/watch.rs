//! Every stack's services on the Swarm, read again when something may have changed their
//! replicas, cheaply when nothing does. Swarm's events (API 1.41) say when a service changes,
//! not when a task does; a task's container dying on this node is a container event labelled
//! with its service. Replicas on other nodes change with no event here: a slow safety read
//! catches those.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{EventsOptions, ListServicesOptionsBuilder};
use futures_util::StreamExt;

use super::convert::NAMESPACE_LABEL;
use super::list::service_summary;
use super::{Result, ServiceSummary, SwarmError};
use crate::backoff::Backoff;
use crate::error::describe;
use crate::{Engine, clock};

/// The read when no event came (replicas on other nodes).
pub const SAFETY: Duration = Duration::from_secs(15);

/// After an event, the reads that follow: the manager learns of a task's end a moment after
/// its container's, so one read at once could see it still running.
const AFTER_EVENT: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

/// The label a Swarm task's container carries.
const SERVICE_ID_LABEL: &str = "com.docker.swarm.service.id";

/// A service of a stack, with its stack's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackService {
    pub stack: String,
    pub service: ServiceSummary,
}

/// Every service of every stack on the Swarm, in one request (with their running and desired
/// replicas, as `docker service ls` has them).
pub async fn all_services(engine: &Engine) -> Result<Vec<StackService>> {
    let filter = HashMap::from([("label", vec![NAMESPACE_LABEL])]);
    let services = engine
        .docker()
        .list_services(Some(
            ListServicesOptionsBuilder::new()
                .filters(&filter)
                .status(true)
                .build(),
        ))
        .await
        .map_err(SwarmError::request("list the Swarm's services"))?;
    let mut out: Vec<StackService> = services
        .iter()
        .filter_map(|s| {
            let stack = s.spec.as_ref()?.labels.as_ref()?.get(NAMESPACE_LABEL)?;
            Some(StackService {
                stack: stack.clone(),
                service: service_summary(s),
            })
        })
        .collect();
    out.sort_by(|a, b| a.service.name.cmp(&b.service.name));
    Ok(out)
}

/// Reads every stack's services now, after each event that may change their replicas (and a
/// few times after, see [`AFTER_EVENT`]) and every [`SAFETY`] besides, handing each reading to
/// `on_read`; runs until its task is dropped. A lost event stream is opened again.
pub async fn watch_services(engine: &Engine, mut on_read: impl FnMut(Result<Vec<StackService>>)) {
    let mut backoff = Backoff::new();
    loop {
        let since = clock::since_epoch();
        let mut events = engine.docker().events(Some(options(since)));
        on_read(all_services(engine).await);
        // When the reads after the last event are due.
        let mut due: Vec<tokio::time::Instant> = Vec::new();
        let ended = loop {
            let next = due
                .first()
                .copied()
                .unwrap_or_else(|| tokio::time::Instant::now() + SAFETY);
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(e)) => {
                        if relevant(&e) {
                            let now = tokio::time::Instant::now();
                            due = AFTER_EVENT.iter().map(|d| now + *d).collect();
                        }
                        backoff.reset();
                    }
                    Some(Err(e)) => break describe(&e),
                    None => break "the engine ended its event stream".to_owned(),
                },
                () = tokio::time::sleep_until(next) => {
                    if !due.is_empty() {
                        due.remove(0);
                    }
                    on_read(all_services(engine).await);
                }
            }
        };
        tracing::debug!(%ended, "watching the Swarm's services");
        tokio::time::sleep(backoff.wait()).await;
    }
}

/// A service's change, or a Swarm task's container ending or starting.
fn relevant(e: &bollard::models::EventMessage) -> bool {
    use bollard::models::EventMessageTypeEnum;
    match e.typ {
        Some(EventMessageTypeEnum::SERVICE) => true,
        Some(EventMessageTypeEnum::CONTAINER) => e
            .actor
            .as_ref()
            .and_then(|a| a.attributes.as_ref())
            .is_some_and(|a| a.contains_key(SERVICE_ID_LABEL)),
        _ => false,
    }
}

fn options(since: Duration) -> EventsOptions {
    let filters = HashMap::from([
        (
            "type".to_owned(),
            vec!["service".to_owned(), "container".to_owned()],
        ),
        (
            "event".to_owned(),
            ["create", "update", "remove", "start", "die", "oom", "kill"]
                .map(str::to_owned)
                .to_vec(),
        ),
    ]);
    EventsOptions {
        since: Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos())),
        filters: Some(filters),
        ..Default::default()
    }
}

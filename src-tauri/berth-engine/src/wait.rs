//! Waiting for containers to reach a state (`depends_on` conditions, `up --wait`), driven by the
//! engine's event stream: the containers are looked at once, then again only after an event that
//! can change the answer (a start, a death, a health status change, a removal).

use std::collections::{BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use berth_compose::Project;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::containers::{self, Container};
use crate::error::StackError;
use crate::progress::{Progress, ProgressEvent};
use crate::{Engine, labels};

/// What a look at the containers decided.
enum Verdict {
    Ready,
    Pending,
}

/// Looks at the project's containers (or one service's, one-offs left out) now and after each
/// event that can change them, until `judge` says they are ready or fails. At `deadline` it
/// gives up and returns the containers as last seen, so the caller can say what was missing.
async fn watch(
    engine: &Engine,
    project: &str,
    service: Option<&str>,
    deadline: Option<Instant>,
    mut judge: impl FnMut(&[Container]) -> Result<Verdict, StackError>,
) -> Result<Option<Vec<Container>>, StackError> {
    let what = service.unwrap_or(project);
    let mut label = vec![labels::project_filter(project)];
    if let Some(service) = service {
        label.push(format!("{}={service}", labels::SERVICE));
    }
    let filters = HashMap::from([
        ("label".to_owned(), label),
        ("type".to_owned(), vec!["container".to_owned()]),
        (
            "event".to_owned(),
            ["start", "die", "health_status", "destroy"]
                .map(str::to_owned)
                .to_vec(),
        ),
    ]);
    // From a moment before the first look, so no event between the look and the subscription
    // is missed; one seen twice only causes one more look.
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(std::time::Duration::from_secs(1));
    let options = EventsOptions {
        since: Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos())),
        filters: Some(filters),
        ..Default::default()
    };
    let mut events = engine.docker().events(Some(options));
    let look = || async {
        let all = match service {
            Some(service) => containers::inspect_service(engine, project, service).await,
            None => containers::inspect_all(engine, project).await,
        }
        .map_err(|e| StackError::docker(what, "inspect its containers", e))?;
        Ok::<_, StackError>(all.into_iter().filter(|c| !c.oneoff).collect::<Vec<_>>())
    };
    loop {
        if let Verdict::Ready = judge(&look().await?)? {
            return Ok(None);
        }
        let next = match deadline {
            Some(d) => match tokio::time::timeout_at(d, events.next()).await {
                Ok(next) => next,
                // A last look: health checks that fail in the start period change no status,
                // so send no event, but their output says what is wrong.
                Err(_) => return Ok(Some(look().await?)),
            },
            None => events.next().await,
        };
        match next {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(StackError::docker(what, "follow its events", e)),
            None => {
                return Err(StackError::docker(
                    what,
                    "follow its events",
                    bollard::errors::Error::IOError {
                        err: std::io::Error::other("the engine closed the event stream"),
                    },
                ));
            }
        }
    }
}

/// Waits until `dep` meets `condition` for `service` (or `deadline` passes).
pub(crate) async fn dependency(
    engine: &Engine,
    project: &str,
    service: &str,
    dep: &str,
    condition: &str,
    deadline: Option<Instant>,
    progress: &Progress,
) -> Result<(), StackError> {
    if condition == "service_started" {
        return Ok(());
    }
    progress.send(ProgressEvent::Waiting {
        service: service.to_owned(),
        dependency: dep.to_owned(),
        condition: condition.to_owned(),
    });
    let healthy = condition == "service_healthy";
    let mut first = None;
    let judge = |containers: &[Container]| {
        first = containers.first().map(|c| c.name.clone());
        let mut done = true;
        for c in containers {
            if healthy {
                if c.health == "unhealthy" {
                    return Err(StackError::DependencyUnhealthy {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        output: c.last_health_output(),
                    });
                }
                if !c.running() {
                    return Err(StackError::DependencyFailed {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        exit_code: c.exit_code,
                    });
                }
                // As compose: waiting for health that is never checked would never end.
                if c.health.is_empty() {
                    return Err(StackError::DependencyUnhealthy {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        output: "(none: it has no health check; add one, or depend on it \
                                 with condition: service_started)"
                            .to_owned(),
                    });
                }
                done &= c.health == "healthy";
            } else if c.state == "exited" || c.state == "dead" {
                if c.exit_code != 0 {
                    return Err(StackError::DependencyFailed {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        exit_code: c.exit_code,
                    });
                }
            } else {
                done = false;
            }
        }
        Ok(if done {
            Verdict::Ready
        } else {
            Verdict::Pending
        })
    };
    match watch(engine, project, Some(dep), deadline, judge).await? {
        None => {
            if let Some(name) = first {
                progress.container(&name, if healthy { "Healthy" } else { "Exited" });
            }
            Ok(())
        }
        Some(last) => Err(StackError::DependencyTimeout {
            service: service.to_owned(),
            dependency: dep.to_owned(),
            condition: condition.to_owned(),
            output: last
                .iter()
                .map(Container::last_health_output)
                .find(|o| !o.is_empty())
                .unwrap_or_else(|| "(no health check has run yet)".to_owned()),
        }),
    }
}

/// `--wait`: every service's containers running (and healthy with a health check); a one-shot
/// that others need to complete may have exited with 0.
pub(crate) async fn running(
    engine: &Engine,
    project: &Project,
    deadline: Option<Instant>,
    progress: &Progress,
) -> Result<(), StackError> {
    let one_shots: BTreeSet<&str> = project
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == "service_completed_successfully")
        .map(|(n, _)| n.as_str())
        .collect();
    let mut reported = BTreeSet::new();
    let selected = |c: &&Container| project.services.contains_key(&c.service);
    let ready = |c: &Container| c.running() && (c.health.is_empty() || c.health == "healthy");
    let exited = |c: &Container| c.state == "exited" || c.state == "dead";
    let completed =
        |c: &Container| exited(c) && c.exit_code == 0 && one_shots.contains(&*c.service);
    let judge = |all: &[Container]| {
        let mut pending = false;
        for c in all.iter().filter(selected) {
            if c.health == "unhealthy" {
                return Err(StackError::Unhealthy {
                    service: c.service.clone(),
                    container: c.name.clone(),
                    output: c.last_health_output(),
                });
            }
            if completed(c) {
                continue;
            }
            if exited(c) {
                return Err(StackError::Exited {
                    service: c.service.clone(),
                    container: c.name.clone(),
                    exit_code: c.exit_code,
                });
            }
            let ready = ready(c);
            if ready && reported.insert(c.name.clone()) {
                let status = if c.health.is_empty() {
                    "Running"
                } else {
                    "Healthy"
                };
                progress.container(&c.name, status);
            }
            pending |= !ready;
        }
        Ok(if pending {
            Verdict::Pending
        } else {
            Verdict::Ready
        })
    };
    match watch(engine, &project.name, None, deadline, judge).await? {
        None => Ok(()),
        Some(last) => Err(StackError::WaitTimeout {
            pending: last
                .iter()
                .filter(selected)
                .filter(|c| !(ready(c) || completed(c)))
                .map(|c| c.name.clone())
                .collect(),
        }),
    }
}

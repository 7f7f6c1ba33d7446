//! Waiting for containers to reach a state (`depends_on` conditions, `up --wait`), driven by the
//! engine's event stream: the containers are looked at once, then again only after an event that
//! can change the answer (a start, a death, a health status change, a removal), or when a
//! container just started without a health check has run long enough to count as up.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use berth_compose::Project;
use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use futures_util::{FutureExt, StreamExt};
use tokio::time::Instant;

use crate::container_state::{ContainerState, Health};
use crate::containers::{self, Container};
use crate::error::StackError;
use crate::logs::parse_rfc3339;
use crate::progress::{Progress, ProgressEvent};
use crate::{Engine, labels};

/// How long a container without a health check must run before `--wait` counts it as up: all
/// it can show is that it runs, and a process that dies at once runs for a moment first.
const SETTLE: Duration = Duration::from_secs(1);

/// Restarts that make a restart loop for `--wait`: with Docker's backoff (100 ms, doubling) a
/// process that dies at once gets there in about a second.
const RESTART_LOOP: i64 = 3;

/// What a look at the containers decided.
enum Verdict {
    Ready,
    /// Look again after the next event, or at this instant if none comes first.
    Pending(Option<Instant>),
}

/// The exit code of each container's last death the events told of, by container ID: a container
/// its restart policy has started again shows none.
type Exits = HashMap<String, i64>;

/// Looks at the project's containers (or one service's, one-offs left out) now and after each
/// event that can change them, until `judge` says they are ready or fails. At `deadline` it
/// gives up and returns the containers as last seen, so the caller can say what was missing.
async fn watch(
    engine: &Engine,
    project: &str,
    service: Option<&str>,
    deadline: Option<Instant>,
    mut judge: impl FnMut(&[Container], &Exits) -> Result<Verdict, StackError>,
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
    let since = crate::clock::since_epoch().saturating_sub(Duration::from_secs(1));
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
        .map_err(|e| StackError::docker(engine, what, "inspect its containers", e))?;
        Ok::<_, StackError>(all.into_iter().filter(|c| !c.oneoff).collect::<Vec<_>>())
    };
    let mut exits = Exits::new();
    let mut seen = look().await?;
    loop {
        let recheck = match judge(&seen, &exits)? {
            Verdict::Ready => return Ok(None),
            Verdict::Pending(recheck) => recheck,
        };
        let wake = match (deadline, recheck) {
            (Some(d), Some(r)) => Some(d.min(r)),
            (d, r) => d.or(r),
        };
        let next = match wake {
            Some(wake) => match tokio::time::timeout_at(wake, events.next()).await {
                Ok(next) => next,
                // A last look: health checks that fail in the start period change no status,
                // so send no event, but their output says what is wrong.
                Err(_) if deadline.is_some_and(|d| d <= wake) => return Ok(Some(look().await?)),
                // No event since the last look, so it still holds, only later.
                Err(_) => continue,
            },
            None => events.next().await,
        };
        record(next, &mut exits)
            .map_err(|e| StackError::docker(engine, what, "follow its events", e))?;
        // Events come in bursts (the replayed second, a death and a restart): one look for all
        // that have arrived.
        while let Some(next) = events.next().now_or_never() {
            record(next, &mut exits)
                .map_err(|e| StackError::docker(engine, what, "follow its events", e))?;
        }
        seen = look().await?;
    }
}

/// Notes a death's exit code from one item of the event stream, or says why the stream failed.
fn record(
    next: Option<Result<EventMessage, bollard::errors::Error>>,
    exits: &mut Exits,
) -> Result<(), bollard::errors::Error> {
    let event = match next {
        Some(event) => event?,
        None => {
            return Err(bollard::errors::Error::IOError {
                err: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the engine closed the event stream",
                ),
            });
        }
    };
    if event.action.as_deref() == Some("die")
        && let Some(actor) = event.actor
        && let (Some(id), Some(code)) = (
            actor.id,
            actor
                .attributes
                .and_then(|a| a.get("exitCode")?.parse().ok()),
        )
    {
        exits.insert(id, code);
    }
    Ok(())
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
    let judge = |containers: &[Container], _: &Exits| {
        first = containers.first().map(|c| c.name.clone());
        let mut done = true;
        for c in containers {
            if healthy {
                // As compose: what the container did first, its health (an exited container
                // reads unhealthy) only then.
                if exited(c) {
                    return Err(StackError::DependencyExited {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        exit_code: c.exit_code,
                    });
                }
                if c.state == ContainerState::Restarting {
                    return Err(StackError::DependencyRestarting {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        exit_code: c.exit_code,
                        restarts: c.restart_count,
                    });
                }
                if c.health == Some(Health::Unhealthy) {
                    return Err(StackError::DependencyUnhealthy {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        output: c.last_health_output(),
                    });
                }
                // As compose: waiting for health that is never checked would never end.
                if c.health.is_none() {
                    return Err(StackError::DependencyUnhealthy {
                        service: service.to_owned(),
                        dependency: dep.to_owned(),
                        output: "(none: it has no health check; add one, or depend on it \
                                 with condition: service_started)"
                            .to_owned(),
                    });
                }
                done &= c.running() && c.health == Some(Health::Healthy);
            } else if exited(c) {
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
            Verdict::Pending(None)
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
    // Each container's restart count when first seen: a higher one means it died meanwhile.
    let mut restarts: HashMap<String, i64> = HashMap::new();
    // When each start of a container without a health check has run for SETTLE.
    let mut settles: HashMap<(String, String), Instant> = HashMap::new();
    let selected = |c: &&Container| project.services.contains_key(&c.service);
    let ready =
        |c: &Container| c.running() && (c.health.is_none() || c.health == Some(Health::Healthy));
    let completed =
        |c: &Container| exited(c) && c.exit_code == 0 && one_shots.contains(&*c.service);
    let judge = |all: &[Container], exits: &Exits| {
        let now = Instant::now();
        let mut pending = false;
        let mut recheck: Option<Instant> = None;
        for c in all.iter().filter(selected) {
            let first = *restarts.entry(c.id.clone()).or_insert(c.restart_count);
            // A restart loop is never pending. One restart is not a loop: a service that exits
            // while what it needs starts, and runs once restarted, is waited for (as compose).
            let looping = c.restart_count >= first + RESTART_LOOP
                || (c.state == ContainerState::Restarting && c.restart_count >= RESTART_LOOP);
            if looping {
                return Err(StackError::Restarting {
                    service: c.service.clone(),
                    container: c.name.clone(),
                    exit_code: exits.get(&c.id).copied().unwrap_or(c.exit_code),
                    restarts: c.restart_count,
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
            if c.health == Some(Health::Unhealthy) {
                return Err(StackError::Unhealthy {
                    service: c.service.clone(),
                    container: c.name.clone(),
                    output: c.last_health_output(),
                });
            }
            let mut up = ready(c);
            if up && c.health.is_none() {
                let key = (c.id.clone(), c.started_at.clone());
                let settled = *settles
                    .entry(key)
                    .or_insert_with(|| now + SETTLE.saturating_sub(ran_for(c)));
                if now < settled {
                    up = false;
                    recheck = Some(recheck.map_or(settled, |r| r.min(settled)));
                }
            }
            if up && reported.insert(c.name.clone()) {
                let status = if c.health.is_none() {
                    "Running"
                } else {
                    "Healthy"
                };
                progress.container(&c.name, status);
            }
            pending |= !up;
        }
        Ok(if pending {
            Verdict::Pending(recheck)
        } else {
            Verdict::Ready
        })
    };
    let Some(last) = watch(engine, &project.name, None, deadline, judge).await? else {
        return Ok(());
    };
    let pending: Vec<String> = last
        .iter()
        .filter(selected)
        .filter(|c| !(ready(c) || completed(c)))
        .map(|c| c.name.clone())
        .collect();
    // At the deadline, running counts even before it has run for SETTLE.
    if pending.is_empty() {
        return Ok(());
    }
    Err(StackError::WaitTimeout { pending })
}

fn exited(c: &Container) -> bool {
    c.state.ended()
}

/// How long the container has run since it last started, by its engine's record; zero if that
/// cannot be read (or is ahead of this machine's clock).
fn ran_for(c: &Container) -> Duration {
    let now = crate::clock::since_epoch();
    parse_rfc3339(&c.started_at)
        .and_then(|nanos| u64::try_from(nanos).ok())
        .and_then(|started| now.checked_sub(Duration::from_nanos(started)))
        .unwrap_or_default()
}

//! `docker stack ls`, `services` and `ps`: what a stack is on the Swarm.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{EndpointPortConfigPublishModeEnum, Service, Task};
use bollard::query_parameters::{
    ListNodesOptions, ListServicesOptionsBuilder, ListTasksOptionsBuilder,
};

use super::convert::NAMESPACE_LABEL;
use super::convert::namespace_filter;
use super::deploy::stack_services;
use super::info::{capitalize, require_manager};
use super::{Result, ServiceSummary, StackSummary, SwarmError, TaskSummary, UpdateStatus};
use crate::Engine;

/// Every stack on the Swarm (services labelled with a namespace), by name.
pub async fn stacks(engine: &Engine) -> Result<Vec<StackSummary>> {
    require_manager(engine).await?;
    let filter = HashMap::from([("label", vec![NAMESPACE_LABEL])]);
    let services = engine
        .docker()
        .list_services(Some(
            ListServicesOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
        .map_err(SwarmError::request("list the Swarm's services"))?;
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for s in &services {
        if let Some(ns) = s
            .spec
            .as_ref()
            .and_then(|s| s.labels.as_ref())
            .and_then(|l| l.get(NAMESPACE_LABEL))
        {
            *by_name.entry(ns.clone()).or_default() += 1;
        }
    }
    Ok(by_name
        .into_iter()
        .map(|(name, services)| StackSummary { name, services })
        .collect())
}

/// The stack's services, by name, with their replicas running and desired.
pub async fn services(engine: &Engine, namespace: &str) -> Result<Vec<ServiceSummary>> {
    require_manager(engine).await?;
    let mut out: Vec<ServiceSummary> = stack_services(engine, namespace)
        .await?
        .iter()
        .map(service_summary)
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub(crate) fn service_summary(s: &Service) -> ServiceSummary {
    let spec = s.spec.clone().unwrap_or_default();
    let mode = spec.mode.clone().unwrap_or_default();
    let mode = if mode.global.is_some() {
        "global"
    } else if mode.replicated_job.is_some() {
        "replicated job"
    } else if mode.global_job.is_some() {
        "global job"
    } else {
        "replicated"
    };
    let status = s.service_status.clone().unwrap_or_default();
    let mut ports: Vec<_> = s
        .endpoint
        .as_ref()
        .and_then(|e| e.ports.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.publish_mode != Some(EndpointPortConfigPublishModeEnum::HOST))
        .collect();
    ports.sort_by_key(|p| (p.protocol.map(|p| p.to_string()), p.published_port));
    let image = spec
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    ServiceSummary {
        id: s.id.clone().unwrap_or_default(),
        name: spec.name.clone().unwrap_or_default(),
        mode: mode.to_owned(),
        desired: status.desired_tasks.unwrap_or_default(),
        running: status.running_tasks.unwrap_or_default(),
        // docker shows the image without the digest a deploy pinned.
        image: image.split('@').next().unwrap_or_default().to_owned(),
        ports: ports
            .iter()
            .map(|p| {
                format!(
                    "*:{}->{}/{}",
                    p.published_port.unwrap_or_default(),
                    p.target_port.unwrap_or_default(),
                    p.protocol.map(|p| p.to_string()).unwrap_or_default()
                )
            })
            .collect(),
        update: s.update_status.as_ref().map(|u| UpdateStatus {
            state: u.state.map(|s| s.to_string()).unwrap_or_default(),
            message: u.message.clone().unwrap_or_default(),
            started: u.started_at.clone().unwrap_or_default(),
            completed: u.completed_at.clone().unwrap_or_default(),
        }),
    }
}

/// The stack's tasks, the current and the previous of each slot, as `docker stack ps` orders
/// them: by name, the newest of a slot first.
pub async fn tasks(engine: &Engine, namespace: &str) -> Result<Vec<TaskSummary>> {
    require_manager(engine).await?;
    let docker = engine.docker();
    let mut tasks: Vec<Task> = docker
        .list_tasks(Some(
            ListTasksOptionsBuilder::new()
                .filters(&namespace_filter(namespace))
                .build(),
        ))
        .await
        .map_err(SwarmError::request(format!(
            "list the tasks of stack {namespace}"
        )))?;
    let services: HashMap<String, String> = stack_services(engine, namespace)
        .await?
        .into_iter()
        .filter_map(|s| Some((s.id?, s.spec?.name?)))
        .collect();
    let nodes: HashMap<String, String> = docker
        .list_nodes(None::<ListNodesOptions>)
        .await
        .map_err(SwarmError::request("list the Swarm's nodes"))?
        .into_iter()
        .filter_map(|n| Some((n.id?, n.description?.hostname?)))
        .collect();
    let text = |v: Option<String>| v.unwrap_or_default();
    let mut out: Vec<(String, TaskSummary)> = tasks
        .drain(..)
        .map(|t| {
            let service_id = text(t.service_id.clone());
            let service = services.get(&service_id).cloned().unwrap_or(service_id);
            let node_id = text(t.node_id.clone());
            let name = match t.slot.filter(|s| *s != 0) {
                Some(slot) => format!("{service}.{slot}"),
                None => format!("{service}.{node_id}"),
            };
            let status = t.status.clone().unwrap_or_default();
            let state = |s: Option<bollard::models::TaskState>| {
                capitalize(&s.map(|s| s.to_string()).unwrap_or_default())
            };
            let summary = TaskSummary {
                id: text(t.id.clone()),
                name,
                service,
                image: t
                    .spec
                    .as_ref()
                    .and_then(|s| s.container_spec.as_ref())
                    .and_then(|c| c.image.as_deref())
                    .and_then(|i| i.split('@').next())
                    .unwrap_or_default()
                    .to_owned(),
                node: nodes.get(&node_id).cloned().unwrap_or(node_id),
                desired_state: state(t.desired_state),
                current_state: state(status.state),
                error: text(status.err),
                since: text(status.timestamp),
            };
            (text(t.created_at), summary)
        })
        .collect();
    out.sort_by(|(a_created, a), (b_created, b)| {
        natural(&a.name, &b.name).then_with(|| b_created.cmp(a_created))
    });
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

/// Names with numbers compared as numbers (`api.2` before `api.10`), as docker sorts tasks.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                let mut n = c.to_digit(10).unwrap_or_default() as u64;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n.saturating_mul(10).saturating_add(d as u64);
                    chars.next();
                }
                out.push((std::mem::take(&mut text), n));
            } else {
                text.push(c);
            }
        }
        out.push((text, 0));
        out
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::natural;
    use std::cmp::Ordering;

    #[test]
    fn task_names_sort_by_their_numbers() {
        assert_eq!(natural("s_api.2", "s_api.10"), Ordering::Less);
        assert_eq!(natural("s_api.10", "s_api.9"), Ordering::Greater);
        assert_eq!(natural("s_api.1", "s_web.1"), Ordering::Less);
        assert_eq!(natural("s_api.1", "s_api.1"), Ordering::Equal);
    }
}

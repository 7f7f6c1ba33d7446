//! Whether the engine is in a Swarm, and the Swarm's nodes.

use bollard::models::{LocalNodeState, Node};
use bollard::query_parameters::ListNodesOptions;

use super::{NodeSummary, Result, SwarmError, SwarmInfo};
use crate::Engine;
use crate::error::{Endpoint, Error};

/// This engine's place in a Swarm; `None` when it is in none (or still joining one).
pub async fn info(engine: &Engine) -> Result<Option<SwarmInfo>> {
    let info = engine
        .docker()
        .info()
        .await
        .map_err(|cause| Error::Request {
            endpoint: Endpoint(engine.endpoint().to_owned()),
            action: "report its Swarm state",
            cause,
        })?;
    let Some(swarm) = info.swarm else {
        return Ok(None);
    };
    if swarm.local_node_state != Some(LocalNodeState::ACTIVE) {
        return Ok(None);
    }
    Ok(Some(SwarmInfo {
        node_id: swarm.node_id.unwrap_or_default(),
        manager: swarm.control_available == Some(true),
        nodes: swarm.nodes.unwrap_or(0).max(0) as usize,
    }))
}

/// Fails with what to do unless the engine is a Swarm manager: only a manager deploys, lists
/// and removes stacks.
pub(crate) async fn require_manager(engine: &Engine) -> Result<()> {
    match info(engine).await? {
        Some(i) if i.manager => Ok(()),
        _ => Err(SwarmError::NotManager {
            endpoint: engine.endpoint().to_owned(),
        }),
    }
}

/// The Swarm's nodes, by hostname.
pub async fn nodes(engine: &Engine) -> Result<Vec<NodeSummary>> {
    require_manager(engine).await?;
    let nodes = engine
        .docker()
        .list_nodes(None::<ListNodesOptions>)
        .await
        .map_err(SwarmError::request("list the Swarm's nodes"))?;
    let mut out: Vec<NodeSummary> = nodes.iter().map(node_summary).collect();
    out.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    Ok(out)
}

fn node_summary(node: &Node) -> NodeSummary {
    let text = |v: Option<String>| v.unwrap_or_default();
    let manager_status = node.manager_status.as_ref().map_or(String::new(), |m| {
        if m.leader == Some(true) {
            "Leader".to_owned()
        } else {
            capitalize(&m.reachability.map(|r| r.to_string()).unwrap_or_default())
        }
    });
    NodeSummary {
        id: text(node.id.clone()),
        hostname: text(node.description.as_ref().and_then(|d| d.hostname.clone())),
        status: text(
            node.status
                .as_ref()
                .and_then(|s| s.state.map(|s| s.to_string())),
        ),
        availability: text(
            node.spec
                .as_ref()
                .and_then(|s| s.availability.map(|a| a.to_string())),
        ),
        manager_status,
    }
}

/// `reachable` as `docker node ls` prints it: `Reachable`.
pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

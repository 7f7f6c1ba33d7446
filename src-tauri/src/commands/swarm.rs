//! The Swarm view: whether the engine is a Swarm manager, the Swarm stack open in the view, a
//! deploy of the open project to it, and its services' Scale and Rollback. Every act is on the
//! open stack and one of its services as the engine lists them now; anything else is refused.

use std::sync::atomic::Ordering;

use berth_engine::swarm::{self, DeployOptions};
use berth_engine::{Engine, Progress, ProgressEvent};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;
use tokio::sync::watch;
use ts_rs::TS;

use super::stack::forward_progress;
use super::{Berth, replace};
use crate::error::Error;
use crate::swarm::SwarmView;

/// The engine's part in a Swarm, for the header's Swarm button.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SwarmRole {
    /// A manager: stacks can be deployed to it and watched.
    pub manager: bool,
    pub nodes: u32,
}

/// The engine's part in a Swarm; `None` when it is in none or not connected.
#[tauri::command]
pub async fn swarm_info(berth: State<'_, Berth>) -> Result<Option<SwarmRole>, Error> {
    let Some(engine) = berth.session().engine() else {
        return Ok(None);
    };
    Ok(swarm::info(&engine).await?.map(|i| SwarmRole {
        manager: i.manager,
        nodes: i.nodes as u32,
    }))
}

/// Opens Swarm stack `stack` in the view (deployed or not yet): its view goes to `on_view` now
/// and on every change, its services' logs to the log viewer when it shows them.
#[tauri::command]
pub async fn swarm_open(
    berth: State<'_, Berth>,
    stack: String,
    on_view: Channel<SwarmView>,
) -> Result<(), Error> {
    check_stack_name(&stack).map_err(Error::invalid)?;
    let engine = manager(&berth).await?;
    let (tx, mut rx) = watch::channel(SwarmView {
        stack: stack.clone(),
        ..SwarmView::default()
    });
    berth.swarm.open(engine, stack, tx);
    let task = tauri::async_runtime::spawn(async move {
        loop {
            let view = rx.borrow_and_update().clone();
            if on_view.send(view).is_err() || rx.changed().await.is_err() {
                return;
            }
        }
    });
    replace(&berth.swarm_feed, task);
    Ok(())
}

/// Closes the Swarm view: its reading and logs end (the notifications go on); the log viewer shows the
/// project's logs again.
#[tauri::command]
pub fn swarm_close(berth: State<'_, Berth>) {
    berth.swarm_logs.store(false, Ordering::SeqCst);
    berth.swarm.close();
    if let Some(task) = berth.swarm_feed.lock().expect("feed lock").take() {
        task.abort();
    }
}

/// Whether the log viewer shows the open Swarm stack's service logs (true) or the project's.
#[tauri::command]
pub fn swarm_logs(berth: State<'_, Berth>, on: bool) -> Result<(), Error> {
    if on {
        berth.swarm.current()?;
    }
    berth.swarm_logs.store(on, Ordering::SeqCst);
    Ok(())
}

/// Deploys the open project, as its files say now, to the open Swarm stack (`docker stack
/// deploy`); progress streams to `on_progress`. Resolves with the warnings about what Swarm
/// ignores in the files.
#[tauri::command]
pub async fn swarm_deploy(
    berth: State<'_, Berth>,
    on_progress: Channel<ProgressEvent>,
) -> Result<Vec<String>, Error> {
    let (stack, engine) = berth.swarm.current()?;
    let project = berth.session().stack()?.project().clone();
    let (progress, rx) = Progress::channel();
    let forward = tauri::async_runtime::spawn(forward_progress(rx, on_progress));
    berth.swarm.deploying(&stack, true);
    let result = swarm::deploy(
        &engine,
        &project,
        &stack,
        &DeployOptions::default(),
        &progress,
    )
    .await;
    berth.swarm.deploying(&stack, false);
    drop(progress);
    let _ = forward.await;
    Ok(result?)
}

/// Sets the replicas of the open stack's replicated service `service`.
#[tauri::command]
pub async fn swarm_scale(
    berth: State<'_, Berth>,
    service: String,
    replicas: u32,
) -> Result<(), Error> {
    let (stack, engine) = berth.swarm.current()?;
    let found = crate::swarm::service(&engine, &stack, &service).await?;
    if found.mode != "replicated" {
        return Err(Error::invalid(format!(
            "{service} is a {} service: it runs one task on each eligible node, and cannot be \
             scaled.",
            found.mode
        )));
    }
    berth.swarm.quiet(&found.name);
    Ok(swarm::scale(&engine, &found.name, u64::from(replicas)).await?)
}

/// Rolls the open stack's service `service` back to its previous definition.
#[tauri::command]
pub async fn swarm_rollback(berth: State<'_, Berth>, service: String) -> Result<(), Error> {
    let (stack, engine) = berth.swarm.current()?;
    let found = crate::swarm::service(&engine, &stack, &service).await?;
    berth.swarm.quiet(&found.name);
    Ok(swarm::rollback(&engine, &found.name).await?)
}

/// Removes the open Swarm stack (`docker stack rm`); the window has asked the user first.
/// Progress streams to `on_progress`.
#[tauri::command]
pub async fn swarm_remove(
    berth: State<'_, Berth>,
    on_progress: Channel<ProgressEvent>,
) -> Result<(), Error> {
    let (stack, engine) = berth.swarm.current()?;
    let (progress, rx) = Progress::channel();
    let forward = tauri::async_runtime::spawn(forward_progress(rx, on_progress));
    berth.swarm.deploying(&stack, true);
    let result = swarm::remove(&engine, &stack, &progress).await;
    berth.swarm.deploying(&stack, false);
    drop(progress);
    let _ = forward.await;
    Ok(result?)
}

/// Where the stack a notification's Show asks for goes: the window opens the Swarm view on it.
#[tauri::command]
pub fn swarm_reveals(berth: State<'_, Berth>, on_reveal: Channel<String>) {
    berth.swarm.on_reveal(on_reveal);
}

/// The engine, if it is a Swarm manager; otherwise what to do.
async fn manager(berth: &Berth) -> Result<Engine, Error> {
    let engine = (berth.session().engine())
        .ok_or_else(|| Error::not_ready("Berth is not connected to a Docker engine yet."))?;
    match swarm::info(&engine).await? {
        Some(info) if info.manager => Ok(engine),
        Some(_) => Err(Error::not_ready(
            "This Docker engine is a Swarm worker: deploy and watch stacks from a manager node.",
        )),
        None => Err(Error::not_ready(
            "This Docker engine is not in a Swarm: run `docker swarm init` (or join one) first.",
        )),
    }
}

/// A stack name as `docker stack deploy` takes it (a compose project name): lowercase letters,
/// digits, `-` and `_`, starting with a letter or digit.
fn check_stack_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if first && rest && name.len() <= 63 {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not a stack name: use lowercase letters, digits, '-' and '_', \
             starting with a letter or digit."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check_stack_name;

    #[test]
    fn stack_names_are_compose_project_names() {
        assert!(check_stack_name("shop").is_ok());
        assert!(check_stack_name("shop-2_b").is_ok());
        for bad in ["", "Shop", "-shop", "a b", "a/b", "x".repeat(64).as_str()] {
            assert!(check_stack_name(bad).is_err(), "{bad}");
        }
    }
}

//! `berthctl events`: the live state model's changes, as they happen.

use std::io::Write;

use berth_engine::{
    ChangeKind, Connection, ContainerState, EngineState, Session, SessionOptions, StateHandle,
};
use clap::Args;
use tokio::sync::broadcast::error::RecvError;

use crate::stack_args;
use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// One JSON object per line: the snapshot first, then each change.
    #[arg(long)]
    json: bool,
}

pub async fn run(project: &ProjectArgs, args: EventsArgs) -> anyhow::Result<()> {
    // The app's session, without its log follower: nothing here reads logs.
    let options = SessionOptions {
        engine: crate::choice(),
        ..Default::default()
    };
    let session = Session::open(Some(stack_args::load(project)?), options);
    let state = connected(&session).await?;
    let (snapshot, mut changes) = state.subscribe().await;
    let mut out = std::io::stdout();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&snapshot)?)?;
    }
    loop {
        let change = match changes.recv().await {
            Ok(change) => change,
            Err(RecvError::Lagged(n)) => {
                eprintln!("warning: {n} changes were dropped; the next resync catches up");
                continue;
            }
            Err(RecvError::Closed) => return Ok(()),
        };
        let line = if args.json {
            serde_json::to_string(&change)?
        } else {
            match &change.kind {
                ChangeKind::Container {
                    action,
                    container: c,
                } => {
                    let health = c.health.map(|h| format!(" {h}")).unwrap_or_default();
                    let asked = if c.state == ContainerState::Exited && c.stop_requested {
                        ", stopped on request"
                    } else {
                        ""
                    };
                    format!(
                        "container {} {action}: {}{health} (exit code {}{asked})",
                        c.name, c.state, c.exit_code
                    )
                }
                ChangeKind::ContainerRemoved { name, .. } => format!("container {name} removed"),
                ChangeKind::Resource {
                    resource,
                    name,
                    action,
                } => format!("{resource} {name} {action}"),
                ChangeKind::Engine {
                    state: EngineState::Unavailable { error, retry_in_ms },
                } => {
                    format!("engine unavailable ({error}); retrying in {retry_in_ms} ms")
                }
                ChangeKind::Engine { state } => format!("engine {state:?}").to_lowercase(),
                ChangeKind::Desired { service, desired } => {
                    format!("service {service} desired {desired:?}").to_lowercase()
                }
                ChangeKind::Resynced { .. } => "engine back; state resynced".to_owned(),
                ChangeKind::Project => "project files reloaded".to_owned(),
            }
        };
        // stdout closed (`| head`): stop quietly.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
}

/// The session's state model once it connects; the first failed attempt is an error, as for
/// every other command.
async fn connected(session: &Session) -> anyhow::Result<StateHandle> {
    let mut updates = session.updates();
    loop {
        if let Some(state) = session.state() {
            return Ok(state);
        }
        if let Connection::Unavailable { reason, .. } = &*updates.borrow_and_update() {
            anyhow::bail!("{reason}");
        }
        updates.changed().await?;
    }
}

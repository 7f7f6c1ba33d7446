//! The IPC commands the UI may call. Each is thin: it asks the engine and returns typed data.

use berth_engine::{Engine, EngineVersion};
use tauri::State;

use crate::project::{OpenProject, ProjectStatus};
use serde::Serialize;
use ts_rs::TS;

/// Whether a Docker engine answers, and what it is.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum EngineStatus {
    Connected(EngineVersion),
    Unavailable { reason: String },
}

#[tauri::command]
pub async fn engine_status() -> EngineStatus {
    let connected = async { Engine::connect().await?.version().await };
    match connected.await {
        Ok(version) => EngineStatus::Connected(version),
        Err(err) => EngineStatus::Unavailable {
            reason: err.to_string(),
        },
    }
}

/// The open project as the window lists it, or why its files could not be loaded.
#[tauri::command]
pub fn project(open: State<'_, OpenProject>) -> ProjectStatus {
    open.status()
}

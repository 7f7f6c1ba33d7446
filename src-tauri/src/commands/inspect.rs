//! A service's configuration and containers, for the Inspect panel.

use berth_engine::inspect::ServiceInspect;
use tauri::State;

use super::Berth;
use crate::error::Error;

/// The open project's service `service`, inspected; a name the project does not define is
/// refused.
#[tauri::command]
pub async fn inspect_service(
    berth: State<'_, Berth>,
    service: String,
) -> Result<ServiceInspect, Error> {
    let stack = berth.session().stack()?;
    Ok(stack.inspect(&service).await?)
}

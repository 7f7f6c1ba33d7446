//! Terminals: an interactive shell in a container of the open project, its bytes over a
//! `Channel` (`crate::terminal` batches them and keeps to the page's pace).

use berth_engine::ExecOptions;
use tauri::State;
use tauri::ipc::{Channel, InvokeResponseBody};

use super::Berth;
use crate::error::Error;

/// Opens a shell (bash, else sh) in replica `index` of `service`, a `cols`×`rows` TTY, and
/// returns its id. Its output goes to `on_output` as raw bytes, then a `TerminalEnded`.
#[tauri::command]
pub async fn terminal_open(
    berth: State<'_, Berth>,
    service: String,
    index: u32,
    cols: u16,
    rows: u16,
    on_output: Channel<InvokeResponseBody>,
) -> Result<u32, Error> {
    let session = berth.session();
    // The service is one of the open project's: the stack refuses any other name.
    let exec = session
        .stack()?
        .exec(&service, Some(index), ExecOptions::shell())
        .await?;
    exec.process.resize(cols, rows).await?;
    if !std::sync::Arc::ptr_eq(&session, &berth.session()) {
        // Another project opened meanwhile; dropping the exec hangs its shell up.
        return Err(Error::not_ready(
            "Another project was opened meanwhile; open the terminal there.",
        ));
    }
    let name = format!("{service}-{index}");
    Ok(berth.terminals.open(name, exec, on_output))
}

/// Types `data` into terminal `id`.
#[tauri::command]
pub async fn terminal_input(berth: State<'_, Berth>, id: u32, data: String) -> Result<(), Error> {
    berth.terminals.input(id, data.as_bytes()).await
}

#[tauri::command]
pub async fn terminal_resize(
    berth: State<'_, Berth>,
    id: u32,
    cols: u16,
    rows: u16,
) -> Result<(), Error> {
    berth.terminals.resize(id, cols, rows).await
}

/// The page has written `bytes` more of terminal `id`'s output (flow control).
#[tauri::command]
pub fn terminal_ack(berth: State<'_, Berth>, id: u32, bytes: u64) -> Result<(), Error> {
    berth.terminals.ack(id, bytes)
}

/// Ends terminal `id`: its shell is hung up.
#[tauri::command]
pub async fn terminal_close(berth: State<'_, Berth>, id: u32) -> Result<(), Error> {
    berth.terminals.close(id).await
}

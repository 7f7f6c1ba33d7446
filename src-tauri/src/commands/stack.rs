//! The stack's view and its actions.

use berth_engine::{Progress, ProgressEvent};
use tauri::State;
use tauri::ipc::Channel;
use tokio::sync::watch;

use super::{Berth, replace};
use crate::error::Error;
use crate::view::{ActionRequest, StackView};

/// Sends the stack's view now and after every change.
#[tauri::command]
pub fn watch_stack(berth: State<'_, Berth>, on_view: Channel<StackView>) {
    let task = tauri::async_runtime::spawn(forward_views(berth.watch(), on_view));
    replace(&berth.stack_feed, task);
}

/// Sends each view `views` holds until the window or the app is gone.
async fn forward_views(mut views: watch::Receiver<StackView>, on_view: Channel<StackView>) {
    loop {
        let view = views.borrow_and_update().clone();
        if on_view.send(view).is_err() || views.changed().await.is_err() {
            return;
        }
    }
}

/// Starts, stops, restarts or takes down the stack or some of its services. Progress streams to
/// `on_progress`; the error says what failed and what to do, with the ports of a conflict.
#[tauri::command]
pub async fn run_action(
    berth: State<'_, Berth>,
    request: ActionRequest,
    on_progress: Channel<ProgressEvent>,
) -> Result<(), Error> {
    let (progress, rx) = Progress::channel();
    let forward = tauri::async_runtime::spawn(forward_progress(rx, on_progress));
    let result = berth.run(request, progress).await;
    // The sink is gone with `run`: the forwarder drains what is left and ends.
    let _ = forward.await;
    result
}

/// Sends each progress event to the window until the sink (the action) is gone.
pub(super) async fn forward_progress(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<ProgressEvent>,
    on_progress: Channel<ProgressEvent>,
) {
    while let Some(event) = rx.recv().await {
        let _ = on_progress.send(event);
    }
}

#[tauri::command]
pub fn cancel_action(berth: State<'_, Berth>) {
    berth.session().cancel();
}

/// Turns watch mode on or off for services of the open project (none: all with
/// `develop.watch`); on runs `up` of them first, its progress streamed to `on_progress`.
#[tauri::command]
pub async fn set_watch(
    berth: State<'_, Berth>,
    services: Vec<String>,
    on: bool,
    on_progress: Channel<ProgressEvent>,
) -> Result<(), Error> {
    let (progress, rx) = Progress::channel();
    let forward = tauri::async_runtime::spawn(forward_progress(rx, on_progress));
    let result = berth.set_watch(services, on, progress).await;
    let _ = forward.await;
    result
}

//! Starting the stack from the command line, where a Ctrl-C cancels it: `up` and `watch`.

use berth_engine::{Stack, StackError, UpOptions};
use tokio::signal::unix::Signal;
use tokio_util::sync::CancellationToken;

use crate::render;

/// `up` with its progress drawn; a Ctrl-C from `interrupts` cancels it (it starts and creates
/// nothing new and stops what it started).
pub async fn up(
    stack: &Stack,
    options: &UpOptions,
    interrupts: &mut Signal,
) -> Result<(), StackError> {
    let cancel = CancellationToken::new();
    let (progress, drawn) = render::progress();
    let result = {
        let up = stack.up_cancellable(options, &progress, &cancel);
        tokio::pin!(up);
        tokio::select! {
            result = &mut up => result,
            _ = interrupts.recv() => {
                cancel.cancel();
                up.await
            }
        }
    };
    drop(progress);
    let _ = drawn.await;
    result
}

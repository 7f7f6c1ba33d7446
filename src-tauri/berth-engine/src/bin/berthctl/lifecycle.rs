//! `berthctl start|stop|restart|kill|rm|pull|build [SERVICE…]`.

use berth_engine::{RmOptions, Stack};
use clap::{Args, Subcommand};

use crate::{render, stack_args};
use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct Services {
    /// Services to act on; none means all.
    services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send.
    #[arg(short = 's', long, default_value = "SIGKILL")]
    signal: String,
    services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Stop the containers first, if needed.
    #[arg(short = 's', long)]
    stop: bool,
    /// Don't ask to confirm removal (berthctl never asks; accepted for compose's sake).
    #[arg(short = 'f', long = "force")]
    _force: bool,
    /// Remove anonymous volumes attached to the containers.
    #[arg(short = 'v', long)]
    volumes: bool,
    services: Vec<String>,
}

/// The service commands that share one shape.
#[derive(Subcommand, Debug)]
pub enum Lifecycle {
    /// Start services' existing containers.
    Start(Services),
    /// Stop services.
    Stop(Services),
    /// Restart services.
    Restart(Services),
    /// Force stop services.
    Kill(KillArgs),
    /// Remove stopped service containers.
    Rm(RmArgs),
    /// Pull service images.
    Pull(Services),
    /// Build service images.
    Build(Services),
}

pub async fn run(project: &ProjectArgs, command: Lifecycle) -> anyhow::Result<()> {
    let stack = stack_args::stack_by_name(project).await?;
    let (progress, drawn) = render::progress();
    let result = act(&stack, command, &progress).await;
    drop(progress);
    let _ = drawn.await;
    Ok(result?)
}

async fn act(
    stack: &Stack,
    command: Lifecycle,
    progress: &berth_engine::Progress,
) -> Result<(), berth_engine::StackError> {
    match command {
        Lifecycle::Start(s) => stack.start(&s.services, progress).await,
        Lifecycle::Stop(s) => stack.stop(&s.services, progress).await,
        Lifecycle::Restart(s) => stack.restart(&s.services, progress).await,
        Lifecycle::Kill(k) => stack.kill(&k.services, Some(&k.signal), progress).await,
        Lifecycle::Rm(r) => {
            let options = RmOptions {
                stop: r.stop,
                volumes: r.volumes,
            };
            stack.rm(&r.services, &options, progress).await
        }
        Lifecycle::Pull(s) => stack.pull(&s.services, progress).await,
        Lifecycle::Build(s) => stack.build(&s.services, progress).await,
    }
}

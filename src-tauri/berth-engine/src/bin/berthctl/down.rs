//! `berthctl down`.

use berth_engine::DownOptions;
use clap::Args;

use crate::{render, stack_args};
use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct DownArgs {
    /// Remove named volumes declared in the compose file and anonymous volumes.
    #[arg(short = 'v', long)]
    volumes: bool,
    /// Remove containers for services not defined in the compose file.
    #[arg(long)]
    remove_orphans: bool,
}

pub async fn run(project: &ProjectArgs, args: DownArgs) -> anyhow::Result<()> {
    let stack = stack_args::stack_by_name(project).await?;
    let options = DownOptions {
        volumes: args.volumes,
        remove_orphans: args.remove_orphans,
    };
    let (progress, drawn) = render::progress();
    let result = stack.down(&options, &progress).await;
    drop(progress);
    let _ = drawn.await;
    Ok(result?)
}

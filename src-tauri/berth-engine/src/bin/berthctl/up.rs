//! `berthctl up`.

use std::time::Duration;

use berth_engine::{PullPolicy, StackError, UpOptions, WatchOptions};
use clap::{Args, ValueEnum};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use std::collections::BTreeSet;
use std::os::fd::AsFd;

use anyhow::Context;

use crate::{Exit, attach, interruptible, stack_args, watch};
use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Detached mode: return once the containers run, without printing their logs.
    #[arg(short = 'd', long = "detach")]
    detach: bool,
    /// Attach to the logs of the named services' dependencies too.
    #[arg(long)]
    attach_dependencies: bool,
    /// Don't print a prefix in logs.
    #[arg(long)]
    no_log_prefix: bool,
    /// Produce monochrome output.
    #[arg(long)]
    no_color: bool,
    /// Wait for services to be running and healthy.
    #[arg(long)]
    wait: bool,
    /// Seconds to wait with --wait.
    #[arg(long, value_name = "SECONDS")]
    wait_timeout: Option<u64>,
    /// Build images before starting containers.
    #[arg(long)]
    build: bool,
    /// Pull images before running.
    #[arg(long, value_enum)]
    pull: Option<Pull>,
    /// Recreate containers even if their configuration has not changed.
    #[arg(long)]
    force_recreate: bool,
    /// Remove containers for services not defined in the compose file.
    #[arg(long)]
    remove_orphans: bool,
    /// Watch source code and rebuild/refresh containers when files are updated.
    #[arg(short = 'w', long)]
    watch: bool,
    /// Services to start (with their dependencies).
    services: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Pull {
    Always,
    Missing,
    Never,
}

pub async fn run(project: &ProjectArgs, args: UpArgs) -> anyhow::Result<()> {
    if args.watch && (args.detach || args.wait) {
        let flag = if args.wait { "--wait" } else { "--detach" };
        anyhow::bail!(
            "{flag} cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"
        );
    }
    let stack = stack_args::stack(project).await?;
    let started = berth_engine::clock::now_ns();
    // Attached to the services named (all when none are), as compose; their dependencies too
    // with --attach-dependencies, and Ctrl-C stops everything this up brought up.
    let selected: BTreeSet<String> = if args.services.is_empty() {
        stack.project().services.keys().cloned().collect()
    } else {
        stack
            .project()
            .with_dependencies(args.services.iter().map(String::as_str))
            .into_iter()
            .collect()
    };
    let attached = if args.services.is_empty() || args.attach_dependencies {
        selected.clone()
    } else {
        args.services.iter().cloned().collect()
    };
    let options = UpOptions {
        services: args.services.clone(),
        wait: args.wait,
        wait_timeout: args.wait_timeout.map(Duration::from_secs),
        build: args.build,
        pull: args.pull.map(|p| match p {
            Pull::Always => PullPolicy::Always,
            Pull::Missing => PullPolicy::Missing,
            Pull::Never => PullPolicy::Never,
        }),
        force_recreate: args.force_recreate,
        remove_orphans: args.remove_orphans,
    };
    // One handler from here to the end: a Ctrl-C while starting and one while attached count
    // alike, and the next one forces.
    let mut interrupts = signal(SignalKind::interrupt()).context("cannot catch Ctrl-C")?;
    let result = interruptible::up(&stack, &options, &mut interrupts).await;
    let attached_run = !(args.detach || args.wait);
    let stop: Vec<String> = selected.into_iter().collect();
    match result {
        // Attached, as compose: what this up started is stopped, not left running.
        Err(StackError::Cancelled { .. }) if attached_run => {
            return attach::shut_down(&stack, &stop, &mut interrupts).await;
        }
        // Detached, as compose: what was created stays, said so, and the status says Ctrl-C.
        Err(cancelled @ StackError::Cancelled { .. }) => {
            eprintln!("{cancelled}");
            return Err(Exit(130).into());
        }
        result => result?,
    }
    if !attached_run {
        return Ok(());
    }
    // The watch's lines go to stdout beside the logs, marked as compose marks them. The logs
    // hold stdout's lock while attached: the lines go through a duplicate of its descriptor.
    let watch = match args.watch {
        true => {
            let out = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
            let cancel = CancellationToken::new();
            let options = WatchOptions {
                services: args.services.clone(),
                prune: true,
            };
            let (stack, stop) = (stack.clone(), cancel.clone());
            // A watch that cannot start says so at once; the logs go on, as `up` without it.
            let task = tokio::spawn(async move {
                if let Err(e) = watch::watch(&stack, options, stop, out, "⦿ ").await {
                    eprintln!("error: {e:#}");
                }
            });
            Some((cancel, task))
        }
        false => None,
    };
    let attach = attach::Attach {
        services: attached,
        stop,
        since: started,
        prefix: !args.no_log_prefix,
        color: !args.no_color,
    };
    let attached = attach::run(&stack, attach, &mut interrupts).await;
    if let Some((cancel, task)) = watch {
        cancel.cancel();
        task.await?;
    }
    attached
}

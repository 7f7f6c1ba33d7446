//! `berthctl watch` and the watch of `berthctl up --watch`: the engine's watch mode, printed in
//! `docker compose watch`'s words (docker/compose `pkg/compose/watch.go`).

use std::io::Write;

use anyhow::Context;
use berth_engine::{
    CancellationToken, ProjectArgs, Stack, UpOptions, WatchEvent, WatchEventKind, WatchOptions,
};
use clap::Args;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::{Exit, stack_args};

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Do not build & start services before watching.
    #[arg(long)]
    no_up: bool,
    /// Prune dangling images on rebuild (`--prune=false` keeps them).
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    prune: bool,
    /// Services to watch (all with `develop.watch` when none are named).
    services: Vec<String>,
}

pub async fn run(project: &ProjectArgs, args: WatchArgs) -> anyhow::Result<()> {
    let stack = stack_args::stack(project).await?;
    let mut interrupts = signal(SignalKind::interrupt()).context("cannot catch Ctrl-C")?;
    if !args.no_up {
        // As compose: the services up first, their images built when they have `build:`
        // and `develop:`, so what runs is what is watched.
        let build = stack.project().services.iter().any(|(name, s)| {
            (args.services.is_empty() || args.services.contains(name))
                && s.build.is_some()
                && s.extra.contains_key("develop")
        });
        let options = UpOptions {
            services: args.services.clone(),
            build,
            ..UpOptions::default()
        };
        crate::interruptible::up(&stack, &options, &mut interrupts).await?;
    }
    let options = WatchOptions {
        services: args.services,
        prune: args.prune,
    };
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        interrupts.recv().await;
        stop.cancel();
    });
    watch(&stack, options, cancel, std::io::stdout(), "").await?;
    // Only Ctrl-C ends a watch that started; compose's status for it.
    Err(Exit(130).into())
}

/// Watches until `cancel` fires, printing each step to `out` as compose prints it, after
/// `prefix`.
pub async fn watch(
    stack: &Stack,
    options: WatchOptions,
    cancel: CancellationToken,
    out: impl Write,
    prefix: &'static str,
) -> anyhow::Result<()> {
    let (tx, mut events) = mpsc::channel(64);
    let watching = stack.develop_watch(options, tx, cancel);
    tokio::pin!(watching);
    let mut lines = Lines {
        out,
        prefix,
        enabled: false,
    };
    loop {
        tokio::select! {
            result = &mut watching => {
                while let Ok(event) = events.try_recv() {
                    lines.print(&event);
                }
                result?;
                break;
            }
            Some(event) = events.recv() => lines.print(&event),
        }
    }
    Ok(())
}

/// compose's lines for watch events.
struct Lines<W> {
    out: W,
    prefix: &'static str,
    /// "Watch enabled" was said: compose says nothing of its initial sync.
    enabled: bool,
}

impl<W: Write> Lines<W> {
    fn print(&mut self, event: &WatchEvent) {
        let s = &event.service;
        match &event.kind {
            WatchEventKind::Watching if !self.enabled => {
                self.enabled = true;
                self.line("Watch enabled");
            }
            WatchEventKind::Syncing { files } if self.enabled => self.line(&format!(
                "Syncing service \"{s}\" after {files} changes were detected"
            )),
            WatchEventKind::Rebuilding => self.line(&format!(
                "Rebuilding service(s) [\"{s}\"] after changes were detected..."
            )),
            WatchEventKind::Rebuilt => {
                self.line(&format!("service(s) [\"{s}\"] successfully built"));
            }
            WatchEventKind::Restarted => self.line(&format!("service(s) [\"{s}\"] restarted")),
            // A hook's output as it printed it, where compose's exec prints it.
            WatchEventKind::Output {
                stderr: false,
                bytes,
            } => {
                let _ = self.out.write_all(bytes);
                let _ = self.out.flush();
            }
            WatchEventKind::Output {
                stderr: true,
                bytes,
            } => {
                let _ = std::io::stderr().write_all(bytes);
            }
            WatchEventKind::Executed { code } if *code != 0 => {
                eprintln!("Error handling changed files: service \"{s}\": exit code {code}");
            }
            WatchEventKind::Failed { message } => {
                eprintln!("Error handling changed files: service \"{s}\": {message}");
            }
            _ => {}
        }
    }

    /// One write per line, so lines written to the same place by others stay whole.
    fn line(&mut self, text: &str) {
        let _ = self
            .out
            .write_all(format!("{}{text}\n", self.prefix).as_bytes());
        let _ = self.out.flush();
    }
}

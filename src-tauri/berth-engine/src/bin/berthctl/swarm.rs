//! `berthctl stack …`: a compose file as a Docker Swarm stack, with `docker stack`'s commands,
//! names and output, so either tool manages what the other deployed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use berth_engine::swarm::{self, DeployOptions, ResolveImage, SwarmError};
use berth_engine::{Engine, Progress, ProgressEvent, ProjectArgs};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub enum StackCommand {
    /// Deploy a new stack or update an existing one.
    Deploy(DeployArgs),
    /// List the stacks.
    Ls,
    /// List the tasks of a stack.
    Ps { name: String },
    /// List the services of a stack.
    Services { name: String },
    /// Remove a stack.
    Rm { name: String },
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Path to a compose file (repeatable; later files merge over earlier ones).
    #[arg(
        short = 'c',
        long = "compose-file",
        value_name = "FILE",
        required = true
    )]
    files: Vec<PathBuf>,
    /// Remove the services the file no longer has.
    #[arg(long)]
    prune: bool,
    /// Query the registry to resolve image digests.
    #[arg(long, value_enum, default_value = "always")]
    resolve_image: Resolve,
    /// The stack's name.
    name: String,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Resolve {
    Always,
    Changed,
    Never,
}

pub async fn run(command: StackCommand) -> anyhow::Result<()> {
    let engine = super::engine().await?;
    let out = match command {
        StackCommand::Deploy(args) => return deploy(&engine, args).await,
        StackCommand::Ls => {
            let stacks = swarm::stacks(&engine).await?;
            table(
                &["NAME", "SERVICES"],
                stacks
                    .iter()
                    .map(|s| vec![s.name.clone(), s.services.to_string()]),
            )
        }
        StackCommand::Services { name } => {
            let services = swarm::services(&engine, &name).await?;
            if services.is_empty() {
                eprintln!("Nothing found in stack: {name}");
                return Ok(());
            }
            table(
                &["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"],
                services.iter().map(|s| {
                    vec![
                        short(&s.id),
                        s.name.clone(),
                        s.mode.clone(),
                        format!("{}/{}", s.running, s.desired),
                        s.image.clone(),
                        s.ports.join(", "),
                    ]
                }),
            )
        }
        StackCommand::Ps { name } => {
            let tasks = swarm::tasks(&engine, &name).await?;
            if tasks.is_empty() {
                // docker's words and exit status.
                eprintln!("nothing found in stack: {name}");
                return Err(crate::Exit(1).into());
            }
            let now = berth_engine::clock::now_ns();
            let mut previous = String::new();
            table(
                &[
                    "ID",
                    "NAME",
                    "IMAGE",
                    "NODE",
                    "DESIRED STATE",
                    "CURRENT STATE",
                    "ERROR",
                    "PORTS",
                ],
                tasks.iter().map(|t| {
                    // Earlier tasks of a slot under the current one, as docker indents them.
                    let name = if t.name == previous {
                        format!(" \\_ {}", t.name)
                    } else {
                        t.name.clone()
                    };
                    previous = t.name.clone();
                    vec![
                        short(&t.id),
                        name,
                        t.image.clone(),
                        t.node.clone(),
                        t.desired_state.clone(),
                        format!("{} {}", t.current_state, ago(&t.since, now)),
                        if t.error.is_empty() {
                            String::new()
                        } else {
                            format!("\"{}\"", t.error)
                        },
                        String::new(),
                    ]
                }),
            )
        }
        StackCommand::Rm { name } => {
            let (progress, printer) = printer();
            let result = swarm::remove(&engine, &name, &progress).await;
            drop(progress);
            let _ = printer.await;
            return match result {
                // Not an error to docker either: there is nothing to remove.
                Err(SwarmError::NothingFound { namespace }) => {
                    eprintln!("Nothing found in stack: {namespace}");
                    Ok(())
                }
                result => Ok(result?),
            };
        }
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(())
}

async fn deploy(engine: &Engine, args: DeployArgs) -> anyhow::Result<()> {
    let flags = ProjectArgs {
        files: args.files,
        project_name: Some(args.name.clone()),
        ..Default::default()
    };
    let options = flags
        .load_options()
        .context("cannot read the current directory")?;
    let project = berth_compose::load(&options).map_err(|e| anyhow::anyhow!("{}", e.render()))?;
    let (progress, printer) = printer();
    let options = DeployOptions {
        prune: args.prune,
        resolve_image: match args.resolve_image {
            Resolve::Always => ResolveImage::Always,
            Resolve::Changed => ResolveImage::Changed,
            Resolve::Never => ResolveImage::Never,
        },
    };
    let result = swarm::deploy(engine, &project, &args.name, &options, &progress).await;
    drop(progress);
    let _ = printer.await;
    result?;
    Ok(())
}

/// A progress sink printing docker stack's lines: what it creates, updates and removes on
/// stdout, warnings on stderr; the task ends when the sink is dropped.
fn printer() -> (Progress, tokio::task::JoinHandle<()>) {
    let (progress, mut rx) = Progress::channel();
    let task = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            match event {
                ProgressEvent::Resource {
                    resource,
                    name,
                    status,
                } => println!("{status} {} {name}", resource.to_string().to_lowercase()),
                ProgressEvent::Warning { message } => eprintln!("{message}\n"),
                _ => {}
            }
        }
    });
    (progress, task)
}

/// An id as docker shows it in a table: its first 12 characters.
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// How long ago an RFC 3339 time was, in docker's words (`units.HumanDuration`).
fn ago(since: &str, now_ns: i64) -> String {
    let Some(then) = berth_engine::logs::parse_rfc3339(since) else {
        return String::new();
    };
    let secs = ((now_ns - then).max(0) / 1_000_000_000) as u64;
    let words = match secs {
        0 => "less than a second".to_owned(),
        1 => "1 second".to_owned(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "about a minute".to_owned(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 7200 => "about an hour".to_owned(),
        s if s < 48 * 3600 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86400),
    };
    format!("{words} ago")
}

/// docker's table layout: each column as wide as its widest cell plus three, ten at least;
/// the last one not padded.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(rows)
        .collect();
    let mut widths = vec![0; header.len()];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count() + 3).max(10);
        }
    }
    rows.iter()
        .map(|r| {
            let last = r.len() - 1;
            let mut line: String = r
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if i == last {
                        cell.clone()
                    } else {
                        format!("{cell:w$}")
                    }
                })
                .collect();
            line.push('\n');
            line
        })
        .collect()
}

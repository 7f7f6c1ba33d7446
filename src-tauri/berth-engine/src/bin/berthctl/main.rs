//! `berthctl`: Berth's engine from the command line, with `docker compose`'s flags and formats.

mod attach;
mod config;
mod down;
mod events;
mod exec;
mod interruptible;
mod lifecycle;
mod logs;
mod ls;
mod ps;
mod render;
mod stack_args;
mod stats;
mod swarm;
mod up;
mod watch;

use std::process::ExitCode;
use std::sync::OnceLock;

use berth_engine::{Engine, EngineChoice, ProjectArgs};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "berthctl",
    version,
    about = "Run and watch a Docker Compose stack"
)]
struct Cli {
    /// Name of the Docker context to use (overrides DOCKER_HOST and DOCKER_CONTEXT).
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
    #[command(flatten)]
    project: ProjectArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, resolve and render the compose files in canonical format.
    Config(config::ConfigArgs),
    /// Create and start containers.
    Up(up::UpArgs),
    /// Stop and remove containers and networks.
    Down(down::DownArgs),
    /// List containers.
    Ps(ps::PsArgs),
    /// Follow the live state of the project's containers.
    Events(events::EventsArgs),
    /// View output from containers.
    Logs(logs::LogsArgs),
    /// List the compose projects on the engine.
    Ls(ls::LsArgs),
    /// Display a live stream of the containers' resource usage.
    Stats(stats::StatsArgs),
    #[command(flatten)]
    Lifecycle(lifecycle::Lifecycle),
    /// Execute a command in a running container.
    Exec(exec::ExecArgs),
    /// Show the versions of berthctl and of the Docker engine it talks to.
    /// Watch the build context of services and refresh their containers when files change.
    Watch(watch::WatchArgs),
    Version {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Deploy the project to a Docker Swarm and manage its stacks, as `docker stack` does.
    #[command(subcommand)]
    Stack(swarm::StackCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    CONTEXT.get_or_init(|| cli.context.clone());
    if let Command::Config(args) = &cli.command {
        return config::run(&cli.project, args);
    }
    match run(cli.command, &cli.project).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<Exit>() => {
            ExitCode::from(err.downcast_ref::<Exit>().map_or(1, |e| e.0))
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--context`, for every command's connection.
static CONTEXT: OnceLock<Option<String>> = OnceLock::new();

/// The engine `--context`, else the environment names, as the docker CLI chooses it.
pub fn choice() -> EngineChoice {
    match CONTEXT.get().and_then(Option::as_deref) {
        Some(name) => EngineChoice::Context(name.to_owned()),
        None => EngineChoice::Environment,
    }
}

/// A connection to [`choice`]'s engine.
pub async fn engine() -> anyhow::Result<Engine> {
    Ok(Engine::connect_with(&choice()).await?)
}

/// Ends the command with this exit status and nothing more to say (130: interrupted by Ctrl-C).
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

async fn run(command: Command, project: &ProjectArgs) -> anyhow::Result<()> {
    match command {
        Command::Config(_) => unreachable!("config runs without an engine"),
        Command::Up(args) => up::run(project, args).await,
        Command::Down(args) => down::run(project, args).await,
        Command::Ps(args) => ps::run(project, args).await,
        Command::Events(args) => events::run(project, args).await,
        Command::Logs(args) => logs::run(project, args).await,
        Command::Ls(args) => ls::run(args).await,
        Command::Stats(args) => stats::run(project, args).await,
        Command::Lifecycle(command) => lifecycle::run(project, command).await,
        Command::Exec(args) => exec::run(project, args).await,
        Command::Watch(args) => watch::run(project, args).await,
        Command::Stack(command) => swarm::run(command).await,
        Command::Version { json } => {
            let engine = engine().await?.version().await?;
            if json {
                let out =
                    serde_json::json!({ "berthctl": env!("CARGO_PKG_VERSION"), "engine": engine });
                println!("{out}");
            } else {
                println!("berthctl {}", env!("CARGO_PKG_VERSION"));
                println!(
                    "engine {} (API {}, {}/{}) at {}",
                    engine.version, engine.api_version, engine.os, engine.arch, engine.endpoint
                );
            }
            Ok(())
        }
    }
}

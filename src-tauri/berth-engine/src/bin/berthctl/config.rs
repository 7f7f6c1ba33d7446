//! `berthctl config`: the normalized project, as `docker compose config` prints it.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    format: Format,
    /// Print the service names, one per line.
    #[arg(long)]
    services: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Json,
    Yaml,
}

/// Loads the project and prints it; a load error is printed like rustc and fails the command.
pub fn run(project: &ProjectArgs, args: &ConfigArgs) -> ExitCode {
    let options = match project.load_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: cannot read the current directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let project = match berth_compose::load(&options) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{}", e.render());
            return ExitCode::FAILURE;
        }
    };
    let text = if args.services {
        project.services.keys().map(|n| format!("{n}\n")).collect()
    } else {
        match args.format {
            Format::Json => {
                let json = project.to_compose_json();
                serde_json::to_string_pretty(&json).expect("JSON values always print") + "\n"
            }
            Format::Yaml => project.to_compose_yaml(),
        }
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

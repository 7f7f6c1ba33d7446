//! `berthctl ps`: the project's containers, as a table or as `docker compose ps --format json`.

use std::io::Write;

use berth_engine::{Container, ContainerState, Health, ServiceStatus, labels};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::stack_args;
use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers, stopped ones too.
    #[arg(short = 'a', long)]
    all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub async fn run(project: &ProjectArgs, args: PsArgs) -> anyhow::Result<()> {
    let stack = stack_args::stack_by_name(project).await?;
    let containers = stack.ps(args.all).await?;
    let text = match args.format {
        Format::Json => containers
            .iter()
            .map(|c| json_line(c, &stack.project().name) + "\n")
            .collect(),
        Format::Table => table(&containers),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

/// Docker's words for a container's status (`Up (healthy)`, `Exited (1)`), as compose's JSON
/// has them.
fn status(c: &Container) -> String {
    match (c.state, c.health) {
        (ContainerState::Running, Some(health)) => format!("Up ({health})"),
        (ContainerState::Running, None) => "Up".to_owned(),
        (ContainerState::Exited | ContainerState::Dead, _) => format!("Exited ({})", c.exit_code),
        (other, _) => {
            let mut s = other.as_str().to_owned();
            if let Some(first) = s.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            s
        }
    }
}

/// The fields `docker compose ps --format json` prints, with the same names.
fn json_line(c: &Container, project: &str) -> String {
    let publishers: Vec<_> = c
        .ports
        .iter()
        .map(|p| {
            json!({
                "URL": p.host_ip,
                "TargetPort": p.container_port,
                "PublishedPort": p.host_port,
                "Protocol": p.protocol,
            })
        })
        .collect();
    let mut labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    json!({
        "ID": c.id.get(..12).unwrap_or(&c.id),
        "Name": c.name,
        "Names": c.name,
        "Image": c.image,
        "Command": format!("\"{}\"", c.command),
        "Project": c.labels.get(labels::PROJECT).map_or(project, String::as_str),
        "Service": c.service,
        "State": c.state,
        "Health": c.health.map_or("", Health::as_str),
        "ExitCode": c.exit_code,
        "Status": status(c),
        "Publishers": publishers,
        "Labels": labels.join(","),
    })
    .to_string()
}

fn table(containers: &[Container]) -> String {
    let rows: Vec<[String; 5]> = containers
        .iter()
        .map(|c| {
            let ports: Vec<String> = c
                .ports
                .iter()
                .map(|p| match p.host_ip.as_str() {
                    _ if p.host_port == 0 => format!("{}/{}", p.container_port, p.protocol),
                    ip if ip.contains(':') => {
                        format!(
                            "[{ip}]:{}->{}/{}",
                            p.host_port, p.container_port, p.protocol
                        )
                    }
                    ip => format!("{ip}:{}->{}/{}", p.host_port, p.container_port, p.protocol),
                })
                .collect();
            [
                c.name.clone(),
                c.image.clone(),
                c.service.clone(),
                // The word the window, the tray and notifications use for it.
                ServiceStatus::of_container(c).summary(),
                ports.join(", "),
            ]
        })
        .collect();
    let header = ["NAME", "IMAGE", "SERVICE", "STATUS", "PORTS"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:w$}"))
                .collect();
            cells.join("   ").trim_end().to_owned() + "\n"
        })
        .collect()
}

//! `berthctl ls`: every compose project on the engine, Berth's and docker compose's alike,
//! printed exactly as `docker compose ls` prints it.

use std::io::Write;

use anyhow::bail;
use berth_engine::ProjectSummary;
use clap::{Args, ValueEnum};
use regex::Regex;
use serde::Serialize;

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Show stopped projects too.
    #[arg(short = 'a', long)]
    all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Only display project names.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Filter output based on conditions provided (`name=…`, a name or a regular expression).
    #[arg(long, value_name = "FILTER")]
    filter: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub async fn run(args: LsArgs) -> anyhow::Result<()> {
    let names = name_filters(&args.filter)?;
    let engine = crate::engine().await?;
    let mut projects = berth_engine::projects(&engine, args.all).await?;
    if !names.is_empty() {
        projects.retain(|p| names.iter().any(|n| n.matches(&p.name)));
    }
    let out = if args.quiet {
        projects.iter().map(|p| p.name.clone() + "\n").collect()
    } else {
        match args.format {
            Format::Json => json(&projects),
            Format::Table => table(&projects),
        }
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(())
}

/// A `name=` filter: it matches a name equal to it, or that its regular expression finds.
struct NameFilter {
    name: String,
    regex: Option<Regex>,
}

impl NameFilter {
    fn matches(&self, name: &str) -> bool {
        self.name == name || self.regex.as_ref().is_some_and(|r| r.is_match(name))
    }
}

fn name_filters(filters: &[String]) -> anyhow::Result<Vec<NameFilter>> {
    filters
        .iter()
        .map(|f| {
            let Some((key, value)) = f.split_once('=') else {
                bail!("bad format of filter (expected name=value)");
            };
            if key.trim().to_lowercase() != "name" {
                bail!("invalid filter '{}'", key.trim().to_lowercase());
            }
            let name = value.trim().to_owned();
            Ok(NameFilter {
                regex: Regex::new(&name).ok(),
                name,
            })
        })
        .collect()
}

/// A row of `docker compose ls --format json`, its fields in compose's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row<'a> {
    name: &'a str,
    status: &'a str,
    config_files: &'a str,
}

/// One array on one line, as compose's JSON encoder writes it.
fn json(projects: &[ProjectSummary]) -> String {
    let rows: Vec<Row> = projects
        .iter()
        .map(|p| Row {
            name: &p.name,
            status: &p.status,
            config_files: &p.config_files,
        })
        .collect();
    serde_json::to_string(&rows).expect("strings serialize") + "\n"
}

/// Columns as Go's tabwriter pads them for compose (at least 20 wide, 3 spaces of padding; the
/// last column is not padded).
fn table(projects: &[ProjectSummary]) -> String {
    let rows: Vec<[&str; 3]> = std::iter::once(["NAME", "STATUS", "CONFIG FILES"])
        .chain(
            projects
                .iter()
                .map(|p| [p.name.as_str(), &p.status, &p.config_files]),
        )
        .collect();
    let width = |i: usize| {
        let widest = rows.iter().map(|r| r[i].chars().count()).max();
        (widest.unwrap_or(0) + 3).max(20)
    };
    let (name_w, status_w) = (width(0), width(1));
    rows.iter()
        .map(|[name, status, files]| format!("{name:name_w$}{status:status_w$}{files}\n"))
        .collect()
}

//! `berthctl stats`: the project's containers' resource use, like `docker stats` over the
//! project's running containers.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::bail;
use berth_engine::stats::{self, Stats, StatsSample};
use clap::{Args, ValueEnum};
use tokio::sync::broadcast::error::RecvError;

use crate::stack_args;
use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Print one sample of each container and exit.
    #[arg(long)]
    no_stream: bool,
    /// Output format: a table, or one JSON object per sample.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Services to show (all when none are named).
    services: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// A container whose last sample is older than this has stopped; it leaves the table.
const STALE_MS: i64 = 5_000;

pub async fn run(project: &ProjectArgs, args: StatsArgs) -> anyhow::Result<()> {
    let stack = stack_args::stack(project).await?;
    let loaded = stack.project();
    for service in &args.services {
        if !loaded.services.contains_key(service) {
            bail!(
                "no such service: {service}\nThe project's services are: {}",
                loaded
                    .services
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let engine = stack.engine().clone();
    let name = loaded.name.clone();
    if args.no_stream {
        let samples = stats::once(&engine, &name, &args.services).await?;
        let text = match args.format {
            Format::Table => table(&samples),
            Format::Json => samples.iter().map(json_line).collect(),
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        return Ok(());
    }
    let wanted = |s: &StatsSample| args.services.is_empty() || args.services.contains(&s.service);
    let handle = Stats::spawn(engine, name);
    let (histories, mut feed) = handle.subscribe();
    let mut latest: BTreeMap<String, StatsSample> = histories
        .into_iter()
        .filter_map(|h| h.samples.last().cloned())
        .filter(&wanted)
        .map(|s| (s.name.clone(), s))
        .collect();
    let live = std::io::stdout().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            sample = feed.recv() => match sample {
                Ok(s) if wanted(&s) => match args.format {
                    Format::Json => {
                        if std::io::stdout().lock().write_all(json_line(&s).as_bytes()).is_err() {
                            return Ok(());
                        }
                    }
                    Format::Table => {
                        latest.insert(s.name.clone(), s);
                    }
                },
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = tick.tick(), if matches!(args.format, Format::Table) => {
                let newest = latest.values().map(|s| s.at_ms).max().unwrap_or(0);
                latest.retain(|_, s| newest - s.at_ms < STALE_MS);
                if latest.is_empty() && !live {
                    continue;
                }
                let samples: Vec<StatsSample> = latest.values().cloned().collect();
                // On a terminal the table is redrawn in place, as docker stats does.
                let clear = if live { "\x1b[2J\x1b[H" } else { "" };
                let text = format!("{clear}{}", table(&samples));
                if std::io::stdout().lock().write_all(text.as_bytes()).is_err() {
                    return Ok(());
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

fn json_line(s: &StatsSample) -> String {
    serde_json::to_string(s).expect("a sample serializes") + "\n"
}

/// The columns of `docker stats`, with its units: memory in binary units, I/O in decimal ones.
fn table(samples: &[StatsSample]) -> String {
    let header = [
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = samples
        .iter()
        .map(|s| {
            [
                s.name.clone(),
                format!("{:.2}%", s.cpu_percent),
                format!(
                    "{} / {}",
                    binary_size(s.memory_bytes),
                    binary_size(s.memory_limit)
                ),
                format!("{:.2}%", s.memory_percent),
                format!("{} / {}", decimal_size(s.net_rx), decimal_size(s.net_tx)),
                format!(
                    "{} / {}",
                    decimal_size(s.block_read),
                    decimal_size(s.block_write)
                ),
                s.pids.to_string(),
            ]
        })
        .collect();
    // docker's tabwriter: cells padded by 3, columns at least 10 wide.
    let mut widths = header.clone().map(|h| (h.len() + 3).max(10));
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len() + 3);
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|r| {
            let cells: String = r
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:w$}"))
                .collect();
            cells.trim_end().to_owned() + "\n"
        })
        .collect()
}

/// `units.BytesSize`: `%.4g` of powers of 1024.
fn binary_size(bytes: u64) -> String {
    scaled(
        bytes as f64,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"],
        4,
    )
}

/// `units.HumanSizeWithPrecision(n, 3)`: `%.3g` of powers of 1000.
fn decimal_size(bytes: u64) -> String {
    scaled(
        bytes as f64,
        1000.0,
        &["B", "kB", "MB", "GB", "TB", "PB", "EB"],
        3,
    )
}

fn scaled(mut size: f64, base: f64, units: &[&str], precision: usize) -> String {
    let mut unit = 0;
    while size >= base && unit < units.len() - 1 {
        size /= base;
        unit += 1;
    }
    format!("{}{}", go_g(size, precision), units[unit])
}

/// Go's `%.{precision}g`: `precision` significant digits, trailing zeros dropped, exponent form
/// when the exponent is below -4 or at least the digits shown.
fn go_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    let e = format!("{:.*e}", precision.saturating_sub(1), v);
    let (mantissa, exp) = e.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e}'s exponent is a number");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let (nd, dp) = (digits.len() as i32, exp + 1);
    let mut eprec = precision as i32;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{first}{dot}{rest}e{sign}{:02}", exp.abs());
    }
    if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_as_docker_writes_them() {
        assert_eq!(binary_size(0), "0B");
        assert_eq!(binary_size(512), "512B");
        assert_eq!(binary_size(1536), "1.5KiB");
        assert_eq!(binary_size(404 * 1024), "404KiB");
        assert_eq!(binary_size(25_200_000_000), "23.47GiB");
        assert_eq!(decimal_size(1_234), "1.23kB");
        assert_eq!(decimal_size(999_700), "1e+03kB");
        assert_eq!(decimal_size(12_345_678), "12.3MB");
        assert_eq!(go_g(0.000_012_34, 3), "1.23e-05");
        assert_eq!(go_g(0.001_5, 3), "0.0015");
        assert_eq!(go_g(100.0, 3), "100");
    }
}

//! `berthctl ls`: every compose project on the engine, Berth's and docker compose's alike.

use std::io::Write;

use berth_engine::Engine;
use clap::Args;

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Print JSON, one object per line.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: LsArgs) -> anyhow::Result<()> {
    let engine = Engine::connect().await?;
    let projects = berth_engine::projects(&engine).await?;
    let mut out = String::new();
    if args.json {
        for p in &projects {
            out += &(serde_json::to_string(p)? + "\n");
        }
    } else {
        let width = projects
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(0)
            .max(4);
        out += &format!("{:width$}   STATUS\n", "NAME");
        for p in &projects {
            out += &format!(
                "{:width$}   running({}/{})\n",
                p.name, p.running, p.containers
            );
        }
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(())
}

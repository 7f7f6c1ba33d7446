//! Loading the project and connecting to the engine, for every command that acts on a stack.

use anyhow::Context;
use berth_engine::{Engine, Stack};

use berth_engine::ProjectArgs;

/// The project the flags name, on the engine DOCKER_HOST (or the default socket) names.
pub async fn stack(project: &ProjectArgs) -> anyhow::Result<Stack> {
    let options = project
        .load_options()
        .context("cannot read the current directory")?;
    let project = berth_compose::load(&options).map_err(|e| anyhow::anyhow!("{}", e.render()))?;
    Ok(Stack::new(Engine::connect().await?, project))
}

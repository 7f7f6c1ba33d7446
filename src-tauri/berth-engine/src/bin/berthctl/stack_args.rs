//! Loading the project and connecting to the engine, for every command that acts on a stack.

use anyhow::Context;
use berth_engine::Stack;
use berth_engine::berth_compose::Project;

use berth_engine::ProjectArgs;

/// The project the flags name, on the engine DOCKER_HOST (or the default socket) names.
pub async fn stack(project: &ProjectArgs) -> anyhow::Result<Stack> {
    let project = load(project)?;
    Ok(Stack::new(crate::engine().await?, project))
}

/// The project the flags name, loaded and checked.
pub fn load(project: &ProjectArgs) -> anyhow::Result<Project> {
    let options = project
        .load_options()
        .context("cannot read the current directory")?;
    berth_compose::load(&options).map_err(|e| anyhow::anyhow!("{}", e.render()))
}

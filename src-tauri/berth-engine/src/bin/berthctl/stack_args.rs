//! Loading the project and connecting to the engine, for every command that acts on a stack.

use anyhow::Context;
use berth_engine::berth_compose::Project;
use berth_engine::{ProjectArgs, Stack, project_origin};

/// The project the flags name, on the engine `--context` or the environment names.
pub async fn stack(project: &ProjectArgs) -> anyhow::Result<Stack> {
    let project = load(project)?;
    Ok(Stack::new(crate::engine().await?, project))
}

/// [`stack`] for the commands compose runs on a project by name (`ps`, `logs`, `stop`, `down`…):
/// with `-p NAME` and no `-f`, the project is the one on the engine, loaded from the files its
/// containers were created from (or, when those are gone, made of its containers alone).
pub async fn stack_by_name(project: &ProjectArgs) -> anyhow::Result<Stack> {
    let engine = crate::engine().await?;
    let Some(name) = project
        .project_name
        .as_deref()
        .filter(|_| project.files.is_empty())
    else {
        return Ok(Stack::new(engine, load(project)?));
    };
    let origin = project_origin(&engine, name).await?;
    if origin.services.is_empty() {
        return Ok(Stack::new(engine, load(project)?));
    }
    if !origin.missing.is_empty() {
        let missing: Vec<String> = origin
            .missing
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!(
            "warning: project {name}'s files are gone ({}): acting on its containers alone",
            missing.join(", ")
        );
    }
    let loaded = origin
        .project()
        .map_err(|e| anyhow::anyhow!("project {name}, from the files its containers name: {e}"))?;
    Ok(Stack::new(engine, loaded))
}

/// The project the flags name, loaded and checked.
pub fn load(project: &ProjectArgs) -> anyhow::Result<Project> {
    let options = project
        .load_options()
        .context("cannot read the current directory")?;
    berth_compose::load(&options).map_err(|e| anyhow::anyhow!("{}", e.render()))
}

//! The `com.docker.compose.*` labels, spelled as docker/compose `pkg/api/labels.go` spells them:
//! they are how `docker compose` and Berth find each other's containers, networks and volumes.

use std::collections::HashMap;

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const NETWORK: &str = "com.docker.compose.network";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const ENVIRONMENT_FILE: &str = "com.docker.compose.project.environment_file";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const IMAGE: &str = "com.docker.compose.image";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const VERSION: &str = "com.docker.compose.version";
pub const REPLACE: &str = "com.docker.compose.replace";

/// The compose version Berth writes in `com.docker.compose.version`: the docker compose release
/// whose labels and naming Berth follows, so compose does not treat Berth's stacks as foreign.
pub const COMPOSE_VERSION: &str = "2.40.3";

/// A Docker `label=` filter value selecting everything of `project`.
pub fn project_filter(project: &str) -> String {
    format!("{PROJECT}={project}")
}

/// Filters (for list and events calls) selecting everything labelled with `project`.
pub fn filters(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![project_filter(project)])])
}

/// Reads a container's number; compose writes it as a decimal string.
pub fn container_number(labels: &HashMap<String, String>) -> Option<u32> {
    labels.get(CONTAINER_NUMBER)?.parse().ok()
}

/// Whether the container is a one-off (`docker compose run`); compose writes `True`/`False`.
pub fn is_oneoff(labels: &HashMap<String, String>) -> bool {
    labels
        .get(ONEOFF)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

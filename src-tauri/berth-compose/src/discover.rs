//! Finding the compose file when none is named, as `docker compose` does.

use std::path::{Path, PathBuf};

use crate::read;

/// Names tried in each directory, in compose's order of preference.
pub const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

const OVERRIDE_FILES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// The compose file in `dir` or its nearest parent, followed by its override file if present.
/// Every name tried is recorded as looked for: creating one changes what is found.
pub fn discover(dir: &Path) -> Option<Vec<PathBuf>> {
    let first =
        |d: &Path, names: &[&str]| names.iter().map(|f| d.join(f)).find(|p| read::optional(p));
    for d in dir.ancestors() {
        let Some(main) = first(d, &DEFAULT_FILES) else {
            continue;
        };
        return Some(
            std::iter::once(main)
                .chain(first(d, &OVERRIDE_FILES))
                .collect(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_parent_with_override() {
        let root = std::env::temp_dir().join(format!("berth-discover-{}", std::process::id()));
        let sub = root.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(root.join("docker-compose.yml"), "services: {}\n").unwrap();
        std::fs::write(root.join("compose.yaml"), "services: {}\n").unwrap();
        std::fs::write(root.join("compose.override.yaml"), "services: {}\n").unwrap();
        let found = discover(&sub).unwrap();
        assert_eq!(
            found,
            vec![
                root.join("compose.yaml"),
                root.join("compose.override.yaml")
            ]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}

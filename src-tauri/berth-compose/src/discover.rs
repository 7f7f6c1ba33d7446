//! Finding the compose file when none is named, as `docker compose` does.

use std::path::{Path, PathBuf};

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
pub fn discover(dir: &Path) -> Option<Vec<PathBuf>> {
    for d in dir.ancestors() {
        let Some(main) = DEFAULT_FILES
            .iter()
            .map(|f| d.join(f))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let mut files = vec![main];
        if let Some(o) = OVERRIDE_FILES
            .iter()
            .map(|f| d.join(f))
            .find(|p| p.is_file())
        {
            files.push(o);
        }
        return Some(files);
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

//! Project names as compose normalizes them.

/// Lowercases, keeps `[a-z0-9_-]`, and trims leading `_`/`-` (compose-go
/// `NormalizeProjectName`).
pub fn normalize(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_owned()
}

/// Whether a name given on the command line or in `COMPOSE_PROJECT_NAME` is already normal.
pub fn is_valid(name: &str) -> bool {
    !name.is_empty() && normalize(name) == name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        assert_eq!(normalize("My App"), "myapp");
        assert_eq!(
            normalize("05-services.md.examples"),
            "05-servicesmdexamples"
        );
        assert_eq!(normalize("__x-Y_z"), "x-y_z");
        assert_eq!(normalize("UNNORMALIZED PATH"), "unnormalizedpath");
        assert_eq!(normalize("émoji🚢ok"), "mojiok");
        assert!(is_valid("web_1-a"));
        assert!(!is_valid("Web"));
        assert!(!is_valid("-web"));
        assert!(!is_valid(""));
    }
}

//! Which changed file a trigger takes, and where it lands in the container, as compose's
//! `watchRule.Matches`: under the trigger's `path`, matched by `include` (when given), and not
//! matched by the build context's `.dockerignore`, the trigger's `ignore`, an editor's temporary
//! files, or a `.git` or `node_modules` directory.

use std::path::{Path, PathBuf};

use berth_compose::Service;

use crate::context::Ignore;
use crate::watch::config::{Action, Trigger};

/// Directories never watched nor synced: large, and never what a service runs.
const SKIPPED_DIRS: [&str; 2] = [".git", "node_modules"];

/// Patterns rooted at a directory.
struct Rooted {
    root: PathBuf,
    patterns: Ignore,
}

impl Rooted {
    fn matches(&self, path: &Path) -> bool {
        match path.strip_prefix(&self.root) {
            Ok(rel) => self.patterns.excludes(&slashed(rel)),
            Err(_) => false,
        }
    }

    /// Whether everything under `dir` matches: no `!` pattern can take any of it back.
    fn matches_all_under(&self, dir: &Path) -> bool {
        !self.patterns.has_exceptions() && self.matches(dir)
    }
}

fn slashed(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// One trigger of one service, ready to match paths.
pub(crate) struct Rule {
    pub service: String,
    pub trigger: Trigger,
    include: Option<Rooted>,
    ignore: Vec<Rooted>,
}

/// Where a changed host file goes in a service's containers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Mapping {
    pub host: PathBuf,
    /// Absolute, `/`-separated; empty for triggers with no `target` (restart, rebuild).
    pub container: String,
}

impl Rule {
    /// The rule for `trigger` of `service`; `dockerignore` is the text of the build context's
    /// ignore file, if it has one.
    pub(crate) fn new(service: &str, trigger: Trigger, context: Option<(&Path, &str)>) -> Rule {
        let mut ignore = Vec::new();
        if let Some((root, text)) = context {
            ignore.push(Rooted {
                root: root.to_path_buf(),
                patterns: Ignore::lines(text.lines()),
            });
        }
        ignore.push(Rooted {
            root: trigger.path.clone(),
            patterns: Ignore::lines(trigger.ignore.iter().map(String::as_str)),
        });
        let include = (!trigger.include.is_empty()).then(|| Rooted {
            root: trigger.path.clone(),
            patterns: Ignore::lines(trigger.include.iter().map(String::as_str)),
        });
        Rule {
            service: service.to_owned(),
            trigger,
            include,
            ignore,
        }
    }

    pub(crate) fn action(&self) -> Action {
        self.trigger.action
    }

    /// Where `path` goes, if this rule takes it.
    pub(crate) fn matches(&self, path: &Path) -> Option<Mapping> {
        let rel = path.strip_prefix(&self.trigger.path).ok()?;
        if rel.components().any(|c| skipped(c.as_os_str())) || ephemeral(path) {
            return None;
        }
        if self.include.as_ref().is_some_and(|i| !i.matches(path)) {
            return None;
        }
        if self.ignore.iter().any(|i| i.matches(path)) {
            return None;
        }
        let container = match &self.trigger.target {
            Some(target) if rel.as_os_str().is_empty() => target.clone(),
            Some(target) => format!("{}/{}", target.trim_end_matches('/'), slashed(rel)),
            None => String::new(),
        };
        Some(Mapping {
            host: path.to_path_buf(),
            container,
        })
    }

    /// Whether something under directory `dir` could be taken: whether it is worth watching.
    pub(crate) fn wants_dir(&self, dir: &Path) -> bool {
        let Ok(rel) = dir.strip_prefix(&self.trigger.path) else {
            // A directory above the trigger's path leads to it.
            return self.trigger.path.starts_with(dir);
        };
        !rel.components().any(|c| skipped(c.as_os_str()))
            && !self.ignore.iter().any(|i| i.matches_all_under(dir))
    }
}

fn skipped(name: &std::ffi::OsStr) -> bool {
    SKIPPED_DIRS.iter().any(|d| name == *d)
}

/// compose's `EphemeralPathMatcher`: files editors and tools write for a moment beside the ones
/// edited (GoLand, emacs, vim, kate, go).
fn ephemeral(path: &Path) -> bool {
    if path.components().any(|c| c.as_os_str() == ".idea") {
        return true;
    }
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    let vim = [".swp", ".swx", ".swo", ".swn", ".kate-swp"];
    name.ends_with("___jb_old___")
        || name.ends_with("___jb_tmp___")
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || name == "4913"
        || name.ends_with('~')
        || (name.starts_with('.') && vim.iter().any(|v| name.ends_with(v)))
        || name.ends_with("-go-tmp-umask")
}

/// The rules of `service`'s triggers, with its build context's `.dockerignore` (the
/// Dockerfile's own `<Dockerfile>.dockerignore` first, as compose reads them).
pub(crate) fn rules(name: &str, service: &Service, triggers: Vec<Trigger>) -> Vec<Rule> {
    let context = service.build.as_ref().and_then(|b| {
        let dir = PathBuf::from(b.context.as_deref().unwrap_or("."));
        let dockerfile = b.dockerfile.as_deref().unwrap_or("Dockerfile");
        let text = std::fs::read_to_string(dir.join(format!("{dockerfile}.dockerignore")))
            .or_else(|_| std::fs::read_to_string(dir.join(".dockerignore")))
            .ok()?;
        Some((dir, text))
    });
    triggers
        .into_iter()
        .filter(|t| !(t.action.syncs() && bind_mounted(service, &t.path)))
        .map(|t| {
            let context = context.as_ref().map(|(d, t)| (d.as_path(), t.as_str()));
            Rule::new(name, t, context)
        })
        .collect()
}

/// Whether `path` is under one of the service's bind mounts: the container already sees its
/// files, so compose does not watch it for a sync, and says so.
fn bind_mounted(service: &Service, path: &Path) -> bool {
    let mounted = service
        .volumes
        .iter()
        .any(|m| m.kind == "bind" && m.source.as_deref().is_some_and(|s| path.starts_with(s)));
    if mounted {
        tracing::warn!(
            "path '{}' also declared by a bind mount volume, this path won't be monitored!",
            path.display()
        );
    }
    mounted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(ignore: &[&str], include: &[&str]) -> Trigger {
        Trigger {
            path: PathBuf::from("/p/src"),
            action: Action::Sync,
            target: Some("/app".into()),
            ignore: ignore.iter().map(|s| s.to_string()).collect(),
            include: include.iter().map(|s| s.to_string()).collect(),
            initial_sync: false,
            exec: None,
        }
    }

    fn takes(rule: &Rule, path: &str) -> Option<String> {
        rule.matches(Path::new(path)).map(|m| m.container)
    }

    #[test]
    fn a_file_under_the_path_lands_under_the_target() {
        let rule = Rule::new("web", trigger(&[], &[]), None);
        assert_eq!(
            takes(&rule, "/p/src/a/b.js").as_deref(),
            Some("/app/a/b.js")
        );
        assert_eq!(takes(&rule, "/p/srcx/b.js"), None, "beside the path");
        assert_eq!(takes(&rule, "/p/src/.git/HEAD"), None);
        assert_eq!(takes(&rule, "/p/src/node_modules/x/i.js"), None);
        assert_eq!(takes(&rule, "/p/src/.b.js.swp"), None, "vim's swap file");
        assert_eq!(takes(&rule, "/p/src/b.js~"), None, "a backup file");
    }

    #[test]
    fn ignore_include_and_the_dockerignore_decide_as_compose_does() {
        let rule = Rule::new(
            "web",
            trigger(&["*.tmp", "cache/"], &["*.js", "lib"]),
            Some((Path::new("/p"), "src/secret.js\n**/*.log\n")),
        );
        assert!(takes(&rule, "/p/src/a.js").is_some());
        assert!(
            takes(&rule, "/p/src/lib/deep/x.txt").is_some(),
            "under an included dir"
        );
        assert_eq!(takes(&rule, "/p/src/a.txt"), None, "not included");
        assert_eq!(takes(&rule, "/p/src/x.tmp"), None, "ignored");
        assert_eq!(takes(&rule, "/p/src/secret.js"), None, ".dockerignore");
        assert_eq!(takes(&rule, "/p/src/lib/x.log"), None, ".dockerignore's **");
        assert!(!rule.wants_dir(Path::new("/p/src/cache")));
        assert!(!rule.wants_dir(Path::new("/p/src/node_modules")));
        assert!(rule.wants_dir(Path::new("/p/src/lib")));
        assert!(rule.wants_dir(Path::new("/p")), "on the way to the path");
        assert!(!rule.wants_dir(Path::new("/q")));
    }

    #[test]
    fn a_sync_of_a_bind_mounted_path_is_left_out_as_compose_leaves_it() {
        let mut service = Service::default();
        service.volumes.push(berth_compose::Mount {
            kind: "bind".into(),
            source: Some("/p".into()),
            target: "/app".into(),
            ..Default::default()
        });
        let mut restart = trigger(&[], &[]);
        restart.action = Action::Restart;
        let kept = rules("web", &service, vec![trigger(&[], &[]), restart]);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].action(), Action::Restart);
    }
}

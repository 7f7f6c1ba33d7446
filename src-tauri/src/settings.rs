//! What Berth remembers between runs, in `settings.json` in the app's config directory: recent
//! projects (the first is what a plain `berth` reopens), the log buffer size and the engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_engine::{EngineChoice, ProjectArgs};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Recent projects kept.
const RECENT: usize = 10;
const FILE: &str = "settings.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct Settings {
    /// Most recent first, with absolute paths.
    pub recent: Vec<ProjectArgs>,
    /// The log buffer per project, in MiB (16 to 4096).
    pub log_buffer_mib: u32,
    /// A Docker endpoint (`unix://…`, `tcp://…`); empty: DOCKER_HOST, the Docker context, or
    /// the default socket, as the docker CLI chooses.
    pub engine_endpoint: String,
    /// The stored log history per project on disk, in MiB (16 to 1048576); the oldest
    /// segment is dropped beyond it.
    pub history_mib: u32,
    /// Alert rules by project name, then service: a regex whose matching lines are notified
    /// (`alerts.rs`). Set through `set_alert`, which checks the service and the regex.
    pub alerts: BTreeMap<String, BTreeMap<String, String>>,
    /// A Docker context (`docker context ls`) whose engine Berth uses when `engine_endpoint` is
    /// empty; empty: the one DOCKER_HOST, DOCKER_CONTEXT or the docker CLI's config chooses.
    pub engine_context: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recent: Vec::new(),
            log_buffer_mib: (berth_engine::logs::DEFAULT_BUDGET >> 20) as u32,
            engine_endpoint: String::new(),
            history_mib: (berth_engine::logs::history::DEFAULT_BUDGET >> 20) as u32,
            alerts: BTreeMap::new(),
            engine_context: String::new(),
        }
    }
}

/// What the window may change of the settings. The recent projects are Berth's record of what
/// the user opened (through a dialog or the command line), never the page's to write.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct SettingsChange {
    pub log_buffer_mib: u32,
    pub engine_endpoint: String,
    pub history_mib: u32,
    #[serde(default)]
    pub engine_context: String,
}

impl SettingsChange {
    /// `current` with this change.
    pub fn apply(&self, current: &Settings) -> Settings {
        Settings {
            log_buffer_mib: self.log_buffer_mib,
            engine_endpoint: self.engine_endpoint.trim().to_owned(),
            history_mib: self.history_mib,
            engine_context: self.engine_context.clone(),
            ..current.clone()
        }
    }
}

impl Settings {
    /// The settings in `dir`, or the defaults when there are none. A file that does not parse
    /// is set aside as `settings.json.bad` (and said so), never silently overwritten.
    pub fn load(dir: &Path) -> Settings {
        let path = dir.join(FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Settings::default();
        };
        match serde_json::from_str(&text) {
            Ok(settings) => settings,
            Err(err) => {
                let aside = path.with_extension("json.bad");
                tracing::warn!(
                    "{}: {err}; using the defaults, the file is kept as {}",
                    path.display(),
                    aside.display()
                );
                let _ = std::fs::rename(&path, aside);
                Settings::default()
            }
        }
    }

    /// Writes the settings atomically (a temporary file renamed over the old one).
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let write = || -> std::io::Result<PathBuf> {
            std::fs::create_dir_all(dir)?;
            let path = dir.join(FILE);
            let tmp = dir.join(format!("{FILE}.tmp"));
            std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
            std::fs::rename(&tmp, &path)?;
            Ok(path)
        };
        write()
            .map(drop)
            .map_err(|e| format!("Could not save the settings in {}: {e}", dir.display()))
    }

    /// The engine a session connects to: the endpoint, else the chosen context (with its TLS
    /// files, as `berthctl --context` connects), else the environment's. A context that is gone
    /// is never swapped for another engine: the connection says it is missing.
    pub fn engine(&self) -> EngineChoice {
        if !self.engine_endpoint.is_empty() {
            EngineChoice::Endpoint(self.engine_endpoint.clone())
        } else if !self.engine_context.is_empty() {
            EngineChoice::Context(self.engine_context.clone())
        } else {
            EngineChoice::Environment
        }
    }

    /// Puts `project` first among the recent projects.
    pub fn remember(&mut self, project: &ProjectArgs) {
        self.recent.retain(|p| !same_project(p, project));
        self.recent.insert(0, project.clone());
        self.recent.truncate(RECENT);
    }

    /// Refuses values Berth cannot use, saying what would work.
    pub fn check(&self) -> Result<(), String> {
        if !(16..=4096).contains(&self.log_buffer_mib) {
            return Err(format!(
                "The log buffer must be between 16 and 4096 MiB, not {}.",
                self.log_buffer_mib
            ));
        }
        if !(16..=1 << 20).contains(&self.history_mib) {
            return Err(format!(
                "The log history must be between 16 MiB and 1 TiB (1048576 MiB), not {} MiB.",
                self.history_mib
            ));
        }
        let e = &self.engine_endpoint;
        let schemes = [
            "unix://", "tcp://", "http://", "https://", "npipe://", "ssh://",
        ];
        if !e.is_empty() && !schemes.iter().any(|s| e.starts_with(s)) {
            return Err(format!(
                "The engine endpoint {e:?} has no known scheme: use unix:///var/run/docker.sock, \
                 tcp://HOST:2375 or leave it empty to use DOCKER_HOST or the Docker context."
            ));
        }
        Ok(())
    }
}

/// The same files and name: profiles may differ (toggling one reopens the same project).
fn same_project(a: &ProjectArgs, b: &ProjectArgs) -> bool {
    a.files == b.files && a.project_name == b.project_name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(file: &str) -> ProjectArgs {
        ProjectArgs {
            files: vec![file.into()],
            ..ProjectArgs::default()
        }
    }

    #[test]
    fn recent_projects_are_most_recent_first_without_repeats_and_bounded() {
        let mut s = Settings::default();
        for i in 0..12 {
            s.remember(&project(&format!("/p/{i}/compose.yaml")));
        }
        let mut again = project("/p/5/compose.yaml");
        again.profiles = vec!["debug".into()];
        s.remember(&again);
        assert_eq!(s.recent.len(), RECENT);
        assert_eq!(s.recent[0], again);
        assert_eq!(
            s.recent.iter().filter(|p| p.files == again.files).count(),
            1
        );
    }

    #[test]
    fn settings_round_trip_and_a_broken_file_is_set_aside() {
        let dir = std::env::temp_dir().join(format!("berth-settings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(Settings::load(&dir), Settings::default());
        let mut s = Settings::default();
        s.remember(&project("/srv/shop/compose.yaml"));
        s.log_buffer_mib = 256;
        s.save(&dir).unwrap();
        assert_eq!(Settings::load(&dir), s);

        std::fs::write(dir.join(FILE), "{ not json").unwrap();
        assert_eq!(Settings::load(&dir), Settings::default());
        assert!(dir.join("settings.json.bad").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_change_from_the_window_keeps_the_recent_projects() {
        let mut s = Settings::default();
        s.remember(&project("/srv/shop/compose.yaml"));
        let change = SettingsChange {
            log_buffer_mib: 128,
            engine_endpoint: " tcp://10.0.0.2:2375 ".into(),
            history_mib: 64,
            engine_context: String::new(),
        };
        let changed = change.apply(&s);
        assert_eq!(changed.recent, s.recent);
        assert_eq!(changed.log_buffer_mib, 128);
        assert_eq!(changed.engine_endpoint, "tcp://10.0.0.2:2375");
        assert_eq!(changed.history_mib, 64);
    }

    #[test]
    fn the_engine_is_the_endpoint_else_the_context_else_the_environment() {
        let mut s = Settings::default();
        assert_eq!(s.engine(), EngineChoice::Environment);
        s.engine_context = "tls".into();
        assert_eq!(s.engine(), EngineChoice::Context("tls".into()));
        s.engine_endpoint = "tcp://10.0.0.2:2376".into();
        assert_eq!(
            s.engine(),
            EngineChoice::Endpoint("tcp://10.0.0.2:2376".into())
        );
    }

    #[test]
    fn bad_values_are_refused_with_what_would_work() {
        let mut s = Settings {
            log_buffer_mib: 1,
            ..Settings::default()
        };
        assert!(s.check().unwrap_err().contains("between 16 and 4096"));
        s.log_buffer_mib = 64;
        s.history_mib = 8;
        assert!(s.check().unwrap_err().contains("between 16 MiB and 1 TiB"));
        s.history_mib = 1024;
        s.engine_endpoint = "/var/run/docker.sock".into();
        assert!(
            s.check()
                .unwrap_err()
                .contains("unix:///var/run/docker.sock")
        );
        s.engine_endpoint = "tcp://10.0.0.2:2375".into();
        assert_eq!(s.check(), Ok(()));
    }
}

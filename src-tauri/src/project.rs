//! The project the window shows: which compose files it comes from, and the view the UI renders
//! of its files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use berth_compose::{LoadOptions, Port, Project};
use berth_engine::{ProjectArgs, ProjectOrigin};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime};
use ts_rs::TS;

/// The compose files the window was opened on, with berthctl's flags. Loaded again on every
/// edit of the files and before each action, so an edit takes effect without a restart.
pub struct OpenProject {
    args: ProjectArgs,
    options: LoadOptions,
    /// A project another tool started whose files are gone: made of its containers, with the
    /// files that are missing. Never reloaded; it acts only on the containers there are.
    from_containers: Option<(Project, Vec<PathBuf>)>,
}

impl OpenProject {
    /// `args` with absolute paths (they are remembered among the recent projects).
    pub fn new(args: ProjectArgs) -> std::io::Result<OpenProject> {
        let args = args.absolute()?;
        let options = args.load_options()?;
        Ok(OpenProject {
            args,
            options,
            from_containers: None,
        })
    }

    /// A project on the engine as its containers say it was started: from its files, or when
    /// they are gone, from its containers alone.
    pub fn from_origin(origin: &ProjectOrigin) -> Result<OpenProject, String> {
        let mut open = OpenProject::new(origin.args()).map_err(|e| e.to_string())?;
        if !origin.missing.is_empty() {
            open.from_containers = Some((origin.project()?, origin.missing.clone()));
        }
        Ok(open)
    }

    /// Made of its containers because its files are gone: it can start, stop and remove them,
    /// not create any.
    pub fn files_missing(&self) -> bool {
        self.from_containers.is_some()
    }

    /// The demo stack bundled with the app (`resources/demo`), which `berth` opens on first run.
    pub fn bundled_demo<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<OpenProject> {
        let args = ProjectArgs {
            files: vec![demo_dir(app)?.join("compose.yaml")],
            ..ProjectArgs::default()
        };
        Ok(OpenProject::new(args)?)
    }

    pub fn args(&self) -> &ProjectArgs {
        &self.args
    }

    /// Loads the files as they are now: the view the window shows, the project if valid, and
    /// every file the load read or looked for (to watch for edits).
    pub fn load(&self) -> (ProjectStatus, Option<Project>, BTreeSet<PathBuf>) {
        if let Some((project, missing)) = &self.from_containers {
            let view = ProjectView {
                files: self.args.files.iter().map(display).collect(),
                missing: missing.iter().map(display).collect(),
                ..ProjectView::from(project)
            };
            return (
                ProjectStatus::Loaded(view),
                Some(project.clone()),
                BTreeSet::new(),
            );
        }
        let (loaded, sources) = berth_compose::load_sources(&self.options);
        match loaded {
            Ok(project) => (
                ProjectStatus::Loaded(ProjectView::from(&project)),
                Some(project),
                sources,
            ),
            Err(err) => (
                ProjectStatus::Invalid {
                    files: self.options.files.iter().map(display).collect(),
                    message: err.render(),
                },
                None,
                sources,
            ),
        }
    }
}

/// Where the bundled demo is. A dev build's resources sit beside its binary, where tauri-build
/// copies them, but Tauri only looks there when the cargo output directory is named `target`:
/// with any other CARGO_TARGET_DIR it looks in the installed location. A cargo output directory
/// is recognised by its `.cargo-lock`, as Tauri itself does.
fn demo_dir<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<PathBuf> {
    let bundled = app.path().resource_dir()?.join("demo");
    if bundled.exists() {
        return Ok(bundled);
    }
    let exe = std::env::current_exe()?;
    let build_dir = exe.parent().filter(|dir| dir.join(".cargo-lock").exists());
    Ok(build_dir.map_or(bundled, |dir| dir.join("demo")))
}

/// The open project, or why its files could not be loaded (rendered like the CLI's errors).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
#[ts(export)]
pub enum ProjectStatus {
    Loaded(ProjectView),
    Invalid { files: Vec<String>, message: String },
}

impl ProjectStatus {
    /// The project, when its files loaded.
    pub fn loaded(&self) -> Option<&ProjectView> {
        match self {
            ProjectStatus::Loaded(p) => Some(p),
            ProjectStatus::Invalid { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProjectView {
    pub name: String,
    pub files: Vec<String>,
    /// Every profile the file's services name, and which of them are active.
    pub profiles: Vec<String>,
    pub active_profiles: Vec<String>,
    /// In start order: each service after the services it depends on.
    pub services: Vec<ServiceView>,
    /// The files it was started from that are gone: it is shown from its containers.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ServiceView {
    pub name: String,
    pub image: Option<String>,
    /// Published ports as compose's short syntax writes them: `[IP:]HOST:CONTAINER/PROTOCOL`.
    pub ports: Vec<String>,
    pub depends_on: Vec<String>,
    pub replicas: u32,
    /// The files give it a `build:`: its image can be rebuilt.
    pub build: bool,
    /// The files give it `develop.watch` rules: it can be watched.
    pub watch: bool,
}

impl From<&Project> for ProjectView {
    fn from(project: &Project) -> Self {
        let services = project
            .start_order()
            .into_iter()
            .filter_map(|name| {
                let service = project.services.get(&name)?;
                Some(ServiceView {
                    image: service.image.clone(),
                    ports: service.ports.iter().map(short_port).collect(),
                    depends_on: service.depends_on.keys().cloned().collect(),
                    replicas: service.replicas(),
                    build: service.build.is_some(),
                    watch: service.watches(),
                    name,
                })
            })
            .collect();
        let mut profiles: Vec<String> = project
            .services
            .values()
            .chain(project.disabled_services.values())
            .flat_map(|s| s.profiles.iter().cloned())
            .collect();
        profiles.sort();
        profiles.dedup();
        ProjectView {
            name: project.name.clone(),
            files: project.compose_files.iter().map(display).collect(),
            profiles,
            active_profiles: project.active_profiles.clone(),
            services,
            missing: Vec::new(),
        }
    }
}

fn short_port(port: &Port) -> String {
    let host = match (&port.host_ip, &port.published) {
        (Some(ip), Some(published)) => format!("{ip}:{published}:"),
        (None, Some(published)) => format!("{published}:"),
        (Some(ip), None) => format!("{ip}::"),
        (None, None) => String::new(),
    };
    let protocol = port.protocol.as_deref().unwrap_or("tcp");
    format!("{host}{}/{protocol}", port.target)
}

fn display(path: impl AsRef<Path>) -> String {
    path.as_ref().display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(host_ip: Option<&str>, published: Option<&str>, target: u32, proto: &str) -> Port {
        Port {
            host_ip: host_ip.map(Into::into),
            published: published.map(Into::into),
            target,
            protocol: Some(proto.into()),
            ..Port::default()
        }
    }

    #[test]
    fn ports_read_as_compose_short_syntax() {
        assert_eq!(
            short_port(&port(None, Some("8080"), 80, "tcp")),
            "8080:80/tcp"
        );
        assert_eq!(
            short_port(&port(Some("127.0.0.1"), Some("53"), 53, "udp")),
            "127.0.0.1:53:53/udp"
        );
        assert_eq!(short_port(&port(None, None, 3000, "tcp")), "3000/tcp");
        assert_eq!(
            short_port(&port(Some("::1"), None, 80, "tcp")),
            "::1::80/tcp"
        );
    }
}

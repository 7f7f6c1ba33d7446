//! The compose projects on an engine, whoever started them, and how each was started: what
//! `docker compose ls` lists, and the files and profiles a project's containers were created from
//! (their `com.docker.compose.project.*` labels), so a stack another tool started opens as it runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use berth_compose::Project;
use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptions;
use serde::Serialize;
use ts_rs::TS;

use crate::error::{Endpoint, Error, Result};
use crate::{Engine, ProjectArgs, labels};

/// A compose project on the engine, as `docker compose ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProjectSummary {
    pub name: String,
    /// Each container state and how many are in it, sorted: `exited(1), running(2)`.
    pub status: String,
    /// The config files its containers were created from, comma-joined, `N/A` when a container
    /// lacks the label.
    pub config_files: String,
    pub running: usize,
    pub containers: usize,
    /// The services that have containers, sorted: the tray's entries (not in `ls`'s JSON).
    #[serde(skip)]
    #[ts(skip)]
    pub services: Vec<String>,
}

/// Every compose project on the engine, sorted by name as compose sorts them: with `all`, also
/// those whose containers are all stopped.
pub async fn projects(engine: &Engine, all: bool) -> Result<Vec<ProjectSummary>> {
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![labels::PROJECT.to_owned(), labels::CONFIG_HASH.to_owned()],
    )]);
    let list = list(engine, filters, all, "list the compose projects").await?;
    let mut by_project: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for c in list {
        if let Some(p) = c.labels.as_ref().and_then(|l| l.get(labels::PROJECT)) {
            by_project.entry(p.clone()).or_default().push(c);
        }
    }
    Ok(by_project
        .into_iter()
        .map(|(name, containers)| summary(name, &containers))
        .collect())
}

fn summary(name: String, containers: &[ContainerSummary]) -> ProjectSummary {
    let state = |c: &ContainerSummary| c.state.map(|s| s.to_string()).unwrap_or_default();
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for c in containers {
        *states.entry(state(c)).or_default() += 1;
    }
    let status = states
        .iter()
        .map(|(s, n)| format!("{s}({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    ProjectSummary {
        name,
        status,
        config_files: combined_config_files(containers).unwrap_or_else(|| "N/A".to_owned()),
        running: states.get("running").copied().unwrap_or(0),
        containers: containers.len(),
        services: (containers.iter())
            .filter_map(|c| c.labels.as_ref()?.get(labels::SERVICE).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

/// The containers' config files, each once, in the order first seen; `None` if one lacks them.
fn combined_config_files(containers: &[ContainerSummary]) -> Option<String> {
    let mut files: Vec<&str> = Vec::new();
    for c in containers {
        let label = c.labels.as_ref()?.get(labels::CONFIG_FILES)?;
        for f in label.split(',') {
            if !files.contains(&f) {
                files.push(f);
            }
        }
    }
    Some(files.join(","))
}

async fn list(
    engine: &Engine,
    filters: HashMap<String, Vec<String>>,
    all: bool,
    action: &'static str,
) -> Result<Vec<ContainerSummary>> {
    engine
        .docker()
        .list_containers(Some(ListContainersOptions {
            all,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .map_err(|cause| Error::Request {
            endpoint: Endpoint(engine.endpoint().to_owned()),
            action,
            cause,
        })
}

/// How a project on the engine was started, read from its containers' labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProjectOrigin {
    pub name: String,
    pub working_dir: Option<PathBuf>,
    pub config_files: Vec<PathBuf>,
    /// `--env-file`s it was started with (none: the working directory's `.env`, if any).
    pub env_files: Vec<PathBuf>,
    /// The profiles that enable the services that have containers.
    pub profiles: Vec<String>,
    /// Config and env files that no longer exist.
    pub missing: Vec<PathBuf>,
    /// Each service that has containers, with the image its first container runs: the project
    /// when its files are gone.
    #[serde(skip)]
    pub services: BTreeMap<String, String>,
}

/// How project `name` was started, from its containers (one-offs left out, as compose does).
pub async fn project_origin(engine: &Engine, name: &str) -> Result<ProjectOrigin> {
    let list = list(
        engine,
        labels::filters(name),
        true,
        "list the project's containers",
    )
    .await?;
    let list: Vec<&ContainerSummary> = list
        .iter()
        .filter(|c| !c.labels.as_ref().is_some_and(labels::is_oneoff))
        .collect();
    let containers: Vec<&HashMap<String, String>> =
        list.iter().filter_map(|c| c.labels.as_ref()).collect();
    let mut origin = ProjectOrigin {
        name: name.to_owned(),
        ..Default::default()
    };
    for c in &list {
        if let Some(service) = c.labels.as_ref().and_then(|l| l.get(labels::SERVICE)) {
            let image = c.image.clone().unwrap_or_default();
            origin.services.entry(service.clone()).or_insert(image);
        }
    }
    let paths = |label: &str| -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for l in &containers {
            for p in l.get(label).into_iter().flat_map(|v| v.split(',')) {
                let p = PathBuf::from(p);
                if !p.as_os_str().is_empty() && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    };
    origin.config_files = paths(labels::CONFIG_FILES);
    origin.env_files = paths(labels::ENVIRONMENT_FILE);
    origin.working_dir = containers
        .iter()
        .find_map(|l| l.get(labels::WORKING_DIR))
        .map(PathBuf::from);
    origin.missing = (origin.config_files.iter())
        .chain(&origin.env_files)
        .filter(|p| !p.exists())
        .cloned()
        .collect();
    let services: BTreeSet<&str> = origin.services.keys().map(String::as_str).collect();
    origin.profiles = origin.profiles_for(&services);
    Ok(origin)
}

impl ProjectOrigin {
    /// The flags that load the project as it was started.
    pub fn args(&self) -> ProjectArgs {
        ProjectArgs {
            files: self.config_files.clone(),
            project_name: Some(self.name.clone()),
            project_directory: self.working_dir.clone(),
            env_files: self.env_files.clone(),
            profiles: self.profiles.clone(),
        }
    }

    /// The project to open: its files as it was started, or (when they are gone) one made of
    /// its containers alone, as compose makes one for `-p NAME` without files: each service
    /// with the image its containers run. That one lists, follows logs, starts, stops and
    /// removes its containers; it cannot create any.
    pub fn project(&self) -> std::result::Result<Project, String> {
        if self.missing.is_empty() && !self.config_files.is_empty() {
            let options = self.args().load_options().map_err(|e| e.to_string())?;
            return berth_compose::load(&options).map_err(|e| e.render());
        }
        let services = self.services.iter().map(|(name, image)| {
            let service = berth_compose::Service {
                image: Some(image.clone()),
                ..Default::default()
            };
            (name.clone(), service)
        });
        Ok(Project {
            name: self.name.clone(),
            services: services.collect(),
            working_dir: self.working_dir.clone().unwrap_or_default(),
            ..Default::default()
        })
    }

    /// The fewest profiles that enable every service in `running` (with containers), preferring
    /// ones that enable nothing else: compose records no profiles, so they are read back from
    /// which services exist. Empty when the files cannot be read.
    fn profiles_for(&self, running: &BTreeSet<&str>) -> Vec<String> {
        if self.config_files.is_empty() || !self.missing.is_empty() {
            return Vec::new();
        }
        let mut args = self.args();
        args.profiles = vec!["*".to_owned()];
        let Ok(project) = args.load_options().map(|o| berth_compose::load(&o)) else {
            return Vec::new();
        };
        let Ok(project) = project else {
            return Vec::new();
        };
        let mut profiles: Vec<String> = Vec::new();
        for (name, service) in &project.services {
            if !running.contains(name.as_str())
                || service.profiles.is_empty()
                || service.profiles.iter().any(|p| profiles.contains(p))
            {
                continue;
            }
            // A profile all of whose services run, else the service's first.
            let clean = service.profiles.iter().find(|p| {
                project
                    .services
                    .iter()
                    .filter(|(_, s)| s.profiles.contains(p))
                    .all(|(n, _)| running.contains(n.as_str()))
            });
            profiles.extend(clean.or(service.profiles.first()).cloned());
        }
        profiles
    }
}

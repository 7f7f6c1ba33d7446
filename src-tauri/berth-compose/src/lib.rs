//! Compose files in, a validated, normalized [`Project`] out.
//!
//! This crate reads compose files exactly as Docker Compose v2 (compose-go) does: discovery,
//! interpolation, merging, `include`/`extends`, normalization and validation. It knows nothing
//! of Docker and never blocks on anything but the files it reads, so both the engine and the
//! tests can use it without an engine.
//!
//! ```no_run
//! let project = berth_compose::load(&berth_compose::LoadOptions::from_process()?)?;
//! for name in project.start_order() {
//!     println!("{name}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod canonical;
mod consistency;
mod discover;
mod dotenv;
mod error;
mod graph;
mod interpolate;
mod limits;
mod loader;
mod merge;
mod model;
mod node;
mod normalize;
mod paths;
mod project_name;
mod read;
mod render;
mod schema;
pub mod units;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use discover::DEFAULT_FILES;
pub use error::{Error, Location};
pub use graph::find_cycle;
pub use model::{
    Build, Dependency, Deploy, Extra, FileMount, FileObject, Healthcheck, Mount, Network, Port,
    Project, Service, ServiceNetwork, Volume,
};
pub use project_name::normalize as normalize_project_name;
pub use render::to_yaml;

use loader::{Loader, read_env_file};
use node::{Node, Span};

/// What to load, as `docker compose`'s global flags and environment say it.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f`: compose files, relative to `working_dir`. Empty: `COMPOSE_FILE`, then discovery.
    pub files: Vec<PathBuf>,
    /// `-p`: must already be a normalized name.
    pub project_name: Option<String>,
    /// `--project-directory`: base of relative paths. Default: the first file's directory.
    pub project_directory: Option<PathBuf>,
    /// `--env-file`: replaces the project's `.env`.
    pub env_files: Vec<PathBuf>,
    /// `--profile`: empty means `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
    /// The directory the command runs in.
    pub working_dir: PathBuf,
    /// The process environment; it wins over `.env`.
    pub environment: BTreeMap<String, String>,
}

impl LoadOptions {
    /// Options for `working_dir` with the given environment and nothing else set.
    pub fn new(working_dir: impl Into<PathBuf>, environment: BTreeMap<String, String>) -> Self {
        LoadOptions {
            working_dir: working_dir.into(),
            environment,
            ..Default::default()
        }
    }

    /// Options for the current directory and the process environment.
    pub fn from_process() -> std::io::Result<Self> {
        Ok(Self::new(
            std::env::current_dir()?,
            std::env::vars().collect(),
        ))
    }
}

/// Loads, validates and normalizes a project.
pub fn load(opts: &LoadOptions) -> Result<Project, Error> {
    load_sources(opts).0
}

/// [`load`], and every file the load read or looked for, whether or not it succeeded: the
/// compose files, env files (`.env`, `--env-file`, `env_file:`), and the files `include` and
/// `extends` name. Watching these sees every edit that can change the project.
pub fn load_sources(opts: &LoadOptions) -> (Result<Project, Error>, BTreeSet<PathBuf>) {
    read::recording(|| load_unrecorded(opts))
}

fn load_unrecorded(opts: &LoadOptions) -> Result<Project, Error> {
    let files = compose_files(opts)?;
    let project_dir = match &opts.project_directory {
        Some(d) => PathBuf::from(paths::absolute(
            &d.to_string_lossy(),
            &opts.working_dir,
            None,
        )),
        None => files[0].parent().unwrap_or(&opts.working_dir).to_path_buf(),
    };
    let home = opts.environment.get("HOME").cloned();

    let mut env = opts.environment.clone();
    let env_files: Vec<PathBuf> = if opts.env_files.is_empty() {
        Some(project_dir.join(".env"))
            .filter(|p| read::optional(p))
            .into_iter()
            .collect()
    } else {
        opts.env_files
            .iter()
            .map(|f| opts.working_dir.join(f))
            .collect()
    };
    for f in &env_files {
        let at = Location::file(f.clone());
        for (k, v) in read_env_file(f, &at, &|k| opts.environment.get(k).cloned())? {
            env.entry(k).or_insert(v);
        }
    }

    let first: Arc<Path> = Arc::from(files[0].as_path());
    let imperative = match &opts.project_name {
        Some(n) => Some(n.clone()),
        None => env
            .get("COMPOSE_PROJECT_NAME")
            .filter(|n| !n.is_empty())
            .cloned(),
    };
    if let Some(n) = &imperative
        && !project_name::is_valid(n)
    {
        return Err(Error::ProjectName {
            at: Location::file(files[0].clone()),
            name: n.clone(),
        });
    }
    let dir_name = project_name::normalize(
        &project_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );

    // `${COMPOSE_PROJECT_NAME}` interpolates to the final name, which a `name:` may change:
    // load once with the best guess, and again only if the guess was wrong.
    let mut guess = imperative.clone().unwrap_or(dir_name.clone());
    let (dict, name) = loop {
        env.insert("COMPOSE_PROJECT_NAME".into(), guess.clone());
        let loader = Loader {
            env: env.clone(),
            home: home.clone(),
        };
        let mut dict = Node::map(Vec::new(), &Span::file_only(first.clone()));
        for f in &files {
            let at = Location::file(f.clone());
            loader.load_file(f, ("compose file", &at), &mut dict, std::slice::from_ref(f))?;
        }
        let from_file = dict
            .get("name")
            .and_then(Node::scalar_string)
            .map(|n| project_name::normalize(&n))
            .filter(|n| !n.is_empty());
        let name = imperative.clone().or(from_file).unwrap_or(dir_name.clone());
        if name == guess {
            break (dict, name);
        }
        guess = name;
    };
    if dict.as_map().is_none_or(Vec::is_empty) {
        return Err(Error::Empty {
            at: Location::file(files[0].clone()),
        });
    }
    if name.is_empty() {
        return Err(Error::ProjectName {
            at: Location::file(files[0].clone()),
            name,
        });
    }

    let profiles: Vec<String> = if opts.profiles.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        opts.profiles.clone()
    };
    let mut dict = dict;
    let cx = normalize::Context {
        name: &name,
        dir: &project_dir,
        env: &env,
        home: home.as_deref(),
        profiles: &profiles,
    };
    let disabled = normalize::normalize(&mut dict, &cx)?;
    consistency::check(&dict)?;

    let mut project: Project = to_model(&dict)?;
    for e in disabled {
        let service: Service = to_model(&e.value)?;
        project.disabled_services.insert(e.key, service);
    }
    project.working_dir = project_dir;
    project.compose_files = files;
    project.environment = env;
    project.active_profiles = profiles;
    Ok(project)
}

fn to_model<T: serde::de::DeserializeOwned>(node: &Node) -> Result<T, Error> {
    serde_json::from_value(node.to_json()).map_err(|e| Error::Invalid {
        at: node.span.location(),
        path: "(root)".into(),
        message: format!("unsupported value: {e}"),
    })
}

/// `-f` files made absolute, else `COMPOSE_FILE`, else discovery with its override file.
fn compose_files(opts: &LoadOptions) -> Result<Vec<PathBuf>, Error> {
    let named: Vec<PathBuf> = if !opts.files.is_empty() {
        opts.files.clone()
    } else if let Some(list) = opts
        .environment
        .get("COMPOSE_FILE")
        .filter(|l| !l.is_empty())
    {
        let sep = opts
            .environment
            .get("COMPOSE_PATH_SEPARATOR")
            .map_or(":", String::as_str);
        list.split(sep).map(PathBuf::from).collect()
    } else {
        let dir = opts
            .project_directory
            .as_deref()
            .unwrap_or(&opts.working_dir);
        return discover::discover(dir).ok_or_else(|| Error::NoComposeFile {
            dir: dir.to_path_buf(),
        });
    };
    Ok(named
        .into_iter()
        .map(|f| {
            PathBuf::from(paths::absolute(
                &f.to_string_lossy(),
                &opts.working_dir,
                None,
            ))
        })
        .collect())
}

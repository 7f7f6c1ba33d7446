//! The project flags `docker compose` takes before its command: berthctl's, and the app's
//! launch flags, with one meaning. Like compose's, they go before the command only: after it,
//! `-f` is the command's own (`logs -f` follows, `rm -f` forces).

use std::path::PathBuf;

use berth_compose::LoadOptions;
use clap::Args;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Also what the app remembers of a project it opened (its recent projects), so serializable.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct ProjectArgs {
    /// Compose configuration files (repeatable; later files merge over earlier ones).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name.
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the directory of the first compose file).
    #[arg(long = "project-directory", value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Alternate environment file(s), replacing the project's `.env`.
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Profiles to enable (repeatable).
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
}

impl ProjectArgs {
    /// Load options for these flags, the current directory and the process environment.
    pub fn load_options(&self) -> std::io::Result<LoadOptions> {
        let mut o = LoadOptions::from_process()?;
        o.files = self.files.clone();
        o.project_name = self.project_name.clone();
        o.project_directory = self.project_directory.clone();
        o.env_files = self.env_files.clone();
        o.profiles = self.profiles.clone();
        Ok(o)
    }

    /// The same flags with every path made absolute against the current directory, so they
    /// mean the same from anywhere later.
    pub fn absolute(&self) -> std::io::Result<ProjectArgs> {
        let abs = |p: &PathBuf| std::path::absolute(p);
        Ok(ProjectArgs {
            files: self.files.iter().map(abs).collect::<Result<_, _>>()?,
            project_directory: self.project_directory.as_ref().map(abs).transpose()?,
            env_files: self.env_files.iter().map(abs).collect::<Result<_, _>>()?,
            ..self.clone()
        })
    }
}

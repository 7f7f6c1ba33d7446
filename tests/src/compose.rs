//! The real Docker Compose CLI, for the interoperability contract and to stand stacks up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::SETUP_HINT;

/// A compose project driven by the real `docker compose`, taken down (with its volumes) on drop.
pub struct ComposeProject {
    pub name: String,
    file: PathBuf,
}

impl ComposeProject {
    pub fn new(name: impl Into<String>, file: impl AsRef<Path>) -> Self {
        ComposeProject {
            name: name.into(),
            file: file.as_ref().to_owned(),
        }
    }

    /// Runs `docker compose -p NAME -f FILE ARGS…` and returns its output, panicking with the
    /// command and its stderr if it fails.
    pub fn run(&self, args: &[&str]) -> Output {
        run(&self.name, &self.file, args)
    }

    /// Runs a command and returns its stdout as text.
    pub fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8(self.run(args).stdout).expect("docker compose prints UTF-8")
    }

    /// The host address a service's container port is published on (`docker compose port`).
    pub fn published(&self, service: &str, port: u16) -> String {
        self.stdout(&["port", service, &port.to_string()])
            .trim()
            .to_owned()
    }

    fn command(&self, args: &[&str]) -> Command {
        command(&self.name, &self.file, args)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let result = self.command(&["down", "-v", "--timeout", "2"]).output();
        if let Err(err) = result {
            eprintln!("could not take {} down: {err}", self.name);
        }
    }
}

/// `docker compose -p NAME -f FILE ARGS…`.
fn command(name: &str, file: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    command
        .args(["compose", "-p", name, "-f"])
        .arg(file)
        .args(args);
    command
}

/// Runs `docker compose -p NAME -f FILE ARGS…` on a project the caller takes down itself, and
/// returns its output, panicking with the command and its stderr if it fails.
pub fn run(name: &str, file: &Path, args: &[&str]) -> Output {
    let output = command(name, file, args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run docker compose: {err}\n{SETUP_HINT}"));
    assert!(
        output.status.success(),
        "docker compose {} failed ({}):\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

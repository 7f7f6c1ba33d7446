//! Every way loading a project can fail, each with where it happened and what to do about it.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place in a compose (or env) file. `line`/`column` are 1-based; a file-wide problem has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<Path>,
    pub line_col: Option<(usize, usize)>,
}

impl Location {
    /// The file as a whole.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: Arc::from(file.into()),
            line_col: None,
        }
    }

    /// One position in a file.
    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location {
            file: Arc::from(file.into()),
            line_col: Some((line, column)),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no compose file found in {} or any parent directory", .dir.display())]
    NoComposeFile { dir: PathBuf },

    #[error("cannot read {}: {message}", .at.file.display())]
    Io { at: Location, message: String },

    #[error("{} is not valid UTF-8 (first bad byte at offset {offset})", .at.file.display())]
    NotUtf8 { at: Location, offset: usize },

    #[error("empty compose file {}", .at.file.display())]
    Empty { at: Location },

    #[error("YAML syntax error: {message}")]
    Syntax { at: Location, message: String },

    #[error("env file syntax error: {message}")]
    EnvSyntax { at: Location, message: String },

    #[error("mapping key \"{key}\" already defined at line {}", .first.line_col.map_or(0, |l| l.0))]
    DuplicateKey {
        at: Location,
        key: String,
        first: Location,
    },

    #[error("YAML aliases expand to more than {limit_mib} MiB")]
    AliasBomb { at: Location, limit_mib: usize },

    #[error("{what} deeper than {limit} levels")]
    TooDeep {
        at: Location,
        what: &'static str,
        limit: usize,
    },

    #[error("{message}")]
    RequiredVariable { at: Location, message: String },

    #[error("invalid interpolation format in \"{value}\"")]
    Interpolation { at: Location, value: String },

    #[error("{path}: additional property '{key}' not allowed")]
    UnknownKey {
        at: Location,
        path: String,
        key: String,
        suggestion: Option<String>,
    },

    #[error("{path} must be {expected}")]
    WrongType {
        at: Location,
        path: String,
        expected: String,
    },

    #[error("{path}: {message}")]
    Invalid {
        at: Location,
        path: String,
        message: String,
    },

    #[error("invalid port \"{value}\": {reason}")]
    InvalidPort {
        at: Location,
        value: String,
        reason: String,
    },

    #[error("dependency cycle detected: {}", .cycle.join(" -> "))]
    DependencyCycle { at: Location, cycle: Vec<String> },

    #[error("include cycle detected: {}", .chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" -> "))]
    IncludeCycle { at: Location, chain: Vec<PathBuf> },

    #[error("extends cycle detected: {}", .chain.join(" -> "))]
    ExtendsCycle { at: Location, chain: Vec<String> },

    #[error("service \"{service}\" refers to undefined {kind} {name}")]
    Undefined {
        at: Location,
        service: String,
        kind: &'static str,
        name: String,
    },

    #[error("service \"{service}\" has neither an image nor a build context specified")]
    NoImageOrBuild { at: Location, service: String },

    #[error("{kind} {} not found", .path.display())]
    FileNotFound {
        at: Location,
        kind: &'static str,
        path: PathBuf,
    },

    #[error("env file {} not found", .path.display())]
    EnvFileNotFound { at: Location, path: PathBuf },

    #[error("{kind} {} is a {what}, not a file", .path.display())]
    NotAFile {
        at: Location,
        kind: &'static str,
        path: PathBuf,
        what: &'static str,
    },

    #[error("{kind} {} is larger than {} MiB", .path.display(), .limit >> 20)]
    TooLarge {
        at: Location,
        kind: &'static str,
        path: PathBuf,
        limit: u64,
    },

    #[error(
        "invalid project name \"{name}\": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
    )]
    ProjectName { at: Location, name: String },
}

impl Error {
    /// Where the problem is.
    pub fn location(&self) -> Option<&Location> {
        use Error::*;
        match self {
            NoComposeFile { .. } => None,
            Io { at, .. }
            | NotUtf8 { at, .. }
            | Empty { at }
            | Syntax { at, .. }
            | EnvSyntax { at, .. }
            | DuplicateKey { at, .. }
            | AliasBomb { at, .. }
            | TooDeep { at, .. }
            | RequiredVariable { at, .. }
            | Interpolation { at, .. }
            | UnknownKey { at, .. }
            | WrongType { at, .. }
            | Invalid { at, .. }
            | InvalidPort { at, .. }
            | DependencyCycle { at, .. }
            | IncludeCycle { at, .. }
            | ExtendsCycle { at, .. }
            | Undefined { at, .. }
            | NoImageOrBuild { at, .. }
            | FileNotFound { at, .. }
            | EnvFileNotFound { at, .. }
            | NotAFile { at, .. }
            | TooLarge { at, .. }
            | ProjectName { at, .. } => Some(at),
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        use Error::*;
        match self {
            NoComposeFile { .. } => {
                "create a compose.yaml, or name one with -f FILE or --project-directory DIR".into()
            }
            Io { .. } => "check that the file exists and is readable".into(),
            NotUtf8 { .. } => "save the file as UTF-8".into(),
            Empty { .. } => "define at least one service under `services:`".into(),
            Syntax { .. } => "fix the YAML syntax at this position".into(),
            EnvSyntax { .. } => {
                "write each line as KEY=VALUE, or KEY alone to take its value from the environment".into()
            }
            DuplicateKey { first, .. } => format!(
                "remove one of the two definitions (the first is at {first})"
            ),
            AliasBomb { .. } => {
                "this file expands YAML aliases exponentially; use fewer nested aliases".into()
            }
            TooDeep { limit, .. } => format!("make it at most {limit} levels deep"),
            RequiredVariable { .. } => {
                "set the variable in the environment, in .env, or with --env-file".into()
            }
            Interpolation { .. } => "write a literal `$` as `$$`".into(),
            UnknownKey {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            UnknownKey { .. } => {
                "remove the key, or prefix it with `x-` to keep it as an extension".into()
            }
            WrongType { expected, .. } => format!("write this value as {expected}"),
            Invalid { .. } => "see the Compose specification for the allowed values".into(),
            InvalidPort { .. } => {
                "write ports as [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], with ports between 0 and 65535".into()
            }
            DependencyCycle { .. } => {
                "remove one of the depends_on (or links, network_mode, volumes_from) edges in the cycle".into()
            }
            IncludeCycle { .. } => "remove the include that leads back to an earlier file".into(),
            ExtendsCycle { .. } => "make the chain of `extends` end at a service that extends nothing".into(),
            Undefined { kind, name, .. } => {
                format!("define {kind} `{name}` at the top level, or remove the reference")
            }
            NoImageOrBuild { .. } => "add `image:` or `build:` to the service".into(),
            FileNotFound { at, .. } if at.line_col.is_none() => {
                "check the path: relative paths start from the current directory".into()
            }
            FileNotFound { .. } => {
                "check the path: relative paths start from the directory of the file naming them"
                    .into()
            }
            EnvFileNotFound { .. } => {
                "create the file, or use the long form with `required: false`".into()
            }
            NotAFile { kind, .. } => format!("name a regular file as the {kind}"),
            TooLarge { limit, .. } => format!(
                "check that this names the file meant: files over {} MiB are not read",
                limit >> 20
            ),
            ProjectName { .. } => {
                "use lowercase letters, digits, `-` and `_`, starting with a letter or digit".into()
            }
        }
    }

    /// Renders the error like rustc: message, location, the source line with a caret, and a hint.
    pub fn render(&self) -> String {
        let mut out = format!("error: {self}\n");
        if let Some(at) = self.location() {
            let _ = writeln!(out, " --> {at}");
            if let Some((line, col)) = at.line_col
                && let Some(src) = source_line(&at.file, line)
            {
                let (src, col) = around(&src, col);
                let gutter = line.to_string();
                let pad = " ".repeat(gutter.len());
                let caret_pad: String = src
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{gutter} | {src}");
                let _ = writeln!(out, "{pad} | {caret_pad}^");
            }
        }
        let _ = writeln!(out, "  = help: {}", self.hint());
        out
    }
}

/// A line too long to show whole, cut to the characters around `col`; and `col` in the cut.
fn around(line: &str, col: usize) -> (String, usize) {
    const SIDE: usize = 60;
    if line.chars().count() <= 2 * SIDE + 20 {
        return (line.to_owned(), col);
    }
    let from = col.saturating_sub(SIDE + 1);
    let cut: String = line.chars().skip(from).take(2 * SIDE).collect();
    if from == 0 {
        (format!("{cut}..."), col)
    } else {
        (format!("...{cut}..."), col - from + 3)
    }
}

/// The start of a value too long to quote whole in a message.
pub(crate) fn excerpt(s: &str) -> String {
    const CHARS: usize = 80;
    match s.char_indices().nth(CHARS) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

fn source_line(file: &Path, line: usize) -> Option<String> {
    if !std::fs::metadata(file).ok()?.is_file() {
        return None;
    }
    let text = crate::limits::bounded(file).ok()?;
    let text = String::from_utf8_lossy(&text);
    text.lines().nth(line.checked_sub(1)?).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let dir = std::env::temp_dir().join(format!("berth-err-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("compose.yaml");
        std::fs::write(&file, "services:\n  web:\n    imagee: nginx\n").unwrap();
        let err = Error::UnknownKey {
            at: Location::at(&file, 3, 5),
            path: "services.web".into(),
            key: "imagee".into(),
            suggestion: Some("image".into()),
        };
        let text = err.render();
        assert!(
            text.starts_with("error: services.web: additional property 'imagee' not allowed\n")
        );
        assert!(text.contains(&format!(" --> {}:3:5\n", file.display())));
        assert!(text.contains("3 |     imagee: nginx\n"));
        assert!(text.contains("  |     ^\n"));
        assert!(text.contains("= help: did you mean `image`?"));
    }
}

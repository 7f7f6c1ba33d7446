//! Reading the files a project names: regular files only, and at most
//! [`limits::FILE_BYTES`], so a directory, a device or a pipe named by mistake is reported as
//! what it is and is never read without end.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs::FileType;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location};
use crate::limits;

thread_local! {
    /// The files the load running on this thread has read or looked for.
    static SOURCES: RefCell<Option<BTreeSet<PathBuf>>> = const { RefCell::new(None) };
}

/// Runs `load` and says every file it read or looked for: each goes through this module, so a
/// watcher of these files sees every edit that can change what `load` returns.
pub fn recording<T>(load: impl FnOnce() -> T) -> (T, BTreeSet<PathBuf>) {
    /// Ends the recording even if `load` panics.
    struct Stop;
    impl Drop for Stop {
        fn drop(&mut self) {
            SOURCES.with(|s| s.borrow_mut().take());
        }
    }
    SOURCES.with(|s| *s.borrow_mut() = Some(BTreeSet::new()));
    let stop = Stop;
    let value = load();
    let sources = SOURCES.with(|s| s.borrow_mut().take()).unwrap_or_default();
    drop(stop);
    (value, sources)
}

/// Records a file the load looks for (it changes the project if it appears or changes).
pub fn looked_for(path: &Path) {
    SOURCES.with(|s| {
        if let Some(sources) = s.borrow_mut().as_mut() {
            sources.insert(path.to_path_buf());
        }
    });
}

/// Whether an optional file (a `.env` beside a compose file) is there to be read; recorded
/// either way, as creating it changes the project.
pub fn optional(path: &Path) -> bool {
    looked_for(path);
    path.is_file()
}

/// Checks that `path` is a regular file no larger than the limit. `kind` says what the file is
/// for ("env file") and `at` where it is named, for the error.
pub fn regular(path: &Path, kind: &'static str, at: &Location) -> Result<(), Error> {
    looked_for(path);
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::FileNotFound {
            at: at.clone(),
            kind,
            path: path.to_path_buf(),
        },
        _ => Error::Io {
            at: Location::file(path),
            message: e.to_string(),
        },
    })?;
    if !meta.is_file() {
        return Err(Error::NotAFile {
            at: at.clone(),
            kind,
            path: path.to_path_buf(),
            what: describe(meta.file_type()),
        });
    }
    if meta.len() > limits::FILE_BYTES {
        return Err(too_large(path, kind, at));
    }
    Ok(())
}

/// Reads a file named by the project as UTF-8 text, after [`regular`]'s checks. The read stops
/// past the limit even if the file grows or reports no size (as `/proc` files do).
pub fn text(path: &Path, kind: &'static str, at: &Location) -> Result<String, Error> {
    regular(path, kind, at)?;
    let bytes = limits::bounded(path).map_err(|e| Error::Io {
        at: Location::file(path),
        message: e.to_string(),
    })?;
    if bytes.len() as u64 > limits::FILE_BYTES {
        return Err(too_large(path, kind, at));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let col = offset
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        Error::NotUtf8 {
            at: Location::at(path, line, col),
            offset,
        }
    })
}

fn too_large(path: &Path, kind: &'static str, at: &Location) -> Error {
    Error::TooLarge {
        at: at.clone(),
        kind,
        path: path.to_path_buf(),
        limit: limits::FILE_BYTES,
    }
}

#[cfg(unix)]
fn describe(t: FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "directory"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_fifo() {
        "named pipe"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn describe(t: FileType) -> &'static str {
    if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

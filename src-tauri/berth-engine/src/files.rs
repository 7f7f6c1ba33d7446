//! A running container's filesystem, for the window's Files panel: a directory's entries, and a
//! file saved to the host.
//!
//! Listing runs `find` and `stat` in the container (through [`Stack::exec`]), as Docker
//! Desktop's Files tab runs commands in it: the engine's archive API would send a directory's
//! whole subtree (all of /usr for /usr). Names come NUL-separated from `find -print0`, so no
//! name (newlines, control or bidi characters) can be taken for another or for a field. They
//! run in a hostile container: a listing is given up after [`LIST_TIMEOUT`], what it reads is
//! capped, and its processes are hung up when it ends early. Saving reads the file through the
//! archive API, a tar stream copied to a file beside the destination as it arrives, renamed
//! over the destination once complete.

use std::io::{Read, Write};
use std::path::Path;

use bollard::query_parameters::DownloadFromContainerOptions;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use ts_rs::TS;

use crate::Stack;
use crate::error::{StackError, not_found};
use crate::exec::{Chunk, ExecOptions};

/// At most this many entries of a directory are listed (the first by name).
pub const MAX_ENTRIES: usize = 1000;
/// At most this much of `find`'s (or a `stat` run's) output is read: about 100,000 names.
const MAX_NAMES_BYTES: usize = 8 << 20;
/// At most this much of a command's complaints is kept.
const MAX_STDERR_BYTES: usize = 4096;
/// How long a listing may take before it is given up on (a `find` or `stat` that hangs).
pub const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// `stat`'s arguments per run, well under the kernel's limit on a command line.
const MAX_ARGS_BYTES: usize = 128 << 10;

/// A directory of a container, listed.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DirListing {
    /// The directory, absolute and normalized (`/usr/lib`).
    pub path: String,
    /// Directories first, then by name; at most [`MAX_ENTRIES`].
    pub entries: Vec<FileEntry>,
    /// How many entries the directory holds (more than `entries` holds when it is large).
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct FileEntry {
    /// The name, with any bytes that are not UTF-8 shown as U+FFFD.
    pub name: String,
    /// The name is not UTF-8: it is shown, but cannot be opened or saved from here.
    pub lossy: bool,
    pub kind: FileKind,
    #[ts(type = "number")]
    pub size: u64,
    /// As `ls -l` writes it: `drwxr-xr-x`.
    pub mode: String,
    /// Last modified, in seconds since the epoch.
    #[ts(type = "number")]
    pub modified: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Dir,
    File,
    Symlink,
    Other,
}

/// What went wrong looking into a container's files, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error("{path} is not an absolute path in the container: give one that starts with /")]
    NotAbsolute { path: String },
    #[error(
        "service {service}: its image has no `{tool}`, which Berth runs to list a directory\n\
         Use the Terminal button to look inside it, or add find and stat (busybox has both) \
         to the image."
    )]
    NoTool { service: String, tool: &'static str },
    #[error("service {service}: cannot list {path}: {reason}")]
    List {
        service: String,
        path: String,
        reason: String,
    },
    #[error("service {service}: cannot read {path}: {reason}")]
    Read {
        service: String,
        path: String,
        reason: String,
    },
    #[error("service {service}: {path} is not a regular file; only files can be saved")]
    NotAFile { service: String, path: String },
    #[error("service {service}: there is no {path} in its container")]
    NoSuchFile { service: String, path: String },
    #[error(
        "service {service}: listing {path} took over {} s, and was given up\n\
         Its find or stat does not end: try again, or check the image's tools.",
        LIST_TIMEOUT.as_secs()
    )]
    TimedOut { service: String, path: String },
    #[error("could not write {dest}: {reason}")]
    Write { dest: String, reason: String },
}

type Result<T> = std::result::Result<T, FilesError>;

impl Stack {
    /// The entries of directory `path` in `service`'s running container (the one `exec` picks),
    /// or [`FilesError::TimedOut`] after [`LIST_TIMEOUT`].
    pub async fn list_dir(&self, service: &str, path: &str) -> Result<DirListing> {
        let path = normalize(path)?;
        let listing = tokio::time::timeout(LIST_TIMEOUT, self.list(service, &path)).await;
        listing.unwrap_or_else(|_| {
            Err(FilesError::TimedOut {
                service: service.to_owned(),
                path,
            })
        })
    }

    async fn list(&self, service: &str, path: &str) -> Result<DirListing> {
        // `dir/.` lists the directory a symlink points to, as opening it does.
        let dir = format!("{}/.", path.trim_end_matches('/'));
        let find = [&dir, "-mindepth", "1", "-maxdepth", "1", "-print0"];
        let found = self.run(service, "find", &find, MAX_NAMES_BYTES).await?;
        let prefix = format!("{dir}/");
        let mut names: Vec<Vec<u8>> = (found.stdout.split(|b| *b == 0))
            .filter_map(|n| n.strip_prefix(prefix.as_bytes()))
            .filter(|n| !n.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        if found.truncated {
            // The last name may be cut short.
            names.pop();
        } else if found.exit != Some(0) && names.is_empty() {
            return Err(FilesError::List {
                service: service.to_owned(),
                path: path.to_owned(),
                reason: found.reason(),
            });
        }
        let total = names.len() as u32;
        names.sort();
        names.truncate(MAX_ENTRIES);
        let mut entries = Vec::with_capacity(names.len());
        for batch in batches(&names, &prefix) {
            let paths: Vec<Vec<u8>> = batch
                .iter()
                .map(|n| [prefix.as_bytes(), n].concat())
                .collect();
            let mut args = vec!["-c".to_owned(), "%f %s %Y %n".to_owned(), "--".to_owned()];
            // Names that are not UTF-8 cannot be passed through the engine's JSON: not stat'ed.
            args.extend(
                paths
                    .iter()
                    .filter_map(|p| String::from_utf8(p.clone()).ok()),
            );
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let stat = self.run(service, "stat", &args, MAX_NAMES_BYTES).await?;
            entries.extend(parse_stat(&stat.stdout, batch, &paths));
        }
        entries.sort_by(|a, b| {
            (a.kind != FileKind::Dir, &a.name).cmp(&(b.kind != FileKind::Dir, &b.name))
        });
        Ok(DirListing {
            path: path.to_owned(),
            entries,
            total,
        })
    }

    /// Saves file `path` of `service`'s running container to `dest` on this host, streamed; the
    /// bytes written. A failure leaves `dest` as it was.
    pub async fn save_file(&self, service: &str, path: &str, dest: &Path) -> Result<u64> {
        let path = normalize(path)?;
        let container = self.exec_target(service, None).await?;
        let options = DownloadFromContainerOptions { path: path.clone() };
        let mut tar = self
            .engine()
            .docker()
            .download_from_container(&container, Some(options));
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
        let (service_name, file, dest_path) = (service.to_owned(), path.clone(), dest.to_owned());
        let write = tokio::task::spawn_blocking(move || {
            save_first_entry(ChannelReader::new(rx), &dest_path, &service_name, &file)
        });
        while let Some(chunk) = tar.next().await {
            let chunk = match chunk {
                Ok(bytes) => Ok(bytes),
                Err(e) if not_found(&e) => {
                    drop(tx);
                    let _ = write.await;
                    return Err(FilesError::NoSuchFile {
                        service: service.to_owned(),
                        path,
                    });
                }
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let failed = chunk.is_err();
            // The writer is done (the file is written, or failed): no need to read on.
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
        drop(tx);
        write.await.map_err(|e| FilesError::Write {
            dest: dest.display().to_string(),
            reason: e.to_string(),
        })?
    }

    /// Runs `tool args…` in the service's container, keeping at most `limit` bytes of output.
    async fn run(
        &self,
        service: &str,
        tool: &'static str,
        args: &[&str],
        limit: usize,
    ) -> Result<Ran> {
        let mut command = vec![tool.to_owned()];
        command.extend(args.iter().map(|a| (*a).to_owned()));
        let options = ExecOptions {
            command,
            // A listing given up (timed out, or enough read) must not leave it running.
            end_with_client: true,
            ..ExecOptions::default()
        };
        let mut exec = self.exec(service, None, options).await?;
        let mut ran = Ran::default();
        while let Some(chunk) = exec.output.next().await {
            match chunk? {
                Chunk::Stdout(b) => ran.stdout.extend_from_slice(&b),
                Chunk::Stderr(b) => {
                    let room = MAX_STDERR_BYTES - ran.stderr.len();
                    ran.stderr.extend_from_slice(&b[..b.len().min(room)]);
                }
            }
            if ran.stdout.len() > limit {
                // Enough: the rest of a huge directory is not shown; find ends on the closed pipe.
                ran.stdout.truncate(limit);
                ran.truncated = true;
                return Ok(ran);
            }
        }
        ran.exit = exec.process.exit_code().await?;
        // 126: found but cannot run; 127: not found. The runtime's own words for it come on
        // stdout; find and stat never exit so.
        if matches!(ran.exit, Some(126 | 127)) {
            return Err(FilesError::NoTool {
                service: service.to_owned(),
                tool,
            });
        }
        Ok(ran)
    }
}

/// What a command in the container printed, and how it ended (None: not read to the end).
#[derive(Default)]
struct Ran {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i64>,
    truncated: bool,
}

impl Ran {
    /// The command's complaint (`No such file or directory`), without its `find: path:` start.
    fn reason(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let line = text.lines().next().unwrap_or_default();
        let reason = line.rsplit(": ").next().unwrap_or(line).trim();
        if reason.is_empty() {
            format!("find exited with {}", self.exit.unwrap_or(-1))
        } else {
            reason.to_owned()
        }
    }
}

/// `path` as an absolute path without `.`, `..` or repeated slashes.
fn normalize(path: &str) -> Result<String> {
    if !path.starts_with('/') || path.contains('\0') {
        return Err(FilesError::NotAbsolute {
            path: path.to_owned(),
        });
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// `names` in runs whose paths fit one command line.
fn batches<'a>(names: &'a [Vec<u8>], prefix: &str) -> Vec<&'a [Vec<u8>]> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, name) in names.iter().enumerate() {
        let len = prefix.len() + name.len() + 1;
        if size + len > MAX_ARGS_BYTES && i > start {
            out.push(&names[start..i]);
            (start, size) = (i, 0);
        }
        size += len;
    }
    if start < names.len() {
        out.push(&names[start..]);
    }
    out
}

/// `stat -c '%f %s %Y %n'`'s records for `paths`, in order: each is `MODE SIZE MTIME PATH\n`.
/// The path is matched against the one expected, byte for byte, so a name holding a newline
/// and a made-up record cannot pass for an entry; a path with no record (removed since `find`,
/// or not UTF-8) is listed without its details.
fn parse_stat(out: &[u8], names: &[Vec<u8>], paths: &[Vec<u8>]) -> Vec<FileEntry> {
    let mut rest = out;
    let mut entries = Vec::with_capacity(names.len());
    for (name, path) in names.iter().zip(paths) {
        let (display, lossy) = match std::str::from_utf8(name) {
            Ok(s) => (s.to_owned(), false),
            Err(_) => (String::from_utf8_lossy(name).into_owned(), true),
        };
        let mut entry = FileEntry {
            name: display,
            lossy,
            kind: FileKind::Other,
            size: 0,
            mode: "?".to_owned(),
            modified: 0,
        };
        if let Some((mode, size, modified, after)) = record(rest, path) {
            entry.kind = kind(mode);
            entry.mode = mode_string(mode);
            entry.size = size;
            entry.modified = modified;
            rest = after;
        }
        entries.push(entry);
    }
    entries
}

/// The record at the start of `out` if it is `path`'s: its mode, size, mtime and what follows.
fn record<'a>(out: &'a [u8], path: &[u8]) -> Option<(u32, u64, i64, &'a [u8])> {
    let mut fields = out.splitn(4, |b| *b == b' ');
    let mode = u32::from_str_radix(std::str::from_utf8(fields.next()?).ok()?, 16).ok()?;
    let size = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let modified = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let after = fields.next()?.strip_prefix(path)?.strip_prefix(b"\n")?;
    Some((mode, size, modified, after))
}

const S_IFMT: u32 = 0o170000;

fn kind(mode: u32) -> FileKind {
    match mode & S_IFMT {
        0o040000 => FileKind::Dir,
        0o100000 => FileKind::File,
        0o120000 => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

/// `ls -l`'s ten characters for a raw mode: type, then rwx for user, group and others, with
/// setuid, setgid and sticky bits as `s`, `s` and `t` (capitals when not executable).
fn mode_string(mode: u32) -> String {
    let kind = match mode & S_IFMT {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let mut s = String::from(kind);
    for (shift, special, mark) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => mark,
            (false, true) => mark.to_ascii_uppercase(),
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// The archive's first entry saved as `dest`, if it is a regular file: written to a file beside
/// it, checked against the size the archive gives, and renamed over it. A failure removes only
/// that file, so a file the user chose to replace is still there.
fn save_first_entry(reader: impl Read, dest: &Path, service: &str, path: &str) -> Result<u64> {
    let write_error = |e: std::io::Error| FilesError::Write {
        dest: dest.display().to_string(),
        reason: e.to_string(),
    };
    let read_error = |e: std::io::Error| FilesError::Read {
        service: service.to_owned(),
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(read_error)?;
    let mut entry = match entries.next() {
        Some(entry) => entry.map_err(read_error)?,
        None => {
            return Err(FilesError::NoSuchFile {
                service: service.to_owned(),
                path: path.to_owned(),
            });
        }
    };
    if !entry.header().entry_type().is_file() {
        return Err(FilesError::NotAFile {
            service: service.to_owned(),
            path: path.to_owned(),
        });
    }
    let size = entry.size();
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    let mut temp = tempfile::Builder::new();
    temp.prefix(&prefix).suffix(".part");
    // As File::create makes it: what the umask allows, not tempfile's owner-only.
    #[cfg(unix)]
    temp.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = temp.tempfile_in(dir).map_err(write_error)?;
    let mut written = 0u64;
    let mut buf = vec![0; 64 << 10];
    loop {
        let n = entry.read(&mut buf).map_err(read_error)?;
        if n == 0 {
            break;
        }
        temp.write_all(&buf[..n]).map_err(write_error)?;
        written += n as u64;
    }
    if written != size {
        return Err(read_error(std::io::Error::other(format!(
            "the engine's stream ended after {written} of its {size} bytes"
        ))));
    }
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(dest).map_err(|e| write_error(e.error))?;
    Ok(written)
}

/// The archive's bytes as they arrive from the engine, read on a blocking thread.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    chunk: Bytes,
}

impl ChannelReader {
    fn new(rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>) -> ChannelReader {
        ChannelReader {
            rx,
            chunk: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.chunk = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|n| n.to_vec()).collect()
    }

    fn paths(names: &[Vec<u8>]) -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|n| [b"/d/./".as_slice(), n].concat())
            .collect()
    }

    /// A tar archive of one file `f` holding `data`.
    fn archive(data: &[u8]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, "f", data).unwrap();
        tar.into_inner().unwrap()
    }

    /// The engine's connection failing.
    struct Broken;

    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("connection reset"))
        }
    }

    #[test]
    fn a_stream_that_ends_early_or_breaks_leaves_the_file_it_would_replace() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("mine.txt");
        std::fs::write(&dest, "mine").unwrap();
        let whole = archive(&[7; 100_000]);
        let short = &whole[..60_000];

        let ended = save_first_entry(short, &dest, "box", "/d/f").unwrap_err();
        let broke = save_first_entry(short.chain(Broken), &dest, "box", "/d/f").unwrap_err();
        for e in [ended, broke] {
            assert!(matches!(e, FilesError::Read { .. }), "{e}");
            assert!(
                e.to_string().starts_with("service box: cannot read /d/f: "),
                "{e}"
            );
        }
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "mine");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");

        assert_eq!(
            save_first_entry(&whole[..], &dest, "box", "/d/f").unwrap(),
            100_000
        );
        assert_eq!(std::fs::read(&dest).unwrap(), [7; 100_000]);
    }

    #[test]
    fn records_are_read_for_the_names_find_gave_and_no_other() {
        let names = names(&[b"a\n81a4 1 1 /d/./evil", b"b", b"gone", b"z"]);
        let paths = paths(&names);
        // `gone` was removed between find and stat: it has no record.
        let out =
            b"81a4 5 100 /d/./a\n81a4 1 1 /d/./evil\n41ed 4096 200 /d/./b\na1ff 7 300 /d/./z\n";
        let entries = parse_stat(out, &names, &paths);
        let got: Vec<(&str, FileKind, u64, i64)> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.kind, e.size, e.modified))
            .collect();
        assert_eq!(
            got,
            [
                ("a\n81a4 1 1 /d/./evil", FileKind::File, 5, 100),
                ("b", FileKind::Dir, 4096, 200),
                ("gone", FileKind::Other, 0, 0),
                ("z", FileKind::Symlink, 7, 300),
            ]
        );
        assert_eq!(entries[1].mode, "drwxr-xr-x");
    }

    #[test]
    fn a_name_that_is_not_utf8_is_shown_but_marked() {
        let names = names(&[b"caf\xe9"]);
        let entries = parse_stat(b"", &names, &paths(&names));
        assert_eq!(entries[0].name, "caf\u{fffd}");
        assert!(entries[0].lossy);
    }

    #[test]
    fn modes_read_as_ls_writes_them() {
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(mode_string(0o102644), "-rw-r-Sr--");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
    }

    #[test]
    fn paths_are_absolute_and_normalized() {
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/usr//lib/./x/..").unwrap(), "/usr/lib");
        assert_eq!(normalize("/../..").unwrap(), "/");
        assert!(normalize("etc").is_err());
        assert!(normalize("/a\0b").is_err());
    }

    #[test]
    fn long_argument_lists_are_split() {
        let names: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("{i:0>60}").into_bytes())
            .collect();
        let runs = batches(&names, "/d/./");
        assert!(runs.len() > 1);
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 5000);
        for run in runs {
            assert!(run.iter().map(|n| n.len() + 6).sum::<usize>() <= MAX_ARGS_BYTES);
        }
    }
}

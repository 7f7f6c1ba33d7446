//! A process in a project's container: the one way Berth runs one (the window's terminal and
//! `berthctl exec`), through the engine's exec API, with `docker compose exec`'s choice of
//! container and its errors.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWrite;

use crate::Engine;
use crate::containers::{self, Listed};
use crate::error::{StackError, conflict};

type Result<T> = std::result::Result<T, StackError>;

/// What to run and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub command: Vec<String>,
    /// `user`, `user:group`, `uid` or `uid:gid`; none is the container's user.
    pub user: Option<String>,
    /// None is the container's working directory.
    pub workdir: Option<String>,
    /// `KEY=VAL` entries added to the container's environment.
    pub env: Vec<String>,
    /// A pseudo-terminal: output is one stream of terminal bytes, and the size can be set.
    pub tty: bool,
    /// Whether the process reads what is written to [`Exec::input`].
    pub stdin: bool,
    pub privileged: bool,
    /// Hang the process up if its client drops it before its output ended, as a TTY session
    /// with input always is: for a command Berth runs for itself, which must not outlive the
    /// request (a `find` that never ends in a hostile image).
    pub end_with_client: bool,
}

impl ExecOptions {
    /// An interactive login shell as Docker Desktop opens one: bash if the image has it, else sh.
    pub fn shell() -> ExecOptions {
        // One exec rather than trying `bash` and then `sh`: a missing binary only shows once
        // the exec has started and ended (126/127 from inspect), so a second attempt would cost
        // three more round trips and a flash of error text. Every image with bash has sh.
        let pick = "command -v bash >/dev/null 2>&1 && exec bash -l || exec sh -l";
        ExecOptions {
            command: ["/bin/sh", "-c", pick].map(String::from).to_vec(),
            tty: true,
            stdin: true,
            ..ExecOptions::default()
        }
    }
}

/// A piece of the process's output. With a TTY everything is [`Chunk::Stdout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Stdout(Bytes),
    Stderr(Bytes),
}

/// A running process in a container: its output, its input and its handle.
///
/// A TTY session with input is hung up as a closed terminal hangs up (SIGHUP to its processes)
/// when its input is shut down, or when all three parts are dropped before its output ended:
/// the engine itself leaves an exec running after its client went away. Such a session carries
/// `BERTH_EXEC=<token>` in its environment, by which the hangup finds its processes.
pub struct Exec {
    pub output: ExecOutput,
    pub input: ExecInput,
    pub process: ExecProcess,
}

/// The process's stdout and stderr (or its terminal's bytes), as the engine sends them: one
/// chunk per frame, never split into lines or copied.
pub struct ExecOutput {
    stream:
        Pin<Box<dyn Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>> + Send>>,
    shared: Arc<Shared>,
}

/// The process's stdin. Shutting it down is end of input; with a TTY it also hangs the session
/// up, since the engine then ends the output but not the process.
pub struct ExecInput {
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    shared: Arc<Shared>,
}

/// The process itself: terminal size, exit code, hangup. Clones name the same process.
#[derive(Clone)]
pub struct ExecProcess {
    shared: Arc<Shared>,
}

/// The exec on the engine, and where it runs.
#[derive(Clone)]
struct Target {
    engine: Engine,
    id: String,
    container: String,
    service: String,
    /// The value of [`MARKER`] in the session's environment (a TTY with input, or
    /// [`ExecOptions::end_with_client`]): how a
    /// hangup finds its processes, whose in-container ids the engine does not tell.
    marker: Option<String>,
    /// The exec's user, who may signal its processes.
    user: Option<String>,
}

/// What the three parts share.
struct Shared {
    target: Target,
    /// The output ended: the process is over (or, with a TTY, its input was shut down).
    ended: AtomicBool,
    /// A TTY with input: shutting its input down hangs it up.
    terminal: bool,
    hung_up: AtomicBool,
    /// The runtime the exec started on, for the hangup a drop sends.
    runtime: tokio::runtime::Handle,
}

impl Shared {
    /// Hangs the session up in the background, once.
    fn hang_up_soon(&self) {
        if self.target.marker.is_none() || self.hung_up.swap(true, Ordering::Relaxed) {
            return;
        }
        let target = self.target.clone();
        self.runtime.spawn(async move {
            if let Err(e) = target.hang_up().await {
                tracing::warn!("could not hang up a terminal of {}: {e}", target.service);
            }
        });
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if !self.ended.load(Ordering::Relaxed) {
            self.hang_up_soon();
        }
    }
}

/// The environment variable marking a TTY session's processes, so a hangup finds them all.
const MARKER: &str = "BERTH_EXEC";

impl crate::Stack {
    /// The process running in replica `index` (1-based, compose's `--index`; default the
    /// lowest-numbered running one) of `service`, as `docker compose exec` picks it.
    pub async fn exec(
        &self,
        service: &str,
        index: Option<u32>,
        options: ExecOptions,
    ) -> Result<Exec> {
        let container = self.exec_target(service, index).await?;
        start(self.engine(), service, &container, options).await
    }

    /// [`Stack::exec`] without attaching (`exec -d`): the process runs on its own, its output
    /// discarded by the engine.
    pub async fn exec_detached(
        &self,
        service: &str,
        index: Option<u32>,
        options: ExecOptions,
    ) -> Result<()> {
        let container = self.exec_target(service, index).await?;
        let engine = self.engine();
        let id = create(engine, service, &container, options, false).await?;
        let start = StartExecOptions {
            detach: true,
            ..Default::default()
        };
        engine
            .docker()
            .start_exec(&id, Some(start))
            .await
            .map_err(|e| start_failed(engine, service, e))?;
        Ok(())
    }

    /// compose's `getSpecifiedContainer`: the service's running containers (one-offs last)
    /// by number, or the one numbered `index`.
    pub(crate) async fn exec_target(&self, service: &str, index: Option<u32>) -> Result<String> {
        if !self.project().defines(service) {
            return Err(crate::stack::no_such_service(self.project(), service));
        }
        let project = &self.project().name;
        let listed = containers::list(self.engine(), project)
            .await
            .map_err(|e| StackError::docker(self.engine(), service, "list its containers", e))?;
        let mut running: Vec<Listed> = listed
            .into_iter()
            .map(Listed::from_summary)
            .filter(|c| c.running && c.service == service)
            .filter(|c| index.is_none_or(|i| c.number == i))
            .collect();
        running.sort_by_key(|c| (c.oneoff, c.number));
        running
            .into_iter()
            .next()
            .map(|c| c.id)
            .ok_or_else(|| StackError::NotRunning {
                service: service.to_owned(),
                index,
            })
    }
}

pub(crate) async fn start(
    engine: &Engine,
    service: &str,
    container: &str,
    mut options: ExecOptions,
) -> Result<Exec> {
    let terminal = options.tty && options.stdin;
    let marker = (terminal || options.end_with_client).then(new_marker);
    let user = options.user.clone();
    options
        .env
        .extend(marker.iter().map(|m| format!("{MARKER}={m}")));
    let id = create(engine, service, container, options, true).await?;
    let start = StartExecOptions {
        detach: false,
        // The engine frames the output (stdout/stderr headers) unless the *start* asks for a
        // TTY, whatever the exec was created with (moby's postContainerExecStart): framed, a
        // terminal's bytes cannot be taken for a frame header, as bollard's decoder takes raw
        // output that begins with a byte below 3 (and then holds the rest until the end).
        tty: false,
        // The read buffer: large enough that a stream of output is a few reads per frame.
        output_capacity: Some(64 * 1024),
    };
    let StartExecResults::Attached { output, input } = engine
        .docker()
        .start_exec(&id, Some(start))
        .await
        .map_err(|e| start_failed(engine, service, e))?
    else {
        unreachable!("an exec started without detach is attached");
    };
    let shared = Arc::new(Shared {
        target: Target {
            engine: engine.clone(),
            id,
            container: container.to_owned(),
            service: service.to_owned(),
            marker,
            user,
        },
        ended: AtomicBool::new(false),
        terminal,
        hung_up: AtomicBool::new(false),
        runtime: tokio::runtime::Handle::current(),
    });
    Ok(Exec {
        output: ExecOutput {
            stream: output,
            shared: shared.clone(),
        },
        input: ExecInput {
            writer: input,
            shared: shared.clone(),
        },
        process: ExecProcess { shared },
    })
}

/// Creates the exec; `attach` attaches its streams (stdin only if asked for).
async fn create(
    engine: &Engine,
    service: &str,
    container: &str,
    options: ExecOptions,
    attach: bool,
) -> Result<String> {
    let config = CreateExecOptions {
        attach_stdin: Some(attach && options.stdin),
        attach_stdout: Some(attach),
        attach_stderr: Some(attach),
        tty: Some(options.tty),
        env: Some(options.env),
        cmd: Some(options.command),
        privileged: Some(options.privileged),
        user: options.user,
        working_dir: options.workdir,
        ..Default::default()
    };
    let created = engine.docker().create_exec(container, config).await;
    Ok(created.map_err(|e| start_failed(engine, service, e))?.id)
}

/// A refused create or start: a container that stopped since it was picked is not running.
fn start_failed(engine: &Engine, service: &str, e: bollard::errors::Error) -> StackError {
    if conflict(&e) {
        return StackError::NotRunning {
            service: service.to_owned(),
            index: None,
        };
    }
    StackError::docker(engine, service, "start a process in its container", e)
}

/// A token no other exec carries: the clock, the process and a counter, hashed.
fn new_marker() -> String {
    use sha2::{Digest, Sha256};
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let seed = format!(
        "{nanos}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    hex::encode(&Sha256::digest(seed.as_bytes())[..12])
}

impl Stream for ExecOutput {
    type Item = Result<Chunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = ready!(self.stream.poll_next_unpin(cx));
        let shared = &self.shared;
        let target = &shared.target;
        Poll::Ready(match item {
            None => {
                shared.ended.store(true, Ordering::Relaxed);
                None
            }
            Some(Ok(LogOutput::StdErr { message })) => Some(Ok(Chunk::Stderr(message))),
            Some(Ok(
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            )) => Some(Ok(Chunk::Stdout(message))),
            // A broken connection is no end of the process: a drop still hangs it up.
            Some(Err(e)) => {
                let action = "read the output of its process";
                Some(Err(StackError::docker(
                    &target.engine,
                    &target.service,
                    action,
                    e,
                )))
            }
        })
    }
}

impl AsyncWrite for ExecInput {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.writer.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.writer.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let done = self.writer.as_mut().poll_shutdown(cx);
        if done.is_ready() && self.shared.terminal {
            self.shared.hang_up_soon();
        }
        done
    }
}

impl ExecProcess {
    /// Sets the size of the process's terminal (a TTY exec only).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<()> {
        let size = ResizeExecOptions {
            width: cols,
            height: rows,
        };
        let target = &self.shared.target;
        let docker = target.engine.docker();
        docker.resize_exec(&target.id, size).await.map_err(|e| {
            StackError::docker(&target.engine, &target.service, "resize its terminal", e)
        })
    }

    /// After the output ended: the process's exit code (126 when the engine cannot start the
    /// command, 127 when a shell does not find it). None while it still runs.
    pub async fn exit_code(&self) -> Result<Option<i64>> {
        self.shared.target.exit_code().await
    }

    /// Whether the process's container still runs: when the output ends because the container
    /// stopped, the exit code is only the signal that ended it.
    pub async fn container_running(&self) -> Result<bool> {
        let target = &self.shared.target;
        let docker = target.engine.docker();
        let inspect = docker
            .inspect_container(&target.container, None)
            .await
            .map_err(|e| {
                StackError::docker(&target.engine, &target.service, "inspect its container", e)
            })?;
        Ok(inspect.state.and_then(|s| s.running).unwrap_or(false))
    }

    /// Ends a TTY session as a closed terminal would, unless it already ended: see [`Exec`].
    pub async fn hang_up(&self) -> Result<()> {
        self.shared.hung_up.store(true, Ordering::Relaxed);
        self.shared.target.hang_up().await
    }
}

impl Target {
    async fn exit_code(&self) -> Result<Option<i64>> {
        let inspect = (self.engine.docker().inspect_exec(&self.id).await).map_err(|e| {
            StackError::docker(&self.engine, &self.service, "read its exit code", e)
        })?;
        Ok(match inspect.running {
            Some(true) => None,
            _ => inspect.exit_code,
        })
    }

    /// SIGHUP to every process that carries the session's marker: the shell and what it
    /// started, as the kernel signals a session whose terminal closed.
    async fn hang_up(&self) -> Result<()> {
        let Some(marker) = &self.marker else {
            return Ok(());
        };
        if self.exit_code().await?.is_some() {
            return Ok(());
        }
        // Each process's environment, an entry a line; the marker is $0, so nothing is quoted
        // into the script. Processes of other users are unreadable and skipped.
        let script = r#"for e in /proc/[0-9]*/environ; do
  if tr '\0' '\n' < "$e" 2>/dev/null | grep -qx "$0"; then
    p=${e%/environ}; kill -HUP "${p#/proc/}" 2>/dev/null
  fi
done"#;
        let options = ExecOptions {
            command: vec![
                "sh".into(),
                "-c".into(),
                script.into(),
                format!("{MARKER}={marker}"),
            ],
            user: self.user.clone(),
            ..ExecOptions::default()
        };
        let mut kill = start(&self.engine, &self.service, &self.container, options).await?;
        while kill.output.next().await.is_some() {}
        Ok(())
    }
}

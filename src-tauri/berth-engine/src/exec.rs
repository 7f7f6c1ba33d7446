//! A process in a project's container: the one way Berth runs one (the window's terminal and
//! `berthctl exec`), through the engine's exec API, with `docker compose exec`'s choice of
//! container and its errors.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

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
/// When every part of it is dropped while the process still runs, the process is hung up as a
/// terminal hangs up its session (SIGHUP): the engine itself leaves an exec running after its
/// client went away.
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

/// The process's stdin. Shutting it down is end of input; with a TTY it also hangs up the
/// process, since the engine then ends the output but not the process.
pub struct ExecInput {
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    shared: Arc<Shared>,
}

/// The process itself: size, exit code, hangup. Clones name the same process.
#[derive(Clone)]
pub struct ExecProcess {
    shared: Arc<Shared>,
}

/// What the parts share: the exec and how to reach it.
struct Shared {
    engine: Engine,
    id: String,
    container: String,
    service: String,
    /// The marker in the process's environment that finds it and its children for a hangup.
    marker: Option<String>,
    user: Option<String>,
    /// The output ended: the process is over (or, with a TTY, its input was closed).
    ended: AtomicBool,
    runtime: tokio::runtime::Handle,
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

    /// compose's `getSpecifiedContainer`: the service's running containers (one-offs last)
    /// by number, or the one numbered `index`.
    async fn exec_target(&self, service: &str, index: Option<u32>) -> Result<String> {
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

async fn start(
    engine: &Engine,
    service: &str,
    container: &str,
    options: ExecOptions,
) -> Result<Exec> {
    let docker = engine.docker();
    let marker = (options.tty && options.stdin).then(new_marker);
    let mut env = options.env;
    env.extend(marker.iter().map(|m| format!("{MARKER}={m}")));
    let config = CreateExecOptions {
        attach_stdin: Some(options.stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(options.tty),
        env: Some(env),
        cmd: Some(options.command),
        privileged: Some(options.privileged),
        user: options.user.clone(),
        working_dir: options.workdir,
        ..Default::default()
    };
    let not_running = || StackError::NotRunning {
        service: service.to_owned(),
        index: None,
    };
    let created = docker
        .create_exec(container, config)
        .await
        .map_err(|e| match e {
            // The container stopped since it was picked.
            e if conflict(&e) => not_running(),
            e => StackError::docker(engine, service, "start a process in its container", e),
        })?;
    let start = StartExecOptions {
        detach: false,
        tty: options.tty,
        // The read buffer: large enough that a stream of output is a few reads per frame.
        output_capacity: Some(64 * 1024),
    };
    let StartExecResults::Attached { output, input } = docker
        .start_exec(&created.id, Some(start))
        .await
        .map_err(|e| match e {
            e if conflict(&e) => not_running(),
            e => StackError::docker(engine, service, "start a process in its container", e),
        })?
    else {
        unreachable!("an exec started without detach is attached");
    };
    let shared = Arc::new(Shared {
        engine: engine.clone(),
        id: created.id,
        container: container.to_owned(),
        service: service.to_owned(),
        marker,
        user: options.user,
        ended: AtomicBool::new(false),
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
        let item = match self.stream.poll_next_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        let shared = &self.shared;
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
            Some(Err(e)) => {
                shared.ended.store(true, Ordering::Relaxed);
                let action = "read the output of its process";
                Some(Err(StackError::docker(
                    &shared.engine,
                    &shared.service,
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
        if done.is_ready() && self.shared.marker.is_some() {
            let process = ExecProcess {
                shared: self.shared.clone(),
            };
            self.shared
                .runtime
                .spawn(async move { process.hang_up().await });
        }
        done
    }
}

impl ExecProcess {
    /// The engine's id of the exec.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Sets the size of the process's terminal (a TTY exec only).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<()> {
        let size = ResizeExecOptions {
            width: cols,
            height: rows,
        };
        let shared = &self.shared;
        shared
            .engine
            .docker()
            .resize_exec(&shared.id, size)
            .await
            .map_err(|e| {
                StackError::docker(&shared.engine, &shared.service, "resize its terminal", e)
            })
    }

    /// After the output ended: the process's exit code (126 and 127 when the command cannot be
    /// run or is not found). None while it still runs.
    pub async fn exit_code(&self) -> Result<Option<i64>> {
        let shared = &self.shared;
        let inspect = shared
            .engine
            .docker()
            .inspect_exec(&shared.id)
            .await
            .map_err(|e| {
                StackError::docker(&shared.engine, &shared.service, "read its exit code", e)
            })?;
        Ok(match inspect.running {
            Some(true) => None,
            _ => inspect.exit_code,
        })
    }

    /// Whether the process's container still runs: when the output ends because the container
    /// stopped, the exit code is only the signal that ended it.
    pub async fn container_running(&self) -> Result<bool> {
        let shared = &self.shared;
        let inspect = shared
            .engine
            .docker()
            .inspect_container(&shared.container, None)
            .await
            .map_err(|e| {
                StackError::docker(&shared.engine, &shared.service, "inspect its container", e)
            })?;
        Ok(inspect.state.and_then(|s| s.running).unwrap_or(false))
    }

    /// Ends the process and everything it started as a closed terminal would: SIGHUP to each
    /// process carrying its marker (a TTY session with input; other execs end with their input).
    /// Nothing is done if it already ended.
    pub async fn hang_up(&self) -> Result<()> {
        let Some(marker) = &self.shared.marker else {
            return Ok(());
        };
        if self.exit_code().await?.is_some() {
            return Ok(());
        }
        let shared = &self.shared;
        // Each /proc entry's environment, one NUL-separated entry a line, for the marker; the
        // marker is $0 so no quoting is involved. Unreadable entries (other users) are skipped.
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
            user: shared.user.clone(),
            ..ExecOptions::default()
        };
        let mut kill = start(&shared.engine, &shared.service, &shared.container, options).await?;
        while kill.output.next().await.is_some() {}
        Ok(())
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if self.marker.is_none() || self.ended.load(Ordering::Relaxed) {
            return;
        }
        let process = ExecProcess {
            shared: Arc::new(Shared {
                engine: self.engine.clone(),
                id: std::mem::take(&mut self.id),
                container: std::mem::take(&mut self.container),
                service: std::mem::take(&mut self.service),
                marker: self.marker.take(),
                user: self.user.take(),
                ended: AtomicBool::new(true),
                runtime: self.runtime.clone(),
            }),
        };
        self.runtime.spawn(async move {
            if let Err(e) = process.hang_up().await {
                tracing::warn!(
                    "could not hang up a process in {}: {e}",
                    process.shared.service
                );
            }
        });
    }
}

//! `berthctl exec`: a command in a running service container, as `docker compose exec` runs
//! it: a terminal when stdout is one (and -T is not given), stdin forwarded, the command's exit
//! code as berthctl's own.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;

use anyhow::Context;
use berth_engine::{AbortOnDrop, Chunk, Exec, ExecOptions, ExecProcess, ProjectArgs};
use clap::Args;
use futures_util::StreamExt;
use rustix::termios::{OptionalActions, Termios, tcgetattr, tcgetwinsize, tcsetattr};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use crate::{Exit, stack_args};

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Detached mode: run the command in the background.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Set an environment variable (KEY=VAL; KEY alone takes the project environment's value).
    #[arg(short = 'e', long = "env", value_name = "KEY[=VAL]")]
    env: Vec<String>,
    /// Index of the container if the service has multiple replicas.
    #[arg(long, default_value_t = 0)]
    index: u32,
    /// Give extended privileges to the process.
    #[arg(long)]
    privileged: bool,
    /// Run the command as this user.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Disable pseudo-TTY allocation (the default when stdout is not a terminal).
    #[arg(short = 'T', long = "no-tty")]
    no_tty: bool,
    /// Path to workdir directory for this command.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    service: String,
    /// The command and its arguments; flags after the service are the command's.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub async fn run(project: &ProjectArgs, args: ExecArgs) -> anyhow::Result<()> {
    let stack = stack_args::stack(project).await?;
    // compose's default for -T, and the docker CLI's check that follows from it.
    let tty = !args.no_tty && std::io::stdout().is_terminal();
    if tty && !args.detach && !std::io::stdin().is_terminal() {
        anyhow::bail!("the input device is not a TTY");
    }
    // KEY alone is KEY's value in the project's environment, or nothing if it has none.
    let environment = &stack.project().environment;
    let env = (args.env.iter())
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            None => environment.get(e).map(|v| format!("{e}={v}")),
        })
        .collect();
    let options = ExecOptions {
        command: args.command,
        user: args.user,
        workdir: args.workdir,
        env,
        tty,
        stdin: true,
        privileged: args.privileged,
    };
    let index = (args.index > 0).then_some(args.index);
    if args.detach {
        return Ok(stack.exec_detached(&args.service, index, options).await?);
    }
    let exec = stack.exec(&args.service, index, options).await?;
    let code = if tty {
        let raw = RawMode::enter().context("cannot put the terminal in raw mode")?;
        let code = on_the_terminal(exec).await;
        drop(raw);
        code?
    } else {
        attached(exec).await?
    };
    match code {
        0 => Ok(()),
        code => Err(Exit(code as u8).into()),
    }
}

/// The process on this terminal: resized with it, and hung up if berthctl is told to end.
async fn on_the_terminal(exec: Exec) -> anyhow::Result<i64> {
    let process = exec.process.clone();
    let sizes = signal(SignalKind::window_change())?;
    let _sizes = AbortOnDrop(tokio::spawn(follow_size(process.clone(), sizes)));
    let mut hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let signalled = async {
        tokio::select! {
            _ = hangup.recv() => SignalKind::hangup(),
            _ = interrupt.recv() => SignalKind::interrupt(),
            _ = quit.recv() => SignalKind::quit(),
            _ = terminate.recv() => SignalKind::terminate(),
        }
    };
    tokio::select! {
        code = attached(exec) => code,
        signal = signalled => {
            process.hang_up().await?;
            Err(Exit(128 + signal.as_raw_value() as u8).into())
        }
    }
}

/// Sizes the process's terminal as this one, now and at each SIGWINCH. A resize that fails
/// (the process just ended) is no error, as with the docker CLI.
async fn follow_size(process: ExecProcess, mut changes: Signal) {
    loop {
        if let Ok(size) = tcgetwinsize(std::io::stdout())
            && let Err(e) = process.resize(size.ws_col, size.ws_row).await
        {
            tracing::debug!("resizing the terminal failed: {e}");
        }
        if changes.recv().await.is_none() {
            return;
        }
    }
}

/// Copies stdin to the process and its output to stdout and stderr until it ends; its exit
/// code. With a TTY all of the output is stdout, as the terminal's.
async fn attached(exec: Exec) -> anyhow::Result<i64> {
    let Exec {
        mut output,
        mut input,
        process,
    } = exec;
    // Written as they come, to duplicates of the descriptors: no buffer, no copy.
    let mut stdout = File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let mut stderr = File::from(std::io::stderr().as_fd().try_clone_to_owned()?);
    // Forwarded from a task of its own, so a process that prints before it reads never waits
    // on berthctl.
    let mut typed = read_stdin();
    let _forward = AbortOnDrop(tokio::spawn(async move {
        while let Some(bytes) = typed.recv().await {
            if input.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = input.shutdown().await;
    }));
    while let Some(chunk) = output.next().await {
        match chunk? {
            Chunk::Stdout(bytes) => stdout.write_all(&bytes)?,
            Chunk::Stderr(bytes) => stderr.write_all(&bytes)?,
        }
    }
    // Running still: only a terminal whose input closed. Its hangup is awaited here, as
    // berthctl's runtime ends when this returns and would drop one sent in the background.
    match process.exit_code().await? {
        Some(code) => Ok(code),
        None => process.hang_up().await.map(|()| 0).map_err(Into::into),
    }
}

/// Stdin, read on a thread of its own: a blocking read that exit may interrupt, where the
/// runtime's stdin would hold the runtime's shutdown until a key is pressed.
fn read_stdin() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = stdin.read(&mut buf) {
            if tx.blocking_send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    rx
}

/// The terminal in raw mode (keys go to the process as typed, Ctrl-C included) until dropped,
/// which restores it: on return, on error, and while a panic unwinds.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        let saved = tcgetattr(std::io::stdin())?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(std::io::stdin(), OptionalActions::Now, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

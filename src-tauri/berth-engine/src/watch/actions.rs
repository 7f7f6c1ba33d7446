//! What a batch of changes does to a service, as compose's `handleWatchBatch` and its tar
//! syncer: files that exist are sent as one tar archive to each running container through the
//! engine's archive API (owned by the container's user, as compose sends them); files gone
//! are removed with one `rm -rf` in each container; then restarts and `exec` hooks.

use bollard::query_parameters::UploadToContainerOptions;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::Stack;
use crate::containers::{self, Listed};
use crate::error::describe;
use crate::exec::{self, Chunk, ExecOptions};
use crate::watch::config::Hook;
use crate::watch::rules::Mapping;

/// The ids of `service`'s running containers (not one-offs); an error when there are none.
async fn running(stack: &Stack, service: &str) -> Result<Vec<String>, String> {
    let listed = containers::list(stack.engine(), &stack.project().name)
        .await
        .map_err(|e| format!("cannot list its containers: {}", describe(&e)))?;
    let ids: Vec<String> = listed
        .into_iter()
        .map(Listed::from_summary)
        .filter(|c| c.service == service && c.running && !c.oneoff)
        .map(|c| c.id)
        .collect();
    if ids.is_empty() {
        return Err(format!(
            "service \"{service}\" is not running; start it (berthctl up -d {service}) and save again"
        ));
    }
    Ok(ids)
}

/// Copies the files of `mappings` that exist into every running container of `service`, and
/// removes those that do not.
pub(crate) async fn sync(stack: &Stack, service: &str, mappings: &[Mapping]) -> Result<(), String> {
    let ids = running(stack, service).await?;
    let (present, gone): (Vec<&Mapping>, Vec<&Mapping>) =
        mappings.iter().partition(|m| m.host.exists());
    let archive = if present.is_empty() {
        None
    } else {
        let entries: Vec<Mapping> = present.into_iter().cloned().collect();
        let tar = tokio::task::spawn_blocking(move || archive(&entries))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot read the changed files: {e}"))?;
        Some(Bytes::from(tar))
    };
    let mut failures = Vec::new();
    for id in &ids {
        if !gone.is_empty() {
            let mut command = vec!["rm".to_owned(), "-rf".to_owned()];
            command.extend(gone.iter().map(|m| m.container.clone()));
            match run(
                stack,
                service,
                id,
                ExecOptions {
                    command,
                    ..ExecOptions::default()
                },
                None,
            )
            .await
            {
                Ok((0, _)) => {}
                Ok((code, err)) => {
                    failures.push(format!("cannot delete files (rm exited {code}): {err}"))
                }
                Err(e) => failures.push(e),
            }
        }
        if let Some(tar) = &archive {
            let options = UploadToContainerOptions {
                path: "/".into(),
                copy_uidgid: Some("true".into()),
                ..Default::default()
            };
            let sent = stack
                .engine()
                .docker()
                .upload_to_container(id, Some(options), bollard::body_full(tar.clone()))
                .await;
            if let Err(e) = sent {
                let targets = target_dirs(mappings);
                failures.push(format!("cannot copy files to {targets}: {}", describe(&e)));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The container directories the files were going to, for an error.
fn target_dirs(mappings: &[Mapping]) -> String {
    let mut dirs: Vec<&str> = mappings
        .iter()
        .map(|m| {
            m.container
                .rsplit_once('/')
                .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d })
        })
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    dirs.join(", ")
}

/// The files as one tar archive, each named by its path in the container.
fn archive(entries: &[Mapping]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    for m in entries {
        let name = m.container.trim_start_matches('/');
        match std::fs::symlink_metadata(&m.host) {
            Ok(meta) if meta.is_dir() => tar.append_dir(name, &m.host)?,
            Ok(_) => tar.append_path_with_name(&m.host, name)?,
            // Deleted since the batch was taken: the next batch removes it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    tar.into_inner()
}

/// Runs `hook` in every running container of `service`, its output sent to `output` as it
/// comes (compose prints a hook's output); the exit codes.
pub(crate) async fn exec_hook(
    stack: &Stack,
    service: &str,
    hook: &Hook,
    output: mpsc::Sender<Chunk>,
) -> Result<Vec<i64>, String> {
    let mut codes = Vec::new();
    for id in running(stack, service).await? {
        let options = ExecOptions {
            command: hook.command.clone(),
            user: hook.user.clone(),
            workdir: hook.working_dir.clone(),
            env: hook.environment.clone(),
            privileged: hook.privileged,
            end_with_client: true,
            ..ExecOptions::default()
        };
        codes.push(run(stack, service, &id, options, Some(&output)).await?.0);
    }
    Ok(codes)
}

/// Runs a command in container `id` to its end: its exit code and what it wrote to stderr,
/// or, given `forward`, none of it kept and all of it sent there.
async fn run(
    stack: &Stack,
    service: &str,
    id: &str,
    options: ExecOptions,
    forward: Option<&mpsc::Sender<Chunk>>,
) -> Result<(i64, String), String> {
    let exec = exec::start(stack.engine(), service, id, options)
        .await
        .map_err(|e| e.to_string())?;
    let mut output = exec.output;
    let mut stderr = Vec::new();
    while let Some(chunk) = output.next().await {
        match (chunk.map_err(|e| e.to_string())?, forward) {
            (chunk, Some(forward)) => {
                // The watch reading these may be gone; the command still runs to its end.
                let _ = forward.send(chunk).await;
            }
            (Chunk::Stderr(b), None) if stderr.len() < 4096 => stderr.extend_from_slice(&b),
            _ => {}
        }
    }
    let code = exec.process.exit_code().await.map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&stderr).trim().to_owned();
    Ok((code.unwrap_or(-1), stderr))
}

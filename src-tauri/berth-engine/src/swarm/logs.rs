//! The merged logs of a stack's services, through the engine's service logs API (the lines of
//! every task of each service, on whichever node it runs), as the log hub takes them.

use std::sync::Arc;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::deploy::stack_services;
use super::info::require_manager;
use super::{Result, SwarmError};
use crate::Engine;
use crate::logs::{Origin, Record, Stream, parse_rfc3339};

/// Follows the logs of every service of stack `namespace` (all their lines so far, then new
/// ones) into `tx` until `cancel` fires or every service's stream ends. A line's origin is its
/// service: `name` is `<ns>_<svc>`, `service` the file's name for it.
pub async fn follow_service_logs(
    engine: &Engine,
    namespace: &str,
    tx: mpsc::Sender<Vec<Record>>,
    cancel: CancellationToken,
) -> Result<()> {
    require_manager(engine).await?;
    let services = stack_services(engine, namespace).await?;
    let prefix = format!("{namespace}_");
    let mut readers = tokio::task::JoinSet::new();
    for s in services {
        let (Some(id), Some(name)) = (s.id, s.spec.and_then(|s| s.name)) else {
            continue;
        };
        let origin = Arc::new(Origin {
            id: id.clone(),
            service: name.strip_prefix(&prefix).unwrap_or(&name).to_owned(),
            name,
        });
        let docker = engine.docker().clone();
        let tx = tx.clone();
        let cancel = cancel.clone();
        readers.spawn(async move {
            let options = LogsOptionsBuilder::new()
                .follow(true)
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .build();
            let mut stream = docker.service_logs(&id, Some(options));
            loop {
                let frame = tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    frame = stream.next() => frame,
                };
                let Some(frame) = frame else { return Ok(()) };
                let frame = frame.map_err(SwarmError::request(format!(
                    "read the logs of service {}",
                    origin.name
                )))?;
                let (stream, message) = match frame {
                    LogOutput::StdErr { message } => (Stream::Stderr, message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        (Stream::Stdout, message)
                    }
                    LogOutput::StdIn { .. } => continue,
                };
                let records = records(&origin, stream, &message);
                if !records.is_empty() && tx.send(records).await.is_err() {
                    return Ok(());
                }
            }
        });
    }
    while let Some(done) = readers.join_next().await {
        if let Ok(Err(e)) = done {
            cancel.cancel();
            return Err(e);
        }
    }
    Ok(())
}

/// The lines of one frame, each `<RFC 3339 timestamp> <text>`.
fn records(origin: &Arc<Origin>, stream: Stream, message: &[u8]) -> Vec<Record> {
    message
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (ts, text) = match line.iter().position(|b| *b == b' ') {
                Some(i) => match std::str::from_utf8(&line[..i]).ok().and_then(parse_rfc3339) {
                    Some(ts) => (ts, &line[i + 1..]),
                    None => (0, line),
                },
                None => (0, line),
            };
            Record {
                origin: origin.clone(),
                stream,
                ts,
                text: text.to_vec(),
                partial: false,
                marker: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_split_into_timestamped_lines() {
        let origin = Arc::new(Origin {
            id: "x".into(),
            service: "api".into(),
            name: "s_api".into(),
        });
        let r = records(
            &origin,
            Stream::Stdout,
            b"2024-01-02T03:04:05.000000006Z hello world\n2024-01-02T03:04:06Z second\n",
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].text, b"hello world");
        assert_eq!(r[0].ts, 1_704_164_645_000_000_006);
        assert_eq!(r[1].text, b"second");
    }
}

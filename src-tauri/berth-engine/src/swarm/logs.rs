//! The merged logs of a stack's services, through the engine's service logs API (the lines of
//! every task of each service, on whichever node it runs), as the log hub takes them. Read off
//! the wire as a container's are (`logs::wire`).

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::deploy::stack_services;
use super::info::require_manager;
use super::{Result, SwarmError};
use crate::Engine;
use crate::logs::wire;
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
        let engine = engine.clone();
        let tx = tx.clone();
        let cancel = cancel.clone();
        readers.spawn(async move {
            let failed = |action: &str| {
                let action = format!("{action} the logs of service {}", origin.name);
                move |e: std::io::Error| SwarmError::request(action)(e.into())
            };
            let path = format!("services/{id}/logs");
            let query = "follow=1&stdout=1&stderr=1&timestamps=1";
            let mut stream = tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                opened = wire::open(&engine, &path, query) => opened.map_err(failed("ask for"))?,
            };
            loop {
                let frames = tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    frames = stream.next() => frames,
                };
                let Some(frames) = frames else { return Ok(()) };
                let mut batch = Vec::new();
                for frame in frames.map_err(failed("read"))? {
                    let Some((stream, message)) = wire::stream_of(frame) else {
                        continue;
                    };
                    batch.extend(records(&origin, stream, &message));
                }
                if !batch.is_empty() && tx.send(batch).await.is_err() {
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

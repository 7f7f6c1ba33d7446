//! The window's terminals: shells in the open project's containers, by id. A terminal's output
//! goes to the page in batches (one IPC message each, not one per read), and flow control keeps
//! a fast producer (a 50 MB `cat`) in the container's pipe rather than in the page's memory:
//! past [`HIGH_WATER`] bytes sent and not yet written by xterm.js (the page acknowledges them,
//! ui/src/lib/terminal/flow.ts), the exec's output is not read until they are down to
//! [`LOW_WATER`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_engine::{AbortOnDrop, Chunk, Exec, ExecInput, ExecProcess, StackError};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tauri::ipc::{Channel, InvokeResponseBody};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use ts_rs::TS;

use crate::error::Error;

/// How a terminal's shell ended: the last message on its channel, after all its output.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct TerminalEnded {
    /// What its tab says: `exited (3)`, `container stopped`, or why the output broke off.
    pub label: String,
}

/// The open terminals. Each one's pump task ends with it, and dropping its exec hangs up the
/// shell in the container.
#[derive(Default)]
pub struct Terminals {
    next: AtomicU32,
    open: Mutex<HashMap<u32, Terminal>>,
}

struct Terminal {
    /// Who it is, for errors: `backend-1`.
    name: String,
    input: Arc<tokio::sync::Mutex<ExecInput>>,
    process: ExecProcess,
    /// Bytes the page has written, in all.
    acked: watch::Sender<u64>,
    _pump: AbortOnDrop,
}

impl Terminals {
    /// Starts sending `exec`'s output to `on_output`; returns the terminal's id.
    pub fn open(&self, name: String, exec: Exec, on_output: Channel<InvokeResponseBody>) -> u32 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let Exec {
            output,
            input,
            process,
        } = exec;
        let (acked, acks) = watch::channel(0);
        let pump = tauri::async_runtime::handle().inner().spawn(run(
            output,
            process.clone(),
            acks,
            on_output,
        ));
        let terminal = Terminal {
            name,
            input: Arc::new(tokio::sync::Mutex::new(input)),
            process,
            acked,
            _pump: AbortOnDrop(pump),
        };
        self.open
            .lock()
            .expect("terminals lock")
            .insert(id, terminal);
        id
    }

    fn get<T>(&self, id: u32, part: impl FnOnce(&Terminal) -> T) -> Result<T, Error> {
        let open = self.open.lock().expect("terminals lock");
        let terminal = open
            .get(&id)
            .ok_or_else(|| Error::invalid(format!("There is no terminal {id}: it was closed.")))?;
        Ok(part(terminal))
    }

    /// Types `data` into the shell.
    pub async fn input(&self, id: u32, data: &[u8]) -> Result<(), Error> {
        let (name, input) = self.get(id, |t| (t.name.clone(), t.input.clone()))?;
        let mut input = input.lock().await;
        let written = async {
            input.write_all(data).await?;
            input.flush().await
        };
        written
            .await
            .map_err(|e| Error::not_ready(format!("The shell in {name} takes no more input: {e}.")))
    }

    pub async fn resize(&self, id: u32, cols: u16, rows: u16) -> Result<(), Error> {
        let process = self.get(id, |t| t.process.clone())?;
        Ok(process.resize(cols, rows).await?)
    }

    /// The page has written `bytes` more of the terminal's output.
    pub fn ack(&self, id: u32, bytes: u64) -> Result<(), Error> {
        self.get(id, |t| t.acked.send_modify(|acked| *acked += bytes))
    }

    /// Ends the terminal: its shell is hung up, and the command returns once it is. Closing one
    /// that is gone (the project changed meanwhile) is no error.
    pub async fn close(&self, id: u32) -> Result<(), Error> {
        let terminal = self.open.lock().expect("terminals lock").remove(&id);
        match terminal {
            Some(terminal) => Ok(terminal.process.hang_up().await?),
            None => Ok(()),
        }
    }

    /// Ends every terminal (another project opens); their shells are hung up in the background.
    pub fn clear(&self) {
        self.open.lock().expect("terminals lock").clear();
    }

    /// Ends every terminal and waits for their shells to be hung up (Berth quits: a task left
    /// for later would not run).
    pub async fn close_all(&self) {
        let all: Vec<Terminal> = {
            let mut open = self.open.lock().expect("terminals lock");
            open.drain().map(|(_, t)| t).collect()
        };
        for terminal in all {
            if let Err(e) = terminal.process.hang_up().await {
                tracing::warn!("could not hang up the shell in {}: {e}", terminal.name);
            }
        }
    }
}

/// Sends a terminal's output, then how it ended, until the page is gone.
async fn run(
    output: impl Stream<Item = Result<Chunk, StackError>> + Unpin,
    process: ExecProcess,
    acks: watch::Receiver<u64>,
    on_output: Channel<InvokeResponseBody>,
) {
    let Some(failure) = pump(output, acks, |bytes| {
        on_output.send(InvokeResponseBody::Raw(bytes)).is_ok()
    })
    .await
    else {
        return;
    };
    let ended = TerminalEnded {
        label: match failure {
            Some(e) => e.to_string(),
            None => ending(&process).await,
        },
    };
    let json = serde_json::to_string(&ended).expect("a TerminalEnded is JSON");
    let _ = on_output.send(InvokeResponseBody::Json(json));
}

/// How long a shell killed by a signal waits for its container to read as stopped.
const SETTLE: Duration = Duration::from_secs(2);

/// How the shell ended, once its output did.
async fn ending(process: &ExecProcess) -> String {
    let code = match process.exit_code().await {
        Ok(code) => code,
        Err(e) => return e.to_string(),
    };
    // A stopping container kills its processes (137) a moment before the engine says it
    // stopped: a signal's exit code waits for that, briefly.
    let signalled = code.is_some_and(|c| c > 128);
    let deadline = Instant::now() + SETTLE;
    loop {
        match process.container_running().await {
            Ok(false) => return "container stopped".to_owned(),
            Ok(true) if signalled && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(true) => break,
            Err(e) => return e.to_string(),
        }
    }
    match code {
        Some(code) => format!("exited ({code})"),
        None => "ended".to_owned(),
    }
}

/// Sends `output` through `send` in batches, reading only while the page keeps up (`acks`, the
/// bytes it has written in all). Returns when the output ends (with the error that broke it,
/// if one did), or None when `send` fails: the page is gone.
async fn pump(
    mut output: impl Stream<Item = Result<Chunk, StackError>> + Unpin,
    mut acks: watch::Receiver<u64>,
    send: impl Fn(Vec<u8>) -> bool,
) -> Option<Option<StackError>> {
    let mut batch = Batch::default();
    let mut flow = Flow::default();
    let failure = loop {
        let reading = !batch.is_full() && flow.reading(*acks.borrow_and_update());
        let due = batch.due();
        tokio::select! {
            chunk = output.next(), if reading => match chunk {
                Some(Ok(Chunk::Stdout(bytes) | Chunk::Stderr(bytes))) => {
                    batch.push(&bytes, Instant::now());
                }
                Some(Err(e)) => break Some(e),
                None => break None,
            },
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now).into()), if due.is_some() => {
                let bytes = batch.take(Instant::now());
                flow.sent(bytes.len());
                if !send(bytes) {
                    return None;
                }
            }
            changed = acks.changed(), if !reading && due.is_none() => {
                if changed.is_err() {
                    return None;
                }
            }
        }
    };
    if batch.due().is_some() && !send(batch.take(Instant::now())) {
        return None;
    }
    Some(failure)
}

/// A batch waits at most this long after the previous one for more output. The first output
/// after a pause (a keystroke's echo) goes at once.
pub const COALESCE: Duration = Duration::from_millis(4);
/// A batch this large goes at once.
pub const BATCH_BYTES: usize = 128 << 10;
/// Reading stops with this much unacknowledged…
pub const HIGH_WATER: u64 = 1 << 20;
/// …and resumes with this little: at least the page's `ACK_EVERY`, which it may hold back.
pub const LOW_WATER: u64 = 256 << 10;

/// Output waiting to be sent.
#[derive(Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    /// When the first byte waiting came.
    since: Option<Instant>,
    sent_at: Option<Instant>,
}

impl Batch {
    pub fn push(&mut self, chunk: &[u8], now: Instant) {
        self.since.get_or_insert(now);
        self.bytes.extend_from_slice(chunk);
    }

    pub fn is_full(&self) -> bool {
        self.bytes.len() >= BATCH_BYTES
    }

    /// When the batch is to be sent: none while empty; at once when full or after a pause,
    /// else [`COALESCE`] after the last one.
    pub fn due(&self) -> Option<Instant> {
        let since = self.since?;
        match self.sent_at {
            Some(sent) if !self.is_full() => Some(since.max(sent + COALESCE)),
            _ => Some(since),
        }
    }

    /// The bytes to send now.
    pub fn take(&mut self, now: Instant) -> Vec<u8> {
        self.since = None;
        self.sent_at = Some(now);
        std::mem::take(&mut self.bytes)
    }
}

/// The bytes sent and those the page acknowledged, with the watermarks' hysteresis.
#[derive(Debug, Default)]
pub struct Flow {
    sent: u64,
    paused: bool,
}

impl Flow {
    pub fn sent(&mut self, bytes: usize) {
        self.sent += bytes as u64;
    }

    /// Whether to read more output, the page having acknowledged `acked` bytes in all.
    pub fn reading(&mut self, acked: u64) -> bool {
        let unacked = self.sent.saturating_sub(acked);
        if self.paused {
            self.paused = unacked > LOW_WATER;
        } else {
            self.paused = unacked >= HIGH_WATER;
        }
        !self.paused
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use bytes::Bytes;

    use super::*;

    /// `total` bytes of output in 16 KiB reads, counted as they are read.
    fn output(
        total: usize,
        read: Arc<AtomicUsize>,
    ) -> impl Stream<Item = Result<Chunk, StackError>> + Unpin {
        let chunk = 16 << 10;
        futures_util::stream::iter((0..total / chunk).map(move |i| {
            read.fetch_add(chunk, Ordering::SeqCst);
            Ok(Chunk::Stdout(Bytes::from(vec![i as u8; chunk])))
        }))
    }

    #[tokio::test]
    async fn a_flood_waits_for_the_page_and_arrives_whole_and_in_order() {
        let total = 8 << 20;
        let read = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(Mutex::new(Vec::<u8>::new()));
        let (acked, acks) = watch::channel(0u64);
        let sink = sent.clone();
        let pump = tokio::spawn(pump(output(total, read.clone()), acks, move |bytes| {
            assert!(bytes.len() <= BATCH_BYTES + (16 << 10));
            sink.lock().unwrap().extend(bytes);
            true
        }));

        // The page acknowledges nothing: reading stops near the high watermark.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let held = sent.lock().unwrap().len();
        assert!(
            (HIGH_WATER as usize..=HIGH_WATER as usize + BATCH_BYTES).contains(&held),
            "{held} bytes sent unacknowledged"
        );
        assert!(read.load(Ordering::SeqCst) <= held + BATCH_BYTES);
        assert!(!pump.is_finished());

        // The page keeps up: the rest comes.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pump.is_finished() {
            assert!(Instant::now() < deadline, "the output never ended");
            let written = sent.lock().unwrap().len() as u64;
            acked.send_replace(written);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(matches!(pump.await.unwrap(), Some(None)));
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), total);
        assert!(
            sent.chunks(16 << 10)
                .enumerate()
                .all(|(i, c)| c.iter().all(|b| *b == i as u8))
        );
    }

    #[tokio::test]
    async fn a_page_that_is_gone_ends_the_pump() {
        let (_acked, acks) = watch::channel(0u64);
        let read = Arc::new(AtomicUsize::new(0));
        let ended = pump(output(1 << 20, read), acks, |_| false).await;
        assert!(ended.is_none());
    }

    #[test]
    fn an_echo_goes_at_once_and_a_flood_in_batches() {
        let t0 = Instant::now();
        let mut batch = Batch::default();
        assert_eq!(batch.due(), None);
        batch.push(b"l", t0);
        assert_eq!(batch.due(), Some(t0));
        assert_eq!(batch.take(t0), b"l");
        assert_eq!(batch.due(), None);

        // More right behind it waits for the rest of its batch…
        let t1 = t0 + Duration::from_millis(1);
        batch.push(b"s\r\n", t1);
        batch.push(b"bin  etc", t1);
        assert_eq!(batch.due(), Some(t0 + COALESCE));
        assert_eq!(batch.take(t0 + COALESCE), b"s\r\nbin  etc");

        // …unless the batch fills first.
        let t2 = t0 + COALESCE + Duration::from_millis(1);
        batch.push(&vec![b'x'; BATCH_BYTES], t2);
        assert!(batch.is_full());
        assert_eq!(batch.due(), Some(t2));
        assert_eq!(batch.take(t2).len(), BATCH_BYTES);

        // After a pause, at once again.
        let t3 = t2 + Duration::from_secs(1);
        batch.push(b"$ ", t3);
        assert_eq!(batch.due(), Some(t3));
    }

    #[test]
    fn reading_pauses_at_the_high_watermark_until_the_low_one() {
        let mut flow = Flow::default();
        assert!(flow.reading(0));
        flow.sent(HIGH_WATER as usize - 1);
        assert!(flow.reading(0));
        flow.sent(1);
        assert!(!flow.reading(0));
        // Acknowledgements below the high watermark do not resume it yet…
        assert!(!flow.reading(HIGH_WATER - LOW_WATER - 1));
        // …reaching the low one does, and it stays so until the high one again.
        assert!(flow.reading(HIGH_WATER - LOW_WATER));
        flow.sent(LOW_WATER as usize);
        assert!(flow.reading(HIGH_WATER - LOW_WATER));
    }
}

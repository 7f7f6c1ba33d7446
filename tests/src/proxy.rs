//! A socket proxy in front of an engine, counting what a client asks of it: every request by
//! path, and the long-lived streams (events, stats) it holds open. The count is of what crosses
//! the socket, so it holds whatever the client's code looks like.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// A proxy listening on its own socket; stops when dropped.
pub struct Proxy {
    socket: PathBuf,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Seen {
    /// Every request's path and query (the API version prefix removed), in order.
    requests: Vec<String>,
    /// Per open connection, the last request sent on it.
    open: HashMap<u64, String>,
}

impl Proxy {
    /// Listens on `socket`, forwarding every connection to the engine at `upstream` (a unix
    /// socket path). A connection the engine refuses is closed, as the engine's own would be.
    pub fn start(socket: &Path, upstream: &Path) -> Proxy {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket).expect("bind the proxy's socket");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let upstream = upstream.to_owned();
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                for n in 0u64.. {
                    let Ok((client, _)) = listener.accept().await else {
                        return;
                    };
                    tokio::spawn(forward(n, client, upstream.clone(), seen.clone()));
                }
            }
        });
        Proxy {
            socket: socket.to_owned(),
            seen,
            task,
        }
    }

    /// The address for `Engine::connect_to` and DOCKER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The requests made while waiting `time`.
    pub async fn requests_during(&self, time: std::time::Duration) -> Vec<String> {
        let from = self.seen.lock().unwrap().requests.len();
        tokio::time::sleep(time).await;
        self.seen.lock().unwrap().requests[from..].to_vec()
    }

    /// Event streams open now: `/events` requests without an end (`until`) whose connection is
    /// still open.
    pub fn open_event_streams(&self) -> usize {
        self.open_where(|r| r.starts_with("/events") && !r.contains("until="))
    }

    /// Of those, the window's projects list's: the one filtered by the compose project label
    /// (a project's own feed picks its project out of an unfiltered stream).
    pub fn open_project_list_streams(&self) -> usize {
        self.open_where(|r| {
            r.starts_with("/events")
                && !r.contains("until=")
                && r.contains(berth_engine::labels::PROJECT)
        })
    }

    /// Stats streams open now.
    pub fn open_stats_streams(&self) -> usize {
        self.open_where(|r| r.contains("/stats") && !r.contains("stream=false"))
    }

    /// How many requests were made so far: a mark for [`Proxy::requests_since`].
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().requests.len()
    }

    /// The requests made since `mark`.
    pub fn requests_since(&self, mark: usize) -> Vec<String> {
        self.seen.lock().unwrap().requests[mark..].to_vec()
    }

    /// Log streams of `container` (its id or name) open now.
    pub fn open_log_streams(&self, container: &str) -> usize {
        let path = format!("/containers/{container}/logs");
        self.open_where(|r| r.starts_with(&path) && !r.contains("follow=false"))
    }

    fn open_where(&self, is: impl Fn(&str) -> bool) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.open.values().filter(|r| is(r)).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Forwards one connection both ways, noting each request line the client sends.
async fn forward(n: u64, mut client: UnixStream, upstream: PathBuf, seen: Arc<Mutex<Seen>>) {
    let Ok(mut engine) = UnixStream::connect(&upstream).await else {
        return;
    };
    let (mut client_rx, mut client_tx) = client.split();
    let (mut engine_rx, mut engine_tx) = engine.split();
    let requests = async {
        let mut line = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let read = match client_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            for &b in &buf[..read] {
                if b == b'\n' {
                    if let Some(path) = request_path(&line) {
                        let mut seen = seen.lock().unwrap();
                        seen.requests.push(path.clone());
                        seen.open.insert(n, path);
                    }
                    line.clear();
                } else if line.len() < 8 << 10 {
                    line.push(b);
                }
            }
            if engine_tx.write_all(&buf[..read]).await.is_err() {
                return;
            }
        }
    };
    let answers = tokio::io::copy(&mut engine_rx, &mut client_tx);
    // Either side closing ends the connection, as it would without the proxy.
    tokio::select! {
        () = requests => {}
        _ = answers => {}
    }
    seen.lock().unwrap().open.remove(&n);
}

/// The path of an HTTP request line (`GET /v1.41/events?... HTTP/1.1`), without the version.
fn request_path(line: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let path = parts.next()?;
    if !matches!(method, "GET" | "POST" | "PUT" | "DELETE" | "HEAD") || parts.next()? != "HTTP/1.1"
    {
        return None;
    }
    let path = match path.strip_prefix("/v") {
        Some(rest) => &rest[rest.find('/')?..],
        None => path,
    };
    Some(path.to_owned())
}

//! An engine over SSH, reached as the docker CLI reaches one: the system `ssh` runs `docker
//! system dial-stdio` on the host (so `~/.ssh/config`, known hosts and the agent apply) and the
//! HTTP client speaks over its stdin and stdout, one `ssh` per connection, reused while it lasts.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bollard::{BollardRequest, Docker};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The address requests carry: the daemon behind dial-stdio ignores it (as the docker CLI's
/// connection helpers do).
const DUMMY_HOST: &str = "http://docker.example.com";

/// Seconds ssh may take to connect, as the docker CLI asks for.
const CONNECT_TIMEOUT: &str = "ConnectTimeout=30";

/// How long a dropped connection's ssh may take to exit on its own before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(300);

/// How long a request waits for a busy connection to free up before another ssh starts, and
/// how often it looks.
const REUSE_WAIT: Duration = Duration::from_millis(100);
const REUSE_POLL: Duration = Duration::from_millis(1);

/// `ssh://[user@]host[:port]`, split as the docker CLI splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    user: Option<String>,
    host: String,
    port: Option<String>,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("{url} is not an ssh:// address"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !path.is_empty() {
            return Err(format!(
                "{url}: an ssh:// address takes no path (ssh://[user@]host[:port])"
            ));
        }
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_owned()), h),
            None => (None, authority),
        };
        let (host, port) = match host_port.strip_prefix('[') {
            Some(v6) => {
                let (h, p) = v6
                    .split_once(']')
                    .ok_or_else(|| format!("{url}: unclosed ["))?;
                (h, p.strip_prefix(':'))
            }
            None => match host_port.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            },
        };
        if host.is_empty() {
            return Err(format!("{url}: no host (ssh://[user@]host[:port])"));
        }
        Ok(Target {
            user,
            host: host.to_owned(),
            port: port.map(str::to_owned),
        })
    }

    /// The host ssh connects to for this address (`HostName` in `~/.ssh/config`), as `ssh -G`
    /// resolves it without connecting; the address's own host if ssh cannot say.
    async fn host_name(&self) -> String {
        let mut args = self.args();
        args.truncate(args.len() - 3);
        let resolved = Command::new("ssh").arg("-G").args(&args).output().await;
        let text = resolved.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        text.ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("hostname ").map(str::to_owned))
            })
            .unwrap_or_else(|| self.host.clone())
    }

    /// `ssh`'s arguments, as the docker CLI's connection helper passes them.
    fn args(&self) -> Vec<String> {
        let mut args = vec!["-o".to_owned(), CONNECT_TIMEOUT.to_owned(), "-T".to_owned()];
        if let Some(user) = &self.user {
            args.extend(["-l".to_owned(), user.clone()]);
        }
        if let Some(port) = &self.port {
            args.extend(["-p".to_owned(), port.clone()]);
        }
        args.extend(["--", &self.host, "docker", "system", "dial-stdio"].map(str::to_owned));
        args
    }
}

/// A bollard client over ssh, and the host name ssh resolves for the address (its published
/// ports are there).
pub(crate) async fn connect(
    url: &str,
    timeout: u64,
) -> Result<(Docker, String), bollard::errors::Error> {
    let target = Target::parse(url).map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
    let host_name = target.host_name().await;
    let pool = Arc::new(Pool {
        target,
        failure: Arc::new(watch::channel(None).0),
        senders: Mutex::new(Vec::new()),
    });
    let transport = move |req: BollardRequest| {
        let pool = pool.clone();
        async move { pool.request(req).await }
    };
    let docker = Docker::connect_with_custom_transport(
        transport,
        Some(DUMMY_HOST),
        timeout,
        bollard::API_DEFAULT_VERSION,
    )?;
    Ok((docker, host_name))
}

/// The engine's HTTP connections, each its own ssh. A request takes a free one; it waits a
/// moment for a busy one to free up before starting another ssh (whose handshake costs far
/// more than a short answer takes), so only long-lived streams (events, logs, exec) hold
/// connections of their own.
struct Pool<B> {
    target: Target,
    /// The last ssh that exited on its own with an error: what it said and its status.
    failure: Arc<watch::Sender<Option<String>>>,
    senders: Mutex<Vec<SendRequest<B>>>,
}

impl<B> Pool<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    async fn request(
        &self,
        mut req: hyper::Request<B>,
    ) -> Result<hyper::Response<Incoming>, bollard::errors::Error> {
        // The daemon behind dial-stdio takes origin-form requests, with a Host.
        let uri = req.uri().clone();
        if let Some(authority) = uri.authority() {
            let value = hyper::header::HeaderValue::from_str(authority.as_str());
            if let (false, Ok(value)) = (req.headers().contains_key(hyper::header::HOST), value) {
                req.headers_mut().insert(hyper::header::HOST, value);
            }
        }
        if let Some(path) = uri.path_and_query() {
            *req.uri_mut() = path.as_str().parse().expect("a path is a URI");
        }
        let deadline = Instant::now() + REUSE_WAIT;
        let mut req = Some(req);
        let sent = loop {
            // A free connection's answer to come, or whether to open one (else wait).
            let (free, open) = {
                let mut senders = self.senders.lock().expect("not poisoned");
                senders.retain(|s| !s.is_closed());
                let open = senders.is_empty() || Instant::now() >= deadline;
                let free = senders.iter_mut().find(|s| s.is_ready());
                (
                    free.map(|s| s.send_request(req.take().expect("sent once"))),
                    open,
                )
            };
            if let Some(sent) = free {
                break sent;
            }
            if !open {
                tokio::time::sleep(REUSE_POLL).await;
                continue;
            }
            let mut sender = match self.open().await {
                Ok(sender) => sender,
                Err(err) => return Err(self.explained(err).await),
            };
            let sent = sender.send_request(req.take().expect("sent once"));
            self.senders.lock().expect("not poisoned").push(sender);
            break sent;
        };
        match sent.await {
            Ok(response) => Ok(response),
            Err(err) => Err(self.explained(err.into()).await),
        }
    }

    /// A new connection: one more ssh, its HTTP/1 driven by a task (upgrades allowed, for
    /// exec and attach).
    async fn open(&self) -> Result<SendRequest<B>, bollard::errors::Error> {
        let stream = spawn(&self.target, self.failure.clone())?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection.with_upgrades());
        Ok(sender)
    }

    /// ssh's own complaint says more than the broken pipe it left: it is waited for.
    async fn explained(&self, err: bollard::errors::Error) -> bollard::errors::Error {
        let mut failure = self.failure.subscribe();
        let said = tokio::time::timeout(EXIT_GRACE * 10, failure.wait_for(Option::is_some)).await;
        match said.ok().and_then(|r| r.ok()).and_then(|f| f.clone()) {
            Some(why) => io::Error::other(why).into(),
            None => err,
        }
    }
}

/// Starts one ssh; a task reaps it, and kills it once the connection is dropped.
pub(crate) fn spawn(
    target: &Target,
    failure: Arc<watch::Sender<Option<String>>>,
) -> io::Result<Stream> {
    let mut child = Command::new("ssh")
        .args(target.args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run ssh: {e}")))?;
    let (Some(stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        unreachable!("all three are piped")
    };
    let dropped = CancellationToken::new();
    let stop = dropped.clone();
    tokio::spawn(async move {
        let exited = async {
            let mut said = String::new();
            let _ = stderr.read_to_string(&mut said).await;
            (child.wait().await, said)
        };
        let mut exited = std::pin::pin!(exited);
        let status = tokio::select! {
            status = &mut exited => Some(status),
            // A connection dropped because ssh ended is dropped as it ends: give it the moment
            // it needs to say why.
            () = stop.cancelled() => tokio::time::timeout(EXIT_GRACE, &mut exited).await.ok(),
        };
        if let Some((Ok(status), said)) =
            status.filter(|(s, _)| s.as_ref().is_ok_and(|s| !s.success()))
        {
            let said = said.trim();
            failure.send_replace(Some(if said.is_empty() {
                format!("ssh {status}")
            } else {
                format!("{said} (ssh {status})")
            }));
        }
        // Dropping the child here (kill_on_drop) ends the ssh of a connection no longer used.
    });
    Ok(Stream {
        stdin,
        stdout,
        _dropped: dropped.drop_guard(),
    })
}

/// One connection: ssh's stdout to read, its stdin to write.
pub(crate) struct Stream {
    stdin: ChildStdin,
    stdout: ChildStdout,
    _dropped: tokio_util::sync::DropGuard,
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_splits_into_ssh_arguments_as_the_docker_cli_passes_them() {
        let t = Target::parse("ssh://deploy@build.example:2222").unwrap();
        assert_eq!(
            t.args().join(" "),
            "-o ConnectTimeout=30 -T -l deploy -p 2222 -- build.example docker system dial-stdio"
        );
        let t = Target::parse("ssh://box").unwrap();
        assert_eq!(
            t.args().join(" "),
            "-o ConnectTimeout=30 -T -- box docker system dial-stdio"
        );
        assert_eq!(Target::parse("ssh://[::1]:22").unwrap().host, "::1");
        assert!(Target::parse("ssh://box/path").is_err());
        assert!(Target::parse("ssh://").is_err());
    }
}

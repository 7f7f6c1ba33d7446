//! Connections of Berth's own to the engine, for the streams it reads straight off the wire
//! rather than through bollard ([`crate::logs::wire`]): to the same address, over the same
//! transport (a unix socket, TCP with or without the context's TLS, or `ssh … docker system
//! dial-stdio`).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

/// A connection to the engine.
pub(crate) trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// How to open one.
#[derive(Clone)]
pub(crate) enum Dial {
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
    Tls {
        addr: String,
        name: ServerName<'static>,
        config: Arc<ClientConfig>,
    },
    Ssh(crate::ssh::Target),
}

impl std::fmt::Debug for Dial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dial::Unix(path) => write!(f, "unix://{}", path.display()),
            Dial::Tcp(addr) => write!(f, "tcp://{addr}"),
            Dial::Tls { addr, .. } => write!(f, "tcp://{addr} (TLS)"),
            Dial::Ssh(target) => write!(f, "{target:?}"),
        }
    }
}

impl Dial {
    /// For an address bollard connects to without TLS (`unix://`, `tcp://`, `http://`,
    /// `ssh://`).
    pub fn plain(host: &str) -> Result<Dial, String> {
        if let Some(path) = host.strip_prefix("unix://") {
            return Ok(Dial::Unix(PathBuf::from(path)));
        }
        if host.starts_with("ssh://") {
            return crate::ssh::Target::parse(host).map(Dial::Ssh);
        }
        match ["tcp://", "http://"]
            .iter()
            .find_map(|s| host.strip_prefix(s))
        {
            Some(rest) => Ok(Dial::Tcp(rest.trim_end_matches('/').to_owned())),
            None => Err(format!("{host}: not an address Berth can connect to")),
        }
    }

    /// For `tcp://host:port` with TLS, checked against `server` (the address's host).
    pub fn tls(host: &str, server: Option<String>, config: ClientConfig) -> Result<Dial, String> {
        let addr = ["tcp://", "https://"]
            .iter()
            .find_map(|s| host.strip_prefix(s))
            .unwrap_or(host)
            .trim_end_matches('/')
            .to_owned();
        let server = server.ok_or_else(|| format!("{host} names no host"))?;
        let name = ServerName::try_from(server.clone())
            .map_err(|e| format!("{host}: {server} is not a host name TLS can check ({e})"))?;
        Ok(Dial::Tls {
            addr,
            name,
            config: Arc::new(config),
        })
    }

    /// A new connection.
    pub async fn open(&self) -> io::Result<Box<dyn Conn>> {
        Ok(match self {
            Dial::Unix(path) => Box::new(UnixStream::connect(path).await?),
            Dial::Tcp(addr) => Box::new(TcpStream::connect(addr).await?),
            Dial::Tls { addr, name, config } => {
                let tcp = TcpStream::connect(addr).await?;
                let tls = TlsConnector::from(config.clone());
                Box::new(tls.connect(name.clone(), tcp).await?)
            }
            // What ssh says when it fails is for the session's own connections to tell: a
            // stream that cannot open just ends.
            Dial::Ssh(target) => {
                Box::new(crate::ssh::spawn(target, Arc::new(watch::channel(None).0))?)
            }
        })
    }
}

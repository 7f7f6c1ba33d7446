//! Finding and connecting to the Docker engine.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use bollard::Docker;
use serde::Serialize;
use ts_rs::TS;

use crate::contexts::{DEFAULT, DEFAULT_HOST, Store};
use crate::dial::{Conn, Dial};
use crate::error::{Endpoint, Error, Result, StackError};
use crate::tls::TlsFiles;

/// Seconds a request may take, as bollard's own default.
const TIMEOUT_SECS: u64 = 120;

/// Which engine to talk to, as the user names it; each is resolved as the docker CLI resolves
/// it, by the one resolver behind both berthctl and the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EngineChoice {
    /// DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else DOCKER_CONTEXT or the
    /// docker CLI's current context, else the default socket, else Podman's.
    #[default]
    Environment,
    /// A stored Docker context, with its TLS files: `--context NAME`.
    Context(String),
    /// An address, as if DOCKER_HOST named it (DOCKER_TLS_VERIFY still applies, as with `-H`;
    /// empty: the environment's).
    Endpoint(String),
}

impl std::fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineChoice::Environment => {
                f.write_str("the engine DOCKER_HOST or the Docker context names")
            }
            EngineChoice::Context(name) => write!(f, "Docker context {name:?}"),
            EngineChoice::Endpoint(host) => f.write_str(host),
        }
    }
}

/// Where to connect, and with which certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    tls: Option<TlsFiles>,
}

/// The engine the docker CLI would talk to, given its environment and `--context` (`flag`);
/// `exists` is asked about files (the context's TLS directory, the sockets).
fn resolve(
    env: &HashMap<String, String>,
    flag: Option<&str>,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<Target> {
    let var = |k: &str| env.get(k).filter(|v| !v.is_empty());
    let store = Store::new(env);
    let name = store.current(flag);
    if name != DEFAULT {
        let host = store.host(&name)?;
        if over_tcp(&host) && store.skips_tls_verify(&name) {
            return Err(Error::Tls {
                endpoint: Endpoint(host.clone()),
                problem: format!(
                    "Docker context {name:?} is set to skip-tls-verify, and Berth does not talk \
                     to an engine whose certificate it cannot verify"
                ),
                fix: format!(
                    "Give the context the engine's CA: docker context update {name} --docker \
                     host={host},ca=CA.pem (with cert= and key= if the engine asks for them)."
                ),
            });
        }
        let files = TlsFiles::in_dir(&store.tls_dir(&name));
        // Any of its files means TLS, as the docker CLI loads a context's TLS data.
        let any = [&files.ca, &files.cert, &files.key]
            .iter()
            .any(|p| exists(p));
        let tls = any.then_some(files).filter(|_| over_tcp(&host));
        return Ok(Target { host, tls });
    }
    if let Some(host) = var("DOCKER_HOST") {
        // DOCKER_TLS alone is TLS that trusts any certificate.
        if over_tcp(host) && var("DOCKER_TLS").is_some() && var("DOCKER_TLS_VERIFY").is_none() {
            return Err(Error::Tls {
                endpoint: Endpoint(host.clone()),
                problem: "DOCKER_TLS asks for TLS without verifying the engine's certificate, \
                          which Berth does not do"
                    .to_owned(),
                fix: "Set DOCKER_TLS_VERIFY=1, with the engine's CA as ca.pem (and cert.pem, \
                      key.pem if it asks for them) in DOCKER_CERT_PATH."
                    .to_owned(),
            });
        }
        let tls = var("DOCKER_TLS_VERIFY")
            .filter(|_| over_tcp(host))
            .map(|_| {
                let dir = var("DOCKER_CERT_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| store.dir.clone());
                TlsFiles::in_dir(&dir)
            });
        return Ok(Target {
            host: host.clone(),
            tls,
        });
    }
    let podman = [
        var("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join("podman/podman.sock")),
        Some(PathBuf::from("/run/podman/podman.sock")),
    ];
    let docker_socket = Path::new(DEFAULT_HOST.trim_start_matches("unix://"));
    let host = match podman.into_iter().flatten().find(|p| exists(p)) {
        Some(p) if !exists(docker_socket) => format!("unix://{}", p.display()),
        _ => DEFAULT_HOST.to_owned(),
    };
    Ok(Target { host, tls: None })
}

/// Whether `host` is reached over TCP, where TLS applies: a socket, or ssh's own channel, is
/// never wrapped in TLS (the docker CLI's `isSocket` and connection helpers).
fn over_tcp(host: &str) -> bool {
    !["unix://", "npipe://", "fd://", "ssh://"]
        .iter()
        .any(|s| host.starts_with(s))
}

/// A connection to one Docker engine, at an API version both sides speak.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: Endpoint,
    /// The same engine, for connections of Berth's own.
    dial: Dial,
    /// Where its published ports are reached; `None`: localhost.
    port_host: Option<String>,
}

/// What the engine says about itself.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct EngineVersion {
    pub endpoint: String,
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
}

impl Engine {
    /// Connects to the engine the environment names, as the docker CLI finds it: `DOCKER_HOST`
    /// (with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), else the current context (`DOCKER_CONTEXT`,
    /// else `currentContext` in `~/.docker/config.json`), else the default socket, else Podman's.
    pub async fn connect() -> Result<Engine> {
        Engine::connect_with(&EngineChoice::Environment).await
    }

    /// Connects to the engine `choice` names; a context wins over DOCKER_HOST and DOCKER_CONTEXT.
    pub async fn connect_with(choice: &EngineChoice) -> Result<Engine> {
        let mut env: HashMap<String, String> = std::env::vars().collect();
        let context = match choice {
            EngineChoice::Context(name) => Some(name.as_str()),
            EngineChoice::Endpoint(host) if !host.is_empty() => {
                env.insert("DOCKER_HOST".to_owned(), host.clone());
                None
            }
            EngineChoice::Endpoint(_) | EngineChoice::Environment => None,
        };
        let target = resolve(&env, context, &|p| p.exists())?;
        match &target.tls {
            Some(tls) => Engine::connect_tls(&target.host, tls).await,
            None => Engine::connect_to(&target.host).await,
        }
    }

    /// Connects to `host` (`unix://…`, `tcp://…`, `http://…`, `ssh://…`) and negotiates the API version:
    /// bollard speaks a newer API than many engines in use (Debian 12's speaks 1.41).
    pub async fn connect_to(host: &str) -> Result<Engine> {
        let endpoint = Endpoint(host.to_owned());
        let unavailable = |cause| Error::Unavailable {
            endpoint: endpoint.clone(),
            cause,
        };
        let dial = || Dial::plain(host).map_err(|e| unavailable(io::Error::other(e).into()));
        if host.starts_with("ssh://") {
            let over_ssh = |e| match e {
                Error::Unavailable { endpoint, cause } => {
                    Error::UnavailableOverSsh { endpoint, cause }
                }
                e => e,
            };
            let (docker, port_host) = crate::ssh::connect(host, TIMEOUT_SECS)
                .await
                .map_err(unavailable)
                .map_err(over_ssh)?;
            let dial = dial().map_err(over_ssh)?;
            return Engine::negotiate(docker, endpoint, Some(port_host), dial)
                .await
                .map_err(over_ssh);
        }
        let docker = Docker::connect_with_host(host).map_err(unavailable)?;
        let dial = dial()?;
        Engine::negotiate(docker, endpoint, port_host(host), dial).await
    }

    /// Connects to `host` over TLS with a context's (or DOCKER_CERT_PATH's) certificates.
    async fn connect_tls(host: &str, tls: &TlsFiles) -> Result<Engine> {
        let docker = tls.connect(host, TIMEOUT_SECS)?;
        let endpoint = Endpoint(host.to_owned());
        let server = port_host(host);
        let config = tls.client_config(host)?;
        let dial = Dial::tls(host, server.clone(), config).map_err(|problem| Error::Tls {
            endpoint: endpoint.clone(),
            problem,
            fix: "Name the engine by a host name or an IP address: tcp://HOST:PORT.".to_owned(),
        })?;
        match Engine::negotiate(docker, endpoint, server, dial.clone()).await {
            Err(e) => Err(tls.refused(e, &dial).await),
            engine => engine,
        }
    }

    async fn negotiate(
        docker: Docker,
        endpoint: Endpoint,
        port_host: Option<String>,
        dial: Dial,
    ) -> Result<Engine> {
        let unavailable = |cause| Error::Unavailable {
            endpoint: endpoint.clone(),
            cause,
        };
        docker.ping().await.map_err(unavailable)?;
        let docker = docker.negotiate_version().await.map_err(unavailable)?;
        tracing::debug!(%endpoint, api = %docker.client_version(), "connected to the Docker engine");
        Ok(Engine {
            docker,
            endpoint,
            dial,
            port_host,
        })
    }

    /// The bollard client, for the engine's own modules.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// A connection of Berth's own to the engine, for a stream read straight off it.
    pub(crate) async fn open_conn(&self) -> std::io::Result<Box<dyn Conn>> {
        self.dial.open().await
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint.0
    }

    /// The host published ports are reached at: the engine's own for a remote one (`tcp://`;
    /// for `ssh://`, the host name ssh resolves, so a `~/.ssh/config` alias works), `None` for a
    /// local socket (localhost).
    pub fn port_host(&self) -> Option<String> {
        self.port_host.clone()
    }

    pub async fn version(&self) -> Result<EngineVersion> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|cause| Error::Request {
                endpoint: self.endpoint.clone(),
                action: "report its version",
                cause,
            })?;
        Ok(EngineVersion {
            endpoint: self.endpoint.0.clone(),
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
        })
    }
}

fn port_host(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    if !matches!(scheme, "tcp" | "http" | "https") {
        return None;
    }
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => host_port.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// Here rather than in `error`, which would otherwise need the engine it names.
impl StackError {
    /// A failed Docker call for `service`, recognising the failures that have a better name.
    pub(crate) fn docker(
        engine: &Engine,
        service: &str,
        action: impl Into<String>,
        cause: bollard::errors::Error,
    ) -> Self {
        if let Some(reason) = crate::error::lost(&cause) {
            return StackError::Engine(Error::Lost {
                endpoint: Endpoint(engine.endpoint().to_owned()),
                reason,
            });
        }
        let message = cause.to_string();
        if let Some(port) = crate::error::allocated_port(&message) {
            return StackError::PortAllocated {
                service: service.to_owned(),
                port,
                holder: None,
            };
        }
        StackError::Docker {
            service: service.to_owned(),
            action: action.into(),
            cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn docker_host_wins_and_tls_verify_takes_the_cert_path() {
        let e = env(&[
            ("DOCKER_HOST", "tcp://10.0.0.2:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/certs"),
            ("DOCKER_CONTEXT", "remote"),
        ]);
        let t = resolve(&e, None, &|_| true).unwrap();
        assert_eq!(t.host, "tcp://10.0.0.2:2376");
        assert_eq!(t.tls, Some(TlsFiles::in_dir(Path::new("/certs"))));
        // A socket or ssh is never wrapped in TLS, whatever DOCKER_TLS_VERIFY says.
        for host in ["unix:///var/run/docker.sock", "ssh://box"] {
            let mut e = e.clone();
            e.insert("DOCKER_HOST".into(), host.into());
            assert_eq!(resolve(&e, None, &|_| true).unwrap().tls, None, "{host}");
        }
    }

    #[test]
    fn the_current_context_names_the_host_and_its_certificates() {
        let dir = std::env::temp_dir().join(format!("berth-context-{}", std::process::id()));
        let id = hex::encode(Sha256::digest(b"remote"));
        let meta = dir.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://remote:2376"}}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
        let e = env(&[("DOCKER_CONFIG", dir.to_str().unwrap())]);
        let t = resolve(&e, None, &|p| p.ends_with("ca.pem")).unwrap();
        assert_eq!(t.host, "tcp://remote:2376");
        let tls_dir = dir.join("contexts/tls").join(&id).join("docker");
        assert_eq!(t.tls, Some(TlsFiles::in_dir(&tls_dir)));
        // A client certificate alone means TLS too, as for the docker CLI (the connection then
        // names the missing ca.pem); no file at all is a plain connection.
        let cert_only = resolve(&e, None, &|p| p.ends_with("cert.pem")).unwrap();
        assert_eq!(cert_only.tls, Some(TlsFiles::in_dir(&tls_dir)));
        assert_eq!(resolve(&e, None, &|_| false).unwrap().tls, None);
        // DOCKER_CONTEXT=default overrides the file and means the default socket.
        let mut e = e;
        e.insert("DOCKER_CONTEXT".into(), "default".into());
        assert_eq!(resolve(&e, None, &|_| false).unwrap().host, DEFAULT_HOST);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tls_without_verifying_the_engine_is_refused() {
        let dir = std::env::temp_dir().join(format!("berth-context-skip-{}", std::process::id()));
        let meta = dir
            .join("contexts/meta")
            .join(hex::encode(Sha256::digest(b"lax")));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"lax","Endpoints":{"docker":{"Host":"tcp://remote:2376","SkipTLSVerify":true}}}"#,
        )
        .unwrap();
        let e = env(&[("DOCKER_CONFIG", dir.to_str().unwrap())]);
        let err = resolve(&e, Some("lax"), &|_| false).unwrap_err();
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        assert!(err.to_string().contains("skip-tls-verify"), "{err}");
        let e = env(&[("DOCKER_HOST", "tcp://remote:2376"), ("DOCKER_TLS", "1")]);
        let err = resolve(&e, None, &|_| false).unwrap_err();
        assert!(err.to_string().contains("DOCKER_TLS_VERIFY=1"), "{err}");
        // With DOCKER_TLS_VERIFY too, the engine is verified: nothing to refuse.
        let mut e = e;
        e.insert("DOCKER_TLS_VERIFY".into(), "1".into());
        assert!(resolve(&e, None, &|_| false).unwrap().tls.is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn podmans_socket_is_used_when_dockers_is_absent() {
        let e = env(&[("XDG_RUNTIME_DIR", "/run/user/1000")]);
        let podman = |p: &Path| p == Path::new("/run/user/1000/podman/podman.sock");
        assert_eq!(
            resolve(&e, None, &podman).unwrap().host,
            "unix:///run/user/1000/podman/podman.sock"
        );
        assert_eq!(resolve(&e, None, &|_| true).unwrap().host, DEFAULT_HOST);
    }

    #[test]
    fn published_ports_of_a_remote_engine_are_on_its_host() {
        assert_eq!(port_host("unix:///var/run/docker.sock"), None);
        assert_eq!(port_host("npipe:////./pipe/docker_engine"), None);
        assert_eq!(
            port_host("tcp://10.0.0.2:2376").as_deref(),
            Some("10.0.0.2")
        );
        assert_eq!(
            port_host("tcp://[fd00::2]:2375").as_deref(),
            Some("fd00::2")
        );
        assert_eq!(
            port_host("https://box.example").as_deref(),
            Some("box.example")
        );
    }

    #[tokio::test]
    async fn a_missing_socket_is_reported_with_its_endpoint_and_a_way_out() {
        let host = "unix:///nonexistent/berth/docker.sock";
        let err = Engine::connect_to(host).await.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        assert!(message.contains(host), "{message}");
        assert!(message.contains("DOCKER_HOST"), "{message}");
    }
}

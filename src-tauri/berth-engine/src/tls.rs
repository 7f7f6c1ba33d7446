//! An engine over `tcp://` with TLS, as the docker CLI reaches one (`cli/context/docker/
//! load.go`): the CA that signed the engine's certificate (`ca.pem`), and the client's own
//! certificate and key (`cert.pem`, `key.pem`) when they are there; and a refused handshake
//! told as what to fix rather than as the TLS library's words.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::Docker;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::ResolvesClientCert;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, SignatureScheme};

use crate::dial::Dial;
use crate::error::{Endpoint, Error};

/// A context's TLS files, or DOCKER_CERT_PATH's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    /// A client without `cert.pem` and `key.pem` presents no certificate: an engine that asks
    /// for none is reached with the CA alone.
    pub fn connect(&self, host: &str, timeout: u64) -> Result<Docker, Error> {
        Docker::connect_with_ssl(
            host,
            &self.key,
            &self.cert,
            &self.ca,
            timeout,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|cause| match cause {
            bollard::errors::Error::CertPathError { path }
            | bollard::errors::Error::CertParseError { path } => self.unreadable(host, &path),
            cause => Error::Unavailable {
                endpoint: Endpoint(host.to_owned()),
                cause,
            },
        })
    }

    /// The same TLS as [`TlsFiles::connect`] gives bollard, for the connections Berth opens
    /// itself ([`crate::dial`]): the system's roots and the CA, and the client certificate when
    /// both its files are there.
    pub fn client_config(&self, host: &str) -> Result<ClientConfig, Error> {
        let unreadable = |path: &Path| self.unreadable(host, path);
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let ca = CertificateDer::pem_file_iter(&self.ca)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|_| unreadable(&self.ca))?;
        roots.add_parsable_certificates(ca);
        let builder = ClientConfig::builder().with_root_certificates(roots);
        if !(self.cert.exists() && self.key.exists()) {
            return Ok(builder.with_no_client_auth());
        }
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|_| unreadable(&self.cert))?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|_| unreadable(&self.key))?;
        builder
            .with_client_auth_cert(certs, key)
            .map_err(|_| unreadable(&self.key))
    }

    fn unreadable(&self, host: &str, path: &Path) -> Error {
        Error::Tls {
            endpoint: Endpoint(host.to_owned()),
            problem: format!("cannot read the certificate {}", path.display()),
            fix: self.fix(),
        }
    }

    /// `err` as what went wrong in the TLS handshake, when that is what did. The engine is
    /// asked again on a handshake of Berth's own ([`refusal`]): bollard's error is no sure
    /// guide, because a TLS 1.3 engine refuses a client certificate only after the client has
    /// sent its request, and the reset of that unread request can overtake the engine's alert,
    /// leaving the client a connection that merely broke.
    pub async fn refused(&self, err: Error, dial: &Dial) -> Error {
        let Error::Unavailable { endpoint, cause } = err else {
            return err;
        };
        let Some(refusal) = refusal(dial).await else {
            return Error::Unavailable { endpoint, cause };
        };
        let problem = match refusal {
            Refusal::Engine(reason) => format!(
                "its certificate is not signed by the CA in {} ({reason})",
                self.ca.display()
            ),
            Refusal::Client(reason) if self.cert.exists() => format!(
                "it refused the client certificate {} ({reason})",
                self.cert.display()
            ),
            Refusal::Client(reason) => format!(
                "it asks for a client certificate, and there is no {} ({reason})",
                self.cert.display()
            ),
        };
        Error::Tls {
            endpoint,
            problem,
            fix: self.fix(),
        }
    }

    fn fix(&self) -> String {
        let dir = self.ca.parent().unwrap_or(Path::new("."));
        format!(
            "Put the engine's CA certificate in {dir}/ca.pem and the client certificate and key \
             it signed in cert.pem and key.pem there (DOCKER_CERT_PATH, or `docker context \
             create NAME --docker host=…,ca=…,cert=…,key=…`).",
            dir = dir.display()
        )
    }
}

/// Which side of a handshake refused the other, with the TLS library's reason.
enum Refusal {
    /// The engine's certificate is not one the CA signed.
    Engine(String),
    /// The engine refused the client: its certificate, or that it sent none.
    Client(String),
}

/// How long the engine gets to refuse a client after a handshake that looked complete.
const VERDICT: Duration = Duration::from_secs(2);

/// A handshake of Berth's own with the engine, and its verdict: sending nothing after it, the
/// client reads the engine's alert before any close (no unread request makes it a reset).
async fn refusal(dial: &Dial) -> Option<Refusal> {
    let Dial::Tls { addr, name, config } = dial else {
        return None;
    };
    let asked = Arc::new(Asked {
        inner: config.client_auth_cert_resolver.clone(),
        asked: AtomicBool::new(false),
    });
    let mut config = ClientConfig::clone(config);
    config.client_auth_cert_resolver = asked.clone();
    let tcp = tokio::time::timeout(VERDICT, TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    let mut tls = match TlsConnector::from(Arc::new(config))
        .connect(name.clone(), tcp)
        .await
    {
        Ok(tls) => tls,
        Err(e) => return judged(&e),
    };
    let read = tokio::time::timeout(VERDICT, tls.read(&mut [0; 1]))
        .await
        .ok()?;
    match read {
        Err(e) => judged(&e).or_else(|| asked.unanswered(&e.to_string())),
        Ok(0) => asked.unanswered("the engine closed the connection"),
        Ok(_) => None,
    }
}

/// A handshake's error as a refusal, when it is one.
fn judged(e: &std::io::Error) -> Option<Refusal> {
    let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match tls {
        rustls::Error::InvalidCertificate(_) => Some(Refusal::Engine(tls.to_string())),
        rustls::Error::AlertReceived(_) => Some(Refusal::Client(tls.to_string())),
        _ => None,
    }
}

/// The client's certificates, recording whether the engine asked for one.
#[derive(Debug)]
struct Asked {
    inner: Arc<dyn ResolvesClientCert>,
    asked: AtomicBool,
}

impl Asked {
    /// A connection the engine closed with no alert refused the client if it asked for a
    /// certificate the client does not have.
    fn unanswered(&self, reason: &str) -> Option<Refusal> {
        (self.asked.load(Ordering::Relaxed) && !self.inner.has_certs())
            .then(|| Refusal::Client(reason.to_owned()))
    }
}

impl ResolvesClientCert for Asked {
    fn resolve(&self, hints: &[&[u8]], schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.inner.resolve(hints, schemes)
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}

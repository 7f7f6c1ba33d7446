//! An engine over `tcp://` with TLS, as the docker CLI reaches one (`cli/context/docker/
//! load.go`): the CA that signed the engine's certificate (`ca.pem`), and the client's own
//! certificate and key (`cert.pem`, `key.pem`) when they are there; and a refused handshake
//! told as what to fix rather than as the TLS library's words.

use std::path::{Path, PathBuf};

use bollard::Docker;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

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

    /// `err` as what went wrong in the TLS handshake, when that is what did.
    pub fn refused(&self, err: Error) -> Error {
        let Error::Unavailable { endpoint, cause } = err else {
            return err;
        };
        let Some(reason) = handshake_failure(&cause) else {
            return Error::Unavailable { endpoint, cause };
        };
        let problem = if reason.contains("invalid peer certificate") {
            format!(
                "its certificate is not signed by the CA in {} ({reason})",
                self.ca.display()
            )
        } else if self.cert.exists() {
            format!(
                "it refused the client certificate {} ({reason})",
                self.cert.display()
            )
        } else {
            format!(
                "it asks for a client certificate, and there is no {} ({reason})",
                self.cert.display()
            )
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

/// The TLS library's reason a handshake failed, found under the HTTP client's error: a
/// certificate refused on either side, or an alert the engine sent.
fn handshake_failure(cause: &bollard::errors::Error) -> Option<String> {
    let mut source = std::error::Error::source(cause);
    while let Some(s) = source {
        let text = s.to_string();
        let tls = [
            "invalid peer certificate",
            "received fatal alert",
            "peer sent no certificates",
        ];
        if tls.iter().any(|t| text.contains(t)) {
            return Some(text);
        }
        source = s.source();
    }
    None
}

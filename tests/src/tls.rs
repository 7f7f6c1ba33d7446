//! A TLS endpoint of a test's own before the shared engine: a rustls server on a free loopback
//! port forwarding to the engine's socket, its certificates made by `openssl` in the test's
//! directory (a CA, the server's, a client's, and a second CA that signed neither), so `tcp://`
//! engines with TLS are tested for real. (socat's `openssl-listen` refuses a resumed session
//! once it verifies clients, which any client that resumes, bollard's included, runs into.)
//! Docker contexts are made in a DOCKER_CONFIG of the test's own, never `~/.docker`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tokio::net::{TcpListener, UnixStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto};

use crate::SETUP_HINT;

/// The engine's socket the endpoint forwards to.
const ENGINE: &str = "/var/run/docker.sock";

/// Whom an endpoint lets through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Clients {
    /// Any client: the engine asks for no certificate.
    Anyone,
    /// Clients with a certificate the CA signed; others are refused with an alert.
    Certified,
    /// Asks for a certificate, lets the handshake end without one, then resets the connection
    /// with no alert: what a client sees when the reset of its unread request overtakes an
    /// engine's alert.
    CertifiedOrCut,
}

/// A running TLS endpoint, stopped and its directory removed when dropped.
pub struct TlsEngine {
    pub dir: PathBuf,
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}\n{SETUP_HINT}"));
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 private key in `file`.
fn private_key(dir: &Path, file: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            file,
        ],
    );
}

/// A CA's key and self-signed certificate, `NAME.key` and `NAME.pem`.
fn ca(dir: &Path, name: &str) {
    let (key, pem, subject) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("/CN=berth-test {name}"),
    );
    private_key(dir, &key);
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
}

/// `NAME.key` and `NAME.pem` signed by CA `ca`, with the extensions in `ext`.
fn signed(dir: &Path, name: &str, ca: &str, ext: &str) {
    let (key, csr, pem, ext_file) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    std::fs::write(dir.join(&ext_file), ext).unwrap();
    private_key(dir, &key);
    let subject = format!("/CN=berth-test {name}");
    openssl(
        dir,
        &["req", "-new", "-key", &key, "-out", &csr, "-subj", &subject],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext_file,
        ],
    );
}

impl TlsEngine {
    /// Listens on 127.0.0.1 with the server's certificate, letting `clients` through.
    pub fn start(what: &str, clients: Clients) -> TlsEngine {
        let dir = std::env::temp_dir().join(format!("berth-tls-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ca(&dir, "ca");
        ca(&dir, "other-ca");
        signed(
            &dir,
            "server",
            "ca",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        signed(&dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
        let config = Arc::new(server_config(&dir, clients));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel();
        // Its own runtime on its own thread: the tests that use it may have none.
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = serve(listener, TlsAcceptor::from(config), clients) => {}
                    _ = stopped => {}
                }
            });
        });
        TlsEngine {
            dir,
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address for DOCKER_HOST and a context.
    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// A DOCKER_CERT_PATH with `ca` (`"ca"` or `"other-ca"`) as its ca.pem, and the client's
    /// certificate and key if `client`.
    pub fn cert_path(&self, name: &str, ca: &str, client: bool) -> PathBuf {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(self.dir.join(format!("{ca}.pem")), dir.join("ca.pem")).unwrap();
        if client {
            std::fs::copy(self.dir.join("client.pem"), dir.join("cert.pem")).unwrap();
            std::fs::copy(self.dir.join("client.key"), dir.join("key.pem")).unwrap();
        }
        dir
    }

    /// Makes context `name` for this endpoint in the docker CLI's config `config`, with the
    /// certificates in `certs` (a [`TlsEngine::cert_path`]), as `docker context create` does.
    pub fn create_context(&self, config: &Path, name: &str, certs: &Path) {
        let c = certs.display();
        let mut docker = format!("host={}", self.host());
        for (key, file) in [("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem")] {
            if certs.join(file).exists() {
                docker.push_str(&format!(",{key}={c}/{file}"));
            }
        }
        let out = Command::new("docker")
            .env("DOCKER_CONFIG", config)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .args(["context", "create", name, "--docker", &docker])
            .output()
            .expect("docker context create");
        assert!(
            out.status.success(),
            "docker context create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TlsEngine {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server's certificate, and the client certificates `clients` asks for.
fn server_config(dir: &Path, clients: Clients) -> ServerConfig {
    let provider = Arc::new(crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    if clients == Clients::Anyone {
        return builder
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    }
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap())
        .unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let verifier = match clients {
        Clients::CertifiedOrCut => verifier.allow_unauthenticated(),
        _ => verifier,
    };
    let builder = builder.with_client_cert_verifier(verifier.build().unwrap());
    builder.with_single_cert(certs, key).unwrap()
}

/// Accepts TLS connections and forwards each to the engine's socket. A handshake the endpoint
/// refuses (no client certificate, one no CA of its signed) closes that connection.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor, clients: Clients) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut client) = acceptor.accept(client).await else {
                return;
            };
            let (tcp, tls) = client.get_ref();
            if clients == Clients::CertifiedOrCut && tls.peer_certificates().is_none() {
                let _ = tcp.set_zero_linger();
                return;
            }
            let Ok(mut engine) = UnixStream::connect(ENGINE).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
        });
    }
}

//! A registry serving one image, for pull tests on a machine that reaches no real registry: the
//! Docker Registry HTTP API v2, just enough for the engine to pull an image `docker save`
//! exported. Layers are served uncompressed (the engine detects compression itself), so a
//! layer's digest is its diff ID.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A registry on 127.0.0.1 (which the engine trusts over plain HTTP) serving `image`.
pub struct Registry {
    /// The image's name on this registry, `127.0.0.1:PORT/REPO:TAG`, to pull.
    pub image: String,
    task: JoinHandle<()>,
}

struct Content {
    manifest: Vec<u8>,
    manifest_digest: String,
    blobs: HashMap<String, Vec<u8>>,
}

/// `sha256:<hex>` of `bytes`, by `sha256sum` (written to `scratch` first).
pub fn sha256(bytes: &[u8], scratch: &Path) -> String {
    std::fs::write(scratch, bytes).expect("write a blob");
    let out = Command::new("sha256sum")
        .arg(scratch)
        .output()
        .expect("sha256sum");
    format!("sha256:{}", &String::from_utf8_lossy(&out.stdout)[..64])
}

impl Registry {
    /// Serves the local image `source` as `repo:tag`.
    pub async fn serving(source: &str, repo: &str, tag: &str) -> Registry {
        let dir = std::env::temp_dir().join(format!("berth-test-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let saved = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker save {source} | tar -x -C {}",
                dir.display()
            ))
            .status()
            .expect("docker save");
        assert!(saved.success(), "docker save {source} failed");
        let scratch = dir.join("scratch");
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let config = std::fs::read(dir.join(manifest[0]["Config"].as_str().unwrap())).unwrap();
        let mut blobs = HashMap::new();
        let config_digest = sha256(&config, &scratch);
        let mut layers = Vec::new();
        for layer in manifest[0]["Layers"].as_array().unwrap() {
            let bytes = std::fs::read(dir.join(layer.as_str().unwrap())).unwrap();
            let digest = sha256(&bytes, &scratch);
            layers.push(json!({
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": bytes.len(),
                "digest": digest,
            }));
            blobs.insert(digest, bytes);
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": config.len(),
                "digest": config_digest,
            },
            "layers": layers,
        }))
        .unwrap();
        blobs.insert(config_digest, config);
        let manifest_digest = sha256(&manifest, &scratch);
        let _ = std::fs::remove_dir_all(&dir);

        let content = Arc::new(Content {
            manifest,
            manifest_digest,
            blobs,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let repo_path = format!("/v2/{repo}/");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, content.clone(), repo_path.clone()));
            }
        });
        Registry {
            image: format!("127.0.0.1:{port}/{repo}:{tag}"),
            task,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers the requests of one keep-alive connection.
async fn serve(stream: TcpStream, content: Arc<Content>, repo_path: String) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(request)) = lines.next_line().await {
        // Skip the headers; GET and HEAD requests have no body.
        while let Ok(Some(header)) = lines.next_line().await {
            if header.is_empty() {
                break;
            }
        }
        let mut parts = request.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (status, kind, body, digest) = if path == "/v2/" {
            ("200 OK", "application/json", &b"{}"[..], None)
        } else if let Some(rest) = path.strip_prefix(&repo_path) {
            if rest.starts_with("manifests/") {
                (
                    "200 OK",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    &content.manifest[..],
                    Some(content.manifest_digest.as_str()),
                )
            } else if let Some(blob) = rest
                .strip_prefix("blobs/")
                .and_then(|d| content.blobs.get(d))
            {
                ("200 OK", "application/octet-stream", &blob[..], None)
            } else {
                ("404 Not Found", "application/json", &b"{}"[..], None)
            }
        } else {
            ("404 Not Found", "application/json", &b"{}"[..], None)
        };
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
             Docker-Distribution-API-Version: registry/2.0\r\n",
            body.len()
        );
        if let Some(d) = digest {
            head += &format!("Docker-Content-Digest: {d}\r\n");
        }
        head += "\r\n";
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        if method != "HEAD" && write.write_all(body).await.is_err() {
            return;
        }
    }
}

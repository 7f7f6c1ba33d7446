//! Docker contexts as the docker CLI stores and chooses them: `$DOCKER_CONFIG/contexts/meta/
//! <sha256 of the name>/meta.json`, chosen by `--context`, else `DOCKER_HOST` (the default
//! context), else `DOCKER_CONTEXT`, else `currentContext` in `config.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::error::{Error, Result};

/// The context every docker CLI has: DOCKER_HOST, or the default socket.
pub(crate) const DEFAULT: &str = "default";

/// The socket Docker listens on when DOCKER_HOST is not set.
pub(crate) const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// One context, as a row of `docker context ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ContextInfo {
    pub name: String,
    pub description: String,
    /// The engine's address (`unix://…`, `tcp://…`, `ssh://…`).
    pub host: String,
    /// Whether it is the one a docker command would use now.
    pub current: bool,
}

/// The docker CLI's configuration directory and the variables that choose a context.
pub(crate) struct Store<'a> {
    env: &'a HashMap<String, String>,
    pub dir: PathBuf,
}

impl<'a> Store<'a> {
    pub fn new(env: &'a HashMap<String, String>) -> Store<'a> {
        let home = env.get("HOME").filter(|v| !v.is_empty());
        let dir = env
            .get("DOCKER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.map(PathBuf::from).unwrap_or_default().join(".docker"));
        Store { env, dir }
    }

    fn var(&self, k: &str) -> Option<&'a str> {
        self.env
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The context in use, as the docker CLI resolves its name; `flag` is `--context`.
    pub fn current(&self, flag: Option<&str>) -> String {
        if let Some(name) = flag {
            return name.to_owned();
        }
        if self.var("DOCKER_HOST").is_some() {
            return DEFAULT.to_owned();
        }
        if let Some(name) = self.var("DOCKER_CONTEXT") {
            return name.to_owned();
        }
        let config = std::fs::read_to_string(self.dir.join("config.json")).ok();
        config
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|j| j.get("currentContext")?.as_str().map(str::to_owned))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT.to_owned())
    }

    /// Where a context's files live: they are stored under the SHA-256 of its name.
    fn id(name: &str) -> String {
        hex::encode(Sha256::digest(name.as_bytes()))
    }

    /// The directory of a context's TLS files for its docker endpoint.
    pub fn tls_dir(&self, name: &str) -> PathBuf {
        self.dir
            .join("contexts/tls")
            .join(Store::id(name))
            .join("docker")
    }

    /// A stored context: its name, description and docker host.
    pub fn get(&self, name: &str) -> Option<ContextInfo> {
        let meta = self.dir.join("contexts/meta").join(Store::id(name));
        read_meta(&meta.join("meta.json"))
    }

    /// Whether a context's docker endpoint skips verifying the engine's certificate
    /// (`skip-tls-verify=true`).
    pub fn skips_tls_verify(&self, name: &str) -> bool {
        let meta = self.dir.join("contexts/meta").join(Store::id(name));
        let text = std::fs::read_to_string(meta.join("meta.json")).ok();
        text.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|m| m["Endpoints"]["docker"]["SkipTLSVerify"].as_bool())
            .unwrap_or(false)
    }

    /// The default context: DOCKER_HOST, or the default socket.
    pub fn default_context(&self) -> ContextInfo {
        ContextInfo {
            name: DEFAULT.to_owned(),
            description: "Current DOCKER_HOST based configuration".to_owned(),
            host: self.var("DOCKER_HOST").unwrap_or(DEFAULT_HOST).to_owned(),
            current: false,
        }
    }

    /// The host a context names, or why there is none.
    pub fn host(&self, name: &str) -> Result<String> {
        if name == DEFAULT {
            return Ok(self.default_context().host);
        }
        self.get(name)
            .map(|c| c.host)
            .ok_or_else(|| Error::NoContext {
                name: name.to_owned(),
            })
    }

    /// Every context, sorted by name as `docker context ls` sorts them.
    pub fn list(&self, flag: Option<&str>) -> Vec<ContextInfo> {
        let mut out = vec![self.default_context()];
        let metas = std::fs::read_dir(self.dir.join("contexts/meta"))
            .into_iter()
            .flatten();
        out.extend(
            metas
                .flatten()
                .filter_map(|e| read_meta(&e.path().join("meta.json"))),
        );
        out.sort_by(|a, b| a.name.cmp(&b.name));
        let current = self.current(flag);
        for c in &mut out {
            c.current = c.name == current;
        }
        out
    }
}

fn read_meta(path: &Path) -> Option<ContextInfo> {
    let text = std::fs::read_to_string(path).ok()?;
    let meta: serde_json::Value = serde_json::from_str(&text).ok()?;
    let str_at = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    Some(ContextInfo {
        name: meta["Name"].as_str()?.to_owned(),
        description: str_at(&meta["Metadata"]["Description"]),
        host: str_at(&meta["Endpoints"]["docker"]["Host"]),
        current: false,
    })
}

/// Every Docker context, as `docker context ls` lists them (the default one included).
pub fn contexts() -> Result<Vec<ContextInfo>> {
    let env: HashMap<String, String> = std::env::vars().collect();
    Ok(Store::new(&env).list(None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// `docker ARGS…` with the docker CLI's config in `dir` and no DOCKER_HOST.
    fn docker(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("docker")
            .env("DOCKER_CONFIG", dir)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .args(args)
            .output()
            .expect("the docker CLI");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn contexts_are_listed_and_chosen_as_the_docker_cli_does() {
        let dir = std::env::temp_dir().join(format!("berth-contexts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, host) in [
            ("zeta", "ssh://deploy@zeta.example"),
            ("alpha", "tcp://10.0.0.9:2375"),
        ] {
            let endpoint = format!("host={host}");
            docker(
                &dir,
                &[
                    "context",
                    "create",
                    name,
                    "--description",
                    name,
                    "--docker",
                    &endpoint,
                ],
            );
        }
        docker(&dir, &["context", "use", "zeta"]);
        let env = HashMap::from([("DOCKER_CONFIG".to_owned(), dir.display().to_string())]);
        let store = Store::new(&env);
        let theirs: Vec<ContextInfo> = docker(&dir, &["context", "ls", "--format", "json"])
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                ContextInfo {
                    name: v["Name"].as_str().unwrap().to_owned(),
                    description: v["Description"].as_str().unwrap().to_owned(),
                    host: v["DockerEndpoint"].as_str().unwrap().to_owned(),
                    current: v["Current"].as_bool().unwrap(),
                }
            })
            .collect();
        assert_eq!(store.list(None), theirs);
        assert_eq!(store.current(None), "zeta");
        assert_eq!(store.current(Some("alpha")), "alpha");
        assert_eq!(store.host("alpha").unwrap(), "tcp://10.0.0.9:2375");
        assert!(matches!(store.host("nope"), Err(Error::NoContext { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

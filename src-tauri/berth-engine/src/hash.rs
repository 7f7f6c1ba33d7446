//! The service configuration hash in `com.docker.compose.config-hash`: what decides whether an
//! existing container still matches its service.
//!
//! Like compose, the hash covers the whole service except what does not change a container:
//! `build`, `pull_policy`, `scale`, `deploy.replicas`, `depends_on` and `profiles`. Compose hashes
//! Go's JSON of its own struct (field order and omissions of compose-go's `ServiceConfig`), which
//! Berth cannot reproduce byte for byte; Berth hashes its own canonical JSON (sorted keys), and
//! recognises a container compose created by comparing its configuration (see `plan::Existing`).

use berth_compose::Service;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// The hex SHA-256 of the service's canonical JSON, less what does not affect its containers.
pub fn service_hash(service: &Service) -> String {
    let mut json = serde_json::to_value(service).expect("a service always serializes");
    if let Json::Object(m) = &mut json {
        for key in ["build", "pull_policy", "scale", "depends_on", "profiles"] {
            m.remove(key);
        }
        if let Some(Json::Object(deploy)) = m.get_mut("deploy") {
            deploy.remove("replicas");
        }
    }
    hex::encode(Sha256::digest(json.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_and_dependencies_do_not_change_the_hash_but_the_command_does() {
        let base = Service {
            image: Some("redis".into()),
            ..Default::default()
        };
        let mut scaled = base.clone();
        scaled.deploy = Some(berth_compose::Deploy {
            replicas: Some(3),
            ..Default::default()
        });
        scaled.depends_on.insert("db".into(), Default::default());
        let with_deploy = Service {
            deploy: Some(Default::default()),
            ..base.clone()
        };
        assert_eq!(service_hash(&scaled), service_hash(&with_deploy));
        let mut changed = base.clone();
        changed.command = Some(vec!["redis-server".into()]);
        assert_ne!(service_hash(&base), service_hash(&changed));
        assert_eq!(service_hash(&base).len(), 64);
    }
}

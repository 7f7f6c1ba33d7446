//! A stack's secrets and configs. The engine refuses to change an object's data, so one the file
//! names by key only is versioned by its content (`<ns>_<key>_<hash>`): changed data is a new
//! object the services roll to, and the one no service uses any more is removed after the
//! deploy. One the file names (`name:`) is used as given, as docker's deploy uses it.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use bollard::models::{ConfigSpec, ObjectVersion, SecretSpec, Service};
use bollard::query_parameters::{
    ListConfigsOptionsBuilder, ListSecretsOptionsBuilder, UpdateConfigOptionsBuilder,
    UpdateSecretOptionsBuilder,
};
use sha2::{Digest, Sha256};

use super::convert::{FileSpec, namespace_filter};
use super::{Result, SwarmError};
use crate::{Engine, Progress, Resource};

/// The label saying which data a versioned object holds (the SHA-256 of it, in hex).
pub const HASH_LABEL: &str = "dev.berth.content-hash";

/// The engine's limit on a secret's or config's name.
const NAME_LIMIT: usize = 64;

/// How many hex digits of the hash a versioned name carries.
const HASH_DIGITS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Secret,
    Config,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::Config => "config",
        }
    }

    fn resource(self) -> Resource {
        match self {
            Kind::Secret => Resource::Secret,
            Kind::Config => Resource::Config,
        }
    }
}

/// A secret or config of the file, read and named.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    kind: Kind,
    /// The name the services' references carry before the deploy resolves them.
    reference: String,
    /// The name it has on the Swarm.
    name: String,
    labels: HashMap<String, String>,
    /// Base64, as the API takes it.
    data: String,
    file: std::path::PathBuf,
}

/// Reads each file and names its object: versioned unless the file gave it a `name:`.
pub(crate) fn read(kind: Kind, files: &[FileSpec]) -> Result<Vec<Object>> {
    files
        .iter()
        .map(|f| {
            let data = std::fs::read(&f.file).map_err(|e| SwarmError::File {
                kind: kind.word(),
                name: f.key.clone(),
                path: f.file.clone(),
                cause: e.to_string(),
            })?;
            let hash = hex::encode(Sha256::digest(&data));
            let mut labels = f.labels.clone();
            labels.insert(HASH_LABEL.to_owned(), hash.clone());
            Ok(Object {
                kind,
                reference: f.name.clone(),
                name: if f.named {
                    f.name.clone()
                } else {
                    versioned_name(&f.name, &hash)
                },
                labels,
                data: base64::engine::general_purpose::STANDARD.encode(data),
                file: f.file.clone(),
            })
        })
        .collect()
}

/// `<name>_<first 10 hex digits>`, the name part shortened to keep within the engine's limit.
fn versioned_name(name: &str, hash: &str) -> String {
    let room = NAME_LIMIT - HASH_DIGITS - 1;
    let mut end = name.len().min(room);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}_{}", &name[..end], &hash[..HASH_DIGITS])
}

/// An object on the Swarm.
struct Existing {
    id: String,
    name: String,
    labels: HashMap<String, String>,
    version: u64,
}

impl Existing {
    /// From a listed secret's or config's fields (the engine's two types differ, their fields
    /// do not); `None` without an ID or a name.
    fn of(
        id: Option<String>,
        name: Option<String>,
        labels: Option<HashMap<String, String>>,
        version: Option<ObjectVersion>,
    ) -> Option<Existing> {
        Some(Existing {
            id: id?,
            name: name?,
            labels: labels.unwrap_or_default(),
            version: version.and_then(|v| v.index).unwrap_or_default(),
        })
    }
}

async fn list(engine: &Engine, kind: Kind, namespace: Option<&str>) -> Result<Vec<Existing>> {
    let docker = engine.docker();
    let filter = namespace.map(namespace_filter).unwrap_or_default();
    let action = format!("list the Swarm's {}s", kind.word());
    Ok(match kind {
        Kind::Secret => docker
            .list_secrets(Some(
                ListSecretsOptionsBuilder::new().filters(&filter).build(),
            ))
            .await
            .map_err(SwarmError::request(action))?
            .into_iter()
            .filter_map(|s| {
                let spec = s.spec?;
                Existing::of(s.id, spec.name, spec.labels, s.version)
            })
            .collect(),
        Kind::Config => docker
            .list_configs(Some(
                ListConfigsOptionsBuilder::new().filters(&filter).build(),
            ))
            .await
            .map_err(SwarmError::request(action))?
            .into_iter()
            .filter_map(|c| {
                let spec = c.spec?;
                Existing::of(c.id, spec.name, spec.labels, c.version)
            })
            .collect(),
    })
}

/// What a deploy does with one kind of object: the ids it resolves references to, and the
/// objects still to create.
pub(crate) struct Plan {
    kind: Kind,
    /// Reference name → (name on the Swarm, id); every existing object by its own name too,
    /// for the external ones.
    resolved: HashMap<String, (String, String)>,
    missing: Vec<Object>,
}

/// Finds what exists; an object named by the file whose data changed fails the deploy before
/// anything is created (the engine refuses a change of data, and someone else may use it).
pub(crate) async fn plan(engine: &Engine, kind: Kind, objects: Vec<Object>) -> Result<Plan> {
    let existing = list(engine, kind, None).await?;
    let by_name: HashMap<&str, &Existing> = existing.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut resolved: HashMap<String, (String, String)> = existing
        .iter()
        .map(|e| (e.name.clone(), (e.name.clone(), e.id.clone())))
        .collect();
    let mut missing = Vec::new();
    for object in objects {
        match by_name.get(object.name.as_str()) {
            // A versioned name holds its data by construction.
            Some(e) if object.name != object.reference => {
                resolved.insert(object.reference.clone(), (e.name.clone(), e.id.clone()));
            }
            Some(e) => {
                keep(engine, e, &object).await?;
                resolved.insert(object.reference.clone(), (e.name.clone(), e.id.clone()));
            }
            None => missing.push(object),
        }
    }
    Ok(Plan {
        kind,
        resolved,
        missing,
    })
}

/// Checks a named object still holds the file's data by updating it with that data and its own
/// labels: the engine accepts the same data (nothing changes) and refuses other data.
async fn keep(engine: &Engine, existing: &Existing, object: &Object) -> Result<()> {
    let docker = engine.docker();
    let labels = Some(existing.labels.clone());
    let result = match object.kind {
        Kind::Secret => {
            docker
                .update_secret(
                    &existing.id,
                    SecretSpec {
                        name: Some(existing.name.clone()),
                        labels,
                        data: Some(object.data.clone()),
                        ..Default::default()
                    },
                    UpdateSecretOptionsBuilder::new()
                        .version(existing.version as i64)
                        .build(),
                )
                .await
        }
        Kind::Config => {
            docker
                .update_config(
                    &existing.id,
                    ConfigSpec {
                        name: Some(existing.name.clone()),
                        labels,
                        data: Some(object.data.clone()),
                        ..Default::default()
                    },
                    UpdateConfigOptionsBuilder::new()
                        .version(existing.version as i64)
                        .build(),
                )
                .await
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError { message, .. })
            if message.contains("only updates to Labels are allowed") =>
        {
            Err(SwarmError::Changed {
                kind: object.kind.word(),
                name: object.name.clone(),
                path: object.file.clone(),
            })
        }
        Err(e) => Err(SwarmError::request(format!(
            "check {} {}",
            object.kind.word(),
            object.name
        ))(e)),
    }
}

impl Plan {
    /// Creates what is missing; then every reference resolves.
    pub(crate) async fn create(
        mut self,
        engine: &Engine,
        progress: &Progress,
    ) -> Result<HashMap<String, (String, String)>> {
        let docker = engine.docker();
        for object in std::mem::take(&mut self.missing) {
            progress.resource(self.kind.resource(), &object.name, "Creating");
            let action = format!("create {} {}", self.kind.word(), object.name);
            let id = match self.kind {
                Kind::Secret => {
                    docker
                        .create_secret(SecretSpec {
                            name: Some(object.name.clone()),
                            labels: Some(object.labels.clone()),
                            data: Some(object.data.clone()),
                            ..Default::default()
                        })
                        .await
                        .map_err(SwarmError::request(action))?
                        .id
                }
                Kind::Config => {
                    docker
                        .create_config(ConfigSpec {
                            name: Some(object.name.clone()),
                            labels: Some(object.labels.clone()),
                            data: Some(object.data.clone()),
                            ..Default::default()
                        })
                        .await
                        .map_err(SwarmError::request(action))?
                        .id
                }
            };
            self.resolved
                .insert(object.reference, (object.name.clone(), id));
        }
        Ok(self.resolved)
    }
}

/// The secret and config names the services' specs reference.
pub(crate) fn referenced(services: &[Service]) -> (HashSet<String>, HashSet<String>) {
    let mut secrets = HashSet::new();
    let mut configs = HashSet::new();
    for c in services.iter().filter_map(|s| {
        s.spec
            .as_ref()?
            .task_template
            .as_ref()?
            .container_spec
            .as_ref()
    }) {
        secrets.extend(
            c.secrets
                .iter()
                .flatten()
                .filter_map(|s| s.secret_name.clone()),
        );
        configs.extend(
            c.configs
                .iter()
                .flatten()
                .filter_map(|c| c.config_name.clone()),
        );
    }
    (secrets, configs)
}

/// Removes the stack's objects of `kind` that are not in `keep`, as docker words it
/// ("Removing secret X"). One the engine will not remove (another stack's service uses it) is
/// left, with a warning: the deploy itself succeeded.
pub(crate) async fn remove_unused(
    engine: &Engine,
    kind: Kind,
    namespace: &str,
    keep: &HashSet<String>,
    progress: &Progress,
) -> Result<()> {
    let docker = engine.docker();
    for e in list(engine, kind, Some(namespace)).await? {
        if keep.contains(&e.name) {
            continue;
        }
        progress.resource(kind.resource(), &e.name, "Removing");
        let result = match kind {
            Kind::Secret => docker.delete_secret(&e.id).await,
            Kind::Config => docker.delete_config(&e.id).await,
        };
        if let Err(err) = result {
            progress.warn(format!(
                "{} {} is no longer used by stack {namespace} but could not be removed: {}",
                kind.word(),
                e.name,
                crate::error::describe(&err)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_versioned_name_is_the_name_and_ten_digits_of_the_hash() {
        assert_eq!(
            versioned_name("ns_db_password", HASH),
            "ns_db_password_0123456789"
        );
    }

    #[test]
    fn a_long_name_is_shortened_never_its_hash() {
        let long = format!("ns_{}", "k".repeat(80));
        let name = versioned_name(&long, HASH);
        assert_eq!(name.len(), NAME_LIMIT);
        assert!(name.ends_with("_0123456789"), "{name}");
        assert!(name.starts_with("ns_kkk"), "{name}");
        // Cut on a character, not inside one.
        let name = versioned_name(&format!("ns_{}", "é".repeat(40)), HASH);
        assert!(
            name.len() <= NAME_LIMIT && name.ends_with("_0123456789"),
            "{name}"
        );
    }
}

//! What the window's Inspect panel shows of a service: its configuration as loaded (compose's
//! shape, as `berthctl config` prints it) and, for each of its containers, what the engine
//! reports: environment, mounts, networks, labels, image, restart policy and health checks.

use std::ops::Range;

use bollard::models::{ContainerInspectResponse, ImageInspect, RestartPolicyNameEnum};
use serde::Serialize;
use serde_json::Value as Json;
use ts_rs::TS;

use crate::containers::{self, Container};
use crate::error::{StackError, not_found};
use crate::{Engine, Stack, names};

/// A service, inspected.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ServiceInspect {
    pub service: String,
    /// The service's effective configuration as compose YAML, its secrets masked: values under
    /// secret-looking keys anywhere, and URL passwords (the environment section reveals its own
    /// on request).
    pub config: String,
    /// Its containers, by number; empty when none was created.
    pub containers: Vec<ContainerInspect>,
    /// [`MASK`], for the window to mask the environment's secrets with, as `config` is.
    pub mask: String,
}

/// One container of the service, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ContainerInspect {
    pub name: String,
    pub id: String,
    /// Docker's state word: running, exited, …
    pub state: String,
    pub env: Vec<EnvVar>,
    pub mounts: Vec<ContainerMount>,
    pub networks: Vec<ContainerNetwork>,
    /// Sorted by key; a secret-looking value reads [`MASK`], as in the configuration.
    pub labels: Vec<(String, String)>,
    pub image: ContainerImage,
    /// `no`, `always`, `unless-stopped`, or `on-failure` with its retry limit (`on-failure:3`).
    pub restart_policy: String,
    #[ts(type = "number")]
    pub restart_count: i64,
    /// The last health checks the engine keeps (five), oldest first.
    pub health_checks: Vec<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
    /// The value looks secret ([`secret_looking`]): the window masks it until clicked.
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ContainerMount {
    /// `bind`, `volume`, `tmpfs`…
    pub kind: String,
    /// The host path (a bind) or the volume's directory on the engine's host.
    pub source: String,
    pub target: String,
    /// The mount's mode as given (`ro`, `z`…), possibly empty.
    pub mode: String,
    pub read_write: bool,
    /// The volume's name, for a volume.
    pub volume: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ContainerNetwork {
    pub name: String,
    pub ipv4: String,
    pub ipv6: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ContainerImage {
    /// As the service names it (`redis:7`).
    pub name: String,
    pub id: String,
    /// RFC 3339; empty when the image is gone.
    pub created: String,
    /// Bytes; 0 when the image is gone.
    #[ts(type = "number")]
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HealthCheck {
    pub start: String,
    pub end: String,
    #[ts(type = "number")]
    pub exit_code: i64,
    pub output: String,
}

/// What masked values read as: one length, so it tells nothing of the secret's.
pub const MASK: &str = "••••••••";

/// Whether an environment variable's value should be hidden until asked for.
///
/// No tool has a standard: Portainer and `docker inspect` hide nothing; GitHub Actions masks
/// values it was told are secrets; dashboards that mask (Pulse, Argo's proposal, Sentry's and
/// Rails' parameter filters) go by words in the name. So: a name holding a word such as
/// PASSWORD, PASSWD, PASS, PWD, SECRET, TOKEN, KEY, APIKEY, CREDENTIALS, PRIVATE, AUTH or SALT
/// (split at `_`, `-`, `.` and camelCase humps; the long words also inside a word, as in
/// DBPASSWORD), and any value that is a URL with a password (`postgres://user:pw@db`). The shell's
/// working directories PWD and OLDPWD are paths. A false alarm costs a click; a miss shows a
/// secret on screen.
pub fn secret_looking(key: &str, value: &str) -> bool {
    const WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASS",
        "PWD",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "TOKENS",
        "KEY",
        "KEYS",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "PRIVATE",
        "AUTH",
        "SALT",
    ];
    const INSIDE: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "APIKEY",
        "CREDENTIAL",
    ];
    let upper = key.to_uppercase();
    if upper == "PWD" || upper == "OLDPWD" {
        return false;
    }
    words(key).iter().any(|w| WORDS.contains(&w.as_str()))
        || INSIDE.iter().any(|w| upper.contains(w))
        || url_with_password(value)
}

/// A name's words, upper-cased: split at anything not a letter or digit and where a lower-case
/// letter meets an upper-case one (`apiToken` → API, TOKEN).
fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut lower_before = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut word));
            lower_before = false;
            continue;
        }
        if c.is_uppercase() && lower_before {
            words.push(std::mem::take(&mut word));
        }
        lower_before = c.is_lowercase();
        word.extend(c.to_uppercase());
    }
    words.push(word);
    words.retain(|w| !w.is_empty());
    words
}

/// `scheme://user:password@host…`: a URL carrying a password in its user info.
fn url_with_password(value: &str) -> bool {
    !passwords(value).is_empty()
}

/// Where the passwords of the URLs in `value` are, in order.
fn passwords(value: &str) -> Vec<Range<usize>> {
    (value.match_indices("://"))
        .filter_map(|(at, sep)| {
            let start = at + sep.len();
            let rest = &value[start..];
            // The authority never holds another `://`: it ends at the first `/`.
            let end = rest
                .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
                .unwrap_or(rest.len());
            let (userinfo, _) = rest[..end].rsplit_once('@')?;
            let (user, _) = userinfo.split_once(':')?;
            Some(start + user.len() + 1..start + userinfo.len())
        })
        .collect()
}

/// `value` with each URL's password replaced by [`MASK`].
fn mask_url_passwords(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut from = 0;
    for password in passwords(value) {
        out.push_str(&value[from..password.start]);
        out.push_str(MASK);
        from = password.end;
    }
    out.push_str(&value[from..]);
    out
}

impl Stack {
    /// The service `service` of this project, inspected: its configuration as loaded and each
    /// of its containers as the engine reports them. A name the project does not define is
    /// refused.
    pub async fn inspect(&self, service: &str) -> Result<ServiceInspect, StackError> {
        self.names(&[service.to_owned()])?;
        let engine = self.engine();
        let failed = |action: &str, e| StackError::docker(engine, service, action.to_owned(), e);
        let listed = containers::inspect_service(engine, &self.project().name, service)
            .await
            .map_err(|e| failed("list its containers", e))?;
        let mut inspected = Vec::with_capacity(listed.len());
        for c in listed.iter().filter(|c| !c.oneoff) {
            match container(engine, c).await {
                Ok(c) => inspected.push(c),
                // Removed since the listing: simply gone.
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(failed(&format!("inspect container {}", c.name), e)),
            }
        }
        Ok(ServiceInspect {
            service: service.to_owned(),
            config: config_yaml(&self.project().to_compose_json(), service),
            containers: inspected,
            mask: MASK.to_owned(),
        })
    }
}

/// The service's part of `docker compose config`'s output (`services: {name: …}`), its
/// secrets masked ([`mask_secrets`]).
fn config_yaml(project: &Json, service: &str) -> String {
    let mut one = project["services"][service].clone();
    mask_secrets(&mut one);
    berth_compose::to_yaml(&serde_json::json!({ "services": { service: one } }))
}

/// Replaces by [`MASK`], anywhere in `value`: each value that [`secret_looking`] calls secret
/// under its key (the environment, build args, labels, …), and the password of every other
/// URL in a string (a command, a health check).
fn mask_secrets(value: &mut Json) {
    match value {
        Json::Object(entries) => {
            for (key, value) in entries.iter_mut() {
                let text = match value {
                    Json::String(s) => s.clone(),
                    Json::Number(_) | Json::Bool(_) => value.to_string(),
                    _ => {
                        mask_secrets(value);
                        continue;
                    }
                };
                if secret_looking(key, &text) {
                    *value = Json::from(MASK);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(mask_secrets),
        Json::String(s) if url_with_password(s) => *s = mask_url_passwords(s),
        _ => {}
    }
}

async fn container(
    engine: &Engine,
    listed: &Container,
) -> Result<ContainerInspect, bollard::errors::Error> {
    let c = engine.docker().inspect_container(&listed.id, None).await?;
    let image_id = c.image.clone().unwrap_or_default();
    let image = match engine.docker().inspect_image(&image_id).await {
        Ok(image) => Some(image),
        // Removed (or replaced under its tag) since the container was made.
        Err(e) if not_found(&e) => None,
        Err(e) => return Err(e),
    };
    Ok(ContainerInspect::from_inspect(&c, image.as_ref()))
}

impl ContainerInspect {
    /// From the engine's answers for the container and its image (`None` when it is gone).
    pub fn from_inspect(c: &ContainerInspectResponse, image: Option<&ImageInspect>) -> Self {
        let config = c.config.clone().unwrap_or_default();
        let env = (config.env.unwrap_or_default().into_iter())
            .map(|entry| {
                let (key, value) = entry.split_once('=').unwrap_or((&entry, ""));
                EnvVar {
                    secret: secret_looking(key, value),
                    key: key.to_owned(),
                    value: value.to_owned(),
                }
            })
            .collect();
        let mounts = (c.mounts.clone().unwrap_or_default().into_iter())
            .map(|m| ContainerMount {
                kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
                source: m.source.unwrap_or_default(),
                target: m.destination.unwrap_or_default(),
                mode: m.mode.unwrap_or_default(),
                read_write: m.rw.unwrap_or(false),
                volume: m.name.filter(|n| !n.is_empty()),
            })
            .collect();
        let mut networks: Vec<ContainerNetwork> = (c.network_settings.as_ref())
            .and_then(|n| n.networks.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, e)| ContainerNetwork {
                name,
                ipv4: e.ip_address.unwrap_or_default(),
                ipv6: e.global_ipv6_address.unwrap_or_default(),
                aliases: e.aliases.unwrap_or_default(),
            })
            .collect();
        networks.sort_by(|a, b| a.name.cmp(&b.name));
        let mut labels: Vec<(String, String)> = (config.labels.unwrap_or_default().into_iter())
            .map(|(key, value)| {
                let value = if secret_looking(&key, &value) {
                    MASK.to_owned()
                } else {
                    value
                };
                (key, value)
            })
            .collect();
        labels.sort();
        let restart = (c.host_config.as_ref()).and_then(|h| h.restart_policy.clone());
        let restart_policy = match restart.as_ref().and_then(|r| r.name) {
            Some(RestartPolicyNameEnum::ON_FAILURE) => {
                match restart.and_then(|r| r.maximum_retry_count) {
                    Some(n) if n > 0 => format!("on-failure:{n}"),
                    _ => "on-failure".to_owned(),
                }
            }
            Some(name) if name != RestartPolicyNameEnum::EMPTY => name.to_string(),
            _ => "no".to_owned(),
        };
        let state = c.state.clone().unwrap_or_default();
        let health_checks = (state
            .health
            .and_then(|h| h.log)
            .unwrap_or_default()
            .into_iter())
        .map(|r| HealthCheck {
            start: r.start.unwrap_or_default(),
            end: r.end.unwrap_or_default(),
            exit_code: r.exit_code.unwrap_or_default(),
            output: r.output.unwrap_or_default(),
        })
        .collect();
        ContainerInspect {
            name: names::trim_slash(c.name.as_deref().unwrap_or_default()).to_owned(),
            id: c.id.clone().unwrap_or_default(),
            state: state.status.map(|s| s.to_string()).unwrap_or_default(),
            env,
            mounts,
            networks,
            labels,
            image: ContainerImage {
                name: config.image.unwrap_or_default(),
                id: c.image.clone().unwrap_or_default(),
                created: image.and_then(|i| i.created.clone()).unwrap_or_default(),
                size: image.and_then(|i| i.size).unwrap_or_default(),
            },
            restart_policy,
            restart_count: c.restart_count.unwrap_or_default(),
            health_checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_secret_word_are_masked_and_plain_ones_are_not() {
        for key in [
            "PASSWORD",
            "POSTGRES_PASSWORD",
            "MYSQL_ROOT_PASSWORD_FILE",
            "DBPASSWORD",
            "MYSQL_PWD",
            "REDIS_PASS",
            "API_TOKEN",
            "GITHUB_TOKEN",
            "apiToken",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "STRIPE_API_KEY",
            "APIKEY",
            "api-key",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "PRIVATE_KEY",
            "BASIC_AUTH",
            "JWT_SECRET",
            "client.secret",
            "HASH_SALT",
        ] {
            assert!(secret_looking(key, "x"), "{key} is not masked");
        }
        for key in [
            "PATH",
            "HOME",
            "PWD",
            "OLDPWD",
            "PORT",
            "REDIS_HOST",
            "NODE_VERSION",
            "KEYBOARD_LAYOUT",
            "MONKEY",
            "PASSENGER_APP_ENV",
            "AUTHOR",
            "DATABASE_URL",
        ] {
            assert!(!secret_looking(key, "plain"), "{key} is masked");
        }
    }

    #[test]
    fn a_url_with_a_password_is_masked_whatever_its_name() {
        assert!(secret_looking(
            "DATABASE_URL",
            "postgres://app:hunter2@db:5432/app"
        ));
        assert!(secret_looking("UPSTREAMS", "http://a, https://u:p@b/x"));
        assert!(!secret_looking(
            "DATABASE_URL",
            "postgres://app@db:5432/app"
        ));
        assert!(!secret_looking("BACKEND", "http://backend:3000/a@b:c"));
        assert!(!secret_looking("EMAIL", "me@example.com"));
    }

    #[test]
    fn the_config_masks_secret_values_and_keeps_the_rest() {
        let project = serde_json::json!({
            "services": {
                "api": {
                    "image": "node",
                    "environment": { "API_TOKEN": "s3cret", "PORT": "3000", "EMPTY": null },
                },
                "db": { "image": "mongo" },
            },
        });
        let yaml = config_yaml(&project, "api");
        assert!(yaml.starts_with("services:\n  api:\n"), "{yaml}");
        assert!(yaml.contains(&format!("API_TOKEN: \"{MASK}\"\n")), "{yaml}");
        assert!(yaml.contains("PORT: \"3000\""), "{yaml}");
        assert!(
            !yaml.contains("s3cret") && !yaml.contains("mongo"),
            "{yaml}"
        );
    }

    #[test]
    fn secret_looking_labels_of_a_container_are_masked() {
        let labels = [("app.auth.token", "l4bel"), ("team", "berth")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let c = ContainerInspectResponse {
            config: Some(bollard::models::ContainerConfig {
                labels: Some(labels.into_iter().collect()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let labels = ContainerInspect::from_inspect(&c, None).labels;
        let want = [("app.auth.token", MASK), ("team", "berth")];
        assert_eq!(labels, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }

    #[test]
    fn the_config_masks_secrets_outside_the_environment_too() {
        let project = serde_json::json!({
            "services": {
                "api": {
                    "build": { "context": ".", "args": { "NPM_TOKEN": "npm_s3cret", "NODE": "22" } },
                    "labels": { "app.auth.token": "l4bel", "team": "berth" },
                    "command": ["sh", "-c", "curl -s http://bot:hunter2@hooks/ping && serve"],
                    "healthcheck": { "test": ["CMD", "wget", "-q", "https://u:p4ss@localhost:8/h"] },
                    "x-deploy": { "registries": [{ "password": "r3g", "host": "reg.local" }] },
                },
            },
        });
        let yaml = config_yaml(&project, "api");
        for secret in ["npm_s3cret", "l4bel", "hunter2", "r3g", "p4ss"] {
            assert!(!yaml.contains(secret), "{secret} shows in\n{yaml}");
        }
        for kept in [
            "NODE: \"22\"",
            "team: berth",
            "http://bot:••••••••@hooks/ping && serve",
            "https://u:••••••••@localhost:8/h",
            "host: reg.local",
        ] {
            assert!(yaml.contains(kept), "{kept} is not in\n{yaml}");
        }
    }
}

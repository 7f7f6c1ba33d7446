//! Project-level normalization (compose-go `Normalize` and the environment resolution after
//! it): names, the implicit default network, build defaults, absolute paths, implicit
//! dependencies, `env_file` contents, and profile selection.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Error;
use crate::loader::read_env_file;
use crate::merge::enforce_unicity;
use crate::node::{Entry, Node, Span, Value, last_wins};
use crate::{paths, read};

pub struct Context<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
    pub env: &'a BTreeMap<String, String>,
    pub home: Option<&'a str>,
    pub profiles: &'a [String],
}

/// Normalizes the merged model in place and returns the services disabled by profiles.
pub fn normalize(dict: &mut Node, cx: &Context) -> Result<Vec<Entry>, Error> {
    let span = dict.span.clone();
    dict.remove("version");
    dict.insert("name", Node::str(cx.name, &span));
    paths::resolve_doc(dict, cx.dir, cx.home);

    let mut uses_default = false;
    let mut disabled = Vec::new();
    if let Some(Value::Map(services)) = dict.get_mut("services").map(|n| &mut n.value) {
        let all = std::mem::take(services);
        for mut e in all {
            if e.value.is_null() {
                e.value = Node::map(Vec::new(), &e.value.span);
            }
            service(&mut e.value, cx)?;
            if enabled(&e.value, cx.profiles) {
                uses_default |= e
                    .value
                    .get("networks")
                    .is_some_and(|n| n.get("default").is_some());
                services.push(e);
            } else {
                disabled.push(e);
            }
        }
    }
    if uses_default {
        if dict.get("networks").is_none() {
            dict.insert("networks", Node::map(Vec::new(), &span));
        }
        let nets = dict.get_mut("networks").expect("inserted above");
        if nets.is_null() {
            *nets = Node::map(Vec::new(), &span);
        }
        if nets.get("default").is_none() {
            nets.insert("default", Node::map(Vec::new(), &span));
        }
    }
    drop_unused(dict);
    for kind in ["networks", "volumes", "secrets", "configs"] {
        if let Some(Value::Map(items)) = dict.get_mut(kind).map(|n| &mut n.value) {
            for e in items {
                name_resource(e, cx.name, kind == "networks");
            }
        }
    }
    Ok(disabled)
}

/// Like docker compose, keeps only the networks, volumes, secrets and configs that enabled
/// services use.
fn drop_unused(dict: &mut Node) {
    let mut used: Vec<(&str, String)> = Vec::new();
    for s in dict
        .get("services")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        let s = &s.value;
        for n in s
            .get("networks")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            used.push(("networks", n.key.clone()));
        }
        for v in s
            .get("volumes")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            if v.get("type").and_then(Node::as_str) == Some("volume")
                && let Some(src) = v.get("source").and_then(Node::as_str)
            {
                used.push(("volumes", src.to_owned()));
            }
        }
        let build = s.get("build");
        for (kind, holder) in [
            ("secrets", Some(s)),
            ("configs", Some(s)),
            ("secrets", build),
        ] {
            let mounts = holder.and_then(|h| h.get(kind)).and_then(Node::as_seq);
            for m in mounts.into_iter().flatten() {
                let src = m
                    .get("source")
                    .and_then(Node::scalar_string)
                    .or_else(|| m.scalar_string());
                if let Some(src) = src {
                    used.push((kind, src));
                }
            }
        }
    }
    for kind in ["networks", "volumes", "secrets", "configs"] {
        if let Some(Value::Map(items)) = dict.get_mut(kind).map(|n| &mut n.value) {
            items.retain(|e| used.iter().any(|(k, n)| *k == kind && *n == e.key));
            if items.is_empty() {
                dict.remove(kind);
            }
        }
    }
}

fn enabled(service: &Node, active: &[String]) -> bool {
    let Some(profiles) = service.get("profiles").and_then(Node::as_seq) else {
        return true;
    };
    profiles.is_empty()
        || profiles.iter().any(|p| {
            p.as_str()
                .is_some_and(|p| active.iter().any(|a| a == p || a == "*"))
        })
}

/// Resources without a name are named `<project>_<key>`; external ones keep their key.
fn name_resource(e: &mut Entry, project: &str, network: bool) {
    let span = e.value.span.clone();
    if !matches!(e.value.value, Value::Map(_)) {
        e.value = Node::map(Vec::new(), &span);
    }
    if e.value.get("name").is_none() {
        let external = matches!(
            e.value.get("external").map(|n| &n.value),
            Some(Value::Bool(true))
        );
        let name = if external {
            e.key.clone()
        } else {
            format!("{project}_{}", e.key)
        };
        e.value.insert("name", Node::str(name, &span));
    }
    if network && e.value.get("ipam").is_none() {
        e.value.insert("ipam", Node::map(Vec::new(), &span));
    }
}

fn service(s: &mut Node, cx: &Context) -> Result<(), Error> {
    let span = s.span.clone();
    enforce_unicity(s);
    if s.get("networks").is_none_or(Node::is_null) && s.get("network_mode").is_none() {
        let default = Entry {
            key: "default".into(),
            key_span: span.clone(),
            value: Node::new(Value::Null, span.clone()),
        };
        s.insert("networks", Node::map(vec![default], &span));
    }
    if let Some(b) = s.get_mut("build") {
        if b.get("context").is_none() {
            b.insert("context", Node::str(cx.dir.to_string_lossy(), &span));
        }
        if b.get("dockerfile").is_none() && b.get("dockerfile_inline").is_none() {
            b.insert("dockerfile", Node::str("Dockerfile", &span));
        }
        if let Some(args) = b.get_mut("args") {
            resolve_nulls(args, cx.env);
        }
    }
    if s.get("pull_policy").and_then(Node::as_str) == Some("if_not_present") {
        s.insert("pull_policy", Node::str("missing", &span));
    }
    environment(s, cx)?;
    implicit_dependencies(s, &span);
    Ok(())
}

/// Values given as bare names (`- FOO`) take the project environment's value, if any.
fn resolve_nulls(map: &mut Node, env: &BTreeMap<String, String>) {
    if let Some(entries) = map.as_map_mut() {
        for e in entries {
            if e.value.is_null()
                && let Some(v) = env.get(&e.key)
            {
                e.value.value = Value::Str(v.clone());
            }
        }
    }
}

/// `env_file` contents first, `environment` over them; `env_file` itself is consumed.
fn environment(s: &mut Node, cx: &Context) -> Result<(), Error> {
    let span = s.span.clone();
    let lookup = |k: &str| cx.env.get(k).cloned();
    let mut merged: Vec<Entry> = Vec::new();
    if let Some(files) = s.remove("env_file") {
        for f in files.as_seq().into_iter().flatten() {
            let Some(path) = f.get("path").and_then(Node::as_str) else {
                continue;
            };
            let required = !matches!(
                f.get("required").map(|r| &r.value),
                Some(Value::Bool(false))
            );
            let path = Path::new(path);
            // Only a missing file may be optional: compose reads (and refuses) anything else,
            // a file that cannot be looked at included (reading it says why).
            read::looked_for(path);
            if !path.try_exists().unwrap_or(true) {
                if required {
                    return Err(Error::EnvFileNotFound {
                        at: f.span.location(),
                        path: path.to_path_buf(),
                    });
                }
                continue;
            }
            merged.extend(
                read_env_file(path, &f.span.location(), &lookup)?
                    .into_iter()
                    .map(|(key, v)| Entry {
                        key,
                        key_span: f.span.clone(),
                        value: Node::str(v, &f.span),
                    }),
            );
        }
    }
    if let Some(env) = s.get_mut("environment") {
        resolve_nulls(env, cx.env);
        merged.extend(env.as_map().into_iter().flatten().map(|e| Entry {
            key: e.key.clone(),
            key_span: e.value.span.clone(),
            value: e.value.clone(),
        }));
    }
    if !merged.is_empty() {
        s.insert("environment", Node::map(last_wins(merged), &span));
    }
    Ok(())
}

/// `links`, `network_mode: service:x`, `volumes_from` and namespace sharing imply `depends_on`.
fn implicit_dependencies(s: &mut Node, span: &Span) {
    let mut implied: Vec<(String, bool)> = Vec::new();
    for key in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
        if let Some(dep) = s
            .get(key)
            .and_then(Node::as_str)
            .and_then(|v| v.strip_prefix("service:"))
        {
            implied.push((dep.to_owned(), true));
        }
    }
    for v in s
        .get("volumes_from")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        if let Some(v) = v.as_str()
            && !v.starts_with("container:")
        {
            implied.push((v.split(':').next().unwrap_or(v).to_owned(), false));
        }
    }
    for l in s.get("links").and_then(Node::as_seq).into_iter().flatten() {
        if let Some(l) = l.as_str() {
            implied.push((l.split(':').next().unwrap_or(l).to_owned(), true));
        }
    }
    if implied.is_empty() {
        return;
    }
    if s.get("depends_on").is_none() {
        s.insert("depends_on", Node::map(Vec::new(), span));
    }
    let deps = s.get_mut("depends_on").expect("inserted above");
    for (name, restart) in implied {
        if deps.get(&name).is_none() {
            let mut d = Node::map(Vec::new(), span);
            d.insert("condition", Node::str("service_started", span));
            if restart {
                d.insert("restart", Node::new(Value::Bool(true), span.clone()));
            }
            d.insert("required", Node::new(Value::Bool(true), span.clone()));
            deps.insert(&name, d);
        }
    }
}

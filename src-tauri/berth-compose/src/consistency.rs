//! Checks across the whole normalized model (compose-go `checkConsistency`): every reference
//! resolves, every service can be created, and dependencies form no cycle.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::graph::find_cycle;
use crate::node::{Node, Value};

pub fn check(dict: &Node) -> Result<(), Error> {
    let keys = |kind: &str| -> Vec<String> {
        dict.get(kind)
            .and_then(Node::as_map)
            .map(|m| m.iter().map(|e| e.key.clone()).collect())
            .unwrap_or_default()
    };
    let (networks, volumes, secrets, configs, models) = (
        keys("networks"),
        keys("volumes"),
        keys("secrets"),
        keys("configs"),
        keys("models"),
    );
    let services = dict.get("services").and_then(Node::as_map);
    let names: Vec<&str> = services
        .into_iter()
        .flatten()
        .map(|e| e.key.as_str())
        .collect();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dep_spans = BTreeMap::new();
    for e in services.into_iter().flatten() {
        let s = &e.value;
        let name = e.key.as_str();
        let undefined = |n: &Node, kind: &'static str, target: &str| Error::Undefined {
            at: n.span.location(),
            service: name.to_owned(),
            kind,
            name: target.to_owned(),
        };
        if s.get("image").is_none_or(Node::is_null) && s.get("build").is_none() {
            return Err(Error::NoImageOrBuild {
                at: e.key_span.location(),
                service: name.to_owned(),
            });
        }
        for n in s
            .get("networks")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            if !networks.contains(&n.key) {
                return Err(undefined(&n.value, "network", &n.key));
            }
        }
        for v in s
            .get("volumes")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            if v.get("type").and_then(Node::as_str) == Some("volume")
                && let Some(src) = v.get("source").and_then(Node::as_str)
                && !volumes.iter().any(|k| k == src)
            {
                return Err(undefined(v, "volume", src));
            }
        }
        for (kind, known, word) in [
            ("secrets", &secrets, "secret"),
            ("configs", &configs, "config"),
        ] {
            for m in s.get(kind).and_then(Node::as_seq).into_iter().flatten() {
                if let Some(src) = m.get("source").and_then(Node::as_str)
                    && !known.iter().any(|k| k == src)
                {
                    return Err(undefined(m, word, src));
                }
            }
        }
        match s.get("models").map(|m| &m.value) {
            Some(Value::Seq(items)) => {
                for m in items {
                    if let Some(src) = m.as_str()
                        && !models.iter().any(|k| k == src)
                    {
                        return Err(undefined(m, "model", src));
                    }
                }
            }
            Some(Value::Map(items)) => {
                for m in items {
                    if !models.contains(&m.key) {
                        return Err(undefined(&m.value, "model", &m.key));
                    }
                }
            }
            _ => {}
        }
        if let Some(platform) = s.get("platform").and_then(Node::as_str)
            && let Some(platforms) = s
                .get("build")
                .and_then(|b| b.get("platforms"))
                .and_then(Node::as_seq)
            && !platforms.iter().any(|p| p.as_str() == Some(platform))
        {
            return Err(Error::Invalid {
                at: s
                    .get("platform")
                    .map_or(e.key_span.location(), |p| p.span.location()),
                path: format!("services.{name}.platform"),
                message: format!(
                    "service.build.platforms MUST include service.platform \"{platform}\""
                ),
            });
        }
        let mut deps = Vec::new();
        for d in s
            .get("depends_on")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            let required = !matches!(
                d.value.get("required").map(|r| &r.value),
                Some(Value::Bool(false))
            );
            if !names.contains(&d.key.as_str()) {
                if required {
                    return Err(Error::Undefined {
                        at: d.key_span.location(),
                        service: name.to_owned(),
                        kind: "service",
                        name: d.key.clone(),
                    });
                }
                continue;
            }
            dep_spans.insert(name.to_owned(), d.key_span.location());
            deps.push(d.key.clone());
        }
        edges.insert(name.to_owned(), deps);
    }
    if let Some(cycle) = find_cycle(&edges) {
        let at = dep_spans
            .get(&cycle[0])
            .cloned()
            .unwrap_or_else(|| dict.span.location());
        return Err(Error::DependencyCycle { at, cycle });
    }
    Ok(())
}

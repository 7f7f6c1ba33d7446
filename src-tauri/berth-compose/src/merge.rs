//! Merging one compose model over another (`-f a -f b`, `extends`), with compose's per-field
//! rules (compose-go `override` package) applied to canonical forms, plus `!reset`/`!override`.

use crate::node::{Node, Tag, Value};

/// Fields whose lists replace instead of appending.
const REPLACE_LISTS: &[&str] = &[
    "services.*.command",
    "services.*.entrypoint",
    "services.*.healthcheck.test",
];

/// Merges `over` into `base`; `path` is where `base` sits in the document.
pub fn merge(base: &mut Node, over: Node, path: &mut Vec<String>) {
    if over.tag == Tag::Override {
        *base = over;
        base.tag = Tag::None;
        return;
    }
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            if matches(&refs, "services.*.logging") && logging_driver_differs(b, &o) {
                base.value = Value::Map(o);
                return;
            }
            for e in o {
                if e.value.tag == Tag::Reset {
                    b.retain(|x| x.key != e.key);
                    continue;
                }
                match b.iter_mut().find(|x| x.key == e.key) {
                    Some(x) => {
                        path.push(e.key);
                        merge(&mut x.value, e.value, path);
                        path.pop();
                    }
                    None => b.push(e),
                }
            }
        }
        (Value::Seq(b), Value::Seq(o)) => {
            if REPLACE_LISTS.iter().any(|p| matches(&refs, p)) {
                *b = o;
            } else {
                b.extend(o);
            }
        }
        (_, value) => {
            base.value = value;
            base.span = over.span;
        }
    }
}

fn logging_driver_differs(b: &[crate::node::Entry], o: &[crate::node::Entry]) -> bool {
    let driver = |m: &[crate::node::Entry]| {
        m.iter()
            .find(|e| e.key == "driver")
            .and_then(|e| e.value.as_str().map(str::to_owned))
    };
    matches!((driver(b), driver(o)), (Some(x), Some(y)) if x != y)
}

/// Whether a concrete path matches a pattern where `*` stands for one key.
pub fn matches(path: &[&str], pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == path.len() && parts.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
}

/// Drops `!reset` values that had nothing to reset and forgets `!override` once applied.
pub fn strip_tags(node: &mut Node) {
    node.tag = Tag::None;
    match &mut node.value {
        Value::Map(m) => {
            m.retain(|e| e.value.tag != Tag::Reset);
            for e in m {
                strip_tags(&mut e.value);
            }
        }
        Value::Seq(items) => {
            items.retain(|i| i.tag != Tag::Reset);
            for i in items {
                strip_tags(i);
            }
        }
        _ => {}
    }
}

/// Removes duplicate list entries the way compose's `EnforceUnicity` does: the first place is
/// kept, the last value wins.
pub fn enforce_unicity(service: &mut Node) {
    let by_value = |n: &Node| n.to_json().to_string();
    let field = |key: &'static str| move |n: &Node| n.get(key).map(|v| v.to_json().to_string());
    dedup(service, "ports", &|n| Some(by_value(n)));
    dedup(service, "volumes", &field("target"));
    dedup(service, "secrets", &field("target"));
    dedup(service, "configs", &field("target"));
    dedup(service, "env_file", &field("path"));
    for key in [
        "expose",
        "cap_add",
        "cap_drop",
        "dns",
        "dns_search",
        "dns_opt",
        "profiles",
        "links",
        "security_opt",
        "tmpfs",
    ] {
        dedup(service, key, &|n| Some(by_value(n)));
    }
}

fn dedup(service: &mut Node, key: &str, index: &dyn Fn(&Node) -> Option<String>) {
    let Some(Value::Seq(items)) = service.get_mut(key).map(|n| &mut n.value) else {
        return;
    };
    let mut keys: Vec<Option<String>> = Vec::with_capacity(items.len());
    let mut out: Vec<Node> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        let k = index(&item);
        match k
            .as_ref()
            .and_then(|k| keys.iter().position(|x| x.as_ref() == Some(k)))
        {
            Some(i) => out[i] = item,
            None => {
                keys.push(k);
                out.push(item);
            }
        }
    }
    *items = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn doc(text: &str) -> Node {
        let file: Arc<Path> = Arc::from(Path::new("c.yaml"));
        let mut d = crate::yaml::parse(text, &file).unwrap().remove(0);
        crate::canonical::canonical(&mut d).unwrap();
        d
    }

    fn merged(a: &str, b: &str) -> serde_json::Value {
        let mut base = doc(a);
        strip_tags(&mut base);
        merge(&mut base, doc(b), &mut Vec::new());
        strip_tags(&mut base);
        if let Some(Value::Map(services)) = base.get_mut("services").map(|n| &mut n.value) {
            for s in services {
                enforce_unicity(&mut s.value);
            }
        }
        base.to_json()
    }

    #[test]
    fn maps_merge_and_scalars_override() {
        let m = merged(
            "services:\n  web:\n    image: a\n    environment: [A=1, B=2]\n",
            "services:\n  web:\n    image: b\n    environment: {B: 3, C: 4}\n",
        );
        assert_eq!(m["services"]["web"]["image"], "b");
        assert_eq!(
            m["services"]["web"]["environment"],
            serde_json::json!({"A": "1", "B": "3", "C": "4"})
        );
    }

    #[test]
    fn command_replaces_ports_append_and_dedupe() {
        let m = merged(
            "services:\n  web:\n    command: a b\n    ports: ['80:80']\n",
            "services:\n  web:\n    command: [c]\n    ports: ['80:80', '81:81']\n",
        );
        assert_eq!(m["services"]["web"]["command"], serde_json::json!(["c"]));
        assert_eq!(m["services"]["web"]["ports"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn volumes_unique_by_target() {
        let m = merged(
            "services:\n  web:\n    volumes: ['./a:/data', 'v:/other']\n",
            "services:\n  web:\n    volumes: ['./b:/data']\n",
        );
        let v = m["services"]["web"]["volumes"].as_array().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["source"], "./b");
    }

    #[test]
    fn reset_and_override() {
        let m = merged(
            "services:\n  web:\n    image: a\n    ports: ['80:80']\n    labels: {a: '1', b: '2'}\n",
            "services:\n  web:\n    ports: !reset []\n    labels: !override {c: '3'}\n",
        );
        assert!(m["services"]["web"].get("ports").is_none());
        assert_eq!(
            m["services"]["web"]["labels"],
            serde_json::json!({"c": "3"})
        );
    }

    #[test]
    fn depends_on_short_and_long_merge() {
        let m = merged(
            "services:\n  web:\n    depends_on: [db]\n",
            "services:\n  web:\n    depends_on: {cache: {condition: service_healthy}}\n",
        );
        let d = &m["services"]["web"]["depends_on"];
        assert_eq!(d["db"]["condition"], "service_started");
        assert_eq!(d["cache"]["condition"], "service_healthy");
        assert_eq!(d["cache"]["required"], true);
    }
}

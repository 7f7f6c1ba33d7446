//! The project as `docker compose config` prints it, in JSON or YAML.

use serde_json::Value as Json;

use crate::model::Project;

impl Project {
    /// The shape of `docker compose config --format json`: long forms, absolute paths,
    /// resource names, and `$` written as `$$` so the output loads again unchanged.
    pub fn to_compose_json(&self) -> Json {
        let mut j = serde_json::to_value(self).expect("a project always serializes to JSON");
        escape_dollars(&mut j);
        j
    }

    /// The same model as YAML (`docker compose config`'s default format).
    pub fn to_compose_yaml(&self) -> String {
        to_yaml(&self.to_compose_json())
    }
}

fn escape_dollars(j: &mut Json) {
    match j {
        Json::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Json::Array(items) => items.iter_mut().for_each(escape_dollars),
        Json::Object(m) => m.values_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// Block-style YAML for a JSON value. Strings that YAML would read as something else are
/// written double-quoted, which is JSON string syntax and valid YAML.
pub fn to_yaml(value: &Json) -> String {
    let mut out = String::new();
    match value {
        Json::Object(m) if !m.is_empty() => block_map(m, 0, &mut out),
        Json::Array(a) if !a.is_empty() => block_seq(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn block_map(m: &serde_json::Map<String, Json>, indent: usize, out: &mut String) {
    // Sorted whatever serde_json's map order is, so output never depends on its features.
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by_key(|(k, _)| *k);
    for (k, v) in entries {
        out.push_str(&" ".repeat(indent));
        let key = string(k);
        if key.chars().count() > IMPLICIT_KEY_CHARS {
            // YAML readers take at most 1024 characters as a `key:`; longer keys need `? key`.
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        } else {
            out.push_str(&key);
        }
        out.push(':');
        nested(v, indent, out);
    }
}

/// The longest key written as `key:`, with room to spare under YAML's 1024 characters.
const IMPLICIT_KEY_CHARS: usize = 1000;

fn block_seq(a: &[Json], indent: usize, out: &mut String) {
    for v in a {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match v {
            Json::Object(m) if !m.is_empty() => {
                // The first key shares the dash's line; the rest align under it.
                let mut inner = String::new();
                block_map(m, indent + 2, &mut inner);
                out.push(' ');
                out.push_str(&inner[indent + 2..]);
            }
            _ => nested(v, indent, out),
        }
    }
}

fn nested(v: &Json, indent: usize, out: &mut String) {
    match v {
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            block_map(m, indent + 2, out);
        }
        Json::Array(a) if !a.is_empty() => {
            out.push('\n');
            block_seq(a, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => string(s),
        Json::Array(_) => "[]".into(),
        Json::Object(_) => "{}".into(),
    }
}

fn string(s: &str) -> String {
    if needs_quotes(s) {
        Json::String(s.to_owned()).to_string()
    } else {
        s.to_owned()
    }
}

fn needs_quotes(s: &str) -> bool {
    let plain_ok = |c: char| c.is_alphanumeric() || "_./-+=@~^()%,".contains(c) || c == ' ';
    s.is_empty()
        || s.starts_with([' ', '-', '~', '@', '%', '^', '('])
        || s.ends_with(' ')
        || !s.chars().all(plain_ok)
        || s.contains(" #")
        || matches!(
            s.to_ascii_lowercase().as_str(),
            "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | ".inf" | ".nan"
        )
        || s.parse::<f64>().is_ok()
        || s.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_block_style() {
        let v = json!({
            "name": "demo",
            "services": {"web": {
                "command": null,
                "image": "nginx:1.25",
                "ports": [{"target": 80, "published": "8080"}],
                "environment": {"A": "true", "B": "x: y", "C": ""},
                "expose": ["3000"],
                "x": {}
            }}
        });
        let y = to_yaml(&v);
        let want = "name: demo\nservices:\n  web:\n    command: null\n    environment:\n      A: \"true\"\n      B: \"x: y\"\n      C: \"\"\n    expose:\n      - \"3000\"\n    image: \"nginx:1.25\"\n    ports:\n      - published: \"8080\"\n        target: 80\n    x: {}\n";
        assert_eq!(y, want);
    }

    #[test]
    fn a_key_past_the_implicit_key_limit_is_explicit() {
        let long = "k".repeat(1100);
        let v = json!({"m": {&long: "v", "short": {&long: [1]}}, "s": [{&long: 1, "b": 2}]});
        let y = to_yaml(&v);
        let want = format!(
            "m:\n  ? {long}\n  : v\n  short:\n    ? {long}\n    :\n      - 1\ns:\n  - b: 2\n    ? {long}\n    : 1\n"
        );
        assert_eq!(y, want);
        let doc = crate::yaml::parse(&y, &std::sync::Arc::from(std::path::Path::new("t.yaml")))
            .unwrap()
            .remove(0);
        assert_eq!(doc.to_json(), v);
    }
}

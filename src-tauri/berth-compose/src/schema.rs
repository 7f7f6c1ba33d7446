//! Validation against the Compose JSON schema (the copy compose v2.40.3 embeds), on the spanned
//! tree so each violation points at its line. Implements the keywords that schema uses.

use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::error::Error;
use crate::node::{Node, Tag, Value};

static SCHEMA: OnceLock<Json> = OnceLock::new();

fn schema() -> &'static Json {
    SCHEMA.get_or_init(|| {
        serde_json::from_str(include_str!("compose-spec.json")).expect("embedded schema is JSON")
    })
}

/// Validates a whole compose document.
pub fn validate(doc: &Node) -> Result<(), Error> {
    let root = schema();
    Validator { root }.check(doc, root, "")
}

struct Validator<'s> {
    root: &'s Json,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<'s> Validator<'s> {
    fn resolve(&self, mut s: &'s Json) -> &'s Json {
        while let Some(r) = s.get("$ref").and_then(Json::as_str) {
            let Some(name) = r.strip_prefix("#/definitions/") else {
                break;
            };
            s = &self.root["definitions"][name];
        }
        s
    }

    fn check(&self, node: &Node, schema: &'s Json, path: &str) -> Result<(), Error> {
        if node.tag == Tag::Reset {
            // `!reset` removes the value; what it holds is never used.
            return Ok(());
        }
        let schema = self.resolve(schema);
        if *schema == Json::Bool(false) {
            return Err(self.invalid(node, path, "is not allowed"));
        }
        if let Some(branches) = schema.get("oneOf").and_then(Json::as_array) {
            self.one_of(node, branches, path)?;
        }
        if let Some(t) = schema.get("type")
            && !type_matches(node, t)
        {
            return Err(Error::WrongType {
                at: node.span.location(),
                path: display_path(path),
                expected: expected(t),
            });
        }
        if let Some(values) = schema.get("enum").and_then(Json::as_array)
            && !values.iter().any(|v| *v == node.to_json())
        {
            let allowed: Vec<String> = values.iter().map(Json::to_string).collect();
            return Err(self.invalid(
                node,
                path,
                &format!("must be one of {}", allowed.join(", ")),
            ));
        }
        match &node.value {
            Value::Str(s) => {
                if let Some(p) = schema.get("pattern").and_then(Json::as_str)
                    && !pattern_matches(p, s)
                {
                    return Err(self.invalid(node, path, &format!("does not match pattern '{p}'")));
                }
            }
            Value::Int(_) | Value::Float(_) => self.range(node, schema, path)?,
            Value::Map(entries) => self.object(node, entries, schema, path)?,
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, item_schema, &join(path, &i.to_string()))?;
                    }
                }
                if schema.get("uniqueItems") == Some(&Json::Bool(true)) {
                    let mut seen = Vec::with_capacity(items.len());
                    for item in items {
                        let j = item.to_json();
                        if seen.contains(&j) {
                            return Err(self.invalid(item, path, "array items must be unique"));
                        }
                        seen.push(j);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn range(&self, node: &Node, schema: &Json, path: &str) -> Result<(), Error> {
        let v = match node.value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            _ => return Ok(()),
        };
        if let Some(min) = schema.get("minimum").and_then(Json::as_f64)
            && v < min
        {
            return Err(self.invalid(node, path, &format!("must be >= {min}")));
        }
        if let Some(max) = schema.get("maximum").and_then(Json::as_f64)
            && v > max
        {
            return Err(self.invalid(node, path, &format!("must be <= {max}")));
        }
        Ok(())
    }

    fn object(
        &self,
        node: &Node,
        entries: &[crate::node::Entry],
        schema: &'s Json,
        path: &str,
    ) -> Result<(), Error> {
        let props = schema.get("properties").and_then(Json::as_object);
        let patterns = schema.get("patternProperties").and_then(Json::as_object);
        for e in entries {
            let sub = join(path, &e.key);
            if let Some(s) = props.and_then(|p| p.get(&e.key)) {
                self.check(&e.value, s, &sub)?;
                continue;
            }
            if let Some((_, s)) =
                patterns.and_then(|p| p.iter().find(|(pat, _)| pattern_matches(pat, &e.key)))
            {
                self.check(&e.value, s, &sub)?;
                continue;
            }
            match schema.get("additionalProperties") {
                Some(Json::Bool(false)) => {
                    let suggestion = props.and_then(|p| suggest(&e.key, p.keys()));
                    return Err(Error::UnknownKey {
                        at: e.key_span.location(),
                        path: display_path(path),
                        key: e.key.clone(),
                        suggestion,
                    });
                }
                Some(s @ Json::Object(_)) => self.check(&e.value, s, &sub)?,
                _ => {}
            }
        }
        if let Some(required) = schema.get("required").and_then(Json::as_array) {
            for r in required.iter().filter_map(Json::as_str) {
                if !entries.iter().any(|e| e.key == r) {
                    return Err(self.invalid(node, path, &format!("missing property '{r}'")));
                }
            }
        }
        Ok(())
    }

    /// Accepts the first branch that validates. When none does, reports the error of the branch
    /// whose type fits the value, which is the one the author most likely meant.
    fn one_of(&self, node: &Node, branches: &'s [Json], path: &str) -> Result<(), Error> {
        let mut best: Option<Error> = None;
        for b in branches {
            match self.check(node, b, path) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let fits = self
                        .resolve(b)
                        .get("type")
                        .is_some_and(|t| type_matches(node, t));
                    if fits || best.is_none() {
                        best = Some(e);
                    }
                }
            }
        }
        let types: Vec<String> = branches
            .iter()
            .filter_map(|b| self.resolve(b).get("type").map(expected))
            .collect();
        match best {
            Some(Error::WrongType { .. }) if !types.is_empty() => Err(Error::WrongType {
                at: node.span.location(),
                path: display_path(path),
                expected: types.join(" or "),
            }),
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn invalid(&self, node: &Node, path: &str, message: &str) -> Error {
        Error::Invalid {
            at: node.span.location(),
            path: display_path(path),
            message: message.to_owned(),
        }
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(root)".into()
    } else {
        path.to_owned()
    }
}

fn type_matches(node: &Node, t: &Json) -> bool {
    match t {
        Json::String(name) => single_type(node, name),
        Json::Array(names) => names
            .iter()
            .filter_map(Json::as_str)
            .any(|n| single_type(node, n)),
        _ => true,
    }
}

fn single_type(node: &Node, name: &str) -> bool {
    matches!(
        (name, &node.value),
        ("object", Value::Map(_))
            | ("array", Value::Seq(_))
            | ("string", Value::Str(_))
            | ("number", Value::Int(_) | Value::Float(_))
            | ("integer", Value::Int(_))
            | ("boolean", Value::Bool(_))
            | ("null", Value::Null)
    )
}

fn expected(t: &Json) -> String {
    let word = |n: &str| match n {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "number" => "a number",
        "integer" => "an integer",
        "boolean" => "a boolean",
        "null" => "null",
        _ => "a value",
    };
    match t {
        Json::String(n) => word(n).to_owned(),
        Json::Array(ns) => ns
            .iter()
            .filter_map(Json::as_str)
            .map(word)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".into(),
    }
}

/// The handful of patterns the compose schema uses, matched without a regex engine.
fn pattern_matches(pattern: &str, s: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    match pattern {
        "^x-" => s.starts_with("x-"),
        "^.+$" | ".+" => !s.is_empty(),
        "^[a-z]+$" => !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase()),
        "^[a-zA-Z0-9._-]+$" => !s.is_empty() && s.chars().all(name_char),
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+" => {
            let c: Vec<char> = s.chars().collect();
            c.windows(2)
                .any(|w| w[0].is_ascii_alphanumeric() && name_char(w[1]))
        }
        p if p.starts_with("always|never|build") => {
            [
                "always",
                "never",
                "build",
                "if_not_present",
                "missing",
                "refresh",
                "daily",
                "weekly",
            ]
            .iter()
            .any(|w| s.contains(w))
                || s.match_indices("every_").any(|(i, _)| {
                    let rest = &s[i + 6..];
                    let digits = rest.chars().take_while(char::is_ascii_digit).count();
                    digits > 0 && rest[digits..].starts_with(['w', 'd', 'h', 'm', 's'])
                })
        }
        _ => true,
    }
}

/// The known key closest to a misspelt one, if any is close enough to be a likely typo.
pub fn suggest<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> Option<String> {
    known
        .map(|k| (strsim::damerau_levenshtein(key, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn check(text: &str) -> Result<(), Error> {
        let file: Arc<Path> = Arc::from(Path::new("compose.yaml"));
        let doc = crate::yaml::parse(text, &file).unwrap().remove(0);
        validate(&doc)
    }

    #[test]
    fn accepts_a_valid_file() {
        check("services:\n  web:\n    image: nginx\n    ports: ['80:80', {target: 81}]\n    x-foo: 1\nx-top: {a: 1}\n").unwrap();
    }

    #[test]
    fn unknown_key_with_suggestion() {
        match check("services:\n  web:\n    imgae: nginx\n").unwrap_err() {
            Error::UnknownKey {
                at,
                path,
                key,
                suggestion,
            } => {
                assert_eq!((path.as_str(), key.as_str()), ("services.web", "imgae"));
                assert_eq!(suggestion.as_deref(), Some("image"));
                assert_eq!(at.line_col, Some((3, 5)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_type_located() {
        match check("services:\n  web:\n    image: nginx\n    tty: [1]\n").unwrap_err() {
            Error::WrongType { at, path, .. } => {
                assert_eq!(path, "services.web.tty");
                assert_eq!(at.line_col, Some((4, 10)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check("services:\n  nil:\n").unwrap_err(),
            Error::WrongType { .. }
        ));
    }
}

//! `${VAR}` substitution with compose-go's `template` semantics, and its application to values
//! (never keys) of a document, with compose's type casts for fields that must not stay strings.

use crate::error::{Error, excerpt};
use crate::limits;
use crate::node::{Node, Value};

/// Why a template could not be substituted; the caller adds the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `${...}` that is not `${NAME}` or `${NAME<op>...}`, or never closed.
    Invalid,
    /// `${NAME:?msg}` / `${NAME?msg}` with NAME missing: compose's message.
    Required(String),
    /// `${A:-${B:-...}}` nested deeper than [`limits::INTERPOLATION_DEPTH`].
    TooDeep,
}

/// Substitutes every `$NAME`, `${NAME...}` and `$$` in `template`.
pub fn substitute(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    substitute_at(template, lookup, 0)
}

/// `substitute` inside `depth` enclosing `${...}`: each level is a stack frame.
fn substitute_at(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, TemplateError> {
    if depth > limits::INTERPOLATION_DEPTH {
        return Err(TemplateError::TooDeep);
    }
    let bytes = template.as_bytes();
    let mut out = String::with_capacity(template.len());
    let mut i = 0;
    while let Some(off) = template[i..].find('$') {
        let d = i + off;
        out.push_str(&template[i..d]);
        match bytes.get(d + 1) {
            Some(b'$') => {
                out.push('$');
                i = d + 2;
            }
            Some(b'{') => {
                let close = closing_brace(template, d).ok_or(TemplateError::Invalid)?;
                out.push_str(&braced(&template[d + 2..close], lookup, depth)?);
                i = close + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let end = name_end(template, d + 1);
                out.push_str(&unset_is_blank(&template[d + 1..end], lookup));
                i = end;
            }
            _ => {
                // A lone `$` is not a template: compose keeps it literally.
                out.push('$');
                i = d + 1;
            }
        }
    }
    out.push_str(&template[i..]);
    Ok(out)
}

/// A plain reference to an unset variable is blank, with compose's warning.
fn unset_is_blank(name: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    lookup(name).unwrap_or_else(|| {
        tracing::warn!("The \"{name}\" variable is not set. Defaulting to a blank string.");
        String::new()
    })
}

fn name_end(s: &str, start: usize) -> usize {
    s[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(s.len(), |n| start + n)
}

/// Index of the `}` closing the `${` at `start`, counting nested `${`.
fn closing_brace(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0;
    let mut i = start;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if b[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

fn braced(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, TemplateError> {
    let substitute = |arg: &str| substitute_at(arg, lookup, depth + 1);
    let first = inner.as_bytes().first().ok_or(TemplateError::Invalid)?;
    if !(first.is_ascii_alphabetic() || *first == b'_') {
        return Err(TemplateError::Invalid);
    }
    let end = name_end(inner, 0);
    let name = &inner[..end];
    let rest = &inner[end..];
    let value = lookup(name);
    let (op, arg) = if rest.is_empty() {
        return Ok(unset_is_blank(name, lookup));
    } else if let Some(a) = rest.strip_prefix(":-") {
        (":-", a)
    } else if let Some(a) = rest.strip_prefix(":?") {
        (":?", a)
    } else if let Some(a) = rest.strip_prefix(":+") {
        (":+", a)
    } else if let Some(a) = rest.strip_prefix('-') {
        ("-", a)
    } else if let Some(a) = rest.strip_prefix('?') {
        ("?", a)
    } else if let Some(a) = rest.strip_prefix('+') {
        ("+", a)
    } else {
        return Err(TemplateError::Invalid);
    };
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    Ok(match op {
        ":-" if set_nonempty => value.unwrap_or_default(),
        "-" if value.is_some() => value.unwrap_or_default(),
        ":-" | "-" => substitute(arg)?,
        ":?" | "?" if set_nonempty || (op == "?" && value.is_some()) => value.unwrap_or_default(),
        ":?" | "?" => {
            let msg = substitute(arg)?;
            return Err(TemplateError::Required(format!(
                "required variable {name} is missing a value: {msg}"
            )));
        }
        ":+" if set_nonempty => substitute(arg)?,
        "+" if value.is_some() => substitute(arg)?,
        _ => String::new(),
    })
}

/// How a field's interpolated string is turned back into a typed value (compose-go's
/// `interpolateTypeCastMapping`).
#[derive(Clone, Copy)]
enum Cast {
    Int,
    Float,
    Bool,
}

/// Paths with a cast; `*` matches any key, `[]` any list item.
const CASTS: &[(&str, Cast)] = &[
    ("services.*.configs.[].mode", Cast::Int),
    ("services.*.cpu_count", Cast::Int),
    ("services.*.cpu_percent", Cast::Float),
    ("services.*.cpu_period", Cast::Int),
    ("services.*.cpu_quota", Cast::Int),
    ("services.*.cpu_rt_period", Cast::Int),
    ("services.*.cpu_rt_runtime", Cast::Int),
    ("services.*.cpus", Cast::Float),
    ("services.*.cpu_shares", Cast::Int),
    ("services.*.init", Cast::Bool),
    ("services.*.deploy.replicas", Cast::Int),
    ("services.*.deploy.update_config.parallelism", Cast::Int),
    (
        "services.*.deploy.update_config.max_failure_ratio",
        Cast::Float,
    ),
    ("services.*.deploy.rollback_config.parallelism", Cast::Int),
    (
        "services.*.deploy.rollback_config.max_failure_ratio",
        Cast::Float,
    ),
    ("services.*.deploy.restart_policy.max_attempts", Cast::Int),
    (
        "services.*.deploy.placement.max_replicas_per_node",
        Cast::Int,
    ),
    ("services.*.healthcheck.retries", Cast::Int),
    ("services.*.healthcheck.disable", Cast::Bool),
    ("services.*.oom_kill_disable", Cast::Bool),
    ("services.*.oom_score_adj", Cast::Int),
    ("services.*.pids_limit", Cast::Int),
    ("services.*.ports.[].target", Cast::Int),
    ("services.*.privileged", Cast::Bool),
    ("services.*.read_only", Cast::Bool),
    ("services.*.scale", Cast::Int),
    ("services.*.secrets.[].mode", Cast::Int),
    ("services.*.stdin_open", Cast::Bool),
    ("services.*.tty", Cast::Bool),
    ("services.*.ulimits.*", Cast::Int),
    ("services.*.ulimits.*.hard", Cast::Int),
    ("services.*.ulimits.*.soft", Cast::Int),
    ("services.*.volumes.[].read_only", Cast::Bool),
    ("services.*.volumes.[].volume.nocopy", Cast::Bool),
    ("services.*.depends_on.*.required", Cast::Bool),
    ("services.*.depends_on.*.restart", Cast::Bool),
    ("services.*.env_file.[].required", Cast::Bool),
    ("networks.*.external", Cast::Bool),
    ("networks.*.internal", Cast::Bool),
    ("networks.*.attachable", Cast::Bool),
    ("networks.*.enable_ipv4", Cast::Bool),
    ("networks.*.enable_ipv6", Cast::Bool),
    ("volumes.*.external", Cast::Bool),
    ("secrets.*.external", Cast::Bool),
    ("configs.*.external", Cast::Bool),
    ("include.[].required", Cast::Bool),
];

fn cast_for(path: &[&str]) -> Option<Cast> {
    CASTS.iter().find_map(|(pattern, cast)| {
        let parts: Vec<&str> = pattern.split('.').collect();
        (parts.len() == path.len()
            && parts.iter().zip(path).all(|(p, s)| match *p {
                "*" => *s != "[]",
                "[]" => *s == "[]",
                lit => lit == *s,
            }))
        .then_some(*cast)
    })
}

fn apply_cast(cast: Cast, s: &str) -> Option<Value> {
    match cast {
        Cast::Int => s.parse::<i64>().ok().map(Value::Int),
        Cast::Float => s.parse::<f64>().ok().map(Value::Float),
        Cast::Bool => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "on" => Some(Value::Bool(true)),
            "n" | "no" | "false" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

/// Interpolates every string value of a document in place.
pub fn interpolate(node: &mut Node, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
    let mut path = Vec::new();
    walk(node, &mut path, lookup)
}

fn walk(
    node: &mut Node,
    path: &mut Vec<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    match &mut node.value {
        Value::Str(s) => {
            let new = if s.contains('$') {
                match substitute(s, lookup) {
                    Ok(v) => Some(v),
                    Err(TemplateError::Invalid) => {
                        return Err(Error::Interpolation {
                            at: node.span.location(),
                            value: excerpt(s),
                        });
                    }
                    Err(TemplateError::Required(message)) => {
                        return Err(Error::RequiredVariable {
                            at: node.span.location(),
                            message,
                        });
                    }
                    Err(TemplateError::TooDeep) => {
                        return Err(Error::TooDeep {
                            at: node.span.location(),
                            what: "`${...}` nested",
                            limit: limits::INTERPOLATION_DEPTH,
                        });
                    }
                }
            } else {
                None
            };
            if let Some(v) = new {
                *s = v;
            }
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(cast) = cast_for(&refs) {
                match apply_cast(cast, s) {
                    Some(v) => node.value = v,
                    None => {
                        return Err(Error::Invalid {
                            at: node.span.location(),
                            path: refs.join("."),
                            message: format!("failed to cast \"{s}\" to expected type"),
                        });
                    }
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                path.push("[]".into());
                walk(item, path, lookup)?;
                path.pop();
            }
        }
        Value::Map(entries) => {
            for e in entries {
                path.push(e.key.clone());
                walk(&mut e.value, path, lookup)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, &'static str> {
        HashMap::from([("FOO", "first"), ("BAR", ""), ("JSON_VAR", "{\"json\": 2}")])
    }

    fn sub(t: &str) -> Result<String, TemplateError> {
        let e = env();
        substitute(t, &|k| e.get(k).map(|v| v.to_string()))
    }

    // Cases from compose-go's template/template_test.go.
    #[test]
    fn template_table() {
        let ok = [
            ("$$", "$"),
            ("$$$$", "$$"),
            ("foo $FOO bar", "foo first bar"),
            ("${FOO}", "first"),
            ("${FOO}${FOO}", "firstfirst"),
            ("$FOO$FOO", "firstfirst"),
            ("${UNSET}", ""),
            ("${UNSET:-default}", "default"),
            ("${UNSET-default}", "default"),
            ("${BAR:-default}", "default"),
            ("${BAR-default}", ""),
            ("${FOO:-default}", "first"),
            ("${FOO:+alt}", "alt"),
            ("${BAR:+alt}", ""),
            ("${BAR+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("${UNSET:-${FOO}}", "first"),
            ("${UNSET:-${UNSET2:-nested}}", "nested"),
            ("ok ${UNSET:-a}-${FOO}", "ok a-first"),
            (
                "${UNSET:-default value with spaces}",
                "default value with spaces",
            ),
            ("${UNSET:-${JSON_VAR}}", "{\"json\": 2}"),
            ("$1 $ $$FOO", "$1 $ $FOO"),
            ("${FOO?err}", "first"),
            ("${BAR?err}", ""),
            ("${FOO:?err}", "first"),
        ];
        for (input, want) in ok {
            assert_eq!(sub(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn required_messages() {
        assert_eq!(
            sub("${UNSET:?must be set}"),
            Err(TemplateError::Required(
                "required variable UNSET is missing a value: must be set".into()
            ))
        );
        assert!(matches!(sub("${BAR:?x}"), Err(TemplateError::Required(_))));
        assert!(matches!(sub("${UNSET?x}"), Err(TemplateError::Required(_))));
        assert_eq!(
            sub("${UNSET:?${FOO} missing}"),
            Err(TemplateError::Required(
                "required variable UNSET is missing a value: first missing".into()
            ))
        );
    }

    #[test]
    fn invalid_templates() {
        for t in ["${", "${}", "${ FOO}", "${FOO", "${1FOO}", "${FOO%bar}"] {
            assert_eq!(sub(t), Err(TemplateError::Invalid), "{t}");
        }
    }

    #[test]
    fn casts_follow_paths() {
        assert!(matches!(
            cast_for(&["services", "web", "ports", "[]", "target"]),
            Some(Cast::Int)
        ));
        assert!(cast_for(&["services", "web", "image"]).is_none());
    }
}

//! The spanned document tree every later stage works on, so any error can point at a line.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::error::Location;

/// Where a node starts: file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub file: Arc<Path>,
    pub line: usize,
    pub col: usize,
}

impl Span {
    /// A span for values that come from no file position (defaults, command-line values).
    pub fn file_only(file: Arc<Path>) -> Self {
        Span {
            file,
            line: 0,
            col: 0,
        }
    }

    pub fn location(&self) -> Location {
        Location {
            file: self.file.clone(),
            line_col: (self.line > 0).then_some((self.line, self.col)),
        }
    }
}

/// Compose's merge tags: `!reset` drops a value, `!override` replaces instead of merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tag {
    #[default]
    None,
    Reset,
    Override,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub tag: Tag,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry; the key keeps its own span for duplicate-key and unknown-key errors.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node {
            value,
            span,
            tag: Tag::None,
        }
    }

    pub fn str(s: impl Into<String>, span: &Span) -> Self {
        Node::new(Value::Str(s.into()), span.clone())
    }

    pub fn map(entries: Vec<Entry>, span: &Span) -> Self {
        Node::new(Value::Map(entries), span.clone())
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Vec<Entry>> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Vec<Entry>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .find(|e| e.key == key)
            .map(|e| &mut e.value)
    }

    /// Sets `key`, keeping its position if present. No-op on a non-mapping.
    pub fn insert(&mut self, key: &str, value: Node) {
        if let Some(m) = self.as_map_mut() {
            if let Some(e) = m.iter_mut().find(|e| e.key == key) {
                e.value = value;
            } else {
                let key_span = value.span.clone();
                m.push(Entry {
                    key: key.to_owned(),
                    key_span,
                    value,
                });
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let m = self.as_map_mut()?;
        let i = m.iter().position(|e| e.key == key)?;
        Some(m.remove(i).value)
    }

    /// A scalar as the string Go's `fmt.Sprint` would give; `None` for collections and null.
    pub fn scalar_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(format_float(*f)),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(s) => Json::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => Json::Object(
                m.iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Entries with each key once: a later entry's value replaces the first's, at the first's place.
/// Linear, for env files and `environment:` lists with tens of thousands of keys.
pub fn last_wins(entries: impl IntoIterator<Item = Entry>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in entries {
        match index.get(&e.key) {
            Some(&i) => out[i].value = e.value,
            None => {
                index.insert(e.key.clone(), out.len());
                out.push(e);
            }
        }
    }
    out
}

/// Floats print like Go's `%v`: integral values without a fraction.
pub fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

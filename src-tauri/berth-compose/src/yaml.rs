//! YAML text → spanned [`Node`] documents, on saphyr's event parser.
//!
//! Building the tree ourselves gives every node a position, duplicate-key errors naming both
//! places, `<<` merge keys, compose's `!reset`/`!override` tags, and a hard budget on alias
//! expansion so an alias bomb is refused before it is built.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YSpan, Tag as YTag};

use crate::error::{Error, Location};
use crate::limits;
use crate::node::{Entry, Node, Span, Tag, Value};

/// Parses every document of a YAML stream. Empty documents are skipped.
pub fn parse(text: &str, file: &Arc<Path>) -> Result<Vec<Node>, Error> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        file: file.clone(),
        anchors: HashMap::new(),
        aliased: 0,
    };
    let mut docs = Vec::new();
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                b.anchors.clear();
                b.aliased = 0;
                let (ev, span) = b.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    continue;
                }
                let node = b.node(ev, span, 0)?;
                if !node.is_null() {
                    docs.push(node);
                }
            }
            other => {
                return Err(b.syntax(&span, format!("unexpected {other:?}")));
            }
        }
    }
    Ok(docs)
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    file: Arc<Path>,
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes the document's aliases have expanded to so far.
    aliased: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, YSpan), Error> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(Error::Syntax {
                at: Location::file(self.file.to_path_buf()),
                message: "unexpected end of input".into(),
            }),
        }
    }

    fn span(&self, s: &YSpan) -> Span {
        Span {
            file: self.file.clone(),
            line: s.start.line(),
            col: s.start.col() + 1,
        }
    }

    fn syntax(&self, s: &YSpan, message: String) -> Error {
        Error::Syntax {
            at: self.span(s).location(),
            message,
        }
    }

    fn scan_error(&self, e: &ScanError) -> Error {
        let m = e.marker();
        // The scanner counts `[`/`{` levels in a byte and stops past its range.
        if e.info() == "recursion limit exceeded" {
            return Error::TooDeep {
                at: Location::at(self.file.to_path_buf(), m.line(), m.col() + 1),
                what: "YAML flow collections (`[`, `{`) nested",
                limit: u8::MAX as usize,
            };
        }
        Error::Syntax {
            at: Location::at(self.file.to_path_buf(), m.line(), m.col() + 1),
            message: e.info().to_owned(),
        }
    }

    /// Counts the bytes an alias expands to, against the budget for the whole document. Only
    /// expansions count: a large file without aliases costs what its text does, while a
    /// "billion laughs" file is refused within a few aliases, before its expansion is built.
    fn expand(&mut self, bytes: usize, at: &Span) -> Result<(), Error> {
        self.aliased = self.aliased.saturating_add(bytes);
        if self.aliased > limits::ALIAS_BYTES {
            return Err(Error::AliasBomb {
                at: at.location(),
                limit_mib: limits::ALIAS_BYTES >> 20,
            });
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, ys: YSpan, depth: usize) -> Result<Node, Error> {
        let span = self.span(&ys);
        if depth > limits::YAML_DEPTH {
            return Err(Error::TooDeep {
                at: span.location(),
                what: "YAML collections nested",
                limit: limits::YAML_DEPTH,
            });
        }
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                let Some(&(_, size)) = self.anchors.get(&id) else {
                    return Err(self.syntax(&ys, "unknown anchor".into()));
                };
                // Checked before cloning: the expansion is never built.
                self.expand(size, &span)?;
                let mut node = self.anchors[&id].0.clone();
                node.span = span;
                return Ok(node);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag_kind = merge_tag(tag.as_deref());
                let value = scalar(&text, style, tag.as_deref());
                let mut node = Node::new(value, span);
                node.tag = tag_kind;
                (node, anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                loop {
                    let (ev, ys) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, ys, depth + 1)?);
                }
                let mut node = Node::new(Value::Seq(items), span);
                node.tag = merge_tag(tag.as_deref());
                (node, anchor)
            }
            Event::MappingStart(anchor, tag) => {
                let mut node = self.mapping(span, depth)?;
                node.tag = merge_tag(tag.as_deref());
                (node, anchor)
            }
            other => return Err(self.syntax(&ys, format!("unexpected {other:?}"))),
        };
        if anchor > 0 {
            let size = node_size(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        Ok(node)
    }

    fn mapping(&mut self, span: Span, depth: usize) -> Result<Node, Error> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut merged: Vec<Entry> = Vec::new();
        loop {
            let (ev, ys) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let is_merge =
                matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t.as_ref() == "<<");
            let key_node = self.node(ev, ys, depth + 1)?;
            let (vev, vys) = self.next()?;
            let value = self.node(vev, vys, depth + 1)?;
            if is_merge {
                merged.extend(merge_sources(value)?);
                continue;
            }
            let key = match key_node.scalar_string() {
                Some(k) => k,
                None if key_node.is_null() => "null".to_owned(),
                None => {
                    return Err(Error::Syntax {
                        at: key_node.span.location(),
                        message: "mapping keys must be strings".into(),
                    });
                }
            };
            if !seen.insert(key.clone()) {
                let first = entries
                    .iter()
                    .find(|e| e.key == key)
                    .map(|e| e.key_span.location())
                    .unwrap_or_else(|| key_node.span.location());
                return Err(Error::DuplicateKey {
                    at: key_node.span.location(),
                    key,
                    first,
                });
            }
            entries.push(Entry {
                key,
                key_span: key_node.span,
                value,
            });
        }
        // Explicit keys win over merged ones; among merged sources, the first wins.
        for e in merged {
            if seen.insert(e.key.clone()) {
                entries.push(e);
            }
        }
        Ok(Node::map(entries, &span))
    }
}

/// The entries a `<<` value contributes: one mapping, or a list of them.
fn merge_sources(value: Node) -> Result<Vec<Entry>, Error> {
    match value.value {
        Value::Map(m) => Ok(m),
        Value::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                match item.value {
                    Value::Map(m) => out.extend(m),
                    _ => {
                        return Err(Error::Syntax {
                            at: item.span.location(),
                            message: "a merge key (<<) list must hold mappings".into(),
                        });
                    }
                }
            }
            Ok(out)
        }
        _ => Err(Error::Syntax {
            at: value.span.location(),
            message: "a merge key (<<) must refer to a mapping or a list of mappings".into(),
        }),
    }
}

/// What a copy of `node` costs, in bytes, for the alias budget: its nodes and their text.
fn node_size(node: &Node) -> usize {
    limits::NODE_BYTES
        + match &node.value {
            Value::Str(s) => s.len(),
            Value::Seq(s) => s.iter().map(node_size).sum(),
            Value::Map(m) => m
                .iter()
                .map(|e| limits::NODE_BYTES + e.key.len() + node_size(&e.value))
                .sum(),
            _ => 0,
        }
}

fn merge_tag(tag: Option<&YTag>) -> Tag {
    match tag {
        Some(t) if t.handle == "!" && t.suffix == "reset" => Tag::Reset,
        Some(t) if t.handle == "!" && t.suffix == "override" => Tag::Override,
        _ => Tag::None,
    }
}

/// Resolves a scalar's type as compose's YAML decoder does: plain scalars may be null, bool,
/// int (decimal, 0x, 0o, legacy leading-0 octal) or float; quoted ones are always strings.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&YTag>) -> Value {
    if let Some(t) = tag
        && t.suffix == "str"
    {
        return Value::Str(text.to_owned());
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_owned());
    }
    resolve_plain(text)
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|c| (b'0'..=b'7').contains(&c))
    {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let v = i64::from_str_radix(body, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn is_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exp_ok && (frac.is_some() || exp.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<Path> {
        Arc::from(Path::new("test.yaml"))
    }

    fn one(text: &str) -> Node {
        parse(text, &file()).unwrap().remove(0)
    }

    #[test]
    fn scalars_resolve_like_compose() {
        let n = one("a: 1\nb: '1'\nc: true\nd: 0440\ne: 1.5\nf: ~\ng: 8080:80\nh: 0x1F\n");
        assert!(matches!(n.get("a").unwrap().value, Value::Int(1)));
        assert!(matches!(n.get("b").unwrap().value, Value::Str(_)));
        assert!(matches!(n.get("c").unwrap().value, Value::Bool(true)));
        assert!(matches!(n.get("d").unwrap().value, Value::Int(288)));
        assert!(matches!(n.get("e").unwrap().value, Value::Float(_)));
        assert!(n.get("f").unwrap().is_null());
        assert_eq!(n.get("g").unwrap().as_str(), Some("8080:80"));
        assert!(matches!(n.get("h").unwrap().value, Value::Int(31)));
    }

    #[test]
    fn duplicate_key_names_both_lines() {
        let err = parse("a: 1\nb: 2\na: 3\n", &file()).unwrap_err();
        match err {
            Error::DuplicateKey { at, first, key } => {
                assert_eq!(key, "a");
                assert_eq!(at.line_col, Some((3, 1)));
                assert_eq!(first.line_col, Some((1, 1)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn merge_keys_and_anchors() {
        let n = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        let d = n.get("derived").unwrap();
        assert!(matches!(d.get("x").unwrap().value, Value::Int(1)));
        assert!(matches!(d.get("y").unwrap().value, Value::Int(3)));
    }

    #[test]
    fn merge_tags() {
        let n = one("a: !reset []\nb: !override {x: 1}\n");
        assert_eq!(n.get("a").unwrap().tag, Tag::Reset);
        assert_eq!(n.get("b").unwrap().tag, Tag::Override);
    }

    #[test]
    fn alias_bomb_refused_fast() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let err = parse(&text, &file()).unwrap_err();
        match err {
            Error::AliasBomb { at, .. } => assert!(at.line_col.is_some()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn syntax_error_located() {
        let err = parse("a: [1, 2\nb: 3\n", &file()).unwrap_err();
        assert!(matches!(
            err,
            Error::Syntax {
                at: Location {
                    line_col: Some(_),
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn deep_nesting_refused() {
        let text = "[".repeat(10_000);
        assert!(parse(&text, &file()).is_err());
    }
}

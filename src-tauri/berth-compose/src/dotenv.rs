//! `.env` and `env_file:` parsing with compose-go's dotenv rules: `KEY=VALUE` or `KEY: VALUE`,
//! `export` prefixes, `#` comments, single quotes literal, double quotes with escapes and
//! `${VAR}` expansion, values spanning lines inside quotes, and bare `KEY` inherited from the
//! environment.

use std::collections::HashMap;

use crate::error::excerpt;
use crate::interpolate::{TemplateError, substitute};

/// A parse failure at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Parses `src`. `lookup` resolves inherited keys and `${VAR}` references before the file's own
/// earlier keys, as compose does.
pub fn parse(
    src: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, DotenvError> {
    let mut out = Pairs::default();
    let mut rest = src;
    let mut line = 1;
    loop {
        rest = statement_start(rest, &mut line);
        if rest.is_empty() {
            break;
        }
        let (key, after, inherited) = key_name(rest, line)?;
        if inherited {
            if let Some(v) = lookup(&key) {
                out.set(key, v);
            }
            line += 1;
            rest = after;
            continue;
        }
        let expand = |v: &str, line: usize| {
            substitute(v, &|k| lookup(k).or_else(|| out.get(k))).map_err(|e| DotenvError {
                line,
                message: match e {
                    TemplateError::Invalid => {
                        format!("invalid interpolation in {:?}", excerpt(v))
                    }
                    TemplateError::Required(m) => m,
                    TemplateError::TooDeep => format!(
                        "`${{...}}` nested deeper than {} levels",
                        crate::limits::INTERPOLATION_DEPTH
                    ),
                },
            })
        };
        let (value, after) = value(after, &mut line, &expand)?;
        out.set(key, value);
        rest = after;
    }
    Ok(out.pairs)
}

/// The file's pairs in order, a key set again keeping its first place; indexed so that each
/// key costs the same however long the file is.
#[derive(Default)]
struct Pairs {
    pairs: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Pairs {
    fn set(&mut self, key: String, value: String) {
        match self.index.get(&key) {
            Some(&i) => self.pairs[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.pairs.len());
                self.pairs.push((key, value));
            }
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        self.index.get(key).map(|&i| self.pairs[i].1.clone())
    }
}

/// Skips blank space and comment lines.
fn statement_start<'s>(mut src: &'s str, line: &mut usize) -> &'s str {
    loop {
        let trimmed = src.trim_start_matches(|c: char| c.is_whitespace());
        *line += src[..src.len() - trimmed.len()].matches('\n').count();
        src = trimmed;
        if !src.starts_with('#') {
            return src;
        }
        match src.find('\n') {
            Some(i) => src = &src[i..],
            None => return "",
        }
    }
}

fn key_name(src: &str, line: usize) -> Result<(String, &str, bool), DotenvError> {
    let src = match src.strip_prefix("export") {
        Some(after) if after.starts_with([' ', '\t']) => after.trim_start_matches([' ', '\t']),
        _ => src,
    };
    for (i, c) in src.char_indices() {
        match c {
            ' ' | '\t' => {}
            '=' | ':' | '\n' => {
                let key = src[..i].trim_end().to_owned();
                if key.contains([' ', '\t']) {
                    return Err(DotenvError {
                        line,
                        message: "key cannot contain a space".into(),
                    });
                }
                let rest = src[i + 1..].trim_start_matches([' ', '\t']);
                return Ok((key, if c == '\n' { &src[i + 1..] } else { rest }, c == '\n'));
            }
            '_' | '.' | '-' | '[' | ']' => {}
            c if c.is_alphanumeric() => {}
            c => {
                return Err(DotenvError {
                    line,
                    message: format!(
                        "unexpected character {c:?} in variable name {:?}",
                        src.lines().next().unwrap_or_default()
                    ),
                });
            }
        }
    }
    Ok((src.trim_end().to_owned(), "", true))
}

fn value<'s>(
    src: &'s str,
    line: &mut usize,
    expand: &dyn Fn(&str, usize) -> Result<String, DotenvError>,
) -> Result<(String, &'s str), DotenvError> {
    let quote = match src.chars().next() {
        Some(q @ ('"' | '\'')) => q,
        _ => {
            let (raw, rest) = src.split_once('\n').unwrap_or((src, ""));
            let at = *line;
            *line += 1;
            let raw = raw.split_once(" #").map_or(raw, |(v, _)| v);
            let raw = raw.trim_end();
            return Ok((expand(raw, at)?, rest));
        }
    };
    let start_line = *line;
    let mut chars = String::new();
    let mut escaped = false;
    for (i, c) in src.char_indices().skip(1) {
        if c == '\n' {
            *line += 1;
        }
        if c != quote {
            escaped = !escaped && c == '\\';
            chars.push(c);
            continue;
        }
        if escaped {
            escaped = false;
            chars.push(c);
            continue;
        }
        let value = if quote == '"' {
            expand(&unescape(&chars), start_line)?
        } else {
            chars
        };
        return Ok((value, &src[i + 1..]));
    }
    Err(DotenvError {
        line: start_line,
        message: format!(
            "unterminated quoted value {}",
            src.lines().next().unwrap_or_default()
        ),
    })
}

/// Shell escapes of double-quoted values. `\$` stays escaped for the expansion step, which
/// reads it as a literal `$`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('$') => out.push_str("$$"),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> Vec<(String, String)> {
        parse(src, &|k| (k == "HOME_VAR").then(|| "home".to_string())).unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_values_and_comments() {
        assert_eq!(
            p("# comment\nA=1\n\nB = two words # trailing\nexport C=3\nD: yaml\nE=\n"),
            kv(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "3"),
                ("D", "yaml"),
                ("E", "")
            ])
        );
    }

    #[test]
    fn quotes() {
        assert_eq!(
            p("A='lit $HOME_VAR \\n'\nB=\"x\\ny $HOME_VAR\"\nC=\"multi\nline\"\nD=\"a\\\"b\"\n"),
            kv(&[
                ("A", "lit $HOME_VAR \\n"),
                ("B", "x\ny home"),
                ("C", "multi\nline"),
                ("D", "a\"b"),
            ])
        );
    }

    #[test]
    fn expansion_and_inheritance() {
        assert_eq!(
            p("A=1\nB=${A}2\nHOME_VAR\nMISSING\nC=${UNSET:-d}\n"),
            kv(&[("A", "1"), ("B", "12"), ("HOME_VAR", "home"), ("C", "d")])
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("A=1\nB=\"open\n", &|_| None).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("A=1\nB C=2\n", &|_| None).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("A=1\n\nB$=2\n", &|_| None).unwrap_err();
        assert_eq!(e.line, 3);
    }
}

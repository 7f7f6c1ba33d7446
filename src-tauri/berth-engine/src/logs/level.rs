//! Guessing a line's level from its text: JSON `level`/`severity` fields, logfmt `level=`,
//! bracketed or upper-case level words, and the glog and Redis prefixes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// A line's severity, as far as its text tells. Ordered, so "warn and above" is a comparison.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, TS,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Level {
    /// Nothing in the line names a level.
    #[default]
    Unknown,
    Trace,
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub(crate) const ALL: [Level; 8] = [
        Level::Unknown,
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Notice,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    pub(crate) fn from_u8(v: u8) -> Level {
        Level::ALL.get(usize::from(v)).copied().unwrap_or_default()
    }

    /// Parses the words `--level` takes (and common spellings of them).
    pub fn parse(text: &str) -> Option<Level> {
        word(text.as_bytes())
    }
}

/// How far into a line a text level is looked for: levels sit near the start.
const HEAD: usize = 256;

/// The level of a (stripped) line, and whether the line is a JSON object.
pub fn detect(text: &[u8]) -> (Level, bool) {
    let trimmed = text.trim_ascii();
    if trimmed.first() == Some(&b'{')
        && trimmed.last() == Some(&b'}')
        && let Some(level) = json(trimmed)
    {
        return (level, true);
    }
    (text_level(&text[..text.len().min(HEAD)]), false)
}

/// The level fields of common JSON loggers (zap, logrus, pino/bunyan, slog, ECS, GCP, MongoDB).
#[derive(Deserialize)]
struct Fields {
    level: Option<Value>,
    severity: Option<Value>,
    lvl: Option<Value>,
    loglevel: Option<Value>,
    #[serde(rename = "log.level")]
    log_level: Option<Value>,
    /// MongoDB's single-letter severity.
    s: Option<Value>,
}

/// `None` when the text is not a JSON object; `Some(Unknown)` when it is one without a level.
fn json(text: &[u8]) -> Option<Level> {
    let f: Fields = serde_json::from_slice(text).ok()?;
    let value = [f.level, f.severity, f.lvl, f.loglevel, f.log_level]
        .into_iter()
        .flatten()
        .next();
    let level = match value {
        Some(Value::String(s)) => word(s.as_bytes()),
        // pino and bunyan: 10 trace … 60 fatal.
        Some(Value::Number(n)) => n.as_u64().map(|n| match n {
            0..=10 => Level::Trace,
            11..=20 => Level::Debug,
            21..=30 => Level::Info,
            31..=40 => Level::Warn,
            41..=50 => Level::Error,
            _ => Level::Fatal,
        }),
        _ => match f.s {
            Some(Value::String(s)) => match s.as_bytes().first() {
                Some(b'F') => Some(Level::Fatal),
                Some(b'E') => Some(Level::Error),
                Some(b'W') => Some(Level::Warn),
                Some(b'I') => Some(Level::Info),
                Some(b'D') => Some(Level::Debug),
                _ => None,
            },
            _ => None,
        },
    };
    Some(level.unwrap_or_default())
}

/// A level word in any case: `warn`, `WARNING`, `Err`, `crit`, …
pub(crate) fn word(w: &[u8]) -> Option<Level> {
    let mut buf = [0u8; 9];
    let lower = buf.get_mut(..w.len())?;
    lower.copy_from_slice(w);
    lower.make_ascii_lowercase();
    Some(match &*lower {
        b"trace" | b"trc" | b"verbose" => Level::Trace,
        b"debug" | b"dbg" => Level::Debug,
        b"info" | b"inf" | b"log" | b"informational" => Level::Info,
        b"notice" => Level::Notice,
        b"warn" | b"warning" | b"wrn" => Level::Warn,
        b"error" | b"err" | b"eror" => Level::Error,
        b"fatal" | b"crit" | b"critical" | b"panic" | b"emerg" | b"alert" | b"severe" => {
            Level::Fatal
        }
        _ => return None,
    })
}

fn text_level(t: &[u8]) -> Level {
    if let Some(level) = glog(t).or_else(|| redis(t)) {
        return level;
    }
    let mut i = 0;
    while i < t.len() {
        if !t[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < t.len() && t[i].is_ascii_alphabetic() {
            i += 1;
        }
        let w = &t[start..i];
        let Some(level) = word(w) else { continue };
        let before = start.checked_sub(1).map(|p| t[p]);
        let after = t.get(i).copied();
        // Upper-case level words stand alone (`ERROR`, `WARN`), but in lower case the word must
        // be marked as a level (`[info]`, `level=info`, `info:`), or "an error" would count.
        // `LOG` only counts as PostgreSQL writes it (`LOG:`).
        let upper = w.len() >= 3 && w.iter().all(u8::is_ascii_uppercase);
        let keyed = before == Some(b'=') && {
            let key = &t[..start - 1];
            let k = key.len()
                - key
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_alphabetic())
                    .count();
            matches!(
                &key[k..],
                b"level" | b"lvl" | b"severity" | b"loglevel" | b"LEVEL" | b"Level"
            )
        };
        let marked = keyed
            || matches!(before, Some(b'[' | b'<' | b'"' | b'(' | b'|'))
            || matches!(after, Some(b']' | b'>' | b'|' | b')'))
            || (after == Some(b':') && start == 0);
        let is_log = w.eq_ignore_ascii_case(b"log");
        if (upper && (!is_log || after == Some(b':'))) || (marked && !is_log) {
            return level;
        }
    }
    Level::Unknown
}

/// glog/klog: `E1122 00:44:12.123456 …` (I, W, E, F followed by the month and day).
fn glog(t: &[u8]) -> Option<Level> {
    let head = t.get(..6)?;
    if !head[1..5].iter().all(u8::is_ascii_digit) || head[5] != b' ' {
        return None;
    }
    match head[0] {
        b'I' => Some(Level::Info),
        b'W' => Some(Level::Warn),
        b'E' => Some(Level::Error),
        b'F' => Some(Level::Fatal),
        _ => None,
    }
}

/// Redis: `1:M 22 Nov 2026 00:44:12.123 * Ready` — the mark after the time is the level.
fn redis(t: &[u8]) -> Option<Level> {
    let digits = t.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = t.get(digits..)?;
    if digits == 0 || rest.len() < 4 || rest[0] != b':' || !b"XCSM".contains(&rest[1]) {
        return None;
    }
    // The time ends with milliseconds; the mark follows it.
    let time_end = rest.iter().position(|b| *b == b'.')?;
    let after = &rest[time_end + 1..];
    let mark = after.iter().skip_while(|b| b.is_ascii_digit()).nth(1)?;
    match mark {
        b'.' | b'-' => Some(Level::Debug),
        b'*' => Some(Level::Notice),
        b'#' => Some(Level::Warn),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_table() {
        use Level::*;
        let table: &[(&str, Level, bool)] = &[
            ("plain text with no level", Unknown, false),
            ("we saw an error in the logs", Unknown, false),
            ("2024-05-01 12:00:00 ERROR something broke", Error, false),
            ("2024-05-01T12:00:00Z WARN  disk almost full", Warn, false),
            ("[info] listening on :80", Info, false),
            ("[Warning] Aborted connection", Warn, false),
            ("time=2024 level=debug msg=hi", Debug, false),
            ("lvl=eror msg=x", Error, false),
            ("info: server started", Info, false),
            (
                "2024/05/01 12:00:00 [error] 1#1: open() failed",
                Error,
                false,
            ),
            (
                "2024-05-01 12:00:00.000 UTC [1] LOG:  database system is ready",
                Info,
                false,
            ),
            (
                "2024-05-01 12:00:00.000 UTC [1] FATAL:  role does not exist",
                Fatal,
                false,
            ),
            (
                "E1122 00:44:12.123456       1 main.go:10] boom",
                Error,
                false,
            ),
            ("W1122 00:44:12.123456       1 main.go:10] hmm", Warn, false),
            (
                "1:M 22 Nov 2026 00:44:12.123 * Ready to accept connections",
                Notice,
                false,
            ),
            (
                "1:M 22 Nov 2026 00:44:12.123 # Warning: no config file",
                Warn,
                false,
            ),
            (r#"{"level":"warn","msg":"x"}"#, Warn, true),
            (r#"{"severity":"ERROR","message":"x"}"#, Error, true),
            (r#"{"level":30,"msg":"pino"}"#, Info, true),
            (r#"{"level":50,"msg":"pino"}"#, Error, true),
            (r#"{"log.level":"debug"}"#, Debug, true),
            (
                r#"{"t":{"$date":"x"},"s":"W","c":"NETWORK","msg":"m"}"#,
                Warn,
                true,
            ),
            (r#"{"msg":"no level here"}"#, Unknown, true),
            (
                r#"{"msg": "ERROR inside json but no field"}"#,
                Unknown,
                true,
            ),
            ("{not json} ERROR", Error, false),
            ("TRACE enter", Trace, false),
            ("CRITICAL: out of memory", Fatal, false),
            ("LOGGING started", Unknown, false),
            ("<img src=x onerror=alert(1)>", Unknown, false),
            ("key=error value", Unknown, false),
        ];
        for (line, level, json) in table {
            assert_eq!(detect(line.as_bytes()), (*level, *json), "{line}");
        }
    }
}

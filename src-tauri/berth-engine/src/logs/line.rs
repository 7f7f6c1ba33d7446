//! One log line as the viewer receives it, and the engine's timestamps.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::level::Level;
use super::marker::Marker;

/// Which output of the container a line came from, or Berth's own line about the service (what
/// watch mode did), which is no container's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Stream {
    Stdout,
    Stderr,
    Berth,
}

/// A terminal colour: one of the 256 palette entries, or 24-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Color {
    Palette(u8),
    Rgb(u8, u8, u8),
}

/// How a run of text is drawn, from the SGR sequences before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[ts(export)]
pub struct Style {
    pub fg: Option<Color>,
    pub bg: Option<Color>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub inverse: bool,
    pub strike: bool,
}

impl Style {
    pub fn is_plain(&self) -> bool {
        *self == Style::default()
    }
}

/// A styled run of a line's text: `start..end` in UTF-16 code units of [`Line::text`], so the
/// webview can slice the string directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub style: Style,
}

/// A line ready to draw: escape sequences removed, styles as spans, search matches marked.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Line {
    /// Stable position in the project's store; positions below the store's first have fallen off.
    #[ts(type = "number")]
    pub pos: u64,
    /// The engine's timestamp, RFC 3339 with nanoseconds (UTC).
    pub time: String,
    pub service: String,
    /// The container's name (`<project>-<service>-<n>`); empty on Berth's own lines.
    pub container: String,
    pub stream: Stream,
    pub level: Level,
    /// The text as shown: escape sequences removed, invisible and direction-changing characters
    /// neutralized (see `ansi::strip`), invalid UTF-8 as U+FFFD. Only its first bytes when the
    /// line is long (see `omitted`).
    pub text: String,
    /// Bytes of the line left out after `text`: a viewer gets a bounded prefix of a long line
    /// (search and export see all of it).
    pub omitted: u32,
    /// The line goes on in the container's next line: it was too long to keep whole, or its
    /// end had not come (output that does not end its lines, like a `\r` progress bar).
    pub partial: bool,
    /// Styled runs; empty when the line has no SGR styling.
    pub spans: Vec<Span>,
    /// The line is a JSON object (the viewer may pretty-print it).
    pub json: bool,
    /// Matches of the current search, in UTF-16 code units of `text`.
    pub matches: Vec<(u32, u32)>,
    /// What happened to the container, on Berth's marker lines ([`Stream::Berth`]).
    pub marker: Option<Marker>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

const NANOS: i64 = 1_000_000_000;

/// Parses an RFC 3339 timestamp (`2024-05-01T12:00:00.123456789Z`, or with a `+hh:mm` offset)
/// into nanoseconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter().all(u8::is_ascii_digit).then_some(())?;
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut i = 19;
    let mut frac = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = &s[start..i.min(start + 9)];
        if digits.is_empty() {
            return None;
        }
        frac = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        b'+' | b'-' if i + 6 == b.len() && b[i + 3] == b':' => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if b[i] == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    secs.checked_mul(NANOS)?.checked_add(frac)
}

/// Formats nanoseconds since the epoch as the engine does (`RFC3339NanoFixed`: always nine
/// fractional digits, UTC), which is what `docker compose logs -t` prints.
pub fn format_rfc3339(nanos: i64) -> String {
    let secs = nanos.div_euclid(NANOS);
    let frac = nanos.rem_euclid(NANOS);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let t = "2026-11-22T00:44:12.012345678Z";
        let n = parse_rfc3339(t).unwrap();
        assert_eq!(format_rfc3339(n), t);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(NANOS));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:01+01:00"), Some(NANOS));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z"), Some(NANOS / 2));
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(parse_rfc3339("2024-02-30T00:00:00"), None);
        assert_eq!(parse_rfc3339("not a time at all, no"), None);
    }
}

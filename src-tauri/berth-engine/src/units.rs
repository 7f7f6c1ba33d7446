//! Durations and sizes as compose files write them, in the units the Engine API takes.

/// A Go duration (`1m30s`, `500ms`, `1.5h`) in nanoseconds.
pub fn duration_ns(s: &str) -> Option<i64> {
    let mut rest = s.trim();
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    Some(total.round() as i64)
}

/// A byte size (`512m`, `1g`, `1024`, `1.5GB`) in bytes, as docker's `RAMInBytes` reads it.
pub fn bytes(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let value: f64 = s[..end].parse().ok()?;
    let scale: f64 = match s[end..].trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        _ => return None,
    };
    Some((value * scale) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_like_compose() {
        assert_eq!(duration_ns("1m30s"), Some(90_000_000_000));
        assert_eq!(duration_ns("500ms"), Some(500_000_000));
        assert_eq!(duration_ns("0"), Some(0));
        assert_eq!(duration_ns("5x"), None);
        assert_eq!(bytes("512m"), Some(512 * 1024 * 1024));
        assert_eq!(bytes("1GB"), Some(1024 * 1024 * 1024));
        assert_eq!(bytes("1024"), Some(1024));
    }
}

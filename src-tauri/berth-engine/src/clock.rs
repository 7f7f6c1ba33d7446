//! The wall clock, as the engine counts time: since the Unix epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the epoch; zero on a clock set before 1970.
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Whole seconds since the epoch, as the engine's `since` and `until` take them.
pub fn now_secs() -> u64 {
    since_epoch().as_secs()
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    since_epoch().as_millis() as i64
}

/// Nanoseconds since the epoch, as log timestamps count.
pub fn now_ns() -> i64 {
    since_epoch().as_nanos() as i64
}

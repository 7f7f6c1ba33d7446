//! What a marker line says happened to its container: the kind a lifecycle marker (see
//! `markers.rs`, which tells them from the feed) carries in the store and on the page.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::level::Level;

/// What a marker line says happened to its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Marker {
    Created,
    /// Created to replace the service's container (`up` after a change).
    Recreated,
    Started,
    /// Started again after ending by itself (a restart policy).
    Restarted,
    Healthy,
    Unhealthy,
    /// Ended by itself with code 0.
    Exited,
    /// Ended by itself with an error code.
    Crashed,
    /// Killed by the kernel for exceeding its memory limit.
    OutOfMemory,
    /// Stopped by the user (`stop`, `down`, `restart`).
    Stopped,
    /// Killed by the user (SIGKILL first).
    Killed,
}

const ALL: [Marker; 11] = [
    Marker::Created,
    Marker::Recreated,
    Marker::Started,
    Marker::Restarted,
    Marker::Healthy,
    Marker::Unhealthy,
    Marker::Exited,
    Marker::Crashed,
    Marker::OutOfMemory,
    Marker::Stopped,
    Marker::Killed,
];

impl Marker {
    /// Its number in a store entry's level byte (see `store::MARKER`).
    pub(crate) fn to_u8(self) -> u8 {
        ALL.iter()
            .position(|m| *m == self)
            .expect("every marker is listed") as u8
    }

    pub(crate) fn from_u8(n: u8) -> Marker {
        ALL.get(usize::from(n)).copied().unwrap_or(Marker::Exited)
    }

    /// The level its line is filtered at.
    pub fn level(self) -> Level {
        match self {
            Marker::Crashed | Marker::OutOfMemory | Marker::Unhealthy => Level::Error,
            Marker::Restarted | Marker::Killed => Level::Warn,
            _ => Level::Info,
        }
    }

    /// Whether it is news the user is notified of: the service went wrong by itself.
    pub fn is_alarm(self) -> bool {
        matches!(
            self,
            Marker::Crashed | Marker::OutOfMemory | Marker::Unhealthy
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_numbers_round_trip() {
        for m in ALL {
            assert_eq!(Marker::from_u8(m.to_u8()), m);
        }
    }
}

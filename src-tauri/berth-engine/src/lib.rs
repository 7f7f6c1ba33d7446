//! A compose project on a real Docker engine.
//!
//! This crate is the one async API that both `berthctl` and the desktop app drive: it connects to
//! the Docker Engine through bollard, converges a [`berth_compose`] project, and keeps the live
//! state, logs, health and stats of its services. It knows nothing of how any of it is drawn.

mod endpoint;
mod error;

pub use endpoint::{Engine, EngineVersion};
pub use error::{Error, Result};

//! Compose files in, a validated, normalized [`Project`] out.
//!
//! This crate reads compose files exactly as Docker Compose v2 (compose-go) does: discovery,
//! interpolation, merging, `include`/`extends`, normalization and validation. It knows nothing
//! of Docker and never blocks on anything but the files it reads, so both the engine and the
//! tests can use it without an engine.

mod canonical;
mod dotenv;
mod error;
mod interpolate;
mod merge;
mod node;
mod schema;
mod units;
mod yaml;

pub use error::{Error, Location};

//! The log hub: every container of a project followed into one bounded, searchable store, with
//! live subscribers for the viewer and `berthctl logs`.
//!
//! Lines are parsed once, on the way in ([`store::Store::push`]): escape sequences are removed
//! from the searchable text (the raw bytes are kept for exact output), the level is detected and
//! JSON objects are marked. Styled spans are rebuilt from the raw bytes only for the lines a
//! viewer asks for.

pub mod ansi;
pub mod export;
pub mod follow;
pub mod history;
pub mod hub;
pub mod level;
pub mod line;
pub mod marker;
pub mod markers;
pub mod query;
pub mod store;
pub(crate) mod wire;

pub use export::ExportOptions;
pub use follow::{FollowOptions, MAX_LINE, Origin, PARTIAL_WAIT, Record, follow, follow_feed};
pub use history::{HistoryOptions, HistoryStatus};
pub use hub::{Delivery, Hub, HubOptions};
pub use level::Level;
pub use line::{Color, Line, Span, Stream, Style, format_rfc3339, parse_rfc3339};
pub use marker::Marker;
pub use markers::follow_markers;
pub use query::{Filter, Matcher, Search, SearchMode, lines, lines_within, select, select_range};
pub use store::{DEFAULT_BUDGET, Source, Store};

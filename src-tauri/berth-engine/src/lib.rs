//! A compose project on a real Docker engine.
//!
//! This crate is the one async API that both `berthctl` and the desktop app drive: it connects to
//! the Docker Engine through bollard, converges a [`berth_compose`] project ([`Stack`]), and keeps
//! the live state of its services ([`StateHandle`]). It knows nothing of how any of it is drawn.

mod backoff;
pub mod clock;
mod container_state;
mod containers;
mod context;
mod contexts;
mod converge;
mod create;
mod dial;
mod endpoint;
mod error;
mod exec;
pub mod feed;
pub mod file_watch;
pub mod files;
mod hash;
mod images;
pub mod inspect;
pub mod labels;
mod limits;
pub mod logs;
pub mod names;
mod plan;
mod port_conflict;
pub mod ports;
pub mod probe;
mod progress;
mod project_args;
pub mod project_list;
mod projects;
mod resources;
mod session;
mod ssh;
mod stack;
mod state;
pub mod stats;
mod status;
mod subscription;
pub mod swarm;
mod tls;
mod wait;
mod watch;

pub use backoff::Backoff;
pub use berth_compose;
pub use container_state::{ContainerState, Health};
pub use containers::{Container, Publisher};
pub use contexts::{ContextInfo, contexts};
pub use converge::UpOptions;
pub use endpoint::{Engine, EngineChoice, EngineVersion};
pub use error::{Error, Result, StackError};
pub use exec::{Chunk, Exec, ExecInput, ExecOptions, ExecOutput, ExecProcess};
pub use feed::{Feed, FeedEvent};
pub use file_watch::FileWatch;
pub use hash::{network_hash, service_hash, volume_hash};
pub use images::PullPolicy;
pub use probe::{PortProbe, ProbeResult, Prober, ProberHandle};
pub use progress::{Progress, ProgressEvent, Resource};
pub use project_args::ProjectArgs;
pub use projects::{ProjectOrigin, ProjectSummary, project_origin, projects};
pub use session::{ActionGuard, Connection, Session, SessionOptions};
pub use stack::{DownOptions, RmOptions, Stack};
pub use state::{Change, ChangeKind, Desired, EngineState, ServiceState, Snapshot, StateHandle};
pub use stats::{Stats, StatsHandle, StatsHistory, StatsSample};
pub use status::{Problem, ServiceStatus, StackStatus};
pub use subscription::{AbortOnDrop, Subscription};
pub use tokio_util::sync::CancellationToken;
pub use watch::{WatchEvent, WatchEventKind, WatchOptions};

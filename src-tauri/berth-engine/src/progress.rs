//! What an operation is doing, as a typed event stream: berthctl renders it, the app forwards it.

use serde::Serialize;
use tokio::sync::mpsc;
use ts_rs::TS;

/// One step of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum ProgressEvent {
    /// A resource (`Container`, `Network`, `Volume`, `Image`, a Swarm `Service`…) changed state (`Creating`, `Started`…).
    Resource {
        resource: Resource,
        name: String,
        status: String,
    },
    /// One layer of an image pull.
    Layer {
        image: String,
        layer: String,
        status: String,
        #[ts(type = "number | null")]
        current: Option<i64>,
        #[ts(type = "number | null")]
        total: Option<i64>,
    },
    /// `service` waits for `dependency` to meet its `depends_on` condition
    /// (`service_healthy`, `service_completed_successfully`).
    Waiting {
        service: String,
        dependency: String,
        condition: String,
    },
    /// A line of a build's output.
    BuildOutput { service: String, line: String },
    /// Something the user should know that does not stop the operation.
    Warning { message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub enum Resource {
    Container,
    Network,
    Volume,
    Image,
    /// A Swarm stack's objects.
    Service,
    Secret,
    Config,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Where an operation reports its progress; a default sink drops everything.
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<mpsc::UnboundedSender<ProgressEvent>>);

impl Progress {
    /// A sink and the receiving end of its events.
    pub fn channel() -> (Progress, mpsc::UnboundedReceiver<ProgressEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Progress(Some(tx)), rx)
    }

    pub fn send(&self, event: ProgressEvent) {
        if let Some(tx) = &self.0 {
            // A receiver that went away no longer cares.
            let _ = tx.send(event);
        }
    }

    pub(crate) fn resource(&self, resource: Resource, name: &str, status: &str) {
        self.send(ProgressEvent::Resource {
            resource,
            name: name.to_owned(),
            status: status.to_owned(),
        });
    }

    pub(crate) fn container(&self, name: &str, status: &str) {
        self.resource(Resource::Container, name, status);
    }

    pub(crate) fn warn(&self, message: impl Into<String>) {
        self.send(ProgressEvent::Warning {
            message: message.into(),
        });
    }
}

//! One project's container feed: the engine's events about it, in one stream, for everything
//! that follows the project live (the state model, stats, the log follower, and through the
//! state model the probes). It lists the project's containers, then follows the events from the
//! moment before that listing, to the nanosecond: none is missed, and none the listing already
//! shows is replayed, which would show its subscribers an old state for a moment (a replayed
//! `start` before the `kill` that followed it). When the engine goes away, it retries with
//! [`Backoff`] and lists again.
//! It runs while someone is subscribed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{ContainerSummary, EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::sync::{broadcast, watch};

use crate::backoff::Backoff;
use crate::error::describe;
use crate::subscription::{AbortOnDrop, Demand, Subscription};
use crate::{Engine, clock, containers, labels};

/// What the feed says, in order.
#[derive(Debug, Clone)]
pub enum FeedEvent {
    /// Connected (again): the project's containers (one-offs too), listed after the moment the
    /// events that follow start from. Whatever a subscriber holds is to be rebuilt from it.
    Listed(Arc<Vec<ContainerSummary>>),
    /// An event of the project's containers, networks or volumes, or of its services' images.
    Event(Arc<EventMessage>),
    /// The engine went away (or never answered); the next attempt is in `retry`.
    Lost { error: String, retry: Duration },
}

/// A running feed; clones share it, and dropping the last stops it.
#[derive(Debug, Clone)]
pub struct Feed {
    engine: Engine,
    project: Arc<str>,
    tx: broadcast::Sender<FeedEvent>,
    demand: Demand,
    /// The services' images, as the project's files name them now.
    images: Arc<watch::Sender<Vec<String>>>,
    _task: Arc<AbortOnDrop>,
}

/// Events a slow subscriber may fall behind by before it is told it lagged (it then lists
/// again itself).
const CHANNEL: usize = 4096;

impl Feed {
    /// A feed of `project` on `engine`, following the images named `images` too (the
    /// services' images, whose events carry no project label). Nothing is asked of the engine
    /// before someone subscribes.
    pub fn spawn(engine: Engine, project: &str, images: Vec<String>) -> Feed {
        let tx = broadcast::channel(CHANNEL).0;
        let demand = Demand::new();
        let (images, followed) = watch::channel(images);
        let task = tokio::spawn(run(
            engine.clone(),
            project.to_owned(),
            followed,
            tx.clone(),
            demand.clone(),
        ));
        Feed {
            engine,
            project: project.into(),
            tx,
            demand,
            images: Arc::new(images),
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// Follows `images` from now on instead (the files were loaded again).
    pub fn set_images(&self, images: Vec<String>) {
        self.images.send_if_modified(|now| {
            let changed = *now != images;
            *now = images;
            changed
        });
    }

    /// Every event from now on; the feed runs while a subscription is alive.
    pub fn subscribe(&self) -> Subscription<FeedEvent> {
        Subscription::new(self.tx.subscribe(), self.demand.interest())
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn project(&self) -> &str {
        &self.project
    }
}

async fn run(
    engine: Engine,
    project: String,
    images: watch::Receiver<Vec<String>>,
    tx: broadcast::Sender<FeedEvent>,
    demand: Demand,
) {
    loop {
        demand.wanted().await;
        tokio::select! {
            () = demand.unwanted() => {}
            () = follow(&engine, &project, &images, &tx) => {}
        }
    }
}

/// Lists, follows the events until the stream breaks, waits, and starts over; never returns.
async fn follow(
    engine: &Engine,
    project: &str,
    images: &watch::Receiver<Vec<String>>,
    tx: &broadcast::Sender<FeedEvent>,
) {
    let mut backoff = Backoff::new();
    loop {
        let error = match listen(engine, project, images, tx, &mut backoff).await {
            Ok(()) => "the engine closed the event stream".to_owned(),
            Err(e) => describe(&e),
        };
        let retry = backoff.wait();
        tracing::debug!(%error, %project, "the feed lost the engine");
        // No subscriber is fine: the feed stops once the last one has gone.
        let _ = tx.send(FeedEvent::Lost { error, retry });
        tokio::time::sleep(retry).await;
    }
}

/// One connection: the listing, then the events until the engine ends them.
async fn listen(
    engine: &Engine,
    project: &str,
    images: &watch::Receiver<Vec<String>>,
    tx: &broadcast::Sender<FeedEvent>,
    backoff: &mut Backoff,
) -> Result<(), bollard::errors::Error> {
    let since = clock::since_epoch();
    let list = containers::list(engine, project).await?;
    backoff.reset();
    let _ = tx.send(FeedEvent::Listed(Arc::new(list)));
    let mut images = images.clone();
    let named = images.borrow_and_update().clone();
    let mut refs = image_refs(engine, &named).await;
    let mut events = engine.docker().events(Some(options(since)));
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { return Ok(()) };
                let event = event?;
                if concerns(&event, project, &refs) {
                    let _ = tx.send(FeedEvent::Event(Arc::new(event)));
                }
            }
            // Events meanwhile wait in the stream, and are matched against the new images.
            Ok(()) = images.changed() => {
                let named = images.borrow_and_update().clone();
                refs = image_refs(engine, &named).await;
            }
        }
    }
}

/// The images by name (pulls, tags) and by ID (untags, deletes).
async fn image_refs(engine: &Engine, images: &[String]) -> Vec<String> {
    let mut refs = images.to_vec();
    for image in images {
        if let Ok(Some(id)) = engine.docker().inspect_image(image).await.map(|i| i.id) {
            refs.push(id);
        }
    }
    refs
}

/// One request for everything: the engine ANDs filters of different kinds, and image events
/// carry no project label, so the project (and the images) are picked out here, as the engine
/// would have.
fn options(since: Duration) -> EventsOptions {
    let actions = WATCHED.iter().chain(&IMAGE_ACTIONS);
    let filters = HashMap::from([
        (
            "type".to_owned(),
            ["container", "network", "volume", "image"]
                .map(str::to_owned)
                .to_vec(),
        ),
        ("event".to_owned(), actions.map(|&a| a.to_owned()).collect()),
    ]);
    EventsOptions {
        since: Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos())),
        filters: Some(filters),
        ..Default::default()
    }
}

/// Whether `event` is of the project: labelled with it, or of one of its images (matched by ID
/// or name, with or without the tag, as the engine's `image` filter matches).
fn concerns(event: &EventMessage, project: &str, images: &[String]) -> bool {
    let Some(actor) = &event.actor else {
        return false;
    };
    let attributes = actor.attributes.as_ref();
    let attribute = |key: &str| attributes.and_then(|a| a.get(key)).map(String::as_str);
    if event.typ != Some(EventMessageTypeEnum::IMAGE) {
        return attribute(labels::PROJECT) == Some(project);
    }
    let id = actor.id.as_deref().unwrap_or_default();
    let name = attribute("name").unwrap_or_default();
    [id, name, untagged(id), untagged(name)]
        .iter()
        .any(|r| !r.is_empty() && images.iter().any(|i| i == r))
}

/// `name` without its `:tag` (a port in the registry's host is no tag).
fn untagged(name: &str) -> &str {
    match name.rfind(':') {
        Some(at) if !name.contains('@') && !name[at..].contains('/') => &name[..at],
        _ => name,
    }
}

/// The event actions that can change what the subscribers hold, of containers, networks and
/// volumes; the engine drops the rest before they are sent (health checks alone run an exec a
/// second, three events each). `health_status` also matches `health_status: healthy` and the
/// like.
const WATCHED: [&str; 19] = [
    "create",
    "start",
    "restart",
    "die",
    "kill",
    "oom",
    "stop",
    "pause",
    "unpause",
    "update",
    "rename",
    "destroy",
    "health_status",
    "connect",
    "disconnect",
    "mount",
    "unmount",
    "remove",
    "prune",
];

/// What can happen to an image.
const IMAGE_ACTIONS: [&str; 8] = [
    "pull", "push", "tag", "untag", "delete", "import", "load", "save",
];

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn event(typ: EventMessageTypeEnum, id: &str, attributes: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            actor: Some(EventActor {
                id: Some(id.to_owned()),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_project_is_picked_out_by_its_label_and_its_images_by_reference() {
        use EventMessageTypeEnum::*;
        let images = ["shop-web".to_owned(), "sha256:abc".to_owned()];
        let ours = event(CONTAINER, "c1", &[(labels::PROJECT, "shop")]);
        let theirs = event(CONTAINER, "c2", &[(labels::PROJECT, "other")]);
        let unlabelled = event(NETWORK, "n1", &[("name", "bridge")]);
        assert!(concerns(&ours, "shop", &images));
        assert!(!concerns(&theirs, "shop", &images));
        assert!(!concerns(&unlabelled, "shop", &images));
        let tagged = event(IMAGE, "sha256:def", &[("name", "shop-web:latest")]);
        let by_id = event(IMAGE, "sha256:abc", &[]);
        let other = event(IMAGE, "sha256:fff", &[("name", "redis:7")]);
        assert!(concerns(&tagged, "shop", &images));
        assert!(concerns(&by_id, "shop", &images));
        assert!(!concerns(&other, "shop", &images));
        assert_eq!(untagged("localhost:5000/web"), "localhost:5000/web");
        assert_eq!(untagged("localhost:5000/web:1"), "localhost:5000/web");
    }
}

//! Every compose project on an engine, kept current for the window's projects list: one
//! listing, then the engine's events of compose projects' containers (create, destroy, start,
//! die), each burst of them answered by one listing again. The listing is what `docker compose
//! ls -a` counts; the events only say when to take it again, so nothing is inferred from them.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::error::describe;
use crate::subscription::AbortOnDrop;
use crate::{Engine, ProjectSummary, clock, labels};

/// What changes the list: a project's container made, removed, started or ended. A stop's
/// `die` can come before the engine lists the container as exited (the engine tears its network
/// down in between); its `stop` comes once it is.
const ACTIONS: [&str; 5] = ["create", "destroy", "start", "die", "stop"];

/// Events closer together than this are one change (a stack of ten services coming up is one
/// listing, not ten).
const BURST: Duration = Duration::from_millis(50);

/// The list as last taken, or why it could not be.
pub type Listing = Result<Vec<ProjectSummary>, String>;

/// The projects on an engine, followed until dropped.
pub struct ProjectList {
    listing: watch::Receiver<Option<Listing>>,
    _task: AbortOnDrop,
}

impl ProjectList {
    /// Follows `engine`'s projects (on the current tokio runtime) until dropped.
    pub fn follow(engine: Engine) -> ProjectList {
        let (tx, listing) = watch::channel(None);
        let task = tokio::spawn(run(engine, tx));
        ProjectList {
            listing,
            _task: AbortOnDrop(task),
        }
    }

    /// The next listing (the first once taken); `None` once the follower is gone.
    pub async fn next(&mut self) -> Option<Listing> {
        self.listing.changed().await.ok()?;
        self.listing.borrow_and_update().clone()
    }
}

async fn run(engine: Engine, tx: watch::Sender<Option<Listing>>) {
    let mut backoff = Backoff::new();
    loop {
        let error = follow(&engine, &tx, &mut backoff)
            .await
            .err()
            .unwrap_or_else(|| "the engine closed the event stream".to_owned());
        tracing::debug!(%error, "the projects list lost the engine");
        tx.send_replace(Some(Err(error)));
        tokio::time::sleep(backoff.wait()).await;
    }
}

/// One connection: the listing, then one more after each burst of events, until the stream
/// ends (`Ok`) or fails (why).
async fn follow(
    engine: &Engine,
    tx: &watch::Sender<Option<Listing>>,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let list = || async {
        let listed = crate::projects(engine, true).await;
        listed.map_err(|e| e.to_string())
    };
    // From the moment before the listing: a change during it is listed again, never missed.
    let since = clock::since_epoch();
    let mut events = engine.docker().events(Some(options(since)));
    tx.send_replace(Some(Ok(list().await?)));
    backoff.reset();
    loop {
        let Some(event) = events.next().await else {
            return Ok(());
        };
        event.map_err(|e| describe(&e))?;
        // The rest of the burst, up to a quiet BURST.
        while let Ok(more) = tokio::time::timeout(BURST, events.next()).await {
            let Some(more) = more else { return Ok(()) };
            more.map_err(|e| describe(&e))?;
        }
        tx.send_replace(Some(Ok(list().await?)));
    }
}

fn options(since: Duration) -> EventsOptions {
    let filters = HashMap::from([
        ("type".to_owned(), vec!["container".to_owned()]),
        ("label".to_owned(), vec![labels::PROJECT.to_owned()]),
        (
            "event".to_owned(),
            ACTIONS.iter().map(|&a| a.to_owned()).collect(),
        ),
    ]);
    EventsOptions {
        since: Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos())),
        filters: Some(filters),
        ..Default::default()
    }
}

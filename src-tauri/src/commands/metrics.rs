//! Resource use and port probes for the services table, while the window is shown.

use std::sync::Arc;
use std::time::Instant;

use berth_engine::{PortProbe, StatsHistory, StatsSample};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use ts_rs::TS;

use super::{Berth, replace};
use crate::metrics::{self, Batcher};
use crate::session::Session;
use crate::view::StackView;

/// What the services table draws beside the state: resource use and port probes.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Metrics {
    /// Each container's recent samples, first.
    History { histories: Vec<StatsHistory> },
    /// New samples, batched when they are worth a redraw (`metrics::Batcher`).
    Samples { samples: Vec<StatsSample> },
    /// The probes of every published port, whenever one of them changes.
    Probes { probes: Vec<PortProbe> },
}

/// Streams stats and probes while the window wants them (it stops when hidden): the engine's
/// stats streams and the probes run only meanwhile.
#[tauri::command]
pub fn watch_metrics(berth: State<'_, Berth>, on_metrics: Channel<Metrics>) {
    let task = tauri::async_runtime::spawn(forward(berth.session(), berth.watch(), on_metrics));
    replace(&berth.metrics_feed, task);
}

/// Sends the stats history and probes once the engine answers, then new samples in batches and
/// every round of probes, until the window or the session is gone.
async fn forward(
    session: Arc<Session>,
    mut views: watch::Receiver<StackView>,
    on_metrics: Channel<Metrics>,
) {
    // The handles exist once the engine answers, which the view then says.
    let (stats, prober) = loop {
        if let Some(handles) = session.metrics() {
            break handles;
        }
        if views.changed().await.is_err() {
            return;
        }
    };
    drop((session, views));
    let (histories, mut samples) = stats.subscribe();
    let (probes, mut rounds) = prober.subscribe();
    let mut batch = Batcher::new(&histories, Instant::now());
    let _ = on_metrics.send(Metrics::History { histories });
    if !probes.is_empty() {
        let _ = on_metrics.send(Metrics::Probes { probes });
    }
    let mut tick = tokio::time::interval(metrics::CHECK);
    loop {
        tokio::select! {
            sample = samples.recv() => match sample {
                Ok(sample) => batch.push(sample),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            round = rounds.recv() => match round {
                Ok(probes) => { let _ = on_metrics.send(Metrics::Probes { probes }); }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            now = tick.tick() => if let Some(samples) = batch.take(now.into_std()) {
                let _ = on_metrics.send(Metrics::Samples { samples });
            },
        }
    }
}

/// Stops the metrics stream (the window is hidden).
#[tauri::command]
pub fn unwatch_metrics(berth: State<'_, Berth>) {
    if let Some(task) = berth.metrics_feed.lock().expect("feed lock").take() {
        task.abort();
    }
}

/// Probes a service's published port again (the user clicked its dot): probes otherwise run
/// only when a port appears, since each is a line in the service's own log.
#[tauri::command]
pub fn probe_again(berth: State<'_, Berth>, service: String, host_port: u16) {
    if let Some((_, prober)) = berth.session().metrics() {
        prober.probe_again(&service, host_port);
    }
}

//! Live feeds that cost the engine something (stats streams, probes) run only while someone
//! listens: each subscription holds an interest, and the producer waits for the first one and
//! stops when the last is dropped.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

/// How many subscriptions are alive; the producer side.
#[derive(Debug, Clone)]
pub(crate) struct Demand(Arc<watch::Sender<usize>>);

impl Demand {
    pub fn new() -> Demand {
        Demand(Arc::new(watch::channel(0).0))
    }

    /// Counts one more subscriber until the returned guard is dropped.
    pub fn interest(&self) -> Interest {
        self.0.send_modify(|n| *n += 1);
        Interest(self.clone())
    }

    /// Returns once someone is subscribed.
    pub async fn wanted(&self) {
        // The sender lives in `self`, so the channel cannot close while waiting.
        let _ = self.0.subscribe().wait_for(|n| *n > 0).await;
    }

    /// Returns once nobody is subscribed.
    pub async fn unwanted(&self) {
        let _ = self.0.subscribe().wait_for(|n| *n == 0).await;
    }
}

/// One subscriber's share of the demand.
#[derive(Debug)]
pub(crate) struct Interest(Demand);

impl Drop for Interest {
    fn drop(&mut self) {
        self.0.0.send_modify(|n| *n -= 1);
    }
}

/// A live feed of `T`; dropping it withdraws the subscriber's interest.
#[derive(Debug)]
pub struct Subscription<T> {
    rx: broadcast::Receiver<T>,
    _interest: Interest,
}

impl<T: Clone> Subscription<T> {
    pub(crate) fn new(rx: broadcast::Receiver<T>, interest: Interest) -> Subscription<T> {
        Subscription {
            rx,
            _interest: interest,
        }
    }

    /// The next item. A subscriber too slow to keep up gets `Lagged(n)` (n items skipped) and
    /// then continues with the oldest still held; `Closed` when the producer is gone.
    pub async fn recv(&mut self) -> Result<T, broadcast::error::RecvError> {
        self.rx.recv().await
    }
}

/// Aborts a background task when dropped: the one guard for every task that lives as long as a
/// handle to it (shared handles hold it in an `Arc`).
#[derive(Debug)]
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn demand_follows_the_subscriptions_alive() {
        let demand = Demand::new();
        let waiting = tokio::spawn({
            let demand = demand.clone();
            async move { demand.wanted().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let a = demand.interest();
        let b = demand.interest();
        waiting.await.unwrap();
        drop(a);
        let idle = tokio::spawn({
            let demand = demand.clone();
            async move { demand.unwanted().await }
        });
        tokio::task::yield_now().await;
        assert!(!idle.is_finished(), "one subscriber is still there");
        drop(b);
        idle.await.unwrap();
    }
}

//! `berthctl up` without `-d`: the services' logs as compose prints them until every attached
//! container has exited; Ctrl-C (here, or while `up` is still starting) stops the stack
//! gracefully, a second Ctrl-C kills it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use berth_engine::logs::{self, FollowOptions, Record};
use berth_engine::{CancellationToken, Container, Stack};
use tokio::signal::unix::Signal;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::logs::{Printer, short_name};
use crate::{Exit, render};

/// How long after a container's death its exit line waits for its last log lines, which the
/// log stream may deliver after the engine's `die` event.
const SETTLE: Duration = Duration::from_millis(200);

/// What to attach to and how to print it.
pub struct Attach {
    /// The services whose logs are printed and whose exits end the command.
    pub services: BTreeSet<String>,
    /// The services Ctrl-C stops.
    pub stop: Vec<String>,
    /// Nanoseconds since the epoch: lines from then on are printed.
    pub since: i64,
    pub prefix: bool,
    pub color: bool,
}

/// Prints the logs until every attached container has exited, or until Ctrl-C (`interrupts`,
/// caught since `up` began) has them [`shut_down`].
pub async fn run(stack: &Stack, attach: Attach, interrupts: &mut Signal) -> anyhow::Result<()> {
    let mut names: Vec<String> = stack
        .ps(true)
        .await?
        .iter()
        .filter(|c| attach.services.contains(&c.service) && !c.oneoff)
        .map(|c| short_name(&c.name, &c.service).to_owned())
        .collect();
    names.sort();
    println!("Attaching to {}", names.join(", "));
    let state = stack.watch();
    let (first, mut changes) = state.subscribe().await;
    // The first look is at the snapshot the subscription starts from, then one per change.
    let mut first = Some(first);
    let (tx, mut rx) = mpsc::channel::<Vec<Record>>(64);
    let cancel = CancellationToken::new();
    let reader = tokio::spawn({
        // The model's feed: one event stream for both.
        let feed = state.feed().clone();
        let options = FollowOptions {
            since: Some(attach.since),
            follow: true,
            services: attach.services.iter().cloned().collect(),
            ..Default::default()
        };
        let cancel = cancel.clone();
        async move { logs::follow_feed(&feed, options, tx, cancel).await }
    });
    let mut printer = Printer {
        prefix: attach.prefix,
        timestamps: false,
        color: attach.color && std::io::stdout().is_terminal(),
        grep: None,
        level: None,
        width: 0,
        services: HashMap::new(),
        out: std::io::stdout().lock(),
    };
    let restarts: HashMap<String, Option<String>> = attach
        .services
        .iter()
        .filter_map(|s| Some((s.clone(), stack.project().services.get(s)?.restart.clone())))
        .collect();
    let finished = |c: &Container| {
        let ended = c.state.ended();
        // The engine brings these back unless someone stopped them: not over yet.
        let comes_back = match restarts.get(&c.service).cloned().flatten().as_deref() {
            Some("always" | "unless-stopped") => true,
            Some(p) if p.starts_with("on-failure") => c.exit_code != 0,
            _ => false,
        };
        ended && (c.stop_requested || !comes_back)
    };

    let mut synced = false;
    // Containers seen, by id: whether their exit line is printed, or when it is due.
    let mut exits: BTreeMap<String, (Container, Option<Instant>)> = BTreeMap::new();
    let mut printed: BTreeSet<String> = BTreeSet::new();
    let interrupted = loop {
        let due = exits.values().filter_map(|(_, at)| *at).min();
        tokio::select! {
            batch = rx.recv() => match batch {
                Some(batch) => {
                    printer.print(&batch)?;
                    printer.out.flush()?;
                }
                None => break false,
            },
            snapshot = async {
                match first.take() {
                    Some(snapshot) => Ok(snapshot),
                    None => changes.recv().await.map(|_| state.snapshot()),
                }
            } => {
                let Ok(snapshot) = snapshot else {
                    break false;
                };
                let mine: Vec<Container> = snapshot
                    .services
                    .iter()
                    .filter(|(s, _)| attach.services.contains(*s))
                    .flat_map(|(_, s)| s.containers.iter().filter(|c| !c.oneoff).cloned())
                    .collect();
                synced |= snapshot.engine == berth_engine::EngineState::Available;
                if synced && mine.is_empty() {
                    break false;
                }
                // A container removed meanwhile (`docker rm`) is no longer waited for.
                exits.retain(|id, _| mine.iter().any(|c| c.id == *id));
                for c in mine {
                    let entry = exits.entry(c.id.clone()).or_insert((c.clone(), None));
                    if finished(&c) && !printed.contains(&c.id) && entry.1.is_none() {
                        entry.1 = Some(Instant::now() + SETTLE);
                    } else if !finished(&c) {
                        entry.1 = None;
                        printed.remove(&c.id);
                    }
                    entry.0 = c;
                }
                if synced && exits.keys().all(|id| printed.contains(id)) {
                    break false;
                }
            },
            () = sleep_until(due) => {
                let now = Instant::now();
                for (id, (c, at)) in &mut exits {
                    if at.is_some_and(|at| at <= now) {
                        *at = None;
                        printed.insert(id.clone());
                        printer.exited(&c.name, &c.service, c.exit_code)?;
                    }
                }
                printer.out.flush()?;
                if synced && exits.keys().all(|id| printed.contains(id)) {
                    break false;
                }
            },
            _ = interrupts.recv() => break true,
        }
    };
    cancel.cancel();
    drop(rx);
    drop(printer);
    let _ = reader.await.context("the log reader panicked")?;
    if !interrupted {
        return Ok(());
    }
    shut_down(stack, &attach.stop, interrupts).await
}

/// After a Ctrl-C, as compose: stops `services` gracefully, or kills them at a second Ctrl-C;
/// then ends the command with 130.
pub async fn shut_down(
    stack: &Stack,
    services: &[String],
    interrupts: &mut Signal,
) -> anyhow::Result<()> {
    println!("Gracefully Stopping... press Ctrl+C again to force");
    let (progress, drawn) = render::progress();
    let result = tokio::select! {
        result = stack.stop(services, &progress) => result,
        _ = interrupts.recv() => stack.kill(services, None, &progress).await,
    };
    drop(progress);
    let _ = drawn.await;
    result?;
    Err(Exit(130).into())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

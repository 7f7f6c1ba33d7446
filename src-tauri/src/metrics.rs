//! When resource samples go to the window. Each batch redraws the services' CPU and memory cells,
//! and in WebKitGTK any redraw costs a few milliseconds of CPU, so an idle stack's jitter must not
//! keep a visible window busy: a batch goes when something moved enough to see, or when the
//! figures on screen have grown old.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use berth_engine::{StatsHistory, StatsSample};

/// How often the pending samples are weighed: a real change shows within this.
pub const CHECK: Duration = Duration::from_secs(3);
/// The oldest the figures on screen get while nothing moves: the sparklines still advance.
pub const REFRESH: Duration = Duration::from_secs(30);
/// A CPU change worth a redraw, in percent of one CPU. Less is invisible in the sparklines (100 %
/// is their 14 px height) and is what an idle container's health checks jitter by.
const CPU_STEP: f64 = 1.0;
/// A memory change worth a redraw: the larger of these. Garbage collectors swing by less.
const MEMORY_STEP_BYTES: u64 = 4 << 20;
const MEMORY_STEP_FRACTION: f64 = 0.1;

/// The samples the window has not had yet, and the level of each container it shows.
pub struct Batcher {
    pending: Vec<StatsSample>,
    shown: HashMap<String, Level>,
    sent_at: Instant,
}

/// Where a container stands: CPU averaged over its last [`LEVEL_SAMPLES`] samples, so that one
/// spike (or the fall after it) is not a change, and its latest memory.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Level {
    cpu: f64,
    memory: u64,
}

/// Samples in a CPU level: those of one check at the engine's one a second.
const LEVEL_SAMPLES: usize = 3;

impl Batcher {
    /// Starts from what the window was just sent: each container's history.
    pub fn new(histories: &[StatsHistory], now: Instant) -> Batcher {
        Batcher {
            pending: Vec::new(),
            shown: levels(histories.iter().flat_map(|h| &h.samples)),
            sent_at: now,
        }
    }

    pub fn push(&mut self, sample: StatsSample) {
        self.pending.push(sample);
    }

    /// Every pending sample (the sparklines want them all) if a container's level has moved
    /// enough to see, or the window's figures are [`REFRESH`] old; otherwise nothing yet.
    pub fn take(&mut self, now: Instant) -> Option<Vec<StatsSample>> {
        if self.pending.is_empty() {
            return None;
        }
        let levels = levels(&self.pending);
        let due = now.duration_since(self.sent_at) >= REFRESH;
        if !due
            && !levels
                .iter()
                .any(|(id, l)| self.shown.get(id).is_none_or(|s| moved(s, l)))
        {
            return None;
        }
        self.sent_at = now;
        self.shown.extend(levels);
        Some(std::mem::take(&mut self.pending))
    }
}

/// Each container's level at the end of `samples` (oldest first).
fn levels<'a>(samples: impl IntoIterator<Item = &'a StatsSample>) -> HashMap<String, Level> {
    let mut recent: HashMap<&str, Vec<&StatsSample>> = HashMap::new();
    for s in samples {
        recent.entry(&s.container_id).or_default().push(s);
    }
    recent
        .into_iter()
        .map(|(id, all)| {
            let last = &all[all.len().saturating_sub(LEVEL_SAMPLES)..];
            let cpu = last.iter().map(|s| s.cpu_percent).sum::<f64>() / last.len() as f64;
            let memory = last[last.len() - 1].memory_bytes;
            (id.to_owned(), Level { cpu, memory })
        })
        .collect()
}

/// Whether the window showing `shown` should redraw for `now`.
fn moved(shown: &Level, now: &Level) -> bool {
    let memory_step = MEMORY_STEP_BYTES.max((shown.memory as f64 * MEMORY_STEP_FRACTION) as u64);
    (now.cpu - shown.cpu).abs() >= CPU_STEP || now.memory.abs_diff(shown.memory) >= memory_step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(container: &str, cpu: f64, memory_mib: u64) -> StatsSample {
        StatsSample {
            container_id: container.to_owned(),
            name: format!("p-{container}-1"),
            service: container.to_owned(),
            cpu_percent: cpu,
            memory_bytes: memory_mib << 20,
            ..StatsSample::default()
        }
    }

    fn history(container: &str, cpu: f64, memory_mib: u64) -> StatsHistory {
        StatsHistory {
            container_id: container.to_owned(),
            name: format!("p-{container}-1"),
            service: container.to_owned(),
            samples: vec![sample(container, cpu, memory_mib)],
        }
    }

    #[test]
    fn jitter_waits_for_the_refresh_and_then_goes_whole() {
        let t0 = Instant::now();
        let mut b = Batcher::new(&[history("db", 2.0, 100)], t0);
        b.push(sample("db", 2.6, 103));
        b.push(sample("db", 1.5, 97));
        assert_eq!(b.take(t0 + CHECK), None, "jitter alone redraws nothing");
        b.push(sample("db", 2.2, 101));
        let sent = b.take(t0 + REFRESH).expect("the refresh sends what waited");
        assert_eq!(sent.len(), 3, "every sample, for the sparkline");
        assert_eq!(b.take(t0 + REFRESH + CHECK), None, "nothing pending");
    }

    #[test]
    fn a_real_change_goes_at_the_next_check() {
        let t0 = Instant::now();
        let mut b = Batcher::new(&[history("db", 2.0, 100), history("web", 0.5, 20)], t0);
        b.push(sample("web", 0.6, 20));
        for _ in 0..3 {
            b.push(sample("db", 3.1, 100));
        }
        assert_eq!(
            b.take(t0 + CHECK).map(|s| s.len()),
            Some(4),
            "a CPU step of 1.1"
        );
        // Compared with what was sent, not with the history: 3.1 → 3.5 is jitter.
        b.push(sample("db", 3.5, 100));
        assert_eq!(b.take(t0 + 2 * CHECK), None);
        b.push(sample("db", 3.5, 111));
        assert!(b.take(t0 + 3 * CHECK).is_some(), "memory up 11 %");
    }

    #[test]
    fn one_spike_is_not_a_change_and_neither_is_its_fall() {
        let t0 = Instant::now();
        let mut b = Batcher::new(&[history("db", 2.0, 100)], t0);
        for cpu in [2.1, 4.0, 1.9] {
            b.push(sample("db", cpu, 100));
        }
        assert_eq!(b.take(t0 + CHECK), None, "a level of 2.67");
        for cpu in [2.0, 2.2, 1.8] {
            b.push(sample("db", cpu, 100));
        }
        assert_eq!(b.take(t0 + 2 * CHECK), None);
        for cpu in [3.0, 3.5, 3.2] {
            b.push(sample("db", cpu, 100));
        }
        assert!(
            b.take(t0 + 3 * CHECK).is_some(),
            "a level of 3.23, held for a check"
        );
    }

    #[test]
    fn memory_steps_are_relative_above_a_floor() {
        let t0 = Instant::now();
        let mut b = Batcher::new(&[history("small", 0.0, 2), history("big", 0.0, 1000)], t0);
        b.push(sample("small", 0.0, 5)); // 2 → 5 MiB: 150 %, but under the 4 MiB floor
        b.push(sample("big", 0.0, 1090)); // 9 %
        assert_eq!(b.take(t0 + CHECK), None);
        b.push(sample("big", 0.0, 1101));
        assert!(b.take(t0 + 2 * CHECK).is_some(), "10 % of 1000 MiB");
    }

    #[test]
    fn a_new_container_shows_at_once() {
        let t0 = Instant::now();
        let mut b = Batcher::new(&[], t0);
        assert_eq!(b.take(t0 + CHECK), None, "nothing to send");
        b.push(sample("web", 0.0, 10));
        assert!(b.take(t0 + CHECK).is_some());
    }
}

//! The wait between attempts: short at first, so a blip goes unnoticed, doubling up to a most
//! while the failure lasts. The engine's connection uses [`Backoff::new`]; probes of a port that
//! does not answer yet wait longer.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    first: Duration,
    most: Duration,
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(200);
    pub const MAX: Duration = Duration::from_secs(5);

    /// The engine's: [`Self::FIRST`] doubling up to [`Self::MAX`].
    pub fn new() -> Backoff {
        Backoff::between(Self::FIRST, Self::MAX)
    }

    /// Waits of `first`, doubling up to `most`.
    pub fn between(first: Duration, most: Duration) -> Backoff {
        Backoff {
            first,
            most,
            next: first,
        }
    }

    /// The wait before the next attempt; the one after it is twice as long, up to the most.
    pub fn wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (wait * 2).min(self.most);
        wait
    }

    /// It worked: the next failure waits the first wait again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_most_and_start_over_on_reset() {
        let mut b = Backoff::new();
        let waits: Vec<u128> = (0..7).map(|_| b.wait().as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.wait(), Backoff::FIRST);
    }
}

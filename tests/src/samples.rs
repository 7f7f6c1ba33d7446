//! Summaries of a benchmark's timings: one definition for every bench.

/// The nearest-rank percentile `p` (0–100) of `samples`.
pub fn percentile(samples: &[f64], p: usize) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

pub fn median(samples: &[f64]) -> f64 {
    percentile(samples, 50)
}

/// `p50 / p95 / max`, with `decimals` places.
pub fn spread(samples: &[f64], decimals: usize) -> String {
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (p50, p95) = (percentile(samples, 50), percentile(samples, 95));
    format!("{p50:.decimals$} / {p95:.decimals$} / {max:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let samples: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(percentile(&samples, 50), 10.0);
        assert_eq!(percentile(&samples, 95), 19.0);
        assert_eq!(percentile(&samples, 100), 20.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(spread(&samples, 1), "10.0 / 19.0 / 20.0");
    }
}

//! How long to wait before retrying a transient network failure.

use std::time::Duration;

/// How long to wait before retry number `attempt` (1: the first retry) of
/// a transient network failure, for downloads and git fetches alike: 250 ms
/// doubling each time, capped at 10 s however large `--retries` is (the
/// math saturates instead of overflowing), less up to a fifth as jitter so
/// runs sharing a flaky server do not retry in lockstep. The jitter comes
/// from the clock's nanoseconds: unpredictable enough, no RNG needed.
pub fn retry_delay(attempt: u32) -> Duration {
    const FIRST_MS: u64 = 250;
    const MAX_MS: u64 = 10_000;
    let base = 1u64
        .checked_shl(attempt.saturating_sub(1))
        .and_then(|factor| FIRST_MS.checked_mul(factor))
        .map_or(MAX_MS, |ms| ms.min(MAX_MS));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.subsec_nanos());
    let jitter = u64::from(nanos) % (base / 5 + 1);
    Duration::from_millis(base - jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_then_stays_capped() {
        let within = |attempt: u32, low: u64, high: u64| {
            let delay = retry_delay(attempt);
            assert!(
                delay >= Duration::from_millis(low) && delay <= Duration::from_millis(high),
                "attempt {attempt}: {delay:?}"
            );
        };
        within(1, 200, 250);
        within(2, 400, 500);
        within(3, 800, 1000);
        within(6, 6400, 8000);
        // Where `250 * 2u64.pow(attempt - 1)` overflowed (attempt 64, 65) or
        // panicked in debug builds, and beyond.
        for attempt in [7, 30, 63, 64, 65, 1000, u32::MAX] {
            within(attempt, 8000, 10_000);
        }
        within(0, 200, 250);
    }
}

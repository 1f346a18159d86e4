//! Trying a network operation again after a transient failure: the one
//! loop of git fetches and downloads (cargo's `with_retry`), and how long
//! it waits.

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

/// Runs `attempt` until it succeeds, fails for good, or `retries` retries
/// were made. `spurious` says whether a failure is worth trying again (a
/// connection refused, a timeout, a 5xx), as the warning's text; `None`:
/// it is not (a 404, a refused login), and it is returned at once.
/// Saturating: `--retries 4294967295` means "keep trying".
pub fn with_retry<T, E>(
    retries: u32,
    mut attempt: impl FnMut() -> Result<T, E>,
    spurious: impl Fn(&E) -> Option<String>,
) -> Result<T, E> {
    let mut made: u32 = 0;
    loop {
        made = made.saturating_add(1);
        match attempt() {
            Err(err) if made <= retries => match spurious(&err) {
                Some(what) => {
                    let wait = retry_delay(made);
                    tracing::warn!("{what}; trying again in {wait:?}");
                    std::thread::sleep(wait);
                }
                None => return Err(err),
            },
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_retry_tries_again_only_what_is_spurious_and_only_so_often() {
        let count = |retries: u32, spurious: bool| {
            let mut calls = 0;
            let result: Result<(), &str> = with_retry(
                retries,
                || {
                    calls += 1;
                    Err("down")
                },
                |_| spurious.then(|| "down".to_owned()),
            );
            assert_eq!(result, Err("down"));
            calls
        };
        assert_eq!(count(0, true), 1);
        assert_eq!(count(2, true), 3);
        assert_eq!(count(2, false), 1);
        let mut calls = 0;
        let done = with_retry(
            3,
            || {
                calls += 1;
                if calls < 2 {
                    Err("once")
                } else {
                    Ok(calls)
                }
            },
            |e: &&str| Some(e.to_string()),
        );
        assert_eq!(done, Ok(2));
    }

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

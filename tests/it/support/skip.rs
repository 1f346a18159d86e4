//! The one way a test skips. Locally a missing tool or fixture skips the
//! test with a message on stderr; under `CI=true` (or `CI=1`) it fails the
//! test, so CI can never go green by skipping (`.ci/run` sets `CI=true` and
//! also fails on any `SKIPPED` line in the output).

/// `Some(why)` names what is missing. Returns true when the test may go on;
/// prints `SKIPPED: …` and returns false when it must stop; panics in CI.
///
///     if !support::require(missing_fixture()) { return; }
pub fn require(missing: Option<String>) -> bool {
    let why = missing.as_deref().unwrap_or_default();
    match decide(missing.is_some(), in_ci()) {
        Verdict::Go => true,
        Verdict::Skip => {
            eprintln!("SKIPPED: {why}");
            false
        }
        Verdict::Fail => panic!("CI must run this test, but {why}"),
    }
}

/// `require` for a probe that finds a thing or says why not: the thing, or
/// `None` once the test has been skipped (locally) or failed (in CI).
///
///     let Some(python) = support::skip::available(find_python()) else { return; };
pub fn available<T>(found: Result<T, String>) -> Option<T> {
    match found {
        Ok(thing) => Some(thing),
        Err(why) => {
            require(Some(why));
            None
        }
    }
}

/// Whether this run is CI's (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Go,
    Skip,
    Fail,
}

/// The policy itself, apart from the environment and the output, so it
/// can be tested (a test printing the skip line would trip `.ci/run`).
fn decide(missing: bool, in_ci: bool) -> Verdict {
    match (missing, in_ci) {
        (false, _) => Verdict::Go,
        (true, false) => Verdict::Skip,
        (true, true) => Verdict::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::{decide, Verdict};

    #[test]
    fn nothing_missing_goes_on_locally_and_in_ci() {
        assert_eq!(decide(false, false), Verdict::Go);
        assert_eq!(decide(false, true), Verdict::Go);
    }

    #[test]
    fn something_missing_skips_locally_and_fails_in_ci() {
        assert_eq!(decide(true, false), Verdict::Skip);
        assert_eq!(decide(true, true), Verdict::Fail);
    }
}

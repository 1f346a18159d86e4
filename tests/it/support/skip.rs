//! The one way a test skips. Locally a missing tool or fixture skips the
//! test with a message on stderr; under `CI=true` (or `CI=1`) it fails the
//! test, so CI can never go green by skipping.

/// `Some(why)` names what is missing. Returns true when the test may go on;
/// prints `SKIPPED: …` and returns false when it must stop; panics in CI.
///
///     if !support::require(missing_fixture()) { return; }
pub fn require(missing: Option<String>) -> bool {
    let Some(why) = missing else {
        return true;
    };
    assert!(!in_ci(), "CI must run this test, but {why}");
    eprintln!("SKIPPED: {why}");
    false
}

/// Whether this run is CI's (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

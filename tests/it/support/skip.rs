//! The one way a test skips. Locally a missing tool or fixture skips the
//! test with a message on stderr; under `CI=true` (or `CI=1`) it fails the
//! test, so CI can never go green by skipping (`.ci/run` sets `CI=true` and
//! also fails on any `SKIPPED` line in the output).

/// `Some(why)` names what is missing. Returns true when the test may go on;
/// prints `SKIPPED: …` and returns false when it must stop; panics in CI.
///
///     if !support::require(missing_fixture()) { return; }
pub fn require(missing: Option<String>) -> bool {
    decide(missing, in_ci())
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

/// The policy itself, apart from the environment so it can be tested.
fn decide(missing: Option<String>, in_ci: bool) -> bool {
    let Some(why) = missing else {
        return true;
    };
    assert!(!in_ci, "CI must run this test, but {why}");
    eprintln!("SKIPPED: {why}");
    false
}

#[cfg(test)]
mod tests {
    use super::decide;

    #[test]
    fn nothing_missing_goes_on_locally_and_in_ci() {
        assert!(decide(None, false));
        assert!(decide(None, true));
    }

    #[test]
    fn something_missing_skips_locally() {
        assert!(!decide(Some("no tool".into()), false));
    }

    #[test]
    #[should_panic(expected = "CI must run this test, but no tool")]
    fn something_missing_fails_in_ci() {
        decide(Some("no tool".into()), true);
    }
}

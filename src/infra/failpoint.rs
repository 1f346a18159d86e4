//! Named pauses for fault-injection tests: with `LAVA_FAILPOINT=NAME`, the
//! run stops at that point (saying so on stderr) long enough to be killed,
//! or, with `LAVA_FAILPOINT_RELEASE=FILE`, until that file exists (then it
//! goes on). Points: `fetch`, `extract`, `env`, `before-switch`, `append`
//! (halfway through a history line).

use std::time::{Duration, Instant};

use crate::core::env_vars::{LAVA_FAILPOINT, LAVA_FAILPOINT_RELEASE};

/// Whether the run is to pause at `name`.
pub fn armed(name: &str) -> bool {
    std::env::var(LAVA_FAILPOINT).is_ok_and(|wanted| wanted == name)
}

pub fn hit(name: &str) {
    if !armed(name) {
        return;
    }
    eprintln!("failpoint {name} reached");
    let release = std::env::var_os(LAVA_FAILPOINT_RELEASE).map(std::path::PathBuf::from);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        if release.as_ref().is_some_and(|file| file.exists()) {
            eprintln!("failpoint {name} released");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

//! Named pauses for fault-injection tests: with `LAVA_FAILPOINT=NAME`, the
//! run stops at that point (saying so on stderr) long enough to be killed.
//! Points: `fetch`, `extract`, `env`, `before-switch`.

use crate::env_vars::LAVA_FAILPOINT;

pub fn hit(name: &str) {
    if std::env::var(LAVA_FAILPOINT).is_ok_and(|wanted| wanted == name) {
        eprintln!("failpoint {name} reached");
        std::thread::sleep(std::time::Duration::from_secs(300));
    }
}

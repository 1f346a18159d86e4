//! SIGINT/SIGTERM: remove what this run was building, then exit 130/143.
//! The instance lock goes with the process. A `kill -9` cannot be caught;
//! its leftovers (`.tmp-*` names) are removed by the next run instead.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use signal_hook::consts::{SIGINT, SIGTERM};

/// Paths to remove if the process is interrupted.
static IN_PROGRESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub fn install_handlers() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        tracing::debug!("cannot install signal handlers");
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            eprintln!("lava-deploy: {name} received; removing the unfinished release and stopping");
            let paths = IN_PROGRESS.lock().map(|p| p.clone()).unwrap_or_default();
            for path in paths {
                let _ = crate::infra::fs::remove_path(&path);
            }
            std::process::exit(128 + signal);
        }
    });
}

/// Marks `path` as unfinished work of this run.
pub fn register(path: &Path) {
    if let Ok(mut paths) = IN_PROGRESS.lock() {
        paths.push(path.to_owned());
    }
}

/// `path` is finished (committed or already removed).
pub fn unregister(path: &Path) {
    if let Ok(mut paths) = IN_PROGRESS.lock() {
        paths.retain(|p| p != path);
    }
}

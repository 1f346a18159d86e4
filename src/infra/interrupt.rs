//! SIGINT/SIGTERM: stop the installer processes this run started, remove
//! what it was building, then exit 130/143. The instance lock goes with the
//! process. A `kill -9` cannot be caught; its leftovers (`.tmp-*` names)
//! are removed by the next run instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Paths to remove if the process is interrupted.
static IN_PROGRESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Installer children running now. Each leads its own process group (its
/// pid is the group id), so the group takes whatever it started too.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// What to do last when interrupted (the history's line of the command),
/// given the signal's name; at most one, taken by whoever comes first.
type LastWord = Box<dyn FnOnce(&str) + Send>;
static LAST_WORD: Mutex<Option<LastWord>> = Mutex::new(None);

/// How long stopped children get to exit on SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// A poisoned lock still holds the right list: the handler must not give up.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
            // Held until exit, so no installer can start from here on, and
            // stopped first: a child still writing into the staged release
            // would race its removal (and outlive this run).
            let children = lock(&CHILDREN);
            stop_groups(&children);
            let paths = lock(&IN_PROGRESS).clone();
            for path in paths {
                let _ = crate::infra::fs::remove_path(&path);
            }
            if let Some(last_word) = lock(&LAST_WORD).take() {
                last_word(name);
            }
            std::process::exit(128 + signal);
        }
    });
}

/// SIGTERM to each process group, SIGKILL to those still there after
/// [`GRACE`].
pub fn stop_groups(groups: &[u32]) {
    let signal_group = |group: u32, signal: libc::c_int| {
        let Ok(pgid) = libc::pid_t::try_from(group) else {
            return false;
        };
        // SAFETY: kill(2) with a negative pid signals that process group;
        // no memory is involved.
        unsafe { libc::kill(-pgid, signal) == 0 }
    };
    for &group in groups {
        signal_group(group, libc::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    let alive = || groups.iter().copied().filter(|&g| signal_group(g, 0));
    while alive().next().is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for group in alive().collect::<Vec<_>>() {
        signal_group(group, libc::SIGKILL);
    }
}

/// Spawns `cmd` as the leader of a new process group, registered so an
/// interrupt stops it (and its own children) before the unfinished release
/// is removed. Keep the guard until the child has been waited for: it
/// unregisters the child when dropped.
pub fn spawn_child(cmd: &mut Command) -> std::io::Result<(Child, ChildGuard)> {
    use std::os::unix::process::CommandExt;
    // Spawned under the lock: the handler cannot miss a child that has
    // started but is not yet registered.
    let mut children = lock(&CHILDREN);
    let child = cmd.process_group(0).spawn()?;
    let pid = child.id();
    children.push(pid);
    Ok((child, ChildGuard(pid)))
}

/// Unregisters a child spawned by [`spawn_child`] when dropped.
#[must_use = "the child is unregistered when the guard drops"]
pub struct ChildGuard(u32);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        lock(&CHILDREN).retain(|&pid| pid != self.0);
    }
}

/// Sets what an interrupt does last, after the unfinished work is removed
/// (replacing what was set).
pub fn set_last_word(last_word: LastWord) {
    *lock(&LAST_WORD) = Some(last_word);
}

/// Takes back what [`set_last_word`] set: `false` when an interrupt took
/// it first (it is running it now, and the process is about to exit).
pub fn take_last_word() -> bool {
    lock(&LAST_WORD).take().is_some()
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

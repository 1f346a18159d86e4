//! Exclusive OS file locks: the kernel drops them when the process dies, so
//! they never go stale. Lock files are kept where nothing ever deletes them
//! (a lock on a file that another run unlinked would lock nothing).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fs_err as fs;

/// How long to wait for a lock another process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wait {
    /// Fail at once.
    #[default]
    No,
    For(Duration),
    Forever,
}

/// Held while it lives; dropping it releases the lock.
#[derive(Debug)]
pub struct HeldLock {
    _file: std::fs::File,
}

/// Someone else holds the lock, and waiting did not change that.
#[derive(Debug)]
pub struct Held {
    /// What the holder wrote into the lock file ("pid 123 running `upgrade` since …").
    pub holder: String,
}

/// Takes the lock file `path`, writing `holder` into it for whoever finds
/// it busy. `Ok(Err(Held))` when another process holds it after `wait`.
pub fn lock_exclusive(
    path: &Path,
    holder: &str,
    wait: Wait,
    mut on_wait: impl FnMut(&str),
) -> Result<std::result::Result<HeldLock, Held>> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let mut file = file.into_parts().0;
    let started = Instant::now();
    let mut said_waiting = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        let current = std::fs::read_to_string(path).unwrap_or_default();
        let current = current.trim().to_owned();
        let keep_waiting = match wait {
            Wait::No => false,
            Wait::Forever => true,
            Wait::For(limit) => started.elapsed() < limit,
        };
        if !keep_waiting {
            return Ok(Err(Held { holder: current }));
        }
        if !said_waiting {
            on_wait(&current);
            said_waiting = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    file.set_len(0)
        .and_then(|()| file.write_all(holder.as_bytes()))
        .with_context(|| format!("cannot write lock file {}", path.display()))?;
    Ok(Ok(HeldLock { _file: file }))
}

/// Holds an exclusive lock on one cache entry (`<entry>.lock`), waiting for
/// other runs that hold it. Released when dropped or when the process dies.
pub fn lock_entry(entry: &Path) -> Result<std::fs::File> {
    let mut lock_path = entry.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    if let Some(parent) = lock_path.parent() {
        fs::create_dir_all(parent)?;
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)?
        .into_parts()
        .0;
    file.lock()
        .with_context(|| format!("cannot lock cache entry {}", entry.display()))?;
    Ok(file)
}

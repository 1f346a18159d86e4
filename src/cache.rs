//! The shared cache under `$ROOT/cache`: one directory per kind of entry,
//! each name carrying its format version, entries made complete beside
//! their place and renamed in, and per-entry locks for concurrent runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Written last into an entry built in place (a git mirror): proves it is whole.
pub const COMPLETE_MARKER: &str = ".lava-complete";

/// Bump when the layout of a cache kind changes; old entries are then ignored.
const FORMAT_VERSION: &str = "v1";

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Self {
        Cache { root }
    }

    /// `cache/<kind>-v1`.
    pub fn dir(&self, kind: &str) -> PathBuf {
        self.root.join(format!("{kind}-{FORMAT_VERSION}"))
    }
}

/// A directory name for a URL: readable tail plus a hash of the whole URL.
pub fn entry_name(url: &str) -> String {
    let tail: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(40)
        .collect();
    let hash = hex::encode(Sha256::digest(url.as_bytes()));
    let tail = tail.trim_start_matches('.');
    if tail.is_empty() {
        hash[..16].to_owned()
    } else {
        format!("{tail}-{}", &hash[..16])
    }
}

/// A unique temporary name beside `path`, on the same filesystem so that the
/// final `rename` is atomic.
pub fn temp_sibling(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    path.with_file_name(format!(
        ".tmp-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Removes `.tmp-*` entries of `dir` left by runs that died (their pid,
/// part of the name, no longer exists). Entries of live runs are kept.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(names) = crate::util::dir_names(dir) else {
        return;
    };
    for name in names.iter().filter(|n| n.starts_with(".tmp-")) {
        let pid = name.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            tracing::debug!(
                "removing {} left by a run that died",
                dir.join(name).display()
            );
            let _ = crate::layout::remove_path(&dir.join(name));
        }
    }
}

/// Holds an exclusive lock on one cache entry (`<entry>.lock`), waiting for
/// other runs that hold it. Released when dropped or when the process dies.
pub fn lock_entry(entry: &Path) -> Result<fs::File> {
    let mut lock_path = entry.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    if let Some(parent) = lock_path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open cache lock {}", lock_path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock cache entry {}", entry.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_readable_and_distinct() {
        let a = entry_name("https://git.example.org/lava/lava-server.git");
        assert!(a.starts_with("lava-server-"), "{a}");
        assert_ne!(
            a,
            entry_name("https://other.example.org/lava/lava-server.git")
        );
        assert!(entry_name("/").len() == 16);
    }
}

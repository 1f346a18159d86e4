//! The shared cache under `$ROOT/cache`: one directory per kind of entry,
//! each name carrying its format version, entries made complete beside
//! their place and renamed in, and per-entry locks for concurrent runs.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Written last into an entry built in place (a git mirror): proves it is whole.
pub const COMPLETE_MARKER: &str = ".lava-complete";

/// The kinds of entries in the cache, each in its own directory whose name
/// carries the kind's format version: when what an entry means changes,
/// the version is bumped and old entries are simply never looked at again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Git mirrors, one per remote URL. v2: mirrors of network URLs are
    /// shallow and hold only the refs that were asked for (v1 held every
    /// branch and tag with full history), so a v1 mirror is not a v2 one.
    Git,
    /// Verified archives, named by their sha256.
    Downloads,
    /// Resolutions of fully pinned python package sets (uv).
    Resolutions,
    /// uv's own cache.
    Uv,
    /// pip's own cache.
    Pip,
}

impl Bucket {
    /// Directories of earlier format versions whose entries can seed new
    /// ones (after checking them): never written, never trusted as they are.
    fn previous_dir_names(self) -> &'static [&'static str] {
        match self {
            Bucket::Git => &["git-v1"],
            _ => &[],
        }
    }

    /// `<kind>-v<version>`, the bucket's directory name.
    fn dir_name(self) -> &'static str {
        match self {
            Bucket::Git => "git-v2",
            Bucket::Downloads => "downloads-v1",
            Bucket::Resolutions => "resolutions-v1",
            Bucket::Uv => "uv-v1",
            Bucket::Pip => "pip-v1",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Self {
        Cache { root }
    }

    pub fn bucket(&self, bucket: Bucket) -> PathBuf {
        self.root.join(bucket.dir_name())
    }

    /// The directories of the bucket's earlier format versions, newest first.
    pub fn previous_buckets(&self, bucket: Bucket) -> Vec<PathBuf> {
        bucket
            .previous_dir_names()
            .iter()
            .map(|name| self.root.join(name))
            .collect()
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

/// Removes `.tmp-*` entries of `dir` left by runs that died (their pid,
/// part of the name, no longer exists). Entries of live runs are kept.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(names) = crate::infra::fs::dir_names(dir) else {
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
            let _ = crate::infra::fs::remove_path(&dir.join(name));
        }
    }
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

//! One instance on disk: its record, its releases, the `current` switch,
//! pruning and its lock.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fs_err as fs;

use super::{INSTANCE_RECORD, LOCK_FILE};
use crate::core::error::{Error, Result};
use crate::core::lock::LockFile;
use crate::core::names::{release_number, InstanceName, ReleaseName};
use crate::core::record::InstanceRecord;
use crate::core::service::Shared;
use crate::infra::fs::{remove_path, sync_dir, TEMP_PREFIX};
use crate::infra::lock::{lock_exclusive, HeldLock, Wait};

/// Paths of one instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: InstanceName,
    pub dir: PathBuf,
    /// `$ROOT/locks/<name>.lock`: outside `dir`, never deleted.
    pub(super) lock_path: PathBuf,
}

/// Held while a command changes an instance; dropping it releases the lock.
#[derive(Debug)]
pub struct InstanceLock {
    _held: HeldLock,
}

impl Instance {
    pub fn record_path(&self) -> PathBuf {
        self.dir.join(INSTANCE_RECORD)
    }
    pub fn local_dir(&self) -> PathBuf {
        self.dir.join("local")
    }
    pub fn code_dir(&self) -> PathBuf {
        self.dir.join("code")
    }
    /// State kept across releases (`[shared]`).
    pub fn shared_dir(&self) -> PathBuf {
        self.dir.join("shared")
    }
    /// `<release>.log`: the output of each release's hooks.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }
    pub fn current_link(&self) -> PathBuf {
        self.code_dir().join("current")
    }
    pub fn release_dir(&self, release: &ReleaseName) -> PathBuf {
        self.code_dir().join(release.as_str())
    }

    pub fn exists(&self) -> bool {
        self.record_path().is_file()
    }

    pub fn read_record(&self) -> anyhow::Result<InstanceRecord> {
        let path = self.record_path();
        let text = fs::read_to_string(&path)?;
        InstanceRecord::parse(&text)
            .with_context(|| format!("{} is not a valid instance record", path.display()))
    }

    pub fn write_record(&self, record: &InstanceRecord) -> anyhow::Result<()> {
        crate::infra::fs::write_atomic(&self.record_path(), record.to_toml().as_bytes())
    }

    /// The lock of a complete release.
    pub fn read_lock(&self, release: &ReleaseName) -> anyhow::Result<LockFile> {
        let path = self.release_dir(release).join(LOCK_FILE);
        let text = fs::read_to_string(&path)?;
        LockFile::parse(&text)
            .with_context(|| format!("{} is not a valid lava.lock", path.display()))
    }

    /// The release `current` points at, if it points at a complete release.
    pub fn current_release(&self) -> Option<ReleaseName> {
        let target = std::fs::read_link(self.current_link()).ok()?;
        let name = ReleaseName::parse(target.file_name()?.to_str()?).ok()?;
        self.release_dir(&name)
            .join(LOCK_FILE)
            .is_file()
            .then_some(name)
    }

    /// The current release and its lock.
    pub fn current_lock(&self) -> anyhow::Result<Option<(ReleaseName, LockFile)>> {
        let Some(release) = self.current_release() else {
            return Ok(None);
        };
        let lock = self.read_lock(&release)?;
        Ok(Some((release, lock)))
    }

    /// Complete releases (those with a `lava.lock`), oldest first.
    pub fn releases(&self) -> anyhow::Result<Vec<ReleaseName>> {
        let mut releases: Vec<ReleaseName> = self
            .release_dir_names()?
            .iter()
            .filter_map(|name| ReleaseName::parse(name).ok())
            .filter(|name| self.release_dir(name).join(LOCK_FILE).is_file())
            .collect();
        releases.sort();
        Ok(releases)
    }

    /// The complete release the user means by `wanted`: its full name or
    /// its number (`3` for `0003-…`); else an error listing the releases.
    pub fn find_release(&self, wanted: &str) -> Result<ReleaseName> {
        let releases = self.releases()?;
        releases
            .iter()
            .find(|r| {
                r.as_str() == wanted
                    || r.split_once('-')
                        .is_some_and(|(n, _)| n.trim_start_matches('0') == wanted)
            })
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = releases.iter().map(ReleaseName::as_str).collect();
                crate::invalid!(
                    "instance {} has no release {wanted:?}; its releases: {}",
                    self.name,
                    names.join(", ")
                )
            })
    }

    fn release_dir_names(&self) -> anyhow::Result<Vec<String>> {
        crate::infra::fs::dir_names_if_exists(&self.code_dir())
    }

    /// The name for a new release: the next number (never reused, even when
    /// an earlier attempt failed) and the manifest's description.
    pub fn next_release_name(
        &self,
        recorded_max: u32,
        description: &str,
    ) -> anyhow::Result<ReleaseName> {
        let on_disk = self
            .release_dir_names()?
            .iter()
            .filter_map(|name| release_number(name.strip_prefix(TEMP_PREFIX).unwrap_or(name)))
            .max()
            .unwrap_or(0);
        Ok(ReleaseName::new(on_disk.max(recorded_max) + 1, description))
    }

    /// Removes what interrupted runs left behind: temporary names and
    /// releases that never got their `lava.lock` (built in place, killed
    /// before they were complete). Only called under the instance lock.
    pub fn remove_leftovers(&self) -> anyhow::Result<()> {
        for name in self.release_dir_names()? {
            let incomplete = release_number(&name).is_some()
                && !self.code_dir().join(&name).join(LOCK_FILE).is_file();
            if name.starts_with(TEMP_PREFIX) || incomplete {
                let path = self.code_dir().join(&name);
                tracing::info!("removing leftover {} of an interrupted run", path.display());
                remove_path(&path)?;
            }
        }
        Ok(())
    }

    /// Creates what `[shared]` lists under `shared/` (files empty), keeping
    /// whatever is there already.
    pub fn prepare_shared(&self, shared: &Shared) -> anyhow::Result<()> {
        let root = self.shared_dir();
        fs::create_dir_all(&root)?;
        for dir in &shared.dirs {
            fs::create_dir_all(root.join(dir))?;
        }
        for file in &shared.files {
            let path = root.join(file);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            if std::fs::symlink_metadata(&path).is_err() {
                fs::write(&path, b"")?;
            }
        }
        Ok(())
    }

    /// Links every shared path into `release_dir` at the same relative
    /// path, by relative symlinks (`etc -> ../../shared/etc`). A path under
    /// a linked directory is already there through its parent.
    pub fn link_shared(&self, release_dir: &Path, shared: &Shared) -> anyhow::Result<()> {
        let linked_parent = |path: &str| {
            shared
                .dirs
                .iter()
                .any(|d| path != d && path.starts_with(&format!("{d}/")))
        };
        for path in shared.dirs.iter().chain(&shared.files) {
            if linked_parent(path) {
                continue;
            }
            let link = release_dir.join(path);
            if let Some(parent) = link.parent() {
                fs::create_dir_all(parent)?;
            }
            // code/<release>/<path> climbs its own depth plus code/<release>.
            let depth = path.split('/').count() + 1;
            let target = PathBuf::from("../".repeat(depth)).join("shared").join(path);
            fs::os::unix::fs::symlink(&target, &link)?;
        }
        Ok(())
    }

    /// Removes `code/current`: the instance then serves nothing (a first
    /// release that failed its check has nothing to return to).
    pub fn clear_current(&self) -> anyhow::Result<()> {
        remove_path(&self.current_link())
    }

    /// Points `code/current` at `release` atomically, and makes sure the
    /// instance-level `bin` link exists.
    pub fn switch_current(&self, release: &ReleaseName) -> anyhow::Result<()> {
        crate::infra::fs::swap_symlink(Path::new(release.as_str()), &self.current_link())
            .with_context(|| {
                format!(
                    "cannot switch {} to {release}",
                    self.current_link().display()
                )
            })?;
        sync_dir(&self.code_dir());
        let link = self.dir.join("bin");
        let target = Path::new("code/current/bin");
        if std::fs::read_link(&link).ok().as_deref() != Some(target) {
            crate::infra::fs::swap_symlink(target, &link)?;
        }
        Ok(())
    }

    /// Removes releases beyond the newest `keep`, never `current` nor the
    /// release before it (what `rollback` would use), and any numbered
    /// directory that never became a complete release. Returns what went.
    pub fn prune(&self, keep: usize) -> anyhow::Result<Vec<String>> {
        let releases = self.releases()?;
        let current = self.current_release();
        let mut keepers: Vec<&ReleaseName> = releases.iter().rev().take(keep).collect();
        if let Some(current) = &current {
            if let Some(index) = releases.iter().position(|r| r == current) {
                keepers.push(&releases[index]);
                if index > 0 {
                    keepers.push(&releases[index - 1]);
                }
            }
        }
        let mut removed = Vec::new();
        for name in self.release_dir_names()? {
            if release_number(&name).is_none() || keepers.iter().any(|k| **k == name.as_str()) {
                continue;
            }
            if current.as_ref().is_some_and(|c| *c == name.as_str()) {
                continue;
            }
            remove_path(&self.code_dir().join(&name))?;
            removed.push(name);
        }
        removed.sort();
        Ok(removed)
    }

    /// Takes the instance's exclusive lock, or fails with [`Error::Busy`]
    /// naming the holder (after waiting as `wait` says).
    pub fn lock(&self, command: &str, wait: Wait) -> Result<InstanceLock> {
        let holder = format!(
            "pid {} running `{command}` since {}",
            std::process::id(),
            crate::core::time::rfc3339(std::time::SystemTime::now())
        );
        let outcome = lock_exclusive(&self.lock_path, &holder, wait, |current| {
            tracing::info!("instance {} is busy ({current}); waiting", self.name)
        })?;
        match outcome {
            Ok(held) => Ok(InstanceLock { _held: held }),
            Err(busy) => Err(Error::Busy {
                instance: self.name.to_string(),
                holder: if busy.holder.is_empty() {
                    "another lava-deploy holds its lock".to_owned()
                } else {
                    busy.holder
                },
            }),
        }
    }
}

//! The on-disk layout of the contract: root, instances, releases, the atomic
//! `current` switch and the per-instance lock.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::Busy;
use crate::invalid;

/// File names inside an instance and a release.
pub const INSTANCE_RECORD: &str = "instance.toml";
pub const LOCK_FILE: &str = "lava.lock";
const INSTANCE_LOCK: &str = ".lava-deploy.lock";
const TEMP_PREFIX: &str = ".tmp-";

/// A validated instance name: 1–64 of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceName(String);

impl InstanceName {
    pub fn parse(name: &str) -> Result<Self> {
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if name.is_empty()
            || name.len() > 64
            || !ok_chars
            || name.starts_with('.')
            || name.starts_with('-')
        {
            return Err(invalid!(
                "invalid instance name {name:?}: use 1 to 64 characters of letters, digits, \
                 '.', '_' and '-', not starting with '.' or '-' (for example \"testinstance\")"
            ));
        }
        Ok(InstanceName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for InstanceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The root directory: `cache/` and `instances/`.
#[derive(Debug, Clone)]
pub struct Root {
    pub path: PathBuf,
}

impl Root {
    pub fn new(path: PathBuf) -> Self {
        Root { path }
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.path.join("cache")
    }

    pub fn instances_dir(&self) -> PathBuf {
        self.path.join("instances")
    }

    pub fn instance(&self, name: &InstanceName) -> Instance {
        Instance {
            name: name.clone(),
            dir: self.instances_dir().join(name.as_str()),
        }
    }

    /// Creates `cache/` and `instances/`, turning a permission problem into
    /// advice to pick another root.
    pub fn ensure_writable(&self) -> Result<()> {
        for dir in [self.cache_dir(), self.instances_dir()] {
            if let Err(err) = fs::create_dir_all(&dir) {
                return Err(self.unwritable(&dir, err));
            }
        }
        let probe = self
            .instances_dir()
            .join(format!(".write-test-{}", std::process::id()));
        match fs::write(&probe, b"") {
            Ok(()) => {
                let _ = fs::remove_file(&probe);
                Ok(())
            }
            Err(err) => Err(self.unwritable(&self.instances_dir(), err)),
        }
    }

    fn unwritable(&self, dir: &Path, err: std::io::Error) -> anyhow::Error {
        anyhow::anyhow!(
            "cannot write to {} ({err}): the root {} is not writable by this user; \
             pass --root DIR or set LAVA_ROOT=DIR to deploy somewhere you can write",
            dir.display(),
            self.path.display()
        )
    }

    /// Names of the instances that exist (directories with an instance record).
    pub fn instance_names(&self) -> Result<Vec<InstanceName>> {
        let dir = self.instances_dir();
        Ok(crate::util::dir_names_if_exists(&dir)?
            .iter()
            .filter_map(|name| InstanceName::parse(name).ok())
            .filter(|name| dir.join(name.as_str()).join(INSTANCE_RECORD).is_file())
            .collect())
    }
}

/// Paths of one instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: InstanceName,
    pub dir: PathBuf,
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
    pub fn current_link(&self) -> PathBuf {
        self.code_dir().join("current")
    }
    pub fn release_dir(&self, release: &str) -> PathBuf {
        self.code_dir().join(release)
    }

    pub fn exists(&self) -> bool {
        self.record_path().is_file()
    }

    /// The release `current` points at, if it points at a complete release.
    pub fn current_release(&self) -> Option<String> {
        let target = fs::read_link(self.current_link()).ok()?;
        let name = target.file_name()?.to_str()?.to_owned();
        self.release_dir(&name)
            .join(LOCK_FILE)
            .is_file()
            .then_some(name)
    }

    /// Complete releases (those with a `lava.lock`), oldest first.
    pub fn releases(&self) -> Result<Vec<String>> {
        let mut releases: Vec<String> = self
            .release_dir_names()?
            .into_iter()
            .filter(|name| release_number(name).is_some())
            .filter(|name| self.release_dir(name).join(LOCK_FILE).is_file())
            .collect();
        releases.sort();
        Ok(releases)
    }

    fn release_dir_names(&self) -> Result<Vec<String>> {
        crate::util::dir_names_if_exists(&self.code_dir())
    }

    /// The name for a new release: the next number (never reused, even when
    /// an earlier attempt failed) and the manifest's description.
    pub fn next_release_name(&self, recorded_max: u32, description: &str) -> Result<String> {
        let on_disk = self
            .release_dir_names()?
            .iter()
            .filter_map(|name| release_number(name.strip_prefix(TEMP_PREFIX).unwrap_or(name)))
            .max()
            .unwrap_or(0);
        let number = on_disk.max(recorded_max) + 1;
        Ok(format!("{number:04}-{}", sanitize_description(description)))
    }

    /// Where a release is assembled before it is renamed into place.
    pub fn temp_release_dir(&self, release: &str) -> PathBuf {
        self.code_dir().join(format!("{TEMP_PREFIX}{release}"))
    }

    /// Removes what interrupted runs left behind: temporary release
    /// directories and symlinks. Only called under the instance lock.
    pub fn remove_leftovers(&self) -> Result<()> {
        for name in self.release_dir_names()? {
            if name.starts_with(TEMP_PREFIX) {
                let path = self.code_dir().join(&name);
                tracing::info!("removing leftover {} of an interrupted run", path.display());
                remove_path(&path)?;
            }
        }
        Ok(())
    }

    /// Points `code/current` at `release` atomically: a new symlink under a
    /// temporary name, renamed over the old one. Also makes sure the
    /// instance-level `bin` link exists.
    pub fn switch_current(&self, release: &str) -> Result<()> {
        let code = self.code_dir();
        let temp = code.join(format!("{TEMP_PREFIX}current-{}", std::process::id()));
        let _ = fs::remove_file(&temp);
        std::os::unix::fs::symlink(release, &temp)
            .with_context(|| format!("cannot create symlink {}", temp.display()))?;
        fs::rename(&temp, self.current_link()).with_context(|| {
            format!(
                "cannot switch {} to {release}",
                self.current_link().display()
            )
        })?;
        sync_dir(&code);
        self.ensure_bin_link()
    }

    fn ensure_bin_link(&self) -> Result<()> {
        let link = self.dir.join("bin");
        let target = Path::new("code/current/bin");
        if fs::read_link(&link).ok().as_deref() == Some(target) {
            return Ok(());
        }
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}bin-{}", std::process::id()));
        let _ = fs::remove_file(&temp);
        std::os::unix::fs::symlink(target, &temp)
            .with_context(|| format!("cannot create symlink {}", temp.display()))?;
        fs::rename(&temp, &link).with_context(|| format!("cannot create {}", link.display()))
    }

    /// Removes releases beyond the newest `keep`, never `current` nor the
    /// release before it (what `rollback` would use), and any numbered
    /// directory that never became a complete release. Returns what went.
    pub fn prune(&self, keep: usize) -> Result<Vec<String>> {
        let releases = self.releases()?;
        let current = self.current_release();
        let mut keepers: Vec<&String> = releases.iter().rev().take(keep).collect();
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
            if release_number(&name).is_none() || keepers.contains(&&name) {
                continue;
            }
            if current.as_deref() == Some(name.as_str()) {
                continue;
            }
            remove_path(&self.release_dir(&name))?;
            removed.push(name);
        }
        removed.sort();
        Ok(removed)
    }

    /// Takes the instance's exclusive lock, or fails with [`Busy`] naming the
    /// holder (after waiting `wait` if given: `Some(None)` waits for good).
    /// The lock is an OS file lock: the kernel drops it when the process
    /// dies, so it never goes stale.
    pub fn lock(
        &self,
        command: &str,
        wait: Option<Option<std::time::Duration>>,
    ) -> Result<InstanceLock> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let path = self.dir.join(INSTANCE_LOCK);
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
        let started = std::time::Instant::now();
        let mut said_waiting = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(err)) => {
                    return Err(err).with_context(|| format!("cannot lock {}", path.display()))
                }
            }
            let holder = fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim().to_owned();
            let keep_waiting = match wait {
                None => false,
                Some(None) => true,
                Some(Some(limit)) => started.elapsed() < limit,
            };
            if keep_waiting {
                if !said_waiting {
                    tracing::info!("instance {} is busy ({holder}); waiting", self.name);
                    said_waiting = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
                continue;
            }
            return Err(anyhow::Error::new(Busy {
                instance: self.name.to_string(),
                holder: if holder.is_empty() {
                    "another lava-deploy holds its lock".to_owned()
                } else {
                    holder
                },
            }));
        }
        file.set_len(0)?;
        write!(
            file,
            "pid {} running `{command}` since {}",
            std::process::id(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        )
        .with_context(|| format!("cannot write lock file {}", path.display()))?;
        Ok(InstanceLock { _file: file })
    }
}

/// Held while a command changes an instance; dropping it releases the lock.
#[derive(Debug)]
pub struct InstanceLock {
    _file: fs::File,
}

/// The number of a release directory name `NNNN-description`.
pub fn release_number(name: &str) -> Option<u32> {
    let (number, _) = name.split_once('-')?;
    if number.len() < 4 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

/// Keeps a description usable as part of a directory name.
fn sanitize_description(description: &str) -> String {
    let cleaned: String = description
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '.' || c == '-').to_owned();
    if cleaned.is_empty() {
        "release".to_owned()
    } else {
        cleaned
    }
}

/// Removes a file, symlink or directory tree; a missing path is fine.
pub fn remove_path(path: &Path) -> Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    };
    result.with_context(|| format!("cannot remove {}", path.display()))
}

/// Writes a file atomically: a temporary file beside it, renamed over it.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", temp.path().display()))?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Best effort: makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) {
    if let Ok(file) = fs::File::open(dir) {
        let _ = file.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        for good in ["testinstance", "a", "lab-1.prod_2", &"x".repeat(64)] {
            assert!(InstanceName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "-x",
            "a b",
            &"x".repeat(65),
            "é",
        ] {
            assert!(InstanceName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn release_numbers() {
        assert_eq!(release_number("0003-2012.07"), Some(3));
        assert_eq!(release_number("12345-x"), Some(12345));
        assert_eq!(release_number("current"), None);
        assert_eq!(release_number(".tmp-0001-x"), None);
        assert_eq!(sanitize_description("2012.07 final/x"), "2012.07_final_x");
        assert_eq!(sanitize_description("..."), "release");
    }
}

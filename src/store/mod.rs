//! The store: the on-disk layout of the contract. The root holds `cache/`,
//! `instances/`, `locks/` and `removed/` (the histories of removed
//! instances); an instance holds its record, `history.jsonl`, `local/`,
//! `shared/`, `logs/` and `code/` with one directory per release and the
//! `current` symlink that is switched atomically.

pub mod history;
mod instance;
mod secrets;

use std::path::{Path, PathBuf};

use anyhow::Result;
use fs_err as fs;

pub use instance::{Instance, InstanceLock};

use crate::core::names::InstanceName;

/// File names inside an instance and a release.
pub const INSTANCE_RECORD: &str = "instance.toml";
pub const LOCK_FILE: &str = "lava.lock";

/// The root directory: `cache/`, `instances/` and `locks/`.
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

    /// Instance locks live here, not inside the instances: a failed install
    /// deletes its instance directory and `remove` renames it away, and a
    /// lock file must never be deleted while someone may be waiting on it.
    pub fn locks_dir(&self) -> PathBuf {
        self.path.join("locks")
    }

    pub fn instance(&self, name: &InstanceName) -> Instance {
        Instance {
            name: name.clone(),
            dir: self.instances_dir().join(name.as_str()),
            lock_path: self.locks_dir().join(format!("{name}.lock")),
        }
    }

    /// Creates `cache/`, `instances/` and `locks/`, turning a permission
    /// problem into advice to pick another root.
    pub fn ensure_writable(&self) -> Result<()> {
        for dir in [self.cache_dir(), self.instances_dir(), self.locks_dir()] {
            if let Err(err) = std::fs::create_dir_all(&dir) {
                return Err(self.unwritable(&dir, err));
            }
        }
        let probe = self
            .instances_dir()
            .join(format!(".write-test-{}", std::process::id()));
        match std::fs::write(&probe, b"") {
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
        Ok(crate::infra::fs::dir_names_if_exists(&dir)?
            .iter()
            .filter_map(|name| InstanceName::parse(name).ok())
            .filter(|name| dir.join(name.as_str()).join(INSTANCE_RECORD).is_file())
            .collect())
    }
}

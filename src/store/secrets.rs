//! An instance's secrets on disk: `instances/<name>/secrets` (TOML, mode
//! 0600) and `secrets.key` beside it (the instance's random key for the
//! hashes its locks keep, 0600). Both outside every release; an instance
//! directory may hold only these before its first install.

use std::path::PathBuf;

use anyhow::Context as _;
use fs_err as fs;

use super::Instance;
use crate::core::secrets::SecretValues;
use crate::infra::fs::{random_bytes, write_atomic_private, TEMP_PREFIX};

/// File names inside an instance.
pub const SECRETS_FILE: &str = "secrets";
pub const SECRETS_KEY_FILE: &str = "secrets.key";

impl Instance {
    pub fn secrets_path(&self) -> PathBuf {
        self.dir.join(SECRETS_FILE)
    }

    fn secrets_key_path(&self) -> PathBuf {
        self.dir.join(SECRETS_KEY_FILE)
    }

    /// The instance's secrets (none when it has no secrets file).
    pub fn read_secrets(&self) -> anyhow::Result<SecretValues> {
        let path = self.secrets_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SecretValues::default())
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        };
        SecretValues::parse(&text).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))
    }

    /// Replaces the secrets file (created 0600, written atomically). The
    /// caller holds the instance lock.
    pub fn write_secrets(&self, secrets: &SecretValues) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir)?;
        write_atomic_private(&self.secrets_path(), secrets.to_toml().as_bytes())
    }

    /// The key of the secrets' hashes, made on first use (under the lock).
    pub fn secrets_hash_key(&self) -> anyhow::Result<Vec<u8>> {
        let path = self.secrets_key_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => hex::decode(text.trim())
                .with_context(|| format!("{} is not a hex key", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes(32)?;
                fs::create_dir_all(&self.dir)?;
                write_atomic_private(&path, format!("{}\n", hex::encode(&key)).as_bytes())?;
                Ok(key)
            }
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Whether the instance directory holds nothing but its secrets (set
    /// before the first install): such an instance is not installed.
    pub fn holds_only_secrets(&self) -> anyhow::Result<bool> {
        let names = crate::infra::fs::dir_names_if_exists(&self.dir)?;
        Ok(names
            .iter()
            .all(|n| n == SECRETS_FILE || n == SECRETS_KEY_FILE || n.starts_with(TEMP_PREFIX)))
    }

    /// Removes everything of the instance but its secrets: what a first
    /// install that failed leaves when the secrets were set before it.
    pub fn remove_all_but_secrets(&self) -> anyhow::Result<()> {
        for name in crate::infra::fs::dir_names_if_exists(&self.dir)? {
            if name != SECRETS_FILE && name != SECRETS_KEY_FILE {
                crate::infra::fs::remove_path(&self.dir.join(name))?;
            }
        }
        Ok(())
    }
}

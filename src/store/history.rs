//! `instances/<name>/history.jsonl`: the deploy history, appended under
//! the instance lock and never rewritten (`core::history` is its format),
//! and the copies `remove` keeps in `$ROOT/removed/`.

use std::path::PathBuf;

use super::{Instance, Root};
use crate::core::history::{History, HistoryEntry};

/// The history's file name inside an instance.
pub const HISTORY_FILE: &str = "history.jsonl";

impl Instance {
    pub fn history_path(&self) -> PathBuf {
        self.dir.join(HISTORY_FILE)
    }

    /// Appends one entry. Only under the instance lock, and only to an
    /// instance that exists.
    pub fn append_history(&self, entry: &HistoryEntry) -> anyhow::Result<()> {
        crate::infra::fs::append_line(&self.history_path(), entry.to_line().as_bytes())
    }

    /// The history as it stands; none yet when the file is not there.
    pub fn read_history(&self) -> anyhow::Result<History> {
        read(&self.history_path())
    }
}

/// A history file read; missing is empty.
pub fn read(path: &std::path::Path) -> anyhow::Result<History> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(History::parse(&String::from_utf8_lossy(&bytes))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
        Err(err) => {
            Err(anyhow::Error::new(err)
                .context(format!("cannot read the history {}", path.display())))
        }
    }
}

impl Root {
    /// Where `remove` keeps the records of removed instances.
    pub fn removed_dir(&self) -> PathBuf {
        self.path.join("removed")
    }

    /// The kept histories of removed instances called `name`, oldest first.
    pub fn kept_histories(&self, name: &crate::core::names::InstanceName) -> Vec<PathBuf> {
        let prefix = format!("{name}-");
        let mut kept: Vec<PathBuf> = crate::infra::fs::dir_names_if_exists(&self.removed_dir())
            .unwrap_or_default()
            .into_iter()
            .filter(|file| {
                // `<name>-YYYYMMDDHHMMSSZ.history.jsonl`, not another name's.
                let stamp = file
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(".history.jsonl"));
                stamp.is_some_and(|stamp| {
                    stamp.len() == 15
                        && stamp.ends_with('Z')
                        && stamp[..14].bytes().all(|b| b.is_ascii_digit())
                })
            })
            .map(|file| self.removed_dir().join(file))
            .collect();
        kept.sort();
        kept
    }

    /// Copies an instance's history to `removed/<name>-<time>.history.jsonl`
    /// before the instance goes; returns that path (`None`: no history).
    pub fn keep_history(&self, instance: &Instance, time: &str) -> anyhow::Result<Option<PathBuf>> {
        let source = instance.history_path();
        let bytes = match std::fs::read(&source) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(anyhow::Error::new(err)
                    .context(format!("cannot read the history {}", source.display())))
            }
        };
        let dir = self.removed_dir();
        fs_err::create_dir_all(&dir)?;
        let path = dir.join(format!("{}-{time}.history.jsonl", instance.name));
        crate::infra::fs::write_atomic(&path, &bytes)?;
        crate::infra::fs::sync_dir(&dir);
        Ok(Some(path))
    }
}

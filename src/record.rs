//! `instance.toml`: what an instance follows and the history of its releases.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::layout::{release_number, write_atomic};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InstanceRecord {
    pub name: String,
    /// The manifest the instance follows.
    pub source: SourceRecord,
    /// Every release built, oldest first (including ones later pruned).
    #[serde(default, rename = "release")]
    pub releases: Vec<ReleaseEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct SourceRecord {
    /// `URL#REF` of the manifest branch, or `builtin`.
    pub branch: String,
    /// The manifest file chosen by the operator; absent: the default rule
    /// (`lava.toml`, else `buildout.cfg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReleaseEntry {
    pub name: String,
    pub created: String,
    /// The command that built it.
    pub command: String,
    pub manifest_commit: String,
    pub manifest_file: String,
}

impl InstanceRecord {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid instance record", path.display()))
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = format!(
            "# instance.toml: what this instance follows, written by lava-deploy.\n{}",
            toml::to_string_pretty(self).expect("an instance record is TOML")
        );
        write_atomic(path, text.as_bytes())
    }

    /// The highest release number ever used, so numbers are never reused.
    pub fn max_release_number(&self) -> u32 {
        self.releases
            .iter()
            .filter_map(|r| release_number(&r.name))
            .max()
            .unwrap_or(0)
    }
}

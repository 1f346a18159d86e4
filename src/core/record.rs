//! `instance.toml`: what an instance follows and the history of its releases.

use serde::{Deserialize, Serialize};

use super::names::ReleaseName;

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
    pub name: ReleaseName,
    pub created: String,
    /// The command that built it.
    pub command: String,
    pub manifest_commit: String,
    pub manifest_file: String,
}

impl InstanceRecord {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# instance.toml: what this instance follows, written by lava-deploy.\n{}",
            toml::to_string_pretty(self).expect("an instance record is TOML")
        )
    }

    /// The highest release number ever used, so numbers are never reused.
    pub fn max_release_number(&self) -> u32 {
        self.releases
            .iter()
            .map(|r| r.name.number())
            .max()
            .unwrap_or(0)
    }
}

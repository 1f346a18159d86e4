//! `instance.toml`: what an instance follows and the history of its releases.

use serde::{Deserialize, Serialize};

use super::names::ReleaseName;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InstanceRecord {
    pub name: String,
    /// The manifest the instance follows.
    pub source: SourceRecord,
    /// The highest release number handed out, also to attempts that failed
    /// before they became a release: numbers are never reused.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_release_number: u32,
    /// The `setup` hooks ran (once, before the first release).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub setup_done: bool,
    /// A switch whose `post-switch` and `check` have not finished yet: set
    /// before `current` moves, cleared when the deployment is over. Found
    /// set by a later command, it means that run was killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingSwitch>,
    /// Every release built, oldest first (including ones later pruned).
    #[serde(default, rename = "release")]
    pub releases: Vec<ReleaseEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PendingSwitch {
    /// The release `current` was switched to.
    pub release: ReleaseName,
    /// Where it came from (what a rollback returns to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<ReleaseName>,
    /// The command that switched, and when.
    pub command: String,
    pub started: String,
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
    /// The allowed-signers file (absolute) the manifest's signature is
    /// checked against on every install, upgrade, plan and rebuild;
    /// absent: manifests need no signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<String>,
    /// Revoked keys (absolute path of a KRL or key list), with `signers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
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
    /// [`crate::core::lock::LockFile::build_id`] of its lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// Why it is not serving: its `post-switch` or `check` failed and the
    /// instance was rolled back. Never a rollback target; `upgrade` does not
    /// build the same lock again unless told to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
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

    pub fn entry_mut(&mut self, release: &ReleaseName) -> Option<&mut ReleaseEntry> {
        self.releases.iter_mut().find(|r| &r.name == release)
    }

    /// Why `release` failed, if it did.
    pub fn failure_of(&self, release: &ReleaseName) -> Option<&str> {
        self.releases
            .iter()
            .find(|r| &r.name == release)
            .and_then(|r| r.failed.as_deref())
    }

    /// The failed release that had this build, if any.
    pub fn failed_build(&self, build_id: &str) -> Option<&ReleaseEntry> {
        self.releases
            .iter()
            .rev()
            .find(|r| r.failed.is_some() && r.build_id.as_deref() == Some(build_id))
    }

    /// The highest release number ever used, so numbers are never reused.
    pub fn max_release_number(&self) -> u32 {
        self.releases
            .iter()
            .map(|r| r.name.number())
            .chain([self.last_release_number])
            .max()
            .unwrap_or(0)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

//! `lava.lock`: the fully resolved pins of one release, and the comparison
//! that decides whether an upgrade builds anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::PythonSettings;
use super::names::ComponentName;
use super::service::Service;
use super::trust::ManifestSignature;

pub const LOCK_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockFile {
    pub version: u32,
    pub manifest: LockedManifest,
    #[serde(default, skip_serializing_if = "PythonSettings::is_empty")]
    pub python: PythonSettings,
    #[serde(default)]
    pub components: BTreeMap<ComponentName, LockedComponent>,
    /// Components replaced by a directory under `local/`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<ComponentName, LockedOverride>,
    /// `[shared]`, `[environment]` and `[hooks]`: how the release runs.
    #[serde(default, skip_serializing_if = "Service::is_empty")]
    pub service: Service,
    /// What the python installer put into `env/` (filled in by the build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<LockedEnvironment>,
}

/// A directory under `local/` standing in for a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedOverride {
    /// The entry's name under `local/`.
    pub dir: String,
    /// Where it really is (symlinks resolved).
    pub path: String,
    /// How it was recognised: python project name, git origin or directory name.
    pub matched_by: String,
    /// HEAD of the checkout, when it is a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// Uncommitted changes in the checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
}

impl LockedOverride {
    /// `local/<dir>` with the checkout's state, one line.
    pub fn describe(&self) -> String {
        let mut text = format!("local/{}", self.dir);
        if let Some(head) = &self.head {
            text.push_str(&format!(" at {head:.12}"));
        }
        if self.dirty == Some(true) {
            text.push_str(" (dirty)");
        }
        text
    }
}

/// The release's Python environment as installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedEnvironment {
    /// `uv` or `pip`.
    pub installer: String,
    /// Every installed package, by normalized name.
    #[serde(default)]
    pub packages: BTreeMap<String, LockedPackage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// The installed artifact's hash (pip's report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The hashes of the version's artifacts, one of which was installed (uv).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
    /// Built from a component's source tree (`install = "python"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_tree: bool,
    /// Chosen by the installer, not pinned by the manifest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub picked: bool,
}

/// Where the manifest came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedManifest {
    /// The branch spec (`URL#REF`) or `builtin`.
    pub source: String,
    pub commit: String,
    pub describe: String,
    /// The manifest file in the branch.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub allow_unpinned: bool,
    #[serde(default = "yes")]
    pub local_overrides: bool,
    /// The verified signature of the manifest commit or tag, when the
    /// instance requires one (`--manifest-signers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ManifestSignature>,
}

fn yes() -> bool {
    true
}

/// One component: what was asked and what it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LockedComponent {
    Git {
        git: String,
        /// As written in the manifest; absent: the default branch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rev: Option<String>,
        commit: String,
        #[serde(flatten)]
        build: TreeBuild,
    },
    Url {
        url: String,
        sha256: String,
        #[serde(flatten)]
        build: TreeBuild,
    },
    Path {
        path: String,
        /// Digest of the directory's contents in the manifest branch.
        tree: String,
        #[serde(flatten)]
        build: TreeBuild,
    },
    Python {
        /// As written in the manifest (an exact version or `latest`).
        python: String,
        version: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hashes: Vec<String>,
        /// Installed as `name[extra,…]` (zc.buildout's `eggs = name[extra]`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        extras: Vec<String>,
        /// Installed only where this PEP 508 marker holds for the release's
        /// Python (zc.buildout's `eggs = name; marker`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    },
}

/// How a git, url or path tree is built into the release (the same keys
/// for the three, written after their source keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeBuild {
    /// `python`: installed into the environment; absent: only unpacked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<String>,
    /// `install = "python"` with extras: installed as `name[extra,…]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
    /// The version given to a build that takes it from git
    /// (setuptools-scm): the manifest's `version`, else, for git trees, the
    /// pin's `git describe --tags` as PEP 440 (url and path trees have no
    /// history to describe). Recorded so that a rebuild from this lock
    /// needs no history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl LockedComponent {
    /// How the tree is built; `None` for a python package.
    pub fn tree_build(&self) -> Option<&TreeBuild> {
        match self {
            LockedComponent::Git { build, .. }
            | LockedComponent::Url { build, .. }
            | LockedComponent::Path { build, .. } => Some(build),
            LockedComponent::Python { .. } => None,
        }
    }

    /// The resolved pin in one short word: commit, hash, tree or version.
    pub fn pin(&self) -> String {
        match self {
            LockedComponent::Git { commit, .. } => commit.clone(),
            LockedComponent::Url { sha256, .. } => format!("sha256:{sha256}"),
            LockedComponent::Path { tree, .. } => tree.clone(),
            LockedComponent::Python { version, .. } => version.clone(),
        }
    }

    /// Whether the build pip-installs this component's tree.
    pub fn installs_python(&self) -> bool {
        self.tree_build()
            .is_none_or(|build| build.install.as_deref() == Some("python"))
    }

    /// The extras a source tree or package is installed with.
    pub fn extras(&self) -> &[String] {
        match self {
            LockedComponent::Python { extras, .. } => extras,
            tree => &tree.tree_build().expect("a tree").extras,
        }
    }

    /// The version given to a source tree's build (setuptools-scm).
    pub fn tree_version(&self) -> Option<&str> {
        self.tree_build()?.version.as_deref()
    }

    /// The pin, short enough for a table.
    pub fn short_pin(&self) -> String {
        let pin = match self {
            LockedComponent::Git { commit, rev, .. } => match rev {
                Some(rev) if rev != commit => format!("{rev} ({:.12})", commit),
                _ => format!("{:.12}", commit),
            },
            LockedComponent::Url { sha256, .. } => format!("sha256:{:.12}", sha256),
            LockedComponent::Path { tree, .. } => format!("{:.16}", tree),
            LockedComponent::Python {
                version, python, ..
            } if python != version => {
                format!("{version} ({python})")
            }
            LockedComponent::Python { version, .. } => version.clone(),
        };
        // What else changes the build, so that a change of extras or
        // version alone still shows in `plan`. A version that only repeats
        // the tag pinned is left out.
        let mut details = Vec::new();
        if let Some(version) = self.tree_version() {
            let repeats_rev = matches!(self, LockedComponent::Git { rev: Some(rev), .. }
                if rev.trim_start_matches(['v', 'V']) == version);
            if !repeats_rev {
                details.push(format!("version {version}"));
            }
        }
        if !self.extras().is_empty() {
            details.push(format!("[{}]", self.extras().join(",")));
        }
        if let LockedComponent::Python {
            marker: Some(marker),
            ..
        } = self
        {
            details.push(format!("; {marker}"));
        }
        if details.is_empty() {
            pin
        } else {
            format!("{pin} {}", details.join(" "))
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            LockedComponent::Git { .. } => "git",
            LockedComponent::Url { .. } => "url",
            LockedComponent::Path { .. } => "path",
            LockedComponent::Python { .. } => "python",
        }
    }

    /// Where the source comes from (URL, path or package name).
    pub fn origin(&self, name: &str) -> String {
        match self {
            LockedComponent::Git { git, .. } => git.clone(),
            LockedComponent::Url { url, .. } => url.clone(),
            LockedComponent::Path { path, .. } => format!("{path} (manifest branch)"),
            LockedComponent::Python { .. } => format!("{name} (python package)"),
        }
    }
}

impl LockFile {
    /// A lock from its TOML text (as written by [`LockFile::to_toml`]).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# lava.lock: the resolved pins of this release, written by lava-deploy. Do not edit.\n{}",
            toml::to_string_pretty(self).expect("a lock is TOML")
        )
    }

    /// Whether a release built from `self` would equal one built from
    /// `other`: the manifest's own commit does not matter, only what it pins.
    ///
    /// The environment is left out: it follows from the pins.
    pub fn same_build(&self, other: &LockFile) -> bool {
        let override_dirs = |lock: &LockFile| -> Vec<(ComponentName, String)> {
            lock.overrides
                .iter()
                .map(|(c, o)| (c.clone(), o.dir.clone()))
                .collect()
        };
        self.components == other.components
            && self.python == other.python
            && self.service == other.service
            && override_dirs(self) == override_dirs(other)
    }

    /// A digest of what `same_build` compares: equal for two locks exactly
    /// when they would build the same release. Recorded per release so a
    /// lock whose release failed is recognised without that release.
    pub fn build_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let overrides: Vec<(&ComponentName, &String)> =
            self.overrides.iter().map(|(c, o)| (c, &o.dir)).collect();
        let identity = serde_json::to_string(&serde_json::json!({
            "components": &self.components,
            "python": &self.python,
            "service": &self.service,
            "overrides": overrides,
        }))
        .expect("a lock is JSON");
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(identity.as_bytes()))
        )
    }

    /// A component's pin for display, or its override.
    pub fn effective_pin(&self, name: &str) -> Option<String> {
        if let Some(o) = self.overrides.get(name) {
            return Some(format!("{} (override)", o.describe()));
        }
        self.components.get(name).map(LockedComponent::short_pin)
    }
}

/// How one component differs between two locks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "change")]
pub enum Change {
    Added { new: String },
    Removed { old: String },
    Changed { old: String, new: String },
    Unchanged { pin: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentChange {
    pub component: ComponentName,
    #[serde(flatten)]
    pub change: Change,
}

impl ComponentChange {
    /// Anything but unchanged.
    pub fn is_change(&self) -> bool {
        !matches!(self.change, Change::Unchanged { .. })
    }

    /// `name: old -> new`, one line.
    pub fn describe(&self) -> String {
        let name = &self.component;
        match &self.change {
            Change::Added { new } => format!("+ {name}: {new} (new)"),
            Change::Removed { old } => format!("- {name}: {old} (removed)"),
            Change::Changed { old, new } => format!("~ {name}: {old} -> {new}"),
            Change::Unchanged { pin } => format!("  {name}: {pin}"),
        }
    }
}

/// One setting of `[shared]`, `[environment]` or `[hooks]` that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    /// `hooks.pre-switch`, `environment.DATABASE_URL`, `shared.dirs`, …
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The service settings that differ between two locks.
pub fn service_diff(old: Option<&LockFile>, new: &LockFile) -> Vec<SettingChange> {
    let before = old
        .map(|l| super::service::flatten(&l.service))
        .unwrap_or_default();
    let after = super::service::flatten(&new.service);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| SettingChange {
            key: key.clone(),
            old: before.get(key).cloned(),
            new: after.get(key).cloned(),
        })
        .collect()
}

/// A secret that was added, removed or changed between two locks: keys
/// only, never a value or a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretChange {
    pub key: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
}

impl SecretChange {
    /// `~ secret KEY changed`, `+ secret KEY`, `- secret KEY`.
    pub fn describe(&self) -> String {
        match self.change {
            "added" => format!("+ secret {}", self.key),
            "removed" => format!("- secret {}", self.key),
            _ => format!("~ secret {} changed", self.key),
        }
    }
}

/// The secrets that differ between two locks, by their keyed hashes.
pub fn secret_diff(old: Option<&LockFile>, new: &LockFile) -> Vec<SecretChange> {
    let empty = BTreeMap::new();
    let before = old.map_or(&empty, |l| &l.service.secrets.hashes);
    let after = &new.service.secrets.hashes;
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let change = match (before.get(key), after.get(key)) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some(a), Some(b)) if a != b => "changed",
                _ => return None,
            };
            Some(SecretChange {
                key: key.clone(),
                change,
            })
        })
        .collect()
}

/// Component by component, old → new.
pub fn diff(old: Option<&LockFile>, new: &LockFile) -> Vec<ComponentChange> {
    let empty = BTreeMap::new();
    let old_components = old.map(|l| &l.components).unwrap_or(&empty);
    let mut names: Vec<&ComponentName> =
        old_components.keys().chain(new.components.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let before = old.and_then(|l| l.effective_pin(name));
            let change = match (before, new.effective_pin(name)) {
                (None, Some(after)) => Change::Added { new: after },
                (Some(before), None) => Change::Removed { old: before },
                (Some(before), Some(after)) if before != after => Change::Changed {
                    old: before,
                    new: after,
                },
                // Still overridden, but the pin underneath moved.
                (Some(_), Some(_)) if old_components.get(name) != new.components.get(name) => {
                    Change::Changed {
                        old: old_components[name].short_pin(),
                        new: format!("{} (still overridden)", new.components[name].short_pin()),
                    }
                }
                (Some(_), Some(after)) => Change::Unchanged { pin: after },
                (None, None) => unreachable!("name comes from one of the maps"),
            };
            ComponentChange {
                component: name.clone(),
                change,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What every lock below starts with.
    const HEADER: &str =
        "# lava.lock: the resolved pins of this release, written by lava-deploy. Do not edit.\n\
version = 1

[manifest]
source = \"builtin\"
commit = \"abc\"
describe = \"builtin-1\"
file = \"lava.toml\"
allow-unpinned = false
local-overrides = true
";

    /// Locks written before extras and tree versions existed read and
    /// write back unchanged, so their releases stay comparable.
    #[test]
    fn old_locks_are_written_back_byte_identical() {
        let old = &format!(
            "{HEADER}
[components.app]
kind = \"git\"
git = \"/srv/app.git\"
rev = \"1.0\"
commit = \"0123456789012345678901234567890123456789\"
install = \"python\"

[components.theme]
kind = \"path\"
path = \"theme\"
tree = \"t1\"
"
        );
        let lock = LockFile::parse(old).unwrap();
        assert_eq!(&lock.to_toml(), old);
        assert!(lock.components["app"].extras().is_empty());
        assert_eq!(lock.components["app"].tree_version(), None);
    }

    /// Trees with every build key, and packages with extras and markers,
    /// write the keys each kind had before they shared `TreeBuild`, in the
    /// same order, and read back equal.
    #[test]
    fn locks_with_every_key_round_trip() {
        let text = &format!(
            "{HEADER}
[components.app]
kind = \"git\"
git = \"/srv/app.git\"
rev = \"main\"
commit = \"0123456789012345678901234567890123456789\"
install = \"python\"
extras = [\"server\"]
version = \"1.0.post2+g0123456\"

[components.archive]
kind = \"url\"
url = \"https://example.org/a.tar.gz\"
sha256 = \"00\"
install = \"python\"
version = \"2.0\"

[components.pkg]
kind = \"python\"
python = \"1.0\"
version = \"1.0\"
extras = [\"yaml\"]
marker = 'python_version < \"3.13\"'

[components.theme]
kind = \"path\"
path = \".\"
tree = \"t1\"
extras = [\"x\"]
"
        );
        let lock = LockFile::parse(text).unwrap();
        assert_eq!(&lock.to_toml(), text);
        let app = &lock.components["app"];
        assert!(app.installs_python());
        assert_eq!(app.extras(), ["server"]);
        assert_eq!(app.tree_version(), Some("1.0.post2+g0123456"));
        assert!(!lock.components["theme"].installs_python());
        assert_eq!(lock.components["pkg"].extras(), ["yaml"]);
    }

    #[test]
    fn short_pins_show_extras_and_versions_that_are_not_the_tag() {
        let git = |rev: &str, version: Option<&str>, extras: &[&str]| LockedComponent::Git {
            git: "/srv/app.git".into(),
            rev: Some(rev.into()),
            commit: "0123456789abcdef".into(),
            build: TreeBuild {
                install: Some("python".into()),
                extras: extras.iter().map(|e| e.to_string()).collect(),
                version: version.map(str::to_owned),
            },
        };
        assert_eq!(
            git("2026.07", Some("2026.07"), &[]).short_pin(),
            "2026.07 (0123456789ab)"
        );
        assert_eq!(
            git("v1.0", Some("1.0"), &["server", "x"]).short_pin(),
            "v1.0 (0123456789ab) [server,x]"
        );
        assert_eq!(
            git("main", Some("1.0.post2+g0123456"), &[]).short_pin(),
            "main (0123456789ab) version 1.0.post2+g0123456"
        );
    }
}

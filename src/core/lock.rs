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

    /// What a release is built from: two locks with equal identities build
    /// equal releases.
    fn identity(&self) -> BuildIdentity<'_> {
        BuildIdentity {
            components: &self.components,
            overrides: self.overrides.iter().map(|(c, o)| (c, &o.dir)).collect(),
            python: &self.python,
            service: &self.service,
        }
    }

    /// Whether a release built from `self` would equal one built from
    /// `other`: the manifest's own commit does not matter, only what it pins.
    pub fn same_build(&self, other: &LockFile) -> bool {
        self.identity() == other.identity()
    }

    /// A digest of the build identity: equal for two locks exactly when
    /// they would build the same release. Recorded per release so a lock
    /// whose release failed is recognised without that release.
    pub fn build_id(&self) -> String {
        use sha2::{Digest, Sha256};
        // Through `Value`, whose maps sort their keys: the digest does not
        // depend on the order of fields in the code.
        let identity = serde_json::to_value(self.identity())
            .expect("a lock is JSON")
            .to_string();
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(identity.as_bytes()))
        )
    }

    /// A component as this lock's release has it.
    pub fn state(&self, name: &ComponentName) -> Option<ComponentState> {
        Some(ComponentState {
            pinned: self.components.get(name)?.clone(),
            overridden: self.overrides.get(name).cloned(),
        })
    }
}

/// What [`LockFile::same_build`] compares and [`LockFile::build_id`]
/// digests, and nothing else: the environment follows from the pins, the
/// manifest's commit and an override's HEAD do not change what is built
/// (the override's files are read at build time).
#[derive(Debug, PartialEq, Serialize)]
struct BuildIdentity<'a> {
    components: &'a BTreeMap<ComponentName, LockedComponent>,
    overrides: Vec<(&'a ComponentName, &'a String)>,
    python: &'a PythonSettings,
    service: &'a Service,
}

/// One component as a release has it: its pin, and the directory under
/// `local/` that stands in for it, if one does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentState {
    pub pinned: LockedComponent,
    pub overridden: Option<LockedOverride>,
}

impl ComponentState {
    /// Whether a release would build this component alike from both (what
    /// `same_build` compares of it).
    pub fn builds_as(&self, other: &ComponentState) -> bool {
        self.pinned == other.pinned
            && self.overridden.as_ref().map(|o| &o.dir) == other.overridden.as_ref().map(|o| &o.dir)
    }

    /// The keys that differ from `other`: the lock's own keys of the pin
    /// (`commit`, `install`, `hashes`, …; only `kind` for another kind of
    /// source), then `override` when another `local/` entry stands in for
    /// it, or one appeared or went.
    pub fn differences(&self, other: &ComponentState) -> Vec<String> {
        let mut keys = Vec::new();
        let as_table = |c: &LockedComponent| match serde_json::to_value(c) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let (before, after) = (as_table(&self.pinned), as_table(&other.pinned));
        if before.get("kind") != after.get("kind") {
            keys.push("kind".to_owned());
        } else {
            let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
            names.sort();
            names.dedup();
            keys.extend(
                names
                    .into_iter()
                    .filter(|k| before.get(*k) != after.get(*k))
                    .cloned(),
            );
        }
        let dir = |s: &ComponentState| s.overridden.as_ref().map(|o| o.dir.clone());
        if dir(self) != dir(other) {
            keys.push("override".to_owned());
        }
        keys
    }
}

/// How one component differs between two locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added {
        new: ComponentState,
    },
    Removed {
        old: ComponentState,
    },
    Changed {
        old: Box<ComponentState>,
        new: Box<ComponentState>,
        /// [`ComponentState::differences`]: never empty.
        keys: Vec<String>,
    },
    Unchanged {
        state: ComponentState,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentChange {
    pub component: ComponentName,
    pub change: Change,
}

impl ComponentChange {
    /// Anything but unchanged.
    pub fn is_change(&self) -> bool {
        !matches!(self.change, Change::Unchanged { .. })
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

/// Component by component, old → new. A component is unchanged exactly
/// when a release would build it alike (so an up-to-date lock has no
/// change).
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
            let before = old.and_then(|l| l.state(name));
            let change = match (before, new.state(name)) {
                (None, Some(new)) => Change::Added { new },
                (Some(old), None) => Change::Removed { old },
                (Some(old), Some(new)) if old.builds_as(&new) => Change::Unchanged { state: new },
                (Some(old), Some(new)) => Change::Changed {
                    keys: old.differences(&new),
                    old: Box::new(old),
                    new: Box::new(new),
                },
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

    /// Every kind of thing a build identity holds, after [`HEADER`].
    const BASE_BODY: &str = "
[components.app]
kind = \"git\"
git = \"/srv/app.git\"
rev = \"v1\"
commit = \"0123456789012345678901234567890123456789\"
[components.pkg]
kind = \"python\"
python = \"1.0\"
version = \"1.0\"
hashes = [\"sha256:aa\"]
[overrides.app]
dir = \"app\"
path = \"/home/dev/app\"
matched-by = \"git origin\"
[service.environment]
A = \"1\"
";

    fn base() -> String {
        format!("{HEADER}{BASE_BODY}")
    }

    fn base_with(from: &str, to: &str) -> LockFile {
        assert!(base().contains(from), "{from}");
        LockFile::parse(&base().replacen(from, to, 1)).unwrap()
    }

    /// The digest recorded in `instance.toml` by releases built before the
    /// identity was a struct: a failed release must still be recognised.
    #[test]
    fn build_ids_stay_those_recorded_before() {
        assert_eq!(
            LockFile::parse(&base()).unwrap().build_id(),
            "sha256:0a6ffc16769c4a1094025c0b042be58032d22e769a250ff8b2142ba3518a4d2f"
        );
    }

    /// `same_build` and equal `build_id`s agree on every row.
    #[test]
    fn same_build_is_what_build_id_digests() {
        let base = LockFile::parse(&base()).unwrap();
        #[rustfmt::skip]
        let table: [(&str, &str, &str, bool); 9] = [
            ("manifest commit", "commit = \"abc\"", "commit = \"other\"", true),
            ("manifest file", "file = \"lava.toml\"", "file = \"x.toml\"", true),
            ("override path", "path = \"/home/dev/app\"", "path = \"/elsewhere\"", true),
            ("override head", "matched-by = \"git origin\"", "matched-by = \"git origin\"\nhead = \"abc\"", true),
            ("environment installed", "[service.environment]", "[environment]\ninstaller = \"uv\"\n[service.environment]", true),
            ("component pin", "rev = \"v1\"", "rev = \"v2\"", false),
            ("package hashes", "sha256:aa", "sha256:bb", false),
            ("override dir", "dir = \"app\"", "dir = \"app2\"", false),
            ("service", "A = \"1\"", "A = \"2\"", false),
        ];
        for (what, from, to, same) in table {
            let other = base_with(from, to);
            assert_eq!(base.same_build(&other), same, "{what}");
            assert_eq!(base.build_id() == other.build_id(), same, "{what}");
        }
    }

    #[test]
    fn diffs_compare_what_is_built() {
        let base = LockFile::parse(&base()).unwrap();
        let kinds = |old: Option<&LockFile>, new: &LockFile| -> Vec<(String, String)> {
            diff(old, new)
                .into_iter()
                .map(|c| {
                    let what = match c.change {
                        Change::Added { .. } => "added".to_owned(),
                        Change::Removed { .. } => "removed".to_owned(),
                        Change::Unchanged { .. } => "unchanged".to_owned(),
                        Change::Changed { keys, .. } => format!("changed {}", keys.join(",")),
                    };
                    (c.component.to_string(), what)
                })
                .collect()
        };
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        let no_override = base_with("[overrides.app]\ndir = \"app\"\npath = \"/home/dev/app\"\nmatched-by = \"git origin\"\n", "");
        #[rustfmt::skip]
        type Row<'a> = (&'a str, Option<&'a LockFile>, LockFile, Vec<(String, String)>);
        let table: Vec<Row> = vec![
            ("first", None, base.clone(), vec![pair("app", "added"), pair("pkg", "added")]),
            ("same", Some(&base), base.clone(), vec![pair("app", "unchanged"), pair("pkg", "unchanged")]),
            ("override head only", Some(&base), base_with("matched-by = \"git origin\"", "matched-by = \"git origin\"\nhead = \"abc\""),
                vec![pair("app", "unchanged"), pair("pkg", "unchanged")]),
            ("hashes", Some(&base), base_with("sha256:aa", "sha256:bb"),
                vec![pair("app", "unchanged"), pair("pkg", "changed hashes")]),
            ("install", Some(&base), base_with("rev = \"v1\"", "rev = \"v1\"\ninstall = \"python\""),
                vec![pair("app", "changed install"), pair("pkg", "unchanged")]),
            ("kind", Some(&base), base_with("kind = \"python\"\npython = \"1.0\"", "kind = \"url\"\nurl = \"u\"\nsha256 = \"0\"\npython = \"1.0\""),
                vec![pair("app", "unchanged"), pair("pkg", "changed kind")]),
            ("override gone", Some(&base), no_override.clone(),
                vec![pair("app", "changed override"), pair("pkg", "unchanged")]),
            ("removed", Some(&base), base_with("[components.pkg]\nkind = \"python\"\npython = \"1.0\"\nversion = \"1.0\"\nhashes = [\"sha256:aa\"]\n", ""),
                vec![pair("app", "unchanged"), pair("pkg", "removed")]),
        ];
        for (what, old, new, expected) in table {
            assert_eq!(kinds(old, &new), expected, "{what}");
        }
    }
}

//! The validated manifest: what every reader (native TOML, zc.buildout)
//! produces and every later step works on. A value of these types is valid
//! by construction: component names are [`ComponentName`]s.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::names::ComponentName;
use super::service::Service;

/// The effective manifest after `extends`, validated.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Manifest {
    /// The selected manifest file, relative to the branch root.
    pub file: String,
    /// Every file read, bases before the files that extend them.
    pub files: Vec<String>,
    pub description: Option<String>,
    pub allow_unpinned: bool,
    pub local_overrides: bool,
    /// zc.buildout's `[git-heads]` pin git eggs by abbreviated commits.
    #[serde(skip)]
    pub short_commits_pin: bool,
    pub python: PythonSettings,
    pub components: BTreeMap<ComponentName, Component>,
    /// `[shared]`, `[environment]`, `[hooks]`.
    #[serde(flatten)]
    pub service: Service,
}

/// How the release's Python environment is built (`[python]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PythonSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub find_links: Vec<String>,
    /// Versions applied only if something pulls the package in (pip's
    /// constraints; zc.buildout's `[versions]` for packages not in `eggs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub constraints: BTreeMap<String, String>,
}

impl PythonSettings {
    pub fn is_empty(&self) -> bool {
        *self == PythonSettings::default()
    }

    /// Whether a `find-links` or `index-url` entry is a directory of the
    /// manifest branch (relative to its root: neither a URL nor an
    /// absolute path), which lava-deploy exports for the installer.
    pub fn in_branch(link: &str) -> bool {
        !link.contains("://") && !link.starts_with('/')
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Component {
    pub name: ComponentName,
    pub source: ComponentSource,
    /// `install = "python"`: pip-install the fetched tree into the env.
    pub install_python: bool,
    /// `hashes = ["sha256:…"]` of a python component.
    pub hashes: Vec<String>,
    /// `extras = ["server"]`: installed as `name[server]` (a python
    /// component, zc.buildout's `eggs = name[server]`, or an
    /// `install = "python"` tree).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
    /// `version = "…"` of an `install = "python"` tree: the version given to
    /// a build that takes it from git (setuptools-scm), instead of the one
    /// `git describe` gives for the pin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `marker = 'python_version < "3.12"'` of a python component: a PEP 508
    /// environment marker, evaluated by the installer against the release's
    /// Python.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(skip)]
    pub defined_at: Location,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ComponentSource {
    Git { url: String, rev: Option<String> },
    Url { url: String, sha256: Option<String> },
    Path { path: String },
    Python { version: String },
}

impl ComponentSource {
    pub fn kind(&self) -> &'static str {
        match self {
            ComponentSource::Git { .. } => "git",
            ComponentSource::Url { .. } => "url",
            ComponentSource::Path { .. } => "path",
            ComponentSource::Python { .. } => "python",
        }
    }
}

/// `"latest"`: the newest version from the index (needs `allow-unpinned`).
pub const LATEST: &str = "latest";

/// What the installer picks within for a python component's `python`
/// (both need `allow-unpinned`): `Some("")` for `"latest"`, the canonical
/// specifiers (`"<3,>=1.0"`) for a range (zc.buildout's `eggs = foo<3`
/// without a pin); `None` for an exact version, which is not picked.
pub fn python_range(python: &str) -> Option<String> {
    if python == LATEST {
        return Some(String::new());
    }
    if !python.starts_with(['<', '>', '=', '!', '~']) {
        return None;
    }
    let specs = crate::core::pep440::canonical_set(python)?;
    match specs.as_slice() {
        [] => None,
        [one] if one.starts_with("==") && !one.contains('*') => None,
        _ => Some(specs.join(",")),
    }
}

impl Component {
    /// This entry as it would be written in a native manifest.
    pub fn to_toml(&self) -> toml::Table {
        let mut table = toml::Table::new();
        let mut put = |key: &str, value: &str| {
            table.insert(key.to_owned(), toml::Value::String(value.to_owned()));
        };
        match &self.source {
            ComponentSource::Git { url, rev } => {
                put("git", url);
                if let Some(rev) = rev {
                    put("rev", rev);
                }
            }
            ComponentSource::Url { url, sha256 } => {
                put("url", url);
                if let Some(sha256) = sha256 {
                    put("sha256", sha256);
                }
            }
            ComponentSource::Path { path } => put("path", path),
            ComponentSource::Python { version } => put("python", version),
        }
        if self.install_python {
            put("install", "python");
        }
        if let Some(version) = &self.version {
            put("version", version);
        }
        if let Some(marker) = &self.marker {
            put("marker", marker);
        }
        let strings = |values: &[String]| {
            toml::Value::Array(values.iter().cloned().map(toml::Value::String).collect())
        };
        if !self.extras.is_empty() {
            table.insert("extras".to_owned(), strings(&self.extras));
        }
        if !self.hashes.is_empty() {
            table.insert("hashes".to_owned(), strings(&self.hashes));
        }
        table
    }
}

impl Manifest {
    /// The effective manifest as a native TOML document (`manifest show`).
    pub fn to_toml_string(&self) -> String {
        let mut header = toml::Table::new();
        if let Some(description) = &self.description {
            header.insert("description".into(), description.clone().into());
        }
        header.insert("allow-unpinned".into(), self.allow_unpinned.into());
        header.insert("local-overrides".into(), self.local_overrides.into());
        let mut doc = toml::Table::new();
        doc.insert("manifest".into(), header.into());
        if !self.python.is_empty() {
            let python = toml::Table::try_from(&self.python).expect("python settings are TOML");
            doc.insert("python".into(), python.into());
        }
        let components: toml::Table = self
            .components
            .iter()
            .map(|(name, c)| (name.to_string(), toml::Value::Table(c.to_toml())))
            .collect();
        doc.insert("components".into(), components.into());
        if let Ok(toml::Value::Table(service)) = toml::Value::try_from(&self.service) {
            doc.extend(service);
        }
        let files = self.files.join(", ");
        format!(
            "# effective manifest {} (read from: {files})\n{}",
            self.file,
            toml::to_string_pretty(&doc).expect("manifest is TOML")
        )
    }
}

/// Where something was written: a file of the branch and, when known, a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// One problem in a manifest.
#[derive(Debug, Clone)]
pub struct ManifestError {
    pub at: Location,
    pub message: String,
}

/// Every problem found in a manifest, reported at once. Exit code 2.
#[derive(Debug)]
pub struct ManifestErrors(pub Vec<ManifestError>);

impl ManifestErrors {
    pub fn one(at: Location, message: impl Into<String>) -> Self {
        ManifestErrors(vec![ManifestError {
            at,
            message: message.into(),
        }])
    }
}

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "invalid manifest {}: {}", one.at, one.message),
            many => {
                write!(f, "invalid manifest ({} problems):", many.len())?;
                for error in many {
                    write!(f, "\n  {}: {}", error.at, error.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ManifestErrors {}

/// The message for a component that is not pinned while pins are required.
pub fn unpinned_message(component: &str, problem: &str) -> String {
    format!(
        "component {component} is not pinned: it {problem}; pin it (git: a tag or full commit, \
         url: sha256, python: an exact version) or set allow-unpinned = true in [manifest]"
    )
}

#[cfg(test)]
mod tests {
    use super::python_range;

    #[test]
    fn python_ranges() {
        let cases: &[(&str, Option<&str>)] = &[
            ("latest", Some("")),
            ("3.1.0", None),
            ("==3.1.0", None),
            ("<2", Some("<2")),
            ("<3, >=1.0", Some("<3,>=1.0")),
            ("==1.*", Some("==1.*")),
            (">=three", None),
            ("", None),
        ];
        for (python, range) in cases {
            assert_eq!(python_range(python).as_deref(), *range, "{python}");
        }
    }
}

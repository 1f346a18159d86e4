//! Native TOML manifests: parsing, `extends` chains and validation.
//!
//! Every problem in the chain is collected before anything is reported, so
//! the operator fixes a manifest in one go.

use std::collections::BTreeMap;

use toml::Spanned;

use super::native_service::ServiceLayer;
use super::raw::{RawComponent, RawManifestFile};
use super::{join_relative, normalize_branch_path, BranchFiles};
use crate::core::archive_format::ArchiveFormat;
use crate::core::error::Result;
use crate::core::model::{
    unpinned_message, Component, ComponentSource, Location, Manifest, ManifestError,
    ManifestErrors, PythonSettings, LATEST,
};
use crate::core::names::ComponentName;

pub fn load(tree: &dyn BranchFiles, file: &str) -> Result<Manifest> {
    let mut loader = Loader {
        tree,
        stack: Vec::new(),
        errors: Vec::new(),
    };
    let top = loader.load_file(file, None)?;
    let mut errors = loader.errors;
    let Some(layer) = top.filter(|_| errors.is_empty()) else {
        return Err(ManifestErrors(errors).into());
    };
    let manifest = Manifest {
        file: file.to_owned(),
        files: layer.files,
        description: layer.description,
        allow_unpinned: layer.allow_unpinned.unwrap_or(false),
        local_overrides: layer.local_overrides.unwrap_or(true),
        short_commits_pin: false,
        python: layer.python,
        components: layer.components,
        service: layer.service.finish(),
    };
    if !manifest.allow_unpinned {
        errors.extend(unpinned(&manifest));
    }
    if errors.is_empty() {
        Ok(manifest)
    } else {
        Err(ManifestErrors(errors).into())
    }
}

/// Components a pinned manifest may not have, found without fetching
/// anything. Branches and short commits are only known after resolution.
fn unpinned(manifest: &Manifest) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    for component in manifest.components.values() {
        let problem = match &component.source {
            ComponentSource::Git { rev: None, .. } => {
                "has no rev, so it follows the default branch"
            }
            ComponentSource::Url { sha256: None, .. } => "has no sha256",
            ComponentSource::Python { version } if version == LATEST => "asks for \"latest\"",
            _ => continue,
        };
        errors.push(ManifestError {
            at: component.defined_at.clone(),
            message: unpinned_message(&component.name, problem),
        });
    }
    errors
}

/// One file merged with everything it extends.
#[derive(Default)]
struct Layer {
    files: Vec<String>,
    description: Option<String>,
    allow_unpinned: Option<bool>,
    local_overrides: Option<bool>,
    python: PythonSettings,
    components: BTreeMap<ComponentName, Component>,
    service: ServiceLayer,
}

impl Layer {
    /// Lays `over` on top of this layer: called for each base in extends
    /// order, then for the file's own entries, so later calls win.
    fn apply(&mut self, over: Layer) {
        self.files.extend(over.files);
        if over.description.is_some() {
            self.description = over.description;
        }
        if over.allow_unpinned.is_some() {
            self.allow_unpinned = over.allow_unpinned;
        }
        if over.local_overrides.is_some() {
            self.local_overrides = over.local_overrides;
        }
        if over.python.interpreter.is_some() {
            self.python.interpreter = over.python.interpreter;
        }
        if over.python.index_url.is_some() {
            self.python.index_url = over.python.index_url;
        }
        if !over.python.find_links.is_empty() {
            self.python.find_links = over.python.find_links;
        }
        self.python.constraints.extend(over.python.constraints);
        self.components.extend(over.components);
        self.service.apply(over.service);
    }
}

struct Loader<'a> {
    tree: &'a dyn BranchFiles,
    /// Files being loaded, outermost first: for cycle messages.
    stack: Vec<String>,
    errors: Vec<ManifestError>,
}

impl Loader<'_> {
    fn error(&mut self, at: Location, message: String) {
        self.errors.push(ManifestError { at, message });
    }

    fn load_file(
        &mut self,
        file: &str,
        extended_at: Option<Location>,
    ) -> anyhow::Result<Option<Layer>> {
        let at = extended_at.clone().unwrap_or(Location {
            file: file.to_owned(),
            line: None,
        });
        if self.stack.iter().any(|f| f == file) {
            let chain = [self.stack.as_slice(), &[file.to_owned()]]
                .concat()
                .join(" -> ");
            self.error(at, format!("extends cycle: {chain}"));
            return Ok(None);
        }
        let Some(bytes) = self.tree.read_file(file)? else {
            let message =
                match &extended_at {
                    Some(_) => format!(
                    "extends {file:?}, which does not exist in the manifest branch (chain: {}); \
                     manifest files in the branch: {}",
                    [self.stack.as_slice(), &[file.to_owned()]].concat().join(" -> "),
                    self.tree.manifest_files()?.join(", ")
                ),
                    None => format!("{file} does not exist in the manifest branch"),
                };
            self.error(at, message);
            return Ok(None);
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                self.error(at, "is not UTF-8 text".to_owned());
                return Ok(None);
            }
        };
        let raw: RawManifestFile = match toml::from_str(&text) {
            Ok(raw) => raw,
            Err(err) => {
                let line = err.span().map(|span| line_of(&text, span.start));
                let message = err.message().trim().to_owned();
                self.error(
                    Location {
                        file: file.to_owned(),
                        line,
                    },
                    message,
                );
                return Ok(None);
            }
        };
        self.stack.push(file.to_owned());
        let layer = self.layer(file, &text, raw);
        self.stack.pop();
        layer.map(Some)
    }

    fn layer(&mut self, file: &str, text: &str, raw: RawManifestFile) -> anyhow::Result<Layer> {
        let here = |span: std::ops::Range<usize>| Location {
            file: file.to_owned(),
            line: Some(line_of(text, span.start)),
        };
        let mut layer = Layer::default();
        let header = raw.manifest.map(Spanned::into_inner).unwrap_or_default();
        if let Some(extends) = header.extends {
            let at = here(extends.span());
            for parent in extends.into_inner().into_vec() {
                match join_relative(file, &parent) {
                    Some(path) => {
                        if let Some(base) = self.load_file(&path, Some(at.clone()))? {
                            layer.apply(base);
                        }
                    }
                    None => self.error(
                        at.clone(),
                        format!("extends {parent:?}, which points outside the manifest branch"),
                    ),
                }
            }
        }
        let mut own_errors = Vec::new();
        let mut own = Layer {
            files: vec![file.to_owned()],
            description: header.description,
            allow_unpinned: header.allow_unpinned,
            local_overrides: header.local_overrides,
            ..Layer::default()
        };
        if let Some(python) = raw.python {
            let python = python.into_inner();
            let constraints = python.constraints.unwrap_or_default();
            for (name, version) in &constraints {
                if !is_exact_version(version) {
                    own_errors.push(ManifestError {
                        at: Location {
                            file: file.to_owned(),
                            line: None,
                        },
                        message: format!(
                            "[python] constraints: {name} = {version:?} is not an exact version"
                        ),
                    });
                }
            }
            own.python = PythonSettings {
                interpreter: python.interpreter,
                index_url: python.index_url,
                find_links: python.find_links.unwrap_or_default(),
                constraints,
            };
        }
        own.service = ServiceLayer::read(
            raw.shared.map(|s| (s.get_ref().clone(), here(s.span()))),
            raw.environment
                .map(|e| (e.get_ref().clone(), here(e.span()))),
            raw.hooks.map(|h| (h.get_ref().clone(), here(h.span()))),
            &mut own_errors,
        );
        self.errors.extend(own_errors);
        let mut removed = Vec::new();
        for (name, component) in raw.components {
            let at = here(name.span());
            let name = name.into_inner();
            let component = component.into_inner();
            if component.remove == Some(true) {
                if component_has_source_keys(&component) {
                    self.error(
                        at,
                        format!("component {name}: remove = true takes no other keys"),
                    );
                }
                removed.push(name);
                continue;
            }
            if let Some(component) = self.component(&name, component, at, &here) {
                own.components.insert(component.name.clone(), component);
            }
        }
        layer.apply(own);
        for name in removed {
            layer.components.remove(name.as_str());
        }
        Ok(layer)
    }

    fn component(
        &mut self,
        name: &str,
        raw: RawComponent,
        at: Location,
        here: &dyn Fn(std::ops::Range<usize>) -> Location,
    ) -> Option<Component> {
        let errors_before = self.errors.len();
        let valid_name = ComponentName::parse(name).map_err(|problem| {
            self.errors.push(ManifestError {
                at: at.clone(),
                message: problem,
            })
        });
        let mut fail = |message: String| {
            self.errors.push(ManifestError {
                at: at.clone(),
                message: format!("component {name}: {message}"),
            })
        };
        let sources: Vec<&str> = [
            ("git", raw.git.is_some()),
            ("url", raw.url.is_some()),
            ("path", raw.path.is_some()),
            ("python", raw.python.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        match sources.as_slice() {
            [_] => {}
            [] => fail("needs exactly one of git, url, path or python".into()),
            many => fail(format!(
                "has {} set; a component has exactly one of git, url, path or python",
                many.join(" and ")
            )),
        }
        if raw.rev.is_some() && raw.git.is_none() {
            fail("rev only applies to git components".into());
        }
        if raw.sha256.is_some() && raw.url.is_none() {
            fail("sha256 only applies to url components".into());
        }
        if raw.hashes.is_some() && raw.python.is_none() {
            fail("hashes only apply to python components (url components take sha256)".into());
        }
        let install_python = match raw.install.as_deref() {
            None => false,
            Some("python") if raw.python.is_none() => true,
            Some("python") => {
                fail("install = \"python\" is for git, url and path components; a python component is always installed".into());
                false
            }
            Some(other) => {
                fail(format!(
                    "install = {other:?} is not known; the only installer is \"python\""
                ));
                false
            }
        };
        if let Some(git) = &raw.git {
            if !looks_like_git_location(git) {
                fail(format!(
                    "git = {git:?} is not a URL or absolute path of a git repository"
                ));
            }
        }
        if let Some(rev) = &raw.rev {
            if rev.trim().is_empty() || rev.contains(char::is_whitespace) {
                fail(format!("rev = {rev:?} is not a tag, branch or commit"));
            }
        }
        let sha256 = raw.sha256.as_deref().map(str::to_ascii_lowercase);
        if let Some(sha256) = &sha256 {
            if !is_sha256(sha256) {
                fail(format!("sha256 = {sha256:?} is not 64 hexadecimal digits"));
            }
        }
        if let Some(url) = &raw.url {
            if !(url.starts_with("http://")
                || url.starts_with("https://")
                || url.starts_with("file://"))
            {
                fail(format!(
                    "url = {url:?} must start with http://, https:// or file://"
                ));
            } else if ArchiveFormat::from_url(url).is_none() {
                fail(format!(
                    "url = {url:?} is not an archive lava-deploy can unpack ({})",
                    ArchiveFormat::SUFFIXES.join(", ")
                ));
            }
        }
        if let Some(path) = &raw.path {
            match normalize_branch_path(path) {
                Some(normalized) if !normalized.is_empty() => match self.tree.is_dir(&normalized) {
                    Ok(true) => {}
                    Ok(false) => fail(format!("path = {path:?} is not a directory of the manifest branch")),
                    Err(err) => fail(format!("path = {path:?} cannot be read: {err:#}")),
                },
                _ => fail(format!("path = {path:?} must be a directory inside the manifest branch, relative to its root")),
            }
        }
        if let Some(version) = &raw.python {
            if version != LATEST && !is_exact_version(version) {
                fail(format!(
                    "python = {version:?} is not an exact version (like \"3.1.0\") or \"latest\""
                ));
            }
        }
        for hash in raw.hashes.iter().flatten() {
            if !hash.strip_prefix("sha256:").is_some_and(is_sha256) {
                fail(format!(
                    "hashes entry {hash:?} is not \"sha256:\" followed by 64 hexadecimal digits"
                ));
            }
        }
        let extras = raw.extras.map(|extras| {
            let key_at = here(extras.span());
            let extras = extras.into_inner();
            self.python_tree_key(name, &raw.install, raw.python.is_some(), "extras", &key_at);
            for extra in &extras {
                if !is_extra_name(extra) {
                    self.error(
                        key_at.clone(),
                        format!(
                            "component {name}: extras entry {extra:?} is not an extra name \
                             (letters, digits, and '.', '_' or '-' between them)"
                        ),
                    );
                }
            }
            extras
        });
        let version = raw.version.map(|version| {
            let key_at = here(version.span());
            let version = version.into_inner();
            self.python_tree_key(name, &raw.install, raw.python.is_some(), "version", &key_at);
            if !crate::core::pep440::is_valid(&version) {
                self.error(
                    key_at,
                    format!(
                        "component {name}: version = {version:?} is not a Python version \
                         (PEP 440, like \"2026.7\" or \"1.2.post3\")"
                    ),
                );
            }
            version
        });
        let name = valid_name.ok()?;
        if self.errors.len() > errors_before {
            return None;
        }
        let source = if let Some(url) = raw.git {
            ComponentSource::Git { url, rev: raw.rev }
        } else if let Some(url) = raw.url {
            ComponentSource::Url { url, sha256 }
        } else if let Some(path) = raw.path {
            ComponentSource::Path {
                path: normalize_branch_path(&path).unwrap_or(path),
            }
        } else {
            ComponentSource::Python {
                version: raw.python.unwrap_or_default(),
            }
        };
        Some(Component {
            name,
            source,
            install_python,
            hashes: raw
                .hashes
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            extras: extras.unwrap_or_default(),
            version,
            defined_at: at,
        })
    }

    /// `extras` and `version` describe how a source tree is pip-installed:
    /// anywhere else they would be silently meaningless.
    fn python_tree_key(
        &mut self,
        name: &str,
        install: &Option<String>,
        is_python_package: bool,
        key: &str,
        at: &Location,
    ) {
        if is_python_package || install.as_deref() != Some("python") {
            self.error(
                at.clone(),
                format!(
                    "component {name}: {key} only applies to git, url and path components \
                     with install = \"python\""
                ),
            );
        }
    }
}

fn component_has_source_keys(raw: &RawComponent) -> bool {
    raw.git.is_some()
        || raw.url.is_some()
        || raw.path.is_some()
        || raw.python.is_some()
        || raw.rev.is_some()
        || raw.sha256.is_some()
        || raw.install.is_some()
        || raw.hashes.is_some()
        || raw.extras.is_some()
        || raw.version.is_some()
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A PEP 508 extra name: letters and digits, with `.`, `_` or `-` only
/// between them.
fn is_extra_name(s: &str) -> bool {
    let inner_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|&b| inner_ok(b))
        }
        _ => false,
    }
}

/// An exact version as pip understands one: no operators, no spaces.
fn is_exact_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '-' | '_'))
}

/// URLs with a scheme, scp-like `user@host:path`, or absolute paths.
fn looks_like_git_location(s: &str) -> bool {
    s.contains("://") || s.starts_with('/') || (s.contains('@') && s.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::join_relative;

    #[test]
    fn relative_paths() {
        assert_eq!(
            join_relative("lava.toml", "base.toml").as_deref(),
            Some("base.toml")
        );
        assert_eq!(
            join_relative("sub/a.toml", "../base.toml").as_deref(),
            Some("base.toml")
        );
        assert_eq!(join_relative("a.toml", "../x.toml"), None);
    }

    #[test]
    fn versions_and_lines() {
        assert!(is_exact_version("3.1.0"));
        assert!(is_exact_version("2.0rc1"));
        assert!(!is_exact_version(">=3"));
        assert!(!is_exact_version("latest"));
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }

    #[test]
    fn extra_names() {
        for good in ["server", "s", "dispatcher-host", "a.b_c", "X1"] {
            assert!(is_extra_name(good), "{good}");
        }
        for bad in ["", "-x", "x-", "a b", "x]", "server,dev", "é"] {
            assert!(!is_extra_name(bad), "{bad}");
        }
    }
}

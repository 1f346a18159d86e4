//! Native TOML manifests: parsing, `extends` chains and validation.
//!
//! Every problem in the chain is collected before anything is reported, so
//! the operator fixes a manifest in one go.

use std::collections::BTreeMap;

use toml::Spanned;

use super::native_component::{
    component_has_source_keys, is_exact_version, line_of, read_component,
};
use super::native_service::ServiceLayer;
use super::raw::RawManifestFile;
use super::{join_relative, BranchFiles};
use crate::core::error::Result;
use crate::core::model::{
    python_range, unpinned_message, Component, ComponentSource, Location, Manifest, ManifestError,
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
        service: layer.service.finish(&mut errors),
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
            ComponentSource::Python { version } if python_range(version).is_some() => {
                "asks for a range of versions"
            }
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
            raw.secrets.map(|s| (s.get_ref().clone(), here(s.span()))),
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
            if let Some(component) =
                read_component(self.tree, &mut self.errors, &name, component, at, &here)
            {
                own.components.insert(component.name.clone(), component);
            }
        }
        layer.apply(own);
        for name in removed {
            layer.components.remove(name.as_str());
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
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
}

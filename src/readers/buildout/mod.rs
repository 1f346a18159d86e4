//! zc.buildout configurations (`*.cfg`), read as zc.buildout 6 reads them
//! (proven against it by the differential test in `tests/it`), then mapped
//! to the model:
//!
//! - `parse`: one file's lines; `config`: the `extends` tree merged with
//!   `+=`/`-=`; `session`: sections loaded on use, with `<=` macros and
//!   `${section:option}`; `effective`: what `bin/buildout` computes before
//!   installing (parts, their eggs, versions, develop, …);
//! - `develop`: develop directories and local overrides (egg lines are
//!   read by `core::pep508`, as packaging reads them);
//! - here: the mapping to components. Recipes are not run; what is ignored
//!   is listed in one warning.

mod config;
mod develop;
mod effective;
mod omap;
mod parse;
mod session;

use std::collections::BTreeMap;

use super::BranchFiles;
use crate::core::error::Result;
use crate::core::model::{
    Component, ComponentSource, Location, Manifest, ManifestError, ManifestErrors, PythonSettings,
    LATEST,
};
use crate::core::names::{normalize_project as normalize, ComponentName};
pub use effective::{Effective, DIRECTORY as BUILDOUT_DIRECTORY};

/// A PEP 508 environment marker in packaging's canonical text, or why it
/// is not one (native manifests take `marker` too).
pub fn canonical_marker(marker: &str) -> std::result::Result<String, String> {
    let parsed = crate::core::pep508::parse(&format!("x; {marker}"))?;
    Ok(parsed.marker.unwrap_or_default())
}

/// The effective configuration of `file`, as zc.buildout computes it.
pub fn effective(tree: &dyn BranchFiles, file: &str) -> Result<Effective> {
    Ok(read(tree, file)?.0)
}

fn read(tree: &dyn BranchFiles, file: &str) -> Result<(Effective, Vec<String>)> {
    let config = config::load(tree, file)?.map_err(ManifestErrors)?;
    let files = config.files.clone();
    let view = effective::compute(config, file).map_err(|fail| ManifestErrors(vec![fail]))?;
    Ok((view, files))
}

pub fn load(tree: &dyn BranchFiles, file: &str) -> Result<Manifest> {
    let (view, files) = read(tree, file)?;
    let mut mapper = Mapper {
        view: &view,
        errors: Vec::new(),
        components: BTreeMap::new(),
    };
    let develop = develop::develop(
        tree,
        file,
        &view.develop,
        &view.at.develop,
        &mut mapper.errors,
    )?;
    let python = mapper.map(&develop);
    if !mapper.errors.is_empty() {
        return Err(ManifestErrors(mapper.errors).into());
    }
    let ignored = &view.notes.ignored;
    if !ignored.is_empty() {
        tracing::warn!(
            "{file}: recipes are not run; ignored: {}",
            ignored.join(", ")
        );
    }
    Ok(Manifest {
        file: file.to_owned(),
        files,
        description: None,
        allow_unpinned: view.allow_picked_versions,
        local_overrides: develop.local_overrides,
        short_commits_pin: true,
        python,
        components: mapper.components,
        service: Default::default(),
    })
}

struct Mapper<'a> {
    view: &'a Effective,
    errors: Vec<ManifestError>,
    components: BTreeMap<ComponentName, Component>,
}

fn component(name: ComponentName, source: ComponentSource, at: &Location) -> Component {
    Component {
        name,
        install_python: !matches!(source, ComponentSource::Python { .. }),
        source,
        hashes: Vec::new(),
        extras: Vec::new(),
        version: None,
        marker: None,
        defined_at: at.clone(),
    }
}

impl Mapper<'_> {
    fn error(&mut self, at: &Location, message: String) {
        self.errors.push(ManifestError {
            at: at.clone(),
            message,
        });
    }

    /// `name` as a component name: only safe names become directories.
    fn name(&mut self, name: &str, at: &Location) -> Option<ComponentName> {
        ComponentName::parse(name)
            .map_err(|problem| self.error(at, problem))
            .ok()
    }

    /// The component an egg of this normalized name already is.
    fn find(&self, key: &str) -> Option<ComponentName> {
        self.components
            .keys()
            .find(|c| normalize(c) == key)
            .cloned()
    }

    fn map(&mut self, develop: &develop::Develop) -> PythonSettings {
        let view = self.view;
        let at = &view.at;
        for tree in &develop.trees {
            let Some(name) = self.name(&tree.project, &at.develop) else {
                continue;
            };
            let path = ComponentSource::Path {
                path: tree.path.clone(),
            };
            self.components
                .insert(name.clone(), component(name, path, &at.develop));
        }
        let heads = view.git_heads.clone().unwrap_or_default();
        for (name, url) in view.git_repos.iter().flatten() {
            let repo_at = at
                .git_repos
                .get(name)
                .cloned()
                .unwrap_or_else(|| at.root.clone());
            let key = normalize(name);
            if view.versions.get(&key).is_some_and(|v| !v.is_empty()) {
                self.error(&repo_at, format!("{name} is both in [git-repos] and in the versions section; a git egg is pinned by [git-heads], remove one"));
            }
            if self.find(&key).is_some() {
                self.error(
                    &repo_at,
                    format!("{name} is both in [git-repos] and a develop directory; remove one"),
                );
                continue;
            }
            let Some(component_name) = self.name(name, &repo_at) else {
                continue;
            };
            let url = url.trim();
            if !super::looks_like_git_location(url) {
                let message = format!(
                    "[git-repos] {name} = {url}: not a URL or absolute path of a git repository"
                );
                self.error(&repo_at, message);
            }
            let rev = heads
                .get(name)
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            if let Some(rev) = rev.as_ref().filter(|r| r.contains(char::is_whitespace)) {
                let message = format!("[git-heads] {name} = {rev}: not a tag, branch or commit");
                self.error(&repo_at, message);
            }
            if rev.is_none() && !view.allow_picked_versions {
                self.error(&repo_at, format!("git egg {name} has no [git-heads] entry, and allow-picked-versions = false"));
            }
            let source = ComponentSource::Git {
                url: url.to_owned(),
                rev,
            };
            self.components.insert(
                component_name.clone(),
                component(component_name, source, &repo_at),
            );
        }
        let fixed: Vec<String> = self.components.keys().map(|c| normalize(c)).collect();
        for (part, eggs) in &view.eggs {
            for egg in eggs {
                self.egg(part, egg, &fixed);
            }
        }
        let used: Vec<String> = self.components.keys().map(|c| normalize(c)).collect();
        let mut constraints = BTreeMap::new();
        for (name, version) in &view.versions {
            if used.contains(name) || version.is_empty() {
                continue;
            }
            // zc.buildout reads `1.1` and `==1.1` alike: both are exact.
            let exact = version.strip_prefix("==").unwrap_or(version).trim();
            if crate::core::pep440::is_valid(exact) {
                constraints.insert(name.clone(), exact.to_owned());
            } else {
                tracing::warn!("[versions] {name} = {version}: lava-deploy applies exact pins only; this one is ignored");
            }
        }
        let find_links = view
            .find_links
            .iter()
            .filter_map(|link| self.link(link, &at.find_links))
            .collect();
        let index_url = view
            .index
            .as_ref()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
            .and_then(|index| self.link(index, &at.index));
        PythonSettings {
            interpreter: None,
            index_url,
            find_links,
            constraints,
        }
    }

    /// A `find-links`/`index` entry: one inside `${buildout:directory}`
    /// becomes the directory of the branch it names (relative to its root),
    /// which lava-deploy serves from the branch as it exports `path`
    /// components; URLs and other paths stay as they are.
    fn link(&mut self, link: &str, at: &Location) -> Option<String> {
        if !link.contains(BUILDOUT_DIRECTORY) {
            return Some(link.to_owned());
        }
        let normalized = config::normalize(link);
        let inside = match normalized.strip_prefix(BUILDOUT_DIRECTORY) {
            Some("") => Some(".".to_owned()),
            Some(rest) => rest.strip_prefix('/').map(str::to_owned),
            None => None,
        };
        if inside.is_none() {
            self.error(at, format!("{link}: only a directory inside ${{buildout:directory}} (the manifest branch) can be read from it"));
        }
        inside
    }

    /// One egg of a part: a python component at its pin, or extras and a
    /// marker for a git or develop component of that name.
    fn egg(&mut self, part: &str, egg: &effective::Egg, fixed: &[String]) {
        let key = normalize(&egg.name);
        let existing = self.find(&key);
        if let Some(url) = &egg.url {
            self.error(&egg.at, format!("[{part}] eggs: {} @ {url}: lava-deploy installs eggs from the package index, [git-repos] or develop directories, not from a URL", egg.name));
            return;
        }
        let version = match &egg.pin {
            _ if fixed.contains(&key) => None,
            Some(pin) if crate::core::pep440::is_valid(pin) => Some(pin.clone()),
            Some(pin) => {
                self.error(&egg.at, format!("[{part}] eggs: {} =={pin} is not one exact version, which lava-deploy needs for a pin", egg.name));
                return;
            }
            None => {
                if !self.view.allow_picked_versions && existing.is_none() {
                    self.error(&egg.at, format!("egg {} has no pin in the versions section, and allow-picked-versions = false", egg.name));
                }
                // A range goes to the installer, which picks within it.
                Some(if egg.specifier.is_empty() {
                    LATEST.to_owned()
                } else {
                    egg.specifier.clone()
                })
            }
        };
        let name = match existing {
            Some(name) => name,
            None => {
                let Some(name) = self.name(&egg.name, &egg.at) else {
                    return;
                };
                let source = ComponentSource::Python {
                    version: version.clone().unwrap_or_default(),
                };
                let mut new = component(name.clone(), source, &egg.at);
                new.marker = egg.marker.clone();
                self.components.insert(name.clone(), new);
                name
            }
        };
        let component = self.components.get_mut(&name).expect("just found or added");
        if let (ComponentSource::Python { version: had }, Some(version)) =
            (&mut component.source, &version)
        {
            match merge_versions(had, version) {
                Some(merged) => *had = merged,
                None => {
                    let message = format!("egg {} is pinned to {had} in one part and to {version} in [{part}]; one environment holds one version", egg.name);
                    self.error(&egg.at, message);
                    return;
                }
            }
        }
        for extra in &egg.extras {
            if !component.extras.contains(extra) {
                component.extras.push(extra.clone());
                component.extras.sort();
            }
        }
        // A git or develop tree is developed whatever the marker says; only
        // a package of the index is installed where its marker holds.
        component.marker = match (&component.marker, &egg.marker) {
            _ if !matches!(component.source, ComponentSource::Python { .. }) => None,
            (Some(a), Some(b)) if a == b => Some(a.clone()),
            (Some(a), Some(b)) => Some(format!("({a}) or ({b})")),
            _ => None,
        };
    }
}

/// What one environment installs for an egg two parts ask for: the same
/// exact pin, or, for ranges (`latest` is any version), a version within
/// both; `None` when one part pins it and the other does not ask for that
/// pin alone (zc.buildout would install two versions, one per part).
fn merge_versions(a: &str, b: &str) -> Option<String> {
    use crate::core::model::python_range;
    match (python_range(a), python_range(b)) {
        (Some(x), Some(y)) => {
            let specs = crate::core::pep440::canonical_set(&format!("{x},{y}"))?;
            Some(if specs.is_empty() {
                LATEST.to_owned()
            } else {
                specs.join(",")
            })
        }
        _ => (a == b).then(|| a.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::merge_versions;

    #[test]
    fn one_environment_takes_one_version_for_all_parts() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("1.0", "1.0", Some("1.0")),
            ("1.0", "2.0", None),
            ("1.0", "latest", None),
            ("1.0", "<2", None),
            ("latest", "latest", Some("latest")),
            ("latest", "<2", Some("<2")),
            ("<2", ">=1.0", Some("<2,>=1.0")),
            ("<2", "<2", Some("<2")),
        ];
        for (a, b, merged) in cases {
            assert_eq!(merge_versions(a, b).as_deref(), *merged, "{a} + {b}");
            assert_eq!(merge_versions(b, a).as_deref(), *merged, "{b} + {a}");
        }
    }
}

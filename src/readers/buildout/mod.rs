//! zc.buildout configurations (`*.cfg`) read as zc.buildout reads them, for
//! what lava-deploy needs: the eggs of `parts`, `[versions]` pins,
//! `[git-repos]`/`[git-heads]`, `allow-picked-versions`, `develop`, `index`
//! and `find-links`. Recipes are not run; what is ignored is listed in one
//! warning.

mod config;
mod parse;

use std::collections::BTreeMap;

use super::BranchFiles;
use crate::core::error::Result;
use crate::core::model::{
    Component, ComponentSource, Location, Manifest, ManifestError, ManifestErrors, PythonSettings,
    LATEST,
};
use crate::core::names::{normalize_project as normalize, ComponentName};
use config::Config;

pub fn load(tree: &dyn BranchFiles, file: &str) -> Result<Manifest> {
    let mut errors = Vec::new();
    let config = config::load(tree, file, &mut errors)?;
    if !errors.is_empty() {
        return Err(ManifestErrors(errors).into());
    }
    let mut mapper = Mapper {
        config: &config,
        file,
        errors: Vec::new(),
        ignored: Vec::new(),
    };
    let manifest = mapper.manifest();
    if !mapper.errors.is_empty() {
        return Err(ManifestErrors(mapper.errors).into());
    }
    if !mapper.ignored.is_empty() {
        tracing::warn!(
            "{file}: recipes are not run; ignored: {}",
            mapper.ignored.join(", ")
        );
    }
    Ok(manifest)
}

struct Mapper<'a> {
    config: &'a Config,
    file: &'a str,
    errors: Vec<ManifestError>,
    ignored: Vec<String>,
}

impl Mapper<'_> {
    fn get(&mut self, section: &str, option: &str) -> Option<String> {
        match self.config.get(section, option) {
            Ok(value) => value,
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    fn at(&self, section: &str, option: &str) -> Location {
        self.config
            .raw(section, option)
            .map(|v| v.at.clone())
            .unwrap_or_else(|| Location {
                file: self.file.to_owned(),
                line: None,
            })
    }

    fn error(&mut self, at: Location, message: String) {
        self.errors.push(ManifestError { at, message });
    }

    fn manifest(&mut self) -> Manifest {
        if !self.config.sections.contains_key("buildout") {
            self.error(
                self.at("buildout", ""),
                "has no [buildout] section".to_owned(),
            );
        }
        let allow_picked = match self.get("buildout", "allow-picked-versions").as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                let at = self.at("buildout", "allow-picked-versions");
                self.error(
                    at,
                    format!(
                        "[buildout] allow-picked-versions = {other:?}: use exactly true or false"
                    ),
                );
                true
            }
        };
        let develop = self.get("buildout", "develop").unwrap_or_default();
        let local_overrides = develop.split_whitespace().any(|d| d == "local/*");
        for entry in develop.split_whitespace().filter(|d| *d != "local/*") {
            self.ignored.push(format!("develop = {entry}"));
        }
        if let Some(extensions) = self.config.raw("buildout", "extensions") {
            self.ignored.push(format!(
                "extensions = {}",
                extensions
                    .text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        for section in ["branches", "revisions", "sources"] {
            if self.config.sections.contains_key(section) {
                self.ignored.push(format!("[{section}]"));
            }
        }

        let pins = self.versions();
        let git = self.git_repos();
        for (name, (_, _, at)) in &git {
            if pins.contains_key(&normalize(name)) {
                self.error(
                    at.clone(),
                    format!("{name} is both in [git-repos] and in the versions section; a git egg is pinned by [git-heads], remove one"),
                );
            }
        }

        let mut components: BTreeMap<ComponentName, Component> = BTreeMap::new();
        for (name, (url, rev, at)) in &git {
            // `[git-repos]` keys become directories: the model only takes safe names.
            let Some(name) = self.component_name(name, at) else {
                continue;
            };
            components.insert(
                name.clone(),
                Component {
                    name,
                    source: ComponentSource::Git {
                        url: url.clone(),
                        rev: rev.clone(),
                    },
                    install_python: true,
                    hashes: Vec::new(),
                    extras: Vec::new(),
                    version: None,
                    defined_at: at.clone(),
                },
            );
        }
        let mut unpinned = Vec::new();
        for (egg, at) in self.eggs() {
            let key = normalize(&egg);
            if git.keys().any(|g| normalize(g) == key)
                || components.keys().any(|c| normalize(c) == key)
            {
                continue;
            }
            let version = match pins.get(&key) {
                Some((version, _)) => version.clone(),
                None => {
                    unpinned.push((egg.clone(), at.clone()));
                    LATEST.to_owned()
                }
            };
            let Some(name) = self.component_name(&egg, &at) else {
                continue;
            };
            components.insert(
                name.clone(),
                Component {
                    name,
                    source: ComponentSource::Python { version },
                    install_python: false,
                    hashes: Vec::new(),
                    extras: Vec::new(),
                    version: None,
                    defined_at: at,
                },
            );
        }
        if !allow_picked {
            for (egg, at) in unpinned {
                self.error(at, format!("egg {egg} has no pin in the versions section, and allow-picked-versions = false"));
            }
            for (name, (_, rev, at)) in &git {
                if rev.is_none() {
                    self.error(
                        at.clone(),
                        format!("git egg {name} has no [git-heads] entry, and allow-picked-versions = false"),
                    );
                }
            }
        }
        let component_keys: Vec<String> = components.keys().map(|c| normalize(c)).collect();
        let constraints = pins
            .iter()
            .filter(|(key, _)| !component_keys.contains(key))
            .map(|(_, (version, name))| (name.clone(), version.clone()))
            .collect();
        let index_url = self.get("buildout", "index");
        let find_links = self
            .get("buildout", "find-links")
            .map(|f| f.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        Manifest {
            file: self.file.to_owned(),
            files: self.config.files.clone(),
            description: None,
            allow_unpinned: allow_picked,
            local_overrides,
            short_commits_pin: true,
            python: PythonSettings {
                interpreter: None,
                index_url,
                find_links,
                constraints,
            },
            components,
            service: Default::default(),
        }
    }

    /// `name` as a component name, or an error at `at` naming it.
    fn component_name(&mut self, name: &str, at: &Location) -> Option<ComponentName> {
        ComponentName::parse(name)
            .map_err(|problem| self.error(at.clone(), problem))
            .ok()
    }

    /// The eggs of every part in `parts`, in order, once each.
    fn eggs(&mut self) -> Vec<(String, Location)> {
        let parts = self.get("buildout", "parts").unwrap_or_default();
        let mut eggs: Vec<(String, Location)> = Vec::new();
        for part in parts.split_whitespace() {
            if !self.config.sections.contains_key(part) {
                let at = self.at("buildout", "parts");
                self.error(
                    at,
                    format!("[buildout] parts names {part}, but there is no [{part}] section"),
                );
                continue;
            }
            if let Some(recipe) = self.config.raw(part, "recipe") {
                self.ignored
                    .push(format!("part {part} (recipe {})", recipe.text.trim()));
            }
            let at = self.at(part, "eggs");
            for line in self.get(part, "eggs").unwrap_or_default().lines() {
                let name: String = line
                    .trim()
                    .chars()
                    .take_while(|c| {
                        !matches!(c, '[' | '<' | '>' | '=' | '!' | '~' | ';' | '(' | ' ')
                    })
                    .collect();
                if !name.is_empty() && !eggs.iter().any(|(e, _)| normalize(e) == normalize(&name)) {
                    eggs.push((name, at.clone()));
                }
            }
        }
        eggs
    }

    /// The versions section: normalized name -> (version, name as written).
    fn versions(&mut self) -> BTreeMap<String, (String, String)> {
        let section = self
            .get("buildout", "versions")
            .unwrap_or_else(|| "versions".to_owned());
        let keys: Vec<String> = match self.config.sections.get(&section) {
            Some(options) => options.keys().cloned().collect(),
            None => return BTreeMap::new(),
        };
        let mut pins = BTreeMap::new();
        for key in keys {
            if let Some(version) = self.get(&section, &key) {
                let version = version.trim().trim_start_matches("==").trim().to_owned();
                pins.insert(normalize(&key), (version, key));
            }
        }
        pins
    }

    /// `[git-repos]` with their `[git-heads]`: name -> (url, rev, where).
    fn git_repos(&mut self) -> BTreeMap<String, (String, Option<String>, Location)> {
        let names: Vec<String> = match self.config.sections.get("git-repos") {
            Some(options) => options.keys().cloned().collect(),
            None => return BTreeMap::new(),
        };
        let mut repos = BTreeMap::new();
        for name in names {
            let at = self.at("git-repos", &name);
            let Some(url) = self.get("git-repos", &name) else {
                continue;
            };
            let rev = self
                .get("git-heads", &name)
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            repos.insert(name, (url.trim().to_owned(), rev, at));
        }
        repos
    }
}

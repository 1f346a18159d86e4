//! The items of a bill of materials, from the parts of a lock: the
//! manifest, each git/archive/branch-path component, each python package.

use super::{purl, Item, Kind, DEFAULT_INDEX, PROPERTY};
use crate::core::lock::{LockFile, LockedComponent, LockedOverride};
use crate::core::names::normalize_project;

pub(super) fn property(key: &str, value: impl Into<String>) -> (String, String) {
    (format!("{PROPERTY}:{key}"), value.into())
}

/// An id that SPDX accepts (`[A-Za-z0-9.-]+`), unique by its prefix.
fn item_id(prefix: &str, name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}-{name}")
}

/// The manifest branch at its commit, with its signer.
pub(super) fn manifest_item(lock: &LockFile) -> Item {
    let m = &lock.manifest;
    let git = git_url_of_spec(&m.source);
    let mut properties = vec![
        property("kind", "manifest"),
        property("manifest-source", m.source.clone()),
        property("manifest-file", m.file.clone()),
        property("manifest-commit", m.commit.clone()),
        property("manifest-describe", m.describe.clone()),
    ];
    let mut description = format!("the manifest {} at {} of {}", m.file, m.commit, m.source);
    match &m.signature {
        Some(signature) => {
            properties.push(property("manifest-signer", signature.principal.clone()));
            properties.push(property("manifest-signer-key", signature.key.clone()));
            properties.push(property("manifest-signed-object", signature.object.clone()));
            properties.push(property(
                "manifest-signers-file",
                signature.signers_file.clone(),
            ));
            description.push_str(&format!(
                ", signed by {} with key {} on {} (verified against {})",
                signature.principal, signature.key, signature.object, signature.signers_file
            ));
        }
        None => description.push_str(", signature not checked"),
    }
    let location = git.as_deref().map(|g| purl::vcs_location(g, &m.commit));
    Item {
        id: "Manifest".to_owned(),
        name: m.file.clone(),
        version: Some(m.commit.clone()),
        kind: Kind::Manifest,
        purl: match &location {
            Some(vcs) => purl::generic_vcs(&m.file, &m.commit, vcs, Some(&m.file)),
            None => purl::generic(&m.file, &m.commit),
        },
        sha256: Vec::new(),
        location,
        vcs: git.map(|g| purl::url_of_git(&g)),
        index: None,
        description,
        properties,
        overridden: None,
    }
}

/// The repository of a `URL#REF` branch spec; `None` for the built-in manifests.
fn git_url_of_spec(spec: &str) -> Option<String> {
    let url = spec.rsplit_once('#').map_or(spec, |(url, _)| url);
    (url != "builtin" && !url.is_empty()).then(|| url.to_owned())
}

/// A git, archive or branch-path component; python components are listed
/// with the environment.
pub(super) fn component_item(
    name: &str,
    component: &LockedComponent,
    lock: &LockFile,
    overridden: Option<&LockedOverride>,
) -> Option<Item> {
    let mut properties = vec![property("component", name)];
    let mut item = match component {
        LockedComponent::Git {
            git, rev, commit, ..
        } => {
            let vcs = purl::vcs_location(git, commit);
            properties.push(property("kind", "git"));
            if let Some(rev) = rev {
                properties.push(property("rev", rev.clone()));
            }
            Item {
                id: item_id("Component", name),
                name: name.to_owned(),
                version: Some(commit.clone()),
                kind: Kind::Git,
                purl: purl::generic_vcs(name, commit, &vcs, None),
                sha256: Vec::new(),
                location: Some(vcs),
                vcs: Some(purl::url_of_git(git)),
                index: None,
                description: format!("git {git} at commit {commit}"),
                properties: Vec::new(),
                overridden: None,
            }
        }
        LockedComponent::Url { url, sha256, .. } => {
            properties.push(property("kind", "archive"));
            Item {
                id: item_id("Component", name),
                name: name.to_owned(),
                version: None,
                kind: Kind::Archive,
                purl: purl::generic_download(name, url, sha256),
                sha256: vec![sha256.clone()],
                location: Some(url.clone()),
                vcs: None,
                index: None,
                description: format!("archive {url} with sha256 {sha256}"),
                properties: Vec::new(),
                overridden: None,
            }
        }
        LockedComponent::Path { path, tree, .. } => {
            let m = &lock.manifest;
            let git = git_url_of_spec(&m.source);
            let vcs = git.as_deref().map(|g| purl::vcs_location(g, &m.commit));
            properties.push(property("kind", "branch-path"));
            properties.push(property("tree", tree.clone()));
            Item {
                id: item_id("Component", name),
                name: name.to_owned(),
                version: Some(tree.clone()),
                kind: Kind::BranchPath,
                purl: match &vcs {
                    Some(vcs) => purl::generic_vcs(name, tree, vcs, Some(path)),
                    None => purl::generic(name, tree),
                },
                sha256: Vec::new(),
                location: vcs.map(|v| format!("{v}#{path}")),
                vcs: git.map(|g| purl::url_of_git(&g)),
                index: None,
                description: format!(
                    "directory {path} of the manifest branch at {} (tree {tree})",
                    m.commit
                ),
                properties: Vec::new(),
                overridden: None,
            }
        }
        LockedComponent::Python { .. } => return None,
    };
    if component.installs_python() {
        properties.push(property("install", "python"));
    }
    item.properties = properties;
    mark_override(&mut item, overridden);
    Some(item)
}

/// Every package of the environment, plus python components the
/// environment does not list (a lock written without one).
pub(super) fn python_items(lock: &LockFile) -> Vec<Item> {
    let index = lock.python.index_url.clone();
    let overridden = |name: &str| {
        lock.overrides
            .iter()
            .find(|(c, _)| normalize_project(c.as_str()) == normalize_project(name))
            .map(|(_, o)| o)
    };
    let mut items = Vec::new();
    let packages = lock.environment.as_ref().map(|e| &e.packages);
    for (key, package) in packages.into_iter().flatten() {
        let mut sha256: Vec<String> = package
            .sha256
            .iter()
            .chain(&package.hashes)
            .map(|h| bare_hash(h))
            .collect();
        sha256.sort();
        sha256.dedup();
        let mut properties = vec![property("kind", "python")];
        let from_index = !package.source_tree;
        let description = if from_index {
            let from = index.as_deref().unwrap_or(DEFAULT_INDEX);
            properties.push(property("python-index", from));
            for link in &lock.python.find_links {
                properties.push(property("python-find-links", link.clone()));
            }
            format!(
                "python package {} {} from {from}",
                package.name, package.version
            )
        } else {
            properties.push(property("built-from", "a component's source tree"));
            format!(
                "python package {} {} built from a component's source tree",
                package.name, package.version
            )
        };
        if package.picked {
            properties.push(property(
                "picked",
                "chosen by the installer, not pinned by the manifest",
            ));
        }
        if package.hashes.len() > 1 {
            properties.push(property(
                "hashes",
                "the digests of this version's files, one of which was installed",
            ));
        }
        let mut item = Item {
            id: item_id("Python", key),
            name: package.name.clone(),
            version: Some(package.version.clone()),
            kind: Kind::Python,
            purl: purl::pypi(
                &package.name,
                &package.version,
                index.as_deref().filter(|_| from_index),
            ),
            sha256,
            location: None,
            vcs: None,
            index: index.clone().filter(|_| from_index),
            description,
            properties,
            overridden: None,
        };
        mark_override(&mut item, overridden(key));
        items.push(item);
    }
    for (name, component) in &lock.components {
        let LockedComponent::Python {
            version, hashes, ..
        } = component
        else {
            continue;
        };
        let key = normalize_project(name.as_str());
        if packages.is_some_and(|p| p.contains_key(&key)) {
            continue;
        }
        let from = index.as_deref().unwrap_or(DEFAULT_INDEX);
        let mut item = Item {
            id: item_id("Python", &key),
            name: name.to_string(),
            version: Some(version.clone()),
            kind: Kind::Python,
            purl: purl::pypi(name.as_str(), version, index.as_deref()),
            sha256: hashes.iter().map(|h| bare_hash(h)).collect(),
            location: None,
            vcs: None,
            index: index.clone(),
            description: format!("python package {name} {version} from {from}"),
            properties: vec![property("kind", "python"), property("python-index", from)],
            overridden: None,
        };
        mark_override(&mut item, overridden(name.as_str()));
        items.push(item);
    }
    items
}

/// `sha256:abc` or `abc` → `abc`.
fn bare_hash(hash: &str) -> String {
    hash.strip_prefix("sha256:").unwrap_or(hash).to_owned()
}

/// Says that `local/` replaces the item in this release.
fn mark_override(item: &mut Item, overridden: Option<&LockedOverride>) {
    let Some(o) = overridden else {
        return;
    };
    let what = o.describe();
    item.properties.push(property("override", what.clone()));
    item.properties
        .push(property("override-path", o.path.clone()));
    item.properties
        .push(property("override-matched-by", o.matched_by.clone()));
    item.description.push_str(&format!(
        "; OVERRIDDEN in this release by {what} ({}): the release runs that checkout, not this pin",
        o.path
    ));
    item.overridden = Some(what);
}

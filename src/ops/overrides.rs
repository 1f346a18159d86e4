//! `local/`: directories that stand in for pinned components. Each entry
//! directly under `local/` is matched to a component by its python project
//! name, else by its git origin URL, else by its directory name.

use std::collections::BTreeMap;
use std::path::Path;

use fs_err as fs;

use crate::core::error::Result;
use crate::core::lock::{LockFile, LockedComponent, LockedOverride};
use crate::core::names::{normalize_project as normalize, ComponentName};
use crate::infra::python::project::project_name;
use crate::invalid;
use crate::store::Instance;

/// How a directory was recognised as a component.
#[derive(Debug, Clone)]
pub struct Match {
    pub component: ComponentName,
    pub matched_by: String,
}

/// Which component `dir` is, if any. `name` is its name under `local/`.
pub fn match_dir(
    dir: &Path,
    name: &str,
    components: &BTreeMap<ComponentName, LockedComponent>,
) -> std::result::Result<Match, String> {
    let project = project_name(dir);
    if let Some(project) = &project {
        let wanted = normalize(project);
        if let Some(component) = components.keys().find(|c| normalize(c) == wanted) {
            return Ok(Match {
                component: component.clone(),
                matched_by: format!("python project name {project}"),
            });
        }
    }
    let origin = git_origin(dir);
    if let Some(origin) = &origin {
        let wanted = normalize_git_url(origin);
        let found = components.iter().find(|(_, c)| {
            matches!(c, LockedComponent::Git { git, .. } if normalize_git_url(git) == wanted)
        });
        if let Some((component, _)) = found {
            return Ok(Match {
                component: component.clone(),
                matched_by: format!("git origin {origin}"),
            });
        }
    }
    if let Some((component, _)) = components.get_key_value(name) {
        return Ok(Match {
            component: component.clone(),
            matched_by: "directory name".to_owned(),
        });
    }
    let mut looked_at = Vec::new();
    if let Some(project) = project {
        looked_at.push(format!("python project name {project}"));
    }
    if let Some(origin) = origin {
        looked_at.push(format!("git origin {origin}"));
    }
    looked_at.push(format!("directory name {name}"));
    Err(looked_at.join(", "))
}

/// The overrides now in `instance`'s `local/`, recorded into `lock` (or
/// none, with a notice, when the manifest turns them off).
pub fn apply(instance: &Instance, lock: &mut LockFile) -> Result<()> {
    let local = instance.local_dir();
    if !lock.manifest.local_overrides {
        lock.overrides.clear();
        if !entries(&local)?.is_empty() {
            tracing::info!(
                "{} is ignored: the manifest sets local-overrides = false",
                local.display()
            );
        }
        return Ok(());
    }
    lock.overrides = discover(&local, &lock.components)?;
    for (component, found) in &lock.overrides {
        tracing::info!(
            "override: {component} <- {} (by {})",
            found.describe(),
            found.matched_by
        );
    }
    Ok(())
}

/// Every override in `local`, by component. Two directories claiming one
/// component is an error naming both; a directory matching nothing is a
/// warning.
pub fn discover(
    local: &Path,
    components: &BTreeMap<ComponentName, LockedComponent>,
) -> Result<BTreeMap<ComponentName, LockedOverride>> {
    let mut found: BTreeMap<ComponentName, LockedOverride> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for name in entries(local)? {
        let path = local.join(&name);
        let Ok(real) = std::fs::canonicalize(&path) else {
            tracing::warn!("{} is a broken link; it is ignored", path.display());
            continue;
        };
        if !real.is_dir() {
            continue;
        }
        let matched = match match_dir(&real, &name, components) {
            Ok(matched) => matched,
            Err(looked_at) => {
                tracing::warn!(
                    "local/{name} matches no component of the manifest ({looked_at}); it is ignored"
                );
                continue;
            }
        };
        if let Some(other) = found.get(&matched.component) {
            conflicts.push(format!(
                "local/{} and local/{name} both claim component {} ({} / {}); remove or move one of them",
                other.dir, matched.component, other.matched_by, matched.matched_by
            ));
            continue;
        }
        let (head, dirty) = git_state(&real);
        found.insert(
            matched.component,
            LockedOverride {
                dir: name,
                path: real.display().to_string(),
                matched_by: matched.matched_by,
                head,
                dirty,
            },
        );
    }
    if !conflicts.is_empty() {
        return Err(invalid!(
            "conflicting local overrides in {}: {}",
            local.display(),
            conflicts.join("; ")
        ));
    }
    Ok(found)
}

/// Names of the entries directly under `local/` (hidden ones skipped).
fn entries(local: &Path) -> anyhow::Result<Vec<String>> {
    Ok(crate::infra::fs::dir_names_if_exists(local)?
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect())
}

fn git_origin(dir: &Path) -> Option<String> {
    let repo = git2::Repository::open(dir).ok()?;
    let remote = repo.find_remote("origin").ok()?;
    remote.url().map(str::to_owned)
}

/// HEAD and whether there are uncommitted changes, for a git checkout.
fn git_state(dir: &Path) -> (Option<String>, Option<bool>) {
    let Ok(repo) = git2::Repository::open(dir) else {
        return (None, None);
    };
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string());
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).include_ignored(false);
    let dirty = repo
        .statuses(Some(&mut options))
        .ok()
        .map(|s| !s.is_empty());
    (head, dirty)
}

/// Git URLs compared the way people write them: `file://`, a trailing
/// `/` or `.git` make no difference.
pub fn normalize_git_url(url: &str) -> String {
    let url = url.strip_prefix("file://").unwrap_or(url);
    let url = url.trim_end_matches('/');
    url.strip_suffix(".git")
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_owned()
}

/// Links `dir` into `local/` under its component's name (`develop`).
/// Returns the link made, so a failed rebuild can take it back.
pub fn link_checkout(
    instance: &Instance,
    lock: &LockFile,
    dir: &Path,
) -> Result<std::path::PathBuf> {
    let real = std::fs::canonicalize(dir)
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| invalid!("{} is not a directory", dir.display()))?;
    let name = real
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let matched = match_dir(&real, &name, &lock.components).map_err(|looked_at| {
        invalid!(
            "{} matches no component of instance {} ({looked_at}); its components: {}",
            real.display(),
            instance.name,
            lock.components
                .keys()
                .map(ComponentName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let local = instance.local_dir();
    fs::create_dir_all(&local)?;
    let existing = discover(&local, &lock.components)?;
    if let Some(other) = existing.get(&matched.component) {
        if Path::new(&other.path) == real {
            return Err(invalid!(
                "{} is already linked as local/{} for component {}",
                real.display(),
                other.dir,
                matched.component
            ));
        }
        return Err(invalid!(
            "component {} is already overridden by local/{} ({}); run `lava-deploy undevelop {} {}` first",
            matched.component,
            other.dir,
            other.path,
            instance.name,
            matched.component
        ));
    }
    let link = local.join(matched.component.as_str());
    if std::fs::symlink_metadata(&link).is_ok() {
        return Err(invalid!(
            "{} already exists; move it away first",
            link.display()
        ));
    }
    fs::os::unix::fs::symlink(&real, &link)?;
    tracing::info!(
        "linked {} as {} ({})",
        real.display(),
        link.display(),
        matched.matched_by
    );
    Ok(link)
}

/// Removes the link in `local/` that overrides `component` (`undevelop`).
/// Returns where it pointed. A real directory is never removed.
pub fn unlink_checkout(
    instance: &Instance,
    lock: &LockFile,
    component: &str,
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let local = instance.local_dir();
    let found = discover(&local, &lock.components)?;
    let Some(entry) = found.get(component) else {
        return Err(invalid!(
            "component {component} of instance {} is not overridden in {}",
            instance.name,
            local.display()
        ));
    };
    let link = local.join(&entry.dir);
    let target = std::fs::read_link(&link).map_err(|_| {
        invalid!(
            "{} is a directory, not a link made by develop; lava-deploy never deletes a checkout: move it out of local/ yourself",
            link.display()
        )
    })?;
    fs::remove_file(&link)?;
    Ok((link, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_normalize() {
        assert_eq!(
            normalize_git_url("file:///srv/git/lava.git/"),
            "/srv/git/lava"
        );
        assert_eq!(
            normalize_git_url("https://git.example.org/lava/lava-server.git"),
            "https://git.example.org/lava/lava-server"
        );
        assert_eq!(normalize_git_url("/srv/git/lava"), "/srv/git/lava");
    }
}

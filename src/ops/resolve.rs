//! From a validated manifest to a lock: every component's asked revision
//! turned into an exact pin, concurrently, with all failures reported at once.

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::source::ManifestBranch;
use super::Context;
use crate::core::error::Result;
use crate::core::lock::{LockFile, LockedComponent, LockedManifest, TreeBuild, LOCK_VERSION};
use crate::core::model::{
    python_range, unpinned_message, Component, ComponentSource, Manifest, ManifestError,
    ManifestErrors,
};
use crate::core::names::ComponentName;
use crate::infra::git::RevKind;

/// A component's pin, or why it is not acceptable as one.
enum Outcome {
    Locked(LockedComponent),
    Unpinned(ManifestError),
}

pub fn resolve(ctx: &Context, branch: &ManifestBranch, manifest: &Manifest) -> Result<LockFile> {
    let components: Vec<&Component> = manifest.components.values().collect();
    let phase = crate::infra::progress::Phase::start("resolve", components.len());
    let outcomes =
        crate::infra::parallel::parallel_map(&components, ctx.settings.jobs, |component| {
            let outcome = resolve_component(ctx, branch, manifest, component);
            phase.done(&component.name);
            outcome.with_context(|| {
                format!(
                    "component {} ({})",
                    component.name,
                    describe_source(&component.source)
                )
            })
        });
    drop(phase);
    let mut locked = BTreeMap::new();
    let mut unpinned = Vec::new();
    let mut failures = Vec::new();
    for (component, outcome) in components.iter().zip(outcomes) {
        match outcome {
            Ok(Outcome::Locked(lock)) => {
                locked.insert(component.name.clone(), lock);
            }
            Ok(Outcome::Unpinned(error)) => unpinned.push(error),
            Err(err) => failures.push(err),
        }
    }
    crate::infra::parallel::combine_errors(failures, "components could not be resolved")?;
    if !unpinned.is_empty() {
        return Err(ManifestErrors(unpinned).into());
    }
    resolve_latest(ctx, branch, manifest, &mut locked)?;
    Ok(LockFile {
        version: LOCK_VERSION,
        manifest: LockedManifest {
            source: branch.spec.to_spec_string(),
            commit: branch.commit.clone(),
            describe: branch.describe.clone(),
            file: manifest.file.clone(),
            description: manifest.description.clone(),
            allow_unpinned: manifest.allow_unpinned,
            local_overrides: manifest.local_overrides,
            signature: branch.signature.clone(),
        },
        python: manifest.python.clone(),
        components: locked,
        service: manifest.service.clone(),
        overrides: BTreeMap::new(),
        environment: None,
    })
}

/// `python = "latest"` or a range: the newest version (within the range)
/// now, asked of the installer in one call for all such components.
fn resolve_latest(
    ctx: &Context,
    branch: &ManifestBranch,
    manifest: &Manifest,
    locked: &mut BTreeMap<ComponentName, LockedComponent>,
) -> anyhow::Result<()> {
    let wanted: Vec<(String, String)> = locked
        .iter()
        .filter_map(|(name, c)| match c {
            LockedComponent::Python { python, .. } => {
                Some((name.to_string(), python_range(python)?))
            }
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let tools = ctx.python_tools();
    let shown: Vec<String> = wanted
        .iter()
        .map(|(name, range)| format!("{name}{range}"))
        .collect();
    let links = tempfile::Builder::new().prefix("lava-links-").tempdir()?;
    let python =
        super::branch_links::serve_from_branch(&manifest.python, &branch.tree, links.path())?;
    let versions = crate::infra::python::installer::resolve_latest(&tools, &python, &wanted)
        .with_context(|| format!("cannot find the latest version of {}", shown.join(", ")))?;
    for (name, newest) in versions {
        if let Some(LockedComponent::Python { version, .. }) = locked.get_mut(name.as_str()) {
            tracing::info!("{name}: latest is {newest}");
            *version = newest;
        }
    }
    Ok(())
}

/// A one-line description of where a component comes from.
pub fn describe_source(source: &ComponentSource) -> String {
    match source {
        ComponentSource::Git {
            url,
            rev: Some(rev),
        } => format!("git {url} at {rev}"),
        ComponentSource::Git { url, rev: None } => format!("git {url}, default branch"),
        ComponentSource::Url { url, .. } => format!("url {url}"),
        ComponentSource::Path { path } => format!("path {path} of the manifest branch"),
        ComponentSource::Python { version } => format!("python package {version}"),
    }
}

fn resolve_component(
    ctx: &Context,
    branch: &ManifestBranch,
    manifest: &Manifest,
    component: &Component,
) -> anyhow::Result<Outcome> {
    let install = component.install_python.then(|| "python".to_owned());
    let extras = component.extras.clone();
    let version = component.version.clone();
    let locked = match &component.source {
        ComponentSource::Git { url, rev } => {
            let mirror = ctx.git.mirror(url)?;
            let resolved = mirror.resolve(rev.as_deref())?;
            let short_ok = manifest.short_commits_pin && resolved.kind == RevKind::ShortCommit;
            if !manifest.allow_unpinned && !resolved.kind.is_pinned() && !short_ok {
                let what = match resolved.kind {
                    RevKind::Branch => "is at a branch, which moves",
                    _ => "is at an abbreviated commit",
                };
                return Ok(Outcome::Unpinned(ManifestError {
                    at: component.defined_at.clone(),
                    message: unpinned_message(&component.name, what),
                }));
            }
            tracing::debug!(
                "{}: {} -> {}",
                component.name,
                rev.as_deref().unwrap_or("HEAD"),
                resolved.commit
            );
            // An abbreviated commit is recorded in full: it is what it means.
            let rev = match resolved.kind {
                RevKind::ShortCommit => Some(resolved.commit.to_string()),
                _ => rev.clone(),
            };
            // The tree is exported without `.git`, so a build that asks git
            // for its version (setuptools-scm) is told what git would have
            // said, computed now from the mirror's history and kept in the
            // lock for rebuilds.
            let version = match version {
                Some(version) => Some(version),
                None if component.install_python => {
                    let described = describe_for_version(ctx, &mirror, url, resolved.commit)?;
                    Some(crate::core::pep440::from_describe(
                        described.tag.as_deref(),
                        described.distance,
                        &described.short,
                    ))
                }
                None => None,
            };
            LockedComponent::Git {
                git: url.clone(),
                rev,
                commit: resolved.commit.to_string(),
                build: TreeBuild {
                    install,
                    extras,
                    version,
                },
            }
        }
        ComponentSource::Url { url, sha256 } => {
            let sha256 = match sha256 {
                // Offline, a missing download is reported now, with every
                // other missing piece, rather than in the middle of the build.
                Some(sha256) => {
                    ctx.downloader()?.ensure_cached_if_offline(url, sha256)?;
                    sha256.clone()
                }
                // Unpinned (allowed): the pin is whatever the server has now.
                None => ctx.downloader()?.fetch(url, None)?.sha256,
            };
            LockedComponent::Url {
                url: url.clone(),
                sha256,
                build: TreeBuild {
                    install,
                    extras,
                    version,
                },
            }
        }
        ComponentSource::Path { path } => LockedComponent::Path {
            path: path.clone(),
            tree: branch.tree.dir_digest(path)?,
            build: TreeBuild {
                install,
                extras,
                version,
            },
        },
        ComponentSource::Python { version } => LockedComponent::Python {
            python: version.clone(),
            version: version.clone(),
            hashes: component.hashes.clone(),
            extras,
            marker: component.marker.clone(),
        },
    };
    Ok(Outcome::Locked(locked))
}

/// What `git describe` says of a git tree's pin, for its version. A shallow
/// mirror (network remotes are fetched at depth 1) holds no tag behind a
/// branch tip: when none is found there and the tree takes its version
/// from git, its whole history is fetched once, so that the version is the
/// one a clone would build (`TAG.postN+gSHORT`), not `0.0.postN`.
fn describe_for_version(
    ctx: &Context,
    mirror: &crate::infra::git::Mirror,
    url: &str,
    commit: git2::Oid,
) -> anyhow::Result<crate::infra::git::Described> {
    let described = mirror.describe_long(commit)?;
    if described.tag.is_some() || !mirror.is_shallow()? || !mirror.versions_from_git(commit)? {
        return Ok(described);
    }
    if ctx.settings.offline {
        tracing::warn!(
            "{url}: the cached history of {commit:.12} reaches no tag, and --offline forbids \
             fetching the rest: its version is {} (set `version` in the manifest to choose it)",
            crate::core::pep440::from_describe(None, described.distance, &described.short)
        );
        return Ok(described);
    }
    tracing::info!(
        "{url}: {commit:.12} is past its last tag and builds its version from git: \
         fetching the whole history once to describe it"
    );
    mirror.unshallow()?;
    mirror.describe_long(commit)
}

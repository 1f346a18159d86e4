//! From a lock to a release directory: built in place, under its final
//! name (so hooks and the python environment see the paths they will run
//! from), and a release only once `lava.lock` is written last; until then
//! a failed or killed build is removed, so no later run can mistake a
//! half-built release for a good one.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fs_err as fs;
use git2::Oid;

use super::source::ManifestBranch;
use super::Context;
use crate::core::archive_format::ArchiveFormat;
use crate::core::error::Result;
use crate::core::lock::{LockFile, LockedComponent};
use crate::core::names::{ComponentName, ReleaseName};
use crate::infra::archive;
use crate::infra::fs::remove_path;
use crate::store::{Instance, LOCK_FILE};

/// A release directory not yet switched to: removed on drop (a failed build
/// or `pre-switch`, an interrupt) unless kept.
pub struct StagedRelease {
    pub dir: PathBuf,
    committed: bool,
}

impl StagedRelease {
    fn new(dir: PathBuf) -> Self {
        crate::infra::interrupt::register(&dir);
        StagedRelease {
            dir,
            committed: false,
        }
    }

    /// The release stays: it is about to become `current`.
    pub fn keep(mut self) {
        self.committed = true;
    }
}

impl Drop for StagedRelease {
    fn drop(&mut self) {
        if !self.committed {
            if let Err(err) = remove_path(&self.dir) {
                tracing::warn!("{err:#}");
            }
        }
        crate::infra::interrupt::unregister(&self.dir);
    }
}

/// Builds `release` from `lock` in place, at `code/<release>` (hooks see the
/// final path; the python env needs no relocation): source trees, the
/// python env, the shared links, then `build_hooks`, and `lava.lock` last,
/// which is what makes the directory a release. Does not touch `current`.
/// Returns the release (removed when dropped, unless kept) and the lock as
/// written into it (with the installed environment).
pub fn build_release(
    ctx: &Context,
    instance: &Instance,
    release: &ReleaseName,
    lock: &LockFile,
    branch: &ManifestBranch,
    build_hooks: impl FnOnce() -> Result<()>,
) -> Result<(StagedRelease, LockFile)> {
    let staged = StagedRelease::new(instance.release_dir(release));
    remove_path(&staged.dir)?;
    let src = staged.dir.join("src");
    for dir in [&src, &staged.dir.join("bin")] {
        fs::create_dir_all(dir)?;
    }
    let local = staged.dir.join("local");
    std::os::unix::fs::symlink("../../local", &local)
        .with_context(|| format!("cannot create symlink {}", local.display()))?;

    let sources: Vec<(&ComponentName, &LockedComponent)> = lock
        .components
        .iter()
        .filter(|(name, c)| {
            !matches!(c, LockedComponent::Python { .. }) && !lock.overrides.contains_key(*name)
        })
        .collect();
    // An overridden component's source is the developer's directory.
    for (name, found) in &lock.overrides {
        let link = src.join(name.as_str());
        std::os::unix::fs::symlink(Path::new("../local").join(&found.dir), &link)
            .with_context(|| format!("cannot create symlink {}", link.display()))?;
    }
    // Trees the current release already has at the same pin are copied
    // from it instead of fetched again: an upgrade costs what changed. They
    // are cloned or copied (never shared, unless --link-mode hardlink), so
    // an edit in `current` cannot reach the release rollback returns to.
    let previous = instance.current_lock().ok().flatten();
    let reusable = |name: &str, component: &LockedComponent| -> Option<PathBuf> {
        let (release, lock) = previous.as_ref()?;
        let same =
            lock.components.get(name) == Some(component) && !lock.overrides.contains_key(name);
        let tree = instance.release_dir(release).join("src").join(name);
        (same && tree.is_dir() && !tree.is_symlink()).then_some(tree)
    };
    let link_mode = ctx.settings.link_mode;
    let phase = crate::infra::progress::Phase::start("fetch", sources.len());
    let jobs = ctx.settings.jobs;
    let results = crate::infra::parallel::parallel_map(&sources, jobs, |(name, component)| {
        let started = std::time::Instant::now();
        let dest = src.join(name.as_str());
        let result = match reusable(name, component) {
            Some(tree) => crate::infra::tree::copy_tree(&tree, &dest, link_mode, 2).map(|s| {
                tracing::debug!(
                    "{name}: reused from the current release ({} files: {} cloned, {} copied, {} hardlinked)",
                    s.files,
                    s.cloned,
                    s.copied,
                    s.linked
                );
            }),
            None => fetch_component(ctx, branch, component, &dest),
        }
        .with_context(|| format!("component {name} ({})", component.origin(name)));
        tracing::debug!("{name}: fetched in {:.2?}", started.elapsed());
        phase.done(name);
        result
    });
    drop(phase);
    crate::infra::parallel::combine_errors(
        results.into_iter().filter_map(Result::err).collect(),
        "components could not be fetched",
    )?;

    let mut lock = lock.clone();
    if lock
        .components
        .values()
        .any(LockedComponent::installs_python)
    {
        // find-links/index-url directories of the branch, exported for the
        // installer while it runs.
        let links = staged.dir.join(".lava-branch-links");
        let python = super::branch_links::serve_from_branch(&lock.python, &branch.tree, &links)?;
        let mut plan = env_plan(&lock, &src, &instance.local_dir());
        plan.settings = &python;
        let environment = crate::infra::python::build_env(&ctx.python_tools(), &plan, &staged.dir)
            .map_err(|err| err.context("cannot build the python environment"))?;
        remove_path(&links)?;
        lock.environment = Some(environment);
    }

    write_rebuild_script(ctx, instance, &staged.dir.join("bin/rebuild"))?;
    instance.link_shared(&staged.dir, &lock.service.shared)?;
    build_hooks()?;

    // The lock is written last: a release directory without one is not a
    // release (and is removed as a leftover by the next run).
    crate::infra::fs::write_atomic(&staged.dir.join(LOCK_FILE), lock.to_toml().as_bytes())?;
    crate::infra::fs::sync_dir(&instance.code_dir());
    Ok((staged, lock))
}

/// `bin/rebuild`: the old `./bin/buildout` habit, rebuilding this instance
/// from its current lock plus what is now in local/.
fn write_rebuild_script(ctx: &Context, instance: &Instance, path: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot tell where lava-deploy itself is")?;
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let script = format!(
        "#!/bin/sh\n# Rebuilds instance {name} from its current release plus local/ (the old ./bin/buildout).\n\
         exec {exe} --root {root} rebuild {name} \"$@\"\n",
        name = quote(instance.name.as_str()),
        exe = quote(&exe.to_string_lossy()),
        root = quote(&ctx.root.path.to_string_lossy()),
    );
    fs::write(path, script)?;
    crate::infra::fs::make_executable(path)
}

/// The python packages, source trees and editable overrides of a lock.
fn env_plan<'a>(lock: &'a LockFile, src: &Path, local: &Path) -> crate::infra::python::EnvPlan<'a> {
    let mut plan = crate::infra::python::EnvPlan {
        settings: &lock.python,
        allow_unpinned: lock.manifest.allow_unpinned,
        packages: Vec::new(),
        trees: Vec::new(),
        editables: Vec::new(),
    };
    let tree = |name: &ComponentName, component: &LockedComponent, path: PathBuf| {
        crate::infra::python::SourceTree {
            component: name.to_string(),
            path,
            extras: component.extras().to_vec(),
            version: component.tree_version().map(str::to_owned),
        }
    };
    for (name, component) in &lock.components {
        if let Some(found) = lock.overrides.get(name) {
            // The checkout stands in for the tree, extras and all.
            if component.installs_python() {
                plan.editables
                    .push(tree(name, component, local.join(&found.dir)));
            }
            continue;
        }
        match component {
            LockedComponent::Python {
                version,
                hashes,
                extras,
                marker,
                ..
            } => plan.packages.push(crate::infra::python::Package {
                name: name.to_string(),
                version: version.clone(),
                hashes: hashes.clone(),
                extras: extras.clone(),
                marker: marker.clone(),
            }),
            other if other.installs_python() => {
                plan.trees.push(tree(name, other, src.join(name.as_str())))
            }
            _ => {}
        }
    }
    plan
}

/// Puts one component's tree at `dest`.
pub fn fetch_component(
    ctx: &Context,
    branch: &ManifestBranch,
    component: &LockedComponent,
    dest: &Path,
) -> anyhow::Result<()> {
    match component {
        LockedComponent::Git { git, commit, .. } => {
            crate::infra::failpoint::hit("fetch");
            let mirror = ctx.git.mirror(git)?;
            let oid = Oid::from_str(commit)?;
            // The commit is in the mirror after resolution; a rebuild from an
            // old lock may need to fetch it again.
            mirror.resolve(Some(commit))?;
            mirror.export(oid, dest)
        }
        LockedComponent::Url { url, sha256, .. } => {
            crate::infra::failpoint::hit("fetch");
            let download = ctx.downloader()?.fetch(url, Some(sha256))?;
            let format = ArchiveFormat::from_url(url)
                .with_context(|| format!("{url} is not a known archive type"))?;
            crate::infra::failpoint::hit("extract");
            archive::extract(&download.path, format, dest)
        }
        LockedComponent::Path { path, .. } => branch.tree.export_dir(path, dest),
        LockedComponent::Python { .. } => Ok(()),
    }
}

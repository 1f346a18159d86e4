//! Writing a git tree out as plain files. The directories are made first,
//! then the files are written by a few threads, each with its own handle
//! on the repository (libgit2 handles are not shared between threads):
//! inflating blobs out of a pack is CPU work that one thread does at a
//! fraction of what the disk takes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};
use fs_err as fs;
use git2::{Oid, Repository};

/// Below this many files one thread writes them all: starting threads and
/// opening the repository again would cost more than it saves.
const PARALLEL_FROM: usize = 200;

/// Files a thread takes at once.
const RUN: usize = 32;

/// A file to write: where, which blob, its git mode.
struct Entry {
    path: PathBuf,
    blob: Oid,
    mode: i32,
}

/// Writes the tree `tree` of the repository at `repo` to `dest` (created):
/// regular and executable files, symlinks; submodules become empty
/// directories. `jobs` bounds the writing threads.
pub fn export_tree(repo: &Path, tree: Oid, dest: &Path, jobs: usize) -> Result<()> {
    let handle = open(repo)?;
    let mut entries = Vec::new();
    collect(&handle, tree, dest, &mut entries)?;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(jobs)
        .max(1);
    if threads == 1 || entries.len() < PARALLEL_FROM {
        return entries.iter().try_for_each(|e| write_entry(&handle, e));
    }
    drop(handle);
    // Threads take runs of consecutive files (mostly one directory, whose
    // lock in the kernel they then do not fight over) until none are left.
    let next = AtomicUsize::new(0);
    let lanes: Vec<usize> = (0..threads).collect();
    let results = crate::infra::parallel::parallel_map(&lanes, threads, |_| {
        let handle = open(repo)?;
        loop {
            let start = next.fetch_add(RUN, Ordering::Relaxed);
            let Some(run) = entries.get(start..(start + RUN).min(entries.len())) else {
                return Ok(());
            };
            run.iter().try_for_each(|e| write_entry(&handle, e))?;
        }
    });
    results.into_iter().collect()
}

fn open(repo: &Path) -> Result<Repository> {
    super::open_bare(repo)
}

/// Makes the directories of `tree` under `dest` and lists its files.
fn collect(repo: &Repository, tree: Oid, dest: &Path, out: &mut Vec<Entry>) -> Result<()> {
    fs::create_dir_all(dest)?;
    let tree = repo.find_tree(tree)?;
    for entry in tree.iter() {
        let Some(name) = entry.name() else {
            bail!("a file name in {} is not UTF-8", dest.display());
        };
        if name == ".." || name == "." || name.contains('/') {
            bail!("refusing the unsafe file name {name:?} in a git tree");
        }
        let target = dest.join(name);
        match entry.kind() {
            Some(git2::ObjectType::Tree) => collect(repo, entry.id(), &target, out)?,
            Some(git2::ObjectType::Blob) => out.push(Entry {
                path: target,
                blob: entry.id(),
                mode: entry.filemode(),
            }),
            Some(git2::ObjectType::Commit) => {
                tracing::warn!("submodule {} is not exported", target.display());
                fs::create_dir_all(&target)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_entry(repo: &Repository, entry: &Entry) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let blob = repo.find_blob(entry.blob)?;
    let target = &entry.path;
    if entry.mode == 0o120000 {
        let link = std::str::from_utf8(blob.content()).context("symlink target is not UTF-8")?;
        std::os::unix::fs::symlink(link, target)
            .with_context(|| format!("cannot create symlink {}", target.display()))?;
        return Ok(());
    }
    fs::write(target, blob.content())?;
    if entry.mode == 0o100755 {
        fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

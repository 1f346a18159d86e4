//! Reading one tree of a mirror in place: a manifest branch at a commit.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use super::{export_tree, open_bare};

/// One tree of a mirror (a manifest branch at a commit), read in place.
#[derive(Debug, Clone)]
pub struct GitTree {
    pub(super) repo: PathBuf,
    pub(super) tree: Oid,
    /// Threads for an export.
    pub(super) jobs: usize,
}

impl GitTree {
    fn open(&self) -> Result<(Repository, Oid)> {
        Ok((open_bare(&self.repo)?, self.tree))
    }

    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let (repo, tree) = self.open()?;
        let tree = repo.find_tree(tree)?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        let object = entry.to_object(&repo)?;
        Ok(object.as_blob().map(|blob| blob.content().to_vec()))
    }

    pub fn is_dir(&self, path: &str) -> Result<bool> {
        let (repo, tree) = self.open()?;
        let tree = repo.find_tree(tree)?;
        Ok(tree
            .get_path(Path::new(path))
            .is_ok_and(|e| e.kind() == Some(git2::ObjectType::Tree)))
    }

    /// Every file, as branch paths.
    pub fn files(&self) -> Result<Vec<String>> {
        let (repo, tree) = self.open()?;
        let tree = repo.find_tree(tree)?;
        let mut files = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                files.push(format!("{dir}{}", entry.name().unwrap_or("")));
            }
            git2::TreeWalkResult::Ok
        })?;
        Ok(files)
    }

    /// The object id of the entry at `path`: it changes exactly when the
    /// directory's contents do.
    pub fn entry_id(&self, path: &str) -> Result<Oid> {
        let (repo, tree) = self.open()?;
        // `.`: the branch itself (a zc.buildout `develop = .`).
        if path.is_empty() || path == "." {
            return Ok(tree);
        }
        let tree = repo.find_tree(tree)?;
        let entry = tree
            .get_path(Path::new(path))
            .with_context(|| format!("{path} is not a directory of the manifest branch"))?;
        Ok(entry.id())
    }

    /// Writes the directory `path` to `dest`.
    pub fn export_dir(&self, path: &str, dest: &Path) -> Result<()> {
        let id = self.entry_id(path)?;
        export_tree(&self.repo, id, dest, self.jobs)
    }
}

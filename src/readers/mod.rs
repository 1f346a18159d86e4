//! Readers of manifest files: native TOML (`native`, with its serde schema
//! in `raw`) and zc.buildout configurations (`buildout`). They see a
//! manifest branch only through [`BranchFiles`], so they know nothing of
//! git, the cache or the built-in manifests, and they return the validated
//! model of `core::model` or every problem at once.

mod buildout;
mod native;
mod native_component;
mod native_service;
mod raw;

use crate::core::error::Result;
use crate::core::model::Manifest;

pub use buildout::{effective, Effective, BUILDOUT_DIRECTORY};

/// The files of a manifest branch at one commit, by branch path
/// (`dir/file`, relative to the branch root, already normalized).
pub trait BranchFiles {
    /// The file's bytes; `None` when the branch has no such file.
    fn read_file(&self, path: &str) -> anyhow::Result<Option<Vec<u8>>>;
    /// Whether the branch has a directory at `path`.
    fn is_dir(&self, path: &str) -> anyhow::Result<bool>;
    /// Every file of the branch, sorted.
    fn files(&self) -> anyhow::Result<Vec<String>>;

    /// Whether paths outside the branch (`../x.cfg`, `/etc/x.cfg`) can be
    /// read: only where the branch is a directory on disk (`manifest
    /// convert`). A git branch has no outside.
    fn reaches_outside(&self) -> bool {
        false
    }

    /// The files a user could select with `--cfg`.
    fn manifest_files(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .files()?
            .into_iter()
            .filter(|f| f.ends_with(".toml") || f.ends_with(".cfg"))
            .collect())
    }
}

/// Reads the manifest `file` of `branch` with everything it extends:
/// `*.cfg` as zc.buildout, anything else as a native manifest.
pub fn load(branch: &dyn BranchFiles, file: &str) -> Result<Manifest> {
    if file.ends_with(".cfg") {
        buildout::load(branch, file)
    } else {
        native::load(branch, file)
    }
}

/// `parent` relative to the directory of `file`, both branch paths.
pub fn join_relative(file: &str, parent: &str) -> Option<String> {
    match file.rsplit_once('/') {
        Some((dir, _)) => normalize_branch_path(&format!("{dir}/{parent}")),
        None => normalize_branch_path(parent),
    }
}

/// Normalizes a path inside the branch (`a/./b/../c` → `a/c`); `None` when it
/// is absolute or climbs out of the branch.
pub fn normalize_branch_path(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// URLs with a scheme, scp-like `user@host:path`, or absolute paths: what
/// a git component's location may be, in either manifest format.
pub(crate) fn looks_like_git_location(s: &str) -> bool {
    s.contains("://") || s.starts_with('/') || (s.contains('@') && s.contains(':'))
}

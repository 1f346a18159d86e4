//! The files of a manifest branch at one commit: a git tree read in place,
//! the built-in `manifests/` compiled in, or a directory on disk (`manifest
//! convert`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use include_dir::{include_dir, Dir, DirEntry};
use sha2::{Digest, Sha256};

use crate::infra::git::GitTree;
use crate::readers::{normalize_branch_path, BranchFiles};

/// The project's `manifests/` directory, compiled in: the default branch.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/manifests");

/// The files of a manifest branch at one commit.
pub enum BranchTree {
    Builtin,
    Git(GitTree),
    /// A plain directory (`manifest convert` of a file on disk).
    Local(PathBuf),
}

impl BranchFiles for BranchTree {
    fn read_file(&self, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        // On disk, `../x.cfg` and `/etc/x.cfg` are files too (`reaches_outside`).
        let path = match (self, normalize_branch_path(path)) {
            (_, Some(path)) => path,
            (BranchTree::Local(_), None) => path.to_owned(),
            (_, None) => return Ok(None),
        };
        match self {
            BranchTree::Builtin => Ok(BUILTIN.get_file(&path).map(|f| f.contents().to_vec())),
            BranchTree::Local(dir) => match fs_err::read(dir.join(&path)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err.into()),
            },
            BranchTree::Git(tree) => tree.read_file(&path),
        }
    }

    fn is_dir(&self, path: &str) -> anyhow::Result<bool> {
        match self {
            BranchTree::Builtin => Ok(BUILTIN.get_dir(path).is_some()),
            BranchTree::Local(dir) => Ok(dir.join(path).is_dir()),
            BranchTree::Git(tree) => tree.is_dir(path),
        }
    }

    fn files(&self) -> anyhow::Result<Vec<String>> {
        let mut files = Vec::new();
        match self {
            BranchTree::Builtin => collect_builtin(&BUILTIN, &mut files),
            BranchTree::Local(dir) => collect_local(dir, "", &mut files)?,
            BranchTree::Git(tree) => files = tree.files()?,
        }
        files.sort();
        Ok(files)
    }

    fn reaches_outside(&self) -> bool {
        matches!(self, BranchTree::Local(_))
    }
}

/// The files under a directory on disk, as branch paths; hidden entries
/// (`.git`) are not part of a manifest.
fn collect_local(dir: &Path, prefix: &str, files: &mut Vec<String>) -> anyhow::Result<()> {
    for name in crate::infra::fs::dir_names(dir)? {
        let path = dir.join(&name);
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_local(&path, &format!("{prefix}{name}/"), files)?;
        } else if path.is_file() {
            files.push(format!("{prefix}{name}"));
        }
    }
    Ok(())
}

impl BranchTree {
    /// A digest of a directory's contents, recorded in the lock so that a
    /// changed `path` component makes a new release.
    pub fn dir_digest(&self, path: &str) -> anyhow::Result<String> {
        match self {
            BranchTree::Local(dir) => Err(not_deployable(dir)),
            BranchTree::Builtin => {
                let (_, mut files) = builtin_dir_files(path)?;
                files.sort_by_key(|f| f.path());
                let mut hasher = Sha256::new();
                for file in files {
                    hasher.update(file.path().to_string_lossy().as_bytes());
                    hasher.update([0]);
                    hasher.update((file.contents().len() as u64).to_le_bytes());
                    hasher.update(file.contents());
                }
                Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
            }
            BranchTree::Git(tree) => Ok(format!("git:{}", tree.entry_id(path)?)),
        }
    }

    /// Writes the directory `path` of the branch to `dest`.
    pub fn export_dir(&self, path: &str, dest: &Path) -> anyhow::Result<()> {
        match self {
            BranchTree::Local(dir) => Err(not_deployable(dir)),
            BranchTree::Builtin => {
                let (dir, files) = builtin_dir_files(path)?;
                fs_err::create_dir_all(dest)?;
                for file in files {
                    let relative = file.path().strip_prefix(dir.path()).unwrap_or(file.path());
                    let target = dest.join(relative);
                    if let Some(parent) = target.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    fs_err::write(&target, file.contents())?;
                }
                Ok(())
            }
            BranchTree::Git(tree) => tree.export_dir(path, dest),
        }
    }
}

/// A `path` component cannot come from a directory on disk (`manifest
/// convert` reads one only to print it).
fn not_deployable(dir: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "path components are only deployed from a manifest branch, not from {}",
        dir.display()
    )
}

/// The built-in directory `path` and every file under it.
fn builtin_dir_files(
    path: &str,
) -> anyhow::Result<(
    &'static Dir<'static>,
    Vec<&'static include_dir::File<'static>>,
)> {
    // `.`: the built-in manifests themselves, as for a branch's root.
    let dir = if path.is_empty() || path == "." {
        &BUILTIN
    } else {
        BUILTIN
            .get_dir(path)
            .with_context(|| format!("{path} is not a directory of the built-in manifests"))?
    };
    let mut files = Vec::new();
    collect_builtin_files(dir, &mut files);
    Ok((dir, files))
}

fn collect_builtin(dir: &'static Dir<'static>, out: &mut Vec<String>) {
    let mut files = Vec::new();
    collect_builtin_files(dir, &mut files);
    out.extend(
        files
            .iter()
            .map(|f| f.path().to_string_lossy().into_owned()),
    );
}

fn collect_builtin_files(
    dir: &'static Dir<'static>,
    out: &mut Vec<&'static include_dir::File<'static>>,
) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect_builtin_files(sub, out),
            DirEntry::File(file) => out.push(file),
        }
    }
}

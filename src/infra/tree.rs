//! Copies of whole directory trees, the way `--link-mode` says: reflinks
//! (copy-on-write clones) where the filesystem has them, real copies
//! otherwise, hard links only when asked. Files are copied by a few threads
//! at once; `std::fs::copy` uses `copy_file_range` on Linux, so the kernel
//! moves the bytes (and may share extents on filesystems that can).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use fs_err as fs;

/// How a tree is reused from an earlier release (uv's names and meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkMode {
    /// Copy-on-write clones (FICLONE); a copy where the filesystem has none.
    #[default]
    Clone,
    /// Real copies.
    Copy,
    /// Hard links: fastest, but the two releases then share their files.
    Hardlink,
}

/// What a copy did, for the log and the benchmark.
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyStats {
    pub files: usize,
    pub cloned: usize,
    pub copied: usize,
    pub linked: usize,
}

/// Set once a clone failed because the filesystem cannot clone: later files
/// go straight to copying instead of asking again.
static CLONE_UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// Recreates the tree `from` at `to` (which must not exist): directories and
/// symlinks as they are, files per `mode`, executable bits kept. Uses up to
/// `jobs` threads for the files.
pub fn copy_tree(from: &Path, to: &Path, mode: LinkMode, jobs: usize) -> Result<CopyStats> {
    let mut files = Vec::new();
    replicate_dirs(from, to, &mut files)?;
    let outcomes = super::parallel::parallel_map(&files, jobs, |(source, target)| {
        copy_file(source, target, mode)
            .with_context(|| format!("cannot copy {} to {}", source.display(), target.display()))
    });
    let mut stats = CopyStats {
        files: files.len(),
        ..CopyStats::default()
    };
    for outcome in outcomes {
        match outcome? {
            How::Cloned => stats.cloned += 1,
            How::Copied => stats.copied += 1,
            How::Linked => stats.linked += 1,
        }
    }
    Ok(stats)
}

/// Creates the directories and symlinks of `from` under `to`, and lists the
/// files still to copy.
fn replicate_dirs(from: &Path, to: &Path, files: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    fs::create_dir(to)?;
    let mode = fs::metadata(from)?.permissions().mode() & 0o7777;
    fs::set_permissions(to, std::fs::Permissions::from_mode(mode & !0o6000))?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            replicate_dirs(&source, &target, files)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &target)
                .with_context(|| format!("cannot create symlink {}", target.display()))?;
        } else if kind.is_file() {
            files.push((source, target));
        }
    }
    Ok(())
}

enum How {
    Cloned,
    Copied,
    Linked,
}

fn copy_file(source: &Path, target: &Path, mode: LinkMode) -> Result<How> {
    let done = match mode {
        LinkMode::Hardlink => fs::hard_link(source, target).is_ok().then_some(How::Linked),
        LinkMode::Clone if !CLONE_UNSUPPORTED.load(Ordering::Relaxed) => {
            clone_file(source, target)?.then_some(How::Cloned)
        }
        _ => None,
    };
    if let Some(done) = done {
        return Ok(done);
    }
    // Another filesystem (hardlink), no reflinks (clone), or asked for: copy.
    fs::copy(source, target)?;
    Ok(How::Copied)
}

/// A copy-on-write clone of `source` at `target` (`ioctl(FICLONE)`), with
/// its permission bits. `false` when the filesystem cannot clone it (then
/// `target` does not exist).
fn clone_file(source: &Path, target: &Path) -> Result<bool> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    use std::os::fd::AsRawFd;
    /// `_IOW(0x94, 9, int)` from linux/fs.h.
    const FICLONE: libc::c_ulong = 0x4004_9409;
    let input = fs::File::open(source)?;
    let mode = input.metadata()?.mode() & 0o777;
    let output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(target)?;
    // SAFETY: both descriptors are open for the duration of the call; FICLONE
    // reads the source descriptor as its int argument.
    let result = unsafe { libc::ioctl(output.as_raw_fd(), FICLONE as _, input.as_raw_fd()) };
    if result == 0 {
        // The mode given to open() is filtered by the umask; set it as it was.
        fs::set_permissions(target, std::fs::Permissions::from_mode(mode))?;
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    drop(output);
    std::fs::remove_file(target).with_context(|| format!("cannot remove {}", target.display()))?;
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::EXDEV | libc::EINVAL | libc::ENOTTY | libc::EBADF) => {
            CLONE_UNSUPPORTED.store(true, Ordering::Relaxed);
            Ok(false)
        }
        _ => Err(err).with_context(|| format!("cannot clone {}", source.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) {
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/file"), "one").unwrap();
        std::fs::write(dir.join("run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("a/b/file", dir.join("link")).unwrap();
    }

    #[test]
    fn every_mode_makes_the_same_tree() {
        for mode in [LinkMode::Clone, LinkMode::Copy, LinkMode::Hardlink] {
            let tmp = tempfile::tempdir().unwrap();
            let (from, to) = (tmp.path().join("from"), tmp.path().join("to"));
            sample(&from);
            let stats = copy_tree(&from, &to, mode, 2).unwrap();
            assert_eq!(stats.files, 2);
            assert!(crate::infra::fs::compare_trees(&from, &to)
                .unwrap()
                .is_empty());
            let shared = std::fs::metadata(to.join("run")).unwrap().ino()
                == std::fs::metadata(from.join("run")).unwrap().ino();
            assert_eq!(shared, mode == LinkMode::Hardlink, "{mode:?}");
            // Only hard links let an edit of the copy reach the original.
            std::fs::write(to.join("a/b/file"), "edited").unwrap();
            let original = std::fs::read_to_string(from.join("a/b/file")).unwrap();
            assert_eq!(original == "edited", mode == LinkMode::Hardlink, "{mode:?}");
        }
    }
}

//! Unpacking downloaded archives into a component's source directory.

use fs_err as fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::core::archive_format::ArchiveFormat;

/// Unpacks `archive` into `dest` (which must not exist). When everything in
/// the archive sits under one top-level directory, that directory becomes
/// `dest`, as with `tar --strip-components=1`.
pub fn extract(archive: &Path, format: ArchiveFormat, dest: &Path) -> Result<()> {
    let staging = crate::infra::fs::temp_sibling(dest);
    fs::create_dir_all(&staging)?;
    let result = unpack(archive, format, &staging).and_then(|()| {
        let root = single_top_dir(&staging)?.unwrap_or_else(|| staging.clone());
        // Checked on the final tree (after the top directory is stripped):
        // that is the component directory the links will live in, and only
        // the whole tree shows symlinks that escape through other symlinks.
        refuse_escaping_symlinks(archive, &staging, &root)?;
        fs::rename(&root, dest)
            .with_context(|| format!("cannot move unpacked files to {}", dest.display()))
    });
    let _ = fs::remove_dir_all(&staging);
    result
}

fn unpack(archive: &Path, format: ArchiveFormat, into: &Path) -> Result<()> {
    let file = fs::File::open(archive)?;
    let reader = BufReader::new(file);
    let corrupt = || {
        format!(
            "cannot unpack {} (corrupt or not a {format:?} archive)",
            archive.display()
        )
    };
    let result = match format {
        ArchiveFormat::TarGz => untar(flate2::read::GzDecoder::new(reader), archive, into),
        ArchiveFormat::TarXz => untar(xz2::read::XzDecoder::new(reader), archive, into),
        ArchiveFormat::Tar => untar(reader, archive, into),
        ArchiveFormat::Zip => unzip(reader, into),
    };
    // A refused member is a verdict on a well-formed archive, not corruption.
    result.map_err(|err| {
        if err.is::<UnsafeMember>() {
            err
        } else {
            err.context(corrupt())
        }
    })
}

/// An archive member lava-deploy will not unpack.
#[derive(Debug, thiserror::Error)]
#[error("refusing to unpack {archive}: member {member:?} is a {kind} to {target:?}, which points outside the component directory")]
struct UnsafeMember {
    archive: String,
    member: String,
    kind: &'static str,
    target: String,
}

fn untar(reader: impl std::io::Read, archive_path: &Path, into: &Path) -> Result<()> {
    let mut archive = tar::Archive::new(reader);
    // Not preserved: modes are masked to 0o777, so setuid, setgid and
    // sticky bits never come from a download (a setuid file in a release
    // turns into a privilege escalation once anything runs it as root).
    archive.set_preserve_permissions(false);
    archive.set_overwrite(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let member = entry.path()?.into_owned();
            let target = entry.link_name()?.unwrap_or_default().into_owned();
            // A symlink is read from its own directory; a hardlink's name is
            // a path from the archive's root. Checked before unpacking so
            // nothing is ever linked to (or later written through) a path
            // outside; symlink chains are checked again on the whole tree.
            // (tar drops a leading `/` from member names, so does this.)
            let base: PathBuf = match member.parent() {
                Some(parent) if kind.is_symlink() => parent
                    .components()
                    .filter(|c| !matches!(c, std::path::Component::RootDir))
                    .collect(),
                _ => PathBuf::new(),
            };
            if !stays_inside(into, &base, &target) {
                return Err(UnsafeMember {
                    archive: archive_path.display().to_string(),
                    member: member.display().to_string(),
                    kind: if kind.is_symlink() {
                        "symlink"
                    } else {
                        "hardlink"
                    },
                    target: target.display().to_string(),
                }
                .into());
            }
        }
        // unpack_in refuses paths that climb out of `into`.
        if !entry.unpack_in(into)? {
            bail!(
                "archive entry {:?} points outside the archive",
                entry.path()?
            );
        }
    }
    Ok(())
}

fn unzip(reader: impl std::io::Read + std::io::Seek, into: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut zip = zip::ZipArchive::new(reader)?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index)?;
        let Some(relative) = entry.enclosed_name() else {
            bail!(
                "archive entry {:?} points outside the archive",
                entry.name()
            );
        };
        let target = into.join(relative);
        if entry.is_dir() {
            fs::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut out = fs::File::create(&target)?;
        std::io::copy(&mut entry, &mut out)?;
        if let Some(mode) = entry.unix_mode() {
            // Permission bits only, as for tar: no setuid/setgid/sticky.
            fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o777))?;
        }
    }
    Ok(())
}

/// Refuses a tree (`root`, inside `staging`) holding a symlink that, followed
/// on disk, leads outside `root`. The member is named as the archive has it.
fn refuse_escaping_symlinks(archive: &Path, staging: &Path, root: &Path) -> Result<()> {
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let member = relative.join(entry.file_name());
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                pending.push(member);
            } else if file_type.is_symlink() {
                let target = fs::read_link(entry.path())?;
                if !stays_inside(root, &relative, &target) {
                    let in_archive = root.strip_prefix(staging).unwrap_or(root).join(&member);
                    return Err(UnsafeMember {
                        archive: archive.display().to_string(),
                        member: in_archive.display().to_string(),
                        kind: "symlink",
                        target: target.display().to_string(),
                    }
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// Whether `target`, followed from the directory `base` (relative to
/// `root`), stays inside `root`. Resolved the way the kernel would: `..`
/// may not climb above `root`, absolute paths are outside, and symlinks
/// already on disk are followed (a bounded number of times, so loops count
/// as outside). Parts that do not exist yet are taken as written.
fn stays_inside(root: &Path, base: &Path, target: &Path) -> bool {
    use std::path::Component;
    // Steps still to walk, last one first.
    fn steps(path: &Path) -> Option<Vec<Option<std::ffi::OsString>>> {
        let mut steps = Vec::new();
        for part in path.components() {
            match part {
                Component::Normal(name) => steps.push(Some(name.to_owned())),
                Component::ParentDir => steps.push(None),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        steps.reverse();
        Some(steps)
    }
    let (Some(mut todo), Some(base)) = (steps(target), steps(base)) else {
        return false;
    };
    // The link's own directory is walked first: its parents may be symlinks too.
    todo.extend(base);
    let mut at = PathBuf::new();
    let mut hops = 0;
    while let Some(step) = todo.pop() {
        let Some(name) = step else {
            if !at.pop() {
                return false;
            }
            continue;
        };
        at.push(name);
        if let Ok(link) = fs::read_link(root.join(&at)) {
            hops += 1;
            let Some(more) = steps(&link).filter(|_| hops <= 40) else {
                return false;
            };
            at.pop();
            todo.extend(more);
        }
    }
    true
}

/// The only entry of `dir` when it is a directory.
fn single_top_dir(dir: &Path) -> Result<Option<std::path::PathBuf>> {
    let mut entries = fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    if entries.len() != 1 {
        return Ok(None);
    }
    let entry = entries.remove(0);
    Ok(entry.file_type()?.is_dir().then(|| entry.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_followed_to_decide_inside_or_outside() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        std::os::unix::fs::symlink(".", root.join("a/b/here")).unwrap();
        std::os::unix::fs::symlink("loop2", root.join("a/loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", root.join("a/loop2")).unwrap();
        let inside =
            |base: &str, target: &str| stays_inside(root, Path::new(base), Path::new(target));
        assert!(inside("a/b", "../../x"));
        assert!(inside("a/b", "./c/../d"));
        assert!(inside("", "a/b/here/here/c"));
        assert!(!inside("a/b", "../../../x"));
        assert!(!inside("", ".."));
        assert!(!inside("a", "/etc"));
        // `here` is `a/b` itself, so `here/..` is `a`, and two more `..` leave.
        assert!(!inside("a/b", "here/../../.."));
        // A link's own directory is resolved too.
        assert!(!inside("a/b/here/..", "../.."));
        assert!(!inside("a", "loop1"), "a loop counts as outside");
    }
}

//! Unpacking downloaded archives into a component's source directory.

use std::fs;
use std::io::BufReader;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::core::archive_format::ArchiveFormat;

/// Unpacks `archive` into `dest` (which must not exist). When everything in
/// the archive sits under one top-level directory, that directory becomes
/// `dest`, as with `tar --strip-components=1`.
pub fn extract(archive: &Path, format: ArchiveFormat, dest: &Path) -> Result<()> {
    let staging = crate::infra::fs::temp_sibling(dest);
    fs::create_dir_all(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
    let result = unpack(archive, format, &staging).and_then(|()| {
        let root = single_top_dir(&staging)?.unwrap_or_else(|| staging.clone());
        fs::rename(&root, dest)
            .with_context(|| format!("cannot move unpacked files to {}", dest.display()))
    });
    let _ = fs::remove_dir_all(&staging);
    result
}

fn unpack(archive: &Path, format: ArchiveFormat, into: &Path) -> Result<()> {
    let file =
        fs::File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let reader = BufReader::new(file);
    let corrupt = || {
        format!(
            "cannot unpack {} (corrupt or not a {format:?} archive)",
            archive.display()
        )
    };
    match format {
        ArchiveFormat::TarGz => {
            untar(flate2::read::GzDecoder::new(reader), into).with_context(corrupt)
        }
        ArchiveFormat::TarXz => {
            untar(xz2::read::XzDecoder::new(reader), into).with_context(corrupt)
        }
        ArchiveFormat::Tar => untar(reader, into).with_context(corrupt),
        ArchiveFormat::Zip => unzip(reader, into).with_context(corrupt),
    }
}

fn untar(reader: impl std::io::Read, into: &Path) -> Result<()> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
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
        let mut out = fs::File::create(&target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        std::io::copy(&mut entry, &mut out)?;
        if let Some(mode) = entry.unix_mode() {
            fs::set_permissions(&target, fs::Permissions::from_mode(mode & 0o777))?;
        }
    }
    Ok(())
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

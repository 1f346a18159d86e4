//! Filesystem primitives, in one place: atomic writes, the symlink swap,
//! temporary siblings, removal, directory listings and tree comparison.
//! Everything goes through `fs_err`, so every error names its path.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fs_err as fs;

/// Prefix of every name lava-deploy builds before renaming it into place;
/// such leftovers of killed runs are recognised by it and removed.
pub const TEMP_PREFIX: &str = ".tmp-";

/// A unique temporary name beside `path`, on the same filesystem so that the
/// final `rename` is atomic.
pub fn temp_sibling(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    path.with_file_name(format!(
        "{TEMP_PREFIX}{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Removes a file, symlink or directory tree; a missing path is fine.
pub fn remove_path(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    };
    result.with_context(|| format!("cannot remove {}", path.display()))
}

/// Writes a file atomically: a temporary file beside it, renamed over it.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_temp_then_rename(path, contents, None)
}

/// Writes a file only its owner may read (`0600` from its first byte, the
/// temporary file included), atomically like [`write_atomic`].
pub fn write_atomic_private(path: &Path, contents: &[u8]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    write_temp_then_rename(path, contents, Some(std::fs::Permissions::from_mode(0o600)))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// `contents` into a temporary sibling of `path` (with `permissions` from
/// its creation, when given), synced, then renamed over `path`.
fn write_temp_then_rename(
    path: &Path,
    contents: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    if let Some(permissions) = permissions {
        builder.permissions(permissions);
    }
    let mut temp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", temp.path().display()))?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// `count` bytes from the kernel's random source.
pub fn random_bytes(count: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0; count];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Points the symlink `link` at `target` atomically: a new link under a
/// temporary name beside it, renamed over the old one. Readers see the old
/// target or the new one, never nothing.
pub fn swap_symlink(target: &Path, link: &Path) -> Result<()> {
    let temp = temp_sibling(link);
    std::os::unix::fs::symlink(target, &temp)
        .with_context(|| format!("cannot create symlink {}", temp.display()))?;
    if let Err(err) = fs::rename(&temp, link) {
        let _ = std::fs::remove_file(&temp);
        return Err(err.into());
    }
    if let Some(dir) = link.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// Appends `line` (which ends with a newline) to `path` in one `write`
/// with `O_APPEND`, then `fsync`s it: a log that is never rewritten. When
/// the file does not end with a newline (a crash cut the last write short),
/// one is written first, so the torn line spoils only itself. The caller
/// serialises appends (the instance lock). The failpoint `append` writes
/// half the line, then pauses, so a test can kill the run mid-write.
pub fn append_line(path: &Path, line: &[u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let length = file.metadata()?.len();
    let mut bytes = Vec::with_capacity(line.len() + 1);
    if length > 0 {
        let mut last = [0u8; 1];
        file.file()
            .read_exact_at(&mut last, length - 1)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if last[0] != b'\n' {
            bytes.push(b'\n');
        }
    }
    bytes.extend_from_slice(line);
    let mut file = file;
    let mut rest = &bytes[..];
    if crate::infra::failpoint::armed("append") {
        let (half, after) = bytes.split_at(bytes.len() / 2);
        file.write_all(half)?;
        file.sync_data()?;
        crate::infra::failpoint::hit("append");
        rest = after;
    }
    file.write_all(rest)?;
    file.sync_data()?;
    Ok(())
}

/// Best effort: makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) {
    if let Ok(file) = std::fs::File::open(dir) {
        let _ = file.sync_all();
    }
}

/// Makes `path` executable (`0755`).
pub fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Names of the entries of a directory, sorted; none when it does not exist.
pub fn dir_names_if_exists(dir: &Path) -> anyhow::Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    dir_names(dir)
}

/// Names of the entries of a directory, sorted.
pub fn dir_names(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Differences between two directory trees (file contents, executable
/// bits, symlink targets, missing and extra entries), as short sentences.
pub fn compare_trees(expected: &Path, actual: &Path) -> anyhow::Result<Vec<String>> {
    use std::os::unix::fs::PermissionsExt;
    let mut differences = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let (want_dir, have_dir) = (expected.join(&relative), actual.join(&relative));
        let wanted = if want_dir.is_dir() {
            dir_names(&want_dir)?
        } else {
            Vec::new()
        };
        let have = if have_dir.is_dir() {
            dir_names(&have_dir)?
        } else {
            Vec::new()
        };
        for name in have.iter().filter(|n| !wanted.contains(n)) {
            differences.push(format!(
                "{} is not in the pinned tree",
                relative.join(name).display()
            ));
        }
        for name in wanted {
            let path = relative.join(&name);
            let (want, got) = (expected.join(&path), actual.join(&path));
            let want_meta = fs::symlink_metadata(&want)?;
            let Ok(got_meta) = fs::symlink_metadata(&got) else {
                differences.push(format!("{} is missing", path.display()));
                continue;
            };
            if want_meta.is_dir() {
                if got_meta.is_dir() {
                    pending.push(path);
                } else {
                    differences.push(format!("{} should be a directory", path.display()));
                }
            } else if want_meta.file_type().is_symlink() {
                if fs::read_link(&want).ok() != fs::read_link(&got).ok() {
                    differences.push(format!("{} points elsewhere", path.display()));
                }
            } else if !got_meta.is_file() || fs::read(&want)? != fs::read(&got)? {
                differences.push(format!("{} differs", path.display()));
            } else if (want_meta.permissions().mode() & 0o111 != 0)
                != (got_meta.permissions().mode() & 0o111 != 0)
            {
                differences.push(format!("{} has a different executable bit", path.display()));
            }
        }
    }
    differences.sort();
    Ok(differences)
}

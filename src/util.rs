//! Small helpers with no better home.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `YYYYMMDD` (UTC) of a Unix time.
pub fn date_yyyymmdd(unix_seconds: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}")
}

/// Now, as RFC 3339 UTC seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Runs `work` on every item with at most `jobs` threads; results keep the
/// items' order.
pub fn parallel_map<T, R, F>(items: &[T], jobs: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let threads = jobs.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(index) else { break };
                let result = work(item);
                results
                    .lock()
                    .expect("no worker panics while holding the lock")[index] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .expect("workers finished")
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

/// One error for many: the single error as it is, several as a list.
pub fn combine_errors(mut errors: Vec<anyhow::Error>, what: &str) -> anyhow::Result<()> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        n => {
            let list: Vec<String> = errors.iter().map(|e| format!("{e:#}")).collect();
            Err(anyhow::anyhow!("{n} {what}:\n  - {}", list.join("\n  - ")))
        }
    }
}

/// Names of the entries of a directory, sorted; none when it does not exist.
pub fn dir_names_if_exists(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    dir_names(dir)
}

/// Names of the entries of a directory, sorted.
pub fn dir_names(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Differences between two directory trees (file contents, executable
/// bits, symlink targets, missing and extra entries), as short sentences.
pub fn compare_trees(
    expected: &std::path::Path,
    actual: &std::path::Path,
) -> anyhow::Result<Vec<String>> {
    use std::os::unix::fs::PermissionsExt;
    let mut differences = Vec::new();
    let mut pending = vec![std::path::PathBuf::new()];
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
            let want_meta = std::fs::symlink_metadata(&want)?;
            let Ok(got_meta) = std::fs::symlink_metadata(&got) else {
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
                if std::fs::read_link(&want).ok() != std::fs::read_link(&got).ok() {
                    differences.push(format!("{} points elsewhere", path.display()));
                }
            } else if !got_meta.is_file() || std::fs::read(&want)? != std::fs::read(&got)? {
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

/// A copy of the tree `from` at `to` made of hard links (symlinks are
/// recreated); files that cannot be linked (another filesystem) are copied.
pub fn link_tree(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            link_tree(&source, &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)
                .with_context(|| format!("cannot create {}", target.display()))?;
        } else if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).with_context(|| {
                format!("cannot copy {} to {}", source.display(), target.display())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_yyyymmdd(0), "19700101");
        assert_eq!(date_yyyymmdd(1_343_148_875), "20120724");
        assert_eq!(date_yyyymmdd(951_782_400), "20000229");
    }

    #[test]
    fn parallel_keeps_order() {
        let items: Vec<u32> = (0..50).collect();
        assert_eq!(
            parallel_map(&items, 4, |x| x * 2),
            items.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(parallel_map(&[] as &[u32], 4, |x| *x).is_empty());
    }
}

//! Naming commits: `git describe --tags` for release names, and the long
//! form setuptools-scm derives a version from.

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use super::Mirror;

/// A commit as `git describe --tags --long` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The nearest tag with a digit in its name, if any.
    pub tag: Option<String>,
    /// Commits since that tag (or, without one, in the whole history).
    pub distance: usize,
    /// The abbreviated commit id.
    pub short: String,
}

impl Mirror {
    /// `git describe --tags` of a commit, else `YYYYMMDD-<short commit>`.
    /// In a shallow mirror only the tags fetched with the commit (those
    /// pointing at it) can name it.
    pub fn describe(&self, repo: &Repository, commit: Oid) -> String {
        let described = repo.find_commit(commit).ok().and_then(|c| {
            let mut options = git2::DescribeOptions::new();
            options.describe_tags();
            let describe = c.as_object().describe(&options).ok()?;
            let mut format = git2::DescribeFormatOptions::new();
            format.abbreviated_size(7);
            describe.format(Some(&format)).ok()
        });
        described.unwrap_or_else(|| {
            let time = repo
                .find_commit(commit)
                .map(|c| c.time().seconds())
                .unwrap_or(0);
            format!("{}-{:.7}", crate::core::time::date_yyyymmdd(time), commit)
        })
    }

    /// What `git describe --tags --long --match '*[0-9]*'` says of
    /// `commit` — the call setuptools-scm makes — as its parts. Without a
    /// matching tag: no tag, and the distance counts every commit (as
    /// setuptools-scm does).
    pub fn describe_long(&self, commit: Oid) -> Result<Described> {
        let repo = self.open()?;
        let object = repo.find_commit(commit)?.into_object();
        let short = object
            .short_id()?
            .as_str()
            .context("abbreviated commit id is not text")?
            .to_owned();
        let mut options = git2::DescribeOptions::new();
        options.describe_tags().pattern("*[0-9]*");
        let described = object.describe(&options).ok().and_then(|d| {
            let mut format = git2::DescribeFormatOptions::new();
            format.always_use_long_format(true);
            d.format(Some(&format)).ok()
        });
        // `TAG-N-gHASH`: split from the right, tags may contain dashes.
        let parsed = described.as_deref().and_then(|text| {
            let mut parts = text.rsplitn(3, '-');
            let _hash = parts.next()?.strip_prefix('g')?;
            let distance = parts.next()?.parse().ok()?;
            Some((parts.next()?.to_owned(), distance))
        });
        Ok(match parsed {
            Some((tag, distance)) => Described {
                tag: Some(tag),
                distance,
                short,
            },
            None => {
                let mut walk = repo.revwalk()?;
                walk.push(commit)?;
                Described {
                    tag: None,
                    distance: walk.count(),
                    short,
                }
            }
        })
    }

    /// Whether the tree of `commit` builds its version from git history
    /// (see `core::project::versions_from_git`).
    pub fn versions_from_git(&self, commit: Oid) -> Result<bool> {
        let repo = self.open()?;
        let tree = self.tree_at(&repo, commit)?;
        Ok(crate::core::project::versions_from_git(|file| {
            let bytes = tree.read_file(file).ok()??;
            String::from_utf8(bytes).ok()
        }))
    }
}
